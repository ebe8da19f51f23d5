/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog dirty-page history (migration/predlog/history.c)
 *
 * Small hand-computed cases pin the bitmap handling (partial words,
 * unaligned first page, bits beyond npages), the history shift and depth
 * masking, the learned table (counts, decay 0.8, Beta(1,1) prior) and
 * final_set's arithmetic.  Synthetic workloads then check what the
 * predictor is for: a stable hot set is learned and chosen exactly under
 * a budget, with a high hit rate; a moving one is followed within a few
 * periods; a constant dirty rate is forecast.  Every history is checked
 * against a per-page reference model kept by the test.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "migration/predlog/history.h"

#define BPL     (sizeof(unsigned long) * CHAR_BIT)
/* Tolerances, spelled so that checkpatch does not read 1e-9 as 1e - 9. */
#define EPS     (1 / 1e9)
#define TOL_6   (1 / 1e6)

static unsigned long *bitmap_new(uint64_t nbits)
{
    return g_new0(unsigned long, (nbits + BPL - 1) / BPL);
}

static bool test_bit(const unsigned long *bm, uint64_t i)
{
    return (bm[i / BPL] >> (i % BPL)) & 1;
}

static void set_bit(unsigned long *bm, uint64_t i)
{
    bm[i / BPL] |= 1UL << (i % BPL);
}

static uint64_t count_bits(const unsigned long *bm, uint64_t nbits)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < nbits; i++) {
        n += test_bit(bm, i);
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static void test_new_args(void)
{
    PredlogHistory *h;

    g_assert_null(predlog_history_new(0, 4, 0.5));
    g_assert_null(predlog_history_new(10, 0, 0.5));
    g_assert_null(predlog_history_new(10, 9, 0.5));
    g_assert_null(predlog_history_new(10, 4, 0));
    g_assert_null(predlog_history_new(10, 4, -0.1));
    g_assert_null(predlog_history_new(10, 4, 1.01));
    g_assert_null(predlog_history_new(10, 4, NAN));
    g_assert_null(predlog_history_new(UINT64_MAX, 4, 0.5));

    h = predlog_history_new(10, 8, 1.0);
    g_assert_nonnull(h);
    g_assert_cmpuint(predlog_history_npages(h), ==, 10);
    g_assert_cmpuint(predlog_history_depth(h), ==, 8);
    /* the prior alone: Beta(1,1) has mean 1/2 */
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 3), 0.5,
                                   EPS);
    g_assert_cmpfloat(predlog_history_probability(h, 10), ==, 0);
    g_assert_cmpuint(predlog_history_pattern(h, 10), ==, 0);
    predlog_history_free(h);
    predlog_history_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Observation                                                         */
/* ------------------------------------------------------------------ */

/* After one period, pattern bit 0 says exactly what was observed. */
static void check_observed(PredlogHistory *h, const bool *want)
{
    predlog_history_end_period(h, 1);
    for (uint64_t p = 0; p < predlog_history_npages(h); p++) {
        g_assert_cmpuint(predlog_history_pattern(h, p), ==, want[p] ? 1 : 0);
    }
}

static void test_observe_aligned_partial(void)
{
    const uint64_t n = 3 * BPL + 5;
    PredlogHistory *h = predlog_history_new(n, 4, 0.5);
    unsigned long *src = bitmap_new(2 * BPL);
    bool *want = g_new0(bool, n);
    PredlogHistoryStats st;

    /* every bit of two words set, only BPL + 3 of them given */
    memset(src, 0xff, 2 * sizeof(unsigned long));
    predlog_history_observe(h, BPL, src, BPL + 3);
    for (uint64_t p = BPL; p < 2 * BPL + 3; p++) {
        want[p] = true;
    }
    check_observed(h, want);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.dirty_last, ==, BPL + 3);
    g_free(src);
    g_free(want);
    predlog_history_free(h);
}

static void test_observe_unaligned(void)
{
    const uint64_t n = 4 * BPL;
    PredlogHistory *h = predlog_history_new(n, 4, 0.5);
    unsigned long *src = bitmap_new(3 * BPL);
    bool *want = g_new0(bool, n);
    const uint64_t first = 7, nbits = 2 * BPL + 11;
    uint64_t marked = 0;

    /* a pattern that differs in every word: bits 0, 1, every 3rd, last */
    for (uint64_t i = 0; i < 3 * BPL; i++) {
        if (i < 2 || i % 3 == 0 || i == nbits - 1 || i >= nbits) {
            set_bit(src, i);
            if (i < nbits) {
                want[first + i] = true;
                marked++;
            }
        }
    }
    predlog_history_observe(h, first, src, nbits);
    /* several calls per period are ORed */
    predlog_history_observe(h, first, src, nbits);
    predlog_history_observe(h, 3 * BPL + 1, src, 1);
    want[3 * BPL + 1] = true;
    marked++;
    check_observed(h, want);
    {
        PredlogHistoryStats st;

        predlog_history_stats(h, &st);
        g_assert_cmpuint(st.dirty_last, ==, marked);
    }

    /* a first page in the last word, source bits crossing no word */
    memset(want, 0, n * sizeof(bool));
    memset(src, 0, 3 * sizeof(unsigned long));
    set_bit(src, 0);
    set_bit(src, 2);
    predlog_history_observe(h, n - 3, src, 3);
    want[n - 3] = want[n - 1] = true;
    predlog_history_end_period(h, 1);
    for (uint64_t p = 0; p < n; p++) {
        g_assert_cmpuint(predlog_history_pattern(h, p) & 1, ==, want[p]);
    }
    g_free(src);
    g_free(want);
    predlog_history_free(h);
}

static void test_observe_beyond(void)
{
    const uint64_t n = BPL + 10;
    PredlogHistory *h = predlog_history_new(n, 4, 0.5);
    unsigned long *src = bitmap_new(4 * BPL);
    bool *want = g_new0(bool, n);
    PredlogHistoryStats st;

    memset(src, 0xff, 4 * sizeof(unsigned long));
    /* from page 5, 4 words of bits: only pages 5..n-1 exist */
    predlog_history_observe(h, 5, src, 4 * BPL);
    /* entirely beyond npages, and an empty call: nothing */
    predlog_history_observe(h, n, src, 4 * BPL);
    predlog_history_observe(h, UINT64_MAX, src, UINT64_MAX);
    predlog_history_observe(h, 0, src, 0);
    predlog_history_observe(h, 0, NULL, 10);
    for (uint64_t p = 5; p < n; p++) {
        want[p] = true;
    }
    check_observed(h, want);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.dirty_last, ==, n - 5);

    /* the last word's pages beyond npages never show up anywhere */
    predlog_history_observe(h, 0, src, UINT64_MAX);
    predlog_history_end_period(h, 1);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.dirty_last, ==, n);
    g_free(src);
    g_free(want);
    predlog_history_free(h);
}

/* Any first page and length, against a reference. */
static void test_observe_random(void)
{
    const uint64_t n = 5 * BPL + 13;
    PredlogHistory *h = predlog_history_new(n, 1, 0.5);
    unsigned long *src = bitmap_new(5 * BPL);
    bool *want = g_new0(bool, n);
    GRand *r = g_rand_new_with_seed(99);

    for (unsigned trial = 0; trial < 500; trial++) {
        unsigned calls = g_rand_int_range(r, 1, 4);

        memset(want, 0, n * sizeof(bool));
        for (unsigned c = 0; c < calls; c++) {
            uint64_t first = g_rand_int_range(r, 0, n + 5);
            uint64_t nbits = g_rand_int_range(r, 0, 4 * BPL + 1);

            for (uint64_t i = 0; i < 5 * BPL; i++) {
                bool b = g_rand_int_range(r, 0, 4) == 0;

                src[i / BPL] &= ~(1UL << (i % BPL));
                if (b) {
                    set_bit(src, i);
                    if (i < nbits && first + i < n) {
                        want[first + i] = true;
                    }
                }
            }
            predlog_history_observe(h, first, src, nbits);
        }
        check_observed(h, want);
    }
    g_rand_free(r);
    g_free(src);
    g_free(want);
    predlog_history_free(h);
}

static void test_observe_range(void)
{
    const uint64_t n = 5 * BPL + 3;
    static const uint64_t runs[][2] = {
        { 0, 1 }, { 3, 4 }, { BPL - 2, 5 }, { 2 * BPL, BPL },
        { 3 * BPL + 1, 2 * BPL }, { 9, 0 }, { 5 * BPL, 100 },
        { 5 * BPL + 2, UINT64_MAX }, { 5 * BPL + 3, 1 },
    };

    for (unsigned r = 0; r < G_N_ELEMENTS(runs); r++) {
        PredlogHistory *h = predlog_history_new(n, 2, 0.5);
        bool *want = g_new0(bool, n);

        predlog_history_observe_range(h, runs[r][0], runs[r][1]);
        for (uint64_t p = runs[r][0]; p < n && p - runs[r][0] < runs[r][1];
             p++) {
            want[p] = true;
        }
        check_observed(h, want);
        g_free(want);
        predlog_history_free(h);
    }
}

/* ------------------------------------------------------------------ */
/* History and learning                                                */
/* ------------------------------------------------------------------ */

static void test_shift_and_depth(void)
{
    for (unsigned depth = 1; depth <= 8; depth++) {
        PredlogHistory *h = predlog_history_new(3, depth, 0.5);
        unsigned mask = (1u << depth) - 1;
        unsigned ref0 = 0, ref2 = 0;

        /* page 0 dirty every 3rd period, page 2 every period */
        for (unsigned t = 0; t < 20; t++) {
            bool d0 = t % 3 == 0;

            if (d0) {
                predlog_history_observe_range(h, 0, 1);
            }
            predlog_history_observe_range(h, 2, 1);
            predlog_history_end_period(h, 1);
            ref0 = ((ref0 << 1) | d0) & mask;
            ref2 = ((ref2 << 1) | 1) & mask;
            g_assert_cmpuint(predlog_history_pattern(h, 0), ==, ref0);
            g_assert_cmpuint(predlog_history_pattern(h, 1), ==, 0);
            g_assert_cmpuint(predlog_history_pattern(h, 2), ==, ref2);
        }
        predlog_history_free(h);
    }
}

/*
 * Back-off, by hand: 8 pages, depth 3.  Before any period every pattern
 * has the prior.  Period 1: pages 0-3 dirty; pattern 0 seen 8, again 4.
 * Period 2: pages 0-1 dirty; pattern 1 (pages 0-3) seen 4, again 2;
 * pattern 0 (pages 4-7) seen 4, again 0; decayed seen0 = 10.4, again0 =
 * 3.2.  Pages 0-1 now have pattern 3 (binary 11), never seen: its most
 * recent period (low bit 1) is pattern 1's, p = (2 + 1) / (4 + 2).
 * Pages 2-3 have pattern 2 (10), never seen: low bit 0 is pattern 0's
 * alone, p = (3.2 + 1) / (10.4 + 2), as for pages 4-7 (pattern 0).
 */
static void test_learning_backoff(void)
{
    PredlogHistory *h = predlog_history_new(8, 3, 0.5);
    unsigned long hot[1] = { 0 };

    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 0), 0.5,
                                   EPS);
    predlog_history_observe_range(h, 0, 4);
    predlog_history_end_period(h, 1);
    predlog_history_observe_range(h, 0, 2);
    predlog_history_end_period(h, 1);
    g_assert_cmpuint(predlog_history_pattern(h, 0), ==, 3);
    g_assert_cmpuint(predlog_history_pattern(h, 2), ==, 2);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 0),
                                   3.0 / 6, EPS);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 2),
                                   4.2 / 12.4, EPS);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 7),
                                   4.2 / 12.4, EPS);
    /* pages 0-1 (p 0.5) are hot at threshold 0.5; pages 2-3 are not */
    g_assert_cmpuint(predlog_history_select_hot(h, hot, 0.5, 8), ==, 2);
    g_assert_cmphex(hot[0], ==, 0x3);
    predlog_history_free(h);
}

/*
 * The table, by hand: 10 pages, depth 1.  Period 1: pages 0-3 dirty.
 * Samples: pattern 0 seen 10, again 4.  Period 2: pages 0-1 dirty.
 * Pattern 1 (pages 0-3) seen 4 again 2; pattern 0 (pages 4-9) seen 6,
 * again 0; decayed: seen0 = 0.8 * 10 + 6 = 14, again0 = 0.8 * 4 = 3.2.
 */
static void test_learning_by_hand(void)
{
    PredlogHistory *h = predlog_history_new(10, 1, 0.5);

    predlog_history_observe_range(h, 0, 4);
    predlog_history_end_period(h, 1);
    /*
     * p(0) = (4 + 1) / (10 + 2); pattern 1 was never seen, so it backs
     * off to every pattern, which is pattern 0 alone: the same
     */
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 9),
                                   5.0 / 12, EPS);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 0),
                                   5.0 / 12, EPS);

    predlog_history_observe_range(h, 0, 2);
    predlog_history_end_period(h, 1);
    /* pages 0-1: pattern 1, p = (2 + 1) / (4 + 2) */
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 0),
                                   3.0 / 6, EPS);
    /* pages 2-9: pattern 0, p = (3.2 + 1) / (14 + 2) */
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 2),
                                   4.2 / 16, EPS);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 9),
                                   4.2 / 16, EPS);

    /* within k periods: 1 - (1 - p)^k */
    g_assert_cmpfloat_with_epsilon(
        predlog_history_probability_within(h, 2, 3),
        1 - pow(1 - 4.2 / 16, 3), EPS);
    g_assert_cmpfloat_with_epsilon(
        predlog_history_probability_within(h, 2, 1),
        predlog_history_probability(h, 2), EPS);
    g_assert_cmpfloat(predlog_history_probability_within(h, 2, 0), ==, 0);
    g_assert_cmpfloat(predlog_history_probability_within(h, 2, -1), ==, 0);
    g_assert_cmpfloat(predlog_history_probability_within(h, 2, NAN), ==, 0);
    g_assert_cmpfloat(predlog_history_probability_within(h, 10, 3), ==, 0);
    predlog_history_free(h);
}

/*
 * Decay by hand: depth 1, 10 pages.  Period 1: pages 0-4 dirty (pattern 0:
 * seen 10, again 5).  Period 2: none (pattern 1: seen 5, again 0; pattern
 * 0: seen 5, again 0).  Period 3: pages 0-4 (pattern 0: seen 10, again 5).
 * seen0 = 0.8 (0.8 * 10 + 5) + 10 = 20.4, again0 = 0.8 (0.8 * 5) + 5 = 8.2;
 * seen1 = 0.8 * 5 = 4, again1 = 0.
 */
static void test_decay_by_hand(void)
{
    PredlogHistory *h = predlog_history_new(10, 1, 0.5);

    predlog_history_observe_range(h, 0, 5);
    predlog_history_end_period(h, 1);
    predlog_history_end_period(h, 1);
    predlog_history_observe_range(h, 0, 5);
    predlog_history_end_period(h, 1);
    g_assert_cmpuint(predlog_history_pattern(h, 0), ==, 1);
    g_assert_cmpuint(predlog_history_pattern(h, 5), ==, 0);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 0),
                                   1.0 / 6, EPS);
    g_assert_cmpfloat_with_epsilon(predlog_history_probability(h, 5),
                                   9.2 / 22.4, EPS);
    predlog_history_free(h);
}

/*
 * Decay lets the table change its mind: 30 periods in which "dirty last
 * period" always meant "dirty again", then pages dirtied every other
 * period, for which it never does.  Without decay p(1) would stay above
 * 0.5 for about 30 more periods; with 0.8 it falls below within 6.
 */
static void test_decay_regime_change(void)
{
    PredlogHistory *h = predlog_history_new(100, 1, 0.5);

    for (unsigned t = 0; t < 30; t++) {
        predlog_history_observe_range(h, 0, 10);
        predlog_history_end_period(h, 1);
    }
    g_assert_cmpfloat(predlog_history_probability(h, 0), >, 0.95);
    for (unsigned t = 1; t <= 6; t++) {
        if (t % 2 == 0) {
            predlog_history_observe_range(h, 0, 10);
        }
        predlog_history_end_period(h, 1);
    }
    g_assert_cmpuint(predlog_history_pattern(h, 0), ==, 1);
    g_assert_cmpfloat(predlog_history_probability(h, 0), <, 0.5);
    predlog_history_free(h);
}

/*
 * The reference's P(dirty | @q): the pattern's own counts when it was
 * seen, else those of every pattern sharing its longest run of low bits
 * that some seen pattern has, else the prior.
 */
static double ref_probability(const double *seen, const double *again,
                              unsigned depth, unsigned q)
{
    for (int k = depth; k >= 0; k--) {
        unsigned m = (1u << k) - 1;
        double s = 0, a = 0;

        for (unsigned p = 0; p < (1u << depth); p++) {
            if ((p & m) == (q & m)) {
                s += seen[p];
                a += again[p];
            }
        }
        if (s > 0) {
            return (a + 1) / (s + 2);
        }
    }
    return 0.5;
}

/*
 * The learning rule against a reference: random groups of pages with
 * different dirty rates, depth 3; the test keeps every page's pattern and
 * the decayed counts itself and compares every page's probability.
 */
static void test_learning_reference(void)
{
    const uint64_t n = 40 * BPL + 17;
    const unsigned depth = 3, mask = 7;
    PredlogHistory *h = predlog_history_new(n, depth, 0.5);
    unsigned long *dirty = bitmap_new(n);
    uint8_t *ref = g_new0(uint8_t, n);
    double seen[8] = { 0 }, again[8] = { 0 };
    GRand *r = g_rand_new_with_seed(5);

    for (unsigned t = 0; t < 60; t++) {
        double s_now[8] = { 0 }, a_now[8] = { 0 };

        memset(dirty, 0, (n + BPL - 1) / BPL * sizeof(unsigned long));
        for (uint64_t p = 0; p < n; p++) {
            /*
             * rate by group of 48 pages: 0, 0.1, ..., 0.9, 1, changing
             * every 4 periods, so that whole words fall quiet for longer
             * than the depth and wake up again
             */
            double rate = (double)((p / 48 + t / 4) % 11) / 10;
            bool d = g_rand_double(r) < rate;

            if (d) {
                set_bit(dirty, p);
            }
            s_now[ref[p]] += 1;
            a_now[ref[p]] += d;
            ref[p] = ((ref[p] << 1) | d) & mask;
        }
        for (unsigned q = 0; q <= mask; q++) {
            seen[q] = 0.8 * seen[q] + s_now[q];
            again[q] = 0.8 * again[q] + a_now[q];
        }
        predlog_history_observe(h, 0, dirty, n);
        predlog_history_end_period(h, 1);
        for (uint64_t p = 0; p < n; p++) {
            g_assert_cmpuint(predlog_history_pattern(h, p), ==, ref[p]);
            g_assert_cmpfloat_with_epsilon(
                predlog_history_probability(h, p),
                ref_probability(seen, again, depth, ref[p]), EPS);
        }
    }
    g_rand_free(r);
    g_free(ref);
    g_free(dirty);
    predlog_history_free(h);
}

/* ------------------------------------------------------------------ */
/* Synthetic workloads                                                 */
/* ------------------------------------------------------------------ */

/*
 * A workload: hot pages are dirtied every period, every other page with
 * probability cold_p.  The test keeps its own history of every page and
 * checks the library's against it after every period.
 */
typedef struct Sim {
    PredlogHistory *h;
    uint64_t n;
    unsigned depth;
    bool *is_hot;
    uint8_t *ref;
    unsigned long *dirty;
    GRand *rand;
    double cold_p;
} Sim;

static void sim_init(Sim *s, uint64_t n, unsigned depth, double thr,
                     double cold_p, uint32_t seed)
{
    memset(s, 0, sizeof(*s));
    s->h = predlog_history_new(n, depth, thr);
    g_assert_nonnull(s->h);
    s->n = n;
    s->depth = depth;
    s->is_hot = g_new0(bool, n);
    s->ref = g_new0(uint8_t, n);
    s->dirty = bitmap_new(n);
    s->rand = g_rand_new_with_seed(seed);
    s->cold_p = cold_p;
}

static void sim_free(Sim *s)
{
    predlog_history_free(s->h);
    g_free(s->is_hot);
    g_free(s->ref);
    g_free(s->dirty);
    g_rand_free(s->rand);
}

/* Hot: pages [first, first + count), and nothing else. */
static void sim_hot(Sim *s, uint64_t first, uint64_t count)
{
    for (uint64_t p = 0; p < s->n; p++) {
        s->is_hot[p] = p >= first && p < first + count;
    }
}

/* One period; returns the pages dirtied. */
static uint64_t sim_period(Sim *s)
{
    uint64_t nwords = (s->n + BPL - 1) / BPL, dirtied = 0;
    unsigned mask = (1u << s->depth) - 1;

    memset(s->dirty, 0, nwords * sizeof(unsigned long));
    for (uint64_t p = 0; p < s->n; p++) {
        bool d = s->is_hot[p] || g_rand_double(s->rand) < s->cold_p;

        if (d) {
            set_bit(s->dirty, p);
            dirtied++;
        }
        s->ref[p] = ((s->ref[p] << 1) | d) & mask;
    }
    /* in two calls, the way QEMU reports two RAMBlocks */
    predlog_history_observe(s->h, 0, s->dirty, 3 * BPL);
    predlog_history_observe(s->h, 3 * BPL, s->dirty + 3, s->n - 3 * BPL);
    predlog_history_end_period(s->h, 0.5);
    for (uint64_t p = 0; p < s->n; p++) {
        g_assert_cmpuint(predlog_history_pattern(s->h, p), ==, s->ref[p]);
    }
    return dirtied;
}

static unsigned popcount8(unsigned x)
{
    unsigned n = 0;

    for (; x; x &= x - 1) {
        n++;
    }
    return n;
}

/*
 * 10% of the pages dirtied every period, the others each with
 * probability 0.01.  Early on, "dirty in the last 1, 2, 3 periods" are
 * the hot pages' patterns too (the history is not full yet), and the
 * table remembers that with weight 0.8^age: cold pages in those patterns
 * look hot until it fades, about 10 periods.
 */
static void test_stable_hot_set(void)
{
    const uint64_t n = 20000, nhot = n / 10, first = 1234;
    unsigned long *hot = bitmap_new(n);
    PredlogHistoryStats st0, st;
    uint64_t chosen, cold_high = 0, d_pred, d_hits, d_re, d_re_hot;
    Sim s;

    sim_init(&s, n, 4, 0.9, 0.01, 42);
    sim_hot(&s, first, nhot);
    for (unsigned t = 0; t < 8; t++) {
        sim_period(&s);
    }
    for (uint64_t p = 0; p < n; p++) {
        if (s.is_hot[p]) {
            g_assert_cmpfloat(predlog_history_probability(s.h, p), >, 0.9);
        }
    }
    /* a budget the size of the hot set picks exactly the hot set */
    chosen = predlog_history_select_hot(s.h, hot, 0.5, nhot);
    g_assert_cmpuint(chosen, ==, nhot);
    for (uint64_t p = 0; p < n; p++) {
        g_assert_cmpuint(test_bit(hot, p), ==, s.is_hot[p]);
    }

    for (unsigned t = 0; t < 12; t++) {
        sim_period(&s);
    }
    for (uint64_t p = 0; p < n; p++) {
        double pr = predlog_history_probability(s.h, p);

        if (s.is_hot[p]) {
            g_assert_cmpfloat(pr, >, 0.9);
            continue;
        }
        /* dirty at most once in the window: cold, always */
        if (popcount8(predlog_history_pattern(s.h, p)) <= 1) {
            g_assert_cmpfloat(pr, <, 0.2);
        }
        cold_high += pr >= 0.2;
    }
    g_assert_cmpuint(cold_high, <=, n / 1000);
    /* with room to spare, only a few cold pages come along */
    chosen = predlog_history_select_hot(s.h, hot, 0.6, n);
    g_assert_cmpuint(chosen, >=, nhot);
    g_assert_cmpuint(chosen, <=, nhot + n / 1000);
    for (uint64_t p = first; p < first + nhot; p++) {
        g_assert_true(test_bit(hot, p));
    }

    /* hit rate and recall over the next periods */
    predlog_history_stats(s.h, &st0);
    g_assert_cmpuint(st0.hot_last, >=, nhot);
    g_assert_cmpuint(st0.hot_last, <=, nhot + n / 1000);
    for (unsigned t = 0; t < 4; t++) {
        sim_period(&s);
    }
    predlog_history_stats(s.h, &st);
    g_assert_cmpuint(st.periods, ==, 24);
    d_pred = st.predicted - st0.predicted;
    d_hits = st.hits - st0.hits;
    d_re = st.redirtied - st0.redirtied;
    d_re_hot = st.redirtied_hot - st0.redirtied_hot;
    g_assert_cmpuint(d_hits, >=, 4 * nhot);
    g_assert_cmpuint(d_pred, <=, 4 * (nhot + n / 1000));
    g_assert_cmpfloat((double)d_hits / d_pred, >, 0.9);
    g_assert_cmpfloat(st.hit_rate, >, 0.9);
    g_assert_cmpfloat(st.hit_rate, <=, 1.0);
    /* re-dirtied cold pages exist (0.01), so recall is high, not 1 */
    g_assert_cmpfloat((double)d_re_hot / d_re, >, 0.95);
    g_assert_cmpuint(d_re_hot, <, d_re);
    g_assert_cmpuint(st.redirtied_hot, <=, st.redirtied);
    g_assert_cmpfloat(st.dirty_rate, >=, nhot / 0.5);
    g_free(hot);
    sim_free(&s);
}

/* A smaller budget takes the lowest pages of the last pattern taken. */
static void test_budget_ties(void)
{
    const uint64_t n = 1000;
    unsigned long *hot = bitmap_new(n);
    uint64_t chosen;
    Sim s;

    sim_init(&s, n, 3, 0.9, 0, 7);
    sim_hot(&s, 100, 300);
    for (unsigned t = 0; t < 6; t++) {
        sim_period(&s);
    }
    chosen = predlog_history_select_hot(s.h, hot, 0.5, 120);
    g_assert_cmpuint(chosen, ==, 120);
    for (uint64_t p = 0; p < n; p++) {
        g_assert_cmpuint(test_bit(hot, p), ==, p >= 100 && p < 220);
    }

    /* budget 0, or min_p above every p, or NaN: nothing, bits cleared */
    memset(hot, 0xff, (n + BPL - 1) / BPL * sizeof(unsigned long));
    g_assert_cmpuint(predlog_history_select_hot(s.h, hot, 0.5, 0), ==, 0);
    g_assert_cmpuint(count_bits(hot, n), ==, 0);
    memset(hot, 0xff, (n + BPL - 1) / BPL * sizeof(unsigned long));
    g_assert_cmpuint(predlog_history_select_hot(s.h, hot, 1.0, n), ==, 0);
    g_assert_cmpuint(count_bits(hot, n), ==, 0);
    g_assert_cmpuint(predlog_history_select_hot(s.h, hot, NAN, n), ==, 0);

    /* min_p 0 takes every page, cold ones last, in page order */
    chosen = predlog_history_select_hot(s.h, hot, 0, 310);
    g_assert_cmpuint(chosen, ==, 310);
    for (uint64_t p = 0; p < n; p++) {
        g_assert_cmpuint(test_bit(hot, p), ==,
                         (p >= 100 && p < 400) || p < 10);
    }
    chosen = predlog_history_select_hot(s.h, hot, 0, UINT64_MAX);
    g_assert_cmpuint(chosen, ==, n);
    g_assert_cmpuint(count_bits(hot, n), ==, n);
    /* no bit beyond npages in the last word */
    if (n % BPL) {
        g_assert_cmpuint(hot[n / BPL] >> (n % BPL), ==, 0);
    }
    g_free(hot);
    sim_free(&s);
}

/* Patterns come out in order of probability, across several groups. */
static void test_select_order(void)
{
    const uint64_t n = 3000;
    unsigned long *hot = bitmap_new(n);
    Sim s;

    /* pages 0-999 dirtied each period; 1000-1999 each with p = 0.5 */
    sim_init(&s, n, 2, 0.9, 0, 3);
    sim_hot(&s, 0, 1000);
    for (unsigned t = 0; t < 10; t++) {
        uint64_t nwords = (n + BPL - 1) / BPL;

        /* sim_period with cold_p 0, plus the half-hot group by hand */
        memset(s.dirty, 0, nwords * sizeof(unsigned long));
        for (uint64_t p = 0; p < n; p++) {
            bool d = s.is_hot[p] ||
                     (p >= 1000 && p < 2000 && g_rand_boolean(s.rand));

            if (d) {
                set_bit(s.dirty, p);
            }
        }
        predlog_history_observe(s.h, 0, s.dirty, n);
        predlog_history_end_period(s.h, 1);
    }
    /* budget 1500: all of 0-999 first, then 500 of the others */
    g_assert_cmpuint(predlog_history_select_hot(s.h, hot, 0.2, 1500), ==,
                     1500);
    for (uint64_t p = 0; p < 1000; p++) {
        g_assert_true(test_bit(hot, p));
    }
    for (uint64_t p = 2000; p < n; p++) {
        g_assert_false(test_bit(hot, p));
    }
    /* and every page chosen has p >= every page not chosen */
    {
        double min_in = 1, max_out = 0;

        for (uint64_t p = 0; p < n; p++) {
            double pr = predlog_history_probability(s.h, p);

            if (test_bit(hot, p)) {
                min_in = MIN(min_in, pr);
            } else {
                max_out = MAX(max_out, pr);
            }
        }
        g_assert_cmpfloat(min_in, >=, max_out);
    }
    g_free(hot);
    sim_free(&s);
}

/*
 * The hot set moves.  A new hot page whose history holds a stray cold
 * dirty has a pattern the table has rarely seen (the prior, 0.5) until
 * the history is full of it, so "followed" means 97% of it chosen, and
 * all of it once the history is full.
 */
static void test_moving_hot_set(void)
{
    const uint64_t n = 10000, nhot = 1000;
    unsigned long *hot = bitmap_new(n);
    unsigned followed = 0;
    Sim s;

    sim_init(&s, n, 8, 0.9, 0.005, 11);
    sim_hot(&s, 0, nhot);
    for (unsigned t = 0; t < 12; t++) {
        sim_period(&s);
    }
    g_assert_cmpuint(predlog_history_select_hot(s.h, hot, 0.5, nhot), ==,
                     nhot);
    for (uint64_t p = 0; p < n; p++) {
        g_assert_cmpuint(test_bit(hot, p), ==, s.is_hot[p]);
    }

    /* the hot set moves to the other end of memory */
    sim_hot(&s, n - nhot, nhot);
    for (unsigned t = 1; t <= 10; t++) {
        uint64_t right = 0;

        sim_period(&s);
        g_assert_cmpuint(predlog_history_select_hot(s.h, hot, 0.5, nhot),
                         <=, nhot);
        for (uint64_t p = n - nhot; p < n; p++) {
            right += test_bit(hot, p);
        }
        if (right >= nhot * 97 / 100 && !followed) {
            followed = t;
        }
    }
    /* followed within a few periods */
    g_assert_cmpuint(followed, >=, 1);
    g_assert_cmpuint(followed, <=, 3);
    /* exactly, with a full history of it */
    for (uint64_t p = 0; p < n; p++) {
        g_assert_cmpuint(test_bit(hot, p), ==, s.is_hot[p]);
        if (s.is_hot[p]) {
            g_assert_cmpfloat(predlog_history_probability(s.h, p), >, 0.9);
        }
    }
    /* the old hot pages stopped being predicted hot */
    for (uint64_t p = 0; p < nhot; p++) {
        g_assert_cmpfloat(predlog_history_probability(s.h, p), <, 0.9);
    }
    g_free(hot);
    sim_free(&s);
}

/* Hit rate and recall by hand: depth 1, threshold 0.6. */
static void test_hit_rate_by_hand(void)
{
    PredlogHistory *h = predlog_history_new(10, 1, 0.6);
    PredlogHistoryStats st;

    /* 1: pages 0-4 dirty.  Nothing was predicted; first dirties only. */
    predlog_history_observe_range(h, 0, 5);
    predlog_history_end_period(h, 2);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.periods, ==, 1);
    g_assert_cmpuint(st.predicted, ==, 0);
    g_assert_cmpuint(st.redirtied, ==, 0);
    g_assert_cmpfloat(st.hit_rate, ==, 0);
    g_assert_cmpfloat(st.recall, ==, 0);
    g_assert_cmpuint(st.dirty_last, ==, 5);
    g_assert_cmpfloat_with_epsilon(st.dirty_rate, 2.5, EPS);
    /* p(1) = 0.5 (prior) < 0.6: none hot */
    g_assert_cmpuint(st.hot_last, ==, 0);

    /* 2: pages 0-3 and 9 dirty; then p(1) = 5/7, p(0) = 6/15 */
    predlog_history_observe_range(h, 0, 4);
    predlog_history_observe_range(h, 9, 1);
    predlog_history_end_period(h, 1);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.predicted, ==, 0);
    g_assert_cmpuint(st.redirtied, ==, 4);
    g_assert_cmpuint(st.redirtied_hot, ==, 0);
    g_assert_cmpuint(st.hot_last, ==, 5);       /* pages 0-3 and 9 */

    /* 3: pages 0, 1 and 5 dirty: 2 hits of 5 predicted */
    predlog_history_observe_range(h, 0, 2);
    predlog_history_observe_range(h, 5, 1);
    predlog_history_end_period(h, 1);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.predicted, ==, 5);
    g_assert_cmpuint(st.hits, ==, 2);
    g_assert_cmpuint(st.redirtied, ==, 6);
    g_assert_cmpuint(st.redirtied_hot, ==, 2);
    g_assert_cmpfloat_with_epsilon(st.hit_rate, 0.4, EPS);
    g_assert_cmpfloat_with_epsilon(st.recall, 2.0 / 6, EPS);
    predlog_history_free(h);
}

/* ------------------------------------------------------------------ */
/* Final set                                                           */
/* ------------------------------------------------------------------ */

static void test_final_set(void)
{
    const uint64_t n = 200;
    PredlogHistory *h = predlog_history_new(n, 1, 0.5);
    unsigned long *hot = bitmap_new(n);
    double p0, p1, want;

    /* before any period: every page has the prior 0.5 */
    g_assert_cmpfloat_with_epsilon(predlog_history_final_set(h, NULL, 0, 1),
                                   n * 0.5, EPS);
    g_assert_cmpfloat_with_epsilon(predlog_history_final_set(h, NULL, 0, 2),
                                   n * 0.75, EPS);

    /* pages 0-49 dirty twice: pattern 1 for 50 pages, 0 for 150 */
    for (unsigned t = 0; t < 2; t++) {
        predlog_history_observe_range(h, 0, 50);
        predlog_history_end_period(h, 1);
    }
    p1 = predlog_history_probability(h, 0);
    p0 = predlog_history_probability(h, 100);
    g_assert_cmpfloat(p1, >, p0);

    want = 7 + 50 * (1 - pow(1 - p1, 3)) + 150 * (1 - pow(1 - p0, 3));
    g_assert_cmpfloat_with_epsilon(predlog_history_final_set(h, NULL, 7, 3),
                                   want, TOL_6);

    /* deferring 30 of the 50 hot pages and 5 cold ones */
    for (uint64_t p = 0; p < 30; p++) {
        set_bit(hot, p);
    }
    for (uint64_t p = 100; p < 105; p++) {
        set_bit(hot, p);
    }
    want = 35 + 20 * (1 - pow(1 - p1, 3)) + 145 * (1 - pow(1 - p0, 3));
    g_assert_cmpfloat_with_epsilon(predlog_history_final_set(h, hot, 35, 3),
                                   want, TOL_6);
    /* no time left: only what is deferred */
    g_assert_cmpfloat(predlog_history_final_set(h, hot, 35, 0), ==, 35);
    g_assert_cmpfloat(predlog_history_final_set(h, hot, 35, NAN), ==, 35);
    /* bits the caller left beyond npages are not pages */
    if (n % BPL) {
        hot[n / BPL] |= ~0UL << (n % BPL);
        g_assert_cmpfloat_with_epsilon(
            predlog_history_final_set(h, hot, 35, 3), want, TOL_6);
    }
    /* every page deferred */
    memset(hot, 0xff, (n + BPL - 1) / BPL * sizeof(unsigned long));
    g_assert_cmpfloat(predlog_history_final_set(h, hot, n, 5), ==, n);
    g_free(hot);
    predlog_history_free(h);
}

/* ------------------------------------------------------------------ */
/* Rate forecast                                                       */
/* ------------------------------------------------------------------ */

static void test_rate_forecast(void)
{
    PredlogHistory *h = predlog_history_new(4096, 4, 0.9);
    PredlogHistoryStats st;

    /* 300 pages every 0.25 s: 1200 pages/s */
    for (unsigned t = 0; t < 40; t++) {
        predlog_history_observe_range(h, (t * 97) % 3000, 300);
        predlog_history_end_period(h, 0.25);
    }
    predlog_history_stats(h, &st);
    g_assert_cmpfloat_with_epsilon(st.dirty_rate, 1200, EPS);
    g_assert_cmpfloat_with_epsilon(st.dirty_rate_forecast, 1200, TOL_6);

    /* a period of unknown length closes, but leaves the rates alone */
    predlog_history_observe_range(h, 0, 10);
    predlog_history_end_period(h, 0);
    predlog_history_end_period(h, NAN);
    predlog_history_end_period(h, -1);
    predlog_history_stats(h, &st);
    g_assert_cmpuint(st.periods, ==, 43);
    g_assert_cmpuint(st.dirty_last, ==, 0);
    g_assert_cmpfloat_with_epsilon(st.dirty_rate, 1200, EPS);
    g_assert_cmpfloat_with_epsilon(st.dirty_rate_forecast, 1200, TOL_6);

    /* the rate steps up to 4000 pages/s: the forecast follows */
    for (unsigned t = 0; t < 30; t++) {
        predlog_history_observe_range(h, 0, 1000);
        predlog_history_end_period(h, 0.25);
    }
    predlog_history_stats(h, &st);
    g_assert_cmpfloat_with_epsilon(st.dirty_rate_forecast, 4000, 40);
    predlog_history_free(h);
}

/* NULL handles are harmless. */
static void test_null(void)
{
    PredlogHistoryStats st;
    unsigned long bm[1] = { ~0UL };

    predlog_history_observe(NULL, 0, bm, 1);
    predlog_history_observe_range(NULL, 0, 1);
    predlog_history_end_period(NULL, 1);
    g_assert_cmpuint(predlog_history_npages(NULL), ==, 0);
    g_assert_cmpfloat(predlog_history_probability(NULL, 0), ==, 0);
    g_assert_cmpuint(predlog_history_select_hot(NULL, bm, 0, 1), ==, 0);
    g_assert_cmpfloat(predlog_history_final_set(NULL, NULL, 3, 1), ==, 3);
    memset(&st, 0xff, sizeof(st));
    predlog_history_stats(NULL, &st);
    g_assert_cmpuint(st.periods, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/predlog-history/new-args", test_new_args);
    g_test_add_func("/predlog-history/observe/aligned-partial",
                    test_observe_aligned_partial);
    g_test_add_func("/predlog-history/observe/unaligned",
                    test_observe_unaligned);
    g_test_add_func("/predlog-history/observe/beyond", test_observe_beyond);
    g_test_add_func("/predlog-history/observe/random", test_observe_random);
    g_test_add_func("/predlog-history/observe/range", test_observe_range);
    g_test_add_func("/predlog-history/shift-and-depth", test_shift_and_depth);
    g_test_add_func("/predlog-history/learning-backoff",
                    test_learning_backoff);
    g_test_add_func("/predlog-history/learning-by-hand",
                    test_learning_by_hand);
    g_test_add_func("/predlog-history/decay/by-hand", test_decay_by_hand);
    g_test_add_func("/predlog-history/decay/regime-change",
                    test_decay_regime_change);
    g_test_add_func("/predlog-history/learning-reference",
                    test_learning_reference);
    g_test_add_func("/predlog-history/hit-rate-by-hand",
                    test_hit_rate_by_hand);
    g_test_add_func("/predlog-history/stable-hot-set", test_stable_hot_set);
    g_test_add_func("/predlog-history/budget-ties", test_budget_ties);
    g_test_add_func("/predlog-history/select-order", test_select_order);
    g_test_add_func("/predlog-history/moving-hot-set", test_moving_hot_set);
    g_test_add_func("/predlog-history/final-set", test_final_set);
    g_test_add_func("/predlog-history/rate-forecast", test_rate_forecast);
    g_test_add_func("/predlog-history/null", test_null);
    return g_test_run();
}
