/* str.h — bounded string copies into fixed-size buffers (one helper instead
 * of a copy in every module). The destination is the caller's; nothing here
 * allocates. Safe from any thread. */
#ifndef MAILVET_STR_H
#define MAILVET_STR_H

#include <stddef.h>

/* Copy SRC into DST (CAP bytes, CAP > 0), cut to CAP - 1 bytes and always
 * NUL-terminated; NULL reads as "". Returns DST. */
char *str_copy(char *dst, size_t cap, const char *src);

/* As str_copy, but a cut backs off to a UTF-8 character boundary so the
 * copy never ends in half a sequence (for text that is displayed). */
char *str_copy_utf8(char *dst, size_t cap, const char *src);

/* As str_copy, with A-Z lowered (bytes past ASCII are copied as they are). */
char *str_copy_lower(char *dst, size_t cap, const char *src);

#endif
