/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog benchmarks: reading, writing and filling I/O traces (trace.h)
 *
 * Input is read in chunks, through libzstd's streaming decoder when the
 * name ends in ".zst", and cut into lines as it comes, so a compressed
 * trace is never held whole in memory; only the parsed events are.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "trace.h"

/*
 * Error domain of the trace reader.  trace.h does not export it: callers
 * report the message, which names the file and line.
 */
#define TRACE_ERROR (trace_error_quark())

enum {
    TRACE_ERROR_IO,             /* cannot open, read or write the file */
    TRACE_ERROR_PARSE,          /* malformed line or compressed stream */
};

static GQuark trace_error_quark(void)
{
    return g_quark_from_static_string("predlog-trace-error-quark");
}

/* No sane line is longer: 6 fields, the widest a 256-digit hex prefix. */
#define TRACE_LINE_MAX      1024
#define TRACE_CHUNK         (64 * 1024)
#define TRACE_MAX_SOURCES   (G_MAXUINT16 + 1)

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

typedef struct Loader {
    const char *path;
    size_t lineno;
    PredlogTrace *trace;
    GArray *events;             /* PredlogTraceEvent */
    GHashTable *source_ids;     /* name -> index + 1 */
    uint64_t last_t_ns;
    GString *line;              /* the line being assembled */
    bool line_too_long;
} Loader;

static gboolean G_GNUC_PRINTF(3, 4)
line_error(Loader *ld, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, TRACE_ERROR, TRACE_ERROR_PARSE, "%s:%zu: %s",
                ld->path, ld->lineno, msg);
    return FALSE;
}

/* A field's text for an error message: escaped, cut after 40 bytes. */
static char *field_quote(const char *s, size_t n)
{
    g_autofree char *raw = g_strndup(s, MIN(n, 40));
    g_autofree char *esc = g_strescape(raw, NULL);

    return g_strdup_printf("'%s%s'", esc, n > 40 ? "..." : "");
}

/* Strict decimal: digits only, no sign or space, at most @max. */
static bool parse_dec(const char *s, size_t n, uint64_t max, uint64_t *val)
{
    uint64_t v = 0;

    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';

        if (d > 9 || v > (max - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *val = v;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static bool source_char_ok(char c)
{
    return g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

static const char *const kind_names[] = {
    [PREDLOG_FUNCTION_NET] = "net",
    [PREDLOG_FUNCTION_BLOCK] = "block",
    [PREDLOG_FUNCTION_GUEST] = "guest",
};

/* Largest aux value per kind; net starts at 1, block at 1, guest at 0. */
static const uint32_t aux_min[] = {
    [PREDLOG_FUNCTION_NET] = PREDLOG_NET_FROM_GUEST,
    [PREDLOG_FUNCTION_BLOCK] = PREDLOG_BLOCK_READ,
    [PREDLOG_FUNCTION_GUEST] = 0,
};
static const uint32_t aux_max[] = {
    [PREDLOG_FUNCTION_NET] = PREDLOG_NET_TO_GUEST,
    [PREDLOG_FUNCTION_BLOCK] = PREDLOG_BLOCK_WRITE_ZEROES,
    [PREDLOG_FUNCTION_GUEST] = 7,
};
static const char *const aux_what[] = {
    [PREDLOG_FUNCTION_NET] = "direction (1 from guest, 2 to guest)",
    [PREDLOG_FUNCTION_BLOCK] = "block op (1 read, 2 write, 3 flush, "
                               "4 discard, 5 write-zeroes)",
    [PREDLOG_FUNCTION_GUEST] = "syslog severity (0..7)",
};

static gboolean parse_line(Loader *ld, char *s, size_t n, GError **errp)
{
    const char *field[6];
    size_t flen[6];
    unsigned nf = 0;
    size_t start = 0;
    PredlogTraceEvent ev = { 0 };
    uint64_t v;
    gpointer idp;
    int kind;

    if (n && s[n - 1] == '\r') {
        n--;                    /* tolerate CRLF line ends */
    }
    if (n == 0 || s[0] == '#') {
        return TRUE;
    }
    if (memchr(s, '\0', n)) {
        return line_error(ld, errp, "NUL byte in line (binary data; a "
                          "compressed trace must be named *.zst)");
    }
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '\t') {
            if (nf == G_N_ELEMENTS(field)) {
                return line_error(ld, errp, "too many fields (expected 6, "
                                  "TAB-separated: t_ns source kind aux len "
                                  "prefix)");
            }
            field[nf] = s + start;
            flen[nf] = i - start;
            nf++;
            start = i + 1;
        }
    }
    if (nf == 5) {
        /* an empty prefix whose TAB an editor stripped */
        field[5] = s + n;
        flen[5] = 0;
        nf = 6;
    }
    if (nf < 5) {
        return line_error(ld, errp, "%u field%s, expected 6 (TAB-separated: "
                          "t_ns source kind aux len prefix)",
                          nf, nf == 1 ? "" : "s");
    }

    /* t_ns */
    if (!parse_dec(field[0], flen[0], UINT64_MAX, &ev.t_ns)) {
        g_autofree char *q = field_quote(field[0], flen[0]);
        return line_error(ld, errp, "t_ns %s is not a decimal number of "
                          "nanoseconds (0..%" PRIu64 ")", q, UINT64_MAX);
    }
    if (ld->events->len && ev.t_ns < ld->last_t_ns) {
        return line_error(ld, errp, "t_ns %" PRIu64 " is before the "
                          "previous event's %" PRIu64 " (times must not "
                          "decrease)", ev.t_ns, ld->last_t_ns);
    }

    /* kind, before source: a source's kind is checked against it */
    for (kind = PREDLOG_FUNCTION_NET; kind <= PREDLOG_FUNCTION_KIND__MAX;
         kind++) {
        if (flen[2] == strlen(kind_names[kind]) &&
            !memcmp(field[2], kind_names[kind], flen[2])) {
            break;
        }
    }
    if (kind > PREDLOG_FUNCTION_KIND__MAX) {
        g_autofree char *q = field_quote(field[2], flen[2]);
        return line_error(ld, errp, "kind %s is not net, block or guest", q);
    }
    ev.kind = kind;

    /* source */
    if (flen[1] == 0 || flen[1] > PREDLOG_TRACE_SOURCE_MAX) {
        g_autofree char *q = field_quote(field[1], flen[1]);
        return line_error(ld, errp, "source %s must be 1 to %d characters",
                          q, PREDLOG_TRACE_SOURCE_MAX);
    }
    for (size_t i = 0; i < flen[1]; i++) {
        if (!source_char_ok(field[1][i])) {
            g_autofree char *q = field_quote(field[1], flen[1]);
            return line_error(ld, errp, "source %s has a character outside "
                              "[A-Za-z0-9_.-]", q);
        }
    }
    s[field[1] - s + flen[1]] = '\0';   /* the TAB after it */
    if (g_hash_table_lookup_extended(ld->source_ids, field[1], NULL, &idp)) {
        unsigned id = GPOINTER_TO_UINT(idp) - 1;
        uint8_t had = g_array_index(ld->trace->kinds, uint8_t, id);

        if (had != ev.kind) {
            return line_error(ld, errp, "source '%s' is %s here but was %s "
                              "before (a source keeps one kind)", field[1],
                              kind_names[ev.kind], kind_names[had]);
        }
        ev.source = id;
    } else {
        char *name;

        if (ld->trace->sources->len == TRACE_MAX_SOURCES) {
            return line_error(ld, errp, "more than %d sources",
                              TRACE_MAX_SOURCES);
        }
        name = g_strdup(field[1]);
        ev.source = ld->trace->sources->len;
        g_ptr_array_add(ld->trace->sources, name);
        g_array_append_val(ld->trace->kinds, ev.kind);
        g_hash_table_insert(ld->source_ids, name,
                            GUINT_TO_POINTER(ev.source + 1));
    }

    /* aux */
    if (!parse_dec(field[3], flen[3], UINT32_MAX, &v) ||
        v < aux_min[kind] || v > aux_max[kind]) {
        g_autofree char *q = field_quote(field[3], flen[3]);
        return line_error(ld, errp, "aux %s is not a %s %s", q,
                          kind_names[kind], aux_what[kind]);
    }
    ev.aux = v;

    /* len */
    if (!parse_dec(field[4], flen[4], UINT32_MAX, &v)) {
        g_autofree char *q = field_quote(field[4], flen[4]);
        return line_error(ld, errp, "len %s is not a decimal byte count "
                          "(0..%u)", q, UINT32_MAX);
    }
    ev.len = v;

    /* prefix */
    if (flen[5] % 2) {
        return line_error(ld, errp, "prefix has an odd number (%zu) of hex "
                          "digits", flen[5]);
    }
    if (flen[5] / 2 > PREDLOG_TRACE_PREFIX_MAX) {
        return line_error(ld, errp, "prefix of %zu bytes is longer than %d",
                          flen[5] / 2, PREDLOG_TRACE_PREFIX_MAX);
    }
    for (size_t i = 0; i < flen[5]; i += 2) {
        int hi = hex_digit(field[5][i]);
        int lo = hex_digit(field[5][i + 1]);

        if (hi < 0 || lo < 0) {
            return line_error(ld, errp, "prefix has '%c' at column %zu, not a "
                              "lower-case hex digit",
                              hi < 0 ? field[5][i] : field[5][i + 1],
                              (size_t)(field[5] - s) + i + (hi < 0 ? 1 : 2));
        }
        ev.prefix[i / 2] = hi << 4 | lo;
    }
    ev.prefix_len = flen[5] / 2;
    if (ev.prefix_len > ev.len) {
        return line_error(ld, errp, "prefix of %u bytes is longer than the "
                          "event's len %u", ev.prefix_len, ev.len);
    }

    g_array_append_val(ld->events, ev);
    ld->last_t_ns = ev.t_ns;
    return TRUE;
}

/* Feed decoded bytes; parse every complete line. */
static gboolean feed(Loader *ld, const char *p, size_t n, GError **errp)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;

        if (!ld->line_too_long) {
            if (ld->line->len + take > TRACE_LINE_MAX) {
                ld->line_too_long = true;
            } else {
                g_string_append_len(ld->line, p, take);
            }
        }
        if (!nl) {
            break;
        }
        ld->lineno++;
        if (ld->line_too_long) {
            return line_error(ld, errp, "line longer than %d bytes",
                              TRACE_LINE_MAX);
        }
        if (!parse_line(ld, ld->line->str, ld->line->len, errp)) {
            return FALSE;
        }
        g_string_truncate(ld->line, 0);
        p += take + 1;
        n -= take + 1;
    }
    return TRUE;
}

/* The last line, if the file does not end in a newline. */
static gboolean feed_end(Loader *ld, GError **errp)
{
    if (ld->line->len == 0 && !ld->line_too_long) {
        return TRUE;
    }
    ld->lineno++;
    if (ld->line_too_long) {
        return line_error(ld, errp, "line longer than %d bytes",
                          TRACE_LINE_MAX);
    }
    return parse_line(ld, ld->line->str, ld->line->len, errp);
}

static gboolean read_error(const char *path, FILE *f, GError **errp)
{
    int err = ferror(f) ? errno : EIO;

    g_set_error(errp, TRACE_ERROR, TRACE_ERROR_IO, "%s: cannot read: %s",
                path, g_strerror(err));
    return FALSE;
}

static gboolean load_plain(Loader *ld, FILE *f, GError **errp)
{
    g_autofree char *buf = g_malloc(TRACE_CHUNK);
    size_t n;

    while ((n = fread(buf, 1, TRACE_CHUNK, f)) > 0) {
        if (!feed(ld, buf, n, errp)) {
            return FALSE;
        }
    }
    if (ferror(f)) {
        return read_error(ld->path, f, errp);
    }
    return feed_end(ld, errp);
}

static gboolean load_zstd(Loader *ld, FILE *f, GError **errp)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    size_t in_cap = ZSTD_DStreamInSize();
    size_t out_cap = ZSTD_DStreamOutSize();
    g_autofree char *in_buf = g_malloc(in_cap);
    g_autofree char *out_buf = g_malloc(out_cap);
    ZSTD_inBuffer in = { in_buf, 0, 0 };
    size_t ret = 0;             /* 0: between frames */
    bool any = false;
    gboolean ok = FALSE;

    if (!dctx) {
        g_set_error(errp, TRACE_ERROR, TRACE_ERROR_IO,
                    "%s: cannot create a zstd decoder", ld->path);
        return FALSE;
    }
    for (;;) {
        if (in.pos == in.size) {
            in.size = fread(in_buf, 1, in_cap, f);
            in.pos = 0;
            if (in.size == 0) {
                if (ferror(f)) {
                    read_error(ld->path, f, errp);
                    goto out;
                }
                break;
            }
            any = true;
        }
        while (in.pos < in.size) {
            ZSTD_outBuffer out = { out_buf, out_cap, 0 };

            ret = ZSTD_decompressStream(dctx, &out, &in);
            if (ZSTD_isError(ret)) {
                g_set_error(errp, TRACE_ERROR, TRACE_ERROR_PARSE,
                            "%s: not a valid zstd stream (after %zu "
                            "lines): %s", ld->path, ld->lineno,
                            ZSTD_getErrorName(ret));
                goto out;
            }
            if (!feed(ld, out_buf, out.pos, errp)) {
                goto out;
            }
        }
    }
    /* Drain what the decoder still holds (it may hold a full buffer). */
    while (ret != 0) {
        ZSTD_outBuffer out = { out_buf, out_cap, 0 };

        ret = ZSTD_decompressStream(dctx, &out, &in);
        if (ZSTD_isError(ret)) {
            g_set_error(errp, TRACE_ERROR, TRACE_ERROR_PARSE,
                        "%s: not a valid zstd stream: %s", ld->path,
                        ZSTD_getErrorName(ret));
            goto out;
        }
        if (!feed(ld, out_buf, out.pos, errp)) {
            goto out;
        }
        if (ret != 0 && out.pos == 0) {
            g_set_error(errp, TRACE_ERROR, TRACE_ERROR_PARSE,
                        "%s: zstd stream is truncated (after %zu lines)",
                        ld->path, ld->lineno);
            goto out;
        }
    }
    if (!any) {
        g_set_error(errp, TRACE_ERROR, TRACE_ERROR_PARSE,
                    "%s: empty file, not a zstd stream", ld->path);
        goto out;
    }
    ok = feed_end(ld, errp);
out:
    ZSTD_freeDCtx(dctx);
    return ok;
}

/* "dir/bursty.tsv.zst" -> "bursty" */
static char *trace_name(const char *path)
{
    char *base = g_path_get_basename(path);
    char *dot;

    if (g_str_has_suffix(base, ".zst")) {
        base[strlen(base) - 4] = '\0';
    }
    dot = strrchr(base, '.');
    if (dot && dot != base) {
        *dot = '\0';
    }
    return base;
}

PredlogTrace *predlog_trace_load(const char *path, GError **errp)
{
    g_autoptr(PredlogTrace) trace = g_new0(PredlogTrace, 1);
    Loader ld = { .path = path };
    FILE *f;
    gboolean ok;

    trace->name = trace_name(path);
    trace->sources = g_ptr_array_new_with_free_func(g_free);
    trace->kinds = g_array_new(FALSE, FALSE, sizeof(uint8_t));

    f = fopen(path, "rb");
    if (!f) {
        int err = errno;

        g_set_error(errp, TRACE_ERROR, TRACE_ERROR_IO, "%s: cannot open: %s",
                    path, g_strerror(err));
        return NULL;
    }
    ld.trace = trace;
    ld.events = g_array_sized_new(FALSE, FALSE, sizeof(PredlogTraceEvent),
                                  4096);
    ld.source_ids = g_hash_table_new(g_str_hash, g_str_equal);
    ld.line = g_string_sized_new(256);
    if (g_str_has_suffix(path, ".zst")) {
        ok = load_zstd(&ld, f, errp);
    } else {
        ok = load_plain(&ld, f, errp);
    }
    fclose(f);
    g_string_free(ld.line, TRUE);
    g_hash_table_destroy(ld.source_ids);
    if (!ok) {
        g_array_free(ld.events, TRUE);
        return NULL;
    }
    trace->n_events = ld.events->len;
    trace->duration_ns = ld.events->len ? ld.last_t_ns : 0;
    trace->events = (PredlogTraceEvent *)g_array_free(ld.events, FALSE);
    return g_steal_pointer(&trace);
}

void predlog_trace_free(PredlogTrace *trace)
{
    if (!trace) {
        return;
    }
    g_free(trace->name);
    if (trace->sources) {
        g_ptr_array_free(trace->sources, TRUE);
    }
    if (trace->kinds) {
        g_array_free(trace->kinds, TRUE);
    }
    g_free(trace->events);
    g_free(trace);
}

/* ------------------------------------------------------------------ */
/* Payload filler                                                      */
/* ------------------------------------------------------------------ */

/*
 * The definition is in bench/README.md ("Trace payloads"); keep the two
 * in step.  Any change here changes every benchmark's logged bytes.
 */

#define FILL_RUN        256     /* bytes per text-or-random run */

/* Text runs draw words from this list: 64 words, 6 bits per word. */
static const char *const fill_words[64] = {
    "the", "of", "and", "to", "in", "is", "for", "on",
    "with", "data", "error", "request", "server", "client", "file", "user",
    "time", "value", "status", "connection", "system", "memory", "disk",
    "network", "packet", "buffer", "page", "read", "write", "open", "close",
    "start", "stop", "service", "process", "thread", "queue", "event",
    "log", "info", "debug", "warning", "host", "port", "address", "table",
    "index", "record", "update", "select", "from", "where", "html", "body",
    "div", "class", "content", "length", "type", "text", "json", "key",
    "id", "name",
};

/* splitmix64's output function (Steele, Lea, Flood 2014). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t next64(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ull;
    return mix64(*state);
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    }
    return h;
}

/* One run of words, each followed by a space, cut at @n bytes. */
static void fill_text(uint64_t *state, uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint64_t r = next64(state);

        for (int w = 0; w < 10 && i < n; w++, r >>= 6) {
            const char *word = fill_words[r & 63];
            size_t wl = strlen(word);

            memcpy(p + i, word, MIN(wl, n - i));
            i += wl;
            if (i < n) {
                p[i++] = ' ';
            }
        }
    }
}

static void fill_random(uint64_t *state, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = GUINT64_TO_LE(next64(state));

        memcpy(p + i, &r, MIN(8, n - i));
    }
}

size_t predlog_trace_payload(const PredlogTrace *trace,
                             const PredlogTraceEvent *ev,
                             uint8_t *buf, size_t cap)
{
    const char *source = g_ptr_array_index(trace->sources, ev->source);
    size_t n = MIN((size_t)ev->len, cap);
    uint64_t state;

    if (ev->kind == PREDLOG_FUNCTION_BLOCK && ev->aux != PREDLOG_BLOCK_READ &&
        ev->aux != PREDLOG_BLOCK_WRITE) {
        return 0;               /* flush, discard, write-zeroes: no data */
    }

    state = mix64(fnv1a64(source) ^ mix64(ev->t_ns + mix64(ev->len)));
    for (size_t off = 0; off < n; off += FILL_RUN) {
        /* one draw per run, whether or not the kind uses it */
        bool text = !(next64(&state) >> 63) ||
                    ev->kind == PREDLOG_FUNCTION_GUEST;
        size_t run = MIN((size_t)FILL_RUN, n - off);

        if (text) {
            fill_text(&state, buf + off, run);
        } else {
            fill_random(&state, buf + off, run);
        }
    }
    memcpy(buf, ev->prefix, MIN((size_t)ev->prefix_len, n));
    return n;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

typedef struct Writer {
    const char *path;
    FILE *f;
    ZSTD_CCtx *cctx;            /* NULL: plain text */
    GString *buf;
    char *zbuf;
    size_t zcap;
} Writer;

static gboolean write_error(Writer *w, int err, GError **errp)
{
    g_set_error(errp, TRACE_ERROR, TRACE_ERROR_IO, "%s: cannot write: %s",
                w->path, g_strerror(err));
    return FALSE;
}

static gboolean writer_flush(Writer *w, bool end, GError **errp)
{
    if (!w->cctx) {
        if (w->buf->len &&
            fwrite(w->buf->str, 1, w->buf->len, w->f) != w->buf->len) {
            return write_error(w, errno, errp);
        }
    } else {
        ZSTD_inBuffer in = { w->buf->str, w->buf->len, 0 };
        size_t left;

        do {
            ZSTD_outBuffer out = { w->zbuf, w->zcap, 0 };

            left = ZSTD_compressStream2(w->cctx, &out, &in,
                                        end ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left)) {
                g_set_error(errp, TRACE_ERROR, TRACE_ERROR_IO,
                            "%s: zstd compression failed: %s", w->path,
                            ZSTD_getErrorName(left));
                return FALSE;
            }
            if (out.pos && fwrite(w->zbuf, 1, out.pos, w->f) != out.pos) {
                return write_error(w, errno, errp);
            }
        } while (end ? left != 0 : in.pos < in.size);
    }
    g_string_truncate(w->buf, 0);
    return TRUE;
}

static gboolean write_events(Writer *w, const PredlogTrace *trace,
                             GError **errp)
{
    static const char hex[] = "0123456789abcdef";

    g_string_append_printf(w->buf, "# name: %s\n# events: %zu\n"
                           "# duration_ns: %" PRIu64 "\n",
                           trace->name ? trace->name : "",
                           trace->n_events, trace->duration_ns);
    for (size_t i = 0; i < trace->n_events; i++) {
        const PredlogTraceEvent *ev = &trace->events[i];

        if (ev->source >= trace->sources->len ||
            ev->kind < PREDLOG_FUNCTION_NET ||
            ev->kind > PREDLOG_FUNCTION_KIND__MAX ||
            ev->prefix_len > PREDLOG_TRACE_PREFIX_MAX) {
            g_set_error(errp, TRACE_ERROR, TRACE_ERROR_PARSE,
                        "%s: event %zu has an invalid source, kind or "
                        "prefix length", w->path, i);
            return FALSE;
        }
        g_string_append_printf(w->buf, "%" PRIu64 "\t%s\t%s\t%u\t%u\t",
                               ev->t_ns,
                               (char *)g_ptr_array_index(trace->sources,
                                                         ev->source),
                               kind_names[ev->kind], ev->aux, ev->len);
        for (unsigned j = 0; j < ev->prefix_len; j++) {
            g_string_append_c(w->buf, hex[ev->prefix[j] >> 4]);
            g_string_append_c(w->buf, hex[ev->prefix[j] & 15]);
        }
        g_string_append_c(w->buf, '\n');
        if (w->buf->len >= TRACE_CHUNK && !writer_flush(w, false, errp)) {
            return FALSE;
        }
    }
    return writer_flush(w, true, errp);
}

gboolean predlog_trace_save(const PredlogTrace *trace, const char *path,
                            GError **errp)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
    Writer w = { .path = path };
    gboolean ok;

    w.f = fopen(tmp, "wb");
    if (!w.f) {
        return write_error(&w, errno, errp);
    }
    w.buf = g_string_sized_new(TRACE_CHUNK + TRACE_LINE_MAX);
    if (g_str_has_suffix(path, ".zst")) {
        w.cctx = ZSTD_createCCtx();
        w.zcap = ZSTD_CStreamOutSize();
        w.zbuf = g_malloc(w.zcap);
        if (w.cctx) {
            ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_compressionLevel, 19);
        }
    }
    if (g_str_has_suffix(path, ".zst") && !w.cctx) {
        g_set_error(errp, TRACE_ERROR, TRACE_ERROR_IO,
                    "%s: cannot create a zstd encoder", path);
        ok = FALSE;
    } else {
        ok = write_events(&w, trace, errp);
    }
    if (fclose(w.f) != 0 && ok) {
        ok = write_error(&w, errno, errp);
    }
    if (ok && rename(tmp, path) != 0) {
        ok = write_error(&w, errno, errp);
    }
    if (!ok) {
        unlink(tmp);
    }
    ZSTD_freeCCtx(w.cctx);
    g_free(w.zbuf);
    g_string_free(w.buf, TRUE);
    return ok;
}
