# store/libxenstore: kxen's libxenstore (Xen's xs_* client API), shared and static.
INCLUDES     += store/libxenstore/include
INSTALL_HDRS += store/libxenstore/include:xenstore.h store/libxenstore/include:xenstore_lib.h \
                store/libxenstore/include:xenstore-compat/xs.h \
                store/libxenstore/include:xenstore-compat/xs_lib.h \
                ring/include:kxen/io/xs_wire.h

STATIC_LIBS += libxenstore
SHARED_LIBS += libxenstore
# Clients link -lxenstore against the installed tree: the libxenstore.so symlink is installed.
INSTALL_DEVLINKS += libxenstore
PKGCONFIG += store/libxenstore/xenstore.pc.in
libxenstore_SOVERSION := 4
libxenstore_SRCS      += $(addprefix store/libxenstore/,xs_lib.c xs_conn.c xs_api.c)
libxenstore_LDFLAGS   += -Wl,--version-script=store/libxenstore/libxenstore.map -Wl,-z,defs
libxenstore_DEPS      += store/libxenstore/libxenstore.map

UNIT_TESTS += test_xs_lib
test_xs_lib_SRCS += $(wildcard store/libxenstore/tests/*.c)
test_xs_lib_LIBS += libxenstore

# The same Xen-API client built against our header + library and against Xen's header +
# Debian's libxenstore.so.4 (flavour xen: no project include paths, no -L).
TEST_PROGRAMS += xs_compat_client_kxen xs_compat_client_xen
xs_compat_client_kxen_SRCS   += store/libxenstore/compat/xs_compat_client.c
xs_compat_client_kxen_SOLIBS += libxenstore
xs_compat_client_xen_FLAVOUR := xen
xs_compat_client_xen_SRCS    += store/libxenstore/compat/xs_compat_client.c
xs_compat_client_xen_LDLIBS  += -lxenstore
