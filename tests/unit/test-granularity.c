/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog granularity policy
 *
 * Each rule of granularity.h gets a small hand-computed case (capacities
 * of 1000 bytes make the lines 800 and 650 with the defaults), then a
 * randomised run checks the invariants that must hold for any input.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <math.h>

#include "hw/predlog/core/granularity.h"

#define FULL    PREDLOG_RECORD_LEVEL_FULL
#define HEADER  PREDLOG_RECORD_LEVEL_HEADER
#define SUMMARY PREDLOG_RECORD_LEVEL_SUMMARY

#define R_NONE      PREDLOG_GRANULARITY_REASON_NONE
#define R_PRESSURE  PREDLOG_GRANULARITY_REASON_PRESSURE
#define R_RELIEF    PREDLOG_GRANULARITY_REASON_RELIEF
#define R_FORCED    PREDLOG_GRANULARITY_REASON_FORCED

#define MAXF 16
/* Relative slack for sums the test adds up in another order. */
#define SLACK 1.000000001

static PredlogGranularityInput fn(double full, double header, double summary,
                                  PredlogRecordLevel current)
{
    PredlogGranularityInput in = {
        .confidence = 1,
        .current = current,
        .floor = SUMMARY,
    };

    in.demand[FULL] = full;
    in.demand[HEADER] = header;
    in.demand[SUMMARY] = summary;
    return in;
}

/* One plan; checks the returned count against out[] and reason[]. */
typedef struct Plan {
    PredlogRecordLevel out[MAXF];
    PredlogGranularityReason reason[MAXF];
    unsigned changed;
} Plan;

static Plan plan(PredlogGranularityState *st,
                 const PredlogGranularityInput *in, unsigned n, double cap)
{
    Plan p;
    unsigned changed = 0;

    g_assert_cmpuint(n, <=, MAXF);
    p.changed = predlog_granularity_plan(st, in, n, cap, p.out, p.reason);
    for (unsigned i = 0; i < n; i++) {
        if (p.out[i] != in[i].current) {
            changed++;
            g_assert_cmpint(p.reason[i], !=, R_NONE);
        } else {
            g_assert_cmpint(p.reason[i], ==, R_NONE);
        }
    }
    g_assert_cmpuint(p.changed, ==, changed);
    return p;
}

/* Feed a plan's output back as the next current levels. */
static void apply(PredlogGranularityInput *in, unsigned n, const Plan *p)
{
    for (unsigned i = 0; i < n; i++) {
        in[i].current = p->out[i];
    }
}

/* ------------------------------------------------------------------ */
/* Levels and names                                                    */
/* ------------------------------------------------------------------ */

static void test_levels(void)
{
    g_assert_cmpint(predlog_level_rank(FULL), ==, 2);
    g_assert_cmpint(predlog_level_rank(HEADER), ==, 1);
    g_assert_cmpint(predlog_level_rank(SUMMARY), ==, 0);
    g_assert_cmpint(predlog_level_rank((PredlogRecordLevel)3), ==, -1);
    g_assert_true(predlog_level_valid(HEADER));
    g_assert_false(predlog_level_valid((PredlogRecordLevel)3));
    g_assert_false(predlog_level_valid((PredlogRecordLevel)-1));

    g_assert_cmpint(predlog_level_down(FULL), ==, HEADER);
    g_assert_cmpint(predlog_level_down(HEADER), ==, SUMMARY);
    g_assert_cmpint(predlog_level_down(SUMMARY), ==, SUMMARY);
    g_assert_cmpint(predlog_level_down((PredlogRecordLevel)9), ==, SUMMARY);
    g_assert_cmpint(predlog_level_up(SUMMARY), ==, HEADER);
    g_assert_cmpint(predlog_level_up(HEADER), ==, FULL);
    g_assert_cmpint(predlog_level_up(FULL), ==, FULL);
    g_assert_cmpint(predlog_level_up((PredlogRecordLevel)9), ==, FULL);
    g_assert_cmpint(predlog_level_from_rank(-5), ==, SUMMARY);
    g_assert_cmpint(predlog_level_from_rank(1), ==, HEADER);
    g_assert_cmpint(predlog_level_from_rank(7), ==, FULL);
    for (int r = 0; r <= 2; r++) {
        g_assert_cmpint(predlog_level_rank(predlog_level_from_rank(r)), ==,
                        r);
    }

    g_assert_cmpstr(predlog_level_str(FULL), ==, "full");
    g_assert_cmpstr(predlog_level_str(SUMMARY), ==, "summary");
    g_assert_cmpstr(predlog_level_str(HEADER), ==, "header");
    g_assert_cmpstr(predlog_level_str((PredlogRecordLevel)3), ==, "unknown");
    g_assert_cmpstr(predlog_granularity_reason_str(R_NONE), ==, "none");
    g_assert_cmpstr(predlog_granularity_reason_str(R_PRESSURE), ==,
                    "pressure");
    g_assert_cmpstr(predlog_granularity_reason_str(R_RELIEF), ==, "relief");
    g_assert_cmpstr(predlog_granularity_reason_str(R_FORCED), ==, "forced");
    g_assert_cmpstr(predlog_granularity_reason_str(
                        PREDLOG_GRANULARITY_REASON__MAX), ==, "unknown");
}

static void test_config(void)
{
    PredlogGranularityConfig cfg;
    PredlogGranularityState *st;
    const PredlogGranularityConfig *got;

    predlog_granularity_config_default(&cfg);
    g_assert_cmpfloat(cfg.fill_target, ==, 0.80);
    g_assert_cmpfloat(cfg.hysteresis, ==, 0.15);
    g_assert_cmpuint(cfg.dwell, ==, 3);
    g_assert_cmpfloat(cfg.margin, ==, 1.0);

    st = predlog_granularity_new(NULL, 4);
    got = predlog_granularity_config(st);
    g_assert_cmpfloat(got->fill_target, ==, 0.80);
    g_assert_cmpuint(got->dwell, ==, 3);
    predlog_granularity_free(st);

    cfg = (PredlogGranularityConfig) {
        .fill_target = 1.5, .hysteresis = 2, .dwell = 0, .margin = -1,
    };
    st = predlog_granularity_new(&cfg, 4);
    got = predlog_granularity_config(st);
    g_assert_cmpfloat(got->fill_target, ==, 1.0);
    g_assert_cmpfloat(got->hysteresis, ==, 1.0);
    g_assert_cmpuint(got->dwell, ==, 1);
    g_assert_cmpfloat(got->margin, ==, 0);
    predlog_granularity_free(st);

    cfg = (PredlogGranularityConfig) {
        .fill_target = NAN, .hysteresis = NAN, .dwell = 5, .margin = NAN,
    };
    st = predlog_granularity_new(&cfg, 4);
    got = predlog_granularity_config(st);
    g_assert_cmpfloat(got->fill_target, ==, 0.80);
    g_assert_cmpfloat(got->hysteresis, ==, 0.15);
    g_assert_cmpuint(got->dwell, ==, 5);
    g_assert_cmpfloat(got->margin, ==, 1.0);
    predlog_granularity_free(st);
    predlog_granularity_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Pressure                                                            */
/* ------------------------------------------------------------------ */

static void test_pressure_biggest_saver(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[3];
    Plan p;

    /*
     * 900 > 800.  f0 saves 400 by one step, f1 only 50: f0 goes, and
     * 500 fits, so f1 stays although it is the bigger at HEADER.
     */
    in[0] = fn(500, 100, 10, FULL);
    in[1] = fn(400, 350, 5, FULL);
    p = plan(st, in, 2, 1000);
    g_assert_cmpuint(p.changed, ==, 1);
    g_assert_cmpint(p.out[0], ==, HEADER);
    g_assert_cmpint(p.reason[0], ==, R_PRESSURE);
    g_assert_cmpint(p.out[1], ==, FULL);
    g_assert_cmpint(p.reason[1], ==, R_NONE);

    /* Order of saving, with a need for three steps (cap 500: line 400). */
    in[0] = fn(500, 100, 10, FULL);     /* saves 400, then 90 */
    in[1] = fn(400, 300, 5, FULL);      /* saves 100, then 295 */
    in[2] = fn(100, 100, 100, FULL);    /* saves nothing */
    /* 1000, - 400 (f0) = 600, - 100 (f1) = 500, - 295 (f1 again) = 205 */
    p = plan(st, in, 3, 500);
    g_assert_cmpint(p.out[0], ==, HEADER);
    g_assert_cmpint(p.out[1], ==, SUMMARY);
    g_assert_cmpint(p.out[2], ==, FULL);
    g_assert_cmpuint(p.changed, ==, 2);

    predlog_granularity_free(st);
}

static void test_pressure_ties(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[3];
    Plan p;

    /* Equal savings (200): the larger demand goes first. */
    in[0] = fn(300, 100, 1, FULL);
    in[1] = fn(400, 200, 1, FULL);
    p = plan(st, in, 2, 750);           /* 700 > 600 */
    g_assert_cmpint(p.out[0], ==, FULL);
    g_assert_cmpint(p.out[1], ==, HEADER);

    /* Fully equal: the lower index goes first. */
    in[0] = fn(400, 200, 1, FULL);
    in[1] = fn(400, 200, 1, FULL);
    in[2] = fn(400, 200, 1, FULL);
    p = plan(st, in, 3, 1250);          /* 1200 > 1000 */
    g_assert_cmpint(p.out[0], ==, HEADER);
    g_assert_cmpint(p.out[1], ==, FULL);
    g_assert_cmpint(p.out[2], ==, FULL);
    predlog_granularity_free(st);
}

/*
 * A step that saves nothing is taken only on the way to one that does:
 * tiny frames cost as much at HEADER as at FULL, but SUMMARY is cheap.
 */
static void test_pressure_through_flat_step(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[2];
    Plan p;

    in[0] = fn(900, 900, 10, FULL);
    p = plan(st, in, 1, 1000);
    g_assert_cmpint(p.out[0], ==, SUMMARY);
    g_assert_cmpint(p.reason[0], ==, R_PRESSURE);

    /* Nothing saves anything: no change, although over the line. */
    in[0] = fn(900, 900, 900, FULL);
    p = plan(st, in, 1, 1000);
    g_assert_cmpint(p.out[0], ==, FULL);
    g_assert_cmpuint(p.changed, ==, 0);

    /* HEADER dearer than FULL: straight to the cheap SUMMARY. */
    in[0] = fn(500, 600, 10, FULL);
    p = plan(st, in, 1, 500);
    g_assert_cmpint(p.out[0], ==, SUMMARY);

    /*
     * SUMMARY dearer than HEADER (one summary per interval against a few
     * small records): never taken, even far over the line.
     */
    in[0] = fn(100, 50, 300, FULL);
    p = plan(st, in, 1, 10);
    g_assert_cmpint(p.out[0], ==, HEADER);
    in[0].current = HEADER;
    p = plan(st, in, 1, 10);
    g_assert_cmpuint(p.changed, ==, 0);

    /* A real saving elsewhere is preferred to the flat step. */
    in[0] = fn(500, 500, 10, FULL);
    in[1] = fn(450, 100, 10, FULL);
    p = plan(st, in, 2, 1000);
    g_assert_cmpint(p.out[0], ==, FULL);
    g_assert_cmpint(p.out[1], ==, HEADER);
    predlog_granularity_free(st);
}

static void test_floor(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[2];
    Plan p;

    /* Summaries disabled: HEADER is as low as it goes. */
    in[0] = fn(1000, 900, 1, FULL);
    in[0].floor = HEADER;
    in[1] = fn(50, 10, 1, FULL);
    p = plan(st, in, 2, 100);
    g_assert_cmpint(p.out[0], ==, HEADER);
    g_assert_cmpint(p.out[1], ==, SUMMARY);

    /* Floor FULL: never touched. */
    in[0] = fn(1000, 1, 1, FULL);
    in[0].floor = FULL;
    p = plan(st, in, 1, 100);
    g_assert_cmpint(p.out[0], ==, FULL);
    g_assert_cmpuint(p.changed, ==, 0);

    /* Below the floor, or an invalid level: put at the floor. */
    in[0] = fn(10, 5, 1, SUMMARY);
    in[0].floor = HEADER;
    in[1] = fn(10, 5, 1, (PredlogRecordLevel)3);
    in[1].floor = HEADER;
    p = plan(st, in, 2, 1000);
    g_assert_cmpint(p.out[0], ==, HEADER);
    g_assert_cmpint(p.reason[0], ==, R_FORCED);
    g_assert_cmpint(p.out[1], ==, HEADER);
    g_assert_cmpint(p.reason[1], ==, R_FORCED);

    /* An invalid floor allows everything. */
    in[0] = fn(1000, 900, 1, FULL);
    in[0].floor = (PredlogRecordLevel)7;
    p = plan(st, in, 1, 100);
    g_assert_cmpint(p.out[0], ==, SUMMARY);
    predlog_granularity_free(st);
}

/* ------------------------------------------------------------------ */
/* Relief and hysteresis                                               */
/* ------------------------------------------------------------------ */

/*
 * Demand moving anywhere between the two lines changes nothing: a random
 * walk and a square wave of the total over (650, 795], with f1 one cheap
 * step below FULL, must neither lower f0 nor raise f1.
 */
static void test_band_no_change(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[2];
    GRand *rand = g_rand_new_with_seed(1);
    double s = 700;

    for (int k = 0; k < 4000; k++) {
        Plan p;

        if (k < 2000) {
            double step = g_rand_double_range(rand, -40, 40);

            s = CLAMP(s + step, 651, 795);
        } else {
            s = k % 2 ? 651 : 795;
        }
        in[0] = fn(0.6 * s, 10, 1, FULL);
        in[1] = fn(0.4 * s + 5, 0.4 * s, 1, HEADER);
        p = plan(st, in, 2, 1000);
        g_assert_cmpuint(p.changed, ==, 0);
    }
    g_rand_free(rand);
    predlog_granularity_free(st);
}

/*
 * The same with a lowering in the history: after pressure lowered f0,
 * demand falling back inside the band does not raise it again, and a
 * signal crossing the lower line faster than dwell does not either.
 */
static void test_band_after_pressure(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[1];
    Plan p;

    in[0] = fn(900, 300, 10, FULL);
    p = plan(st, in, 1, 1000);
    g_assert_cmpint(p.out[0], ==, HEADER);
    apply(in, 1, &p);

    for (int k = 0; k < 1000; k++) {
        /* Raised it would cost 660..790: inside the band. */
        in[0].demand[FULL] = 660 + (k * 37) % 131;
        p = plan(st, in, 1, 1000);
        g_assert_cmpuint(p.changed, ==, 0);
        g_assert_cmpint(p.out[0], ==, HEADER);
    }
    for (int k = 0; k < 1000; k++) {
        /* Fits for two refreshes, then not: never three in a row. */
        in[0].demand[FULL] = k % 3 == 2 ? 700 : 600;
        p = plan(st, in, 1, 1000);
        g_assert_cmpuint(p.changed, ==, 0);
    }
    predlog_granularity_free(st);
}

static void test_relief_dwell(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[1];
    Plan p;

    in[0] = fn(600, 100, 10, HEADER);   /* raised: 600 <= 650 */
    p = plan(st, in, 1, 1000);
    g_assert_cmpuint(p.changed, ==, 0);
    p = plan(st, in, 1, 1000);
    g_assert_cmpuint(p.changed, ==, 0);
    p = plan(st, in, 1, 1000);
    g_assert_cmpuint(p.changed, ==, 1);
    g_assert_cmpint(p.out[0], ==, FULL);
    g_assert_cmpint(p.reason[0], ==, R_RELIEF);
    apply(in, 1, &p);
    /* Raised at the lower line: stays at FULL. */
    for (int k = 0; k < 10; k++) {
        p = plan(st, in, 1, 1000);
        g_assert_cmpuint(p.changed, ==, 0);
    }

    /* A miss in between restarts the count. */
    in[0] = fn(600, 100, 10, HEADER);
    for (int k = 0; k < 2; k++) {
        p = plan(st, in, 1, 1000);
        g_assert_cmpuint(p.changed, ==, 0);
    }
    in[0].demand[FULL] = 700;
    p = plan(st, in, 1, 1000);
    g_assert_cmpuint(p.changed, ==, 0);
    in[0].demand[FULL] = 600;
    for (int k = 0; k < 2; k++) {
        p = plan(st, in, 1, 1000);
        g_assert_cmpuint(p.changed, ==, 0);
    }
    p = plan(st, in, 1, 1000);
    g_assert_cmpint(p.out[0], ==, FULL);

    /* One step per refresh: SUMMARY -> HEADER -> FULL, dwell each. */
    in[0] = fn(100, 50, 10, SUMMARY);
    for (int step = 0; step < 2; step++) {
        for (int k = 0; k < 2; k++) {
            p = plan(st, in, 1, 1000);
            g_assert_cmpuint(p.changed, ==, 0);
        }
        p = plan(st, in, 1, 1000);
        g_assert_cmpuint(p.changed, ==, 1);
        g_assert_cmpint(p.out[0], ==, step ? FULL : HEADER);
        apply(in, 1, &p);
    }
    predlog_granularity_free(st);
}

/* A level the plan did not set (overflow() stepped down) restarts it. */
static void test_relief_external_change(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[1];
    Plan p;

    in[0] = fn(600, 100, 10, HEADER);
    plan(st, in, 1, 1000);
    plan(st, in, 1, 1000);
    in[0].current = SUMMARY;            /* stepped down by the record path */
    p = plan(st, in, 1, 1000);
    g_assert_cmpuint(p.changed, ==, 0);
    p = plan(st, in, 1, 1000);
    g_assert_cmpuint(p.changed, ==, 0);
    p = plan(st, in, 1, 1000);
    g_assert_cmpint(p.out[0], ==, HEADER);
    predlog_granularity_free(st);
}

/* Several due raises: cheapest first, as long as they fit together. */
static void test_relief_several(void)
{
    PredlogGranularityConfig cfg;
    PredlogGranularityState *st;
    PredlogGranularityInput in[3];
    Plan p;

    predlog_granularity_config_default(&cfg);
    cfg.dwell = 1;
    st = predlog_granularity_new(&cfg, 1);  /* grows to 3 */
    in[0] = fn(500, 200, 1, HEADER);        /* +300 */
    in[1] = fn(200, 100, 1, HEADER);        /* +100 */
    in[2] = fn(0, 0, 0, FULL);
    /* 300 now; each alone fits under 650, both would be 700. */
    p = plan(st, in, 3, 1000);
    g_assert_cmpint(p.out[0], ==, HEADER);
    g_assert_cmpint(p.out[1], ==, FULL);
    g_assert_cmpint(p.reason[1], ==, R_RELIEF);
    apply(in, 3, &p);
    /* 400 now; f0 raised makes 700 > 650. */
    p = plan(st, in, 3, 1000);
    g_assert_cmpuint(p.changed, ==, 0);
    predlog_granularity_free(st);
}

/* ------------------------------------------------------------------ */
/* Confidence, degenerate input, overflow                              */
/* ------------------------------------------------------------------ */

static void test_confidence(void)
{
    PredlogGranularityConfig cfg;
    PredlogGranularityState *st = predlog_granularity_new(NULL, MAXF);
    PredlogGranularityInput in[1];
    Plan p;

    in[0] = fn(500, 100, 10, FULL);
    in[0].confidence = 1;               /* 500 */
    g_assert_cmpuint(plan(st, in, 1, 1000).changed, ==, 0);
    in[0].confidence = 0.5;             /* 750 */
    g_assert_cmpuint(plan(st, in, 1, 1000).changed, ==, 0);
    in[0].confidence = 0.3;             /* 850 */
    p = plan(st, in, 1, 1000);
    g_assert_cmpint(p.out[0], ==, HEADER);
    in[0].confidence = 0;               /* 1000 */
    g_assert_cmpint(plan(st, in, 1, 1000).out[0], ==, HEADER);
    in[0].confidence = NAN;             /* counts as 0 */
    g_assert_cmpint(plan(st, in, 1, 1000).out[0], ==, HEADER);
    in[0].confidence = -3;              /* clamped to 0 */
    g_assert_cmpint(plan(st, in, 1, 1000).out[0], ==, HEADER);
    in[0].confidence = 7;               /* clamped to 1 */
    g_assert_cmpint(plan(st, in, 1, 1000).out[0], ==, FULL);
    predlog_granularity_free(st);

    /* margin 2: confidence 0.5 already doubles. */
    predlog_granularity_config_default(&cfg);
    cfg.margin = 2;
    st = predlog_granularity_new(&cfg, 1);
    in[0].confidence = 0.5;
    g_assert_cmpint(plan(st, in, 1, 1000).out[0], ==, HEADER);
    predlog_granularity_free(st);

    /* margin 0: confidence does not matter. */
    cfg.margin = 0;
    st = predlog_granularity_new(&cfg, 1);
    in[0].confidence = 0;
    g_assert_cmpint(plan(st, in, 1, 1000).out[0], ==, FULL);
    predlog_granularity_free(st);

    /* Raising counts the inflated demand too. */
    st = predlog_granularity_new(NULL, 1);
    in[0] = fn(600, 100, 10, HEADER);
    in[0].confidence = 0.5;             /* 900 raised: never */
    for (int k = 0; k < 10; k++) {
        g_assert_cmpuint(plan(st, in, 1, 1000).changed, ==, 0);
    }
    predlog_granularity_free(st);
}

static void test_degenerate(void)
{
    PredlogGranularityState *st = predlog_granularity_new(NULL, 0);
    PredlogGranularityInput in[2];
    PredlogRecordLevel out[2] = { 9, 9 };
    Plan p;

    /* n = 0 reads and writes nothing. */
    g_assert_cmpuint(predlog_granularity_plan(st, NULL, 0, 1000, NULL, NULL),
                     ==, 0);
    g_assert_cmpuint(predlog_granularity_plan(st, NULL, 0, 0, out, NULL), ==,
                     0);
    g_assert_cmpint(out[0], ==, 9);

    /* Capacity 0: anything costing bytes goes to its floor. */
    in[0] = fn(100, 10, 1, FULL);
    in[1] = fn(100, 10, 1, FULL);
    in[1].floor = HEADER;
    p = plan(st, in, 2, 0);
    g_assert_cmpint(p.out[0], ==, SUMMARY);
    g_assert_cmpint(p.out[1], ==, HEADER);
    p = plan(st, in, 2, NAN);
    g_assert_cmpint(p.out[0], ==, SUMMARY);
    p = plan(st, in, 2, -5);
    g_assert_cmpint(p.out[0], ==, SUMMARY);
    /* ...and nothing costing nothing moves. */
    in[0] = fn(0, 0, 0, FULL);
    p = plan(st, in, 1, 0);
    g_assert_cmpint(p.out[0], ==, FULL);

    /* Garbage demand: NaN and negative count as 0, infinity as huge. */
    in[0] = fn(NAN, -5, NAN, FULL);
    g_assert_cmpuint(plan(st, in, 1, 1000).changed, ==, 0);
    in[0] = fn(INFINITY, 10, 1, FULL);
    in[1] = fn(INFINITY, INFINITY, 1, FULL);
    p = plan(st, in, 2, 1000);
    g_assert_cmpint(p.out[0], ==, SUMMARY);
    g_assert_cmpint(p.out[1], ==, SUMMARY);
    in[0] = fn(INFINITY, 10, 1, FULL);
    p = plan(st, in, 1, INFINITY);
    g_assert_cmpint(p.out[0], ==, FULL);

    /* reason may be NULL; n beyond max_functions grows the state. */
    {
        PredlogGranularityInput many[MAXF];
        PredlogRecordLevel o[MAXF];

        for (unsigned i = 0; i < MAXF; i++) {
            many[i] = fn(100, 10, 1, FULL);
        }
        /* 1600 over a line of 1520: one step of 90 is enough */
        g_assert_cmpuint(predlog_granularity_plan(st, many, MAXF, 1900, o,
                                                  NULL), ==, 1);
        g_assert_cmpint(o[0], ==, HEADER);
    }
    predlog_granularity_free(st);
}

static void test_overflow(void)
{
    g_assert_true(predlog_granularity_overflow(1000, 500, FULL, SUMMARY));
    g_assert_true(predlog_granularity_overflow(1000, 500, HEADER, SUMMARY));
    g_assert_true(predlog_granularity_overflow(1000, 500, FULL, HEADER));
    g_assert_false(predlog_granularity_overflow(500, 500, FULL, SUMMARY));
    g_assert_false(predlog_granularity_overflow(499, 500, FULL, SUMMARY));
    /* At or below the floor there is nowhere to go. */
    g_assert_false(predlog_granularity_overflow(1000, 500, HEADER, HEADER));
    g_assert_false(predlog_granularity_overflow(1000, 500, SUMMARY, SUMMARY));
    g_assert_false(predlog_granularity_overflow(1000, 500, SUMMARY, HEADER));
    g_assert_false(predlog_granularity_overflow(1000, 500, FULL, FULL));
    /* An invalid floor allows SUMMARY. */
    g_assert_true(predlog_granularity_overflow(1000, 500, HEADER,
                                               (PredlogRecordLevel)5));
    /* Degenerate numbers. */
    g_assert_false(predlog_granularity_overflow(0, 0, FULL, SUMMARY));
    g_assert_false(predlog_granularity_overflow(0, -1, FULL, SUMMARY));
    g_assert_true(predlog_granularity_overflow(1, 0, FULL, SUMMARY));
    g_assert_true(predlog_granularity_overflow(1, -1, FULL, SUMMARY));
    g_assert_false(predlog_granularity_overflow(1000, NAN, FULL, SUMMARY));
    g_assert_false(predlog_granularity_overflow(UINT64_MAX, INFINITY, FULL,
                                                SUMMARY));
    g_assert_false(predlog_granularity_overflow(1000, 500,
                                                (PredlogRecordLevel)3,
                                                SUMMARY));
}

/* ------------------------------------------------------------------ */
/* Random                                                              */
/* ------------------------------------------------------------------ */

/* The plan's total at the current levels, with the default margin. */
static double inflated_total(const PredlogGranularityInput *in, unsigned n)
{
    double sum = 0;

    for (unsigned i = 0; i < n; i++) {
        sum += in[i].demand[in[i].current] * (2 - in[i].confidence);
    }
    return sum;
}

/*
 * Random demands over many refreshes, levels fed back: levels stay
 * within [floor, FULL], raises are single steps that fit under the lower
 * line, lowering happens only over the upper line, and a plan left over
 * the line has no useful step left.
 */
static void test_random(void)
{
    GRand *rand = g_rand_new_with_seed(44);

    for (int round = 0; round < 200; round++) {
        unsigned n = g_rand_int_range(rand, 1, MAXF + 1);
        double cap = g_rand_double_range(rand, 0, 10000);
        PredlogGranularityState *st = predlog_granularity_new(NULL, n);
        PredlogGranularityInput in[MAXF];

        for (unsigned i = 0; i < n; i++) {
            in[i].current = predlog_level_from_rank(
                g_rand_int_range(rand, 0, 3));
            in[i].floor = predlog_level_from_rank(
                g_rand_int_range(rand, 0, 2));
            if (predlog_level_rank(in[i].current) <
                predlog_level_rank(in[i].floor)) {
                in[i].current = in[i].floor;
            }
        }
        for (int step = 0; step < 50; step++) {
            double before, after;
            Plan p;

            for (unsigned i = 0; i < n; i++) {
                double f = g_rand_double_range(rand, 0, 2000);

                in[i].demand[FULL] = f;
                in[i].demand[HEADER] = f * g_rand_double(rand);
                in[i].demand[SUMMARY] = in[i].demand[HEADER] *
                                        g_rand_double(rand);
                in[i].confidence = g_rand_double(rand);
            }
            before = inflated_total(in, n);
            p = plan(st, in, n, cap);
            for (unsigned i = 0; i < n; i++) {
                int r0 = predlog_level_rank(in[i].current);
                int r1 = predlog_level_rank(p.out[i]);

                g_assert_cmpint(r1, >=, predlog_level_rank(in[i].floor));
                if (p.reason[i] == R_RELIEF) {
                    g_assert_cmpint(r1, ==, r0 + 1);
                }
                if (p.reason[i] == R_PRESSURE) {
                    g_assert_cmpint(r1, <, r0);
                    g_assert_cmpfloat(before, >, 0.8 * cap);
                }
                g_assert_cmpint(p.reason[i], !=, R_FORCED);
            }
            apply(in, n, &p);
            after = inflated_total(in, n);
            if (after > 0.8 * cap * SLACK) {
                /* Over the line: nothing can be lowered usefully. */
                for (unsigned i = 0; i < n; i++) {
                    int r = predlog_level_rank(in[i].current);
                    int fl = predlog_level_rank(in[i].floor);
                    double q = in[i].confidence;
                    double c = in[i].demand[in[i].current] * (2 - q);

                    for (int lower = fl; lower < r; lower++) {
                        double cl = in[i].demand[
                            predlog_level_from_rank(lower)] * (2 - q);

                        g_assert_cmpfloat(cl, >=, c);
                    }
                }
            }
            for (unsigned i = 0; i < n; i++) {
                if (p.reason[i] == R_RELIEF) {
                    g_assert_cmpfloat(after, <=, 0.65 * cap * SLACK);
                }
            }
        }
        predlog_granularity_free(st);
    }
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/granularity/levels", test_levels);
    g_test_add_func("/granularity/config", test_config);
    g_test_add_func("/granularity/pressure/biggest-saver",
                    test_pressure_biggest_saver);
    g_test_add_func("/granularity/pressure/ties", test_pressure_ties);
    g_test_add_func("/granularity/pressure/flat-step",
                    test_pressure_through_flat_step);
    g_test_add_func("/granularity/floor", test_floor);
    g_test_add_func("/granularity/band/no-change", test_band_no_change);
    g_test_add_func("/granularity/band/after-pressure",
                    test_band_after_pressure);
    g_test_add_func("/granularity/relief/dwell", test_relief_dwell);
    g_test_add_func("/granularity/relief/external-change",
                    test_relief_external_change);
    g_test_add_func("/granularity/relief/several", test_relief_several);
    g_test_add_func("/granularity/confidence", test_confidence);
    g_test_add_func("/granularity/degenerate", test_degenerate);
    g_test_add_func("/granularity/overflow", test_overflow);
    g_test_add_func("/granularity/random", test_random);
    return g_test_run();
}
