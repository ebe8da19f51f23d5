#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Generate the synthetic traces of bench/traces/: bursty, diurnal, shifting.

Why: the allocator and forecaster benchmarks need inputs whose shape is
known: steady load with sudden bursts, a periodic load the forecasters
should learn, and a mix whose dominant function moves.  A captured trace
(capture-guest.py) is real but has one shape; these are synthetic but
their ground truth (rates, burst times, phase changes) is written into
each file's header comments.

Model.  A trace has four sources, as a predlog device would name them:

  net0    the guest's NIC (filter-predlog): web (HTTP/80, HTTPS/443
          downloads), dns (queries to 10.0.2.3 and answers), ssh
          (interactive session into the guest), icmp (pings), ntp, arp
  net1    a second NIC on a back-end network: db (PostgreSQL/5432 client)
  blk0    the guest's disk (predlog block filter): read, write, flush,
          discard
  guest0  guest log records (predlog-log): syslog-style "app[pid]: text"
          from sshd, nginx, kernel, cron, postgres, app

Each *function* (one per line of CLASSES below: a source plus a class
the analyzer (hw/predlog/core/analyzer.h) would put its events in) has a rate
in "arrivals per second" that a trace-specific function of time
modulates.  Arrivals are a Poisson process sampled in 10 ms bins; each
arrival emits the function's next event(s): the next packet of one of
its TCP flows, a DNS query plus its answer 0.5-30 ms later, a write plus
(sometimes) a flush, one log line.  Net events carry real header
prefixes (Ethernet, IPv4, TCP/UDP/ICMP/ARP, DNS messages whole, the start
of HTTP/TLS/PostgreSQL payloads), so a classifier sees protocol and
ports; IPv4 checksums are valid, TCP/UDP checksums cover the bytes the
prefix holds (so they are valid where the prefix is the whole frame,
e.g. DNS).  Times are whole microseconds, which keeps the files small.

Traces (all from one fixed seed):

  bursty    300 s.  Every function at its base rate; bursts of 8-12x the
            base rate of one function (web, dns, db, block writes) or a
            guest error storm (80-120 lines/s), 2-6 s long, separated by
            6 s plus an exponential gap of mean 10 s; the five take turns
            in shuffled rounds.
  diurnal   600 s.  rate * (1 + A sin(2 pi (t - lag) / 60 s)) * noise,
            with per-function amplitude A and lag (DIURNAL), noise a
            log-normal AR(1) process per function (sigma 0.12, 1-s steps,
            coefficient 0.8): ten 60-second "days"; every rate scaled by
            0.65.
  shifting  300 s.  Five 60-s phases, each with a dominant function: web
            at 2.5x its base rate, dns at 20x, block writes at 10x, a
            guest error storm at 200 lines/s, db at 6x; web, db, read,
            write and log run at 0.3x their base rate in the background;
            3-s linear cross-fades between phases.

The exact parameters are the tables below; every file lists them in its
header.  Output: bench/traces/<name>.tsv.zst (zstd -19, single-threaded);
the text is byte-identical for a given seed and script, the compressed
bytes depend on the zstd version.

Run:  bench/traces/gen-synthetic.py [--out-dir DIR] [--seed N] [NAME...]
"""

import argparse
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

TRACES_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEED = 20260421
PREFIX_MAX = 128
BIN = 0.010                     # arrival sampling bin, seconds

NET_FROM_GUEST, NET_TO_GUEST = 1, 2
BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD = 1, 2, 3, 4

GUEST_MAC = bytes.fromhex('525400123456')
GW_MAC = bytes.fromhex('52550a000202')          # slirp's gateway
GUEST_IP = bytes([10, 0, 2, 15])
GW_IP = bytes([10, 0, 2, 2])
DNS_IP = bytes([10, 0, 2, 3])
GUEST1_MAC = bytes.fromhex('525400abcdef')
DB_MAC = bytes.fromhex('525400fedcba')
GUEST1_IP = bytes([192, 168, 50, 10])
DB_IP = bytes([192, 168, 50, 20])


# ---------------------------------------------------------------------------
# Packets
# ---------------------------------------------------------------------------

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def eth(dst, src, ethertype):
    return dst + src + struct.pack('!H', ethertype)


def ipv4(src, dst, proto, l4_len, ident, ttl=64, df=True):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + l4_len, ident,
                      0x4000 if df else 0, ttl, proto, 0, src, dst)
    return hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]


def l4_csum(src, dst, proto, l4_len, seg):
    """Checksum over the pseudo-header and the bytes we know (@seg)."""
    pseudo = src + dst + struct.pack('!BBH', 0, proto, l4_len)
    return csum(pseudo + seg)


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_frame(smac, dmac, sip, dip, sport, dport, seq, ack, flags, ident,
              data_len, data=b'', window=64240, opts=b''):
    """Frame bytes we know (headers + @data) and the true frame length."""
    thl = 20 + len(opts)
    l4_len = thl + data_len
    hdr = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff,
                      ack & 0xffffffff, (thl // 4) << 4, flags, window, 0,
                      0) + opts
    c = l4_csum(sip, dip, 6, l4_len, hdr + data)
    hdr = hdr[:16] + struct.pack('!H', c) + hdr[18:]
    known = (eth(dmac, smac, 0x0800) + ipv4(sip, dip, 6, l4_len, ident) +
             hdr + data)
    return known, 14 + 20 + l4_len


def udp_frame(smac, dmac, sip, dip, sport, dport, ident, data, data_len=None):
    if data_len is None:
        data_len = len(data)
    l4_len = 8 + data_len
    hdr = struct.pack('!HHHH', sport, dport, l4_len, 0)
    c = l4_csum(sip, dip, 17, l4_len, hdr + data) or 0xffff
    hdr = hdr[:6] + struct.pack('!H', c)
    known = (eth(dmac, smac, 0x0800) + ipv4(sip, dip, 17, l4_len, ident) +
             hdr + data)
    return known, 14 + 20 + l4_len


def icmp_echo(smac, dmac, sip, dip, ident, typ, echo_id, echo_seq, size=56):
    data = bytes((i + 8) & 0xff for i in range(size))   # ping's pattern
    hdr = struct.pack('!BBHHH', typ, 0, 0, echo_id, echo_seq)
    c = csum(hdr + data)
    msg = hdr[:2] + struct.pack('!H', c) + hdr[4:] + data
    f = eth(dmac, smac, 0x0800) + ipv4(sip, dip, 1, len(msg), ident) + msg
    return f, len(f)


def arp(smac, sip, tip, reply=False, tmac=b'\0' * 6):
    dst = tmac if reply else b'\xff' * 6
    body = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 2 if reply else 1,
                       smac, sip, tmac, tip)
    f = eth(dst, smac, 0x0806) + body
    return f, len(f)


def dns_name(name):
    out = b''
    for label in name.split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def dns_query(qid, name, qtype):
    return struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + \
        dns_name(name) + struct.pack('!HH', qtype, 1)


def dns_answer(qid, name, qtype, rng):
    q = dns_name(name) + struct.pack('!HH', qtype, 1)
    n = rng.choice((1, 1, 2, 4)) if qtype == 1 else 1
    ans = b''
    for _ in range(n):
        if qtype == 1:
            rdata = bytes([203, 0, 113, rng.randrange(1, 255)])
        else:
            rdata = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 10 +
                          [rng.randrange(256), rng.randrange(256)])
        ans += struct.pack('!HHHIH', 0xc00c, qtype, 1,
                           rng.choice((60, 300, 3600)), len(rdata)) + rdata
    return struct.pack('!HHHHHH', qid, 0x8180, 1, n, 0, 0) + q + ans


# ---------------------------------------------------------------------------
# Functions: each arrival emits events (t, source, kind, aux, len, prefix)
# ---------------------------------------------------------------------------

class Emitter:
    def __init__(self, rng):
        self.rng = rng
        self.events = []
        self.ids = {}           # per-(host) IPv4 identification counters

    def ip_id(self, host):
        v = self.ids.get(host)
        if v is None:
            v = self.rng.randrange(65536)
        self.ids[host] = (v + 1) & 0xffff
        return v

    def add(self, t, source, kind, aux, length, prefix=b''):
        self.events.append((int(round(t * 1e6)) * 1000, len(self.events),
                            source, kind, aux, length,
                            prefix[:min(PREFIX_MAX, length)]))


SITES = ['www.example.com', 'cdn.example.net', 'api.example.org',
         'static.example.com', 'mirror.example.net', 'img.example.org',
         'updates.example.com', 'news.example.net']
PATHS = ['/', '/index.html', '/static/app.js', '/static/style.css',
         '/img/logo.png', '/api/v1/items?page=2', '/downloads/tool.tar.gz',
         '/debian/pool/main/b/busybox/busybox_1.35.0-4_amd64.deb']


class TcpFlows:
    """Client flows from the guest; each arrival sends a flow's next packet."""

    def __init__(self, name, source, ports, smac, dmac, sip, servers,
                 mean_segments, max_flows=4):
        self.name, self.source, self.ports = name, source, ports
        self.smac, self.dmac, self.sip = smac, dmac, sip
        self.servers = servers
        self.mean_segments = mean_segments
        self.max_flows = max_flows
        self.flows = []

    def new_flow(self, em):
        rng = em.rng
        port = rng.choice(self.ports)
        f = {
            'sport': rng.randrange(32768, 61000), 'dport': port,
            'dip': rng.choice(self.servers), 'cseq': rng.getrandbits(32),
            'sseq': rng.getrandbits(32), 'state': 'syn', 'left':
            max(1, int(rng.expovariate(1 / self.mean_segments))),
            'since_ack': 0, 'site': rng.choice(SITES),
            'path': rng.choice(PATHS),
        }
        self.flows.append(f)
        return f

    def request(self, f, rng):
        if f['dport'] == 443:
            # TLS 1.3 ClientHello record start (random, session id follow)
            body = (bytes.fromhex('160301') + struct.pack('!H', 512) +
                    bytes.fromhex('010001fc0303') +
                    bytes(rng.getrandbits(8) for _ in range(32)))
            return body, 517
        if f['dport'] == 5432:
            sql = rng.choice([
                "SELECT id, name, price FROM items WHERE id = %d;",
                "SELECT count(*) FROM orders WHERE user_id = %d;",
                "UPDATE sessions SET seen = now() WHERE id = %d;",
                "INSERT INTO events (kind, ref) VALUES ('view', %d);",
            ]) % rng.randrange(1, 100000)
            body = b'Q' + struct.pack('!I', len(sql) + 5) + sql.encode() + \
                b'\0'
            return body, len(body)
        text = ('GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Wget/1.21.3\r\n'
                'Accept: */*\r\nAccept-Encoding: identity\r\n'
                'Connection: Keep-Alive\r\n\r\n' % (f['path'], f['site']))
        return text.encode(), len(text)

    def response_start(self, f, rng):
        if f['dport'] == 443:
            return bytes.fromhex('170303') + struct.pack(
                '!H', 1460 - 5) + bytes(rng.getrandbits(8) for _ in range(8))
        if f['dport'] == 5432:
            return b'T' + struct.pack('!IH', 60, 3) + b'id\0'
        ctype = 'text/html' if f['path'].endswith(('/', 'html')) else \
            'application/octet-stream'
        return ('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: '
                '%s\r\nContent-Length: %d\r\n' % (ctype, f['left'] * 1460)
                ).encode()

    def arrive(self, t, em):
        rng = em.rng
        live = [f for f in self.flows if f['state'] != 'done']
        self.flows = live
        if not live or (len(live) < self.max_flows and rng.random() < 0.05):
            f = self.new_flow(em)
        else:
            f = rng.choice(live)
        sip, dip = self.sip, f['dip']
        c2s = (self.smac, self.dmac, sip, dip, f['sport'], f['dport'])
        s2c = (self.dmac, self.smac, dip, sip, f['dport'], f['sport'])
        mss = bytes.fromhex('020405b40402080a') + \
            struct.pack('!II', rng.getrandbits(32), 0) + bytes.fromhex(
                '01030307')
        st = f['state']
        if st == 'syn':
            k, n = tcp_frame(*c2s, f['cseq'], 0, SYN, em.ip_id(sip), 0,
                             opts=mss)
            em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
            f['cseq'] += 1
            f['state'] = 'synack'
        elif st == 'synack':
            k, n = tcp_frame(*s2c, f['sseq'], f['cseq'], SYN | ACK,
                             em.ip_id(dip), 0, window=65535, opts=mss)
            em.add(t, self.source, 'net', NET_TO_GUEST, n, k)
            f['sseq'] += 1
            f['state'] = 'req'
        elif st == 'req':
            data, dlen = self.request(f, rng)
            k, n = tcp_frame(*c2s, f['cseq'], f['sseq'], PSH | ACK,
                             em.ip_id(sip), dlen, data)
            em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
            f['cseq'] += dlen
            f['state'] = 'first'
        elif st in ('first', 'data'):
            if f['since_ack'] >= 2:
                k, n = tcp_frame(*c2s, f['cseq'], f['sseq'], ACK,
                                 em.ip_id(sip), 0)
                em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
                f['since_ack'] = 0
                return
            data = self.response_start(f, rng) if st == 'first' else b''
            dlen = 1460 if f['left'] > 1 else rng.randrange(100, 1460)
            k, n = tcp_frame(*s2c, f['sseq'], f['cseq'], ACK | (
                PSH if f['left'] == 1 else 0), em.ip_id(dip), dlen, data,
                window=65535)
            em.add(t, self.source, 'net', NET_TO_GUEST, n, k)
            f['sseq'] += dlen
            f['since_ack'] += 1
            f['left'] -= 1
            f['state'] = 'fin' if f['left'] == 0 else 'data'
            if f['state'] == 'fin' and f['dport'] == 5432 and \
                    rng.random() < 0.9:
                # keep the connection: next query on it
                f['state'], f['left'] = 'req', max(
                    1, int(rng.expovariate(1 / self.mean_segments)))
        elif st == 'fin':
            k, n = tcp_frame(*c2s, f['cseq'], f['sseq'], FIN | ACK,
                             em.ip_id(sip), 0)
            em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
            k, n = tcp_frame(*s2c, f['sseq'], f['cseq'] + 1, FIN | ACK,
                             em.ip_id(dip), 0, window=65535)
            em.add(t + rng.uniform(0.0002, 0.02), self.source, 'net',
                   NET_TO_GUEST, n, k)
            f['state'] = 'done'


class Dns:
    NAMES = SITES + ['ntp.debian.org', 'deb.debian.org',
                     'security.debian.org', 'metrics.example.com',
                     'auth.example.org', 'db.internal.example']

    def __init__(self, source):
        self.source = source

    def arrive(self, t, em):
        rng = em.rng
        name = rng.choice(self.NAMES)
        qtype = 1 if rng.random() < 0.6 else 28
        qid = rng.getrandbits(16)
        sport = rng.randrange(32768, 61000)
        q = dns_query(qid, name, qtype)
        k, n = udp_frame(GUEST_MAC, GW_MAC, GUEST_IP, DNS_IP, sport, 53,
                         em.ip_id(GUEST_IP), q)
        em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
        a = dns_answer(qid, name, qtype, rng)
        k, n = udp_frame(GW_MAC, GUEST_MAC, DNS_IP, GUEST_IP, 53, sport,
                         em.ip_id(DNS_IP), a)
        em.add(t + rng.uniform(0.0005, 0.030), self.source, 'net',
               NET_TO_GUEST, n, k)


class Ssh:
    """An interactive session into the guest: keystrokes and echoes."""

    def __init__(self, source):
        self.source = source
        self.cseq = self.sseq = None

    def arrive(self, t, em):
        rng = em.rng
        if self.cseq is None:
            self.cseq, self.sseq = rng.getrandbits(32), rng.getrandbits(32)
            self.cport = rng.randrange(40000, 60000)
        client = bytes([198, 51, 100, 7])
        size = rng.choice((36, 36, 36, 52, 68, 100, 1200))
        k, n = tcp_frame(GW_MAC, GUEST_MAC, client, GUEST_IP, self.cport, 22,
                         self.cseq, self.sseq, PSH | ACK, em.ip_id(client),
                         size)
        em.add(t, self.source, 'net', NET_TO_GUEST, n, k)
        self.cseq += size
        k, n = tcp_frame(GUEST_MAC, GW_MAC, GUEST_IP, client, 22, self.cport,
                         self.sseq, self.cseq, PSH | ACK, em.ip_id(GUEST_IP),
                         size)
        em.add(t + rng.uniform(0.0003, 0.003), self.source, 'net',
               NET_FROM_GUEST, n, k)
        self.sseq += size


class Icmp:
    def __init__(self, source):
        self.source = source
        self.seq = 0
        self.id = None

    def arrive(self, t, em):
        if self.id is None:
            self.id = em.rng.getrandbits(16)
        self.seq += 1
        k, n = icmp_echo(GUEST_MAC, GW_MAC, GUEST_IP, GW_IP,
                         em.ip_id(GUEST_IP), 8, self.id, self.seq)
        em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
        k, n = icmp_echo(GW_MAC, GUEST_MAC, GW_IP, GUEST_IP,
                         em.ip_id(GW_IP), 0, self.id, self.seq)
        em.add(t + em.rng.uniform(0.0002, 0.002), self.source, 'net',
               NET_TO_GUEST, n, k)


class Ntp:
    def __init__(self, source):
        self.source = source

    def arrive(self, t, em):
        rng = em.rng
        server = bytes([192, 0, 2, rng.choice((10, 11, 12, 13))])
        ts = struct.pack('!II', 3985000000 + int(t), rng.getrandbits(32))
        req = bytes.fromhex('e30006ec') + bytes(36) + ts
        sport = rng.randrange(32768, 61000)
        k, n = udp_frame(GUEST_MAC, GW_MAC, GUEST_IP, server, sport, 123,
                         em.ip_id(GUEST_IP), req)
        em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
        resp = bytes.fromhex('240206e9') + bytes(4) + \
            struct.pack('!I', rng.getrandbits(32)) + b'GPS\0' + ts * 4
        k, n = udp_frame(GW_MAC, GUEST_MAC, server, GUEST_IP, 123, sport,
                         em.ip_id(server), resp)
        em.add(t + rng.uniform(0.005, 0.040), self.source, 'net',
               NET_TO_GUEST, n, k)


class Arp:
    def __init__(self, source):
        self.source = source

    def arrive(self, t, em):
        k, n = arp(GUEST_MAC, GUEST_IP, GW_IP)
        em.add(t, self.source, 'net', NET_FROM_GUEST, n, k)
        k, n = arp(GW_MAC, GW_IP, GUEST_IP, reply=True, tmac=GUEST_MAC)
        em.add(t + em.rng.uniform(0.0001, 0.001), self.source, 'net',
               NET_TO_GUEST, n, k)


class Block:
    """Requests of one op class; writes are sometimes followed by a flush."""

    SIZES = {
        BLK_READ: ((4096, 50), (8192, 10), (16384, 10), (65536, 15),
                   (131072, 15)),
        BLK_WRITE: ((4096, 50), (8192, 12), (16384, 12), (65536, 12),
                    (262144, 8), (1048576, 6)),
        BLK_DISCARD: ((1048576, 50), (8388608, 50)),
    }

    def __init__(self, source, op, flush_share=0.0):
        self.source, self.op, self.flush_share = source, op, flush_share

    def arrive(self, t, em):
        rng = em.rng
        sizes = self.SIZES[self.op]
        length = rng.choices([s for s, _ in sizes],
                             [w for _, w in sizes])[0]
        em.add(t, self.source, 'block', self.op, length)
        if rng.random() < self.flush_share:
            em.add(t + rng.uniform(0.0001, 0.005), self.source, 'block',
                   BLK_FLUSH, 0)


class GuestLog:
    """syslog-style lines; @apps: [(app, severity weights, templates)]."""

    def __init__(self, source, apps):
        self.source, self.apps = source, apps
        self.pids = {}

    def arrive(self, t, em):
        rng = em.rng
        app, sev_weights, templates = rng.choices(
            self.apps, [sum(a[1]) for a in self.apps])[0]
        sev = rng.choices(range(8), sev_weights)[0]
        pid = self.pids.setdefault(app, rng.randrange(200, 30000))
        msg = rng.choice(templates[sev] if sev in templates
                         else templates['*'])
        msg = msg.format(
            ip='198.51.100.%d' % rng.randrange(1, 255),
            port=rng.randrange(1024, 65535), ms=rng.randrange(1, 900),
            n=rng.randrange(1, 10000), path=rng.choice(PATHS),
            user=rng.choice(('alice', 'bob', 'deploy', 'root', 'www-data')),
            size=rng.randrange(200, 200000), code=rng.choice(
                (200, 200, 200, 304, 404, 500)))
        text = ('%s: %s' % (app, msg) if app == 'kernel'
                else '%s[%d]: %s' % (app, pid, msg)).encode()
        em.add(t, self.source, 'guest', sev, len(text), text)


GUEST_APPS = [
    ('sshd', [0, 0, 0, 0, 2, 0, 8, 0], {
        4: ['Failed password for invalid user {user} from {ip} port {port} '
            'ssh2'],
        '*': ['Accepted publickey for {user} from {ip} port {port} ssh2: '
              'ED25519 SHA256:q3v7MxZ8cGxPp0wq1o9yT0lB8r7vX5bZzK1nR2sT4uY',
              'Disconnected from user {user} {ip} port {port}',
              'pam_unix(sshd:session): session opened for user {user}'],
    }),
    ('nginx', [0, 0, 0, 1, 1, 0, 12, 0], {
        3: ['*{n} upstream timed out (110: Connection timed out) while '
            'reading response header from upstream, client: {ip}'],
        4: ['*{n} an upstream response is buffered to a temporary file'],
        '*': ['{ip} - - "GET {path} HTTP/1.1" {code} {size} "-" '
              '"Mozilla/5.0 (X11; Linux x86_64)"'],
    }),
    ('kernel', [0, 0, 0, 1, 2, 1, 3, 0], {
        3: ['blk_update_request: I/O error, dev vda, sector {n} op 0x1:'
            '(WRITE) flags 0x800 phys_seg 1 prio class 0'],
        4: ['TCP: request_sock_TCP: Possible SYN flooding on port 80. '
            'Sending cookies.'],
        '*': ['EXT4-fs (vda1): mounted filesystem with ordered data mode',
              'virtio_net virtio0 eth0: link up'],
    }),
    ('cron', [0, 0, 0, 0, 0, 0, 3, 0], {
        '*': ['(root) CMD (/usr/local/bin/backup --incremental)',
              '(www-data) CMD (php /var/www/cron.php)'],
    }),
    ('postgres', [0, 0, 0, 1, 1, 0, 4, 2], {
        3: ['ERROR:  duplicate key value violates unique constraint '
            '"orders_pkey"'],
        4: ['WARNING:  there is no transaction in progress'],
        7: ['DEBUG:  autovacuum: processing database "shop"'],
        '*': ['LOG:  checkpoint complete: wrote {n} buffers; '
              'write={ms}.012 s, sync=0.003 s',
              'LOG:  duration: {ms}.417 ms  statement: SELECT * FROM items'],
    }),
    ('app', [0, 0, 0, 1, 1, 1, 6, 6], {
        3: ['request {n} failed: upstream returned {code} after {ms} ms'],
        7: ['cache lookup key=item:{n} hit=false ms={ms}'],
        '*': ['handled {path} in {ms} ms status={code} bytes={size}',
              'job {n} done in {ms} ms'],
    }),
]

# An error storm: what a failing disk or service writes.
STORM_APPS = [
    ('kernel', [0, 0, 1, 8, 1, 0, 0, 0], GUEST_APPS[2][2]),
    ('app', [0, 0, 0, 8, 2, 0, 0, 0], GUEST_APPS[5][2]),
    ('nginx', [0, 0, 0, 6, 2, 0, 0, 0], GUEST_APPS[1][2]),
]

SERVERS = [bytes([203, 0, 113, x]) for x in (10, 20, 30, 40)] + \
    [bytes([198, 51, 100, x]) for x in (80, 90)]

# name, source, kind, base arrivals/s, maker
CLASSES = [
    ('web', 'net0', 'net', 70,
     lambda: TcpFlows('web', 'net0', (80, 80, 443, 443, 443, 8080),
                      GUEST_MAC, GW_MAC, GUEST_IP, SERVERS, 60)),
    ('dns', 'net0', 'net', 6, lambda: Dns('net0')),
    ('ssh', 'net0', 'net', 2, lambda: Ssh('net0')),
    ('icmp', 'net0', 'net', 1, lambda: Icmp('net0')),
    ('ntp', 'net0', 'net', 0.2, lambda: Ntp('net0')),
    ('arp', 'net0', 'net', 0.1, lambda: Arp('net0')),
    ('db', 'net1', 'net', 20,
     lambda: TcpFlows('db', 'net1', (5432,), GUEST1_MAC, DB_MAC, GUEST1_IP,
                      [DB_IP], 3, max_flows=3)),
    ('read', 'blk0', 'block', 60, lambda: Block('blk0', BLK_READ)),
    ('write', 'blk0', 'block', 45, lambda: Block('blk0', BLK_WRITE, 0.3)),
    ('discard', 'blk0', 'block', 0.05, lambda: Block('blk0', BLK_DISCARD)),
    ('log', 'guest0', 'guest', 10, lambda: GuestLog('guest0', GUEST_APPS)),
    ('storm', 'guest0', 'guest', 0.0, lambda: GuestLog('guest0',
                                                        STORM_APPS)),
]


# ---------------------------------------------------------------------------
# Rate shapes
# ---------------------------------------------------------------------------

def poisson(rng, lam):
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def shape_bursty(rng, duration):
    """Irregular bursts of one function at 8-12x its base rate."""
    targets = ['web', 'dns', 'db', 'write', 'storm']
    order = []
    bursts = []
    t = 6 + rng.expovariate(1 / 10)
    while t < duration - 8:
        if not order:
            # every function bursts as often as the others, in random order
            order = targets[:]
            rng.shuffle(order)
        name = order.pop()
        length = rng.uniform(2, 6)
        factor = rng.uniform(8, 12)
        bursts.append((t, length, name, factor))
        t += length + 6 + rng.expovariate(1 / 10)

    def rate(name, base, t):
        r = base
        for start, length, bname, factor in bursts:
            if start <= t < start + length and bname == name:
                # the error storm has no base rate: 10/s times the factor
                r = (10.0 if name == 'storm' else base) * factor
        return r

    notes = ['burst: start_s=%.3f length_s=%.3f function=%s factor=%.2f'
             % b for b in bursts]
    return rate, notes


DIURNAL = {     # name: (amplitude, lag seconds)
    'web': (0.8, 0), 'dns': (0.6, 0), 'ssh': (0.3, 30), 'db': (0.7, 3),
    'read': (0.6, 5), 'write': (0.5, 8), 'log': (0.4, 2),
}


def shape_diurnal(rng, duration, period=60.0):
    noise = {}
    for name in DIURNAL:
        x, series = 0.0, []
        for _ in range(int(duration) + 2):
            x = 0.8 * x + rng.gauss(0, 0.12 * math.sqrt(1 - 0.8 ** 2))
            series.append(math.exp(x))
        noise[name] = series

    def rate(name, base, t):
        if name not in DIURNAL:
            return base
        amp, lag = DIURNAL[name]
        return (base * (1 + amp * math.sin(2 * math.pi * (t - lag) / period))
                * noise[name][int(t)])

    notes = ['period_s: %g' % period, 'noise: log-normal AR(1), sigma 0.12,'
             ' 1 s steps, coefficient 0.8']
    notes += ['diurnal: function=%s amplitude=%.2f lag_s=%g' % (n, a, lg)
              for n, (a, lg) in DIURNAL.items()]
    return rate, notes


SHIFT_PHASES = [('web', 2.5), ('dns', 20.0), ('write', 10.0),
                ('storm', None), ('db', 6.0)]
SHIFT_STORM = 200.0             # arrivals/s of the storm phase


def shape_shifting(rng, duration, phase_len=60.0, fade=3.0):
    def weight(i, t):
        """1 inside phase i, linear cross-fades of @fade s at its edges."""
        start, end = i * phase_len, (i + 1) * phase_len
        if i > 0 and t < start + fade / 2:
            return max(0.0, (t - (start - fade / 2)) / fade)
        if i < len(SHIFT_PHASES) - 1 and t > end - fade / 2:
            return max(0.0, ((end + fade / 2) - t) / fade)
        return 1.0 if start <= t < end else 0.0

    def rate(name, base, t):
        r = base * (0.3 if name in ('web', 'db', 'write', 'read', 'log')
                    else 1.0)
        for i, (pname, factor) in enumerate(SHIFT_PHASES):
            if pname != name:
                continue
            w = weight(i, t)
            hot = SHIFT_STORM if name == 'storm' else base * factor
            r = r * (1 - w) + hot * w
        return r

    notes = ['phase: start_s=%g length_s=%g function=%s' %
             (i * phase_len, phase_len, p) for i, (p, _) in
             enumerate(SHIFT_PHASES)]
    notes.append('fade_s: %g (linear cross-fade centred on each boundary)'
                 % fade)
    return rate, notes


# name: (duration s, shape, description, scale of every rate)
TRACES = {
    'bursty': (300.0, shape_bursty,
               'steady background per function, 2-6 s bursts of 8-12x one '
               'function at irregular times', 1.0),
    'diurnal': (600.0, shape_diurnal,
                'sinusoidal load, period 60 s (ten compressed "days"), '
                'per-function amplitude and lag, log-normal noise', 0.65),
    'shifting': (300.0, shape_shifting,
                 'the dominant function changes every 60 s: web, dns, '
                 'block writes, guest error storm, db', 1.0),
}


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def generate(name, seed):
    duration, shaper, what, scale = TRACES[name]
    # one stream for the shape, one for the events: changing a function's
    # packets does not move the bursts
    shape_rng = random.Random('%d/%s/shape' % (seed, name))
    rng = random.Random('%d/%s/events' % (seed, name))
    rate, notes = shaper(shape_rng, duration)
    em = Emitter(rng)
    funcs = [(cname, base, make()) for cname, _, _, base, make in CLASSES]
    nbins = int(round(duration / BIN))
    for b in range(nbins):
        t0 = b * BIN
        for cname, base, fn in funcs:
            n = poisson(rng, scale * rate(cname, base, t0 + BIN / 2) * BIN)
            for t in sorted(t0 + rng.random() * BIN for _ in range(n)):
                fn.arrive(t, em)
    events = sorted(e for e in em.events if e[0] <= duration * 1e9)
    notes.append('rate_scale: %g (every arrival rate above is multiplied '
                 'by it)' % scale)
    return events, what, notes, duration


def summary_lines(events, duration):
    """Per source: events, events/s mean and peak (1-s windows), bytes/s."""
    per = {}
    for t, _, src, kind, _, length, _ in events:
        s = per.setdefault(src, [kind, 0, 0, {}])
        s[1] += 1
        s[2] += length
        sec = int(t // 1_000_000_000)
        s[3][sec] = s[3].get(sec, 0) + 1
    lines = []
    for src, (kind, n, nbytes, secs) in per.items():
        lines.append('source: %s kind=%s events=%d mean_eps=%.1f '
                     'peak_eps=%d mean_Bps=%.0f'
                     % (src, kind, n, n / duration, max(secs.values()),
                        nbytes / duration))
    return lines


def write_trace(path_tsv, name, seed, events, what, notes, duration):
    with open(path_tsv, 'w') as f:
        f.write('# name: %s\n' % name)
        f.write('# origin: synthetic, bench/traces/gen-synthetic.py '
                '--seed %d %s\n' % (seed, name))
        f.write('# description: %s\n' % what)
        f.write('# duration_s: %g\n' % duration)
        f.write('# events: %d\n' % len(events))
        for line in summary_lines(events, duration):
            f.write('# %s\n' % line)
        for cname, src, kind, base, _ in CLASSES:
            f.write('# function: %s/%s base_arrivals_per_s=%g\n'
                    % (src, cname, base))
        for n in notes:
            f.write('# %s\n' % n)
        f.write('# fields: t_ns source kind aux len prefix\n')
        for t, _, src, kind, aux, length, prefix in events:
            f.write('%d\t%s\t%s\t%d\t%d\t%s\n'
                    % (t, src, kind, aux, length, prefix.hex()))


def compress(path_tsv, path_zst):
    zstd = shutil.which('zstd')
    if not zstd:
        sys.exit('gen-synthetic: the zstd program is needed (./configure '
                 'installs it)')
    subprocess.run([zstd, '-q', '-f', '-19', '--single-thread', path_tsv,
                    '-o', path_zst], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('names', nargs='*', metavar='NAME',
                    help='traces to make (default: all: %s)'
                    % ', '.join(TRACES))
    ap.add_argument('--out-dir', default=TRACES_DIR)
    ap.add_argument('--seed', type=int, default=DEFAULT_SEED)
    ap.add_argument('--keep-tsv', action='store_true',
                    help='also leave the uncompressed .tsv')
    opts = ap.parse_args()
    for name in opts.names or TRACES:
        if name not in TRACES:
            ap.error('unknown trace %r (known: %s)'
                     % (name, ', '.join(TRACES)))
        events, what, notes, duration = generate(name, opts.seed)
        os.makedirs(opts.out_dir, exist_ok=True)
        out = os.path.join(opts.out_dir, name + '.tsv.zst')
        with tempfile.TemporaryDirectory() as tmp:
            tsv = os.path.join(opts.out_dir if opts.keep_tsv else tmp,
                               name + '.tsv')
            write_trace(tsv, name, opts.seed, events, what, notes, duration)
            compress(tsv, out)
        print('%s: %d events, %.0f s, %d bytes compressed'
              % (out, len(events), duration, os.path.getsize(out)))
        for line in summary_lines(events, duration):
            print('  ' + line)


if __name__ == '__main__':
    main()
