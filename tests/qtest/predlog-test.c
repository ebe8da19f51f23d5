/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcase for the predlog PCIe device
 *
 * Drives the device the way a guest driver would, through libqos' PCI
 * helpers, and checks the guest-visible interface of docs/specs/predlog.rst:
 * identity, the register block, MSI-X, reset, hostile register values,
 * the descriptor ring (and hostile rings), the pool's properties, the
 * monitor commands and migration of the device state.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include <glib/gstdio.h>
#include "libqtest.h"
#include "libqos/libqos-pc.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "libqos/libqos-malloc.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "hw/pci/pci_regs.h"
#include "../../hw/predlog/predlog-regs.h"

#define PREDLOG_SLOT 4
#define PREDLOG_DEVFN QPCI_DEVFN(PREDLOG_SLOT, 0)
#define PREDLOG_ARGS "-M q35 -device predlog,id=pl0,addr=04.0"

typedef struct PredlogTest {
    QOSState *qs;
    QPCIDevice *dev;
    QPCIBar regs;
    uint64_t regs_size;
} PredlogTest;

static void predlog_map(PredlogTest *t)
{
    t->dev = qpci_device_find(t->qs->pcibus, PREDLOG_DEVFN);
    g_assert_nonnull(t->dev);
    qpci_device_enable(t->dev);
    t->regs = qpci_iomap(t->dev, PREDLOG_BAR_REGS, &t->regs_size);
}

static void predlog_start(PredlogTest *t, const char *extra_args)
{
    t->qs = qtest_pc_boot(PREDLOG_ARGS " %s", extra_args ? extra_args : "");
    predlog_map(t);
}

static void predlog_stop(PredlogTest *t)
{
    if (t->dev && t->dev->msix_enabled) {
        qpci_msix_disable(t->dev);
    }
    g_free(t->dev);
    qtest_shutdown(t->qs);
}

static uint32_t reg_read(PredlogTest *t, uint64_t reg)
{
    return qpci_io_readl(t->dev, t->regs, reg);
}

static void reg_write(PredlogTest *t, uint64_t reg, uint32_t val)
{
    qpci_io_writel(t->dev, t->regs, reg, val);
}

/*
 * How long a poll waits for the device before the test gives up.  Not a
 * measure of how fast the device should be: the work polled for takes
 * milliseconds, but QEMU shares a loaded 2-core machine with other test
 * runs and can be descheduled for seconds.  The wait ends as soon as the
 * condition holds, so only a broken device ever waits this long; then
 * the caller's assertion on the condition fails and says why.
 */
#define POLL_TIMEOUT_S 30

/*
 * Poll @cond(@opaque) until it returns true or @timeout_s seconds have
 * passed; return its last value.  The caller asserts on what it waited
 * for, with the values, not on the timeout.  The first polls come 1 ms
 * apart, for the usual case of a condition that holds almost at once;
 * the interval then doubles up to 20 ms, so that a long wait does not
 * flood QEMU with requests on a machine that is already busy.
 */
static bool poll_until(bool (*cond)(void *opaque), void *opaque,
                       int timeout_s)
{
    gint64 deadline = g_get_monotonic_time() +
                      timeout_s * G_TIME_SPAN_SECOND;
    gulong interval_us = 1000;

    while (!cond(opaque)) {
        if (g_get_monotonic_time() > deadline) {
            return cond(opaque);
        }
        g_usleep(interval_us);
        interval_us = MIN(interval_us * 2, 20 * 1000);
    }
    return true;
}

/* ERROR must hold @code, STATUS must say so; then clear it for the next step */
static void assert_error_and_clear(PredlogTest *t, uint32_t code)
{
    g_assert_cmpuint(reg_read(t, PREDLOG_REG_ERROR), ==, code);
    g_assert_true(reg_read(t, PREDLOG_REG_STATUS) & PREDLOG_STS_ERROR);
    reg_write(t, PREDLOG_REG_ERROR, 0);
    g_assert_cmpuint(reg_read(t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);
    g_assert_false(reg_read(t, PREDLOG_REG_STATUS) & PREDLOG_STS_ERROR);
}

/* The single entry of query-predlog (the tests create one device) */
static QDict *query_predlog(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-predlog' }");
    QList *list = qdict_get_qlist(resp, "return");
    QDict *info;

    g_assert_nonnull(list);
    g_assert_cmpuint(qlist_size(list), ==, 1);
    info = qobject_to(QDict, qlist_peek(list));
    qobject_ref(info);
    qobject_unref(resp);
    return info;
}

static void test_identity(void)
{
    PredlogTest t;

    predlog_start(&t, NULL);

    g_assert_cmphex(qpci_config_readw(t.dev, PCI_VENDOR_ID), ==,
                    PREDLOG_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_DEVICE_ID), ==,
                    PREDLOG_PCI_DEVICE_ID);
    g_assert_cmphex(qpci_config_readb(t.dev, PCI_REVISION_ID), ==,
                    PREDLOG_PCI_REVISION);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_CLASS_DEVICE), ==,
                    PREDLOG_PCI_CLASS);
    g_assert_cmpuint(t.regs_size, ==, PREDLOG_REGS_SIZE);

    g_assert_cmphex(reg_read(&t, PREDLOG_REG_MAGIC), ==, PREDLOG_MAGIC);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_VERSION), ==, PREDLOG_VERSION);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_CAPS), ==, PREDLOG_CAP_RING);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_NUM_VECTORS), ==,
                     PREDLOG_MIN_VECTORS);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_CONTROL), ==, 0);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_STATUS), ==, 0);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);

    predlog_stop(&t);
}

/* On q35's root bus the device is a PCIe Root Complex Integrated Endpoint */
static void test_pcie_capability(void)
{
    PredlogTest t;
    uint8_t exp;
    uint16_t flags;

    predlog_start(&t, NULL);
    exp = qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmphex(exp, !=, 0);
    flags = qpci_config_readw(t.dev, exp + PCI_EXP_FLAGS);
    g_assert_cmphex((flags & PCI_EXP_FLAGS_TYPE) >> 4, ==,
                    PCI_EXP_TYPE_RC_END);
    predlog_stop(&t);
}

static void test_registers(void)
{
    PredlogTest t;

    predlog_start(&t, NULL);

    reg_write(&t, PREDLOG_REG_SCRATCH, 0xdeadbeef);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_SCRATCH), ==, 0xdeadbeef);

    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_CONTROL), ==,
                    PREDLOG_CTRL_ENABLE);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_STATUS), ==,
                    PREDLOG_STS_ENABLED);

    reg_write(&t, PREDLOG_REG_CONTROL, 0);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_STATUS), ==, 0);

    predlog_stop(&t);
}

/* Point MSI-X table entry @vec at guest RAM so delivery can be observed */
static uint64_t msix_route_to_ram(PredlogTest *t, uint16_t vec, uint32_t data)
{
    uint64_t addr = guest_alloc(&t->qs->alloc, 4);
    uint64_t off = t->dev->msix_table_off + vec * PCI_MSIX_ENTRY_SIZE;

    qtest_writel(t->qs->qts, addr, 0);
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_LOWER_ADDR, addr & 0xffffffff);
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_UPPER_ADDR, addr >> 32);
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_DATA, data);
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    return addr;
}

static void msix_mask(PredlogTest *t, uint16_t vec, bool mask)
{
    uint64_t off = t->dev->msix_table_off + vec * PCI_MSIX_ENTRY_SIZE;

    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   off + PCI_MSIX_ENTRY_VECTOR_CTRL,
                   mask ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

static void test_msix(void)
{
    PredlogTest t;
    QTestState *qts;
    uint64_t msg0, msg1;
    QDict *info;

    predlog_start(&t, NULL);
    qts = t.qs->qts;

    g_assert_cmphex(qpci_find_capability(t.dev, PCI_CAP_ID_MSIX, 0), !=, 0);
    g_assert_cmpuint(qpci_msix_table_size(t.dev), ==, PREDLOG_MIN_VECTORS);

    qpci_msix_enable(t.dev);
    msg0 = msix_route_to_ram(&t, PREDLOG_VEC_COMPLETION, 0x11110000);
    msg1 = msix_route_to_ram(&t, PREDLOG_VEC_PRESSURE, 0x22220001);

    /* An unmasked vector is delivered at once */
    reg_write(&t, PREDLOG_REG_IRQ_TEST, PREDLOG_VEC_COMPLETION);
    g_assert_cmphex(qtest_readl(qts, msg0), ==, 0x11110000);
    g_assert_cmphex(qtest_readl(qts, msg1), ==, 0);

    /* A masked one stays pending until the guest unmasks it */
    msix_mask(&t, PREDLOG_VEC_PRESSURE, true);
    reg_write(&t, PREDLOG_REG_IRQ_TEST, PREDLOG_VEC_PRESSURE);
    g_assert_cmphex(qtest_readl(qts, msg1), ==, 0);
    g_assert_true(qpci_msix_pending(t.dev, PREDLOG_VEC_PRESSURE));
    msix_mask(&t, PREDLOG_VEC_PRESSURE, false);
    g_assert_cmphex(qtest_readl(qts, msg1), ==, 0x22220001);
    g_assert_false(qpci_msix_pending(t.dev, PREDLOG_VEC_PRESSURE));
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);

    info = query_predlog(qts);
    g_assert_true(qdict_get_bool(info, "msix-enabled"));
    g_assert_cmpuint(qdict_get_int(info, "interrupts"), ==, 2);
    qobject_unref(info);

    predlog_stop(&t);
}

static void test_msix_vectors_property(void)
{
    PredlogTest t;

    predlog_start(&t, "-global predlog.vectors=7");
    g_assert_cmpuint(qpci_msix_table_size(t.dev), ==, 7);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_NUM_VECTORS), ==, 7);
    predlog_stop(&t);
}

/* A bad property must stop QEMU at startup with a message naming it */
static void test_bad_vectors_property(void)
{
    static const char *const bad[] = { "0", "1", "33", "4294967295" };
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    int i;

    g_assert_nonnull(qemu);
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        g_autofree char *dev = g_strdup_printf("predlog,vectors=%s", bad[i]);
        const char *argv[] = {
            qemu, "-M", "q35", "-accel", "qtest", "-display", "none",
            "-nodefaults", "-device", dev, NULL
        };
        g_autofree char *out = NULL, *err = NULL;
        g_autoptr(GError) gerr = NULL;
        int status;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
                                   G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                                   &status, &gerr));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 0);
        g_assert_nonnull(strstr(err, "vectors="));
        g_assert_nonnull(strstr(err, "MSI-X vectors"));
    }
}

/* Run QEMU with @args (NULL-terminated); it must fail, printing @expect */
static void assert_startup_fails(const char *const *args, const char *expect)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL, *err = NULL;
    g_autoptr(GError) gerr = NULL;
    int status;

    g_assert_nonnull(qemu);
    g_ptr_array_add(argv, (char *)qemu);
    for (const char *const *a = (const char *const[]) {
            "-M", "q35", "-accel", "qtest", "-display", "none",
            "-nodefaults", NULL }; *a; a++) {
        g_ptr_array_add(argv, (char *)*a);
    }
    for (; *args; args++) {
        g_ptr_array_add(argv, (char *)*args);
    }
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL,
                               G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &gerr));
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), !=, 0);
    if (!strstr(err, expect)) {
        g_printerr("expected \"%s\" in:\n%s", expect, err);
        g_assert_not_reached();
    }
}

/* Bad pool configurations stop QEMU at startup and say what to change */
static void test_bad_pool_properties(void)
{
    g_autofree char *dir = g_dir_make_tmp("predlog-test-XXXXXX", NULL);
    g_autofree char *file = g_strdup_printf("%s/pool", dir);
    g_autofree char *priv = g_strdup_printf(
        "memory-backend-file,id=m0,mem-path=%s,size=4M,share=off", file);
    g_autofree char *tiny = g_strdup_printf(
        "memory-backend-file,id=m0,mem-path=%s,size=64K,share=on", file);
    g_autofree char *shared = g_strdup_printf(
        "memory-backend-file,id=m0,mem-path=%s,size=4M,share=on", file);

    assert_startup_fails((const char *const[]) {
        "-object", priv, "-device", "predlog,memdev=m0", NULL },
        "is not shared");
    assert_startup_fails((const char *const[]) {
        "-object", priv, "-device", "predlog,memdev=m0", NULL },
        "share=on");
    assert_startup_fails((const char *const[]) {
        "-object", tiny, "-device", "predlog,memdev=m0", NULL },
        "pool cannot be used");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,pool-size=1M,max-functions=200", NULL },
        "fewer max-functions");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,memdev=nosuch", NULL },
        "nosuch");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,policy=lru", NULL },
        "Use policy=fixed, dynamic, predictive.");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,max-functions=0", NULL },
        "max-functions=0 is out of range");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,max-functions=4,guest-functions=5", NULL },
        "guest-functions=5 exceeds max-functions=4");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,snaplen=10", NULL },
        "snaplen=10 is out of range");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,buffer-size=8K", NULL },
        "buffer-size=8192 is too small");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,policy=fixed,pool-size=2M,max-functions=64",
        NULL },
        "too small for snaplen");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,pressure-threshold=0", NULL },
        "pressure-threshold=0 is not a percentage");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,compression=lz4", NULL },
        "Use compression=zstd, none.");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,forecaster=oracle", NULL },
        "Use forecaster=auto, naive, ewma, holt, holt-winters, ar, tree.");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,min-level=full", NULL },
        "Use min-level=summary, header.");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,refresh-ms=5", NULL },
        "refresh-ms=5 is out of range");
    assert_startup_fails((const char *const[]) {
        "-device", "predlog,horizon=0", NULL },
        "horizon=0 is out of range");
    /* two devices cannot share one pool */
    assert_startup_fails((const char *const[]) {
        "-object", shared, "-device", "predlog,memdev=m0,id=a",
        "-device", "predlog,memdev=m0,id=b", NULL },
        "memdev 'm0' is already in use");

    g_unlink(file);
    g_rmdir(dir);
}

/* Guest mistakes set a documented error code and never take QEMU down */
static void test_hostile_registers(void)
{
    PredlogTest t;
    uint32_t reads;
    QDict *info;
    int i;

    predlog_start(&t, NULL);

    /* Writes to read-only and unknown registers */
    reg_write(&t, PREDLOG_REG_MAGIC, 0);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_MAGIC), ==, PREDLOG_MAGIC);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_REGISTER);
    reg_write(&t, PREDLOG_REG_STATUS, 0xffffffff);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_REGISTER);
    reg_write(&t, PREDLOG_REGS_SIZE - 4, 0x12345678);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_REGISTER);

    /* Unknown registers read as zero without an error */
    g_assert_cmphex(reg_read(&t, PREDLOG_REGS_SIZE - 4), ==, 0);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);

    /* Reserved CONTROL bits: rejected, CONTROL unchanged */
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE | (1u << 5));
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_CONTROL), ==,
                    PREDLOG_CTRL_ENABLE);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_VALUE);

    /* IRQ_TEST: MSI-X off, then vectors out of range */
    reg_write(&t, PREDLOG_REG_IRQ_TEST, 0);
    assert_error_and_clear(&t, PREDLOG_ERR_IRQ_UNAVAILABLE);
    qpci_msix_enable(t.dev);
    reg_write(&t, PREDLOG_REG_IRQ_TEST, PREDLOG_MIN_VECTORS);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_VECTOR);
    reg_write(&t, PREDLOG_REG_IRQ_TEST, 0xffffffff);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_VECTOR);

    /* The first error is the one kept */
    reg_write(&t, PREDLOG_REG_IRQ_TEST, 1000);
    reg_write(&t, PREDLOG_REG_MAGIC, 1);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_VECTOR);

    /* Narrow and unaligned accesses never reach the device */
    info = query_predlog(t.qs->qts);
    reads = qdict_get_int(info, "mmio-reads");
    qobject_unref(info);
    g_assert_cmphex(qpci_io_readb(t.dev, t.regs, PREDLOG_REG_MAGIC), ==, 0);
    g_assert_cmphex(qpci_io_readw(t.dev, t.regs, PREDLOG_REG_MAGIC), ==, 0);
    qpci_io_writeb(t.dev, t.regs, PREDLOG_REG_SCRATCH, 0xff);
    info = query_predlog(t.qs->qts);
    g_assert_cmpuint(qdict_get_int(info, "mmio-reads"), ==, reads);
    qobject_unref(info);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_SCRATCH), ==, 0);

    /* A storm of resets interleaved with register traffic */
    for (i = 0; i < 200; i++) {
        reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
        reg_write(&t, PREDLOG_REG_SCRATCH, i);
        reg_write(&t, PREDLOG_REG_IRQ_TEST, i % 4);
        reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_RESET);
    }
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_CONTROL), ==, 0);
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_MAGIC), ==, PREDLOG_MAGIC);

    predlog_stop(&t);
}

static void dirty_registers(PredlogTest *t)
{
    reg_write(t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    reg_write(t, PREDLOG_REG_SCRATCH, 0x5a5a5a5a);
    reg_write(t, PREDLOG_REG_MAGIC, 0);
    g_assert_cmphex(reg_read(t, PREDLOG_REG_STATUS), ==,
                    PREDLOG_STS_ENABLED | PREDLOG_STS_ERROR);
}

static void assert_registers_reset(PredlogTest *t)
{
    g_assert_cmphex(reg_read(t, PREDLOG_REG_CONTROL), ==, 0);
    g_assert_cmphex(reg_read(t, PREDLOG_REG_STATUS), ==, 0);
    g_assert_cmphex(reg_read(t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);
    g_assert_cmphex(reg_read(t, PREDLOG_REG_SCRATCH), ==, 0);
    g_assert_cmphex(reg_read(t, PREDLOG_REG_MAGIC), ==, PREDLOG_MAGIC);
}

static void test_reset(void)
{
    PredlogTest t;
    uint8_t exp;
    uint16_t devctl;

    predlog_start(&t, NULL);

    /* CONTROL.RESET: the driver's own reset, self-clearing */
    dirty_registers(&t);
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_RESET);
    assert_registers_reset(&t);

    /* Function-level reset through the PCIe capability */
    dirty_registers(&t);
    exp = qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0);
    g_assert_true(qpci_config_readl(t.dev, exp + PCI_EXP_DEVCAP) &
                  PCI_EXP_DEVCAP_FLR);
    devctl = qpci_config_readw(t.dev, exp + PCI_EXP_DEVCTL);
    qpci_config_writew(t.dev, exp + PCI_EXP_DEVCTL,
                       devctl | PCI_EXP_DEVCTL_BCR_FLR);
    qpci_iounmap(t.dev, t.regs);
    g_free(t.dev);
    predlog_map(&t);
    assert_registers_reset(&t);

    /* System reset */
    dirty_registers(&t);
    qtest_system_reset(t.qs->qts);
    qpci_iounmap(t.dev, t.regs);
    g_free(t.dev);
    predlog_map(&t);
    assert_registers_reset(&t);

    predlog_stop(&t);
}


/* A guest-side descriptor ring, as a driver would set it up */
typedef struct PredlogRing {
    uint64_t base;
    uint32_t size;
    uint32_t producer;
    uint64_t payload;           /* one payload area per slot */
} PredlogRing;

#define RING_PAYLOAD_SLOT 256

static void ring_setup(PredlogTest *t, PredlogRing *r, uint32_t size)
{
    QGuestAllocator *alloc = &t->qs->alloc;

    r->size = size;
    r->producer = 0;
    /* over-allocate so the ring can be aligned to PREDLOG_RING_ALIGN */
    r->base = QEMU_ALIGN_UP(guest_alloc(alloc, size * PREDLOG_DESC_SIZE +
                                        PREDLOG_RING_ALIGN),
                            PREDLOG_RING_ALIGN);
    r->payload = guest_alloc(alloc, size * RING_PAYLOAD_SLOT);
    reg_write(t, PREDLOG_REG_RING_BASE_LO, (uint32_t)r->base);
    reg_write(t, PREDLOG_REG_RING_BASE_HI, r->base >> 32);
    reg_write(t, PREDLOG_REG_RING_SIZE, size);
    reg_write(t, PREDLOG_REG_CONTROL,
              PREDLOG_CTRL_ENABLE | PREDLOG_CTRL_RING_ENABLE);
    g_assert_cmpuint(reg_read(t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);
    g_assert_true(reg_read(t, PREDLOG_REG_STATUS) & PREDLOG_STS_RING_RUNNING);
}

static uint64_t ring_desc_addr(PredlogRing *r, uint32_t index)
{
    return r->base + (uint64_t)(index % r->size) * PREDLOG_DESC_SIZE;
}

/* Queue one descriptor; @addr 0 means "the slot's own payload area" */
static uint32_t ring_put(PredlogTest *t, PredlogRing *r, uint16_t func,
                         uint8_t severity, uint8_t flags, uint64_t addr,
                         const void *data, uint32_t len)
{
    QTestState *qts = t->qs->qts;
    uint32_t index = r->producer++;
    uint64_t desc = ring_desc_addr(r, index);

    if (!addr) {
        addr = r->payload + (index % r->size) * RING_PAYLOAD_SLOT;
        g_assert_cmpuint(len, <=, RING_PAYLOAD_SLOT);
        qtest_memwrite(qts, addr, data, len);
    }
    qtest_writeq(qts, desc + PREDLOG_DESC_OFF_ADDR, addr);
    qtest_writel(qts, desc + PREDLOG_DESC_OFF_LEN, len);
    qtest_writew(qts, desc + PREDLOG_DESC_OFF_FUNC, func);
    qtest_writeb(qts, desc + PREDLOG_DESC_OFF_SEVERITY, severity);
    qtest_writeb(qts, desc + PREDLOG_DESC_OFF_FLAGS, flags);
    qtest_writeq(qts, desc + PREDLOG_DESC_OFF_TIMESTAMP, 1000 + index);
    qtest_writel(qts, desc + PREDLOG_DESC_OFF_STATUS,
                 PREDLOG_DESC_STS_PENDING);
    qtest_writel(qts, desc + PREDLOG_DESC_OFF_SEQ, 0xdeadbeef);
    return index;
}

typedef struct RingWait {
    PredlogTest *t;
    PredlogRing *r;
} RingWait;

static bool ring_consumed(void *opaque)
{
    RingWait *w = opaque;

    return reg_read(w->t, PREDLOG_REG_RING_HEAD) == w->r->producer;
}

/* Ring the doorbell and wait until the device has consumed everything */
static void ring_kick(PredlogTest *t, PredlogRing *r)
{
    RingWait w = { t, r };

    reg_write(t, PREDLOG_REG_DOORBELL, r->producer);
    poll_until(ring_consumed, &w, POLL_TIMEOUT_S);
    g_assert_cmpuint(reg_read(t, PREDLOG_REG_RING_HEAD), ==, r->producer);
}

static uint32_t ring_status(PredlogTest *t, PredlogRing *r, uint32_t index)
{
    return qtest_readl(t->qs->qts,
                       ring_desc_addr(r, index) + PREDLOG_DESC_OFF_STATUS);
}

static uint32_t ring_seq(PredlogTest *t, PredlogRing *r, uint32_t index)
{
    return qtest_readl(t->qs->qts,
                       ring_desc_addr(r, index) + PREDLOG_DESC_OFF_SEQ);
}

/* The entry of query-predlog's "functions" named @name */
static QDict *query_function(QTestState *qts, const char *name)
{
    QDict *info = query_predlog(qts);
    QList *funcs = qdict_get_qlist(info, "functions");
    QListEntry *e;
    QDict *found = NULL;

    g_assert_nonnull(funcs);
    QLIST_FOREACH_ENTRY(funcs, e) {
        QDict *f = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(f, "name"), name)) {
            found = f;
            qobject_ref(found);
        }
    }
    qobject_unref(info);
    g_assert_nonnull(found);
    return found;
}

static void test_ring(void)
{
    PredlogTest t;
    PredlogRing r;
    QTestState *qts;
    uint64_t msg0;
    uint32_t i, idx;
    QDict *f, *info;
    g_autofree char *hmp = NULL;

    /* one source is one function without the analyzer's split */
    predlog_start(&t, "-global predlog.guest-functions=2 "
                  "-global predlog.policy=dynamic");
    qts = t.qs->qts;

    g_assert_true(reg_read(&t, PREDLOG_REG_CAPS) & PREDLOG_CAP_RING);
    g_assert_false(reg_read(&t, PREDLOG_REG_CAPS) & PREDLOG_CAP_PERSISTENT);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_NUM_FUNCS), ==, 2);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_MAX_PAYLOAD), >=, 4096);

    qpci_msix_enable(t.dev);
    msg0 = msix_route_to_ram(&t, PREDLOG_VEC_COMPLETION, 0x5a5a0000);
    ring_setup(&t, &r, 8);

    /* 20 records through an 8-slot ring: the indexes wrap */
    for (i = 0; i < 20; i++) {
        g_autofree char *msg = g_strdup_printf("record %u", i);

        idx = ring_put(&t, &r, i % 2, 6, 0, 0, msg, strlen(msg));
        if (i % 4 == 3) {
            ring_kick(&t, &r);
            g_assert_cmphex(ring_status(&t, &r, idx), ==,
                            PREDLOG_DESC_STS_OK);
            /* each function numbers its own records from 1 */
            g_assert_cmpuint(ring_seq(&t, &r, idx), ==, i / 2 + 1);
        }
    }
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_RING_TAIL), ==, 20);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);
    g_assert_cmphex(qtest_readl(qts, msg0), ==, 0x5a5a0000);

    f = query_function(qts, "guest0");
    g_assert_cmpstr(qdict_get_str(f, "type"), ==, "guest");
    g_assert_cmpint(qdict_get_int(f, "records"), ==, 10);
    g_assert_cmpint(qdict_get_int(f, "dropped"), ==, 0);
    /* its active buffer, and the spare once the ageing thread made it */
    g_assert_cmpint(qdict_get_int(f, "buffers"), ==,
                    1 + (qdict_get_int(f, "spare-size") > 0));
    qobject_unref(f);
    f = query_function(qts, "guest1");
    g_assert_cmpint(qdict_get_int(f, "records"), ==, 10);
    qobject_unref(f);

    info = query_predlog(qts);
    g_assert_true(qdict_get_bool(qdict_get_qdict(info, "ring"), "running"));
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "ring"), "head"),
                    ==, 20);
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(info, "pool"), "policy"),
                    ==, "dynamic");
    qobject_unref(info);

    hmp = qtest_hmp(qts, "info predlog");
    g_assert_nonnull(strstr(hmp, "ring running, size 8, head 20"));
    g_assert_nonnull(strstr(hmp, "guest1"));

    /* turning the ring off and on again starts from index 0 */
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    g_assert_false(reg_read(&t, PREDLOG_REG_STATUS) &
                   PREDLOG_STS_RING_RUNNING);
    reg_write(&t, PREDLOG_REG_CONTROL,
              PREDLOG_CTRL_ENABLE | PREDLOG_CTRL_RING_ENABLE);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_RING_HEAD), ==, 0);
    r.producer = 0;
    idx = ring_put(&t, &r, 0, 3, 0, 0, "again", 5);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==, PREDLOG_DESC_STS_OK);
    g_assert_cmpuint(ring_seq(&t, &r, idx), ==, 11);

    predlog_stop(&t);
}

static bool ring_halted(void *opaque)
{
    return reg_read(opaque, PREDLOG_REG_STATUS) & PREDLOG_STS_RING_HALTED;
}

/* Every bad value costs the guest its descriptor or ring, nothing more */
static void test_ring_hostile(void)
{
    static const struct {
        uint64_t base;
        uint32_t size;
    } bad_rings[] = {
        { 0xfffffffffffff000ull, 8 },   /* far outside RAM */
        { 0x00000010000000c0ull, 8 },   /* above RAM */
        { 0x100040, 3 },                /* not a power of two */
        { 0x100040, 0 },
        { 0x100040, 1 },
        { 0x100040, 8192 },             /* beyond the maximum */
        { 0x100020, 8 },                /* misaligned */
        { 0xffffffffffffffc0ull, 4096 }, /* wraps the address space */
    };
    PredlogTest t;
    PredlogRing r;
    uint32_t idx, i;
    char big[RING_PAYLOAD_SLOT] = "x";

    predlog_start(&t, NULL);

    for (i = 0; i < ARRAY_SIZE(bad_rings); i++) {
        reg_write(&t, PREDLOG_REG_RING_BASE_LO, (uint32_t)bad_rings[i].base);
        reg_write(&t, PREDLOG_REG_RING_BASE_HI, bad_rings[i].base >> 32);
        reg_write(&t, PREDLOG_REG_RING_SIZE, bad_rings[i].size);
        reg_write(&t, PREDLOG_REG_CONTROL,
                  PREDLOG_CTRL_ENABLE | PREDLOG_CTRL_RING_ENABLE);
        g_assert_false(reg_read(&t, PREDLOG_REG_STATUS) &
                       PREDLOG_STS_RING_RUNNING);
        g_assert_false(reg_read(&t, PREDLOG_REG_CONTROL) &
                       PREDLOG_CTRL_RING_ENABLE);
        assert_error_and_clear(&t, PREDLOG_ERR_BAD_RING);
        /* a doorbell on a ring that is not running is refused */
        reg_write(&t, PREDLOG_REG_DOORBELL, 1);
        assert_error_and_clear(&t, PREDLOG_ERR_BAD_REGISTER);
    }

    ring_setup(&t, &r, 4);

    /* the ring registers are locked while the ring runs */
    reg_write(&t, PREDLOG_REG_RING_SIZE, 64);
    assert_error_and_clear(&t, PREDLOG_ERR_RING_BUSY);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_RING_SIZE), ==, 4);
    reg_write(&t, PREDLOG_REG_RING_BASE_LO, 0);
    assert_error_and_clear(&t, PREDLOG_ERR_RING_BUSY);

    /* a producer index more than a ring ahead is ignored */
    reg_write(&t, PREDLOG_REG_DOORBELL, 5);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_INDEX);
    reg_write(&t, PREDLOG_REG_DOORBELL, 0xffffffff);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_INDEX);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_RING_TAIL), ==, 0);

    /* bad descriptors fail one by one, the ring goes on */
    idx = ring_put(&t, &r, 7, 6, 0, 0, "f", 1);       /* unknown function */
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_FUNCTION));
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_FUNCTION);

    idx = ring_put(&t, &r, 0xffff, 6, 0, 0, "f", 1);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_FUNCTION));
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_FUNCTION);

    idx = ring_put(&t, &r, 0, 6, 0, 0, big, 0);       /* empty */
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_LENGTH));
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_LENGTH);

    idx = ring_put(&t, &r, 0, 6, 0, r.payload, NULL, 0xffffffff);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_BAD_LENGTH));
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_LENGTH);

    idx = ring_put(&t, &r, 0, 6, 0, 0xfffffffffffff000ull, NULL, 64);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_DMA));
    assert_error_and_clear(&t, PREDLOG_ERR_DMA);

    /* payload running off the end of the address space */
    idx = ring_put(&t, &r, 0, 6, 0, 0xffffffffffffffc0ull, NULL, 4096);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_DMA));
    assert_error_and_clear(&t, PREDLOG_ERR_DMA);

    idx = ring_put(&t, &r, 0, 8, 0, 0, "s", 1);       /* severity > 7 */
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_RESERVED));
    assert_error_and_clear(&t, PREDLOG_ERR_RESERVED);

    idx = ring_put(&t, &r, 0, 6, 0x80, 0, "r", 1);    /* reserved flags */
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==,
                    PREDLOG_DESC_STS_ERROR(PREDLOG_ERR_RESERVED));
    assert_error_and_clear(&t, PREDLOG_ERR_RESERVED);

    /* after all that, a good record still goes through */
    idx = ring_put(&t, &r, 0, 6, 0, 0, "good", 4);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==, PREDLOG_DESC_STS_OK);
    g_assert_cmpuint(ring_seq(&t, &r, idx), ==, 1);
    g_assert_cmpuint(reg_read(&t, PREDLOG_REG_ERROR), ==, PREDLOG_ERR_NONE);

    /* with bus mastering off the ring cannot be read: it halts */
    qpci_config_writew(t.dev, PCI_COMMAND,
                       qpci_config_readw(t.dev, PCI_COMMAND) &
                       ~PCI_COMMAND_MASTER);
    ring_put(&t, &r, 0, 6, 0, 0, "lost", 4);
    reg_write(&t, PREDLOG_REG_DOORBELL, r.producer);
    poll_until(ring_halted, &t, POLL_TIMEOUT_S);
    g_assert_true(reg_read(&t, PREDLOG_REG_STATUS) & PREDLOG_STS_RING_HALTED);
    g_assert_false(reg_read(&t, PREDLOG_REG_STATUS) &
                   PREDLOG_STS_RING_RUNNING);
    assert_error_and_clear(&t, PREDLOG_ERR_BAD_DESCRIPTOR);

    predlog_stop(&t);
}

/* Doorbells racing with every kind of reset leave a working device */
static void test_ring_reset_storm(void)
{
    PredlogTest t;
    PredlogRing r;
    uint32_t i, idx;
    char msg[16];

    predlog_start(&t, NULL);
    for (i = 0; i < 200; i++) {
        ring_setup(&t, &r, 16);
        snprintf(msg, sizeof(msg), "storm %u", i);
        ring_put(&t, &r, 0, 6, 0, 0, msg, strlen(msg));
        ring_put(&t, &r, 0, 6, 0, 0, msg, strlen(msg));
        reg_write(&t, PREDLOG_REG_DOORBELL, r.producer);
        switch (i % 3) {
        case 0:
            reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_RESET);
            break;
        case 1:
            reg_write(&t, PREDLOG_REG_CONTROL, 0);
            break;
        default:
            /* FLR */
            qpci_config_writew(t.dev, 0x80 + PCI_EXP_DEVCTL,
                               qpci_config_readw(t.dev,
                                                 0x80 + PCI_EXP_DEVCTL) |
                               PCI_EXP_DEVCTL_BCR_FLR);
            /* FLR clears the BARs: map the device again */
            g_free(t.dev);
            predlog_map(&t);
            break;
        }
        reg_write(&t, PREDLOG_REG_DOORBELL, r.producer);
        reg_write(&t, PREDLOG_REG_ERROR, 0);
        g_assert_false(reg_read(&t, PREDLOG_REG_STATUS) &
                       PREDLOG_STS_RING_RUNNING);
        /* resets clear the ring registers; CONTROL=0 only stops the ring */
        g_assert_cmpuint(reg_read(&t, PREDLOG_REG_RING_SIZE), ==,
                         i % 3 == 1 ? 16 : 0);
    }
    qtest_system_reset(t.qs->qts);
    g_free(t.dev);
    predlog_map(&t);

    /* still works */
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_MAGIC), ==, PREDLOG_MAGIC);
    ring_setup(&t, &r, 4);
    idx = ring_put(&t, &r, 0, 6, 0, 0, "after", 5);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==, PREDLOG_DESC_STS_OK);
    predlog_stop(&t);
}

/* A pool in a shared file: persistent, flushable, visible to the host */
static void test_persistent_pool(void)
{
    g_autofree char *dir = g_dir_make_tmp("predlog-test-XXXXXX", NULL);
    g_autofree char *file = g_strdup_printf("%s/pool", dir);
    g_autofree char *args = g_strdup_printf(
        "-object memory-backend-file,id=pool0,mem-path=%s,size=2M,share=on "
        "-global predlog.memdev=pool0 -global predlog.policy=fixed "
        "-global predlog.max-functions=4", file);
    g_autofree char *contents = NULL;
    gsize len;
    PredlogTest t;
    PredlogRing r;
    QDict *info, *pool, *rsp;
    uint32_t idx;

    predlog_start(&t, args);
    g_assert_true(reg_read(&t, PREDLOG_REG_CAPS) & PREDLOG_CAP_PERSISTENT);

    info = query_predlog(t.qs->qts);
    pool = qdict_get_qdict(info, "pool");
    g_assert_true(qdict_get_bool(pool, "persistent"));
    g_assert_cmpstr(qdict_get_str(pool, "memdev"), ==, "pool0");
    g_assert_cmpstr(qdict_get_str(pool, "policy"), ==, "fixed");
    g_assert_cmpint(qdict_get_int(pool, "size"), ==, 2 * 1024 * 1024);
    qobject_unref(info);

    ring_setup(&t, &r, 4);
    idx = ring_put(&t, &r, 0, 4, 0, 0, "kept-in-the-file", 16);
    ring_kick(&t, &r);
    g_assert_cmphex(ring_status(&t, &r, idx), ==, PREDLOG_DESC_STS_OK);

    qtest_qmp_assert_success(t.qs->qts, "{ 'execute': 'predlog-flush' }");
    qtest_qmp_assert_success(t.qs->qts,
                             "{ 'execute': 'predlog-flush',"
                             "  'arguments': { 'id': 'pl0' } }");
    rsp = qtest_qmp(t.qs->qts, "{ 'execute': 'predlog-flush',"
                    "  'arguments': { 'id': 'nosuch' } }");
    g_assert_nonnull(qdict_get_qdict(rsp, "error"));
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                          "desc"), "nosuch"));
    qobject_unref(rsp);

    /* the record is in the file, while QEMU still runs */
    g_assert_true(g_file_get_contents(file, &contents, &len, NULL));
    g_assert_cmpuint(len, ==, 2 * 1024 * 1024);
    g_assert_nonnull(memmem(contents, len, "kept-in-the-file", 16));

    predlog_stop(&t);
    g_unlink(file);
    g_rmdir(dir);
}

static void test_query(void)
{
    PredlogTest t;
    QDict *info;
    int64_t reads, writes;
    int i;
    g_autofree char *hmp = NULL;

    predlog_start(&t, NULL);

    info = query_predlog(t.qs->qts);
    g_assert_cmpstr(qdict_get_str(info, "id"), ==, "pl0");
    g_assert_cmpstr(qdict_get_str(info, "path"), ==,
                    "/machine/peripheral/pl0");
    g_assert_false(qdict_get_bool(info, "enabled"));
    g_assert_cmpint(qdict_get_int(info, "vectors"), ==, PREDLOG_MIN_VECTORS);
    reads = qdict_get_int(info, "mmio-reads");
    writes = qdict_get_int(info, "mmio-writes");
    qobject_unref(info);

    for (i = 0; i < 10; i++) {
        reg_read(&t, PREDLOG_REG_MAGIC);
    }
    reg_write(&t, PREDLOG_REG_SCRATCH, 42);
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);

    info = query_predlog(t.qs->qts);
    g_assert_true(qdict_get_bool(info, "enabled"));
    g_assert_cmpint(qdict_get_int(info, "scratch"), ==, 42);
    g_assert_cmpint(qdict_get_int(info, "error"), ==, 0);
    g_assert_cmpint(qdict_get_int(info, "mmio-reads"), ==, reads + 10);
    g_assert_cmpint(qdict_get_int(info, "mmio-writes"), ==, writes + 2);
    qobject_unref(info);

    hmp = qtest_hmp(t.qs->qts, "info predlog");
    g_assert_nonnull(strstr(hmp, "pl0: enabled"));
    g_assert_nonnull(strstr(hmp, "scratch 0x0000002a"));

    predlog_stop(&t);
}

/* query-migrate's status on @from; the caller frees it */
static char *migration_status(QTestState *from)
{
    QDict *rsp = qtest_qmp_assert_success_ref(from,
                                              "{ 'execute': 'query-migrate' }");
    char *status = g_strdup(qdict_get_try_str(rsp, "status"));

    qobject_unref(rsp);
    return status;
}

static bool migration_completed(void *opaque)
{
    g_autofree char *status = migration_status(opaque);

    /* a failed migration never completes: say so now, not at the timeout */
    g_assert_cmpstr(status, !=, "failed");
    return !g_strcmp0(status, "completed");
}

static void wait_migration_completed(QTestState *from)
{
    g_autofree char *status = NULL;

    /* twice the usual: all of the guest's RAM goes through the socket */
    poll_until(migration_completed, from, 2 * POLL_TIMEOUT_S);
    status = migration_status(from);
    g_assert_cmpstr(status, ==, "completed");
}

/*
 * Device state, MSI-X and the ring included, arrives intact on the
 * destination, and so does the pool: the destination's recorder goes on
 * numbering where the source stopped.
 */
static void test_migration(void)
{
    PredlogTest src, dst;
    g_autofree char *dir = g_dir_make_tmp("predlog-test-XXXXXX", NULL);
    g_autofree char *sock = g_strdup_printf("%s/migsocket", dir);
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    PredlogRing r;
    QDict *info, *f;
    uint32_t i, idx;

    predlog_start(&src, NULL);
    qpci_msix_enable(src.dev);
    msix_route_to_ram(&src, PREDLOG_VEC_COMPLETION, 0xc0ffee);
    ring_setup(&src, &r, 8);
    for (i = 0; i < 5; i++) {
        ring_put(&src, &r, 0, 6, 0, 0, "before", 6);
    }
    ring_kick(&src, &r);
    reg_write(&src, PREDLOG_REG_SCRATCH, 0x600df00d);
    reg_write(&src, PREDLOG_REG_IRQ_TEST, 5);  /* leaves BAD_VECTOR */

    dst.qs = qtest_pc_boot(PREDLOG_ARGS " -incoming %s", uri);
    qtest_qmp_assert_success(src.qs->qts,
                             "{ 'execute': 'migrate',"
                             "  'arguments': { 'uri': %s } }", uri);
    wait_migration_completed(src.qs->qts);
    qtest_qmp_eventwait(dst.qs->qts, "RESUME");

    info = query_predlog(dst.qs->qts);
    g_assert_true(qdict_get_bool(info, "enabled"));
    g_assert_true(qdict_get_bool(info, "msix-enabled"));
    g_assert_cmphex(qdict_get_int(info, "scratch"), ==, 0x600df00d);
    g_assert_cmpint(qdict_get_int(info, "error"), ==, PREDLOG_ERR_BAD_VECTOR);
    g_assert_true(qdict_get_bool(qdict_get_qdict(info, "ring"), "running"));
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "ring"), "head"),
                    ==, 5);
    qobject_unref(info);
    /* predictive (the default): the destination adopts the class too */
    f = query_function(dst.qs->qts, "guest0/-.info");
    g_assert_cmpint(qdict_get_int(f, "records"), ==, 5);
    qobject_unref(f);

    /* The guest on the destination sees the same registers at the same BAR */
    predlog_map(&dst);
    g_assert_cmphex(qpci_config_readl(dst.dev, PCI_BASE_ADDRESS_0), ==,
                    qpci_config_readl(src.dev, PCI_BASE_ADDRESS_0));
    g_assert_cmphex(reg_read(&dst, PREDLOG_REG_SCRATCH), ==, 0x600df00d);
    g_assert_cmphex(reg_read(&dst, PREDLOG_REG_MAGIC), ==, PREDLOG_MAGIC);
    reg_write(&dst, PREDLOG_REG_ERROR, 0);

    /* and its ring goes on where the source's stopped */
    idx = ring_put(&dst, &r, 0, 6, 0, 0, "after", 5);
    ring_kick(&dst, &r);
    g_assert_cmphex(ring_status(&dst, &r, idx), ==, PREDLOG_DESC_STS_OK);
    g_assert_cmpuint(ring_seq(&dst, &r, idx), ==, 6);
    g_assert_cmpuint(reg_read(&dst, PREDLOG_REG_ERROR), ==,
                     PREDLOG_ERR_NONE);

    predlog_stop(&dst);
    predlog_stop(&src);
    g_unlink(sock);
    g_rmdir(dir);
}

/* PREDLOG_LEVEL_CHANGED events of @qts so far, as "function:old>new:reason" */
static GString *level_events(QTestState *qts, GString *acc)
{
    QDict *ev;

    while ((ev = qtest_qmp_event_ref(qts, "PREDLOG_LEVEL_CHANGED"))) {
        QDict *data = qdict_get_qdict(ev, "data");

        g_string_append_printf(acc, "%s:%s>%s:%s;",
                               qdict_get_str(data, "function"),
                               qdict_get_str(data, "old"),
                               qdict_get_str(data, "new"),
                               qdict_get_str(data, "reason"));
        qobject_unref(ev);
    }
    return acc;
}

/* Log @n records of 200 bytes to guest function 0 through @r, all OK. */
static void ring_log_n(PredlogTest *t, PredlogRing *r, unsigned n)
{
    char msg[200];

    memset(msg, 'x', sizeof(msg));
    memcpy(msg, "burst: ", 7);
    while (n) {
        unsigned k = MIN(n, r->size), first = r->producer;

        for (unsigned i = 0; i < k; i++) {
            ring_put(t, r, 0, 6, 0, 0, msg, sizeof(msg));
        }
        ring_kick(t, r);
        for (unsigned i = 0; i < k; i++) {
            g_assert_cmphex(ring_status(t, r, first + i), ==,
                            PREDLOG_DESC_STS_OK);
        }
        n -= k;
    }
}

/*
 * PREDLOG_POOL_PRESSURE events received so far; two QMP round trips
 * first, so that a notice the device has already decided on (its bottom
 * half is scheduled before the ring is consumed) has been sent.
 */
static int pressure_events(QTestState *qts)
{
    QDict *ev;
    int n = 0;

    for (int i = 0; i < 2; i++) {
        qobject_unref(query_predlog(qts));
    }
    while ((ev = qtest_qmp_event_ref(qts, "PREDLOG_POOL_PRESSURE"))) {
        QDict *data = qdict_get_qdict(ev, "data");

        g_assert_cmpstr(qdict_get_str(data, "id"), ==, "pl0");
        g_assert_cmpint(qdict_get_int(data, "dropped"), ==, 0);
        qobject_unref(ev);
        n++;
    }
    return n;
}

/*
 * policy=predictive, driven by the virtual clock (the allocator's refresh
 * timer): a burst far beyond the forecast lowers the function's level
 * (events), nothing is dropped, and once the burst is over and the plan
 * has had room for a while, the level comes back to full.
 */
static void test_predictive(void)
{
    const int64_t tick = 100 * 1000 * 1000;     /* refresh-ms=100 */
    g_autoptr(GString) events = g_string_new("");
    PredlogTest t;
    PredlogRing r;
    QTestState *qts;
    QDict *f, *fc, *info, *resp;
    int i;

    predlog_start(&t, "-global predlog.pool-size=1M "
                  "-global predlog.horizon=10 -global predlog.refresh-ms=100 "
                  "-global predlog.max-functions=8");
    qts = t.qs->qts;
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    ring_setup(&t, &r, 64);

    /* steady: 2 records per interval */
    for (i = 0; i < 40; i++) {
        ring_log_n(&t, &r, 2);
        qtest_clock_step(qts, tick);
    }
    f = query_function(qts, "guest0/burst.info");
    g_assert_cmpstr(qdict_get_str(f, "level"), ==, "full");
    fc = qdict_get_qdict(f, "forecast");
    g_assert_nonnull(fc);
    g_assert_cmpstr(qdict_get_str(fc, "source"), ==, "guest0");
    g_assert_cmpstr(qdict_get_str(fc, "traffic-class"), ==, "burst.info");
    g_assert_cmpfloat(qdict_get_double(fc, "records-per-second"), >, 5);
    g_assert_cmpfloat(qdict_get_double(fc, "records-per-second"), <, 60);
    qobject_unref(f);
    g_assert_cmpstr(level_events(qts, events)->str, ==, "");

    /* a burst: 100x for half a second */
    for (i = 0; i < 5; i++) {
        ring_log_n(&t, &r, 200);
        qtest_clock_step(qts, tick);
    }
    /* (a QMP command first: it reads the events the socket holds) */
    f = query_function(qts, "guest0/burst.info");
    g_assert_cmpstr(qdict_get_str(f, "level"), !=, "full");
    level_events(qts, events);
    g_assert_nonnull(strstr(events->str, "guest0/burst.info:full>"));
    g_assert_cmpint(qdict_get_int(f, "dropped"), ==, 0);
    g_assert_cmpint(qdict_get_int(f, "records"), ==, 80 + 1000);
    g_assert_cmpint(qdict_get_int(f, "records-full") +
                    qdict_get_int(f, "records-header") +
                    qdict_get_int(f, "records-summarised"), ==, 1080);
    g_assert_cmpint(qdict_get_int(f, "records-full"), <, 1080);
    /*
     * Its fast tier wrapped, but aged every lap into the cold tier first:
     * nothing was lost, so no pool-pressure notice (the pool is far from
     * full).
     */
    g_test_message("wraps %" PRId64 " lost-laps %" PRId64,
                   qdict_get_int(f, "wraps"), qdict_get_int(f, "lost-laps"));
    g_assert_cmpint(qdict_get_int(f, "wraps"), >, 0);
    g_assert_cmpint(qdict_get_int(f, "lost-laps"), ==, 0);
    g_assert_cmpint(pressure_events(qts), ==, 0);
    qobject_unref(f);

    /*
     * The ageing thread, not the log calls, packed the full buffers:
     * once it is idle there is a cold tier and a spare, and a stopped VM
     * has nothing left waiting (the stop drains the thread).
     */
    qtest_qmp_assert_success(qts, "{ 'execute': 'stop' }");
    f = query_function(qts, "guest0/burst.info");
    g_test_message("cold-size %" PRId64 " spare-size %" PRId64
                   " spare-misses %" PRId64, qdict_get_int(f, "cold-size"),
                   qdict_get_int(f, "spare-size"),
                   qdict_get_int(f, "spare-misses"));
    g_assert_cmpint(qdict_get_int(f, "sealed-size"), ==, 0);
    g_assert_cmpint(qdict_get_int(f, "cold-size"), >, 0);
    g_assert_cmpint(qdict_get_int(f, "spare-size"), >, 0);
    g_assert_cmpfloat(qdict_get_double(f, "compression"), <, 1.0);
    qobject_unref(f);
    qtest_qmp_assert_success(qts, "{ 'execute': 'cont' }");

    /* quiet again: relief brings full detail back, one step at a time */
    for (i = 0; i < 100; i++) {
        ring_log_n(&t, &r, 2);
        qtest_clock_step(qts, tick);
    }
    f = query_function(qts, "guest0/burst.info");
    g_assert_cmpstr(qdict_get_str(f, "level"), ==, "full");
    level_events(qts, events);
    g_assert_nonnull(strstr(events->str, ">full:relief;"));
    g_assert_cmpint(qdict_get_int(f, "dropped"), ==, 0);
    qobject_unref(f);

    info = query_predlog(qts);
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(info, "pool"), "policy"),
                    ==, "predictive");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(info, "pool"),
                                  "compression"), ==, "zstd");
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(info, "pool"),
                                  "refreshes"), >=, 145);
    qobject_unref(info);

    /* the forecaster can be chosen, per function or source */
    qtest_qmp_assert_success(qts, "{ 'execute': 'predlog-set-forecaster',"
                             "  'arguments': { 'id': 'pl0',"
                             "    'function': 'guest0', 'model': 'ewma' } }");
    f = query_function(qts, "guest0/burst.info");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(f, "forecast"), "mode"),
                    ==, "ewma");
    qobject_unref(f);
    resp = qtest_qmp(qts, "{ 'execute': 'predlog-set-forecaster',"
                     "  'arguments': { 'id': 'pl0', 'function': 'nosuch',"
                     "    'model': 'ar' } }");
    g_assert_nonnull(strstr(qdict_get_str(qdict_get_qdict(resp, "error"),
                                          "desc"), "'nosuch'"));
    qobject_unref(resp);
    resp = qtest_qmp(qts, "{ 'execute': 'predlog-set-forecaster',"
                     "  'arguments': { 'id': 'nope', 'model': 'ar' } }");
    g_assert_nonnull(qdict_get_qdict(resp, "error"));
    qobject_unref(resp);

    predlog_stop(&t);
}

/*
 * The pool-pressure notice (docs/specs/predlog.rst): under the fixed
 * policy every lap of a slot overwrites records, so it fires, once, on
 * MSI-X vector 1 and as the QMP event; it stays quiet however many more
 * laps follow until a second of guest time has passed, then re-arms and
 * fires on the next lap; a masked vector keeps the message pending.  At
 * or over the threshold it fires once and does not re-arm while use
 * stays there.
 */
static void test_pool_pressure(void)
{
    const int64_t second = 1000 * 1000 * 1000;
    PredlogTest t;
    PredlogRing r;
    QTestState *qts;
    uint64_t msg;

    /* 8 slots of 128 KiB: one lap is about 500 records of 200 bytes */
    predlog_start(&t, "-global predlog.policy=fixed "
                  "-global predlog.pool-size=1M "
                  "-global predlog.max-functions=8 "
                  "-global predlog.snaplen=4096");
    qts = t.qs->qts;
    qpci_msix_enable(t.dev);
    msg = msix_route_to_ram(&t, PREDLOG_VEC_PRESSURE, 0x22220001);
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    ring_setup(&t, &r, 64);

    /* no loss, use 1 slot in 8, far below 90 percent: quiet */
    ring_log_n(&t, &r, 200);
    g_assert_cmpint(pressure_events(qts), ==, 0);
    g_assert_cmphex(qtest_readl(qts, msg), ==, 0);

    /* the first lap: one notice */
    ring_log_n(&t, &r, 600);
    g_assert_cmpint(pressure_events(qts), ==, 1);
    g_assert_cmphex(qtest_readl(qts, msg), ==, 0x22220001);

    /* more laps within the same second of guest time: none */
    qtest_writel(qts, msg, 0);
    ring_log_n(&t, &r, 2000);
    qtest_clock_step(qts, second / 2);
    ring_log_n(&t, &r, 2000);
    g_assert_cmpint(pressure_events(qts), ==, 0);
    g_assert_cmphex(qtest_readl(qts, msg), ==, 0);

    /* a second after the notice, the next record re-arms, a lap fires */
    qtest_clock_step(qts, second / 2);
    ring_log_n(&t, &r, 1);
    g_assert_cmpint(pressure_events(qts), ==, 0);
    ring_log_n(&t, &r, 600);
    g_assert_cmpint(pressure_events(qts), ==, 1);
    g_assert_cmphex(qtest_readl(qts, msg), ==, 0x22220001);

    /* masked: the event comes, the message waits for the unmask */
    qtest_writel(qts, msg, 0);
    msix_mask(&t, PREDLOG_VEC_PRESSURE, true);
    qtest_clock_step(qts, second);
    ring_log_n(&t, &r, 601);
    g_assert_cmpint(pressure_events(qts), ==, 1);
    g_assert_cmphex(qtest_readl(qts, msg), ==, 0);
    g_assert_true(qpci_msix_pending(t.dev, PREDLOG_VEC_PRESSURE));
    msix_mask(&t, PREDLOG_VEC_PRESSURE, false);
    g_assert_cmphex(qtest_readl(qts, msg), ==, 0x22220001);
    g_assert_false(qpci_msix_pending(t.dev, PREDLOG_VEC_PRESSURE));
    predlog_stop(&t);

    /* 1 slot in 8 is 12 percent: at a threshold of 10, once and for good */
    predlog_start(&t, "-global predlog.policy=fixed "
                  "-global predlog.pool-size=1M "
                  "-global predlog.max-functions=8 "
                  "-global predlog.snaplen=4096 "
                  "-global predlog.pressure-threshold=10");
    qts = t.qs->qts;
    reg_write(&t, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    ring_setup(&t, &r, 64);
    ring_log_n(&t, &r, 1);
    g_assert_cmpint(pressure_events(qts), ==, 1);
    for (int i = 0; i < 3; i++) {
        qtest_clock_step(qts, 2 * second);
        ring_log_n(&t, &r, 600);
    }
    g_assert_cmpint(pressure_events(qts), ==, 0);
    predlog_stop(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/predlog/identity", test_identity);
    qtest_add_func("/predlog/pcie-capability", test_pcie_capability);
    qtest_add_func("/predlog/registers", test_registers);
    qtest_add_func("/predlog/msix", test_msix);
    qtest_add_func("/predlog/msix-vectors-property",
                   test_msix_vectors_property);
    qtest_add_func("/predlog/bad-vectors-property",
                   test_bad_vectors_property);
    qtest_add_func("/predlog/hostile-registers", test_hostile_registers);
    qtest_add_func("/predlog/reset", test_reset);
    qtest_add_func("/predlog/bad-pool-properties", test_bad_pool_properties);
    qtest_add_func("/predlog/persistent-pool", test_persistent_pool);
    qtest_add_func("/predlog/ring", test_ring);
    qtest_add_func("/predlog/ring-hostile", test_ring_hostile);
    qtest_add_func("/predlog/ring-reset-storm", test_ring_reset_storm);
    qtest_add_func("/predlog/query", test_query);
    qtest_add_func("/predlog/migration", test_migration);
    qtest_add_func("/predlog/predictive", test_predictive);
    qtest_add_func("/predlog/pool-pressure", test_pool_pressure);

    return g_test_run();
}
