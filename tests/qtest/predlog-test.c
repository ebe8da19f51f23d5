/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcase for the predlog PCIe device
 *
 * Drives the device the way a guest driver would, through libqos' PCI
 * helpers, and checks the guest-visible interface of docs/specs/predlog.rst:
 * identity, the register block, MSI-X, reset, hostile register values,
 * the monitor commands and migration of the device state.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include <glib/gstdio.h>
#include "libqtest.h"
#include "libqos/libqos-pc.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
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
    g_assert_cmphex(reg_read(&t, PREDLOG_REG_CAPS), ==, PREDLOG_CAP_NONE);
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

static void wait_migration_completed(QTestState *from)
{
    gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;

    for (;;) {
        QDict *rsp = qtest_qmp_assert_success_ref(from,
                                                  "{ 'execute': 'query-migrate' }");
        const char *status = qdict_get_try_str(rsp, "status");
        bool done = status && !strcmp(status, "completed");

        g_assert_cmpstr(status, !=, "failed");
        qobject_unref(rsp);
        if (done) {
            return;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20 * 1000);
    }
}

/* Device state, MSI-X included, arrives intact on the destination */
static void test_migration(void)
{
    PredlogTest src;
    g_autofree char *dir = g_dir_make_tmp("predlog-test-XXXXXX", NULL);
    g_autofree char *sock = g_strdup_printf("%s/migsocket", dir);
    g_autofree char *uri = g_strdup_printf("unix:%s", sock);
    QTestState *dst;
    QPCIBus *dst_bus;
    QPCIDevice *dst_dev;
    QDict *info;
    uint32_t bar0;

    predlog_start(&src, NULL);
    qpci_msix_enable(src.dev);
    msix_route_to_ram(&src, PREDLOG_VEC_COMPLETION, 0xc0ffee);
    reg_write(&src, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    reg_write(&src, PREDLOG_REG_SCRATCH, 0x600df00d);
    reg_write(&src, PREDLOG_REG_IRQ_TEST, 5);  /* leaves BAD_VECTOR */

    dst = qtest_initf(PREDLOG_ARGS " -incoming %s", uri);
    qtest_qmp_assert_success(src.qs->qts,
                             "{ 'execute': 'migrate',"
                             "  'arguments': { 'uri': %s } }", uri);
    wait_migration_completed(src.qs->qts);
    qtest_qmp_eventwait(dst, "RESUME");

    info = query_predlog(dst);
    g_assert_true(qdict_get_bool(info, "enabled"));
    g_assert_true(qdict_get_bool(info, "msix-enabled"));
    g_assert_cmphex(qdict_get_int(info, "scratch"), ==, 0x600df00d);
    g_assert_cmpint(qdict_get_int(info, "error"), ==, PREDLOG_ERR_BAD_VECTOR);
    qobject_unref(info);

    /* The guest on the destination sees the same registers at the same BAR */
    dst_bus = qpci_new_pc(dst, NULL);
    dst_dev = qpci_device_find(dst_bus, PREDLOG_DEVFN);
    g_assert_nonnull(dst_dev);
    bar0 = qpci_config_readl(dst_dev, PCI_BASE_ADDRESS_0) &
           PCI_BASE_ADDRESS_MEM_MASK;
    g_assert_cmphex(bar0, ==, qpci_config_readl(src.dev, PCI_BASE_ADDRESS_0) &
                              PCI_BASE_ADDRESS_MEM_MASK);
    g_assert_cmphex(qtest_readl(dst, bar0 + PREDLOG_REG_SCRATCH), ==,
                    0x600df00d);
    g_assert_cmphex(qtest_readl(dst, bar0 + PREDLOG_REG_MAGIC), ==,
                    PREDLOG_MAGIC);
    g_free(dst_dev);
    qpci_free_pc(dst_bus);

    qtest_quit(dst);
    predlog_stop(&src);
    g_unlink(sock);
    g_rmdir(dir);
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
    qtest_add_func("/predlog/query", test_query);
    qtest_add_func("/predlog/migration", test_migration);

    return g_test_run();
}
