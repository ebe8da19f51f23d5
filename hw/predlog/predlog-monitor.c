/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: monitor commands (QMP query-predlog, HMP info predlog)
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "hw/pci/msix.h"
#include "hw/qdev-core.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-predlog.h"
#include "predlog.h"
#include "predlog-regs.h"

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
    }
}
