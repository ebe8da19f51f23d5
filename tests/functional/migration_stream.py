# SPDX-License-Identifier: GPL-2.0-or-later
"""Read a QEMU 10.0 precopy migration stream into what is deterministic.

Python 3 standard library only.  Used by test_stream_stock.py to compare
the migration of a running VM by our binary and by stock QEMU, where the
bytes cannot be equal: how many pages each ram_save_iterate() call sends
depends on the rate limiter's clock, so section boundaries move between
runs, and the "timer" section carries host clock values taken when the
VM stops.  What must be equal is read out of the stream here:

- the header and configuration section, as bytes;
- the RAM pages, in the order they were sent: (block, offset, kind,
  SHA-256 of the bytes that follow the page header), ignoring the
  section and RAM_SAVE_FLAG_CONTINUE boundaries;
- the commands (QEMU_VM_COMMAND, e.g. MIG_CMD_SWITCHOVER_START);
- each device section of the switchover (QEMU_VM_SECTION_FULL), by name
  and instance, as bytes;
- the VM description (QEMU_VM_VMDESCRIPTION) JSON.

The format is migration/savevm.c's and migration/ram.c's (QEMU 10.0);
only what a precopy stream without multifd, postcopy, mapped-ram or
ignore-shared contains is understood, and anything else is an error
(StreamError) that says where it was found.
"""

import hashlib
import json
import struct

QEMU_VM_FILE_MAGIC = 0x5145564d
QEMU_VM_FILE_VERSION = 3

QEMU_VM_EOF = 0x00
QEMU_VM_SECTION_START = 0x01
QEMU_VM_SECTION_PART = 0x02
QEMU_VM_SECTION_END = 0x03
QEMU_VM_SECTION_FULL = 0x04
QEMU_VM_SUBSECTION = 0x05
QEMU_VM_VMDESCRIPTION = 0x06
QEMU_VM_CONFIGURATION = 0x07
QEMU_VM_COMMAND = 0x08
QEMU_VM_SECTION_FOOTER = 0x7e

RAM_SAVE_FLAG_ZERO = 0x02
RAM_SAVE_FLAG_MEM_SIZE = 0x04
RAM_SAVE_FLAG_PAGE = 0x08
RAM_SAVE_FLAG_EOS = 0x10
RAM_SAVE_FLAG_CONTINUE = 0x20
RAM_SAVE_FLAG_XBZRLE = 0x40
KNOWN_FLAGS = (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_MEM_SIZE |
               RAM_SAVE_FLAG_PAGE | RAM_SAVE_FLAG_EOS |
               RAM_SAVE_FLAG_CONTINUE | RAM_SAVE_FLAG_XBZRLE)
ENCODING_FLAG_XBZRLE = 0x1

PAGE_SIZE = 4096


class StreamError(Exception):
    pass


class Stream:
    """What read_stream() found in one stream file."""

    def __init__(self):
        self.header = b''           # magic, version, configuration
        self.ram_blocks = []        # [(idstr, used_length)], setup order
        self.pages = []             # [(block, offset, kind, sha256)]
        self.iterations = 0         # QEMU_VM_SECTION_PART sections of ram
        self.commands = []          # [(cmd, data)]: QEMU_VM_COMMAND
        self.devices = []           # [(idstr, instance, version, bytes)]
        self.vmdesc = None          # the parsed JSON
        self._last_block = None     # reader state: see _read_ram()


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def need(self, n, what):
        if self.pos + n > len(self.data):
            raise StreamError('stream ends at offset %d inside %s'
                              % (len(self.data), what))

    def take(self, n, what):
        self.need(n, what)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self, what):
        return self.take(1, what)[0]

    def be16(self, what):
        return struct.unpack('>H', self.take(2, what))[0]

    def be32(self, what):
        return struct.unpack('>I', self.take(4, what))[0]

    def be64(self, what):
        return struct.unpack('>Q', self.take(8, what))[0]

    def idstr(self, what):
        n = self.u8(what)
        return self.take(n, what).decode('ascii', 'replace')


def _read_footer(r, section_id, what):
    at = r.pos
    if r.u8(what) != QEMU_VM_SECTION_FOOTER or r.be32(what) != section_id:
        raise StreamError('%s: no section footer for section %d at offset %d'
                          % (what, section_id, at))


def _read_ram(r, stream, setup):
    """RAM records up to RAM_SAVE_FLAG_EOS (ram_save_setup/iterate/complete).

    The block a RAM_SAVE_FLAG_CONTINUE record means is the last one named,
    which may be in an earlier section: ram.c's last_sent_block outlives
    ram_save_iterate()."""
    block = stream._last_block
    while True:
        at = r.pos
        addr = r.be64('ram record')
        flags = addr & (PAGE_SIZE - 1)
        addr &= ~(PAGE_SIZE - 1)
        if flags & ~KNOWN_FLAGS:
            raise StreamError('ram record at offset %d has flags 0x%x this '
                              'reader does not know' % (at, flags))
        if flags & RAM_SAVE_FLAG_MEM_SIZE:
            if not setup:
                raise StreamError('RAM_SAVE_FLAG_MEM_SIZE outside the ram '
                                  'setup section at offset %d' % at)
            total = addr
            while total > 0:
                name = r.idstr('ram block list')
                length = r.be64('ram block length')
                stream.ram_blocks.append((name, length))
                total -= length
            if total != 0:
                raise StreamError('ram block lengths do not add up to '
                                  'RAM_SAVE_FLAG_MEM_SIZE')
            continue
        if flags & RAM_SAVE_FLAG_EOS:
            stream._last_block = block
            return
        if not flags & (RAM_SAVE_FLAG_ZERO | RAM_SAVE_FLAG_PAGE |
                        RAM_SAVE_FLAG_XBZRLE):
            raise StreamError('ram record at offset %d sends no page (flags '
                              '0x%x)' % (at, flags))
        if not flags & RAM_SAVE_FLAG_CONTINUE:
            block = r.idstr('ram block name')
        elif block is None:
            raise StreamError('RAM_SAVE_FLAG_CONTINUE without a block at '
                              'offset %d' % at)
        if flags & RAM_SAVE_FLAG_ZERO:
            kind, body = 'zero', r.take(1, 'zero page')
        elif flags & RAM_SAVE_FLAG_PAGE:
            kind, body = 'page', r.take(PAGE_SIZE, 'page')
        else:
            if r.u8('xbzrle page') != ENCODING_FLAG_XBZRLE:
                raise StreamError('xbzrle page at offset %d without '
                                  'ENCODING_FLAG_XBZRLE' % at)
            n = r.be16('xbzrle page')
            kind, body = 'xbzrle', r.take(n, 'xbzrle page')
        stream.pages.append((block, addr, kind,
                             hashlib.sha256(body).hexdigest()))


def read_stream(path):
    """Parse the precopy migration stream in file @path into a Stream."""
    with open(path, 'rb') as f:
        data = f.read()
    r = _Reader(data)
    s = Stream()
    if r.be32('header') != QEMU_VM_FILE_MAGIC:
        raise StreamError('%s: not a QEMU migration stream' % path)
    if r.be32('header') != QEMU_VM_FILE_VERSION:
        raise StreamError('%s: stream version is not %d'
                          % (path, QEMU_VM_FILE_VERSION))
    ram_id = None
    while True:
        at = r.pos
        kind = r.u8('section type')
        if kind == QEMU_VM_CONFIGURATION:
            # The configuration section is a vmstate without a footer:
            # its end is the first iterable section, which is ram's.
            start = data.find(b'\x01', r.pos)
            while start >= 0:
                probe = _Reader(data)
                probe.pos = start + 5
                try:
                    if probe.idstr('') == 'ram':
                        break
                except StreamError:
                    pass
                start = data.find(b'\x01', start + 1)
            if start < 0:
                raise StreamError('%s: no ram section after the '
                                  'configuration' % path)
            r.pos = start
            s.header = data[:start]
            continue
        if kind == QEMU_VM_SECTION_START:
            sid = r.be32('section id')
            name = r.idstr('section name')
            r.be32('instance id')
            r.be32('version id')
            if name != 'ram':
                raise StreamError('%s: iterable section %r at offset %d; '
                                  'only ram is understood' % (path, name, at))
            ram_id = sid
            _read_ram(r, s, True)
            _read_footer(r, sid, 'ram setup')
        elif kind in (QEMU_VM_SECTION_PART, QEMU_VM_SECTION_END):
            sid = r.be32('section id')
            if sid != ram_id:
                raise StreamError('%s: section %d at offset %d is not ram'
                                  % (path, sid, at))
            if kind == QEMU_VM_SECTION_PART:
                s.iterations += 1
            _read_ram(r, s, False)
            _read_footer(r, sid, 'ram')
        elif kind == QEMU_VM_SECTION_FULL:
            sid = r.be32('section id')
            name = r.idstr('section name')
            instance = r.be32('instance id')
            version = r.be32('version id')
            body_start = r.pos
            end = _full_section_end(data, body_start, sid)
            if end is None:
                raise StreamError('%s: device section %r (id %d) at offset %d '
                                  'has no footer' % (path, name, sid, at))
            s.devices.append((name, instance, version,
                              data[body_start:end]))
            r.pos = end + 5
        elif kind == QEMU_VM_COMMAND:
            # e.g. MIG_CMD_SWITCHOVER_START between ram's end and the devices
            cmd = r.be16('command')
            s.commands.append((cmd, r.take(r.be16('command length'),
                                           'command')))
        elif kind == QEMU_VM_EOF:
            break
        else:
            raise StreamError('%s: section type 0x%02x at offset %d'
                              % (path, kind, at))
    if r.pos < len(data):
        if r.u8('vmdesc') != QEMU_VM_VMDESCRIPTION:
            raise StreamError('%s: unexpected bytes after QEMU_VM_EOF' % path)
        n = r.be32('vmdesc length')
        s.vmdesc = json.loads(r.take(n, 'vmdesc'))
    return s


def _full_section_end(data, start, sid):
    """Offset of the footer that ends the device section @sid's body.

    The body's length is not in the stream (only the vmdesc describes
    it), so take the first footer of @sid that is followed by what must
    follow a section: another device section header or QEMU_VM_EOF."""
    footer = bytes([QEMU_VM_SECTION_FOOTER]) + struct.pack('>I', sid)
    pos = data.find(footer, start)
    while pos >= 0:
        nxt = pos + len(footer)
        if nxt < len(data) and data[nxt] == QEMU_VM_EOF:
            return pos
        if nxt + 6 <= len(data) and data[nxt] == QEMU_VM_SECTION_FULL:
            n = data[nxt + 5]
            name = data[nxt + 6:nxt + 6 + n]
            if len(name) == n and n and all(32 < b < 127 for b in name):
                return pos
        pos = data.find(footer, pos + 1)
    return None
