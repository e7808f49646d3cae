/* fuzz_dns.c — libFuzzer target for the DNS answer handling in src/dns.c.
 *
 * dns.c parses answers inside static callbacks (dns_mx_answer with
 * ares_parse_mx_reply + dns_mx_collect; dns_hjob_take with
 * ares_parse_a_reply / ares_parse_aaaa_reply), so there is no function that
 * takes raw bytes. Without changing src/, this harness reaches them through
 * the public API: it defines ares_query() and ares_cancel() itself (the
 * executable's definitions win over libcares' at link time), keeps the
 * questions dns.c asks, and answers them from the fuzz input, in an order
 * the input picks, with raw DNS messages or error statuses, applying the
 * rcode/ancount mapping of c-ares 1.18's own ares_query(). Everything after
 * that — c-ares' real parsers, MX selection, host coalescing, the cache,
 * cancellation by dns_close, the callbacks on the libuv loop — is the real
 * code. Owns the libuv loop (one per process) and the questions of one run.
 *
 * Input: flags, two bytes of domain choices, [--dns string], then answers:
 *   [pick][status][len_hi len_lo][len bytes of DNS message]...
 * Questions left when the input ends time out.
 *
 * Properties: each dns_resolve_mail() gets exactly one callback; status and
 * nmx agree (DNS_OK iff an MX host with an address); at most DNS_MAX_MX
 * hosts by non-decreasing preference, each named once, lower-case without a
 * root dot (c-ares writes a dot inside a label as "\\."), each with
 * 1..DNS_MAX_ADDRS addresses, IPv4 before IPv6, all public unless
 * --allow-private-mx; every host came from an MX answer given (or is the
 * domain itself for implicit MX) and every address from an A/AAAA answer
 * given for that very host; questions are well-formed; dns_close frees the
 * resolver.
 */
#include "fuzz.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <uv.h>

#include "dns.h"

#define MAX_QUESTIONS 1024   /* bounds the work of one run */
#define NAME_BUF (DNS_NAME_MAX + 1)

typedef struct question {
    char name[NAME_BUF];
    int type;
    ares_callback cb;
    void *arg;
} question;

typedef struct given_addr {      /* an address handed out for a name */
    char name[NAME_BUF];
    int fam;
    uint8_t a[16];
} given_addr;

static struct {
    question q[MAX_QUESTIONS];
    size_t nq, asked;
    char (*mx)[NAME_BUF];        /* MX host names handed out */
    size_t nmx, capmx;
    given_addr *addr;
    size_t naddr, capaddr;
    char doms[3][NAME_BUF];      /* normalised domains asked for ("" if invalid) */
    int ndoms;
    bool allow_private;
} S;

/* dns.c's normalisation: lower case, one trailing dot dropped, 1..253. */
static bool norm(const char *in, char *out)
{
    size_t n = strlen(in);
    if (n && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    return true;
}

static bool known_mx(const char *h)
{
    for (size_t i = 0; i < S.nmx; i++)
        if (!strcmp(S.mx[i], h))
            return true;
    return false;
}

static bool known_dom(const char *h)
{
    for (int i = 0; i < S.ndoms; i++)
        if (!strcmp(S.doms[i], h))
            return true;
    return false;
}

/* ---- the fake c-ares entry points ------------------------------------- */

void ares_query(ares_channel channel, const char *name, int dnsclass, int type,
                ares_callback callback, void *arg)
{
    (void)channel;
    FUZZ_CHECK(dnsclass == 1);
    FUZZ_CHECK(type == 15 || type == 1 || type == 28);
    /* Lower case, 1..253 bytes. (A name may still end in "\\.", c-ares'
     * escape for a dot inside a label, so the trailing dot is not checked.) */
    size_t len = strlen(name);
    bool normal = len >= 1 && len <= 253;
    for (size_t i = 0; i < len; i++)
        normal &= tolower((unsigned char)name[i]) == name[i];
    if (!normal)
        fprintf(stderr, "fuzz: asked about \"%s\" (type %d)\n", name, type);
    FUZZ_CHECK(normal);
    /* MX only for a domain asked for; A/AAAA for an MX host or a domain. */
    FUZZ_CHECK(known_dom(name) || (type != 15 && known_mx(name)));
    FUZZ_CHECK(S.nq < MAX_QUESTIONS);
    question *q = &S.q[S.nq++];
    snprintf(q->name, sizeof q->name, "%s", name);
    q->type = type;
    q->cb = callback;
    q->arg = arg;
    S.asked++;
}

/* c-ares 1.18 ends every query with ARES_ECANCELLED; those asked from
 * inside the callbacks stay (dns.c asks none while closing). */
void ares_cancel(ares_channel channel)
{
    (void)channel;
    static question old[MAX_QUESTIONS];
    size_t n = S.nq;
    memcpy(old, S.q, n * sizeof *old);
    memmove(S.q, S.q + n, (S.nq - n) * sizeof *S.q);
    S.nq -= n;
    for (size_t i = 0; i < n; i++)
        old[i].cb(old[i].arg, ARES_ECANCELLED, 0, NULL, 0);
}

/* ---- answers ----------------------------------------------------------- */

static void record_mx(const unsigned char *abuf, int alen)
{
    struct ares_mx_reply *mx = NULL;
    if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS)
        return;
    for (struct ares_mx_reply *m = mx; m; m = m->next) {
        char h[NAME_BUF];
        if (!norm(m->host, h) || known_mx(h))
            continue;
        if (S.nmx == S.capmx) {
            S.capmx = S.capmx ? S.capmx * 2 : 64;
            S.mx = realloc(S.mx, S.capmx * sizeof *S.mx);
            FUZZ_CHECK(S.mx != NULL);
        }
        memcpy(S.mx[S.nmx++], h, NAME_BUF);
    }
    ares_free_data(mx);
}

static void add_addr(const char *name, int fam, const void *a)
{
    if (S.naddr == S.capaddr) {
        S.capaddr = S.capaddr ? S.capaddr * 2 : 64;
        S.addr = realloc(S.addr, S.capaddr * sizeof *S.addr);
        FUZZ_CHECK(S.addr != NULL);
    }
    given_addr *g = &S.addr[S.naddr++];
    snprintf(g->name, sizeof g->name, "%s", name);
    g->fam = fam;
    memcpy(g->a, a, fam == AF_INET ? 4 : 16);
}

static void record_addrs(const char *name, int type, const unsigned char *abuf, int alen)
{
    int n = 32;                  /* as many as dns.c looks at */
    if (type == 1) {
        struct ares_addrttl t[32];
        if (ares_parse_a_reply(abuf, alen, NULL, t, &n) == ARES_SUCCESS)
            for (int i = 0; i < n; i++)
                add_addr(name, AF_INET, &t[i].ipaddr);
    } else {
        struct ares_addr6ttl t[32];
        if (ares_parse_aaaa_reply(abuf, alen, NULL, t, &n) == ARES_SUCCESS)
            for (int i = 0; i < n; i++)
                add_addr(name, AF_INET6, &t[i].ip6addr);
    }
}

static bool given(const char *name, const struct sockaddr_storage *ss)
{
    const void *a = ss->ss_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
    int fam = ss->ss_family;
    for (size_t i = 0; i < S.naddr; i++)
        if (S.addr[i].fam == fam && !strcmp(S.addr[i].name, name) &&
            !memcmp(S.addr[i].a, a, fam == AF_INET ? 4 : 16))
            return true;
    return false;
}

/* Status of a DNS message as c-ares 1.18's ares_query() reports it. */
static int message_status(const unsigned char *m, int len)
{
    if (len < 12)                /* c-ares drops it; the query times out */
        return ARES_ETIMEOUT;
    int rcode = m[3] & 0x0f, ancount = m[6] << 8 | m[7];
    switch (rcode) {
    case 0: return ancount > 0 ? ARES_SUCCESS : ARES_ENODATA;
    case 1: return ARES_EFORMERR;
    case 2: return ARES_ESERVFAIL;
    case 3: return ARES_ENOTFOUND;
    case 4: return ARES_ENOTIMP;
    case 5: return ARES_EREFUSED;
    default: return ARES_SUCCESS;
    }
}

/* Answer one waiting question, as the input says. */
static void answer_one(fuzz_in *in)
{
    static const int statuses[] = {
        -1, -1, -1, -1,          /* a DNS message follows */
        ARES_ENODATA, ARES_ENOTFOUND, ARES_ESERVFAIL, ARES_ETIMEOUT,
        ARES_EREFUSED, ARES_ECONNREFUSED, ARES_EBADNAME, ARES_ECANCELLED,
    };
    size_t pick = in->n ? fuzz_byte(in) % S.nq : 0;
    question q = S.q[pick];
    memmove(S.q + pick, S.q + pick + 1, (S.nq - pick - 1) * sizeof *S.q);
    S.nq--;
    if (in->n == 0) {            /* nothing left to say: it times out */
        q.cb(q.arg, ARES_ETIMEOUT, 2, NULL, 0);
        return;
    }
    int st = statuses[fuzz_byte(in) % (sizeof statuses / sizeof *statuses)];
    if (st != -1) {
        q.cb(q.arg, st, 0, NULL, 0);
        return;
    }
    size_t len = fuzz_byte(in) << 8;
    len |= fuzz_byte(in);
    if (len > in->n)
        len = in->n;
    /* A heap copy of exactly LEN bytes: reads past the message are caught. */
    unsigned char *m = malloc(len ? len : 1);
    FUZZ_CHECK(m != NULL);
    memcpy(m, in->p, len);
    in->p += len;
    in->n -= len;
    st = message_status(m, (int)len);
    if (st == ARES_SUCCESS) {
        if (q.type == 15)
            record_mx(m, (int)len);
        else
            record_addrs(q.name, q.type, m, (int)len);
    }
    if (st == ARES_ETIMEOUT)
        q.cb(q.arg, st, 2, NULL, 0);
    else
        q.cb(q.arg, st, 0, m, (int)len);
    free(m);
}

/* ---- results ------------------------------------------------------------- */

typedef struct slot {
    int idx;
    int calls;
} slot;

static void check_result(const slot *s, const dns_result *res)
{
    const char *dom = S.doms[s->idx];
    FUZZ_CHECK(res->status >= DNS_OK && res->status <= DNS_ERROR);
    FUZZ_CHECK(strcmp(dns_status_name(res->status), "?") != 0);
    FUZZ_CHECK(strnlen(res->detail, sizeof res->detail) < sizeof res->detail);
    FUZZ_CHECK(res->nmx <= DNS_MAX_MX);
    FUZZ_CHECK((res->status == DNS_OK) == (res->nmx > 0));
    if (!dom[0])                 /* an invalid name is never asked about */
        FUZZ_CHECK(res->status == DNS_NXDOMAIN && res->nmx == 0);
    if (res->implicit_mx)
        FUZZ_CHECK(res->nmx <= 1);
    for (size_t i = 0; i < res->nmx; i++) {
        const dns_mx *m = &res->mx[i];
        size_t hl = strnlen(m->host, sizeof m->host);
        FUZZ_CHECK(hl >= 1 && hl <= 253);
        FUZZ_CHECK(m->host[hl - 1] != '.' || (hl >= 2 && m->host[hl - 2] == '\\'));
        for (size_t k = 0; k < hl; k++)
            FUZZ_CHECK(tolower((unsigned char)m->host[k]) == m->host[k]);
        if (res->implicit_mx)
            FUZZ_CHECK(!strcmp(m->host, dom));
        else
            FUZZ_CHECK(known_mx(m->host));
        if (i > 0)
            FUZZ_CHECK(res->mx[i - 1].pref <= m->pref);
        FUZZ_CHECK(m->pref >= 0 && m->pref <= 65535);
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(res->mx[k].host, m->host) != 0);
        FUZZ_CHECK(m->naddrs >= 1 && m->naddrs <= DNS_MAX_ADDRS);
        bool seen6 = false;
        for (size_t k = 0; k < m->naddrs; k++) {
            const struct sockaddr_storage *a = &m->addrs[k];
            FUZZ_CHECK(a->ss_family == AF_INET || a->ss_family == AF_INET6);
            FUZZ_CHECK(!(seen6 && a->ss_family == AF_INET));
            seen6 |= a->ss_family == AF_INET6;
            FUZZ_CHECK(S.allow_private || dns_addr_is_public((const struct sockaddr *)a));
            FUZZ_CHECK(given(m->host, a));
        }
    }
}

static void on_result(void *ud, const dns_result *res)
{
    slot *s = ud;
    FUZZ_CHECK(++s->calls == 1);
    check_result(s, res);
}

static void on_closed(void *ud)
{
    *(bool *)ud = true;
}

/* ---- the run ------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uv_loop_t loop;
    static bool loop_ready;
    static const char *const names[8] = {
        "example.com", "Example.COM.", "mx1.example.com", "example.org",
        "", ".", "a.b",
        "x123456789.x123456789.x123456789.x123456789.x123456789.x123456789."
        "x123456789.x123456789.x123456789.x123456789.x123456789.x123456789."
        "x123456789.x123456789.x123456789.x123456789.x123456789.x123456789."
        "x123456789.x123456789.x123456789.x123456789.x123456789.x1234", /* > 253 */
    };
    if (!loop_ready) {
        FUZZ_CHECK(uv_loop_init(&loop) == 0);
        loop_ready = true;
    }
    fuzz_in in = {data, size};
    unsigned flags = fuzz_byte(&in), pick = fuzz_byte(&in);
    pick |= fuzz_byte(&in) << 8;

    memset(S.q, 0, sizeof S.q);
    S.nq = S.asked = S.nmx = S.naddr = 0;
    S.allow_private = flags & 1;
    S.ndoms = 1 + (int)((flags >> 1) & 3);
    if (S.ndoms > 3)
        S.ndoms = 3;
    bool close_early = flags & 16;

    /* --dns: a server list from the input (else a fixed one, which also
     * keeps c-ares from reading /etc/resolv.conf's servers into use). */
    char servers[256] = "127.0.0.1:5353";
    if (flags & 8) {
        size_t k = fuzz_byte(&in) % sizeof servers;
        if (k > in.n)
            k = in.n;
        memcpy(servers, in.p, k);
        servers[k] = '\0';
        in.p += k;
        in.n -= k;
    }
    dns_opts o = {.servers = servers, .allow_private = S.allow_private, .tries = 1};
    char err[256] = "";
    dns_resolver *r = dns_new(&loop, &o, err, sizeof err);
    if (!r) {
        FUZZ_CHECK(err[0] != '\0');
        return 0;
    }

    slot slots[3];
    const char *asked[3];
    for (int i = 0; i < S.ndoms; i++) {
        asked[i] = names[(pick >> (3 * i)) & 7];
        if (!norm(asked[i], S.doms[i]))
            S.doms[i][0] = '\0';
        slots[i] = (slot){.idx = i};
    }
    for (int i = 0; i < S.ndoms; i++)
        dns_resolve_mail(r, asked[i], on_result, &slots[i]);
    /* No callback runs inside dns_resolve_mail. */
    for (int i = 0; i < S.ndoms; i++)
        FUZZ_CHECK(slots[i].calls == 0);

    size_t close_after = close_early ? fuzz_byte(&in) % 8 : (size_t)-1;
    size_t answered = 0;
    bool closed = false, closing = false;
    for (int guard = 0;; guard++) {
        FUZZ_CHECK(guard < 100000);
        uv_run(&loop, UV_RUN_NOWAIT);
        if (!closing && answered == close_after) {
            dns_close(r, on_closed, &closed);
            closing = true;
            continue;
        }
        if (S.nq > 0) {
            answer_one(&in);
            answered++;
            continue;
        }
        int done = 0;
        for (int i = 0; i < S.ndoms; i++)
            done += slots[i].calls;
        if (done == S.ndoms)
            break;
    }
    if (!closing)
        dns_close(r, on_closed, &closed);
    for (int guard = 0; guard < 1000 && !closed; guard++)
        uv_run(&loop, UV_RUN_NOWAIT);
    FUZZ_CHECK(closed);           /* the resolver freed itself */
    for (int i = 0; i < S.ndoms; i++)
        FUZZ_CHECK(slots[i].calls == 1);
    FUZZ_CHECK(S.nq == 0);
    return 0;
}
