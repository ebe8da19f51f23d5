#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: a guest's logging burst lowers detail, loses nothing, and
detail comes back when the burst is over.

Run:  tests/functional/test_granularity.py   (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR        (see predlog_vm.py)
      PREDLOG_RECOVER                        predlog-recover binary

The guest boots in recorder mode with policy=predictive (the default) on a
pool far too small to keep its burst whole: 1 MiB, a 10 s horizon,
refresh every 100 ms and no cold-tier compression (so that the sizes are
what the plan sees; the tiers have tests of their own).  It logs slowly
through predlog.ko, then a burst of large records as fast as it can, then
slowly again.  The test expects:

 - a PREDLOG_LEVEL_CHANGED event taking the burst's function below full
   while the burst runs, and query-predlog showing it;
 - no record dropped, and after kill -9 every sequence number of the
   function recoverable, stored or counted by a summary, with records at
   a lower level among them;
 - a PREDLOG_LEVEL_CHANGED event with reason "relief" bringing the
   function back to full once it has been slow again for a while.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

POOL_SIZE = 1024 * 1024
FUNCTION = 'guest0/app.info'
BURST = 3000
# Burst records carry ~700 bytes of message: at full detail the burst
# needs far more than the pool over the horizon.


class GranularityTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)
        cls.recover = predlog_vm.recover_binary()
        if not os.access(cls.recover, os.X_OK):
            raise AssertionError('%s not built (make core)' % cls.recover)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='predlog-granularity-')
        self.pool = os.path.join(self.tmp, 'pool')
        self.vm = None
        self.console = None

    def tearDown(self):
        if self.console:
            self.console.close()
        if self.vm:
            self.vm.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self):
        args = (predlog_vm.pool_args(self.pool, POOL_SIZE,
                                     'max-functions=8,horizon=10,'
                                     'refresh-ms=100,compression=none,'
                                     'snaplen=2048,buffer-size=64K')
                + predlog_vm.net_args(tap=False))
        self.vm, self.console = predlog_vm.launch_recorder(args, 'gran')

    def function(self):
        info = self.vm.cmd('query-predlog')[0]
        for f in info['functions']:
            if f['name'] == FUNCTION:
                return f
        return None

    def level_events(self):
        return [(e['data']['function'], e['data']['old'], e['data']['new'],
                 e['data']['reason'])
                for e in self.vm.qmp.get_events('PREDLOG_LEVEL_CHANGED')]

    def wait_level(self, want, timeout):
        """Poll query-predlog until the function is at @want; events seen."""
        events = []
        deadline = time.monotonic() + timeout
        while True:
            f = self.function()
            events += self.level_events()
            if f and (f['level'] != 'full' if want == '!full'
                      else f['level'] == want):
                return f, events
            if time.monotonic() > deadline:
                self.fail('%s never reached level %s; events %s; now %s'
                          % (FUNCTION, want, events, json.dumps(f)))
            time.sleep(0.2)

    def test_burst_lowers_detail_and_recovers(self):
        self.start()
        steady = ('for i in $(seq 10); do predlog-log "app: steady $i"; '
                  'sleep 0.3; done')
        self.assertEqual(self.console.run(steady, timeout=60)[0], 0)
        f = self.function()
        self.assertIsNotNone(f, 'no function %s' % FUNCTION)
        self.assertEqual(f['level'], 'full')
        self.assertEqual(self.level_events(), [])

        # the burst, in the background so that the test watches it happen
        self.assertEqual(self.console.run(
            '((predlog-log -n %d "app: burst $(printf %%0700d 0)"; '
            'echo burst-done $?) >/tmp/burst.out 2>&1 &)' % BURST)[0], 0)
        f, events = self.wait_level('!full', timeout=60)
        # an overflow step shows in query-predlog at once; its event comes
        # with the next refresh
        deadline = time.monotonic() + 10
        while not any(e[0] == FUNCTION and e[1] == 'full' for e in events):
            self.assertLess(time.monotonic(), deadline,
                            'no level event; events %s' % events)
            time.sleep(0.2)
            self.vm.cmd('query-status')
            events += self.level_events()
        predlog_vm.diag('during the burst: level %s, events %s'
                        % (f['level'], events))
        # wait for the burst to end: every record acknowledged
        deadline = time.monotonic() + 180
        while 'burst-done' not in self.console.run(
                'cat /tmp/burst.out')[1]:
            self.assertLess(time.monotonic(), deadline, 'burst never ended')
            time.sleep(1)
        self.assertIn('burst-done 0', self.console.run('cat /tmp/burst.out')[1])

        # slow again: detail comes back by relief
        self.assertEqual(self.console.run(
            '(for i in $(seq 400); do predlog-log "app: calm $i"; '
            'sleep 0.25; done >/dev/null 2>&1 &)')[0], 0)
        f, more = self.wait_level('full', timeout=120)
        events += more
        predlog_vm.diag('after the burst: %s; events %s'
                        % (json.dumps(f), events))
        self.assertEqual(events[-1][0], FUNCTION)
        self.assertEqual(events[-1][2:], ('full', 'relief'))
        self.assertEqual(f['dropped'], 0)
        self.assertGreaterEqual(f['records'], 10 + BURST)
        self.assertLess(f['records-full'], f['records'])
        logged = f['records']

        # kill -9: every sequence number is there, stored or summarised
        self.vm.kill()
        self.vm.wait(timeout=30)
        out = os.path.join(self.tmp, 'out')
        res = subprocess.run([self.recover, '--json-summary', '-o', out,
                              self.pool], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        summary = json.loads(res.stdout)
        # the pool says its owner planned it by forecast
        self.assertEqual(summary['pool']['policy'], 'predictive',
                         summary['pool'])
        fs = next(x for x in summary['functions'] if x['name'] == FUNCTION)
        predlog_vm.diag('recovered: %s' % json.dumps(fs))
        self.assertGreaterEqual(fs['max_seq'], logged)
        self.assertEqual(fs['overwritten'], 0, fs)
        self.assertLessEqual(fs['torn'], 1, fs)

        covered = set()
        levels = set()
        with open(os.path.join(out, 'records.jsonl')) as fh:
            for line in fh:
                r = json.loads(line)
                if r['function'] != FUNCTION:
                    continue
                levels.add(r['level'])
                if 'first_seq' in r:
                    covered.update(range(r['first_seq'], r['last_seq'] + 1))
                else:
                    covered.add(r['seq'])
        self.assertEqual(covered, set(range(1, fs['max_seq'] + 1)))
        self.assertIn('full', levels)
        self.assertTrue(levels & {'header', 'summary'}, levels)


if __name__ == '__main__':
    predlog_vm.tap_main()
