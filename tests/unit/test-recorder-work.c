/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the recorder's background ageing (recorder.h, "Background
 * ageing"): the record path never compresses, every record is committed
 * somewhere at every instant, a worker that falls behind costs counted
 * laps and nothing uncounted, an adopt in the middle of a step voids the
 * step, and a real worker thread keeps up with two logging threads.
 *
 * The single-threaded tests run the worker's steps by hand, so what they
 * see is deterministic; the lock the steps take is a callback, which
 * lets a test act between a step's two lock holds.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "hw/predlog/core/pool-format.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/recovery.h"
#include "hw/predlog/core/worker.h"

#define N_F         3
#define PAYLOAD_MAX 400

typedef struct Bench {
    uint8_t *region;
    uint64_t size;
    PredlogRecorder *rec;
    uint64_t now;
    uint64_t wakes;
    uint64_t acked[N_F];        /* last sequence number acknowledged */
    unsigned locks;             /* lock callbacks in the current step */
    void (*between)(struct Bench *b);   /* called between a step's holds */
} Bench;

static void on_work_ready(void *opaque)
{
    ((Bench *)opaque)->wakes++;
}

static void bench_lock(void *opaque)
{
    Bench *b = opaque;

    if (++b->locks == 2 && b->between) {
        b->between(b);
    }
}

static void bench_unlock(void *opaque G_GNUC_UNUSED)
{
}

static uint64_t bench_now(void *opaque)
{
    return ((Bench *)opaque)->now;
}

static Bench *bench_new(uint64_t size, uint64_t buffer_size)
{
    Bench *b = g_new0(Bench, 1);
    PredlogRecorderConfig cfg = {
        .policy = PREDLOG_POLICY_DYNAMIC,
        .max_functions = 8,
        .buffer_size = buffer_size,
        .compression = PREDLOG_COMPRESSION_ZSTD,
        .created_ns = 1,
        .name = "work",
        .work_ready = on_work_ready,
        .work_opaque = b,
    };
    GError *err = NULL;

    b->size = size;
    b->region = g_malloc0(size);
    b->rec = predlog_recorder_new(b->region, size, &cfg, &err);
    g_assert_no_error(err);
    b->now = 1000;
    for (unsigned f = 0; f < N_F; f++) {
        g_autofree char *name = g_strdup_printf("net%u", f);

        g_assert_cmpint(predlog_recorder_add_function(b->rec,
                        PREDLOG_FUNCTION_NET, name, b->now, &err), ==, f);
    }
    return b;
}

static void bench_free(Bench *b)
{
    predlog_recorder_free(b->rec);
    g_free(b->region);
    g_free(b);
}

/* Run one step of the worker by hand; false if there was no work. */
static bool bench_step(Bench *b)
{
    const PredlogWorkerOps ops = {
        .lock = bench_lock, .unlock = bench_unlock, .now_ns = bench_now,
        .opaque = b,
    };

    b->locks = 0;
    return predlog_recorder_work_step(b->rec, &ops);
}

static unsigned bench_drain(Bench *b)
{
    unsigned n = 0;

    while (bench_step(b)) {
        n++;
    }
    g_assert_false(predlog_recorder_work_pending(b->rec));
    return n;
}

/* A compressible payload that names its function and sequence number. */
static size_t make_payload(uint8_t *buf, unsigned f, uint64_t seq)
{
    size_t len = 60 + (seq * 37 + f * 11) % (PAYLOAD_MAX - 60);
    int n = g_snprintf((char *)buf, len, "f=%u seq=%" G_GUINT64_FORMAT " ",
                     f, seq);

    for (size_t i = n; i < len; i++) {
        buf[i] = "GET /index.html HTTP/1.1\r\nHost: example\r\n"[i % 40];
    }
    return len;
}

static void bench_log(Bench *b, unsigned f)
{
    uint8_t buf[PAYLOAD_MAX];
    PredlogPiece piece = { buf, make_payload(buf, f, b->acked[f] + 1) };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_NET_PACKET,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .aux = PREDLOG_NET_FROM_GUEST,
        .orig_len = piece.len,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = UINT32_MAX,
    };
    uint64_t seq;

    b->now += 1000;
    e.timestamp_ns = b->now;
    g_assert_cmpint(predlog_recorder_log(b->rec, f, &e, b->now, &seq), ==,
                    PREDLOG_LOG_OK);
    g_assert_cmpuint(seq, ==, b->acked[f] + 1);
    b->acked[f] = seq;
}

static uint64_t total_chunks(PredlogRecorder *rec)
{
    PredlogFunctionStats fs;
    uint64_t n = 0;

    for (unsigned f = 0; f < N_F; f++) {
        g_assert_true(predlog_recorder_get_function_stats(rec, f, &fs));
        n += fs.chunks;
    }
    return n;
}

/*
 * Read @region back as predlog-recover would and check the accounting:
 * every acknowledged number is committed, summarised, overwritten or
 * pending, and every record returned has the payload it was logged with.
 * With @all, nothing may be missing at all.  Returns the records found.
 */
static uint64_t check_image(const uint8_t *region, uint64_t size,
                            const uint64_t *acked, bool all)
{
    GError *err = NULL;
    PredlogImage *img = predlog_image_open(region, size, &err);
    PredlogRecoveryTotals t;
    GArray *recs;
    uint64_t found = 0;

    g_assert_no_error(err);
    recs = predlog_image_scan(img, &t);
    g_assert_cmpuint(t.torn, ==, 0);
    g_assert_cmpuint(t.duplicates, ==, 0);
    g_assert_cmpuint(t.bad_chunks, ==, 0);
    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);
        uint8_t want[PAYLOAD_MAX];
        size_t len = make_payload(want, r->view.hdr.func_id, r->view.hdr.seq);

        g_assert_cmpuint(r->view.hdr.stored_len, ==, len);
        g_assert_true(memcmp(r->view.payload, want, len) == 0);
    }
    for (unsigned f = 0; f < N_F; f++) {
        const PredlogImageFunction *fn = predlog_image_function_by_id(img, f);
        uint64_t counted = fn->committed + fn->overwritten + fn->pending;

        g_assert_cmpuint(fn->published_seq, ==, acked[f] + 1);
        g_assert_cmpuint(counted, ==, acked[f]);
        if (all) {
            g_assert_cmpuint(fn->committed, ==, acked[f]);
        }
        found += fn->committed;
    }
    g_array_unref(recs);
    predlog_image_free(img);
    return found;
}

/*
 * The record path seals and switches; only the worker's steps make
 * chunks.  With the worker keeping up, no spare is ever missed after the
 * first fill, and the pool holds every record, once.
 */
static void test_off_log_path(void)
{
    Bench *b = bench_new(8 * 1024 * 1024, 64 * 1024);
    PredlogFunctionStats fs;
    unsigned steps = 0;

    for (unsigned batch = 0; batch < 200; batch++) {
        uint64_t chunks = total_chunks(b->rec);

        for (unsigned i = 0; i < 60; i++) {
            bench_log(b, g_test_rand_int_range(0, N_F));
        }
        /* logging alone never packed a chunk */
        g_assert_cmpuint(total_chunks(b->rec), ==, chunks);
        steps += bench_drain(b);
    }
    g_assert_cmpuint(steps, >, 0);
    g_assert_cmpuint(total_chunks(b->rec), >, 0);
    for (unsigned f = 0; f < N_F; f++) {
        g_assert_true(predlog_recorder_get_function_stats(b->rec, f, &fs));
        g_assert_cmpuint(fs.sealed_size, ==, 0);
        g_assert_cmpuint(fs.spare_size, ==, 64 * 1024);
        /* only the first fill, before any spare existed */
        g_assert_cmpuint(fs.spare_misses, <=, 1);
        g_assert_cmpuint(fs.lost_laps, ==, 0);
        g_assert_cmpuint(fs.chunk_out, <, fs.chunk_in / 2);
    }
    check_image(b->region, b->size, b->acked, true);
    bench_free(b);
}

/*
 * A worker that never runs: the record path allocates buffers itself,
 * then wraps, counting lost laps; every log call succeeds and every
 * number stays accounted for, before and after the worker catches up.
 */
static void test_worker_behind(void)
{
    Bench *b = bench_new(1024 * 1024, 32 * 1024);
    PredlogFunctionStats fs;
    uint64_t lost = 0, misses = 0;

    for (unsigned i = 0; i < 30000; i++) {
        bench_log(b, g_test_rand_int_range(0, N_F));
    }
    g_assert_cmpuint(total_chunks(b->rec), ==, 0);
    for (unsigned f = 0; f < N_F; f++) {
        g_assert_true(predlog_recorder_get_function_stats(b->rec, f, &fs));
        lost += fs.lost_laps;
        misses += fs.spare_misses;
        g_assert_cmpuint(fs.sealed_size, >, 0);
    }
    g_assert_cmpuint(lost, >, 0);
    g_assert_cmpuint(misses, >, 0);
    g_assert_true(predlog_recorder_work_pending(b->rec));
    check_image(b->region, b->size, b->acked, false);

    g_assert_cmpuint(bench_drain(b), >, 0);
    g_assert_cmpuint(total_chunks(b->rec), >, 0);
    check_image(b->region, b->size, b->acked, false);
    /* caught up, it keeps up again: no lap is lost any more */
    for (unsigned i = 0; i < 3000; i++) {
        bench_log(b, i % N_F);
        if (i % 20 == 0) {
            bench_drain(b);
        }
    }
    for (unsigned f = 0; f < N_F; f++) {
        g_assert_true(predlog_recorder_get_function_stats(b->rec, f, &fs));
        lost -= fs.lost_laps;
    }
    g_assert_cmpuint(lost, ==, 0);
    check_image(b->region, b->size, b->acked, false);
    bench_free(b);
}

/* Kill -9 between a step's lock holds: after zstd, before the chunk. */
static unsigned kills, kills_left;

static void kill_between(Bench *b)
{
    g_autofree uint8_t *snap = NULL;

    if (!kills_left || g_test_rand_int_range(0, 4)) {
        return;
    }
    kills_left--;
    kills++;
    snap = g_malloc(b->size);
    memcpy(snap, b->region, b->size);
    check_image(snap, b->size, b->acked, false);
}

static void test_kill_mid_step(void)
{
    Bench *b = bench_new(2 * 1024 * 1024, 32 * 1024);

    b->between = kill_between;
    kills = 0;
    kills_left = 25;
    for (unsigned i = 0; i < 40000 && kills_left; i++) {
        bench_log(b, g_test_rand_int_range(0, N_F));
        if (g_test_rand_int_range(0, 40) == 0) {
            bench_step(b);
        }
        if (g_test_rand_int_range(0, 3000) == 0) {
            predlog_recorder_set_level(b->rec, 0, PREDLOG_RECORD_LEVEL_SUMMARY,
                                       b->now);
        }
    }
    g_assert_cmpuint(kills, ==, 25);
    bench_free(b);
}

/* An adopt between a step's lock holds voids the step. */
static void adopt_between(Bench *b)
{
    GError *err = NULL;

    g_assert_true(predlog_recorder_adopt(b->rec, false, &err));
    g_assert_no_error(err);
    b->between = NULL;
}

static void test_adopt_mid_step(void)
{
    Bench *b = bench_new(2 * 1024 * 1024, 32 * 1024);
    uint64_t chunks;
    PredlogFunctionStats fs;

    for (unsigned i = 0; i < 2000; i++) {
        bench_log(b, i % N_F);
    }
    g_assert_true(predlog_recorder_work_pending(b->rec));
    chunks = total_chunks(b->rec);
    b->between = adopt_between;
    g_assert_true(bench_step(b));
    g_assert_null(b->between);
    /* the step's chunk was thrown away, not stored */
    g_assert_cmpuint(total_chunks(b->rec), ==, chunks);
    for (unsigned f = 0; f < N_F; f++) {
        g_assert_true(predlog_recorder_get_function_stats(b->rec, f, &fs));
        g_assert_cmpuint(fs.sealed_size, ==, 0);
    }
    check_image(b->region, b->size, b->acked, false);
    for (unsigned i = 0; i < 4000; i++) {
        bench_log(b, i % N_F);
        if (i % 50 == 0) {
            bench_drain(b);
        }
    }
    bench_drain(b);
    check_image(b->region, b->size, b->acked, false);
    bench_free(b);
}

/* Two logging threads and a real worker thread, under one lock. */
typedef struct Shared {
    GMutex lock;
    Bench *b;
} Shared;

typedef struct Logger {
    Shared *sh;
    unsigned f;
    unsigned n;
} Logger;

static gpointer log_thread(gpointer opaque)
{
    Logger *l = opaque;

    for (unsigned i = 0; i < l->n; i++) {
        g_mutex_lock(&l->sh->lock);
        bench_log(l->sh->b, l->f);
        g_mutex_unlock(&l->sh->lock);
    }
    return NULL;
}

static void test_threaded(void)
{
    Shared sh;
    Logger l[2];
    GThread *th[2];
    PredlogWorker *w;
    Bench *b = g_new0(Bench, 1);
    PredlogRecorderConfig cfg = {
        .policy = PREDLOG_POLICY_DYNAMIC,
        .max_functions = 8,
        .buffer_size = 64 * 1024,
        .compression = PREDLOG_COMPRESSION_ZSTD,
        .name = "threads",
        .work_ready = predlog_worker_wake,
    };
    GError *err = NULL;

    g_mutex_init(&sh.lock);
    sh.b = b;
    w = predlog_worker_new(&sh.lock, NULL, NULL);
    cfg.work_opaque = w;
    b->size = 32 * 1024 * 1024;
    b->region = g_malloc0(b->size);
    b->rec = predlog_recorder_new(b->region, b->size, &cfg, &err);
    g_assert_no_error(err);
    for (unsigned f = 0; f < N_F; f++) {
        g_autofree char *name = g_strdup_printf("net%u", f);

        predlog_recorder_add_function(b->rec, PREDLOG_FUNCTION_NET, name, 0,
                                      &err);
        g_assert_no_error(err);
    }
    predlog_worker_start(w, b->rec);
    for (unsigned i = 0; i < 2; i++) {
        l[i] = (Logger) { .sh = &sh, .f = i, .n = 30000 };
        th[i] = g_thread_new("log", log_thread, &l[i]);
    }
    for (unsigned i = 0; i < 2; i++) {
        g_thread_join(th[i]);
    }
    predlog_worker_drain(w);
    g_assert_cmpuint(predlog_worker_steps(w), >, 0);
    g_mutex_lock(&sh.lock);
    g_assert_cmpuint(total_chunks(b->rec), >, 0);
    g_assert_false(predlog_recorder_work_pending(b->rec));
    g_mutex_unlock(&sh.lock);
    predlog_worker_free(w);
    /* 2 x 30000 records of < 400 bytes fit: every one is there, once */
    check_image(b->region, b->size, b->acked, true);
    g_mutex_clear(&sh.lock);
    bench_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recorder/work/off-log-path", test_off_log_path);
    g_test_add_func("/recorder/work/worker-behind", test_worker_behind);
    g_test_add_func("/recorder/work/kill-mid-step", test_kill_mid_step);
    g_test_add_func("/recorder/work/adopt-mid-step", test_adopt_mid_step);
    g_test_add_func("/recorder/work/threaded", test_threaded);
    return g_test_run();
}
