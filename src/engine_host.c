/* engine_host.c — the host policy of engine_host.h: throttle, unthrottle,
 * pause, give-up and recipients per session in one place. Broken invariants (a window below 1 or
 * above its ceiling) abort loudly rather than schedule wrongly. */
#include "engine_host.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>

static void check(const engine_host *h)
{
    assert(h->window >= 1 && h->window <= h->ceiling);
    assert(h->ok_streak >= 0 && h->busy_streak >= 0 && h->fail_streak >= 0);
    (void)h;
}

void engine_host_init(engine_host *h, int ceiling)
{
    *h = (engine_host){.state = HOST_OPEN, .window = ceiling > 0 ? ceiling : 1,
                       .ceiling = ceiling > 0 ? ceiling : 1};
}

bool engine_host_is_busy(const engine_host *h, const probe_result *res)
{
    if (res->answered)
        return false;
    if (res->session_limit)          /* before any recipient: postscreen's 4.3.2, a rate limit */
        return true;
    if (res->outcome == PROBE_TEMPORARY && res->code == 421)
        return true;
    return res->outcome == PROBE_NO_CONNECT && h->had_success;
}

bool engine_host_throttle(engine_host *h, uint64_t now, uint32_t gen)
{
    if (h->state == HOST_DEAD || h->busy_streak >= ENGINE_HOST_BUSY_MAX)
        return false;
    if (gen != h->generation)
        return true;
    h->generation++;
    h->busy_streak++;
    h->ok_streak = 0;
    h->window = h->window > 1 ? h->window / 2 : 1;
    int shift = h->busy_streak - 1 < 6 ? h->busy_streak - 1 : 6;
    uint64_t pause = (uint64_t)ENGINE_HOST_PAUSE_MS << shift;
    h->paused_until = now + (pause < ENGINE_HOST_PAUSE_MAX_MS ? pause : ENGINE_HOST_PAUSE_MAX_MS);
    h->state = HOST_PAUSED;
    check(h);
    return true;
}

void engine_host_resume(engine_host *h)
{
    if (h->state == HOST_PAUSED)
        h->state = h->window < h->ceiling ? HOST_THROTTLED : HOST_OPEN;
}

void engine_host_unthrottle(engine_host *h)
{
    h->had_success = true;
    h->busy_streak = h->fail_streak = 0;
    if (h->state == HOST_DEAD || h->state == HOST_PAUSED)
        return;
    if (++h->ok_streak >= h->window && h->window < h->ceiling) {
        h->window++;                         /* gentle: one per window's worth */
        h->ok_streak = 0;
    }
    h->state = h->window < h->ceiling ? HOST_THROTTLED : HOST_OPEN;
    check(h);
}

static size_t lower(size_t cap, size_t want)
{
    return want < cap ? want : cap;
}

bool engine_host_learn_cap(engine_host *h, const probe_result *res, size_t answered)
{
    size_t cap = SIZE_MAX;
    bool closed = res->outcome == PROBE_TEMPORARY && res->code == 421 && res->answered;
    if (res->session_limit && res->outcome == PROBE_DONE && res->answered)
        cap = answered;                                      /* a recipient count */
    if (res->session_limit && closed)
        cap = lower(cap, res->refusals / 2);                 /* an error count */
    if (res->penalised)
        cap = lower(cap, res->penalty_after ? res->penalty_after - 1 : 0);
    if (res->outcome == PROBE_TIMEOUT && res->answered)
        cap = lower(cap, answered);                          /* slower than our timer */
    if (cap == SIZE_MAX)
        return false;
    if (cap < 1)
        cap = 1;
    if (!h->rcpt_cap || cap < (size_t)h->rcpt_cap)
        h->rcpt_cap = cap < INT_MAX ? (int)cap : INT_MAX;
    return true;
}

void engine_host_took(engine_host *h, const probe_result *res)
{
    if (res->outcome == PROBE_DONE && !res->session_limit && !res->penalised &&
        res->answered > h->rcpt_taken)
        h->rcpt_taken = res->answered;
}

size_t engine_host_rcpt_window(const engine_host *h, size_t n)
{
    if (h->rcpt_cap || n <= ENGINE_HOST_RCPT_WINDOW || h->rcpt_taken >= n)
        return 0;
    return ENGINE_HOST_RCPT_WINDOW;
}

bool engine_host_learn_mixed(engine_host *h, const probe_result *res, size_t ndomains)
{
    if (!res->mixed_domains || ndomains < 2)
        return false;
    h->one_domain = true;
    return true;
}

bool engine_host_fail(engine_host *h)
{
    if (++h->fail_streak >= ENGINE_HOST_FAIL_DEAD && !h->had_success)
        h->state = HOST_DEAD;
    return h->state == HOST_DEAD;
}

void engine_host_give_up(engine_host *h)
{
    h->state = HOST_DEAD;
}

int engine_host_slots(const engine_host *h, int active)
{
    if (h->state == HOST_DEAD || h->state == HOST_PAUSED)
        return 0;
    return h->window > active ? h->window - active : 0;
}

size_t engine_host_batch(const engine_host *h, size_t want, size_t work)
{
    size_t n = h->rcpt_cap && (size_t)h->rcpt_cap < want ? (size_t)h->rcpt_cap : want;
    if (!n)
        return 0;
    size_t round = (size_t)h->window * n;            /* what one round of full sessions asks */
    if (work > 2 * round)
        return n;                                    /* the last rounds are far off */
    size_t per = (size_t)h->window * (work > round ? 2 : 1);
    size_t share = work / per + (work % per != 0);
    if (share < ENGINE_HOST_SHARE_MIN)
        share = ENGINE_HOST_SHARE_MIN;
    return share < n ? share : n;
}

uint64_t engine_host_gather(engine_host *h, uint64_t now, size_t queued, size_t full, bool more)
{
    if (!more || !h->started || queued >= full) {
        h->gathering = false;
        return 0;
    }
    if (!h->gathering) {
        h->gathering = true;
        h->gather_since = now;
    }
    uint64_t until = h->gather_since + ENGINE_HOST_GATHER_MS;
    return now < until ? until : 0;
}

void engine_host_started(engine_host *h)
{
    h->started = true;
    h->gathering = false;
}

const char *engine_host_state_name(engine_host_state s)
{
    static const char *const names[] = {"open", "throttled", "paused", "dead"};
    return s <= HOST_DEAD ? names[s] : "?";
}
