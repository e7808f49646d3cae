/* counters.c — mailsim's counter dump: one JSON object with the totals, the
 * DNS counters, one entry per host that saw a connection, and per client
 * source address the connections to each host (kept here, in a fixed table
 * indexed by "source host"). Format in README.md ("Counters"). */
#include "counters.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counters_source {
    char src[46];                 /* INET6_ADDRSTRLEN */
    const world_host *h;
    uint64_t connections, current, peak;
};

static counters_source src_pairs[COUNTERS_SOURCES_MAX];
static size_t src_n;
static uint64_t src_overflow;
static table src_index;           /* "SRC HOST" -> &src_pairs[i] */

counters_source *counters_source_opened(const char *src, const world_host *h)
{
    char key[46 + 256 + 2];
    snprintf(key, sizeof key, "%.45s %.255s", src, h->name);
    if (!src_index.slots)
        table_init(&src_index);
    counters_source *s = table_get(&src_index, key);
    if (!s) {
        if (src_n == COUNTERS_SOURCES_MAX) {
            src_overflow++;
            return NULL;
        }
        s = &src_pairs[src_n++];
        snprintf(s->src, sizeof s->src, "%.45s", src);
        s->h = h;
        table_put(&src_index, key, s);
    }
    s->connections++;
    if (++s->current > s->peak)
        s->peak = s->current;
    return s;
}

void counters_source_closed(counters_source *s)
{
    if (s && s->current > 0)
        s->current--;
}

/* Grouped by source, then host, in a stable order. */
static int source_cmp(const void *a, const void *b)
{
    const counters_source *x = *(const counters_source *const *)a;
    const counters_source *y = *(const counters_source *const *)b;
    int c = strcmp(x->src, y->src);
    return c ? c : strcmp(x->h->name, y->h->name);
}

static void counters_sources(FILE *f)
{
    static const counters_source *order[COUNTERS_SOURCES_MAX];
    for (size_t i = 0; i < src_n; i++)
        order[i] = &src_pairs[i];
    qsort(order, src_n, sizeof *order, source_cmp);
    fprintf(f, ",\n\"sources\":{");
    for (size_t i = 0; i < src_n; i++) {
        const counters_source *s = order[i];
        bool first_of_src = i == 0 || strcmp(order[i - 1]->src, s->src) != 0;
        if (first_of_src)
            fprintf(f, "%s\n\"%s\":{", i ? "}," : "", s->src);
        else
            fputc(',', f);
        fprintf(f, "\"%s\":{\"connections\":%llu,\"conn_peak\":%llu}", s->h->name,
                (unsigned long long)s->connections, (unsigned long long)s->peak);
    }
    fprintf(f, "%s},\n\"sources_overflow\":%llu", src_n ? "}" : "", (unsigned long long)src_overflow);
}

static void counters_one(FILE *f, const world_counters *c)
{
    fprintf(f,
            "{\"connections\":%llu,\"conn_current\":%llu,\"conn_peak\":%llu,\"sent_421\":%llu,"
            "\"sent_421_rate\":%llu,\"commands\":%llu,\"rcpt\":%llu,\"rcpt_cap_hits\":%llu,"
            "\"greylist_hits\":%llu,\"tls_handshakes\":%llu,\"tls_resumed\":%llu,\"drops\":%llu,"
            "\"tarpitted\":%llu,\"rcpt_tarpitted\":%llu,\"data_attempts\":%llu,\"mixed_sessions\":%llu,"
            "\"mixed_refused\":%llu}",
            (unsigned long long)c->connections, (unsigned long long)c->conn_current,
            (unsigned long long)c->conn_peak, (unsigned long long)c->sent_421,
            (unsigned long long)c->sent_421_rate, (unsigned long long)c->commands,
            (unsigned long long)c->rcpt, (unsigned long long)c->rcpt_cap_hits,
            (unsigned long long)c->greylist_hits, (unsigned long long)c->tls_handshakes,
            (unsigned long long)c->tls_resumed, (unsigned long long)c->drops,
            (unsigned long long)c->tarpitted,
            (unsigned long long)c->rcpt_tarpitted, (unsigned long long)c->data_attempts,
            (unsigned long long)c->mixed_sessions, (unsigned long long)c->mixed_refused);
}

/* Fleets of two or more hosts that were connected to (the others are
 * their one host, listed above). */
static void counters_fleets(FILE *f, const world *w)
{
    fprintf(f, ",\n\"fleets\":{");
    int first = 1;
    for (int i = 0; i < w->n_fleets; i++) {
        const world_fleet *x = w->fleets[i];
        if (x->n_hosts < 2 || !x->connections)
            continue;
        fprintf(f, "%s\n\"%s\":{\"hosts\":%d,\"connections\":%llu,\"conn_peak\":%llu}",
                first ? "" : ",", x->name, x->n_hosts, (unsigned long long)x->connections,
                (unsigned long long)x->conn_peak);
        first = 0;
    }
    fprintf(f, "}");
}

int counters_write(const world *w, const char *path)
{
    char tmp[4096];
    FILE *f = stdout;
    if (strcmp(path, "-") != 0) {
        if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
            return -1;
        f = fopen(tmp, "w");
        if (!f)
            return -1;
    }
    fprintf(f, "{\"dns\":{\"queries\":%llu,\"answers\":%llu,\"dropped\":%llu,\"tcp_queries\":%llu,"
               "\"truncated\":%llu},\n\"total\":",
            (unsigned long long)w->dns_queries, (unsigned long long)w->dns_answers,
            (unsigned long long)w->dns_dropped, (unsigned long long)w->dns_tcp_queries,
            (unsigned long long)w->dns_truncated);
    counters_one(f, &w->total);
    fprintf(f, ",\n\"hosts\":{");
    int first = 1;
    for (int i = 0; i < w->n_hosts; i++) {
        const world_host *h = w->hosts[i];
        if (!h->c.connections)
            continue;
        fprintf(f, "%s\n\"%s\":", first ? "" : ",", h->name);
        counters_one(f, &h->c);
        first = 0;
    }
    fprintf(f, "}");
    counters_fleets(f, w);
    counters_sources(f);
    fprintf(f, "}\n");
    if (f == stdout) {
        fflush(f);
        return 0;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}
