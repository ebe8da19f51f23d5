/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog benchmarks: I/O traces the allocator and forecaster benchmarks
 * replay
 *
 * A trace is a text file (optionally zstd-compressed, name ending in
 * ".zst"), one event per line, fields separated by one TAB:
 *
 *   t_ns  source  kind  aux  len  prefix
 *
 *   t_ns    decimal, nanoseconds since the start of the trace,
 *           non-decreasing from line to line
 *   source  the I/O function the event came from as the device names it
 *           ("net0", "blk0", "guest0"); [A-Za-z0-9_.-]{1,31}
 *   kind    "net", "block" or "guest" (PredlogFunctionKind)
 *   aux     decimal; net: PredlogNetDirection (1 from guest, 2 to guest);
 *           block: PredlogBlockOp (1..5); guest: syslog severity (0..7)
 *   len     decimal; net: true frame length; block: request bytes;
 *           guest: message length (without the 8-byte guest timestamp)
 *   prefix  lower-case hex of the first bytes of the payload, at most
 *           PREDLOG_TRACE_PREFIX_MAX bytes, possibly empty; net: the
 *           frame from its Ethernet header; block: empty; guest: the
 *           start of the message text
 *
 * Lines starting with '#' are comments; "# name: value" comments at the
 * top describe the trace (origin, duration, how it was captured).  Empty
 * lines are skipped, a CR before the newline is ignored, and a line of
 * five fields (the TAB before an empty prefix stripped) has an empty
 * prefix.  The prefix is never longer than len.
 *
 * Include this header as "bench/common/trace.h": hw/predlog/trace.h,
 * QEMU's trace-events wrapper, is in the same include path.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef BENCH_COMMON_TRACE_H
#define BENCH_COMMON_TRACE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/predlog/core/recorder.h"

#define PREDLOG_TRACE_PREFIX_MAX    128
#define PREDLOG_TRACE_SOURCE_MAX    31

typedef struct PredlogTraceEvent {
    uint64_t t_ns;
    uint16_t source;            /* index into PredlogTrace.sources */
    uint8_t kind;               /* PredlogFunctionKind */
    uint8_t prefix_len;
    uint32_t aux;
    uint32_t len;
    uint8_t prefix[PREDLOG_TRACE_PREFIX_MAX];
} PredlogTraceEvent;

typedef struct PredlogTrace {
    char *name;                 /* file name without directory and suffix */
    GPtrArray *sources;         /* char *, in order of first appearance */
    GArray *kinds;              /* uint8_t PredlogFunctionKind per source */
    PredlogTraceEvent *events;
    size_t n_events;
    uint64_t duration_ns;       /* t_ns of the last event */
} PredlogTrace;

/*
 * Load a trace; on a malformed line fail with @errp naming the file and
 * line.  A source must keep one kind throughout the trace.
 */
PredlogTrace *predlog_trace_load(const char *path, GError **errp);
void predlog_trace_free(PredlogTrace *trace);

/*
 * Build the payload the recorder logs for @ev into @buf (at most @cap
 * bytes; returns the bytes written, min(payload length, cap)): the
 * prefix, then deterministic filler for the rest.  The payload length is
 * ev->len for net and guest events and ev->len of request data for block
 * events: ev->len for a read or write, 0 for a flush, discard or
 * write-zeroes, which carry no data (the benchmark decides whether block
 * data is logged).  The
 * filler depends only on (source, t_ns, len), so every run and every
 * policy logs identical bytes; what it is made of (and so how well it
 * compresses) is documented in bench/README.md ("Trace payloads"):
 * 256-byte runs from the payload's start, each either text (words of a
 * fixed 64-word dictionary, each followed by a space) or pseudo-random
 * bytes (splitmix64 seeded from FNV-1a(source name), t_ns and len);
 * net and block runs are text with probability 1/2, guest runs always.
 * Then the prefix replaces the first bytes.  A smaller @cap gives a
 * prefix of the same bytes.  zstd -3 compresses net/block filler about
 * 1.6:1, guest filler about 4:1.
 */
size_t predlog_trace_payload(const PredlogTrace *trace,
                             const PredlogTraceEvent *ev,
                             uint8_t *buf, size_t cap);

/* Write @trace back in the text format (for tests and converters). */
gboolean predlog_trace_save(const PredlogTrace *trace, const char *path,
                            GError **errp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PredlogTrace, predlog_trace_free)

#endif /* BENCH_COMMON_TRACE_H */
