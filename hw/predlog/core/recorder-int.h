/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the recorder's host state, shared by recorder.c (record path,
 * layout, adopt) and recorder-work.c (background ageing).  Not part of
 * the recorder's interface: nothing outside those two files includes it.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_RECORDER_INT_H
#define HW_PREDLOG_RECORDER_INT_H

#include <glib.h>
#include <zstd.h>

#include "pool.h"
#include "record.h"
#include "recorder.h"
#include "summary.h"

/*
 * zstd level of the cold tier: level 1 compresses typical log data 2-4x
 * at several hundred MB/s, so ageing a buffer costs a fraction of what
 * writing its records did; higher levels gain little on such data.
 */
#define PREDLOG_ZSTD_LEVEL          1

#define DIR_OFFSET          PREDLOG_POOL_SB_SIZE
#define DIR_ALIGN           4096u
#define POOL_ROUND_DOWN(v)  ((v) & ~(uint64_t)(PREDLOG_POOL_ALIGN - 1))
#define POOL_ROUND_UP(v)    POOL_ROUND_DOWN((v) + PREDLOG_POOL_ALIGN - 1)

/* How stale the allocator's stamp of an active buffer may get. */
#define PREDLOG_TOUCH_INTERVAL_NS   (10 * 1000 * 1000ull)

/* Data offsets stay aligned for the allocator and the record seals. */
G_STATIC_ASSERT(DIR_ALIGN % PREDLOG_POOL_ALIGN == 0);
G_STATIC_ASSERT(PREDLOG_POOL_ALIGN % PREDLOG_RECORD_ALIGN == 0);
/* Function ids are 16-bit in records and must never be OWNER_NONE. */
G_STATIC_ASSERT(PREDLOG_RECORDER_MAX_FUNCTIONS <= UINT16_MAX);

typedef struct RecBuffer {
    uint64_t offset;
    uint64_t size;
    bool cold;                  /* a cold-tier buffer (chunks) */
    /*
     * Background ageing: a former active buffer whose records [aged, end)
     * still wait for the worker.  Pinned, so nothing moves or evicts it
     * while the worker reads it without the lock.
     */
    bool sealed;
    uint64_t aged;
    uint64_t end;
} RecBuffer;

/* The spare fast-tier buffer of a function (background ageing). */
typedef enum RecSpareState {
    REC_SPARE_NONE,             /* none, or wanted (RecFunction.want_spare) */
    REC_SPARE_DIRTY,            /* held and pinned, to be zeroed */
    REC_SPARE_ZEROING,          /* the worker zeroes it, without the lock */
    REC_SPARE_READY,            /* zeroed: the record path may switch to it */
} RecSpareState;

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
    GArray *buffers;            /* RecBuffer: held, oldest first, active too */
    uint64_t held;              /* bytes of those */
    uint64_t by_level[PREDLOG_RECORD_LEVEL__MAX + 1];

    /* Cold tier: the buffer chunks are appended to (0: none yet). */
    uint64_t cold_off;
    uint64_t cold_size;
    uint64_t cold_head;
    uint64_t cold_held;         /* bytes of cold buffers held */
    uint64_t cold_budget;       /* 0: no limit */
    uint64_t chunks;
    uint64_t chunk_in;
    uint64_t chunk_out;
    uint64_t lost_laps;

    /* Background ageing (rec->work_ready): the double buffer. */
    RecSpareState spare;
    uint64_t spare_off;
    uint64_t spare_size;
    bool want_spare;            /* the worker should get one */
    uint64_t sealed_bytes;      /* of sealed buffers, not yet aged */
    uint64_t spare_misses;
    uint64_t spare_refused;     /* spares the pool had no room for */

    /* SUMMARY level: records counted since the last summary was written. */
    PredlogSummary pending;
    PredlogRecordType pending_type;
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
    uint64_t salt;              /* of the records (record.h) */
    uint8_t *seq_table;         /* max_functions next_seq words */
    uint64_t slot_size;         /* FIXED: the one buffer of every function */
    uint64_t buffer_size;       /* DYNAMIC: default for new functions */
    PredlogPool *pool;
    RecFunction *funcs;         /* max_functions, the first n_functions used */
    unsigned n_functions;
    uint64_t evictions;
    uint64_t pinned;            /* bytes of active, spare, sealed buffers */
    uint32_t unborn;            /* slots whose function has no buffer yet */
    bool broken;                /* a failed adopt: log nothing */

    PredlogCompression compression;
    uint64_t cold_segment;
    uint64_t moved;             /* bytes compaction copied, lifetime */
    ZSTD_CCtx *zctx;            /* reused for every chunk */
    uint8_t *zbuf;              /* compressed chunk scratch */
    size_t zbuf_size;

    /*
     * Background ageing.  With work_ready set, zctx and zbuf belong to
     * the worker, which uses them without the lock.
     */
    void (*work_ready)(void *opaque);
    void *work_opaque;
    bool work_busy;             /* a step is between its two lock holds */
    uint64_t epoch;             /* bumped by adopt: older steps are void */
    unsigned work_next;         /* round robin over the functions */
};

/* What predlog_rec_buffer_switch() does with the buffer it leaves. */
typedef enum RecOldBuffer {
    REC_OLD_KEEP,               /* history: unpinned, evictable */
    REC_OLD_RELEASE,            /* aged already: freed */
    REC_OLD_SEAL,               /* background ageing: sealed, pinned */
} RecOldBuffer;

/*
 * Helpers of recorder.c that recorder-work.c uses; each is described at
 * its definition.  All run with the owner's lock held.
 */
RecBuffer *predlog_rec_find_buffer(RecFunction *f, uint64_t offset,
                                   guint *index);
void predlog_rec_buffer_release(PredlogRecorder *rec, unsigned id,
                                uint64_t off);
bool predlog_rec_buffer_alloc(PredlogRecorder *rec, unsigned id,
                              uint64_t size, uint64_t least, uint64_t now_ns,
                              uint64_t *off);
uint64_t predlog_rec_active_size_wanted(PredlogRecorder *rec, unsigned id,
                                        uint64_t size);
void predlog_rec_wrap(RecFunction *f);
void predlog_rec_buffer_switch(PredlogRecorder *rec, unsigned id,
                               uint64_t off, uint64_t now_ns,
                               RecOldBuffer old);
void predlog_rec_dir_publish(PredlogRecorder *rec, unsigned id);
size_t predlog_rec_chunk_pack(PredlogRecorder *rec, const uint8_t *raw,
                              size_t len, const uint8_t **payload,
                              PredlogChunkCodec *codec);
bool predlog_rec_cold_store(PredlogRecorder *rec, unsigned id,
                            const uint8_t *payload, size_t stored,
                            size_t len, PredlogChunkCodec codec,
                            uint64_t last_seq, uint64_t last_ts,
                            uint64_t now_ns);
uint64_t predlog_rec_chunk_end(const uint8_t *buf, uint64_t start,
                               uint64_t end, uint64_t max_in,
                               uint64_t *last_seq, uint64_t *last_ts);
uint64_t predlog_rec_chunk_max_in(PredlogRecorder *rec);

/* recorder-work.c: the record path's side of background ageing. */
bool predlog_rec_make_room_async(PredlogRecorder *rec, unsigned id,
                                 uint64_t size, uint64_t now_ns);
bool predlog_rec_resize_now_async(PredlogRecorder *rec, unsigned id,
                                  uint64_t now_ns);
void predlog_rec_work_reset(PredlogRecorder *rec);
void predlog_rec_want_spare(PredlogRecorder *rec, unsigned id);

#endif /* HW_PREDLOG_RECORDER_INT_H */
