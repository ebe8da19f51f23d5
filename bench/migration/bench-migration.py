#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Live migration with predlog side by side with stock QEMU's schemes.

Why: predlog's migration capability claims fewer bytes, a shorter
migration and convergence where plain pre-copy does not, at less guest
slowdown than auto-converge.  This runs the same paced guest workloads
through stock pre-copy, XBZRLE, auto-converge, post-copy, predlog and
predlog+XBZRLE in one run, and prints medians, ratios to stock pre-copy
and the issue's targets computed from them (bench/migration/README.md).

How: for every run a source QEMU (TCG, q35, qboot, 1 GiB, the test
guest in workload mode: predlog.mode=workload predlog.workload=<argv>)
boots, its workload prints 'memstress: ready', the harness waits the
warm-up, starts a destination QEMU with -incoming defer, sets the
configuration's capabilities (source, and destination where the stream
needs it) and parameters (max-bandwidth, downtime-limit), migrates over a
unix socket and polls query-migrate every 100 ms until it completes,
fails or times out (then migrate_cancel: converged=false).  The guest's
'memstress: P' lines on both serial consoles, timestamped with the host
clock, give its write rate before and during migration.  After a completed
migration the workload checks its memory on the destination (SIGUSR1:
'memstress: verify ok'), so a fast migration that lost a page shows up.

Output (--out, default build/bench-migration): runs.csv, medians.csv,
meta.json, bytes.png, total-time.png, downtime.png, progress.png and the
consoles of each run in logs/.

Run:  bench/migration/bench-migration.py [--quick] [--runs N] ...
      bench/migration/bench-migration.py --report-only   (re-read runs.csv)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR (see tests/functional/predlog_vm.py)
"""

import argparse
import bisect
import csv
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'functional'))
import predlog_vm  # noqa: E402

MiB = 1024 * 1024

# Each memstress write stores 16 bytes into one of the first SLOTS 16-byte
# slots of a page (256 bytes, four cache lines): hot data that changes in
# place, like counters and queue heads.  Delta encodings (xbzrle, predlog)
# depend on it; the stock configurations do not.
SLOTS = '16'

# argv of each guest workload; {mb} and {rate} come from --mb / --rate
# (predlog-realwork gets '--mb N' only if --mb names it: its own default is
# 64 MiB of input, compressed again and again)
WORKLOADS = {
    'uniform': ['predlog-memstress', '--mode', 'uniform', '--mb', '{mb}',
                '--rate', '{rate}', '--slots', SLOTS],
    'hotcold': ['predlog-memstress', '--mode', 'hotcold', '--mb', '{mb}',
                '--rate', '{rate}', '--hot-pct', '10', '--hot-share', '90',
                '--slots', SLOTS],
    'moving': ['predlog-memstress', '--mode', 'moving', '--mb', '{mb}',
               '--rate', '{rate}', '--hot-pct', '10', '--hot-share', '90',
               '--move-secs', '5', '--slots', SLOTS],
    'real': ['predlog-realwork'],
}

# caps: set on the source; dst_caps: also set on the destination (before
# migrate-incoming) because the incoming side must know.  predlog is
# source-only: its stream is one any QEMU destination loads (the XBZRLE
# deltas it sends need no capability there, like xbzrle's).
CONFIGS = {
    'stock': dict(caps=[], dst_caps=[]),
    'xbzrle': dict(caps=['xbzrle'], dst_caps=[]),
    'auto-converge': dict(caps=['auto-converge'], dst_caps=[]),
    'postcopy': dict(caps=['postcopy-ram'], dst_caps=['postcopy-ram'],
                     postcopy=True),
    'predlog': dict(caps=['predlog'], dst_caps=[]),
    'predlog+xbzrle': dict(caps=['predlog', 'xbzrle'], dst_caps=[]),
}
BASELINE = 'stock'

# R, pages/s.  The cap is 128 MiB/s = 32768 pages/s and the downtime
# budget 300 ms of it (9830 pages).  uniform at 25000 (98 MiB/s of fresh
# dirt) converges under stock pre-copy: the "no locality, no harm" case.
# hotcold at 50000 puts stock pre-copy's remainder right at the budget:
# it converges, if at all, after many iterations, which is where "bytes
# and time against stock" mean something.  moving at 75000: the hot set
# (10% of 512 MiB = 13107 pages) is rewritten several times per
# iteration, so stock's remainder stays above the budget and it never
# converges (measured: 136 iterations in 20 s), the case predlog is for.
# README.md has the arithmetic.
DEFAULT_RATE = '25000,hotcold=50000,moving=75000'

READY_RE = re.compile(r'memstress: ready pages=(\d+) pid=(\d+)')
P_RE = re.compile(r'memstress: P t_ms=(\d+) writes=(\d+) missed=(\d+)')
# guest lines that mean the workload never started
GUEST_FAIL_RE = re.compile(r"unknown predlog\.mode|workload failed|"
                           r"Kernel panic|: not found|Usage: |Try '|"
                           r"memstress: (?:cannot|unusable|out of memory|--)|"
                           r"predlog-realwork: ")
VERIFY_RE = re.compile(r'memstress: verify (ok|FAIL)')

# predlog fields on the per-run line (all of them go to runs.csv)
PREDLOG_SHOWN = ['hot-pages', 'deferred-pages', 'delta-pages', 'hit-rate',
                 'recall', 'predicted-downtime']

POLL_S = 0.1
BOOT_TIMEOUT_S = 180      # QEMU start to 'ready' (TCG, a busy host)
WARM_LINES = 3            # P lines the warm-up needs at least ...
WARM_MAX_EXTRA_S = 120    # ... waiting at most this much beyond --warmup
VERIFY_TIMEOUT_S = 180    # SIGUSR1 to 'verify ok|FAIL' on the destination
MIN_SPAN_S = 0.5          # shortest window a rate is computed over

# runs.csv: these first, then xbzrle.* and predlog.* in sorted order
RUN_FIELDS = [
    'workload', 'config', 'run', 'status', 'converged', 'error',
    'total_ms', 'downtime_ms', 'setup_ms', 'bytes', 'precopy_bytes',
    'downtime_bytes', 'postcopy_bytes', 'iterations', 'postcopy_requests',
    'max_throttle_pct', 'warm_wps', 'mig_wps', 'progress',
    'progress_window', 'mig_missed_pct', 'post_wps', 'post_progress',
    'mig_s', 'dst_alive', 'verify',
    'pages', 'mem_mib', 'mb', 'rate', 'bandwidth_mibs',
    'downtime_limit_ms', 'timeout_s', 'warmup_s',
]
# what medians.csv and the table summarise
MEDIAN_FIELDS = [
    'total_ms', 'downtime_ms', 'bytes', 'precopy_bytes', 'downtime_bytes',
    'postcopy_bytes', 'iterations', 'max_throttle_pct', 'warm_wps',
    'mig_wps', 'progress', 'mig_missed_pct', 'post_wps', 'post_progress',
]
RATIO_FIELDS = ['bytes', 'total_ms', 'downtime_ms', 'progress']


class BenchError(Exception):
    """A run could not be carried out (not a migration outcome)."""


# -- guest console ---------------------------------------------------------

class ConsoleLog:
    """Read a VM's serial console socket; timestamp every line (host clock).

    ready: (t, pages, pid) of the 'memstress: ready' line, or None;
    points: [(t, t_ms, writes, missed)] of the 'memstress: P' lines.
    """

    def __init__(self, path, timeout=30.0):
        self.sock = predlog_vm.connect_unix(path, timeout)
        self.lock = threading.Lock()
        self.lines = []
        self.points = []
        self.ready = None
        self._partial = ''
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            now = time.time()
            with self.lock:
                self._partial += data.decode('utf-8', 'replace')
                *complete, self._partial = self._partial.split('\n')
                for line in complete:
                    self._line(now, line.rstrip('\r'))

    def _line(self, now, line):
        self.lines.append((now, line))
        m = P_RE.search(line)
        if m:
            self.points.append((now, int(m.group(1)), int(m.group(2)),
                                int(m.group(3))))
            return
        m = READY_RE.search(line)
        if m and self.ready is None:
            self.ready = (now, int(m.group(1)), int(m.group(2)))

    def snapshot(self):
        with self.lock:
            return list(self.points)

    def send(self, text):
        self.sock.sendall(text.encode())

    def wait_line(self, regex, after, timeout, alive=lambda: True):
        """First match of regex in a line read after host time @after."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                lines = [ln for t, ln in self.lines if t > after]
            for line in lines:
                m = regex.search(line)
                if m:
                    return m
            if time.monotonic() > deadline or not alive():
                return None
            time.sleep(0.1)

    def text(self, stamps=False):
        with self.lock:
            lines = list(self.lines)
            tail = self._partial
        if stamps:
            out = ['%.3f %s' % (t, line) for t, line in lines]
        else:
            out = [line for _, line in lines]
        return '\n'.join(out + ([tail] if tail else []))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(timeout=2)


# -- rates from the P lines --------------------------------------------------

def counter_at(points, t, idx):
    """(time, value) of cumulative counter points[i][idx] at host time t.

    Linear between the two P lines around t; before the first or after
    the last line, clipped to that line (no extrapolation).
    """
    times = [p[0] for p in points]
    if t <= times[0]:
        return times[0], points[0][idx]
    if t >= times[-1]:
        return times[-1], points[-1][idx]
    i = bisect.bisect_right(times, t)
    (t1, v1), (t2, v2) = ((points[i - 1][0], points[i - 1][idx]),
                          (points[i][0], points[i][idx]))
    if t2 <= t1:
        return t, v2
    return t, v1 + (v2 - v1) * (t - t1) / (t2 - t1)


def window(points, ta, tb):
    """(writes/s, missed share %) over [ta, tb], or (None, None).

    The window is clipped to the P lines seen (counter_at); shorter than
    MIN_SPAN_S after clipping gives None.
    """
    if len(points) < 2 or tb <= ta:
        return None, None
    sa, wa = counter_at(points, ta, 2)
    sb, wb = counter_at(points, tb, 2)
    if sb - sa < MIN_SPAN_S:
        return None, None
    _, ma = counter_at(points, ta, 3)
    _, mb = counter_at(points, tb, 3)
    dw, dm = wb - wa, mb - ma
    missed = 100.0 * dm / (dw + dm) if dw + dm > 0 else None
    return dw / (sb - sa), missed


def widened(points, ta, tb):
    """(writes/s, missed share %) from the last P line at or before ta to
    the first at or after tb, or (None, None).

    For workloads whose P lines are seconds apart (predlog-realwork: one
    per gzip run), where window() has too little to go on.
    """
    before = [p for p in points if p[0] <= ta]
    after = [p for p in points if p[0] >= tb]
    if not before or not after or after[0][0] - before[-1][0] < MIN_SPAN_S:
        return None, None
    a, b = before[-1], after[0]
    dw, dm = b[2] - a[2], b[3] - a[3]
    missed = 100.0 * dm / (dw + dm) if dw + dm > 0 else None
    return dw / (b[0] - a[0]), missed


def p_interval(points):
    """Median seconds between P lines (1.0 if unknown)."""
    gaps = [b[0] - a[0] for a, b in zip(points, points[1:]) if b[0] > a[0]]
    return statistics.median(gaps) if gaps else 1.0


# -- QEMU ------------------------------------------------------------------

def qemu_probe(qemu):
    """(migration capabilities this QEMU knows, its default parameters)."""
    msgs = ('{"execute":"qmp_capabilities"}'
            '{"execute":"query-migrate-capabilities"}'
            '{"execute":"query-migrate-parameters"}'
            '{"execute":"quit"}')
    try:
        out = subprocess.run([qemu, '-S', '-display', 'none', '-machine',
                              'none', '-qmp', 'stdio'], input=msgs,
                             capture_output=True, text=True, timeout=60,
                             preexec_fn=predlog_vm._set_pdeathsig).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError('cannot query %s: %s' % (qemu, e)) from e
    caps = params = None
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg.get('return'), list):
            caps = {c['capability'] for c in msg['return']}
        elif msg.get('return') and isinstance(msg['return'], dict):
            params = msg['return']
    if caps is not None:
        return caps, params or {}
    raise BenchError('%s did not answer query-migrate-capabilities:\n%s'
                     % (qemu, out[-2000:]))


def flatten(prefix, obj, out):
    """Scalars of a (nested) QMP object as prefix.name[.sub] -> value."""
    for key, val in obj.items():
        name = '%s.%s' % (prefix, key)
        if isinstance(val, dict):
            flatten(name, val, out)
        elif isinstance(val, bool):
            out[name] = int(val)
        elif isinstance(val, (int, float, str)):
            out[name] = val
    return out


def event_time(ev):
    ts = ev.get('timestamp', {})
    return ts.get('seconds', 0) + ts.get('microseconds', 0) / 1e6


def workload_argv(workload, mb, rate):
    argv = [w.format(mb=mb, rate=rate) for w in WORKLOADS[workload]]
    if workload == 'real' and mb is not None:
        argv += ['--mb', str(mb)]
    return argv


class Run:
    """One migration: source and destination VMs, their consoles, result."""

    def __init__(self, opts, workload, config, index, registry, logdir):
        self.opts = opts
        self.workload = workload
        self.config = config
        self.cfg = CONFIGS[config]
        self.index = index
        self.registry = registry
        self.logdir = logdir
        self.mb = opts.mb_for(workload)
        self.rate = opts.rate_for(workload)
        self.append = 'predlog.workload=' + ','.join(
            workload_argv(workload, self.mb, self.rate))
        self.src = self.dst = None
        self.con_src = self.con_dst = None
        self.notes = []

    # -- VMs ---------------------------------------------------------------

    def _vm(self, name, extra):
        vm = predlog_vm.VM(mode='workload', append=self.append,
                           args=extra, qemu=self.opts.qemu,
                           gdir=self.opts.guest_dir, memory=self.opts.mem,
                           console='socket', name='bench-mig-' + name)
        self.registry.append(vm)
        vm.launch()
        return vm

    def boot_source(self):
        # -S: the console is connected before the guest prints anything
        self.src = self._vm('src', ['-S'])
        self.con_src = ConsoleLog(self.src.console_socket)
        self.src.cmd('cont')
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while self.con_src.ready is None:
            text = self.con_src.text()
            if not self.src.is_running():
                raise BenchError(
                    'source QEMU exited (%s) before the workload was '
                    'ready%s\n--- console ---\n%s\n--- qemu ---\n%s'
                    % (self.src.proc.returncode, self._hint(text),
                       text[-2000:], self.src.stderr()[-2000:]))
            m = GUEST_FAIL_RE.search(text)
            if m:
                # give the guest a moment to print the whole story
                time.sleep(1)
                text = self.con_src.text()
                raise BenchError('guest: %r%s\n--- console ---\n%s'
                                 % (m.group(0), self._hint(text),
                                    text[-2000:]))
            if time.monotonic() > deadline:
                raise BenchError('no "memstress: ready" within %d s\n'
                                 '--- console ---\n%s'
                                 % (BOOT_TIMEOUT_S, text[-2000:]))
            time.sleep(0.05)

    @staticmethod
    def _hint(text):
        if 'unknown predlog.mode' in text:
            return (' (the guest image has no workload mode: rebuild it '
                    'with "make guest")')
        if 'not found' in text:
            return (' (a workload program is missing from the guest '
                    'image: rebuild it with "make guest")')
        return ''

    def start_destination(self):
        self.dst = self._vm('dst', ['-incoming', 'defer'])
        self.con_dst = ConsoleLog(self.dst.console_socket)

    def set_capabilities(self):
        def caps(names):
            return [{'capability': c, 'state': True} for c in names]
        if self.cfg['caps']:
            self.src.cmd('migrate-set-capabilities',
                         capabilities=caps(self.cfg['caps']))
        if self.cfg['dst_caps']:
            self.dst.cmd('migrate-set-capabilities',
                         capabilities=caps(self.cfg['dst_caps']))
        params = {'max-bandwidth': self.opts.bandwidth * MiB,
                  # after migrate-start-postcopy QEMU switches to this
                  # limit (0 = unlimited): keep the same cap for fairness
                  'max-postcopy-bandwidth': self.opts.bandwidth * MiB,
                  'downtime-limit': self.opts.downtime}
        if 'xbzrle' in self.cfg['caps'] and self.opts.xbzrle_cache:
            params['xbzrle-cache-size'] = self.opts.xbzrle_cache * MiB
        self.src.cmd('migrate-set-parameters', **params)

    # -- the run -----------------------------------------------------------

    def execute(self):
        """Boot, warm up, migrate; return the row for runs.csv."""
        opts = self.opts
        row = {'workload': self.workload, 'config': self.config,
               'run': self.index, 'mem_mib': opts.mem,
               'mb': self.mb, 'rate': self.rate,
               'bandwidth_mibs': opts.bandwidth,
               'downtime_limit_ms': opts.downtime,
               'timeout_s': opts.timeout, 'warmup_s': opts.warmup}
        self.boot_source()
        t_ready, row['pages'], guest_pid = self.con_src.ready
        self.start_destination()
        self.set_capabilities()
        uri = 'unix:' + os.path.join(self.dst.tmpdir, 'migrate.sock')
        self.dst.cmd('migrate-incoming', uri=uri)
        self.warm_up(t_ready)
        self.src.qmp.get_events()          # drop boot-time events

        t0 = time.time()
        self.src.cmd('migrate', uri=uri)
        deadline = t0 + opts.timeout
        last = {}
        predlog = {}
        xbzrle = {}
        throttle = 0
        postcopy_sent = False
        t_switch = None
        status = 'setup'
        while True:
            time.sleep(POLL_S)
            info = self.src.cmd('query-migrate')
            now = time.time()
            last = info
            status = info.get('status', '?')
            ram = info.get('ram', {})
            if isinstance(info.get('predlog'), dict):
                predlog = flatten('predlog', info['predlog'], {})
            if isinstance(info.get('xbzrle-cache'), dict):
                xbzrle = flatten('xbzrle', info['xbzrle-cache'], {})
            throttle = max(throttle, info.get('cpu-throttle-percentage', 0))
            for ev in self.src.qmp.get_events('STOP'):
                if t_switch is None:
                    t_switch = event_time(ev)
            if (self.cfg.get('postcopy') and not postcopy_sent
                    and status == 'active'
                    and ram.get('dirty-sync-count', 0) >= 2):
                self.src.cmd('migrate-start-postcopy')
                postcopy_sent = True
            if status in ('completed', 'failed', 'cancelled'):
                break
            if now > deadline:
                if status.startswith('postcopy'):
                    # cannot be cancelled: the guest runs on the
                    # destination, which lacks pages; record and kill
                    self.notes.append('timed out in %s' % status)
                else:
                    try:
                        self.src.cmd('migrate_cancel')
                    except predlog_vm.QMPError as e:
                        self.notes.append('migrate_cancel: %s' % e)
                    self.notes.append('timed out after %g s, cancelled'
                                      % opts.timeout)
                status = 'timeout'
                break
        t_end = time.time()
        # the STOP event may come with the last answer
        for ev in self.src.qmp.get_events('STOP'):
            if t_switch is None and status != 'timeout':
                t_switch = event_time(ev)

        ram = last.get('ram', {})
        row.update({
            'status': status,
            'converged': int(status == 'completed'),
            'error': last.get('error-desc', ''),
            'total_ms': last.get('total-time'),
            'downtime_ms': (last.get('downtime') if status == 'completed'
                            else None),
            'setup_ms': last.get('setup-time'),
            'bytes': ram.get('transferred'),
            'precopy_bytes': ram.get('precopy-bytes'),
            'downtime_bytes': ram.get('downtime-bytes'),
            'postcopy_bytes': ram.get('postcopy-bytes'),
            'iterations': ram.get('dirty-sync-count'),
            'postcopy_requests': ram.get('postcopy-requests'),
            'max_throttle_pct': throttle,
        })
        row.update(predlog)
        row.update(xbzrle)

        # Wait for a P line after the end on the side where the guest runs
        # now: on the destination it proves the guest carries on there, and
        # the rates below may need it.
        src_points = self.con_src.snapshot()
        wait = min(WARM_MAX_EXTRA_S, max(3.0, 3 * p_interval(src_points)))
        side, con = ((self.dst, self.con_dst) if status == 'completed'
                     else (self.src, self.con_src))
        limit = time.time() + wait
        while (time.time() < limit and side.is_running()
               and not any(p[0] > t_end for p in con.snapshot())):
            time.sleep(0.1)
        src_points = self.con_src.snapshot()
        dst_points = self.con_dst.snapshot()
        dst_alive = None
        if status == 'completed':
            dst_alive = int(any(p[0] > t_end for p in dst_points))
            if not dst_alive:
                self.notes.append('no P line on the destination within '
                                  '%.0f s after completion' % wait)

        # guest progress: warm-up [ready, t0], migration [t0, switchover]
        t_mig_end = t_switch if t_switch is not None else t_end
        row['mig_s'] = round(t_mig_end - t0, 3)
        warm, _ = window(src_points, t_ready, t0)
        mig, missed = window(src_points, t0, t_mig_end)
        row['progress_window'] = 'exact'
        if mig is None:
            # too few P lines inside: widen to the lines around it, on
            # either side (after switchover the guest prints on the
            # destination; the counters travel with its memory)
            mig, missed = widened(sorted(src_points + dst_points), t0,
                                  t_mig_end)
            row['progress_window'] = 'widened' if mig is not None else ''
        row['warm_wps'] = warm
        row['mig_wps'] = mig
        row['mig_missed_pct'] = missed
        row['progress'] = (mig / warm if mig is not None and warm
                           else None)
        # post-copy: the guest runs on the destination from switchover to
        # completion, faulting pages in; its rate there is the slowdown
        # post-copy causes
        if (self.cfg.get('postcopy') and t_switch is not None
                and status == 'completed'):
            post, _ = window(dst_points, t_switch, t_end)
            row['post_wps'] = post
            row['post_progress'] = (post / warm if post is not None and warm
                                    else None)
        row['dst_alive'] = dst_alive
        if dst_alive and opts.verify:
            row['verify'] = self.verify(guest_pid)
        if self.notes:
            row['error'] = '; '.join(filter(None, [row['error']]
                                            + self.notes))
        return row

    def warm_up(self, t_ready):
        """Wait --warmup seconds after 'ready', and for WARM_LINES P lines
        (predlog-realwork prints one per gzip run, seconds apart)."""
        end = t_ready + self.opts.warmup
        limit = end + WARM_MAX_EXTRA_S
        while True:
            now = time.time()
            lines = sum(1 for p in self.con_src.snapshot() if p[0] > t_ready)
            if now >= end and lines >= WARM_LINES:
                return
            if now >= limit:
                self.notes.append('only %d P line(s) in the warm-up'
                                  % lines)
                return
            if not self.src.is_running():
                raise BenchError('source QEMU exited in the warm-up')
            time.sleep(0.05)

    def verify(self, pid):
        """SIGUSR1 the workload on the destination: it checks every page
        against what it wrote (memstress) or its files (realwork)."""
        t = time.time()
        self.con_dst.send('kill -USR1 %d\n' % pid)
        m = self.con_dst.wait_line(VERIFY_RE, t, VERIFY_TIMEOUT_S,
                                   alive=self.dst.is_running)
        if m is None:
            self.notes.append('no verify line on the destination within '
                              '%d s of SIGUSR1' % VERIFY_TIMEOUT_S)
            return 'timeout'
        if m.group(1) != 'ok':
            self.notes.append('destination: %s' % m.group(0))
        return m.group(1)

    def finish(self, row_name):
        """Stop both VMs; save their consoles and QEMU output in logs/."""
        for name, vm, con in (('src', self.src, self.con_src),
                              ('dst', self.dst, self.con_dst)):
            if vm is None:
                continue
            qemu_out = stop_vm(vm, self.registry)
            text = ''
            if con:
                con.close()
                text = con.text(stamps=True)
            path = os.path.join(self.logdir, '%s-%s.log' % (row_name, name))
            with open(path, 'w') as f:
                f.write('--- console (host time, line) ---\n' + text)
                if qemu_out:
                    f.write('\n--- qemu ---\n' + qemu_out)


def stop_vm(vm, registry):
    """Quit QEMU (kill it after 5 s); return what it printed.

    The VM leaves the registry only once its process is gone, so an
    interrupt in here still leaves it to main()'s last-resort kill.
    """
    if vm.proc is not None:
        if vm.is_running() and vm.qmp and vm.qmp.sock:
            try:
                vm.qmp.cmd('quit')
            except (OSError, ConnectionError, predlog_vm.QMPError,
                    ValueError):
                pass   # QEMU may close the socket before answering
        if vm.wait(5) is None:
            vm.proc.kill()
            vm.wait()
    out = vm.stderr()
    vm.cleanup()
    if vm in registry:
        registry.remove(vm)
    return out


def kill_vm(vm):
    if vm.proc is not None and vm.proc.poll() is None:
        vm.proc.kill()
        vm.proc.wait()
    vm.cleanup()


# -- reports ---------------------------------------------------------------

def num(v):
    """A float from a CSV cell or a row value; None if empty/not a number."""
    if v is None or v == '':
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def majority(count, n):
    return n > 0 and 2 * count > n


def compute_medians(rows, workloads, configs):
    """{(workload, config): {'n', 'converged', field: median or None}}.

    Medians over every run of the cell, converged or not (a run that timed
    out counts with the figures it had when it was cancelled), except
    downtime, which only a completed migration has.
    """
    extra = sorted({k for r in rows for k in r
                    if k.startswith(('predlog.', 'xbzrle.'))})
    med = {}
    for w in workloads:
        for c in configs:
            sel = [r for r in rows if r['workload'] == w
                   and r['config'] == c]
            if not sel:
                continue
            m = {'n': len(sel),
                 'converged': sum(int(num(r.get('converged')) or 0)
                                  for r in sel)}
            for k in MEDIAN_FIELDS + extra:
                vals = [num(r.get(k)) for r in sel]
                vals = [v for v in vals if v is not None]
                m[k] = statistics.median(vals) if vals else None
            med[w, c] = m
    return med, extra


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(v, spec='%.1f', none='-'):
    return none if v is None else spec % v


def fmt_num(v):
    """Whole numbers in full, others with 4 significant digits."""
    if v is None:
        return '-'
    if float(v).is_integer():
        return '%d' % v
    return '%.4g' % v


def fmt_rate(v):
    """writes/s: whole numbers, or 3 digits for predlog-realwork's
    iterations/s."""
    if v is None:
        return '-'
    return '%.0f' % v if abs(v) >= 100 else '%.3g' % v


def fmt_ratio(v):
    return '' if v is None else '%.2fx' % v


def print_table(med, extra, workloads, configs, opts_desc):
    print()
    print('Medians per workload (%s); [ratio to %s]; conv = runs that '
          'converged' % (opts_desc, BASELINE))
    for w in workloads:
        cells = [(c, med[w, c]) for c in configs if (w, c) in med]
        if not cells:
            continue
        base = med.get((w, BASELINE))
        print()
        print('%s' % w)
        hdr = ('%-15s %5s %17s %16s %16s %5s %9s %9s %14s %5s %6s'
               % ('config', 'conv', 'MiB sent', 'total s', 'downtime ms',
                  'iter', 'warm w/s', 'mig w/s', 'progress', 'thr%',
                  'post'))
        print(hdr)
        print('-' * len(hdr))
        for c, m in cells:
            r = {k: ratio(m[k], base[k]) if base else None
                 for k in RATIO_FIELDS}
            mib = m['bytes'] / MiB if m['bytes'] is not None else None
            tot = m['total_ms'] / 1000 if m['total_ms'] is not None else None
            print('%-15s %5s %9s %7s %8s %7s %8s %7s %5s %9s %9s %6s %7s '
                  '%5s %6s'
                  % (c, '%d/%d' % (m['converged'], m['n']),
                     fmt(mib), fmt_ratio(r['bytes']),
                     fmt(tot, '%.2f'), fmt_ratio(r['total_ms']),
                     fmt(m['downtime_ms'], '%.0f'),
                     fmt_ratio(r['downtime_ms']),
                     fmt(m['iterations'], '%.0f'),
                     fmt_rate(m['warm_wps']), fmt_rate(m['mig_wps']),
                     fmt(m['progress'], '%.2f'), fmt_ratio(r['progress']),
                     fmt(m['max_throttle_pct'], '%.0f'),
                     fmt(m['post_progress'], '%.2f', '')))
        # predlog's own figures (query-migrate's "predlog" object)
        for c, m in cells:
            pl = ['%s=%s' % (k[len('predlog.'):], fmt_num(m[k]))
                  for k in extra if k.startswith('predlog.')
                  and m.get(k) is not None]
            if pl:
                print(textwrap.fill(' '.join(pl), 100,
                                    initial_indent='  %-15s predlog: ' % c,
                                    subsequent_indent=' ' * 27,
                                    break_on_hyphens=False))
    print()
    print('progress = guest writes/s on the source from migrate to '
          'switchover over writes/s in the warm-up; post = the same on '
          'the destination from switchover to completion (post-copy); '
          'thr% = highest auto-converge throttle seen.')


def target_checks(med, workloads, downtime_limit):
    """The issue's targets, from the medians; list of printable lines."""
    out = []

    def cell(w, c):
        return med.get((w, c))

    def verdict(ok):
        return 'PASS' if ok else 'FAIL'

    # 1. hotcold: predlog <= 0.5x bytes, <= 0.6x time, downtime <= limit
    p, s = cell('hotcold', 'predlog'), cell('hotcold', BASELINE)
    if p is None or s is None:
        out.append('hotcold: predlog vs %s: not measured (needs workload '
                   'hotcold, configs predlog and %s)' % (BASELINE, BASELINE))
    else:
        for key, limit, what in (('bytes', 0.5, 'bytes'),
                                 ('total_ms', 0.6, 'total time')):
            r = ratio(p[key], s[key])
            out.append('hotcold: predlog %s <= %.1fx %s: %s  %s'
                       % (what, limit, BASELINE,
                          fmt_ratio(r) or 'n/a',
                          verdict(r is not None and r <= limit)))
        d = p['downtime_ms']
        out.append('hotcold: predlog downtime <= %d ms: %s  %s'
                   % (downtime_limit,
                      'n/a (never converged)' if d is None
                      else '%.0f ms' % d,
                      verdict(d is not None and d <= downtime_limit)))
        if not majority(s['converged'], s['n']):
            out.append('  (%s did not converge on hotcold: its bytes and '
                       'time are those at the timeout)' % BASELINE)

    # 2. converges where stock does not, with less slowdown than
    #    auto-converge (per workload)
    out.append('converges where %s precopy does not, with less guest '
               'slowdown than auto-converge:' % BASELINE)
    for w in workloads:
        p, s, a = (cell(w, 'predlog'), cell(w, BASELINE),
                   cell(w, 'auto-converge'))
        if p is None or s is None:
            out.append('  %s: not measured (needs predlog and %s)'
                       % (w, BASELINE))
            continue
        p_conv = majority(p['converged'], p['n'])
        s_conv = majority(s['converged'], s['n'])
        desc = ('%s %d/%d, predlog %d/%d converged'
                % (BASELINE, s['converged'], s['n'], p['converged'],
                   p['n']))
        if a is not None:
            desc += ('; progress predlog %s, auto-converge %s'
                     % (fmt(p['progress'], '%.2f'),
                        fmt(a['progress'], '%.2f')))
        if s_conv:
            out.append('  %s: %s: n/a (%s converges)%s'
                       % (w, desc, BASELINE,
                          '' if p_conv else
                          ', but predlog does not: FAIL'))
            continue
        if not p_conv:
            out.append('  %s: %s: FAIL (predlog does not converge)'
                       % (w, desc))
            continue
        if a is None:
            out.append('  %s: %s: converges; slowdown not compared '
                       '(auto-converge not run)' % (w, desc))
            continue
        ok = (p['progress'] is not None and a['progress'] is not None
              and p['progress'] > a['progress'])
        out.append('  %s: %s: %s' % (w, desc, verdict(ok)))

    # 3. uniform: predlog <= 1.05x stock, bytes and time
    p, s = cell('uniform', 'predlog'), cell('uniform', BASELINE)
    if p is None or s is None:
        out.append('uniform: predlog vs %s: not measured (needs workload '
                   'uniform, configs predlog and %s)'
                   % (BASELINE, BASELINE))
    else:
        for key, what in (('bytes', 'bytes'), ('total_ms', 'total time')):
            r = ratio(p[key], s[key])
            out.append('uniform: predlog %s <= 1.05x %s: %s  %s'
                       % (what, BASELINE, fmt_ratio(r) or 'n/a',
                          verdict(r is not None and r <= 1.05)))
    return out


def cell(v):
    """A CSV cell: empty for None, integral floats as integers (medians
    of byte counts), other floats with 6 significant digits."""
    if v is None:
        return ''
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return '%.6g' % v
    return v


def write_csv(path, rows, fields):
    tmp = path + '.tmp'
    with open(tmp, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        w.writeheader()
        for r in rows:
            w.writerow({k: cell(r.get(k)) for k in fields})
    os.replace(tmp, path)


def run_fields(rows):
    extra = sorted({k for r in rows for k in r
                    if k.startswith(('xbzrle.', 'predlog.'))})
    return RUN_FIELDS + extra


def write_medians(path, med, extra):
    base_keys = ['workload', 'config', 'runs', 'converged']
    fields = (base_keys + MEDIAN_FIELDS + extra
              + ['%s_vs_%s' % (k, BASELINE) for k in RATIO_FIELDS])
    rows = []
    for (w, c), m in med.items():
        row = {'workload': w, 'config': c, 'runs': m['n'],
               'converged': m['converged']}
        row.update({k: m.get(k) for k in MEDIAN_FIELDS + extra})
        base = med.get((w, BASELINE))
        for k in RATIO_FIELDS:
            row['%s_vs_%s' % (k, BASELINE)] = (ratio(m[k], base[k])
                                               if base else None)
        rows.append(row)
    write_csv(path, rows, fields)


def import_pyplot():
    """matplotlib.pyplot with the Agg backend, or a BenchError saying how
    to get it.  Debian's python3-matplotlib lives in the system
    dist-packages, which a pyenv/venv python does not search: try it."""
    try:
        import matplotlib
    except ImportError:
        sysdir = '/usr/lib/python3/dist-packages'
        if os.path.isdir(os.path.join(sysdir, 'matplotlib')):
            sys.path.append(sysdir)
        try:
            import matplotlib
        except ImportError as e:
            raise BenchError('matplotlib is missing (%s): install it with '
                             '"apt-get install python3-matplotlib" (for '
                             '%s), or run with --no-plots'
                             % (e, sys.executable)) from e
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


PLOTS = [
    ('bytes', 'bytes.png', 'RAM bytes transferred (MiB)', 1.0 / MiB),
    ('total_ms', 'total-time.png', 'total migration time (s)', 1e-3),
    ('downtime_ms', 'downtime.png', 'downtime (ms)', 1.0),
    ('progress', 'progress.png',
     'guest progress (writes/s in migration / in warm-up)', 1.0),
]


def plot(out, rows, med, workloads, configs, desc, downtime_limit):
    """One PNG per metric: bars = medians, dots = runs, red x = a run that
    did not converge, hatched bar = most runs did not converge."""
    plt = import_pyplot()
    written = []
    present = [c for c in configs if any((w, c) in med for w in workloads)]
    wls = [w for w in workloads if any((w, c) in med for c in configs)]
    if not present or not wls:
        return written
    width = 0.8 / len(present)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for key, fname, label, scale in PLOTS:
        fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(wls) + 3), 4.5))
        for j, c in enumerate(present):
            colour = colours[j % len(colours)]
            for i, w in enumerate(wls):
                m = med.get((w, c))
                if m is None:
                    continue
                x = i - 0.4 + width * (j + 0.5)
                v = m[key]
                if v is None and m['converged'] < m['n']:
                    # e.g. downtime: no run converged, nothing to draw
                    ax.text(x, 0, 'not converged', rotation=90,
                            ha='center', va='bottom', fontsize=7,
                            color='red')
                if v is not None:
                    ax.bar(x, v * scale, width * 0.9, color=colour,
                           label=c, edgecolor='black', linewidth=0.5,
                           hatch=(None if majority(m['converged'], m['n'])
                                  else '//'))
                for r in rows:
                    if r['workload'] != w or r['config'] != c:
                        continue
                    y = num(r.get(key))
                    if y is None:
                        continue
                    conv = num(r.get('converged'))
                    if conv:
                        ax.plot(x, y * scale, 'o', color='black',
                                markersize=3)
                    else:
                        ax.plot(x, y * scale, 'x', color='red',
                                markersize=7, mew=2)
        if key == 'downtime_ms':
            ax.axhline(downtime_limit, color='grey', linestyle='--',
                       linewidth=1)
        if key == 'progress':
            ax.axhline(1.0, color='grey', linestyle='--', linewidth=1)
        ax.set_xticks(range(len(wls)))
        ax.set_xticklabels(wls)
        ax.set_ylabel(label)
        ax.set_title('%s\n%s' % (label, '\n'.join(textwrap.wrap(desc,
                                                                  90))),
                     fontsize=9)
        # one legend entry per config, plus the markers
        handles, labels = ax.get_legend_handles_labels()
        seen = {}
        for h, l in zip(handles, labels):
            seen.setdefault(l, h)
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
        hs = list(seen.values()) + [
            Line2D([], [], marker='o', color='black', linestyle='',
                   markersize=3, label='run'),
            Line2D([], [], marker='x', color='red', linestyle='', mew=2,
                   label='run, converged=false'),
            Patch(facecolor='white', edgecolor='black', hatch='//',
                  label='median, most runs not converged')]
        ax.legend(handles=hs, fontsize=7, loc='upper left',
                  bbox_to_anchor=(1.01, 1.0))
        path = os.path.join(out, fname)
        fig.savefig(path, dpi=100, bbox_inches='tight')
        plt.close(fig)
        written.append(path)
    return written


def report(opts, rows, workloads, configs):
    # the limit the runs had (--report-only: from runs.csv)
    limits = {num(r.get('downtime_limit_ms')) for r in rows} - {None}
    limit = limits.pop() if len(limits) == 1 else opts.downtime
    med, extra = compute_medians(rows, workloads, configs)
    write_medians(os.path.join(opts.out, 'medians.csv'), med, extra)
    desc = describe(opts, rows)
    print_table(med, extra, workloads, configs, desc)
    print()
    print('Targets (from the medians above):')
    for line in target_checks(med, workloads, limit):
        print('  ' + line)
    if not opts.no_plots:
        try:
            for path in plot(opts.out, rows, med, workloads, configs, desc,
                             limit):
                print('plot: %s' % path)
        except BenchError as e:
            print('bench-migration: no plots: %s' % e, file=sys.stderr)
    print('runs: %s' % os.path.join(opts.out, 'runs.csv'))
    print('medians: %s' % os.path.join(opts.out, 'medians.csv'))


def describe(opts, rows):
    def vals(key):
        return sorted({str(r.get(key)) for r in rows
                       if r.get(key) not in (None, '')})
    return ('TCG, %s MiB guest, %s MiB/s cap, downtime-limit %s ms, '
            'timeout %s s, warm-up %s s; M=%s MiB, R=%s pages/s'
            % ('/'.join(vals('mem_mib')), '/'.join(vals('bandwidth_mibs')),
               '/'.join(vals('downtime_limit_ms')),
               '/'.join(vals('timeout_s')), '/'.join(vals('warmup_s')),
               '/'.join(vals('mb')) or '-', '/'.join(vals('rate')) or '-'))


# -- options ---------------------------------------------------------------

def per_workload(spec, what):
    """'512' or '512,hotcold=256' -> (default, {workload: value})."""
    default, per = None, {}
    for item in spec.split(','):
        item = item.strip()
        if not item:
            continue
        name, sep, val = item.rpartition('=')
        try:
            v = int(val)
        except ValueError:
            raise argparse.ArgumentTypeError('bad %s %r' % (what, item))
        if v <= 0:
            raise argparse.ArgumentTypeError('%s must be > 0: %r'
                                             % (what, item))
        if sep:
            if name not in WORKLOADS:
                raise argparse.ArgumentTypeError(
                    'unknown workload %r in %s' % (name, what))
            per[name] = v
        else:
            default = v
    return default, per


def comma_list(known, what):
    def parse(spec):
        items = [s.strip() for s in spec.split(',') if s.strip()]
        bad = [s for s in items if s not in known]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                'unknown %s %s (known: %s)' % (what, ','.join(bad) or '""',
                                              ','.join(known)))
        return items
    return parse


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='Details: bench/migration/README.md')
    ap.add_argument('--workloads', type=comma_list(list(WORKLOADS),
                                                   'workload'),
                    default=list(WORKLOADS),
                    help='comma list (default: %(default)s)')
    ap.add_argument('--configs', type=comma_list(list(CONFIGS), 'config'),
                    default=list(CONFIGS),
                    help='comma list (default: %(default)s)')
    ap.add_argument('--runs', type=int, help='runs per workload and '
                    'config (default 3; --quick: 1)')
    ap.add_argument('--mem', type=int, default=1024,
                    help='guest RAM, MiB (default %(default)s)')
    ap.add_argument('--mb', default=None,
                    help='workload memory M in MiB: N, or per workload, '
                    'e.g. "512,uniform=256" (default 512; --quick: 64; '
                    'real: only if named, "real=32", else its own 64, '
                    '--quick: 16)')
    ap.add_argument('--rate', default=DEFAULT_RATE,
                    help='workload write rate R in pages/s, same syntax '
                    'as --mb (default %(default)s)')
    ap.add_argument('--bandwidth', type=int, default=128,
                    help='max-bandwidth (and max-postcopy-bandwidth), '
                    'MiB/s (default %(default)s)')
    ap.add_argument('--downtime', type=int, default=300,
                    help='downtime-limit, ms (default %(default)s)')
    ap.add_argument('--xbzrle-cache', type=int, default=None,
                    help='xbzrle-cache-size, MiB (default: QEMU\'s, 64)')
    ap.add_argument('--timeout', type=float, default=None,
                    help='seconds from migrate to cancel '
                    '(default 60; --quick: 30)')
    ap.add_argument('--warmup', type=float, default=None,
                    help='seconds from "ready" to migrate '
                    '(default 5; --quick: 2)')
    ap.add_argument('--qemu', default=None,
                    help='QEMU binary (default $PREDLOG_QEMU or '
                    'build/qemu-system-x86_64)')
    ap.add_argument('--guest-dir', default=None,
                    help='guest image (default $PREDLOG_GUEST_DIR or '
                    'build/guest)')
    ap.add_argument('--out', default=os.path.join(REPO, 'build',
                                                  'bench-migration'),
                    help='output directory (default %(default)s)')
    ap.add_argument('--quick', action='store_true',
                    help='smoke test: 1 run, M=64 MiB, 2 s warm-up, '
                    '30 s timeout')
    ap.add_argument('--no-verify', dest='verify', action='store_false',
                    help='do not make the workload check its memory on '
                    'the destination after each migration')
    ap.add_argument('--no-plots', action='store_true',
                    help='skip the PNGs (no matplotlib needed)')
    ap.add_argument('--report-only', action='store_true',
                    help='run nothing: re-read OUT/runs.csv, print the '
                    'tables and targets, redo medians.csv and the plots')
    opts = ap.parse_args(argv)
    opts.runs = opts.runs or (1 if opts.quick else 3)
    opts.timeout = opts.timeout or (30.0 if opts.quick else 60.0)
    opts.warmup = (opts.warmup if opts.warmup is not None
                   else (2.0 if opts.quick else 5.0))
    try:
        mb_default, mb_per = per_workload(opts.mb or
                                          ('64' if opts.quick else '512'),
                                          '--mb')
        # named workloads keep the default's other entries
        _, rate_per = per_workload(DEFAULT_RATE, '--rate')
        rate_default, given = per_workload(opts.rate, '--rate')
        if rate_default is not None and opts.rate != DEFAULT_RATE:
            rate_per = {}          # a plain N applies to every workload
        rate_per.update(given)
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))
    mb_default = mb_default or (64 if opts.quick else 512)
    rate_default = rate_default or per_workload(DEFAULT_RATE, '')[0]

    def mb_for(w):
        if w in mb_per:
            return mb_per[w]
        if w == 'real':
            return 16 if opts.quick else None     # None: its default, 64
        return mb_default

    def rate_for(w):
        return None if w == 'real' else rate_per.get(w, rate_default)
    opts.mb_for, opts.rate_for = mb_for, rate_for
    if opts.runs < 1 or opts.mem < 64 or opts.bandwidth < 1:
        ap.error('--runs, --mem, --bandwidth must be positive '
                 '(--mem at least 64)')
    for w in opts.workloads:
        if (opts.mb_for(w) or 64) >= opts.mem:
            ap.error('--mb %d for %s does not fit in --mem %d'
                     % (opts.mb_for(w), w, opts.mem))
    opts.qemu = opts.qemu or predlog_vm.qemu_binary()
    opts.guest_dir = opts.guest_dir or predlog_vm.guest_dir()
    return opts


def read_runs(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def git_describe():
    """HEAD of the repository, '+dirty' if the tree has changes."""
    try:
        head = subprocess.run(['git', '-C', REPO, 'rev-parse', 'HEAD'],
                              capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(['git', '-C', REPO, 'status', '--porcelain',
                                '--untracked-files=no'],
                               capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head + ('+dirty' if dirty else '') if head else None


class Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise Terminated('signal %d' % signum)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(opts.out, exist_ok=True)
    runs_csv = os.path.join(opts.out, 'runs.csv')

    if opts.report_only:
        try:
            rows = read_runs(runs_csv)
        except FileNotFoundError:
            print('bench-migration: no %s to report on' % runs_csv,
                  file=sys.stderr)
            return 2
        workloads = [w for w in WORKLOADS if any(r['workload'] == w
                                                 for r in rows)]
        configs = [c for c in CONFIGS if any(r['config'] == c
                                             for r in rows)]
        report(opts, rows, workloads, configs)
        return 0

    reason = predlog_vm.missing_prerequisites(opts.qemu, opts.guest_dir)
    if reason:
        print('bench-migration: %s; build with "make qemu guest"' % reason,
              file=sys.stderr)
        return 2
    if not opts.no_plots:
        try:
            import_pyplot()      # fail now, not after an hour of runs
        except BenchError as e:
            print('bench-migration: %s' % e, file=sys.stderr)
            return 2
    try:
        have, defaults = qemu_probe(opts.qemu)
    except BenchError as e:
        print('bench-migration: %s' % e, file=sys.stderr)
        return 2
    configs = []
    for c in opts.configs:
        missing = sorted(set(CONFIGS[c]['caps']) - have)
        if missing:
            print('bench-migration: WARNING: %s lacks capability %s: '
                  'skipping config %s' % (opts.qemu, ','.join(missing), c),
                  file=sys.stderr)
        else:
            configs.append(c)
    if not configs:
        print('bench-migration: no config left to run', file=sys.stderr)
        return 2
    workloads = opts.workloads

    logdir = os.path.join(opts.out, 'logs')
    os.makedirs(logdir, exist_ok=True)
    with open(os.path.join(opts.out, 'meta.json'), 'w') as f:
        json.dump({'argv': sys.argv, 'qemu': opts.qemu,
                   'guest_dir': opts.guest_dir, 'started': time.ctime(),
                   'workloads': {w: workload_argv(w, opts.mb_for(w),
                                                  opts.rate_for(w))
                                 for w in workloads},
                   'configs': {c: CONFIGS[c] for c in configs},
                   'skipped_configs': [c for c in opts.configs
                                       if c not in configs],
                   # QEMU's defaults; the runs set max-bandwidth,
                   # max-postcopy-bandwidth, downtime-limit (and
                   # xbzrle-cache-size with --xbzrle-cache) over them
                   'qemu_migrate_parameters': defaults,
                   'git': git_describe(),
                   'loadavg': os.getloadavg()}, f, indent=1)

    total = opts.runs * len(workloads) * len(configs)
    print('# %d migrations: %d run(s) x workloads %s x configs %s'
          % (total, opts.runs, ','.join(workloads), ','.join(configs)))
    print('# host: %d CPUs, load average %.2f %.2f %.2f at start'
          % ((os.cpu_count(),) + os.getloadavg()), flush=True)

    signal.signal(signal.SIGTERM, _on_sigterm)
    registry = []          # every VM alive right now
    rows = []
    errors = 0
    consecutive = 0        # runs in a row that raised
    fatal = None
    done = 0
    try:
        # runs alternate the configs so that drift in host load spreads
        # over all of them
        for index in range(1, opts.runs + 1):
            for w in workloads:
                for c in configs:
                    done += 1
                    name = '%s-%s-%d' % (w, c.replace('+', '_'), index)
                    run = Run(opts, w, c, index, registry, logdir)
                    t = time.monotonic()
                    try:
                        row = run.execute()
                    except (BenchError, predlog_vm.QMPError, RuntimeError,
                            OSError, TimeoutError) as e:
                        row = {'workload': w, 'config': c, 'run': index,
                               'status': 'error', 'converged': 0,
                               'error': str(e).splitlines()[0]}
                        print('# [%d/%d] %s: ERROR %s\n# (console and QEMU '
                              'output in %s-*.log)'
                              % (done, total, name, e, os.path.join(
                                  logdir, name)),
                              file=sys.stderr, flush=True)
                        errors += 1
                        consecutive += 1
                        if 'make guest' in str(e):
                            fatal = e
                        elif consecutive >= 3:
                            fatal = BenchError('3 runs in a row could not '
                                               'be carried out; giving up')
                    else:
                        consecutive = 0
                    finally:
                        run.finish(name)
                    rows.append(row)
                    write_csv(runs_csv, rows, run_fields(rows))
                    if fatal:
                        raise fatal
                    if row['status'] != 'error':
                        if row['status'] == 'failed' or (
                                row['status'] == 'completed'
                                and (not row.get('dst_alive')
                                     or row.get('verify') not in
                                     (None, 'ok'))):
                            errors += 1
                        print_run(done, total, row, time.monotonic() - t)
    except KeyboardInterrupt:
        print('\nbench-migration: interrupted; %d run(s) in %s'
              % (len(rows), runs_csv), file=sys.stderr)
        return 130
    except Terminated:
        print('bench-migration: terminated; %d run(s) in %s'
              % (len(rows), runs_csv), file=sys.stderr)
        return 143
    except BenchError as e:
        print('bench-migration: %s' % e, file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for vm in list(registry):
            kill_vm(vm)
        registry.clear()

    print('# load average %.2f %.2f %.2f at end' % os.getloadavg())
    report(opts, rows, workloads, configs)
    if errors:
        print('bench-migration: %d run(s) failed or errored (see the '
              'error column of runs.csv and %s)' % (errors, logdir),
              file=sys.stderr)
        return 1
    return 0


def print_run(done, total, row, wall):
    def g(k, spec, scale=1.0):
        v = num(row.get(k))
        return '-' if v is None else spec % (v * scale)
    msg = ('# [%d/%d] %-8s %-15s run %d: %-9s %s s, %s MiB, downtime %s ms, '
           '%s iter, w/s %s -> %s (progress %s)'
           % (done, total, row['workload'], row['config'], row['run'],
              row['status'], g('total_ms', '%.1f', 1e-3),
              g('bytes', '%.0f', 1.0 / MiB), g('downtime_ms', '%.0f'),
              g('iterations', '%.0f'), fmt_rate(num(row.get('warm_wps'))),
              fmt_rate(num(row.get('mig_wps'))), g('progress', '%.2f')))
    if row.get('progress_window') == 'widened':
        msg += ' (widened window)'
    if row.get('post_progress') is not None:
        msg += ', post-copy progress %s' % g('post_progress', '%.2f')
    if row.get('verify'):
        msg += ', verify %s' % row['verify']
    if row.get('max_throttle_pct'):
        msg += ', throttle %s%%' % g('max_throttle_pct', '%.0f')
    pl = {k[len('predlog.'):]: v for k, v in row.items()
          if k.startswith('predlog.')}
    shown = [k for k in PREDLOG_SHOWN if k in pl] or sorted(pl)
    if shown:
        msg += '\n#   predlog: ' + ' '.join(
            '%s=%s' % (k, fmt_num(pl[k]) if isinstance(pl[k], (int, float))
                       else pl[k]) for k in shown)
    msg += ' [%.0f s]' % wall
    if row.get('error'):
        msg += '\n#   note: %s' % row['error']
    print(msg, flush=True)


if __name__ == '__main__':
    sys.exit(main())
