/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: a GLib thread that runs a recorder's background ageing
 *
 * The thread sleeps on a condition of its own, with a mutex of its own,
 * not on the owner's lock: predlog_worker_wake() is called with the
 * owner's lock held and must not wait for anything.  A wake that comes
 * while the thread is between a step and its sleep is not lost: the
 * thread sleeps only while no wake is pending.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "worker.h"

struct PredlogWorker {
    GMutex *lock;               /* the owner's */
    uint64_t (*now_ns)(void *opaque);
    void *opaque;
    PredlogRecorder *rec;
    GThread *thread;

    GMutex mutex;               /* guards the fields below */
    GCond cond;                 /* wakes the thread; and drain waiters */
    bool woken;
    bool sleeping;              /* in g_cond_wait(), for want of work */
    bool idle;                  /* found no work since the last wake */
    bool stop;
    uint64_t steps;

    /* how long the worker holds the owner's lock (its own thread only) */
    uint64_t locked_at;
    uint64_t hold_max_ns;
    uint64_t holds_over_20us;
};

/* Tries at the owner's lock before blocking on it (worker_lock()). */
#define WORKER_LOCK_SPINS   200

static uint64_t mono_ns(void)
{
    return (uint64_t)g_get_monotonic_time() * 1000;
}

static void worker_lock(void *opaque)
{
    PredlogWorker *w = opaque;

    /*
     * Spin a while before blocking: a thread blocked on the lock makes
     * the log call that releases it wake it, a system call on the log
     * path, and log calls hold the lock for about a microsecond.
     */
    for (unsigned i = 0; !g_mutex_trylock(w->lock); i++) {
        if (i == WORKER_LOCK_SPINS) {
            g_mutex_lock(w->lock);
            break;
        }
        g_thread_yield();
    }
    w->locked_at = mono_ns();
}

static void worker_unlock(void *opaque)
{
    PredlogWorker *w = opaque;
    uint64_t held = mono_ns() - w->locked_at;

    /* read by predlog_worker_get_stats() under the owner's lock */
    w->hold_max_ns = MAX(w->hold_max_ns, held);
    w->holds_over_20us += held > 20000;
    g_mutex_unlock(w->lock);
}

static uint64_t worker_now(void *opaque)
{
    PredlogWorker *w = opaque;

    return w->now_ns ? w->now_ns(w->opaque) : mono_ns();
}

static gpointer worker_thread(gpointer opaque)
{
    PredlogWorker *w = opaque;
    const PredlogWorkerOps ops = {
        .lock = worker_lock,
        .unlock = worker_unlock,
        .now_ns = worker_now,
        .opaque = w,
    };

    g_mutex_lock(&w->mutex);
    while (!w->stop) {
        w->woken = false;
        g_mutex_unlock(&w->mutex);
        while (predlog_recorder_work_step(w->rec, &ops)) {
            __atomic_fetch_add(&w->steps, 1, __ATOMIC_RELAXED);
        }
        g_mutex_lock(&w->mutex);
        if (!w->woken) {
            w->idle = true;
            g_cond_broadcast(&w->cond);
            w->sleeping = true;
            while (!w->woken && !w->stop) {
                g_cond_wait(&w->cond, &w->mutex);
            }
            w->sleeping = false;
        }
    }
    g_mutex_unlock(&w->mutex);
    return NULL;
}

PredlogWorker *predlog_worker_new(GMutex *lock,
                                  uint64_t (*now_ns)(void *opaque),
                                  void *opaque)
{
    PredlogWorker *w = g_new0(PredlogWorker, 1);

    w->lock = lock;
    w->now_ns = now_ns;
    w->opaque = opaque;
    g_mutex_init(&w->mutex);
    g_cond_init(&w->cond);
    return w;
}

void predlog_worker_start(PredlogWorker *w, PredlogRecorder *rec)
{
    g_assert(!w->thread);
    w->rec = rec;
    w->thread = g_thread_new("predlog-worker", worker_thread, w);
}

void predlog_worker_wake(void *worker)
{
    PredlogWorker *w = worker;

    g_mutex_lock(&w->mutex);
    w->woken = true;
    w->idle = false;
    /*
     * Only a sleeping thread needs the signal: a running one sees woken
     * before it sleeps.  GLib's GCond makes a futex call on every
     * broadcast, waiters or not, and this runs in the log call, which
     * should make no system call it can avoid (a drain waiter needs no
     * signal for idle going false).
     */
    if (w->sleeping) {
        g_cond_broadcast(&w->cond);
    }
    g_mutex_unlock(&w->mutex);
}

void predlog_worker_drain(PredlogWorker *w)
{
    bool pending;

    if (!w->thread) {
        return;
    }
    do {
        g_mutex_lock(&w->mutex);
        while (!w->idle) {
            g_cond_wait(&w->cond, &w->mutex);
        }
        g_mutex_unlock(&w->mutex);
        g_mutex_lock(w->lock);
        pending = predlog_recorder_work_pending(w->rec);
        g_mutex_unlock(w->lock);
        if (pending) {
            predlog_worker_wake(w);
        }
    } while (pending);
}

uint64_t predlog_worker_steps(PredlogWorker *w)
{
    return __atomic_load_n(&w->steps, __ATOMIC_RELAXED);
}

void predlog_worker_get_hold(PredlogWorker *w, uint64_t *max_ns,
                             uint64_t *over_20us)
{
    *max_ns = w->hold_max_ns;
    *over_20us = w->holds_over_20us;
}

void predlog_worker_free(PredlogWorker *w)
{
    if (!w) {
        return;
    }
    if (w->thread) {
        g_mutex_lock(&w->mutex);
        w->stop = true;
        g_cond_broadcast(&w->cond);
        g_mutex_unlock(&w->mutex);
        g_thread_join(w->thread);
    }
    g_cond_clear(&w->cond);
    g_mutex_clear(&w->mutex);
    g_free(w);
}
