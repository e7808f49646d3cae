/* lists.h — role, free-provider, disposable and typo tables from data/.
 *
 * lists_load() returns a table the caller owns and frees with lists_free().
 * After loading it is read-only, so threads may share it without locks.
 */
#ifndef MAILVET_LISTS_H
#define MAILVET_LISTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lists lists;

/* Load every list from directory DIR. On failure returns NULL and writes a
 * message naming the file into ERR (ERRLEN bytes). */
lists *lists_load(const char *dir, char *err, size_t errlen);
void lists_free(lists *l);

/* LOCAL is a role account (info, sales, …): ASCII case-insensitive, a
 * "+tag" suffix ignored. */
bool lists_is_role(const lists *l, const char *local);

/* ASCII_DOMAIN (lower-case A-label form) is a free mail provider. */
bool lists_is_free(const lists *l, const char *ascii_domain);

/* ASCII_DOMAIN or any parent of it is a disposable domain. */
bool lists_is_disposable(const lists *l, const char *ascii_domain);

/* ASCII_DOMAIN is one of the popular domains used for suggestions. */
bool lists_is_popular(const lists *l, const char *ascii_domain);

/* If ASCII_DOMAIN looks like a typo of a popular domain, write the corrected
 * domain into OUT (OUTLEN bytes) and return its length; else return 0. Never
 * suggests for a popular domain itself. */
size_t lists_did_you_mean(const lists *l, const char *ascii_domain, char *out, size_t outlen);

#endif
