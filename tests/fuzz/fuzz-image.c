/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the whole-image scan (predlog_image_open() and
 * predlog_image_scan() in hw/predlog/core/recovery.c)
 *
 * The input is a pool file.  Checks: opening reads nothing outside it and
 * refuses with a message; a scan returns records in (timestamp, function,
 * seq) order, each (function, seq) once, each of a function the image
 * lists, each VALID where it was found (a fast-tier record decodes VALID
 * at its offset to the same view); and the counters add up: per function
 * and in the totals, committed is the records returned, by_level sums to
 * committed, from_cold counts the records from chunks, torn is 0 or 1,
 * and a second scan gives the same answer.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recovery.h"
#include "qemu/predlog/byteorder.h"
#include "fuzz-common.h"

static bool before(const PredlogRecordView *a, const PredlogRecordView *b)
{
    if (a->hdr.timestamp_ns != b->hdr.timestamp_ns) {
        return a->hdr.timestamp_ns < b->hdr.timestamp_ns;
    }
    if (a->hdr.func_id != b->hdr.func_id) {
        return a->hdr.func_id < b->hdr.func_id;
    }
    return a->hdr.seq < b->hdr.seq;
}

static void check_scan(PredlogImage *img, const uint8_t *data, size_t size,
                       GArray *recs, const PredlogRecoveryTotals *t)
{
    unsigned n_fn = predlog_image_n_functions(img);
    g_autofree uint64_t *committed = g_new0(uint64_t, 65536);
    g_autofree uint64_t *cold = g_new0(uint64_t, 65536);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
                                                       g_str_equal,
                                                       g_free, NULL);
    uint64_t sum = 0, sum_cold = 0, sum_torn = 0, salvaged = 0;
    uint64_t salt = predlog_image_salt(img);
    uint32_t flags = get_le32(data + PREDLOG_POOL_SB_OFF_FLAGS);

    /* the salt is the superblock's exactly when it says it has one */
    FUZZ_CHECK(salt == (flags & PREDLOG_POOL_FLAG_SALT ?
                        get_le64(data + PREDLOG_POOL_SB_OFF_SALT) : 0));

    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);
        const PredlogRecordView *v = &r->view;
        char *key = g_strdup_printf("%u/%" G_GUINT64_FORMAT,
                                    v->hdr.func_id, v->hdr.seq);
        const PredlogImageFunction *f =
            predlog_image_function_by_id(img, v->hdr.func_id);

        FUZZ_CHECK(!g_hash_table_contains(seen, key));
        g_hash_table_add(seen, key);
        FUZZ_CHECK(f != NULL);
        FUZZ_CHECK(v->hdr.type != PREDLOG_RECORD_TYPE_CHUNK);
        FUZZ_CHECK(i == 0 ||
                   before(&g_array_index(recs, PredlogRecoveredRecord,
                                         i - 1).view, v));
        FUZZ_CHECK(r->offset < size);
        if (r->in_chunk) {
            PredlogRecordView cv;

            /* the chunk it came from is VALID at its offset */
            FUZZ_CHECK(predlog_record_decode(data + r->offset,
                                             size - r->offset, salt, &cv) ==
                       PREDLOG_RECORD_VALID);
            FUZZ_CHECK(cv.hdr.type == PREDLOG_RECORD_TYPE_CHUNK &&
                       cv.hdr.func_id == v->hdr.func_id);
            FUZZ_CHECK(predlog_crc32c(0, v->payload, v->hdr.stored_len) ==
                       v->payload_crc);
            cold[v->hdr.func_id]++;
        } else {
            PredlogRecordView again;

            FUZZ_CHECK(predlog_record_decode(data + r->offset,
                                             size - r->offset, salt,
                                             &again) == PREDLOG_RECORD_VALID);
            FUZZ_CHECK(fuzz_hdr_equal(&again.hdr, &v->hdr));
            FUZZ_CHECK(again.payload == v->payload);
        }
        committed[v->hdr.func_id]++;
        if (f->salvaged) {
            salvaged++;
        }
    }
    for (unsigned i = 0; i < n_fn; i++) {
        const PredlogImageFunction *f = predlog_image_function(img, i);
        uint64_t by_level = 0;

        FUZZ_CHECK(f && f->id >= 0 && f->id < 65536);
        FUZZ_CHECK(predlog_image_function_by_id(img, f->id) == f);
        FUZZ_CHECK(f->committed == committed[f->id]);
        FUZZ_CHECK(f->from_cold == cold[f->id]);
        FUZZ_CHECK(f->torn <= 1);
        for (unsigned l = 0; l <= PREDLOG_RECORD_LEVEL__MAX; l++) {
            by_level += f->by_level[l];
        }
        FUZZ_CHECK(by_level == f->committed);
        FUZZ_CHECK(f->overwritten <= f->max_seq);
        FUZZ_CHECK(strlen(f->name) <= PREDLOG_POOL_NAME_MAX);
        sum += f->committed;
        sum_cold += f->from_cold;
        sum_torn += f->torn;
    }
    FUZZ_CHECK(sum == recs->len && t->committed == sum);
    FUZZ_CHECK(t->from_cold == sum_cold && t->torn == sum_torn);
    FUZZ_CHECK(t->bad_chunks <= t->chunks);
    FUZZ_CHECK(t->salvaged == salvaged);
    FUZZ_CHECK(t->salvaged_functions <= n_fn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;
    PredlogImage *img = predlog_image_open(data, size, &err);
    PredlogRecoveryTotals t, t2;
    GArray *recs, *recs2;

    if (!img) {
        FUZZ_CHECK(err && err->domain == PREDLOG_RECOVERY_ERROR &&
                   err->message[0]);
        return 0;
    }
    FUZZ_CHECK(!err);
    FUZZ_CHECK(predlog_image_pool_size(img) <= size);
    FUZZ_CHECK(strlen(predlog_image_name(img)) <= PREDLOG_POOL_NAME_MAX);
    FUZZ_CHECK(strcmp(predlog_image_policy_name(img), "unknown") != 0);
    recs = predlog_image_scan(img, &t);
    check_scan(img, data, size, recs, &t);

    /* a scan is a pure function of the image */
    recs2 = predlog_image_scan(img, &t2);
    FUZZ_CHECK(memcmp(&t, &t2, sizeof(t)) == 0);
    FUZZ_CHECK(recs2->len == recs->len);
    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *a =
            &g_array_index(recs, PredlogRecoveredRecord, i);
        const PredlogRecoveredRecord *b =
            &g_array_index(recs2, PredlogRecoveredRecord, i);

        FUZZ_CHECK(a->offset == b->offset && a->in_chunk == b->in_chunk &&
                   fuzz_hdr_equal(&a->view.hdr, &b->view.hdr));
    }
    g_array_free(recs, true);
    g_array_free(recs2, true);
    predlog_image_free(img);
    return 0;
}
