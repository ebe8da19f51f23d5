/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the device's buffer pool and record path
 *
 * The pool is either the RAM of a memory backend (memdev=, which must be a
 * shared file mapping for the records to outlive QEMU) or a RAM region of
 * the device's own (pool-size=).  Either way it is a RAMBlock registered
 * for migration, so it migrates with guest RAM (the destination needs a
 * pool file of its own); the recorder (recorder.c) formats it and appends
 * records to it.  Everything that logs goes through predlog_log(), which
 * serialises the recorder and notices pool pressure.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/qapi-events-predlog.h"
#include "qapi/util.h"
#include "exec/memory.h"
#include "migration/vmstate.h"
#include "system/hostmem.h"
#include "system/runstate.h"
#include "predlog.h"
#include "predlog-regs.h"
#include "trace.h"

/* Re-arm the pressure notice once use is this many points below it... */
#define PREDLOG_PRESSURE_HYSTERESIS 10
/*
 * ...and this much guest time has passed since it fired: under the fixed
 * policy every lap of a slot is a loss, and a notice per lap would be an
 * interrupt storm for a busy function.
 */
#define PREDLOG_PRESSURE_QUIET_NS   NANOSECONDS_PER_SECOND

/* A level change waiting for the BQL side of the refresh to report it. */
typedef struct PredlogLevelChangeEvent {
    char *function;
    PredlogRecordLevel from;
    PredlogRecordLevel to;
    const char *reason;         /* static */
} PredlogLevelChangeEvent;

/*
 * Records lost so far: dropped, evicted with their buffer, or overwritten.
 * With a cold tier (the compressing policies) a fast tier that wraps has
 * aged its records into the cold tier first, so only a lap that could
 * not be aged is a loss; without one, every lap overwrites the oldest.
 */
static uint64_t predlog_losses(PredlogRecorder *rec)
{
    PredlogRecorderStats st;
    PredlogFunctionStats fs;
    uint64_t losses;
    unsigned i, n = predlog_recorder_n_functions(rec);

    predlog_recorder_get_stats(rec, &st);
    losses = st.evictions;
    for (i = 0; i < n; i++) {
        if (predlog_recorder_get_function_stats(rec, i, &fs)) {
            losses += fs.dropped;
            losses += st.compression == PREDLOG_COMPRESSION_NONE ?
                      fs.wraps : fs.lost_laps;
        }
    }
    return losses;
}

/*
 * Called with s->lock held after records were logged.  The notice itself
 * (QMP event, MSI-X) needs the BQL, which the caller may not hold, so it
 * is left to a bottom half.
 */
static void predlog_check_pressure_locked(PredlogState *s)
{
    unsigned used = predlog_recorder_used_percent(s->recorder);
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    uint64_t losses;

    if (!s->pressure_armed) {
        if (used + PREDLOG_PRESSURE_HYSTERESIS <= s->pressure_threshold &&
            now - s->pressure_fired_ns >= PREDLOG_PRESSURE_QUIET_NS) {
            s->pressure_armed = true;
            s->losses_seen = predlog_losses(s->recorder);
        }
        return;
    }
    losses = predlog_losses(s->recorder);
    if (used >= s->pressure_threshold || losses != s->losses_seen) {
        s->losses_seen = losses;
        s->pressure_armed = false;
        s->pressure_fired_ns = now;
        s->pressure_pending = true;
        qemu_bh_schedule(s->pressure_bh);
    }
}

static void predlog_pressure_bh(void *opaque)
{
    PredlogState *s = opaque;
    PredlogRecorderStats st;
    uint64_t dropped = 0;
    unsigned used, i, n;

    qemu_mutex_lock(&s->lock);
    if (!s->pressure_pending) {
        qemu_mutex_unlock(&s->lock);
        return;
    }
    s->pressure_pending = false;
    used = predlog_recorder_used_percent(s->recorder);
    predlog_recorder_get_stats(s->recorder, &st);
    n = predlog_recorder_n_functions(s->recorder);
    for (i = 0; i < n; i++) {
        PredlogFunctionStats fs;

        if (predlog_recorder_get_function_stats(s->recorder, i, &fs)) {
            dropped += fs.dropped;
        }
    }
    qemu_mutex_unlock(&s->lock);

    trace_predlog_pool_pressure(used, st.evictions, dropped);
    qapi_event_send_predlog_pool_pressure(predlog_id(s), used, st.evictions,
                                          dropped);
    predlog_notify(s, PREDLOG_VEC_PRESSURE);
}

PredlogLogResult predlog_log(PredlogState *s, int source,
                             PredlogEntry *entry, uint64_t *seq)
{
    PredlogLogResult res;
    int func_id;

    entry->timestamp_ns = qemu_clock_get_ns(QEMU_CLOCK_HOST);
    if (entry->max_stored > s->snaplen) {
        entry->max_stored = s->snaplen;
    }

    qemu_mutex_lock(&s->lock);
    res = predlog_allocator_log(s->allocator, source, entry, get_clock(),
                                seq, &func_id);
    predlog_check_pressure_locked(s);
    qemu_mutex_unlock(&s->lock);

    trace_predlog_log(source, func_id, entry->type, entry->orig_len, res);
    return res;
}

int predlog_add_source(PredlogState *s, PredlogFunctionKind kind,
                       const char *name, Error **errp)
{
    g_autoptr(GError) err = NULL;
    int id;

    qemu_mutex_lock(&s->lock);
    id = predlog_allocator_add_source(s->allocator, kind, name, get_clock(),
                                      &err);
    qemu_mutex_unlock(&s->lock);
    if (id < 0) {
        error_setg(errp, "predlog '%s': cannot add I/O source '%s': %s",
                   predlog_id(s), name, err->message);
        error_append_hint(errp, "Raise the device's max-functions "
                          "(now %" PRIu32 "), give it fewer taps, or give "
                          "the tap a shorter id.\n", s->max_functions);
        return -1;
    }
    trace_predlog_add_source(id, predlog_function_kind_str(kind), name);
    return id;
}

/* Called by the allocator's refresh, with s->lock held. */
static void predlog_level_changed_locked(void *opaque,
                                         const PredlogLevelChange *c)
{
    PredlogState *s = opaque;
    PredlogLevelChangeEvent ev = {
        .function = g_strdup(c->function),
        .from = c->from,
        .to = c->to,
        .reason = c->reason,
    };

    g_array_append_val(s->level_changes, ev);
}

/*
 * Every refresh-ms of virtual time: close the interval, forecast, plan
 * levels and buffer sizes.  QEMU_CLOCK_VIRTUAL stops with the VM, so a
 * stopped VM's functions do not look idle to the forecasts.
 */
static void predlog_refresh_timer(void *opaque)
{
    PredlogState *s = opaque;
    g_autoptr(GArray) changes = NULL;

    qemu_mutex_lock(&s->lock);
    predlog_allocator_refresh(s->allocator, get_clock(),
                              predlog_level_changed_locked, s);
    changes = s->level_changes;
    s->level_changes = g_array_new(false, false,
                                   sizeof(PredlogLevelChangeEvent));
    qemu_mutex_unlock(&s->lock);

    /* events and traces need no lock; the event needs the BQL we hold */
    for (guint i = 0; i < changes->len; i++) {
        PredlogLevelChangeEvent *ev =
            &g_array_index(changes, PredlogLevelChangeEvent, i);

        trace_predlog_level_changed(ev->function,
                                    predlog_level_str(ev->from),
                                    predlog_level_str(ev->to), ev->reason);
        qapi_event_send_predlog_level_changed(predlog_id(s), ev->function,
                                              (PredlogLevel)ev->from,
                                              (PredlogLevel)ev->to,
                                              ev->reason);
        g_free(ev->function);
    }
    timer_mod(s->refresh_timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
              s->refresh_ms);
}

unsigned predlog_pool_used_percent(PredlogState *s)
{
    unsigned used;

    qemu_mutex_lock(&s->lock);
    used = predlog_recorder_used_percent(s->recorder);
    qemu_mutex_unlock(&s->lock);
    return used;
}

void predlog_flush(PredlogState *s)
{
    if (s->memdev) {
        /* a no-op unless the backend is a file mapping */
        memory_region_msync(s->pool_mr, 0, s->pool_bytes);
    }
}

/*
 * The recorder writes the pool through a host pointer, which migration's
 * dirty tracking does not see.  Pages sent during precopy may therefore be
 * stale; marking the whole pool dirty when the VM stops (migration stops
 * it before the final RAM pass) makes that pass send the pool as it is.
 */
static void predlog_vm_state_change(void *opaque, bool running,
                                    RunState state)
{
    PredlogState *s = opaque;

    if (!running && s->pool_mr) {
        qemu_mutex_lock(&s->lock);
        /* pending summaries go into the pool before it is sent */
        predlog_recorder_tick(s->recorder, get_clock());
        /* and the ageing thread writes nothing while it is */
        predlog_ageing_pause_locked(s, true);
        memory_region_set_dirty(s->pool_mr, 0, s->pool_bytes);
        qemu_mutex_unlock(&s->lock);
    } else if (running && s->pool_mr) {
        qemu_mutex_lock(&s->lock);
        predlog_ageing_pause_locked(s, false);
        qemu_mutex_unlock(&s->lock);
    }
}

/*
 * Incoming migration: the pool's bytes (guest RAM) were loaded after this
 * device formatted its pool, so the recorder must take over what the
 * source wrote.
 */
int predlog_backend_post_load(PredlogState *s, Error **errp)
{
    g_autoptr(GError) err = NULL;
    bool ok;

    qemu_mutex_lock(&s->lock);
    ok = predlog_recorder_adopt(s->recorder,
                                s->policy == PREDLOG_POOL_POLICY_PREDICTIVE,
                                &err) &&
         predlog_allocator_adopt(s->allocator, &err);
    qemu_mutex_unlock(&s->lock);
    if (!ok) {
        error_setg(errp, "predlog '%s': cannot take over the migrated pool: "
                   "%s", predlog_id(s), err->message);
        return -EINVAL;
    }
    return 0;
}

static bool predlog_backend_map(PredlogState *s, Error **errp)
{
    ERRP_GUARD();

    if (!s->memdev) {
        if (!memory_region_init_ram(&s->pool_ram, OBJECT(s), "predlog.pool",
                                    s->pool_size, errp)) {
            error_prepend(errp, "predlog: cannot allocate the %" PRIu64
                          "-byte pool: ", s->pool_size);
            return false;
        }
        s->pool_mr = &s->pool_ram;
    } else {
        g_autofree char *name = host_memory_backend_get_name(s->memdev);

        if (host_memory_backend_is_mapped(s->memdev)) {
            error_setg(errp, "predlog: memdev '%s' is already in use", name);
            error_append_hint(errp, "Give the pool a memory backend of its "
                              "own, not guest RAM or another device's.\n");
            return false;
        }
        if (!object_property_get_bool(OBJECT(s->memdev), "share",
                                      &error_abort)) {
            error_setg(errp, "predlog: memdev '%s' is not shared, so the "
                       "pool would not survive QEMU", name);
            error_append_hint(errp, "Use -object memory-backend-file,"
                              "id=%s,mem-path=FILE,size=SIZE,share=on "
                              "(or drop memdev= for a pool in QEMU's own "
                              "memory).\n", name);
            return false;
        }
        if (!object_dynamic_cast(OBJECT(s->memdev),
                                 TYPE_MEMORY_BACKEND_FILE)) {
            /*
             * Shared anonymous or memfd memory survives QEMU only as long
             * as something else holds it; allowed, but say so.
             */
            warn_report("predlog: memdev '%s' is not a memory-backend-file; "
                        "the pool survives QEMU only while another process "
                        "maps it", name);
        }
        s->pool_mr = host_memory_backend_get_memory(s->memdev);
        host_memory_backend_set_mapped(s->memdev, true);
        s->pool_persistent = object_dynamic_cast(OBJECT(s->memdev),
                                                 TYPE_MEMORY_BACKEND_FILE);
        /* guest RAM is registered by the machine; a pool is ours to */
        vmstate_register_ram(s->pool_mr, DEVICE(s));
    }
    s->pool_base = memory_region_get_ram_ptr(s->pool_mr);
    s->pool_bytes = memory_region_size(s->pool_mr);
    return true;
}

static void predlog_backend_unmap(PredlogState *s)
{
    if (s->memdev && s->pool_mr) {
        vmstate_unregister_ram(s->pool_mr, DEVICE(s));
        host_memory_backend_set_mapped(s->memdev, false);
    }
    s->pool_mr = NULL;
    s->pool_base = NULL;
}

/*
 * Every property on its own and against the others, before anything is
 * mapped: a bad value fails startup with what to change.  (The enum
 * properties were checked when they were set.)
 */
static bool predlog_backend_check_properties(PredlogState *s, Error **errp)
{
    uint64_t need;

    if (s->refresh_ms < 10 || s->refresh_ms > 60000) {
        error_setg(errp, "predlog: refresh-ms=%" PRIu32 " is out of range",
                   s->refresh_ms);
        error_append_hint(errp, "Use 10 to 60000 milliseconds.\n");
        return false;
    }
    if (s->horizon < 1 || s->horizon > 86400) {
        error_setg(errp, "predlog: horizon=%" PRIu32 " is out of range",
                   s->horizon);
        error_append_hint(errp, "Use 1 to 86400 seconds.\n");
        return false;
    }
    if (s->max_functions < PREDLOG_RECORDER_MIN_FUNCTIONS ||
        s->max_functions > PREDLOG_RECORDER_MAX_FUNCTIONS) {
        error_setg(errp, "predlog: max-functions=%" PRIu32 " is out of "
                   "range", s->max_functions);
        error_append_hint(errp, "Use %d to %d.\n",
                          PREDLOG_RECORDER_MIN_FUNCTIONS,
                          PREDLOG_RECORDER_MAX_FUNCTIONS);
        return false;
    }
    if (s->guest_functions > s->max_functions) {
        error_setg(errp, "predlog: guest-functions=%" PRIu32 " exceeds "
                   "max-functions=%" PRIu32, s->guest_functions,
                   s->max_functions);
        error_append_hint(errp, "Raise max-functions; taps need function "
                          "slots too.\n");
        return false;
    }
    if (s->snaplen < 64 || s->snaplen > PREDLOG_RECORD_MAX_PAYLOAD) {
        error_setg(errp, "predlog: snaplen=%" PRIu32 " is out of range",
                   s->snaplen);
        error_append_hint(errp, "Use 64 to %u bytes.\n",
                          PREDLOG_RECORD_MAX_PAYLOAD);
        return false;
    }
    if (s->pressure_threshold < 1 || s->pressure_threshold > 100) {
        error_setg(errp, "predlog: pressure-threshold=%" PRIu32 " is not a "
                   "percentage from 1 to 100", s->pressure_threshold);
        return false;
    }
    /* every buffer must hold at least a few records of the largest size */
    need = 4 * predlog_record_size(s->snaplen);
    if (s->policy != PREDLOG_POOL_POLICY_FIXED &&
        s->buffer_size < MAX(need, PREDLOG_RECORDER_MIN_BUFFER)) {
        error_setg(errp, "predlog: buffer-size=%" PRIu64 " is too small for "
                   "snaplen=%" PRIu32, s->buffer_size, s->snaplen);
        error_append_hint(errp, "A buffer must hold at least four records "
                          "of snaplen bytes: use buffer-size=%" PRIu64
                          " or more, or a smaller snaplen.\n",
                          MAX(need, PREDLOG_RECORDER_MIN_BUFFER));
        return false;
    }
    return true;
}

bool predlog_backend_realize(PredlogState *s, Error **errp)
{
    ERRP_GUARD();
    g_autoptr(GError) err = NULL;
    PredlogRecorderConfig cfg = { 0 };
    PredlogAllocatorConfig acfg;
    uint64_t need;

    if (!predlog_backend_check_properties(s, errp) ||
        !predlog_backend_map(s, errp)) {
        return false;
    }
    need = 4 * predlog_record_size(s->snaplen);

    /* checked before formatting, so a refused start leaves the file alone */
    if (s->policy == PREDLOG_POOL_POLICY_FIXED &&
        s->pool_bytes / s->max_functions < need) {
        error_setg(errp, "predlog: a fixed buffer of ~%" PRIu64 " bytes "
                   "(pool / max-functions) is too small for snaplen=%"
                   PRIu32, s->pool_bytes / s->max_functions, s->snaplen);
        error_append_hint(errp, "Give a bigger pool, fewer max-functions or "
                          "a smaller snaplen.\n");
        predlog_backend_unmap(s);
        return false;
    }

    cfg.policy = s->policy == PREDLOG_POOL_POLICY_FIXED ?
                 PREDLOG_POLICY_FIXED : PREDLOG_POLICY_DYNAMIC;
    cfg.max_functions = s->max_functions;
    cfg.buffer_size = s->buffer_size;
    cfg.compression = s->compression == PREDLOG_COMPRESSION_METHOD_ZSTD ?
                      PREDLOG_COMPRESSION_ZSTD : PREDLOG_COMPRESSION_NONE;
    cfg.pool_flags = s->policy == PREDLOG_POOL_POLICY_PREDICTIVE ?
                     PREDLOG_POOL_FLAG_PREDICTIVE : 0;
    cfg.created_ns = qemu_clock_get_ns(QEMU_CLOCK_HOST);
    cfg.name = predlog_id(s);
    if (cfg.policy == PREDLOG_POLICY_DYNAMIC &&
        cfg.compression == PREDLOG_COMPRESSION_ZSTD) {
        /* zstd runs on the ageing thread, never in a log call */
        cfg.work_ready = predlog_ageing_wake;
        cfg.work_opaque = s;
    }
    qemu_mutex_init(&s->lock);
    predlog_ageing_init(s);
    s->recorder = predlog_recorder_new(s->pool_base, s->pool_bytes, &cfg,
                                       &err);
    if (!s->recorder) {
        error_setg(errp, "predlog: the %" PRIu64 "-byte pool cannot be "
                   "used: %s", s->pool_bytes, err->message);
        error_append_hint(errp, "Give a bigger pool (memdev size or "
                          "pool-size) or fewer max-functions.\n");
        predlog_ageing_stop(s);
        qemu_mutex_destroy(&s->lock);
        predlog_backend_unmap(s);
        return false;
    }
    if (cfg.work_ready) {
        predlog_ageing_start(s);
    }
    predlog_allocator_config_default(&acfg);
    acfg.predictive = s->policy == PREDLOG_POOL_POLICY_PREDICTIVE;
    acfg.refresh_ms = s->refresh_ms;
    acfg.horizon_s = s->horizon;
    /* PredlogForecastMethod is the core's model, value for value */
    acfg.model = (PredlogForecastModel)s->forecaster;
    acfg.floor = s->min_level == PREDLOG_MIN_LEVEL_HEADER ?
                 PREDLOG_RECORD_LEVEL_HEADER : PREDLOG_RECORD_LEVEL_SUMMARY;
    s->allocator = predlog_allocator_new(s->recorder, &acfg, &err);
    g_assert(s->allocator);     /* the configuration was checked above */
    s->level_changes = g_array_new(false, false,
                                   sizeof(PredlogLevelChangeEvent));
    s->pressure_bh = qemu_bh_new_guarded(predlog_pressure_bh, s,
                                         &DEVICE(s)->mem_reentrancy_guard);
    s->refresh_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL,
                                    predlog_refresh_timer, s);
    timer_mod(s->refresh_timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
              s->refresh_ms);
    s->pressure_armed = true;
    s->losses_seen = 0;
    s->vmsentry = qemu_add_vm_change_state_handler(predlog_vm_state_change,
                                                   s);
    return true;
}

void predlog_backend_unrealize(PredlogState *s)
{
    if (!s->recorder) {
        return;
    }
    qemu_del_vm_change_state_handler(s->vmsentry);
    qemu_bh_delete(s->pressure_bh);
    s->pressure_bh = NULL;
    timer_free(s->refresh_timer);
    s->refresh_timer = NULL;
    predlog_ageing_stop(s);
    predlog_recorder_tick(s->recorder, get_clock());
    predlog_flush(s);
    predlog_allocator_free(s->allocator);
    s->allocator = NULL;
    for (guint i = 0; i < s->level_changes->len; i++) {
        g_free(g_array_index(s->level_changes, PredlogLevelChangeEvent,
                             i).function);
    }
    g_array_unref(s->level_changes);
    predlog_recorder_free(s->recorder);
    s->recorder = NULL;
    qemu_mutex_destroy(&s->lock);
    predlog_backend_unmap(s);
}
