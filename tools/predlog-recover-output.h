/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-recover: what it writes (pcap, JSON lines, the summary)
 *
 * predlog-recover.c is the command line; this is everything it does with
 * an opened pool image.  It is a library of its own so that the fuzz
 * target tests/fuzz/fuzz-recover.c drives the very code the tool runs on
 * a hostile pool file, writing to memory streams instead of files.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef TOOLS_PREDLOG_RECOVER_OUTPUT_H
#define TOOLS_PREDLOG_RECOVER_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>
#include <pcap/pcap.h>

#include "hw/predlog/core/recovery.h"

/* What pcap files declare; longer stored frames are cut to this. */
#define PREDLOG_RECOVER_PCAP_SNAPLEN 262144u

#define PREDLOG_RECOVER_JSONL_NAME "records.jsonl"

/* One output file per function (pcap) plus records.jsonl. */
typedef struct FunctionOutput {
    const PredlogImageFunction *fn;
    char *file_name;            /* NULL: no pcap for this function */
    char *path;
    pcap_dumper_t *dumper;
    uint64_t packets;
} FunctionOutput;

typedef struct Recovery {
    const char *output_dir;
    PredlogImage *img;
    GArray *records;
    PredlogRecoveryTotals totals;
    unsigned n_fn;
    FunctionOutput *out;        /* [n_fn], same order as the directory */
    int *index_of;              /* function id -> index in out, or -1 */
    pcap_t *pcap;
    char *jsonl_path;
    uint64_t jsonl_lines;
    GPtrArray *files;           /* paths written, in the order made */
} Recovery;

/*
 * Scan @img (owned by the caller, who frees it after recovery_release())
 * and decide the output files, under @output_dir; nothing is written yet.
 */
void recovery_init(Recovery *r, PredlogImage *img, const char *output_dir);
void recovery_release(Recovery *r);

/*
 * Whether the pool is damaged so that nothing could be recovered: no
 * committed record, though something was there (the tool then exits 1).
 */
bool recovery_nothing_recovered(const Recovery *r);

/*
 * Create the output directory and files, write every record, close them.
 * On failure *@errmsg says why (g_free() it).
 */
bool recovery_write_outputs(Recovery *r, char **errmsg);

/* The pcap handle the dumpers of the functions' files are opened with. */
bool recovery_open_pcap(Recovery *r, char **errmsg);

/*
 * Write the records: network packets to their function's dumper, if it
 * has one open, every other record as a line of @jsonl.
 */
bool recovery_write_records(Recovery *r, FILE *jsonl, char **errmsg);

/* One record's JSON line (with its newline), appended to @s. */
void recovery_jsonl_line(Recovery *r, GString *s, const PredlogRecordView *v);

/* The summary on @out: a table, or one JSON object. */
void recovery_print_table(Recovery *r, FILE *out);
void recovery_print_json(Recovery *r, FILE *out);

/* The warning about salvaged functions, on @out, naming pool file @path. */
void recovery_report_salvage(const Recovery *r, const char *path, FILE *out);
/* Warn on @out that chunks were left packed (totals.chunks_over_limit). */
void recovery_report_unpack_limit(const Recovery *r, const char *path,
                                  FILE *out);

#endif /* TOOLS_PREDLOG_RECOVER_OUTPUT_H */
