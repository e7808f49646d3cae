/* doctor_self.c — this host's own addresses (see include/doctor_self.h).
 * Owns nothing beyond the getifaddrs list it reads and frees. */
#include "doctor_self.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "dns.h"

static bool self_link_local(const struct sockaddr *sa)
{
    if (sa->sa_family != AF_INET6)
        return false;
    const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static void self_copy(struct sockaddr_storage *dst, const struct sockaddr *sa)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                             : sizeof(struct sockaddr_in6));
    if (sa->sa_family == AF_INET)       /* ports are not part of an address */
        ((struct sockaddr_in *)dst)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)dst)->sin6_port = 0;
}

void doctor_self_add(doctor_self *s, const struct sockaddr *sa, bool allow_private)
{
    if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || self_link_local(sa))
        return;
    struct sockaddr_storage ss;
    self_copy(&ss, sa);
    if (doctor_self_has(s, &ss))
        return;
    if (allow_private || dns_addr_is_public(sa)) {
        if (s->n < DOCTOR_SELF_MAX)
            s->addr[s->n++] = ss;
        return;
    }
    for (size_t i = 0; i < s->nhidden && i < DOCTOR_SELF_HIDDEN; i++)
        if (dns_addr_equal(&s->hidden[i], &ss))
            return;
    if (s->nhidden < DOCTOR_SELF_HIDDEN)
        s->hidden[s->nhidden] = ss;
    s->nhidden++;
}

bool doctor_self_has(const doctor_self *s, const struct sockaddr_storage *a)
{
    for (size_t i = 0; i < s->n; i++)
        if (dns_addr_equal(&s->addr[i], a))
            return true;
    return false;
}

static void self_ifaces(doctor_self *s, bool allow_private)
{
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0)
        return;
    for (struct ifaddrs *i = list; i; i = i->ifa_next)
        if (i->ifa_addr && (i->ifa_flags & IFF_UP))
            doctor_self_add(s, i->ifa_addr, allow_private);
    freeifaddrs(list);
}

void doctor_self_find(doctor_self *s, const egress_list *routes, bool allow_private)
{
    memset(s, 0, sizeof *s);
    egress_kind kind = routes && routes->n ? routes->e[0].kind : EGRESS_DIRECT;
    if (kind == EGRESS_SOCKS5) {
        s->kind = SELF_PROXY;
        return;
    }
    if (kind == EGRESS_BIND) {
        for (size_t i = 0; i < routes->n; i++)
            doctor_self_add(s, (const struct sockaddr *)&routes->e[i].addr, allow_private);
        s->kind = s->n ? SELF_BIND : SELF_HIDDEN;
        return;
    }
    self_ifaces(s, allow_private);
    s->kind = s->n ? SELF_IFACES : SELF_HIDDEN;
}
