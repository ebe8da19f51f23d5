/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the dynamic buffer allocator (allocator.h): sources split
 * into functions by class, forecast-driven levels with the record path's
 * overflow step, relief, fast-tier sizing (ahead of a periodic burst),
 * the cold tier, adoption of a migrated pool, and recovery of everything
 * it wrote.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "hw/predlog/core/allocator.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recovery.h"

#define MIB         (1024 * 1024)
#define TICK_NS     (100 * 1000 * 1000ull)  /* refresh_ms = 100 */

typedef struct Fixture {
    uint8_t *region;
    uint64_t size;
    PredlogRecorder *rec;
    PredlogAllocator *a;
    uint64_t now;
    GString *changes;           /* "function:from>to:reason;" */
} Fixture;

static void on_change(void *opaque, const PredlogLevelChange *c)
{
    Fixture *fx = opaque;
    static const char *names[] = { "full", "summary", "header" };

    g_string_append_printf(fx->changes, "%s:%s>%s:%s;", c->function,
                           names[c->from], names[c->to], c->reason);
}

static Fixture *fx_new(uint64_t size, bool predictive,
                       PredlogCompression compression, uint32_t horizon_s)
{
    Fixture *fx = g_new0(Fixture, 1);
    PredlogRecorderConfig rc = {
        .policy = PREDLOG_POLICY_DYNAMIC,
        .max_functions = 32,
        .buffer_size = 16 * 1024,
        .compression = compression,
    };
    PredlogAllocatorConfig ac;
    GError *err = NULL;

    fx->size = size;
    fx->region = g_malloc0(size);
    fx->rec = predlog_recorder_new(fx->region, size, &rc, &err);
    g_assert_no_error(err);
    predlog_allocator_config_default(&ac);
    ac.predictive = predictive;
    ac.horizon_s = horizon_s;
    fx->a = predlog_allocator_new(fx->rec, &ac, &err);
    g_assert_no_error(err);
    fx->now = 1000;
    fx->changes = g_string_new("");
    return fx;
}

static void fx_free(Fixture *fx)
{
    predlog_allocator_free(fx->a);
    predlog_recorder_free(fx->rec);
    g_free(fx->region);
    g_string_free(fx->changes, true);
    g_free(fx);
}

static int fx_source(Fixture *fx, PredlogFunctionKind kind, const char *name)
{
    GError *err = NULL;
    int id = predlog_allocator_add_source(fx->a, kind, name, fx->now, &err);

    g_assert_no_error(err);
    g_assert_cmpint(id, >=, 0);
    return id;
}

/* Log a guest record "<msg>" (8-byte guest timestamp first); its function. */
static int fx_guest(Fixture *fx, int src, uint32_t severity, const char *msg,
                    size_t pad)
{
    g_autofree uint8_t *payload = g_malloc0(8 + strlen(msg) + pad);
    size_t len = 8 + strlen(msg) + pad;
    PredlogPiece piece = { payload, len };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_GUEST,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .aux = severity,
        .orig_len = len,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = UINT32_MAX,
    };
    uint64_t seq = 0;
    int fid = -1;

    memcpy(payload + 8, msg, strlen(msg));
    memset(payload + 8 + strlen(msg), 'p', pad);
    fx->now += 1000;
    e.timestamp_ns = fx->now;
    g_assert_cmpint(predlog_allocator_log(fx->a, src, &e, fx->now, &seq, &fid),
                    ==, PREDLOG_LOG_OK);
    g_assert_cmpuint(seq, >, 0);
    return fid;
}

/* An Ethernet + IPv4 + UDP frame to @dport, @len bytes in all. */
static int fx_udp(Fixture *fx, int src, uint16_t dport, size_t len)
{
    g_autofree uint8_t *f = g_malloc0(MAX(len, 42));
    PredlogPiece piece = { f, MAX(len, 42) };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_NET_PACKET,
        .aux = PREDLOG_NET_FROM_GUEST,
        .orig_len = piece.len,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = UINT32_MAX,
    };
    int fid = -1;

    f[12] = 0x08;                       /* IPv4 */
    f[14] = 0x45;
    f[23] = 17;                         /* UDP */
    f[34] = 0x30;                       /* source port 12345 */
    f[35] = 0x39;
    f[36] = dport >> 8;
    f[37] = dport & 0xff;
    fx->now += 1000;
    e.timestamp_ns = fx->now;
    g_assert_cmpint(predlog_allocator_log(fx->a, src, &e, fx->now, NULL,
                                          &fid), ==, PREDLOG_LOG_OK);
    return fid;
}

static void fx_refresh(Fixture *fx)
{
    fx->now += TICK_NS;
    predlog_allocator_refresh(fx->a, fx->now, on_change, fx);
}

static const char *fname(Fixture *fx, int fid)
{
    PredlogFunctionStats fs;

    g_assert_true(predlog_recorder_get_function_stats(fx->rec, fid, &fs));
    return fs.name;
}

/* Without predictive, a source is one function named after it. */
static void test_plain_sources(void)
{
    Fixture *fx = fx_new(4 * MIB, false, PREDLOG_COMPRESSION_NONE, 60);
    int g = fx_source(fx, PREDLOG_FUNCTION_GUEST, "guest0");
    int n = fx_source(fx, PREDLOG_FUNCTION_NET, "net0");
    GError *err = NULL;

    g_assert_cmpint(fx_guest(fx, g, 3, "app: x", 0), ==, 0);
    g_assert_cmpint(fx_udp(fx, n, 53, 80), ==, 1);
    g_assert_cmpstr(fname(fx, 1), ==, "net0");
    g_assert_false(predlog_allocator_set_model(fx->a, NULL,
                                               PREDLOG_FORECAST_EWMA, &err));
    g_assert_nonnull(strstr(err->message, "predictive"));
    g_clear_error(&err);
    /* names: back again, taken by another kind, too long, with '/' */
    g_assert_cmpint(predlog_allocator_add_source(fx->a, PREDLOG_FUNCTION_NET,
                                                 "net0", 0, &err), ==, n);
    g_assert_no_error(err);
    g_assert_cmpint(fx_udp(fx, n, 53, 80), ==, 1);
    g_assert_cmpint(predlog_allocator_add_source(fx->a, PREDLOG_FUNCTION_BLOCK,
                                                 "net0", 0, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "net source"));
    g_clear_error(&err);
    g_assert_cmpint(predlog_allocator_add_source(fx->a, PREDLOG_FUNCTION_NET,
                                                 "a/b", 0, &err), ==, -1);
    g_clear_error(&err);
    g_assert_cmpint(predlog_allocator_add_source(
                        fx->a, PREDLOG_FUNCTION_NET,
                        "a-source-name-far-too-long-for-a-function", 0, &err),
                    ==, -1);
    g_clear_error(&err);
    g_assert_cmpint(predlog_allocator_log(fx->a, 7, NULL, 0, NULL, NULL), ==,
                    PREDLOG_LOG_BAD_FUNCTION);
    fx_free(fx);
}

/* With predictive, each class of each source is a function of its own. */
static void test_split(void)
{
    Fixture *fx = fx_new(4 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 60);
    int g = fx_source(fx, PREDLOG_FUNCTION_GUEST, "guest0");
    int n = fx_source(fx, PREDLOG_FUNCTION_NET, "net0");
    int dns, ntp, err0, info0;
    PredlogAllocatorFunctionInfo ai;

    dns = fx_udp(fx, n, 53, 80);
    ntp = fx_udp(fx, n, 123, 90);
    err0 = fx_guest(fx, g, 3, "nginx[12]: upstream gone", 0);
    info0 = fx_guest(fx, g, 6, "nginx: ok", 0);
    g_assert_cmpstr(fname(fx, dns), ==, "net0/dns");
    g_assert_cmpstr(fname(fx, ntp), ==, "net0/ntp");
    g_assert_cmpstr(fname(fx, err0), ==, "guest0/nginx.err");
    g_assert_cmpstr(fname(fx, info0), ==, "guest0/nginx.info");
    /* the same class goes to the same function */
    g_assert_cmpint(fx_udp(fx, n, 53, 200), ==, dns);
    g_assert_cmpint(fx_guest(fx, g, 2, "nginx: crit", 0), ==, err0);
    g_assert_cmpuint(predlog_allocator_n_functions(fx->a), ==, 4);

    g_assert_true(predlog_allocator_function_info(fx->a, dns, &ai));
    g_assert_cmpstr(ai.source, ==, "net0");
    g_assert_cmpstr(ai.class_name, ==, "dns");
    g_assert_cmpint(ai.mode, ==, PREDLOG_FORECAST_AUTO);
    g_assert_false(predlog_allocator_function_info(fx->a, 9, &ai));

    /* forecaster per function, per source, for all */
    g_assert_true(predlog_allocator_set_model(fx->a, "net0/dns",
                                              PREDLOG_FORECAST_AR, NULL));
    g_assert_true(predlog_allocator_function_info(fx->a, dns, &ai));
    g_assert_cmpint(ai.mode, ==, PREDLOG_FORECAST_AR);
    g_assert_true(predlog_allocator_function_info(fx->a, ntp, &ai));
    g_assert_cmpint(ai.mode, ==, PREDLOG_FORECAST_AUTO);
    g_assert_true(predlog_allocator_set_model(fx->a, "guest0",
                                              PREDLOG_FORECAST_TREE, NULL));
    g_assert_true(predlog_allocator_function_info(fx->a, info0, &ai));
    g_assert_cmpint(ai.mode, ==, PREDLOG_FORECAST_TREE);
    g_assert_false(predlog_allocator_set_model(fx->a, "nosuch",
                                               PREDLOG_FORECAST_AR, NULL));
    g_assert_true(predlog_allocator_set_model(fx->a, NULL,
                                              PREDLOG_FORECAST_HOLT, NULL));
    g_assert_true(predlog_allocator_function_info(fx->a, err0, &ai));
    g_assert_cmpint(ai.mode, ==, PREDLOG_FORECAST_HOLT);
    fx_free(fx);
}

/*
 * Scan a copy of the pool: every sequence number of every function must
 * be accounted for (a record or a summary), and nothing torn.
 */
static void assert_all_accounted(Fixture *fx, uint64_t *from_cold,
                                 uint64_t *summarised)
{
    g_autofree uint8_t *copy = g_malloc(fx->size);
    PredlogRecoveryTotals t;
    GError *err = NULL;
    PredlogImage *img;
    GArray *recs;

    predlog_recorder_tick(fx->rec, fx->now);
    memcpy(copy, fx->region, fx->size);
    img = predlog_image_open(copy, fx->size, &err);
    g_assert_no_error(err);
    recs = predlog_image_scan(img, &t);
    g_assert_cmpuint(t.overwritten, ==, 0);
    g_assert_cmpuint(t.torn, ==, 0);
    g_assert_cmpuint(t.duplicates, ==, 0);
    g_assert_cmpuint(t.bad_chunks, ==, 0);
    for (unsigned i = 0; i < predlog_recorder_n_functions(fx->rec); i++) {
        PredlogFunctionStats fs;
        const PredlogImageFunction *f;

        predlog_recorder_get_function_stats(fx->rec, i, &fs);
        f = predlog_image_function_by_id(img, i);
        g_assert_nonnull(f);
        g_assert_cmpuint(f->max_seq, ==, fs.last_seq);
    }
    if (from_cold) {
        *from_cold = t.from_cold;
    }
    if (summarised) {
        *summarised = t.summarised;
    }
    g_array_unref(recs);
    predlog_image_free(img);
}

/*
 * A burst far beyond the forecast lowers the function's level at once
 * (overflow) and by plan (pressure); nothing is dropped, every record is
 * accounted for; after the burst, relief brings FULL back.
 */
static void test_burst_and_relief(void)
{
    Fixture *fx = fx_new(2 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 10);
    int g = fx_source(fx, PREDLOG_FUNCTION_GUEST, "guest0");
    PredlogFunctionStats fs;
    uint64_t summarised = 0;
    int fid = -1;

    for (int i = 0; i < 50; i++) {
        for (int k = 0; k < 3; k++) {
            fid = fx_guest(fx, g, 6, "app: steady", 300);
        }
        fx_refresh(fx);
    }
    g_assert_cmpstr(fx->changes->str, ==, "");
    for (int i = 0; i < 10; i++) {
        for (int k = 0; k < 500; k++) {
            fx_guest(fx, g, 6, "app: steady", 300);
        }
        fx_refresh(fx);
    }
    g_assert_nonnull(strstr(fx->changes->str,
                            "guest0/app.info:full>header:overflow;"));
    predlog_recorder_get_function_stats(fx->rec, fid, &fs);
    g_assert_cmpuint(fs.dropped, ==, 0);
    g_assert_cmpuint(fs.records, ==, 150 + 5000);
    g_assert_cmpuint(fs.by_level[PREDLOG_RECORD_LEVEL_FULL], <, fs.records);
    assert_all_accounted(fx, NULL, &summarised);

    g_string_truncate(fx->changes, 0);
    for (int i = 0; i < 300; i++) {
        for (int k = 0; k < 3; k++) {
            fx_guest(fx, g, 6, "app: steady", 300);
        }
        fx_refresh(fx);
    }
    g_assert_true(g_str_has_suffix(fx->changes->str, ">full:relief;"));
    predlog_recorder_get_function_stats(fx->rec, fid, &fs);
    g_assert_cmpint(fs.level, ==, PREDLOG_RECORD_LEVEL_FULL);
    g_assert_cmpuint(fs.dropped, ==, 0);
    assert_all_accounted(fx, NULL, NULL);
    fx_free(fx);
}

/* min-level=header: a burst never takes a function below HEADER. */
static void test_floor(void)
{
    Fixture *fx = g_new0(Fixture, 1);
    PredlogRecorderConfig rc = {
        .policy = PREDLOG_POLICY_DYNAMIC, .max_functions = 8,
        .compression = PREDLOG_COMPRESSION_ZSTD,
    };
    PredlogAllocatorConfig ac;
    PredlogFunctionStats fs;
    int g, fid = -1;

    fx->size = MIB;
    fx->region = g_malloc0(fx->size);
    fx->rec = predlog_recorder_new(fx->region, fx->size, &rc, NULL);
    predlog_allocator_config_default(&ac);
    ac.floor = PREDLOG_RECORD_LEVEL_HEADER;
    fx->a = predlog_allocator_new(fx->rec, &ac, NULL);
    fx->changes = g_string_new("");
    g = fx_source(fx, PREDLOG_FUNCTION_GUEST, "guest0");
    for (int i = 0; i < 40; i++) {
        for (int k = 0; k < 2000; k++) {
            fid = fx_guest(fx, g, 6, "app: flood", 500);
        }
        fx_refresh(fx);
    }
    predlog_recorder_get_function_stats(fx->rec, fid, &fs);
    g_assert_cmpint(fs.level, ==, PREDLOG_RECORD_LEVEL_HEADER);
    g_assert_cmpuint(fs.by_level[PREDLOG_RECORD_LEVEL_SUMMARY], ==, 0);
    g_assert_null(strstr(fx->changes->str, ">summary"));
    fx_free(fx);
}

/*
 * A steady high rate: the fast tier grows to hold about hot_ms of it,
 * and the cold tier compresses what ages out of it; recovery reads both.
 */
static void test_tiers(void)
{
    Fixture *fx = fx_new(8 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 60);
    int g = fx_source(fx, PREDLOG_FUNCTION_GUEST, "guest0");
    PredlogFunctionStats fs;
    PredlogAllocatorFunctionInfo ai;
    PredlogAllocatorStats st;
    uint64_t from_cold = 0;
    int fid = -1;

    for (int i = 0; i < 60; i++) {
        for (int k = 0; k < 200; k++) {
            fid = fx_guest(fx, g, 6, "app: the same text compresses well",
                           200);
        }
        fx_refresh(fx);
    }
    predlog_recorder_get_function_stats(fx->rec, fid, &fs);
    /* 200 records of ~300 bytes per 100 ms: ~600 KB per second */
    g_test_message("hot %" G_GUINT64_FORMAT " target %" G_GUINT64_FORMAT
                   " level %d", fs.hot_size, fs.hot_target, fs.level);
    g_assert_cmpuint(fs.hot_size, >, 256 * 1024);
    g_assert_cmpuint(fs.chunks, >, 0);
    g_assert_cmpuint(fs.chunk_out * 4, <, fs.chunk_in);
    g_assert_cmpuint(fs.cold_size, >, 0);
    g_assert_true(predlog_allocator_function_info(fx->a, fid, &ai));
    g_assert_cmpfloat(ai.compression, <, 0.25);
    g_assert_cmpfloat(ai.forecast, >, 1000);
    g_assert_cmpfloat(ai.confidence, >, 0.5);
    predlog_allocator_get_stats(fx->a, &st);
    g_assert_cmpuint(st.refreshes, ==, 60);
    g_assert_cmpuint(st.cpu_ns, >, 0);
    assert_all_accounted(fx, &from_cold, NULL);
    g_assert_cmpuint(from_cold, >, 0);
    fx_free(fx);
}

/*
 * Incoming migration: the destination's recorder adopts the functions
 * the source's allocator created, and its allocator takes them over with
 * their levels; numbering goes on.
 */
static void test_adopt(void)
{
    Fixture *src = fx_new(2 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 60);
    Fixture *dst = fx_new(2 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 60);
    int gs = fx_source(src, PREDLOG_FUNCTION_GUEST, "guest0");
    int ns = fx_source(src, PREDLOG_FUNCTION_NET, "net0");
    int gd, nd, f1, f2;
    PredlogFunctionStats fs;
    GError *err = NULL;
    uint64_t seq;

    f1 = fx_guest(src, gs, 6, "db: a", 0);
    f2 = fx_udp(src, ns, 123, 100);
    fx_udp(src, ns, 123, 100);
    predlog_recorder_set_level(src->rec, f2, PREDLOG_RECORD_LEVEL_HEADER,
                               src->now);

    gd = fx_source(dst, PREDLOG_FUNCTION_GUEST, "guest0");
    nd = fx_source(dst, PREDLOG_FUNCTION_NET, "net0");
    memcpy(dst->region, src->region, src->size);
    g_assert_true(predlog_recorder_adopt(dst->rec, true, &err));
    g_assert_no_error(err);
    g_assert_true(predlog_allocator_adopt(dst->a, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(fname(dst, f2), ==, "net0/ntp");
    predlog_recorder_get_function_stats(dst->rec, f2, &fs);
    g_assert_cmpint(fs.level, ==, PREDLOG_RECORD_LEVEL_HEADER);
    g_assert_cmpuint(fs.last_seq, ==, 2);

    /* the same classes land in the adopted functions, numbering goes on */
    g_assert_cmpint(fx_udp(dst, nd, 123, 100), ==, f2);
    g_assert_cmpint(fx_guest(dst, gd, 6, "db: b", 0), ==, f1);
    predlog_recorder_get_function_stats(dst->rec, f2, &fs);
    g_assert_cmpuint(fs.last_seq, ==, 3);
    seq = fs.last_seq;
    (void)seq;

    /* a pool naming a source the destination lacks is refused */
    {
        Fixture *odd = fx_new(2 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 60);

        fx_source(odd, PREDLOG_FUNCTION_GUEST, "guest0");
        memcpy(odd->region, src->region, src->size);
        g_assert_true(predlog_recorder_adopt(odd->rec, true, &err));
        g_assert_false(predlog_allocator_adopt(odd->a, &err));
        g_assert_nonnull(strstr(err->message, "net0/ntp"));
        g_clear_error(&err);
        fx_free(odd);
    }
    fx_free(src);
    fx_free(dst);
}

/*
 * A burst that comes back every PERIOD refresh intervals is predictable.
 * Once the forecaster has seen a few, the fast tier is grown in the quiet
 * intervals before the next burst (a pre-allocation), so the burst fits
 * the buffer it finds; the fast tier shrinks again in between.  The same
 * load under NAIVE, which knows only the last interval, meets every
 * burst with the small quiet-time buffer and grows it only after the
 * burst has wrapped it.  The period is longer than SHRINK_VOTES plus the
 * fast-tier window, so that the buffer is small again before each burst
 * unless something grows it ahead.
 */
#define PERIOD          40
#define BURST           4
#define QUIET_RECORDS   5
#define BURST_RECORDS   100

typedef struct PeriodicRun {
    uint64_t hot[PERIOD];       /* fast tier as interval t of the last starts */
    uint64_t preallocations;    /* in the last period */
    uint64_t burst_wraps;       /* fast-tier laps during its burst */
    uint64_t burst_full;        /* burst records logged at FULL */
    unsigned period;            /* season the forecaster found */
} PeriodicRun;

static void run_periodic(PredlogForecastModel model, unsigned periods,
                         PeriodicRun *out)
{
    Fixture *fx = fx_new(16 * MIB, true, PREDLOG_COMPRESSION_ZSTD, 60);
    int g = fx_source(fx, PREDLOG_FUNCTION_GUEST, "guest0");
    PredlogAllocatorFunctionInfo ai;
    PredlogFunctionStats fs, at_burst = { 0 };
    PredlogAllocatorStats st;
    GError *err = NULL;
    uint64_t prealloc_before = 0;
    int fid;

    memset(out, 0, sizeof(*out));
    fid = fx_guest(fx, g, 6, "app: periodic", 300);
    g_assert_true(predlog_allocator_set_model(fx->a, NULL, model, &err));
    g_assert_no_error(err);
    for (unsigned p = 0; p < periods; p++) {
        bool last = p == periods - 1;

        predlog_allocator_get_stats(fx->a, &st);
        prealloc_before = st.preallocations;
        for (unsigned t = 0; t < PERIOD; t++) {
            bool burst = t >= PERIOD - BURST;

            predlog_recorder_get_function_stats(fx->rec, fid, &fs);
            out->hot[t] = fs.hot_size;
            if (t == PERIOD - BURST) {
                at_burst = fs;
            }
            for (unsigned k = 0; k < (burst ? BURST_RECORDS : QUIET_RECORDS);
                 k++) {
                g_assert_cmpint(fx_guest(fx, g, 6, "app: periodic", 300),
                                ==, fid);
            }
            if (last && t == PERIOD - 1) {
                predlog_recorder_get_function_stats(fx->rec, fid, &fs);
                out->burst_wraps = fs.wraps - at_burst.wraps;
                out->burst_full = fs.by_level[PREDLOG_RECORD_LEVEL_FULL] -
                                  at_burst.by_level[PREDLOG_RECORD_LEVEL_FULL];
            }
            fx_refresh(fx);
        }
    }
    predlog_allocator_get_stats(fx->a, &st);
    out->preallocations = st.preallocations - prealloc_before;
    g_assert_true(predlog_allocator_function_info(fx->a, fid, &ai));
    out->period = ai.period;
    predlog_recorder_get_function_stats(fx->rec, fid, &fs);
    g_assert_cmpuint(fs.dropped, ==, 0);
    g_assert_cmpuint(fs.lost_laps, ==, 0);
    g_test_message("%s: fast tier mid-quiet %" G_GUINT64_FORMAT
                   ", at the burst %" G_GUINT64_FORMAT ", preallocations %"
                   G_GUINT64_FORMAT ", laps in the burst %" G_GUINT64_FORMAT
                   ", period %u", model == PREDLOG_FORECAST_NAIVE ?
                   "naive" : "auto", out->hot[PERIOD / 2],
                   out->hot[PERIOD - BURST], out->preallocations,
                   out->burst_wraps, out->period);
    fx_free(fx);
}

static void test_periodic_burst(void)
{
    /* what one burst interval stores at FULL */
    uint64_t burst_bytes =
        BURST_RECORDS * predlog_record_size(8 + strlen("app: periodic") + 300);
    PeriodicRun ahead, naive;
    unsigned grown_at = PERIOD;

    run_periodic(PREDLOG_FORECAST_AUTO, 12, &ahead);
    g_assert_cmpuint(ahead.period, ==, PERIOD);
    /* small in the quiet middle, grown before the burst, by prediction */
    g_assert_cmpuint(ahead.hot[PERIOD / 2], <, burst_bytes);
    g_assert_cmpuint(ahead.hot[PERIOD - BURST], >=, BURST * burst_bytes);
    for (unsigned t = PERIOD / 2; t < PERIOD && grown_at == PERIOD; t++) {
        if (ahead.hot[t] >= BURST * burst_bytes) {
            grown_at = t;
        }
    }
    g_assert_cmpuint(grown_at, <, PERIOD - BURST);
    g_assert_cmpuint(ahead.preallocations, >=, 1);
    /* so the burst fits the buffer it finds, at full detail */
    g_assert_cmpuint(ahead.burst_wraps, ==, 0);
    g_assert_cmpuint(ahead.burst_full, ==, BURST * BURST_RECORDS);

    run_periodic(PREDLOG_FORECAST_NAIVE, 12, &naive);
    g_assert_cmpuint(naive.hot[PERIOD - BURST], ==, naive.hot[PERIOD / 2]);
    g_assert_cmpuint(naive.hot[PERIOD - BURST], <, burst_bytes);
    g_assert_cmpuint(naive.burst_wraps, >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/allocator/plain-sources", test_plain_sources);
    g_test_add_func("/allocator/split", test_split);
    g_test_add_func("/allocator/burst-and-relief", test_burst_and_relief);
    g_test_add_func("/allocator/floor", test_floor);
    g_test_add_func("/allocator/tiers", test_tiers);
    g_test_add_func("/allocator/adopt", test_adopt);
    g_test_add_func("/allocator/periodic-burst", test_periodic_burst);
    return g_test_run();
}
