/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the write-fault log of copy-on-write snapshots (faultlog.h)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <glib.h>

#include "faultlog.h"

struct PredlogFaultLog {
    uint64_t npages;
    uint32_t max_faults;
    GArray *cur;                /* PredlogFault, arrival order */
    GArray *prev;
    GHashTable *tids;           /* distinct tids of the current snapshot */
    PredlogFaultLogStats stats;
};

PredlogFaultLog *predlog_faultlog_new(uint64_t npages, uint32_t max_faults)
{
    PredlogFaultLog *log;

    if (!npages || !max_faults) {
        return NULL;
    }
    log = g_new0(PredlogFaultLog, 1);
    log->npages = npages;
    log->max_faults = max_faults;
    log->cur = g_array_new(false, false, sizeof(PredlogFault));
    log->prev = g_array_new(false, false, sizeof(PredlogFault));
    log->tids = g_hash_table_new(g_direct_hash, g_direct_equal);
    return log;
}

void predlog_faultlog_free(PredlogFaultLog *log)
{
    if (!log) {
        return;
    }
    g_array_free(log->cur, true);
    g_array_free(log->prev, true);
    g_hash_table_destroy(log->tids);
    g_free(log);
}

uint64_t predlog_faultlog_npages(const PredlogFaultLog *log)
{
    return log->npages;
}

void predlog_faultlog_begin(PredlogFaultLog *log)
{
    GArray *t = log->prev;

    log->prev = log->cur;
    log->cur = t;
    g_array_set_size(log->cur, 0);
    g_hash_table_remove_all(log->tids);
    log->stats.snapshots++;
}

bool predlog_faultlog_add(PredlogFaultLog *log, uint64_t page, uint64_t t_ns,
                          uint32_t tid)
{
    PredlogFault f = { .page = page, .t_ns = t_ns, .tid = tid };

    if (page >= log->npages) {
        log->stats.out_of_range++;
        return false;
    }
    log->stats.faults++;
    if (log->cur->len >= log->max_faults) {
        log->stats.dropped++;
        return false;
    }
    g_array_append_val(log->cur, f);
    /* tid 0 is "unknown": not a thread of its own */
    if (tid) {
        g_hash_table_add(log->tids, GUINT_TO_POINTER(tid));
    }
    return true;
}

static GArray *which_array(const PredlogFaultLog *log,
                           PredlogFaultSnapshot which)
{
    return which == PREDLOG_FAULTS_PREVIOUS ? log->prev : log->cur;
}

uint32_t predlog_faultlog_count(const PredlogFaultLog *log,
                                PredlogFaultSnapshot which)
{
    return which_array(log, which)->len;
}

const PredlogFault *predlog_faultlog_get(const PredlogFaultLog *log,
                                         PredlogFaultSnapshot which,
                                         uint32_t i)
{
    GArray *a = which_array(log, which);

    return i < a->len ? &g_array_index(a, PredlogFault, i) : NULL;
}

void predlog_faultlog_add_heat(const PredlogFaultLog *log, uint64_t first,
                               uint64_t n, float *heat, double weight,
                               uint64_t half_life_ns)
{
    for (guint i = 0; i < log->prev->len; i++) {
        const PredlogFault *f = &g_array_index(log->prev, PredlogFault, i);
        double w = weight;

        if (f->page < first || f->page - first >= n) {
            continue;
        }
        if (half_life_ns) {
            w *= exp2(-(double)f->t_ns / half_life_ns);
        }
        heat[f->page - first] += w;
    }
}

void predlog_faultlog_get_stats(const PredlogFaultLog *log,
                                PredlogFaultLogStats *stats)
{
    *stats = log->stats;
    stats->current = log->cur->len;
    stats->previous = log->prev->len;
    stats->threads = g_hash_table_size(log->tids);
}
