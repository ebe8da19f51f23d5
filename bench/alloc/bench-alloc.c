/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark: predictive buffer allocation against the fixed circular
 * buffers it replaces, on I/O traces, at equal memory
 *
 * Each trace is replayed, in one run and in lockstep, through four
 * configurations that share the pool size, the records (same payload
 * bytes, same timestamps) and every allocator parameter:
 *
 *   fixed        PREDLOG_POLICY_FIXED, one circular buffer per source
 *                (max_functions = sources of the trace: no slot wasted,
 *                the best case for fixed), no splitting: the baseline
 *   dynamic      DYNAMIC, no compression, no prediction: buffers on
 *                demand, LRU eviction (what forecasting adds over that)
 *   predictive   DYNAMIC + zstd cold tier + predictive allocator
 *                (analyzer split, forecasts, levels, tiers)
 *   pred-nozstd  predictive without the cold tier's compression
 *   pred-inline  predictive with the cold tier compressed inside the log
 *                call that overflows a buffer (no worker): what the
 *                default did before background ageing
 *
 * "predictive" ages its fast tier on a worker thread (worker.h), as the
 * device does, running while the replay logs; every configuration logs
 * under a mutex of its own, as the device does, and every log call is
 * timed (lock included) into a latency histogram.  The replay runs as
 * fast as the CPU allows, much faster than the trace's clock, so the
 * worker has less time per record than it would on a live device;
 * --speed X paces the replay to X times the trace's clock.
 *
 * Time is the trace's own clock: every record is logged with now_ns =
 * timestamp = the event's t_ns, and predlog_allocator_refresh() is
 * called at every multiple of refresh_ms of trace time, so a replay is
 * deterministic and runs as fast as the CPU allows.
 *
 * At checkpoints (every 10% of the trace, the last at its end; each just
 * after a refresh) the pool of every configuration is copied and read
 * back with predlog_image_open()/predlog_image_scan(), as predlog-recover
 * would after a crash at that instant, and every recovered record (every
 * sequence number a SUMMARY covers) is mapped back to the trace event it
 * came from.  The metrics are defined in bench/README.md ("Allocation
 * benchmark"); nothing here asserts a timing.
 *
 * Usage: bench-alloc [--pool-size N] [--horizon S] [--quick] TRACE...
 *        bench-alloc --synthetic-burst [--quick]
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "bench/common/trace.h"
#include "hw/predlog/core/allocator.h"
#include "qemu/predlog/byteorder.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/recovery.h"
#include "hw/predlog/core/summary.h"
#include "hw/predlog/core/worker.h"

/* The device's defaults (hw/predlog/predlog.c, block/predlog.c). */
#define DEV_MAX_FUNCTIONS   64
#define DEV_BUFFER_SIZE     (512u * 1024)
#define DEV_SNAPLEN         (64u * 1024 + PREDLOG_GUEST_PREFIX_LEN)
#define BLOCK_SNAPLEN       4096u

#define BATCH_EVENTS        8192
#define BATCH_BYTES         (16u * 1024 * 1024)
/* --speed: a batch spans at most this much of the trace's clock */
#define PACE_BATCH_NS       (100 * 1000 * 1000ull)
#define NO_EVENT            UINT32_MAX

/* Recovered detail of an event: 0 lost, else rank + 1. */
enum { LV_LOST, LV_SUMMARY, LV_HEADER, LV_FULL, LV__N };

typedef enum CfgId {
    CFG_FIXED,
    CFG_DYNAMIC,
    CFG_PREDICTIVE,
    CFG_PRED_NOZSTD,
    CFG_PRED_INLINE,
    N_CFG,
} CfgId;

typedef struct CfgSpec {
    const char *name;
    PredlogPolicy policy;
    PredlogCompression compression;
    bool predictive;
    bool worker;                /* background ageing on a thread */
} CfgSpec;

static const CfgSpec specs[N_CFG] = {
    [CFG_FIXED] = { "fixed", PREDLOG_POLICY_FIXED,
                    PREDLOG_COMPRESSION_NONE, false },
    [CFG_DYNAMIC] = { "dynamic", PREDLOG_POLICY_DYNAMIC,
                      PREDLOG_COMPRESSION_NONE, false },
    [CFG_PREDICTIVE] = { "predictive", PREDLOG_POLICY_DYNAMIC,
                         PREDLOG_COMPRESSION_ZSTD, true, true },
    [CFG_PRED_NOZSTD] = { "pred-nozstd", PREDLOG_POLICY_DYNAMIC,
                          PREDLOG_COMPRESSION_NONE, true },
    [CFG_PRED_INLINE] = { "pred-inline", PREDLOG_POLICY_DYNAMIC,
                          PREDLOG_COMPRESSION_ZSTD, true, false },
};

typedef struct Opts {
    uint64_t pool_size;
    uint32_t horizon_s;
    uint32_t refresh_ms;
    uint32_t block_data;        /* data bytes a block record carries */
    uint64_t buffer_size;       /* DYNAMIC: a new function's first buffer */
    PredlogRecordLevel floor;
    unsigned checkpoints;
    bool quick;
    bool verbose;
    double speed;               /* > 0: replay at most this x trace clock */
} Opts;

/* One configuration replaying one trace. */
typedef struct Run {
    const CfgSpec *spec;
    uint8_t *pool;
    PredlogRecorder *rec;
    PredlogAllocator *alloc;
    int *source_id;             /* allocator source of each trace source */
    GArray *seq_map[PREDLOG_RECORDER_MAX_FUNCTIONS]; /* seq-1 -> event */
    uint64_t next_refresh;

    uint64_t loop_ns;           /* wall: log calls and refreshes */
    uint64_t refresh_ns;        /* wall: refreshes */
    uint64_t logged, dropped, bad, seq_gaps;

    /* checkpoint accumulators */
    double *hist_sum;           /* per source, seconds */
    double min_hist_sum;
    double min_hist_last;
    uint64_t win_events;
    uint64_t win[LV__N];
    uint64_t unmapped, ts_mismatch, scan_anomalies, scan_fail;

    /* log-call latency, lock included */
    GMutex lock;                /* held around every call into rec */
    PredlogWorker *worker;      /* spec->worker */
    uint64_t cur_ns;            /* trace clock of the last call, under lock */
    uint32_t *lat;              /* ns of each log call, in call order */
    uint64_t lat_calls;
    uint64_t call_max_ns;       /* slowest single log call */
    uint64_t calls_over_100us;

    /* --verbose: per function, at the last checkpoint */
    uint16_t *ev_fid;           /* function of each event logged OK */
    uint64_t fn_newest_lost[PREDLOG_RECORDER_MAX_FUNCTIONS];
    uint64_t fn_win_lost[PREDLOG_RECORDER_MAX_FUNCTIONS];
} Run;

/* What an entry's pieces point to, besides the payload. */
typedef struct EntryParts {
    PredlogPiece pieces[2];
    uint8_t blk[PREDLOG_BLOCK_EVENT_LEN];
    uint8_t gts[PREDLOG_GUEST_PREFIX_LEN];
} EntryParts;

/* Events of the trace prepared for logging, shared by all runs. */
typedef struct Batch {
    size_t first, n;
    uint8_t *data;
    PredlogEntry *entries;
    EntryParts *parts;
    PredlogLogResult *res;
    uint64_t *seq;
    int *fid;
} Batch;

/* What the summary tables need of one trace. */
typedef struct TraceResult {
    char *name;
    bool valid;                 /* replayed: the tables have its numbers */
    bool bursty;
    double duration_s;
    double min_hist[N_CFG];
    double min_hist_last[N_CFG];
    uint64_t win_events;
    uint64_t lost[N_CFG];
    uint64_t summary_only[N_CFG];
    double ns_per_rec[N_CFG];   /* log and refresh */
    double lat_median[N_CFG];   /* ns per log call */
    double lat_p999[N_CFG];
    double lat_max[N_CFG];
} TraceResult;


static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double ratio(double x, double base)
{
    return base > 0 ? x / base : (x > 0 ? INFINITY : 1);
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * part / whole : 0;
}

/* ------------------------------------------------------------------ */
/* The synthetic trace                                                 */
/* ------------------------------------------------------------------ */

/* Ethernet + IPv4 + TCP headers of @ev's frame, ports 443 and 50000. */
static void synth_tcp_prefix(PredlogTraceEvent *ev, bool to_guest,
                             uint32_t seq)
{
    static const uint8_t mac_g[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    static const uint8_t mac_r[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
    static const uint8_t ip_g[4] = { 10, 0, 2, 15 };
    static const uint8_t ip_r[4] = { 203, 0, 113, 10 };
    uint8_t *p = ev->prefix;

    memset(p, 0, 54);
    memcpy(p, to_guest ? mac_g : mac_r, 6);
    memcpy(p + 6, to_guest ? mac_r : mac_g, 6);
    p[12] = 0x08;                               /* IPv4 */
    p[14] = 0x45;
    p[16] = (ev->len - 14) >> 8;
    p[17] = (ev->len - 14) & 0xff;
    p[22] = 64;
    p[23] = 6;                                  /* TCP */
    memcpy(p + 26, to_guest ? ip_r : ip_g, 4);
    memcpy(p + 30, to_guest ? ip_g : ip_r, 4);
    p[34] = to_guest ? 0x01 : 0xc3;             /* 443 <-> 50000 */
    p[35] = to_guest ? 0xbb : 0x50;
    p[36] = to_guest ? 0xc3 : 0x01;
    p[37] = to_guest ? 0x50 : 0xbb;
    p[38] = seq >> 24;
    p[39] = seq >> 16;
    p[40] = seq >> 8;
    p[41] = seq;
    p[46] = 0x50;
    p[47] = to_guest ? 0x18 : 0x10;             /* PSH|ACK, ACK */
    p[48] = 0xff;
    p[49] = 0xff;
    ev->prefix_len = MIN(54u, ev->len);
}

static int cmp_event_time(const void *pa, const void *pb)
{
    const PredlogTraceEvent *a = pa, *b = pb;

    if (a->t_ns != b->t_ns) {
        return a->t_ns < b->t_ns ? -1 : 1;
    }
    return a->source < b->source ? -1 : a->source > b->source;
}

/*
 * 180 s of two functions with steady Poisson arrivals: net0, a TCP/443
 * download (1514-byte frames to the guest, 66-byte ACKs from it,
 * alternating), 100 frames/s; blk0, 4 KiB reads and writes, 20/s.  From
 * 70 s to 80 s net0 runs at 10x its rate (inside the first half, which
 * is what --quick replays).
 */
static PredlogTrace *synth_trace(void)
{
    PredlogTrace *t = g_new0(PredlogTrace, 1);
    GArray *evs = g_array_new(false, true, sizeof(PredlogTraceEvent));
    double dur = 180, b0 = 70, b1 = 80;
    GRand *rng = g_rand_new_with_seed(20260421);
    uint8_t kind;

    t->name = g_strdup("synthetic-burst");
    t->sources = g_ptr_array_new_with_free_func(g_free);
    t->kinds = g_array_new(false, false, sizeof(uint8_t));
    g_ptr_array_add(t->sources, g_strdup("net0"));
    kind = PREDLOG_FUNCTION_NET;
    g_array_append_val(t->kinds, kind);
    g_ptr_array_add(t->sources, g_strdup("blk0"));
    kind = PREDLOG_FUNCTION_BLOCK;
    g_array_append_val(t->kinds, kind);

    for (unsigned src = 0; src < 2; src++) {
        double base = src == 0 ? 100 : 20, x = 0;
        uint64_t k = 0;

        for (;;) {
            double rate = src == 0 && x >= b0 && x < b1 ? 10 * base : base;
            PredlogTraceEvent ev = { 0 };

            x += -log(1.0 - g_rand_double(rng)) / rate;
            if (x >= dur) {
                break;
            }
            ev.t_ns = (uint64_t)(x * 1e6) * 1000;   /* whole us */
            ev.source = src;
            ev.kind = g_array_index(t->kinds, uint8_t, src);
            if (src == 0) {
                bool to_guest = k % 2 == 0;

                ev.aux = to_guest ? PREDLOG_NET_TO_GUEST
                                  : PREDLOG_NET_FROM_GUEST;
                ev.len = to_guest ? 1514 : 66;
                synth_tcp_prefix(&ev, to_guest, (uint32_t)(k * 1448));
            } else {
                ev.aux = k % 2 ? PREDLOG_BLOCK_WRITE : PREDLOG_BLOCK_READ;
                ev.len = 4096;
            }
            g_array_append_val(evs, ev);
            k++;
        }
    }
    g_rand_free(rng);
    g_array_sort(evs, cmp_event_time);
    t->n_events = evs->len;
    t->duration_ns = evs->len ?
        g_array_index(evs, PredlogTraceEvent, evs->len - 1).t_ns : 0;
    t->events = (PredlogTraceEvent *)g_array_free(evs, false);
    return t;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

static Batch *batch_new(void)
{
    Batch *b = g_new0(Batch, 1);

    b->data = g_malloc(BATCH_BYTES);
    b->entries = g_new0(PredlogEntry, BATCH_EVENTS);
    b->parts = g_new0(EntryParts, BATCH_EVENTS);
    b->res = g_new0(PredlogLogResult, BATCH_EVENTS);
    b->seq = g_new0(uint64_t, BATCH_EVENTS);
    b->fid = g_new0(int, BATCH_EVENTS);
    return b;
}

static void batch_free(Batch *b)
{
    g_free(b->data);
    g_free(b->entries);
    g_free(b->parts);
    g_free(b->res);
    g_free(b->seq);
    g_free(b->fid);
    g_free(b);
}

/*
 * Build the entries of events [first, end), as many as fit a batch;
 * returns the end of the batch.  The record of an event is what the
 * device's taps log for it (see the README for the block and guest
 * choices), cut at the device's default snaplen.
 */
static size_t batch_fill(Batch *b, const PredlogTrace *tr, const Opts *o,
                         size_t first, size_t end)
{
    size_t off = 0, i;

    b->first = first;
    for (i = first; i < end && i - first < BATCH_EVENTS; i++) {
        const PredlogTraceEvent *ev = &tr->events[i];
        size_t k = i - first;
        PredlogEntry *e = &b->entries[k];
        PredlogPiece *p = b->parts[k].pieces;
        uint64_t orig;
        size_t n;

        if (off + DEV_SNAPLEN > BATCH_BYTES ||
            (o->speed > 0 &&
             ev->t_ns - tr->events[first].t_ns >= PACE_BATCH_NS)) {
            break;
        }
        memset(e, 0, sizeof(*e));
        e->level = PREDLOG_RECORD_LEVEL_FULL;
        e->aux = ev->aux;
        e->timestamp_ns = ev->t_ns;
        e->pieces = p;
        switch (ev->kind) {
        case PREDLOG_FUNCTION_NET:
            n = predlog_trace_payload(tr, ev, b->data + off,
                                      MIN(ev->len, DEV_SNAPLEN));
            e->type = PREDLOG_RECORD_TYPE_NET_PACKET;
            p[0] = (PredlogPiece) { b->data + off, n };
            e->n_pieces = 1;
            orig = ev->len;
            break;
        case PREDLOG_FUNCTION_BLOCK: {
            /* block/predlog.c's event; offset and latency made up */
            uint8_t *be = b->parts[k].blk;
            uint64_t h = mix64(ev->t_ns ^ ((uint64_t)ev->source << 56));
            bool data = o->block_data &&
                        (ev->aux == PREDLOG_BLOCK_READ ||
                         ev->aux == PREDLOG_BLOCK_WRITE);

            put_le64(be + PREDLOG_BLOCK_OFF_OFFSET,
                     (h % (64ull << 30)) & ~4095ull);
            put_le64(be + PREDLOG_BLOCK_OFF_BYTES, ev->len);
            put_le64(be + PREDLOG_BLOCK_OFF_LATENCY,
                     20000 + (h >> 40) % 200000);
            put_le32(be + PREDLOG_BLOCK_OFF_RET, 0);
            put_le32(be + PREDLOG_BLOCK_OFF_FLAGS, 0);
            n = data ? predlog_trace_payload(tr, ev, b->data + off,
                                             MIN(ev->len, o->block_data)) : 0;
            e->type = PREDLOG_RECORD_TYPE_BLOCK_REQUEST;
            p[0] = (PredlogPiece) { be, PREDLOG_BLOCK_EVENT_LEN };
            p[1] = (PredlogPiece) { b->data + off, n };
            e->n_pieces = n ? 2 : 1;
            orig = PREDLOG_BLOCK_EVENT_LEN + (data ? ev->len : 0);
            break;
        }
        default:
            /* the ring's record: guest timestamp, then the message */
            put_le64(b->parts[k].gts, ev->t_ns);
            n = predlog_trace_payload(tr, ev, b->data + off,
                                      MIN(ev->len, DEV_SNAPLEN -
                                          PREDLOG_GUEST_PREFIX_LEN));
            e->type = PREDLOG_RECORD_TYPE_GUEST;
            p[0] = (PredlogPiece) { b->parts[k].gts,
                                    PREDLOG_GUEST_PREFIX_LEN };
            p[1] = (PredlogPiece) { b->data + off, n };
            e->n_pieces = 2;
            orig = PREDLOG_GUEST_PREFIX_LEN + (uint64_t)ev->len;
            break;
        }
        e->orig_len = MIN(orig, UINT32_MAX);
        e->max_stored = MIN(p[0].len + (e->n_pieces > 1 ? p[1].len : 0),
                            DEV_SNAPLEN);
        off += (n + 7) & ~(size_t)7;
    }
    b->n = i - first;
    return i;
}

/*
 * --speed: after a batch, sleep until the wall time since the replay
 * began is the trace time so far over @speed, so that the worker
 * threads get the wall time a live device's would (at that speed-up).
 * Every configuration replays the same batches between the same
 * sleeps, so their timings stay comparable; the sleep is not timed.
 */
static void pace(const PredlogTrace *tr, uint64_t wall0, uint64_t t_ns,
                 double speed)
{
    uint64_t due = wall0 + (uint64_t)((t_ns - tr->events[0].t_ns) / speed);
    uint64_t now = mono_ns();

    if (due > now) {
        g_usleep((due - now) / 1000);
    }
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */
/* ------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The @q quantile of @r's log-call latencies, in ns (sorts them). */
static double lat_quantile(Run *r, double q)
{
    uint64_t at;

    if (!r->lat_calls) {
        return 0;
    }
    qsort(r->lat, r->lat_calls, sizeof(r->lat[0]), cmp_u32);
    at = (uint64_t)ceil(q * r->lat_calls);
    return r->lat[MIN(MAX(at, 1), r->lat_calls) - 1];
}

/* The worker's clock: the trace's, as the log calls see it. */
static uint64_t run_now(void *opaque)
{
    return ((Run *)opaque)->cur_ns;
}

static bool run_init(Run *r, const CfgSpec *spec, const PredlogTrace *tr,
                     const Opts *o)
{
    g_autoptr(GError) err = NULL;
    PredlogRecorderConfig rc = { 0 };
    PredlogAllocatorConfig ac;
    unsigned n_src = tr->sources->len;

    memset(r, 0, sizeof(*r));
    r->spec = spec;
    r->pool = g_malloc(o->pool_size);
    rc.policy = spec->policy;
    rc.max_functions = spec->policy == PREDLOG_POLICY_FIXED ?
                       n_src : DEV_MAX_FUNCTIONS;
    rc.buffer_size = spec->policy == PREDLOG_POLICY_FIXED ?
                     0 : o->buffer_size;
    rc.compression = spec->compression;
    rc.name = "bench-alloc";
    g_mutex_init(&r->lock);
    r->lat = g_new(uint32_t, MAX(tr->n_events, 1));
    if (spec->worker) {
        r->worker = predlog_worker_new(&r->lock, run_now, r);
        rc.work_ready = predlog_worker_wake;
        rc.work_opaque = r->worker;
    }
    r->rec = predlog_recorder_new(r->pool, o->pool_size, &rc, &err);
    if (!r->rec) {
        g_printerr("bench-alloc: %s: %s\n", spec->name, err->message);
        return false;
    }
    if (r->worker) {
        predlog_worker_start(r->worker, r->rec);
    }
    predlog_allocator_config_default(&ac);
    ac.predictive = spec->predictive;
    ac.refresh_ms = o->refresh_ms;
    ac.horizon_s = o->horizon_s;
    ac.floor = o->floor;
    r->alloc = predlog_allocator_new(r->rec, &ac, &err);
    if (!r->alloc) {
        g_printerr("bench-alloc: %s: %s\n", spec->name, err->message);
        return false;
    }
    r->source_id = g_new(int, n_src);
    for (unsigned s = 0; s < n_src; s++) {
        r->source_id[s] = predlog_allocator_add_source(
            r->alloc, g_array_index(tr->kinds, uint8_t, s),
            g_ptr_array_index(tr->sources, s), 0, &err);
        if (r->source_id[s] < 0) {
            g_printerr("bench-alloc: %s: %s\n", spec->name, err->message);
            return false;
        }
    }
    r->next_refresh = (uint64_t)o->refresh_ms * 1000000;
    r->hist_sum = g_new0(double, n_src);
    if (o->verbose) {
        r->ev_fid = g_new0(uint16_t, MAX(tr->n_events, 1));
    }
    return true;
}

static void run_destroy(Run *r)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(r->seq_map); i++) {
        if (r->seq_map[i]) {
            g_array_free(r->seq_map[i], true);
        }
    }
    predlog_worker_free(r->worker);
    predlog_allocator_free(r->alloc);
    predlog_recorder_free(r->rec);
    g_mutex_clear(&r->lock);
    g_free(r->lat);
    g_free(r->pool);
    g_free(r->source_id);
    g_free(r->hist_sum);
    g_free(r->ev_fid);
}

/* --verbose: print level changes as the allocator reports them. */
static void level_changed(void *opaque, const PredlogLevelChange *c)
{
    Run *r = opaque;

    printf("  [%7.1f s] %-11s %-20s %s -> %s (%s)\n",
           (r->next_refresh) / 1e9, r->spec->name, c->function,
           predlog_level_str(c->from), predlog_level_str(c->to), c->reason);
}

/* Refresh at every boundary up to @t_ns, inclusive. */
static void run_refresh_until(Run *r, uint64_t t_ns, const Opts *o)
{
    while (r->next_refresh <= t_ns) {
        uint64_t t0 = mono_ns(), dt;

        g_mutex_lock(&r->lock);
        r->cur_ns = r->next_refresh;
        predlog_allocator_refresh(r->alloc, r->next_refresh,
                                  o->verbose ? level_changed : NULL, r);
        g_mutex_unlock(&r->lock);
        dt = mono_ns() - t0;
        r->refresh_ns += dt;
        r->loop_ns += dt;
        r->next_refresh += (uint64_t)o->refresh_ms * 1000000;
    }
}

static void run_batch(Run *r, const Batch *b, const PredlogTrace *tr,
                      const Opts *o)
{
    uint64_t t0 = mono_ns(), t1, rf = r->refresh_ns, c0, dc;

    for (size_t k = 0; k < b->n; k++) {
        const PredlogTraceEvent *ev = &tr->events[b->first + k];

        if (G_UNLIKELY(ev->t_ns >= r->next_refresh)) {
            run_refresh_until(r, ev->t_ns, o);
        }
        c0 = mono_ns();
        g_mutex_lock(&r->lock);
        r->cur_ns = ev->t_ns;
        b->res[k] = predlog_allocator_log(r->alloc, r->source_id[ev->source],
                                          &b->entries[k], ev->t_ns,
                                          &b->seq[k], &b->fid[k]);
        g_mutex_unlock(&r->lock);
        dc = mono_ns() - c0;
        r->call_max_ns = MAX(r->call_max_ns, dc);
        r->calls_over_100us += dc > 100000;
        r->lat[r->lat_calls++] = MIN(dc, UINT32_MAX);
    }
    t1 = mono_ns();
    /* run_refresh_until() added its time already */
    r->loop_ns += (t1 - t0) - (r->refresh_ns - rf);

    /* untimed: remember where each record went */
    for (size_t k = 0; k < b->n; k++) {
        GArray *m;
        uint32_t ev = b->first + k;

        if (b->res[k] == PREDLOG_LOG_DROPPED) {
            r->dropped++;
            continue;
        } else if (b->res[k] != PREDLOG_LOG_OK || b->fid[k] < 0 ||
                   b->fid[k] >= PREDLOG_RECORDER_MAX_FUNCTIONS ||
                   b->seq[k] == 0) {
            r->bad++;
            continue;
        }
        r->logged++;
        if (r->ev_fid) {
            r->ev_fid[ev] = b->fid[k];
        }
        m = r->seq_map[b->fid[k]];
        if (!m) {
            m = r->seq_map[b->fid[k]] = g_array_new(false, false,
                                                    sizeof(uint32_t));
        }
        if (b->seq[k] != (uint64_t)m->len + 1) {
            /* recorder.h: seqs of records logged OK have no gaps */
            r->seq_gaps++;
            while ((uint64_t)m->len + 1 < b->seq[k]) {
                uint32_t none = NO_EVENT;

                g_array_append_val(m, none);
            }
            if ((uint64_t)m->len >= b->seq[k]) {
                g_array_index(m, uint32_t, b->seq[k] - 1) = ev;
                continue;
            }
        }
        g_array_append_val(m, ev);
    }
}

static void mark(Run *r, const PredlogTrace *tr, uint8_t *lvl, size_t n_done,
                 unsigned fid, uint64_t seq, uint8_t level, bool check_ts,
                 uint64_t ts)
{
    GArray *m = fid < G_N_ELEMENTS(r->seq_map) ? r->seq_map[fid] : NULL;
    uint32_t ev = NO_EVENT;

    if (m && seq >= 1 && seq <= m->len) {
        ev = g_array_index(m, uint32_t, seq - 1);
    }
    if (ev == NO_EVENT || ev >= n_done) {
        r->unmapped++;
        return;
    }
    if (check_ts && tr->events[ev].t_ns != ts) {
        r->ts_mismatch++;
    }
    lvl[ev] = MAX(lvl[ev], level);
}

/*
 * A crash right now (just after the refresh at @now_ns, events
 * [0, @n_done) logged): what can predlog-recover get back?
 */
static void run_checkpoint(Run *r, const PredlogTrace *tr, const Opts *o,
                           uint64_t now_ns, size_t n_done, uint8_t *snap,
                           uint8_t *lvl, uint64_t *newest_lost)
{
    g_autoptr(GError) err = NULL;
    PredlogRecoveryTotals tot;
    PredlogImage *img;
    GArray *recs;
    unsigned n_src = tr->sources->len;
    uint64_t horizon_ns = (uint64_t)o->horizon_s * 1000000000ull;
    uint64_t lo_t = now_ns > horizon_ns ? now_ns - horizon_ns : 0;
    double min_h = INFINITY;
    size_t lo, hi;

    /* the worker may be writing: a crash would see the bytes as they are */
    g_mutex_lock(&r->lock);
    memcpy(snap, r->pool, o->pool_size);
    g_mutex_unlock(&r->lock);
    memset(lvl, 0, n_done);
    img = predlog_image_open(snap, o->pool_size, &err);
    if (!img) {
        g_printerr("bench-alloc: %s: the pool does not open: %s\n",
                   r->spec->name, err->message);
        r->scan_fail++;
    } else {
        recs = predlog_image_scan(img, &tot);
        r->scan_anomalies += tot.torn + tot.orphaned + tot.duplicates +
                             tot.bad_chunks;
        for (guint i = 0; i < recs->len; i++) {
            const PredlogRecordView *v =
                &g_array_index(recs, PredlogRecoveredRecord, i).view;
            PredlogSummary s;

            if (v->hdr.type != PREDLOG_RECORD_TYPE_SUMMARY) {
                mark(r, tr, lvl, n_done, v->hdr.func_id, v->hdr.seq,
                     1 + predlog_level_rank(v->hdr.level), true,
                     v->hdr.timestamp_ns);
            } else if (!predlog_summary_decode(v->payload, v->hdr.stored_len,
                                               &s)) {
                r->unmapped++;
            } else {
                for (uint64_t q = s.first_seq; q <= s.last_seq; q++) {
                    mark(r, tr, lvl, n_done, v->hdr.func_id, q, LV_SUMMARY,
                         false, 0);
                }
            }
        }
        g_array_free(recs, true);
        predlog_image_free(img);
    }

    /* complete history of each source */
    for (unsigned s = 0; s < n_src; s++) {
        newest_lost[s] = UINT64_MAX;
    }
    for (size_t e = 0; e < n_done; e++) {
        if (lvl[e] == LV_LOST) {
            newest_lost[tr->events[e].source] = tr->events[e].t_ns;
        }
    }
    for (unsigned s = 0; s < n_src; s++) {
        double h = (newest_lost[s] == UINT64_MAX ? now_ns :
                    now_ns - newest_lost[s]) / 1e9;

        r->hist_sum[s] += h;
        min_h = MIN(min_h, h);
    }
    r->min_hist_sum += min_h;
    r->min_hist_last = min_h;

    /* the horizon: events with t_ns >= now - horizon */
    lo = 0;
    hi = n_done;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (tr->events[mid].t_ns < lo_t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    r->win_events += n_done - lo;
    for (size_t e = lo; e < n_done; e++) {
        r->win[lvl[e]]++;
    }

    if (r->ev_fid) {
        /* dropped events count for function 0: good enough for a look */
        memset(r->fn_newest_lost, 0, sizeof(r->fn_newest_lost));
        memset(r->fn_win_lost, 0, sizeof(r->fn_win_lost));
        for (size_t e = 0; e < n_done; e++) {
            if (lvl[e] == LV_LOST) {
                r->fn_newest_lost[r->ev_fid[e]] = tr->events[e].t_ns + 1;
                r->fn_win_lost[r->ev_fid[e]] += e >= lo;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* --verbose: the state of every function of @r at a checkpoint. */
static void print_functions(Run *r, uint64_t now_ns)
{
    PredlogRecorderStats rs;

    predlog_recorder_get_stats(r->rec, &rs);
    printf("  [%7.1f s] %-11s used %" PRIu64 " KiB, free %" PRIu64
           " KiB in %u pieces, evictions %" PRIu64 "; min history %.1f s, "
           "lost so far in horizon %" PRIu64 "; slowest log call %.1f us, "
           "%" PRIu64 " over 100 us\n", now_ns / 1e9, r->spec->name,
           rs.used / 1024, rs.free / 1024, rs.fragments, rs.evictions,
           r->min_hist_last, r->win[LV_LOST], r->call_max_ns / 1e3,
           r->calls_over_100us);
    for (unsigned f = 0; f < predlog_recorder_n_functions(r->rec); f++) {
        PredlogFunctionStats fs;
        PredlogAllocatorFunctionInfo fi;

        if (!predlog_recorder_get_function_stats(r->rec, f, &fs)) {
            continue;
        }
        printf("    %-20s %-7s rec %8" PRIu64 " drop %" PRIu64 " hot %5"
               PRIu64 "/%5" PRIu64 " KiB cold %5" PRIu64 "/%5" PRIu64
               " KiB held %5" PRIu64 " KiB laps %" PRIu64, fs.name,
               predlog_level_str(fs.level), fs.records, fs.dropped,
               fs.hot_size / 1024, fs.hot_target / 1024, fs.cold_size / 1024,
               fs.cold_budget / 1024, fs.buffer_size / 1024, fs.lost_laps);
        if (predlog_allocator_function_info(r->alloc, f, &fi) &&
            fi.class_name) {
            printf(" fc %.0f/s conf %.2f need %.0f KiB",
                   fi.forecast, fi.confidence, fi.need / 1024);
        }
        if (r->fn_newest_lost[f]) {
            printf(" | hist %.1f s, lost %" PRIu64,
                   (now_ns - (r->fn_newest_lost[f] - 1)) / 1e9,
                   r->fn_win_lost[f]);
        }
        printf("\n");
    }
}

static void print_header(const char *label)
{
    printf("%-26s", label);
    for (int c = 0; c < N_CFG; c++) {
        printf(" %12s", specs[c].name);
    }
    printf("\n");
}

static void print_row_d(const char *label, const double *v, const char *fmt)
{
    printf("%-26s", label);
    for (int c = 0; c < N_CFG; c++) {
        printf(" ");
        printf(fmt, v[c]);
    }
    printf("\n");
}

static void print_row_u(const char *label, const uint64_t *v)
{
    printf("%-26s", label);
    for (int c = 0; c < N_CFG; c++) {
        printf(" %12" PRIu64, v[c]);
    }
    printf("\n");
}

static void report_trace(const PredlogTrace *tr, size_t n_events,
                         uint64_t dur_ns, unsigned n_cp, Run *runs,
                         TraceResult *res)
{
    unsigned n_src = tr->sources->len;
    double secs = dur_ns / 1e9, d[N_CFG];
    uint64_t u[N_CFG], u2[N_CFG];
    g_autofree uint64_t *per_src = g_new0(uint64_t, n_src);
    char label[64];

    for (size_t e = 0; e < n_events; e++) {
        per_src[tr->events[e].source]++;
    }
    printf("\ncomplete history per source, s (mean over %u checkpoints)\n",
           n_cp);
    print_header("source (events)");
    for (unsigned s = 0; s < n_src; s++) {
        g_snprintf(label, sizeof(label), "%s (%" PRIu64 ")",
                   (const char *)g_ptr_array_index(tr->sources, s),
                   per_src[s]);
        for (int c = 0; c < N_CFG; c++) {
            d[c] = runs[c].hist_sum[s] / n_cp;
        }
        print_row_d(label, d, "%12.1f");
    }
    for (int c = 0; c < N_CFG; c++) {
        d[c] = runs[c].min_hist_sum / n_cp;
        res->min_hist[c] = d[c];
        res->min_hist_last[c] = runs[c].min_hist_last;
    }
    print_row_d("min over sources", d, "%12.1f");
    for (int c = 0; c < N_CFG; c++) {
        d[c] = ratio(res->min_hist[c], res->min_hist[CFG_FIXED]);
    }
    print_row_d("  ratio to fixed", d, "%11.2fx");
    for (int c = 0; c < N_CFG; c++) {
        d[c] = runs[c].min_hist_last;
    }
    print_row_d("min, last checkpoint", d, "%12.1f");

    printf("\nwithin the horizon before each checkpoint (sums over "
           "checkpoints)\n");
    print_header("");
    res->win_events = runs[0].win_events;
    for (int c = 0; c < N_CFG; c++) {
        u[c] = runs[c].win_events;
    }
    print_row_u("events", u);
    for (int c = 0; c < N_CFG; c++) {
        u[c] = runs[c].win[LV_LOST];
        res->lost[c] = u[c];
        res->summary_only[c] = runs[c].win[LV_SUMMARY];
    }
    print_row_u("records lost", u);
    for (int c = 0; c < N_CFG; c++) {
        d[c] = pct(runs[c].win[LV_LOST], runs[c].win_events);
    }
    print_row_d("  share of events", d, "%11.3f%%");
    for (int lv = LV_FULL; lv > LV_LOST; lv--) {
        static const char *const names[LV__N] = {
            [LV_FULL] = "recovered at full",
            [LV_HEADER] = "recovered at header",
            [LV_SUMMARY] = "recovered as summary",
        };

        for (int c = 0; c < N_CFG; c++) {
            d[c] = pct(runs[c].win[lv],
                       runs[c].win_events - runs[c].win[LV_LOST]);
        }
        print_row_d(names[lv], d, "%11.2f%%");
    }

    printf("\nreplay (whole trace)\n");
    print_header("");
    for (int c = 0; c < N_CFG; c++) {
        u[c] = predlog_recorder_n_functions(runs[c].rec);
    }
    print_row_u("recorder functions", u);
    for (int c = 0; c < N_CFG; c++) {
        u[c] = runs[c].dropped;
    }
    print_row_u("records dropped", u);
    for (int c = 0; c < N_CFG; c++) {
        d[c] = n_events ? (double)(runs[c].loop_ns - runs[c].refresh_ns) /
                          n_events : 0;
    }
    print_row_d("ns/record, log only", d, "%12.1f");
    for (int c = 0; c < N_CFG; c++) {
        d[c] = n_events ? (double)runs[c].loop_ns / n_events : 0;
        res->ns_per_rec[c] = d[c];
    }
    print_row_d("ns/record, with refresh", d, "%12.1f");
    for (int c = 0; c < N_CFG; c++) {
        d[c] = res->lat_median[c] = lat_quantile(&runs[c], 0.5);
    }
    print_row_d("log call ns, median", d, "%12.0f");
    for (int c = 0; c < N_CFG; c++) {
        d[c] = res->lat_p999[c] = lat_quantile(&runs[c], 0.999);
    }
    print_row_d("log call ns, p99.9", d, "%12.0f");
    for (int c = 0; c < N_CFG; c++) {
        res->lat_max[c] = runs[c].call_max_ns;
        d[c] = runs[c].call_max_ns / 1e3;
    }
    print_row_d("log call us, slowest", d, "%12.1f");
    for (int c = 0; c < N_CFG; c++) {
        u[c] = runs[c].calls_over_100us;
    }
    print_row_u("log calls over 100 us", u);
    for (int c = 0; c < N_CFG; c++) {
        uint64_t misses = 0, laps = 0, refused = 0;

        for (unsigned f = 0; f < predlog_recorder_n_functions(runs[c].rec);
             f++) {
            PredlogFunctionStats fs;

            if (predlog_recorder_get_function_stats(runs[c].rec, f, &fs)) {
                misses += fs.spare_misses;
                laps += fs.lost_laps;
                refused += fs.spare_refused;
            }
        }
        u[c] = misses;
        d[c] = laps;
        u2[c] = refused;
    }
    print_row_u("spare buffer not ready", u);
    print_row_u("spare buffer refused", u2);
    print_row_d("laps lost unaged", d, "%12.0f");
    for (int c = 0; c < N_CFG; c++) {
        u[c] = runs[c].worker ? predlog_worker_steps(runs[c].worker) : 0;
    }
    print_row_u("worker steps", u);
    for (int c = 0; c < N_CFG; c++) {
        uint64_t max_ns = 0, over = 0;

        if (runs[c].worker) {
            g_mutex_lock(&runs[c].lock);
            predlog_worker_get_hold(runs[c].worker, &max_ns, &over);
            g_mutex_unlock(&runs[c].lock);
        }
        d[c] = max_ns / 1e3;
        u[c] = over;
    }
    print_row_d("worker lock hold us, max", d, "%12.1f");
    print_row_u("worker holds over 20 us", u);
    for (int c = 0; c < N_CFG; c++) {
        PredlogAllocatorStats as;

        predlog_allocator_get_stats(runs[c].alloc, &as);
        d[c] = secs > 0 ? as.cpu_ns / 1e6 / secs : 0;
    }
    print_row_d("allocator CPU, ms per s", d, "%12.3f");
    for (int c = 0; c < N_CFG; c++) {
        uint64_t in = 0, out = 0;

        for (unsigned f = 0; f < predlog_recorder_n_functions(runs[c].rec);
             f++) {
            PredlogFunctionStats fs;

            if (predlog_recorder_get_function_stats(runs[c].rec, f, &fs)) {
                in += fs.chunk_in;
                out += fs.chunk_out;
            }
        }
        d[c] = out ? (double)in / out : 0;
    }
    print_row_d("cold tier raw/stored", d, "%11.2fx");
    {
        uint64_t lc[N_CFG], pa[N_CFG], ev[N_CFG], lost_laps[N_CFG];
        double fill[N_CFG];

        for (int c = 0; c < N_CFG; c++) {
            PredlogAllocatorStats as;
            PredlogRecorderStats rs;

            predlog_allocator_get_stats(runs[c].alloc, &as);
            predlog_recorder_get_stats(runs[c].rec, &rs);
            lc[c] = as.level_changes;
            pa[c] = as.preallocations;
            fill[c] = as.plan_fill;
            ev[c] = rs.evictions;
            lost_laps[c] = 0;
            for (unsigned f = 0;
                 f < predlog_recorder_n_functions(runs[c].rec); f++) {
                PredlogFunctionStats fs;

                if (predlog_recorder_get_function_stats(runs[c].rec, f,
                                                        &fs)) {
                    lost_laps[c] += fs.lost_laps;
                }
            }
        }
        print_row_u("level changes", lc);
        print_row_u("preallocations", pa);
        print_row_d("plan_fill (last)", fill, "%12.3f");
        print_row_u("buffer evictions", ev);
        print_row_u("lost laps", lost_laps);
    }
    for (int c = 0; c < N_CFG; c++) {
        u[c] = runs[c].unmapped + runs[c].ts_mismatch + runs[c].seq_gaps +
               runs[c].bad + runs[c].scan_anomalies + runs[c].scan_fail;
        if (u[c]) {
            printf("!! %s: %" PRIu64 " unmapped records, %" PRIu64
                   " timestamp mismatches, %" PRIu64 " seq gaps, %" PRIu64
                   " refused entries, %" PRIu64 " scan anomalies (torn, "
                   "orphaned, duplicate, bad chunks), %" PRIu64
                   " images that did not open\n", specs[c].name,
                   runs[c].unmapped, runs[c].ts_mismatch, runs[c].seq_gaps,
                   runs[c].bad, runs[c].scan_anomalies, runs[c].scan_fail);
        }
    }
    print_row_u("consistency errors", u);
}

/* ------------------------------------------------------------------ */
/* One trace                                                           */
/* ------------------------------------------------------------------ */

static bool bench_trace(const PredlogTrace *tr, const Opts *o,
                        TraceResult *res)
{
    uint64_t r_ns = (uint64_t)o->refresh_ms * 1000000;
    uint64_t dur_ns = o->quick ? tr->duration_ns / 2 : tr->duration_ns;
    size_t n_events = tr->n_events, e = 0;
    unsigned n_src = tr->sources->len, n_cp = 0;
    g_autofree uint8_t *snap = g_malloc(o->pool_size);
    g_autofree uint8_t *lvl = NULL;
    g_autofree uint64_t *newest_lost = g_new(uint64_t, n_src);
    uint64_t prev_cp = 0, t0 = mono_ns(), pace_wall0;
    Run runs[N_CFG];
    Batch *b;
    bool ok = true;

    if (o->quick) {
        while (n_events && tr->events[n_events - 1].t_ns > dur_ns) {
            n_events--;
        }
    }
    lvl = g_malloc(MAX(n_events, 1));
    res->name = g_strdup(tr->name);
    res->bursty = strstr(tr->name, "burst") != NULL;
    res->duration_s = dur_ns / 1e9;

    printf("\n== %s: %.1f s%s, %zu events, %u sources; pool %" PRIu64
           " KiB, horizon %u s, refresh %u ms\n", tr->name, dur_ns / 1e9,
           o->quick ? " (--quick: first half)" : "", n_events, n_src,
           o->pool_size / 1024, o->horizon_s, o->refresh_ms);
    if (n_src == 0 || n_src > PREDLOG_RECORDER_MAX_FUNCTIONS) {
        printf("(skipped: %u sources)\n", n_src);
        return true;
    }
    for (int c = 0; c < N_CFG; c++) {
        if (!run_init(&runs[c], &specs[c], tr, o)) {
            for (int k = 0; k <= c; k++) {
                run_destroy(&runs[k]);
            }
            return false;
        }
    }
    b = batch_new();
    pace_wall0 = mono_ns();
    for (unsigned k = 1; k <= o->checkpoints; k++) {
        /* first refresh boundary after k/N of the trace */
        uint64_t cp = (dur_ns * k / o->checkpoints / r_ns + 1) * r_ns;
        size_t end = e;

        if (cp <= prev_cp) {
            continue;
        }
        prev_cp = cp;
        while (end < n_events && tr->events[end].t_ns < cp) {
            end++;
        }
        while (e < end) {
            size_t next = batch_fill(b, tr, o, e, end);

            for (int c = 0; c < N_CFG; c++) {
                run_batch(&runs[c], b, tr, o);
            }
            if (o->speed > 0) {
                pace(tr, pace_wall0, tr->events[next - 1].t_ns, o->speed);
            }
            e = next;
        }
        for (int c = 0; c < N_CFG; c++) {
            run_refresh_until(&runs[c], cp, o);
            run_checkpoint(&runs[c], tr, o, cp, e, snap, lvl, newest_lost);
            if (o->verbose) {
                print_functions(&runs[c], cp);
            }
        }
        n_cp++;
    }
    batch_free(b);

    report_trace(tr, n_events, dur_ns, n_cp, runs, res);
    res->valid = true;
    printf("(%.1f s wall for this trace, checkpoint scans included)\n",
           (mono_ns() - t0) / 1e9);
    for (int c = 0; c < N_CFG; c++) {
        if (runs[c].bad || runs[c].scan_fail) {
            ok = false;
        }
        run_destroy(&runs[c]);
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Summary                                                             */
/* ------------------------------------------------------------------ */

static void print_wide_header(void)
{
    printf("%-26s", "trace");
    for (int c = 0; c < N_CFG; c++) {
        printf(" %15s", specs[c].name);
    }
    printf("\n");
}

/* "12.3 [1.52x]" right-aligned in a column of 15 */
static void print_cell_ratio(double v, const char *fmt, double r)
{
    g_autofree char *num = g_strdup_printf(fmt, v);
    g_autofree char *cell = g_strdup_printf("%s [%.2fx]", num, r);

    printf(" %15s", cell);
}

static void report_summary(const TraceResult *res, unsigned n)
{
    double worst = INFINITY;
    const TraceResult *worst_t = NULL, *burst = NULL;
    unsigned valid = 0;

    for (unsigned i = 0; i < n; i++) {
        valid += res[i].valid;
    }
    if (!valid) {
        return;
    }
    printf("\n== summary over %u trace%s\n", valid, valid == 1 ? "" : "s");
    printf("\nmin complete history over sources, s (mean over "
           "checkpoints) [ratio to fixed]\n");
    print_wide_header();
    for (unsigned i = 0; i < n; i++) {
        if (!res[i].valid) {
            continue;
        }
        printf("%-26s", res[i].name);
        for (int c = 0; c < N_CFG; c++) {
            print_cell_ratio(res[i].min_hist[c], "%.1f",
                             ratio(res[i].min_hist[c],
                                   res[i].min_hist[CFG_FIXED]));
        }
        printf("\n");
        if (!worst_t || ratio(res[i].min_hist[CFG_PREDICTIVE],
                              res[i].min_hist[CFG_FIXED]) < worst) {
            worst = ratio(res[i].min_hist[CFG_PREDICTIVE],
                          res[i].min_hist[CFG_FIXED]);
            worst_t = &res[i];
        }
        if (res[i].bursty && !burst) {
            burst = &res[i];
        }
    }
    printf("\nrecords lost within the horizon, share of events "
           "(sum over checkpoints)\n");
    print_wide_header();
    for (unsigned i = 0; i < n; i++) {
        if (!res[i].valid) {
            continue;
        }
        printf("%-26s", res[i].name);
        for (int c = 0; c < N_CFG; c++) {
            g_autofree char *cell = g_strdup_printf(
                "%.3f%%", pct(res[i].lost[c], res[i].win_events));

            printf(" %15s", cell);
        }
        printf("\n");
    }
    printf("\nns/record, log and refresh [ratio to fixed]\n");
    print_wide_header();
    for (unsigned i = 0; i < n; i++) {
        if (!res[i].valid) {
            continue;
        }
        printf("%-26s", res[i].name);
        for (int c = 0; c < N_CFG; c++) {
            print_cell_ratio(res[i].ns_per_rec[c], "%.0f",
                             ratio(res[i].ns_per_rec[c],
                                   res[i].ns_per_rec[CFG_FIXED]));
        }
        printf("\n");
    }

    printf("\nlog-call latency in ns, median / p99.9 [p99.9 ratio to fixed]"
           "\n");
    print_wide_header();
    for (unsigned i = 0; i < n; i++) {
        if (!res[i].valid) {
            continue;
        }
        printf("%-26s", res[i].name);
        for (int c = 0; c < N_CFG; c++) {
            g_autofree char *cell = g_strdup_printf("%.0f/%.0f [%.2fx]",
                res[i].lat_median[c], res[i].lat_p999[c],
                ratio(res[i].lat_p999[c], res[i].lat_p999[CFG_FIXED]));

            printf(" %15s", cell);
        }
        printf("\n");
    }
    for (unsigned i = 0; i < n; i++) {
        if (!res[i].valid) {
            continue;
        }
        printf("target \"predictive median <= 1.3x fixed, p99.9 <= 20 us\" "
               "on %s: median %.2fx, p99.9 %.1f us -> %s\n", res[i].name,
               ratio(res[i].lat_median[CFG_PREDICTIVE],
                     res[i].lat_median[CFG_FIXED]),
               res[i].lat_p999[CFG_PREDICTIVE] / 1e3,
               ratio(res[i].lat_median[CFG_PREDICTIVE],
                     res[i].lat_median[CFG_FIXED]) <= 1.3 &&
               res[i].lat_p999[CFG_PREDICTIVE] <= 20000 ? "MET" : "NOT MET");
    }

    printf("\n");
    if (worst_t) {
        printf("target \">= 2x history retained at equal memory\": "
               "predictive/fixed min history %.2fx (worst trace: %s) "
               "-> %s\n", worst, worst_t->name,
               worst >= 2.0 ? "MET" : "NOT MET");
    }
    if (burst) {
        bool met = burst->lost[CFG_PREDICTIVE] == 0 &&
                   burst->summary_only[CFG_PREDICTIVE] == 0;

        printf("target \"zero records lost (header at worst) under 10x "
               "bursts\": %s, predictive: %" PRIu64 " lost, %" PRIu64
               " only as summary, of %" PRIu64 " events in the horizon "
               "(fixed: %" PRIu64 " lost) -> %s\n", burst->name,
               burst->lost[CFG_PREDICTIVE],
               burst->summary_only[CFG_PREDICTIVE], burst->win_events,
               burst->lost[CFG_FIXED], met ? "MET" : "NOT MET");
    } else {
        printf("target \"zero records lost (header at worst) under 10x "
               "bursts\": no bursty trace given -> not evaluated\n");
    }
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    uint64_t v = g_ascii_strtoull(s, &end, 10), mul = 1;

    if (end == s) {
        return false;
    }
    switch (g_ascii_toupper(*end)) {
    case 'K':
        mul = 1024;
        end++;
        break;
    case 'M':
        mul = 1024 * 1024;
        end++;
        break;
    case 'G':
        mul = 1024ull * 1024 * 1024;
        end++;
        break;
    }
    if (*end == 'i' || *end == 'I') {
        end++;
    }
    if (*end == 'B' || *end == 'b') {
        end++;
    }
    if (*end || v == 0 || v > UINT64_MAX / mul) {
        return false;
    }
    *out = v * mul;
    return true;
}

int main(int argc, char **argv)
{
    g_autofree char *pool_str = NULL, *min_level = NULL, *buf_str = NULL;
    g_auto(GStrv) paths = NULL;
    int horizon = 60, refresh = 100, block_data = BLOCK_SNAPLEN;
    gboolean quick = false, synthetic = false, verbose = false;
    double speed = 0;
    GOptionEntry entries[] = {
        { "pool-size", 'p', 0, G_OPTION_ARG_STRING, &pool_str,
          "pool size of every configuration (default 16M)", "N[K|M|G]" },
        { "buffer-size", 0, 0, G_OPTION_ARG_STRING, &buf_str,
          "DYNAMIC recorders' buffer size, the first buffer of every "
          "function (default 512K, the device's)", "N[K|M|G]" },
        { "horizon", 'H', 0, G_OPTION_ARG_INT, &horizon,
          "retention horizon the allocator plans for and the loss "
          "window (default 60)", "S" },
        { "refresh-ms", 0, 0, G_OPTION_ARG_INT, &refresh,
          "allocator refresh interval of trace time (default 100)", "MS" },
        { "block-data", 0, 0, G_OPTION_ARG_INT, &block_data,
          "data bytes a block read/write record carries after its event "
          "(default 4096, block/predlog.c's snaplen; 0: payload=off)", "N" },
        { "min-level", 0, 0, G_OPTION_ARG_STRING, &min_level,
          "coarsest level the allocator may choose: summary (default, "
          "the device's), header, or full (history at equal detail)",
          "LEVEL" },
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick,
          "first half of each trace, 5 checkpoints", NULL },
        { "synthetic-burst", 's', 0, G_OPTION_ARG_NONE, &synthetic,
          "replay a built-in trace: 2 steady functions, one with a 10x "
          "burst", NULL },
        { "speed", 0, 0, G_OPTION_ARG_DOUBLE, &speed,
          "replay at most this many times faster than the trace's clock, "
          "in batches of 100 ms of it, so that workers get wall time "
          "(default 0: as fast as the CPU allows)", "X" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
          "at each checkpoint, print every function's state and level "
          "changes; times every log call (inflates ns/record)", NULL },
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &paths,
          NULL, "TRACE..." },
        { 0 },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- predictive allocation vs fixed circular "
                             "buffers on I/O traces");
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) traces =
        g_ptr_array_new_with_free_func((GDestroyNotify)predlog_trace_free);
    TraceResult *res;
    Opts o = { 0 };
    int rc = 0;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("bench-alloc: %s\n", err->message);
        return 2;
    }
    o.pool_size = 16ull * 1024 * 1024;
    if (pool_str && !parse_size(pool_str, &o.pool_size)) {
        g_printerr("bench-alloc: --pool-size %s: not a size\n", pool_str);
        return 2;
    }
    o.pool_size &= ~7ull;
    o.buffer_size = DEV_BUFFER_SIZE;
    if (buf_str && !parse_size(buf_str, &o.buffer_size)) {
        g_printerr("bench-alloc: --buffer-size %s: not a size\n", buf_str);
        return 2;
    }
    o.floor = PREDLOG_RECORD_LEVEL_SUMMARY;
    if (min_level && !strcmp(min_level, "header")) {
        o.floor = PREDLOG_RECORD_LEVEL_HEADER;
    } else if (min_level && !strcmp(min_level, "full")) {
        o.floor = PREDLOG_RECORD_LEVEL_FULL;
    } else if (min_level && strcmp(min_level, "summary")) {
        g_printerr("bench-alloc: --min-level is summary, header or full\n");
        return 2;
    }
    if (horizon <= 0 || refresh <= 0 || block_data < 0 ||
        block_data > (int)PREDLOG_RECORD_MAX_PAYLOAD) {
        g_printerr("bench-alloc: --horizon and --refresh-ms must be > 0, "
                   "--block-data >= 0\n");
        return 2;
    }
    o.horizon_s = horizon;
    o.refresh_ms = refresh;
    o.block_data = block_data;
    o.quick = quick;
    o.verbose = verbose;
    if (speed < 0) {
        g_printerr("bench-alloc: --speed must be >= 0\n");
        return 2;
    }
    o.speed = speed;
    o.checkpoints = quick ? 5 : 10;

    for (unsigned i = 0; paths && paths[i]; i++) {
        PredlogTrace *t;

        if (strpbrk(paths[i], "*?[") &&
            !g_file_test(paths[i], G_FILE_TEST_EXISTS)) {
            /* an unexpanded shell pattern: no traces there yet */
            g_printerr("bench-alloc: no trace matches %s\n", paths[i]);
            continue;
        }
        t = predlog_trace_load(paths[i], &err);
        if (!t) {
            g_printerr("bench-alloc: %s\n", err->message);
            return 1;
        }
        g_ptr_array_add(traces, t);
    }
    if (synthetic || !traces->len) {
        if (!synthetic) {
            if (paths && paths[0]) {
                g_printerr("bench-alloc: no trace loaded, replaying the "
                           "synthetic burst instead\n");
            } else {
                g_printerr("bench-alloc: need TRACE... or "
                           "--synthetic-burst (--help)\n");
                return 2;
            }
        }
        g_ptr_array_add(traces, synth_trace());
    }

    printf("bench-alloc: pool %" PRIu64 " KiB, horizon %u s, refresh %u ms, "
           "floor %s, block data %u B, buffer size %" PRIu64 " KiB, %u "
           "checkpoints per trace\n", o.pool_size / 1024, o.horizon_s,
           o.refresh_ms, predlog_level_str(o.floor), o.block_data,
           o.buffer_size / 1024, o.checkpoints);
    printf("configurations: fixed = FIXED, one slot per source; dynamic = "
           "DYNAMIC, no zstd, no prediction; predictive = DYNAMIC + zstd + "
           "predictive allocator, ageing on a worker thread; pred-nozstd = "
           "predictive, no zstd; pred-inline = predictive, ageing inside "
           "the log call\n");
    if (o.speed > 0) {
        printf("replay paced to at most %.0fx the trace's clock "
               "(--speed)\n", o.speed);
    }

    res = g_new0(TraceResult, traces->len);
    for (guint i = 0; i < traces->len; i++) {
        if (!bench_trace(g_ptr_array_index(traces, i), &o, &res[i])) {
            rc = 1;
        }
    }
    report_summary(res, traces->len);
    for (guint i = 0; i < traces->len; i++) {
        g_free(res[i].name);
    }
    g_free(res);
    return rc;
}
