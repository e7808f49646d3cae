/* dns_mxset.c — hash-consed MX sets (include/dns_mxset.h).
 *
 * A set is one allocation: a header and a blob of records in canonical
 * order, each record
 *
 *     pref (2 bytes, big-endian) · naddr (1) · naddr × (family 4|6, then
 *     4 or 16 address bytes) · host name · NUL
 *
 * The blob says everything about the set, so hashing it and comparing it
 * byte for byte is the identity test. Canonical order is the records'
 * byte order (preference first): two domains listing the same hosts in
 * another order (equal preferences, rotated answers) share the set, and
 * their dns_mxorder tells them apart.
 */
#include "dns_mxset.h"

#include "str.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MXREC_MAX (3 + DNS_MAX_ADDRS * DNS_IP_PACKED_MAX + DNS_NAME_MAX + 1)

_Static_assert(DNS_MAX_MX <= 8, "dns_mxorder holds 3 bits per host");
_Static_assert(DNS_MAX_MX * MXREC_MAX <= UINT16_MAX, "blob length is 16 bits");

struct dns_mxset {
    htab_node h;
    unsigned refs;
    uint16_t len;               /* of blob */
    uint8_t n;                  /* records */
    uint8_t blob[];
};

typedef struct mxkey {          /* what htab_find compares a set with */
    const uint8_t *blob;
    size_t len;
} mxkey;

static bool mxset_eq(const htab_node *h, const void *key)
{
    const dns_mxset *s = HTAB_ENTRY(h, const dns_mxset, h);
    const mxkey *k = key;
    return s->len == k->len && !memcmp(s->blob, k->blob, k->len);
}

void dns_mxsets_init(dns_mxsets *t)
{
    if (!htab_init(&t->tab, 64, mxset_eq)) {
        fputs("mailvet: out of memory in dns\n", stderr);
        abort();
    }
}

void dns_mxsets_free(dns_mxsets *t)
{
    htab_iter it;
    htab_iter_init(&it, &t->tab);
    for (htab_node *h; (h = htab_iter_next(&it)); )
        free(HTAB_ENTRY(h, dns_mxset, h));
    htab_free(&t->tab);
}

/* One record for IN at OUT; its length. */
static size_t mxrec_put(uint8_t *out, const dns_mxin *in)
{
    size_t o = 0, hl = strlen(in->host);
    assert(in->pref >= 0 && in->pref <= 65535);
    assert(in->n >= 1 && in->n <= DNS_MAX_ADDRS);
    assert(hl >= 1 && hl <= DNS_NAME_MAX);
    out[o++] = (uint8_t)(in->pref >> 8);
    out[o++] = (uint8_t)in->pref;
    out[o++] = (uint8_t)in->n;
    for (size_t i = 0; i < in->n; i++) {
        assert(in->ip[i].fam == 4 || in->ip[i].fam == 6);
        o += dns_ip_pack(&in->ip[i], out + o);
    }
    memcpy(out + o, in->host, hl + 1);
    return o + hl + 1;
}

/* The record starting at P ends where? */
static const uint8_t *mxrec_end(const uint8_t *p)
{
    const uint8_t *q = p + 3;
    dns_ip ip;
    for (unsigned i = 0; i < p[2]; i++)
        q += dns_ip_unpack(q, &ip);
    return q + strlen((const char *)q) + 1;
}

static int mxrec_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The records of IN, canonical order, into BLOB; *ORDER maps IN to it. */
static size_t mxset_encode(const dns_mxin *in, size_t n, uint8_t *blob, dns_mxorder *order)
{
    uint8_t raw[DNS_MAX_MX][MXREC_MAX];
    size_t len[DNS_MAX_MX], idx[DNS_MAX_MX], total = 0;
    for (size_t i = 0; i < n; i++) {
        len[i] = mxrec_put(raw[i], &in[i]);
        size_t k = i;           /* insertion sort: stable, n <= 8 */
        while (k > 0 && mxrec_cmp(raw[idx[k - 1]], len[idx[k - 1]], raw[i], len[i]) > 0) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = i;
    }
    *order = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(blob + total, raw[idx[k]], len[idx[k]]);
        total += len[idx[k]];
        *order |= (dns_mxorder)k << (3 * idx[k]);
    }
    return total;
}

dns_mxset *dns_mxset_intern(dns_mxsets *t, const dns_mxin *in, size_t n, dns_mxorder *order)
{
    uint8_t blob[DNS_MAX_MX * MXREC_MAX];
    assert(n >= 1 && n <= DNS_MAX_MX);
    mxkey key = {blob, mxset_encode(in, n, blob, order)};
    uint32_t hash = htab_hash_bytes(blob, key.len);
    htab_node *h = htab_find(&t->tab, hash, &key);
    if (h) {
        dns_mxset *s = HTAB_ENTRY(h, dns_mxset, h);
        s->refs++;
        return s;
    }
    dns_mxset *s = malloc(offsetof(dns_mxset, blob) + key.len);
    if (!s) {
        fputs("mailvet: out of memory in dns\n", stderr);
        abort();
    }
    memset(s, 0, offsetof(dns_mxset, blob));
    s->refs = 1;
    s->len = (uint16_t)key.len;
    s->n = (uint8_t)n;
    memcpy(s->blob, blob, key.len);
    htab_insert(&t->tab, &s->h, hash);
    return s;
}

void dns_mxset_release(dns_mxsets *t, dns_mxset *s)
{
    assert(s->refs > 0);
    if (--s->refs)
        return;
    htab_remove(&t->tab, &s->h);
    free(s);
}

/* The record at P as the caller's view of one MX host. */
static void mxrec_get(const uint8_t *p, dns_mx *m)
{
    const uint8_t *q = p + 3;
    m->pref = p[0] << 8 | p[1];
    m->naddrs = p[2];
    for (unsigned i = 0; i < p[2]; i++) {
        dns_ip ip;
        q += dns_ip_unpack(q, &ip);
        dns_ip_to_sa(&ip, &m->addrs[i]);
    }
    str_copy(m->host, sizeof m->host, (const char *)q);
}

void dns_mxset_fill(const dns_mxset *s, dns_mxorder order, dns_result *res)
{
    const uint8_t *rec[DNS_MAX_MX], *p = s->blob;
    for (unsigned k = 0; k < s->n; k++) {
        rec[k] = p;
        p = mxrec_end(p);
    }
    res->nmx = s->n;
    for (unsigned i = 0; i < s->n; i++)
        mxrec_get(rec[(order >> (3 * i)) & 7], &res->mx[i]);
}

size_t dns_mxsets_count(const dns_mxsets *t)
{
    return htab_count(&t->tab);
}

unsigned dns_mxset_refs(const dns_mxset *s)
{
    return s->refs;
}

size_t dns_mxset_size(const dns_mxset *s)
{
    return offsetof(dns_mxset, blob) + s->len;
}
