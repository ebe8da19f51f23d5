/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the decisions of predictive pre-copy (see plan.h)
 *
 * Pure C11 + GLib: built into QEMU with predlog-ram.c and into the
 * standalone core for its unit tests.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "plan.h"

#define BPL     (sizeof(unsigned long) * CHAR_BIT)

struct PredlogPlan {
    PredlogHistory *history;
    uint64_t npages;
    uint64_t nwords;
    unsigned long *hot;         /* the hot set, by global page */
    /* pages with a base in the XBZRLE cache; a hint: it may evict one */
    unsigned long *cached;
    PredlogDeltaCost cost;
    double hot_threshold;       /* least P(dirty again) of a hot page */
    uint64_t page_size;
    uint64_t delta_header;
    uint64_t budget_pages;
    uint64_t hot_pages;
    uint64_t dirty_pages;
    uint64_t deferred_dirty;
    uint64_t deferred_seen;
    uint64_t prelogged;
    uint64_t delta_pages;
    uint64_t delta_bytes;
    uint64_t hot_scored;        /* pages of past hot sets ... */
    uint64_t hot_hits;          /* ... and those dirtied again next period */
};

static inline bool bit_test(const unsigned long *map, uint64_t bit)
{
    return (map[bit / BPL] >> (bit % BPL)) & 1;
}

static inline unsigned long first_word_mask(uint64_t start)
{
    return ~0UL << (start % BPL);
}

PredlogPlan *predlog_plan_new(uint64_t npages, unsigned depth,
                              double hot_threshold, uint64_t page_size,
                              uint64_t delta_header)
{
    PredlogPlan *p;

    if (!npages || !page_size || npages > UINT64_MAX - BPL) {
        return NULL;
    }
    p = g_new0(PredlogPlan, 1);
    p->npages = npages;
    p->nwords = (npages + BPL - 1) / BPL;
    p->history = predlog_history_new(npages, depth, hot_threshold);
    p->hot = g_try_new0(unsigned long, p->nwords);
    p->cached = g_try_new0(unsigned long, p->nwords);
    if (!p->history || !p->hot || !p->cached) {
        predlog_plan_free(p);
        return NULL;
    }
    p->hot_threshold = hot_threshold;
    p->page_size = page_size;
    p->delta_header = delta_header;
    predlog_delta_cost_init(&p->cost, page_size, delta_header);
    return p;
}

void predlog_plan_free(PredlogPlan *p)
{
    if (!p) {
        return;
    }
    predlog_history_free(p->history);
    g_free(p->hot);
    g_free(p->cached);
    g_free(p);
}

uint64_t predlog_plan_npages(const PredlogPlan *p)
{
    return p ? p->npages : 0;
}

const PredlogHistory *predlog_plan_history(const PredlogPlan *p)
{
    return p ? p->history : NULL;
}

bool predlog_plan_covers(const PredlogPlan *p, uint64_t first,
                         uint64_t npages)
{
    return p && first % BPL == 0 && first <= p->npages &&
           npages <= p->npages - first;
}

void predlog_plan_observe(PredlogPlan *p, uint64_t first,
                          const unsigned long *dirty, uint64_t nbits)
{
    if (p && dirty) {
        predlog_history_observe(p->history, first, dirty, nbits);
    }
}

/*
 * The policy's hit rate: of the hot set chosen at the last sync, how many
 * pages the period just closed dirtied again (bit 0 of their history).
 */
static void plan_score_hot(PredlogPlan *p)
{
    for (uint64_t w = 0; w < p->nwords; w++) {
        unsigned long bits = p->hot[w];

        while (bits) {
            uint64_t page = w * BPL + __builtin_ctzl(bits);

            bits &= bits - 1;
            p->hot_scored++;
            p->hot_hits += predlog_history_pattern(p->history, page) & 1;
        }
    }
}

static void plan_choose_hot(PredlogPlan *p, const PredlogPlanLimits *lim)
{
    /*
     * A deferred page is one predicted to be dirtied again, so it will
     * cost at least a delta record's header in the final round, however
     * cheap the samples were: a page sampled unchanged since its base
     * costs 0 today, and a cost of 0 would leave no budget at all.
     */
    double cost = MAX(predlog_delta_cost_expected(&p->cost),
                      (double)p->delta_header);
    uint64_t budget = predlog_policy_max_deferred(
        lim->threshold_bytes, lim->budget_pct, cost);

    /* A hot page is deferred only once its base is cached. */
    p->budget_pages = MIN(budget, lim->cache_pages);
    p->hot_pages = predlog_history_select_hot(
        p->history, p->hot, p->hot_threshold, p->budget_pages);
}

void predlog_plan_end_period(PredlogPlan *p, double seconds,
                             const PredlogPlanLimits *lim, bool choose)
{
    if (!p) {
        return;
    }
    predlog_history_end_period(p->history, seconds);
    plan_score_hot(p);
    if (choose && lim) {
        plan_choose_hot(p, lim);
    }
}

unsigned long predlog_plan_deferred_word(const PredlogPlan *p,
                                         uint64_t first, uint64_t w,
                                         unsigned long dirty)
{
    uint64_t gw = first / BPL + w;

    if (gw >= p->nwords) {
        return 0;
    }
    return dirty & p->hot[gw] & p->cached[gw];
}

/* Bits of word @w of an @nbits-bit bitmap that are inside it. */
static unsigned long word_in_range(uint64_t w, uint64_t nbits,
                                   unsigned long bits)
{
    uint64_t end = (w + 1) * BPL;

    if (end > nbits) {
        bits &= ~0UL >> (end - nbits);
    }
    return bits;
}

uint64_t predlog_plan_count_deferred(const PredlogPlan *p, uint64_t first,
                                     const unsigned long *bmap,
                                     uint64_t nbits)
{
    uint64_t deferred = 0;

    if (!predlog_plan_covers(p, first, nbits)) {
        return 0;
    }
    for (uint64_t w = 0; w * BPL < nbits; w++) {
        unsigned long d = predlog_plan_deferred_word(p, first, w, bmap[w]);

        deferred += __builtin_popcountl(word_in_range(w, nbits, d));
    }
    return deferred;
}

void predlog_plan_synced(PredlogPlan *p, uint64_t dirty_pages,
                         uint64_t deferred_dirty)
{
    if (p) {
        p->dirty_pages = dirty_pages;
        p->deferred_dirty = MIN(deferred_dirty, dirty_pages);
    }
}

uint64_t predlog_plan_find_next(PredlogPlan *p, uint64_t first,
                                const unsigned long *bmap, uint64_t size,
                                uint64_t start, bool final_round)
{
    bool defer = !final_round && p && p->hot_pages &&
                 predlog_plan_covers(p, first, size);
    unsigned long mask;

    if (start >= size) {
        return size;
    }
    mask = first_word_mask(start);
    for (uint64_t w = start / BPL; w * BPL < size; w++) {
        unsigned long dirty = word_in_range(w, size, bmap[w] & mask);
        unsigned long deferred = 0;
        unsigned long send;

        if (defer) {
            deferred = predlog_plan_deferred_word(p, first, w, dirty);
            p->deferred_seen += __builtin_popcountl(deferred);
        }
        send = dirty & ~deferred;
        if (send) {
            return w * BPL + __builtin_ctzl(send);
        }
        mask = ~0UL;
    }
    return size;
}

static bool plan_page_ok(const PredlogPlan *p, uint64_t page)
{
    return p && page < p->npages;
}

bool predlog_plan_page_is_hot(const PredlogPlan *p, uint64_t page)
{
    return plan_page_ok(p, page) && bit_test(p->hot, page);
}

bool predlog_plan_note_cached(PredlogPlan *p, uint64_t page)
{
    if (!plan_page_ok(p, page) || bit_test(p->cached, page)) {
        return false;
    }
    p->cached[page / BPL] |= 1UL << (page % BPL);
    if (bit_test(p->hot, page)) {
        p->prelogged++;
        return true;
    }
    return false;
}

void predlog_plan_note_delta(PredlogPlan *p, uint64_t page, uint64_t bytes)
{
    if (predlog_plan_page_is_hot(p, page)) {
        predlog_delta_cost_note(&p->cost, bytes);
        p->delta_pages++;
        p->delta_bytes += bytes;
    }
}

void predlog_plan_note_full(PredlogPlan *p, uint64_t page)
{
    if (predlog_plan_page_is_hot(p, page)) {
        predlog_delta_cost_note_full(&p->cost);
    }
}

void predlog_plan_note_delta_estimate(PredlogPlan *p, int len)
{
    if (!p) {
        return;
    }
    if (len < 0) {
        predlog_delta_cost_note_full(&p->cost);
    } else {
        /* An unchanged page costs nothing: it is not sent at all. */
        predlog_delta_cost_note(&p->cost,
                                len ? (uint64_t)len + p->delta_header : 0);
    }
}

void predlog_plan_cache_emptied(PredlogPlan *p)
{
    if (p) {
        memset(p->cached, 0, p->nwords * sizeof(*p->cached));
    }
}

uint64_t predlog_plan_final_bytes(const PredlogPlan *p, uint64_t dirty_pages)
{
    uint64_t deferred;

    if (!p) {
        return 0;
    }
    /*
     * Whole pages without their header, as stock's pages x page size:
     * the threshold QEMU compares with was measured the same way.
     */
    deferred = MIN(p->deferred_dirty, dirty_pages);
    return predlog_policy_final_bytes(deferred, dirty_pages - deferred,
                                      predlog_delta_cost_expected(&p->cost),
                                      p->page_size, 0);
}

void predlog_plan_stats(const PredlogPlan *p, PredlogPlanStats *out)
{
    memset(out, 0, sizeof(*out));
    if (!p) {
        return;
    }
    out->budget_pages = p->budget_pages;
    out->hot_pages = p->hot_pages;
    out->dirty_pages = p->dirty_pages;
    out->deferred_dirty = p->deferred_dirty;
    out->deferred_seen = p->deferred_seen;
    out->prelogged = p->prelogged;
    out->delta_pages = p->delta_pages;
    out->delta_bytes = p->delta_bytes;
    out->hit_rate = p->hot_scored ?
                    (double)p->hot_hits / p->hot_scored : 0;
    out->delta_cost = predlog_delta_cost_expected(&p->cost);
    out->final_bytes = predlog_plan_final_bytes(p, p->dirty_pages);
}
