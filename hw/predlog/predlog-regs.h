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

/* "PRLG" in memory order on a little-endian read */
#define PREDLOG_MAGIC               0x474c5250u
#define PREDLOG_VERSION_MAJOR       1
#define PREDLOG_VERSION_MINOR       0
#define PREDLOG_VERSION \
    ((PREDLOG_VERSION_MAJOR << 16) | PREDLOG_VERSION_MINOR)

/* CAPS: no optional features exist in interface version 1.0 */
#define PREDLOG_CAP_NONE            0u

/* CONTROL */
#define PREDLOG_CTRL_ENABLE         (1u << 0)
#define PREDLOG_CTRL_RESET          (1u << 31)  /* self-clearing */
#define PREDLOG_CTRL_VALID_MASK     (PREDLOG_CTRL_ENABLE | PREDLOG_CTRL_RESET)

/* STATUS */
#define PREDLOG_STS_ENABLED         (1u << 0)
#define PREDLOG_STS_ERROR           (1u << 1)   /* ERROR register != 0 */

/* ERROR codes: the first error is kept until the guest clears it */
#define PREDLOG_ERR_NONE            0
#define PREDLOG_ERR_BAD_REGISTER    1   /* write to RO/unknown register */
#define PREDLOG_ERR_BAD_VALUE       2   /* reserved bits set in a write */
#define PREDLOG_ERR_BAD_VECTOR      3   /* IRQ_TEST vector out of range */
#define PREDLOG_ERR_IRQ_UNAVAILABLE 4   /* IRQ_TEST while MSI-X is off */

/* MSI-X vector assignment */
#define PREDLOG_VEC_COMPLETION      0
#define PREDLOG_VEC_PRESSURE        1
#define PREDLOG_MIN_VECTORS         2
#define PREDLOG_MAX_VECTORS         32

#endif /* HW_PREDLOG_REGS_H */
