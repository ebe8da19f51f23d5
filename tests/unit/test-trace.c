/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the benchmarks' I/O trace reader (bench/common/trace.h)
 *
 * Parsing, errors that name file and line, zstd input, the payload
 * filler, and every trace shipped in bench/traces/ (the directory is
 * compiled in; PREDLOG_TRACE_DIR overrides it).
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <zstd.h>

#include "bench/common/trace.h"

#ifndef PREDLOG_TRACE_DIR
#error "meson passes PREDLOG_TRACE_DIR, the shipped traces' directory"
#endif

static char *tmpdir;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    g_autoptr(GError) err = NULL;

    g_assert_true(g_file_set_contents(path, data, len, &err));
    g_assert_no_error(err);
    return path;
}

static char *write_text(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static PredlogTrace *load_text(const char *text, GError **errp)
{
    g_autofree char *path = write_text("t.tsv", text);

    return predlog_trace_load(path, errp);
}

/* zstd-compress @text as one frame (independently of trace.c's writer) */
static GByteArray *zstd_frame(const char *text, int level)
{
    size_t len = strlen(text);
    size_t cap = ZSTD_compressBound(len);
    GByteArray *out = g_byte_array_sized_new(cap);
    size_t n;

    g_byte_array_set_size(out, cap);
    n = ZSTD_compress(out->data, cap, text, len, level);
    g_assert_false(ZSTD_isError(n));
    g_byte_array_set_size(out, n);
    return out;
}

static void assert_same_events(const PredlogTrace *a, const PredlogTrace *b)
{
    g_assert_cmpuint(a->n_events, ==, b->n_events);
    g_assert_cmpuint(a->duration_ns, ==, b->duration_ns);
    g_assert_cmpuint(a->sources->len, ==, b->sources->len);
    for (unsigned i = 0; i < a->sources->len; i++) {
        g_assert_cmpstr(g_ptr_array_index(a->sources, i), ==,
                        g_ptr_array_index(b->sources, i));
        g_assert_cmpuint(g_array_index(a->kinds, uint8_t, i), ==,
                         g_array_index(b->kinds, uint8_t, i));
    }
    for (size_t i = 0; i < a->n_events; i++) {
        const PredlogTraceEvent *x = &a->events[i], *y = &b->events[i];

        g_assert_cmpuint(x->t_ns, ==, y->t_ns);
        g_assert_cmpuint(x->source, ==, y->source);
        g_assert_cmpuint(x->kind, ==, y->kind);
        g_assert_cmpuint(x->aux, ==, y->aux);
        g_assert_cmpuint(x->len, ==, y->len);
        g_assert_cmpmem(x->prefix, x->prefix_len, y->prefix, y->prefix_len);
    }
}

static const char sample[] =
    "# name: sample\n"
    "# origin: hand-written for test-trace\n"
    "0\tnet0\tnet\t1\t60\t525400123456\n"
    "\n"
    "1000\tblk0\tblock\t2\t4096\t\n"
    "1000\tguest0\tguest\t6\t11\t6170703a207374617274\n"
    "# a comment in the middle\n"
    "2500\tnet0\tnet\t2\t1514\t\n"
    "2500\tblk0\tblock\t3\t0\r\n"
    "9000000000\tnet.1_a-b\tnet\t2\t128\t"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static void check_sample(const PredlogTrace *t)
{
    const PredlogTraceEvent *ev = t->events;

    g_assert_cmpuint(t->n_events, ==, 6);
    g_assert_cmpuint(t->duration_ns, ==, 9000000000ull);
    /* sources in order of first appearance, each with its kind */
    g_assert_cmpuint(t->sources->len, ==, 4);
    g_assert_cmpstr(g_ptr_array_index(t->sources, 0), ==, "net0");
    g_assert_cmpstr(g_ptr_array_index(t->sources, 1), ==, "blk0");
    g_assert_cmpstr(g_ptr_array_index(t->sources, 2), ==, "guest0");
    g_assert_cmpstr(g_ptr_array_index(t->sources, 3), ==, "net.1_a-b");
    g_assert_cmpuint(t->kinds->len, ==, 4);
    g_assert_cmpuint(g_array_index(t->kinds, uint8_t, 0), ==,
                     PREDLOG_FUNCTION_NET);
    g_assert_cmpuint(g_array_index(t->kinds, uint8_t, 1), ==,
                     PREDLOG_FUNCTION_BLOCK);
    g_assert_cmpuint(g_array_index(t->kinds, uint8_t, 2), ==,
                     PREDLOG_FUNCTION_GUEST);
    g_assert_cmpuint(g_array_index(t->kinds, uint8_t, 3), ==,
                     PREDLOG_FUNCTION_NET);

    g_assert_cmpuint(ev[0].t_ns, ==, 0);
    g_assert_cmpuint(ev[0].source, ==, 0);
    g_assert_cmpuint(ev[0].kind, ==, PREDLOG_FUNCTION_NET);
    g_assert_cmpuint(ev[0].aux, ==, PREDLOG_NET_FROM_GUEST);
    g_assert_cmpuint(ev[0].len, ==, 60);
    g_assert_cmpmem(ev[0].prefix, ev[0].prefix_len,
                    "\x52\x54\x00\x12\x34\x56", 6);

    g_assert_cmpuint(ev[1].source, ==, 1);
    g_assert_cmpuint(ev[1].kind, ==, PREDLOG_FUNCTION_BLOCK);
    g_assert_cmpuint(ev[1].aux, ==, PREDLOG_BLOCK_WRITE);
    g_assert_cmpuint(ev[1].len, ==, 4096);
    g_assert_cmpuint(ev[1].prefix_len, ==, 0);

    g_assert_cmpuint(ev[2].t_ns, ==, 1000);
    g_assert_cmpuint(ev[2].kind, ==, PREDLOG_FUNCTION_GUEST);
    g_assert_cmpuint(ev[2].aux, ==, 6);
    g_assert_cmpmem(ev[2].prefix, ev[2].prefix_len, "app: start", 10);

    g_assert_cmpuint(ev[3].source, ==, 0);
    g_assert_cmpuint(ev[3].aux, ==, PREDLOG_NET_TO_GUEST);
    g_assert_cmpuint(ev[3].len, ==, 1514);
    g_assert_cmpuint(ev[3].prefix_len, ==, 0);

    /* five fields (no TAB before an empty prefix), CRLF */
    g_assert_cmpuint(ev[4].source, ==, 1);
    g_assert_cmpuint(ev[4].aux, ==, PREDLOG_BLOCK_FLUSH);
    g_assert_cmpuint(ev[4].len, ==, 0);

    /* the longest prefix, and a last line without newline */
    g_assert_cmpuint(ev[5].source, ==, 3);
    g_assert_cmpuint(ev[5].prefix_len, ==, PREDLOG_TRACE_PREFIX_MAX);
    for (unsigned i = 0; i < PREDLOG_TRACE_PREFIX_MAX; i++) {
        g_assert_cmpuint(ev[5].prefix[i], ==, i);
    }
}

static void test_parse(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(PredlogTrace) t = load_text(sample, &err);

    g_assert_no_error(err);
    g_assert_nonnull(t);
    g_assert_cmpstr(t->name, ==, "t");
    check_sample(t);
}

static void test_empty(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(PredlogTrace) t = load_text("# nothing here\n", &err);

    g_assert_no_error(err);
    g_assert_cmpuint(t->n_events, ==, 0);
    g_assert_cmpuint(t->duration_ns, ==, 0);
    g_assert_cmpuint(t->sources->len, ==, 0);
}

static void test_name(void)
{
    static const char *const cases[][2] = {
        { "bursty.tsv.zst", "bursty" },
        { "bursty.tsv", "bursty" },
        { "plain", "plain" },
        { "a.b.tsv", "a.b" },
        { "x.zst", "x" },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *path = NULL;
        g_autoptr(PredlogTrace) t = NULL;

        if (g_str_has_suffix(cases[i][0], ".zst")) {
            g_autoptr(GByteArray) z = zstd_frame(sample, 3);

            path = write_file(cases[i][0], z->data, z->len);
        } else {
            path = write_text(cases[i][0], sample);
        }
        t = predlog_trace_load(path, &err);
        g_assert_no_error(err);
        g_assert_cmpstr(t->name, ==, cases[i][1]);
        g_unlink(path);
    }
}

static void test_roundtrip(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(PredlogTrace) t = load_text(sample, &err);
    static const char *const names[] = { "rt.tsv", "rt.tsv.zst" };

    g_assert_no_error(err);
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *path = g_build_filename(tmpdir, names[i], NULL);
        g_autofree char *path2 = g_build_filename(tmpdir, "rt2.tsv", NULL);
        g_autofree char *text = NULL;
        g_autofree char *text2 = NULL;
        g_autoptr(PredlogTrace) back = NULL;
        g_autoptr(PredlogTrace) again = NULL;

        g_assert_true(predlog_trace_save(t, path, &err));
        g_assert_no_error(err);
        back = predlog_trace_load(path, &err);
        g_assert_no_error(err);
        check_sample(back);
        assert_same_events(t, back);

        /* saving what was loaded gives the same text again */
        g_assert_true(predlog_trace_save(back, path2, &err));
        g_assert_no_error(err);
        again = predlog_trace_load(path2, &err);
        g_assert_no_error(err);
        assert_same_events(t, again);
        if (i == 0) {
            g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
            g_assert_true(g_file_get_contents(path2, &text2, NULL, NULL));
            /* only the "# name:" line differs */
            g_assert_cmpstr(strchr(text, '\n'), ==, strchr(text2, '\n'));
        }
        g_unlink(path);
        g_unlink(path2);
    }
}

/* A larger trace: many events and sources, through save and load. */
static void test_roundtrip_large(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) text = g_string_new("");
    g_autoptr(PredlogTrace) t = NULL;
    g_autoptr(PredlogTrace) back = NULL;
    g_autofree char *path = g_build_filename(tmpdir, "large.tsv.zst", NULL);
    uint64_t now = 0;
    GRand *rand = g_rand_new_with_seed(42);

    for (unsigned i = 0; i < 20000; i++) {
        unsigned src = g_rand_int_range(rand, 0, 40);
        unsigned plen = g_rand_int_range(rand, 0, 129);

        now += g_rand_int_range(rand, 0, 100000);
        g_string_append_printf(text, "%" PRIu64 "\ts%u\t%s\t%u\t%u\t", now,
                               src, src % 3 == 0 ? "net" :
                               src % 3 == 1 ? "block" : "guest",
                               src % 3 == 0 ? 1 + (i & 1) :
                               src % 3 == 1 ? 1 + i % 5 : i % 8,
                               plen + g_rand_int_range(rand, 0, 2000));
        for (unsigned j = 0; j < plen; j++) {
            g_string_append_printf(text, "%02x",
                                   (unsigned)g_rand_int_range(rand, 0, 256));
        }
        g_string_append_c(text, '\n');
    }
    g_rand_free(rand);
    t = load_text(text->str, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(t->n_events, ==, 20000);
    g_assert_cmpuint(t->sources->len, ==, 40);
    g_assert_true(predlog_trace_save(t, path, &err));
    g_assert_no_error(err);
    back = predlog_trace_load(path, &err);
    g_assert_no_error(err);
    assert_same_events(t, back);
    g_unlink(path);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Each bad line comes after two good ones and a comment, so it is line 4
 * of the file; the error must say "t.tsv:4:" and what is wrong.
 */
static const struct {
    const char *line;
    const char *expect;
} bad_lines[] = {
    { "x\tnet0\tnet\t1\t60\t", "t_ns 'x' is not a decimal" },
    { "-5\tnet0\tnet\t1\t60\t", "t_ns '-5'" },
    { "+5\tnet0\tnet\t1\t60\t", "t_ns '+5'" },
    { " 5\tnet0\tnet\t1\t60\t", "t_ns ' 5'" },
    { "18446744073709551616\tnet0\tnet\t1\t60\t", "t_ns '1844674407" },
    { "5\tnet0\tnet\t1\t60\tab\tcd", "too many fields" },
    { "5\tnet0\tnet\t1", "4 fields, expected 6" },
    { "5", "1 field, expected 6" },
    { "5\t\tnet\t1\t60\t", "source '' must be 1 to 31 characters" },
    { "5\tabcdefghijklmnopqrstuvwxyz012345\tnet\t1\t60\t",
      "must be 1 to 31 characters" },
    { "5\tnet 0\tnet\t1\t60\t", "source 'net 0' has a character outside" },
    { "5\tnet/0\tnet\t1\t60\t", "outside [A-Za-z0-9_.-]" },
    { "5\tnet0\tNET\t1\t60\t", "kind 'NET' is not net, block or guest" },
    { "5\tnet0\tdisk\t1\t60\t", "kind 'disk'" },
    { "5\tnet0\tnet\t0\t60\t", "aux '0' is not a net direction" },
    { "5\tnet0\tnet\t3\t60\t", "aux '3' is not a net direction" },
    { "5\tblk9\tblock\t0\t60\t", "aux '0' is not a block block op" },
    { "5\tblk9\tblock\t6\t60\t", "aux '6' is not a block block op" },
    { "5\tg9\tguest\t8\t60\t", "aux '8' is not a guest syslog severity" },
    { "5\tnet0\tnet\t\t60\t", "aux '' is not" },
    { "5\tnet0\tnet\t1\t4294967296\t", "len '4294967296' is not a decimal" },
    { "5\tnet0\tnet\t1\t6x\t", "len '6x'" },
    { "5\tnet0\tnet\t1\t60\tabc", "odd number (3) of hex digits" },
    { "5\tnet0\tnet\t1\t60\tAB", "'A' at column" },
    { "5\tnet0\tnet\t1\t60\t0g", "'g' at column 18" },
    { "5\tnet0\tnet\t1\t2\t010203", "prefix of 3 bytes is longer than the "
      "event's len 2" },
    { "5\tnet0\tnet\t1\t60\tab\0cd", "NUL byte" },
};

static void test_malformed(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_lines); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(GString) text = g_string_new(
            "0\tnet0\tnet\t1\t60\t\n"
            "1\tblk0\tblock\t1\t512\t\n"
            "# comment\n");
        g_autofree char *path = NULL;
        g_autofree char *where = NULL;
        PredlogTrace *t;

        /* the NUL case has a NUL in the middle of its literal */
        if (strstr(bad_lines[i].expect, "NUL")) {
            g_string_append_len(text, bad_lines[i].line, 16);
            g_string_append_len(text, "\0cd", 3);
        } else {
            g_string_append(text, bad_lines[i].line);
        }
        g_string_append(text, "\n9\tnet0\tnet\t1\t60\t\n");
        path = write_file("t.tsv", text->str, text->len);
        t = predlog_trace_load(path, &err);
        g_assert_null(t);
        g_assert_nonnull(err);
        where = g_strdup_printf("%s:4: ", path);
        if (!g_str_has_prefix(err->message, where) ||
            !strstr(err->message, bad_lines[i].expect)) {
            g_test_message("case %u: %s", i, err->message);
        }
        g_assert_true(g_str_has_prefix(err->message, where));
        g_assert_nonnull(strstr(err->message, bad_lines[i].expect));
    }
}

static void test_time_backwards(void)
{
    g_autoptr(GError) err = NULL;
    PredlogTrace *t = load_text("100\tnet0\tnet\t1\t60\t\n"
                                "100\tnet0\tnet\t2\t60\t\n"
                                "# equal times are fine, earlier ones not\n"
                                "99\tblk0\tblock\t1\t512\t\n", &err);
    g_autofree char *where = g_build_filename(tmpdir, "t.tsv:4: ", NULL);

    g_assert_null(t);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, where));
    g_assert_nonnull(strstr(err->message, "t_ns 99 is before the previous "
                            "event's 100"));
}

static void test_kind_change(void)
{
    g_autoptr(GError) err = NULL;
    PredlogTrace *t = load_text("1\tnet0\tnet\t1\t60\t\n"
                                "2\tblk0\tblock\t1\t512\t\n"
                                "3\tnet0\tguest\t6\t5\t\n", &err);
    g_autofree char *where = g_build_filename(tmpdir, "t.tsv:3: ", NULL);

    g_assert_null(t);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, where));
    g_assert_nonnull(strstr(err->message, "source 'net0' is guest here but "
                            "was net before"));
}

static void test_long_line(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) text = g_string_new("1\tnet0\tnet\t1\t60\t\n");
    g_autofree char *where = g_build_filename(tmpdir, "t.tsv:2: ", NULL);
    PredlogTrace *t;

    g_string_append(text, "2\tnet0\tnet\t1\t60\t");
    for (unsigned i = 0; i < 5000; i++) {
        g_string_append_c(text, 'a');
    }
    t = load_text(text->str, &err);   /* no newline at the end, too */
    g_assert_null(t);
    g_assert_true(g_str_has_prefix(err->message, where));
    g_assert_nonnull(strstr(err->message, "line longer than"));
}

static void test_missing_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = g_build_filename(tmpdir, "nope.tsv", NULL);
    PredlogTrace *t = predlog_trace_load(path, &err);

    g_assert_null(t);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, path));
    g_assert_nonnull(strstr(err->message, "cannot open"));
}

/* ------------------------------------------------------------------ */
/* zstd input                                                          */
/* ------------------------------------------------------------------ */

static void test_zstd(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) z = zstd_frame(sample, 19);
    g_autofree char *path = write_file("z.tsv.zst", z->data, z->len);
    g_autoptr(PredlogTrace) t = predlog_trace_load(path, &err);

    g_assert_no_error(err);
    g_assert_cmpstr(t->name, ==, "z");
    check_sample(t);
}

/* zstd allows concatenated frames (zstd a; zstd b; cat): one stream */
static void test_zstd_frames(void)
{
    g_autoptr(GError) err = NULL;
    size_t half = strchr(sample + 200, '\n') - sample + 1;
    g_autofree char *first = g_strndup(sample, half);
    g_autoptr(GByteArray) z = zstd_frame(first, 1);
    g_autoptr(GByteArray) z2 = zstd_frame(sample + half, 1);
    g_autofree char *path = NULL;
    g_autoptr(PredlogTrace) t = NULL;

    g_byte_array_append(z, z2->data, z2->len);
    path = write_file("frames.tsv.zst", z->data, z->len);
    t = predlog_trace_load(path, &err);
    g_assert_no_error(err);
    check_sample(t);
}

/* A big trace, so that decoded data spans many output buffers. */
static void test_zstd_large(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) text = g_string_new("");
    g_autoptr(GByteArray) z = NULL;
    g_autofree char *path = NULL;
    g_autoptr(PredlogTrace) t = NULL;

    for (unsigned i = 0; i < 100000; i++) {
        g_string_append_printf(text, "%u\tn%u\tnet\t%u\t1514\t"
                               "5254001234560a0b0c0d0e0f0800\n", i * 10,
                               i % 7, 1 + i % 2);
    }
    z = zstd_frame(text->str, 3);
    path = write_file("big.tsv.zst", z->data, z->len);
    t = predlog_trace_load(path, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(t->n_events, ==, 100000);
    g_assert_cmpuint(t->duration_ns, ==, 999990);
    g_assert_cmpuint(t->sources->len, ==, 7);
    g_assert_cmpuint(t->events[99999].source, ==, 99999 % 7);
    g_assert_cmpuint(t->events[99999].prefix_len, ==, 14);
}

static void test_zstd_bad(void)
{
    g_autoptr(GByteArray) z = zstd_frame(sample, 19);
    g_autofree char *path = NULL;

    /* cut short */
    {
        g_autoptr(GError) err = NULL;

        path = write_file("cut.tsv.zst", z->data, z->len - 5);
        g_assert_null(predlog_trace_load(path, &err));
        g_assert_true(g_str_has_prefix(err->message, path));
        g_assert_nonnull(strstr(err->message, "truncated"));
        g_free(path);
    }
    /* not zstd at all */
    {
        g_autoptr(GError) err = NULL;

        path = write_text("plain.tsv.zst", sample);
        g_assert_null(predlog_trace_load(path, &err));
        g_assert_true(g_str_has_prefix(err->message, path));
        g_assert_nonnull(strstr(err->message, "not a valid zstd stream"));
        g_free(path);
    }
    /* empty */
    {
        g_autoptr(GError) err = NULL;

        path = write_text("empty.tsv.zst", "");
        g_assert_null(predlog_trace_load(path, &err));
        g_assert_nonnull(strstr(err->message, "empty file"));
        g_free(path);
    }
    /* compressed, but not named .zst */
    {
        g_autoptr(GError) err = NULL;

        path = write_file("packed.tsv", z->data, z->len);
        g_assert_null(predlog_trace_load(path, &err));
        g_assert_true(g_str_has_prefix(err->message, path));
        g_free(path);
    }
    /* a malformed line inside a good stream: file and line named */
    {
        g_autoptr(GError) err = NULL;
        g_autoptr(GByteArray) zb = zstd_frame("# x\n1\tnet0\tnet\t1\t60\t\n"
                                              "0\tnet0\tnet\t1\t60\t\n", 3);
        g_autofree char *where = NULL;

        path = write_file("bad.tsv.zst", zb->data, zb->len);
        where = g_strdup_printf("%s:3: ", path);
        g_assert_null(predlog_trace_load(path, &err));
        g_assert_true(g_str_has_prefix(err->message, where));
        g_free(path);
        path = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Payload                                                             */
/* ------------------------------------------------------------------ */

static gboolean all_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && (p[i] < 'a' || p[i] > 'z')) {
            return FALSE;
        }
    }
    return TRUE;
}

static void test_payload(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(PredlogTrace) t = load_text(sample, &err);
    g_autoptr(PredlogTrace) t2 = NULL;
    uint8_t a[2048], b[2048];
    size_t n;

    g_assert_no_error(err);

    /* net: length, the prefix, then filler; same bytes every call */
    memset(a, 0xee, sizeof(a));
    n = predlog_trace_payload(t, &t->events[0], a, sizeof(a));
    g_assert_cmpuint(n, ==, 60);
    g_assert_cmpmem(a, 6, "\x52\x54\x00\x12\x34\x56", 6);
    g_assert_cmpuint(a[60], ==, 0xee);     /* nothing beyond the payload */
    n = predlog_trace_payload(t, &t->events[0], b, sizeof(b));
    g_assert_cmpmem(a, 60, b, n);

    n = predlog_trace_payload(t, &t->events[3], a, sizeof(a));
    g_assert_cmpuint(n, ==, 1514);

    /* cap: a prefix of the full payload */
    for (size_t cap = 0; cap <= 1514; cap += 97) {
        memset(b, 0xee, sizeof(b));
        g_assert_cmpuint(predlog_trace_payload(t, &t->events[3], b, cap),
                         ==, cap);
        g_assert_cmpmem(a, cap, b, cap);
        g_assert_cmpuint(b[cap], ==, 0xee);
    }
    /* a cap inside the prefix */
    g_assert_cmpuint(predlog_trace_payload(t, &t->events[0], b, 4), ==, 4);
    g_assert_cmpmem(b, 4, "\x52\x54\x00\x12", 4);

    /* block: len bytes of data; a flush has none */
    g_assert_cmpuint(predlog_trace_payload(t, &t->events[1], a, sizeof(a)),
                     ==, sizeof(a));
    g_assert_cmpuint(predlog_trace_payload(t, &t->events[4], a, sizeof(a)),
                     ==, 0);
    /* nor a discard or write-zeroes, whatever their len */
    t2 = load_text("1\tblk0\tblock\t4\t4096\t\n"
                   "2\tblk0\tblock\t5\t4096\t\n"
                   "3\tblk0\tblock\t1\t100\t\n", &err);
    g_assert_no_error(err);
    g_assert_cmpuint(predlog_trace_payload(t2, &t2->events[0], a,
                                           sizeof(a)), ==, 0);
    g_assert_cmpuint(predlog_trace_payload(t2, &t2->events[1], a,
                                           sizeof(a)), ==, 0);
    g_assert_cmpuint(predlog_trace_payload(t2, &t2->events[2], a,
                                           sizeof(a)), ==, 100);
    g_clear_pointer(&t2, predlog_trace_free);

    /* guest: the message's start, then text */
    n = predlog_trace_payload(t, &t->events[2], a, sizeof(a));
    g_assert_cmpuint(n, ==, 11);
    g_assert_cmpmem(a, 10, "app: start", 10);
    g_assert_true(all_text(a + 10, 1));

    /* the longest prefix, exactly as long as the payload */
    n = predlog_trace_payload(t, &t->events[5], a, sizeof(a));
    g_assert_cmpuint(n, ==, 128);
    g_assert_cmpmem(a, 128, t->events[5].prefix, 128);

    /*
     * Only (source name, t_ns, len) count: another trace naming its
     * sources in another order gives the same bytes; another time or
     * length gives other bytes.
     */
    t2 = load_text("1000\tblk0\tblock\t1\t4096\t\n"
                   "1000\tblk0\tblock\t1\t4097\t\n"
                   "1001\tblk0\tblock\t1\t4096\t\n"
                   "1001\tblk1\tblock\t1\t4096\t\n", &err);
    g_assert_no_error(err);
    g_assert_cmpuint(t2->events[0].source, !=, t->events[1].source);
    n = predlog_trace_payload(t, &t->events[1], a, sizeof(a));
    predlog_trace_payload(t2, &t2->events[0], b, sizeof(b));
    g_assert_cmpmem(a, n, b, n);   /* read vs write: aux does not count */
    predlog_trace_payload(t2, &t2->events[1], b, sizeof(b));
    g_assert_true(memcmp(a, b, n) != 0);
    predlog_trace_payload(t2, &t2->events[2], b, sizeof(b));
    g_assert_true(memcmp(a, b, n) != 0);
    predlog_trace_payload(t2, &t2->events[3], a, sizeof(a));
    g_assert_true(memcmp(a, b, n) != 0);
}

/*
 * The filler's make-up as bench/README.md states it: 256-byte runs, each
 * text (dictionary words and spaces) with probability 1/2 for net and
 * block, always for guest; the rest pseudo-random.
 */
static void test_payload_mix(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GString) text = g_string_new("");
    g_autoptr(PredlogTrace) t = NULL;
    g_autofree uint8_t *buf = g_malloc(65536);
    unsigned runs = 0, text_runs = 0;

    for (unsigned i = 0; i < 2000; i++) {
        g_string_append_printf(text, "%u\tnet0\tnet\t1\t1514\t\n", i * 1000);
    }
    for (unsigned i = 0; i < 100; i++) {
        g_string_append_printf(text, "%u\tguest0\tguest\t6\t1000\t\n",
                               2000000 + i);
    }
    t = load_text(text->str, &err);
    g_assert_no_error(err);
    for (size_t i = 0; i < t->n_events; i++) {
        const PredlogTraceEvent *ev = &t->events[i];
        size_t n = predlog_trace_payload(t, ev, buf, 65536);

        g_assert_cmpuint(n, ==, ev->len);
        if (ev->kind == PREDLOG_FUNCTION_GUEST) {
            g_assert_true(all_text(buf, n));
            continue;
        }
        for (size_t off = 0; off + 256 <= n; off += 256) {
            runs++;
            text_runs += all_text(buf + off, 256);
        }
    }
    /* 10000 runs: 1/2 +- 3 sigma is well inside 0.47..0.53 */
    g_test_message("%u of %u runs are text", text_runs, runs);
    g_assert_cmpuint(runs, ==, 2000 * 5);
    g_assert_cmpuint(text_runs, >, runs * 47 / 100);
    g_assert_cmpuint(text_runs, <, runs * 53 / 100);
}

/*
 * Pin the filler: benchmarks compare runs across commits, so the bytes
 * must not change by accident.  If the definition changes on purpose,
 * update bench/README.md and these bytes together.
 */
static void test_payload_pinned(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(PredlogTrace) t = load_text(
        "123456789\tnet0\tnet\t1\t600\t5254\n", &err);
    uint8_t buf[600];
    g_autofree char *hex = NULL;
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);

    g_assert_no_error(err);
    g_assert_cmpuint(predlog_trace_payload(t, &t->events[0], buf,
                                           sizeof(buf)), ==, 600);
    g_checksum_update(sum, buf, sizeof(buf));
    hex = g_strdup(g_checksum_get_string(sum));
    g_checksum_free(sum);
    g_test_message("payload sha256 %s", hex);
    g_assert_cmpstr(hex, ==, "aa9efdab2f83b0bed8bf7d9d9e859e38"
                    "ed342e623832502fc4b2503c5070fde2");
}

/* ------------------------------------------------------------------ */
/* Shipped traces                                                      */
/* ------------------------------------------------------------------ */

/* Every trace bench/traces/ ships, with the sources it must have. */
static const struct {
    const char *name;
    const char *sources[8];     /* "name:kind" */
} shipped[] = {
    /* bench/traces/gen-synthetic.py */
    { "bursty", { "net0:net", "net1:net", "blk0:block", "guest0:guest" } },
    { "diurnal", { "net0:net", "net1:net", "blk0:block", "guest0:guest" } },
    { "shifting", { "net0:net", "net1:net", "blk0:block", "guest0:guest" } },
    /* bench/traces/capture-guest.py */
    { "guest-mixed", { "net0:net", "blk0:block", "guest0:guest" } },
    { NULL },
};

static const char *kind_str(uint8_t kind)
{
    return kind == PREDLOG_FUNCTION_NET ? "net" :
           kind == PREDLOG_FUNCTION_BLOCK ? "block" :
           kind == PREDLOG_FUNCTION_GUEST ? "guest" : "?";
}

static void check_shipped(const char *path, unsigned idx)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(PredlogTrace) t = predlog_trace_load(path, &err);
    g_autofree uint64_t *per_source = NULL;
    uint8_t buf[2048];

    g_assert_no_error(err);
    g_test_message("%s: %zu events, %.1f s, %u sources", t->name,
                   t->n_events, t->duration_ns / 1e9, t->sources->len);
    g_assert_cmpuint(t->n_events, >, 0);
    g_assert_cmpuint(t->duration_ns, >, 0);
    per_source = g_new0(uint64_t, t->sources->len);
    for (size_t i = 0; i < t->n_events; i++) {
        const PredlogTraceEvent *ev = &t->events[i];

        if (i) {
            g_assert_cmpuint(ev->t_ns, >=, t->events[i - 1].t_ns);
        }
        g_assert_cmpuint(ev->source, <, t->sources->len);
        g_assert_cmpuint(ev->kind, ==,
                         g_array_index(t->kinds, uint8_t, ev->source));
        g_assert_cmpuint(ev->prefix_len, <=, ev->len);
        if (ev->kind == PREDLOG_FUNCTION_NET) {
            /* a frame starts with an Ethernet header */
            g_assert_cmpuint(ev->prefix_len, >=, 14);
            g_assert_cmpuint(ev->len, >=, 14);
        }
        per_source[ev->source]++;
        if (i % 1000 == 0) {
            g_assert_cmpuint(predlog_trace_payload(t, ev, buf, sizeof(buf)),
                             ==, MIN(ev->len, sizeof(buf)));
        }
    }
    g_assert_cmpuint(t->duration_ns, ==, t->events[t->n_events - 1].t_ns);

    /* exactly the expected sources, each with events */
    for (unsigned i = 0; i < t->sources->len; i++) {
        g_autofree char *want = g_strdup_printf(
            "%s:%s", (char *)g_ptr_array_index(t->sources, i),
            kind_str(g_array_index(t->kinds, uint8_t, i)));
        bool found = false;

        for (unsigned j = 0; j < G_N_ELEMENTS(shipped[idx].sources) &&
             shipped[idx].sources[j]; j++) {
            found |= !strcmp(want, shipped[idx].sources[j]);
        }
        if (!found) {
            g_test_message("%s: unexpected source %s", t->name, want);
        }
        g_assert_true(found);
        g_assert_cmpuint(per_source[i], >, 0);
    }
    for (unsigned j = 0; j < G_N_ELEMENTS(shipped[idx].sources) &&
         shipped[idx].sources[j]; j++) {
        g_assert_cmpuint(j, <, t->sources->len);
    }
}

static void test_shipped(void)
{
    const char *dir = g_getenv("PREDLOG_TRACE_DIR");
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) d = NULL;
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    unsigned n_shipped = 0;

    while (shipped[n_shipped].name) {
        n_shipped++;
    }
    if (!dir) {
        dir = PREDLOG_TRACE_DIR;
    }
    if (n_shipped == 0 && !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_test_skip("no traces shipped yet");
        return;
    }
    d = g_dir_open(dir, 0, &err);
    g_assert_no_error(err);
    while ((entry = g_dir_read_name(d))) {
        if (g_str_has_suffix(entry, ".tsv.zst")) {
            g_ptr_array_add(files, g_strdup(entry));
        }
    }
    /* every file is expected, every expected file is there */
    g_assert_cmpuint(files->len, ==, n_shipped);
    for (unsigned i = 0; i < n_shipped; i++) {
        g_autofree char *file = g_strdup_printf("%s.tsv.zst",
                                                shipped[i].name);
        g_autofree char *path = g_build_filename(dir, file, NULL);

        g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
        check_shipped(path, i);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("predlog-test-trace-XXXXXX", &err);
    g_assert_no_error(err);

    g_test_add_func("/trace/parse/sample", test_parse);
    g_test_add_func("/trace/parse/empty", test_empty);
    g_test_add_func("/trace/parse/name", test_name);
    g_test_add_func("/trace/save/roundtrip", test_roundtrip);
    g_test_add_func("/trace/save/roundtrip-large", test_roundtrip_large);
    g_test_add_func("/trace/error/malformed", test_malformed);
    g_test_add_func("/trace/error/time-backwards", test_time_backwards);
    g_test_add_func("/trace/error/kind-change", test_kind_change);
    g_test_add_func("/trace/error/long-line", test_long_line);
    g_test_add_func("/trace/error/missing-file", test_missing_file);
    g_test_add_func("/trace/zstd/load", test_zstd);
    g_test_add_func("/trace/zstd/frames", test_zstd_frames);
    g_test_add_func("/trace/zstd/large", test_zstd_large);
    g_test_add_func("/trace/zstd/bad", test_zstd_bad);
    g_test_add_func("/trace/payload/basics", test_payload);
    g_test_add_func("/trace/payload/mix", test_payload_mix);
    g_test_add_func("/trace/payload/pinned", test_payload_pinned);
    g_test_add_func("/trace/shipped", test_shipped);
    ret = g_test_run();

    {
        g_autoptr(GDir) d = g_dir_open(tmpdir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *path = g_build_filename(tmpdir, name, NULL);

            g_unlink(path);
        }
    }
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return ret;
}
