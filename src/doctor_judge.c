/* doctor_judge.c — the verdict and the advice of each doctor check (see
 * include/doctor_judge.h). Pure functions of what was found; the wording of
 * every OK, WARN and FAIL lives here and nowhere else.
 */
#include "doctor_judge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "str.h"

#define PROXY_HINT "use --proxy socks5://USER:PASS@HOST:PORT through a host whose port 25 is open"

const char *doctor_judge_level_name(doctor_level l)
{
    return l == DOCTOR_OK ? "OK" : l == DOCTOR_WARN ? "WARN" : "FAIL";
}

/* ---- text helpers ------------------------------------------------------- */

static void jl_set(doctor_line *l, const char *check, doctor_level lv)
{
    l->level = lv;
    str_copy(l->check, sizeof l->check, check);
    l->found[0] = l->fix[0] = '\0';
}

__attribute__((format(printf, 3, 4)))
static void jl_fmt(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

#define FOUND(l, ...) jl_fmt((l)->found, sizeof (l)->found, __VA_ARGS__)
#define FIX(l, ...) jl_fmt((l)->fix, sizeof (l)->fix, __VA_ARGS__)

void doctor_judge_clean(char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return;
    size_t keep = len < cap ? len : cap - 1;
    bool cut = keep < len;
    if (cut)
        keep = cap > 4 ? cap - 4 : 0;   /* room for "..." */
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (cut && cap > 4)
        memcpy(dst + keep, "...", 3), keep += 3;
    dst[keep] = '\0';
}

/* A network-supplied string, cleaned into BUF (CAP bytes). */
static const char *jl_clean(char *buf, size_t cap, const char *s)
{
    doctor_judge_clean(buf, cap, s, strlen(s));
    return buf;
}

static const char *jl_ip(const struct sockaddr_storage *a, char *buf, size_t len)
{
    const void *src = a->ss_family == AF_INET
                          ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
                          : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;
    if (!inet_ntop(a->ss_family, src, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}

static int jl_port(const struct sockaddr_storage *a)
{
    return ntohs(a->ss_family == AF_INET ? ((const struct sockaddr_in *)a)->sin_port
                                         : ((const struct sockaddr_in6 *)a)->sin6_port);
}

/* "a, b, c" (at most 4, then "and N more") into BUF. */
static const char *jl_ips(char *buf, size_t len, const struct sockaddr_storage *a, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < 4 && o < len; i++) {
        char ip[INET6_ADDRSTRLEN];
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", jl_ip(&a[i], ip, sizeof ip));
    }
    if (n > 4 && o < len)
        snprintf(buf + o, len - o, " and %zu more", n - 4);
    return buf;
}

/* ---- names --------------------------------------------------------------- */

static bool jl_label_ok(const char *p, size_t n)
{
    if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!(c == '-' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z')))
            return false;
    }
    return true;
}

static bool jl_ends_with(const char *name, size_t n, const char *suffix)
{
    size_t s = strlen(suffix);
    return n >= s && strncasecmp(name + n - s, suffix, s) == 0 &&
           (n == s || name[n - s - 1] == '.');
}

bool doctor_judge_fqdn(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n && name[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    int labels = 0;
    bool digits_only = true;            /* of the last label: an IP address */
    for (const char *p = name, *end = name + n; p < end;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        if (!jl_label_ok(p, len))
            return false;
        labels++;
        digits_only = strspn(p, "0123456789") >= len;
        p += len + 1;
    }
    return labels >= 2 && !digits_only && !jl_ends_with(name, n, "localhost") &&
           !jl_ends_with(name, n, "localdomain") && !jl_ends_with(name, n, "local");
}

bool doctor_judge_is_spf(const char *text, size_t len)
{
    return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

/* ---- port 25 -------------------------------------------------------------- */

static bool jl_direct(const struct egress *e)
{
    return !e || e->kind == EGRESS_DIRECT;
}

/* "mx.example.com [192.0.2.1]:25" */
static void jl_where(char *buf, size_t len, const doctor_port25 *p)
{
    char ip[INET6_ADDRSTRLEN], host[128];
    snprintf(buf, len, "%s [%s]:%d", jl_clean(host, sizeof host, p->host ? p->host : "?"),
             jl_ip(p->addr, ip, sizeof ip), jl_port(p->addr));
}

static void port25_no_mx(doctor_line *l, const doctor_port25 *p)
{
    char detail[160];
    jl_set(l, "port25", DOCTOR_FAIL);
    FOUND(l, "cannot find --target %s's mail server: %s (%s)", p->target,
          dns_status_name(p->mx->status), jl_clean(detail, sizeof detail, p->mx->detail));
    if (p->mx->status == DNS_ERROR)
        FIX(l, "check this host's DNS resolver (or --dns SERVER), then run doctor again");
    else
        FIX(l, "use --target with a domain that receives mail (the default is gmail.com)");
}

static void port25_connect(doctor_line *l, const doctor_port25 *p, const char *where,
                           const char *via)
{
    const doctor_smtp_result *r = p->res;
    bool direct = jl_direct(p->route);
    char egress[200];
    jl_set(l, "port25", DOCTOR_FAIL);
    switch (r->err) {
    case UV_ENOTSUP:
        FOUND(l, "%sthis build cannot connect through %s routes yet", via,
              p->route && p->route->kind == EGRESS_BIND ? "--bind" : "--proxy");
        FIX(l, "run doctor without --proxy/--bind, or use a mailvet that supports them");
        return;
    case CONN_EEGRESS:
        FOUND(l, "%sthe route failed: %s", via, jl_clean(egress, sizeof egress, r->egress));
        FIX(l, "%s", p->route && p->route->kind == EGRESS_BIND
                         ? "check that the --bind address belongs to this host"
                         : "check the --proxy host, port, user and password");
        return;
    case UV_ETIMEDOUT:
        FOUND(l, "%sno answer from %s within %g s (tried %d address%s)", via, where,
              p->connect_timeout, p->tries, p->tries == 1 ? "" : "es");
        break;
    case UV_ECONNREFUSED:
        FOUND(l, "%sconnection to %s refused", via, where);
        break;
    case UV_EHOSTUNREACH:
    case UV_ENETUNREACH:
        FOUND(l, "%sno route to %s (%s)", via, where, uv_strerror(r->err));
        break;
    default:
        FOUND(l, "%scannot connect to %s: %s", via, where, uv_strerror(r->err));
        break;
    }
    if (direct)
        FIX(l, "port 25 blocked? cloud providers block outbound port 25: ask yours to open "
               "it, or %s", PROXY_HINT);
    else
        FIX(l, "the route cannot reach port 25: many proxies block it; use one that allows "
               "outbound SMTP");
}

static void port25_banner(doctor_line *l, const doctor_port25 *p, const char *where,
                          const char *via)
{
    const doctor_smtp_result *r = p->res;
    char text[200];
    jl_clean(text, sizeof text, r->banner);
    jl_set(l, "port25", DOCTOR_FAIL);
    if (r->err == 0) {
        FOUND(l, "%s%s refused this host: \"%s\"", via, where, text);
        FIX(l, "this host's address is probably on a blocklist (look it up on spamhaus.org); "
               "use another address or --proxy");
    } else if (r->err == UV_ETIMEDOUT) {
        FOUND(l, "%sconnected to %s in %.3f s but no banner within %g s", via, where,
              r->connect_s, p->command_timeout);
        FIX(l, "something holds port 25 open without a server behind it (a firewall or "
               "transparent proxy) or the server tarpits: try another --target, or --proxy");
    } else if (r->err == UV_EPROTO) {
        FOUND(l, "%s%s answered something that is not SMTP: \"%s\"", via, where, text);
        FIX(l, "something intercepts port 25 (a transparent proxy or firewall): use --proxy");
    } else {
        FOUND(l, "%s%s closed the connection before the banner (%s)", via, where,
              uv_strerror(r->err));
        FIX(l, "the server or a firewall drops this host: its address may be on a blocklist; "
               "use another address or --proxy");
    }
}

void doctor_judge_port25(doctor_line *l, const doctor_port25 *p)
{
    char where[400], via[620] = "", banner[200], ehlo[200], helo[128];
    if (!jl_direct(p->route))
        snprintf(via, sizeof via, "via %s: ", p->route->label);
    if (p->mx->status != DNS_OK || !p->res) {
        port25_no_mx(l, p);
        return;
    }
    jl_where(where, sizeof where, p);
    const doctor_smtp_result *r = p->res;
    if (r->stage == DSMTP_CONNECT) {
        port25_connect(l, p, where, via);
        return;
    }
    if (r->stage == DSMTP_BANNER) {
        port25_banner(l, p, where, via);
        return;
    }
    jl_clean(banner, sizeof banner, r->banner);
    jl_clean(helo, sizeof helo, p->helo);
    if (r->stage == DSMTP_EHLO) {
        jl_set(l, "port25", DOCTOR_WARN);
        if (r->ehlo_code)
            FOUND(l, "%s%s answered in %.3f s: \"%s\", but EHLO %s got \"%s\"", via, where,
                  r->banner_s, banner, helo, jl_clean(ehlo, sizeof ehlo, r->ehlo));
        else
            FOUND(l, "%s%s answered in %.3f s: \"%s\", but EHLO %s got no reply (%s)", via,
                  where, r->banner_s, banner, helo, uv_strerror(r->err));
        FIX(l, "the server dislikes the HELO name: use --helo with a name that resolves to "
               "this host (see the helo and ptr checks)");
        return;
    }
    jl_set(l, "port25", DOCTOR_OK);
    FOUND(l, "%s%s answered in %.3f s: \"%s\"; EHLO %s: %d", via, where, r->banner_s, banner,
          helo, r->ehlo_code);
}

/* ---- HELO name ------------------------------------------------------------ */

static bool jl_any_self(const dns_addrs *a, const doctor_self *self)
{
    for (size_t i = 0; i < a->n; i++)
        if (doctor_self_has(self, &a->addr[i]))
            return true;
    return false;
}

/* Why this host's public address cannot be seen, for the messages. */
static void jl_hidden_why(char *buf, size_t len, const doctor_self *self)
{
    char ips[200];
    if (self->kind == SELF_PROXY)
        snprintf(buf, len, "connections leave through the proxy, whose public address is "
                           "not visible from here");
    else if (self->nhidden)
        snprintf(buf, len, "this host has only private addresses (%s): behind NAT its public "
                           "address is not visible from here",
                 jl_ips(ips, sizeof ips, self->hidden,
                        self->nhidden < DOCTOR_SELF_HIDDEN ? self->nhidden : DOCTOR_SELF_HIDDEN));
    else
        snprintf(buf, len, "this host has no address of its own to compare with");
}

void doctor_judge_helo(doctor_line *l, const char *helo, const dns_addrs *a,
                       const doctor_self *self)
{
    char name[128], ips[200], mine[200], why[300], detail[160];
    jl_clean(name, sizeof name, helo);
    if (!doctor_judge_fqdn(helo)) {
        jl_set(l, "helo", DOCTOR_FAIL);
        FOUND(l, "HELO name '%s' is not a fully qualified domain name", name);
        FIX(l, "use --helo with this host's public DNS name (e.g. mail.example.com, with an A "
               "record for this host)");
        return;
    }
    if (a->status == DNS_LOOKUP_ERROR) {
        jl_set(l, "helo", DOCTOR_WARN);
        FOUND(l, "could not resolve %s: %s", name, jl_clean(detail, sizeof detail, a->detail));
        FIX(l, "check this host's DNS resolver (or --dns SERVER), then run doctor again");
        return;
    }
    if (a->status != DNS_LOOKUP_OK) {
        jl_set(l, "helo", DOCTOR_FAIL);
        FOUND(l, "%s has no A or AAAA record (%s)", name,
              a->status == DNS_LOOKUP_NXDOMAIN ? "NXDOMAIN" : "no address");
        if (self->n)
            FIX(l, "publish an A/AAAA record %s -> %s, or use --helo with a name that has one",
                name, jl_ips(mine, sizeof mine, self->addr, 1));
        else
            FIX(l, "publish an A record %s -> this host's public address, or use --helo with "
                   "a name that has one", name);
        return;
    }
    jl_ips(ips, sizeof ips, a->addr, a->n);
    if (self->kind == SELF_HIDDEN || self->kind == SELF_PROXY) {
        jl_hidden_why(why, sizeof why, self);
        jl_set(l, "helo", DOCTOR_WARN);
        FOUND(l, "%s resolves to %s, but %s", name, ips, why);
        FIX(l, "check by hand that %s is the address your connections leave from (%s)", ips,
            self->kind == SELF_PROXY ? "the proxy's exit address" : "the router's public address");
        return;
    }
    jl_ips(mine, sizeof mine, self->addr, self->n);
    if (!jl_any_self(a, self)) {
        jl_set(l, "helo", DOCTOR_FAIL);
        FOUND(l, "%s resolves to %s, not to this host (%s)", name, ips, mine);
        FIX(l, "point %s's A/AAAA record at %s, or use --helo with this host's own name", name,
            jl_ips(mine, sizeof mine, self->addr, 1));
        return;
    }
    jl_set(l, "helo", DOCTOR_OK);
    FOUND(l, "%s resolves to %s (this host)", name, ips);
}

/* ---- reverse DNS ------------------------------------------------------------ */

size_t doctor_judge_ptr_targets(const dns_addrs *helo_addrs, const doctor_self *self,
                                struct sockaddr_storage *out, bool *named, size_t max)
{
    size_t n = 0;
    bool helo_ok = helo_addrs && helo_addrs->status == DNS_LOOKUP_OK;
    if (self->n && helo_ok) {           /* this host's addresses the HELO name names */
        for (size_t i = 0; i < helo_addrs->n && n < max; i++) {
            if (doctor_self_has(self, &helo_addrs->addr[i])) {
                named[n] = true;
                out[n++] = helo_addrs->addr[i];
            }
        }
    }
    if (n == 0 && self->n) {            /* what their PTR says anyway */
        for (size_t i = 0; i < self->n && n < max; i++) {
            named[n] = false;
            out[n++] = self->addr[i];
        }
    }
    if (n == 0 && helo_ok) {            /* our address unknown: the HELO name's */
        for (size_t i = 0; i < helo_addrs->n && n < max; i++) {
            named[n] = true;
            out[n++] = helo_addrs->addr[i];
        }
    }
    return n;
}

static bool jl_has_addr(const dns_addrs *a, const struct sockaddr_storage *x)
{
    for (size_t i = 0; i < a->n; i++)
        if (dns_addr_equal(&a->addr[i], x))
            return true;
    return false;
}

/* The verdict for one address into L. WANT is the name its PTR should
 * give: the HELO name, or a placeholder when that is no host name at all. */
static void ptr_one(doctor_line *l, const char *helo, const doctor_ptr *p)
{
    char ip[INET6_ADDRSTRLEN], name[128], want[128], other[128], detail[160];
    jl_ip(&p->addr, ip, sizeof ip);
    jl_clean(name, sizeof name, helo);
    str_copy(want, sizeof want, doctor_judge_fqdn(helo) ? name : "this host's name");
    if (p->ptr.status == DNS_LOOKUP_ERROR) {
        jl_set(l, "ptr", DOCTOR_WARN);
        FOUND(l, "could not look up the PTR of %s: %s", ip,
              jl_clean(detail, sizeof detail, p->ptr.detail));
        FIX(l, "check this host's DNS resolver (or --dns SERVER), then run doctor again");
        return;
    }
    if (p->ptr.status != DNS_LOOKUP_OK || p->ptr.n == 0) {
        jl_set(l, "ptr", DOCTOR_FAIL);
        FOUND(l, "%s has no PTR record: many receivers refuse clients without reverse DNS", ip);
        FIX(l, "ask whoever runs %s (your hosting provider) to set its PTR to %s", ip, want);
        return;
    }
    for (size_t i = 0; i < p->ptr.n; i++) {
        if (!dns_name_equal(p->ptr.name[i], helo))
            continue;
        if (p->named_by_helo) {
            jl_set(l, "ptr", DOCTOR_OK);
            FOUND(l, "%s -> %s -> %s (forward-confirmed)", ip, name, ip);
        } else {
            jl_set(l, "ptr", DOCTOR_FAIL);
            FOUND(l, "the PTR of %s is %s, but %s does not resolve to %s", ip, name, name, ip);
            FIX(l, "add %s to %s's A/AAAA records", ip, name);
        }
        return;
    }
    jl_clean(other, sizeof other, p->ptr.name[0]);
    if (p->fwd_asked && jl_has_addr(&p->fwd, &p->addr)) {
        jl_set(l, "ptr", DOCTOR_WARN);
        FOUND(l, "%s -> %s -> %s (forward-confirmed), but the HELO name is %s", ip, other, ip,
              name);
        FIX(l, "use --helo %s, or set the PTR of %s to %s", other, ip, want);
        return;
    }
    jl_set(l, "ptr", DOCTOR_FAIL);
    FOUND(l, "the PTR of %s is %s, which does not resolve back to %s", ip, other, ip);
    FIX(l, "set the PTR of %s to %s (and %s's A/AAAA record to %s)", ip, want, want, ip);
}

void doctor_judge_ptr(doctor_line *l, const char *helo, const doctor_ptr *p, size_t n,
                      const doctor_self *self)
{
    char why[300], name[128];
    if (n == 0) {
        jl_hidden_why(why, sizeof why, self);
        jl_set(l, "ptr", DOCTOR_WARN);
        FOUND(l, "nothing to look up: the HELO name has no address and %s", why);
        FIX(l, "check by hand: the PTR of your public address should be %s, which should "
               "resolve back to it", jl_clean(name, sizeof name, helo));
        return;
    }
    /* The HELO name's addresses must all be right: tell the worst. This
     * host's own addresses (the HELO name names none): tell the best, whose
     * name may be the HELO name to use. */
    bool own = !p[0].named_by_helo;
    doctor_line one;
    size_t ok = 0;
    char list[sizeof l->found] = "";
    for (size_t i = 0; i < n; i++) {
        ptr_one(&one, helo, &p[i]);
        if (i == 0 || (own ? one.level < l->level : one.level > l->level))
            *l = one;
        if (one.level == DOCTOR_OK) {
            size_t o = strlen(list);
            jl_fmt(list + o, sizeof list - o, "%s%s", ok++ ? "; " : "", one.found);
        }
    }
    if (l->level == DOCTOR_OK && !own)
        FOUND(l, "%s", list);
    else if (own)
        jl_fmt(l->found + strlen(l->found), sizeof l->found - strlen(l->found),
               " [the HELO name does not resolve to this host: its own addresses were checked]");
    else if (n > 1)
        jl_fmt(l->found + strlen(l->found), sizeof l->found - strlen(l->found),
               " (%zu of %zu addresses fine)", ok, n);
    if (self->kind == SELF_HIDDEN || self->kind == SELF_PROXY) {
        char tmp[sizeof l->found];
        jl_hidden_why(why, sizeof why, self);
        jl_fmt(tmp, sizeof tmp, "%s [checked the HELO name's address: %s]", l->found, why);
        memcpy(l->found, tmp, sizeof l->found);
    }
}

/* ---- --from's domain ---------------------------------------------------------- */

void doctor_judge_from_mx(doctor_line *l, const char *domain, const dns_result *r)
{
    char d[128], host[128], detail[160];
    jl_clean(d, sizeof d, domain);
    jl_clean(detail, sizeof detail, r->detail);
    switch (r->status) {
    case DNS_OK:
        jl_set(l, "from-mx", DOCTOR_OK);
        if (r->implicit_mx)
            FOUND(l, "%s has no MX record but an address (implicit MX)", d);
        else
            FOUND(l, "%s has MX %s (preference %d)%s", d,
                  jl_clean(host, sizeof host, r->mx[0].host), r->mx[0].pref,
                  r->nmx > 1 ? " and more" : "");
        return;
    case DNS_ERROR:
        jl_set(l, "from-mx", DOCTOR_WARN);
        FOUND(l, "could not look up %s's MX: %s", d, detail);
        FIX(l, "check this host's DNS resolver (or --dns SERVER), then run doctor again");
        return;
    case DNS_NXDOMAIN:
        jl_set(l, "from-mx", DOCTOR_WARN);
        FOUND(l, "the --from domain %s does not exist (NXDOMAIN): servers that check "
                 "senders refuse MAIL FROM it", d);
        break;
    case DNS_NULL_MX:
        jl_set(l, "from-mx", DOCTOR_WARN);
        FOUND(l, "%s publishes a null MX (it receives no mail): receivers may refuse it as a "
                 "sender (RFC 7505)", d);
        break;
    case DNS_UNROUTABLE:
        jl_set(l, "from-mx", DOCTOR_WARN);
        FOUND(l, "%s's mail servers have only non-public addresses (%s)", d, detail);
        break;
    default:
        jl_set(l, "from-mx", DOCTOR_WARN);
        FOUND(l, "%s cannot receive mail (%s): servers that check senders refuse MAIL FROM "
                 "it", d, detail);
        break;
    }
    FIX(l, "publish an MX record for %s, or use --from with an address at a domain that "
           "receives mail", d);
}

void doctor_judge_spf(doctor_line *l, const char *domain, const dns_txts *t, const char *helo)
{
    char d[128], rec[300], name[128];
    size_t nspf = 0, first = 0;
    jl_clean(d, sizeof d, domain);
    jl_clean(name, sizeof name, helo);
    if (t->status == DNS_LOOKUP_ERROR) {
        jl_set(l, "spf", DOCTOR_WARN);
        FOUND(l, "could not look up %s's TXT records: %s", d,
              jl_clean(rec, sizeof rec, t->detail));
        FIX(l, "check this host's DNS resolver (or --dns SERVER), then run doctor again");
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (doctor_judge_is_spf(t->txt[i].text, t->txt[i].len)) {
            if (nspf++ == 0)
                first = i;
        }
    }
    if (nspf == 0) {
        jl_set(l, "spf", DOCTOR_WARN);
        FOUND(l, "%s has no SPF record: receivers trust senders whose domain has one", d);
        FIX(l, "publish a TXT record \"v=spf1 a:%s -all\" at %s (adjust to your mail servers)",
            name, d);
        return;
    }
    doctor_judge_clean(rec, sizeof rec, t->txt[first].text, t->txt[first].len);
    if (nspf > 1) {
        jl_set(l, "spf", DOCTOR_WARN);
        FOUND(l, "%s has %zu SPF records, which receivers treat as an error (RFC 7208 4.5); "
                 "the first: \"%s\"", d, nspf, rec);
        FIX(l, "merge them into one TXT record at %s", d);
        return;
    }
    jl_set(l, "spf", DOCTOR_OK);
    FOUND(l, "%s has SPF \"%s\"", d, rec);
}
