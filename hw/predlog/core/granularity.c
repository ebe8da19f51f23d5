/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: granularity policy, which level each function logs at
 *
 * The rule is specified in granularity.h.  A plan runs from a timer, not
 * on the record path, for at most a few hundred functions, so it uses
 * plain O(n) scans per step and a scratch allocation per call; only
 * predlog_granularity_overflow() is meant for the record path.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <math.h>
#include <stdlib.h>

#include "granularity.h"

#define RANK_SUMMARY    0
#define RANK_HEADER     1
#define RANK_FULL       2
#define N_RANKS         3
/* Keeps sums of many demands finite, so that subtracting stays exact. */
#define DEMAND_MAX      1e300
/* "No previous plan" in PredlogGranularityState.planned. */
#define PLANNED_NONE    (-1)

struct PredlogGranularityState {
    PredlogGranularityConfig cfg;
    unsigned size;              /* slots in the arrays below */
    unsigned *fits;             /* refreshes in a row a raise would fit */
    int *planned;               /* level of the last plan, or NONE */
};

/* ------------------------------------------------------------------ */
/* Levels                                                              */
/* ------------------------------------------------------------------ */

bool predlog_level_valid(PredlogRecordLevel l)
{
    return (unsigned)l <= PREDLOG_RECORD_LEVEL__MAX;
}

int predlog_level_rank(PredlogRecordLevel l)
{
    switch (l) {
    case PREDLOG_RECORD_LEVEL_FULL:
        return RANK_FULL;
    case PREDLOG_RECORD_LEVEL_HEADER:
        return RANK_HEADER;
    case PREDLOG_RECORD_LEVEL_SUMMARY:
        return RANK_SUMMARY;
    }
    return -1;
}

PredlogRecordLevel predlog_level_from_rank(int rank)
{
    if (rank >= RANK_FULL) {
        return PREDLOG_RECORD_LEVEL_FULL;
    }
    if (rank == RANK_HEADER) {
        return PREDLOG_RECORD_LEVEL_HEADER;
    }
    return PREDLOG_RECORD_LEVEL_SUMMARY;
}

PredlogRecordLevel predlog_level_down(PredlogRecordLevel l)
{
    int r = predlog_level_rank(l);

    return predlog_level_from_rank(r < 0 ? RANK_SUMMARY : r - 1);
}

PredlogRecordLevel predlog_level_up(PredlogRecordLevel l)
{
    int r = predlog_level_rank(l);

    return predlog_level_from_rank(r < 0 ? RANK_FULL : r + 1);
}

const char *predlog_granularity_reason_str(PredlogGranularityReason r)
{
    switch (r) {
    case PREDLOG_GRANULARITY_REASON_NONE:
        return "none";
    case PREDLOG_GRANULARITY_REASON_PRESSURE:
        return "pressure";
    case PREDLOG_GRANULARITY_REASON_RELIEF:
        return "relief";
    case PREDLOG_GRANULARITY_REASON_FORCED:
        return "forced";
    case PREDLOG_GRANULARITY_REASON__MAX:
        break;
    }
    return "unknown";
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

void predlog_granularity_config_default(PredlogGranularityConfig *cfg)
{
    cfg->fill_target = PREDLOG_GRANULARITY_DEFAULT_FILL_TARGET;
    cfg->hysteresis = PREDLOG_GRANULARITY_DEFAULT_HYSTERESIS;
    cfg->dwell = PREDLOG_GRANULARITY_DEFAULT_DWELL;
    cfg->margin = PREDLOG_GRANULARITY_DEFAULT_MARGIN;
}

static double clamp_or(double v, double lo, double hi, double dflt)
{
    if (isnan(v)) {
        return dflt;
    }
    return v < lo ? lo : v > hi ? hi : v;
}

static void grow(PredlogGranularityState *st, unsigned n)
{
    unsigned old = st->size;

    if (n <= old) {
        return;
    }
    st->fits = g_renew(unsigned, st->fits, n);
    st->planned = g_renew(int, st->planned, n);
    for (unsigned i = old; i < n; i++) {
        st->fits[i] = 0;
        st->planned[i] = PLANNED_NONE;
    }
    st->size = n;
}

PredlogGranularityState *predlog_granularity_new(
    const PredlogGranularityConfig *cfg, unsigned max_functions)
{
    PredlogGranularityState *st = g_new0(PredlogGranularityState, 1);
    PredlogGranularityConfig *c = &st->cfg;

    predlog_granularity_config_default(c);
    if (cfg) {
        c->fill_target = clamp_or(cfg->fill_target, 0, 1,
                                  PREDLOG_GRANULARITY_DEFAULT_FILL_TARGET);
        c->hysteresis = clamp_or(cfg->hysteresis, 0, c->fill_target,
                                 MIN(PREDLOG_GRANULARITY_DEFAULT_HYSTERESIS,
                                     c->fill_target));
        c->dwell = MAX(cfg->dwell, 1);
        c->margin = clamp_or(cfg->margin, 0, DEMAND_MAX,
                             PREDLOG_GRANULARITY_DEFAULT_MARGIN);
    }
    grow(st, max_functions);
    return st;
}

void predlog_granularity_free(PredlogGranularityState *st)
{
    if (!st) {
        return;
    }
    g_free(st->fits);
    g_free(st->planned);
    g_free(st);
}

const PredlogGranularityConfig *predlog_granularity_config(
    PredlogGranularityState *st)
{
    return &st->cfg;
}

/* ------------------------------------------------------------------ */
/* Planning                                                            */
/* ------------------------------------------------------------------ */

/* Per-function scratch of one plan. */
typedef struct PlanFn {
    double cost[N_RANKS];       /* inflated demand, by rank */
    int rank;                   /* planned level */
    int floor;                  /* rank of the floor */
    PredlogGranularityReason reason;
} PlanFn;

typedef struct RaiseCand {
    unsigned i;
    double delta;
} RaiseCand;

static double sane_demand(double d)
{
    if (!(d > 0)) {             /* negative, zero, NaN */
        return 0;
    }
    return d > DEMAND_MAX ? DEMAND_MAX : d;
}

static void plan_fn_init(const PredlogGranularityConfig *cfg,
                         const PredlogGranularityInput *in, PlanFn *f)
{
    double q = clamp_or(in->confidence, 0, 1, 0);
    double inflate = 1 + cfg->margin * (1 - q);

    for (int r = 0; r < N_RANKS; r++) {
        double c = sane_demand(in->demand[predlog_level_from_rank(r)]);

        f->cost[r] = MIN(c * inflate, DEMAND_MAX);
    }
    f->floor = predlog_level_valid(in->floor) ?
               predlog_level_rank(in->floor) : RANK_SUMMARY;
    f->rank = predlog_level_rank(in->current);
    f->reason = PREDLOG_GRANULARITY_REASON_NONE;
    if (f->rank < f->floor) {   /* also an invalid current (-1) */
        f->rank = f->floor;
        f->reason = PREDLOG_GRANULARITY_REASON_FORCED;
    }
}

/*
 * The function to lower next, or -1; *to gets the rank it goes to.
 * First choice: the largest saving of one step down.  If no single step
 * saves anything, a function whose next level saves nothing but a level
 * further down does (tiny frames: HEADER costs as much as FULL, SUMMARY
 * far less) goes straight to its cheapest level, so that it never waits
 * at a level that costs as much as where it came from.
 */
static int pick_lowering(const PlanFn *fn, unsigned n, int *to)
{
    int best = -1;
    double best_save = 0, best_cost = 0;

    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (unsigned i = 0; i < n; i++) {
            const PlanFn *f = &fn[i];
            int target = f->rank - 1;
            double save;

            if (f->rank <= f->floor) {
                continue;
            }
            if (pass == 1) {
                for (int r = f->floor; r < f->rank - 1; r++) {
                    if (f->cost[r] < f->cost[target]) {
                        target = r;
                    }
                }
            }
            save = f->cost[f->rank] - f->cost[target];
            if (!(save > 0)) {
                continue;
            }
            if (best < 0 || save > best_save ||
                (save == best_save && f->cost[f->rank] > best_cost)) {
                best = i;
                *to = target;
                best_save = save;
                best_cost = f->cost[f->rank];
            }
        }
    }
    return best;
}

static int cmp_raise(const void *a, const void *b)
{
    const RaiseCand *x = a, *y = b;

    if (x->delta != y->delta) {
        return x->delta < y->delta ? -1 : 1;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

unsigned predlog_granularity_plan(PredlogGranularityState *st,
                                  const PredlogGranularityInput *in,
                                  unsigned n, double capacity,
                                  PredlogRecordLevel *out,
                                  PredlogGranularityReason *reason)
{
    const PredlogGranularityConfig *cfg = &st->cfg;
    g_autofree PlanFn *fn = NULL;
    g_autofree RaiseCand *cand = NULL;
    unsigned n_cand = 0, changed = 0;
    double high, low, total = 0;

    if (n == 0) {
        return 0;
    }
    grow(st, n);
    if (!(capacity > 0)) {
        capacity = 0;
    }
    high = cfg->fill_target * capacity;
    low = (cfg->fill_target - cfg->hysteresis) * capacity;

    fn = g_new(PlanFn, n);
    for (unsigned i = 0; i < n; i++) {
        plan_fn_init(cfg, &in[i], &fn[i]);
        /*
         * The level moved since our last plan (the record path stepped
         * down on overflow, or the slot was reset): the room we counted
         * was not real, so the relief count starts over.
         */
        if (st->planned[i] != PLANNED_NONE &&
            st->planned[i] != (int)in[i].current) {
            st->fits[i] = 0;
        }
        if (fn[i].reason == PREDLOG_GRANULARITY_REASON_FORCED) {
            st->fits[i] = 0;
        }
        total += fn[i].cost[fn[i].rank];
    }

    /* Pressure: each step lowers a rank, so this ends within 2n steps. */
    while (total > high) {
        int to = 0;
        int i = pick_lowering(fn, n, &to);
        PlanFn *f;

        if (i < 0) {
            break;
        }
        f = &fn[i];
        total += f->cost[to] - f->cost[f->rank];
        f->rank = to;
        f->reason = PREDLOG_GRANULARITY_REASON_PRESSURE;
        st->fits[i] = 0;
    }

    /* Relief: count the refreshes a raise would fit, then raise. */
    cand = g_new(RaiseCand, n);
    for (unsigned i = 0; i < n; i++) {
        PlanFn *f = &fn[i];
        double delta;

        if (f->reason != PREDLOG_GRANULARITY_REASON_NONE ||
            f->rank == RANK_FULL) {
            st->fits[i] = 0;
            continue;
        }
        delta = f->cost[f->rank + 1] - f->cost[f->rank];
        if (total + delta <= low) {
            if (st->fits[i] < G_MAXUINT) {
                st->fits[i]++;
            }
        } else {
            st->fits[i] = 0;
        }
        if (st->fits[i] >= cfg->dwell) {
            cand[n_cand++] = (RaiseCand) { .i = i, .delta = delta };
        }
    }
    qsort(cand, n_cand, sizeof(*cand), cmp_raise);
    for (unsigned k = 0; k < n_cand; k++) {
        PlanFn *f = &fn[cand[k].i];

        /* Raises of this refresh add up; a later one may not fit. */
        if (total + cand[k].delta > low) {
            continue;
        }
        total += cand[k].delta;
        f->rank++;
        f->reason = PREDLOG_GRANULARITY_REASON_RELIEF;
        st->fits[cand[k].i] = 0;
    }

    for (unsigned i = 0; i < n; i++) {
        PredlogRecordLevel l = predlog_level_from_rank(fn[i].rank);

        out[i] = l;
        if (reason) {
            reason[i] = l == in[i].current ? PREDLOG_GRANULARITY_REASON_NONE :
                                             fn[i].reason;
        }
        if (l != in[i].current) {
            changed++;
        }
        st->planned[i] = l;
    }
    return changed;
}

bool predlog_granularity_overflow(uint64_t interval_bytes, double allowance,
                                  PredlogRecordLevel current,
                                  PredlogRecordLevel floor)
{
    int floor_rank = predlog_level_valid(floor) ? predlog_level_rank(floor) :
                                                  RANK_SUMMARY;

    if (predlog_level_rank(current) <= floor_rank || interval_bytes == 0 ||
        isnan(allowance)) {
        return false;
    }
    return (double)interval_bytes > allowance;
}
