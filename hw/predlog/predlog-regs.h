/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: guest-visible interface of the predlog PCIe device
 *
 * This header is the single source of truth for the register block that
 * docs/specs/predlog.rst describes.  It is shared by the device model, the
 * qtests and the guest programs, so it must stay plain C99 with no QEMU or
 * kernel headers.
 */

#ifndef HW_PREDLOG_REGS_H
#define HW_PREDLOG_REGS_H

/* PCI identity: the experimental range of docs/specs/pci-ids.rst */
#define PREDLOG_PCI_VENDOR_ID       0x1af4
#define PREDLOG_PCI_DEVICE_ID       0x10f0
#define PREDLOG_PCI_REVISION        0x01
/* PCI_CLASS_OTHERS */
#define PREDLOG_PCI_CLASS           0xff00

/* BAR layout */
#define PREDLOG_BAR_REGS            0   /* 32-bit MMIO register block */
#define PREDLOG_BAR_MSIX            2   /* 64-bit MMIO, MSI-X table + PBA */
#define PREDLOG_REGS_SIZE           0x1000

/*
 * Registers of BAR0.  All registers are 32 bits wide and must be accessed
 * with naturally aligned 32-bit loads and stores; other accesses never
 * reach the device (reads return zero, writes are dropped).
 */
#define PREDLOG_REG_MAGIC           0x00    /* RO: PREDLOG_MAGIC */
#define PREDLOG_REG_VERSION         0x04    /* RO: major << 16 | minor */
#define PREDLOG_REG_CAPS            0x08    /* RO: PREDLOG_CAP_* */
#define PREDLOG_REG_CONTROL         0x0c    /* RW: PREDLOG_CTRL_* */
#define PREDLOG_REG_STATUS          0x10    /* RO: PREDLOG_STS_* */
#define PREDLOG_REG_ERROR           0x14    /* RO, any write clears */
#define PREDLOG_REG_SCRATCH         0x18    /* RW: free for the driver */
#define PREDLOG_REG_IRQ_TEST        0x1c    /* WO: raise MSI-X vector N */
#define PREDLOG_REG_NUM_VECTORS     0x20    /* RO: MSI-X vectors provided */
/* Since interface version 1.1: the descriptor ring (PREDLOG_CAP_RING) */
#define PREDLOG_REG_NUM_FUNCS       0x24    /* RO: guest function ids */
#define PREDLOG_REG_MAX_PAYLOAD     0x28    /* RO: max descriptor len */
#define PREDLOG_REG_RING_BASE_LO    0x30    /* RW while ring disabled */
#define PREDLOG_REG_RING_BASE_HI    0x34    /* RW while ring disabled */
#define PREDLOG_REG_RING_SIZE       0x38    /* RW while ring disabled */
#define PREDLOG_REG_DOORBELL        0x40    /* WO: new producer index */
#define PREDLOG_REG_RING_HEAD       0x44    /* RO: consumer index */
#define PREDLOG_REG_RING_TAIL       0x48    /* RO: last accepted doorbell */
#define PREDLOG_REG_POOL_USED       0x4c    /* RO: pool use in percent */

/* "PRLG" in memory order on a little-endian read */
#define PREDLOG_MAGIC               0x474c5250u
#define PREDLOG_VERSION_MAJOR       1
#define PREDLOG_VERSION_MINOR       1
#define PREDLOG_VERSION \
    ((PREDLOG_VERSION_MAJOR << 16) | PREDLOG_VERSION_MINOR)

/* CAPS */
#define PREDLOG_CAP_NONE            0u
#define PREDLOG_CAP_RING            (1u << 0)   /* descriptor ring, v1.1 */
#define PREDLOG_CAP_PERSISTENT      (1u << 1)   /* pool in a shared file */

/* CONTROL */
#define PREDLOG_CTRL_ENABLE         (1u << 0)
#define PREDLOG_CTRL_RING_ENABLE    (1u << 1)   /* needs ENABLE too */
#define PREDLOG_CTRL_RESET          (1u << 31)  /* self-clearing */
#define PREDLOG_CTRL_VALID_MASK     (PREDLOG_CTRL_ENABLE | \
                                     PREDLOG_CTRL_RING_ENABLE | \
                                     PREDLOG_CTRL_RESET)

/* STATUS */
#define PREDLOG_STS_ENABLED         (1u << 0)
#define PREDLOG_STS_ERROR           (1u << 1)   /* ERROR register != 0 */
#define PREDLOG_STS_RING_RUNNING    (1u << 2)   /* ring accepted, not halted */
#define PREDLOG_STS_RING_HALTED     (1u << 3)   /* ring stopped by an error */

/* ERROR codes: the first error is kept until the guest clears it */
#define PREDLOG_ERR_NONE            0
#define PREDLOG_ERR_BAD_REGISTER    1   /* write to RO/unknown register */
#define PREDLOG_ERR_BAD_VALUE       2   /* reserved bits set in a write */
#define PREDLOG_ERR_BAD_VECTOR      3   /* IRQ_TEST vector out of range */
#define PREDLOG_ERR_IRQ_UNAVAILABLE 4   /* IRQ_TEST while MSI-X is off */
#define PREDLOG_ERR_BAD_RING        5   /* base/size invalid at enable */
#define PREDLOG_ERR_RING_BUSY       6   /* ring register written while on */
#define PREDLOG_ERR_BAD_INDEX       7   /* doorbell beyond the ring */
#define PREDLOG_ERR_BAD_DESCRIPTOR  8   /* descriptor unreadable (halts) */
#define PREDLOG_ERR_BAD_FUNCTION    9   /* unknown function id */
#define PREDLOG_ERR_BAD_LENGTH      10  /* len 0 or > MAX_PAYLOAD */
#define PREDLOG_ERR_DMA             11  /* payload not in guest memory */
#define PREDLOG_ERR_RESERVED        12  /* reserved descriptor bits set */

/*
 * The descriptor ring.  RING_BASE is the guest-physical address of
 * RING_SIZE descriptors (a power of two, 2..4096), aligned to
 * PREDLOG_RING_ALIGN.  The driver owns the producer index, the device the
 * consumer index; both count descriptors modulo 2^32 and descriptor i lives
 * in slot i % RING_SIZE.  The driver fills descriptors, then writes the new
 * producer index to DOORBELL; the device processes descriptors in order,
 * writes each one's status and seq fields back, advances RING_HEAD and
 * raises PREDLOG_VEC_COMPLETION.  See docs/specs/predlog.rst.
 */
#define PREDLOG_RING_ALIGN          64
#define PREDLOG_RING_MIN_SIZE       2
#define PREDLOG_RING_MAX_SIZE       4096
#define PREDLOG_DESC_SIZE           32

/* Descriptor field offsets (all little-endian) */
#define PREDLOG_DESC_OFF_ADDR       0   /* u64 payload guest address */
#define PREDLOG_DESC_OFF_LEN        8   /* u32 payload length */
#define PREDLOG_DESC_OFF_FUNC       12  /* u16 guest function id */
#define PREDLOG_DESC_OFF_SEVERITY   14  /* u8 syslog severity 0..7 */
#define PREDLOG_DESC_OFF_FLAGS      15  /* u8 reserved, must be zero */
#define PREDLOG_DESC_OFF_TIMESTAMP  16  /* u64 guest timestamp, ns */
#define PREDLOG_DESC_OFF_STATUS     24  /* u32 written by the device */
#define PREDLOG_DESC_OFF_SEQ        28  /* u32 written: record seq, low */

#define PREDLOG_SEVERITY_MAX        7

/* Descriptor status, written by the device when it consumes a descriptor */
#define PREDLOG_DESC_STS_PENDING    0   /* what the driver writes */
#define PREDLOG_DESC_STS_OK         1   /* logged; seq is valid */
#define PREDLOG_DESC_STS_DROPPED    2   /* valid but no pool space */
/* 0x100 | PREDLOG_ERR_*: descriptor rejected for that reason */
#define PREDLOG_DESC_STS_ERROR(err) (0x100u | (err))

/* MSI-X vector assignment */
#define PREDLOG_VEC_COMPLETION      0
#define PREDLOG_VEC_PRESSURE        1
#define PREDLOG_MIN_VECTORS         2
#define PREDLOG_MAX_VECTORS         32

#endif /* HW_PREDLOG_REGS_H */
