#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build the predlog test guest: a Debian cloud kernel plus a busybox
# initramfs carrying our static guest programs, our kernel module and the
# kernel's virtio-net and virtio-blk drivers.
#
# Usage: tests/guest/build-image.sh OUTDIR
#
# Produces:
#   OUTDIR/vmlinuz              the kernel (linux-image-*-cloud-amd64)
#   OUTDIR/initramfs.cpio.gz    busybox, /init (tests/guest/init),
#                               /usr/bin/predlog-info, /usr/bin/predlog-log,
#                               /usr/bin/predlog-memstress (paced memory
#                               writer), /usr/bin/predlog-realwork (gzip
#                               loop; tests/guest/predlog-realwork),
#                               /lib/modules/<version>/extra/predlog.ko,
#                               virtio-net, virtio-blk and their
#                               dependencies under /lib/modules/<version>/
#                               kernel/ with their load order in
#                               /lib/modules/<version>/predlog-net.order
#   OUTDIR/kernel-version       e.g. 6.1.0-56-cloud-amd64
#   OUTDIR/kernel-root/         the extracted kernel package: boot/ and
#                               lib/modules/<version>/ (for later initramfs
#                               modules and out-of-tree module builds)
#   OUTDIR/modules              symlink to kernel-root/lib/modules/<version>
#   OUTDIR/kmod/                kbuild directory of predlog.ko (a copy of
#                               contrib/guest/predlog-kmod; build.log)
#
# Boot it (TCG; qboot because SeaBIOS costs ~35 s under TCG):
#   qemu-system-x86_64 -M q35 -accel tcg -m 512 -bios qboot.rom \
#       -kernel OUTDIR/vmlinuz -initrd OUTDIR/initramfs.cpio.gz \
#       -append 'console=ttyS0 panic=-1 quiet predlog.mode=probe' \
#       -nographic -no-reboot -device predlog
# or, with a migration workload on the console (see tests/guest/init):
#       -append '... predlog.mode=workload predlog.workload=predlog-memstress,
#                --mode,hotcold,--mb,64,--rate,20000' (one word, no spaces)
#
# Packages come from the Debian archive with "apt-get download" and are
# cached in $PREDLOG_CACHE/debs (default ~/.cache/predlog/debs, the cache
# ./configure uses; PREDLOG_DEB_CACHE overrides it), so only the first
# build needs the network.  When the archive cannot be reached the
# newest cached package is used.  PREDLOG_KERNEL_PKG overrides the kernel
# package (default: what linux-image-cloud-amd64 depends on).
#
# predlog.ko is built with kbuild against linux-headers-<version> of the
# guest kernel (/usr/src/linux-headers-<version>); as root the script
# installs that package with apt-get when it is missing.  PREDLOG_KDIR
# overrides the kernel build directory.
#
# Needs: apt-get, dpkg-deb, gcc with static glibc (libc6-dev), make,
# binutils (objcopy), cpio, gzip; xz/zstd only for compressed modules.
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
CACHE=${PREDLOG_DEB_CACHE:-${PREDLOG_CACHE:-$HOME/.cache/predlog}/debs}
mkdir -p "$CACHE"

INIT=$SRCDIR/tests/guest/init
PROGRAMS=(contrib/guest/predlog-info.c contrib/guest/predlog-log.c
          contrib/guest/predlog-memstress.c)
# Scripts installed as /usr/bin/<name>
SCRIPTS=(tests/guest/predlog-realwork)
KMOD_DIR=contrib/guest/predlog-kmod
KMOD_FILES=(predlog.c predlog-ioctl.h Kbuild)
# Kernel modules the guest needs for -device virtio-net-pci: the virtio PCI
# transport (it binds the device; virtio-net does not depend on it by
# symbols, so depmod would not pull it in) and the network driver.  Their
# symbol dependencies are added from the modules' .modinfo.
NET_MODULES=(virtio_pci virtio_net)
# and for -device virtio-blk-pci (bench/traces/capture-guest.py writes and
# reads a disk); without a disk the driver binds nothing.
BLK_MODULES=(virtio_blk)

for tool in apt-get apt-cache dpkg-deb dpkg-query gcc make objcopy cpio \
            gzip sha256sum; do
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

# The kernel release (uname -r) from the package name, which Debian makes
# linux-image-<release>[-unsigned]; checked against the vmlinuz below.
kver=$(dpkg-deb -f "$kernel_deb" Package)
kver=${kver#linux-image-}
kver=${kver%-unsigned}

# find_kdir: print the kbuild directory for $kver, installing the headers
# package as root if needed.
find_kdir() {
    local hdr=linux-headers-$kver _

    if [ -n "${PREDLOG_KDIR:-}" ]; then
        [ -f "$PREDLOG_KDIR/Makefile" ] ||
            die "PREDLOG_KDIR=$PREDLOG_KDIR is not a kernel build directory"
        echo "$PREDLOG_KDIR"
        return 0
    fi
    if [ ! -f "/usr/src/$hdr/Makefile" ]; then
        [ "$(id -u)" = 0 ] ||
            die "predlog.ko needs the guest kernel's headers, package $hdr,
  which is not installed.  Install it as root ('apt-get install $hdr'),
  run this script as root (it installs it), or point PREDLOG_KDIR at a
  build directory of kernel $kver."
        for _ in 1 2; do
            log "installing $hdr (to build predlog.ko)"
            if DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                   --no-install-recommends "$hdr" >&2; then
                break
            fi
            apt_update_once || break
        done
        [ -f "/usr/src/$hdr/Makefile" ] ||
            die "'apt-get install $hdr' failed; predlog.ko cannot be built.
  Check the network and /etc/apt/sources.list (the package is in the
  bookworm and bookworm-security archives), then retry."
    fi
    echo "/usr/src/$hdr"
}
kdir=$(find_kdir)
kdir_id=$(dpkg-query -W -f='${Version}' "linux-headers-$kver" 2>/dev/null ||
          true)
kernel_ver=$(dpkg-deb -f "$kernel_deb" Version)
if [ -z "${PREDLOG_KDIR:-}" ] && [ "$kdir_id" != "$kernel_ver" ]; then
    # Same ABI name, so the module should load, but say so in case not.
    log "warning: linux-headers-$kver is version $kdir_id," \
        "the kernel $kernel_ver"
fi

# Everything that goes into the outputs, by identity or content.
manifest=$(
    echo "kernel $(basename "$kernel_deb")"
    echo "busybox $(basename "$busybox_deb")"
    echo "kbuild $kdir $kdir_id"
    sha256sum "$kdir/.config" "$kdir/Module.symvers" 2>/dev/null || true
    (cd "$SRCDIR" && sha256sum tests/guest/init tests/guest/build-image.sh \
        hw/predlog/predlog-regs.h "${PROGRAMS[@]}" "${SCRIPTS[@]}" \
        "${KMOD_FILES[@]/#/$KMOD_DIR/}")
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
[ "${vmlinuz##*/vmlinuz-}" = "$kver" ] ||
    die "$(basename "$kernel_deb") holds kernel ${vmlinuz##*/vmlinuz-}," \
        "not $kver as its package name says"
kmoddir=$kroot/lib/modules/$kver
[ -d "$kmoddir" ] ||
    die "$(basename "$kernel_deb") has no lib/modules/$kver"
cp "$vmlinuz" "$OUTDIR/vmlinuz.tmp"
mv "$OUTDIR/vmlinuz.tmp" "$OUTDIR/vmlinuz"
echo "$kver" >"$OUTDIR/kernel-version"
ln -sfn "kernel-root/lib/modules/$kver" "$OUTDIR/modules"

# modinfo_field KO FIELD: the values of FIELD in the module's .modinfo
modinfo_field() {
    local tmp=$work/modinfo

    objcopy -O binary --only-section=.modinfo "$1" "$tmp" ||
        die "cannot read .modinfo of $1"
    tr '\0' '\n' <"$tmp" | sed -n "s/^$2=//p"
}

# --- predlog.ko ---------------------------------------------------------------
work=$(mktemp -d "$OUTDIR/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# kbuild writes its objects next to the sources, so build a copy in OUTDIR.
# Copy only what changed: make then rebuilds only when needed.
kbuild=$OUTDIR/kmod
mkdir -p "$kbuild"
for f in "${KMOD_FILES[@]}"; do
    cmp -s "$SRCDIR/$KMOD_DIR/$f" "$kbuild/$f" ||
        cp "$SRCDIR/$KMOD_DIR/$f" "$kbuild/$f"
done
log "building predlog.ko against $kdir"
if ! make -C "$kdir" M="$kbuild" PREDLOG_REGS_DIR="$SRCDIR/hw/predlog" \
        modules >"$kbuild/build.log" 2>&1; then
    cat "$kbuild/build.log" >&2
    die "building predlog.ko failed (log: $kbuild/build.log)"
fi
# kbuild's -Werror (Kbuild) stops on compiler warnings; show anything else
# it had to say about our module, such as modpost warnings.
if grep -E -i 'warning|error' "$kbuild/build.log" >&2; then
    die "building predlog.ko produced warnings (log: $kbuild/build.log)"
fi

# --- virtio-net and virtio-blk modules ---------------------------------------
declare -A mod_rel=()
while read -r rel; do
    name=${rel##*/}
    name=${name%.ko*}
    mod_rel[${name//-/_}]=$rel
done <"$kmoddir/modules.order"

# mod_file REL: the module file of REL (modules.order names it without a
# compression suffix), decompressed into $work/mods; prints its path.
mod_file() {
    local rel=$1 out=$work/mods/${1%.ko}.ko

    mkdir -p "$(dirname "$out")"
    if [ -f "$kmoddir/$rel" ]; then
        cp "$kmoddir/$rel" "$out"
    elif [ -f "$kmoddir/$rel.xz" ]; then
        # busybox insmod cannot read compressed modules
        command -v xz >/dev/null || die "'xz' needed for $rel.xz"
        xz -dc "$kmoddir/$rel.xz" >"$out"
    elif [ -f "$kmoddir/$rel.zst" ]; then
        command -v zstd >/dev/null || die "'zstd' needed for $rel.zst"
        zstd -q -dc "$kmoddir/$rel.zst" >"$out"
    elif [ -f "$kmoddir/$rel.gz" ]; then
        gzip -dc "$kmoddir/$rel.gz" >"$out"
    else
        die "$(basename "$kernel_deb") has no $rel"
    fi
    echo "$out"
}

# add_module NAME: queue NAME after its dependencies (depth first, so the
# order file loads every module after the ones it needs).
declare -A mod_seen=()
mod_order=()
add_module() {
    local name=${1//-/_} rel file deps dep

    [ -z "${mod_seen[$name]:-}" ] || return 0
    mod_seen[$name]=1
    if grep -q -E "/${name//_/[-_]}\.ko\$" "$kmoddir/modules.builtin"; then
        return 0    # built into the kernel, nothing to load
    fi
    rel=${mod_rel[$name]:-}
    [ -n "$rel" ] ||
        die "kernel $kver has no module $name (not in modules.order)"
    # Separate assignments: set -e does not see failures in a for list
    file=$(mod_file "$rel")
    deps=$(modinfo_field "$file" depends)
    for dep in ${deps//,/ }; do
        add_module "$dep"
    done
    mod_order+=("$rel")
}
for m in "${NET_MODULES[@]}" "${BLK_MODULES[@]}"; do
    add_module "$m"
done

# Every module must be for exactly this kernel, ours included.
first=$(mod_file "$(head -n1 "$kmoddir/modules.order")")
kvermagic=$(modinfo_field "$first" vermagic)
ourmagic=$(modinfo_field "$kbuild/predlog.ko" vermagic)
[ "$ourmagic" = "$kvermagic" ] ||
    die "predlog.ko was built for '$ourmagic' but the kernel's modules" \
        "are '$kvermagic'; $kdir does not match kernel $kver"

# --- initramfs tree ---------------------------------------------------------
root=$work/root
mkdir -p "$work/busybox" \
    "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc}

mroot=$root/lib/modules/$kver
mkdir -p "$mroot/extra"
install -m 0644 "$kbuild/predlog.ko" "$mroot/extra/predlog.ko"
for rel in "${mod_order[@]}"; do
    mkdir -p "$mroot/$(dirname "$rel")"
    install -m 0644 "$work/mods/$rel" "$mroot/$rel"
done
printf '%s\n' "${mod_order[@]}" >"$mroot/predlog-net.order"
log "modules: ${mod_order[*]##*/} extra/predlog.ko"

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
for src in "${SCRIPTS[@]}"; do
    install -m 0755 "$SRCDIR/$src" "$root/usr/bin/$(basename "$src")"
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
