/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: predictive migration's core (migration/predlog/)
 *
 * Nothing there parses a byte stream; what comes from outside are the
 * migration parameters (predlog-history, -defer-budget, -hot-threshold,
 * from QMP), the dirty bitmaps QEMU's sync hands over, and measured
 * numbers (period lengths, bandwidth, delta sizes) that may be zero, huge
 * or not finite.  The input is a plan's parameters followed by a program
 * of operations on it with arguments taken from the input.  Checks:
 * predlog_plan_new() refuses exactly the out-of-range parameters;
 * probabilities stay in [0, 1]; the page search returns a dirty page at
 * or after its start, or the size; deferred counts never exceed the dirty
 * pages; in the final round nothing is deferred; statistics stay finite;
 * the policy arithmetic is 0 on zero or non-finite input and never
 * negative.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <string.h>

#include "migration/predlog/history.h"
#include "migration/predlog/plan.h"
#include "migration/predlog/policy.h"
#include "fuzz-common.h"

#define BPL         (8 * sizeof(unsigned long))
#define MAX_PAGES   4096u

static double fuzz_double(FuzzInput *in)
{
    uint64_t bits = fuzz_u64(in);
    double d;

    /* any bit pattern: NaN, infinities, denormals, negatives */
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static uint64_t popcount_bits(const unsigned long *b, uint64_t nbits)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < nbits; i++) {
        n += (b[i / BPL] >> (i % BPL)) & 1;
    }
    return n;
}

static void check_policy(FuzzInput *in)
{
    uint64_t thr = fuzz_u64(in);
    unsigned pct = fuzz_u8(in);
    double cost = fuzz_double(in), rate = fuzz_double(in), ms;
    uint64_t maxd = predlog_policy_max_deferred(thr, pct, cost);
    PredlogDeltaCost dc;

    if (thr == 0 || pct == 0 || !isfinite(cost) || cost <= 0) {
        FUZZ_CHECK(maxd == 0);
    }
    ms = predlog_policy_downtime_ms(fuzz_u64(in), rate);
    FUZZ_CHECK(!(ms < 0));
    predlog_delta_cost_init(&dc, 1 + fuzz_u16(in), fuzz_u8(in));
    for (unsigned i = fuzz_u8(in) % 8; i; i--) {
        if (fuzz_u8(in) & 1) {
            predlog_delta_cost_note(&dc, fuzz_u32(in));
        } else {
            predlog_delta_cost_note_full(&dc);
        }
        FUZZ_CHECK(isfinite(predlog_delta_cost_expected(&dc)) &&
                   predlog_delta_cost_expected(&dc) >= 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };
    uint64_t npages = fuzz_u16(&in) % (MAX_PAGES + 1);
    unsigned depth = fuzz_u8(&in) % 10;
    double thr = (double)fuzz_u8(&in) / 200.0;     /* 0 .. 1.275 */
    uint64_t page_size = fuzz_u8(&in) ? 4096 : 0;
    uint64_t header = fuzz_u8(&in);
    bool in_range = npages > 0 && depth >= PREDLOG_HISTORY_DEPTH_MIN &&
                    depth <= PREDLOG_HISTORY_DEPTH_MAX && thr > 0 &&
                    thr <= 1 && page_size > 0;
    PredlogPlan *p = predlog_plan_new(npages, depth, thr, page_size, header);
    unsigned long bmap[MAX_PAGES / BPL + 1];
    unsigned steps = 0;

    check_policy(&in);
    FUZZ_CHECK(!p == !in_range);
    if (!p) {
        return 0;
    }
    while (in.len && steps++ < 256) {
        uint8_t op = fuzz_u8(&in) % 9;
        uint64_t first = (fuzz_u16(&in) % (npages + 1)) / BPL * BPL;
        uint64_t nbits = fuzz_u16(&in) % (npages - first + 1);
        size_t got;
        const uint8_t *b = fuzz_bytes(&in, (nbits + 7) / 8, &got);
        PredlogPlanStats st;

        memset(bmap, 0, sizeof(bmap));
        for (size_t i = 0; i < got * 8 && i < nbits; i++) {
            if (b[i / 8] & (1u << (i % 8))) {
                bmap[i / BPL] |= 1ul << (i % BPL);
            }
        }
        FUZZ_CHECK(predlog_plan_covers(p, first, nbits));
        switch (op) {
        case 0:
            predlog_plan_observe(p, first, bmap, nbits);
            break;
        case 1: {
            PredlogPlanLimits lim = {
                .threshold_bytes = fuzz_u32(&in),
                .budget_pct = fuzz_u8(&in) % 101,
                .cache_pages = fuzz_u16(&in),
            };

            predlog_plan_end_period(p, fuzz_double(&in), &lim,
                                    fuzz_u8(&in) & 1);
            break;
        }
        case 2: {
            uint64_t start = nbits ? fuzz_u16(&in) % (nbits + 1) : 0;
            bool final = fuzz_u8(&in) & 1;
            uint64_t next = predlog_plan_find_next(p, first, bmap, nbits,
                                                   start, final);

            FUZZ_CHECK(next >= start || next == nbits);
            FUZZ_CHECK(next <= nbits);
            if (next < nbits) {
                FUZZ_CHECK((bmap[next / BPL] >> (next % BPL)) & 1);
            }
            if (final) {
                /* the final round sends every dirty page: none skipped */
                for (uint64_t i = start; i < next; i++) {
                    FUZZ_CHECK(!((bmap[i / BPL] >> (i % BPL)) & 1));
                }
            }
            break;
        }
        case 3: {
            uint64_t d = predlog_plan_count_deferred(p, first, bmap, nbits);
            uint64_t dirty = popcount_bits(bmap, nbits);

            FUZZ_CHECK(d <= dirty);
            predlog_plan_synced(p, dirty, d);
            break;
        }
        case 4: {
            uint64_t page = fuzz_u16(&in) % npages;

            predlog_plan_note_cached(p, page);
            if (fuzz_u8(&in) & 1) {
                predlog_plan_note_delta(p, page, fuzz_u16(&in));
            } else {
                predlog_plan_note_full(p, page);
            }
            break;
        }
        case 5:
            predlog_plan_note_delta_estimate(p, (int)fuzz_u32(&in));
            break;
        case 6:
            predlog_plan_cache_emptied(p);
            break;
        case 7: {
            const PredlogHistory *h = predlog_plan_history(p);
            uint64_t page = fuzz_u16(&in) % (npages + 8);
            double pr = predlog_history_probability(h, page);
            double within = predlog_history_probability_within(
                h, page, fuzz_double(&in));

            FUZZ_CHECK(pr >= 0 && pr <= 1);
            FUZZ_CHECK(!(within < 0));
            if (page >= npages) {
                FUZZ_CHECK(pr == 0 &&
                           predlog_history_pattern(h, page) == 0);
            }
            break;
        }
        default:
            (void)predlog_plan_final_bytes(p, fuzz_u32(&in));
            break;
        }
        predlog_plan_stats(p, &st);
        FUZZ_CHECK(isfinite(st.hit_rate) && st.hit_rate >= 0 &&
                   st.hit_rate <= 1);
        FUZZ_CHECK(isfinite(st.delta_cost) && st.delta_cost >= 0);
        FUZZ_CHECK(st.hot_pages <= npages);
    }
    predlog_plan_free(p);
    return 0;
}
