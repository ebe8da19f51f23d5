/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: per-vCPU attribution of dirtied pages
 *
 * The interface is specified in vcpu.h.  Each vCPU, and the
 * unattributed slot after the last one, has its own counter on its own
 * cache line, so that vCPU threads noting pages at the same time do not
 * bounce a line between them; note() is one relaxed atomic add.
 * end_period() takes each counter with an atomic exchange, so a note that
 * races with it lands in this period or the next, never in neither.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <math.h>
#include <string.h>

#include "vcpu.h"

#define EWMA_ALPHA      0.3
#define CACHE_LINE      64

/*
 * A slot is one cache line; g_new0() aligns to at least 16 bytes, so a
 * line never holds two counters even when the array is not line-aligned.
 */
typedef union VcpuSlot {
    uint64_t pending;           /* pages noted in the open period */
    char pad[CACHE_LINE];
} VcpuSlot;

struct PredlogVcpuDirty {
    unsigned ncpus;
    bool rated;                 /* a period with a valid length closed */
    VcpuSlot *slot;             /* ncpus + 1: the last is unattributed */
    PredlogVcpuStats *stats;    /* ncpus + 1 */
};

PredlogVcpuDirty *predlog_vcpu_dirty_new(unsigned ncpus)
{
    PredlogVcpuDirty *v;

    if (ncpus < 1 || ncpus > PREDLOG_VCPU_MAX) {
        return NULL;
    }
    v = g_new0(PredlogVcpuDirty, 1);
    v->ncpus = ncpus;
    v->slot = g_new0(VcpuSlot, ncpus + 1);
    v->stats = g_new0(PredlogVcpuStats, ncpus + 1);
    return v;
}

void predlog_vcpu_dirty_free(PredlogVcpuDirty *v)
{
    if (!v) {
        return;
    }
    g_free(v->slot);
    g_free(v->stats);
    g_free(v);
}

unsigned predlog_vcpu_dirty_ncpus(const PredlogVcpuDirty *v)
{
    return v ? v->ncpus : 0;
}

void predlog_vcpu_dirty_note(PredlogVcpuDirty *v, int cpu, uint64_t npages)
{
    unsigned i;

    if (!v || npages == 0) {
        return;
    }
    i = (cpu >= 0 && (unsigned)cpu < v->ncpus) ? (unsigned)cpu : v->ncpus;
    __atomic_fetch_add(&v->slot[i].pending, npages, __ATOMIC_RELAXED);
}

bool predlog_vcpu_gfn_to_pages(uint64_t ram_start, uint64_t slot_bytes,
                               uint64_t offset, unsigned host_page_bits,
                               unsigned target_page_bits,
                               uint64_t *first_page, uint64_t *npages)
{
    uint64_t host_page, byte_off, addr, last;

    if (!first_page || !npages || host_page_bits >= 64 ||
        target_page_bits > host_page_bits) {
        return false;
    }
    host_page = (uint64_t)1 << host_page_bits;

    /* The whole host page must lie inside the slot. */
    if (slot_bytes < host_page ||
        offset > (slot_bytes - host_page) >> host_page_bits) {
        return false;
    }
    byte_off = offset << host_page_bits;

    /* ram_addr of its first and last byte, without wrapping */
    if (ram_start > UINT64_MAX - byte_off ||
        ram_start + byte_off > UINT64_MAX - (host_page - 1)) {
        return false;
    }
    addr = ram_start + byte_off;
    last = addr + (host_page - 1);

    /* a slot not aligned to target pages straddles one more of them */
    *first_page = addr >> target_page_bits;
    *npages = (last >> target_page_bits) - *first_page + 1;
    return true;
}

void predlog_vcpu_dirty_end_period(PredlogVcpuDirty *v, double seconds)
{
    bool rate_ok = isfinite(seconds) && seconds > 0;

    if (!v) {
        return;
    }
    for (unsigned i = 0; i <= v->ncpus; i++) {
        PredlogVcpuStats *s = &v->stats[i];
        uint64_t n = __atomic_exchange_n(&v->slot[i].pending, 0,
                                         __ATOMIC_RELAXED);

        s->pages += n;
        s->last = n;
        if (rate_ok) {
            s->rate = (double)n / seconds;
            s->rate_ewma = v->rated ?
                EWMA_ALPHA * s->rate + (1 - EWMA_ALPHA) * s->rate_ewma :
                s->rate;
        }
    }
    v->rated |= rate_ok;
}

void predlog_vcpu_dirty_stats(const PredlogVcpuDirty *v, int cpu,
                              PredlogVcpuStats *out)
{
    if (!out) {
        return;
    }
    if (v && cpu == -1) {
        *out = v->stats[v->ncpus];
    } else if (v && cpu >= 0 && (unsigned)cpu < v->ncpus) {
        *out = v->stats[cpu];
    } else {
        memset(out, 0, sizeof(*out));
    }
}
