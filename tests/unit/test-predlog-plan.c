/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of predictive pre-copy's decisions (migration/predlog/plan.c)
 *
 * The core of the file is a model of ram.c's pre-copy loop, as
 * patches/0007 wires it to predlog-ram.c: a migration bitmap, a dirty
 * log, page versions on the source and the destination and an XBZRLE
 * cache of page versions.  Each round the search walks the bitmap through
 * predlog_plan_find_next(); a page goes as a delta when the cache has a
 * base of it, else whole, and a predicted-hot page that is not cached is
 * inserted (pre-logged); then the guest dirties its pages, the bitmap is
 * synced, the plan learns and chooses; then the switchover decision
 * compares predlog_plan_final_bytes() with the threshold, as
 * migration_iteration_run() does with ram_state_pending_*().  The final
 * round sends whatever is dirty.
 *
 * The guest's pattern is synthetic with a known hot set: every period it
 * rewrites the hot pages, and a fresh slice of cold pages once.  On it
 * the tests check each decision where it is made:
 *  - cold pages are sent before hot ones: in a round that is not the
 *    final one, no deferred page (dirty, hot, with a base) is sent, and a
 *    hot page, once it has a base, is sent again only in the final round;
 *  - the deferred pages never exceed the budget, computed here from the
 *    threshold, the defer budget and the learned delta size;
 *  - every deferred page is sent in the final round, as a delta, and the
 *    destination ends with every page's last version;
 *  - switchover happens when, and only when, the final round it would
 *    send fits the threshold: the plan's price equals what the final
 *    round would send at every sync, and a guest that dirties more than
 *    the threshold per period never switches over.
 * Then the search itself against a plain find-next-bit on random bitmaps,
 * and the edges of the interface.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <limits.h>
#include <string.h>

#include "migration/predlog/plan.h"

#define BPL             (sizeof(unsigned long) * CHAR_BIT)
#define PAGE            4096u
#define HDR             11u     /* PREDLOG_DELTA_HEADER in predlog-ram.c */
/* bytes of data in every delta the model encodes (16-byte rewrites) */
#define DELTA_DATA      20u
#define DELTA_BYTES     (DELTA_DATA + HDR)
#define DEPTH           8u
#define HOT_THRESHOLD   0.5
#define MAX_ROUNDS      40

typedef struct Pattern {
    uint64_t npages;
    uint64_t hot_first, hot_count;  /* pages rewritten every period */
    uint64_t cold_per_period;       /* fresh cold pages dirtied once */
} Pattern;

typedef struct Sim {
    const Pattern *pat;
    PredlogPlan *plan;
    PredlogPlanLimits lim;
    uint64_t npages, nwords;
    unsigned long *bmap;        /* the migration bitmap */
    unsigned long *log;         /* the dirty log of the open period */
    uint32_t *src;              /* each page's version on the source */
    uint32_t *dst;              /* ... and the one the destination has */
    uint32_t *base;             /* the cached version, 0: not cached */
    uint64_t cold_next;         /* the next cold page the guest dirties */
    bool xbzrle_started;        /* after the first complete round */
    unsigned rounds;            /* rounds before the final one */
    bool switched;
    /* the final round */
    uint64_t final_sent, final_deltas, final_bytes;
    uint64_t deltas;            /* deltas sent, over the whole migration */
    uint64_t max_deferred;      /* most pages deferred at one sync */
} Sim;

static bool bit(const unsigned long *map, uint64_t i)
{
    return (map[i / BPL] >> (i % BPL)) & 1;
}

static void set_bit1(unsigned long *map, uint64_t i)
{
    map[i / BPL] |= 1UL << (i % BPL);
}

static void clear_bit1(unsigned long *map, uint64_t i)
{
    map[i / BPL] &= ~(1UL << (i % BPL));
}

static uint64_t count_bits(const unsigned long *map, uint64_t nwords)
{
    uint64_t n = 0;

    for (uint64_t w = 0; w < nwords; w++) {
        n += __builtin_popcountl(map[w]);
    }
    return n;
}

static bool is_hot(const Pattern *pat, uint64_t page)
{
    return page >= pat->hot_first && page < pat->hot_first + pat->hot_count;
}

/* What the search must pass over now: dirty, hot, with a base. */
static bool deferred(const Sim *s, uint64_t page)
{
    return bit(s->bmap, page) && predlog_plan_page_is_hot(s->plan, page) &&
           s->base[page];
}

static void sim_init(Sim *s, const Pattern *pat, uint64_t threshold,
                     unsigned budget_pct)
{
    memset(s, 0, sizeof(*s));
    s->pat = pat;
    s->npages = pat->npages;
    s->nwords = (pat->npages + BPL - 1) / BPL;
    s->plan = predlog_plan_new(pat->npages, DEPTH, HOT_THRESHOLD, PAGE, HDR);
    g_assert_nonnull(s->plan);
    s->lim.threshold_bytes = threshold;
    s->lim.budget_pct = budget_pct;
    s->lim.cache_pages = pat->npages;
    s->bmap = g_new0(unsigned long, s->nwords);
    s->log = g_new0(unsigned long, s->nwords);
    s->src = g_new0(uint32_t, pat->npages);
    s->dst = g_new0(uint32_t, pat->npages);
    s->base = g_new0(uint32_t, pat->npages);
    s->cold_next = 0;
    /* the setup sync: every page is dirty, each at version 1 */
    for (uint64_t i = 0; i < pat->npages; i++) {
        set_bit1(s->bmap, i);
        s->src[i] = 1;
    }
    predlog_plan_synced(s->plan, pat->npages, 0);
}

static void sim_free(Sim *s)
{
    predlog_plan_free(s->plan);
    g_free(s->bmap);
    g_free(s->log);
    g_free(s->src);
    g_free(s->dst);
    g_free(s->base);
}

/* The guest runs one period: every hot page, then a slice of cold ones. */
static void guest_period(Sim *s)
{
    const Pattern *pat = s->pat;
    uint64_t cold = pat->npages - pat->hot_count;

    for (uint64_t i = 0; i < pat->hot_count; i++) {
        uint64_t page = pat->hot_first + i;

        s->src[page]++;
        set_bit1(s->log, page);
    }
    for (uint64_t i = 0; i < pat->cold_per_period; i++) {
        uint64_t page = s->cold_next++ % cold;

        if (page >= pat->hot_first) {
            page += pat->hot_count;
        }
        s->src[page]++;
        set_bit1(s->log, page);
    }
}

/*
 * ram_save_page() on @page, as save_xbzrle_page() does it with predlog
 * alone (patches/0007); returns the bytes it puts on the wire.
 */
static uint64_t send_page(Sim *s, uint64_t page, bool final_round)
{
    uint64_t bytes = PAGE + 8;

    clear_bit1(s->bmap, page);
    if (s->xbzrle_started) {
        if (s->base[page]) {
            predlog_plan_note_cached(s->plan, page);
            if (s->base[page] == s->src[page]) {
                /* unchanged since its base: nothing is sent */
                predlog_plan_note_delta(s->plan, page, 0);
                g_assert_cmpuint(s->dst[page], ==, s->src[page]);
                s->deltas++;
                return 0;
            }
            s->base[page] = s->dst[page] = s->src[page];
            predlog_plan_note_delta(s->plan, page, DELTA_BYTES);
            s->deltas++;
            return DELTA_BYTES;
        }
        if (final_round) {
            predlog_plan_note_full(s->plan, page);
        } else if (predlog_plan_page_is_hot(s->plan, page)) {
            /* pre-logging: the cache gets a base of the hot page */
            s->base[page] = s->src[page];
            predlog_plan_note_cached(s->plan, page);
        }
    }
    s->dst[page] = s->src[page];
    return bytes;
}

/* One pass of the page search over the whole bitmap. */
static void sim_round(Sim *s, bool final_round)
{
    uint64_t page = 0;

    for (;;) {
        page = predlog_plan_find_next(s->plan, 0, s->bmap, s->npages, page,
                                      final_round);
        if (page >= s->npages) {
            break;
        }
        g_assert_true(bit(s->bmap, page));
        if (!final_round) {
            /* cold before hot: a deferred page waits for the final round */
            g_assert_false(deferred(s, page));
            /* and a hot page, once it has a base, is not sent again */
            g_assert_false(is_hot(s->pat, page) && s->base[page]);
            send_page(s, page, false);
        } else {
            bool delta = s->base[page] != 0;
            uint64_t bytes = send_page(s, page, true);

            s->final_sent++;
            s->final_deltas += delta;
            /* the plan prices whole pages without their header */
            s->final_bytes += delta ? bytes : PAGE;
        }
        page++;
    }
    if (!final_round) {
        /* after the first complete round, XBZRLE (and predlog) start */
        s->xbzrle_started = true;
    }
}

/* What the final round would send now, priced as predlog_plan prices it. */
static uint64_t would_send(const Sim *s, double delta_cost)
{
    double bytes = 0;

    for (uint64_t i = 0; i < s->npages; i++) {
        if (bit(s->bmap, i)) {
            bytes += deferred(s, i) ? delta_cost : PAGE;
        }
    }
    return (uint64_t)(bytes + 0.999999);
}

/* migration_bitmap_sync() with the plan's hooks, then its checks. */
static void sim_sync(Sim *s, bool last_stage)
{
    PredlogPlanStats ps;
    uint64_t dirty, deferred_here = 0, budget;

    predlog_plan_observe(s->plan, 0, s->log, s->npages);
    for (uint64_t w = 0; w < s->nwords; w++) {
        s->bmap[w] |= s->log[w];
        s->log[w] = 0;
    }
    if (!last_stage) {
        predlog_plan_end_period(s->plan, 1.0, &s->lim, true);
    }
    dirty = count_bits(s->bmap, s->nwords);
    predlog_plan_synced(s->plan, dirty, predlog_plan_count_deferred(
                            s->plan, 0, s->bmap, s->npages));
    predlog_plan_stats(s->plan, &ps);

    for (uint64_t i = 0; i < s->npages; i++) {
        deferred_here += deferred(s, i);
    }
    g_assert_cmpuint(ps.dirty_pages, ==, dirty);
    g_assert_cmpuint(ps.deferred_dirty, ==, deferred_here);

    /* the budget, from its definition: threshold x pct / page cost */
    budget = (uint64_t)((double)s->lim.threshold_bytes * s->lim.budget_pct /
                        100.0 / ps.delta_cost);
    budget = MIN(budget, s->lim.cache_pages);
    g_assert_cmpuint(ps.budget_pages, <=, budget);
    g_assert_cmpuint(ps.hot_pages, <=, ps.budget_pages);
    g_assert_cmpuint(ps.deferred_dirty, <=, ps.hot_pages);
    s->max_deferred = MAX(s->max_deferred, ps.deferred_dirty);

    /* the price of the final round is what it would send now */
    g_assert_cmpuint(predlog_plan_final_bytes(s->plan, dirty), ==,
                     would_send(s, ps.delta_cost));
    g_assert_cmpuint(ps.final_bytes, ==, would_send(s, ps.delta_cost));
}

/*
 * predlog_sample_deltas(): the deferred pages would encode to DELTA_DATA
 * bytes against their base (the guest rewrote them).
 */
static void sim_sample(Sim *s)
{
    int n = 0;

    for (uint64_t i = 0; i < s->npages && n < 32; i++) {
        if (deferred(s, i)) {
            predlog_plan_note_delta_estimate(
                s->plan, s->base[i] == s->src[i] ? 0 : (int)DELTA_DATA);
            n++;
        }
    }
}

/*
 * The migration: rounds until the switchover decision says the final
 * round fits, at most MAX_ROUNDS; then, if it did, the final round.
 */
static void sim_migrate(Sim *s)
{
    for (s->rounds = 0; s->rounds < MAX_ROUNDS; s->rounds++) {
        uint64_t pending;

        sim_round(s, false);
        guest_period(s);
        sim_sync(s, false);
        sim_sample(s);
        pending = predlog_plan_final_bytes(
            s->plan, count_bits(s->bmap, s->nwords));
        if (pending <= s->lim.threshold_bytes) {
            s->switched = true;
            break;
        }
    }
    if (!s->switched) {
        return;
    }
    /* the guest is stopped: the last sync, then the final round */
    sim_sync(s, true);
    sim_round(s, true);
}

static void check_memory(const Sim *s)
{
    g_assert_cmpuint(count_bits(s->bmap, s->nwords), ==, 0);
    for (uint64_t i = 0; i < s->npages; i++) {
        if (s->dst[i] != s->src[i]) {
            g_error("page %" G_GUINT64_FORMAT ": destination has version %u,"
                    " source %u", i, s->dst[i], s->src[i]);
        }
    }
}

/*
 * A hot set of 200 pages and 150 fresh cold pages per period, against a
 * threshold of 200 pages: what stock pre-copy leaves after each round
 * (350 pages) never fits; with the hot pages deferred as deltas it does.
 */
static const Pattern hotcold = {
    .npages = 4096, .hot_first = 1000, .hot_count = 200,
    .cold_per_period = 150,
};
#define HOTCOLD_THRESHOLD   (200ull * PAGE)

static void test_hotcold_migration(void)
{
    Sim s;
    PredlogPlanStats ps;
    uint64_t hot_with_base = 0, chosen_cold = 0;

    sim_init(&s, &hotcold, HOTCOLD_THRESHOLD, 50);
    sim_migrate(&s);
    g_assert_true(s.switched);
    predlog_plan_stats(s.plan, &ps);

    /* the hot set it learned is the guest's, and was deferred */
    for (uint64_t i = 0; i < s.npages; i++) {
        if (predlog_plan_page_is_hot(s.plan, i)) {
            chosen_cold += !is_hot(&hotcold, i);
        }
        hot_with_base += is_hot(&hotcold, i) && s.base[i];
    }
    g_assert_cmpuint(chosen_cold, ==, 0);
    g_assert_cmpuint(ps.hot_pages, ==, hotcold.hot_count);
    g_assert_cmpuint(hot_with_base, ==, hotcold.hot_count);
    g_assert_cmpuint(ps.prelogged, ==, hotcold.hot_count);
    g_assert_cmpuint(s.max_deferred, >, 0);
    g_assert_cmpuint(ps.deferred_seen, >, 0);

    /* every deferred page went in the final round, as a delta */
    g_assert_cmpuint(ps.deferred_dirty, ==, hotcold.hot_count);
    g_assert_cmpuint(s.final_deltas, ==, ps.deferred_dirty);
    g_assert_cmpuint(s.final_sent, ==,
                     hotcold.hot_count + hotcold.cold_per_period);
    g_assert_cmpuint(ps.delta_pages, ==, s.deltas);
    g_assert_cmpuint(ps.delta_bytes, ==, s.deltas * DELTA_BYTES);

    /* the final round fits, as predicted */
    g_assert_cmpuint(s.final_bytes, <=, HOTCOLD_THRESHOLD);
    check_memory(&s);
    g_test_message("switched over after %u rounds; final round %"
                   G_GUINT64_FORMAT " pages, %" G_GUINT64_FORMAT " deltas, %"
                   G_GUINT64_FORMAT " bytes", s.rounds + 1, s.final_sent,
                   s.final_deltas, s.final_bytes);
    sim_free(&s);
}

/*
 * The same guest with the defer budget at 0: nothing may be deferred, so
 * the 350 pages dirty after each round never fit and the migration does
 * not switch over (stock pre-copy's fate on this guest).
 */
static void test_hotcold_no_budget(void)
{
    Sim s;
    PredlogPlanStats ps;

    sim_init(&s, &hotcold, HOTCOLD_THRESHOLD, 0);
    sim_migrate(&s);
    predlog_plan_stats(s.plan, &ps);
    g_assert_false(s.switched);
    g_assert_cmpuint(s.max_deferred, ==, 0);
    g_assert_cmpuint(ps.hot_pages, ==, 0);
    g_assert_cmpuint(ps.deferred_seen, ==, 0);
    sim_free(&s);
}

/*
 * A budget too small for the hot set: at most the budget is deferred, and
 * since the rest of the hot set is resent every round the final round
 * never fits: no switchover, however long it runs.
 */
static void test_budget_too_small(void)
{
    Sim s;
    PredlogPlanStats ps;

    sim_init(&s, &hotcold, HOTCOLD_THRESHOLD, 50);
    s.lim.cache_pages = 40;     /* a small cache holds 40 bases */
    sim_migrate(&s);
    predlog_plan_stats(s.plan, &ps);
    g_assert_false(s.switched);
    g_assert_cmpuint(s.max_deferred, >, 0);
    g_assert_cmpuint(s.max_deferred, <=, 40);
    g_assert_cmpuint(ps.budget_pages, ==, 40);
    sim_free(&s);
}

/*
 * More fresh cold pages per period (400) than the threshold holds (200):
 * whatever is deferred, the final round would not fit, so the decision
 * must never say it does.
 */
static void test_never_fits(void)
{
    static const Pattern heavy = {
        .npages = 8192, .hot_first = 4000, .hot_count = 200,
        .cold_per_period = 400,
    };
    Sim s;

    sim_init(&s, &heavy, HOTCOLD_THRESHOLD, 50);
    sim_migrate(&s);
    g_assert_false(s.switched);
    g_assert_cmpuint(s.max_deferred, >, 0);
    sim_free(&s);
}

/*
 * A guest that writes nothing but its hot set: after the first round
 * only hot pages are dirty; switchover waits until they have bases and
 * then sends them all as deltas.
 */
static void test_hot_only(void)
{
    static const Pattern hot_only = {
        .npages = 2048, .hot_first = 64, .hot_count = 320,
        .cold_per_period = 0,
    };
    Sim s;
    PredlogPlanStats ps;

    sim_init(&s, &hot_only, HOTCOLD_THRESHOLD, 50);
    sim_migrate(&s);
    predlog_plan_stats(s.plan, &ps);
    g_assert_true(s.switched);
    g_assert_cmpuint(s.final_sent, ==, hot_only.hot_count);
    g_assert_cmpuint(s.final_deltas, ==, hot_only.hot_count);
    g_assert_cmpuint(ps.prelogged, ==, hot_only.hot_count);
    check_memory(&s);
    sim_free(&s);
}

/* A plain find-next-bit: what stock's search returns. */
static uint64_t naive_next(const unsigned long *map, uint64_t size,
                           uint64_t start)
{
    while (start < size && !bit(map, start)) {
        start++;
    }
    return MIN(start, size);
}

/*
 * The search on random bitmaps, block offsets and sizes: with no hot set
 * it is find-next-bit; with one it is find-next-bit over dirty and not
 * (hot and cached), except in the final round.
 */
static void test_find_next_random(void)
{
    enum { NPAGES = 1024, BLOCK = 320 };
    GRand *rand = g_rand_new_with_seed(20261202);
    PredlogPlan *p = predlog_plan_new(NPAGES, DEPTH, HOT_THRESHOLD, PAGE, HDR);
    unsigned long bmap[BLOCK / BPL + 1], history[NPAGES / BPL];
    unsigned long want[BLOCK / BPL + 1];
    PredlogPlanLimits lim = { 1ull << 30, 100, NPAGES };
    uint64_t first = 128;       /* the block starts at global page 128 */

    g_assert_nonnull(p);
    /* nothing hot yet: the search is find-next-bit, final round or not */
    for (unsigned iter = 0; iter < 200; iter++) {
        uint64_t size = g_rand_int_range(rand, 1, BLOCK + 1);
        uint64_t start = g_rand_int_range(rand, 0, size + 2);

        for (unsigned w = 0; w < G_N_ELEMENTS(bmap); w++) {
            bmap[w] = ((unsigned long)g_rand_int(rand) << 32) ^
                      g_rand_int(rand);
            bmap[w] &= g_rand_boolean(rand) ? ~0UL : 0x0101010101010101UL;
        }
        g_assert_cmpuint(predlog_plan_find_next(p, first, bmap, size, start,
                                                false), ==,
                         naive_next(bmap, size, start));
    }

    /* make pages hot: every other page of the block, dirty each period */
    memset(history, 0, sizeof(history));
    for (uint64_t i = 0; i < BLOCK; i += 2) {
        set_bit1(history, first + i);
    }
    for (unsigned period = 0; period < DEPTH + 2; period++) {
        predlog_plan_observe(p, 0, history, NPAGES);
        predlog_plan_end_period(p, 1.0, &lim, true);
    }
    for (uint64_t i = 0; i < BLOCK; i++) {
        g_assert_cmpint(predlog_plan_page_is_hot(p, first + i), ==,
                        i % 2 == 0);
        /* a base for every third page */
        if (i % 3 == 0) {
            predlog_plan_note_cached(p, first + i);
        }
    }
    for (unsigned iter = 0; iter < 500; iter++) {
        uint64_t size = g_rand_int_range(rand, 1, BLOCK + 1);
        uint64_t start = g_rand_int_range(rand, 0, size + 2);
        bool final_round = g_rand_boolean(rand);

        for (unsigned w = 0; w < G_N_ELEMENTS(bmap); w++) {
            bmap[w] = ((unsigned long)g_rand_int(rand) << 32) ^
                      g_rand_int(rand);
            want[w] = bmap[w];
        }
        for (uint64_t i = 0; i < BLOCK && !final_round; i++) {
            if (i % 6 == 0) {   /* hot (even) and cached (multiple of 3) */
                clear_bit1(want, i);
            }
        }
        g_assert_cmpuint(predlog_plan_find_next(p, first, bmap, size, start,
                                                final_round), ==,
                         naive_next(want, size, start));
    }
    predlog_plan_free(p);
    g_rand_free(rand);
}

static void test_edges(void)
{
    PredlogPlan *p;
    PredlogPlanStats ps;
    unsigned long map[2] = { ~0UL, ~0UL };
    PredlogPlanLimits lim = { 1ull << 30, 100, 1000 };

    g_assert_null(predlog_plan_new(0, DEPTH, HOT_THRESHOLD, PAGE, HDR));
    g_assert_null(predlog_plan_new(64, 0, HOT_THRESHOLD, PAGE, HDR));
    g_assert_null(predlog_plan_new(64, DEPTH, 0, PAGE, HDR));
    g_assert_null(predlog_plan_new(64, DEPTH, HOT_THRESHOLD, 0, HDR));
    predlog_plan_free(NULL);
    predlog_plan_stats(NULL, &ps);
    g_assert_cmpuint(ps.hot_pages, ==, 0);
    g_assert_cmpuint(predlog_plan_final_bytes(NULL, 5), ==, 0);

    p = predlog_plan_new(128, DEPTH, HOT_THRESHOLD, PAGE, HDR);
    g_assert_nonnull(p);
    g_assert_cmpuint(predlog_plan_npages(p), ==, 128);
    /* blocks must start on a word and fit */
    g_assert_true(predlog_plan_covers(p, 0, 128));
    g_assert_true(predlog_plan_covers(p, 64, 64));
    g_assert_false(predlog_plan_covers(p, 64, 65));
    g_assert_false(predlog_plan_covers(p, 1, 10));
    g_assert_false(predlog_plan_covers(p, 192, 0));
    g_assert_false(predlog_plan_covers(NULL, 0, 1));
    /* a block the plan does not cover is searched as stock does */
    g_assert_cmpuint(predlog_plan_find_next(p, 1, map, 100, 5, false), ==, 5);
    g_assert_cmpuint(predlog_plan_count_deferred(p, 1, map, 100), ==, 0);
    /* a start at or past the end finds nothing */
    g_assert_cmpuint(predlog_plan_find_next(p, 0, map, 100, 100, false), ==,
                     100);
    g_assert_cmpuint(predlog_plan_find_next(p, 0, map, 100, 1000, false), ==,
                     100);
    /* pages out of range are neither hot nor recorded */
    g_assert_false(predlog_plan_page_is_hot(p, 128));
    g_assert_false(predlog_plan_note_cached(p, 1u << 20));
    predlog_plan_note_delta(p, 1u << 20, 10);
    predlog_plan_note_full(p, 1u << 20);

    /* all 128 pages hot and cached: a block's tail bits are not counted */
    for (unsigned i = 0; i < DEPTH + 2; i++) {
        predlog_plan_observe(p, 0, map, 128);
        predlog_plan_end_period(p, 1.0, &lim, true);
    }
    predlog_plan_stats(p, &ps);
    g_assert_cmpuint(ps.hot_pages, ==, 128);
    for (unsigned i = 0; i < 128; i++) {
        g_assert_true(predlog_plan_note_cached(p, i));
        g_assert_false(predlog_plan_note_cached(p, i));  /* only once */
    }
    g_assert_cmpuint(predlog_plan_count_deferred(p, 0, map, 100), ==, 100);
    g_assert_cmpuint(predlog_plan_count_deferred(p, 64, map, 3), ==, 3);
    /* everything deferred: nothing to send but in the final round */
    g_assert_cmpuint(predlog_plan_find_next(p, 0, map, 100, 0, false), ==,
                     100);
    g_assert_cmpuint(predlog_plan_find_next(p, 0, map, 100, 7, true), ==, 7);
    /* a new cache has no bases: nothing is deferred any more */
    predlog_plan_cache_emptied(p);
    g_assert_cmpuint(predlog_plan_count_deferred(p, 0, map, 100), ==, 0);
    g_assert_cmpuint(predlog_plan_find_next(p, 0, map, 100, 9, false), ==, 9);

    /* deferred is capped by dirty; the price follows the learned delta */
    predlog_plan_synced(p, 10, 50);
    predlog_plan_stats(p, &ps);
    g_assert_cmpuint(ps.deferred_dirty, ==, 10);
    g_assert_cmpuint(predlog_plan_final_bytes(p, 10), ==, 10 * (PAGE + HDR));
    predlog_plan_note_delta_estimate(p, 89);
    g_assert_cmpuint(predlog_plan_final_bytes(p, 10), ==, 10 * (89 + HDR));
    g_assert_cmpuint(predlog_plan_final_bytes(p, 12), ==,
                     10 * (89 + HDR) + 2 * PAGE);

    /*
     * Deltas sampled unchanged since their base cost nothing now, but a
     * hot page will change: the budget prices each at a delta header
     * (1000 bytes at 100% / 11 = 90 pages), not at 0 (no budget at all).
     */
    for (unsigned i = 0; i < 50; i++) {
        predlog_plan_note_delta_estimate(p, 0);
    }
    lim.threshold_bytes = 1000;
    predlog_plan_observe(p, 0, map, 128);
    predlog_plan_end_period(p, 1.0, &lim, true);
    predlog_plan_stats(p, &ps);
    g_assert_cmpuint(ps.budget_pages, ==, 1000 / HDR);
    g_assert_cmpuint(ps.hot_pages, ==, 1000 / HDR);
    predlog_plan_free(p);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/predlog-plan/migration/hotcold",
                    test_hotcold_migration);
    g_test_add_func("/predlog-plan/migration/no-budget",
                    test_hotcold_no_budget);
    g_test_add_func("/predlog-plan/migration/budget-too-small",
                    test_budget_too_small);
    g_test_add_func("/predlog-plan/migration/never-fits", test_never_fits);
    g_test_add_func("/predlog-plan/migration/hot-only", test_hot_only);
    g_test_add_func("/predlog-plan/find-next/random", test_find_next_random);
    g_test_add_func("/predlog-plan/edges", test_edges);
    return g_test_run();
}
