# bench/xenstore: the xenstore benchmark client, built like a real Xen toolstack client: Xen's
# header from /usr/include and Debian's libxenstore (no project include paths, no -L).
XSBENCH := $(BUILD)/bench/xsbench $(BUILD)/bench/xsbench-floor $(BUILD)/bench/xsbench-watchlat
BENCHES += $(XSBENCH)
$(BUILD)/bench/xsbench: bench/xenstore/xsbench.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lxenstore
# Watch latency of several daemons, interleaved in blocks (same build as xsbench).
$(BUILD)/bench/xsbench-watchlat: bench/xenstore/watchlat.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lxenstore
# The null daemon giving the table's floor column (Xen's wire header, nothing else).
$(BUILD)/bench/xsbench-floor: bench/xenstore/floor.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

# Hypervisor shim that lets Debian's C xenstored run here (this benchmark and the compatibility
# tests). Built with Xen's headers and never sanitized: it is preloaded into a non-ASan binary.
XSBENCH_SHIM := $(BUILD)/lib/kxen-xsd-shim.so
TEST_PROGS += $(XSBENCH_SHIM)
BENCHES    += $(XSBENCH_SHIM)
$(XSBENCH_SHIM): bench/xenstore/shim.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -shared -fPIC -o $@ $< -ldl
