/* egress.c — parsing --proxy and --bind into the route pool (egress.h). */
#include "egress.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "str.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copy S[0..N) into DST with %XX decoded; false when malformed or too long
 * (RFC 1929: 1..255 bytes). */
static bool decode_cred(const char *s, size_t n, char *dst)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (k == EGRESS_CRED_MAX || c == 0)
            return false;
        dst[k++] = (char)c;
    }
    dst[k] = '\0';
    return k > 0;
}

/* HOST (IP literal or name, resolved now) and PORT into SA. */
static bool resolve(const char *host, const char *port, struct sockaddr_storage *sa)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return false;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

static bool valid_port(const char *p)
{
    if (!*p || strlen(p) > 5)
        return false;
    for (const char *c = p; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    long v = strtol(p, NULL, 10);
    return v >= 1 && v <= 65535;
}

/* One "socks5://[user:pass@]host:port" of length N into E. */
static int parse_proxy(const char *s, size_t n, egress *e, char *err, size_t errlen)
{
    static const char scheme[] = "socks5://";
    char buf[1024];
    if (n >= sizeof buf)
        return fail(err, errlen, "--proxy: entry too long");
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strncasecmp(buf, scheme, sizeof scheme - 1) != 0)   /* schemes ignore case */
        return fail(err, errlen, "--proxy: each entry must start with socks5:// "
                    "(only SOCKS5 is supported)");
    char *p = buf + sizeof scheme - 1, *at = strrchr(p, '@');
    e->kind = EGRESS_SOCKS5;
    if (at) {
        char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || !decode_cred(p, (size_t)(colon - p), e->user) ||
            !decode_cred(colon + 1, (size_t)(at - colon - 1), e->pass))
            return fail(err, errlen, "--proxy: credentials must be USER:PASS, 1-255 bytes "
                        "each (%%-encode ':', '@' and ',')");
        p = at + 1;
    }
    char hostport[sizeof buf];
    str_copy(hostport, sizeof hostport, p);   /* for messages: p is cut up below */
    char *host = p, *port;
    if (*p == '[') {
        char *close = strchr(p, ']');
        if (!close || close[1] != ':')
            return fail(err, errlen, "--proxy: bad IPv6 address in '%s'", hostport);
        *close = '\0';
        host = p + 1;
        port = close + 2;
    } else {
        char *colon = strrchr(p, ':');
        if (!colon)
            return fail(err, errlen, "--proxy: port missing in '%s'", hostport);
        *colon = '\0';
        port = colon + 1;
    }
    if (!*host || !valid_port(port))
        return fail(err, errlen, "--proxy: '%s' needs HOST:PORT with a port 1-65535", hostport);
    if (!resolve(host, port, &e->addr))
        return fail(err, errlen, "--proxy: cannot resolve '%s'", host);
    bool v6 = strchr(host, ':') != NULL;
    snprintf(e->label, sizeof e->label, "socks5://%.100s%s%s%.400s%s:%s", e->user, *e->user ? "@" : "",
             v6 ? "[" : "", host, v6 ? "]" : "", port);
    return 0;
}

static int parse_bind(const char *s, size_t n, egress *e, char *err, size_t errlen)
{
    char buf[INET6_ADDRSTRLEN + 1];
    if (n >= sizeof buf || n == 0)
        return fail(err, errlen, "--bind: '%.*s' is not an IP address", (int)n, s);
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct sockaddr_in *v4 = (struct sockaddr_in *)&e->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&e->addr;
    if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    else
        return fail(err, errlen, "--bind: '%s' is not an IP address", buf);
    e->kind = EGRESS_BIND;
    str_copy(e->label, sizeof e->label, buf);
    return 0;
}

/* The route of runs without --proxy/--bind (shared, never freed). */
static egress direct = {.kind = EGRESS_DIRECT, .label = "direct"};

int egress_parse(const char *proxies, const char *binds, egress_list *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (proxies && binds)
        return fail(err, errlen, "use --proxy or --bind, not both");
    const char *spec = proxies ? proxies : binds;
    if (!spec) {
        out->e = &direct;
        out->n = 1;
        return 0;
    }
    size_t count = 1;
    for (const char *p = spec; *p; p++)
        count += *p == ',';
    if (count > EGRESS_MAX)
        return fail(err, errlen, "%s: more than %d entries", proxies ? "--proxy" : "--bind",
                    EGRESS_MAX);
    if (!(out->e = calloc(count, sizeof *out->e)))
        return fail(err, errlen, "out of memory");
    for (const char *p = spec;;) {
        size_t n = strcspn(p, ","), skip = 0;
        while (skip < n && (p[skip] == ' ' || p[skip] == '\t'))
            skip++;                   /* "a, b" is meant as "a,b" */
        size_t len = n - skip;
        while (len > 0 && (p[skip + len - 1] == ' ' || p[skip + len - 1] == '\t'))
            len--;
        egress *e = &out->e[out->n];
        int rc = proxies ? parse_proxy(p + skip, len, e, err, errlen)
                         : parse_bind(p + skip, len, e, err, errlen);
        if (rc != 0) {
            egress_list_free(out);
            return -1;
        }
        out->n++;
        if (!p[n])
            break;
        p += n + 1;
    }
    return 0;
}

void egress_list_free(egress_list *l)
{
    if (l->e != &direct)
        free(l->e);
    l->e = NULL;
    l->n = 0;
}
