/* socks.c — SOCKS5 client messages (RFC 1928) and the RFC 1929 login:
 * request builders and byte-at-a-time reply parsers (socks.h). Pure: no
 * I/O, no allocation; a reader keeps only a reply's first five bytes and a
 * count, so a hostile proxy can make it hold nothing more. */
#include "socks.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define SOCKS_VERSION 0x05
#define SOCKS_LOGIN_VERSION 0x01     /* RFC 1929 sub-negotiation */
#define SOCKS_CMD_CONNECT 0x01
#define SOCKS_ATYP_IPV4 0x01
#define SOCKS_ATYP_NAME 0x03
#define SOCKS_ATYP_IPV6 0x04
#define SOCKS_NO_METHOD 0xFF

void socks_reader_init(socks_reader *r)
{
    memset(r, 0, sizeof *r);
}

/* ---- requests ---------------------------------------------------------- */

size_t socks_greeting(unsigned char out[SOCKS_GREETING_MAX], bool with_login)
{
    size_t n = 0;
    out[n++] = SOCKS_VERSION;
    out[n++] = with_login ? 2 : 1;
    out[n++] = SOCKS_METHOD_NONE;
    if (with_login)
        out[n++] = SOCKS_METHOD_LOGIN;
    return n;
}

size_t socks_login(unsigned char out[SOCKS_LOGIN_MAX], const char *user, const char *pass)
{
    size_t ulen = strlen(user), plen = strlen(pass);
    if (ulen == 0 || ulen > 255 || plen == 0 || plen > 255)
        return 0;
    size_t n = 0;
    out[n++] = SOCKS_LOGIN_VERSION;
    out[n++] = (unsigned char)ulen;
    memcpy(out + n, user, ulen);
    n += ulen;
    out[n++] = (unsigned char)plen;
    memcpy(out + n, pass, plen);
    return n + plen;
}

size_t socks_connect(unsigned char out[SOCKS_CONNECT_MAX], const struct sockaddr *sa)
{
    size_t n = 0;
    out[n++] = SOCKS_VERSION;
    out[n++] = SOCKS_CMD_CONNECT;
    out[n++] = 0x00;                  /* reserved */
    const void *port;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        out[n++] = SOCKS_ATYP_IPV4;
        memcpy(out + n, &v4->sin_addr, 4);
        n += 4;
        port = &v4->sin_port;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        out[n++] = SOCKS_ATYP_IPV6;
        memcpy(out + n, &v6->sin6_addr, 16);
        n += 16;
        port = &v6->sin6_port;
    } else {
        return 0;
    }
    memcpy(out + n, port, 2);         /* already in network order */
    return n + 2;
}

/* ---- replies ----------------------------------------------------------- */

/* Ends the current reply with an error: the reader is ready for another. */
static int fail(socks_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(socks_reader *r, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    r->len = 0;
    return err;
}

/* Takes byte B as the next of the current reply. */
static void take(socks_reader *r, unsigned char b)
{
    if (r->len < sizeof r->head)
        r->head[r->len] = b;
    r->len++;
}

/* Feeds DATA to a two-byte reply (method, login status): 0 once both are
 * in r->head, else SOCKS_MORE. */
static int take_pair(socks_reader *r, const unsigned char *p, size_t n, size_t *used)
{
    size_t i = 0;
    while (i < n && r->len < 2)
        take(r, p[i++]);
    *used = i;
    return r->len == 2 ? 0 : SOCKS_MORE;
}

int socks_read_method(socks_reader *r, bool offered_login, const void *data, size_t n,
                      size_t *used, int *method)
{
    if (take_pair(r, data, n, used) == SOCKS_MORE)
        return SOCKS_MORE;
    unsigned char ver = r->head[0], m = r->head[1];
    r->len = 0;
    if (ver != SOCKS_VERSION)
        return fail(r, SOCKS_EROUTE, "not a SOCKS5 proxy (reply version 0x%02x)", ver);
    if (m == SOCKS_NO_METHOD)
        return fail(r, SOCKS_EROUTE, offered_login ? "no acceptable authentication method"
                    : "no acceptable authentication method (the proxy wants a user and password?)");
    if (m != SOCKS_METHOD_NONE && !(m == SOCKS_METHOD_LOGIN && offered_login))
        return fail(r, SOCKS_EROUTE, "the proxy chose method 0x%02x, which was not offered", m);
    *method = m;
    return 0;
}

int socks_read_login(socks_reader *r, const void *data, size_t n, size_t *used)
{
    if (take_pair(r, data, n, used) == SOCKS_MORE)
        return SOCKS_MORE;
    unsigned char ver = r->head[0], status = r->head[1];
    r->len = 0;
    /* RFC 1929 says version 1; some servers echo the SOCKS version 5. */
    if (ver != SOCKS_LOGIN_VERSION && ver != SOCKS_VERSION)
        return fail(r, SOCKS_EROUTE, "bad login reply (version 0x%02x)", ver);
    if (status != 0)
        return fail(r, SOCKS_EROUTE, "authentication rejected");
    return 0;
}

/* A non-zero REP: an answer about the server, or a route failure. */
static int connect_refused(socks_reader *r, unsigned char rep)
{
    switch (rep) {
    case 1: return fail(r, SOCKS_EROUTE, "general SOCKS server failure (reply 1)");
    case 2: return fail(r, SOCKS_EROUTE, "connection not allowed by ruleset (reply 2)");
    case 3: return fail(r, UV_ENETUNREACH, "network unreachable (reply 3)");
    case 4: return fail(r, UV_EHOSTUNREACH, "host unreachable (reply 4)");
    case 5: return fail(r, UV_ECONNREFUSED, "connection refused (reply 5)");
    case 6: return fail(r, UV_ETIMEDOUT, "TTL expired (reply 6)");
    case 7: return fail(r, SOCKS_EROUTE, "command not supported (reply 7)");
    /* This proxy cannot reach that address family: the pair fails, not the route. */
    case 8: return fail(r, UV_EAFNOSUPPORT, "address type not supported (reply 8)");
    default: return fail(r, SOCKS_EROUTE, "unknown reply code 0x%02x", rep);
    }
}

/* The CONNECT reply's full length, once its head says (0: not yet). */
static size_t connect_reply_len(const socks_reader *r)
{
    if (r->len < 4)
        return 0;
    switch (r->head[3]) {
    case SOCKS_ATYP_IPV4: return 4 + 4 + 2;
    case SOCKS_ATYP_IPV6: return 4 + 16 + 2;
    default: return r->len < 5 ? 0 : 4 + 1 + (size_t)r->head[4] + 2;   /* a name */
    }
}

int socks_read_connect(socks_reader *r, const void *data, size_t n, size_t *used)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        take(r, p[i]);
        *used = i + 1;
        if (r->len == 1 && r->head[0] != SOCKS_VERSION)
            return fail(r, SOCKS_EROUTE, "not a SOCKS5 proxy (reply version 0x%02x)", r->head[0]);
        if (r->len == 2 && r->head[1] != 0)
            return connect_refused(r, r->head[1]);
        if (r->len == 4 && r->head[3] != SOCKS_ATYP_IPV4 && r->head[3] != SOCKS_ATYP_IPV6 &&
            r->head[3] != SOCKS_ATYP_NAME)
            return fail(r, SOCKS_EROUTE, "bad address type 0x%02x in the reply", r->head[3]);
        size_t full = connect_reply_len(r);
        if (full && r->len == full) {
            r->len = 0;
            return 0;
        }
    }
    *used = n;
    return SOCKS_MORE;
}
