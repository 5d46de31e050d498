# store/tools: xenstore and its xenstore-* aliases (one program, mode from its name), and
# xenstore-control. Both use the shared libxenstore.
PROGRAMS += xenstore xenstore-control
xenstore_SRCS    += store/tools/xenstore_client.c
xenstore_SOLIBS  += libxenstore
xenstore_ALIASES += $(addprefix xenstore-,read write rm exists list ls chmod watch)
xenstore-control_SRCS   += store/tools/xenstore_control.c
xenstore-control_SOLIBS += libxenstore
