/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the dynamic buffer allocator (see allocator.h)
 *
 * Choices allocator.h leaves open, made here:
 *
 *  - Forecasts are of records per refresh interval; bytes follow from a
 *    running mean of the payload a record of the function carries at
 *    FULL.  Record sizes per level are exact for the on-pool format (a
 *    48-byte header and 8-byte seal around the payload, padded to 8).
 *  - What a function needs over the horizon uses the larger of the
 *    next-interval forecast and a slow running mean (time constant: the
 *    horizon): a burst that is forecast to go on is planned for as if it
 *    lasted, which is the safe side -- detail comes back by relief once
 *    the forecast falls, with the policy's hysteresis.
 *  - The fast tier holds the forecast peak over hot_ms, with 25% slack,
 *    between PREDLOG_RECORDER_MIN_BUFFER and 1/16 of the data area.  It
 *    shrinks only after SHRINK_VOTES refreshes in a row wanted half of
 *    it or less, so a pause between bursts does not take it away.
 *  - No cold budgets: when the pool is full the least recently written
 *    buffer of any function goes, so every function keeps history of
 *    the same age.  Shares of the pool by forecast need took history
 *    first from sporadic functions, whose forecast need is near zero
 *    between their bursts (bench-alloc, bursty trace: net0/ssh fell to
 *    91 s of history while the others kept 200 s and more).
 *  - Levels are planned with the cold tier's measured compression
 *    ratio, so compression buys detail inside the horizon (bursty: 49.8%
 *    of the records at FULL against 43.0% without zstd) more than
 *    history past it.  Planned as if uncompressed, predictive with zstd
 *    kept 1.15x the history of predictive without it, but summarised
 *    9,284 records of the 10x bursts it now keeps as headers.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <math.h>
#include <string.h>
#include <time.h>
#include <glib.h>

#include "allocator.h"
#include "analyzer.h"
#include "summary.h"

#define ALLOC_ERROR (allocator_error_quark())

/* Records of one source whose class a small cache remembers. */
#define CLASS_CACHE     8
/* Refreshes in a row that must want a smaller fast tier. */
#define SHRINK_VOTES    20
/* Bytes a record of @payload stored bytes takes in a buffer. */
#define RECORD_BYTES(payload) \
    (PREDLOG_RECORD_HDR_LEN + (((uint64_t)(payload) + 7) & ~7ull) + \
     PREDLOG_RECORD_SEAL_LEN)
/* Fast tier of a function that has no forecast yet. */
#define FIRST_BUFFER    (2 * PREDLOG_RECORDER_MIN_BUFFER)
/* Refreshes without relief after an overflow step (one second at 100 ms). */
#define OVERFLOW_HOLD   10
/* Cold-tier compression is trusted once this much was compressed. */
#define RATIO_MIN_INPUT (64u * 1024)

typedef struct AllocSource {
    char name[PREDLOG_POOL_NAME_MAX + 1];
    PredlogFunctionKind kind;
    int func_id;                /* without predictive: its one function */
    /* Class names of net and block are static strings: match pointers. */
    const char *cache_cls[CLASS_CACHE];
    int cache_fid[CLASS_CACHE];
    unsigned cache_next;
} AllocSource;

typedef struct AllocFunction {
    bool used;
    int source;
    int cls;                    /* analyzer class; -1 without predictive */
    PredlogForecastSet *fc;

    /* the running interval, kept here: the record path reads them */
    uint64_t records;
    uint64_t bytes;
    double allowance;           /* records before an overflow step; 0: none */
    bool stepped;               /* overflow step taken this interval */
    unsigned hold;              /* refreshes left without relief */

    double payload;             /* mean payload bytes at FULL */
    double mean_rate;           /* slow mean of records per interval */
    double forecast;            /* records in the next interval */
    double peak;                /* peak per interval over the fast window */
    double confidence;
    double need;
    double ratio;
    bool ratio_known;           /* measured (or no compression: 1) */
    PredlogRecordLevel level;
    const char *reason;
    uint64_t level_changes;
    unsigned shrink_votes;
    uint64_t hot_target;

    /* changes not yet reported: the level before the first of them */
    bool unreported;
    PredlogRecordLevel reported;
} AllocFunction;

struct PredlogAllocator {
    PredlogRecorder *rec;
    PredlogAllocatorConfig cfg;
    PredlogAnalyzer *an;
    PredlogGranularityState *gran;
    unsigned max_functions;
    GArray *sources;            /* AllocSource */
    AllocFunction *funcs;       /* by recorder function id */
    int *fid_of_class;          /* by analyzer class */
    uint64_t data_size;
    PredlogCompression compression;
    double intervals;           /* horizon in refresh intervals */
    unsigned hot_steps;         /* fast-tier window in intervals */
    PredlogAllocatorStats stats;

    /* refresh scratch */
    PredlogGranularityInput *in;
    PredlogRecordLevel *out;
    PredlogGranularityReason *why;
    int *order;
};

static GQuark allocator_error_quark(void)
{
    return g_quark_from_static_string("predlog-allocator-error-quark");
}

void predlog_allocator_config_default(PredlogAllocatorConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->predictive = true;
    cfg->refresh_ms = PREDLOG_ALLOCATOR_DEFAULT_REFRESH_MS;
    cfg->horizon_s = PREDLOG_ALLOCATOR_DEFAULT_HORIZON_S;
    cfg->hot_ms = PREDLOG_ALLOCATOR_DEFAULT_HOT_MS;
    cfg->model = PREDLOG_FORECAST_AUTO;
    cfg->floor = PREDLOG_RECORD_LEVEL_SUMMARY;
    cfg->confident = PREDLOG_ALLOCATOR_DEFAULT_CONFIDENT;
    predlog_granularity_config_default(&cfg->granularity);
}

PredlogAllocator *predlog_allocator_new(PredlogRecorder *rec,
                                        const PredlogAllocatorConfig *cfg,
                                        GError **errp)
{
    PredlogAllocator *a;
    PredlogRecorderStats rs;
    unsigned n;

    if (!rec || !cfg || !cfg->refresh_ms || !cfg->horizon_s ||
        !predlog_level_valid(cfg->floor) ||
        (unsigned)cfg->model >= PREDLOG_FORECAST__MAX) {
        g_set_error(errp, ALLOC_ERROR, 0,
                    "predlog allocator: invalid configuration");
        return NULL;
    }
    predlog_recorder_get_stats(rec, &rs);
    n = predlog_recorder_max_functions(rec);

    a = g_new0(PredlogAllocator, 1);
    a->rec = rec;
    a->cfg = *cfg;
    a->max_functions = n;
    a->data_size = rs.data_size;
    a->compression = rs.compression;
    a->intervals = (double)cfg->horizon_s * 1000.0 / cfg->refresh_ms;
    a->hot_steps = MAX(1u, cfg->hot_ms / cfg->refresh_ms);
    a->sources = g_array_new(false, true, sizeof(AllocSource));
    a->funcs = g_new0(AllocFunction, n);
    if (cfg->predictive) {
        a->an = predlog_analyzer_new(n, 64);
        a->gran = predlog_granularity_new(&cfg->granularity, n);
        a->fid_of_class = g_new(int, n);
        for (unsigned i = 0; i < n; i++) {
            a->fid_of_class[i] = -1;
        }
        a->in = g_new0(PredlogGranularityInput, n);
        a->out = g_new0(PredlogRecordLevel, n);
        a->why = g_new0(PredlogGranularityReason, n);
        a->order = g_new0(int, n);
    }
    return a;
}

void predlog_allocator_free(PredlogAllocator *a)
{
    if (!a) {
        return;
    }
    for (unsigned i = 0; i < a->max_functions; i++) {
        predlog_forecast_set_free(a->funcs[i].fc);
    }
    g_free(a->funcs);
    g_array_unref(a->sources);
    predlog_analyzer_free(a->an);
    predlog_granularity_free(a->gran);
    g_free(a->fid_of_class);
    g_free(a->in);
    g_free(a->out);
    g_free(a->why);
    g_free(a->order);
    g_free(a);
}

int predlog_allocator_add_source(PredlogAllocator *a, PredlogFunctionKind kind,
                                 const char *name, uint64_t now_ns,
                                 GError **errp)
{
    AllocSource s = { 0 };
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > PREDLOG_SOURCE_NAME_MAX || strchr(name, '/')) {
        g_set_error(errp, ALLOC_ERROR, 0,
                    "a source name must have 1 to %u bytes and no '/', "
                    "'%s' does not", PREDLOG_SOURCE_NAME_MAX,
                    name ? name : "");
        return -1;
    }
    for (guint i = 0; i < a->sources->len; i++) {
        const AllocSource *o = &g_array_index(a->sources, AllocSource, i);

        if (strcmp(o->name, name)) {
            continue;
        }
        if (o->kind != kind) {
            g_set_error(errp, ALLOC_ERROR, 0,
                        "there is already a %s source named '%s'",
                        predlog_function_kind_str(o->kind), name);
            return -1;
        }
        /* a tap deleted and added again: its functions go on */
        return i;
    }
    memcpy(s.name, name, len + 1);
    s.kind = kind;
    s.func_id = -1;
    if (!a->cfg.predictive) {
        s.func_id = predlog_recorder_add_function(a->rec, kind, name, now_ns,
                                                  errp);
        if (s.func_id < 0) {
            return -1;
        }
        a->funcs[s.func_id].used = true;
        a->funcs[s.func_id].source = a->sources->len;
        a->funcs[s.func_id].cls = -1;
    }
    g_array_append_val(a->sources, s);
    return a->sources->len - 1;
}

/* ------------------------------------------------------------------ */
/* Record path                                                         */
/* ------------------------------------------------------------------ */

/* The first @want payload bytes of @entry, contiguous. */
static size_t gather(const PredlogEntry *entry, uint8_t *buf, size_t want)
{
    size_t got = 0;

    for (unsigned i = 0; i < entry->n_pieces && got < want; i++) {
        size_t n = MIN(entry->pieces[i].len, want - got);

        if (n) {
            memcpy(buf + got, entry->pieces[i].data, n);
            got += n;
        }
    }
    return got;
}

/* The class of @entry; @buf receives built names (guest). */
static const char *classify(const AllocSource *s, const PredlogEntry *entry,
                            char *buf, size_t size)
{
    uint8_t head[PREDLOG_GUEST_PREFIX_LEN + 2 * PREDLOG_GUEST_TAG_MAX + 8];
    size_t n;

    switch (s->kind) {
    case PREDLOG_FUNCTION_NET:
        if (entry->n_pieces && entry->pieces[0].len >= 64) {
            return predlog_analyze_net(entry->pieces[0].data,
                                       entry->pieces[0].len);
        } else {
            uint8_t frame[128];

            n = gather(entry, frame, sizeof(frame));
            return predlog_analyze_net(frame, n);
        }
    case PREDLOG_FUNCTION_BLOCK:
        return predlog_analyze_block(entry->aux);
    case PREDLOG_FUNCTION_GUEST:
        n = gather(entry, head, sizeof(head));
        if (n >= PREDLOG_GUEST_PREFIX_LEN) {
            predlog_analyze_guest(entry->aux, head + PREDLOG_GUEST_PREFIX_LEN,
                                  n - PREDLOG_GUEST_PREFIX_LEN, buf, size);
        } else {
            predlog_analyze_guest(entry->aux, NULL, 0, buf, size);
        }
        return buf;
    }
    return "other";
}

static void function_init(PredlogAllocator *a, int fid, int source, int cls)
{
    AllocFunction *f = &a->funcs[fid];

    memset(f, 0, sizeof(*f));
    f->used = true;
    f->source = source;
    f->cls = cls;
    f->fc = predlog_forecast_set_new();
    predlog_forecast_set_select(f->fc, a->cfg.model);
    f->level = PREDLOG_RECORD_LEVEL_FULL;
    f->reason = "";
    f->ratio = 1.0;
    /* without a cold tier, records are stored as they are */
    f->ratio_known = a->compression == PREDLOG_COMPRESSION_NONE;
    /* nothing is known yet: start small, the forecast grows it */
    predlog_recorder_set_buffer_size(a->rec, fid, FIRST_BUFFER);
}

/* Recorder function of class @cls_name of source @src; -1 if none. */
static int function_of(PredlogAllocator *a, int src, const char *cls_name,
                       bool cacheable, uint64_t now_ns)
{
    AllocSource *s = &g_array_index(a->sources, AllocSource, src);
    char name[PREDLOG_POOL_NAME_MAX + 1];
    int cls, fid;

    if (cacheable) {
        for (unsigned i = 0; i < CLASS_CACHE; i++) {
            if (s->cache_cls[i] == cls_name) {
                return s->cache_fid[i];
            }
        }
    }
    cls = predlog_analyzer_lookup(a->an, s->name, cls_name, NULL);
    if (cls < 0) {
        return -1;
    }
    fid = a->fid_of_class[cls];
    if (fid < 0) {
        g_snprintf(name, sizeof(name), "%s", predlog_analyzer_class_name(
                   a->an, cls));
        fid = predlog_recorder_add_function(a->rec, s->kind, name, now_ns,
                                            NULL);
        if (fid < 0) {
            return -1;
        }
        a->fid_of_class[cls] = fid;
        function_init(a, fid, src, cls);
    }
    if (cacheable) {
        s->cache_cls[s->cache_next] = cls_name;
        s->cache_fid[s->cache_next] = fid;
        s->cache_next = (s->cache_next + 1) % CLASS_CACHE;
    }
    return fid;
}

/* Change @fid's level now, to be reported by the next refresh. */
static void set_level(PredlogAllocator *a, int fid, PredlogRecordLevel level,
                      const char *reason, uint64_t now_ns)
{
    AllocFunction *f = &a->funcs[fid];

    if (level == f->level) {
        return;
    }
    if (!f->unreported) {
        f->unreported = true;
        f->reported = f->level;
    }
    predlog_recorder_set_level(a->rec, fid, level, now_ns);
    f->level = level;
    f->reason = reason;
    f->level_changes++;
    a->stats.level_changes++;
}

PredlogLogResult predlog_allocator_log(PredlogAllocator *a, int source,
                                       const PredlogEntry *entry,
                                       uint64_t now_ns, uint64_t *seq,
                                       int *func_id)
{
    char buf[PREDLOG_CLASS_NAME_MAX + 1];
    const AllocSource *s;
    AllocFunction *f;
    const char *cls;
    int fid;

    if (func_id) {
        *func_id = -1;
    }
    if (source < 0 || (guint)source >= a->sources->len) {
        return PREDLOG_LOG_BAD_FUNCTION;
    }
    s = &g_array_index(a->sources, AllocSource, source);
    if (!a->cfg.predictive) {
        fid = s->func_id;
    } else {
        if (entry->n_pieces && !entry->pieces) {
            return PREDLOG_LOG_BAD_ENTRY;
        }
        cls = classify(s, entry, buf, sizeof(buf));
        fid = function_of(a, source, cls, cls != buf, now_ns);
        if (fid < 0) {
            a->stats.unclassified++;
            return PREDLOG_LOG_DROPPED;
        }
        f = &a->funcs[fid];
        f->records++;
        f->bytes += MIN(entry->orig_len, entry->max_stored);
        predlog_analyzer_account(a->an, f->cls,
                                 MIN(entry->orig_len, entry->max_stored));
        if (G_UNLIKELY(f->allowance > 0 && f->records > f->allowance) &&
            !f->stepped &&
            predlog_level_rank(f->level) > predlog_level_rank(a->cfg.floor)) {
            /* A burst the plan has no room for: less detail, now. */
            f->stepped = true;
            f->hold = OVERFLOW_HOLD;
            set_level(a, fid, predlog_level_down(f->level), "overflow",
                      now_ns);
        }
    }
    if (func_id) {
        *func_id = fid;
    }
    return predlog_recorder_log(a->rec, fid, entry, now_ns, seq);
}

/* ------------------------------------------------------------------ */
/* Refresh                                                             */
/* ------------------------------------------------------------------ */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Buffer bytes one record of @f takes at @level (SUMMARY: 0). */
static double record_bytes(PredlogAllocator *a, const AllocFunction *f,
                           PredlogRecordLevel level)
{
    const AllocSource *s = &g_array_index(a->sources, AllocSource, f->source);
    double payload = f->payload;

    switch (level) {
    case PREDLOG_RECORD_LEVEL_FULL:
        return RECORD_BYTES(payload);
    case PREDLOG_RECORD_LEVEL_HEADER:
        return RECORD_BYTES(MIN(payload, predlog_header_len(s->kind)));
    default:
        return 0;
    }
}

/* Bytes @f needs over the horizon at @level for @rate records/interval. */
static double need_at(PredlogAllocator *a, const AllocFunction *f,
                      double rate, PredlogRecordLevel level)
{
    if (level == PREDLOG_RECORD_LEVEL_SUMMARY) {
        /* one summary record per interval that had records */
        return rate > 0 ? a->intervals * RECORD_BYTES(PREDLOG_SUMMARY_LEN) *
                          f->ratio : 0;
    }
    return rate * a->intervals * record_bytes(a, f, level) * f->ratio;
}

/* Fast-tier size for @f at its level. */
static uint64_t hot_size_for(PredlogAllocator *a, const AllocFunction *f)
{
    double bytes = f->peak * a->hot_steps *
                   MAX(record_bytes(a, f, f->level),
                       RECORD_BYTES(PREDLOG_SUMMARY_LEN) / a->hot_steps) *
                   1.25;
    uint64_t size = bytes > (double)a->data_size ? a->data_size :
                    (uint64_t)bytes;

    size = MIN(size, a->data_size / 16);
    size = MAX(size, (uint64_t)PREDLOG_RECORDER_MIN_BUFFER);
    /* in steps of the minimum buffer, so that noise does not resize */
    return (size + PREDLOG_RECORDER_MIN_BUFFER - 1) /
           PREDLOG_RECORDER_MIN_BUFFER * PREDLOG_RECORDER_MIN_BUFFER;
}

static void size_fast_tier(PredlogAllocator *a, int fid, AllocFunction *f,
                           uint64_t now_ns)
{
    PredlogFunctionStats fs;
    uint64_t want = hot_size_for(a, f), have;

    predlog_recorder_get_function_stats(a->rec, fid, &fs);
    have = fs.hot_size ? fs.hot_size : fs.hot_target;
    if (want > have) {
        f->shrink_votes = 0;
        if (f->confidence >= a->cfg.confident && fs.hot_size &&
            want >= have + have / 2) {
            /* A confident forecast of more: have the buffer before it. */
            predlog_recorder_set_buffer_size(a->rec, fid, want);
            if (predlog_recorder_resize_now(a->rec, fid, now_ns)) {
                a->stats.preallocations++;
            }
        } else {
            /* Unsure: grow by at most 2x, when the buffer fills. */
            predlog_recorder_set_buffer_size(a->rec, fid,
                                             MIN(want, 2 * have));
        }
    } else if (want <= have / 2) {
        if (++f->shrink_votes >= SHRINK_VOTES) {
            /* give the space back now: its records age into the cold tier */
            predlog_recorder_set_buffer_size(a->rec, fid, want);
            predlog_recorder_resize_now(a->rec, fid, now_ns);
            f->shrink_votes = 0;
        }
    } else {
        f->shrink_votes = 0;
    }
    predlog_recorder_get_function_stats(a->rec, fid, &fs);
    f->hot_target = fs.hot_target;
}

/* Close the interval of @f and forecast the next ones. */
static void observe(PredlogAllocator *a, int fid, AllocFunction *f)
{
    PredlogFunctionStats fs;
    double y = f->records;
    double alpha = MIN(1.0, 1.0 / a->intervals);
    PredlogForecast next, peak;

    if (f->records) {
        double p = (double)f->bytes / f->records;

        f->payload = f->payload > 0 ? 0.8 * f->payload + 0.2 * p : p;
    }
    f->mean_rate += alpha * (y - f->mean_rate);
    predlog_forecast_set_update(f->fc, y);
    next = predlog_forecast_set_predict(f->fc, 1);
    peak = predlog_forecast_set_peak(f->fc, a->hot_steps);
    f->forecast = next.value;
    f->peak = MAX(peak.value, y);
    f->confidence = next.confidence;

    predlog_recorder_get_function_stats(a->rec, fid, &fs);
    if (fs.chunk_in >= RATIO_MIN_INPUT) {
        f->ratio = MIN(1.0, (double)fs.chunk_out / fs.chunk_in);
        f->ratio_known = true;
    }
    f->records = 0;
    f->bytes = 0;
    f->stepped = false;
}

/*
 * Gather: close every function's interval and state what it needs at each
 * level over the horizon (a->in, in the order a->order).  Returns how
 * many functions take part; *@hot gets the bytes their fast tiers hold.
 */
static unsigned refresh_gather(PredlogAllocator *a, double *hot)
{
    unsigned n = 0, nf = predlog_recorder_n_functions(a->rec);

    *hot = 0;
    for (unsigned fid = 0; fid < nf; fid++) {
        AllocFunction *f = &a->funcs[fid];
        PredlogGranularityInput *in;
        double rate;

        if (!f->used) {
            continue;
        }
        observe(a, fid, f);
        rate = MAX(f->forecast, f->mean_rate);
        in = &a->in[n];
        for (int l = 0; l <= PREDLOG_RECORD_LEVEL__MAX; l++) {
            in->demand[l] = need_at(a, f, rate, l);
        }
        in->confidence = f->confidence;
        in->current = f->level;
        in->floor = a->cfg.floor;
        if (!f->ratio_known ||
            predlog_forecast_set_samples(f->fc) < PREDLOG_FORECAST_WARMUP) {
            /*
             * Not learned yet (forecast, or what the cold tier makes of
             * its records): keep every record at least as a header, or a
             * function summarised from the start would never show what
             * its records compress to.
             */
            if (predlog_level_rank(in->floor) <
                predlog_level_rank(PREDLOG_RECORD_LEVEL_HEADER)) {
                in->floor = PREDLOG_RECORD_LEVEL_HEADER;
            }
        }
        a->order[n++] = fid;
        *hot += f->hot_target ? f->hot_target : PREDLOG_RECORDER_MIN_BUFFER;
    }
    return n;
}

/*
 * Plan: the level of each of the @n functions so that their needs fit
 * @capacity bytes; returns the bytes the plan needs.
 */
static double refresh_plan(PredlogAllocator *a, unsigned n, double capacity,
                           uint64_t now_ns)
{
    double total = 0;

    predlog_granularity_plan(a->gran, a->in, n, capacity, a->out, a->why);
    for (unsigned i = 0; i < n; i++) {
        int fid = a->order[i];
        AllocFunction *f = &a->funcs[fid];

        if (f->hold) {
            /* a burst just overflowed it: no relief while it may go on */
            f->hold--;
            if (predlog_level_rank(a->out[i]) > predlog_level_rank(f->level)) {
                a->out[i] = f->level;
            }
        }
        if (a->out[i] != f->level) {
            set_level(a, fid, a->out[i],
                      predlog_granularity_reason_str(a->why[i]), now_ns);
        }
        f->need = a->in[i].demand[f->level];
        total += f->need;
    }
    a->stats.plan_fill = capacity > 0 ? total / capacity : 0;
    return total;
}

/*
 * Size the fast tiers, and the allowance past which a burst beyond
 * forecast + the plan's headroom steps down at once.
 */
static void refresh_size(PredlogAllocator *a, unsigned n, double capacity,
                         double total, uint64_t now_ns)
{
    double headroom = a->cfg.granularity.fill_target * capacity - total;

    for (unsigned i = 0; i < n; i++) {
        int fid = a->order[i];
        AllocFunction *f = &a->funcs[fid];
        double per_record = a->intervals * record_bytes(a, f, f->level) *
                            f->ratio;

        size_fast_tier(a, fid, f, now_ns);
        if (per_record > 0) {
            f->allowance = MAX(2.0 * f->peak + 16.0,
                               f->peak + MAX(headroom, 0.0) / per_record);
        } else {
            f->allowance = 0;
        }
    }
}

/* Report: every level change since the last report, to @notify. */
static void refresh_report(PredlogAllocator *a, PredlogLevelChangeFn *notify,
                           void *opaque)
{
    unsigned nf = predlog_recorder_n_functions(a->rec);

    for (unsigned fid = 0; fid < nf; fid++) {
        AllocFunction *f = &a->funcs[fid];

        if (f->used && f->unreported) {
            PredlogLevelChange c = {
                .func_id = fid,
                .from = f->reported,
                .to = f->level,
                .reason = f->reason,
            };
            PredlogFunctionStats fs;

            f->unreported = false;
            if (c.from == c.to || !notify) {
                continue;
            }
            predlog_recorder_get_function_stats(a->rec, fid, &fs);
            c.function = fs.name;
            notify(opaque, &c);
        }
    }
}

void predlog_allocator_refresh(PredlogAllocator *a, uint64_t now_ns,
                               PredlogLevelChangeFn *notify, void *opaque)
{
    uint64_t t0 = thread_cpu_ns();

    predlog_recorder_tick(a->rec, now_ns);
    if (a->cfg.predictive) {
        double hot, capacity, total;
        unsigned n;

        predlog_analyzer_tick(a->an);
        n = refresh_gather(a, &hot);
        capacity = MAX(0.0, (double)a->data_size - hot);
        total = refresh_plan(a, n, capacity, now_ns);
        refresh_size(a, n, capacity, total, now_ns);
    }
    refresh_report(a, notify, opaque);
    a->stats.refreshes++;
    a->stats.cpu_ns += thread_cpu_ns() - t0;
}

bool predlog_allocator_adopt(PredlogAllocator *a, GError **errp)
{
    unsigned nf = predlog_recorder_n_functions(a->rec);

    if (!a->cfg.predictive) {
        return true;            /* sources are the functions, as before */
    }
    for (unsigned fid = 0; fid < nf; fid++) {
        PredlogFunctionStats fs;
        g_autofree char *src = NULL;
        const char *slash;
        int source = -1, cls;

        if (a->funcs[fid].used ||
            !predlog_recorder_get_function_stats(a->rec, fid, &fs)) {
            continue;
        }
        slash = strchr(fs.name, '/');
        src = g_strndup(fs.name, slash ? (gsize)(slash - fs.name)
                                       : strlen(fs.name));
        for (guint i = 0; i < a->sources->len; i++) {
            if (!strcmp(g_array_index(a->sources, AllocSource, i).name,
                        src)) {
                source = i;
            }
        }
        cls = source < 0 || !slash ? -1 :
              predlog_analyzer_lookup(a->an, src, slash + 1, NULL);
        if (cls < 0 || a->fid_of_class[cls] >= 0) {
            g_set_error(errp, ALLOC_ERROR, 0,
                        "the pool's function '%s' belongs to no source of "
                        "this device", fs.name);
            return false;
        }
        a->fid_of_class[cls] = fid;
        function_init(a, fid, source, cls);
        a->funcs[fid].level = fs.level;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Inspection and control                                              */
/* ------------------------------------------------------------------ */

bool predlog_allocator_set_model(PredlogAllocator *a, const char *function,
                                 PredlogForecastModel model, GError **errp)
{
    unsigned matched = 0;

    if (!a->cfg.predictive) {
        g_set_error(errp, ALLOC_ERROR, 0,
                    "forecasting is off: the device's policy is not "
                    "'predictive'");
        return false;
    }
    if ((unsigned)model >= PREDLOG_FORECAST__MAX) {
        g_set_error(errp, ALLOC_ERROR, 0, "unknown forecasting model");
        return false;
    }
    for (unsigned fid = 0; fid < a->max_functions; fid++) {
        AllocFunction *f = &a->funcs[fid];
        const AllocSource *s;
        PredlogFunctionStats fs;

        if (!f->used) {
            continue;
        }
        s = &g_array_index(a->sources, AllocSource, f->source);
        predlog_recorder_get_function_stats(a->rec, fid, &fs);
        if (function && strcmp(function, fs.name) &&
            strcmp(function, s->name)) {
            continue;
        }
        predlog_forecast_set_select(f->fc, model);
        matched++;
    }
    if (!function) {
        /* functions created later follow too */
        a->cfg.model = model;
        return true;
    }
    if (!matched) {
        g_set_error(errp, ALLOC_ERROR, 0,
                    "no function or source named '%s' has logged yet",
                    function);
        return false;
    }
    return true;
}

unsigned predlog_allocator_n_functions(PredlogAllocator *a)
{
    return predlog_recorder_n_functions(a->rec);
}

bool predlog_allocator_function_info(PredlogAllocator *a, int func_id,
                                     PredlogAllocatorFunctionInfo *info)
{
    const AllocFunction *f;
    const AllocSource *s;
    PredlogFunctionStats fs;
    PredlogForecastScore sc;

    if (func_id < 0 || (unsigned)func_id >= a->max_functions ||
        !a->funcs[func_id].used ||
        !predlog_recorder_get_function_stats(a->rec, func_id, &fs)) {
        return false;
    }
    f = &a->funcs[func_id];
    s = &g_array_index(a->sources, AllocSource, f->source);
    memset(info, 0, sizeof(*info));
    info->func_id = func_id;
    info->function = fs.name;
    info->source = s->name;
    info->level = fs.level;
    info->hot_target = fs.hot_target;
    info->cold_budget = fs.cold_budget;
    info->compression = fs.chunk_in ? (double)fs.chunk_out / fs.chunk_in : 1;
    info->reason = "";
    if (!f->fc) {
        return true;
    }
    info->class_name = predlog_analyzer_class_name(a->an, f->cls);
    info->class_name = strchr(info->class_name, '/') ?
                       strchr(info->class_name, '/') + 1 : info->class_name;
    info->mode = predlog_forecast_set_mode(f->fc);
    info->model = predlog_forecast_set_active(f->fc);
    info->forecast = f->forecast * 1000.0 / a->cfg.refresh_ms;
    info->confidence = f->confidence;
    info->period = predlog_forecast_set_period(f->fc);
    predlog_forecast_set_score(f->fc, info->model, &sc);
    info->smape = sc.smape;
    info->reason = f->reason;
    info->level_changes = f->level_changes;
    info->need = f->need;
    return true;
}

void predlog_allocator_get_stats(PredlogAllocator *a,
                                 PredlogAllocatorStats *stats)
{
    *stats = a->stats;
}
