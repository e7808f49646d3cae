/* counters.c — mailsim's counter dump: one JSON object with the totals, the
 * DNS counters and one entry per host that saw a connection. Format in
 * README.md ("Counters"). */
#include "counters.h"

#include <stdio.h>
#include <string.h>

static void counters_one(FILE *f, const world_counters *c)
{
    fprintf(f,
            "{\"connections\":%llu,\"conn_current\":%llu,\"conn_peak\":%llu,\"sent_421\":%llu,"
            "\"sent_421_rate\":%llu,\"commands\":%llu,\"rcpt\":%llu,\"rcpt_cap_hits\":%llu,"
            "\"greylist_hits\":%llu,\"tls_handshakes\":%llu,\"drops\":%llu,\"tarpitted\":%llu,"
            "\"data_attempts\":%llu}",
            (unsigned long long)c->connections, (unsigned long long)c->conn_current,
            (unsigned long long)c->conn_peak, (unsigned long long)c->sent_421,
            (unsigned long long)c->sent_421_rate, (unsigned long long)c->commands,
            (unsigned long long)c->rcpt, (unsigned long long)c->rcpt_cap_hits,
            (unsigned long long)c->greylist_hits, (unsigned long long)c->tls_handshakes,
            (unsigned long long)c->drops, (unsigned long long)c->tarpitted,
            (unsigned long long)c->data_attempts);
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
    fprintf(f, "}}\n");
    if (f == stdout) {
        fflush(f);
        return 0;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}
