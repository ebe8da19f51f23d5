#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: background snapshots with predlog-cow restore exactly.

Run:  tests/functional/test_snapshot_cow.py     (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR               (see predlog_vm.py)
      PREDLOG_QEMU_STOCK  stock QEMU for the restore into stock (default
                          build/qemu-stock/qemu-system-x86_64)

The guest boots in workload mode running predlog-memstress unpaced (as
fast as TCG runs it; 90 % of the writes into a hot 10 % of its 64 MiB):
every page's content follows from its index and a version counter kept in
the same memory, so after a restore the program itself checks that all
of its memory is exactly as it was at one instant.  A page saved after
the guest wrote it, or a copy taken too late, shows up as a mismatch.

  test_snapshots_restore  two background snapshots of one VM with
                    predlog-cow on (the second builds its partitions from
                    the first's faults); query-migrate and HMP's info
                    migrate report the faults the partitions served; the
                    second restores into our QEMU and the first into stock
                    QEMU, and the workload verifies both
  test_with_device  the same with -device predlog on both sides
  test_cancel_and_kill  a snapshot is cancelled while it runs, another
                    loses its destination (exec: into a process that never
                    reads) to kill -9: while each runs the guest's RAM is
                    write-protected (pagemap's uffd-wp bit), after each it
                    is not, the guest goes on writing, and a snapshot
                    after both restores exactly.  (While the destination
                    does not read, QEMU's monitor may not answer either:
                    a stock background snapshot blocks the main loop too
                    once it writes guest RAM; the kill ends that.)
  test_stock_check_fails  the check can fail: with the capability off, a
                    page corrupted after the snapshot (through the
                    destination's console) is reported
"""

import os
import re
import struct
import sys
import tempfile
import time
import unittest

# no __pycache__ in the source tree
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

MEMORY_MB = 512
WORKLOAD_MB = 64
# unpaced: the rate memstress accepts at most, far above what TCG reaches
WORKLOAD = ['predlog-memstress', '--mode', 'hotcold', '--mb',
            str(WORKLOAD_MB), '--rate', '100000000', '--report-ms', '200']
SNAPSHOT_TIMEOUT_S = 120
VERIFY_TIMEOUT_S = 120
STOCK_QEMU = os.path.join(predlog_vm.REPO, 'build', 'qemu-stock',
                          'qemu-system-x86_64')
PAGE = 4096
PM_UFFD_WP = 1 << 57            # /proc/PID/pagemap: pte is uffd-wp

READY = re.compile(r'memstress: ready pages=(\d+) pid=(\d+)')
BUFFER = re.compile(r'memstress: buffer addr=(0x[0-9a-f]+) bytes=(\d+)')
PROGRESS = re.compile(r'memstress: P t_ms=(\d+) writes=(\d+) missed=(\d+)')
VERIFY = re.compile(r'memstress: verify (?:ok pages=(\d+) writes=(\d+)|'
                    r'FAIL mismatches=(\d+) first=(\d+))')

wait_until = predlog_vm.wait_until


def guest_ram_range(pid):
    """(start, end) of QEMU @pid's guest RAM: its one read-write mapping
    of exactly the RAM size (TCG's code buffer is larger, rwx)."""
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split('-'))
            if hi - lo == MEMORY_MB << 20 and fields[1] == 'rw-p':
                return lo, hi
    raise AssertionError('no %d MiB mapping in /proc/%d/maps'
                         % (MEMORY_MB, pid))


def write_protected_pages(pid):
    """Pages of QEMU @pid's guest RAM that are uffd write-protected."""
    lo, hi = guest_ram_range(pid)
    n = 0
    with open('/proc/%d/pagemap' % pid, 'rb') as f:
        f.seek(lo // PAGE * 8)
        data = f.read((hi - lo) // PAGE * 8)
    for (entry,) in struct.iter_unpack('<Q', data):
        n += bool(entry & PM_UFFD_WP)
    return n


class SnapshotCowTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)
        cls.tmpdir = tempfile.mkdtemp(prefix='predlog-snap-')

    def setUp(self):
        self.vms = []
        self.pid = None

    def tearDown(self):
        for vm, console in self.vms:
            console.close()
            vm.shutdown()

    # -- helpers -------------------------------------------------------

    def launch(self, name, args=(), qemu=None):
        vm = predlog_vm.VM(mode='workload',
                           append='predlog.workload=' + ','.join(WORKLOAD),
                           args=list(args), memory=MEMORY_MB,
                           console='socket', name=name, qemu=qemu)
        vm.launch()
        console = predlog_vm.Console(vm.console_socket)
        self.vms.append((vm, console))
        return vm, console

    def retire(self, vm):
        for entry in self.vms:
            if entry[0] is vm:
                self.vms.remove(entry)
                entry[1].close()
                vm.shutdown()
                return

    def progress(self, console, start=0):
        return [tuple(map(int, m.groups()))
                for m in PROGRESS.finditer(console.text(), start)]

    def boot_source(self, args=()):
        vm, console = self.launch('src', args)
        m = console.wait_for(READY.pattern + r'|predlog-guest: workload '
                             r'failed.*|predlog-\w+: not found', timeout=120)
        self.assertIsNotNone(m.group(1), 'workload did not start: %s'
                             % m.group(0))
        self.pid = int(m.group(2))
        buffer = BUFFER.search(console.text())
        self.buffer_addr = int(buffer.group(1), 16) if buffer else None
        wait_until(lambda: len(self.progress(console, m.end())) >= 3, 30,
                   'progress lines from the workload')
        return vm, console

    def set_caps(self, vm, cow):
        caps = [{'capability': 'background-snapshot', 'state': True},
                {'capability': 'predlog-cow', 'state': cow}]
        vm.cmd('migrate-set-capabilities', capabilities=caps)

    def wait_done(self, vm, what):
        def done():
            info = vm.cmd('query-migrate')
            if info.get('status') in ('failed', 'cancelled'):
                return info
            return info if info.get('status') == 'completed' else None
        info = wait_until(done, SNAPSHOT_TIMEOUT_S, what)
        return info

    def snapshot(self, vm, console, name):
        """A background snapshot of @vm into a new file; its path and
        query-migrate.  The guest keeps writing while it runs."""
        path = os.path.join(self.tmpdir, name)
        if os.path.exists(path):
            os.unlink(path)
        vm.cmd('migrate', uri='file:' + path)
        info = self.wait_done(vm, 'snapshot %s' % name)
        self.assertEqual(info['status'], 'completed',
                         'snapshot %s: %s' % (name, info))
        self.assertEqual(vm.cmd('query-status')['status'], 'running')
        last = self.progress(console)[-1][1]
        wait_until(lambda: self.progress(console)[-1][1] > last, 30,
                   'the workload to go on after snapshot %s' % name)
        predlog_vm.diag('%s: %s ms, %.1f MiB, predlog-cow %s'
                        % (name, info.get('total-time'),
                           info['ram']['transferred'] / 2**20,
                           info.get('predlog-cow')))
        return path, info

    def restore(self, path, name, args=(), qemu=None):
        vm, console = self.launch(name, list(args) + ['-incoming', 'defer'],
                                  qemu)
        vm.cmd('migrate-incoming', uri='file:' + path)
        wait_until(lambda: vm.cmd('query-status')['status'] == 'running',
                   60, '%s to load %s and run' % (name, path))
        return vm, console

    def verify(self, console, where):
        """SIGUSR1 the workload; (mismatches, its verify line)."""
        handle = console.start('kill -USR1 %d' % self.pid)
        status, out = console.finish(handle, timeout=30)
        self.assertEqual(status, 0, 'kill -USR1 on %s failed: %s'
                         % (where, out))
        m = console.wait_for(VERIFY.pattern, VERIFY_TIMEOUT_S, handle[1])
        predlog_vm.diag('%s: %s' % (where, m.group(0)))
        if m.group(3) is not None:
            return int(m.group(3)), m.group(0)
        self.assertEqual(int(m.group(1)), WORKLOAD_MB << 8)
        return 0, m.group(0)

    # -- tests ---------------------------------------------------------

    def test_snapshots_restore(self):
        src, con = self.boot_source()
        self.set_caps(src, cow=True)
        first, info1 = self.snapshot(src, con, 'first')
        second, info2 = self.snapshot(src, con, 'second')
        for info in (info1, info2):
            cow = info.get('predlog-cow')
            self.assertIsInstance(cow, dict, info)
            # the unpaced writer faults; every fault is served one way
            self.assertGreater(cow['faults'], 0, cow)
            self.assertEqual(cow['faults'], cow['faults-copied'] +
                             cow['faults-fallback'], cow)
            self.assertGreaterEqual(cow['pages-copied'],
                                    cow['faults-copied'], cow)
            self.assertLessEqual(cow['bounce-peak'], cow['bounce-size'])
            # 5 % of guest RAM by default
            self.assertLessEqual(cow['bounce-size'],
                                 MEMORY_MB * 2**20 * 5 // 100)
        # the second snapshot started from the first one's faults
        self.assertEqual(info2['predlog-cow']['previous-faults'],
                         info1['predlog-cow']['faults'])
        self.assertGreater(info2['predlog-cow']['hot-partitions'], 0)
        hmp = src.cmd('human-monitor-command', **{'command-line':
                                                  'info migrate'})
        self.assertIn('predlog-cow faults: %d' % info2['predlog-cow']
                      ['faults'], hmp)
        self.retire(src)

        ours, con_ours = self.restore(second, 'ours')
        mismatches, line = self.verify(con_ours, 'our QEMU, second')
        self.assertEqual(mismatches, 0, line)
        self.retire(ours)
        if not os.access(STOCK_QEMU, os.X_OK):
            self.fail('stock QEMU %s not built (make qemu-stock)'
                      % STOCK_QEMU)
        stock, con_stock = self.restore(first, 'stock', qemu=os.environ.get(
            'PREDLOG_QEMU_STOCK', STOCK_QEMU))
        mismatches, line = self.verify(con_stock, 'stock QEMU, first')
        self.assertEqual(mismatches, 0, line)

    def test_with_device(self):
        device = ['-device', 'predlog,id=pl0']
        src, con = self.boot_source(device)
        self.set_caps(src, cow=True)
        path, info = self.snapshot(src, con, 'device')
        self.assertGreater(info['predlog-cow']['faults'], 0)
        self.retire(src)
        dst, con_dst = self.restore(path, 'dst', device)
        mismatches, line = self.verify(con_dst, 'dst')
        self.assertEqual(mismatches, 0, line)

    def stuck_snapshot(self, vm):
        """Start a snapshot into a process that never reads; return that
        process's pid once guest RAM is write-protected."""
        pidfile = os.path.join(self.tmpdir, 'sink.pid')
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        vm.cmd('migrate', uri='exec:echo $$ >%s; exec sleep 600' % pidfile)
        wait_until(lambda: os.path.exists(pidfile) and
                   open(pidfile).read().strip(), 30, 'the sink to start')
        wp = wait_until(lambda: write_protected_pages(vm.proc.pid), 30,
                        'guest RAM to be write-protected')
        predlog_vm.diag('stuck snapshot: %d pages write-protected' % wp)
        return int(open(pidfile).read())

    def assert_unprotected_and_writing(self, vm, console, what):
        self.assertEqual(write_protected_pages(vm.proc.pid), 0,
                         'write-protected guest RAM left after %s' % what)
        self.assertEqual(vm.cmd('query-status')['status'], 'running')
        last = self.progress(console)[-1][1]
        wait_until(lambda: self.progress(console)[-1][1] > last, 30,
                   'the workload to go on after %s' % what)

    def test_cancel_and_kill(self):
        src, con = self.boot_source()
        self.set_caps(src, cow=True)
        path = os.path.join(self.tmpdir, 'cancelled')
        src.cmd('migrate', uri='file:' + path)
        # cancel once pages are being saved: RAM is write-protected then
        wait_until(lambda: src.cmd('query-migrate').get('ram', {})
                   .get('normal', 0) > 0, 30, 'the first pages saved')
        wp = write_protected_pages(src.proc.pid)
        src.cmd('migrate_cancel')
        info = self.wait_done(src, 'the cancel')
        predlog_vm.diag('cancelled with %d pages write-protected: %s'
                        % (wp, info['status']))
        self.assertGreater(wp, 0, 'nothing was write-protected: the check '
                           'below would prove nothing')
        self.assertEqual(info['status'], 'cancelled', info)
        self.assert_unprotected_and_writing(src, con, 'migrate_cancel')

        sink = self.stuck_snapshot(src)
        os.kill(sink, 9)
        info = self.wait_done(src, 'the snapshot to fail')
        self.assertEqual(info['status'], 'failed', info)
        self.assert_unprotected_and_writing(src, con, 'kill -9 of the '
                                            'destination')
        # and a snapshot after both still restores exactly
        path, info = self.snapshot(src, con, 'after')
        self.retire(src)
        dst, con_dst = self.restore(path, 'dst')
        mismatches, line = self.verify(con_dst, 'dst')
        self.assertEqual(mismatches, 0, line)

    def test_stock_check_fails(self):
        src, con = self.boot_source()
        self.set_caps(src, cow=False)
        path, info = self.snapshot(src, con, 'stock')
        self.assertNotIn('predlog-cow', info)
        self.retire(src)
        dst, con_dst = self.restore(path, 'dst')
        mismatches, line = self.verify(con_dst, 'dst, as saved')
        self.assertEqual(mismatches, 0, line)
        # overwrite 4 bytes in three slots of one page through
        # /proc/PID/mem: a write of the workload rewrites one slot, so at
        # least two stay wrong until the check runs
        self.assertIsNotNone(self.buffer_addr, 'no "buffer addr=" line')
        page = (WORKLOAD_MB << 8) // 3
        for slot in (10, 100, 200):
            offset = self.buffer_addr + page * PAGE + slot * 16
            status, out = con_dst.run(
                'printf XXXX | dd of=/proc/%d/mem bs=1 seek=%d conv=notrunc'
                ' 2>/dev/null' % (self.pid, offset), timeout=30)
            self.assertEqual(status, 0, out)
        mismatches, line = self.verify(con_dst, 'dst, page %d corrupted'
                                       % page)
        self.assertEqual(line, 'memstress: verify FAIL mismatches=1 '
                         'first=%d' % page)


if __name__ == '__main__':
    predlog_vm.tap_main()
