/* dns_lookup.c — addresses, PTR names and TXT records of a name, asked
 * through the mail resolver's dns_query() and parsed with c-ares' parsers
 * (see include/dns_lookup.h). Owns one small job per lookup: the caller's
 * callback, the parsed answer, and for addresses the A and AAAA halves.
 *
 * Answers may be hostile: every count and length is capped before copying,
 * and a PTR answer's names are kept only when they are printable host names.
 */
#include "dns_lookup.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

enum { T_A = 1, T_PTR = 12, T_TXT = 16, T_AAAA = 28 };

#define PARSE_MAX 32                /* A/AAAA records parsed per answer */

static void *lk_alloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p) {                       /* as dns.c: no sensible way on */
        fputs("mailvet: out of memory in dns_lookup\n", stderr);
        abort();
    }
    return p;
}

/* What a non-success status means for the result. */
static dns_lookup_status lk_status(int ares_status)
{
    switch (ares_status) {
    case ARES_SUCCESS: return DNS_LOOKUP_OK;
    case ARES_ENODATA: return DNS_LOOKUP_NODATA;
    case ARES_ENOTFOUND: return DNS_LOOKUP_NXDOMAIN;
    default: return DNS_LOOKUP_ERROR;
    }
}

/* ---- addresses: A and AAAA ------------------------------------------------ */

typedef struct lk_addrs {
    dns_addrs res;
    dns_addrs_cb cb;
    void *ud;
    int left, st4, st6;
    size_t n4, n6;
    struct sockaddr_storage v4[DNS_LOOKUP_ADDRS], v6[DNS_LOOKUP_ADDRS];
    char name[DNS_NAME_MAX + 2];
} lk_addrs;

static int lk_take_a(lk_addrs *j, const unsigned char *abuf, int alen)
{
    struct ares_addrttl t[PARSE_MAX];
    int n = PARSE_MAX;
    int st = ares_parse_a_reply(abuf, alen, NULL, t, &n);
    for (int i = 0; st == ARES_SUCCESS && i < n; i++) {
        if (j->n4 == DNS_LOOKUP_ADDRS) {
            j->res.cut = true;
            break;
        }
        struct sockaddr_in *s4 = (struct sockaddr_in *)&j->v4[j->n4++];
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, &t[i].ipaddr, 4);
    }
    return st;
}

static int lk_take_aaaa(lk_addrs *j, const unsigned char *abuf, int alen)
{
    struct ares_addr6ttl t[PARSE_MAX];
    int n = PARSE_MAX;
    int st = ares_parse_aaaa_reply(abuf, alen, NULL, t, &n);
    for (int i = 0; st == ARES_SUCCESS && i < n; i++) {
        if (j->n6 == DNS_LOOKUP_ADDRS) {
            j->res.cut = true;
            break;
        }
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&j->v6[j->n6++];
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, &t[i].ip6addr, 16);
    }
    return st;
}

static bool lk_benign(int st)       /* an answer that just has no address */
{
    return st == ARES_SUCCESS || st == ARES_ENODATA || st == ARES_ENOTFOUND;
}

/* Both halves in: IPv4 first, then IPv6, within DNS_LOOKUP_ADDRS. */
static void lk_addrs_finish(lk_addrs *j)
{
    dns_addrs *r = &j->res;
    for (size_t i = 0; i < j->n4; i++)
        r->addr[r->n++] = j->v4[i];
    for (size_t i = 0; i < j->n6 && r->n < DNS_LOOKUP_ADDRS; i++)
        r->addr[r->n++] = j->v6[i];
    r->cut |= r->n < j->n4 + j->n6;
    if (r->n)
        r->status = DNS_LOOKUP_OK;
    else if (j->st4 == ARES_ENOTFOUND && j->st6 == ARES_ENOTFOUND)
        r->status = DNS_LOOKUP_NXDOMAIN;
    else if (lk_benign(j->st4) && lk_benign(j->st6))
        r->status = DNS_LOOKUP_NODATA;
    else
        r->status = DNS_LOOKUP_ERROR;
    if (r->status == DNS_LOOKUP_ERROR) {
        bool a_bad = !lk_benign(j->st4);
        dns_error_text(r->detail, sizeof r->detail, a_bad ? j->st4 : j->st6,
                       a_bad ? T_A : T_AAAA, j->name);
    } else if (r->status != DNS_LOOKUP_OK) {
        dns_error_text(r->detail, sizeof r->detail, j->st4, T_A, j->name);
    }
    j->cb(j->ud, r);
    free(j);
}

static void lk_addrs_answer(lk_addrs *j, int type, int status, const unsigned char *abuf,
                            int alen)
{
    if (status == ARES_SUCCESS)
        status = type == T_A ? lk_take_a(j, abuf, alen) : lk_take_aaaa(j, abuf, alen);
    if (type == T_A)
        j->st4 = status;
    else
        j->st6 = status;
    if (--j->left == 0)
        lk_addrs_finish(j);
}

static void lk_a_cb(void *ud, int status, const unsigned char *abuf, int alen)
{
    lk_addrs_answer(ud, T_A, status, abuf, alen);
}

static void lk_aaaa_cb(void *ud, int status, const unsigned char *abuf, int alen)
{
    lk_addrs_answer(ud, T_AAAA, status, abuf, alen);
}

void dns_lookup_addrs(dns_resolver *r, const char *name, dns_addrs_cb cb, void *ud)
{
    lk_addrs *j = lk_alloc(sizeof *j);
    j->cb = cb;
    j->ud = ud;
    j->left = 2;
    str_copy(j->name, sizeof j->name, name);
    dns_query(r, name, T_A, lk_a_cb, j);
    dns_query(r, name, T_AAAA, lk_aaaa_cb, j);
}

/* ---- PTR ------------------------------------------------------------------ */

typedef struct lk_names {
    dns_names res;
    dns_names_cb cb;
    void *ud;
    struct sockaddr_storage sa;
    char qname[80];
} lk_names;

bool dns_lookup_reverse_name(const struct sockaddr *sa, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    if (sa->sa_family == AF_INET) {
        const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        int n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
        return n > 0 && (size_t)n < outlen;
    }
    if (sa->sa_family != AF_INET6 || outlen < 16 * 4 + sizeof "ip6.arpa")
        return false;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    char *p = out;
    for (int i = 15; i >= 0; i--) { /* nibbles, lowest first (RFC 3596 §2.5) */
        *p++ = hex[a[i] & 15];
        *p++ = '.';
        *p++ = hex[a[i] >> 4];
        *p++ = '.';
    }
    memcpy(p, "ip6.arpa", sizeof "ip6.arpa");
    return true;
}

/* A name fit to keep and print: host-name bytes only, not empty. */
static bool lk_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DNS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
              ((c | 32) >= 'a' && (c | 32) <= 'z')))
            return false;
    }
    return true;
}

static void lk_names_add(dns_names *r, const char *name)
{
    if (!lk_name_ok(name))
        return;
    if (r->n == DNS_LOOKUP_NAMES) {
        r->cut = true;
        return;
    }
    char *dst = r->name[r->n++];
    str_copy(dst, DNS_NAME_MAX + 1, name);
    size_t len = strlen(dst);
    if (len > 1 && dst[len - 1] == '.')
        dst[len - 1] = '\0';
}

static int lk_take_ptr(dns_names *r, const struct sockaddr *sa, const unsigned char *abuf,
                       int alen)
{
    struct hostent *h = NULL;
    const void *addr;
    int addrlen;
    if (sa->sa_family == AF_INET) {
        addr = &((const struct sockaddr_in *)sa)->sin_addr;
        addrlen = 4;
    } else if (sa->sa_family == AF_INET6) {
        addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        addrlen = 16;
    } else {
        return ARES_EBADFAMILY;
    }
    int st = ares_parse_ptr_reply(abuf, alen, addr, addrlen, sa->sa_family, &h);
    if (st != ARES_SUCCESS)
        return st;
    /* c-ares lists every PTR name among the aliases (h_name is one of them) */
    for (size_t i = 0; h->h_aliases && h->h_aliases[i]; i++)
        lk_names_add(r, h->h_aliases[i]);
    if (r->n == 0 && h->h_name)
        lk_names_add(r, h->h_name);
    ares_free_hostent(h);
    return r->n ? ARES_SUCCESS : ARES_ENODATA;
}

dns_lookup_status dns_lookup_parse_ptr(const unsigned char *abuf, int alen,
                                       const struct sockaddr *sa, dns_names *out)
{
    memset(out, 0, sizeof *out);
    out->status = lk_status(lk_take_ptr(out, sa, abuf, alen));
    return out->status;
}

static void lk_ptr_cb(void *ud, int status, const unsigned char *abuf, int alen)
{
    lk_names *j = ud;
    if (status == ARES_SUCCESS)
        status = lk_take_ptr(&j->res, (const struct sockaddr *)&j->sa, abuf, alen);
    j->res.status = lk_status(status);
    if (!j->qname[0])
        snprintf(j->res.detail, sizeof j->res.detail, "not an IP address");
    else if (status != ARES_SUCCESS)
        dns_error_text(j->res.detail, sizeof j->res.detail, status, T_PTR, j->qname);
    j->cb(j->ud, &j->res);
    free(j);
}

void dns_lookup_ptr(dns_resolver *r, const struct sockaddr *sa, dns_names_cb cb, void *ud)
{
    lk_names *j = lk_alloc(sizeof *j);
    j->cb = cb;
    j->ud = ud;
    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        memcpy(&j->sa, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                     : sizeof(struct sockaddr_in6));
        dns_lookup_reverse_name(sa, j->qname, sizeof j->qname);
    }
    /* an empty name comes back as ARES_EBADNAME, from the loop */
    dns_query(r, j->qname[0] ? j->qname : NULL, T_PTR, lk_ptr_cb, j);
}

/* ---- TXT ------------------------------------------------------------------ */

typedef struct lk_txts {
    dns_txts res;
    dns_txts_cb cb;
    void *ud;
    char name[DNS_NAME_MAX + 2];
} lk_txts;

/* Append one character-string to the current record, within the cap. */
static void lk_txt_append(dns_txt *t, const unsigned char *s, size_t len)
{
    size_t room = DNS_LOOKUP_TXT_MAX - t->len;
    if (len > room) {
        len = room;
        t->cut = true;
    }
    memcpy(t->text + t->len, s, len);
    t->len += len;
    t->text[t->len] = '\0';
}

static int lk_take_txt(dns_txts *r, const unsigned char *abuf, int alen)
{
    struct ares_txt_ext *txt = NULL;
    int st = ares_parse_txt_reply_ext(abuf, alen, &txt);
    if (st != ARES_SUCCESS)
        return st;
    dns_txt *cur = NULL;
    for (struct ares_txt_ext *p = txt; p; p = p->next) {
        if (p->record_start || !cur) {
            if (r->n == DNS_LOOKUP_TXTS) {
                r->cut = true;
                break;
            }
            cur = &r->txt[r->n++];
        }
        lk_txt_append(cur, p->txt, p->length);
    }
    ares_free_data(txt);
    return r->n ? ARES_SUCCESS : ARES_ENODATA;
}

dns_lookup_status dns_lookup_parse_txt(const unsigned char *abuf, int alen, dns_txts *out)
{
    memset(out, 0, sizeof *out);
    out->status = lk_status(lk_take_txt(out, abuf, alen));
    return out->status;
}

static void lk_txt_cb(void *ud, int status, const unsigned char *abuf, int alen)
{
    lk_txts *j = ud;
    if (status == ARES_SUCCESS)
        status = lk_take_txt(&j->res, abuf, alen);
    j->res.status = lk_status(status);
    if (status != ARES_SUCCESS)
        dns_error_text(j->res.detail, sizeof j->res.detail, status, T_TXT, j->name);
    j->cb(j->ud, &j->res);
    free(j);
}

void dns_lookup_txt(dns_resolver *r, const char *name, dns_txts_cb cb, void *ud)
{
    lk_txts *j = lk_alloc(sizeof *j);
    j->cb = cb;
    j->ud = ud;
    str_copy(j->name, sizeof j->name, name);
    dns_query(r, name, T_TXT, lk_txt_cb, j);
}
