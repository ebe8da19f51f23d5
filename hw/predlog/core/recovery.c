/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: reading a pool image after a crash
 *
 * Implements recovery.h.  The image is untrusted input (a file that a
 * dying QEMU, a full disk or a user may have left in any state): every
 * offset and length read from it is checked before it is used, and no
 * byte outside [base, base + len) is ever read.
 *
 * Records are found by walking the whole data area rather than by
 * following the directory: a buffer a function has given up is named
 * nowhere, yet its records stay committed until the space is reused.  The
 * directory contributes names, kinds and each function's active buffer,
 * the only place where the write under way at the time of death (the one
 * torn record per function) can be.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <zstd.h>

#include "record.h"
#include "recorder.h"
#include "recovery.h"
#include "summary.h"
#include "qemu/predlog/byteorder.h"

struct PredlogImage {
    const uint8_t *base;
    size_t len;
    PredlogPolicy policy;
    uint32_t flags;             /* PREDLOG_POOL_FLAG_* */
    uint64_t salt;              /* of the records; 0 in older pools */
    uint64_t pool_size;
    uint64_t created_ns;
    uint32_t dir_slots;
    uint64_t data_offset;
    uint64_t data_size;
    char name[PREDLOG_POOL_NAME_MAX + 1];
    /* PredlogImageFunction: the directory's in id order, then salvaged */
    GArray *funcs;
    int *index_of;              /* dir_slots: id -> index in funcs, or -1 */
    bool *damaged;              /* dir_slots: entry written, neither intact */
    GPtrArray *unpacked;        /* contents of chunks, for record payloads */
    uint64_t unpack_limit;      /* bytes one scan may decompress; 0: any */
    uint64_t unpacked_bytes;    /* decompressed and kept by this scan */
};

GQuark predlog_recovery_error_quark(void)
{
    return g_quark_from_static_string("predlog-recovery-error-quark");
}

/* Copy a NUL-padded on-pool name; stops at the first NUL, always ends. */
static void copy_name(char *dst, const uint8_t *src)
{
    size_t n = 0;

    while (n < PREDLOG_POOL_NAME_MAX && src[n]) {
        n++;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Superblock and directory                                            */
/* ------------------------------------------------------------------ */

static bool check_superblock(PredlogImage *img, GError **errp)
{
    static const PredlogRecoveryError code[] = {
        [PREDLOG_POOL_SB_NOT_A_POOL] = PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
        [PREDLOG_POOL_SB_TRUNCATED] = PREDLOG_RECOVERY_ERROR_TRUNCATED,
        [PREDLOG_POOL_SB_VERSION] = PREDLOG_RECOVERY_ERROR_VERSION,
        [PREDLOG_POOL_SB_CORRUPT] = PREDLOG_RECOVERY_ERROR_CORRUPT,
    };
    PredlogPoolSuperblock sb;
    g_autofree char *msg = NULL;
    PredlogPoolSbError why = predlog_pool_sb_read(img->base, img->len, &sb,
                                                  &msg);

    if (why) {
        g_set_error_literal(errp, PREDLOG_RECOVERY_ERROR, code[why], msg);
        return false;
    }
    img->pool_size = sb.pool_size;
    img->dir_slots = sb.dir_slots;
    img->data_offset = sb.data_offset;
    img->data_size = sb.data_size;
    img->created_ns = sb.created_ns;
    copy_name(img->name, (const uint8_t *)sb.name);
    if (img->pool_size > img->len) {
        g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                    PREDLOG_RECOVERY_ERROR_TRUNCATED,
                    "predlog pool image is truncated: the superblock says %"
                    PRIu64 " bytes, the image has %zu",
                    img->pool_size, img->len);
        return false;
    }
    img->policy = sb.policy;
    img->flags = sb.flags;
    img->salt = sb.salt;
    return true;
}

static void read_directory(PredlogImage *img)
{
    const uint8_t *dir = img->base + PREDLOG_POOL_SB_SIZE;

    img->funcs = g_array_new(false, true, sizeof(PredlogImageFunction));
    img->index_of = g_new(int, img->dir_slots);
    img->damaged = g_new0(bool, img->dir_slots);
    for (uint32_t id = 0; id < img->dir_slots; id++) {
        const uint8_t *e = predlog_pool_dir_entry(dir, id, NULL);
        PredlogImageFunction f = { 0 };

        img->index_of[id] = -1;
        if (!e) {
            /* never written (zero), or written and damaged since */
            const uint8_t *copies = dir + 2 * (uint64_t)id *
                                          PREDLOG_POOL_DIR_ENTRY_SIZE;

            for (unsigned i = 0; i < 2 * PREDLOG_POOL_DIR_ENTRY_SIZE; i++) {
                if (copies[i]) {
                    img->damaged[id] = true;
                    break;
                }
            }
            continue;
        }
        f.id = id;
        f.kind = e[PREDLOG_POOL_DIR_OFF_KIND];
        f.level = e[PREDLOG_POOL_DIR_OFF_LEVEL];
        copy_name(f.name, e + PREDLOG_POOL_DIR_OFF_NAME);
        f.generation = get_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION);
        f.buf_offset = get_le64(e + PREDLOG_POOL_DIR_OFF_BUF_OFFSET);
        f.buf_size = get_le64(e + PREDLOG_POOL_DIR_OFF_BUF_SIZE);
        f.created_ns = get_le64(e + PREDLOG_POOL_DIR_OFF_CREATED);
        img->index_of[id] = img->funcs->len;
        g_array_append_val(img->funcs, f);
    }
}

PredlogImage *predlog_image_open(const void *base, size_t len,
                                 GError **errp)
{
    PredlogImage *img = g_new0(PredlogImage, 1);

    img->base = base;
    img->len = base ? len : 0;
    if (!check_superblock(img, errp)) {
        g_free(img);
        return NULL;
    }
    read_directory(img);
    img->unpack_limit = MAX(PREDLOG_RECOVERY_UNPACK_MIN,
                            img->data_size * PREDLOG_RECOVERY_UNPACK_RATIO);
    return img;
}

uint64_t predlog_image_unpack_limit(PredlogImage *img)
{
    return img->unpack_limit;
}

void predlog_image_set_unpack_limit(PredlogImage *img, uint64_t bytes)
{
    img->unpack_limit = bytes;
}

void predlog_image_free(PredlogImage *img)
{
    if (!img) {
        return;
    }
    g_array_unref(img->funcs);
    g_free(img->index_of);
    g_free(img->damaged);
    if (img->unpacked) {
        g_ptr_array_unref(img->unpacked);
    }
    g_free(img);
}

PredlogPolicy predlog_image_policy(PredlogImage *img)
{
    return img->policy;
}

const char *predlog_image_policy_name(PredlogImage *img)
{
    if (img->flags & PREDLOG_POOL_FLAG_PREDICTIVE) {
        return "predictive";
    }
    return predlog_policy_str(img->policy);
}

uint64_t predlog_image_pool_size(PredlogImage *img)
{
    return img->pool_size;
}

uint64_t predlog_image_created_ns(PredlogImage *img)
{
    return img->created_ns;
}

const char *predlog_image_name(PredlogImage *img)
{
    return img->name;
}

uint64_t predlog_image_salt(PredlogImage *img)
{
    return img->salt;
}

unsigned predlog_image_n_functions(PredlogImage *img)
{
    return img->funcs->len;
}

const PredlogImageFunction *predlog_image_function(PredlogImage *img,
                                                   unsigned index)
{
    if (index >= img->funcs->len) {
        return NULL;
    }
    return &g_array_index(img->funcs, PredlogImageFunction, index);
}

const PredlogImageFunction *predlog_image_function_by_id(PredlogImage *img,
                                                         int id)
{
    if (id < 0 || (uint32_t)id >= img->dir_slots ||
        img->index_of[id] < 0) {
        return NULL;
    }
    return &g_array_index(img->funcs, PredlogImageFunction,
                          img->index_of[id]);
}

/* ------------------------------------------------------------------ */
/* Data area                                                           */
/* ------------------------------------------------------------------ */

/* Per function scratch of one scan. */
typedef struct ScanFunction {
    bool have_head;
    uint64_t head_seq;
    uint64_t head;              /* image offset after that record */
    uint64_t seq_zero;          /* records with seq 0 (none of ours) */
    uint64_t numbered;          /* seq numbers accounted for */
} ScanFunction;

/* Sort key; idx orders records found at the same key by image offset. */
typedef struct ScanKey {
    uint64_t k1;
    uint64_t k2;
    uint32_t func;
    size_t idx;
} ScanKey;

static int cmp_key(const void *pa, const void *pb)
{
    const ScanKey *a = pa, *b = pb;

    if (a->k1 != b->k1) {
        return a->k1 < b->k1 ? -1 : 1;
    }
    if (a->func != b->func) {
        return a->func < b->func ? -1 : 1;
    }
    if (a->k2 != b->k2) {
        return a->k2 < b->k2 ? -1 : 1;
    }
    if (a->idx != b->idx) {
        return a->idx < b->idx ? -1 : 1;
    }
    return 0;
}

/*
 * Whether the write under way when the writer died left a torn record in
 * @f's active buffer.  The writer writes the next record at the write
 * head, or at the buffer start if it did not fit before the buffer end
 * (record.h): decode both places.  The start only matters if the head is
 * elsewhere, and there it can only be torn by a wrap in progress, since
 * otherwise it holds the oldest record of the current lap, intact.
 */
static bool active_buffer_torn(PredlogImage *img,
                               const PredlogImageFunction *f,
                               const ScanFunction *sf)
{
    uint64_t start = f->buf_offset, end, head;
    PredlogRecordView v;

    if (!f->buf_size || start < img->data_offset ||
        start > img->data_offset + img->data_size ||
        f->buf_size > img->data_offset + img->data_size - start) {
        return false;
    }
    end = start + f->buf_size;
    head = sf->have_head ? sf->head : start;
    if (head < end &&
        predlog_record_decode(img->base + head, end - head, img->salt,
                              &v) ==
        PREDLOG_RECORD_TORN) {
        return true;
    }
    return head != start &&
           predlog_record_decode(img->base + start, end - start, img->salt,
                                 &v) ==
           PREDLOG_RECORD_TORN;
}

typedef enum {
    UNPACK_OK,
    UNPACK_BAD,                 /* the chunk ended early or did not decode */
    UNPACK_OVER_LIMIT,          /* left packed: over the scan's limit */
} UnpackResult;

/*
 * Unpack the CHUNK record @chunk (VALID, of a known function) and append
 * the records inside to @found.  The contents are untrusted: they must
 * decompress to exactly orig_len bytes and hold VALID records of the
 * chunk's function back to back; the first thing that is not ends the
 * chunk (UNPACK_BAD: the rest of it is lost).  zstd turns a few bytes
 * into up to 16 MiB, so a small forged pool could claim any amount of
 * memory: what one scan decompresses is capped by img->unpack_limit.
 */
static UnpackResult unpack_chunk(PredlogImage *img,
                                 const PredlogRecoveredRecord *chunk,
                                 GArray *found)
{
    const PredlogRecordView *cv = &chunk->view;
    uint32_t len = cv->hdr.orig_len;
    uint8_t *raw;
    size_t pos = 0;

    /* orig_len is the image's word: bound it before allocating for it */
    if (len > PREDLOG_CHUNK_MAX_INPUT) {
        return UNPACK_BAD;
    }
    if (cv->hdr.aux == PREDLOG_CHUNK_CODEC_NONE) {
        if (cv->hdr.stored_len != len) {
            return UNPACK_BAD;
        }
        raw = (uint8_t *)cv->payload;   /* stays in the image */
    } else if (cv->hdr.aux == PREDLOG_CHUNK_CODEC_ZSTD) {
        size_t n;

        if (img->unpack_limit &&
            len > img->unpack_limit - MIN(img->unpacked_bytes,
                                          img->unpack_limit)) {
            return UNPACK_OVER_LIMIT;
        }
        raw = g_try_malloc(MAX(len, 1));
        if (!raw) {
            return UNPACK_BAD;
        }
        n = ZSTD_decompress(raw, len, cv->payload, cv->hdr.stored_len);
        if (ZSTD_isError(n) || n != len) {
            g_free(raw);
            return UNPACK_BAD;
        }
        /*
         * The records found below point into it, even those of a chunk
         * that turns out bad further on.
         */
        if (!img->unpacked) {
            img->unpacked = g_ptr_array_new_with_free_func(g_free);
        }
        g_ptr_array_add(img->unpacked, raw);
        img->unpacked_bytes += len;
    } else {
        return UNPACK_BAD;
    }

    /* the records before a fault count; the chunk counts as bad */
    while (pos < len) {
        PredlogRecoveredRecord r = { .offset = chunk->offset,
                                     .in_chunk = true };

        if (predlog_record_decode(raw + pos, len - pos, img->salt,
                                  &r.view) !=
            PREDLOG_RECORD_VALID ||
            r.view.hdr.func_id != cv->hdr.func_id ||
            r.view.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            return UNPACK_BAD;
        }
        g_array_append_val(found, r);
        pos += r.view.size;
    }
    return UNPACK_OK;
}

/* Sequence numbers a returned record accounts for. */
static uint64_t seqs_covered(const PredlogRecordView *v)
{
    PredlogSummary sum;

    if (v->hdr.type != PREDLOG_RECORD_TYPE_SUMMARY) {
        return 1;
    }
    /* A summary that does not decode still is a record of its own. */
    if (!predlog_summary_decode(v->payload, v->hdr.stored_len, &sum) ||
        sum.last_seq != v->hdr.seq) {
        return 1;
    }
    return sum.records;
}

/* Reset: the per-function counts a scan fills in. */
static void scan_reset(PredlogImage *img)
{
    for (unsigned i = 0; i < img->funcs->len; i++) {
        PredlogImageFunction *f = &g_array_index(img->funcs,
                                                 PredlogImageFunction, i);

        f->committed = f->torn = f->overwritten = f->max_seq = 0;
        f->summarised = f->from_cold = 0;
        memset(f->by_level, 0, sizeof(f->by_level));
    }
}

/* The function kind a record of @type belongs to; 0 if it does not say. */
static PredlogFunctionKind kind_of_record(const PredlogRecordHeader *h)
{
    uint32_t type = h->type == PREDLOG_RECORD_TYPE_SUMMARY ? h->aux : h->type;

    switch (type) {
    case PREDLOG_RECORD_TYPE_NET_PACKET:
        return PREDLOG_FUNCTION_NET;
    case PREDLOG_RECORD_TYPE_BLOCK_REQUEST:
        return PREDLOG_FUNCTION_BLOCK;
    case PREDLOG_RECORD_TYPE_GUEST:
        return PREDLOG_FUNCTION_GUEST;
    }
    return 0;
}

/*
 * A record of function @id, whose directory entry is damaged: the records
 * name their function, so they can be recovered all the same, as a
 * function "salvaged-<id>" without an active buffer.  Its index in funcs.
 */
static int salvage_function(PredlogImage *img, uint32_t id,
                            const PredlogRecordHeader *h)
{
    PredlogImageFunction f = {
        .id = id,
        .kind = kind_of_record(h),
        .level = h->level,
        .salvaged = true,
    };

    g_snprintf(f.name, sizeof(f.name), "salvaged-%" PRIu32, id);
    img->index_of[id] = img->funcs->len;
    g_array_append_val(img->funcs, f);
    return img->index_of[id];
}

/*
 * Walk the data area: step over VALID records, resynchronise on anything
 * else.  Stepping over a VALID record's bytes never skips a committed
 * one: a record written inside them would have changed them, and the
 * outer record would no longer decode VALID.  Every record found (those
 * in chunks unpacked) is appended to @found; @sf gets each function's
 * newest record inside its active buffer.
 */
static void scan_walk(PredlogImage *img, ScanFunction *sf, GArray *found,
                      PredlogRecoveryTotals *t)
{
    const uint8_t *area = img->base + img->data_offset;
    size_t area_len = img->data_size;
    size_t pos = 0;

    while (pos < area_len) {
        PredlogRecoveredRecord r = { 0 };
        const PredlogImageFunction *f;
        uint64_t end;
        int idx;

        if (predlog_record_decode(area + pos, area_len - pos, img->salt,
                                  &r.view) != PREDLOG_RECORD_VALID) {
            pos = predlog_record_resync(area, area_len, pos + 1, img->salt,
                                        &r.view);
            if (pos >= area_len) {
                break;
            }
        }
        r.offset = img->data_offset + pos;
        pos += r.view.size;

        idx = r.view.hdr.func_id < img->dir_slots ?
              img->index_of[r.view.hdr.func_id] : -1;
        if (idx < 0 && r.view.hdr.func_id < img->dir_slots &&
            img->damaged[r.view.hdr.func_id]) {
            idx = salvage_function(img, r.view.hdr.func_id, &r.view.hdr);
        }
        if (idx < 0) {
            t->orphaned++;
            continue;
        }
        if (r.view.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            switch (unpack_chunk(img, &r, found)) {
            case UNPACK_OK:
                t->chunks++;
                break;
            case UNPACK_BAD:
                t->chunks++;
                t->bad_chunks++;
                break;
            case UNPACK_OVER_LIMIT:
                t->chunks_over_limit++;
                t->bytes_over_limit += r.view.hdr.orig_len;
                break;
            }
            continue;
        }
        g_array_append_val(found, r);

        /* The newest record inside the active buffer ends at its head. */
        f = &g_array_index(img->funcs, PredlogImageFunction, idx);
        end = r.offset + r.view.size;
        if (r.offset >= f->buf_offset &&
            end - f->buf_offset <= f->buf_size &&
            (!sf[idx].have_head || r.view.hdr.seq > sf[idx].head_seq)) {
            sf[idx].have_head = true;
            sf[idx].head_seq = r.view.hdr.seq;
            sf[idx].head = end;
        }
    }
}

/*
 * Deduplicate @found by (function, seq), keeping the lowest offset (of a
 * chunk, for a record found in one), count each function's records, and
 * return them in output order: (timestamp, function, seq).
 */
static GArray *scan_dedup(PredlogImage *img, ScanFunction *sf, GArray *found,
                          PredlogRecoveryTotals *t)
{
    size_t n = found->len, kept = 0;
    g_autofree ScanKey *keys = g_new(ScanKey, MAX(n, 1));
    uint32_t prev_func = 0;
    uint64_t prev_seq = 0;
    bool prev_in_chunk = false;
    GArray *out;

    for (size_t i = 0; i < n; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(found, PredlogRecoveredRecord, i);

        keys[i].k1 = 0;
        keys[i].func = r->view.hdr.func_id;
        keys[i].k2 = r->view.hdr.seq;
        keys[i].idx = i;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < n; i++) {
        ScanKey k = keys[i];
        const PredlogRecoveredRecord *r;
        int idx = img->index_of[k.func];
        PredlogImageFunction *f;

        r = &g_array_index(found, PredlogRecoveredRecord, k.idx);
        if (i > 0 && k.func == prev_func && k.k2 == prev_seq) {
            /* A fast-tier copy of a record aged into a chunk is normal. */
            if (!r->in_chunk && !prev_in_chunk) {
                t->duplicates++;
            }
            prev_in_chunk |= r->in_chunk;
            continue;
        }
        prev_func = k.func;
        prev_seq = k.k2;
        prev_in_chunk = r->in_chunk;
        f = &g_array_index(img->funcs, PredlogImageFunction, idx);
        f->committed++;
        f->by_level[r->view.hdr.level]++;
        if (!f->kind) {
            /* salvaged from a chunk: its records say what it is */
            f->kind = kind_of_record(&r->view.hdr);
        }
        if (f->salvaged) {
            t->salvaged++;
        }
        if (r->in_chunk) {
            f->from_cold++;
        }
        if (k.k2 == 0) {
            sf[idx].seq_zero++;
        } else {
            uint64_t covered = seqs_covered(&r->view);

            /* a summary of n records stands for n seqs, itself included */
            sf[idx].numbered += covered;
            if (r->view.hdr.type == PREDLOG_RECORD_TYPE_SUMMARY) {
                f->summarised += covered;
            }
        }
        f->max_seq = MAX(f->max_seq, k.k2);
        /* Reuse the array for the output order: (timestamp, fn, seq). */
        k.k1 = r->view.hdr.timestamp_ns;
        keys[kept++] = k;
    }
    qsort(keys, kept, sizeof(*keys), cmp_key);

    out = g_array_sized_new(false, false, sizeof(PredlogRecoveredRecord),
                            kept);
    for (size_t i = 0; i < kept; i++) {
        g_array_append_val(out, g_array_index(found, PredlogRecoveredRecord,
                                              keys[i].idx));
    }
    return out;
}

/* Totals: what each function lost, and the sums over all of them. */
/*
 * The function's word of the sequence table: the numbers acknowledged
 * above the highest one found are pending.  A record is committed before
 * its number is published, so max_seq may be published_seq itself.
 */
static void read_published_seq(PredlogImage *img, PredlogImageFunction *f,
                               PredlogRecoveryTotals *t)
{
    uint64_t at = predlog_pool_seq_table_offset(img->dir_slots) +
                  (uint64_t)f->id * 8;
    uint64_t word;

    f->published_seq = 0;
    f->pending = 0;
    if (!(img->flags & PREDLOG_POOL_FLAG_SEQ_TABLE) || f->id < 0 ||
        (uint32_t)f->id >= img->dir_slots || at + 8 > img->len) {
        return;
    }
    word = get_le64(img->base + at);
    if (!predlog_pool_seq_word_read(word, f->id, &f->published_seq)) {
        t->damaged_seq_words += word != 0;
        f->published_seq = 0;
        return;
    }
    if (f->published_seq > f->max_seq + 1) {
        f->pending = f->published_seq - 1 - f->max_seq;
    }
    t->pending += f->pending;
}

static void scan_totals(PredlogImage *img, const ScanFunction *sf,
                        PredlogRecoveryTotals *t)
{
    for (unsigned i = 0; i < img->funcs->len; i++) {
        PredlogImageFunction *f = &g_array_index(img->funcs,
                                                 PredlogImageFunction, i);
        /* seq 0 is never written, but is not in [1, max_seq] either. */
        uint64_t numbered = MIN(sf[i].numbered, f->max_seq);

        f->overwritten = f->max_seq - numbered;
        f->torn = active_buffer_torn(img, f, &sf[i]) ? 1 : 0;
        read_published_seq(img, f, t);
        t->committed += f->committed;
        t->torn += f->torn;
        t->overwritten += f->overwritten;
        t->summarised += f->summarised;
        t->from_cold += f->from_cold;
        t->salvaged_functions += f->salvaged;
    }
    for (uint32_t id = 0; id < img->dir_slots; id++) {
        t->damaged_entries += img->damaged[id];
    }
}

GArray *predlog_image_scan(PredlogImage *img, PredlogRecoveryTotals *totals)
{
    /* one per slot: salvaged functions join the directory's during the walk */
    g_autofree ScanFunction *sf = g_new0(ScanFunction, img->dir_slots);
    g_autoptr(GArray) found = g_array_new(false, false,
                                          sizeof(PredlogRecoveredRecord));
    PredlogRecoveryTotals t = { 0 };
    GArray *out;

    scan_reset(img);
    img->unpacked_bytes = 0;    /* the limit is per scan: scans agree */
    scan_walk(img, sf, found, &t);
    out = scan_dedup(img, sf, found, &t);
    scan_totals(img, sf, &t);
    if (totals) {
        *totals = t;
    }
    return out;
}
