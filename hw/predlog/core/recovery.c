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
    uint64_t pool_size;
    uint64_t created_ns;
    uint32_t dir_slots;
    uint64_t data_offset;
    uint64_t data_size;
    char name[PREDLOG_POOL_NAME_MAX + 1];
    GArray *funcs;              /* PredlogImageFunction, in id order */
    int *index_of;              /* dir_slots: id -> index in funcs, or -1 */
    GPtrArray *unpacked;        /* contents of chunks, for record payloads */
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
    const uint8_t *sb = img->base;
    uint32_t version, crc, want_crc, sb_size, entry_size, policy, flags;
    uint64_t dir_offset, dir_end;

    if (img->len < 8 || get_le64(sb) != PREDLOG_POOL_MAGIC) {
        if (img->len < 8) {
            g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                        PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
                        "not a predlog pool (%zu bytes, too short for the "
                        "magic)", img->len);
        } else {
            g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                        PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
                        "not a predlog pool (bad magic)");
        }
        return false;
    }
    if (img->len < PREDLOG_POOL_SB_OFF_VERSION + 4) {
        g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                    PREDLOG_RECOVERY_ERROR_TRUNCATED,
                    "predlog pool image is truncated: %zu bytes, less than "
                    "its %u-byte superblock", img->len,
                    PREDLOG_POOL_SB_SIZE);
        return false;
    }
    /* Before the CRC: another version may checksum differently. */
    version = get_le32(sb + PREDLOG_POOL_SB_OFF_VERSION);
    if (version != PREDLOG_POOL_VERSION) {
        g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                    PREDLOG_RECOVERY_ERROR_VERSION,
                    "predlog pool version %" G_GUINT32_FORMAT " is not "
                    "supported; this reader knows version %u",
                    version, PREDLOG_POOL_VERSION);
        return false;
    }
    if (img->len < PREDLOG_POOL_SB_SIZE) {
        g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                    PREDLOG_RECOVERY_ERROR_TRUNCATED,
                    "predlog pool image is truncated: %zu bytes, less than "
                    "its %u-byte superblock", img->len,
                    PREDLOG_POOL_SB_SIZE);
        return false;
    }
    crc = get_le32(sb + PREDLOG_POOL_SB_OFF_CRC);
    want_crc = predlog_crc32c(0, sb, PREDLOG_POOL_SB_OFF_CRC);
    if (crc != want_crc) {
        g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                    PREDLOG_RECOVERY_ERROR_CORRUPT,
                    "predlog pool superblock is corrupt: checksum 0x%08"
                    PRIx32 " stored, 0x%08" PRIx32 " computed",
                    crc, want_crc);
        return false;
    }

    sb_size = get_le32(sb + PREDLOG_POOL_SB_OFF_SB_SIZE);
    entry_size = get_le32(sb + PREDLOG_POOL_SB_OFF_DIR_ENTRY_SIZE);
    policy = get_le32(sb + PREDLOG_POOL_SB_OFF_POLICY);
    flags = get_le32(sb + PREDLOG_POOL_SB_OFF_FLAGS);
    dir_offset = get_le64(sb + PREDLOG_POOL_SB_OFF_DIR_OFFSET);
    img->pool_size = get_le64(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE);
    img->dir_slots = get_le32(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS);
    img->data_offset = get_le64(sb + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    img->data_size = get_le64(sb + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    img->created_ns = get_le64(sb + PREDLOG_POOL_SB_OFF_CREATED);
    copy_name(img->name, sb + PREDLOG_POOL_SB_OFF_NAME);

#define SB_CORRUPT(...) \
    do { \
        g_set_error(errp, PREDLOG_RECOVERY_ERROR, \
                    PREDLOG_RECOVERY_ERROR_CORRUPT, \
                    "predlog pool superblock is corrupt: " __VA_ARGS__); \
        return false; \
    } while (0)

    if (sb_size != PREDLOG_POOL_SB_SIZE) {
        SB_CORRUPT("superblock size %" G_GUINT32_FORMAT ", expected %u",
                   sb_size, PREDLOG_POOL_SB_SIZE);
    }
    if (entry_size != PREDLOG_POOL_DIR_ENTRY_SIZE) {
        SB_CORRUPT("directory entry size %" G_GUINT32_FORMAT
                   ", expected %u", entry_size, PREDLOG_POOL_DIR_ENTRY_SIZE);
    }
    if (dir_offset != PREDLOG_POOL_SB_SIZE) {
        SB_CORRUPT("directory offset %" PRIu64 ", expected %u",
                   dir_offset, PREDLOG_POOL_SB_SIZE);
    }
    if (img->dir_slots < PREDLOG_RECORDER_MIN_FUNCTIONS ||
        img->dir_slots > PREDLOG_RECORDER_MAX_FUNCTIONS) {
        SB_CORRUPT("%" G_GUINT32_FORMAT " directory slots, expected %u "
                   "to %u", img->dir_slots, PREDLOG_RECORDER_MIN_FUNCTIONS,
                   PREDLOG_RECORDER_MAX_FUNCTIONS);
    }
    if (policy >= PREDLOG_POLICY__MAX) {
        SB_CORRUPT("unknown policy %" G_GUINT32_FORMAT, policy);
    }
    if (flags) {
        SB_CORRUPT("unknown flags 0x%" PRIx32, flags);
    }
    dir_end = dir_offset + (uint64_t)img->dir_slots * 2 * entry_size;
    if (img->data_offset < dir_end ||
        img->data_offset > img->pool_size ||
        img->data_size > img->pool_size - img->data_offset) {
        SB_CORRUPT("directory [%" PRIu64 ", %" PRIu64 ") and data area [%"
                   PRIu64 ", +%" PRIu64 ") do not fit a pool of %" PRIu64
                   " bytes", dir_offset, dir_end, img->data_offset,
                   img->data_size, img->pool_size);
    }
#undef SB_CORRUPT

    if (img->pool_size > img->len) {
        g_set_error(errp, PREDLOG_RECOVERY_ERROR,
                    PREDLOG_RECOVERY_ERROR_TRUNCATED,
                    "predlog pool image is truncated: the superblock says %"
                    PRIu64 " bytes, the image has %zu",
                    img->pool_size, img->len);
        return false;
    }
    img->policy = policy;
    return true;
}

/* Whether directory entry copy @e is complete and belongs to slot @id. */
static bool dir_entry_ok(const uint8_t *e, uint32_t id)
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

static void read_directory(PredlogImage *img)
{
    const uint8_t *dir = img->base + PREDLOG_POOL_SB_SIZE;

    img->funcs = g_array_new(false, true, sizeof(PredlogImageFunction));
    img->index_of = g_new(int, img->dir_slots);
    for (uint32_t id = 0; id < img->dir_slots; id++) {
        const uint8_t *a = dir + 2 * (uint64_t)id *
                           PREDLOG_POOL_DIR_ENTRY_SIZE;
        const uint8_t *b = a + PREDLOG_POOL_DIR_ENTRY_SIZE;
        const uint8_t *e = NULL;
        PredlogImageFunction f = { 0 };

        if (dir_entry_ok(a, id)) {
            e = a;
        }
        if (dir_entry_ok(b, id) &&
            (!e || get_le64(b + PREDLOG_POOL_DIR_OFF_GENERATION) >
                   get_le64(a + PREDLOG_POOL_DIR_OFF_GENERATION))) {
            e = b;
        }
        img->index_of[id] = -1;
        if (!e) {
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
    return img;
}

void predlog_image_free(PredlogImage *img)
{
    if (!img) {
        return;
    }
    g_array_unref(img->funcs);
    g_free(img->index_of);
    if (img->unpacked) {
        g_ptr_array_unref(img->unpacked);
    }
    g_free(img);
}

PredlogPolicy predlog_image_policy(PredlogImage *img)
{
    return img->policy;
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
        predlog_record_decode(img->base + head, end - head, &v) ==
        PREDLOG_RECORD_TORN) {
        return true;
    }
    return head != start &&
           predlog_record_decode(img->base + start, end - start, &v) ==
           PREDLOG_RECORD_TORN;
}

/*
 * Unpack the CHUNK record @chunk (VALID, of a known function) and append
 * the records inside to @found.  The contents are untrusted: they must
 * decompress to exactly orig_len bytes and hold VALID records of the
 * chunk's function back to back; the first thing that is not ends the
 * chunk (returns false: the rest of it is lost).
 */
static bool unpack_chunk(PredlogImage *img, const PredlogRecoveredRecord *chunk,
                         GArray *found)
{
    const PredlogRecordView *cv = &chunk->view;
    uint32_t len = cv->hdr.orig_len;
    uint8_t *raw;
    size_t pos = 0;

    if (cv->hdr.aux == PREDLOG_CHUNK_CODEC_NONE) {
        if (cv->hdr.stored_len != len) {
            return false;
        }
        raw = (uint8_t *)cv->payload;   /* stays in the image */
    } else if (cv->hdr.aux == PREDLOG_CHUNK_CODEC_ZSTD) {
        size_t n;

        /* orig_len <= PREDLOG_RECORD_MAX_PAYLOAD: decode() checked it */
        raw = g_malloc(MAX(len, 1));
        n = ZSTD_decompress(raw, len, cv->payload, cv->hdr.stored_len);
        if (ZSTD_isError(n) || n != len) {
            g_free(raw);
            return false;
        }
        if (!img->unpacked) {
            img->unpacked = g_ptr_array_new_with_free_func(g_free);
        }
        g_ptr_array_add(img->unpacked, raw);
    } else {
        return false;
    }

    while (pos < len) {
        PredlogRecoveredRecord r = { .offset = chunk->offset,
                                     .in_chunk = true };

        if (predlog_record_decode(raw + pos, len - pos, &r.view) !=
            PREDLOG_RECORD_VALID ||
            r.view.hdr.func_id != cv->hdr.func_id ||
            r.view.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            return false;
        }
        g_array_append_val(found, r);
        pos += r.view.size;
    }
    return true;
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

GArray *predlog_image_scan(PredlogImage *img, PredlogRecoveryTotals *totals)
{
    const uint8_t *area = img->base + img->data_offset;
    size_t area_len = img->data_size;
    unsigned n_funcs = img->funcs->len;
    g_autofree ScanFunction *sf = g_new0(ScanFunction, n_funcs);
    g_autofree ScanKey *keys = NULL;
    g_autoptr(GArray) found = g_array_new(false, false,
                                          sizeof(PredlogRecoveredRecord));
    PredlogRecoveryTotals t = { 0 };
    GArray *out;
    size_t pos = 0, n, kept;
    uint32_t prev_func = 0;
    uint64_t prev_seq = 0;
    bool prev_in_chunk = false;

    for (unsigned i = 0; i < n_funcs; i++) {
        PredlogImageFunction *f = &g_array_index(img->funcs,
                                                 PredlogImageFunction, i);

        f->committed = f->torn = f->overwritten = f->max_seq = 0;
        f->summarised = f->from_cold = 0;
        memset(f->by_level, 0, sizeof(f->by_level));
    }

    /*
     * Walk the data area: step over VALID records, resynchronise on
     * anything else.  Stepping over a VALID record's bytes never skips a
     * committed one: a record written inside them would have changed
     * them, and the outer record would no longer decode VALID.
     */
    while (pos < area_len) {
        PredlogRecoveredRecord r = { 0 };
        int idx;

        if (predlog_record_decode(area + pos, area_len - pos, &r.view) !=
            PREDLOG_RECORD_VALID) {
            pos = predlog_record_resync(area, area_len, pos + 1, &r.view);
            if (pos >= area_len) {
                break;
            }
        }
        r.offset = img->data_offset + pos;
        pos += r.view.size;

        idx = r.view.hdr.func_id < img->dir_slots ?
              img->index_of[r.view.hdr.func_id] : -1;
        if (idx < 0) {
            t.orphaned++;
            continue;
        }
        if (r.view.hdr.type == PREDLOG_RECORD_TYPE_CHUNK) {
            t.chunks++;
            if (!unpack_chunk(img, &r, found)) {
                t.bad_chunks++;
            }
            continue;
        }
        g_array_append_val(found, r);

        /* The newest record inside the active buffer ends at its head. */
        {
            const PredlogImageFunction *f =
                &g_array_index(img->funcs, PredlogImageFunction, idx);
            uint64_t end = r.offset + r.view.size;

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
     * Deduplicate by (function, seq), keeping the lowest offset (of a
     * chunk, for a record found in one).
     */
    n = found->len;
    keys = g_new(ScanKey, MAX(n, 1));
    for (size_t i = 0; i < n; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(found, PredlogRecoveredRecord, i);

        keys[i].k1 = 0;
        keys[i].func = r->view.hdr.func_id;
        keys[i].k2 = r->view.hdr.seq;
        keys[i].idx = i;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    kept = 0;
    for (size_t i = 0; i < n; i++) {
        ScanKey k = keys[i];
        const PredlogRecoveredRecord *r;
        int idx = img->index_of[k.func];
        PredlogImageFunction *f;

        r = &g_array_index(found, PredlogRecoveredRecord, k.idx);
        if (i > 0 && k.func == prev_func && k.k2 == prev_seq) {
            /* A fast-tier copy of a record aged into a chunk is normal. */
            if (!r->in_chunk && !prev_in_chunk) {
                t.duplicates++;
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

    for (unsigned i = 0; i < n_funcs; i++) {
        PredlogImageFunction *f = &g_array_index(img->funcs,
                                                 PredlogImageFunction, i);
        /* seq 0 is never written, but is not in [1, max_seq] either. */
        uint64_t numbered = MIN(sf[i].numbered, f->max_seq);

        f->overwritten = f->max_seq - numbered;
        f->torn = active_buffer_torn(img, f, &sf[i]) ? 1 : 0;
        t.committed += f->committed;
        t.torn += f->torn;
        t.overwritten += f->overwritten;
        t.summarised += f->summarised;
        t.from_cold += f->from_cold;
    }
    if (totals) {
        *totals = t;
    }
    return out;
}
