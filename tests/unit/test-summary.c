/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog SUMMARY record payload
 *
 * The layout is pinned byte by byte (it is an on-media format read by
 * predlog-recover from pools of older versions), every consistency rule
 * of summary.h has an input that breaks only that rule, and mutated
 * encodings must either be refused or decode to exactly what they say.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <string.h>

#include "qemu/predlog/byteorder.h"
#include "hw/predlog/core/summary.h"

static void assert_summary_eq(const PredlogSummary *a, const PredlogSummary *b)
{
    g_assert_cmpuint(a->first_seq, ==, b->first_seq);
    g_assert_cmpuint(a->last_seq, ==, b->last_seq);
    g_assert_cmpuint(a->first_ts, ==, b->first_ts);
    g_assert_cmpuint(a->last_ts, ==, b->last_ts);
    g_assert_cmpuint(a->records, ==, b->records);
    g_assert_cmpuint(a->orig_bytes, ==, b->orig_bytes);
    g_assert_cmpuint(a->min_len, ==, b->min_len);
    g_assert_cmpuint(a->max_len, ==, b->max_len);
    for (unsigned i = 0; i < PREDLOG_SUMMARY_AUX_SLOTS; i++) {
        g_assert_cmpuint(a->aux_count[i], ==, b->aux_count[i]);
    }
    for (unsigned i = 0; i < PREDLOG_SUMMARY_LEN_BUCKETS; i++) {
        g_assert_cmpuint(a->len_hist[i], ==, b->len_hist[i]);
    }
}

static void assert_zero(const PredlogSummary *s)
{
    PredlogSummary z;

    memset(&z, 0, sizeof(z));
    assert_summary_eq(s, &z);
}

/*
 * Five records, seq 10..14: lengths 60, 1514, 0, 42, 60; aux 1, 2, 1, 9
 * (out of range: slot 0), 2.
 */
static void sample(PredlogSummary *s)
{
    predlog_summary_reset(s);
    predlog_summary_add(s, 10, 1000, 60, 1);
    predlog_summary_add(s, 11, 1100, 1514, 2);
    predlog_summary_add(s, 12, 1200, 0, 1);
    predlog_summary_add(s, 13, 1300, 42, 9);
    predlog_summary_add(s, 14, 1450, 60, 2);
}

static void encode_ok(const PredlogSummary *s, uint8_t *buf)
{
    g_assert_cmpuint(predlog_summary_encode(s, buf, PREDLOG_SUMMARY_LEN), ==,
                     PREDLOG_SUMMARY_LEN);
}

/* Decode from an exactly sized heap copy, so that overreads are caught. */
static bool decode_exact(const uint8_t *buf, size_t len, PredlogSummary *out)
{
    g_autofree uint8_t *copy = g_malloc(len);

    if (len) {
        memcpy(copy, buf, len);
    }
    return predlog_summary_decode(copy, len, out);
}

static void assert_rejected(const uint8_t *buf, size_t len)
{
    PredlogSummary out;

    memset(&out, 0x5a, sizeof(out));
    g_assert_false(decode_exact(buf, len, &out));
    assert_zero(&out);
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */
/* ------------------------------------------------------------------ */

static void test_add(void)
{
    PredlogSummary s;

    sample(&s);
    g_assert_cmpuint(s.first_seq, ==, 10);
    g_assert_cmpuint(s.last_seq, ==, 14);
    g_assert_cmpuint(s.first_ts, ==, 1000);
    g_assert_cmpuint(s.last_ts, ==, 1450);
    g_assert_cmpuint(s.records, ==, 5);
    g_assert_cmpuint(s.orig_bytes, ==, 60 + 1514 + 0 + 42 + 60);
    g_assert_cmpuint(s.min_len, ==, 0);
    g_assert_cmpuint(s.max_len, ==, 1514);
    g_assert_cmpuint(s.aux_count[0], ==, 1);
    g_assert_cmpuint(s.aux_count[1], ==, 2);
    g_assert_cmpuint(s.aux_count[2], ==, 2);
    g_assert_cmpuint(s.len_hist[0], ==, 1);     /* 0 */
    g_assert_cmpuint(s.len_hist[5], ==, 3);     /* 42, 60, 60 */
    g_assert_cmpuint(s.len_hist[10], ==, 1);    /* 1514 */
    g_assert_true(predlog_summary_valid(&s));

    predlog_summary_reset(&s);
    assert_zero(&s);
    g_assert_false(predlog_summary_valid(&s));
    g_assert_false(predlog_summary_valid(NULL));

    /* One record: min and max are its length, ts both its own. */
    predlog_summary_add(&s, 1, 77, 300, 7);
    g_assert_cmpuint(s.min_len, ==, 300);
    g_assert_cmpuint(s.max_len, ==, 300);
    g_assert_cmpuint(s.first_ts, ==, 77);
    g_assert_cmpuint(s.last_ts, ==, 77);
    g_assert_cmpuint(s.aux_count[7], ==, 1);
    g_assert_true(predlog_summary_valid(&s));
}

static void test_buckets(void)
{
    static const struct {
        uint32_t len;
        unsigned bucket;
    } cases[] = {
        { 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 1 }, { 4, 2 }, { 7, 2 },
        { 8, 3 }, { 64, 6 }, { 1513, 10 }, { 1514, 10 }, { 2047, 10 },
        { 2048, 11 }, { 16383, 13 }, { 16384, 14 }, { 32767, 14 },
        { 32768, 15 }, { 65535, 15 }, { 1u << 20, 15 }, { UINT32_MAX, 15 },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        PredlogSummary s;

        g_assert_cmpuint(predlog_summary_len_bucket(cases[i].len), ==,
                         cases[i].bucket);
        predlog_summary_reset(&s);
        predlog_summary_add(&s, 5, 5, cases[i].len, 0);
        g_assert_cmpuint(s.len_hist[cases[i].bucket], ==, 1);
    }
    /* Every bucket's lower bound and the value below it. */
    for (unsigned b = 1; b < PREDLOG_SUMMARY_LEN_BUCKETS; b++) {
        g_assert_cmpuint(predlog_summary_len_bucket(1u << b), ==, b);
        g_assert_cmpuint(predlog_summary_len_bucket((1u << b) - 1), ==,
                         b - 1);
    }
}

static void test_round_trip(void)
{
    uint8_t buf[PREDLOG_SUMMARY_LEN + 8];
    PredlogSummary s, d;

    sample(&s);
    memset(buf, 0xee, sizeof(buf));
    g_assert_cmpuint(predlog_summary_encode(&s, buf, sizeof(buf)), ==,
                     PREDLOG_SUMMARY_LEN);
    /* Nothing written past the encoding. */
    for (size_t i = PREDLOG_SUMMARY_LEN; i < sizeof(buf); i++) {
        g_assert_cmphex(buf[i], ==, 0xee);
    }
    g_assert_true(decode_exact(buf, PREDLOG_SUMMARY_LEN, &d));
    assert_summary_eq(&s, &d);

    /* Extreme values survive too. */
    predlog_summary_reset(&s);
    predlog_summary_add(&s, UINT64_MAX - 1, UINT64_MAX - 5, UINT32_MAX, 3);
    predlog_summary_add(&s, UINT64_MAX, UINT64_MAX, UINT32_MAX, 3);
    encode_ok(&s, buf);
    g_assert_true(decode_exact(buf, PREDLOG_SUMMARY_LEN, &d));
    assert_summary_eq(&s, &d);
    g_assert_cmpuint(d.orig_bytes, ==, 2 * (uint64_t)UINT32_MAX);
}

/* The layout of summary.h, byte by byte. */
static void test_layout(void)
{
    uint8_t buf[PREDLOG_SUMMARY_LEN];
    PredlogSummary s;
    static const uint8_t head[16] = {
        0x01, 0x00, 0x00, 0x00,         /* version */
        0x00, 0x00, 0x00, 0x00,         /* min_len 0 */
        0xea, 0x05, 0x00, 0x00,         /* max_len 1514 */
        0x00, 0x00, 0x00, 0x00,         /* reserved */
    };

    g_assert_cmpuint(PREDLOG_SUMMARY_LEN % 8, ==, 0);
    sample(&s);
    encode_ok(&s, buf);
    g_assert_cmpmem(buf, 16, head, 16);
    g_assert_cmpuint(get_le64(buf + 16), ==, 10);
    g_assert_cmpuint(get_le64(buf + 24), ==, 14);
    g_assert_cmpuint(get_le64(buf + 32), ==, 1000);
    g_assert_cmpuint(get_le64(buf + 40), ==, 1450);
    g_assert_cmpuint(get_le64(buf + 48), ==, 5);
    g_assert_cmpuint(get_le64(buf + 56), ==, 1676);
    g_assert_cmpuint(get_le64(buf + 64 + 0 * 8), ==, 1);
    g_assert_cmpuint(get_le64(buf + 64 + 1 * 8), ==, 2);
    g_assert_cmpuint(get_le64(buf + 64 + 2 * 8), ==, 2);
    g_assert_cmpuint(get_le64(buf + 64 + 7 * 8), ==, 0);
    g_assert_cmpuint(get_le64(buf + 128 + 0 * 8), ==, 1);
    g_assert_cmpuint(get_le64(buf + 128 + 5 * 8), ==, 3);
    g_assert_cmpuint(get_le64(buf + 128 + 10 * 8), ==, 1);
    g_assert_cmpuint(get_le64(buf + 128 + 15 * 8), ==, 0);
    g_assert_cmpuint(PREDLOG_SUMMARY_OFF_LEN_HIST + 16 * 8, ==,
                     PREDLOG_SUMMARY_LEN);
}

static void test_json(void)
{
    PredlogSummary s;
    g_autofree char *json = NULL;
    g_autofree char *one = NULL;

    sample(&s);
    json = predlog_summary_to_json(&s);
    g_assert_cmpstr(json, ==,
                    "{\"version\":1,\"first_seq\":10,\"last_seq\":14,"
                    "\"first_ts\":1000,\"last_ts\":1450,\"records\":5,"
                    "\"orig_bytes\":1676,\"min_len\":0,\"max_len\":1514,"
                    "\"aux_count\":[1,2,2,0,0,0,0,0],"
                    "\"len_hist\":[1,0,0,0,0,3,0,0,0,0,1,0,0,0,0,0]}");
    g_assert_null(strchr(json, '\n'));

    predlog_summary_reset(&s);
    predlog_summary_add(&s, UINT64_MAX, UINT64_MAX, UINT32_MAX, 0);
    one = predlog_summary_to_json(&s);
    g_assert_nonnull(strstr(one, "\"last_seq\":18446744073709551615,"));
    g_assert_nonnull(strstr(one, "\"max_len\":4294967295,"));
}

static void test_encode_refuses(void)
{
    uint8_t buf[PREDLOG_SUMMARY_LEN];
    PredlogSummary s;

    memset(buf, 0xee, sizeof(buf));
    sample(&s);
    g_assert_cmpuint(predlog_summary_encode(&s, buf, PREDLOG_SUMMARY_LEN - 1),
                     ==, 0);
    g_assert_cmpuint(predlog_summary_encode(&s, NULL, PREDLOG_SUMMARY_LEN),
                     ==, 0);
    predlog_summary_reset(&s);
    g_assert_cmpuint(predlog_summary_encode(&s, buf, sizeof(buf)), ==, 0);
    /* A gap in the sequence numbers. */
    predlog_summary_add(&s, 1, 1, 10, 1);
    predlog_summary_add(&s, 3, 2, 10, 1);
    g_assert_cmpuint(predlog_summary_encode(&s, buf, sizeof(buf)), ==, 0);
    for (size_t i = 0; i < sizeof(buf); i++) {
        g_assert_cmphex(buf[i], ==, 0xee);
    }
}

/* Each rule of summary.h broken alone, on an otherwise valid encoding. */
typedef void (*Mutate)(uint8_t *buf);

static void m_version0(uint8_t *b)
{
    put_le32(b + PREDLOG_SUMMARY_OFF_VERSION, 0);
}

static void m_version2(uint8_t *b)
{
    put_le32(b + PREDLOG_SUMMARY_OFF_VERSION, 2);
}

static void m_reserved(uint8_t *b)
{
    put_le32(b + PREDLOG_SUMMARY_OFF_RESERVED, 1);
}

static void m_seq_reversed(uint8_t *b)
{
    put_le64(b + PREDLOG_SUMMARY_OFF_FIRST_SEQ, 14);
    put_le64(b + PREDLOG_SUMMARY_OFF_LAST_SEQ, 10);
}

static void m_records_mismatch(uint8_t *b)
{
    put_le64(b + PREDLOG_SUMMARY_OFF_LAST_SEQ, 15);
}

static void m_records_zero(uint8_t *b)
{
    /* A consistent-looking empty summary is still refused. */
    memset(b + 16, 0, PREDLOG_SUMMARY_LEN - 16);
    put_le32(b + PREDLOG_SUMMARY_OFF_MIN_LEN, 0);
    put_le32(b + PREDLOG_SUMMARY_OFF_MAX_LEN, 0);
}

static void m_seq_wraps(uint8_t *b)
{
    /* last - first + 1 overflows to 0 == records - ... not 5 */
    put_le64(b + PREDLOG_SUMMARY_OFF_FIRST_SEQ, 0);
    put_le64(b + PREDLOG_SUMMARY_OFF_LAST_SEQ, UINT64_MAX);
}

static void m_min_over_max(uint8_t *b)
{
    put_le32(b + PREDLOG_SUMMARY_OFF_MIN_LEN, 2000);
}

static void m_bytes_low(uint8_t *b)
{
    /* min 0 keeps the lower bound at 0: raise min within bucket 0 */
    put_le32(b + PREDLOG_SUMMARY_OFF_MIN_LEN, 1);
    put_le64(b + PREDLOG_SUMMARY_OFF_ORIG_BYTES, 4);
}

static void m_bytes_high(uint8_t *b)
{
    put_le64(b + PREDLOG_SUMMARY_OFF_ORIG_BYTES, 5 * 1514 + 1);
}

static void m_aux_sum(uint8_t *b)
{
    put_le64(b + PREDLOG_SUMMARY_OFF_AUX_COUNT + 3 * 8, 1);
}

static void m_aux_overflow(uint8_t *b)
{
    /* 1 + 2 + 2 + (2^64 - 5) + 5 ... wraps to 5 if summed carelessly */
    put_le64(b + PREDLOG_SUMMARY_OFF_AUX_COUNT + 3 * 8, UINT64_MAX - 4);
    put_le64(b + PREDLOG_SUMMARY_OFF_AUX_COUNT + 4 * 8, 5);
}

static void m_hist_sum(uint8_t *b)
{
    put_le64(b + PREDLOG_SUMMARY_OFF_LEN_HIST + 5 * 8, 4);
}

static void m_hist_outside(uint8_t *b)
{
    /* Move one record from bucket 5 to bucket 11, above max_len's 10. */
    put_le64(b + PREDLOG_SUMMARY_OFF_LEN_HIST + 5 * 8, 2);
    put_le64(b + PREDLOG_SUMMARY_OFF_LEN_HIST + 11 * 8, 1);
}

static void m_hist_min_empty(uint8_t *b)
{
    /* min_len 0 says bucket 0 holds a record; move it to bucket 5. */
    put_le64(b + PREDLOG_SUMMARY_OFF_LEN_HIST + 0 * 8, 0);
    put_le64(b + PREDLOG_SUMMARY_OFF_LEN_HIST + 5 * 8, 4);
}

static void m_one_record_ts(uint8_t *b)
{
    PredlogSummary s;

    predlog_summary_reset(&s);
    predlog_summary_add(&s, 3, 50, 64, 1);
    encode_ok(&s, b);
    put_le64(b + PREDLOG_SUMMARY_OFF_LAST_TS, 51);
}

static const struct {
    const char *name;
    Mutate m;
} mutations[] = {
    { "version-0", m_version0 },
    { "version-2", m_version2 },
    { "reserved", m_reserved },
    { "seq-reversed", m_seq_reversed },
    { "records-mismatch", m_records_mismatch },
    { "records-zero", m_records_zero },
    { "seq-wraps", m_seq_wraps },
    { "min-over-max", m_min_over_max },
    { "bytes-low", m_bytes_low },
    { "bytes-high", m_bytes_high },
    { "aux-sum", m_aux_sum },
    { "aux-overflow", m_aux_overflow },
    { "hist-sum", m_hist_sum },
    { "hist-outside", m_hist_outside },
    { "hist-min-empty", m_hist_min_empty },
    { "one-record-ts", m_one_record_ts },
};

static void test_decode_rejects(void)
{
    uint8_t buf[PREDLOG_SUMMARY_LEN + 1];
    PredlogSummary s, d;

    sample(&s);
    encode_ok(&s, buf);
    buf[PREDLOG_SUMMARY_LEN] = 0;
    g_assert_true(decode_exact(buf, PREDLOG_SUMMARY_LEN, &d));

    /* Every shorter length, and one byte too many. */
    for (size_t len = 0; len < PREDLOG_SUMMARY_LEN; len++) {
        assert_rejected(buf, len);
    }
    assert_rejected(buf, PREDLOG_SUMMARY_LEN + 1);
    g_assert_false(predlog_summary_decode(NULL, PREDLOG_SUMMARY_LEN, &d));

    for (unsigned i = 0; i < G_N_ELEMENTS(mutations); i++) {
        uint8_t m[PREDLOG_SUMMARY_LEN];

        memcpy(m, buf, sizeof(m));
        mutations[i].m(m);
        if (g_test_verbose()) {
            g_test_message("mutation %s", mutations[i].name);
        }
        assert_rejected(m, sizeof(m));
    }
}

/*
 * Random byte flips and random whole fields: whatever decodes must be
 * consistent and encode back to the very same bytes.
 */
static void test_decode_random(void)
{
    GRand *rand = g_rand_new_with_seed(256);
    unsigned accepted = 0;

    for (int iter = 0; iter < 50000; iter++) {
        uint8_t buf[PREDLOG_SUMMARY_LEN], again[PREDLOG_SUMMARY_LEN];
        PredlogSummary s, d;
        unsigned n = g_rand_int_range(rand, 1, 40);
        uint64_t seq = g_rand_int(rand);

        predlog_summary_reset(&s);
        for (unsigned k = 0; k < n; k++) {
            predlog_summary_add(&s, seq + k, 1000 + k,
                                g_rand_int_range(rand, 0, 70000),
                                g_rand_int_range(rand, 0, 12));
        }
        encode_ok(&s, buf);
        for (int flips = g_rand_int_range(rand, 0, 3); flips > 0; flips--) {
            unsigned off = g_rand_int_range(rand, 0, PREDLOG_SUMMARY_LEN);

            buf[off] ^= 1u << g_rand_int_range(rand, 0, 8);
        }
        if (decode_exact(buf, sizeof(buf), &d)) {
            accepted++;
            g_assert_true(predlog_summary_valid(&d));
            encode_ok(&d, again);
            g_assert_cmpmem(again, sizeof(again), buf, sizeof(buf));
        }
    }
    /* Unflipped inputs (a third of them) must all have been accepted. */
    g_assert_cmpuint(accepted, >=, 50000 / 3 - 1000);
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/summary/add", test_add);
    g_test_add_func("/summary/buckets", test_buckets);
    g_test_add_func("/summary/round-trip", test_round_trip);
    g_test_add_func("/summary/layout", test_layout);
    g_test_add_func("/summary/json", test_json);
    g_test_add_func("/summary/encode-refuses", test_encode_refuses);
    g_test_add_func("/summary/decode-rejects", test_decode_rejects);
    g_test_add_func("/summary/decode-random", test_decode_random);
    return g_test_run();
}
