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
"""

import os
import re
import subprocess
import sys
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


class MigrationParams(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # not a skip: make check builds QEMU, so a missing one is a failure
        qemu = predlog_vm.qemu_binary()
        if not os.access(qemu, os.X_OK):
            raise RuntimeError('QEMU binary %s not built (make qemu or set '
                               'PREDLOG_QEMU)' % qemu)
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


if __name__ == '__main__':
    predlog_vm.tap_main()
