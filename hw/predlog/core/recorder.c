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
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>
#include <zstd.h>

#include "pool.h"
#include "record.h"
#include "recorder.h"
#include "granularity.h"
#include "summary.h"
#include "qemu/predlog/byteorder.h"
#include "recorder-int.h"

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
    PredlogPoolSuperblock sb = {
        .pool_size = rec->size,
        .dir_slots = rec->max_functions,
        .data_offset = rec->data_offset,
        .data_size = rec->data_size,
        .policy = rec->policy,
        .created_ns = cfg->created_ns,
        .flags = cfg->pool_flags | PREDLOG_POOL_FLAG_SEQ_TABLE |
                 PREDLOG_POOL_FLAG_SALT,
        .salt = rec->salt,
        .buffer_size = rec->policy == PREDLOG_POLICY_FIXED ? rec->slot_size
                                                           : rec->buffer_size,
    };

    if (cfg->name) {
        g_strlcpy(sb.name, cfg->name, sizeof(sb.name));
    }
    predlog_pool_sb_write(rec->base, &sb);
}

/*
 * Publish the function's current state as its next directory generation.
 * The copy written is the one with the lower generation, so the newest
 * complete copy survives a death at any instant of this write; its CRC is
 * stored last, after a release fence, so a copy with a matching CRC is
 * complete.
 */
void predlog_rec_dir_publish(PredlogRecorder *rec, unsigned id)
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
    uint64_t data_offset, data_size, slot_size, buffer_size = 0;

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
    if ((cfg->pool_flags & ~PREDLOG_POOL_FLAGS_KNOWN) ||
        ((cfg->pool_flags & PREDLOG_POOL_FLAG_PREDICTIVE) &&
         cfg->policy != PREDLOG_POLICY_DYNAMIC)) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: pool flags 0x%x do not go "
                    "with policy %s", cfg->pool_flags,
                    predlog_policy_str(cfg->policy));
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
    if ((unsigned)cfg->compression >= PREDLOG_COMPRESSION__MAX) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: unknown compression %d",
                    (int)cfg->compression);
        return NULL;
    }
    if (cfg->salt && (!(uint32_t)cfg->salt || !(cfg->salt >> 32))) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: salt 0x%016" G_GINT64_MODIFIER "x "
                    "has a zero half", cfg->salt);
        return NULL;
    }
    if (cfg->name && strlen(cfg->name) > PREDLOG_POOL_NAME_MAX) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "predlog recorder: name '%s' is longer than %u bytes",
                    cfg->name, PREDLOG_POOL_NAME_MAX);
        return NULL;
    }

    data_offset = predlog_pool_metadata_end(cfg->max_functions);
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
    rec->seq_table = rec->base +
                     predlog_pool_seq_table_offset(cfg->max_functions);
    rec->salt = cfg->salt ? cfg->salt : predlog_pool_new_salt();
    rec->slot_size = slot_size;
    rec->buffer_size = buffer_size;
    rec->pool = predlog_pool_new(data_offset, data_size);
    g_assert(rec->pool);
    rec->funcs = g_new0(RecFunction, cfg->max_functions);
    rec->unborn = cfg->max_functions;
    rec->compression = cfg->policy == PREDLOG_POLICY_DYNAMIC ?
                       cfg->compression : PREDLOG_COMPRESSION_NONE;
    rec->cold_segment = cfg->cold_segment ?
                        cfg->cold_segment : PREDLOG_RECORDER_COLD_SEGMENT;
    rec->cold_segment = MIN(MAX(POOL_ROUND_UP(rec->cold_segment),
                                (uint64_t)PREDLOG_RECORDER_MIN_BUFFER),
                            data_size);
    if (rec->compression == PREDLOG_COMPRESSION_ZSTD && cfg->work_ready) {
        rec->work_ready = cfg->work_ready;
        rec->work_opaque = cfg->work_opaque;
    }
    if (rec->compression == PREDLOG_COMPRESSION_ZSTD) {
        rec->zctx = ZSTD_createCCtx();
        g_assert(rec->zctx);
        ZSTD_CCtx_setParameter(rec->zctx, ZSTD_c_compressionLevel,
                               PREDLOG_ZSTD_LEVEL);
    }

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
    ZSTD_freeCCtx(rec->zctx);
    g_free(rec->zbuf);
    g_free(rec);
}

/* Host state of function slot n_functions, as a new function. */
/*
 * Publish function @id's next sequence number in the sequence table: one
 * aligned 8-byte store, after the record it numbers was committed (or
 * added to the pending summary), so that a crash at any instant leaves
 * a word that counts exactly the records acknowledged so far.
 */
static void publish_next_seq(PredlogRecorder *rec, unsigned id)
{
    uint8_t word[8];
    uint64_t v;

    put_le64(word, predlog_pool_seq_word(id, rec->funcs[id].next_seq));
    memcpy(&v, word, sizeof(v));
    __atomic_store_n((uint64_t *)(rec->seq_table + (uint64_t)id * 8), v,
                     __ATOMIC_RELEASE);
}

static void function_setup(PredlogRecorder *rec, PredlogFunctionKind kind,
                           const char *name, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[rec->n_functions];

    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->level = PREDLOG_RECORD_LEVEL_FULL;
    g_strlcpy(f->name, name, sizeof(f->name));
    f->next_seq = 1;
    f->buffer_size = rec->buffer_size;
    f->touched_ns = now_ns;
    f->created_ns = wall_clock_ns();
    f->buffers = g_array_new(false, false, sizeof(RecBuffer));
    f->dir_copy = 1;            /* so that generation 1 goes to copy A */
    predlog_summary_reset(&f->pending);
}

int predlog_recorder_add_function(PredlogRecorder *rec,
                                  PredlogFunctionKind kind,
                                  const char *name, uint64_t now_ns,
                                  GError **errp)
{
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

    function_setup(rec, kind, name, now_ns);
    predlog_rec_dir_publish(rec, rec->n_functions);
    publish_next_seq(rec, rec->n_functions);
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
RecBuffer *predlog_rec_find_buffer(RecFunction *f, uint64_t offset,
                                   guint *index)
{
    for (guint i = 0; i < f->buffers->len; i++) {
        RecBuffer *b = &g_array_index(f->buffers, RecBuffer, i);

        if (b->offset == offset) {
            if (index) {
                *index = i;
            }
            return b;
        }
    }
    return NULL;
}

/* Drop @offset from the function's books (the allocator no longer has it). */
static void buffer_forget(RecFunction *f, uint64_t offset)
{
    guint i;
    RecBuffer *b = predlog_rec_find_buffer(f, offset, &i);

    /* Only what we allocated is ever freed or evicted. */
    g_assert(b);
    f->held -= b->size;
    if (b->cold) {
        f->cold_held -= b->size;
    }
    if (offset == f->cold_off) {
        f->cold_off = 0;
    }
    /* Keep the order: the oldest cold buffer goes first when trimming. */
    g_array_remove_index(f->buffers, i);
}

static void buffer_evicted(void *opaque, uint64_t offset,
                           uint64_t size G_GNUC_UNUSED, uint32_t owner)
{
    PredlogRecorder *rec = opaque;

    rec->evictions++;
    if (owner < rec->n_functions) {
        buffer_forget(&rec->funcs[owner], offset);
    }
}

/* Give a buffer that is not active back to the allocator. */
void predlog_rec_buffer_release(PredlogRecorder *rec, unsigned id,
                                uint64_t off)
{
    buffer_forget(&rec->funcs[id], off);
    if (!predlog_pool_release(rec->pool, off)) {
        g_assert_not_reached();
    }
}

/*
 * Allocate @size bytes for function @id, evicting least recently used
 * buffers if need be.  @least (<= @size) is the smallest size that will
 * do; it is tried when @size cannot be had.
 */
/*
 * Compaction moved a buffer (pool.h): copy its bytes, then zero the old
 * place, so that a reader finds each record once.  A crash in between
 * leaves both copies, which readers take as duplicates: nothing is lost.
 */
static void buffer_moved(void *opaque, uint64_t from, uint64_t to,
                         uint64_t size, uint32_t owner)
{
    PredlogRecorder *rec = opaque;
    RecFunction *f;
    RecBuffer *b;

    memcpy(rec->base + to, rec->base + from, size);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memset(rec->base + from, 0, size);
    rec->moved += size;
    /* only unpinned buffers move: never an active one */
    g_assert(owner < rec->n_functions);
    f = &rec->funcs[owner];
    b = predlog_rec_find_buffer(f, from, NULL);
    g_assert(b);
    b->offset = to;
    if (f->cold_off == from) {
        f->cold_off = to;
    }
}

/* Allocate without evicting, compacting the pool if that opens room. */
static bool buffer_alloc_compact(PredlogRecorder *rec, unsigned id,
                                 uint64_t size, uint64_t now_ns,
                                 uint64_t *off)
{
    if (predlog_pool_alloc(rec->pool, size, id, now_ns, false, NULL, NULL,
                           off)) {
        return true;
    }
    return predlog_pool_defragment(rec->pool, size, buffer_moved, rec,
                                   NULL) &&
           predlog_pool_alloc(rec->pool, size, id, now_ns, false, NULL, NULL,
                              off);
}

/*
 * Allocate @size bytes for function @id: from free space, compacting if
 * the free space is there but in pieces (moving history costs a copy,
 * evicting it costs the history), else by evicting least recently used
 * buffers.  @least (<= @size) is the smallest size that will do; it is
 * tried when @size cannot be had.
 */
bool predlog_rec_buffer_alloc(PredlogRecorder *rec, unsigned id,
                              uint64_t size, uint64_t least, uint64_t now_ns,
                              uint64_t *off)
{
    return buffer_alloc_compact(rec, id, size, now_ns, off) ||
           predlog_pool_alloc(rec->pool, size, id, now_ns, true,
                              buffer_evicted, rec, off) ||
           (least < size &&
            predlog_pool_alloc(rec->pool, least, id, now_ns, true,
                               buffer_evicted, rec, off));
}

/*
 * Make @off the function's active buffer: zero it (unless it is the
 * function's spare, zeroed by the worker and already held and pinned),
 * name it in the directory (in that order, so a reader never finds stale
 * bytes in a buffer the directory names), then deal with the old one as
 * @old says: keep it as history, evictable (REC_OLD_KEEP); free it, its
 * records having been aged into the cold tier (REC_OLD_RELEASE); or seal
 * it, pinned and in place, for the worker to age (REC_OLD_SEAL).
 */
void predlog_rec_buffer_switch(PredlogRecorder *rec, unsigned id,
                               uint64_t off, uint64_t now_ns, RecOldBuffer old)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t size = 0, old_off = f->buf_offset, old_size = f->buf_size;
    uint64_t old_head = f->head;
    bool had = f->buf != NULL;
    bool spare = f->spare == REC_SPARE_READY && off == f->spare_off;
    RecBuffer b = { 0 };

    predlog_pool_lookup(rec->pool, off, &size, NULL);
    if (spare) {
        f->spare = REC_SPARE_NONE;
    } else {
        predlog_pool_pin(rec->pool, off, true);
        memset(rec->base + off, 0, size);
    }

    f->buf = rec->base + off;
    f->buf_offset = off;
    f->buf_size = size;
    f->head = 0;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    predlog_rec_dir_publish(rec, id);

    if (had) {
        /* Its last record was written just before this one. */
        predlog_pool_touch(rec->pool, old_off, now_ns);
        if (old == REC_OLD_SEAL && old_head) {
            RecBuffer *ob = predlog_rec_find_buffer(f, old_off, NULL);

            ob->sealed = true;
            ob->aged = 0;
            ob->end = old_head;
            f->sealed_bytes += old_head;
        } else {
            predlog_pool_pin(rec->pool, old_off, false);
            rec->pinned -= old_size;
            if (old != REC_OLD_KEEP) {
                predlog_rec_buffer_release(rec, id, old_off);
            }
        }
    } else {
        rec->unborn--;
    }
    f->touched_ns = now_ns;
    if (!spare) {
        rec->pinned += size;
        b.offset = off;
        b.size = size;
        g_array_append_val(f->buffers, b);
        f->held += size;
    }
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
void predlog_rec_wrap(RecFunction *f)
{
    memset(f->buf + f->head, 0, f->buf_size - f->head);
    f->head = 0;
    f->wraps++;
}

/* ------------------------------------------------------------------ */
/* Cold tier                                                           */
/* ------------------------------------------------------------------ */

/* Give up @id's oldest cold buffers until @extra more fit its budget. */
static void cold_trim(PredlogRecorder *rec, unsigned id, uint64_t extra)
{
    RecFunction *f = &rec->funcs[id];

    while (f->cold_budget && f->cold_held + extra > f->cold_budget) {
        RecBuffer *oldest = NULL;

        for (guint i = 0; i < f->buffers->len && !oldest; i++) {
            RecBuffer *b = &g_array_index(f->buffers, RecBuffer, i);

            if (b->cold) {
                oldest = b;
            }
        }
        if (!oldest) {
            return;
        }
        predlog_rec_buffer_release(rec, id, oldest->offset);
    }
}

/*
 * Give up the oldest cold buffer of the function furthest over its cold
 * budget (in bytes over); false if no function is over its budget.
 */
static bool cold_trim_worst(PredlogRecorder *rec)
{
    uint64_t worst_over = 0;
    int worst = -1;

    for (unsigned i = 0; i < rec->n_functions; i++) {
        RecFunction *f = &rec->funcs[i];

        if (f->cold_budget && f->cold_held > f->cold_budget &&
            f->cold_held - f->cold_budget > worst_over) {
            worst_over = f->cold_held - f->cold_budget;
            worst = i;
        }
    }
    if (worst < 0) {
        return false;
    }
    for (guint i = 0; i < rec->funcs[worst].buffers->len; i++) {
        RecBuffer *b = &g_array_index(rec->funcs[worst].buffers, RecBuffer, i);

        if (b->cold) {
            predlog_rec_buffer_release(rec, worst, b->offset);
            return true;
        }
    }
    return false;
}

/* Start a new cold buffer with room for a chunk of @need bytes. */
static bool cold_new(PredlogRecorder *rec, unsigned id, uint64_t need,
                     uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t size = POOL_ROUND_UP(MAX(rec->cold_segment, need));
    uint64_t off;
    RecBuffer b = { 0 };

    if (size > rec->data_size) {
        return false;
    }
    /*
     * Budgets are shares of a full pool: while there is room, history
     * grows past them.  Once there is none, a function over its budget
     * gives up its own oldest history first, then the function furthest
     * over its budget does, and only then the least recently used buffer
     * of anyone goes.
     */
    if (!buffer_alloc_compact(rec, id, size, now_ns, &off)) {
        cold_trim(rec, id, size);
        while (!buffer_alloc_compact(rec, id, size, now_ns, &off)) {
            if (!cold_trim_worst(rec)) {
                if (!predlog_rec_buffer_alloc(rec, id, size,
                                              POOL_ROUND_UP(need), now_ns,
                                              &off)) {
                    return false;
                }
                break;
            }
        }
    }
    predlog_pool_lookup(rec->pool, off, &size, NULL);
    /* record.h's torn-write detection works against zeroes */
    memset(rec->base + off, 0, size);
    f->cold_off = off;
    f->cold_size = size;
    f->cold_head = 0;
    b.offset = off;
    b.size = size;
    b.cold = true;
    g_array_append_val(f->buffers, b);
    f->held += size;
    f->cold_held += size;
    return true;
}

/*
 * Pack @len bytes of whole records for a CHUNK: compressed into the
 * recorder's scratch if that makes them smaller, else as they are.
 * Returns the stored length; *@payload points at the stored bytes.
 */
size_t predlog_rec_chunk_pack(PredlogRecorder *rec, const uint8_t *raw,
                              size_t len, const uint8_t **payload,
                              PredlogChunkCodec *codec)
{
    size_t bound = ZSTD_compressBound(len), z;

    *payload = raw;
    *codec = PREDLOG_CHUNK_CODEC_NONE;
    if (rec->compression != PREDLOG_COMPRESSION_ZSTD) {
        return len;
    }
    if (bound > rec->zbuf_size) {
        rec->zbuf = g_realloc(rec->zbuf, bound);
        rec->zbuf_size = bound;
    }
    z = ZSTD_compress2(rec->zctx, rec->zbuf, rec->zbuf_size, raw, len);
    /* Incompressible (or a zstd failure): store the bytes as they are. */
    if (ZSTD_isError(z) || z >= len) {
        return len;
    }
    *payload = rec->zbuf;
    *codec = PREDLOG_CHUNK_CODEC_ZSTD;
    return z;
}

/*
 * Append one CHUNK record storing @stored bytes of @payload (@len bytes
 * of records once unpacked, the last numbered @last_seq) to the
 * function's cold tier.
 */
bool predlog_rec_cold_store(PredlogRecorder *rec, unsigned id,
                            const uint8_t *payload, size_t stored,
                            size_t len, PredlogChunkCodec codec,
                            uint64_t last_seq, uint64_t last_ts,
                            uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    PredlogRecordHeader hdr = { 0 };
    size_t need = predlog_record_size(stored);

    if (!need || len > PREDLOG_RECORD_MAX_PAYLOAD) {
        return false;
    }
    if (!f->cold_off || need > f->cold_size - f->cold_head) {
        if (!cold_new(rec, id, need, now_ns)) {
            return false;
        }
    }
    hdr.type = PREDLOG_RECORD_TYPE_CHUNK;
    hdr.level = PREDLOG_RECORD_LEVEL_FULL;
    hdr.func_id = id;
    hdr.orig_len = len;
    hdr.stored_len = stored;
    hdr.seq = last_seq;
    hdr.timestamp_ns = last_ts;
    hdr.aux = codec;
    if (!predlog_record_encode(rec->base + f->cold_off + f->cold_head,
                               f->cold_size - f->cold_head, rec->salt, &hdr,
                               payload)) {
        g_assert_not_reached();
    }
    f->cold_head += need;
    predlog_pool_touch(rec->pool, f->cold_off, now_ns);
    f->chunks++;
    f->chunk_in += len;
    f->chunk_out += need;
    return true;
}

/* The most record bytes one chunk takes in. */
uint64_t predlog_rec_chunk_max_in(PredlogRecorder *rec)
{
    return MIN(rec->cold_segment - PREDLOG_RECORD_MIN_SIZE,
               (uint64_t)PREDLOG_CHUNK_MAX_INPUT);
}

/*
 * Where the chunk that starts at @start of @buf ends: after as many of
 * the records in [@start, @end) as fit in @max_in bytes (at least one).
 * They are our own records, back to back: step by their sizes.  The
 * last one's sequence number and timestamp go to @last_seq, @last_ts.
 */
uint64_t predlog_rec_chunk_end(const uint8_t *buf, uint64_t start,
                               uint64_t end, uint64_t max_in,
                               uint64_t *last_seq, uint64_t *last_ts)
{
    uint64_t pos = start;

    while (pos < end) {
        const uint8_t *r = buf + pos;
        size_t size = predlog_record_size(
            get_le32(r + PREDLOG_RECORD_OFF_STORED_LEN));

        g_assert(size && size <= end - pos);
        if (pos > start && pos + size - start > max_in) {
            break;
        }
        *last_seq = get_le64(r + PREDLOG_RECORD_OFF_SEQ);
        *last_ts = get_le64(r + PREDLOG_RECORD_OFF_TIMESTAMP);
        pos += size;
    }
    return pos;
}

/*
 * Age the records of the function's active buffer into its cold tier, in
 * chunks of at most about one cold segment of input.  True if all of
 * them are in the cold tier now (or there was nothing to age).
 */
static bool age_active(PredlogRecorder *rec, unsigned id, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t max_in = predlog_rec_chunk_max_in(rec);
    uint64_t pos = 0;

    if (rec->compression == PREDLOG_COMPRESSION_NONE || !f->buf) {
        return false;
    }
    while (pos < f->head) {
        uint64_t start = pos, last_seq = 0, last_ts = 0, stored;
        const uint8_t *payload;
        PredlogChunkCodec codec;

        pos = predlog_rec_chunk_end(f->buf, start, f->head, max_in,
                                    &last_seq, &last_ts);
        stored = predlog_rec_chunk_pack(rec, f->buf + start, pos - start,
                                        &payload, &codec);
        if (!predlog_rec_cold_store(rec, id, payload, stored, pos - start,
                                    codec, last_seq, last_ts, now_ns)) {
            return false;
        }
    }
    return true;
}

/*
 * The active buffer the function should get now, within what active
 * buffers may pin: 0 if none can be had.
 */
uint64_t predlog_rec_active_size_wanted(PredlogRecorder *rec, unsigned id,
                                        uint64_t size)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t keep, others, want;

    /*
     * What the new active buffer may take so that the active buffers
     * leave PREDLOG_RECORDER_MIN_BUFFER for every other slot that has
     * none yet.
     */
    keep = (uint64_t)(rec->unborn - (f->buf ? 0 : 1)) *
           PREDLOG_RECORDER_MIN_BUFFER;
    others = rec->pinned - (f->buf ? f->buf_size : 0);
    if (size > rec->data_size || others + keep >= rec->data_size) {
        return 0;
    }
    want = POOL_ROUND_UP(MAX(f->buffer_size, size));
    return MIN(want, POOL_ROUND_DOWN(rec->data_size - others - keep));
}

/*
 * Move the function to a new active buffer of @want bytes (at least
 * @least), ageing the current one's records into the cold tier first when
 * there is one.  False if no buffer could be had.
 */
static bool active_replace(PredlogRecorder *rec, unsigned id, uint64_t want,
                           uint64_t least, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    bool aged = f->buf && age_active(rec, id, now_ns);
    uint64_t off;

    if (f->buf && !aged && rec->compression != PREDLOG_COMPRESSION_NONE) {
        f->lost_laps++;
    }
    if (least > want ||
        !predlog_rec_buffer_alloc(rec, id, want, least, now_ns, &off)) {
        return false;
    }
    predlog_rec_buffer_switch(rec, id, off, now_ns,
                              aged ? REC_OLD_RELEASE : REC_OLD_KEEP);
    return true;
}

/*
 * Find room for a record of @size bytes that does not fit at the write
 * head: a new buffer or a wrap.  False if the record cannot be stored.
 */
static bool make_room(PredlogRecorder *rec, unsigned id, uint64_t size,
                      uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint64_t off, want, least;

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
            predlog_rec_buffer_switch(rec, id, off, now_ns, REC_OLD_KEEP);
            if (size <= f->buf_size) {
                return true;
            }
        }
        if (size > f->buf_size) {
            return false;
        }
        predlog_rec_wrap(f);
        return true;
    }

    if (rec->work_ready) {
        return predlog_rec_make_room_async(rec, id, size, now_ns);
    }
    want = predlog_rec_active_size_wanted(rec, id, size);
    least = POOL_ROUND_UP(MAX((uint64_t)PREDLOG_RECORDER_MIN_BUFFER, size));
    if (rec->compression != PREDLOG_COMPRESSION_NONE && f->buf &&
        f->buf_size == want) {
        /* The right size already: age its records and start a new lap. */
        if (!age_active(rec, id, now_ns)) {
            f->lost_laps++;
        }
        predlog_rec_wrap(f);
        return true;
    }
    if (want && active_replace(rec, id, want, least, now_ns)) {
        return true;
    }
    if (f->buf && size <= f->buf_size) {
        predlog_rec_wrap(f);
        return true;
    }
    return false;
}

bool predlog_recorder_resize_now(PredlogRecorder *rec, int func_id,
                                 uint64_t now_ns)
{
    RecFunction *f;
    uint64_t want;

    if (func_id < 0 || (unsigned)func_id >= rec->n_functions ||
        rec->policy != PREDLOG_POLICY_DYNAMIC || rec->broken) {
        return false;
    }
    f = &rec->funcs[func_id];
    if (!f->buf) {
        return false;           /* its first record will get the size */
    }
    if (f->buf_size == f->buffer_size) {
        return true;
    }
    if (rec->work_ready) {
        return predlog_rec_resize_now_async(rec, func_id, now_ns);
    }
    want = predlog_rec_active_size_wanted(rec, func_id, 0);
    return want == f->buffer_size &&
           active_replace(rec, func_id, want, want, now_ns);
}

void predlog_recorder_set_cold_budget(PredlogRecorder *rec, int func_id,
                                      uint64_t bytes)
{
    if (func_id >= 0 && (unsigned)func_id < rec->n_functions) {
        rec->funcs[func_id].cold_budget = bytes;
    }
}

/* ------------------------------------------------------------------ */
/* Record path                                                         */
/* ------------------------------------------------------------------ */

uint32_t predlog_header_len(PredlogFunctionKind kind)
{
    switch (kind) {
    case PREDLOG_FUNCTION_NET:
        return PREDLOG_HEADER_LEN_NET;
    case PREDLOG_FUNCTION_BLOCK:
        return PREDLOG_HEADER_LEN_BLOCK;
    case PREDLOG_FUNCTION_GUEST:
        return PREDLOG_HEADER_LEN_GUEST;
    }
    return 0;
}

/*
 * Write one record with the given header (seq included) and @stored
 * payload bytes gathered from @pieces.  Makes room first.
 */
static bool write_record(PredlogRecorder *rec, unsigned id,
                         PredlogRecordHeader *hdr, const PredlogPiece *pieces,
                         uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    PredlogRecordWriter w;
    uint64_t size = predlog_record_size(hdr->stored_len), left;

    /* No buffer yet: buf_size and head are 0, so this goes there too. */
    if (size > f->buf_size - f->head) {
        if (!make_room(rec, id, size, now_ns)) {
            return false;
        }
    } else if (now_ns - f->touched_ns >= PREDLOG_TOUCH_INTERVAL_NS) {
        predlog_pool_touch(rec->pool, f->buf_offset, now_ns);
        f->touched_ns = now_ns;
    }
    if (!predlog_record_begin(&w, f->buf + f->head, f->buf_size - f->head,
                              rec->salt, hdr)) {
        /* Checked by the callers: type, level, lengths; room above. */
        g_assert_not_reached();
    }
    left = hdr->stored_len;
    for (unsigned i = 0; left; i++) {
        size_t n = MIN(pieces[i].len, left);

        predlog_record_append(&w, pieces[i].data, n);
        left -= n;
    }
    predlog_record_commit(&w);
    f->head += size;
    if (G_UNLIKELY(rec->work_ready) && f->spare == REC_SPARE_NONE &&
        !f->want_spare && f->head > f->buf_size / 2) {
        /* half full: have the worker zero a spare before it is needed */
        predlog_rec_want_spare(rec, id);
    }
    return true;
}

/* Write the function's pending summary, if it has one. */
static void summary_flush(PredlogRecorder *rec, unsigned id, uint64_t now_ns)
{
    RecFunction *f = &rec->funcs[id];
    uint8_t buf[PREDLOG_SUMMARY_LEN];
    PredlogPiece piece = { buf, sizeof(buf) };
    PredlogRecordHeader hdr = { 0 };

    if (!f->pending.records) {
        return;
    }
    if (predlog_summary_encode(&f->pending, buf, sizeof(buf)) !=
        sizeof(buf)) {
        g_assert_not_reached();
    }
    hdr.type = PREDLOG_RECORD_TYPE_SUMMARY;
    hdr.level = PREDLOG_RECORD_LEVEL_SUMMARY;
    hdr.func_id = id;
    hdr.orig_len = sizeof(buf);
    hdr.stored_len = sizeof(buf);
    hdr.seq = f->pending.last_seq;
    hdr.timestamp_ns = f->pending.last_ts;
    hdr.aux = f->pending_type;
    if (write_record(rec, id, &hdr, &piece, now_ns)) {
        f->bytes += sizeof(buf);
    } else {
        /* The records it counted are lost after all. */
        f->dropped += f->pending.records;
    }
    predlog_summary_reset(&f->pending);
}

bool predlog_recorder_set_level(PredlogRecorder *rec, int func_id,
                                PredlogRecordLevel level, uint64_t now_ns)
{
    RecFunction *f;

    if (func_id < 0 || (unsigned)func_id >= rec->n_functions ||
        (unsigned)level > PREDLOG_RECORD_LEVEL__MAX) {
        return false;
    }
    f = &rec->funcs[func_id];
    if (f->level == level) {
        return true;
    }
    if (f->level == PREDLOG_RECORD_LEVEL_SUMMARY) {
        summary_flush(rec, func_id, now_ns);
    }
    f->level = level;
    /* Granularity changes are rare: the directory tells tools. */
    predlog_rec_dir_publish(rec, func_id);
    return true;
}

void predlog_recorder_tick(PredlogRecorder *rec, uint64_t now_ns)
{
    for (unsigned i = 0; i < rec->n_functions; i++) {
        summary_flush(rec, i, now_ns);
    }
}

PredlogLogResult predlog_recorder_log(PredlogRecorder *rec, int func_id,
                                      const PredlogEntry *entry,
                                      uint64_t now_ns, uint64_t *seq)
{
    PredlogRecordHeader hdr;
    PredlogRecordLevel level;
    RecFunction *f;
    uint64_t stored = 0, max_stored;

    if (func_id < 0 || (unsigned)func_id >= rec->n_functions) {
        return PREDLOG_LOG_BAD_FUNCTION;
    }
    f = &rec->funcs[func_id];

    if ((unsigned)entry->type - 1 >= PREDLOG_RECORD_TYPE__MAX ||
        entry->type == PREDLOG_RECORD_TYPE_SUMMARY ||
        entry->type == PREDLOG_RECORD_TYPE_CHUNK ||
        (unsigned)entry->level > PREDLOG_RECORD_LEVEL__MAX ||
        (entry->n_pieces && !entry->pieces)) {
        return PREDLOG_LOG_BAD_ENTRY;
    }
    /*
     * An entry may ask for less detail than its function logs at, but not
     * for SUMMARY on its own: a summary covers a run of consecutive
     * sequence numbers, which only the function's level guarantees.
     */
    level = predlog_level_rank(entry->level) < predlog_level_rank(f->level) ?
            entry->level : f->level;
    if (level == PREDLOG_RECORD_LEVEL_SUMMARY &&
        f->level != PREDLOG_RECORD_LEVEL_SUMMARY) {
        level = PREDLOG_RECORD_LEVEL_HEADER;
    }
    max_stored = entry->max_stored;
    if (level == PREDLOG_RECORD_LEVEL_HEADER) {
        max_stored = MIN(max_stored, predlog_header_len(f->kind));
    }
    for (unsigned i = 0; i < entry->n_pieces && stored < max_stored; i++) {
        if (entry->pieces[i].len && !entry->pieces[i].data) {
            return PREDLOG_LOG_BAD_ENTRY;
        }
        stored += MIN(entry->pieces[i].len, max_stored - stored);
    }
    if (stored > entry->orig_len || stored > PREDLOG_RECORD_MAX_PAYLOAD) {
        return PREDLOG_LOG_BAD_ENTRY;
    }
    if (G_UNLIKELY(rec->broken)) {
        f->dropped++;
        return PREDLOG_LOG_DROPPED;
    }

    if (level == PREDLOG_RECORD_LEVEL_SUMMARY) {
        if (!f->pending.records) {
            f->pending_type = entry->type;
        }
        predlog_summary_add(&f->pending, f->next_seq, entry->timestamp_ns,
                            entry->orig_len, entry->aux);
    } else {
        hdr.type = entry->type;
        hdr.level = level;
        hdr.func_id = func_id;
        hdr.orig_len = entry->orig_len;
        hdr.stored_len = stored;
        hdr.seq = f->next_seq;
        hdr.timestamp_ns = entry->timestamp_ns;
        hdr.aux = entry->aux;
        if (!write_record(rec, func_id, &hdr, entry->pieces, now_ns)) {
            f->dropped++;
            return PREDLOG_LOG_DROPPED;
        }
        f->bytes += stored;
    }
    f->records++;
    f->by_level[level]++;
    if (seq) {
        *seq = f->next_seq;
    }
    f->next_seq++;
    publish_next_seq(rec, func_id);
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
    uint64_t published_seq;     /* the sequence table's next_seq, or 0 */
} AdoptFunction;

static bool adopt_superblock(PredlogRecorder *rec, GError **errp)
{
    PredlogPoolSuperblock sb;

    if (predlog_pool_sb_read(rec->base, rec->size, &sb, NULL)) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "the region holds no valid version %u predlog pool "
                    "superblock", PREDLOG_POOL_VERSION);
        return false;
    }
    if (sb.pool_size != rec->size || sb.dir_slots != rec->max_functions ||
        sb.data_offset != rec->data_offset ||
        sb.data_size != rec->data_size || sb.policy != rec->policy) {
        g_set_error(errp, REC_ERROR, REC_ERROR_INVALID,
                    "the pool (%" G_GUINT64_FORMAT " bytes, %" G_GUINT32_FORMAT
                    " function slots, policy %s) is not laid out like this "
                    "recorder's (%" G_GUINT64_FORMAT " bytes, %"
                    G_GUINT32_FORMAT " slots, policy %s)",
                    sb.pool_size, sb.dir_slots,
                    predlog_policy_str(sb.policy),
                    rec->size, rec->max_functions,
                    predlog_policy_str(rec->policy));
        return false;
    }
    /* the records to come must match the source's (0: an older pool) */
    rec->salt = sb.salt;
    return true;
}

/* Read and check slot @id's directory entry into @a. */
static bool adopt_entry(PredlogRecorder *rec, unsigned id, AdoptFunction *a,
                        bool add_missing, GError **errp)
{
    const uint8_t *e;
    char name[PREDLOG_POOL_NAME_MAX + 1] = "";
    uint8_t want[PREDLOG_POOL_NAME_MAX + 1] = { 0 };
    RecFunction *f = &rec->funcs[id];
    uint64_t end = rec->data_offset + rec->data_size;

    if (!predlog_pool_seq_word_read(get_le64(rec->seq_table + id * 8ull),
                                    id, &a->published_seq)) {
        a->published_seq = 0;
    }
    e = predlog_pool_dir_entry(rec->base + DIR_OFFSET, id, &a->dir_copy);
    if (!e) {
        return true;
    }
    memcpy(name, e + PREDLOG_POOL_DIR_OFF_NAME, PREDLOG_POOL_NAME_MAX);
    if (id >= rec->n_functions && add_missing && id == rec->n_functions &&
        name[0]) {
        /* functions are numbered in the order they were added */
        function_setup(rec, e[PREDLOG_POOL_DIR_OFF_KIND], name, 0);
        rec->n_functions++;
    }
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
        f->cold_off = f->cold_size = f->cold_head = f->cold_held = 0;
        predlog_summary_reset(&f->pending);
        f->bytes = f->dropped = f->wraps = 0;
        f->touched_ns = 0;
    }
    predlog_rec_work_reset(rec);
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

        if (predlog_record_decode(area + pos, len - pos, rec->salt, &v) !=
            PREDLOG_RECORD_VALID) {
            pos = predlog_record_resync(area, len, pos + 1, rec->salt, &v);
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

bool predlog_recorder_adopt(PredlogRecorder *rec, bool add_missing,
                            GError **errp)
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
        if (!adopt_entry(rec, id, &af[id], add_missing, errp)) {
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
        RecBuffer b = { .offset = a->buf_offset, .size = a->buf_size };
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

        /*
         * Numbers acknowledged in a summary the source had not written
         * stay used: a gap counted as pending, not numbers handed twice.
         */
        f->next_seq = MAX(a->max_seq + 1, a->published_seq);
        f->records = f->next_seq - 1;
        publish_next_seq(rec, id);
        if (a->present) {
            f->generation = a->generation;
            f->dir_copy = a->dir_copy;
            f->level = a->level;
            f->created_ns = a->created_ns;
        } else {
            /* Added here but not in the region: name it there now. */
            f->generation = 0;
            f->dir_copy = 1;
            predlog_rec_dir_publish(rec, id);
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
    stats->largest_free = ps.largest_free;
    stats->compression = rec->compression;
    stats->moved = rec->moved;
}

unsigned predlog_recorder_n_functions(PredlogRecorder *rec)
{
    return rec->n_functions;
}

unsigned predlog_recorder_max_functions(PredlogRecorder *rec)
{
    return rec->max_functions;
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
    memcpy(stats->by_level, f->by_level, sizeof(stats->by_level));
    stats->hot_size = f->buf ? f->buf_size : 0;
    stats->hot_target = rec->policy == PREDLOG_POLICY_FIXED ?
                        rec->slot_size : f->buffer_size;
    stats->cold_size = f->cold_held;
    stats->cold_budget = f->cold_budget;
    stats->chunks = f->chunks;
    stats->chunk_in = f->chunk_in;
    stats->chunk_out = f->chunk_out;
    stats->lost_laps = f->lost_laps;
    stats->sealed_size = f->sealed_bytes;
    stats->spare_size = f->spare != REC_SPARE_NONE ? f->spare_size : 0;
    stats->spare_misses = f->spare_misses;
    stats->spare_refused = f->spare_refused;
    return true;
}

uint64_t predlog_recorder_salt(PredlogRecorder *rec)
{
    return rec->salt;
}

unsigned predlog_recorder_used_percent(PredlogRecorder *rec)
{
    PredlogPoolStats ps;

    predlog_pool_get_stats(rec->pool, &ps);
    return rec->data_size ? (unsigned)(ps.used * 100 / rec->data_size) : 0;
}

const char *predlog_compression_str(PredlogCompression compression)
{
    switch (compression) {
    case PREDLOG_COMPRESSION_NONE:
        return "none";
    case PREDLOG_COMPRESSION_ZSTD:
        return "zstd";
    case PREDLOG_COMPRESSION__MAX:
        break;
    }
    return "unknown";
}
