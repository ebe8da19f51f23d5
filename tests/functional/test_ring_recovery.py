#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: predlog.ko restarts a halted ring without being unbound.

Run:  tests/functional/test_ring_recovery.py     (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR            (see predlog_vm.py)
      PREDLOG_RECOVER                            predlog-recover binary

The device halts its descriptor ring when it cannot read a descriptor
slot (docs/specs/predlog.rst, "Halting and recovery").  The test makes
that happen the way the spec names, with no test-only code in the device
or the driver: the guest's shell turns bus mastering off in the device's
PCI Command register (through sysfs, behind the driver's back), and the
next record's descriptor cannot be read.  That write fails with EIO once
the driver's timeout expires; the driver must have logged the halt once,
counted it in sysfs (ring_resets), turned bus mastering back on and
restarted the ring, so that the device runs a fresh ring (query-predlog)
and the records written afterwards are acknowledged, with the driver bound
to the same device throughout.  Twice, to show that a reset leaves nothing
behind that a second halt trips over.  Finally QEMU is killed and
predlog-recover must return every acknowledged record, and not the one
whose descriptor the device never read.

A second test halts the ring under three concurrent writers: each
writer whose record was in flight gets EIO (the driver says how many
there were), the others go on on the new ring, nobody hangs, the ring is
reset once, and the pool holds exactly the records acknowledged.

A third test resets the function (PCIe FLR through sysfs) behind the
driver's back, which stops the ring and zeroes RING_HEAD: the next write
finds that, the driver restarts the ring, and that write and the ones
after it are logged.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

POOL_SIZE = 16 * 1024 * 1024
SYSFS = '/sys/class/misc/predlog0'
PCI_COMMAND = 4
PCI_COMMAND_MASTER = 0x4
# short, so that the halted write gives up quickly; the guest is idle
TIMEOUT_MS = 1000
BATCH = 5
WRITERS = 3


class RingRecoveryTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)
        cls.recover = predlog_vm.recover_binary()
        if not os.access(cls.recover, os.X_OK):
            raise AssertionError('%s not built (make core)' % cls.recover)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='predlog-ring-recovery-')
        self.pool = os.path.join(self.tmp, 'pool')
        self.vm = None
        self.console = None

    def tearDown(self):
        if self.console:
            self.console.close()
        if self.vm:
            self.vm.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def guest(self, command, status=0):
        """Run @command in the guest; check its exit status, return its
        output."""
        rc, out = self.console.run(command)
        self.assertEqual(rc, status, '%s:\n%s' % (command, out))
        return out.strip()

    def sysfs(self, name):
        return self.guest('cat %s/%s' % (SYSFS, name))

    def pci_command(self):
        out = self.guest('od -An -tx2 -j%d -N2 %s/device/config'
                         % (PCI_COMMAND, SYSFS))
        return int(out, 16)

    @staticmethod
    def set_pci_command_cmd(value):
        # config space is little-endian; busybox printf knows \xHH
        return ('printf "\\x%02x\\x%02x" | dd of=%s/device/config bs=1 '
                'seek=%d count=2 conv=notrunc 2>/dev/null'
                % (value & 0xff, value >> 8, SYSFS, PCI_COMMAND))

    def set_pci_command(self, value):
        self.guest(self.set_pci_command_cmd(value))

    def binding(self):
        """(PCI address, driver) of /dev/predlog0."""
        return (self.guest('basename $(readlink %s/device)' % SYSFS),
                self.guest('basename $(readlink %s/device/driver)' % SYSFS))

    def dmesg(self, pattern):
        return re.findall(pattern, self.guest('dmesg'))

    def start(self):
        args = predlog_vm.pool_args(self.pool, POOL_SIZE, 'max-functions=16')
        self.vm, self.console = predlog_vm.launch_recorder(args, 'ringrec')
        self.bound = self.binding()
        self.assertEqual(self.bound[1], 'predlog')
        self.guest('echo %d > /sys/module/predlog/parameters/timeout_ms'
                   % TIMEOUT_MS)
        self.assertEqual(self.sysfs('ring_resets'), '0')

    def check_still_bound(self):
        """Bound all along: same device, same driver, probed once, never
        given up on."""
        self.assertEqual(self.binding(), self.bound)
        self.guest('test -e /sys/bus/pci/drivers/predlog/%s' % self.bound[0])
        self.assertEqual(len(self.dmesg(r'/dev/predlog0: interface')), 1)
        self.assertEqual(self.dmesg(r'refusing further records'), [])
        self.assertEqual(self.sysfs('state'), 'running')

    def logged(self):
        """Records of guest function 0 the device logged (the default
        policy, predictive, splits it by traffic class)."""
        return sum(f['records']
                   for f in self.vm.cmd('query-predlog')[0]['functions']
                   if f['name'].split('/')[0] == 'guest0')

    def recovered_guest_records(self):
        """Kill QEMU; the guest records predlog-recover finds."""
        self.vm.kill()
        self.vm.wait(timeout=30)
        out = os.path.join(self.tmp, 'out')
        res = subprocess.run([self.recover, '--json-summary', '-o', out,
                              self.pool], capture_output=True, text=True,
                             timeout=120)
        predlog_vm.diag('predlog-recover: %s' % res.stdout.strip())
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(os.path.join(out, 'records.jsonl')) as f:
            return [r for r in map(json.loads, f) if r['kind'] == 'guest']

    def halt_and_check_reset(self, resets):
        """Halt the ring, write one record into it; check that the driver
        failed that record and reset the ring for the @resets-th time."""
        command = self.pci_command()
        self.assertTrue(command & PCI_COMMAND_MASTER, hex(command))
        self.set_pci_command(command & ~PCI_COMMAND_MASTER)
        self.assertFalse(self.pci_command() & PCI_COMMAND_MASTER)

        # the device halts on this record's descriptor; the driver finds
        # out when the write times out, resets the ring and fails it
        out = self.guest('predlog-log lost-record-%d' % resets, status=1)
        self.assertIn('Input/output error', out)

        ring = self.vm.cmd('query-predlog')[0]['ring']
        predlog_vm.diag('ring after reset %d: %s' % (resets, ring))
        self.assertTrue(ring['running'], ring)
        self.assertFalse(ring['halted'], ring)
        # a fresh ring: started again at index 0, nothing pending
        self.assertEqual((ring['head'], ring['tail']), (0, 0), ring)

        self.assertEqual(self.sysfs('ring_resets'), str(resets))
        self.assertEqual(self.sysfs('state'), 'running')
        self.assertTrue(self.pci_command() & PCI_COMMAND_MASTER)
        halts = self.dmesg(r'predlog [0-9a-f:.]+: ring halted \(STATUS=0x'
                           r'[0-9a-f]+, ERROR=8: bad descriptor\), '
                           r'resetting it; records in flight, failed with '
                           r'EIO: 1\b')
        self.assertEqual(len(halts), resets, self.guest('dmesg'))

    def test_halted_ring_is_reset(self):
        self.start()
        expected = []
        for batch in range(3):
            if batch:
                self.halt_and_check_reset(batch)
            self.guest('predlog-log -n %d batch-%d' % (BATCH, batch))
            expected += ['batch-%d #%d' % (batch, i)
                         for i in range(1, BATCH + 1)]
            self.assertEqual(self.sysfs('records'), str(len(expected)))

        self.check_still_bound()
        self.assertEqual(self.logged(), len(expected))

        # every acknowledged record reaches the pool, in order; the lost
        # ones were never read by the device
        guest = self.recovered_guest_records()
        self.assertEqual([r['message'] for r in guest], expected)
        self.assertEqual([r['seq'] for r in guest],
                         list(range(1, len(expected) + 1)))

    def test_halt_under_concurrent_writers(self):
        self.start()
        # each writer logs "writer-W #1", "#2", ... one predlog-log each,
        # until its first failure or until /tmp/stop appears, and then
        # says which record that was
        for w in range(WRITERS):
            self.guest('( (i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); '
                       'predlog-log "writer-%d #$i" 2>>/tmp/e%d || '
                       '{ echo "failed $i" >/tmp/w%d; exit; }; done; '
                       'echo "stopped $i" >/tmp/w%d) >/dev/null 2>&1 &)'
                       % (w, w, w, w))
        predlog_vm.wait_until(lambda: int(self.sysfs('records')) >= 30, 60,
                              'the writers logging')
        self.set_pci_command(self.pci_command() & ~PCI_COMMAND_MASTER)
        predlog_vm.wait_until(lambda: self.sysfs('ring_resets') != '0', 60,
                              'the driver resetting the ring')
        # let the survivors, if any, log on the new ring for a while,
        # then stop them
        logged = int(self.sysfs('records'))
        predlog_vm.wait_until(
            lambda: (int(self.sysfs('records')) >= logged + 10 or
                     self.guest('ls /tmp/w* 2>/dev/null | wc -l')
                     == str(WRITERS)), 60, 'records on the new ring')
        self.guest('touch /tmp/stop')
        outputs = {}

        def finished():
            for w in range(WRITERS):
                out = self.guest('cat /tmp/w%d 2>/dev/null || true' % w)
                if out:
                    outputs[w] = out
            return len(outputs) == WRITERS
        predlog_vm.wait_until(finished, 60, 'the writers finishing')
        predlog_vm.diag('writers: %s' % outputs)

        # a writer stops at its first failure: the record in flight
        acked = {}
        failed = 0
        for w, out in outputs.items():
            how, last = out.split()
            if how == 'stopped':
                acked[w] = int(last)
                continue
            self.assertEqual(how, 'failed')
            self.assertIn('Input/output error',
                          self.guest('cat /tmp/e%d' % w))
            acked[w] = int(last) - 1
            failed += 1
        self.assertEqual(self.sysfs('ring_resets'), '1')
        halts = self.dmesg(r'ring halted \(STATUS=0x[0-9a-f]+, ERROR=8: '
                           r'bad descriptor\), resetting it; records in '
                           r'flight, failed with EIO: (\d+)')
        self.assertEqual(halts, [str(failed)], self.guest('dmesg'))
        self.assertGreaterEqual(failed, 1)
        self.assertTrue(self.pci_command() & PCI_COMMAND_MASTER)
        self.check_still_bound()

        # and the ring works on
        self.guest('predlog-log after-writers')
        total = sum(acked.values()) + 1
        self.assertEqual(self.sysfs('records'), str(total))
        self.assertEqual(self.logged(), total)

        guest = self.recovered_guest_records()
        messages = [r['message'] for r in guest]
        for w, n in acked.items():
            self.assertEqual([m for m in messages
                              if m.startswith('writer-%d ' % w)],
                             ['writer-%d #%d' % (w, i)
                              for i in range(1, n + 1)])
        self.assertEqual(messages[-1], 'after-writers')
        self.assertEqual(len(messages), total)
        self.assertEqual([r['seq'] for r in guest],
                         list(range(1, total + 1)))

    def test_function_reset(self):
        self.start()
        self.guest('predlog-log -n %d before-flr' % BATCH)
        self.guest('echo 1 > %s/device/reset' % SYSFS)
        ring = self.vm.cmd('query-predlog')[0]['ring']
        self.assertFalse(ring['running'], ring)
        # nothing was in flight, so nothing is lost
        self.guest('predlog-log -n %d after-flr' % BATCH)
        self.assertEqual(self.sysfs('ring_resets'), '1')
        stops = self.dmesg(r'ring stopped \(STATUS=0x[0-9a-f]+, ERROR=\d+: '
                           r'[a-z ]+\), resetting it; records in flight, '
                           r'failed with EIO: 0\b')
        self.assertEqual(len(stops), 1, self.guest('dmesg'))
        self.check_still_bound()
        self.assertEqual(self.sysfs('records'), str(2 * BATCH))
        self.assertEqual(self.logged(), 2 * BATCH)
        guest = self.recovered_guest_records()
        self.assertEqual([r['message'] for r in guest],
                         ['before-flr #%d' % i for i in range(1, BATCH + 1)]
                         + ['after-flr #%d' % i
                            for i in range(1, BATCH + 1)])


if __name__ == '__main__':
    predlog_vm.tap_main()
