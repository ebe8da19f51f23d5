/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-info: find the predlog PCI device from Linux user space, print
 * its identity registers and optionally keep it busy with a heartbeat.
 *
 * The program talks to the device through sysfs only (no kernel driver):
 * it scans /sys/bus/pci/devices for 1af4:10f0, turns on memory decoding
 * through the "enable" attribute and maps BAR0 through "resource0".  It is
 * built statically and put into the test initramfs by
 * tests/guest/build-image.sh.  Every line meant for tests starts with
 * "predlog-guest: " so that host-side tests can grep the serial console.
 *
 * Copyright (c) 2026 The predlog authors
 */

#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../hw/predlog/predlog-regs.h"

#define PCI_DEVICES_DIR     "/sys/bus/pci/devices"
#define PREFIX              "predlog-guest: "

/* The register block: every access must reach the device, in order */
typedef volatile uint32_t mmio32;   /* volatile: MMIO, not memory */

/* Exit codes, documented in usage() */
enum {
    EXIT_OK = 0,
    EXIT_NOT_FOUND = 1,
    EXIT_BAD_DEVICE = 2,
    EXIT_SYSTEM = 3,
};

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [--heartbeat] [--help]\n"
            "\n"
            "Find the predlog PCI device (%04x:%04x) through sysfs, map its\n"
            "register block (BAR0, resource0) and print its identity:\n"
            "  " PREFIX "found <bdf> vendor=0x%04x device=0x%04x\n"
            "  " PREFIX "magic=PRLG version=1.0 caps=0x0 vectors=2\n"
            "\n"
            "Options:\n"
            "  --heartbeat  after printing, set CONTROL.ENABLE and write an\n"
            "               increasing counter (1, 2, ...) to SCRATCH once\n"
            "               per second; never exits\n"
            "  --help       show this text\n"
            "\n"
            "Exit status:\n"
            "  0  device found and its registers are valid\n"
            "  1  no predlog device found\n"
            "  2  the device does not identify as predlog (bad magic) or\n"
            "     speaks an unsupported interface version\n"
            "  3  system error (sysfs, mmap, bad usage)\n",
            prog, PREDLOG_PCI_VENDOR_ID, PREDLOG_PCI_DEVICE_ID,
            PREDLOG_PCI_VENDOR_ID, PREDLOG_PCI_DEVICE_ID);
}

/* Build "dir/attr" into @path; false if it does not fit. */
static bool attr_path(char *path, size_t len, const char *dir,
                      const char *attr)
{
    int n = snprintf(path, len, "%s/%s", dir, attr);

    return n >= 0 && (size_t)n < len;
}

/*
 * Parse one sysfs number: optional "0x", 1 to 8 hex digits, optional
 * newline.  Written out rather than strtoul() so that anything else
 * (signs, spaces, overflow) is rejected instead of half-parsed.
 */
static bool parse_hex32(const char *s, uint32_t *val)
{
    uint32_t v = 0;
    int digits = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    for (; *s && *s != '\n'; s++) {
        int d;

        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (*s >= 'a' && *s <= 'f') {
            d = *s - 'a' + 10;
        } else if (*s >= 'A' && *s <= 'F') {
            d = *s - 'A' + 10;
        } else {
            return false;
        }
        if (++digits > 8) {
            return false;
        }
        v = (v << 4) | d;
    }
    if (digits == 0 || (*s == '\n' && s[1] != '\0')) {
        return false;
    }
    *val = v;
    return true;
}

/*
 * Read a sysfs attribute holding one hexadecimal number such as "0x1af4"
 * (or a small decimal such as the "enable" count, which reads the same).
 * Returns false on any read or parse problem rather than trusting the text.
 */
static bool read_hex_attr(const char *dir, const char *attr, uint32_t *val)
{
    char path[512];
    char buf[32];
    FILE *f;
    bool ok;

    if (!attr_path(path, sizeof(path), dir, attr)) {
        return false;
    }
    f = fopen(path, "r");
    if (!f) {
        return false;
    }
    ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    return ok && parse_hex32(buf, val);
}

/*
 * Find the first predlog device; its sysfs directory goes into @dir and its
 * PCI address (domain:bus:dev.fn) into @bdf.
 */
static bool find_device(char *dir, size_t dirlen, char *bdf, size_t bdflen)
{
    DIR *d = opendir(PCI_DEVICES_DIR);
    struct dirent *de;
    bool found = false;

    if (!d) {
        fprintf(stderr, "predlog-info: cannot open %s: %s\n",
                PCI_DEVICES_DIR, strerror(errno));
        return false;
    }
    while (!found && (de = readdir(d)) != NULL) {
        uint32_t vendor, device;
        char path[512];

        if (de->d_name[0] == '.') {
            continue;
        }
        if (!attr_path(path, sizeof(path), PCI_DEVICES_DIR, de->d_name)) {
            continue;
        }
        if (!read_hex_attr(path, "vendor", &vendor) ||
            !read_hex_attr(path, "device", &device)) {
            continue;
        }
        if (vendor == PREDLOG_PCI_VENDOR_ID &&
            device == PREDLOG_PCI_DEVICE_ID) {
            found = attr_path(dir, dirlen, PCI_DEVICES_DIR, de->d_name) &&
                    snprintf(bdf, bdflen, "%s", de->d_name) < (int)bdflen;
        }
    }
    closedir(d);
    return found;
}

/*
 * Make sure the device decodes memory accesses.  Without a kernel driver
 * nobody has set PCI_COMMAND_MEMORY, and BAR0 would read as all ones.
 * Writing "1" to "enable" is what pci_enable_device() does for a driver.
 */
static bool enable_device(const char *dir)
{
    uint32_t enabled;
    char path[512];
    int fd;

    if (read_hex_attr(dir, "enable", &enabled) && enabled != 0) {
        return true;
    }
    if (!attr_path(path, sizeof(path), dir, "enable")) {
        return false;
    }
    fd = open(path, O_WRONLY);
    if (fd < 0) {
        fprintf(stderr, "predlog-info: cannot open %s: %s\n", path,
                strerror(errno));
        return false;
    }
    if (write(fd, "1", 1) != 1) {
        fprintf(stderr, "predlog-info: cannot enable %s: %s\n", dir,
                strerror(errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

static mmio32 *map_regs(const char *dir)
{
    char path[512];
    struct stat st;
    void *p;
    int fd;

    if (!attr_path(path, sizeof(path), dir, "resource0")) {
        return NULL;
    }
    fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0) {
        fprintf(stderr, "predlog-info: cannot open %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    /* sysfs reports the BAR size as the file size; refuse a short BAR */
    if (fstat(fd, &st) < 0 || st.st_size < PREDLOG_REGS_SIZE) {
        fprintf(stderr, "predlog-info: %s is smaller than %d bytes\n", path,
                PREDLOG_REGS_SIZE);
        close(fd);
        return NULL;
    }
    p = mmap(NULL, PREDLOG_REGS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "predlog-info: cannot map %s: %s\n", path,
                strerror(errno));
        return NULL;
    }
    return p;
}

/* Registers are 32 bits wide and must be accessed as aligned 32-bit words */
static uint32_t reg_read(mmio32 *regs, unsigned offset)
{
    return regs[offset / 4];
}

static void reg_write(mmio32 *regs, unsigned offset, uint32_t val)
{
    regs[offset / 4] = val;
}

/* Print the magic as text, replacing non-printable bytes by '.' */
static void magic_text(uint32_t magic, char out[5])
{
    int i;

    for (i = 0; i < 4; i++) {
        unsigned char c = (magic >> (8 * i)) & 0xff;

        out[i] = (c >= 0x20 && c < 0x7f) ? c : '.';
    }
    out[4] = '\0';
}

static int heartbeat(mmio32 *regs)
{
    const struct timespec second = { .tv_sec = 1, .tv_nsec = 0 };
    uint32_t counter = 0;
    uint32_t status;
    bool warned = false;

    reg_write(regs, PREDLOG_REG_CONTROL, PREDLOG_CTRL_ENABLE);
    status = reg_read(regs, PREDLOG_REG_STATUS);
    if (!(status & PREDLOG_STS_ENABLED)) {
        fprintf(stderr, "predlog-info: device did not enable "
                "(STATUS=0x%08" PRIx32 ", ERROR=%" PRIu32 ")\n",
                status, reg_read(regs, PREDLOG_REG_ERROR));
        return EXIT_BAD_DEVICE;
    }
    printf(PREFIX "heartbeat started\n");
    fflush(stdout);

    for (;;) {
        counter++;
        reg_write(regs, PREDLOG_REG_SCRATCH, counter);
        /*
         * Report, once, if something (a device reset, say) disabled the
         * device behind our back; keep beating so the host can see it.
         */
        status = reg_read(regs, PREDLOG_REG_STATUS);
        if (!(status & PREDLOG_STS_ENABLED) && !warned) {
            fprintf(stderr, "predlog-info: device was disabled "
                    "(STATUS=0x%08" PRIx32 ")\n", status);
            warned = true;
        }
        nanosleep(&second, NULL);
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "heartbeat", no_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool beat = false;
    char dir[512], bdf[64], magic_str[5];
    mmio32 *regs;
    uint32_t magic, version, caps, vectors;
    int c;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            beat = true;
            break;
        case 'h':
            usage(stdout, argv[0]);
            return EXIT_OK;
        default:
            usage(stderr, argv[0]);
            return EXIT_SYSTEM;
        }
    }
    if (optind != argc) {
        usage(stderr, argv[0]);
        return EXIT_SYSTEM;
    }

    if (!find_device(dir, sizeof(dir), bdf, sizeof(bdf))) {
        fprintf(stderr, "predlog-info: no PCI device %04x:%04x found\n",
                PREDLOG_PCI_VENDOR_ID, PREDLOG_PCI_DEVICE_ID);
        return EXIT_NOT_FOUND;
    }
    printf(PREFIX "found %s vendor=0x%04x device=0x%04x\n", bdf,
           PREDLOG_PCI_VENDOR_ID, PREDLOG_PCI_DEVICE_ID);
    fflush(stdout);

    if (!enable_device(dir)) {
        return EXIT_SYSTEM;
    }
    regs = map_regs(dir);
    if (!regs) {
        return EXIT_SYSTEM;
    }

    magic = reg_read(regs, PREDLOG_REG_MAGIC);
    if (magic != PREDLOG_MAGIC) {
        magic_text(magic, magic_str);
        fprintf(stderr, "predlog-info: bad magic 0x%08" PRIx32 " (\"%s\"), "
                "expected 0x%08x (\"PRLG\")\n", magic, magic_str,
                PREDLOG_MAGIC);
        return EXIT_BAD_DEVICE;
    }
    magic_text(magic, magic_str);
    version = reg_read(regs, PREDLOG_REG_VERSION);
    caps = reg_read(regs, PREDLOG_REG_CAPS);
    vectors = reg_read(regs, PREDLOG_REG_NUM_VECTORS);
    printf(PREFIX "magic=%s version=%" PRIu32 ".%" PRIu32 " caps=0x%" PRIx32
           " vectors=%" PRIu32 "\n", magic_str, version >> 16,
           version & 0xffff, caps, vectors);
    fflush(stdout);

    /* A newer major version may change the register layout: stop here */
    if (version >> 16 != PREDLOG_VERSION_MAJOR) {
        fprintf(stderr, "predlog-info: unsupported interface version %"
                PRIu32 ".%" PRIu32 " (this program speaks %d.x)\n",
                version >> 16, version & 0xffff, PREDLOG_VERSION_MAJOR);
        return EXIT_BAD_DEVICE;
    }
    if (vectors < PREDLOG_MIN_VECTORS || vectors > PREDLOG_MAX_VECTORS) {
        fprintf(stderr, "predlog-info: NUM_VECTORS=%" PRIu32 " is outside "
                "%d..%d\n", vectors, PREDLOG_MIN_VECTORS,
                PREDLOG_MAX_VECTORS);
        return EXIT_BAD_DEVICE;
    }

    if (beat) {
        return heartbeat(regs);
    }
    return EXIT_OK;
}
