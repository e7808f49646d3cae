/* group.c — rows of one domain handed on together (include/group.h).
 * Owns the counting table, the sealed table and the waiting groups, whose
 * items it holds until EMIT takes them. */
#include "group.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hash.h"

#define MIN_SLOTS 1024u               /* a power of two */

/* The rows of one domain waiting for its last row, in row order; also a
 * link in the list of groups by age. */
typedef struct hold {
    engine_item *head, *tail;
    size_t n;
    size_t slot;                      /* its domain's slot in the sealed table */
    struct hold *older, *newer;
} hold;

/* A domain of several rows: those still to be read, whether they wait,
 * and its waiting group. */
typedef struct gslot {
    uint64_t key;                     /* 0: empty */
    uint32_t left;
    bool waits;                       /* at most rows_max rows */
    hold *h;
} gslot;

struct group {
    size_t rows_max;
    uint64_t seed;
    bool broken;                      /* out of memory while counting: hold nothing */
    /* the counting pass */
    uint64_t *ckey;
    uint32_t *ccount;
    size_t ccap, cn;
    /* after group_seal */
    gslot *s;
    size_t scap;
    hold *oldest, *newest;
    size_t waiting;
    uint64_t overflows;
};

group *group_new(size_t rows_max)
{
    group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->rows_max = rows_max;
    if (getrandom(&g->seed, sizeof g->seed, GRND_NONBLOCK) != (ssize_t)sizeof g->seed)
        g->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)g;   /* a list could aim at it */
    return g;
}

static void hold_free(hold *h)
{
    for (engine_item *it = h->head, *next; it; it = next) {
        next = it->next;
        engine_item_free(it);
    }
    free(h);
}

void group_free(group *g)
{
    if (!g)
        return;
    for (hold *h = g->oldest, *newer; h; h = newer) {
        newer = h->newer;
        hold_free(h);
    }
    free(g->ckey);
    free(g->ccount);
    free(g->s);
    free(g);
}

/* ---- keys ---- */

/* Around a cell's domain: what a display form or a sloppy export leaves. */
static bool trim_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '"';
}

static bool ldh(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Letters, digits, hyphens and inner dots, no A-label: the screen's
 * domain is then this text lower-cased (addr.c's ASCII path). */
static bool plain_domain(const unsigned char *b, const unsigned char *e)
{
    if (b == e || *b == '.' || e[-1] == '.')
        return false;
    for (const unsigned char *p = b; p < e; p++) {
        if (!ldh(*p) && *p != '.')
            return false;
        bool label = p == b || p[-1] == '.';
        if (label && e - p >= 4 && (p[0] | 32) == 'x' && (p[1] | 32) == 'n' && p[2] == '-' &&
            p[3] == '-')
            return false;
    }
    return true;
}

static uint64_t hash(const group *g, const unsigned char *b, const unsigned char *e)
{
    uint64_t h = UINT64_C(14695981039346656037) ^ g->seed;     /* FNV-1a, seeded */
    for (; b < e; b++)
        h = (h ^ (unsigned char)(*b >= 'A' && *b <= 'Z' ? *b + 32 : *b)) * UINT64_C(1099511628211);
    h = hash_fmix64(h);
    return h ? h : 1;
}

uint64_t group_key(const group *g, const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p, *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '@')
            at = s + i;
    if (!at)
        return 0;
    const unsigned char *b = at + 1, *e = s + len;
    while (b < e && trim_byte(*b))
        b++;
    while (e > b && trim_byte(e[-1]))
        e--;
    return plain_domain(b, e) ? hash(g, b, e) : 0;
}

uint64_t group_domain_key(const group *g, const char *domain)
{
    const unsigned char *b = (const unsigned char *)domain;
    return b && *b ? hash(g, b, b + strlen(domain)) : 0;
}

/* ---- the counting pass ---- */

static size_t cfind(const uint64_t *keys, size_t cap, uint64_t key)
{
    size_t i = (size_t)key & (cap - 1);
    while (keys[i] && keys[i] != key)
        i = (i + 1) & (cap - 1);
    return i;
}

static int cgrow(group *g)
{
    size_t cap = g->ccap ? g->ccap * 2 : MIN_SLOTS;
    uint64_t *k = calloc(cap, sizeof *k);
    uint32_t *c = calloc(cap, sizeof *c);
    if (!k || !c || cap < g->ccap) {
        free(k);
        free(c);
        return -1;
    }
    for (size_t i = 0; i < g->ccap; i++)
        if (g->ckey[i]) {
            size_t j = cfind(k, cap, g->ckey[i]);
            k[j] = g->ckey[i];
            c[j] = g->ccount[i];
        }
    free(g->ckey);
    free(g->ccount);
    g->ckey = k;
    g->ccount = c;
    g->ccap = cap;
    return 0;
}

/* The counting table, gone: sealed, or out of memory. */
static void drop_counts(group *g)
{
    free(g->ckey);
    free(g->ccount);
    g->ckey = NULL;
    g->ccount = NULL;
    g->ccap = g->cn = 0;
}

static void broken(group *g)
{
    g->broken = true;
    drop_counts(g);
}

int group_count(group *g, uint64_t key)
{
    if (!key || g->broken)
        return g->broken ? -1 : 0;
    if ((g->cn + 1) * 4 > g->ccap * 3 && cgrow(g) != 0) {
        broken(g);
        return -1;
    }
    size_t i = cfind(g->ckey, g->ccap, key);
    if (!g->ckey[i]) {
        g->ckey[i] = key;
        g->cn++;
    }
    if (g->ccount[i] < UINT32_MAX)
        g->ccount[i]++;
    return 0;
}


static size_t sfind(const group *g, uint64_t key)
{
    size_t i = (size_t)key & (g->scap - 1);
    while (g->s[i].key && g->s[i].key != key)
        i = (i + 1) & (g->scap - 1);
    return i;
}

int group_seal(group *g)
{
    if (g->broken)
        return -1;
    size_t n = 0, cap = MIN_SLOTS;
    for (size_t i = 0; i < g->ccap; i++)
        n += g->ckey[i] && g->ccount[i] >= 2;
    while (cap * 3 < n * 4)
        cap *= 2;
    if (!(g->s = calloc(cap, sizeof *g->s))) {
        broken(g);
        return -1;
    }
    g->scap = cap;
    for (size_t i = 0; i < g->ccap; i++)
        if (g->ckey[i] && g->ccount[i] >= 2) {
            size_t j = sfind(g, g->ckey[i]);
            g->s[j] = (gslot){.key = g->ckey[i], .left = g->ccount[i],
                              .waits = g->ccount[i] <= g->rows_max};
        }
    drop_counts(g);
    return 0;
}

/* ---- feeding ---- */

static void unlink_hold(group *g, hold *h)
{
    *(h->older ? &h->older->newer : &g->oldest) = h->newer;
    *(h->newer ? &h->newer->older : &g->newest) = h->older;
    g->s[h->slot].h = NULL;
    g->waiting -= h->n;
}

/* H's rows to EMIT in row order, and H gone; LAST: no later row of
 * their domain comes. */
static bool release(group *g, hold *h, bool last, group_emit_fn emit, void *ud)
{
    unlink_hold(g, h);
    engine_item *it = h->head;
    h->head = NULL;
    free(h);
    while (it) {
        engine_item *next = it->next;
        it->next = NULL;
        it->last_row = last;
        if (!emit(ud, it)) {
            while (next) {              /* the batch stopped: the rest are never probed */
                engine_item *after = next->next;
                engine_item_free(next);
                next = after;
            }
            return false;
        }
        it = next;
    }
    return true;
}

static hold *hold_of(group *g, size_t slot)
{
    hold *h = g->s[slot].h;
    if (h)
        return h;
    if (!(h = calloc(1, sizeof *h)))
        return NULL;
    h->slot = slot;
    h->older = g->newest;
    *(g->newest ? &g->newest->newer : &g->oldest) = h;
    g->newest = h;
    return g->s[slot].h = h;
}

/* IT (if any) to EMIT at once; LAST as for release. */
static bool pass(engine_item *it, bool last, group_emit_fn emit, void *ud)
{
    if (!it)
        return true;
    it->last_row = last;
    return emit(ud, it);
}

bool group_row(group *g, uint64_t key, engine_item *it, group_emit_fn emit, void *ud)
{
    if (!key || !g->s)
        return pass(it, false, emit, ud);         /* nothing is known of its domain */
    size_t i = sfind(g, key);
    gslot *sl = &g->s[i];
    if (!sl->key)
        return pass(it, true, emit, ud);          /* its domain's only row */
    if (sl->left)
        sl->left--;
    if (!sl->waits)
        return pass(it, !sl->left, emit, ud);     /* the engine gathers large domains */
    hold *h = sl->left && it ? hold_of(g, i) : sl->h;
    if (it && h) {
        it->next = NULL;
        *(h->tail ? &h->tail->next : &h->head) = it;
        h->tail = it;
        h->n++;
        g->waiting++;
    } else if (!pass(it, !sl->left, emit, ud)) {  /* its last row, none waiting (or no memory) */
        return false;
    }
    if (h && !sl->left && !release(g, h, true, emit, ud))
        return false;
    while (g->waiting > GROUP_HOLD_MAX) {         /* the bound: the longest-waiting group goes */
        g->overflows++;
        if (!release(g, g->oldest, false, emit, ud))
            return false;
    }
    return true;
}

bool group_flush(group *g, group_emit_fn emit, void *ud)
{
    while (g->oldest)                             /* INPUT is over: every row is its domain's last */
        if (!release(g, g->oldest, true, emit, ud))
            return false;
    return true;
}

size_t group_waiting(const group *g)
{
    return g->waiting;
}

uint64_t group_overflows(const group *g)
{
    return g->overflows;
}
