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

static void predlog_pool_info_fill(PredlogState *s, PredlogInfo *info)
{
    PredlogPoolInfo *pool = g_new0(PredlogPoolInfo, 1);
    PredlogFunctionInfoList **tail = &info->functions;
    PredlogRecorderStats st;
    unsigned i, n;

    pool->policy = s->policy_val;
    pool->persistent = s->pool_persistent;
    if (s->memdev) {
        pool->memdev = host_memory_backend_get_name(s->memdev);
    }

    qemu_mutex_lock(&s->lock);
    predlog_recorder_get_stats(s->recorder, &st);
    pool->size = st.size;
    pool->used = st.used;
    pool->free = st.free;
    pool->fragments = st.fragments;
    pool->evictions = st.evictions;
    n = predlog_recorder_n_functions(s->recorder);
    for (i = 0; i < n; i++) {
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

void qmp_predlog_flush(const char *id, Error **errp)
{
    Object *obj;

    if (!id) {
        object_child_foreach_recursive(object_get_root(), predlog_flush_one,
                                       NULL);
        return;
    }
    obj = object_resolve_path_component(machine_get_container("peripheral"),
                                        id);
    if (!obj || !object_dynamic_cast(obj, TYPE_PREDLOG)) {
        error_setg(errp, "'%s' is not the id of a predlog device", id);
        return;
    }
    predlog_flush(PREDLOG(obj));
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
    monitor_printf(mon, "  %4s %-20s %-5s %10s %12s %8s %10s %7s\n",
                   "id", "function", "type", "records", "bytes", "dropped",
                   "buffer KiB", "wraps");
    for (f = info->functions; f; f = f->next) {
        PredlogFunctionInfo *fi = f->value;

        monitor_printf(mon, "  %4" PRIu32 " %-20s %-5s %10" PRIu64 " %12"
                       PRIu64 " %8" PRIu64 " %10" PRIu64 " %7" PRIu64 "\n",
                       fi->id, fi->name, PredlogFunctionType_str(fi->type),
                       fi->records, fi->bytes, fi->dropped,
                       fi->buffer_size / KiB, fi->wraps);
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
