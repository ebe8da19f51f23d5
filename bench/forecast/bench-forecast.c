/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark of the predlog forecasters on I/O traces
 *
 * For every source of every trace, two series are built: records per
 * interval and bytes per interval (default interval 100 ms, the device's
 * refresh).  Every model, stand-alone, and a PredlogForecastSet in AUTO
 * mode replay each series sample by sample, as the device would; after
 * each sample each of them predicts 1 and 10 intervals ahead, and each
 * prediction is scored when its target arrives.  The tables print sMAPE
 * (percent) and MAE per model and horizon, with the ratio of each to
 * NAIVE's (the baseline: below 1 is better than the last value), per
 * trace and pooled over all traces.  Targets before interval
 * BENCH_SCORE_FROM are not scored (every model's warm-up, and so that both
 * horizons score the same targets).  Update cost per sample is timed
 * too; nothing here asserts a timing.
 *
 * Usage: bench-forecast [--interval-ms N] TRACE...
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "bench/common/trace.h"
#include "qemu/predlog/forecast.h"

#define N_SLOTS         PREDLOG_FORECAST__MAX   /* [AUTO] is the set */
#define N_HORIZONS      2
#define RING            16                      /* > the longest horizon */
#define BENCH_SCORE_FROM 32

static const unsigned horizons[N_HORIZONS] = { 1, 10 };

enum { KIND_RECORDS, KIND_BYTES, N_KINDS };

static const char *const kind_names[N_KINDS] = {
    "records per interval", "bytes per interval",
};

/* Table order: the baseline first, the selection last. */
static const PredlogForecastModel table_order[N_SLOTS] = {
    PREDLOG_FORECAST_NAIVE, PREDLOG_FORECAST_EWMA, PREDLOG_FORECAST_HOLT,
    PREDLOG_FORECAST_HOLT_WINTERS, PREDLOG_FORECAST_AR, PREDLOG_FORECAST_TREE,
    PREDLOG_FORECAST_AUTO,
};

typedef struct Acc {
    double sape;
    double ae;
    uint64_t n;
} Acc;

typedef struct Results {
    Acc acc[N_KINDS][N_SLOTS][N_HORIZONS];
    uint64_t picks[N_KINDS][N_SLOTS];   /* samples each model was active */
    unsigned series[N_KINDS];
} Results;

typedef struct Timing {
    GArray *ns[N_SLOTS];                /* float per update; [AUTO]: a set */
    double total_ns[N_SLOTS];
    uint64_t n;
} Timing;

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void acc_add(Acc *a, double f, double y)
{
    a->ae += fabs(f - y);
    a->sape += f + y > 0 ? 2 * fabs(f - y) / (f + y) : 0;
    a->n++;
}

static void acc_merge(Acc *into, const Acc *a)
{
    into->sape += a->sape;
    into->ae += a->ae;
    into->n += a->n;
}

static double acc_smape_pct(const Acc *a)
{
    return a->n ? 100 * a->sape / a->n : 0;
}

static double acc_mae(const Acc *a)
{
    return a->n ? a->ae / a->n : 0;
}

static double ratio(double x, double base)
{
    return base > 0 ? x / base : (x > 0 ? INFINITY : 1);
}

/* Replay one series through every model and a set; score into @r. */
static void run_series(const double *y, size_t n, unsigned kind, Results *r,
                       Timing *tm)
{
    PredlogForecaster *f[N_SLOTS] = { NULL };
    PredlogForecastSet *set = predlog_forecast_set_new();
    double pred[N_SLOTS][N_HORIZONS][RING];

    for (int m = PREDLOG_FORECAST_NAIVE; m < N_SLOTS; m++) {
        f[m] = predlog_forecaster_new(m);
    }
    for (size_t t = 0; t < n; t++) {
        /* Score the predictions whose target is y[t]. */
        for (int m = 0; m < N_SLOTS; m++) {
            for (int h = 0; h < N_HORIZONS; h++) {
                if (t >= BENCH_SCORE_FROM && t >= horizons[h]) {
                    acc_add(&r->acc[kind][m][h], pred[m][h][t % RING], y[t]);
                }
            }
        }

        for (int m = 0; m < N_SLOTS; m++) {
            double t0 = now_ns(), dt;

            if (m == PREDLOG_FORECAST_AUTO) {
                predlog_forecast_set_update(set, y[t]);
            } else {
                predlog_forecaster_update(f[m], y[t]);
            }
            dt = now_ns() - t0;
            tm->total_ns[m] += dt;
            g_array_append_val(tm->ns[m], (float){ dt });
        }
        tm->n++;
        r->picks[kind][predlog_forecast_set_active(set)]++;

        for (int h = 0; h < N_HORIZONS; h++) {
            size_t slot = (t + horizons[h]) % RING;

            pred[PREDLOG_FORECAST_AUTO][h][slot] =
                predlog_forecast_set_predict(set, horizons[h]).value;
            for (int m = PREDLOG_FORECAST_NAIVE; m < N_SLOTS; m++) {
                pred[m][h][slot] = predlog_forecaster_predict(f[m],
                                                              horizons[h]);
            }
        }
    }
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_SLOTS; m++) {
        predlog_forecaster_free(f[m]);
    }
    predlog_forecast_set_free(set);
    r->series[kind]++;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;

    return x < y ? -1 : x > y;
}

/* The @q quantile of @a, which this sorts. */
static double quantile(GArray *a, double q)
{
    if (!a->len) {
        return 0;
    }
    qsort(a->data, a->len, sizeof(float), cmp_float);
    return g_array_index(a, float, (size_t)(q * (a->len - 1)));
}

static void print_table(const Results *r, unsigned kind)
{
    const Acc *base[N_HORIZONS];
    uint64_t picks = 0;

    for (int h = 0; h < N_HORIZONS; h++) {
        base[h] = &r->acc[kind][PREDLOG_FORECAST_NAIVE][h];
    }
    printf("-- %s: %u series, %" PRIu64 " scored predictions per model and "
           "horizon\n", kind_names[kind], r->series[kind], base[0]->n);
    printf("%-13s", "model");
    for (int h = 0; h < N_HORIZONS; h++) {
        printf(" | h=%-2u sMAPE%% /naive          MAE /naive", horizons[h]);
    }
    printf("\n");
    for (int i = 0; i < N_SLOTS; i++) {
        PredlogForecastModel m = table_order[i];

        printf("%-13s", predlog_forecast_model_str(m));
        for (int h = 0; h < N_HORIZONS; h++) {
            const Acc *a = &r->acc[kind][m][h];

            printf(" | %11.2f %6.3f %12.4g %6.3f", acc_smape_pct(a),
                   ratio(acc_smape_pct(a), acc_smape_pct(base[h])),
                   acc_mae(a), ratio(acc_mae(a), acc_mae(base[h])));
        }
        printf("\n");
    }
    for (int m = 0; m < N_SLOTS; m++) {
        picks += r->picks[kind][m];
    }
    printf("auto used:   ");
    for (int m = PREDLOG_FORECAST_NAIVE; m < N_SLOTS; m++) {
        printf(" %s %.1f%%", predlog_forecast_model_str(m),
               picks ? 100.0 * r->picks[kind][m] / picks : 0);
    }
    printf("\n");
}

static void results_merge(Results *into, const Results *r)
{
    for (int k = 0; k < N_KINDS; k++) {
        for (int m = 0; m < N_SLOTS; m++) {
            for (int h = 0; h < N_HORIZONS; h++) {
                acc_merge(&into->acc[k][m][h], &r->acc[k][m][h]);
            }
            into->picks[k][m] += r->picks[k][m];
        }
        into->series[k] += r->series[k];
    }
}

/* AUTO's sMAPE over NAIVE's, for the summary line. */
static double auto_ratio(const Results *r, unsigned kind, int h)
{
    return ratio(acc_smape_pct(&r->acc[kind][PREDLOG_FORECAST_AUTO][h]),
                 acc_smape_pct(&r->acc[kind][PREDLOG_FORECAST_NAIVE][h]));
}

static void build_series(const PredlogTrace *trace, uint64_t interval_ns,
                         unsigned source, double *records, double *bytes,
                         size_t n)
{
    memset(records, 0, n * sizeof(*records));
    memset(bytes, 0, n * sizeof(*bytes));
    for (size_t i = 0; i < trace->n_events; i++) {
        const PredlogTraceEvent *ev = &trace->events[i];
        size_t k = ev->t_ns / interval_ns;

        if (ev->source != source || k >= n) {
            continue;
        }
        records[k]++;
        bytes[k] += ev->len;
    }
}

int main(int argc, char **argv)
{
    int interval_ms = 100;
    g_auto(GStrv) traces = NULL;
    GOptionEntry entries[] = {
        { "interval-ms", 'i', 0, G_OPTION_ARG_INT, &interval_ms,
          "length of one sample of a series (default 100, the device's "
          "refresh)", "N" },
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &traces,
          NULL, "TRACE..." },
        { 0 },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- forecasters vs the naive baseline on "
                             "I/O traces");
    g_autoptr(GError) err = NULL;
    Results total = { 0 };
    Results *per_trace;
    char **names;
    Timing tm = { 0 };
    unsigned n_traces;

    for (int m = 0; m < N_SLOTS; m++) {
        tm.ns[m] = g_array_new(false, false, sizeof(float));
    }
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("bench-forecast: %s\n", err->message);
        return 2;
    }
    if (!traces || !traces[0] || interval_ms <= 0) {
        g_printerr("bench-forecast: need --interval-ms > 0 and at least "
                   "one trace (e.g. bench/traces/bursty.tsv.zst)\n");
        return 2;
    }
    n_traces = g_strv_length(traces);
    per_trace = g_new0(Results, n_traces);
    names = g_new0(char *, n_traces + 1);

    printf("bench-forecast: interval %d ms, horizons 1 and 10 intervals, "
           "targets from interval %d on scored\n", interval_ms,
           BENCH_SCORE_FROM);
    printf("sMAPE = mean of |F-A| / ((F+A)/2) (0/0 counts 0), in percent; "
           "/naive = the model's value over naive's (< 1: better)\n");

    for (unsigned i = 0; i < n_traces; i++) {
        g_autoptr(PredlogTrace) trace = predlog_trace_load(traces[i], &err);
        uint64_t interval_ns = (uint64_t)interval_ms * 1000000;
        size_t n;
        double *records, *bytes;

        if (!trace) {
            g_printerr("bench-forecast: %s\n", err->message);
            return 1;
        }
        names[i] = g_strdup(trace->name);
        n = trace->duration_ns / interval_ns + 1;
        records = g_new(double, n);
        bytes = g_new(double, n);
        printf("\n== %s: %u sources, %zu events, %zu intervals of %d ms\n",
               trace->name, trace->sources->len, trace->n_events, n,
               interval_ms);
        for (unsigned src = 0; src < trace->sources->len; src++) {
            build_series(trace, interval_ns, src, records, bytes, n);
            run_series(records, n, KIND_RECORDS, &per_trace[i], &tm);
            run_series(bytes, n, KIND_BYTES, &per_trace[i], &tm);
        }
        for (int k = 0; k < N_KINDS; k++) {
            print_table(&per_trace[i], k);
        }
        results_merge(&total, &per_trace[i]);
        g_free(records);
        g_free(bytes);
    }

    if (n_traces > 1) {
        printf("\n== all %u traces pooled\n", n_traces);
        for (int k = 0; k < N_KINDS; k++) {
            print_table(&total, k);
        }
    }

    /*
     * Percentiles, not the maximum: on a shared 2-core machine the
     * maximum is whichever update the scheduler preempted.
     */
    printf("\nupdate cost per sample, ns (%" PRIu64 " samples, wall clock, "
           "including ~20-50 ns of clock reads):\n", tm.n);
    printf("  %-13s %8s %8s %8s %8s %8s\n", "", "mean", "p50", "p99",
           "p99.9", "max");
    for (int i = 0; i < N_SLOTS; i++) {
        PredlogForecastModel m = table_order[i];

        printf("  %-13s %8.0f", m == PREDLOG_FORECAST_AUTO ? "set (all)" :
               predlog_forecast_model_str(m),
               tm.n ? tm.total_ns[m] / tm.n : 0);
        printf(" %8.0f %8.0f %8.0f %8.0f\n", quantile(tm.ns[m], 0.5),
               quantile(tm.ns[m], 0.99), quantile(tm.ns[m], 0.999),
               quantile(tm.ns[m], 1));
        g_array_free(tm.ns[m], true);
    }

    printf("\n");
    for (unsigned i = 0; i < n_traces; i++) {
        printf("%-12s auto sMAPE / naive:  records h1 %.3f h10 %.3f   "
               "bytes h1 %.3f h10 %.3f\n", names[i],
               auto_ratio(&per_trace[i], KIND_RECORDS, 0),
               auto_ratio(&per_trace[i], KIND_RECORDS, 1),
               auto_ratio(&per_trace[i], KIND_BYTES, 0),
               auto_ratio(&per_trace[i], KIND_BYTES, 1));
    }
    g_strfreev(names);
    g_free(per_trace);
    return 0;
}
