/* engine_uv.h — the engine's real world: its ops on a libuv loop (SMTP
 * sessions from probe.c, lookups from dns.c, uv_now, one uv_timer_t for
 * its wake-ups), and its options built from the command line. The one
 * place where the CLI meets the engine: `clean` (batch.c, on the network
 * thread) and `check` (on the main thread) both start the engine here.
 *
 * Ownership: engine_uv_new() borrows LOOP and DNS (they must outlive it)
 * and owns the engine; engine_uv_free() closes the timer and frees both
 * once libuv has closed it.
 */
#ifndef MAILVET_ENGINE_UV_H
#define MAILVET_ENGINE_UV_H

#include <uv.h>

#include "cli.h"
#include "dns.h"
#include "engine.h"

typedef struct engine_uv engine_uv;

/* The engine's options from the command's (--level, limits, retries,
 * identity, timeouts, routes; O's route list is borrowed). */
void engine_opts_from_cli(engine_opts *eo, const cli_opts *o);

/* NULL when out of memory. */
engine_uv *engine_uv_new(uv_loop_t *loop, dns_resolver *dns, const engine_opts *o,
                         const engine_events *ev, void *ud);

engine *engine_uv_engine(engine_uv *u);

/* Close the timer; the engine and U are freed once libuv has closed it.
 * No session may be open (engine_cancel, then wait for sessions_active 0). */
void engine_uv_free(engine_uv *u);

#endif
