/* dns_cname.c — following a CNAME chain through a raw answer (dns_cname.h).
 * Owns nothing beyond the call: the names c-ares expands are freed here. */
#include "dns_cname.h"

#include <ares.h>
#include <stddef.h>
#include <strings.h>

#define RECORDS_MAX 32            /* CNAME records looked at per answer */
#define T_CNAME_RR 5

typedef struct chain {
    char *owner[RECORDS_MAX], *target[RECORDS_MAX];
    int n;
} chain;

static unsigned u16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Skip the name at *P (compressed or not); false when malformed. */
static bool skip_name(const unsigned char **p, const unsigned char *abuf, int alen)
{
    char *name;
    long len;
    if (ares_expand_name(*p, abuf, alen, &name, &len) != ARES_SUCCESS)
        return false;
    ares_free_string(name);
    *p += len;
    return true;
}

/* One answer record at *P: a CNAME is kept in C. False at the end or on damage. */
static bool take_record(const unsigned char **p, const unsigned char *abuf, int alen, chain *c)
{
    const unsigned char *end = abuf + alen;
    char *owner, *target;
    long len;
    if (ares_expand_name(*p, abuf, alen, &owner, &len) != ARES_SUCCESS)
        return false;
    *p += len;
    if (end - *p < 10 || end - *p - 10 < (long)u16(*p + 8)) {
        ares_free_string(owner);
        return false;
    }
    unsigned type = u16(*p), rdlen = u16(*p + 8);
    *p += 10;
    if (type == T_CNAME_RR && c->n < RECORDS_MAX &&
        ares_expand_name(*p, abuf, alen, &target, &len) == ARES_SUCCESS) {
        c->owner[c->n] = owner;
        c->target[c->n++] = target;
    } else {
        ares_free_string(owner);
    }
    *p += rdlen;
    return true;
}

static const char *next_in_chain(const chain *c, const char *name)
{
    for (int k = 0; k < c->n; k++)
        if (strcasecmp(c->owner[k], name) == 0)
            return c->target[k];
    return NULL;
}

bool dns_cname_loops(const unsigned char *abuf, int alen, const char *qname)
{
    if (!abuf || alen < 12)
        return false;
    const unsigned char *p = abuf + 12;
    unsigned qd = u16(abuf + 4), an = u16(abuf + 6);
    for (unsigned i = 0; i < qd; i++) {
        if (!skip_name(&p, abuf, alen) || abuf + alen - p < 4)
            return false;
        p += 4;
    }
    chain c = {.n = 0};
    for (unsigned i = 0; i < an && take_record(&p, abuf, alen, &c); i++)
        ;
    int steps = 0;
    for (const char *cur = qname; (cur = next_in_chain(&c, cur)) && steps <= DNS_CNAME_CHAIN_MAX;)
        steps++;
    for (int k = 0; k < c.n; k++) {
        ares_free_string(c.owner[k]);
        ares_free_string(c.target[k]);
    }
    return steps > DNS_CNAME_CHAIN_MAX;
}
