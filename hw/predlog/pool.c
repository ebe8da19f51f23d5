/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: extent allocator of the flight-recorder buffer pool
 *
 * The semantics are specified in pool.h.  Bookkeeping:
 *
 *  - every extent, allocated or free, is a PoolExtent on one doubly linked
 *    list in offset order, which tiles the managed range exactly; a
 *    release or resize finds the neighbours to coalesce with in O(1);
 *  - free extents are also in a GSequence ordered by (size, offset), so
 *    best fit with lowest offset on ties is one O(log n) search;
 *  - allocated extents are also in a GSequence ordered by (stamp, offset),
 *    the LRU order eviction walks, and in a hash table by offset, which is
 *    how callers name them.
 *
 * This file must stay free of QEMU headers: it is compiled into QEMU and
 * into the standalone core.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <glib.h>

#include "pool.h"

#define ALIGN_MASK  ((uint64_t)PREDLOG_POOL_ALIGN - 1)

typedef struct PoolExtent PoolExtent;

struct PoolExtent {
    uint64_t offset;            /* hash key while allocated: never changes */
    uint64_t size;
    uint32_t owner;             /* PREDLOG_POOL_OWNER_NONE if free */
    bool pinned;
    uint64_t stamp;
    PoolExtent *prev;           /* neighbours in offset order */
    PoolExtent *next;
    /* Node in pool->free_seq if free, else in pool->lru_seq. */
    GSequenceIter *iter;
    /*
     * Eviction planning scratch, valid only while plan_epoch equals the
     * pool's: see plan_evictions().
     */
    uint64_t plan_epoch;
    PoolExtent *run_other;
};

/* What the evict callback is told, saved before the extent is freed. */
typedef struct PoolEviction {
    uint64_t offset;
    uint64_t size;
    uint32_t owner;
} PoolEviction;

struct PredlogPool {
    uint64_t start;             /* managed range [start, end), aligned */
    uint64_t end;
    PoolExtent *first;          /* lowest offset; never NULL */
    GSequence *free_seq;        /* free extents by (size, offset) */
    GSequence *lru_seq;         /* allocated extents by (stamp, offset) */
    GHashTable *by_offset;      /* allocated extents: &offset -> extent */
    GPtrArray *plan;            /* scratch of plan_evictions() */
    uint64_t plan_epoch;
    uint64_t used;
    uint32_t n_extents;
    uint32_t n_fragments;
    uint64_t allocs;
    uint64_t frees;
    uint64_t evictions;
    uint64_t failures;
};

static inline bool extent_is_free(const PoolExtent *e)
{
    return e->owner == PREDLOG_POOL_OWNER_NONE;
}

/*
 * Round a requested size up to whole units.  Zero asks for one unit: an
 * empty extent could not be told apart from its neighbour by offset.
 * False if rounding would overflow.
 */
static bool round_size(uint64_t size, uint64_t *rounded)
{
    if (size > UINT64_MAX - ALIGN_MASK) {
        return false;
    }
    *rounded = size ? (size + ALIGN_MASK) & ~ALIGN_MASK : PREDLOG_POOL_ALIGN;
    return true;
}

static gint cmp_size_offset(gconstpointer a, gconstpointer b,
                            gpointer opaque G_GNUC_UNUSED)
{
    const PoolExtent *x = a, *y = b;

    if (x->size != y->size) {
        return x->size < y->size ? -1 : 1;
    }
    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    return 0;
}

static gint cmp_stamp_offset(gconstpointer a, gconstpointer b,
                             gpointer opaque G_GNUC_UNUSED)
{
    const PoolExtent *x = a, *y = b;

    if (x->stamp != y->stamp) {
        return x->stamp < y->stamp ? -1 : 1;
    }
    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Offset-ordered list                                                 */
/* ------------------------------------------------------------------ */

static void list_insert_after(PoolExtent *pos, PoolExtent *e)
{
    e->prev = pos;
    e->next = pos->next;
    if (pos->next) {
        pos->next->prev = e;
    }
    pos->next = e;
}

static void list_insert_before(PredlogPool *pool, PoolExtent *pos,
                               PoolExtent *e)
{
    e->next = pos;
    e->prev = pos->prev;
    if (pos->prev) {
        pos->prev->next = e;
    } else {
        pool->first = e;
    }
    pos->prev = e;
}

static void list_remove(PredlogPool *pool, PoolExtent *e)
{
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        pool->first = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    }
}

/* ------------------------------------------------------------------ */
/* Free extents                                                        */
/* ------------------------------------------------------------------ */

static void free_seq_add(PredlogPool *pool, PoolExtent *e)
{
    e->iter = g_sequence_insert_sorted(pool->free_seq, e, cmp_size_offset,
                                       NULL);
    pool->n_fragments++;
}

static void free_seq_del(PredlogPool *pool, PoolExtent *e)
{
    g_sequence_remove(e->iter);
    e->iter = NULL;
    pool->n_fragments--;
}

/* Call after changing the size or offset of free extent @e. */
static void free_seq_changed(PoolExtent *e)
{
    g_sequence_sort_changed(e->iter, cmp_size_offset, NULL);
}

/* The smallest free extent of at least @size bytes, lowest offset first. */
static PoolExtent *find_best_fit(PredlogPool *pool, uint64_t size)
{
    /*
     * @size is a positive multiple of the alignment, so no extent is
     * (size - 1) bytes long: the probe sorts after every smaller extent
     * and before every fitting one, and the search lands on the first
     * fitting one.
     */
    PoolExtent probe = { .size = size - 1, .offset = UINT64_MAX };
    GSequenceIter *it = g_sequence_search(pool->free_seq, &probe,
                                          cmp_size_offset, NULL);

    return g_sequence_iter_is_end(it) ? NULL : g_sequence_get(it);
}

/*
 * Turn allocated extent @e, already out of the LRU sequence and the hash
 * table, into free space, merged with free neighbours so that no two
 * holes are ever adjacent.
 */
static void make_free(PredlogPool *pool, PoolExtent *e)
{
    PoolExtent *prev = e->prev;
    PoolExtent *next = e->next;

    e->owner = PREDLOG_POOL_OWNER_NONE;
    e->pinned = false;
    e->iter = NULL;
    if (prev && extent_is_free(prev)) {
        free_seq_del(pool, prev);
        prev->size += e->size;
        list_remove(pool, e);
        g_free(e);
        e = prev;
    }
    if (next && extent_is_free(next)) {
        free_seq_del(pool, next);
        e->size += next->size;
        list_remove(pool, next);
        g_free(next);
    }
    free_seq_add(pool, e);
}

/* ------------------------------------------------------------------ */
/* Allocated extents                                                   */
/* ------------------------------------------------------------------ */

static PoolExtent *find_allocated(PredlogPool *pool, uint64_t offset)
{
    return g_hash_table_lookup(pool->by_offset, &offset);
}

/*
 * Take @size bytes from the low end of free extent @f for @owner.  The
 * low end, so that the remaining hole stays where it was and keeps
 * neighbouring later allocations of the same function together.
 */
static PoolExtent *carve(PredlogPool *pool, PoolExtent *f, uint64_t size,
                         uint32_t owner, uint64_t now)
{
    PoolExtent *e;

    if (f->size == size) {
        free_seq_del(pool, f);
        e = f;
    } else {
        e = g_new0(PoolExtent, 1);
        e->offset = f->offset;
        e->size = size;
        list_insert_before(pool, f, e);
        f->offset += size;
        f->size -= size;
        free_seq_changed(f);
    }
    e->owner = owner;
    e->pinned = false;
    e->stamp = now;
    e->iter = g_sequence_insert_sorted(pool->lru_seq, e, cmp_stamp_offset,
                                       NULL);
    g_hash_table_insert(pool->by_offset, &e->offset, e);
    pool->used += size;
    pool->n_extents++;
    pool->allocs++;
    return e;
}

/* Remove allocated extent @e from the pool; @e is gone afterwards. */
static void release_extent(PredlogPool *pool, PoolExtent *e)
{
    g_hash_table_remove(pool->by_offset, &e->offset);
    g_sequence_remove(e->iter);
    pool->used -= e->size;
    pool->n_extents--;
    pool->frees++;
    make_free(pool, e);
}

/* ------------------------------------------------------------------ */
/* Eviction planning                                                   */
/* ------------------------------------------------------------------ */

/*
 * While planning, a "run" is a maximal sequence of neighbouring extents
 * that are free or marked for eviction: the hole that would exist if the
 * plan were carried out.  Like boundary tags in a heap allocator, the two
 * ends of every run point at each other through run_other, so marking an
 * extent joins it with the runs on either side in O(1).  A free extent
 * whose plan_epoch is stale is a run of its own; bumping the pool's epoch
 * therefore clears all scratch state without visiting any extent.
 */
static bool plan_in_run(PredlogPool *pool, PoolExtent *e)
{
    return e && (extent_is_free(e) || e->plan_epoch == pool->plan_epoch);
}

static PoolExtent *plan_other_end(PredlogPool *pool, PoolExtent *end)
{
    return end->plan_epoch == pool->plan_epoch ? end->run_other : end;
}

/* Mark @e for eviction; returns the length of the run it is now in. */
static uint64_t plan_mark(PredlogPool *pool, PoolExtent *e)
{
    PoolExtent *left = e, *right = e;

    /* @e was outside any run, so its neighbours are ends of theirs. */
    if (plan_in_run(pool, e->prev)) {
        left = plan_other_end(pool, e->prev);
    }
    if (plan_in_run(pool, e->next)) {
        right = plan_other_end(pool, e->next);
    }
    e->plan_epoch = pool->plan_epoch;
    left->plan_epoch = pool->plan_epoch;
    right->plan_epoch = pool->plan_epoch;
    left->run_other = right;
    right->run_other = left;
    return right->offset + right->size - left->offset;
}

/*
 * Choose the extents to evict, in LRU order, until a hole of @size bytes
 * would exist; they are left in pool->plan.  False if even evicting all
 * candidates would not make one, in which case nothing may be evicted.
 * Planning first and committing after keeps that promise without ever
 * having to undo an eviction.
 */
static bool plan_evictions(PredlogPool *pool, uint64_t size, uint32_t owner,
                           bool may_evict_own)
{
    GSequenceIter *it;

    g_ptr_array_set_size(pool->plan, 0);
    pool->plan_epoch++;
    for (it = g_sequence_get_begin_iter(pool->lru_seq);
         !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
        PoolExtent *e = g_sequence_get(it);

        if (e->pinned || (!may_evict_own && e->owner == owner)) {
            continue;
        }
        g_ptr_array_add(pool->plan, e);
        if (plan_mark(pool, e) >= size) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Public interface                                                    */
/* ------------------------------------------------------------------ */

PredlogPool *predlog_pool_new(uint64_t base, uint64_t size)
{
    PredlogPool *pool;
    PoolExtent *all;
    uint64_t start, end;

    /* A range that wraps around is a caller bug, not something to trim. */
    if (size > UINT64_MAX - base || base > UINT64_MAX - ALIGN_MASK) {
        return NULL;
    }
    start = (base + ALIGN_MASK) & ~ALIGN_MASK;
    end = (base + size) & ~ALIGN_MASK;
    if (end <= start) {
        return NULL;
    }

    pool = g_new0(PredlogPool, 1);
    pool->start = start;
    pool->end = end;
    pool->free_seq = g_sequence_new(NULL);
    pool->lru_seq = g_sequence_new(NULL);
    pool->by_offset = g_hash_table_new(g_int64_hash, g_int64_equal);
    pool->plan = g_ptr_array_new();
    /* Extents start at epoch 0, which is therefore never a plan's. */
    pool->plan_epoch = 0;

    all = g_new0(PoolExtent, 1);
    all->offset = start;
    all->size = end - start;
    all->owner = PREDLOG_POOL_OWNER_NONE;
    pool->first = all;
    free_seq_add(pool, all);
    return pool;
}

void predlog_pool_free_all(PredlogPool *pool)
{
    PoolExtent *e, *next;

    if (!pool) {
        return;
    }
    for (e = pool->first; e; e = next) {
        next = e->next;
        g_free(e);
    }
    g_sequence_free(pool->free_seq);
    g_sequence_free(pool->lru_seq);
    g_hash_table_destroy(pool->by_offset);
    g_ptr_array_free(pool->plan, true);
    g_free(pool);
}

bool predlog_pool_alloc(PredlogPool *pool, uint64_t size, uint32_t owner,
                        uint64_t now, bool may_evict_own,
                        PredlogPoolEvictFn *evict, void *opaque,
                        uint64_t *offset)
{
    g_autofree PoolEviction *evicted = NULL;
    unsigned n_evicted = 0;
    PoolExtent *f, *e;
    uint64_t want;

    /* OWNER_NONE marks free extents, so it cannot own one. */
    if (owner == PREDLOG_POOL_OWNER_NONE || !round_size(size, &want) ||
        want > pool->end - pool->start) {
        pool->failures++;
        return false;
    }

    f = find_best_fit(pool, want);
    if (!f && evict) {
        if (!plan_evictions(pool, want, owner, may_evict_own)) {
            pool->failures++;
            return false;
        }
        /*
         * Copy out what the callback needs: freeing merges extents, and
         * the callbacks run only once the pool is consistent again (after
         * the allocation), in case they call back into it.
         */
        n_evicted = pool->plan->len;
        evicted = g_new(PoolEviction, n_evicted);
        for (unsigned i = 0; i < n_evicted; i++) {
            PoolExtent *v = g_ptr_array_index(pool->plan, i);

            evicted[i].offset = v->offset;
            evicted[i].size = v->size;
            evicted[i].owner = v->owner;
            release_extent(pool, v);
            pool->evictions++;
        }
        g_ptr_array_set_size(pool->plan, 0);
        f = find_best_fit(pool, want);
        /* The plan guaranteed a hole of @want bytes. */
        g_assert(f);
    }
    if (!f) {
        pool->failures++;
        return false;
    }

    e = carve(pool, f, want, owner, now);
    for (unsigned i = 0; i < n_evicted; i++) {
        evict(opaque, evicted[i].offset, evicted[i].size, evicted[i].owner);
    }
    if (offset) {
        *offset = e->offset;
    }
    return true;
}

bool predlog_pool_release(PredlogPool *pool, uint64_t offset)
{
    PoolExtent *e = find_allocated(pool, offset);

    if (!e) {
        return false;
    }
    release_extent(pool, e);
    return true;
}

bool predlog_pool_resize(PredlogPool *pool, uint64_t offset,
                         uint64_t new_size)
{
    PoolExtent *e = find_allocated(pool, offset);
    PoolExtent *next;
    uint64_t want;

    if (!e || !round_size(new_size, &want)) {
        return false;
    }
    next = e->next;

    if (want < e->size) {
        uint64_t tail = e->size - want;

        /* The tail joins the hole after it, or becomes one. */
        if (next && extent_is_free(next)) {
            next->offset -= tail;
            next->size += tail;
            free_seq_changed(next);
        } else {
            PoolExtent *hole = g_new0(PoolExtent, 1);

            hole->offset = e->offset + want;
            hole->size = tail;
            hole->owner = PREDLOG_POOL_OWNER_NONE;
            list_insert_after(e, hole);
            free_seq_add(pool, hole);
        }
        e->size = want;
        pool->used -= tail;
    } else if (want > e->size) {
        uint64_t extra = want - e->size;

        if (!next || !extent_is_free(next) || next->size < extra) {
            return false;
        }
        if (next->size == extra) {
            free_seq_del(pool, next);
            list_remove(pool, next);
            g_free(next);
        } else {
            next->offset += extra;
            next->size -= extra;
            free_seq_changed(next);
        }
        e->size = want;
        pool->used += extra;
    }
    return true;
}

bool predlog_pool_touch(PredlogPool *pool, uint64_t offset, uint64_t now)
{
    PoolExtent *e = find_allocated(pool, offset);

    if (!e) {
        return false;
    }
    if (e->stamp != now) {
        e->stamp = now;
        g_sequence_sort_changed(e->iter, cmp_stamp_offset, NULL);
    }
    return true;
}

bool predlog_pool_pin(PredlogPool *pool, uint64_t offset, bool pinned)
{
    PoolExtent *e = find_allocated(pool, offset);

    if (!e) {
        return false;
    }
    e->pinned = pinned;
    return true;
}

bool predlog_pool_lookup(PredlogPool *pool, uint64_t offset, uint64_t *size,
                         uint32_t *owner)
{
    PoolExtent *e = find_allocated(pool, offset);

    if (!e) {
        return false;
    }
    if (size) {
        *size = e->size;
    }
    if (owner) {
        *owner = e->owner;
    }
    return true;
}

void predlog_pool_get_stats(PredlogPool *pool, PredlogPoolStats *stats)
{
    GSequenceIter *last = g_sequence_iter_prev(
        g_sequence_get_end_iter(pool->free_seq));

    stats->size = pool->end - pool->start;
    stats->used = pool->used;
    stats->free = stats->size - pool->used;
    /* free_seq is sorted by size: its last extent is the largest. */
    stats->largest_free = g_sequence_iter_is_end(last) ? 0 :
        ((PoolExtent *)g_sequence_get(last))->size;
    stats->extents = pool->n_extents;
    stats->fragments = pool->n_fragments;
    stats->allocs = pool->allocs;
    stats->frees = pool->frees;
    stats->evictions = pool->evictions;
    stats->failures = pool->failures;
}

/* @fn must not change the pool: the walk holds pointers into it. */
void predlog_pool_foreach(PredlogPool *pool, PredlogPoolVisitFn *fn,
                          void *opaque)
{
    for (PoolExtent *e = pool->first; e; e = e->next) {
        if (extent_is_free(e)) {
            continue;
        }
        if (!fn(opaque, e->offset, e->size, e->owner, e->stamp, e->pinned)) {
            return;
        }
    }
}

/* Check that @seq holds exactly its extents, strictly ordered by @cmp. */
static char *check_seq(GSequence *seq, GCompareDataFunc cmp, bool holes,
                       const char *name, uint32_t expected)
{
    PoolExtent *prev = NULL;
    uint32_t n = 0;

    for (GSequenceIter *it = g_sequence_get_begin_iter(seq);
         !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
        PoolExtent *e = g_sequence_get(it);

        if (extent_is_free(e) != holes || e->iter != it) {
            return g_strdup_printf("%s: stray extent at 0x%" PRIx64,
                                   name, e->offset);
        }
        if (prev && cmp(prev, e, NULL) >= 0) {
            return g_strdup_printf("%s: 0x%" PRIx64 " out of order",
                                   name, e->offset);
        }
        prev = e;
        n++;
    }
    if (n != expected) {
        return g_strdup_printf("%s: holds %u extents, expected %u",
                               name, n, expected);
    }
    return NULL;
}

char *predlog_pool_check(PredlogPool *pool)
{
    uint64_t pos = pool->start, used = 0;
    uint32_t n_alloc = 0, n_free = 0;
    PoolExtent *prev = NULL;
    char *err;

    for (PoolExtent *e = pool->first; e; prev = e, e = e->next) {
        if (e->prev != prev) {
            return g_strdup_printf("extent 0x%" PRIx64 ": broken back link",
                                   e->offset);
        }
        if (e->offset != pos) {
            return g_strdup_printf("extent 0x%" PRIx64 ": expected one at "
                                   "0x%" PRIx64 " (gap or overlap)",
                                   e->offset, pos);
        }
        if (e->size == 0 || (e->offset & ALIGN_MASK) ||
            (e->size & ALIGN_MASK)) {
            return g_strdup_printf("extent 0x%" PRIx64 "+0x%" PRIx64
                                   ": empty or misaligned",
                                   e->offset, e->size);
        }
        if (e->size > pool->end - e->offset) {
            return g_strdup_printf("extent 0x%" PRIx64 "+0x%" PRIx64
                                   ": beyond the end 0x%" PRIx64,
                                   e->offset, e->size, pool->end);
        }
        if (extent_is_free(e)) {
            if (prev && extent_is_free(prev)) {
                return g_strdup_printf("holes at 0x%" PRIx64 " and 0x%"
                                       PRIx64 " not coalesced",
                                       prev->offset, e->offset);
            }
            if (e->pinned) {
                return g_strdup_printf("hole 0x%" PRIx64 " is pinned",
                                       e->offset);
            }
            n_free++;
        } else {
            if (find_allocated(pool, e->offset) != e) {
                return g_strdup_printf("extent 0x%" PRIx64 " not found by "
                                       "its offset", e->offset);
            }
            used += e->size;
            n_alloc++;
        }
        pos = e->offset + e->size;
    }
    if (pos != pool->end) {
        return g_strdup_printf("extents end at 0x%" PRIx64 ", the pool at "
                               "0x%" PRIx64, pos, pool->end);
    }
    if (used != pool->used || n_alloc != pool->n_extents ||
        n_free != pool->n_fragments) {
        return g_strdup_printf("accounting: used 0x%" PRIx64 " extents %u "
                               "fragments %u, counted 0x%" PRIx64 " %u %u",
                               pool->used, pool->n_extents,
                               pool->n_fragments, used, n_alloc, n_free);
    }
    if (g_hash_table_size(pool->by_offset) != n_alloc) {
        return g_strdup_printf("offset table holds %u extents, expected %u",
                               g_hash_table_size(pool->by_offset), n_alloc);
    }
    err = check_seq(pool->free_seq, cmp_size_offset, true, "free list",
                    n_free);
    if (!err) {
        err = check_seq(pool->lru_seq, cmp_stamp_offset, false, "LRU list",
                        n_alloc);
    }
    return err;
}
