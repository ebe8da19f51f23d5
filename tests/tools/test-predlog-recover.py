#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of predlog-recover, printing TAP.

  test-predlog-recover.py PREDLOG-RECOVER MAKE-TEST-POOL RST-DOC

make-test-pool writes pool files of known content (scenarios mixed,
wrapped, dynamic, empty, tiered, damaged) and prints what it logged as
JSON.  For each scenario this runs predlog-recover and checks that:

  - the summary (JSON and table) has the pool's fields and, per function,
    the committed/torn/overwritten counts the scenario implies (for the
    FIXED pool worked out by laying the records out in the buffer here,
    independently of the reader), the sequence numbers summaries stand
    for, the records per level and those that came from the cold tier,
    and the chunks found and those that did not unpack;
  - every logged record that was not overwritten comes back exactly: the
    pcap files (parsed here) hold the frames byte for byte with their
    original lengths and nanosecond timestamps, records.jsonl holds the
    other records with every field as the documentation says (a SUMMARY
    record's summary fields worked out here from the records it counts),
    both in (timestamp, function id, seq) order, and nothing else, in
    particular not the torn record, not a record counted into a summary,
    and no record twice although the cold tier holds copies;
  - tshark reads the pcap files with the same lengths and times, and
    decodes the protocol headers of header-level frames (tshark is
    required: without it the test fails);
  - a damaged chunk's records are lost and counted as overwritten, forged
    chunks count as bad and give exactly the records before their fault;
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
import threading
import traceback

RECOVER = None
MAKE_POOL = None
RST = None

SCENARIOS = ["mixed", "wrapped", "dynamic", "empty", "tiered", "damaged"]
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
HEADER_LEN = {1: 128, 2: 32, 3: 64}     # record.h, by function kind
SUMMARY_LEN = 256
SUMMARY_KEYS = ["first_seq", "last_seq", "records", "first_ts_ns",
                "last_ts_ns", "orig_bytes", "min_len", "max_len",
                "aux_count", "len_hist"]
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


def expect(what, cond):
    if not cond:
        raise AssertionError(what)


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


def len_bucket(n):
    """summary.h: [0] holds 0..1, [i] holds [2^i, 2^(i+1)), [15] >= 2^15"""
    return 0 if n < 2 else min(n.bit_length() - 1, 15)


def expected_summary(counted):
    """The fields of the summary of the records @counted (in the order
    they were logged), by the rules of summary.h."""
    lens = [c["orig_len"] for c in counted]
    aux = [0] * 8
    hist = [0] * 16
    for c in counted:
        aux[c["aux"] if c["aux"] < 8 else 0] += 1
        hist[len_bucket(c["orig_len"])] += 1
    return {"first_seq": counted[0]["seq"], "last_seq": counted[-1]["seq"],
            "records": len(counted),
            "first_ts_ns": counted[0]["ts_ns"],
            "last_ts_ns": counted[-1]["ts_ns"],
            "orig_bytes": sum(lens), "min_len": min(lens),
            "max_len": max(lens), "aux_count": aux, "len_hist": hist}


def covers(r):
    """Sequence numbers a returned record accounts for: a decodable
    summary the records it counts, anything else itself."""
    return len(r["summarised"]) if "summarised" in r else 1


def expected_jsonl(fname, fid, r):
    p = bytes.fromhex(r.get("payload_hex", ""))
    o = {"ts_ns": r["ts_ns"], "time": rfc3339(r["ts_ns"]),
         "function": fname, "function_id": fid,
         "kind": TYPE_NAMES[r["type"]], "seq": r["seq"],
         "level": LEVEL_NAMES[r["level"]]}
    b64 = lambda b: base64.b64encode(b).decode()
    if r["type"] == TYPE_SUMMARY:
        o["summary_of"] = {TYPE_NET: "net", TYPE_BLOCK: "block",
                           TYPE_GUEST: "guest"}.get(r["aux"], "unknown")
        if "summarised" in r:
            o.update(expected_summary(r["summarised"]))
        else:
            expect_eq("forged summary %d is meant to be invalid" % r["seq"],
                      r.get("summary_invalid"), True)
            o["summary_invalid"] = True
            o["payload_b64"] = b64(p)
    elif r["level"] == LEVEL_SUMMARY or r["type"] == TYPE_NET:
        if r["type"] == TYPE_NET:
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


def tshark_fields(path, fields=("frame.len", "frame.cap_len",
                                "frame.time_epoch")):
    args = ["tshark", "-n", "-r", path, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    p = run(args)
    if p.returncode != 0:
        raise AssertionError("tshark -r %s: exit %d: %s" %
                             (path, p.returncode, p.stderr.decode()))
    rows = []
    for line in p.stdout.decode().splitlines():
        cols = line.split("\t")
        row = []
        for f, v in zip(fields, cols):
            if f == "frame.time_epoch":
                secs, _, frac = v.partition(".")
                v = int(secs) * 10**9 + int((frac + "000000000")[:9])
            elif f in ("frame.len", "frame.cap_len", "udp.srcport",
                       "udp.dstport"):
                v = int(v) if v else None
            row.append(v)
        rows.append(tuple(row))
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
    tiered = logged["pool"]["compression"] == "zstd"

    # What must come back
    exp = {}

    def oracle():
        for fn in funcs:
            seqs = [r["seq"] for r in fn["records"]]
            expect_eq("%s: dropped" % fn["name"], fn["dropped"], 0)
            expect_eq("%s: seqs distinct" % fn["name"],
                      len(set(seqs)), len(seqs))
            if logged["pool"]["policy"] == "fixed":
                alive, head = fixed_survivors(fn)
                if fn["torn"]:
                    expect_eq("%s: torn record at the simulated head" %
                              fn["name"], fn["torn"]["buf_pos"], head)
            elif name == "dynamic" or fn["cold_budget"]:
                alive = None            # evictions: checked for consistency
            else:
                alive = set(seqs) - set(fn["lost"])
            exp[fn["id"]] = {
                "alive": alive,
                "torn": 1 if fn["torn"] else 0,
            }
        if tiered:
            expect_eq("evictions", logged["evictions"], 0)
            for fn in funcs:
                expect_eq("%s: laps lost without ageing" % fn["name"],
                          fn["lost_laps"], 0)
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
    recs_by_id = {fn["id"]: {r["seq"]: r for r in fn["records"]}
                  for fn in funcs}

    def pool_fields():
        sp = summary["pool"]
        for k in ("name", "policy", "size", "created_ns"):
            expect_eq("pool " + k, sp[k], logged["pool"][k])
        expect_eq("pool created", sp["created"],
                  rfc3339(logged["pool"]["created_ns"]))
    tap.check("%s: summary names the pool" % name, pool_fields)

    # No oracle for which buffers were evicted: take what came back, then
    # check it is consistent and exact below.
    for fn in funcs:
        e = exp[fn["id"]]
        if e["alive"] is None:
            e["alive_from_output"] = True
            e["alive"] = set()

    def counts():
        expect_eq("function ids", sorted(by_id), [f["id"] for f in funcs])
        tot = {"committed": 0, "torn": 0, "overwritten": 0}
        for fn in funcs:
            s = by_id[fn["id"]]
            e = exp[fn["id"]]
            where = "function %d (%s)" % (fn["id"], fn["name"])
            expect_eq(where + " name", s["name"], fn["name"])
            expect_eq(where + " kind", s["kind"], KIND_NAMES[fn["kind"]])
            expect_eq(where + " level", s["level"], LEVEL_NAMES[fn["level"]])
            expect_eq(where + " torn", s["torn"], e["torn"])
            if e.get("alive_from_output"):
                last = fn["records"][-1]["seq"] if fn["records"] else 0
                expect_eq(where + " max_seq", s["max_seq"], last)
            else:
                recs = recs_by_id[fn["id"]]
                max_seq = max(e["alive"]) if e["alive"] else 0
                covered = sum(covers(recs[q]) for q in e["alive"])
                expect_eq(where + " committed", s["committed"],
                          len(e["alive"]))
                expect_eq(where + " overwritten", s["overwritten"],
                          max_seq - covered)
                expect_eq(where + " max_seq", s["max_seq"], max_seq)
            for k in tot:
                tot[k] += s[k]
        t = summary["totals"]
        for k in tot:
            expect_eq("totals " + k, t[k], tot[k])
        expect_eq("totals orphaned", t["orphaned"], logged["orphaned"])
        expect_eq("totals duplicates", t["duplicates"],
                  logged["duplicates"])
        expect_eq("totals chunks", t["chunks"], logged["chunks_found"])
        expect_eq("totals bad_chunks", t["bad_chunks"],
                  logged["bad_chunks_found"])
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
    got_pcap = {}

    def check_pcaps():
        for fn in funcs:
            s = by_id[fn["id"]]
            recs = pcap_recs.get(fn["id"], [])
            if not recs and "pcap" not in s:
                continue
            pkts = read_pcap(s["pcap"])
            got_pcap[fn["id"]] = pkts
            e = exp[fn["id"]]
            if e.get("alive_from_output"):
                # Identify each packet by its timestamp (unique per function
                # in these scenarios) and check it against what was logged.
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

    got_jsonl = []

    def check_jsonl():
        got = read_jsonl(os.path.join(out, "records.jsonl"))
        got_jsonl.extend(got)
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
            if e.get("alive_from_output"):
                recs = recs_by_id[fn["id"]]
                last = fn["records"][-1]["seq"] if fn["records"] else 0
                covered = sum(covers(recs[q]) for q in e["alive"])
                expect_eq("%s: seqs accounted for + overwritten" %
                          fn["name"], covered + s["overwritten"], last)
                if fn["records"] and last not in e["alive"]:
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

    def levels_and_tiers():
        tot = {"summarised": 0, "from_cold": 0}
        for fn in funcs:
            s = by_id[fn["id"]]
            e = exp[fn["id"]]
            recs = recs_by_id[fn["id"]]
            where = "function %d (%s)" % (fn["id"], fn["name"])
            alive = [recs[q] for q in e["alive"]]
            by_level = {"full": 0, "header": 0, "summary": 0}
            for r in alive:
                by_level[LEVEL_NAMES[r["level"]]] += 1
            expect_eq(where + " by_level", s["by_level"], by_level)
            expect_eq(where + " summarised", s["summarised"],
                      sum(covers(r) for r in alive
                          if r["type"] == TYPE_SUMMARY))
            # A record only a chunk holds must come from the cold tier; one
            # that is also in a fast-tier buffer may come from either.
            cold = set(fn["cold_seqs"]) & e["alive"]
            only_cold = cold - set(fn["fast_seqs"])
            if not len(only_cold) <= s["from_cold"] <= len(cold):
                raise AssertionError("%s from_cold %d, want %d..%d" %
                                     (where, s["from_cold"],
                                      len(only_cold), len(cold)))
            for k in tot:
                tot[k] += s[k]
        for k in tot:
            expect_eq("totals " + k, summary["totals"][k], tot[k])
    tap.check("%s: summarised, from_cold and per-level counts" % name,
              levels_and_tiers)

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
                       "LEVEL", "COMMITTED", "TORN", "OVERWRITTEN",
                       "SUMMARISED", "FROM_COLD", "FULL/HDR/SUM",
                       os.path.join(out2, "records.jsonl")]:
            if needle not in text:
                raise AssertionError("table lacks %r:\n%s" % (needle, text))
        t = summary["totals"]
        total = ("Total:    %d committed, %d torn, %d overwritten, "
                 "%d pending, %d orphaned, %d duplicates\n"
                 "          %d summarised, %d from the cold tier, "
                 "%d chunks, %d bad chunks, "
                 "%d chunks over the unpack limit\n" %
                 (t["committed"], t["torn"], t["overwritten"],
                  t["pending"], t["orphaned"], t["duplicates"],
                  t["summarised"],
                  t["from_cold"], t["chunks"], t["bad_chunks"],
                  t["chunks_over_limit"]))
        if total not in text:
            raise AssertionError("table lacks %r:\n%s" % (total, text))
        lines = text.splitlines()
        start = next(i for i, l in enumerate(lines)
                     if l.split()[:2] == ["ID", "KIND"])
        end = lines.index("", start)
        for f in summary["functions"]:
            row = [l for l in lines[start + 1:end]
                   if l.split()[:1] == [str(f["id"])]]
            expect_eq("table rows for function %d" % f["id"], len(row), 1)
            cols = row[0].split()
            bl = f["by_level"]
            want = [f["level"], str(f["committed"]), str(f["torn"]),
                    str(f["overwritten"]), str(f["summarised"]),
                    str(f["from_cold"]),
                    "%d/%d/%d" % (bl["full"], bl["header"], bl["summary"]),
                    os.path.basename(f.get("pcap", "records.jsonl"))]
            if cols[-8:] != want or f["name"] not in row[0]:
                raise AssertionError("table row %r, want %s %s" %
                                     (row[0], f["name"], want))
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

    def jsonl_of(fid, seq):
        hits = [g for g in got_jsonl
                if g.get("function_id") == fid and g.get("seq") == seq]
        expect_eq("records.jsonl lines of function %d seq %d" % (fid, seq),
                  len(hits), 1)
        return hits[0]

    def summaries():
        """Every summary the recorder wrote comes back decoded, with
        fields worked out here; no record it counts has a line of its
        own; forged ones are flagged and kept as base64."""
        n = 0
        for fn in funcs:
            e = exp[fn["id"]]
            out_seqs = ({g["seq"] for g in got_jsonl
                         if g["function_id"] == fn["id"]} |
                        {r["seq"] for r in pcap_recs.get(fn["id"], [])
                         if r["seq"] in e["alive"]})
            for r in fn["records"]:
                if r["type"] != TYPE_SUMMARY or r["seq"] not in e["alive"]:
                    continue
                where = "%s summary seq %d" % (fn["name"], r["seq"])
                g = jsonl_of(fn["id"], r["seq"])
                expect_eq(where + " kind, level",
                          (g["kind"], g["level"]), ("summary", "summary"))
                if "summarised" not in r:
                    expect_eq(where + " summary_invalid",
                              g.get("summary_invalid"), True)
                    expect(where + ": decoded fields in an invalid summary",
                           not set(SUMMARY_KEYS) & set(g))
                    continue
                c = r["summarised"]
                seqs = [x["seq"] for x in c]
                expect_eq(where + ": counts consecutive seqs ending at its "
                          "own", seqs, list(range(r["seq"] - len(c) + 1,
                                                  r["seq"] + 1)))
                want = expected_summary(c)
                expect_eq(where + " fields",
                          {k: g.get(k) for k in SUMMARY_KEYS}, want)
                expect_eq(where + " ts_ns", g["ts_ns"], c[-1]["ts_ns"])
                expect_eq(where + " summary_of", g["summary_of"],
                          TYPE_NAMES[c[0]["type"]])
                expect_eq(where + " lengths",
                          (g["orig_len"], g["stored_len"], g["truncated"]),
                          (SUMMARY_LEN, SUMMARY_LEN, False))
                inside = set(seqs[:-1]) & out_seqs
                expect(where + ": records it counts came back on their own: "
                       "%s" % sorted(inside), not inside)
                n += 1
            for p in fn["pending"]:
                expect(fn["name"] + ": a record of the pending summary "
                       "came back", p["seq"] not in out_seqs)
        return n

    if name == "mixed":
        def names():
            want = {"net0": "net0.pcap", "idle": "idle.pcap",
                    ".hidden": "_hidden.pcap",
                    "net_1__tap_": "net_1__tap_.pcap",
                    "net/1 (tap)": "net_1__tap_-3.pcap",
                    "forged": "forged.pcap"}
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

        def mixed_summaries():
            expect_eq("decoded summaries", summaries(), 4)
            f = next(fn for fn in funcs if fn["name"] == "forged")
            expect_eq("forged summaries",
                      [r["seq"] for r in f["records"]
                       if r.get("summary_invalid")], [1, 2])
            one = next(r for fn in funcs for r in fn["records"]
                       if len(r.get("summarised", [])) == 1)
            g = jsonl_of(0, one["seq"])
            expect_eq("a summary of one record: first_ts_ns == last_ts_ns",
                      g["first_ts_ns"], g["last_ts_ns"])
            # what the pending summary counted is gone, and unaccounted
            nu = next(fn for fn in funcs if fn["name"] == "net_1__tap_")
            expect_eq("net_1__tap_ pending", len(nu["pending"]), 2)
            expect_eq("net_1__tap_ level", by_id[nu["id"]]["level"],
                      "summary")
            expect_eq("net_1__tap_ max_seq", by_id[nu["id"]]["max_seq"], 1)
        tap.check("mixed: SUMMARY records decode to the summary of the "
                  "records they count; forged ones are flagged invalid; "
                  "a pending summary is lost", mixed_summaries)

        def header_level():
            n0 = next(fn for fn in funcs if fn["name"] == "net0")
            hdr = [r for r in n0["records"] if r["level"] == LEVEL_HEADER]
            cut = [r for r in hdr if r["orig_len"] > HEADER_LEN[KIND_NET]]
            expect(">= 2 header-level frames cut by the recorder",
                   len(cut) >= 2)
            pkts = {p["ts_ns"]: p for p in got_pcap[n0["id"]]}
            rows = {row[2]: row for row in tshark_fields(
                by_id[n0["id"]]["pcap"],
                ("frame.len", "frame.cap_len", "frame.time_epoch",
                 "ip.src", "udp.dstport"))}
            expect_eq("frames cut to exactly %d bytes" %
                      HEADER_LEN[KIND_NET],
                      sum(pkts[r["ts_ns"]]["caplen"] == HEADER_LEN[KIND_NET]
                          for r in cut), 2)
            for r in hdr:
                where = "net0 seq %d" % r["seq"]
                p = pkts[r["ts_ns"]]
                expect(where + ": caplen %d > %d" % (p["caplen"],
                                                     HEADER_LEN[KIND_NET]),
                       p["caplen"] <= HEADER_LEN[KIND_NET])
                expect_eq(where + " (caplen, len)", (p["caplen"], p["len"]),
                          (r["stored_len"], r["orig_len"]))
                row = rows[r["ts_ns"]]
                expect_eq(where + " tshark (len, caplen)", row[:2],
                          (r["orig_len"], r["stored_len"]))
                if r["orig_len"] > 42:
                    expect_eq(where + " tshark decodes UDP", row[4], 5353)
                    expect(where + " tshark decodes IP", row[3])
            for g in got_jsonl:
                if g["level"] != "header":
                    continue
                if g["kind"] == "block":
                    expect_eq("header block record: stored",
                              (g["stored_len"], g["data_len"]),
                              (BLOCK_EVENT_LEN, 0))
                    expect_eq("truncated", g["truncated"],
                              g["orig_len"] > BLOCK_EVENT_LEN)
                elif g["kind"] == "guest":
                    expect("header guest record: at most 64 bytes",
                           g["stored_len"] <= HEADER_LEN[3])
            expect("header-level block and guest records",
                   {g["kind"] for g in got_jsonl if g["level"] == "header"}
                   >= {"block", "guest"})
        tap.check("mixed: header-level records: pcap caplen is what the "
                  "recorder kept, len the true length, tshark decodes the "
                  "headers", header_level)

    if name == "tiered":
        def every_record_once():
            seen = {}
            for fid, pkts in got_pcap.items():
                by_ts = {}
                for r in sorted(pcap_recs.get(fid, []), key=order_key):
                    by_ts.setdefault(r["ts_ns"], []).append(r["seq"])
                for p in pkts:
                    q = by_ts.get(p["ts_ns"]) or [None]
                    key = (fid, q.pop(0))
                    seen[key] = seen.get(key, 0) + 1
            for g in got_jsonl:
                key = (g["function_id"], g["seq"])
                seen[key] = seen.get(key, 0) + 1
            twice = sorted(k for k, v in seen.items() if v > 1)
            expect("records written more than once: %s" % twice[:10],
                   not twice)
            for fn in funcs:
                if fn["cold_budget"]:
                    continue
                seqs = {r["seq"] for r in fn["records"]}
                got = {q for (fid, q) in seen if fid == fn["id"]}
                expect_eq("%s: records that came back" % fn["name"],
                          sorted(got), sorted(seqs))
                expect_eq("%s: overwritten" % fn["name"],
                          by_id[fn["id"]]["overwritten"], 0)
            t = summary["totals"]
            expect_eq("totals duplicates", t["duplicates"], 0)
            expect("from_cold > 0", t["from_cold"] > 0)
            for nm in ("uplink", "disk", "chatty"):
                s = next(f for f in summary["functions"] if f["name"] == nm)
                expect("%s: from_cold > 0" % nm, s["from_cold"] > 0)
            written = sum(fn["chunks"] for fn in funcs)
            kept = sum(fn["chunks"] for fn in funcs if not fn["cold_budget"])
            expect("chunks found %d, want %d..%d" % (t["chunks"], kept,
                                                     written),
                   kept <= t["chunks"] <= written and kept > 0)
            expect_eq("bad chunks", t["bad_chunks"], 0)
            # Summaries and header-level records that only a chunk holds
            for fn in funcs:
                only_cold = set(fn["cold_seqs"]) - set(fn["fast_seqs"])
                levels = {recs_by_id[fn["id"]][q]["level"]
                          for q in only_cold}
                if fn["name"] == "uplink":
                    expect("uplink: header and summary records only in "
                           "chunks", {LEVEL_HEADER, LEVEL_SUMMARY} <= levels)
        tap.check("tiered: every logged record comes back once, from the "
                  "cold tier too; chunks found; nothing counted twice",
                  every_record_once)

        def tiered_summaries():
            expect("decoded summaries", summaries() >= 30)
        tap.check("tiered: summaries aged into chunks decode exactly",
                  tiered_summaries)

        def unpack_limit():
            # A limit of one byte leaves every zstd chunk packed (only an
            # incompressible one, stored as is, still unpacks), with a
            # warning; 0 (no limit) gives back what the default did.
            lim = os.path.join(tmp, "tiered-limited")
            p = run([RECOVER, "--json-summary", "--max-unpacked", "1",
                     "-o", lim, pool])
            err = p.stderr.decode()
            expect_eq("exit (stderr %r)" % err, p.returncode, 0)
            t = json.loads(p.stdout)["totals"]
            t0 = summary["totals"]
            expect_eq("chunks over the limit + unpacked",
                      t["chunks_over_limit"] + t["chunks"], t0["chunks"])
            expect("most chunks over the limit",
                   t["chunks_over_limit"] > t0["chunks"] // 2)
            expect("from_cold fewer", t["from_cold"] < t0["from_cold"])
            expect("committed fewer", t["committed"] < t0["committed"])
            expect("overwritten more", t["overwritten"] > t0["overwritten"])
            want = ("%d compressed chunk(s) holding " %
                    t["chunks_over_limit"])
            expect("warning %r in %r" % (want, err),
                   want in err and "--max-unpacked" in err)
            p = run([RECOVER, "--json-summary", "--max-unpacked", "0",
                     "-o", lim, pool])
            expect_eq("no limit: exit, stderr", (p.returncode, p.stderr),
                      (0, b""))
            expect_eq("no limit: totals", json.loads(p.stdout)["totals"],
                      t0)
        tap.check("tiered: --max-unpacked leaves chunks over it packed and "
                  "says so; 0 lifts the limit", unpack_limit)

        def budget():
            # budgets are shares of a full pool: with room left, a
            # function past its budget keeps all of its history
            ch = next(fn for fn in funcs if fn["name"] == "chatty")
            s = by_id[ch["id"]]
            expect_eq("chatty: overwritten", s["overwritten"], 0)
            expect_eq("chatty: committed", s["committed"],
                      len(ch["records"]))
            expect("chatty: from the cold tier", s["from_cold"] > 0)
        tap.check("tiered: a function past its cold budget keeps its "
                  "history while the pool has room", budget)

    if name == "damaged":
        def damaged_chunk():
            up = next(fn for fn in funcs if fn["name"] == "uplink")
            s = by_id[up["id"]]
            lost = set(up["lost"])
            expect("the damaged chunk lost records", len(lost) > 5)
            expect_eq("uplink overwritten", s["overwritten"], len(lost))
            out_seqs = {r["seq"] for r in pcap_recs[up["id"]]
                        if r["seq"] in exp[up["id"]]["alive"]}
            out_seqs |= {g["seq"] for g in got_jsonl
                         if g["function_id"] == up["id"]}
            expect("lost records came back", not lost & out_seqs)
            expect_eq("damaged chunks", logged["damaged_chunks"], 1)
            expect_eq("uplink committed", s["committed"],
                      len(up["records"]) - len(lost))
        tap.check("damaged: a chunk that no longer decodes loses its "
                  "records, counted as overwritten", damaged_chunk)

        def forged_chunks():
            fg = next(fn for fn in funcs if fn["name"] == "forged")
            s = by_id[fg["id"]]
            expect_eq("forged chunks, of them bad",
                      (logged["forged_chunks"], logged["bad_chunks_found"]),
                      (6, 5))
            expect_eq("totals bad_chunks", summary["totals"]["bad_chunks"], 5)
            expect_eq("forged: seqs written",
                      sorted(g["seq"] for g in got_jsonl
                             if g["function_id"] == fg["id"]),
                      [1, 2, 5, 6, 7])
            expect_eq("forged: committed, overwritten, from_cold, max_seq",
                      (s["committed"], s["overwritten"], s["from_cold"],
                       s["max_seq"]), (5, 2, 4, 7))
            con = next(fn for fn in funcs if fn["name"] == "console")
            expect_eq("console: another function's chunk took nothing",
                      (by_id[con["id"]]["committed"],
                       by_id[con["id"]]["overwritten"]),
                      (len(con["records"]), 0))
        tap.check("damaged: forged chunks count as bad and give exactly "
                  "the records before their fault", forged_chunks)


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

    def shrinks_while_read():
        # A pool file that a live QEMU, a copy or a full disk cuts short
        # while predlog-recover reads it: an error that says so, never a
        # signal (the mapped file of earlier versions raised SIGBUS).  The
        # pool is grown by a sparse GiB that its superblock claims, so
        # reading and scanning it take a while, and another thread cuts
        # the file meanwhile; where the cut lands varies, the outcome
        # must not.
        size = len(pool) + (1 << 30)
        big = bytearray(pool)
        data_offset = struct.unpack("<Q", big[40:48])[0]
        big[16:24] = struct.pack("<Q", size)                # pool_size
        big[48:56] = struct.pack("<Q", size - data_offset)  # data_size
        fix_sb_crc(big)
        for delay in (0.005, 0.03, 0.1):
            path = os.path.join(tmp, "shrinking.pool")
            with open(path, "wb") as f:
                f.write(big)
                f.truncate(size)
            cut = threading.Timer(delay, os.truncate, (path, 4096))
            cut.start()
            p = run([RECOVER, "-o", os.path.join(tmp, "shrink-out"), path])
            cut.join()
            err = p.stderr.decode()
            if p.returncode < 0:
                raise AssertionError("killed by signal %d (delay %g s)"
                                     % (-p.returncode, delay))
            if p.returncode and "predlog-recover: error: " not in err:
                raise AssertionError("exit %d without an error message: %r"
                                     % (p.returncode, err))
            shutil.rmtree(os.path.join(tmp, "shrink-out"),
                          ignore_errors=True)
    tap.check("bad input: a file that shrinks while it is read is an error, "
              "not a signal", shrinks_while_read)

    def damaged_directory():
        # Both copies of function 0's directory entry damaged: its records
        # still name it, so they are salvaged as salvaged-0, stderr says
        # so, nothing is lost.  With the data area zeroed as well nothing
        # can be recovered: exit 1.
        base = run([RECOVER, "--json-summary", "-o",
                    os.path.join(tmp, "dir-good"), good])
        expect_eq("undamaged exit", base.returncode, 0)
        want = json.loads(base.stdout)["totals"]
        img = bytearray(pool)
        img[4096 + 10] ^= 0x40                      # copy A, generation
        img[4096 + 128 + 10] ^= 0x40                # copy B
        path = os.path.join(tmp, "damaged-dir.pool")
        with open(path, "wb") as f:
            f.write(img)
        p = run([RECOVER, "--json-summary", "-o",
                 os.path.join(tmp, "dir-out"), path])
        err = p.stderr.decode()
        expect_eq("exit status (stderr %r)" % err, p.returncode, 0)
        expect("warning names the damage: %r" % err,
               "warning: %s: the directory entries of 1 function(s) are "
               "damaged (id 0)" % path in err and "salvaged-0" in err)
        got = json.loads(p.stdout)
        t = got["totals"]
        expect_eq("committed", t["committed"], want["committed"])
        expect_eq("orphaned", t["orphaned"], want["orphaned"])
        expect_eq("damaged entries", t["damaged_entries"], 1)
        expect_eq("salvaged functions", t["salvaged_functions"], 1)
        f0 = [f for f in got["functions"] if f["id"] == 0]
        expect_eq("function 0", [(f["name"], f["salvaged"]) for f in f0],
                  [("salvaged-0", True)])
        expect_eq("salvaged records", t["salvaged"], f0[0]["committed"])

        data_offset = struct.unpack("<Q", img[40:48])[0]
        img[data_offset:] = bytes(len(img) - data_offset)
        with open(path, "wb") as f:
            f.write(img)
        p = run([RECOVER, "-o", os.path.join(tmp, "dir-out2"), path])
        err = p.stderr.decode()
        expect_eq("exit status, nothing left (stderr %r)" % err,
                  p.returncode, 1)
        expect("says nothing could be recovered: %r" % err,
               "no record could be recovered" in err)
    tap.check("damaged directory: records salvaged by scanning, stderr says "
              "what; exit 1 only when nothing is left", damaged_directory)

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
                        ("empty DIR", ["-o", "", good]),
                        ("--max-unpacked without SIZE", ["--max-unpacked"]),
                        ("--max-unpacked not a size",
                         ["--max-unpacked", "12X", good]),
                        ("--max-unpacked negative",
                         ["--max-unpacked", "-1", good]),
                        ("--max-unpacked overflowing",
                         ["--max-unpacked", "99999999999T", good])]:
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
        for name in SCENARIOS:
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
