#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of predlog-recover, printing TAP.

  test-predlog-recover.py PREDLOG-RECOVER MAKE-TEST-POOL RST-DOC

make-test-pool writes pool files of known content (scenarios mixed,
wrapped, dynamic, empty) and prints what it logged as JSON.  For each
scenario this runs predlog-recover and checks that:

  - the summary (JSON and table) has the pool's fields and, per function,
    the committed/torn/overwritten counts the scenario implies (for the
    FIXED pool worked out by laying the records out in the buffer here,
    independently of the reader);
  - every logged record that was not overwritten comes back exactly: the
    pcap files (parsed here) hold the frames byte for byte with their
    original lengths and nanosecond timestamps, records.jsonl holds the
    other records with every field as the documentation says, both in
    (timestamp, function id, seq) order, and nothing else, in particular
    not the torn record;
  - tshark reads the pcap files with the same lengths and times (tshark is
    required: without it the test fails);
  - bad input (empty, random, truncated, corrupted superblock, missing
    file, directory) exits 1 with "predlog-recover: error: FILE: ..." and
    creates no output; bad usage exits 2;
  - --help prints exactly the text in docs/tools/predlog-recover.rst.

Python 3 standard library only.
"""

import base64
import datetime
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

RECOVER = None
MAKE_POOL = None
RST = None

TYPE_NET, TYPE_BLOCK, TYPE_GUEST, TYPE_SUMMARY = 1, 2, 3, 4
KIND_NET = 1
LEVEL_FULL, LEVEL_SUMMARY, LEVEL_HEADER = 0, 1, 2
LEVEL_NAMES = {0: "full", 1: "summary", 2: "header"}
TYPE_NAMES = {1: "net", 2: "block", 3: "guest", 4: "summary"}
KIND_NAMES = {1: "net", 2: "block", 3: "guest"}
BLOCK_OPS = {1: "read", 2: "write", 3: "flush", 4: "discard",
             5: "write_zeroes"}
SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info",
              "debug"]
BLOCK_EVENT_LEN = 32
GUEST_PREFIX_LEN = 8
PCAP_SNAPLEN = 262144
SB_SIZE = 4096


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, name))
        if not ok:
            self.failed += 1
            for line in str(diag or "").splitlines():
                print("# " + line)
        sys.stdout.flush()
        return ok

    def check(self, name, fn):
        """Run fn(); it passes unless it raises (AssertionError: fails)."""
        try:
            fn()
        except Exception as e:  # pylint: disable=broad-except
            diag = (str(e) if isinstance(e, AssertionError)
                    else traceback.format_exc())
            return self.result(False, name, diag)
        return self.result(True, name)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=120, **kw)


def expect_eq(what, got, want):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


# ------------------------------------------------------------------ #
# Oracles                                                             #
# ------------------------------------------------------------------ #

def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def rfc3339(ns):
    secs, frac = divmod(ns, 10**9)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=secs)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % frac


def fixed_survivors(fn):
    """Lay a FIXED buffer's records out as the writer does (back to back,
    wrapping to the start when the next one does not fit) and return the
    seqs of those no later write touched, and the final write head."""
    size = fn["buffer_size"]
    pos = 0
    writes = []                     # (seq, start, end)
    for r in fn["records"]:
        if pos + r["size"] > size:
            pos = 0
        writes.append((r["seq"], pos, pos + r["size"]))
        pos += r["size"]
    head = pos
    if fn["torn"]:
        t = fn["torn"]
        writes.append((None, t["buf_pos"], t["buf_pos"] + t["written"]))
    alive = set()
    for i, (seq, start, end) in enumerate(writes):
        if seq is None:
            continue
        if all(e <= start or s >= end for _, s, e in writes[i + 1:]):
            alive.add(seq)
    return alive, head


def expected_jsonl(fname, fid, r):
    p = bytes.fromhex(r["payload_hex"])
    o = {"ts_ns": r["ts_ns"], "time": rfc3339(r["ts_ns"]),
         "function": fname, "function_id": fid,
         "kind": TYPE_NAMES[r["type"]], "seq": r["seq"],
         "level": LEVEL_NAMES[r["level"]]}
    b64 = lambda b: base64.b64encode(b).decode()
    if (r["level"] == LEVEL_SUMMARY or r["type"] in (TYPE_SUMMARY,
                                                     TYPE_NET)):
        if r["type"] == TYPE_SUMMARY:
            o["summarized"] = TYPE_NAMES.get(r["aux"], "unknown")
        elif r["type"] == TYPE_NET:
            o["direction"] = r["aux"]
        else:
            o["aux"] = r["aux"]
        o["payload_b64"] = b64(p)
    elif r["type"] == TYPE_BLOCK:
        if r["aux"] in BLOCK_OPS:
            o["op"] = BLOCK_OPS[r["aux"]]
        else:
            o["op"] = "unknown"
            o["op_code"] = r["aux"]
        if len(p) < BLOCK_EVENT_LEN:
            o["event_truncated"] = True
            o["payload_b64"] = b64(p)
        else:
            (o["offset"], o["bytes"], o["latency_ns"], o["ret"],
             o["flags"]) = struct.unpack_from("<QQQiI", p)
            o["data_len"] = len(p) - BLOCK_EVENT_LEN
            o["data_orig_len"] = r["orig_len"] - BLOCK_EVENT_LEN
            if len(p) > BLOCK_EVENT_LEN:
                o["data_b64"] = b64(p[BLOCK_EVENT_LEN:])
    else:
        o["severity"] = r["aux"]
        o["severity_name"] = (SEVERITIES[r["aux"]] if r["aux"] < 8
                              else "unknown")
        if len(p) < GUEST_PREFIX_LEN:
            o["payload_b64"] = b64(p)
        else:
            o["guest_ts_ns"] = struct.unpack_from("<Q", p)[0]
            msg = p[GUEST_PREFIX_LEN:]
            try:
                if b"\0" in msg:
                    raise ValueError
                o["message"] = msg.decode("utf-8")
            except ValueError:
                o["payload_b64"] = b64(msg)
    o["orig_len"] = r["orig_len"]
    o["stored_len"] = r["stored_len"]
    o["truncated"] = r["stored_len"] < r["orig_len"]
    return o


def goes_to_pcap(r):
    return r["type"] == TYPE_NET and r["level"] != LEVEL_SUMMARY


# ------------------------------------------------------------------ #
# Readers of the outputs                                              #
# ------------------------------------------------------------------ #

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise AssertionError("%s: %d bytes, no pcap header" % (path,
                                                               len(data)))
    magic, vmaj, vmin, _, _, snaplen, linktype = struct.unpack_from(
        "<IHHiIII", data)
    expect_eq(path + ": magic (nanosecond pcap)", hex(magic), "0xa1b23c4d")
    expect_eq(path + ": version", (vmaj, vmin), (2, 4))
    expect_eq(path + ": snaplen", snaplen, PCAP_SNAPLEN)
    expect_eq(path + ": linktype", linktype, 1)
    pkts = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise AssertionError("%s: cut packet header at %d" % (path, off))
        sec, nsec, caplen, length = struct.unpack_from("<IIII", data, off)
        off += 16
        if off + caplen > len(data) or nsec >= 10**9:
            raise AssertionError("%s: bad packet at %d" % (path, off - 16))
        pkts.append({"ts_ns": sec * 10**9 + nsec, "caplen": caplen,
                     "len": length, "data": data[off:off + caplen]})
        off += caplen
    return pkts


def read_jsonl(path):
    out = []
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")          # must be UTF-8
    if text and not text.endswith("\n"):
        raise AssertionError("records.jsonl does not end with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise AssertionError("records.jsonl line %d: %s: %r" %
                                 (n, e, line[:200]))
    return out


def tshark_fields(path):
    p = run(["tshark", "-n", "-r", path, "-T", "fields",
             "-e", "frame.len", "-e", "frame.cap_len",
             "-e", "frame.time_epoch"])
    if p.returncode != 0:
        raise AssertionError("tshark -r %s: exit %d: %s" %
                             (path, p.returncode, p.stderr.decode()))
    rows = []
    for line in p.stdout.decode().splitlines():
        flen, clen, epoch = line.split("\t")
        secs, _, frac = epoch.partition(".")
        rows.append((int(flen), int(clen),
                     int(secs) * 10**9 + int((frac + "000000000")[:9])))
    return rows


# ------------------------------------------------------------------ #
# Scenario tests                                                      #
# ------------------------------------------------------------------ #

def test_scenario(tap, tmp, name):
    pool = os.path.join(tmp, name + ".pool")
    out = os.path.join(tmp, name + "-out")
    state = {}

    def generate():
        p = run([MAKE_POOL, name, pool])
        if p.returncode != 0:
            raise AssertionError("make-test-pool %s: exit %d: %s" %
                                 (name, p.returncode, p.stderr.decode()))
        state["logged"] = json.loads(p.stdout)
    if not tap.check("%s: make-test-pool writes the pool" % name, generate):
        return
    logged = state["logged"]
    funcs = logged["functions"]

    # What must come back
    exp = {}

    def oracle():
        for fn in funcs:
            seqs = [r["seq"] for r in fn["records"]]
            expect_eq("%s: dropped" % fn["name"], fn["dropped"], 0)
            if logged["pool"]["policy"] == "fixed":
                alive, head = fixed_survivors(fn)
                if fn["torn"]:
                    expect_eq("%s: torn record at the simulated head" %
                              fn["name"], fn["torn"]["buf_pos"], head)
            elif name == "dynamic":
                alive = None            # evictions: checked for consistency
            else:
                alive = set(seqs)
            exp[fn["id"]] = {
                "alive": alive,
                "max_seq": max(alive) if alive else 0,
                "torn": 1 if fn["torn"] else 0,
            }
    if not tap.check("%s: the logged records are laid out as expected" %
                     name, oracle):
        return

    def recover():
        p = run([RECOVER, "--json-summary", "-o", out, pool])
        if p.returncode != 0 or p.stderr:
            raise AssertionError("exit %d, stderr %r" %
                                 (p.returncode, p.stderr.decode()))
        lines = p.stdout.decode().splitlines()
        expect_eq("summary lines", len(lines), 1)
        state["summary"] = json.loads(lines[0])
    if not tap.check("%s: predlog-recover --json-summary exits 0" % name,
                     recover):
        return
    summary = state["summary"]
    by_id = {f["id"]: f for f in summary["functions"]}

    def pool_fields():
        sp = summary["pool"]
        for k in ("name", "policy", "size", "created_ns"):
            expect_eq("pool " + k, sp[k], logged["pool"][k])
        expect_eq("pool created", sp["created"],
                  rfc3339(logged["pool"]["created_ns"]))
    tap.check("%s: summary names the pool" % name, pool_fields)

    def dynamic_resolve():
        # No oracle for which buffers were evicted: take what came back,
        # then check it is consistent and exact below.
        for fn in funcs:
            e = exp[fn["id"]]
            if e["alive"] is None:
                got = set()
                e["alive_from_output"] = True
                e["alive"] = got
    dynamic_resolve()

    def counts():
        expect_eq("function ids", sorted(by_id), [f["id"] for f in funcs])
        tot = {"committed": 0, "torn": 0, "overwritten": 0}
        for fn in funcs:
            s = by_id[fn["id"]]
            e = exp[fn["id"]]
            where = "function %d (%s)" % (fn["id"], fn["name"])
            expect_eq(where + " name", s["name"], fn["name"])
            expect_eq(where + " kind", s["kind"], KIND_NAMES[fn["kind"]])
            expect_eq(where + " torn", s["torn"], e["torn"])
            if e.get("alive_from_output"):
                last = fn["records"][-1]["seq"] if fn["records"] else 0
                expect_eq(where + " max_seq", s["max_seq"], last)
                expect_eq(where + " committed + overwritten",
                          s["committed"] + s["overwritten"], last)
            else:
                expect_eq(where + " committed", s["committed"],
                          len(e["alive"]))
                expect_eq(where + " overwritten", s["overwritten"],
                          e["max_seq"] - len(e["alive"]))
                expect_eq(where + " max_seq", s["max_seq"], e["max_seq"])
            for k in tot:
                tot[k] += s[k]
        t = summary["totals"]
        for k in tot:
            expect_eq("totals " + k, t[k], tot[k])
        expect_eq("totals orphaned", t["orphaned"], logged["orphaned"])
        expect_eq("totals duplicates", t["duplicates"],
                  logged["duplicates"])
    tap.check("%s: committed/torn/overwritten counts" % name, counts)

    def files():
        listed = summary["files"]
        on_disk = sorted(os.listdir(out))
        expect_eq("files listed vs. on disk",
                  sorted(os.path.basename(f) for f in listed), on_disk)
        for f in listed:
            expect_eq("directory of " + f, os.path.dirname(f), out)
        expect_eq("records.jsonl listed",
                  os.path.join(out, "records.jsonl") in listed, True)
        for fn in funcs:
            s = by_id[fn["id"]]
            if fn["kind"] == KIND_NET:
                if "pcap" not in s:
                    raise AssertionError("net function %s has no pcap" %
                                         fn["name"])
            if "pcap" in s:
                base = os.path.basename(s["pcap"])
                bad = [c for c in base if not (c.isascii() and
                                               (c.isalnum() or c in "._-"))]
                if bad or base.startswith("."):
                    raise AssertionError("unsafe file name %r" % base)
        pcaps = [s["pcap"] for s in summary["functions"] if "pcap" in s]
        expect_eq("distinct pcap names",
                  len(set(p.lower() for p in pcaps)), len(pcaps))
    tap.check("%s: output files are the ones listed, safely named" % name,
              files)

    # Expected records per output, in output order
    def fn_name(fid):
        return next(f["name"] for f in funcs if f["id"] == fid)

    def order_key(rec):
        return (rec["ts_ns"], rec["_fid"], rec["seq"])

    pcap_recs = {}
    jsonl_recs = []
    torn_seqs = {fn["id"]: fn["torn"]["seq"] for fn in funcs if fn["torn"]}
    for fn in funcs:
        for r in fn["records"]:
            r = dict(r, _fid=fn["id"])
            if goes_to_pcap(r):
                pcap_recs.setdefault(fn["id"], []).append(r)
            else:
                jsonl_recs.append(r)

    def check_pcaps():
        for fn in funcs:
            s = by_id[fn["id"]]
            recs = pcap_recs.get(fn["id"], [])
            if not recs and "pcap" not in s:
                continue
            pkts = read_pcap(s["pcap"])
            e = exp[fn["id"]]
            if e.get("alive_from_output"):
                # Identify each packet by its timestamp (unique per function
                # in this scenario) and check it against what was logged.
                by_ts = {r["ts_ns"]: r for r in recs}
                for p in pkts:
                    r = by_ts.get(p["ts_ns"])
                    if r is None:
                        raise AssertionError("%s: packet at %d was never "
                                             "logged" % (s["pcap"],
                                                         p["ts_ns"]))
                    e["alive"].add(r["seq"])
            want = sorted((r for r in recs if r["seq"] in e["alive"]),
                          key=order_key)
            expect_eq("%s: packets" % s["pcap"], len(pkts), len(want))
            expect_eq("%s: packets in summary" % s["pcap"], s["packets"],
                      len(want))
            for i, (p, r) in enumerate(zip(pkts, want)):
                where = "%s packet %d (seq %d)" % (s["pcap"], i + 1,
                                                   r["seq"])
                expect_eq(where + " ts", p["ts_ns"], r["ts_ns"])
                expect_eq(where + " len", p["len"], r["orig_len"])
                expect_eq(where + " caplen", p["caplen"], r["stored_len"])
                expect_eq(where + " bytes", p["data"].hex(),
                          r["payload_hex"])
    tap.check("%s: pcap files hold the frames exactly, in order" % name,
              check_pcaps)

    def check_jsonl():
        got = read_jsonl(os.path.join(out, "records.jsonl"))
        if any(e.get("alive_from_output") for e in exp.values()):
            logged_by_key = {(r["_fid"], r["seq"]): r for r in jsonl_recs}
            for g in got:
                key = (g.get("function_id"), g.get("seq"))
                if key not in logged_by_key:
                    raise AssertionError("records.jsonl: %r never logged" %
                                         (key,))
                if exp[key[0]].get("alive_from_output"):
                    exp[key[0]]["alive"].add(key[1])
        want = sorted((r for r in jsonl_recs
                       if r["seq"] in exp[r["_fid"]]["alive"]),
                      key=order_key)
        expect_eq("records.jsonl lines", len(got), len(want))
        expect_eq("jsonl_records in summary",
                  summary["totals"]["jsonl_records"], len(want))
        for i, (g, r) in enumerate(zip(got, want)):
            w = expected_jsonl(fn_name(r["_fid"]), r["_fid"], r)
            if g != w:
                keys = sorted(set(g) | set(w))
                diff = ["  %s: got %r, want %r" % (k, g.get(k), w.get(k))
                        for k in keys if g.get(k) != w.get(k)]
                raise AssertionError("records.jsonl line %d differs:\n%s" %
                                     (i + 1, "\n".join(diff)))
            if list(g) != list(w):
                raise AssertionError("records.jsonl line %d: key order %r, "
                                     "documented %r" % (i + 1, list(g),
                                                        list(w)))
    tap.check("%s: records.jsonl holds the records exactly, in order" %
              name, check_jsonl)

    def consistency():
        for fn in funcs:
            e = exp[fn["id"]]
            s = by_id[fn["id"]]
            if fn["id"] in torn_seqs and torn_seqs[fn["id"]] in e["alive"]:
                raise AssertionError("torn record of %s was written" %
                                     fn["name"])
            expect_eq("%s: records written vs. committed" % fn["name"],
                      len(e["alive"]), s["committed"])
            if e.get("alive_from_output") and fn["records"]:
                if fn["records"][-1]["seq"] not in e["alive"]:
                    raise AssertionError("%s: last record lost" %
                                         fn["name"])
        if name == "wrapped":
            if not any(f["wraps"] for f in funcs):
                raise AssertionError("scenario did not wrap")
            if not summary["totals"]["overwritten"]:
                raise AssertionError("nothing overwritten")
        if name == "dynamic":
            if not summary["totals"]["overwritten"]:
                raise AssertionError("nothing was evicted")
    tap.check("%s: outputs agree with the counts; no torn record" % name,
              consistency)

    def tshark():
        if not shutil.which("tshark"):
            raise AssertionError("tshark not found")
        for fn in funcs:
            s = by_id[fn["id"]]
            if "pcap" not in s:
                continue
            want = [(p["len"], p["caplen"], p["ts_ns"])
                    for p in read_pcap(s["pcap"])]
            expect_eq("tshark on %s (frame.len, frame.cap_len, "
                      "frame.time_epoch)" % s["pcap"],
                      tshark_fields(s["pcap"]), want)
    tap.check("%s: tshark reads the pcap files alike" % name, tshark)

    def table_and_quiet():
        out2 = os.path.join(tmp, name + "-out-table")
        p = run([RECOVER, "--output-dir", out2, pool])
        expect_eq("table exit", (p.returncode, p.stderr), (0, b""))
        text = p.stdout.decode()
        pool_name = logged["pool"]["name"] or "(unnamed)"
        for needle in ["Pool:     " + pool_name,
                       "Policy:   " + logged["pool"]["policy"],
                       "Size:     %d bytes" % logged["pool"]["size"],
                       "Created:  " + rfc3339(logged["pool"]["created_ns"]),
                       "COMMITTED", "TORN", "OVERWRITTEN",
                       os.path.join(out2, "records.jsonl")]:
            if needle not in text:
                raise AssertionError("table lacks %r:\n%s" % (needle, text))
        t = summary["totals"]
        total = ("Total:    %d committed, %d torn, %d overwritten, "
                 "%d orphaned, %d duplicates" %
                 (t["committed"], t["torn"], t["overwritten"],
                  t["orphaned"], t["duplicates"]))
        if total not in text:
            raise AssertionError("table lacks %r:\n%s" % (total, text))
        for f in summary["functions"]:
            row = [l for l in text.splitlines()
                   if l.split()[:1] == [str(f["id"])]]
            expect_eq("table rows for function %d" % f["id"], len(row), 1)
            cols = row[0].split()
            nums = [str(f["committed"]), str(f["torn"]),
                    str(f["overwritten"])]
            if cols[-4:-1] != nums or f["name"] not in row[0]:
                raise AssertionError("table row %r, want %s %s" %
                                     (row[0], f["name"], nums))
        for a, b in [(out, out2)]:
            expect_eq("same files with and without --json-summary",
                      sorted(os.listdir(a)), sorted(os.listdir(b)))
            for fname in os.listdir(a):
                with open(os.path.join(a, fname), "rb") as fa, \
                        open(os.path.join(b, fname), "rb") as fb:
                    if fa.read() != fb.read():
                        raise AssertionError("%s differs between runs" %
                                             fname)
        p = run([RECOVER, "-q", "-o", out2, pool])
        expect_eq("-q exit, stdout, stderr", (p.returncode, p.stdout,
                                              p.stderr), (0, b"", b""))
    tap.check("%s: table summary, --quiet, reproducible output" % name,
              table_and_quiet)

    if name == "mixed":
        def names():
            want = {"net0": "net0.pcap", "idle": "idle.pcap",
                    ".hidden": "_hidden.pcap",
                    "net_1__tap_": "net_1__tap_.pcap",
                    "net/1 (tap)": "net_1__tap_-3.pcap"}
            got = {f["name"]: os.path.basename(f["pcap"])
                   for f in summary["functions"] if "pcap" in f}
            expect_eq("pcap file names", got, want)
            expect_eq("idle.pcap is an empty capture",
                      read_pcap(os.path.join(out, "idle.pcap")), [])
        tap.check("mixed: names sanitised without clashes; empty pcap for "
                  "an idle function", names)

        def strays():
            expect_eq("orphaned and duplicate records planted",
                      (logged["orphaned"], logged["duplicates"]), (1, 1))
        tap.check("mixed: an orphaned and a duplicate record were planted "
                  "(and are not in the output, see above)", strays)


# ------------------------------------------------------------------ #
# Bad input and usage                                                 #
# ------------------------------------------------------------------ #

def fix_sb_crc(img):
    img[SB_SIZE - 4:SB_SIZE] = struct.pack("<I", crc32c(bytes(img[:4092])))


def bad_inputs(tap, tmp):
    good = os.path.join(tmp, "mixed.pool")
    with open(good, "rb") as f:
        pool = f.read()
    rnd = random.Random(1234)
    cases = []

    def add(label, data=None, path=None, reason=None):
        if path is None:
            path = os.path.join(tmp, "bad-" + label.replace(" ", "-"))
            with open(path, "wb") as f:
                f.write(data)
        cases.append((label, path, reason))

    add("empty file", b"", reason="empty file")
    add("random bytes", bytes(rnd.getrandbits(8) for _ in range(65536)))
    add("random bytes of a pool's size",
        bytes(rnd.getrandbits(8) for _ in range(len(pool))))
    add("truncated copy", pool[:len(pool) // 2])
    add("copy cut inside the superblock", pool[:100])
    img = bytearray(pool)
    img[90] ^= 0x01                             # pool name, CRC now wrong
    add("corrupted superblock", bytes(img))
    img = bytearray(pool)
    img[0] ^= 0xff
    add("bad superblock magic", bytes(img))
    img = bytearray(pool)
    img[8:12] = struct.pack("<I", 99)           # version, CRC recomputed
    fix_sb_crc(img)
    add("unknown version", bytes(img))
    img = bytearray(pool)
    img[40:48] = struct.pack("<Q", len(pool) + 4096)   # data_offset
    fix_sb_crc(img)
    add("impossible superblock field", bytes(img))
    add("nonexistent path", path=os.path.join(tmp, "no", "such.pool"),
        reason="No such file or directory")
    add("directory", path=tmp, reason="Is a directory")

    for label, path, reason in cases:
        out = os.path.join(tmp, "bad-out", label.replace(" ", "-"))

        def one():
            p = run([RECOVER, "-o", out, path])
            err = p.stderr.decode()
            expect_eq("exit status (stderr %r)" % err, p.returncode, 1)
            expect_eq("stdout", p.stdout, b"")
            prefix = "predlog-recover: error: %s: " % path
            if (not err.startswith(prefix) or not err.endswith("\n") or
                    err.count("\n") != 1 or len(err) < len(prefix) + 6):
                raise AssertionError("message %r, want %r + reason" %
                                     (err, prefix))
            if reason and reason not in err:
                raise AssertionError("message %r lacks %r" % (err, reason))
            if os.path.exists(out):
                raise AssertionError("output directory %s created" % out)
        tap.check("bad input: %s exits 1, says why, writes nothing" % label,
                  one)

    def existing_dir_stays_empty():
        out = os.path.join(tmp, "bad-out-existing")
        os.makedirs(out)
        p = run([RECOVER, "-o", out, cases[1][1]])
        expect_eq("exit status", p.returncode, 1)
        expect_eq("files in the existing output directory",
                  os.listdir(out), [])
        p = run([RECOVER, cases[1][1]], cwd=out)
        expect_eq("exit status (default output dir)", p.returncode, 1)
        expect_eq("files in the current directory", os.listdir(out), [])
    tap.check("bad input: existing output directory stays empty",
              existing_dir_stays_empty)

    def unwritable_output():
        blocker = os.path.join(tmp, "a-file")
        with open(blocker, "w") as f:
            f.write("x")
        p = run([RECOVER, "-o", os.path.join(blocker, "sub"), good])
        expect_eq("exit status", p.returncode, 1)
        if not p.stderr.decode().startswith("predlog-recover: error: "):
            raise AssertionError("message %r" % p.stderr.decode())
    tap.check("output directory that cannot be made: exit 1",
              unwritable_output)


def usage(tap, tmp):
    good = os.path.join(tmp, "mixed.pool")

    def help_matches_doc():
        p = run([RECOVER, "--help"])
        expect_eq("exit", (p.returncode, p.stderr), (0, b""))
        with open(RST, encoding="utf-8") as f:
            lines = f.read().splitlines()
        start = next(i for i, l in enumerate(lines)
                     if l.endswith("--help`` prints::"))
        block = []
        for l in lines[start + 1:]:
            if l and not l.startswith("    "):
                break
            block.append(l[4:])
        doc = "\n".join(block).strip("\n") + "\n"
        if p.stdout.decode() != doc:
            raise AssertionError("--help:\n%s\ndoc:\n%s" %
                                 (p.stdout.decode(), doc))
        p2 = run([RECOVER, "-h"])
        expect_eq("-h", p2.stdout, p.stdout)
    tap.check("--help prints the text of docs/tools/predlog-recover.rst",
              help_matches_doc)

    def version():
        p = run([RECOVER, "--version"])
        expect_eq("exit", p.returncode, 0)
        if not p.stdout.decode().startswith("predlog-recover "):
            raise AssertionError("version %r" % p.stdout)
    tap.check("--version", version)

    for label, args in [("no POOL-FILE", []),
                        ("two POOL-FILEs", [good, good]),
                        ("unknown option", ["--bogus", good]),
                        ("unknown short option", ["-x", good]),
                        ("-o without DIR", ["-o"]),
                        ("empty DIR", ["-o", "", good])]:
        def one(args=args):
            p = run([RECOVER] + args, cwd=tmp)
            err = p.stderr.decode()
            expect_eq("exit status (stderr %r)" % err, p.returncode, 2)
            if "Try 'predlog-recover --help'" not in err:
                raise AssertionError("no hint in %r" % err)
            expect_eq("stdout", p.stdout, b"")
        tap.check("usage: %s exits 2 with a hint" % label, one)


def main():
    global RECOVER, MAKE_POOL, RST
    # TAP is the only output format; accept the flag GLib tests take
    args = [a for a in sys.argv[1:] if a != "--tap"]
    if len(args) != 3:
        sys.stderr.write("usage: %s PREDLOG-RECOVER MAKE-TEST-POOL RST "
                         "[--tap]\n" % sys.argv[0])
        return 2
    RECOVER, MAKE_POOL, RST = (os.path.abspath(a) for a in args)
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix="predlog-recover-test-")
    try:
        for name in ["mixed", "wrapped", "dynamic", "empty"]:
            test_scenario(tap, tmp, name)
        bad_inputs(tap, tmp)
        usage(tap, tmp)
    finally:
        if tap.failed and os.environ.get("PREDLOG_KEEP_TMP"):
            print("# kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
