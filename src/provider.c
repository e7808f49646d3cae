/* provider.c — an MX host's operator by the Public Suffix List (provider.h).
 *
 * psl_latest() takes the newer of libpsl's built-in list and the one the
 * publicsuffix package installs, so a Debian update of that package reaches
 * mailvet without a rebuild. The list is not ours to edit: operators whose
 * MX names sit under two registrable domains (google.com, googlemail.com)
 * are two providers here, each with its own ceiling.
 */
#include "provider.h"

#include <libpsl.h>
#include <pthread.h>
#include <string.h>

#include "str.h"

static const psl_ctx_t *provider_psl;
static pthread_once_t provider_once = PTHREAD_ONCE_INIT;

static void provider_load(void)
{
    const psl_ctx_t *p = psl_latest(NULL);
    provider_psl = p ? p : psl_builtin();
}

const char *provider_name(const char *mx, char *out, size_t cap)
{
    if (!cap)
        return out;
    size_t n = strlen(str_copy_lower(out, cap, mx));
    while (n && out[n - 1] == '.')
        out[--n] = '\0';
    pthread_once(&provider_once, provider_load);
    const char *reg = provider_psl ? psl_registrable_domain(provider_psl, out) : NULL;
    if (reg && reg != out)
        memmove(out, reg, strlen(reg) + 1);
    return out;
}
