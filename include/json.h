/* json.h — the few JSON-writing helpers mailvet needs (no parsing). */
#ifndef MAILVET_JSON_H
#define MAILVET_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Write P (LEN bytes) as a JSON string, quotes included. Invalid UTF-8 is
 * written as U+FFFD so the output is always valid JSON. */
void json_put_string(FILE *out, const char *p, size_t len);

#endif
