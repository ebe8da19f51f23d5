#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Cost of predlog's network tap, side by side with no filter and filter-dump.

Why: filter-predlog copies every packet of a netdev into the predlog pool
on QEMU's main loop.  This measures what that costs the guest's network,
against the same guest with no filter and with QEMU's own filter-dump
(which writes a pcap file), in one run, so the ratios compare like with
like.

How: three VMs (TCG, q35, qboot, the recorder-mode test guest: virtio-net
on slirp, predlog.ko loaded) are booted once, identical except for the
filter on netdev n0:

  none     no filter
  dump     -object filter-dump,id=d0,netdev=n0,file=<tmp>/dump.pcap
  predlog  -object filter-predlog,id=f0,netdev=n0,recorder=rec0

Every VM has the same '-device predlog,id=rec0' over a 64 MiB shared
memory-backend-file pool, so the guests boot the same way and the filter is
the only difference.  Only the VM being measured runs; the other two are
stopped (QMP 'stop'), so they take no CPU.  Rounds alternate the
configurations (none dump predlog none dump predlog ...) and each
measurement runs these workloads:

  g2h   bulk TCP guest -> host: 'nc 10.0.2.2 PORT </dev/zero' in the guest,
        a Python server on the host's 127.0.0.1:PORT counting the bytes
        received in a fixed window that starts at the first byte
  h2g   bulk TCP host -> guest through a hostfwd: the host sends zeros for
        a fixed time to 'nc -l -p 5000 | wc -c' in the guest; throughput is
        what the guest counted over the time until it had it all
  ping  small packets: 'ping -A -s 16' (adaptive, next request as soon as
        the reply is in) to the slirp gateway, which answers itself

Reported per configuration and workload: median throughput (MB/s, 10^6
bytes), median packets/s (both directions, from the guest's eth0
counters), and QEMU's host CPU time (utime+stime from /proc/PID/stat)
per MB transferred and per packet, plus the ratios dump/none,
predlog/none and predlog/dump.  After each predlog measurement the
script checks with query-predlog that the filter's function logged
records and dropped none, and prints its records and bytes: proof the
tap was really recording.  Any drop makes the script exit 1.

Output: a table on stdout and build/bench/net-tap.csv (one row per
measurement, then one per median).

Run:  bench/net/bench-net-tap.py [--quick] [--rounds N] [--duration S]
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR (see tests/functional/predlog_vm.py)
"""

import argparse
import csv
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'functional'))
import predlog_vm  # noqa: E402

CONFIGS = ('none', 'dump', 'predlog')
WORKLOADS = ('g2h', 'h2g', 'ping')
POOL_SIZE = 64 * 1024 * 1024
GUEST_PORT = 5000
CLK_TCK = os.sysconf('SC_CLK_TCK')


def qemu_cpu_seconds(pid):
    """utime+stime of process pid (all its threads), in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class BenchVM:
    """One configuration's VM, its console and its host-side ports."""

    def __init__(self, config, tmp):
        self.config = config
        self.tmp = os.path.join(tmp, config)
        os.makedirs(self.tmp)
        self.hostfwd_port = free_port()
        self.dump = os.path.join(self.tmp, 'dump.pcap')
        args = [
            '-object', 'memory-backend-file,id=pool0,mem-path=%s,size=%d,'
                       'share=on' % (os.path.join(self.tmp, 'pool'),
                                     POOL_SIZE),
            '-device', 'predlog,id=rec0,memdev=pool0',
            '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:%d'
                       % (self.hostfwd_port, GUEST_PORT),
            '-device', 'virtio-net-pci,netdev=n0',
        ]
        if config == 'dump':
            args += ['-object', 'filter-dump,id=d0,netdev=n0,file=%s'
                     % self.dump]
        elif config == 'predlog':
            args += ['-object',
                     'filter-predlog,id=f0,netdev=n0,recorder=rec0']
        self.vm = predlog_vm.VM(mode='recorder', args=args, console='socket',
                                name='bench-' + config)
        self.console = None

    def boot(self):
        self.vm.launch()
        self.console = predlog_vm.Console(self.vm.console_socket)
        self.console.wait_for(r'predlog-guest: recorder (ready|failed.*)',
                              timeout=120)
        if 'predlog-guest: recorder ready' not in self.console.text():
            raise RuntimeError('%s guest did not come up:\n%s'
                               % (self.config, self.console.text()[-2000:]))
        rc, _ = self.console.run('true', timeout=60)
        assert rc == 0
        # warm up the path (ARP, slirp) so that no run pays for it
        rc, out = self.console.run('ping -c 2 -W 5 10.0.2.2 >/dev/null')
        if rc != 0:
            raise RuntimeError('%s: guest cannot ping 10.0.2.2' % self.config)

    @property
    def pid(self):
        return self.vm.proc.pid

    def pause(self):
        self.vm.cmd('stop')

    def resume(self):
        self.vm.cmd('cont')

    def packets(self):
        """eth0 rx_packets + tx_packets, as the guest counts them."""
        rc, out = self.console.run(
            'cat /sys/class/net/eth0/statistics/rx_packets '
            '/sys/class/net/eth0/statistics/tx_packets')
        nums = [int(x) for x in out.split()]
        if rc != 0 or len(nums) != 2:
            raise RuntimeError('cannot read eth0 counters: %r' % out)
        return sum(nums)

    def tap_function(self):
        """Counters of the tap's source f0, or None without the tap.

        With policy=predictive (the default) the source is split into
        one function per traffic class ("f0/web", "f0/arp", ...); with
        fixed or dynamic it is the single function "f0".  The counters
        are summed over all of the source's functions.
        """
        total = None
        for dev in self.vm.cmd('query-predlog'):
            for f in dev['functions']:
                if f['name'] != 'f0' and not f['name'].startswith('f0/'):
                    continue
                if total is None:
                    total = {'records': 0, 'bytes': 0, 'dropped': 0,
                             'functions': 0}
                for k in ('records', 'bytes', 'dropped'):
                    total[k] += f[k]
                total['functions'] += 1
        return total

    def shutdown(self):
        if self.console:
            self.console.close()
        self.vm.shutdown()


def g2h(bvm, duration):
    """Bulk TCP from the guest; return (bytes, seconds, cpu seconds)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    srv.settimeout(60)
    port = srv.getsockname()[1]
    result = {}

    def serve():
        try:
            conn, _ = srv.accept()
        except OSError as e:
            result['error'] = e
            return
        with conn:
            conn.settimeout(30)
            first = conn.recv(1 << 20)
            t0 = time.monotonic()
            c0 = qemu_cpu_seconds(bvm.pid)
            total = 0
            end = t0 + duration
            buf = bytearray(1 << 20)
            try:
                while True:
                    now = time.monotonic()
                    if now >= end:
                        break
                    conn.settimeout(end - now)
                    n = conn.recv_into(buf)
                    if not n:
                        break
                    total += n
            except socket.timeout:
                pass
            t1 = time.monotonic()
            c1 = qemu_cpu_seconds(bvm.pid)
            result['r'] = (total, t1 - t0, c1 - c0, len(first))

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    rc, out = bvm.console.run('timeout %d nc 10.0.2.2 %d </dev/zero '
                              '>/dev/null' % (duration + 30, port),
                              timeout=duration + 60)
    th.join(10)
    srv.close()
    if 'r' not in result:
        raise RuntimeError('%s g2h: no data from the guest (nc rc=%d: %s) %s'
                           % (bvm.config, rc, out.strip(),
                              result.get('error', '')))
    total, secs, cpu, _ = result['r']
    return total, secs, cpu


def h2g(bvm, duration):
    """Bulk TCP to the guest; return (bytes, seconds, cpu seconds)."""
    handle = bvm.console.start('nc -l -p %d | wc -c' % GUEST_PORT)
    time.sleep(1.0)   # let nc listen: slirp would refuse the forward
    chunk = bytes(256 * 1024)
    sent = 0
    for attempt in range(20):
        s = socket.create_connection(('127.0.0.1', bvm.hostfwd_port), 10)
        t0 = time.monotonic()
        c0 = qemu_cpu_seconds(bvm.pid)
        end = t0 + duration
        try:
            while time.monotonic() < end:
                sent += s.send(chunk)
            break
        except (ConnectionResetError, BrokenPipeError):
            # the guest was not listening yet
            s.close()
            sent = 0
            time.sleep(0.5)
    else:
        raise RuntimeError('%s h2g: cannot connect to the guest'
                           % bvm.config)
    s.shutdown(socket.SHUT_WR)
    rc, out = bvm.console.finish(handle, timeout=duration + 60)
    t1 = time.monotonic()
    c1 = qemu_cpu_seconds(bvm.pid)
    s.close()
    try:
        got = int(out.split()[-1])
    except (IndexError, ValueError):
        raise RuntimeError('%s h2g: guest said %r' % (bvm.config, out))
    if got != sent:
        raise RuntimeError('%s h2g: sent %d bytes, guest got %d'
                           % (bvm.config, sent, got))
    return got, t1 - t0, c1 - c0


def ping(bvm, duration):
    """Small packets; return (bytes, seconds, cpu seconds, packets)."""
    handle = bvm.console.start('ping -A -q -s 16 -w %d 10.0.2.2' % duration)
    t0 = time.monotonic()
    c0 = qemu_cpu_seconds(bvm.pid)
    rc, out = bvm.console.finish(handle, timeout=duration + 60)
    t1 = time.monotonic()
    c1 = qemu_cpu_seconds(bvm.pid)
    m = re.search(r'(\d+) packets transmitted, (\d+) packets received', out)
    if not m:
        raise RuntimeError('%s ping: %r' % (bvm.config, out))
    # each echo is a request and a reply; 16 bytes of data make a
    # 58-byte Ethernet frame (14 + 20 IP + 8 ICMP + 16)
    pkts = int(m.group(1)) + int(m.group(2))
    return pkts * 58, t1 - t0, c1 - c0, pkts


def measure(bvm, workload, duration):
    before = bvm.packets()
    tap0 = bvm.tap_function()
    if workload == 'g2h':
        nbytes, secs, cpu = g2h(bvm, duration)
    elif workload == 'h2g':
        nbytes, secs, cpu = h2g(bvm, duration)
    else:
        nbytes, secs, cpu, _ = ping(bvm, duration)
    pkts = bvm.packets() - before
    tap1 = bvm.tap_function()
    row = {
        'config': bvm.config, 'workload': workload,
        'bytes': nbytes, 'seconds': round(secs, 3),
        'mb_s': nbytes / secs / 1e6,
        'packets': pkts, 'pps': pkts / secs,
        'cpu_s': round(cpu, 3),
        'cpu_ms_per_mb': cpu * 1e3 / (nbytes / 1e6) if nbytes else 0,
        'cpu_us_per_pkt': cpu * 1e6 / pkts if pkts else 0,
        'tap_records': '', 'tap_bytes': '', 'tap_dropped': '',
        'tap_functions': '',
    }
    if tap1 is not None:
        # a traffic class's function appears with its first record
        tap0 = tap0 or {'records': 0, 'bytes': 0, 'dropped': 0}
        row['tap_records'] = tap1['records'] - tap0['records']
        row['tap_bytes'] = tap1['bytes'] - tap0['bytes']
        row['tap_dropped'] = tap1['dropped'] - tap0['dropped']
        row['tap_functions'] = tap1['functions']
    return row


def fmt_ratio(a, b):
    return '%.3f' % (a / b) if b else 'n/a'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='1 round, 3 s per workload')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--duration', type=float, default=8,
                    help='seconds per bulk TCP workload (default 8)')
    ap.add_argument('--ping-duration', type=int, default=4,
                    help='seconds of ping (default 4)')
    ap.add_argument('--csv', default=os.path.join(REPO, 'build', 'bench',
                                                  'net-tap.csv'))
    opts = ap.parse_args()
    if opts.quick:
        opts.rounds, opts.duration, opts.ping_duration = 1, 3, 3

    reason = predlog_vm.missing_prerequisites()
    if reason:
        print('bench-net-tap: %s\n(build with: flock /tmp/predlog-qemu-build'
              '.lock make -C %s qemu guest)' % (reason, REPO),
              file=sys.stderr)
        return 2

    # other work on the host skews every figure; the ratios less so,
    # since the configurations alternate, but say how busy it was
    print('# host: %d CPUs, load average %.2f %.2f %.2f at start'
          % ((os.cpu_count(),) + os.getloadavg()), flush=True)
    tmp = tempfile.mkdtemp(prefix='predlog-bench-net-')
    vms = {}
    rows = []
    failures = []
    try:
        for config in CONFIGS:
            t = time.monotonic()
            bvm = BenchVM(config, tmp)
            vms[config] = bvm
            bvm.boot()
            bvm.pause()
            print('# booted %-7s in %.1f s (qemu pid %d)'
                  % (config, time.monotonic() - t, bvm.pid), flush=True)
        for rnd in range(1, opts.rounds + 1):
            for config in CONFIGS:
                bvm = vms[config]
                bvm.resume()
                try:
                    for workload in WORKLOADS:
                        dur = (opts.ping_duration if workload == 'ping'
                               else opts.duration)
                        row = measure(bvm, workload, int(dur))
                        row['round'] = rnd
                        rows.append(row)
                        msg = ('# round %d %-7s %-4s %8.3f MB/s %8.0f pkt/s'
                               ' cpu %6.1f ms/MB %6.1f us/pkt'
                               % (rnd, config, workload, row['mb_s'],
                                  row['pps'], row['cpu_ms_per_mb'],
                                  row['cpu_us_per_pkt']))
                        if config == 'predlog':
                            msg += ('  tap f0: %d records, %d bytes, '
                                    '%d dropped, %d functions'
                                    % (row['tap_records'], row['tap_bytes'],
                                       row['tap_dropped'],
                                       row['tap_functions']))
                            if row['tap_records'] <= 0:
                                failures.append('round %d %s: the tap '
                                                'logged no records'
                                                % (rnd, workload))
                            if row['tap_dropped'] != 0:
                                failures.append('round %d %s: the tap '
                                                'dropped %d records'
                                                % (rnd, workload,
                                                   row['tap_dropped']))
                        print(msg, flush=True)
                finally:
                    bvm.pause()
                if config == 'dump':
                    # keep the pcap from filling the disk; QEMU writes
                    # on at its offset, into a sparse file
                    os.truncate(bvm.dump, 0)
    finally:
        for bvm in vms.values():
            bvm.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    print('# load average %.2f %.2f %.2f at end' % os.getloadavg())
    # medians
    med = {}
    for config in CONFIGS:
        for workload in WORKLOADS:
            sel = [r for r in rows if r['config'] == config
                   and r['workload'] == workload]
            med[config, workload] = {
                k: statistics.median(r[k] for r in sel)
                for k in ('mb_s', 'pps', 'cpu_ms_per_mb', 'cpu_us_per_pkt')}

    print()
    print('filter-predlog network tap cost: TCG guest, slirp, %d round(s), '
          '%g s bulk / %d s ping; medians' % (opts.rounds, opts.duration,
                                              opts.ping_duration))
    print()
    hdr = '%-5s %-8s %10s %10s %10s %10s' % ('load', 'config', 'MB/s',
                                             'pkt/s', 'cpu ms/MB',
                                             'cpu us/pkt')
    print(hdr)
    print('-' * len(hdr))
    for workload in WORKLOADS:
        for config in CONFIGS:
            m = med[config, workload]
            print('%-5s %-8s %10.3f %10.0f %10.1f %10.1f'
                  % (workload, config, m['mb_s'], m['pps'],
                     m['cpu_ms_per_mb'], m['cpu_us_per_pkt']))
    print()
    hdr = '%-5s %-22s %10s %10s %10s' % ('load', 'ratio', 'MB/s',
                                         'pkt/s', 'cpu/MB')
    print(hdr)
    print('-' * len(hdr))
    ratios = []
    for workload in WORKLOADS:
        for a, b in (('dump', 'none'), ('predlog', 'none'),
                     ('predlog', 'dump')):
            ma, mb = med[a, workload], med[b, workload]
            r = (workload, '%s/%s' % (a, b),
                 fmt_ratio(ma['mb_s'], mb['mb_s']),
                 fmt_ratio(ma['pps'], mb['pps']),
                 fmt_ratio(ma['cpu_ms_per_mb'], mb['cpu_ms_per_mb']))
            ratios.append(r)
            print('%-5s %-22s %10s %10s %10s' % r)

    os.makedirs(os.path.dirname(opts.csv), exist_ok=True)
    fields = ['kind', 'round', 'workload', 'config', 'bytes', 'seconds',
              'mb_s', 'packets', 'pps', 'cpu_s', 'cpu_ms_per_mb',
              'cpu_us_per_pkt', 'tap_records', 'tap_bytes', 'tap_dropped',
              'tap_functions']
    with open(opts.csv, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=fields + ['ratio'],
                           extrasaction='ignore')
        w.writeheader()
        for r in rows:
            out = dict(r, kind='run')
            for k in ('mb_s', 'pps', 'cpu_ms_per_mb', 'cpu_us_per_pkt'):
                out[k] = '%.4f' % r[k]
            w.writerow(out)
        for (config, workload), m in med.items():
            out = {'kind': 'median', 'config': config, 'workload': workload}
            out.update({k: '%.4f' % v for k, v in m.items()})
            w.writerow(out)
        for workload, name, mbs, pps, cpu in ratios:
            w.writerow({'kind': 'ratio', 'workload': workload,
                        'config': name, 'mb_s': mbs, 'pps': pps,
                        'cpu_ms_per_mb': cpu})
    print('\nCSV: %s' % opts.csv)

    if failures:
        for f in failures:
            print('bench-net-tap: FAILED: %s' % f, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
