#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: live-migrate a guest that is using the predlog device.

Run:  tests/functional/test_migration.py     (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR        (see predlog_vm.py)

The source guest boots in heartbeat mode: predlog-info sets CONTROL.ENABLE
and writes 1, 2, 3, ... to SCRATCH once per second.  The destination is
started with -incoming defer and -S, so that after migration it stays
paused until the test has compared its device state with the (also paused,
postmigrate) source: with both sides stopped the comparison is exact and
cannot race the heartbeat.  The test then resumes the destination and
checks that the heartbeat carries on from the migrated value.
"""

import os
import sys
import time
import unittest

# no __pycache__ in the source tree
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

DEVICE = ['-device', 'predlog,id=pl0']
MIGRATE_TIMEOUT_S = 120
# device state that must arrive unchanged (all of it is in the VMState)
MIGRATED_KEYS = ('enabled', 'scratch', 'error', 'vectors', 'mmio-reads',
                 'mmio-writes', 'interrupts')


def predlog_info(vm, dev_id='pl0'):
    """query-predlog entry of one device."""
    for info in vm.cmd('query-predlog'):
        if info['id'] == dev_id:
            return info
    raise AssertionError('query-predlog has no device %r' % dev_id)


wait_until = predlog_vm.wait_until


class MigrationTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)

    def setUp(self):
        self.vms = []

    def tearDown(self):
        for vm in self.vms:
            vm.shutdown()

    def start(self, name, args=()):
        vm = predlog_vm.VM(mode='heartbeat', args=DEVICE + list(args),
                           name=name)
        self.vms.append(vm)
        return vm.launch()

    def test_migrate_heartbeat(self):
        src = self.start('src')
        # Not anchored: in heartbeat mode the guest shell's prompt (and its
        # cursor-position query) can land on the same console line first.
        src.wait_for_console(r'predlog-guest: heartbeat started', timeout=60)
        wait_until(lambda: predlog_info(src)['scratch'] >= 3, 30,
                   'three heartbeats on the source')

        dst = self.start('dst', ['-incoming', 'defer', '-S'])
        uri = 'unix:' + os.path.join(dst.tmpdir, 'migrate.sock')
        dst.cmd('migrate-incoming', uri=uri)
        src.cmd('migrate', uri=uri)

        def finished():
            status = src.cmd('query-migrate').get('status')
            self.assertNotIn(status, ('failed', 'cancelled'),
                             'migration %s: %s' % (
                                 status, src.cmd('query-migrate')))
            return status == 'completed'
        t0 = time.monotonic()
        wait_until(finished, MIGRATE_TIMEOUT_S, 'migration to complete')
        stats = src.cmd('query-migrate')
        predlog_vm.diag('migration took %.1f s (total-time %s ms, downtime '
                        '%s ms)' % (time.monotonic() - t0,
                                    stats.get('total-time'),
                                    stats.get('downtime')))

        # The destination finishes loading a little after the source
        # reports completion; with -S it then sits in 'paused'.
        wait_until(lambda: dst.cmd('query-status')['status'] == 'paused',
                   30, 'destination to finish loading')
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')

        before = predlog_info(src)
        after = predlog_info(dst)
        predlog_vm.diag('source: %s' % before)
        predlog_vm.diag('destination: %s' % after)
        self.assertTrue(after['enabled'])
        self.assertGreaterEqual(after['scratch'], 3)
        for key in MIGRATED_KEYS:
            self.assertEqual(before[key], after[key], key)
        # The QOM property travels with the command line, not the stream;
        # check it reads back through the generic path too.
        self.assertEqual(dst.cmd('qom-get', path='/machine/peripheral/pl0',
                                 property='vectors'), before['vectors'])

        # Resume: the guest keeps running and the heartbeat continues from
        # the migrated counter.
        dst.cmd('cont')
        self.assertEqual(dst.cmd('query-status')['status'], 'running')
        target = after['scratch'] + 2
        wait_until(lambda: predlog_info(dst)['scratch'] >= target, 30,
                   'the heartbeat to continue on the destination')
        resumed = predlog_info(dst)
        self.assertTrue(resumed['enabled'])
        self.assertGreater(resumed['mmio-writes'], after['mmio-writes'])
        self.assertEqual(resumed['error'], 0)


if __name__ == '__main__':
    predlog_vm.tap_main()
