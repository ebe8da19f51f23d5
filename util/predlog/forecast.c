/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: forecasters of per-function I/O volume
 *
 * The semantics are specified in forecast.h.  Structure:
 *
 *  - History: the last 256 samples in a ring, indexed by absolute sample
 *    number, plus the period detector.  A set keeps one history that all
 *    its models read; a stand-alone forecaster keeps its own.  Because a
 *    model sees nothing but the history and its own state, a model inside
 *    a set predicts exactly what the same model does stand-alone.
 *  - One state struct per model, updated after the sample went into the
 *    history, and one path function per model that extrapolates 1..steps
 *    ahead and folds the result into (last, peak), so that a peak costs
 *    one pass.
 *  - The set: scores, selection and confidence on top of the models.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <float.h>
#include <math.h>
#include <string.h>
#include <glib.h>

#include "qemu/predlog/forecast.h"

#define HIST_LEN            256u        /* power of two */
#define HIST_MASK           (HIST_LEN - 1)

#define EWMA_ALPHA          0.3
#define HOLT_ALPHA          0.4
#define HOLT_BETA           0.1
#define HW_GAMMA            0.3

#define PERIOD_CHECK_EVERY  16u
#define PERIOD_MIN_SAMPLES  32u
#define ACF_MIN             0.5         /* r(L) of an acceptable period */
#define ACF_DIP             0.3         /* r must have dipped this far below */
#define ACF_HARMONIC        0.9         /* shorter lag wins within this ratio */
#define PERIOD_ADOPT        2u          /* checks in a row that must agree */
#define PERIOD_DROP         3u          /* checks in a row that find none */

#define AR_P                PREDLOG_FORECAST_AR_ORDER
#define AR_D                (AR_P + 1)  /* lags + intercept */
#define AR_LAMBDA           0.99        /* forgetting: ~100 samples */
#define AR_DELTA            1e4         /* initial P: a weak prior */
#define AR_MEAN_ALPHA       0.01        /* running mean and deviation */
#define AR_START            (2 * AR_P)  /* samples before the first fit */
#define AR_LEAK             (1 / 1e8)   /* P -= AR_LEAK P^2: bounds P */
#define AR_TRACE_RESET      (1 / AR_LEAK) /* start P afresh above this trace */
#define AR_RESCALE_RESET    1e3         /* start P afresh on such rescales */
#define AR_X_MAX            1e6         /* |x| in scale units, clamped */

#define TREE_DEPTH          4
#define TREE_NODES          ((1u << (TREE_DEPTH + 1)) - 1)
#define TREE_WINDOW         128u        /* training rows, <= 255 */
#define TREE_REFIT          16u
#define TREE_MIN_ROWS       16u
#define TREE_MIN_LEAF       3u
#define TREE_LAGS           8u          /* a row needs y[t-7..t] */
#define TREE_FEATURES       5u

#define SCORE_DECAY         (31.0 / 32.0)
#define SELECT_MARGIN       0.9
#define SELECT_HOLD         8u

/* Future values an iterated path keeps: >= period, tree lags, AR order. */
#define PATH_RING           64u

G_STATIC_ASSERT(PREDLOG_FORECAST_PERIOD_MAX <= PATH_RING);
G_STATIC_ASSERT(TREE_LAGS <= PATH_RING && AR_P <= PATH_RING);
G_STATIC_ASSERT(TREE_WINDOW <= 255);
G_STATIC_ASSERT(3 * PREDLOG_FORECAST_PERIOD_MAX <= HIST_LEN);
G_STATIC_ASSERT(TREE_WINDOW + TREE_LAGS + PREDLOG_FORECAST_PERIOD_MAX <=
                HIST_LEN);

static const char *const model_names[PREDLOG_FORECAST__MAX] = {
    [PREDLOG_FORECAST_AUTO] = "auto",
    [PREDLOG_FORECAST_NAIVE] = "naive",
    [PREDLOG_FORECAST_EWMA] = "ewma",
    [PREDLOG_FORECAST_HOLT] = "holt",
    [PREDLOG_FORECAST_HOLT_WINTERS] = "holt-winters",
    [PREDLOG_FORECAST_AR] = "ar",
    [PREDLOG_FORECAST_TREE] = "tree",
};

static inline bool model_valid(PredlogForecastModel m)
{
    /* Compare as unsigned: an enum may be signed. */
    return (unsigned)m < PREDLOG_FORECAST__MAX;
}

static inline double clamp_input(double y)
{
    if (y > 0) {
        return y < PREDLOG_FORECAST_VALUE_MAX ? y :
            PREDLOG_FORECAST_VALUE_MAX;
    }
    return 0;
}

/* Every value that leaves this file goes through here. */
static inline double clamp_output(double v, double fallback)
{
    if (!isfinite(v)) {
        v = fallback;
    }
    return clamp_input(v);
}

/* ------------------------------------------------------------------ */
/* History and period detection                                        */
/* ------------------------------------------------------------------ */

typedef struct History {
    double y[HIST_LEN];
    uint64_t count;             /* samples taken; y[i & HIST_MASK] is #i */
    bool detect;                /* run the period detector */
    uint8_t agree;              /* checks in a row that found candidate */
    uint8_t misses;             /* checks in a row that found nothing */
    uint16_t candidate;
    uint16_t period;            /* adopted period, 0 if none */
} History;

/* Sample #i; valid for hist_oldest(h) <= i < h->count. */
static inline double hist_at(const History *h, uint64_t i)
{
    return h->y[i & HIST_MASK];
}

static inline uint64_t hist_oldest(const History *h)
{
    return h->count > HIST_LEN ? h->count - HIST_LEN : 0;
}

static inline double hist_last(const History *h)
{
    return h->count ? hist_at(h, h->count - 1) : 0;
}

/* The period the recent history shows, 0 if none; see forecast.h. */
static unsigned detect_period(const History *h)
{
    unsigned n = h->count < HIST_LEN ? (unsigned)h->count : HIST_LEN;
    uint64_t first = h->count - n;
    unsigned lmax = MIN(PREDLOG_FORECAST_PERIOD_MAX, n / 3);
    double x[HIST_LEN];
    double r[PREDLOG_FORECAST_PERIOD_MAX + 2];
    double mid = (n - 1) / 2.0, sy = 0, siy = 0, sii, a, b, c0 = 0;
    double dip, best_r = -1;
    unsigned cands[PREDLOG_FORECAST_PERIOD_MAX];
    unsigned n_cands = 0, period = 0;

    if (lmax < PREDLOG_FORECAST_PERIOD_MIN) {
        return 0;
    }

    /*
     * Remove the least-squares line first: a trend correlates with itself
     * at every lag and would drown the season.
     */
    for (unsigned i = 0; i < n; i++) {
        double v = hist_at(h, first + i);

        sy += v;
        siy += (i - mid) * v;
    }
    sii = (double)n * ((double)n * n - 1) / 12;
    a = sy / n;
    b = siy / sii;
    for (unsigned i = 0; i < n; i++) {
        x[i] = hist_at(h, first + i) - a - b * (i - mid);
        c0 += x[i] * x[i];
    }
    c0 /= n;
    /* Nothing but a line (or rounding noise around one): no season. */
    if (!(c0 > a * a / 1e12 + DBL_MIN)) {
        return 0;
    }

    for (unsigned lag = 1; lag <= lmax + 1; lag++) {
        double acc = 0;

        for (unsigned i = 0; i + lag < n; i++) {
            acc += x[i] * x[i + lag];
        }
        r[lag] = acc / (n - lag) / c0;
    }

    dip = r[1];
    for (unsigned lag = 2; lag < PREDLOG_FORECAST_PERIOD_MIN; lag++) {
        dip = MIN(dip, r[lag]);
    }
    for (unsigned lag = PREDLOG_FORECAST_PERIOD_MIN; lag <= lmax; lag++) {
        if (r[lag] >= ACF_MIN && r[lag] > r[lag - 1] &&
            r[lag] >= r[lag + 1] && dip <= r[lag] - ACF_DIP) {
            cands[n_cands++] = lag;
            best_r = MAX(best_r, r[lag]);
        }
        dip = MIN(dip, r[lag]);
    }
    for (unsigned i = 0; i < n_cands; i++) {
        if (r[cands[i]] >= ACF_HARMONIC * best_r) {
            period = cands[i];
            break;
        }
    }
    return period;
}

static void hist_push(History *h, double y)
{
    unsigned p;

    h->y[h->count & HIST_MASK] = y;
    h->count++;
    if (!h->detect || h->count % PERIOD_CHECK_EVERY ||
        h->count < PERIOD_MIN_SAMPLES) {
        return;
    }

    /*
     * Hysteresis both ways: one noisy check must neither install a season
     * (the models re-initialise on every change) nor take one away.
     */
    p = detect_period(h);
    if (!p) {
        h->agree = 0;
        h->candidate = 0;
        if (h->period && ++h->misses >= PERIOD_DROP) {
            h->period = 0;
            h->misses = 0;
        }
        return;
    }
    h->misses = 0;
    if (p == h->period) {
        h->agree = 0;
        h->candidate = 0;
        return;
    }
    if (p == h->candidate) {
        h->agree++;
    } else {
        h->candidate = p;
        h->agree = 1;
    }
    if (h->agree >= PERIOD_ADOPT) {
        h->period = p;
        h->agree = 0;
        h->candidate = 0;
    }
}

/*
 * A series extended by predictions: samples before @end come from the
 * history, later ones from a small ring that iterated models fill as they
 * go.  Looking back at most PATH_RING samples from the newest prediction
 * is always valid.
 */
typedef struct Path {
    const History *h;
    uint64_t end;
    double ext[PATH_RING];
} Path;

static inline double path_get(const Path *p, uint64_t i)
{
    return i < p->end ? hist_at(p->h, i) : p->ext[(i - p->end) % PATH_RING];
}

static inline void path_put(Path *p, uint64_t i, double v)
{
    p->ext[(i - p->end) % PATH_RING] = v;
}

/* Fold prediction #k (1-based) into the result of a path function. */
static inline void fold(double v, double *last, double *peak)
{
    *last = v;
    *peak = MAX(*peak, v);
}

/* ------------------------------------------------------------------ */
/* EWMA and Holt                                                       */
/* ------------------------------------------------------------------ */

typedef struct EwmaState {
    double level;
    bool init;
} EwmaState;

static void ewma_update(EwmaState *s, double y)
{
    if (!s->init) {
        s->level = y;
        s->init = true;
    } else {
        s->level += EWMA_ALPHA * (y - s->level);
    }
}

typedef struct HoltState {
    double level;
    double trend;
    uint64_t n;
} HoltState;

static void holt_update(HoltState *s, double y)
{
    double prev = s->level;

    /*
     * Seeding the trend from the first difference, rather than 0, makes a
     * ramp exact from the third sample on instead of converging to it at
     * the rate beta allows.
     */
    if (s->n == 0) {
        s->level = y;
        s->trend = 0;
    } else if (s->n == 1) {
        s->level = y;
        s->trend = y - prev;
    } else {
        s->level = HOLT_ALPHA * y + (1 - HOLT_ALPHA) * (s->level + s->trend);
        s->trend = HOLT_BETA * (s->level - prev) + (1 - HOLT_BETA) * s->trend;
    }
    s->n++;
}

static void holt_path(const HoltState *s, double fallback, unsigned steps,
                      double *last, double *peak)
{
    /* Linear in the horizon, and so is its clamp: the peak is an end. */
    double v1 = clamp_output(s->level + s->trend, fallback);
    double vn = clamp_output(s->level + steps * s->trend, fallback);

    *last = vn;
    *peak = MAX(v1, vn);
}

/* ------------------------------------------------------------------ */
/* Holt-Winters (additive)                                             */
/* ------------------------------------------------------------------ */

typedef struct HwState {
    HoltState holt;             /* level and trend, also without a season */
    unsigned period;            /* season in use, 0: plain Holt */
    double season[PREDLOG_FORECAST_PERIOD_MAX]; /* by sample number % period */
} HwState;

static void hw_step(HwState *s, uint64_t i, double y)
{
    unsigned k = i % s->period;
    double prev = s->holt.level;

    s->holt.level = HOLT_ALPHA * (y - s->season[k]) +
        (1 - HOLT_ALPHA) * (s->holt.level + s->holt.trend);
    s->holt.trend = HOLT_BETA * (s->holt.level - prev) +
        (1 - HOLT_BETA) * s->holt.trend;
    s->season[k] = HW_GAMMA * (y - s->holt.level) +
        (1 - HW_GAMMA) * s->season[k];
    s->holt.n++;
}

/*
 * Start the season from the history (which already holds the newest
 * sample): level, trend and season from its first two periods, then the
 * rest replayed through the update, so that the model is as good as one
 * that had known the period all along.  A series that is exactly
 * periodic plus a line is predicted exactly from here on.
 */
static void hw_start(HwState *s, const History *h)
{
    unsigned p = h->period;
    uint64_t n = MIN(h->count, HIST_LEN), first = h->count - n;
    double m1 = 0, m2 = 0, b;

    g_assert(n >= 2 * p);
    for (unsigned i = 0; i < p; i++) {
        m1 += hist_at(h, first + i);
        m2 += hist_at(h, first + p + i);
    }
    m1 /= p;
    m2 /= p;
    b = (m2 - m1) / p;
    s->period = p;
    s->holt.level = m1 + b * (p - 1) / 2.0;
    s->holt.trend = b;
    s->holt.n = MAX(s->holt.n, 2);
    for (unsigned i = 0; i < p; i++) {
        s->season[(first + i) % p] = hist_at(h, first + i) -
            (m1 + b * (i - (p - 1) / 2.0));
    }
    for (uint64_t i = first + p; i < h->count; i++) {
        hw_step(s, i, hist_at(h, i));
    }
}

static void hw_update(HwState *s, const History *h, double y)
{
    if (h->period != s->period) {
        if (h->period) {
            hw_start(s, h);
            return;
        }
        /* Season gone: level and trend carry on as plain Holt. */
        s->period = 0;
    }
    if (s->period) {
        hw_step(s, h->count - 1, y);
    } else {
        holt_update(&s->holt, y);
    }
}

static void hw_path(const HwState *s, const History *h, unsigned steps,
                    double *last, double *peak)
{
    uint64_t t = h->count - 1;

    if (!s->period) {
        holt_path(&s->holt, hist_last(h), steps, last, peak);
        return;
    }
    *peak = 0;
    for (unsigned k = 1; k <= steps; k++) {
        double v = s->holt.level + k * s->holt.trend +
            s->season[(t + k) % s->period];

        fold(clamp_output(v, hist_last(h)), last, peak);
    }
}

/* ------------------------------------------------------------------ */
/* AR(p) by recursive least squares                                    */
/* ------------------------------------------------------------------ */

/*
 * The regression runs on x = (y - m) / s with regressors
 * (x[t-1] .. x[t-p], 1): centred and scaled so that P and theta stay well
 * conditioned whatever the units of the series, with an intercept so that
 * a centre that is not exactly the mean costs nothing.  m and s follow the
 * running mean and mean absolute deviation; when they drift too far the
 * coordinates change and theta and P are transformed exactly with them
 * (ar_recentre(), ar_rescale()), so the fit is the same one the raw
 * series would give.
 */
typedef struct ArState {
    double theta[AR_D];
    double p[AR_D][AR_D];
    double m, s;                /* coordinates of the regression */
    double mu, dev;             /* running mean and mean |y - mu| */
    uint64_t n;                 /* samples seen */
    bool fitting;               /* theta and p are in use */
} ArState;

static inline double ar_scale_floor(double mu)
{
    return fabs(mu) / 1e6 + 1 / 1e9;
}

static void ar_reset_p(ArState *s)
{
    memset(s->p, 0, sizeof(s->p));
    for (unsigned i = 0; i < AR_D; i++) {
        s->p[i][i] = AR_DELTA;
    }
}

static void ar_reset(ArState *s)
{
    memset(s->theta, 0, sizeof(s->theta));
    ar_reset_p(s);
}

/* Move the centre to @m: x' = x - d with d = (m - s->m) / s->s. */
static void ar_recentre(ArState *s, double m)
{
    double d = (m - s->m) / s->s, sum_theta = 0;
    double col[AR_D];

    /*
     * x'[t] = sum a_i x'[t-i] + c + d (sum a_i - 1), and P' = B P B^T with
     * B = I + d e_c 1_lags^T (e_c: the intercept's unit vector).
     */
    for (unsigned i = 0; i < AR_P; i++) {
        sum_theta += s->theta[i];
    }
    s->theta[AR_P] += d * (sum_theta - 1);
    for (unsigned j = 0; j < AR_D; j++) {
        double acc = 0;

        for (unsigned i = 0; i < AR_P; i++) {
            acc += s->p[i][j];
        }
        s->p[AR_P][j] += d * acc;
    }
    for (unsigned i = 0; i < AR_D; i++) {
        double acc = 0;

        for (unsigned j = 0; j < AR_P; j++) {
            acc += s->p[i][j];
        }
        col[i] = s->p[i][AR_P] + d * acc;
    }
    for (unsigned i = 0; i < AR_D; i++) {
        s->p[i][AR_P] = col[i];
    }
    s->m = m;
}

/* Change the scale to @sc: x' = x / k with k = sc / s->s. */
static void ar_rescale(ArState *s, double sc)
{
    double k = sc / s->s;

    s->s = sc;
    if (k > AR_RESCALE_RESET || k < 1 / AR_RESCALE_RESET) {
        /* A jump this large is a new regime: forget the old fit. */
        s->theta[AR_P] = 0;
        ar_reset_p(s);
        return;
    }
    /*
     * The lag coefficients are scale-free, the intercept scales with x;
     * P = (sum phi phi^T)^-1 scales with the inverse of the regressors.
     */
    s->theta[AR_P] /= k;
    for (unsigned i = 0; i < AR_P; i++) {
        for (unsigned j = 0; j < AR_P; j++) {
            s->p[i][j] *= k * k;
        }
        s->p[i][AR_P] *= k;
        s->p[AR_P][i] *= k;
    }
}

static inline double ar_x(const ArState *s, double y)
{
    double x = (y - s->m) / s->s;

    return CLAMP(x, -AR_X_MAX, AR_X_MAX);
}

/*
 * One RLS step with exponential forgetting, plus a bound on P: a
 * direction the data never excites (all lags equal on a constant series,
 * the three spare dimensions of a sinusoid) would otherwise grow by
 * 1/lambda per sample without end.  The term -AR_LEAK P^2 (as in
 * Salgado, Goodwin and Middleton's EFRA) holds such directions at
 * (1/lambda - 1) / AR_LEAK ~ 1e6 and is negligible where P is small, i.e.
 * where the data has spoken, so forgetting keeps working there and an
 * exact fit stays exact.
 */
static void ar_rls(ArState *s, const double *phi, double z)
{
    double pphi[AR_D], q[AR_D][AR_D], den = AR_LAMBDA, e = z, trace = 0;
    bool ok = true;

    for (unsigned i = 0; i < AR_D; i++) {
        trace += s->p[i][i];
    }
    /* P - AR_LEAK P^2 stays positive only below 1 / AR_LEAK. */
    if (!(trace < AR_TRACE_RESET)) {
        ar_reset_p(s);
    }
    for (unsigned i = 0; i < AR_D; i++) {
        double acc = 0;

        for (unsigned j = 0; j < AR_D; j++) {
            acc += s->p[i][j] * phi[j];
        }
        pphi[i] = acc;
        den += phi[i] * acc;
        e -= s->theta[i] * phi[i];
    }
    if (!(den > 0) || !isfinite(den) || !isfinite(e)) {
        ar_reset(s);
        return;
    }
    for (unsigned i = 0; i < AR_D; i++) {
        s->theta[i] += pphi[i] / den * e;
        ok = ok && isfinite(s->theta[i]);
    }
    /* Computed on one triangle and mirrored: P stays exactly symmetric. */
    for (unsigned i = 0; i < AR_D; i++) {
        for (unsigned j = i; j < AR_D; j++) {
            double v = (s->p[i][j] - pphi[i] * pphi[j] / den) / AR_LAMBDA;

            s->p[i][j] = s->p[j][i] = v;
        }
    }
    for (unsigned i = 0; i < AR_D; i++) {
        for (unsigned j = i; j < AR_D; j++) {
            double acc = 0;

            for (unsigned k = 0; k < AR_D; k++) {
                acc += s->p[i][k] * s->p[k][j];
            }
            q[i][j] = acc;
        }
    }
    for (unsigned i = 0; i < AR_D; i++) {
        for (unsigned j = i; j < AR_D; j++) {
            s->p[i][j] = s->p[j][i] = s->p[i][j] - AR_LEAK * q[i][j];
        }
        ok = ok && s->p[i][i] > 0 && isfinite(s->p[i][i]);
    }
    if (!ok) {
        ar_reset(s);
    }
}

static void ar_update(ArState *s, const History *h, double y)
{
    double phi[AR_D];
    uint64_t t = h->count - 1;
    double a, sc;

    s->n++;
    a = MAX(1.0 / s->n, AR_MEAN_ALPHA);
    if (s->n == 1) {
        s->mu = y;
        s->dev = 0;
    } else {
        s->mu += a * (y - s->mu);
        s->dev += a * (fabs(y - s->mu) - s->dev);
    }
    sc = MAX(s->dev, ar_scale_floor(s->mu));

    if (!s->fitting) {
        /* Wait for a first estimate of centre and scale. */
        if (s->n < AR_START) {
            return;
        }
        s->m = s->mu;
        s->s = sc;
        ar_reset(s);
        s->fitting = true;
    }

    for (unsigned i = 0; i < AR_P; i++) {
        phi[i] = ar_x(s, hist_at(h, t - 1 - i));
    }
    phi[AR_P] = 1;
    ar_rls(s, phi, ar_x(s, y));

    if (fabs(s->mu - s->m) > 0.5 * s->s) {
        ar_recentre(s, s->mu);
    }
    if (sc > 2 * s->s || sc < 0.5 * s->s) {
        ar_rescale(s, sc);
    }
}

static void ar_path(const ArState *s, const History *h, unsigned steps,
                    double *last, double *peak)
{
    double fallback = hist_last(h);
    Path path = { .h = h, .end = h->count };
    /* The value that makes y = 0: iterated values must stay volumes. */
    double x_floor = -s->m / s->s;

    if (!s->fitting) {
        *last = *peak = fallback;
        return;
    }
    *peak = 0;
    for (unsigned k = 1; k <= steps; k++) {
        uint64_t i = h->count - 1 + k;
        double x = s->theta[AR_P];

        for (unsigned j = 0; j < AR_P; j++) {
            double v = path_get(&path, i - 1 - j);

            x += s->theta[j] * (i - 1 - j < path.end ? ar_x(s, v) : v);
        }
        x = CLAMP(x, MAX(x_floor, -AR_X_MAX), AR_X_MAX);
        if (!isfinite(x)) {
            x = 0;
        }
        /* Future values are kept in x units, history is in y units. */
        path_put(&path, i, x);
        fold(clamp_output(s->m + s->s * x, fallback), last, peak);
    }
}

/* ------------------------------------------------------------------ */
/* Regression tree                                                     */
/* ------------------------------------------------------------------ */

/*
 * Nodes in heap order (children of n at 2n+1 and 2n+2); a row goes left
 * if its feature value is <= the threshold.
 */
typedef struct TreeState {
    int8_t feat[TREE_NODES];    /* split feature, -1 for a leaf */
    double thr[TREE_NODES];
    double val[TREE_NODES];     /* leaf prediction */
    uint64_t fit_count;         /* history count at the last fit */
    uint16_t fit_period;        /* period the features were built with */
    bool fitted;
} TreeState;

/* Features of row @t (predicting y[t+1]) of @p; see forecast.h. */
static unsigned tree_features(const Path *p, uint64_t t, unsigned period,
                              double *f)
{
    double sum = 0;

    f[0] = path_get(p, t);
    f[1] = path_get(p, t - 1);
    f[2] = path_get(p, t - 2);
    for (unsigned i = 0; i < TREE_LAGS; i++) {
        sum += path_get(p, t - i);
    }
    f[3] = sum / TREE_LAGS;
    if (!period) {
        return 4;
    }
    f[4] = path_get(p, t + 1 - period);
    return 5;
}

static double tree_eval(const TreeState *s, const double *f)
{
    unsigned n = 0;

    while (s->feat[n] >= 0) {
        n = 2 * n + 1 + (f[s->feat[n]] > s->thr[n]);
    }
    return s->val[n];
}

/* Stable merge sort of row indices by key: ties keep index order. */
static void sort_rows(uint8_t *idx, const double *key, unsigned n)
{
    uint8_t tmp[TREE_WINDOW];

    for (unsigned w = 1; w < n; w *= 2) {
        for (unsigned lo = 0; lo < n; lo += 2 * w) {
            unsigned mid = MIN(lo + w, n), hi = MIN(lo + 2 * w, n);
            unsigned i = lo, j = mid, k = lo;

            while (i < mid && j < hi) {
                tmp[k++] = key[idx[j]] < key[idx[i]] ? idx[j++] : idx[i++];
            }
            while (i < mid) {
                tmp[k++] = idx[i++];
            }
            while (j < hi) {
                tmp[k++] = idx[j++];
            }
        }
        memcpy(idx, tmp, n);
    }
}

/*
 * CART with variance reduction, grown level by level: each feature's
 * rows are sorted once, and one pass over them per level finds the best
 * threshold of every node of that level at once.  O(F n log n + D F n).
 */
static void tree_fit(TreeState *s, const History *h)
{
    unsigned period = h->period;
    uint64_t t_hi = h->count - 2, t_lo;
    double x[TREE_FEATURES][TREE_WINDOW], y[TREE_WINDOW];
    uint8_t order[TREE_FEATURES][TREE_WINDOW], node[TREE_WINDOW];
    double cnt[TREE_NODES], sum[TREE_NODES], sq[TREE_NODES];
    double best_gain[TREE_NODES], best_thr[TREE_NODES];
    int8_t best_feat[TREE_NODES];
    double lc[TREE_NODES], ls[TREE_NODES], lastv[TREE_NODES];
    double ymean = 0, sse_root, min_gain;
    Path path = { .h = h, .end = h->count };
    unsigned rows, nf = 4;

    s->fitted = false;
    s->fit_count = h->count;
    s->fit_period = period;
    t_lo = hist_oldest(h) + TREE_LAGS - 1;
    if (period) {
        t_lo = MAX(t_lo, hist_oldest(h) + period - 1);
    }
    if (h->count >= TREE_WINDOW + 1) {
        t_lo = MAX(t_lo, h->count - 1 - TREE_WINDOW);
    }
    if (h->count < 2 || t_hi < t_lo || t_hi - t_lo + 1 < TREE_MIN_ROWS) {
        return;
    }
    rows = t_hi - t_lo + 1;

    for (unsigned r = 0; r < rows; r++) {
        double f[TREE_FEATURES];

        nf = tree_features(&path, t_lo + r, period, f);
        for (unsigned k = 0; k < nf; k++) {
            x[k][r] = f[k];
        }
        y[r] = hist_at(h, t_lo + r + 1);
        ymean += y[r];
        node[r] = 0;
    }
    ymean /= rows;
    /* Centred targets: the sums of squares below lose nothing to scale. */
    for (unsigned r = 0; r < rows; r++) {
        y[r] -= ymean;
    }
    for (unsigned k = 0; k < nf; k++) {
        for (unsigned r = 0; r < rows; r++) {
            order[k][r] = r;
        }
        sort_rows(order[k], x[k], rows);
    }

    memset(cnt, 0, sizeof(cnt));
    memset(sum, 0, sizeof(sum));
    memset(sq, 0, sizeof(sq));
    for (unsigned r = 0; r < rows; r++) {
        cnt[0]++;
        sum[0] += y[r];
        sq[0] += y[r] * y[r];
    }
    sse_root = sq[0] - sum[0] * sum[0] / cnt[0];
    /* Splits that only reshuffle rounding error are not splits. */
    min_gain = sse_root / 1e10 + DBL_MIN;
    for (unsigned n = 0; n < TREE_NODES; n++) {
        s->feat[n] = -1;
        s->thr[n] = 0;
        s->val[n] = ymean;
    }

    for (unsigned d = 0; d < TREE_DEPTH; d++) {
        unsigned lo = (1u << d) - 1, hi = (1u << (d + 1)) - 1;

        for (unsigned n = lo; n < hi; n++) {
            best_gain[n] = min_gain;
            best_feat[n] = -1;
            best_thr[n] = 0;
        }
        for (unsigned k = 0; k < nf; k++) {
            for (unsigned n = lo; n < hi; n++) {
                lc[n] = 0;
                ls[n] = 0;
                lastv[n] = -INFINITY;
            }
            for (unsigned i = 0; i < rows; i++) {
                unsigned r = order[k][i], n = node[r];
                double v = x[k][r];

                if (n < lo || n >= hi || cnt[n] < 2 * TREE_MIN_LEAF) {
                    continue;
                }
                if (lc[n] >= TREE_MIN_LEAF &&
                    cnt[n] - lc[n] >= TREE_MIN_LEAF && v > lastv[n]) {
                    double rs = sum[n] - ls[n], rc = cnt[n] - lc[n];
                    double gain = ls[n] * ls[n] / lc[n] + rs * rs / rc -
                        sum[n] * sum[n] / cnt[n];

                    if (gain > best_gain[n]) {
                        double thr = lastv[n] + (v - lastv[n]) / 2;

                        best_gain[n] = gain;
                        best_feat[n] = k;
                        /* The midpoint may round up to v itself. */
                        best_thr[n] = thr < v ? thr : lastv[n];
                    }
                }
                lc[n]++;
                ls[n] += y[r];
                lastv[n] = v;
            }
        }

        for (unsigned n = lo; n < hi; n++) {
            s->feat[n] = best_feat[n];
            s->thr[n] = best_thr[n];
            if (best_feat[n] >= 0) {
                for (unsigned c = 2 * n + 1; c <= 2 * n + 2; c++) {
                    cnt[c] = sum[c] = sq[c] = 0;
                }
            }
        }
        for (unsigned r = 0; r < rows; r++) {
            unsigned n = node[r];

            if (n < lo || n >= hi || s->feat[n] < 0) {
                continue;
            }
            n = 2 * n + 1 + (x[s->feat[n]][r] > s->thr[n]);
            node[r] = n;
            cnt[n]++;
            sum[n] += y[r];
            sq[n] += y[r] * y[r];
        }
    }
    for (unsigned n = 0; n < TREE_NODES; n++) {
        if (s->feat[n] < 0 && cnt[n] > 0) {
            s->val[n] = ymean + sum[n] / cnt[n];
        }
    }
    s->fitted = true;
}

static void tree_update(TreeState *s, const History *h)
{
    /* New features mean a new tree; until one exists, NAIVE. */
    if (s->fit_period != h->period) {
        s->fitted = false;
        tree_fit(s, h);
    } else if (!s->fitted || h->count - s->fit_count >= TREE_REFIT) {
        tree_fit(s, h);
    }
}

static void tree_path(const TreeState *s, const History *h, unsigned steps,
                      double *last, double *peak)
{
    double fallback = hist_last(h);
    Path path = { .h = h, .end = h->count };

    if (!s->fitted) {
        *last = *peak = fallback;
        return;
    }
    *peak = 0;
    for (unsigned k = 1; k <= steps; k++) {
        uint64_t t = h->count - 2 + k;
        double f[TREE_FEATURES], v;

        tree_features(&path, t, s->fit_period, f);
        v = clamp_output(tree_eval(s, f), fallback);
        path_put(&path, t + 1, v);
        fold(v, last, peak);
    }
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

/* The per-model state a forecaster or a set holds for model m. */
typedef union ModelState {
    EwmaState ewma;
    HoltState holt;
    HwState hw;
    ArState ar;
    TreeState tree;
} ModelState;

/* @h already holds @y. */
static void model_update(PredlogForecastModel m, void *st, const History *h,
                         double y)
{
    switch (m) {
    case PREDLOG_FORECAST_EWMA:
        ewma_update(st, y);
        break;
    case PREDLOG_FORECAST_HOLT:
        holt_update(st, y);
        break;
    case PREDLOG_FORECAST_HOLT_WINTERS:
        hw_update(st, h, y);
        break;
    case PREDLOG_FORECAST_AR:
        ar_update(st, h, y);
        break;
    case PREDLOG_FORECAST_TREE:
        tree_update(st, h);
        break;
    default:
        /* NAIVE reads the history. */
        break;
    }
}

static unsigned clamp_steps(unsigned steps)
{
    return CLAMP(steps, 1u, PREDLOG_FORECAST_HORIZON_MAX);
}

static void model_path(PredlogForecastModel m, const void *st,
                       const History *h, unsigned steps, double *last,
                       double *peak)
{
    steps = clamp_steps(steps);
    if (!h->count) {
        *last = *peak = 0;
        return;
    }
    switch (m) {
    case PREDLOG_FORECAST_EWMA:
        *last = *peak = clamp_output(((const EwmaState *)st)->level,
                                     hist_last(h));
        break;
    case PREDLOG_FORECAST_HOLT:
        holt_path(st, hist_last(h), steps, last, peak);
        break;
    case PREDLOG_FORECAST_HOLT_WINTERS:
        hw_path(st, h, steps, last, peak);
        break;
    case PREDLOG_FORECAST_AR:
        ar_path(st, h, steps, last, peak);
        break;
    case PREDLOG_FORECAST_TREE:
        tree_path(st, h, steps, last, peak);
        break;
    default:
        *last = *peak = hist_last(h);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* One forecaster                                                      */
/* ------------------------------------------------------------------ */

struct PredlogForecaster {
    PredlogForecastModel model;
    History hist;
    ModelState st;
};

PredlogForecaster *predlog_forecaster_new(PredlogForecastModel model)
{
    PredlogForecaster *f;

    if (!model_valid(model) || model == PREDLOG_FORECAST_AUTO) {
        return NULL;
    }
    f = g_new0(PredlogForecaster, 1);
    f->model = model;
    f->hist.detect = model == PREDLOG_FORECAST_HOLT_WINTERS ||
        model == PREDLOG_FORECAST_TREE;
    return f;
}

void predlog_forecaster_free(PredlogForecaster *f)
{
    g_free(f);
}

void predlog_forecaster_update(PredlogForecaster *f, double y)
{
    if (!isfinite(y)) {
        return;
    }
    y = clamp_input(y);
    hist_push(&f->hist, y);
    model_update(f->model, &f->st, &f->hist, y);
}

double predlog_forecaster_predict(const PredlogForecaster *f, unsigned steps)
{
    double last, peak;

    model_path(f->model, &f->st, &f->hist, steps, &last, &peak);
    return last;
}

unsigned predlog_forecaster_ar_coefficients(const PredlogForecaster *f,
                                            double *coef, unsigned n)
{
    if (f->model != PREDLOG_FORECAST_AR) {
        return 0;
    }
    for (unsigned i = 0; i < n && i < AR_P; i++) {
        coef[i] = f->st.ar.theta[i];
    }
    return AR_P;
}

/* ------------------------------------------------------------------ */
/* The set                                                             */
/* ------------------------------------------------------------------ */

typedef struct SlotScore {
    double pending;             /* prediction of the next sample */
    double sape;                /* decayed sums of the errors */
    double ae;
} SlotScore;

struct PredlogForecastSet {
    History hist;
    EwmaState ewma;
    HoltState holt;
    HwState hw;
    ArState ar;
    TreeState tree;
    SlotScore score[PREDLOG_FORECAST__MAX]; /* [AUTO]: the selection */
    double w;                   /* decayed sum of weights */
    double abs_y;               /* decayed sum of actual values */
    uint64_t n;                 /* predictions scored */
    PredlogForecastModel mode;
    PredlogForecastModel active;
    uint32_t held;              /* samples since active last changed */
};

/* Keep the set small: the device holds one per I/O function. */
G_STATIC_ASSERT(sizeof(PredlogForecastSet) <= 4 * 1024);

static void *set_state(PredlogForecastSet *s, PredlogForecastModel m)
{
    switch (m) {
    case PREDLOG_FORECAST_EWMA:
        return &s->ewma;
    case PREDLOG_FORECAST_HOLT:
        return &s->holt;
    case PREDLOG_FORECAST_HOLT_WINTERS:
        return &s->hw;
    case PREDLOG_FORECAST_AR:
        return &s->ar;
    case PREDLOG_FORECAST_TREE:
        return &s->tree;
    default:
        return NULL;
    }
}

static const void *set_state_const(const PredlogForecastSet *s,
                                   PredlogForecastModel m)
{
    return set_state((PredlogForecastSet *)s, m);
}

static inline double sape(double f, double a)
{
    /* Both are >= 0 here, so |F| + |A| = F + A. */
    return f + a > 0 ? 2 * fabs(f - a) / (f + a) : 0;
}

/* The selection criterion: recent sMAPE (see forecast.h for why). */
static inline double set_crit(const PredlogForecastSet *s,
                              PredlogForecastModel m)
{
    return s->score[m].sape;
}

static PredlogForecastModel set_best(const PredlogForecastSet *s)
{
    PredlogForecastModel best = PREDLOG_FORECAST_NAIVE;

    for (int m = PREDLOG_FORECAST_NAIVE + 1; m < PREDLOG_FORECAST__MAX; m++) {
        if (set_crit(s, m) < set_crit(s, best)) {
            best = m;
        }
    }
    return best;
}

static void set_activate(PredlogForecastSet *s, PredlogForecastModel m)
{
    if (m != s->active) {
        s->active = m;
        s->held = 0;
    }
    /* From now on the selection is this model's prediction. */
    s->score[PREDLOG_FORECAST_AUTO].pending = s->score[m].pending;
}

static void set_reselect(PredlogForecastSet *s)
{
    PredlogForecastModel best;

    if (s->mode != PREDLOG_FORECAST_AUTO) {
        set_activate(s, s->mode);
        return;
    }
    if (s->n < PREDLOG_FORECAST_WARMUP) {
        set_activate(s, PREDLOG_FORECAST_NAIVE);
        return;
    }
    best = set_best(s);
    /*
     * Stickiness: a challenger must be clearly better, and the incumbent
     * gets a few samples before it can be replaced, so that two models
     * of near-equal error do not take turns every sample.
     */
    if (best != s->active && s->held >= SELECT_HOLD &&
        set_crit(s, best) < SELECT_MARGIN * set_crit(s, s->active)) {
        set_activate(s, best);
    } else {
        set_activate(s, s->active);
    }
}

PredlogForecastSet *predlog_forecast_set_new(void)
{
    PredlogForecastSet *s = g_new0(PredlogForecastSet, 1);

    s->hist.detect = true;
    s->mode = PREDLOG_FORECAST_AUTO;
    s->active = PREDLOG_FORECAST_NAIVE;
    return s;
}

void predlog_forecast_set_free(PredlogForecastSet *s)
{
    g_free(s);
}

void predlog_forecast_set_update(PredlogForecastSet *s, double y)
{
    double last, peak;

    if (!isfinite(y)) {
        return;
    }
    y = clamp_input(y);

    /* Before the first sample there is no prediction to score. */
    if (s->hist.count) {
        s->w = s->w * SCORE_DECAY + 1;
        s->abs_y = s->abs_y * SCORE_DECAY + y;
        s->n++;
        for (int m = 0; m < PREDLOG_FORECAST__MAX; m++) {
            SlotScore *sc = &s->score[m];

            sc->ae = sc->ae * SCORE_DECAY + fabs(sc->pending - y);
            sc->sape = sc->sape * SCORE_DECAY + sape(sc->pending, y);
        }
    }

    hist_push(&s->hist, y);
    for (int m = PREDLOG_FORECAST_NAIVE; m < PREDLOG_FORECAST__MAX; m++) {
        model_update(m, set_state(s, m), &s->hist, y);
        model_path(m, set_state(s, m), &s->hist, 1, &last, &peak);
        s->score[m].pending = last;
    }
    if (s->held < UINT32_MAX) {
        s->held++;
    }
    set_reselect(s);
}

void predlog_forecast_set_select(PredlogForecastSet *s,
                                 PredlogForecastModel m)
{
    if (!model_valid(m)) {
        return;
    }
    s->mode = m;
    if (m == PREDLOG_FORECAST_AUTO && s->n >= PREDLOG_FORECAST_WARMUP) {
        /* Asked back to AUTO: take the best now, without the hold. */
        set_activate(s, set_best(s));
    } else {
        set_reselect(s);
    }
}

PredlogForecastModel predlog_forecast_set_mode(const PredlogForecastSet *s)
{
    return s->mode;
}

PredlogForecastModel predlog_forecast_set_active(const PredlogForecastSet *s)
{
    return s->active;
}

static double set_confidence(const PredlogForecastSet *s)
{
    double mae, mean, c;

    if (s->n < PREDLOG_FORECAST_WARMUP) {
        return 0;
    }
    /* The decayed sums share one weight, which cancels in the ratio. */
    mae = s->score[s->active].ae;
    mean = s->abs_y;
    if (!(mean > 0)) {
        return mae > 0 ? 0 : 1;
    }
    c = 1 - mae / mean;
    return isfinite(c) ? CLAMP(c, 0.0, 1.0) : 0;
}

PredlogForecast predlog_forecast_set_predict(const PredlogForecastSet *s,
                                             unsigned steps)
{
    PredlogForecast fc;
    double peak;

    model_path(s->active, set_state_const(s, s->active), &s->hist, steps,
               &fc.value, &peak);
    fc.confidence = set_confidence(s);
    return fc;
}

PredlogForecast predlog_forecast_set_peak(const PredlogForecastSet *s,
                                          unsigned steps)
{
    PredlogForecast fc;
    double last;

    model_path(s->active, set_state_const(s, s->active), &s->hist, steps,
               &last, &fc.value);
    fc.confidence = set_confidence(s);
    return fc;
}

void predlog_forecast_set_score(const PredlogForecastSet *s,
                                PredlogForecastModel m,
                                PredlogForecastScore *out)
{
    memset(out, 0, sizeof(*out));
    if (!model_valid(m) || !s->n) {
        return;
    }
    out->smape = s->score[m].sape / s->w;
    out->mae = s->score[m].ae / s->w;
    out->n = s->n;
}

unsigned predlog_forecast_set_period(const PredlogForecastSet *s)
{
    return s->hist.period;
}

uint64_t predlog_forecast_set_samples(const PredlogForecastSet *s)
{
    return s->hist.count;
}

/* ------------------------------------------------------------------ */
/* Names and offline evaluation                                        */
/* ------------------------------------------------------------------ */

const char *predlog_forecast_model_str(PredlogForecastModel m)
{
    return model_valid(m) ? model_names[m] : NULL;
}

bool predlog_forecast_model_from_str(const char *str,
                                     PredlogForecastModel *m)
{
    if (!str) {
        return false;
    }
    for (int i = 0; i < PREDLOG_FORECAST__MAX; i++) {
        if (!strcmp(str, model_names[i])) {
            *m = i;
            return true;
        }
    }
    return false;
}

void predlog_forecast_evaluate(PredlogForecastModel m, const double *y,
                               size_t n, size_t warmup,
                               PredlogForecastScore *out)
{
    PredlogForecaster *f = NULL;
    PredlogForecastSet *s = NULL;
    double sum_sape = 0, sum_ae = 0;
    bool seen = false;

    memset(out, 0, sizeof(*out));
    if (!model_valid(m)) {
        return;
    }
    if (m == PREDLOG_FORECAST_AUTO) {
        s = predlog_forecast_set_new();
    } else {
        f = predlog_forecaster_new(m);
    }
    for (size_t i = 0; i < n; i++) {
        double a;

        if (!isfinite(y[i])) {
            continue;
        }
        a = clamp_input(y[i]);
        if (seen && i >= warmup) {
            double p = s ? predlog_forecast_set_predict(s, 1).value :
                predlog_forecaster_predict(f, 1);

            sum_sape += sape(p, a);
            sum_ae += fabs(p - a);
            out->n++;
        }
        if (s) {
            predlog_forecast_set_update(s, a);
        } else {
            predlog_forecaster_update(f, a);
        }
        seen = true;
    }
    if (out->n) {
        out->smape = sum_sape / out->n;
        out->mae = sum_ae / out->n;
    }
    predlog_forecast_set_free(s);
    predlog_forecaster_free(f);
}
