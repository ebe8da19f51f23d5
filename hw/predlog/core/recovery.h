/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: reading a pool image after a crash
 *
 * The reader side of recorder.h: validates a region image (typically a
 * memory-backend-file left behind by a QEMU killed with SIGKILL), reads the
 * function directory, and returns every committed record, classifying the
 * rest as torn or overwritten.  Used by tools/predlog-recover and by the
 * unit tests that simulate crashes at every instant of a write.
 *
 * Pure C11 + GLib, no QEMU headers.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_RECOVERY_H
#define HW_PREDLOG_RECOVERY_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "recorder.h"

#define PREDLOG_RECOVERY_ERROR (predlog_recovery_error_quark())
GQuark predlog_recovery_error_quark(void);

typedef enum PredlogRecoveryError {
    PREDLOG_RECOVERY_ERROR_NOT_A_POOL,  /* no superblock magic */
    PREDLOG_RECOVERY_ERROR_VERSION,     /* a pool of an unknown version */
    PREDLOG_RECOVERY_ERROR_CORRUPT,     /* superblock CRC or fields bad */
    PREDLOG_RECOVERY_ERROR_TRUNCATED,   /* image shorter than pool_size */
} PredlogRecoveryError;

/* One function as the directory names it. */
typedef struct PredlogImageFunction {
    int id;
    PredlogFunctionKind kind;
    PredlogRecordLevel level;
    char name[PREDLOG_POOL_NAME_MAX + 1];
    uint64_t generation;
    uint64_t buf_offset;        /* active buffer, 0 if none */
    uint64_t buf_size;
    uint64_t created_ns;
    /*
     * Its directory entry is damaged (both copies written, neither
     * intact): found by its records, named "salvaged-<id>", no active
     * buffer, kind and level from its records.
     */
    bool salvaged;

    /* filled by predlog_image_scan() */
    uint64_t committed;         /* VALID records returned (summaries too) */
    uint64_t torn;              /* 0 or 1: the write under way at death */
    uint64_t overwritten;       /* seq numbers in [1, max_seq] not found */
    uint64_t max_seq;
    uint64_t summarised;        /* seq numbers covered by SUMMARY records */
    uint64_t from_cold;         /* records returned from cold-tier chunks */
    uint64_t by_level[PREDLOG_RECORD_LEVEL__MAX + 1]; /* returned, per level */
    /*
     * From the sequence table (pools with one): the next sequence number
     * the function would have handed out (0: none published, or the word
     * is damaged), and the numbers in (max_seq, published_seq) -- records
     * acknowledged to their logger but in no record of the pool, i.e. a
     * pending summary that the crash cut.
     */
    uint64_t published_seq;
    uint64_t pending;
} PredlogImageFunction;

/*
 * One committed record.  payload points into the image, or for a record
 * unpacked from a cold-tier chunk into memory the image owns.
 */
typedef struct PredlogRecoveredRecord {
    uint64_t offset;            /* in the image (of the chunk, if in_chunk) */
    bool in_chunk;
    PredlogRecordView view;
} PredlogRecoveredRecord;

typedef struct PredlogImage PredlogImage;

/*
 * Validate the superblock and read the directory of the @len bytes at
 * @base (which must stay valid while the image is used).  Fails, with a
 * message that says what is wrong, on anything that is not a pool of a
 * version this reader knows; directory entries with bad CRCs are skipped,
 * never trusted.
 */
PredlogImage *predlog_image_open(const void *base, size_t len,
                                 GError **errp);
void predlog_image_free(PredlogImage *img);

/* Superblock fields */
PredlogPolicy predlog_image_policy(PredlogImage *img);
/* The owner's policy: "fixed", "dynamic" or "predictive" (a flag). */
const char *predlog_image_policy_name(PredlogImage *img);
uint64_t predlog_image_pool_size(PredlogImage *img);
uint64_t predlog_image_created_ns(PredlogImage *img);
const char *predlog_image_name(PredlogImage *img);
/*
 * The salt the pool's records are checksummed with (record.h); 0 for a
 * pool without the SALT flag.  Every scan decodes with it, so a record
 * of another salt, such as one a guest forged inside a payload, is never
 * returned.
 */
uint64_t predlog_image_salt(PredlogImage *img);

/*
 * Functions with a valid directory entry, in id order; after a scan, then
 * the salvaged ones (see PredlogImageFunction.salvaged).
 */
unsigned predlog_image_n_functions(PredlogImage *img);
const PredlogImageFunction *predlog_image_function(PredlogImage *img,
                                                   unsigned index);
/* By id; NULL if the directory has no valid entry for it. */
const PredlogImageFunction *predlog_image_function_by_id(PredlogImage *img,
                                                         int id);

typedef struct PredlogRecoveryTotals {
    uint64_t committed;
    uint64_t torn;
    uint64_t overwritten;
    /* VALID records of function ids the directory never named */
    uint64_t orphaned;
    /*
     * Same (function, seq) found twice, not counting a fast-tier copy of a
     * record that is also in a chunk (normal).
     */
    uint64_t duplicates;
    uint64_t summarised;
    uint64_t from_cold;
    uint64_t pending;
    /* sequence table words that are neither 0 nor intact */
    uint64_t damaged_seq_words;
    uint64_t chunks;            /* CHUNK records unpacked */
    uint64_t bad_chunks;        /* CHUNK records that did not unpack fully */
    /*
     * CHUNK records left packed because unpacking them would have passed
     * the image's unpack limit, and their orig_len sum; the records in
     * them are not returned (they count as overwritten).
     */
    uint64_t chunks_over_limit;
    uint64_t bytes_over_limit;
    /* directory entries written once but with neither copy intact now */
    uint64_t damaged_entries;
    /* functions whose directory entry is damaged, found by their records */
    uint64_t salvaged_functions;
    uint64_t salvaged;          /* records returned of those functions */
} PredlogRecoveryTotals;

/*
 * Scan the data area and return every committed (VALID) record of a
 * function the directory names, sorted by (timestamp, function id, seq),
 * each (function, seq) once.  CHUNK records are unpacked, not returned:
 * the records inside are returned like the others.  SUMMARY records are
 * returned; the sequence numbers they cover count as found.  Fills the
 * per-function counters of the directory and @totals (if non-NULL).
 * Records of a function whose directory entry is damaged (written, but
 * neither copy intact) are salvaged: the function is added to the image
 * as "salvaged-<id>".  Records of ids the directory never named are
 * counted as orphaned.
 * Never returns a record that does not decode VALID.  The result is an
 * array of PredlogRecoveredRecord, valid while @img is.
 */
GArray *predlog_image_scan(PredlogImage *img, PredlogRecoveryTotals *totals);

/*
 * A zstd chunk of a few bytes may claim up to PREDLOG_CHUNK_MAX_INPUT
 * bytes, so what one scan decompresses and keeps is capped: by default
 * at PREDLOG_RECOVERY_UNPACK_RATIO times the pool's data area, and at
 * least PREDLOG_RECOVERY_UNPACK_MIN.  The recorder's chunks compress
 * records about 2:1 (bench/README.md), so a real pool stays far below
 * the default; a forged one is stopped by it.  0 means no limit.
 */
#define PREDLOG_RECOVERY_UNPACK_MIN     (256ull * 1024 * 1024)
#define PREDLOG_RECOVERY_UNPACK_RATIO   16u

uint64_t predlog_image_unpack_limit(PredlogImage *img);
void predlog_image_set_unpack_limit(PredlogImage *img, uint64_t bytes);

#endif /* HW_PREDLOG_RECOVERY_H */
