/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: on-pool record codec and CRC32C
 *
 * The format and the rules that tell committed, torn and overwritten
 * records apart are documented in record.h.  This file must stay free of
 * QEMU headers: it is compiled into QEMU and into the standalone tools.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "record.h"
#include "qemu/predlog/byteorder.h"

/*
 * PREDLOG_CRC32C_PORTABLE_ONLY builds the code non-x86 hosts get, so that
 * the unit tests can run the whole codec on the portable path too.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(PREDLOG_CRC32C_PORTABLE_ONLY)
#include <nmmintrin.h>
#define PREDLOG_CRC32C_HAVE_SSE42 1
#else
#define PREDLOG_CRC32C_HAVE_SSE42 0
#endif

#define CRC32C_POLY     0x82f63b78u     /* Castagnoli, bit-reflected */

/* The header CRC covers every header byte before the CRC itself. */
#define HDR_CRC_SPAN    PREDLOG_RECORD_OFF_HDR_CRC

G_STATIC_ASSERT(PREDLOG_RECORD_HDR_LEN % PREDLOG_RECORD_ALIGN == 0);
G_STATIC_ASSERT(PREDLOG_RECORD_OFF_HDR_CRC + 4 == PREDLOG_RECORD_HDR_LEN);
/* Record sizes must not overflow size_t even on 32-bit hosts. */
G_STATIC_ASSERT(PREDLOG_RECORD_MAX_PAYLOAD < UINT32_MAX / 2);

/* ------------------------------------------------------------------ */
/* CRC32C                                                              */
/* ------------------------------------------------------------------ */

/*
 * Slice-by-8 tables, built on first use rather than spelled out in the
 * source: 8 KiB of hex would be unreviewable, and building takes a few
 * microseconds once per process.
 */
static uint32_t crc32c_table[8][256];
static gsize crc32c_once;
static bool crc32c_use_hw;

#if PREDLOG_CRC32C_HAVE_SSE42
/* Bytes per stream of the interleaved hardware loop. */
#define CRC32C_STRIDE   128

/*
 * crc32c_shift_table[k][n] is what the raw CRC register (n << 8k) becomes
 * after CRC32C_STRIDE zero bytes: CRC is linear, so the register of
 * A . B is shift(register after A) ^ (register of B started from 0).
 */
static uint32_t crc32c_shift_table[4][256];

static inline uint32_t crc32c_shift(uint32_t c)
{
    return crc32c_shift_table[0][c & 0xff] ^
           crc32c_shift_table[1][(c >> 8) & 0xff] ^
           crc32c_shift_table[2][(c >> 16) & 0xff] ^
           crc32c_shift_table[3][c >> 24];
}
#endif

static void crc32c_init(void)
{
    if (g_once_init_enter(&crc32c_once)) {
        for (unsigned i = 0; i < 256; i++) {
            uint32_t c = i;

            for (unsigned b = 0; b < 8; b++) {
                c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
            }
            crc32c_table[0][i] = c;
        }
        for (unsigned i = 0; i < 256; i++) {
            for (unsigned k = 1; k < 8; k++) {
                uint32_t prev = crc32c_table[k - 1][i];

                crc32c_table[k][i] = (prev >> 8) ^
                                     crc32c_table[0][prev & 0xff];
            }
        }
#if PREDLOG_CRC32C_HAVE_SSE42
        for (unsigned k = 0; k < 4; k++) {
            uint32_t basis[8];

            for (unsigned b = 0; b < 8; b++) {
                uint32_t c = 1u << (8 * k + b);

                for (unsigned z = 0; z < CRC32C_STRIDE; z++) {
                    c = crc32c_table[0][c & 0xff] ^ (c >> 8);
                }
                basis[b] = c;
            }
            for (unsigned n = 0; n < 256; n++) {
                uint32_t v = 0;

                for (unsigned b = 0; b < 8; b++) {
                    if (n & (1u << b)) {
                        v ^= basis[b];
                    }
                }
                crc32c_shift_table[k][n] = v;
            }
        }
        crc32c_use_hw = __builtin_cpu_supports("sse4.2");
#endif
        g_once_init_leave(&crc32c_once, 1);
    }
}

/* The update functions work on the inverted register (no pre/post ~). */
static uint32_t crc32c_sw_update(uint32_t c, const uint8_t *p, size_t len)
{
    /* Align so that the 8-byte loads below do not straddle words. */
    while (len && ((uintptr_t)p & 7)) {
        c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w;

        memcpy(&w, p, 8);
        w = GUINT64_FROM_LE(w) ^ c;
        c = crc32c_table[7][w & 0xff] ^
            crc32c_table[6][(w >> 8) & 0xff] ^
            crc32c_table[5][(w >> 16) & 0xff] ^
            crc32c_table[4][(w >> 24) & 0xff] ^
            crc32c_table[3][(w >> 32) & 0xff] ^
            crc32c_table[2][(w >> 40) & 0xff] ^
            crc32c_table[1][(w >> 48) & 0xff] ^
            crc32c_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) {
        c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    }
    return c;
}

#if PREDLOG_CRC32C_HAVE_SSE42
/*
 * One crc32 instruction has a latency of 3 cycles but a throughput of 1,
 * so a single dependency chain runs at a third of the possible speed.
 * Long buffers are therefore cut into three interleaved streams of
 * CRC32C_STRIDE bytes whose CRCs are merged with crc32c_shift().
 */
__attribute__((target("sse4.2"), always_inline))
static inline uint32_t crc32c_hw_run(uint32_t crc, uint8_t *dst,
                                     const uint8_t *src, size_t len,
                                     bool copy)
{
    uint64_t c = crc;

    while (len >= 3 * CRC32C_STRIDE) {
        uint64_t c1 = 0, c2 = 0;

        for (size_t i = 0; i < CRC32C_STRIDE; i += 8) {
            uint64_t w0, w1, w2;

            memcpy(&w0, src + i, 8);
            memcpy(&w1, src + CRC32C_STRIDE + i, 8);
            memcpy(&w2, src + 2 * CRC32C_STRIDE + i, 8);
            if (copy) {
                memcpy(dst + i, &w0, 8);
                memcpy(dst + CRC32C_STRIDE + i, &w1, 8);
                memcpy(dst + 2 * CRC32C_STRIDE + i, &w2, 8);
            }
            c = _mm_crc32_u64(c, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
        }
        c = crc32c_shift((uint32_t)c) ^ (uint32_t)c1;
        c = crc32c_shift((uint32_t)c) ^ (uint32_t)c2;
        src += 3 * CRC32C_STRIDE;
        if (copy) {
            dst += 3 * CRC32C_STRIDE;
        }
        len -= 3 * CRC32C_STRIDE;
    }
    while (len >= 8) {
        uint64_t w;

        memcpy(&w, src, 8);
        if (copy) {
            memcpy(dst, &w, 8);
            dst += 8;
        }
        c = _mm_crc32_u64(c, w);
        src += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;

        memcpy(&w, src, 4);
        if (copy) {
            memcpy(dst, &w, 4);
            dst += 4;
        }
        c = _mm_crc32_u32((uint32_t)c, w);
        src += 4;
        len -= 4;
    }
    while (len--) {
        if (copy) {
            *dst++ = *src;
        }
        c = _mm_crc32_u8((uint32_t)c, *src++);
    }
    return (uint32_t)c;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw_update(uint32_t crc, const uint8_t *p, size_t len)
{
    return crc32c_hw_run(crc, NULL, p, len, false);
}

/*
 * Copy and checksum in one pass: the payload is read once, which is what
 * keeps the checksum cheap next to the copy for large payloads.
 */
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw_copy(uint32_t crc, uint8_t *dst, const uint8_t *src,
                               size_t len)
{
    return crc32c_hw_run(crc, dst, src, len, true);
}
#endif

/* Callers have run crc32c_init(). */
static inline uint32_t crc32c_update(uint32_t c, const void *p, size_t len)
{
#if PREDLOG_CRC32C_HAVE_SSE42
    if (crc32c_use_hw) {
        return crc32c_hw_update(c, p, len);
    }
#endif
    return crc32c_sw_update(c, p, len);
}

static inline uint32_t crc32c_copy(uint32_t c, uint8_t *dst, const void *src,
                                   size_t len)
{
#if PREDLOG_CRC32C_HAVE_SSE42
    if (crc32c_use_hw) {
        return crc32c_hw_copy(c, dst, src, len);
    }
#endif
    /*
     * Checksum what was stored, not the source: the source may be guest
     * memory that changes while we copy it.  (The hardware path loads
     * each word once and both stores and checksums that value.)
     */
    memcpy(dst, src, len);
    return crc32c_sw_update(c, dst, len);
}

uint32_t predlog_crc32c(uint32_t crc, const void *buf, size_t len)
{
    crc32c_init();
    return ~crc32c_update(~crc, buf, len);
}

uint32_t predlog_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    crc32c_init();
    return ~crc32c_sw_update(~crc, buf, len);
}

bool predlog_crc32c_accelerated(void)
{
    crc32c_init();
    return crc32c_use_hw;
}

/* ------------------------------------------------------------------ */
/* Record codec                                                        */
/* ------------------------------------------------------------------ */

static inline size_t align8(size_t v)
{
    return (v + PREDLOG_RECORD_ALIGN - 1) & ~(size_t)(PREDLOG_RECORD_ALIGN - 1);
}

/* Whether @type / @level are ones this version of the format defines. */
static inline bool type_ok(unsigned type)
{
    return type >= 1 && type <= PREDLOG_RECORD_TYPE__MAX;
}

static inline bool level_ok(unsigned level)
{
    return level <= PREDLOG_RECORD_LEVEL__MAX;
}

/*
 * The halves of a pool's salt (record.h): the CRC registers of hdr_crc
 * and commit start from them.  Two halves, not one 32-bit salt used
 * twice: a forger who guessed that one would have both CRCs right.
 */
static inline uint32_t salt_hdr(uint64_t salt)
{
    return (uint32_t)salt;
}

static inline uint32_t salt_commit(uint64_t salt)
{
    return (uint32_t)(salt >> 32);
}

/*
 * The commit word binds the seal to one header: a seal left behind by an
 * older record at the same place carries another header's CRC and so
 * cannot commit a newer header that was written over it.
 */
static uint32_t commit_word(uint32_t seed, uint32_t hdr_crc,
                            uint32_t payload_crc)
{
    uint8_t buf[8];

    put_le32(buf, hdr_crc);
    put_le32(buf + 4, payload_crc);
    return ~crc32c_update(~seed, buf, sizeof(buf));
}

size_t predlog_record_size(uint32_t stored_len)
{
    if (stored_len > PREDLOG_RECORD_MAX_PAYLOAD) {
        return 0;
    }
    return PREDLOG_RECORD_HDR_LEN + align8(stored_len) +
           PREDLOG_RECORD_SEAL_LEN;
}

bool predlog_record_begin(PredlogRecordWriter *w, void *dst, size_t dst_len,
                          uint64_t salt, const PredlogRecordHeader *hdr)
{
    uint8_t h[PREDLOG_RECORD_HDR_LEN];
    size_t size;

    if (!type_ok(hdr->type) || !level_ok(hdr->level) ||
        hdr->stored_len > hdr->orig_len ||
        hdr->stored_len > PREDLOG_RECORD_MAX_PAYLOAD) {
        return false;
    }
    size = predlog_record_size(hdr->stored_len);
    if (!dst || size > dst_len) {
        return false;
    }
    crc32c_init();

    /*
     * Build the header privately and copy it out: the checksum is then
     * computed over bytes nobody else can change under us, even if the
     * pool is shared with a live reader.
     */
    put_le32(h + PREDLOG_RECORD_OFF_MAGIC, PREDLOG_RECORD_MAGIC);
    h[PREDLOG_RECORD_OFF_VERSION] = PREDLOG_RECORD_VERSION;
    h[PREDLOG_RECORD_OFF_TYPE] = (uint8_t)hdr->type;
    put_le16(h + PREDLOG_RECORD_OFF_HDR_LEN, PREDLOG_RECORD_HDR_LEN);
    put_le16(h + PREDLOG_RECORD_OFF_FLAGS, (uint16_t)hdr->level);
    put_le16(h + PREDLOG_RECORD_OFF_FUNC_ID, hdr->func_id);
    put_le32(h + PREDLOG_RECORD_OFF_ORIG_LEN, hdr->orig_len);
    put_le64(h + PREDLOG_RECORD_OFF_SEQ, hdr->seq);
    put_le64(h + PREDLOG_RECORD_OFF_TIMESTAMP, hdr->timestamp_ns);
    put_le32(h + PREDLOG_RECORD_OFF_STORED_LEN, hdr->stored_len);
    put_le32(h + PREDLOG_RECORD_OFF_AUX, hdr->aux);
    put_le32(h + PREDLOG_RECORD_OFF_RESERVED, 0);
    w->hdr_crc = ~crc32c_update(~salt_hdr(salt), h, HDR_CRC_SPAN);
    put_le32(h + PREDLOG_RECORD_OFF_HDR_CRC, w->hdr_crc);
    memcpy(dst, h, sizeof(h));

    w->base = dst;
    w->size = size;
    w->stored_len = hdr->stored_len;
    w->filled = 0;
    w->payload_crc = ~0u;
    w->commit_seed = salt_commit(salt);
    return true;
}

bool predlog_record_append(PredlogRecordWriter *w, const void *data,
                           size_t len)
{
    if (!w->base || len > w->stored_len - w->filled) {
        return false;
    }
    if (len) {
        w->payload_crc = crc32c_copy(w->payload_crc,
                                     w->base + PREDLOG_RECORD_HDR_LEN +
                                     w->filled, data, len);
        w->filled += len;
    }
    return true;
}

size_t predlog_record_commit(PredlogRecordWriter *w)
{
    uint8_t *end;
    uint32_t payload_crc;
    uint64_t seal;
    size_t size = w->size;

    if (!w->base || w->filled != w->stored_len) {
        return 0;
    }
    end = w->base + PREDLOG_RECORD_HDR_LEN + w->stored_len;
    /* Zero padding: stale pool bytes must not leak into a pool file. */
    memset(end, 0, size - PREDLOG_RECORD_SEAL_LEN -
           PREDLOG_RECORD_HDR_LEN - w->stored_len);

    payload_crc = ~w->payload_crc;
    seal = (uint64_t)payload_crc |
           (uint64_t)commit_word(w->commit_seed, w->hdr_crc,
                                 payload_crc) << 32;
    seal = GUINT64_TO_LE(seal);

    /*
     * The seal is the commit point: every header and payload store must
     * be ordered before it, so that whatever instant the process dies at,
     * a stored seal implies a complete record.  An aligned 8-byte store is
     * also single-copy atomic, so the seal itself is never half-written.
     */
    end = w->base + size - PREDLOG_RECORD_SEAL_LEN;
    if (((uintptr_t)end & 7) == 0) {
        __atomic_store_n((uint64_t *)end, seal, __ATOMIC_RELEASE);
    } else {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        memcpy(end, &seal, sizeof(seal));
    }
    w->base = NULL;
    return size;
}

size_t predlog_record_encode(void *dst, size_t dst_len, uint64_t salt,
                             const PredlogRecordHeader *hdr,
                             const void *payload)
{
    PredlogRecordWriter w;

    if (hdr->stored_len && !payload) {
        return 0;
    }
    if (!predlog_record_begin(&w, dst, dst_len, salt, hdr)) {
        return 0;
    }
    predlog_record_append(&w, payload, hdr->stored_len);
    return predlog_record_commit(&w);
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

PredlogRecordStatus predlog_record_decode(const void *src, size_t src_len,
                                          uint64_t salt,
                                          PredlogRecordView *out)
{
    const uint8_t *p = src;
    uint8_t magic[4];
    size_t avail, m, k, size;
    uint32_t hdr_crc, stored_len, orig_len, payload_crc;
    uint16_t flags;
    unsigned type;

    memset(out, 0, sizeof(*out));
    if (!src || src_len == 0) {
        return PREDLOG_RECORD_TRUNCATED;
    }
    crc32c_init();

    avail = MIN(src_len, (size_t)PREDLOG_RECORD_HDR_LEN);
    if (all_zero(p, avail)) {
        return PREDLOG_RECORD_EMPTY;
    }

    put_le32(magic, PREDLOG_RECORD_MAGIC);
    m = MIN(avail, sizeof(magic));
    for (k = 0; k < m && p[k] == magic[k]; k++) {
        /* count matching magic bytes */
    }
    if (k < m) {
        /* Only a cut inside the magic over zeroed space is provably torn. */
        if (k > 0 && all_zero(p + k, avail - k)) {
            return PREDLOG_RECORD_TORN;
        }
        return PREDLOG_RECORD_CORRUPT;
    }
    if (avail < PREDLOG_RECORD_HDR_LEN) {
        return PREDLOG_RECORD_TRUNCATED;
    }

    /* Check before trusting any field, lengths above all. */
    hdr_crc = get_le32(p + PREDLOG_RECORD_OFF_HDR_CRC);
    if (~crc32c_update(~salt_hdr(salt), p, HDR_CRC_SPAN) != hdr_crc) {
        return PREDLOG_RECORD_TORN;
    }

    type = p[PREDLOG_RECORD_OFF_TYPE];
    flags = get_le16(p + PREDLOG_RECORD_OFF_FLAGS);
    orig_len = get_le32(p + PREDLOG_RECORD_OFF_ORIG_LEN);
    stored_len = get_le32(p + PREDLOG_RECORD_OFF_STORED_LEN);
    if (p[PREDLOG_RECORD_OFF_VERSION] != PREDLOG_RECORD_VERSION ||
        get_le16(p + PREDLOG_RECORD_OFF_HDR_LEN) != PREDLOG_RECORD_HDR_LEN ||
        !type_ok(type) ||
        (flags & ~PREDLOG_RECORD_FLAG_LEVEL_MASK) ||
        !level_ok(flags & PREDLOG_RECORD_FLAG_LEVEL_MASK) ||
        get_le32(p + PREDLOG_RECORD_OFF_RESERVED) ||
        stored_len > orig_len ||
        stored_len > PREDLOG_RECORD_MAX_PAYLOAD) {
        return PREDLOG_RECORD_CORRUPT;
    }

    out->hdr.type = (PredlogRecordType)type;
    out->hdr.level = (PredlogRecordLevel)(flags &
                                          PREDLOG_RECORD_FLAG_LEVEL_MASK);
    out->hdr.func_id = get_le16(p + PREDLOG_RECORD_OFF_FUNC_ID);
    out->hdr.orig_len = orig_len;
    out->hdr.stored_len = stored_len;
    out->hdr.seq = get_le64(p + PREDLOG_RECORD_OFF_SEQ);
    out->hdr.timestamp_ns = get_le64(p + PREDLOG_RECORD_OFF_TIMESTAMP);
    out->hdr.aux = get_le32(p + PREDLOG_RECORD_OFF_AUX);
    out->flags = flags;
    out->hdr_crc = hdr_crc;

    size = predlog_record_size(stored_len);
    out->size = size;
    if (size > src_len) {
        return PREDLOG_RECORD_TRUNCATED;
    }

    payload_crc = get_le32(p + size - PREDLOG_RECORD_SEAL_LEN);
    if (get_le32(p + size - 4) !=
        commit_word(salt_commit(salt), hdr_crc, payload_crc)) {
        return PREDLOG_RECORD_TORN;
    }
    out->payload_crc = payload_crc;
    if (~crc32c_update(~0u, p + PREDLOG_RECORD_HDR_LEN, stored_len) !=
        payload_crc) {
        return PREDLOG_RECORD_OVERWRITTEN;
    }
    out->payload = p + PREDLOG_RECORD_HDR_LEN;
    return PREDLOG_RECORD_VALID;
}

size_t predlog_record_resync(const void *buf, size_t buf_len, size_t from,
                             uint64_t salt, PredlogRecordView *out)
{
    const uint8_t *p = buf;

    for (size_t off = align8(MIN(from, buf_len));
         off < buf_len && buf_len - off >= PREDLOG_RECORD_MIN_SIZE;
         off += PREDLOG_RECORD_ALIGN) {
        /* Cheap filter first: almost every probe fails on the magic. */
        if (get_le32(p + off) == PREDLOG_RECORD_MAGIC &&
            predlog_record_decode(p + off, buf_len - off, salt, out) ==
            PREDLOG_RECORD_VALID) {
            return off;
        }
    }
    memset(out, 0, sizeof(*out));
    return buf_len;
}

const char *predlog_record_status_str(PredlogRecordStatus status)
{
    static const char *const names[PREDLOG_RECORD_STATUS__MAX] = {
        [PREDLOG_RECORD_VALID] = "valid",
        [PREDLOG_RECORD_EMPTY] = "empty",
        [PREDLOG_RECORD_TORN] = "torn",
        [PREDLOG_RECORD_OVERWRITTEN] = "overwritten",
        [PREDLOG_RECORD_CORRUPT] = "corrupt",
        [PREDLOG_RECORD_TRUNCATED] = "truncated",
    };

    if ((unsigned)status >= PREDLOG_RECORD_STATUS__MAX) {
        return "unknown";
    }
    return names[status];
}

const char *predlog_record_type_str(PredlogRecordType type)
{
    switch (type) {
    case PREDLOG_RECORD_TYPE_NET_PACKET:
        return "net-packet";
    case PREDLOG_RECORD_TYPE_BLOCK_REQUEST:
        return "block-request";
    case PREDLOG_RECORD_TYPE_GUEST:
        return "guest";
    case PREDLOG_RECORD_TYPE_SUMMARY:
        return "summary";
    case PREDLOG_RECORD_TYPE_CHUNK:
        return "chunk";
    }
    return "unknown";
}

const char *predlog_level_str(PredlogRecordLevel level)
{
    switch (level) {
    case PREDLOG_RECORD_LEVEL_FULL:
        return "full";
    case PREDLOG_RECORD_LEVEL_SUMMARY:
        return "summary";
    case PREDLOG_RECORD_LEVEL_HEADER:
        return "header";
    }
    return "unknown";
}
