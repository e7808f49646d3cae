/* dns_addr.c — which addresses are public unicast, address equality, and
 * the compact dns_ip form the resolver caches (include/dns_addr.h;
 * dns_addr_is_public and dns_addr_equal are declared in dns.h). Pure: no I/O, no state, any thread; tests/unit/test_dns_addr.c
 * walks every range. An MX host that resolves only to non-public addresses
 * is "unroutable" rather than dialled (unless --allow-private-mx). */
#include "dns_addr.h"

#include "dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

bool dns_addr_v4_public(uint32_t a)
{
    static const struct { uint32_t net; int bits; } bad[] = {
        {0x00000000, 8},  {0x0a000000, 8},  {0x7f000000, 8},  {0x64400000, 10},
        {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24},
        {0xc0a80000, 16}, {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24},
        {0xe0000000, 4},  {0xf0000000, 4},  /* 240/4 includes 255.255.255.255 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t mask = 0xffffffffu << (32 - bad[i].bits);
        if ((a & mask) == bad[i].net)
            return false;
    }
    return true;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool dns_addr_v6_public(const uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t compat[12] = {0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (!memcmp(a, mapped, 12) || !memcmp(a, compat, 12) || !memcmp(a, nat64, 12))
        return dns_addr_v4_public(be32(a + 12));   /* includes :: and ::1 */
    if ((a[0] & 0xe0) != 0x20)  /* only 2000::/3 is global unicast today: this
                                 * drops fc00::/7, fe80::/10, ff00::/8, fec0::/10,
                                 * 64:ff9b:1::/48, 100::/64 and the rest */
        return false;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return false;           /* 2001:db8::/32 documentation */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0x02 && a[4] == 0 && a[5] == 0)
        return false;           /* 2001:2::/48 benchmarking */
    if (a[0] == 0x20 && a[1] == 0x02)
        return dns_addr_v4_public(be32(a + 2));    /* 6to4 wraps a v4 */
    return true;
}

bool dns_addr_is_public(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return dns_addr_v4_public(ntohl(s4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return dns_addr_v6_public(s6->sin6_addr.s6_addr);
    }
    return false;
}

bool dns_ip_public(const dns_ip *ip)
{
    if (ip->fam == 4)
        return dns_addr_v4_public(be32(ip->a));
    return dns_addr_v6_public(ip->a);
}

void dns_ip_to_sa(const dns_ip *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (ip->fam == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, ip->a, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, ip->a, 16);
    }
}

size_t dns_ip_pack(const dns_ip *ip, uint8_t *out)
{
    size_t len = ip->fam == 4 ? 4 : 16;
    out[0] = ip->fam;
    memcpy(out + 1, ip->a, len);
    return 1 + len;
}

size_t dns_ip_unpack(const uint8_t *in, dns_ip *ip)
{
    size_t len = in[0] == 4 ? 4 : 16;
    memset(ip, 0, sizeof *ip);
    ip->fam = in[0];
    memcpy(ip->a, in + 1, len);
    return 1 + len;
}

bool dns_addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}
