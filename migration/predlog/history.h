/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: per-page dirty history and hot-page prediction for migration
 *
 * Pre-copy resends every page the guest dirties again.  This file keeps,
 * for every target page of guest RAM, one byte of history: bit 0 says the
 * page was dirtied in the last sync period, bit 1 in the one before, ...
 * (the history depth, 1..8 periods, masks the rest).  From those bytes it
 * learns, and predicts, how likely a page is to be dirtied again.
 *
 * Model.  Pages are grouped by their history pattern (at most 256).  For
 * each pattern the predictor keeps decayed counts of "pages with this
 * pattern at sync t" and "of those, dirtied again by sync t+1"; their
 * ratio, with a Beta(1,1) prior, is P(dirty in the next period | pattern).
 * This is an empirical, per-VM table: it learns that "dirty in each of
 * the last 3 periods" means 0.97 on one guest and 0.4 on another, with no
 * tuning.  The probability of being dirtied again within k periods is
 * 1 - (1 - p)^k.  Decay (factor 0.8 per period) lets the table follow a
 * moving hot set within a few periods.
 *
 * Hit rate.  At every sync the pages predicted hot at the previous sync
 * (p >= hot threshold) are checked against what was dirtied: the hit
 * rate is the share of predicted-hot pages dirtied again (precision), the
 * recall the share of re-dirtied pages that were predicted hot.  A page
 * dirtied for the first time is not a "re-dirty": nothing could predict it
 * from its own history.
 *
 * Global forecast.  The number of pages dirtied per second in each period
 * feeds a PredlogForecastSet ("qemu/predlog/forecast.h", AUTO selection);
 * the predicted final dirty set is the expected number of distinct pages dirty
 * at switchover: the deferred pages plus, for every other page,
 * P(dirty within the remaining periods).
 *
 * Page numbers are global target-page indexes (ram_addr >> page bits), so
 * one history covers every RAMBlock; the caller maps blocks onto it.
 *
 * Memory: one byte per page plus one bit per page for the pages dirtied
 * in the open period (the predicted-hot set of the last sync is kept per
 * pattern, not per page) and one byte per 64 pages, i.e. about 1.14 bytes
 * per 4 KiB page (292 KiB for a 1 GiB guest), plus a 4 KiB pattern table
 * and a forecast set.
 *
 * Pure C11 + GLib; single-threaded (the caller serialises: QEMU calls it
 * from the bitmap sync, under the RAM state's bitmap mutex).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_HISTORY_H
#define MIGRATION_PREDLOG_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREDLOG_HISTORY_DEPTH_MIN   1u
#define PREDLOG_HISTORY_DEPTH_MAX   8u

typedef struct PredlogHistory PredlogHistory;

typedef struct PredlogHistoryStats {
    uint64_t periods;           /* sync periods closed */
    uint64_t dirty_last;        /* pages dirtied in the last period */
    uint64_t hot_last;          /* pages predicted hot at the last sync */
    uint64_t hits;              /* cumulative: predicted hot, dirtied again */
    uint64_t predicted;         /* cumulative: predicted hot */
    uint64_t redirtied;         /* cumulative: dirtied with history != 0 */
    uint64_t redirtied_hot;     /* cumulative: of those, predicted hot */
    double hit_rate;            /* hits / predicted, 0 when none */
    double recall;              /* redirtied_hot / redirtied, 0 when none */
    double dirty_rate;          /* pages/s in the last period */
    double dirty_rate_forecast; /* pages/s predicted for the next period */
} PredlogHistoryStats;

/*
 * @npages: pages covered (global page indexes 0..npages-1), > 0
 * @depth: history depth in periods, PREDLOG_HISTORY_DEPTH_MIN..MAX
 * @hot_threshold: probability at or above which a page counts as hot
 *                 for the hit rate, in (0, 1]
 * Returns NULL if an argument is out of range.
 */
PredlogHistory *predlog_history_new(uint64_t npages, unsigned depth,
                                    double hot_threshold);
void predlog_history_free(PredlogHistory *h);       /* NULL is fine */
uint64_t predlog_history_npages(const PredlogHistory *h);
unsigned predlog_history_depth(const PredlogHistory *h);

/*
 * Record the pages dirtied during the current period: bit i of @dirty
 * (unsigned long words, bit 0 of word 0 first, as QEMU's bitmaps) is page
 * @first + i, for @nbits bits.  May be called several times per period
 * (once per RAMBlock); bits are ORed.  Bits beyond npages are ignored.
 */
void predlog_history_observe(PredlogHistory *h, uint64_t first,
                             const unsigned long *dirty, uint64_t nbits);
/* The same for a run of @count pages (count 0 is a no-op). */
void predlog_history_observe_range(PredlogHistory *h, uint64_t first,
                                   uint64_t count);

/*
 * Close the period that lasted @seconds (> 0; a non-finite or non-positive
 * value only skips the rate update): score the last prediction, learn the
 * pattern table, shift every page's history, refresh the hot set and feed
 * the rate forecast.  O(pages / 64) for clean regions, O(pages) worst.
 */
void predlog_history_end_period(PredlogHistory *h, double seconds);

/* P(page dirtied in the next period), from its pattern; 0 out of range. */
double predlog_history_probability(const PredlogHistory *h, uint64_t page);
/* P(page dirtied at least once in the next @periods periods) (>= 0). */
double predlog_history_probability_within(const PredlogHistory *h,
                                          uint64_t page, double periods);
/* The page's history byte (0 out of range). */
uint8_t predlog_history_pattern(const PredlogHistory *h, uint64_t page);

/*
 * Choose the hot set: the pages with the highest probability, at least
 * @min_p, at most @max_pages of them.  Ties within the last pattern taken
 * are broken by page order.  Sets bit i of @hot (an npages-bit bitmap the
 * caller owns) for every chosen page and clears every other bit.  Returns
 * the number chosen.
 */
uint64_t predlog_history_select_hot(const PredlogHistory *h,
                                    unsigned long *hot, double min_p,
                                    uint64_t max_pages);

/*
 * Expected number of distinct pages dirty at switchover if it happens
 * @periods periods from now: @deferred pages that stay dirty for sure,
 * plus P(dirty within @periods) summed over the pages not in @hot (NULL:
 * over all pages, and @deferred is added as is).
 */
double predlog_history_final_set(const PredlogHistory *h,
                                 const unsigned long *hot, uint64_t deferred,
                                 double periods);

void predlog_history_stats(const PredlogHistory *h, PredlogHistoryStats *out);

#endif /* MIGRATION_PREDLOG_HISTORY_H */
