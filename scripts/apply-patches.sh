#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# apply-patches.sh PATCHDIR SRC: bring the QEMU tree SRC to "pristine +
# PATCHDIR/series".  The patches applied last time are kept in
# SRC/.predlog/applied and reversed first, so editing a patch only touches
# the files it changes and the rebuild stays incremental.

set -euo pipefail

PATCHES=$1
SRC=$2
APPLIED=$SRC/.predlog/applied

series() { grep -v -E '^\s*(#|$)' "$1/series" 2>/dev/null || true; }

if [[ -f $APPLIED/series ]] &&
   diff -q <(series "$APPLIED"; for p in $(series "$APPLIED"); do cat "$APPLIED/$p"; done) \
           <(series "$PATCHES"; for p in $(series "$PATCHES"); do cat "$PATCHES/$p"; done) \
           >/dev/null; then
    exit 0
fi

mkdir -p "$APPLIED"
for p in $(series "$APPLIED" | tac); do
    echo "patches: reverting $p"
    patch -s -R -p1 -d "$SRC" --no-backup-if-mismatch <"$APPLIED/$p"
    rm -f "$APPLIED/$p"
done
rm -f "$APPLIED/series"

for p in $(series "$PATCHES"); do
    echo "patches: applying $p"
    if ! patch -s -p1 -d "$SRC" --forward --no-backup-if-mismatch \
         <"$PATCHES/$p"; then
        echo "patches: $p does not apply to $(cat "$SRC/VERSION");" \
             "refresh it against build/qemu-src" >&2
        exit 1
    fi
    cp "$PATCHES/$p" "$APPLIED/$p"
    series "$PATCHES" | sed -n "1,/^$p\$/p" >"$APPLIED/series"
done
touch "$APPLIED/series"
