/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LTTng-UST tracepoint provider for bench-ingest: the baseline that logs
 * the same payload as one predlog record, through LTTng's ring buffer.
 *
 * The integer fields are the ones of our record header a tracer would
 * have to carry too (function id, sequence, original length); LTTng adds
 * its own timestamp, so the caller passes none.  The payload is a byte
 * sequence, copied as is, like predlog's stored payload.
 *
 * This header is read several times by lttng/tracepoint-event.h (once per
 * code generation pass), hence the unusual include guard.
 *
 * Copyright (c) 2026 The predlog authors
 */

#undef TRACEPOINT_PROVIDER
#define TRACEPOINT_PROVIDER predlog_bench

#undef TRACEPOINT_INCLUDE
#define TRACEPOINT_INCLUDE "./bench-ingest-tp.h"

#if !defined(BENCH_INGEST_TP_H) || defined(TRACEPOINT_HEADER_MULTI_READ)
#define BENCH_INGEST_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

TRACEPOINT_EVENT(
    predlog_bench,
    record,
    TP_ARGS(
        uint16_t, func_id,
        uint64_t, seq,
        uint32_t, orig_len,
        const uint8_t *, data,
        uint32_t, len
    ),
    TP_FIELDS(
        ctf_integer(uint16_t, func_id, func_id)
        ctf_integer(uint64_t, seq, seq)
        ctf_integer(uint32_t, orig_len, orig_len)
        ctf_sequence(uint8_t, payload, data, uint32_t, len)
    )
)

#endif /* BENCH_INGEST_TP_H */

#include <lttng/tracepoint-event.h>
