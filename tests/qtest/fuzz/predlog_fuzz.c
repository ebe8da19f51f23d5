/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-ring-fuzz: the predlog device's guest interface, driven as a
 * hostile driver would drive it
 *
 * generic-fuzz (make fuzz's "device" target) reaches the descriptor ring
 * only through its DMA patterns, and backs every address outside guest RAM
 * with a byte-wise hash table, so once its inputs start rings it runs some
 * 60 to 100 inputs a second.  This target reads each input as a program of
 * driver operations instead (docs/devel/predlog-fuzzing.rst lists them):
 * register accesses, config-space and MSI-X table writes, rings placed and
 * sized by the input, descriptors whose every field is the input's (their
 * payload addresses in RAM, beyond it, unaligned or wrapping), doorbells,
 * bursts of valid records that fill the pool and keep the device's ageing
 * thread busy, and clock steps for the refresh timer.
 *
 * The machine is not reset between inputs: a machine reset rebuilds the
 * flat views of every BAR and reloads the ROMs, which is most of
 * generic-fuzz's per-input cost.  Each input starts from the state a
 * driver finds after CONTROL.RESET, with the BARs and PCI command register
 * programmed again, while the pool and the recorder keep what earlier
 * inputs logged, as a long-running guest's would: eviction, ageing and the
 * worker then run against a full pool, which a fresh machine never has.
 * So a crash may need the inputs before it; libFuzzer prints them with
 * -print_final_stats, and replaying the whole corpus directory in order
 * reproduces it.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "tests/qtest/libqtest.h"
#include "hw/pci/pci_regs.h"
#include "fuzz.h"
#include "../../../hw/predlog/predlog-regs.h"

/* The device's place: -device predlog,addr=04.0 on q35's root bus. */
#define PL_DEVFN            (4 << 3)
#define PL_BAR0_GPA         0xfe000000ull
#define PL_BAR2_GPA         0xfe010000ull
#define PL_BAR2_SIZE        0x1000ull
/* Guest RAM (-m 32): the ring and payloads the input writes live here. */
#define PL_RAM_SIZE         (32 * 1024 * 1024ull)
#define PL_RING_GPA         0x100000ull
#define PL_PAYLOAD_GPA      0x400000ull
#define PL_PAYLOAD_SIZE     0x200000ull

static uint8_t msix_cap;           /* config offset of the MSI-X capability */

/* The input, consumed front to back; reads past its end return zeroes. */
typedef struct Input {
    const uint8_t *p;
    size_t left;
} Input;

static uint64_t take(Input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        if (in->left) {
            v |= (uint64_t)*in->p++ << (8 * i);
            in->left--;
        }
    }
    return v;
}

static uint32_t cfg_addr(uint8_t reg)
{
    return 0x80000000u | (PL_DEVFN << 8) | (reg & 0xfc);
}

static uint32_t cfg_readl(QTestState *s, uint8_t reg)
{
    qtest_outl(s, 0xcf8, cfg_addr(reg));
    return qtest_inl(s, 0xcfc);
}

static void cfg_write(QTestState *s, uint8_t reg, unsigned size,
                      uint32_t val)
{
    qtest_outl(s, 0xcf8, cfg_addr(reg));
    switch (size) {
    case 1:
        qtest_outb(s, 0xcfc + (reg & 3), val);
        break;
    case 2:
        qtest_outw(s, 0xcfc + (reg & 2), val);
        break;
    default:
        qtest_outl(s, 0xcfc, val);
        break;
    }
}

/* What a driver sets up before touching the device. */
static void program_pci(QTestState *s)
{
    cfg_write(s, PCI_BASE_ADDRESS_0, 4, PL_BAR0_GPA);
    cfg_write(s, PCI_BASE_ADDRESS_2, 4, PL_BAR2_GPA);
    cfg_write(s, PCI_BASE_ADDRESS_3, 4, PL_BAR2_GPA >> 32);
    cfg_write(s, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void reg_write(QTestState *s, unsigned off, uint32_t val)
{
    qtest_writel(s, PL_BAR0_GPA + off, val);
}

/* A payload address: mostly inside the payload area, else anything. */
static uint64_t payload_addr(Input *in)
{
    uint8_t how = take(in, 1);
    uint32_t off = take(in, 4);

    switch (how % 8) {
    case 0:
        return take(in, 8);                     /* anywhere at all */
    case 1:
        return PL_RAM_SIZE - (off % 0x10000);   /* across the end of RAM */
    default:
        return PL_PAYLOAD_GPA + off % PL_PAYLOAD_SIZE;
    }
}

static void write_desc(QTestState *s, uint64_t ring, uint32_t slot,
                       uint64_t addr, uint32_t len, uint16_t func,
                       uint8_t sev, uint8_t flags, uint64_t ts)
{
    uint8_t d[PREDLOG_DESC_SIZE] = { 0 };

    stq_le_p(d + PREDLOG_DESC_OFF_ADDR, addr);
    stl_le_p(d + PREDLOG_DESC_OFF_LEN, len);
    stw_le_p(d + PREDLOG_DESC_OFF_FUNC, func);
    d[PREDLOG_DESC_OFF_SEVERITY] = sev;
    d[PREDLOG_DESC_OFF_FLAGS] = flags;
    stq_le_p(d + PREDLOG_DESC_OFF_TIMESTAMP, ts);
    qtest_memwrite(s, ring + (uint64_t)slot * PREDLOG_DESC_SIZE, d,
                   sizeof(d));
}

enum {
    OP_REG_WRITE,       /* off u16, val u32 */
    OP_REG_READ,        /* off u16 */
    OP_RING_SETUP,      /* log2 size u8, base u8 (0: hostile u64 follows) */
    OP_DESC,            /* slot u16, addr, len u32, func u16, sev, flags, ts */
    OP_DOORBELL,        /* producer index u32 */
    OP_PAYLOAD,         /* offset u32, len u8, bytes */
    OP_CONTROL,         /* CONTROL value from u8 */
    OP_CLOCK,           /* u16 microseconds */
    OP_CFG_WRITE,       /* reg u8, size u8, val u32 */
    OP_MSIX_WRITE,      /* off u16, val u32 */
    OP_BURST,           /* n u8, func u16, len u16: n valid records */
    OP_MSIX_ENABLE,     /* u8: enable/mask bits of the MSI-X control */
    OP__MAX
};

/* Ring state the input set up, so that descriptors land where it said. */
typedef struct Ring {
    uint64_t base;
    uint32_t size;
    uint32_t prod;
} Ring;

static void op_burst(QTestState *s, Input *in, Ring *r)
{
    unsigned n = take(in, 1) % 64 + 1;
    uint16_t func = take(in, 2);
    uint32_t len = take(in, 2) % 2048 + 1;
    uint8_t fill = take(in, 1);
    uint8_t buf[2048];

    memset(buf, fill, len);
    qtest_memwrite(s, PL_PAYLOAD_GPA, buf, len);
    if (!r->size || r->base + (uint64_t)r->size * PREDLOG_DESC_SIZE >
        PL_RAM_SIZE) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        write_desc(s, r->base, (r->prod + i) % r->size, PL_PAYLOAD_GPA, len,
                   func % 4, PREDLOG_SEVERITY_MAX - (i % 8), 0,
                   (uint64_t)r->prod + i);
    }
    r->prod += MIN(n, r->size);
    reg_write(s, PREDLOG_REG_DOORBELL, r->prod);
}

static void predlog_ring_fuzz(QTestState *s, const unsigned char *data,
                              size_t size)
{
    Input in = { data, size };
    Ring r = { PL_RING_GPA, 0, 0 };

    /* The state a driver finds: BARs mapped, device reset. */
    program_pci(s);
    reg_write(s, PREDLOG_REG_CONTROL, PREDLOG_CTRL_RESET);

    while (in.left) {
        switch (take(&in, 1) % OP__MAX) {
        case OP_REG_WRITE: {
            unsigned off = take(&in, 2) % PREDLOG_REGS_SIZE;

            qtest_writel(s, PL_BAR0_GPA + off, take(&in, 4));
            break;
        }
        case OP_REG_READ:
            qtest_readl(s, PL_BAR0_GPA + take(&in, 2) % PREDLOG_REGS_SIZE);
            break;
        case OP_RING_SETUP: {
            unsigned order = take(&in, 1) % 14;
            uint8_t where = take(&in, 1);

            r.size = 1u << order;       /* 1 and 8192 are out of range */
            r.base = where ? PL_RING_GPA + (where % 16) * 64 : take(&in, 8);
            r.prod = 0;
            reg_write(s, PREDLOG_REG_RING_BASE_LO, r.base);
            reg_write(s, PREDLOG_REG_RING_BASE_HI, r.base >> 32);
            reg_write(s, PREDLOG_REG_RING_SIZE, r.size);
            break;
        }
        case OP_DESC: {
            uint32_t slot = take(&in, 2);
            uint64_t addr = payload_addr(&in);
            uint32_t len = take(&in, 4);
            uint16_t func = take(&in, 2);
            uint8_t sev = take(&in, 1), flags = take(&in, 1);
            uint64_t ts = take(&in, 8);
            uint64_t ring = r.base < PL_RAM_SIZE ? r.base : PL_RING_GPA;

            /* small lengths are the valid ones; keep them likely */
            if (!(len & 0x80000000u)) {
                len %= 4096;
            }
            write_desc(s, ring, r.size ? slot % r.size : slot % 64, addr,
                       len, func, sev, flags, ts);
            break;
        }
        case OP_DOORBELL: {
            uint32_t v = take(&in, 4);

            /* mostly a step forward, sometimes any index at all */
            r.prod = (v & 0x80000000u) ? v : r.prod + v % 64;
            reg_write(s, PREDLOG_REG_DOORBELL, r.prod);
            break;
        }
        case OP_PAYLOAD: {
            uint32_t off = take(&in, 4) % PL_PAYLOAD_SIZE;
            size_t len = MIN(take(&in, 1), in.left);

            len = MIN(len, PL_PAYLOAD_SIZE - off);
            qtest_memwrite(s, PL_PAYLOAD_GPA + off, in.p, len);
            in.p += len;
            in.left -= len;
            break;
        }
        case OP_CONTROL: {
            uint8_t v = take(&in, 1);

            reg_write(s, PREDLOG_REG_CONTROL,
                      (v & 0x3) | (v & 0x80 ? PREDLOG_CTRL_RESET : 0) |
                      (v & 0x40 ? 1u << (v % 31) : 0));
            break;
        }
        case OP_CLOCK:
            qtest_clock_step(s, (take(&in, 2) + 1) * 1000ull);
            break;
        case OP_CFG_WRITE: {
            uint8_t reg = take(&in, 1);
            unsigned sz = 1u << (take(&in, 1) % 3);

            cfg_write(s, reg, sz, take(&in, 4));
            break;
        }
        case OP_MSIX_WRITE: {
            unsigned off = take(&in, 2) % PL_BAR2_SIZE;

            qtest_writel(s, PL_BAR2_GPA + (off & ~3u), take(&in, 4));
            break;
        }
        case OP_BURST:
            if (!r.size) {
                /* a ring for the burst, as a driver would set up first */
                r.size = 256;
                r.base = PL_RING_GPA;
                r.prod = 0;
                reg_write(s, PREDLOG_REG_RING_BASE_LO, r.base);
                reg_write(s, PREDLOG_REG_RING_BASE_HI, 0);
                reg_write(s, PREDLOG_REG_RING_SIZE, r.size);
                reg_write(s, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE |
                          PREDLOG_CTRL_RING_ENABLE);
            }
            op_burst(s, &in, &r);
            break;
        case OP_MSIX_ENABLE:
            if (msix_cap) {
                uint8_t v = take(&in, 1);

                cfg_write(s, msix_cap + PCI_MSIX_FLAGS, 2,
                          (v & 1 ? PCI_MSIX_FLAGS_ENABLE : 0) |
                          (v & 2 ? PCI_MSIX_FLAGS_MASKALL : 0));
            }
            break;
        }
    }
    /* let bottom halves and the ring's completion work run */
    flush_events(s);
}

/* Find the MSI-X capability once, as a driver's probe does. */
static void predlog_ring_pre_fuzz(QTestState *s)
{
    uint8_t pos = cfg_readl(s, PCI_CAPABILITY_LIST) & 0xfc;

    g_assert_cmphex(cfg_readl(s, PCI_VENDOR_ID), ==,
                    PREDLOG_PCI_VENDOR_ID | (PREDLOG_PCI_DEVICE_ID << 16));
    for (unsigned n = 0; pos && n < 48; n++) {
        uint32_t cap = cfg_readl(s, pos);

        if ((cap & 0xff) == PCI_CAP_ID_MSIX) {
            msix_cap = pos;
            break;
        }
        pos = (cap >> 8) & 0xfc;
    }
    program_pci(s);
}

/*
 * The machine is the target's; QEMU_FUZZ_ARGS (as for generic-fuzz) adds
 * to it, e.g. the firmware paths of tests/fuzz/device-ring.args.
 */
static GString *predlog_ring_argv(FuzzTarget *t)
{
    GString *cmd = g_string_new(TARGET_NAME " -machine q35,accel=qtest,"
                                "smbus=off,sata=off,pit=off,hpet=off,"
                                "vmport=off,graphics=off -nodefaults -m 32"
                                " -display none -device predlog,id=pl0,"
                                "addr=04.0,pool-size=4M");
    const char *extra = getenv("QEMU_FUZZ_ARGS");

    if (extra) {
        g_string_append_printf(cmd, " %s", extra);
    }
    return cmd;
}

static void register_predlog_fuzz_targets(void)
{
    fuzz_add_target(&(FuzzTarget){
        .name = "predlog-ring-fuzz",
        .description = "Drive the predlog device as a hostile driver: "
                       "registers, rings and descriptors from the input, "
                       "payloads in guest RAM, no machine reset",
        .get_init_cmdline = predlog_ring_argv,
        .pre_fuzz = predlog_ring_pre_fuzz,
        .fuzz = predlog_ring_fuzz,
    });
}

fuzz_target_init(register_predlog_fuzz_targets);
