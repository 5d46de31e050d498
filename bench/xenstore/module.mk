# bench/xenstore: the xenstore benchmark client, built like a real Xen toolstack client: Xen's
# header from /usr/include and Debian's libxenstore (flavour xen-release: no project include
# paths, no -L, never sanitized).
BENCH_PROGRAMS += xsbench xsbench-floor xsbench-watchlat
xsbench_FLAVOUR := xen-release
xsbench_SRCS    += bench/xenstore/xsbench.c
xsbench_LDLIBS  += -lxenstore
# Watch latency of several daemons, interleaved in blocks (same build as xsbench).
xsbench-watchlat_FLAVOUR := xen-release
xsbench-watchlat_SRCS    += bench/xenstore/watchlat.c
xsbench-watchlat_LDLIBS  += -lxenstore
# The null daemon giving the table's floor column (Xen's wire header, nothing else).
xsbench-floor_FLAVOUR := xen-release
xsbench-floor_SRCS    += bench/xenstore/floor.c

# Hypervisor shim that lets Debian's C xenstored run here (this benchmark and the compatibility
# tests), preloaded into a non-ASan binary: build/lib/kxen-xsd-shim.so.
PRELOAD_LIBS += kxen-xsd-shim
kxen-xsd-shim_SRCS   += bench/xenstore/shim.c
kxen-xsd-shim_LDLIBS += -ldl
