/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: how many pages migration may defer, and what the final round
 * will cost
 *
 * Pre-copy switches over when what is left fits the downtime budget:
 * bandwidth x downtime-limit bytes (MigrationState.threshold_size).
 * predlog keeps predicted-hot pages dirty for the final round instead of
 * resending them every iteration, so they must fit in that budget, with
 * room left for the cold pages dirtied meanwhile.  Pages the final round
 * sends as deltas against a pre-logged base (XBZRLE encoding) cost their
 * learned delta size instead of a whole page.
 *
 * Everything here is arithmetic on numbers the caller measured; it keeps
 * no state except the learned delta size (PredlogDeltaCost).
 *
 * Pure C11 + GLib.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_POLICY_H
#define MIGRATION_PREDLOG_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Bytes a page sent in the final round costs on the wire: the page (or
 * its delta) plus the stream's per-page header.  Learned from the deltas
 * actually encoded (EWMA, alpha 0.2); a page whose delta did not fit, or
 * that was not in the cache, costs a whole page.
 */
typedef struct PredlogDeltaCost {
    uint64_t page_size;
    uint64_t header;        /* per-page stream overhead, bytes */
    double delta_ewma;      /* bytes per delta-encoded page, header included */
    uint64_t samples;       /* deltas seen */
} PredlogDeltaCost;

void predlog_delta_cost_init(PredlogDeltaCost *c, uint64_t page_size,
                             uint64_t header);
/* A page was encoded into @bytes (header included); @bytes 0 = unchanged. */
void predlog_delta_cost_note(PredlogDeltaCost *c, uint64_t bytes);
/* A page could not be delta-encoded (miss or overflow): a whole page. */
void predlog_delta_cost_note_full(PredlogDeltaCost *c);
/* Expected bytes for one deferred page; page_size + header until learned. */
double predlog_delta_cost_expected(const PredlogDeltaCost *c);

/*
 * Most pages that may be deferred: @budget_pct percent of @threshold_bytes
 * divided by @page_cost bytes each.  0 when any input is 0 or not finite.
 */
uint64_t predlog_policy_max_deferred(uint64_t threshold_bytes,
                                     unsigned budget_pct, double page_cost);

/*
 * Bytes the final round would send now: @deferred_dirty pages at
 * @deferred_cost each plus @other_dirty whole pages (page_size + header).
 */
uint64_t predlog_policy_final_bytes(uint64_t deferred_dirty,
                                    uint64_t other_dirty,
                                    double deferred_cost,
                                    uint64_t page_size, uint64_t header);

/* Milliseconds to send @bytes at @bytes_per_ms (0 when the rate is 0). */
double predlog_policy_downtime_ms(uint64_t bytes, double bytes_per_ms);

#endif /* MIGRATION_PREDLOG_POLICY_H */
