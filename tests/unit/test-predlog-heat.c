/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the copy-on-write write heat (migration/predlog/heat.h):
 * the dirty history and the previous snapshot's faults each heat their
 * pages, weights and missing sources, and a history-only heat making
 * the dirtied region a hot partition.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <glib.h>

#include "migration/predlog/heat.h"
#include "migration/predlog/partition.h"

/* A 256-page history in which pages 32..63 were dirtied every period. */
static PredlogHistory *hot_history(void)
{
    PredlogHistory *h = predlog_history_new(256, 4, 0.5);

    for (unsigned t = 0; t < 12; t++) {
        predlog_history_observe_range(h, 32, 32);
        predlog_history_end_period(h, 1.0);
    }
    return h;
}

static void test_none(void)
{
    PredlogHeatWeights w;
    float heat[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };

    predlog_heat_default_weights(&w);
    predlog_heat_build(NULL, NULL, 0, 8, &w, heat);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpfloat(heat[i], ==, 0);
    }
}

static void test_history(void)
{
    PredlogHistory *h = hot_history();
    PredlogHeatWeights w;
    g_autofree float *heat = g_new(float, 300);

    predlog_heat_default_weights(&w);
    predlog_heat_build(h, NULL, 0, 300, &w, heat);
    g_assert_cmpfloat(heat[40], >, 0.8);
    g_assert_cmpfloat(heat[100], <, 0.2);
    g_assert_cmpfloat(heat[299], ==, 0);        /* past the history */
    /* a window that starts inside and a weight that scales */
    w.history = 2.0;
    predlog_heat_build(h, NULL, 40, 10, &w, heat);
    g_assert_cmpfloat(heat[0], >, 1.6);
    /* a window past the end, near the top of the page space */
    predlog_heat_build(h, NULL, UINT64_MAX - 4, 4, &w, heat);
    g_assert_cmpfloat(heat[3], ==, 0);
    /* bad weights count as none */
    w.history = NAN;
    predlog_heat_build(h, NULL, 40, 1, &w, heat);
    g_assert_cmpfloat(heat[0], ==, 0);
    w.history = -1;
    predlog_heat_build(h, NULL, 40, 1, &w, heat);
    g_assert_cmpfloat(heat[0], ==, 0);
    predlog_history_free(h);
}

/* The two sources add up. */
static void test_both(void)
{
    PredlogHistory *h = hot_history();
    PredlogFaultLog *log = predlog_faultlog_new(256, 100);
    PredlogHeatWeights w;
    float only_h[1], both[1], only_f[1];

    predlog_faultlog_add(log, 100, 0, 9);
    predlog_faultlog_add(log, 40, 0, 9);
    predlog_faultlog_begin(log);
    predlog_heat_default_weights(&w);
    predlog_heat_build(h, NULL, 40, 1, &w, only_h);
    predlog_heat_build(h, log, 40, 1, &w, both);
    predlog_heat_build(NULL, log, 100, 1, &w, only_f);
    g_assert_cmpfloat_with_epsilon(both[0], only_h[0] + 1.0, 0.000001);
    g_assert_cmpfloat_with_epsilon(only_f[0], 1.0, 0.000001);
    w.fault = 0;
    predlog_heat_build(h, log, 40, 1, &w, both);
    g_assert_cmpfloat(both[0], ==, only_h[0]);
    predlog_faultlog_free(log);
    predlog_history_free(h);
}

/* From the history alone, the region pre-copy saw dirtied is hot. */
static void test_to_partitions(void)
{
    PredlogHistory *h = hot_history();
    PredlogPartitionConfig cfg;
    PredlogPartitionMap *m;
    PredlogHeatWeights w;
    g_autofree float *heat = g_new(float, 256);

    predlog_partition_config_default(&cfg);
    cfg.dwell = 1;
    m = predlog_partition_map_new(256, &cfg, NULL);
    predlog_heat_default_weights(&w);
    predlog_heat_build(h, NULL, 0, 256, &w, heat);
    predlog_partition_update(m, heat);
    g_assert_true(predlog_partition_get(m, predlog_partition_find(m, 40))
                  ->hot);
    g_assert_false(predlog_partition_get(m, predlog_partition_find(m, 0))
                   ->hot);
    g_assert_false(predlog_partition_get(m, predlog_partition_find(m, 64))
                   ->hot);
    predlog_partition_map_free(m);
    predlog_history_free(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/heat/none", test_none);
    g_test_add_func("/heat/history", test_history);
    g_test_add_func("/heat/both", test_both);
    g_test_add_func("/heat/to-partitions", test_to_partitions);
    return g_test_run();
}
