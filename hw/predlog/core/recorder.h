/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the flight recorder's record path and on-pool layout
 *
 * A recorder owns one memory region (the pool: a shared file mapping for
 * crash survival, or anonymous memory).  It formats the region, keeps a
 * directory of I/O functions in it, gives each function buffers from the
 * extent allocator (pool.h), and appends records (record.h) to them.
 * Everything a reader needs after QEMU died at an arbitrary instant is in
 * the region itself; predlog-recover reads it through recovery.h.
 *
 * Pure C11 + GLib, no QEMU headers; not thread-safe (the device adapter
 * serialises calls with its own lock, which a background worker takes
 * too).
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_RECORDER_H
#define HW_PREDLOG_RECORDER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pool-format.h"
#include "record.h"

/*
 * The region is laid out as pool-format.h says.
 *
 * Buffers.  A buffer is an extent of the data area that one function
 * appends records to, back to back from its start.  A buffer is zeroed
 * before the directory names it, so the write protocol of record.h holds
 * (a torn record is recognisable against zeroes).  When the next record
 * does not fit at the end:
 *
 *  - policy FIXED: every function has exactly one buffer of
 *    data_size / max_functions bytes (rounded down to PREDLOG_POOL_ALIGN);
 *    the writer wraps to the buffer start and overwrites its oldest
 *    records (the classic circular flight recorder; the baseline);
 *  - policy DYNAMIC: the function gets a new buffer of its buffer size
 *    (predlog_recorder_set_buffer_size(); at least the record's size) from
 *    the allocator: from free space, compacting the pool when the free
 *    space is enough but in pieces (predlog_pool_defragment(), whose
 *    guarantee bounds when fragmentation can refuse a buffer: only when
 *    every window of that size holds an active buffer or what it holds
 *    does not fit elsewhere; a moved buffer is copied, then its old
 *    place zeroed), else by evicting the least recently used buffers
 *    that are not some function's active buffer, this function's own
 *    older buffers included; the directory then names the new buffer.
 *    Only if
 *    no buffer can be found does the writer wrap in its active buffer.
 *    Records in a buffer that was given up stay readable until the space
 *    is reused, and predlog-recover returns them.
 *
 * Tiers (DYNAMIC with compression ZSTD).  The active buffer is a
 * function's fast tier: records are written there uncompressed.  When
 * the next record does not fit (in that record's log call, so that call
 * pays for compressing the buffer, about a millisecond for 512 KiB --
 * unless a worker does it: "Background ageing" below), the
 * buffer's records age into the function's cold tier: they are packed,
 * back to back and unchanged, into CHUNK records (record.h) of at most
 * about cold_segment bytes each, compressed, and appended to the
 * function's current cold buffer (an extent of cold_segment bytes, more
 * if one chunk needs it; zeroed when allocated, never pinned, so the
 * least recently written cold buffers are what eviction takes).  Only
 * after the last chunk is sealed does the writer wrap in the active
 * buffer (or move to a newly sized one), so each record is always
 * committed in at least one place; until the new lap overwrites them the
 * fast tier holds copies of records that are also in a chunk, which
 * readers drop as duplicates.  If the cold tier cannot take a chunk (no
 * space even with eviction), the lap is overwritten as under FIXED and
 * counted (lost_laps).  Cold budgets (predlog_recorder_set_cold_budget())
 * are shares of a full pool: while the pool has room a cold tier grows
 * past its budget; when a cold buffer cannot be had without taking
 * history, a function over its budget gives up its own oldest cold
 * buffers first, then the function furthest over its budget does, and
 * only then are the least recently used buffers of anyone evicted.
 *
 * Granularity.  Each function logs at a level (PredlogRecordLevel) its
 * owner sets with predlog_recorder_set_level(): FULL stores the payload
 * as given (cut at the entry's max_stored), HEADER at most
 * PREDLOG_HEADER_LEN_* bytes of it (orig_len keeps the true length),
 * SUMMARY stores nothing per record: each record still gets its sequence
 * number and is added to the function's pending PredlogSummary, which
 * predlog_recorder_tick() (or a level change) writes as one SUMMARY
 * record.  A crash loses at most the records of the pending summary,
 * i.e. of one tick interval, and only at SUMMARY level.
 *
 * So every committed record lies in some buffer that once was active, and
 * a reader finds the records by scanning the data area (recovery.h); the
 * directory gives names, kinds and the active buffer, where the one torn
 * record per function can be.
 */

/* A buffer must hold at least this many largest records. */
#define PREDLOG_RECORDER_MIN_BUFFER         (16u * 1024)

typedef enum PredlogCompression {
    PREDLOG_COMPRESSION_NONE = 0,   /* no cold tier: buffers age as they are */
    PREDLOG_COMPRESSION_ZSTD = 1,   /* cold tier of zstd-compressed chunks */
    PREDLOG_COMPRESSION__MAX,
} PredlogCompression;

/*
 * Default size of a cold-tier buffer (and bound of a chunk's input).
 * Every function with a cold tier holds one partly written segment, and
 * the predictive allocator splits traffic into many small functions:
 * with 128 KiB segments their tails took more space than zstd saved
 * (bench-alloc: predictive kept 83.6 s of history on the bursty trace,
 * 110.8 s with 16 KiB), while zstd level 1 still finds most of the
 * redundancy of log records in 16 KiB of input.
 */
#define PREDLOG_RECORDER_COLD_SEGMENT       (16u * 1024)

typedef struct PredlogRecorderConfig {
    PredlogPolicy policy;
    uint32_t max_functions;     /* directory slots */
    uint64_t buffer_size;       /* DYNAMIC: default size of a new buffer */
    PredlogCompression compression; /* DYNAMIC only; FIXED ignores it */
    uint64_t cold_segment;      /* 0: PREDLOG_RECORDER_COLD_SEGMENT */
    uint64_t created_ns;        /* written into the superblock */
    const char *name;           /* written into the superblock, may be NULL */
    uint32_t pool_flags;        /* PREDLOG_POOL_FLAG_*, for the superblock */
    /*
     * DYNAMIC with ZSTD: non-NULL asks for ageing off the record path
     * (see "Background ageing" below).  Called, with the owner's lock
     * held, whenever background work was queued; it must only wake the
     * worker, never call into the recorder.
     */
    void (*work_ready)(void *opaque);
    void *work_opaque;
    /*
     * The records' CRC salt (record.h), 0: a random one, which is what
     * the device uses; reproducible test pools give one (no zero half).
     */
    uint64_t salt;
} PredlogRecorderConfig;

typedef struct PredlogRecorder PredlogRecorder;

/*
 * Format @size bytes at @base (zeroing them) and return a recorder that
 * writes there, or NULL with @errp set if the region cannot hold the
 * superblock, the directory and one minimum buffer per function slot, or
 * if @cfg is out of range.  @base must stay mapped until
 * predlog_recorder_free().
 */
PredlogRecorder *predlog_recorder_new(void *base, uint64_t size,
                                      const PredlogRecorderConfig *cfg,
                                      GError **errp);
void predlog_recorder_free(PredlogRecorder *rec);

/*
 * Add an I/O function; returns its id (its directory index), or -1 with
 * @errp set if the directory is full or @name is empty or longer than
 * PREDLOG_POOL_NAME_MAX.  (predlog_recorder_new() already checked that
 * every slot can get a buffer.)  The function gets its first buffer when
 * it logs its first record.
 */
int predlog_recorder_add_function(PredlogRecorder *rec,
                                  PredlogFunctionKind kind,
                                  const char *name, uint64_t now_ns,
                                  GError **errp);

/*
 * DYNAMIC: size of the next active (fast-tier) buffer this function gets.
 * It takes effect when the current one is full, or at once through
 * predlog_recorder_resize_now().
 */
void predlog_recorder_set_buffer_size(PredlogRecorder *rec, int func_id,
                                      uint64_t size);

/*
 * DYNAMIC: replace the function's active buffer by one of its buffer size
 * now if their sizes differ (ageing the current records into the cold
 * tier first) -- how a forecast of a burst gets its buffer before the
 * burst arrives.  Returns true if the function then has a buffer of its
 * buffer size.
 */
bool predlog_recorder_resize_now(PredlogRecorder *rec, int func_id,
                                 uint64_t now_ns);

/*
 * DYNAMIC with a cold tier: the function's share of cold buffers when the
 * pool is full (0: no limit).
 */
void predlog_recorder_set_cold_budget(PredlogRecorder *rec, int func_id,
                                      uint64_t bytes);

/*
 * Level the function logs at from its next record on.  Leaving SUMMARY
 * writes the pending summary first.  Publishes the level in the
 * directory.  Returns false for an unknown function or level.
 */
bool predlog_recorder_set_level(PredlogRecorder *rec, int func_id,
                                PredlogRecordLevel level, uint64_t now_ns);

/*
 * Periodic work: write every pending summary.  The owner calls it every
 * refresh interval.
 */
void predlog_recorder_tick(PredlogRecorder *rec, uint64_t now_ns);

/* One piece of a record's payload. */
typedef struct PredlogPiece {
    const void *data;
    size_t len;
} PredlogPiece;

typedef struct PredlogEntry {
    PredlogRecordType type;
    PredlogRecordLevel level;
    uint32_t aux;
    uint32_t orig_len;          /* true length of the whole payload */
    uint64_t timestamp_ns;
    const PredlogPiece *pieces; /* concatenated, cut at max_stored */
    unsigned n_pieces;
    uint32_t max_stored;        /* store at most this many payload bytes */
} PredlogEntry;

typedef enum PredlogLogResult {
    PREDLOG_LOG_OK = 0,
    PREDLOG_LOG_DROPPED,        /* no space: counted as dropped */
    PREDLOG_LOG_BAD_FUNCTION,   /* unknown function id */
    PREDLOG_LOG_BAD_ENTRY,      /* impossible entry (type, level, size) */
} PredlogLogResult;

/*
 * Append one record for @func_id.  @now_ns is the caller's monotonic
 * clock, used for LRU order.  The record is logged at the coarser of
 * entry->level and the function's level (FULL > HEADER > SUMMARY); an
 * entry's SUMMARY means HEADER unless the function is at SUMMARY.  On
 * PREDLOG_LOG_OK the record is committed in the region (sealed), or at
 * SUMMARY level added to the pending summary, and @seq (if non-NULL) gets
 * its sequence number; sequence numbers start at 1 per function and have
 * no gaps among records that were logged OK.
 */
PredlogLogResult predlog_recorder_log(PredlogRecorder *rec, int func_id,
                                      const PredlogEntry *entry,
                                      uint64_t now_ns, uint64_t *seq);

typedef struct PredlogFunctionStats {
    int id;
    PredlogFunctionKind kind;
    const char *name;           /* owned by the recorder */
    PredlogRecordLevel level;
    uint64_t records;           /* logged OK, lifetime */
    uint64_t bytes;             /* payload bytes stored, lifetime */
    uint64_t dropped;           /* refused for lack of space */
    uint64_t wraps;             /* laps: wraps in a buffer, or spares */
    uint64_t buffer_size;       /* bytes of all buffers it holds now */
    uint32_t buffers;           /* buffers it holds now */
    uint64_t last_seq;
    uint64_t by_level[PREDLOG_RECORD_LEVEL__MAX + 1]; /* records per level */
    uint64_t hot_size;          /* active buffer */
    uint64_t hot_target;        /* buffer size it is to get */
    uint64_t cold_size;         /* bytes of cold-tier buffers held */
    uint64_t cold_budget;       /* 0: no limit */
    uint64_t chunks;            /* chunks written, lifetime */
    uint64_t chunk_in;          /* raw bytes aged into chunks, lifetime */
    uint64_t chunk_out;         /* bytes those chunks store, lifetime */
    uint64_t lost_laps;         /* laps overwritten without ageing */
    uint64_t sealed_size;       /* bytes of sealed buffers not yet aged */
    uint64_t spare_size;        /* the spare buffer (ready or not), or 0 */
    uint64_t spare_misses;      /* log calls that found no spare ready */
    uint64_t spare_refused;     /* spares the pool had no room for */
} PredlogFunctionStats;

typedef struct PredlogRecorderStats {
    PredlogPolicy policy;
    uint64_t size;              /* whole region */
    uint64_t data_size;         /* data area */
    uint64_t used;              /* data area in buffers */
    uint64_t free;
    uint32_t fragments;         /* free extents */
    uint32_t functions;
    uint64_t evictions;         /* buffers evicted, lifetime */
    uint64_t largest_free;      /* biggest free extent */
    PredlogCompression compression;
    uint64_t moved;             /* bytes compaction copied, lifetime */
} PredlogRecorderStats;

void predlog_recorder_get_stats(PredlogRecorder *rec,
                                PredlogRecorderStats *stats);
unsigned predlog_recorder_n_functions(PredlogRecorder *rec);
unsigned predlog_recorder_max_functions(PredlogRecorder *rec);
bool predlog_recorder_get_function_stats(PredlogRecorder *rec, int func_id,
                                         PredlogFunctionStats *stats);

/* Data-area use in percent (0..100), for the pool-pressure notice. */
unsigned predlog_recorder_used_percent(PredlogRecorder *rec);

/*
 * The salt the recorder's records are checksummed with: its pool's, or
 * after an adopt that of the adopted pool (0 for a pool formatted
 * before salts existed).
 */
uint64_t predlog_recorder_salt(PredlogRecorder *rec);

/*
 * Rebuild @rec's host-side state from its region after the region's bytes
 * were replaced by those of a recorder with the same configuration and
 * functions (incoming migration: guest RAM, the pool included, arrives
 * after the device was realized and formatted its pool).  Reads the
 * superblock's salt and the directory, finds each function's active
 * buffer, write head and last sequence number, and gives up older
 * buffers (their records stay readable until the space is reused).
 * Lifetime counters restart from the recovered sequence numbers.  With
 * @add_missing, functions the region names beyond the ones @rec has are
 * added (a recorder whose
 * functions are created as traffic shows up); without, or if the region
 * is not a pool of the same layout or names other functions, it fails,
 * leaving @rec unusable for logging until a later successful adopt.
 */
bool predlog_recorder_adopt(PredlogRecorder *rec, bool add_missing,
                            GError **errp);

/*
 * Background ageing.  With cfg->work_ready set (DYNAMIC + ZSTD), the
 * record path never compresses, never zeroes a buffer it did not have to
 * allocate itself, and never waits for the worker.  Each function's fast
 * tier is double-buffered: besides its active buffer it has a spare, of
 * its buffer size, that the worker zeroed beforehand.  When the next
 * record does not fit, the log call seals the active buffer (it stays
 * pinned, its records in place, committed) and makes the spare active,
 * in O(1).  The worker then packs the sealed buffer's records into
 * chunks, appends them to the cold tier one chunk per lock hold, and
 * zeroes the sealed buffer to be the next spare (or frees it if the
 * buffer size changed).  A record is thus committed in its sealed buffer
 * until the chunk holding it is; in between readers find it twice and
 * keep one.  If no spare is ready in time, the log call falls back to
 * allocating a buffer itself (zeroing it, as DYNAMIC without compression
 * does), and only if none can be had to wrapping in its active buffer,
 * counted in lost_laps.
 *
 * The owner runs the work on a thread of its own, calling
 * predlog_recorder_work_step() in a loop (without holding its lock; the
 * step takes it through @ops) and sleeping when it returns false, until
 * work_ready wakes it.  One worker per recorder.  Before
 * predlog_recorder_adopt() or predlog_recorder_free() the owner stops
 * its worker (or lets it run dry: predlog_recorder_work_pending() false,
 * and no step in progress).
 */
typedef struct PredlogWorkerOps {
    void (*lock)(void *opaque);
    void (*unlock)(void *opaque);
    uint64_t (*now_ns)(void *opaque);   /* the clock log calls are given */
    void *opaque;
} PredlogWorkerOps;

/*
 * Do one piece of background work: pack and store one chunk, or zero one
 * spare.  Call without the owner's lock.  False if there was none.
 */
bool predlog_recorder_work_step(PredlogRecorder *rec,
                                const PredlogWorkerOps *ops);

/* With the owner's lock held: would a step find work? */
bool predlog_recorder_work_pending(PredlogRecorder *rec);

/* Payload bytes a record of @kind keeps at PREDLOG_RECORD_LEVEL_HEADER. */
uint32_t predlog_header_len(PredlogFunctionKind kind);

/*
 * "none", "zstd"; "unknown" for other values.  (The names of policies
 * and function kinds are in pool-format.h.)
 */
const char *predlog_compression_str(PredlogCompression compression);

#endif /* HW_PREDLOG_RECORDER_H */
