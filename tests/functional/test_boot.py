#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: boot the test guest with -device predlog and probe it.

Run:  tests/functional/test_boot.py          (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR        (see predlog_vm.py)

The guest's /init (tests/guest/init) runs predlog-info in probe mode,
which finds the device through sysfs, maps BAR0 and prints its identity
registers on the serial console, then powers the guest off.
"""

import os
import re
import subprocess
import sys
import time
import unittest

# no __pycache__ in the source tree
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

# How long the boot takes is not asserted here: a timing on a shared
# host is a benchmark's figure, not a test's verdict.  The target (the
# demo guest reaches /init in 10 s or less under TCG) is measured by
# bench/boot/bench-boot.py; this test only prints the time it saw.

FOUND_RE = (r'^predlog-guest: found (\S+) vendor=0x1af4 device=0x10f0\s*$')
MAGIC_RE = (r'^predlog-guest: magic=(\S+) version=(\d+)\.(\d+) '
            r'caps=(0x[0-9a-f]+) vectors=(\d+)\s*$')


class BootTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)

    def boot_probe(self, device):
        """Boot in probe mode; return (console text, seconds to /init)."""
        vm = predlog_vm.VM(mode='probe', args=['-device', device],
                           name='boot')
        vm.launch()
        try:
            vm.wait_for_console(r'^predlog-guest: booted', timeout=60)
            boot_s = time.monotonic() - vm.launch_time
            vm.wait_for_console(r'^predlog-guest: predlog-info exit=\d+',
                                timeout=30)
            # The guest powers itself off; QEMU exits with -no-reboot.
            rc = vm.wait(timeout=30)
            self.assertEqual(rc, 0, 'QEMU did not exit cleanly after guest '
                             'poweroff:\n' + vm.stderr())
            return vm.console_text(), boot_s
        finally:
            vm.shutdown()

    def test_probe(self):
        console, boot_s = self.boot_probe('predlog,id=pl0')
        predlog_vm.diag('boot took %.2f s' % boot_s)
        # /init prints the kernel's uptime on its "booted" line
        uptime = re.search(r'^predlog-guest: booted uptime=(\d+\.\d+)s ',
                           console, re.MULTILINE)
        self.assertIsNotNone(uptime, 'no "booted uptime=" line on the '
                             'console:\n' + console)
        predlog_vm.diag('guest uptime at /init: %s s' % uptime.group(1))

        found = re.search(FOUND_RE, console, re.MULTILINE)
        self.assertIsNotNone(found, 'no "found" line on the console:\n' +
                             console)
        magic = re.search(MAGIC_RE, console, re.MULTILINE)
        self.assertIsNotNone(magic, 'no "magic" line on the console:\n' +
                             console)
        self.assertEqual(magic.group(1), 'PRLG')
        self.assertEqual((magic.group(2), magic.group(3)), ('1', '1'))
        # CAP_RING; no CAP_PERSISTENT: this guest's pool is not in a file
        self.assertEqual(magic.group(4), '0x1')
        self.assertEqual(magic.group(5), '2')
        self.assertRegex(console, r'predlog-guest: predlog-info exit=0\b')

    def test_vectors_property(self):
        """The guest sees the configured number of MSI-X vectors."""
        console, _ = self.boot_probe('predlog,id=pl0,vectors=32')
        magic = re.search(MAGIC_RE, console, re.MULTILINE)
        self.assertIsNotNone(magic, console)
        self.assertEqual(magic.group(5), '32')

    def test_bad_vectors_rejected(self):
        """vectors outside 2..32 fails at startup with a clear error."""
        for vectors in (1, 33):
            with self.subTest(vectors=vectors):
                # -S: if the device were wrongly accepted, do not burn CPU
                # running a guest until the timeout.
                cmd = [predlog_vm.qemu_binary(), '-M', 'q35', '-accel', 'tcg',
                       '-nodefaults', '-display', 'none', '-S',
                       '-device', 'predlog,vectors=%d' % vectors]
                try:
                    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                                          capture_output=True, text=True,
                                          timeout=30)
                except subprocess.TimeoutExpired:
                    self.fail('QEMU started with vectors=%d' % vectors)
                self.assertNotEqual(proc.returncode, 0)
                self.assertIn('vectors', proc.stderr)
                predlog_vm.diag('vectors=%d: %s' %
                                (vectors, proc.stderr.strip()))


if __name__ == '__main__':
    predlog_vm.tap_main()
