/* engine_uv.h — the engine's real world: its ops on a libuv loop (SMTP
 * sessions from probe.c, lookups from dns.c, uv_now, one uv_timer_t for
 * its wake-ups), and its options built from the command line. The one
 * place where the CLI meets the engine: `clean` (batch.c, on the network
 * thread) and `check` (on the main thread) both start the engine here.
 *
 * Ownership: engine_uv_new() borrows LOOP (it must outlive it) and owns
 * the resolver and the engine; engine_uv_close() closes both and frees
 * them once libuv has closed their handles.
 */
#ifndef MAILVET_ENGINE_UV_H
#define MAILVET_ENGINE_UV_H

#include <uv.h>

#include "cli.h"
#include "dns.h"
#include "engine.h"

typedef struct engine_uv engine_uv;

/* The engine of the command's options O (--dns, --level, limits, retries,
 * identity, timeouts, routes; O is borrowed and must outlive it), with a
 * resolver of its own on LOOP. CATCHALL_SEED: engine_opts' (0: random).
 * NULL with a message in ERR (a bad --dns, out of memory); whatever was
 * opened is then closing, so run LOOP until it is empty. */
engine_uv *engine_uv_new(uv_loop_t *loop, const cli_opts *o, uint64_t catchall_seed,
                         const engine_events *ev, void *ud, char *err, size_t errlen);

engine *engine_uv_engine(engine_uv *u);

/* Cancel pending lookups (the engine ignores them once cancelled) and close
 * every handle; the engine and U are freed once libuv has closed them. No
 * session may be open (engine_cancel, then wait for sessions_active 0). */
void engine_uv_close(engine_uv *u);

/* The engine's unreachable event in words, on stderr (check and clean say
 * the same): HOSTS mail servers, all unreachable; PREFIX clears a live
 * progress line ("" when none). */
void engine_uv_warn_unreachable(uint64_t hosts, const char *prefix);

#endif
