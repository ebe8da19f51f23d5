/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the partition map of one RAMBlock, for copy-on-write snapshots
 *
 * A background snapshot write-protects guest RAM and saves each page the
 * guest writes before the migration thread got to it: stock QEMU does so
 * page by page, one fault, one stalled vCPU and one copy per page.
 * predlog-cow does it per partition: a run of pages that the prediction
 * says are written together, copied and unprotected as one on the first
 * write fault inside it, or saved before the guest gets there.  This file
 * is the map: it cuts a block of @npages pages into partitions that tile
 * it, from a per-page "heat" (the expected writes in the next period, as
 * the caller estimates them from the dirty history and the fault log),
 * and re-cuts it when the heat changes.
 *
 * Rules (seed 001's resize_partitions, with the thresholds it leaves
 * open):
 *
 *  - The block is seen in cells of @cell_pages pages, the smallest
 *    partition.  A cell is hot when its mean heat reaches @hot_on, cold
 *    when it falls below @hot_off (< @hot_on); in between it keeps its
 *    class: hysteresis in heat.  A cell changes class only once the new
 *    class has held for @dwell updates in a row: hysteresis in time, so
 *    that one burst does not re-cut the map.
 *  - A run of hot cells is a dense hot region: it gets partitions of its
 *    own, of at most @max_hot_pages pages each (a fault copies the whole
 *    partition, so a hot partition stays small).  A cold gap of at most
 *    @bridge_cells cells between two hot runs joins them.
 *  - A run of cold cells shares partitions of up to @max_pages pages
 *    (large, so that the map stays small and a cold region is saved in
 *    big sequential pieces).
 *
 * Splits and merges are what changes between two maps: a boundary the new
 * map has and the old did not is a split, one it lost is a merge.
 *
 * Pure C11 + GLib; single-threaded (the caller serialises).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_PARTITION_H
#define MIGRATION_PREDLOG_PARTITION_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct PredlogPartitionConfig {
    uint64_t cell_pages;        /* smallest partition, >= 1 */
    uint64_t max_hot_pages;     /* largest hot partition, >= cell_pages */
    uint64_t max_pages;         /* largest cold partition, >= cell_pages */
    double hot_on;              /* mean heat at which a cell turns hot */
    double hot_off;             /* mean heat below which it turns cold */
    unsigned dwell;             /* updates a new class must hold, >= 1 */
    unsigned bridge_cells;      /* cold gap that joins two hot runs */
} PredlogPartitionConfig;

/* Defaults: 16-page cells, hot partitions to 256 pages, cold to 16384. */
void predlog_partition_config_default(PredlogPartitionConfig *cfg);

/* Check @cfg; a GError (domain "predlog-partition") says what to change. */
bool predlog_partition_config_check(const PredlogPartitionConfig *cfg,
                                    GError **errp);

typedef struct PredlogPartition {
    uint64_t start;             /* first page, block-relative */
    uint64_t npages;
    bool hot;
    double heat;                /* mean heat of its pages, last update */
} PredlogPartition;

typedef struct PredlogPartitionStats {
    uint64_t updates;
    uint64_t splits;            /* boundaries added, lifetime */
    uint64_t merges;            /* boundaries removed, lifetime */
    uint32_t partitions;
    uint32_t hot_partitions;
    uint64_t hot_pages;
} PredlogPartitionStats;

typedef struct PredlogPartitionMap PredlogPartitionMap;

/*
 * A map of one block of @npages pages (> 0): at first every cell is cold,
 * so the block is cut into cold partitions only.  NULL and @errp set if
 * @cfg is invalid.
 */
PredlogPartitionMap *predlog_partition_map_new(uint64_t npages,
                                               const PredlogPartitionConfig
                                               *cfg, GError **errp);
void predlog_partition_map_free(PredlogPartitionMap *m);   /* NULL is fine */

/*
 * The period just ended: @heat[i] is page i's heat (npages values, each
 * >= 0; a negative or non-finite value counts as 0).  Reclassifies the
 * cells and re-cuts the map.  O(npages).
 */
void predlog_partition_update(PredlogPartitionMap *m, const float *heat);

uint64_t predlog_partition_npages(const PredlogPartitionMap *m);
unsigned predlog_partition_count(const PredlogPartitionMap *m);

/* Partition @i in offset order (i < count), or NULL. */
const PredlogPartition *predlog_partition_get(const PredlogPartitionMap *m,
                                              unsigned i);

/* The index of the partition holding @page, or -1 past the block.  O(log). */
int predlog_partition_find(const PredlogPartitionMap *m, uint64_t page);

/*
 * A write fault on @page: the pages [@start, @start + @npages) to copy for
 * it, and the index of @page's partition (-1, nothing set, past the block).
 * A hot partition is copied whole.  In a cold one the copy is an aligned
 * window of cells around @page, clipped to the partition, that doubles
 * with each fault already served in its neighbourhood (an aligned region
 * of the largest power-of-two number of cells a hot partition holds), up
 * to that region: a cold region the guest turns out to write is copied in
 * ever larger pieces, as readahead grows on a sequential read, before the
 * next re-cut can make it hot.  Counts the fault.
 */
int predlog_partition_fault(PredlogPartitionMap *m, uint64_t page,
                            uint64_t *start, uint64_t *npages);

/*
 * The order to save the partitions in: hot ones first, hottest first
 * (lowest offset on ties), then the others in offset order.  Fills
 * @order with count indexes; returns count.
 */
unsigned predlog_partition_save_order(const PredlogPartitionMap *m,
                                      unsigned *order);

void predlog_partition_get_stats(const PredlogPartitionMap *m,
                                 PredlogPartitionStats *stats);

/*
 * Check every invariant: the partitions tile [0, npages) in order without
 * overlap, each within its size limits (a partition is shorter than a
 * cell only at the block's end), hot ones made of hot cells (and bridged
 * gaps) only.  NULL if all hold, else a description (g_free it).
 */
char *predlog_partition_check(const PredlogPartitionMap *m);

#endif /* MIGRATION_PREDLOG_PARTITION_H */
