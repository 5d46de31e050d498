/* Path, permission-string and value-escaping helpers of libxenstore (no connection state). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kxen/util.h"
#include "xenstore_lib.h"

/* Xen's compiled-in default run directory. */
#define XS_DEFAULT_RUNDIR "/var/run/xenstored"

/* The one rule every kxen program and library follows (docs/paths.md): $XENSTORED_RUNDIR
 * when set and not empty, else $KXEN_RUNDIR (the kxen host's run directory, where its
 * xenstored listens) when set and not empty, else Xen's default. */
const char *xs_daemon_rundir(void)
{
    const char *s = getenv("XENSTORED_RUNDIR");
    if (s && *s)
        return s;
    s = getenv("KXEN_RUNDIR");
    return s && *s ? s : XS_DEFAULT_RUNDIR;
}

/* Like Xen's: XENSTORED_PATH (when not empty) wins, else "<rundir>/socket" in a static buffer
 * (not reentrant, exactly as the original API). NULL when the path would not fit. */
const char *xs_daemon_socket(void)
{
    static char buf[PATH_MAX];
    const char *s = getenv("XENSTORED_PATH");
    if (s && *s)
        return s;
    if (snprintf(buf, sizeof(buf), "%s/socket", xs_daemon_rundir()) >= (int)sizeof(buf))
        return NULL;
    return buf;
}

/* The read-only socket no longer exists in Xen 4.17: same path as the normal one. */
const char *xs_daemon_socket_ro(void)
{
    return xs_daemon_socket();
}

bool xs_write_all(int fd, const void *data, unsigned int len)
{
    const char *p = data;
    while (len) {
        ssize_t done = write(fd, p, len);
        if (done < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return false;
        }
        if (done == 0) {
            errno = EIO;
            return false;
        }
        p += done;
        len -= (unsigned int)done;
    }
    return true;
}

/* The letter of each access mode, indexed by XS_PERM_READ|XS_PERM_WRITE. */
static const char xs_perm_letters[4] = {'n', 'r', 'w', 'b'};

/* Parses one "<letter><domid>" string. The domid is decimal; a negative one is accepted because
 * Xen renders ids with %i, so (unsigned)-1 travels as "-1". Anything else is rejected. */
static bool xs_perm_from_string(const char *s, struct xs_permissions *perm)
{
    unsigned int mode;
    for (mode = 0; mode < 4; mode++)
        if (s[0] == xs_perm_letters[mode])
            break;
    if (mode == 4)
        return false;
    const char *digits = s[1] == '-' ? s + 2 : s + 1;
    if (*digits < '0' || *digits > '9')
        return false;
    char *end;
    errno = 0;
    long long id = strtoll(s + 1, &end, 10);
    if (errno || *end != '\0' || id < INT_MIN || id > (long long)UINT_MAX)
        return false;
    perm->perms = mode;
    perm->id = (unsigned int)id;
    return true;
}

bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num, const char *strings)
{
    const char *p = strings;
    for (unsigned int i = 0; i < num; i++) {
        if (!xs_perm_from_string(p, &perms[i])) {
            errno = EINVAL;
            return false;
        }
        p += strlen(p) + 1;
    }
    return true;
}

bool xs_perm_to_string(const struct xs_permissions *perm, char *buffer, size_t buf_len)
{
    if (perm->perms & ~(unsigned int)(XS_PERM_READ | XS_PERM_WRITE)) {
        errno = EINVAL;
        return false;
    }
    /* Signed rendering, as Xen's daemon and tools expect ("r-1" for id 0xffffffff). */
    int n = snprintf(buffer, buf_len, "%c%i", xs_perm_letters[perm->perms], (int)perm->id);
    if (n < 0 || (size_t)n >= buf_len) {
        errno = EINVAL;
        return false;
    }
    return true;
}

unsigned int xs_count_strings(const char *strings, unsigned int len)
{
    unsigned int num = 0;
    for (unsigned int i = 0; i < len; i++)
        if (strings[i] == '\0')
            num++;
    return num;
}

char *expanding_buffer_ensure(struct expanding_buffer *ebuf, int min_size)
{
    if (min_size <= ebuf->size)
        return ebuf->buf;
    int want = ebuf->size > 0 ? ebuf->size : 16;
    while (want < min_size)
        want = want > INT_MAX / 2 ? min_size : want * 2;
    char *p = realloc(ebuf->buf, (size_t)want);
    if (!p) {
        free(ebuf->buf);
        ebuf->buf = NULL;
        ebuf->size = 0;
        return NULL;
    }
    ebuf->buf = p;
    ebuf->size = want;
    return p;
}

/* Escapes as Xen 4.17's tools print values: \t \n \r \\, bytes below 8 as three octal digits,
 * every other unprintable byte as \xHH. */
char *sanitise_value(struct expanding_buffer *ebuf, const char *val, unsigned len)
{
    /* Worst case every byte becomes a 4-character escape. */
    if (len > (unsigned)(INT_MAX - 1) / 4 || !expanding_buffer_ensure(ebuf, (int)len * 4 + 1))
        return NULL;
    char *out = ebuf->buf;
    for (unsigned i = 0; i < len; i++) {
        unsigned char c = (unsigned char)val[i];
        if (c >= ' ' && c <= '~' && c != '\\') {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '\t':
            *out++ = 't';
            break;
        case '\n':
            *out++ = 'n';
            break;
        case '\r':
            *out++ = 'r';
            break;
        case '\\':
            *out++ = '\\';
            break;
        default:
            out += sprintf(out, c < 8 ? "%03o" : "x%02x", c);
            break;
        }
    }
    *out = '\0';
    return ebuf->buf;
}

/* Inverse of sanitise_value, also accepting what users type: \ooo (1-3 octal digits), \xHH
 * (1-2 hex digits), \t \n \r, and \c for any other c. A trailing lone backslash yields a NUL
 * byte, as Xen's tools do. */
void unsanitise_value(char *out, unsigned *out_len_r, const char *in)
{
    char *start = out;
    while (*in) {
        if (*in != '\\') {
            *out++ = *in++;
            continue;
        }
        in++;
        if (*in == '\0') {
            *out++ = '\0';
            break;
        }
        char c = *in++;
        switch (c) {
        case 't':
            *out++ = '\t';
            break;
        case 'n':
            *out++ = '\n';
            break;
        case 'r':
            *out++ = '\r';
            break;
        case 'x': {
            int v = 0, d, k;
            for (k = 0; k < 2 && (d = kxen_hex_digit(*in)) >= 0; k++, in++)
                v = v * 16 + d;
            *out++ = k ? (char)v : 'x';
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = (unsigned)(c - '0');
                for (int k = 1; k < 3 && *in >= '0' && *in <= '7'; k++)
                    v = v * 8 + (unsigned)(*in++ - '0');
                *out++ = (char)v;
            } else {
                *out++ = c;
            }
            break;
        }
    }
    *out_len_r = (unsigned)(out - start);
}

/* Pure string test as Xen defines it: "/" is a subpath only of itself, not a parent of "/a". */
bool xs_path_is_subpath(const char *parent, const char *child)
{
    size_t n = strlen(parent);
    if (strncmp(child, parent, n) != 0)
        return false;
    return child[n] == '\0' || child[n] == '/';
}
