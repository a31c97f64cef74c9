# Test fixtures built from local material only (see rootfs-fixtures/README.md).
# Included by the top Makefile; `make fixtures` builds $(FIXTURES). Every output depends on
# its inputs (and on this file), so a second `make fixtures` does nothing.
FIXTURES := $(BUILD)/fixtures
# The fixtures run on the build host, next to the host's busybox: always the host compiler,
# even in a cross build.
FIXTURE_CC ?= gcc
FIXTURE_CFLAGS := -static -O2 -Wall -Wextra -Werror -pthread
FIXTURE_BUSYBOX ?= /bin/busybox
FIXTURE_HELPER_SRCS := $(wildcard rootfs-fixtures/helpers/*.c)
FIXTURE_HELPERS := $(patsubst rootfs-fixtures/helpers/%.c,$(FIXTURES)/helpers/%,$(FIXTURE_HELPER_SRCS))

fixtures: $(FIXTURES)/busybox/.stamp

$(FIXTURES)/helpers/%: rootfs-fixtures/helpers/%.c rootfs-fixtures/fixtures.mk
	@mkdir -p $(@D)
	$(FIXTURE_CC) $(FIXTURE_CFLAGS) -o $@ $<

# The stamp is written inside the bundle after it is complete: a bundle without it is
# rebuilt.
$(FIXTURES)/busybox/.stamp: $(wildcard $(FIXTURE_BUSYBOX)) rootfs-fixtures/busybox-config.json \
    rootfs-fixtures/make-busybox-rootfs.sh rootfs-fixtures/fixtures.mk $(FIXTURE_HELPERS)
	@test -x $(FIXTURE_BUSYBOX) || { echo "fixtures: $(FIXTURE_BUSYBOX) missing: run 'make deps' (busybox-static)" >&2; exit 1; }
	rootfs-fixtures/make-busybox-rootfs.sh $(FIXTURE_BUSYBOX) \
	  rootfs-fixtures/busybox-config.json $(FIXTURES)/busybox $(FIXTURE_HELPERS)
	touch $@

# OCI image layouts (busybox with gzip and zstd layers, a multi-platform index), pushed to
# test registries by tests/support/registry.cpp.
fixtures: $(FIXTURES)/images/.stamp
$(FIXTURES)/images/.stamp: rootfs-fixtures/images/make-oci-images.py $(FIXTURE_BUSYBOX) rootfs-fixtures/fixtures.mk \
    $(FIXTURES)/helpers/ecs-stress
	rm -rf $(FIXTURES)/images && mkdir -p $(FIXTURES)/images
	rootfs-fixtures/images/make-oci-images.py $(FIXTURES)/images/layouts $(FIXTURE_BUSYBOX) \
	  $(FIXTURES)/helpers/ecs-stress
	touch $@
