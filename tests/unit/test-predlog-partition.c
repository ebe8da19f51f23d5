/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the copy-on-write partition map
 * (migration/predlog/partition.h): the partitions tile the block, a hot
 * region gets partitions of its own and a cold one shares large ones,
 * hysteresis in heat and in time keeps the map still through noise,
 * bridges, splits and merges, the save order, and random heat maps
 * checked against every invariant after every update.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <string.h>
#include <glib.h>

#include "migration/predlog/partition.h"

/* 4-page cells, hot partitions to 16 pages, cold to 64 */
static PredlogPartitionConfig small_cfg(void)
{
    PredlogPartitionConfig cfg;

    predlog_partition_config_default(&cfg);
    cfg.cell_pages = 4;
    cfg.max_hot_pages = 16;
    cfg.max_pages = 64;
    return cfg;
}

static PredlogPartitionMap *new_map(uint64_t npages,
                                    const PredlogPartitionConfig *cfg)
{
    g_autoptr(GError) err = NULL;
    PredlogPartitionMap *m = predlog_partition_map_new(npages, cfg, &err);

    g_assert_no_error(err);
    g_assert_nonnull(m);
    return m;
}

static void assert_valid(PredlogPartitionMap *m)
{
    g_autofree char *why = predlog_partition_check(m);

    g_assert_cmpstr(why, ==, NULL);
}

/* Heat @h on pages [lo, hi), 0 elsewhere, for @times updates. */
static void heat_range(PredlogPartitionMap *m, uint64_t lo, uint64_t hi,
                       float h, unsigned times)
{
    uint64_t n = predlog_partition_npages(m);
    g_autofree float *heat = g_new0(float, n);

    for (uint64_t i = lo; i < hi && i < n; i++) {
        heat[i] = h;
    }
    for (unsigned t = 0; t < times; t++) {
        predlog_partition_update(m, heat);
        assert_valid(m);
    }
}

static bool page_hot(PredlogPartitionMap *m, uint64_t page)
{
    int i = predlog_partition_find(m, page);

    g_assert_cmpint(i, >=, 0);
    return predlog_partition_get(m, i)->hot;
}

static PredlogPartitionStats stats_of(PredlogPartitionMap *m)
{
    PredlogPartitionStats s;

    predlog_partition_get_stats(m, &s);
    return s;
}

static void assert_refused(const PredlogPartitionConfig *cfg,
                           const char *says)
{
    g_autoptr(GError) err = NULL;

    g_assert_false(predlog_partition_config_check(cfg, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, says));
    g_clear_error(&err);
    g_assert_null(predlog_partition_map_new(100, cfg, &err));
    g_assert_nonnull(err);
}

static void test_config(void)
{
    PredlogPartitionConfig good, cfg;
    g_autoptr(GError) err = NULL;

    predlog_partition_config_default(&good);
    g_assert_true(predlog_partition_config_check(&good, NULL));

    cfg = good;
    cfg.cell_pages = 0;
    assert_refused(&cfg, "use 1 or more");
    cfg = good;
    cfg.max_hot_pages = good.cell_pages - 1;
    assert_refused(&cfg, "raise it");
    cfg = good;
    cfg.max_pages = 1;
    assert_refused(&cfg, "raise it");
    cfg = good;
    cfg.hot_off = cfg.hot_on;
    assert_refused(&cfg, "off < on");
    cfg = good;
    cfg.hot_off = -1;
    assert_refused(&cfg, "off < on");
    cfg = good;
    cfg.hot_on = NAN;
    assert_refused(&cfg, "off < on");
    cfg = good;
    cfg.dwell = 0;
    assert_refused(&cfg, "dwell");
    cfg = good;
    cfg.bridge_cells = 5000;
    assert_refused(&cfg, "bridge");

    g_assert_null(predlog_partition_map_new(0, &good, &err));
    g_assert_nonnull(err);
}

/* A new map is all cold: max-size cold partitions, the tail shorter. */
static void test_initial(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m = new_map(150, &cfg);
    PredlogPartitionStats s = stats_of(m);

    assert_valid(m);
    g_assert_cmpuint(predlog_partition_count(m), ==, 3);
    g_assert_cmpuint(predlog_partition_get(m, 0)->npages, ==, 64);
    g_assert_cmpuint(predlog_partition_get(m, 1)->npages, ==, 64);
    g_assert_cmpuint(predlog_partition_get(m, 2)->npages, ==, 22);
    g_assert_null(predlog_partition_get(m, 3));
    g_assert_cmpuint(s.hot_partitions, ==, 0);
    g_assert_cmpuint(s.splits + s.merges, ==, 0);
    g_assert_cmpint(predlog_partition_find(m, 0), ==, 0);
    g_assert_cmpint(predlog_partition_find(m, 63), ==, 0);
    g_assert_cmpint(predlog_partition_find(m, 64), ==, 1);
    g_assert_cmpint(predlog_partition_find(m, 149), ==, 2);
    g_assert_cmpint(predlog_partition_find(m, 150), ==, -1);
    predlog_partition_map_free(m);
    predlog_partition_map_free(NULL);
}

/*
 * A dense hot region gets partitions of its own, cut at cell bounds and
 * at most max_hot_pages long; the cold rest shares large ones.
 */
static void test_hot_region(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m = new_map(256, &cfg);
    PredlogPartitionStats s;
    g_autofree unsigned *order = NULL;
    unsigned n;

    /* pages 70..109: cells 17..27 (pages 68..111) */
    heat_range(m, 70, 110, 1.0, cfg.dwell);
    s = stats_of(m);
    g_assert_cmpuint(s.hot_pages, ==, 44);
    g_assert_cmpuint(s.hot_partitions, ==, 3);      /* 16 + 16 + 12 */
    g_assert_false(page_hot(m, 67));
    for (uint64_t p = 68; p < 112; p++) {
        g_assert_true(page_hot(m, p));
    }
    g_assert_false(page_hot(m, 112));
    g_assert_cmpuint(predlog_partition_get(m, predlog_partition_find(m, 68))
                     ->start, ==, 68);

    /* save order: the hot ones first, then the cold in offset order */
    order = g_new(unsigned, predlog_partition_count(m));
    n = predlog_partition_save_order(m, order);
    g_assert_cmpuint(n, ==, predlog_partition_count(m));
    for (unsigned i = 0; i < n; i++) {
        const PredlogPartition *p = predlog_partition_get(m, order[i]);

        g_assert_cmpint(p->hot, ==, i < s.hot_partitions);
        if (i > s.hot_partitions) {
            g_assert_cmpuint(predlog_partition_get(m, order[i - 1])->start,
                             <, p->start);
        }
    }
    predlog_partition_map_free(m);
}

/*
 * What a fault copies: a hot partition whole; in a cold one a window that
 * doubles with each fault already served in its 16-page region (4-page
 * cells, hot partitions to 16 pages), clipped to the partition.
 */
static void test_fault_extent(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m = new_map(100, &cfg);
    uint64_t a, n;
    int i;

    heat_range(m, 32, 48, 1.0, cfg.dwell);         /* pages 32..47 hot */

    i = predlog_partition_fault(m, 40, &a, &n);
    g_assert_cmpint(i, ==, predlog_partition_find(m, 40));
    g_assert_true(predlog_partition_get(m, i)->hot);
    g_assert_cmpuint(a, ==, 32);
    g_assert_cmpuint(n, ==, 16);
    predlog_partition_fault(m, 41, &a, &n);
    g_assert_cmpuint(a, ==, 32);                   /* hot: always whole */
    g_assert_cmpuint(n, ==, 16);

    /* cold region 64..79: a cell, then 8 pages, then the 16-page region */
    predlog_partition_fault(m, 66, &a, &n);
    g_assert_cmpuint(a, ==, 64);
    g_assert_cmpuint(n, ==, 4);
    predlog_partition_fault(m, 77, &a, &n);
    g_assert_cmpuint(a, ==, 72);
    g_assert_cmpuint(n, ==, 8);
    predlog_partition_fault(m, 70, &a, &n);
    g_assert_cmpuint(a, ==, 64);
    g_assert_cmpuint(n, ==, 16);
    for (unsigned k = 0; k < 300; k++) {           /* the count saturates */
        predlog_partition_fault(m, 79, &a, &n);
        g_assert_cmpuint(a, ==, 64);
        g_assert_cmpuint(n, ==, 16);
    }
    /* the next region starts over */
    predlog_partition_fault(m, 81, &a, &n);
    g_assert_cmpuint(a, ==, 80);
    g_assert_cmpuint(n, ==, 4);

    /* the window is clipped to its partition: cold 48..63 after hot */
    predlog_partition_fault(m, 49, &a, &n);
    predlog_partition_fault(m, 50, &a, &n);
    predlog_partition_fault(m, 51, &a, &n);
    g_assert_cmpuint(a, >=, 48);
    g_assert_cmpuint(a + n, <=, 64);
    /* and to the block's end: the last, short region */
    predlog_partition_fault(m, 97, &a, &n);
    predlog_partition_fault(m, 98, &a, &n);
    predlog_partition_fault(m, 99, &a, &n);
    g_assert_cmpuint(a, ==, 96);
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpint(predlog_partition_fault(m, 100, &a, &n), ==, -1);
    assert_valid(m);
    predlog_partition_map_free(m);
}

/* One period of heat, or of calm, does not re-cut the map: dwell. */
static void test_hysteresis_time(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m;
    unsigned before;

    cfg.dwell = 3;
    m = new_map(128, &cfg);
    before = predlog_partition_count(m);
    heat_range(m, 0, 16, 1.0, 2);
    g_assert_false(page_hot(m, 0));
    g_assert_cmpuint(predlog_partition_count(m), ==, before);
    /* the streak is broken: counting starts again */
    heat_range(m, 0, 16, 0, 1);
    heat_range(m, 0, 16, 1.0, 2);
    g_assert_false(page_hot(m, 0));
    heat_range(m, 0, 16, 1.0, 1);
    g_assert_true(page_hot(m, 0));
    /* and back: it stays hot through two calm periods */
    heat_range(m, 0, 0, 0, 2);
    g_assert_true(page_hot(m, 0));
    heat_range(m, 0, 0, 0, 1);
    g_assert_false(page_hot(m, 0));
    g_assert_cmpuint(stats_of(m).hot_partitions, ==, 0);
    predlog_partition_map_free(m);
}

/* Between hot_off and hot_on a cell keeps its class: hysteresis in heat. */
static void test_hysteresis_heat(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m;
    float mid;

    cfg.dwell = 1;
    m = new_map(64, &cfg);
    mid = (cfg.hot_on + cfg.hot_off) / 2;
    heat_range(m, 0, 8, mid, 5);
    g_assert_false(page_hot(m, 0));         /* cold stays cold */
    heat_range(m, 0, 8, cfg.hot_on, 1);
    g_assert_true(page_hot(m, 0));
    heat_range(m, 0, 8, mid, 5);
    g_assert_true(page_hot(m, 0));          /* hot stays hot */
    heat_range(m, 0, 8, cfg.hot_off, 1);
    g_assert_true(page_hot(m, 0));          /* off is exclusive */
    heat_range(m, 0, 8, cfg.hot_off * 0.99f, 1);
    g_assert_false(page_hot(m, 0));
    predlog_partition_map_free(m);
}

/*
 * A cold gap of at most bridge_cells between two hot runs joins them;
 * a wider one, or one at the block's edge, does not.
 */
static void test_bridge(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m;
    g_autofree float *heat = g_new0(float, 64);

    cfg.dwell = 1;
    cfg.bridge_cells = 1;
    m = new_map(64, &cfg);
    /* cells 1, 3 hot, 2 cold: bridged */
    for (int i = 4; i < 8; i++) {
        heat[i] = 1;
    }
    for (int i = 12; i < 16; i++) {
        heat[i] = 1;
    }
    predlog_partition_update(m, heat);
    assert_valid(m);
    g_assert_true(page_hot(m, 8));
    g_assert_false(page_hot(m, 0));         /* an edge gap is no bridge */
    g_assert_cmpuint(stats_of(m).hot_pages, ==, 12);
    /* cells 1 and 4: a gap of two cells stays cold */
    for (int i = 12; i < 16; i++) {
        heat[i] = 0;
    }
    for (int i = 16; i < 20; i++) {
        heat[i] = 1;
    }
    predlog_partition_update(m, heat);
    assert_valid(m);
    g_assert_false(page_hot(m, 8));
    g_assert_false(page_hot(m, 12));
    g_assert_true(page_hot(m, 16));
    g_assert_cmpuint(stats_of(m).hot_partitions, ==, 2);
    predlog_partition_map_free(m);
}

/* A hot region appearing adds boundaries, vanishing removes them. */
static void test_split_merge(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m = new_map(128, &cfg);
    PredlogPartitionStats s;

    /* cold: [0,64) [64,128); hot 32..47 -> [0,32) [32,48) [48,112) [112,128) */
    heat_range(m, 32, 48, 1.0, cfg.dwell);
    s = stats_of(m);
    g_assert_cmpuint(predlog_partition_count(m), ==, 4);
    g_assert_cmpuint(s.splits, ==, 3);      /* 32, 48, 112 */
    g_assert_cmpuint(s.merges, ==, 1);      /* 64 */
    heat_range(m, 0, 0, 0, cfg.dwell);
    s = stats_of(m);
    g_assert_cmpuint(predlog_partition_count(m), ==, 2);
    g_assert_cmpuint(s.splits, ==, 4);      /* 64 again */
    g_assert_cmpuint(s.merges, ==, 4);      /* 32, 48, 112 */
    predlog_partition_map_free(m);
}

/* Heat that is no number, negative or infinite counts as none. */
static void test_bad_heat(void)
{
    PredlogPartitionConfig cfg = small_cfg();
    PredlogPartitionMap *m;
    float heat[16] = { NAN, -1, INFINITY, -INFINITY, NAN, NAN, NAN, NAN,
                       1, 1, 1, 1, 0, 0, 0, 0 };

    cfg.dwell = 1;
    m = new_map(16, &cfg);
    predlog_partition_update(m, heat);
    assert_valid(m);
    g_assert_false(page_hot(m, 0));
    g_assert_false(page_hot(m, 4));
    g_assert_true(page_hot(m, 8));
    g_assert_cmpfloat(predlog_partition_get(m, 0)->heat, ==, 0);
    predlog_partition_map_free(m);
}

/*
 * Random heat (hot spots that move, grow and vanish, noise, odd block
 * sizes, several configurations), every invariant after every update,
 * find() against a linear search, the save order a permutation with the
 * hot ones first, hottest first.
 */
static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(20261204);

    for (unsigned round = 0; round < 40; round++) {
        PredlogPartitionConfig cfg;
        PredlogPartitionMap *m;
        uint64_t n = g_rand_int_range(r, 1, 3000);
        g_autofree float *heat = g_new0(float, n);
        g_autofree unsigned *order = NULL;
        g_autofree bool *seen = NULL;

        predlog_partition_config_default(&cfg);
        cfg.cell_pages = g_rand_int_range(r, 1, 33);
        cfg.max_hot_pages = cfg.cell_pages * g_rand_int_range(r, 1, 9);
        cfg.max_pages = cfg.cell_pages * g_rand_int_range(r, 1, 200);
        cfg.dwell = g_rand_int_range(r, 1, 4);
        cfg.bridge_cells = g_rand_int_range(r, 0, 3);
        m = new_map(n, &cfg);
        for (unsigned t = 0; t < 30; t++) {
            uint64_t lo = g_rand_int_range(r, 0, n);
            uint64_t len = g_rand_int_range(r, 1, MAX(n / 4, 2));
            unsigned cnt;

            for (uint64_t i = 0; i < n; i++) {
                heat[i] = g_rand_double(r) < 0.05 ? g_rand_double(r) : 0;
            }
            for (uint64_t i = lo; i < lo + len && i < n; i++) {
                heat[i] = g_rand_double_range(r, 0.3, 2.0);
            }
            predlog_partition_update(m, heat);
            assert_valid(m);

            for (unsigned k = 0; k < 20; k++) {
                uint64_t page = g_rand_int_range(r, 0, n);
                int i = predlog_partition_find(m, page);
                const PredlogPartition *p = predlog_partition_get(m, i);

                g_assert_nonnull(p);
                g_assert_cmpuint(p->start, <=, page);
                g_assert_cmpuint(page, <, p->start + p->npages);
            }
            cnt = predlog_partition_count(m);
            g_free(order);
            g_free(seen);
            order = g_new(unsigned, cnt);
            seen = g_new0(bool, cnt);
            g_assert_cmpuint(predlog_partition_save_order(m, order), ==, cnt);
            for (unsigned i = 0; i < cnt; i++) {
                const PredlogPartition *p = predlog_partition_get(m, order[i]);

                g_assert_false(seen[order[i]]);
                seen[order[i]] = true;
                if (i > 0) {
                    const PredlogPartition *q =
                        predlog_partition_get(m, order[i - 1]);

                    g_assert_true(q->hot || !p->hot);
                    if (q->hot && p->hot) {
                        g_assert_cmpfloat(q->heat, >=, p->heat);
                    }
                }
            }
        }
        predlog_partition_map_free(m);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/partition/config", test_config);
    g_test_add_func("/partition/initial", test_initial);
    g_test_add_func("/partition/hot-region", test_hot_region);
    g_test_add_func("/partition/fault-extent", test_fault_extent);
    g_test_add_func("/partition/hysteresis/time", test_hysteresis_time);
    g_test_add_func("/partition/hysteresis/heat", test_hysteresis_heat);
    g_test_add_func("/partition/bridge", test_bridge);
    g_test_add_func("/partition/split-merge", test_split_merge);
    g_test_add_func("/partition/bad-heat", test_bad_heat);
    g_test_add_func("/partition/random", test_random);
    return g_test_run();
}
