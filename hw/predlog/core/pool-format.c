/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the pool format (see pool-format.h)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <string.h>
#include <glib.h>
#ifdef PREDLOG_HAVE_GETRANDOM       /* by meson.build */
#include <sys/random.h>
#endif

#include "qemu/predlog/byteorder.h"
#include "pool-format.h"
#include "record.h"

G_STATIC_ASSERT(PREDLOG_POOL_SB_OFF_NAME + PREDLOG_POOL_NAME_MAX + 1 <=
                PREDLOG_POOL_SB_OFF_CRC);
G_STATIC_ASSERT(PREDLOG_POOL_DIR_OFF_NAME + PREDLOG_POOL_NAME_MAX + 1 <=
                PREDLOG_POOL_DIR_OFF_CRC);
G_STATIC_ASSERT(PREDLOG_POOL_DIR_OFF_CRC + 4 == PREDLOG_POOL_DIR_ENTRY_SIZE);
G_STATIC_ASSERT(PREDLOG_POOL_SB_OFF_NAME + PREDLOG_POOL_NAME_MAX + 1 <=
                PREDLOG_POOL_SB_OFF_SALT);

/* Whether neither half of @salt is zero (record.h: both CRCs salted). */
static bool salt_ok(uint64_t salt)
{
    return (uint32_t)salt && salt >> 32;
}

uint64_t predlog_pool_new_salt(void)
{
    uint64_t salt = 0;

    /*
     * The salt only helps while the guest cannot predict it: take it from
     * the kernel's random source, not from a PRNG whose state other code
     * of the process may reveal.  GLib's generator (seeded from
     * /dev/urandom) is the fallback of hosts without getrandom().
     */
    while (!salt_ok(salt)) {
#ifdef PREDLOG_HAVE_GETRANDOM
        if (getrandom(&salt, sizeof(salt), 0) == sizeof(salt)) {
            continue;
        }
#endif
        salt = (uint64_t)g_random_int() << 32 | g_random_int();
    }
    return salt;
}

void predlog_pool_sb_write(uint8_t *sb, const PredlogPoolSuperblock *in)
{
    memset(sb, 0, PREDLOG_POOL_SB_SIZE);
    put_le64(sb + PREDLOG_POOL_SB_OFF_MAGIC, PREDLOG_POOL_MAGIC);
    put_le32(sb + PREDLOG_POOL_SB_OFF_VERSION, PREDLOG_POOL_VERSION);
    put_le32(sb + PREDLOG_POOL_SB_OFF_SB_SIZE, PREDLOG_POOL_SB_SIZE);
    put_le64(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE, in->pool_size);
    put_le64(sb + PREDLOG_POOL_SB_OFF_DIR_OFFSET, PREDLOG_POOL_SB_SIZE);
    put_le32(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS, in->dir_slots);
    put_le32(sb + PREDLOG_POOL_SB_OFF_DIR_ENTRY_SIZE,
             PREDLOG_POOL_DIR_ENTRY_SIZE);
    put_le64(sb + PREDLOG_POOL_SB_OFF_DATA_OFFSET, in->data_offset);
    put_le64(sb + PREDLOG_POOL_SB_OFF_DATA_SIZE, in->data_size);
    put_le32(sb + PREDLOG_POOL_SB_OFF_POLICY, in->policy);
    put_le32(sb + PREDLOG_POOL_SB_OFF_FLAGS,
             in->flags & PREDLOG_POOL_FLAGS_KNOWN);
    put_le64(sb + PREDLOG_POOL_SB_OFF_CREATED, in->created_ns);
    put_le64(sb + PREDLOG_POOL_SB_OFF_BUFFER_SIZE, in->buffer_size);
    memcpy(sb + PREDLOG_POOL_SB_OFF_NAME, in->name,
           strnlen(in->name, PREDLOG_POOL_NAME_MAX));
    if (in->flags & PREDLOG_POOL_FLAG_SALT) {
        put_le64(sb + PREDLOG_POOL_SB_OFF_SALT, in->salt);
    }
    /*
     * The superblock is written once, before anything refers to it; the
     * fence only keeps a reader of a live mapping from seeing the CRC
     * before the fields it covers.
     */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    put_le32(sb + PREDLOG_POOL_SB_OFF_CRC,
             predlog_crc32c(0, sb, PREDLOG_POOL_SB_OFF_CRC));
}

static PredlogPoolSbError sb_fail(char **msg, PredlogPoolSbError why,
                                  char *text)
{
    if (msg) {
        *msg = text;
    } else {
        g_free(text);
    }
    return why;
}

PredlogPoolSbError predlog_pool_sb_read(const uint8_t *image, size_t len,
                                        PredlogPoolSuperblock *out,
                                        char **msg)
{
    const uint8_t *sb = image;
    uint32_t version, crc, want_crc, sb_size, entry_size, flags;
    uint64_t dir_offset, dir_end;

    if (len < 8) {
        return sb_fail(msg, PREDLOG_POOL_SB_NOT_A_POOL, g_strdup_printf(
            "not a predlog pool (%zu bytes, too short for the magic)", len));
    }
    if (get_le64(sb) != PREDLOG_POOL_MAGIC) {
        return sb_fail(msg, PREDLOG_POOL_SB_NOT_A_POOL,
                       g_strdup("not a predlog pool (bad magic)"));
    }
    if (len < PREDLOG_POOL_SB_OFF_VERSION + 4) {
        goto truncated;
    }
    /* Before the CRC: another version may checksum differently. */
    version = get_le32(sb + PREDLOG_POOL_SB_OFF_VERSION);
    if (version != PREDLOG_POOL_VERSION) {
        return sb_fail(msg, PREDLOG_POOL_SB_VERSION, g_strdup_printf(
            "predlog pool version %" G_GUINT32_FORMAT " is not supported; "
            "this reader knows version %u", version, PREDLOG_POOL_VERSION));
    }
    if (len < PREDLOG_POOL_SB_SIZE) {
        goto truncated;
    }
    crc = get_le32(sb + PREDLOG_POOL_SB_OFF_CRC);
    want_crc = predlog_crc32c(0, sb, PREDLOG_POOL_SB_OFF_CRC);
    if (crc != want_crc) {
        return sb_fail(msg, PREDLOG_POOL_SB_CORRUPT, g_strdup_printf(
            "predlog pool superblock is corrupt: checksum 0x%08" PRIx32
            " stored, 0x%08" PRIx32 " computed", crc, want_crc));
    }

    memset(out, 0, sizeof(*out));
    sb_size = get_le32(sb + PREDLOG_POOL_SB_OFF_SB_SIZE);
    entry_size = get_le32(sb + PREDLOG_POOL_SB_OFF_DIR_ENTRY_SIZE);
    flags = get_le32(sb + PREDLOG_POOL_SB_OFF_FLAGS);
    dir_offset = get_le64(sb + PREDLOG_POOL_SB_OFF_DIR_OFFSET);
    out->pool_size = get_le64(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE);
    out->dir_slots = get_le32(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS);
    out->data_offset = get_le64(sb + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    out->data_size = get_le64(sb + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    out->policy = get_le32(sb + PREDLOG_POOL_SB_OFF_POLICY);
    out->flags = flags;
    out->created_ns = get_le64(sb + PREDLOG_POOL_SB_OFF_CREATED);
    out->buffer_size = get_le64(sb + PREDLOG_POOL_SB_OFF_BUFFER_SIZE);
    /* NUL-padded; at most PREDLOG_POOL_NAME_MAX bytes are the name */
    memcpy(out->name, sb + PREDLOG_POOL_SB_OFF_NAME, PREDLOG_POOL_NAME_MAX);
    out->name[PREDLOG_POOL_NAME_MAX] = '\0';
    out->salt = get_le64(sb + PREDLOG_POOL_SB_OFF_SALT);

#define SB_CORRUPT(...) \
    return sb_fail(msg, PREDLOG_POOL_SB_CORRUPT, g_strdup_printf( \
        "predlog pool superblock is corrupt: " __VA_ARGS__))

    if (sb_size != PREDLOG_POOL_SB_SIZE) {
        SB_CORRUPT("superblock size %" G_GUINT32_FORMAT ", expected %u",
                   sb_size, PREDLOG_POOL_SB_SIZE);
    }
    if (entry_size != PREDLOG_POOL_DIR_ENTRY_SIZE) {
        SB_CORRUPT("directory entry size %" G_GUINT32_FORMAT
                   ", expected %u", entry_size, PREDLOG_POOL_DIR_ENTRY_SIZE);
    }
    if (dir_offset != PREDLOG_POOL_SB_SIZE) {
        SB_CORRUPT("directory offset %" PRIu64 ", expected %u",
                   dir_offset, PREDLOG_POOL_SB_SIZE);
    }
    if (out->dir_slots < PREDLOG_RECORDER_MIN_FUNCTIONS ||
        out->dir_slots > PREDLOG_RECORDER_MAX_FUNCTIONS) {
        SB_CORRUPT("%" G_GUINT32_FORMAT " directory slots, expected %u "
                   "to %u", out->dir_slots, PREDLOG_RECORDER_MIN_FUNCTIONS,
                   PREDLOG_RECORDER_MAX_FUNCTIONS);
    }
    if (out->policy >= PREDLOG_POLICY__MAX) {
        SB_CORRUPT("unknown policy %" G_GUINT32_FORMAT, out->policy);
    }
    if (flags & ~PREDLOG_POOL_FLAGS_KNOWN) {
        SB_CORRUPT("unknown flags 0x%" PRIx32,
                   flags & ~PREDLOG_POOL_FLAGS_KNOWN);
    }
    if ((flags & PREDLOG_POOL_FLAG_PREDICTIVE) &&
        out->policy != PREDLOG_POLICY_DYNAMIC) {
        SB_CORRUPT("a predictive pool with policy %s",
                   predlog_policy_str(out->policy));
    }
    /* no writer leaves a salt half unsalted, or salts an unflagged pool */
    if ((flags & PREDLOG_POOL_FLAG_SALT) ? !salt_ok(out->salt)
                                         : out->salt != 0) {
        SB_CORRUPT("salt 0x%016" PRIx64 " in a pool %s the salt flag",
                   out->salt,
                   flags & PREDLOG_POOL_FLAG_SALT ? "with" : "without");
    }
    dir_end = dir_offset + (uint64_t)out->dir_slots * 2 * entry_size;
    if (flags & PREDLOG_POOL_FLAG_SEQ_TABLE) {
        dir_end = predlog_pool_seq_table_offset(out->dir_slots) +
                  (uint64_t)out->dir_slots * 8;
    }
    if (out->data_offset < dir_end ||
        out->data_offset > out->pool_size ||
        out->data_size > out->pool_size - out->data_offset) {
        SB_CORRUPT("directory [%" PRIu64 ", %" PRIu64 ") and data area [%"
                   PRIu64 ", +%" PRIu64 ") do not fit a pool of %" PRIu64
                   " bytes", dir_offset, dir_end, out->data_offset,
                   out->data_size, out->pool_size);
    }
#undef SB_CORRUPT
    return PREDLOG_POOL_SB_OK;

truncated:
    return sb_fail(msg, PREDLOG_POOL_SB_TRUNCATED, g_strdup_printf(
        "predlog pool image is truncated: %zu bytes, less than its %u-byte "
        "superblock", len, PREDLOG_POOL_SB_SIZE));
}

uint64_t predlog_pool_seq_table_offset(uint32_t dir_slots)
{
    return PREDLOG_POOL_SB_SIZE +
           (uint64_t)dir_slots * 2 * PREDLOG_POOL_DIR_ENTRY_SIZE;
}

uint64_t predlog_pool_metadata_end(uint32_t dir_slots)
{
    uint64_t end = predlog_pool_seq_table_offset(dir_slots) +
                   (uint64_t)dir_slots * 8;

    return (end + 4095) & ~(uint64_t)4095;  /* the data area is page aligned */
}

static uint64_t seq_word_tag(uint32_t id, uint64_t next_seq)
{
    uint8_t buf[12];
    uint64_t tag;

    put_le32(buf, id);
    put_le64(buf + 4, next_seq);
    tag = predlog_crc32c(0, buf, sizeof(buf)) & 0xffff;
    return tag ? tag : 1;       /* never 0: the word 0 is "unpublished" */
}

uint64_t predlog_pool_seq_word(uint32_t id, uint64_t next_seq)
{
    if (next_seq > PREDLOG_POOL_SEQ_MAX) {
        return 0;
    }
    return next_seq | seq_word_tag(id, next_seq) << 48;
}

bool predlog_pool_seq_word_read(uint64_t word, uint32_t id,
                                uint64_t *next_seq)
{
    uint64_t seq = word & PREDLOG_POOL_SEQ_MAX;

    if (!word || word >> 48 != seq_word_tag(id, seq)) {
        return false;
    }
    *next_seq = seq;
    return true;
}

bool predlog_pool_dir_entry_ok(const uint8_t *e, uint32_t id)
{
    return get_le32(e + PREDLOG_POOL_DIR_OFF_CRC) ==
           predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC) &&
           get_le32(e + PREDLOG_POOL_DIR_OFF_MAGIC) ==
           PREDLOG_POOL_DIR_MAGIC &&
           get_le16(e + PREDLOG_POOL_DIR_OFF_FUNC_ID) == id &&
           e[PREDLOG_POOL_DIR_OFF_KIND] >= PREDLOG_FUNCTION_NET &&
           e[PREDLOG_POOL_DIR_OFF_KIND] <= PREDLOG_FUNCTION_KIND__MAX &&
           e[PREDLOG_POOL_DIR_OFF_LEVEL] <= PREDLOG_RECORD_LEVEL__MAX;
}

const uint8_t *predlog_pool_dir_entry(const uint8_t *dir, uint32_t id,
                                      unsigned *copy)
{
    const uint8_t *e = NULL;

    for (unsigned c = 0; c < 2; c++) {
        const uint8_t *x = dir + (2 * (uint64_t)id + c) *
                                 PREDLOG_POOL_DIR_ENTRY_SIZE;

        if (predlog_pool_dir_entry_ok(x, id) &&
            (!e || get_le64(x + PREDLOG_POOL_DIR_OFF_GENERATION) >
                   get_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION))) {
            e = x;
            if (copy) {
                *copy = c;
            }
        }
    }
    return e;
}

const char *predlog_policy_str(PredlogPolicy policy)
{
    switch (policy) {
    case PREDLOG_POLICY_FIXED:
        return "fixed";
    case PREDLOG_POLICY_DYNAMIC:
        return "dynamic";
    case PREDLOG_POLICY__MAX:
        break;
    }
    return "unknown";
}

const char *predlog_function_kind_str(PredlogFunctionKind kind)
{
    switch (kind) {
    case PREDLOG_FUNCTION_NET:
        return "net";
    case PREDLOG_FUNCTION_BLOCK:
        return "block";
    case PREDLOG_FUNCTION_GUEST:
        return "guest";
    }
    return "unknown";
}
