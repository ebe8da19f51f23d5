/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog deferral policy (migration/predlog/policy.c)
 *
 * Hand-computed cases for the learned delta cost (EWMA alpha 0.2, whole
 * pages for misses, a delta never above a page), the deferral budget,
 * the final round's bytes and its downtime, then the edges: zero,
 * negative, NaN and infinite inputs, and results that would not fit.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <math.h>
#include <string.h>

#include "migration/predlog/policy.h"

/* Tolerances, spelled so that checkpatch does not read 1e-9 as 1e - 9. */
#define EPS     (1 / 1e9)
#define TOL_3   (1 / 1e3)
#define PAGE    4096u
#define HDR     8u
#define WHOLE   (PAGE + HDR)

static void test_delta_cost(void)
{
    PredlogDeltaCost c;
    double e;

    memset(&c, 0xaa, sizeof(c));
    predlog_delta_cost_init(&c, PAGE, HDR);
    g_assert_cmpuint(c.page_size, ==, PAGE);
    g_assert_cmpuint(c.header, ==, HDR);
    g_assert_cmpuint(c.samples, ==, 0);
    /* not learned yet: a whole page */
    g_assert_cmpfloat(predlog_delta_cost_expected(&c), ==, WHOLE);

    predlog_delta_cost_note(&c, 100);       /* the first sample seeds */
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), 100, EPS);
    predlog_delta_cost_note(&c, 200);
    e = 0.2 * 200 + 0.8 * 100;
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), e, EPS);
    predlog_delta_cost_note_full(&c);       /* a miss costs a whole page */
    e = 0.2 * WHOLE + 0.8 * e;
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), e, EPS);
    predlog_delta_cost_note(&c, 0);         /* unchanged: nothing sent */
    e = 0.8 * e;
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), e, EPS);
    predlog_delta_cost_note(&c, 100000);    /* never above a whole page */
    e = 0.2 * WHOLE + 0.8 * e;
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), e, EPS);
    g_assert_cmpuint(c.samples, ==, 5);
    g_assert_cmpfloat_with_epsilon(c.delta_ewma, e, EPS);

    /* it converges on what the deltas cost */
    for (unsigned i = 0; i < 100; i++) {
        predlog_delta_cost_note(&c, 300);
    }
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), 300, TOL_3);
    /* and back to whole pages when deltas stop fitting */
    for (unsigned i = 0; i < 100; i++) {
        predlog_delta_cost_note_full(&c);
    }
    g_assert_cmpfloat_with_epsilon(predlog_delta_cost_expected(&c), WHOLE,
                                   TOL_3);

    predlog_delta_cost_init(NULL, PAGE, HDR);
    predlog_delta_cost_note(NULL, 1);
    predlog_delta_cost_note_full(NULL);
    g_assert_cmpfloat(predlog_delta_cost_expected(NULL), ==, 0);
}

static void test_max_deferred(void)
{
    /* 1 MB budget, 50%: 500000 / 4104 = 121.8 */
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 50, WHOLE), ==,
                     121);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 100, WHOLE), ==,
                     243);
    /* deltas make room for more: 500000 / 300 */
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 50, 300), ==,
                     1666);
    g_assert_cmpuint(predlog_policy_max_deferred(1000, 100, 0.5), ==, 2000);
    /* exact: no rounding down below a whole result */
    g_assert_cmpuint(predlog_policy_max_deferred(4104 * 10, 100, WHOLE), ==,
                     10);
    g_assert_cmpuint(predlog_policy_max_deferred(4104 * 10 - 1, 100, WHOLE),
                     ==, 9);
    /* more than the whole budget counts as the whole budget */
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 150, WHOLE), ==,
                     243);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, UINT32_MAX, WHOLE),
                     ==, 243);

    /* zero or not finite: 0 */
    g_assert_cmpuint(predlog_policy_max_deferred(0, 50, WHOLE), ==, 0);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 0, WHOLE), ==, 0);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 50, 0), ==, 0);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 50, -4096), ==, 0);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 50, NAN), ==, 0);
    g_assert_cmpuint(predlog_policy_max_deferred(1000000, 50, INFINITY), ==,
                     0);
    /* too many to count: saturates */
    g_assert_cmpuint(predlog_policy_max_deferred(UINT64_MAX, 100, 1 / 1e10),
                     ==, UINT64_MAX);
    /* a budget smaller than one page: none */
    g_assert_cmpuint(predlog_policy_max_deferred(4000, 100, WHOLE), ==, 0);
}

static void test_final_bytes(void)
{
    /* 100 deltas at 300 bytes, 50 whole pages */
    g_assert_cmpuint(predlog_policy_final_bytes(100, 50, 300, PAGE, HDR), ==,
                     100 * 300 + 50 * WHOLE);
    /* a fractional expected cost rounds up: 3 * 1234.5 = 3703.5 */
    g_assert_cmpuint(predlog_policy_final_bytes(3, 0, 1234.5, PAGE, HDR), ==,
                     3704);
    g_assert_cmpuint(predlog_policy_final_bytes(0, 0, 300, PAGE, HDR), ==, 0);
    g_assert_cmpuint(predlog_policy_final_bytes(0, 7, 300, PAGE, HDR), ==,
                     7 * WHOLE);
    g_assert_cmpuint(predlog_policy_final_bytes(7, 0, 0, PAGE, HDR), ==, 0);
    g_assert_cmpuint(predlog_policy_final_bytes(7, 1, 300, PAGE, 0), ==,
                     7 * 300 + PAGE);
    /* a cost that makes no sense counts as a whole page */
    g_assert_cmpuint(predlog_policy_final_bytes(10, 0, NAN, PAGE, HDR), ==,
                     10 * WHOLE);
    g_assert_cmpuint(predlog_policy_final_bytes(10, 0, -1, PAGE, HDR), ==,
                     10 * WHOLE);
    g_assert_cmpuint(predlog_policy_final_bytes(10, 0, INFINITY, PAGE, HDR),
                     ==, 10 * WHOLE);
    /* saturates rather than wraps */
    g_assert_cmpuint(predlog_policy_final_bytes(UINT64_MAX, UINT64_MAX, PAGE,
                                                PAGE, HDR), ==, UINT64_MAX);
    g_assert_cmpuint(predlog_policy_final_bytes(1ull << 52, 0, 1 << 12,
                                                PAGE, HDR), ==, UINT64_MAX);
    /* a realistic 1 GiB guest: 262144 pages */
    g_assert_cmpuint(predlog_policy_final_bytes(262144, 0, WHOLE, PAGE, HDR),
                     ==, 262144ull * WHOLE);
}

static void test_downtime(void)
{
    /* 1 MB at 1000 bytes per ms */
    g_assert_cmpfloat_with_epsilon(predlog_policy_downtime_ms(1000000, 1000),
                                   1000, EPS);
    /* 10 Gbit/s = 1.25e6 bytes per ms; 100 MB take 80 ms */
    g_assert_cmpfloat_with_epsilon(
        predlog_policy_downtime_ms(100000000, 1.25e6), 80, EPS);
    g_assert_cmpfloat(predlog_policy_downtime_ms(0, 1000), ==, 0);
    g_assert_cmpfloat(predlog_policy_downtime_ms(1000, 0), ==, 0);
    g_assert_cmpfloat(predlog_policy_downtime_ms(1000, -5), ==, 0);
    g_assert_cmpfloat(predlog_policy_downtime_ms(1000, NAN), ==, 0);
    g_assert_cmpfloat(predlog_policy_downtime_ms(1000, INFINITY), ==, 0);
}

/*
 * The three together, as the switchover check would use them: a
 * 300 ms downtime limit at 1 GB/s, 10% of it for deferred pages.
 */
static void test_together(void)
{
    const double bytes_per_ms = 1e6;
    const uint64_t threshold = (uint64_t)(300 * bytes_per_ms);
    PredlogDeltaCost c;
    uint64_t max_whole, max_delta, bytes;

    predlog_delta_cost_init(&c, PAGE, HDR);
    max_whole = predlog_policy_max_deferred(threshold, 10,
                                            predlog_delta_cost_expected(&c));
    g_assert_cmpuint(max_whole, ==, 30000000 / WHOLE);
    for (unsigned i = 0; i < 60; i++) {
        predlog_delta_cost_note(&c, 512);
    }
    max_delta = predlog_policy_max_deferred(threshold, 10,
                                            predlog_delta_cost_expected(&c));
    g_assert_cmpuint(max_delta, >, 7 * max_whole);
    /* deferring that many, plus 1000 cold pages, fits the downtime limit */
    bytes = predlog_policy_final_bytes(max_delta, 1000,
                                       predlog_delta_cost_expected(&c),
                                       PAGE, HDR);
    g_assert_cmpfloat(predlog_policy_downtime_ms(bytes, bytes_per_ms), <,
                      300 * 0.1 + 1000.0 * WHOLE / bytes_per_ms + 0.01);
    g_assert_cmpfloat(predlog_policy_downtime_ms(bytes, bytes_per_ms), <,
                      300);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/predlog-policy/delta-cost", test_delta_cost);
    g_test_add_func("/predlog-policy/max-deferred", test_max_deferred);
    g_test_add_func("/predlog-policy/final-bytes", test_final_bytes);
    g_test_add_func("/predlog-policy/downtime", test_downtime);
    g_test_add_func("/predlog-policy/together", test_together);
    return g_test_run();
}
