/* guest_vsnprintf: the conversions the runtime promises, on the host. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "guest/printf.h"

/* No format attribute: lets the tests pass what the compiler would flag on purpose. */
static int unchecked_fmt(char *b, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = guest_vsnprintf(b, n, fmt, ap);
    va_end(ap);
    return r;
}

#define FMT(expect, ...)                                                                           \
    do {                                                                                           \
        char b[128];                                                                               \
        int n = guest_snprintf(b, sizeof(b), __VA_ARGS__);                                         \
        cr_assert_str_eq(b, expect);                                                               \
        cr_assert_eq(n, (int)strlen(expect));                                                      \
    } while (0)

Test(guest_printf, signed_and_unsigned_decimal)
{
    FMT("0 -1 42 2147483647 -2147483648", "%d %d %i %d %d", 0, -1, 42, INT32_MAX, INT32_MIN);
    FMT("4294967295", "%u", 4294967295u);
    FMT("-9223372036854775808", "%lld", (long long)INT64_MIN);
    FMT("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
    FMT("-5 7", "%ld %lu", -5L, 7UL);
}

Test(guest_printf, hex_lower_upper_and_long_forms)
{
    FMT("ff FF deadbeef", "%x %X %x", 255u, 255u, 0xdeadbeefu);
    FMT("ffffffffffffffff", "%lx", ~0UL);
    FMT("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
}

Test(guest_printf, width_zero_pad_and_left_align)
{
    FMT("   42", "%5d", 42);
    FMT("00042", "%05d", 42);
    FMT("-0042", "%05d", -42);
    FMT("42   |", "%-5d|", 42);
    FMT("0000beef", "%08x", 0xbeefu);
    FMT("  ab", "%4s", "ab");
    FMT("ab  |", "%-4s|", "ab");
    FMT("  x", "%3c", 'x');
    FMT("   7", "%*d", 4, 7);
}

Test(guest_printf, strings_chars_pointers_size_t_and_percent)
{
    FMT("hello world", "%s %s", "hello", "world");
    char nb[16];
    unchecked_fmt(nb, sizeof(nb), "%s", (char *)NULL);
    cr_assert_str_eq(nb, "(null)");
    FMT("abc", "%.3s", "abcdef");
    FMT("ab", "%.*s", 2, "abcdef");
    FMT("c=Z", "c=%c", 'Z');
    FMT("0x1000", "%p", (void *)0x1000);
    FMT("12345", "%zu", (size_t)12345);
    FMT("100%", "%d%%", 100);
}

Test(guest_printf, truncates_and_reports_full_length)
{
    char b[8];
    int n = guest_snprintf(b, sizeof(b), "%s", "0123456789");
    cr_assert_eq(n, 10);
    cr_assert_str_eq(b, "0123456");
    n = guest_snprintf(b, 0, "%d", 12345);
    cr_assert_eq(n, 5);
    memset(b, 'x', sizeof(b));
    n = guest_snprintf(b, 1, "abc");
    cr_assert_eq(n, 3);
    cr_assert_eq(b[0], '\0');
    cr_assert_eq(b[1], 'x');
}

Test(guest_printf, unknown_conversion_is_copied_through)
{
    char b[32];
    int n = unchecked_fmt(b, sizeof(b), "a%qb");
    cr_assert_str_eq(b, "a%qb");
    cr_assert_eq(n, 4);
    n = unchecked_fmt(b, sizeof(b), "end%");
    cr_assert_str_eq(b, "end%");
}
