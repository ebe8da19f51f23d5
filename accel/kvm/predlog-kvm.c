/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: attribute pages harvested from a vCPU's KVM dirty ring
 *
 * kvm_dirty_ring_reap_one() hands every harvested (slot, offset) to
 * predlog_kvm_dirty_gfn() with the vCPU whose ring held it.  The entry
 * comes from a ring the kernel and the guest's activity fill, and a slot
 * may have been resized since: the offset is checked against the slot
 * (predlog_vcpu_gfn_to_pages(), unit-tested with synthetic entries) before
 * it is counted.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "exec/target_page.h"
#include "hw/core/cpu.h"
#include "system/kvm_int.h"
#include "migration/predlog.h"
#include "migration/predlog/vcpu.h"
#include "predlog-kvm.h"

void predlog_kvm_dirty_gfn(KVMState *s, CPUState *cpu, uint32_t slot,
                           uint64_t offset)
{
    uint32_t as_id = slot >> 16, slot_id = slot & 0xffff;
    KVMSlot *mem;
    uint64_t first, npages;

    if (!qatomic_read(&predlog_dirty_attribution) || as_id >= s->nr_as ||
        slot_id >= s->nr_slots_max) {
        return;
    }
    mem = &s->as[as_id].ml->slots[slot_id];
    if (!predlog_vcpu_gfn_to_pages(mem->ram_start_offset, mem->memory_size,
                                   offset, ctz64(qemu_real_host_page_size()),
                                   qemu_target_page_bits(), &first,
                                   &npages)) {
        return;
    }
    predlog_dirty_attribute(cpu->cpu_index, npages);
}
