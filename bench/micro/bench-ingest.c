/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Micro-benchmark: host-side ingest cost per record, predlog vs LTTng-UST
 *
 * What one logged I/O event costs the thread that logs it, for predlog's
 * record path (predlog_recorder_log() into a 64 MiB pool) and, in the same
 * run, for an LTTng-UST tracepoint carrying the same payload and the same
 * header fields, recording into a real session's ring buffer.  LTTng runs
 * in overwrite ("flight recorder", snapshot) mode: predlog never blocks
 * or drops a record when its pool is full either, it evicts or wraps, so
 * that is the like-for-like baseline; LTTng's default discard mode would
 * instead get cheaper the more events it throws away.
 *
 * Rows:
 *   predlog dynamic/fixed, heap/shm   predlog_recorder_log() alone, policy
 *                                     DYNAMIC or FIXED, pool in g_malloc'd
 *                                     memory or in a MAP_SHARED file of
 *                                     /dev/shm (the crash-surviving setup);
 *                                     one clock read per record, because a
 *                                     tracer reads its clock inside the
 *                                     tracepoint too
 *   predlog dyn+mutex, shm            dynamic/shm with a GMutex lock/unlock
 *                                     around each call, as the device takes
 *                                     (it also reads a second clock, not
 *                                     counted here)
 *   lttng disabled                    the tracepoint compiled in, no session:
 *                                     the price of instrumented-but-off
 *   lttng enabled, overwrite          the tracepoint enabled in a snapshot
 *                                     session, per-UID 8 x 4 MiB per CPU
 *
 * Each cell is the median ns/record of several timed batches of N calls,
 * after a warm-up long enough to fill the pool (resp. the ring buffers)
 * twice, so that the steady state (eviction, wrapping, overwriting) is
 * what gets timed.  Nothing here asserts a timing.
 *
 * The benchmark drives lttng(1) itself and starts lttng-sessiond if none
 * runs (and stops it again afterwards).  Without LTTng it exits with 1.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "hw/predlog/core/recorder.h"
#include "bench-ingest-tp.h"

#define REGION_SIZE     (64u * 1024 * 1024)
#define SRC_SIZE        (256u * 1024)   /* rotating payload source */
#define MAX_FUNCTIONS   16              /* device default max-functions */
#define BUFFER_SIZE     (512u * 1024)   /* device default buffer-size */
#define SNAPLEN         65535           /* device default snaplen */
#define SESSION         "predlog-bench"
#define CHANNEL         "ch"
/* LTTng ring: per CPU, about what predlog's pool is in total */
#define LTTNG_SUBBUF    "4M"
#define LTTNG_NUM_SUBBUF "8"
#define LTTNG_RING_SIZE (32u * 1024 * 1024)
#define ENABLE_TIMEOUT_US   (10 * G_USEC_PER_SEC)

typedef enum BenchRow {
    ROW_DYN_HEAP,
    ROW_DYN_SHM,
    ROW_FIXED_HEAP,
    ROW_FIXED_SHM,
    ROW_DEVICE_SHM,
    ROW_LTTNG_OFF,
    ROW_LTTNG_ON,
    ROW__MAX,
} BenchRow;

static const char *const row_names[ROW__MAX] = {
    [ROW_DYN_HEAP] = "predlog dynamic, heap",
    [ROW_DYN_SHM] = "predlog dynamic, shm",
    [ROW_FIXED_HEAP] = "predlog fixed, heap",
    [ROW_FIXED_SHM] = "predlog fixed, shm",
    [ROW_DEVICE_SHM] = "predlog dyn+mutex, shm",
    [ROW_LTTNG_OFF] = "lttng disabled",
    [ROW_LTTNG_ON] = "lttng enabled, overwrite",
};

static const uint32_t sizes[] = { 64, 256, 1500 };
#define N_SIZES G_N_ELEMENTS(sizes)

typedef struct Cell {
    bool done;
    double median, min, max;    /* ns/record */
    uint64_t failed;            /* predlog: records not logged OK */
} Cell;

typedef struct Bench {
    uint8_t *src;
    uint8_t *heap;
    uint8_t *shm;               /* NULL if /dev/shm is not usable */
    uint64_t reps;
    uint64_t calls;             /* per timed batch */
    Cell cells[ROW__MAX][N_SIZES];
    bool started_sessiond;
    char *tmpdir;               /* session output and our pid file */
    char *pidfile;              /* of the lttng-sessiond we started */
    char *lttng_stats;          /* the channel's statistics, as listed */
} Bench;

static inline uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Walk the payload source in 64-byte steps, so no row times a payload
 * that sits in L1 from the previous call.  A compare rather than a
 * modulo: the division would be a fixed cost in every row, the disabled
 * tracepoint included, hiding what is measured.
 */
static inline size_t next_off(size_t off, uint32_t payload)
{
    off += 64;
    return off + payload > SRC_SIZE ? 0 : off;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/*
 * One batch of @n predlog records; returns the elapsed ns.  @locked takes
 * a mutex around each call, as predlog_log() in the device does
 * (hw/predlog/predlog-backend.c: the recorder is not thread-safe).  The
 * mutex is uncontended here, as it is while one netdev logs.
 */
static uint64_t batch_predlog(PredlogRecorder *rec, int fid,
                              const uint8_t *src, uint32_t payload,
                              uint64_t n, bool locked, GMutex *lock,
                              uint64_t *failed)
{
    PredlogPiece piece = { .len = payload };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_NET_PACKET,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .aux = PREDLOG_NET_FROM_GUEST,
        .orig_len = payload,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = SNAPLEN,
    };
    size_t off = 0;
    uint64_t bad = 0;
    uint64_t start = clock_ns(CLOCK_MONOTONIC);

    if (locked) {
        for (uint64_t i = 0; i < n; i++) {
            uint64_t now = clock_ns(CLOCK_MONOTONIC);

            piece.data = src + off;
            e.timestamp_ns = now;
            g_mutex_lock(lock);
            bad += predlog_recorder_log(rec, fid, &e, now, NULL) !=
                   PREDLOG_LOG_OK;
            g_mutex_unlock(lock);
            off = next_off(off, payload);
        }
    } else {
        for (uint64_t i = 0; i < n; i++) {
            uint64_t now = clock_ns(CLOCK_MONOTONIC);

            piece.data = src + off;
            e.timestamp_ns = now;
            bad += predlog_recorder_log(rec, fid, &e, now, NULL) !=
                   PREDLOG_LOG_OK;
            off = next_off(off, payload);
        }
    }
    *failed += bad;
    return clock_ns(CLOCK_MONOTONIC) - start;
}

/* The same payload and header fields through the LTTng tracepoint */
static uint64_t batch_lttng(const uint8_t *src, uint32_t payload,
                            uint64_t n, uint64_t *seq)
{
    size_t off = 0;
    uint64_t start = clock_ns(CLOCK_MONOTONIC);

    for (uint64_t i = 0; i < n; i++) {
        tracepoint(predlog_bench, record, 0, ++*seq, payload, src + off,
                   payload);
        off = next_off(off, payload);
    }
    return clock_ns(CLOCK_MONOTONIC) - start;
}

/*
 * Calls to make before timing: enough to cycle @ring bytes twice, so the
 * timed batches see the steady state, not a pool that is still filling.
 */
static uint64_t warmup_calls(Bench *b, uint32_t payload, uint64_t ring)
{
    uint64_t rec_size = predlog_record_size(payload);

    return MAX(b->calls, 2 * ring / rec_size);
}

static void finish_cell(Bench *b, Cell *c, double *ns)
{
    qsort(ns, b->reps, sizeof(*ns), cmp_double);
    c->done = true;
    c->min = ns[0];
    c->max = ns[b->reps - 1];
    c->median = b->reps % 2 ? ns[b->reps / 2] :
                (ns[b->reps / 2 - 1] + ns[b->reps / 2]) / 2;
}

static bool measure_predlog(Bench *b, BenchRow row, size_t si)
{
    bool fixed = row == ROW_FIXED_HEAP || row == ROW_FIXED_SHM;
    bool locked = row == ROW_DEVICE_SHM;
    uint8_t *base = (row == ROW_DYN_HEAP || row == ROW_FIXED_HEAP) ?
                    b->heap : b->shm;
    PredlogRecorderConfig cfg = {
        .policy = fixed ? PREDLOG_POLICY_FIXED : PREDLOG_POLICY_DYNAMIC,
        .max_functions = MAX_FUNCTIONS,
        .buffer_size = BUFFER_SIZE,
        .name = "bench-ingest",
    };
    g_autoptr(GError) err = NULL;
    g_autofree double *ns = g_new(double, b->reps);
    Cell *c = &b->cells[row][si];
    PredlogRecorder *rec;
    GMutex lock;
    uint64_t warm;
    int fid;

    if (!base) {
        return true;            /* no /dev/shm: row left empty */
    }
    rec = predlog_recorder_new(base, REGION_SIZE, &cfg, &err);
    if (!rec) {
        g_printerr("bench-ingest: recorder: %s\n", err->message);
        return false;
    }
    fid = predlog_recorder_add_function(rec, PREDLOG_FUNCTION_NET, "net0",
                                        clock_ns(CLOCK_MONOTONIC), &err);
    if (fid < 0) {
        g_printerr("bench-ingest: add function: %s\n", err->message);
        predlog_recorder_free(rec);
        return false;
    }
    g_mutex_init(&lock);
    warm = warmup_calls(b, sizes[si], REGION_SIZE);
    batch_predlog(rec, fid, b->src, sizes[si], warm, locked, &lock,
                  &c->failed);
    for (uint64_t r = 0; r < b->reps; r++) {
        ns[r] = (double)batch_predlog(rec, fid, b->src, sizes[si], b->calls,
                                      locked, &lock, &c->failed) / b->calls;
    }
    g_mutex_clear(&lock);
    predlog_recorder_free(rec);
    finish_cell(b, c, ns);
    return true;
}

static void measure_lttng(Bench *b, BenchRow row, size_t si)
{
    g_autofree double *ns = g_new(double, b->reps);
    uint64_t seq = 0;

    batch_lttng(b->src, sizes[si], warmup_calls(b, sizes[si],
                                                LTTNG_RING_SIZE), &seq);
    for (uint64_t r = 0; r < b->reps; r++) {
        ns[r] = (double)batch_lttng(b->src, sizes[si], b->calls, &seq) /
                b->calls;
    }
    finish_cell(b, &b->cells[row][si], ns);
}

/*
 * Run a command (NULL-terminated arguments), its output to *@out if
 * non-NULL; on failure print what it said, unless @quiet.
 */
static G_GNUC_NULL_TERMINATED bool run_cmd(bool quiet, char **out,
                                           const char *arg0, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *sout = NULL;
    g_autofree char *serr = NULL;
    g_autoptr(GError) err = NULL;
    int status;
    va_list ap;

    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        g_ptr_array_add(argv, (gpointer)a);
    }
    va_end(ap);
    g_ptr_array_add(argv, NULL);

    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH,
                      NULL, NULL, &sout, &serr, &status, &err) ||
        !g_spawn_check_exit_status(status, &err)) {
        if (!quiet) {
            g_printerr("bench-ingest: '%s %s' failed: %s\n%s%s",
                       arg0, argv->len > 2 ? (char *)argv->pdata[1] : "",
                       err->message, sout ? sout : "", serr ? serr : "");
        }
        return false;
    }
    if (out) {
        *out = g_steal_pointer(&sout);
    }
    return true;
}

/*
 * Make sure a session daemon answers.  One we start here is the root
 * daemon when run as root, else the per-user one; both are fine, the
 * benchmark's events are per-UID either way.
 */
static bool lttng_ensure_sessiond(Bench *b)
{
    g_autofree char *pidarg = NULL;

    if (run_cmd(true, NULL, "lttng", "list", NULL)) {
        return true;
    }
    /*
     * --daemonize returns once the daemon accepts commands; the pid file
     * is ours, so that we stop exactly this daemon at the end.
     */
    b->pidfile = g_build_filename(b->tmpdir, "lttng-sessiond.pid", NULL);
    pidarg = g_strdup_printf("--pidfile=%s", b->pidfile);
    if (!run_cmd(false, NULL, "lttng-sessiond", "--daemonize", pidarg,
                 NULL)) {
        return false;
    }
    b->started_sessiond = true;
    g_print("started lttng-sessiond; stopped again at the end\n");
    return run_cmd(false, NULL, "lttng", "list", NULL);
}

/* Stop the session daemon this program started, and only that one */
static void lttng_stop_sessiond(Bench *b)
{
    g_autofree char *text = NULL;
    gint64 pid;

    if (!b->started_sessiond) {
        return;
    }
    if (!g_file_get_contents(b->pidfile, &text, NULL, NULL)) {
        g_printerr("bench-ingest: no %s; lttng-sessiond left running\n",
                   b->pidfile);
        return;
    }
    pid = g_ascii_strtoll(text, NULL, 10);
    if (pid > 1) {
        /* it stops its consumer daemons itself */
        kill((pid_t)pid, SIGTERM);
    }
    g_unlink(b->pidfile);
}

/*
 * Snapshot session, one overwrite channel, our event enabled and started;
 * then wait until this process actually sees the tracepoint enabled (the
 * application registers with the daemon asynchronously, in particular if
 * the daemon was started after this program).
 */
static bool lttng_session_start(Bench *b)
{
    g_autofree char *output = g_strdup_printf("--output=%s", b->tmpdir);
    gint64 deadline;

    /* a session left behind by an interrupted run would be in the way */
    run_cmd(true, NULL, "lttng", "destroy", SESSION, NULL);
    if (!run_cmd(false, NULL, "lttng", "create", SESSION, "--snapshot",
                 output, NULL) ||
        !run_cmd(false, NULL, "lttng", "enable-channel", "-u", "-s", SESSION,
                 "--overwrite", "--buffers-uid",
                 "--subbuf-size=" LTTNG_SUBBUF,
                 "--num-subbuf=" LTTNG_NUM_SUBBUF, CHANNEL, NULL) ||
        !run_cmd(false, NULL, "lttng", "enable-event", "-u", "-s", SESSION,
                 "-c", CHANNEL, "predlog_bench:*", NULL) ||
        !run_cmd(false, NULL, "lttng", "start", SESSION, NULL)) {
        return false;
    }
    deadline = g_get_monotonic_time() + ENABLE_TIMEOUT_US;
    while (!tracepoint_enabled(predlog_bench, record)) {
        if (g_get_monotonic_time() > deadline) {
            g_printerr("bench-ingest: the session started, but the "
                       "tracepoint did not get enabled in this process "
                       "within %d s\n",
                       (int)(ENABLE_TIMEOUT_US / G_USEC_PER_SEC));
            return false;
        }
        g_usleep(10 * 1000);
    }
    return true;
}

/*
 * Keep the channel's statistics (discarded events, lost packets) for the
 * report, so a reader can see LTTng did record rather than drop.
 */
static void lttng_session_end(Bench *b)
{
    g_autofree char *list = NULL;
    const char *stats;

    stats = run_cmd(false, &list, "lttng", "list", SESSION, "-c", CHANNEL,
                    NULL) ? strstr(list, "Statistics:") : NULL;
    if (stats) {
        const char *end = strstr(stats, "\n\n");

        stats += strlen("Statistics:");
        b->lttng_stats = g_strstrip(g_strndup(stats, end ?
                                              (size_t)(end - stats) :
                                              strlen(stats)));
    }
    run_cmd(false, NULL, "lttng", "stop", SESSION, NULL);
    run_cmd(false, NULL, "lttng", "destroy", SESSION, NULL);
}

/*
 * The pool as the device maps it for crash survival: a shared mapping of
 * a file.  Unlinked at once, so no run leaves files behind in /dev/shm.
 */
static uint8_t *shm_map(void)
{
    g_autofree char *path = g_strdup_printf("/dev/shm/predlog-bench-%d",
                                            (int)getpid());
    void *p;
    int fd;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        g_printerr("bench-ingest: %s: %s; shm rows skipped\n", path,
                   g_strerror(errno));
        return NULL;
    }
    unlink(path);
    if (ftruncate(fd, REGION_SIZE) < 0) {
        g_printerr("bench-ingest: ftruncate %s: %s; shm rows skipped\n",
                   path, g_strerror(errno));
        close(fd);
        return NULL;
    }
    p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        g_printerr("bench-ingest: mmap %s: %s; shm rows skipped\n", path,
                   g_strerror(errno));
        return NULL;
    }
    return p;
}

static void print_tables(Bench *b)
{
    g_print("\n%-26s", "ns/record: median [min-max]");
    for (size_t s = 0; s < N_SIZES; s++) {
        g_autofree char *h = g_strdup_printf("%u B", sizes[s]);

        g_print(" %22s", h);
    }
    g_print("\n");
    for (int r = 0; r < ROW__MAX; r++) {
        g_print("%-26s", row_names[r]);
        for (size_t s = 0; s < N_SIZES; s++) {
            const Cell *c = &b->cells[r][s];
            g_autofree char *t = c->done ?
                g_strdup_printf("%.1f [%.1f-%.1f]", c->median, c->min,
                                c->max) : g_strdup("-");

            g_print(" %22s", t);
        }
        g_print("\n");
    }

    g_print("\n%-26s", "ratio to lttng enabled");
    for (size_t s = 0; s < N_SIZES; s++) {
        g_autofree char *h = g_strdup_printf("%u B", sizes[s]);

        g_print(" %22s", h);
    }
    g_print("\n");
    for (int r = 0; r < ROW__MAX; r++) {
        if (r == ROW_LTTNG_ON) {
            continue;
        }
        g_print("%-26s", row_names[r]);
        for (size_t s = 0; s < N_SIZES; s++) {
            const Cell *c = &b->cells[r][s];
            const Cell *base = &b->cells[ROW_LTTNG_ON][s];

            if (c->done && base->done) {
                g_print(" %21.2fx", c->median / base->median);
            } else {
                g_print(" %22s", "-");
            }
        }
        g_print("\n");
    }

    if (b->lttng_stats) {
        /* "None": no discarded events, no lost packets */
        g_print("\nLTTng channel statistics: %s\n", b->lttng_stats);
    }
    for (int r = 0; r < ROW_LTTNG_OFF; r++) {
        for (size_t s = 0; s < N_SIZES; s++) {
            if (b->cells[r][s].failed) {
                g_print("note: %s, %u B: %" G_GUINT64_FORMAT
                        " records not logged OK\n", row_names[r], sizes[s],
                        b->cells[r][s].failed);
            }
        }
    }
}

int main(int argc, char **argv)
{
    gboolean quick = FALSE;
    gint reps = 7;
    gint64 calls = 200000;
    GOptionEntry entries[] = {
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick,
          "Short runs (3 x 20000 calls) for smoke testing", NULL },
        { "reps", 'r', 0, G_OPTION_ARG_INT, &reps,
          "Timed batches per cell (default 7)", "N" },
        { "calls", 'n', 0, G_OPTION_ARG_INT64, &calls,
          "Calls per timed batch (default 200000)", "N" },
        { 0 }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- ingest cost per record, predlog vs LTTng-UST");
    g_autoptr(GError) err = NULL;
    Bench b = { 0 };
    GRand *rand;
    int ret = 0;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("bench-ingest: %s\n", err->message);
        return 2;
    }
    if (quick) {
        reps = 3;
        calls = 20000;
    }
    if (reps < 1 || calls < 1) {
        g_printerr("bench-ingest: --reps and --calls must be positive\n");
        return 2;
    }
    b.reps = reps;
    b.calls = calls;

    b.tmpdir = g_dir_make_tmp("predlog-bench-XXXXXX", &err);
    if (!b.tmpdir) {
        g_printerr("bench-ingest: %s\n", err->message);
        return 1;
    }
    /* Fail before measuring anything if the baseline cannot run */
    if (!lttng_ensure_sessiond(&b)) {
        g_printerr("bench-ingest: LTTng is not usable (lttng-tools and "
                   "lttng-sessiond needed; ./configure installs them)\n");
        g_rmdir(b.tmpdir);
        return 1;
    }

    b.src = g_malloc(SRC_SIZE);
    rand = g_rand_new_with_seed(1);
    for (size_t i = 0; i < SRC_SIZE; i++) {
        b.src[i] = (uint8_t)g_rand_int(rand);
    }
    g_rand_free(rand);
    b.heap = g_malloc0(REGION_SIZE);
    b.shm = shm_map();

    g_print("ingest cost per record: predlog pool %u MiB (%u functions, "
            "%u KiB buffers), LTTng %s x %s per CPU, overwrite;\n"
            "%" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT
            " calls per cell after warm-up; CRC32C %s\n",
            REGION_SIZE >> 20, MAX_FUNCTIONS, BUFFER_SIZE >> 10,
            LTTNG_NUM_SUBBUF, LTTNG_SUBBUF, b.reps, b.calls,
            predlog_crc32c_accelerated() ? "SSE4.2" : "portable");

    for (size_t s = 0; s < N_SIZES && !ret; s++) {
        for (int r = 0; r < ROW_LTTNG_OFF; r++) {
            if (!measure_predlog(&b, r, s)) {
                ret = 1;
                break;
            }
        }
        measure_lttng(&b, ROW_LTTNG_OFF, s);
    }
    if (!ret) {
        if (lttng_session_start(&b)) {
            for (size_t s = 0; s < N_SIZES; s++) {
                measure_lttng(&b, ROW_LTTNG_ON, s);
            }
        } else {
            g_printerr("bench-ingest: cannot record with LTTng\n");
            ret = 1;
        }
        lttng_session_end(&b);
    }
    if (!ret) {
        print_tables(&b);
    }

    lttng_stop_sessiond(&b);
    g_rmdir(b.tmpdir);
    g_free(b.tmpdir);
    g_free(b.pidfile);
    g_free(b.lttng_stats);
    if (b.shm) {
        munmap(b.shm, REGION_SIZE);
    }
    g_free(b.heap);
    g_free(b.src);
    return ret;
}
