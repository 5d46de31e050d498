#!/usr/bin/env bash
# The guest runtime's xenbus client and hello guest under the whole toolstack, on every
# accelerator that works here (the script lives beside the runtime: guests/tests/xl_guests.sh).
exec "$KXEN_SRC/guests/tests/xl_guests.sh"
