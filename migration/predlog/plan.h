/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the decisions of predictive pre-copy
 *
 * Everything predlog decides during a migration is made here, so that
 * unit tests can drive a whole pre-copy on a synthetic dirty pattern and
 * check each decision where it is made (tests/unit/test-predlog-plan.c);
 * predlog-ram.c only maps RAMBlocks and QEMU's parameters onto it.
 *
 *  - Choose.  At the end of each sync period the history learns
 *    (history.h) and the hot set is chosen: the likeliest pages,
 *    at least the hot threshold, at most as many as the defer budget
 *    (predlog_policy_max_deferred()) and the cache for their bases allow.
 *  - Defer.  The page search passes over a deferred page: dirty, hot and
 *    with a base in the XBZRLE cache.  It stays set in the migration
 *    bitmap; the caller stops deferring in the final round (and in
 *    postcopy), which then sends it, as a delta against its base.  Cold
 *    pages are therefore found first.  A hot page without a base is not
 *    passed over: sending it once is what puts its base in the cache
 *    (pre-logging).
 *  - Price the final round.  Deferred pages at the learned delta size,
 *    the other dirty pages whole: ram_state_pending_*() report this, so
 *    that QEMU switches over when, and only when, the final round it
 *    would send now fits its threshold (bandwidth x downtime limit).
 *    The same figure is the predicted final round in the statistics.
 *
 * Bitmaps are QEMU's: unsigned long words, bit i of word 0 first.  Page
 * numbers are global (ram_addr >> page bits); a block's bitmap is passed
 * with the global number of its first page, which must be a multiple of
 * the bits in a long (predlog_plan_covers()).
 *
 * Pure C11 + GLib; single-threaded (QEMU calls it from the migration
 * thread under the RAM state's bitmap mutex).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_PLAN_H
#define MIGRATION_PREDLOG_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "history.h"
#include "policy.h"

typedef struct PredlogPlan PredlogPlan;

/* What bounds the hot set at a sync; the caller measures these. */
typedef struct PredlogPlanLimits {
    uint64_t threshold_bytes;   /* bandwidth x downtime limit */
    unsigned budget_pct;        /* predlog-defer-budget, 0..100 */
    uint64_t cache_pages;       /* bases the XBZRLE cache can hold */
} PredlogPlanLimits;

typedef struct PredlogPlanStats {
    uint64_t budget_pages;      /* most pages the last sync let be hot */
    uint64_t hot_pages;         /* the hot set chosen at the last sync */
    uint64_t dirty_pages;       /* dirty at the last sync */
    uint64_t deferred_dirty;    /* of those, deferred (dirty, hot, base) */
    uint64_t deferred_seen;     /* times the search passed a page over */
    uint64_t prelogged;         /* hot pages that got a base */
    uint64_t delta_pages;       /* hot pages sent as deltas */
    uint64_t delta_bytes;       /* ... and their bytes, headers included */
    double hit_rate;            /* share of hot sets dirtied again */
    double delta_cost;          /* learned bytes of a deferred page */
    uint64_t final_bytes;       /* the final round if it were now */
} PredlogPlanStats;

/*
 * @npages: global pages covered, > 0; @depth, @hot_threshold: as for
 * predlog_history_new(); @page_size: target page size, > 0;
 * @delta_header: stream bytes of a delta-encoded page besides its data.
 * NULL when an argument is out of range or memory is short.
 */
PredlogPlan *predlog_plan_new(uint64_t npages, unsigned depth,
                              double hot_threshold, uint64_t page_size,
                              uint64_t delta_header);
void predlog_plan_free(PredlogPlan *p);             /* NULL is fine */
uint64_t predlog_plan_npages(const PredlogPlan *p);
const PredlogHistory *predlog_plan_history(const PredlogPlan *p);

/* Can a bitmap of @npages pages starting at page @first be planned? */
bool predlog_plan_covers(const PredlogPlan *p, uint64_t first,
                         uint64_t npages);

/* Pages @first.. dirtied in the open period (bits of @dirty). */
void predlog_plan_observe(PredlogPlan *p, uint64_t first,
                          const unsigned long *dirty, uint64_t nbits);

/*
 * Close a period of @seconds: score the hot set against what it dirtied,
 * learn, and with @choose (false in postcopy: the set is kept) choose the
 * next hot set within @lim.
 */
void predlog_plan_end_period(PredlogPlan *p, double seconds,
                             const PredlogPlanLimits *lim, bool choose);

/* Deferred pages among the @nbits dirty pages of @bmap from @first. */
uint64_t predlog_plan_count_deferred(const PredlogPlan *p, uint64_t first,
                                     const unsigned long *bmap,
                                     uint64_t nbits);
/* After a sync: @dirty_pages dirty, @deferred_dirty of them deferred. */
void predlog_plan_synced(PredlogPlan *p, uint64_t dirty_pages,
                         uint64_t deferred_dirty);

/* Word @w of the deferred pages of @bmap (page @first is bit 0). */
unsigned long predlog_plan_deferred_word(const PredlogPlan *p,
                                         uint64_t first, uint64_t w,
                                         unsigned long dirty);

/*
 * The page search: the first page at or after @start (< @size) dirty in
 * @bmap and, unless @final_round, not deferred; @size if none.  Counts
 * the pages passed over.  @final_round is the final round (and postcopy):
 * it sends every dirty page.
 */
uint64_t predlog_plan_find_next(PredlogPlan *p, uint64_t first,
                                const unsigned long *bmap, uint64_t size,
                                uint64_t start, bool final_round);

/* Is global page @page in the hot set? */
bool predlog_plan_page_is_hot(const PredlogPlan *p, uint64_t page);
/* @page has a base in the cache; true if that made a hot page pre-logged. */
bool predlog_plan_note_cached(PredlogPlan *p, uint64_t page);
/* @page went as a delta of @bytes (0: unchanged, not sent). */
void predlog_plan_note_delta(PredlogPlan *p, uint64_t page, uint64_t bytes);
/* @page could not be delta-encoded (a miss or an overflow). */
void predlog_plan_note_full(PredlogPlan *p, uint64_t page);
/* A sampled deferred page would encode to @len data bytes (-1: no fit). */
void predlog_plan_note_delta_estimate(PredlogPlan *p, int len);
/* The cache was replaced by an empty one: no page has a base. */
void predlog_plan_cache_emptied(PredlogPlan *p);

/*
 * Bytes the final round would send if migration switched over now, with
 * @dirty_pages dirty: what the switchover decision compares with the
 * threshold.
 */
uint64_t predlog_plan_final_bytes(const PredlogPlan *p,
                                  uint64_t dirty_pages);

void predlog_plan_stats(const PredlogPlan *p, PredlogPlanStats *out);

#endif /* MIGRATION_PREDLOG_PLAN_H */
