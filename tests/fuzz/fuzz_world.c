/* fuzz_world.c — libFuzzer target for mailsim's world-file parser
 * (tests/mailsim/world.c: world_load, world_free and the look-ups).
 *
 * Input: a world file, handed to world_load() as a memfd path. Owns the
 * memfd of one run. world_load reports syntax errors on stderr; with
 * MAILVET_FUZZ_QUIET set (make fuzz sets it) stderr goes to /dev/null for
 * the duration of that call only, so a long campaign does not fill a log.
 * Properties of a world that loaded: every host and domain is findable by
 * its (lower-case, dot-less) name and every host by each of its addresses;
 * counts stay within WORLD_MAX_*; greylist codes are 450/451; look-ups
 * (CNAME chains included) terminate; world_free releases everything (leaks
 * are reported by ASan). A world that failed to load is freed the same way.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>

#include "world.h"

static bool quiet;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    quiet = getenv("MAILVET_FUZZ_QUIET") != NULL;
    return 0;
}

/* Names are stored lower-case; section names fit the 255-byte buffer. */
static void check_name(const char *s, bool section)
{
    FUZZ_CHECK(s != NULL && s[0] != '\0');
    for (const char *c = s; *c; c++)
        FUZZ_CHECK(!isupper((unsigned char)*c));
    FUZZ_CHECK(!section || strlen(s) < 256);
}

static void check_world(world *w)
{
    for (int i = 0; i < w->n_hosts; i++) {
        world_host *h = w->hosts[i];
        check_name(h->name, true);
        world_name *wn = world_name_get(w, h->name);
        FUZZ_CHECK(wn != NULL && wn->host == h);
        FUZZ_CHECK(h->n_ip4 >= 0 && h->n_ip4 <= WORLD_MAX_ADDRS);
        FUZZ_CHECK(h->n_ip6 >= 0 && h->n_ip6 <= WORLD_MAX_ADDRS);
        FUZZ_CHECK(h->greylist_code == 450 || h->greylist_code == 451);
        FUZZ_CHECK(h->conn_per_min == 0 || h->conn_times != NULL);
        char buf[INET6_ADDRSTRLEN];
        for (int k = 0; k < h->n_ip4; k++) {
            FUZZ_CHECK(inet_ntop(AF_INET, &h->ip4[k], buf, sizeof buf) != NULL);
            FUZZ_CHECK(world_host_by_ip(w, buf) == h);
        }
        for (int k = 0; k < h->n_ip6; k++) {
            FUZZ_CHECK(inet_ntop(AF_INET6, h->ip6[k], buf, sizeof buf) != NULL);
            FUZZ_CHECK(world_host_by_ip(w, buf) == h);
        }
        FUZZ_CHECK(h->block.stage >= WORLD_STAGE_NONE && h->block.stage <= WORLD_STAGE_RCPT);
        FUZZ_CHECK(world_stage_name(h->block.stage)[0] != '?');
        FUZZ_CHECK(h->block.stage == WORLD_STAGE_NONE || h->block.text != NULL);
    }
    for (int i = 0; i < w->n_domains; i++) {
        world_domain *d = w->domains[i];
        check_name(d->name, true);
        world_name *wn = world_name_get(w, d->name);
        FUZZ_CHECK(wn != NULL && wn->domain == d);
        FUZZ_CHECK(d->n_mx >= 0 && d->n_mx <= WORLD_MAX_MX);
        FUZZ_CHECK(d->n_a >= 0 && d->n_a <= WORLD_MAX_ADDRS);
        FUZZ_CHECK(d->n_aaaa >= 0 && d->n_aaaa <= WORLD_MAX_ADDRS);
        for (int k = 0; k < d->n_mx; k++) {
            check_name(d->mx[k].host, false);
            FUZZ_CHECK(d->mx[k].pref >= 0 && d->mx[k].pref <= 65535);
        }
        if (d->cname)
            FUZZ_CHECK(d->cname[0] == '\0' || !isupper((unsigned char)d->cname[0]));
        FUZZ_CHECK(d->block.stage == WORLD_STAGE_NONE || d->block.stage == WORLD_STAGE_RCPT);
        /* Look-ups terminate, CNAME loops included. */
        world_domain *t = world_domain_get(w, d->name);
        FUZZ_CHECK(t == NULL || t->cname == NULL);
        (void)world_box(w, "alice", d->name);
        for (int k = 0; k < w->n_hosts && k < 16; k++)
            (void)world_host_serves(d, w->hosts[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = fuzz_memfd(data, size, path, sizeof path);
    FUZZ_CHECK(fd >= 0);
    int saved = -1;
    if (quiet) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        fflush(stderr);
        saved = dup(2);
        dup2(null, 2);
        close(null);
    }
    world w;
    int rc = world_load(&w, path);
    if (saved >= 0) {
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
    }
    close(fd);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc == 0)
        check_world(&w);
    world_free(&w);
    return 0;
}
