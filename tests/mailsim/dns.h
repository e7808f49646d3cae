/* dns.h — the world's authoritative DNS server over UDP and TCP (mailsim). */
#ifndef MAILSIM_DNS_H
#define MAILSIM_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "world.h"

/* Binds UDP and TCP on addr and starts answering for w. Returns 0 or a
 * negative libuv error. */
int dns_start(uv_loop_t *loop, world *w, const struct sockaddr *addr);
void dns_stop(void);

/* Pure core (exposed for tests/tools): answers the query q into out.
 * Returns the answer length, 0 when the query must be dropped, or -1 when
 * the packet is not worth answering. *delay_ms gets the wanted delay. */
int dns_answer(world *w, const uint8_t *q, size_t qlen, uint8_t *out, size_t outcap,
               int tcp, int *delay_ms);

#endif
