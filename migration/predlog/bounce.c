/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the bounce pool of copy-on-write snapshots (bounce.h)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>

#include "bounce.h"

struct PredlogBouncePool {
    size_t page_size;
    uint8_t *mem;
    uint32_t *free;             /* stack of free slot indexes */
    uint64_t n_free;
    uint8_t *taken;             /* per slot */
    PredlogBounceStats stats;
};

PredlogBouncePool *predlog_bounce_new(uint64_t cap, size_t page_size)
{
    PredlogBouncePool *p;
    uint8_t *mem;

    if (!cap || cap > UINT32_MAX || !page_size ||
        cap > G_MAXSIZE / page_size) {
        return NULL;
    }
    mem = g_try_malloc(cap * page_size);
    if (!mem) {
        return NULL;
    }
    p = g_new0(PredlogBouncePool, 1);
    p->page_size = page_size;
    p->mem = mem;
    p->free = g_new(uint32_t, cap);
    p->taken = g_new0(uint8_t, cap);
    /* lowest slot on top: the first copies touch the first pages */
    for (uint64_t i = 0; i < cap; i++) {
        p->free[i] = cap - 1 - i;
    }
    p->n_free = cap;
    p->stats.cap = cap;
    return p;
}

void predlog_bounce_free(PredlogBouncePool *p)
{
    if (!p) {
        return;
    }
    g_free(p->mem);
    g_free(p->free);
    g_free(p->taken);
    g_free(p);
}

bool predlog_bounce_take(PredlogBouncePool *p, uint64_t n, uint32_t *slots)
{
    if (!n) {
        return false;           /* nothing asked: no copy, no refusal */
    }
    if (n > p->n_free) {
        p->stats.refused++;
        p->stats.refused_pages += n;
        return false;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t s = p->free[--p->n_free];

        p->taken[s] = 1;
        slots[i] = s;
    }
    p->stats.in_use += n;
    p->stats.taken += n;
    p->stats.peak = MAX(p->stats.peak, p->stats.in_use);
    return true;
}

void *predlog_bounce_page(PredlogBouncePool *p, uint32_t slot)
{
    return slot < p->stats.cap ? p->mem + (size_t)slot * p->page_size : NULL;
}

bool predlog_bounce_put(PredlogBouncePool *p, uint32_t slot)
{
    if (slot >= p->stats.cap || !p->taken[slot]) {
        return false;
    }
    p->taken[slot] = 0;
    p->free[p->n_free++] = slot;
    p->stats.in_use--;
    return true;
}

uint64_t predlog_bounce_free_slots(const PredlogBouncePool *p)
{
    return p->n_free;
}

void predlog_bounce_get_stats(const PredlogBouncePool *p,
                              PredlogBounceStats *stats)
{
    *stats = p->stats;
}
