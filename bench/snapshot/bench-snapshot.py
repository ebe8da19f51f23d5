#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Background snapshots: stock QEMU's page-by-page faults vs predlog-cow.

Why: a stock background snapshot stalls a vCPU on every first write to a
page not yet saved; predlog-cow copies whole predicted partitions on a
fault and saves predicted-hot ones first.  This runs the same guests
through both, with the same binary (the capability off is stock QEMU, as
test_stream_stock proves), in one run, and prints medians, ratios to stock
and the issue's targets (bench/snapshot/README.md).

How: for every run a QEMU (TCG, q35, qboot, 512 MiB, the test guest in
workload mode) boots its workload, waits the warm-up, then takes two
background snapshots to files, --gap seconds apart: the "first" (predlog-
cow knows nothing yet) and the "second" (its partitions come from the
first's faults).  For each snapshot, from outside QEMU and the same way
for both configurations:

  faults       times the vCPU threads went to sleep while it ran
               (voluntary context switches, /proc/PID/task/TID/status):
               a vCPU that takes a userfaultfd write fault sleeps until it
               is served, and the unpaced workload keeps it from sleeping
               otherwise (the same count over the warm-up before the
               snapshot is kept as faults_idle: near 0).  Stock QEMU
               counts its faults nowhere; predlog-cow's own count is shown
               beside this one.  (Neither /proc's major nor minor fault
               counters see them on this kernel.)
  stall        time the vCPU threads slept while it ran: wall time minus
               run and run-queue time (/proc/PID/task/TID/schedstat); the
               same over the warm-up is kept as idle_ms, and the time they
               were runnable but waited for a CPU as runq_ms (the guest
               loses that too: on two host CPUs the migration thread takes
               one)
  progress     the guest's write rate while the snapshot ran over its rate
               in the --warmup seconds before (memstress P lines stamped
               with the host clock)
  duration     query-migrate total-time
  bytes        size of the snapshot file
  extra memory peak RSS of QEMU while it ran minus RSS before

Output (--out, default build/bench-snapshot): runs.csv, medians.csv,
meta.json, faults.png, stall.png, progress.png, duration.png.

Run:  bench/snapshot/bench-snapshot.py [--quick] [--runs N] ...
      bench/snapshot/bench-snapshot.py --report-only   (re-read runs.csv)
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR (see tests/functional/predlog_vm.py)
"""

import argparse
import csv
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'functional'))
import predlog_vm  # noqa: E402


def _bench_migration():
    """bench/migration/bench-migration.py: its console reader and rates."""
    path = os.path.join(REPO, 'bench', 'migration', 'bench-migration.py')
    spec = importlib.util.spec_from_file_location('bench_migration', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bm = _bench_migration()

MiB = 1 << 20
MEMORY_MB = 512
UNPACED = '100000000'
WORKLOADS = {
    # 10 % of the writer's pages take 90 % of its writes
    'hotcold': ['predlog-memstress', '--mode', 'hotcold', '--rate', UNPACED,
                '--report-ms', '100'],
    # the same, the hot region moving every 2 s
    'moving': ['predlog-memstress', '--mode', 'moving', '--move-secs', '2',
               '--rate', UNPACED, '--report-ms', '100'],
    'uniform': ['predlog-memstress', '--mode', 'uniform', '--rate', UNPACED,
                '--report-ms', '100'],
    # busybox gzip over a file on tmpfs, in a loop
    'real': ['predlog-realwork'],
}
CONFIGS = ('stock', 'predlog-cow')
SNAPSHOTS = ('first', 'second')
METRICS = ('faults', 'stall_ms', 'progress', 'duration_ms', 'bytes',
           'extra_mb')
SNAPSHOT_TIMEOUT_S = 300
CLK_TCK = os.sysconf('SC_CLK_TCK')


def workload_argv(name, mb):
    argv = list(WORKLOADS[name])
    if name != 'real' or mb:
        argv += ['--mb', str(mb or 256)]
    return argv


# -- what /proc says about QEMU ---------------------------------------------

def threads(pid):
    """{tid: comm} of QEMU @pid."""
    out = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/comm' % (pid, tid)) as f:
                out[int(tid)] = f.read().strip()
        except OSError:
            pass
    return out


def vcpu_sleeps(pid):
    """Voluntary context switches of QEMU's vCPU threads."""
    n = 0
    for tid, comm in threads(pid).items():
        if comm.startswith('CPU '):
            with open('/proc/%d/task/%d/status' % (pid, tid)) as f:
                for line in f:
                    if line.startswith('voluntary_ctxt_switches:'):
                        n += int(line.split()[1])
    return n


def vcpu_schedstat(pid):
    """{tid: (run ns, run-queue ns)} of QEMU's vCPU threads."""
    out = {}
    for tid, comm in threads(pid).items():
        if comm.startswith('CPU '):
            with open('/proc/%d/task/%d/schedstat' % (pid, tid)) as f:
                run, wait = f.read().split()[:2]
            out[tid] = (int(run), int(wait))
    return out


def vcpu_busy_ns(pid):
    """{tid: run + run-queue ns} of QEMU's vCPU threads."""
    return {tid: run + wait for tid, (run, wait) in
            vcpu_schedstat(pid).items()}


def runq_ms(a, b):
    """ms the vCPU threads waited for a CPU between two readings."""
    return sum(b[t][1] - a[t][1] for t in a if t in b) / 1e6


def rss_bytes(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def sleep_ms(busy_a, busy_b, seconds):
    """ms the vCPU threads slept between two vcpu_busy_ns() readings."""
    total = 0.0
    for tid in busy_a:
        if tid in busy_b:
            total += seconds * 1e3 - (busy_b[tid] - busy_a[tid]) / 1e6
    return max(total, 0.0)


# -- one run ------------------------------------------------------------------

class Run:
    def __init__(self, opts, workload, config, index, tmpdir):
        self.opts = opts
        self.workload = workload
        self.config = config
        self.index = index
        self.tmpdir = tmpdir

    def snapshot(self, vm, console, name):
        pid = vm.proc.pid
        path = os.path.join(self.tmpdir, '%s-%s-%d-%s.snap'
                            % (self.workload, self.config, self.index, name))
        # the rate before, and the vCPUs' sleep over the same window
        t_warm = time.time()
        busy_w, sleeps_w = vcpu_busy_ns(pid), vcpu_sleeps(pid)
        if not busy_w:
            raise bm.BenchError('no vCPU threads named "CPU n/..." in QEMU '
                                '%d (-name debug-threads=on)' % pid)
        time.sleep(self.opts.warmup)
        idle_ms = sleep_ms(busy_w, vcpu_busy_ns(pid), time.time() - t_warm)
        faults_idle = vcpu_sleeps(pid) - sleeps_w
        faults0, rss0, busy0 = vcpu_sleeps(pid), rss_bytes(pid), \
            vcpu_busy_ns(pid)
        sched0 = vcpu_schedstat(pid)
        t0 = time.time()
        vm.cmd('migrate', uri='file:' + path)
        peak = rss0
        while True:
            info = vm.cmd('query-migrate')
            peak = max(peak, rss_bytes(pid))
            if info.get('status') in ('completed', 'failed', 'cancelled'):
                break
            if time.time() - t0 > SNAPSHOT_TIMEOUT_S:
                vm.cmd('migrate_cancel')
                raise bm.BenchError('snapshot did not complete in %d s'
                                    % SNAPSHOT_TIMEOUT_S)
            time.sleep(0.02)
        t1 = time.time()
        stall = sleep_ms(busy0, vcpu_busy_ns(pid), t1 - t0)
        runq = runq_ms(sched0, vcpu_schedstat(pid))
        faults = vcpu_sleeps(pid) - faults0
        if info['status'] != 'completed':
            raise bm.BenchError('snapshot %s: %s' % (info['status'],
                                                     info.get('error-desc')))
        # the P lines of the snapshot's end arrive a little later
        time.sleep(0.5)
        points = console.snapshot()
        before, _ = bm.window(points, t0 - self.opts.warmup, t0)
        during, _ = bm.window(points, t0, t1)
        if during is None:
            before, _ = bm.widened(points, t0 - self.opts.warmup, t0)
            during, _ = bm.widened(points, t0, t1)
        row = {
            'workload': self.workload, 'config': self.config,
            'run': self.index, 'snapshot': name,
            'faults': faults, 'faults_idle': faults_idle,
            'stall_ms': stall, 'idle_ms': idle_ms, 'runq_ms': runq,
            'wps_before': before, 'wps_during': during,
            'progress': during / before if before and during is not None
            else None,
            'duration_ms': info.get('total-time'),
            'bytes': os.path.getsize(path),
            'extra_mb': (peak - rss0) / MiB,
        }
        for k, v in (info.get('predlog-cow') or {}).items():
            row['cow.' + k] = v
        os.unlink(path)
        return row

    def run(self):
        argv = workload_argv(self.workload, self.opts.mb)
        vm = predlog_vm.VM(mode='workload',
                           append='predlog.workload=' + ','.join(argv),
                           memory=MEMORY_MB, console='socket',
                           # vCPU threads named "CPU n/TCG" for /proc
                           args=['-name', 'bench,debug-threads=on'],
                           name='bench-snapshot')
        vm.launch()
        console = bm.ConsoleLog(vm.console_socket)
        try:
            deadline = time.monotonic() + 300
            while console.ready is None and not console.points:
                if time.monotonic() > deadline or not vm.is_running():
                    raise bm.BenchError('workload did not start:\n%s'
                                        % console.text()[-1500:])
                time.sleep(0.2)
            caps = [{'capability': 'background-snapshot', 'state': True}]
            if self.config == 'predlog-cow':
                caps.append({'capability': 'predlog-cow', 'state': True})
            vm.cmd('migrate-set-capabilities', capabilities=caps)
            if self.config == 'predlog-cow' and self.opts.cow_param:
                vm.cmd('migrate-set-parameters', **self.opts.cow_param)
            rows = []
            for i, name in enumerate(SNAPSHOTS):
                if i:
                    time.sleep(self.opts.gap)
                rows.append(self.snapshot(vm, console, name))
            return rows
        finally:
            console.close()
            vm.shutdown()


# -- report -------------------------------------------------------------------

def num(v):
    if v in (None, ''):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def medians(rows):
    med = {}
    for r in rows:
        key = (r['workload'], r['config'], r['snapshot'])
        med.setdefault(key, {})
        for m in METRICS + ('idle_ms', 'faults_idle', 'runq_ms', 'cow.faults', 'cow.pages-per-fault',
                            'cow.bounce-peak', 'cow.bounce-size',
                            'cow.faults-fallback', 'cow.hot-first-pages'):
            v = num(r.get(m))
            if v is not None:
                med[key].setdefault(m, []).append(v)
    return {k: {m: statistics.median(v) for m, v in d.items()}
            for k, d in med.items()}


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, spec='%.2f'):
    return '-' if v is None else spec % v


def print_table(med, workloads):
    print('\n# medians; ratio = predlog-cow / stock, same binary, same guest')
    head = ('%-8s %-6s %-12s %9s %9s %8s %9s %8s %8s'
            % ('workload', 'snap', 'config', 'faults', 'stall ms',
               'progress', 'dur ms', 'MB', 'extra MB'))
    print(head)
    print('-' * len(head))
    for w in workloads:
        for s in SNAPSHOTS:
            for c in CONFIGS + ('ratio',):
                if c == 'ratio':
                    a = med.get((w, 'predlog-cow', s), {})
                    b = med.get((w, 'stock', s), {})
                    d = {m: ratio(a.get(m), b.get(m)) for m in METRICS}
                    spec = '%.2fx'
                else:
                    d = med.get((w, c, s), {})
                    spec = None
                print('%-8s %-6s %-12s %9s %9s %8s %9s %8s %8s' % (
                    w, s, c,
                    fmt(d.get('faults'), spec or '%.0f'),
                    fmt(d.get('stall_ms'), spec or '%.0f'),
                    fmt(d.get('progress'), spec or '%.2f'),
                    fmt(d.get('duration_ms'), spec or '%.0f'),
                    fmt(d.get('bytes') and d['bytes'] / (1e6 if not spec
                                                         else 1),
                        spec or '%.0f'),
                    fmt(d.get('extra_mb'), spec or '%.1f')))
            print('%-8s %-6s   vCPU run-queue wait (ms): stock %s, '
                  'predlog-cow %s; faults/sleeps in the warm-up: %s, %s'
                  % (w, s, fmt(med.get((w, 'stock', s), {}).get('runq_ms'),
                               '%.0f'),
                     fmt(med.get((w, 'predlog-cow', s), {}).get('runq_ms'),
                         '%.0f'),
                     fmt(med.get((w, 'stock', s), {}).get('faults_idle'),
                         '%.0f'),
                     fmt(med.get((w, 'predlog-cow', s), {}).get('faults_idle'),
                         '%.0f')))
            cow = med.get((w, 'predlog-cow', s), {})
            if cow.get('cow.faults') is not None:
                print('%-8s %-6s   predlog-cow: %s faults by its count, '
                      '%s pages per copy, pool peak %s of %s MB, %s '
                      'fallbacks, %s pages saved hot-first'
                      % (w, s, fmt(cow.get('cow.faults'), '%.0f'),
                         fmt(cow.get('cow.pages-per-fault'), '%.1f'),
                         fmt(cow.get('cow.bounce-peak', 0) / 1e6, '%.1f'),
                         fmt(cow.get('cow.bounce-size', 0) / 1e6, '%.1f'),
                         fmt(cow.get('cow.faults-fallback'), '%.0f'),
                         fmt(cow.get('cow.hot-first-pages'), '%.0f')))
        print()


def targets(med, workloads):
    """[(what, value, target, met)] of the issue's targets."""
    out = []

    def get(w, c, s, m):
        return med.get((w, c, s), {}).get(m)
    for s in SNAPSHOTS:
        if 'hotcold' in workloads:
            w = 'hotcold'
            cow = lambda m: get(w, 'predlog-cow', s, m)  # noqa: E731
            stock = lambda m: get(w, 'stock', s, m)      # noqa: E731
            cap = cow('cow.bounce-size')
            checks = [
                ('progress during / before', cow('progress'), '>= 0.90',
                 lambda v: v >= 0.9),
                ('faults vs stock', ratio(cow('faults'), stock('faults')),
                 '<= 0.10', lambda v: v <= 0.1),
                ('stall vs stock', ratio(cow('stall_ms'), stock('stall_ms')),
                 '<= 0.20', lambda v: v <= 0.2),
                ('duration vs stock', ratio(cow('duration_ms'),
                                            stock('duration_ms')),
                 '<= 1.05', lambda v: v <= 1.05),
                ('bytes vs stock', ratio(cow('bytes'), stock('bytes')),
                 '<= 1.05', lambda v: v <= 1.05),
                ('extra memory - stock\'s, MB',
                 None if cow('extra_mb') is None or stock('extra_mb') is None
                 else cow('extra_mb') - stock('extra_mb'),
                 '<= pool cap %s MB' % fmt(cap and cap / MiB, '%.1f'),
                 lambda v, c=cap: c is not None and v <= c / MiB),
            ]
            for what, v, t, ok in checks:
                out.append(('hotcold %s: %s' % (s, what), v, t,
                            None if v is None else ok(v)))
        if 'uniform' in workloads:
            for m in METRICS:
                a, b = (get('uniform', 'predlog-cow', s, m),
                        get('uniform', 'stock', s, m))
                if m == 'progress':
                    v, t, ok = ratio(a, b), '>= 0.95', lambda v: v >= 0.95
                else:
                    v, t, ok = ratio(a, b), '<= 1.05', lambda v: v <= 1.05
                out.append(('uniform %s: %s vs stock' % (s, m), v, t,
                            None if v is None else ok(v)))
    return out


def plot(out, med, workloads):
    plt = bm.import_pyplot()
    labels = ['%s\n%s' % (w, s) for w in workloads for s in SNAPSHOTS]
    for m, title in (('faults', 'write faults'),
                     ('stall_ms', 'total vCPU stall (ms)'),
                     ('progress', 'guest progress during / before'),
                     ('duration_ms', 'snapshot duration (ms)')):
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels)), 4))
        width = 0.4
        for i, c in enumerate(CONFIGS):
            vals = [med.get((w, c, s), {}).get(m) or 0
                    for w in workloads for s in SNAPSHOTS]
            ax.bar([x + (i - 0.5) * width for x in range(len(labels))],
                   vals, width, label=c)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_title('background snapshot: ' + title + ' (medians)')
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out, m.split('_')[0] + '.png'), dpi=100)
        plt.close(fig)


def report(opts, rows, workloads):
    med = medians(rows)
    print_table(med, workloads)
    print('# targets (issue 15; on hot/cold and uniform)')
    for what, v, t, ok in targets(med, workloads):
        print('  %-45s %8s  target %-16s %s'
              % (what, fmt(v), t, {True: 'MET', False: 'MISSED',
                                   None: 'n/a'}[ok]))
    fields = ['workload', 'config', 'snapshot'] + list(METRICS)
    with open(os.path.join(opts.out, 'medians.csv'), 'w', newline='') as f:
        wr = csv.writer(f)
        wr.writerow(fields)
        for (w, c, s), d in sorted(med.items()):
            wr.writerow([w, c, s] + [d.get(m, '') for m in METRICS])
    if not opts.no_plots:
        plot(opts.out, med, workloads)
        print('# plots: %s/{faults,stall,progress,duration}.png' % opts.out)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='stock background snapshots vs predlog-cow, side by '
                    'side (bench/snapshot/README.md)')
    p.add_argument('--runs', type=int, default=3,
                   help='runs per workload and configuration (default 3)')
    p.add_argument('--workloads', default=','.join(WORKLOADS),
                   help='comma list of %s' % ', '.join(WORKLOADS))
    p.add_argument('--mb', type=int, default=0,
                   help='workload buffer MiB (default 256; predlog-realwork '
                        'its own 64)')
    p.add_argument('--warmup', type=float, default=2.0,
                   help='seconds the rate before a snapshot is taken over')
    p.add_argument('--gap', type=float, default=2.0,
                   help='seconds between the two snapshots of a run')
    p.add_argument('--cow-param', action='append', default=[],
                   metavar='NAME=VALUE',
                   help='a predlog-cow migration parameter for the '
                        'predlog-cow runs, e.g. predlog-cow-bounce-size='
                        '67108864 (repeatable; default: its defaults)')
    p.add_argument('--quick', action='store_true',
                   help='smoke mode: 1 run, hotcold and uniform, 64 MiB')
    p.add_argument('--out', default=os.path.join(REPO, 'build',
                                                 'bench-snapshot'))
    p.add_argument('--no-plots', action='store_true',
                   help='skip the PNGs (no matplotlib needed)')
    p.add_argument('--report-only', action='store_true',
                   help='re-read runs.csv in --out and report')
    opts = p.parse_args(argv)
    if opts.quick:
        opts.runs, opts.workloads, opts.mb = 1, 'hotcold,uniform', 64
    opts.workloads = [w for w in opts.workloads.split(',') if w]
    params = {}
    for kv in opts.cow_param:
        name, sep, value = kv.partition('=')
        if not sep or not name.startswith('predlog-cow-') or \
                not value.isdigit():
            p.error('--cow-param %r: want predlog-cow-NAME=INTEGER' % kv)
        params[name] = int(value)
    opts.cow_param = params
    bad = [w for w in opts.workloads if w not in WORKLOADS]
    if bad or opts.runs < 1:
        p.error('unknown workload %s (known: %s)' % (
            ', '.join(bad), ', '.join(WORKLOADS)) if bad else
            '--runs must be at least 1')
    return opts


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(opts.out, exist_ok=True)
    runs_csv = os.path.join(opts.out, 'runs.csv')
    if opts.report_only:
        with open(runs_csv) as f:
            rows = list(csv.DictReader(f))
        report(opts, rows, opts.workloads)
        return 0
    reason = predlog_vm.missing_prerequisites()
    if reason:
        print('bench-snapshot: %s' % reason, file=sys.stderr)
        return 1
    rows = []
    tmpdir = tempfile.mkdtemp(prefix='predlog-bench-snap-')
    # interleaved: stock and predlog-cow alternate, so drift hits both
    for i in range(opts.runs):
        for w in opts.workloads:
            for c in CONFIGS:
                t = time.monotonic()
                got = Run(opts, w, c, i, tmpdir).run()
                rows += got
                for r in got:
                    print('# %-8s %-12s run %d %-6s faults %6d stall %7.1f '
                          'ms runq %6.1f ms progress %s dur %s ms %.0f MB '
                          'extra %.1f MB'
                          % (w, c, i, r['snapshot'], r['faults'],
                             r['stall_ms'], r['runq_ms'],
                             fmt(r['progress']),
                             r['duration_ms'], r['bytes'] / 1e6,
                             r['extra_mb']), flush=True)
                print('#   [%.0f s]' % (time.monotonic() - t), flush=True)
    os.rmdir(tmpdir)
    fields = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with open(runs_csv, 'w', newline='') as f:
        wr = csv.DictWriter(f, fieldnames=fields)
        wr.writeheader()
        wr.writerows(rows)
    with open(os.path.join(opts.out, 'meta.json'), 'w') as f:
        json.dump({'runs': opts.runs, 'workloads': opts.workloads,
                   'mb': opts.mb, 'memory_mb': MEMORY_MB,
                   'warmup': opts.warmup, 'gap': opts.gap,
                   'qemu': predlog_vm.qemu_binary(),
                   'date': time.strftime('%Y-%m-%d %H:%M:%S')}, f, indent=1)
    report(opts, rows, opts.workloads)
    return 0


if __name__ == '__main__':
    sys.exit(main())
