/* lists.c — role, free-provider, disposable and typo tables from data/.
 *
 * Owns the loading of the list files (see data/SOURCES.md) into simple
 * open-addressing hash sets of lower-case ASCII strings, and the lookups on
 * them, including the "did you mean" suggestion. After lists_load() returns
 * nothing is written again, so lookups are lock-free.
 *
 * Choices:
 *  - disposable = disposable.txt ∪ disposable-wildcard.txt; a domain is
 *    disposable when it or any parent is in the set.
 *  - free = free-freemail.txt ∪ free.txt, minus every entry that is
 *    disposable (free.txt mixes in disposable lists; see SOURCES.md).
 *  - popular = mailcheck ∪ zootools popular domains, plus the targets of
 *    data/typos.tsv (the lists lack yahoo.com, hotmail.com, outlook.com…).
 *  - Entries that are not ASCII are skipped: every U-label in these lists
 *    is also present as an A-label, and lookups use the A-label form.
 */
#include "lists.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 255 /* longest entry (a domain) kept */

/* ---- hash set (optionally with a value per key) ------------------------ */

/* Keys (and values) live in one arena as "key\0value\0"; a slot holds the
 * key's offset + 1, 0 meaning empty. */
typedef struct hset {
    uint32_t *slot;
    size_t mask, count;
    char *arena;
    size_t used, cap;
} hset;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void hset_free(hset *h)
{
    free(h->slot);
    free(h->arena);
    *h = (hset){0};
}

/* Slot index for key S: where it is, or the empty slot where it would go. */
static size_t hset_find(const hset *h, const char *s, size_t n)
{
    size_t i = (size_t)hash(s, n) & h->mask;
    for (;; i = (i + 1) & h->mask) {
        uint32_t o = h->slot[i];
        if (o == 0)
            return i;
        const char *k = h->arena + o - 1;
        if (strncmp(k, s, n) == 0 && k[n] == '\0')
            return i;
    }
}

static const char *hset_get(const hset *h, const char *s, size_t n)
{
    if (h->slot == NULL)
        return NULL;
    uint32_t o = h->slot[hset_find(h, s, n)];
    return o ? h->arena + o - 1 : NULL;
}

static bool hset_has(const hset *h, const char *s, size_t n) { return hset_get(h, s, n) != NULL; }

/* The value stored after KEY (the empty string for a plain set). */
static const char *hset_value(const char *key) { return key + strlen(key) + 1; }

static bool hset_grow(hset *h)
{
    size_t cap = h->slot ? (h->mask + 1) * 2 : 1024;
    uint32_t *old = h->slot;
    size_t oldcap = h->slot ? h->mask + 1 : 0;
    h->slot = calloc(cap, sizeof *h->slot);
    if (h->slot == NULL) {
        h->slot = old;
        return false;
    }
    h->mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i]) {
            const char *k = h->arena + old[i] - 1;
            h->slot[hset_find(h, k, strlen(k))] = old[i];
        }
    free(old);
    return true;
}

static bool arena_put(hset *h, const char *s, size_t n)
{
    if (h->used + n + 1 > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 65536;
        while (cap < h->used + n + 1)
            cap *= 2;
        if (cap > UINT32_MAX)
            return false;
        char *a = realloc(h->arena, cap);
        if (a == NULL)
            return false;
        h->arena = a;
        h->cap = cap;
    }
    memcpy(h->arena + h->used, s, n);
    h->arena[h->used + n] = '\0';
    h->used += n + 1;
    return true;
}

/* Add KEY (with VALUE, may be "") unless present. Keeps load <= 1/2. */
static bool hset_add(hset *h, const char *key, size_t kn, const char *value)
{
    if ((h->count + 1) * 2 > (h->slot ? h->mask + 1 : 0) && !hset_grow(h))
        return false;
    size_t i = hset_find(h, key, kn);
    if (h->slot[i])
        return true;
    size_t off = h->used;
    if (!arena_put(h, key, kn) || !arena_put(h, value, strlen(value)))
        return false;
    h->slot[i] = (uint32_t)off + 1;
    h->count++;
    return true;
}

/* ---- the tables -------------------------------------------------------- */

struct lists {
    hset roles, free, disposable, popular, sld, tld;
    hset typos;             /* typo -> correct; keys starting "." are TLD fixes */
    size_t *pop;            /* arena offsets of the popular domains, in file order */
    size_t npop;
};

/* Copy N bytes of S lower-cased into OUT (OUTLEN); false if it does not
 * fit or is not ASCII. */
static bool ascii_lower(const char *s, size_t n, char *out, size_t outlen)
{
    if (n >= outlen)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            return false;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[n] = '\0';
    return true;
}

typedef bool (*line_fn)(lists *l, void *ctx, char *key, char *value);

/* Call FN for every entry of DIR/NAME: one per line, "#" comments and
 * blank lines skipped, lower-cased; a TAB separates key and value. */
static bool load_file(lists *l, const char *dir, const char *name, line_fn fn, void *ctx, char *err,
                      size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open %s", path);
        return false;
    }
    char line[1024], key[NAME_MAX_LEN + 1];
    bool ok = true;
    while (ok && fgets(line, sizeof line, fp)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        const char *val = tab ? tab + 1 : "";
        size_t kn = tab ? (size_t)(tab - line) : n;
        if (!ascii_lower(line, kn, key, sizeof key))
            continue; /* U-labels: their A-label is listed too */
        ok = fn(l, ctx, key, (char *)val);
    }
    if (!ok)
        snprintf(err, errlen, "out of memory loading %s", path);
    else if (ferror(fp)) {
        snprintf(err, errlen, "cannot read %s", path);
        ok = false;
    }
    fclose(fp);
    return ok;
}

static bool add_to_set(lists *l, void *ctx, char *key, char *value)
{
    (void)l;
    (void)value;
    return hset_add(ctx, key, strlen(key), "");
}

static bool add_free(lists *l, void *ctx, char *key, char *value)
{
    (void)ctx;
    (void)value;
    if (lists_is_disposable(l, key))
        return true;
    return hset_add(&l->free, key, strlen(key), "");
}

static bool add_popular(lists *l, const char *d)
{
    size_t n = strlen(d);
    if (hset_has(&l->popular, d, n))
        return true;
    if (!hset_add(&l->popular, d, n, ""))
        return false;
    size_t *p = realloc(l->pop, (l->npop + 1) * sizeof *p);
    if (p == NULL)
        return false;
    l->pop = p;
    p[l->npop++] = (size_t)(hset_get(&l->popular, d, n) - l->popular.arena); /* the arena may move */
    return true;
}

static bool add_popular_line(lists *l, void *ctx, char *key, char *value)
{
    (void)ctx;
    (void)value;
    return add_popular(l, key);
}

static bool add_typo(lists *l, void *ctx, char *key, char *value)
{
    (void)ctx;
    char v[NAME_MAX_LEN + 1];
    if (!ascii_lower(value, strlen(value), v, sizeof v) || v[0] == '\0')
        return true;
    if (!hset_add(&l->typos, key, strlen(key), v))
        return false;
    return key[0] == '.' || add_popular(l, v);
}

lists *lists_load(const char *dir, char *err, size_t errlen)
{
    lists *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct {
        const char *name;
        line_fn fn;
        void *ctx;
    } files[] = {
        {"roles.txt", add_to_set, &l->roles},
        {"disposable.txt", add_to_set, &l->disposable},
        {"disposable-wildcard.txt", add_to_set, &l->disposable},
        {"free-freemail.txt", add_free, NULL}, /* after disposable: see add_free */
        {"free.txt", add_free, NULL},
        {"popular-domains.txt", add_popular_line, NULL},
        {"popular-domains-zootools.txt", add_popular_line, NULL},
        {"typos.tsv", add_typo, NULL},
        {"popular-sld-mailcheck.txt", add_to_set, &l->sld},
        {"popular-sld-zootools.txt", add_to_set, &l->sld},
        {"popular-tld-mailcheck.txt", add_to_set, &l->tld},
        {"popular-tld-zootools.txt", add_to_set, &l->tld},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!load_file(l, dir, files[i].name, files[i].fn, files[i].ctx, err, errlen)) {
            lists_free(l);
            return NULL;
        }
    return l;
}

void lists_free(lists *l)
{
    if (l == NULL)
        return;
    hset *all[] = {&l->roles, &l->free, &l->disposable, &l->popular, &l->sld, &l->tld, &l->typos};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        hset_free(all[i]);
    free(l->pop);
    free(l);
}

/* ---- lookups ----------------------------------------------------------- */

bool lists_is_role(const lists *l, const char *local)
{
    char key[NAME_MAX_LEN + 1];
    size_t n = strcspn(local, "+");
    return ascii_lower(local, n, key, sizeof key) && hset_has(&l->roles, key, n);
}

bool lists_is_free(const lists *l, const char *ascii_domain)
{
    return hset_has(&l->free, ascii_domain, strlen(ascii_domain));
}

bool lists_is_disposable(const lists *l, const char *ascii_domain)
{
    for (const char *d = ascii_domain; d != NULL && *d; d = strchr(d, '.')) {
        if (*d == '.')
            d++;
        if (hset_has(&l->disposable, d, strlen(d)))
            return true;
    }
    return false;
}

bool lists_is_popular(const lists *l, const char *ascii_domain)
{
    return hset_has(&l->popular, ascii_domain, strlen(ascii_domain));
}

/* ---- did you mean ------------------------------------------------------ */

#define DIST_MAX_LEN 64

/* Optimal string alignment distance (Damerau with adjacent transpositions,
 * no substring edited twice) of A and B, both at most DIST_MAX_LEN long.
 * Stops early and returns LIMIT + 1 once every cell of a row exceeds LIMIT:
 * this runs for every new domain of a list against every popular domain. */
static size_t osa(const char *a, size_t an, const char *b, size_t bn, size_t limit)
{
    size_t r0[DIST_MAX_LEN + 1], r1[DIST_MAX_LEN + 1], r2[DIST_MAX_LEN + 1];
    size_t *pp = r0, *p = r1, *c = r2;
    for (size_t j = 0; j <= bn; j++)
        p[j] = j;
    for (size_t i = 1; i <= an; i++) {
        c[0] = i;
        size_t rowmin = i;
        for (size_t j = 1; j <= bn; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = p[j - 1] + cost;
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > limit)
            return limit + 1;
        size_t *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[bn];
}

/* Edits allowed towards a target whose first label is N long: short names
 * (me, qq, aol, hey…) sit next to too many real domains to guess at. */
static size_t threshold(size_t n)
{
    return n <= 4 ? 0 : n <= 6 ? 1 : 2;
}

/* The popular domain closest to D within its threshold, or NULL. */
static const char *closest_popular(const lists *l, const char *d, size_t dn)
{
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    for (size_t i = 0; i < l->npop; i++) {
        const char *p = l->popular.arena + l->pop[i];
        size_t pn = strlen(p), t = threshold(strcspn(p, "."));
        size_t diff = pn > dn ? pn - dn : dn - pn;
        if (t == 0 || diff > t || pn > DIST_MAX_LEN) /* cheap pruning first */
            continue;
        size_t k = osa(d, dn, p, pn, t);
        if (k <= t && k < bestd) {
            best = p;
            bestd = k;
        }
    }
    return best;
}

/* mailcheck's second-level step: "hotmial.de" -> "hotmail.de" when the
 * rest is a known suffix and the first label is close to a popular one. */
static bool fix_sld(const lists *l, const char *d, char *out, size_t outlen)
{
    size_t sn = strcspn(d, ".");
    const char *rest = d + sn;
    if (*rest != '.' || !hset_has(&l->tld, rest + 1, strlen(rest + 1)) || sn > DIST_MAX_LEN)
        return false;
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    for (size_t o = 0; o < l->sld.used; o += strlen(l->sld.arena + o) + 2) {
        const char *s = l->sld.arena + o; /* each entry is "key\0\0" */
        size_t n = strlen(s), t = threshold(n), diff = n > sn ? n - sn : sn - n;
        if (t == 0 || diff > t)
            continue;
        size_t k = osa(d, sn, s, n, t);
        if (k > 0 && k <= t && k < bestd) {
            best = s;
            bestd = k;
        }
    }
    if (best == NULL)
        return false;
    int w = snprintf(out, outlen, "%s%s", best, rest);
    return w > 0 && (size_t)w < outlen;
}

/* Replace a misspelt last label (".con") by the table's fix, into OUT. */
static bool fix_tld(const lists *l, const char *d, char *out, size_t outlen)
{
    const char *dot = strrchr(d, '.');
    if (dot == NULL || dot == d)
        return false;
    const char *k = hset_get(&l->typos, dot, strlen(dot));
    if (k == NULL)
        return false;
    int w = snprintf(out, outlen, "%.*s.%s", (int)(dot - d), d, hset_value(k));
    return w > 0 && (size_t)w < outlen;
}

static size_t put(const char *s, const char *d, char *out, size_t outlen)
{
    size_t n = strlen(s);
    if (strcmp(s, d) == 0 || n >= outlen)
        return 0;
    memcpy(out, s, n + 1);
    return n;
}

size_t lists_did_you_mean(const lists *l, const char *ascii_domain, char *out, size_t outlen)
{
    const char *d = ascii_domain;
    size_t dn = strlen(d);
    if (dn == 0 || dn > NAME_MAX_LEN || outlen == 0 || strchr(d, '.') == NULL)
        return 0;
    const char *k = hset_get(&l->typos, d, dn); /* curated entries win */
    if (k != NULL)
        return put(hset_value(k), d, out, outlen);
    if (lists_is_popular(l, d) || lists_is_free(l, d))
        return 0; /* a real domain: never second-guess it */

    char fixed[NAME_MAX_LEN + 1], buf[NAME_MAX_LEN + 1];
    bool tld_fixed = fix_tld(l, d, fixed, sizeof fixed);
    const char *cand = tld_fixed ? fixed : d;
    if ((k = hset_get(&l->typos, cand, strlen(cand))) != NULL)
        return put(hset_value(k), d, out, outlen);
    const char *p = closest_popular(l, cand, strlen(cand));
    if (p != NULL)
        return put(p, d, out, outlen);
    if (fix_sld(l, cand, buf, sizeof buf))
        return put(buf, d, out, outlen);
    return tld_fixed ? put(fixed, d, out, outlen) : 0;
}
