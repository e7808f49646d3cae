/* gencsv.c — write a synthetic marketing list for the syntax benchmark.
 *
 * gencsv ROWS SEED > list.csv
 * Columns: id,first_name,last_name,email,signup_date,country. Domains are
 * Zipf-distributed (a few giant providers, a long tail of small ones), with
 * a sprinkle of typos, role accounts, upper case, display names, disposable
 * domains and broken addresses, so every code path of the screen is used.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static const char *const firsts[] = {"anna", "bob", "carla", "dmitri", "emma", "farid", "greta",
    "hiro", "ines", "jamal", "kofi", "lena", "marco", "nadia", "oscar", "priya"};
static const char *const lasts[] = {"smith", "garcia", "muller", "rossi", "kim", "silva",
    "nguyen", "okafor", "jensen", "novak", "haddad", "tanaka"};
static const char *const giants[] = {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com",
    "aol.com", "icloud.com", "gmx.de", "web.de", "comcast.net", "orange.fr"};
static const char *const oddities[] = {"gmial.com", "hotmial.com", "yaho.com", "mailinator.com",
    "guerrillamail.com"};
static const char *const tlds[] = {"com", "net", "org", "de", "co.uk", "fr", "io"};

#define NDOMAINS 20000

/* Zipf rank in [0, NDOMAINS) by inverse-CDF sampling over a table. */
static double cdf[NDOMAINS];

static void zipf_init(void)
{
    double sum = 0;
    for (int k = 0; k < NDOMAINS; k++)
        cdf[k] = (sum += 1.0 / (k + 1));
    for (int k = 0; k < NDOMAINS; k++)
        cdf[k] /= sum;
}

static int zipf_rank(void)
{
    double u = (double)(rnd() % 1000000) / 1e6;
    int lo = 0, hi = NDOMAINS - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void domain(int rank, char *buf, size_t len)
{
    if (rank < 10)
        snprintf(buf, len, "%s", giants[rank]);
    else
        snprintf(buf, len, "company%d.%s", rank, tlds[rank % 7]);
}

static void email(uint64_t i, char *buf, size_t len)
{
    const char *f = firsts[rnd() % 16], *l = lasts[rnd() % 12];
    char dom[64];
    uint32_t dice = rnd() % 1000;
    if (dice < 10)
        snprintf(dom, sizeof dom, "%s", oddities[rnd() % 5]);
    else
        domain(zipf_rank(), dom, sizeof dom);
    if (dice >= 10 && dice < 20)
        snprintf(buf, len, "%s.%s%llu@@%s", f, l, (unsigned long long)i, dom);   /* broken */
    else if (dice < 30)
        snprintf(buf, len, "info@%s", dom);                                      /* role */
    else if (dice < 40)
        snprintf(buf, len, "\"%s %s\" <%s.%s@%s>", f, l, f, l, dom);             /* display name */
    else if (dice < 50)
        snprintf(buf, len, " %c%s.%s%llu@%s ", f[0] - 32, f + 1, l, (unsigned long long)i, dom);
    else
        snprintf(buf, len, "%s.%s%llu@%s", f, l, (unsigned long long)(i % 997), dom);
}

/* Write S as one CSV field, quoted (quotes doubled) only when needed. */
static void put_field(const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gencsv ROWS SEED\n");
        return 2;
    }
    uint64_t rows = strtoull(argv[1], NULL, 10);
    rng_state = strtoull(argv[2], NULL, 10) * 2654435761ULL + 88172645463325252ULL;
    zipf_init();
    puts("id,first_name,last_name,email,signup_date,country");
    char e[160];
    for (uint64_t i = 1; i <= rows; i++) {
        email(i, e, sizeof e);
        printf("%llu,%s,%s,", (unsigned long long)i, firsts[rnd() % 16], lasts[rnd() % 12]);
        put_field(e);
        printf(",2025-%02u-%02u,%s\n", 1 + rnd() % 12, 1 + rnd() % 28, tlds[rnd() % 7]);
    }
    return 0;
}
