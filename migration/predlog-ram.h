/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: predictive dirty-page logging, the interface ram.c calls
 *
 * ram.c calls these at a handful of points (patches/0007); everything
 * else lives in predlog-ram.c, and the decisions in migration/predlog/.
 * With the "predlog" capability off, every hook returns what stock ram.c
 * would have computed itself.
 *
 * Threads: all hooks but predlog_ram_query() run in the migration thread
 * (the sync and the page search with RAMState's bitmap_mutex held);
 * predlog_ram_query() and the HMP printer run in the main loop.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_RAM_H
#define MIGRATION_PREDLOG_RAM_H

#include "qapi/qapi-types-migration.h"
#include "exec/cpu-common.h"
#include "predlog/history.h"

/*
 * migrate_params_check(): the predlog parameters @params sets are in
 * range; false with @errp naming the parameter and its range if not.
 */
bool predlog_ram_check_params(const MigrationParameters *params,
                              Error **errp);

/* Set up for a migration (ram_init_all); false and @errp on failure. */
bool predlog_ram_setup(Error **errp);
/*
 * Migration over (ram_save_cleanup): stop learning, keep the stats and
 * the dirty history (until the next predlog migration).
 */
void predlog_ram_cleanup(void);
/*
 * The dirty history of the last predlog migration, once it is over (NULL
 * during one and if there was none): what predlog-cow.c builds its first
 * partitions from.  Migration thread.
 */
const PredlogHistory *predlog_ram_history(void);

/* Size of the XBZRLE cache when only predlog uses it (grown later). */
uint64_t predlog_ram_cache_initial(void);
/* The cache was replaced with an empty one of @bytes. */
void predlog_ram_cache_resized(uint64_t bytes);

/* Before @rb's dirty log is synced into its migration bitmap. */
void predlog_ram_observe(RAMBlock *rb);
/*
 * After every block was synced: learn, choose the hot set, count what is
 * deferred, keep the deferred pages' dirty log armed, size the cache and
 * price the final round.  @dirty_pages is RAMState.migration_dirty_pages.
 */
void predlog_ram_sync_done(uint64_t dirty_pages, bool last_stage);

/*
 * Next page at or after @start (< @size) that is dirty in @rb->bmap and
 * not deferred; @size if none.  Stock find_next_bit() unless deferring.
 */
unsigned long predlog_ram_find_next_dirty(RAMBlock *rb, unsigned long size,
                                          unsigned long start,
                                          bool last_stage);

/* Is the page at @addr (ram_addr_t) in the hot set? */
bool predlog_ram_page_is_hot(ram_addr_t addr);
/* The XBZRLE cache holds (or now got) a base of the page at @addr. */
void predlog_ram_note_cached(ram_addr_t addr);
/* The page at @addr went as a delta of @bytes (0: unchanged, not sent). */
void predlog_ram_note_delta(ram_addr_t addr, uint64_t bytes);
/* The page at @addr could not be delta-encoded (overflow or miss). */
void predlog_ram_note_full(ram_addr_t addr);

/* What ram_state_pending_*() reports: stock pages*page size when off. */
uint64_t predlog_ram_remaining_bytes(uint64_t dirty_pages);

/* The final round was sent (ram_save_complete): final counters. */
void predlog_ram_complete(void);

/* query-migrate's "predlog" member; NULL when never used. */
PredlogMigrationStats *predlog_ram_query(void);
void predlog_hmp_info_migrate(Monitor *mon, const PredlogMigrationStats *st);

/*
 * What ram.c provides predlog-ram.c: the state only ram.c can reach.
 * Called from predlog_ram_sync_done(), in the migration thread.
 */

/* Clear the dirty log of every RAMBlock after a sync (KVM manual clear). */
void ram_predlog_rearm_dirty_log(void);
/* Replace the XBZRLE cache with an empty one of @bytes; false if not. */
bool ram_predlog_xbzrle_replace(uint64_t bytes);
/*
 * Encode @rb's page at @offset against its base into @buf (a page); @len
 * gets the encoded length, -1 without a base or on overflow.  False if
 * there is no XBZRLE cache at all.
 */
bool ram_predlog_xbzrle_delta(RAMBlock *rb, ram_addr_t offset, uint8_t *buf,
                              int *len);

#endif /* MIGRATION_PREDLOG_RAM_H */
