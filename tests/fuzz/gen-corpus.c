/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the seed corpora of the fuzz targets: real records, summaries,
 * chunks and pool images made by the core's own encoders and recorder,
 * so that the fuzzer starts from inputs that reach deep into each
 * decoder instead of having to discover the CRCs.
 *
 *   gen-corpus OUTDIR     writes OUTDIR/<target>/seed-*
 *
 * The committed corpora (tests/fuzz/corpus/) were made with it and then
 * grown (and minimised) by fuzzing; see tests/fuzz/README.md.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/summary.h"
#include "qemu/predlog/byteorder.h"
#include "fuzz-common.h"

#define BASE_NS 1764000000000000000ull
/* the pools' salt: fixed, so that the seeds do not change between runs */
#define POOL_SALT 0xa54ff53a5f1d36f1ull

static const char *outdir;

static void put(const char *target, const char *name, const void *data,
                size_t len)
{
    g_autofree char *dir = g_build_filename(outdir, target, NULL);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) err = NULL;

    if (g_mkdir_with_parents(dir, 0777) < 0 ||
        !g_file_set_contents(path, data, len, &err)) {
        fprintf(stderr, "gen-corpus: %s: %s\n", path,
                err ? err->message : g_strerror(errno));
        exit(1);
    }
}

/* Append one record checksummed with @salt to @out; returns its size. */
static size_t add_record(GByteArray *out, uint64_t salt,
                         PredlogRecordType type, PredlogRecordLevel level,
                         uint16_t func, uint64_t seq, uint32_t aux,
                         const void *payload, uint32_t stored, uint32_t orig)
{
    PredlogRecordHeader h = {
        .type = type, .level = level, .func_id = func, .seq = seq,
        .timestamp_ns = BASE_NS + seq * 1000, .aux = aux,
        .stored_len = stored, .orig_len = orig,
    };
    size_t size = predlog_record_size(stored), at = out->len;

    g_byte_array_set_size(out, at + size);
    if (predlog_record_encode(out->data + at, size, salt, &h, payload) !=
        size) {
        fprintf(stderr, "gen-corpus: a record did not encode\n");
        exit(1);
    }
    return size;
}

static void frame(uint8_t *f, size_t len, unsigned n)
{
    for (size_t i = 0; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + n);
    }
}

static void gen_records(void)
{
    uint8_t payload[300], block[PREDLOG_BLOCK_EVENT_LEN + 16] = { 0 };
    uint8_t guest[PREDLOG_GUEST_PREFIX_LEN + 12] = { 0 };
    uint8_t sum[PREDLOG_SUMMARY_LEN];
    PredlogSummary s;
    GByteArray *b;

    frame(payload, sizeof(payload), 1);
    put_le64(block + PREDLOG_BLOCK_OFF_OFFSET, 4096);
    put_le64(block + PREDLOG_BLOCK_OFF_BYTES, 16);
    memcpy(guest + PREDLOG_GUEST_PREFIX_LEN, "hello, guest", 12);
    predlog_summary_reset(&s);
    for (unsigned i = 0; i < 5; i++) {
        predlog_summary_add(&s, 10 + i, BASE_NS + i, 60 + 100 * i, 1);
    }
    predlog_summary_encode(&s, sum, sizeof(sum));

    b = g_byte_array_new();
    add_record(b, 0, PREDLOG_RECORD_TYPE_NET_PACKET,
               PREDLOG_RECORD_LEVEL_FULL, 0, 1, PREDLOG_NET_FROM_GUEST,
               payload, 300, 300);
    put("record", "seed-net", b->data, b->len);
    g_byte_array_set_size(b, 0);
    add_record(b, 0, PREDLOG_RECORD_TYPE_NET_PACKET,
               PREDLOG_RECORD_LEVEL_HEADER, 3, 7, PREDLOG_NET_TO_GUEST,
               payload, 128, 1500);
    put("record", "seed-net-header", b->data, b->len);
    g_byte_array_set_size(b, 0);
    add_record(b, 0, PREDLOG_RECORD_TYPE_BLOCK_REQUEST,
               PREDLOG_RECORD_LEVEL_FULL, 1, 2, PREDLOG_BLOCK_WRITE, block,
               sizeof(block), sizeof(block));
    add_record(b, 0, PREDLOG_RECORD_TYPE_GUEST, PREDLOG_RECORD_LEVEL_FULL, 1,
               3, 6, guest, sizeof(guest), sizeof(guest));
    put("record", "seed-block-guest", b->data, b->len);
    g_byte_array_set_size(b, 0);
    add_record(b, 0, PREDLOG_RECORD_TYPE_SUMMARY,
               PREDLOG_RECORD_LEVEL_SUMMARY, 2, 14,
               PREDLOG_RECORD_TYPE_NET_PACKET, sum, sizeof(sum), sizeof(sum));
    put("record", "seed-summary", b->data, b->len);
    /* torn: the seal was never stored */
    memset(b->data + b->len - PREDLOG_RECORD_SEAL_LEN, 0,
           PREDLOG_RECORD_SEAL_LEN);
    put("record", "seed-torn", b->data, b->len);
    g_byte_array_unref(b);

    put("summary", "seed-5", sum, sizeof(sum));
    predlog_summary_reset(&s);
    predlog_summary_add(&s, 1, BASE_NS, 0, 9);
    predlog_summary_encode(&s, sum, sizeof(sum));
    put("summary", "seed-1", sum, sizeof(sum));
}

static void gen_chunks(void)
{
    uint8_t payload[200];
    GByteArray *raw = g_byte_array_new();
    GByteArray *in = g_byte_array_new();
    size_t cap, n;
    uint8_t *z;
    uint8_t claim[4];

    frame(payload, sizeof(payload), 2);
    for (unsigned i = 0; i < 6; i++) {
        add_record(raw, FUZZ_SALT, PREDLOG_RECORD_TYPE_NET_PACKET,
                   PREDLOG_RECORD_LEVEL_FULL, 0, 1 + i,
                   PREDLOG_NET_FROM_GUEST, payload, 20 + 30 * i,
                   20 + 30 * i);
    }
    for (uint8_t mode = 0; mode < 2; mode++) {
        g_autofree char *name = g_strdup_printf("seed-mode%u", mode);

        g_byte_array_set_size(in, 0);
        g_byte_array_append(in, &mode, 1);
        g_byte_array_append(in, raw->data, raw->len);
        put("chunk", name, in->data, in->len);
    }
    cap = ZSTD_compressBound(raw->len);
    z = g_malloc(cap);
    n = ZSTD_compress(z, cap, raw->data, raw->len, 3);
    g_byte_array_set_size(in, 0);
    g_byte_array_append(in, (const uint8_t *)"\x02", 1);
    put_le32(claim, raw->len);
    g_byte_array_append(in, claim, 4);
    g_byte_array_append(in, z, n);
    put("chunk", "seed-mode2", in->data, in->len);
    g_free(z);
    g_byte_array_unref(in);
    g_byte_array_unref(raw);
}

static PredlogRecorder *new_pool(uint8_t *base, size_t size,
                                 PredlogPolicy policy,
                                 PredlogCompression compression)
{
    PredlogRecorderConfig cfg = {
        .policy = policy,
        .max_functions = 3,
        .buffer_size = 16384,
        .compression = compression,
        .cold_segment = compression ? 16384 : 0,
        .created_ns = BASE_NS,
        .name = "seed",
        .salt = POOL_SALT,
    };
    g_autoptr(GError) err = NULL;
    PredlogRecorder *rec = predlog_recorder_new(base, size, &cfg, &err);

    if (!rec) {
        fprintf(stderr, "gen-corpus: %s\n", err->message);
        exit(1);
    }
    return rec;
}

static void log_one(PredlogRecorder *rec, int id, PredlogRecordType type,
                    uint32_t aux, const void *data, uint32_t len,
                    uint64_t now)
{
    PredlogPiece piece = { .data = data, .len = len };
    PredlogEntry e = {
        .type = type, .level = PREDLOG_RECORD_LEVEL_FULL, .aux = aux,
        .orig_len = len, .timestamp_ns = BASE_NS + now, .pieces = &piece,
        .n_pieces = 1, .max_stored = len,
    };

    predlog_recorder_log(rec, id, &e, now, NULL);
}

/* Three functions, all three levels, a wrapped buffer; @cold: zstd tier */
static void gen_pool(const char *name, size_t size, PredlogPolicy policy,
                     PredlogCompression compression, unsigned n_net)
{
    g_autofree uint8_t *base = g_malloc0(size);
    PredlogRecorder *rec = new_pool(base, size, policy, compression);
    uint8_t payload[600], block[PREDLOG_BLOCK_EVENT_LEN + 64] = { 0 };
    uint8_t guest[PREDLOG_GUEST_PREFIX_LEN + 20] = { 0 };
    int net, blk, con;
    uint64_t now = 1000;

    net = predlog_recorder_add_function(rec, PREDLOG_FUNCTION_NET, "net0",
                                        BASE_NS, NULL);
    blk = predlog_recorder_add_function(rec, PREDLOG_FUNCTION_BLOCK,
                                        "drive0", BASE_NS, NULL);
    con = predlog_recorder_add_function(rec, PREDLOG_FUNCTION_GUEST,
                                        "console", BASE_NS, NULL);
    memcpy(guest + PREDLOG_GUEST_PREFIX_LEN, "boot: all is well\n", 18);
    for (unsigned i = 0; i < n_net; i++) {
        frame(payload, sizeof(payload), i);
        log_one(rec, net, PREDLOG_RECORD_TYPE_NET_PACKET,
                1 + i % 2, payload, 60 + (i * 37) % 540, now += 1000);
        if (i % 4 == 0) {
            put_le64(block, i * 4096);
            log_one(rec, blk, PREDLOG_RECORD_TYPE_BLOCK_REQUEST,
                    1 + i % 5, block, sizeof(block), now += 1000);
        }
        if (i % 8 == 0) {
            log_one(rec, con, PREDLOG_RECORD_TYPE_GUEST, i % 8, guest,
                    sizeof(guest), now += 1000);
        }
        if (i == n_net / 3) {
            predlog_recorder_set_level(rec, net, PREDLOG_RECORD_LEVEL_HEADER,
                                       now);
        }
        if (i == n_net / 2) {
            predlog_recorder_set_level(rec, net,
                                       PREDLOG_RECORD_LEVEL_SUMMARY, now);
        }
        if (i == 2 * n_net / 3) {
            predlog_recorder_set_level(rec, net, PREDLOG_RECORD_LEVEL_FULL,
                                       now);
        }
        if (i % 16 == 15) {
            predlog_recorder_tick(rec, now);
        }
    }
    predlog_recorder_tick(rec, now);
    predlog_recorder_free(rec);
    put("image", name, base, size);
    put("recover", name, base, size);
    /* the pool-format target reads the superblock and the directory */
    put("pool-format", name, base, 2 * 4096);
}

static void gen_migration(void)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(14);

    for (unsigned n = 0; n < 4; n++) {
        uint8_t prog[600];
        g_autofree char *name = g_strdup_printf("seed-%u", n);

        for (size_t i = 0; i < sizeof(prog); i++) {
            prog[i] = g_rand_int(rand);
        }
        /* npages 64..1024, depth 1..8, threshold 0.5, page size 4096 */
        put_le16(prog, 64 << n);
        prog[2] = 1 + 2 * n;
        prog[3] = 100;
        prog[4] = 1;
        put("migration", name, prog, sizeof(prog));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-corpus OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    gen_records();
    gen_chunks();
    gen_pool("seed-fixed", 8192 + 3 * 16384, PREDLOG_POLICY_FIXED,
             PREDLOG_COMPRESSION_NONE, 200);
    gen_pool("seed-zstd", 8192 + 6 * 16384, PREDLOG_POLICY_DYNAMIC,
             PREDLOG_COMPRESSION_ZSTD, 400);
    gen_migration();
    return 0;
}
