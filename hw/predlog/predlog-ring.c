/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: the guest's descriptor ring
 *
 * The guest submits records through a ring of PREDLOG_DESC_SIZE-byte
 * descriptors in its memory (docs/specs/predlog.rst, predlog-regs.h).  A
 * doorbell write only records the new producer index; the descriptors are
 * consumed by a bottom half, at most PREDLOG_RING_BUDGET at a time, so a
 * guest can neither make one MMIO write arbitrarily long nor starve the
 * main loop.  Every guest value is checked before use, guest memory is
 * only touched through pci_dma_*(), and a bad value costs the guest its
 * descriptor (or its ring), never QEMU anything.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/pci/pci_device.h"
#include "migration/vmstate.h"
#include "system/dma.h"
#include "predlog.h"
#include "predlog-regs.h"
#include "trace.h"

/* Descriptors consumed per bottom-half run before yielding. */
#define PREDLOG_RING_BUDGET 64

static uint64_t predlog_ring_slot_addr(PredlogState *s, uint32_t index)
{
    return s->ring_base +
           (uint64_t)(index & (s->ring_size - 1)) * PREDLOG_DESC_SIZE;
}

/* Stop the ring after an error that makes the ring itself untrustworthy. */
static void predlog_ring_halt(PredlogState *s, uint32_t code, uint64_t addr,
                              const char *what)
{
    predlog_guest_error(s, code, addr, s->ring_head, what);
    s->ring_halted = true;
    trace_predlog_ring_halt(code, s->ring_head);
}

/*
 * Validate one descriptor and log its record.  Returns the status to write
 * back; errors that concern only this descriptor are reported and the
 * ring goes on.
 */
static uint32_t predlog_ring_consume(PredlogState *s, const uint8_t *desc,
                                     uint64_t desc_addr, uint64_t *seq)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint64_t addr = ldq_le_p(desc + PREDLOG_DESC_OFF_ADDR);
    uint32_t len = ldl_le_p(desc + PREDLOG_DESC_OFF_LEN);
    uint16_t func = lduw_le_p(desc + PREDLOG_DESC_OFF_FUNC);
    uint8_t severity = desc[PREDLOG_DESC_OFF_SEVERITY];
    uint8_t flags = desc[PREDLOG_DESC_OFF_FLAGS];
    uint8_t guest_ts[PREDLOG_GUEST_PREFIX_LEN];
    PredlogPiece pieces[2];
    PredlogEntry entry = { 0 };
    PredlogLogResult res;

    if (flags != 0 || severity > PREDLOG_SEVERITY_MAX) {
        predlog_guest_error(s, PREDLOG_ERR_RESERVED, desc_addr, flags,
                            "descriptor with reserved flags or severity > 7");
        return PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_RESERVED);
    }
    if (func >= s->guest_functions) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_FUNCTION, desc_addr, func,
                            "descriptor names an unknown function");
        return PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_FUNCTION);
    }
    if (len == 0 || len > PREDLOG_GUEST_MAX_PAYLOAD) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_LENGTH, desc_addr, len,
                            "descriptor length is 0 or beyond MAX_PAYLOAD");
        return PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_LENGTH);
    }
    /* pci_dma_read() checks the whole range, overflow included */
    if (pci_dma_read(pdev, addr, s->bounce, len) != MEMTX_OK) {
        predlog_guest_error(s, PREDLOG_ERR_DMA, desc_addr, addr,
                            "descriptor payload is not in guest memory");
        return PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_DMA);
    }

    memcpy(guest_ts, desc + PREDLOG_DESC_OFF_TIMESTAMP, sizeof(guest_ts));
    pieces[0] = (PredlogPiece) { guest_ts, sizeof(guest_ts) };
    pieces[1] = (PredlogPiece) { s->bounce, len };
    entry.type = PREDLOG_RECORD_TYPE_GUEST;
    entry.level = PREDLOG_RECORD_LEVEL_FULL;
    entry.aux = severity;
    entry.orig_len = sizeof(guest_ts) + len;
    entry.pieces = pieces;
    entry.n_pieces = 2;
    entry.max_stored = entry.orig_len;

    /* guest function N is source N: added first, in order */
    res = predlog_log(s, func, &entry, seq);
    switch (res) {
    case PREDLOG_LOG_OK:
        return PREDLOG_DESC_STS_OK;
    case PREDLOG_LOG_DROPPED:
        return PREDLOG_DESC_STS_DROPPED;
    default:
        /* the checks above make this unreachable; do not trust that */
        return PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_DESCRIPTOR);
    }
}

static void predlog_ring_bh(void *opaque)
{
    PredlogState *s = opaque;
    PCIDevice *pdev = PCI_DEVICE(s);
    unsigned done = 0;

    while (s->ring_running && !s->ring_halted &&
           s->ring_head != s->ring_tail && done < PREDLOG_RING_BUDGET) {
        uint64_t desc_addr = predlog_ring_slot_addr(s, s->ring_head);
        uint8_t desc[PREDLOG_DESC_SIZE];
        uint8_t wb[8];
        uint64_t seq = 0;
        uint32_t status;

        if (pci_dma_read(pdev, desc_addr, desc, sizeof(desc)) != MEMTX_OK) {
            predlog_ring_halt(s, PREDLOG_ERR_BAD_DESCRIPTOR, desc_addr,
                              "descriptor ring is not readable");
            break;
        }
        status = predlog_ring_consume(s, desc, desc_addr, &seq);
        stl_le_p(wb, status);
        stl_le_p(wb + 4, (uint32_t)seq);
        if (pci_dma_write(pdev, desc_addr + PREDLOG_DESC_OFF_STATUS, wb,
                          sizeof(wb)) != MEMTX_OK) {
            predlog_ring_halt(s, PREDLOG_ERR_BAD_DESCRIPTOR, desc_addr,
                              "descriptor ring is not writable");
            break;
        }
        trace_predlog_ring_desc(s->ring_head, status, seq);
        s->ring_head++;
        done++;
    }

    if (done) {
        predlog_notify(s, PREDLOG_VEC_COMPLETION);
    }
    if (s->ring_running && !s->ring_halted && s->ring_head != s->ring_tail) {
        qemu_bh_schedule(s->ring_bh);
    }
}

bool predlog_ring_start(PredlogState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint64_t bytes = (uint64_t)s->ring_size * PREDLOG_DESC_SIZE;

    if (s->ring_size < PREDLOG_RING_MIN_SIZE ||
        s->ring_size > PREDLOG_RING_MAX_SIZE ||
        !is_power_of_2(s->ring_size)) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_RING, PREDLOG_REG_RING_SIZE,
                            s->ring_size, "ring size is not a power of two "
                            "from 2 to 4096");
        return false;
    }
    if (s->ring_base & (PREDLOG_RING_ALIGN - 1) ||
        s->ring_base + bytes < s->ring_base ||
        !address_space_access_valid(pci_get_address_space(pdev),
                                    s->ring_base, bytes, true,
                                    MEMTXATTRS_UNSPECIFIED)) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_RING,
                            PREDLOG_REG_RING_BASE_LO, s->ring_base,
                            "ring base is misaligned or the ring is not in "
                            "guest memory");
        return false;
    }
    s->ring_head = 0;
    s->ring_tail = 0;
    s->ring_halted = false;
    s->ring_running = true;
    trace_predlog_ring_start(s->ring_base, s->ring_size);
    return true;
}

void predlog_ring_doorbell(PredlogState *s, uint32_t producer)
{
    if (!s->ring_running || s->ring_halted) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_REGISTER,
                            PREDLOG_REG_DOORBELL, producer,
                            "doorbell while the ring is not running");
        return;
    }
    /*
     * Indexes are free-running; the unsigned difference is the backlog.  A
     * producer may not move back behind what it already gave the device.
     */
    if ((uint32_t)(producer - s->ring_head) > s->ring_size ||
        (uint32_t)(producer - s->ring_head) <
        (uint32_t)(s->ring_tail - s->ring_head)) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_INDEX, PREDLOG_REG_DOORBELL,
                            producer, "doorbell index beyond the ring");
        return;
    }
    s->ring_tail = producer;
    trace_predlog_ring_doorbell(producer, s->ring_head);
    qemu_bh_schedule(s->ring_bh);
}

void predlog_ring_write_reg(PredlogState *s, uint64_t addr, uint32_t val)
{
    if (s->ring_running) {
        predlog_guest_error(s, PREDLOG_ERR_RING_BUSY, addr, val,
                            "ring register written while the ring is on");
        return;
    }
    switch (addr) {
    case PREDLOG_REG_RING_BASE_LO:
        s->ring_base = deposit64(s->ring_base, 0, 32, val);
        break;
    case PREDLOG_REG_RING_BASE_HI:
        s->ring_base = deposit64(s->ring_base, 32, 32, val);
        break;
    case PREDLOG_REG_RING_SIZE:
        s->ring_size = val;
        break;
    default:
        g_assert_not_reached();
    }
}

void predlog_ring_reset(PredlogState *s)
{
    qemu_bh_cancel(s->ring_bh);
    s->ring_base = 0;
    s->ring_size = 0;
    s->ring_head = 0;
    s->ring_tail = 0;
    s->ring_running = false;
    s->ring_halted = false;
}

void predlog_ring_realize(PredlogState *s)
{
    s->bounce = g_malloc(PREDLOG_GUEST_MAX_PAYLOAD);
    s->ring_bh = qemu_bh_new_guarded(predlog_ring_bh, s,
                                     &DEVICE(s)->mem_reentrancy_guard);
}

void predlog_ring_unrealize(PredlogState *s)
{
    qemu_bh_delete(s->ring_bh);
    s->ring_bh = NULL;
    g_free(s->bounce);
    s->bounce = NULL;
}

static int predlog_ring_post_load(void *opaque, int version_id)
{
    PredlogState *s = opaque;

    /* the source validated these, but the stream is not trusted either */
    if (s->ring_running &&
        (s->ring_size < PREDLOG_RING_MIN_SIZE ||
         s->ring_size > PREDLOG_RING_MAX_SIZE ||
         !is_power_of_2(s->ring_size) ||
         (uint32_t)(s->ring_tail - s->ring_head) > s->ring_size)) {
        return -EINVAL;
    }
    if (s->ring_running && !s->ring_halted && s->ring_head != s->ring_tail) {
        qemu_bh_schedule(s->ring_bh);
    }
    return 0;
}

const VMStateDescription vmstate_predlog_ring = {
    .name = "predlog/ring",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = predlog_ring_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(ring_base, PredlogState),
        VMSTATE_UINT32(ring_size, PredlogState),
        VMSTATE_UINT32(ring_head, PredlogState),
        VMSTATE_UINT32(ring_tail, PredlogState),
        VMSTATE_BOOL(ring_running, PredlogState),
        VMSTATE_BOOL(ring_halted, PredlogState),
        VMSTATE_END_OF_LIST()
    },
};
