#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the predlog test guest: a Debian cloud kernel plus a busybox
# initramfs carrying our static guest programs.
#
# Usage: tests/guest/build-image.sh OUTDIR
#
# Produces:
#   OUTDIR/vmlinuz              the kernel (linux-image-*-cloud-amd64)
#   OUTDIR/initramfs.cpio.gz    busybox, /init (tests/guest/init), predlog-info
#   OUTDIR/kernel-version       e.g. 6.1.0-56-cloud-amd64
#   OUTDIR/kernel-root/         the extracted kernel package: boot/ and
#                               lib/modules/<version>/ (for later initramfs
#                               modules and out-of-tree module builds)
#   OUTDIR/modules              symlink to kernel-root/lib/modules/<version>
#
# Boot it (TCG; qboot because SeaBIOS costs ~35 s under TCG):
#   qemu-system-x86_64 -M q35 -accel tcg -m 512 -bios qboot.rom \
#       -kernel OUTDIR/vmlinuz -initrd OUTDIR/initramfs.cpio.gz \
#       -append 'console=ttyS0 panic=-1 quiet predlog.mode=probe' \
#       -nographic -no-reboot -device predlog
#
# Packages come from the Debian archive with "apt-get download" and are
# cached in ~/.cache/predlog/debs (override: PREDLOG_DEB_CACHE), so only the
# first build needs the network.  When the archive cannot be reached the
# newest cached package is used.  PREDLOG_KERNEL_PKG overrides the kernel
# package (default: what linux-image-cloud-amd64 depends on).
#
# Needs: apt-get, dpkg-deb, gcc with static glibc (libc6-dev), cpio, gzip.
# Run as root so that /dev/console can be created in the image (without it
# the kernel has no console for /init until /init mounts devtmpfs).
#
# The script is idempotent: it records what went into the image and does
# nothing (except refresh the outputs' timestamps for make) when nothing
# changed.

# Package file names are plain ASCII; ls is fine for picking them.
# shellcheck disable=SC2012

set -euo pipefail

prog=build-image.sh
die() {
    echo "$prog: error: $*" >&2
    exit 1
}
log() {
    echo "$prog: $*" >&2
}

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '4,/^$/s/^# \{0,1\}//p' "$0" >&2
    [ $# -eq 1 ] && exit 0
    exit 2
fi

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
CACHE=${PREDLOG_DEB_CACHE:-$HOME/.cache/predlog/debs}
mkdir -p "$CACHE"

INIT=$SRCDIR/tests/guest/init
PROGRAMS=(contrib/guest/predlog-info.c)

for tool in apt-get apt-cache dpkg-deb gcc cpio gzip sha256sum; do
    command -v "$tool" >/dev/null ||
        die "'$tool' not found; run ./configure (it installs the guest" \
            "build tools)"
done

# apt lists may be missing or stale on a fresh machine (apt-get download
# then fails with 404); refresh them at most once per run, as root only.
apt_updated=no
apt_update_once() {
    if [ "$apt_updated" = no ] && [ "$(id -u)" = 0 ]; then
        apt_updated=yes
        log "refreshing apt package lists"
        apt-get update -qq >&2 || log "warning: apt-get update failed"
        return 0
    fi
    return 1
}

# candidate_version PKG: the version apt would install, empty if unknown
candidate_version() {
    apt-cache show --no-all-versions "$1" 2>/dev/null |
        sed -n 's/^Version: //p' | head -n1
}

# newest_cached PKG-GLOB: newest cached .deb whose package name matches
newest_cached() {
    # shellcheck disable=SC2086 # the glob is meant to expand
    ls -1 "$CACHE"/$1_*.deb 2>/dev/null | sort -V | tail -n1
}

# fetch_deb PKG: print the path of PKG's .deb in the cache, downloading the
# candidate version if it is not cached yet.
fetch_deb() {
    local pkg=$1 ver file _

    for _ in 1 2; do
        ver=$(candidate_version "$pkg")
        if [ -n "$ver" ]; then
            # apt-get download escapes ':' of an epoch as %3a
            file=$(ls -1 "$CACHE/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null |
                   head -n1 || true)
            if [ -n "$file" ] && [ -s "$file" ]; then
                echo "$file"
                return 0
            fi
            log "downloading $pkg $ver"
            # The sandbox user _apt cannot write to root's home; as root we
            # download as root on purpose.
            if (cd "$CACHE" &&
                apt-get download -q -o APT::Sandbox::User=root \
                    "$pkg=$ver") >&2; then
                file=$(ls -1 "$CACHE/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null |
                       head -n1 || true)
                if [ -n "$file" ] && [ -s "$file" ]; then
                    echo "$file"
                    return 0
                fi
            fi
        fi
        apt_update_once || break
    done

    file=$(newest_cached "$pkg")
    if [ -n "$file" ]; then
        log "warning: cannot download $pkg; using cached $(basename "$file")"
        echo "$file"
        return 0
    fi
    die "apt-get download $pkg failed and $CACHE has no copy of it.
  The first build needs the Debian archive: check the network and
  /etc/apt/sources.list, then run 'apt-get update' and retry."
}

# The real kernel package behind the metapackage, e.g.
# linux-image-6.1.0-56-cloud-amd64.  Offline with no apt lists, fall back to
# the newest cached kernel.
resolve_kernel_pkg() {
    local pkg _

    if [ -n "${PREDLOG_KERNEL_PKG:-}" ]; then
        echo "$PREDLOG_KERNEL_PKG"
        return 0
    fi
    for _ in 1 2; do
        pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
              sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' |
              head -n1)
        if [ -n "$pkg" ]; then
            echo "$pkg"
            return 0
        fi
        apt_update_once || break
    done
    pkg=$(newest_cached 'linux-image-*-cloud-amd64')
    if [ -n "$pkg" ]; then
        basename "$pkg" | sed 's/_.*//'
        return 0
    fi
    die "cannot resolve linux-image-cloud-amd64 (no apt lists, no cache);
  run 'apt-get update' with network access and retry."
}

kernel_pkg=$(resolve_kernel_pkg)
kernel_deb=$(fetch_deb "$kernel_pkg")
busybox_deb=$(fetch_deb busybox-static)

# Everything that goes into the outputs, by identity or content.
manifest=$(
    echo "kernel $(basename "$kernel_deb")"
    echo "busybox $(basename "$busybox_deb")"
    (cd "$SRCDIR" && sha256sum tests/guest/init tests/guest/build-image.sh \
        hw/predlog/predlog-regs.h "${PROGRAMS[@]}")
    gcc --version | head -n1
)
stamp=$OUTDIR/.inputs
if [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initramfs.cpio.gz" ] &&
   [ -s "$OUTDIR/kernel-version" ] && [ -f "$stamp" ] &&
   [ "$(cat "$stamp")" = "$manifest" ]; then
    # Up to date.  Touch the outputs so that make, which compares
    # timestamps, does not call us again for a touched-but-same input.
    touch "$OUTDIR/vmlinuz" "$OUTDIR/initramfs.cpio.gz"
    log "$OUTDIR is up to date"
    exit 0
fi
rm -f "$stamp"

# --- kernel -----------------------------------------------------------------
kroot=$OUTDIR/kernel-root
extracted=$(cat "$kroot/.deb" 2>/dev/null || true)
if [ "$extracted" != "$(basename "$kernel_deb")" ]; then
    log "extracting $(basename "$kernel_deb")"
    rm -rf "$kroot"
    mkdir -p "$kroot"
    dpkg-deb -x "$kernel_deb" "$kroot"
    basename "$kernel_deb" >"$kroot/.deb"
fi
vmlinuz=$(ls -1 "$kroot"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
[ -n "$vmlinuz" ] ||
    die "$(basename "$kernel_deb") contains no /boot/vmlinuz-*"
kver=${vmlinuz##*/vmlinuz-}
[ -d "$kroot/lib/modules/$kver" ] ||
    die "$(basename "$kernel_deb") has no lib/modules/$kver"
cp "$vmlinuz" "$OUTDIR/vmlinuz.tmp"
mv "$OUTDIR/vmlinuz.tmp" "$OUTDIR/vmlinuz"
echo "$kver" >"$OUTDIR/kernel-version"
ln -sfn "kernel-root/lib/modules/$kver" "$OUTDIR/modules"

# --- initramfs tree ---------------------------------------------------------
work=$(mktemp -d "$OUTDIR/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$work/busybox" \
    "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc}

dpkg-deb -x "$busybox_deb" "$work/busybox"
bb=$work/busybox/bin/busybox
[ -x "$bb" ] || die "$(basename "$busybox_deb") contains no bin/busybox"
cp "$bb" "$root/bin/busybox"
# One symlink per applet at the path busybox expects (bin/sh, sbin/poweroff..)
"$bb" --list-full | while read -r applet; do
    [ -e "$root/$applet" ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -s /bin/busybox "$root/$applet"
done

for src in "${PROGRAMS[@]}"; do
    name=$(basename "$src" .c)
    log "compiling $name"
    gcc -std=c11 -static -O2 -Wall -Werror -o "$root/usr/bin/$name" \
        "$SRCDIR/$src"
    strip "$root/usr/bin/$name" 2>/dev/null || true
done

install -m 0755 "$INIT" "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

if [ "$(id -u)" = 0 ]; then
    mknod -m 600 "$root/dev/console" c 5 1
    mknod -m 666 "$root/dev/null" c 1 3
else
    log "warning: not root; image has no /dev/console (init copes with it)"
fi

# --- pack -------------------------------------------------------------------
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
    gzip -9n >"$work/initramfs.cpio.gz"
mv "$work/initramfs.cpio.gz" "$OUTDIR/initramfs.cpio.gz"

echo "$manifest" >"$stamp"
size=$(du -k "$OUTDIR/initramfs.cpio.gz" | cut -f1)
log "built $OUTDIR (kernel $kver, initramfs $size KiB)"
