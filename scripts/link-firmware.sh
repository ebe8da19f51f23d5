#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# link-firmware.sh QEMU_BUILD_DIR: let the QEMU binary run from the build
# tree find Debian's firmware.
#
# Debian's +ds source has no firmware blobs, so QEMU is configured with
# --firmwarepath pointing at the seabios, ipxe-qemu and qemu-system-data
# packages.  A binary started from a build tree, however, resolves those
# paths inside BUILD/qemu-bundle (get_relocated_path), so each firmware
# file is linked there.  Files are linked one by one, never whole
# directories, so nothing QEMU's build puts into the bundle can ever be
# written through a link into /usr.

set -euo pipefail

OBJ=$1
FIRMWARE_DIRS=(/usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu)

for dir in "${FIRMWARE_DIRS[@]}"; do
    [[ -d $dir ]] || continue
    mkdir -p "$OBJ/qemu-bundle$dir"
    for f in "$dir"/*; do
        [[ -f $f ]] || continue
        dst=$OBJ/qemu-bundle$f
        [[ -e $dst || -L $dst ]] || ln -s "$f" "$dst"
    done
done
