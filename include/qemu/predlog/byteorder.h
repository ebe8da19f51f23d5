/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: little-endian loads and stores for the on-pool formats
 *
 * The core cannot use QEMU's bswap.h (it builds without QEMU), and every
 * on-pool integer is little-endian at any alignment, so the record codec,
 * the recorder, the recovery reader and the tools share these.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_BYTEORDER_H
#define HW_PREDLOG_BYTEORDER_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

static inline void put_le16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

static inline uint16_t get_le16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT16_FROM_LE(v);
}

static inline uint32_t get_le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT32_FROM_LE(v);
}

static inline uint64_t get_le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_LE(v);
}

#endif /* HW_PREDLOG_BYTEORDER_H */
