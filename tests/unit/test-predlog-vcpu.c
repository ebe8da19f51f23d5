/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog per-vCPU dirty attribution
 * (migration/predlog/vcpu.c)
 *
 * Counting is checked single-threaded by hand, then from several GThreads
 * at once (the MTTCG case), also while the "migration thread" closes
 * periods: every page noted must be counted exactly once.  The KVM
 * dirty-ring path (slot, offset) -> target pages runs on synthetic slot
 * values, since the machines here cannot run KVM guests: 4 KiB and
 * 64 KiB host pages, offsets at and beyond the end of a slot, a slot that
 * is not a whole number of host pages, and arithmetic that would wrap.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "migration/predlog/vcpu.h"

/* Tolerances, spelled so that checkpatch does not read 1e-9 as 1e - 9. */
#define EPS     (1 / 1e9)

static PredlogVcpuStats stats(const PredlogVcpuDirty *v, int cpu)
{
    PredlogVcpuStats s;

    memset(&s, 0xff, sizeof(s));
    predlog_vcpu_dirty_stats(v, cpu, &s);
    return s;
}

static void test_new_args(void)
{
    PredlogVcpuDirty *v;

    g_assert_null(predlog_vcpu_dirty_new(0));
    g_assert_null(predlog_vcpu_dirty_new(PREDLOG_VCPU_MAX + 1));
    v = predlog_vcpu_dirty_new(PREDLOG_VCPU_MAX);
    g_assert_nonnull(v);
    g_assert_cmpuint(predlog_vcpu_dirty_ncpus(v), ==, PREDLOG_VCPU_MAX);
    predlog_vcpu_dirty_note(v, PREDLOG_VCPU_MAX - 1, 3);
    predlog_vcpu_dirty_end_period(v, 1);
    g_assert_cmpuint(stats(v, PREDLOG_VCPU_MAX - 1).pages, ==, 3);
    predlog_vcpu_dirty_free(v);
    predlog_vcpu_dirty_free(NULL);
    g_assert_cmpuint(predlog_vcpu_dirty_ncpus(NULL), ==, 0);
}

static void test_counts_and_rates(void)
{
    PredlogVcpuDirty *v = predlog_vcpu_dirty_new(4);
    PredlogVcpuStats s;

    /* nothing shows before a period closes */
    predlog_vcpu_dirty_note(v, 0, 10);
    predlog_vcpu_dirty_note(v, 0, 5);
    predlog_vcpu_dirty_note(v, 3, 1);
    predlog_vcpu_dirty_note(v, 2, 0);
    g_assert_cmpuint(stats(v, 0).pages, ==, 0);

    predlog_vcpu_dirty_end_period(v, 0.5);
    s = stats(v, 0);
    g_assert_cmpuint(s.pages, ==, 15);
    g_assert_cmpuint(s.last, ==, 15);
    g_assert_cmpfloat_with_epsilon(s.rate, 30, EPS);
    g_assert_cmpfloat_with_epsilon(s.rate_ewma, 30, EPS);   /* seeded */
    g_assert_cmpuint(stats(v, 3).pages, ==, 1);
    g_assert_cmpuint(stats(v, 1).pages, ==, 0);
    g_assert_cmpfloat(stats(v, 1).rate, ==, 0);

    /* second period: EWMA alpha 0.3 */
    predlog_vcpu_dirty_note(v, 0, 100);
    predlog_vcpu_dirty_end_period(v, 2);
    s = stats(v, 0);
    g_assert_cmpuint(s.pages, ==, 115);
    g_assert_cmpuint(s.last, ==, 100);
    g_assert_cmpfloat_with_epsilon(s.rate, 50, EPS);
    g_assert_cmpfloat_with_epsilon(s.rate_ewma, 0.3 * 50 + 0.7 * 30, EPS);
    s = stats(v, 3);
    g_assert_cmpuint(s.last, ==, 0);
    g_assert_cmpfloat(s.rate, ==, 0);
    g_assert_cmpfloat_with_epsilon(s.rate_ewma, 0.7 * 2, EPS);

    /* a period of no valid length: counts move on, rates are kept */
    predlog_vcpu_dirty_note(v, 0, 7);
    predlog_vcpu_dirty_end_period(v, 0);
    predlog_vcpu_dirty_end_period(v, -1);
    predlog_vcpu_dirty_end_period(v, NAN);
    predlog_vcpu_dirty_end_period(v, INFINITY);
    s = stats(v, 0);
    g_assert_cmpuint(s.pages, ==, 122);
    g_assert_cmpuint(s.last, ==, 0);
    g_assert_cmpfloat_with_epsilon(s.rate, 50, EPS);
    g_assert_cmpfloat_with_epsilon(s.rate_ewma, 0.3 * 50 + 0.7 * 30, EPS);
    predlog_vcpu_dirty_free(v);
}

/* The first valid period seeds the EWMA even after invalid ones. */
static void test_ewma_seed(void)
{
    PredlogVcpuDirty *v = predlog_vcpu_dirty_new(1);

    predlog_vcpu_dirty_note(v, 0, 4);
    predlog_vcpu_dirty_end_period(v, 0);
    g_assert_cmpfloat(stats(v, 0).rate_ewma, ==, 0);
    predlog_vcpu_dirty_note(v, 0, 8);
    predlog_vcpu_dirty_end_period(v, 4);
    g_assert_cmpfloat_with_epsilon(stats(v, 0).rate, 2, EPS);
    g_assert_cmpfloat_with_epsilon(stats(v, 0).rate_ewma, 2, EPS);
    g_assert_cmpuint(stats(v, 0).pages, ==, 12);
    predlog_vcpu_dirty_free(v);
}

static void test_out_of_range(void)
{
    PredlogVcpuDirty *v = predlog_vcpu_dirty_new(2);
    PredlogVcpuStats s;

    predlog_vcpu_dirty_note(v, -1, 1);
    predlog_vcpu_dirty_note(v, -7, 2);
    predlog_vcpu_dirty_note(v, 2, 4);
    predlog_vcpu_dirty_note(v, INT_MAX, 8);
    predlog_vcpu_dirty_note(v, INT_MIN, 16);
    predlog_vcpu_dirty_note(v, 1, 32);
    predlog_vcpu_dirty_end_period(v, 1);

    s = stats(v, -1);
    g_assert_cmpuint(s.pages, ==, 31);
    g_assert_cmpfloat_with_epsilon(s.rate, 31, EPS);
    g_assert_cmpuint(stats(v, 1).pages, ==, 32);
    g_assert_cmpuint(stats(v, 0).pages, ==, 0);
    /* stats out of range: zeros, not the unattributed slot */
    for (int cpu = -3; cpu <= 4; cpu++) {
        if (cpu >= -1 && cpu < 2) {
            continue;
        }
        s = stats(v, cpu);
        g_assert_cmpuint(s.pages, ==, 0);
        g_assert_cmpuint(s.last, ==, 0);
        g_assert_cmpfloat(s.rate, ==, 0);
        g_assert_cmpfloat(s.rate_ewma, ==, 0);
    }
    s = stats(NULL, 0);
    g_assert_cmpuint(s.pages, ==, 0);
    predlog_vcpu_dirty_note(NULL, 0, 1);
    predlog_vcpu_dirty_end_period(NULL, 1);
    predlog_vcpu_dirty_stats(v, 0, NULL);
    predlog_vcpu_dirty_free(v);
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

#define N_THREADS   4
#define N_CPUS      3
#define ITERS       200000

typedef struct Writer {
    PredlogVcpuDirty *v;
    int id;
    GThread *thread;
} Writer;

/*
 * Writer i notes i + 1 pages to its own vCPU i % N_CPUS (two writers
 * share vCPU 0), 1 page to vCPU 1 (shared by all) and 1 to an
 * out-of-range vCPU, ITERS times.
 */
static gpointer writer(gpointer opaque)
{
    Writer *w = opaque;

    for (unsigned k = 0; k < ITERS; k++) {
        predlog_vcpu_dirty_note(w->v, w->id % N_CPUS, w->id + 1);
        predlog_vcpu_dirty_note(w->v, 1, 1);
        predlog_vcpu_dirty_note(w->v, N_CPUS + w->id, 1);
    }
    return NULL;
}

static void run_writers(bool close_periods)
{
    PredlogVcpuDirty *v = predlog_vcpu_dirty_new(N_CPUS);
    Writer w[N_THREADS];
    uint64_t want[N_CPUS] = { 0 };
    uint64_t periods = 0, sum_last = 0;

    for (int i = 0; i < N_THREADS; i++) {
        w[i].v = v;
        w[i].id = i;
        want[i % N_CPUS] += (uint64_t)(i + 1) * ITERS;
        want[1] += ITERS;
        w[i].thread = g_thread_new("writer", writer, &w[i]);
    }
    if (close_periods) {
        /* the migration thread closes periods while vCPUs write */
        for (unsigned k = 0; k < 200; k++) {
            predlog_vcpu_dirty_end_period(v, 0.001);
            sum_last += stats(v, 0).last;
            periods++;
            g_thread_yield();
        }
    }
    for (int i = 0; i < N_THREADS; i++) {
        g_thread_join(w[i].thread);
    }
    predlog_vcpu_dirty_end_period(v, 1);
    sum_last += stats(v, 0).last;

    for (int cpu = 0; cpu < N_CPUS; cpu++) {
        g_assert_cmpuint(stats(v, cpu).pages, ==, want[cpu]);
    }
    g_assert_cmpuint(stats(v, -1).pages, ==, (uint64_t)N_THREADS * ITERS);
    /* no page counted twice or lost at a period boundary */
    g_assert_cmpuint(sum_last, ==, want[0]);
    if (!close_periods) {
        g_assert_cmpuint(stats(v, 0).last, ==, want[0]);
    }
    (void)periods;
    predlog_vcpu_dirty_free(v);
}

static void test_threads(void)
{
    run_writers(false);
}

static void test_threads_with_periods(void)
{
    run_writers(true);
}

/* ------------------------------------------------------------------ */
/* KVM dirty ring: (slot, offset) -> target pages                      */
/* ------------------------------------------------------------------ */

#define GIB     (1ull << 30)

static bool conv(uint64_t ram_start, uint64_t slot_bytes, uint64_t offset,
                 unsigned hbits, unsigned tbits, uint64_t *first,
                 uint64_t *n)
{
    *first = 0xdead;
    *n = 0xbeef;
    return predlog_vcpu_gfn_to_pages(ram_start, slot_bytes, offset, hbits,
                                     tbits, first, n);
}

static void test_gfn_4k(void)
{
    uint64_t first, n;

    /* a 2 GiB slot at ram_addr 4 GiB, 4 KiB host and target pages */
    g_assert_true(conv(4 * GIB, 2 * GIB, 0, 12, 12, &first, &n));
    g_assert_cmpuint(first, ==, 4 * GIB / 4096);
    g_assert_cmpuint(n, ==, 1);
    g_assert_true(conv(4 * GIB, 2 * GIB, 5, 12, 12, &first, &n));
    g_assert_cmpuint(first, ==, 4 * GIB / 4096 + 5);
    g_assert_cmpuint(n, ==, 1);
    /* the last page of the slot, and the first one beyond it */
    g_assert_true(conv(4 * GIB, 2 * GIB, 2 * GIB / 4096 - 1, 12, 12,
                       &first, &n));
    g_assert_cmpuint(first, ==, 6 * GIB / 4096 - 1);
    g_assert_false(conv(4 * GIB, 2 * GIB, 2 * GIB / 4096, 12, 12,
                        &first, &n));
    g_assert_false(conv(4 * GIB, 2 * GIB, UINT64_MAX, 12, 12, &first, &n));
    /* an empty slot, or one smaller than a page */
    g_assert_false(conv(0, 0, 0, 12, 12, &first, &n));
    g_assert_false(conv(0, 4095, 0, 12, 12, &first, &n));
}

static void test_gfn_64k_host(void)
{
    uint64_t first, n;

    /* 64 KiB host pages (e.g. ppc64, arm64), 4 KiB target pages */
    g_assert_true(conv(GIB, GIB, 3, 16, 12, &first, &n));
    g_assert_cmpuint(first, ==, GIB / 4096 + 3 * 16);
    g_assert_cmpuint(n, ==, 16);
    g_assert_true(conv(GIB, GIB, GIB / 65536 - 1, 16, 12, &first, &n));
    g_assert_cmpuint(first + n, ==, 2 * GIB / 4096);
    g_assert_false(conv(GIB, GIB, GIB / 65536, 16, 12, &first, &n));

    /* a slot that is not a whole number of host pages: only whole ones */
    g_assert_true(conv(0, 3 * 65536 + 100, 2, 16, 12, &first, &n));
    g_assert_cmpuint(first, ==, 32);
    g_assert_false(conv(0, 3 * 65536 + 100, 3, 16, 12, &first, &n));

    /* a slot not aligned to target pages: one more target page */
    g_assert_true(conv(2048, GIB, 0, 12, 12, &first, &n));
    g_assert_cmpuint(first, ==, 0);
    g_assert_cmpuint(n, ==, 2);
    g_assert_true(conv(2048, GIB, 1, 16, 12, &first, &n));
    g_assert_cmpuint(first, ==, 16);
    g_assert_cmpuint(n, ==, 17);
}

static void test_gfn_bad(void)
{
    uint64_t first, n;

    /* host pages smaller than target pages, or absurd page sizes */
    g_assert_false(conv(0, GIB, 0, 12, 16, &first, &n));
    g_assert_false(conv(0, UINT64_MAX, 0, 64, 12, &first, &n));
    g_assert_false(conv(0, UINT64_MAX, 0, 200, 12, &first, &n));
    g_assert_false(predlog_vcpu_gfn_to_pages(0, GIB, 0, 12, 12, NULL, &n));
    g_assert_false(predlog_vcpu_gfn_to_pages(0, GIB, 0, 12, 12, &first,
                                             NULL));

    /* offset << host_page_bits would wrap */
    g_assert_false(conv(0, UINT64_MAX, (1ull << 52), 12, 12, &first, &n));
    g_assert_false(conv(0, UINT64_MAX, UINT64_MAX >> 4, 16, 12, &first,
                        &n));
    /* the largest offset that does not wrap is fine */
    g_assert_true(conv(0, UINT64_MAX, (1ull << 52) - 2, 12, 12, &first,
                       &n));
    g_assert_cmpuint(first, ==, (1ull << 52) - 2);

    /* ram_start + offset, or its last byte, would wrap */
    g_assert_true(conv(UINT64_MAX - 4095, 4096, 0, 12, 12, &first, &n));
    g_assert_cmpuint(first, ==, (1ull << 52) - 1);
    g_assert_cmpuint(n, ==, 1);
    g_assert_false(conv(UINT64_MAX - 4094, 4096, 0, 12, 12, &first, &n));
    g_assert_false(conv(UINT64_MAX - GIB + 1, 2 * GIB, GIB / 4096, 12, 12,
                        &first, &n));
    g_assert_false(conv(UINT64_MAX, 4096, 0, 12, 12, &first, &n));

    /* byte-sized target pages (no real target, but the arithmetic holds) */
    g_assert_true(conv(10, 4096, 0, 12, 0, &first, &n));
    g_assert_cmpuint(first, ==, 10);
    g_assert_cmpuint(n, ==, 4096);
}

/*
 * A synthetic reaping pass, as kvm_dirty_ring_reap_one() would hand it
 * over: entries of (vCPU, slot, offset) with two slots, one of which
 * shrank after some entries were written.  Stale entries are refused and
 * attributed to nobody; the others land on the right vCPU and pages.
 */
typedef struct Slot {
    uint64_t ram_start, bytes;
} Slot;

typedef struct Entry {
    int cpu;
    unsigned slot;
    uint64_t offset;
} Entry;

static void test_dirty_ring_reap(void)
{
    const Slot slots[] = {
        { 0, 512 * 1024 * 1024 },              /* low RAM */
        { 4 * GIB, 64 * 1024 },                /* shrank from 1 GiB */
    };
    const Entry ring[] = {
        { 0, 0, 0 }, { 0, 0, 1 }, { 1, 0, 1 }, { 1, 1, 15 },
        { 1, 1, 16 }, { 2, 1, 1000 }, { 2, 0, 131071 }, { 2, 0, 131072 },
        { 7, 0, 9 },
    };
    PredlogVcpuDirty *v = predlog_vcpu_dirty_new(4);
    uint64_t pages[4] = { 0 }, refused = 0, unattributed = 0;
    uint64_t last_first = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS(ring); i++) {
        const Slot *s = &slots[ring[i].slot];
        uint64_t first, n;

        if (!predlog_vcpu_gfn_to_pages(s->ram_start, s->bytes,
                                       ring[i].offset, 12, 12, &first, &n)) {
            refused++;
            continue;
        }
        g_assert_cmpuint(first, ==, s->ram_start / 4096 + ring[i].offset);
        last_first = first;
        predlog_vcpu_dirty_note(v, ring[i].cpu, n);
        if (ring[i].cpu < 4) {
            pages[ring[i].cpu] += n;
        } else {
            unattributed += n;
        }
    }
    predlog_vcpu_dirty_end_period(v, 0.1);
    /* (1, 1, 16), (2, 1, 1000), (2, 0, 131072) are beyond their slots */
    g_assert_cmpuint(refused, ==, 3);
    g_assert_cmpuint(last_first, ==, 9);
    g_assert_cmpuint(stats(v, 0).pages, ==, 2);
    g_assert_cmpuint(stats(v, 1).pages, ==, 2);
    g_assert_cmpuint(stats(v, 2).pages, ==, 1);
    g_assert_cmpuint(stats(v, 3).pages, ==, 0);
    for (int cpu = 0; cpu < 4; cpu++) {
        g_assert_cmpuint(stats(v, cpu).pages, ==, pages[cpu]);
    }
    g_assert_cmpuint(stats(v, -1).pages, ==, unattributed);
    g_assert_cmpuint(unattributed, ==, 1);
    g_assert_cmpfloat_with_epsilon(stats(v, 1).rate, 20, EPS);
    predlog_vcpu_dirty_free(v);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/predlog-vcpu/new-args", test_new_args);
    g_test_add_func("/predlog-vcpu/counts-and-rates", test_counts_and_rates);
    g_test_add_func("/predlog-vcpu/ewma-seed", test_ewma_seed);
    g_test_add_func("/predlog-vcpu/out-of-range", test_out_of_range);
    g_test_add_func("/predlog-vcpu/threads", test_threads);
    g_test_add_func("/predlog-vcpu/threads-with-periods",
                    test_threads_with_periods);
    g_test_add_func("/predlog-vcpu/gfn/4k", test_gfn_4k);
    g_test_add_func("/predlog-vcpu/gfn/64k-host", test_gfn_64k_host);
    g_test_add_func("/predlog-vcpu/gfn/bad", test_gfn_bad);
    g_test_add_func("/predlog-vcpu/gfn/dirty-ring-reap",
                    test_dirty_ring_reap);
    return g_test_run();
}
