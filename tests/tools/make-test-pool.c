/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * make-test-pool: write predlog pool files of known content for the tests
 * of predlog-recover
 *
 *   make-test-pool SCENARIO POOL-FILE
 *
 * Formats a pool in memory with the recorder (hw/predlog/recorder.h), logs
 * the records of SCENARIO, possibly leaves a torn record at a function's
 * write head (as a writer killed after its header, before its seal, would),
 * writes the image to POOL-FILE and prints on stdout, as one JSON object,
 * everything it logged: per function the records with their sequence
 * numbers, header fields, payload bytes (hex) and on-pool sizes, and the
 * recorder's buffer size and wrap count, so that the test can tell what
 * predlog-recover must return.  The directory is read back by hand from
 * the layout recorder.h documents, not through recovery.h, so that this
 * oracle does not depend on the reader under test.
 *
 * Scenarios:
 *   mixed    DYNAMIC, nothing lost: net frames (UDP, ARP, cut, header-only,
 *            digest), block events with and without data, guest text and
 *            binary messages, a summary record, names that need
 *            sanitising and clash, idle net functions, a torn final
 *            guest record, and in free space an orphaned record (unknown
 *            function id) and a duplicate of a committed one
 *   wrapped  FIXED, a net function that wrapped its buffer many times and
 *            a torn record at its write head over the oldest records
 *   dynamic  DYNAMIC with small buffers: functions move to new buffers and
 *            evict each other's old ones
 *   empty    functions that never logged, an unnamed pool
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "hw/predlog/record.h"
#include "hw/predlog/recorder.h"

/* 2026-11-21T10:00:00Z */
#define BASE_NS (1795255200ull * 1000000000ull)

typedef struct Logged {
    uint64_t seq;
    PredlogRecordType type;
    PredlogRecordLevel level;
    uint32_t aux;
    uint64_t ts_ns;
    uint32_t orig_len;
    uint32_t stored_len;
    GByteArray *payload;        /* stored bytes */
} Logged;

typedef struct Torn {
    bool present;
    uint64_t seq;
    uint64_t buf_pos;           /* in the active buffer */
    uint64_t written;           /* bytes actually stored from buf_pos */
    uint64_t size;              /* what the record would have occupied */
} Torn;

typedef struct Gen {
    uint8_t *base;
    uint64_t size;
    PredlogRecorder *rec;
    PredlogRecorderConfig cfg;
    GArray *logged[PREDLOG_RECORDER_MAX_FUNCTIONS];
    Torn torn[PREDLOG_RECORDER_MAX_FUNCTIONS];
    uint64_t now;               /* monotonic clock for the recorder */
    uint64_t orphaned;          /* stray records written by hand */
    uint64_t duplicates;
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
    return id;
}

/*
 * Log one record whose whole payload is @data/@len, storing at most
 * @max_stored bytes of it; the entry is recorded as logged if the
 * recorder accepted it.
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
    PredlogLogResult res;
    Logged l = { 0 };

    g->now += 1000;
    res = predlog_recorder_log(g->rec, id, &e, g->now, &l.seq);
    if (res == PREDLOG_LOG_DROPPED) {
        return false;
    }
    if (res != PREDLOG_LOG_OK) {
        die("the recorder refused an entry");
    }
    l.type = type;
    l.level = level;
    l.aux = aux;
    l.ts_ns = ts_ns;
    l.orig_len = len;
    l.stored_len = MIN(len, max_stored);
    l.payload = g_byte_array_new();
    g_byte_array_append(l.payload, data, l.stored_len);
    g_array_append_val(g->logged[id], l);
    return true;
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

/* Level HEADER if only the event of a request with data is kept */
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

        if (predlog_record_decode(buf + pos, *buf_size - pos, &v) ==
            PREDLOG_RECORD_VALID) {
            if (v.hdr.func_id == id && v.hdr.seq == seq) {
                *pos_out = pos;
                *size_out = v.size;
                return true;
            }
            pos += v.size;
        } else {
            pos = predlog_record_resync(buf, *buf_size, pos + 8, &v);
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
 * Committed records outside every buffer, in free space at the end of the
 * data area: one of a function id the directory does not name (orphaned)
 * and a copy of record @dup_seq of @dup_id (a duplicate).  Neither may
 * show up in the output.
 */
static void add_strays(Gen *g, int orphan_id, int dup_id, uint64_t dup_seq)
{
    uint64_t data_end = ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_OFFSET) +
                        ld64le(g->base + PREDLOG_POOL_SB_OFF_DATA_SIZE);
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
    uint64_t pos, size, off, bsize;
    PredlogRecorderStats st;

    predlog_recorder_get_stats(g->rec, &st);
    if (st.used > data_end / 2 ||
        !find_record(g, dup_id, dup_seq, &pos, &size, &off, &bsize)) {
        die("no room for stray records");
    }
    if (!predlog_record_encode(g->base + data_end - 8192, 4096, &hdr,
                               text)) {
        die("cannot encode the orphan");
    }
    memcpy(g->base + data_end - 4096, g->base + off + pos, size);
    g->orphaned++;
    g->duplicates++;
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
    if (!predlog_record_begin(&w, g->base + off + head, size - head, &hdr) ||
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
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

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
    static const uint8_t digest[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    static const uint8_t summary[24] = { 0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 7 };
    char long_text[500];
    uint64_t t = BASE_NS + 1000;
    int net0, drive0, glog, netslash, netunder;
    uint32_t len;
    uint8_t *f;

    new_pool(g, PREDLOG_POLICY_DYNAMIC, 8, 1024 * 1024, 64 * 1024,
             "predlog0");
    net0 = add_function(g, PREDLOG_FUNCTION_NET, "net0");
    drive0 = add_function(g, PREDLOG_FUNCTION_BLOCK, "drive0");
    glog = add_function(g, PREDLOG_FUNCTION_GUEST, "guest-log");
    netslash = add_function(g, PREDLOG_FUNCTION_NET, "net/1 (tap)");
    netunder = add_function(g, PREDLOG_FUNCTION_NET, "net_1__tap_");
    add_function(g, PREDLOG_FUNCTION_NET, "idle");
    add_function(g, PREDLOG_FUNCTION_NET, ".hidden");

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
    log_net(g, net0, PREDLOG_RECORD_LEVEL_HEADER, t += 5000,
            udp_frame(1000, 6, true), 1000, 42, true);
    log_net(g, net0, PREDLOG_RECORD_LEVEL_FULL, t += 5000,
            udp_frame(42, 7, false), 42, 42, false);
    /* A digest and a summary record: opaque, to records.jsonl */
    log_record(g, net0, PREDLOG_RECORD_TYPE_NET_PACKET,
               PREDLOG_RECORD_LEVEL_SUMMARY, PREDLOG_NET_FROM_GUEST,
               t += 100, digest, sizeof(digest), sizeof(digest));
    log_record(g, net0, PREDLOG_RECORD_TYPE_SUMMARY,
               PREDLOG_RECORD_LEVEL_SUMMARY, PREDLOG_RECORD_TYPE_NET_PACKET,
               t += 100, summary, sizeof(summary), sizeof(summary));
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

    log_net(g, netslash, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(100, 10, true), 100, 100, true);
    log_net(g, netunder, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(200, 11, false), 200, 200, false);
    log_net(g, netslash, PREDLOG_RECORD_LEVEL_FULL, t += 10,
            udp_frame(101, 12, true), 101, 101, true);

    /* The guest's next message was being written when QEMU died. */
    {
        uint32_t n;
        g_autofree uint8_t *p = guest_msg(99, "never sealed", 12, &n);

        leave_torn(g, glog, PREDLOG_RECORD_TYPE_GUEST, 6, t + 1000, p, n,
                   10);
    }
    /* Slots 0-6 are used, 7 is not */
    add_strays(g, 7, net0, 3);
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

static void print_logged(Gen *g)
{
    g_autoptr(GString) s = g_string_new("{\"pool\":{\"name\":");
    unsigned n = predlog_recorder_n_functions(g->rec);

    json_str(s, g->cfg.name ? g->cfg.name : "");
    g_string_append_printf(s, ",\"policy\":\"%s\",\"size\":%" PRIu64
                           ",\"created_ns\":%" PRIu64 "},\"orphaned\":%"
                           PRIu64 ",\"duplicates\":%" PRIu64
                           ",\"functions\":[",
                           g->cfg.policy == PREDLOG_POLICY_FIXED ?
                           "fixed" : "dynamic",
                           g->size, g->cfg.created_ns, g->orphaned,
                           g->duplicates);
    for (unsigned id = 0; id < n; id++) {
        PredlogFunctionStats st;
        GArray *l = g->logged[id];
        const Torn *torn = &g->torn[id];

        predlog_recorder_get_function_stats(g->rec, id, &st);
        g_string_append_printf(s, "%s{\"id\":%u,\"kind\":%d,\"name\":",
                               id ? "," : "", id, st.kind);
        json_str(s, st.name);
        g_string_append_printf(s, ",\"buffer_size\":%" PRIu64
                               ",\"buffers\":%u,\"wraps\":%" PRIu64
                               ",\"dropped\":%" PRIu64 ",\"torn\":",
                               st.buffer_size, st.buffers, st.wraps,
                               st.dropped);
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
                                   "\"stored_len\":%u,\"size\":%zu,"
                                   "\"payload_hex\":",
                                   i ? "," : "", r->seq, r->type, r->level,
                                   r->aux, r->ts_ns, r->orig_len,
                                   r->stored_len,
                                   predlog_record_size(r->stored_len));
            json_hex(s, r->payload->data, r->payload->len);
            g_string_append_c(s, '}');
        }
        g_string_append(s, "]}");
    }
    g_string_append(s, "]}\n");
    fputs(s->str, stdout);
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
    };
    g_autoptr(GError) err = NULL;
    Gen g = { 0 };
    unsigned i;

    if (argc != 3) {
        die("usage: make-test-pool mixed|wrapped|dynamic|empty POOL-FILE");
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

    if (!g_file_set_contents(argv[2], (const char *)g.base, g.size, &err)) {
        die(err->message);
    }
    print_logged(&g);

    for (unsigned id = 0; id < G_N_ELEMENTS(g.logged); id++) {
        if (g.logged[id]) {
            for (guint j = 0; j < g.logged[id]->len; j++) {
                g_byte_array_unref(g_array_index(g.logged[id], Logged,
                                                 j).payload);
            }
            g_array_free(g.logged[id], true);
        }
    }
    predlog_recorder_free(g.rec);
    g_free(g.base);
    return 0;
}
