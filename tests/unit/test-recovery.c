/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of predlog recovery: reading a pool image after a crash
 *
 * Crashes are simulated, not staged: a test keeps a copy of the region
 * before one more write, lets the recorder do the write on the live
 * region, and then builds every intermediate image the write passes
 * through (each byte boundary of the record, the zeroing of a new buffer,
 * the directory update) and checks that recovery returns exactly the
 * records that were committed and are still intact in that image.  Images
 * are allocated to their exact length, so that running this under
 * valgrind or -Db_sanitize=address catches any read past the end.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <sys/resource.h>
#include <glib.h>
#include <zstd.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/recovery.h"

#define DIR_SIZE(n) ((((uint64_t)(n) * 256) + 4095) & ~(uint64_t)4095)
#define DATA_OFF(n) (PREDLOG_POOL_SB_SIZE + DIR_SIZE(n))

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static void fill_random(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)g_test_rand_int();
    }
}

/* g_memdup2() is newer than the GLib QEMU 10.0 requires. */
static uint8_t *dup_bytes(const void *p, size_t len)
{
    uint8_t *d = g_malloc(len ? len : 1);

    memcpy(d, p, len);
    return d;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, 4);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, 8);
}

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

/* The salt of pool image @img's records (0 in pools without the flag). */
static uint64_t img_salt(const uint8_t *img)
{
    return le64_at(img + PREDLOG_POOL_SB_OFF_SALT);
}

/* Re-seal a superblock the test has edited on purpose. */
static void sb_reseal(uint8_t *sb)
{
    put_le32(sb + PREDLOG_POOL_SB_OFF_CRC,
             predlog_crc32c(0, sb, PREDLOG_POOL_SB_OFF_CRC));
}

typedef struct Pool {
    uint8_t *region;
    uint64_t size;
    PredlogRecorder *rec;
    uint64_t now;
} Pool;

static Pool *pool_new(uint64_t size, PredlogPolicy policy, uint32_t max_f,
                      uint64_t buffer_size, unsigned n_add)
{
    Pool *p = g_new0(Pool, 1);
    PredlogRecorderConfig cfg = {
        .policy = policy,
        .max_functions = max_f,
        .buffer_size = buffer_size,
        .created_ns = 77,
        .name = "crash-test",
    };
    GError *err = NULL;

    p->size = size;
    p->region = g_malloc(size);
    p->rec = predlog_recorder_new(p->region, size, &cfg, &err);
    g_assert_no_error(err);
    for (unsigned i = 0; i < n_add; i++) {
        g_autofree char *name = g_strdup_printf("fn%u", i);

        g_assert_cmpint(predlog_recorder_add_function(p->rec,
                                                      PREDLOG_FUNCTION_NET,
                                                      name, 0, &err),
                        ==, i);
        g_assert_no_error(err);
    }
    p->now = 1000;
    return p;
}

static void pool_free(Pool *p)
{
    predlog_recorder_free(p->rec);
    g_free(p->region);
    g_free(p);
}

/* Log a guest record of @len bytes of @data; returns its seq */
static uint64_t pool_log_data(Pool *p, int func, const void *data,
                              uint32_t len)
{
    PredlogPiece piece = { data, len };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_GUEST,
        .aux = 6,
        .orig_len = len,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = UINT32_MAX,
    };
    uint64_t seq = 0;

    p->now += 1000;
    e.timestamp_ns = p->now;
    g_assert_cmpint(predlog_recorder_log(p->rec, func, &e, p->now, &seq),
                    ==, PREDLOG_LOG_OK);
    return seq;
}

static uint64_t pool_log(Pool *p, int func, uint32_t len)
{
    g_autofree uint8_t *data = g_malloc(len + 1);

    fill_random(data, len);
    return pool_log_data(p, func, data, len);
}

static PredlogImage *open_ok(const uint8_t *img, size_t len)
{
    GError *err = NULL;
    PredlogImage *im = predlog_image_open(img, len, &err);

    g_assert_no_error(err);
    g_assert_nonnull(im);
    return im;
}

static void open_fails(const uint8_t *img, size_t len, int code,
                       const char *what)
{
    GError *err = NULL;
    /* An exactly-sized copy: reading past @len is a sanitizer error. */
    g_autofree uint8_t *copy = dup_bytes(img, len);

    g_assert_null(predlog_image_open(copy, len, &err));
    g_assert_error(err, PREDLOG_RECOVERY_ERROR, code);
    if (what && !strstr(err->message, what)) {
        g_error("expected '%s' in: %s", what, err->message);
    }
    g_test_message("%s", err->message);
    g_error_free(err);
}

/* The image's record found for (func, seq), or NULL. */
static const PredlogRecoveredRecord *find_rec(GArray *recs, unsigned func,
                                              uint64_t seq)
{
    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);

        if (r->view.hdr.func_id == func && r->view.hdr.seq == seq) {
            return r;
        }
    }
    return NULL;
}

/* Check what recovery returns against recovery-independent facts. */
static void assert_sane_scan(PredlogImage *im, const uint8_t *img,
                             GArray *recs, const PredlogRecoveryTotals *t)
{
    uint64_t committed = 0;

    g_assert_cmpuint(t->committed, ==, recs->len);
    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);
        PredlogRecordView v;

        g_assert_nonnull(predlog_image_function_by_id(im,
                                                      r->view.hdr.func_id));
        g_assert_cmpuint(r->offset, >=, PREDLOG_POOL_SB_SIZE);
        g_assert_cmpuint(r->offset + r->view.size, <=,
                         predlog_image_pool_size(im));
        g_assert_cmpint(predlog_record_decode(img + r->offset,
                                              r->view.size, img_salt(img),
                                              &v), ==,
                        PREDLOG_RECORD_VALID);
        g_assert_cmpmem(&v.hdr, sizeof(v.hdr), &r->view.hdr,
                        sizeof(r->view.hdr));
        g_assert_true(v.payload == r->view.payload);
        if (i > 0) {
            const PredlogRecordHeader *a = &g_array_index(
                recs, PredlogRecoveredRecord, i - 1).view.hdr;
            const PredlogRecordHeader *b = &r->view.hdr;

            g_assert_true(a->timestamp_ns < b->timestamp_ns ||
                          (a->timestamp_ns == b->timestamp_ns &&
                           (a->func_id < b->func_id ||
                            (a->func_id == b->func_id && a->seq < b->seq))));
        }
    }
    for (unsigned i = 0; i < predlog_image_n_functions(im); i++) {
        const PredlogImageFunction *f = predlog_image_function(im, i);

        committed += f->committed;
        g_assert_cmpuint(f->torn, <=, 1);
        g_assert_cmpuint(f->overwritten + f->committed, >=, f->max_seq);
    }
    g_assert_cmpuint(committed, ==, recs->len);
}

/* ------------------------------------------------------------------ */
/* Superblock                                                          */
/* ------------------------------------------------------------------ */

static void test_not_a_pool(void)
{
    g_autofree uint8_t *zeros = g_malloc0(65536);
    g_autofree uint8_t *noise = g_malloc(65536);
    Pool *p = pool_new(DATA_OFF(1) + PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 1, 0, 1);
    GError *err = NULL;

    fill_random(noise, 65536);
    open_fails(zeros, 65536, PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
               "not a predlog pool (bad magic)");
    open_fails(noise, 65536, PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
               "not a predlog pool");
    open_fails(p->region, 7, PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
               "not a predlog pool");
    open_fails(p->region, 0, PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
               "not a predlog pool");
    g_assert_null(predlog_image_open(NULL, 100, &err));
    g_assert_error(err, PREDLOG_RECOVERY_ERROR,
                   PREDLOG_RECOVERY_ERROR_NOT_A_POOL);
    g_clear_error(&err);

    /* One flipped magic bit is enough. */
    p->region[3] ^= 0x10;
    open_fails(p->region, p->size, PREDLOG_RECOVERY_ERROR_NOT_A_POOL,
               "bad magic");
    pool_free(p);
}

static void test_wrong_version(void)
{
    Pool *p = pool_new(DATA_OFF(1) + PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 1, 0, 1);

    put_le32(p->region + PREDLOG_POOL_SB_OFF_VERSION, 2);
    sb_reseal(p->region);
    open_fails(p->region, p->size, PREDLOG_RECOVERY_ERROR_VERSION,
               "version 2");
    /* Known before the checksum: a future version may checksum others. */
    p->region[100] ^= 1;
    open_fails(p->region, p->size, PREDLOG_RECOVERY_ERROR_VERSION,
               "version 2");
    /* And even from an image cut short. */
    open_fails(p->region, 16, PREDLOG_RECOVERY_ERROR_VERSION, "version");
    pool_free(p);
}

static void test_corrupt_superblock(void)
{
    Pool *p = pool_new(DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_DYNAMIC, 2, 0, 1);
    g_autofree uint8_t *good = dup_bytes(p->region, PREDLOG_POOL_SB_SIZE);
    PredlogImage *im;
    struct {
        unsigned off;
        unsigned width;
        uint64_t value;
        const char *what;
    } fields[] = {
        { PREDLOG_POOL_SB_OFF_SB_SIZE, 4, 512, "superblock size" },
        { PREDLOG_POOL_SB_OFF_DIR_OFFSET, 8, 8192, "directory offset" },
        { PREDLOG_POOL_SB_OFF_DIR_SLOTS, 4, 0, "slots" },
        { PREDLOG_POOL_SB_OFF_DIR_SLOTS, 4, 100000, "slots" },
        /* 17 slots need more than the one directory page there is. */
        { PREDLOG_POOL_SB_OFF_DIR_SLOTS, 4, 17, "do not fit" },
        /* 16 do, but not with their sequence table */
        { PREDLOG_POOL_SB_OFF_DIR_SLOTS, 4, 16, "do not fit" },
        { PREDLOG_POOL_SB_OFF_DIR_ENTRY_SIZE, 4, 64, "entry size" },
        { PREDLOG_POOL_SB_OFF_DATA_OFFSET, 8, 4096, "do not fit" },
        { PREDLOG_POOL_SB_OFF_DATA_OFFSET, 8, UINT64_MAX - 10,
          "do not fit" },
        { PREDLOG_POOL_SB_OFF_DATA_SIZE, 8, p->size, "do not fit" },
        { PREDLOG_POOL_SB_OFF_DATA_SIZE, 8, UINT64_MAX, "do not fit" },
        { PREDLOG_POOL_SB_OFF_POOL_SIZE, 8, DATA_OFF(2) + 10,
          "do not fit" },
        { PREDLOG_POOL_SB_OFF_POLICY, 4, 7, "policy" },
        { PREDLOG_POOL_SB_OFF_FLAGS, 4, 8, "flags" },
        /* the salt flag without a salt, or with a half of one */
        { PREDLOG_POOL_SB_OFF_SALT, 8, 0, "salt" },
        { PREDLOG_POOL_SB_OFF_SALT, 8, 0x600dull, "salt" },
        { PREDLOG_POOL_SB_OFF_SALT, 8, 0x600dull << 32, "salt" },
        /* a salt without the flag */
        { PREDLOG_POOL_SB_OFF_FLAGS, 4, PREDLOG_POOL_FLAG_SEQ_TABLE,
          "without the salt flag" },
    };

    /* Any changed byte breaks the checksum. */
    for (unsigned off = 8 + 4; off < PREDLOG_POOL_SB_SIZE; off += 97) {
        memcpy(p->region, good, PREDLOG_POOL_SB_SIZE);
        p->region[off] ^= 0x40;
        open_fails(p->region, p->size, PREDLOG_RECOVERY_ERROR_CORRUPT,
                   "checksum");
    }

    /* Impossible fields under a valid checksum. */
    for (unsigned i = 0; i < G_N_ELEMENTS(fields); i++) {
        memcpy(p->region, good, PREDLOG_POOL_SB_SIZE);
        if (fields[i].width == 4) {
            put_le32(p->region + fields[i].off, fields[i].value);
        } else {
            put_le64(p->region + fields[i].off, fields[i].value);
        }
        sb_reseal(p->region);
        open_fails(p->region, p->size, PREDLOG_RECOVERY_ERROR_CORRUPT,
                   fields[i].what);
    }

    /* The predictive flag says what the owner's policy was... */
    memcpy(p->region, good, PREDLOG_POOL_SB_SIZE);
    im = open_ok(p->region, p->size);
    g_assert_cmpstr(predlog_image_policy_name(im), ==, "dynamic");
    predlog_image_free(im);
    put_le32(p->region + PREDLOG_POOL_SB_OFF_FLAGS,
             PREDLOG_POOL_FLAG_PREDICTIVE | PREDLOG_POOL_FLAG_SEQ_TABLE |
             PREDLOG_POOL_FLAG_SALT);
    sb_reseal(p->region);
    im = open_ok(p->region, p->size);
    g_assert_cmpstr(predlog_image_policy_name(im), ==, "predictive");
    g_assert_cmpint(predlog_image_policy(im), ==, PREDLOG_POLICY_DYNAMIC);
    predlog_image_free(im);
    /* ...and only goes with the dynamic layout */
    put_le32(p->region + PREDLOG_POOL_SB_OFF_POLICY, PREDLOG_POLICY_FIXED);
    sb_reseal(p->region);
    open_fails(p->region, p->size, PREDLOG_RECOVERY_ERROR_CORRUPT,
               "a predictive pool with policy fixed");

    memcpy(p->region, good, PREDLOG_POOL_SB_SIZE);
    predlog_image_free(open_ok(p->region, p->size));
    pool_free(p);
}

static void test_truncated(void)
{
    Pool *p = pool_new(DATA_OFF(1) + 3 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 1, 0, 1);
    g_autofree char *both = g_strdup_printf("%" G_GUINT64_FORMAT
                                            " bytes, the image has %"
                                            G_GUINT64_FORMAT, p->size,
                                            p->size - 1);
    g_autofree uint8_t *longer = NULL;
    PredlogImage *im;

    open_fails(p->region, p->size - 1, PREDLOG_RECOVERY_ERROR_TRUNCATED,
               both);
    open_fails(p->region, DATA_OFF(1), PREDLOG_RECOVERY_ERROR_TRUNCATED,
               "truncated");
    open_fails(p->region, 100, PREDLOG_RECOVERY_ERROR_TRUNCATED,
               "truncated");
    open_fails(p->region, PREDLOG_POOL_SB_SIZE - 1,
               PREDLOG_RECOVERY_ERROR_TRUNCATED, "truncated");

    /* A longer image (a file rounded up) is fine. */
    longer = g_malloc(p->size + 4096);
    memcpy(longer, p->region, p->size);
    memset(longer + p->size, 0xee, 4096);
    im = open_ok(longer, p->size + 4096);
    g_assert_cmpuint(predlog_image_pool_size(im), ==, p->size);
    g_assert_cmpstr(predlog_image_name(im), ==, "crash-test");
    g_assert_cmpuint(predlog_image_created_ns(im), ==, 77);
    g_assert_cmpint(predlog_image_policy(im), ==, PREDLOG_POLICY_FIXED);
    predlog_image_free(im);
    pool_free(p);
}

/* ------------------------------------------------------------------ */
/* Directory                                                           */
/* ------------------------------------------------------------------ */

static uint8_t *dir_copy(Pool *p, unsigned id, unsigned copy)
{
    return p->region + PREDLOG_POOL_SB_SIZE +
           (2 * id + copy) * PREDLOG_POOL_DIR_ENTRY_SIZE;
}

static void test_directory_copies(void)
{
    Pool *p = pool_new(DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 2, 0, 2);
    uint8_t a[PREDLOG_POOL_DIR_ENTRY_SIZE], b[PREDLOG_POOL_DIR_ENTRY_SIZE];
    const PredlogImageFunction *f;
    PredlogRecoveryTotals t;
    PredlogImage *im;
    GArray *recs;
    uint64_t buf;

    /* add: generation 1 in copy A; first buffer: 2 in B; level: 3 in A */
    pool_log(p, 0, 10);
    pool_log(p, 1, 10);
    im = open_ok(p->region, p->size);
    f = predlog_image_function_by_id(im, 0);
    g_assert_cmpuint(f->generation, ==, 2);
    buf = f->buf_offset;
    g_assert_cmpuint(buf, >=, DATA_OFF(2));
    g_assert_cmpuint(f->buf_size, ==, PREDLOG_RECORDER_MIN_BUFFER);
    g_assert_cmpstr(f->name, ==, "fn0");
    predlog_image_free(im);
    pool_log(p, 0, 1);
    g_assert_true(predlog_recorder_set_level(p->rec, 0,
                                             PREDLOG_RECORD_LEVEL_SUMMARY,
                                             5000));
    memcpy(a, dir_copy(p, 0, 0), sizeof(a));
    memcpy(b, dir_copy(p, 0, 1), sizeof(b));
    im = open_ok(p->region, p->size);
    f = predlog_image_function_by_id(im, 0);
    g_assert_cmpuint(f->generation, ==, 3);
    g_assert_cmpint(f->level, ==, PREDLOG_RECORD_LEVEL_SUMMARY);
    predlog_image_free(im);

    /* Copy A (the newer) corrupt: copy B is used. */
    dir_copy(p, 0, 0)[60] ^= 1;
    im = open_ok(p->region, p->size);
    f = predlog_image_function_by_id(im, 0);
    g_assert_nonnull(f);
    g_assert_cmpuint(f->generation, ==, 2);
    g_assert_cmpint(f->level, ==, PREDLOG_RECORD_LEVEL_FULL);
    g_assert_cmpuint(f->buf_offset, ==, buf);
    g_assert_cmpstr(f->name, ==, "fn0");
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(t.committed, ==, 3);
    g_assert_cmpuint(t.orphaned, ==, 0);
    g_array_unref(recs);
    predlog_image_free(im);

    /* Copy B corrupt instead: A is used. */
    memcpy(dir_copy(p, 0, 0), a, sizeof(a));
    dir_copy(p, 0, 1)[PREDLOG_POOL_DIR_OFF_CRC] ^= 1;
    im = open_ok(p->region, p->size);
    g_assert_cmpuint(predlog_image_function_by_id(im, 0)->generation, ==, 3);
    predlog_image_free(im);

    /* A valid copy in the wrong slot or with a bad magic is not used. */
    memcpy(dir_copy(p, 0, 1), b, sizeof(b));
    memcpy(dir_copy(p, 0, 0), dir_copy(p, 1, 0), sizeof(a));
    im = open_ok(p->region, p->size);
    g_assert_cmpuint(predlog_image_function_by_id(im, 0)->generation, ==, 2);
    predlog_image_free(im);

    /*
     * Both copies damaged: the directory does not know the function, but
     * its records name it, so the scan salvages them as "salvaged-0".
     */
    dir_copy(p, 0, 1)[5] ^= 1;
    im = open_ok(p->region, p->size);
    g_assert_null(predlog_image_function_by_id(im, 0));
    g_assert_cmpuint(predlog_image_n_functions(im), ==, 1);
    g_assert_cmpint(predlog_image_function(im, 0)->id, ==, 1);
    g_assert_null(predlog_image_function(im, 1));
    g_assert_null(predlog_image_function_by_id(im, -1));
    g_assert_null(predlog_image_function_by_id(im, 2));
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(t.committed, ==, 3);
    g_assert_cmpuint(t.orphaned, ==, 0);
    g_assert_cmpuint(t.salvaged_functions, ==, 1);
    g_assert_cmpuint(t.salvaged, ==, 2);
    g_assert_cmpuint(recs->len, ==, 3);
    g_assert_cmpuint(predlog_image_n_functions(im), ==, 2);
    g_assert_true(predlog_image_function_by_id(im, 0)->salvaged);
    g_assert_cmpstr(predlog_image_function_by_id(im, 0)->name, ==,
                    "salvaged-0");
    g_assert_cmpint(predlog_image_function_by_id(im, 0)->kind, ==,
                    PREDLOG_FUNCTION_GUEST);
    g_assert_cmpuint(predlog_image_function_by_id(im, 0)->committed, ==, 2);
    g_array_unref(recs);
    predlog_image_free(im);

    /* Never written (zero): records naming it are orphans, not salvaged */
    memset(dir_copy(p, 0, 0), 0, 2 * PREDLOG_POOL_DIR_ENTRY_SIZE);
    im = open_ok(p->region, p->size);
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(t.committed, ==, 1);
    g_assert_cmpuint(t.orphaned, ==, 2);
    g_assert_cmpuint(t.salvaged_functions, ==, 0);
    g_array_unref(recs);
    predlog_image_free(im);
    pool_free(p);
}

/* ------------------------------------------------------------------ */
/* Crash simulation                                                    */
/* ------------------------------------------------------------------ */

/* The region before one more write, and what recovery made of it. */
typedef struct Before {
    uint8_t *bytes;
    size_t len;
    PredlogImage *im;
    GArray *recs;
} Before;

static void before_take(Before *b, Pool *p)
{
    b->len = p->size;
    b->bytes = dup_bytes(p->region, p->size);
    b->im = open_ok(b->bytes, b->len);
    b->recs = predlog_image_scan(b->im, NULL);
}

static void before_clear(Before *b)
{
    g_array_unref(b->recs);
    predlog_image_free(b->im);
    g_free(b->bytes);
}

/* What a simulated crash image should recover to. */
typedef struct CrashWant {
    int func;                   /* the function being written */
    uint64_t pos;               /* where its record goes, 0: no record */
    uint64_t end;               /* end of the buffer it goes into */
    const uint8_t *final;       /* the region after the write */
    uint64_t seq;               /* of the record being written */
    uint64_t generation;        /* expected directory generation, or 0 */
} CrashWant;

/*
 * Recover @img and compare with @b: every record of @b whose bytes are
 * unchanged in @img comes back byte-identical, no other old record comes
 * back, the record being written comes back exactly if it decodes VALID
 * in place (then it must be the one the writer meant), torn is set
 * exactly if it decodes TORN, and overwritten counts what is missing.
 */
static void check_crash(const uint8_t *img, size_t len, const Before *b,
                        const CrashWant *w)
{
    PredlogImage *im = open_ok(img, len);
    PredlogRecoveryTotals t;
    g_autoptr(GArray) recs = predlog_image_scan(im, &t);
    unsigned nf = predlog_image_n_functions(im);
    g_autofree uint64_t *count = g_new0(uint64_t, 64);
    g_autofree uint64_t *max_seq = g_new0(uint64_t, 64);
    PredlogRecordStatus st = PREDLOG_RECORD_EMPTY;
    PredlogRecordView v;
    guint at = 0;

    assert_sane_scan(im, img, recs, &t);
    g_assert_cmpuint(t.duplicates, ==, 0);
    g_assert_cmpuint(t.orphaned, ==, 0);

    /* Both are sorted by timestamp, unique here: walk them together. */
    for (guint i = 0; i < b->recs->len; i++) {
        const PredlogRecoveredRecord *o =
            &g_array_index(b->recs, PredlogRecoveredRecord, i);
        const PredlogRecoveredRecord *r;

        if (memcmp(img + o->offset, b->bytes + o->offset, o->view.size)) {
            continue;
        }
        g_assert_cmpuint(at, <, recs->len);
        r = &g_array_index(recs, PredlogRecoveredRecord, at++);
        g_assert_cmpuint(r->offset, ==, o->offset);
        g_assert_cmpuint(r->view.hdr.func_id, ==, o->view.hdr.func_id);
        g_assert_cmpuint(r->view.hdr.seq, ==, o->view.hdr.seq);
        g_assert_cmpmem(r->view.payload, r->view.hdr.stored_len,
                        o->view.payload, o->view.hdr.stored_len);
        count[r->view.hdr.func_id]++;
        max_seq[r->view.hdr.func_id] = MAX(max_seq[r->view.hdr.func_id],
                                           r->view.hdr.seq);
    }
    if (w->pos) {
        st = predlog_record_decode(img + w->pos, w->end - w->pos,
                                   img_salt(img), &v);
        /* (Not an intact older record the write has not yet reached.) */
        if (st == PREDLOG_RECORD_VALID && v.hdr.func_id == w->func &&
            v.hdr.seq == w->seq) {
            const PredlogRecoveredRecord *r;

            g_assert_cmpuint(at, <, recs->len);
            r = &g_array_index(recs, PredlogRecoveredRecord, at++);
            g_assert_cmpuint(r->offset, ==, w->pos);
            g_assert_cmpuint(r->view.hdr.seq, ==, w->seq);
            g_assert_cmpmem(img + w->pos, r->view.size, w->final + w->pos,
                            r->view.size);
            count[w->func]++;
            max_seq[w->func] = MAX(max_seq[w->func], w->seq);
        }
    }
    g_assert_cmpuint(at, ==, recs->len);

    g_assert_cmpuint(t.torn, ==, st == PREDLOG_RECORD_TORN);
    for (unsigned i = 0; i < nf; i++) {
        const PredlogImageFunction *f = predlog_image_function(im, i);

        g_assert_cmpuint(f->committed, ==, count[f->id]);
        g_assert_cmpuint(f->max_seq, ==, max_seq[f->id]);
        g_assert_cmpuint(f->overwritten, ==, max_seq[f->id] - count[f->id]);
        g_assert_cmpuint(f->torn, ==,
                         f->id == w->func && st == PREDLOG_RECORD_TORN);
        if (f->id == w->func && w->generation) {
            g_assert_cmpuint(f->generation, ==, w->generation);
        }
    }
    predlog_image_free(im);
}

typedef struct CrashCoverage {
    unsigned appends;           /* records written at the write head */
    unsigned wraps;             /* records written at the buffer start */
    unsigned switches;          /* records that took a new buffer */
    unsigned overwrites;        /* records that destroyed older ones */
    unsigned torn;              /* images recovered with torn == 1 */
    unsigned images;
} CrashCoverage;

/*
 * Log one record of @len bytes for @func on @p, then replay the write in
 * every intermediate state and check each (see check_crash()).
 */
static void crash_one_record(Pool *p, int func, uint32_t len,
                             CrashCoverage *cov)
{
    Before b;
    PredlogImage *after_im;
    g_autoptr(GArray) after = NULL;
    const PredlogImageFunction *fb, *fa;
    const PredlogRecoveredRecord *nr;
    g_autofree uint8_t *pre = NULL;
    g_autofree uint8_t *img = NULL;
    CrashWant w = { .func = func };
    uint64_t size, old_head = 0, old_buf, new_buf, dir_off;
    bool switched;

    before_take(&b, p);
    fb = predlog_image_function_by_id(b.im, func);
    old_buf = fb->buf_offset;
    for (guint i = 0; i < b.recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(b.recs, PredlogRecoveredRecord, i);

        if (r->view.hdr.func_id == func && r->offset >= old_buf &&
            r->offset < old_buf + fb->buf_size) {
            old_head = r->offset + r->view.size;    /* sorted by seq */
        }
    }

    w.seq = pool_log(p, func, len);
    w.final = p->region;
    after_im = open_ok(p->region, p->size);
    after = predlog_image_scan(after_im, NULL);
    nr = find_rec(after, func, w.seq);
    g_assert_nonnull(nr);
    fa = predlog_image_function_by_id(after_im, func);
    new_buf = fa->buf_offset;
    w.pos = nr->offset;
    w.end = new_buf + fa->buf_size;
    size = nr->view.size;
    switched = new_buf != old_buf;
    g_assert_cmpuint(w.pos, >=, new_buf);
    g_assert_cmpuint(w.pos + size, <=, w.end);

    /* The region just before the record's first byte was stored. */
    pre = dup_bytes(p->region, p->size);
    if (switched) {
        memset(pre + w.pos, 0, size);
        cov->switches++;
        g_assert_cmpuint(w.pos, ==, new_buf);
    } else {
        memcpy(pre + w.pos, b.bytes + w.pos, size);
        if (w.pos == old_buf && old_head != old_buf) {
            cov->wraps++;
        } else {
            g_assert_cmpuint(w.pos, ==, old_head);
            cov->appends++;
        }
    }
    for (guint i = 0; i < b.recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(b.recs, PredlogRecoveredRecord, i);

        if (r->offset < w.pos + size && w.pos < r->offset + r->view.size) {
            cov->overwrites++;
            break;
        }
    }

    /* Every byte boundary of the record, the seal included. */
    img = g_malloc(p->size);
    for (uint64_t k = 0; k <= size; k++) {
        memcpy(img, pre, p->size);
        memcpy(img + w.pos, p->region + w.pos, k);
        check_crash(img, p->size, &b, &w);
        cov->images++;
        if (k > 0 && k < size) {
            PredlogRecordView v;

            cov->torn += predlog_record_decode(img + w.pos, w.end - w.pos,
                                               img_salt(img), &v) ==
                         PREDLOG_RECORD_TORN;
        }
    }
    /* Everything but the seal, stored in the order the writer uses. */
    memcpy(img, pre, p->size);
    memcpy(img + w.pos, p->region + w.pos, size - PREDLOG_RECORD_SEAL_LEN);
    check_crash(img, p->size, &b, &w);

    if (!switched && w.pos == old_buf && old_head != old_buf) {
        /* Death while the skipped tail was being zeroed. */
        uint64_t tail = fb->buf_offset + fb->buf_size - old_head;
        CrashWant none = { .func = func, .final = p->region };

        for (uint64_t k = 0; k <= tail; k += MAX(tail / 7, 1)) {
            memcpy(img, b.bytes, p->size);
            memset(img + old_head, 0, k);
            check_crash(img, p->size, &b, &none);
        }
    }
    if (switched) {
        CrashWant none = {
            .func = func, .final = p->region,
            .generation = fb->generation,
        };

        /* Death while the new buffer was being zeroed. */
        for (uint64_t k = 0; k <= fa->buf_size;
             k += fa->buf_size / 5 + 8) {
            memcpy(img, b.bytes, p->size);
            memset(img + new_buf, 0, k);
            check_crash(img, p->size, &b, &none);
        }
        /* ... and at every byte of the directory update after that. */
        dir_off = PREDLOG_POOL_SB_SIZE +
                  (2 * func + ((fa->generation - 1) & 1)) *
                  PREDLOG_POOL_DIR_ENTRY_SIZE;
        for (uint64_t k = 0; k < PREDLOG_POOL_DIR_ENTRY_SIZE; k++) {
            memcpy(img, pre, p->size);
            memcpy(img + dir_off + k, b.bytes + dir_off + k,
                   PREDLOG_POOL_DIR_ENTRY_SIZE - k);
            /*
             * Until the last CRC byte lands the old copy rules, unless the
             * bytes still missing happen to hold their new values already.
             */
            none.generation = memcmp(img + dir_off, pre + dir_off,
                                     PREDLOG_POOL_DIR_ENTRY_SIZE) ?
                              fb->generation : fa->generation;
            check_crash(img, p->size, &b, &none);
        }
        none.generation = fa->generation;
        none.pos = new_buf;
        none.end = w.end;
        none.seq = w.seq;
        check_crash(pre, p->size, &b, &none);
    }
    predlog_image_free(after_im);
    before_clear(&b);
}

static void test_crash_fixed(void)
{
    /* Two functions, 16 KiB each; the first one wraps often. */
    Pool *p = pool_new(DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 2, 0, 2);
    CrashCoverage cov = { 0 };
    /* Sizes that make wraps over one and over several records. */
    static const uint32_t lens[] = {
        0, 1500, 64, 7, 3000, 1500, 200, 6000, 1, 64, 1500, 9000,
    };
    int round = 0;

    pool_log(p, 1, 100);
    for (int i = 0; i < 20; i++) {
        pool_log(p, 0, g_test_rand_int_range(0, 1500));
    }
    while (round < 24 || cov.wraps < 4) {
        uint32_t len = round < 24 ? lens[round % G_N_ELEMENTS(lens)]
                                  : (uint32_t)g_test_rand_int_range(0, 4000);

        /* Go cheaply to the next interesting place now and then. */
        for (int i = g_test_rand_int_range(0, 6); i > 0; i--) {
            pool_log(p, 0, g_test_rand_int_range(0, 1500));
        }
        crash_one_record(p, round % 5 == 4 ? 1 : 0, len, &cov);
        round++;
        g_assert_cmpint(round, <, 500);
    }
    g_test_message("%u images: %u appends, %u wraps, %u overwriting, "
                   "%u torn", cov.images, cov.appends, cov.wraps,
                   cov.overwrites, cov.torn);
    g_assert_cmpuint(cov.appends, >, 4);
    g_assert_cmpuint(cov.overwrites, >, 2);
    g_assert_cmpuint(cov.torn, >, 1000);
    g_assert_cmpuint(cov.switches, ==, 0);
    pool_free(p);
}

static void test_crash_dynamic(void)
{
    /* Four 16 KiB buffers for two functions: the first evicts its own. */
    Pool *p = pool_new(DATA_OFF(2) + 4 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_DYNAMIC, 2, PREDLOG_RECORDER_MIN_BUFFER,
                       2);
    CrashCoverage cov = { 0 };
    PredlogRecorderStats st;
    int round = 0;

    pool_log(p, 1, 100);
    for (;;) {
        predlog_recorder_get_stats(p->rec, &st);
        if (cov.switches >= 5 && st.evictions >= 3 && cov.appends >= 5) {
            break;
        }
        for (int i = g_test_rand_int_range(0, 12); i > 0; i--) {
            pool_log(p, 0, g_test_rand_int_range(0, 1500));
        }
        crash_one_record(p, 0, g_test_rand_int_range(0, 2000), &cov);
        g_assert_cmpint(++round, <, 1000);
    }
    g_test_message("%u images: %u appends, %u switches, %u torn",
                   cov.images, cov.appends, cov.switches, cov.torn);
    g_assert_cmpuint(cov.wraps, ==, 0);
    pool_free(p);
}

/*
 * The writer's own API, stopped before commit: a complete header and
 * payload without a seal is torn, never committed.
 */
static void test_crash_seal_missing(void)
{
    Pool *p = pool_new(DATA_OFF(1) + PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 1, 0, 1);
    uint8_t payload[300];
    Before b;
    PredlogImage *im;
    PredlogRecoveryTotals t;
    GArray *recs;
    uint64_t head = 0, last = 0;

    for (int i = 0; i < 10; i++) {
        last = pool_log(p, 0, 100);
    }
    before_take(&b, p);
    for (guint i = 0; i < b.recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(b.recs, PredlogRecoveredRecord, i);

        head = MAX(head, r->offset + r->view.size);
    }
    fill_random(payload, sizeof(payload));
    for (size_t cut = 0; cut <= sizeof(payload); cut += 50) {
        g_autofree uint8_t *img = dup_bytes(b.bytes, b.len);
        PredlogRecordWriter w;
        PredlogRecordHeader h = {
            .type = PREDLOG_RECORD_TYPE_GUEST,
            .func_id = 0,
            .orig_len = sizeof(payload),
            .stored_len = sizeof(payload),
            .seq = last + 1,
            .timestamp_ns = 1,
        };

        g_assert_true(predlog_record_begin(&w, img + head, b.len - head,
                                           img_salt(img), &h));
        g_assert_true(predlog_record_append(&w, payload, cut));
        im = open_ok(img, b.len);
        recs = predlog_image_scan(im, &t);
        g_assert_cmpuint(t.committed, ==, 10);
        g_assert_cmpuint(t.torn, ==, 1);
        g_assert_cmpuint(t.overwritten, ==, 0);
        g_assert_cmpuint(predlog_image_function(im, 0)->max_seq, ==, last);
        g_array_unref(recs);
        predlog_image_free(im);
    }
    before_clear(&b);
    pool_free(p);
}

/* ------------------------------------------------------------------ */
/* Hostile images                                                      */
/* ------------------------------------------------------------------ */

typedef struct Planted {
    uint64_t offset;
    uint16_t func;
    uint64_t seq;
    uint64_t ts;
} Planted;

/*
 * A valid superblock and directory, then anything: random bytes, planted
 * records (some of unknown functions, some duplicated), bit flips.  The
 * scan must survive, return only what decodes VALID, and return every
 * planted record that still does.
 */
static void test_garbage(void)
{
    const unsigned nf = 3;
    const uint64_t size = DATA_OFF(4) + 4 * PREDLOG_RECORDER_MIN_BUFFER;

    for (int round = 0; round < 300; round++) {
        Pool *p = pool_new(size, PREDLOG_POLICY_DYNAMIC, 4, 0, nf);
        uint8_t *data;
        uint64_t data_len = size - DATA_OFF(4), pos = 0;
        g_autoptr(GArray) planted = g_array_new(false, false,
                                                sizeof(Planted));
        g_autofree uint8_t *img = NULL;
        uint64_t orphans = 0, dups = 0, want = 0;
        PredlogRecoveryTotals t;
        PredlogImage *im;
        GArray *recs;

        /* Give the directory active buffers to look at. */
        for (unsigned f = 0; f < nf; f++) {
            pool_log(p, f, 10);
        }
        img = dup_bytes(p->region, size);
        data = img + DATA_OFF(4);
        if (round % 3 == 0) {
            fill_random(data, data_len);
        } else {
            memset(data, 0, data_len);
        }
        while (pos + 64 < data_len) {
            uint8_t pl[600];
            PredlogRecordHeader h = {
                .type = PREDLOG_RECORD_TYPE_NET_PACKET,
                .func_id = g_test_rand_int_range(0, nf + 2),
                .seq = g_test_rand_int_range(1, 40),
                .timestamp_ns = g_test_rand_int_range(0, 20),
            };
            Planted pr;
            size_t n;

            pos += 8 * g_test_rand_int_range(0, 40);
            h.stored_len = h.orig_len = g_test_rand_int_range(0, 600);
            fill_random(pl, h.stored_len);
            if (pos >= data_len) {
                break;
            }
            n = predlog_record_encode(data + pos, data_len - pos,
                                      img_salt(img), &h, pl);
            if (!n) {
                break;
            }
            pr.offset = DATA_OFF(4) + pos;
            pr.func = h.func_id;
            pr.seq = h.seq;
            pr.ts = h.timestamp_ns;
            g_array_append_val(planted, pr);
            pos += n;
        }
        /* Flip bits anywhere in the data area, some in the directory. */
        for (int i = g_test_rand_int_range(0, 30); i > 0; i--) {
            data[g_test_rand_int_range(0, data_len)] ^=
                1 << g_test_rand_int_range(0, 8);
        }
        if (round % 4 == 1) {
            img[PREDLOG_POOL_SB_SIZE + g_test_rand_int_range(0, 1024)] ^= 4;
        }

        im = open_ok(img, size);
        recs = predlog_image_scan(im, &t);
        assert_sane_scan(im, img, recs, &t);

        /* Planted records that are still VALID, with the first copy. */
        for (guint i = 0; i < planted->len; i++) {
            Planted *pr = &g_array_index(planted, Planted, i);
            PredlogRecordView v;
            bool first = true;

            if (predlog_record_decode(img + pr->offset, size - pr->offset,
                                      img_salt(img), &v) !=
                PREDLOG_RECORD_VALID) {
                continue;
            }
            if (!predlog_image_function_by_id(im, pr->func)) {
                orphans++;
                continue;
            }
            for (guint j = 0; j < i; j++) {
                Planted *q = &g_array_index(planted, Planted, j);

                if (q->func == pr->func && q->seq == pr->seq &&
                    predlog_record_decode(img + q->offset,
                                          size - q->offset, img_salt(img),
                                          &v) ==
                    PREDLOG_RECORD_VALID) {
                    first = false;
                    break;
                }
            }
            if (!first) {
                dups++;
                continue;
            }
            want++;
            {
                const PredlogRecoveredRecord *r =
                    find_rec(recs, pr->func, pr->seq);

                g_assert_nonnull(r);
                g_assert_cmpuint(r->offset, ==, pr->offset);
            }
        }
        g_assert_cmpuint(recs->len, ==, want);
        g_assert_cmpuint(t.orphaned, ==, orphans);
        g_assert_cmpuint(t.duplicates, ==, dups);
        g_array_unref(recs);
        predlog_image_free(im);
        pool_free(p);
    }
}

/* Random superblock fields and directory entries under valid CRCs. */
static void test_garbage_metadata(void)
{
    const uint64_t size = DATA_OFF(8) + 8 * PREDLOG_RECORDER_MIN_BUFFER;
    Pool *p = pool_new(size, PREDLOG_POLICY_DYNAMIC, 8, 0, 8);
    g_autofree uint8_t *good = NULL;
    unsigned opened = 0;

    for (unsigned f = 0; f < 8; f++) {
        for (int i = 0; i < 30; i++) {
            pool_log(p, f, g_test_rand_int_range(0, 1500));
        }
    }
    good = dup_bytes(p->region, size);

    for (int round = 0; round < 2000; round++) {
        size_t len = round % 5 ? size
                               : (size_t)g_test_rand_int_range(0, size + 1);
        g_autofree uint8_t *img = dup_bytes(good, size);
        PredlogRecoveryTotals t;
        PredlogImage *im;
        GError *err = NULL;
        static const unsigned offs[] = {
            PREDLOG_POOL_SB_OFF_POOL_SIZE, PREDLOG_POOL_SB_OFF_DATA_OFFSET,
            PREDLOG_POOL_SB_OFF_DATA_SIZE, PREDLOG_POOL_SB_OFF_DIR_SLOTS,
        };

        if (round % 2) {
            unsigned off = offs[g_test_rand_int_range(0, 4)];
            uint64_t v = le64_at(img + off);

            /* Near the true value, or anything. */
            v = g_test_rand_bit() ? v + g_test_rand_int_range(-4096, 4096)
                                  : ((uint64_t)g_test_rand_int() << 32 |
                                     g_test_rand_int());
            if (off == PREDLOG_POOL_SB_OFF_DIR_SLOTS) {
                put_le32(img + off, v);
            } else {
                put_le64(img + off, v);
            }
            sb_reseal(img);
        }
        /* Directory entries with valid CRCs and wild buffers. */
        for (int i = g_test_rand_int_range(0, 4); i > 0; i--) {
            uint8_t *e = img + PREDLOG_POOL_SB_SIZE +
                         g_test_rand_int_range(0, 16) *
                         PREDLOG_POOL_DIR_ENTRY_SIZE;
            uint64_t o = g_test_rand_bit() ?
                         (uint64_t)g_test_rand_int_range(0, size) :
                         UINT64_MAX - g_test_rand_int_range(0, 999);

            put_le64(e + PREDLOG_POOL_DIR_OFF_BUF_OFFSET, o);
            put_le64(e + PREDLOG_POOL_DIR_OFF_BUF_SIZE,
                     g_test_rand_bit() ?
                     (uint64_t)g_test_rand_int_range(0, size) :
                     UINT64_MAX - o + g_test_rand_int_range(0, 9));
            put_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION,
                     g_test_rand_int());
            memset(e + PREDLOG_POOL_DIR_OFF_NAME, 'z', 64);
            put_le32(e + PREDLOG_POOL_DIR_OFF_CRC,
                     predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC));
        }

        {
            g_autofree uint8_t *exact = dup_bytes(img, len);

            im = predlog_image_open(exact, len, &err);
            if (!im) {
                g_assert_nonnull(err);
                g_assert_true(err->domain == PREDLOG_RECOVERY_ERROR);
                g_clear_error(&err);
                continue;
            }
            g_assert_no_error(err);
            opened++;
            {
                g_autoptr(GArray) recs = predlog_image_scan(im, &t);

                assert_sane_scan(im, exact, recs, &t);
            }
            for (unsigned i = 0; i < predlog_image_n_functions(im); i++) {
                g_assert_cmpuint(strlen(predlog_image_function(im, i)->name),
                                 <=, PREDLOG_POOL_NAME_MAX);
            }
            predlog_image_free(im);
        }
    }
    g_assert_cmpuint(opened, >, 100);
    pool_free(p);
}

/* Same (function, seq) twice: once in the output, counted. */
static void test_duplicates_and_order(void)
{
    Pool *p = pool_new(DATA_OFF(2) + 4 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 2, 0, 2);
    PredlogRecoveryTotals t;
    PredlogImage *im;
    GArray *recs;
    const PredlogRecoveredRecord *r;
    uint64_t copy_at = p->size - 4096, first_off;

    for (int i = 0; i < 20; i++) {
        pool_log(p, i % 2, 40);
    }
    im = open_ok(p->region, p->size);
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(recs->len, ==, 20);
    /* Interleaved functions come back in timestamp order. */
    for (guint i = 0; i < 20; i++) {
        r = &g_array_index(recs, PredlogRecoveredRecord, i);
        g_assert_cmpuint(r->view.hdr.func_id, ==, i % 2);
        g_assert_cmpuint(r->view.hdr.seq, ==, i / 2 + 1);
    }
    /* Copy record (0, 3) into free space further on. */
    r = find_rec(recs, 0, 3);
    first_off = r->offset;
    memcpy(p->region + copy_at, p->region + r->offset, r->view.size);
    g_array_unref(recs);
    predlog_image_free(im);

    im = open_ok(p->region, p->size);
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(recs->len, ==, 20);
    g_assert_cmpuint(t.duplicates, ==, 1);
    g_assert_cmpuint(t.committed, ==, 20);
    g_assert_cmpuint(find_rec(recs, 0, 3)->offset, ==, first_off);
    g_assert_cmpuint(predlog_image_function(im, 0)->committed, ==, 10);
    g_array_unref(recs);
    predlog_image_free(im);
    pool_free(p);
}

/*
 * Scan speed on a 64 MiB image of small and of MTU-sized records (only
 * with -m perf: tests do not time things by default).
 */
static void test_scan_speed(void)
{
    const uint64_t size = 64ull << 20;
    static const uint32_t lens[] = { 64, 1500 };

    for (unsigned l = 0; l < G_N_ELEMENTS(lens); l++) {
        Pool *p = pool_new(size, PREDLOG_POLICY_FIXED, 4, 0, 4);
        PredlogRecoveryTotals t;
        PredlogImage *im;
        GArray *recs;
        double secs;
        uint8_t data[1500];
        PredlogPiece piece = { data, lens[l] };
        PredlogEntry e = {
            .type = PREDLOG_RECORD_TYPE_NET_PACKET,
            .orig_len = lens[l], .pieces = &piece, .n_pieces = 1,
            .max_stored = UINT32_MAX,
        };
        uint64_t n = (size / predlog_record_size(lens[l])) * 11 / 10;

        fill_random(data, sizeof(data));
        for (uint64_t i = 0; i < n; i++) {
            e.timestamp_ns = i;
            g_assert_cmpint(predlog_recorder_log(p->rec, i % 4, &e, i, NULL),
                            ==, PREDLOG_LOG_OK);
        }
        g_test_timer_start();
        im = open_ok(p->region, p->size);
        recs = predlog_image_scan(im, &t);
        secs = g_test_timer_elapsed();
        g_test_message("64 MiB of %u-byte records: %u records in %.3f s",
                       lens[l], recs->len, secs);
        g_test_minimized_result(secs, "scan of 64 MiB, %u-byte records: "
                                "%.3f s", lens[l], secs);
        g_assert_cmpuint(t.committed, >, size / predlog_record_size(lens[l])
                         * 9 / 10);
        g_array_unref(recs);
        predlog_image_free(im);
        pool_free(p);
    }
}

/*
 * A chunk whose header claims a huge orig_len (here 4 GiB - 16) is
 * refused before anything is allocated for it.  The scan runs in a
 * child whose address space is capped at 512 MiB above what it uses,
 * so a reader that believed orig_len would abort there.
 */
static void test_chunk_orig_len_bound(void)
{
    Pool *p;
    PredlogImage *im;
    PredlogRecoveryTotals t;
    uint8_t payload[16] = { 0x28, 0xb5, 0x2f, 0xfd };  /* a zstd magic */
    PredlogRecordHeader h = {
        .type = PREDLOG_RECORD_TYPE_CHUNK,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .func_id = 0,
        .orig_len = UINT32_MAX - 15,
        .stored_len = sizeof(payload),
        .seq = 999,
        .timestamp_ns = 5000,
        .aux = PREDLOG_CHUNK_CODEC_ZSTD,
    };
    g_autoptr(GArray) recs = NULL;
    uint64_t data_offset, data_size;
    struct rlimit rl;
    g_autofree char *status = NULL;
    const char *vm;
    uint64_t vm_kib;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 0, 0);
        g_test_trap_assert_passed();
        return;
    }
    p = pool_new(1024 * 1024, PREDLOG_POLICY_FIXED, 4, 0, 1);
    pool_log(p, 0, 100);
    data_offset = le64_at(p->region + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    data_size = le64_at(p->region + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    /* slot 3 of 4 is never used: put the forged chunk there */
    g_assert_cmpuint(predlog_record_encode(
        p->region + data_offset + data_size * 3 / 4, 4096,
        img_salt(p->region), &h, payload),
        >, 0);

    /* the address space in use, "VmSize:  <n> kB" */
    g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL,
                                      NULL));
    vm = strstr(status, "\nVmSize:");
    g_assert_nonnull(vm);
    vm_kib = g_ascii_strtoull(vm + strlen("\nVmSize:"), NULL, 10);
    g_assert_cmpuint(vm_kib, >, 0);
    rl.rlim_cur = rl.rlim_max = vm_kib * 1024 + 512ull * 1024 * 1024;
    g_assert_cmpint(setrlimit(RLIMIT_AS, &rl), ==, 0);

    im = open_ok(p->region, p->size);
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(t.chunks, ==, 1);
    g_assert_cmpuint(t.bad_chunks, ==, 1);
    g_assert_cmpuint(t.committed, ==, 1);
    predlog_image_free(im);
    pool_free(p);
}

/*
 * zstd chunks claiming more than the image's unpack limit stay packed:
 * twelve chunks that each decompress a 4 MiB record of zeros from about
 * a hundred bytes (a forged pool can claim gigabytes this way).  With a
 * limit of 20 MiB four unpack, eight do not and are counted; a second
 * scan answers the same; 0 lifts the limit.
 */
static void test_chunk_unpack_limit(void)
{
    enum { N_CHUNKS = 12, BIG = 4 * 1024 * 1024 };
    Pool *p = pool_new(4 * 1024 * 1024, PREDLOG_POLICY_FIXED, 4, 0, 1);
    g_autofree uint8_t *zeros = g_malloc0(BIG);
    g_autofree uint8_t *raw = g_malloc(BIG + 4096);
    size_t zcap = ZSTD_compressBound(BIG + 4096);
    g_autofree uint8_t *z = g_malloc(zcap);
    uint64_t data_offset, data_size, at;
    PredlogRecoveryTotals t, t2;
    PredlogImage *im;

    pool_log(p, 0, 100);
    data_offset = le64_at(p->region + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    data_size = le64_at(p->region + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    /* slot 3 of 4 is never used: put the chunks there */
    at = data_offset + data_size * 3 / 4;
    for (unsigned i = 0; i < N_CHUNKS; i++) {
        PredlogRecordHeader in = {
            .type = PREDLOG_RECORD_TYPE_GUEST,
            .level = PREDLOG_RECORD_LEVEL_FULL,
            .func_id = 0,
            .orig_len = BIG,
            .stored_len = BIG,
            .seq = 1000 + i,
            .timestamp_ns = 6000 + i,
        };
        size_t raw_len = predlog_record_encode(raw, BIG + 4096,
                                               img_salt(p->region), &in,
                                               zeros);
        size_t zlen;
        PredlogRecordHeader ch = {
            .type = PREDLOG_RECORD_TYPE_CHUNK,
            .level = PREDLOG_RECORD_LEVEL_FULL,
            .func_id = 0,
            .orig_len = raw_len,
            .seq = 2000 + i,
            .timestamp_ns = 6000 + i,
            .aux = PREDLOG_CHUNK_CODEC_ZSTD,
        };
        size_t n;

        g_assert_cmpuint(raw_len, >, BIG);
        zlen = ZSTD_compress(z, zcap, raw, raw_len, 1);
        g_assert_false(ZSTD_isError(zlen));
        g_assert_cmpuint(zlen, <, 4096);
        ch.stored_len = zlen;
        n = predlog_record_encode(p->region + at,
                                  data_offset + data_size - at,
                                  img_salt(p->region), &ch, z);
        g_assert_cmpuint(n, >, 0);
        at += n;
    }

    im = open_ok(p->region, p->size);
    g_assert_cmpuint(predlog_image_unpack_limit(im), ==,
                     MAX(PREDLOG_RECOVERY_UNPACK_MIN,
                         data_size * PREDLOG_RECOVERY_UNPACK_RATIO));
    predlog_image_set_unpack_limit(im, 20 * 1024 * 1024);
    g_array_unref(predlog_image_scan(im, &t));
    g_assert_cmpuint(t.chunks, ==, 4);
    g_assert_cmpuint(t.bad_chunks, ==, 0);
    g_assert_cmpuint(t.chunks_over_limit, ==, N_CHUNKS - 4);
    g_assert_cmpuint(t.bytes_over_limit, ==, (N_CHUNKS - 4) *
                     (uint64_t)(BIG + PREDLOG_RECORD_MIN_SIZE));
    g_assert_cmpuint(t.from_cold, ==, 4);
    g_array_unref(predlog_image_scan(im, &t2));
    g_assert_cmpmem(&t, sizeof(t), &t2, sizeof(t2));

    predlog_image_set_unpack_limit(im, 0);
    g_array_unref(predlog_image_scan(im, &t));
    g_assert_cmpuint(t.chunks, ==, N_CHUNKS);
    g_assert_cmpuint(t.chunks_over_limit, ==, 0);
    g_assert_cmpuint(t.from_cold, ==, N_CHUNKS);
    predlog_image_free(im);
    pool_free(p);
}

/* ------------------------------------------------------------------ */
/* Salt                                                                */
/* ------------------------------------------------------------------ */

/*
 * Turn @img into the pool a writer from before salts would have left:
 * every record re-sealed with salt 0, the superblock without the flag
 * (the bytes are otherwise the same).  Pools without a cold tier only:
 * the records inside chunks are compressed.
 */
static void pool_desalt(uint8_t *img)
{
    uint64_t salt = img_salt(img);
    uint64_t data_off = le64_at(img + PREDLOG_POOL_SB_OFF_DATA_OFFSET);
    uint64_t len = le64_at(img + PREDLOG_POOL_SB_OFF_DATA_SIZE);
    uint8_t *area = img + data_off;
    uint32_t flags;
    PredlogRecordView v;
    size_t pos = 0;

    g_assert_cmphex(salt, !=, 0);
    while ((pos = predlog_record_resync(area, len, pos, salt, &v)) < len) {
        g_autofree uint8_t *pl = dup_bytes(v.payload, v.hdr.stored_len);

        g_assert_cmpint(v.hdr.type, !=, PREDLOG_RECORD_TYPE_CHUNK);
        g_assert_cmpuint(predlog_record_encode(area + pos, v.size, 0, &v.hdr,
                                               pl), ==, v.size);
        pos += v.size;
    }
    memcpy(&flags, img + PREDLOG_POOL_SB_OFF_FLAGS, 4);
    put_le32(img + PREDLOG_POOL_SB_OFF_FLAGS,
             GUINT32_FROM_LE(flags) & ~PREDLOG_POOL_FLAG_SALT);
    put_le64(img + PREDLOG_POOL_SB_OFF_SALT, 0);
    sb_reseal(img);
}

/* Seqs of the forgeries: above anything the tests log */
#define FORGED_PLAIN    1000    /* unsalted (a pool before salts) */
#define FORGED_GUESSED  1001    /* salted with a guess */

/*
 * Issue 14: a guest record whose payload holds two well-formed record
 * encodings of function 0 -- unsalted, and with a guessed salt -- at
 * 8-byte boundaries, between records of its own.  Returns the offset of
 * the outer record in the image.
 */
static uint64_t log_forgeries(Pool *p, uint64_t *outer_seq)
{
    PredlogRecordHeader h = {
        .type = PREDLOG_RECORD_TYPE_GUEST,
        .func_id = 0,
        .orig_len = 64,
        .stored_len = 64,
        .timestamp_ns = 1,
    };
    size_t fsize = predlog_record_size(64);
    uint8_t fpay[64], payload[8 + 2 * 120 + 8];
    g_autoptr(GArray) recs = NULL;
    const PredlogRecoveredRecord *r;
    PredlogImage *im;

    g_assert_cmpuint(fsize, ==, 120);
    fill_random(payload, sizeof(payload));
    fill_random(fpay, sizeof(fpay));
    h.seq = FORGED_PLAIN;
    g_assert_cmpuint(predlog_record_encode(payload + 8, fsize, 0, &h, fpay),
                     ==, fsize);
    h.seq = FORGED_GUESSED;
    g_assert_cmpuint(predlog_record_encode(payload + 8 + fsize, fsize,
                                           0xfeedfacecafebeefull, &h, fpay),
                     ==, fsize);
    pool_log(p, 0, 30);
    *outer_seq = pool_log_data(p, 0, payload, sizeof(payload));
    pool_log(p, 0, 30);

    im = open_ok(p->region, p->size);
    recs = predlog_image_scan(im, NULL);
    r = find_rec(recs, 0, *outer_seq);
    g_assert_nonnull(r);
    g_assert_null(find_rec(recs, 0, FORGED_PLAIN));
    predlog_image_free(im);
    return r->offset;
}

/*
 * Scan @img after the header of the record at @outer was overwritten
 * (the outer record is lost), optionally with function 0's directory
 * entry damaged too (its records are then salvaged).  Returns whether
 * the forgery of @seq was returned; the other records always are.
 */
static bool forgery_returned(const uint8_t *img, size_t len, uint64_t outer,
                             bool damage_dir, uint64_t seq)
{
    g_autofree uint8_t *copy = dup_bytes(img, len);
    g_autoptr(GArray) recs = NULL;
    PredlogRecoveryTotals t;
    PredlogImage *im;
    bool found;

    memset(copy + outer, 0x5a, PREDLOG_RECORD_HDR_LEN);
    if (damage_dir) {
        copy[PREDLOG_POOL_SB_SIZE + 5] ^= 1;
        copy[PREDLOG_POOL_SB_SIZE + PREDLOG_POOL_DIR_ENTRY_SIZE + 5] ^= 1;
    }
    im = open_ok(copy, len);
    recs = predlog_image_scan(im, &t);
    assert_sane_scan(im, copy, recs, &t);
    g_assert_cmpuint(t.salvaged_functions, ==, damage_dir);
    found = find_rec(recs, 0, seq) != NULL;
    /* the two records around the lost one, and the forgeries found */
    g_assert_cmpuint(t.committed, ==,
                     2 + (find_rec(recs, 0, FORGED_PLAIN) != NULL) +
                     (find_rec(recs, 0, FORGED_GUESSED) != NULL));
    predlog_image_free(im);
    return found;
}

static void test_salt_forged_in_payload(void)
{
    Pool *p = pool_new(DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER,
                       PREDLOG_POLICY_FIXED, 2, 0, 1);
    uint64_t outer_seq, outer = log_forgeries(p, &outer_seq);
    g_autofree uint8_t *old = dup_bytes(p->region, p->size);

    for (int dir = 0; dir < 2; dir++) {
        /* a salted pool: neither forgery is a record, salvaged or not */
        g_assert_false(forgery_returned(p->region, p->size, outer, dir,
                                        FORGED_PLAIN));
        g_assert_false(forgery_returned(p->region, p->size, outer, dir,
                                        FORGED_GUESSED));
        /*
         * The same pool as written before salts (salt 0 on both sides):
         * the unsalted forgery is taken for a record.
         */
        pool_desalt(old);
        g_assert_true(forgery_returned(old, p->size, outer, dir,
                                       FORGED_PLAIN));
        g_assert_false(forgery_returned(old, p->size, outer, dir,
                                        FORGED_GUESSED));
        memcpy(old, p->region, p->size);
    }
    pool_free(p);
}

/*
 * Every pool gets its own salt, in its superblock with the flag, and a
 * record copied from one pool into another is not a record there.
 */
static void test_salt_per_pool(void)
{
    const uint64_t size = DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER;
    Pool *a = pool_new(size, PREDLOG_POLICY_FIXED, 2, 0, 2);
    Pool *b = pool_new(size, PREDLOG_POLICY_FIXED, 2, 0, 2);
    uint64_t sa = predlog_recorder_salt(a->rec);
    uint64_t sb = predlog_recorder_salt(b->rec);
    g_autoptr(GArray) recs = NULL;
    const PredlogRecoveredRecord *r;
    PredlogRecoveryTotals t;
    PredlogImage *im;
    uint64_t seq;

    g_assert_cmphex(sa, !=, sb);
    g_assert_cmphex((uint32_t)sa, !=, 0);
    g_assert_cmphex(sa >> 32, !=, 0);
    g_assert_cmphex(img_salt(a->region), ==, sa);
    g_assert_cmphex(img_salt(b->region), ==, sb);

    /* a's record of fn1, put where b's fn1 has its next record */
    pool_log(a, 1, 200);
    seq = pool_log(a, 1, 200);
    pool_log(b, 1, 200);
    im = open_ok(a->region, a->size);
    g_assert_cmphex(predlog_image_salt(im), ==, sa);
    recs = predlog_image_scan(im, NULL);
    r = find_rec(recs, 1, seq);
    g_assert_nonnull(r);
    memcpy(b->region + r->offset, a->region + r->offset, r->view.size);
    g_clear_pointer(&recs, g_array_unref);
    predlog_image_free(im);

    im = open_ok(b->region, b->size);
    g_assert_cmphex(predlog_image_salt(im), ==, sb);
    recs = predlog_image_scan(im, &t);
    g_assert_cmpuint(t.committed, ==, 1);
    g_assert_null(find_rec(recs, 1, seq));
    predlog_image_free(im);
    pool_free(a);
    pool_free(b);
}

/*
 * A pool from before salts (no flag, salt 0) still recovers: the same
 * records as the salted pool it was made from, with the same counts.
 */
static void test_salt_old_pool(void)
{
    const uint64_t size = DATA_OFF(3) + 3 * PREDLOG_RECORDER_MIN_BUFFER;
    Pool *p = pool_new(size, PREDLOG_POLICY_FIXED, 3, 0, 3);
    g_autofree uint8_t *old = NULL;
    g_autoptr(GArray) recs = NULL;
    g_autoptr(GArray) old_recs = NULL;
    PredlogRecoveryTotals t, old_t;
    PredlogImage *im, *old_im;

    /* every function wraps in its buffer: some records are overwritten */
    for (unsigned i = 0; i < 600; i++) {
        pool_log(p, i % 3 ? 1 + (i % 2) : 0, 50 + i % 300);
    }
    old = dup_bytes(p->region, size);
    pool_desalt(old);
    im = open_ok(p->region, size);
    old_im = open_ok(old, size);
    g_assert_cmphex(predlog_image_salt(old_im), ==, 0);
    recs = predlog_image_scan(im, &t);
    old_recs = predlog_image_scan(old_im, &old_t);
    assert_sane_scan(old_im, old, old_recs, &old_t);
    g_assert_cmpuint(t.overwritten, >, 0);
    g_assert_cmpmem(&t, sizeof(t), &old_t, sizeof(old_t));
    g_assert_cmpuint(recs->len, ==, old_recs->len);
    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);
        const PredlogRecoveredRecord *o =
            &g_array_index(old_recs, PredlogRecoveredRecord, i);

        g_assert_cmpuint(r->offset, ==, o->offset);
        g_assert_cmpmem(&r->view.hdr, sizeof(r->view.hdr), &o->view.hdr,
                        sizeof(o->view.hdr));
    }
    predlog_image_free(im);
    predlog_image_free(old_im);
    pool_free(p);
}

/*
 * An incoming migration: the destination formatted its pool with a salt
 * of its own, then the source's pool arrived.  Adopting it takes the
 * source's salt (0 for a pool from before salts), so what the
 * destination logs next recovers together with what the source logged.
 */
static void test_salt_adopt(void)
{
    const uint64_t size = DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER;

    for (int old = 0; old < 2; old++) {
        Pool *src = pool_new(size, PREDLOG_POLICY_FIXED, 2, 0, 2);
        Pool *dst = pool_new(size, PREDLOG_POLICY_FIXED, 2, 0, 2);
        uint64_t want = old ? 0 : predlog_recorder_salt(src->rec);
        g_autoptr(GArray) recs = NULL;
        PredlogRecoveryTotals t;
        GError *err = NULL;
        PredlogImage *im;

        for (unsigned i = 0; i < 6; i++) {
            pool_log(src, i % 2, 100);
        }
        if (old) {
            pool_desalt(src->region);
        }
        g_assert_cmphex(predlog_recorder_salt(dst->rec), !=, want);
        memcpy(dst->region, src->region, size);
        g_assert_true(predlog_recorder_adopt(dst->rec, false, &err));
        g_assert_no_error(err);
        g_assert_cmphex(predlog_recorder_salt(dst->rec), ==, want);
        for (unsigned i = 0; i < 4; i++) {
            pool_log(dst, i % 2, 100);
        }
        im = open_ok(dst->region, size);
        g_assert_cmphex(predlog_image_salt(im), ==, want);
        recs = predlog_image_scan(im, &t);
        assert_sane_scan(im, dst->region, recs, &t);
        g_assert_cmpuint(t.committed, ==, 10);
        g_assert_cmpuint(t.overwritten, ==, 0);
        g_assert_cmpuint(predlog_image_function_by_id(im, 0)->max_seq, ==, 5);
        g_assert_cmpuint(predlog_image_function_by_id(im, 1)->max_seq, ==, 5);
        predlog_image_free(im);
        pool_free(src);
        pool_free(dst);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/recovery/open/not-a-pool", test_not_a_pool);
    g_test_add_func("/recovery/open/version", test_wrong_version);
    g_test_add_func("/recovery/open/corrupt", test_corrupt_superblock);
    g_test_add_func("/recovery/open/truncated", test_truncated);
    g_test_add_func("/recovery/directory/copies", test_directory_copies);
    g_test_add_func("/recovery/scan/duplicates-and-order",
                    test_duplicates_and_order);
    g_test_add_func("/recovery/crash/fixed", test_crash_fixed);
    g_test_add_func("/recovery/crash/dynamic", test_crash_dynamic);
    g_test_add_func("/recovery/crash/seal-missing", test_crash_seal_missing);
    g_test_add_func("/recovery/garbage/data", test_garbage);
    g_test_add_func("/recovery/garbage/chunk-orig-len",
                    test_chunk_orig_len_bound);
    g_test_add_func("/recovery/garbage/metadata", test_garbage_metadata);
    g_test_add_func("/recovery/garbage/chunk-unpack-limit",
                    test_chunk_unpack_limit);
    g_test_add_func("/recovery/salt/forged-in-payload",
                    test_salt_forged_in_payload);
    g_test_add_func("/recovery/salt/per-pool", test_salt_per_pool);
    g_test_add_func("/recovery/salt/old-pool", test_salt_old_pool);
    g_test_add_func("/recovery/salt/adopt", test_salt_adopt);
    if (g_test_perf()) {
        g_test_add_func("/recovery/perf/scan-64mib", test_scan_speed);
    }
    return g_test_run();
}
