/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * predlog: ioctls of the guest driver's character device /dev/predlogN
 *
 * Shared by the kernel module (predlog.c) and user space (predlog-log), so
 * it uses only <linux/ioctl.h> and <linux/types.h>, which both sides have.
 * See docs/system/devices/predlog-guest.rst.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef PREDLOG_IOCTL_H
#define PREDLOG_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * 0xf0 echoes the PCI device id 0x10f0.  The numbers only have to be unique
 * per device node, but keeping clear of the common letters makes a stray
 * ioctl on the wrong fd fail with ENOTTY instead of doing something.
 */
#define PREDLOG_IOC_MAGIC           0xf0

/*
 * Function id (0..num_funcs-1) that this open file's records carry.  The
 * argument points to a __u32; default 0.  EINVAL if out of range.
 */
#define PREDLOG_IOC_SET_FUNCTION    _IOW(PREDLOG_IOC_MAGIC, 1, __u32)

/*
 * Syslog severity (0 emerg .. 7 debug) of this open file's records.  The
 * argument points to a __u32; default 6 (info).  EINVAL if above 7.
 */
#define PREDLOG_IOC_SET_SEVERITY    _IOW(PREDLOG_IOC_MAGIC, 2, __u32)

/*
 * Sequence number (low 32 bits of the per-function record sequence) that
 * the device gave the last record this open file wrote successfully.
 * ENODATA if the file has not written a record yet.
 */
#define PREDLOG_IOC_LAST_SEQ        _IOR(PREDLOG_IOC_MAGIC, 3, __u32)

/* Limits of the device behind this file; see struct predlog_info. */
#define PREDLOG_IOC_GET_INFO        _IOR(PREDLOG_IOC_MAGIC, 4, \
                                         struct predlog_info)

struct predlog_info {
	__u32 num_funcs;        /* valid function ids: 0..num_funcs-1 */
	__u32 max_record;       /* largest write() accepted, bytes */
	__u32 max_payload;      /* the device's MAX_PAYLOAD register */
	__u32 ring_size;        /* descriptors in the driver's ring */
	__u32 version;          /* device interface, major << 16 | minor */
	__u32 caps;             /* device CAPS register */
	__u32 reserved[2];      /* zero */
};

#endif /* PREDLOG_IOCTL_H */
