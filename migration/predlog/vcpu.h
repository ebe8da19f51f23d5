/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: per-vCPU attribution of dirtied pages
 *
 * The dirty bitmap says which pages were written, not by whom.  Where the
 * accelerator knows the writer, it tells us:
 *
 *  - TCG marks a page dirty in notdirty_write() (accel/tcg/cputlb.c) on
 *    the first write to a clean page, from the writing vCPU's thread;
 *  - the KVM dirty ring hands QEMU, per vCPU, the (slot, offset) of every
 *    page that vCPU dirtied (kvm_dirty_ring_reap_one(), accel/kvm).
 *
 * Both end in predlog_vcpu_dirty_note().  Counts are per vCPU and per sync
 * period; at the end of a period they become rates (pages/s) and an EWMA
 * of them, which query-migrate shows and the policy uses to tell one
 * dirtying vCPU from many.
 *
 * Threads: note() is called concurrently from vCPU threads (MTTCG) and is
 * lock-free (relaxed atomic add to the vCPU's own counter); end_period()
 * and the getters run in the migration thread.  A vCPU index at or above
 * the capacity given at creation is counted as unattributed, never
 * written out of bounds.
 *
 * Pure C11 + GLib.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_VCPU_H
#define MIGRATION_PREDLOG_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#define PREDLOG_VCPU_MAX    4096u

typedef struct PredlogVcpuDirty PredlogVcpuDirty;

typedef struct PredlogVcpuStats {
    uint64_t pages;     /* pages noted in all closed periods */
    uint64_t last;      /* pages noted in the last closed period */
    double rate;        /* pages/s in the last closed period */
    double rate_ewma;   /* EWMA (alpha 0.3) of rate */
} PredlogVcpuStats;

/* @ncpus: 1..PREDLOG_VCPU_MAX; NULL otherwise. */
PredlogVcpuDirty *predlog_vcpu_dirty_new(unsigned ncpus);
void predlog_vcpu_dirty_free(PredlogVcpuDirty *v);  /* NULL is fine */
unsigned predlog_vcpu_dirty_ncpus(const PredlogVcpuDirty *v);

/* @cpu wrote @npages pages; any thread. */
void predlog_vcpu_dirty_note(PredlogVcpuDirty *v, int cpu, uint64_t npages);

/*
 * The KVM dirty ring gives a page as an offset, in host pages, into a
 * memory slot that starts at @ram_start (QEMU ram_addr_t) and is
 * @slot_bytes long.  Convert it to the first target page index and the
 * number of target pages it spans, refusing an offset outside the slot
 * (a ring entry is written by the kernel, but a stale one may name a slot
 * that has since shrunk).  @host_page_bits >= @target_page_bits.
 */
bool predlog_vcpu_gfn_to_pages(uint64_t ram_start, uint64_t slot_bytes,
                               uint64_t offset, unsigned host_page_bits,
                               unsigned target_page_bits,
                               uint64_t *first_page, uint64_t *npages);

/* Close the period that lasted @seconds (> 0, else rates are kept). */
void predlog_vcpu_dirty_end_period(PredlogVcpuDirty *v, double seconds);

/* Stats of @cpu (zeros out of range); of unattributed notes for cpu -1. */
void predlog_vcpu_dirty_stats(const PredlogVcpuDirty *v, int cpu,
                              PredlogVcpuStats *out);

#endif /* MIGRATION_PREDLOG_VCPU_H */
