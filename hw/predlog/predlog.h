/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: PCIe flight-recorder device state, shared by the device model
 * and its monitor commands
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_PREDLOG_H
#define HW_PREDLOG_PREDLOG_H

#include "hw/pci/pci_device.h"
#include "qom/object.h"

#define TYPE_PREDLOG "predlog"
OBJECT_DECLARE_SIMPLE_TYPE(PredlogState, PREDLOG)

struct PredlogState {
    /*< private >*/
    PCIDevice parent_obj;
    /*< public >*/

    MemoryRegion mmio;

    /* properties */
    uint32_t vectors;

    /* guest-visible registers (predlog-regs.h) */
    uint32_t control;
    uint32_t error;
    uint32_t scratch;

    /* activity counters, kept across resets: they describe the VM's life */
    uint64_t mmio_reads;
    uint64_t mmio_writes;
    uint64_t interrupts;
};

#endif /* HW_PREDLOG_PREDLOG_H */
