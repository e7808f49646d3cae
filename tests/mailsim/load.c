/* load.c — `mailsim load`: a small libuv load client used by run-tests.sh to
 * show that mailsim is never the bottleneck.
 *   load smtp --ips A,B,... --port P --conns N --to ADDR   opens N connections
 *        at once, waits until all N hold a banner, then runs EHLO/MAIL/RCPT/QUIT
 *        on every one; prints connected/banners/completed/elapsed.
 *   load dns --server ADDR:PORT --names a,b,... --seconds S --inflight K
 *        keeps K UDP queries in flight for S seconds; prints answers/s. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "mailsim.h"

#define LOAD_MAX_IPS 256
#define LOAD_MAX_NAMES 64

/* ---- SMTP ---- */

typedef struct load_conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    int banner, done, closed;
    size_t len;
    char buf[2048];
} load_conn;

static uv_loop_t *load_loop;
static long load_n, load_connected, load_banners, load_completed, load_failed, load_closed;
static int load_released;
static char load_script[1024];
static load_conn *load_conns;
static uv_timer_t load_guard;

static void load_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    load_conn *c = h->data;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len - 1));
    if (b->len == 0)
        c->len = 0, *b = uv_buf_init(c->buf, sizeof c->buf - 1);
}

static void load_closed_cb(uv_handle_t *h)
{
    (void)h;
    if (++load_closed == load_n)
        uv_close((uv_handle_t *)&load_guard, NULL);
}

static void load_close(load_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    uv_close((uv_handle_t *)&c->tcp, load_closed_cb);
}

static void load_write_cb(uv_write_t *r, int status)
{
    (void)status;
    free(r);
}

static void load_send_script(load_conn *c)
{
    uv_write_t *r = malloc(sizeof *r);
    uv_buf_t b = uv_buf_init(load_script, (unsigned)strlen(load_script));
    if (uv_write(r, (uv_stream_t *)&c->tcp, &b, 1, load_write_cb) < 0)
        free(r);
}

static void load_release_all(void)
{
    load_released = 1;
    for (long i = 0; i < load_n; i++)
        if (!load_conns[i].closed && load_conns[i].banner)
            load_send_script(&load_conns[i]);
}

static void load_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    load_conn *c = s->data;
    if (n < 0) {
        if (!c->done)
            load_failed++;
        load_close(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    if (!c->banner && strstr(c->buf, "\r\n")) {
        c->banner = 1;
        if (strncmp(c->buf, "220 ", 4) != 0) {
            load_failed++;
            load_close(c);
            return;
        }
        c->len = 0;
        if (++load_banners == load_n - load_failed && !load_released)
            load_release_all();
        else if (load_released)
            load_send_script(c);
        return;
    }
    if (!c->done && strstr(c->buf, "221 ")) {
        c->done = 1;
        load_completed++;
        load_close(c);
    }
    if (c->len > 1024) {   /* keep only the tail */
        memmove(c->buf, c->buf + c->len - 16, 16);
        c->len = 16;
    }
}

static void load_connect_cb(uv_connect_t *r, int status)
{
    load_conn *c = r->data;
    if (status < 0) {
        load_failed++;
        load_close(c);
        if (load_banners == load_n - load_failed && !load_released)
            load_release_all();
        return;
    }
    load_connected++;
    uv_read_start((uv_stream_t *)&c->tcp, load_alloc, load_read);
}

static void load_guard_cb(uv_timer_t *t)
{
    (void)t;
    for (long i = 0; i < load_n; i++)
        load_close(&load_conns[i]);
}

static int load_smtp(int argc, char **argv)
{
    static const struct option opts[] = {
        { "ips", required_argument, 0, 'i' }, { "port", required_argument, 0, 'p' },
        { "conns", required_argument, 0, 'n' }, { "to", required_argument, 0, 't' },
        { "timeout", required_argument, 0, 'T' }, { 0, 0, 0, 0 },
    };
    char ips[LOAD_MAX_IPS][64];
    int nips = 0, port = 25, timeout = 60, ch;
    const char *to = "someone@example.com";
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'i') {
            char buf[8192];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *s = strtok(buf, ","); s && nips < LOAD_MAX_IPS; s = strtok(NULL, ","))
                snprintf(ips[nips++], sizeof ips[0], "%s", s);
        } else if (ch == 'p') port = atoi(optarg);
        else if (ch == 'n') load_n = atol(optarg);
        else if (ch == 't') to = optarg;
        else if (ch == 'T') timeout = atoi(optarg);
        else return 2;
    }
    if (!nips || load_n < 1)
        return 2;
    snprintf(load_script, sizeof load_script,
             "EHLO load.example.org\r\nMAIL FROM:<load@example.org>\r\nRCPT TO:<%s>\r\nQUIT\r\n", to);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    load_loop = uv_default_loop();
    load_conns = calloc((size_t)load_n, sizeof *load_conns);
    uint64_t t0 = uv_hrtime();
    uv_timer_init(load_loop, &load_guard);
    uv_timer_start(&load_guard, load_guard_cb, (uint64_t)timeout * 1000, 0);
    for (long i = 0; i < load_n; i++) {
        load_conn *c = &load_conns[i];
        struct sockaddr_storage sa;
        mailsim_parse_addr(ips[i % nips], port, &sa);
        uv_tcp_init(load_loop, &c->tcp);
        c->tcp.data = c->creq.data = c;
        if (uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&sa, load_connect_cb) < 0) {
            load_failed++;
            load_close(c);
        }
    }
    uv_run(load_loop, UV_RUN_DEFAULT);
    double el = (double)(uv_hrtime() - t0) / 1e9;
    printf("conns=%ld connected=%ld banners_held_at_once=%ld completed=%ld failed=%ld elapsed=%.2f\n",
           load_n, load_connected, load_banners, load_completed, load_failed, el);
    free(load_conns);
    return load_completed == load_n ? 0 : 1;
}

/* ---- DNS ---- */

static uv_udp_t load_udp;
static uint8_t load_q[LOAD_MAX_NAMES][300];
static size_t load_qlen[LOAD_MAX_NAMES];
static int load_nq, load_inflight;
static uint64_t load_sent, load_recv, load_last_recv;
static uint16_t load_id;
static struct sockaddr_storage load_server;
static uv_timer_t load_tick, load_stop;
static char load_rbuf[4096];

static void load_dns_send(void)
{
    int k = (int)(load_sent % (uint64_t)load_nq);
    uint8_t *q = load_q[k];
    load_id++;
    q[0] = (uint8_t)(load_id >> 8);
    q[1] = (uint8_t)load_id;
    uv_buf_t b = uv_buf_init((char *)q, (unsigned)load_qlen[k]);
    if (uv_udp_try_send(&load_udp, &b, 1, (struct sockaddr *)&load_server) >= 0)
        load_sent++;
}

static void load_dns_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    (void)sz;
    *b = uv_buf_init(load_rbuf, sizeof load_rbuf);
}

static void load_dns_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *a, unsigned fl)
{
    (void)u; (void)b; (void)a; (void)fl;
    if (n <= 0)
        return;
    load_recv++;
    load_dns_send();
}

static void load_dns_tick(uv_timer_t *t)
{
    (void)t;
    if (load_recv == load_last_recv)   /* stalled: consider in-flight queries lost */
        load_sent = load_recv;
    load_last_recv = load_recv;
    while (load_sent - load_recv < (uint64_t)load_inflight)
        load_dns_send();
}

static void load_dns_stop(uv_timer_t *t)
{
    (void)t;
    uv_close((uv_handle_t *)&load_udp, NULL);
    uv_close((uv_handle_t *)&load_tick, NULL);
    uv_close((uv_handle_t *)&load_stop, NULL);
}

static int load_dns(int argc, char **argv)
{
    static const struct option opts[] = {
        { "server", required_argument, 0, 's' }, { "names", required_argument, 0, 'n' },
        { "seconds", required_argument, 0, 'S' }, { "inflight", required_argument, 0, 'k' },
        { 0, 0, 0, 0 },
    };
    const char *server = "127.0.0.1:53";
    char names[8192] = "example.com";
    int seconds = 3, ch;
    load_inflight = 64;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 's') server = optarg;
        else if (ch == 'n') snprintf(names, sizeof names, "%s", optarg);
        else if (ch == 'S') seconds = atoi(optarg);
        else if (ch == 'k') load_inflight = atoi(optarg);
        else return 2;
    }
    if (mailsim_parse_addr(server, 53, &load_server) < 0 || seconds < 1 || load_inflight < 1)
        return 2;
    for (char *s = strtok(names, ","); s && load_nq < LOAD_MAX_NAMES; s = strtok(NULL, ",")) {
        uint8_t *q = load_q[load_nq];
        size_t o = 0;
        uint8_t hdr[12] = { 0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
        memcpy(q, hdr, 12);
        o = 12;
        for (char *lab = s; *lab && o < 280;) {
            char *dot = strchr(lab, '.');
            size_t n = dot ? (size_t)(dot - lab) : strlen(lab);
            if (n > 63) n = 63;
            q[o++] = (uint8_t)n;
            memcpy(q + o, lab, n);
            o += n;
            lab += n + (dot ? 1 : 0);
        }
        q[o++] = 0;
        q[o++] = 0; q[o++] = (load_nq % 2) ? 1 : 15;   /* alternate MX and A */
        q[o++] = 0; q[o++] = 1;
        load_qlen[load_nq++] = o;
    }
    load_loop = uv_default_loop();
    uv_udp_init(load_loop, &load_udp);
    int sz = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&load_udp, &sz);
    uv_udp_recv_start(&load_udp, load_dns_alloc, load_dns_recv);
    uv_timer_init(load_loop, &load_tick);
    uv_timer_start(&load_tick, load_dns_tick, 0, 1000);
    uv_timer_init(load_loop, &load_stop);
    uv_timer_start(&load_stop, load_dns_stop, (uint64_t)seconds * 1000, 0);
    uint64_t t0 = uv_hrtime();
    uv_run(load_loop, UV_RUN_DEFAULT);
    double el = (double)(uv_hrtime() - t0) / 1e9;
    printf("answers=%llu seconds=%.2f answers_per_second=%.0f\n", (unsigned long long)load_recv, el,
           (double)load_recv / el);
    return load_recv > 0 ? 0 : 1;
}

int load_main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "smtp"))
        return load_smtp(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "dns"))
        return load_dns(argc - 1, argv + 1);
    fputs("usage: mailsim load smtp --ips A,B --port P --conns N [--to ADDR] [--timeout S]\n"
          "       mailsim load dns --server ADDR:PORT --names a,b [--seconds S] [--inflight K]\n",
          stderr);
    return 2;
}
