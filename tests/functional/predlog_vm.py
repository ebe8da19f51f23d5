# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for predlog's end-to-end tests: launch QEMU, talk QMP, emit TAP.

Python 3 standard library only, so the tests run on a bare Debian 12.

Environment:
  PREDLOG_QEMU       QEMU binary (default <repo>/build/qemu-system-x86_64)
  PREDLOG_GUEST_DIR  guest image dir from tests/guest/build-image.sh
                     (default <repo>/build/guest)
  PREDLOG_KEEP_TMP   if set, keep each VM's temp dir (console log, sockets)

Every VM runs under TCG (/dev/kvm on our machines is PVM and cannot run a
stock guest) on q35 with qboot, which reaches the guest's /init in about
two seconds where SeaBIOS needs ~35 s.

A test module ends with:

    if __name__ == '__main__':
        predlog_vm.tap_main()

which runs the module's unittest.TestCase classes and prints TAP.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

DEFAULT_QEMU = os.path.join(REPO, 'build', 'qemu-system-x86_64')
DEFAULT_GUEST_DIR = os.path.join(REPO, 'build', 'guest')

# Kernel command line shared by every predlog VM; 'quiet' keeps the
# console to our own "predlog-guest: " lines plus panics.
BASE_APPEND = 'console=ttyS0 panic=-1 quiet'


def qemu_binary():
    return os.environ.get('PREDLOG_QEMU', DEFAULT_QEMU)


def guest_dir():
    return os.environ.get('PREDLOG_GUEST_DIR', DEFAULT_GUEST_DIR)


def guest_files(gdir=None):
    """Return (kernel, initrd) paths of the guest image."""
    gdir = gdir or guest_dir()
    return (os.path.join(gdir, 'vmlinuz'),
            os.path.join(gdir, 'initramfs.cpio.gz'))


def missing_prerequisites(qemu=None, gdir=None):
    """Return a reason string if QEMU or the guest image is missing."""
    qemu = qemu or qemu_binary()
    if not os.access(qemu, os.X_OK):
        return 'QEMU binary %s not built (set PREDLOG_QEMU)' % qemu
    for path in guest_files(gdir):
        if not os.path.exists(path):
            return ('guest image %s missing (run tests/guest/build-image.sh '
                    'or set PREDLOG_GUEST_DIR)' % path)
    return None


def recover_binary():
    """predlog-recover: $PREDLOG_RECOVER or build/core/tools/."""
    return os.environ.get('PREDLOG_RECOVER',
                          os.path.join(REPO, 'build', 'core', 'tools',
                                       'predlog-recover'))


def diag(msg):
    """Print a TAP diagnostic line (shown by TAP consumers, never parsed)."""
    for line in str(msg).splitlines() or ['']:
        print('# ' + line, flush=True)


def _set_pdeathsig():
    """Child side of Popen: die with the parent.

    A test or runner killed with SIGKILL cannot clean up, and an orphaned
    TCG guest would keep one of the two host cores busy forever.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class QMPError(Exception):
    """A QMP command returned an error."""

    def __init__(self, cmd, error):
        self.cmd = cmd
        self.error = error
        super().__init__('%s: %s: %s' % (cmd, error.get('class'),
                                          error.get('desc')))


class QMP:
    """Minimal synchronous QMP client over a unix socket."""

    def __init__(self, path, timeout=30.0):
        self.path = path
        self.timeout = timeout
        self.events = []
        self.sock = None
        self._rfile = None

    def connect(self, deadline, alive=lambda: True):
        """Connect, waiting for QEMU to create the socket.

        alive() is polled so that a QEMU dying at startup fails fast
        instead of waiting for the deadline.
        """
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if not alive():
                    raise RuntimeError('QEMU exited before QMP was up')
                if time.monotonic() > deadline:
                    raise TimeoutError('QMP socket %s never came up'
                                       % self.path)
                time.sleep(0.05)
        sock.settimeout(self.timeout)
        self.sock = sock
        self._rfile = sock.makefile('rb')
        greeting = self._read()
        if 'QMP' not in greeting:
            raise RuntimeError('unexpected QMP greeting: %r' % greeting)
        self.cmd('qmp_capabilities')

    def _read(self):
        line = self._rfile.readline()
        if not line:
            raise ConnectionError('QMP connection closed')
        return json.loads(line)

    def cmd(self, name, **args):
        """Execute a command and return its 'return' value.

        Argument names with dashes go through a dict:
        cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 30}).
        Events that arrive meanwhile are kept in self.events.
        """
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            resp = self._read()
            if 'event' in resp:
                self.events.append(resp)
                continue
            if 'error' in resp:
                raise QMPError(name, resp['error'])
            if 'return' in resp:
                return resp['return']

    def get_events(self, name=None):
        """Return and forget the collected events (of one name, if given)."""
        keep, out = [], []
        for ev in self.events:
            (out if name is None or ev['event'] == name else keep).append(ev)
        self.events = keep
        return out

    def close(self):
        if self._rfile:
            self._rfile.close()
            self._rfile = None
        if self.sock:
            self.sock.close()
            self.sock = None


def wait_until(predicate, timeout, what, interval=0.2):
    """Poll predicate() until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError('timed out after %g s waiting for %s'
                               % (timeout, what))
        time.sleep(interval)


def connect_unix(path, timeout=30.0):
    """Connect to a unix socket QEMU is about to create; retry until then."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def qemu_opt(value):
    """@value quoted for a QEMU option list (a comma is written twice)."""
    return str(value).replace(',', ',,')


def pool_args(path, size, device_opts='', rec='rec0'):
    """-device predlog,id=@rec on a shared memory-backend-file of @size
    bytes at @path, the pool that survives QEMU; @device_opts are more
    of the device's properties, e.g. 'policy=fixed,max-functions=16'."""
    device = 'predlog,id=%s,memdev=pool0' % rec
    if device_opts:
        device += ',' + device_opts
    return ['-object', 'memory-backend-file,id=pool0,mem-path=%s,size=%d,'
                       'share=on' % (qemu_opt(path), size),
            '-device', device]


def net_args(netdev_opts='', tap=True, rec='rec0'):
    """A virtio-net NIC on QEMU's user network (netdev n0, the guest is
    10.0.2.15), with the filter-predlog tap net0 on it unless @tap is
    false; @netdev_opts are more -netdev user options."""
    netdev = 'user,id=n0'
    if netdev_opts:
        netdev += ',' + netdev_opts
    args = ['-netdev', netdev, '-device', 'virtio-net-pci,netdev=n0']
    if tap:
        args += ['-object', 'filter-predlog,id=net0,netdev=n0,recorder=%s'
                 % rec]
    return args


def block_args(disk, filter_opts='', device=True, rec='rec0'):
    """The raw image @disk (node disk0) under the predlog block filter
    node blk0; with @device, the guest sees blk0 as a virtio-blk disk
    (/dev/vda), otherwise only the monitor (qemu-io) uses it.
    @filter_opts are more options of the filter, e.g. 'payload=on'."""
    blk = 'driver=predlog,node-name=blk0,file=disk0,recorder=%s' % rec
    if filter_opts:
        blk += ',' + filter_opts
    args = ['-blockdev', 'driver=file,filename=%s,node-name=disk0'
                         % qemu_opt(disk),
            '-blockdev', blk]
    if device:
        args += ['-device', 'virtio-blk-pci,drive=blk0']
    return args


def launch_recorder(args, name):
    """Boot a guest in recorder mode; return (vm, console) once its shell
    takes input.  Raises AssertionError if the guest's recorder failed."""
    vm = VM(mode='recorder', args=args, console='socket', name=name)
    vm.launch()
    console = Console(vm.console_socket)
    console.wait_for(r'predlog-guest: recorder (ready|failed.*)', timeout=90)
    if 'predlog-guest: recorder ready' not in console.text():
        raise AssertionError('guest recorder not ready:\n' + console.text())
    # the shell comes up right after; make sure it takes input
    status = console.run('true', timeout=60)[0]
    if status != 0:
        raise AssertionError('guest shell answered %r to true' % status)
    return vm, console


class Console:
    """The guest's serial console over a unix socket: type and read."""

    def __init__(self, path, timeout=30.0):
        self.sock = connect_unix(path, timeout)
        self.buf = ''
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.serial = 0

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.buf += data.decode('utf-8', 'replace')

    def text(self):
        with self.lock:
            return self.buf

    def wait_for(self, regex, timeout=60.0, start=0):
        pattern = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.text(), start)
            if m:
                return m
            if time.monotonic() > deadline:
                raise TimeoutError('no %r on the guest console after %g s; '
                                   'it ends with:\n%s'
                                   % (regex, timeout, self.text()[-2000:]))
            time.sleep(0.02)

    def start(self, command):
        """Type @command; return a handle for finish()."""
        self.serial += 1
        tag = 'pc%d' % self.serial
        start = len(self.text())
        # The typed line is echoed back; quoting keeps the markers the
        # command prints ('@@pcN', 'pcN rc=') out of that echo.
        self.sock.sendall(('echo "@@""%s"; %s; echo "%s rc=$?"\n'
                           % (tag, command, tag)).encode())
        return tag, start

    def finish(self, handle, timeout=120.0):
        """Wait for a start()ed command; return (status, its output)."""
        tag, start = handle
        m = self.wait_for(r'%s rc=(\d+)' % tag, timeout, start)
        b = self.wait_for(r'@@%s\r?\n' % tag, 1, start)
        return int(m.group(1)), self.text()[b.end():m.start()]

    def run(self, command, timeout=120.0):
        return self.finish(self.start(command), timeout)

    def close(self):
        self.sock.close()


class VM:
    """One QEMU process running the predlog test guest.

    console='file' captures the serial console to a file that
    wait_for_console() searches; console='socket' exposes it as a unix
    socket (self.console_socket) for an interactive client such as
    tools/predlog-run.
    """

    def __init__(self, mode='probe', args=(), append='', qemu=None,
                 gdir=None, memory=512, console='file', name='vm',
                 qemu_stderr=None):
        self.qemu = qemu or qemu_binary()
        self.kernel, self.initrd = guest_files(gdir)
        self.mode = mode
        self.extra_args = list(args)
        self.append = append
        self.memory = memory
        self.console = console
        self.name = name
        # None: capture QEMU's stdout/stderr in the temp dir (see stderr());
        # else a file object QEMU's output goes to directly
        self.qemu_stderr = qemu_stderr
        self.tmpdir = None
        self.proc = None
        self.qmp = None
        self.launch_time = None
        self.exitcode = None
        self._stderr_file = None

    # -- paths ---------------------------------------------------------

    def _path(self, name):
        return os.path.join(self.tmpdir, name)

    @property
    def console_log(self):
        return self._path('console.log')

    @property
    def console_socket(self):
        return self._path('console.sock')

    @property
    def qmp_socket(self):
        return self._path('qmp.sock')

    # -- life cycle ----------------------------------------------------

    def command_line(self):
        append = '%s predlog.mode=%s %s' % (BASE_APPEND, self.mode,
                                           self.append)
        if self.console == 'file':
            serial = ['-serial', 'file:' + self.console_log]
        else:
            serial = ['-chardev', 'socket,id=con0,path=%s,server=on,wait=off'
                      % self.console_socket, '-serial', 'chardev:con0']
        return ([self.qemu,
                 '-M', 'q35', '-accel', 'tcg', '-m', str(self.memory),
                 '-bios', 'qboot.rom',
                 '-kernel', self.kernel, '-initrd', self.initrd,
                 '-append', append.strip(),
                 # -nodefaults: no VGA, no default NIC; the guest talks
                 # to us on its serial port only
                 '-nodefaults', '-display', 'none', '-no-reboot']
                + serial
                + ['-qmp', 'unix:%s,server=on,wait=off' % self.qmp_socket]
                + self.extra_args)

    def launch(self, wait_qmp=True, timeout=30.0, new_session=False):
        """Start QEMU; with wait_qmp, connect QMP before returning.

        new_session=True puts QEMU in its own session so the terminal's
        Ctrl-C reaches only the caller (used by tools/predlog-run).
        """
        self.tmpdir = tempfile.mkdtemp(prefix='predlog-%s-' % self.name)
        if self.qemu_stderr is None:
            self._stderr_file = open(self._path('stderr.log'), 'w+b')
            out = self._stderr_file
        else:
            out = self.qemu_stderr
        self.launch_time = time.monotonic()
        # stdin is not the terminal: QEMU must never read the user's keys
        self.proc = subprocess.Popen(self.command_line(),
                                     stdin=subprocess.DEVNULL,
                                     stdout=out,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=_set_pdeathsig,
                                     start_new_session=new_session)
        if wait_qmp:
            self.qmp = QMP(self.qmp_socket)
            try:
                self.qmp.connect(time.monotonic() + timeout,
                                 alive=lambda: self.proc.poll() is None)
            except Exception as e:
                if self.wait(timeout=5) is None:
                    self.proc.kill()
                    self.wait()
                err = self.stderr()
                self.cleanup()
                raise RuntimeError('QEMU did not start (exit code %s): %s\n'
                                   '%s' % (self.exitcode, e, err)) from e
        return self

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout=None):
        """Wait for QEMU to exit; return its exit code."""
        try:
            self.exitcode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exitcode

    def stderr(self):
        """What QEMU wrote to stdout/stderr so far."""
        if not self._stderr_file:
            return ''
        with open(self._stderr_file.name, 'rb') as f:
            return f.read().decode(errors='replace')

    def console_text(self):
        try:
            with open(self.console_log, 'rb') as f:
                return f.read().decode(errors='replace')
        except FileNotFoundError:
            return ''

    def wait_for_console(self, regex, timeout=30.0):
        """Wait until the console log matches regex; return the match.

        Fails at once (RuntimeError) if QEMU exits, and with TimeoutError
        after timeout seconds; both carry the console tail for the log.
        """
        pattern = re.compile(regex, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.console_text()
            m = pattern.search(text)
            if m:
                return m
            if not self.is_running():
                # one last look: QEMU may have flushed and exited
                m = pattern.search(self.console_text())
                if m:
                    return m
                raise RuntimeError('QEMU exited (%s) before console showed '
                                   '%r\n--- console ---\n%s\n--- qemu ---\n%s'
                                   % (self.proc.returncode, regex,
                                      text[-2000:], self.stderr()[-2000:]))
            if time.monotonic() > deadline:
                raise TimeoutError('console did not show %r within %g s\n'
                                   '--- console ---\n%s' %
                                   (regex, timeout, text[-2000:]))
            time.sleep(0.05)

    def cmd(self, name, **args):
        return self.qmp.cmd(name, **args)

    def shutdown(self, timeout=15.0):
        """Ask QEMU to quit over QMP; kill it if it does not in time."""
        if self.proc is None:
            return self.exitcode
        if self.is_running() and self.qmp and self.qmp.sock:
            try:
                self.qmp.cmd('quit')
            except (OSError, ConnectionError, QMPError, ValueError):
                pass   # QEMU may close the socket before answering
        if self.wait(timeout) is None:
            self.proc.kill()
            self.wait()
        self.cleanup()
        return self.exitcode

    def kill(self):
        if self.is_running():
            self.proc.kill()
        self.wait()
        self.cleanup()

    def cleanup(self):
        if self.qmp:
            self.qmp.close()
            self.qmp = None
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None
        if self.tmpdir and not os.environ.get('PREDLOG_KEEP_TMP'):
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()


class QtestVM(VM):
    """A running q35 VM under the qtest accelerator, without a guest: no
    guest code runs, guest RAM changes only when the test writes it over
    the qtest socket (memset(), write()), and the VM clock moves only if
    the test steps it.  For migration tests that need a running VM whose
    writes are scripted to the page."""

    def __init__(self, qemu=None, memory=64, args=(), name='qtest'):
        super().__init__(qemu=qemu, memory=memory, args=args, name=name)
        self.qtest_file = None

    @property
    def qtest_socket(self):
        return self._path('qtest.sock')

    def command_line(self):
        return ([self.qemu,
                 '-accel', 'qtest',
                 '-qtest', 'unix:%s,server=on,wait=off' % self.qtest_socket,
                 '-M', 'q35', '-m', str(self.memory), '-nodefaults',
                 '-bios', 'qboot.rom', '-display', 'none',
                 '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_socket]
                + self.extra_args)

    def launch(self, **kwargs):
        super().launch(**kwargs)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        sock.connect(self.qtest_socket)
        self.qtest_file = sock.makefile('rwb', buffering=0)
        sock.close()        # the file object keeps the connection
        return self

    def qtest(self, line):
        """One qtest protocol command; what QEMU answered after 'OK'."""
        self.qtest_file.write(line.encode() + b'\n')
        answer = self.qtest_file.readline().decode().strip()
        if not answer.startswith('OK'):
            raise AssertionError('qtest %r: %r' % (line, answer))
        return answer[2:].strip()

    def memset(self, addr, size, value):
        self.qtest('memset 0x%x 0x%x 0x%x' % (addr, size, value))

    def read(self, addr, size):
        return bytes.fromhex(self.qtest('read 0x%x 0x%x'
                                        % (addr, size))[2:])

    def cleanup(self):
        if self.qtest_file:
            self.qtest_file.close()
            self.qtest_file = None
        super().cleanup()


# -- TAP -----------------------------------------------------------------

class _TAPResult(unittest.TestResult):
    """Print one TAP line per test as soon as it finishes.

    Class-level problems (setUpClass raising or skipping) arrive with an
    _ErrorHolder instead of a test; they are remembered in class_error /
    class_skip and tap_main() reports every test of the class with them.
    """

    def __init__(self):
        super().__init__()
        self.number = 0
        self.failed = 0
        self.class_error = None
        self.class_skip = None
        self._reported = False
        self._subtest_errors = []

    @staticmethod
    def _name(test):
        return '%s.%s' % (type(test).__name__, test._testMethodName)

    def line(self, ok, test, directive=''):
        self._reported = True
        self.number += 1
        print('%s %d - %s%s' % ('ok' if ok else 'not ok', self.number,
                                self._name(test), directive), flush=True)

    def _bad(self, test, err):
        text = ''.join(traceback.format_exception(*err)).rstrip()
        if not isinstance(test, unittest.TestCase):
            diag('%s\n%s' % (test.description, text))
            self.failed += 1
            self.class_error = test.description
            return
        self.failed += 1
        self.line(False, test)
        diag(text)

    def startTest(self, test):
        super().startTest(test)
        self._reported = False
        self._subtest_errors = []

    def stopTest(self, test):
        super().stopTest(test)
        # A test whose subTest()s failed gets neither addSuccess nor
        # addFailure: report it here, with each failing subtest.
        if not self._reported and self._subtest_errors:
            self.failed += 1
            self.line(False, test)
            for subtest, err in self._subtest_errors:
                diag('%s\n%s' % (subtest.id(), ''.join(
                    traceback.format_exception(*err)).rstrip()))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._subtest_errors.append((subtest, err))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._bad(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._bad(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if not isinstance(test, unittest.TestCase):
            self.class_skip = reason
            return
        self.line(True, test, ' # SKIP %s' % reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.line(True, test, ' # TODO expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed += 1
        self.line(False, test, ' # unexpected success')


def tap_main(module=None):
    """Run the TestCase classes of the calling module; print TAP; exit.

    Exits 1 if any test failed, 0 otherwise.  If setUpClass raises, every
    test of the class is reported "not ok"; if it raises unittest.SkipTest
    they are all reported as skipped; so the plan always matches.
    """
    module = module or sys.modules['__main__']
    tests = list(_flatten(unittest.TestLoader().loadTestsFromModule(module)))
    # The plan goes first, so that a run that dies halfway reports fewer
    # results than it planned, which tests/run-check fails.
    print('1..%d' % len(tests), flush=True)
    result = _TAPResult()
    for group in _by_class(tests):
        result.class_error = result.class_skip = None
        first = result.number
        unittest.TestSuite(group).run(result)
        # tests that never ran because their class could not be set up
        for test in group[result.number - first:]:
            if result.class_skip is not None:
                result.line(True, test, ' # SKIP %s' % result.class_skip)
            else:
                result.failed += 1
                result.line(False, test, ' # %s failed' %
                            (result.class_error or 'class setup'))
    sys.exit(1 if result.failed else 0)


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def _by_class(tests):
    """Group consecutive tests of the same class (loader order)."""
    groups = []
    for test in tests:
        if groups and type(groups[-1][0]) is type(test):
            groups[-1].append(test)
        else:
            groups.append([test])
    return groups
