/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog pool extent allocator
 *
 * The deterministic cases pin down each rule of pool.h on layouts small
 * enough to reason about by hand.  The randomised cases run long mixed
 * operation sequences against a shadow model that owns every allocation
 * unit by a plain map and decides independently where best fit places an
 * extent and which extents LRU eviction must take; after every step the
 * pool and the model have to agree on everything the interface shows.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <glib.h>

#include "hw/predlog/pool.h"

#define U           ((uint64_t)PREDLOG_POOL_ALIGN)
#define BASE        (1024 * 1024 * (uint64_t)1)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void assert_consistent(PredlogPool *pool)
{
    g_autofree char *err = predlog_pool_check(pool);

    g_assert_cmpstr(err, ==, NULL);
}

typedef struct Eviction {
    uint64_t offset;
    uint64_t size;
    uint32_t owner;
} Eviction;

/* Records evictions; checks the pool is consistent when told of one. */
typedef struct EvictLog {
    PredlogPool *pool;
    GArray *ev;                 /* of Eviction */
} EvictLog;

static void evict_log_init(EvictLog *log, PredlogPool *pool)
{
    log->pool = pool;
    log->ev = g_array_new(false, false, sizeof(Eviction));
}

static void evict_log_destroy(EvictLog *log)
{
    g_array_free(log->ev, true);
}

static void record_eviction(void *opaque, uint64_t offset, uint64_t size,
                            uint32_t owner)
{
    EvictLog *log = opaque;
    Eviction e = { .offset = offset, .size = size, .owner = owner };

    g_assert_cmpuint(owner, !=, PREDLOG_POOL_OWNER_NONE);
    assert_consistent(log->pool);
    g_array_append_val(log->ev, e);
}

static void assert_evicted(EvictLog *log, unsigned i, uint64_t offset,
                           uint64_t size, uint32_t owner)
{
    Eviction *e;

    g_assert_cmpuint(i, <, log->ev->len);
    e = &g_array_index(log->ev, Eviction, i);
    g_assert_cmpuint(e->offset, ==, offset);
    g_assert_cmpuint(e->size, ==, size);
    g_assert_cmpuint(e->owner, ==, owner);
}

static uint64_t must_alloc(PredlogPool *pool, uint64_t size, uint32_t owner,
                           uint64_t now)
{
    uint64_t off = UINT64_MAX;

    g_assert_true(predlog_pool_alloc(pool, size, owner, now, false, NULL,
                                     NULL, &off));
    assert_consistent(pool);
    return off;
}

/* Allocate with eviction allowed; returns the offset, or UINT64_MAX. */
static uint64_t alloc_evict(PredlogPool *pool, uint64_t size, uint32_t owner,
                            uint64_t now, bool may_evict_own, EvictLog *log)
{
    uint64_t off = UINT64_MAX;
    bool ok = predlog_pool_alloc(pool, size, owner, now, may_evict_own,
                                 record_eviction, log, &off);

    assert_consistent(pool);
    if (!ok) {
        g_assert_cmpuint(off, ==, UINT64_MAX);
    }
    return ok ? off : UINT64_MAX;
}

static PredlogPoolStats get_stats(PredlogPool *pool)
{
    PredlogPoolStats s;

    predlog_pool_get_stats(pool, &s);
    g_assert_cmpuint(s.free, ==, s.size - s.used);
    return s;
}

static void assert_extent(PredlogPool *pool, uint64_t offset, uint64_t size,
                          uint32_t owner)
{
    uint64_t got_size = 0;
    uint32_t got_owner = PREDLOG_POOL_OWNER_NONE;

    g_assert_true(predlog_pool_lookup(pool, offset, &got_size, &got_owner));
    g_assert_cmpuint(got_size, ==, size);
    g_assert_cmpuint(got_owner, ==, owner);
}

static void assert_no_extent(PredlogPool *pool, uint64_t offset)
{
    g_assert_false(predlog_pool_lookup(pool, offset, NULL, NULL));
}

/* ------------------------------------------------------------------ */
/* Deterministic cases                                                 */
/* ------------------------------------------------------------------ */

static void test_new(void)
{
    uint64_t top = (UINT64_MAX & ~(U - 1)) - 4 * U;
    PredlogPool *pool;
    PredlogPoolStats s;

    g_assert_null(predlog_pool_new(0, 0));
    g_assert_null(predlog_pool_new(0, U - 1));
    /* [1, U + 1) holds no whole aligned unit. */
    g_assert_null(predlog_pool_new(1, U));
    g_assert_null(predlog_pool_new(1, 2 * U - 2));
    /* Ranges that wrap around the address space. */
    g_assert_null(predlog_pool_new(100, UINT64_MAX));
    g_assert_null(predlog_pool_new(UINT64_MAX - 100, 50));

    /* [1, 2U) rounds inward to exactly one unit, [U, 2U). */
    pool = predlog_pool_new(1, 2 * U - 1);
    g_assert_nonnull(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.size, ==, U);
    g_assert_cmpuint(s.largest_free, ==, U);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(must_alloc(pool, 1, 0, 0), ==, U);
    predlog_pool_free_all(pool);

    /* Rounding inward at both ends: [1024, 10752). */
    pool = predlog_pool_new(1000, 10000);
    g_assert_nonnull(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.size, ==, 10752 - 1024);
    g_assert_cmpuint(s.used, ==, 0);
    g_assert_cmpuint(s.extents, ==, 0);
    g_assert_cmpuint(must_alloc(pool, 1, 0, 0), ==, 1024);
    g_assert_cmpuint(must_alloc(pool, 10752 - 1024 - U, 0, 0), ==, 1024 + U);
    g_assert_cmpuint(get_stats(pool).free, ==, 0);
    predlog_pool_free_all(pool);

    /* The very top of the address space, with no overflow at its end. */
    pool = predlog_pool_new(top, 4 * U);
    g_assert_nonnull(pool);
    assert_consistent(pool);
    g_assert_cmpuint(must_alloc(pool, 4 * U, 0, 0), ==, top);
    g_assert_true(predlog_pool_release(pool, top));
    assert_consistent(pool);
    predlog_pool_free_all(pool);

    predlog_pool_free_all(NULL);
}

static void test_alloc_release(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 16 * U);
    PredlogPoolStats s;
    uint64_t a, b, c, off = 7;

    /* Sizes round up to whole units; zero asks for one. */
    a = must_alloc(pool, 1, 1, 0);
    b = must_alloc(pool, U + 1, 2, 0);
    c = must_alloc(pool, 0, 3, 0);
    g_assert_cmpuint(a, ==, BASE);
    g_assert_cmpuint(b, ==, BASE + U);
    g_assert_cmpuint(c, ==, BASE + 3 * U);
    assert_extent(pool, a, U, 1);
    assert_extent(pool, b, 2 * U, 2);
    assert_extent(pool, c, U, 3);

    s = get_stats(pool);
    g_assert_cmpuint(s.size, ==, 16 * U);
    g_assert_cmpuint(s.used, ==, 4 * U);
    g_assert_cmpuint(s.extents, ==, 3);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 12 * U);
    g_assert_cmpuint(s.allocs, ==, 3);
    g_assert_cmpuint(s.frees, ==, 0);

    g_assert_true(predlog_pool_release(pool, b));
    assert_consistent(pool);
    g_assert_false(predlog_pool_release(pool, b));
    assert_no_extent(pool, b);
    s = get_stats(pool);
    g_assert_cmpuint(s.used, ==, 2 * U);
    g_assert_cmpuint(s.extents, ==, 2);
    g_assert_cmpuint(s.fragments, ==, 2);
    g_assert_cmpuint(s.frees, ==, 1);

    /* Requests that can never be met fail without changing anything. */
    g_assert_false(predlog_pool_alloc(pool, 1, PREDLOG_POOL_OWNER_NONE, 0,
                                      false, NULL, NULL, &off));
    g_assert_false(predlog_pool_alloc(pool, 16 * U + 1, 1, 0, false, NULL,
                                      NULL, &off));
    g_assert_false(predlog_pool_alloc(pool, UINT64_MAX, 1, 0, false, NULL,
                                      NULL, &off));
    g_assert_cmpuint(off, ==, 7);
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.failures, ==, 3);
    g_assert_cmpuint(s.allocs, ==, 3);
    g_assert_cmpuint(s.used, ==, 2 * U);

    /* A NULL @offset is allowed; the freed hole is reused (best fit). */
    g_assert_true(predlog_pool_alloc(pool, 2 * U, 4, 0, false, NULL, NULL,
                                     NULL));
    assert_extent(pool, b, 2 * U, 4);

    g_assert_true(predlog_pool_release(pool, a));
    g_assert_true(predlog_pool_release(pool, b));
    g_assert_true(predlog_pool_release(pool, c));
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.used, ==, 0);
    g_assert_cmpuint(s.extents, ==, 0);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 16 * U);
    predlog_pool_free_all(pool);
}

static void test_coalesce(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 8 * U);
    uint64_t a, b, c, d;
    PredlogPoolStats s;

    a = must_alloc(pool, 2 * U, 1, 0);
    b = must_alloc(pool, 2 * U, 1, 0);
    c = must_alloc(pool, 2 * U, 1, 0);
    d = must_alloc(pool, 2 * U, 1, 0);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 0);
    g_assert_cmpuint(s.largest_free, ==, 0);

    /* Hole on the left merges with a release to its right... */
    g_assert_true(predlog_pool_release(pool, b));
    g_assert_true(predlog_pool_release(pool, c));
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 4 * U);

    /* ...and a hole on the right with a release to its left. */
    g_assert_true(predlog_pool_release(pool, a));
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 6 * U);
    g_assert_cmpuint(must_alloc(pool, 6 * U, 1, 0), ==, a);
    g_assert_true(predlog_pool_release(pool, a));

    /* Holes on both sides merge into one. */
    b = must_alloc(pool, 2 * U, 1, 0);
    c = must_alloc(pool, 2 * U, 1, 0);
    a = must_alloc(pool, 2 * U, 1, 0);
    g_assert_cmpuint(a, ==, BASE + 4 * U);
    g_assert_true(predlog_pool_release(pool, b));
    g_assert_true(predlog_pool_release(pool, a));
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 2);
    g_assert_cmpuint(s.largest_free, ==, 2 * U);
    g_assert_true(predlog_pool_release(pool, c));
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 6 * U);

    g_assert_true(predlog_pool_release(pool, d));
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 8 * U);
    g_assert_cmpuint(s.used, ==, 0);
    predlog_pool_free_all(pool);
}

static void test_best_fit(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 32 * U);
    static const uint64_t sizes[] = { 3, 1, 1, 1, 2, 1, 2, 1 };
    uint64_t off[G_N_ELEMENTS(sizes)];
    PredlogPoolStats s;

    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        off[i] = must_alloc(pool, sizes[i] * U, 1, 0);
    }
    /* Holes of 3, 1, 2 and 2 units, separated, and 20 units at the end. */
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i += 2) {
        g_assert_true(predlog_pool_release(pool, off[i]));
    }
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 5);
    g_assert_cmpuint(s.largest_free, ==, 20 * U);

    /* Two-unit holes tie: the lower one first, each consumed exactly. */
    g_assert_cmpuint(must_alloc(pool, 2 * U, 2, 0), ==, off[4]);
    g_assert_cmpuint(must_alloc(pool, 2 * U, 2, 0), ==, off[6]);
    g_assert_cmpuint(get_stats(pool).fragments, ==, 3);
    /* One unit goes to the one-unit hole, not the first hole. */
    g_assert_cmpuint(must_alloc(pool, 1, 2, 0), ==, off[2]);
    /* Two units now fit only the three-unit hole, at its start. */
    g_assert_cmpuint(must_alloc(pool, 2 * U - 100, 2, 0), ==, off[0]);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 2);
    /* The leftover unit of that hole is the best fit for one unit. */
    g_assert_cmpuint(must_alloc(pool, U, 2, 0), ==, off[0] + 2 * U);
    /* Larger requests go to the tail. */
    g_assert_cmpuint(must_alloc(pool, 4 * U, 2, 0), ==, BASE + 12 * U);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 16 * U);
    g_assert_cmpuint(s.used, ==, 16 * U);
    predlog_pool_free_all(pool);
}

static void test_full(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 4 * U);
    PredlogPoolStats s;
    uint64_t off = 7;

    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmpuint(must_alloc(pool, U, i, i), ==, BASE + i * U);
    }
    /* Without an evict callback a full pool fails and evicts nothing. */
    g_assert_false(predlog_pool_alloc(pool, U, 9, 10, true, NULL, NULL,
                                      &off));
    g_assert_cmpuint(off, ==, 7);
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.failures, ==, 1);
    g_assert_cmpuint(s.evictions, ==, 0);
    g_assert_cmpuint(s.extents, ==, 4);
    g_assert_cmpuint(s.free, ==, 0);
    g_assert_cmpuint(s.largest_free, ==, 0);
    for (unsigned i = 0; i < 4; i++) {
        assert_extent(pool, BASE + i * U, U, i);
    }
    predlog_pool_free_all(pool);
}

static void test_evict_lru(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 4 * U);
    uint64_t a, b, c, d;
    PredlogPoolStats s;
    EvictLog log;

    evict_log_init(&log, pool);
    a = must_alloc(pool, U, 1, 10);
    b = must_alloc(pool, U, 2, 5);
    c = must_alloc(pool, U, 3, 5);
    d = must_alloc(pool, U, 4, 20);

    /* Oldest stamp first; b and c tie, so the lower offset goes. */
    g_assert_cmpuint(alloc_evict(pool, U, 9, 30, false, &log), ==, b);
    g_assert_cmpuint(log.ev->len, ==, 1);
    assert_evicted(&log, 0, b, U, 2);
    assert_extent(pool, b, U, 9);
    g_assert_cmpuint(alloc_evict(pool, 1, 9, 30, false, &log), ==, c);
    g_assert_cmpuint(log.ev->len, ==, 2);
    assert_evicted(&log, 1, c, U, 3);

    /* A touch makes a the youngest of the others. */
    g_assert_true(predlog_pool_touch(pool, a, 40));
    assert_consistent(pool);
    g_assert_cmpuint(alloc_evict(pool, U, 9, 50, false, &log), ==, d);
    assert_evicted(&log, 2, d, U, 4);
    /* Owner 9's own extents (stamps 30, 30, 50) are older than a now. */
    g_assert_cmpuint(alloc_evict(pool, U, 9, 60, true, &log), ==, b);
    assert_evicted(&log, 3, b, U, 9);
    g_assert_cmpuint(log.ev->len, ==, 4);

    s = get_stats(pool);
    g_assert_cmpuint(s.evictions, ==, 4);
    g_assert_cmpuint(s.frees, ==, 4);
    g_assert_cmpuint(s.allocs, ==, 8);
    g_assert_cmpuint(s.extents, ==, 4);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

static void test_evict_several(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 4 * U);
    EvictLog log;

    evict_log_init(&log, pool);
    for (unsigned i = 0; i < 4; i++) {
        must_alloc(pool, U, i, i + 1);
    }
    /* Two units: the two oldest, in LRU order, and no more. */
    g_assert_cmpuint(alloc_evict(pool, 2 * U, 7, 9, false, &log), ==, BASE);
    g_assert_cmpuint(log.ev->len, ==, 2);
    assert_evicted(&log, 0, BASE, U, 0);
    assert_evicted(&log, 1, BASE + U, U, 1);
    assert_extent(pool, BASE, 2 * U, 7);
    assert_extent(pool, BASE + 2 * U, U, 2);
    assert_extent(pool, BASE + 3 * U, U, 3);
    g_assert_cmpuint(get_stats(pool).evictions, ==, 2);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

static void test_evict_uses_free_space(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 4 * U);
    EvictLog log;

    evict_log_init(&log, pool);
    must_alloc(pool, U, 0, 2);
    must_alloc(pool, U, 1, 1);
    must_alloc(pool, U, 2, 0);
    must_alloc(pool, U, 3, 3);
    g_assert_true(predlog_pool_release(pool, BASE + 2 * U));

    /*
     * The oldest extent left (stamp 1) borders the hole: evicting it
     * alone makes two units, so the older-than-others extent 0 stays.
     */
    g_assert_cmpuint(alloc_evict(pool, 2 * U, 7, 9, false, &log), ==,
                     BASE + U);
    g_assert_cmpuint(log.ev->len, ==, 1);
    assert_evicted(&log, 0, BASE + U, U, 1);
    assert_extent(pool, BASE, U, 0);
    assert_extent(pool, BASE + 3 * U, U, 3);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

/*
 * pool.h evicts in LRU order until a fit exists, so an old extent that
 * does not border the eventual hole still goes first.
 */
static void test_evict_strict_lru_order(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 4 * U);
    EvictLog log;

    evict_log_init(&log, pool);
    must_alloc(pool, U, 0, 1);
    must_alloc(pool, U, 1, 0);
    g_assert_true(predlog_pool_pin(pool, BASE + U, true));
    must_alloc(pool, U, 2, 2);
    must_alloc(pool, U, 3, 3);

    g_assert_cmpuint(alloc_evict(pool, 2 * U, 7, 9, false, &log), ==,
                     BASE + 2 * U);
    g_assert_cmpuint(log.ev->len, ==, 3);
    assert_evicted(&log, 0, BASE, U, 0);
    assert_evicted(&log, 1, BASE + 2 * U, U, 2);
    assert_evicted(&log, 2, BASE + 3 * U, U, 3);
    assert_extent(pool, BASE + U, U, 1);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

static void test_evict_pinned(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 3 * U);
    PredlogPoolStats s;
    EvictLog log;

    evict_log_init(&log, pool);
    for (unsigned i = 0; i < 3; i++) {
        must_alloc(pool, U, i, i + 1);
    }
    g_assert_true(predlog_pool_pin(pool, BASE, true));
    g_assert_cmpuint(alloc_evict(pool, U, 9, 10, true, &log), ==, BASE + U);
    assert_evicted(&log, 0, BASE + U, U, 1);

    /* All pinned: the allocation fails and nothing goes. */
    g_assert_true(predlog_pool_pin(pool, BASE + U, true));
    g_assert_true(predlog_pool_pin(pool, BASE + 2 * U, true));
    g_assert_cmpuint(alloc_evict(pool, U, 9, 11, true, &log), ==,
                     UINT64_MAX);
    g_assert_cmpuint(log.ev->len, ==, 1);
    s = get_stats(pool);
    g_assert_cmpuint(s.failures, ==, 1);
    g_assert_cmpuint(s.evictions, ==, 1);
    g_assert_cmpuint(s.extents, ==, 3);

    /* Unpinning makes an extent evictable again. */
    g_assert_true(predlog_pool_pin(pool, BASE + 2 * U, false));
    g_assert_cmpuint(alloc_evict(pool, U, 9, 12, true, &log), ==,
                     BASE + 2 * U);
    assert_evicted(&log, 1, BASE + 2 * U, U, 2);
    assert_extent(pool, BASE, U, 0);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

static void test_evict_own(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 2 * U);
    EvictLog log;

    evict_log_init(&log, pool);
    must_alloc(pool, U, 1, 1);
    must_alloc(pool, U, 2, 2);

    /* Owner 1's older extent is skipped for owner 2's younger one. */
    g_assert_cmpuint(alloc_evict(pool, U, 1, 3, false, &log), ==, BASE + U);
    assert_evicted(&log, 0, BASE + U, U, 2);

    /* Only owner 1's extents remain: not evictable for owner 1... */
    g_assert_cmpuint(alloc_evict(pool, U, 1, 4, false, &log), ==,
                     UINT64_MAX);
    g_assert_cmpuint(log.ev->len, ==, 1);
    assert_extent(pool, BASE, U, 1);
    assert_extent(pool, BASE + U, U, 1);

    /* ...unless allowed, and then by age: its oldest. */
    g_assert_cmpuint(alloc_evict(pool, U, 1, 5, true, &log), ==, BASE);
    assert_evicted(&log, 1, BASE, U, 1);
    /* Another owner may always evict them. */
    g_assert_cmpuint(alloc_evict(pool, U, 3, 6, false, &log), ==, BASE + U);
    assert_evicted(&log, 2, BASE + U, U, 1);
    g_assert_cmpuint(log.ev->len, ==, 3);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

static void test_evict_nothing_on_failure(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 4 * U);
    PredlogPoolStats s;
    EvictLog log;

    evict_log_init(&log, pool);
    for (unsigned i = 0; i < 4; i++) {
        must_alloc(pool, U, i, i);
    }
    /* With unit 1 pinned no three free units can ever be contiguous. */
    g_assert_true(predlog_pool_pin(pool, BASE + U, true));
    g_assert_cmpuint(alloc_evict(pool, 3 * U, 9, 10, true, &log), ==,
                     UINT64_MAX);
    /* Bigger than the pool. */
    g_assert_cmpuint(alloc_evict(pool, 5 * U, 9, 10, true, &log), ==,
                     UINT64_MAX);
    g_assert_cmpuint(log.ev->len, ==, 0);
    for (unsigned i = 0; i < 4; i++) {
        assert_extent(pool, BASE + i * U, U, i);
    }
    s = get_stats(pool);
    g_assert_cmpuint(s.failures, ==, 2);
    g_assert_cmpuint(s.evictions, ==, 0);
    g_assert_cmpuint(s.frees, ==, 0);
    g_assert_cmpuint(s.used, ==, 4 * U);

    /* Own extents block the only run: still nothing evicted. */
    g_assert_true(predlog_pool_pin(pool, BASE + U, false));
    g_assert_true(predlog_pool_pin(pool, BASE + 2 * U, true));
    g_assert_cmpuint(alloc_evict(pool, 2 * U, 1, 10, false, &log), ==,
                     UINT64_MAX);
    g_assert_cmpuint(log.ev->len, ==, 0);
    g_assert_cmpuint(get_stats(pool).extents, ==, 4);
    /* Allowed to take its own, owner 1 gets units 0 and 1. */
    g_assert_cmpuint(alloc_evict(pool, 2 * U, 1, 10, true, &log), ==, BASE);
    g_assert_cmpuint(log.ev->len, ==, 2);
    assert_evicted(&log, 0, BASE, U, 0);
    assert_evicted(&log, 1, BASE + U, U, 1);
    evict_log_destroy(&log);
    predlog_pool_free_all(pool);
}

static void test_resize(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 8 * U);
    uint64_t a, b, size;
    PredlogPoolStats s;

    a = must_alloc(pool, 2 * U, 1, 5);
    b = must_alloc(pool, 2 * U, 2, 6);

    /* Shrink: the tail becomes a hole between a and b. */
    g_assert_true(predlog_pool_resize(pool, a, 1));
    assert_consistent(pool);
    assert_extent(pool, a, U, 1);
    s = get_stats(pool);
    g_assert_cmpuint(s.used, ==, 3 * U);
    g_assert_cmpuint(s.fragments, ==, 2);
    g_assert_cmpuint(s.largest_free, ==, 4 * U);

    /* Grow back into exactly that hole; then no further (b follows). */
    g_assert_true(predlog_pool_resize(pool, a, 2 * U));
    assert_consistent(pool);
    assert_extent(pool, a, 2 * U, 1);
    g_assert_cmpuint(get_stats(pool).fragments, ==, 1);
    g_assert_false(predlog_pool_resize(pool, a, 3 * U));
    assert_consistent(pool);
    assert_extent(pool, a, 2 * U, 1);

    /* Grow into part of the following hole, then all of it, no more. */
    g_assert_true(predlog_pool_resize(pool, b, 3 * U + 1));
    assert_consistent(pool);
    assert_extent(pool, b, 4 * U, 2);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 2 * U);
    g_assert_true(predlog_pool_resize(pool, b, 6 * U));
    assert_consistent(pool);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 0);
    g_assert_cmpuint(s.free, ==, 0);
    g_assert_false(predlog_pool_resize(pool, b, 7 * U));
    g_assert_false(predlog_pool_resize(pool, b, UINT64_MAX));
    assert_extent(pool, b, 6 * U, 2);

    /* Shrink at the end of the pool, then into the hole after it. */
    g_assert_true(predlog_pool_resize(pool, b, 2 * U));
    assert_consistent(pool);
    g_assert_cmpuint(get_stats(pool).largest_free, ==, 4 * U);
    g_assert_true(predlog_pool_resize(pool, b, 0));
    assert_consistent(pool);
    assert_extent(pool, b, U, 2);
    s = get_stats(pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, 5 * U);
    g_assert_cmpuint(s.used, ==, 3 * U);

    /* Same size is a successful no-op; bookkeeping is not an alloc. */
    g_assert_true(predlog_pool_resize(pool, b, U - 3));
    assert_consistent(pool);
    predlog_pool_lookup(pool, b, &size, NULL);
    g_assert_cmpuint(size, ==, U);
    s = get_stats(pool);
    g_assert_cmpuint(s.allocs, ==, 2);
    g_assert_cmpuint(s.frees, ==, 0);
    g_assert_cmpuint(s.extents, ==, 2);
    predlog_pool_free_all(pool);
}

static bool collect_stamp(void *opaque, uint64_t offset G_GNUC_UNUSED,
                          uint64_t size G_GNUC_UNUSED,
                          uint32_t owner G_GNUC_UNUSED, uint64_t stamp,
                          bool pinned G_GNUC_UNUSED)
{
    GArray *stamps = opaque;

    g_array_append_val(stamps, stamp);
    return true;
}

static void test_resize_keeps_stamp(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 8 * U);
    GArray *stamps = g_array_new(false, false, sizeof(uint64_t));
    uint64_t a = must_alloc(pool, 2 * U, 1, 42);

    g_assert_true(predlog_pool_resize(pool, a, 5 * U));
    g_assert_true(predlog_pool_resize(pool, a, U));
    predlog_pool_foreach(pool, collect_stamp, stamps);
    g_assert_cmpuint(stamps->len, ==, 1);
    g_assert_cmpuint(g_array_index(stamps, uint64_t, 0), ==, 42);
    g_array_free(stamps, true);
    predlog_pool_free_all(pool);
}

static void test_bad_offsets(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 8 * U);
    uint64_t a = must_alloc(pool, 2 * U, 1, 0);
    const uint64_t bad[] = {
        a + 1,              /* unaligned, inside an extent */
        a + U,              /* aligned, inside an extent */
        a + 2 * U,          /* start of the free space */
        a + 4 * U,          /* inside the free space */
        BASE - U,           /* before the pool */
        BASE + 8 * U,       /* at its end */
        0,
        UINT64_MAX,
    };
    PredlogPoolStats before = get_stats(pool), after;

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_test_message("offset 0x%" PRIx64, bad[i]);
        g_assert_false(predlog_pool_lookup(pool, bad[i], NULL, NULL));
        g_assert_false(predlog_pool_touch(pool, bad[i], 1));
        g_assert_false(predlog_pool_pin(pool, bad[i], true));
        g_assert_false(predlog_pool_resize(pool, bad[i], U));
        g_assert_false(predlog_pool_release(pool, bad[i]));
        assert_consistent(pool);
    }
    after = get_stats(pool);
    g_assert_cmpmem(&before, sizeof(before), &after, sizeof(after));
    assert_extent(pool, a, 2 * U, 1);

    /* A released extent's offset is bad too. */
    g_assert_true(predlog_pool_release(pool, a));
    g_assert_false(predlog_pool_touch(pool, a, 1));
    g_assert_false(predlog_pool_pin(pool, a, true));
    g_assert_false(predlog_pool_resize(pool, a, U));
    g_assert_false(predlog_pool_release(pool, a));
    assert_no_extent(pool, a);
    predlog_pool_free_all(pool);
}

typedef struct Visit {
    uint64_t offset;
    uint64_t size;
    uint32_t owner;
    uint64_t stamp;
    bool pinned;
} Visit;

typedef struct VisitLog {
    GArray *v;                  /* of Visit */
    unsigned stop_after;        /* 0: never stop */
} VisitLog;

static bool record_visit(void *opaque, uint64_t offset, uint64_t size,
                         uint32_t owner, uint64_t stamp, bool pinned)
{
    VisitLog *log = opaque;
    Visit v = {
        .offset = offset, .size = size, .owner = owner,
        .stamp = stamp, .pinned = pinned,
    };

    g_array_append_val(log->v, v);
    return log->v->len != log->stop_after;
}

static void test_foreach(void)
{
    PredlogPool *pool = predlog_pool_new(BASE, 20 * U);
    VisitLog log = { .v = g_array_new(false, false, sizeof(Visit)) };
    uint64_t off[5];
    Visit *v;

    for (unsigned i = 0; i < 5; i++) {
        off[i] = must_alloc(pool, (i + 1) * U, 10 + i, 100 - i);
    }
    g_assert_true(predlog_pool_release(pool, off[1]));
    g_assert_true(predlog_pool_pin(pool, off[3], true));
    /* Goes into the hole off[1] left, i.e. before off[2]. */
    g_assert_cmpuint(must_alloc(pool, U, 20, 7), ==, off[1]);

    predlog_pool_foreach(pool, record_visit, &log);
    g_assert_cmpuint(log.v->len, ==, 5);
    for (unsigned i = 0; i < 5; i++) {
        v = &g_array_index(log.v, Visit, i);
        g_assert_cmpuint(v->offset, ==, off[i]);
        g_assert_cmpuint(v->size, ==, i == 1 ? U : (i + 1) * U);
        g_assert_cmpuint(v->owner, ==, i == 1 ? 20 : 10 + i);
        g_assert_cmpuint(v->stamp, ==, i == 1 ? 7 : 100 - i);
        g_assert_cmpint(v->pinned, ==, i == 3);
    }

    /* Stops as soon as the visitor says so. */
    g_array_set_size(log.v, 0);
    log.stop_after = 2;
    predlog_pool_foreach(pool, record_visit, &log);
    g_assert_cmpuint(log.v->len, ==, 2);
    g_assert_cmpuint(g_array_index(log.v, Visit, 1).offset, ==, off[1]);

    /* An empty pool visits nothing. */
    for (unsigned i = 0; i < 5; i++) {
        g_assert_true(predlog_pool_release(pool, off[i]));
    }
    g_array_set_size(log.v, 0);
    log.stop_after = 0;
    predlog_pool_foreach(pool, record_visit, &log);
    g_assert_cmpuint(log.v->len, ==, 0);
    g_array_free(log.v, true);
    predlog_pool_free_all(pool);
}

/* ------------------------------------------------------------------ */
/* Randomised cases against a shadow model                             */
/* ------------------------------------------------------------------ */

typedef struct ModelExtent {
    uint64_t offset;
    uint64_t size;
    uint32_t owner;
    uint64_t stamp;
    bool pinned;
} ModelExtent;

typedef struct Model {
    PredlogPool *pool;
    GRand *rand;
    uint64_t start;
    uint32_t units;
    uint32_t max_alloc_units;   /* typical request size limit */
    ModelExtent **map;          /* per unit: its owner extent or NULL */
    GHashTable *by_offset;      /* offset -> ModelExtent, owns them */
    GPtrArray *live;            /* the same extents, for random picks */
    uint64_t now;
    uint64_t allocs, frees, evictions, failures;
    EvictLog log;
} Model;

static uint32_t unit_of(Model *m, uint64_t offset)
{
    return (offset - m->start) / U;
}

static void model_place(Model *m, ModelExtent *e)
{
    uint32_t first = unit_of(m, e->offset);

    g_assert_cmpuint(e->offset % U, ==, 0);
    g_assert_cmpuint(e->size % U, ==, 0);
    g_assert_cmpuint(first + e->size / U, <=, m->units);
    for (uint32_t u = first; u < first + e->size / U; u++) {
        /* The pool handed out space the model still sees in use. */
        g_assert_null(m->map[u]);
        m->map[u] = e;
    }
}

static void model_unplace(Model *m, ModelExtent *e)
{
    uint32_t first = unit_of(m, e->offset);

    for (uint32_t u = first; u < first + e->size / U; u++) {
        g_assert_true(m->map[u] == e);
        m->map[u] = NULL;
    }
}

static void model_add(Model *m, uint64_t offset, uint64_t size,
                      uint32_t owner, uint64_t now)
{
    ModelExtent *e = g_new0(ModelExtent, 1);

    e->offset = offset;
    e->size = size;
    e->owner = owner;
    e->stamp = now;
    model_place(m, e);
    g_hash_table_insert(m->by_offset, &e->offset, e);
    g_ptr_array_add(m->live, e);
}

static void model_remove(Model *m, ModelExtent *e)
{
    model_unplace(m, e);
    g_assert_true(g_ptr_array_remove_fast(m->live, e));
    g_hash_table_remove(m->by_offset, &e->offset);
}

static ModelExtent *model_find(Model *m, uint64_t offset)
{
    return g_hash_table_lookup(m->by_offset, &offset);
}

/*
 * Best fit over a free map: the smallest run of at least @want units,
 * lowest first on ties; returns its first unit or -1.  Also gives the
 * number of maximal runs and the longest.
 */
static int64_t runs_best_fit(const bool *is_free, uint32_t units,
                             uint32_t want, uint32_t *n_runs,
                             uint32_t *longest)
{
    int64_t best = -1;
    uint32_t best_len = 0, runs = 0, max = 0;

    for (uint32_t u = 0; u < units;) {
        uint32_t len = 0;

        if (!is_free[u]) {
            u++;
            continue;
        }
        while (u + len < units && is_free[u + len]) {
            len++;
        }
        runs++;
        max = MAX(max, len);
        if (len >= want && (best < 0 || len < best_len)) {
            best = u;
            best_len = len;
        }
        u += len;
    }
    if (n_runs) {
        *n_runs = runs;
    }
    if (longest) {
        *longest = max;
    }
    return best;
}

static bool *model_free_map(Model *m)
{
    bool *is_free = g_new(bool, m->units);

    for (uint32_t u = 0; u < m->units; u++) {
        is_free[u] = !m->map[u];
    }
    return is_free;
}

static gint cmp_lru(gconstpointer a, gconstpointer b)
{
    const ModelExtent *x = *(ModelExtent * const *)a;
    const ModelExtent *y = *(ModelExtent * const *)b;

    if (x->stamp != y->stamp) {
        return x->stamp < y->stamp ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * What pool.h promises for an allocation that does not fit: the LRU-first
 * prefix of evictable extents that first makes a fitting run, or nothing.
 * Returns the extents in eviction order, or NULL if the call must fail.
 */
static GPtrArray *model_plan(Model *m, uint32_t want, uint32_t owner,
                             bool may_evict_own)
{
    g_autofree bool *is_free = model_free_map(m);
    g_autoptr(GPtrArray) cand = g_ptr_array_new();
    GPtrArray *plan = g_ptr_array_new();

    for (unsigned i = 0; i < m->live->len; i++) {
        ModelExtent *e = g_ptr_array_index(m->live, i);

        if (!e->pinned && (may_evict_own || e->owner != owner)) {
            g_ptr_array_add(cand, e);
        }
    }
    g_ptr_array_sort(cand, cmp_lru);
    for (unsigned i = 0; i < cand->len; i++) {
        ModelExtent *e = g_ptr_array_index(cand, i);
        uint32_t first = unit_of(m, e->offset), lo, hi;

        for (uint32_t u = first; u < first + e->size / U; u++) {
            is_free[u] = true;
        }
        g_ptr_array_add(plan, e);
        /*
         * No run fitted before, so only the one this extent joined can
         * fit now: measure just that one.
         */
        lo = first;
        hi = first + e->size / U;
        while (lo > 0 && is_free[lo - 1]) {
            lo--;
        }
        while (hi < m->units && is_free[hi]) {
            hi++;
        }
        if (hi - lo >= want) {
            return plan;
        }
    }
    g_ptr_array_free(plan, true);
    return NULL;
}

/* A request size in bytes, and the units it must round to. */
static uint64_t random_size(Model *m, uint32_t *units)
{
    uint32_t k;

    switch (g_rand_int_range(m->rand, 0, 40)) {
    case 0:
        *units = 1;
        return 0;
    case 1:
        /* More than the pool: must fail. */
        *units = m->units + 1;
        return (uint64_t)m->units * U + 1;
    case 2:
        /* Large: evicts many extents at once. */
        k = g_rand_int_range(m->rand, 1,
                             MIN(m->units, 8 * m->max_alloc_units) + 1);
        break;
    default:
        k = g_rand_int_range(m->rand, 1, m->max_alloc_units + 1);
        break;
    }
    *units = k;
    /* Anything in ((k - 1) * U, k * U] rounds to k units. */
    return (uint64_t)(k - 1) * U + g_rand_int_range(m->rand, 1, U + 1);
}

/* An extent's offset mostly, sometimes an arbitrary one. */
static uint64_t random_offset(Model *m)
{
    if (m->live->len && g_rand_int_range(m->rand, 0, 8)) {
        ModelExtent *e = g_ptr_array_index(m->live,
            g_rand_int_range(m->rand, 0, m->live->len));

        return e->offset;
    }
    if (g_rand_boolean(m->rand)) {
        /* Aligned, anywhere in or just around the pool. */
        return m->start - U +
               (uint64_t)g_rand_int_range(m->rand, 0, m->units + 2) * U;
    }
    return m->start + g_rand_int_range(m->rand, 0, m->units * U);
}

static void step_alloc(Model *m, bool with_evict)
{
    uint32_t want, owner = g_rand_int_range(m->rand, 0, 6);
    uint64_t size = random_size(m, &want), off = UINT64_MAX;
    bool may_evict_own = g_rand_boolean(m->rand);
    g_autofree bool *is_free = model_free_map(m);
    GPtrArray *plan = NULL;
    int64_t fit = -1;
    bool expect, ok;

    if (want <= m->units) {
        fit = runs_best_fit(is_free, m->units, want, NULL, NULL);
        if (fit < 0 && with_evict) {
            plan = model_plan(m, want, owner, may_evict_own);
        }
    }
    expect = fit >= 0 || plan;

    g_array_set_size(m->log.ev, 0);
    ok = predlog_pool_alloc(m->pool, size, owner, m->now, may_evict_own,
                            with_evict ? record_eviction : NULL, &m->log,
                            &off);
    g_assert_cmpint(ok, ==, expect);
    if (!ok) {
        g_assert_cmpuint(m->log.ev->len, ==, 0);
        m->failures++;
        return;
    }

    if (plan) {
        g_assert_cmpuint(m->log.ev->len, ==, plan->len);
        for (unsigned i = 0; i < plan->len; i++) {
            ModelExtent *e = g_ptr_array_index(plan, i);

            assert_evicted(&m->log, i, e->offset, e->size, e->owner);
            model_remove(m, e);
        }
        m->evictions += plan->len;
        m->frees += plan->len;
        g_ptr_array_free(plan, true);
        g_free(is_free);
        is_free = model_free_map(m);
        fit = runs_best_fit(is_free, m->units, want, NULL, NULL);
        g_assert_cmpint(fit, >=, 0);
    } else {
        g_assert_cmpuint(m->log.ev->len, ==, 0);
    }
    g_assert_cmpuint(off, ==, m->start + (uint64_t)fit * U);
    model_add(m, off, (uint64_t)want * U, owner, m->now);
    m->allocs++;
}

static void step_release(Model *m)
{
    uint64_t off = random_offset(m);
    ModelExtent *e = model_find(m, off);

    g_assert_cmpint(predlog_pool_release(m->pool, off), ==, e != NULL);
    if (e) {
        model_remove(m, e);
        m->frees++;
    }
}

static void step_resize(Model *m)
{
    uint64_t off = random_offset(m);
    ModelExtent *e = model_find(m, off);
    uint32_t want, first, have;
    uint64_t size;
    bool expect;

    if (g_rand_boolean(m->rand) && e) {
        /* Near the current size, so that growth often fits. */
        int32_t k = e->size / U + g_rand_int_range(m->rand, -3, 4);

        want = MAX(k, 1);
        size = (uint64_t)want * U - g_rand_int_range(m->rand, 0, U);
    } else {
        size = random_size(m, &want);
    }
    expect = e != NULL;
    if (e) {
        first = unit_of(m, e->offset);
        have = e->size / U;
        for (uint32_t u = first + have; u < (uint64_t)first + want; u++) {
            if (u >= m->units || m->map[u]) {
                expect = false;
                break;
            }
        }
    }
    g_assert_cmpint(predlog_pool_resize(m->pool, off, size), ==, expect);
    if (expect) {
        model_unplace(m, e);
        e->size = (uint64_t)want * U;
        model_place(m, e);
    }
}

static void step_touch(Model *m)
{
    uint64_t off = random_offset(m);
    ModelExtent *e = model_find(m, off);

    g_assert_cmpint(predlog_pool_touch(m->pool, off, m->now), ==, e != NULL);
    if (e) {
        e->stamp = m->now;
    }
}

static void step_pin(Model *m)
{
    uint64_t off = random_offset(m);
    ModelExtent *e = model_find(m, off);
    /* Mostly unpin, so that a good part of the pool stays evictable. */
    bool pinned = g_rand_int_range(m->rand, 0, 3) == 0;

    g_assert_cmpint(predlog_pool_pin(m->pool, off, pinned), ==, e != NULL);
    if (e) {
        e->pinned = pinned;
    }
}

typedef struct CompareWalk {
    Model *m;
    uint64_t next_min;          /* first offset the next extent may have */
    unsigned seen;
} CompareWalk;

static bool compare_visit(void *opaque, uint64_t offset, uint64_t size,
                          uint32_t owner, uint64_t stamp, bool pinned)
{
    CompareWalk *w = opaque;
    ModelExtent *e = model_find(w->m, offset);
    uint32_t first;

    g_assert_cmpuint(offset, >=, w->next_min);
    g_assert_nonnull(e);
    g_assert_cmpuint(size, ==, e->size);
    g_assert_cmpuint(owner, ==, e->owner);
    g_assert_cmpuint(stamp, ==, e->stamp);
    g_assert_cmpint(pinned, ==, e->pinned);
    /* Every unit the pool reports is the model's for this extent. */
    first = unit_of(w->m, offset);
    for (uint32_t u = first; u < first + size / U; u++) {
        g_assert_true(w->m->map[u] == e);
    }
    w->next_min = offset + size;
    w->seen++;
    return true;
}

static void model_verify(Model *m)
{
    g_autofree bool *is_free = model_free_map(m);
    CompareWalk w = { .m = m, .next_min = m->start };
    PredlogPoolStats s = get_stats(m->pool);
    uint32_t runs, longest;
    uint64_t used = 0;

    assert_consistent(m->pool);
    predlog_pool_foreach(m->pool, compare_visit, &w);
    g_assert_cmpuint(w.seen, ==, m->live->len);

    for (unsigned i = 0; i < m->live->len; i++) {
        used += ((ModelExtent *)g_ptr_array_index(m->live, i))->size;
    }
    runs_best_fit(is_free, m->units, 1, &runs, &longest);
    g_assert_cmpuint(s.size, ==, (uint64_t)m->units * U);
    g_assert_cmpuint(s.used, ==, used);
    g_assert_cmpuint(s.extents, ==, m->live->len);
    g_assert_cmpuint(s.fragments, ==, runs);
    g_assert_cmpuint(s.largest_free, ==, (uint64_t)longest * U);
    g_assert_cmpuint(s.allocs, ==, m->allocs);
    g_assert_cmpuint(s.frees, ==, m->frees);
    g_assert_cmpuint(s.evictions, ==, m->evictions);
    g_assert_cmpuint(s.failures, ==, m->failures);
}

typedef struct RandomCase {
    uint32_t seed;
    uint32_t units;
    uint32_t max_alloc_units;
    unsigned steps;
} RandomCase;

static void run_random(const RandomCase *rc)
{
    Model m = { 0 };
    PredlogPoolStats s;

    g_test_message("seed %" PRIu32 ", %" PRIu32 " units", rc->seed,
                   rc->units);
    m.rand = g_rand_new_with_seed(rc->seed);
    /* An unaligned base: the pool starts at the next unit. */
    m.start = BASE + 7 * U;
    m.pool = predlog_pool_new(m.start - 100, (uint64_t)rc->units * U + 100);
    g_assert_nonnull(m.pool);
    m.units = rc->units;
    m.max_alloc_units = rc->max_alloc_units;
    m.map = g_new0(ModelExtent *, m.units);
    m.by_offset = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                        g_free);
    m.live = g_ptr_array_new();
    evict_log_init(&m.log, m.pool);

    for (unsigned i = 0; i < rc->steps; i++) {
        int op = g_rand_int_range(m.rand, 0, 100);

        /* The clock stands still now and then: stamps tie. */
        m.now += g_rand_int_range(m.rand, 0, 3);
        if (op < 30) {
            step_alloc(&m, false);
        } else if (op < 55) {
            step_alloc(&m, true);
        } else if (op < 72) {
            step_release(&m);
        } else if (op < 84) {
            step_resize(&m);
        } else if (op < 93) {
            step_touch(&m);
        } else {
            step_pin(&m);
        }
        model_verify(&m);
    }

    /* The run must actually have exercised eviction and failure. */
    s = get_stats(m.pool);
    g_test_message("allocs %" PRIu64 " frees %" PRIu64 " evictions %"
                   PRIu64 " failures %" PRIu64 " extents %" PRIu32,
                   s.allocs, s.frees, s.evictions, s.failures, s.extents);
    g_assert_cmpuint(s.evictions, >, 0);
    g_assert_cmpuint(s.failures, >, 0);

    /* Releasing everything leaves one hole the size of the pool. */
    while (m.live->len) {
        ModelExtent *e = g_ptr_array_index(m.live, 0);

        g_assert_true(predlog_pool_release(m.pool, e->offset));
        model_remove(&m, e);
        m.frees++;
    }
    model_verify(&m);
    s = get_stats(m.pool);
    g_assert_cmpuint(s.fragments, ==, 1);
    g_assert_cmpuint(s.largest_free, ==, s.size);

    evict_log_destroy(&m.log);
    predlog_pool_free_all(m.pool);
    g_ptr_array_free(m.live, true);
    g_hash_table_destroy(m.by_offset);
    g_free(m.map);
    g_rand_free(m.rand);
}

static void test_random(gconstpointer data)
{
    run_random(data);
}

/* Seeded from g_test's seed: varies per run, repeatable with --seed. */
static void test_random_test_seed(void)
{
    RandomCase rc = {
        .seed = g_test_rand_int(),
        .units = 512,
        .max_alloc_units = 24,
        .steps = 4000,
    };

    run_random(&rc);
}

static const RandomCase random_cases[] = {
    { .seed = 1, .units = 64, .max_alloc_units = 8, .steps = 5000 },
    { .seed = 2, .units = 256, .max_alloc_units = 16, .steps = 5000 },
    { .seed = 3, .units = 1024, .max_alloc_units = 48, .steps = 5000 },
    { .seed = 0xdeadbeef, .units = 16, .max_alloc_units = 4, .steps = 5000 },
    /* Small requests in a large pool: thousands of extents at once. */
    { .seed = 42, .units = 6144, .max_alloc_units = 3, .steps = 12000 },
};

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/pool/new", test_new);
    g_test_add_func("/pool/alloc-release", test_alloc_release);
    g_test_add_func("/pool/coalesce", test_coalesce);
    g_test_add_func("/pool/best-fit", test_best_fit);
    g_test_add_func("/pool/full", test_full);
    g_test_add_func("/pool/evict/lru", test_evict_lru);
    g_test_add_func("/pool/evict/several", test_evict_several);
    g_test_add_func("/pool/evict/uses-free-space",
                    test_evict_uses_free_space);
    g_test_add_func("/pool/evict/strict-lru-order",
                    test_evict_strict_lru_order);
    g_test_add_func("/pool/evict/pinned", test_evict_pinned);
    g_test_add_func("/pool/evict/own", test_evict_own);
    g_test_add_func("/pool/evict/nothing-on-failure",
                    test_evict_nothing_on_failure);
    g_test_add_func("/pool/resize", test_resize);
    g_test_add_func("/pool/resize/keeps-stamp", test_resize_keeps_stamp);
    g_test_add_func("/pool/bad-offsets", test_bad_offsets);
    g_test_add_func("/pool/foreach", test_foreach);
    for (unsigned i = 0; i < G_N_ELEMENTS(random_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/pool/random/seed-%" PRIu32,
                            random_cases[i].seed);

        g_test_add_data_func(path, &random_cases[i], test_random);
    }
    g_test_add_func("/pool/random/test-seed", test_random_test_seed);
    return g_test_run();
}
