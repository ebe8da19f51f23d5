/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: monitor commands of a QEMU built without the predlog device
 *
 * The QAPI schema has the commands for every target; where the device is
 * not built there is nothing to report or flush.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "monitor/hmp.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-predlog.h"

PredlogInfoList *qmp_query_predlog(Error **errp)
{
    return NULL;
}

void qmp_predlog_flush(const char *id, Error **errp)
{
    if (id) {
        error_setg(errp, "'%s' is not the id of a predlog device", id);
    }
}

void qmp_predlog_set_forecaster(const char *id, const char *function,
                                PredlogForecastMethod model, Error **errp)
{
    error_setg(errp, "'%s' is not the id of a predlog device", id);
}

void hmp_info_predlog(Monitor *mon, const QDict *qdict)
{
    monitor_printf(mon, "No predlog device\n");
}
