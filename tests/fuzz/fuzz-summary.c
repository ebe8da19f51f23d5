/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the summary decoder (hw/predlog/core/summary.c)
 *
 * The input is the payload of a SUMMARY record.  Checks: a summary the
 * decoder accepts satisfies predlog_summary_valid(), encodes back to
 * exactly the input bytes and decodes again to the same summary; its JSON
 * is valid JSON; a rejected one leaves the output zeroed.  Then the same
 * bytes drive predlog_summary_add() as a series of records, whose
 * summary must encode and decode to itself.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>

#include "hw/predlog/core/summary.h"
#include "fuzz-common.h"

static void check_roundtrip(const PredlogSummary *s, const uint8_t *bytes)
{
    uint8_t buf[PREDLOG_SUMMARY_LEN];
    PredlogSummary again;
    g_autofree char *json = NULL;
    bool obj;

    FUZZ_CHECK(predlog_summary_valid(s));
    FUZZ_CHECK(predlog_summary_encode(s, buf, sizeof(buf)) ==
               PREDLOG_SUMMARY_LEN);
    if (bytes) {
        FUZZ_CHECK(memcmp(buf, bytes, PREDLOG_SUMMARY_LEN) == 0);
    }
    FUZZ_CHECK(predlog_summary_decode(buf, sizeof(buf), &again));
    FUZZ_CHECK(memcmp(&again, s, sizeof(again)) == 0);
    /* a buffer one byte short is refused without a write */
    FUZZ_CHECK(predlog_summary_encode(s, buf, sizeof(buf) - 1) == 0);
    json = predlog_summary_to_json(s);
    FUZZ_CHECK(fuzz_json_valid(json, strlen(json), &obj) && obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const PredlogSummary zero;
    PredlogSummary s, built;
    FuzzInput in = { data, size };
    unsigned n;

    if (predlog_summary_decode(data, size, &s)) {
        FUZZ_CHECK(size == PREDLOG_SUMMARY_LEN);
        check_roundtrip(&s, data);
    } else {
        FUZZ_CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
    }

    /* the encoder side: consecutive records, any lengths and aux */
    predlog_summary_reset(&built);
    n = 1 + fuzz_u8(&in) % 64;
    for (unsigned i = 0; i < n; i++) {
        uint64_t seq = 1 + (uint64_t)i;
        uint32_t len = fuzz_u32(&in);
        uint32_t aux = fuzz_u8(&in);

        predlog_summary_add(&built, seq, 1000 * seq, len, aux);
        FUZZ_CHECK(predlog_summary_len_bucket(len) <
                   PREDLOG_SUMMARY_LEN_BUCKETS);
    }
    FUZZ_CHECK(built.records == n);
    /* one record alone has first_ts == last_ts; more have them apart */
    check_roundtrip(&built, NULL);
    return 0;
}
