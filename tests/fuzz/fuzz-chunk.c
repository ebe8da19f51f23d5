/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the cold-tier chunk unpacker (unpack_chunk() in
 * hw/predlog/core/recovery.c)
 *
 * The input is a chunk's contents: byte 0 picks how they are stored
 * (0: CODEC_NONE, 1: compressed here with zstd, 2: the rest is a zstd
 * frame as found in a pool, after a u32 claimed orig_len), the rest are
 * the raw records (or the frame).  The harness seals them into one VALID
 * CHUNK record in an otherwise valid pool and scans it, so the unpacker
 * runs exactly as predlog-recover runs it.  Checks: the records returned
 * are exactly those an independent walk of the contents finds (VALID
 * records of the chunk's function back to back, up to the first thing
 * that is not), each marked as from the chunk; the chunk counts as bad
 * exactly when that walk stops early or the frame does not decompress to
 * its claimed length.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <zstd.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recovery.h"
#include "fuzz-common.h"

/* Bounds what one input may make the unpacker allocate. */
#define MAX_CLAIM   (1u << 20)

/* seqs of the records a correct unpacker returns; false: a bad chunk */
static bool expected(const uint8_t *raw, size_t len, GHashTable *seqs)
{
    size_t pos = 0;

    while (pos < len) {
        PredlogRecordView v;
        uint64_t *seq;

        if (predlog_record_decode(raw + pos, len - pos, FUZZ_SALT, &v) !=
            PREDLOG_RECORD_VALID || v.hdr.func_id != 0 ||
            v.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            return false;
        }
        seq = g_new(uint64_t, 1);
        *seq = v.hdr.seq;
        g_hash_table_add(seqs, seq);
        pos += v.size;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };
    unsigned mode = fuzz_u8(&in) % 3;
    uint32_t claim = mode == 2 ? fuzz_u32(&in) % MAX_CLAIM : 0;
    const uint8_t *body = in.p;
    size_t body_len = in.len;
    g_autofree uint8_t *packed = NULL;
    g_autofree uint8_t *raw = NULL;
    g_autofree uint8_t *img = NULL;
    g_autoptr(GHashTable) seqs = g_hash_table_new_full(g_int64_hash,
                                                       g_int64_equal,
                                                       g_free, NULL);
    g_autoptr(GError) err = NULL;
    PredlogRecordHeader h = {
        .type = PREDLOG_RECORD_TYPE_CHUNK,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = 0,
        .seq = 1,
        .timestamp_ns = 1,
    };
    const void *payload;
    size_t img_len, data_off, rec_size;
    bool good;
    PredlogImage *pi;
    PredlogRecoveryTotals t;
    GArray *recs;

    if (body_len > PREDLOG_CHUNK_MAX_INPUT) {
        return 0;
    }
    if (mode == 1) {
        size_t cap = ZSTD_compressBound(body_len);
        size_t n;

        packed = g_malloc(cap);
        n = ZSTD_compress(packed, cap, body, body_len, 1);
        FUZZ_CHECK(!ZSTD_isError(n));
        if (n <= body_len) {
            h.aux = PREDLOG_CHUNK_CODEC_ZSTD;
            h.orig_len = body_len;
            h.stored_len = n;
            payload = packed;
        } else {
            /* the recorder stores what zstd cannot shrink as it is */
            mode = 0;
        }
    }
    if (mode == 0) {
        h.aux = PREDLOG_CHUNK_CODEC_NONE;
        h.orig_len = h.stored_len = body_len;
        payload = body;
    } else if (mode == 2) {
        h.aux = PREDLOG_CHUNK_CODEC_ZSTD;
        h.orig_len = MAX(claim, (uint32_t)body_len);
        h.stored_len = body_len;
        payload = body;
    }

    /* the contents a correct unpacker sees */
    if (mode == 0) {
        good = expected(body, body_len, seqs);
    } else {
        size_t n;

        raw = g_malloc(MAX(h.orig_len, 1));
        n = ZSTD_decompress(raw, h.orig_len, payload, h.stored_len);
        good = !ZSTD_isError(n) && n == h.orig_len &&
               expected(raw, h.orig_len, seqs);
        if (ZSTD_isError(n) || n != h.orig_len) {
            g_hash_table_remove_all(seqs);
        }
    }

    rec_size = predlog_record_size(h.stored_len);
    img = fuzz_make_pool(1, 1, 1 /* net */, rec_size, &img_len, &data_off);
    FUZZ_CHECK(predlog_record_encode(img + data_off, rec_size, FUZZ_SALT, &h,
                                     payload) == rec_size);

    pi = predlog_image_open(img, img_len, &err);
    FUZZ_CHECK(pi);
    recs = predlog_image_scan(pi, &t);
    FUZZ_CHECK(t.chunks == 1);
    FUZZ_CHECK(t.bad_chunks == (good ? 0 : 1));
    FUZZ_CHECK(t.orphaned == 0 && t.duplicates == 0);
    FUZZ_CHECK(recs->len == g_hash_table_size(seqs));
    FUZZ_CHECK(t.committed == recs->len && t.from_cold == recs->len);
    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);

        FUZZ_CHECK(r->in_chunk && r->offset == data_off);
        FUZZ_CHECK(r->view.hdr.func_id == 0);
        FUZZ_CHECK(g_hash_table_contains(seqs, &r->view.hdr.seq));
        FUZZ_CHECK(predlog_crc32c(0, r->view.payload,
                                  r->view.hdr.stored_len) ==
                   r->view.payload_crc);
    }
    g_array_free(recs, true);
    predlog_image_free(pi);
    return 0;
}
