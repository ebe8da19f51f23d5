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
    uint64_t moves;         /* extents relocated by compaction, lifetime */
    uint64_t moved_bytes;   /* bytes those relocations copied, lifetime */
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
 * If nothing fits and @evict is non-NULL, unpinned extents are taken as
 * candidates in least-recently-used order (oldest stamp first, lowest
 * offset on ties) until evicting the candidates would leave a free run
 * of @size bytes; extents of @owner itself are candidates only if
 * @may_evict_own.  Of those candidates, only the ones that overlap one
 * window of @size bytes inside that run are evicted: the window
 * overlapping the fewest candidate bytes, lowest offset on ties.  So
 * nothing newer than what strict LRU eviction would take goes, and of
 * that only what the hole needs (strict LRU would also evict every older
 * extent elsewhere, whose going opens no room for this request).  Each
 * evicted extent is reported through @evict, in LRU order.  If nothing
 * fits even with every evictable extent gone, nothing is evicted at all
 * and the call fails: an allocation never destroys data without
 * succeeding.
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
 * Compaction
 *
 * Best fit and coalescing keep fragmentation low but cannot undo it: an
 * allocation can fail although enough bytes are free, in pieces.  Moving
 * extents can, and the owner of the bytes does the copying (this file
 * never touches them) through a PredlogPoolMoveFn.  A relocated extent
 * keeps its size, owner and stamp, and stays unpinned (pinned extents are
 * never moved); only its offset changes, and callers, who name extents by
 * offset, learn the new one from the callback.  Relocations count in
 * neither allocs nor frees.
 */

/*
 * Called for every extent compaction relocates, after the extent's new
 * place is allocated (same owner, stamp and size) and before the old one
 * is released: copy @size bytes from @from to @to.  The two ranges never
 * overlap, so a crash (the pool lives in a crash-surviving file) in the
 * middle of a move leaves the old copy intact.  While it runs, both
 * extents exist (predlog_pool_lookup() finds either); afterwards only the
 * one at @to does.  It must not change the pool.
 */
typedef void PredlogPoolMoveFn(void *opaque, uint64_t from, uint64_t to,
                               uint64_t size, uint32_t owner);

/*
 * Open a free extent of at least @size bytes (rounded up as by
 * predlog_pool_alloc()) by relocating unpinned extents out of one window
 * of the range into free space outside it.  For when an allocation of
 * @size fails although enough bytes are free.
 *
 * A window is a range [w, w + size) with w aligned.  Emptying it means
 * moving, whole, every extent that overlaps it, so its cost is the sum of
 * those extents' sizes.  The window chosen is the one of lowest cost
 * (lowest w on ties) among those that overlap no pinned extent.  Its
 * extents are then placed by best fit decreasing: largest first (lowest
 * offset on ties), each at the low end of the smallest piece of free space
 * outside the window that holds it (lowest offset on ties), the pieces
 * being the free extents, less any part inside the window, as they are
 * before anything moves.  Only if every one of them is placed does
 * anything move; then @move is called once per extent.
 *
 * Returns true if afterwards a free extent of @size bytes exists, also
 * when one already did (then nothing moves).  *moved (if non-NULL) gets
 * the bytes copied, 0 if none.  O(extents log extents).
 *
 * Guarantee: it returns false, having changed nothing, only if
 *  (a) fewer than @size bytes are free (or @size exceeds the pool), or
 *  (b) every window of @size bytes overlaps a pinned extent, or
 *  (c) the chosen window's extents are not all placed by the rule above,
 *      which includes every case where their sizes add up to more than the
 *      free bytes outside the window.
 * Best fit decreasing is not an optimal packing, so in case (c) another
 * placement or another window may exist; the rule is what keeps this
 * O(extents log extents) and what a caller can predict.
 */
bool predlog_pool_defragment(PredlogPool *pool, uint64_t size,
                             PredlogPoolMoveFn *move, void *opaque,
                             uint64_t *moved);

/*
 * External fragmentation in [0, 1]: 1 - largest_free / free (0 if nothing
 * is free).  0 means any request up to the free bytes fits.
 */
double predlog_pool_fragmentation(PredlogPool *pool);

/*
 * Background compaction, for the recorder's periodic refresh: relocate
 * unpinned extents from the top of the range down into free extents below
 * them, to bring predlog_pool_fragmentation() to @bound or below, moving
 * at most @max_bytes bytes (a bounded pause).  Returns the bytes moved.
 *
 * It works in passes.  A pass visits the extents from the top of the
 * range down; an unpinned extent no larger than what is left of
 * @max_bytes moves to the low end of the lowest free extent below it that
 * holds it, except that a move which would shrink the largest free extent
 * is not made (the next free extent up that holds it is tried instead).
 * It stops as soon as fragmentation <= @bound, else when a pass moves
 * nothing.  Every move goes down, so it terminates.  Each pass is
 * O(extents log extents).
 *
 * Guarantees:
 *  - the largest free extent is never smaller after a call than before,
 *    so fragmentation never rises: running it cannot make an allocation
 *    fail that would have succeeded;
 *  - if it returns with fragmentation > @bound, then for every unpinned
 *    extent E either E is larger than @max_bytes minus the return value
 *    (the budget ran out: call again), or every move of E to the low end
 *    of a free extent below E that holds E would shrink the largest free
 *    extent (no such move is left).
 *
 * The second case bounds nothing: moving down cannot reach @bound when
 * the free gaps are smaller than the extents above them.  k gaps of one
 * unit between extents of two units admit no move at all and leave
 * fragmentation at 1 - 1/k.  Units [A][-][B B][- -] are stuck at 1/3,
 * while predlog_pool_defragment() of three units moves B up and succeeds.
 * So compaction is the background that keeps the largest free extent
 * large between allocations; when an allocation of a given size fails
 * with enough bytes free, predlog_pool_defragment() is the call that
 * opens room for it, with the guarantee stated there.
 */
uint64_t predlog_pool_compact(PredlogPool *pool, double bound,
                              uint64_t max_bytes, PredlogPoolMoveFn *move,
                              void *opaque);

/*
 * Check every invariant (extents and holes tile the range exactly, no
 * overlap, no two adjacent holes, alignment, accounting matches).  Returns
 * NULL if all hold, else a newly allocated description of the first
 * violation.  For tests and assertions; O(n).
 */
char *predlog_pool_check(PredlogPool *pool);

#endif /* HW_PREDLOG_POOL_H */
