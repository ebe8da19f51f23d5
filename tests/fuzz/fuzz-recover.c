/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: predlog-recover's output path
 * (tools/predlog-recover-output.c)
 *
 * The input is a pool file.  The harness runs what predlog-recover runs
 * on it, with memory streams in place of the output files.  Checks:
 * records.jsonl is one valid JSON object per line, one line per record
 * that does not go to a pcap file, in order (each line's function_id and
 * seq are its record's); each pcap stream is a valid nanosecond pcap
 * file whose packets are the function's frames, byte for byte (cut to the
 * snap length); the --json-summary object is valid JSON; the table and
 * the salvage warning print.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/predlog/core/record.h"
#include "hw/predlog/core/recovery.h"
#include "qemu/predlog/byteorder.h"
#include "predlog-recover-output.h"
#include "fuzz-common.h"

typedef struct Stream {
    char *buf;
    size_t len;
    FILE *f;
} Stream;

static void stream_open(Stream *s)
{
    s->buf = NULL;
    s->len = 0;
    s->f = open_memstream(&s->buf, &s->len);
    FUZZ_CHECK(s->f);
}

static void check_json_doc(const char *s, size_t len)
{
    bool obj;

    FUZZ_CHECK(len > 0 && s[len - 1] == '\n');
    FUZZ_CHECK(fuzz_json_valid(s, len - 1, &obj) && obj);
}

/* Whether record @v goes to a pcap file, as recovery_write_records() says */
static bool to_pcap(Recovery *r, const PredlogRecordView *v)
{
    int i = r->index_of[v->hdr.func_id];

    return v->hdr.type == PREDLOG_RECORD_TYPE_NET_PACKET &&
           v->hdr.level != PREDLOG_RECORD_LEVEL_SUMMARY &&
           i >= 0 && r->out[i].dumper;
}

static void check_jsonl(Recovery *r, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    guint rec = 0;
    uint64_t lines = 0;

    FUZZ_CHECK(len == 0 || buf[len - 1] == '\n');
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        g_autofree char *line = g_strndup(p, nl - p);
        const PredlogRecordView *v;
        uint64_t val;
        bool obj;

        FUZZ_CHECK(nl);
        FUZZ_CHECK(fuzz_json_valid(line, nl - p, &obj) && obj);
        while (rec < r->records->len &&
               to_pcap(r, &g_array_index(r->records, PredlogRecoveredRecord,
                                         rec).view)) {
            rec++;
        }
        FUZZ_CHECK(rec < r->records->len);
        v = &g_array_index(r->records, PredlogRecoveredRecord, rec).view;
        FUZZ_CHECK(fuzz_json_u64(line, "function_id", &val) &&
                   val == v->hdr.func_id);
        FUZZ_CHECK(fuzz_json_u64(line, "seq", &val) && val == v->hdr.seq);
        FUZZ_CHECK(fuzz_json_u64(line, "orig_len", &val) &&
                   val == v->hdr.orig_len);
        rec++;
        lines++;
        p = nl + 1;
    }
    FUZZ_CHECK(lines == r->jsonl_lines);
}

/* @buf is function @fo's pcap file: header, then its frames in order. */
static void check_pcap(Recovery *r, const FunctionOutput *fo,
                       const uint8_t *buf, size_t len)
{
    size_t pos = 24;
    uint64_t packets = 0;

    FUZZ_CHECK(len >= 24);
    FUZZ_CHECK(get_le32(buf) == 0xa1b23c4du);  /* nanosecond pcap */
    FUZZ_CHECK(get_le32(buf + 16) == PREDLOG_RECOVER_PCAP_SNAPLEN);
    FUZZ_CHECK(get_le32(buf + 20) == 1);       /* DLT_EN10MB */
    for (guint i = 0; i < r->records->len; i++) {
        const PredlogRecordView *v =
            &g_array_index(r->records, PredlogRecoveredRecord, i).view;
        uint32_t caplen;

        if (v->hdr.func_id != fo->fn->id || !to_pcap(r, v)) {
            continue;
        }
        FUZZ_CHECK(len - pos >= 16);
        caplen = get_le32(buf + pos + 8);
        FUZZ_CHECK(get_le32(buf + pos) ==
                   (uint32_t)(v->hdr.timestamp_ns / 1000000000u));
        FUZZ_CHECK(get_le32(buf + pos + 4) ==
                   v->hdr.timestamp_ns % 1000000000u);
        FUZZ_CHECK(caplen == MIN(v->hdr.stored_len,
                                 PREDLOG_RECOVER_PCAP_SNAPLEN));
        FUZZ_CHECK(get_le32(buf + pos + 12) == v->hdr.orig_len);
        pos += 16;
        FUZZ_CHECK(len - pos >= caplen);
        FUZZ_CHECK(memcmp(buf + pos, v->payload, caplen) == 0);
        pos += caplen;
        packets++;
    }
    FUZZ_CHECK(pos == len);
    FUZZ_CHECK(packets == fo->packets);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *errmsg = NULL;
    PredlogImage *img = predlog_image_open(data, size, &err);
    g_autofree Stream *pcaps = NULL;
    Stream jsonl, out;
    Recovery r;

    if (!img) {
        return 0;
    }
    /* paths are only named, never opened: the streams stand in */
    recovery_init(&r, img, "/nonexistent/fuzz-recover");
    /* as open_outputs() names it, for the summary's "Written:" */
    r.jsonl_path = g_build_filename(r.output_dir, PREDLOG_RECOVER_JSONL_NAME,
                                    NULL);
    FUZZ_CHECK(recovery_open_pcap(&r, &errmsg));
    pcaps = g_new0(Stream, r.n_fn);
    for (unsigned i = 0; i < r.n_fn; i++) {
        FunctionOutput *fo = &r.out[i];

        FUZZ_CHECK(!fo->file_name == !fo->path);
        if (!fo->path) {
            continue;
        }
        FUZZ_CHECK(g_str_has_suffix(fo->file_name, ".pcap") &&
                   fo->file_name[0] != '.' && !strchr(fo->file_name, '/'));
        stream_open(&pcaps[i]);
        fo->dumper = pcap_dump_fopen(r.pcap, pcaps[i].f);
        FUZZ_CHECK(fo->dumper);
    }
    stream_open(&jsonl);
    FUZZ_CHECK(recovery_write_records(&r, jsonl.f, &errmsg));
    FUZZ_CHECK(fclose(jsonl.f) == 0);
    check_jsonl(&r, jsonl.buf, jsonl.len);
    free(jsonl.buf);
    for (unsigned i = 0; i < r.n_fn; i++) {
        FunctionOutput *fo = &r.out[i];

        if (!fo->dumper) {
            continue;
        }
        pcap_dump_close(fo->dumper);      /* closes the stream */
        check_pcap(&r, fo, (const uint8_t *)pcaps[i].buf, pcaps[i].len);
        free(pcaps[i].buf);
        fo->dumper = NULL;
    }

    stream_open(&out);
    recovery_print_json(&r, out.f);
    FUZZ_CHECK(fclose(out.f) == 0);
    check_json_doc(out.buf, out.len);
    free(out.buf);

    stream_open(&out);
    recovery_print_table(&r, out.f);
    if (r.totals.salvaged_functions) {
        recovery_report_salvage(&r, "fuzz.pool", out.f);
    }
    FUZZ_CHECK(fclose(out.f) == 0);
    FUZZ_CHECK(out.len > 0 && memchr(out.buf, '\0', out.len) == NULL);
    free(out.buf);

    pcap_close(r.pcap);
    r.pcap = NULL;
    (void)recovery_nothing_recovered(&r);
    recovery_release(&r);
    predlog_image_free(img);
    return 0;
}
