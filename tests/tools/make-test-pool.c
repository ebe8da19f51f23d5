/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * make-test-pool: write predlog pool files of known content for the tests
 * of predlog-recover
 *
 *   make-test-pool SCENARIO POOL-FILE
 *
 * Formats a pool in memory with the recorder (hw/predlog/core/recorder.h), logs
 * the records of SCENARIO through the recorder's API (levels set with
 * predlog_recorder_set_level(), summaries written by predlog_recorder_tick()
 * or a level change, cold-tier chunks made by the recorder itself), may
 * then damage the image or write records into its free space by hand
 * (a torn record at a write head, orphans, duplicates, forged summaries
 * and chunks), writes the image to POOL-FILE and prints on stdout, as one
 * JSON object, what predlog-recover must make of it (see print_logged()).
 *
 * The oracle is independent of the reader under test (recovery.h): which
 * payload bytes a level keeps and what a summary must say are worked out
 * here from the documented rules (record.h, summary.h), not read back; the
 * directory is read by hand from the layout recorder.h documents; where
 * records were found is surveyed with the record codec (record.h) and
 * libzstd directly.
 *
 * Scenarios:
 *   mixed    DYNAMIC, nothing lost: net frames (UDP, ARP, cut by
 *            max_stored, cut by the HEADER level, counted into summaries
 *            at the SUMMARY level), block events with and without data
 *            (also at HEADER), guest text and binary messages (also at
 *            HEADER and SUMMARY), names that need sanitising and clash,
 *            idle net functions, a torn final guest record, records still
 *            pending in a summary at the crash (lost, as recorder.h says),
 *            and in free space an orphaned record (unknown function id), a
 *            duplicate of a committed one and forged records: summaries
 *            that do not decode or do not match their header, a network
 *            record at the SUMMARY level as older writers made them
 *   wrapped  FIXED, a net function that wrapped its buffer many times
 *            (with a stretch at HEADER level) and a torn record at its
 *            write head over the oldest records
 *   dynamic  DYNAMIC with small buffers: functions move to new buffers and
 *            evict each other's old ones
 *   empty    functions that never logged, an unnamed pool
 *   tiered   DYNAMIC with a zstd cold tier: small active buffers that
 *            lap many times, so records age into CHUNK records; level
 *            changes (HEADER, SUMMARY with ticks) so that header records
 *            and summaries are aged too; a buffer resized mid-way; a
 *            function past its cold budget that keeps its chunks because
 *            the pool has room; a torn record at a write head; nothing
 *            lost
 *   damaged  tiered, then one byte inside the compressed payload of the
 *            oldest chunk of a function flipped (the chunk no longer
 *            decodes: its records are lost), and forged CHUNK records,
 *            sealed with valid checksums, of a function that never
 *            logged: one with a bad record after two good ones, a zstd
 *            frame holding another function's record, one whose frame is
 *            shorter than it says, one of an unknown codec, one holding a
 *            chunk, and a good uncompressed one
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <zstd.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/summary.h"

/* 2026-11-21T10:00:00Z */
#define BASE_NS (1795255200ull * 1000000000ull)

#define MAX_FUNCS PREDLOG_RECORDER_MAX_FUNCTIONS

typedef struct Logged {
    uint64_t seq;
    PredlogRecordType type;
    PredlogRecordLevel level;   /* what the record was stored at */
    uint32_t aux;
    uint64_t ts_ns;
    uint32_t orig_len;
    uint32_t stored_len;
    GByteArray *payload;        /* stored bytes; NULL: a recorder summary */
    GArray *summarised;         /* Logged: what a recorder summary counts */
    bool summary_invalid;       /* forged: predlog-recover must reject it */
} Logged;

typedef struct Torn {
    bool present;
    uint64_t seq;
    uint64_t buf_pos;           /* in the active buffer */
    uint64_t written;           /* bytes actually stored from buf_pos */
    uint64_t size;              /* what the record would have occupied */
} Torn;

/* Where the committed records of one function are, as the image holds them */
typedef struct Found {
    GArray *fast;               /* uint64 seqs of records outside chunks */
    GArray *cold;               /* uint64 seqs of records inside chunks */
} Found;

typedef struct Gen {
    uint8_t *base;
    uint64_t size;
    PredlogRecorder *rec;
    PredlogRecorderConfig cfg;
    GArray *logged[MAX_FUNCS];  /* Logged, in the order they were written */
    GArray *pending[MAX_FUNCS]; /* Logged, in the recorder's pending summary */
    GArray *lost[MAX_FUNCS];    /* uint64 seqs lost with a damaged chunk */
    PredlogRecordLevel level[MAX_FUNCS];
    PredlogFunctionKind kind[MAX_FUNCS];
    Torn torn[MAX_FUNCS];
    Found found[MAX_FUNCS];
    uint64_t now;               /* monotonic clock for the recorder */
    uint64_t stray_end;         /* hand-written records go below this */
    uint64_t orphaned;          /* stray records written by hand */
    uint64_t duplicates;
    uint64_t damaged_chunks;    /* chunks made not VALID */
    uint64_t forged_chunks;     /* CHUNK records written by hand */
    uint64_t chunks_found;      /* VALID CHUNK records of known functions */
    uint64_t bad_chunks_found;  /* of those, ones that do not unpack */
} Gen;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void st16be(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void st32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void st64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = v >> (8 * i);
    }
}

static uint32_t ld32le(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t ld64le(const uint8_t *p)
{
    return ld32le(p) | (uint64_t)ld32le(p + 4) << 32;
}

/* The salt of the pool's records, for the records written by hand */
static uint64_t pool_salt(Gen *g)
{
    return predlog_recorder_salt(g->rec);
}

static G_GNUC_NORETURN void die(const char *msg)
{
    fprintf(stderr, "make-test-pool: %s\n", msg);
    exit(1);
}

static int add_function(Gen *g, PredlogFunctionKind kind, const char *name)
{
    g_autoptr(GError) err = NULL;
    int id = predlog_recorder_add_function(g->rec, kind, name,
                                           BASE_NS + g->now, &err);

    if (id < 0) {
        die(err->message);
    }
    g->logged[id] = g_array_new(false, true, sizeof(Logged));
    g->pending[id] = g_array_new(false, true, sizeof(Logged));
    g->lost[id] = g_array_new(false, false, sizeof(uint64_t));
    g->found[id].fast = g_array_new(false, false, sizeof(uint64_t));
    g->found[id].cold = g_array_new(false, false, sizeof(uint64_t));
    g->kind[id] = kind;
    g->level[id] = PREDLOG_RECORD_LEVEL_FULL;
    return id;
}

/* The coarser of two levels (detail: FULL > HEADER > SUMMARY), recorder.h */
static PredlogRecordLevel coarser(PredlogRecordLevel a, PredlogRecordLevel b)
{
    static const int detail[] = {
        [PREDLOG_RECORD_LEVEL_FULL] = 2,
        [PREDLOG_RECORD_LEVEL_HEADER] = 1,
        [PREDLOG_RECORD_LEVEL_SUMMARY] = 0,
    };

    return detail[a] < detail[b] ? a : b;
}

/* Payload bytes the HEADER level keeps, record.h */
static uint32_t header_len(PredlogFunctionKind kind)
{
    switch (kind) {
    case PREDLOG_FUNCTION_NET:
        return PREDLOG_HEADER_LEN_NET;
    case PREDLOG_FUNCTION_BLOCK:
        return PREDLOG_HEADER_LEN_BLOCK;
    case PREDLOG_FUNCTION_GUEST:
        return PREDLOG_HEADER_LEN_GUEST;
    }
    die("unknown function kind");
}

/*
 * Log one record whose whole payload is @data/@len, storing at most
 * @max_stored bytes of it, with the entry's level @level (which only caps
 * the function's level).  What the recorder stores is worked out from the
 * rules of recorder.h: at HEADER at most header_len() bytes, at SUMMARY
 * nothing (the record goes into the function's pending summary).
 */
static bool log_record(Gen *g, int id, PredlogRecordType type,
                       PredlogRecordLevel level, uint32_t aux,
                       uint64_t ts_ns, const void *data, uint32_t len,
                       uint32_t max_stored)
{
    PredlogPiece piece = { .data = data, .len = len };
    PredlogEntry e = {
        .type = type,
        .level = level,
        .aux = aux,
        .orig_len = len,
        .timestamp_ns = ts_ns,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = max_stored,
    };
    PredlogRecordLevel eff = coarser(level, g->level[id]);
    PredlogLogResult res;
    Logged l = { 0 };

    /* Summaries here come from the function's level, not from entries. */
    if (level == PREDLOG_RECORD_LEVEL_SUMMARY) {
        die("entries of level SUMMARY are not used by the scenarios");
    }
    if (eff == PREDLOG_RECORD_LEVEL_HEADER) {
        max_stored = MIN(max_stored, header_len(g->kind[id]));
    }
    g->now += 1000;
    res = predlog_recorder_log(g->rec, id, &e, g->now, &l.seq);
    if (res == PREDLOG_LOG_DROPPED) {
        return false;
    }
    if (res != PREDLOG_LOG_OK) {
        die("the recorder refused an entry");
    }
    l.type = type;
    l.level = eff;
    l.aux = aux;
    l.ts_ns = ts_ns;
    l.orig_len = len;
    if (eff == PREDLOG_RECORD_LEVEL_SUMMARY) {
        g_array_append_val(g->pending[id], l);
        return true;
    }
    l.stored_len = MIN(len, max_stored);
    l.payload = g_byte_array_new();
    g_byte_array_append(l.payload, data, l.stored_len);
    g_array_append_val(g->logged[id], l);
    return true;
}

/*
 * The SUMMARY record the recorder writes for @id's pending records (if
 * any), as summary.h and recorder.h describe it: aux is the type of the
 * records summarised, seq and timestamp those of the last one.
 */
static void pending_written(Gen *g, int id)
{
    GArray *p = g->pending[id];
    Logged s = { 0 };

    if (!p->len) {
        return;
    }
    s.seq = g_array_index(p, Logged, p->len - 1).seq;
    s.ts_ns = g_array_index(p, Logged, p->len - 1).ts_ns;
    s.aux = g_array_index(p, Logged, 0).type;
    s.type = PREDLOG_RECORD_TYPE_SUMMARY;
    s.level = PREDLOG_RECORD_LEVEL_SUMMARY;
    s.orig_len = s.stored_len = PREDLOG_SUMMARY_LEN;
    s.summarised = p;
    g->pending[id] = g_array_new(false, true, sizeof(Logged));
    g_array_append_val(g->logged[id], s);
}

static void set_level(Gen *g, int id, PredlogRecordLevel level)
{
    g->now += 1000;
    if (g->level[id] == PREDLOG_RECORD_LEVEL_SUMMARY &&
        level != PREDLOG_RECORD_LEVEL_SUMMARY) {
        pending_written(g, id);
    }
    if (!predlog_recorder_set_level(g->rec, id, level, g->now)) {
        die("the recorder refused a level");
    }
    g->level[id] = level;
}

static void tick(Gen *g)
{
    unsigned n = predlog_recorder_n_functions(g->rec);

    g->now += 1000;
    for (unsigned id = 0; id < n; id++) {
        pending_written(g, id);
    }
    predlog_recorder_tick(g->rec, g->now);
}

/* ------------------------------------------------------------------ */
/* Payloads                                                            */
/* ------------------------------------------------------------------ */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t host_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* An Ethernet/IPv4/UDP frame of @len bytes (>= 42) */
static uint8_t *udp_frame(uint32_t len, uint32_t salt, bool from_guest)
{
    uint8_t *f = g_malloc0(len);
    uint8_t *ip = f + 14, *udp = ip + 20;

    memcpy(f, from_guest ? host_mac : guest_mac, 6);
    memcpy(f + 6, from_guest ? guest_mac : host_mac, 6);
    st16be(f + 12, 0x0800);
    ip[0] = 0x45;
    st16be(ip + 2, len - 14);
    st16be(ip + 4, salt);
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 10;
    ip[13] = 0;
    ip[14] = 2;
    ip[15] = from_guest ? 15 : 2;
    ip[16] = 10;
    ip[17] = 0;
    ip[18] = 2;
    ip[19] = from_guest ? 2 : 15;
    st16be(ip + 10, ip_checksum(ip, 20));
    st16be(udp, 40000 + salt % 1000);
    st16be(udp + 2, 5353);
    st16be(udp + 4, len - 34);
    for (uint32_t i = 42; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + salt);
    }
    return f;
}

/* An ARP request (42 bytes, as a guest sends it) or reply (padded to 60) */
static uint8_t *arp_frame(bool request, uint32_t *len)
{
    uint8_t *f;

    *len = request ? 42 : 60;
    f = g_malloc0(*len);
    memset(f, 0xff, 6);
    if (!request) {
        memcpy(f, guest_mac, 6);
    }
    memcpy(f + 6, request ? guest_mac : host_mac, 6);
    st16be(f + 12, 0x0806);
    st16be(f + 14, 1);
    st16be(f + 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    st16be(f + 20, request ? 1 : 2);
    memcpy(f + 22, request ? guest_mac : host_mac, 6);
    f[28] = 10;
    f[29] = 0;
    f[30] = 2;
    f[31] = request ? 15 : 2;
    if (!request) {
        memcpy(f + 32, guest_mac, 6);
    }
    f[38] = 10;
    f[39] = 0;
    f[40] = 2;
    f[41] = request ? 2 : 15;
    return f;
}

static uint8_t *block_event(uint64_t offset, uint64_t bytes,
                            uint64_t latency, int32_t ret, uint32_t flags,
                            uint32_t data_len, uint32_t *len)
{
    uint8_t *p;

    *len = PREDLOG_BLOCK_EVENT_LEN + data_len;
    p = g_malloc0(*len);
    st64le(p + PREDLOG_BLOCK_OFF_OFFSET, offset);
    st64le(p + PREDLOG_BLOCK_OFF_BYTES, bytes);
    st64le(p + PREDLOG_BLOCK_OFF_LATENCY, latency);
    st32le(p + PREDLOG_BLOCK_OFF_RET, (uint32_t)ret);
    st32le(p + PREDLOG_BLOCK_OFF_FLAGS, flags);
    for (uint32_t i = 0; i < data_len; i++) {
        p[PREDLOG_BLOCK_EVENT_LEN + i] = (uint8_t)(i * 13 + offset / 512);
    }
    return p;
}

static uint8_t *guest_msg(uint64_t guest_ts, const void *msg, uint32_t n,
                          uint32_t *len)
{
    uint8_t *p;

    *len = PREDLOG_GUEST_PREFIX_LEN + n;
    p = g_malloc(*len);
    st64le(p, guest_ts);
    memcpy(p + PREDLOG_GUEST_PREFIX_LEN, msg, n);
    return p;
}

static void log_net(Gen *g, int id, PredlogRecordLevel level, uint64_t ts,
                    uint8_t *frame, uint32_t len, uint32_t max_stored,
                    bool from_guest)
{
    log_record(g, id, PREDLOG_RECORD_TYPE_NET_PACKET, level,
               from_guest ? PREDLOG_NET_FROM_GUEST : PREDLOG_NET_TO_GUEST,
               ts, frame, len, max_stored);
    g_free(frame);
}

/*
 * An entry of level HEADER (it caps the function's level) if only the event
 * of a request with data is kept
 */
static void log_block(Gen *g, int id, PredlogBlockOp op, uint64_t ts,
                      uint64_t offset, uint64_t bytes, int32_t ret,
                      uint32_t flags, uint32_t data_len, uint32_t max_stored)
{
    uint32_t len;
    g_autofree uint8_t *p = block_event(offset, bytes, 1000 + offset % 7777,
                                        ret, flags, data_len, &len);
    bool header_only = data_len && max_stored == PREDLOG_BLOCK_EVENT_LEN;

    log_record(g, id, PREDLOG_RECORD_TYPE_BLOCK_REQUEST,
               header_only ? PREDLOG_RECORD_LEVEL_HEADER
                           : PREDLOG_RECORD_LEVEL_FULL,
               op, ts, p, len, max_stored);
}

static void log_guest(Gen *g, int id, uint32_t severity, uint64_t ts,
                      const void *msg, uint32_t n, uint32_t max_stored)
{
    uint32_t len;
    g_autofree uint8_t *p = guest_msg(ts - BASE_NS + 5000000, msg, n, &len);

    log_record(g, id, PREDLOG_RECORD_TYPE_GUEST, PREDLOG_RECORD_LEVEL_FULL,
               severity, ts, p, len, max_stored);
}

/* ------------------------------------------------------------------ */
/* Torn records                                                        */
/* ------------------------------------------------------------------ */

/* Active buffer of @id from the directory, read as recorder.h lays it out */
static bool active_buffer(Gen *g, int id, uint64_t *off, uint64_t *size)
{
    uint64_t dir = ld64le(g->base + PREDLOG_POOL_SB_OFF_DIR_OFFSET);
    uint64_t best_gen = 0;

    for (int copy = 0; copy < 2; copy++) {
        const uint8_t *e = g->base + dir +
                           (2 * (uint64_t)id + copy) *
                           PREDLOG_POOL_DIR_ENTRY_SIZE;
        uint64_t gen = ld64le(e + PREDLOG_POOL_DIR_OFF_GENERATION);

        if (ld32le(e + PREDLOG_POOL_DIR_OFF_MAGIC) !=
                PREDLOG_POOL_DIR_MAGIC ||
            ld32le(e + PREDLOG_POOL_DIR_OFF_CRC) !=
                predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC) ||
            gen <= best_gen) {
            continue;
        }
        best_gen = gen;
        *off = ld64le(e + PREDLOG_POOL_DIR_OFF_BUF_OFFSET);
        *size = ld64le(e + PREDLOG_POOL_DIR_OFF_BUF_SIZE);
    }
    return best_gen && *off;
}

/*
 * Offset (in the active buffer) and size of record @seq of @id, read back
 * with the codec of record.h
 */
static bool find_record(Gen *g, int id, uint64_t seq, uint64_t *pos_out,
                        uint64_t *size_out, uint64_t *buf_off,
                        uint64_t *buf_size)
{
    uint64_t pos = 0;
    const uint8_t *buf;

    if (!active_buffer(g, id, buf_off, buf_size)) {
        return false;
    }
    buf = g->base + *buf_off;
    while (pos < *buf_size) {
        PredlogRecordView v;

        if (predlog_record_decode(buf + pos, *buf_size - pos, pool_salt(g),
                                  &v) == PREDLOG_RECORD_VALID) {
            if (v.hdr.func_id == id && v.hdr.seq == seq) {
                *pos_out = pos;
                *size_out = v.size;
                return true;
            }
            pos += v.size;
        } else {
            pos = predlog_record_resync(buf, *buf_size, pos + 8,
                                        pool_salt(g), &v);
        }
    }
    return false;
}

/* Position after the record @seq of @id in its active buffer */
static bool write_head(Gen *g, int id, uint64_t seq, uint64_t *head,
                       uint64_t *buf_off, uint64_t *buf_size)
{
    uint64_t pos, size;

    if (!find_record(g, id, seq, &pos, &size, buf_off, buf_size)) {
        return false;
    }
    *head = pos + size;
    return true;
}

/*
 * Leave the record after @id's last one half-written at its write head:
 * the header and @partial payload bytes of @len, no seal.  Logs small
 * filler records first if the record would not fit before the buffer end
 * (the writer would then have wrapped, and the head is to be mid-buffer).
 */
static void leave_torn(Gen *g, int id, PredlogRecordType type, uint32_t aux,
                       uint64_t ts, const uint8_t *data, uint32_t len,
                       uint32_t partial)
{
    GArray *l = g->logged[id];
    PredlogRecordHeader hdr = {
        .type = type,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = id,
        .orig_len = len,
        .stored_len = len,
        .timestamp_ns = ts,
        .aux = aux,
    };
    uint64_t head = 0, off = 0, size = 0;
    PredlogRecordWriter w;

    for (;;) {
        uint64_t last = g_array_index(l, Logged, l->len - 1).seq;

        if (!write_head(g, id, last, &head, &off, &size)) {
            die("cannot find the write head");
        }
        if (head + predlog_record_size(len) <= size) {
            hdr.seq = last + 1;
            break;
        }
        log_record(g, id, type, PREDLOG_RECORD_LEVEL_FULL, aux, ts - 1,
                   data, 16, 16);
    }
    if (!predlog_record_begin(&w, g->base + off + head, size - head,
                              pool_salt(g), &hdr) ||
        !predlog_record_append(&w, data, partial)) {
        die("cannot write the torn record");
    }
    g->torn[id].present = true;
    g->torn[id].seq = hdr.seq;
    g->torn[id].buf_pos = head;
    g->torn[id].written = PREDLOG_RECORD_HDR_LEN + partial;
    g->torn[id].size = predlog_record_size(len);
}

/* ------------------------------------------------------------------ */
/* Records written by hand                                             */
/* ------------------------------------------------------------------ */

/*
 * @size bytes of free space at the end of the data area for records
 * written by hand, below the ones handed out before.  Dies unless they
 * are all zero, i.e. hold nothing the recorder wrote.
 */
static uint8_t *stray_space(Gen *g, uint64_t size)
{
    uint64_t data_off = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    uint64_t data_size = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_SIZE);

    if (!g->stray_end) {
        g->stray_end = data_off + data_size;
    }
    size = (size + 4095) & ~4095ull;    /* a gap of zeroes between them */
    if (g->stray_end - data_off < data_size / 2 + size) {
        die("no room for records written by hand");
    }
    g->stray_end -= size;
    for (uint64_t i = 0; i < size; i++) {
        if (g->base[g->stray_end + i]) {
            die("the free space for records written by hand is in use");
        }
    }
    return g->base + g->stray_end;
}

/* Write one record by hand into free space */
static void forge(Gen *g, const PredlogRecordHeader *hdr, const void *payload)
{
    size_t size = predlog_record_size(hdr->stored_len);

    if (predlog_record_encode(stray_space(g, size), size, pool_salt(g), hdr,
                              payload) != size) {
        die("cannot encode a record written by hand");
    }
}

/* Append the encoding of a record to @buf (the contents of a chunk) */
static void encode_into(Gen *g, GByteArray *buf,
                        const PredlogRecordHeader *hdr, const void *payload)
{
    size_t at = buf->len, size = predlog_record_size(hdr->stored_len);

    g_byte_array_set_size(buf, at + size);
    if (predlog_record_encode(buf->data + at, size, pool_salt(g), hdr,
                              payload) != size) {
        die("cannot encode a record for a chunk");
    }
}

/* Record @hdr/@payload of a function as logged, for the oracle */
static void forged_logged(Gen *g, const PredlogRecordHeader *hdr,
                          const void *payload, bool summary_invalid)
{
    Logged l = {
        .seq = hdr->seq,
        .type = hdr->type,
        .level = hdr->level,
        .aux = hdr->aux,
        .ts_ns = hdr->timestamp_ns,
        .orig_len = hdr->orig_len,
        .stored_len = hdr->stored_len,
        .payload = g_byte_array_new(),
        .summary_invalid = summary_invalid,
    };

    g_byte_array_append(l.payload, payload, hdr->stored_len);
    g_array_append_val(g->logged[hdr->func_id], l);
}

/*
 * Committed records outside every buffer, in free space at the end of the
 * data area: one of a function id the directory does not name (orphaned)
 * and a copy of record @dup_seq of @dup_id (a duplicate).  Neither may
 * show up in the output.
 */
static void add_strays(Gen *g, int orphan_id, int dup_id, uint64_t dup_seq)
{
    static const char text[] = "orphan";
    PredlogRecordHeader hdr = {
        .type = PREDLOG_RECORD_TYPE_GUEST,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = orphan_id,
        .orig_len = sizeof(text),
        .stored_len = sizeof(text),
        .seq = 1,
        .timestamp_ns = BASE_NS,
        .aux = 6,
    };
    uint64_t pos = 0, size = 0, off = 0, bsize = 0;

    if (!find_record(g, dup_id, dup_seq, &pos, &size, &off, &bsize)) {
        die("cannot find the record to duplicate");
    }
    forge(g, &hdr, text);
    memcpy(stray_space(g, size), g->base + off + pos, size);
    g->orphaned++;
    g->duplicates++;
}

/*
 * Records of the net function @id, which logs nothing itself, that a
 * reader must take apart: a SUMMARY record whose payload is no summary, a
 * SUMMARY record whose summary is consistent but ends at another seq than
 * its header's (it then stands for itself only), and a network record at
 * the SUMMARY level, an opaque digest as older writers made them.
 */
static void forge_summaries(Gen *g, int id, uint64_t ts)
{
    static const uint8_t garbage[24] = { 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 7 };
    static const uint8_t digest[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    uint8_t enc[PREDLOG_SUMMARY_LEN];
    PredlogSummary sum;
    PredlogRecordHeader hdr = {
        .type = PREDLOG_RECORD_TYPE_SUMMARY,
        .level = PREDLOG_RECORD_LEVEL_SUMMARY,
        .func_id = id,
        .orig_len = sizeof(garbage),
        .stored_len = sizeof(garbage),
        .seq = 1,
        .timestamp_ns = ts,
        .aux = PREDLOG_RECORD_TYPE_NET_PACKET,
    };

    forge(g, &hdr, garbage);
    forged_logged(g, &hdr, garbage, true);

    predlog_summary_reset(&sum);
    for (uint64_t seq = 1; seq <= 3; seq++) {
        predlog_summary_add(&sum, seq, ts + seq, 60 * seq,
                            PREDLOG_NET_TO_GUEST);
    }
    if (predlog_summary_encode(&sum, enc, sizeof(enc)) != sizeof(enc)) {
        die("cannot encode a summary");
    }
    hdr.orig_len = hdr.stored_len = sizeof(enc);
    hdr.seq = 2;
    hdr.timestamp_ns = ts + 10;
    forge(g, &hdr, enc);
    forged_logged(g, &hdr, enc, true);

    hdr.type = PREDLOG_RECORD_TYPE_NET_PACKET;
    hdr.aux = PREDLOG_NET_FROM_GUEST;
    hdr.orig_len = 1514;
    hdr.stored_len = sizeof(digest);
    hdr.seq = 3;
    hdr.timestamp_ns = ts + 20;
    forge(g, &hdr, digest);
    forged_logged(g, &hdr, digest, false);
}

/* A guest record of the forged function, encoded into @buf */
static PredlogRecordHeader forged_guest(Gen *g, int id, uint64_t seq,
                                        uint64_t ts, const char *text,
                                        GByteArray *buf, uint8_t *payload)
{
    uint32_t n = strlen(text);
    PredlogRecordHeader hdr = {
        .type = PREDLOG_RECORD_TYPE_GUEST,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = id,
        .orig_len = PREDLOG_GUEST_PREFIX_LEN + n,
        .stored_len = PREDLOG_GUEST_PREFIX_LEN + n,
        .seq = seq,
        .timestamp_ns = ts,
        .aux = 5,
    };

    st64le(payload, seq * 1000);
    memcpy(payload + PREDLOG_GUEST_PREFIX_LEN, text, n);
    if (buf) {
        encode_into(g, buf, &hdr, payload);
    }
    return hdr;
}

/* A CHUNK record of @id holding @raw as @codec (aux), @orig_len claimed */
static void forge_chunk(Gen *g, int id, uint32_t codec, uint64_t seq,
                        uint64_t ts, const GByteArray *raw, uint32_t orig_len,
                        bool compress)
{
    size_t bound = ZSTD_compressBound(raw->len), n = raw->len;
    g_autofree uint8_t *z = g_malloc(bound);
    PredlogRecordHeader hdr = {
        .type = PREDLOG_RECORD_TYPE_CHUNK,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = id,
        .orig_len = orig_len,
        .seq = seq,
        .timestamp_ns = ts,
        .aux = codec,
    };

    if (compress) {
        n = ZSTD_compress(z, bound, raw->data, raw->len, 3);
        if (ZSTD_isError(n)) {
            die("zstd cannot compress a forged chunk");
        }
    } else {
        memcpy(z, raw->data, raw->len);
    }
    hdr.stored_len = n;
    if (hdr.stored_len > hdr.orig_len) {
        die("a forged chunk stores more than it holds");
    }
    forge(g, &hdr, z);
    g->forged_chunks++;
}

/*
 * CHUNK records of the guest function @id (which logs nothing itself)
 * whose checksums are valid but whose contents are not what the recorder
 * writes; predlog-recover must count every one but the last as a bad
 * chunk and return exactly the records before the first bad one:
 *
 *   A  uncompressed: records 1 and 2, then 8 zero bytes (not a record)
 *   B  zstd: a record of another function (@other)
 *   C  zstd: records 3 and 4, but orig_len claims 8 bytes more than the
 *      frame holds (3 and 4 are lost)
 *   D  an unknown codec (aux 9) around C's records, uncompressed
 *   E  uncompressed: a CHUNK record inside (chunks do not nest)
 *   F  uncompressed: records 6 and 7, a good chunk
 *
 * and a plain record 5.  Returned: 1, 2, 5, 6, 7; lost: 3, 4.
 */
static void forge_chunks(Gen *g, int id, int other, uint64_t ts)
{
    g_autoptr(GByteArray) a = g_byte_array_new();
    g_autoptr(GByteArray) b = g_byte_array_new();
    g_autoptr(GByteArray) c = g_byte_array_new();
    g_autoptr(GByteArray) e = g_byte_array_new();
    g_autoptr(GByteArray) f = g_byte_array_new();
    /* Long and repetitive where zstd must make the chunk smaller */
    g_autofree char *long_b = g_strnfill(200, 'b');
    g_autofree char *long_c = g_strnfill(200, 'c');
    uint8_t payload[PREDLOG_GUEST_PREFIX_LEN + 256];
    PredlogRecordHeader hdr;
    PredlogRecordHeader inner = {
        .type = PREDLOG_RECORD_TYPE_CHUNK,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = id,
        .seq = 2,
        .timestamp_ns = ts + 2,
        .aux = PREDLOG_CHUNK_CODEC_NONE,
    };
    uint64_t lost;

    /* A */
    hdr = forged_guest(g, id, 1, ts + 1, "forged one", a, payload);
    forged_logged(g, &hdr, payload, false);
    hdr = forged_guest(g, id, 2, ts + 2, "forged two", a, payload);
    forged_logged(g, &hdr, payload, false);
    g_byte_array_set_size(a, a->len + 8);
    memset(a->data + a->len - 8, 0, 8);
    forge_chunk(g, id, PREDLOG_CHUNK_CODEC_NONE, 2, ts + 2, a, a->len, false);

    /* B */
    forged_guest(g, other, 3, ts + 3, long_b, b, payload);
    forge_chunk(g, id, PREDLOG_CHUNK_CODEC_ZSTD, 3, ts + 3, b, b->len, true);

    /* C */
    for (uint64_t seq = 3; seq <= 4; seq++) {
        hdr = forged_guest(g, id, seq, ts + seq, long_c, c, payload);
        forged_logged(g, &hdr, payload, false);
        lost = seq;
        g_array_append_val(g->lost[id], lost);
    }
    forge_chunk(g, id, PREDLOG_CHUNK_CODEC_ZSTD, 4, ts + 4, c, c->len + 8,
                true);

    /* D: C's records, stored as they are, but with an unknown codec */
    forge_chunk(g, id, 9, 4, ts + 4, c, c->len, false);

    /* E: A's chunk record inside a chunk */
    inner.orig_len = inner.stored_len = a->len;
    encode_into(g, e, &inner, a->data);
    forge_chunk(g, id, PREDLOG_CHUNK_CODEC_NONE, 2, ts + 2, e, e->len, false);

    hdr = forged_guest(g, id, 5, ts + 5, "forged five, plain", NULL, payload);
    forge(g, &hdr, payload);
    forged_logged(g, &hdr, payload, false);

    /* F */
    for (uint64_t seq = 6; seq <= 7; seq++) {
        hdr = forged_guest(g, id, seq, ts + seq, "in a good chunk", f, payload);
        forged_logged(g, &hdr, payload, false);
    }
    forge_chunk(g, id, PREDLOG_CHUNK_CODEC_NONE, 7, ts + 7, f, f->len, false);
}

/* ------------------------------------------------------------------ */
/* Where the records are                                               */
/* ------------------------------------------------------------------ */

/*
 * Append to @seqs the sequence numbers of the records inside the VALID
 * CHUNK record @c, and return whether all of its contents are such
 * records (record.h: of the chunk's function, no chunk, exactly
 * orig_len bytes once decompressed).  What does not unpack adds nothing.
 */
static bool chunk_seqs(Gen *g, const PredlogRecordView *c, GArray *seqs)
{
    uint32_t len = c->hdr.orig_len;
    g_autofree uint8_t *buf = NULL;
    const uint8_t *raw = c->payload;
    g_autoptr(GArray) got = g_array_new(false, false, sizeof(uint64_t));
    size_t pos = 0;

    if (c->hdr.aux == PREDLOG_CHUNK_CODEC_ZSTD) {
        size_t n;

        buf = g_malloc(MAX(len, 1));
        n = ZSTD_decompress(buf, len, c->payload, c->hdr.stored_len);
        if (ZSTD_isError(n) || n != len) {
            return false;
        }
        raw = buf;
    } else if (c->hdr.aux != PREDLOG_CHUNK_CODEC_NONE ||
               c->hdr.stored_len != len) {
        return false;
    }
    while (pos < len) {
        PredlogRecordView v;

        if (predlog_record_decode(raw + pos, len - pos, pool_salt(g), &v) !=
            PREDLOG_RECORD_VALID || v.hdr.func_id != c->hdr.func_id ||
            v.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            g_array_append_vals(seqs, got->data, got->len);
            return false;
        }
        g_array_append_val(got, v.hdr.seq);
        pos += v.size;
    }
    g_array_append_vals(seqs, got->data, got->len);
    return true;
}

/*
 * Survey the data area: per function the seqs of the VALID records found
 * outside chunks (fast tier, given-up buffers, strays) and inside VALID
 * chunks (cold tier), and the chunks found.  Only the record codec and
 * libzstd are used, not the reader under test.
 */
static void survey(Gen *g)
{
    uint64_t data_off = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    uint64_t len = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    const uint8_t *area = g->base + data_off;
    unsigned n = predlog_recorder_n_functions(g->rec);
    uint64_t pos = 0;

    while (pos < len) {
        PredlogRecordView v;
        unsigned id;

        if (predlog_record_decode(area + pos, len - pos, pool_salt(g), &v) !=
            PREDLOG_RECORD_VALID) {
            pos = predlog_record_resync(area, len, pos + 1, pool_salt(g), &v);
            if (pos >= len) {
                break;
            }
        }
        pos += v.size;
        id = v.hdr.func_id;
        if (id >= n) {
            continue;
        }
        if (v.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            g->chunks_found++;
            if (!chunk_seqs(g, &v, g->found[id].cold)) {
                g->bad_chunks_found++;
            }
        } else {
            g_array_append_val(g->found[id].fast, v.hdr.seq);
        }
    }
}

/*
 * Flip one byte in the middle of the compressed payload of @id's oldest
 * chunk (the one with the lowest seq), so that it decodes OVERWRITTEN;
 * its records that are nowhere else are lost.
 */
static void damage_oldest_chunk(Gen *g, int id)
{
    uint64_t data_off = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    uint64_t len = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    uint8_t *area = g->base + data_off;
    g_autoptr(GArray) inside = g_array_new(false, false, sizeof(uint64_t));
    uint64_t pos = 0, best = UINT64_MAX, best_seq = UINT64_MAX;
    PredlogRecordView v;

    while (pos < len) {
        if (predlog_record_decode(area + pos, len - pos, pool_salt(g), &v) !=
            PREDLOG_RECORD_VALID) {
            pos = predlog_record_resync(area, len, pos + 1, pool_salt(g), &v);
            if (pos >= len) {
                break;
            }
        }
        if (v.hdr.type == PREDLOG_RECORD_TYPE_CHUNK &&
            v.hdr.func_id == id && v.hdr.seq < best_seq &&
            v.hdr.aux == PREDLOG_CHUNK_CODEC_ZSTD) {
            best = pos;
            best_seq = v.hdr.seq;
        }
        pos += v.size;
    }
    if (best == UINT64_MAX ||
        predlog_record_decode(area + best, len - best, pool_salt(g), &v) !=
        PREDLOG_RECORD_VALID || !chunk_seqs(g, &v, inside)) {
        die("no compressed chunk to damage");
    }
    area[best + PREDLOG_RECORD_HDR_LEN + v.hdr.stored_len / 2] ^= 0x5a;
    if (predlog_record_decode(area + best, len - best, pool_salt(g), &v) ==
        PREDLOG_RECORD_VALID) {
        die("the damaged chunk still decodes VALID");
    }
    g->damaged_chunks++;

    /* Lost: what no other place holds (surveyed after the damage) */
    survey(g);
    for (guint i = 0; i < inside->len; i++) {
        uint64_t seq = g_array_index(inside, uint64_t, i);
        bool elsewhere = false;
        const GArray *sets[] = { g->found[id].fast, g->found[id].cold };

        for (unsigned k = 0; k < G_N_ELEMENTS(sets) && !elsewhere; k++) {
            for (guint j = 0; j < sets[k]->len && !elsewhere; j++) {
                elsewhere = g_array_index(sets[k], uint64_t, j) == seq;
            }
        }
        if (!elsewhere) {
            g_array_append_val(g->lost[id], seq);
        }
    }
    if (!g->lost[id]->len) {
        die("the damaged chunk lost nothing: its records are elsewhere too");
    }
    /* main() surveys again for the final image */
    g->chunks_found = g->bad_chunks_found = 0;
    for (unsigned i = 0; i < predlog_recorder_n_functions(g->rec); i++) {
        g_array_set_size(g->found[i].fast, 0);
        g_array_set_size(g->found[i].cold, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

/* g->cfg.compression and .cold_segment may be set before */
static void new_pool(Gen *g, PredlogPolicy policy, uint32_t max_functions,
                     uint64_t size, uint64_t buffer_size, const char *name)
{
    g_autoptr(GError) err = NULL;

    g->size = size;
    g->base = g_malloc0(size);
    g->cfg.policy = policy;
    g->cfg.max_functions = max_functions;
    g->cfg.buffer_size = buffer_size;
    g->cfg.created_ns = BASE_NS - 3600ull * 1000000000ull + 123456789;
    g->cfg.name = name;
    g->rec = predlog_recorder_new(g->base, size, &g->cfg, &err);
    if (!g->rec) {
        die(err->message);
    }
}

static void scenario_mixed(Gen *g)
{
    static const char text_escapes[] =
        "say \"hi\" \\ path C:\\tmp\n\ttab \x01 ctl \x7f del";
    static const char text_utf8[] = "temp\xc3\xa9rature \xc3\xa9lev\xc3\xa9"
                                    "e \xe2\x9c\x93 \xf0\x9f\x94\xa5";
    static const uint8_t binary[] = { 0xde, 0xad, 0x00, 0xbe, 0xef, 0x00 };
    static const uint8_t bad_utf8[] = { 'o', 'k', 0xff, 0xfe, 'x' };
    static const uint8_t one_byte[1] = { 0x42 };
    char long_text[500];
    uint64_t t = BASE_NS + 1000;
    int net0, drive0, glog, netslash, netunder, forged;
    uint32_t len;
    uint8_t *f;

    new_pool(g, PREDLOG_POLICY_DYNAMIC, 9, 1024 * 1024, 64 * 1024,
             "predlog0");
    net0 = add_function(g, PREDLOG_FUNCTION_NET, "net0");
    drive0 = add_function(g, PREDLOG_FUNCTION_BLOCK, "drive0");
    glog = add_function(g, PREDLOG_FUNCTION_GUEST, "guest-log");
    netslash = add_function(g, PREDLOG_FUNCTION_NET, "net/1 (tap)");
    netunder = add_function(g, PREDLOG_FUNCTION_NET, "net_1__tap_");
    add_function(g, PREDLOG_FUNCTION_NET, "idle");
    add_function(g, PREDLOG_FUNCTION_NET, ".hidden");
    forged = add_function(g, PREDLOG_FUNCTION_NET, "forged");

    f = arp_frame(true, &len);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 1000, f, len, len,
            true);
    f = arp_frame(false, &len);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 1000, f, len, len,
            false);
    log_block(g, drive0, PREDLOG_BLOCK_READ, t += 777, 0, 512, 0, 0, 512,
              UINT32_MAX);
    /* Same timestamp in two functions: ordered by function id. */
    log_guest(g, glog, 6, t, "boot ok", 7, UINT32_MAX);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t, udp_frame(60, 1, true),
            60, 60, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 1, udp_frame(128, 2,
            false), 128, 128, false);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 1, udp_frame(1514, 3,
            true), 1514, 1514, true);
    /* Cut frames: the pcap keeps the original lengths. */
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 5000,
            udp_frame(1514, 4, false), 1514, 128, false);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 5000,
            udp_frame(9014, 5, true), 9014, 256, true);
    /* An entry's own level HEADER caps a FULL function's */
    log_net(g, net0, PREDLOG_RECORD_LEVEL_HEADER, t += 5000,
            udp_frame(1000, 6, true), 1000, 42, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 5000,
            udp_frame(42, 7, false), 42, 42, false);

    /* The function at HEADER: the recorder keeps 128 bytes of a frame */
    set_level(g, net0, PREDLOG_RECORD_LEVEL_HEADER);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(1514, 20, true), 1514, UINT32_MAX, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(60, 21, false), 60, UINT32_MAX, false);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(128, 22, false), 128, UINT32_MAX, false);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(400, 23, true), 400, 100, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(9014, 24, true), 9014, UINT32_MAX, true);

    /*
     * The function at SUMMARY: frames are only counted, and a tick or
     * the next level change writes one SUMMARY record for them.
     */
    set_level(g, net0, PREDLOG_RECORD_LEVEL_SUMMARY);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(42, 30, false), 42, UINT32_MAX, false);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(1514, 31, true), 1514, UINT32_MAX, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(70000, 32, true), 70000, UINT32_MAX, true);
    log_record(g, net0, PREDLOG_RECORD_TYPE_NET_PACKET,
               PREDLOG_RECORD_LEVEL_FULL, PREDLOG_NET_TO_GUEST, t += 100,
               one_byte, 1, UINT32_MAX);
    log_record(g, net0, PREDLOG_RECORD_TYPE_NET_PACKET,
               PREDLOG_RECORD_LEVEL_FULL, PREDLOG_NET_TO_GUEST, t += 100,
               NULL, 0, UINT32_MAX);
    /*
     * Backwards, and last: the summary's last_ts is then before its
     * first_ts (they are the first and last record's, not the extremes)
     */
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t - 450,
            udp_frame(300, 33, true), 300, UINT32_MAX, true);
    tick(g);
    /* A summary of one record */
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(61, 34, true), 61, UINT32_MAX, true);
    tick(g);
    tick(g);                    /* nothing pending: no record */
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(64, 35, false), 64, UINT32_MAX, false);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 100,
            udp_frame(65, 36, false), 65, UINT32_MAX, false);
    set_level(g, net0, PREDLOG_RECORD_LEVEL_FULL);

    /* A timestamp that went backwards: output is in timestamp order. */
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t - 12000,
            udp_frame(300, 8, true), 300, 300, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(61, 9, true), 61, 61, true);

    log_block(g, drive0, PREDLOG_BLOCK_WRITE, t += 333, 4096, 4096, 0, 0,
              4096, PREDLOG_BLOCK_EVENT_LEN + 512);
    log_block(g, drive0, PREDLOG_BLOCK_FLUSH, t += 333, 0, 0, 0, 0, 0,
              UINT32_MAX);
    log_block(g, drive0, PREDLOG_BLOCK_DISCARD, t += 333, 1ull << 40,
              1 << 20, 0, 0, 0, UINT32_MAX);
    log_block(g, drive0, PREDLOG_BLOCK_WRITE_ZEROES, t += 333, 8192, 65536,
              0, 0x4, 0, UINT32_MAX);
    log_block(g, drive0, PREDLOG_BLOCK_READ, t += 333, 1536, 512, -5, 0, 0,
              UINT32_MAX);
    log_block(g, drive0, PREDLOG_BLOCK_WRITE, t += 333, 0x7fffffff000ull,
              512, 0, 0x10, 512, UINT32_MAX);
    log_block(g, drive0, PREDLOG_BLOCK_WRITE, t += 333, 0x10000, 2048, 0,
              0, 2048, PREDLOG_BLOCK_EVENT_LEN);
    /* The event itself cut */
    log_block(g, drive0, PREDLOG_BLOCK_READ, t += 333, 512, 512, 0, 0, 0,
              16);
    /* At HEADER the recorder keeps the event, not the data */
    set_level(g, drive0, PREDLOG_RECORD_LEVEL_HEADER);
    log_block(g, drive0, PREDLOG_BLOCK_WRITE, t += 333, 0x20000, 4096, 0,
              0, 4096, UINT32_MAX);
    log_block(g, drive0, PREDLOG_BLOCK_READ, t += 333, 0x30000, 512, 0, 0,
              0, UINT32_MAX);
    set_level(g, drive0, PREDLOG_RECORD_LEVEL_FULL);

    log_guest(g, glog, 4, t += 1000, text_escapes, strlen(text_escapes),
              UINT32_MAX);
    log_guest(g, glog, 3, t += 1000, text_utf8, strlen(text_utf8),
              UINT32_MAX);
    log_guest(g, glog, 7, t += 1000, binary, sizeof(binary), UINT32_MAX);
    log_guest(g, glog, 0, t += 1000, bad_utf8, sizeof(bad_utf8),
              UINT32_MAX);
    log_guest(g, glog, 5, t += 1000, "", 0, UINT32_MAX);
    for (size_t i = 0; i < sizeof(long_text); i++) {
        long_text[i] = 'a' + i % 26;
    }
    log_guest(g, glog, 1, t += 1000, long_text, sizeof(long_text),
              PREDLOG_GUEST_PREFIX_LEN + 100);
    log_guest(g, glog, 2, t += 1000, "cut here", 8, 4);
    /* HEADER: the guest timestamp and 56 bytes of text */
    set_level(g, glog, PREDLOG_RECORD_LEVEL_HEADER);
    log_guest(g, glog, 6, t += 1000, long_text, sizeof(long_text),
              UINT32_MAX);
    log_guest(g, glog, 6, t += 1000, "short", 5, UINT32_MAX);
    /* SUMMARY: severities counted, 12 (not a syslog one) in slot 0 */
    set_level(g, glog, PREDLOG_RECORD_LEVEL_SUMMARY);
    log_guest(g, glog, 6, t += 1000, "counted", 7, UINT32_MAX);
    log_guest(g, glog, 12, t += 1000, long_text, sizeof(long_text),
              UINT32_MAX);
    log_guest(g, glog, 3, t += 1000, "counted too", 11, UINT32_MAX);
    log_guest(g, glog, 6, t += 1000, "", 0, UINT32_MAX);
    set_level(g, glog, PREDLOG_RECORD_LEVEL_FULL);
    log_guest(g, glog, 6, t += 1000, "back to full", 12, UINT32_MAX);

    log_net(g, netslash, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(100, 10, true), 100, 100, true);
    log_net(g, netunder, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(200, 11, false), 200, 200, false);
    log_net(g, netslash, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(101, 12, true), 101, 101, true);

    /*
     * netunder goes to SUMMARY and counts two frames that no tick writes
     * before the crash: they are lost, as recorder.h says, and leave no
     * trace in the pool (the directory shows the level only).
     */
    set_level(g, netunder, PREDLOG_RECORD_LEVEL_SUMMARY);
    log_net(g, netunder, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(200, 13, false), 200, 200, false);
    log_net(g, netunder, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(300, 14, true), 300, 300, true);

    /* The guest's next message was being written when QEMU died. */
    {
        uint32_t n;
        g_autofree uint8_t *p = guest_msg(99, "never sealed", 12, &n);

        leave_torn(g, glog, PREDLOG_RECORD_TYPE_GUEST, 6, t + 1000, p, n,
                   10);
    }
    /* Slots 0-7 are used, 8 is not */
    add_strays(g, 8, net0, 3);
    forge_summaries(g, forged, t + 2000);
}

static void scenario_wrapped(Gen *g)
{
    uint64_t t = BASE_NS + 50000;
    int wan, con;

    /* Two slots of 32 KiB */
    new_pool(g, PREDLOG_POLICY_FIXED, 2, 8192 + 2 * 32768, 0, "fixed-pool");
    wan = add_function(g, PREDLOG_FUNCTION_NET, "wan0");
    con = add_function(g, PREDLOG_FUNCTION_GUEST, "console");

    for (uint32_t i = 0; i < 300; i++) {
        uint32_t len = 60 + (i * 397) % 1455;
        uint32_t max = i % 5 == 0 ? 96 : len;

        /* A stretch at HEADER: smaller records in the laps */
        if (i == 120) {
            set_level(g, wan, PREDLOG_RECORD_LEVEL_HEADER);
        } else if (i == 200) {
            set_level(g, wan, PREDLOG_RECORD_LEVEL_FULL);
        }
        log_net(g, wan, PREDLOG_RECORD_LEVEL_FULL, t += 1000 + i % 3,
                udp_frame(len, i, i % 2), len, max, i % 2);
        if (i % 50 == 0) {
            char msg[32];
            int n = snprintf(msg, sizeof(msg), "tick %u", i);

            log_guest(g, con, 6, t, msg, n, UINT32_MAX);
        }
    }
    {
        g_autofree uint8_t *f = udp_frame(200, 999, true);

        leave_torn(g, wan, PREDLOG_RECORD_TYPE_NET_PACKET,
                   PREDLOG_NET_FROM_GUEST, t + 1000, f, 200, 20);
    }
}

static void scenario_dynamic(Gen *g)
{
    uint64_t t = BASE_NS + 90000;
    int eth, vda, kmsg;

    new_pool(g, PREDLOG_POLICY_DYNAMIC, 4, 8192 + 6 * 16384, 16384,
             "dynamic-pool");
    eth = add_function(g, PREDLOG_FUNCTION_NET, "eth0");
    vda = add_function(g, PREDLOG_FUNCTION_BLOCK, "vda");
    kmsg = add_function(g, PREDLOG_FUNCTION_GUEST, "kmsg");

    for (uint32_t i = 0; i < 400; i++) {
        uint32_t len = 60 + (i * 211) % 1000;
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "kernel message number %u", i);

        log_net(g, eth, PREDLOG_RECORD_LEVEL_FULL, t += 100,
                udp_frame(len, i, true), len, len, true);
        if (i % 2) {
            log_block(g, vda, i % 4 == 1 ? PREDLOG_BLOCK_READ
                                         : PREDLOG_BLOCK_WRITE,
                      t += 100, 512ull * i, 512, 0, 0, 256 * (i % 3),
                      UINT32_MAX);
        }
        if (i % 3 == 0) {
            log_guest(g, kmsg, i % 8, t += 100, msg, n, UINT32_MAX);
        }
    }
}

static void scenario_empty(Gen *g)
{
    new_pool(g, PREDLOG_POLICY_DYNAMIC, 4, 256 * 1024, 16384, NULL);
    add_function(g, PREDLOG_FUNCTION_NET, "net0");
    add_function(g, PREDLOG_FUNCTION_BLOCK, "vdb");
}

/* A frame of @len bytes whose payload zstd cannot shrink much */
static uint8_t *noisy_frame(uint32_t len, uint32_t salt, GRand *rnd)
{
    uint8_t *f = udp_frame(len, salt, true);

    for (uint32_t i = 42; i < len; i++) {
        f[i] = g_rand_int(rnd);
    }
    return f;
}

/*
 * Active buffers of 16 KiB that lap many times, cold segments of 16 KiB;
 * everything fits in the pool, so nothing is evicted.  With @damage, the
 * oldest chunk of "uplink" is damaged and chunks are forged.
 */
static void tiered(Gen *g, bool damage)
{
    g_autoptr(GRand) rnd = g_rand_new_with_seed(20261121);
    uint64_t t = BASE_NS + 200000;
    int uplink, disk, con, chatty, forged = -1;

    g->cfg.compression = PREDLOG_COMPRESSION_ZSTD;
    g->cfg.cold_segment = 16384;
    new_pool(g, PREDLOG_POLICY_DYNAMIC, 6, 4 * 1024 * 1024, 16384,
             damage ? "damaged-pool" : "tiered-pool");
    uplink = add_function(g, PREDLOG_FUNCTION_NET, "uplink");
    disk = add_function(g, PREDLOG_FUNCTION_BLOCK, "disk");
    con = add_function(g, PREDLOG_FUNCTION_GUEST, "console");
    /* Past its 48 KiB cold budget, but the pool has room: it keeps all */
    chatty = add_function(g, PREDLOG_FUNCTION_NET, "chatty");
    predlog_recorder_set_cold_budget(g->rec, chatty, 48 * 1024);
    if (damage) {
        forged = add_function(g, PREDLOG_FUNCTION_GUEST, "forged");
    }

    for (uint32_t i = 0; i < 600; i++) {
        uint32_t len = 60 + (i * 397) % 1455;
        char msg[96];
        int n;

        switch (i) {
        case 150:
            set_level(g, uplink, PREDLOG_RECORD_LEVEL_HEADER);
            set_level(g, con, PREDLOG_RECORD_LEVEL_SUMMARY);
            break;
        case 250:
            set_level(g, uplink, PREDLOG_RECORD_LEVEL_SUMMARY);
            break;
        case 330:
            set_level(g, uplink, PREDLOG_RECORD_LEVEL_FULL);
            set_level(g, disk, PREDLOG_RECORD_LEVEL_HEADER);
            break;
        case 400:
            set_level(g, disk, PREDLOG_RECORD_LEVEL_FULL);
            /* Resized: its records age, the old buffer is given up */
            predlog_recorder_set_buffer_size(g->rec, uplink, 32768);
            g->now += 1000;
            if (!predlog_recorder_resize_now(g->rec, uplink, g->now)) {
                die("cannot resize uplink's buffer");
            }
            break;
        case 500:
            set_level(g, con, PREDLOG_RECORD_LEVEL_FULL);
            break;
        }
        if (i % 10 == 0) {
            tick(g);
        }

        log_net(g, uplink, PREDLOG_RECORD_LEVEL_FULL, t += 1000,
                udp_frame(len, i, i % 2), len, UINT32_MAX, i % 2);
        if (i % 2) {
            log_block(g, disk, i % 4 == 1 ? PREDLOG_BLOCK_READ
                                          : PREDLOG_BLOCK_WRITE,
                      t += 10, 4096ull * i, 4096, 0, 0, 512 * (i % 3),
                      UINT32_MAX);
        }
        if (i % 3 == 0) {
            n = snprintf(msg, sizeof(msg), "console line %u of the tiered "
                         "test", i);
            log_guest(g, con, i % 8, t += 10, msg, n, UINT32_MAX);
        }
        log_net(g, chatty, PREDLOG_RECORD_LEVEL_FULL, t += 10,
                noisy_frame(300 + i % 700, i, rnd), 300 + i % 700,
                UINT32_MAX, true);
    }
    tick(g);
    {
        g_autofree uint8_t *f = udp_frame(1000, 9999, true);

        leave_torn(g, uplink, PREDLOG_RECORD_TYPE_NET_PACKET,
                   PREDLOG_NET_FROM_GUEST, t + 1000, f, 1000, 100);
    }
    if (damage) {
        damage_oldest_chunk(g, uplink);
        forge_chunks(g, forged, con, t + 5000);
    }
}

static void scenario_tiered(Gen *g)
{
    tiered(g, false);
}

static void scenario_damaged(Gen *g)
{
    tiered(g, true);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void json_str(GString *s, const char *str)
{
    g_string_append_c(s, '"');
    for (const char *p = str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            g_string_append_c(s, '\\');
        }
        if ((unsigned char)*p < 0x20) {
            g_string_append_printf(s, "\\u%04x", *p);
        } else {
            g_string_append_c(s, *p);
        }
    }
    g_string_append_c(s, '"');
}

static void json_hex(GString *s, const uint8_t *p, size_t len)
{
    g_string_append_c(s, '"');
    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(s, "%02x", p[i]);
    }
    g_string_append_c(s, '"');
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* "key":[sorted distinct seqs] */
static void json_seqs(GString *s, const char *key, GArray *seqs)
{
    g_array_sort(seqs, cmp_u64);
    g_string_append_printf(s, ",\"%s\":[", key);
    for (guint i = 0; i < seqs->len; i++) {
        uint64_t v = g_array_index(seqs, uint64_t, i);

        if (i && v == g_array_index(seqs, uint64_t, i - 1)) {
            continue;
        }
        g_string_append_printf(s, "%s%" PRIu64, i ? "," : "", v);
    }
    g_string_append_c(s, ']');
}

/* What a SUMMARY record counts: seq, type, aux, ts_ns, orig_len each */
static void json_counted(GString *s, const GArray *l)
{
    g_string_append_c(s, '[');
    for (guint i = 0; i < l->len; i++) {
        const Logged *r = &g_array_index(l, Logged, i);

        g_string_append_printf(s, "%s{\"seq\":%" PRIu64 ",\"type\":%d,"
                               "\"aux\":%u,\"ts_ns\":%" PRIu64
                               ",\"orig_len\":%u}", i ? "," : "", r->seq,
                               r->type, r->aux, r->ts_ns, r->orig_len);
    }
    g_string_append_c(s, ']');
}

/*
 * The oracle, one JSON object:
 *
 *   pool        name, policy, size, created_ns, compression
 *   orphaned, duplicates   stray records written by hand
 *   damaged_chunks         chunks made not VALID
 *   forged_chunks          CHUNK records written by hand
 *   chunks_found, bad_chunks_found   VALID CHUNK records of known
 *               functions in the final image, and those of them that do
 *               not unpack fully (surveyed with the codec and libzstd)
 *   evictions   buffers the allocator evicted
 *   functions   per function: id, kind (number), name, level (number,
 *               the last one set), the recorder's buffer_size, buffers,
 *               wraps, dropped, chunks (written), lost_laps, cold_budget;
 *               torn (null or seq, buf_pos, written, size);
 *               records: every committed record in the order written
 *               (seq, type, level, aux, ts_ns, orig_len, stored_len, size
 *               on the pool, and payload_hex, or for a summary the
 *               recorder wrote "summarised": the records it counts);
 *               "summary_invalid":true on a forged summary that must not
 *               decode; pending: records counted into a summary no tick
 *               wrote (lost at the crash); lost: seqs of records that are
 *               committed nowhere any more (a damaged or forged chunk);
 *               fast_seqs, cold_seqs: seqs found outside and inside
 *               chunks
 */
static void print_logged(Gen *g)
{
    g_autoptr(GString) s = g_string_new("{\"pool\":{\"name\":");
    unsigned n = predlog_recorder_n_functions(g->rec);
    PredlogRecorderStats rst;

    predlog_recorder_get_stats(g->rec, &rst);
    json_str(s, g->cfg.name ? g->cfg.name : "");
    g_string_append_printf(s, ",\"policy\":\"%s\",\"size\":%" PRIu64
                           ",\"created_ns\":%" PRIu64 ",\"compression\":"
                           "\"%s\"},\"orphaned\":%" PRIu64
                           ",\"duplicates\":%" PRIu64
                           ",\"damaged_chunks\":%" PRIu64
                           ",\"forged_chunks\":%" PRIu64
                           ",\"chunks_found\":%" PRIu64
                           ",\"bad_chunks_found\":%" PRIu64
                           ",\"evictions\":%" PRIu64 ",\"functions\":[",
                           predlog_policy_str(g->cfg.policy), g->size,
                           g->cfg.created_ns,
                           predlog_compression_str(rst.compression),
                           g->orphaned, g->duplicates, g->damaged_chunks,
                           g->forged_chunks,
                           g->chunks_found, g->bad_chunks_found,
                           rst.evictions);
    for (unsigned id = 0; id < n; id++) {
        PredlogFunctionStats st;
        GArray *l = g->logged[id];
        const Torn *torn = &g->torn[id];

        predlog_recorder_get_function_stats(g->rec, id, &st);
        g_string_append_printf(s, "%s{\"id\":%u,\"kind\":%d,\"name\":",
                               id ? "," : "", id, st.kind);
        json_str(s, st.name);
        g_string_append_printf(s, ",\"level\":%d,\"buffer_size\":%" PRIu64
                               ",\"buffers\":%u,\"wraps\":%" PRIu64
                               ",\"dropped\":%" PRIu64 ",\"chunks\":%"
                               PRIu64 ",\"lost_laps\":%" PRIu64
                               ",\"cold_budget\":%" PRIu64 ",\"torn\":",
                               g->level[id], st.buffer_size, st.buffers,
                               st.wraps, st.dropped, st.chunks,
                               st.lost_laps, st.cold_budget);
        if (st.level != g->level[id]) {
            die("the recorder's level is not the one set");
        }
        if (torn->present) {
            g_string_append_printf(s, "{\"seq\":%" PRIu64 ",\"buf_pos\":%"
                                   PRIu64 ",\"written\":%" PRIu64
                                   ",\"size\":%" PRIu64 "}",
                                   torn->seq, torn->buf_pos, torn->written,
                                   torn->size);
        } else {
            g_string_append(s, "null");
        }
        g_string_append(s, ",\"records\":[");
        for (guint i = 0; i < l->len; i++) {
            const Logged *r = &g_array_index(l, Logged, i);

            g_string_append_printf(s, "%s{\"seq\":%" PRIu64 ",\"type\":%d,"
                                   "\"level\":%d,\"aux\":%u,\"ts_ns\":%"
                                   PRIu64 ",\"orig_len\":%u,"
                                   "\"stored_len\":%u,\"size\":%zu",
                                   i ? "," : "", r->seq, r->type, r->level,
                                   r->aux, r->ts_ns, r->orig_len,
                                   r->stored_len,
                                   predlog_record_size(r->stored_len));
            if (r->payload) {
                g_string_append(s, ",\"payload_hex\":");
                json_hex(s, r->payload->data, r->payload->len);
            }
            if (r->summarised) {
                g_string_append(s, ",\"summarised\":");
                json_counted(s, r->summarised);
            }
            if (r->summary_invalid) {
                g_string_append(s, ",\"summary_invalid\":true");
            }
            g_string_append_c(s, '}');
        }
        g_string_append(s, "],\"pending\":");
        json_counted(s, g->pending[id]);
        json_seqs(s, "lost", g->lost[id]);
        json_seqs(s, "fast_seqs", g->found[id].fast);
        json_seqs(s, "cold_seqs", g->found[id].cold);
        g_string_append_c(s, '}');
    }
    g_string_append(s, "]}\n");
    fputs(s->str, stdout);
}

static void free_logged(GArray *l)
{
    for (guint j = 0; j < l->len; j++) {
        Logged *r = &g_array_index(l, Logged, j);

        if (r->payload) {
            g_byte_array_unref(r->payload);
        }
        if (r->summarised) {
            free_logged(r->summarised);
        }
    }
    g_array_free(l, true);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(Gen *g);
    } scenarios[] = {
        { "mixed", scenario_mixed },
        { "wrapped", scenario_wrapped },
        { "dynamic", scenario_dynamic },
        { "empty", scenario_empty },
        { "tiered", scenario_tiered },
        { "damaged", scenario_damaged },
    };
    g_autoptr(GError) err = NULL;
    static Gen g;
    unsigned i;

    if (argc != 3) {
        die("usage: make-test-pool mixed|wrapped|dynamic|empty|tiered|"
            "damaged POOL-FILE");
    }
    for (i = 0; i < G_N_ELEMENTS(scenarios); i++) {
        if (!strcmp(argv[1], scenarios[i].name)) {
            break;
        }
    }
    if (i == G_N_ELEMENTS(scenarios)) {
        die("unknown scenario");
    }
    scenarios[i].fn(&g);
    survey(&g);

    if (!g_file_set_contents(argv[2], (const char *)g.base, g.size, &err)) {
        die(err->message);
    }
    print_logged(&g);

    for (unsigned id = 0; id < G_N_ELEMENTS(g.logged); id++) {
        if (g.logged[id]) {
            free_logged(g.logged[id]);
            free_logged(g.pending[id]);
            g_array_free(g.lost[id], true);
            g_array_free(g.found[id].fast, true);
            g_array_free(g.found[id].cold, true);
        }
    }
    predlog_recorder_free(g.rec);
    g_free(g.base);
    return 0;
}
