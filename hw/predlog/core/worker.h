/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: a GLib thread that runs a recorder's background ageing
 *
 * For the core's standalone users (benchmarks, tests, tools): the device
 * runs the same predlog_recorder_work_step() on a QemuThread of its own
 * (hw/predlog/predlog-backend.c).  The owner serialises its calls into
 * the recorder with @lock, as always; the worker takes the same lock.
 *
 *   PredlogWorker *w = predlog_worker_new(&lock, now_fn, opaque);
 *   cfg.work_ready = predlog_worker_wake;
 *   cfg.work_opaque = w;
 *   rec = predlog_recorder_new(..., &cfg, ...);
 *   predlog_worker_start(w, rec);
 *   ... log, with the lock held ...
 *   predlog_worker_free(w);             stops and joins the thread
 *   predlog_recorder_free(rec);
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_WORKER_H
#define HW_PREDLOG_WORKER_H

#include <glib.h>
#include <stdint.h>
#include "recorder.h"

typedef struct PredlogWorker PredlogWorker;

/*
 * @now_ns is the clock the owner gives log calls (monotonic); NULL means
 * g_get_monotonic_time() in ns.
 */
PredlogWorker *predlog_worker_new(GMutex *lock,
                                  uint64_t (*now_ns)(void *opaque),
                                  void *opaque);
void predlog_worker_start(PredlogWorker *w, PredlogRecorder *rec);

/* PredlogRecorderConfig.work_ready: called with the lock held. */
void predlog_worker_wake(void *worker);

/*
 * Wait, without the lock held, until the worker has nothing left to do:
 * every sealed buffer aged, every wanted spare ready.
 */
void predlog_worker_drain(PredlogWorker *w);

/* Steps the worker has done (each one chunk or one spare). */
uint64_t predlog_worker_steps(PredlogWorker *w);

/*
 * With the owner's lock held: the longest time the worker held that
 * lock (what a log call may have waited for it), µs resolution, and how
 * often it held it over 20 µs.
 */
void predlog_worker_get_hold(PredlogWorker *w, uint64_t *max_ns,
                             uint64_t *over_20us);

/* Stop and join the thread (if started), then free. */
void predlog_worker_free(PredlogWorker *w);

#endif /* HW_PREDLOG_WORKER_H */
