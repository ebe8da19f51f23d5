#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-test of tests/run-check, printing TAP.

make check is only as good as run-check's verdicts, so this runs the real
run-check program (its hidden --suites-json option: the same code that
runs the real suites, on a list given here) on fake suites that lie in
each way a suite can look green without being so -- a short plan, no
plan, a case asked for with -p that is not reported, a skip, a TODO, an
"ok" on stderr, death by a signal, a non-zero exit after all ok, a
timeout, duplicate or extra results, "Bail out!", a child that holds its
output open -- and on well-behaved ones (a leading plan, a trailing plan,
GLib's -p style of one trailing plan per path, an allowed skip), and
asserts run-check's exit status, its last line and what it says.

Run by make check as suite selftest/run-check, first; standalone:
python3 tests/selftest/test-run-check.py
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RUN_CHECK = os.path.join(REPO, 'tests', 'run-check')


def fake(name, code, **kw):
    """A suite: a Python program whose source is code."""
    return dict(name=name,
                argv=[sys.executable, '-c', textwrap.dedent(code)], **kw)


def lines(*out, err=(), rc=0):
    """A fake suite's program: print out on stdout, err on stderr, exit."""
    return (f'import sys\n'
            f'for l in {list(out)!r}: print(l, flush=True)\n'
            f'for l in {list(err)!r}: print(l, file=sys.stderr, flush=True)\n'
            f'sys.exit({rc})\n')


GOOD = lines('TAP version 13', '1..3', 'ok 1 - first', '# a diagnostic',
             'ok 2 - second', 'ok 3 - third # a comment, not a directive',
             err=['stderr noise', 'not ok 99 - on stderr, not a result'])

# Each case: (what it shows, suites, extra run-check arguments,
#             expected exit status, expected last line,
#             strings run-check's output must contain,
#             strings the first suite's log must contain)
CASES = [
    ('a well-behaved suite (leading plan) passes',
     [fake('good', GOOD)], [], 0, '3 passed, 0 failed',
     ['ok   1 first', 'ok   3 third'], ['stderr| stderr noise']),

    ('a trailing plan is accepted',
     [fake('trailing', lines('ok 1 - a', 'ok 2 - b', '1..2'))], [],
     0, '2 passed, 0 failed', [], []),

    ("GLib's -p output (a cumulative plan after each path) with every "
     'case asked for reported passes',
     [fake('glib-p', lines('# random seed: R02S0', '# Start of a tests',
                           'ok 1 /a/one', '# End of a tests', '1..1',
                           '# Start of b tests', 'ok 2 /b/two/x',
                           'ok 3 /b/two/y', '# End of b tests', '1..3'),
           cases=['/a/one', '/b/two'])], [],
     0, '3 passed, 0 failed', [], []),

    ('plan says 3, suite reports 2: fails',
     [fake('short', lines('1..3', 'ok 1 - a', 'ok 2 - b'))], [],
     1, '2 passed, 1 failed', ['planned 3 tests, reported 2'], []),

    ('no plan: fails',
     [fake('noplan', lines('ok 1 - a', 'ok 2 - b'))], [],
     1, '2 passed, 1 failed', ['no TAP plan'], []),

    ('a case asked for with -p and not reported: fails',
     [fake('missing-case', lines('ok 1 /a/one', '1..1'),
           cases=['/a/one', '/a/gone'])], [],
     1, '1 passed, 1 failed',
     ['case /a/gone was asked for (-p) but not reported'], []),

    ('GLib -p dying inside a path (results after the last plan): fails',
     [fake('glib-p-died', lines('ok 1 /a/one', '1..1', 'ok 2 /b/one'),
           cases=['/a/one', '/b'])], [],
     1, '2 passed, 1 failed', ['1 results after the last plan 1..1'], []),

    ('a skipped test fails make check, with its reason printed',
     [fake('skip', lines('1..2', 'ok 1 - a',
                         'ok 2 - b # SKIP QEMU binary not built'))], [],
     1, '1 passed, 1 failed',
     ['skipped: QEMU binary not built', 'SKIP_ALLOWED'], []),

    ('a skipped suite (1..0 # SKIP) fails make check',
     [fake('skip-all', lines('1..0 # SKIP no guest image'))], [],
     1, '0 passed, 1 failed', ['skipped: no guest image'], []),

    ('a skip on the allow-list is allowed, counted on its own line',
     [fake('allowed-skip',
           lines('1..2', 'ok 1 - a', 'ok 2 - b # SKIP needs /dev/vfio'),
           allowed_skips=[['needs /dev/vfio', 'no VFIO device here']])], [],
     0, '1 passed, 0 failed',
     ['allowed in make check: no VFIO device here',
      '1 skipped (allowed by SKIP_ALLOWED)'], []),

    ('a skip with another reason than the allowed one still fails',
     [fake('other-skip',
           lines('1..1', 'ok 1 - a # SKIP QEMU missing'),
           allowed_skips=[['needs /dev/vfio', 'no VFIO device here']])], [],
     1, '0 passed, 1 failed', ['skipped: QEMU missing'], []),

    ('TODO is not a pass (not ok # TODO, ok # TODO)',
     [fake('todo', lines('1..3', 'ok 1 - a', 'not ok 2 - b # TODO later',
                         'ok 3 - c # TODO expected failure'))], [],
     1, '1 passed, 2 failed', ['TODO later', 'a TODO is not a pass'], []),

    ('an "ok" on stderr does not count',
     [fake('stderr-ok', lines('1..2', 'ok 1 - a', err=['ok 2 - b']))], [],
     1, '1 passed, 1 failed', ['planned 2 tests, reported 1'],
     ['stderr| ok 2 - b']),

    ('a suite killed by a signal after all ok: fails',
     [fake('signal', '''
           import os, signal
           print('1..1'); print('ok 1 - a', flush=True)
           os.kill(os.getpid(), signal.SIGKILL)
           ''')], [],
     1, '1 passed, 1 failed', ['killed by signal SIGKILL'], []),

    ('a non-zero exit after all ok: fails',
     [fake('exit3', lines('1..1', 'ok 1 - a', rc=3))], [],
     1, '1 passed, 1 failed',
     ['exited with status 3 without reporting a failed test'], []),

    ('a timeout fails, and kills what the suite started',
     [fake('timeout', '''
           import subprocess, time
           print('1..2'); print('ok 1 - a', flush=True)
           subprocess.Popen(['sleep', '60'])   # holds stdout open
           time.sleep(60)
           ''', timeout=1)], [],
     1, '1 passed, 1 failed', ['timed out after 1 s'], []),

    ('a child holding the output open after the suite exited is killed; '
     'the suite fails',
     [fake('linger', '''
           import subprocess
           print('1..1'); print('ok 1 - a', flush=True)
           subprocess.Popen(['sleep', '60'])
           ''', linger=1)], [],
     1, '1 passed, 1 failed', ['left processes running'], []),

    ('a duplicate result number: fails',
     [fake('duplicate', lines('1..2', 'ok 1 - a', 'ok 1 - a'))], [],
     1, '2 passed, 1 failed', ['result 2 is numbered 1'], []),

    ('results after the planned count: fails',
     [fake('extra', lines('1..1', 'ok 1 - a', 'ok 2 - b'))], [],
     1, '2 passed, 1 failed', ['1 results after the planned 1'], []),

    ('an unnumbered stray "ok" on stdout: fails',
     [fake('stray', lines('1..1', 'ok 1 - a', 'ok'))], [],
     1, '2 passed, 1 failed', ['result 2 is numbered (none)'], []),

    ('Bail out! fails, and nothing after it counts',
     [fake('bail', lines('1..2', 'ok 1 - a', 'Bail out! no disk',
                         'ok 2 - b'))], [],
     1, '1 passed, 1 failed', ['bailed out: no disk'], []),

    ('a suite that cannot be started: fails',
     [dict(name='nonexistent', argv=['/nonexistent/suite'])], [],
     1, '0 passed, 1 failed', ['cannot run'], []),

    ('--only matching no suite is an error, not "0 passed, 0 failed"',
     [fake('good', GOOD)], ['--only', 'no-such-suite'],
     2, None, ["no suite matches 'no-such-suite'"], []),

    ('--only selects by substring; counts add up over suites',
     [fake('sel-good', GOOD), fake('sel-short', lines('1..2', 'ok 1 - a')),
      fake('other', GOOD)], ['--only', 'sel-'],
     1, '4 passed, 1 failed', ['== sel-good', '== sel-short',
                               'suites that failed as a whole: sel-short'],
     []),
]


def run_case(tmp, i, suites, extra):
    spec = os.path.join(tmp, f'suites-{i}.json')
    with open(spec, 'w') as f:
        json.dump(suites, f)
    build = os.path.join(tmp, f'build-{i}')
    start = time.monotonic()
    proc = subprocess.run([sys.executable, RUN_CHECK, '--build', build,
                           '--suites-json', spec] + extra,
                          capture_output=True, text=True, timeout=60)
    return proc, time.monotonic() - start, build


def check(tmp, i, case):
    what, suites, extra, rc, last, says, logged = case
    proc, elapsed, build = run_case(tmp, i, suites, extra)
    out = proc.stdout + proc.stderr
    problems = []
    if proc.returncode != rc:
        problems.append(f'exit status {proc.returncode}, expected {rc}')
    if last is not None:
        got = proc.stdout.splitlines()[-1] if proc.stdout else ''
        if got != last:
            problems.append(f'last line {got!r}, expected {last!r}')
    for s in says:
        if s not in out:
            problems.append(f'output lacks {s!r}')
    if logged:
        name = suites[0]['name']
        with open(os.path.join(build, 'check-logs', name + '.log')) as f:
            log = f.read()
        for s in logged:
            if s not in log:
                problems.append(f'log lacks {s!r}')
    if elapsed > 30:
        problems.append(f'took {elapsed:.0f} s')
    return problems, out


def main():
    print(f'1..{len(CASES)}', flush=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix='run-check-selftest.') as tmp:
        for i, case in enumerate(CASES, 1):
            try:
                problems, out = check(tmp, i, case)
            except Exception:
                problems, out = [traceback.format_exc()], ''
            # TAP: a '#' in a description starts a directive unless
            # escaped, and "# SKIP" in one of ours is not a skip
            name = case[0].replace('#', '\\#')
            print(f'{"not ok" if problems else "ok"} {i} - {name}',
                  flush=True)
            if problems:
                failed += 1
                for line in problems + ['--- run-check said:'] + \
                        out.splitlines():
                    print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
