/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog recorder (region format, directory, FIXED and
 * DYNAMIC buffer policies, the record path and its statistics)
 *
 * Every test keeps a host-side list of what it logged and reads the region
 * back through recovery.c, the way predlog-recover will: what a test
 * checks is what survives in the bytes, not what the recorder believes.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>
#include <glib.h>

#include "hw/predlog/core/pool.h"
#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/recovery.h"

#define MAX_F       8
#define DIR_SIZE(n) ((((uint64_t)(n) * 256) + 4095) & ~(uint64_t)4095)
#define DATA_OFF(n) (PREDLOG_POOL_SB_SIZE + DIR_SIZE(n))

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* What the test logged, to compare against what comes back. */
typedef struct Expect {
    PredlogRecordHeader hdr;
    uint8_t *payload;           /* hdr.stored_len bytes */
} Expect;

typedef struct Fixture {
    uint8_t *region;
    uint64_t size;
    PredlogRecorder *rec;
    GPtrArray *logged[MAX_F];   /* Expect *, index seq - 1 */
    uint64_t now;               /* monotonic clock handed to the recorder */
} Fixture;

static void expect_free(gpointer p)
{
    Expect *e = p;

    g_free(e->payload);
    g_free(e);
}

static void fill_random(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)g_test_rand_int();
    }
}

/* g_memdup2() is newer than the GLib QEMU 10.0 requires. */
static uint8_t *dup_bytes(const void *p, size_t len)
{
    uint8_t *d = g_malloc(len + 1);

    memcpy(d, p, len);
    return d;
}

static Fixture *fx_new(uint64_t size, PredlogPolicy policy, uint32_t max_f,
                       uint64_t buffer_size)
{
    Fixture *fx = g_new0(Fixture, 1);
    PredlogRecorderConfig cfg = {
        .policy = policy,
        .max_functions = max_f,
        .buffer_size = buffer_size,
        .created_ns = 1234567890123ull,
        .name = "predlog0",
    };
    GError *err = NULL;

    fx->size = size;
    fx->region = g_malloc(size);
    /* Stale bytes everywhere: formatting must clear them. */
    memset(fx->region, 0xa5, size);
    fx->rec = predlog_recorder_new(fx->region, size, &cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(fx->rec);
    for (int i = 0; i < MAX_F; i++) {
        fx->logged[i] = g_ptr_array_new_with_free_func(expect_free);
    }
    fx->now = 1000;
    return fx;
}

static void fx_free(Fixture *fx)
{
    predlog_recorder_free(fx->rec);
    for (int i = 0; i < MAX_F; i++) {
        g_ptr_array_unref(fx->logged[i]);
    }
    g_free(fx->region);
    g_free(fx);
}

static int fx_add(Fixture *fx, PredlogFunctionKind kind, const char *name)
{
    GError *err = NULL;
    int id = predlog_recorder_add_function(fx->rec, kind, name, fx->now,
                                           &err);

    g_assert_no_error(err);
    g_assert_cmpint(id, >=, 0);
    return id;
}

/*
 * Log a record of @len random payload bytes cut at @max_stored, handed
 * over in random pieces (zero-length ones included), and remember it if
 * the recorder took it.
 */
static PredlogLogResult fx_log_full(Fixture *fx, int func, uint32_t len,
                                    uint32_t max_stored,
                                    PredlogRecordLevel level)
{
    g_autofree uint8_t *data = g_malloc(len + 1);
    PredlogPiece pieces[6];
    unsigned n = 0;
    uint32_t at = 0;
    PredlogEntry entry;
    PredlogLogResult r;
    uint64_t seq = 0;

    fill_random(data, len);
    while (n < G_N_ELEMENTS(pieces) - 1 && at < len) {
        uint32_t k = g_test_rand_int_range(0, len - at + 1);

        pieces[n].data = k ? data + at : NULL;
        pieces[n].len = k;
        at += k;
        n++;
    }
    pieces[n].data = data + at;
    pieces[n].len = len - at;
    n++;

    fx->now += 1000;
    entry = (PredlogEntry) {
        .type = PREDLOG_RECORD_TYPE_NET_PACKET,
        .level = level,
        .aux = PREDLOG_NET_FROM_GUEST,
        .orig_len = len,
        .timestamp_ns = fx->now,
        .pieces = pieces,
        .n_pieces = n,
        .max_stored = max_stored,
    };
    r = predlog_recorder_log(fx->rec, func, &entry, fx->now, &seq);
    if (r == PREDLOG_LOG_OK) {
        Expect *e = g_new0(Expect, 1);

        g_assert_cmpuint(seq, ==, fx->logged[func]->len + 1);
        e->hdr.type = entry.type;
        e->hdr.level = level;
        e->hdr.func_id = func;
        e->hdr.orig_len = len;
        e->hdr.stored_len = MIN(len, max_stored);
        e->hdr.seq = seq;
        e->hdr.timestamp_ns = entry.timestamp_ns;
        e->hdr.aux = entry.aux;
        e->payload = dup_bytes(data, e->hdr.stored_len);
        g_ptr_array_add(fx->logged[func], e);
    }
    return r;
}

static void fx_log(Fixture *fx, int func, uint32_t len)
{
    g_assert_cmpint(fx_log_full(fx, func, len, UINT32_MAX,
                                PREDLOG_RECORD_LEVEL_FULL), ==,
                    PREDLOG_LOG_OK);
}

/* What came back per function. */
typedef struct Readback {
    PredlogRecoveryTotals totals;
    bool *found[MAX_F];         /* index seq - 1 */
    uint64_t n_found[MAX_F];
    uint64_t lowest_found[MAX_F];
    uint64_t overwritten[MAX_F];
    uint64_t torn[MAX_F];
    uint64_t active_offset[MAX_F];
    uint64_t active_size[MAX_F];
} Readback;

static void readback_clear(Readback *rb)
{
    for (int i = 0; i < MAX_F; i++) {
        g_free(rb->found[i]);
    }
}

/*
 * Recover the region and check every record that comes back against what
 * was logged, byte for byte, and the output order.
 */
static void fx_readback(Fixture *fx, Readback *rb)
{
    GError *err = NULL;
    PredlogImage *img = predlog_image_open(fx->region, fx->size, &err);
    g_autoptr(GArray) recs = NULL;
    const PredlogRecoveredRecord *prev = NULL;

    g_assert_no_error(err);
    g_assert_nonnull(img);
    memset(rb, 0, sizeof(*rb));
    for (int i = 0; i < MAX_F; i++) {
        rb->found[i] = g_new0(bool, fx->logged[i]->len + 1);
    }
    recs = predlog_image_scan(img, &rb->totals);
    g_assert_cmpuint(rb->totals.orphaned, ==, 0);
    g_assert_cmpuint(rb->totals.duplicates, ==, 0);
    g_assert_cmpuint(rb->totals.torn, ==, 0);
    g_assert_cmpuint(rb->totals.committed, ==, recs->len);

    for (guint i = 0; i < recs->len; i++) {
        const PredlogRecoveredRecord *r =
            &g_array_index(recs, PredlogRecoveredRecord, i);
        const PredlogRecordHeader *h = &r->view.hdr;
        const Expect *e;

        g_assert_cmpuint(h->func_id, <, MAX_F);
        g_assert_cmpuint(h->seq, >=, 1);
        g_assert_cmpuint(h->seq, <=, fx->logged[h->func_id]->len);
        e = g_ptr_array_index(fx->logged[h->func_id], h->seq - 1);
        g_assert_cmpint(h->type, ==, e->hdr.type);
        g_assert_cmpint(h->level, ==, e->hdr.level);
        g_assert_cmpuint(h->orig_len, ==, e->hdr.orig_len);
        g_assert_cmpuint(h->stored_len, ==, e->hdr.stored_len);
        g_assert_cmpuint(h->timestamp_ns, ==, e->hdr.timestamp_ns);
        g_assert_cmpuint(h->aux, ==, e->hdr.aux);
        g_assert_true(e->hdr.stored_len == 0 ||
                      memcmp(r->view.payload, e->payload,
                             e->hdr.stored_len) == 0);
        g_assert_false(rb->found[h->func_id][h->seq]);
        rb->found[h->func_id][h->seq] = true;
        rb->n_found[h->func_id]++;
        if (!rb->lowest_found[h->func_id] ||
            h->seq < rb->lowest_found[h->func_id]) {
            rb->lowest_found[h->func_id] = h->seq;
        }
        if (prev) {
            const PredlogRecordHeader *p = &prev->view.hdr;

            g_assert_true(p->timestamp_ns < h->timestamp_ns ||
                          (p->timestamp_ns == h->timestamp_ns &&
                           (p->func_id < h->func_id ||
                            (p->func_id == h->func_id && p->seq < h->seq))));
        }
        prev = r;
    }
    for (unsigned i = 0; i < predlog_image_n_functions(img); i++) {
        const PredlogImageFunction *f = predlog_image_function(img, i);

        g_assert_cmpint(f->id, <, MAX_F);
        rb->overwritten[f->id] = f->overwritten;
        rb->torn[f->id] = f->torn;
        rb->active_offset[f->id] = f->buf_offset;
        rb->active_size[f->id] = f->buf_size;
        g_assert_cmpuint(f->committed, ==, rb->n_found[f->id]);
        if (f->committed) {
            g_assert_cmpuint(f->max_seq, ==, fx->logged[f->id]->len);
        }
    }
    predlog_image_free(img);
}

/* Seq numbers in [from, last logged] all came back. */
static void assert_found_from(Fixture *fx, Readback *rb, int func,
                              uint64_t from)
{
    for (uint64_t s = MAX(from, 1); s <= fx->logged[func]->len; s++) {
        if (!rb->found[func][s]) {
            g_error("function %d: seq %" G_GUINT64_FORMAT " of %u lost",
                    func, s, fx->logged[func]->len);
        }
    }
}

static uint64_t le64_at(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_LE(v);
}

static uint32_t le32_at(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

/* ------------------------------------------------------------------ */
/* Format and directory                                                */
/* ------------------------------------------------------------------ */

static void assert_new_fails(uint64_t size, const PredlogRecorderConfig *cfg,
                             const char *why)
{
    g_autofree uint8_t *region = g_malloc(MAX(size, 1));
    GError *err = NULL;

    memset(region, 0x5a, MAX(size, 1));
    g_assert_null(predlog_recorder_new(region, size, cfg, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, why)) {
        g_error("expected '%s' in: %s", why, err->message);
    }
    g_test_message("%s", err->message);
    g_clear_error(&err);
    /* A refused region is left alone. */
    for (uint64_t i = 0; i < size; i++) {
        g_assert_cmphex(region[i], ==, 0x5a);
    }
}

static void test_format_errors(void)
{
    PredlogRecorderConfig cfg = {
        .policy = PREDLOG_POLICY_FIXED,
        .max_functions = 4,
    };
    uint64_t min = DATA_OFF(4) + 4 * PREDLOG_RECORDER_MIN_BUFFER;
    g_autofree uint8_t *region = g_malloc(min);
    g_autofree char *long_name = g_strnfill(PREDLOG_POOL_NAME_MAX + 1, 'n');
    PredlogRecorder *rec;
    GError *err = NULL;

    /* Too small by one byte: no room for 4 minimum buffers. */
    assert_new_fails(min - 1, &cfg, "too small");
    assert_new_fails(DATA_OFF(4), &cfg, "too small");
    assert_new_fails(100, &cfg, "too small");
    assert_new_fails(0, &cfg, "too small");

    /* The exact minimum works. */
    rec = predlog_recorder_new(region, min, &cfg, &err);
    g_assert_no_error(err);
    g_assert_nonnull(rec);
    predlog_recorder_free(rec);

    cfg.max_functions = 0;
    assert_new_fails(min, &cfg, "max_functions");
    cfg.max_functions = PREDLOG_RECORDER_MAX_FUNCTIONS + 1;
    assert_new_fails(min, &cfg, "max_functions");
    cfg.max_functions = 4;

    cfg.policy = PREDLOG_POLICY__MAX;
    assert_new_fails(min, &cfg, "policy");
    cfg.policy = PREDLOG_POLICY_FIXED;

    cfg.name = long_name;
    assert_new_fails(min, &cfg, "name");
    cfg.name = NULL;

    /* A salt given must salt both CRCs; it is then the pool's. */
    cfg.salt = 0x5a17;
    assert_new_fails(min, &cfg, "zero half");
    cfg.salt = 0x5a17ull << 32;
    assert_new_fails(min, &cfg, "zero half");
    cfg.salt = 0x0123456789abcdefull;
    rec = predlog_recorder_new(region, min, &cfg, &err);
    g_assert_no_error(err);
    g_assert_cmphex(predlog_recorder_salt(rec), ==, cfg.salt);
    g_assert_cmphex(le64_at(region + PREDLOG_POOL_SB_OFF_SALT), ==,
                    cfg.salt);
    predlog_recorder_free(rec);
    cfg.salt = 0;

    cfg.policy = PREDLOG_POLICY_DYNAMIC;
    cfg.buffer_size = PREDLOG_RECORDER_MIN_BUFFER - 1;
    assert_new_fails(min, &cfg, "buffer size");
    cfg.buffer_size = min;
    assert_new_fails(min, &cfg, "buffer size");
    cfg.buffer_size = PREDLOG_RECORDER_MIN_BUFFER;
    rec = predlog_recorder_new(region, min, &cfg, &err);
    g_assert_no_error(err);
    predlog_recorder_free(rec);

    g_assert_null(predlog_recorder_new(region, min, NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_null(predlog_recorder_new(NULL, min, &cfg, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
}

static void test_format_layout(void)
{
    Fixture *fx = fx_new(DATA_OFF(3) + 3 * 20000, PREDLOG_POLICY_FIXED, 3,
                         0);
    const uint8_t *sb = fx->region;
    uint64_t data_size = (3 * 20000) & ~(uint64_t)511;
    GError *err = NULL;
    PredlogImage *img;
    PredlogRecorderStats st;
    uint64_t i;

    g_assert_cmphex(le64_at(sb), ==, PREDLOG_POOL_MAGIC);
    /* What a hex dump of a pool file shows. */
    g_assert_cmpmem(sb, 8, "PLPOOL\0\1", 8);
    g_assert_cmpuint(le32_at(sb + PREDLOG_POOL_SB_OFF_VERSION), ==, 1);
    g_assert_cmpuint(le64_at(sb + PREDLOG_POOL_SB_OFF_POOL_SIZE), ==,
                     fx->size);
    g_assert_cmpuint(le32_at(sb + PREDLOG_POOL_SB_OFF_DIR_SLOTS), ==, 3);
    g_assert_cmpuint(le64_at(sb + PREDLOG_POOL_SB_OFF_DATA_OFFSET), ==,
                     8192);
    g_assert_cmpuint(le64_at(sb + PREDLOG_POOL_SB_OFF_DATA_SIZE), ==,
                     data_size);
    g_assert_cmpuint(le64_at(sb + PREDLOG_POOL_SB_OFF_BUFFER_SIZE), ==,
                     (data_size / 3) & ~(uint64_t)511);
    g_assert_cmphex(le32_at(sb + PREDLOG_POOL_SB_OFF_CRC), ==,
                    predlog_crc32c(0, sb, PREDLOG_POOL_SB_OFF_CRC));
    /* A random salt, with no zero half, and the flag that says so */
    g_assert_cmphex(le32_at(sb + PREDLOG_POOL_SB_OFF_FLAGS), ==,
                    PREDLOG_POOL_FLAG_SEQ_TABLE | PREDLOG_POOL_FLAG_SALT);
    g_assert_cmphex(le64_at(sb + PREDLOG_POOL_SB_OFF_SALT), ==,
                    predlog_recorder_salt(fx->rec));
    g_assert_cmphex(le32_at(sb + PREDLOG_POOL_SB_OFF_SALT), !=, 0);
    g_assert_cmphex(le32_at(sb + PREDLOG_POOL_SB_OFF_SALT + 4), !=, 0);
    /* Formatting zeroed everything else. */
    for (i = PREDLOG_POOL_SB_OFF_NAME + 8; i < PREDLOG_POOL_SB_OFF_SALT; i++) {
        g_assert_cmphex(sb[i], ==, 0);
    }
    for (i = PREDLOG_POOL_SB_OFF_SALT + 8; i < PREDLOG_POOL_SB_OFF_CRC; i++) {
        g_assert_cmphex(sb[i], ==, 0);
    }
    for (i = PREDLOG_POOL_SB_SIZE; i < fx->size; i++) {
        g_assert_cmphex(fx->region[i], ==, 0);
    }

    img = predlog_image_open(fx->region, fx->size, &err);
    g_assert_no_error(err);
    g_assert_cmpint(predlog_image_policy(img), ==, PREDLOG_POLICY_FIXED);
    g_assert_cmpuint(predlog_image_pool_size(img), ==, fx->size);
    g_assert_cmpuint(predlog_image_created_ns(img), ==, 1234567890123ull);
    g_assert_cmpstr(predlog_image_name(img), ==, "predlog0");
    g_assert_cmpuint(predlog_image_n_functions(img), ==, 0);
    predlog_image_free(img);

    predlog_recorder_get_stats(fx->rec, &st);
    g_assert_cmpint(st.policy, ==, PREDLOG_POLICY_FIXED);
    g_assert_cmpuint(st.size, ==, fx->size);
    g_assert_cmpuint(st.data_size, ==, data_size);
    g_assert_cmpuint(st.used, ==, 0);
    g_assert_cmpuint(st.free, ==, data_size);
    g_assert_cmpuint(st.fragments, ==, 1);
    g_assert_cmpuint(st.functions, ==, 0);
    g_assert_cmpuint(predlog_recorder_used_percent(fx->rec), ==, 0);
    fx_free(fx);
}

static void test_add_function(void)
{
    Fixture *fx = fx_new(DATA_OFF(3) + 3 * PREDLOG_RECORDER_MIN_BUFFER,
                         PREDLOG_POLICY_FIXED, 3, 0);
    g_autofree char *name63 = g_strnfill(PREDLOG_POOL_NAME_MAX, 'x');
    g_autofree char *name64 = g_strnfill(PREDLOG_POOL_NAME_MAX + 1, 'x');
    PredlogFunctionStats fs;
    GError *err = NULL;
    PredlogImage *img;
    const PredlogImageFunction *f;

    g_assert_cmpint(predlog_recorder_add_function(fx->rec,
                                                  PREDLOG_FUNCTION_NET, "",
                                                  0, &err), ==, -1);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "name"));
    g_clear_error(&err);
    g_assert_cmpint(predlog_recorder_add_function(fx->rec,
                                                  PREDLOG_FUNCTION_NET, NULL,
                                                  0, &err), ==, -1);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpint(predlog_recorder_add_function(fx->rec,
                                                  PREDLOG_FUNCTION_NET,
                                                  name64, 0, &err), ==, -1);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "name"));
    g_clear_error(&err);
    g_assert_cmpint(predlog_recorder_add_function(fx->rec, 0, "bad-kind",
                                                  0, &err), ==, -1);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpuint(predlog_recorder_n_functions(fx->rec), ==, 0);

    g_assert_cmpint(fx_add(fx, PREDLOG_FUNCTION_NET, "net0"), ==, 0);
    g_assert_cmpint(fx_add(fx, PREDLOG_FUNCTION_BLOCK, name63), ==, 1);
    g_assert_cmpint(fx_add(fx, PREDLOG_FUNCTION_GUEST, "guest"), ==, 2);
    g_assert_cmpint(predlog_recorder_add_function(fx->rec,
                                                  PREDLOG_FUNCTION_NET,
                                                  "one-too-many", 0, &err),
                    ==, -1);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "directory"));
    g_test_message("%s", err->message);
    g_clear_error(&err);
    g_assert_cmpuint(predlog_recorder_n_functions(fx->rec), ==, 3);

    g_assert_true(predlog_recorder_get_function_stats(fx->rec, 1, &fs));
    g_assert_cmpint(fs.id, ==, 1);
    g_assert_cmpint(fs.kind, ==, PREDLOG_FUNCTION_BLOCK);
    g_assert_cmpstr(fs.name, ==, name63);
    g_assert_cmpuint(fs.buffers, ==, 0);
    g_assert_cmpuint(fs.last_seq, ==, 0);
    g_assert_false(predlog_recorder_get_function_stats(fx->rec, 3, &fs));
    g_assert_false(predlog_recorder_get_function_stats(fx->rec, -1, &fs));

    /* The directory names them before they log anything. */
    img = predlog_image_open(fx->region, fx->size, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(predlog_image_n_functions(img), ==, 3);
    f = predlog_image_function_by_id(img, 1);
    g_assert_nonnull(f);
    g_assert_cmpstr(f->name, ==, name63);
    g_assert_cmpint(f->kind, ==, PREDLOG_FUNCTION_BLOCK);
    g_assert_cmpuint(f->buf_offset, ==, 0);
    g_assert_cmpuint(f->generation, ==, 1);
    g_assert_cmpmem(fx->region + PREDLOG_POOL_SB_SIZE +
                    2 * PREDLOG_POOL_DIR_ENTRY_SIZE, 4, "PLFN", 4);
    g_assert_cmpstr(predlog_image_function_by_id(img, 2)->name, ==, "guest");
    g_assert_null(predlog_image_function_by_id(img, 3));
    predlog_image_free(img);

    g_assert_cmpstr(predlog_function_kind_str(PREDLOG_FUNCTION_NET), ==,
                    "net");
    g_assert_cmpstr(predlog_function_kind_str(PREDLOG_FUNCTION_BLOCK), ==,
                    "block");
    g_assert_cmpstr(predlog_function_kind_str(PREDLOG_FUNCTION_GUEST), ==,
                    "guest");
    g_assert_cmpstr(predlog_policy_str(PREDLOG_POLICY_FIXED), ==, "fixed");
    g_assert_cmpstr(predlog_policy_str(PREDLOG_POLICY_DYNAMIC), ==,
                    "dynamic");
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* Record path                                                         */
/* ------------------------------------------------------------------ */

static void test_log_refused(void)
{
    Fixture *fx = fx_new(DATA_OFF(4) + 4 * PREDLOG_RECORDER_MIN_BUFFER,
                         PREDLOG_POLICY_FIXED, 4, 0);
    uint8_t data[100] = { 0 };
    PredlogPiece piece = { data, sizeof(data) };
    PredlogPiece null_piece = { NULL, 10 };
    PredlogEntry good = {
        .type = PREDLOG_RECORD_TYPE_GUEST,
        .orig_len = sizeof(data),
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = UINT32_MAX,
    };
    PredlogEntry e;
    PredlogFunctionStats fs;
    uint64_t seq = 99;
    int id = fx_add(fx, PREDLOG_FUNCTION_GUEST, "g");

    g_assert_cmpint(predlog_recorder_log(fx->rec, -1, &good, 1, &seq), ==,
                    PREDLOG_LOG_BAD_FUNCTION);
    g_assert_cmpint(predlog_recorder_log(fx->rec, 1, &good, 1, &seq), ==,
                    PREDLOG_LOG_BAD_FUNCTION);
    g_assert_cmpint(predlog_recorder_log(fx->rec, 4, &good, 1, &seq), ==,
                    PREDLOG_LOG_BAD_FUNCTION);
    g_assert_cmpint(predlog_recorder_log(fx->rec, 70000, &good, 1, &seq), ==,
                    PREDLOG_LOG_BAD_FUNCTION);

    e = good;
    e.type = 0;
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                    PREDLOG_LOG_BAD_ENTRY);
    e.type = PREDLOG_RECORD_TYPE__MAX + 1;
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                    PREDLOG_LOG_BAD_ENTRY);
    e = good;
    e.level = PREDLOG_RECORD_LEVEL__MAX + 1;
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                    PREDLOG_LOG_BAD_ENTRY);
    e = good;
    e.orig_len = sizeof(data) - 1;      /* more stored than it claims */
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                    PREDLOG_LOG_BAD_ENTRY);
    e = good;
    e.pieces = NULL;
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                    PREDLOG_LOG_BAD_ENTRY);
    e = good;
    e.pieces = &null_piece;
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                    PREDLOG_LOG_BAD_ENTRY);
    g_assert_cmpuint(seq, ==, 99);

    /* None of that consumed a seq number or counted as dropped. */
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id, &fs));
    g_assert_cmpuint(fs.records, ==, 0);
    g_assert_cmpuint(fs.dropped, ==, 0);
    g_assert_cmpuint(fs.last_seq, ==, 0);
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &good, 1, &seq), ==,
                    PREDLOG_LOG_OK);
    g_assert_cmpuint(seq, ==, 1);
    /* seq may be NULL */
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &good, 2, NULL), ==,
                    PREDLOG_LOG_OK);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id, &fs));
    g_assert_cmpuint(fs.last_seq, ==, 2);
    fx_free(fx);
}

/* Pieces are concatenated; zero-length and empty entries are fine. */
static void test_log_pieces(void)
{
    Fixture *fx = fx_new(DATA_OFF(2) + 2 * 65536, PREDLOG_POLICY_FIXED, 2,
                         0);
    int a = fx_add(fx, PREDLOG_FUNCTION_NET, "a");
    int b = fx_add(fx, PREDLOG_FUNCTION_NET, "b");
    Readback rb;

    for (int i = 0; i < 200; i++) {
        fx_log(fx, i % 3 ? a : b, g_test_rand_int_range(0, 300));
    }
    fx_log(fx, a, 0);
    /* Sequence numbers are per function, from 1. */
    g_assert_cmpuint(fx->logged[a]->len + fx->logged[b]->len, ==, 201);
    fx_readback(fx, &rb);
    assert_found_from(fx, &rb, a, 1);
    assert_found_from(fx, &rb, b, 1);
    g_assert_cmpuint(rb.totals.committed, ==, 201);
    g_assert_cmpuint(rb.totals.overwritten, ==, 0);
    readback_clear(&rb);
    fx_free(fx);
}

static void test_log_max_stored(void)
{
    Fixture *fx = fx_new(DATA_OFF(1) + 65536, PREDLOG_POLICY_FIXED, 1, 0);
    int id = fx_add(fx, PREDLOG_FUNCTION_BLOCK, "blk");
    uint8_t data[1000];
    PredlogPiece pieces[3] = {
        { data, 60 }, { data + 60, 0 }, { data + 60, 940 },
    };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_BLOCK_REQUEST,
        .level = PREDLOG_RECORD_LEVEL_FULL,
        .aux = PREDLOG_BLOCK_WRITE,
        .orig_len = 1000000,    /* the caller only hands over a prefix */
        .timestamp_ns = 42,
        .pieces = pieces,
        .n_pieces = 3,
        .max_stored = 100,
    };
    const uint32_t cuts[] = { 100, 0, 60, 59, 61, 1000, 5000 };
    Readback rb;
    PredlogFunctionStats fs;
    uint64_t bytes = 0;

    fill_random(data, sizeof(data));
    for (unsigned i = 0; i < G_N_ELEMENTS(cuts); i++) {
        Expect *x = g_new0(Expect, 1);
        uint64_t seq;

        e.max_stored = cuts[i];
        e.timestamp_ns++;
        g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, 1, &seq), ==,
                        PREDLOG_LOG_OK);
        x->hdr.type = e.type;
        x->hdr.level = e.level;
        x->hdr.func_id = id;
        x->hdr.orig_len = e.orig_len;
        x->hdr.stored_len = MIN(cuts[i], sizeof(data));
        x->hdr.seq = seq;
        x->hdr.timestamp_ns = e.timestamp_ns;
        x->hdr.aux = e.aux;
        x->payload = dup_bytes(data, x->hdr.stored_len);
        bytes += x->hdr.stored_len;
        g_ptr_array_add(fx->logged[id], x);
    }
    fx_readback(fx, &rb);
    assert_found_from(fx, &rb, id, 1);
    readback_clear(&rb);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id, &fs));
    g_assert_cmpuint(fs.records, ==, G_N_ELEMENTS(cuts));
    g_assert_cmpuint(fs.bytes, ==, bytes);
    g_assert_cmpint(fs.level, ==, PREDLOG_RECORD_LEVEL_FULL);
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* FIXED                                                               */
/* ------------------------------------------------------------------ */

/* Host model of one FIXED circular buffer: which records must survive. */
typedef struct RingModel {
    uint64_t size;
    uint64_t head;
    uint64_t wraps;
    GArray *live;               /* RingRec, in write order */
} RingModel;

typedef struct RingRec {
    uint64_t start;
    uint64_t end;
    uint64_t seq;
} RingRec;

/* Bytes [start, end) change: the records there are gone. */
static void ring_kill(RingModel *m, uint64_t start, uint64_t end)
{
    for (guint i = 0; i < m->live->len;) {
        RingRec *o = &g_array_index(m->live, RingRec, i);

        if (o->start < end && start < o->end) {
            g_array_remove_index(m->live, i);
        } else {
            i++;
        }
    }
}

static void ring_write(RingModel *m, uint64_t size, uint64_t seq)
{
    RingRec r;

    if (m->head + size > m->size) {
        /* The recorder zeroes the tail it skips. */
        ring_kill(m, m->head, m->size);
        m->head = 0;
        m->wraps++;
    }
    r.start = m->head;
    r.end = m->head + size;
    r.seq = seq;
    ring_kill(m, r.start, r.end);
    g_array_append_val(m->live, r);
    m->head = r.end;
}

static void test_fixed_wrap(void)
{
    const uint32_t nf = 3;
    uint64_t data = 3 * 40960;
    Fixture *fx = fx_new(DATA_OFF(nf) + data + 100, PREDLOG_POLICY_FIXED,
                         nf, 0);
    uint64_t slot = (data / nf) & ~(uint64_t)511;
    RingModel m[2] = {
        { .size = slot, .live = g_array_new(false, false, sizeof(RingRec)) },
        { .size = slot, .live = g_array_new(false, false, sizeof(RingRec)) },
    };
    int busy = fx_add(fx, PREDLOG_FUNCTION_NET, "busy");
    int quiet = fx_add(fx, PREDLOG_FUNCTION_NET, "quiet");
    PredlogFunctionStats fs;
    PredlogRecorderStats st;
    Readback rb;
    uint64_t bytes = 0, min_kept;

    for (int i = 0; i < 3000; i++) {
        /* Mostly small, some MTU-sized, now and then an empty one. */
        uint32_t len = g_test_rand_bit() ? g_test_rand_int_range(0, 128)
                                         : g_test_rand_int_range(0, 1600);
        int f = i % 50 == 7 ? quiet : busy;

        if (f == quiet) {
            len %= 200;         /* 60 of those never fill its buffer */
        }
        fx_log(fx, f, len);
        ring_write(&m[f], predlog_record_size(len), fx->logged[f]->len);
        bytes += f == busy ? len : 0;
    }

    fx_readback(fx, &rb);
    for (int f = 0; f < 2; f++) {
        GArray *live = m[f].live;

        /* Exactly the records the ring model says are intact. */
        g_assert_cmpuint(rb.n_found[f], ==, live->len);
        for (guint i = 0; i < live->len; i++) {
            g_assert_true(rb.found[f][g_array_index(live, RingRec, i).seq]);
        }
        /* ... which are the newest, without a gap. */
        assert_found_from(fx, &rb, f, fx->logged[f]->len - live->len + 1);
        g_assert_cmpuint(rb.overwritten[f], ==,
                         fx->logged[f]->len - live->len);
        g_assert_cmpuint(rb.active_size[f], ==, slot);
        g_assert_true(predlog_recorder_get_function_stats(fx->rec, f, &fs));
        g_assert_cmpuint(fs.wraps, ==, m[f].wraps);
        g_assert_cmpuint(fs.buffers, ==, 1);
        g_assert_cmpuint(fs.buffer_size, ==, slot);
        g_assert_cmpuint(fs.records, ==, fx->logged[f]->len);
        g_assert_cmpuint(fs.last_seq, ==, fx->logged[f]->len);
        g_assert_cmpuint(fs.dropped, ==, 0);
    }
    g_assert_cmpuint(m[busy].wraps, >, 10);
    g_assert_cmpuint(m[quiet].wraps, ==, 0);
    g_assert_cmpuint(rb.n_found[quiet], ==, fx->logged[quiet]->len);
    /* A full buffer keeps at least (size - largest record) of records. */
    min_kept = 0;
    for (guint i = 0; i < m[busy].live->len; i++) {
        RingRec *r = &g_array_index(m[busy].live, RingRec, i);

        min_kept += r->end - r->start;
    }
    g_assert_cmpuint(min_kept, >=, slot - 2 * predlog_record_size(1600));
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, busy, &fs));
    g_assert_cmpuint(fs.bytes, ==, bytes);

    /* Two of three slots in use, next to each other. */
    predlog_recorder_get_stats(fx->rec, &st);
    g_assert_cmpuint(st.used, ==, 2 * slot);
    g_assert_cmpuint(st.free, ==, st.data_size - 2 * slot);
    g_assert_cmpuint(st.fragments, ==, 1);
    g_assert_cmpuint(st.functions, ==, 2);
    g_assert_cmpuint(st.evictions, ==, 0);
    g_assert_cmpuint(predlog_recorder_used_percent(fx->rec), ==,
                     2 * slot * 100 / st.data_size);
    readback_clear(&rb);
    g_array_unref(m[0].live);
    g_array_unref(m[1].live);
    fx_free(fx);
}

/* A record larger than the FIXED buffer is dropped and counted. */
static void test_fixed_too_big(void)
{
    Fixture *fx = fx_new(DATA_OFF(2) + 2 * PREDLOG_RECORDER_MIN_BUFFER,
                         PREDLOG_POLICY_FIXED, 2, 0);
    int id = fx_add(fx, PREDLOG_FUNCTION_BLOCK, "blk");
    uint32_t fits = PREDLOG_RECORDER_MIN_BUFFER - PREDLOG_RECORD_MIN_SIZE;
    PredlogFunctionStats fs;
    Readback rb;

    g_autofree uint8_t *huge = g_malloc0(PREDLOG_RECORD_MAX_PAYLOAD + 1);
    PredlogPiece piece = { huge, PREDLOG_RECORD_MAX_PAYLOAD + 1 };
    PredlogEntry e = {
        .type = PREDLOG_RECORD_TYPE_BLOCK_REQUEST,
        .orig_len = PREDLOG_RECORD_MAX_PAYLOAD + 1,
        .pieces = &piece,
        .n_pieces = 1,
        .max_stored = UINT32_MAX,
    };

    fx_log(fx, id, 10);
    g_assert_cmpint(fx_log_full(fx, id, fits + 1, UINT32_MAX,
                                PREDLOG_RECORD_LEVEL_FULL), ==,
                    PREDLOG_LOG_DROPPED);
    /* More than the record format can hold is a bad entry. */
    g_assert_cmpint(predlog_recorder_log(fx->rec, id, &e, fx->now, NULL),
                    ==, PREDLOG_LOG_BAD_ENTRY);
    /* Cut to fit, the same payload is taken. */
    g_assert_cmpint(fx_log_full(fx, id, fits + 1, fits,
                                PREDLOG_RECORD_LEVEL_FULL), ==,
                    PREDLOG_LOG_OK);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id, &fs));
    g_assert_cmpuint(fs.dropped, ==, 1);
    g_assert_cmpuint(fs.records, ==, 2);
    g_assert_cmpuint(fs.last_seq, ==, 2);
    g_assert_cmpuint(fs.wraps, ==, 1);
    g_assert_cmpuint(fs.bytes, ==, 10 + fits);

    fx_readback(fx, &rb);
    /* The buffer-sized record pushed out the first; no seq gap. */
    g_assert_false(rb.found[id][1]);
    assert_found_from(fx, &rb, id, 2);
    g_assert_cmpuint(rb.overwritten[id], ==, 1);
    readback_clear(&rb);

    /* ... and the next one, at the start again, pushes it out. */
    fx_log(fx, id, 11);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id, &fs));
    g_assert_cmpuint(fs.wraps, ==, 2);
    g_assert_cmpuint(fs.last_seq, ==, 3);
    fx_readback(fx, &rb);
    assert_found_from(fx, &rb, id, 3);
    g_assert_cmpuint(rb.n_found[id], ==, 1);
    g_assert_cmpuint(rb.overwritten[id], ==, 2);
    readback_clear(&rb);
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* DYNAMIC                                                             */
/* ------------------------------------------------------------------ */

static uint64_t active_offset(Fixture *fx, int func)
{
    GError *err = NULL;
    PredlogImage *img = predlog_image_open(fx->region, fx->size, &err);
    uint64_t off;

    g_assert_no_error(err);
    off = predlog_image_function_by_id(img, func)->buf_offset;
    predlog_image_free(img);
    return off;
}

static void assert_function(Fixture *fx, int func, uint32_t buffers,
                            uint64_t wraps)
{
    PredlogFunctionStats fs;

    g_assert_true(predlog_recorder_get_function_stats(fx->rec, func, &fs));
    g_assert_cmpuint(fs.buffers, ==, buffers);
    g_assert_cmpuint(fs.wraps, ==, wraps);
    g_assert_cmpuint(fs.records, ==, fx->logged[func]->len);
}

static uint32_t n_buffers_any(Fixture *fx, int func)
{
    PredlogFunctionStats fs;

    g_assert_true(predlog_recorder_get_function_stats(fx->rec, func, &fs));
    return fs.buffers;
}

static uint32_t n_buffers(Fixture *fx, int func)
{
    PredlogFunctionStats fs;

    g_assert_true(predlog_recorder_get_function_stats(fx->rec, func, &fs));
    g_assert_cmpuint(fs.buffer_size, ==,
                     (uint64_t)fs.buffers * PREDLOG_RECORDER_MIN_BUFFER);
    return fs.buffers;
}

/*
 * Eight 16 KiB buffers.  A quiet function holds one, a second function
 * fills one and moves on to a second; then a busy one takes the rest and
 * must evict, oldest first: the second function's given-up buffer, then
 * its own old ones, never an active buffer.
 */
static void test_dynamic_eviction(void)
{
    const uint64_t buf = PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *fx = fx_new(DATA_OFF(4) + 8 * buf, PREDLOG_POLICY_DYNAMIC, 4,
                         buf);
    int quiet = fx_add(fx, PREDLOG_FUNCTION_GUEST, "quiet");
    int other = fx_add(fx, PREDLOG_FUNCTION_BLOCK, "other");
    int busy = fx_add(fx, PREDLOG_FUNCTION_NET, "busy");
    uint64_t active_first[MAX_F] = { 0 };
    uint64_t off[MAX_F] = { 0 };
    PredlogRecorderStats st;
    Readback rb;
    bool saw_first_eviction = false;
    int i;

    for (i = 0; i < 5; i++) {
        fx_log(fx, quiet, 100);
    }
    assert_function(fx, quiet, 1, 0);
    while (n_buffers(fx, other) < 2) {
        fx_log(fx, other, 1000);
    }
    off[other] = active_offset(fx, other);
    active_first[other] = fx->logged[other]->len;
    fx_log(fx, other, 1000);
    assert_function(fx, other, 2, 0);

    /* Log about ten times the pool through the busy function. */
    for (i = 0; i < 1000; i++) {
        uint32_t before = n_buffers(fx, busy);
        uint64_t o;

        predlog_recorder_get_stats(fx->rec, &st);
        g_assert_cmpuint(st.used, <=, st.data_size);
        if (!saw_first_eviction && st.evictions) {
            saw_first_eviction = true;
            /* The first victim was the other function's old buffer. */
            g_assert_cmpuint(n_buffers(fx, other), ==, 1);
            g_assert_cmpuint(n_buffers(fx, busy), ==, 6);
        }
        fx_log(fx, busy, g_test_rand_int_range(500, 1500));
        o = active_offset(fx, busy);
        if (o != off[busy]) {
            off[busy] = o;
            active_first[busy] = fx->logged[busy]->len;
            g_assert_cmpuint(n_buffers(fx, busy), <=, before + 1);
        }
        g_assert_cmpuint(n_buffers(fx, quiet), ==, 1);
    }
    g_assert_true(saw_first_eviction);
    /* Pool full of the busy function, bar the two active buffers. */
    g_assert_cmpuint(n_buffers(fx, busy), ==, 6);
    assert_function(fx, busy, 6, 0);
    assert_function(fx, other, 1, 0);
    assert_function(fx, quiet, 1, 0);
    predlog_recorder_get_stats(fx->rec, &st);
    g_assert_cmpuint(st.used, ==, st.data_size);
    g_assert_cmpuint(st.free, ==, 0);
    g_assert_cmpuint(st.fragments, ==, 0);
    g_assert_cmpuint(st.evictions, >, 40);
    g_assert_cmpuint(predlog_recorder_used_percent(fx->rec), ==, 100);

    fx_readback(fx, &rb);
    /* Active buffers are never evicted. */
    assert_found_from(fx, &rb, quiet, 1);
    assert_found_from(fx, &rb, other, active_first[other]);
    assert_found_from(fx, &rb, busy, active_first[busy]);
    g_assert_cmpuint(rb.active_offset[other], ==, off[other]);
    g_assert_cmpuint(rb.active_offset[busy], ==, off[busy]);
    /* The other function lost its first buffer's records, not more. */
    g_assert_cmpuint(rb.lowest_found[other], ==, active_first[other]);
    g_assert_cmpuint(rb.overwritten[other], ==, active_first[other] - 1);
    /*
     * The busy function keeps its six newest buffers: about five buffers
     * of history besides the active one, as a contiguous run of seq.
     */
    assert_found_from(fx, &rb, busy, rb.lowest_found[busy]);
    g_assert_cmpuint(rb.n_found[busy], >=, 5 * buf / 1560);
    g_assert_cmpuint(rb.overwritten[busy], ==,
                     fx->logged[busy]->len - rb.n_found[busy]);
    readback_clear(&rb);
    fx_free(fx);
}

/*
 * Eviction follows last use, not allocation: a buffer written until late
 * outlives one that was allocated after it but given up earlier.
 */
static void test_dynamic_lru_last_use(void)
{
    const uint64_t buf = PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *fx = fx_new(DATA_OFF(3) + 8 * buf, PREDLOG_POLICY_DYNAMIC, 3,
                         buf);
    int slow = fx_add(fx, PREDLOG_FUNCTION_GUEST, "slow");
    int early = fx_add(fx, PREDLOG_FUNCTION_BLOCK, "early");
    int busy = fx_add(fx, PREDLOG_FUNCTION_NET, "busy");
    PredlogRecorderStats st;

    fx_log(fx, slow, 1000);             /* allocated first ... */
    while (n_buffers(fx, early) < 2) {  /* ... this one second, */
        fx_log(fx, early, 1000);
    }
    while (n_buffers(fx, slow) < 2) {   /* ... but used last */
        fx_log(fx, slow, 1000);
    }
    for (;;) {
        predlog_recorder_get_stats(fx->rec, &st);
        if (st.evictions) {
            break;
        }
        fx_log(fx, busy, 1000);
    }
    g_assert_cmpuint(st.evictions, ==, 1);
    g_assert_cmpuint(n_buffers(fx, early), ==, 1);
    g_assert_cmpuint(n_buffers(fx, slow), ==, 2);
    fx_free(fx);
}

/*
 * Large buffers do not starve functions that have not logged yet: each
 * slot keeps at least a minimum buffer's worth of unpinned space.
 */
static void test_dynamic_reserve(void)
{
    const uint64_t unit = PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *fx = fx_new(DATA_OFF(4) + 8 * unit, PREDLOG_POLICY_DYNAMIC, 4,
                         4 * unit);
    PredlogFunctionStats fs;
    Readback rb;
    int id[4];

    for (int i = 0; i < 4; i++) {
        g_autofree char *name = g_strdup_printf("f%d", i);

        id[i] = fx_add(fx, PREDLOG_FUNCTION_NET, name);
    }
    /* f0 takes a full-size buffer and moves on to the next one. */
    while (n_buffers_any(fx, id[0]) < 2) {
        fx_log(fx, id[0], 1000);
    }
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id[0], &fs));
    g_assert_cmpuint(fs.buffer_size, ==, 8 * unit);
    /* f1 gets what leaves a minimum buffer for f2 and f3, and so on. */
    fx_log(fx, id[1], 1000);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, id[1], &fs));
    g_assert_cmpuint(fs.buffer_size, ==, 2 * unit);
    for (int i = 0; i < 200; i++) {
        fx_log(fx, id[i % 4], 1000);
    }
    for (int i = 0; i < 4; i++) {
        g_assert_true(predlog_recorder_get_function_stats(fx->rec, id[i],
                                                          &fs));
        g_assert_cmpuint(fs.dropped, ==, 0);
        g_assert_cmpuint(fs.buffers, >=, 1);
    }
    fx_readback(fx, &rb);
    for (int i = 0; i < 4; i++) {
        g_assert_cmpuint(rb.n_found[id[i]], >, 0);
        assert_found_from(fx, &rb, id[i], fx->logged[id[i]]->len - 5);
    }
    readback_clear(&rb);
    fx_free(fx);
}

/*
 * When nothing can be evicted (every buffer is someone's active one) a
 * DYNAMIC function wraps in its active buffer, like FIXED.
 */
static void test_dynamic_wrap_when_full(void)
{
    const uint64_t buf = 2 * PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *fx = fx_new(DATA_OFF(2) + 2 * buf, PREDLOG_POLICY_DYNAMIC, 2,
                         buf);
    int a = fx_add(fx, PREDLOG_FUNCTION_NET, "a");
    int b = fx_add(fx, PREDLOG_FUNCTION_NET, "b");
    RingModel m = {
        .size = buf, .live = g_array_new(false, false, sizeof(RingRec)),
    };
    PredlogFunctionStats fs;
    Readback rb;

    fx_log(fx, b, 10);
    for (int i = 0; i < 300; i++) {
        uint32_t len = g_test_rand_int_range(0, 1500);

        fx_log(fx, a, len);
        ring_write(&m, predlog_record_size(len), fx->logged[a]->len);
    }
    g_assert_cmpuint(m.wraps, >, 0);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, a, &fs));
    g_assert_cmpuint(fs.wraps, ==, m.wraps);
    g_assert_cmpuint(fs.buffers, ==, 1);
    g_assert_cmpuint(fs.dropped, ==, 0);
    fx_readback(fx, &rb);
    g_assert_cmpuint(rb.n_found[a], ==, m.live->len);
    assert_found_from(fx, &rb, a, fx->logged[a]->len - m.live->len + 1);
    assert_found_from(fx, &rb, b, 1);
    readback_clear(&rb);

    /* Larger than any buffer it could get: dropped. */
    g_assert_cmpint(fx_log_full(fx, a, 3 * buf, UINT32_MAX,
                                PREDLOG_RECORD_LEVEL_FULL), ==,
                    PREDLOG_LOG_DROPPED);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, a, &fs));
    g_assert_cmpuint(fs.dropped, ==, 1);
    g_array_unref(m.live);
    fx_free(fx);
}

/* Per-function buffer sizes, and records larger than the buffer size. */
static void test_dynamic_buffer_size(void)
{
    const uint64_t unit = PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *fx = fx_new(DATA_OFF(2) + 16 * unit, PREDLOG_POLICY_DYNAMIC, 2,
                         unit);
    int a = fx_add(fx, PREDLOG_FUNCTION_NET, "a");
    int b = fx_add(fx, PREDLOG_FUNCTION_NET, "b");
    PredlogFunctionStats fs;
    Readback rb;

    fx_log(fx, a, 10);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, a, &fs));
    g_assert_cmpuint(fs.buffer_size, ==, unit);

    predlog_recorder_set_buffer_size(fx->rec, a, 3 * unit - 100);
    fx_log(fx, a, unit - 100);      /* does not fit behind the first */
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, a, &fs));
    g_assert_cmpuint(fs.buffers, ==, 2);
    g_assert_cmpuint(fs.buffer_size, ==, unit + 3 * unit);

    /* Bigger than b's buffer size: b gets a buffer that holds it. */
    fx_log(fx, b, 2 * unit);
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, b, &fs));
    g_assert_cmpuint(fs.buffers, ==, 1);
    g_assert_cmpuint(fs.buffer_size, ==,
                     (predlog_record_size(2 * unit) + 511) & ~511ull);
    fx_log(fx, b, 500);             /* does not fit behind it */
    g_assert_true(predlog_recorder_get_function_stats(fx->rec, b, &fs));
    g_assert_cmpuint(fs.buffers, ==, 2);

    /* Out-of-range sizes are clamped, bad ids ignored. */
    predlog_recorder_set_buffer_size(fx->rec, a, 1);
    predlog_recorder_set_buffer_size(fx->rec, 7, unit);
    predlog_recorder_set_buffer_size(fx->rec, -1, unit);

    fx_readback(fx, &rb);
    assert_found_from(fx, &rb, a, 1);
    assert_found_from(fx, &rb, b, 1);
    readback_clear(&rb);
    fx_free(fx);
}

/* The directory follows the level a function logs at. */
static void test_level_in_directory(void)
{
    Fixture *fx = fx_new(DATA_OFF(1) + 65536, PREDLOG_POLICY_FIXED, 1, 0);
    int id = fx_add(fx, PREDLOG_FUNCTION_NET, "n");
    GError *err = NULL;
    PredlogImage *img;
    uint64_t gen;
    Readback rb;

    fx_log(fx, id, 10);
    img = predlog_image_open(fx->region, fx->size, &err);
    g_assert_no_error(err);
    g_assert_cmpint(predlog_image_function(img, 0)->level, ==,
                    PREDLOG_RECORD_LEVEL_FULL);
    gen = predlog_image_function(img, 0)->generation;
    predlog_image_free(img);

    g_assert_true(predlog_recorder_set_level(fx->rec, id,
                                             PREDLOG_RECORD_LEVEL_HEADER,
                                             fx->now));
    g_assert_true(predlog_recorder_set_level(fx->rec, id,
                                             PREDLOG_RECORD_LEVEL_HEADER,
                                             fx->now));
    g_assert_cmpint(fx_log_full(fx, id, 100, 20, PREDLOG_RECORD_LEVEL_HEADER),
                    ==, PREDLOG_LOG_OK);
    g_assert_cmpint(fx_log_full(fx, id, 100, 20, PREDLOG_RECORD_LEVEL_HEADER),
                    ==, PREDLOG_LOG_OK);
    img = predlog_image_open(fx->region, fx->size, &err);
    g_assert_no_error(err);
    g_assert_cmpint(predlog_image_function(img, 0)->level, ==,
                    PREDLOG_RECORD_LEVEL_HEADER);
    /* One directory update for the change, none for the same level. */
    g_assert_cmpuint(predlog_image_function(img, 0)->generation, ==, gen + 1);
    predlog_image_free(img);
    fx_readback(fx, &rb);
    assert_found_from(fx, &rb, id, 1);
    readback_clear(&rb);
    fx_free(fx);
}

/* ------------------------------------------------------------------ */
/* Crash accounting                                                    */
/* ------------------------------------------------------------------ */

#define KILLS 24

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

/*
 * kill -9 at random instants: the region as it is between two log calls
 * is what a crash leaves (the recorder's stores are in the region when
 * each call returns).  Three functions log bursts while their levels
 * change at random and ticks write their summaries; at each of KILLS
 * random instants every acknowledged sequence number must be accounted
 * for by the image alone: committed, summarised, overwritten (counted)
 * or pending (acknowledged, in the summary the crash cut).  The same
 * images with the sequence table wiped -- what a pool without one says
 * -- lose pending numbers uncounted, so the check can fail.
 */
static void kill_accounting(PredlogPolicy policy, PredlogCompression comp)
{
    enum { STEPS = 6000, N_F = 3, SIZE = 192 * 1024 };
    PredlogRecorderConfig cfg = {
        .policy = policy,
        .max_functions = N_F,
        .buffer_size = 16 * 1024,
        .compression = comp,
        .created_ns = 1234567890123ull,
        .name = "predlog0",
    };
    g_autofree uint8_t *region = g_malloc0(SIZE);
    g_autofree uint8_t *data = g_malloc(512);
    uint8_t *snap[KILLS];
    uint64_t acked[KILLS][N_F], seen_level[PREDLOG_RECORD_LEVEL__MAX + 1];
    unsigned at[KILLS], k = 0, with_pending = 0, uncounted = 0;
    PredlogRecorder *rec;
    GError *err = NULL;
    uint64_t now = 1000, last[N_F] = { 0 };

    rec = predlog_recorder_new(region, SIZE, &cfg, &err);
    g_assert_no_error(err);
    for (unsigned f = 0; f < N_F; f++) {
        g_autofree char *name = g_strdup_printf("net%u", f);

        g_assert_cmpint(predlog_recorder_add_function(rec,
                        PREDLOG_FUNCTION_NET, name, now, &err), ==, f);
    }
    /* KILLS instants, in order (two may fall on one) */
    for (unsigned i = 0; i < KILLS; i++) {
        at[i] = g_test_rand_int_range(1, STEPS);
    }
    qsort(at, KILLS, sizeof(at[0]), cmp_uint);
    memset(seen_level, 0, sizeof(seen_level));
    fill_random(data, 512);

    for (unsigned step = 0; step < STEPS; step++) {
        unsigned f = g_test_rand_int_range(0, N_F);
        PredlogPiece piece = { .data = data,
                               .len = g_test_rand_int_range(1, 512) };
        PredlogEntry e = {
            .type = PREDLOG_RECORD_TYPE_NET_PACKET,
            .level = PREDLOG_RECORD_LEVEL_FULL,
            .aux = PREDLOG_NET_FROM_GUEST,
            .orig_len = piece.len,
            .timestamp_ns = now,
            .pieces = &piece,
            .n_pieces = 1,
            .max_stored = UINT32_MAX,
        };
        uint64_t seq;

        now += 1000;
        if (step % 250 == 0) {
            for (unsigned g = 0; g < N_F; g++) {
                g_assert_true(predlog_recorder_set_level(rec, g,
                    g_test_rand_int_range(0, PREDLOG_RECORD_LEVEL__MAX + 1),
                    now));
            }
        }
        if (step % 97 == 0) {
            predlog_recorder_tick(rec, now);
        }
        g_assert_cmpint(predlog_recorder_log(rec, f, &e, now, &seq), ==,
                        PREDLOG_LOG_OK);
        last[f] = seq;
        while (k < KILLS && at[k] == step) {
            PredlogFunctionStats st;

            snap[k] = dup_bytes(region, SIZE);
            memcpy(acked[k], last, sizeof(last));
            for (unsigned g = 0; g < N_F; g++) {
                g_assert_true(predlog_recorder_get_function_stats(rec, g,
                                                                  &st));
                seen_level[st.level]++;
            }
            k++;
        }
    }
    g_assert_cmpuint(k, ==, KILLS);
    /* the kills hit every level */
    for (unsigned l = 0; l <= PREDLOG_RECORD_LEVEL__MAX; l++) {
        g_assert_cmpuint(seen_level[l], >, 0);
    }

    for (k = 0; k < KILLS; k++) {
        for (int wiped = 0; wiped < 2; wiped++) {
            PredlogImage *img;
            PredlogRecoveryTotals t;

            if (wiped) {
                memset(snap[k] + predlog_pool_seq_table_offset(N_F), 0,
                       N_F * 8);
            }
            img = predlog_image_open(snap[k], SIZE, &err);
            g_assert_no_error(err);
            g_array_unref(predlog_image_scan(img, &t));
            g_assert_cmpuint(t.torn, ==, 0);
            g_assert_cmpuint(t.damaged_seq_words, ==, 0);
            for (unsigned g = 0; g < N_F; g++) {
                const PredlogImageFunction *fn =
                    predlog_image_function_by_id(img, g);
                uint64_t counted = fn->committed -
                    fn->by_level[PREDLOG_RECORD_LEVEL_SUMMARY] +
                    fn->summarised + fn->overwritten + fn->pending;

                if (!wiped) {
                    g_assert_cmpuint(fn->published_seq, ==, acked[k][g] + 1);
                    g_assert_cmpuint(counted, ==, acked[k][g]);
                    with_pending += fn->pending > 0;
                } else {
                    g_assert_cmpuint(counted, <=, acked[k][g]);
                    uncounted += acked[k][g] - counted;
                }
            }
            predlog_image_free(img);
        }
        g_free(snap[k]);
    }
    /* pending summaries were cut, and only the table accounts for them */
    g_test_message("%u kills: %u functions with pending records; without "
                   "the sequence table %u records uncounted", KILLS,
                   with_pending, uncounted);
    g_assert_cmpuint(with_pending, >, 0);
    g_assert_cmpuint(uncounted, >, 0);
    predlog_recorder_free(rec);
}

static void test_kill_accounting_fixed(void)
{
    kill_accounting(PREDLOG_POLICY_FIXED, PREDLOG_COMPRESSION_NONE);
}

static void test_kill_accounting_tiered(void)
{
    kill_accounting(PREDLOG_POLICY_DYNAMIC, PREDLOG_COMPRESSION_ZSTD);
}

/* ------------------------------------------------------------------ */
/* Adopting a migrated region                                          */
/* ------------------------------------------------------------------ */

/*
 * The destination of a migration: a recorder of the same configuration,
 * with the same functions added, whose region then receives the source's
 * bytes.  The host-side lists move over with them.
 */
static Fixture *fx_migrate(Fixture *src, PredlogPolicy policy,
                           uint32_t max_f, uint64_t buffer_size,
                           const char *const *names, unsigned n)
{
    Fixture *dst = fx_new(src->size, policy, max_f, buffer_size);
    GError *err = NULL;

    for (unsigned i = 0; i < n; i++) {
        fx_add(dst, PREDLOG_FUNCTION_NET, names[i]);
    }
    memcpy(dst->region, src->region, src->size);
    for (int i = 0; i < MAX_F; i++) {
        GPtrArray *t = dst->logged[i];

        dst->logged[i] = src->logged[i];
        src->logged[i] = t;
    }
    dst->now = src->now;
    g_assert_true(predlog_recorder_adopt(dst->rec, false, &err));
    g_assert_no_error(err);
    return dst;
}

/* Both directory copies of @id, as generations (0 if not valid). */
static void dir_generations(Fixture *fx, int id, uint64_t gen[2])
{
    for (int c = 0; c < 2; c++) {
        const uint8_t *e = fx->region + PREDLOG_POOL_SB_SIZE +
                           (2 * id + c) * PREDLOG_POOL_DIR_ENTRY_SIZE;

        gen[c] = le32_at(e + PREDLOG_POOL_DIR_OFF_CRC) ==
                 predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC) ?
                 le64_at(e + PREDLOG_POOL_DIR_OFF_GENERATION) : 0;
    }
}

static void test_adopt_fixed(void)
{
    static const char *const names[] = { "a", "b", "c" };
    const uint64_t size = DATA_OFF(4) + 4 * 20480;
    Fixture *src = fx_new(size, PREDLOG_POLICY_FIXED, 4, 0);
    Fixture *dst;
    PredlogFunctionStats fs, ss;
    Readback rb;

    for (unsigned i = 0; i < 3; i++) {
        fx_add(src, PREDLOG_FUNCTION_NET, names[i]);
    }
    for (int i = 0; i < 400; i++) {
        /* a wraps often, c never logs */
        fx_log(src, i % 4 ? 0 : 1, g_test_rand_int_range(0, 300));
    }
    fx_log_full(src, 1, 50, 10, PREDLOG_RECORD_LEVEL_HEADER);
    g_assert_true(predlog_recorder_get_function_stats(src->rec, 0, &ss));
    g_assert_cmpuint(ss.wraps, >, 0);

    dst = fx_migrate(src, PREDLOG_POLICY_FIXED, 4, 0, names, 3);
    for (int f = 0; f < 3; f++) {
        g_assert_true(predlog_recorder_get_function_stats(dst->rec, f, &fs));
        g_assert_true(predlog_recorder_get_function_stats(src->rec, f, &ss));
        g_assert_cmpuint(fs.last_seq, ==, ss.last_seq);
        g_assert_cmpuint(fs.buffers, ==, ss.buffers);
        g_assert_cmpuint(fs.buffer_size, ==, ss.buffer_size);
        g_assert_cmpint(fs.level, ==, ss.level);
    }
    /* The next directory update keeps the newest copy it found. */
    {
        uint64_t before[2], after[2];

        /* (a's newest copy is B, where dst's own add left A) */
        dir_generations(dst, 0, before);
        g_assert_cmpuint(before[1], >, before[0]);
        g_assert_true(predlog_recorder_set_level(dst->rec, 0,
                                                 PREDLOG_RECORD_LEVEL_HEADER,
                                                 ++dst->now));
        dir_generations(dst, 0, after);
        g_assert_cmpuint(MAX(after[0], after[1]), ==,
                         MAX(before[0], before[1]) + 1);
        g_assert_cmpuint(MIN(after[0], after[1]), ==,
                         MAX(before[0], before[1]));
        g_assert_true(predlog_recorder_set_level(src->rec, 0,
                                                 PREDLOG_RECORD_LEVEL_HEADER,
                                                 dst->now));
    }

    /*
     * Same write heads: the same records logged on both sides leave the
     * same bytes (the directory aside, which holds wall-clock times).
     */
    for (int i = 0; i < 300; i++) {
        uint8_t data[300];
        PredlogPiece piece = { data, g_test_rand_int_range(0, 300) };
        PredlogEntry e = {
            .type = PREDLOG_RECORD_TYPE_NET_PACKET,
            .orig_len = piece.len, .pieces = &piece, .n_pieces = 1,
            .max_stored = UINT32_MAX, .timestamp_ns = ++dst->now,
        };
        int f = i % 3;
        uint64_t s1, s2;

        fill_random(data, piece.len);
        g_assert_cmpint(predlog_recorder_log(src->rec, f, &e, dst->now, &s1),
                        ==, PREDLOG_LOG_OK);
        g_assert_cmpint(predlog_recorder_log(dst->rec, f, &e, dst->now, &s2),
                        ==, PREDLOG_LOG_OK);
        g_assert_cmpuint(s1, ==, s2);
    }
    g_assert_true(memcmp(src->region + DATA_OFF(4), dst->region + DATA_OFF(4),
                         size - DATA_OFF(4)) == 0);
    fx_free(src);
    fx_free(dst);

    /* And what dst logs itself reads back after what src did. */
    src = fx_new(size, PREDLOG_POLICY_FIXED, 4, 0);
    for (unsigned i = 0; i < 3; i++) {
        fx_add(src, PREDLOG_FUNCTION_NET, names[i]);
    }
    for (int i = 0; i < 100; i++) {
        fx_log(src, i % 2, g_test_rand_int_range(0, 1000));
    }
    dst = fx_migrate(src, PREDLOG_POLICY_FIXED, 4, 0, names, 3);
    for (int i = 0; i < 30; i++) {
        fx_log(dst, i % 3, g_test_rand_int_range(0, 1000));
    }
    fx_readback(dst, &rb);
    for (int f = 0; f < 3; f++) {
        assert_found_from(dst, &rb, f, dst->logged[f]->len -
                          MIN(dst->logged[f]->len, 10) + 1);
    }
    readback_clear(&rb);
    fx_free(src);
    fx_free(dst);
}

static void test_adopt_dynamic(void)
{
    static const char *const names[] = { "a", "b", "c" };
    const uint64_t unit = PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *src = fx_new(DATA_OFF(4) + 8 * unit, PREDLOG_POLICY_DYNAMIC, 4,
                          unit);
    Fixture *dst;
    PredlogFunctionStats fs;
    PredlogRecorderStats st;
    Readback rb;

    /* c exists only on the destination. */
    fx_add(src, PREDLOG_FUNCTION_NET, "a");
    fx_add(src, PREDLOG_FUNCTION_NET, "b");
    for (int i = 0; i < 300; i++) {
        fx_log(src, i % 5 ? 0 : 1, g_test_rand_int_range(100, 1500));
    }
    predlog_recorder_get_stats(src->rec, &st);
    g_assert_cmpuint(st.evictions, >, 0);

    dst = fx_migrate(src, PREDLOG_POLICY_DYNAMIC, 4, unit, names, 3);
    /* Only the active buffers are held; the rest is free again. */
    predlog_recorder_get_stats(dst->rec, &st);
    g_assert_cmpuint(st.used, ==, 2 * unit);
    g_assert_cmpuint(st.functions, ==, 3);
    for (int f = 0; f < 3; f++) {
        g_assert_true(predlog_recorder_get_function_stats(dst->rec, f, &fs));
        g_assert_cmpuint(fs.last_seq, ==, dst->logged[f]->len);
        g_assert_cmpuint(fs.buffers, ==, f < 2);
    }
    g_assert_cmpuint(active_offset(dst, 2), ==, 0);

    for (int i = 0; i < 60; i++) {
        fx_log(dst, i % 3, g_test_rand_int_range(100, 1500));
    }
    fx_readback(dst, &rb);
    for (int f = 0; f < 3; f++) {
        g_assert_cmpuint(rb.n_found[f], >, 0);
        /* the newest records, without a gap, over the migration */
        assert_found_from(dst, &rb, f, dst->logged[f]->len -
                          MIN(dst->logged[f]->len, 12) + 1);
    }
    readback_clear(&rb);
    fx_free(src);
    fx_free(dst);
}

static void test_adopt_errors(void)
{
    static const char *const names[] = { "a", "b" };
    static const char *const other[] = { "a", "x" };
    const uint64_t size = DATA_OFF(4) + 4 * PREDLOG_RECORDER_MIN_BUFFER;
    Fixture *src = fx_new(size, PREDLOG_POLICY_FIXED, 4, 0);
    Fixture *dst;
    GError *err = NULL;
    PredlogFunctionStats fs;
    struct {
        PredlogPolicy policy;
        uint32_t max_f;
        const char *const *names;
        unsigned n;
        const char *what;
    } bad[] = {
        { PREDLOG_POLICY_DYNAMIC, 4, names, 2, "not laid out like" },
        { PREDLOG_POLICY_FIXED, 3, names, 2, "not laid out like" },
        { PREDLOG_POLICY_FIXED, 4, other, 2, "'b' (net) in the pool but 'x'" },
        { PREDLOG_POLICY_FIXED, 4, names, 1, "does not have" },
    };

    fx_add(src, PREDLOG_FUNCTION_NET, "a");
    fx_add(src, PREDLOG_FUNCTION_NET, "b");
    for (int i = 0; i < 20; i++) {
        fx_log(src, i % 2, 100);
    }

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        dst = fx_new(size, bad[i].policy, bad[i].max_f, 0);
        for (unsigned j = 0; j < bad[i].n; j++) {
            fx_add(dst, PREDLOG_FUNCTION_NET, bad[i].names[j]);
        }
        fx_log(dst, 0, 10);
        memcpy(dst->region, src->region, size);
        g_assert_false(predlog_recorder_adopt(dst->rec, false, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, bad[i].what)) {
            g_error("expected '%s' in: %s", bad[i].what, err->message);
        }
        g_test_message("%s", err->message);
        g_clear_error(&err);
        /* Unusable for logging, and says so by counting drops. */
        g_assert_cmpint(fx_log_full(dst, 0, 10, 10,
                                    PREDLOG_RECORD_LEVEL_FULL), ==,
                        PREDLOG_LOG_DROPPED);
        g_assert_true(predlog_recorder_get_function_stats(dst->rec, 0, &fs));
        g_assert_cmpuint(fs.dropped, ==, 1);
        g_assert_cmpuint(fs.buffers, ==, 0);
        fx_free(dst);
    }

    /* Not a pool at all; then the right bytes arrive after all. */
    dst = fx_new(size, PREDLOG_POLICY_FIXED, 4, 0);
    fx_add(dst, PREDLOG_FUNCTION_NET, "a");
    fx_add(dst, PREDLOG_FUNCTION_NET, "b");
    memset(dst->region, 0, size);
    g_assert_false(predlog_recorder_adopt(dst->rec, false, &err));
    g_assert_nonnull(strstr(err->message, "no valid"));
    g_clear_error(&err);
    memcpy(dst->region, src->region, size);
    /* A directory copy that lies about its buffer is refused too. */
    {
        uint8_t *e = dst->region + PREDLOG_POOL_SB_SIZE +
                     PREDLOG_POOL_DIR_ENTRY_SIZE;  /* a, copy B (gen 2) */
        uint8_t saved[PREDLOG_POOL_DIR_ENTRY_SIZE];
        uint32_t crc;

        memcpy(saved, e, sizeof(saved));
        e[PREDLOG_POOL_DIR_OFF_BUF_OFFSET] += 8;
        crc = GUINT32_TO_LE(predlog_crc32c(0, e, PREDLOG_POOL_DIR_OFF_CRC));
        memcpy(e + PREDLOG_POOL_DIR_OFF_CRC, &crc, 4);
        g_assert_false(predlog_recorder_adopt(dst->rec, false, &err));
        g_assert_nonnull(strstr(err->message, "impossible active buffer"));
        g_clear_error(&err);
        memcpy(e, saved, sizeof(saved));
    }
    g_assert_true(predlog_recorder_adopt(dst->rec, false, &err));
    g_assert_no_error(err);
    g_assert_true(predlog_recorder_get_function_stats(dst->rec, 1, &fs));
    g_assert_cmpuint(fs.last_seq, ==, 10);
    {
        PredlogPiece piece = { "hello", 5 };
        PredlogEntry e = {
            .type = PREDLOG_RECORD_TYPE_GUEST,
            .orig_len = 5, .pieces = &piece, .n_pieces = 1,
            .max_stored = UINT32_MAX,
        };
        uint64_t seq;

        g_assert_cmpint(predlog_recorder_log(dst->rec, 1, &e, 1, &seq), ==,
                        PREDLOG_LOG_OK);
        g_assert_cmpuint(seq, ==, 11);
    }
    fx_free(src);
    fx_free(dst);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/recorder/format/errors", test_format_errors);
    g_test_add_func("/recorder/format/layout", test_format_layout);
    g_test_add_func("/recorder/add-function", test_add_function);
    g_test_add_func("/recorder/log/refused", test_log_refused);
    g_test_add_func("/recorder/log/pieces", test_log_pieces);
    g_test_add_func("/recorder/log/max-stored", test_log_max_stored);
    g_test_add_func("/recorder/log/level", test_level_in_directory);
    g_test_add_func("/recorder/fixed/wrap", test_fixed_wrap);
    g_test_add_func("/recorder/fixed/too-big", test_fixed_too_big);
    g_test_add_func("/recorder/dynamic/eviction", test_dynamic_eviction);
    g_test_add_func("/recorder/dynamic/lru-last-use",
                    test_dynamic_lru_last_use);
    g_test_add_func("/recorder/dynamic/reserve", test_dynamic_reserve);
    g_test_add_func("/recorder/dynamic/wrap-when-full",
                    test_dynamic_wrap_when_full);
    g_test_add_func("/recorder/dynamic/buffer-size",
                    test_dynamic_buffer_size);
    g_test_add_func("/recorder/adopt/fixed", test_adopt_fixed);
    g_test_add_func("/recorder/adopt/dynamic", test_adopt_dynamic);
    g_test_add_func("/recorder/adopt/errors", test_adopt_errors);
    g_test_add_func("/recorder/crash/accounting-fixed",
                    test_kill_accounting_fixed);
    g_test_add_func("/recorder/crash/accounting-tiered",
                    test_kill_accounting_tiered);
    return g_test_run();
}
