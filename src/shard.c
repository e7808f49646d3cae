/* shard.c — --shard K/N: which rows one machine of N takes (see shard.h). */
#include "shard.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static bool parse_part(const char *s, char **end, long *out)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtol(s, end, 10);
    return errno == 0;
}

bool shard_parse(const char *s, int *k, int *n)
{
    char *end;
    long a, b;
    if (!parse_part(s, &end, &a) || *end != '/' || !parse_part(end + 1, &end, &b) || *end)
        return false;
    if (b < 1 || b > 100000 || a < 1 || a > b)
        return false;
    *k = (int)a;
    *n = (int)b;
    return true;
}

int shard_of(const char *domain, int n)
{
    /* FNV-1a: fixed here forever — a different hash would move domains
     * between shards of a list already half done. */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)domain; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (int)(h % (uint64_t)n) + 1;
}
