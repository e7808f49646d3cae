/* test_dns.c — drive src/dns.c against a real DNS server (tests/net/dns.sh).
 *
 *   test_dns [--allow-private] [--timeout MS] [--tries N] [--close-early]
 *            SERVER DOMAIN...
 *
 * Resolves every DOMAIN twice at once (the second ask must coalesce), then
 * once more from the cache, and prints one stable line per DOMAIN:
 *
 *   DOMAIN STATUS implicit=0|1 mx=PREF:HOST(ADDR,ADDR) ... detail="..."
 *
 * The cached round must print the same line; a callback that runs inside
 * dns_resolve_mail, runs twice, or differs is reported and exits 1.
 * --ranks also prints "rank DOMAIN N": its first answer was the N-th of
 * the first round.
 * --serial asks one domain at a time in the first round instead (so a small
 * cache, -DDNS_CACHE_MAX=3, evicts between asks). --close-early calls
 * dns_close right after asking: every line must then be "dns_error ...
 * cancelled". Exit 2 when dns_new refuses SERVER.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096

typedef struct ask {
    const char *domain;
    char line[LINE_MAX_LEN];    /* first answer */
    int answers;                /* callbacks seen this round */
    int rank;                   /* its first answer was the rank-th of the first round */
} ask;

static dns_resolver *res;
static ask *asks;
static int nasks, pending, round_no, failures, serial, next_serial, ranks, nranked;
static int inside_resolve;      /* set while dns_resolve_mail runs */

static void fmt_result(const char *domain, const dns_result *r, char *out, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, len - o, "%s %s implicit=%d mx=", domain,
                          dns_status_name(r->status), r->implicit_mx ? 1 : 0);
    for (size_t i = 0; i < r->nmx && o < len; i++) {
        const dns_mx *m = &r->mx[i];
        o += (size_t)snprintf(out + o, len - o, "%s%d:%s(", i ? " " : "", m->pref, m->host);
        for (size_t k = 0; k < m->naddrs && o < len; k++) {
            char ip[INET6_ADDRSTRLEN] = "?";
            const struct sockaddr *sa = (const struct sockaddr *)&m->addrs[k];
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
            else
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
            o += (size_t)snprintf(out + o, len - o, "%s%s", k ? "," : "", ip);
        }
        if (o < len)
            o += (size_t)snprintf(out + o, len - o, ")");
    }
    if (o < len)
        snprintf(out + o, len - o, " detail=\"%s\"", r->detail);
}

static void start_round(void);

static void on_closed(void *ud)
{
    (void)ud;
    res = NULL;
}

static void finish(void)
{
    for (int i = 0; i < nasks; i++)
        printf("%s\n", asks[i].line);
    for (int i = 0; i < nasks && ranks; i++)
        printf("rank %s %d\n", asks[i].domain, asks[i].rank);
    dns_close(res, on_closed, NULL);
}

static void on_result(void *ud, const dns_result *r)
{
    ask *a = ud;
    char line[LINE_MAX_LEN];
    if (inside_resolve) {
        printf("FAIL %s: callback ran inside dns_resolve_mail\n", a->domain);
        failures++;
    }
    fmt_result(a->domain, r, line, sizeof line);
    if (round_no == 0 && a->answers == 0) {
        snprintf(a->line, sizeof a->line, "%s", line);
        a->rank = ++nranked;
    }
    else if (strcmp(a->line, line) != 0) {
        printf("FAIL %s: round %d answer differs:\n  %s\n  %s\n", a->domain, round_no, a->line, line);
        failures++;
    }
    a->answers++;
    if (serial && round_no == 0 && next_serial < nasks) {
        ask *n = &asks[next_serial++];
        inside_resolve = 1;
        dns_resolve_mail(res, n->domain, on_result, n);
        inside_resolve = 0;
    }
    if (--pending > 0)
        return;
    if (round_no == 0) {
        round_no = 1;
        start_round();          /* from inside a callback, on purpose */
    } else if (round_no == 1) {
        round_no = 2;
        finish();
    }
}

static void start_round(void)
{
    int per = round_no == 0 && !serial ? 2 : 1;  /* round 0 asks twice: coalescing */
    for (int i = 0; i < nasks; i++)
        asks[i].answers = 0;
    pending = nasks * per;
    if (serial && round_no == 0) {      /* the rest follow from on_result */
        next_serial = 1;
        inside_resolve = 1;
        dns_resolve_mail(res, asks[0].domain, on_result, &asks[0]);
        inside_resolve = 0;
        return;
    }
    for (int k = 0; k < per; k++) {
        for (int i = 0; i < nasks; i++) {
            inside_resolve = 1;
            dns_resolve_mail(res, asks[i].domain, on_result, &asks[i]);
            inside_resolve = 0;
        }
    }
}

static void on_cancelled(void *ud, const dns_result *r)
{
    ask *a = ud;
    if (inside_resolve) {
        printf("FAIL %s: callback ran inside dns_resolve_mail\n", a->domain);
        failures++;
    }
    fmt_result(a->domain, r, a->line, sizeof a->line);
    printf("%s\n", a->line);
    a->answers++;
}

int main(int argc, char **argv)
{
    dns_opts o = {0};
    int close_early = 0;
    const char *server = NULL;
    char err[256];
    asks = calloc((size_t)argc, sizeof *asks);
    if (!asks)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--allow-private"))
            o.allow_private = true;
        else if (!strcmp(argv[i], "--ranks"))
            ranks = 1;
        else if (!strcmp(argv[i], "--serial"))
            serial = 1;
        else if (!strcmp(argv[i], "--close-early"))
            close_early = 1;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            o.timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tries") && i + 1 < argc)
            o.tries = atoi(argv[++i]);
        else if (!server)
            server = argv[i];
        else
            asks[nasks++].domain = argv[i];
    }
    if (!server || nasks == 0) {
        fprintf(stderr, "usage: test_dns [--allow-private] [--timeout MS] [--tries N] "
                        "[--serial] [--ranks] [--close-early] SERVER DOMAIN...\n");
        free(asks);
        return 2;
    }
    o.servers = strcmp(server, "system") ? server : NULL;
    uv_loop_t loop;
    uv_loop_init(&loop);
    res = dns_new(&loop, &o, err, sizeof err);
    if (!res) {
        printf("dns_new: %s\n", err);
        uv_loop_close(&loop);
        free(asks);
        return 2;
    }
    if (close_early) {
        for (int i = 0; i < nasks; i++) {
            inside_resolve = 1;
            dns_resolve_mail(res, asks[i].domain, on_cancelled, &asks[i]);
            inside_resolve = 0;
        }
        dns_close(res, on_closed, NULL);
    } else {
        start_round();
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (res) {
        printf("FAIL resolver not closed\n");
        failures++;
    }
    for (int i = 0; i < nasks && close_early; i++) {
        if (asks[i].answers != 1) {
            printf("FAIL %s: %d callbacks\n", asks[i].domain, asks[i].answers);
            failures++;
        }
    }
    if (uv_loop_close(&loop) != 0) {
        printf("FAIL loop has open handles\n");
        failures++;
    }
    free(asks);
    return failures ? 1 : 0;
}
