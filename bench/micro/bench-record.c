/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Micro-benchmark of the predlog record codec
 *
 * Writes records of 64 and 1500 payload bytes into a 64 MiB circular
 * buffer for about a second each and, in the same run, does the same with
 * a plain memcpy of the payload (what a fixed circular buffer without
 * headers or checksums costs), so that the codec's cost is printed as a
 * ratio to that baseline.  It also times decoding, the recovery side.
 * Nothing here asserts a timing.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "hw/predlog/core/record.h"

#define RING_SIZE       (64u * 1024 * 1024)
#define SRC_SIZE        (256u * 1024)   /* rotating payload source */
#define CHECK_EVERY     1024            /* records between clock reads */
/* a pool's salt (record.h); its cost does not depend on the value */
#define SALT            0x3c6ef372fe94f82bull

typedef struct BenchResult {
    uint64_t records;
    double seconds;
} BenchResult;

static volatile uint64_t sink; /* keeps the timed work from being elided */

static double ns_per_record(const BenchResult *r)
{
    return r->seconds * 1e9 / (double)r->records;
}

static double mb_per_s(const BenchResult *r, uint32_t payload)
{
    return (double)r->records * payload / r->seconds / 1e6;
}

static uint8_t *ring_alloc(void)
{
    uint8_t *ring = g_malloc(RING_SIZE);

    /* Fault every page in now, so no run pays for it. */
    memset(ring, 0, RING_SIZE);
    return ring;
}

/* Baseline: a fixed circular buffer that stores the payload, nothing more */
static BenchResult run_memcpy(uint8_t *ring, const uint8_t *src,
                              uint32_t payload, double budget)
{
    size_t step = (payload + 7) & ~(size_t)7;
    size_t head = 0, src_off = 0;
    gint64 start = g_get_monotonic_time(), now;
    BenchResult r = { 0 };

    do {
        for (int i = 0; i < CHECK_EVERY; i++) {
            if (head + step > RING_SIZE) {
                head = 0;
            }
            memcpy(ring + head, src + src_off, payload);
            head += step;
            src_off = (src_off + 64) % (SRC_SIZE - payload);
        }
        r.records += CHECK_EVERY;
        now = g_get_monotonic_time();
    } while (now - start < budget * 1e6);
    r.seconds = (now - start) / 1e6;
    sink += ring[head / 2];
    return r;
}

static BenchResult run_encode(uint8_t *ring, const uint8_t *src,
                              uint32_t payload, double budget)
{
    PredlogRecordHeader h = {
        .type = PREDLOG_RECORD_TYPE_NET_PACKET,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = 1,
        .orig_len = payload,
        .stored_len = payload,
    };
    size_t head = 0, src_off = 0;
    gint64 start = g_get_monotonic_time(), now;
    BenchResult r = { 0 };

    do {
        for (int i = 0; i < CHECK_EVERY; i++) {
            size_t n;

            h.seq++;
            h.timestamp_ns += 1000;
            n = predlog_record_encode(ring + head, RING_SIZE - head, SALT,
                                      &h, src + src_off);
            if (!n) {
                head = 0;
                n = predlog_record_encode(ring, RING_SIZE, SALT, &h,
                                          src + src_off);
            }
            head += n;
            src_off = (src_off + 64) % (SRC_SIZE - payload);
        }
        r.records += CHECK_EVERY;
        now = g_get_monotonic_time();
    } while (now - start < budget * 1e6);
    r.seconds = (now - start) / 1e6;
    return r;
}

/* Reads back the ring run_encode() left: full validation of each record */
static BenchResult run_decode(const uint8_t *ring, double budget)
{
    size_t off = 0;
    gint64 start = g_get_monotonic_time(), now;
    BenchResult r = { 0 };
    uint64_t bad = 0;

    do {
        for (int i = 0; i < CHECK_EVERY; i++) {
            PredlogRecordView v;

            if (predlog_record_decode(ring + off, RING_SIZE - off, SALT,
                                      &v) != PREDLOG_RECORD_VALID) {
                /* the unused tail of the ring: start over */
                bad++;
                off = 0;
                continue;
            }
            sink += v.hdr.seq;
            off += v.size;
        }
        r.records += CHECK_EVERY;
        now = g_get_monotonic_time();
    } while (now - start < budget * 1e6);
    r.seconds = (now - start) / 1e6;
    /* the restarts were not records */
    r.records -= bad;
    return r;
}

static void print_row(uint32_t payload, const char *path,
                      const BenchResult *r, const BenchResult *base)
{
    g_print("%7u  %-17s %10" G_GUINT64_FORMAT " %9.1f %9.0f %9.2fx\n",
            payload, path, r->records, ns_per_record(r),
            mb_per_s(r, payload), ns_per_record(r) / ns_per_record(base));
}

int main(int argc, char **argv)
{
    static const uint32_t sizes[] = { 64, 1500 };
    gboolean quick = FALSE;
    double seconds = 1.0;
    GOptionEntry entries[] = {
        { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick,
          "Short runs (0.1 s per row) for smoke testing", NULL },
        { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
          "Seconds per row (default 1)", "SEC" },
        { 0 }
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- predlog record codec micro-benchmark");
    g_autoptr(GError) err = NULL;
    g_autofree uint8_t *ring = NULL;
    g_autofree uint8_t *src = NULL;
    GRand *rand;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        g_printerr("bench-record: %s\n", err->message);
        return 2;
    }
    if (quick) {
        seconds = 0.1;
    }
    if (seconds <= 0) {
        g_printerr("bench-record: --seconds must be positive\n");
        return 2;
    }

    src = g_malloc(SRC_SIZE);
    rand = g_rand_new_with_seed(1);
    for (size_t i = 0; i < SRC_SIZE; i++) {
        src[i] = (uint8_t)g_rand_int(rand);
    }
    g_rand_free(rand);
    ring = ring_alloc();

    g_print("predlog record codec: %u MiB ring, %.1f s per row, "
            "CRC32C %s\n", RING_SIZE >> 20, seconds,
            predlog_crc32c_accelerated() ? "SSE4.2" : "portable");
    g_print("%7s  %-17s %10s %9s %9s %10s\n", "payload", "path", "records",
            "ns/rec", "MB/s", "vs memcpy");
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        BenchResult base, enc, dec;

        base = run_memcpy(ring, src, sizes[i], seconds);
        enc = run_encode(ring, src, sizes[i], seconds);
        dec = run_decode(ring, seconds);
        print_row(sizes[i], "memcpy (baseline)", &base, &base);
        print_row(sizes[i], "record encode", &enc, &base);
        print_row(sizes[i], "record decode", &dec, &base);
    }
    return 0;
}
