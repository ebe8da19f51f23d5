/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: forecasters of per-function I/O volume
 *
 * The recorder sizes each I/O function's buffer and picks its logging
 * granularity from what the function is about to do.  This file predicts
 * that from the function's own past: one series per function (records or
 * bytes per refresh interval), several models side by side, and, per
 * series, the model whose recent predictions were best.
 *
 * Models (all online, O(1) or amortised O(1) per sample):
 *
 *  NAIVE         the last value.  The baseline every other model must beat.
 *  EWMA          exponentially weighted mean, alpha 0.3.
 *  HOLT          level + trend (alpha 0.4, beta 0.1); the trend is seeded
 *                from the first two samples, so a linear ramp is exact
 *                from the third sample on.
 *  HOLT_WINTERS  additive level + trend + season (gamma 0.3) once a period
 *                is detected (see predlog_forecast_set_period()); plain
 *                HOLT with the same parameters until then.
 *  AR            AR(6) with intercept on the mean-removed, MAD-scaled
 *                series, fitted by recursive least squares with
 *                forgetting factor 0.99 (about the last 100 samples).
 *  TREE          CART regression tree (depth <= 4, variance reduction)
 *                on the lag features y[t], y[t-1], y[t-2], mean(y[t-7..t])
 *                and, with a period P, y[t+1-P]; refitted every 16
 *                samples on the last 128.  NAIVE until the first fit.
 *
 * Period detection: every 16 samples, the autocorrelation of the linearly
 * detrended last (up to) 256 samples is computed for lags 1..64; a lag
 * L in 4..64 with L <= N/3 is a candidate if r(L) is a local maximum,
 * r(L) >= 0.5 and r dipped to r(L) - 0.3 or below at some shorter lag; the
 * smallest candidate within 90% of the best candidate's r wins (so that a
 * multiple of the period does not).  A period is adopted when two checks
 * in a row agree and dropped after three checks in a row find none.
 *
 * Inputs: series are volumes.  A non-finite sample is ignored (as if it
 * never came); a finite one is clamped into [0, PREDLOG_FORECAST_VALUE_MAX]
 * so that no model can overflow.  Outputs are finite and >= 0, always.
 *
 * Multi-step predictions iterate (AR, TREE) or extrapolate (HOLT, HW);
 * @steps is at least 1 (0 counts as 1) and at most
 * PREDLOG_FORECAST_HORIZON_MAX (larger counts as that).
 *
 * Memory (x86_64): a PredlogForecastSet is one allocation of 3.8 KiB: a
 * 256-sample history (2 KiB), the Holt-Winters season, the RLS state and
 * a 31-node tree (about 0.5 KiB each) and per-model scores.  A stand-alone
 * PredlogForecaster is 2.6 KiB (its own history and one model).  Neither
 * allocates after creation; a tree refit uses about 10 KiB of stack.
 *
 * Time (bench/forecast on the 2-core development VM, -O2): an update of
 * a whole set takes about 0.3 us (median) and 2 us (mean); every 16th
 * sample it also checks for a period and refits the tree, 25-35 us
 * (p99).  100 sets refreshed every 100 ms cost about 0.2% of a core.
 *
 * Seasons longer than PREDLOG_FORECAST_PERIOD_MAX samples (a one-minute
 * cycle sampled every 100 ms) are out of reach: the history would have
 * to hold three of them.  The selection scores one-step predictions
 * only, so it also picks the model for longer horizons by that.
 *
 * Pure C11 + GLib + libm; single-threaded (the caller serialises).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_FORECAST_H
#define HW_PREDLOG_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inputs above this are clamped to it: no model state can overflow. */
#define PREDLOG_FORECAST_VALUE_MAX      1e15

/* Longest horizon predicted; longer requests are cut to it. */
#define PREDLOG_FORECAST_HORIZON_MAX    1024u

/* Season lengths the period detector can find, in samples. */
#define PREDLOG_FORECAST_PERIOD_MIN     4u
#define PREDLOG_FORECAST_PERIOD_MAX     64u

/* Order of the AR model. */
#define PREDLOG_FORECAST_AR_ORDER       6u

/*
 * Scored one-step predictions before a set trusts any model: before that
 * the set uses NAIVE (in AUTO mode) and reports confidence 0.
 */
#define PREDLOG_FORECAST_WARMUP         16u

typedef enum PredlogForecastModel {
    PREDLOG_FORECAST_AUTO = 0,     /* selection only: lowest recent error */
    PREDLOG_FORECAST_NAIVE,        /* last value: the baseline */
    PREDLOG_FORECAST_EWMA,
    PREDLOG_FORECAST_HOLT,         /* double exponential smoothing */
    /* seasonal; plain Holt until a period is detected */
    PREDLOG_FORECAST_HOLT_WINTERS,
    /* AR(p) fitted online by recursive least squares */
    PREDLOG_FORECAST_AR,
    /* learned: regression tree on lag features, refitted online */
    PREDLOG_FORECAST_TREE,
    PREDLOG_FORECAST__MAX,
} PredlogForecastModel;

typedef struct PredlogForecast {
    double value;        /* predicted value, >= 0 (series are volumes) */
    /* 0..1, from the model's recent error; 0 until warmed up */
    double confidence;
} PredlogForecast;

typedef struct PredlogForecastScore {
    /* mean of |F-A| / ((|F|+|A|)/2), 0/0 counts 0; range 0..2 */
    double smape;
    double mae;          /* mean |F-A| */
    uint64_t n;          /* predictions scored */
} PredlogForecastScore;

/* ------------------------------------------------------------------ */
/* One model on one series                                             */
/* ------------------------------------------------------------------ */

typedef struct PredlogForecaster PredlogForecaster;

/* NULL for PREDLOG_FORECAST_AUTO or an out-of-range @model. */
PredlogForecaster *predlog_forecaster_new(PredlogForecastModel model);
void predlog_forecaster_free(PredlogForecaster *f);     /* NULL is fine */
void predlog_forecaster_update(PredlogForecaster *f, double y);
/* 0 before the first sample. */
double predlog_forecaster_predict(const PredlogForecaster *f,
                                  unsigned steps);

/*
 * AR only, for tests and diagnostics: copy up to @n lag coefficients
 * (a1 first, in y[t+1] - m = a1 (y[t] - m) + ... + c) into @coef and
 * return PREDLOG_FORECAST_AR_ORDER; 0 (nothing copied) for other models.
 */
unsigned predlog_forecaster_ar_coefficients(const PredlogForecaster *f,
                                            double *coef, unsigned n);

/* ------------------------------------------------------------------ */
/* All models on one series                                            */
/* ------------------------------------------------------------------ */

/*
 * Scores.  Every model's one-step prediction is scored against the next
 * sample.  The "recent" sMAPE and MAE are exponentially decayed means
 * with weight (31/32)^age, normalised by the sum of the weights (so the
 * first samples are a plain mean): the last ~32 samples (3.2 s at the
 * device's default 100 ms) dominate, at O(1) memory per model, and a
 * regime change fades in smoothly rather than falling off a window edge.
 * n counts every scored prediction.
 *
 * Selection (mode AUTO): until PREDLOG_FORECAST_WARMUP predictions were
 * scored, NAIVE.  Afterwards, after every sample, the model with the
 * lowest recent sMAPE (ties: the lower enum value, i.e. the simpler
 * model) replaces the active one only if its sMAPE is below 0.9 times the
 * active model's and the active one has been in use for at least 8
 * samples.  sMAPE rather than MAE because it is relative: a model must be
 * right on the quiet intervals as well as the busy ones, and knowing when
 * a function is idle matters as much to the recorder as the size of its
 * bursts.  Measured (bench/forecast, synthetic traces): choosing by sMAPE
 * gave AUTO an sMAPE of 0.85-0.93x NAIVE's and an MAE of 0.80-0.85x;
 * choosing by MAE gained about 0.01 in MAE but lost up to 1.2x NAIVE in
 * sMAPE, by predicting small non-zero volumes for idle intervals.
 *
 * Confidence: c = max(0, 1 - MAE_m / mean|A|), the active model's recent
 * MAE over the recent mean of the actual values (both decayed as above),
 * i.e. 1 - weighted absolute percentage error; 1 if both are 0; 0 until
 * warmed up.  It describes one-step error also for longer horizons.
 *
 * Slot PREDLOG_FORECAST_AUTO of the scores is the selection itself: the
 * prediction of whichever model was active when it was made.
 */
typedef struct PredlogForecastSet PredlogForecastSet;

PredlogForecastSet *predlog_forecast_set_new(void);
void predlog_forecast_set_free(PredlogForecastSet *s);  /* NULL is fine */
/* Scores every model's previous 1-step prediction, then updates. */
void predlog_forecast_set_update(PredlogForecastSet *s, double y);
/* AUTO or a forced model; an out-of-range value is ignored. */
void predlog_forecast_set_select(PredlogForecastSet *s,
                                 PredlogForecastModel m);
/* AUTO or the forced one */
PredlogForecastModel predlog_forecast_set_mode(const PredlogForecastSet *s);
/* the model in use now, never AUTO */
PredlogForecastModel predlog_forecast_set_active(const PredlogForecastSet *s);
PredlogForecast predlog_forecast_set_predict(const PredlogForecastSet *s,
                                             unsigned steps);
/* max over 1..steps ahead */
PredlogForecast predlog_forecast_set_peak(const PredlogForecastSet *s,
                                          unsigned steps);
/* recent window; m = AUTO scores the selection; zeros if out of range */
void predlog_forecast_set_score(const PredlogForecastSet *s,
                                PredlogForecastModel m,
                                PredlogForecastScore *out);
/* detected season length in samples, 0 if none */
unsigned predlog_forecast_set_period(const PredlogForecastSet *s);
/* samples taken (non-finite ones are not) */
uint64_t predlog_forecast_set_samples(const PredlogForecastSet *s);

/*
 * "auto", "naive", "ewma", "holt", "holt-winters", "ar", "tree"; NULL for
 * an out-of-range value.  from_str matches exactly and leaves @m alone
 * on failure.
 */
const char *predlog_forecast_model_str(PredlogForecastModel m);
bool predlog_forecast_model_from_str(const char *str,
                                     PredlogForecastModel *m);

/*
 * Offline one-step-ahead evaluation over y[0..n), scoring from index
 * @warmup on; m = AUTO evaluates the selection.  Plain (not decayed)
 * means.  The prediction for y[i] is the one made after y[0..i-1], so
 * y[0] is never scored; non-finite y[i] are neither scored nor fed, and
 * actuals are clamped like inputs.  Zeros if @m is out of range.
 */
void predlog_forecast_evaluate(PredlogForecastModel m, const double *y,
                               size_t n, size_t warmup,
                               PredlogForecastScore *out);

#endif /* HW_PREDLOG_FORECAST_H */
