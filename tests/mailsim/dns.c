/* dns.c — mailsim's DNS server: wire format (RFC 1035, EDNS0 OPT), answers
 * for MX/A/AAAA/CNAME from the world, NXDOMAIN, NODATA, null MX, SERVFAIL,
 * delayed and dropped answers, TC over UDP and the TCP fallback. Owns its
 * sockets, pending-answer timers and TCP connections. */
#include "dns.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_HDR 12
#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_MX 15
#define DNS_T_AAAA 28
#define DNS_T_OPT 41
#define DNS_T_ANY 255
#define DNS_TTL 300
#define DNS_TCP_IDLE_MS 10000
#define DNS_TCP_BUF (65535 + 2)
#define DNS_MAX_CHAIN 8     /* CNAMEs followed in one answer */

static uv_udp_t dns_udp;
static uv_tcp_t dns_tcp;
static uv_loop_t *dns_loop;
static world *dns_world;
static int dns_running;

/* ---- wire writer ---- */

typedef struct dns_buf {
    uint8_t *p;
    size_t len, cap;
    int overflow;
} dns_buf;

static void dns_put(dns_buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void dns_u16(dns_buf *b, unsigned v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    dns_put(b, x, 2);
}

static void dns_u32(dns_buf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    dns_put(b, x, 4);
}

/* writes a dotted name as labels ("." = root) */
static void dns_name(dns_buf *b, const char *name)
{
    if (strcmp(name, ".") != 0) {
        while (*name) {
            const char *dot = strchr(name, '.');
            size_t n = dot ? (size_t)(dot - name) : strlen(name);
            if (n == 0 || n > 63) {
                b->overflow = 1;
                return;
            }
            uint8_t l = (uint8_t)n;
            dns_put(b, &l, 1);
            dns_put(b, name, n);
            name += n + (dot ? 1 : 0);
        }
    }
    uint8_t z = 0;
    dns_put(b, &z, 1);
}

/* owner: NULL = pointer to the question name */
static void dns_rr_head(dns_buf *b, const char *owner, unsigned type)
{
    if (owner)
        dns_name(b, owner);
    else
        dns_u16(b, 0xC000 | DNS_HDR);
    dns_u16(b, type);
    dns_u16(b, 1);
    dns_u32(b, DNS_TTL);
}

static void dns_rr_raw(dns_buf *b, const char *owner, unsigned type, const void *rd, size_t n)
{
    dns_rr_head(b, owner, type);
    dns_u16(b, (unsigned)n);
    dns_put(b, rd, n);
}

static void dns_rr_name(dns_buf *b, const char *owner, unsigned type, int pref, const char *target)
{
    dns_rr_head(b, owner, type);
    size_t lenpos = b->len;
    dns_u16(b, 0);
    size_t start = b->len;
    if (pref >= 0)
        dns_u16(b, (unsigned)pref);
    dns_name(b, target);
    if (!b->overflow) {
        size_t n = b->len - start;
        b->p[lenpos] = (uint8_t)(n >> 8);
        b->p[lenpos + 1] = (uint8_t)n;
    }
}

/* ---- query parsing ---- */

/* reads the question name at q+off into name (lower-case, dotted). Returns
 * the offset after it or -1. Compression is refused (never in questions). */
static int dns_qname(const uint8_t *q, size_t qlen, size_t off, char *name, size_t cap)
{
    size_t o = 0;
    for (;;) {
        if (off >= qlen)
            return -1;
        uint8_t l = q[off++];
        if (l == 0)
            break;
        if (l > 63 || off + l > qlen || o + l + 2 > cap)
            return -1;
        if (o)
            name[o++] = '.';
        for (unsigned i = 0; i < l; i++) {
            char c = (char)q[off + i];
            name[o++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        off += l;
    }
    if (o == 0)
        name[o++] = '.';
    name[o] = 0;
    return (int)off;
}

static const world_dns *dns_opts(const world_name *n)
{
    static const world_dns none;
    if (!n)
        return &none;
    if (n->domain && (n->domain->dns.mode || n->domain->dns.delay_ms || n->domain->dns.truncate ||
                      n->domain->dns.loop_noerror))
        return &n->domain->dns;
    if (n->host)
        return &n->host->dns;
    return n->domain ? &n->domain->dns : &none;
}

/* appends the records of `type` that name n holds; returns how many */
static int dns_records(dns_buf *b, const char *owner, const world_name *n, unsigned type)
{
    int count = 0;
    const world_domain *d = n->domain;
    const world_host *h = n->host;
    if ((type == DNS_T_MX || type == DNS_T_ANY) && d) {
        /* mx-many first: a client that keeps the first records it reads
         * instead of the lowest preferences misses the domain's own mx */
        char many[300];
        for (int i = 0; i < d->n_many && !b->overflow; i++, count++) {
            int pref = world_many_mx(d, i, many, sizeof many);
            dns_rr_name(b, owner, DNS_T_MX, pref, many);
        }
        for (int i = 0; i < d->n_mx; i++, count++)
            dns_rr_name(b, owner, DNS_T_MX, d->mx[i].pref, d->mx[i].host);
    }
    if (type == DNS_T_A || type == DNS_T_ANY) {
        if (d && d->n_a) {
            for (int i = 0; i < d->n_a; i++, count++)
                dns_rr_raw(b, owner, DNS_T_A, &d->a[i], 4);
        } else if (h) {
            for (int i = 0; i < h->n_ip4; i++, count++)
                dns_rr_raw(b, owner, DNS_T_A, &h->ip4[i], 4);
        }
    }
    if (type == DNS_T_AAAA || type == DNS_T_ANY) {
        if (d && d->n_aaaa) {
            for (int i = 0; i < d->n_aaaa; i++, count++)
                dns_rr_raw(b, owner, DNS_T_AAAA, d->aaaa[i], 16);
        } else if (h) {
            for (int i = 0; i < h->n_ip6; i++, count++)
                dns_rr_raw(b, owner, DNS_T_AAAA, h->ip6[i], 16);
        }
    }
    return count;
}

/* Follows the CNAME chain from FIRST, appending each CNAME and then the
 * records of QTYPE at its end. Returns the number of records; sets *rcode
 * to 3 when the chain ends at a name that does not exist, and *loop when
 * it comes back to one of its own names or outgrows DNS_MAX_CHAIN. */
static int dns_chain(world *w, dns_buf *b, const world_name *first, unsigned qtype,
                     unsigned *rcode, int *loop)
{
    const char *owner = NULL;   /* question name by pointer */
    const world_name *n = first;
    const world_name *seen[DNS_MAX_CHAIN];
    char cur[300];
    int an = 0;
    *loop = 0;
    for (int hops = 0;; hops++) {
        if (!n->domain || !n->domain->cname || qtype == DNS_T_CNAME) {
            if (qtype != DNS_T_CNAME)
                return an + dns_records(b, owner, n, qtype);
            if (n->domain && n->domain->cname) {
                dns_rr_name(b, owner, DNS_T_CNAME, -1, n->domain->cname);
                an++;
            }
            return an;
        }
        if (hops == DNS_MAX_CHAIN) {
            *loop = 1;
            return an;
        }
        seen[hops] = n;
        dns_rr_name(b, owner, DNS_T_CNAME, -1, n->domain->cname);
        an++;
        snprintf(cur, sizeof cur, "%s", n->domain->cname);
        owner = cur;
        n = world_name_get(w, cur);
        for (int k = 0; n && k <= hops; k++)
            if (seen[k] == n) {
                *loop = 1;
                return an;
            }
        if (!n || (n->domain && n->domain->dns.mode == WORLD_DNS_NXDOMAIN)) {
            *rcode = 3;
            return an;
        }
    }
}

int dns_answer(world *w, const uint8_t *q, size_t qlen, uint8_t *out, size_t outcap,
               int tcp, int *delay_ms)
{
    *delay_ms = 0;
    if (qlen < DNS_HDR || (q[2] & 0x80))
        return -1;   /* too short, or a response */
    w->dns_queries++;
    if (tcp)
        w->dns_tcp_queries++;
    unsigned qd = (unsigned)(q[4] << 8 | q[5]);
    unsigned ar = (unsigned)(q[10] << 8 | q[11]);
    unsigned opcode = (q[2] >> 3) & 0xF;
    char qname[300];
    int qend = -1;
    unsigned qtype = 0;
    size_t udp_max = 512;
    int edns = 0;
    if (qd == 1 && opcode == 0) {
        qend = dns_qname(q, qlen, DNS_HDR, qname, sizeof qname);
        if (qend > 0 && (size_t)qend + 4 <= qlen) {
            qtype = (unsigned)(q[qend] << 8 | q[qend + 1]);
            qend += 4;
            /* EDNS0: an OPT record with the root name right after the question */
            if (ar >= 1 && (size_t)qend + 11 <= qlen && q[qend] == 0 &&
                (q[qend + 1] << 8 | q[qend + 2]) == DNS_T_OPT) {
                edns = 1;
                unsigned sz = (unsigned)(q[qend + 3] << 8 | q[qend + 4]);
                udp_max = sz < 512 ? 512 : sz > 4096 ? 4096 : sz;
            }
        } else {
            qend = -1;
        }
    }
    size_t cap = tcp ? (outcap < 65535 ? outcap : 65535) : (udp_max < outcap ? udp_max : outcap);
    dns_buf b = { .p = out, .cap = cap };
    dns_u16(&b, (unsigned)(q[0] << 8 | q[1]));
    if (qend < 0) {   /* FORMERR or NOTIMP, header only */
        uint8_t hdr[10] = { (uint8_t)(0x80 | (q[2] & 0x79)), (uint8_t)(opcode ? 4 : 1), 0, 0, 0, 0, 0, 0, 0, 0 };
        dns_put(&b, hdr, sizeof hdr);
        w->dns_answers++;
        return (int)b.len;
    }
    world_name *first = world_name_get(w, qname);
    const world_dns *o = dns_opts(first);
    if (o->mode == WORLD_DNS_DROP) {
        w->dns_dropped++;
        return 0;
    }
    *delay_ms = o->delay_ms;
    /* header placeholder: flags QR AA (RD copied) RA */
    uint8_t flags1 = (uint8_t)(0x84 | (q[2] & 0x01));
    dns_u16(&b, 0);     /* flags, patched below */
    dns_u16(&b, 1);
    dns_u16(&b, 0);     /* ancount, patched */
    dns_u16(&b, 0);
    dns_u16(&b, (unsigned)edns);
    dns_put(&b, q + DNS_HDR, (size_t)qend - DNS_HDR);
    size_t after_q = b.len;
    unsigned rcode = 0;
    int an = 0;
    if (o->mode == WORLD_DNS_SERVFAIL) {
        rcode = 2;
    } else if (o->mode == WORLD_DNS_NXDOMAIN || !first) {
        rcode = 3;
    } else {
        int loop;
        an = dns_chain(w, &b, first, qtype, &rcode, &loop);
        if (loop && !o->loop_noerror) {
            /* as recursive resolvers do (RFC 1034 §3.6.2: loops are errors) */
            rcode = 2;
            b.len = after_q;
            an = 0;
        }
    }
    int tc = 0;
    if (b.overflow || (!tcp && o->truncate)) {
        tc = 1;
        b.overflow = 0;
        b.len = after_q;
        an = 0;
        w->dns_truncated++;
    }
    if (edns) {   /* OPT: root, type 41, size 4096, no flags */
        uint8_t opt[11] = { 0, 0, DNS_T_OPT, 0x10, 0x00, 0, 0, 0, 0, 0, 0 };
        dns_put(&b, opt, sizeof opt);
    }
    out[2] = (uint8_t)(flags1 | (tc ? 0x02 : 0));
    out[3] = (uint8_t)(0x80 | rcode);
    out[6] = (uint8_t)(an >> 8);
    out[7] = (uint8_t)an;
    w->dns_answers++;
    return (int)b.len;
}

/* ---- pending (delayed) answers ---- */

typedef struct dns_tcp_conn dns_tcp_conn;

typedef struct dns_pending {
    uv_timer_t timer;
    struct sockaddr_storage peer;     /* UDP */
    dns_tcp_conn *conn;               /* TCP, or NULL */
    size_t len;
    uint8_t data[];
} dns_pending;

struct dns_tcp_conn {
    uv_tcp_t tcp;
    uv_timer_t idle;
    int closing, handles, refs;
    size_t len;
    uint8_t buf[DNS_TCP_BUF];
};

static void dns_tcp_send(dns_tcp_conn *c, const uint8_t *data, size_t len);
static void dns_tcp_unref(dns_tcp_conn *c);

static void dns_udp_send_cb(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req);
}

static void dns_udp_reply(const struct sockaddr *peer, const uint8_t *data, size_t len)
{
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    if (uv_udp_try_send(&dns_udp, &buf, 1, peer) >= 0)
        return;
    uv_udp_send_t *req = malloc(sizeof *req + len);
    if (!req)
        return;
    memcpy(req + 1, data, len);
    buf = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_udp_send(req, &dns_udp, &buf, 1, peer, dns_udp_send_cb) < 0)
        free(req);
}

static void dns_pending_closed(uv_handle_t *h)
{
    free(h->data);
}

static void dns_pending_fire(uv_timer_t *t)
{
    dns_pending *p = t->data;
    if (p->conn) {
        dns_tcp_send(p->conn, p->data, p->len);
        dns_tcp_unref(p->conn);
    } else if (dns_running) {
        dns_udp_reply((struct sockaddr *)&p->peer, p->data, p->len);
    }
    uv_close((uv_handle_t *)t, dns_pending_closed);
}

static void dns_later(int delay_ms, const struct sockaddr *peer, dns_tcp_conn *conn,
                      const uint8_t *data, size_t len)
{
    dns_pending *p = calloc(1, sizeof *p + len);
    if (!p)
        return;
    uv_timer_init(dns_loop, &p->timer);
    p->timer.data = p;
    if (peer)
        memcpy(&p->peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in));
    p->conn = conn;
    if (conn)
        conn->refs++;
    p->len = len;
    memcpy(p->data, data, len);
    uv_timer_start(&p->timer, dns_pending_fire, (uint64_t)delay_ms, 0);
}

/* ---- UDP ---- */

static char dns_rbuf[65536];

static void dns_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    (void)h;
    (void)sz;
    *buf = uv_buf_init(dns_rbuf, sizeof dns_rbuf);
}

static void dns_udp_query(const uint8_t *q, size_t n, const struct sockaddr *peer)
{
    uint8_t out[4096];
    int delay;
    int len = dns_answer(dns_world, q, n, out, sizeof out, 0, &delay);
    if (len <= 0)
        return;
    if (delay > 0)
        dns_later(delay, peer, NULL, out, (size_t)len);
    else
        dns_udp_reply(peer, out, (size_t)len);
}

/* libuv reads at most 32 datagrams a loop turn, and a turn of a busy world
 * (thousands of SMTP sessions) is tens of milliseconds: DNS would answer a
 * thousand queries a second, a bottleneck no resolver has. So the queries
 * already waiting are read here too, up to DNS_UDP_DRAIN a turn. */
#define DNS_UDP_DRAIN 1024

static void dns_udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *peer,
                         unsigned flags)
{
    (void)flags;
    if (n <= 0 || !peer)
        return;
    dns_udp_query((const uint8_t *)buf->base, (size_t)n, peer);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)u, &fd) != 0)
        return;
    for (int i = 0; i < DNS_UDP_DRAIN; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t k = recvfrom(fd, dns_rbuf, sizeof dns_rbuf, MSG_DONTWAIT, (struct sockaddr *)&from,
                             &flen);
        if (k <= 0)
            break;
        dns_udp_query((const uint8_t *)dns_rbuf, (size_t)k, (struct sockaddr *)&from);
    }
}

/* ---- TCP ---- */

static void dns_tcp_closed(uv_handle_t *h)
{
    dns_tcp_conn *c = h->data;
    if (--c->handles == 0 && c->refs == 0)
        free(c);
}

static void dns_tcp_close(dns_tcp_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, dns_tcp_closed);
    uv_close((uv_handle_t *)&c->idle, dns_tcp_closed);
}

static void dns_tcp_unref(dns_tcp_conn *c)
{
    if (--c->refs == 0 && c->closing && c->handles == 0)
        free(c);
}

static void dns_tcp_write_cb(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void dns_tcp_send(dns_tcp_conn *c, const uint8_t *data, size_t len)
{
    if (c->closing)
        return;
    uv_write_t *req = malloc(sizeof *req + len + 2);
    if (!req)
        return;
    uint8_t *p = (uint8_t *)(req + 1);
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, data, len);
    uv_buf_t buf = uv_buf_init((char *)p, (unsigned)len + 2);
    if (uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1, dns_tcp_write_cb) < 0)
        free(req);
}

static void dns_tcp_idle(uv_timer_t *t)
{
    dns_tcp_close(t->data);
}

static void dns_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    dns_tcp_conn *c = s->data;
    if (n < 0) {
        dns_tcp_close(c);
        return;
    }
    uv_timer_again(&c->idle);
    for (ssize_t i = 0; i < n;) {
        size_t take = (size_t)n - (size_t)i;
        if (take > sizeof c->buf - c->len)
            take = sizeof c->buf - c->len;
        memcpy(c->buf + c->len, buf->base + i, take);
        c->len += take;
        i += (ssize_t)take;
        while (c->len >= 2) {
            size_t m = (size_t)(c->buf[0] << 8 | c->buf[1]);
            if (c->len < m + 2)
                break;
            uint8_t *out = malloc(65535);
            if (!out)
                break;
            int delay;
            int len = dns_answer(dns_world, c->buf + 2, m, out, 65535, 1, &delay);
            if (len > 0 && delay > 0)
                dns_later(delay, NULL, c, out, (size_t)len);
            else if (len > 0)
                dns_tcp_send(c, out, (size_t)len);
            free(out);
            memmove(c->buf, c->buf + m + 2, c->len - m - 2);
            c->len -= m + 2;
        }
    }
}

static void dns_tcp_accept(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    dns_tcp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(dns_loop, &c->tcp);
    uv_timer_init(dns_loop, &c->idle);
    c->tcp.data = c->idle.data = c;
    c->handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        dns_tcp_close(c);
        return;
    }
    uv_timer_start(&c->idle, dns_tcp_idle, DNS_TCP_IDLE_MS, DNS_TCP_IDLE_MS);
    uv_read_start((uv_stream_t *)&c->tcp, dns_alloc, dns_tcp_read);
}

int dns_start(uv_loop_t *loop, world *w, const struct sockaddr *addr)
{
    dns_loop = loop;
    dns_world = w;
    int rc;
    uv_udp_init(loop, &dns_udp);
    if ((rc = uv_udp_bind(&dns_udp, addr, 0)) < 0)
        return rc;
    int sz = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&dns_udp, &sz);
    sz = 4 << 20;
    uv_send_buffer_size((uv_handle_t *)&dns_udp, &sz);
    if ((rc = uv_udp_recv_start(&dns_udp, dns_alloc, dns_udp_recv)) < 0)
        return rc;
    uv_tcp_init(loop, &dns_tcp);
    if ((rc = uv_tcp_bind(&dns_tcp, addr, 0)) < 0)
        return rc;
    if ((rc = uv_listen((uv_stream_t *)&dns_tcp, 1024, dns_tcp_accept)) < 0)
        return rc;
    dns_running = 1;
    return 0;
}

void dns_stop(void)
{
    if (!dns_running)
        return;
    dns_running = 0;
    uv_close((uv_handle_t *)&dns_udp, NULL);
    uv_close((uv_handle_t *)&dns_tcp, NULL);
}
