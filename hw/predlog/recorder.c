/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the flight recorder's record path and on-pool layout
 *
 * Formats a region as recorder.h describes, keeps the function directory
 * in it, hands out per-function buffers from the extent allocator (pool.h)
 * and appends records (record.h) to them.
 *
 * Choices recorder.h leaves open, made here:
 *
 *  - Both policies give a function its first buffer when it logs its
 *    first record, not when it is added: a function that never logs costs
 *    no space, and under DYNAMIC the space it would hold stays usable.
 *    FIXED buffers are allocated without eviction and stay pinned for the
 *    recorder's lifetime, so every slot always finds its place.
 *  - A function's active buffer is pinned in the allocator, so its stamp
 *    does not decide anything while it is active.  It is stamped when it
 *    is given up (with the time of the record that no longer fitted, i.e.
 *    of its last use) and, for tools that list the pool, at most every
 *    PREDLOG_TOUCH_INTERVAL_NS while it is written: the allocator's touch
 *    is a hash lookup and a tree move, too much for every record.
 *  - Under DYNAMIC, if no buffer of the function's buffer size can be
 *    found even with eviction, one just large enough for the record (and
 *    at least PREDLOG_RECORDER_MIN_BUFFER) is tried before the writer
 *    falls back to wrapping in its active buffer.
 *  - Under DYNAMIC, active buffers (which nothing can evict) never take
 *    so much of the data area that less than PREDLOG_RECORDER_MIN_BUFFER
 *    per slot without a buffer yet stays free or evictable: a new buffer
 *    is made smaller than the function's buffer size if needed.  Without
 *    this, a few functions with large buffers would pin the whole area
 *    and a function added later could never log (recorder.h promises
 *    every slot a buffer).  Only fragmentation of what stays evictable
 *    into pieces smaller than PREDLOG_RECORDER_MIN_BUFFER can still
 *    refuse a first buffer; the record is then counted as dropped.
 *  - With DYNAMIC, a buffer_size of 0 in the configuration means the
 *    FIXED slot size; with FIXED, buffer_size is ignored and the
 *    superblock's buffer_size field holds the slot size.
 *  - Directory times (created_ns, updated_ns) are wall-clock (as the
 *    on-pool format says); the now_ns arguments are the caller's
 *    monotonic clock and only order buffers for eviction.
 *  - Entries the format cannot hold (unknown type or level, more stored
 *    than orig_len, more than PREDLOG_RECORD_MAX_PAYLOAD stored) are
 *    refused as PREDLOG_LOG_BAD_ENTRY and not counted as dropped: they are
 *    caller bugs, not lack of space.
 *
 * This file must stay free of QEMU headers: it is compiled into QEMU and
 * into the standalone core.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "pool.h"
#include "record.h"
#include "recorder.h"
#include "byteorder.h"

#define DIR_OFFSET          PREDLOG_POOL_SB_SIZE
#define DIR_ALIGN           4096u
#define PAGE_ROUND(v)       (((v) + DIR_ALIGN - 1) & ~(uint64_t)(DIR_ALIGN - 1))
#define POOL_ROUND_DOWN(v)  ((v) & ~(uint64_t)(PREDLOG_POOL_ALIGN - 1))
#define POOL_ROUND_UP(v)    POOL_ROUND_DOWN((v) + PREDLOG_POOL_ALIGN - 1)

/* How stale the allocator's stamp of an active buffer may get. */
#define PREDLOG_TOUCH_INTERVAL_NS   (10 * 1000 * 1000ull)

G_STATIC_ASSERT(PREDLOG_POOL_SB_OFF_NAME + PREDLOG_POOL_NAME_MAX + 1 <=
                PREDLOG_POOL_SB_OFF_CRC);
G_STATIC_ASSERT(PREDLOG_POOL_DIR_OFF_NAME + PREDLOG_POOL_NAME_MAX + 1 <=
                PREDLOG_POOL_DIR_OFF_CRC);
G_STATIC_ASSERT(PREDLOG_POOL_DIR_OFF_CRC + 4 == PREDLOG_POOL_DIR_ENTRY_SIZE);
/* Data offsets stay aligned for the allocator and the record seals. */
G_STATIC_ASSERT(DIR_ALIGN % PREDLOG_POOL_ALIGN == 0);
G_STATIC_ASSERT(PREDLOG_POOL_ALIGN % PREDLOG_RECORD_ALIGN == 0);
/* Function ids are 16-bit in records and must never be OWNER_NONE. */
G_STATIC_ASSERT(PREDLOG_RECORDER_MAX_FUNCTIONS <= UINT16_MAX);

typedef struct RecBuffer {
    uint64_t offset;
    uint64_t size;
} RecBuffer;

typedef struct RecFunction {
    /* Hot: what the record path reads for every record. */
    uint8_t *buf;               /* active buffer, NULL until the first */
    uint64_t buf_size;
    uint64_t head;              /* next write position in the buffer */
    uint64_t next_seq;
    uint64_t touched_ns;
    PredlogRecordLevel level;
    uint64_t records;
    uint64_t bytes;

    uint64_t buf_offset;        /* region offset of buf */
    uint64_t dropped;
    uint64_t wraps;
    uint64_t buffer_size;       /* DYNAMIC: size of the next buffer */
    GArray *buffers;            /* RecBuffer: every buffer held, active too */
    uint64_t held;              /* bytes of those */
    PredlogFunctionKind kind;
    uint64_t generation;
    unsigned dir_copy;          /* 0 (A) or 1 (B): holds generation */
    uint64_t created_ns;
    char name[PREDLOG_POOL_NAME_MAX + 1];
} RecFunction;

struct PredlogRecorder {
    uint8_t *base;
    uint64_t size;
    PredlogPolicy policy;
    uint32_t max_functions;
    uint64_t data_offset;
    uint64_t data_size;
    uint64_t slot_size;         /* FIXED: the one buffer of every function */
    uint64_t buffer_size;       /* DYNAMIC: default for new functions */
    PredlogPool *pool;
    RecFunction *funcs;         /* max_functions, the first n_functions used */
    unsigned n_functions;
    uint64_t evictions;
    uint64_t pinned;            /* bytes of active buffers */
    uint32_t unborn;            /* slots whose function has no buffer yet */
    bool broken;                /* a failed adopt: log nothing */
};

/*
 * Error domain of the recorder.  recorder.h does not export it: callers
 * only report the message (the device through its errp), so the codes
 * stay private.
 */
#define REC_ERROR (recorder_error_quark())

enum {
    REC_ERROR_INVALID,          /* bad argument or configuration */
    REC_ERROR_NO_SPACE,         /* region too small, directory full */
};

static GQuark recorder_error_quark(void)
{
    return g_quark_from_static_string("predlog-recorder-error-quark");
}

static uint64_t wall_clock_ns(void)
{
    return (uint64_t)g_get_real_time() * 1000;
}

/* ------------------------------------------------------------------ */
/* On-pool layout                                                      */
/* ------------------------------------------------------------------ */

static void write_superblock(PredlogRecorder *rec,
                             const PredlogRecorderConfig *cfg)
{
    uint8_t *sb = rec->base;

    put_le64(sb + PREDLOG_POOL_SB_OFF_MAGIC, PREDLOG_POOL_MAGIC);
    put_le32(sb + PREDLOG_POOL_SB_OFF_VERSION, PREDLOG_POOL_VERSION);
    put_le32(sb + PREDLOG_POOL_SB_OFF_SB_SIZE, PREDLOG_POOL_SB_SIZE);
    put_le64(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE, rec->size);
    put_le64(sb + PREDLOG_POOL_SB_OFF_DIR_OFFSET, DIR_OFFSET);
    put_le32(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS, rec->max_functions);
    put_le32(sb + PREDLOG_POOL_SB_OFF_DIR_ENTRY_SIZE,
             PREDLOG_POOL_DIR_ENTRY_SIZE);
    put_le64(sb + PREDLOG_POOL_SB_OFF_DATA_OFFSET, rec->data_offset);
    put_le64(sb + PREDLOG_POOL_SB_OFF_DATA_SIZE, rec->data_size);
    put_le32(sb + PREDLOG_POOL_SB_OFF_POLICY, rec->policy);
    put_le32(sb + PREDLOG_POOL_SB_OFF_FLAGS, 0);
    put_le64(sb + PREDLOG_POOL_SB_OFF_CREATED, cfg->created_ns);
    put_le64(sb + PREDLOG_POOL_SB_OFF_BUFFER_SIZE,
             rec->policy == PREDLOG_POLICY_FIXED ? rec->slot_size
                                                 : rec->buffer_size);
    if (cfg->name) {
        memcpy(sb + PREDLOG_POOL_SB_OFF_NAME, cfg->name, strlen(cfg->name));
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

/*
 * Publish the function's current state as its next directory generation.
 * The copy written is the one with the lower generation, so the newest
 * complete copy survives a death at any instant of this write; its CRC is
 * stored last, after a release fence, so a copy with a matching CRC is
 * complete.
 */
static void dir_publish(PredlogRecorder *rec, unsigned id)
{
    RecFunction *f = &rec->funcs[id];
    uint8_t e[PREDLOG_POOL_DIR_ENTRY_SIZE] = { 0 };
    uint8_t *dst;
    uint32_t crc;

    f->generation++;
    put_le32(e + PREDLOG_POOL_DIR_OFF_MAGIC, PREDLOG_POOL_DIR_MAGIC);
    put_le16(e + PREDLOG_POOL_DIR_OFF_FUNC_ID, id);
    e[PREDLOG_POOL_DIR_OFF_KIND] = f->kind;
    e[PREDLOG_POOL_DIR_OFF_LEVEL] = f->level;
    put_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION, f->generation);
    put_le64(e + PREDLOG_POOL_DIR_OFF_BUF_OFFSET, f->buf ? f->buf_offset : 0);
    put_le64(e + PREDLOG_POOL_DIR_OFF_BUF_SIZE, f->buf ? f->buf_size : 0);
    put_le64(e + PREDLOG_POOL_DIR_OFF_CREATED, f->created_ns);
    put_le64(e + PREDLOG_POOL_DIR_OFF_UPDATED, wall_clock_ns());
    memcpy(e + PREDLOG_POOL_DIR_OFF_NAME, f->name, strlen(f->name));
    crc = predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC);

    /*
     * Never the copy that holds the current generation: generation 1 goes
     * to copy A, 2 to B, 3 to A, ... (adopt may find another pattern).
     */
    f->dir_copy ^= 1;
    dst = rec->base + DIR_OFFSET +
          (2 * (uint64_t)id + f->dir_copy) * PREDLOG_POOL_DIR_ENTRY_SIZE;
    memcpy(dst, e, PREDLOG_POOL_DIR_OFF_CRC);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n((uint32_t *)(dst + PREDLOG_POOL_DIR_OFF_CRC),
                     GUINT32_TO_LE(crc), __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

PredlogRecorder *predlog_recorder_new(void *base, uint64_t size,
                                      const PredlogRecorderConfig *cfg,
                                      GError **errp)
{
    PredlogRecorder *rec;
    uint64_t dir_size, data_offset, data_size, slot_size, buffer_size = 0;

    if (!base || !cfg) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: no region or no configuration");
        return NULL;
    }
    if ((uintptr_t)base % PREDLOG_RECORD_ALIGN) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: region must be %u-byte aligned",
                    PREDLOG_RECORD_ALIGN);
        return NULL;
    }
    if ((unsigned)cfg->policy >= PREDLOG_POLICY__MAX) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: unknown policy %d", (int)cfg->policy);
        return NULL;
    }
    if (cfg->max_functions < PREDLOG_RECORDER_MIN_FUNCTIONS ||
        cfg->max_functions > PREDLOG_RECORDER_MAX_FUNCTIONS) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: max_functions %" G_GUINT32_FORMAT
                    " is out of range [%u, %u]", cfg->max_functions,
                    PREDLOG_RECORDER_MIN_FUNCTIONS,
                    PREDLOG_RECORDER_MAX_FUNCTIONS);
        return NULL;
    }
    if (cfg->name && strlen(cfg->name) > PREDLOG_POOL_NAME_MAX) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: name '%s' is longer than %u bytes",
                    cfg->name, PREDLOG_POOL_NAME_MAX);
        return NULL;
    }

    dir_size = PAGE_ROUND((uint64_t)cfg->max_functions * 2 *
                          PREDLOG_POOL_DIR_ENTRY_SIZE);
    data_offset = DIR_OFFSET + dir_size;
    data_size = size > data_offset ? POOL_ROUND_DOWN(size - data_offset) : 0;
    slot_size = POOL_ROUND_DOWN(data_size / cfg->max_functions);
    if (slot_size < PREDLOG_RECORDER_MIN_BUFFER) {
        g_set_error(errp, REC_ERROR, REC_ERROR_NO_SPACE,
                    "predlog recorder: a region of %" G_GUINT64_FORMAT
                    " bytes is too small for %" G_GUINT32_FORMAT
                    " functions; it needs at least %" G_GUINT64_FORMAT
                    " bytes", size, cfg->max_functions,
                    data_offset + (uint64_t)cfg->max_functions *
                    PREDLOG_RECORDER_MIN_BUFFER);
        return NULL;
    }
    if ((uint64_t)(size_t)size != size) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: region of %" G_GUINT64_FORMAT
                    " bytes does not fit the address space", size);
        return NULL;
    }
    if (cfg->policy == PREDLOG_POLICY_DYNAMIC) {
        /* 0 asks for the FIXED slot size: the same split to start from. */
        buffer_size = cfg->buffer_size ? cfg->buffer_size : slot_size;
        if (buffer_size < PREDLOG_RECORDER_MIN_BUFFER ||
            buffer_size > data_size) {
            g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                        "predlog recorder: buffer size %" G_GUINT64_FORMAT
                        " is out of range [%u, %" G_GUINT64_FORMAT "]",
                        buffer_size, PREDLOG_RECORDER_MIN_BUFFER, data_size);
            return NULL;
        }
        buffer_size = MIN(POOL_ROUND_UP(buffer_size), data_size);
    }

    rec = g_new0(PredlogRecorder, 1);
    rec->base = base;
    rec->size = size;
    rec->policy = cfg->policy;
    rec->max_functions = cfg->max_functions;
    rec->data_offset = data_offset;
    rec->data_size = data_size;
    rec->slot_size = slot_size;
    rec->buffer_size = buffer_size;
    rec->pool = predlog_pool_new(data_offset, data_size);
    g_assert(rec->pool);
    rec->funcs = g_new0(RecFunction, cfg->max_functions);
    rec->unborn = cfg->max_functions;

    /*
     * Zero everything: unused directory slots must not hold stale
     * entries, and record.h's torn-write detection needs zeroed buffers.
     */
    memset(base, 0, size);
    write_superblock(rec, cfg);
    return rec;
}

void predlog_recorder_free(PredlogRecorder *rec)
{
    if (!rec) {
        return;
    }
    for (unsigned i = 0; i < rec->n_functions; i++) {
        g_array_unref(rec->funcs[i].buffers);
    }
    g_free(rec->funcs);
    predlog_pool_free_all(rec->pool);
    g_free(rec);
}

int predlog_recorder_add_function(PredlogRecorder *rec,
                                  PredlogFunctionKind kind,
                                  const char *name, uint64_t now_ns,
                                  GError **errp)
{
    RecFunction *f;
    size_t len = name ? strlen(name) : 0;

    if (kind < PREDLOG_FUNCTION_NET || kind > PREDLOG_FUNCTION_KIND__MAX) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: unknown function kind %d", (int)kind);
        return -1;
    }
    if (len == 0 || len > PREDLOG_POOL_NAME_MAX) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: a function name must have 1 to %u "
                    "bytes, '%s' has %zu", PREDLOG_POOL_NAME_MAX,
                    name ? name : "", len);
        return -1;
    }
    if (rec->n_functions >= rec->max_functions) {
        g_set_error(errp, REC_ERROR, REC_ERROR_NO_SPACE,
                    "predlog recorder: cannot add function '%s': all %"
                    G_GUINT32_FORMAT " directory slots are in use; "
                    "raise max_functions", name, rec->max_functions);
        return -1;
    }

    f = &rec->funcs[rec->n_functions];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->level = PREDLOG_RECORD_LEVEL_FULL;
    memcpy(f->name, name, len + 1);
    f->next_seq = 1;
    f->buffer_size = rec->buffer_size;
    f->touched_ns = now_ns;
    f->created_ns = wall_clock_ns();
    f->buffers = g_array_new(false, false, sizeof(RecBuffer));
    f->dir_copy = 1;            /* so that generation 1 goes to copy A */
    dir_publish(rec, rec->n_functions);
    return rec->n_functions++;
}

void predlog_recorder_set_buffer_size(PredlogRecorder *rec, int func_id,
                                      uint64_t size)
{
    if (func_id < 0 || (unsigned)func_id >= rec->n_functions) {
        return;
    }
    size = MAX(size, PREDLOG_RECORDER_MIN_BUFFER);
    size = MIN(size, rec->data_size);
    rec->funcs[func_id].buffer_size = MIN(POOL_ROUND_UP(size),
                                          rec->data_size);
}

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

/* The allocator took a buffer a function had given up: forget it. */
static void buffer_evicted(void *opaque, uint64_t offset,
                           uint64_t size G_GNUC_UNUSED, uint32_t owner)
{
    PredlogRecorder *rec = opaque;
    RecFunction *f;

    rec->evictions++;
    if (owner >= rec->n_functions) {
        return;
    }
    f = &rec->funcs[owner];
    for (unsigned i = 0; i < f->buffers->len; i++) {
        RecBuffer *b = &g_array_index(f->buffers, RecBuffer, i);

        if (b->offset == offset) {
            f->held -= b->size;
            g_array_remove_index_fast(f->buffers, i);
            return;
        }
    }
    /* The allocator only evicts what we allocated. */
    g_assert_not_reached();
}

/*
 * Make @off the function's active buffer: zero it, name it in the
 * directory (in that order, so a reader never finds stale bytes in a
 * buffer the directory names), then let the old one go.
 */
static void buffer_switch(PredlogRecorder *rec, unsigned id, uint64_t off,
                          uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t size = 0, old = f->buf_offset, old_size = f->buf_size;
    bool had = f->buf != NULL;
    RecBuffer b;

    predlog_pool_lookup(rec->pool, off, &size, NULL);
    predlog_pool_pin(rec->pool, off, true);
    memset(rec->base + off, 0, size);

    f->buf = rec->base + off;
    f->buf_offset = off;
    f->buf_size = size;
    f->head = 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    dir_publish(rec, id);

    if (had) {
        /* Its last record was written just before this one. */
        predlog_pool_touch(rec->pool, old, now_ns);
        predlog_pool_pin(rec->pool, old, false);
        rec->pinned -= old_size;
    } else {
        rec->unborn--;
    }
    rec->pinned += size;
    f->touched_ns = now_ns;
    b.offset = off;
    b.size = size;
    g_array_append_val(f->buffers, b);
    f->held += size;
}

/*
 * Go back to the start of the active buffer.  The tail that is skipped
 * is zeroed first: whatever it holds is older than every record of the
 * lap just completed, so once the new lap overwrites that lap's first
 * records it would survive as a lone record behind a gap in the sequence.
 * Zeroed, the buffer always holds an unbroken run of the newest records,
 * and the write head a reader finds there is clean.  It costs less than
 * one record's size per lap.
 */
static void wrap(RecFunction *f)
{
    memset(f->buf + f->head, 0, f->buf_size - f->head);
    f->head = 0;
    f->wraps++;
}

/*
 * Find room for a record of @size bytes that does not fit at the write
 * head: a new buffer or a wrap.  False if the record cannot be stored.
 */
static bool make_room(PredlogRecorder *rec, unsigned id, uint64_t size,
                      uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t off, want, least, keep, others;

    if (G_UNLIKELY(rec->broken)) {
        /* adopt failed and dropped every buffer: nothing to write into */
        return false;
    }
    if (rec->policy == PREDLOG_POLICY_FIXED) {
        if (!f->buf) {
            /* n slots of slot_size always fit: nothing is ever freed. */
            if (!predlog_pool_alloc(rec->pool, rec->slot_size, id, now_ns,
                                    false, NULL, NULL, &off)) {
                g_assert_not_reached();
            }
            buffer_switch(rec, id, off, now_ns);
            if (size <= f->buf_size) {
                return true;
            }
        }
        if (size > f->buf_size) {
            return false;
        }
        wrap(f);
        return true;
    }

    /*
     * What the new active buffer may take so that the active buffers
     * leave PREDLOG_RECORDER_MIN_BUFFER for every other slot that has
     * none yet.
     */
    keep = (uint64_t)(rec->unborn - (f->buf ? 0 : 1)) *
           PREDLOG_RECORDER_MIN_BUFFER;
    others = rec->pinned - (f->buf ? f->buf_size : 0);
    if (size <= rec->data_size && others + keep < rec->data_size) {
        want = POOL_ROUND_UP(MAX(f->buffer_size, size));
        want = MIN(want, POOL_ROUND_DOWN(rec->data_size - others - keep));
        least = POOL_ROUND_UP(MAX((uint64_t)PREDLOG_RECORDER_MIN_BUFFER,
                                  size));
        if ((least <= want &&
             predlog_pool_alloc(rec->pool, want, id, now_ns, true,
                                buffer_evicted, rec, &off)) ||
            (least < want &&
             predlog_pool_alloc(rec->pool, least, id, now_ns, true,
                                buffer_evicted, rec, &off))) {
            buffer_switch(rec, id, off, now_ns);
            return true;
        }
    }
    if (f->buf && size <= f->buf_size) {
        wrap(f);
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Record path                                                         */
/* ------------------------------------------------------------------ */

PredlogLogResult predlog_recorder_log(PredlogRecorder *rec, int func_id,
                                      const PredlogEntry *entry,
                                      uint64_t now_ns, uint64_t *seq)
{
    PredlogRecordHeader hdr;
    PredlogRecordWriter w;
    RecFunction *f;
    uint64_t stored = 0, left, size;

    if (func_id < 0 || (unsigned)func_id >= rec->n_functions) {
        return PREDLOG_LOG_BAD_FUNCTION;
    }
    f = &rec->funcs[func_id];

    if ((unsigned)entry->type - 1 >= PREDLOG_RECORD_TYPE__MAX ||
        (unsigned)entry->level > PREDLOG_RECORD_LEVEL__MAX ||
        (entry->n_pieces && !entry->pieces)) {
        return PREDLOG_LOG_BAD_ENTRY;
    }
    for (unsigned i = 0; i < entry->n_pieces && stored < entry->max_stored;
         i++) {
        if (entry->pieces[i].len && !entry->pieces[i].data) {
            return PREDLOG_LOG_BAD_ENTRY;
        }
        stored += MIN(entry->pieces[i].len, entry->max_stored - stored);
    }
    if (stored > entry->orig_len || stored > PREDLOG_RECORD_MAX_PAYLOAD) {
        return PREDLOG_LOG_BAD_ENTRY;
    }

    size = predlog_record_size(stored);
    /* No buffer yet: buf_size and head are 0, so this goes there too. */
    if (size > f->buf_size - f->head) {
        if (!make_room(rec, func_id, size, now_ns)) {
            f->dropped++;
            return PREDLOG_LOG_DROPPED;
        }
    } else if (now_ns - f->touched_ns >= PREDLOG_TOUCH_INTERVAL_NS) {
        predlog_pool_touch(rec->pool, f->buf_offset, now_ns);
        f->touched_ns = now_ns;
    }
    if (G_UNLIKELY(entry->level != f->level)) {
        /* Granularity changes are rare: the directory tells tools. */
        f->level = entry->level;
        dir_publish(rec, func_id);
    }

    hdr.type = entry->type;
    hdr.level = entry->level;
    hdr.func_id = func_id;
    hdr.orig_len = entry->orig_len;
    hdr.stored_len = stored;
    hdr.seq = f->next_seq;
    hdr.timestamp_ns = entry->timestamp_ns;
    hdr.aux = entry->aux;
    if (!predlog_record_begin(&w, f->buf + f->head, f->buf_size - f->head,
                              &hdr)) {
        /* Checked above: type, level, lengths and room are all fine. */
        g_assert_not_reached();
    }
    left = stored;
    for (unsigned i = 0; left; i++) {
        size_t n = MIN(entry->pieces[i].len, left);

        predlog_record_append(&w, entry->pieces[i].data, n);
        left -= n;
    }
    predlog_record_commit(&w);

    f->head += size;
    f->records++;
    f->bytes += stored;
    if (seq) {
        *seq = f->next_seq;
    }
    f->next_seq++;
    return PREDLOG_LOG_OK;
}

/* ------------------------------------------------------------------ */
/* Taking over a migrated region                                       */
/* ------------------------------------------------------------------ */

/* Owner of the fillers adopt places active buffers with. */
#define ADOPT_FILLER_OWNER  (PREDLOG_POOL_OWNER_NONE - 1)

/* What adopt learns about one function from the region. */
typedef struct AdoptFunction {
    bool present;               /* the region's directory names it */
    unsigned dir_copy;
    uint64_t generation;
    PredlogRecordLevel level;
    uint64_t created_ns;
    uint64_t buf_offset;        /* 0: no active buffer */
    uint64_t buf_size;
    bool have_head;
    uint64_t head_seq;
    uint64_t head;              /* buffer-relative */
    uint64_t max_seq;
} AdoptFunction;

static bool adopt_superblock(PredlogRecorder *rec, GError **errp)
{
    const uint8_t *sb = rec->base;

    if (get_le64(sb + PREDLOG_POOL_SB_OFF_MAGIC) != PREDLOG_POOL_MAGIC ||
        get_le32(sb + PREDLOG_POOL_SB_OFF_VERSION) != PREDLOG_POOL_VERSION ||
        get_le32(sb + PREDLOG_POOL_SB_OFF_CRC) !=
        predlog_crc32c(0, sb, PREDLOG_POOL_SB_OFF_CRC)) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "the region holds no valid version %u predlog pool "
                    "superblock", PREDLOG_POOL_VERSION);
        return false;
    }
    if (get_le64(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE) != rec->size ||
        get_le32(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS) != rec->max_functions ||
        get_le64(sb + PREDLOG_POOL_SB_OFF_DATA_OFFSET) != rec->data_offset ||
        get_le64(sb + PREDLOG_POOL_SB_OFF_DATA_SIZE) != rec->data_size ||
        get_le32(sb + PREDLOG_POOL_SB_OFF_POLICY) != rec->policy) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "the pool (%" G_GUINT64_FORMAT " bytes, %" G_GUINT32_FORMAT
                    " function slots, policy %s) is not laid out like this "
                    "recorder's (%" G_GUINT64_FORMAT " bytes, %"
                    G_GUINT32_FORMAT " slots, policy %s)",
                    get_le64(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE),
                    get_le32(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS),
                    predlog_policy_str(get_le32(sb +
                                                PREDLOG_POOL_SB_OFF_POLICY)),
                    rec->size, rec->max_functions,
                    predlog_policy_str(rec->policy));
        return false;
    }
    return true;
}

static bool adopt_entry_ok(const uint8_t *e, unsigned id)
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

/* Read and check slot @id's directory entry into @a. */
static bool adopt_entry(PredlogRecorder *rec, unsigned id, AdoptFunction *a,
                        GError **errp)
{
    const uint8_t *copy[2];
    const uint8_t *e = NULL;
    char name[PREDLOG_POOL_NAME_MAX + 1] = "";
    uint8_t want[PREDLOG_POOL_NAME_MAX + 1] = { 0 };
    RecFunction *f = &rec->funcs[id];
    uint64_t end = rec->data_offset + rec->data_size;

    for (unsigned c = 0; c < 2; c++) {
        copy[c] = rec->base + DIR_OFFSET +
                  (2 * (uint64_t)id + c) * PREDLOG_POOL_DIR_ENTRY_SIZE;
        if (adopt_entry_ok(copy[c], id) &&
            (!e || get_le64(copy[c] + PREDLOG_POOL_DIR_OFF_GENERATION) >
                   get_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION))) {
            e = copy[c];
            a->dir_copy = c;
        }
    }
    if (!e) {
        return true;
    }
    memcpy(name, e + PREDLOG_POOL_DIR_OFF_NAME, PREDLOG_POOL_NAME_MAX);
    if (id >= rec->n_functions) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "the pool names function %u '%s', which this recorder "
                    "does not have", id, name);
        return false;
    }
    memcpy(want, f->name, strlen(f->name));
    if (memcmp(e + PREDLOG_POOL_DIR_OFF_NAME, want, sizeof(want)) ||
        e[PREDLOG_POOL_DIR_OFF_KIND] != f->kind) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "function %u is '%s' (%s) in the pool but '%s' (%s) "
                    "here", id, name,
                    predlog_function_kind_str(e[PREDLOG_POOL_DIR_OFF_KIND]),
                    f->name, predlog_function_kind_str(f->kind));
        return false;
    }
    a->present = true;
    a->generation = get_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION);
    a->level = e[PREDLOG_POOL_DIR_OFF_LEVEL];
    a->created_ns = get_le64(e + PREDLOG_POOL_DIR_OFF_CREATED);
    a->buf_offset = get_le64(e + PREDLOG_POOL_DIR_OFF_BUF_OFFSET);
    a->buf_size = get_le64(e + PREDLOG_POOL_DIR_OFF_BUF_SIZE);
    if (!a->buf_offset && !a->buf_size) {
        return true;
    }
    if (a->buf_offset % PREDLOG_POOL_ALIGN ||
        a->buf_size % PREDLOG_POOL_ALIGN || a->buf_size == 0 ||
        a->buf_offset < rec->data_offset || a->buf_offset > end ||
        a->buf_size > end - a->buf_offset ||
        (rec->policy == PREDLOG_POLICY_FIXED &&
         a->buf_size != rec->slot_size)) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "function %u '%s' has an impossible active buffer [%"
                    G_GUINT64_FORMAT ", +%" G_GUINT64_FORMAT ")", id, name,
                    a->buf_offset, a->buf_size);
        return false;
    }
    return true;
}

static gint cmp_adopt_offset(gconstpointer pa, gconstpointer pb,
                             gpointer opaque)
{
    const AdoptFunction *af = opaque;
    uint64_t a = af[*(const unsigned *)pa].buf_offset;
    uint64_t b = af[*(const unsigned *)pb].buf_offset;

    return a < b ? -1 : a > b;
}

/* Forget every buffer: the host state of a recorder that logs nothing. */
static void adopt_reset(PredlogRecorder *rec)
{
    predlog_pool_free_all(rec->pool);
    rec->pool = predlog_pool_new(rec->data_offset, rec->data_size);
    g_assert(rec->pool);
    rec->pinned = 0;
    rec->unborn = rec->max_functions;
    rec->evictions = 0;
    for (unsigned i = 0; i < rec->n_functions; i++) {
        RecFunction *f = &rec->funcs[i];

        f->buf = NULL;
        f->buf_offset = f->buf_size = f->head = 0;
        g_array_set_size(f->buffers, 0);
        f->held = 0;
        f->bytes = f->dropped = f->wraps = 0;
        f->touched_ns = 0;
    }
}

/*
 * Find, for every function, its highest sequence number anywhere and the
 * end of its newest record inside its active buffer: the write head.  The
 * walk is the one of recovery.c (decode, step over VALID records,
 * resynchronise on anything else); that file is not part of QEMU.
 */
static void adopt_scan(PredlogRecorder *rec, AdoptFunction *af)
{
    const uint8_t *area = rec->base + rec->data_offset;
    size_t len = rec->data_size, pos = 0;
    PredlogRecordView v;

    while (pos < len) {
        AdoptFunction *a;
        uint64_t off;

        if (predlog_record_decode(area + pos, len - pos, &v) !=
            PREDLOG_RECORD_VALID) {
            pos = predlog_record_resync(area, len, pos + 1, &v);
            if (pos >= len) {
                break;
            }
        }
        off = rec->data_offset + pos;
        pos += v.size;
        if (v.hdr.func_id >= rec->n_functions) {
            continue;
        }
        a = &af[v.hdr.func_id];
        a->max_seq = MAX(a->max_seq, v.hdr.seq);
        if (a->buf_size && off >= a->buf_offset &&
            off + v.size - a->buf_offset <= a->buf_size &&
            (!a->have_head || v.hdr.seq > a->head_seq)) {
            a->have_head = true;
            a->head_seq = v.hdr.seq;
            a->head = off + v.size - a->buf_offset;
        }
    }
}

bool predlog_recorder_adopt(PredlogRecorder *rec, GError **errp)
{
    g_autofree AdoptFunction *af = g_new0(AdoptFunction, rec->max_functions);
    g_autofree unsigned *order = g_new(unsigned, rec->max_functions);
    g_autoptr(GArray) fillers = g_array_new(false, false, sizeof(uint64_t));
    unsigned n_active = 0;
    uint64_t cur = rec->data_offset;

    if (!adopt_superblock(rec, errp)) {
        goto fail;
    }
    for (unsigned id = 0; id < rec->max_functions; id++) {
        if (!adopt_entry(rec, id, &af[id], errp)) {
            goto fail;
        }
        if (af[id].buf_size) {
            order[n_active++] = id;
        }
    }
    g_qsort_with_data(order, n_active, sizeof(*order), cmp_adopt_offset, af);
    for (unsigned i = 1; i < n_active; i++) {
        const AdoptFunction *p = &af[order[i - 1]], *a = &af[order[i]];

        if (a->buf_offset < p->buf_offset + p->buf_size) {
            g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                        "functions %u and %u have overlapping active "
                        "buffers", order[i - 1], order[i]);
            goto fail;
        }
    }
    adopt_scan(rec, af);

    /*
     * Rebuild the allocator with the active buffers where the region has
     * them.  The allocator places by best fit, so with everything below
     * allocated and a single free extent left, an allocation lands at its
     * start: fill each gap, allocate the buffer, free the fillers after.
     * Older buffers are given up; their records stay until reused.
     */
    adopt_reset(rec);
    for (unsigned i = 0; i < n_active; i++) {
        unsigned id = order[i];
        AdoptFunction *a = &af[id];
        RecFunction *f = &rec->funcs[id];
        RecBuffer b = { a->buf_offset, a->buf_size };
        uint64_t off = 0;

        if (a->buf_offset > cur) {
            if (!predlog_pool_alloc(rec->pool, a->buf_offset - cur,
                                    ADOPT_FILLER_OWNER, 0, false, NULL, NULL,
                                    &off) || off != cur) {
                break;
            }
            g_array_append_val(fillers, off);
        }
        if (!predlog_pool_alloc(rec->pool, a->buf_size, id, 0, false, NULL,
                                NULL, &off) || off != a->buf_offset) {
            break;
        }
        predlog_pool_pin(rec->pool, off, true);
        f->buf = rec->base + off;
        f->buf_offset = off;
        f->buf_size = a->buf_size;
        f->head = a->have_head ? a->head : 0;
        g_array_append_val(f->buffers, b);
        f->held = b.size;
        rec->pinned += b.size;
        rec->unborn--;
        cur = off + a->buf_size;
    }
    for (guint i = 0; i < fillers->len; i++) {
        predlog_pool_release(rec->pool, g_array_index(fillers, uint64_t, i));
    }
    if (rec->unborn != rec->max_functions - n_active) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "the allocator cannot place the pool's active buffers");
        goto fail;
    }

    for (unsigned id = 0; id < rec->n_functions; id++) {
        AdoptFunction *a = &af[id];
        RecFunction *f = &rec->funcs[id];

        f->next_seq = a->max_seq + 1;
        f->records = a->max_seq;
        if (a->present) {
            f->generation = a->generation;
            f->dir_copy = a->dir_copy;
            f->level = a->level;
            f->created_ns = a->created_ns;
        } else {
            /* Added here but not in the region: name it there now. */
            f->generation = 0;
            f->dir_copy = 1;
            dir_publish(rec, id);
        }
    }
    rec->broken = false;
    return true;

fail:
    adopt_reset(rec);
    rec->broken = true;
    return false;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

void predlog_recorder_get_stats(PredlogRecorder *rec,
                                PredlogRecorderStats *stats)
{
    PredlogPoolStats ps;

    predlog_pool_get_stats(rec->pool, &ps);
    memset(stats, 0, sizeof(*stats));
    stats->policy = rec->policy;
    stats->size = rec->size;
    stats->data_size = rec->data_size;
    stats->used = ps.used;
    stats->free = rec->data_size - ps.used;
    stats->fragments = ps.fragments;
    stats->functions = rec->n_functions;
    stats->evictions = rec->evictions;
}

unsigned predlog_recorder_n_functions(PredlogRecorder *rec)
{
    return rec->n_functions;
}

bool predlog_recorder_get_function_stats(PredlogRecorder *rec, int func_id,
                                         PredlogFunctionStats *stats)
{
    RecFunction *f;

    if (func_id < 0 || (unsigned)func_id >= rec->n_functions) {
        return false;
    }
    f = &rec->funcs[func_id];
    memset(stats, 0, sizeof(*stats));
    stats->id = func_id;
    stats->kind = f->kind;
    stats->name = f->name;
    stats->level = f->level;
    stats->records = f->records;
    stats->bytes = f->bytes;
    stats->dropped = f->dropped;
    stats->wraps = f->wraps;
    stats->buffer_size = f->held;
    stats->buffers = f->buffers->len;
    stats->last_seq = f->next_seq - 1;
    return true;
}

unsigned predlog_recorder_used_percent(PredlogRecorder *rec)
{
    PredlogPoolStats ps;

    predlog_pool_get_stats(rec->pool, &ps);
    return rec->data_size ? (unsigned)(ps.used * 100 / rec->data_size) : 0;
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
