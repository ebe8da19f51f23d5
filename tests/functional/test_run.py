#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: "make run" (tools/predlog-run) shows the recorder at work and
recovers it on Ctrl-C.

Run:  tests/functional/test_run.py          (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR        (see predlog_vm.py)
      PREDLOG_RECOVER                        predlog-recover binary

The test runs tools/predlog-run as "make run </dev/null >log 2>&1" would,
with its run and output directories in a temporary directory: stdin
/dev/null, stdout and stderr into one pipe, so the table comes as plain
"[predlog] " lines every second.  It waits until the table shows records
for a network, a block and a guest function, sends SIGINT, and expects:
predlog-run exits 0, its QEMU is gone, predlog-recover ran, and every
file the summary names exists and is not empty, a pcap file with
packets that tshark reads among them, and records.jsonl with block and
guest records.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

RUN = os.path.join(predlog_vm.REPO, 'tools', 'predlog-run')
# "[predlog] net0/web   123 ..." : a function's row of the plain table
ROW = re.compile(r'^\[predlog\] (net0|blk0|guest0)/(\S+)\s+(\d+)\s',
                 re.MULTILINE)
# "[predlog]   /tmp/.../net0_web.pcap (12 packets)" : a recovered file
FILE = re.compile(r'^\[predlog\]   (/\S+) \((\d+) (packets|records)\)$',
                  re.MULTILINE)


class RunTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)
        recover = predlog_vm.recover_binary()
        if not os.access(recover, os.X_OK):
            raise AssertionError('%s not built (make core)' % recover)
        if not shutil.which('tshark'):
            raise AssertionError('tshark not found (./configure installs '
                                 'it)')

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='predlog-run-test-')
        self.run_dir = os.path.join(self.tmp, 'run')
        self.out = os.path.join(self.tmp, 'out')
        self.proc = None
        self.buf = ''
        self.lock = threading.Lock()

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _read(self):
        for data in iter(lambda: self.proc.stdout.read1(65536), b''):
            with self.lock:
                self.buf += data.decode('utf-8', 'replace')

    def output(self):
        with self.lock:
            return self.buf

    def wait_output(self, what, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.output())
            if value:
                return value
            if self.proc.poll() is not None:
                time.sleep(0.5)     # the reader may still have some
                value = predicate(self.output())
                if value:
                    return value
                self.fail('predlog-run exited (%s) before %s; it printed:\n'
                          '%s' % (self.proc.returncode, what,
                                  self.output()[-4000:]))
            if time.monotonic() > deadline:
                self.fail('no %s after %g s; predlog-run printed:\n%s'
                          % (what, timeout, self.output()[-4000:]))
            time.sleep(0.2)

    def qemu_pids(self):
        """QEMU processes using our run directory."""
        pids = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    cmdline = f.read().decode(errors='replace')
            except OSError:
                continue
            if 'qemu-system' in cmdline and self.run_dir in cmdline:
                pids.append(int(pid))
        return pids

    @staticmethod
    def busy_sources(text):
        """Sources with a function that logged records, in the last
        table printed."""
        last = text.rfind('[predlog] FUNCTION')
        return {m.group(1) for m in ROW.finditer(text, max(last, 0))
                if int(m.group(3)) > 0}

    def test_run_shows_and_recovers(self):
        self.proc = subprocess.Popen(
            [sys.executable, RUN, '--run-dir', self.run_dir,
             '--out', self.out, '--interval', '1'],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

        self.wait_output('demo ready on the console',
                         lambda t: 'predlog-guest: demo ready' in t or
                         'predlog-guest: demo failed' in t, 120)
        self.assertIn('predlog-guest: demo ready', self.output())
        self.wait_output('records of net0, blk0 and guest0 in the table',
                         lambda t: self.busy_sources(t) ==
                         {'net0', 'blk0', 'guest0'}, 240)
        qemu = self.qemu_pids()
        self.assertEqual(len(qemu), 1, 'QEMU processes: %s' % qemu)
        last = self.output()
        predlog_vm.diag(last[last.rfind('[predlog] predlog rec0'):])

        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.fail('predlog-run still running 300 s after SIGINT:\n%s'
                      % self.output()[-4000:])
        time.sleep(0.5)     # the reader thread's last bytes
        text = self.output()
        tail = text[text.find('[predlog] SIGINT: quitting QEMU'):]
        predlog_vm.diag(tail)
        self.assertEqual(rc, 0, text[-4000:])
        self.assertIn('[predlog] SIGINT: quitting QEMU', text)
        self.assertEqual(self.qemu_pids(), [], 'QEMU still runs')

        # predlog-recover ran, and its summary names the files
        self.assertRegex(tail, r'\[predlog\] recovered \d+ records of \d+ '
                               r'functions')
        with open(os.path.join(self.out, 'summary.json')) as f:
            summary = json.load(f)
        files = {m.group(1): int(m.group(2)) for m in FILE.finditer(tail)}
        self.assertEqual(sorted(files),
                         sorted(os.path.join(self.out, p)
                                for p in summary['files']))
        for path in files:
            self.assertGreater(os.path.getsize(path), 0, path)
        pcaps = [p for p, n in files.items() if p.endswith('.pcap') and n]
        self.assertTrue(pcaps, 'no pcap file with packets in %s' % files)
        jsonl = os.path.join(self.out, 'records.jsonl')
        self.assertIn(jsonl, files)

        # tshark reads the biggest pcap, and finds as many packets as the
        # summary says
        pcap = max(pcaps, key=lambda p: files[p])
        res = subprocess.run(['tshark', '-n', '-r', pcap, '-T', 'fields',
                              '-e', 'frame.len'], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(res.stdout.splitlines()), files[pcap], pcap)

        kinds = set()
        with open(jsonl) as f:
            for line in f:
                r = json.loads(line)
                kinds.add(r.get('summary_of', r['kind']))
        self.assertLessEqual({'block', 'guest'}, kinds)


if __name__ == '__main__':
    predlog_vm.tap_main()
