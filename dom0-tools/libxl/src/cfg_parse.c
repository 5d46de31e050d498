/* The generic xl.cfg parser: statements `key = value` or `key += value`, ended by a newline
 * or ';'; values are 'single' or "double" quoted strings with C escapes, numbers, or lists
 * [ item, item, ] that may span lines and carry comments; '#' starts a comment. The syntax
 * follows Xen's xl.cfg(5) facts; the code is our own. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kxen/util.h"
#include "kxl/cfg.h"

#define KXL_CFG_MAX_FILE (1u << 20) /* a domain config is a few hundred bytes */

struct lexer {
    const char *p, *end;
    const char *source;
    unsigned line;
    char *err;
    size_t errlen;
};

static int lex_error(struct lexer *lx, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lex_error(struct lexer *lx, unsigned line, const char *fmt, ...)
{
    if (lx->err && lx->errlen) {
        int n = snprintf(lx->err, lx->errlen, "%s:%u: ", lx->source, line);
        if (n >= 0 && (size_t)n < lx->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(lx->err + n, lx->errlen - n, fmt, ap);
            va_end(ap);
        }
    }
    return -EINVAL;
}

void kxl_cfg_init(struct kxl_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
}

static void value_free(struct kxl_cfg_value *v)
{
    free(v->str);
    for (size_t i = 0; i < v->nr_items; i++)
        free(v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

void kxl_cfg_free(struct kxl_cfg *cfg)
{
    for (size_t i = 0; i < cfg->nr; i++) {
        free(cfg->entries[i].key);
        value_free(&cfg->entries[i].val);
    }
    free(cfg->entries);
    for (size_t i = 0; i < cfg->nr_sources; i++)
        free(cfg->sources[i]);
    free(cfg->sources);
    memset(cfg, 0, sizeof(*cfg));
}

const struct kxl_cfg_entry *kxl_cfg_get(const struct kxl_cfg *cfg, const char *key)
{
    for (size_t i = cfg->nr; i-- > 0;)
        if (strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

/* strndup() may read past n (strict sanitizer checks do): the text need not end in NUL. */
static char *dup_range(const char *b, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    return s;
}

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int is_atom_char(char c)
{
    return is_ident_char(c) || c == '.' || c == '+' || c == '-';
}

/* Skips blanks and, when `newlines`, line breaks and comments too (inside lists). */
static void skip_space(struct lexer *lx, int newlines)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
        } else if (newlines && c == '\n') {
            lx->line++;
            lx->p++;
        } else if (newlines && c == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else {
            break;
        }
    }
}

/* A quoted string; lx->p is on the opening quote. */
static int lex_string(struct lexer *lx, char **out)
{
    char quote = *lx->p++;
    unsigned start_line = lx->line;
    size_t cap = 32, n = 0;
    char *s = malloc(cap);
    if (!s)
        return -ENOMEM;
    for (;;) {
        if (lx->p >= lx->end || *lx->p == '\n') {
            free(s);
            return lex_error(lx, start_line, "unterminated string (missing closing %c)", quote);
        }
        char c = *lx->p++;
        if (c == quote)
            break;
        if (c == '\\') {
            if (lx->p >= lx->end) {
                free(s);
                return lex_error(lx, start_line, "unterminated string (missing closing %c)", quote);
            }
            char e = *lx->p++;
            switch (e) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'a':
                c = '\a';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'v':
                c = '\v';
                break;
            case '\\':
            case '\'':
            case '"':
                c = e;
                break;
            case 'x': {
                int h1 = lx->p < lx->end ? kxen_hex_digit(lx->p[0]) : -1;
                int h2 = lx->p + 1 < lx->end ? kxen_hex_digit(lx->p[1]) : -1;
                if (h1 < 0 || h2 < 0) {
                    free(s);
                    return lex_error(lx, lx->line, "bad escape \\x: two hex digits expected");
                }
                lx->p += 2;
                c = (char)(h1 * 16 + h2);
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    int v = e - '0';
                    for (int k = 0; k < 2 && lx->p < lx->end && *lx->p >= '0' && *lx->p <= '7'; k++)
                        v = v * 8 + (*lx->p++ - '0');
                    if (v > 255) {
                        free(s);
                        return lex_error(lx, lx->line, "bad octal escape (above \\377)");
                    }
                    c = (char)v;
                    break;
                }
                free(s);
                return lex_error(lx, lx->line, "unknown escape \\%c in string", e);
            }
            if (c == '\0') {
                free(s);
                return lex_error(lx, lx->line, "NUL character in string");
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                return -ENOMEM;
            }
            s = ns;
        }
        s[n++] = c;
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

static int lex_atom(struct lexer *lx, char **out)
{
    const char *b = lx->p;
    while (lx->p < lx->end && is_atom_char(*lx->p))
        lx->p++;
    *out = dup_range(b, lx->p - b);
    return *out ? 0 : -ENOMEM;
}

static const char *describe_char(char c, char buf[8])
{
    if (c == '\n')
        return "end of line";
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", (unsigned char)c);
    return buf;
}

/* One scalar: string or number. */
static int lex_scalar(struct lexer *lx, struct kxl_cfg_value *v, const char *what)
{
    char cb[8];
    if (lx->p >= lx->end)
        return lex_error(lx, lx->line, "%s: value expected at end of file", what);
    char c = *lx->p;
    if (c == '\'' || c == '"') {
        v->kind = KXL_VAL_STRING;
        return lex_string(lx, &v->str);
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
        v->kind = KXL_VAL_NUMBER;
        return lex_atom(lx, &v->str);
    }
    if (is_ident_start(c))
        return lex_error(lx, lx->line,
                         "%s: unquoted word; strings must be in quotes ('...' or \"...\")", what);
    return lex_error(lx, lx->line, "%s: value expected, found %s", what, describe_char(c, cb));
}

static int list_push(struct kxl_cfg_value *v, char *item)
{
    char **ni = realloc(v->items, (v->nr_items + 1) * sizeof(*ni));
    if (!ni) {
        free(item);
        return -ENOMEM;
    }
    v->items = ni;
    v->items[v->nr_items++] = item;
    return 0;
}

static int lex_list(struct lexer *lx, struct kxl_cfg_value *v, const char *key)
{
    unsigned open_line = lx->line;
    char cb[8];
    lx->p++; /* '[' */
    v->kind = KXL_VAL_LIST;
    for (;;) {
        skip_space(lx, 1);
        if (lx->p >= lx->end)
            return lex_error(lx, open_line, "%s: list opened here is never closed with ']'", key);
        if (*lx->p == ']') {
            lx->p++;
            return 0;
        }
        if (*lx->p == '[')
            return lex_error(lx, lx->line, "%s: nested lists are not allowed", key);
        struct kxl_cfg_value item = {0};
        int rc = lex_scalar(lx, &item, key);
        if (rc)
            return rc;
        rc = list_push(v, item.str);
        if (rc)
            return rc;
        skip_space(lx, 1);
        if (lx->p < lx->end && *lx->p == ',') {
            lx->p++;
            continue;
        }
        if (lx->p < lx->end && *lx->p == ']')
            continue;
        if (lx->p >= lx->end)
            return lex_error(lx, open_line, "%s: list opened here is never closed with ']'", key);
        return lex_error(lx, lx->line, "%s: ',' or ']' expected in list, found %s", key,
                         describe_char(*lx->p, cb));
    }
}

static int cfg_add(struct kxl_cfg *cfg, char *key, struct kxl_cfg_value *val, const char *src,
                   unsigned line)
{
    if (cfg->nr == cfg->cap) {
        size_t ncap = cfg->cap ? cfg->cap * 2 : 16;
        struct kxl_cfg_entry *ne = realloc(cfg->entries, ncap * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        cfg->entries = ne;
        cfg->cap = ncap;
    }
    cfg->entries[cfg->nr++] =
        (struct kxl_cfg_entry){.key = key, .val = *val, .file = src, .line = line};
    return 0;
}

/* `key += value`: strings concatenate, lists append; the result takes the new line. */
static int cfg_append(struct kxl_cfg *cfg, struct lexer *lx, char *key, struct kxl_cfg_value *val,
                      unsigned line)
{
    const struct kxl_cfg_entry *old = kxl_cfg_get(cfg, key);
    if (!old)
        return cfg_add(cfg, key, val, lx->source, line);
    struct kxl_cfg_value merged = {.kind = old->val.kind};
    int rc = -ENOMEM;
    if (old->val.kind == KXL_VAL_LIST && val->kind == KXL_VAL_LIST) {
        for (size_t i = 0; i < old->val.nr_items; i++) {
            char *d = strdup(old->val.items[i]);
            if (!d || list_push(&merged, d))
                goto fail;
        }
        for (size_t i = 0; i < val->nr_items; i++) {
            if (list_push(&merged, val->items[i])) {
                val->items[i] = NULL;
                goto fail;
            }
            val->items[i] = NULL;
        }
        val->nr_items = 0;
    } else if (old->val.kind == KXL_VAL_STRING && val->kind == KXL_VAL_STRING) {
        if (asprintf(&merged.str, "%s%s", old->val.str, val->str) < 0) {
            merged.str = NULL;
            goto fail;
        }
    } else {
        rc = lex_error(lx, line,
                       "%s: '+=' needs the same kind of value as before "
                       "(string to string, list to list)",
                       key);
        goto fail;
    }
    value_free(val);
    rc = cfg_add(cfg, key, &merged, lx->source, line);
    if (rc == 0)
        return 0;
fail:
    value_free(&merged);
    free(key);
    value_free(val);
    return rc;
}

static int parse_statement(struct kxl_cfg *cfg, struct lexer *lx)
{
    char cb[8];
    unsigned line = lx->line;
    if (!is_ident_start(*lx->p))
        return lex_error(lx, line, "setting name expected, found %s", describe_char(*lx->p, cb));
    const char *kb = lx->p;
    while (lx->p < lx->end && is_ident_char(*lx->p))
        lx->p++;
    char *key = dup_range(kb, lx->p - kb);
    if (!key)
        return -ENOMEM;
    skip_space(lx, 0);
    int append = 0;
    if (lx->p + 1 < lx->end && lx->p[0] == '+' && lx->p[1] == '=') {
        append = 1;
        lx->p += 2;
    } else if (lx->p < lx->end && *lx->p == '=') {
        lx->p++;
    } else {
        int rc = lex_error(lx, line, "'=' expected after '%s', found %s", key,
                           lx->p < lx->end ? describe_char(*lx->p, cb) : "end of file");
        free(key);
        return rc;
    }
    skip_space(lx, 0);
    struct kxl_cfg_value val = {0};
    int rc;
    if (lx->p < lx->end && *lx->p == '[')
        rc = lex_list(lx, &val, key);
    else if (lx->p >= lx->end || *lx->p == '\n' || *lx->p == '#' || *lx->p == ';')
        rc = lex_error(lx, line, "%s: value missing after '='", key);
    else
        rc = lex_scalar(lx, &val, key);
    if (rc) {
        free(key);
        value_free(&val);
        return rc;
    }
    /* The statement must end here. */
    skip_space(lx, 0);
    if (lx->p < lx->end && *lx->p != '\n' && *lx->p != ';' && *lx->p != '#') {
        rc = lex_error(lx, lx->line,
                       "%s: unexpected %s after the value (one setting per "
                       "line, or separate them with ';')",
                       key, describe_char(*lx->p, cb));
        free(key);
        value_free(&val);
        return rc;
    }
    if (append)
        return cfg_append(cfg, lx, key, &val, line);
    rc = cfg_add(cfg, key, &val, lx->source, line);
    if (rc) {
        free(key);
        value_free(&val);
    }
    return rc;
}

int kxl_cfg_parse(struct kxl_cfg *cfg, const char *source, const char *text, size_t len, char *err,
                  size_t errlen)
{
    char **ns = realloc(cfg->sources, (cfg->nr_sources + 1) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    cfg->sources = ns;
    char *src = strdup(source);
    if (!src)
        return -ENOMEM;
    cfg->sources[cfg->nr_sources++] = src;

    struct lexer lx = {
        .p = text, .end = text + len, .source = src, .line = 1, .err = err, .errlen = errlen};
    if (memchr(text, '\0', len))
        return lex_error(&lx, 1, "NUL byte in the configuration (not a text file?)");
    while (lx.p < lx.end) {
        skip_space(&lx, 0);
        if (lx.p >= lx.end)
            break;
        char c = *lx.p;
        if (c == '\n') {
            lx.line++;
            lx.p++;
        } else if (c == ';') {
            lx.p++;
        } else if (c == '#') {
            while (lx.p < lx.end && *lx.p != '\n')
                lx.p++;
        } else {
            int rc = parse_statement(cfg, &lx);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int kxl_cfg_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open configuration: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KXL_CFG_MAX_FILE) {
        snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path, KXL_CFG_MAX_FILE);
        close(fd);
        return -EINVAL;
    }
    char *buf = malloc(st.st_size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -ENOMEM;
    }
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += r;
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

int kxl_cfg_parse_file(struct kxl_cfg *cfg, const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t n;
    int rc = kxl_cfg_read_file(path, &buf, &n, err, errlen);
    if (rc < 0)
        return rc;
    rc = kxl_cfg_parse(cfg, path, buf, n, err, errlen);
    free(buf);
    return rc;
}
