/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the copy-on-write snapshots' bounce pool
 * (migration/predlog/bounce.h): the cap, all-or-nothing takes, slots
 * given back, peak and refusals, and a random sequence against a model
 * in which no slot is ever handed out twice.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "migration/predlog/bounce.h"

static PredlogBounceStats stats_of(PredlogBouncePool *p)
{
    PredlogBounceStats s;

    predlog_bounce_get_stats(p, &s);
    return s;
}

static void test_new(void)
{
    g_assert_null(predlog_bounce_new(0, 4096));
    g_assert_null(predlog_bounce_new(16, 0));
    g_assert_null(predlog_bounce_new((uint64_t)UINT32_MAX + 1, 1));
    g_assert_null(predlog_bounce_new(G_MAXSIZE / 2, 4096));
    predlog_bounce_free(NULL);
}

/* A copy is all or nothing; the cap holds; slots come back. */
static void test_take_put(void)
{
    PredlogBouncePool *p = predlog_bounce_new(8, 64);
    uint32_t a[8], b[8];
    PredlogBounceStats s;

    g_assert_true(predlog_bounce_take(p, 5, a));
    g_assert_cmpuint(predlog_bounce_free_slots(p), ==, 3);
    g_assert_false(predlog_bounce_take(p, 4, b));       /* all or none */
    g_assert_cmpuint(predlog_bounce_free_slots(p), ==, 3);
    g_assert_false(predlog_bounce_take(p, 0, b));
    g_assert_true(predlog_bounce_take(p, 3, b));
    g_assert_cmpuint(predlog_bounce_free_slots(p), ==, 0);
    s = stats_of(p);
    g_assert_cmpuint(s.in_use, ==, 8);
    g_assert_cmpuint(s.peak, ==, 8);
    g_assert_cmpuint(s.refused, ==, 1);
    g_assert_cmpuint(s.refused_pages, ==, 4);

    for (unsigned i = 0; i < 5; i++) {
        g_assert_true(predlog_bounce_put(p, a[i]));
    }
    g_assert_false(predlog_bounce_put(p, a[0]));        /* twice */
    g_assert_false(predlog_bounce_put(p, 8));           /* out of range */
    g_assert_null(predlog_bounce_page(p, 8));
    s = stats_of(p);
    g_assert_cmpuint(s.in_use, ==, 3);
    g_assert_cmpuint(s.peak, ==, 8);
    g_assert_cmpuint(s.taken, ==, 8);
    g_assert_true(predlog_bounce_take(p, 5, a));
    predlog_bounce_free(p);
}

/* Every slot is its own page_size bytes: copies do not overlap. */
static void test_pages(void)
{
    PredlogBouncePool *p = predlog_bounce_new(16, 256);
    uint32_t s[16];

    g_assert_true(predlog_bounce_take(p, 16, s));
    for (unsigned i = 0; i < 16; i++) {
        memset(predlog_bounce_page(p, s[i]), i, 256);
    }
    for (unsigned i = 0; i < 16; i++) {
        const uint8_t *b = predlog_bounce_page(p, s[i]);

        for (unsigned k = 0; k < 256; k++) {
            g_assert_cmpuint(b[k], ==, i);
        }
    }
    predlog_bounce_free(p);
}

/* Random takes and puts against a model of which slots are out. */
static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(4242);
    const uint64_t cap = 200;
    PredlogBouncePool *p = predlog_bounce_new(cap, 8);
    g_autoptr(GArray) out = g_array_new(false, false, sizeof(uint32_t));
    bool held[200] = { false };
    uint32_t slots[64];
    uint64_t peak = 0;

    for (unsigned step = 0; step < 20000; step++) {
        if (g_rand_boolean(r)) {
            uint64_t n = g_rand_int_range(r, 1, 64);
            bool fits = n <= cap - out->len;

            g_assert_cmpint(predlog_bounce_take(p, n, slots), ==, fits);
            for (uint64_t i = 0; fits && i < n; i++) {
                g_assert_cmpuint(slots[i], <, cap);
                g_assert_false(held[slots[i]]);
                held[slots[i]] = true;
                g_array_append_val(out, slots[i]);
            }
        } else if (out->len) {
            guint k = g_rand_int_range(r, 0, out->len);
            uint32_t s = g_array_index(out, uint32_t, k);

            g_assert_true(predlog_bounce_put(p, s));
            held[s] = false;
            g_array_remove_index_fast(out, k);
        }
        peak = MAX(peak, out->len);
        g_assert_cmpuint(predlog_bounce_free_slots(p), ==, cap - out->len);
        g_assert_cmpuint(stats_of(p).in_use, ==, out->len);
    }
    g_assert_cmpuint(stats_of(p).peak, ==, peak);
    g_assert_cmpuint(stats_of(p).refused, >, 0);
    predlog_bounce_free(p);
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/new", test_new);
    g_test_add_func("/bounce/take-put", test_take_put);
    g_test_add_func("/bounce/pages", test_pages);
    g_test_add_func("/bounce/random", test_random);
    return g_test_run();
}
