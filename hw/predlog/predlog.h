/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: PCIe flight-recorder device state, shared by the files of the
 * device adapter (registers, pool backend, descriptor ring, host taps,
 * monitor commands)
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_PREDLOG_H
#define HW_PREDLOG_PREDLOG_H

#include "hw/pci/pci_device.h"
#include "qemu/thread.h"
#include "qapi/qapi-types-predlog.h"
#include "qom/object.h"
#include "system/hostmem.h"
#include "system/runstate.h"
#include "core/allocator.h"
#include "core/recorder.h"

#define TYPE_PREDLOG "predlog"
OBJECT_DECLARE_SIMPLE_TYPE(PredlogState, PREDLOG)

/* Largest payload one ring descriptor may carry (MAX_PAYLOAD register). */
#define PREDLOG_GUEST_MAX_PAYLOAD   (64 * 1024)
/* Default snaplen: the largest guest record (timestamp + payload), whole */
#define PREDLOG_DEFAULT_SNAPLEN     (PREDLOG_GUEST_MAX_PAYLOAD + \
                                     PREDLOG_GUEST_PREFIX_LEN)

struct PredlogState {
    /*< private >*/
    PCIDevice parent_obj;
    /*< public >*/

    MemoryRegion mmio;

    /* properties */
    uint32_t vectors;
    HostMemoryBackend *memdev;
    uint64_t pool_size;         /* internal pool, when there is no memdev */
    PredlogPoolPolicy policy;
    uint32_t max_functions;
    uint32_t guest_functions;
    uint64_t buffer_size;
    uint32_t snaplen;
    uint32_t pressure_threshold;
    uint32_t refresh_ms;
    uint32_t horizon;           /* seconds */
    PredlogCompressionMethod compression;
    PredlogForecastMethod forecaster;
    PredlogMinLevel min_level;

    /* guest-visible registers (predlog-regs.h) */
    uint32_t control;
    uint32_t error;
    uint32_t scratch;

    /* activity counters, kept across resets: they describe the VM's life */
    uint64_t mmio_reads;
    uint64_t mmio_writes;
    uint64_t interrupts;

    /* descriptor ring (predlog-ring.c) */
    uint64_t ring_base;
    uint32_t ring_size;
    uint32_t ring_head;
    uint32_t ring_tail;
    bool ring_running;
    bool ring_halted;
    QEMUBH *ring_bh;
    uint8_t *bounce;            /* one descriptor's payload */

    /* pool and recorder (predlog-backend.c) */
    MemoryRegion pool_ram;      /* the pool when there is no memdev */
    MemoryRegion *pool_mr;      /* the region the pool lives in */
    bool pool_persistent;       /* in a memory-backend-file */
    void *pool_base;
    uint64_t pool_bytes;
    /*
     * Taps log from any thread (block requests complete in iothreads), so
     * the recorder has a lock of its own instead of relying on the BQL.
     */
    QemuMutex lock;
    PredlogRecorder *recorder;
    PredlogAllocator *allocator;    /* sources, forecasts, levels */
    QEMUTimer *refresh_timer;       /* QEMU_CLOCK_VIRTUAL: while running */
    GArray *level_changes;          /* PredlogLevelChangeEvent, under lock */
    uint64_t losses_seen;       /* predlog_losses() when last armed */
    int64_t pressure_fired_ns;  /* QEMU_CLOCK_VIRTUAL of the last notice */
    bool pressure_armed;
    bool pressure_pending;      /* set under lock, handled by pressure_bh */
    QEMUBH *pressure_bh;
    VMChangeStateEntry *vmsentry;

    /* the ageing thread (predlog-ageing.c), with compression=zstd */
    QemuThread ageing_thread;
    QemuCond ageing_cond;       /* wakes it; with lock */
    QemuCond ageing_idle_cond;  /* it went idle; with lock */
    bool ageing_running;
    bool ageing_stop;           /* under lock */
    bool ageing_paused;         /* under lock: VM stopped */
    bool ageing_idle;           /* under lock */
};

/* predlog-ageing.c */
void predlog_ageing_init(PredlogState *s);
void predlog_ageing_start(PredlogState *s);
void predlog_ageing_wake(void *opaque);
void predlog_ageing_pause_locked(PredlogState *s, bool paused);
void predlog_ageing_stop(PredlogState *s);

/* predlog.c */
void predlog_guest_error(PredlogState *s, uint32_t code, uint64_t addr,
                         uint64_t val, const char *what);
void predlog_notify(PredlogState *s, unsigned vector);
const char *predlog_id(PredlogState *s);

/* predlog-backend.c: the pool and the record path */
bool predlog_backend_realize(PredlogState *s, Error **errp);
void predlog_backend_unrealize(PredlogState *s);
int predlog_add_source(PredlogState *s, PredlogFunctionKind kind,
                       const char *name, Error **errp);
PredlogLogResult predlog_log(PredlogState *s, int source,
                             PredlogEntry *entry, uint64_t *seq);
void predlog_flush(PredlogState *s);
int predlog_backend_post_load(PredlogState *s, Error **errp);
unsigned predlog_pool_used_percent(PredlogState *s);

/* predlog-ring.c: the guest's descriptor ring */
void predlog_ring_realize(PredlogState *s);
void predlog_ring_unrealize(PredlogState *s);
void predlog_ring_reset(PredlogState *s);
bool predlog_ring_start(PredlogState *s);
void predlog_ring_doorbell(PredlogState *s, uint32_t producer);
void predlog_ring_write_reg(PredlogState *s, uint64_t addr, uint32_t val);
extern const VMStateDescription vmstate_predlog_ring;

/* predlog-tap.c: bind the host taps that name this device */
bool predlog_taps_bind(PredlogState *s, Error **errp);
void predlog_taps_unbind(PredlogState *s);

#endif /* HW_PREDLOG_PREDLOG_H */
