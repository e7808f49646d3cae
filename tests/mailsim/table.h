/* table.h — a string-keyed open-addressing hash table (mailsim).
 *
 * Owns: copies of the keys; never the values (the caller owns what the
 * pointers point at). Used for DNS names, IP->host, mailboxes, greylist.
 */
#ifndef MAILSIM_TABLE_H
#define MAILSIM_TABLE_H

#include <stddef.h>

typedef struct table_entry {
    char *key;
    void *val;
} table_entry;

typedef struct table {
    table_entry *slots;
    size_t cap;   /* power of two */
    size_t len;
} table;

void table_init(table *t);
void table_free(table *t);                 /* frees keys, not values */
void *table_get(const table *t, const char *key);
/* Sets key to val (replacing). Returns the previous value or NULL. */
void *table_put(table *t, const char *key, void *val);
/* Iteration: i from 0 while i < t->cap; slots with key != NULL are used. */

#endif
