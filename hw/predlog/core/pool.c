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
 *    how callers name them;
 *  - a relocation places a new extent, lets the owner copy, and drops the
 *    old one, so an extent's offset, the hash key, still never changes.
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
    uint64_t moves;
    uint64_t moved_bytes;
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

/* The largest free extent, or NULL if nothing is free. */
static PoolExtent *largest_hole(PredlogPool *pool)
{
    /* free_seq is sorted by size: its last extent is the largest. */
    GSequenceIter *last = g_sequence_iter_prev(
        g_sequence_get_end_iter(pool->free_seq));

    return g_sequence_iter_is_end(last) ? NULL : g_sequence_get(last);
}

static uint64_t largest_free(PredlogPool *pool)
{
    PoolExtent *big = largest_hole(pool);

    return big ? big->size : 0;
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
 * Allocate [at, at + size) of free extent @f, which must hold it, for
 * @owner with @stamp.  Not counted as an allocation: relocation uses it
 * too.  Placing at the low end of @f leaves the rest of the hole where it
 * was; only relocation places in the middle, where the free space outside
 * a window begins.
 */
static PoolExtent *place(PredlogPool *pool, PoolExtent *f, uint64_t at,
                         uint64_t size, uint32_t owner, uint64_t stamp)
{
    PoolExtent *e;

    if (at != f->offset) {
        /*
         * Split off [at, end) as a hole of its own, to be carved from its
         * low end at once: the two holes are never left adjacent.
         */
        PoolExtent *tail = g_new0(PoolExtent, 1);

        tail->offset = at;
        tail->size = f->offset + f->size - at;
        tail->owner = PREDLOG_POOL_OWNER_NONE;
        list_insert_after(f, tail);
        f->size = at - f->offset;
        free_seq_changed(f);
        free_seq_add(pool, tail);
        f = tail;
    }
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
    e->stamp = stamp;
    e->iter = g_sequence_insert_sorted(pool->lru_seq, e, cmp_stamp_offset,
                                       NULL);
    g_hash_table_insert(pool->by_offset, &e->offset, e);
    pool->used += size;
    pool->n_extents++;
    return e;
}

/*
 * Take @size bytes from the low end of free extent @f for @owner.  The
 * low end, so that the remaining hole stays where it was and keeps
 * neighbouring later allocations of the same function together.
 */
static PoolExtent *carve(PredlogPool *pool, PoolExtent *f, uint64_t size,
                         uint32_t owner, uint64_t now)
{
    pool->allocs++;
    return place(pool, f, f->offset, size, owner, now);
}

/*
 * Remove allocated extent @e from the pool without counting a free
 * (relocation uses it too); @e is gone afterwards.
 */
static void drop_extent(PredlogPool *pool, PoolExtent *e)
{
    g_hash_table_remove(pool->by_offset, &e->offset);
    g_sequence_remove(e->iter);
    pool->used -= e->size;
    pool->n_extents--;
    make_free(pool, e);
}

/* Remove allocated extent @e from the pool; @e is gone afterwards. */
static void release_extent(PredlogPool *pool, PoolExtent *e)
{
    pool->frees++;
    drop_extent(pool, e);
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

/*
 * The plan's last extent completed a run of at least @size bytes; only
 * part of that run has to be emptied.  Keep in pool->plan (in its LRU
 * order) just the planned extents that overlap the window [s, s + @size)
 * inside the run that overlaps the fewest planned bytes, lowest s on
 * ties; the rest of the plan, older extents elsewhere in the pool and
 * the parts of the run outside the window, survive.
 *
 * Overlap only falls as s passes the end of a planned extent, so the
 * lowest s of the cheapest window is the run's start or such an end:
 * those are the only candidates, and two indices sweep them in one pass
 * over the run.
 */
static void plan_narrow(PredlogPool *pool, uint64_t size)
{
    PoolExtent *last = g_ptr_array_index(pool->plan, pool->plan->len - 1);
    PoolExtent *left = last, *right = last, *e;
    g_autoptr(GPtrArray) run = g_ptr_array_new();
    uint64_t best_cost = UINT64_MAX, best_s = 0, cost = 0;
    unsigned lo = 0, hi = 0, kept = 0;

    while (plan_in_run(pool, left->prev)) {
        left = left->prev;
    }
    while (plan_in_run(pool, right->next)) {
        right = right->next;
    }
    for (e = left; e != right->next; e = e->next) {
        g_ptr_array_add(run, e);
    }
    /*
     * Candidate s: the run's start, then each planned extent's end.
     * [lo, hi) are the run's extents that overlap [s, s + size); cost is
     * their planned bytes.
     */
    for (unsigned c = 0; c <= run->len; c++) {
        uint64_t s;

        if (c == 0) {
            s = left->offset;
        } else {
            e = g_ptr_array_index(run, c - 1);
            if (extent_is_free(e)) {
                continue;
            }
            s = e->offset + e->size;
        }
        if (s + size > right->offset + right->size) {
            break;
        }
        while (hi < run->len &&
               ((PoolExtent *)g_ptr_array_index(run, hi))->offset <
               s + size) {
            e = g_ptr_array_index(run, hi++);
            cost += extent_is_free(e) ? 0 : e->size;
        }
        while (lo < hi) {
            e = g_ptr_array_index(run, lo);
            if (e->offset + e->size > s) {
                break;
            }
            cost -= extent_is_free(e) ? 0 : e->size;
            lo++;
        }
        if (cost < best_cost) {
            best_cost = cost;
            best_s = s;
        }
    }
    for (unsigned i = 0; i < pool->plan->len; i++) {
        e = g_ptr_array_index(pool->plan, i);
        if (e->offset < best_s + size && e->offset + e->size > best_s) {
            g_ptr_array_index(pool->plan, kept++) = e;
        }
    }
    g_ptr_array_set_size(pool->plan, kept);
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
        plan_narrow(pool, want);
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
    stats->size = pool->end - pool->start;
    stats->used = pool->used;
    stats->free = stats->size - pool->used;
    stats->largest_free = largest_free(pool);
    stats->extents = pool->n_extents;
    stats->fragments = pool->n_fragments;
    stats->allocs = pool->allocs;
    stats->frees = pool->frees;
    stats->evictions = pool->evictions;
    stats->failures = pool->failures;
    stats->moves = pool->moves;
    stats->moved_bytes = pool->moved_bytes;
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

/* ------------------------------------------------------------------ */
/* Relocation                                                          */
/* ------------------------------------------------------------------ */

/*
 * Finish relocating @from to @to, already placed: let the owner copy the
 * bytes while both exist, then let the old place go.
 */
static uint64_t finish_move(PredlogPool *pool, PoolExtent *from,
                            PoolExtent *to, PredlogPoolMoveFn *move,
                            void *opaque)
{
    uint64_t size = from->size;

    move(opaque, from->offset, to->offset, size, from->owner);
    drop_extent(pool, from);
    pool->moves++;
    pool->moved_bytes += size;
    return size;
}

/*
 * Free space outside a defragmentation window, as predlog_pool_defragment()
 * plans placements into it: [offset, offset + size) is what is not yet
 * planned for; @node is the free extent that holds it once the moves
 * before it have been placed.
 */
typedef struct PlanHole {
    uint64_t offset;
    uint64_t size;
    PoolExtent *node;
} PlanHole;

typedef struct PlanMove {
    PoolExtent *e;
    PlanHole *hole;
    uint64_t to;
    PoolExtent *placed;
} PlanMove;

static gint cmp_hole(gconstpointer a, gconstpointer b,
                     gpointer opaque G_GNUC_UNUSED)
{
    const PlanHole *x = a, *y = b;

    if (x->size != y->size) {
        return x->size < y->size ? -1 : 1;
    }
    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    return 0;
}

/* Largest first, lowest offset on ties: the order best fit decreasing. */
static gint cmp_move(gconstpointer a, gconstpointer b)
{
    const PlanMove *x = a, *y = b;

    if (x->e->size != y->e->size) {
        return x->e->size > y->e->size ? -1 : 1;
    }
    return x->e->offset < y->e->offset ? -1 : 1;
}

/* Does an extent starting at @offset overlap the window [w, w + want)? */
static inline bool starts_before_end(uint64_t offset, uint64_t w,
                                     uint64_t want)
{
    /* Written so that w + want cannot overflow at the top of memory. */
    return offset < w || offset - w < want;
}

/*
 * The window predlog_pool_defragment() empties: of the windows of @want
 * bytes that overlap no pinned extent, the one whose overlapping extents
 * add up to the fewest bytes, lowest first.  The cost only drops, and a
 * pinned extent only leaves, when the window's start passes the end of an
 * allocated extent, so the lowest best window starts at the range's start
 * or at such an end: those are the only candidates, and the extents that
 * overlap each are a sliding run of the offset-ordered list.  O(extents).
 * Returns false if every window overlaps a pinned extent; else its start
 * in *start and the first extent that overlaps it in *first.
 */
static bool choose_window(PredlogPool *pool, uint64_t want, uint64_t *start,
                          PoolExtent **first)
{
    PoolExtent *lo = pool->first, *hi = pool->first, *c = NULL;
    uint64_t cost = 0, best = UINT64_MAX;
    uint32_t pins = 0;

    for (;;) {
        uint64_t w = c ? c->offset + c->size : pool->start;

        if (w > pool->end - want) {
            break;
        }
        /* Take in the extents that start inside the window... */
        for (; hi && starts_before_end(hi->offset, w, want); hi = hi->next) {
            if (!extent_is_free(hi)) {
                cost += hi->size;
                pins += hi->pinned;
            }
        }
        /* ...and let go of those that end before it. */
        for (; lo->offset + lo->size <= w; lo = lo->next) {
            if (!extent_is_free(lo)) {
                cost -= lo->size;
                pins -= lo->pinned;
            }
        }
        if (!pins && cost < best) {
            best = cost;
            *start = w;
            *first = lo;
        }
        do {
            c = c ? c->next : pool->first;
        } while (c && extent_is_free(c));
        if (!c) {
            break;
        }
    }
    return best != UINT64_MAX;
}

/*
 * Plan the placement of the extents overlapping [w, w + want), starting
 * with @first, by best fit decreasing into @holes (the free space outside
 * the window).  Returns the moves in that order, or NULL if one does not
 * fit.  Touches nothing in the pool.
 */
static GArray *plan_window(PredlogPool *pool, uint64_t w, uint64_t want,
                           PoolExtent *first, PlanHole *holes)
{
    g_autoptr(GArray) moves = g_array_new(false, false, sizeof(PlanMove));
    GSequence *seq = g_sequence_new(NULL);
    GSequenceIter *it;
    unsigned n = 0;
    bool ok = true;

    for (it = g_sequence_get_begin_iter(pool->free_seq);
         !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
        PoolExtent *f = g_sequence_get(it);
        uint64_t lo = f->offset, hi = f->offset + f->size;

        if (hi > w && starts_before_end(lo, w, want)) {
            /*
             * It overlaps the window.  The window starts at the range's
             * start or where an allocated extent ends, so this starts
             * inside it, and only its tail can stick out.
             */
            if (hi - w <= want) {
                continue;
            }
            lo = w + want;
        }
        holes[n] = (PlanHole) { .offset = lo, .size = hi - lo, .node = f };
        g_sequence_insert_sorted(seq, &holes[n], cmp_hole, NULL);
        n++;
    }

    for (PoolExtent *e = first; e && starts_before_end(e->offset, w, want);
         e = e->next) {
        if (!extent_is_free(e)) {
            PlanMove m = { .e = e };

            g_array_append_val(moves, m);
        }
    }
    g_array_sort(moves, cmp_move);

    for (unsigned i = 0; i < moves->len && ok; i++) {
        PlanMove *m = &g_array_index(moves, PlanMove, i);
        /* As in find_best_fit(): sorts just before the smallest fit. */
        PlanHole probe = { .size = m->e->size - 1, .offset = UINT64_MAX };
        GSequenceIter *fit = g_sequence_search(seq, &probe, cmp_hole, NULL);

        if (g_sequence_iter_is_end(fit)) {
            ok = false;
            break;
        }
        m->hole = g_sequence_get(fit);
        m->to = m->hole->offset;
        m->hole->offset += m->e->size;
        m->hole->size -= m->e->size;
        if (m->hole->size) {
            g_sequence_sort_changed(fit, cmp_hole, NULL);
        } else {
            g_sequence_remove(fit);
        }
    }
    g_sequence_free(seq);
    return ok ? g_steal_pointer(&moves) : NULL;
}

bool predlog_pool_defragment(PredlogPool *pool, uint64_t size,
                             PredlogPoolMoveFn *move, void *opaque,
                             uint64_t *moved)
{
    g_autofree PlanHole *holes = NULL;
    g_autoptr(GArray) moves = NULL;
    PoolExtent *first = NULL;
    uint64_t want, w = 0, copied = 0;

    if (moved) {
        *moved = 0;
    }
    if (!round_size(size, &want) || want > pool->end - pool->start) {
        return false;
    }
    if (largest_free(pool) >= want) {
        return true;
    }
    if (pool->end - pool->start - pool->used < want ||
        !choose_window(pool, want, &w, &first)) {
        return false;
    }
    holes = g_new(PlanHole, pool->n_fragments);
    moves = plan_window(pool, w, want, first, holes);
    if (!moves) {
        return false;
    }

    /*
     * Place every extent before moving any: the placements only consume
     * free space the plan reserved, while releasing the old places merges
     * holes and would invalidate the plan's nodes.  Within a hole the plan
     * goes upwards from its low end, so each placement is at the low end
     * of what is left of it, the node after the extent just placed.
     */
    for (unsigned i = 0; i < moves->len; i++) {
        PlanMove *m = &g_array_index(moves, PlanMove, i);

        m->placed = place(pool, m->hole->node, m->to, m->e->size, m->e->owner,
                          m->e->stamp);
        m->hole->node = m->placed->next;
    }
    for (unsigned i = 0; i < moves->len; i++) {
        PlanMove *m = &g_array_index(moves, PlanMove, i);

        copied += finish_move(pool, m->e, m->placed, move, opaque);
    }
    /* The window is empty now, and nothing around it could be allocated. */
    g_assert(largest_free(pool) >= want);
    if (moved) {
        *moved = copied;
    }
    return true;
}

double predlog_pool_fragmentation(PredlogPool *pool)
{
    uint64_t free = pool->end - pool->start - pool->used;

    return free ? 1.0 - (double)largest_free(pool) / (double)free : 0.0;
}

/*
 * Would moving allocated @e to the low end of free extent @f (below it)
 * leave the largest free extent at least as large as it is?  Only if @f is
 * the one largest can it shrink; then compare with what the move leaves:
 * the rest of @f, @e's old place merged with its free neighbours (one of
 * which may be that rest), and the next largest.
 */
static bool move_keeps_largest(PredlogPool *pool, PoolExtent *e,
                               PoolExtent *f)
{
    GSequenceIter *last = g_sequence_iter_prev(
        g_sequence_get_end_iter(pool->free_seq));
    GSequenceIter *prev = g_sequence_iter_prev(last);
    uint64_t rest = f->size - e->size, second = 0, left = 0, right = 0;
    uint64_t merged;

    if (g_sequence_get(last) != f) {
        return true;
    }
    if (prev != last) {
        second = ((PoolExtent *)g_sequence_get(prev))->size;
        if (second == f->size) {
            return true;
        }
    }
    if (e->prev && extent_is_free(e->prev)) {
        left = e->prev == f ? rest : e->prev->size;
    }
    if (e->next && extent_is_free(e->next)) {
        right = e->next->size;
    }
    merged = left + e->size + right;
    return MAX(MAX(merged, rest), second) >= f->size;
}

/*
 * The free extents at the start of a compaction pass, in offset order,
 * with a max segment tree over their sizes, so that the lowest one below
 * an extent that holds it is found in O(log holes).  The pass walks down;
 * a hole below the walk changes only when an extent is placed in it (and
 * is then updated here), while holes above it merge and vanish, but are
 * never looked at again: the offsets stay sorted and select only holes
 * below the extent at hand.
 */
typedef struct CompactHoles {
    unsigned n;
    unsigned leaves;            /* power of two >= n */
    uint64_t *offset;           /* start of hole i (or end, once full) */
    PoolExtent **node;
    uint64_t *max;              /* max[leaves + i]: size of hole i */
} CompactHoles;

static void holes_set(CompactHoles *h, unsigned i, uint64_t size)
{
    unsigned j = h->leaves + i;

    h->max[j] = size;
    for (j /= 2; j; j /= 2) {
        h->max[j] = MAX(h->max[2 * j], h->max[2 * j + 1]);
    }
}

static void holes_init(CompactHoles *h, PredlogPool *pool)
{
    unsigned i = 0;

    h->n = pool->n_fragments;
    for (h->leaves = 1; h->leaves < h->n; h->leaves *= 2) {
        /* next power of two */
    }
    h->offset = g_new(uint64_t, h->n);
    h->node = g_new(PoolExtent *, h->n);
    h->max = g_new0(uint64_t, 2 * h->leaves);
    for (PoolExtent *e = pool->first; e; e = e->next) {
        if (extent_is_free(e)) {
            h->offset[i] = e->offset;
            h->node[i] = e;
            h->max[h->leaves + i] = e->size;
            i++;
        }
    }
    for (unsigned j = h->leaves - 1; j; j--) {
        h->max[j] = MAX(h->max[2 * j], h->max[2 * j + 1]);
    }
}

static void holes_destroy(CompactHoles *h)
{
    g_free(h->offset);
    g_free(h->node);
    g_free(h->max);
}

/* The number of holes that start below @offset. */
static unsigned holes_below(const CompactHoles *h, uint64_t offset)
{
    unsigned lo = 0, hi = h->n;

    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;

        if (h->offset[mid] < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The lowest hole in [lo, hi) of at least @size bytes, or -1. */
static int64_t holes_find(const CompactHoles *h, unsigned node, unsigned nl,
                          unsigned nr, unsigned lo, unsigned hi,
                          uint64_t size)
{
    unsigned mid = nl + (nr - nl) / 2;
    int64_t i;

    if (nr <= lo || hi <= nl || h->max[node] < size) {
        return -1;
    }
    if (nr - nl == 1) {
        return nl;
    }
    i = holes_find(h, 2 * node, nl, mid, lo, hi, size);
    return i >= 0 ? i : holes_find(h, 2 * node + 1, mid, nr, lo, hi, size);
}

/*
 * One compaction pass; see predlog_pool_compact().  Adds the bytes moved
 * to *moved; sets *done once fragmentation is down to @bound.  Returns
 * whether anything moved.
 */
static bool compact_pass(PredlogPool *pool, double bound, uint64_t max_bytes,
                         PredlogPoolMoveFn *move, void *opaque,
                         uint64_t *moved, bool *done)
{
    CompactHoles h;
    PoolExtent *e, *prev;
    bool any = false;

    holes_init(&h, pool);
    for (e = pool->first; e->next; e = e->next) {
        /* find the top */
    }
    for (; e; e = prev) {
        PoolExtent *f, *placed;
        unsigned below;
        int64_t i;

        /*
         * Taken now: a hole it is merged into when it goes keeps its node,
         * and a hole it is placed in that it fills becomes it, so this
         * stays valid and the walk goes on below.
         */
        prev = e->prev;
        if (extent_is_free(e) || e->pinned || e->size > max_bytes - *moved) {
            continue;
        }
        below = holes_below(&h, e->offset);
        i = holes_find(&h, 1, 0, h.leaves, 0, below, e->size);
        if (i >= 0 && !move_keeps_largest(pool, e, h.node[i])) {
            /* The one largest hole: any other leaves it alone. */
            i = holes_find(&h, 1, 0, h.leaves, i + 1, below, e->size);
        }
        if (i < 0 || !move_keeps_largest(pool, e, h.node[i])) {
            continue;
        }
        f = h.node[i];
        placed = place(pool, f, f->offset, e->size, e->owner, e->stamp);
        if (placed == f) {
            h.offset[i] = f->offset + f->size;
            holes_set(&h, i, 0);
        } else {
            h.offset[i] = f->offset;
            holes_set(&h, i, f->size);
        }
        *moved += finish_move(pool, e, placed, move, opaque);
        any = true;
        if (predlog_pool_fragmentation(pool) <= bound) {
            *done = true;
            break;
        }
    }
    holes_destroy(&h);
    return any;
}

uint64_t predlog_pool_compact(PredlogPool *pool, double bound,
                              uint64_t max_bytes, PredlogPoolMoveFn *move,
                              void *opaque)
{
    uint64_t moved = 0;
    bool done = predlog_pool_fragmentation(pool) <= bound;

    while (!done && compact_pass(pool, bound, max_bytes, move, opaque, &moved,
                                 &done)) {
        /* Moves below may have opened room for extents above them. */
    }
    return moved;
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
