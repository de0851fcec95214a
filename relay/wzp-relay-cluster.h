/* wzp — the relay as one node of a cluster on Redis (docs/CLUSTER.md)
 *
 * Presence (fingerprint -> node), the homes of calls and rooms (the node
 * that hosts each), routing a local client's requests to the home of its
 * call or room, and delivering what a home says back.  A call or room
 * lives on one node, as on a single relay: the code in
 * wzp-relay-calls.c and wzp-relay-rooms.c runs there unchanged, with a
 * stub RelayClient for a party registered elsewhere (its replies go back
 * through the bus).  Parties registered elsewhere open a media leg to
 * the home, so relayed media crosses one relay (at most two hops: their
 * own media leg, the peer's registration).
 *
 * The core (wzp-relay.c) calls in here; this file calls back only
 * through RelayClusterHooks.  Built only with hiredis
 * (WZP_HAVE_HIREDIS); without it a relay refuses redis-url.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "config.h"
#include "wzp-relay-private.h"

#include <string.h>

G_BEGIN_DECLS

/* Presence, call and room homes live this long without a refresh. */
#define RELAY_CLUSTER_KEY_TTL_MS 60000
#define RELAY_CLUSTER_SWEEP (20 * WZP_NSEC_PER_SEC)
/* Routed calls are checked with their home, and remote parties of calls
 * hosted here looked for, this often. */
#define RELAY_CLUSTER_CHECK (5 * WZP_NSEC_PER_SEC)
/* A presence looked up (or learnt from a request) is reused this long. */
#define RELAY_CLUSTER_PRESENCE_CACHE (2 * WZP_NSEC_PER_SEC)

typedef struct _RelayCluster RelayCluster;

typedef struct
{
  /* Runs a client request (a stub's, or a local client's whose routing
   * decided it is handled here) without routing it again. */
  void (*dispatch) (WzpRelay * relay, RelayClient * c, WzpMessageType type,
      JsonObject * msg);
  /* @fp registered at another node: ours of it, if any, is superseded
   * (its calls and rooms move with it). */
  void (*superseded) (WzpRelay * relay, const char *fp);
  /* @fp is registered nowhere any more: its calls and rooms here end. */
  void (*gone) (WzpRelay * relay, const char *fp);
} RelayClusterHooks;

typedef struct
{
  guint64 calls_out;            /* calls placed here, hosted elsewhere */
  guint64 calls_in;             /* call requests of other nodes' clients */
  guint64 unavailable;          /* requests refused while Redis was away */
  guint64 forwarded;            /* client requests sent to a home */
  guint64 lookups;              /* presence lookups in Redis */
  guint64 cache_hits;           /* ... answered by the cache */
  guint64 delivered;            /* messages for our clients from other nodes */
  guint64 undeliverable;        /* ... whose client was not here */
} RelayClusterStats;

#ifdef WZP_HAVE_HIREDIS

/* @listen and @probe (nullable): the bound signaling and probe
 * addresses (the node record names them unless advertise-address says
 * otherwise). */
RelayCluster *relay_cluster_new (WzpRelay * relay,
    const RelayClusterHooks * hooks, GSocketAddress * listen,
    GSocketAddress * probe, GError ** error);
void relay_cluster_start (RelayCluster * self);
/* Leaves the cluster (our keys go now, not at their TTL). */
void relay_cluster_free (RelayCluster * self);
gboolean relay_cluster_is_available (RelayCluster * self);
const char *relay_cluster_node_id (RelayCluster * self);

void relay_cluster_registered (RelayCluster * self, RelayClient * c);
/* @c's registration ended; unless @c->moved its calls and rooms
 * elsewhere end too. */
void relay_cluster_unregistered (RelayCluster * self, RelayClient * c);
void relay_cluster_nat_changed (RelayCluster * self, RelayClient * c);

/* A local client's request: TRUE when the cluster took it (sent it to
 * the home of its call or room, or answered it), FALSE to handle it
 * here.  May decide later (after a Redis lookup) and then dispatch it
 * through the hook. */
gboolean relay_cluster_route (RelayCluster * self, RelayClient * c,
    WzpMessageType type, JsonObject * msg);
/* Consumes @msg, for @fp registered at another node (@node_hint when
 * known).  Dropped (and counted) when nobody knows where @fp is. */
void relay_cluster_deliver (RelayCluster * self, const char *node_hint,
    const char *fp, JsonObject * msg);
/* @fp is in a call hosted at another node (busy). */
gboolean relay_cluster_in_routed_call (RelayCluster * self, const char *fp);

void relay_cluster_call_hosted (RelayCluster * self, const char *call_id,
    gboolean hosted);
void relay_cluster_room_hosted (RelayCluster * self, const char *room,
    gboolean hosted);
/* Routes of @fp's own calls and rooms through this node (draining: is
 * the client idle?). */
gboolean relay_cluster_has_routes (RelayCluster * self, const char *fp);

/* {"addr", "fingerprint"} of this node for a party's media leg. */
JsonObject *relay_cluster_media_relay (RelayCluster * self);
/* [{"addr", "fingerprint"}] of the other nodes that take clients. */
JsonArray *relay_cluster_other_relays (RelayCluster * self);
void relay_cluster_set_draining (RelayCluster * self, gboolean draining);

void relay_cluster_get_stats (RelayCluster * self, RelayClusterStats * stats);
/* How long a message to another node takes: measured with envelopes to
 * ourselves (XADD, then our XREAD returns it). */
guint64 relay_cluster_bus_latency (RelayCluster * self);
guint relay_cluster_node_count (RelayCluster * self);
void relay_cluster_metrics (RelayCluster * self, GString * out);

#else

/* Without hiredis there is no cluster: WzpRelay.cluster stays NULL and
 * these do nothing (a relay refuses redis-url at start). */
static inline RelayCluster *
relay_cluster_new (WzpRelay * relay, const RelayClusterHooks * hooks,
    GSocketAddress * listen, GSocketAddress * probe, GError ** error)
{
  g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_CLUSTER,
      "this wzp-relay was built without hiredis: no Redis cluster");
  return NULL;
}
static inline void relay_cluster_start (RelayCluster * self) { }
static inline void relay_cluster_free (RelayCluster * self) { }
static inline gboolean
relay_cluster_is_available (RelayCluster * self)
{
  return FALSE;
}
static inline void
relay_cluster_registered (RelayCluster * self, RelayClient * c)
{
}
static inline void
relay_cluster_unregistered (RelayCluster * self, RelayClient * c)
{
}
static inline void
relay_cluster_nat_changed (RelayCluster * self, RelayClient * c)
{
}
static inline gboolean
relay_cluster_route (RelayCluster * self, RelayClient * c,
    WzpMessageType type, JsonObject * msg)
{
  return FALSE;
}
static inline void
relay_cluster_deliver (RelayCluster * self, const char *node_hint,
    const char *fp, JsonObject * msg)
{
  json_object_unref (msg);
}
static inline gboolean
relay_cluster_in_routed_call (RelayCluster * self, const char *fp)
{
  return FALSE;
}
static inline void
relay_cluster_call_hosted (RelayCluster * self, const char *call_id,
    gboolean hosted)
{
}
static inline void
relay_cluster_room_hosted (RelayCluster * self, const char *room,
    gboolean hosted)
{
}
static inline gboolean
relay_cluster_has_routes (RelayCluster * self, const char *fp)
{
  return FALSE;
}
static inline JsonObject *
relay_cluster_media_relay (RelayCluster * self)
{
  return NULL;
}
static inline JsonArray *
relay_cluster_other_relays (RelayCluster * self)
{
  return json_array_new ();
}
static inline void
relay_cluster_set_draining (RelayCluster * self, gboolean draining)
{
}
static inline guint
relay_cluster_node_count (RelayCluster * self)
{
  return 1;
}
static inline guint64
relay_cluster_bus_latency (RelayCluster * self)
{
  return 0;
}
static inline void
relay_cluster_metrics (RelayCluster * self, GString * out)
{
}
static inline void
relay_cluster_get_stats (RelayCluster * self, RelayClusterStats * stats)
{
  memset (stats, 0, sizeof *stats);
}
static inline const char *
relay_cluster_node_id (RelayCluster * self)
{
  return NULL;
}

#endif

G_END_DECLS
