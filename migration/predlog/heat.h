/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the write heat that cuts copy-on-write partitions
 *
 * partition.h cuts a RAMBlock by a per-page heat, the expected writes in
 * the next period.  This file makes it from what predlog knows of the
 * VM: the dirty history of bitmap syncs (history.h: P(dirty in the next
 * period), one page at a time) and the previous snapshot's write faults
 * (faultlog.h: early faults count most).  Either may be missing: a VM
 * that never synced a bitmap has no history, a first snapshot no
 * previous faults; with neither, every page is cold and the map is cold
 * partitions only, which behaves as stock (a fault copies the one page
 * it needs, see docs/devel/migration/predlog-cow.rst).
 *
 * Pure C11 + GLib.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_HEAT_H
#define MIGRATION_PREDLOG_HEAT_H

#include <stdint.h>

#include "faultlog.h"
#include "history.h"

typedef struct PredlogHeatWeights {
    double history;             /* times P(dirty in the next period) */
    double fault;               /* per fault of the previous snapshot */
    uint64_t fault_half_life_ns;    /* faults count half this much later */
} PredlogHeatWeights;

/* history 1, fault 1, half-life 1 s */
void predlog_heat_default_weights(PredlogHeatWeights *w);

/*
 * Heat of the global pages [@first, @first + @n) into @heat (n floats):
 * w->history * P(dirty) from @h (NULL: none; pages past its end: 0)
 * plus what @log's previous snapshot says (NULL: nothing).  Negative or
 * non-finite weights count as 0.
 */
void predlog_heat_build(const PredlogHistory *h, const PredlogFaultLog *log,
                        uint64_t first, uint64_t n,
                        const PredlogHeatWeights *w, float *heat);

#endif /* MIGRATION_PREDLOG_HEAT_H */
