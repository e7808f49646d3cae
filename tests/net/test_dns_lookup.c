/* test_dns_lookup.c — drive src/dns_lookup.c against a real DNS server
 * (tests/net/dns.sh).
 *
 *   test_dns_lookup [--timeout MS] [--tries N] [--close-early] SERVER KIND:NAME...
 *
 * KIND is addrs (NAME's A and AAAA), ptr (NAME is an IP address) or txt.
 * Every lookup starts at once; one stable line per lookup, in argument order:
 *
 *   addrs NAME STATUS cut=0|1 [ADDR,...] detail="..."
 *   ptr IP STATUS cut=0|1 [NAME,...] detail="..."
 *   txt NAME STATUS cut=0|1 [LEN/CUT:"TEXT" ...] detail="..."
 *
 * TEXT longer than 40 bytes is shown as its first 40 bytes and "...".
 * A callback that runs inside the lookup call, runs twice, never runs, or a
 * loop left with open handles is reported ("FAIL ...") and exits 1.
 * --close-early closes the resolver right after asking (all "cancelled").
 */
#include "dns_lookup.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ask {
    char kind[8];
    const char *name;
    char line[8192];
    int answers;
} ask;

static dns_resolver *res;
static int inside, failures, pending;

static void on_closed(void *ud)
{
    (void)ud;
    res = NULL;
}

static void seen(ask *a)
{
    if (inside) {
        printf("FAIL %s %s: callback ran inside the lookup call\n", a->kind, a->name);
        failures++;
    }
    if (++a->answers > 1) {
        printf("FAIL %s %s: %d callbacks\n", a->kind, a->name, a->answers);
        failures++;
    }
    if (--pending == 0 && res)
        dns_close(res, on_closed, NULL);
}

static const char *status_name(dns_lookup_status s)
{
    static const char *const n[] = {"ok", "nodata", "nxdomain", "error"};
    return n[s];
}

static size_t put(ask *a, size_t o, const char *fmt, const char *s)
{
    if (o < sizeof a->line)
        o += (size_t)snprintf(a->line + o, sizeof a->line - o, fmt, s);
    return o;
}

static void on_addrs(void *ud, const dns_addrs *r)
{
    ask *a = ud;
    size_t o = (size_t)snprintf(a->line, sizeof a->line, "addrs %s %s cut=%d ", a->name,
                                status_name(r->status), r->cut);
    for (size_t i = 0; i < r->n; i++) {
        char ip[INET6_ADDRSTRLEN];
        const struct sockaddr_storage *s = &r->addr[i];
        inet_ntop(s->ss_family,
                  s->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)s)->sin_addr
                                          : (const void *)&((const struct sockaddr_in6 *)s)->sin6_addr,
                  ip, sizeof ip);
        o = put(a, o, i ? ",%s" : "%s", ip);
    }
    put(a, o, " detail=\"%s\"", r->detail);
    seen(a);
}

static void on_names(void *ud, const dns_names *r)
{
    ask *a = ud;
    size_t o = (size_t)snprintf(a->line, sizeof a->line, "ptr %s %s cut=%d ", a->name,
                                status_name(r->status), r->cut);
    for (size_t i = 0; i < r->n; i++)
        o = put(a, o, i ? ",%s" : "%s", r->name[i]);
    put(a, o, " detail=\"%s\"", r->detail);
    seen(a);
}

static void on_txts(void *ud, const dns_txts *r)
{
    ask *a = ud;
    size_t o = (size_t)snprintf(a->line, sizeof a->line, "txt %s %s cut=%d", a->name,
                                status_name(r->status), r->cut);
    for (size_t i = 0; i < r->n && o < sizeof a->line; i++) {
        const dns_txt *t = &r->txt[i];
        if (strlen(t->text) != t->len || t->text[t->len] != '\0') {
            printf("FAIL txt %s: record %zu: length %zu, NUL not at its end\n", a->name, i, t->len);
            failures++;
        }
        o += (size_t)snprintf(a->line + o, sizeof a->line - o, " %zu/%d:\"%.40s%s\"", t->len,
                              t->cut, t->text, t->len > 40 ? "..." : "");
    }
    put(a, o, " detail=\"%s\"", r->detail);
    seen(a);
}

static void start(ask *a)
{
    inside = 1;
    if (!strcmp(a->kind, "addrs")) {
        dns_lookup_addrs(res, a->name, on_addrs, a);
    } else if (!strcmp(a->kind, "txt")) {
        dns_lookup_txt(res, a->name, on_txts, a);
    } else {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, a->name, &s4->sin_addr) == 1)
            s4->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, a->name, &s6->sin6_addr) == 1)
            s6->sin6_family = AF_INET6;
        dns_lookup_ptr(res, (struct sockaddr *)&ss, on_names, a);   /* bad: AF_UNSPEC */
    }
    inside = 0;
}

int main(int argc, char **argv)
{
    dns_opts o = {.allow_private = true};
    const char *server = NULL;
    int close_early = 0, nasks = 0;
    char err[256];
    ask *asks = calloc((size_t)argc, sizeof *asks);
    if (!asks)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *colon = strchr(argv[i], ':');
        if (!strcmp(argv[i], "--close-early"))
            close_early = 1;
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            o.timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tries") && i + 1 < argc)
            o.tries = atoi(argv[++i]);
        else if (!server)
            server = argv[i];
        else if (colon && colon - argv[i] < (int)sizeof asks[0].kind) {
            memcpy(asks[nasks].kind, argv[i], (size_t)(colon - argv[i]));
            asks[nasks++].name = colon + 1;
        }
    }
    if (!server || nasks == 0) {
        fprintf(stderr, "usage: test_dns_lookup [--timeout MS] [--tries N] [--close-early] "
                        "SERVER KIND:NAME...\n");
        free(asks);
        return 2;
    }
    o.servers = server;
    uv_loop_t loop;
    uv_loop_init(&loop);
    res = dns_new(&loop, &o, err, sizeof err);
    if (!res) {
        printf("dns_new: %s\n", err);
        free(asks);
        return 2;
    }
    pending = nasks;
    for (int i = 0; i < nasks; i++)
        start(&asks[i]);
    if (close_early)
        dns_close(res, on_closed, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < nasks; i++) {
        if (asks[i].answers != 1) {
            printf("FAIL %s %s: %d callbacks\n", asks[i].kind, asks[i].name, asks[i].answers);
            failures++;
        }
        printf("%s\n", asks[i].line);
    }
    if (res) {
        printf("FAIL resolver not closed\n");
        failures++;
    }
    if (uv_loop_close(&loop) != 0) {
        printf("FAIL loop has open handles\n");
        failures++;
    }
    free(asks);
    return failures ? 1 : 0;
}
