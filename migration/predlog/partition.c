/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the partition map of one RAMBlock (partition.h)
 *
 * The map is recomputed from the cells' classes at every update rather
 * than edited in place: the cut is a pure function of the classes, so a
 * map never depends on the order in which changes came, and the
 * hysteresis that keeps it stable lives in one place, the classes.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"

#define PARTITION_ERROR     g_quark_from_static_string("predlog-partition")
#define DWELL_MAX           1000u
#define BRIDGE_MAX          1024u

struct PredlogPartitionMap {
    PredlogPartitionConfig cfg;
    uint64_t npages;
    uint64_t ncells;
    uint8_t *hot;               /* per cell: its class */
    uint8_t *eff_hot;           /* per cell: hot or in a bridged gap */
    uint16_t *pending;          /* per cell: updates the other class held */
    double *cell_sum;           /* per cell: heat summed over its pages */
    uint64_t win_pages;         /* a fault window: cell << win_shift */
    unsigned win_shift;
    uint8_t *win_faults;        /* per window: faults served in it */
    GArray *parts;              /* PredlogPartition, offset order */
    GArray *next;               /* scratch for the next cut */
    PredlogPartitionStats stats;
};

void predlog_partition_config_default(PredlogPartitionConfig *cfg)
{
    cfg->cell_pages = 16;
    cfg->max_hot_pages = 256;
    cfg->max_pages = 16384;
    cfg->hot_on = 0.5;
    cfg->hot_off = 0.2;
    cfg->dwell = 2;
    cfg->bridge_cells = 1;
}

bool predlog_partition_config_check(const PredlogPartitionConfig *cfg,
                                    GError **errp)
{
    if (!cfg->cell_pages) {
        g_set_error(errp, PARTITION_ERROR, 0,
                    "partition cell of 0 pages: use 1 or more");
        return false;
    }
    if (cfg->max_hot_pages < cfg->cell_pages ||
        cfg->max_pages < cfg->cell_pages) {
        g_set_error(errp, PARTITION_ERROR, 0,
                    "largest partition (hot %" G_GUINT64_FORMAT ", cold %"
                    G_GUINT64_FORMAT " pages) below the cell of %"
                    G_GUINT64_FORMAT " pages: raise it",
                    cfg->max_hot_pages, cfg->max_pages, cfg->cell_pages);
        return false;
    }
    if (!isfinite(cfg->hot_on) || !isfinite(cfg->hot_off) ||
        cfg->hot_off < 0 || cfg->hot_off >= cfg->hot_on) {
        g_set_error(errp, PARTITION_ERROR, 0,
                    "heat thresholds off %g, on %g: need 0 <= off < on",
                    cfg->hot_off, cfg->hot_on);
        return false;
    }
    if (cfg->dwell < 1 || cfg->dwell > DWELL_MAX) {
        g_set_error(errp, PARTITION_ERROR, 0,
                    "dwell of %u updates: use 1 to %u", cfg->dwell,
                    DWELL_MAX);
        return false;
    }
    if (cfg->bridge_cells > BRIDGE_MAX) {
        g_set_error(errp, PARTITION_ERROR, 0,
                    "bridge of %u cells: use 0 to %u", cfg->bridge_cells,
                    BRIDGE_MAX);
        return false;
    }
    return true;
}

/* A limit in pages as whole cells (at least one). */
static uint64_t limit_pages(const PredlogPartitionMap *m, uint64_t limit)
{
    return MAX(limit / m->cfg.cell_pages, 1) * m->cfg.cell_pages;
}

static uint64_t cell_len(const PredlogPartitionMap *m, uint64_t c)
{
    uint64_t start = c * m->cfg.cell_pages;

    return MIN(m->cfg.cell_pages, m->npages - start);
}

/* Hot cells, and cold gaps of at most bridge_cells between hot runs. */
static void mark_effective(PredlogPartitionMap *m)
{
    uint64_t c = 0;

    memcpy(m->eff_hot, m->hot, m->ncells);
    while (c < m->ncells) {
        uint64_t end = c;

        if (m->hot[c]) {
            c++;
            continue;
        }
        while (end < m->ncells && !m->hot[end]) {
            end++;
        }
        /* a gap with hot cells on both sides */
        if (c > 0 && end < m->ncells && end - c <= m->cfg.bridge_cells) {
            memset(m->eff_hot + c, 1, end - c);
        }
        c = end;
    }
}

/* The boundaries (starts but 0) in @a and not in @b. */
static uint64_t boundaries_only_in(GArray *a, GArray *b)
{
    guint i = 1, j = 1;
    uint64_t n = 0;

    while (i < a->len) {
        uint64_t x = g_array_index(a, PredlogPartition, i).start;

        while (j < b->len && g_array_index(b, PredlogPartition, j).start < x) {
            j++;
        }
        if (j >= b->len || g_array_index(b, PredlogPartition, j).start != x) {
            n++;
        }
        i++;
    }
    return n;
}

/* Cut the block from the cells' classes into m->next, then swap. */
static void cut(PredlogPartitionMap *m)
{
    uint64_t c = 0;
    GArray *old;

    mark_effective(m);
    g_array_set_size(m->next, 0);
    m->stats.hot_partitions = 0;
    m->stats.hot_pages = 0;
    while (c < m->ncells) {
        bool hot = m->eff_hot[c];
        uint64_t end = c, limit;

        while (end < m->ncells && m->eff_hot[end] == hot) {
            end++;
        }
        limit = limit_pages(m, hot ? m->cfg.max_hot_pages : m->cfg.max_pages)
                / m->cfg.cell_pages;
        /*
         * Pieces from the run's start: a run that keeps its start keeps
         * its boundaries when it grows or shrinks at the other end.
         */
        for (uint64_t p = c; p < end; p += limit) {
            uint64_t q = MIN(p + limit, end);
            PredlogPartition part = {
                .start = p * m->cfg.cell_pages,
                .hot = hot,
            };
            double sum = 0;

            for (uint64_t k = p; k < q; k++) {
                part.npages += cell_len(m, k);
                sum += m->cell_sum[k];
            }
            part.heat = sum / part.npages;
            g_array_append_val(m->next, part);
            if (hot) {
                m->stats.hot_partitions++;
                m->stats.hot_pages += part.npages;
            }
        }
        c = end;
    }
    if (m->stats.updates) {
        m->stats.splits += boundaries_only_in(m->next, m->parts);
        m->stats.merges += boundaries_only_in(m->parts, m->next);
    }
    old = m->parts;
    m->parts = m->next;
    m->next = old;
    m->stats.partitions = m->parts->len;
}

PredlogPartitionMap *predlog_partition_map_new(uint64_t npages,
                                               const PredlogPartitionConfig
                                               *cfg, GError **errp)
{
    PredlogPartitionMap *m;

    if (!predlog_partition_config_check(cfg, errp)) {
        return NULL;
    }
    if (!npages) {
        g_set_error(errp, PARTITION_ERROR, 0, "a block of 0 pages");
        return NULL;
    }
    m = g_new0(PredlogPartitionMap, 1);
    m->cfg = *cfg;
    m->npages = npages;
    m->ncells = (npages + cfg->cell_pages - 1) / cfg->cell_pages;
    m->hot = g_new0(uint8_t, m->ncells);
    m->eff_hot = g_new0(uint8_t, m->ncells);
    m->pending = g_new0(uint16_t, m->ncells);
    m->cell_sum = g_new0(double, m->ncells);
    /* the largest power-of-two multiple of the cell a hot partition holds */
    while ((cfg->cell_pages << (m->win_shift + 1)) <= cfg->max_hot_pages &&
           m->win_shift < 16) {
        m->win_shift++;
    }
    m->win_pages = cfg->cell_pages << m->win_shift;
    m->win_faults = g_new0(uint8_t, (npages + m->win_pages - 1) /
                                    m->win_pages);
    m->parts = g_array_new(false, false, sizeof(PredlogPartition));
    m->next = g_array_new(false, false, sizeof(PredlogPartition));
    cut(m);
    return m;
}

void predlog_partition_map_free(PredlogPartitionMap *m)
{
    if (!m) {
        return;
    }
    g_free(m->hot);
    g_free(m->eff_hot);
    g_free(m->pending);
    g_free(m->cell_sum);
    g_free(m->win_faults);
    g_array_free(m->parts, true);
    g_array_free(m->next, true);
    g_free(m);
}

void predlog_partition_update(PredlogPartitionMap *m, const float *heat)
{
    for (uint64_t c = 0; c < m->ncells; c++) {
        uint64_t first = c * m->cfg.cell_pages, n = cell_len(m, c);
        double sum = 0, mean;
        uint8_t want;

        for (uint64_t i = first; i < first + n; i++) {
            float h = heat[i];

            /* isfinite() and > 0 both fail for NaN */
            sum += isfinite(h) && h > 0 ? h : 0;
        }
        m->cell_sum[c] = sum;
        mean = sum / n;
        want = mean >= m->cfg.hot_on ? 1 :
               mean < m->cfg.hot_off ? 0 : m->hot[c];
        if (want == m->hot[c]) {
            m->pending[c] = 0;
        } else if (++m->pending[c] >= m->cfg.dwell) {
            m->hot[c] = want;
            m->pending[c] = 0;
        }
    }
    m->stats.updates++;
    cut(m);
}

uint64_t predlog_partition_npages(const PredlogPartitionMap *m)
{
    return m->npages;
}

unsigned predlog_partition_count(const PredlogPartitionMap *m)
{
    return m->parts->len;
}

const PredlogPartition *predlog_partition_get(const PredlogPartitionMap *m,
                                              unsigned i)
{
    return i < m->parts->len ?
           &g_array_index(m->parts, PredlogPartition, i) : NULL;
}

int predlog_partition_find(const PredlogPartitionMap *m, uint64_t page)
{
    unsigned lo = 0, hi = m->parts->len;

    if (page >= m->npages) {
        return -1;
    }
    /* the last partition starting at or before @page */
    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;

        if (g_array_index(m->parts, PredlogPartition, mid).start <= page) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int predlog_partition_fault(PredlogPartitionMap *m, uint64_t page,
                            uint64_t *start, uint64_t *npages)
{
    int i = predlog_partition_find(m, page);
    const PredlogPartition *p;
    uint64_t w, len, a, e;
    uint8_t *faults;

    if (i < 0) {
        return -1;
    }
    p = predlog_partition_get(m, i);
    faults = &m->win_faults[page / m->win_pages];
    if (p->hot) {
        *start = p->start;
        *npages = p->npages;
    } else {
        /* each fault served in the window doubles the next one's copy */
        w = MIN(*faults, m->win_shift);
        len = m->cfg.cell_pages << w;
        a = MAX(page - page % len, p->start);
        e = MIN(page - page % len + len, p->start + p->npages);
        *start = a;
        *npages = e - a;
    }
    if (*faults < UINT8_MAX) {
        (*faults)++;
    }
    return i;
}

static int cmp_save(const void *a, const void *b, void *opaque)
{
    const PredlogPartitionMap *m = opaque;
    const PredlogPartition *x = predlog_partition_get(m, *(const unsigned *)a);
    const PredlogPartition *y = predlog_partition_get(m, *(const unsigned *)b);

    if (x->hot != y->hot) {
        return x->hot ? -1 : 1;
    }
    if (x->hot && x->heat != y->heat) {
        return x->heat > y->heat ? -1 : 1;
    }
    return x->start < y->start ? -1 : x->start > y->start;
}

unsigned predlog_partition_save_order(const PredlogPartitionMap *m,
                                      unsigned *order)
{
    for (unsigned i = 0; i < m->parts->len; i++) {
        order[i] = i;
    }
    g_qsort_with_data(order, m->parts->len, sizeof(*order), cmp_save,
                      (gpointer)m);
    return m->parts->len;
}

void predlog_partition_get_stats(const PredlogPartitionMap *m,
                                 PredlogPartitionStats *stats)
{
    *stats = m->stats;
}

char *predlog_partition_check(const PredlogPartitionMap *m)
{
    uint64_t pos = 0, hot_pages = 0;
    unsigned hot_parts = 0;

    for (unsigned i = 0; i < m->parts->len; i++) {
        const PredlogPartition *p = predlog_partition_get(m, i);
        uint64_t limit = limit_pages(m, p->hot ? m->cfg.max_hot_pages :
                                               m->cfg.max_pages);

        if (p->start != pos) {
            return g_strdup_printf("partition %u starts at %" G_GUINT64_FORMAT
                                   ", expected %" G_GUINT64_FORMAT
                                   " (gap or overlap)", i, p->start, pos);
        }
        if (!p->npages || p->npages > limit ||
            p->start % m->cfg.cell_pages ||
            (p->npages < m->cfg.cell_pages &&
             p->start + p->npages != m->npages)) {
            return g_strdup_printf("partition %u: %" G_GUINT64_FORMAT
                                   " pages at %" G_GUINT64_FORMAT
                                   " breaks the size limits", i, p->npages,
                                   p->start);
        }
        for (uint64_t c = p->start / m->cfg.cell_pages;
             c * m->cfg.cell_pages < p->start + p->npages; c++) {
            if (m->eff_hot[c] != p->hot) {
                return g_strdup_printf("partition %u (%s) holds a %s cell %"
                                       G_GUINT64_FORMAT, i,
                                       p->hot ? "hot" : "cold",
                                       m->eff_hot[c] ? "hot" : "cold", c);
            }
        }
        if (p->hot) {
            hot_parts++;
            hot_pages += p->npages;
        }
        pos += p->npages;
    }
    if (pos != m->npages) {
        return g_strdup_printf("partitions end at %" G_GUINT64_FORMAT
                               ", the block at %" G_GUINT64_FORMAT, pos,
                               m->npages);
    }
    if (hot_parts != m->stats.hot_partitions ||
        hot_pages != m->stats.hot_pages ||
        m->parts->len != m->stats.partitions) {
        return g_strdup_printf("stats: %u partitions, %u hot (%"
                               G_GUINT64_FORMAT " pages); counted %u, %u (%"
                               G_GUINT64_FORMAT ")", m->stats.partitions,
                               m->stats.hot_partitions, m->stats.hot_pages,
                               m->parts->len, hot_parts, hot_pages);
    }
    return NULL;
}
