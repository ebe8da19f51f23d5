# SPDX-License-Identifier: GPL-2.0-or-later
#
# predlog top-level commands:
#   make          build build/qemu-system-x86_64, the core, tools, guest image
#   make check    build everything and run every test suite
#   make qemu-stock  build build/qemu-stock/qemu-system-x86_64: the same
#                 QEMU without our files and patches (make check compares
#                 migration streams with it)
#   make core-asan  the core, tools and unit tests with AddressSanitizer +
#                 UndefinedBehaviorSanitizer in build/core-asan (make check
#                 runs its unit tests too)
#   make run      boot the demo guest with -device predlog (Ctrl-C ends it)
#   make bench    benchmarks (not part of make check): the core's micro-
#                 benchmarks, predictive vs fixed allocation and the
#                 forecasters vs naive on bench/traces, the network tap,
#                 boot time with and without -device predlog
#                 (BENCH_QUICK=1: every one in its smoke mode)
#   make bench-migration  live migration of paced guest workloads with
#                 predlog beside stock pre-copy, XBZRLE, auto-converge and
#                 post-copy, with plots (BENCH_MIGRATION_ARGS=--quick ...)
#   make bench-snapshot  background snapshots of unpaced guest writers,
#                 stock beside predlog-cow, with plots
#                 (BENCH_SNAPSHOT_ARGS=--quick ...)
#   make fuzz     libFuzzer + ASan + UBSan on the core's decoders (clang, in
#                 build/fuzz) and on the device's guest interface (QEMU's
#                 generic-fuzz, and our predlog-ring-fuzz, a hostile ring
#                 driver, in build/qemu-fuzz): FUZZ_SECONDS (default 60)
#                 per target, FUZZ_TARGETS="record device device-ring ..."
#                 to select, FUZZ_JOBS=2 to run a device target twice side
#                 by side; fails on a finding (docs/devel/predlog-fuzzing.rst)
#   make qemu-fuzz  build/qemu-fuzz/qemu-fuzz-x86_64: our QEMU tree built
#                 with clang --enable-fuzzing --enable-asan --enable-ubsan
#                 (make fuzz builds it for its device targets)
#   make check-fresh  as root: make check, make run and a quick make bench
#                 in a new Debian 12 root made by debootstrap, timed
#                 (CHECK_FRESH_ARGS=--help for its options)

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(REPO)/build
QEMU_OBJ := $(BUILD)/qemu
STOCK_OBJ := $(BUILD)/qemu-stock/qemu
CORE_OBJ := $(BUILD)/core
CORE_ASAN_OBJ := $(BUILD)/core-asan
GUEST := $(BUILD)/guest
JOBS ?= $(shell nproc)

# Let ccache share objects between clones of the repository (CI clones into
# a new directory every time).
export CCACHE_BASEDIR := $(REPO)
export CCACHE_NOHASHDIR := 1


.PHONY: all qemu qemu-stock core core-asan guest check run bench bench-net \
        bench-migration bench-snapshot check-fresh fuzz qemu-fuzz clean distclean help

all: qemu core guest

help:
	@sed -n '3,/^$$/s/^# //p' $(REPO)/Makefile

# configure is re-run when it or the patches change; the overlay is
# refreshed on every build so that new files of ours appear in the tree.
# The stamps are our own files, not build.ninja: touching build.ninja
# would hide from ninja a meson.build that a patch just changed.
$(QEMU_OBJ)/.predlog-make-stamp: $(REPO)/configure \
                                 $(wildcard $(REPO)/patches/*) \
                                 $(REPO)/scripts/apply-patches.sh
	cd $(REPO) && ./configure
	touch $@

qemu: $(QEMU_OBJ)/.predlog-make-stamp
	$(REPO)/scripts/overlay.sh $(REPO) $(BUILD)/qemu-src
	$(REPO)/scripts/apply-patches.sh $(REPO)/patches $(BUILD)/qemu-src
	ninja -C $(QEMU_OBJ) -j$(JOBS) qemu-system-x86_64
	$(REPO)/scripts/link-firmware.sh $(QEMU_OBJ)

# Stock QEMU from the same source package and options, without our overlay
# and patches.  Ordered after our tree's configure so that two configure
# runs never install packages or download the source at the same time.
$(STOCK_OBJ)/.predlog-make-stamp: $(REPO)/configure | \
                                  $(QEMU_OBJ)/.predlog-make-stamp
	cd $(REPO) && ./configure --stock
	touch $@

qemu-stock: $(STOCK_OBJ)/.predlog-make-stamp
	ninja -C $(STOCK_OBJ) -j$(JOBS) qemu-system-x86_64
	$(REPO)/scripts/link-firmware.sh $(STOCK_OBJ)

core:
	@test -f $(CORE_OBJ)/build.ninja || meson setup $(CORE_OBJ) $(REPO) >/dev/null
	ninja -C $(CORE_OBJ) -j$(JOBS)

# the same core with AddressSanitizer + UndefinedBehaviorSanitizer, whose
# unit tests make check runs too
core-asan:
	@test -f $(CORE_ASAN_OBJ)/build.ninja || meson setup \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    $(CORE_ASAN_OBJ) $(REPO) >/dev/null
	ninja -C $(CORE_ASAN_OBJ) -j$(JOBS)

guest:
	$(REPO)/tests/guest/build-image.sh $(GUEST)

check: all qemu-stock core-asan
	ninja -C $(QEMU_OBJ) -j$(JOBS) \
	    $$($(REPO)/tests/run-check --build $(BUILD) --print-qtest-targets)
	$(REPO)/tests/run-check --build $(BUILD)

run: all
	$(REPO)/tools/predlog-run

# configure --fuzz is idempotent and cheap when build/qemu-fuzz is ready
qemu-fuzz: $(QEMU_OBJ)/.predlog-make-stamp
	cd $(REPO) && ./configure --fuzz
	$(REPO)/scripts/overlay.sh $(REPO) $(BUILD)/qemu-src
	$(REPO)/scripts/apply-patches.sh $(REPO)/patches $(BUILD)/qemu-src
	ninja -C $(BUILD)/qemu-fuzz -j$(JOBS) qemu-fuzz-x86_64

fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) BUILD=$(BUILD) \
	    $(REPO)/tests/fuzz/run-fuzz

# BENCH_QUICK=1 runs every benchmark in its smoke mode: seconds instead of
# minutes, figures too noisy to quote, but a benchmark that rots fails.
BENCH_QUICK_FLAG := $(if $(filter-out 0 no,$(BENCH_QUICK)),--quick)

bench: core
	$(CORE_OBJ)/bench/micro/bench-record $(BENCH_QUICK_FLAG)
	$(CORE_OBJ)/bench/micro/bench-ingest $(BENCH_QUICK_FLAG)
	$(CORE_OBJ)/bench/alloc/bench-alloc $(BENCH_QUICK_FLAG) --speed 50 \
	    $(REPO)/bench/traces/*.tsv.zst
	$(CORE_OBJ)/bench/forecast/bench-forecast $(REPO)/bench/traces/*.tsv.zst
	$(MAKE) -C $(REPO) bench-net BENCH_NET_ARGS=--quick
	$(MAKE) -C $(REPO) bench-snapshot \
	    BENCH_SNAPSHOT_ARGS="--quick --out $(BUILD)/bench-snapshot-quick"
	python3 $(REPO)/bench/boot/bench-boot.py $(BENCH_QUICK_FLAG)

# guest network throughput: no filter vs filter-dump vs filter-predlog
bench-net: qemu guest
	$(REPO)/bench/net/bench-net-tap.py $(BENCH_NET_ARGS)

# live migration: predlog beside stock QEMU's schemes, in one run
bench-migration: qemu guest
	python3 $(REPO)/bench/migration/bench-migration.py $(BENCH_MIGRATION_ARGS)

# background snapshots: stock beside predlog-cow, in one run
bench-snapshot: qemu guest
	python3 $(REPO)/bench/snapshot/bench-snapshot.py $(BENCH_SNAPSHOT_ARGS)

# the README's commands on a new Debian 12 root (tests/fresh-machine/)
check-fresh:
	$(REPO)/tests/fresh-machine/check-fresh $(CHECK_FRESH_ARGS)

clean:
	rm -rf $(CORE_OBJ) $(CORE_ASAN_OBJ) $(GUEST)
	-test -f $(BUILD)/qemu-fuzz/build.ninja && ninja -C $(BUILD)/qemu-fuzz clean
	-test -f $(QEMU_OBJ)/build.ninja && ninja -C $(QEMU_OBJ) clean
	-test -f $(STOCK_OBJ)/build.ninja && ninja -C $(STOCK_OBJ) clean

distclean:
	rm -rf $(BUILD)
