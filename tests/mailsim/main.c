/* main.c — mailsim's entry point: subcommand dispatch, and `serve` (options,
 * the network-namespace guard, RLIMIT_NOFILE, signals, ready file, counters
 * at exit). The servers themselves live in dns.c and smtp.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "counters.h"
#include "dns.h"
#include "mailsim.h"
#include "smtp.h"
#include "tls.h"
#include "world.h"

static const char main_usage[] =
    "usage: mailsim serve --world FILE [--dns ADDR:PORT] [--smtp-port N] [--counters FILE]\n"
    "                     [--ready-file FILE] [--idle-timeout S] [--no-ipv6] [--no-dead-route] [--rcpt-log FILE]\n"
    "                     [--conn-log FILE] [--i-know-this-is-not-a-namespace]\n"
    "       mailsim gen --addresses N --domains M --seed S --out-dir DIR [mix options]\n"
    "       mailsim ideal --world FILE [--list FILE] [--per-mx N] [--verbose]\n"
    "       mailsim load smtp|dns ... (see README.md)\n";

int mailsim_parse_addr(const char *s, int default_port, struct sockaddr_storage *out)
{
    char host[128];
    int port = default_port;
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = 0;
        if (end[1] == ':')
            port = atoi(end + 2);
    } else if ((colon = strrchr(s, ':')) && strchr(s, ':') == colon) {
        if ((size_t)(colon - s) >= sizeof host)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
        port = atoi(colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", s);
    }
    if (port <= 0 || port > 65535)
        return -1;
    memset(out, 0, sizeof *out);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)out) == 0)
        return 0;
    return -1;
}

/* 1 when the only network interface is lo (a private namespace) */
static int main_in_private_netns(void)
{
    struct if_nameindex *ifs = if_nameindex();
    if (!ifs)
        return 0;
    int ok = 1;
    for (struct if_nameindex *i = ifs; i->if_index; i++)
        if (strcmp(i->if_name, "lo") != 0)
            ok = 0;
    if_freenameindex(ifs);
    return ok;
}

static void main_raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static world main_world;
static const char *main_counters_path;

static void main_on_usr1(uv_signal_t *s, int sig)
{
    (void)s;
    (void)sig;
    if (main_counters_path && counters_write(&main_world, main_counters_path) < 0)
        fprintf(stderr, "mailsim: cannot write %s\n", main_counters_path);
}

static void main_on_term(uv_signal_t *s, int sig)
{
    main_on_usr1(s, sig);
    fflush(NULL);
    _exit(0);   /* every handle is reachable from the loop; nothing to flush */
}

int serve_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "world", required_argument, 0, 'w' },
        { "dns", required_argument, 0, 'd' },
        { "smtp-port", required_argument, 0, 'p' },
        { "counters", required_argument, 0, 'c' },
        { "ready-file", required_argument, 0, 'r' },
        { "idle-timeout", required_argument, 0, 'i' },
        { "no-ipv6", no_argument, 0, '6' },
        { "no-dead-route", no_argument, 0, 'n' },
        { "rcpt-log", required_argument, 0, 'l' },
        { "conn-log", required_argument, 0, 'L' },
        { "i-know-this-is-not-a-namespace", no_argument, 0, 'k' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *world_path = NULL, *dns_addr = "127.0.0.1:53", *ready = NULL;
    int port = 25, idle = 300, ipv6 = 1, dead_route = 1, not_ns = 0, ch;
    FILE *rcpt_log = NULL, *conn_log = NULL;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'w': world_path = optarg; break;
        case 'd': dns_addr = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': main_counters_path = optarg; break;
        case 'r': ready = optarg; break;
        case 'i': idle = atoi(optarg); break;
        case '6': ipv6 = 0; break;
        case 'n': dead_route = 0; break;
        case 'l':
            if (!(rcpt_log = fopen(optarg, "a"))) {
                fprintf(stderr, "mailsim: cannot open %s\n", optarg);
                return 2;
            }
            break;
        case 'L':   /* written as connections close; flushed at exit */
            if (!(conn_log = fopen(optarg, "w"))) {
                fprintf(stderr, "mailsim: cannot open %s\n", optarg);
                return 2;
            }
            break;
        case 'k': not_ns = 1; break;
        case 'h': fputs(main_usage, stdout); return 0;
        default: fputs(main_usage, stderr); return 2;
        }
    }
    if (!world_path || port <= 0 || port > 65535 || idle <= 0) {
        fputs(main_usage, stderr);
        return 2;
    }
    int in_ns = main_in_private_netns();
    if (!in_ns && !not_ns) {
        fprintf(stderr, "mailsim: refusing to start: this network namespace has interfaces other "
                        "than lo.\nRun inside `unshare -n sh -c 'ip link set lo up; ...'`, or pass "
                        "--i-know-this-is-not-a-namespace.\n");
        return 2;
    }
    struct sockaddr_storage dns_sa;
    if (mailsim_parse_addr(dns_addr, 53, &dns_sa) < 0) {
        fprintf(stderr, "mailsim: bad --dns address %s\n", dns_addr);
        return 2;
    }
    if (world_load(&main_world, world_path) < 0)
        return 2;
    main_raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    int any_dead = 0;
    for (int i = 0; i < main_world.n_hosts; i++)
        any_dead |= main_world.hosts[i]->dead;
    if (any_dead && dead_route && in_ns) {
        /* connections to dead hosts (127.255/16) fail at once: "No route to host" */
        if (system("ip route replace unreachable 127.255.0.0/16 table local 2>/dev/null") != 0)
            fprintf(stderr, "mailsim: could not add the 127.255/16 unreachable route; dead hosts "
                            "will reset connections instead\n");
    }
    SSL_CTX *tls = tls_server_ctx();
    if (!tls)
        fprintf(stderr, "mailsim: could not build the TLS certificate; STARTTLS disabled\n");
    uv_loop_t *loop = uv_default_loop();
    int rc = dns_start(loop, &main_world, (struct sockaddr *)&dns_sa);
    if (rc < 0) {
        fprintf(stderr, "mailsim: DNS on %s: %s\n", dns_addr, uv_strerror(rc));
        return 1;
    }
    smtp_opts so = { .port = port, .idle_timeout_ms = idle * 1000, .ipv6 = ipv6, .tls = tls,
                     .rcpt_log = rcpt_log, .conn_log = conn_log };
    rc = smtp_start(loop, &main_world, &so);
    if (rc < 0) {
        fprintf(stderr, "mailsim: SMTP on port %d: %s\n", port, uv_strerror(rc));
        return 1;
    }
    uv_signal_t s_usr1, s_term, s_int;
    uv_signal_init(loop, &s_usr1);
    uv_signal_start(&s_usr1, main_on_usr1, SIGUSR1);
    uv_signal_init(loop, &s_term);
    uv_signal_start(&s_term, main_on_term, SIGTERM);
    uv_signal_init(loop, &s_int);
    uv_signal_start(&s_int, main_on_term, SIGINT);
    if (ready) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 || rename(tmp, ready) != 0) {
            fprintf(stderr, "mailsim: cannot write %s\n", ready);
            return 1;
        }
    }
    fprintf(stderr, "mailsim: %d hosts, %d domains; DNS on %s, SMTP on port %d\n", main_world.n_hosts,
            main_world.n_domains, dns_addr, port);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(main_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve"))
        return serve_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "gen"))
        return gen_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "ideal"))
        return ideal_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "load"))
        return load_main(argc - 1, argv + 1);
    fprintf(stderr, "mailsim: unknown command %s\n%s", cmd, main_usage);
    return 2;
}
