/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the dynamic buffer allocator -- forecast-driven sizing and
 * granularity of the flight recorder's functions
 *
 * The allocator sits between the sources that log (network and block
 * taps, the guest's functions) and the recorder (recorder.h).  On the
 * record path it identifies the function a record belongs to, finer than
 * its source (analyzer.h: "net0/dns", "blk0/write", "guest0/nginx.err"),
 * creates that function in the recorder the first time, counts the
 * record into the function's series and logs it.  Every refresh
 * interval it closes the series' interval and, per function:
 *
 *  1. forecasts the records of the next intervals (forecast.h: the model
 *     with the lowest recent error, or the one chosen over QMP), with a
 *     confidence;
 *  2. computes what the function needs over the retention horizon at
 *     each level: records x record size of the level x the cold tier's
 *     measured compression ratio, plus its fast-tier buffer;
 *  3. lets the granularity policy (granularity.h) choose levels so that
 *     the whole plan fits the pool, with hysteresis;
 *  4. sizes the function's fast-tier buffer for the peak forecast over
 *     the fast-tier window -- at once if the forecast is confident (the
 *     buffer is in place before the burst: the "shadow log"), otherwise
 *     growing at most 2x per refresh and only when the buffer fills.
 *     It sets no cold-tier budgets: once the pool is full the oldest
 *     history of any function goes first, so the spare pool extends
 *     every function's history alike.
 *
 * Between refreshes, a function whose records in the running interval
 * exceed what the plan has room for (its forecast plus the plan's
 * headroom) steps down one level at once: a burst lowers detail before
 * it can evict the history of others.  Level changes are reported by the
 * next refresh.
 *
 * With predictive off (the FIXED and plain DYNAMIC baselines), a source
 * is one recorder function, levels stay FULL and nothing is forecast.
 *
 * Pure C11 + GLib, no QEMU headers.  Not thread-safe: the device's lock
 * serialises every call, as for the recorder.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_ALLOCATOR_H
#define HW_PREDLOG_ALLOCATOR_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "analyzer.h"
#include "qemu/predlog/forecast.h"
#include "granularity.h"
#include "recorder.h"

/* Longest source name: "<source>/<class>" must fit a function name. */
#define PREDLOG_SOURCE_NAME_MAX \
    (PREDLOG_POOL_NAME_MAX - 1 - PREDLOG_CLASS_NAME_MAX)

#define PREDLOG_ALLOCATOR_DEFAULT_REFRESH_MS    100
#define PREDLOG_ALLOCATOR_DEFAULT_HORIZON_S     60
#define PREDLOG_ALLOCATOR_DEFAULT_HOT_MS        1000
#define PREDLOG_ALLOCATOR_DEFAULT_CONFIDENT     0.6

typedef struct PredlogAllocatorConfig {
    bool predictive;            /* split, forecast, size and choose levels */
    uint32_t refresh_ms;        /* between predlog_allocator_refresh() */
    uint32_t horizon_s;         /* history the plan is sized to keep */
    uint32_t hot_ms;            /* window of forecast the fast tier holds */
    PredlogForecastModel model; /* AUTO or a forced model, every function */
    PredlogRecordLevel floor;   /* coarsest level allowed */
    double confident;           /* confidence to pre-allocate from */
    PredlogGranularityConfig granularity;
} PredlogAllocatorConfig;

void predlog_allocator_config_default(PredlogAllocatorConfig *cfg);

typedef struct PredlogAllocator PredlogAllocator;

/* @rec must outlive the allocator. */
PredlogAllocator *predlog_allocator_new(PredlogRecorder *rec,
                                        const PredlogAllocatorConfig *cfg,
                                        GError **errp);
void predlog_allocator_free(PredlogAllocator *a);

/*
 * Register a source; returns its id, or -1 with @errp set (name empty,
 * longer than PREDLOG_SOURCE_NAME_MAX or taken by a source of another
 * kind; no room).  A name registered before with the same kind returns
 * that source again (a tap removed and added back logs on where it
 * stopped).  Without predictive, the source's recorder function is added
 * now, named @name.
 */
int predlog_allocator_add_source(PredlogAllocator *a, PredlogFunctionKind kind,
                                 const char *name, uint64_t now_ns,
                                 GError **errp);

/*
 * Log one record of @source.  @func_id (if non-NULL) gets the recorder
 * function it went to (-1 if none).  PREDLOG_LOG_BAD_FUNCTION for an
 * unknown source; PREDLOG_LOG_DROPPED also when the recorder's directory
 * has no slot for a new function.
 */
PredlogLogResult predlog_allocator_log(PredlogAllocator *a, int source,
                                       const PredlogEntry *entry,
                                       uint64_t now_ns, uint64_t *seq,
                                       int *func_id);

/* A level change, as predlog_allocator_refresh() reports it. */
typedef struct PredlogLevelChange {
    int func_id;
    const char *function;       /* valid during the callback */
    PredlogRecordLevel from;
    PredlogRecordLevel to;
    const char *reason;         /* "pressure", "relief", "overflow", ... */
} PredlogLevelChange;

typedef void PredlogLevelChangeFn(void *opaque,
                                  const PredlogLevelChange *change);

/*
 * The periodic step (every refresh_ms of @now_ns): close the interval,
 * forecast, plan levels and sizes, apply them, tick the recorder.
 * Reports every level change since the last refresh (including the
 * record path's overflow steps) through @notify, if non-NULL.
 */
void predlog_allocator_refresh(PredlogAllocator *a, uint64_t now_ns,
                               PredlogLevelChangeFn *notify, void *opaque);

/*
 * After predlog_recorder_adopt() of an incoming migration: take over the
 * recorder's functions (named "<source>/<class>" by the source's
 * allocator) with their levels.  Forecasts start afresh: they are
 * learned state, rebuilt within a few refreshes.  False with @errp set if
 * a function names a source this allocator does not have.
 */
bool predlog_allocator_adopt(PredlogAllocator *a, GError **errp);

/*
 * Choose the forecasting model of the functions whose name is @function,
 * or of the functions of the source @function, or of all (NULL); AUTO
 * returns to automatic selection.  False with @errp set if nothing
 * matches or predictive is off.
 */
bool predlog_allocator_set_model(PredlogAllocator *a, const char *function,
                                 PredlogForecastModel model, GError **errp);

typedef struct PredlogAllocatorFunctionInfo {
    int func_id;
    const char *function;       /* owned by the allocator */
    const char *source;
    const char *class_name;     /* NULL without predictive */
    PredlogForecastModel mode;  /* AUTO or forced */
    PredlogForecastModel model; /* in use */
    double forecast;            /* records per second, next interval */
    double confidence;
    unsigned period;            /* detected season, intervals; 0: none */
    double smape;               /* recent one-step sMAPE of model, 0..2 */
    PredlogRecordLevel level;
    const char *reason;         /* of the last level change, "" if none */
    uint64_t level_changes;
    uint64_t hot_target;        /* bytes */
    uint64_t cold_budget;       /* bytes; 0: no limit */
    double need;                /* bytes over the horizon at its level */
    double compression;         /* cold tier stored / raw, 1 if unknown */
} PredlogAllocatorFunctionInfo;

unsigned predlog_allocator_n_functions(PredlogAllocator *a);
/* By recorder function id; false if the allocator has no such function. */
bool predlog_allocator_function_info(PredlogAllocator *a, int func_id,
                                     PredlogAllocatorFunctionInfo *info);

typedef struct PredlogAllocatorStats {
    uint64_t refreshes;
    uint64_t cpu_ns;            /* spent in refresh, lifetime */
    uint64_t level_changes;
    uint64_t preallocations;    /* fast tiers resized ahead of a forecast */
    uint64_t unclassified;      /* records dropped: no function slot */
    double plan_fill;           /* last plan's need / capacity */
} PredlogAllocatorStats;

void predlog_allocator_get_stats(PredlogAllocator *a,
                                 PredlogAllocatorStats *stats);

#endif /* HW_PREDLOG_ALLOCATOR_H */
