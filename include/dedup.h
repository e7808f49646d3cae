/* dedup.h — one probe per mailbox: the mailbox key of an address and an
 * index of the keys already seen (SPEC "mailvet_duplicate").
 *
 * The key (dedup_key, pure): the A-label domain lower-cased, "@", and the
 * local part case-folded (Unicode full case folding, language-independent,
 * NFC); for gmail.com and googlemail.com, which are one mailbox space
 * (written gmail.com), the local part also loses its dots and everything
 * from the first '+'. Other domains keep dots and +tags: they may be
 * distinct mailboxes there.
 *
 * The index keeps no key strings: a slot is 16 bytes, an 88-bit hash of
 * the key and the first row (40 bits, rows < 2^40 - 1). Open addressing,
 * linear probing, doubled when more than 3/4 full, so after a doubling at
 * least 3/8 of the slots are used: at most 16 / 0.375 = 43 bytes per
 * distinct address (1M distinct addresses: 2^21 slots = 32 MiB; during a
 * doubling the old table is kept until the new one is filled, 48 MiB at
 * that moment). Two different mailboxes share a hash with probability
 * about n^2 / 2^89 over n distinct addresses (1M: 1.6e-15); the hash is
 * seeded at random per index, so a list cannot be crafted to collide.
 * A false duplicate would take another mailbox's verdict.
 *
 * Ownership: dedup_new() returns an index freed with dedup_free(). One
 * thread (the feeder). When memory runs out while growing the index goes
 * on filling the table it has; when that is full a new key is not recorded
 * (its later rows are probed again: correct, only not deduplicated).
 */
#ifndef MAILVET_DEDUP_H
#define MAILVET_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define DEDUP_KEY_MAX (ADDR_BUF + ADDR_DOMAIN_MAX + 2)  /* room for any key */
#define DEDUP_SLOT_BYTES 16
#define DEDUP_ROW_MAX ((UINT64_C(1) << 40) - 2)          /* highest row indexed */

/* The key of the normalised address A into BUF (LEN bytes, NUL-terminated):
 * its length, or 0 when it cannot be made (does not fit in LEN, or the local
 * part does not fold); such an address is then not deduplicated. */
size_t dedup_key(const addr *a, char *buf, size_t len);

typedef struct dedup dedup;

/* An empty index with room for EXPECT keys before its first doubling (the
 * rows a file is estimated to hold: no doubling, and no old and new table
 * at once, late in a long run; at most DEDUP_EXPECT_MAX, 0: the smallest);
 * NULL when out of memory. Untouched slots cost no RSS until hashed into. */
#define DEDUP_EXPECT_MAX (UINT64_C(1) << 21)
dedup *dedup_new(uint64_t expect);
void dedup_free(dedup *d);

/* KEY (LEN bytes) at ROW: true when it was seen before, *FIRST = the row it
 * was first seen at; false when it is new (ROW is now its first row) or
 * could not be recorded (no memory left, ROW over DEDUP_ROW_MAX). */
bool dedup_seen(dedup *d, const char *key, size_t len, uint64_t row, uint64_t *first);

/* Distinct keys recorded; bytes held by the slot table. */
uint64_t dedup_count(const dedup *d);
size_t dedup_bytes(const dedup *d);

#endif
