#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Capture bench/traces/guest-mixed.tsv.zst from our guest via the recorder.

Why: the synthetic traces (gen-synthetic.py) have the shapes we chose;
this one is what a real (small) Linux guest does, recorded by predlog's
own taps, recovered by predlog-recover and converted, so the benchmarks
also replay I/O nobody designed.

How: boots the recorder-mode test guest (build/guest, TCG, q35, qboot)
with

  -object memory-backend-file,id=pool0,size=256M,share=on,mem-path=<tmp>
  -device predlog,id=rec0,memdev=pool0,policy=dynamic
  -netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56
  -object filter-predlog,id=net0,netdev=n0,recorder=rec0
  -blockdev file,node-name=disk0-file,filename=<tmp>/disk.raw,discard=unmap
  -blockdev predlog,node-name=blk0,file=disk0-file,recorder=rec0,discard=unmap
  -device virtio-blk-pci,drive=blk0

and drives the guest's shell over the serial console through these
phases (each announced in the trace by a guest record "workload[1]:
phase NAME" at notice severity):

  boot     mke2fs and mount the disk (ext2, by the built-in ext4 driver)
  idle     only the background, which runs from here to the end: a ping
           to 10.0.2.2 every second and a monitor line (predlog-log)
           every 2 s; 12 s
  dns      nslookup of 10 names (some resolve, some do not) against
           slirp's 10.0.2.3 (forwarded to the host's resolver), 0.15 s
           apart, for 15 s
  web      wget of files from a Python http.server this script runs on
           the host's 127.0.0.1:8080 (the guest's 10.0.2.2:8080): HTML,
           CSS, JS and text pages and random binaries, 3 KB to 4 MB,
           0.5 s apart, for 20 s
  write    dd to files (8 MiB in 1 MiB blocks, 6 MiB in 64 KiB, 4 MiB in
           4 KiB, 6 MiB of zeroes; each fsync'ed) and 200 small files and
           a sync, round-robin for 15 s
  read     caches dropped and the files read back; O_DIRECT reads of the
           raw device in 128 KiB and 4 KiB blocks, round-robin for 12 s
  mixed    downloads to the disk in the background (4 files, 3 rounds),
           meanwhile lookups, app log bursts (150 info, 40 err records)
           and 1 MiB fsync'ed writes for 12 s; then the files are read,
           deleted, and fstrim discards the free space
  cooldown only the background, 8 s

(disk.raw: 256 MiB, sparse).  Then it stops the VM, reads query-predlog
(records and drops per function), kills QEMU (kill -9; quitting would
close the disk and log one more flush), runs predlog-recover on the pool
file and checks
that every function's committed records equal what query-predlog
counted, that nothing was dropped, torn or overwritten and that all
records are at full detail (the 256 MiB pool holds everything: nothing is
ever evicted).  It then converts the pcap (net0) and records.jsonl (blk0,
guest0) into the trace format: times relative to the first record,
direction from the frame's source MAC (pcap has no direction), as
prefix the whole frame if it has at most 128 bytes, else its headers
(Ethernet, IP, TCP/UDP/ICMP) and 32 bytes of payload; block op and
request length; guest severity and message.

Run:  bench/traces/capture-guest.py [--out FILE] [--keep DIR]
Env:  PREDLOG_QEMU, PREDLOG_GUEST_DIR (tests/functional/predlog_vm.py),
      PREDLOG_RECOVER (default build/core/tools/predlog-recover)
Needs the zstd program.  Takes about 2 minutes (TCG).
"""

import argparse
import base64
import datetime
import functools
import http.server
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
TRACES_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(TRACES_DIR))
sys.path.insert(0, os.path.join(REPO, 'tests', 'functional'))
import predlog_vm  # noqa: E402

POOL_SIZE = 256 * 1024 * 1024
DISK_SIZE = 256 * 1024 * 1024
GUEST_MAC = '52:54:00:12:34:56'
PREFIX_MAX = 128
# Bytes of a frame's payload (after its protocol headers) kept in the
# trace: enough for the start of an HTTP line or a TLS record header.
# Keeping all 128 bytes would fill the trace with the random bytes of
# binary downloads; the replay's filler stands for them.
PAYLOAD_KEEP = 32
BLOCK_OPS = {'read': 1, 'write': 2, 'flush': 3, 'discard': 4,
             'write_zeroes': 5, 'write-zeroes': 5}

DNS_NAMES = ['deb.debian.org', 'security.debian.org', 'www.example.com',
             'example.org', 'ntp.debian.org', 'localhost',
             'no-such-host.invalid', 'www.kernel.org', 'qemu.org',
             'github.com']

WORDS = ('the of and to in is for on with data error request server client '
         'file user time value status connection system memory disk network '
         'packet buffer page read write open close start stop service '
         'process thread queue event log info debug warning').split()


def recover_binary():
    return os.environ.get('PREDLOG_RECOVER',
                          os.path.join(REPO, 'build', 'core', 'tools',
                                       'predlog-recover'))


T_START = time.monotonic()


def say(msg):
    print('capture-guest: [%6.1f s] %s' % (time.monotonic() - T_START, msg),
          flush=True)


# ---------------------------------------------------------------------------
# Host side: the files the guest downloads
# ---------------------------------------------------------------------------

def make_site(root, rng):
    """HTML, text and binary files; returns [(name, size)]."""
    files = []

    def text(n):
        out, size = [], 0
        while size < n:
            line = ' '.join(rng.choice(WORDS) for _ in range(12)) + '\n'
            out.append(line)
            size += len(line)
        return ''.join(out)[:n].encode()

    def put(name, data):
        with open(os.path.join(root, name), 'wb') as f:
            f.write(data)
        files.append((name, len(data)))

    put('index.html', b'<!DOCTYPE html>\n<html><head><title>predlog</title>'
        b'</head><body>\n' + text(12000) + b'</body></html>\n')
    put('style.css', text(3000))
    put('app.js', text(40000))
    put('changelog.txt', text(300000))
    put('access.log', text(1000000))
    put('image.png', rng.randbytes(200000))
    put('package.deb', rng.randbytes(1500000))
    put('archive.tar.gz', rng.randbytes(4000000))
    return files


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_http(root):
    """Serve @root on 127.0.0.1:8080 (a port the analyzer calls web)."""
    handler = functools.partial(QuietHandler, directory=root)
    try:
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', 8080), handler)
    except OSError as e:
        say('port 8080 is taken (%s); serving on a random port, which '
            'classifies as plain tcp' % e)
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    return srv


# ---------------------------------------------------------------------------
# Guest side
# ---------------------------------------------------------------------------

class Workload:
    def __init__(self, console, port):
        self.c = console
        self.port = port
        self.phases = []        # (name, host monotonic start)

    def run(self, cmd, timeout=300):
        rc, out = self.c.run(cmd, timeout=timeout)
        if rc != 0:
            raise RuntimeError('guest command failed (rc %d): %s\n%s'
                               % (rc, cmd, out))
        return out

    def phase(self, name):
        say('phase %s' % name)
        self.phases.append((name, time.monotonic()))
        self.run('predlog-log -s notice "workload[1]: phase %s"' % name)

    def url(self, name):
        return 'http://10.0.2.2:%d/%s' % (self.port, name)

    def boot(self):
        self.phase('boot')
        self.run('mke2fs -q /dev/vda && mkdir -p /mnt && mount /dev/vda /mnt'
                 ' && mkdir -p /mnt/small /mnt/dl')

    def background(self):
        # a ping every second and a monitor line every 2 s, until stopped
        self.run('(ping -i 1 10.0.2.2 >/dev/null 2>&1 &) ; '
                 '(while true; do predlog-log "monitor[42]: load '
                 '$(cut -d" " -f1-3 /proc/loadavg) mem '
                 '$(grep MemFree /proc/meminfo | tr -s " " | cut -d" " -f2)'
                 ' kB free"; sleep 2; done >/dev/null 2>&1 &)')

    def idle(self, seconds):
        self.phase('idle')
        time.sleep(seconds)

    def for_seconds(self, seconds, steps):
        """Run @steps (commands) round-robin until @seconds have passed."""
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            self.run(steps[i % len(steps)], timeout=600)
            i += 1

    def dns(self, seconds):
        self.phase('dns')
        self.for_seconds(seconds, [
            'timeout 3 nslookup %s 10.0.2.3 >/dev/null 2>&1; usleep 150000'
            % n for n in DNS_NAMES])

    def web(self, seconds):
        self.phase('web')
        order = ['index.html', 'style.css', 'app.js', 'image.png',
                 'changelog.txt', 'index.html', 'package.deb',
                 'access.log', 'archive.tar.gz', 'app.js', 'package.deb',
                 'index.html', 'archive.tar.gz', 'changelog.txt']
        self.for_seconds(seconds, [
            'wget -q -O /dev/null %s; usleep 500000' % self.url(name)
            for name in order])

    def write(self, seconds):
        self.phase('write')
        self.for_seconds(seconds, [
            'dd if=/dev/urandom of=/mnt/big1 bs=1M count=8 conv=fsync '
            '2>/dev/null',
            'dd if=/dev/urandom of=/mnt/big2 bs=64k count=96 conv=fsync '
            '2>/dev/null',
            'for i in $(seq 1 200); do echo "record $i $(cat /proc/uptime)"'
            ' > /mnt/small/f$i; done; sync',
            'dd if=/dev/urandom of=/mnt/big3 bs=4k count=1024 conv=fsync '
            '2>/dev/null',
            'dd if=/dev/zero of=/mnt/zero bs=1M count=6 conv=fsync '
            '2>/dev/null; sync; sleep 1',
        ])

    def read(self, seconds):
        self.phase('read')
        self.for_seconds(seconds, [
            'sync; echo 3 > /proc/sys/vm/drop_caches; cat /mnt/big1 '
            '/mnt/big2 /mnt/big3 >/dev/null; cat /mnt/small/* >/dev/null',
            'dd if=/dev/vda of=/dev/null bs=128k count=160 iflag=direct '
            '2>/dev/null',
            'dd if=/dev/vda of=/dev/null bs=4k count=2000 skip=20000 '
            'iflag=direct 2>/dev/null; sleep 1',
        ])

    def mixed(self):
        self.phase('mixed')
        # downloads to the disk in the background, the rest meanwhile
        self.run('rm -f /tmp/dl.done; ((for r in 1 2 3; do for f in '
                 'package.deb index.html changelog.txt image.png; do '
                 'wget -q -O /mnt/dl/$f http://10.0.2.2:%d/$f; sync; '
                 'usleep 700000; done; done; touch /tmp/dl.done) '
                 '>/dev/null 2>&1 &)' % self.port)
        self.for_seconds(12, [
            'for n in %s; do timeout 3 nslookup $n 10.0.2.3 >/dev/null '
            '2>&1; done; true' % ' '.join(DNS_NAMES[:6]),
            'predlog-log -s info -n 150 "app[77]: handled GET /api/items '
            'status=200"',
            'dd if=/dev/urandom of=/mnt/mixed bs=16k count=64 conv=fsync '
            '2>/dev/null',
            'predlog-log -s err -n 40 "app[77]: upstream timed out after '
            '3000 ms"',
            'sleep 1',
        ])
        self.run('while [ ! -f /tmp/dl.done ]; do sleep 1; done',
                 timeout=600)
        self.run('cat /mnt/dl/* >/dev/null; rm -f /mnt/big2 /mnt/dl/*; '
                 'sync; fstrim /mnt || true')
        self.run('predlog-log -s warning "kernel: EXT4-fs (vda): '
                 'trimmed free space"')

    def cooldown(self, seconds):
        self.phase('cooldown')
        time.sleep(seconds)
        self.run('sync; killall ping; true')


# ---------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------

def read_pcap(path):
    """Yield (ts_ns, orig_len, data) of a pcap file."""
    with open(path, 'rb') as f:
        hdr = f.read(24)
        magic = struct.unpack('<I', hdr[:4])[0]
        if magic == 0xa1b23c4d:
            endian, scale = '<', 1
        elif magic == 0xa1b2c3d4:
            endian, scale = '<', 1000
        elif magic == 0x4d3cb2a1:
            endian, scale = '>', 1
        elif magic == 0xd4c3b2a1:
            endian, scale = '>', 1000
        else:
            raise RuntimeError('%s: not a pcap file' % path)
        linktype = struct.unpack(endian + 'I', hdr[20:24])[0]
        if linktype != 1:
            raise RuntimeError('%s: link type %d, not Ethernet'
                               % (path, linktype))
        while True:
            rec = f.read(16)
            if not rec:
                return
            if len(rec) < 16:
                raise RuntimeError('%s: truncated record header' % path)
            sec, frac, incl, orig = struct.unpack(endian + 'IIII', rec)
            data = f.read(incl)
            if len(data) < incl:
                raise RuntimeError('%s: truncated packet' % path)
            yield sec * 1_000_000_000 + frac * scale, orig, data


def header_len(frame):
    """Bytes of the Ethernet, VLAN, IPv4/IPv6 and TCP/UDP/ICMP headers."""
    off, etype = 14, struct.unpack('!H', frame[12:14])[0]
    while etype in (0x8100, 0x88a8) and len(frame) >= off + 4:
        etype = struct.unpack('!H', frame[off + 2:off + 4])[0]
        off += 4
    proto = None
    if etype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 15) * 4
        frag = struct.unpack('!H', frame[off + 6:off + 8])[0] & 0x1fff
        proto = frame[off + 9] if frag == 0 else None
        off += ihl
    elif etype == 0x86dd and len(frame) >= off + 40:
        proto = frame[off + 6]
        off += 40
    elif etype == 0x0806:
        return off + 28
    if proto == 6 and len(frame) >= off + 20:
        off += (frame[off + 12] >> 4) * 4
    elif proto in (1, 17, 58):
        off += 8
    return off


def frame_prefix(frame):
    """The whole frame if short, else its headers and PAYLOAD_KEEP bytes."""
    if len(frame) <= PREFIX_MAX:
        return frame
    return frame[:min(PREFIX_MAX, header_len(frame) + PAYLOAD_KEEP)]


def clean_source(name):
    out = ''.join(c if c.isalnum() or c in '_.-' else '_' for c in name)
    return out[:31] or 'src'


def convert(outdir, summary, guest_mac):
    """Events (ts_ns, order, source, kind, aux, len, prefix) of a recovery."""
    events = []
    mac = bytes.fromhex(guest_mac.replace(':', ''))
    for fn in summary['functions']:
        if fn['kind'] != 'net':
            continue
        src = clean_source(fn['name'])
        for ts, orig, data in read_pcap(fn['pcap']):
            direction = 1 if data[6:12] == mac else 2
            events.append((ts, len(events), src, 'net', direction, orig,
                           frame_prefix(data)))
    with open(os.path.join(outdir, 'records.jsonl')) as f:
        for line in f:
            r = json.loads(line)
            src = clean_source(r['function'])
            if r['level'] != 'full' or r['truncated']:
                raise RuntimeError('record not at full detail: %s' % line)
            if r['kind'] == 'block':
                if r['op'] not in BLOCK_OPS:
                    raise RuntimeError('unknown block op: %s' % line)
                events.append((r['ts_ns'], len(events), src, 'block',
                               BLOCK_OPS[r['op']], r['bytes'], b''))
            elif r['kind'] == 'guest':
                if 'message' in r:
                    msg = r['message'].encode()
                else:
                    msg = base64.b64decode(r['payload_b64'])
                events.append((r['ts_ns'], len(events), src, 'guest',
                               r['severity'], len(msg), msg[:PREFIX_MAX]))
            else:
                raise RuntimeError('unexpected %s record: %s'
                                   % (r['kind'], line))
    events.sort()
    return events


def source_stats(events, t0, duration_s):
    per = {}
    for ts, _, src, kind, aux, length, _ in events:
        s = per.setdefault(src, {'kind': kind, 'n': 0, 'bytes': 0,
                                 'secs': {}, 'aux': {}})
        s['n'] += 1
        s['bytes'] += length
        sec = (ts - t0) // 1_000_000_000
        s['secs'][sec] = s['secs'].get(sec, 0) + 1
        s['aux'][aux] = s['aux'].get(aux, 0) + 1
    lines = []
    for src, s in per.items():
        lines.append('source: %s kind=%s events=%d mean_eps=%.1f '
                     'peak_eps=%d mean_Bps=%.0f aux_counts=%s'
                     % (src, s['kind'], s['n'], s['n'] / duration_s,
                        max(s['secs'].values()), s['bytes'] / duration_s,
                        ','.join('%d:%d' % kv for kv in
                                 sorted(s['aux'].items()))))
    return lines


def write_trace(path, events, header):
    t0 = events[0][0]
    tmp = path + '.tmp.tsv'
    with open(tmp, 'w') as f:
        for line in header:
            f.write('# %s\n' % line)
        f.write('# fields: t_ns source kind aux len prefix\n')
        for ts, _, src, kind, aux, length, prefix in events:
            f.write('%d\t%s\t%s\t%d\t%d\t%s\n'
                    % (ts - t0, src, kind, aux, length, prefix.hex()))
    subprocess.run(['zstd', '-q', '-f', '-19', '--single-thread', tmp, '-o',
                    path], check=True)
    os.unlink(tmp)


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(TRACES_DIR,
                                                  'guest-mixed.tsv.zst'))
    ap.add_argument('--keep', metavar='DIR',
                    help='copy the pool and the recovery output to DIR '
                    '(also when the capture fails)')
    ap.add_argument('--seed', type=int, default=1,
                    help='seed of the host-side files (default 1)')
    opts = ap.parse_args()

    reason = predlog_vm.missing_prerequisites()
    if reason:
        sys.exit('capture-guest: %s' % reason)
    recover = recover_binary()
    if not os.access(recover, os.X_OK):
        sys.exit('capture-guest: %s not built (ninja -C build/core)'
                 % recover)
    if not shutil.which('zstd'):
        sys.exit('capture-guest: the zstd program is needed')

    tmp = tempfile.mkdtemp(prefix='predlog-capture-')
    try:
        capture(opts, tmp)
    finally:
        # the pool is 256 MiB: never leave it behind, failed or not
        if opts.keep:
            os.makedirs(opts.keep, exist_ok=True)
            for name in ('recovered', 'pool'):
                path = os.path.join(tmp, name)
                if os.path.isdir(path):
                    shutil.copytree(path, os.path.join(opts.keep, name),
                                    dirs_exist_ok=True)
                elif os.path.exists(path):
                    shutil.copy(path, opts.keep)
        shutil.rmtree(tmp, ignore_errors=True)


def capture(opts, tmp):
    recover = recover_binary()
    site = os.path.join(tmp, 'site')
    os.makedirs(site)
    make_site(site, random.Random(opts.seed))
    srv = start_http(site)
    port = srv.server_address[1]
    pool = os.path.join(tmp, 'pool')
    disk = os.path.join(tmp, 'disk.raw')
    with open(disk, 'wb') as f:
        f.truncate(DISK_SIZE)
    args = [
        '-object', 'memory-backend-file,id=pool0,mem-path=%s,size=%d,'
                   'share=on' % (pool, POOL_SIZE),
        # dynamic: one function per tap, every record at full detail
        # (predictive would split taps by class and lower the detail of
        # busy ones)
        '-device', 'predlog,id=rec0,memdev=pool0,policy=dynamic',
        '-netdev', 'user,id=n0',
        '-device', 'virtio-net-pci,netdev=n0,mac=%s' % GUEST_MAC,
        '-object', 'filter-predlog,id=net0,netdev=n0,recorder=rec0',
        '-blockdev', 'driver=file,filename=%s,node-name=disk0-file,'
                     'discard=unmap' % disk,
        '-blockdev', 'driver=predlog,node-name=blk0,file=disk0-file,'
                     'recorder=rec0,discard=unmap',
        '-device', 'virtio-blk-pci,drive=blk0',
    ]
    vm = predlog_vm.VM(mode='recorder', args=args, console='socket',
                       name='capture')
    console = None
    try:
        t_boot = time.monotonic()
        vm.launch()
        console = predlog_vm.Console(vm.console_socket)
        console.wait_for(r'predlog-guest: recorder (ready|failed.*)',
                         timeout=180)
        if 'predlog-guest: recorder ready' not in console.text():
            raise RuntimeError('guest did not come up:\n%s'
                               % console.text()[-3000:])
        if console.run('true', timeout=60)[0] != 0:
            raise RuntimeError('the guest shell does not answer')
        say('guest up in %.1f s' % (time.monotonic() - t_boot))
        wl = Workload(console, port)
        wl.boot()
        wl.background()
        wl.idle(12)
        wl.dns(15)
        wl.web(20)
        wl.write(15)
        wl.read(12)
        wl.mixed()
        wl.cooldown(8)
        t_end = time.monotonic()
        vm.cmd('stop')
        funcs = {f['name']: f for f in vm.cmd('query-predlog')[0]
                 ['functions']}
        say('query-predlog: %s' % json.dumps(funcs))
        # kill, not quit: closing the disk would log one more flush
        vm.kill()
    finally:
        if console:
            console.close()
        vm.shutdown()
        srv.shutdown()

    out = os.path.join(tmp, 'recovered')
    res = subprocess.run([recover, '--json-summary', '-o', out, pool],
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        sys.exit('capture-guest: predlog-recover failed: %s' % res.stderr)
    summary = json.loads(res.stdout)

    # every record the device counted came back, none lost or cut
    problems = []
    for fn in summary['functions']:
        q = funcs.get(fn['name'])
        if q is None:
            continue
        if fn['committed'] != q['records']:
            problems.append('%s: recovered %d records, query-predlog '
                            'counted %d' % (fn['name'], fn['committed'],
                                            q['records']))
        if q['dropped'] or fn['torn'] or fn['overwritten']:
            problems.append('%s: dropped %d torn %d overwritten %d'
                            % (fn['name'], q['dropped'], fn['torn'],
                               fn['overwritten']))
    for name in ('net0', 'blk0', 'guest0'):
        if not funcs.get(name, {}).get('records'):
            problems.append('%s logged no records' % name)
    if problems:
        sys.exit('capture-guest: recovery does not match the device:\n  '
                 + '\n  '.join(problems))

    events = convert(out, summary, GUEST_MAC)
    n_expected = sum(f['committed'] for f in summary['functions'])
    if len(events) != n_expected:
        sys.exit('capture-guest: converted %d events, recovered %d'
                 % (len(events), n_expected))
    t0 = events[0][0]
    duration_s = (events[-1][0] - t0) / 1e9
    qemu_version = subprocess.run(
        [vm.qemu, '--version'], capture_output=True,
        text=True).stdout.split('\n')[0]
    with open(os.path.join(predlog_vm.guest_dir(), 'kernel-version')) as f:
        kver = f.read().strip()
    # phase starts relative to the first record, from the guest's markers
    marks = [(e[0] - t0, e[6].decode(errors='replace')) for e in events
             if e[3] == 'guest' and b'workload[1]: phase' in e[6]]
    header = [
        'name: guest-mixed',
        'origin: captured by bench/traces/capture-guest.py on %s from the '
        'predlog test guest (%s, kernel %s, TCG) through -device predlog '
        '(dynamic policy, 256 MiB pool), filter-predlog net0 on a slirp '
        'netdev and the predlog block filter blk0 on a 256 MiB virtio-blk '
        'disk; recovered with predlog-recover and converted'
        % (datetime.date.today().isoformat(), qemu_version, kver),
        'description: a small Linux guest: idle pings, DNS lookups, HTTP '
        'downloads from the host, ext2 writes and reads, a mixed phase, '
        'cooldown; guest0 carries the workload\'s phase markers and log '
        'lines',
        'duration_s: %.3f' % duration_s,
        'events: %d' % len(events),
        'host_workload_s: %.1f' % (t_end - wl.phases[0][1]),
    ]
    header += source_stats(events, t0, duration_s)
    header += ['phase: start_s=%.3f %s' % (t / 1e9, m.split(': ', 1)[1])
               for t, m in marks]
    header += ['query-predlog: %s records=%d dropped=%d'
               % (n, f['records'], f['dropped']) for n, f in funcs.items()]
    header += ['recovered: %s committed=%d torn=%d overwritten=%d'
               % (f['name'], f['committed'], f['torn'], f['overwritten'])
               for f in summary['functions']]
    write_trace(opts.out, events, header)
    say('%s: %d events, %.1f s, %d bytes' % (opts.out, len(events),
                                             duration_s,
                                             os.path.getsize(opts.out)))
    for line in source_stats(events, t0, duration_s):
        say('  ' + line)


if __name__ == '__main__':
    main()
