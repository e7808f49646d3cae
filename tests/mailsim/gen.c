/* gen.c — `mailsim gen`: writes a world file, the list CSV and its ground
 * truth. Domains are Zipf-sized (a few giant providers, a long tail); each
 * tail domain gets one behaviour from a configurable mix. Deterministic for
 * a given seed. Vocabulary of the truth file: SPEC.md's statuses/reasons. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailsim.h"
#include "table.h"

/* ---- deterministic PRNG (splitmix64) ---- */
static uint64_t gen_state;
static uint64_t gen_rand(void)
{
    uint64_t z = (gen_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double gen_unit(void) { return (double)(gen_rand() >> 11) / 9007199254740992.0; }
static int gen_below(int n) { return (int)(gen_rand() % (uint64_t)n); }

/* ---- domain behaviours ---- */
enum gen_kind {
    G_NORMAL, G_CATCHALL, G_GREYLIST, G_NXDOMAIN, G_SERVFAIL, G_DNSDROP, G_NULLMX, G_NODATA,
    G_AONLY, G_DEAD, G_TARPIT, G_BANNER554, G_BLOCK, G_TLS, G_DROP, G_GARBAGE, G_DRIP,
    G_SLOWDNS, G_RATECAP, G_RCPTCAP, G_CONNCAP, G_SHARED, G_OUTLOOK, G_KINDS
};
static const char *gen_kind_names[G_KINDS] = {
    "normal", "catchall", "greylist", "nxdomain", "servfail", "dnsdrop", "nullmx", "nodata",
    "aonly", "dead", "tarpit", "banner554", "block", "tls", "drop", "garbage", "drip",
    "slowdns", "ratecap", "rcptcap", "conncap", "shared", "outlook",
};
/* default mix: percent of tail domains (the rest is normal) */
static double gen_mix[G_KINDS] = {
    [G_CATCHALL] = 6, [G_GREYLIST] = 5, [G_NXDOMAIN] = 4, [G_SERVFAIL] = 1, [G_DNSDROP] = 0.5,
    [G_NULLMX] = 1, [G_NODATA] = 2, [G_AONLY] = 3, [G_DEAD] = 2, [G_TARPIT] = 1,
    [G_BANNER554] = 1, [G_BLOCK] = 2, [G_TLS] = 8, [G_DROP] = 2, [G_GARBAGE] = 0.5,
    [G_DRIP] = 1, [G_SLOWDNS] = 2, [G_RATECAP] = 2, [G_RCPTCAP] = 3, [G_CONNCAP] = 3,
    [G_SHARED] = 20, [G_OUTLOOK] = 2,
};

static const char *gen_first[] = {
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william",
    "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
    "charles", "karen", "daniel", "nancy", "matthew", "lisa", "anthony", "betty", "mark", "sandra",
    "paul", "ashley", "steven", "emily", "andrew", "donna", "kevin", "michelle", "brian", "carol",
    "george", "amanda", "lucas", "sofia", "noah", "emma", "liam", "olivia", "mateo", "chloe",
    "hugo", "lea", "jonas", "mia", "ahmed", "fatima", "wei", "yuki", "raj", "priya", "ivan", "olga",
};
static const char *gen_last[] = {
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
    "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
    "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
    "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall",
    "muller", "schmidt", "dubois", "rossi", "kowalski", "novak", "ivanova", "tanaka", "chen", "patel",
};
static const char *gen_w1[] = {
    "blue", "red", "green", "silver", "golden", "north", "south", "east", "west", "bright",
    "rapid", "smart", "happy", "urban", "global", "prime", "alpha", "nova", "cedar", "maple",
    "river", "stone", "ocean", "summit", "pixel", "quantum", "solar", "lunar", "iron", "crystal",
};
static const char *gen_w2[] = {
    "falcon", "works", "labs", "media", "design", "systems", "foods", "travel", "studio", "partners",
    "consulting", "logistics", "health", "realty", "motors", "bakery", "garden", "tech", "capital",
    "energy", "print", "legal", "dental", "fitness", "books", "coffee", "craft", "data", "cloud", "farm",
};
static const char *gen_tlds[] = { "com", "com", "com", "net", "org", "de", "fr", "co.uk", "io", "biz" };
static const char *gen_roles[] = { "info", "sales", "contact", "admin", "support", "office", "hello" };
static const char *gen_countries[] = { "US", "US", "US", "GB", "DE", "FR", "CA", "IN", "BR", "JP", "ES", "IT" };

typedef struct gen_opts {
    long addresses, domains;
    uint64_t seed;
    const char *out;
    int giants;
    double zipf;
    int giant_latency, tail_latency, giant_conn_cap, giant_rcpt_cap, tail_conn_cap;
    int greylist_delay;
    int shared_providers; /* shared provider fleets (default: one per 200 domains, + 1) */
    int shared_mx;        /* MX hosts of each provider, equal preference (default 1) */
    int shared_conn_cap;  /* a provider host's connection cap (default twice the tail's) */
    int shared_rcpt_cap;  /* its recipients per session (default 50) */
    double unknown_pct, full_pct, disabled_pct, invalid_pct, role_pct;
    int every;           /* give each behaviour to at least one tail domain first */
    int sorted;          /* keep each domain's rows together (default: shuffled, like real lists) */
} gen_opts;

typedef struct gen_domain {
    char name[96];
    int kind;
    long count;          /* addresses in the list */
    int host;            /* index of its own host, -1 none */
    int shared;          /* shared provider index, -1 none */
} gen_domain;

static int gen_parse_mix(const char *s)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = 0;
        int k;
        for (k = 0; k < G_KINDS && strcmp(gen_kind_names[k], tok); k++)
            ;
        if (k == G_KINDS || k == G_NORMAL) {
            fprintf(stderr, "mailsim gen: unknown behaviour in --mix: %s\n", tok);
            return -1;
        }
        gen_mix[k] = atof(eq + 1);
    }
    return 0;
}

/* host k (0-based, live) -> 127.a.b.c, never 127.0.x.x nor 127.255.x.x */
static void gen_ip(long k, char *out, size_t cap)
{
    snprintf(out, cap, "127.%ld.%ld.%ld", 1 + k / (256L * 254), (k / 254) % 256, k % 254 + 1);
}

static void gen_dead_ip(long k, char *out, size_t cap)
{
    snprintf(out, cap, "127.255.%ld.%ld", (k / 254) % 256, k % 254 + 1);
}

static int gen_kind_mailboxes(int kind)
{
    switch (kind) {
    case G_CATCHALL: case G_NXDOMAIN: case G_SERVFAIL: case G_DNSDROP: case G_NULLMX:
    case G_NODATA: case G_DEAD: case G_TARPIT: case G_BANNER554: case G_BLOCK: case G_GARBAGE:
        return 0;
    default:
        return 1;
    }
}

/* status,reason,determinable for a whole domain kind (NULL: per mailbox) */
static const char *gen_kind_truth(int kind)
{
    switch (kind) {
    case G_CATCHALL: return "risky,accept_all,yes";
    case G_NXDOMAIN: return "undeliverable,invalid_domain,yes";
    case G_SERVFAIL: return "unknown,dns_error,yes";
    case G_DNSDROP: return "unknown,dns_error,yes";
    case G_NULLMX: return "undeliverable,null_mx,yes";
    case G_NODATA: return "undeliverable,no_mail_server,yes";
    case G_DEAD: return "unknown,no_connect,yes";
    case G_TARPIT: return "unknown,timeout,yes";
    case G_BANNER554: return "unknown,blocked,yes";
    case G_BLOCK: return "unknown,blocked,yes";
    case G_GARBAGE: return "unknown,protocol_error,no";
    default: return NULL;
    }
}

static FILE *gen_open(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "mailsim gen: %s: %s\n", path, strerror(errno));
    return f;
}

static void gen_mailbox_lines(FILE *w, const char *kw, char **names, int n)
{
    for (int i = 0; i < n; i += 100) {
        fprintf(w, "  %s", kw);
        for (int j = i; j < n && j < i + 100; j++)
            fprintf(w, " %s", names[j]);
        fputc('\n', w);
    }
}

static void gen_host_common(FILE *w, int kind, const gen_opts *o)
{
    if (o->tail_latency)
        fprintf(w, "  latency %d\n", o->tail_latency);
    fprintf(w, "  conn-cap %d\n", kind == G_CONNCAP ? 1 : o->tail_conn_cap);
    switch (kind) {
    case G_GREYLIST: fprintf(w, "  greylist %d\n", o->greylist_delay); break;
    case G_TARPIT: fprintf(w, "  tarpit\n"); break;
    case G_BANNER554: fprintf(w, "  block banner 554 5.7.1 Service unavailable; client [127.0.0.1] blocked using bl.spamcop.net\n"); break;
    case G_BLOCK: fprintf(w, "  block rcpt 550 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.1\n"); break;
    case G_TLS: fprintf(w, "  starttls require\n"); break;
    case G_DROP: fprintf(w, "  drop rcpt 50\n"); break;
    case G_GARBAGE: fprintf(w, "  garbage banner\n"); break;
    case G_DRIP: fprintf(w, "  drip 1\n"); break;
    case G_RATECAP: fprintf(w, "  conn-per-minute 3\n"); break;
    case G_RCPTCAP: fprintf(w, "  rcpt-cap 5\n"); break;
    case G_OUTLOOK: fprintf(w, "  style outlook\n  starttls offer\n"); break;
    default: break;
    }
}

/* Write the list and truth lines, shuffled (Fisher-Yates on its own PRNG
 * stream, so the world file does not change) unless SHUFFLE is 0: real lists
 * are not grouped by domain, and a grouped list would measure the reader's
 * look-ahead rather than the scheduler. Frees the lines. */
static void gen_write_rows(FILE *l, FILE *t, char **rl, char **rt, long n, int shuffle)
{
    uint64_t saved = gen_state;
    gen_state ^= 0x9E3779B97F4A7C15ULL;
    for (long i = n - 1; shuffle && i > 0; i--) {
        long j = (long)(gen_rand() % (uint64_t)(i + 1));
        char *a = rl[i], *b = rt[i];
        rl[i] = rl[j], rt[i] = rt[j];
        rl[j] = a, rt[j] = b;
    }
    gen_state = saved;
    for (long i = 0; i < n; i++) {
        fputs(rl[i], l);
        fputs(rt[i], t);
        free(rl[i]);
        free(rt[i]);
    }
}

static int gen_run(const gen_opts *o)
{
    gen_state = o->seed * 0x2545F4914F6CDD1DULL + 1;
    mkdir(o->out, 0755);
    FILE *w = gen_open(o->out, "world.txt"), *l = gen_open(o->out, "list.csv"), *t = gen_open(o->out, "truth.csv");
    if (!w || !l || !t)
        return 1;
    long M = o->domains, N = o->addresses;
    int G = o->giants > M ? (int)M : o->giants;
    gen_domain *d = calloc((size_t)M, sizeof *d);
    if (!d)
        return 1;
    /* names */
    table seen;
    table_init(&seen);
    for (long i = 0; i < M; i++) {
        if (i < G) {
            snprintf(d[i].name, sizeof d[i].name, "bigmail%ld.com", i);
        } else {
            for (int tries = 0;; tries++) {
                const char *a = gen_w1[gen_below(sizeof gen_w1 / sizeof *gen_w1)];
                const char *b = gen_w2[gen_below(sizeof gen_w2 / sizeof *gen_w2)];
                const char *tld = gen_tlds[gen_below(sizeof gen_tlds / sizeof *gen_tlds)];
                if (tries < 3)
                    snprintf(d[i].name, sizeof d[i].name, "%s%s.%s", a, b, tld);
                else
                    snprintf(d[i].name, sizeof d[i].name, "%s%s%ld.%s", a, b, i, tld);
                if (!table_get(&seen, d[i].name))
                    break;
            }
        }
        table_put(&seen, d[i].name, (void *)1);
        d[i].host = d[i].shared = -1;
    }
    /* kinds */
    double total = 0;
    for (int k = 1; k < G_KINDS; k++)
        total += gen_mix[k];
    for (long i = G; i < M; i++) {
        double r = gen_unit() * (total > 100 ? total : 100);
        d[i].kind = G_NORMAL;
        if (o->every && i - G < G_KINDS) {   /* the largest tail domains, one each */
            d[i].kind = (int)(i - G);
            continue;
        }
        for (int k = 1; k < G_KINDS; k++) {
            if (r < gen_mix[k]) {
                d[i].kind = k;
                break;
            }
            r -= gen_mix[k];
        }
    }
    /* sizes: one address each, the rest by Zipf over ranks */
    double *cdf = malloc((size_t)M * sizeof *cdf);
    double acc = 0;
    for (long i = 0; i < M; i++)
        cdf[i] = (acc += 1.0 / pow((double)(i + 1), o->zipf));
    for (long i = 0; i < M && i < N; i++)
        d[i].count = 1;
    for (long n = M; n < N; n++) {
        double r = gen_unit() * acc;
        long lo = 0, hi = M - 1;
        while (lo < hi) {
            long mid = (lo + hi) / 2;
            if (cdf[mid] < r) lo = mid + 1; else hi = mid;
        }
        d[lo].count++;
    }
    free(cdf);
    /* world: giants, shared providers, tail hosts */
    char ip[32], ip2[32];
    long nhost = 0, ndead = 0;
    static const char *styles[] = { "gmail", "outlook", "yahoo", "postfix" };
    fprintf(w, "# mailsim world: %ld addresses, %ld domains, seed %llu (mailsim gen)\n\n", N, M,
            (unsigned long long)o->seed);
    for (long i = 0; i < G; i++) {
        for (int m = 1; m <= 2; m++) {
            gen_ip(nhost++, ip, sizeof ip);
            fprintf(w, "host mx%d.%s %s\n  style %s\n  latency %d\n  conn-cap %d\n  rcpt-cap %d\n  starttls offer\n",
                    m, d[i].name, ip, styles[i < 3 ? i : 3], o->giant_latency, o->giant_conn_cap, o->giant_rcpt_cap);
        }
    }
    int nshared = o->shared_providers > 0 ? o->shared_providers : (int)(M / 200) + 1;
    for (int s = 0; s < nshared; s++) {
        for (int m = 1; m <= o->shared_mx; m++) {
            gen_ip(nhost++, ip, sizeof ip);
            fprintf(w, "host mx%d.hostprovider%d.net %s\n  latency %d\n  conn-cap %d\n  rcpt-cap %d\n", m, s, ip,
                    o->tail_latency, o->shared_conn_cap ? o->shared_conn_cap : o->tail_conn_cap * 2,
                    o->shared_rcpt_cap);
        }
    }
    fputc('\n', w);
    char **rows_l = calloc((size_t)N + 1, sizeof *rows_l);   /* list and truth lines, */
    char **rows_t = calloc((size_t)N + 1, sizeof *rows_t);   /* written out at the end */
    char **names = malloc((size_t)(N + 1) * sizeof *names);
    char **full = malloc((size_t)(N + 1) * sizeof *full);
    char **dis = malloc((size_t)(N + 1) * sizeof *dis);
    fprintf(l, "email,first_name,last_name,company,country,signup_date\n");
    fprintf(t, "email,status,reason,determinable,behaviour\n");
    long row = 0;
    for (long i = 0; i < M; i++) {
        gen_domain *x = &d[i];
        int kind = x->kind;
        const char *dn = x->name;
        if (x->count == 0)
            continue;
        /* hosts and DNS */
        if (i < G) {
            fprintf(w, "domain %s\n  mx 10 mx1.%s\n  mx 10 mx2.%s\n", dn, dn, dn);
        } else if (kind == G_SHARED) {
            fprintf(w, "domain %s\n", dn);
            for (int m = 1; m <= o->shared_mx; m++)
                fprintf(w, "  mx 10 mx%d.hostprovider%ld.net\n", m, i % nshared);
        } else if (kind == G_NXDOMAIN) {
            fprintf(w, "domain %s\n  dns nxdomain\n", dn);
        } else if (kind == G_NULLMX) {
            fprintf(w, "domain %s\n  null-mx\n", dn);
        } else if (kind == G_NODATA) {
            fprintf(w, "domain %s\n", dn);
        } else if (kind == G_AONLY) {
            gen_ip(nhost++, ip, sizeof ip);
            fprintf(w, "host %s %s\n", dn, ip);
            gen_host_common(w, kind, o);
            fprintf(w, "domain %s\n", dn);
        } else if (kind == G_DEAD) {
            gen_dead_ip(ndead++, ip, sizeof ip);
            fprintf(w, "host mx.%s %s dead\ndomain %s\n  mx 10 mx.%s\n", dn, ip, dn, dn);
        } else {
            gen_ip(nhost++, ip, sizeof ip);
            fprintf(w, "host mx.%s %s\n", dn, ip);
            gen_host_common(w, kind, o);
            fprintf(w, "domain %s\n  mx 10 mx.%s\n", dn, dn);
            if (kind == G_SERVFAIL) fprintf(w, "  dns servfail\n");
            if (kind == G_DNSDROP) fprintf(w, "  dns drop\n");
            if (kind == G_SLOWDNS) fprintf(w, "  dns delay 1500\n");
            if (kind == G_CATCHALL) fprintf(w, "  catch-all\n");
        }
        (void)ip2;
        /* addresses */
        table locals;
        table_init(&locals);
        int nn = 0, nf = 0, nd = 0;
        const char *whole = gen_kind_truth(kind);
        for (long a = 0; a < x->count; a++, row++) {
            const char *fn = gen_first[gen_below(sizeof gen_first / sizeof *gen_first)];
            const char *ln = gen_last[gen_below(sizeof gen_last / sizeof *gen_last)];
            char local[96];
            for (int tries = 0;; tries++) {
                int style = gen_below(5);
                if (gen_unit() * 100 < o->role_pct && tries == 0)
                    snprintf(local, sizeof local, "%s", gen_roles[gen_below(sizeof gen_roles / sizeof *gen_roles)]);
                else if (style == 0) snprintf(local, sizeof local, "%s.%s", fn, ln);
                else if (style == 1) snprintf(local, sizeof local, "%c%s", fn[0], ln);
                else if (style == 2) snprintf(local, sizeof local, "%s%d", fn, gen_below(100));
                else if (style == 3) snprintf(local, sizeof local, "%s_%s", fn, ln);
                else snprintf(local, sizeof local, "%s.%s%d", fn, ln, gen_below(1000));
                if (tries > 2)
                    snprintf(local + strlen(local), sizeof local - strlen(local), "%ld", a);
                if (!table_get(&locals, local))
                    break;
            }
            table_put(&locals, local, (void *)1);
            char email[200];
            const char *truth;
            char tbuf[128];
            double r = gen_unit() * 100;
            if (r < o->invalid_pct) {
                static const char *bad[] = { "%s..x@%s", "%s@@%s", "%s at %s", ".%s@%s", "%s@-%s" };
                snprintf(email, sizeof email, bad[gen_below(5)], local, dn);
                truth = "undeliverable,invalid_syntax,yes";
            } else {
                snprintf(email, sizeof email, "%s@%s", local, dn);
                r = gen_unit() * 100;
                if (whole) {
                    truth = whole;
                } else if (r < o->unknown_pct) {
                    truth = "undeliverable,mailbox_not_found,yes";
                } else if (r < o->unknown_pct + o->full_pct) {
                    truth = "risky,mailbox_full,yes";
                    full[nf++] = strdup(local);
                } else if (r < o->unknown_pct + o->full_pct + o->disabled_pct) {
                    truth = "undeliverable,mailbox_disabled,yes";
                    dis[nd++] = strdup(local);
                } else {
                    truth = "deliverable,accepted,yes";
                    names[nn++] = strdup(local);
                }
            }
            snprintf(tbuf, sizeof tbuf, "%s,%s", truth, i < G ? "giant" : gen_kind_names[kind]);
            char company[64];
            snprintf(company, sizeof company, "%s %s", gen_w1[gen_below(30)], gen_w2[gen_below(30)]);
            company[0] = (char)(company[0] - 32);
            char line[512];
            snprintf(line, sizeof line, "%s,%c%s,%c%s,\"%s, Inc.\",%s,20%02d-%02d-%02d\n", email,
                     fn[0] - 32, fn + 1, ln[0] - 32, ln + 1, company, gen_countries[gen_below(12)],
                     15 + gen_below(10), 1 + gen_below(12), 1 + gen_below(28));
            rows_l[row] = strdup(line);
            snprintf(line, sizeof line, "%s,%s\n", email, tbuf);
            rows_t[row] = strdup(line);
        }
        if (gen_kind_mailboxes(kind) || i < G) {
            gen_mailbox_lines(w, "mailbox", names, nn);
            gen_mailbox_lines(w, "full", full, nf);
            gen_mailbox_lines(w, "disabled", dis, nd);
        }
        for (int k = 0; k < nn; k++) free(names[k]);
        for (int k = 0; k < nf; k++) free(full[k]);
        for (int k = 0; k < nd; k++) free(dis[k]);
        table_free(&locals);
        fputc('\n', w);
    }
    gen_write_rows(l, t, rows_l, rows_t, row, !o->sorted);
    free(rows_l);
    free(rows_t);
    free(names);
    free(full);
    free(dis);
    free(d);
    table_free(&seen);
    int bad = ferror(w) | ferror(l) | ferror(t);
    bad |= fclose(w) | fclose(l) | fclose(t);
    if (bad) {
        fprintf(stderr, "mailsim gen: write error in %s\n", o->out);
        return 1;
    }
    fprintf(stderr, "mailsim gen: %ld rows, %ld domains, %ld hosts (+%ld dead) in %s\n", row, M, nhost, ndead, o->out);
    return 0;
}

static const char gen_usage[] =
    "usage: mailsim gen --addresses N --domains M --seed S --out-dir DIR\n"
    "       [--giants K] [--zipf S] [--giant-latency MS] [--tail-latency MS]\n"
    "       [--giant-conn-cap N] [--giant-rcpt-cap N] [--tail-conn-cap N] [--greylist-delay S]\n"
    "       [--unknown PCT] [--full PCT] [--disabled PCT] [--invalid PCT] [--role PCT]\n"
    "       [--shared-providers K] [--shared-mx N] [--shared-conn-cap N] [--shared-rcpt-cap N]\n"
    "       [--every-behaviour] [--sorted] [--mix KIND=PCT,...]   kinds: catchall greylist nxdomain servfail dnsdrop nullmx\n"
    "        nodata aonly dead tarpit banner554 block tls drop garbage drip slowdns ratecap\n"
    "        rcptcap conncap shared outlook  (percent of tail domains; --mix none=0 is not needed:\n"
    "        set each to 0 for an all-normal world)\n";

int gen_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "addresses", required_argument, 0, 'n' }, { "domains", required_argument, 0, 'm' },
        { "seed", required_argument, 0, 's' }, { "out-dir", required_argument, 0, 'o' },
        { "giants", required_argument, 0, 'g' }, { "zipf", required_argument, 0, 'z' },
        { "giant-latency", required_argument, 0, 1 }, { "tail-latency", required_argument, 0, 2 },
        { "giant-conn-cap", required_argument, 0, 3 }, { "giant-rcpt-cap", required_argument, 0, 4 },
        { "tail-conn-cap", required_argument, 0, 5 }, { "greylist-delay", required_argument, 0, 6 },
        { "unknown", required_argument, 0, 7 }, { "full", required_argument, 0, 8 },
        { "disabled", required_argument, 0, 9 }, { "invalid", required_argument, 0, 10 },
        { "role", required_argument, 0, 11 }, { "mix", required_argument, 0, 12 },
        { "every-behaviour", no_argument, 0, 13 }, { "sorted", no_argument, 0, 14 },
        { "shared-providers", required_argument, 0, 15 }, { "shared-mx", required_argument, 0, 16 },
        { "shared-conn-cap", required_argument, 0, 17 }, { "shared-rcpt-cap", required_argument, 0, 18 },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    gen_opts o = { .addresses = 1000, .domains = 100, .seed = 1, .giants = -1, .zipf = 1.0,
                   .giant_latency = 20, .tail_latency = 10, .giant_conn_cap = 10, .giant_rcpt_cap = 100,
                   .tail_conn_cap = 3, .greylist_delay = 5, .unknown_pct = 15, .full_pct = 1,
                   .disabled_pct = 1, .invalid_pct = 1, .role_pct = 3, .shared_mx = 1,
                   .shared_rcpt_cap = 50 };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'n': o.addresses = atol(optarg); break;
        case 'm': o.domains = atol(optarg); break;
        case 's': o.seed = strtoull(optarg, NULL, 10); break;
        case 'o': o.out = optarg; break;
        case 'g': o.giants = atoi(optarg); break;
        case 'z': o.zipf = atof(optarg); break;
        case 1: o.giant_latency = atoi(optarg); break;
        case 2: o.tail_latency = atoi(optarg); break;
        case 3: o.giant_conn_cap = atoi(optarg); break;
        case 4: o.giant_rcpt_cap = atoi(optarg); break;
        case 5: o.tail_conn_cap = atoi(optarg); break;
        case 6: o.greylist_delay = atoi(optarg); break;
        case 7: o.unknown_pct = atof(optarg); break;
        case 8: o.full_pct = atof(optarg); break;
        case 9: o.disabled_pct = atof(optarg); break;
        case 10: o.invalid_pct = atof(optarg); break;
        case 11: o.role_pct = atof(optarg); break;
        case 12: if (gen_parse_mix(optarg) < 0) return 2; break;
        case 13: o.every = 1; break;
        case 14: o.sorted = 1; break;
        case 15: o.shared_providers = atoi(optarg); if (o.shared_providers < 1) o.shared_providers = -1; break;
        case 16: o.shared_mx = atoi(optarg); break;
        case 17: o.shared_conn_cap = atoi(optarg); if (o.shared_conn_cap < 1) o.shared_conn_cap = -1; break;
        case 18: o.shared_rcpt_cap = atoi(optarg); break;
        case 'h': fputs(gen_usage, stdout); return 0;
        default: fputs(gen_usage, stderr); return 2;
        }
    }
    if (!o.out || o.addresses < 1 || o.domains < 1 || o.tail_conn_cap < 1 || o.giant_conn_cap < 1 ||
        o.shared_providers < 0 || o.shared_mx < 1 || o.shared_mx > 8 || o.shared_conn_cap < 0 ||
        o.shared_rcpt_cap < 1) {
        fputs(gen_usage, stderr);
        return 2;
    }
    if (o.giants < 0)
        o.giants = o.domains >= 250 ? 5 : (int)(o.domains / 50) + 1;
    return gen_run(&o);
}
