/* ideal.c — `mailsim ideal`: the ideal time of a world (DESIGN.md "The
 * ideal time of a world"): the lower bound that per-host connection caps,
 * recipient caps, latencies (and greylisting, per-minute caps) allow for
 * checking every address of the list once, and with --concurrency N the
 * bound of a global ceiling of N open sessions: (sum over hosts of the
 * connection-seconds W_h each needs) / N; with --per-provider N, for each
 * fleet (world.h) the sum of its hosts' W_h / N. See README.md for the exact
 * routing and the extensions to the formula. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailsim.h"
#include "world.h"

typedef struct ideal_host {
    double r;          /* recipients routed (fractional when MX ties split) */
    double domains;    /* catch-all probes */
    int grey;          /* greylist delay (s) seen on this host */
} ideal_host;

/* splits one CSV line into fields (quotes honoured), returns field count */
static int ideal_csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line, *o = line;
    while (n < max) {
        f[n++] = o;
        int q = 0;
        if (*p == '"') { q = 1; p++; }
        for (;;) {
            if (!*p || *p == '\n' || *p == '\r') { *o = 0; return n; }
            if (q && *p == '"' && p[1] == '"') { *o++ = '"'; p += 2; continue; }
            if (q && *p == '"') { q = 0; p++; continue; }
            if (!q && *p == ',') { p++; *o++ = 0; break; }
            *o++ = *p++;
        }
    }
    return n;
}

/* live: a host where a session can reach RCPT */
static int ideal_live(const world_host *h)
{
    return h && !h->dead && !h->tarpit && h->block.stage != WORLD_STAGE_BANNER &&
           h->garbage_stage != WORLD_STAGE_BANNER && !(h->drop_stage == WORLD_STAGE_BANNER && h->drop_pct >= 100) &&
           h->dns.mode == WORLD_DNS_NORMAL;
}

/* the hosts an address of domain dn is routed to: the lowest-preference
 * group of live MX hosts (ties split), or the implicit MX. Returns count. */
static int ideal_route(world *w, const char *dn, world_host **out, const world_domain **dom)
{
    world_name *wn = world_name_get(w, dn);
    if (!wn || !wn->domain || wn->domain->dns.mode != WORLD_DNS_NORMAL)
        return 0;
    const world_domain *d = world_domain_get(w, dn);
    *dom = d;
    if (!d || d->dns.mode != WORLD_DNS_NORMAL)
        return 0;
    if (d->n_mx == 0 && d->n_many == 0) {
        world_name *hn = world_name_get(w, d->name);
        if (hn && ideal_live(hn->host)) {
            out[0] = hn->host;
            return 1;
        }
        return 0;
    }
    int best = 1 << 30, n = 0;
    for (int i = 0; i < d->n_mx + d->n_many; i++) {
        char many[300];
        int pref = i < d->n_mx ? d->mx[i].pref : world_many_mx(d, i - d->n_mx, many, sizeof many);
        const char *host = i < d->n_mx ? d->mx[i].host : many;
        world_name *hn = strcmp(host, ".") ? world_name_get(w, host) : NULL;
        if (!hn || !ideal_live(hn->host))
            continue;
        if (pref < best) { best = pref; n = 0; }
        if (pref == best && n < WORLD_MAX_MX)
            out[n++] = hn->host;
    }
    return n;
}

int ideal_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "world", required_argument, 0, 'w' }, { "list", required_argument, 0, 'l' },
        { "per-mx", required_argument, 0, 'c' }, { "verbose", no_argument, 0, 'v' },
        { "concurrency", required_argument, 0, 'n' },
        { "per-provider", required_argument, 0, 'p' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *wp = NULL, *lp = NULL;
    int per_mx = 5, verbose = 0, ch;
    long concurrency = 0;   /* 0: no global ceiling (the per-host bound only) */
    long per_provider = 0;  /* 0: no fleet ceiling */
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'w': wp = optarg; break;
        case 'l': lp = optarg; break;
        case 'c': per_mx = atoi(optarg); break;
        case 'v': verbose = 1; break;
        case 'n': concurrency = atol(optarg); if (concurrency < 1) concurrency = -1; break;
        case 'p': per_provider = atol(optarg); if (per_provider < 1) per_provider = -1; break;
        case 'h':
        default:
            fputs("usage: mailsim ideal --world FILE [--list FILE] [--per-mx N] [--concurrency N] [--per-provider N] [--verbose]\n",
                  ch == 'h' ? stdout : stderr);
            return ch == 'h' ? 0 : 2;
        }
    }
    if (!wp || per_mx < 1 || concurrency < 0 || per_provider < 0) {
        fputs("usage: mailsim ideal --world FILE [--list FILE] [--per-mx N] [--concurrency N] [--per-provider N] [--verbose]\n", stderr);
        return 2;
    }
    world w;
    if (world_load(&w, wp) < 0)
        return 2;
    ideal_host *ih = calloc((size_t)w.n_hosts + 1, sizeof *ih);
    table hidx, dseen;
    table_init(&hidx);
    table_init(&dseen);
    for (int i = 0; i < w.n_hosts; i++)
        table_put(&hidx, w.hosts[i]->name, (void *)(intptr_t)(i + 1));
    /* the list (or, without one, every mailbox named in the world) */
    FILE *f = NULL;
    if (lp && !(f = fopen(lp, "r"))) {
        perror(lp);
        return 2;
    }
    char *line = malloc(1 << 20);
    char *fields[256];
    int col = -1;
    long rows = 0;
    size_t bi = 0;
    for (;;) {
        char dn[300];
        if (f) {
            if (!fgets(line, 1 << 20, f))
                break;
            int n = ideal_csv_fields(line, fields, 256);
            if (col < 0) {
                for (int i = 0; i < n; i++) {
                    for (char *p = fields[i]; *p; p++) *p = (char)tolower((unsigned char)*p);
                    if (!strcmp(fields[i], "email") || !strcmp(fields[i], "e-mail") || !strcmp(fields[i], "email address"))
                        col = i;
                }
                if (col < 0) col = 0;
                continue;
            }
            if (col >= n)
                continue;
            const char *at = strrchr(fields[col], '@');
            if (!at || strchr(fields[col], ' ') || strstr(fields[col], ".."))
                continue;
            snprintf(dn, sizeof dn, "%s", at + 1);
        } else {
            while (bi < w.boxes.cap && !w.boxes.slots[bi].key) bi++;
            if (bi >= w.boxes.cap)
                break;
            snprintf(dn, sizeof dn, "%s", strrchr(w.boxes.slots[bi++].key, '@') + 1);
        }
        world_lower(dn);
        rows++;
        world_host *hs[WORLD_MAX_MX];
        const world_domain *d = NULL;
        int n = ideal_route(&w, dn, hs, &d);
        int first = !table_get(&dseen, dn);
        if (first)
            table_put(&dseen, dn, (void *)1);
        for (int i = 0; i < n; i++) {
            ideal_host *x = &ih[(intptr_t)table_get(&hidx, hs[i]->name)];
            x->r += 1.0 / n;
            if (first)
                x->domains += 1.0 / n;
            int g = d && d->greylist_s >= 0 ? d->greylist_s : hs[i]->greylist_s;
            if (g > x->grey)
                x->grey = g;
        }
    }
    if (f)
        fclose(f);
    free(line);
    double ideal = 0, work = 0;   /* work: sum of W_h, connection-seconds */
    double sessions = 0;          /* sum of S_h: the fewest sessions */
    double *fleet_work = calloc((size_t)w.n_fleets + 1, sizeof *fleet_work);
    const char *worst = "-";
    for (int i = 0; i < w.n_hosts; i++) {
        world_host *h = w.hosts[i];
        ideal_host *x = &ih[i + 1];
        if (x->r <= 0)
            continue;
        double R = ceil(x->r + x->domains - 1e-9);
        double cap = h->rcpt_cap ? h->rcpt_cap : 1e12;
        double C = h->conn_cap ? h->conn_cap : per_mx;
        if (per_provider > 0 && C > per_provider)
            C = (double)per_provider;
        double L = (h->latency_ms + h->drip_ms * 30.0) / 1000.0;
        double S = ceil(R / cap);
        double T = (R + 4 * S) * L / C;
        double busy = (R + 4 * S) * L;   /* connection-seconds of replies */
        double fewest = S;               /* sessions the host must see */
        if (x->grey > 0) {
            double a = (2 * R + 4 * ceil(2 * R / cap)) * L / C;
            double b = x->grey + R * L / C;
            S = ceil(2 * R / cap);
            fewest = 2 * ceil(R / cap);  /* one before the delay, one after it */
            T = a > b ? a : b;
            busy = a * C;   /* the greylist wait holds no connection */
        }
        if (h->conn_per_min > 0) {   /* sessions beyond the first minute's allowance */
            double minutes = ceil(S / h->conn_per_min) - 1;
            if (minutes * 60 > T)
                T = minutes * 60;
        }
        /* W_h = T_h·C_h (the waits of greylisting and per-minute caps left
         * out: they hold no connection) + one L per session for the connect */
        double W = busy + S * L;
        work += W;
        sessions += fewest;
        fleet_work[h->fleet->id] += W;
        if (verbose)
            fprintf(stderr, "%-40s R=%.0f S=%.0f L=%.3f C=%.0f grey=%d T=%.3f W=%.3f\n", h->name, R, S, L, C,
                    x->grey, T, W);
        if (T > ideal) {
            ideal = T;
            worst = h->name;
        }
    }
    double hosts_term = ideal, global = concurrency > 0 ? work / (double)concurrency : 0;
    for (int k = 0; per_provider > 0 && k < w.n_fleets; k++) {
        if (w.fleets[k]->n_hosts < 2)    /* its host's C_h holds the ceiling already */
            continue;
        double f = fleet_work[k] / (double)per_provider;
        if (verbose && fleet_work[k] > 0 && w.fleets[k]->n_hosts > 1)
            fprintf(stderr, "fleet %s: %d hosts, W %.3f, term %.3f s\n", w.fleets[k]->name,
                    w.fleets[k]->n_hosts, fleet_work[k], f);
        if (f > ideal) {
            ideal = f;
            worst = w.fleets[k]->name;
        }
    }
    free(fleet_work);
    if (global > ideal) {
        ideal = global;
        worst = "--concurrency";
    }
    printf("%.3f\n", ideal);
    if (verbose) {
        fprintf(stderr, "hosts term %.3f s; sum of W %.3f connection-seconds; %.0f sessions",
                hosts_term, work, sessions);
        if (concurrency > 0)
            fprintf(stderr, "; concurrency term %.3f s (--concurrency %ld)", global, concurrency);
        fprintf(stderr, "\nideal %.3f s over %ld addresses; bottleneck %s\n", ideal, rows, worst);
    }
    free(ih);
    table_free(&hidx);
    table_free(&dseen);
    world_free(&w);
    return 0;
}
