/* kxen's libxenstore: helpers shared by the xs library, its tools and the daemon.
 * Names, types and semantics follow Xen's xenstore_lib.h (4.17) so programs written for Xen
 * compile unchanged; the few extra helpers older Xen releases exported are kept too. */
#ifndef XENSTORE_LIB_H
#define XENSTORE_LIB_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <kxen/io/xs_wire.h>

/* One (domain, access) pair of a node's permission list. */
struct xs_permissions {
    unsigned int id;    /* domain id */
    unsigned int perms; /* XS_PERM_* bits */
#define XS_PERM_NONE 0x00
#define XS_PERM_READ 0x01
#define XS_PERM_WRITE 0x02
/* The daemon's own bookkeeping bits; never sent on the wire. */
#define XS_PERM_ENOENT_OK 0x04
#define XS_PERM_OWNER 0x08
#define XS_PERM_IGNORE 0x10
};

/* Room for a decimal rendering of an integer type plus sign and NUL: about 3 digits/10 bits. */
#define MAX_STRLEN(x) ((sizeof(x) * CHAR_BIT + CHAR_BIT - 1) / 10 * 3 + 2)

/* Where the daemon lives. XENSTORED_RUNDIR and XENSTORED_PATH override the defaults. */
const char *xs_daemon_rundir(void);
const char *xs_daemon_socket(void);
const char *xs_daemon_socket_ro(void);

/* write() until all len bytes went out (retrying EINTR/EAGAIN); false with errno on error. */
bool xs_write_all(int fd, const void *data, unsigned int len);

/* Parse num NUL-separated permission strings ("<n|r|w|b><domid>") into perms.
 * False with errno EINVAL on a malformed string. */
bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num, const char *strings);

/* Render one permission as its string form into buffer; false with EINVAL on bad bits or
 * when buf_len is too small. */
bool xs_perm_to_string(const struct xs_permissions *perm, char *buffer, size_t buf_len);

/* Number of NUL-terminated strings in the first len bytes of strings. */
unsigned int xs_count_strings(const char *strings, unsigned int len);

/* A growable heap buffer for the tools' value escaping. */
struct expanding_buffer {
    char *buf;
    int size;
};

/* Make ebuf hold at least min_size bytes; returns the buffer or NULL (ebuf then freed). */
char *expanding_buffer_ensure(struct expanding_buffer *ebuf, int min_size);

/* Escape a binary value for printing: \\, \t, \n, \r, and \ooo octal for other unprintables.
 * Returns a string owned by ebuf, or NULL on allocation failure. */
char *sanitise_value(struct expanding_buffer *ebuf, const char *val, unsigned len);

/* Undo sanitise_value in place-sized output: writes the raw bytes to out (at least strlen(in)
 * bytes long) and their count to *out_len_r. */
void unsanitise_value(char *out, unsigned *out_len_r, const char *in);

#endif
