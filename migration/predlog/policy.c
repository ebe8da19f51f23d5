/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: how many pages migration may defer, and what the final round
 * will cost
 *
 * The rules are specified in policy.h.  Choices it leaves open:
 *
 *  - every outcome noted in a PredlogDeltaCost, a delta or a whole page,
 *    is a sample of the EWMA (the first one seeds it), so the learned
 *    cost is the cost of a deferred page whatever its encoding; a delta
 *    is never counted above a whole page, which is what QEMU sends when
 *    the delta would be larger;
 *  - a budget above 100% counts as 100%: deferring more than the whole
 *    downtime budget could never let migration converge;
 *  - a per-page cost that is negative or not finite counts as a whole
 *    page in predlog_policy_final_bytes(), and results too large for
 *    uint64_t saturate rather than wrap.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <math.h>
#include <string.h>

#include "policy.h"

#define DELTA_ALPHA     0.2
/* 2^64 as a double: the first value that does not fit in uint64_t */
#define U64_LIMIT       18446744073709551616.0

static uint64_t to_u64_sat(double x)
{
    if (!(x > 0)) {
        return 0;
    }
    return x >= U64_LIMIT ? UINT64_MAX : (uint64_t)x;
}

static double whole_page(const PredlogDeltaCost *c)
{
    return (double)c->page_size + (double)c->header;
}

void predlog_delta_cost_init(PredlogDeltaCost *c, uint64_t page_size,
                             uint64_t header)
{
    if (!c) {
        return;
    }
    memset(c, 0, sizeof(*c));
    c->page_size = page_size;
    c->header = header;
}

static void delta_cost_sample(PredlogDeltaCost *c, double bytes)
{
    c->delta_ewma = c->samples ?
        DELTA_ALPHA * bytes + (1 - DELTA_ALPHA) * c->delta_ewma : bytes;
    c->samples++;
}

void predlog_delta_cost_note(PredlogDeltaCost *c, uint64_t bytes)
{
    if (!c) {
        return;
    }
    delta_cost_sample(c, MIN((double)bytes, whole_page(c)));
}

void predlog_delta_cost_note_full(PredlogDeltaCost *c)
{
    if (!c) {
        return;
    }
    delta_cost_sample(c, whole_page(c));
}

double predlog_delta_cost_expected(const PredlogDeltaCost *c)
{
    if (!c) {
        return 0;
    }
    return c->samples ? c->delta_ewma : whole_page(c);
}

uint64_t predlog_policy_max_deferred(uint64_t threshold_bytes,
                                     unsigned budget_pct, double page_cost)
{
    double budget;

    if (threshold_bytes == 0 || budget_pct == 0 ||
        !isfinite(page_cost) || !(page_cost > 0)) {
        return 0;
    }
    budget = (double)threshold_bytes * MIN(budget_pct, 100u) / 100.0;
    return to_u64_sat(floor(budget / page_cost));
}

uint64_t predlog_policy_final_bytes(uint64_t deferred_dirty,
                                    uint64_t other_dirty,
                                    double deferred_cost,
                                    uint64_t page_size, uint64_t header)
{
    double whole = (double)page_size + (double)header;

    if (!isfinite(deferred_cost) || deferred_cost < 0) {
        deferred_cost = whole;
    }
    return to_u64_sat(ceil((double)deferred_dirty * deferred_cost +
                           (double)other_dirty * whole));
}

double predlog_policy_downtime_ms(uint64_t bytes, double bytes_per_ms)
{
    if (!isfinite(bytes_per_ms) || !(bytes_per_ms > 0)) {
        return 0;
    }
    return (double)bytes / bytes_per_ms;
}
