/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-recover: what it writes (see predlog-recover-output.h and
 * docs/tools/predlog-recover.rst)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recorder.h"
#include "hw/predlog/core/recovery.h"
#include "hw/predlog/core/summary.h"
#include "qemu/predlog/byteorder.h"
#include "predlog-recover-output.h"

/* ------------------------------------------------------------------ */
/* Formatting helpers                                                  */
/* ------------------------------------------------------------------ */

/* RFC 3339 UTC time with nanoseconds, e.g. 2026-11-21T10:00:00.000000001Z */
static void append_time(GString *s, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    char buf[64];

    if (!gmtime_r(&secs, &tm) ||
        !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) {
        g_string_append(s, "invalid");
        return;
    }
    g_string_append_printf(s, "%s.%09" PRIu64 "Z", buf, ns % 1000000000u);
}

/* A JSON string (RFC 8259); invalid UTF-8 is replaced by U+FFFD. */
static void append_json_str(GString *s, const char *str, gssize len)
{
    g_autofree char *valid = NULL;
    const char *p, *end;

    if (len < 0) {
        len = strlen(str);
    }
    if (!g_utf8_validate(str, len, NULL)) {
        valid = g_utf8_make_valid(str, len);
        str = valid;
        len = strlen(valid);
    }
    end = str + len;
    g_string_append_c(s, '"');
    for (p = str; p < end; p++) {
        unsigned char c = *p;

        switch (c) {
        case '"':
            g_string_append(s, "\\\"");
            break;
        case '\\':
            g_string_append(s, "\\\\");
            break;
        case '\b':
            g_string_append(s, "\\b");
            break;
        case '\f':
            g_string_append(s, "\\f");
            break;
        case '\n':
            g_string_append(s, "\\n");
            break;
        case '\r':
            g_string_append(s, "\\r");
            break;
        case '\t':
            g_string_append(s, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                g_string_append_printf(s, "\\u%04x", c);
            } else {
                g_string_append_c(s, c);
            }
        }
    }
    g_string_append_c(s, '"');
}

static void append_json_key(GString *s, bool *first, const char *key)
{
    if (!*first) {
        g_string_append_c(s, ',');
    }
    *first = false;
    append_json_str(s, key, -1);
    g_string_append_c(s, ':');
}

static void json_u64(GString *s, bool *first, const char *key, uint64_t v)
{
    append_json_key(s, first, key);
    g_string_append_printf(s, "%" PRIu64, v);
}

static void json_i64(GString *s, bool *first, const char *key, int64_t v)
{
    append_json_key(s, first, key);
    g_string_append_printf(s, "%" PRId64, v);
}

static void json_str(GString *s, bool *first, const char *key,
                     const char *v)
{
    append_json_key(s, first, key);
    append_json_str(s, v, -1);
}

static void json_bool(GString *s, bool *first, const char *key, bool v)
{
    append_json_key(s, first, key);
    g_string_append(s, v ? "true" : "false");
}

static void json_u64_array(GString *s, bool *first, const char *key,
                           const uint64_t *v, unsigned n)
{
    append_json_key(s, first, key);
    g_string_append_c(s, '[');
    for (unsigned i = 0; i < n; i++) {
        g_string_append_printf(s, "%s%" PRIu64, i ? "," : "", v[i]);
    }
    g_string_append_c(s, ']');
}

static void json_b64(GString *s, bool *first, const char *key,
                     const uint8_t *data, size_t len)
{
    g_autofree char *b64 = g_base64_encode(data, len);

    json_str(s, first, key, b64);
}

/*
 * The names of block operations and record kinds in the JSON output are
 * predlog-recover's own stable vocabulary, documented in
 * docs/tools/predlog-recover.rst ("write_zeroes", "net", ...), so they
 * are not the core's names for the same values (function names say
 * "write-zeroes", the format says "net-packet"); levels are the core's
 * (predlog_level_str()).
 */
static const char *block_op_str(uint32_t op)
{
    switch (op) {
    case PREDLOG_BLOCK_READ:
        return "read";
    case PREDLOG_BLOCK_WRITE:
        return "write";
    case PREDLOG_BLOCK_FLUSH:
        return "flush";
    case PREDLOG_BLOCK_DISCARD:
        return "discard";
    case PREDLOG_BLOCK_WRITE_ZEROES:
        return "write_zeroes";
    }
    return NULL;
}

static const char *record_type_str(uint32_t type)
{
    switch (type) {
    case PREDLOG_RECORD_TYPE_NET_PACKET:
        return "net";
    case PREDLOG_RECORD_TYPE_BLOCK_REQUEST:
        return "block";
    case PREDLOG_RECORD_TYPE_GUEST:
        return "guest";
    case PREDLOG_RECORD_TYPE_SUMMARY:
        return "summary";
    }
    return NULL;
}

static const char *severity_str(uint32_t severity)
{
    static const char *const names[] = {
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    };

    return severity < G_N_ELEMENTS(names) ? names[severity] : "unknown";
}

/* ------------------------------------------------------------------ */
/* File names                                                          */
/* ------------------------------------------------------------------ */

static bool name_is_safe(const char *name)
{
    if (!*name || name[0] == '.') {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') {
            return false;
        }
    }
    return true;
}

/*
 * [A-Za-z0-9._-] only; no leading dot (no hidden files, no "." or "..");
 * "function-<id>" for an empty name.
 */
static char *sanitize_name(const PredlogImageFunction *fn)
{
    char *s;

    if (!fn->name[0]) {
        return g_strdup_printf("function-%d", fn->id);
    }
    s = g_strdup(fn->name);
    for (char *p = s; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') {
            *p = '_';
        }
    }
    if (s[0] == '.') {
        s[0] = '_';
    }
    return s;
}

/*
 * Claim "<base>.pcap", or "<base>-<id>[-<n>].pcap" if that is taken.
 * Names are compared case-insensitively, so that the files stay apart on
 * case-insensitive file systems too.
 */
static char *claim_file_name(GHashTable *taken, const char *base, int id)
{
    char *name = g_strdup_printf("%s.pcap", base);

    for (unsigned n = 0; ; n++) {
        char *key = g_ascii_strdown(name, -1);

        if (!g_hash_table_contains(taken, key)) {
            g_hash_table_add(taken, key);
            return name;
        }
        g_free(key);
        g_free(name);
        name = n ? g_strdup_printf("%s-%d-%u.pcap", base, id, n)
                 : g_strdup_printf("%s-%d.pcap", base, id);
    }
}

static FunctionOutput *output_of(Recovery *r, int func_id)
{
    int i = func_id >= 0 && func_id <= UINT16_MAX ? r->index_of[func_id]
                                                   : -1;

    return i < 0 ? NULL : &r->out[i];
}

/*
 * A pcap file for every network function, and for any other function
 * that holds network records.  Functions whose names are safe as they are
 * choose first, so that a sanitised name never takes a real one's file.
 */
static void assign_file_names(Recovery *r)
{
    g_autoptr(GHashTable) taken = g_hash_table_new_full(g_str_hash,
                                                        g_str_equal,
                                                        g_free, NULL);
    g_autofree bool *wants = g_new0(bool, r->n_fn);

    g_hash_table_add(taken, g_strdup(PREDLOG_RECOVER_JSONL_NAME));
    for (unsigned i = 0; i < r->n_fn; i++) {
        wants[i] = r->out[i].fn->kind == PREDLOG_FUNCTION_NET;
    }
    for (guint i = 0; i < r->records->len; i++) {
        const PredlogRecoveredRecord *rr =
            &g_array_index(r->records, PredlogRecoveredRecord, i);

        if (rr->view.hdr.type == PREDLOG_RECORD_TYPE_NET_PACKET &&
            r->index_of[rr->view.hdr.func_id] >= 0) {
            wants[r->index_of[rr->view.hdr.func_id]] = true;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < r->n_fn; i++) {
            FunctionOutput *fo = &r->out[i];
            g_autofree char *base = NULL;

            if (!wants[i] || name_is_safe(fo->fn->name) != (pass == 0)) {
                continue;
            }
            base = sanitize_name(fo->fn);
            fo->file_name = claim_file_name(taken, base, fo->fn->id);
            fo->path = g_build_filename(r->output_dir, fo->file_name,
                                        NULL);
        }
    }
}

/* ------------------------------------------------------------------ */
/* records.jsonl                                                       */
/* ------------------------------------------------------------------ */

static void block_fields(GString *s, bool *first, const PredlogRecordView *v)
{
    const uint8_t *p = v->payload;
    uint32_t n = v->hdr.stored_len;
    const char *op = block_op_str(v->hdr.aux);

    json_str(s, first, "op", op ? op : "unknown");
    if (!op) {
        json_u64(s, first, "op_code", v->hdr.aux);
    }
    if (n < PREDLOG_BLOCK_EVENT_LEN) {
        /* The event itself was cut: keep what there is, undecoded. */
        json_bool(s, first, "event_truncated", true);
        json_b64(s, first, "payload_b64", p, n);
        return;
    }
    json_u64(s, first, "offset", get_le64(p + PREDLOG_BLOCK_OFF_OFFSET));
    json_u64(s, first, "bytes", get_le64(p + PREDLOG_BLOCK_OFF_BYTES));
    json_u64(s, first, "latency_ns", get_le64(p + PREDLOG_BLOCK_OFF_LATENCY));
    json_i64(s, first, "ret", (int32_t)get_le32(p + PREDLOG_BLOCK_OFF_RET));
    json_u64(s, first, "flags", get_le32(p + PREDLOG_BLOCK_OFF_FLAGS));
    json_u64(s, first, "data_len", n - PREDLOG_BLOCK_EVENT_LEN);
    json_u64(s, first, "data_orig_len",
             v->hdr.orig_len - PREDLOG_BLOCK_EVENT_LEN);
    if (n > PREDLOG_BLOCK_EVENT_LEN) {
        json_b64(s, first, "data_b64", p + PREDLOG_BLOCK_EVENT_LEN,
                 n - PREDLOG_BLOCK_EVENT_LEN);
    }
}

static void guest_fields(GString *s, bool *first, const PredlogRecordView *v)
{
    const uint8_t *p = v->payload;
    uint32_t n = v->hdr.stored_len;
    const char *msg;
    size_t len;

    json_u64(s, first, "severity", v->hdr.aux);
    json_str(s, first, "severity_name", severity_str(v->hdr.aux));
    if (n < PREDLOG_GUEST_PREFIX_LEN) {
        json_b64(s, first, "payload_b64", p, n);
        return;
    }
    json_u64(s, first, "guest_ts_ns", get_le64(p));
    msg = (const char *)p + PREDLOG_GUEST_PREFIX_LEN;
    len = n - PREDLOG_GUEST_PREFIX_LEN;
    if (!memchr(msg, '\0', len) && g_utf8_validate(msg, len, NULL)) {
        append_json_key(s, first, "message");
        append_json_str(s, msg, len);
    } else {
        json_b64(s, first, "payload_b64", (const uint8_t *)msg, len);
    }
}

/*
 * A SUMMARY record: the summary's fields, if it decodes (summary.h) and
 * ends at the record's own seq, as recovery.h requires before it counts
 * the seqs the summary stands for; otherwise the payload, marked invalid.
 */
static void summary_fields(GString *s, bool *first,
                           const PredlogRecordView *v)
{
    const char *of = record_type_str(v->hdr.aux);
    PredlogSummary sum;

    json_str(s, first, "summary_of",
             of && v->hdr.aux != PREDLOG_RECORD_TYPE_SUMMARY ? of
                                                             : "unknown");
    if (!predlog_summary_decode(v->payload, v->hdr.stored_len, &sum) ||
        sum.last_seq != v->hdr.seq) {
        json_bool(s, first, "summary_invalid", true);
        json_b64(s, first, "payload_b64", v->payload, v->hdr.stored_len);
        return;
    }
    json_u64(s, first, "first_seq", sum.first_seq);
    json_u64(s, first, "last_seq", sum.last_seq);
    json_u64(s, first, "records", sum.records);
    json_u64(s, first, "first_ts_ns", sum.first_ts);
    json_u64(s, first, "last_ts_ns", sum.last_ts);
    json_u64(s, first, "orig_bytes", sum.orig_bytes);
    json_u64(s, first, "min_len", sum.min_len);
    json_u64(s, first, "max_len", sum.max_len);
    json_u64_array(s, first, "aux_count", sum.aux_count,
                   PREDLOG_SUMMARY_AUX_SLOTS);
    json_u64_array(s, first, "len_hist", sum.len_hist,
                   PREDLOG_SUMMARY_LEN_BUCKETS);
}

void recovery_jsonl_line(Recovery *r, GString *s, const PredlogRecordView *v)
{
    FunctionOutput *fo = output_of(r, v->hdr.func_id);
    const char *kind = record_type_str(v->hdr.type);
    bool first = true;

    g_string_append_c(s, '{');
    json_u64(s, &first, "ts_ns", v->hdr.timestamp_ns);
    append_json_key(s, &first, "time");
    g_string_append_c(s, '"');
    append_time(s, v->hdr.timestamp_ns);
    g_string_append_c(s, '"');
    json_str(s, &first, "function", fo ? fo->fn->name : "");
    json_u64(s, &first, "function_id", v->hdr.func_id);
    json_str(s, &first, "kind", kind ? kind : "unknown");
    json_u64(s, &first, "seq", v->hdr.seq);
    json_str(s, &first, "level", predlog_level_str(v->hdr.level));

    if (v->hdr.type == PREDLOG_RECORD_TYPE_SUMMARY) {
        summary_fields(s, &first, v);
    } else if (v->hdr.level == PREDLOG_RECORD_LEVEL_SUMMARY ||
               v->hdr.type == PREDLOG_RECORD_TYPE_NET_PACKET) {
        /*
         * A record of another type at the SUMMARY level, where older
         * writers stored an opaque digest: the payload as it is.
         */
        if (v->hdr.type == PREDLOG_RECORD_TYPE_NET_PACKET) {
            json_u64(s, &first, "direction", v->hdr.aux);
        } else {
            json_u64(s, &first, "aux", v->hdr.aux);
        }
        json_b64(s, &first, "payload_b64", v->payload, v->hdr.stored_len);
    } else if (v->hdr.type == PREDLOG_RECORD_TYPE_BLOCK_REQUEST) {
        block_fields(s, &first, v);
    } else {
        guest_fields(s, &first, v);
    }
    json_u64(s, &first, "orig_len", v->hdr.orig_len);
    json_u64(s, &first, "stored_len", v->hdr.stored_len);
    json_bool(s, &first, "truncated", v->hdr.stored_len < v->hdr.orig_len);
    g_string_append(s, "}\n");
}

/* ------------------------------------------------------------------ */
/* Writing the output                                                  */
/* ------------------------------------------------------------------ */

static void write_pcap_record(FunctionOutput *fo,
                              const PredlogRecordView *v)
{
    struct pcap_pkthdr ph = {
        .ts.tv_sec = (time_t)(v->hdr.timestamp_ns / 1000000000u),
        /* nanoseconds: the dumper was opened with nanosecond precision */
        .ts.tv_usec = (suseconds_t)(v->hdr.timestamp_ns % 1000000000u),
        .caplen = MIN(v->hdr.stored_len, PREDLOG_RECOVER_PCAP_SNAPLEN),
        .len = v->hdr.orig_len,
    };

    pcap_dump((u_char *)fo->dumper, &ph, v->payload);
    fo->packets++;
}

bool recovery_open_pcap(Recovery *r, char **errmsg)
{
    r->pcap = pcap_open_dead_with_tstamp_precision(
        DLT_EN10MB, PREDLOG_RECOVER_PCAP_SNAPLEN, PCAP_TSTAMP_PRECISION_NANO);
    if (!r->pcap) {
        *errmsg = g_strdup("libpcap: cannot create a pcap handle");
        return false;
    }
    return true;
}

static bool open_outputs(Recovery *r, FILE **jsonl, char **errmsg)
{
    if (!recovery_open_pcap(r, errmsg)) {
        return false;
    }
    for (unsigned i = 0; i < r->n_fn; i++) {
        FunctionOutput *fo = &r->out[i];

        if (!fo->path) {
            continue;
        }
        fo->dumper = pcap_dump_open(r->pcap, fo->path);
        if (!fo->dumper) {
            *errmsg = g_strdup_printf("%s: %s", fo->path,
                                      pcap_geterr(r->pcap));
            return false;
        }
        g_ptr_array_add(r->files, g_strdup(fo->path));
    }
    r->jsonl_path = g_build_filename(r->output_dir,
                                     PREDLOG_RECOVER_JSONL_NAME, NULL);
    *jsonl = fopen(r->jsonl_path, "w");
    if (!*jsonl) {
        *errmsg = g_strdup_printf("%s: %s", r->jsonl_path,
                                  g_strerror(errno));
        return false;
    }
    g_ptr_array_add(r->files, g_strdup(r->jsonl_path));
    return true;
}

static bool close_outputs(Recovery *r, FILE *jsonl, char **errmsg)
{
    bool ok = true;

    for (unsigned i = 0; i < r->n_fn; i++) {
        FunctionOutput *fo = &r->out[i];

        if (!fo->dumper) {
            continue;
        }
        if (ok && (pcap_dump_flush(fo->dumper) < 0 ||
                   ferror(pcap_dump_file(fo->dumper)))) {
            *errmsg = g_strdup_printf("%s: write error", fo->path);
            ok = false;
        }
        pcap_dump_close(fo->dumper);
        fo->dumper = NULL;
    }
    if (jsonl) {
        int err = ferror(jsonl);

        if (fclose(jsonl) != 0 || err) {
            if (ok) {
                *errmsg = g_strdup_printf("%s: write error",
                                          r->jsonl_path);
            }
            ok = false;
        }
    }
    if (r->pcap) {
        pcap_close(r->pcap);
        r->pcap = NULL;
    }
    return ok;
}

bool recovery_write_records(Recovery *r, FILE *jsonl, char **errmsg)
{
    g_autoptr(GString) line = g_string_sized_new(256);

    for (guint i = 0; i < r->records->len; i++) {
        const PredlogRecoveredRecord *rr =
            &g_array_index(r->records, PredlogRecoveredRecord, i);
        const PredlogRecordView *v = &rr->view;
        FunctionOutput *fo = output_of(r, v->hdr.func_id);

        if (v->hdr.type == PREDLOG_RECORD_TYPE_NET_PACKET &&
            v->hdr.level != PREDLOG_RECORD_LEVEL_SUMMARY &&
            fo && fo->dumper) {
            write_pcap_record(fo, v);
            continue;
        }
        g_string_truncate(line, 0);
        recovery_jsonl_line(r, line, v);
        if (fwrite(line->str, 1, line->len, jsonl) != line->len) {
            const char *name = r->jsonl_path ? r->jsonl_path
                                             : PREDLOG_RECOVER_JSONL_NAME;

            *errmsg = g_strdup_printf("%s: %s", name, g_strerror(errno));
            return false;
        }
        r->jsonl_lines++;
    }
    return true;
}

bool recovery_write_outputs(Recovery *r, char **errmsg)
{
    g_autofree char *close_err = NULL;
    FILE *jsonl = NULL;
    bool ok;

    if (g_mkdir_with_parents(r->output_dir, 0777) < 0) {
        *errmsg = g_strdup_printf("%s: %s", r->output_dir,
                                  g_strerror(errno));
        return false;
    }
    ok = open_outputs(r, &jsonl, errmsg) &&
         recovery_write_records(r, jsonl, errmsg);
    if (!close_outputs(r, jsonl, &close_err)) {
        if (ok) {
            *errmsg = g_steal_pointer(&close_err);
        }
        ok = false;
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Summary                                                             */
/* ------------------------------------------------------------------ */

void recovery_print_table(Recovery *r, FILE *out)
{
    g_autoptr(GString) s = g_string_new(NULL);
    PredlogImage *img = r->img;
    int name_w = 4;

    for (unsigned i = 0; i < r->n_fn; i++) {
        name_w = MAX(name_w, (int)strlen(r->out[i].fn->name));
    }

    g_string_append(s, "Pool:     ");
    g_string_append(s, predlog_image_name(img)[0] ?
                    predlog_image_name(img) : "(unnamed)");
    g_string_append_printf(s, "\nPolicy:   %s\n",
                           predlog_image_policy_name(img));
    g_string_append_printf(s, "Size:     %" PRIu64 " bytes\n",
                           predlog_image_pool_size(img));
    g_string_append(s, "Created:  ");
    append_time(s, predlog_image_created_ns(img));
    g_string_append(s, "\n\n");

    g_string_append_printf(s, "%4s  %-5s  %-*s  %-7s  %10s  %5s  %11s  %10s"
                           "  %9s  %-14s  %s\n",
                           "ID", "KIND", name_w, "NAME", "LEVEL",
                           "COMMITTED", "TORN", "OVERWRITTEN", "SUMMARISED",
                           "FROM_COLD", "FULL/HDR/SUM", "OUTPUT");
    for (unsigned i = 0; i < r->n_fn; i++) {
        const FunctionOutput *fo = &r->out[i];
        const PredlogImageFunction *fn = fo->fn;
        g_autofree char *by_level = g_strdup_printf(
            "%" PRIu64 "/%" PRIu64 "/%" PRIu64,
            fn->by_level[PREDLOG_RECORD_LEVEL_FULL],
            fn->by_level[PREDLOG_RECORD_LEVEL_HEADER],
            fn->by_level[PREDLOG_RECORD_LEVEL_SUMMARY]);

        g_string_append_printf(s, "%4d  %-5s  %-*s  %-7s  %10" PRIu64 "  %5"
                               PRIu64 "  %11" PRIu64 "  %10" PRIu64 "  %9"
                               PRIu64 "  %-14s  %s\n",
                               fn->id, predlog_function_kind_str(fn->kind),
                               name_w, fn->name, predlog_level_str(fn->level),
                               fn->committed, fn->torn, fn->overwritten,
                               fn->summarised, fn->from_cold, by_level,
                               fo->file_name ? fo->file_name
                                             : PREDLOG_RECOVER_JSONL_NAME);
    }
    if (!r->n_fn) {
        g_string_append(s, "(no functions)\n");
    }
    g_string_append_printf(s, "\nTotal:    %" PRIu64 " committed, %" PRIu64
                           " torn, %" PRIu64 " overwritten, %" PRIu64
                           " pending, %" PRIu64 " orphaned, %" PRIu64
                           " duplicates\n",
                           r->totals.committed, r->totals.torn,
                           r->totals.overwritten, r->totals.pending,
                           r->totals.orphaned, r->totals.duplicates);
    g_string_append_printf(s, "          %" PRIu64 " summarised, %" PRIu64
                           " from the cold tier, %" PRIu64 " chunks, %"
                           PRIu64 " bad chunks, %" PRIu64
                           " chunks over the unpack limit\n",
                           r->totals.summarised, r->totals.from_cold,
                           r->totals.chunks, r->totals.bad_chunks,
                           r->totals.chunks_over_limit);
    g_string_append(s, "Written:\n");
    for (unsigned i = 0; i < r->n_fn; i++) {
        const FunctionOutput *fo = &r->out[i];

        if (fo->path) {
            g_string_append_printf(s, "  %s (%" PRIu64 " packets)\n",
                                   fo->path, fo->packets);
        }
    }
    g_string_append_printf(s, "  %s (%" PRIu64 " records)\n",
                           r->jsonl_path, r->jsonl_lines);
    fputs(s->str, out);
}

void recovery_print_json(Recovery *r, FILE *out)
{
    g_autoptr(GString) s = g_string_new("{");
    PredlogImage *img = r->img;
    bool first = true;

    append_json_key(s, &first, "pool");
    g_string_append_c(s, '{');
    {
        bool f = true;

        json_str(s, &f, "name", predlog_image_name(img));
        json_str(s, &f, "policy",
                 predlog_image_policy_name(img));
        json_u64(s, &f, "size", predlog_image_pool_size(img));
        json_u64(s, &f, "created_ns", predlog_image_created_ns(img));
        append_json_key(s, &f, "created");
        g_string_append_c(s, '"');
        append_time(s, predlog_image_created_ns(img));
        g_string_append_c(s, '"');
    }
    g_string_append_c(s, '}');

    append_json_key(s, &first, "functions");
    g_string_append_c(s, '[');
    for (unsigned i = 0; i < r->n_fn; i++) {
        const FunctionOutput *fo = &r->out[i];
        const PredlogImageFunction *fn = fo->fn;
        bool f = true;

        g_string_append(s, i ? ",{" : "{");
        json_u64(s, &f, "id", fn->id);
        json_str(s, &f, "kind", predlog_function_kind_str(fn->kind));
        json_str(s, &f, "name", fn->name);
        json_str(s, &f, "level", predlog_level_str(fn->level));
        json_u64(s, &f, "committed", fn->committed);
        json_u64(s, &f, "torn", fn->torn);
        json_u64(s, &f, "overwritten", fn->overwritten);
        json_u64(s, &f, "max_seq", fn->max_seq);
        json_u64(s, &f, "summarised", fn->summarised);
        json_u64(s, &f, "from_cold", fn->from_cold);
        json_u64(s, &f, "pending", fn->pending);
        json_u64(s, &f, "published_seq", fn->published_seq);
        json_bool(s, &f, "salvaged", fn->salvaged);
        append_json_key(s, &f, "by_level");
        g_string_append_c(s, '{');
        {
            bool fl = true;

            json_u64(s, &fl, "full", fn->by_level[PREDLOG_RECORD_LEVEL_FULL]);
            json_u64(s, &fl, "header",
                     fn->by_level[PREDLOG_RECORD_LEVEL_HEADER]);
            json_u64(s, &fl, "summary",
                     fn->by_level[PREDLOG_RECORD_LEVEL_SUMMARY]);
        }
        g_string_append_c(s, '}');
        if (fo->path) {
            json_str(s, &f, "pcap", fo->path);
            json_u64(s, &f, "packets", fo->packets);
        }
        g_string_append_c(s, '}');
    }
    g_string_append_c(s, ']');

    append_json_key(s, &first, "totals");
    g_string_append_c(s, '{');
    {
        bool f = true;

        json_u64(s, &f, "committed", r->totals.committed);
        json_u64(s, &f, "torn", r->totals.torn);
        json_u64(s, &f, "overwritten", r->totals.overwritten);
        json_u64(s, &f, "orphaned", r->totals.orphaned);
        json_u64(s, &f, "duplicates", r->totals.duplicates);
        json_u64(s, &f, "summarised", r->totals.summarised);
        json_u64(s, &f, "from_cold", r->totals.from_cold);
        json_u64(s, &f, "pending", r->totals.pending);
        json_u64(s, &f, "damaged_seq_words", r->totals.damaged_seq_words);
        json_u64(s, &f, "chunks", r->totals.chunks);
        json_u64(s, &f, "bad_chunks", r->totals.bad_chunks);
        json_u64(s, &f, "chunks_over_limit", r->totals.chunks_over_limit);
        json_u64(s, &f, "damaged_entries", r->totals.damaged_entries);
        json_u64(s, &f, "salvaged_functions", r->totals.salvaged_functions);
        json_u64(s, &f, "salvaged", r->totals.salvaged);
        json_u64(s, &f, "jsonl_records", r->jsonl_lines);
    }
    g_string_append_c(s, '}');

    append_json_key(s, &first, "files");
    g_string_append_c(s, '[');
    for (guint i = 0; i < r->files->len; i++) {
        if (i) {
            g_string_append_c(s, ',');
        }
        append_json_str(s, g_ptr_array_index(r->files, i), -1);
    }
    g_string_append(s, "]}\n");
    fputs(s->str, out);
}

/*
 * On @out (stderr, for the tool): which directory entries were damaged
 * and what of theirs was salvaged from the data area; the records
 * themselves go out as usual.
 */
void recovery_report_salvage(const Recovery *r, const char *path, FILE *out)
{
    g_autoptr(GString) ids = g_string_new("");
    g_autoptr(GString) names = g_string_new("");

    for (unsigned i = 0; i < r->n_fn; i++) {
        const PredlogImageFunction *fn = predlog_image_function(r->img, i);

        if (fn->salvaged) {
            g_string_append_printf(ids, "%s%d", ids->len ? ", " : "", fn->id);
            g_string_append_printf(names, "%s%s", names->len ? ", " : "",
                                   fn->name);
        }
    }
    fprintf(out, "predlog-recover: warning: %s: the directory entries of %"
            PRIu64 " function(s) are damaged (id %s); their %" PRIu64
            " records were found in the data area and are recovered as %s\n",
            path, r->totals.salvaged_functions, ids->str, r->totals.salvaged,
            names->str);
}

void recovery_report_unpack_limit(const Recovery *r, const char *path,
                                  FILE *out)
{
    fprintf(out, "predlog-recover: warning: %s: %" PRIu64 " compressed "
            "chunk(s) holding %" PRIu64 " bytes were left packed, over the "
            "unpack limit of %" PRIu64 " bytes; their records count as "
            "overwritten.  To recover them, raise --max-unpacked (0: no "
            "limit)\n", path, r->totals.chunks_over_limit,
            r->totals.bytes_over_limit, predlog_image_unpack_limit(r->img));
}

/* ------------------------------------------------------------------ */
/* Setting up and tearing down                                         */
/* ------------------------------------------------------------------ */

void recovery_init(Recovery *r, PredlogImage *img, const char *output_dir)
{
    memset(r, 0, sizeof(*r));
    r->output_dir = output_dir;
    r->img = img;
    r->records = predlog_image_scan(img, &r->totals);
    r->n_fn = predlog_image_n_functions(img);
    r->out = g_new0(FunctionOutput, r->n_fn);
    r->index_of = g_new(int, UINT16_MAX + 1);
    memset(r->index_of, 0xff, (UINT16_MAX + 1) * sizeof(int));
    for (unsigned i = 0; i < r->n_fn; i++) {
        r->out[i].fn = predlog_image_function(img, i);
        if (r->out[i].fn->id >= 0 && r->out[i].fn->id <= UINT16_MAX) {
            r->index_of[r->out[i].fn->id] = i;
        }
    }
    r->files = g_ptr_array_new_with_free_func(g_free);
    assign_file_names(r);
}

bool recovery_nothing_recovered(const Recovery *r)
{
    return !r->totals.committed &&
           (r->totals.damaged_entries || r->totals.orphaned ||
            r->totals.bad_chunks);
}

void recovery_release(Recovery *r)
{
    for (unsigned i = 0; i < r->n_fn; i++) {
        g_free(r->out[i].file_name);
        g_free(r->out[i].path);
    }
    g_free(r->out);
    g_free(r->index_of);
    g_free(r->jsonl_path);
    g_ptr_array_free(r->files, true);
    g_array_free(r->records, true);
    memset(r, 0, sizeof(*r));
}
