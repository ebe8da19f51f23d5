/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-recover: turn a predlog flight-recorder pool file into pcap
 * files and JSON lines
 *
 * Reads a pool image (the memory-backend-file a QEMU with -device predlog
 * wrote into, typically after that QEMU died) through hw/predlog/
 * recovery.h and writes what it finds: one pcap file per network function
 * and one records.jsonl for the block, guest and summary records, both in
 * timestamp order.  Records of every granularity (full, header-only, and
 * the SUMMARY records that stand for the records of a summary-level
 * stretch, decoded) and of both tiers (the active buffers, and the
 * compressed cold-tier chunks recovery.h unpacks) are written alike.
 * Only records that decode VALID are written; torn and overwritten ones
 * are counted in the summary.  See docs/tools/predlog-recover.rst.
 *
 * This file is the command line: options, reading the file.  What is
 * written, and how, is predlog-recover-output.c, a library of its own so
 * that the fuzz target of tests/fuzz/ runs the same code.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "hw/predlog/core/recovery.h"
#include "predlog-recover-output.h"

#ifndef PREDLOG_VERSION
#define PREDLOG_VERSION "unknown"
#endif

#define PROG "predlog-recover"

enum {
    EXIT_ERROR = 1,
    EXIT_USAGE = 2,
};

/* Keep in sync with docs/tools/predlog-recover.rst (the test checks). */
static const char usage_text[] =
"Usage: predlog-recover [OPTIONS] POOL-FILE\n"
"\n"
"Recover the records of a predlog flight-recorder pool file, e.g. the\n"
"memory-backend-file of a QEMU that died.  Every network function's\n"
"packets go to DIR/<function>.pcap; block, guest and summary records go\n"
"to DIR/records.jsonl.  Records in compressed cold-tier chunks are\n"
"unpacked and written like the others; summary records are decoded.\n"
"Only committed records are written; torn and overwritten ones are\n"
"counted in the summary.\n"
"\n"
"Options:\n"
"  -o, --output-dir DIR  where to write results (default: current\n"
"                        directory; created if missing)\n"
"  -q, --quiet           no summary on stdout\n"
"      --json-summary    print the summary as one JSON object instead of\n"
"                        a table\n"
"      --max-unpacked SIZE\n"
"                        decompress at most SIZE bytes of cold-tier chunks\n"
"                        (suffix K, M, G or T; 0: no limit; default: 16\n"
"                        times the pool's data area, at least 256M)\n"
"  -h, --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 on success, 1 if POOL-FILE cannot be read or is not a\n"
"predlog pool (no output is written then) or is damaged so that no\n"
"record could be recovered, 2 on bad usage.\n";

typedef struct Options {
    const char *output_dir;
    bool quiet;
    bool json_summary;
    bool have_max_unpacked;
    uint64_t max_unpacked;
    const char *pool_file;
} Options;

static void G_GNUC_PRINTF(1, 2) error_msg(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN usage_error(const char *fmt,
                                                           ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    exit(EXIT_USAGE);
}

/* "<n>[KMGT]" in bytes, binary multiples; false if it is not one. */
static bool parse_size(const char *str, uint64_t *bytes)
{
    static const char suffixes[] = "KMGT";
    const char *sfx;
    char *end;
    uint64_t n;
    unsigned shift = 0;

    if (!g_ascii_isdigit(*str)) {
        return false;
    }
    errno = 0;
    n = g_ascii_strtoull(str, &end, 10);
    if (errno) {
        return false;
    }
    if (*end) {
        sfx = strchr(suffixes, g_ascii_toupper(*end));
        if (!sfx || end[1]) {
            return false;
        }
        shift = 10 * (sfx - suffixes + 1);
    }
    if (n > (UINT64_MAX >> shift)) {
        return false;
    }
    *bytes = n << shift;
    return true;
}

static void parse_options(int argc, char **argv, Options *opts)
{
    enum { OPT_JSON_SUMMARY = 256, OPT_MAX_UNPACKED, OPT_VERSION };
    static const struct option long_opts[] = {
        { "output-dir", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "json-summary", no_argument, NULL, OPT_JSON_SUMMARY },
        { "max-unpacked", required_argument, NULL, OPT_MAX_UNPACKED },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { NULL, 0, NULL, 0 },
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            if (!*optarg) {
                usage_error("--output-dir needs a non-empty DIR");
            }
            opts->output_dir = optarg;
            break;
        case 'q':
            opts->quiet = true;
            break;
        case OPT_JSON_SUMMARY:
            opts->json_summary = true;
            break;
        case OPT_MAX_UNPACKED:
            if (!parse_size(optarg, &opts->max_unpacked)) {
                usage_error("--max-unpacked needs a SIZE in bytes, with an "
                            "optional suffix K, M, G or T, not '%s'", optarg);
            }
            opts->have_max_unpacked = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(EXIT_SUCCESS);
        case OPT_VERSION:
            printf(PROG " " PREDLOG_VERSION "\n");
            exit(EXIT_SUCCESS);
        case ':':
            if (optopt) {
                usage_error("option '-%c' needs an argument", optopt);
            }
            usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt) {
                usage_error("unknown option '-%c'", optopt);
            }
            usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage_error("missing POOL-FILE");
    }
    if (argc - optind > 1) {
        usage_error("expected one POOL-FILE, got %d arguments",
                    argc - optind);
    }
    opts->pool_file = argv[optind];
    if (!*opts->pool_file) {
        usage_error("POOL-FILE is empty");
    }
}

/* ------------------------------------------------------------------ */
/* Reading the pool file                                               */
/* ------------------------------------------------------------------ */

/*
 * The pool file is read into memory rather than mapped: a file that
 * shrinks while it is read (QEMU still running, a copy under way, a full
 * disk) must be a clear error, and a mapped page past the new end would
 * be SIGBUS instead.  A read also gives the scan one consistent copy.
 */
typedef struct PoolFile {
    uint8_t *base;
    size_t len;
} PoolFile;

static bool read_pool(const char *path, PoolFile *pf, char **errmsg)
{
    struct stat st;
    size_t done = 0;
    int fd;

    pf->base = NULL;
    pf->len = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *errmsg = g_strdup(g_strerror(errno));
        return false;
    }
    if (fstat(fd, &st) < 0) {
        *errmsg = g_strdup(g_strerror(errno));
        close(fd);
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        *errmsg = g_strdup(g_strerror(EISDIR));
        close(fd);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        *errmsg = g_strdup("not a regular file");
        close(fd);
        return false;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        *errmsg = g_strdup("file too large for this host");
        close(fd);
        return false;
    }
    if (st.st_size == 0) {
        *errmsg = g_strdup("empty file, not a predlog pool");
        close(fd);
        return false;
    }
    pf->len = st.st_size;
    pf->base = g_try_malloc(pf->len);
    if (!pf->base) {
        *errmsg = g_strdup_printf("cannot allocate %zu bytes to read it",
                                  pf->len);
        close(fd);
        return false;
    }
    while (done < pf->len) {
        ssize_t n = pread(fd, pf->base + done, pf->len - done, done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *errmsg = g_strdup_printf("read failed at byte %zu: %s", done,
                                      g_strerror(errno));
            break;
        }
        if (n == 0) {
            *errmsg = g_strdup_printf("the file shrank from %zu to %zu "
                                      "bytes while it was read; if QEMU is "
                                      "still running, run predlog-flush or "
                                      "stop it first", pf->len, done);
            break;
        }
        done += n;
    }
    close(fd);
    if (done < pf->len) {
        g_free(pf->base);
        pf->base = NULL;
        return false;
    }
    return true;
}

static void release_pool(PoolFile *pf)
{
    g_free(pf->base);
    pf->base = NULL;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    Options opts = { .output_dir = "." };
    g_autoptr(GError) err = NULL;
    g_autofree char *errmsg = NULL;
    Recovery r;
    PredlogImage *img;
    PoolFile m;
    int ret = EXIT_SUCCESS;

    parse_options(argc, argv, &opts);

    if (!read_pool(opts.pool_file, &m, &errmsg)) {
        error_msg("%s: %s", opts.pool_file, errmsg);
        return EXIT_ERROR;
    }
    img = predlog_image_open(m.base, m.len, &err);
    if (!img) {
        error_msg("%s: %s", opts.pool_file, err->message);
        release_pool(&m);
        return EXIT_ERROR;
    }

    if (opts.have_max_unpacked) {
        predlog_image_set_unpack_limit(img, opts.max_unpacked);
    }
    recovery_init(&r, img, opts.output_dir);
    if (r.totals.salvaged_functions) {
        recovery_report_salvage(&r, opts.pool_file, stderr);
    }
    if (r.totals.chunks_over_limit) {
        recovery_report_unpack_limit(&r, opts.pool_file, stderr);
    }

    if (!recovery_write_outputs(&r, &errmsg)) {
        error_msg("%s", errmsg);
        ret = EXIT_ERROR;
    } else if (!opts.quiet) {
        if (opts.json_summary) {
            recovery_print_json(&r, stdout);
        } else {
            recovery_print_table(&r, stdout);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
            error_msg("stdout: %s", g_strerror(errno));
            ret = EXIT_ERROR;
        }
    }

    if (ret == EXIT_SUCCESS && recovery_nothing_recovered(&r)) {
        error_msg("%s: the pool is damaged and no record could be "
                  "recovered", opts.pool_file);
        ret = EXIT_ERROR;
    }

    recovery_release(&r);
    predlog_image_free(img);
    release_pool(&m);
    return ret;
}
