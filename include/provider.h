/* provider.h — which operator runs an MX host: the registrable domain of its
 * name by the Public Suffix List (libpsl, Debian's publicsuffix data), so
 * every tenant-123.mail.protection.outlook.com is "outlook.com" and every
 * alt1.aspmx.l.google.com is "google.com". --per-provider caps simultaneous
 * connections per provider (engine.c); the report groups hosts by it.
 *
 * Owns the one libpsl context, loaded on first use (thread-safe) and kept
 * for the life of the process.
 */
#ifndef MAILVET_PROVIDER_H
#define MAILVET_PROVIDER_H

#include <stddef.h>

/* The longest provider name written: a DNS name. */
#define PROVIDER_MAX 256

/* Writes MX's provider into OUT (lower case, no trailing dot): its
 * registrable domain, or the name itself when it has none (a bare TLD,
 * "localhost", or the list could not be loaded). Returns OUT. */
const char *provider_name(const char *mx, char *out, size_t cap);

#endif
