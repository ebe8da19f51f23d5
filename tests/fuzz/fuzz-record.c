/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the record decoder (hw/predlog/core/record.c)
 *
 * The input is the bytes at a record position of a pool.  Checks: the
 * decoder reads nothing outside them (ASan), fills the view as record.h
 * says for the status it returns, a VALID record re-encodes to the same
 * header, payload and seal and decodes again to the same view, resync
 * only ever returns an aligned VALID record, and the accelerated and
 * portable CRC32C agree.  The input is decoded with salt 0 (record.h), as
 * in a pool made before salts existed; a VALID record re-encoded with
 * another salt decodes VALID with that salt only.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>

#include "hw/predlog/core/record.h"
#include "fuzz-common.h"

#define SALT    0x510e527f9b05688cull

static void check_view_equal(const PredlogRecordView *a,
                             const PredlogRecordView *b)
{
    FUZZ_CHECK(a->hdr.type == b->hdr.type);
    FUZZ_CHECK(a->hdr.level == b->hdr.level);
    FUZZ_CHECK(a->hdr.func_id == b->hdr.func_id);
    FUZZ_CHECK(a->hdr.orig_len == b->hdr.orig_len);
    FUZZ_CHECK(a->hdr.stored_len == b->hdr.stored_len);
    FUZZ_CHECK(a->hdr.seq == b->hdr.seq);
    FUZZ_CHECK(a->hdr.timestamp_ns == b->hdr.timestamp_ns);
    FUZZ_CHECK(a->hdr.aux == b->hdr.aux);
    FUZZ_CHECK(a->flags == b->flags);
    FUZZ_CHECK(a->hdr_crc == b->hdr_crc);
    FUZZ_CHECK(a->payload_crc == b->payload_crc);
    FUZZ_CHECK(a->size == b->size);
}

static void check_valid(const uint8_t *data, size_t size,
                        const PredlogRecordView *v)
{
    g_autofree uint8_t *again = NULL;
    PredlogRecordView v2;
    size_t n;

    FUZZ_CHECK(v->size == predlog_record_size(v->hdr.stored_len));
    FUZZ_CHECK(v->size >= PREDLOG_RECORD_MIN_SIZE && v->size <= size);
    FUZZ_CHECK(v->size % PREDLOG_RECORD_ALIGN == 0);
    FUZZ_CHECK(v->hdr.stored_len <= v->hdr.orig_len);
    FUZZ_CHECK(v->payload == data + PREDLOG_RECORD_HDR_LEN);
    FUZZ_CHECK(v->hdr.type >= 1 && v->hdr.type <= PREDLOG_RECORD_TYPE__MAX);
    FUZZ_CHECK(v->hdr.level <= PREDLOG_RECORD_LEVEL__MAX);
    FUZZ_CHECK(v->flags == (uint16_t)v->hdr.level);
    FUZZ_CHECK(predlog_crc32c(0, v->payload, v->hdr.stored_len) ==
               v->payload_crc);

    /* decode -> encode -> decode */
    again = g_malloc(v->size);
    n = predlog_record_encode(again, v->size, 0, &v->hdr, v->payload);
    FUZZ_CHECK(n == v->size);
    FUZZ_CHECK(memcmp(again, data, PREDLOG_RECORD_HDR_LEN +
                      v->hdr.stored_len) == 0);
    /* the padding is not covered by any CRC; the seal is */
    FUZZ_CHECK(memcmp(again + n - PREDLOG_RECORD_SEAL_LEN,
                      data + n - PREDLOG_RECORD_SEAL_LEN,
                      PREDLOG_RECORD_SEAL_LEN) == 0);
    FUZZ_CHECK(predlog_record_decode(again, n, 0, &v2) ==
               PREDLOG_RECORD_VALID);
    check_view_equal(v, &v2);
    FUZZ_CHECK(memcmp(v2.payload, v->payload, v->hdr.stored_len) == 0);
    /* one byte short of the record is never VALID */
    FUZZ_CHECK(predlog_record_decode(again, n - 1, 0, &v2) ==
               PREDLOG_RECORD_TRUNCATED);

    /*
     * The same record in a salted pool: the salt changes the header CRC
     * (a bijection of its start value), so no other salt, 0 included,
     * takes it for a record, nor the salt it differs from in one half.
     */
    FUZZ_CHECK(predlog_record_encode(again, n, SALT, &v->hdr, v->payload) ==
               n);
    FUZZ_CHECK(predlog_record_decode(again, n, SALT, &v2) ==
               PREDLOG_RECORD_VALID);
    FUZZ_CHECK(v2.hdr_crc != v->hdr_crc && v2.payload_crc == v->payload_crc);
    FUZZ_CHECK(predlog_record_decode(again, n, 0, &v2) == PREDLOG_RECORD_TORN);
    FUZZ_CHECK(predlog_record_decode(again, n, SALT ^ 1, &v2) ==
               PREDLOG_RECORD_TORN);
    FUZZ_CHECK(predlog_record_decode(again, n, SALT ^ (1ull << 32), &v2) ==
               PREDLOG_RECORD_TORN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    PredlogRecordView v;
    PredlogRecordStatus st = predlog_record_decode(data, size, 0, &v);
    size_t off;

    FUZZ_CHECK((unsigned)st < PREDLOG_RECORD_STATUS__MAX);
    FUZZ_CHECK(strcmp(predlog_record_status_str(st), "unknown") != 0);
    if (st == PREDLOG_RECORD_VALID) {
        check_valid(data, size, &v);
    } else {
        FUZZ_CHECK(v.payload == NULL);
        if (st != PREDLOG_RECORD_OVERWRITTEN) {
            FUZZ_CHECK(v.payload_crc == 0);
        }
        if (v.size) {
            /* a header was sound: its fields must be in range */
            FUZZ_CHECK(st == PREDLOG_RECORD_TRUNCATED ||
                       st == PREDLOG_RECORD_TORN ||
                       st == PREDLOG_RECORD_OVERWRITTEN);
            FUZZ_CHECK(v.hdr.stored_len <= v.hdr.orig_len);
            FUZZ_CHECK(v.size == predlog_record_size(v.hdr.stored_len));
            FUZZ_CHECK(st != PREDLOG_RECORD_TRUNCATED || v.size > size);
        }
    }
    if (st == PREDLOG_RECORD_EMPTY) {
        for (size_t i = 0; i < MIN(size, PREDLOG_RECORD_HDR_LEN); i++) {
            FUZZ_CHECK(data[i] == 0);
        }
    }

    /* every record resync finds is aligned and VALID where it says */
    for (off = 0; off < size; off += v.size) {
        PredlogRecordView w;

        off = predlog_record_resync(data, size, off, 0, &v);
        if (off >= size) {
            FUZZ_CHECK(off == size && v.size == 0);
            break;
        }
        FUZZ_CHECK(off % PREDLOG_RECORD_ALIGN == 0);
        FUZZ_CHECK(predlog_record_decode(data + off, size - off, 0, &w) ==
                   PREDLOG_RECORD_VALID);
        check_view_equal(&v, &w);
    }

    FUZZ_CHECK(predlog_crc32c(0, data, size) ==
               predlog_crc32c_sw(0, data, size));
    return 0;
}
