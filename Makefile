# ecsa: one binary, ecsa-run (and its runc-compatible face, ecsa-runc).
#   make                 build $(BUILD)/ecsa-run
#   make deps            install the Debian packages needed to build and test (apt-get)
#   make test            unit + integration tests (root), one summary line
#   make asan            the tests under AddressSanitizer and UBSan
#   make CROSS_COMPILE=aarch64-linux-gnu-   arm64 build (multiarch :arm64 libraries)
#   make test-arm64      unit tests of the arm64 build under qemu-user-static
#   make bench           benchmarks against crun/runc/podman/skopeo+umoci, results in bench/RESULTS.md
#   make conformance     the OCI runtime conformance suite against ecsa-runc
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make ci              what .ci/run does: deps, test, arm64 build and unit tests
#   make demo            the main job end to end on this machine

CROSS_COMPILE ?=
MULTIARCH := $(patsubst %-,%,$(CROSS_COMPILE))
ifeq ($(CROSS_COMPILE),)
BUILD ?= build
else
BUILD ?= build-$(firstword $(subst -, ,$(CROSS_COMPILE)))
# $(shell) does not see exported variables in make 4.3: set the target's .pc path inline.
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/$(MULTIARCH)/pkgconfig:/usr/share/pkgconfig pkg-config
endif

CXX := $(CROSS_COMPILE)g++
CC := $(CROSS_COMPILE)gcc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

PKGS := libseccomp libcap libarchive libcurl libmnl libnftables
OPT ?= -O2 -g
SANITIZE ?=
# One section per function and object: the link below drops the unused ones and places the
# start path's functions together (bench/hot-text.order).
CXXFLAGS := $(OPT) $(SANITIZE) -std=c++20 -Wall -Wextra -Werror -I. -MMD -MP \
  -ffunction-sections -fdata-sections \
  -DECSA_VERSION='"$(VERSION)"' -DECSA_COMMIT='"$(GIT_COMMIT)"' \
  $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDFLAGS := $(SANITIZE)

# Each folder is a library; the CLI links them all.
# AREAS="common net" builds only those libraries, the CLI files cli/<area>_*.cpp and the
# tests tests/*/<area>_*.cpp of those areas (for working on one area while another is
# half-written). SKIP_SRCS leaves files out.
ALL_AREAS := common cgroups runtime oci net ecs
AREAS ?= $(ALL_AREAS)
SKIP_SRCS ?=
# libcurl, libarchive (shims oci/lazy_lib*.cpp) and libmnl, libnftables (net/lazy_lib*.cpp)
# are opened on first use: linking them would make every `run` map ~20 libraries. They are
# linked directly only when the area holding their shims is not built.
LAZY_LIBS := $(if $(filter oci,$(AREAS)),,libarchive libcurl) $(if $(filter net,$(AREAS)),,libmnl libnftables)
LDLIBS := $(shell $(PKG_CONFIG) --libs libseccomp libcap $(LAZY_LIBS) 2>/dev/null) -lpthread
LIB_DIRS := $(AREAS)
LIBS := $(foreach d,$(LIB_DIRS),$(BUILD)/lib$(d).a)
objs = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(1))
area_files = $(filter-out $(SKIP_SRCS),$(foreach a,$(AREAS),$(wildcard $(1)/$(a)_*.cpp)))

CLI_SRCS := cli/main.cpp cli/args.cpp $(call area_files,cli)
TEST_SRCS := $(call area_files,tests/unit) $(call area_files,tests/integration) \
  $(wildcard tests/support/*.cpp)

.PHONY: all deps test asan bench bench-runtime bench-net bench-pull bench-task conformance \
  conformance-compare install clean ci test-arm64 cross-arm64 fixtures format demo
all: $(BUILD)/ecsa-run $(BUILD)/ecsa-runc

define lib_rule
$(BUILD)/lib$(1).a: $(call objs,$(filter-out $(SKIP_SRCS),$(wildcard $(1)/*.cpp)))
	@mkdir -p $$(@D)
	rm -f $$@
	$(CROSS_COMPILE)ar rcs $$@ $$^
endef
$(foreach d,$(LIB_DIRS),$(eval $(call lib_rule,$(d))))

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

LINK_LIBS := -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

# The C++ runtime linked in: every container start would otherwise relocate libstdc++.so
# (about 1.5 MiB of RSS and a millisecond). gold places the functions a container start runs
# (bench/hot-text.order, made by bench/hot-text.sh) next to each other: the kernel maps a
# binary's text in 64 KiB fault-around blocks, so scattered hot functions cost ~1.3 MiB of RSS.
# --as-needed: no libm (~300 KiB of RSS, its IFUNCs resolved at load) unless a libm function
# is called.
HOT_ORDER := bench/hot-text.order
$(BUILD)/ecsa-run: $(call objs,$(CLI_SRCS)) $(LIBS) $(HOT_ORDER)
	$(CXX) $(LDFLAGS) -static-libstdc++ -static-libgcc -fuse-ld=gold -Wl,--gc-sections \
	  -Wl,--section-ordering-file=$(HOT_ORDER) -Wl,--as-needed -o $@ $(call objs,$(CLI_SRCS)) $(LINK_LIBS)

$(BUILD)/ecsa-runc: $(BUILD)/ecsa-run
	ln -sf ecsa-run $@

# Catch2's main is compiled once: it is the slow part of the test build.
$(BUILD)/ecsa-tests: $(call objs,$(TEST_SRCS) tests/catch_main.cpp) $(LIBS)
	$(CXX) $(LDFLAGS) -o $@ $(call objs,$(TEST_SRCS) tests/catch_main.cpp) $(LINK_LIBS)

-include rootfs-fixtures/fixtures.mk

test: all $(BUILD)/ecsa-tests fixtures
	tests/run-tests.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -Wno-maybe-uninitialized" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

cross-arm64:
	$(MAKE) CROSS_COMPILE=aarch64-linux-gnu- all build-aarch64/ecsa-tests

# qemu-user hangs a dlopen or thread start from a second thread: tests that need real
# threads skip themselves when ECSA_TEST_ARCH is set.
test-arm64: cross-arm64
	QEMU_LD_PREFIX=/usr/aarch64-linux-gnu ECSA_TEST_ARCH=arm64 \
	  tests/run-tests.sh build-aarch64 --qemu qemu-aarch64-static "[unit]"

# Each part writes bench/RESULTS-<part>.md; bench/RESULTS.md gathers them.
bench: bench-runtime bench-net bench-pull bench-task

bench-runtime: all fixtures
	BENCH_RESULTS=bench/RESULTS-runtime.md bench/run.sh $(BUILD)
	bench/merge-results.sh

bench-net: all fixtures
	BENCH_RESULTS=bench/RESULTS-net.md bench/net.sh $(BUILD)
	bench/merge-results.sh

bench-pull: all fixtures
	BENCH_RESULTS=bench/RESULTS-pull.md bench/pull.sh $(BUILD)
	bench/merge-results.sh

bench-task: all fixtures
	BENCH_RESULTS=bench/RESULTS-task.md bench/task.sh $(BUILD)
	bench/merge-results.sh

# The OCI runtime conformance suite (opencontainers/runtime-tools validation) against
# ecsa-runc; see tests/conformance/run.sh for where the suite's sources come from.
conformance: all
	BUILD=$(BUILD) tests/conformance/run.sh --runtime $(BUILD)/ecsa-runc

conformance-compare: all
	BUILD=$(BUILD) tests/conformance/run.sh --runtime $(BUILD)/ecsa-runc --compare runc

deps:
	packaging/install-deps.sh

NPROC := $(shell nproc 2>/dev/null || echo 2)
ci: deps
	$(MAKE) -j$(NPROC) test
	$(MAKE) -j$(NPROC) test-arm64

demo: all fixtures
	tests/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 -s --strip-program=$(CROSS_COMPILE)strip $(BUILD)/ecsa-run $(DESTDIR)$(PREFIX)/bin/ecsa-run
	ln -sf ecsa-run $(DESTDIR)$(PREFIX)/bin/ecsa-runc

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.c')

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
