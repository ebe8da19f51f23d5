/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: per-page dirty history and hot-page prediction for migration
 *
 * The model is specified in history.h.  What this file adds is
 * how it stays cheap at every bitmap sync of a large guest:
 *
 *  - the pages dirtied in the open period are one bitmap in QEMU's layout
 *    (unsigned long words), so observe() ORs whole words;
 *  - end_period() walks the guest one bitmap word (64 pages) at a time
 *    and skips a word whose dirty bits are 0 and whose history bytes are
 *    all 0, which it knows from one "live" byte per word, without reading
 *    the 64 history bytes.  In the other words it shifts eight history
 *    bytes at once (one 64-bit operation, no branch), and counts only the
 *    dirtied pages, by their old pattern: how many pages had each pattern
 *    is already known (kept from the last period), so "seen" needs no
 *    per-page work.  Learning, scoring and the new pattern histogram are
 *    then done on 256 counts, not on pages;
 *  - the set predicted hot at the last sync needs no bitmap of its own:
 *    the pattern table only changes in end_period(), so at the next
 *    end_period() a page was predicted hot iff its (not yet shifted)
 *    pattern is in the hot-pattern set kept from the last one.  The one
 *    bit per page of the memory budget is the open period's dirty bitmap;
 *  - the number of pages per pattern is kept up to date, so select_hot()
 *    ranks 256 patterns instead of sorting pages and final_set() without
 *    a hot set is a sum over 256 patterns.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "qemu/predlog/forecast.h"

#define BPL             (sizeof(unsigned long) * CHAR_BIT)
#define N_PATTERNS      256u
/*
 * Independent histograms in end_period(), so that runs of pages with the
 * same pattern do not serialise on one counter.
 */
#define N_LANES         4u
#define DECAY           0.8
/* Keeps the page arrays' sizes far from overflowing size_t. */
#define NPAGES_MAX      ((uint64_t)1 << 48)

struct PredlogHistory {
    uint64_t npages;
    uint64_t nwords;            /* bitmap words covering npages */
    unsigned depth;
    uint8_t mask;               /* (1 << depth) - 1 */
    double hot_threshold;

    uint8_t *hist;              /* nwords * BPL bytes; padding stays 0 */
    uint8_t *live;              /* per word: some history byte != 0 */
    unsigned long *dirty;       /* pages dirtied in the open period */

    /* the learned table: decayed counts per pattern */
    double seen[N_PATTERNS];    /* pages with the pattern at a sync */
    double again[N_PATTERNS];   /* of those, dirtied by the next sync */
    double prob[N_PATTERNS];    /* P(dirtied next period | pattern) */

    /* from the last end_period(): patterns predicted hot, pages each */
    bool hot[N_PATTERNS];
    uint64_t count[N_PATTERNS];

    /* end_period() scratch, kept here rather than on the stack */
    uint64_t lanes[N_LANES][N_PATTERNS];

    PredlogForecastSet *rate;
    PredlogHistoryStats st;
};

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static void refresh_probabilities(PredlogHistory *h);

PredlogHistory *predlog_history_new(uint64_t npages, unsigned depth,
                                    double hot_threshold)
{
    PredlogHistory *h;

    if (npages == 0 || npages > NPAGES_MAX ||
        depth < PREDLOG_HISTORY_DEPTH_MIN ||
        depth > PREDLOG_HISTORY_DEPTH_MAX ||
        !(hot_threshold > 0 && hot_threshold <= 1)) {
        return NULL;
    }

    h = g_new0(PredlogHistory, 1);
    h->npages = npages;
    h->nwords = (npages + BPL - 1) / BPL;
    h->depth = depth;
    h->mask = (uint8_t)((1u << depth) - 1);
    h->hot_threshold = hot_threshold;
    h->hist = g_try_malloc0(h->nwords * BPL);
    h->live = g_try_malloc0(h->nwords);
    h->dirty = g_try_new0(unsigned long, h->nwords);
    h->rate = predlog_forecast_set_new();
    if (!h->hist || !h->live || !h->dirty || !h->rate) {
        predlog_history_free(h);
        return NULL;
    }
    h->count[0] = npages;
    refresh_probabilities(h);   /* nothing seen: the prior everywhere */
    return h;
}

void predlog_history_free(PredlogHistory *h)
{
    if (!h) {
        return;
    }
    g_free(h->hist);
    g_free(h->live);
    g_free(h->dirty);
    predlog_forecast_set_free(h->rate);
    g_free(h);
}

uint64_t predlog_history_npages(const PredlogHistory *h)
{
    return h ? h->npages : 0;
}

unsigned predlog_history_depth(const PredlogHistory *h)
{
    return h ? h->depth : 0;
}

/* ------------------------------------------------------------------ */
/* Observation                                                         */
/* ------------------------------------------------------------------ */

static inline unsigned long low_bits(unsigned n)
{
    return n >= BPL ? ~0UL : (1UL << n) - 1;
}

void predlog_history_observe(PredlogHistory *h, uint64_t first,
                             const unsigned long *dirty, uint64_t nbits)
{
    unsigned long *dst;
    uint64_t nfull;
    unsigned sh, rem;

    if (!h || !dirty || first >= h->npages || nbits == 0) {
        return;
    }
    nbits = MIN(nbits, h->npages - first);
    dst = h->dirty + first / BPL;
    sh = first % BPL;
    nfull = nbits / BPL;
    rem = nbits % BPL;

    if (sh == 0) {
        for (uint64_t k = 0; k < nfull; k++) {
            dst[k] |= dirty[k];
        }
        if (rem) {
            dst[nfull] |= dirty[nfull] & low_bits(rem);
        }
        return;
    }

    /* Source word k covers pages of destination words k and k + 1. */
    for (uint64_t k = 0; k < nfull; k++) {
        unsigned long s = dirty[k];

        dst[k] |= s << sh;
        dst[k + 1] |= s >> (BPL - sh);
    }
    if (rem) {
        unsigned long s = dirty[nfull] & low_bits(rem);

        dst[nfull] |= s << sh;
        if (sh + rem > BPL) {
            dst[nfull + 1] |= s >> (BPL - sh);
        }
    }
}

void predlog_history_observe_range(PredlogHistory *h, uint64_t first,
                                   uint64_t count)
{
    uint64_t end, w, wend;
    unsigned lo, hi;

    if (!h || first >= h->npages || count == 0) {
        return;
    }
    end = first + MIN(count, h->npages - first);    /* exclusive */
    w = first / BPL;
    wend = (end - 1) / BPL;
    lo = first % BPL;
    hi = (end - 1) % BPL + 1;                       /* bits in last word */

    if (w == wend) {
        h->dirty[w] |= low_bits(hi) & ~low_bits(lo);
        return;
    }
    h->dirty[w] |= ~low_bits(lo);
    for (w++; w < wend; w++) {
        h->dirty[w] = ~0UL;
    }
    h->dirty[wend] |= low_bits(hi);
}

/* ------------------------------------------------------------------ */
/* End of a period                                                     */
/* ------------------------------------------------------------------ */

static inline double pattern_p(const PredlogHistory *h, unsigned p)
{
    return h->prob[p];
}

/*
 * P(dirty | pattern) from the learned counts, with a Beta(1,1) prior.  A
 * pattern not seen yet backs off to its most recent periods: the longest
 * run of low bits some seen pattern shares with it, so that "dirtied in
 * the last period, never seen before that" borrows from every pattern
 * dirtied in the last period instead of getting the bare prior (0.5,
 * which a hot threshold of 50% would count as hot).  With nothing seen
 * at all, the prior.
 */
static void refresh_probabilities(PredlogHistory *h)
{
    double seen_k[N_PATTERNS], again_k[N_PATTERNS];
    bool done[N_PATTERNS] = { false };

    for (unsigned p = 0; p <= h->mask; p++) {
        if (h->seen[p] > 0) {
            h->prob[p] = (h->again[p] + 1.0) / (h->seen[p] + 2.0);
            done[p] = true;
        }
    }
    for (int k = (int)h->depth - 1; k >= 0; k--) {
        unsigned m = (1u << k) - 1;

        memset(seen_k, 0, sizeof(seen_k));
        memset(again_k, 0, sizeof(again_k));
        for (unsigned p = 0; p <= h->mask; p++) {
            seen_k[p & m] += h->seen[p];
            again_k[p & m] += h->again[p];
        }
        for (unsigned p = 0; p <= h->mask; p++) {
            if (!done[p] && seen_k[p & m] > 0) {
                h->prob[p] = (again_k[p & m] + 1.0) / (seen_k[p & m] + 2.0);
                done[p] = true;
            }
        }
    }
    for (unsigned p = 0; p <= h->mask; p++) {
        if (!done[p]) {
            h->prob[p] = 0.5;
        }
    }
}

#define BYTES_01        0x0101010101010101ull
#define BYTES_FE        0xfefefefefefefefeull

/* Eight bytes whose byte j, in memory order, is bit j of @b. */
static inline uint64_t spread_bits(unsigned b)
{
    static const uint32_t nibble[16] = {
        0x00000000, 0x00000001, 0x00000100, 0x00000101,
        0x00010000, 0x00010001, 0x00010100, 0x00010101,
        0x01000000, 0x01000001, 0x01000100, 0x01000101,
        0x01010000, 0x01010001, 0x01010100, 0x01010101,
    };
    uint64_t le = nibble[b & 15] | ((uint64_t)nibble[(b >> 4) & 15] << 32);

    return GUINT64_TO_LE(le);
}

/*
 * One word: count each dirtied page under its old pattern, in lane
 * (page % N_LANES), then shift the pages' history eight at a time
 * (without a branch: in a live word, that is faster than skipping the
 * quiet ones).  Returns whether a new history byte is != 0.
 */
static inline bool shift_word(PredlogHistory *h, uint8_t *hb,
                              unsigned long d)
{
    const uint64_t keep = BYTES_01 * h->mask;
    uint64_t acc = 0;

    for (unsigned long b = d; b; b &= b - 1) {
        unsigned j = __builtin_ctzl(b);

        h->lanes[j % N_LANES][hb[j]]++;
    }
    for (unsigned g = 0; g < BPL; g += 8, d >>= 8) {
        uint64_t old, nw, bits = spread_bits(d & 0xff);

        memcpy(&old, hb + g, sizeof(old));
        /* per byte: (old << 1 | dirty) & mask; no carry between bytes */
        nw = (((old << 1) & BYTES_FE) | bits) & keep;
        memcpy(hb + g, &nw, sizeof(nw));
        acc |= nw;
    }
    return acc != 0;
}

void predlog_history_end_period(PredlogHistory *h, double seconds)
{
    uint64_t again_now[N_PATTERNS], seen_now[N_PATTERNS];
    uint64_t dirtied = 0;
    uint64_t hits = 0, predicted = 0, redirtied = 0, redirtied_hot = 0;
    uint64_t hot_now = 0;

    if (!h) {
        return;
    }

    memset(h->lanes, 0, sizeof(h->lanes));
    for (uint64_t w = 0; w < h->nwords; w++) {
        unsigned long d = h->dirty[w];

        if (!d && !h->live[w]) {
            continue;       /* 64 clean pages with history 0 */
        }
        h->dirty[w] = 0;
        h->live[w] = shift_word(h, h->hist + w * BPL, d);
    }

    /*
     * The samples: every page had its pattern at the last sync (count[],
     * kept up to date), the lanes say how many of each were dirtied.
     */
    memcpy(seen_now, h->count, sizeof(seen_now));
    for (unsigned p = 0; p < N_PATTERNS; p++) {
        uint64_t n = 0;

        for (unsigned l = 0; l < N_LANES; l++) {
            n += h->lanes[l][p];
        }
        again_now[p] = n;
        dirtied += n;
    }

    /* Score the prediction of the last sync, then learn. */
    memset(h->count, 0, sizeof(h->count));
    for (unsigned p = 0; p <= h->mask; p++) {
        uint64_t again = again_now[p], stay = seen_now[p] - again;

        if (h->hot[p]) {
            predicted += stay + again;
            hits += again;
            if (p) {
                redirtied_hot += again;
            }
        }
        if (p) {
            redirtied += again;
        }
        h->seen[p] = DECAY * h->seen[p] + (double)(stay + again);
        h->again[p] = DECAY * h->again[p] + (double)again;
        h->count[(2 * p) & h->mask] += stay;
        h->count[(2 * p + 1) & h->mask] += again;
    }
    refresh_probabilities(h);
    for (unsigned p = 0; p <= h->mask; p++) {
        h->hot[p] = pattern_p(h, p) >= h->hot_threshold;
        hot_now += h->hot[p] ? h->count[p] : 0;
    }

    h->st.periods++;
    h->st.dirty_last = dirtied;
    h->st.hot_last = hot_now;
    h->st.hits += hits;
    h->st.predicted += predicted;
    h->st.redirtied += redirtied;
    h->st.redirtied_hot += redirtied_hot;
    h->st.hit_rate = h->st.predicted ?
        (double)h->st.hits / (double)h->st.predicted : 0;
    h->st.recall = h->st.redirtied ?
        (double)h->st.redirtied_hot / (double)h->st.redirtied : 0;

    if (isfinite(seconds) && seconds > 0) {
        h->st.dirty_rate = (double)dirtied / seconds;
        predlog_forecast_set_update(h->rate, h->st.dirty_rate);
        h->st.dirty_rate_forecast =
            predlog_forecast_set_predict(h->rate, 1).value;
    }
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

/* 1 - (1 - p)^periods; 0 for periods <= 0 or NaN. */
static double within(double p, double periods)
{
    if (!(periods > 0)) {
        return 0;
    }
    return 1.0 - pow(1.0 - p, periods);
}

double predlog_history_probability(const PredlogHistory *h, uint64_t page)
{
    if (!h || page >= h->npages) {
        return 0;
    }
    return pattern_p(h, h->hist[page]);
}

double predlog_history_probability_within(const PredlogHistory *h,
                                          uint64_t page, double periods)
{
    if (!h || page >= h->npages) {
        return 0;
    }
    return within(pattern_p(h, h->hist[page]), periods);
}

uint8_t predlog_history_pattern(const PredlogHistory *h, uint64_t page)
{
    if (!h || page >= h->npages) {
        return 0;
    }
    return h->hist[page];
}

typedef struct Ranked {
    double p;
    unsigned pattern;
} Ranked;

/* Highest probability first; equal ones: the larger pattern first. */
static int ranked_cmp(const void *a, const void *b)
{
    const Ranked *x = a, *y = b;

    if (x->p != y->p) {
        return x->p > y->p ? -1 : 1;
    }
    return x->pattern > y->pattern ? -1 : (x->pattern < y->pattern);
}

/* take[] values */
#define TAKE_NO         0
#define TAKE_ALL        1
#define TAKE_SOME       2   /* the last pattern taken, up to a quota */

uint64_t predlog_history_select_hot(const PredlogHistory *h,
                                    unsigned long *hot, double min_p,
                                    uint64_t max_pages)
{
    Ranked rank[N_PATTERNS];
    uint8_t take[N_PATTERNS] = { 0 };
    unsigned n = h ? h->mask + 1u : 0, partial = 0;
    uint64_t total = 0, quota = 0;

    if (!h || !hot) {
        return 0;
    }

    for (unsigned p = 0; p < n; p++) {
        rank[p].p = pattern_p(h, p);
        rank[p].pattern = p;
    }
    qsort(rank, n, sizeof(rank[0]), ranked_cmp);
    for (unsigned i = 0; i < n && total < max_pages; i++) {
        unsigned p = rank[i].pattern;
        uint64_t c = h->count[p];

        if (!(rank[i].p >= min_p)) {
            break;
        }
        if (c == 0) {
            continue;
        }
        if (c <= max_pages - total) {
            take[p] = TAKE_ALL;
            total += c;
        } else {
            take[p] = TAKE_SOME;
            partial = p;
            quota = max_pages - total;
            total = max_pages;
        }
    }

    for (uint64_t w = 0; w < h->nwords; w++) {
        const uint8_t *hb = h->hist + w * BPL;
        unsigned long bits = 0;

        if (!h->live[w] && take[0] == TAKE_NO) {
            hot[w] = 0;
            continue;
        }
        if (quota) {
            for (unsigned j = 0; j < BPL; j++) {
                unsigned t = take[hb[j]];

                if (t == TAKE_SOME) {
                    /* page order: the lowest pages of the last pattern */
                    if (--quota == 0) {
                        take[partial] = TAKE_NO;
                    }
                    t = TAKE_ALL;
                }
                bits |= (unsigned long)t << j;
            }
        } else {
            /* take[] is 0 or 1 now */
            for (unsigned j = 0; j < BPL; j++) {
                bits |= (unsigned long)take[hb[j]] << j;
            }
        }
        hot[w] = bits;
    }
    /* padding beyond npages has pattern 0: never hand it out */
    if (h->npages % BPL) {
        hot[h->nwords - 1] &= low_bits(h->npages % BPL);
    }
    return total;
}

double predlog_history_final_set(const PredlogHistory *h,
                                 const unsigned long *hot, uint64_t deferred,
                                 double periods)
{
    uint64_t left[N_PATTERNS];
    double sum = 0;

    if (!h) {
        return (double)deferred;
    }
    memcpy(left, h->count, sizeof(left));
    if (hot) {
        for (uint64_t w = 0; w < h->nwords; w++) {
            unsigned long bits = hot[w];

            if (w == h->nwords - 1 && h->npages % BPL) {
                bits &= low_bits(h->npages % BPL);
            }
            while (bits) {
                unsigned j = __builtin_ctzl(bits);

                left[h->hist[w * BPL + j]]--;
                bits &= bits - 1;
            }
        }
    }
    for (unsigned p = 0; p <= h->mask; p++) {
        if (left[p]) {
            sum += (double)left[p] * within(pattern_p(h, p), periods);
        }
    }
    return (double)deferred + sum;
}

void predlog_history_stats(const PredlogHistory *h, PredlogHistoryStats *out)
{
    if (!out) {
        return;
    }
    if (!h) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = h->st;
}
