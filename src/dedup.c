/* dedup.c — mailbox keys and the index of keys seen (include/dedup.h).
 * Owns the slot table; keys are the caller's and never kept. */
#include "dedup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unicase.h>
#include <uninorm.h>

#include "hash.h"

#define MIN_SLOTS 1024u               /* a power of two */
#define ROW_BITS 40
#define ROW_MASK ((UINT64_C(1) << ROW_BITS) - 1)
#define TAG_MASK ((UINT64_C(1) << (64 - ROW_BITS)) - 1)

/* ---- the key ---- */

static size_t fold_ascii(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[n] = '\0';
    return n;
}

/* Full case folding of a UTF-8 local part, NFC; 0 when it does not fit. */
static size_t fold_utf8(const char *s, char *out, size_t cap)
{
    size_t n = cap - 1;
    uint8_t *r = u8_casefold((const uint8_t *)s, strlen(s), NULL, UNINORM_NFC, (uint8_t *)out, &n);
    if (!r)
        return 0;
    if (r != (uint8_t *)out) {        /* did not fit: libunistring allocated */
        free(r);
        return 0;
    }
    out[n] = '\0';
    return n;
}

static bool is_gmail(const char *domain)
{
    return strcmp(domain, "gmail.com") == 0 || strcmp(domain, "googlemail.com") == 0;
}

/* Gmail ignores dots and everything from a '+': drop them in place. */
static size_t gmail_local(char *local, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && local[i] != '+'; i++)
        if (local[i] != '.')
            local[o++] = local[i];
    local[o] = '\0';
    return o;
}

static bool has_high(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

size_t dedup_key(const addr *a, char *buf, size_t len)
{
    char domain[ADDR_DOMAIN_MAX + 1], local[ADDR_BUF];
    if (!a || !buf || len < 2 || !fold_ascii(a->ascii_domain, domain, sizeof domain))
        return 0;
    size_t ln = strnlen(a->local, sizeof local);
    if (ln == sizeof local)
        return 0;
    memcpy(local, a->local, ln + 1);
    if (is_gmail(domain)) {            /* before folding, which renormalises what is left */
        ln = gmail_local(local, ln);
        strcpy(domain, "gmail.com");
    }
    size_t n = has_high(local, ln) ? fold_utf8(local, buf, len) : fold_ascii(local, buf, len);
    if (!n && ln)
        return 0;
    size_t dn = strlen(domain);
    if (n + 1 + dn >= len)
        return 0;
    buf[n] = '@';
    memcpy(buf + n + 1, domain, dn + 1);
    return n + 1 + dn;
}

/* ---- the hash: two seeded 64-bit hashes of the key ---- */

static uint64_t hash64(uint64_t seed, const unsigned char *p, size_t n)
{
    uint64_t h = hash_fmix64(seed ^ ((uint64_t)n * UINT64_C(0x9e3779b97f4a7c15)));
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = hash_fmix64(h ^ w);
    }
    if (n) {                          /* the length is in the seed: zero padding is safe */
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = hash_fmix64(h ^ w);
    }
    return h;
}

/* ---- the index ---- */

/* hi: the first 64 hash bits (also the position); lo: 24 more hash bits
 * over row + 1 (0 = empty slot). */
typedef struct slot {
    uint64_t hi, lo;
} slot;

struct dedup {
    slot *s;
    size_t cap;                       /* slots, a power of two */
    uint64_t n;
    uint64_t seed[2];
};

dedup *dedup_new(uint64_t expect)
{
    if (expect > DEDUP_EXPECT_MAX)
        expect = DEDUP_EXPECT_MAX;
    size_t cap = MIN_SLOTS;
    while ((uint64_t)cap * 3 < expect * 4)          /* room for EXPECT under 3/4 full */
        cap *= 2;
    dedup *d = calloc(1, sizeof *d);
    if (!d || !(d->s = calloc(cap, sizeof *d->s))) {
        free(d);
        return NULL;
    }
    d->cap = cap;
    if (getrandom(d->seed, sizeof d->seed, GRND_NONBLOCK) != (ssize_t)sizeof d->seed) {
        d->seed[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)d;   /* only collision-resistance is weaker */
        d->seed[1] = hash_fmix64(d->seed[0] + 1);
    }
    return d;
}

void dedup_free(dedup *d)
{
    if (!d)
        return;
    free(d->s);
    free(d);
}

static void place(slot *s, size_t cap, slot v)
{
    size_t i = (size_t)v.hi & (cap - 1);
    while (s[i].lo)
        i = (i + 1) & (cap - 1);
    s[i] = v;
}

/* Double the table; false (the old one kept) when out of memory. */
static bool grow(dedup *d)
{
    size_t cap = d->cap * 2;
    slot *s = cap > d->cap ? calloc(cap, sizeof *s) : NULL;
    if (!s)
        return false;
    for (size_t i = 0; i < d->cap; i++)
        if (d->s[i].lo)
            place(s, cap, d->s[i]);
    free(d->s);
    d->s = s;
    d->cap = cap;
    return true;
}

bool dedup_seen(dedup *d, const char *key, size_t len, uint64_t row, uint64_t *first)
{
    uint64_t hi = hash64(d->seed[0], (const unsigned char *)key, len);
    uint64_t tag = hash64(d->seed[1], (const unsigned char *)key, len) & TAG_MASK;
    size_t i = (size_t)hi & (d->cap - 1);
    for (; d->s[i].lo; i = (i + 1) & (d->cap - 1))
        if (d->s[i].hi == hi && d->s[i].lo >> ROW_BITS == tag) {
            *first = (d->s[i].lo & ROW_MASK) - 1;
            return true;
        }
    if (row > DEDUP_ROW_MAX || d->n + 1 >= d->cap)   /* keep one slot empty: probes end */
        return false;
    slot v = {hi, tag << ROW_BITS | (row + 1)};
    if ((d->n + 1) * 4 > (uint64_t)d->cap * 3 && grow(d))
        place(d->s, d->cap, v);
    else
        d->s[i] = v;                  /* the empty slot the probe ended on */
    d->n++;
    return false;
}

uint64_t dedup_count(const dedup *d)
{
    return d->n;
}

size_t dedup_bytes(const dedup *d)
{
    return d->cap * sizeof *d->s;
}
