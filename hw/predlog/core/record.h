/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: on-pool record format of the flight recorder
 *
 * One record is what the device writes into the (file-backed) buffer pool
 * for one logged event, and what predlog-recover reads back from a pool
 * file left behind by a QEMU that died at an arbitrary instant (SIGKILL,
 * host crash).  This file is pure C11 + GLib so that the writer inside QEMU
 * and the reader in the host tools share one definition.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_RECORD_H
#define HW_PREDLOG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Record layout (version 1).  All integers are little-endian; a record
 * starts on an 8-byte boundary of its buffer and its size is a multiple of
 * 8, so back-to-back records stay aligned and a reader can resynchronise by
 * probing 8-byte boundaries.
 *
 *   off  size  field
 *   ---  ----  -----------------------------------------------------------
 *     0     4  magic         PREDLOG_RECORD_MAGIC ("PLRC" in byte order)
 *     4     1  version       PREDLOG_RECORD_VERSION
 *     5     1  type          PredlogRecordType
 *     6     2  hdr_len       PREDLOG_RECORD_HDR_LEN (offset of the payload)
 *     8     2  flags         bits 0-1: PredlogRecordLevel, 2-15: zero
 *    10     2  func_id       I/O function the record belongs to
 *    12     4  orig_len      payload length before truncation
 *    16     8  seq           per-function sequence number
 *    24     8  timestamp_ns  time of the event, clock chosen by the writer
 *    32     4  stored_len    payload bytes actually stored (<= orig_len)
 *    36     4  aux           type-specific (see the payload formats below)
 *    40     4  reserved      zero
 *    44     4  hdr_crc       CRC32C of bytes [0, 44), from salt_lo
 *    48     n  payload       stored_len bytes
 *  48+n     p  padding       zero, p = (8 - n % 8) % 8
 *   S-8     4  payload_crc   CRC32C of the n payload bytes
 *   S-4     4  commit        CRC32C of le32(hdr_crc) . le32(payload_crc),
 *                            from salt_hi
 *
 *   S = predlog_record_size(n) = 48 + n + p + 8
 *
 * The salt.  Every pool has a random 64-bit salt (pool-format.h), and
 * every record in it, records inside chunks too, is checksummed with it:
 * "CRC32C of x from s" is predlog_crc32c(s, x, len), i.e. the register
 * starts from salt_lo (bits 0-31) for hdr_crc and from salt_hi (bits
 * 32-63) for commit instead of from 0.  Why: a record's payload is what
 * the guest sent (a frame, block data, a guest message), so a guest can
 * put a well-formed record encoding inside one.  A reader steps over the
 * payload of a VALID record, but once the outer header is overwritten
 * (a newer lap, a damaged buffer) resynchronisation probes the payload's
 * 8-byte boundaries and would take the forgery for a committed record.
 * The guest never sees the pool, hence not the salt either: without it,
 * the hdr_crc and commit of a forgery match with probability 2^-64 (each
 * half of the salt shifts one CRC by a bijection of its 32 bits).
 * payload_crc stays unsalted: it guards the payload against overwrites,
 * which the salt does nothing for, and a forger gains nothing from it
 * since commit, which covers it, is salted.  Salt 0 is the checksum of
 * pools formatted before salts existed (no SALT flag), which readers
 * still read; a writer never picks a salt with a zero half.
 *
 * The last 8 bytes (payload_crc, commit) are the *seal*.  The writer
 * stores the header first, then the payload (in no particular order) and
 * the padding, and only after a release fence the seal, with one aligned
 * 8-byte store.  A record is committed exactly when its seal matches its
 * header; a crash at any instant before that leaves a record that does
 * not decode VALID.
 *
 * How predlog_record_decode() classifies the bytes at a record position
 * (first matching rule wins; nothing outside [src, src + src_len) is read):
 *
 *  1. EMPTY       src_len > 0 and the first min(src_len, 48) bytes are all
 *                 zero: nothing was ever written here (pools start zeroed).
 *  2. TORN        the bytes start with 1 to 3 bytes of the magic, the next
 *                 available magic byte differs, and every later available
 *                 header byte is zero: a write onto zeroed space stopped
 *                 inside the magic.
 *  3. CORRUPT     the available magic bytes do not match: garbage, the
 *                 middle of some other record, or the remains of an
 *                 overwritten one.
 *  4. TRUNCATED   fewer than 48 bytes available: cannot judge (also for
 *                 src_len == 0).
 *  5. TORN        header CRC mismatch: the magic was written, the rest of
 *                 the header was not (completely); also bytes that were
 *                 never a record of this pool (another salt, a forgery).
 *  6. CORRUPT     header CRC matches but a field is impossible (version,
 *                 hdr_len, type, level, reserved field, stored_len >
 *                 orig_len or > PREDLOG_RECORD_MAX_PAYLOAD).
 *  7. TRUNCATED   the header is sound but the record ends past src_len.
 *  8. TORN        the seal's commit word does not match the header: the
 *                 writer stopped after the header, before its seal store.
 *  9. OVERWRITTEN the seal matches the header but the payload no longer
 *                 matches payload_crc: the record was committed, then part
 *                 of its body was overwritten by newer data.
 * 10. VALID       everything matches.
 *
 * Torn versus overwritten.  Locally, TORN means "a write began here and
 * its seal was never stored" and OVERWRITTEN means "sealed once, body
 * changed since".  Because a circular buffer is written in ascending
 * address order, a newer record destroys the header of an older record
 * before its body, so an older record that a newer one has begun to cover
 * no longer decodes at all.  A reader walking one buffer therefore applies
 * this rule:
 *
 *  - Walk from the buffer start, decoding at each position; on VALID step
 *    by view.size, otherwise resynchronise with predlog_record_resync().
 *  - The write head is the end of the VALID record with the highest seq
 *    (for the buffer's function), or the buffer start if the writer
 *    wrapped there because the next record did not fit before the end.
 *    A TORN status at the write head is the one torn record of the
 *    buffer: the writer died while writing it.  Any other status there
 *    means no write was under way (or it had not yet stored 4 bytes).
 *  - Every other non-VALID byte range, whatever its local status, lies
 *    where an older lap was overwritten by newer records: it is
 *    overwritten, not torn, and holds no committed record.  VALID records
 *    after it whose seq is below the head's are intact older history.
 *
 * Probability: VALID needs three CRC32C matches; random bytes pass with
 * probability about 2^-96, bytes chosen by someone who does not know the
 * salt with about 2^-64.  A torn write can only decode VALID if the
 * bytes not yet written already held exactly the values the writer was
 * about to store, in which case the record is what the writer intended.
 */

#define PREDLOG_RECORD_MAGIC        0x43524c50u /* "PLRC" little-endian */
#define PREDLOG_RECORD_VERSION      1
#define PREDLOG_RECORD_HDR_LEN      48
#define PREDLOG_RECORD_SEAL_LEN     8
#define PREDLOG_RECORD_ALIGN        8
/* Smallest record: header and seal around an empty payload. */
#define PREDLOG_RECORD_MIN_SIZE     (PREDLOG_RECORD_HDR_LEN + \
                                     PREDLOG_RECORD_SEAL_LEN)
/* Largest stored payload; bounds what a reader trusts from a header. */
#define PREDLOG_RECORD_MAX_PAYLOAD  (16u * 1024 * 1024)
/*
 * Most raw bytes in one CHUNK (its orig_len): the records of about one
 * cold segment, or one record of the largest size if that is more.
 */
#define PREDLOG_CHUNK_MAX_INPUT     (PREDLOG_RECORD_MAX_PAYLOAD + 4096u)

/* Header byte offsets, for tools and the specification. */
#define PREDLOG_RECORD_OFF_MAGIC        0
#define PREDLOG_RECORD_OFF_VERSION      4
#define PREDLOG_RECORD_OFF_TYPE         5
#define PREDLOG_RECORD_OFF_HDR_LEN      6
#define PREDLOG_RECORD_OFF_FLAGS        8
#define PREDLOG_RECORD_OFF_FUNC_ID      10
#define PREDLOG_RECORD_OFF_ORIG_LEN     12
#define PREDLOG_RECORD_OFF_SEQ          16
#define PREDLOG_RECORD_OFF_TIMESTAMP    24
#define PREDLOG_RECORD_OFF_STORED_LEN   32
#define PREDLOG_RECORD_OFF_AUX          36
#define PREDLOG_RECORD_OFF_RESERVED     40
#define PREDLOG_RECORD_OFF_HDR_CRC      44

#define PREDLOG_RECORD_FLAG_LEVEL_MASK  0x0003u

typedef enum PredlogRecordType {
    /* 0 is never valid, so a zeroed header cannot pass as a record */
    PREDLOG_RECORD_TYPE_NET_PACKET = 1,
    PREDLOG_RECORD_TYPE_BLOCK_REQUEST = 2,
    PREDLOG_RECORD_TYPE_GUEST = 3,
    PREDLOG_RECORD_TYPE_SUMMARY = 4,
    PREDLOG_RECORD_TYPE_CHUNK = 5,
    PREDLOG_RECORD_TYPE__MAX = PREDLOG_RECORD_TYPE_CHUNK,
} PredlogRecordType;

/*
 * Payload formats, by type (little-endian):
 *
 * NET_PACKET     aux: PredlogNetDirection.  Payload: the Ethernet frame as
 *                the netdev saw it, cut to stored_len; orig_len is the
 *                frame's true length.
 * BLOCK_REQUEST  aux: PredlogBlockOp.  Payload: a PREDLOG_BLOCK_EVENT_LEN
 *                byte event (offsets below), then, if the tap logs data,
 *                the request's data (cut); orig_len counts event + data.
 * GUEST          aux: syslog severity 0..7 the guest gave.  Payload: the
 *                guest's 8-byte timestamp (ns, the guest's clock), then
 *                the bytes the guest submitted (cut); orig_len counts both.
 * SUMMARY        aux: type of the records summarised.  Payload: a
 *                PredlogSummary (summary.h) of the records with sequence
 *                numbers [first_seq, last_seq]; the header's seq is
 *                last_seq.  Those sequence numbers have no record of
 *                their own.
 * CHUNK          aux: PredlogChunkCodec.  Payload: a run of complete
 *                records of the same function, back to back as they were
 *                in its fast-tier buffer (orig_len bytes), compressed by
 *                the codec (stored_len bytes; CODEC_NONE: stored as is).
 *                The header's seq is the highest seq inside, its
 *                timestamp the newest record's.  A chunk is a container,
 *                not a record: readers unpack it and treat the records
 *                inside like records found in the pool.  orig_len is at
 *                most PREDLOG_CHUNK_MAX_INPUT; a reader refuses a chunk
 *                that claims more before it allocates anything.
 */
typedef enum PredlogNetDirection {
    PREDLOG_NET_FROM_GUEST = 1,     /* sent by the guest's NIC */
    PREDLOG_NET_TO_GUEST = 2,       /* delivered to the guest's NIC */
} PredlogNetDirection;

typedef enum PredlogBlockOp {
    PREDLOG_BLOCK_READ = 1,
    PREDLOG_BLOCK_WRITE = 2,
    PREDLOG_BLOCK_FLUSH = 3,
    PREDLOG_BLOCK_DISCARD = 4,
    PREDLOG_BLOCK_WRITE_ZEROES = 5,
} PredlogBlockOp;

#define PREDLOG_BLOCK_EVENT_LEN         32
#define PREDLOG_BLOCK_OFF_OFFSET        0   /* u64 byte offset */
#define PREDLOG_BLOCK_OFF_BYTES         8   /* u64 request length */
#define PREDLOG_BLOCK_OFF_LATENCY       16  /* u64 ns from submit to done */
#define PREDLOG_BLOCK_OFF_RET           24  /* s32 0 or -errno */
#define PREDLOG_BLOCK_OFF_FLAGS         28  /* u32 BdrvRequestFlags */

#define PREDLOG_GUEST_PREFIX_LEN        8   /* u64 guest timestamp */

/* Codec of a CHUNK record's payload (aux). */
typedef enum PredlogChunkCodec {
    PREDLOG_CHUNK_CODEC_NONE = 0,
    PREDLOG_CHUNK_CODEC_ZSTD = 1,
    PREDLOG_CHUNK_CODEC__MAX = PREDLOG_CHUNK_CODEC_ZSTD,
} PredlogChunkCodec;

/*
 * Payload bytes a record keeps at PREDLOG_RECORD_LEVEL_HEADER, by type:
 * a frame's protocol headers (Ethernet, a VLAN tag, IPv6 or IPv4 with
 * options, TCP with options fit in 128 bytes), a block request's event
 * without its data, a guest record's timestamp and the start of its text.
 * orig_len keeps the true length.
 */
#define PREDLOG_HEADER_LEN_NET          128
#define PREDLOG_HEADER_LEN_BLOCK        PREDLOG_BLOCK_EVENT_LEN
#define PREDLOG_HEADER_LEN_GUEST        (PREDLOG_GUEST_PREFIX_LEN + 56)

/* Granularity the record was logged at (flags bits 0-1). */
typedef enum PredlogRecordLevel {
    PREDLOG_RECORD_LEVEL_FULL = 0,      /* payload as seen (maybe cut) */
    PREDLOG_RECORD_LEVEL_SUMMARY = 1,   /* payload is a digest */
    PREDLOG_RECORD_LEVEL_HEADER = 2,    /* only protocol headers kept */
    PREDLOG_RECORD_LEVEL__MAX = PREDLOG_RECORD_LEVEL_HEADER,
} PredlogRecordLevel;

typedef enum PredlogRecordStatus {
    PREDLOG_RECORD_VALID = 0,
    PREDLOG_RECORD_EMPTY,
    PREDLOG_RECORD_TORN,
    PREDLOG_RECORD_OVERWRITTEN,
    PREDLOG_RECORD_CORRUPT,
    PREDLOG_RECORD_TRUNCATED,
    PREDLOG_RECORD_STATUS__MAX,
} PredlogRecordStatus;

/* The caller-supplied, host-endian part of a header. */
typedef struct PredlogRecordHeader {
    PredlogRecordType type;
    PredlogRecordLevel level;
    uint16_t func_id;
    uint32_t orig_len;
    uint32_t stored_len;
    uint64_t seq;
    uint64_t timestamp_ns;
    uint32_t aux;               /* type-specific, see payload formats */
} PredlogRecordHeader;

/*
 * A decoded record.  Header fields, flags, hdr_crc and size are filled
 * once the header checksum and fields are sound (VALID, OVERWRITTEN, TORN
 * by rule 8, TRUNCATED by rule 7); payload_crc once the seal matches
 * (VALID, OVERWRITTEN); payload only for VALID.  Everything else is zero.
 * payload points into the decoded buffer.
 */
typedef struct PredlogRecordView {
    PredlogRecordHeader hdr;
    uint16_t flags;             /* raw on-pool flags */
    uint32_t hdr_crc;
    uint32_t payload_crc;       /* as stored in the seal */
    size_t size;                /* bytes the record occupies, 0 if unknown */
    const uint8_t *payload;
} PredlogRecordView;

/*
 * Incremental writer, for payloads that arrive in pieces (iovecs, DMA
 * chunks).  Lives on the caller's stack; no allocation.
 */
typedef struct PredlogRecordWriter {
    uint8_t *base;
    size_t size;
    uint32_t stored_len;
    uint32_t filled;
    uint32_t hdr_crc;
    uint32_t payload_crc;
    uint32_t commit_seed;       /* salt_hi of the record's pool */
} PredlogRecordWriter;

/*
 * CRC32C (Castagnoli, reflected 0x82F63B78), chainable: start with 0, and
 * predlog_crc32c(predlog_crc32c(0, a, n), b, m) is the CRC of a . b.
 * predlog_crc32c() uses the SSE4.2 instruction when the host has it;
 * predlog_crc32c_sw() is always the portable slice-by-8 code, so tests can
 * check that both paths agree.
 */
uint32_t predlog_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t predlog_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* Whether predlog_crc32c() uses the accelerated path on this host. */
bool predlog_crc32c_accelerated(void);

/* Bytes a record with @stored_len payload bytes occupies; 0 if too big. */
size_t predlog_record_size(uint32_t stored_len);

/*
 * Write one complete record at @dst (8-byte aligned for the seal to be a
 * single atomic store) following the write protocol above, checksummed
 * with the pool's @salt.  @payload holds hdr->stored_len bytes (may be
 * NULL if that is 0).  Returns the bytes written (predlog_record_size()),
 * or 0 without touching @dst if the record does not fit in @dst_len or
 * the header is invalid (unknown type or level, stored_len > orig_len or
 * > PREDLOG_RECORD_MAX_PAYLOAD).
 */
size_t predlog_record_encode(void *dst, size_t dst_len, uint64_t salt,
                             const PredlogRecordHeader *hdr,
                             const void *payload);

/*
 * The same in three steps: begin writes the header (returns false, and
 * writes nothing, where encode would return 0); append copies payload
 * bytes (false if that would exceed stored_len); commit pads and stores
 * the seal once exactly stored_len bytes were appended and returns the
 * record size (0 if the payload is incomplete: the record then stays
 * torn, so callers must not leave it that way in a buffer they go on
 * writing).
 */
bool predlog_record_begin(PredlogRecordWriter *w, void *dst, size_t dst_len,
                          uint64_t salt, const PredlogRecordHeader *hdr);
bool predlog_record_append(PredlogRecordWriter *w, const void *data,
                           size_t len);
size_t predlog_record_commit(PredlogRecordWriter *w);

/*
 * Classify and decode the record at @src (any alignment), reading at most
 * @src_len bytes, by the rules above, with the pool's @salt: a record
 * checksummed with another salt is TORN (rule 5).  @out is always
 * initialised.
 */
PredlogRecordStatus predlog_record_decode(const void *src, size_t src_len,
                                          uint64_t salt,
                                          PredlogRecordView *out);

/*
 * Find the first VALID record (with @salt) at an 8-byte-aligned offset
 * >= @from in @buf (offsets relative to @buf).  Returns its offset and
 * fills @out, or returns @buf_len (and a zeroed @out) if there is none.
 */
size_t predlog_record_resync(const void *buf, size_t buf_len, size_t from,
                             uint64_t salt, PredlogRecordView *out);

/*
 * The core's names of the format's enums; "unknown" for other values.
 * Levels: "full", "summary", "header" (also QAPI's PredlogLevel and
 * predlog-recover's "level").  predlog-recover's "kind" and "op" are its
 * own documented vocabulary (docs/tools/predlog-recover.rst).
 */
const char *predlog_record_status_str(PredlogRecordStatus status);
const char *predlog_record_type_str(PredlogRecordType type);
const char *predlog_level_str(PredlogRecordLevel level);

#endif /* HW_PREDLOG_RECORD_H */
