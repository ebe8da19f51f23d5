/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: monitor commands (QMP query-predlog, HMP info predlog)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "hw/pci/msix.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-predlog.h"
#include "qemu/units.h"
#include "predlog.h"
#include "predlog-regs.h"

/*
 * The monitor hands the core's levels and forecasting models to QAPI (and
 * back) by value: the two enums must agree, value for value.
 */
QEMU_BUILD_BUG_ON((int)PREDLOG_LEVEL_FULL != PREDLOG_RECORD_LEVEL_FULL);
QEMU_BUILD_BUG_ON((int)PREDLOG_LEVEL_SUMMARY != PREDLOG_RECORD_LEVEL_SUMMARY);
QEMU_BUILD_BUG_ON((int)PREDLOG_LEVEL_HEADER != PREDLOG_RECORD_LEVEL_HEADER);
QEMU_BUILD_BUG_ON((int)PREDLOG_LEVEL__MAX != PREDLOG_RECORD_LEVEL__MAX + 1);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_AUTO != PREDLOG_FORECAST_AUTO);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_NAIVE != PREDLOG_FORECAST_NAIVE);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_EWMA != PREDLOG_FORECAST_EWMA);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_HOLT != PREDLOG_FORECAST_HOLT);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_HOLT_WINTERS !=
                  PREDLOG_FORECAST_HOLT_WINTERS);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_AR != PREDLOG_FORECAST_AR);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD_TREE != PREDLOG_FORECAST_TREE);
QEMU_BUILD_BUG_ON((int)PREDLOG_FORECAST_METHOD__MAX != PREDLOG_FORECAST__MAX);

static PredlogFunctionType predlog_function_type(PredlogFunctionKind kind)
{
    switch (kind) {
    case PREDLOG_FUNCTION_NET:
        return PREDLOG_FUNCTION_TYPE_NET;
    case PREDLOG_FUNCTION_BLOCK:
        return PREDLOG_FUNCTION_TYPE_BLOCK;
    default:
        return PREDLOG_FUNCTION_TYPE_GUEST;
    }
}

static PredlogForecastInfo *predlog_forecast_info(
    const PredlogAllocatorFunctionInfo *ai)
{
    PredlogForecastInfo *fc = g_new0(PredlogForecastInfo, 1);

    fc->source = g_strdup(ai->source);
    fc->traffic_class = g_strdup(ai->class_name ? ai->class_name : "");
    fc->mode = (PredlogForecastMethod)ai->mode;
    fc->model = (PredlogForecastMethod)ai->model;
    fc->records_per_second = ai->forecast;
    fc->confidence = ai->confidence;
    fc->period = ai->period;
    fc->smape = ai->smape;
    fc->need = ai->need > 0 ? (uint64_t)ai->need : 0;
    fc->level_changes = ai->level_changes;
    fc->reason = g_strdup(ai->reason);
    return fc;
}

static void predlog_pool_info_fill(PredlogState *s, PredlogInfo *info)
{
    PredlogPoolInfo *pool = g_new0(PredlogPoolInfo, 1);
    PredlogFunctionInfoList **tail = &info->functions;
    PredlogRecorderStats st;
    PredlogAllocatorStats as;
    unsigned i, n;

    pool->policy = s->policy;
    pool->persistent = s->pool_persistent;
    if (s->memdev) {
        pool->memdev = host_memory_backend_get_name(s->memdev);
    }
    pool->refresh_ms = s->refresh_ms;
    pool->horizon = s->horizon;

    qemu_mutex_lock(&s->lock);
    predlog_recorder_get_stats(s->recorder, &st);
    predlog_allocator_get_stats(s->allocator, &as);
    pool->size = st.size;
    pool->used = st.used;
    pool->free = st.free;
    pool->fragments = st.fragments;
    pool->evictions = st.evictions;
    pool->largest_free = st.largest_free;
    pool->compression = g_strdup(predlog_compression_str(st.compression));
    pool->refreshes = as.refreshes;
    pool->allocator_cpu_ns = as.cpu_ns;
    pool->preallocations = as.preallocations;
    pool->plan_fill = as.plan_fill;
    n = predlog_recorder_n_functions(s->recorder);
    for (i = 0; i < n; i++) {
        PredlogAllocatorFunctionInfo ai;
        PredlogFunctionStats fs;
        PredlogFunctionInfo *fi;

        if (!predlog_recorder_get_function_stats(s->recorder, i, &fs)) {
            continue;
        }
        fi = g_new0(PredlogFunctionInfo, 1);
        fi->id = fs.id;
        fi->name = g_strdup(fs.name);
        fi->type = predlog_function_type(fs.kind);
        fi->records = fs.records;
        fi->bytes = fs.bytes;
        fi->dropped = fs.dropped;
        fi->buffer_size = fs.buffer_size;
        fi->buffers = fs.buffers;
        fi->wraps = fs.wraps;
        fi->level = (PredlogLevel)fs.level;
        fi->records_full = fs.by_level[PREDLOG_RECORD_LEVEL_FULL];
        fi->records_header = fs.by_level[PREDLOG_RECORD_LEVEL_HEADER];
        fi->records_summarised = fs.by_level[PREDLOG_RECORD_LEVEL_SUMMARY];
        fi->hot_size = fs.hot_size;
        fi->hot_target = fs.hot_target;
        fi->cold_size = fs.cold_size;
        fi->cold_budget = fs.cold_budget;
        fi->compression = fs.chunk_in ? (double)fs.chunk_out / fs.chunk_in
                                      : 1.0;
        fi->lost_laps = fs.lost_laps;
        fi->sealed_size = fs.sealed_size;
        fi->spare_size = fs.spare_size;
        fi->spare_misses = fs.spare_misses;
        if (s->policy == PREDLOG_POOL_POLICY_PREDICTIVE &&
            predlog_allocator_function_info(s->allocator, i, &ai)) {
            fi->forecast = predlog_forecast_info(&ai);
        }
        QAPI_LIST_APPEND(tail, fi);
    }
    qemu_mutex_unlock(&s->lock);
    info->pool = pool;
}

static PredlogInfo *predlog_info_new(PredlogState *s)
{
    DeviceState *dev = DEVICE(s);
    PredlogInfo *info = g_new0(PredlogInfo, 1);

    info->path = object_get_canonical_path(OBJECT(s));
    info->id = g_strdup(dev->id ? dev->id : info->path);
    info->enabled = s->control & PREDLOG_CTRL_ENABLE;
    info->error = s->error;
    info->scratch = s->scratch;
    info->vectors = s->vectors;
    info->msix_enabled = msix_enabled(PCI_DEVICE(s));
    info->mmio_reads = s->mmio_reads;
    info->mmio_writes = s->mmio_writes;
    info->interrupts = s->interrupts;
    info->ring = g_new0(PredlogRingInfo, 1);
    info->ring->running = s->ring_running && !s->ring_halted;
    info->ring->halted = s->ring_halted;
    info->ring->size = s->ring_size;
    info->ring->head = s->ring_head;
    info->ring->tail = s->ring_tail;
    predlog_pool_info_fill(s, info);
    return info;
}

static int predlog_collect(Object *obj, void *opaque)
{
    PredlogInfoList ***tail = opaque;
    PredlogState *s = (PredlogState *)object_dynamic_cast(obj, TYPE_PREDLOG);

    if (s && DEVICE(s)->realized) {
        QAPI_LIST_APPEND(*tail, predlog_info_new(s));
    }
    return 0;
}

PredlogInfoList *qmp_query_predlog(Error **errp)
{
    PredlogInfoList *head = NULL, **tail = &head;

    object_child_foreach_recursive(object_get_root(), predlog_collect, &tail);
    return head;
}

static int predlog_flush_one(Object *obj, void *opaque)
{
    PredlogState *s = (PredlogState *)object_dynamic_cast(obj, TYPE_PREDLOG);

    if (s && DEVICE(s)->realized) {
        predlog_flush(s);
    }
    return 0;
}

static PredlogState *predlog_by_id(const char *id, Error **errp)
{
    Object *obj;

    obj = object_resolve_path_component(machine_get_container("peripheral"),
                                        id);
    if (!obj || !object_dynamic_cast(obj, TYPE_PREDLOG)) {
        error_setg(errp, "'%s' is not the id of a predlog device", id);
        return NULL;
    }
    return PREDLOG(obj);
}

void qmp_predlog_flush(const char *id, Error **errp)
{
    PredlogState *s;

    if (!id) {
        object_child_foreach_recursive(object_get_root(), predlog_flush_one,
                                       NULL);
        return;
    }
    s = predlog_by_id(id, errp);
    if (s) {
        predlog_flush(s);
    }
}

void qmp_predlog_set_forecaster(const char *id, const char *function,
                                PredlogForecastMethod model, Error **errp)
{
    g_autoptr(GError) err = NULL;
    PredlogState *s = predlog_by_id(id, errp);
    bool ok;

    if (!s) {
        return;
    }
    qemu_mutex_lock(&s->lock);
    ok = predlog_allocator_set_model(s->allocator, function,
                                     (PredlogForecastModel)model, &err);
    qemu_mutex_unlock(&s->lock);
    if (!ok) {
        error_setg(errp, "predlog '%s': %s", id, err->message);
    }
}

static void hmp_info_predlog_pool(Monitor *mon, PredlogInfo *info)
{
    PredlogPoolInfo *pool = info->pool;
    PredlogFunctionInfoList *f;

    monitor_printf(mon, "  pool %s, %s%s, %" PRIu64 " KiB: used %" PRIu64
                   " KiB, free %" PRIu64 " KiB, %" PRIu32 " fragments, %"
                   PRIu64 " evictions\n",
                   PredlogPoolPolicy_str(pool->policy),
                   pool->persistent ? "persistent in " : "in QEMU memory",
                   pool->memdev ? pool->memdev : "",
                   pool->size / KiB, pool->used / KiB, pool->free / KiB,
                   pool->fragments, pool->evictions);
    monitor_printf(mon, "  cold tier %s; refresh %" PRIu32 " ms, horizon %"
                   PRIu32 " s, plan at %.0f%% of capacity, %" PRIu64
                   " refreshes (%" PRIu64 " us CPU), %" PRIu64
                   " preallocations\n",
                   pool->compression, pool->refresh_ms, pool->horizon,
                   pool->plan_fill * 100, pool->refreshes,
                   pool->allocator_cpu_ns / 1000, pool->preallocations);
    monitor_printf(mon, "  %4s %-24s %-5s %-7s %10s %8s %8s %8s %6s %-12s "
                   "%8s %5s\n", "id", "function", "type", "level", "records",
                   "dropped", "hot KiB", "cold KiB", "ratio", "model",
                   "rec/s", "conf");
    for (f = info->functions; f; f = f->next) {
        PredlogFunctionInfo *fi = f->value;
        PredlogForecastInfo *fc = fi->forecast;

        monitor_printf(mon, "  %4" PRIu32 " %-24s %-5s %-7s %10" PRIu64
                       " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6.2f",
                       fi->id, fi->name, PredlogFunctionType_str(fi->type),
                       PredlogLevel_str(fi->level), fi->records,
                       fi->dropped, fi->hot_size / KiB, fi->cold_size / KiB,
                       fi->compression);
        if (fc) {
            monitor_printf(mon, " %-12s %8.1f %5.2f",
                           PredlogForecastMethod_str(fc->model),
                           fc->records_per_second, fc->confidence);
        }
        monitor_printf(mon, "\n");
    }
}

void hmp_info_predlog(Monitor *mon, const QDict *qdict)
{
    g_autoptr(PredlogInfoList) list = qmp_query_predlog(NULL);
    PredlogInfoList *e;

    if (!list) {
        monitor_printf(mon, "No predlog device\n");
        return;
    }
    for (e = list; e; e = e->next) {
        PredlogInfo *info = e->value;

        monitor_printf(mon, "%s: %s, error %" PRIu32 ", scratch 0x%08" PRIx32
                       "\n", info->id,
                       info->enabled ? "enabled" : "disabled",
                       info->error, info->scratch);
        monitor_printf(mon, "  path %s\n", info->path);
        monitor_printf(mon, "  msi-x %s, %" PRIu32 " vectors, %" PRIu64
                       " interrupts\n",
                       info->msix_enabled ? "on" : "off", info->vectors,
                       info->interrupts);
        monitor_printf(mon, "  mmio %" PRIu64 " reads, %" PRIu64 " writes\n",
                       info->mmio_reads, info->mmio_writes);
        monitor_printf(mon, "  ring %s, size %" PRIu32 ", head %" PRIu32
                       ", tail %" PRIu32 "\n",
                       info->ring->halted ? "halted" :
                       info->ring->running ? "running" : "off",
                       info->ring->size, info->ring->head, info->ring->tail);
        hmp_info_predlog_pool(mon, info);
    }
}
