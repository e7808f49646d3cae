/* dns.c — a mail domain's MX hosts and their addresses: c-ares 1.18 driven by
 * a libuv loop (see include/dns.h for the contract).
 *
 * Flow of one domain:  MX query ──► NXDOMAIN / error / null MX: done
 *                                └─► MX hosts (or, on NODATA, the domain
 *                                    itself = implicit MX) ──► A + AAAA each
 *                                    ──► keep public addresses ──► done
 *
 * Plumbing: c-ares tells us which sockets to watch (sock_state_cb); each gets
 * a uv_poll_t, and one uv_timer_t follows ares_timeout(). c-ares hands
 * SERVFAIL/REFUSED back at once (ARES_FLAG_NOCHECKRESP); such a query, or one
 * whose server refused the connection, is asked again after a short,
 * doubling back-off, up to `tries` attempts in all. Timeouts are retried by
 * c-ares itself (`tries` attempts, each wait longer than the last).
 *
 * Cache (dns_cache.c): one entry per domain and per MX host name, bounded,
 * errors kept briefly. A domain being resolved collects every caller asking
 * for it (one query, many callbacks). While a name is looked up its entry
 * is the lookup (dns_djob, dns_hjob); the answer, allocated to its exact
 * size, then takes its place (dns_dom, dns_host). A finished domain holds
 * its MX hosts as a reference to an MX set shared by every domain with the
 * same hosts (dns_mxset.c): on a company list, tens of thousands of
 * domains of one provider fleet keep one copy of its hosts. Which
 * addresses count as public is dns_addr.c's.
 *
 * Callbacks never run inside dns_resolve_mail: finished answers wait in a
 * ready queue that a uv_idle_t drains on the next loop iteration.
 *
 * dns_query() is the same plumbing for any record type, uncached, handing
 * the raw answer on: dns_lookup.c parses addresses, PTR and TXT from it.
 */
#include "dns.h"

#include "dns_addr.h"
#include "dns_cache.h"
#include "dns_cname.h"
#include "dns_mxset.h"
#include "str.h"

#include <ares.h>
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_BACKOFF_MS 200      /* first back-off after a quick SERVFAIL */
#define DNS_ANSWERS_MAX 32      /* A/AAAA records parsed per answer */
#define DNS_MAX_INFLIGHT 256    /* queries on the wire; the rest wait in line */
#define DNS_RCVBUF (1 << 20)    /* bytes; the kernel caps it at net.core.rmem_max */
#define DNS_TICK_MS 50          /* how late a timed-out query may be noticed */

enum { QT_A = 1, QT_PTR = 12, QT_MX = 15, QT_TXT = 16, QT_AAAA = 28 };   /* RR types we ask for */

/* ---- answers ------------------------------------------------------------ */

/* What an MX host name resolved to. */
enum { H_OK, H_PRIVATE, H_NODATA, H_NXDOMAIN, H_ERROR };

/* A name's cache entry is its lookup while in flight (dns_djob, dns_hjob)
 * and its answer once finished (dns_dom, dns_host): dns_cache_replace puts
 * the one in the other's place, so a finished name keeps nothing of its
 * lookup and exactly what its answer needs. node.done tells them apart. */

/* A finished mail domain: this struct, its name, and (DNS_OK) a share of
 * an MX set: the domains of a provider fleet all point to one set. */
typedef struct dns_dom {
    dns_node node;
    uint8_t status;             /* dns_status */
    bool implicit;
    dns_mxorder order;          /* DNS_OK: the domain's order of mx's hosts */
    union {                     /* by status: */
        dns_mxset *mx;          /* DNS_OK: its hosts (one reference) */
        char *detail;           /* else: what failed, for humans (or NULL) */
    } u;
    char name[];                /* its node's name */
} dns_dom;

/* A finished MX host name: its addresses, IPv4 first, then IPv6. */
typedef struct dns_host {
    dns_node node;
    uint8_t hst;                /* H_* */
    uint8_t n;                  /* addresses */
    uint8_t data[];             /* N addresses packed (dns_ip_pack), or for
                                 * H_ERROR what failed (a string); then the
                                 * node's name */
} dns_host;

/* ---- pending work ------------------------------------------------------- */

typedef struct dns_waiter {     /* a caller waiting for a domain */
    dns_cb cb;
    void *ud;
    struct dns_waiter *next;
} dns_waiter;

typedef struct dns_slot {       /* one MX host of a domain being resolved */
    char *host;
    int pref;
    uint8_t hst;                /* H_*, once the host is answered */
    uint8_t n;
    dns_ip ip[DNS_MAX_ADDRS];
} dns_slot;

typedef struct dns_djob {       /* a domain being resolved */
    dns_node node;
    dns_waiter *waiters, **wtail;
    int pending;                /* host lookups outstanding */
    int nmx;
    dns_slot *mx;               /* NMX hosts by preference, addresses filled in */
    char *err;                  /* first host error detail */
    uint8_t status;             /* the answer so far (dns_dom's fields) */
    bool implicit;
    char *detail;
    char name[];                /* its node's name */
} dns_djob;

typedef struct dns_hwait {      /* a domain slot waiting for a host */
    dns_djob *dom;
    int slot;
    struct dns_hwait *next;
} dns_hwait;

typedef struct dns_hjob {       /* an MX host name being resolved */
    dns_node node;
    dns_hwait *waiters;
    int left;                   /* of the A and AAAA queries */
    int st4, st6;               /* their ares statuses */
    uint8_t n4, n6, ndropped;
    dns_ip v4[DNS_MAX_ADDRS], v6[DNS_MAX_ADDRS];
    char name[];                /* its node's name */
} dns_hjob;

typedef struct dns_ready {      /* a callback due on the next loop turn */
    dns_cb cb;
    void *ud;
    dns_dom *dom;               /* NULL: STATUS/DETAIL below */
    dns_status status;
    const char *detail;
    dns_raw_cb raw;             /* set: a dns_query answer (ARES, ABUF) instead */
    int ares;
    unsigned char *abuf;
    int alen;
    struct dns_ready *next;
} dns_ready;

typedef void (*dns_q_done)(dns_resolver *r, void *owner, int type, int status,
                           const unsigned char *abuf, int alen);

typedef struct dns_q {          /* one question, with SERVFAIL back-off */
    dns_resolver *r;
    dns_q_done done;
    void *owner;
    int type, round;
    uv_timer_t *backoff;        /* from the first back-off on (most never need one) */
    struct dns_q *prev, *next;  /* in r->sleeping (back-off) or a line */
    char name[];
} dns_q;

/* Questions waiting for a free slot, first come first served. */
typedef struct dns_line {
    dns_q *head, **tail;
} dns_line;

/* Two lines: a name's follow-up questions (the addresses of its MX hosts,
 * its A records when it has no MX) go before new names' MX questions.
 * Finishing the names begun keeps their sessions coming; in one line, a
 * follow-up waited behind every MX question asked meanwhile (22,000 on the
 * b2b bench), so a domain resolved in twice the line's wait. */
enum { LINE_FOLLOW_UP, LINE_NEW, LINES };

typedef struct dns_poll {
    uv_poll_t h;
    ares_socket_t fd;
    dns_resolver *r;
    struct dns_poll *next;
} dns_poll;

struct dns_resolver {
    uv_loop_t *loop;
    ares_channel ch;
    bool allow_private, closing;
    int timeout_ms, tries;
    uv_timer_t timer;
    uv_idle_t idle;
    int nhandles;               /* open libuv handles; free at 0 when closing */
    dns_poll *polls;
    dns_q *sleeping;
    dns_line lines[LINES];      /* questions waiting for a free slot */
    int inflight;               /* questions c-ares is working on */
    size_t waiting;             /* questions in line */
    uint64_t asked;             /* questions put on the wire, in all */
    bool pumping;
    dns_ready *ready, **rtail;
    dns_cache doms, hosts;
    dns_mxsets sets;            /* the doms' MX sets */
    dns_result scratch;         /* what callbacks see */
    void (*on_closed)(void *);
    void *closed_ud;
};

static void dns_host_start(dns_resolver *r, dns_djob *d, int slot, const char *name);
static void dns_dom_finish(dns_resolver *r, dns_djob *d);

/* ---- small helpers ------------------------------------------------------ */

/* Allocation failure aborts: a resolver that silently drops answers would
 * report wrong verdicts, and there is nothing sensible to do without memory. */
static void *dns_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fputs("mailvet: out of memory in dns\n", stderr);
        abort();
    }
    return p;
}

/* A struct of SIZE bytes followed by NAME: the name's copy is returned in
 * *AT. */
static void *dns_xalloc_named(size_t size, const char *name, char **at)
{
    size_t n = strlen(name) + 1;
    char *p = dns_xcalloc(1, size + n);
    *at = memcpy(p + size, name, n);
    return p;
}

static char *dns_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = dns_xcalloc(1, n);
    memcpy(p, s, n);
    return p;
}

/* Lower-case copy of NAME without a trailing dot, into OUT (DNS_NAME_MAX+1).
 * False when empty or too long for DNS. */
static bool dns_norm(const char *name, char *out)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[n] = '\0';
    return true;
}

static const char *dns_type_name(int type)
{
    switch (type) {
    case QT_A: return "A";
    case QT_PTR: return "PTR";
    case QT_MX: return "MX";
    case QT_TXT: return "TXT";
    case QT_AAAA: return "AAAA";
    }
    return "?";
}

/* "SERVFAIL for MX example.com" — the detail humans see. */
static void dns_fail_text(char *buf, size_t len, int status, int type, const char *name)
{
    const char *what;
    switch (status) {
    case ARES_ESERVFAIL: what = "SERVFAIL"; break;
    case ARES_EREFUSED: what = "REFUSED"; break;
    case ARES_ETIMEOUT: what = "timeout"; break;
    case ARES_ECONNREFUSED: what = "server unreachable"; break;  /* refused or no route */
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: snprintf(buf, len, "cancelled"); return;
    default: what = ares_strerror(status); break;
    }
    snprintf(buf, len, "%s for %s %s", what, dns_type_name(type), name);
}

/* ---- cached entries ------------------------------------------------------- */

const char *dns_status_name(dns_status s)
{
    switch (s) {
    case DNS_OK: return "ok";
    case DNS_NXDOMAIN: return "nxdomain";
    case DNS_NO_MAIL_SERVER: return "no_mail_server";
    case DNS_NULL_MX: return "null_mx";
    case DNS_UNROUTABLE: return "unroutable";
    case DNS_ERROR: return "dns_error";
    }
    return "?";
}

/* The cache drops an entry. Lookups are finished before dns_close frees
 * the caches, so an entry in flight is only freed, never read. */
static void dns_dom_free(void *ud, dns_node *n)
{
    dns_resolver *r = ud;
    if (!n->done) {
        free(n);
        return;
    }
    dns_dom *d = (dns_dom *)n;
    if (d->status == DNS_OK)
        dns_mxset_release(&r->sets, d->u.mx);
    else
        free(d->u.detail);
    free(d);
}

static void dns_host_free(void *ud, dns_node *n)
{
    (void)ud;
    free(n);                    /* one allocation, finished or not */
}

/* ---- libuv glue: timer, polls, handle accounting ------------------------ */

static void dns_maybe_free(dns_resolver *r)
{
    if (!r->closing || r->nhandles > 0)
        return;
    void (*on_closed)(void *) = r->on_closed;
    void *ud = r->closed_ud;
    dns_cache_free(&r->doms);
    dns_cache_free(&r->hosts);
    dns_mxsets_free(&r->sets);
    free(r);
    if (on_closed)
        on_closed(ud);
}

static void dns_handle_closed(uv_handle_t *h)
{
    dns_resolver *r = h->data;
    r->nhandles--;
    dns_maybe_free(r);
}

static void dns_timer_cb(uv_timer_t *t);

/* While questions are out, our one timer lets c-ares find the timed-out
 * ones every DNS_TICK_MS. Following ares_timeout() instead would walk every
 * query in flight after each answer (c-ares 1.18 keeps no ordered list):
 * 4% of a company list's CPU with 256 out. */
static void dns_timer_arm(dns_resolver *r)
{
    if (!r->ch || !r->inflight) {
        uv_timer_stop(&r->timer);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&r->timer))
        uv_timer_start(&r->timer, dns_timer_cb, DNS_TICK_MS, DNS_TICK_MS);
}

static void dns_timer_cb(uv_timer_t *t)
{
    dns_resolver *r = t->data;
    if (!r->ch)
        return;
    ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    dns_timer_arm(r);
}

static void dns_poll_cb(uv_poll_t *h, int status, int events)
{
    dns_poll *p = h->data;
    dns_resolver *r = p->r;
    ares_socket_t fd = p->fd;
    if (!r->ch)
        return;
    if (status < 0)             /* let c-ares see the error on the socket */
        events = UV_READABLE | UV_WRITABLE;
    ares_process_fd(r->ch, (events & UV_READABLE) ? fd : ARES_SOCKET_BAD,
                    (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD);
    dns_timer_arm(r);
}

static void dns_poll_closed(uv_handle_t *h)
{
    dns_poll *p = h->data;
    dns_resolver *r = p->r;
    free(p);
    r->nhandles--;
    dns_maybe_free(r);
}

static void dns_poll_close(dns_resolver *r, ares_socket_t fd)
{
    for (dns_poll **pp = &r->polls; *pp; pp = &(*pp)->next) {
        dns_poll *p = *pp;
        if (p->fd == fd) {
            *pp = p->next;
            uv_poll_stop(&p->h);
            uv_close((uv_handle_t *)&p->h, dns_poll_closed);
            return;
        }
    }
}

/* c-ares opens, changes or closes a socket. */
static void dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    dns_resolver *r = data;
    dns_poll *p;
    if (!readable && !writable) {
        dns_poll_close(r, fd);
        return;
    }
    for (p = r->polls; p && p->fd != fd; p = p->next)
        ;
    if (!p) {
        p = dns_xcalloc(1, sizeof *p);
        p->fd = fd;
        p->r = r;
        if (uv_poll_init_socket(r->loop, &p->h, fd) != 0) {
            free(p);            /* c-ares will time the query out */
            return;
        }
        p->h.data = p;
        r->nhandles++;
        p->next = r->polls;
        r->polls = p;
    }
    uv_poll_start(&p->h, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  dns_poll_cb);
}

/* ---- ready queue: callbacks on the next loop turn ----------------------- */

static void dns_idle_cb(uv_idle_t *h);

/* Queue IT for the next loop turn. False (IT not taken) after dns_close
 * finished: a call that late is misuse, and nothing would deliver it. */
static bool dns_ready_queue(dns_resolver *r, dns_ready *it)
{
    if (uv_is_closing((uv_handle_t *)&r->idle))
        return false;
    *r->rtail = it;
    r->rtail = &it->next;
    uv_idle_start(&r->idle, dns_idle_cb);
    return true;
}

static void dns_ready_push(dns_resolver *r, dns_cb cb, void *ud, dns_dom *d,
                           dns_status st, const char *detail)
{
    dns_ready *it = dns_xcalloc(1, sizeof *it);
    it->cb = cb;
    it->ud = ud;
    it->dom = d;
    it->status = st;
    it->detail = detail;
    if (!dns_ready_queue(r, it)) {
        free(it);
        return;
    }
    if (d)
        d->node.refs++;         /* keeps D from eviction until delivered */
}

/* A dns_query answer: copied, since c-ares frees ABUF when we return. */
static void dns_ready_push_raw(dns_resolver *r, dns_raw_cb cb, void *ud, int status,
                               const unsigned char *abuf, int alen)
{
    dns_ready *it = dns_xcalloc(1, sizeof *it);
    it->raw = cb;
    it->ud = ud;
    it->ares = status;
    if (abuf && alen > 0) {
        it->abuf = dns_xcalloc(1, (size_t)alen);
        memcpy(it->abuf, abuf, (size_t)alen);
        it->alen = alen;
    }
    if (!dns_ready_queue(r, it)) {
        free(it->abuf);
        free(it);
    }
}

/* Build the caller's view of a cached domain (RES zeroed). */
static void dns_fill(dns_result *res, const dns_dom *d)
{
    res->status = (dns_status)d->status;
    res->implicit_mx = d->implicit;
    if (d->status == DNS_OK)
        dns_mxset_fill(d->u.mx, d->order, res);
    else if (d->u.detail)
        str_copy(res->detail, sizeof res->detail, d->u.detail);
}

static void dns_deliver(dns_resolver *r, dns_ready *it)
{
    if (it->raw) {
        it->raw(it->ud, it->ares, it->abuf, it->alen);
        free(it->abuf);
        return;
    }
    dns_result *res = &r->scratch;
    memset(res, 0, sizeof *res);
    if (it->dom) {
        dns_fill(res, it->dom);
        it->dom->node.refs--;
    } else {
        res->status = it->status;
        str_copy(res->detail, sizeof res->detail, it->detail);
    }
    it->cb(it->ud, res);
}

/* Deliver what was ready when this turn began; later arrivals wait a turn,
 * so a caller that resolves from its callback cannot starve the loop. */
static void dns_idle_cb(uv_idle_t *h)
{
    dns_resolver *r = h->data;
    dns_ready *it = r->ready;
    r->ready = NULL;
    r->rtail = &r->ready;
    while (it) {
        dns_ready *next = it->next;
        dns_deliver(r, it);
        free(it);
        it = next;
    }
    if (r->ready)
        return;
    uv_idle_stop(&r->idle);
    if (r->closing && !uv_is_closing((uv_handle_t *)&r->idle))
        uv_close((uv_handle_t *)&r->idle, dns_handle_closed);
}

/* ---- one question with back-off ----------------------------------------- */

static void dns_q_send(dns_q *q);

static bool dns_q_retryable(int status)
{
    return status == ARES_ESERVFAIL || status == ARES_EREFUSED ||
           status == ARES_ECONNREFUSED;
}

static void dns_q_timer_closed(uv_handle_t *h)
{
    dns_resolver *r = h->data;
    free(h);
    r->nhandles--;
    dns_maybe_free(r);
}

static void dns_q_sleep_unlink(dns_resolver *r, dns_q *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        r->sleeping = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

static void dns_q_wake(uv_timer_t *t)
{
    dns_q *q = t->data;
    dns_q_sleep_unlink(q->r, q);
    dns_q_send(q);
}

/* Hand the answer to the owner and forget the question. */
static void dns_q_finish(dns_q *q, int status, const unsigned char *abuf, int alen)
{
    q->done(q->r, q->owner, q->type, status, abuf, alen);
    if (q->backoff) {
        q->backoff->data = q->r;
        uv_close((uv_handle_t *)q->backoff, dns_q_timer_closed);
    }
    free(q);
}

static void dns_q_pump(dns_resolver *r);

static void dns_lines_init(dns_resolver *r)
{
    for (int i = 0; i < LINES; i++)
        r->lines[i] = (dns_line){NULL, &r->lines[i].head};
}

/* The next question to ask: follow-ups first. */
static dns_q *dns_line_pop(dns_resolver *r)
{
    for (int i = 0; i < LINES; i++) {
        dns_line *l = &r->lines[i];
        dns_q *q = l->head;
        if (!q)
            continue;
        if (!(l->head = q->next))
            l->tail = &l->head;
        q->next = NULL;
        return q;
    }
    return NULL;
}

static void dns_q_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    dns_q *q = arg;
    dns_resolver *r = q->r;
    (void)timeouts;
    r->inflight--;
    /* Timeouts were already retried by c-ares (with growing waits); an
     * explicit failure answer is asked again here, spaced out. */
    if (!r->closing && dns_q_retryable(status) && q->round + 1 < r->tries) {
        if (!q->backoff) {
            q->backoff = dns_xcalloc(1, sizeof *q->backoff);
            uv_timer_init(r->loop, q->backoff);
            q->backoff->data = q;
            r->nhandles++;
        }
        q->next = r->sleeping;
        if (r->sleeping)
            r->sleeping->prev = q;
        r->sleeping = q;
        uv_timer_start(q->backoff, dns_q_wake, (uint64_t)DNS_BACKOFF_MS << q->round, 0);
        q->round++;
    } else {
        dns_q_finish(q, status, abuf, alen);
    }
    dns_q_pump(r);
}

/* Put waiting questions on the wire while slots are free. A burst of
 * thousands of queries would overflow the server's socket buffer (and is
 * rude to a shared resolver), so at most DNS_MAX_INFLIGHT are out at once. */
static void dns_q_pump(dns_resolver *r)
{
    if (r->pumping)             /* an answer arrived synchronously: the */
        return;                 /* loop below picks up what it queued   */
    r->pumping = true;
    dns_q *q;
    while (r->inflight < DNS_MAX_INFLIGHT && !r->closing && r->ch && (q = dns_line_pop(r))) {
        r->inflight++;
        r->waiting--;
        r->asked++;
        ares_query(r->ch, q->name, 1 /* C_IN */, q->type, dns_q_answer, q);
    }
    r->pumping = false;
    dns_timer_arm(r);
}

static void dns_q_send(dns_q *q)
{
    dns_resolver *r = q->r;
    if (r->closing || !r->ch) {
        dns_q_finish(q, ARES_ECANCELLED, NULL, 0);
        return;
    }
    dns_line *l = &r->lines[q->type == QT_MX ? LINE_NEW : LINE_FOLLOW_UP];
    q->next = NULL;
    *l->tail = q;
    l->tail = &q->next;
    r->waiting++;
    dns_q_pump(r);
}

static void dns_ask(dns_resolver *r, const char *name, int type, dns_q_done done, void *owner)
{
    size_t n = strlen(name) + 1;
    dns_q *q = dns_xcalloc(1, sizeof *q + n);
    q->r = r;
    q->done = done;
    q->owner = owner;
    q->type = type;
    memcpy(q->name, name, n);
    dns_q_send(q);
}

/* ---- raw questions, for dns_lookup.c ------------------------------------ */

typedef struct dns_rawq {       /* who waits for a dns_query answer */
    dns_raw_cb cb;
    void *ud;
} dns_rawq;

static void dns_raw_answer(dns_resolver *r, void *owner, int type, int status,
                           const unsigned char *abuf, int alen)
{
    dns_rawq *q = owner;
    (void)type;
    dns_ready_push_raw(r, q->cb, q->ud, status, status == ARES_SUCCESS ? abuf : NULL, alen);
    free(q);
}

/* ---- MX host: A + AAAA --------------------------------------------------- */

static void dns_hjob_take(dns_resolver *r, dns_hjob *j, int type, const unsigned char *abuf, int alen)
{
    int n = DNS_ANSWERS_MAX;
    if (type == QT_A) {
        struct ares_addrttl t[DNS_ANSWERS_MAX];
        if (ares_parse_a_reply(abuf, alen, NULL, t, &n) != ARES_SUCCESS)
            return;
        for (int i = 0; i < n; i++) {
            dns_ip ip = {.fam = 4};
            memcpy(ip.a, &t[i].ipaddr, 4);
            if (!r->allow_private && !dns_ip_public(&ip))
                j->ndropped++;
            else if (j->n4 < DNS_MAX_ADDRS)
                j->v4[j->n4++] = ip;
        }
    } else {
        struct ares_addr6ttl t[DNS_ANSWERS_MAX];
        if (ares_parse_aaaa_reply(abuf, alen, NULL, t, &n) != ARES_SUCCESS)
            return;
        for (int i = 0; i < n; i++) {
            dns_ip ip = {.fam = 6};
            memcpy(ip.a, t[i].ip6addr._S6_un._S6_u8, 16);
            if (!r->allow_private && !dns_ip_public(&ip))
                j->ndropped++;
            else if (j->n6 < DNS_MAX_ADDRS)
                j->v6[j->n6++] = ip;
        }
    }
}

/* Copy a finished host into slot SLOT of domain J. */
static void dns_slot_fill(dns_djob *j, int slot, const dns_host *h)
{
    dns_slot *m = &j->mx[slot];
    const uint8_t *p = h->data;
    m->hst = h->hst;
    m->n = h->n;
    for (int i = 0; i < h->n; i++)
        p += dns_ip_unpack(p, &m->ip[i]);
    if (h->hst == H_ERROR && !j->err)
        j->err = dns_xstrdup((const char *)h->data);
}

/* What both answers of J say about the host, whose N addresses were kept. */
static uint8_t dns_host_status(const dns_hjob *j, size_t n)
{
    if (n)
        return H_OK;
    if (j->ndropped)
        return H_PRIVATE;
    if (j->st4 == ARES_ENOTFOUND && j->st6 == ARES_ENOTFOUND)
        return H_NXDOMAIN;
    if ((j->st4 == ARES_SUCCESS || j->st4 == ARES_ENODATA || j->st4 == ARES_ENOTFOUND) &&
        (j->st6 == ARES_SUCCESS || j->st6 == ARES_ENODATA || j->st6 == ARES_ENOTFOUND))
        return H_NODATA;
    return H_ERROR;
}

/* J's answer, exactly sized: up to DNS_MAX_ADDRS addresses, IPv4 first,
 * then IPv6 (or what failed), then the name, whose copy *NAME gets. */
static dns_host *dns_host_make(const dns_hjob *j, char **name)
{
    uint8_t data[160];          /* addresses, or dns_fail_text's line */
    _Static_assert(sizeof data >= DNS_MAX_ADDRS * DNS_IP_PACKED_MAX, "room for the addresses");
    size_t n = 0, len = 0;
    for (int i = 0; i < j->n4 && n < DNS_MAX_ADDRS; i++, n++)
        len += dns_ip_pack(&j->v4[i], data + len);
    for (int i = 0; i < j->n6 && n < DNS_MAX_ADDRS; i++, n++)
        len += dns_ip_pack(&j->v6[i], data + len);
    uint8_t hst = dns_host_status(j, n);
    if (hst == H_ERROR) {
        bool a_bad = j->st4 != ARES_SUCCESS && j->st4 != ARES_ENODATA && j->st4 != ARES_ENOTFOUND;
        dns_fail_text((char *)data, sizeof data, a_bad ? j->st4 : j->st6,
                      a_bad ? QT_A : QT_AAAA, j->name);
        len = strlen((char *)data) + 1;
    }
    dns_host *h = dns_xalloc_named(offsetof(dns_host, data) + len, j->name, name);
    h->hst = hst;
    h->n = (uint8_t)n;
    memcpy(h->data, data, len);
    return h;
}

/* Both answers in: the host's answer takes J's place in the cache; the
 * waiting domains get it. */
static void dns_host_finish(dns_resolver *r, dns_hjob *j)
{
    char *name;
    dns_host *h = dns_host_make(j, &name);
    dns_hwait *w = j->waiters;
    dns_cache_replace(&r->hosts, &j->node, &h->node, name);
    free(j);
    dns_cache_done(&r->hosts, &h->node, uv_now(r->loop));
    while (w) {
        dns_hwait *next = w->next;
        dns_slot_fill(w->dom, w->slot, h);
        if (--w->dom->pending == 0)
            dns_dom_finish(r, w->dom);
        free(w);
        w = next;
    }
}

static void dns_host_answer(dns_resolver *r, void *owner, int type, int status,
                            const unsigned char *abuf, int alen)
{
    dns_hjob *j = owner;
    if (status == ARES_SUCCESS)
        dns_hjob_take(r, j, type, abuf, alen);
    if (type == QT_A)
        j->st4 = status;
    else
        j->st6 = status;
    if (--j->left == 0)
        dns_host_finish(r, j);
}

/* Resolve NAME for slot SLOT of domain D: from the cache, by joining a
 * lookup in flight, or by asking. D's pending counts what is waited for. */
static void dns_host_start(dns_resolver *r, dns_djob *d, int slot, const char *name)
{
    dns_node *n = dns_cache_find(&r->hosts, name);
    if (n && n->done && ((dns_host *)n)->hst == H_ERROR &&
        dns_cache_stale(&r->hosts, n, uv_now(r->loop)))
        n = NULL;
    if (n && n->done) {
        dns_slot_fill(d, slot, (dns_host *)n);
        return;
    }
    dns_hwait *w = dns_xcalloc(1, sizeof *w);
    w->dom = d;
    w->slot = slot;
    d->pending++;
    if (n) {
        dns_hjob *j = (dns_hjob *)n;
        w->next = j->waiters;
        j->waiters = w;
        return;
    }
    char *hname;
    dns_hjob *j = dns_xalloc_named(offsetof(dns_hjob, name), name, &hname);
    j->waiters = w;
    j->left = 2;
    dns_cache_add(&r->hosts, &j->node, hname);
    dns_ask(r, j->name, QT_A, dns_host_answer, j);
    dns_ask(r, j->name, QT_AAAA, dns_host_answer, j);
}

/* ---- the domain ------------------------------------------------------------ */

static void dns_dom_set(dns_djob *j, dns_status st, const char *detail)
{
    j->status = st;
    if (detail && !j->detail)
        j->detail = dns_xstrdup(detail);
}

/* Turn J's per-host answers into its result; DNS_OK: the hosts with an
 * address, in J's order, as a shared MX set (*ORDER gets that order). */
static dns_mxset *dns_dom_conclude(dns_resolver *r, dns_djob *j, dns_mxorder *order)
{
    dns_mxin kept[DNS_MAX_MX];
    size_t nkept = 0;
    bool err = false, priv = false;
    for (int i = 0; i < j->nmx; i++) {
        const dns_slot *m = &j->mx[i];
        err |= m->hst == H_ERROR;
        priv |= m->hst == H_PRIVATE;
        if (m->n)
            kept[nkept++] = (dns_mxin){.host = m->host, .pref = m->pref, .n = m->n, .ip = m->ip};
    }
    if (nkept) {
        dns_dom_set(j, DNS_OK, NULL);
        return dns_mxset_intern(&r->sets, kept, nkept, order);
    }
    if (err)                    /* a failing host might have been usable */
        dns_dom_set(j, DNS_ERROR, j->err);
    else if (priv)
        dns_dom_set(j, DNS_UNROUTABLE, j->implicit ? "the domain's addresses are not public"
                                                   : "every MX address is not public");
    else
        dns_dom_set(j, DNS_NO_MAIL_SERVER, j->implicit ? "no MX, A or AAAA records"
                                                       : "no MX host has an address");
    return NULL;
}

/* The domain is answered: its answer takes J's place in the cache, and its
 * callers are queued. */
static void dns_dom_finish(dns_resolver *r, dns_djob *j)
{
    char *name;
    dns_dom *d = dns_xalloc_named(offsetof(dns_dom, name), j->name, &name);
    dns_mxset *mx = j->nmx ? dns_dom_conclude(r, j, &d->order) : NULL;
    d->status = j->status;
    d->implicit = j->implicit;
    assert((d->status == DNS_OK) == (mx != NULL));
    if (mx) {
        d->u.mx = mx;
        free(j->detail);        /* NULL: an answer with hosts has no detail */
    } else {
        d->u.detail = j->detail;    /* moved */
    }
    for (int i = 0; i < j->nmx; i++)
        free(j->mx[i].host);
    free(j->mx);
    free(j->err);
    dns_waiter *w = j->waiters;
    dns_cache_replace(&r->doms, &j->node, &d->node, name);
    free(j);
    dns_cache_done(&r->doms, &d->node, uv_now(r->loop));
    for (dns_waiter *next; w; w = next) {
        next = w->next;
        dns_ready_push(r, w->cb, w->ud, d, DNS_OK, NULL);
        free(w);
    }
}

/* Hosts to ask for: the domain itself (implicit MX) or its MX records. */
static void dns_dom_hosts(dns_resolver *r, dns_djob *j)
{
    j->pending++;               /* hold: hosts may finish synchronously */
    for (int i = 0; i < j->nmx; i++)
        dns_host_start(r, j, i, j->mx[i].host);
    if (--j->pending == 0)
        dns_dom_finish(r, j);
}

static void dns_dom_implicit(dns_resolver *r, dns_djob *j)
{
    j->implicit = true;
    j->nmx = 1;
    j->mx = dns_xcalloc(1, sizeof *j->mx);
    j->mx[0].host = dns_xstrdup(j->name);
    j->mx[0].pref = 0;
    dns_dom_hosts(r, j);
}

/* Keep the DNS_MAX_MX lowest preferences, stable on ties (answer order),
 * one slot per host name: into GOT, *N of them. Returns how many MX
 * records were null ("."). */
static int dns_mx_pick(dns_slot *got, int *n, const struct ares_mx_reply *mx)
{
    int nnull = 0;
    *n = 0;
    for (; mx; mx = mx->next) {
        char host[DNS_NAME_MAX + 1];
        if (!mx->host[0] || !strcmp(mx->host, ".")) {
            nnull++;
            continue;
        }
        if (!dns_norm(mx->host, host))
            continue;
        bool dup = false;
        for (int i = 0; i < *n && !dup; i++)
            dup = !strcmp(got[i].host, host);
        if (dup)
            continue;
        int pos = *n;           /* insertion sort, after equal preferences */
        while (pos > 0 && got[pos - 1].pref > mx->priority)
            pos--;
        if (pos >= DNS_MAX_MX)
            continue;
        if (*n == DNS_MAX_MX)
            free(got[--*n].host);
        memmove(&got[pos + 1], &got[pos], (size_t)(*n - pos) * sizeof got[0]);
        memset(&got[pos], 0, sizeof got[pos]);
        got[pos].host = dns_xstrdup(host);
        got[pos].pref = mx->priority;
        ++*n;
    }
    return nnull;
}

/* dns_mx_pick into J's slot array, allocated to its exact size (a domain
 * waiting for its hosts holds no more than it has). */
static int dns_mx_collect(dns_djob *j, const struct ares_mx_reply *mx)
{
    dns_slot got[DNS_MAX_MX];
    int nnull = dns_mx_pick(got, &j->nmx, mx);
    if (j->nmx) {
        j->mx = dns_xcalloc((size_t)j->nmx, sizeof *j->mx);
        memcpy(j->mx, got, (size_t)j->nmx * sizeof *got);
    }
    return nnull;
}

static void dns_mx_answer(dns_resolver *r, void *owner, int type, int status,
                          const unsigned char *abuf, int alen)
{
    dns_djob *j = owner;
    char buf[160];
    struct ares_mx_reply *mx = NULL;
    (void)type;
    if (status == ARES_SUCCESS) {
        status = ares_parse_mx_reply(abuf, alen, &mx);
        if (status == ARES_SUCCESS && !mx)
            status = ARES_ENODATA;       /* only a CNAME chain: no MX at its end */
    }
    if (status == ARES_ENODATA && dns_cname_loops(abuf, alen, j->name)) {
        snprintf(buf, sizeof buf, "CNAME loop at %s", j->name);
        dns_dom_set(j, DNS_ERROR, buf);
        dns_dom_finish(r, j);
        return;
    }
    if (status == ARES_ENODATA) {        /* no MX: RFC 5321 §5.1 implicit MX */
        if (r->closing) {
            dns_dom_set(j, DNS_ERROR, "cancelled");
            dns_dom_finish(r, j);
        } else {
            dns_dom_implicit(r, j);
        }
        return;
    }
    if (status != ARES_SUCCESS) {
        if (status == ARES_ENOTFOUND || status == ARES_EBADNAME) {
            snprintf(buf, sizeof buf, "NXDOMAIN %s", j->name);
            dns_dom_set(j, DNS_NXDOMAIN, buf);
        } else {
            dns_fail_text(buf, sizeof buf, status, QT_MX, j->name);
            dns_dom_set(j, DNS_ERROR, buf);
        }
        dns_dom_finish(r, j);
        return;
    }
    int nnull = dns_mx_collect(j, mx);
    ares_free_data(mx);
    if (j->nmx == 0) {
        /* Only null MX records (RFC 7505). A null MX beside real ones breaks
         * the RFC; we then use the real ones, as Postfix does. */
        dns_dom_set(j, nnull ? DNS_NULL_MX : DNS_NO_MAIL_SERVER,
                    nnull ? "null MX (RFC 7505)" : "no usable MX host name");
        dns_dom_finish(r, j);
        return;
    }
    dns_dom_hosts(r, j);
}

/* ---- --dns ------------------------------------------------------------------- */

/* One "--dns" item, ITEM..END: IPv4, IPv4:PORT, IPv6, [IPv6] or [IPv6]:PORT,
 * appended to OUT in the form ares_set_servers_ports_csv() reads. */
static bool dns_server_item(const char *item, const char *end, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN + 1], pbuf[8];
    const char *hend = end, *port = NULL;
    unsigned char bin[16];
    if (item < end && *item == '[') {
        const char *close = memchr(item, ']', (size_t)(end - item));
        if (!close || (close + 1 < end && close[1] != ':'))
            return false;
        item++;
        hend = close;
        port = close + 1 < end ? close + 2 : NULL;
    } else {
        const char *colon = memchr(item, ':', (size_t)(end - item));
        if (colon && !memchr(colon + 1, ':', (size_t)(end - colon - 1))) {
            hend = colon;                           /* IPv4:PORT */
            port = colon + 1;
        }
    }
    if (hend <= item || (size_t)(hend - item) >= sizeof host)
        return false;
    memcpy(host, item, (size_t)(hend - item));
    host[hend - item] = '\0';
    bool v6 = inet_pton(AF_INET6, host, bin) == 1;
    if (!v6 && inet_pton(AF_INET, host, bin) != 1)
        return false;
    long pn = 53;
    if (port) {
        char *stop;
        if (port >= end || (size_t)(end - port) >= sizeof pbuf)
            return false;
        memcpy(pbuf, port, (size_t)(end - port));
        pbuf[end - port] = '\0';
        pn = strtol(pbuf, &stop, 10);
        if (*stop || pn < 1 || pn > 65535)
            return false;
    }
    size_t used = strlen(out);
    int n = snprintf(out + used, outlen - used, "%s%s%s%s:%ld", used ? "," : "",
                     v6 ? "[" : "", host, v6 ? "]" : "", pn);
    return n > 0 && (size_t)n < outlen - used;
}

/* "--dns" (comma-separated, blanks allowed) to c-ares' CSV form. */
static bool dns_servers_csv(const char *in, char *out, size_t outlen)
{
    out[0] = '\0';
    for (const char *p = in; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (!dns_server_item(p, p + len, out, outlen))
            return false;
        if (!end)
            break;
        p = end + 1;
    }
    return out[0] != '\0';
}

/* ---- public API ------------------------------------------------------------ */

dns_resolver *dns_new(uv_loop_t *loop, const dns_opts *opts, char *err, size_t errlen)
{
    struct ares_options o;
    int rc;
    dns_resolver *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* ares_library_init() is only needed on Windows/Android and is not
     * thread-safe in 1.18, so it is not called (one resolver per thread). */
    r->loop = loop;
    r->allow_private = opts && opts->allow_private;
    r->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 2000;
    r->tries = opts && opts->tries > 0 ? opts->tries : 3;
    memset(&o, 0, sizeof o);
    o.sock_state_cb = dns_sock_state;
    o.sock_state_cb_data = r;
    o.timeout = r->timeout_ms;
    o.tries = r->tries;
    /* NOCHECKRESP: SERVFAIL/REFUSED come back to us at once, under their own
     * name, and dns_q_answer retries them after a back-off; ROTATE makes
     * each retry start at the next server when there are several. */
    o.flags = ARES_FLAG_NOCHECKRESP;
    /* Hundreds of answers in flight arrive in bursts while the loop is busy
     * with sessions: the default receive buffer (about 200 answers of a
     * kernel's accounting) overflows, and each answer lost costs a
     * timeout (measured: 589 of 159,000 on the b2b bench). */
    o.socket_receive_buffer_size = DNS_RCVBUF;
    rc = ares_init_options(&r->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
                                       ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_ROTATE |
                                       ARES_OPT_SOCK_RCVBUF);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "DNS resolver: %s", ares_strerror(rc));
        free(r);
        return NULL;
    }
    if (opts && opts->servers) {
        char csv[1024];
        rc = dns_servers_csv(opts->servers, csv, sizeof csv)
                 ? ares_set_servers_ports_csv(r->ch, csv) : ARES_EBADSTR;
        if (rc != ARES_SUCCESS) {
            snprintf(err, errlen, "--dns %s: expected IP[:PORT] or [IPv6]:PORT, comma-separated",
                     opts->servers);
            ares_destroy(r->ch);
            free(r);
            return NULL;
        }
    }
    uv_timer_init(loop, &r->timer);
    uv_idle_init(loop, &r->idle);
    r->timer.data = r->idle.data = r;
    r->nhandles = 2;
    r->rtail = &r->ready;
    dns_lines_init(r);
    dns_cache_init(&r->doms, dns_dom_free, r);
    dns_cache_init(&r->hosts, dns_host_free, r);
    dns_mxsets_init(&r->sets);
    return r;
}

void dns_resolve_mail(dns_resolver *r, const char *ascii_domain, dns_cb cb, void *ud)
{
    char name[DNS_NAME_MAX + 1];
    if (r->closing) {
        dns_ready_push(r, cb, ud, NULL, DNS_ERROR, "cancelled");
        return;
    }
    if (!ascii_domain || !dns_norm(ascii_domain, name)) {
        dns_ready_push(r, cb, ud, NULL, DNS_NXDOMAIN, "invalid domain name");
        return;
    }
    dns_node *n = dns_cache_find(&r->doms, name);
    if (n && n->done && ((dns_dom *)n)->status == DNS_ERROR &&
        dns_cache_stale(&r->doms, n, uv_now(r->loop)))
        n = NULL;
    if (n && n->done) {
        dns_ready_push(r, cb, ud, (dns_dom *)n, DNS_OK, NULL);
        return;
    }
    dns_waiter *w = dns_xcalloc(1, sizeof *w);
    w->cb = cb;
    w->ud = ud;
    if (n) {                    /* in flight: coalesce */
        dns_djob *j = (dns_djob *)n;
        *j->wtail = w;
        j->wtail = &w->next;
        return;
    }
    char *dname;
    dns_djob *j = dns_xalloc_named(offsetof(dns_djob, name), name, &dname);
    j->waiters = w;
    j->wtail = &w->next;
    dns_cache_add(&r->doms, &j->node, dname);
    dns_ask(r, j->name, QT_MX, dns_mx_answer, j);
}

/* Everything in flight ends now; handles close; R goes with the last one. */
static void dns_close_handles(dns_resolver *r)
{
    dns_q *q;
    while ((q = dns_line_pop(r)))   /* questions never sent */
        dns_q_finish(q, ARES_ECANCELLED, NULL, 0);
    while (r->sleeping) {       /* queries waiting out a back-off */
        dns_q *q = r->sleeping;
        dns_q_sleep_unlink(r, q);
        uv_timer_stop(q->backoff);
        dns_q_finish(q, ARES_ECANCELLED, NULL, 0);
    }
    if (r->ch) {
        ares_cancel(r->ch);     /* callbacks run with ARES_ECANCELLED */
        ares_destroy(r->ch);    /* closes its sockets (sock_state_cb) */
        r->ch = NULL;
    }
    while (r->polls)            /* in case c-ares did not report a close */
        dns_poll_close(r, r->polls->fd);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, dns_handle_closed);
}

void dns_close(dns_resolver *r, void (*on_closed)(void *ud), void *ud)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    r->on_closed = on_closed;
    r->closed_ud = ud;
    dns_close_handles(r);
    /* The idle handle delivers the last callbacks, then closes itself. */
    uv_idle_start(&r->idle, dns_idle_cb);
}

void dns_query(dns_resolver *r, const char *name, int type, dns_raw_cb cb, void *ud)
{
    if (r->closing) {
        dns_ready_push_raw(r, cb, ud, ARES_ECANCELLED, NULL, 0);
        return;
    }
    if (!name || !name[0] || strlen(name) > 254) {
        dns_ready_push_raw(r, cb, ud, ARES_EBADNAME, NULL, 0);
        return;
    }
    dns_rawq *q = dns_xcalloc(1, sizeof *q);
    q->cb = cb;
    q->ud = ud;
    dns_ask(r, name, type, dns_raw_answer, q);
}

void dns_error_text(char *buf, size_t len, int ares_status, int type, const char *name)
{
    if (ares_status == ARES_ENOTFOUND)
        snprintf(buf, len, "NXDOMAIN %s", name);
    else if (ares_status == ARES_ENODATA)
        snprintf(buf, len, "no %s record for %s", dns_type_name(type), name);
    else
        dns_fail_text(buf, len, ares_status, type, name);
}

bool dns_name_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na && a[na - 1] == '.')
        na--;
    if (nb && b[nb - 1] == '.')
        nb--;
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {   /* ASCII case only (RFC 4343) */
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        if (ca >= 'A' && ca <= 'Z')
            ca = (unsigned char)(ca + 32);
        if (cb >= 'A' && cb <= 'Z')
            cb = (unsigned char)(cb + 32);
        if (ca != cb)
            return false;
    }
    return true;
}

verdict_reason dns_status_reason(dns_status s)
{
    switch (s) {
    case DNS_NXDOMAIN: return REASON_INVALID_DOMAIN;
    case DNS_NO_MAIL_SERVER: return REASON_NO_MAIL_SERVER;
    case DNS_NULL_MX: return REASON_NULL_MX;
    case DNS_UNROUTABLE: return REASON_UNROUTABLE_MX;
    default: return REASON_DNS_ERROR;
    }
}

void dns_get_stats(const dns_resolver *r, dns_stats *st)
{
    *st = (dns_stats){.inflight = r->inflight, .waiting = r->waiting, .asked = r->asked,
                      .domains = htab_count(&r->doms.tab), .hosts = htab_count(&r->hosts.tab),
                      .mxsets = dns_mxsets_count(&r->sets)};
}
