/* group.h — a list's rows of one domain handed to the batch together
 * (clean.c's feeder).
 *
 * A shuffled company list puts a domain's second row far from its first:
 * by the time it is read, the first row's session is over and the domain
 * has left the engine, so each of its rows costs a session of its own
 * (`make bench` b2b: 6,903 of 47,044 connections). So INPUT is counted
 * first: group_count() for each row's key, then group_seal(). While the
 * feeder reads INPUT again, a row whose domain has rows still to come
 * waits here (group_row); when the domain's last row has been read, its
 * waiting rows go on together, in row order, and share a session.
 * A domain of one row goes on at once, and so does one of more than
 * ROWS_MAX rows (group_new): the engine's gathering (engine_host.h)
 * already has those share sessions, and waiting for their last row would
 * hold back the largest work.
 *
 * Every row the feeder reads goes through group_row(), with its item or
 * with NULL when it needs no probe (a duplicate, a cached answer, a row
 * finished by an earlier run, another shard's): that row is its domain's
 * too, and the count must reach 0. An item handed on once its domain has
 * no row left to read is marked engine_item.last_row, so the engine keeps
 * nothing of the domain when it is done (a million one-row domains, no
 * million accept-all answers).
 *
 * Keys: every row of one domain (as the engine names it, the screened
 * A-label) must have one key, or a domain's row would be marked its last
 * while another spelling of it is still to come. A cell whose domain is
 * plain (letters, digits, hyphens, inner dots, no "xn--") keys by that
 * text ASCII lower-cased, which is what the screen makes of it
 * (group_key); any other (an IDN, a literal, a trailing dot, a comment)
 * by its screened domain (group_domain_key), so the counting pass screens
 * only those. Both passes compute the key of a row the same way, so the
 * counts match exactly. A key that matches wrongly (two domains with
 * one hash, a file changed between the passes) only makes rows wait
 * longer, or a record kept or not kept for a row that comes later (it
 * is asked again, catch-all probe included): never a verdict changed,
 * never a row lost.
 *
 * Bounds: at most GROUP_HOLD_MAX rows wait; one more sends on the group
 * that has waited longest, whole. At the end of input group_flush() sends
 * on every group, oldest first. The counting table holds every distinct
 * key (12 bytes a slot, at most 3/4 full); group_seal() keeps only the
 * keys of domains of two rows or more (24 bytes a slot), so a million
 * domains of one row each leave nothing behind.
 *
 * Ownership: items given to group_row() are the group's until EMIT takes
 * them; group_free() frees those still waiting (their rows were never
 * probed: a resume asks them). One thread (the feeder). Out of memory:
 * group_count() and group_seal() return -1, and the feeder goes on
 * without grouping.
 */
#ifndef MAILVET_GROUP_H
#define MAILVET_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define GROUP_HOLD_MAX 65536u      /* rows waiting at most (~10 MB of items) */

typedef struct group group;

/* Hand IT on (batch_add); false when the batch is stopping (IT is freed). */
typedef bool (*group_emit_fn)(void *ud, engine_item *it);

/* A grouping for domains of at most ROWS_MAX rows, keyed with a random
 * seed; NULL when out of memory. */
group *group_new(size_t rows_max);
void group_free(group *g);

/* The key of an email cell (P, LEN bytes) whose domain is plain text; 0
 * when it is not, or there is none: then group_domain_key() of the
 * screened domain, if the address is valid. A row of key 0 is nobody's:
 * never counted, never held. */
uint64_t group_key(const group *g, const char *p, size_t len);

/* The key of a screened (A-label, lower-case) domain; 0 for "". */
uint64_t group_domain_key(const group *g, const char *domain);

/* Counting pass: one more row of KEY. 0, or -1 when out of memory. */
int group_count(group *g, uint64_t key);

/* End of the counting pass. 0, or -1 when out of memory (the group then
 * holds nothing: every row goes on at once). */
int group_seal(group *g);

/* Feeding: a row of KEY was read; IT its item, or NULL when it needs no
 * probe. IT and whatever its domain's last row releases go to EMIT.
 * False when EMIT said stop (the rest of the group is freed). */
bool group_row(group *g, uint64_t key, engine_item *it, group_emit_fn emit, void *ud);

/* End of input: every waiting row to EMIT, oldest group first. */
bool group_flush(group *g, group_emit_fn emit, void *ud);

/* Rows waiting now; groups sent on early because the bound was reached. */
size_t group_waiting(const group *g);
uint64_t group_overflows(const group *g);

#endif
