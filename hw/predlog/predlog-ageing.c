/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the device's ageing thread
 *
 * With a cold tier (compression=zstd), the recorder leaves compressing a
 * full fast-tier buffer to a worker (hw/predlog/core/recorder.h,
 * "Background ageing"), so that the thread that logs a packet, a block
 * request or a guest record never runs zstd.  This is that worker: one
 * QEMU thread per device, sleeping on a condition of s->lock, woken by
 * the recorder when it sealed a buffer or wants a spare.
 *
 * The thread touches nothing but the recorder, and only through
 * predlog_recorder_work_step(), which takes s->lock around what it
 * changes.  When the VM stops it is drained and paused, so that the
 * pool is complete and still while migration sends it (the final RAM
 * pass comes after the stop) or a snapshot saves it; it resumes with the
 * VM.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "predlog.h"
#include "trace.h"

/* Tries at s->lock before the thread blocks on it. */
#define PREDLOG_AGEING_LOCK_SPINS   200

static void predlog_ageing_lock(void *opaque)
{
    PredlogState *s = opaque;

    /*
     * Spin a while before blocking: a thread blocked on s->lock makes the
     * vCPU or I/O thread that releases it wake it, a system call in the
     * log path (over 10 us on the 2-vCPU machines this is tested on),
     * and log calls hold the lock for about a microsecond.
     */
    for (unsigned i = 0; qemu_mutex_trylock(&s->lock); i++) {
        if (i == PREDLOG_AGEING_LOCK_SPINS) {
            qemu_mutex_lock(&s->lock);
            return;
        }
        sched_yield();
    }
}

static void predlog_ageing_unlock(void *opaque)
{
    qemu_mutex_unlock(&((PredlogState *)opaque)->lock);
}

static uint64_t predlog_ageing_now(void *opaque)
{
    return get_clock();
}

static void *predlog_ageing_thread(void *opaque)
{
    PredlogState *s = opaque;
    const PredlogWorkerOps ops = {
        .lock = predlog_ageing_lock,
        .unlock = predlog_ageing_unlock,
        .now_ns = predlog_ageing_now,
        .opaque = s,
    };
    uint64_t steps = 0;

    qemu_mutex_lock(&s->lock);
    while (!s->ageing_stop) {
        if (!s->ageing_paused &&
            predlog_recorder_work_pending(s->recorder)) {
            qemu_mutex_unlock(&s->lock);
            steps += predlog_recorder_work_step(s->recorder, &ops);
            qemu_mutex_lock(&s->lock);
            continue;
        }
        if (steps) {
            trace_predlog_ageing_idle(steps);
            steps = 0;
        }
        s->ageing_idle = true;
        qemu_cond_broadcast(&s->ageing_idle_cond);
        qemu_cond_wait(&s->ageing_cond, &s->lock);
        s->ageing_idle = false;
    }
    s->ageing_idle = true;
    qemu_cond_broadcast(&s->ageing_idle_cond);
    qemu_mutex_unlock(&s->lock);
    return NULL;
}

void predlog_ageing_wake(void *opaque)
{
    PredlogState *s = opaque;

    /* called by the recorder with s->lock held: signal, never wait */
    qemu_cond_signal(&s->ageing_cond);
}

void predlog_ageing_init(PredlogState *s)
{
    qemu_cond_init(&s->ageing_cond);
    qemu_cond_init(&s->ageing_idle_cond);
    s->ageing_stop = false;
    s->ageing_paused = false;
    s->ageing_idle = false;
}

void predlog_ageing_start(PredlogState *s)
{
    s->ageing_running = true;
    qemu_thread_create(&s->ageing_thread, "predlog-ageing",
                       predlog_ageing_thread, s, QEMU_THREAD_JOINABLE);
}

void predlog_ageing_pause_locked(PredlogState *s, bool paused)
{
    if (!s->ageing_running) {
        return;
    }
    if (paused) {
        /* finish what is queued first: the pool leaves complete */
        while (!s->ageing_idle || predlog_recorder_work_pending(s->recorder)) {
            qemu_cond_signal(&s->ageing_cond);
            qemu_cond_wait(&s->ageing_idle_cond, &s->lock);
        }
    }
    s->ageing_paused = paused;
    if (!paused) {
        qemu_cond_signal(&s->ageing_cond);
    }
}

void predlog_ageing_stop(PredlogState *s)
{
    if (s->ageing_running) {
        qemu_mutex_lock(&s->lock);
        s->ageing_stop = true;
        qemu_cond_signal(&s->ageing_cond);
        qemu_mutex_unlock(&s->lock);
        qemu_thread_join(&s->ageing_thread);
        s->ageing_running = false;
    }
    qemu_cond_destroy(&s->ageing_cond);
    qemu_cond_destroy(&s->ageing_idle_cond);
}
