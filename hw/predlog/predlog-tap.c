/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: host-side taps (see predlog-tap.h)
 *
 * -object filter-predlog and -blockdev driver=predlog are created before
 * any -device, so a tap cannot find its recorder when it is made.  Taps
 * therefore wait in a list; a predlog device binds the taps that name it
 * when it is realized (so that a device without room for them fails to
 * start), and once the machine is complete any tap still unbound is a
 * configuration error that stops QEMU with a message naming it.
 *
 * The list and the tap->dev links change only under the BQL; logging
 * reads tap->dev without it, which is safe because a device unbinds its
 * taps (under the BQL, with I/O quiesced by unplug) before it goes away.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/queue.h"
#include "qapi/error.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "system/system.h"
#include "predlog.h"
#include "predlog-tap.h"
#include "trace.h"

struct PredlogTap {
    char *recorder;             /* the device id the user gave */
    char *name;
    PredlogFunctionKind kind;
    PredlogState *dev;          /* NULL until bound */
    int source;                 /* the device's source id, -1 unbound */
    QTAILQ_ENTRY(PredlogTap) next;
};

static QTAILQ_HEAD(, PredlogTap) predlog_taps =
    QTAILQ_HEAD_INITIALIZER(predlog_taps);
static Notifier predlog_taps_machine_done;
static bool predlog_taps_notifier_added;

static bool predlog_tap_bind(PredlogTap *tap, PredlogState *s, Error **errp)
{
    int id = predlog_add_source(s, tap->kind, tap->name, errp);

    if (id < 0) {
        return false;
    }
    tap->source = id;
    qatomic_set(&tap->dev, s);
    trace_predlog_tap_bind(tap->name, predlog_id(s), id);
    return true;
}

bool predlog_taps_bind(PredlogState *s, Error **errp)
{
    const char *id = DEVICE(s)->id;
    PredlogTap *tap;

    if (!id) {
        return true;
    }
    QTAILQ_FOREACH(tap, &predlog_taps, next) {
        if (!tap->dev && !strcmp(tap->recorder, id) &&
            !predlog_tap_bind(tap, s, errp)) {
            return false;
        }
    }
    return true;
}

void predlog_taps_unbind(PredlogState *s)
{
    PredlogTap *tap;

    QTAILQ_FOREACH(tap, &predlog_taps, next) {
        if (tap->dev == s) {
            qatomic_set(&tap->dev, NULL);
        }
    }
}

/* With the machine complete, a tap that found no recorder never will. */
static void predlog_taps_check(Notifier *notifier, void *data)
{
    PredlogTap *tap;

    QTAILQ_FOREACH(tap, &predlog_taps, next) {
        if (!tap->dev) {
            error_report("predlog: %s tap '%s' names recorder '%s', but "
                         "there is no '-device predlog,id=%s'",
                         predlog_function_kind_str(tap->kind), tap->name,
                         tap->recorder, tap->recorder);
            exit(1);
        }
    }
}

static PredlogState *predlog_find(const char *id, Error **errp)
{
    Object *obj = object_resolve_path_component(
        machine_get_container("peripheral"), id);

    if (!obj) {
        error_setg(errp, "predlog: no device with id '%s'", id);
        return NULL;
    }
    if (!object_dynamic_cast(obj, TYPE_PREDLOG)) {
        error_setg(errp, "predlog: device '%s' is not a predlog device", id);
        return NULL;
    }
    return PREDLOG(obj);
}

PredlogTap *predlog_tap_new(const char *recorder, PredlogFunctionKind kind,
                            const char *name, Error **errp)
{
    PredlogTap *tap;

    if (!recorder || !*recorder) {
        error_setg(errp, "property 'recorder' is required: the id of a "
                   "-device predlog");
        return NULL;
    }
    if (!name || !*name) {
        error_setg(errp, "a predlog tap needs an id to name its function");
        return NULL;
    }

    tap = g_new0(PredlogTap, 1);
    tap->recorder = g_strdup(recorder);
    tap->name = g_strdup(name);
    tap->kind = kind;
    tap->source = -1;

    if (phase_check(PHASE_MACHINE_READY)) {
        PredlogState *s = predlog_find(recorder, errp);

        if (!s || !predlog_tap_bind(tap, s, errp)) {
            g_free(tap->recorder);
            g_free(tap->name);
            g_free(tap);
            return NULL;
        }
    } else if (!predlog_taps_notifier_added) {
        predlog_taps_machine_done.notify = predlog_taps_check;
        qemu_add_machine_init_done_notifier(&predlog_taps_machine_done);
        predlog_taps_notifier_added = true;
    }
    QTAILQ_INSERT_TAIL(&predlog_taps, tap, next);
    return tap;
}

void predlog_tap_free(PredlogTap *tap)
{
    if (!tap) {
        return;
    }
    QTAILQ_REMOVE(&predlog_taps, tap, next);
    g_free(tap->recorder);
    g_free(tap->name);
    g_free(tap);
}

bool predlog_tap_active(PredlogTap *tap)
{
    return qatomic_read(&tap->dev) != NULL;
}

void predlog_tap_log(PredlogTap *tap, PredlogRecordType type, uint32_t aux,
                     const struct iovec *iov, int iovcnt, size_t orig_len)
{
    PredlogState *s = qatomic_read(&tap->dev);
    PredlogPiece pieces[16];
    PredlogEntry entry = { 0 };
    size_t stored = 0;
    int i, n = 0;

    if (!s) {
        return;
    }
    /* more pieces than that are rare; fold the rest into the cut */
    for (i = 0; i < iovcnt && n < ARRAY_SIZE(pieces); i++) {
        if (iov[i].iov_len) {
            pieces[n++] = (PredlogPiece) { iov[i].iov_base, iov[i].iov_len };
            stored += iov[i].iov_len;
        }
    }
    entry.type = type;
    entry.level = PREDLOG_RECORD_LEVEL_FULL;
    entry.aux = aux;
    entry.orig_len = MIN(MAX(orig_len, stored), UINT32_MAX);
    entry.pieces = pieces;
    entry.n_pieces = n;
    entry.max_stored = MIN(stored, UINT32_MAX);
    predlog_log(s, tap->source, &entry, NULL);
}
