/* doctor.c — `mailvet doctor` (see doctor.h): every check runs at once on
 * one loop; when the last answer is in, one line per check is printed in a
 * fixed order (verdicts and wording: doctor_judge.c).
 *
 *   --target's MX ──► an EHLO/QUIT session per route, DOCTOR_PARALLEL at a
 *                     time, up to DOCTOR_TRIES addresses when connecting fails
 *   HELO's A/AAAA ──► PTR of this host's address(es) ──► the PTR name's
 *                     A/AAAA when it is not the HELO name
 *   --from's domain: MX (dns_resolve_mail) and TXT
 *
 * Owns the loop, the resolver and what the lookups found. Every wait is
 * bounded by the resolver's timeouts and the sessions' connect and command
 * timeouts; the loop ends once the resolver has closed.
 */
#include "doctor.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dns.h"
#include "dns_lookup.h"
#include "doctor_judge.h"
#include "doctor_self.h"
#include "doctor_smtp.h"
#include "probe.h"
#include "str.h"

#define DOCTOR_PARALLEL 4   /* route sessions at once: polite to the target */
#define DOCTOR_TRIES 2      /* MX addresses tried per route when connecting fails */
#define DOCTOR_PTR_MAX 4    /* addresses whose PTR is looked up */

typedef struct doc doc;

typedef struct doc_route {          /* the port-25 test of one route */
    doc *d;
    const egress *route;
    int tries;                      /* addresses tried so far */
    bool ran;                       /* RES holds the last try */
    doctor_smtp_result res;
} doc_route;

typedef struct doc_ptr {
    doc *d;
    doctor_ptr p;
} doc_ptr;

typedef struct doc_cand {           /* an MX address to test port 25 with */
    struct sockaddr_storage addr;   /* port set */
    char host[DNS_NAME_MAX + 1];
} doc_cand;

struct doc {
    uv_loop_t loop;
    const cli_opts *o;
    dns_resolver *dns;
    char helo[PROBE_HELO_MAX], from[PROBE_FROM_MAX];
    const char *from_domain;
    probe_opts po;                  /* timeouts, as check would use them */
    doctor_self self;
    int pending;                    /* answers still to come */
    dns_result target;
    doc_cand cand[DOCTOR_TRIES];
    size_t ncand;
    doc_route *routes;
    size_t nroutes, next_route;
    dns_addrs helo_addrs;
    doc_ptr ptr[DOCTOR_PTR_MAX];
    size_t nptr;
    dns_result from_mx;
    dns_txts from_txt;
};

/* One answer fewer to wait for; after the last, the resolver closes and
 * with it the loop's last handles. */
static void doc_settle(doc *d)
{
    if (--d->pending == 0)
        dns_close(d->dns, NULL, NULL);
}

/* ---- port 25 -------------------------------------------------------------- */

static void doc_route_next(doc *d);

static void doc_set_port(struct sockaddr_storage *a, int port)
{
    if (a->ss_family == AF_INET)
        ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
}

static void doc_cand_add(doc *d, const dns_mx *m, size_t k)
{
    if (d->ncand == DOCTOR_TRIES || k >= m->naddrs)
        return;
    doc_cand *c = &d->cand[d->ncand++];
    c->addr = m->addrs[k];
    doc_set_port(&c->addr, d->o->smtp_port);
    str_copy(c->host, sizeof c->host, m->host);
}

/* The addresses to try: each MX host's first (a second host is the better
 * second chance), then the rest, in preference order. */
static void doc_cands(doc *d)
{
    for (size_t i = 0; i < d->target.nmx; i++)
        doc_cand_add(d, &d->target.mx[i], 0);
    for (size_t i = 0; i < d->target.nmx; i++)
        for (size_t k = 1; k < d->target.mx[i].naddrs; k++)
            doc_cand_add(d, &d->target.mx[i], k);
}

static void doc_route_try(doc_route *rt);

/* A retry cannot help when the route itself is broken or unsupported. */
static bool doc_retryable(const doctor_smtp_result *r)
{
    return r->stage == DSMTP_CONNECT && r->err != CONN_EEGRESS && r->err != UV_ENOTSUP;
}

static void doc_route_done(void *ud, const doctor_smtp_result *res)
{
    doc_route *rt = ud;
    doc *d = rt->d;
    rt->res = *res;
    rt->ran = true;
    if (doc_retryable(res) && (size_t)rt->tries < d->ncand) {
        doc_route_try(rt);
        return;
    }
    doc_route_next(d);
    doc_settle(d);
}

static void doc_route_try(doc_route *rt)
{
    doc *d = rt->d;
    doctor_smtp_opts so = {
        .helo = d->helo,
        .route = rt->route,
        .connect_timeout_ms = d->po.connect_timeout_ms,
        .command_timeout_ms = d->po.command_timeout_ms,
    };
    const doc_cand *c = &d->cand[rt->tries++];
    if (!doctor_smtp_start(&d->loop, (const struct sockaddr *)&c->addr, &so, doc_route_done, rt)) {
        memset(&rt->res, 0, sizeof rt->res);
        rt->res.err = UV_ENOMEM;
        rt->ran = true;
        doc_route_next(d);
        doc_settle(d);
    }
}

static void doc_route_next(doc *d)
{
    if (d->next_route < d->nroutes)
        doc_route_try(&d->routes[d->next_route++]);
}

static void doc_on_target(void *ud, const dns_result *res)
{
    doc *d = ud;
    d->target = *res;
    if (res->status == DNS_OK) {
        doc_cands(d);
        d->pending += (int)d->nroutes;
        for (size_t i = 0; i < DOCTOR_PARALLEL; i++)
            doc_route_next(d);
    }
    doc_settle(d);
}

/* ---- HELO name and reverse DNS --------------------------------------------- */

static void doc_on_fwd(void *ud, const dns_addrs *res)
{
    doc_ptr *p = ud;
    p->p.fwd = *res;
    p->p.fwd_asked = true;
    doc_settle(p->d);
}

static void doc_on_ptr(void *ud, const dns_names *res)
{
    doc_ptr *p = ud;
    doc *d = p->d;
    p->p.ptr = *res;
    bool helo_named = false;
    for (size_t i = 0; i < res->n; i++)
        helo_named |= dns_name_equal(res->name[i], d->helo);
    if (res->status == DNS_LOOKUP_OK && res->n && !helo_named) {
        d->pending++;           /* is the other name forward-confirmed? */
        dns_lookup_addrs(d->dns, res->name[0], doc_on_fwd, p);
    }
    doc_settle(d);
}

static void doc_on_helo(void *ud, const dns_addrs *res)
{
    doc *d = ud;
    struct sockaddr_storage addrs[DOCTOR_PTR_MAX];
    bool named[DOCTOR_PTR_MAX];
    d->helo_addrs = *res;
    d->nptr = doctor_judge_ptr_targets(res, &d->self, addrs, named, DOCTOR_PTR_MAX);
    for (size_t i = 0; i < d->nptr; i++) {
        doc_ptr *p = &d->ptr[i];
        p->d = d;
        p->p.addr = addrs[i];
        p->p.named_by_helo = named[i];
        d->pending++;
        dns_lookup_ptr(d->dns, (const struct sockaddr *)&addrs[i], doc_on_ptr, p);
    }
    doc_settle(d);
}

/* ---- --from's domain -------------------------------------------------------- */

static void doc_on_from_mx(void *ud, const dns_result *res)
{
    doc *d = ud;
    d->from_mx = *res;
    doc_settle(d);
}

static void doc_on_from_txt(void *ud, const dns_txts *res)
{
    doc *d = ud;
    d->from_txt = *res;
    doc_settle(d);
}

/* ---- the run ------------------------------------------------------------------ */

static void doc_start(doc *d)
{
    d->pending = 4;
    dns_resolve_mail(d->dns, d->o->target ? d->o->target : "gmail.com", doc_on_target, d);
    dns_lookup_addrs(d->dns, d->helo, doc_on_helo, d);
    dns_resolve_mail(d->dns, d->from_domain, doc_on_from_mx, d);
    dns_lookup_txt(d->dns, d->from_domain, doc_on_from_txt, d);
}

static void doc_print(const doctor_line *l, int count[3])
{
    printf("%-4s %-8s %s\n", doctor_judge_level_name(l->level), l->check, l->found);
    if (l->level != DOCTOR_OK && l->fix[0])
        printf("              fix: %s\n", l->fix);
    count[l->level]++;
}

static void doc_print_routes(const doc *d, int count[3])
{
    doctor_line l;
    for (size_t i = 0; i < d->nroutes; i++) {
        const doc_route *rt = &d->routes[i];
        const doc_cand *c = rt->tries ? &d->cand[rt->tries - 1] : NULL;
        doctor_port25 p = {
            .target = d->o->target ? d->o->target : "gmail.com",
            .mx = &d->target,
            .route = rt->route,
            .host = c ? c->host : NULL,
            .addr = c ? &c->addr : NULL,
            .tries = rt->tries,
            .res = rt->ran ? &rt->res : NULL,
            .helo = d->helo,
            .connect_timeout = d->o->connect_timeout,
            .command_timeout = d->o->command_timeout,
        };
        doctor_judge_port25(&l, &p);
        doc_print(&l, count);
    }
}

/* Every line, then the tally; the exit code says whether anything FAILed. */
static int doc_report(const doc *d)
{
    int count[3] = {0, 0, 0};
    doctor_line l;
    doctor_ptr ptrs[DOCTOR_PTR_MAX];
    doc_print_routes(d, count);
    doctor_judge_helo(&l, d->helo, &d->helo_addrs, &d->self);
    doc_print(&l, count);
    for (size_t i = 0; i < d->nptr; i++)
        ptrs[i] = d->ptr[i].p;
    doctor_judge_ptr(&l, d->helo, ptrs, d->nptr, &d->self);
    doc_print(&l, count);
    doctor_judge_from_mx(&l, d->from_domain, &d->from_mx);
    doc_print(&l, count);
    doctor_judge_spf(&l, d->from_domain, &d->from_txt, d->helo);
    doc_print(&l, count);
    printf("doctor: %d OK, %d WARN, %d FAIL\n", count[DOCTOR_OK], count[DOCTOR_WARN],
           count[DOCTOR_FAIL]);
    return count[DOCTOR_FAIL] ? EXIT_RUNTIME : EXIT_DONE;
}

static bool doc_init(doc *d, const cli_opts *o)
{
    d->o = o;
    probe_opts_init(&d->po, o, d->helo, d->from);
    const char *at = strrchr(d->from, '@');
    d->from_domain = at ? at + 1 : d->from;
    doctor_self_find(&d->self, &o->routes, o->allow_private_mx);
    d->nroutes = o->routes.n;
    d->routes = calloc(d->nroutes ? d->nroutes : 1, sizeof *d->routes);
    if (!d->routes)
        return false;
    for (size_t i = 0; i < d->nroutes; i++) {
        d->routes[i].d = d;
        d->routes[i].route = &o->routes.e[i];
    }
    return true;
}

int doctor_run(const cli_opts *o)
{
    char err[512];
    doc *d = calloc(1, sizeof *d);
    if (!d || !doc_init(d, o)) {
        fprintf(stderr, "mailvet: out of memory\n");
        free(d);
        return EXIT_RUNTIME;
    }
    uv_loop_init(&d->loop);
    dns_opts dopts = {.servers = o->dns, .allow_private = o->allow_private_mx};
    d->dns = dns_new(&d->loop, &dopts, err, sizeof err);
    if (!d->dns) {
        fprintf(stderr, "mailvet: %s\n", err);
        uv_loop_close(&d->loop);
        free(d->routes);
        free(d);
        return EXIT_USAGE;
    }
    char helo[128], from[128];
    doctor_judge_clean(helo, sizeof helo, d->helo, strlen(d->helo));
    doctor_judge_clean(from, sizeof from, d->from, strlen(d->from));
    printf("mailvet doctor: HELO %s, MAIL FROM <%s>, port %d tested against %s\n", helo, from,
           o->smtp_port, o->target ? o->target : "gmail.com");
    fflush(stdout);
    doc_start(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    uv_loop_close(&d->loop);
    int rc = doc_report(d);
    free(d->routes);
    free(d);
    return rc;
}
