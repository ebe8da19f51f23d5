/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: extent allocator of the flight-recorder buffer pool
 *
 * The pool is one contiguous byte range (the data area of a memory
 * backend).  This allocator hands out variable-size extents of it to the
 * recorder's per-function buffers, coalesces freed neighbours, and, when a
 * request does not fit, evicts the least recently used unpinned extents.
 * It keeps its bookkeeping in host memory only: it never reads or writes
 * the pool bytes, so it works on offsets and is unit-tested without any
 * memory behind it.  What a reader needs after a crash is written into the
 * pool by recorder.c, not by this file.
 *
 * Pure C11 + GLib; single-threaded (the device serialises calls).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_POOL_H
#define HW_PREDLOG_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every extent offset and size is a multiple of this. */
#define PREDLOG_POOL_ALIGN          512u

typedef struct PredlogPool PredlogPool;

/* Owner value of a free extent; owners of allocated extents are != this. */
#define PREDLOG_POOL_OWNER_NONE     UINT32_MAX

typedef struct PredlogPoolStats {
    uint64_t size;          /* bytes managed */
    uint64_t used;          /* bytes in allocated extents */
    uint64_t free;          /* size - used */
    uint64_t largest_free;  /* biggest single free extent */
    uint32_t extents;       /* allocated extents */
    uint32_t fragments;     /* free extents (after coalescing) */
    uint64_t allocs;        /* successful allocations, lifetime */
    uint64_t frees;         /* frees, lifetime (evictions included) */
    uint64_t evictions;     /* extents evicted to satisfy allocations */
    uint64_t failures;      /* allocations that could not be satisfied */
} PredlogPoolStats;

/*
 * Called for each extent evicted by predlog_pool_alloc(), after it has
 * been removed from the pool (its bytes may be reused by the allocation
 * that caused the eviction): the owner must forget it.
 */
typedef void PredlogPoolEvictFn(void *opaque, uint64_t offset, uint64_t size,
                                uint32_t owner);

/*
 * Manage [base, base + size).  base and size are rounded inward to
 * PREDLOG_POOL_ALIGN.  Returns NULL if fewer than one aligned unit remains.
 */
PredlogPool *predlog_pool_new(uint64_t base, uint64_t size);
void predlog_pool_free_all(PredlogPool *pool);      /* destroys @pool */

/*
 * Allocate an extent of at least @size bytes (rounded up to
 * PREDLOG_POOL_ALIGN) for @owner, stamped as used at @now (any monotonic
 * unit; the caller's clock).  Placement is best fit among free extents,
 * lowest offset on ties, so that small buffers do not split large holes.
 *
 * If nothing fits and @evict is non-NULL, unpinned extents are evicted in
 * least-recently-used order (oldest stamp first, lowest offset on ties),
 * each reported through @evict, until a fit exists; extents of @owner
 * itself are evicted only if @may_evict_own.  If nothing fits even with
 * every evictable extent gone, nothing is evicted at all and the call
 * fails: an allocation never destroys data without succeeding.
 *
 * Returns true and stores the offset in @offset on success.
 */
bool predlog_pool_alloc(PredlogPool *pool, uint64_t size, uint32_t owner,
                        uint64_t now, bool may_evict_own,
                        PredlogPoolEvictFn *evict, void *opaque,
                        uint64_t *offset);

/* Return the extent at @offset to the pool; false if none starts there. */
bool predlog_pool_release(PredlogPool *pool, uint64_t offset);

/*
 * Shrink the extent at @offset in place to @new_size (rounded up), giving
 * the tail back; or grow it in place if the free space right after it is
 * large enough.  False (and no change) if no extent starts at @offset or it
 * cannot grow in place.
 */
bool predlog_pool_resize(PredlogPool *pool, uint64_t offset,
                         uint64_t new_size);

/* Mark the extent at @offset as used at @now (LRU order). */
bool predlog_pool_touch(PredlogPool *pool, uint64_t offset, uint64_t now);

/* Pinned extents are never evicted (a function's active buffer). */
bool predlog_pool_pin(PredlogPool *pool, uint64_t offset, bool pinned);

/* Size and owner of the extent at @offset; false if none starts there. */
bool predlog_pool_lookup(PredlogPool *pool, uint64_t offset, uint64_t *size,
                         uint32_t *owner);

void predlog_pool_get_stats(PredlogPool *pool, PredlogPoolStats *stats);

/*
 * Visit allocated extents in offset order; stop early when @fn returns
 * false.
 */
typedef bool PredlogPoolVisitFn(void *opaque, uint64_t offset, uint64_t size,
                                uint32_t owner, uint64_t stamp, bool pinned);
void predlog_pool_foreach(PredlogPool *pool, PredlogPoolVisitFn *fn,
                          void *opaque);

/*
 * Check every invariant (extents and holes tile the range exactly, no
 * overlap, no two adjacent holes, alignment, accounting matches).  Returns
 * NULL if all hold, else a newly allocated description of the first
 * violation.  For tests and assertions; O(n).
 */
char *predlog_pool_check(PredlogPool *pool);

#endif /* HW_PREDLOG_POOL_H */
