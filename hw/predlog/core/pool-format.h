/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the pool format -- superblock, directory, and their checks
 *
 * The one definition of the on-pool layout that the recorder writes
 * (recorder.c), adopts on an incoming migration (recorder.c) and reads
 * back after a crash (recovery.c, predlog-recover).  What a reader may
 * trust of a superblock or a directory entry is decided here, once.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_POOL_FORMAT_H
#define HW_PREDLOG_POOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Region layout (version 1), all integers little-endian:
 *
 *   [0, 4096)                superblock
 *   [4096, 4096 + D)         directory: max_functions pairs of 128-byte
 *                            entries (copy A, copy B)
 *   [4096 + D, 4096 + D + S) sequence table, in pools with the SEQ_TABLE
 *                            flag: max_functions 8-byte words (older
 *                            pools have none: S = 0)
 *   [data_offset, size)      data area, handed out by the extent allocator;
 *                            data_offset is 4096 + D + S rounded up to 4096
 *
 * Superblock (written once, when the region is formatted):
 *
 *   off  size  field
 *     0     8  magic          PREDLOG_POOL_MAGIC ("PLPOOL\0\1")
 *     8     4  version        PREDLOG_POOL_VERSION
 *    12     4  sb_size        PREDLOG_POOL_SB_SIZE
 *    16     8  pool_size      bytes of the whole region
 *    24     8  dir_offset     PREDLOG_POOL_SB_SIZE
 *    32     4  dir_slots      max_functions
 *    36     4  dir_entry_size PREDLOG_POOL_DIR_ENTRY_SIZE
 *    40     8  data_offset
 *    48     8  data_size
 *    56     4  policy         PredlogPolicy
 *    60     4  flags          PREDLOG_POOL_FLAG_*, others zero
 *    64     8  created_ns     wall-clock time of formatting (ns since 1970)
 *    72     8  buffer_size    dynamic policy: size of a new buffer
 *    80    64  name           NUL-padded owner name (the device's id)
 *   144     8  salt           pools with the SALT flag: the records' CRC
 *                             salt (record.h), neither half zero; older
 *                             pools: zero, and their records use salt 0
 *   152     -  zero up to 4092
 *  4092     4  sb_crc         CRC32C of bytes [0, 4092)
 *
 * The salt is drawn from the host's random source when the pool is
 * formatted and never changes; an incoming migration carries it with the
 * pool, so the destination's recorder adopts it (recorder.h).  It lives
 * only in the superblock: a reader that cannot trust the superblock
 * cannot place the directory or the data area either and refuses the
 * image.  It is deliberately not recovered by voting over the records of
 * the data area (CRC32C is affine in its start value, so each candidate
 * record would name a salt): the guest writes most of those bytes and
 * could outvote the pool's records with forgeries of a salt of its own.
 *
 * Directory entry (function index i owns entries 2i and 2i+1; a writer
 * updates the copy with the lower generation, so the other stays intact if
 * it dies half-way; a reader takes the copy with a valid CRC and the higher
 * generation):
 *
 *   off  size  field
 *     0     4  magic          PREDLOG_POOL_DIR_MAGIC ("PLFN")
 *     4     2  func_id        == i
 *     6     1  kind           PredlogFunctionKind
 *     7     1  level          PredlogRecordLevel the function logs at now
 *     8     8  generation     1, 2, ... per function
 *    16     8  buf_offset     active buffer: region offset, 0 if none
 *    24     8  buf_size       active buffer: bytes
 *    32     8  created_ns     wall-clock time the function was added
 *    40     8  updated_ns     wall-clock time of this copy
 *    48    64  name           NUL-padded, at most 63 bytes
 *   112    12  reserved       zero
 *   124     4  crc            CRC32C of bytes [0, 124)
 *
 * Sequence table word of function i, rewritten by every log call that
 * hands out a sequence number, with one aligned 8-byte store (so a crash
 * leaves the old word or the new one, never a mix):
 *
 *   bits  0..47  next_seq       the function's next sequence number: all
 *                               below it were acknowledged to the logger
 *   bits 48..63  tag            low 16 bits of CRC32C(le32 i, le64
 *                               next_seq), never 0; the word 0 means
 *                               "nothing published"
 *
 * It is what lets a reader count the records acknowledged but in no
 * record of the pool at the crash (a pending SUMMARY): those numbered
 * above the highest found and below next_seq.
 */

#define PREDLOG_POOL_MAGIC          0x01004c4f4f504c50ull /* "PLPOOL\0\1" */
#define PREDLOG_POOL_VERSION        1
#define PREDLOG_POOL_SB_SIZE        4096u
#define PREDLOG_POOL_DIR_ENTRY_SIZE 128u
#define PREDLOG_POOL_DIR_MAGIC      0x4e464c50u /* "PLFN" */
#define PREDLOG_POOL_NAME_MAX       63

#define PREDLOG_POOL_SB_OFF_MAGIC           0
#define PREDLOG_POOL_SB_OFF_VERSION         8
#define PREDLOG_POOL_SB_OFF_SB_SIZE         12
#define PREDLOG_POOL_SB_OFF_POOL_SIZE       16
#define PREDLOG_POOL_SB_OFF_DIR_OFFSET      24
#define PREDLOG_POOL_SB_OFF_DIR_SLOTS       32
#define PREDLOG_POOL_SB_OFF_DIR_ENTRY_SIZE  36
#define PREDLOG_POOL_SB_OFF_DATA_OFFSET     40
#define PREDLOG_POOL_SB_OFF_DATA_SIZE       48
#define PREDLOG_POOL_SB_OFF_POLICY          56
#define PREDLOG_POOL_SB_OFF_FLAGS           60
#define PREDLOG_POOL_SB_OFF_CREATED         64
#define PREDLOG_POOL_SB_OFF_BUFFER_SIZE     72
#define PREDLOG_POOL_SB_OFF_NAME            80
#define PREDLOG_POOL_SB_OFF_SALT            144
#define PREDLOG_POOL_SB_OFF_CRC             4092

#define PREDLOG_POOL_DIR_OFF_MAGIC          0
#define PREDLOG_POOL_DIR_OFF_FUNC_ID        4
#define PREDLOG_POOL_DIR_OFF_KIND           6
#define PREDLOG_POOL_DIR_OFF_LEVEL          7
#define PREDLOG_POOL_DIR_OFF_GENERATION     8
#define PREDLOG_POOL_DIR_OFF_BUF_OFFSET     16
#define PREDLOG_POOL_DIR_OFF_BUF_SIZE       24
#define PREDLOG_POOL_DIR_OFF_CREATED        32
#define PREDLOG_POOL_DIR_OFF_UPDATED        40
#define PREDLOG_POOL_DIR_OFF_NAME           48
#define PREDLOG_POOL_DIR_OFF_CRC            124

/* Limits the device validates its properties against. */
#define PREDLOG_RECORDER_MIN_FUNCTIONS      1
#define PREDLOG_RECORDER_MAX_FUNCTIONS      1024

typedef enum PredlogPolicy {
    PREDLOG_POLICY_FIXED = 0,
    PREDLOG_POLICY_DYNAMIC = 1,
    PREDLOG_POLICY__MAX,
} PredlogPolicy;

typedef enum PredlogFunctionKind {
    PREDLOG_FUNCTION_NET = 1,
    PREDLOG_FUNCTION_BLOCK = 2,
    PREDLOG_FUNCTION_GUEST = 3,
    PREDLOG_FUNCTION_KIND__MAX = PREDLOG_FUNCTION_GUEST,
} PredlogFunctionKind;

/*
 * Superblock flags.  PREDICTIVE: the pool's owner plans it by forecast
 * (the device's policy=predictive; the recorder's policy is DYNAMIC).
 * It only informs readers: nothing of the layout depends on it.
 */
#define PREDLOG_POOL_FLAG_PREDICTIVE    (1u << 0)
/* SEQ_TABLE: the pool has a sequence table between directory and data. */
#define PREDLOG_POOL_FLAG_SEQ_TABLE     (1u << 1)
/* SALT: the superblock holds the records' CRC salt (else it is 0). */
#define PREDLOG_POOL_FLAG_SALT          (1u << 2)
#define PREDLOG_POOL_FLAGS_KNOWN        (PREDLOG_POOL_FLAG_PREDICTIVE | \
                                         PREDLOG_POOL_FLAG_SEQ_TABLE | \
                                         PREDLOG_POOL_FLAG_SALT)

/* Sequence numbers a sequence table word can carry: below 2^48. */
#define PREDLOG_POOL_SEQ_MAX            ((1ull << 48) - 1)

/* The superblock's fields, as written and as read back. */
typedef struct PredlogPoolSuperblock {
    uint64_t pool_size;
    uint32_t dir_slots;
    uint64_t data_offset;
    uint64_t data_size;
    uint32_t policy;            /* PredlogPolicy */
    uint32_t flags;             /* PREDLOG_POOL_FLAG_* */
    uint64_t created_ns;
    uint64_t buffer_size;
    char name[PREDLOG_POOL_NAME_MAX + 1];
    uint64_t salt;              /* SALT flag: the records' salt; else 0 */
} PredlogPoolSuperblock;

/* Why predlog_pool_sb_read() refused a superblock. */
typedef enum PredlogPoolSbError {
    PREDLOG_POOL_SB_OK = 0,
    PREDLOG_POOL_SB_NOT_A_POOL,     /* no magic */
    PREDLOG_POOL_SB_TRUNCATED,      /* shorter than its superblock */
    PREDLOG_POOL_SB_VERSION,        /* another version of the format */
    PREDLOG_POOL_SB_CORRUPT,        /* bad CRC, or fields no writer writes */
} PredlogPoolSbError;

/*
 * Format the superblock of @sb (PREDLOG_POOL_SB_SIZE bytes) from @in;
 * in->salt is written only with the SALT flag.
 */
void predlog_pool_sb_write(uint8_t *sb, const PredlogPoolSuperblock *in);

/*
 * Read the superblock at the start of @len bytes at @image into @out and
 * check it: magic, version, CRC, and fields that a writer of this version
 * can have written (sizes, slot count, policy, flags, a directory and a
 * data area inside pool_size, a salt with no zero half exactly when the
 * SALT flag is set).  pool_size itself is not checked against
 * @len: the caller decides whether a shorter image will do.  On failure
 * returns why, with *@msg (if non-NULL) set to a message for the user
 * (g_free() it).
 */
PredlogPoolSbError predlog_pool_sb_read(const uint8_t *image, size_t len,
                                        PredlogPoolSuperblock *out,
                                        char **msg);

/*
 * Whether directory entry copy @e is complete (CRC, magic) and belongs
 * to slot @id with a kind and a level this version knows.
 */
bool predlog_pool_dir_entry_ok(const uint8_t *e, uint32_t id);

/*
 * Slot @id's current directory entry among its two copies at @dir (the
 * directory's start): the intact one, or the one with the higher
 * generation if both are; NULL if neither is.  *@copy (if non-NULL) gets
 * 0 or 1, which copy it is.
 */
const uint8_t *predlog_pool_dir_entry(const uint8_t *dir, uint32_t id,
                                      unsigned *copy);

/*
 * A new pool's salt: 64 bits of the host's random source, neither half
 * zero (a zero half would leave one of the record CRCs unsalted).
 */
uint64_t predlog_pool_new_salt(void);

/*
 * Layout shared by writer and readers: where the sequence table starts,
 * and the data_offset a writer of this version gives @dir_slots slots.
 */
uint64_t predlog_pool_seq_table_offset(uint32_t dir_slots);
uint64_t predlog_pool_metadata_end(uint32_t dir_slots);

/*
 * The sequence table word of function @id for @next_seq (at most
 * PREDLOG_POOL_SEQ_MAX; above it the word is 0: nothing published), and
 * its check: false for 0 and for a word whose tag does not match (torn
 * by no writer, so damaged), else *@next_seq is set.
 */
uint64_t predlog_pool_seq_word(uint32_t id, uint64_t next_seq);
bool predlog_pool_seq_word_read(uint64_t word, uint32_t id,
                                uint64_t *next_seq);

/* "fixed", "dynamic"; "unknown" for other values. */
const char *predlog_policy_str(PredlogPolicy policy);
/* "net", "block", "guest"; "unknown" for other values. */
const char *predlog_function_kind_str(PredlogFunctionKind kind);

#endif /* HW_PREDLOG_POOL_FORMAT_H */
