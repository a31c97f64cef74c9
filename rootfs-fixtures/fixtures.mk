# Test fixtures built from local material only (placeholder; see rootfs-fixtures/README.md).
FIXTURES := $(BUILD)/fixtures
fixtures: $(FIXTURES)/.stamp
$(FIXTURES)/.stamp: rootfs-fixtures/fixtures.mk
	@mkdir -p $(FIXTURES)
	touch $@
