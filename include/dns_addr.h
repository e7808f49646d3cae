/* dns_addr.h — the public-address classifier on raw address bytes (pure, no
 * I/O, any thread). dns_addr_is_public() and dns_addr_equal() on sockaddrs
 * are declared in dns.h, their public home; this header adds the raw forms
 * dns.c applies to its compact cached addresses (dns_ip). */
#ifndef MAILVET_DNS_ADDR_H
#define MAILVET_DNS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct dns_ip {         /* an address, compact: 17 bytes */
    uint8_t fam;                /* 4 or 6 */
    uint8_t a[16];              /* network order; IPv4 in the first 4 */
} dns_ip;

/* A (host order) is a public unicast IPv4 address (ranges: dns.h). */
bool dns_addr_v4_public(uint32_t a);

/* A (16 bytes, network order) is a public unicast IPv6 address; the v4
 * forms it wraps (mapped, compatible, NAT64, 6to4) are judged as IPv4. */
bool dns_addr_v6_public(const uint8_t *a);

/* IP is a public unicast address (dns_addr_v4_public / _v6_public). */
bool dns_ip_public(const dns_ip *ip);

/* IP as a sockaddr (port 0, every other byte zero). */
void dns_ip_to_sa(const dns_ip *ip, struct sockaddr_storage *ss);

/* IP packed at OUT, exactly sized: its family byte, then 4 or 16 address
 * bytes (at most DNS_IP_PACKED_MAX). Returns the bytes written. */
#define DNS_IP_PACKED_MAX 17
size_t dns_ip_pack(const dns_ip *ip, uint8_t *out);

/* The packed address at IN into *IP; returns the bytes read. */
size_t dns_ip_unpack(const uint8_t *in, dns_ip *ip);

#endif
