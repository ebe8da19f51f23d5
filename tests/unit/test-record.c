/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog record codec and CRC32C
 *
 * Buffers handed to the decoder are allocated to their exact length, so
 * that running this under valgrind (or with -Db_sanitize=address) catches
 * any read past the length the decoder was given.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "hw/predlog/core/record.h"

/*
 * The salt of the tests' records: any value with no zero half, as a pool
 * would have (record.h); tests of the unsalted format use 0.
 */
#define SALT 0x6a09e667f3bcc908ull

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void fill_random(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)g_test_rand_int();
    }
}

static uint8_t *random_bytes(size_t len)
{
    uint8_t *p = g_malloc(len ? len : 1);

    fill_random(p, len);
    return p;
}

static PredlogRecordHeader make_header(uint32_t stored_len, uint64_t seq)
{
    PredlogRecordHeader h = {
        .type = PREDLOG_RECORD_TYPE_NET_PACKET,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = 7,
        .orig_len = stored_len,
        .stored_len = stored_len,
        .seq = seq,
        .timestamp_ns = 1000000007ull * (seq + 1),
    };

    return h;
}

/* Encode into a fresh exactly-sized buffer; returns it, size in *size. */
static uint8_t *encode_new(const PredlogRecordHeader *h, const void *payload,
                           size_t *size)
{
    size_t s = predlog_record_size(h->stored_len);
    uint8_t *buf = g_malloc0(s);

    g_assert_cmpuint(s, >, 0);
    g_assert_cmpuint(predlog_record_encode(buf, s, SALT, h, payload), ==, s);
    *size = s;
    return buf;
}

static void assert_header_eq(const PredlogRecordHeader *a,
                             const PredlogRecordHeader *b)
{
    g_assert_cmpint(a->type, ==, b->type);
    g_assert_cmpint(a->level, ==, b->level);
    g_assert_cmpuint(a->func_id, ==, b->func_id);
    g_assert_cmpuint(a->orig_len, ==, b->orig_len);
    g_assert_cmpuint(a->stored_len, ==, b->stored_len);
    g_assert_cmpuint(a->seq, ==, b->seq);
    g_assert_cmpuint(a->timestamp_ns, ==, b->timestamp_ns);
}

/*
 * Bit-at-a-time CRC32C: slow, obviously right, independent of the code.
 * @from is the CRC the register continues from (0: a plain CRC32C; a
 * salt half for the salted CRCs of record.h).
 */
static uint32_t crc32c_reference(uint32_t from, const uint8_t *p,
                                 size_t len)
{
    uint32_t c = ~from;

    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++) {
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
        }
    }
    return ~c;
}

/* ------------------------------------------------------------------ */
/* CRC32C                                                              */
/* ------------------------------------------------------------------ */

static void test_crc32c_vectors(void)
{
    static const char check[] = "123456789";
    uint8_t buf[32];

    g_assert_cmphex(predlog_crc32c(0, check, 9), ==, 0xe3069283);
    g_assert_cmphex(predlog_crc32c_sw(0, check, 9), ==, 0xe3069283);
    g_assert_cmphex(crc32c_reference(0, (const uint8_t *)check, 9), ==,
                    0xe3069283);

    /* Empty input leaves the CRC alone: 0 from scratch. */
    g_assert_cmphex(predlog_crc32c(0, NULL, 0), ==, 0);
    g_assert_cmphex(predlog_crc32c_sw(0, NULL, 0), ==, 0);
    g_assert_cmphex(predlog_crc32c(0xe3069283, "", 0), ==, 0xe3069283);

    /* RFC 3720 (iSCSI) B.4 vectors. */
    memset(buf, 0, sizeof(buf));
    g_assert_cmphex(predlog_crc32c(0, buf, 32), ==, 0x8a9136aa);
    g_assert_cmphex(predlog_crc32c_sw(0, buf, 32), ==, 0x8a9136aa);
    memset(buf, 0xff, sizeof(buf));
    g_assert_cmphex(predlog_crc32c(0, buf, 32), ==, 0x62a8ab43);
    g_assert_cmphex(predlog_crc32c_sw(0, buf, 32), ==, 0x62a8ab43);
    for (int i = 0; i < 32; i++) {
        buf[i] = i;
    }
    g_assert_cmphex(predlog_crc32c(0, buf, 32), ==, 0x46dd794e);
    g_assert_cmphex(predlog_crc32c_sw(0, buf, 32), ==, 0x46dd794e);
    for (int i = 0; i < 32; i++) {
        buf[i] = 31 - i;
    }
    g_assert_cmphex(predlog_crc32c(0, buf, 32), ==, 0x113fdb5c);
    g_assert_cmphex(predlog_crc32c_sw(0, buf, 32), ==, 0x113fdb5c);
}

static void test_crc32c_chaining(void)
{
    g_autofree uint8_t *buf = random_bytes(100);
    uint32_t whole = predlog_crc32c(0, buf, 100);

    for (size_t split = 0; split <= 100; split++) {
        uint32_t a = predlog_crc32c(0, buf, split);
        uint32_t b = predlog_crc32c_sw(0, buf, split);

        g_assert_cmphex(predlog_crc32c(a, buf + split, 100 - split), ==,
                        whole);
        g_assert_cmphex(predlog_crc32c_sw(b, buf + split, 100 - split), ==,
                        whole);
    }
}

static void test_crc32c_paths_agree(void)
{
    enum { MAXLEN = 4096 };
    g_autofree uint8_t *buf = g_malloc(MAXLEN + 8);

    if (!predlog_crc32c_accelerated()) {
        g_test_message("no SSE4.2: both calls run the portable code");
    }
    for (int i = 0; i < 2000; i++) {
        /* Random start offsets exercise the unaligned heads and tails. */
        size_t off = g_test_rand_int_range(0, 8);
        size_t len = g_test_rand_int_range(0, MAXLEN + 1);
        uint32_t seed = g_test_rand_int();
        uint32_t hw, sw;

        fill_random(buf + off, len);
        hw = predlog_crc32c(seed, buf + off, len);
        sw = predlog_crc32c_sw(seed, buf + off, len);
        g_assert_cmphex(hw, ==, sw);
        if (i < 200) {
            g_assert_cmphex(predlog_crc32c(0, buf + off, len), ==,
                            crc32c_reference(0, buf + off, len));
        }
    }
}

/* ------------------------------------------------------------------ */
/* Layout and round trips                                              */
/* ------------------------------------------------------------------ */

static void test_size(void)
{
    g_assert_cmpuint(predlog_record_size(0), ==, 56);
    g_assert_cmpuint(predlog_record_size(1), ==, 64);
    g_assert_cmpuint(predlog_record_size(7), ==, 64);
    g_assert_cmpuint(predlog_record_size(8), ==, 64);
    g_assert_cmpuint(predlog_record_size(9), ==, 72);
    g_assert_cmpuint(predlog_record_size(64), ==, 120);
    g_assert_cmpuint(predlog_record_size(1500), ==, 1560);
    g_assert_cmpuint(predlog_record_size(PREDLOG_RECORD_MAX_PAYLOAD), ==,
                     PREDLOG_RECORD_MAX_PAYLOAD + 56);
    g_assert_cmpuint(predlog_record_size(PREDLOG_RECORD_MAX_PAYLOAD + 1), ==,
                     0);
    g_assert_cmpuint(predlog_record_size(UINT32_MAX), ==, 0);
}

static uint32_t le32_at(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_at(const uint8_t *p)
{
    return le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

/* Pin the byte layout documented in record.h (and docs/specs). */
static void check_layout(uint64_t salt)
{
    static const uint8_t payload[5] = { 1, 2, 3, 4, 5 };
    PredlogRecordHeader h = {
        .type = PREDLOG_RECORD_TYPE_BLOCK_REQUEST,
        .level = PREDLOG_RECORD_LEVEL_HEADER,
        .func_id = 0x1234,
        .orig_len = 0x01020304,
        .stored_len = 5,
        .seq = 0x1122334455667788ull,
        .timestamp_ns = 0x99aabbccddeeff00ull,
    };
    size_t size = predlog_record_size(5);
    g_autofree uint8_t *r = g_malloc0(size);
    uint8_t commit_in[8];

    g_assert_cmpuint(predlog_record_encode(r, size, salt, &h, payload), ==,
                     size);
    g_assert_cmpuint(size, ==, 64);
    g_assert_cmpmem(r, 4, "PLRC", 4);
    g_assert_cmpuint(le32_at(r), ==, PREDLOG_RECORD_MAGIC);
    g_assert_cmpuint(r[4], ==, 1);
    g_assert_cmpuint(r[5], ==, PREDLOG_RECORD_TYPE_BLOCK_REQUEST);
    g_assert_cmpuint(r[6] | r[7] << 8, ==, 48);
    g_assert_cmpuint(r[8] | r[9] << 8, ==, PREDLOG_RECORD_LEVEL_HEADER);
    g_assert_cmpuint(r[10] | r[11] << 8, ==, 0x1234);
    g_assert_cmpuint(le32_at(r + 12), ==, 0x01020304);
    g_assert_cmpuint(le64_at(r + 16), ==, 0x1122334455667788ull);
    g_assert_cmpuint(le64_at(r + 24), ==, 0x99aabbccddeeff00ull);
    g_assert_cmpuint(le32_at(r + 32), ==, 5);
    g_assert_cmpuint(le32_at(r + 36), ==, 0);
    g_assert_cmpuint(le32_at(r + 40), ==, 0);
    /* hdr_crc and commit from the salt's halves, payload_crc from 0 */
    g_assert_cmphex(le32_at(r + 44), ==,
                    crc32c_reference((uint32_t)salt, r, 44));
    g_assert_cmpmem(r + 48, 5, payload, 5);
    g_assert_cmpmem(r + 53, 3, "\0\0\0", 3);
    g_assert_cmphex(le32_at(r + 56), ==, crc32c_reference(0, payload, 5));
    memcpy(commit_in, r + 44, 4);
    memcpy(commit_in + 4, r + 56, 4);
    g_assert_cmphex(le32_at(r + 60), ==,
                    crc32c_reference(salt >> 32, commit_in, 8));
}

/* The layout of record.h, with salt 0 (older pools) and with a salt */
static void test_layout(void)
{
    static const uint64_t salts[] = { 0, SALT };

    for (unsigned i = 0; i < G_N_ELEMENTS(salts); i++) {
        g_test_message("salt 0x%016" G_GINT64_MODIFIER "x", salts[i]);
        check_layout(salts[i]);
    }
}

static void test_roundtrip(void)
{
    static const uint32_t sizes[] = { 0, 1, 7, 8, 64, 1500, 65535 };

    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        uint32_t n = sizes[i];
        g_autofree uint8_t *payload = random_bytes(n);
        PredlogRecordHeader h = make_header(n, 1000 + i);
        PredlogRecordView v;
        size_t size, got;
        g_autofree uint8_t *r = NULL;
        g_autofree uint8_t *shifted = NULL;

        h.type = 1 + i % PREDLOG_RECORD_TYPE__MAX;
        h.level = i % (PREDLOG_RECORD_LEVEL__MAX + 1);
        h.func_id = 0xffff - i;
        r = encode_new(&h, payload, &size);
        g_assert_cmpuint(size % 8, ==, 0);

        g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                        PREDLOG_RECORD_VALID);
        assert_header_eq(&v.hdr, &h);
        g_assert_cmpuint(v.size, ==, size);
        g_assert_cmpuint(v.flags, ==, h.level);
        g_assert_true(v.payload == r + PREDLOG_RECORD_HDR_LEN);
        g_assert_cmpmem(v.payload, n, payload, n);
        g_assert_cmphex(v.payload_crc, ==, predlog_crc32c(0, payload, n));

        /* Decoding from an odd address, with trailing bytes, works too. */
        shifted = g_malloc(size + 1 + 100);
        memcpy(shifted + 1, r, size);
        fill_random(shifted + 1 + size, 100);
        g_assert_cmpint(predlog_record_decode(shifted + 1, size + 100, SALT,
                                              &v), ==, PREDLOG_RECORD_VALID);
        assert_header_eq(&v.hdr, &h);
        g_assert_cmpmem(v.payload, n, payload, n);

        /* Encoding at an odd address gives the same bytes. */
        memset(shifted, 0xa5, size + 1 + 100);
        got = predlog_record_encode(shifted + 1, size, SALT, &h, payload);
        g_assert_cmpuint(got, ==, size);
        g_assert_cmpmem(shifted + 1, size, r, size);
        g_assert_cmpuint(shifted[0], ==, 0xa5);
        g_assert_cmpuint(shifted[1 + size], ==, 0xa5);

        /* One byte short of the full record: TRUNCATED, size known. */
        g_assert_cmpint(predlog_record_decode(r, size - 1, SALT, &v), ==,
                        PREDLOG_RECORD_TRUNCATED);
        g_assert_cmpuint(v.size, ==, size);
        g_assert_cmpuint(v.hdr.seq, ==, h.seq);
        g_assert_null(v.payload);
    }
}

static void test_truncated_payload(void)
{
    g_autofree uint8_t *packet = random_bytes(1500);
    PredlogRecordHeader h = make_header(64, 5);
    PredlogRecordView v;
    size_t size;
    g_autofree uint8_t *r = NULL;

    /* A 1500-byte packet of which the first 64 bytes are kept. */
    h.orig_len = 1500;
    h.level = PREDLOG_RECORD_LEVEL_HEADER;
    r = encode_new(&h, packet, &size);
    g_assert_cmpuint(size, ==, predlog_record_size(64));
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_VALID);
    g_assert_cmpuint(v.hdr.orig_len, ==, 1500);
    g_assert_cmpuint(v.hdr.stored_len, ==, 64);
    g_assert_cmpint(v.hdr.level, ==, PREDLOG_RECORD_LEVEL_HEADER);
    g_assert_cmpmem(v.payload, 64, packet, 64);

    /* Header only: nothing stored, length remembered. */
    h.stored_len = 0;
    g_free(r);
    r = encode_new(&h, NULL, &size);
    g_assert_cmpuint(size, ==, PREDLOG_RECORD_MIN_SIZE);
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_VALID);
    g_assert_cmpuint(v.hdr.orig_len, ==, 1500);
    g_assert_cmpuint(v.hdr.stored_len, ==, 0);
}

static void test_encode_rejects(void)
{
    uint8_t payload[16] = { 0 };
    uint8_t buf[256];
    PredlogRecordHeader h;

    memset(buf, 0x5a, sizeof(buf));

    /* No room, by one byte. */
    h = make_header(16, 1);
    g_assert_cmpuint(predlog_record_encode(buf, predlog_record_size(16) - 1,
                                           SALT, &h, payload), ==, 0);
    g_assert_cmpuint(predlog_record_encode(NULL, 0, SALT, &h, payload), ==, 0);

    h = make_header(16, 1);
    h.orig_len = 15;                    /* stored > original */
    g_assert_cmpuint(predlog_record_encode(buf, sizeof(buf), SALT, &h, payload),
                     ==, 0);
    h = make_header(16, 1);
    h.type = 0;
    g_assert_cmpuint(predlog_record_encode(buf, sizeof(buf), SALT, &h, payload),
                     ==, 0);
    h.type = PREDLOG_RECORD_TYPE__MAX + 1;
    g_assert_cmpuint(predlog_record_encode(buf, sizeof(buf), SALT, &h, payload),
                     ==, 0);
    h = make_header(16, 1);
    h.level = PREDLOG_RECORD_LEVEL__MAX + 1;
    g_assert_cmpuint(predlog_record_encode(buf, sizeof(buf), SALT, &h, payload),
                     ==, 0);
    h = make_header(PREDLOG_RECORD_MAX_PAYLOAD + 1, 1);
    g_assert_cmpuint(predlog_record_encode(buf, sizeof(buf), SALT, &h, payload),
                     ==, 0);
    h = make_header(16, 1);
    g_assert_cmpuint(predlog_record_encode(buf, sizeof(buf), SALT, &h, NULL),
                     ==, 0);

    /* None of the refusals wrote anything. */
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmpuint(buf[i], ==, 0x5a);
    }
}

static void test_writer(void)
{
    g_autofree uint8_t *payload = random_bytes(1500);
    PredlogRecordHeader h = make_header(1500, 77);
    size_t size = predlog_record_size(1500);
    g_autofree uint8_t *a = g_malloc0(size);
    g_autofree uint8_t *b = g_malloc0(size);
    PredlogRecordWriter w;
    PredlogRecordView v;
    size_t done = 0;

    g_assert_cmpuint(predlog_record_encode(a, size, SALT, &h, payload), ==,
                     size);

    /* Piecewise, in odd-sized chunks, gives the very same bytes. */
    g_assert_true(predlog_record_begin(&w, b, size, SALT, &h));
    while (done < 1500) {
        /* not inside MIN(), which would draw two different numbers */
        size_t chunk = g_test_rand_int_range(0, 100);

        chunk = MIN(chunk, 1500 - done);

        g_assert_true(predlog_record_append(&w, payload + done, chunk));
        done += chunk;
    }
    g_assert_false(predlog_record_append(&w, payload, 1));
    g_assert_cmpuint(predlog_record_commit(&w), ==, size);
    g_assert_cmpmem(a, size, b, size);
    /* A writer commits once. */
    g_assert_cmpuint(predlog_record_commit(&w), ==, 0);

    /* Committing short leaves a torn record behind. */
    memset(b, 0, size);
    g_assert_true(predlog_record_begin(&w, b, size, SALT, &h));
    g_assert_true(predlog_record_append(&w, payload, 1499));
    g_assert_cmpuint(predlog_record_commit(&w), ==, 0);
    g_assert_cmpint(predlog_record_decode(b, size, SALT, &v), ==,
                    PREDLOG_RECORD_TORN);
    g_assert_cmpuint(v.hdr.seq, ==, 77);
}

/* ------------------------------------------------------------------ */
/* Crash at every byte                                                 */
/* ------------------------------------------------------------------ */

/*
 * The encoder stores the header, then the payload, then the seal, so a
 * crash after k bytes leaves (up to the order of payload bytes, which the
 * seal covers anyway) the first k bytes of the final image over whatever
 * the space held.  The decoder may only say VALID if the resulting bytes
 * are exactly a complete record: the new one, or an old one that the k
 * bytes did not actually change.
 */
static void check_crash_prefixes(const uint8_t *img, size_t size,
                                 const PredlogRecordHeader *h,
                                 const uint8_t *under, size_t under_len,
                                 const uint8_t *old_img, size_t old_size,
                                 bool under_is_zero)
{
    size_t space = MAX(size, under_len);
    g_autofree uint8_t *buf = g_malloc(space);
    PredlogRecordView v;

    for (size_t k = 0; k <= size; k++) {
        PredlogRecordStatus st;

        memcpy(buf, under, under_len);
        memset(buf + under_len, 0, space - under_len);
        memcpy(buf, img, k);
        st = predlog_record_decode(buf, space, SALT, &v);

        if (k == size) {
            g_assert_cmpint(st, ==, PREDLOG_RECORD_VALID);
            assert_header_eq(&v.hdr, h);
            continue;
        }
        if (st == PREDLOG_RECORD_VALID) {
            if (v.hdr.seq == h->seq) {
                /* the unwritten bytes already held the intended values */
                g_assert_cmpmem(buf, size, img, size);
            } else {
                g_assert_nonnull(old_img);
                g_assert_cmpuint(v.size, ==, old_size);
                g_assert_cmpmem(buf, old_size, old_img, old_size);
            }
            continue;
        }
        if (under_is_zero) {
            g_assert_cmpint(st, ==, k ? PREDLOG_RECORD_TORN
                                      : PREDLOG_RECORD_EMPTY);
        } else if (k >= 4) {
            /* magic written: a header or seal that does not match it */
            g_assert_cmpint(st, ==, PREDLOG_RECORD_TORN);
        } else {
            g_assert_true(st == PREDLOG_RECORD_TORN ||
                          st == PREDLOG_RECORD_CORRUPT);
        }
    }
}

static void test_torn_every_byte(void)
{
    static const uint32_t sizes[] = { 0, 1, 7, 8, 64, 1500 };

    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        uint32_t n = sizes[i];
        g_autofree uint8_t *payload = random_bytes(n);
        PredlogRecordHeader h = make_header(n, 5000 + i);
        size_t size;
        g_autofree uint8_t *img = encode_new(&h, payload, &size);
        g_autofree uint8_t *zero = g_malloc0(size);

        /* (a) onto zeroed, never-written space */
        check_crash_prefixes(img, size, &h, zero, size, NULL, 0, true);

        /*
         * (b) onto an older record of the same function at the same
         * place: shorter, equal and longer than the new one.
         */
        for (int d = -1; d <= 1; d++) {
            uint32_t on = d < 0 ? n / 2 : d == 0 ? n : n + 40;
            g_autofree uint8_t *opay = random_bytes(on);
            PredlogRecordHeader oh = make_header(on, h.seq - 100);
            size_t osize;
            g_autofree uint8_t *old = encode_new(&oh, opay, &osize);

            check_crash_prefixes(img, size, &h, old, osize, old, osize,
                                 false);
        }

        /*
         * (c) onto the middle of older records: a ring lap laid out so
         * that the new record starts inside an old one.
         */
        {
            size_t span = size + 512;
            g_autofree uint8_t *under = g_malloc0(span);
            size_t off = 0;
            uint64_t seq = 1;

            /* an old record starting 8..40 bytes before our start */
            while (off < span) {
                uint32_t on = g_test_rand_int_range(0, 200);
                g_autofree uint8_t *opay = random_bytes(on);
                PredlogRecordHeader oh = make_header(on, seq++);
                size_t used;

                used = predlog_record_encode(under + off, span - off, SALT, &oh,
                                             opay);
                if (!used) {
                    break;
                }
                off += used;
            }
            check_crash_prefixes(img, size, &h, under + 8 * (1 + i % 5),
                                 span - 8 * (1 + i % 5), NULL, 0, false);
        }
    }
}

/*
 * The hardware path copies the payload in interleaved streams, so payload
 * bytes do not land in address order.  Whatever subset of them is in
 * place when the writer dies, without the seal the record is torn.
 */
static void test_torn_payload_order(void)
{
    enum { N = 1500 };
    g_autofree uint8_t *payload = random_bytes(N);
    PredlogRecordHeader h = make_header(N, 31337);
    size_t size;
    g_autofree uint8_t *img = encode_new(&h, payload, &size);
    g_autofree uint8_t *old = random_bytes(size);
    g_autofree uint8_t *buf = g_malloc(size);
    g_autofree unsigned *order = g_new(unsigned, N);

    for (unsigned i = 0; i < N; i++) {
        order[i] = i;
    }
    for (int round = 0; round < 400; round++) {
        bool zeroed = round & 1;
        unsigned done = g_test_rand_int_range(0, N + 1);
        size_t seal_bytes = g_test_rand_int_range(0, PREDLOG_RECORD_SEAL_LEN);
        PredlogRecordView v;

        /* a random permutation prefix: the bytes written so far */
        for (unsigned i = 0; i < done; i++) {
            unsigned j = g_test_rand_int_range(i, N);
            unsigned t = order[i];

            order[i] = order[j];
            order[j] = t;
        }
        if (zeroed) {
            memset(buf, 0, size);
        } else {
            memcpy(buf, old, size);
        }
        memcpy(buf, img, PREDLOG_RECORD_HDR_LEN);
        for (unsigned i = 0; i < done; i++) {
            buf[PREDLOG_RECORD_HDR_LEN + order[i]] =
                img[PREDLOG_RECORD_HDR_LEN + order[i]];
        }
        if (done == N) {
            /* padding written, seal possibly begun but not finished */
            memcpy(buf + PREDLOG_RECORD_HDR_LEN + N,
                   img + PREDLOG_RECORD_HDR_LEN + N,
                   size - PREDLOG_RECORD_SEAL_LEN -
                   PREDLOG_RECORD_HDR_LEN - N);
            memcpy(buf + size - PREDLOG_RECORD_SEAL_LEN,
                   img + size - PREDLOG_RECORD_SEAL_LEN, seal_bytes);
        }
        if (memcmp(buf, img, size) == 0) {
            continue;           /* nothing left unwritten after all */
        }
        g_assert_cmpint(predlog_record_decode(buf, size, SALT, &v), ==,
                        PREDLOG_RECORD_TORN);
        g_assert_cmpuint(v.hdr.seq, ==, h.seq);
    }
}

/* ------------------------------------------------------------------ */
/* Overwritten records                                                 */
/* ------------------------------------------------------------------ */

static void test_overwritten_body(void)
{
    g_autofree uint8_t *payload = random_bytes(1500);
    g_autofree uint8_t *small = random_bytes(100);
    PredlogRecordHeader h = make_header(1500, 42);
    PredlogRecordHeader nh = make_header(100, 7);
    size_t size;
    g_autofree uint8_t *r = encode_new(&h, payload, &size);
    g_autofree uint8_t *copy = g_malloc(size);
    PredlogRecordView v;

    memcpy(copy, r, size);

    /*
     * A newer buffer laid over the body of a committed record (the pool
     * re-used space): header and seal survive, the payload does not.
     */
    g_assert_cmpuint(predlog_record_encode(r + 512, 400, SALT, &nh, small),
                     >, 0);
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_OVERWRITTEN);
    g_assert_cmpuint(v.hdr.seq, ==, 42);
    g_assert_cmpuint(v.size, ==, size);
    g_assert_null(v.payload);
    /* ... and the newer record inside it is itself intact. */
    g_assert_cmpint(predlog_record_decode(r + 512, size - 512, SALT, &v), ==,
                    PREDLOG_RECORD_VALID);
    g_assert_cmpuint(v.hdr.seq, ==, 7);

    /* A single changed payload byte is enough. */
    memcpy(r, copy, size);
    r[48 + 1499] ^= 0x01;
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_OVERWRITTEN);

    /* A changed seal can no longer commit the header: torn. */
    memcpy(r, copy, size);
    r[size - 1] ^= 0x80;
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_TORN);

    /* A changed header byte past the magic: torn (rule 5). */
    memcpy(r, copy, size);
    r[20] ^= 0x10;
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_TORN);

    /* A changed magic byte: not a record start at all. */
    memcpy(r, copy, size);
    r[2] ^= 0xff;
    g_assert_cmpint(predlog_record_decode(r, size, SALT, &v), ==,
                    PREDLOG_RECORD_CORRUPT);
}

typedef struct RingRec {
    size_t off;
    size_t size;
    uint64_t seq;
} RingRec;

/*
 * A circular buffer written for a few laps, with the writer killed in the
 * middle of one record.  Walking it by the rule in record.h must find
 * exactly the intact records, exactly one torn record at the write head,
 * and nothing but overwritten remains elsewhere.
 */
static void ring_case(size_t ring_len, unsigned nrec, bool tear)
{
    g_autofree uint8_t *ring = g_malloc0(ring_len);
    /* last writer of each 8-byte slot: record index + 1, 0 = none */
    g_autofree unsigned *owner = g_new0(unsigned, ring_len / 8);
    g_autofree RingRec *recs = g_new0(RingRec, nrec + 1);
    size_t head = 0, off, torn_at = SIZE_MAX;
    unsigned committed = nrec;
    unsigned found_valid = 0, intact = 0, torn_seen = 0;
    uint64_t max_seq = 0;
    size_t max_end = 0;
    bool any_valid = false;

    for (unsigned i = 0; i <= nrec; i++) {
        uint32_t n = g_test_rand_int_range(0, 300);
        g_autofree uint8_t *payload = random_bytes(n);
        PredlogRecordHeader h = make_header(n, 1000 + i);
        size_t size = predlog_record_size(n);

        if (head + size > ring_len) {
            head = 0;           /* wrap: the writer restarts at the top */
        }
        recs[i] = (RingRec){ .off = head, .size = size, .seq = h.seq };
        if (i < nrec) {
            g_assert_cmpuint(predlog_record_encode(ring + head,
                                                   ring_len - head, SALT, &h,
                                                   payload), ==, size);
            for (size_t s = head / 8; s < (head + size) / 8; s++) {
                owner[s] = i + 1;
            }
        } else if (tear) {
            g_autofree uint8_t *img = g_malloc(size);
            /*
             * Past seq, so the tear changed the header even where it lands
             * on an older record of the same function: a shorter tear can
             * rewrite an older header with identical bytes, which leaves
             * that older record intact (and VALID).
             */
            size_t k = g_test_rand_int_range(PREDLOG_RECORD_OFF_TIMESTAMP,
                                             size);

            g_autofree uint8_t *before = g_malloc(size);

            predlog_record_encode(img, size, SALT, &h, payload);
            memcpy(before, ring + head, size);
            memcpy(ring + head, img, k);
            if (!memcmp(ring + head, img, size)) {
                /* the bytes left unwritten already held the right values */
                for (size_t s = head / 8; s < (head + size) / 8; s++) {
                    owner[s] = i + 1;
                }
                committed++;
            } else {
                /* a slot written with the bytes it held is still intact */
                for (size_t s = 0; s < size / 8; s++) {
                    if (memcmp(before + 8 * s, ring + head + 8 * s, 8)) {
                        owner[head / 8 + s] = i + 1;
                    }
                }
                torn_at = head;
            }
        }
        head += size;
    }

    /* Walk by the rule: valid records, resync over everything else. */
    off = 0;
    while (off < ring_len) {
        PredlogRecordView v;
        PredlogRecordStatus st = predlog_record_decode(ring + off,
                                                       ring_len - off, SALT,
                                                       &v);
        size_t next;

        if (st == PREDLOG_RECORD_VALID) {
            unsigned idx = v.hdr.seq - 1000;

            /* only records that are really there and intact */
            g_assert_cmpuint(idx, <, committed);
            g_assert_cmpuint(recs[idx].off, ==, off);
            for (size_t s = off / 8; s < (off + v.size) / 8; s++) {
                g_assert_cmpuint(owner[s], ==, idx + 1);
            }
            found_valid++;
            if (!any_valid || v.hdr.seq > max_seq) {
                max_seq = v.hdr.seq;
                max_end = off + v.size;
                any_valid = true;
            }
            off += v.size;
            continue;
        }
        next = predlog_record_resync(ring, ring_len, off + 8, SALT, &v);
        if (off == torn_at) {
            g_assert_cmpint(st, ==, PREDLOG_RECORD_TORN);
            torn_seen++;
        } else {
            /* overwritten remains or never-written space, never "torn" */
            g_assert_cmpint(st, !=, PREDLOG_RECORD_TORN);
        }
        off = next;
    }

    /* Every intact record was found. */
    for (unsigned i = 0; i < committed; i++) {
        bool ok = true;

        for (size_t s = recs[i].off / 8;
             s < (recs[i].off + recs[i].size) / 8; s++) {
            ok &= owner[s] == i + 1;
        }
        intact += ok;
    }
    g_assert_cmpuint(found_valid, ==, intact);

    /* The newest committed record is the last one written... */
    g_assert_true(any_valid);
    g_assert_cmpuint(max_seq, ==, 1000 + committed - 1);
    /* ... and the torn record, if any, sits exactly at the write head. */
    if (torn_at != SIZE_MAX) {
        g_assert_cmpuint(torn_seen, ==, 1);
        g_assert_true(max_end == torn_at || torn_at == 0);
    }
}

static void test_overwritten_ring(void)
{
    for (int i = 0; i < 300; i++) {
        /* enough records for one to four laps */
        ring_case(8192, g_test_rand_int_range(30, 200), i % 4 != 0);
    }
}

/* ------------------------------------------------------------------ */
/* Garbage                                                             */
/* ------------------------------------------------------------------ */

static void test_empty_and_short(void)
{
    uint8_t zero[64] = { 0 };
    g_autofree uint8_t *one = g_malloc(1);
    PredlogRecordView v;

    g_assert_cmpint(predlog_record_decode(zero, 0, SALT, &v), ==,
                    PREDLOG_RECORD_TRUNCATED);
    g_assert_cmpint(predlog_record_decode(NULL, 0, SALT, &v), ==,
                    PREDLOG_RECORD_TRUNCATED);
    g_assert_cmpint(predlog_record_decode(zero, 64, SALT, &v), ==,
                    PREDLOG_RECORD_EMPTY);
    g_assert_cmpint(predlog_record_decode(zero, 3, SALT, &v), ==,
                    PREDLOG_RECORD_EMPTY);
    g_assert_cmpuint(v.size, ==, 0);
    one[0] = 'P';
    g_assert_cmpint(predlog_record_decode(one, 1, SALT, &v), ==,
                    PREDLOG_RECORD_TRUNCATED);
    one[0] = 'X';
    g_assert_cmpint(predlog_record_decode(one, 1, SALT, &v), ==,
                    PREDLOG_RECORD_CORRUPT);
}

/* Rewrite the header CRC so that the decoder trusts the fields. */
static void fix_hdr_crc(uint8_t *p)
{
    uint32_t c = GUINT32_TO_LE(predlog_crc32c(0, p, 44));

    memcpy(p + 44, &c, 4);
}

static void test_fuzz(void)
{
    unsigned counts[PREDLOG_RECORD_STATUS__MAX] = { 0 };

    for (int i = 0; i < 100000; i++) {
        size_t len = g_test_rand_int_range(0, i % 10 ? 128 : 4096);
        g_autofree uint8_t *buf = random_bytes(len);
        PredlogRecordView v;
        PredlogRecordStatus st;

        switch (i % 4) {
        case 0:
            break;              /* pure noise */
        case 1:
            /* noise behind a real magic and version */
            if (len >= 5) {
                memcpy(buf, "PLRC\1", 5);
            }
            break;
        default:
            /*
             * A header that passes its checksum with random fields, lengths
             * above all: the decoder must bound every access by len.
             */
            if (len >= 48) {
                memcpy(buf, "PLRC\1", 5);
                buf[5] = g_test_rand_int_range(0, 6);
                buf[6] = 48;
                buf[7] = 0;
                if (g_test_rand_bit()) {
                    memset(buf + 8, 0, 2);
                    memset(buf + 36, 0, 8);
                }
                if (g_test_rand_bit()) {
                    uint32_t sl = g_test_rand_int_range(0, len + 64);

                    sl = GUINT32_TO_LE(sl);
                    memcpy(buf + 32, &sl, 4);
                    memset(buf + 12, 0xff, 4);
                }
                fix_hdr_crc(buf);
            }
            break;
        }
        st = predlog_record_decode(buf, len, SALT, &v);
        g_assert_cmpint(st, <, PREDLOG_RECORD_STATUS__MAX);
        g_assert_cmpint(st, !=, PREDLOG_RECORD_VALID);
        g_assert_cmpuint(v.size, <=, PREDLOG_RECORD_MAX_PAYLOAD + 56);
        counts[st]++;
        g_assert_cmpuint(predlog_record_resync(buf, len, 0, SALT, &v), ==, len);
    }
    for (int s = 0; s < PREDLOG_RECORD_STATUS__MAX; s++) {
        g_test_message("%-12s %u", predlog_record_status_str(s), counts[s]);
    }
    /* the structured cases really reached the deeper rules */
    g_assert_cmpuint(counts[PREDLOG_RECORD_TORN], >, 0);
    g_assert_cmpuint(counts[PREDLOG_RECORD_TRUNCATED], >, 0);
    g_assert_cmpuint(counts[PREDLOG_RECORD_CORRUPT], >, 0);
}

/* Random bit flips of a real record: VALID only if the bytes came back. */
static void test_fuzz_mutations(void)
{
    g_autofree uint8_t *payload = random_bytes(200);
    PredlogRecordHeader h = make_header(200, 9);
    size_t size;
    g_autofree uint8_t *img = encode_new(&h, payload, &size);
    g_autofree uint8_t *buf = g_malloc(size);

    for (int i = 0; i < 20000; i++) {
        PredlogRecordView v;
        int flips = g_test_rand_int_range(1, 4);
        size_t len = size;

        if (g_test_rand_bit()) {
            len = g_test_rand_int_range(0, size + 1);
        }

        memcpy(buf, img, size);
        for (int f = 0; f < flips; f++) {
            buf[g_test_rand_int_range(0, size)] ^=
                1 << g_test_rand_int_range(0, 8);
        }
        if (predlog_record_decode(buf, len, SALT, &v) == PREDLOG_RECORD_VALID) {
            /* 200 bytes of payload: no padding, every byte is covered */
            g_assert_cmpuint(len, ==, size);
            g_assert_cmpmem(buf, size, img, size);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Salt                                                                */
/* ------------------------------------------------------------------ */

/*
 * A record is VALID only with the salt it was written with: any other
 * salt, 0 included, sees a header CRC that does not match (TORN, rule 5)
 * or, when only the high half differs, a seal that does not (rule 8).
 */
static void test_salt_mismatch(void)
{
    PredlogRecordHeader h = make_header(100, 5);
    g_autofree uint8_t *payload = random_bytes(100);
    size_t size = predlog_record_size(100);
    g_autofree uint8_t *salted = g_malloc0(size);
    g_autofree uint8_t *plain = g_malloc0(size);
    PredlogRecordView v, w;

    g_assert_cmpuint(predlog_record_encode(salted, size, SALT, &h, payload),
                     ==, size);
    g_assert_cmpuint(predlog_record_encode(plain, size, 0, &h, payload), ==,
                     size);
    g_assert_cmpint(predlog_record_decode(salted, size, SALT, &v), ==,
                    PREDLOG_RECORD_VALID);
    g_assert_cmpint(predlog_record_decode(plain, size, 0, &w), ==,
                    PREDLOG_RECORD_VALID);
    /* the same record otherwise: only hdr_crc and commit differ */
    g_assert_cmpmem(salted, PREDLOG_RECORD_OFF_HDR_CRC, plain,
                    PREDLOG_RECORD_OFF_HDR_CRC);
    g_assert_cmpmem(salted + 48, size - 52, plain + 48, size - 52);
    g_assert_cmphex(v.hdr_crc, !=, w.hdr_crc);
    g_assert_cmphex(v.payload_crc, ==, w.payload_crc);

    g_assert_cmpint(predlog_record_decode(salted, size, 0, &v), ==,
                    PREDLOG_RECORD_TORN);
    g_assert_cmpuint(v.size, ==, 0);
    g_assert_cmpint(predlog_record_decode(plain, size, SALT, &v), ==,
                    PREDLOG_RECORD_TORN);
    g_assert_cmpint(predlog_record_decode(salted, size, SALT ^ 1, &v), ==,
                    PREDLOG_RECORD_TORN);
    /* the header matches, the seal does not commit it */
    g_assert_cmpint(predlog_record_decode(salted, size, SALT ^ (1ull << 63),
                                          &v), ==, PREDLOG_RECORD_TORN);
    g_assert_cmpuint(v.size, ==, size);
    g_assert_cmpuint(v.payload_crc, ==, 0);
    g_assert_cmpuint(predlog_record_resync(salted, size, 0, 0, &v), ==,
                     size);
    g_assert_cmpuint(predlog_record_resync(plain, size, 0, SALT, &v), ==,
                     size);
}

/*
 * Issue 14: a guest payload that holds a well-formed record encoding.
 * A ring holds an outer record whose payload carries a forged record at
 * an 8-byte boundary, then a real record.  A newer record's header is
 * written over the outer one (the writer's next lap began there), so a
 * reader resynchronises from inside the outer record's old payload.
 * With a pool salt the forgery -- unsalted, or of a salt the forger
 * guessed -- is not a record and the reader finds the real one; with
 * salt 0 on both sides (pools before salts) it would take the forgery.
 * Returns the offset resync finds from the overwritten record on.
 */
static size_t forged_resync(uint64_t pool_salt, uint64_t forge_salt,
                            size_t *forged_at, size_t *real_at)
{
    enum { RING = 2048, PAD = 16 };
    PredlogRecordHeader fh = make_header(40, 999);
    PredlogRecordHeader oh = make_header(0, 1);
    PredlogRecordHeader rh = make_header(24, 2);
    PredlogRecordHeader nh = make_header(600, 3);
    g_autofree uint8_t *ring = g_malloc0(RING);
    g_autofree uint8_t *fpay = random_bytes(40);
    g_autofree uint8_t *rpay = random_bytes(24);
    size_t fsize = predlog_record_size(40), osize;
    g_autofree uint8_t *opay = random_bytes(PAD + fsize + PAD);
    PredlogRecordWriter w;
    PredlogRecordView v;
    size_t off;

    /* what the guest sent: bytes, a record encoding, more bytes */
    g_assert_cmpuint(predlog_record_encode(opay + PAD, fsize, forge_salt,
                                           &fh, fpay), ==, fsize);
    oh.type = PREDLOG_RECORD_TYPE_GUEST;
    oh.orig_len = oh.stored_len = PAD + fsize + PAD;
    osize = predlog_record_encode(ring, RING, pool_salt, &oh, opay);
    g_assert_cmpuint(osize, >, 0);
    *forged_at = PREDLOG_RECORD_HDR_LEN + PAD;
    *real_at = osize;
    g_assert_cmpuint(predlog_record_encode(ring + osize, RING - osize,
                                           pool_salt, &rh, rpay), >, 0);

    /* intact, a reader steps over the payload: the forgery is not seen */
    g_assert_cmpint(predlog_record_decode(ring, RING, pool_salt, &v), ==,
                    PREDLOG_RECORD_VALID);
    g_assert_cmpuint(v.size, ==, osize);

    /* the next lap's record began at 0: header written, no payload yet */
    g_assert_true(predlog_record_begin(&w, ring, RING, pool_salt, &nh));
    g_assert_cmpint(predlog_record_decode(ring, RING, pool_salt, &v), ==,
                    PREDLOG_RECORD_TORN);
    off = predlog_record_resync(ring, RING, 8, pool_salt, &v);
    if (off == *forged_at) {
        g_assert_cmpuint(v.hdr.seq, ==, 999);
    }
    return off;
}

static void test_salt_forged_in_payload(void)
{
    size_t forged, real;

    /* unsalted forgery, salted pool: the reader finds the real record */
    g_assert_cmpuint(forged_resync(SALT, 0, &forged, &real), ==, real);
    /* a forgery with a salt guessed wrong: the same */
    g_assert_cmpuint(forged_resync(SALT, 0x0123456789abcdefull, &forged,
                                   &real), ==, real);
    /* a guess right in one half only is no better */
    g_assert_cmpuint(forged_resync(SALT, SALT ^ (1ull << 40), &forged,
                                   &real), ==, real);
    g_assert_cmpuint(forged_resync(SALT, SALT ^ 1, &forged, &real), ==,
                     real);
    /* without a salt (salt 0 on both sides) the forgery is picked up */
    g_assert_cmpuint(forged_resync(0, 0, &forged, &real), ==, forged);
    /* as it would be by whoever knows the pool's salt */
    g_assert_cmpuint(forged_resync(SALT, SALT, &forged, &real), ==, forged);
}

static void test_status_str(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (int s = 0; s < PREDLOG_RECORD_STATUS__MAX; s++) {
        const char *name = predlog_record_status_str(s);

        g_assert_nonnull(name);
        g_assert_cmpstr(name, !=, "unknown");
        g_assert_false(g_hash_table_contains(seen, name));
        g_hash_table_add(seen, (gpointer)name);
    }
    g_assert_cmpstr(predlog_record_status_str(PREDLOG_RECORD_STATUS__MAX),
                    ==, "unknown");
    g_assert_cmpstr(predlog_record_status_str(PREDLOG_RECORD_TORN), ==,
                    "torn");
    g_assert_cmpstr(predlog_record_type_str(PREDLOG_RECORD_TYPE_NET_PACKET),
                    ==, "net-packet");
    g_assert_cmpstr(predlog_record_type_str(0), ==, "unknown");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/record/crc32c/vectors", test_crc32c_vectors);
    g_test_add_func("/record/crc32c/chaining", test_crc32c_chaining);
    g_test_add_func("/record/crc32c/paths-agree", test_crc32c_paths_agree);
    g_test_add_func("/record/size", test_size);
    g_test_add_func("/record/layout", test_layout);
    g_test_add_func("/record/roundtrip", test_roundtrip);
    g_test_add_func("/record/truncated-payload", test_truncated_payload);
    g_test_add_func("/record/encode-rejects", test_encode_rejects);
    g_test_add_func("/record/writer", test_writer);
    g_test_add_func("/record/torn/every-byte", test_torn_every_byte);
    g_test_add_func("/record/torn/payload-order", test_torn_payload_order);
    g_test_add_func("/record/overwritten/body", test_overwritten_body);
    g_test_add_func("/record/overwritten/ring", test_overwritten_ring);
    g_test_add_func("/record/decode/empty-and-short", test_empty_and_short);
    g_test_add_func("/record/decode/fuzz", test_fuzz);
    g_test_add_func("/record/decode/fuzz-mutations", test_fuzz_mutations);
    g_test_add_func("/record/salt/mismatch", test_salt_mismatch);
    g_test_add_func("/record/salt/forged-in-payload",
                    test_salt_forged_in_payload);
    g_test_add_func("/record/status-str", test_status_str);

    return g_test_run();
}
