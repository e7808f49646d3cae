/* addr.c — parse and normalise one email address (pure: no I/O, no globals
 * that change).
 *
 * Owns the address grammar: trimming, "mailto:", display names, dot-atom
 * and (optionally) quoted local parts, domain names and (optionally) domain
 * literals, length limits, unsafe Unicode. Rules follow what real MTAs
 * accept and python-email-validator's defaults.
 *
 * The all-ASCII address is the common case and takes a fast path: one table
 * lookup a byte, no allocation, no libidn2 or libunistring call. Only a
 * non-ASCII part, or a label starting with "xn--", goes through
 * libunistring (NFC, categories) and libidn2 (UTS #46 / IDNA2008).
 */
#include "addr.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* Longest input looked at (after trimming): anything longer cannot become
 * a valid address, even with a long display name. */
#define IN_MAX 4096

/* Byte classes for the ASCII fast path. */
enum {
    C_ATEXT = 1,  /* RFC 5322 atext */
    C_LDH = 2,    /* letter, digit, hyphen */
    C_ALPHA = 4,
    C_CTL = 8,    /* C0 controls and DEL */
};

static unsigned char cls[256];

/* Filled once, before main, so the table is read-only afterwards. */
__attribute__((constructor)) static void cls_init(void)
{
    for (int c = 0; c < 128; c++) {
        unsigned char f = 0;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (alpha || digit || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL)
            f |= C_ATEXT;
        if (alpha || digit || c == '-')
            f |= C_LDH;
        if (alpha)
            f |= C_ALPHA;
        if (c < 0x20 || c == 0x7f)
            f |= C_CTL;
        cls[c] = c == 0 ? C_CTL : f; /* strchr matches the NUL */
    }
}

typedef struct span {
    const char *p;
    size_t n;
} span;

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static bool has_high(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return true;
    return false;
}

/* ---- trimming --------------------------------------------------------- */

/* Unicode space separators (Zs) besides U+0020. Line/paragraph separators
 * and controls such as LF are not trimmed: they mean a broken field, and
 * are refused as unsafe. */
static bool is_uspace(ucs4_t c)
{
    return c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Length of the space at the start of S, 0 if none. */
static size_t space_head(const char *p, size_t n)
{
    if (p[0] == ' ' || p[0] == '\t')
        return 1;
    if ((unsigned char)p[0] < 0x80)
        return 0;
    ucs4_t c;
    int k = u8_mbtouc(&c, (const uint8_t *)p, n);
    return k > 0 && is_uspace(c) ? (size_t)k : 0;
}

/* Length of the space at the end of S, 0 if none. */
static size_t space_tail(const char *p, size_t n)
{
    unsigned char last = (unsigned char)p[n - 1];
    if (last == ' ' || last == '\t')
        return 1;
    if (last < 0x80)
        return 0;
    size_t k = 1; /* step back over continuation bytes to the lead byte */
    while (k < 4 && k < n && ((unsigned char)p[n - k] & 0xC0) == 0x80)
        k++;
    ucs4_t c;
    int got = u8_mbtouc(&c, (const uint8_t *)p + n - k, k);
    return got == (int)k && is_uspace(c) ? k : 0;
}

static span trim(span s)
{
    size_t k;
    while (s.n > 0 && (k = space_head(s.p, s.n)) > 0) {
        s.p += k;
        s.n -= k;
    }
    while (s.n > 0 && (k = space_tail(s.p, s.n)) > 0)
        s.n -= k;
    return s;
}

static span strip_mailto(span s)
{
    if (s.n >= 7 && strncasecmp(s.p, "mailto:", 7) == 0) {
        s.p += 7;
        s.n -= 7;
    }
    return s;
}

/* ---- display name ------------------------------------------------------ */

/* End (index after the closing quote) of the quoted string at P[0] == '"',
 * or 0 if it is not closed. */
static size_t quoted_end(const char *p, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return 0;
}

/* "Name <addr>", "\"Name\" <addr>" or "<addr>": narrow *S to addr. */
static addr_err split_display(span *s, const addr_opts *o)
{
    bool open = s->p[0] == '<', close = s->p[s->n - 1] == '>';
    if (!open && !close)
        return ADDR_OK; /* the usual case: a bare address */
    if (!o->allow_display_name || !close)
        return ADDR_ERR_DISPLAY_NAME;
    size_t i = 0;
    if (s->p[0] == '"') {
        i = quoted_end(s->p, s->n);
        if (i == 0)
            return ADDR_ERR_DISPLAY_NAME;
    }
    for (; i < s->n && s->p[i] != '<'; i++) {
        unsigned char c = (unsigned char)s->p[i];
        if (c == '"' || c == '>' || (c < 0x80 && (cls[c] & C_CTL)))
            return ADDR_ERR_DISPLAY_NAME;
    }
    if (i >= s->n - 1)
        return ADDR_ERR_DISPLAY_NAME;
    span in = {s->p + i + 1, s->n - i - 2};
    *s = strip_mailto(trim(in));
    return s->n == 0 ? ADDR_ERR_EMPTY : ADDR_OK;
}

/* ---- Unicode helpers --------------------------------------------------- */

/* python-email-validator's rule: letters, numbers, punctuation and symbols
 * are safe; a combining mark only after something; separators, controls,
 * format characters (bidi, zero-width), surrogates, private use and
 * unassigned code points never. */
static bool cp_safe(ucs4_t c, bool first)
{
    if (uc_is_general_category(c, UC_CATEGORY_L) || uc_is_general_category(c, UC_CATEGORY_N) ||
        uc_is_general_category(c, UC_CATEGORY_P) || uc_is_general_category(c, UC_CATEGORY_S))
        return true;
    return !first && uc_is_general_category(c, UC_CATEGORY_M);
}

/* Invalid UTF-8 that is an encoded surrogate (ED A0..BF xx) is reported as
 * unsafe Unicode, like the other code points that no address may hold. */
static addr_err utf8_err(const char *p, size_t n)
{
    const uint8_t *bad = u8_check((const uint8_t *)p, n);
    if (bad == NULL)
        return ADDR_OK;
    size_t left = n - (size_t)(bad - (const uint8_t *)p);
    if (left >= 3 && bad[0] == 0xED && bad[1] >= 0xA0 && bad[1] <= 0xBF)
        return ADDR_ERR_UNSAFE;
    return ADDR_ERR_UTF8;
}

/* NFC of P into BUF (CAP bytes, NUL-terminated). Returns the length, or
 * (size_t)-1 if it does not fit or fails. */
static size_t nfc(const char *p, size_t n, char *buf, size_t cap)
{
    size_t len = cap - 1;
    uint8_t *r = u8_normalize(UNINORM_NFC, (const uint8_t *)p, n, (uint8_t *)buf, &len);
    if (r == NULL)
        return (size_t)-1;
    if (r != (uint8_t *)buf) { /* libunistring allocated: too long for us */
        free(r);
        return (size_t)-1;
    }
    buf[len] = '\0';
    return len;
}

/* ---- local part -------------------------------------------------------- */

/* Check the dot-atom P (already NFC) byte by byte: ASCII must be atext or a
 * single inner dot; non-ASCII code points must be safe (and are only
 * allowed when INTL). */
static addr_err local_check(const char *p, size_t n, bool intl)
{
    if (p[0] == '.' || p[n - 1] == '.')
        return ADDR_ERR_LOCAL_DOTS;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) {
            if (c == '.') {
                if (p[i + 1] == '.')
                    return ADDR_ERR_LOCAL_DOTS;
            } else if (!(cls[c] & C_ATEXT)) {
                return cls[c] & C_CTL ? ADDR_ERR_UNSAFE : ADDR_ERR_LOCAL_CHARS;
            }
            i++;
            continue;
        }
        if (!intl)
            return ADDR_ERR_SMTPUTF8;
        ucs4_t uc;
        int k = u8_mbtouc(&uc, (const uint8_t *)p + i, n - i);
        if (!cp_safe(uc, i == 0))
            return ADDR_ERR_UNSAFE;
        i += (size_t)k;
    }
    return ADDR_OK;
}

static addr_err local_length(size_t n, const addr_opts *o)
{
    return n > ADDR_LOCAL_MAX && !o->lax_local_length ? ADDR_ERR_LOCAL_TOO_LONG : ADDR_OK;
}

/* Unquoted local part: ASCII fast path, else NFC then the same checks. */
static addr_err local_parse(span s, const addr_opts *o, addr *out)
{
    if (s.n == 0) {
        out->local[0] = '\0';
        return o->allow_empty_local ? ADDR_OK : ADDR_ERR_LOCAL_EMPTY;
    }
    if (s.n >= ADDR_BUF)
        return o->lax_local_length ? ADDR_ERR_TOO_LONG : ADDR_ERR_LOCAL_TOO_LONG;
    addr_err e;
    if (!has_high(s.p, s.n)) {
        if ((e = local_check(s.p, s.n, false)) != ADDR_OK)
            return e;
        memcpy(out->local, s.p, s.n);
        out->local[s.n] = '\0';
        return local_length(s.n, o);
    }
    if (!o->allow_smtputf8)
        return ADDR_ERR_SMTPUTF8;
    size_t n = nfc(s.p, s.n, out->local, sizeof out->local);
    if (n == (size_t)-1)
        return ADDR_ERR_LOCAL_TOO_LONG;
    if ((e = local_check(out->local, n, true)) != ADDR_OK)
        return e;
    out->smtputf8 = has_high(out->local, n);   /* NFC may fold it to ASCII (K → K) */
    return local_length(n, o);
}

/* Content of a quoted local part (between the quotes), unescaped into BUF.
 * Returns the length or (size_t)-1 with *E set. */
static size_t unquote(span s, const addr_opts *o, char *buf, size_t cap, addr_err *e)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '\\' && i + 1 < s.n)
            c = (unsigned char)s.p[++i];
        if (c < 0x80 && (cls[c] & C_CTL)) {
            *e = ADDR_ERR_UNSAFE;
            return (size_t)-1;
        }
        if (c >= 0x80 && !o->allow_smtputf8) {
            *e = ADDR_ERR_SMTPUTF8;
            return (size_t)-1;
        }
        if (n + 1 >= cap) {
            *e = ADDR_ERR_LOCAL_TOO_LONG;
            return (size_t)-1;
        }
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return n;
}

/* The canonical form of a quoted local part: bare if it is a valid
 * dot-atom, else quoted with only '"' and '\' escaped. */
static addr_err requote(const char *v, size_t n, addr *out)
{
    if (n > 0 && local_check(v, n, true) == ADDR_OK) {
        memcpy(out->local, v, n + 1);
        return ADDR_OK;
    }
    size_t k = 0;
    out->local[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (k + 4 >= sizeof out->local)
            return ADDR_ERR_LOCAL_TOO_LONG;
        if (v[i] == '"' || v[i] == '\\')
            out->local[k++] = '\\';
        out->local[k++] = v[i];
    }
    out->local[k++] = '"';
    out->local[k] = '\0';
    return ADDR_OK;
}

/* "…" local part (S includes the quotes). Refused unless allowed. */
static addr_err quoted_parse(span s, const addr_opts *o, addr *out)
{
    if (!o->allow_quoted_local)
        return ADDR_ERR_QUOTED_LOCAL;
    char raw[ADDR_BUF], norm[ADDR_BUF];
    addr_err e = ADDR_OK;
    size_t n = unquote((span){s.p + 1, s.n - 2}, o, raw, sizeof raw, &e);
    if (n == (size_t)-1)
        return e;
    const char *v = raw;
    if (has_high(raw, n)) {
        if ((n = nfc(raw, n, norm, sizeof norm)) == (size_t)-1)
            return ADDR_ERR_LOCAL_TOO_LONG;
        for (size_t i = 0; i < n;) { /* spaces are fine when quoted */
            ucs4_t uc;
            int k = u8_mbtouc(&uc, (const uint8_t *)norm + i, n - i);
            if (uc >= 0x80 && !cp_safe(uc, i == 0))
                return ADDR_ERR_UNSAFE;
            i += (size_t)k;
        }
        v = norm;
        out->smtputf8 = has_high(norm, n);      /* judged after NFC, as above */
    }
    if (n == 0 && !o->allow_empty_local)
        return ADDR_ERR_LOCAL_EMPTY;
    if ((e = requote(v, n, out)) != ADDR_OK)
        return e;
    return local_length(strlen(out->local), o);
}

/* ---- domain ------------------------------------------------------------ */

static bool ends_with_label(const char *d, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n == k)
        return memcmp(d, name, k) == 0;
    return n > k && d[n - k - 1] == '.' && memcmp(d + n - k, name, k) == 0;
}

static addr_err special_use(const char *d, size_t n, const addr_opts *o)
{
    static const char *const names[] = {"arpa", "invalid", "local", "localhost", "onion", "test"};
    if (o->allow_special_use)
        return ADDR_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ends_with_label(d, n, names[i]))
            return ADDR_ERR_SPECIAL_USE;
    return ADDR_OK;
}

/* One label D[0..N) of a lower-case ASCII domain. *IDN is set when it is
 * an A-label, which libidn2 must then vouch for. */
static addr_err label_check(const char *d, size_t n, bool *idn)
{
    if (n == 0)
        return ADDR_ERR_DOMAIN_DOTS;
    if (n > ADDR_LABEL_MAX)
        return ADDR_ERR_LABEL_TOO_LONG;
    if (d[0] == '-' || d[n - 1] == '-')
        return ADDR_ERR_DOMAIN_HYPHEN;
    if (n >= 4 && d[2] == '-' && d[3] == '-') { /* RFC 5890 R-LDH labels */
        if (d[0] != 'x' || d[1] != 'n')
            return ADDR_ERR_DOMAIN_HYPHEN;
        *idn = true;
    }
    return ADDR_OK;
}

/* The whole lower-case ASCII domain D: characters, labels, lengths, a dot,
 * a plausible TLD, special-use names. */
static addr_err ascii_domain_check(const char *d, size_t n, const addr_opts *o, bool *idn)
{
    if (n > ADDR_DOMAIN_MAX)
        return ADDR_ERR_DOMAIN_TOO_LONG;
    size_t start = 0, last = 0, dots = 0;
    addr_err e;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)d[i] : '.';
        if (c == '.') {
            if ((e = label_check(d + start, i - start, idn)) != ADDR_OK)
                return e; /* empty label: leading, trailing or doubled dot */
            last = start;
            start = i + 1;
            dots += i < n;
        } else if (c >= 0x80 || !(cls[c] & C_LDH)) {
            return c < 0x80 && (cls[c] & C_CTL) ? ADDR_ERR_UNSAFE : ADDR_ERR_DOMAIN_CHARS;
        }
    }
    bool bare_test = o->allow_special_use && n == 4 && memcmp(d, "test", 4) == 0;
    if (dots == 0 && !bare_test)
        return ADDR_ERR_DOMAIN_NO_DOT;
    const char *tld = d + last;
    size_t tn = n - last;
    /* Every TLD ends with a letter (or is an A-label). */
    if (!(tn >= 4 && memcmp(tld, "xn--", 4) == 0) && !(cls[(unsigned char)tld[tn - 1]] & C_ALPHA))
        return ADDR_ERR_DOMAIN_TLD;
    return special_use(d, n, o);
}

static addr_err idn2_err(int rc)
{
    switch (rc) {
    case IDN2_TOO_BIG_DOMAIN:
        return ADDR_ERR_DOMAIN_TOO_LONG;
    case IDN2_TOO_BIG_LABEL:
        return ADDR_ERR_LABEL_TOO_LONG;
    case IDN2_HYPHEN_STARTEND:
    case IDN2_2HYPHEN:
        return ADDR_ERR_DOMAIN_HYPHEN;
    default:
        return ADDR_ERR_DOMAIN_IDNA;
    }
}

/* The U-label form of the valid ASCII domain in OUT->ascii_domain. */
static addr_err to_unicode(addr *out)
{
    char *u = NULL;
    if (idn2_to_unicode_8z8z(out->ascii_domain, &u, 0) != IDN2_OK || u == NULL) {
        free(u);
        return ADDR_ERR_DOMAIN_IDNA;
    }
    size_t n = strlen(u);
    bool fits = n < sizeof out->domain;
    if (fits)
        memcpy(out->domain, u, n + 1);
    free(u);
    return fits ? ADDR_OK : ADDR_ERR_TOO_LONG;
}

/* libidn2 passes an ASCII "xn--" label through unchecked: its U-label
 * form must itself pass IDNA2008 and map back to the same A-labels
 * (xn--wth is U+24AE, which IDNA2008 disallows). */
static addr_err alabels_valid(const addr *out)
{
    char *a = NULL;
    int rc = idn2_lookup_u8((const uint8_t *)out->domain, (uint8_t **)&a, IDN2_NONTRANSITIONAL);
    bool same = rc == IDN2_OK && a && strcmp(a, out->ascii_domain) == 0;
    free(a);
    return same ? ADDR_OK : ADDR_ERR_DOMAIN_IDNA;
}

/* UTS #46 mapping + IDNA2008 of the NUL-terminated D into OUT->ascii_domain. */
static addr_err idna_lookup(const char *d, addr *out)
{
    char *a = NULL;
    int rc = idn2_lookup_u8((const uint8_t *)d, (uint8_t **)&a, IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
        free(a);
        return idn2_err(rc);
    }
    size_t n = strlen(a);
    bool fits = n <= ADDR_DOMAIN_MAX;
    if (fits)
        memcpy(out->ascii_domain, a, n + 1);
    free(a);
    return fits ? ADDR_OK : ADDR_ERR_DOMAIN_TOO_LONG;
}

/* A non-ASCII domain: safe characters, then IDNA, then the ASCII rules on
 * the A-label form (which UTS #46 may have turned into dots or hyphens). */
static addr_err intl_domain(span s, const addr_opts *o, addr *out)
{
    char buf[ADDR_BUF];
    if (s.n >= sizeof buf)
        return ADDR_ERR_DOMAIN_TOO_LONG;
    for (size_t i = 0; i < s.n;) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x80) {
            if (cls[c] & C_CTL)
                return ADDR_ERR_UNSAFE;
            if (!(cls[c] & C_LDH) && c != '.')
                return ADDR_ERR_DOMAIN_CHARS;
            i++;
            continue;
        }
        ucs4_t uc;
        int k = u8_mbtouc(&uc, (const uint8_t *)s.p + i, s.n - i);
        if (!cp_safe(uc, i == 0))
            return ADDR_ERR_UNSAFE;
        i += (size_t)k;
    }
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    addr_err e = idna_lookup(buf, out);
    if (e != ADDR_OK)
        return e;
    bool idn = false;
    if ((e = ascii_domain_check(out->ascii_domain, strlen(out->ascii_domain), o, &idn)) != ADDR_OK ||
        (e = to_unicode(out)) != ADDR_OK)
        return e;
    return alabels_valid(out);        /* U-labels may sit beside "xn--" ones */
}

/* [IPv4] or [IPv6:…], normalised through inet_ntop. */
static addr_err literal_parse(span s, const addr_opts *o, addr *out)
{
    if (!o->allow_domain_literal || s.n < 3 || s.p[s.n - 1] != ']')
        return ADDR_ERR_DOMAIN_LITERAL;
    char in[64], txt[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    span v = {s.p + 1, s.n - 2};
    bool v6 = v.n > 5 && strncasecmp(v.p, "IPv6:", 5) == 0;
    if (v6) {
        v.p += 5;
        v.n -= 5;
    }
    if (v.n >= sizeof in)
        return ADDR_ERR_DOMAIN_LITERAL;
    memcpy(in, v.p, v.n);
    in[v.n] = '\0';
    int af = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(af, in, bin) != 1 || inet_ntop(af, bin, txt, sizeof txt) == NULL)
        return ADDR_ERR_DOMAIN_LITERAL;
    int k = snprintf(out->ascii_domain, sizeof out->ascii_domain, "[%s%s]", v6 ? "IPv6:" : "", txt);
    if (k < 0 || (size_t)k >= sizeof out->ascii_domain)
        return ADDR_ERR_DOMAIN_LITERAL;
    memcpy(out->domain, out->ascii_domain, (size_t)k + 1);
    return ADDR_OK;
}

static addr_err domain_parse(span s, const addr_opts *o, addr *out)
{
    if (s.n == 0)
        return ADDR_ERR_DOMAIN_EMPTY;
    if (s.p[0] == '[')
        return literal_parse(s, o, out);
    if (has_high(s.p, s.n))
        return intl_domain(s, o, out);
    if (s.n > ADDR_DOMAIN_MAX)
        return ADDR_ERR_DOMAIN_TOO_LONG;
    for (size_t i = 0; i < s.n; i++)
        out->ascii_domain[i] = (char)lower((unsigned char)s.p[i]);
    out->ascii_domain[s.n] = '\0';
    bool idn = false;
    addr_err e = ascii_domain_check(out->ascii_domain, s.n, o, &idn);
    if (e != ADDR_OK)
        return e;
    if (!idn) { /* fast path: the U-label form is the same */
        memcpy(out->domain, out->ascii_domain, s.n + 1);
        return ADDR_OK;
    }
    char a[ADDR_DOMAIN_MAX + 1];
    memcpy(a, out->ascii_domain, s.n + 1);
    if ((e = idna_lookup(a, out)) != ADDR_OK || (e = to_unicode(out)) != ADDR_OK)
        return e;
    return alabels_valid(out);
}

/* ---- the whole address ------------------------------------------------- */

/* Split at the @ that ends the local part: after a leading quoted string,
 * else the last @. */
static addr_err split_at(span s, span *local, span *domain, bool *quoted)
{
    size_t at;
    *quoted = s.p[0] == '"' && (at = quoted_end(s.p, s.n)) > 0 && at < s.n && s.p[at] == '@';
    if (!*quoted) {
        const char *p = memrchr(s.p, '@', s.n);
        if (p == NULL)
            return ADDR_ERR_NO_AT;
        at = (size_t)(p - s.p);
    }
    *local = (span){s.p, at};
    *domain = (span){s.p + at + 1, s.n - at - 1};
    return ADDR_OK;
}

void addr_opts_default(addr_opts *o)
{
    *o = (addr_opts){.allow_smtputf8 = true, .allow_display_name = true};
}

addr_err addr_parse(const char *in, size_t len, const addr_opts *opts, addr *out)
{
    span s = trim((span){in, len});
    if (s.n > IN_MAX)
        return ADDR_ERR_TOO_LONG;
    addr_err e;
    if (has_high(s.p, s.n) && (e = utf8_err(s.p, s.n)) != ADDR_OK)
        return e;
    s = strip_mailto(s);
    if (s.n == 0)
        return ADDR_ERR_EMPTY;
    if ((e = split_display(&s, opts)) != ADDR_OK)
        return e;

    span local, domain;
    bool quoted;
    if ((e = split_at(s, &local, &domain, &quoted)) != ADDR_OK)
        return e;
    out->smtputf8 = false;
    e = quoted ? quoted_parse(local, opts, out) : local_parse(local, opts, out);
    if (e != ADDR_OK)
        return e;
    if ((e = domain_parse(domain, opts, out)) != ADDR_OK)
        return e;

    size_t ln = strlen(out->local), an = strlen(out->ascii_domain), dn = strlen(out->domain);
    if (ln + 1 + an > ADDR_TOTAL_MAX || ln + 1 + dn >= sizeof out->email)
        return ADDR_ERR_TOO_LONG;
    memcpy(out->email, out->local, ln);
    out->email[ln] = '@';
    memcpy(out->email + ln + 1, out->domain, dn + 1);
    return ADDR_OK;
}

const char *addr_strerror(addr_err e)
{
    static const char *const msg[ADDR_ERR__COUNT] = {
        [ADDR_OK] = "valid",
        [ADDR_ERR_EMPTY] = "the address is empty",
        [ADDR_ERR_NO_AT] = "the address has no @-sign",
        [ADDR_ERR_LOCAL_EMPTY] = "there is nothing before the @-sign",
        [ADDR_ERR_LOCAL_CHARS] = "a character before the @-sign is not allowed",
        [ADDR_ERR_LOCAL_DOTS] = "a period before the @-sign is leading, trailing or doubled",
        [ADDR_ERR_LOCAL_TOO_LONG] = "the part before the @-sign is longer than 64 octets",
        [ADDR_ERR_QUOTED_LOCAL] = "a quoted part before the @-sign is not allowed",
        [ADDR_ERR_SMTPUTF8] = "international characters before the @-sign are not allowed",
        [ADDR_ERR_DOMAIN_EMPTY] = "there is nothing after the @-sign",
        [ADDR_ERR_DOMAIN_CHARS] = "a character after the @-sign is not allowed",
        [ADDR_ERR_DOMAIN_DOTS] = "a period in the domain is leading, trailing or doubled",
        [ADDR_ERR_DOMAIN_HYPHEN] = "a domain label starts or ends with a hyphen, or has one in positions 3-4",
        [ADDR_ERR_DOMAIN_NO_DOT] = "the domain has no period",
        [ADDR_ERR_DOMAIN_TLD] = "the top-level domain is not valid",
        [ADDR_ERR_DOMAIN_IDNA] = "the domain is not valid IDNA",
        [ADDR_ERR_DOMAIN_TOO_LONG] = "the domain is longer than 253 octets",
        [ADDR_ERR_LABEL_TOO_LONG] = "a domain label is longer than 63 octets",
        [ADDR_ERR_DOMAIN_LITERAL] = "a bracketed IP address is not allowed or not valid",
        [ADDR_ERR_SPECIAL_USE] = "the domain is a special-use or reserved name",
        [ADDR_ERR_TOO_LONG] = "the address is longer than 254 octets",
        [ADDR_ERR_DISPLAY_NAME] = "the display name or angle brackets are malformed or not allowed",
        [ADDR_ERR_UNSAFE] = "the address contains unsafe characters",
        [ADDR_ERR_UTF8] = "the address is not valid UTF-8",
    };
    if ((unsigned)e >= ADDR_ERR__COUNT || msg[e] == NULL)
        return "unknown error";
    return msg[e];
}
