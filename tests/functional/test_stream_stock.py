#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Off means stock: our migration stream is byte for byte stock QEMU's.

Run:  tests/functional/test_stream_stock.py     (prints TAP)
Env:  PREDLOG_QEMU        our QEMU (see predlog_vm.py)
      PREDLOG_QEMU_STOCK  stock QEMU 10.0 built from the same Debian source
                          and options without our files and patches
                          (default <repo>/build/qemu-stock/qemu-system-x86_64,
                          'make qemu-stock' builds it)

Our binary and stock QEMU start with the identical command line: a q35
VM stopped before its first instruction (-S), with no devices beyond the
machine's own and no -device predlog.  Each migrates to a file, and the
files must be equal:

- with default capabilities;
- with XBZRLE on (stock QEMU has it; our hooks must leave it alone).

With -device predlog the streams differ by design (the device has state
of its own), so that case is not compared here.

Our 'predlog' migration capability must be listed and off by default, and
turning it on must still produce a stream that stock QEMU's destination
loads: the stream of a stopped VM carries no dirty-page history, so there
is nothing stock QEMU could not read.

Two runs of stock QEMU must give equal files too, or the comparison would
prove nothing; the VM's RTC therefore starts at a fixed date and follows
the (stopped) VM clock, since by default it would carry the host's time
into the stream.
"""

import os
import re
import shutil
import sys
import tempfile
import time
import unittest

# no __pycache__ in the source tree
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import predlog_vm  # noqa: E402

DEFAULT_STOCK = os.path.join(predlog_vm.REPO, 'build', 'qemu-stock',
                             'qemu-system-x86_64')
MIGRATE_TIMEOUT_S = 60
CAPABILITY = 'predlog'
# runstates a destination may end in after loading the stream of a VM
# that never ran: QEMU's destination takes the source's runstate from the
# stream (global state), 'prelaunch' for a -S VM
STOPPED_STATES = ('prelaunch', 'paused', 'postmigrate')


def stock_binary():
    return os.environ.get('PREDLOG_QEMU_STOCK', DEFAULT_STOCK)


class BareVM(predlog_vm.VM):
    """A stopped q35 VM without a guest: the same command line for both
    binaries, so that nothing but the binary can change the stream."""

    def __init__(self, qemu, args=(), name='stream'):
        super().__init__(qemu=qemu, args=args, name=name)

    def command_line(self):
        return ([self.qemu,
                 '-accel', 'tcg', '-M', 'q35', '-m', '128', '-nodefaults',
                 '-S', '-bios', 'qboot.rom', '-display', 'none',
                 # a fixed RTC on the VM clock: no host time in the stream
                 '-rtc', 'base=2025-01-01T00:00:00,clock=vm',
                 '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_socket]
                + self.extra_args)


def wait_migration(vm, what):
    """Poll query-migrate until completed; fail with QEMU's reason."""
    deadline = time.monotonic() + MIGRATE_TIMEOUT_S
    while True:
        info = vm.cmd('query-migrate')
        status = info.get('status')
        if status == 'completed':
            return info
        if status in ('failed', 'cancelled'):
            raise AssertionError('%s: migration %s: %s\n--- qemu ---\n%s'
                                 % (what, status,
                                    info.get('error-desc', '(no error-desc)'),
                                    vm.stderr()[-2000:]))
        if not vm.is_running():
            raise AssertionError('%s: QEMU exited (%s) during migration\n'
                                 '--- qemu ---\n%s'
                                 % (what, vm.proc.returncode,
                                    vm.stderr()[-2000:]))
        if time.monotonic() > deadline:
            raise AssertionError('%s: migration not completed after %d s '
                                 '(status %s)' % (what, MIGRATE_TIMEOUT_S,
                                                  status))
        time.sleep(0.05)


def set_capabilities(vm, caps):
    if caps:
        vm.cmd('migrate-set-capabilities',
               capabilities=[{'capability': c, 'state': True}
                             for c in caps])


def save_stream(qemu, path, caps=()):
    """Start a BareVM of @qemu, migrate it to file @path with @caps on."""
    vm = BareVM(qemu).launch()
    try:
        set_capabilities(vm, caps)
        vm.cmd('migrate', uri='file:' + path)
        wait_migration(vm, 'migrate %s to %s' % (qemu, path))
    finally:
        vm.shutdown()
    return path


# -- explaining a difference ----------------------------------------------

# A section header of the stream: QEMU_VM_SECTION_START (1) or _FULL (4),
# be32 section id, u8 length, idstr.  Found by pattern, so only a hint.
SECTION_HEADER = re.compile(rb'[\x01\x04]\x00\x00[\x00-\x0f][\x00-\xff]'
                            rb'([\x02-\x3f])')
IDSTR = re.compile(rb'^[A-Za-z0-9_:/.\-]+$')


def section_before(data, offset):
    """Name of the last section header before @offset, or None."""
    name = None
    for m in SECTION_HEADER.finditer(data, 0, offset):
        length = m.group(1)[0]
        idstr = data[m.end():m.end() + length]
        if len(idstr) == length and IDSTR.match(idstr):
            name = '%s (header at offset %d)' % (idstr.decode(), m.start())
    return name


def hexdump(data, start, end):
    lines = []
    for off in range(start - start % 16, min(end, len(data)), 16):
        chunk = data[off:off + 16]
        hexes = ' '.join('%02x' % b for b in chunk)
        text = ''.join(chr(b) if 32 <= b < 127 else '.' for b in chunk)
        lines.append('  %08x  %-47s  %s' % (off, hexes, text))
    return '\n'.join(lines)


def first_difference(a, b):
    """Offset of the first byte where @a and @b differ, or None."""
    if a == b:
        return None
    n = min(len(a), len(b))
    # compare in blocks first: the streams are a few hundred KiB
    block = 4096
    off = 0
    while off < n and a[off:off + block] == b[off:off + block]:
        off += block
    while off < n and a[off] == b[off]:
        off += 1
    return off


def explain_difference(path_a, label_a, path_b, label_b):
    """A message saying where and how two stream files differ."""
    with open(path_a, 'rb') as f:
        a = f.read()
    with open(path_b, 'rb') as f:
        b = f.read()
    off = first_difference(a, b)
    if off is None:
        return None
    ndiff = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    msg = ['streams differ: %s (%d bytes) vs %s (%d bytes)'
           % (label_a, len(a), label_b, len(b)),
           'first difference at offset %d (0x%x); %d differing bytes in all'
           % (off, off, ndiff),
           'in section: %s' % (section_before(a, off) or 'unknown')]
    for label, data in ((label_a, a), (label_b, b)):
        msg.append('%s around 0x%x:' % (label, off))
        msg.append(hexdump(data, max(0, off - 64), off + 64))
    msg.append('files: %s %s' % (path_a, path_b))
    return '\n'.join(msg)


class StreamStock(unittest.TestCase):
    """Capability-off streams of our QEMU against stock QEMU 10.0's."""

    @classmethod
    def setUpClass(cls):
        cls.ours = predlog_vm.qemu_binary()
        cls.stock = stock_binary()
        # not a skip: make check builds both, so a missing one is a failure
        for path, how in ((cls.ours, 'make qemu or set PREDLOG_QEMU'),
                          (cls.stock, 'make qemu-stock or set '
                                      'PREDLOG_QEMU_STOCK')):
            if not os.access(path, os.X_OK):
                raise RuntimeError('QEMU binary %s not built (%s)'
                                   % (path, how))
        cls.tmpdir = tempfile.mkdtemp(prefix='predlog-stream-')
        cls.streams = {}
        cls.keep_tmp = bool(os.environ.get('PREDLOG_KEEP_TMP'))
        vm = BareVM(cls.ours).launch()
        try:
            cls.capabilities = {c['capability']: c['state']
                                for c in vm.cmd('query-migrate-capabilities')}
        finally:
            vm.shutdown()

    @classmethod
    def tearDownClass(cls):
        if cls.keep_tmp:
            predlog_vm.diag('streams kept in %s' % cls.tmpdir)
        else:
            shutil.rmtree(cls.tmpdir, ignore_errors=True)

    def stream(self, which, caps=(), run=0):
        """Path of the stream of 'ours' or 'stock' with @caps (cached)."""
        key = (which, tuple(caps), run)
        if key not in self.streams:
            name = '%s-%s-%d.mig' % (which, '+'.join(caps) or 'default', run)
            qemu = self.ours if which == 'ours' else self.stock
            self.streams[key] = save_stream(
                qemu, os.path.join(self.tmpdir, name), caps)
        return self.streams[key]

    def assertSameStream(self, caps=()):
        # a stock run against stock first: if stock QEMU itself is not
        # reproducible, say so instead of blaming our binary
        control = explain_difference(self.stream('stock', caps, 0), 'stock',
                                     self.stream('stock', caps, 1),
                                     'stock again')
        if control:
            type(self).keep_tmp = True   # for whoever debugs it
            self.fail('stock QEMU does not reproduce its own stream, so the '
                      'comparison proves nothing; make the command line '
                      'deterministic\n' + control)
        diff = explain_difference(self.stream('stock', caps), 'stock',
                                  self.stream('ours', caps), 'ours')
        if diff:
            type(self).keep_tmp = True
            self.fail(diff)
        predlog_vm.diag('%s: %d bytes, identical'
                        % ('+'.join(caps) or 'default capabilities',
                           os.path.getsize(self.stream('ours', caps))))

    def require_capability(self):
        if CAPABILITY not in self.capabilities:
            self.fail('%s has no %r migration capability; '
                      'query-migrate-capabilities lists: %s'
                      % (self.ours, CAPABILITY,
                         ', '.join(sorted(self.capabilities))))

    def test_default_capabilities(self):
        """Default capabilities: the same bytes as stock QEMU."""
        self.assertSameStream()

    def test_xbzrle(self):
        """XBZRLE on: still the same bytes as stock QEMU."""
        self.assertSameStream(['xbzrle'])

    def test_predlog_listed_off_by_default(self):
        """Our capability exists and is off unless asked for."""
        self.require_capability()
        self.assertIs(self.capabilities[CAPABILITY], False,
                      'capability %r is on by default' % CAPABILITY)

    def test_predlog_stream_loads_into_stock(self):
        """With predlog on, stock QEMU's destination loads the stream."""
        self.require_capability()
        path = self.stream('ours', [CAPABILITY])
        same = explain_difference(self.stream('stock'), 'stock', path,
                                  'ours+predlog') is None
        predlog_vm.diag('predlog-on stream %s stock\'s default stream'
                        % ('equals' if same else 'differs from'))
        dest = BareVM(self.stock, args=['-incoming', 'defer'],
                      name='stock-dest').launch()
        try:
            dest.cmd('migrate-incoming', uri='file:' + path)
            info = wait_migration(dest, 'stock destination loading %s'
                                  % path)
            status = dest.cmd('query-status')
            self.assertIn(status['status'], STOPPED_STATES,
                          'stock destination ended in runstate %r\n'
                          '--- qemu ---\n%s'
                          % (status['status'], dest.stderr()[-2000:]))
            self.assertFalse(status['running'])
            self.assertNotIn('error-desc', info)
            self.assertTrue(dest.is_running(), 'stock destination exited')
            self.assertNotRegex(dest.stderr(), r'(?i)error',
                                'stock destination reported an error')
        finally:
            dest.shutdown()


if __name__ == '__main__':
    predlog_vm.tap_main()
