/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: PCIe flight-recorder device
 *
 * This file is the QEMU adapter of the device: PCI identity, properties,
 * the BAR0 register block, MSI-X, reset and migration state.  The pool and
 * record path are in predlog-backend.c, the descriptor ring in
 * predlog-ring.c, the host taps in predlog-tap.c.  The guest-visible
 * interface is specified in docs/specs/predlog.rst and predlog-regs.h;
 * everything that does not need QEMU (record codec, pool, recorder) lives
 * in the plain-C core files next to this one.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/pci/pci_device.h"
#include "hw/pci/pcie.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/core/qdev-prop-internal.h"
#include "migration/vmstate.h"
#include "predlog.h"
#include "predlog-regs.h"
#include "trace.h"

static bool predlog_enabled(PredlogState *s)
{
    return s->control & PREDLOG_CTRL_ENABLE;
}

const char *predlog_id(PredlogState *s)
{
    DeviceState *dev = DEVICE(s);

    return dev->id ? dev->id : object_get_typename(OBJECT(s));
}

static uint32_t predlog_status(PredlogState *s)
{
    uint32_t status = 0;

    if (predlog_enabled(s)) {
        status |= PREDLOG_STS_ENABLED;
    }
    if (s->error != PREDLOG_ERR_NONE) {
        status |= PREDLOG_STS_ERROR;
    }
    if (s->ring_running && !s->ring_halted) {
        status |= PREDLOG_STS_RING_RUNNING;
    }
    if (s->ring_halted) {
        status |= PREDLOG_STS_RING_HALTED;
    }
    return status;
}

/*
 * Record a guest programming error.  The first error is kept until the
 * guest clears ERROR, so a driver can find the cause of a failure even if
 * more bad accesses follow it.
 */
void predlog_guest_error(PredlogState *s, uint32_t code, uint64_t addr,
                         uint64_t val, const char *what)
{
    trace_predlog_guest_error(code, addr, val);
    qemu_log_mask(LOG_GUEST_ERROR, "predlog: %s (at 0x%" PRIx64
                  ", value 0x%" PRIx64 ")\n", what, addr, val);
    if (s->error == PREDLOG_ERR_NONE) {
        s->error = code;
    }
}

/* The register state a reset returns to; counters are left alone. */
static void predlog_reset_registers(PredlogState *s, const char *why)
{
    trace_predlog_reset(why);
    s->control = 0;
    s->error = PREDLOG_ERR_NONE;
    s->scratch = 0;
    predlog_ring_reset(s);
}

/* Interrupts the device raises on its own; dropped while MSI-X is off. */
void predlog_notify(PredlogState *s, unsigned vector)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    if (vector < s->vectors && msix_enabled(pdev)) {
        trace_predlog_irq(vector);
        s->interrupts++;
        msix_notify(pdev, vector);
    }
}

static void predlog_raise_irq(PredlogState *s, uint64_t vector)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    if (vector >= s->vectors) {
        predlog_guest_error(s, PREDLOG_ERR_BAD_VECTOR, PREDLOG_REG_IRQ_TEST,
                            vector, "IRQ_TEST vector out of range");
        return;
    }
    if (!msix_enabled(pdev)) {
        predlog_guest_error(s, PREDLOG_ERR_IRQ_UNAVAILABLE,
                            PREDLOG_REG_IRQ_TEST, vector,
                            "IRQ_TEST while MSI-X is disabled");
        return;
    }
    trace_predlog_irq(vector);
    s->interrupts++;
    msix_notify(pdev, vector);
}

/*
 * The ring runs while both ENABLE and RING_ENABLE are set; turning either
 * off stops it (descriptors not yet consumed stay unconsumed), and turning
 * it on validates the ring registers first.
 */
static void predlog_write_control(PredlogState *s, uint32_t val)
{
    bool want_ring = (val & PREDLOG_CTRL_ENABLE) &&
                     (val & PREDLOG_CTRL_RING_ENABLE);

    if (want_ring && !s->ring_running && !predlog_ring_start(s)) {
        val &= ~PREDLOG_CTRL_RING_ENABLE;
    } else if (!want_ring && s->ring_running) {
        qemu_bh_cancel(s->ring_bh);
        s->ring_running = false;
        s->ring_halted = false;
    }
    s->control = val;
}

static uint64_t predlog_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    PredlogState *s = opaque;
    uint64_t val;

    s->mmio_reads++;
    switch (addr) {
    case PREDLOG_REG_MAGIC:
        val = PREDLOG_MAGIC;
        break;
    case PREDLOG_REG_VERSION:
        val = PREDLOG_VERSION;
        break;
    case PREDLOG_REG_CAPS:
        val = PREDLOG_CAP_RING |
              (s->pool_persistent ? PREDLOG_CAP_PERSISTENT : 0);
        break;
    case PREDLOG_REG_CONTROL:
        val = s->control;
        break;
    case PREDLOG_REG_STATUS:
        val = predlog_status(s);
        break;
    case PREDLOG_REG_ERROR:
        val = s->error;
        break;
    case PREDLOG_REG_SCRATCH:
        val = s->scratch;
        break;
    case PREDLOG_REG_NUM_VECTORS:
        val = s->vectors;
        break;
    case PREDLOG_REG_NUM_FUNCS:
        val = s->guest_functions;
        break;
    case PREDLOG_REG_MAX_PAYLOAD:
        val = PREDLOG_GUEST_MAX_PAYLOAD;
        break;
    case PREDLOG_REG_RING_BASE_LO:
        val = extract64(s->ring_base, 0, 32);
        break;
    case PREDLOG_REG_RING_BASE_HI:
        val = extract64(s->ring_base, 32, 32);
        break;
    case PREDLOG_REG_RING_SIZE:
        val = s->ring_size;
        break;
    case PREDLOG_REG_RING_HEAD:
        val = s->ring_head;
        break;
    case PREDLOG_REG_RING_TAIL:
        val = s->ring_tail;
        break;
    case PREDLOG_REG_POOL_USED:
        val = predlog_pool_used_percent(s);
        break;
    default:
        /*
         * Reading a hole is harmless and drivers probing for newer
         * registers may do it, so it reads as zero without an error code.
         */
        qemu_log_mask(LOG_GUEST_ERROR, "predlog: read of unknown register "
                      "0x%" HWADDR_PRIx "\n", addr);
        val = 0;
        break;
    }
    trace_predlog_mmio_read(addr, val);
    return val;
}

static void predlog_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                               unsigned size)
{
    PredlogState *s = opaque;

    s->mmio_writes++;
    trace_predlog_mmio_write(addr, val);
    switch (addr) {
    case PREDLOG_REG_CONTROL:
        if (val & ~PREDLOG_CTRL_VALID_MASK) {
            predlog_guest_error(s, PREDLOG_ERR_BAD_VALUE, addr, val,
                                "reserved CONTROL bits set");
            return;
        }
        if (val & PREDLOG_CTRL_RESET) {
            predlog_reset_registers(s, "CONTROL.RESET");
            return;
        }
        predlog_write_control(s, val);
        break;
    case PREDLOG_REG_ERROR:
        s->error = PREDLOG_ERR_NONE;
        break;
    case PREDLOG_REG_SCRATCH:
        s->scratch = val;
        break;
    case PREDLOG_REG_IRQ_TEST:
        predlog_raise_irq(s, val);
        break;
    case PREDLOG_REG_RING_BASE_LO:
    case PREDLOG_REG_RING_BASE_HI:
    case PREDLOG_REG_RING_SIZE:
        predlog_ring_write_reg(s, addr, val);
        break;
    case PREDLOG_REG_DOORBELL:
        predlog_ring_doorbell(s, val);
        break;
    default:
        predlog_guest_error(s, PREDLOG_ERR_BAD_REGISTER, addr, val,
                            "write to read-only or unknown register");
        break;
    }
}

static const MemoryRegionOps predlog_mmio_ops = {
    .read = predlog_mmio_read,
    .write = predlog_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* Config space writes may start a function-level reset (PCIe DevCtl.FLR) */
static void predlog_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                 int len)
{
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

static void predlog_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    PredlogState *s = PREDLOG(pdev);
    int i;

    if (s->vectors < PREDLOG_MIN_VECTORS || s->vectors > PREDLOG_MAX_VECTORS) {
        error_setg(errp, "predlog: vectors=%" PRIu32 " is out of range",
                   s->vectors);
        error_append_hint(errp, "The device needs %d to %d MSI-X vectors "
                          "(completion and pool-pressure come first).\n",
                          PREDLOG_MIN_VECTORS, PREDLOG_MAX_VECTORS);
        return;
    }

    pci_config_set_prog_interface(pdev->config, 0);
    pcie_endpoint_cap_init(pdev, 0x80);
    pcie_cap_flr_init(pdev);

    memory_region_init_io(&s->mmio, OBJECT(s), &predlog_mmio_ops, s,
                          "predlog-regs", PREDLOG_REGS_SIZE);
    pci_register_bar(pdev, PREDLOG_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);

    if (msix_init_exclusive_bar(pdev, s->vectors, PREDLOG_BAR_MSIX, errp)) {
        error_prepend(errp, "predlog: cannot set up MSI-X: ");
        return;
    }
    for (i = 0; i < s->vectors; i++) {
        msix_vector_use(pdev, i);
    }

    if (!predlog_backend_realize(s, errp)) {
        goto fail_msix;
    }
    /* guest function N must be source N: add them first */
    for (i = 0; i < s->guest_functions; i++) {
        g_autofree char *name = g_strdup_printf("guest%d", i);

        if (predlog_add_source(s, PREDLOG_FUNCTION_GUEST, name,
                               errp) != i) {
            goto fail_backend;
        }
    }
    if (!predlog_taps_bind(s, errp)) {
        goto fail_backend;
    }
    predlog_ring_realize(s);

    trace_predlog_realize(s->vectors, pci_is_express(pdev));
    return;

fail_backend:
    predlog_taps_unbind(s);
    predlog_backend_unrealize(s);
fail_msix:
    msix_uninit_exclusive_bar(pdev);
}

static void predlog_exit(PCIDevice *pdev)
{
    PredlogState *s = PREDLOG(pdev);

    predlog_taps_unbind(s);
    predlog_ring_unrealize(s);
    predlog_backend_unrealize(s);
    msix_uninit_exclusive_bar(pdev);
}

static void predlog_reset_hold(Object *obj, ResetType type)
{
    predlog_reset_registers(PREDLOG(obj), "device reset");
}

static int predlog_post_load(void *opaque, int version_id)
{
    Error *err = NULL;
    int ret = predlog_backend_post_load(PREDLOG(opaque), &err);

    if (ret < 0) {
        error_report_err(err);
    }
    return ret;
}

static const VMStateDescription vmstate_predlog = {
    .name = TYPE_PREDLOG,
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = predlog_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, PredlogState),
        VMSTATE_MSIX(parent_obj, PredlogState),
        VMSTATE_UINT32(control, PredlogState),
        VMSTATE_UINT32(error, PredlogState),
        VMSTATE_UINT32(scratch, PredlogState),
        VMSTATE_UINT64(mmio_reads, PredlogState),
        VMSTATE_UINT64(mmio_writes, PredlogState),
        VMSTATE_UINT64(interrupts, PredlogState),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_predlog_ring,
        NULL
    },
};

/*
 * Enum-valued properties: QEMU's enum property type (a bad value fails
 * when it is set, -device predlog,help shows the type and its values),
 * with the values in the error's hint, so that a bad -device or -global
 * says what to use instead.
 */
static void predlog_prop_set_enum(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    ERRP_GUARD();
    const Property *prop = opaque;
    const QEnumLookup *values = prop->info->enum_table;

    qdev_propinfo_set_enum(obj, v, name, opaque, errp);
    if (*errp) {
        error_append_hint(errp, "Use %s=", name);
        for (int i = 0; i < values->size; i++) {
            error_append_hint(errp, "%s%s", i ? ", " : "", values->array[i]);
        }
        error_append_hint(errp, ".\n");
    }
}

#define PREDLOG_ENUM_PROP_INFO(_info, _type, _desc) \
    static const PropertyInfo _info = { \
        .type = stringify(_type), \
        .description = _desc, \
        .enum_table = &_type##_lookup, \
        .get = qdev_propinfo_get_enum, \
        .set = predlog_prop_set_enum, \
        .set_default_value = qdev_propinfo_set_default_value_enum, \
    }

PREDLOG_ENUM_PROP_INFO(predlog_prop_policy, PredlogPoolPolicy,
                       "fixed/dynamic/predictive");
PREDLOG_ENUM_PROP_INFO(predlog_prop_compression, PredlogCompressionMethod,
                       "zstd/none");
PREDLOG_ENUM_PROP_INFO(predlog_prop_forecaster, PredlogForecastMethod,
                       "auto/naive/ewma/holt/holt-winters/ar/tree");
PREDLOG_ENUM_PROP_INFO(predlog_prop_min_level, PredlogMinLevel,
                       "summary/header");

static const Property predlog_properties[] = {
    DEFINE_PROP_UINT32("vectors", PredlogState, vectors, PREDLOG_MIN_VECTORS),
    DEFINE_PROP_LINK("memdev", PredlogState, memdev, TYPE_MEMORY_BACKEND,
                     HostMemoryBackend *),
    DEFINE_PROP_SIZE("pool-size", PredlogState, pool_size, 16 * MiB),
    DEFINE_PROP_SIGNED("policy", PredlogState, policy,
                       PREDLOG_POOL_POLICY_PREDICTIVE, predlog_prop_policy,
                       PredlogPoolPolicy),
    DEFINE_PROP_UINT32("max-functions", PredlogState, max_functions, 64),
    DEFINE_PROP_UINT32("guest-functions", PredlogState, guest_functions, 1),
    DEFINE_PROP_SIZE("buffer-size", PredlogState, buffer_size, 512 * KiB),
    DEFINE_PROP_UINT32("snaplen", PredlogState, snaplen,
                       PREDLOG_DEFAULT_SNAPLEN),
    DEFINE_PROP_UINT32("pressure-threshold", PredlogState,
                       pressure_threshold, 90),
    DEFINE_PROP_UINT32("refresh-ms", PredlogState, refresh_ms,
                       PREDLOG_ALLOCATOR_DEFAULT_REFRESH_MS),
    DEFINE_PROP_UINT32("horizon", PredlogState, horizon,
                       PREDLOG_ALLOCATOR_DEFAULT_HORIZON_S),
    DEFINE_PROP_SIGNED("compression", PredlogState, compression,
                       PREDLOG_COMPRESSION_METHOD_ZSTD,
                       predlog_prop_compression, PredlogCompressionMethod),
    DEFINE_PROP_SIGNED("forecaster", PredlogState, forecaster,
                       PREDLOG_FORECAST_METHOD_AUTO, predlog_prop_forecaster,
                       PredlogForecastMethod),
    DEFINE_PROP_SIGNED("min-level", PredlogState, min_level,
                       PREDLOG_MIN_LEVEL_SUMMARY, predlog_prop_min_level,
                       PredlogMinLevel),
};

static void predlog_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);

    pc->realize = predlog_realize;
    pc->exit = predlog_exit;
    pc->config_write = predlog_write_config;
    pc->vendor_id = PREDLOG_PCI_VENDOR_ID;
    pc->device_id = PREDLOG_PCI_DEVICE_ID;
    pc->revision = PREDLOG_PCI_REVISION;
    pc->class_id = PREDLOG_PCI_CLASS;

    dc->desc = "predlog I/O flight recorder";
    dc->vmsd = &vmstate_predlog;
    rc->phases.hold = predlog_reset_hold;
    device_class_set_props(dc, predlog_properties);
    object_class_property_set_description(oc, "vectors",
        "number of MSI-X vectors, 2 to 32");
    object_class_property_set_description(oc, "memdev",
        "shared memory-backend-file holding the pool (survives QEMU)");
    object_class_property_set_description(oc, "pool-size",
        "size of the pool in QEMU's memory when there is no memdev");
    object_class_property_set_description(oc, "policy",
        "pool policy: predictive (functions by traffic class, buffers and "
        "detail by forecast), dynamic (buffers on demand, LRU eviction) "
        "or fixed (equal circular buffers)");
    object_class_property_set_description(oc, "max-functions",
        "I/O function slots (with policy=predictive one per traffic class "
        "of each source), 1 to 1024");
    object_class_property_set_description(oc, "refresh-ms",
        "predictive: milliseconds between forecasts and re-planning, "
        "10 to 60000");
    object_class_property_set_description(oc, "horizon",
        "predictive: seconds of history the pool is planned to keep, "
        "1 to 86400");
    object_class_property_set_description(oc, "compression",
        "dynamic/predictive: codec of the cold tier, zstd or none");
    object_class_property_set_description(oc, "forecaster",
        "predictive: model of every function: auto, naive, ewma, holt, "
        "holt-winters, ar or tree");
    object_class_property_set_description(oc, "min-level",
        "predictive: least detail a burst may lower a function to, "
        "summary or header");
    object_class_property_set_description(oc, "guest-functions",
        "function ids the guest may log to through the ring");
    object_class_property_set_description(oc, "buffer-size",
        "dynamic policy: size of each buffer a function takes");
    object_class_property_set_description(oc, "snaplen",
        "most payload bytes stored per record (the rest is cut)");
    object_class_property_set_description(oc, "pressure-threshold",
        "pool use in percent that raises the pool-pressure notice");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo predlog_info = {
    .name = TYPE_PREDLOG,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PredlogState),
    .class_init = predlog_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void predlog_register_types(void)
{
    type_register_static(&predlog_info);
}

type_init(predlog_register_types)
