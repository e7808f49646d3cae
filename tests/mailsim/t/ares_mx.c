/* ares_mx.c — a tiny c-ares 1.18 client used by run-tests.sh to prove that
 * mailsim's DNS works through the resolver library mailvet uses.
 * usage: ares_mx SERVER:PORT NAME mx|a|aaaa   prints one line per record,
 * or "ERROR <ares error name>". */
#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

static void mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)arg;
    (void)timeouts;
    if (status != ARES_SUCCESS) {
        printf("ERROR %s\n", ares_strerror(status));
        return;
    }
    struct ares_mx_reply *mx = NULL;
    status = ares_parse_mx_reply(abuf, alen, &mx);
    if (status != ARES_SUCCESS) {
        printf("ERROR %s\n", ares_strerror(status));
        return;
    }
    for (struct ares_mx_reply *m = mx; m; m = m->next)
        printf("%d %s\n", m->priority, m->host[0] ? m->host : ".");
    ares_free_data(mx);
}

static void host_cb(void *arg, int status, int timeouts, struct hostent *h)
{
    (void)arg;
    (void)timeouts;
    if (status != ARES_SUCCESS) {
        printf("ERROR %s\n", ares_strerror(status));
        return;
    }
    char buf[INET6_ADDRSTRLEN];
    for (char **a = h->h_addr_list; *a; a++)
        printf("%s\n", inet_ntop(h->h_addrtype, *a, buf, sizeof buf));
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    ares_library_init(ARES_LIB_INIT_ALL);
    ares_channel ch;
    struct ares_options o = { .timeout = 1000, .tries = 2 };
    if (ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS)
        return 1;
    if (ares_set_servers_ports_csv(ch, argv[1]) != ARES_SUCCESS)
        return 1;
    if (!strcmp(argv[3], "mx"))
        ares_query(ch, argv[2], 1 /* C_IN */, 15 /* T_MX */, mx_cb, NULL);
    else
        ares_gethostbyname(ch, argv[2], !strcmp(argv[3], "aaaa") ? AF_INET6 : AF_INET, host_cb, NULL);
    for (;;) {
        fd_set r, w;
        FD_ZERO(&r);
        FD_ZERO(&w);
        int n = ares_fds(ch, &r, &w);
        if (n == 0)
            break;
        struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
        select(n, &r, &w, NULL, tvp);
        ares_process(ch, &r, &w);
    }
    ares_destroy(ch);
    ares_library_cleanup();
    return 0;
}
