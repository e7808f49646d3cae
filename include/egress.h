/* egress.h — the routes SMTP connections leave by: straight out (the
 * default), from one of several source addresses (--bind), or through one
 * of several SOCKS5 proxies (--proxy, RFC 1928 with RFC 1929
 * username/password). Each route is its own source IP, so per-MX limits
 * apply per route.
 *
 * egress_parse() owns the list it fills; egress_list_free() releases it.
 * Proxy host names are resolved once, at parse time (DNS for MX lookups
 * stays local either way).
 */
#ifndef MAILVET_EGRESS_H
#define MAILVET_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define EGRESS_MAX 256            /* routes in one pool */
#define EGRESS_CRED_MAX 255       /* RFC 1929: 1..255 bytes each */

typedef enum egress_kind {
    EGRESS_DIRECT,                /* the system picks the source address */
    EGRESS_BIND,                  /* connect from ADDR (port 0) */
    EGRESS_SOCKS5,                /* connect to the proxy at ADDR, then CONNECT */
} egress_kind;

typedef struct egress {
    egress_kind kind;
    struct sockaddr_storage addr; /* BIND: source address; SOCKS5: the proxy */
    char user[EGRESS_CRED_MAX + 1], pass[EGRESS_CRED_MAX + 1];  /* "" when no auth */
    char label[600];              /* for messages, never with the password:
                                     "socks5://alice@127.0.0.1:1080", "127.0.0.2" */
} egress;

typedef struct egress_list {
    egress *e;
    size_t n;                     /* at least 1 (a DIRECT route when no option) */
} egress_list;

/* Build the pool from --proxy PROXIES and --bind BINDS (either may be NULL,
 * not both set). PROXIES: "socks5://[user:pass@]host:port[,…]" (host may be
 * an IPv6 literal in brackets; user and pass may be %-encoded). BINDS:
 * "ADDR[,…]" IP literals. With neither, one DIRECT route.
 * 0, or -1 with a message in ERR ("--proxy: port missing in '…'"). */
int egress_parse(const char *proxies, const char *binds, egress_list *out, char *err,
                 size_t errlen);
void egress_list_free(egress_list *l);

#endif
