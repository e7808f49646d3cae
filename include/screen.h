/* screen.h — the checks every level starts with, before any network work:
 * syntax and normalisation (addr), role/free/disposable flags and typo
 * suggestions (lists), and the verdict when no network check is needed.
 *
 * A screen keeps a per-domain cache of list lookups, so it is not thread-safe:
 * one per thread. screen_new() returns an object freed with screen_free();
 * it borrows LISTS, which must outlive it.
 */
#ifndef MAILVET_SCREEN_H
#define MAILVET_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "lists.h"
#include "result.h"

typedef struct screen screen;

screen *screen_new(const lists *l, const addr_opts *opts);
void screen_free(screen *s);

/* Screen the address IN (LEN bytes) into R (initialised here) and, when it
 * parses, A. Returns true when the address needs network checks to decide
 * (it parsed and is not disposable); R then holds REASON_UNVERIFIED with the
 * flags set, and the caller overwrites the reason when it learns more.
 * SYNTAX_ONLY says no network check will follow (it raises the risk). */
bool screen_address(screen *s, const char *in, size_t len, bool syntax_only,
                    result *r, addr *a);

/* Recompute R->risk from its reason and flags (after a network verdict). */
void screen_rescore(result *r, bool syntax_only);

#endif
