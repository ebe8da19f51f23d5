/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: KVM dirty-ring attribution hook (predlog-kvm.c)
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef ACCEL_KVM_PREDLOG_KVM_H
#define ACCEL_KVM_PREDLOG_KVM_H

void predlog_kvm_dirty_gfn(KVMState *s, CPUState *cpu, uint32_t slot,
                           uint64_t offset);

#endif /* ACCEL_KVM_PREDLOG_KVM_H */
