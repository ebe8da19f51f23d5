/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the copy-on-write snapshots' write-fault log
 * (migration/predlog/faultlog.h): faults kept in order per snapshot, the
 * previous snapshot's log after the next begins, the bound, threads,
 * and the heat the previous faults give partition.h.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <string.h>
#include <glib.h>

#include "migration/predlog/faultlog.h"
#include "migration/predlog/partition.h"

static PredlogFaultLogStats stats_of(PredlogFaultLog *log)
{
    PredlogFaultLogStats s;

    predlog_faultlog_get_stats(log, &s);
    return s;
}

static void test_new(void)
{
    g_assert_null(predlog_faultlog_new(0, 10));
    g_assert_null(predlog_faultlog_new(10, 0));
    predlog_faultlog_free(NULL);
}

/* Faults in arrival order; begin() turns them into the previous log. */
static void test_rotate(void)
{
    PredlogFaultLog *log = predlog_faultlog_new(100, 10);
    const PredlogFault *f;

    g_assert_cmpuint(predlog_faultlog_npages(log), ==, 100);
    predlog_faultlog_begin(log);
    g_assert_true(predlog_faultlog_add(log, 7, 10, 501));
    g_assert_true(predlog_faultlog_add(log, 3, 20, 502));
    g_assert_cmpuint(predlog_faultlog_count(log, PREDLOG_FAULTS_CURRENT), ==,
                     2);
    g_assert_cmpuint(predlog_faultlog_count(log, PREDLOG_FAULTS_PREVIOUS), ==,
                     0);
    f = predlog_faultlog_get(log, PREDLOG_FAULTS_CURRENT, 1);
    g_assert_cmpuint(f->page, ==, 3);
    g_assert_cmpuint(f->t_ns, ==, 20);
    g_assert_cmpuint(f->tid, ==, 502);
    g_assert_null(predlog_faultlog_get(log, PREDLOG_FAULTS_CURRENT, 2));

    predlog_faultlog_begin(log);
    g_assert_cmpuint(predlog_faultlog_count(log, PREDLOG_FAULTS_CURRENT), ==,
                     0);
    g_assert_cmpuint(predlog_faultlog_count(log, PREDLOG_FAULTS_PREVIOUS), ==,
                     2);
    g_assert_cmpuint(predlog_faultlog_get(log, PREDLOG_FAULTS_PREVIOUS, 0)
                     ->page, ==, 7);
    g_assert_true(predlog_faultlog_add(log, 9, 5, 501));
    /* a third snapshot forgets the first */
    predlog_faultlog_begin(log);
    g_assert_cmpuint(predlog_faultlog_count(log, PREDLOG_FAULTS_PREVIOUS), ==,
                     1);
    g_assert_cmpuint(predlog_faultlog_get(log, PREDLOG_FAULTS_PREVIOUS, 0)
                     ->page, ==, 9);
    g_assert_cmpuint(stats_of(log).snapshots, ==, 3);
    g_assert_cmpuint(stats_of(log).faults, ==, 3);
    predlog_faultlog_free(log);
}

/* Past max_faults a fault is counted, not kept; so is a page out of range. */
static void test_bounds(void)
{
    PredlogFaultLog *log = predlog_faultlog_new(10, 3);
    PredlogFaultLogStats s;

    for (unsigned i = 0; i < 5; i++) {
        g_assert_cmpint(predlog_faultlog_add(log, i, i, 1), ==, i < 3);
    }
    g_assert_false(predlog_faultlog_add(log, 10, 0, 1));
    g_assert_false(predlog_faultlog_add(log, UINT64_MAX, 0, 1));
    s = stats_of(log);
    g_assert_cmpuint(s.faults, ==, 5);
    g_assert_cmpuint(s.dropped, ==, 2);
    g_assert_cmpuint(s.out_of_range, ==, 2);
    g_assert_cmpuint(s.current, ==, 3);
    predlog_faultlog_free(log);
}

static void test_threads(void)
{
    PredlogFaultLog *log = predlog_faultlog_new(10, 100);

    predlog_faultlog_add(log, 1, 0, 11);
    predlog_faultlog_add(log, 2, 0, 12);
    predlog_faultlog_add(log, 3, 0, 11);
    predlog_faultlog_add(log, 4, 0, 0);         /* unknown: no thread */
    g_assert_cmpuint(stats_of(log).threads, ==, 2);
    predlog_faultlog_begin(log);
    g_assert_cmpuint(stats_of(log).threads, ==, 0);
    predlog_faultlog_free(log);
}

/*
 * The previous snapshot's faults heat their pages, early ones most; the
 * current snapshot's do not count, nor pages outside the range asked.
 */
static void test_heat(void)
{
    PredlogFaultLog *log = predlog_faultlog_new(1000, 100);
    float heat[10] = { 0 };

    predlog_faultlog_add(log, 100, 0, 1);
    predlog_faultlog_add(log, 101, 1000, 1);    /* one half-life in */
    predlog_faultlog_add(log, 101, 3000, 1);
    predlog_faultlog_add(log, 99, 0, 1);        /* before the range */
    predlog_faultlog_add(log, 110, 0, 1);       /* after it */
    predlog_faultlog_add_heat(log, 100, 10, heat, 1.0, 1000);
    for (unsigned i = 0; i < 10; i++) {
        g_assert_cmpfloat(heat[i], ==, 0);      /* still current */
    }
    predlog_faultlog_begin(log);
    predlog_faultlog_add(log, 102, 0, 1);       /* the new current */
    predlog_faultlog_add_heat(log, 100, 10, heat, 2.0, 1000);
    g_assert_cmpfloat_with_epsilon(heat[0], 2.0, 0.000001);
    g_assert_cmpfloat_with_epsilon(heat[1], 1.0 + 0.25, 0.000001);
    g_assert_cmpfloat(heat[2], ==, 0);
    for (unsigned i = 3; i < 10; i++) {
        g_assert_cmpfloat(heat[i], ==, 0);
    }
    /* no decay */
    memset(heat, 0, sizeof(heat));
    predlog_faultlog_add_heat(log, 100, 10, heat, 1.0, 0);
    g_assert_cmpfloat(heat[1], ==, 2.0);
    predlog_faultlog_free(log);
}

/*
 * The previous snapshot's faults alone make their region a hot partition
 * at the next snapshot: what the log is for.
 */
static void test_heat_to_partitions(void)
{
    PredlogPartitionConfig cfg;
    PredlogFaultLog *log = predlog_faultlog_new(4096, 10000);
    PredlogPartitionMap *m;
    g_autofree float *heat = g_new0(float, 4096);
    int i;

    predlog_partition_config_default(&cfg);
    cfg.dwell = 1;
    m = predlog_partition_map_new(4096, &cfg, NULL);
    for (uint64_t p = 1024; p < 1088; p++) {
        predlog_faultlog_add(log, p, p * 1000, 7);
    }
    predlog_faultlog_begin(log);
    predlog_faultlog_add_heat(log, 0, 4096, heat, 1.0, 0);
    predlog_partition_update(m, heat);
    i = predlog_partition_find(m, 1050);
    g_assert_true(predlog_partition_get(m, i)->hot);
    g_assert_false(predlog_partition_get(m, predlog_partition_find(m, 2000))
                   ->hot);
    predlog_partition_map_free(m);
    predlog_faultlog_free(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/faultlog/new", test_new);
    g_test_add_func("/faultlog/rotate", test_rotate);
    g_test_add_func("/faultlog/bounds", test_bounds);
    g_test_add_func("/faultlog/threads", test_threads);
    g_test_add_func("/faultlog/heat", test_heat);
    g_test_add_func("/faultlog/heat-to-partitions",
                    test_heat_to_partitions);
    return g_test_run();
}
