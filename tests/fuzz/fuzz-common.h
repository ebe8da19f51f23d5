/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog fuzz targets: shared helpers
 *
 * Every target is a libFuzzer entry point, LLVMFuzzerTestOneInput(), that
 * feeds untrusted bytes to one decoder of the core and then checks what
 * the decoder promises (round trips, counters, order), not just that it
 * did not crash.  A broken promise is reported with fuzz_fail(), which
 * aborts: libFuzzer keeps the input as a crash, and replay.c (the same
 * target built as a plain test) fails.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "hw/predlog/core/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void G_GNUC_NORETURN G_GNUC_PRINTF(3, 4)
fuzz_fail(const char *file, int line, const char *fmt, ...);

/* An invariant of the decoder under test; failing it is a finding. */
#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fuzz_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
        } \
    } while (0)

/* Reads the input front to back; past its end every read gives zero. */
typedef struct FuzzInput {
    const uint8_t *p;
    size_t len;
} FuzzInput;

uint8_t fuzz_u8(FuzzInput *in);
uint16_t fuzz_u16(FuzzInput *in);
uint32_t fuzz_u32(FuzzInput *in);
uint64_t fuzz_u64(FuzzInput *in);
/* Up to @n bytes of the input (fewer at its end); advances past them. */
const uint8_t *fuzz_bytes(FuzzInput *in, size_t n, size_t *got);

/*
 * Whether [s, s + len) is exactly one JSON value (RFC 8259), with
 * optional white space around it; *@is_object says whether it is an
 * object.  Strict: what a JSON parser in another language would accept.
 */
bool fuzz_json_valid(const char *s, size_t len, bool *is_object);

/*
 * The unsigned integer value of top-level key @key of the JSON object
 * @line (its first occurrence as a key); false if it has none.
 */
bool fuzz_json_u64(const char *line, const char *key, uint64_t *out);

/* Field by field: the struct has padding, memcmp() would compare it. */
bool fuzz_hdr_equal(const PredlogRecordHeader *a,
                    const PredlogRecordHeader *b);

/*
 * The salt of the pools fuzz_make_pool() makes, and of the records
 * gen-corpus puts into the chunk target's seeds (record.h).
 */
#define FUZZ_SALT   0xbb67ae8584caa73bull

/*
 * A pool image around @data_len bytes of data area: a valid superblock
 * (policy DYNAMIC, @slots directory slots, salt FUZZ_SALT) and, for each
 * function id below @n_funcs, one intact directory entry copy (kind
 * @kind, name "fuzz<id>", no active buffer).  The data area starts at
 * the returned *@data_offset; the caller fills it.  g_free() the image.
 */
uint8_t *fuzz_make_pool(uint32_t slots, uint32_t n_funcs, uint8_t kind,
                        size_t data_len, size_t *image_len,
                        size_t *data_offset);

#endif /* TESTS_FUZZ_FUZZ_COMMON_H */
