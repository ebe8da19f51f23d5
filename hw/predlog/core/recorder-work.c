/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: background ageing, the recorder's fast tier off the log path
 *
 * recorder.h ("Background ageing") says what the owner sees.  Choices
 * made here:
 *
 *  - One job per step, and a job is small: one chunk (at most about a
 *    cold segment of records) or zeroing one spare.  Only the expensive
 *    part of it (zstd, memset) runs without the owner's lock; storing a
 *    chunk (one encode of at most a cold segment into the cold tier)
 *    holds the lock for a few microseconds, so a log call that arrives
 *    meanwhile waits that long and no longer.
 *  - What the worker reads or writes without the lock is a buffer that
 *    nothing else touches while it does: a sealed buffer (pinned, so
 *    neither compaction nor eviction takes it, and never written again)
 *    or a spare in state ZEROING (pinned, not yet usable by the record
 *    path).  Adopt replaces the host state under the lock while a step
 *    may be between its two lock holds; it bumps the epoch, and a step
 *    of an older epoch throws its result away.
 *  - A sealed buffer whose records are all in the cold tier becomes the
 *    function's next spare if it has the function's buffer size and the
 *    function has none; otherwise it is freed, and a spare of the right
 *    size is allocated when one is wanted.  So in the steady state a
 *    function holds two buffers of its buffer size and allocates none.
 *  - A spare is wanted once the active buffer is half full (and when a
 *    resize asks for a new size): a function that never fills half a
 *    buffer never pins a second one.  A failed allocation is not retried
 *    until the next time, so that the worker never spins on a full pool.
 *  - If the cold tier cannot take a chunk (no space even with eviction),
 *    the sealed buffer's remaining records stay where they are, as
 *    evictable history: nothing is thrown away that space still holds.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "recorder-int.h"

#define POOL_ROUND_DOWN(v)  ((v) & ~(uint64_t)(PREDLOG_POOL_ALIGN - 1))

typedef enum RecWorkKind {
    REC_WORK_AGE,               /* pack one chunk of a sealed buffer */
    REC_WORK_ZERO,              /* zero a spare */
} RecWorkKind;

typedef struct RecWork {
    RecWorkKind kind;
    unsigned id;
    uint64_t epoch;
    uint64_t off;               /* region offset of the buffer */
    uint64_t size;              /* ZERO: its size */
    uint64_t start, end;        /* AGE: the records left, buffer-relative */
    uint64_t chunk_end;         /* AGE, after the run: what the chunk took */
    uint64_t last_seq, last_ts;
    const uint8_t *payload;
    size_t stored;
    PredlogChunkCodec codec;
} RecWork;

static void work_wake(PredlogRecorder *rec)
{
    rec->work_ready(rec->work_opaque);
}

static void want_spare(PredlogRecorder *rec, RecFunction *f)
{
    if (f->spare == REC_SPARE_NONE && !f->want_spare) {
        f->want_spare = true;
        work_wake(rec);
    }
}

/* Unpin and free a buffer the function holds but does not write. */
static void unpin_release(PredlogRecorder *rec, unsigned id, uint64_t off,
                          uint64_t size)
{
    predlog_pool_pin(rec->pool, off, false);
    rec->pinned -= size;
    predlog_rec_buffer_release(rec, id, off);
}

bool predlog_rec_make_room_async(PredlogRecorder *rec, unsigned id,
                                 uint64_t size, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t want, least, off;

    if (f->spare == REC_SPARE_READY && size <= f->spare_size) {
        predlog_rec_buffer_switch(rec, id, f->spare_off, now_ns,
                                  REC_OLD_SEAL);
        /* a lap of the fast tier, as a wrap is without a spare */
        f->wraps++;
        return true;
    }
    /*
     * No spare ready (the worker is behind, or this is the function's
     * first buffer): get a buffer here, zeroing it, as DYNAMIC without
     * a cold tier does; the old one is sealed all the same.
     */
    if (f->buf) {
        f->spare_misses++;
    }
    want = predlog_rec_active_size_wanted(rec, id, size);
    least = MAX((uint64_t)PREDLOG_RECORDER_MIN_BUFFER, size);
    least = POOL_ROUND_DOWN(least + PREDLOG_POOL_ALIGN - 1);
    if (want && least <= want &&
        predlog_rec_buffer_alloc(rec, id, want, least, now_ns, &off)) {
        predlog_rec_buffer_switch(rec, id, off, now_ns, REC_OLD_SEAL);
        return true;
    }
    if (f->buf && size <= f->buf_size) {
        /* The lap it overwrites was never aged. */
        f->lost_laps++;
        predlog_rec_wrap(f);
        return true;
    }
    return false;
}

bool predlog_rec_resize_now_async(PredlogRecorder *rec, unsigned id,
                                  uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];

    if (f->spare == REC_SPARE_READY && f->spare_size == f->buffer_size) {
        predlog_rec_buffer_switch(rec, id, f->spare_off, now_ns,
                                  REC_OLD_SEAL);
        want_spare(rec, f);
        return true;
    }
    if (f->spare == REC_SPARE_READY || f->spare == REC_SPARE_DIRTY) {
        /* the wrong size: give it back, the worker gets the right one */
        unpin_release(rec, id, f->spare_off, f->spare_size);
        f->spare = REC_SPARE_NONE;
    }
    want_spare(rec, f);
    return false;
}

void predlog_rec_work_reset(PredlogRecorder *rec)
{
    rec->epoch++;
    for (unsigned i = 0; i < rec->n_functions; i++) {
        RecFunction *f = &rec->funcs[i];

        f->spare = REC_SPARE_NONE;
        f->spare_off = f->spare_size = 0;
        f->want_spare = false;
        f->sealed_bytes = 0;
    }
}

void predlog_rec_want_spare(PredlogRecorder *rec, unsigned id)
{
    want_spare(rec, &rec->funcs[id]);
}

/* The spare @id should get now: its buffer size, if that may be pinned. */
static uint64_t spare_size_wanted(PredlogRecorder *rec, unsigned id)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t keep = (uint64_t)rec->unborn * PREDLOG_RECORDER_MIN_BUFFER;
    uint64_t room;

    if (rec->pinned + keep >= rec->data_size) {
        return 0;
    }
    room = POOL_ROUND_DOWN(rec->data_size - rec->pinned - keep);
    return f->buffer_size <= room ? f->buffer_size : 0;
}

/* The oldest sealed buffer of @f with records left to age, or NULL. */
static RecBuffer *oldest_sealed(RecFunction *f)
{
    for (guint i = 0; i < f->buffers->len; i++) {
        RecBuffer *b = &g_array_index(f->buffers, RecBuffer, i);

        if (b->sealed && b->aged < b->end) {
            return b;
        }
    }
    return NULL;
}

/* Allocate @f's spare, pinned and held; false if there is no room. */
static bool spare_alloc(PredlogRecorder *rec, unsigned id, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t size = spare_size_wanted(rec, id), off;
    RecBuffer b = { 0 };

    if (!size ||
        !predlog_rec_buffer_alloc(rec, id, size, size, now_ns, &off)) {
        f->spare_refused++;
        return false;
    }
    predlog_pool_lookup(rec->pool, off, &size, NULL);
    predlog_pool_pin(rec->pool, off, true);
    rec->pinned += size;
    b.offset = off;
    b.size = size;
    g_array_append_val(f->buffers, b);
    f->held += size;
    f->spare_off = off;
    f->spare_size = size;
    f->spare = REC_SPARE_DIRTY;
    return true;
}

/* Under the lock: choose the next job, round robin over the functions. */
static bool work_take(PredlogRecorder *rec, RecWork *w, uint64_t now_ns)
{
    for (unsigned n = 0; n < rec->n_functions; n++) {
        unsigned id = (rec->work_next + n) % rec->n_functions;
        RecFunction *f = &rec->funcs[id];
        RecBuffer *b = oldest_sealed(f);

        memset(w, 0, sizeof(*w));
        w->id = id;
        w->epoch = rec->epoch;
        if (b) {
            w->kind = REC_WORK_AGE;
            w->off = b->offset;
            w->start = b->aged;
            w->end = b->end;
        } else if (f->spare == REC_SPARE_DIRTY ||
                   (f->want_spare && f->spare == REC_SPARE_NONE && f->buf &&
                    spare_alloc(rec, id, now_ns))) {
            f->want_spare = false;
            f->spare = REC_SPARE_ZEROING;
            w->kind = REC_WORK_ZERO;
            w->off = f->spare_off;
            w->size = f->spare_size;
        } else {
            /* a failed allocation waits for the next reason to try */
            f->want_spare = false;
            continue;
        }
        rec->work_next = (id + 1) % rec->n_functions;
        return true;
    }
    return false;
}

/* Without the lock: the expensive part. */
static void work_run(PredlogRecorder *rec, RecWork *w)
{
    const uint8_t *buf = rec->base + w->off;

    if (w->kind == REC_WORK_ZERO) {
        memset(rec->base + w->off, 0, w->size);
        return;
    }
    w->chunk_end = predlog_rec_chunk_end(buf, w->start, w->end,
                                         predlog_rec_chunk_max_in(rec),
                                         &w->last_seq, &w->last_ts);
    w->stored = predlog_rec_chunk_pack(rec, buf + w->start,
                                       w->chunk_end - w->start, &w->payload,
                                       &w->codec);
}

/* A sealed buffer is aged (or cannot be): recycle, free or keep it. */
static void sealed_done(PredlogRecorder *rec, unsigned id, RecBuffer *b,
                        bool aged)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t off = b->offset, size = b->size;

    f->sealed_bytes -= b->end - b->aged;
    b->sealed = false;
    if (!aged) {
        /* its records stay, as history the allocator may take */
        predlog_pool_pin(rec->pool, off, false);
        rec->pinned -= size;
    } else if (f->spare == REC_SPARE_NONE && size == f->buffer_size) {
        f->spare_off = off;
        f->spare_size = size;
        f->spare = REC_SPARE_DIRTY;
        f->want_spare = false;
    } else {
        unpin_release(rec, id, off, size);
    }
}

/* Under the lock again: store what the run made. */
static void work_finish(PredlogRecorder *rec, RecWork *w, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[w->id];
    RecBuffer *b;
    bool stored;

    if (w->epoch != rec->epoch) {
        return;                 /* adopt replaced everything meanwhile */
    }
    if (w->kind == REC_WORK_ZERO) {
        g_assert(f->spare == REC_SPARE_ZEROING && f->spare_off == w->off);
        f->spare = REC_SPARE_READY;
        return;
    }
    b = predlog_rec_find_buffer(f, w->off, NULL);
    g_assert(b && b->sealed && b->aged == w->start);
    stored = predlog_rec_cold_store(rec, w->id, w->payload, w->stored,
                                    w->chunk_end - w->start, w->codec,
                                    w->last_seq, w->last_ts, now_ns);
    /* a new cold buffer grows f->buffers: look b up again */
    b = predlog_rec_find_buffer(f, w->off, NULL);
    if (!stored) {
        sealed_done(rec, w->id, b, false);
        return;
    }
    f->sealed_bytes -= w->chunk_end - b->aged;
    b->aged = w->chunk_end;
    if (b->aged == b->end) {
        sealed_done(rec, w->id, b, true);
    }
}

bool predlog_recorder_work_step(PredlogRecorder *rec,
                                const PredlogWorkerOps *ops)
{
    RecWork w;

    ops->lock(ops->opaque);
    if (!rec->work_ready || rec->work_busy ||
        !work_take(rec, &w, ops->now_ns(ops->opaque))) {
        ops->unlock(ops->opaque);
        return false;
    }
    rec->work_busy = true;
    ops->unlock(ops->opaque);

    work_run(rec, &w);

    ops->lock(ops->opaque);
    rec->work_busy = false;
    work_finish(rec, &w, ops->now_ns(ops->opaque));
    ops->unlock(ops->opaque);
    return true;
}

bool predlog_recorder_work_pending(PredlogRecorder *rec)
{
    if (!rec->work_ready) {
        return false;
    }
    if (rec->work_busy) {
        return true;
    }
    for (unsigned i = 0; i < rec->n_functions; i++) {
        RecFunction *f = &rec->funcs[i];

        if (oldest_sealed(f) || f->spare == REC_SPARE_DIRTY ||
            (f->want_spare && f->spare == REC_SPARE_NONE && f->buf)) {
            return true;
        }
    }
    return false;
}
