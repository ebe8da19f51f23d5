/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the write heat that cuts copy-on-write partitions (heat.h)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <string.h>
#include <glib.h>

#include "heat.h"

void predlog_heat_default_weights(PredlogHeatWeights *w)
{
    w->history = 1.0;
    w->fault = 1.0;
    w->fault_half_life_ns = 1000000000ull;
}

static double weight(double w)
{
    return isfinite(w) && w > 0 ? w : 0;
}

void predlog_heat_build(const PredlogHistory *h, const PredlogFaultLog *log,
                        uint64_t first, uint64_t n,
                        const PredlogHeatWeights *w, float *heat)
{
    double wh = weight(w->history), wf = weight(w->fault);

    memset(heat, 0, n * sizeof(*heat));
    if (h && wh) {
        uint64_t end = predlog_history_npages(h);
        uint64_t known = first < end ? MIN(n, end - first) : 0;

        for (uint64_t i = 0; i < known; i++) {
            heat[i] = wh * predlog_history_probability(h, first + i);
        }
    }
    if (log && wf) {
        predlog_faultlog_add_heat(log, first, n, heat, wf,
                                  w->fault_half_life_ns);
    }
}
