/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog forecasters
 *
 * Each model is run on a series it can predict exactly (a constant, a
 * ramp, a season plus a line, an AR recurrence, a piecewise-constant
 * function of the previous value) and must do so; the set must pick that
 * model on that series and obey a forced choice; the offline evaluation
 * must reproduce hand-computed scores; and no input, however hostile,
 * may make anything return NaN, infinity or a negative value.  A bump
 * of known size on an exact series pins each smoothing parameter.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <float.h>
#include <math.h>
#include <string.h>
#include <glib.h>

/*
 * The source itself, not just the header: a few tests check internal
 * invariants (the AR coordinate changes) that no output shows directly.
 * Everything else goes through the public interface only.
 */
#include "util/predlog/forecast.c"

#define N_MODELS    PREDLOG_FORECAST__MAX

/* Tolerances, spelled so that checkpatch does not read 1e-6 as 1e - 6. */
#define TOL_6       (1 / 1e6)
#define TOL_9       (1 / 1e9)
#define TOL_12      (1 / 1e12)
#define TOL_15      (1 / 1e15)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void assert_rel(double got, double want, double tol)
{
    double err = fabs(got - want) / MAX(fabs(want), 1.0);

    if (!(err <= tol)) {
        g_error("got %.17g, want %.17g (relative error %g > %g)",
                got, want, err, tol);
    }
}

static void assert_sane(double v)
{
    if (!(isfinite(v) && v >= 0 && v <= PREDLOG_FORECAST_VALUE_MAX)) {
        g_error("prediction %g is not a finite volume", v);
    }
}

static void assert_sane_fc(PredlogForecast fc)
{
    assert_sane(fc.value);
    g_assert_true(fc.confidence >= 0 && fc.confidence <= 1);
}

/* A series generator: the value at sample @t. */
typedef double SeriesFn(uint64_t t);

static double series_const(uint64_t t G_GNUC_UNUSED)
{
    return 42.5;
}

static double series_ramp(uint64_t t)
{
    return 5 + 3.0 * t;
}

/* An irregular season of 12 on a rising line: HOLT_WINTERS territory. */
static const double season12[12] = {
    0, 10, 3, 40, 7, 2, 25, 0, 5, 60, 1, 9,
};

static double series_season(uint64_t t)
{
    return 100 + 0.5 * t + season12[t % 12];
}

/*
 * A sinusoid of period 7.3 satisfies the AR(2) recurrence
 * y[t] - c = 2 cos(w) (y[t-1] - c) - (y[t-2] - c) exactly.
 */
#define SIN_W       (2 * G_PI / 7.3)

static double series_sin(uint64_t t)
{
    return 100 + 30 * sin(SIN_W * t + 0.4);
}

/*
 * Even samples: r[t], one of 5, 15, ..., 95 (a fixed pseudo-random
 * order); odd samples: g(previous), piecewise constant.  Half of the
 * series is a pure function of the previous value, which only the tree
 * can learn; the other half nobody can predict.
 */
static double tree_g(double x)
{
    return x < 30 ? 200 : x < 70 ? 300 : 400;
}

static double tree_r(uint64_t t)
{
    /* Multiplicative hash of the pair index: deterministic, irregular. */
    uint32_t h = (uint32_t)(t / 2) * 2654435761u;

    return 5 + 10 * ((h >> 16) % 10);
}

static double series_tree(uint64_t t)
{
    return t % 2 ? tree_g(tree_r(t - 1)) : tree_r(t);
}

static PredlogForecaster *run_model(PredlogForecastModel m, SeriesFn *fn,
                                    uint64_t n)
{
    PredlogForecaster *f = predlog_forecaster_new(m);

    g_assert_nonnull(f);
    for (uint64_t t = 0; t < n; t++) {
        predlog_forecaster_update(f, fn(t));
    }
    return f;
}

static PredlogForecastSet *run_set(SeriesFn *fn, uint64_t n)
{
    PredlogForecastSet *s = predlog_forecast_set_new();

    for (uint64_t t = 0; t < n; t++) {
        predlog_forecast_set_update(s, fn(t));
    }
    return s;
}

/* ------------------------------------------------------------------ */
/* Names and construction                                              */
/* ------------------------------------------------------------------ */

static void test_names(void)
{
    static const char *const names[N_MODELS] = {
        "auto", "naive", "ewma", "holt", "holt-winters", "ar", "tree",
    };
    PredlogForecastModel m;

    for (int i = 0; i < N_MODELS; i++) {
        g_assert_cmpstr(predlog_forecast_model_str(i), ==, names[i]);
        m = N_MODELS;
        g_assert_true(predlog_forecast_model_from_str(names[i], &m));
        g_assert_cmpint(m, ==, i);
        g_assert_true(predlog_forecast_model_from_str(
                          predlog_forecast_model_str(i), &m));
        g_assert_cmpint(m, ==, i);
    }
    g_assert_null(predlog_forecast_model_str(N_MODELS));
    g_assert_null(predlog_forecast_model_str((PredlogForecastModel)-1));

    m = PREDLOG_FORECAST_AR;
    g_assert_false(predlog_forecast_model_from_str(NULL, &m));
    g_assert_false(predlog_forecast_model_from_str("", &m));
    g_assert_false(predlog_forecast_model_from_str("Holt", &m));
    g_assert_false(predlog_forecast_model_from_str("holt ", &m));
    g_assert_false(predlog_forecast_model_from_str("holt_winters", &m));
    g_assert_cmpint(m, ==, PREDLOG_FORECAST_AR);
}

static void test_new(void)
{
    PredlogForecastSet *s = predlog_forecast_set_new();
    PredlogForecastScore sc;

    g_assert_null(predlog_forecaster_new(PREDLOG_FORECAST_AUTO));
    g_assert_null(predlog_forecaster_new(PREDLOG_FORECAST__MAX));
    g_assert_null(predlog_forecaster_new((PredlogForecastModel)-1));
    predlog_forecaster_free(NULL);
    predlog_forecast_set_free(NULL);

    /* Nothing seen: predictions 0, confidence 0, nothing scored. */
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        PredlogForecaster *f = predlog_forecaster_new(m);

        g_assert_cmpfloat(predlog_forecaster_predict(f, 1), ==, 0);
        predlog_forecaster_free(f);
    }
    g_assert_cmpint(predlog_forecast_set_mode(s), ==, PREDLOG_FORECAST_AUTO);
    g_assert_cmpint(predlog_forecast_set_active(s), ==,
                    PREDLOG_FORECAST_NAIVE);
    g_assert_cmpfloat(predlog_forecast_set_predict(s, 1).value, ==, 0);
    g_assert_cmpfloat(predlog_forecast_set_predict(s, 1).confidence, ==, 0);
    g_assert_cmpuint(predlog_forecast_set_samples(s), ==, 0);
    g_assert_cmpuint(predlog_forecast_set_period(s), ==, 0);
    predlog_forecast_set_score(s, PREDLOG_FORECAST_AUTO, &sc);
    g_assert_cmpuint(sc.n, ==, 0);
    g_assert_cmpfloat(sc.mae, ==, 0);
    predlog_forecast_set_free(s);
}

/* ------------------------------------------------------------------ */
/* Each model on a series it predicts exactly                          */
/* ------------------------------------------------------------------ */

static void test_constant(void)
{
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        PredlogForecaster *f = run_model(m, series_const, 200);

        for (unsigned k = 1; k <= 20; k++) {
            assert_rel(predlog_forecaster_predict(f, k), 42.5, TOL_9);
        }
        predlog_forecaster_free(f);
    }
    /* The baselines are exact from the first sample. */
    for (int m = PREDLOG_FORECAST_NAIVE; m <= PREDLOG_FORECAST_EWMA; m++) {
        PredlogForecaster *f = run_model(m, series_const, 1);

        g_assert_cmpfloat(predlog_forecaster_predict(f, 1), ==, 42.5);
        g_assert_cmpfloat(predlog_forecaster_predict(f, 9), ==, 42.5);
        predlog_forecaster_free(f);
    }
}

static void test_naive_ewma_values(void)
{
    PredlogForecaster *naive = predlog_forecaster_new(PREDLOG_FORECAST_NAIVE);
    PredlogForecaster *ewma = predlog_forecaster_new(PREDLOG_FORECAST_EWMA);
    static const double y[] = { 10, 20, 0, 7 };
    double level = 10;

    for (unsigned i = 0; i < G_N_ELEMENTS(y); i++) {
        predlog_forecaster_update(naive, y[i]);
        predlog_forecaster_update(ewma, y[i]);
        if (i) {
            level += 0.3 * (y[i] - level);
        }
        g_assert_cmpfloat(predlog_forecaster_predict(naive, 1), ==, y[i]);
        g_assert_cmpfloat(predlog_forecaster_predict(naive, 5), ==, y[i]);
        assert_rel(predlog_forecaster_predict(ewma, 1), level, TOL_12);
        assert_rel(predlog_forecaster_predict(ewma, 3), level, TOL_12);
    }
    /* 10, then 13, 9.1, 8.47 */
    assert_rel(level, 8.47, TOL_12);
    predlog_forecaster_free(naive);
    predlog_forecaster_free(ewma);
}

static void test_holt_ramp(void)
{
    PredlogForecaster *f = predlog_forecaster_new(PREDLOG_FORECAST_HOLT);

    for (uint64_t t = 0; t < 100; t++) {
        predlog_forecaster_update(f, series_ramp(t));
        /* Exact from the second sample on (the trend is seeded). */
        if (t >= 1) {
            for (unsigned k = 1; k <= 30; k += 7) {
                assert_rel(predlog_forecaster_predict(f, k),
                           series_ramp(t + k), TOL_6);
            }
        }
    }
    predlog_forecaster_free(f);

    /*
     * One sample 10 above the ramp: the level takes alpha (0.4) of the
     * error, the trend beta (0.1) of the level's change beyond it.
     */
    f = run_model(PREDLOG_FORECAST_HOLT, series_ramp, 50);
    predlog_forecaster_update(f, series_ramp(50) + 10);
    for (unsigned k = 1; k <= 10; k++) {
        assert_rel(predlog_forecaster_predict(f, k),
                   series_ramp(50 + k) + 4 + 0.4 * k, TOL_9);
    }
    predlog_forecaster_free(f);

    /* A falling ramp is cut at zero, never below. */
    f = predlog_forecaster_new(PREDLOG_FORECAST_HOLT);
    for (uint64_t t = 0; t < 10; t++) {
        predlog_forecaster_update(f, 100 - 10.0 * t);
    }
    assert_rel(predlog_forecaster_predict(f, 1), 0, TOL_9);
    g_assert_cmpfloat(predlog_forecaster_predict(f, 5), ==, 0);
    predlog_forecaster_free(f);
}

static void test_hw_season(void)
{
    PredlogForecaster *hw, *holt;
    PredlogForecastSet *s;

    /* Before a period is known Holt-Winters is Holt, prediction for ... */
    hw = predlog_forecaster_new(PREDLOG_FORECAST_HOLT_WINTERS);
    holt = predlog_forecaster_new(PREDLOG_FORECAST_HOLT);
    for (uint64_t t = 0; t < 40; t++) {
        predlog_forecaster_update(hw, series_season(t));
        predlog_forecaster_update(holt, series_season(t));
        g_assert_cmpfloat(predlog_forecaster_predict(hw, 3), ==,
                          predlog_forecaster_predict(holt, 3));
    }
    predlog_forecaster_free(holt);

    /* ... and once it is, exact on a season plus a line. */
    for (uint64_t t = 40; t < 300; t++) {
        predlog_forecaster_update(hw, series_season(t));
    }
    for (unsigned k = 1; k <= 30; k++) {
        assert_rel(predlog_forecaster_predict(hw, k),
                   series_season(299 + k), TOL_6);
    }

    /*
     * One sample 10 above: level +alpha*10 = +4, trend +beta*4 = +0.4,
     * and that phase's season +gamma*(10 - 4) = +1.8, seen 12 steps on.
     */
    predlog_forecaster_update(hw, series_season(300) + 10);
    for (unsigned k = 1; k <= 24; k++) {
        assert_rel(predlog_forecaster_predict(hw, k),
                   series_season(300 + k) + 4 + 0.4 * k +
                   (k % 12 == 0 ? 1.8 : 0), TOL_6);
    }
    predlog_forecaster_free(hw);

    s = run_set(series_season, 300);
    g_assert_cmpuint(predlog_forecast_set_period(s), ==, 12);
    predlog_forecast_set_free(s);
}

/* Period detection over the whole range, on irregular seasons. */
static void test_period_detection(void)
{
    static const unsigned periods[] = { 4, 5, 7, 12, 24, 33, 60, 64 };
    GRand *rand = g_rand_new_with_seed(7);

    for (unsigned i = 0; i < G_N_ELEMENTS(periods); i++) {
        unsigned p = periods[i];
        double pattern[PREDLOG_FORECAST_PERIOD_MAX];
        PredlogForecastSet *s = predlog_forecast_set_new();
        PredlogForecaster *hw =
            predlog_forecaster_new(PREDLOG_FORECAST_HOLT_WINTERS);

        for (unsigned j = 0; j < p; j++) {
            pattern[j] = g_rand_double_range(rand, 0, 1000);
        }
        for (uint64_t t = 0; t < 600; t++) {
            double y = 50 + 2.0 * t + pattern[t % p];

            predlog_forecast_set_update(s, y);
            predlog_forecaster_update(hw, y);
        }
        g_assert_cmpuint(predlog_forecast_set_period(s), ==, p);
        for (unsigned k = 1; k <= 2 * p; k++) {
            assert_rel(predlog_forecaster_predict(hw, k),
                       50 + 2.0 * (599 + k) + pattern[(599 + k) % p], TOL_6);
        }
        predlog_forecast_set_free(s);
        predlog_forecaster_free(hw);
    }

    /*
     * Smooth seasons: the ACF peak is broad, and the lag just before it
     * must not win for being the first above 90% of the best.
     */
    for (unsigned p = 16; p <= 48; p += 16) {
        PredlogForecastSet *s = predlog_forecast_set_new();

        for (uint64_t t = 0; t < 600; t++) {
            predlog_forecast_set_update(s, 500 + 100 * sin(2 * G_PI * t / p));
        }
        g_assert_cmpuint(predlog_forecast_set_period(s), ==, p);
        predlog_forecast_set_free(s);
    }

    /*
     * Random walks: their ACF stays high at every lag, with bumps that
     * noise puts there and no dip before them.  Never a season.
     */
    for (unsigned seed = 1; seed <= 8; seed++) {
        PredlogForecastSet *s = predlog_forecast_set_new();
        GRand *walk_rand = g_rand_new_with_seed(seed);
        double walk = 1e4;

        for (uint64_t t = 0; t < 600; t++) {
            walk += g_rand_double_range(walk_rand, -100, 100);
            predlog_forecast_set_update(s, walk);
            g_assert_cmpuint(predlog_forecast_set_period(s), ==, 0);
        }
        g_rand_free(walk_rand);
        predlog_forecast_set_free(s);
    }

    /* No season in a constant, a ramp, white noise or a sinusoid of 80. */
    {
        PredlogForecastSet *c = run_set(series_const, 600);
        PredlogForecastSet *r = run_set(series_ramp, 600);
        PredlogForecastSet *n = predlog_forecast_set_new();
        PredlogForecastSet *l = predlog_forecast_set_new();

        for (uint64_t t = 0; t < 600; t++) {
            predlog_forecast_set_update(n, g_rand_double_range(rand, 0, 1e6));
            predlog_forecast_set_update(l, 500 + 100 * sin(2 * G_PI * t / 80));
        }
        g_assert_cmpuint(predlog_forecast_set_period(c), ==, 0);
        g_assert_cmpuint(predlog_forecast_set_period(r), ==, 0);
        g_assert_cmpuint(predlog_forecast_set_period(n), ==, 0);
        g_assert_cmpuint(predlog_forecast_set_period(l), ==, 0);
        predlog_forecast_set_free(c);
        predlog_forecast_set_free(r);
        predlog_forecast_set_free(n);
        predlog_forecast_set_free(l);
    }

    /* A season that stops is dropped after a few checks. */
    {
        PredlogForecastSet *s = run_set(series_season, 300);

        g_assert_cmpuint(predlog_forecast_set_period(s), ==, 12);
        for (uint64_t t = 0; t < 80; t++) {
            predlog_forecast_set_update(s, 250);
        }
        g_assert_cmpuint(predlog_forecast_set_period(s), ==, 12);
        for (uint64_t t = 0; t < 300; t++) {
            predlog_forecast_set_update(s, 250);
        }
        g_assert_cmpuint(predlog_forecast_set_period(s), ==, 0);
        predlog_forecast_set_free(s);
    }
    g_rand_free(rand);
}

static void test_ar_sinusoid(void)
{
    PredlogForecaster *f = run_model(PREDLOG_FORECAST_AR, series_sin, 600);
    double a[PREDLOG_FORECAST_AR_ORDER];
    double re = 1, im = 0;

    for (unsigned k = 1; k <= 20; k++) {
        assert_rel(predlog_forecaster_predict(f, k), series_sin(599 + k),
                   TOL_6);
    }
    /*
     * The sinusoid spans two dimensions only, so the AR(6) fit is not
     * unique; whatever it is, its polynomial 1 - sum a_i z^i must have the
     * recurrence's roots exp(+-iw).
     */
    g_assert_cmpuint(predlog_forecaster_ar_coefficients(f, a, G_N_ELEMENTS(a)),
                     ==, PREDLOG_FORECAST_AR_ORDER);
    for (unsigned i = 0; i < PREDLOG_FORECAST_AR_ORDER; i++) {
        re -= a[i] * cos(SIN_W * (i + 1));
        im -= a[i] * sin(SIN_W * (i + 1));
    }
    g_assert_cmpfloat(hypot(re, im), <, TOL_6);
    predlog_forecaster_free(f);
}

/*
 * Three sinusoids plus a constant: an exact AR(6) recurrence whose six
 * coefficients are identifiable, those of
 * (1 - 2 cos w1 z + z^2)(1 - 2 cos w2 z + z^2)(1 - 2 cos w3 z + z^2).
 */
static const double ar6_w[3] = { 2 * G_PI / 5.3, 2 * G_PI / 11.7,
                                 2 * G_PI / 3.1 };

static double series_ar6(uint64_t t)
{
    return 1000 + 50 * sin(ar6_w[0] * t) + 30 * sin(ar6_w[1] * t + 1) +
        20 * sin(ar6_w[2] * t + 2);
}

static void test_ar_coefficients(void)
{
    PredlogForecaster *f = run_model(PREDLOG_FORECAST_AR, series_ar6, 2000);
    double poly[7] = { 1 }, a[PREDLOG_FORECAST_AR_ORDER + 2];

    /* Multiply out the three quadratic factors. */
    for (unsigned q = 0; q < 3; q++) {
        double c = -2 * cos(ar6_w[q]);
        double next[7] = { 0 };

        for (unsigned i = 0; i + 2 < 7; i++) {
            next[i] += poly[i];
            next[i + 1] += c * poly[i];
            next[i + 2] += poly[i];
        }
        memcpy(poly, next, sizeof(poly));
    }
    /* y[t] = sum a_i y[t-i]: a_i = -poly[i] */
    a[PREDLOG_FORECAST_AR_ORDER] = a[PREDLOG_FORECAST_AR_ORDER + 1] = -7;
    g_assert_cmpuint(predlog_forecaster_ar_coefficients(f, a, G_N_ELEMENTS(a)),
                     ==, 6);
    /* Only the order's worth was written. */
    g_assert_cmpfloat(a[PREDLOG_FORECAST_AR_ORDER], ==, -7);
    for (unsigned i = 0; i < 6; i++) {
        if (fabs(a[i] + poly[i + 1]) > TOL_6) {
            g_error("a%u = %.12g, want %.12g", i + 1, a[i], -poly[i + 1]);
        }
    }
    for (unsigned k = 1; k <= 10; k++) {
        assert_rel(predlog_forecaster_predict(f, k), series_ar6(1999 + k),
                   TOL_6);
    }
    g_assert_cmpuint(predlog_forecaster_ar_coefficients(f, a, 0), ==, 6);
    predlog_forecaster_free(f);

    f = predlog_forecaster_new(PREDLOG_FORECAST_HOLT);
    g_assert_cmpuint(predlog_forecaster_ar_coefficients(f, a, 6), ==, 0);
    predlog_forecaster_free(f);
}

/*
 * A ramp plus a sinusoid is an exact AR(4) recurrence (roots 1, 1 and
 * exp(+-iw)), and it keeps moving the AR model's running mean and
 * deviation, so its centre and scale change again and again: each change
 * must leave the exact fit exact.
 */
static double series_ramp_sin(uint64_t t)
{
    return 10 + 2.0 * t + 30 * sin(SIN_W * t);
}

static void test_ar_moving(void)
{
    PredlogForecaster *f = predlog_forecaster_new(PREDLOG_FORECAST_AR);
    double m = 0, s = 0;
    unsigned moves = 0;

    for (uint64_t t = 0; t < 1500; t++) {
        predlog_forecaster_update(f, series_ramp_sin(t));
        if (f->st.ar.m != m || f->st.ar.s != s) {
            moves++;
            m = f->st.ar.m;
            s = f->st.ar.s;
        }
        if (t >= 300) {
            assert_rel(predlog_forecaster_predict(f, 1),
                       series_ramp_sin(t + 1), TOL_6);
            assert_rel(predlog_forecaster_predict(f, 7),
                       series_ramp_sin(t + 7), TOL_6);
        }
    }
    /* The test means something only if the coordinates did move. */
    g_assert_cmpuint(moves, >, 20);
    predlog_forecaster_free(f);
}

/*
 * White box: a change of centre or scale is a change of coordinates, so
 * for any regressors the prediction in y units and the leverage
 * phi^T P phi must be what they were.
 */
static void ar_probe(const ArState *s, const double *lags, double *pred,
                     double *lev)
{
    double phi[AR_D], acc = 0, q = 0;

    for (unsigned i = 0; i < AR_P; i++) {
        phi[i] = (lags[i] - s->m) / s->s;
    }
    phi[AR_P] = 1;
    for (unsigned i = 0; i < AR_D; i++) {
        acc += s->theta[i] * phi[i];
        for (unsigned j = 0; j < AR_D; j++) {
            q += phi[i] * s->p[i][j] * phi[j];
        }
    }
    *pred = s->m + s->s * acc;
    *lev = q;
}

static void test_ar_coordinates(void)
{
    GRand *rand = g_rand_new_with_seed(3);

    for (unsigned round = 0; round < 200; round++) {
        ArState s = { .m = g_rand_double_range(rand, -1e3, 1e3),
                      .s = g_rand_double_range(rand, 0.1, 100) };
        double a[AR_D][AR_D];
        double lags[4][AR_P], pred[4], lev[4];

        /* A random symmetric positive definite P = A A^T + I. */
        for (unsigned i = 0; i < AR_D; i++) {
            s.theta[i] = g_rand_double_range(rand, -1, 1);
            for (unsigned j = 0; j < AR_D; j++) {
                a[i][j] = g_rand_double_range(rand, -1, 1);
            }
        }
        for (unsigned i = 0; i < AR_D; i++) {
            for (unsigned j = 0; j < AR_D; j++) {
                s.p[i][j] = i == j;
                for (unsigned k = 0; k < AR_D; k++) {
                    s.p[i][j] += a[i][k] * a[j][k];
                }
            }
        }
        for (unsigned v = 0; v < 4; v++) {
            for (unsigned i = 0; i < AR_P; i++) {
                lags[v][i] = g_rand_double_range(rand, -1e3, 1e3);
            }
            ar_probe(&s, lags[v], &pred[v], &lev[v]);
        }
        if (round % 2) {
            ar_recentre(&s, g_rand_double_range(rand, -1e3, 1e3));
        } else {
            /* Within the range that transforms rather than resets. */
            ar_rescale(&s, s.s * exp(g_rand_double_range(rand, -6, 6)));
        }
        for (unsigned v = 0; v < 4; v++) {
            double p2, l2;

            ar_probe(&s, lags[v], &p2, &l2);
            assert_rel(p2, pred[v], TOL_9);
            assert_rel(l2, lev[v], TOL_9);
        }
    }
    g_rand_free(rand);
}

/*
 * White box: on a constant nothing but the intercept is excited; the
 * other directions of P must level off (near 1e6), not grow by 1/lambda
 * per sample until a reset throws the fit away.
 */
static void test_ar_bounded(void)
{
    PredlogForecaster *f = predlog_forecaster_new(PREDLOG_FORECAST_AR);

    for (uint64_t t = 0; t < 6000; t++) {
        predlog_forecaster_update(f, 77);
        if (t < 3000) {
            continue;
        }
        for (unsigned i = 0; i < AR_D; i++) {
            g_assert_cmpfloat(f->st.ar.p[i][i], >, 0);
            g_assert_cmpfloat(f->st.ar.p[i][i], <, 3e6);
        }
        g_assert_cmpfloat(predlog_forecaster_predict(f, 1), ==, 77);
    }
    predlog_forecaster_free(f);
}

/* White box: the tree's features, with and without a period. */
static void test_tree_features(void)
{
    History h = { .count = 0 };
    Path path = { .h = &h };
    double f[TREE_FEATURES];

    for (unsigned i = 0; i < 300; i++) {
        h.y[h.count & HIST_MASK] = i * i;
        h.count++;
    }
    path.end = h.count;
    /* Row 299 predicts y[300]: y[299], y[298], y[297], mean y[292..299]. */
    g_assert_cmpuint(tree_features(&path, 299, 0, f), ==, 4);
    g_assert_cmpfloat(f[0], ==, 299 * 299);
    g_assert_cmpfloat(f[1], ==, 298 * 298);
    g_assert_cmpfloat(f[2], ==, 297 * 297);
    assert_rel(f[3], (292.0 * 292 + 293 * 293 + 294 * 294 + 295 * 295 +
                      296 * 296 + 297 * 297 + 298 * 298 + 299 * 299) / 8,
               TOL_15);
    /* With a period of 10, also y[300 - 10]. */
    g_assert_cmpuint(tree_features(&path, 299, 10, f), ==, 5);
    g_assert_cmpfloat(f[4], ==, 290 * 290);
    /* Rows past the history read the path's predictions. */
    path_put(&path, 300, 5);
    path_put(&path, 301, 6);
    tree_features(&path, 301, 10, f);
    g_assert_cmpfloat(f[0], ==, 6);
    g_assert_cmpfloat(f[1], ==, 5);
    g_assert_cmpfloat(f[2], ==, 299 * 299);
    g_assert_cmpfloat(f[4], ==, 292 * 292);
}

/* A cycle 10, 50, 90, 50, 30: the tree iterates its own predictions. */
static const double tree_cycle[5] = { 10, 50, 90, 50, 30 };

static double series_cycle(uint64_t t)
{
    return tree_cycle[t % 5];
}

static void test_tree_iterates(void)
{
    PredlogForecaster *f = run_model(PREDLOG_FORECAST_TREE, series_cycle, 200);

    for (unsigned k = 1; k <= 25; k++) {
        assert_rel(predlog_forecaster_predict(f, k), series_cycle(199 + k),
                   TOL_9);
    }
    predlog_forecaster_free(f);
}

static void test_tree_piecewise(void)
{
    PredlogForecaster *f = run_model(PREDLOG_FORECAST_TREE, series_tree, 400);
    unsigned checked = 0;

    for (uint64_t t = 400; t < 600; t++) {
        predlog_forecaster_update(f, series_tree(t));
        /* After an even sample the next one is g() of it. */
        if (t % 2 == 0) {
            assert_rel(predlog_forecaster_predict(f, 1),
                       tree_g(series_tree(t)), TOL_9);
            checked++;
        }
    }
    g_assert_cmpuint(checked, ==, 100);
    predlog_forecaster_free(f);
}

/* ------------------------------------------------------------------ */
/* The set: selection, forcing, scores, confidence                     */
/* ------------------------------------------------------------------ */

typedef struct SelectCase {
    const char *name;
    SeriesFn *fn;
    uint64_t n;
    PredlogForecastModel want;
} SelectCase;

static const SelectCase select_cases[] = {
    { "constant", series_const, 200, PREDLOG_FORECAST_NAIVE },
    { "ramp", series_ramp, 400, PREDLOG_FORECAST_HOLT },
    { "season", series_season, 800, PREDLOG_FORECAST_HOLT_WINTERS },
    { "ar", series_sin, 800, PREDLOG_FORECAST_AR },
    { "tree", series_tree, 400, PREDLOG_FORECAST_TREE },
};

static void test_select(gconstpointer data)
{
    const SelectCase *c = data;
    PredlogForecastSet *s = run_set(c->fn, c->n);
    PredlogForecastScore sc, want;
    PredlogForecast fc;

    g_assert_cmpstr(predlog_forecast_model_str(predlog_forecast_set_active(s)),
                    ==, predlog_forecast_model_str(c->want));
    g_assert_cmpint(predlog_forecast_set_mode(s), ==, PREDLOG_FORECAST_AUTO);
    g_assert_cmpuint(predlog_forecast_set_samples(s), ==, c->n);

    /* The selection scores as well as the model, once it is in use. */
    predlog_forecast_set_score(s, c->want, &want);
    predlog_forecast_set_score(s, PREDLOG_FORECAST_AUTO, &sc);
    g_assert_cmpuint(sc.n, ==, c->n - 1);
    g_assert_cmpuint(want.n, ==, c->n - 1);
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        PredlogForecastScore other;

        predlog_forecast_set_score(s, m, &other);
        g_assert_cmpfloat(want.smape, <=, other.smape);
    }
    fc = predlog_forecast_set_predict(s, 1);
    if (c->fn != series_tree) {
        /*
         * Exact: the recent error is what is left of the warm-up's after
         * hundreds of samples of decay, confidence is 1 but for that.
         */
        g_assert_cmpfloat(want.mae, <, c->fn(c->n) * TOL_6);
        g_assert_cmpfloat(want.smape, <, TOL_6);
        assert_rel(fc.value, c->fn(c->n), TOL_6);
        g_assert_cmpfloat(fc.confidence, >, 0.999999);
    } else {
        g_assert_cmpfloat(fc.confidence, >, 0.5);
        g_assert_cmpfloat(fc.confidence, <, 1);
    }

    /* Forced: the set is the forced model, whatever the errors say. */
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        PredlogForecaster *f = run_model(m, c->fn, c->n);

        predlog_forecast_set_select(s, m);
        g_assert_cmpint(predlog_forecast_set_mode(s), ==, m);
        g_assert_cmpint(predlog_forecast_set_active(s), ==, m);
        predlog_forecast_set_update(s, c->fn(c->n));
        predlog_forecaster_update(f, c->fn(c->n));
        g_assert_cmpint(predlog_forecast_set_active(s), ==, m);
        for (unsigned k = 1; k <= 13; k += 4) {
            g_assert_cmpfloat(predlog_forecast_set_predict(s, k).value, ==,
                              predlog_forecaster_predict(f, k));
        }
        predlog_forecaster_free(f);
        predlog_forecast_set_free(s);
        s = run_set(c->fn, c->n);
    }

    /* Back to AUTO: the best model at once. */
    predlog_forecast_set_select(s, PREDLOG_FORECAST_TREE);
    predlog_forecast_set_select(s, PREDLOG_FORECAST_AUTO);
    g_assert_cmpint(predlog_forecast_set_mode(s), ==, PREDLOG_FORECAST_AUTO);
    g_assert_cmpint(predlog_forecast_set_active(s), ==, c->want);
    /* Out of range: ignored. */
    predlog_forecast_set_select(s, PREDLOG_FORECAST__MAX);
    g_assert_cmpint(predlog_forecast_set_mode(s), ==, PREDLOG_FORECAST_AUTO);
    predlog_forecast_set_free(s);
}

/* A model in a set predicts what the same model does on its own. */
static double series_mixed(uint64_t t)
{
    return series_season(t) + (t % 37 == 0 ? 500 : 0) + series_tree(t);
}

static void test_set_matches_standalone(void)
{
    PredlogForecastSet *s = predlog_forecast_set_new();
    PredlogForecaster *f[N_MODELS] = { NULL };

    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        f[m] = predlog_forecaster_new(m);
    }
    for (uint64_t t = 0; t < 500; t++) {
        predlog_forecast_set_update(s, series_mixed(t));
        for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
            predlog_forecaster_update(f[m], series_mixed(t));
        }
        if (t % 23) {
            continue;
        }
        for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
            predlog_forecast_set_select(s, m);
            g_assert_cmpfloat(predlog_forecast_set_predict(s, 1).value, ==,
                              predlog_forecaster_predict(f[m], 1));
            g_assert_cmpfloat(predlog_forecast_set_predict(s, 17).value, ==,
                              predlog_forecaster_predict(f[m], 17));
        }
        predlog_forecast_set_select(s, PREDLOG_FORECAST_AUTO);
    }
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        predlog_forecaster_free(f[m]);
    }
    predlog_forecast_set_free(s);
}

static void test_peak(void)
{
    static SeriesFn *const fns[] = {
        series_const, series_ramp, series_season, series_sin, series_tree,
        series_mixed,
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(fns); i++) {
        PredlogForecastSet *s = predlog_forecast_set_new();

        for (uint64_t t = 0; t < 300; t++) {
            predlog_forecast_set_update(s, fns[i](t));
            if (t % 7) {
                continue;
            }
            for (int m = 0; m < N_MODELS; m++) {
                double max = 0;

                predlog_forecast_set_select(s, m);
                for (unsigned k = 1; k <= 40; k++) {
                    PredlogForecast p = predlog_forecast_set_predict(s, k);
                    PredlogForecast pk = predlog_forecast_set_peak(s, k);

                    max = MAX(max, p.value);
                    g_assert_cmpfloat(pk.value, >=, p.value);
                    g_assert_cmpfloat(pk.value, ==, max);
                    g_assert_cmpfloat(pk.confidence, ==, p.confidence);
                }
            }
            predlog_forecast_set_select(s, PREDLOG_FORECAST_AUTO);
        }
        predlog_forecast_set_free(s);
    }
}

/* The decayed scores and the confidence, computed here by hand. */
static void test_scores_confidence(void)
{
    /* NAIVE on 20, 24, 20, ...: always off by 4, about 18% of 22. */
    double y[40];
    PredlogForecastSet *s = predlog_forecast_set_new();
    const double d = 31.0 / 32.0;
    double w = 0, ae = 0, ape = 0, ay = 0;
    PredlogForecastScore sc;

    predlog_forecast_set_select(s, PREDLOG_FORECAST_NAIVE);
    for (unsigned i = 0; i < G_N_ELEMENTS(y); i++) {
        PredlogForecast fc;

        y[i] = i % 2 ? 24 : 20;
        predlog_forecast_set_update(s, y[i]);
        if (i) {
            double e = fabs(y[i] - y[i - 1]);

            w = w * d + 1;
            ae = ae * d + e;
            ape = ape * d + e / ((y[i] + y[i - 1]) / 2);
            ay = ay * d + y[i];
        }
        predlog_forecast_set_score(s, PREDLOG_FORECAST_NAIVE, &sc);
        g_assert_cmpuint(sc.n, ==, i);
        if (i) {
            assert_rel(sc.mae, ae / w, TOL_12);
            assert_rel(sc.smape, ape / w, TOL_12);
        }
        fc = predlog_forecast_set_predict(s, 1);
        if (i < PREDLOG_FORECAST_WARMUP) {
            g_assert_cmpfloat(fc.confidence, ==, 0);
        } else {
            assert_rel(fc.confidence, MAX(0, 1 - ae / ay), TOL_12);
            g_assert_cmpfloat(fc.confidence, >, 0.8);
            g_assert_cmpfloat(fc.confidence, <, 0.84);
        }
    }
    predlog_forecast_set_free(s);

    /* Zeros: 0/0 errors count 0, confidence 1. */
    s = predlog_forecast_set_new();
    for (unsigned i = 0; i < 40; i++) {
        predlog_forecast_set_update(s, 0);
    }
    predlog_forecast_set_score(s, PREDLOG_FORECAST_AUTO, &sc);
    g_assert_cmpfloat(sc.smape, ==, 0);
    g_assert_cmpfloat(sc.mae, ==, 0);
    g_assert_cmpfloat(predlog_forecast_set_predict(s, 1).confidence, ==, 1);
    g_assert_cmpfloat(predlog_forecast_set_predict(s, 1).value, ==, 0);
    predlog_forecast_set_free(s);
}

/* Two near-equal models on noise must not take turns every sample. */
static void test_stickiness(void)
{
    PredlogForecastSet *s = predlog_forecast_set_new();
    GRand *rand = g_rand_new_with_seed(42);
    PredlogForecastModel prev = PREDLOG_FORECAST_NAIVE;
    unsigned changes = 0, run = 0, min_run = UINT_MAX;

    for (unsigned t = 0; t < 3000; t++) {
        PredlogForecastModel a;

        predlog_forecast_set_update(s, 1000 + g_rand_double_range(rand, 0,
                                                                  100));
        a = predlog_forecast_set_active(s);
        run++;
        if (a != prev) {
            changes++;
            min_run = MIN(min_run, run);
            run = 0;
            prev = a;
        }
    }
    /* Never faster than the hold, and rarely at all. */
    g_assert_cmpuint(min_run, >=, 8);
    g_assert_cmpuint(changes, <, 3000 / 50);
    g_rand_free(rand);
    predlog_forecast_set_free(s);
}

/*
 * White box: the selection rule on scores set by hand.  A challenger
 * needs an sMAPE below 0.9 times the incumbent's, and the incumbent keeps
 * its place for 8 samples after it was chosen; ties go to the simpler
 * model.
 */
static void set_scores(PredlogForecastSet *s, const double *smape)
{
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        s->score[m].sape = smape[m] * s->w;
    }
}

static void test_selection_rule(void)
{
    PredlogForecastSet *s = run_set(series_const, 40);
    double smape[N_MODELS] = { 0, 1, 1, 1, 1, 1, 1 };

    g_assert_cmpint(predlog_forecast_set_active(s), ==,
                    PREDLOG_FORECAST_NAIVE);
    /* 5% better: not enough. */
    smape[PREDLOG_FORECAST_AR] = 0.95;
    set_scores(s, smape);
    set_reselect(s);
    g_assert_cmpint(predlog_forecast_set_active(s), ==,
                    PREDLOG_FORECAST_NAIVE);
    /* 11% better: switch, and the selection now predicts with AR. */
    smape[PREDLOG_FORECAST_AR] = 0.89;
    set_scores(s, smape);
    set_reselect(s);
    g_assert_cmpint(predlog_forecast_set_active(s), ==, PREDLOG_FORECAST_AR);
    g_assert_cmpfloat(s->score[PREDLOG_FORECAST_AUTO].pending, ==,
                      s->score[PREDLOG_FORECAST_AR].pending);
    /* Held: for 7 more samples nothing replaces it, however good. */
    smape[PREDLOG_FORECAST_EWMA] = 0;
    set_scores(s, smape);
    for (unsigned i = 1; i < 8; i++) {
        s->held++;
        set_reselect(s);
        g_assert_cmpint(predlog_forecast_set_active(s), ==,
                        PREDLOG_FORECAST_AR);
    }
    s->held++;
    set_reselect(s);
    g_assert_cmpint(predlog_forecast_set_active(s), ==, PREDLOG_FORECAST_EWMA);
    /* Equal best scores: the lower enum value. */
    smape[PREDLOG_FORECAST_HOLT] = smape[PREDLOG_FORECAST_TREE] = 0.5;
    smape[PREDLOG_FORECAST_EWMA] = 1;
    set_scores(s, smape);
    s->held = 100;
    set_reselect(s);
    g_assert_cmpint(predlog_forecast_set_active(s), ==, PREDLOG_FORECAST_HOLT);
    predlog_forecast_set_free(s);
}

static void test_horizon(void)
{
    PredlogForecastSet *s = run_set(series_ramp, 50);
    PredlogForecaster *f = run_model(PREDLOG_FORECAST_AR, series_sin, 100);

    g_assert_cmpint(predlog_forecast_set_active(s), ==, PREDLOG_FORECAST_HOLT);
    g_assert_cmpfloat(predlog_forecast_set_predict(s, 0).value, ==,
                      predlog_forecast_set_predict(s, 1).value);
    g_assert_cmpfloat(predlog_forecast_set_predict(s, UINT_MAX).value, ==,
                      predlog_forecast_set_predict(
                          s, PREDLOG_FORECAST_HORIZON_MAX).value);
    assert_rel(predlog_forecast_set_predict(s, UINT_MAX).value,
               series_ramp(49 + PREDLOG_FORECAST_HORIZON_MAX), TOL_9);
    g_assert_cmpfloat(predlog_forecaster_predict(f, 0), ==,
                      predlog_forecaster_predict(f, 1));
    g_assert_cmpfloat(predlog_forecaster_predict(f, UINT_MAX), ==,
                      predlog_forecaster_predict(
                          f, PREDLOG_FORECAST_HORIZON_MAX));
    predlog_forecaster_free(f);
    predlog_forecast_set_free(s);
}

/* ------------------------------------------------------------------ */
/* Offline evaluation                                                  */
/* ------------------------------------------------------------------ */

static void test_evaluate_naive(void)
{
    /* -3 counts as 0; the NaN is skipped, so 6 is predicted by 3. */
    static const double y[] = { 2, 4, 0, -3, 3, NAN, 6 };
    PredlogForecastScore sc;

    /*
     * Predictions 2, 4, 0, 0, 3 for 4, 0, 0, 3, 6: errors 2, 4, 0, 3, 3;
     * sAPE 2*2/6, 2, 0 (0/0), 2, 2*3/9.
     */
    predlog_forecast_evaluate(PREDLOG_FORECAST_NAIVE, y, G_N_ELEMENTS(y), 0,
                              &sc);
    g_assert_cmpuint(sc.n, ==, 5);
    assert_rel(sc.mae, 12.0 / 5, TOL_12);
    assert_rel(sc.smape, (2.0 / 3 + 2 + 0 + 2 + 2.0 / 3) / 5, TOL_12);

    /* From index 3 on: 0, 3, 3 and 0, 2, 2/3. */
    predlog_forecast_evaluate(PREDLOG_FORECAST_NAIVE, y, G_N_ELEMENTS(y), 3,
                              &sc);
    g_assert_cmpuint(sc.n, ==, 3);
    assert_rel(sc.mae, 2, TOL_12);
    assert_rel(sc.smape, (2 + 2.0 / 3) / 3, TOL_12);

    /* Index 0 is never scored; nothing to score is all zeros. */
    predlog_forecast_evaluate(PREDLOG_FORECAST_NAIVE, y, 1, 0, &sc);
    g_assert_cmpuint(sc.n, ==, 0);
    g_assert_cmpfloat(sc.mae, ==, 0);
    predlog_forecast_evaluate(PREDLOG_FORECAST_NAIVE, y, G_N_ELEMENTS(y), 99,
                              &sc);
    g_assert_cmpuint(sc.n, ==, 0);
    predlog_forecast_evaluate(PREDLOG_FORECAST__MAX, y, G_N_ELEMENTS(y), 0,
                              &sc);
    g_assert_cmpuint(sc.n, ==, 0);
    g_assert_cmpfloat(sc.smape, ==, 0);
}

static void test_evaluate_models(void)
{
    double y[400];
    PredlogForecastScore naive, sc;

    for (unsigned i = 0; i < G_N_ELEMENTS(y); i++) {
        y[i] = series_season(i);
    }
    predlog_forecast_evaluate(PREDLOG_FORECAST_NAIVE, y, G_N_ELEMENTS(y), 200,
                              &naive);
    g_assert_cmpuint(naive.n, ==, 200);
    g_assert_cmpfloat(naive.mae, >, 10);
    /* Exact once the season is known, and the selection follows it. */
    predlog_forecast_evaluate(PREDLOG_FORECAST_HOLT_WINTERS, y,
                              G_N_ELEMENTS(y), 200, &sc);
    g_assert_cmpuint(sc.n, ==, 200);
    g_assert_cmpfloat(sc.mae, <, TOL_6);
    predlog_forecast_evaluate(PREDLOG_FORECAST_AUTO, y, G_N_ELEMENTS(y), 250,
                              &sc);
    g_assert_cmpuint(sc.n, ==, 150);
    g_assert_cmpfloat(sc.mae, <, TOL_6);
}

/* ------------------------------------------------------------------ */
/* Robustness                                                          */
/* ------------------------------------------------------------------ */

typedef struct Hostile {
    const char *name;
    double (*fn)(uint64_t t, GRand *rand);
} Hostile;

static double h_zeros(uint64_t t G_GNUC_UNUSED,
                      GRand *rand G_GNUC_UNUSED)
{
    return 0;
}

static double h_huge(uint64_t t, GRand *rand G_GNUC_UNUSED)
{
    static const double v[] = { 1e300, DBL_MAX, 1e15, 1e16, 0, 1e308, 7 };

    return v[t % G_N_ELEMENTS(v)];
}

static double h_nonfinite(uint64_t t, GRand *rand)
{
    switch (t % 5) {
    case 0:
        return NAN;
    case 1:
        return INFINITY;
    case 2:
        return -INFINITY;
    default:
        return g_rand_double_range(rand, 0, 100);
    }
}

static double h_spike(uint64_t t, GRand *rand G_GNUC_UNUSED)
{
    return t == 150 ? 1e15 : 3;
}

static double h_zero_spike(uint64_t t, GRand *rand G_GNUC_UNUSED)
{
    return t == 150 || t == 151 ? PREDLOG_FORECAST_VALUE_MAX : 0;
}

static double h_tiny(uint64_t t, GRand *rand G_GNUC_UNUSED)
{
    return t % 2 ? DBL_MIN : DBL_TRUE_MIN * (t % 3);
}

static double h_negative(uint64_t t G_GNUC_UNUSED, GRand *rand)
{
    return -g_rand_double_range(rand, 0, 1e9);
}

static double h_flip(uint64_t t, GRand *rand G_GNUC_UNUSED)
{
    return t % 2 ? PREDLOG_FORECAST_VALUE_MAX : 0;
}

static double h_random(uint64_t t G_GNUC_UNUSED, GRand *rand)
{
    double v = g_rand_double(rand);

    /* Any finite or non-finite double, mostly wild. */
    if (v < 0.1) {
        return NAN;
    }
    return ldexp(g_rand_double_range(rand, -1, 1),
                 g_rand_int_range(rand, -1070, 1024));
}

static double h_level_shift(uint64_t t, GRand *rand G_GNUC_UNUSED)
{
    return t < 200 ? 5 : 5e12 + (t % 4);
}

static const Hostile hostile[] = {
    { "zeros", h_zeros },
    { "huge", h_huge },
    { "nonfinite", h_nonfinite },
    { "spike", h_spike },
    { "zero-spike", h_zero_spike },
    { "tiny", h_tiny },
    { "negative", h_negative },
    { "flip", h_flip },
    { "random", h_random },
    { "level-shift", h_level_shift },
};

static void test_robust(gconstpointer data)
{
    const Hostile *h = data;
    GRand *rand = g_rand_new_with_seed(1);
    PredlogForecastSet *s = predlog_forecast_set_new();
    PredlogForecaster *f[N_MODELS] = { NULL };
    uint64_t samples = 0;

    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        f[m] = predlog_forecaster_new(m);
    }
    for (uint64_t t = 0; t < 600; t++) {
        double y = h->fn(t, rand);
        PredlogForecastScore sc;

        predlog_forecast_set_update(s, y);
        samples += isfinite(y);
        g_assert_cmpuint(predlog_forecast_set_samples(s), ==, samples);
        for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
            predlog_forecaster_update(f[m], y);
            assert_sane(predlog_forecaster_predict(f[m], 1));
            assert_sane(predlog_forecaster_predict(f[m], 10));
            assert_sane(predlog_forecaster_predict(f[m], UINT_MAX));
        }
        assert_sane_fc(predlog_forecast_set_predict(s, 1));
        assert_sane_fc(predlog_forecast_set_predict(s, 10));
        assert_sane_fc(predlog_forecast_set_peak(s, 100));
        for (int m = 0; m < N_MODELS; m++) {
            predlog_forecast_set_score(s, m, &sc);
            g_assert_true(isfinite(sc.mae) && sc.mae >= 0);
            g_assert_true(sc.smape >= 0 && sc.smape <= 2);
        }
        if (t % 50 == 0) {
            /* Every model of the set, forced, is sane too. */
            for (int m = 0; m < N_MODELS; m++) {
                predlog_forecast_set_select(s, m);
                assert_sane_fc(predlog_forecast_set_predict(s, 3));
                assert_sane_fc(predlog_forecast_set_peak(s, 30));
            }
            predlog_forecast_set_select(s, PREDLOG_FORECAST_AUTO);
        }
    }
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_MODELS; m++) {
        predlog_forecaster_free(f[m]);
    }
    predlog_forecast_set_free(s);
    g_rand_free(rand);
}

/* A non-finite sample is as if it never came. */
static void test_nan_ignored(void)
{
    PredlogForecastSet *a = predlog_forecast_set_new();
    PredlogForecastSet *b = predlog_forecast_set_new();

    for (uint64_t t = 0; t < 300; t++) {
        PredlogForecastScore sa, sb;

        predlog_forecast_set_update(a, series_mixed(t));
        predlog_forecast_set_update(b, series_mixed(t));
        if (t % 3 == 0) {
            predlog_forecast_set_update(b, NAN);
            predlog_forecast_set_update(b, -INFINITY);
        }
        g_assert_cmpuint(predlog_forecast_set_samples(b), ==, t + 1);
        g_assert_cmpint(predlog_forecast_set_active(a), ==,
                        predlog_forecast_set_active(b));
        g_assert_cmpfloat(predlog_forecast_set_predict(a, 5).value, ==,
                          predlog_forecast_set_predict(b, 5).value);
        predlog_forecast_set_score(a, PREDLOG_FORECAST_AUTO, &sa);
        predlog_forecast_set_score(b, PREDLOG_FORECAST_AUTO, &sb);
        g_assert_cmpfloat(sa.mae, ==, sb.mae);
        g_assert_cmpuint(sa.n, ==, sb.n);
    }
    predlog_forecast_set_free(a);
    predlog_forecast_set_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/forecast/names", test_names);
    g_test_add_func("/forecast/new", test_new);
    g_test_add_func("/forecast/constant", test_constant);
    g_test_add_func("/forecast/naive-ewma", test_naive_ewma_values);
    g_test_add_func("/forecast/holt/ramp", test_holt_ramp);
    g_test_add_func("/forecast/holt-winters/season", test_hw_season);
    g_test_add_func("/forecast/holt-winters/period-detection",
                    test_period_detection);
    g_test_add_func("/forecast/ar/sinusoid", test_ar_sinusoid);
    g_test_add_func("/forecast/ar/coefficients", test_ar_coefficients);
    g_test_add_func("/forecast/ar/moving", test_ar_moving);
    g_test_add_func("/forecast/ar/coordinates", test_ar_coordinates);
    g_test_add_func("/forecast/ar/bounded", test_ar_bounded);
    g_test_add_func("/forecast/tree/features", test_tree_features);
    g_test_add_func("/forecast/tree/iterates", test_tree_iterates);
    g_test_add_func("/forecast/tree/piecewise", test_tree_piecewise);
    for (unsigned i = 0; i < G_N_ELEMENTS(select_cases); i++) {
        g_autofree char *path = g_strdup_printf("/forecast/select/%s",
                                                select_cases[i].name);

        g_test_add_data_func(path, &select_cases[i], test_select);
    }
    g_test_add_func("/forecast/set/matches-standalone",
                    test_set_matches_standalone);
    g_test_add_func("/forecast/set/peak", test_peak);
    g_test_add_func("/forecast/set/scores-confidence",
                    test_scores_confidence);
    g_test_add_func("/forecast/set/stickiness", test_stickiness);
    g_test_add_func("/forecast/set/selection-rule", test_selection_rule);
    g_test_add_func("/forecast/set/horizon", test_horizon);
    g_test_add_func("/forecast/evaluate/naive", test_evaluate_naive);
    g_test_add_func("/forecast/evaluate/models", test_evaluate_models);
    for (unsigned i = 0; i < G_N_ELEMENTS(hostile); i++) {
        g_autofree char *path = g_strdup_printf("/forecast/robust/%s",
                                                hostile[i].name);

        g_test_add_data_func(path, &hostile[i], test_robust);
    }
    g_test_add_func("/forecast/robust/nan-ignored", test_nan_ignored);
    return g_test_run();
}
