/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: payload of SUMMARY records
 *
 * The format and its consistency rules are specified in summary.h.  The
 * encoder checks the same rules as the decoder, so that the recorder can
 * never write a summary that predlog-recover would have to reject.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <glib.h>
#include <string.h>

#include "qemu/predlog/byteorder.h"
#include "summary.h"

G_STATIC_ASSERT(PREDLOG_SUMMARY_LEN % 8 == 0);
G_STATIC_ASSERT(PREDLOG_SUMMARY_OFF_AUX_COUNT + 8 * PREDLOG_SUMMARY_AUX_SLOTS
                == PREDLOG_SUMMARY_OFF_LEN_HIST);
G_STATIC_ASSERT(PREDLOG_SUMMARY_OFF_LEN_HIST +
                8 * PREDLOG_SUMMARY_LEN_BUCKETS == PREDLOG_SUMMARY_LEN);

void predlog_summary_reset(PredlogSummary *s)
{
    memset(s, 0, sizeof(*s));
}

unsigned predlog_summary_len_bucket(uint32_t orig_len)
{
    unsigned b = 0;

    /* floor(log2(orig_len)), with 0 and 1 both in bucket 0 */
    while (orig_len > 1 && b < PREDLOG_SUMMARY_LEN_BUCKETS - 1) {
        orig_len >>= 1;
        b++;
    }
    return b;
}

void predlog_summary_add(PredlogSummary *s, uint64_t seq, uint64_t ts,
                         uint32_t orig_len, uint32_t aux)
{
    if (s->records == 0) {
        s->first_seq = seq;
        s->first_ts = ts;
        s->min_len = orig_len;
        s->max_len = orig_len;
    }
    s->last_seq = seq;
    s->last_ts = ts;
    s->records++;
    s->orig_bytes += orig_len;
    s->min_len = MIN(s->min_len, orig_len);
    s->max_len = MAX(s->max_len, orig_len);
    s->aux_count[aux < PREDLOG_SUMMARY_AUX_SLOTS ? aux : 0]++;
    s->len_hist[predlog_summary_len_bucket(orig_len)]++;
}

/* Sum of @n counters, false if it overflows. */
static bool sum_counts(const uint64_t *c, unsigned n, uint64_t *sum)
{
    *sum = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!g_uint64_checked_add(sum, *sum, c[i])) {
            return false;
        }
    }
    return true;
}

bool predlog_summary_valid(const PredlogSummary *s)
{
    unsigned lo, hi;
    uint64_t sum, bound;

    if (!s || s->records == 0 || s->first_seq > s->last_seq ||
        s->last_seq - s->first_seq != s->records - 1) {
        return false;
    }
    if (s->min_len > s->max_len) {
        return false;
    }
    if (s->records == 1 && s->first_ts != s->last_ts) {
        return false;
    }
    if (!g_uint64_checked_mul(&bound, s->records, s->min_len) ||
        s->orig_bytes < bound) {
        return false;
    }
    /* An overflowing upper bound bounds nothing. */
    if (g_uint64_checked_mul(&bound, s->records, s->max_len) &&
        s->orig_bytes > bound) {
        return false;
    }
    if (!sum_counts(s->aux_count, PREDLOG_SUMMARY_AUX_SLOTS, &sum) ||
        sum != s->records) {
        return false;
    }
    if (!sum_counts(s->len_hist, PREDLOG_SUMMARY_LEN_BUCKETS, &sum) ||
        sum != s->records) {
        return false;
    }
    lo = predlog_summary_len_bucket(s->min_len);
    hi = predlog_summary_len_bucket(s->max_len);
    if (s->len_hist[lo] == 0 || s->len_hist[hi] == 0) {
        return false;
    }
    for (unsigned b = 0; b < PREDLOG_SUMMARY_LEN_BUCKETS; b++) {
        if ((b < lo || b > hi) && s->len_hist[b] != 0) {
            return false;
        }
    }
    return true;
}

size_t predlog_summary_encode(const PredlogSummary *s, uint8_t *buf,
                              size_t cap)
{
    if (!buf || cap < PREDLOG_SUMMARY_LEN || !predlog_summary_valid(s)) {
        return 0;
    }
    memset(buf, 0, PREDLOG_SUMMARY_LEN);
    put_le32(buf + PREDLOG_SUMMARY_OFF_VERSION, PREDLOG_SUMMARY_VERSION);
    put_le32(buf + PREDLOG_SUMMARY_OFF_MIN_LEN, s->min_len);
    put_le32(buf + PREDLOG_SUMMARY_OFF_MAX_LEN, s->max_len);
    put_le64(buf + PREDLOG_SUMMARY_OFF_FIRST_SEQ, s->first_seq);
    put_le64(buf + PREDLOG_SUMMARY_OFF_LAST_SEQ, s->last_seq);
    put_le64(buf + PREDLOG_SUMMARY_OFF_FIRST_TS, s->first_ts);
    put_le64(buf + PREDLOG_SUMMARY_OFF_LAST_TS, s->last_ts);
    put_le64(buf + PREDLOG_SUMMARY_OFF_RECORDS, s->records);
    put_le64(buf + PREDLOG_SUMMARY_OFF_ORIG_BYTES, s->orig_bytes);
    for (unsigned i = 0; i < PREDLOG_SUMMARY_AUX_SLOTS; i++) {
        put_le64(buf + PREDLOG_SUMMARY_OFF_AUX_COUNT + 8 * i,
                 s->aux_count[i]);
    }
    for (unsigned i = 0; i < PREDLOG_SUMMARY_LEN_BUCKETS; i++) {
        put_le64(buf + PREDLOG_SUMMARY_OFF_LEN_HIST + 8 * i,
                 s->len_hist[i]);
    }
    return PREDLOG_SUMMARY_LEN;
}

bool predlog_summary_decode(const uint8_t *buf, size_t len,
                            PredlogSummary *out)
{
    PredlogSummary s;

    memset(out, 0, sizeof(*out));
    if (!buf || len != PREDLOG_SUMMARY_LEN ||
        get_le32(buf + PREDLOG_SUMMARY_OFF_VERSION) !=
        PREDLOG_SUMMARY_VERSION ||
        get_le32(buf + PREDLOG_SUMMARY_OFF_RESERVED) != 0) {
        return false;
    }
    s.min_len = get_le32(buf + PREDLOG_SUMMARY_OFF_MIN_LEN);
    s.max_len = get_le32(buf + PREDLOG_SUMMARY_OFF_MAX_LEN);
    s.first_seq = get_le64(buf + PREDLOG_SUMMARY_OFF_FIRST_SEQ);
    s.last_seq = get_le64(buf + PREDLOG_SUMMARY_OFF_LAST_SEQ);
    s.first_ts = get_le64(buf + PREDLOG_SUMMARY_OFF_FIRST_TS);
    s.last_ts = get_le64(buf + PREDLOG_SUMMARY_OFF_LAST_TS);
    s.records = get_le64(buf + PREDLOG_SUMMARY_OFF_RECORDS);
    s.orig_bytes = get_le64(buf + PREDLOG_SUMMARY_OFF_ORIG_BYTES);
    for (unsigned i = 0; i < PREDLOG_SUMMARY_AUX_SLOTS; i++) {
        s.aux_count[i] = get_le64(buf + PREDLOG_SUMMARY_OFF_AUX_COUNT + 8 * i);
    }
    for (unsigned i = 0; i < PREDLOG_SUMMARY_LEN_BUCKETS; i++) {
        s.len_hist[i] = get_le64(buf + PREDLOG_SUMMARY_OFF_LEN_HIST + 8 * i);
    }
    if (!predlog_summary_valid(&s)) {
        return false;
    }
    *out = s;
    return true;
}

static void append_array(GString *str, const char *key, const uint64_t *v,
                         unsigned n)
{
    g_string_append_printf(str, ",\"%s\":[", key);
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(str, "%s%" PRIu64, i ? "," : "", v[i]);
    }
    g_string_append_c(str, ']');
}

char *predlog_summary_to_json(const PredlogSummary *s)
{
    GString *str = g_string_new(NULL);

    g_string_append_printf(str,
                           "{\"version\":%d,"
                           "\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
                           ",\"first_ts\":%" PRIu64 ",\"last_ts\":%" PRIu64
                           ",\"records\":%" PRIu64
                           ",\"orig_bytes\":%" PRIu64
                           ",\"min_len\":%" PRIu32 ",\"max_len\":%" PRIu32,
                           PREDLOG_SUMMARY_VERSION,
                           s->first_seq, s->last_seq, s->first_ts, s->last_ts,
                           s->records, s->orig_bytes, s->min_len, s->max_len);
    append_array(str, "aux_count", s->aux_count, PREDLOG_SUMMARY_AUX_SLOTS);
    append_array(str, "len_hist", s->len_hist, PREDLOG_SUMMARY_LEN_BUCKETS);
    g_string_append_c(str, '}');
    return g_string_free(str, false);
}
