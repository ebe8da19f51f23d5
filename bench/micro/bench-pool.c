/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Micro-benchmark of the pool allocator under churn, with and without
 * compaction
 *
 * A 64 MiB pool backed by real memory serves 64 functions the way the
 * recorder does: each allocates buffers of a size mix from 16 KiB (the
 * recorder's minimum) to 4 MiB, its newest buffer is its active one and
 * pinned, and old buffers are released at random, keeping the pool about
 * 85% full.  The same request stream runs three ways in one run:
 *
 *   best fit       predlog_pool_alloc() alone (the baseline);
 *   +defragment    on a failure with enough bytes free,
 *                  predlog_pool_defragment() and one retry;
 *   +compact       that, and predlog_pool_compact() (bound 0.2, at most
 *                  1 MiB) every 256 steps, as at the recorder's refresh.
 *
 * Moves copy the bytes with memcpy, as the recorder would, so their cost
 * is real.  It reports allocation failures (all, and those with enough
 * bytes free, i.e. caused by fragmentation), ns per allocation (the time
 * in alloc, plus defragment and retry where used), bytes moved and their
 * rate, and fragmentation over the run.  It measures; it asserts nothing.
 *
 *   bench-pool [steps] [seed]
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "hw/predlog/core/pool.h"

#define POOL_SIZE       (64u * 1024 * 1024)
#define N_FUNCS         64
#define TARGET_USED     0.85
#define REFRESH_STEPS   256
#define COMPACT_BOUND   0.2
#define COMPACT_BUDGET  (1024u * 1024)
#define N_SAMPLES       10              /* fragmentation checkpoints */
#define KIB             1024u

typedef enum Variant {
    BEST_FIT,
    DEFRAGMENT,
    COMPACT,
    N_VARIANTS,
} Variant;

static const char *const variant_name[N_VARIANTS] = {
    "best fit", "+defragment", "+compact",
};

typedef struct Extent {
    uint64_t offset;
    uint64_t size;
    uint32_t owner;
} Extent;

typedef struct Run {
    PredlogPool *pool;
    uint8_t *mem;
    GArray *live;               /* of Extent: old, unpinned buffers */
    GHashTable *index;          /* offset -> position in live + 1 */
    uint64_t active[N_FUNCS];   /* offset of each active buffer, or none */
    bool has_active[N_FUNCS];

    uint64_t attempts, failures, frag_failures;
    uint64_t defrag_calls, defrag_ok;
    uint64_t moves, moved;
    uint64_t defrag_moved;          /* of which by defragment */
    uint64_t alloc_ns;              /* alloc, defragment and retry */
    uint64_t defrag_ns, compact_ns; /* in those calls alone */
    double frag_sum;
    double frag_max;
    uint64_t frag_n;
    double frag_at[N_SAMPLES];
} Run;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* Recorder-like buffer sizes: mostly tens to hundreds of KiB. */
static uint64_t random_size(GRand *rand)
{
    int pick = g_rand_int_range(rand, 0, 100);

    if (pick < 45) {
        return g_rand_int_range(rand, 16 * KIB, 64 * KIB + 1);
    } else if (pick < 80) {
        return g_rand_int_range(rand, 64 * KIB, 256 * KIB + 1);
    } else if (pick < 95) {
        return g_rand_int_range(rand, 256 * KIB, 1024 * KIB + 1);
    }
    return g_rand_int_range(rand, 1024 * KIB, 4096 * KIB + 1);
}

static void live_add(Run *r, uint64_t offset, uint64_t size, uint32_t owner)
{
    Extent e = { .offset = offset, .size = size, .owner = owner };

    g_array_append_val(r->live, e);
    g_hash_table_insert(r->index, GSIZE_TO_POINTER(offset),
                        GUINT_TO_POINTER(r->live->len));
}

static void live_remove(Run *r, guint i)
{
    Extent *e = &g_array_index(r->live, Extent, i);
    Extent *last = &g_array_index(r->live, Extent, r->live->len - 1);

    g_hash_table_remove(r->index, GSIZE_TO_POINTER(e->offset));
    if (e != last) {
        *e = *last;
        g_hash_table_insert(r->index, GSIZE_TO_POINTER(e->offset),
                            GUINT_TO_POINTER(i + 1));
    }
    g_array_set_size(r->live, r->live->len - 1);
}

/* What the recorder does when the pool moves a buffer: copy, rename. */
static void move_buffer(void *opaque, uint64_t from, uint64_t to,
                        uint64_t size, uint32_t owner)
{
    Run *r = opaque;
    guint pos = GPOINTER_TO_UINT(g_hash_table_lookup(r->index,
                                                     GSIZE_TO_POINTER(from)));

    memcpy(r->mem + to, r->mem + from, size);
    r->moves++;
    r->moved += size;
    /* Active buffers are pinned, so only old ones move. */
    g_assert(pos && !(r->has_active[owner] && r->active[owner] == from));
    g_hash_table_remove(r->index, GSIZE_TO_POINTER(from));
    g_array_index(r->live, Extent, pos - 1).offset = to;
    g_hash_table_insert(r->index, GSIZE_TO_POINTER(to),
                        GUINT_TO_POINTER(pos));
}

/* A new active buffer for @owner; the old one becomes releasable. */
static void step_alloc(Run *r, Variant v, uint32_t owner, uint64_t size)
{
    PredlogPoolStats s;
    uint64_t t0 = now_ns(), off;
    bool ok;

    r->attempts++;
    ok = predlog_pool_alloc(r->pool, size, owner, r->attempts, false, NULL,
                            NULL, &off);
    if (!ok && v != BEST_FIT) {
        predlog_pool_get_stats(r->pool, &s);
        if (s.free >= size) {
            uint64_t t1 = now_ns(), moved;
            bool opened = predlog_pool_defragment(r->pool, size, move_buffer,
                                                  r, &moved);

            r->defrag_ns += now_ns() - t1;
            r->defrag_calls++;
            r->defrag_moved += moved;
            if (opened) {
                r->defrag_ok++;
                ok = predlog_pool_alloc(r->pool, size, owner, r->attempts,
                                        false, NULL, NULL, &off);
            }
        }
    }
    r->alloc_ns += now_ns() - t0;
    if (!ok) {
        predlog_pool_get_stats(r->pool, &s);
        r->failures++;
        r->frag_failures += s.free >= size;
        return;
    }
    /* Touch the new buffer, as the recorder zeroes it. */
    memset(r->mem + off, 0, size);
    predlog_pool_pin(r->pool, off, true);
    if (r->has_active[owner]) {
        uint64_t old = r->active[owner], old_size;

        predlog_pool_pin(r->pool, old, false);
        predlog_pool_lookup(r->pool, old, &old_size, NULL);
        live_add(r, old, old_size, owner);
    }
    r->active[owner] = off;
    r->has_active[owner] = true;
}

static void run(Run *r, Variant v, unsigned steps, uint32_t seed)
{
    GRand *rand = g_rand_new_with_seed(seed);
    PredlogPoolStats s;

    memset(r, 0, sizeof(*r));
    r->pool = predlog_pool_new(0, POOL_SIZE);
    r->mem = g_malloc(POOL_SIZE);
    memset(r->mem, 0, POOL_SIZE);
    r->live = g_array_new(false, false, sizeof(Extent));
    r->index = g_hash_table_new(g_direct_hash, g_direct_equal);

    for (unsigned i = 0; i < steps; i++) {
        /*
         * Draw the same numbers whatever the pool did, so that every
         * variant sees the same requests.
         */
        uint32_t owner = g_rand_int_range(rand, 0, N_FUNCS);
        uint64_t size = random_size(rand);
        double victim = g_rand_double(rand);
        double frag;

        predlog_pool_get_stats(r->pool, &s);
        if ((double)s.used < TARGET_USED * s.size || !r->live->len) {
            step_alloc(r, v, owner, size);
        } else {
            guint k = (guint)(victim * r->live->len);

            predlog_pool_release(r->pool,
                                 g_array_index(r->live, Extent, k).offset);
            live_remove(r, k);
        }
        if (v == COMPACT && i % REFRESH_STEPS == REFRESH_STEPS - 1) {
            uint64_t t0 = now_ns();

            predlog_pool_compact(r->pool, COMPACT_BOUND, COMPACT_BUDGET,
                                 move_buffer, r);
            r->compact_ns += now_ns() - t0;
        }
        frag = predlog_pool_fragmentation(r->pool);
        r->frag_sum += frag;
        r->frag_max = MAX(r->frag_max, frag);
        r->frag_n++;
        if ((uint64_t)(i + 1) * N_SAMPLES % steps < N_SAMPLES) {
            r->frag_at[MIN((uint64_t)(i + 1) * N_SAMPLES / steps,
                           N_SAMPLES) - 1] = frag;
        }
    }

    predlog_pool_free_all(r->pool);
    g_hash_table_destroy(r->index);
    g_array_free(r->live, true);
    g_free(r->mem);
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    guint64 steps = 200000, seed = 1;
    Run r[N_VARIANTS];

    if ((argc > 1 && !g_ascii_string_to_unsigned(argv[1], 10, N_SAMPLES,
                                                 UINT32_MAX, &steps, NULL)) ||
        (argc > 2 && !g_ascii_string_to_unsigned(argv[2], 10, 0, UINT32_MAX,
                                                 &seed, NULL)) ||
        argc > 3) {
        fprintf(stderr, "usage: %s [steps >= %d] [seed]\n", argv[0],
                N_SAMPLES);
        return 1;
    }
    for (Variant v = 0; v < N_VARIANTS; v++) {
        run(&r[v], v, (unsigned)steps, (uint32_t)seed);
    }

    printf("bench-pool: %u MiB pool, %" PRIu64 " steps, seed %" PRIu64 ", %d "
           "functions (active buffer pinned),\n"
           "  sizes 16 KiB-4 MiB, churn at %.0f%% used; +compact: bound "
           "%.1f, %u KiB per call every %d steps\n\n",
           POOL_SIZE >> 20, steps, seed, N_FUNCS, TARGET_USED * 100,
           COMPACT_BOUND, COMPACT_BUDGET / KIB, REFRESH_STEPS);
    printf("%-12s %7s %6s %6s %9s %8s %7s %9s %9s %9s %6s %6s\n",
           "variant", "allocs", "failed", "fail%", "frag-fail", "ns/alloc",
           "moves", "defragMiB", "compctMiB", "move GB/s", "frag", "max");
    for (Variant v = 0; v < N_VARIANTS; v++) {
        Run *x = &r[v];
        uint64_t ns = x->defrag_ns + x->compact_ns;

        printf("%-12s %7" PRIu64 " %6" PRIu64 " %6.2f %9" PRIu64
               " %8.0f %7" PRIu64 " %9.1f %9.1f %9.2f %6.3f %6.3f\n",
               variant_name[v], x->attempts, x->failures,
               100.0 * x->failures / x->attempts, x->frag_failures,
               (double)x->alloc_ns / x->attempts, x->moves,
               x->defrag_moved / 1048576.0,
               (x->moved - x->defrag_moved) / 1048576.0,
               ns ? x->moved / (double)ns : 0,
               x->frag_sum / x->frag_n, x->frag_max);
    }
    printf("\nfrag-fail: failures with enough bytes free; ns/alloc: alloc, "
           "and defragment and retry\nafter a failure; move GB/s: bytes "
           "moved per second spent in defragment and compact;\nfrag: "
           "mean fragmentation over all steps, max: its maximum\n\n");
    for (Variant v = DEFRAGMENT; v < N_VARIANTS; v++) {
        printf("%-12s vs best fit: failures x%.3f, ns/alloc x%.2f; "
               "defragment opened room %" PRIu64 " of %" PRIu64 " times\n",
               variant_name[v],
               r[BEST_FIT].failures ?
               (double)r[v].failures / r[BEST_FIT].failures : 0,
               (double)r[v].alloc_ns / r[v].attempts /
               ((double)r[BEST_FIT].alloc_ns / r[BEST_FIT].attempts),
               r[v].defrag_ok, r[v].defrag_calls);
    }
    printf("\nfragmentation at each tenth of the run:\n");
    for (Variant v = 0; v < N_VARIANTS; v++) {
        printf("%-12s", variant_name[v]);
        for (int i = 0; i < N_SAMPLES; i++) {
            printf(" %5.3f", r[v].frag_at[i]);
        }
        printf("\n");
    }
    return 0;
}
