/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Micro-benchmark: the cost per bitmap sync of the dirty-page history,
 * beside the work stock QEMU already does at that sync
 *
 * At every bitmap sync stock QEMU folds the dirty log of each RAMBlock
 * into the migration bitmap: cpu_physical_memory_sync_dirty_bitmap()
 * takes each non-zero word of the log with an atomic exchange, ORs it
 * into the migration bitmap and counts the pages that were not dirty
 * there yet.  predlog adds, for the same log, predlog_history_observe()
 * and predlog_history_end_period() (and the hot set, at most once per
 * sync: predlog_history_select_hot(), reported on its own).  Both run
 * in one process, in the same loop, on identical copies of the same
 * dirty log, freshly written before each timed call so that both start
 * with the log in the same cache state; which one goes first alternates.
 *
 * Workloads, for 1 GiB (262144 pages) and 4 GiB of 4 KiB pages, with 1%,
 * 10% and 50% of the pages dirty in each period:
 *
 *   scattered  80% of the dirty pages are a fixed hot set, 20% random;
 *              all of them scattered one by one over the guest (the
 *              worst case for the history: nearly every bitmap word has
 *              history after a few periods);
 *   clustered  the same shares, in runs of 64 aligned pages, as a guest
 *              that writes whole buffers dirties them.
 *
 * The baseline is only the part of stock QEMU's sync that, like predlog,
 * walks the bitmap; fetching the log (KVM_GET_DIRTY_LOG, the memory
 * listeners) comes on top in both cases and is measured by neither.
 * The migration bitmap is cleared after every sync, as if every dirty
 * page had been sent, so the baseline counts every page of the log.
 * Warm-up periods fill the history first (DEPTH periods and more); the
 * dirty logs are generated before any timing.  Reported: the median time
 * per sync of each side and their ratio.  This measures; it asserts
 * nothing.
 *
 * Usage: bench-history [--quick] [--periods N]
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "migration/predlog/history.h"

#define BPL             (sizeof(unsigned long) * CHAR_BIT)
#define DEPTH           8
#define HOT_THRESHOLD   0.9
#define N_LOGS          16          /* distinct dirty logs, cycled */
#define WARMUP          (2 * DEPTH)
#define HOT_SHARE       0.8
#define CLUSTER         64
#define SEED            0x5eed

typedef struct Workload {
    uint64_t npages;
    double fraction;
    bool clustered;
} Workload;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

static double median_us(uint64_t *v, unsigned n)
{
    qsort(v, n, sizeof(v[0]), cmp_u64);
    return (n % 2 ? (double)v[n / 2] :
            ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2) / 1000.0;
}

static void set_unit(unsigned long *bm, uint64_t unit, uint64_t size,
                     uint64_t npages)
{
    for (uint64_t p = unit * size; p < MIN((unit + 1) * size, npages); p++) {
        bm[p / BPL] |= 1UL << (p % BPL);
    }
}

/*
 * N_LOGS dirty logs: a fixed hot set of HOT_SHARE of the dirty units plus
 * random units (a unit is a page, or CLUSTER pages).
 */
static unsigned long **make_logs(const Workload *w, uint64_t nwords)
{
    uint64_t unit = w->clustered ? CLUSTER : 1;
    uint64_t nunits = (w->npages + unit - 1) / unit;
    uint64_t want = (uint64_t)(w->fraction * (double)nunits + 0.5);
    uint64_t nhot = (uint64_t)(HOT_SHARE * (double)want + 0.5);
    unsigned long **logs = g_new0(unsigned long *, N_LOGS);
    unsigned long *hot = g_new0(unsigned long, nwords);
    GRand *r = g_rand_new_with_seed(SEED);
    uint64_t *perm = g_new(uint64_t, nunits);

    /* the hot set: the first nhot units of a random permutation */
    for (uint64_t i = 0; i < nunits; i++) {
        perm[i] = i;
    }
    for (uint64_t i = 0; i < nhot; i++) {
        uint64_t j = i + (uint64_t)(g_rand_double(r) * (double)(nunits - i));
        uint64_t t = perm[i];

        perm[i] = perm[j];
        perm[j] = t;
        set_unit(hot, perm[i], unit, w->npages);
    }
    for (unsigned l = 0; l < N_LOGS; l++) {
        logs[l] = g_new(unsigned long, nwords);
        memcpy(logs[l], hot, nwords * sizeof(unsigned long));
        for (uint64_t i = nhot; i < want; i++) {
            uint64_t u = (uint64_t)(g_rand_double(r) * (double)nunits);

            set_unit(logs[l], u, unit, w->npages);
        }
    }
    g_free(perm);
    g_free(hot);
    g_rand_free(r);
    return logs;
}

/* What cpu_physical_memory_sync_dirty_bitmap() does for one block. */
static uint64_t stock_sync(unsigned long *dest, unsigned long *src,
                           uint64_t nwords)
{
    uint64_t num_dirty = 0;

    for (uint64_t k = 0; k < nwords; k++) {
        if (src[k]) {
            unsigned long temp = __atomic_exchange_n(&src[k], 0,
                                                     __ATOMIC_SEQ_CST);
            unsigned long new_dirty = ~dest[k];

            dest[k] |= temp;
            new_dirty &= temp;
            num_dirty += __builtin_popcountl(new_dirty);
        }
    }
    return num_dirty;
}

static void run(const Workload *w, unsigned periods)
{
    uint64_t nwords = (w->npages + BPL - 1) / BPL;
    size_t bytes = nwords * sizeof(unsigned long);
    unsigned long **logs = make_logs(w, nwords);
    unsigned long *log_a = g_new0(unsigned long, nwords);
    unsigned long *log_b = g_new0(unsigned long, nwords);
    unsigned long *mig = g_new0(unsigned long, nwords);
    unsigned long *hot = g_new0(unsigned long, nwords);
    uint64_t *t_stock = g_new(uint64_t, periods);
    uint64_t *t_pred = g_new(uint64_t, periods);
    uint64_t *t_sel = g_new(uint64_t, periods);
    PredlogHistory *h = predlog_history_new(w->npages, DEPTH, HOT_THRESHOLD);
    uint64_t budget = (uint64_t)(w->fraction * (double)w->npages);
    /* volatile: the baseline's result must not be optimised away */
    volatile uint64_t sink = 0;
    uint64_t chosen = 0;
    PredlogHistoryStats st;
    double stock_us, pred_us, sel_us;

    g_assert(h);
    for (unsigned i = 0; i < WARMUP + periods; i++) {
        const unsigned long *log = logs[i % N_LOGS];
        uint64_t d_stock = 0, d_pred = 0, t;

        memcpy(log_a, log, bytes);
        memcpy(log_b, log, bytes);
        memset(mig, 0, bytes);          /* every page was sent */
        for (unsigned side = 0; side < 2; side++) {
            t = now_ns();
            if ((side + i) % 2) {
                sink += stock_sync(mig, log_a, nwords);
                d_stock = now_ns() - t;
            } else {
                predlog_history_observe(h, 0, log_b, w->npages);
                predlog_history_end_period(h, 0.1);
                d_pred = now_ns() - t;
            }
        }
        t = now_ns();
        chosen = predlog_history_select_hot(h, hot, 0.5, budget);
        t = now_ns() - t;
        if (i >= WARMUP) {
            t_stock[i - WARMUP] = d_stock;
            t_pred[i - WARMUP] = d_pred;
            t_sel[i - WARMUP] = t;
        }
    }
    predlog_history_stats(h, &st);
    stock_us = median_us(t_stock, periods);
    pred_us = median_us(t_pred, periods);
    sel_us = median_us(t_sel, periods);
    printf("%5.0f MiB %8" PRIu64 " %5.1f%% %-9s %10.1f %10.1f %7.1fx"
           " %10.1f %6.3f %6.3f %8" PRIu64 "\n",
           (double)w->npages * 4096 / (1024 * 1024), w->npages,
           100 * w->fraction, w->clustered ? "clustered" : "scattered",
           stock_us, pred_us, stock_us > 0 ? pred_us / stock_us : 0,
           sel_us, st.hit_rate, st.recall, chosen);

    predlog_history_free(h);
    for (unsigned l = 0; l < N_LOGS; l++) {
        g_free(logs[l]);
    }
    g_free(logs);
    g_free(log_a);
    g_free(log_b);
    g_free(mig);
    g_free(hot);
    g_free(t_stock);
    g_free(t_pred);
    g_free(t_sel);
}

int main(int argc, char **argv)
{
    static const uint64_t sizes[] = { 262144, 1048576 };
    static const double fractions[] = { 0.01, 0.10, 0.50 };
    unsigned periods = 101;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            periods = 11;
        } else if (!strcmp(argv[i], "--periods") && i + 1 < argc) {
            int v = atoi(argv[++i]);

            periods = v > 0 ? (unsigned)v : 1;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--periods N]\n", argv[0]);
            return 2;
        }
    }

    printf("# bench-history: per bitmap sync, median of %u syncs after %u"
           " warm-up; depth %u\n", periods, WARMUP, DEPTH);
    printf("# stock = dirty log -> migration bitmap (xchg, OR, popcount);"
           " predlog = observe + end_period\n");
    printf("# select = select_hot (min_p 0.5, budget = dirty share),"
           " not in the ratio\n");
    printf("# hit, recall = the history's cumulative stats at the end;"
           " hot = pages select_hot chose\n");
    printf("%9s %8s %6s %-9s %10s %10s %8s %10s %6s %6s %8s\n",
           "guest", "pages", "dirty", "layout", "stock_us", "predlog_us",
           "ratio", "select_us", "hit", "recall", "hot");
    for (unsigned s = 0; s < G_N_ELEMENTS(sizes); s++) {
        for (unsigned f = 0; f < G_N_ELEMENTS(fractions); f++) {
            for (int c = 0; c <= 1; c++) {
                Workload w = {
                    .npages = sizes[s],
                    .fraction = fractions[f],
                    .clustered = c,
                };

                run(&w, periods);
                fflush(stdout);
            }
        }
    }
    return 0;
}
