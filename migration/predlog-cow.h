/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: partition-level copy-on-write snapshots, the interface ram.c
 * calls
 *
 * With the "predlog-cow" capability (only together with
 * "background-snapshot"), ram.c hands its write-protect faults to
 * predlog-cow.c at a few points (patches/0010); with it off no hook is
 * called and a background snapshot is stock QEMU's.  The design is in
 * docs/devel/migration/predlog-cow.rst.
 *
 * Threads: every hook but the query and the monitor printers runs in the
 * migration thread, the page-saving ones (predlog_cow_next_page(),
 * predlog_cow_copy_of(), predlog_cow_copy_saved(),
 * predlog_cow_release()) with RAMState's bitmap_mutex held, as
 * ram.c's own fault poll.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_COW_H
#define MIGRATION_PREDLOG_COW_H

#include "qapi/qapi-types-migration.h"
#include "exec/cpu-common.h"

/*
 * migrate_params_check(): the predlog-cow parameters in @params (all
 * set: the merged parameters) are in range and agree; false with @errp
 * saying what to change if not.
 */
bool predlog_cow_check_params(const MigrationParameters *params,
                              Error **errp);

/*
 * userfaultfd features to request besides write-protect: the faulting
 * thread's id when the capability is on and the kernel has it; 0 off.
 */
uint64_t predlog_cow_uffd_features(void);

/*
 * ram_write_tracking_start(), every block write-protected with @uffd_fd,
 * the VM stopped: build the partition maps and the bounce pool.  False
 * with @errp set if the capability is on and that failed.
 */
bool predlog_cow_start(int uffd_fd, Error **errp);

/*
 * ram_write_tracking_stop(), before the blocks are unregistered (which
 * unprotects them and wakes every waiter): drop the copies not written
 * (a cancelled or failed snapshot), keep the fault log for the next
 * snapshot and the stats for query-migrate.
 */
void predlog_cow_stop(void);

/*
 * poll_fault_page(): read the pending write faults and serve those it
 * can by copy-on-write; return the page to save next, if any, as a
 * block and byte offset: a fault it could not serve (stock handling),
 * else the oldest copy, else the next page of a hot partition.  NULL:
 * nothing first, ram.c's own search goes on.
 */
RAMBlock *predlog_cow_next_page(ram_addr_t *offset);

/*
 * ram_save_target_page(): the copy of @rb's page at byte @offset, to be
 * saved instead of the page's memory (which the guest may have written
 * since the snapshot instant), or NULL if the page has none.
 */
uint8_t *predlog_cow_copy_of(RAMBlock *rb, ram_addr_t offset);
/* The copy predlog_cow_copy_of() gave was written: its slot goes back. */
void predlog_cow_copy_saved(RAMBlock *rb, ram_addr_t offset);

/*
 * ram_save_release_protection(), @rb's pages [@start, @end) just saved
 * into @f: true if predlog-cow takes care of unprotecting them (nothing
 * to do for pages saved from copies; others join a run that is flushed
 * and unprotected with one ioctl every COW_UNPROTECT_BATCH pages, or at
 * once if a vCPU waits for one), false to let ram.c do it.
 */
bool predlog_cow_release(QEMUFile *f, RAMBlock *rb, unsigned long start,
                         unsigned long end);

/* query-migrate's "predlog-cow" member; NULL when never used. */
PredlogCowStats *predlog_cow_query(void);
void predlog_cow_hmp_info_migrate(Monitor *mon, const PredlogCowStats *st);
void predlog_cow_hmp_info_params(Monitor *mon,
                                 const MigrationParameters *params);

#endif /* MIGRATION_PREDLOG_COW_H */
