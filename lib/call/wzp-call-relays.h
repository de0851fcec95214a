/* wzp-call-relays.h — the relays a call may use (private)
 *
 * The relay setting is a list ("relay1.example.org:4433,[2001:db8::1]:4433")
 * whose host names may each have several addresses.  Parsing, resolving
 * (without blocking the context) and ordering it is this helper's; it
 * calls nothing back but the one completion it is given.
 *
 * Order: by default every client orders the list by a hash of its own
 * fingerprint and each relay's address (rendezvous hashing): the clients
 * of a list spread evenly over its relays, a client always starts at the
 * same one, and when a relay dies each of its clients moves to its own
 * next one, so the load of the dead relay spreads over all the others
 * instead of falling on one.  docs/CLUSTER.md says why not the lowest
 * handshake RTT.
 */
#pragma once

#include <gio/gio.h>
#include "wzp-call.h"

G_BEGIN_DECLS

typedef struct
{
  char *host;                   /* as written (no brackets) */
  guint16 port;
  GSocketAddress *numeric;      /* when host is an IP address */
} WzpRelayEntry;

/* Entries of "HOST:PORT[,HOST:PORT...]"; a WZP_CALL_ERROR
 * (INVALID_SETTINGS) naming the bad entry otherwise. */
GPtrArray *_wzp_relay_list_parse (const char *text, GError ** error);

/* The addresses of @entries when every one is an IP address (nothing to
 * resolve), else NULL. */
GPtrArray *_wzp_relay_list_numeric (GPtrArray * entries);

/* @addresses: (element-type GSocketAddress): every address of every
 * entry, in the order of the entries; NULL with @error when none
 * resolved. */
typedef void (*WzpRelayListReady) (GPtrArray * addresses,
    const GError * error, gpointer user_data);

/* Resolves the host names of @entries on @context; calls @ready once,
 * on @context (at once when every entry is numeric). */
void _wzp_relay_list_resolve (GPtrArray * entries, GMainContext * context,
    GCancellable * cancellable, WzpRelayListReady ready, gpointer user_data);

/* Orders @addresses for @fingerprint (see above); LISTED leaves them. */
void _wzp_relay_list_order (GPtrArray * addresses, const char *fingerprint,
    WzpRelaySelection selection);

G_END_DECLS
