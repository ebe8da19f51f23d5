/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog fuzz targets: shared helpers (see fuzz-common.h)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/predlog/core/pool-format.h"
#include "hw/predlog/core/record.h"
#include "qemu/predlog/byteorder.h"
#include "fuzz-common.h"

void fuzz_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    /* abort, not exit: libFuzzer saves the input only for a crash */
    abort();
}

const uint8_t *fuzz_bytes(FuzzInput *in, size_t n, size_t *got)
{
    const uint8_t *p = in->p;

    n = MIN(n, in->len);
    in->p += n;
    in->len -= n;
    *got = n;
    return p;
}

static uint64_t fuzz_le(FuzzInput *in, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n && in->len; i++) {
        v |= (uint64_t)*in->p << (8 * i);
        in->p++;
        in->len--;
    }
    return v;
}

uint8_t fuzz_u8(FuzzInput *in)
{
    return fuzz_le(in, 1);
}

uint16_t fuzz_u16(FuzzInput *in)
{
    return fuzz_le(in, 2);
}

uint32_t fuzz_u32(FuzzInput *in)
{
    return fuzz_le(in, 4);
}

uint64_t fuzz_u64(FuzzInput *in)
{
    return fuzz_le(in, 8);
}

/* ------------------------------------------------------------------ */
/* A strict JSON checker                                               */
/* ------------------------------------------------------------------ */

typedef struct Json {
    const char *p, *end;
    unsigned depth;
} Json;

static void json_ws(Json *j)
{
    while (j->p < j->end &&
           (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
        j->p++;
    }
}

static bool json_lit(Json *j, const char *lit)
{
    size_t n = strlen(lit);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n)) {
        return false;
    }
    j->p += n;
    return true;
}

static bool json_string(Json *j)
{
    const char *start;

    if (j->p >= j->end || *j->p != '"') {
        return false;
    }
    start = ++j->p;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = *j->p;

        if (c < 0x20) {
            return false;
        }
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end) {
                return false;
            }
            if (*j->p == 'u') {
                for (int i = 0; i < 4; i++) {
                    j->p++;
                    if (j->p >= j->end || !g_ascii_isxdigit(*j->p)) {
                        return false;
                    }
                }
            } else if (!strchr("\"\\/bfnrt", *j->p) || !*j->p) {
                return false;
            }
        }
        j->p++;
    }
    if (j->p >= j->end) {
        return false;
    }
    /* JSON text is UTF-8 (RFC 8259 section 8.1) */
    if (!g_utf8_validate(start, j->p - start, NULL)) {
        return false;
    }
    j->p++;
    return true;
}

static bool json_number(Json *j)
{
    const char *s = j->p;

    if (j->p < j->end && *j->p == '-') {
        j->p++;
    }
    if (j->p < j->end && *j->p == '0') {
        j->p++;
    } else if (j->p < j->end && *j->p >= '1' && *j->p <= '9') {
        while (j->p < j->end && g_ascii_isdigit(*j->p)) {
            j->p++;
        }
    } else {
        return false;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !g_ascii_isdigit(*j->p)) {
            return false;
        }
        while (j->p < j->end && g_ascii_isdigit(*j->p)) {
            j->p++;
        }
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) {
            j->p++;
        }
        if (j->p >= j->end || !g_ascii_isdigit(*j->p)) {
            return false;
        }
        while (j->p < j->end && g_ascii_isdigit(*j->p)) {
            j->p++;
        }
    }
    return j->p > s;
}

static bool json_value(Json *j);

static bool json_container(Json *j, char close, bool object)
{
    j->p++;
    if (++j->depth > 64) {
        return false;
    }
    json_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        json_ws(j);
        if (object) {
            if (!json_string(j)) {
                return false;
            }
            json_ws(j);
            if (j->p >= j->end || *j->p != ':') {
                return false;
            }
            j->p++;
        }
        if (!json_value(j)) {
            return false;
        }
        json_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return true;
        }
        return false;
    }
}

static bool json_value(Json *j)
{
    json_ws(j);
    if (j->p >= j->end) {
        return false;
    }
    switch (*j->p) {
    case '{':
        return json_container(j, '}', true);
    case '[':
        return json_container(j, ']', false);
    case '"':
        return json_string(j);
    case 't':
        return json_lit(j, "true");
    case 'f':
        return json_lit(j, "false");
    case 'n':
        return json_lit(j, "null");
    default:
        return json_number(j);
    }
}

bool fuzz_json_valid(const char *s, size_t len, bool *is_object)
{
    Json j = { .p = s, .end = s + len };

    json_ws(&j);
    *is_object = j.p < j.end && *j.p == '{';
    if (!json_value(&j)) {
        return false;
    }
    json_ws(&j);
    return j.p == j.end;
}

bool fuzz_json_u64(const char *line, const char *key, uint64_t *out)
{
    g_autofree char *pat = g_strdup_printf("\"%s\":", key);
    const char *p = strstr(line, pat);
    char *end;

    /*
     * Our writers put no white space in a line, and a key's pattern
     * cannot occur inside a string value: '"' is escaped there.
     */
    if (!p) {
        return false;
    }
    p += strlen(pat);
    if (!g_ascii_isdigit(*p)) {
        return false;
    }
    *out = g_ascii_strtoull(p, &end, 10);
    return end > p;
}

bool fuzz_hdr_equal(const PredlogRecordHeader *a,
                    const PredlogRecordHeader *b)
{
    return a->type == b->type && a->level == b->level &&
           a->func_id == b->func_id && a->orig_len == b->orig_len &&
           a->stored_len == b->stored_len && a->seq == b->seq &&
           a->timestamp_ns == b->timestamp_ns && a->aux == b->aux;
}

/* ------------------------------------------------------------------ */
/* Pool images                                                         */
/* ------------------------------------------------------------------ */

uint8_t *fuzz_make_pool(uint32_t slots, uint32_t n_funcs, uint8_t kind,
                        size_t data_len, size_t *image_len,
                        size_t *data_offset)
{
    size_t off = predlog_pool_metadata_end(slots);
    PredlogPoolSuperblock sb = {
        .pool_size = off + data_len,
        .dir_slots = slots,
        .data_offset = off,
        .data_size = data_len,
        .policy = PREDLOG_POLICY_DYNAMIC,
        .flags = PREDLOG_POOL_FLAG_SEQ_TABLE |  /* all zero: unpublished */
                 PREDLOG_POOL_FLAG_SALT,
        .salt = FUZZ_SALT,
        .created_ns = 1700000000000000000ull,
        .buffer_size = 16384,
        .name = "fuzz",
    };
    uint8_t *img = g_malloc0(off + data_len);

    predlog_pool_sb_write(img, &sb);
    for (uint32_t id = 0; id < n_funcs && id < slots; id++) {
        uint8_t *e = img + PREDLOG_POOL_SB_SIZE +
                     2 * (size_t)id * PREDLOG_POOL_DIR_ENTRY_SIZE;
        g_autofree char *name = g_strdup_printf("fuzz%u", id);

        put_le32(e + PREDLOG_POOL_DIR_OFF_MAGIC, PREDLOG_POOL_DIR_MAGIC);
        put_le16(e + PREDLOG_POOL_DIR_OFF_FUNC_ID, id);
        e[PREDLOG_POOL_DIR_OFF_KIND] = kind;
        e[PREDLOG_POOL_DIR_OFF_LEVEL] = PREDLOG_RECORD_LEVEL_FULL;
        put_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION, 1);
        memcpy(e + PREDLOG_POOL_DIR_OFF_NAME, name, strlen(name));
        put_le32(e + PREDLOG_POOL_DIR_OFF_CRC,
                 predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC));
    }
    *image_len = off + data_len;
    *data_offset = off;
    return img;
}
