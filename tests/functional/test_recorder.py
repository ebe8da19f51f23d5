#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: record a guest's I/O, kill -9 QEMU, recover pcap and JSON lines.

Run:  tests/functional/test_recorder.py     (prints TAP)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR        (see predlog_vm.py)
      PREDLOG_RECOVER                        predlog-recover binary (default
                                             build/core/tools/predlog-recover)

The guest boots in recorder mode (predlog.ko loaded, eth0 up on slirp) with
a pool in a shared memory-backend-file, a filter-predlog on its netdev and
a predlog block filter over a scratch disk.  The test drives the guest's
shell over the serial socket: it logs records with predlog-log (each one
acknowledged by the device) and pings the slirp gateway, does block I/O on
the filter node through HMP qemu-io, then kills QEMU with SIGKILL and runs
predlog-recover on the pool file.  Every acknowledged record must come
back; the pcap must open in tshark and hold the pings.

A second test kills QEMU while the guest is logging as fast as it can:
whatever instant the kill hits, recovery must give a gap-free prefix of
each function's records, at most one torn record, and a pcap that tshark
reads to the end, with every packet counted before the kill, the pings
the guest sent before the storm and a gap-free run of the ones it sends
during it.
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

POOL_SIZE = 16 * 1024 * 1024


class RecorderTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        reason = predlog_vm.missing_prerequisites()
        if reason:
            raise unittest.SkipTest(reason)
        # tools the test depends on are part of the build: missing is a
        # failure, not a skip
        cls.recover = predlog_vm.recover_binary()
        if not os.access(cls.recover, os.X_OK):
            raise AssertionError('%s not built (make core)' % cls.recover)
        if not shutil.which('tshark'):
            raise AssertionError('tshark not found (./configure installs '
                                 'it)')

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='predlog-recorder-')
        self.pool = os.path.join(self.tmp, 'pool')
        self.disk = os.path.join(self.tmp, 'disk.raw')
        with open(self.disk, 'wb') as f:
            f.truncate(8 * 1024 * 1024)
        self.vm = None
        self.console = None

    def tearDown(self):
        if self.console:
            self.console.close()
        if self.vm:
            self.vm.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, policy='dynamic'):
        self.policy = policy
        # blk0 has no guest device: the test drives it with qemu-io
        args = (predlog_vm.pool_args(self.pool, POOL_SIZE,
                                     'max-functions=16,policy=%s' % policy)
                + predlog_vm.net_args()
                + predlog_vm.block_args(self.disk, 'payload=on,discard=unmap',
                                        device=False))
        self.vm, self.console = predlog_vm.launch_recorder(args, 'rec')

    def functions(self):
        info = self.vm.cmd('query-predlog')[0]
        return {f['name']: f for f in info['functions']}

    def kill_and_recover(self):
        self.vm.kill()
        self.vm.wait(timeout=30)
        out = os.path.join(self.tmp, 'out')
        res = subprocess.run([self.recover, '--json-summary', '-o', out,
                              self.pool], capture_output=True, text=True,
                             timeout=120)
        predlog_vm.diag('predlog-recover: %s' % res.stdout.strip())
        self.assertEqual(res.returncode, 0, res.stderr)
        summary = json.loads(res.stdout)
        self.assertEqual(summary['pool']['policy'], self.policy,
                         summary['pool'])
        records = []
        jsonl = os.path.join(out, 'records.jsonl')
        if os.path.exists(jsonl):
            with open(jsonl) as f:
                records = [json.loads(line) for line in f]
        return out, summary, records

    @staticmethod
    def summary_function(summary, name):
        for f in summary['functions']:
            if f['name'] == name:
                return f
        raise AssertionError('no function %r in %s' % (name, summary))

    def tshark(self, pcap, *fields, filt=None):
        cmd = ['tshark', '-n', '-r', pcap, '-T', 'fields']
        for field in fields:
            cmd += ['-e', field]
        if filt:
            cmd += ['-Y', filt]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr)
        return [line.split('\t') for line in res.stdout.splitlines()]

    def test_acknowledged_records_survive_kill(self):
        self.start()
        count = 200
        self.assertEqual(self.console.run('predlog-log -n %d e2e-record'
                                          % count)[0], 0)
        self.assertEqual(self.console.run('predlog-log -s err -f 0 '
                                          '"last words"')[0], 0)
        self.assertEqual(self.console.run('ping -c 3 10.0.2.2')[0], 0)
        for cmd in ('write -P 0x5a 0 4096', 'read 0 4096',
                    'write -z 65536 4096', 'discard 65536 4096', 'flush'):
            out = self.vm.cmd('human-monitor-command',
                              **{'command-line': 'qemu-io blk0 "%s"'
                                 % cmd})
            self.assertNotIn('error', out.lower(), cmd)

        funcs = self.functions()
        predlog_vm.diag('before kill: %s' % json.dumps(funcs))
        self.assertEqual(funcs['guest0']['records'], count + 1)
        self.assertGreater(funcs['net0']['records'], 6)
        self.assertGreaterEqual(funcs['blk0']['records'], 5)
        for f in funcs.values():
            self.assertEqual(f['dropped'], 0, f)

        out, summary, records = self.kill_and_recover()

        # every acknowledged guest record, exactly once, in order
        guest = [r for r in records if r['kind'] == 'guest']
        messages = [r['message'] for r in guest]
        self.assertEqual(messages[:count],
                         ['e2e-record #%d' % i for i in range(1, count + 1)])
        self.assertEqual(messages[count], 'last words')
        self.assertEqual(guest[count]['severity'], 3)
        self.assertEqual([r['seq'] for r in guest],
                         list(range(1, count + 2)))
        g0 = self.summary_function(summary, 'guest0')
        self.assertEqual(g0['committed'], count + 1)
        self.assertEqual(g0['overwritten'], 0)

        # the block requests, with their data
        block = [r for r in records if r['kind'] == 'block']
        ops = [r['op'] for r in block]
        for op in ('write', 'read', 'write_zeroes', 'discard', 'flush'):
            self.assertTrue(any(o.replace('-', '_') == op for o in ops),
                            '%s not in %s' % (op, ops))
        first_write = next(r for r in block if r['op'] == 'write')
        self.assertEqual(first_write['offset'], 0)
        self.assertEqual(first_write['bytes'], 4096)
        self.assertEqual(first_write['ret'], 0)

        # the network function as pcap: every packet the tap counted
        # before the kill, readable by tshark, pings included
        pcap = os.path.join(out, 'net0.pcap')
        frames = self.tshark(pcap, 'frame.len', 'frame.cap_len')
        n0 = self.summary_function(summary, 'net0')
        self.assertGreaterEqual(len(frames), funcs['net0']['records'])
        self.assertEqual(len(frames), n0['committed'])
        echo = self.tshark(pcap, 'icmp.type', filt='icmp')
        types = [row[0] for row in echo]
        self.assertGreaterEqual(types.count('8'), 3)    # requests
        self.assertGreaterEqual(types.count('0'), 3)    # replies

    def echo_seqs(self, pcap):
        """{icmp.ident: (echo request seqs, echo reply seqs)} of @pcap."""
        pings = {}
        for icmp_type, ident, seq in self.tshark(
                pcap, 'icmp.type', 'icmp.ident', 'icmp.seq',
                filt='icmp.type == 8 || icmp.type == 0'):
            requests, replies = pings.setdefault(int(ident), ([], []))
            (requests if icmp_type == '8' else replies).append(int(seq))
        return pings

    def test_kill_while_logging(self):
        self.start(policy='fixed')
        # three pings that are over before the kill, so the pcap must
        # hold them whatever it cuts off
        self.assertEqual(self.console.run('ping -c 3 10.0.2.2')[0], 0)
        net_before = self.functions()['net0']['records']
        # log as fast as the guest can, in the background, plus traffic
        self.assertEqual(self.console.run(
            '(predlog-log -n 1000000 storm >/dev/null 2>&1 &)')[0], 0)
        self.assertEqual(self.console.run(
            '(ping -i 0.2 10.0.2.2 >/dev/null 2>&1 &)')[0], 0)
        deadline = time.monotonic() + 60
        # kill only once both functions are busy, so that both are cut
        # somewhere in the middle of their stream
        while True:
            funcs = self.functions()
            if (funcs['guest0']['records'] >= 300 and
                    funcs['net0']['records'] >= net_before + 2):
                break
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        out, summary, records = self.kill_and_recover()

        for name in ('guest0', 'net0'):
            f = self.summary_function(summary, name)
            self.assertLessEqual(f['torn'], 1, f)
            self.assertGreater(f['committed'], 0, f)
            # the pool was big enough: nothing overwritten, no gaps
            self.assertEqual(f['overwritten'], 0, f)
        seqs = [r['seq'] for r in records if r['kind'] == 'guest']
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        self.assertGreaterEqual(len(seqs), 300)
        messages = [r['message'] for r in records if r['kind'] == 'guest']
        self.assertEqual(messages[-1], 'storm #%d' % len(seqs))

        # the network function as pcap, cut at the kill: tshark reads it
        # to the end (it fails on a truncated or corrupt packet), it holds
        # every packet recovery committed (and says it wrote) and at least
        # every one the tap had counted at the last query before the
        # kill, each one whole
        pcap = os.path.join(out, 'net0.pcap')
        frames = self.tshark(pcap, 'frame.len', 'frame.cap_len')
        n0 = self.summary_function(summary, 'net0')
        predlog_vm.diag('net0.pcap: %d frames, %d counted before the kill'
                        % (len(frames), funcs['net0']['records']))
        self.assertEqual(len(frames), n0['committed'])
        self.assertEqual(len(frames), n0['packets'])
        self.assertGreaterEqual(len(frames), funcs['net0']['records'])
        for length, cap_len in frames:
            self.assertEqual(cap_len, length)  # far below the snaplen
        # the pings, as a gap-free prefix of what each ping sent: the
        # first one's three requests and replies all there, the background
        # one's requests numbered on from its first without a hole, every
        # one answered but the last, whose reply the kill may have cut
        pings = self.echo_seqs(pcap)
        predlog_vm.diag('echo requests/replies per ping: %s'
                        % {k: (len(v[0]), len(v[1]))
                           for k, v in pings.items()})
        self.assertIn(len(pings), (1, 2), pings)
        first, *rest = pings.values()
        self.assertEqual(first, ([0, 1, 2], [0, 1, 2]))
        for requests, replies in rest:
            self.assertEqual(requests, list(range(len(requests))))
            self.assertIn(replies, (requests, requests[:-1]))


if __name__ == '__main__':
    predlog_vm.tap_main()
