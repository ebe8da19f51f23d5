/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the write-fault log of copy-on-write snapshots
 *
 * During a background snapshot every first write to a page not yet saved
 * faults (userfaultfd write-protect).  This log keeps those faults --
 * page, time since the snapshot began, faulting vCPU thread
 * (UFFD_FEATURE_THREAD_ID) -- for the snapshot under way, and the whole
 * log of the one before it, so that the next snapshot of the same VM
 * starts knowing where the guest wrote first.  What uffd-wp cannot see
 * (reads, execution, and writes to pages already saved or unprotected)
 * it cannot log: the dirty history of pre-copy's bitmap syncs fills in
 * for those, and partition.h's heat is the two added together
 * (predlog_faultlog_add_heat()).
 *
 * Memory: 24 bytes per fault, at most max_faults per snapshot (two
 * snapshots' worth), plus nothing per page.  A fault past max_faults is
 * counted, not kept.
 *
 * Pure C11 + GLib; single-threaded (faults are read by one thread, the
 * migration thread, as in stock background snapshot).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_FAULTLOG_H
#define MIGRATION_PREDLOG_FAULTLOG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct PredlogFault {
    uint64_t page;              /* global page index, as history.h's */
    uint64_t t_ns;              /* since the snapshot began */
    uint32_t tid;               /* faulting thread, 0 if unknown */
} PredlogFault;

typedef enum PredlogFaultSnapshot {
    PREDLOG_FAULTS_CURRENT,     /* the snapshot under way (or the last) */
    PREDLOG_FAULTS_PREVIOUS,    /* the one before it */
} PredlogFaultSnapshot;

typedef struct PredlogFaultLogStats {
    uint64_t snapshots;         /* predlog_faultlog_begin() calls */
    uint64_t faults;            /* added, lifetime */
    uint64_t dropped;           /* past max_faults, lifetime */
    uint64_t out_of_range;      /* page >= npages, lifetime */
    uint32_t current;           /* kept for the current snapshot */
    uint32_t previous;          /* kept for the previous one */
    uint32_t threads;           /* distinct tids of the current snapshot */
} PredlogFaultLogStats;

typedef struct PredlogFaultLog PredlogFaultLog;

/* A log of pages 0..@npages-1 keeping up to @max_faults (> 0) a snapshot. */
PredlogFaultLog *predlog_faultlog_new(uint64_t npages, uint32_t max_faults);
void predlog_faultlog_free(PredlogFaultLog *log);       /* NULL is fine */

/* The pages the log was made for. */
uint64_t predlog_faultlog_npages(const PredlogFaultLog *log);

/* A snapshot begins: the current faults become the previous ones. */
void predlog_faultlog_begin(PredlogFaultLog *log);

/*
 * Log a write fault of the current snapshot.  False if it was not kept
 * (log full, or @page out of range; both counted).
 */
bool predlog_faultlog_add(PredlogFaultLog *log, uint64_t page, uint64_t t_ns,
                          uint32_t tid);

uint32_t predlog_faultlog_count(const PredlogFaultLog *log,
                                PredlogFaultSnapshot which);
/* Fault @i of @which in the order they came, or NULL. */
const PredlogFault *predlog_faultlog_get(const PredlogFaultLog *log,
                                         PredlogFaultSnapshot which,
                                         uint32_t i);

/*
 * Add to @heat[page - @first] (@n pages from @first) what the previous
 * snapshot's faults say: @weight for each fault on that page, times
 * 2^(-t / @half_life_ns), so that a page written early in the last
 * snapshot counts most (@half_life_ns 0: no decay).  Faults outside
 * [first, first + n) are skipped.
 */
void predlog_faultlog_add_heat(const PredlogFaultLog *log, uint64_t first,
                               uint64_t n, float *heat, double weight,
                               uint64_t half_life_ns);

void predlog_faultlog_get_stats(const PredlogFaultLog *log,
                                PredlogFaultLogStats *stats);

#endif /* MIGRATION_PREDLOG_FAULTLOG_H */
