/* world.c — parser of the world file (format: README.md "World file format")
 * and look-ups over the parsed world. Owns all world memory. */
#include "world.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#define WORLD_LINE_MAX 65536
#define WORLD_MAX_TOKENS 4096

void world_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static char *world_strdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static void *world_grow(void *arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return arr;
    int nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    void *p = realloc(arr, (size_t)nc * elem);
    if (!p)
        abort();
    *cap = nc;
    return p;
}

static void world_strip_dot(char *s)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '.')
        s[n - 1] = 0;
}

static world_name *world_name_make(world *w, const char *name)
{
    world_name *n = table_get(&w->names, name);
    if (!n) {
        n = calloc(1, sizeof *n);
        if (!n)
            abort();
        table_put(&w->names, name, n);
    }
    return n;
}

world_name *world_name_get(world *w, const char *name)
{
    return table_get(&w->names, name);
}

world_host *world_host_by_ip(world *w, const char *ip)
{
    return table_get(&w->by_ip, ip);
}

world_domain *world_domain_get(world *w, const char *name)
{
    for (int hops = 0; hops < 8; hops++) {
        world_name *n = world_name_get(w, name);
        if (!n || !n->domain)
            return NULL;
        if (!n->domain->cname)
            return n->domain;
        name = n->domain->cname;
    }
    return NULL;
}

int world_box(world *w, const char *local, const char *domain)
{
    char key[600];
    if (snprintf(key, sizeof key, "%s@%s", local, domain) >= (int)sizeof key)
        return WORLD_BOX_NONE;
    world_lower(key);
    return (int)(intptr_t)table_get(&w->boxes, key);
}

int world_many_mx(const world_domain *d, int i, char *name, size_t cap)
{
    snprintf(name, cap, "mx%d.%s", i + 1, d->name);
    /* 7919 is prime and n_many <= WORLD_MAX_MANY < 7919: a permutation */
    return 100 + (int)(((long)i * 7919) % d->n_many);
}

/* h is "mxK.NAME" with 1 <= K <= n_many: one of d's mx-many hosts */
static int world_many_serves(const world_domain *d, const world_host *h)
{
    if (d->n_many == 0 || strncmp(h->name, "mx", 2) != 0)
        return 0;
    char *end;
    long k = strtol(h->name + 2, &end, 10);
    return end != h->name + 2 && *end == '.' && k >= 1 && k <= d->n_many &&
           strcmp(end + 1, d->name) == 0;
}

int world_host_serves(const world_domain *d, const world_host *h)
{
    if (d->n_mx == 0 && d->n_many == 0)
        return strcmp(d->name, h->name) == 0;   /* implicit MX */
    for (int i = 0; i < d->n_mx; i++)
        if (strcmp(d->mx[i].host, h->name) == 0)
            return 1;
    return world_many_serves(d, h);
}

static const char *world_stages[] = { "none", "banner", "ehlo", "mail", "rcpt" };

const char *world_stage_name(int stage)
{
    return (stage >= 0 && stage <= WORLD_STAGE_RCPT) ? world_stages[stage] : "?";
}

static int world_stage_parse(const char *s)
{
    if (!strcmp(s, "helo"))
        return WORLD_STAGE_EHLO;
    for (int i = 1; i <= WORLD_STAGE_RCPT; i++)
        if (!strcmp(s, world_stages[i]))
            return i;
    return -1;
}

/* parse state */
typedef struct world_parse {
    const char *path;
    int line;
    world_host *host;
    world_domain *dom;
} world_parse;

static int world_err(world_parse *p, const char *msg, const char *arg)
{
    fprintf(stderr, "%s:%d: %s%s%s\n", p->path, p->line, msg, arg ? ": " : "", arg ? arg : "");
    return -1;
}

static int world_int(world_parse *p, const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || v < 0 || v > 1000000000)
        return world_err(p, "expected a non-negative integer", s);
    *out = (int)v;
    return 0;
}

/* the rest of the line after token k, re-joined with single spaces */
static char *world_rest(char **tok, int n, int k)
{
    size_t len = 1;
    for (int i = k; i < n; i++)
        len += strlen(tok[i]) + 1;
    char *s = calloc(1, len);
    if (!s)
        abort();
    for (int i = k; i < n; i++) {
        if (i > k)
            strcat(s, " ");
        strcat(s, tok[i]);
    }
    return s;
}

static int world_add_ip(world *w, world_parse *p, world_host *h, const char *ip)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip, buf) == 1) {
        if (h->n_ip4 >= WORLD_MAX_ADDRS)
            return world_err(p, "too many addresses", ip);
        memcpy(&h->ip4[h->n_ip4++], buf, 4);
    } else if (inet_pton(AF_INET6, ip, buf) == 1) {
        if (h->n_ip6 >= WORLD_MAX_ADDRS)
            return world_err(p, "too many addresses", ip);
        memcpy(h->ip6[h->n_ip6++], buf, 16);
    } else {
        return world_err(p, "not an IP address", ip);
    }
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(strchr(ip, ':') ? AF_INET6 : AF_INET, buf, canon, sizeof canon);
    world_host *prev = table_put(&w->by_ip, canon, h);
    if (prev && prev != h)
        return world_err(p, "address already used by another host", canon);
    return 0;
}

static int world_dns_opt(world_parse *p, world_dns *d, char **tok, int n)
{
    if (n < 2)
        return world_err(p, "dns needs an argument", NULL);
    if (!strcmp(tok[1], "servfail"))
        d->mode = WORLD_DNS_SERVFAIL;
    else if (!strcmp(tok[1], "nxdomain"))
        d->mode = WORLD_DNS_NXDOMAIN;
    else if (!strcmp(tok[1], "drop"))
        d->mode = WORLD_DNS_DROP;
    else if (!strcmp(tok[1], "truncate"))
        d->truncate = 1;
    else if (!strcmp(tok[1], "loop-noerror"))
        d->loop_noerror = 1;
    else if (!strcmp(tok[1], "delay"))
        return world_int(p, n > 2 ? tok[2] : NULL, &d->delay_ms);
    else
        return world_err(p, "unknown dns behaviour", tok[1]);
    return 0;
}

static int world_block_opt(world_parse *p, world_block *b, char **tok, int n)
{
    if (n < 4)
        return world_err(p, "usage: block STAGE CODE TEXT...", NULL);
    int st = world_stage_parse(tok[1]);
    if (st < 0)
        return world_err(p, "unknown stage", tok[1]);
    if (strlen(tok[2]) != 3 || !isdigit((unsigned char)tok[2][0]))
        return world_err(p, "expected a 3-digit reply code", tok[2]);
    b->stage = st;
    free(b->text);
    b->text = world_rest(tok, n, 2);
    return 0;
}

static int world_stage_opt(world_parse *p, int *stage, const char *s)
{
    int st = s ? world_stage_parse(s) : -1;
    if (st < 0)
        return world_err(p, "expected a stage (banner, ehlo, mail, rcpt)", s);
    *stage = st;
    return 0;
}

static int world_host_line(world *w, world_parse *p, world_host *h, char **tok, int n)
{
    const char *k = tok[0];
    const char *a1 = n > 1 ? tok[1] : NULL;
    if (!strcmp(k, "ip")) {
        for (int i = 1; i < n; i++)
            if (world_add_ip(w, p, h, tok[i]))
                return -1;
        return 0;
    }
    if (!strcmp(k, "dead")) { h->dead = 1; return 0; }
    if (!strcmp(k, "fleet")) {
        if (!a1)
            return world_err(p, "fleet needs a name", k);
        free(h->fleet_name);
        h->fleet_name = world_strdup(a1);
        return 0;
    }
    if (!strcmp(k, "tarpit")) { h->tarpit = 1; return 0; }
    if (!strcmp(k, "catch-all")) { h->catch_all = 1; return 0; }
    if (!strcmp(k, "one-domain")) { h->one_domain = 1; return 0; }
    if (!strcmp(k, "latency")) return world_int(p, a1, &h->latency_ms);
    if (!strcmp(k, "conn-cap")) return world_int(p, a1, &h->conn_cap);
    if (!strcmp(k, "conn-per-minute")) return world_int(p, a1, &h->conn_per_min);
    if (!strcmp(k, "rcpt-cap")) return world_int(p, a1, &h->rcpt_cap);
    if (!strcmp(k, "bad-rcpt-limit")) return world_int(p, a1, &h->bad_rcpt_limit);
    if (!strcmp(k, "drip")) return world_int(p, a1, &h->drip_ms);
    if (!strcmp(k, "rcpt-tarpit")) {
        if (world_int(p, a1, &h->rcpt_tarpit_ms))
            return -1;
        return n > 2 ? world_int(p, tok[2], &h->rcpt_tarpit_step_ms) : 0;
    }
    if (!strcmp(k, "greylist")) {
        if (world_int(p, a1, &h->greylist_s))
            return -1;
        if (n > 2 && world_int(p, tok[2], &h->greylist_code))
            return -1;
        if (h->greylist_code != 450 && h->greylist_code != 451)
            return world_err(p, "greylist code must be 450 or 451", tok[2]);
        return 0;
    }
    if (!strcmp(k, "pipelining")) {
        if (!a1 || (strcmp(a1, "on") && strcmp(a1, "off")))
            return world_err(p, "pipelining on|off", a1);
        h->pipelining = !strcmp(a1, "on");
        return 0;
    }
    if (!strcmp(k, "starttls")) {
        if (a1 && !strcmp(a1, "off")) h->tls = WORLD_TLS_OFF;
        else if (a1 && !strcmp(a1, "offer")) h->tls = WORLD_TLS_OFFER;
        else if (a1 && !strcmp(a1, "require")) h->tls = WORLD_TLS_REQUIRE;
        else if (a1 && !strcmp(a1, "broken")) h->tls = WORLD_TLS_BROKEN;
        else return world_err(p, "starttls off|offer|require", a1);
        return 0;
    }
    if (!strcmp(k, "style")) {
        if (a1 && !strcmp(a1, "postfix")) h->style = WORLD_STYLE_POSTFIX;
        else if (a1 && !strcmp(a1, "gmail")) h->style = WORLD_STYLE_GMAIL;
        else if (a1 && !strcmp(a1, "outlook")) h->style = WORLD_STYLE_OUTLOOK;
        else if (a1 && !strcmp(a1, "yahoo")) h->style = WORLD_STYLE_YAHOO;
        else return world_err(p, "style postfix|gmail|outlook|yahoo", a1);
        return 0;
    }
    if (!strcmp(k, "block")) return world_block_opt(p, &h->block, tok, n);
    if (!strcmp(k, "drop")) {
        if (world_stage_opt(p, &h->drop_stage, a1))
            return -1;
        h->drop_pct = 100;
        return n > 2 ? world_int(p, tok[2], &h->drop_pct) : 0;
    }
    if (!strcmp(k, "garbage")) return world_stage_opt(p, &h->garbage_stage, a1);
    if (!strcmp(k, "longline")) {
        if (world_stage_opt(p, &h->longline_stage, a1))
            return -1;
        h->longline_bytes = WORLD_LONGLINE_DEFAULT;
        if (n > 2 && world_int(p, tok[2], &h->longline_bytes))
            return -1;
        if (h->longline_bytes < 5 || h->longline_bytes > WORLD_LONGLINE_MAX)
            return world_err(p, "longline BYTES must be 5 to 16777216", tok[2]);
        return 0;
    }
    if (!strcmp(k, "endless")) return world_stage_opt(p, &h->endless_stage, a1);
    if (!strcmp(k, "reset")) return world_stage_opt(p, &h->reset_stage, a1);
    if (!strcmp(k, "deaf")) { h->deaf = 1; return 0; }
    if (!strcmp(k, "dns")) return world_dns_opt(p, &h->dns, tok, n);
    return world_err(p, "unknown host keyword", k);
}

static int world_boxes(world *w, world_parse *p, world_domain *d, char **tok, int n, int kind)
{
    char key[600];
    for (int i = 1; i < n; i++) {
        if (snprintf(key, sizeof key, "%s@%s", tok[i], d->name) >= (int)sizeof key)
            return world_err(p, "mailbox name too long", tok[i]);
        world_lower(key);
        table_put(&w->boxes, key, (void *)(intptr_t)kind);
    }
    return 0;
}

static int world_domain_line(world *w, world_parse *p, world_domain *d, char **tok, int n)
{
    const char *k = tok[0];
    const char *a1 = n > 1 ? tok[1] : NULL;
    unsigned char buf[16];
    if (!strcmp(k, "mx")) {
        if (n != 3 || d->n_mx >= WORLD_MAX_MX)
            return world_err(p, "usage: mx PREF HOST (at most 8)", NULL);
        int pref;
        if (world_int(p, tok[1], &pref) || pref > 65535)
            return world_err(p, "bad preference", tok[1]);
        char *host = world_strdup(tok[2]);
        world_lower(host);
        if (strcmp(host, "."))
            world_strip_dot(host);
        d->mx[d->n_mx].pref = pref;
        d->mx[d->n_mx++].host = host;
        return 0;
    }
    if (!strcmp(k, "mx-many")) {
        if (world_int(p, a1, &d->n_many))
            return -1;
        if (d->n_many < 1 || d->n_many > WORLD_MAX_MANY)
            return world_err(p, "mx-many N must be 1 to 1000", a1);
        return 0;
    }
    if (!strcmp(k, "null-mx")) {
        if (d->n_mx >= WORLD_MAX_MX)
            return world_err(p, "too many mx", NULL);
        d->mx[d->n_mx].pref = 0;
        d->mx[d->n_mx++].host = world_strdup(".");
        return 0;
    }
    if (!strcmp(k, "cname")) {
        if (!a1)
            return world_err(p, "cname needs a target", NULL);
        free(d->cname);
        d->cname = world_strdup(a1);
        world_lower(d->cname);
        world_strip_dot(d->cname);
        return 0;
    }
    if (!strcmp(k, "a")) {
        for (int i = 1; i < n; i++) {
            if (d->n_a >= WORLD_MAX_ADDRS || inet_pton(AF_INET, tok[i], buf) != 1)
                return world_err(p, "bad or too many A addresses", tok[i]);
            memcpy(&d->a[d->n_a++], buf, 4);
        }
        return 0;
    }
    if (!strcmp(k, "aaaa")) {
        for (int i = 1; i < n; i++) {
            if (d->n_aaaa >= WORLD_MAX_ADDRS || inet_pton(AF_INET6, tok[i], buf) != 1)
                return world_err(p, "bad or too many AAAA addresses", tok[i]);
            memcpy(d->aaaa[d->n_aaaa++], buf, 16);
        }
        return 0;
    }
    if (!strcmp(k, "catch-all")) { d->catch_all = 1; return 0; }
    if (!strcmp(k, "greylist")) return world_int(p, a1, &d->greylist_s);
    if (!strcmp(k, "block")) {
        if (world_block_opt(p, &d->block, tok, n))
            return -1;
        if (d->block.stage != WORLD_STAGE_RCPT)
            return world_err(p, "a domain can only block at rcpt", NULL);
        return 0;
    }
    if (!strcmp(k, "dns")) return world_dns_opt(p, &d->dns, tok, n);
    if (!strcmp(k, "mailbox")) return world_boxes(w, p, d, tok, n, WORLD_BOX_OK);
    if (!strcmp(k, "full")) return world_boxes(w, p, d, tok, n, WORLD_BOX_FULL);
    if (!strcmp(k, "disabled")) return world_boxes(w, p, d, tok, n, WORLD_BOX_DISABLED);
    return world_err(p, "unknown domain keyword", k);
}

static int world_section(world *w, world_parse *p, char **tok, int n)
{
    if (n < 2)
        return world_err(p, "missing name", tok[0]);
    char name[256];
    if (strlen(tok[1]) >= sizeof name)
        return world_err(p, "name too long", NULL);
    strcpy(name, tok[1]);
    world_lower(name);
    world_strip_dot(name);
    world_name *wn = world_name_make(w, name);
    p->host = NULL;
    p->dom = NULL;
    if (!strcmp(tok[0], "host")) {
        if (wn->host)
            return world_err(p, "host defined twice", name);
        world_host *h = calloc(1, sizeof *h);
        if (!h)
            abort();
        h->name = world_strdup(name);
        h->pipelining = 1;
        h->greylist_code = 450;
        wn->host = h;
        w->hosts = world_grow(w->hosts, &w->cap_hosts, w->n_hosts + 1, sizeof *w->hosts);
        w->hosts[w->n_hosts++] = h;
        p->host = h;
        for (int i = 2; i < n; i++) {
            if (!strcmp(tok[i], "dead"))
                h->dead = 1;
            else if (world_add_ip(w, p, h, tok[i]))
                return -1;
        }
        return 0;
    }
    if (wn->domain)
        return world_err(p, "domain defined twice", name);
    if (n > 2)
        return world_err(p, "domain takes only a name", tok[2]);
    world_domain *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->name = world_strdup(name);
    d->greylist_s = -1;
    wn->domain = d;
    w->domains = world_grow(w->domains, &w->cap_domains, w->n_domains + 1, sizeof *w->domains);
    w->domains[w->n_domains++] = d;
    p->dom = d;
    return 0;
}

/* h's fleet: its `fleet` name, else the registrable domain of its name by
 * the Public Suffix List (libpsl, as a verifier's --per-provider groups it),
 * else the name itself */
static void world_fleet_join(world *w, world_host *h)
{
    static const psl_ctx_t *psl;
    if (!psl && !(psl = psl_latest(NULL)))
        psl = psl_builtin();
    const char *name = h->fleet_name;
    if (!name) {
        name = psl ? psl_registrable_domain(psl, h->name) : NULL;
        name = name ? name : h->name;
    }
    world_fleet *f = table_get(&w->fleet_by_name, name);
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f || !(f->name = world_strdup(name)))
            abort();
        w->fleets = world_grow(w->fleets, &w->cap_fleets, w->n_fleets + 1, sizeof *w->fleets);
        f->id = w->n_fleets;
        w->fleets[w->n_fleets++] = f;
        table_put(&w->fleet_by_name, f->name, f);
    }
    f->n_hosts++;
    h->fleet = f;
}

int world_load(world *w, const char *path)
{
    memset(w, 0, sizeof *w);
    table_init(&w->names);
    table_init(&w->by_ip);
    table_init(&w->boxes);
    table_init(&w->greylist);
    table_init(&w->fleet_by_name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mailsim: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = malloc(WORLD_LINE_MAX);
    char **tok = malloc(WORLD_MAX_TOKENS * sizeof *tok);
    if (!line || !tok)
        abort();
    world_parse p = { .path = path };
    int rc = 0;
    while (rc == 0 && fgets(line, WORLD_LINE_MAX, f)) {
        p.line++;
        size_t len = strlen(line);
        if (len == WORLD_LINE_MAX - 1 && line[len - 1] != '\n') {
            rc = world_err(&p, "line too long", NULL);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        int n = 0;
        for (char *s = strtok(line, " \t\r\n"); s; s = strtok(NULL, " \t\r\n")) {
            if (n >= WORLD_MAX_TOKENS) {
                rc = world_err(&p, "too many words on a line", NULL);
                break;
            }
            tok[n++] = s;
        }
        if (rc || n == 0)
            continue;
        if (!strcmp(tok[0], "host") || !strcmp(tok[0], "domain"))
            rc = world_section(w, &p, tok, n);
        else if (p.host)
            rc = world_host_line(w, &p, p.host, tok, n);
        else if (p.dom)
            rc = world_domain_line(w, &p, p.dom, tok, n);
        else
            rc = world_err(&p, "keyword outside a host or domain section", tok[0]);
    }
    fclose(f);
    free(line);
    free(tok);
    for (int i = 0; rc == 0 && i < w->n_hosts; i++) {
        world_host *h = w->hosts[i];
        world_fleet_join(w, h);
        if (h->conn_per_min) {
            h->conn_times = calloc((size_t)h->conn_per_min, sizeof *h->conn_times);
            if (!h->conn_times)
                abort();
            for (int j = 0; j < h->conn_per_min; j++)
                h->conn_times[j] = -1000000000;   /* long ago */
        }
    }
    return rc;
}

void world_free(world *w)
{
    for (int i = 0; i < w->n_hosts; i++) {
        world_host *h = w->hosts[i];
        free(h->name);
        free(h->fleet_name);
        free(h->block.text);
        free(h->conn_times);
        free(h);
    }
    for (int i = 0; i < w->n_domains; i++) {
        world_domain *d = w->domains[i];
        free(d->name);
        free(d->cname);
        free(d->block.text);
        for (int j = 0; j < d->n_mx; j++)
            free(d->mx[j].host);
        free(d);
    }
    for (int i = 0; i < w->n_fleets; i++) {
        free(w->fleets[i]->name);
        free(w->fleets[i]);
    }
    free(w->fleets);
    table_free(&w->fleet_by_name);
    free(w->hosts);
    free(w->domains);
    for (size_t i = 0; i < w->names.cap; i++)
        free(w->names.slots[i].val);
    table_free(&w->names);
    table_free(&w->by_ip);
    table_free(&w->boxes);
    table_free(&w->greylist);
    memset(w, 0, sizeof *w);
}
