#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# overlay.sh REPO SRC: make every file of ours that sits in QEMU's layout
# appear in the QEMU tree SRC as a symlink to the repository, so that an
# edit needs no copy step.  Our files must never replace QEMU's: changes to
# QEMU's own files go through patches/series.

set -euo pipefail

REPO=$1
SRC=$2
# Directories of the repository that mirror QEMU's tree.
OVERLAY_DIRS=(hw net migration accel block qapi include util docs tests/qtest)

cd "$REPO"
for dir in "${OVERLAY_DIRS[@]}"; do
    [[ -d $dir ]] || continue
    while IFS= read -r -d '' file; do
        dst=$SRC/$file
        if [[ -e $dst && ! -L $dst ]]; then
            echo "overlay: $file would replace QEMU's own $file;" \
                 "change QEMU files with a patch in patches/ instead" >&2
            exit 1
        fi
        mkdir -p "$(dirname "$dst")"
        ln -sfn "$REPO/$file" "$dst"
    done < <(find "$dir" -type f ! -name '*~' ! -name '.*' -print0)
done

# Drop links to files that were deleted or renamed in the repository.
find "$SRC" -path "$SRC/.predlog" -prune -o -xtype l -lname "$REPO/*" \
     -print0 | xargs -0 -r rm -f
