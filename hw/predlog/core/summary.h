/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: payload of SUMMARY records
 *
 * At granularity SUMMARY (granularity.h) the recorder stops storing each
 * record of a function and instead emits, once per interval, one
 * PREDLOG_RECORD_TYPE_SUMMARY record (record.h; aux: type of the records
 * summarised, level SUMMARY) whose payload is the aggregate below.  Every
 * summarised record still takes its own sequence number, so the sequence
 * numbers of a function stay gap-free across FULL, HEADER and SUMMARY
 * stretches and a reader can prove nothing vanished: the records a
 * summary stands for are exactly [first_seq, last_seq].
 *
 * Encoding (version 1): PREDLOG_SUMMARY_LEN bytes, all integers
 * little-endian, at the offsets below.
 *
 *   off  size  field
 *   ---  ----  -----------------------------------------------------------
 *     0     4  version       PREDLOG_SUMMARY_VERSION
 *     4     4  min_len       smallest orig_len summarised
 *     8     4  max_len       largest orig_len summarised
 *    12     4  reserved      zero
 *    16     8  first_seq     sequence number of the first record
 *    24     8  last_seq      sequence number of the last record
 *    32     8  first_ts      timestamp_ns of the first record
 *    40     8  last_ts       timestamp_ns of the last record
 *    48     8  records       last_seq - first_seq + 1
 *    56     8  orig_bytes    sum of orig_len
 *    64    64  aux_count[8]  records by aux value a (net: direction, block:
 *                            op, guest: severity); a >= 8 is counted in [0]
 *   128   128  len_hist[16]  records by orig_len: [0] holds 0..1,
 *                            [i] holds [2^i, 2^(i+1)) for 1 <= i <= 14,
 *                            [15] holds >= 2^15
 *   256        end (PREDLOG_SUMMARY_LEN, a multiple of 8)
 *
 * A summary is consistent, and predlog_summary_decode() accepts it, only
 * if all of these hold:
 *
 *  - the length is exactly PREDLOG_SUMMARY_LEN, the version is 1 and the
 *    reserved field is zero;
 *  - records >= 1, first_seq <= last_seq and
 *    last_seq - first_seq + 1 == records;
 *  - min_len <= max_len, and
 *    records * min_len <= orig_bytes <= records * max_len;
 *  - aux_count and len_hist each add up to records (without overflow);
 *  - len_hist is zero outside the buckets of min_len..max_len, and those
 *    two buckets are not zero;
 *  - a summary of one record has first_ts == last_ts.
 *
 * Timestamps are in the writer's clock (record.h); their order is not
 * checked beyond the last rule.
 *
 * Pure C11 + GLib, no QEMU headers.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_SUMMARY_H
#define HW_PREDLOG_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREDLOG_SUMMARY_VERSION     1
#define PREDLOG_SUMMARY_AUX_SLOTS   8
#define PREDLOG_SUMMARY_LEN_BUCKETS 16
#define PREDLOG_SUMMARY_LEN         256

#define PREDLOG_SUMMARY_OFF_VERSION     0
#define PREDLOG_SUMMARY_OFF_MIN_LEN     4
#define PREDLOG_SUMMARY_OFF_MAX_LEN     8
#define PREDLOG_SUMMARY_OFF_RESERVED    12
#define PREDLOG_SUMMARY_OFF_FIRST_SEQ   16
#define PREDLOG_SUMMARY_OFF_LAST_SEQ    24
#define PREDLOG_SUMMARY_OFF_FIRST_TS    32
#define PREDLOG_SUMMARY_OFF_LAST_TS     40
#define PREDLOG_SUMMARY_OFF_RECORDS     48
#define PREDLOG_SUMMARY_OFF_ORIG_BYTES  56
#define PREDLOG_SUMMARY_OFF_AUX_COUNT   64
#define PREDLOG_SUMMARY_OFF_LEN_HIST    128

typedef struct PredlogSummary {
    uint64_t first_seq, last_seq;   /* records == last_seq - first_seq + 1 */
    uint64_t first_ts, last_ts;     /* of the first/last record summarised */
    uint64_t records, orig_bytes;
    uint32_t min_len, max_len;      /* of orig_len */
    uint64_t aux_count[PREDLOG_SUMMARY_AUX_SLOTS];
    uint64_t len_hist[PREDLOG_SUMMARY_LEN_BUCKETS];
} PredlogSummary;

/* Empty the summary (no records: not encodable until one is added). */
void predlog_summary_reset(PredlogSummary *s);

/*
 * Count one record.  Sequence numbers must be consecutive from the first
 * add after a reset; if they are not, the summary becomes inconsistent
 * and predlog_summary_encode() refuses it.
 */
void predlog_summary_add(PredlogSummary *s, uint64_t seq, uint64_t ts,
                         uint32_t orig_len, uint32_t aux);

/* The len_hist bucket of @orig_len. */
unsigned predlog_summary_len_bucket(uint32_t orig_len);

/* Whether @s satisfies the consistency rules above. */
bool predlog_summary_valid(const PredlogSummary *s);

/*
 * Encode @s into @buf; returns PREDLOG_SUMMARY_LEN, or 0 without writing
 * if @cap is too small or @s is not consistent (empty included), since a
 * reader would reject it.
 */
size_t predlog_summary_encode(const PredlogSummary *s, uint8_t *buf,
                              size_t cap);

/*
 * Decode @len bytes at @buf, which may come from a crashed pool or a
 * hostile guest: nothing outside [buf, buf + len) is read, and false is
 * returned (with @out zeroed) unless every rule above holds.
 */
bool predlog_summary_decode(const uint8_t *buf, size_t len,
                            PredlogSummary *out);

/*
 * One JSON object, no newline, keys in this order:
 * {"version":1,"first_seq":..,"last_seq":..,"first_ts":..,"last_ts":..,
 *  "records":..,"orig_bytes":..,"min_len":..,"max_len":..,
 *  "aux_count":[8 numbers],"len_hist":[16 numbers]}.  Free with g_free().
 */
char *predlog_summary_to_json(const PredlogSummary *s);

#endif /* HW_PREDLOG_SUMMARY_H */
