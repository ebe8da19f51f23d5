/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: hooks the accelerators call while predictive migration runs
 *
 * The migration capability "predlog" attributes dirtied pages to the
 * vCPU that wrote them where the accelerator knows it: TCG when a write
 * first dirties a clean page (notdirty_write), KVM when it harvests a
 * vCPU's dirty ring.  Outside a predlog migration the hooks cost one
 * relaxed load of a flag.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef MIGRATION_PREDLOG_H
#define MIGRATION_PREDLOG_H

#include "qemu/atomic.h"

/* True while a predlog migration wants vCPU attribution. */
extern bool predlog_dirty_attribution;

/* Count @npages pages dirtied by vCPU @cpu_index (any thread). */
void predlog_dirty_attribute(int cpu_index, uint64_t npages);

static inline void predlog_dirty_note(int cpu_index, uint64_t npages)
{
    if (unlikely(qatomic_read(&predlog_dirty_attribution))) {
        predlog_dirty_attribute(cpu_index, npages);
    }
}

#endif /* MIGRATION_PREDLOG_H */
