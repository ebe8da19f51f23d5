#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: live migration with predictive dirty-page logging loses nothing.

Run:  tests/functional/test_migration_predlog.py     (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR               (see predlog_vm.py)
      PREDLOG_QEMU_STOCK  stock QEMU for test_predlog_into_stock (default
                          build/qemu-stock/qemu-system-x86_64)

The guest boots in workload mode running predlog-memstress: a paced writer
(20000 pages/s, 90 % of them into a hot 10 % of its 64 MiB) whose every
page's content follows from its index and a version counter, so the
program itself can check all of its memory.  The chain runs it with a hot
region that moves every second, the case a dirty-page predictor gets most
wrong: pages it expects to be rewritten go cold and cold pages turn hot in
the middle of a migration.

Each migration is capped at 64 MiB/s so that pre-copy needs several
dirty-sync iterations while the guest keeps writing; after each hop the
test sends SIGUSR1 to the workload through the destination's console shell
and requires "verify ok" (every page exactly as expected).

  test_predlog_chain   src -> dst1 -> dst2 -> dst3 with the "predlog"
                       capability on for every hop; the source's
                       query-migrate carries a "predlog" object
  test_predlog_device  one hop with the capability on and -device predlog
                       on both sides
  test_predlog_realwork  one hop with the capability on while busybox gzip
                       compresses a file on tmpfs in a loop (page cache
                       churn, a hot heap, the vCPU always busy); its
                       output and input must still check out
  test_predlog_decisions  a downtime budget smaller than the hot set:
                       with the capability the migration must defer hot
                       pages, pre-log them and send them as deltas, and
                       query-migrate, HMP's info migrate and the
                       predlog_ram_* trace events must agree on it; the
                       same migration without it then needs more bytes
  test_predlog_into_stock  the same with the capability on, into a stock
                       QEMU destination (make qemu-stock)
  test_stock           one hop with the capability off: stock pre-copy,
                       no "predlog" object in query-migrate; then a page
                       is corrupted on purpose to show that the check can
                       fail
"""

import os
import re
import shutil
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
WORKLOAD_RATE = 20000
WORKLOAD = ['predlog-memstress', '--mode', 'hotcold', '--mb',
            str(WORKLOAD_MB), '--rate', str(WORKLOAD_RATE)]
MOVING_WORKLOAD = ['predlog-memstress', '--mode', 'moving', '--move-secs', '1',
                   '--mb', str(WORKLOAD_MB), '--rate', str(WORKLOAD_RATE)]
# a real program: busybox gzip over a file on tmpfs, one iteration every
# ~10 s under TCG (tests/guest/predlog-realwork)
REALWORK_MB = 32
REALWORK = ['predlog-realwork', '--mb', str(REALWORK_MB)]
# bytes/s; well below what a unix socket carries, so that the first pass
# over the workload takes a second and the hot pages are dirty again by
# its end
MAX_BANDWIDTH = 64 << 20
DOWNTIME_LIMIT_MS = 300
MIGRATE_TIMEOUT_S = 180
VERIFY_TIMEOUT_S = 120
# test_predlog_decisions: at 32 MiB/s and 100 ms the downtime budget holds
# 819 pages, half of the workload's 1638 hot pages (each rewritten ~11
# times a second): pre-copy converges only if the hot pages wait for the
# final round and go there as deltas
DECISION_WORKLOAD = WORKLOAD
DECISION_PARAMETERS = {'max-bandwidth': 32 << 20, 'downtime-limit': 100}
# values for the capability's parameters on one hop of the chain
PREDLOG_PARAMETERS = {
    'predlog-history': 4,
    'predlog-defer-budget': 20,
    'predlog-hot-threshold': 50,
}

# stock QEMU 10.0 from the same Debian source (make qemu-stock)
STOCK_QEMU = os.path.join(predlog_vm.REPO, 'build', 'qemu-stock',
                          'qemu-system-x86_64')

READY = re.compile(r'memstress: ready pages=(\d+) pid=(\d+)')
BUFFER = re.compile(r'memstress: buffer addr=(0x[0-9a-f]+) bytes=(\d+)')
PROGRESS = re.compile(r'memstress: P t_ms=(\d+) writes=(\d+) missed=(\d+)')
VERIFY = re.compile(r'memstress: verify (?:ok pages=(\d+) writes=(\d+)|'
                    r'FAIL mismatches=(\d+) first=(\d+))')


wait_until = predlog_vm.wait_until


class Guest:
    """One QEMU process of the migrating guest, with its console."""

    def __init__(self, vm, console):
        self.vm = vm
        self.console = console

    def cmd(self, name, **args):
        return self.vm.cmd(name, **args)

    def progress(self, start=0):
        """[(t_ms, writes, missed)] of the progress lines from @start."""
        return [tuple(map(int, m.groups()))
                for m in PROGRESS.finditer(self.console.text(), start)]

    def close(self):
        self.console.close()
        self.vm.shutdown()


class PredlogMigrationTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)

    def setUp(self):
        self.guests = []
        self.workload = WORKLOAD
        self.pid = None
        self.pages = None
        self.buffer_addr = None

    def tearDown(self):
        for guest in self.guests:
            guest.close()

    # -- helpers -------------------------------------------------------

    def launch(self, name, args=(), workload=WORKLOAD, qemu=None):
        # the destination's command line must match the source's; its
        # guest never runs the workload itself, it arrives with the RAM
        vm = predlog_vm.VM(mode='workload',
                           append='predlog.workload=' + ','.join(workload),
                           args=list(args), memory=MEMORY_MB,
                           console='socket', name=name, qemu=qemu)
        vm.launch()
        # connect at once: a socket chardev drops output nobody reads
        guest = Guest(vm, predlog_vm.Console(vm.console_socket))
        self.guests.append(guest)
        return guest

    def boot_source(self, args=(), workload=WORKLOAD, mb=WORKLOAD_MB,
                    progress_lines=2, progress_timeout=30):
        self.workload = workload
        src = self.launch('src', args, workload)
        m = src.console.wait_for(
            READY.pattern + r'|predlog-guest: workload failed.*|'
            r'predlog-\w+: not found', timeout=120)
        self.assertIsNotNone(m.group(1), 'workload did not start: %s'
                             % m.group(0))
        self.pages, self.pid = int(m.group(1)), int(m.group(2))
        self.assertEqual(self.pages, mb << 8)
        buffer = BUFFER.search(src.console.text())
        self.buffer_addr = int(buffer.group(1), 16) if buffer else None
        # the workload is writing before anything is migrated ...
        wait_until(lambda: len(src.progress(m.end())) >= progress_lines,
                   progress_timeout, 'progress lines from the workload')
        # ... and its check passes before anything is migrated
        self.verify(src, 'source before migration')
        return src

    def verify(self, guest, where):
        """SIGUSR1 the workload; return (mismatches, verify line)."""
        handle = guest.console.start('kill -USR1 %d' % self.pid)
        status, out = guest.console.finish(handle, timeout=30)
        self.assertEqual(status, 0, 'kill -USR1 %d on the %s failed: %s'
                         % (self.pid, where, out))
        m = guest.console.wait_for(VERIFY.pattern, VERIFY_TIMEOUT_S,
                                   handle[1])
        predlog_vm.diag('%s: %s' % (where, m.group(0)))
        if m.group(3) is not None:
            return int(m.group(3)), m.group(0)
        self.assertEqual(int(m.group(1)), self.pages)
        return 0, m.group(0)

    def start_migration(self, src, name, predlog, args=(), parameters=None,
                        qemu=None):
        """Start migrating @src to a new guest @name; return it."""
        dst = self.launch(name, list(args) + ['-incoming', 'defer'],
                          self.workload, qemu)
        uri = 'unix:' + os.path.join(dst.vm.tmpdir, 'migrate.sock')
        dst.cmd('migrate-incoming', uri=uri)

        caps = {c['capability']: c['state']
                for c in src.cmd('query-migrate-capabilities')}
        if predlog:
            self.assertIn('predlog', caps,
                          'this QEMU has no "predlog" migration capability')
            src.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'predlog', 'state': True}])
        elif 'predlog' in caps:
            # off by default: nothing sets it here
            self.assertFalse(caps['predlog'])
        params = {'max-bandwidth': MAX_BANDWIDTH,
                  'downtime-limit': DOWNTIME_LIMIT_MS}
        params.update(parameters or {})
        src.cmd('migrate-set-parameters', **params)
        got = src.cmd('query-migrate-parameters')
        for key, value in params.items():
            self.assertEqual(got.get(key), value, key)

        src.cmd('migrate', uri=uri)
        return dst

    def migrate(self, src, name, predlog, args=(), parameters=None,
                qemu=None):
        """Migrate @src to a new guest @name; return (dst, query-migrate).

        @qemu: the destination's binary (default: ours)
        """
        before = len(src.console.text())
        t0 = time.monotonic()
        dst = self.start_migration(src, name, predlog, args, parameters, qemu)

        def finished():
            info = src.cmd('query-migrate')
            self.assertNotIn(info.get('status'), ('failed', 'cancelled'),
                             'migration to %s: %s' % (name, info))
            return info if info.get('status') == 'completed' else None
        info = wait_until(finished, MIGRATE_TIMEOUT_S,
                          'migration to %s to complete' % name)
        ram = info.get('ram', {})
        predlog_vm.diag(
            '-> %s: %.1f s, total-time %s ms, downtime %s ms, '
            'transferred %.1f MiB, dirty-sync-count %s, predlog %s'
            % (name, time.monotonic() - t0, info.get('total-time'),
               info.get('downtime'), ram.get('transferred', 0) / 2**20,
               ram.get('dirty-sync-count'), info.get('predlog')))

        wait_until(lambda: dst.cmd('query-status')['status'] == 'running',
                   30, '%s to run' % name)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        # while the source ran, the guest kept writing
        during = src.progress(before)
        if len(during) >= 2:
            dt = (during[-1][0] - during[0][0]) / 1000 or 1
            predlog_vm.diag('   workload on the source meanwhile: %.0f '
                            'writes/s, %.0f missed/s'
                            % ((during[-1][1] - during[0][1]) / dt,
                               (during[-1][2] - during[0][2]) / dt))
        # and it goes on writing on the destination
        last = src.progress()[-1][1]
        wait_until(lambda: any(p[1] > last for p in dst.progress()),
                   VERIFY_TIMEOUT_S,
                   'the workload to make progress on %s' % name)
        # The pre-copy really iterated: the initial sync, at least one
        # while the guest ran, and the final one.
        self.assertGreaterEqual(ram.get('dirty-sync-count', 0), 3, info)
        return dst, info

    def retire(self, guest):
        self.guests.remove(guest)
        guest.close()

    # -- tests ---------------------------------------------------------

    def test_predlog_chain(self):
        guest = self.boot_source(workload=MOVING_WORKLOAD)
        results = []
        for hop in (1, 2, 3):
            name = 'dst%d' % hop
            dst, info = self.migrate(
                guest, name, predlog=True,
                parameters=PREDLOG_PARAMETERS if hop == 2 else None)
            self.assertEqual(info['status'], 'completed')
            self.assertIn('predlog', info)
            self.assertIsInstance(info['predlog'], dict)
            self.retire(guest)
            guest = dst
            results.append((name,) + self.verify(guest, name))
        bad = [r for r in results if r[1]]
        self.assertEqual(sum(r[1] for r in results), 0,
                         'pages lost or torn: %s' % bad)

    def test_predlog_device(self):
        device = ['-device', 'predlog,id=pl0']
        src = self.boot_source(device)
        dst, info = self.migrate(src, 'dst', predlog=True, args=device)
        self.assertEqual(info['status'], 'completed')
        self.assertIn('predlog', info)
        self.assertIsInstance(info['predlog'], dict)
        mismatches, line = self.verify(dst, 'dst')
        self.assertEqual(mismatches, 0, line)

    def test_predlog_realwork(self):
        src = self.boot_source(workload=REALWORK, mb=REALWORK_MB,
                               progress_lines=1, progress_timeout=120)
        dst, info = self.migrate(src, 'dst', predlog=True)
        self.assertEqual(info['status'], 'completed')
        self.assertIsInstance(info.get('predlog'), dict)
        mismatches, line = self.verify(dst, 'dst')
        self.assertEqual(mismatches, 0, line)

    def test_predlog_decisions(self):
        """The hot/cold guest, once with the capability and once without.

        At DECISION_PARAMETERS the downtime budget is smaller than the hot
        set, so pre-copy can only converge by keeping the hot pages for
        the final round and sending them there as deltas.  src -> dst1
        with predlog must do exactly that: hot pages passed over by the
        search (deferred-total), pre-logged, deferred at switchover within
        the budget, sent as deltas; dst1 then gets every page right.
        dst1 -> dst2 without predlog, same limits, the workload still
        writing, must need more bytes: either it completes with more, or
        it has sent more and is still going (then it is cancelled and
        dst1 must still be intact).
        """
        trace_dir = tempfile.mkdtemp(prefix='predlog-trace-')
        self.addCleanup(shutil.rmtree, trace_dir, ignore_errors=True)
        trace_log = os.path.join(trace_dir, 'src.log')
        src = self.boot_source(['-trace', 'enable=predlog_ram_*',
                                '-D', trace_log],
                               workload=DECISION_WORKLOAD)
        dst1, on = self.migrate(src, 'dst1', predlog=True,
                                parameters=DECISION_PARAMETERS)
        self.check_reports(src, on['predlog'], trace_log)
        self.retire(src)
        mismatches, line = self.verify(dst1, 'dst1')
        self.assertEqual(mismatches, 0, line)

        stats = on['predlog']
        self.assertGreater(stats['prelogged-pages'], 0, stats)
        self.assertGreater(stats['deferred-total'], 0, stats)
        self.assertGreater(stats['deferred-pages'], 0, stats)
        self.assertGreater(stats['delta-pages'], 0, stats)
        self.assertLessEqual(stats['deferred-pages'],
                             stats['defer-budget-pages'], stats)
        on_bytes = on['ram']['transferred']

        dst2 = self.start_migration(dst1, 'dst2', predlog=False,
                                    parameters=DECISION_PARAMETERS)

        def done_or_more():
            info = dst1.cmd('query-migrate')
            self.assertNotIn(info.get('status'), ('failed', 'cancelled'),
                             info)
            if (info.get('status') == 'completed' or
                    info.get('ram', {}).get('transferred', 0) > on_bytes):
                return info
            return None
        off = wait_until(done_or_more, MIGRATE_TIMEOUT_S,
                         'the migration without predlog to complete or to '
                         'send more than the one with it')
        off_bytes = off['ram']['transferred']
        predlog_vm.diag('with predlog: %.1f MiB, completed; without: %.1f '
                        'MiB, %s' % (on_bytes / 2**20, off_bytes / 2**20,
                                     off['status']))
        self.assertNotIn('predlog', off)
        self.assertGreater(off_bytes, on_bytes)
        if off['status'] != 'completed':
            dst1.cmd('migrate_cancel')
            wait_until(lambda: dst1.cmd('query-status')['status'] ==
                       'running', 30, 'dst1 to run again after cancel')
            self.retire(dst2)
            dst2 = dst1
        mismatches, line = self.verify(dst2, 'after the migration without '
                                       'predlog')
        self.assertEqual(mismatches, 0, line)

    def check_reports(self, src, stats, trace_log):
        """query-migrate's predlog object, HMP's info migrate and the
        trace events of a completed migration tell the same story."""
        self.assertEqual(src.cmd('query-migrate')['predlog'], stats)
        hmp = src.cmd('human-monitor-command',
                      **{'command-line': 'info migrate'})
        for line in (
                'predlog hot pages: %d (budget %d)'
                % (stats['hot-pages'], stats['defer-budget-pages']),
                'predlog deferred pages: %d' % stats['deferred-pages'],
                'predlog pre-logged pages: %d' % stats['prelogged-pages'],
                'predlog delta pages: %d (%d bytes)'
                % (stats['delta-pages'], stats['delta-bytes']),
                'predlog sync periods: %d' % stats['sync-periods']):
            self.assertIn(line, hmp)
        with open(trace_log) as f:
            trace = f.read()
        setups = re.findall(r'predlog_ram_setup pages=\d+ history=(\d+) '
                            r'defer-budget=(\d+)% hot-threshold=(\d+)%',
                            trace)
        self.assertEqual(setups, [('8', '50', '50')], trace[:2000])
        syncs = re.findall(r'predlog_ram_sync period=(\d+) ', trace)
        self.assertTrue(syncs, 'no predlog_ram_sync event')
        self.assertEqual(int(syncs[-1]), stats['sync-periods'])
        prelogs = re.findall(r'predlog_ram_prelog base of hot page', trace)
        self.assertEqual(len(prelogs), stats['prelogged-pages'])
        complete = re.findall(r'predlog_ram_complete final round: '
                              r'deferred=(\d+) delta-pages=(\d+) '
                              r'delta-bytes=(\d+)', trace)
        self.assertEqual(complete, [(str(stats['deferred-pages']),
                                     str(stats['delta-pages']),
                                     str(stats['delta-bytes']))])

    def test_predlog_into_stock(self):
        """Only the source needs the capability: a stock destination.

        The decisions test's migration, with the capability on, into
        stock QEMU 10.0 built from the same source without our files and
        patches (make qemu-stock): the pre-logged hot pages arrive as
        XBZRLE deltas that stock QEMU applies without the xbzrle
        capability, and the guest must find every page right.
        """
        stock = os.environ.get('PREDLOG_QEMU_STOCK', STOCK_QEMU)
        self.assertTrue(os.access(stock, os.X_OK),
                        'stock QEMU %s not built (make qemu-stock)' % stock)
        src = self.boot_source(workload=DECISION_WORKLOAD)
        dst, info = self.migrate(src, 'stock-dst', predlog=True,
                                 parameters=DECISION_PARAMETERS, qemu=stock)
        stats = info['predlog']
        self.assertGreater(stats['delta-pages'], 0, stats)
        caps = {c['capability'] for c in dst.cmd('query-migrate-capabilities')}
        self.assertNotIn('predlog', caps, 'the destination is not stock')
        mismatches, line = self.verify(dst, 'stock destination')
        self.assertEqual(mismatches, 0, line)

    def test_stock(self):
        src = self.boot_source()
        dst, info = self.migrate(src, 'dst', predlog=False)
        self.assertEqual(info['status'], 'completed')
        self.assertNotIn('predlog', info)
        mismatches, line = self.verify(dst, 'dst')
        self.assertEqual(mismatches, 0, line)

        # The check is not blind: overwrite 4 bytes in three slots of one
        # page through /proc/<pid>/mem.  A write of the workload rewrites
        # one slot, so at least two stay wrong until the check runs.
        self.assertIsNotNone(self.buffer_addr, 'no "buffer addr=" line')
        page = self.pages // 3
        for slot in (10, 100, 200):
            offset = self.buffer_addr + page * 4096 + slot * 16
            status, out = dst.console.run(
                'printf XXXX | dd of=/proc/%d/mem bs=1 seek=%d conv=notrunc'
                ' 2>/dev/null' % (self.pid, offset), timeout=30)
            self.assertEqual(status, 0, out)
        mismatches, line = self.verify(dst, 'dst after corrupting page %d'
                                       % page)
        self.assertEqual(line, 'memstress: verify FAIL mismatches=1 '
                         'first=%d' % page)


if __name__ == '__main__':
    predlog_vm.tap_main()
