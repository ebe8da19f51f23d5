/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: host-side taps feeding a predlog recorder
 *
 * A tap is one I/O function of a predlog device that QEMU itself feeds,
 * without guest help: the netfilter object filter-predlog (net/) and the
 * block filter driver "predlog" (block/).  Both are created from the
 * command line before any -device exists, so a tap names its recorder by
 * the device's id and is bound to it when that device is realized; a tap
 * whose recorder never appears fails startup once the machine is created.
 * Taps created later (object-add, blockdev-add) bind at once.
 *
 * predlog_tap_log() may be called from any thread (block requests complete
 * in iothreads); it never blocks on I/O and never fails the caller's I/O:
 * a record that cannot be stored is counted as dropped.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_TAP_H
#define HW_PREDLOG_TAP_H

#include "core/recorder.h"

typedef struct PredlogTap PredlogTap;

/*
 * Create a tap for the predlog device with id @recorder, as a function of
 * @kind named @name (the filter's or node's id; it is what info predlog
 * and predlog-recover show).  Fails if @recorder is empty, or, once the
 * machine is created, if no predlog device has that id or it cannot take
 * another function.
 */
PredlogTap *predlog_tap_new(const char *recorder, PredlogFunctionKind kind,
                            const char *name, Error **errp);

/* Stop logging; the function stays in the pool directory. */
void predlog_tap_free(PredlogTap *tap);

/* Whether records are being taken now (bound, recorder running). */
bool predlog_tap_active(PredlogTap *tap);

/*
 * Log one record of @type with type-specific @aux (record.h) whose payload
 * is the concatenation of @iov, @orig_len bytes in all before any cut the
 * caller made (orig_len >= iov_size(iov, iovcnt)).  The device stores at
 * most its snap length of payload.  Time-stamped here, with the host's
 * wall clock.
 */
void predlog_tap_log(PredlogTap *tap, PredlogRecordType type, uint32_t aux,
                     const struct iovec *iov, int iovcnt, size_t orig_len);

#endif /* HW_PREDLOG_TAP_H */
