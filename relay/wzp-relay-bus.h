/* wzp — the cross-node bus: one Redis stream per node
 *
 * A node reads its own stream, "wzp:bus:ID", on a connection of its own
 * (XREAD BLOCK), from where it left off; other nodes XADD to it.  What
 * that gives (docs/CLUSTER.md, "Delivery"):
 *   - order: what one node sends to another arrives in the order sent;
 *   - no loss while Redis runs: a reader that reconnects continues from
 *     the last entry it read, so nothing sent meanwhile is missed;
 *   - at most once across a Redis restart (no persistence) or a
 *     connection that breaks between XADD and its reply;
 *   - while Redis is away, envelopes wait in an outbox (at most
 *     RELAY_BUS_OUTBOX_MAX, RELAY_BUS_OUTBOX_MAX_AGE old) and go out when
 *     it is back: a hang-up sent during an outage still arrives.
 * The protocol copes with the rest: every state that waits for another
 * node has a timer (ring timeout, resume wait, the check of routed calls).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-relay-redis.h"
#include "wzp-relay-envelope.h"

G_BEGIN_DECLS

#define RELAY_BUS_OUTBOX_MAX 4096
#define RELAY_BUS_OUTBOX_MAX_AGE (10 * WZP_NSEC_PER_SEC)
/* Entries a stream keeps (approximately) before the oldest go. */
#define RELAY_BUS_STREAM_MAXLEN "10000"
/* A stream nobody writes to any more (its node died) disappears. */
#define RELAY_BUS_STREAM_TTL_MS "60000"

typedef struct _RelayBus RelayBus;

/* One valid envelope addressed to us; owned by the bus. */
typedef void (*RelayBusFunc) (RelayEnvelope * env, gpointer user_data);

typedef struct
{
  guint64 sent;
  guint64 received;
  guint64 queued;               /* sent while Redis was away */
  guint64 dropped_outbox;       /* too many or too old while away */
  guint64 dropped_failed;       /* the connection broke under an XADD */
  guint64 bad;                  /* entries that are not valid envelopes */
} RelayBusStats;

/* @store sends; the bus opens its own connection to @target to read. */
RelayBus *relay_bus_new (const RelayRedisTarget * target, RelayRedis * store,
    const char *self_id, WzpClock * clock, GMainContext * context,
    RelayBusFunc func, gpointer user_data);
void relay_bus_free (RelayBus * self);
void relay_bus_start (RelayBus * self);
/* Takes @env.  Queued while the store connection is down. */
void relay_bus_send (RelayBus * self, const char *to, RelayEnvelope * env);
/* The store connection is up again: send what waited. */
void relay_bus_flush (RelayBus * self);
gboolean relay_bus_is_reading (RelayBus * self);
void relay_bus_get_stats (RelayBus * self, RelayBusStats * stats);

G_END_DECLS
