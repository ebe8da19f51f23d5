#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""predlog's migration parameters: the documented ranges, and nothing else.

Run:  tests/functional/test_migration_params.py     (prints TAP)
Env:  PREDLOG_QEMU        our QEMU (see predlog_vm.py)

patches/0006-qapi-migration-predlog-capability.patch adds three migration
parameters (uint8 in QAPI, checked in migrate_params_check() of
migration/options.c) and a -global property for each (x-predlog-...,
checked at startup by the same function):

  predlog-history        1 to 8     default 8
  predlog-defer-budget   0 to 100   default 50
  predlog-hot-threshold  1 to 100   default 50

For each: every value in range, the edges included, is taken by
migrate-set-parameters and read back by query-migrate-parameters; a value
below or above the range (and one that does not fit the uint8) is refused
with an error naming the parameter, and the value in force stays; a call
that sets a good value of one and a bad value of another changes neither.
The same through -global migration.x-predlog-...: a good value is in
force from the start, a bad one stops QEMU with a message naming it.  HMP
'info migrate_parameters' prints the three values, and
'migrate_set_parameter' goes through the same checks.

No guest is needed: one q35 VM stopped before its first instruction (-S)
answers the monitor commands, and each -global case starts a QEMU of its
own.

What the parameters do (class ParameterEffects): the same scripted
workload is migrated with the capability on, once with the defaults and
once with each parameter changed.  The VM runs under the qtest
accelerator (no guest code; predlog_vm.QtestVM), and after every dirty
sync the script writes guest RAM over the qtest socket: 64 bytes of each
of 32 hot pages (every period), 64 bytes of each of 64 warm pages with
probability 0.7 (a fixed seed, so the same pages in every run), and a
fresh MiB of cold pages below the hot ones.  That is one sync period's
writes; after ten, the script stops and the migration completes.  Then,
from query-migrate's predlog statistics:

- defaults: hot pages are pre-logged and deferred (deferred-total > 0),
  and recall (the share of dirtied pages that were predicted hot) is
  well above 0;
- predlog-defer-budget=0: no budget (defer-budget-pages 0), nothing
  pre-logged or deferred;
- predlog-hot-threshold=90: the warm pages (dirtied again with
  probability 0.7) are no longer hot: lower recall, fewer pages passed
  over than with the default of 50;
- predlog-history=1: one bit of history cannot tell a hot page from a
  cold page written once (both read "dirtied last period", and the cold
  ones are most of them), so nothing is hot: recall 0, nothing deferred.
"""

import os
import random
import re
import subprocess
import sys
import time
import unittest

# no __pycache__ in the source tree
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

# name -> (lowest, highest, default): migrate_params_check() and the
# DEFAULT_MIGRATE_PREDLOG_* of migration/options.c as the patch has them
PARAMS = {
    'predlog-history': (1, 8, 8),
    'predlog-defer-budget': (0, 100, 50),
    'predlog-hot-threshold': (1, 100, 50),
}
# HMP prints the two percentages with a '%'
HMP_SUFFIX = {
    'predlog-history': '',
    'predlog-defer-budget': '%',
    'predlog-hot-threshold': '%',
}
# a QEMU that wrongly starts with a bad -global stays up (-S); give up
# on it after this long and fail
STARTUP_TIMEOUT_S = 30


def in_range(lo, hi):
    """Values a parameter must take: both edges, their neighbours and
    the middle."""
    return sorted({lo, lo + 1, (lo + hi) // 2, hi - 1, hi})


def out_of_range(lo, hi):
    """Values a parameter must refuse: just below and just above the
    range, the uint8's own limits and beyond them."""
    return sorted({lo - 1, hi + 1, 255, 256, -1} - set(range(lo, hi + 1)))


def bare_command_line(args=()):
    """A stopped q35 VM without a guest or monitor."""
    return [predlog_vm.qemu_binary(),
            '-accel', 'tcg', '-M', 'q35', '-m', '128', '-nodefaults',
            '-S', '-bios', 'qboot.rom', '-display', 'none'] + list(args)


class BareVM(predlog_vm.VM):
    """bare_command_line() with QMP: only the monitor is used."""

    def __init__(self, args=(), name='params'):
        super().__init__(args=args, name=name)

    def command_line(self):
        return bare_command_line(['-qmp', 'unix:%s,server=on,wait=off'
                                  % self.qmp_socket] + self.extra_args)


def global_args(name, value):
    return ['-global', 'migration.x-%s=%d' % (name, value)]


def parameters(vm):
    """The three predlog parameters as query-migrate-parameters has them."""
    params = vm.cmd('query-migrate-parameters')
    missing = [n for n in PARAMS if n not in params]
    if missing:
        raise AssertionError('query-migrate-parameters lacks %s: %s'
                             % (missing, params))
    return {n: params[n] for n in PARAMS}


def require_qemu():
    """Not a skip: make check builds QEMU, so a missing one is a failure."""
    qemu = predlog_vm.qemu_binary()
    if not os.access(qemu, os.X_OK):
        raise RuntimeError('QEMU binary %s not built (make qemu or set '
                           'PREDLOG_QEMU)' % qemu)


class MigrationParams(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_qemu()
        cls.vm = BareVM().launch()
        cls.initial = parameters(cls.vm)

    @classmethod
    def tearDownClass(cls):
        cls.vm.shutdown()

    def set_params(self, **params):
        self.vm.cmd('migrate-set-parameters',
                    **{k.replace('_', '-'): v for k, v in params.items()})

    def set_one(self, name, value):
        self.vm.cmd('migrate-set-parameters', **{name: value})

    def hmp(self, command):
        return self.vm.cmd('human-monitor-command',
                           **{'command-line': command})

    def test_defaults(self):
        """A fresh QEMU has the documented defaults."""
        self.assertEqual(self.initial,
                         {n: d for n, (_, _, d) in PARAMS.items()})

    def test_in_range_accepted(self):
        """Every value in range is taken, read back, and leaves the
        other two parameters alone."""
        for name, (lo, hi, default) in PARAMS.items():
            for value in in_range(lo, hi):
                with self.subTest(param=name, value=value):
                    before = parameters(self.vm)
                    self.set_one(name, value)
                    expect = dict(before, **{name: value})
                    self.assertEqual(parameters(self.vm), expect)
            self.set_one(name, default)

    def test_out_of_range_rejected(self):
        """A value out of range is refused, the error names the
        parameter, and the value in force stays."""
        for name, (lo, hi, default) in PARAMS.items():
            # not the default: a check that reset the value would show
            kept = lo + 1
            self.set_one(name, kept)
            for value in out_of_range(lo, hi):
                with self.subTest(param=name, value=value):
                    before = parameters(self.vm)
                    self.assertEqual(before[name], kept)
                    with self.assertRaises(predlog_vm.QMPError) as cm:
                        self.set_one(name, value)
                    desc = cm.exception.error.get('desc', '')
                    predlog_vm.diag('%s=%d: %s' % (name, value, desc))
                    self.assertEqual(cm.exception.error.get('class'),
                                     'GenericError')
                    self.assertIn("'%s'" % name, desc)
                    self.assertEqual(parameters(self.vm), before)
            self.set_one(name, default)

    def test_bad_value_changes_nothing(self):
        """One bad value in a call refuses the whole call: a good value
        given with it is not applied either."""
        self.set_params(predlog_history=3, predlog_defer_budget=30,
                        predlog_hot_threshold=70)
        before = parameters(self.vm)
        with self.assertRaises(predlog_vm.QMPError) as cm:
            self.set_params(predlog_history=5, predlog_defer_budget=40,
                            predlog_hot_threshold=101)
        self.assertIn("'predlog-hot-threshold'",
                      cm.exception.error.get('desc', ''))
        self.assertEqual(parameters(self.vm), before)
        self.set_params(**{n.replace('-', '_'): d
                           for n, (_, _, d) in PARAMS.items()})

    def test_hmp_info(self):
        """'info migrate_parameters' prints the three values in force."""
        values = {'predlog-history': 2, 'predlog-defer-budget': 0,
                  'predlog-hot-threshold': 100}
        self.vm.cmd('migrate-set-parameters', **values)
        out = self.hmp('info migrate_parameters')
        for name, value in values.items():
            with self.subTest(param=name):
                self.assertRegex(out, r'(?m)^%s: %d%s\r?$'
                                 % (re.escape(name), value,
                                    re.escape(HMP_SUFFIX[name])))
        self.set_params(**{n.replace('-', '_'): d
                           for n, (_, _, d) in PARAMS.items()})

    def test_hmp_set(self):
        """'migrate_set_parameter' takes the edges and refuses the values
        just outside, naming the parameter, keeping the value."""
        for name, (lo, hi, default) in PARAMS.items():
            with self.subTest(param=name):
                for value in (lo, hi):
                    out = self.hmp('migrate_set_parameter %s %d'
                                   % (name, value))
                    self.assertEqual(out.strip(), '', out)
                    self.assertEqual(parameters(self.vm)[name], value)
                for value in (lo - 1, hi + 1):
                    if value < 0:
                        continue    # HMP parses it as a huge unsigned
                    out = self.hmp('migrate_set_parameter %s %d'
                                   % (name, value))
                    self.assertIn(name, out)
                    self.assertEqual(parameters(self.vm)[name], hi)
                self.set_one(name, default)

    def test_global_in_range(self):
        """-global migration.x-predlog-...: the edges are in force from
        the start."""
        for edge in (0, 1):
            values = {n: r[edge] for n, r in PARAMS.items()}
            with self.subTest(values=values):
                args = []
                for name, value in values.items():
                    args += global_args(name, value)
                vm = BareVM(args=args, name='params-global').launch()
                try:
                    self.assertEqual(parameters(vm), values)
                finally:
                    vm.shutdown()

    def test_global_out_of_range(self):
        """A bad -global migration.x-predlog-... stops QEMU at startup
        with a message naming the parameter."""
        for name, (lo, hi, _) in PARAMS.items():
            for value in out_of_range(lo, hi):
                with self.subTest(param=name, value=value):
                    cmd = bare_command_line(global_args(name, value))
                    try:
                        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                                              capture_output=True, text=True,
                                              timeout=STARTUP_TIMEOUT_S)
                    except subprocess.TimeoutExpired:
                        self.fail('QEMU started with -global '
                                  'migration.x-%s=%d' % (name, value))
                    predlog_vm.diag('x-%s=%d: %s'
                                    % (name, value, proc.stderr.strip()))
                    self.assertNotEqual(proc.returncode, 0)
                    self.assertIn(name, proc.stderr)


MIB = 1 << 20
PAGE = 4096
# the scripted workload (guest-physical addresses in pc.ram, -m 128)
HOT = (16 * MIB, 32)            # 64 bytes of each page, every period
WARM = (17 * MIB, 64, 0.7)      # 64 bytes of each page, with this chance
PERIODS = 10
PRELOAD = (120 * MIB, 4 * MIB)  # keeps the bulk pass busy for 2 s


def cold_region(period):
    """A fresh MiB per period, each below the last: after a sync the page
    search goes on upwards from the cold MiB it was in, wraps, and meets
    the hot and warm pages before the next cold MiB, so they are sent
    (and pre-logged) in every period."""
    return (60 - period) * MIB


# 2 MiB/s and 250 ms: a switchover threshold of 128 pages, below the 256
# cold pages of a period, so the migration cannot end while the script
# writes; a budget of 64 pages at 50% for whole pages, more for deltas
EFFECT_MIGRATION = {'max-bandwidth': 2 * MIB, 'downtime-limit': 250}
EFFECT_TIMEOUT_S = 120


class ParameterEffects(unittest.TestCase):
    """What each predlog parameter changes in one scripted migration."""

    @classmethod
    def setUpClass(cls):
        require_qemu()
        cls.runs = {}

    def migrate(self, **params):
        """query-migrate's predlog statistics of the scripted migration
        with predlog parameters @params (cached per set of parameters)."""
        key = tuple(sorted(params.items()))
        if key in self.runs:
            return self.runs[key]
        vm = predlog_vm.QtestVM(memory=128, name='effects').launch()
        try:
            vm.cmd('migrate-set-capabilities', capabilities=[
                {'capability': 'predlog', 'state': True}])
            vm.cmd('migrate-set-parameters', **EFFECT_MIGRATION,
                   **{k.replace('_', '-'): v for k, v in params.items()})
            vm.memset(PRELOAD[0], PRELOAD[1], 0x5a)
            vm.cmd('migrate', uri='exec:cat > /dev/null')
            deadline = time.monotonic() + EFFECT_TIMEOUT_S
            # the first writes once the bulk pass has sent what they touch
            ram = self.wait_ram(vm, deadline, lambda r: r.get('duplicate', 0)
                                + r.get('normal', 0) > 64 * MIB // PAGE)
            seen = ram['dirty-sync-count']
            rng = random.Random(12)
            for period in range(PERIODS):
                if period:
                    ram = self.wait_ram(vm, deadline, lambda r, n=seen:
                                        r.get('dirty-sync-count', 0) > n)
                    seen = ram['dirty-sync-count']
                for i in range(HOT[1]):
                    vm.memset(HOT[0] + i * PAGE + 128 * (period % 8), 64,
                              0x10 + period)
                for i in range(WARM[1]):
                    if rng.random() < WARM[2]:
                        vm.memset(WARM[0] + i * PAGE + 128 * (period % 8),
                                  64, 0x40 + period)
                vm.memset(cold_region(period), MIB, 0x80 + period)
            while True:
                info = vm.cmd('query-migrate')
                if info['status'] == 'completed':
                    break
                self.assertIn(info['status'], ('active', 'device'), info)
                self.assertLess(time.monotonic(), deadline,
                                'scripted migration not completed')
                time.sleep(0.02)
        finally:
            vm.shutdown()
        stats = info['predlog']
        predlog_vm.diag('%s: recall %.2f, deferred-total %d, prelogged %d, '
                        'budget %d, delta pages %d, %d sync periods'
                        % (', '.join('%s=%s' % (k.replace('_', '-'), v)
                                     for k, v in key) or
                           'defaults', stats['recall'],
                           stats['deferred-total'], stats['prelogged-pages'],
                           stats['defer-budget-pages'], stats['delta-pages'],
                           stats['sync-periods']))
        self.assertGreaterEqual(stats['sync-periods'], PERIODS, stats)
        self.runs[key] = stats
        return stats

    def wait_ram(self, vm, deadline, predicate):
        while True:
            info = vm.cmd('query-migrate')
            ram = info.get('ram', {})
            if predicate(ram):
                return ram
            # ending before the script is done would make it meaningless
            self.assertIn(info.get('status'), ('setup', 'active'), info)
            self.assertLess(time.monotonic(), deadline,
                            'scripted migration stalled: %s' % info)
            time.sleep(0.005)

    def test_defaults_defer(self):
        """Defaults: hot pages are predicted, pre-logged and deferred."""
        stats = self.migrate()
        self.assertGreater(stats['recall'], 0.5, stats)
        self.assertGreater(stats['prelogged-pages'], 0, stats)
        self.assertGreater(stats['deferred-total'], 0, stats)
        self.assertGreater(stats['defer-budget-pages'], 0, stats)

    def test_defer_budget_zero(self):
        """predlog-defer-budget=0 defers nothing."""
        stats = self.migrate(predlog_defer_budget=0)
        self.assertEqual(stats['defer-budget-pages'], 0, stats)
        self.assertEqual(stats['prelogged-pages'], 0, stats)
        self.assertEqual(stats['deferred-total'], 0, stats)
        self.assertEqual(stats['deferred-pages'], 0, stats)
        self.assertGreater(self.migrate()['deferred-total'], 0)

    def test_hot_threshold(self):
        """predlog-hot-threshold=90 leaves the warm pages cold."""
        default = self.migrate()
        high = self.migrate(predlog_hot_threshold=90)
        self.assertLess(high['recall'], default['recall'] - 0.2,
                        (high, default))
        self.assertLess(high['deferred-total'], default['deferred-total'],
                        (high, default))

    def test_history_one(self):
        """predlog-history=1 cannot tell hot pages from cold ones."""
        stats = self.migrate(predlog_history=1)
        self.assertEqual(stats['recall'], 0, stats)
        self.assertEqual(stats['deferred-total'], 0, stats)
        self.assertGreater(self.migrate()['recall'], 0.5)


if __name__ == '__main__':
    predlog_vm.tap_main()
