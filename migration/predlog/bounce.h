/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the bounce pool of copy-on-write snapshots
 *
 * On a write fault in partition P, predlog-cow copies P's unsaved pages
 * here, unprotects P with one ioctl and wakes the vCPU at once; the
 * migration thread writes the copies to the stream later and gives their
 * slots back.  The pool is bounded (the user's cap, a share of guest RAM
 * by default): a fault whose partition does not fit is served as stock
 * QEMU serves it, page by page, so a full pool never blocks a vCPU and
 * never loses a page.
 *
 * Slots are pages, taken from a free list: a partition's copy need not be
 * contiguous, so the pool never fragments, and taking n slots is O(n).
 * A copy is all or nothing (predlog_bounce_take()): half a partition in
 * the pool would leave the other half write-protected.
 *
 * Pure C11 + GLib; single-threaded (the caller serialises: the fault
 * handler and the page saver run in the migration thread).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_BOUNCE_H
#define MIGRATION_PREDLOG_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct PredlogBounceStats {
    uint64_t cap;               /* slots */
    uint64_t in_use;
    uint64_t peak;              /* most in use at once */
    uint64_t taken;             /* slots handed out, lifetime */
    uint64_t refused;           /* takes that did not fit, lifetime */
    uint64_t refused_pages;     /* the slots they asked for */
} PredlogBounceStats;

typedef struct PredlogBouncePool PredlogBouncePool;

/*
 * A pool of @cap slots (1..UINT32_MAX) of @page_size bytes each (> 0,
 * and the product allocatable).  The memory is one g_try_malloc(), which
 * glibc serves at this size with an anonymous mapping that the kernel
 * fills on first touch: an unused cap costs address space, not RAM.
 * NULL if an argument is out of range or the memory is not there.
 */
PredlogBouncePool *predlog_bounce_new(uint64_t cap, size_t page_size);
void predlog_bounce_free(PredlogBouncePool *p);      /* NULL is fine */

/*
 * Take @n slots for one copy, all or none: fills @slots with their
 * indexes and returns true, or returns false (counted as refused) if
 * fewer than @n are free.  False, uncounted, for @n 0.
 */
bool predlog_bounce_take(PredlogBouncePool *p, uint64_t n, uint32_t *slots);

/* The memory of slot @slot (page_size bytes), or NULL if out of range. */
void *predlog_bounce_page(PredlogBouncePool *p, uint32_t slot);

/* Give slot @slot back; false if it is out of range or not taken. */
bool predlog_bounce_put(PredlogBouncePool *p, uint32_t slot);

uint64_t predlog_bounce_free_slots(const PredlogBouncePool *p);
void predlog_bounce_get_stats(const PredlogBouncePool *p,
                              PredlogBounceStats *stats);

#endif /* MIGRATION_PREDLOG_BOUNCE_H */
