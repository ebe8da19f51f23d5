/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LTTng-UST probes of bench-ingest's baseline tracepoint.
 *
 * Kept in a file of its own because TRACEPOINT_CREATE_PROBES expands the
 * provider header into the probe and registration code, which must exist
 * exactly once per program; TRACEPOINT_DEFINE goes with it, so the
 * tracepoint is linked statically (no separate provider .so to preload).
 *
 * Copyright (c) 2026 The predlog authors
 */

#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "bench-ingest-tp.h"
