/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: granularity policy, which level each function logs at
 *
 * Functions share one pool.  When the forecast says their records will
 * not fit over the retention horizon at the detail they log at now, some
 * must log less per record; when there is room again, they get detail
 * back.  This file decides which, and when, from numbers alone: it does
 * not know the recorder, the forecasters or the clock.
 *
 * Levels, by cost per record (PredlogRecordLevel, record.h):
 *
 *   FULL     the payload as seen                          rank 2
 *   HEADER   the first bytes / metadata of each record:
 *            still one record per event                   rank 1
 *   SUMMARY  per-interval aggregates (summary.h): every
 *            event counted and numbered, none kept        rank 0
 *
 * The enum values (FULL=0, SUMMARY=1, HEADER=2) are on-media values and
 * do not follow this order; always compare levels by predlog_level_rank().
 *
 * Decision rule of predlog_granularity_plan(), for functions i sharing
 * capacity C (bytes), each with demand d_i[level] (bytes its records
 * need over the retention horizon at that level) and confidence q_i:
 *
 *   cost_i(l)  = d_i[l] * (1 + margin * (1 - q_i))
 *   plan(L)    = sum_i cost_i(L_i)
 *
 *  0. A function whose current level is invalid or below its floor is
 *     put at its floor (FORCED).
 *  1. Pressure.  While plan(L) > fill_target * C, step down the function
 *     whose next step down saves the most (ties: larger cost at its
 *     current level, then lower index), never below its floor (PRESSURE).
 *     If no single step saves anything, a function whose next level
 *     saves nothing but a level further down does goes straight to its
 *     cheapest level (HEADER can cost as much as FULL for tiny frames).
 *     If nothing helps, the plan stays over target (the allocator then
 *     evicts or drops).  A lower level may legitimately cost more (one
 *     summary per interval versus a few small records): such a step is
 *     never taken.
 *  2. Relief.  Every function below FULL and not changed in steps 0-1
 *     counts refreshes in a row in which plan(L) with it one step up fits
 *     under (fill_target - hysteresis) * C.  Once the count reaches
 *     dwell, it is raised one step (RELIEF), cheapest raise first, as long
 *     as the plan with the raises of this refresh still fits under that
 *     line; one that no longer fits keeps its count for the next refresh.
 *
 * Why each parameter exists:
 *
 *  fill_target  the pool also holds records of older buffers being given
 *               up, and forecasts are wrong; planning to fill it completely
 *               would evict history the moment demand is slightly above
 *               forecast.
 *  hysteresis   the gap between the line that lowers (fill_target) and the
 *               line that raises (fill_target - hysteresis).  Demand that
 *               moves inside it changes nothing, and a function raised at
 *               the lower line is lowered again only after demand grew by
 *               hysteresis / (fill_target - hysteresis) (23% with the
 *               defaults), not on the next wobble.
 *  dwell        raising is the optional direction (lowering protects
 *               records, raising only adds detail), so it waits until the
 *               room has lasted dwell refreshes: a brief lull between bursts
 *               does not bring detail back only to take it away again.
 *  margin       an unsure forecast should be planned for as if demand were
 *               larger: with confidence 0, demand counts (1 + margin) times.
 *
 * Mapping to seeds/004 (AdjustLoggingGranularity): its target from I/O
 * demand and predicted writes is step 1's choice of level from forecast
 * demand against the shared capacity; its clamp to [MIN, MAX] is the
 * clamp to [floor, FULL]; its symmetric |target - current| > HYSTERESIS
 * test becomes an asymmetric band, because lowering late loses records
 * while raising late only loses detail, plus dwell.  Its MIN (logging
 * off) has no counterpart: SUMMARY, the lowest level, still counts and
 * numbers every record, so nothing acknowledged vanishes unaccounted.
 *
 * Between refreshes the record path can call
 * predlog_granularity_overflow() to step down at once when a function
 * overshoots its share badly; the next refresh sees the new level as the
 * current one and starts its relief count from zero.
 *
 * Pure C11 + GLib, no QEMU headers.  Not thread-safe: the caller locks.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_GRANULARITY_H
#define HW_PREDLOG_GRANULARITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"

/* Detail rank: FULL 2, HEADER 1, SUMMARY 0; -1 for an invalid level. */
int predlog_level_rank(PredlogRecordLevel l);
bool predlog_level_valid(PredlogRecordLevel l);
/* The level of a rank, clamped to [0, 2]. */
PredlogRecordLevel predlog_level_from_rank(int rank);
/* One step less detail (SUMMARY stays SUMMARY; invalid gives SUMMARY). */
PredlogRecordLevel predlog_level_down(PredlogRecordLevel l);
/* One step more detail (FULL stays FULL; invalid gives FULL). */
PredlogRecordLevel predlog_level_up(PredlogRecordLevel l);

/* Defaults in parentheses; see above for why each exists. */
typedef struct PredlogGranularityConfig {
    /* The plan may use this fraction of capacity (0.80). */
    double fill_target;
    /* Raising needs the plan under fill_target - hysteresis (0.15). */
    double hysteresis;
    /* Refreshes a raise condition must hold in a row (3; 0 counts as 1). */
    unsigned dwell;
    /* Demand is inflated by 1 + margin * (1 - confidence) (1.0). */
    double margin;
} PredlogGranularityConfig;

#define PREDLOG_GRANULARITY_DEFAULT_FILL_TARGET 0.80
#define PREDLOG_GRANULARITY_DEFAULT_HYSTERESIS  0.15
#define PREDLOG_GRANULARITY_DEFAULT_DWELL       3
#define PREDLOG_GRANULARITY_DEFAULT_MARGIN      1.0

void predlog_granularity_config_default(PredlogGranularityConfig *cfg);

typedef struct PredlogGranularityInput {
    /*
     * Bytes needed over the retention horizon at each level, indexed by
     * PredlogRecordLevel (not by rank).  Negative or NaN counts as 0,
     * anything above 1e300 as 1e300.
     */
    double demand[PREDLOG_RECORD_LEVEL__MAX + 1];
    double confidence;          /* of the forecast, 0..1 (NaN: 0) */
    PredlogRecordLevel current;
    /* Most detail-poor level allowed; an invalid one allows SUMMARY. */
    PredlogRecordLevel floor;
} PredlogGranularityInput;

typedef enum PredlogGranularityReason {
    PREDLOG_GRANULARITY_REASON_NONE = 0,    /* unchanged */
    PREDLOG_GRANULARITY_REASON_PRESSURE,    /* lowered: plan over target */
    PREDLOG_GRANULARITY_REASON_RELIEF,      /* raised: room for dwell */
    /* Put at its floor: the current level was invalid or below it. */
    PREDLOG_GRANULARITY_REASON_FORCED,
    PREDLOG_GRANULARITY_REASON__MAX,
} PredlogGranularityReason;

typedef struct PredlogGranularityState PredlogGranularityState;

/*
 * Policy state (relief counters and last plan per function slot).  @cfg
 * may be NULL for the defaults; out-of-range values are clamped
 * (fill_target to [0, 1], hysteresis to [0, fill_target], margin to >= 0,
 * NaN to the default).  @max_functions sizes the state; a plan for more
 * functions grows it.
 */
PredlogGranularityState *predlog_granularity_new(
    const PredlogGranularityConfig *cfg, unsigned max_functions);
void predlog_granularity_free(PredlogGranularityState *st);
/* The configuration in use, after clamping. */
const PredlogGranularityConfig *predlog_granularity_config(
    PredlogGranularityState *st);

/*
 * Plan the levels of @n functions (index = function slot, stable from
 * call to call) sharing @capacity bytes (NaN or negative counts as 0),
 * by the rule above.  out[i] gets the new level, reason[i] why it differs
 * from in[i].current (NONE if it does not); @reason may be NULL.  Returns
 * how many functions changed level.  n = 0 reads and writes nothing.
 */
unsigned predlog_granularity_plan(PredlogGranularityState *st,
                                  const PredlogGranularityInput *in,
                                  unsigned n, double capacity,
                                  PredlogRecordLevel *out,
                                  PredlogGranularityReason *reason);

/*
 * Emergency check for the record path between plans: true if a function
 * logging at @current should step down now because the bytes it logged
 * in this interval so far, @interval_bytes, exceed @allowance (its share
 * of the plan for the interval, from the caller).  False at or below
 * @floor, for an invalid @current, for no bytes, and for a NaN allowance.
 * Pure arithmetic, no state.
 */
bool predlog_granularity_overflow(uint64_t interval_bytes, double allowance,
                                  PredlogRecordLevel current,
                                  PredlogRecordLevel floor);

/* "none", "pressure", "relief", "forced"; "unknown" for other values. */
const char *predlog_granularity_reason_str(PredlogGranularityReason r);

#endif /* HW_PREDLOG_GRANULARITY_H */
