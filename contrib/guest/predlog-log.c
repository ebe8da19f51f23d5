/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-log: write records to the predlog flight recorder from a guest
 *
 * The guest driver (contrib/guest/predlog-kmod, predlog.ko) exposes each
 * predlog device as /dev/predlogN, where every write() is one record that
 * returns once the device has acknowledged it.  This is the logger(1) of
 * that device: the message words make one record, or, without words,
 * every line of stdin makes one.  Built statically and put into the test
 * initramfs by tests/guest/build-image.sh.
 *
 * Copyright (c) 2026 The predlog authors
 */

#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "predlog-kmod/predlog-ioctl.h"

#define PROG                "predlog-log"
#define DEFAULT_DEVICE      "/dev/predlog0"

/* Exit codes, documented in usage() */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
};

/* Syslog severity names, as logger(1) spells them; index = value */
static const char *const severity_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: " PROG " [-d DEVICE] [-f FUNCTION] [-s SEVERITY] "
            "[-n COUNT] [-v] [MESSAGE...]\n"
            "\n"
            "Log MESSAGE (its words joined by spaces) as one record of the\n"
            "predlog flight recorder, or, without MESSAGE, every line of\n"
            "standard input as one record (empty lines are skipped).\n"
            "Each record is acknowledged by the device before the next one\n"
            "is written.\n"
            "\n"
            "Options:\n"
            "  -d, --device DEVICE    predlog device node (default "
            DEFAULT_DEVICE ")\n"
            "  -f, --function ID      guest function id, 0..NUM_FUNCS-1 "
            "(default 0)\n"
            "  -s, --severity LEVEL   0..7 or emerg, alert, crit, err, "
            "warning,\n"
            "                         notice, info, debug (default info)\n"
            "  -n, --count COUNT      log MESSAGE COUNT times, as "
            "\"MESSAGE #1\"..\n"
            "                         \"MESSAGE #COUNT\" (needs MESSAGE)\n"
            "  -v, --verbose          print how many records were logged and\n"
            "                         the sequence number of the last one\n"
            "  -h, --help             show this text\n"
            "\n"
            "Exit status:\n"
            "  0  every record was acknowledged\n"
            "  1  a record could not be logged (missing device, pool full,\n"
            "     device error); the message says which\n"
            "  2  bad usage\n");
}

/*
 * Strict decimal parse: digits only (no sign, no spaces), at most @max.
 * Written out rather than strtoul() so that "-1" or "12abc" are rejected
 * instead of half-parsed.
 */
static bool parse_uint(const char *s, unsigned long max, unsigned long *val)
{
    unsigned long v = 0;

    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned d = *s - '0';

        if (*s < '0' || *s > '9' || d > max || v > (max - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *val = v;
    return true;
}

static bool parse_severity(const char *s, uint32_t *sev)
{
    unsigned long v;
    size_t i;

    if (parse_uint(s, 7, &v)) {
        *sev = v;
        return true;
    }
    for (i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++) {
        if (!strcasecmp(s, severity_names[i])) {
            *sev = i;
            return true;
        }
    }
    /* The aliases logger(1) accepts */
    if (!strcasecmp(s, "error")) {
        *sev = 3;
    } else if (!strcasecmp(s, "warn")) {
        *sev = 4;
    } else if (!strcasecmp(s, "panic")) {
        *sev = 0;
    } else {
        return false;
    }
    return true;
}

typedef struct Logger {
    const char *path;
    int fd;
    struct predlog_info info;
    unsigned long logged;
} Logger;

/* Explain the errno of a failed record write in the device's terms */
static void report_write_error(Logger *lg, size_t len, int err)
{
    const char *why;

    switch (err) {
    case EMSGSIZE:
        fprintf(stderr, PROG ": %s: record of %zu bytes is longer than "
                "the %" PRIu32 " bytes the driver accepts\n",
                lg->path, len, lg->info.max_record);
        return;
    case ENOSPC:
        why = "the device dropped the record: its pool is full";
        break;
    case EIO:
        why = "the device rejected the record or stopped (see dmesg)";
        break;
    case ETIMEDOUT:
        why = "the device did not acknowledge the record in time";
        break;
    case ENODEV:
        why = "the device went away";
        break;
    case EINTR:
        why = "interrupted; the record may or may not have been logged";
        break;
    default:
        why = NULL;
        break;
    }
    if (why) {
        fprintf(stderr, PROG ": %s: %s (%s)\n", lg->path, why,
                strerror(err));
    } else {
        fprintf(stderr, PROG ": %s: write: %s\n", lg->path, strerror(err));
    }
}

static bool log_record(Logger *lg, const char *buf, size_t len)
{
    ssize_t n;

    /* One write() is one record; the driver never takes part of one */
    n = write(lg->fd, buf, len);
    if (n < 0) {
        report_write_error(lg, len, errno);
        return false;
    }
    if ((size_t)n != len) {
        fprintf(stderr, PROG ": %s: short write (%zd of %zu bytes)\n",
                lg->path, n, len);
        return false;
    }
    lg->logged++;
    return true;
}

/* Join argv words with single spaces; NULL if out of memory */
static char *join_words(int argc, char **argv)
{
    size_t len = 1;
    char *msg, *p;
    int i;

    for (i = 0; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    msg = malloc(len);
    if (!msg) {
        return NULL;
    }
    p = msg;
    for (i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]);

        if (i) {
            *p++ = ' ';
        }
        memcpy(p, argv[i], l);
        p += l;
    }
    *p = '\0';
    return msg;
}

static int log_message(Logger *lg, const char *msg, unsigned long count,
                       bool repeat)
{
    unsigned long i;
    char *rec;
    size_t cap;
    int n;

    if (!repeat) {
        if (!*msg) {
            fprintf(stderr, PROG ": empty message (a record needs at least "
                    "one byte)\n");
            return EXIT_USAGE;
        }
        return log_record(lg, msg, strlen(msg)) ? EXIT_OK : EXIT_FAIL;
    }

    /* " #" + up to 20 digits + NUL */
    cap = strlen(msg) + 24;
    rec = malloc(cap);
    if (!rec) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_FAIL;
    }
    for (i = 1; i <= count; i++) {
        n = snprintf(rec, cap, "%s #%lu", msg, i);
        if (n < 0 || (size_t)n >= cap || !log_record(lg, rec, n)) {
            if (lg->logged) {
                fprintf(stderr, PROG ": stopped after %lu of %lu records\n",
                        lg->logged, count);
            }
            free(rec);
            return EXIT_FAIL;
        }
    }
    free(rec);
    return EXIT_OK;
}

static int log_stdin(Logger *lg)
{
    unsigned long lineno = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ret = EXIT_OK;

    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        if (!log_record(lg, line, len)) {
            fprintf(stderr, PROG ": stopped at line %lu of standard input\n",
                    lineno);
            ret = EXIT_FAIL;
            break;
        }
    }
    if (ret == EXIT_OK && ferror(stdin)) {
        fprintf(stderr, PROG ": reading standard input: %s\n",
                strerror(errno));
        ret = EXIT_FAIL;
    }
    free(line);
    return ret;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "device", required_argument, NULL, 'd' },
        { "function", required_argument, NULL, 'f' },
        { "severity", required_argument, NULL, 's' },
        { "count", required_argument, NULL, 'n' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    Logger lg = { .path = DEFAULT_DEVICE, .fd = -1 };
    const char *func_arg = NULL;
    unsigned long func = 0, count = 1, v;
    uint32_t severity = 6, val;
    bool set_severity = false, repeat = false, verbose = false;
    char *msg = NULL;
    int c, ret;

    while ((c = getopt_long(argc, argv, "d:f:s:n:vh", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'd':
            lg.path = optarg;
            break;
        case 'f':
            func_arg = optarg;
            if (!parse_uint(optarg, UINT32_MAX, &func)) {
                fprintf(stderr, PROG ": -f %s: not a function id (a number "
                        "from 0)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (!parse_severity(optarg, &severity)) {
                fprintf(stderr, PROG ": -s %s: not a severity (0..7, emerg, "
                        "alert, crit, err, warning, notice, info, debug)\n",
                        optarg);
                return EXIT_USAGE;
            }
            set_severity = true;
            break;
        case 'n':
            if (!parse_uint(optarg, ULONG_MAX, &v) || v == 0) {
                fprintf(stderr, PROG ": -n %s: not a positive count\n",
                        optarg);
                return EXIT_USAGE;
            }
            count = v;
            repeat = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            fprintf(stderr, "Try '" PROG " --help' for more information.\n");
            return EXIT_USAGE;
        }
    }
    if (repeat && optind == argc) {
        fprintf(stderr, PROG ": -n needs a MESSAGE to repeat\n");
        return EXIT_USAGE;
    }
    if (optind < argc) {
        msg = join_words(argc - optind, argv + optind);
        if (!msg) {
            fprintf(stderr, PROG ": out of memory\n");
            return EXIT_FAIL;
        }
    }

    lg.fd = open(lg.path, O_WRONLY | O_CLOEXEC);
    if (lg.fd < 0) {
        int err = errno;

        fprintf(stderr, PROG ": %s: %s%s\n", lg.path, strerror(err),
                err == ENOENT || err == ENXIO || err == ENODEV ?
                " (is predlog.ko loaded?)" : "");
        free(msg);
        return EXIT_FAIL;
    }
    /*
     * Writing to the wrong file (a typo in -d, /dev/null) would "succeed";
     * the driver's ioctl tells a predlog device from anything else.
     */
    if (ioctl(lg.fd, PREDLOG_IOC_GET_INFO, &lg.info) < 0) {
        int err = errno;

        fprintf(stderr, PROG ": %s: not a predlog device (%s)\n", lg.path,
                strerror(err));
        ret = EXIT_FAIL;
        goto out;
    }

    if (func_arg) {
        val = func;
        if (ioctl(lg.fd, PREDLOG_IOC_SET_FUNCTION, &val) < 0) {
            int err = errno;

            if (err == EINVAL) {
                fprintf(stderr, PROG ": -f %s: %s has functions 0..%" PRIu32
                        "\n", func_arg, lg.path, lg.info.num_funcs - 1);
            } else {
                fprintf(stderr, PROG ": %s: cannot set function %s: %s\n",
                        lg.path, func_arg, strerror(err));
            }
            ret = err == EINVAL ? EXIT_USAGE : EXIT_FAIL;
            goto out;
        }
    }
    if (set_severity) {
        val = severity;
        if (ioctl(lg.fd, PREDLOG_IOC_SET_SEVERITY, &val) < 0) {
            int err = errno;

            fprintf(stderr, PROG ": %s: cannot set severity %" PRIu32
                    ": %s\n", lg.path, severity, strerror(err));
            ret = EXIT_FAIL;
            goto out;
        }
    }

    if (msg) {
        ret = log_message(&lg, msg, count, repeat);
    } else {
        ret = log_stdin(&lg);
    }

    if (verbose) {
        if (ioctl(lg.fd, PREDLOG_IOC_LAST_SEQ, &val) == 0) {
            printf(PROG ": logged %lu record%s, last seq %" PRIu32 "\n",
                   lg.logged, lg.logged == 1 ? "" : "s", val);
        } else {
            printf(PROG ": logged %lu record%s\n", lg.logged,
                   lg.logged == 1 ? "" : "s");
        }
    }

out:
    if (close(lg.fd) < 0 && ret == EXIT_OK) {
        fprintf(stderr, PROG ": %s: close: %s\n", lg.path, strerror(errno));
        ret = EXIT_FAIL;
    }
    free(msg);
    return ret;
}
