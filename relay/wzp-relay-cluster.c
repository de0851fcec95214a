/* wzp — the relay as one node of a cluster on Redis (see
 * wzp-relay-cluster.h and docs/CLUSTER.md)
 *
 * Keys (all with a TTL, so a dead node's entries go by themselves):
 *   wzp:presence:FP   node id of FP's registration      60 s, refreshed
 *   wzp:call:ID       node id hosting call ID           60 s, refreshed
 *   wzp:room:ROOM     node id hosting room ROOM         60 s, refreshed
 * (the node registry's keys are in wzp-relay-nodes.c, the bus's in
 * wzp-relay-bus.c).  A home is claimed with one script that keeps a live
 * node's claim and takes over a dead one's, so two parties resuming a
 * call at two nodes at once meet at one.
 *
 * Routing happens only at the node a client is registered at; the home
 * runs what it gets from a stub as if the client were local and never
 * routes it on (no loops).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-cluster.h"
#include "wzp-relay-redis.h"
#include "wzp-relay-nodes.h"
#include "wzp-relay-bus.h"
#include "wzp-relay-envelope.h"
#include "wzp-random.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

#define PRESENCE_PREFIX "wzp:presence:"
#define CALL_PREFIX "wzp:call:"
#define ROOM_PREFIX "wzp:room:"
#define NODE_PREFIX "wzp:node:"
#define TTL_TEXT G_STRINGIFY (RELAY_CLUSTER_KEY_TTL_MS)

/* KEYS[1] = key, ARGV[1] = our node id, ARGV[2] = TTL ms. */
static const char SET_IF_OURS[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false or v == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
    "return 0";
/* KEYS[1] = key, ARGV[1] = our node id. */
static const char DEL_IF_OURS[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";
/* KEYS[1] = key, ARGV[1] = our node id, ARGV[2] = TTL ms, ARGV[3] = the
 * node key prefix.  Returns the home: a live node's claim stands; a
 * missing one or a dead node's is ours. */
static const char CLAIM[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and v ~= ARGV[1] and "
    "redis.call('EXISTS', ARGV[3] .. v) == 1 then return v end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1]";

typedef struct
{
  char *node;                   /* NULL while the lookup runs */
  gboolean active;              /* set up: resumed by its parties if its
                                 * home dies, never ended by us */
} Route;

typedef struct
{
  GHashTable *calls;            /* call id -> Route */
  GHashTable *rooms;            /* room -> node id */
} Routes;

typedef struct
{
  char *node;
  guint64 expires;
} Cached;

/* Messages for a fingerprint wait here while its presence is looked up,
 * so that they keep their order. */
typedef struct
{
  RelayCluster *cluster;
  char *fp;
  GQueue msgs;                  /* of GBytes (raw), in order */
  guint hops;
} Lookup;

struct _RelayCluster
{
  WzpRelay *relay;
  RelayClusterHooks hooks;
  RelayRedisTarget target;
  char *where;
  RelayRedis *store;
  RelayNodes *nodes;
  RelayBus *bus;
  RelayNode me;
  GHashTable *routes;           /* fp -> Routes */
  GHashTable *cache;            /* fp -> Cached */
  GHashTable *lookups;          /* fp -> Lookup (in flight) */
  GHashTable *strikes;          /* fp -> checks it was found nowhere */
  GSource *sweep;
  GSource *check;
  guint64 bus_latency;          /* smoothed, from pings to ourselves */
  RelayClusterStats stats;
};

/* --- small helpers ---------------------------------------------------- */

static char *
key_of (const char *prefix, const char *what)
{
  return g_strconcat (prefix, what, NULL);
}

static void
warn_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  const char *why;

  if (status == RELAY_REDIS_OK && relay_redis_reply_is_error (status, reply,
          &why))
    WZP_WARNING ("cluster: %s: %s", (const char *) data, why);
}

static gboolean
eval (RelayCluster * self, const char *script, const char *key,
    RelayRedisReplyFunc func, gpointer data, gboolean with_ttl,
    gboolean with_prefix)
{
  const char *argv[7] = { "EVAL", script, "1", key, self->me.id, NULL, NULL };
  int argc = 5;

  if (with_ttl)
    argv[argc++] = TTL_TEXT;
  if (with_prefix)
    argv[argc++] = NODE_PREFIX;
  return relay_redis_command (self->store, func ? func : warn_reply,
      func ? data : (gpointer) "script", argc, argv, NULL);
}

static gboolean
is_me (RelayCluster * self, const char *node)
{
  return node && strcmp (node, self->me.id) == 0;
}

static gboolean
node_alive (RelayCluster * self, const char *node)
{
  return relay_nodes_lookup (self->nodes, node) != NULL;
}

/* Sends @msg (consumed) on a local client's connection. */
static void
send_local (RelayClient * c, JsonObject * msg)
{
  g_autoptr (GBytes) bytes = wzp_message_to_bytes (msg);

  json_object_unref (msg);
  if (c->conn)
    wzp_connection_send_message (c->conn, g_bytes_get_data (bytes, NULL),
        g_bytes_get_size (bytes), NULL);
}

static void
reply_ended (RelayClient * c, JsonObject * request, const char *call_id,
    const char *reason)
{
  JsonObject *m = wzp_message_new_call_ended (call_id, reason);
  guint32 req;

  if (request && wzp_message_get_req (request, &req))
    wzp_message_set_re (m, req);
  send_local (c, m);
}

static RelayClient *
local_client (RelayCluster * self, const char *fp)
{
  return g_hash_table_lookup (self->relay->registrations, fp);
}

/* The media leg @fp opened to us (a client of another node). */
static RelayClient *
leg_client (RelayCluster * self, const char *fp)
{
  return g_hash_table_lookup (self->relay->media_legs, fp);
}

/* A local client's RTT to us (what the home of its call sees of it). */
static guint64
client_rtt (RelayClient * c)
{
  WzpConnectionStats st;

  if (c->conn == NULL)
    return c->remote_rtt;
  wzp_connection_get_stats (c->conn, &st);
  return st.rtt_ns;
}

/* --- routes ----------------------------------------------------------- */

static void
route_free (gpointer p)
{
  Route *r = p;

  g_free (r->node);
  g_free (r);
}

static void
routes_free (gpointer p)
{
  Routes *r = p;

  g_hash_table_unref (r->calls);
  g_hash_table_unref (r->rooms);
  g_free (r);
}

static Routes *
routes_for (RelayCluster * self, const char *fp, gboolean create)
{
  Routes *r = g_hash_table_lookup (self->routes, fp);

  if (r == NULL && create) {
    r = g_new0 (Routes, 1);
    r->calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        route_free);
    r->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert (self->routes, g_strdup (fp), r);
  }
  return r;
}

static Route *
call_route (RelayCluster * self, const char *fp, const char *call_id)
{
  Routes *r = routes_for (self, fp, FALSE);

  return r ? g_hash_table_lookup (r->calls, call_id) : NULL;
}

static Route *
add_call_route (RelayCluster * self, const char *fp, const char *call_id,
    const char *node, gboolean active)
{
  Route *route = g_new0 (Route, 1);

  route->node = g_strdup (node);
  route->active = active;
  g_hash_table_replace (routes_for (self, fp, TRUE)->calls,
      g_strdup (call_id), route);
  return route;
}

static void
prune_routes (RelayCluster * self, const char *fp)
{
  Routes *r = routes_for (self, fp, FALSE);

  if (r && g_hash_table_size (r->calls) == 0 &&
      g_hash_table_size (r->rooms) == 0)
    g_hash_table_remove (self->routes, fp);
}

static void
remove_call_route (RelayCluster * self, const char *fp, const char *call_id)
{
  Routes *r = routes_for (self, fp, FALSE);

  if (r && g_hash_table_remove (r->calls, call_id))
    prune_routes (self, fp);
}

static void
remove_room_route (RelayCluster * self, const char *fp, const char *room)
{
  Routes *r = routes_for (self, fp, FALSE);

  if (r && g_hash_table_remove (r->rooms, room))
    prune_routes (self, fp);
}

gboolean
relay_cluster_in_routed_call (RelayCluster * self, const char *fp)
{
  Routes *r = self ? routes_for (self, fp, FALSE) : NULL;

  return r && g_hash_table_size (r->calls) > 0;
}

gboolean
relay_cluster_has_routes (RelayCluster * self, const char *fp)
{
  return self && routes_for (self, fp, FALSE) != NULL;
}

/* --- the presence cache ----------------------------------------------- */

static void
cache_put (RelayCluster * self, const char *fp, const char *node)
{
  Cached *c = g_new0 (Cached, 1);

  c->node = g_strdup (node);
  c->expires = wzp_clock_get_time (self->relay->clock) +
      RELAY_CLUSTER_PRESENCE_CACHE;
  g_hash_table_replace (self->cache, g_strdup (fp), c);
}

static const char *
cache_get (RelayCluster * self, const char *fp)
{
  Cached *c = g_hash_table_lookup (self->cache, fp);

  if (c == NULL || c->expires < wzp_clock_get_time (self->relay->clock))
    return NULL;
  return c->node;
}

static void
cached_free (gpointer p)
{
  Cached *c = p;

  g_free (c->node);
  g_free (c);
}

/* --- sending to other nodes ------------------------------------------- */

static void
send_envelope (RelayCluster * self, const char *node, RelayEnvelope * env)
{
  relay_bus_send (self->bus, node, env);
}

static void
forward_client (RelayCluster * self, RelayClient * c, const char *node,
    JsonObject * msg)
{
  RelayEnvelope *env = relay_envelope_new (RELAY_ENVELOPE_CLIENT, self->me.id);

  env->fp = g_strdup (c->fp);
  memcpy (env->public_key, c->public_key, WZP_PUBLIC_KEY_LEN);
  env->observed = g_strdup (c->observed);
  env->nat = c->nat;
  env->rtt_us = MIN (client_rtt (c) / WZP_NSEC_PER_USEC, 60 * G_USEC_PER_SEC);
  env->raw = wzp_message_to_bytes (msg);
  self->stats.forwarded++;
  WZP_DEBUG ("cluster: %s's %s goes to node %s", c->fp,
      wzp_message_type_to_string (wzp_message_get_msg_type (msg)), node);
  send_envelope (self, node, env);
}

static void
send_deliver (RelayCluster * self, const char *node, const char *fp,
    GBytes * raw, guint hops)
{
  RelayEnvelope *env = relay_envelope_new (RELAY_ENVELOPE_DELIVER, self->me.id);

  env->fp = g_strdup (fp);
  env->raw = g_bytes_ref (raw);
  env->hops = hops;
  send_envelope (self, node, env);
}

static void
lookup_free (Lookup * l)
{
  g_queue_clear_full (&l->msgs, (GDestroyNotify) g_bytes_unref);
  g_free (l->fp);
  g_free (l);
}

static void
deliver_lookup_reply (RelayRedis * r, RelayRedisStatus status,
    redisReply * reply, gpointer data)
{
  Lookup *l = data;
  RelayCluster *self = l->cluster;
  const char *node = NULL;
  g_autofree char *text = NULL;
  GBytes *raw;

  if (status == RELAY_REDIS_CANCELLED) {
    lookup_free (l);
    return;
  }
  g_hash_table_steal (self->lookups, l->fp);
  if (status == RELAY_REDIS_OK && reply->type == REDIS_REPLY_STRING) {
    text = g_strndup (reply->str, reply->len);
    node = text;
    cache_put (self, l->fp, node);
  }
  if (node == NULL || is_me (self, node) || !node_alive (self, node)) {
    self->stats.undeliverable += g_queue_get_length (&l->msgs);
    WZP_DEBUG ("cluster: %u messages for %s: not registered anywhere",
        g_queue_get_length (&l->msgs), l->fp);
  } else {
    while ((raw = g_queue_pop_head (&l->msgs))) {
      send_deliver (self, node, l->fp, raw, l->hops);
      g_bytes_unref (raw);
    }
  }
  lookup_free (l);
}

/* Sends @raw to wherever @fp is registered: after any message for @fp
 * already waiting for a lookup, else through the cache, else after a
 * lookup. */
static void
deliver_raw (RelayCluster * self, const char *node_hint, const char *fp,
    GBytes * raw, guint hops)
{
  Lookup *l = g_hash_table_lookup (self->lookups, fp);
  const char *node;

  if (l) {
    g_queue_push_tail (&l->msgs, g_bytes_ref (raw));
    return;
  }
  node = node_hint && node_alive (self, node_hint) && !is_me (self,
      node_hint) ? node_hint : cache_get (self, fp);
  if (node && !is_me (self, node) && node_alive (self, node)) {
    self->stats.cache_hits++;
    send_deliver (self, node, fp, raw, hops);
    return;
  }
  l = g_new0 (Lookup, 1);
  l->cluster = self;
  l->fp = g_strdup (fp);
  l->hops = hops;
  g_queue_init (&l->msgs);
  g_queue_push_tail (&l->msgs, g_bytes_ref (raw));
  {
    g_autofree char *key = key_of (PRESENCE_PREFIX, fp);

    if (!relay_redis_commandv (self->store, deliver_lookup_reply, l, "GET",
            key, NULL)) {
      self->stats.undeliverable++;
      lookup_free (l);
      return;
    }
  }
  self->stats.lookups++;
  g_hash_table_insert (self->lookups, l->fp, l);
}

void
relay_cluster_deliver (RelayCluster * self, const char *node_hint,
    const char *fp, JsonObject * msg)
{
  g_autoptr (GBytes) raw = NULL;

  if (self == NULL) {
    json_object_unref (msg);
    return;
  }
  raw = wzp_message_to_bytes (msg);
  json_object_unref (msg);
  deliver_raw (self, node_hint, fp, raw, 0);
}

/* --- routing a local client's request --------------------------------- */

typedef struct
{
  RelayCluster *cluster;
  char *fp;
  WzpMessageType type;
  JsonObject *msg;
  char *id;                     /* call id or room */
} Pending;

static Pending *
pending_new (RelayCluster * self, RelayClient * c, WzpMessageType type,
    JsonObject * msg, const char *id)
{
  Pending *p = g_new0 (Pending, 1);

  p->cluster = self;
  p->fp = g_strdup (c->fp);
  p->type = type;
  p->msg = json_object_ref (msg);
  p->id = g_strdup (id);
  return p;
}

static void
pending_free (Pending * p)
{
  json_object_unref (p->msg);
  g_free (p->fp);
  g_free (p->id);
  g_free (p);
}

static void
call_lookup_reply (RelayRedis * r, RelayRedisStatus status,
    redisReply * reply, gpointer data)
{
  Pending *p = data;
  RelayCluster *self = p->cluster;
  RelayClient *c;
  Route *route;
  g_autofree char *node = NULL;

  if (status == RELAY_REDIS_CANCELLED)
    goto out;
  c = local_client (self, p->fp);
  route = call_route (self, p->fp, p->id);
  /* Gone, or hung up while we looked. */
  if (c == NULL || route == NULL || route->node != NULL)
    goto out;
  if (status != RELAY_REDIS_OK) {
    remove_call_route (self, p->fp, p->id);
    self->stats.unavailable++;
    reply_ended (c, p->msg, p->id, "cluster-unavailable");
    goto out;
  }
  if (reply->type == REDIS_REPLY_STRING)
    node = g_strndup (reply->str, reply->len);
  if (node == NULL || is_me (self, node) || !node_alive (self, node)) {
    remove_call_route (self, p->fp, p->id);
    reply_ended (c, p->msg, p->id, "peer-offline");
    goto out;
  }
  route->node = g_strdup (node);
  self->stats.calls_out++;
  forward_client (self, c, node, p->msg);

out:
  pending_free (p);
}

static gboolean
route_call (RelayCluster * self, RelayClient * c, JsonObject * msg)
{
  WzpRelay *relay = self->relay;
  g_autofree char *to = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *key = NULL;

  if (!wzp_message_get_fingerprint (msg, "to", TRUE, &to, NULL) ||
      !wzp_message_get_call_id (msg, "call_id", &call_id, NULL) ||
      strcmp (to, c->fp) == 0 || local_client (self, to) ||
      g_hash_table_contains (relay->calls, call_id))
    return FALSE;               /* the handler has the answer */
  if (g_hash_table_contains (relay->fp_calls, c->fp) ||
      relay_cluster_in_routed_call (self, c->fp)) {
    reply_ended (c, msg, call_id, "busy");
    return TRUE;
  }
  if (!relay_redis_is_up (self->store)) {
    self->stats.unavailable++;
    WZP_INFO ("cluster: %s calls %s, who is not here, and Redis is away: "
        "cluster-unavailable", c->fp, to);
    reply_ended (c, msg, call_id, "cluster-unavailable");
    return TRUE;
  }
  key = key_of (PRESENCE_PREFIX, to);
  add_call_route (self, c->fp, call_id, NULL, FALSE);
  if (!relay_redis_commandv (self->store, call_lookup_reply,
          pending_new (self, c, WZP_MSG_CALL, msg, call_id), "GET", key,
          NULL)) {
    /* Went down just now: the pending data was not taken. */
    remove_call_route (self, c->fp, call_id);
    self->stats.unavailable++;
    reply_ended (c, msg, call_id, "cluster-unavailable");
    return TRUE;
  }
  self->stats.lookups++;
  return TRUE;
}

static gboolean
route_by_call_id (RelayCluster * self, RelayClient * c, WzpMessageType type,
    JsonObject * msg)
{
  g_autofree char *call_id = NULL;
  Route *route;

  if (!wzp_message_get_call_id (msg, "call_id", &call_id, NULL) ||
      g_hash_table_contains (self->relay->calls, call_id))
    return FALSE;
  route = call_route (self, c->fp, call_id);
  if (route == NULL)
    return FALSE;
  if (route->node == NULL) {
    /* Its call request is still looking for the callee. */
    if (type != WZP_MSG_HANGUP)
      return FALSE;
    remove_call_route (self, c->fp, call_id);
    reply_ended (c, NULL, call_id, "hangup");
    return TRUE;
  }
  forward_client (self, c, route->node, msg);
  /* The home answers with call-ended, which removes the route too; do
   * not count on it (the bus may lose it). */
  if (type == WZP_MSG_HANGUP || type == WZP_MSG_REJECT)
    remove_call_route (self, c->fp, call_id);
  return TRUE;
}

static void
claim_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  Pending *p = data;
  RelayCluster *self = p->cluster;
  RelayClient *c;
  g_autofree char *home = NULL;

  if (status == RELAY_REDIS_CANCELLED)
    goto out;
  c = local_client (self, p->fp);
  if (c == NULL)
    goto out;
  if (status == RELAY_REDIS_OK && reply->type == REDIS_REPLY_STRING)
    home = g_strndup (reply->str, reply->len);
  if (home == NULL || is_me (self, home) || !node_alive (self, home)) {
    /* Ours now (or Redis failed us: do what one relay would); a route to
     * where it was is stale. */
    if (p->type == WZP_MSG_RESUME_CALL)
      remove_call_route (self, c->fp, p->id);
    else
      remove_room_route (self, c->fp, p->id);
    self->hooks.dispatch (self->relay, c, p->type, p->msg);
    goto out;
  }
  if (p->type == WZP_MSG_RESUME_CALL) {
    add_call_route (self, c->fp, p->id, home, TRUE);
  } else {
    g_hash_table_replace (routes_for (self, c->fp, TRUE)->rooms,
        g_strdup (p->id), g_strdup (home));
  }
  forward_client (self, c, home, p->msg);

out:
  pending_free (p);
}

/* Resume and join go where their call or room lives now: its home key,
 * claimed for us when nobody alive holds it. */
static gboolean
route_to_home (RelayCluster * self, RelayClient * c, WzpMessageType type,
    JsonObject * msg, const char *prefix, const char *id)
{
  g_autofree char *key = key_of (prefix, id);
  Pending *p;

  /* Without Redis: as one relay (the call or room may split; its parties
   * meet again when they ask once Redis is back). */
  if (!relay_redis_is_up (self->store))
    return FALSE;
  p = pending_new (self, c, type, msg, id);
  if (!eval (self, CLAIM, key, claim_reply, p, TRUE, TRUE)) {
    pending_free (p);
    return FALSE;
  }
  return TRUE;
}

static gboolean
route_by_room (RelayCluster * self, RelayClient * c, WzpMessageType type,
    JsonObject * msg)
{
  const char *room;
  Routes *r;
  const char *node;

  if (!wzp_message_get_room (msg, "room", &room, NULL) ||
      g_hash_table_contains (self->relay->rooms, room))
    return FALSE;
  if (type == WZP_MSG_JOIN_ROOM)
    return route_to_home (self, c, type, msg, ROOM_PREFIX, room);
  r = routes_for (self, c->fp, FALSE);
  node = r ? g_hash_table_lookup (r->rooms, room) : NULL;
  if (node == NULL)
    return FALSE;
  forward_client (self, c, node, msg);
  if (type == WZP_MSG_LEAVE_ROOM)
    remove_room_route (self, c->fp, room);
  return TRUE;
}

gboolean
relay_cluster_route (RelayCluster * self, RelayClient * c,
    WzpMessageType type, JsonObject * msg)
{
  g_autofree char *call_id = NULL;

  if (self == NULL || c->remote_node)
    return FALSE;
  switch (type) {
    case WZP_MSG_CALL:
      return route_call (self, c, msg);
    case WZP_MSG_ANSWER:
    case WZP_MSG_REJECT:
    case WZP_MSG_HANGUP:
      return route_by_call_id (self, c, type, msg);
    case WZP_MSG_RESUME_CALL:
      if (!wzp_message_get_call_id (msg, "call_id", &call_id, NULL) ||
          g_hash_table_contains (self->relay->calls, call_id))
        return FALSE;
      return route_to_home (self, c, type, msg, CALL_PREFIX, call_id);
    case WZP_MSG_JOIN_ROOM:
    case WZP_MSG_LEAVE_ROOM:
    case WZP_MSG_ROOM_MESSAGE:
      return route_by_room (self, c, type, msg);
    default:
      return FALSE;
  }
}

/* --- what other nodes send us ----------------------------------------- */

static const char *
nat_static (const char *nat)
{
  if (g_strcmp0 (nat, "eim") == 0)
    return "eim";
  if (g_strcmp0 (nat, "edm") == 0)
    return "edm";
  return "unknown";
}

static void
handle_client (RelayCluster * self, RelayEnvelope * env)
{
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  WzpMessageType type;
  RelayClient stub = { 0 };

  msg = wzp_message_parse (g_bytes_get_data (env->raw, NULL),
      g_bytes_get_size (env->raw), &type, &error);
  if (msg == NULL) {
    WZP_WARNING ("cluster: node %s sent an invalid request of %s: %s",
        env->from, env->fp, error->message);
    return;
  }
  switch (type) {
    case WZP_MSG_CALL:
    case WZP_MSG_ANSWER:
    case WZP_MSG_REJECT:
    case WZP_MSG_HANGUP:
    case WZP_MSG_RESUME_CALL:
    case WZP_MSG_JOIN_ROOM:
    case WZP_MSG_LEAVE_ROOM:
    case WZP_MSG_ROOM_MESSAGE:
      break;
    default:
      WZP_WARNING ("cluster: node %s routed a '%s' of %s: not routable",
          env->from, wzp_message_type_to_string (type), env->fp);
      return;
  }
  /* Where it is registered, as its node told us. */
  cache_put (self, env->fp, env->from);
  if (type == WZP_MSG_CALL)
    self->stats.calls_in++;
  stub.relay = self->relay;
  stub.fp = env->fp;
  memcpy (stub.public_key, env->public_key, WZP_PUBLIC_KEY_LEN);
  g_strlcpy (stub.observed, env->observed, sizeof stub.observed);
  stub.nat = nat_static (env->nat);
  stub.registered = TRUE;
  stub.remote_node = env->from;
  stub.remote_rtt = env->rtt_us * WZP_NSEC_PER_USEC;
  self->hooks.dispatch (self->relay, &stub, type, msg);
}

static const char *
message_call_id (JsonObject * msg)
{
  return json_object_get_string_member_with_default (msg, "call_id", NULL);
}

static void
handle_deliver (RelayCluster * self, RelayEnvelope * env)
{
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  WzpMessageType type;
  RelayClient *c;
  const char *call_id, *room;
  Route *route;

  msg = wzp_message_parse (g_bytes_get_data (env->raw, NULL),
      g_bytes_get_size (env->raw), &type, &error);
  if (msg == NULL) {
    WZP_WARNING ("cluster: node %s sent an invalid message for %s: %s",
        env->from, env->fp, error->message);
    return;
  }
  c = local_client (self, env->fp);
  if (c == NULL) {
    /* It moved: one more hop, through Redis. */
    if (env->hops == 0 && relay_redis_is_up (self->store)) {
      g_hash_table_remove (self->cache, env->fp);
      deliver_raw (self, NULL, env->fp, env->raw, 1);
    } else {
      self->stats.undeliverable++;
    }
    return;
  }
  call_id = message_call_id (msg);
  switch (type) {
    case WZP_MSG_CALL_ENDED:
      if (call_id)
        remove_call_route (self, env->fp, call_id);
      break;
    case WZP_MSG_CALL_SETUP:
    case WZP_MSG_CALL_RESUMED:
      if (call_id && (route = call_route (self, env->fp, call_id))) {
        route->active = TRUE;
        if (route->node == NULL || strcmp (route->node, env->from) != 0) {
          g_free (route->node);
          route->node = g_strdup (env->from);
        }
      }
      break;
    case WZP_MSG_ROOM_LEFT:
      if (wzp_message_get_room (msg, "room", &room, NULL))
        remove_room_route (self, env->fp, room);
      break;
    default:
      break;
  }
  self->stats.delivered++;
  if (c->conn)
    wzp_connection_send_message (c->conn, g_bytes_get_data (env->raw, NULL),
        g_bytes_get_size (env->raw), NULL);
}

static void
handle_check (RelayCluster * self, RelayEnvelope * env)
{
  RelayEnvelope *reply = relay_envelope_new (RELAY_ENVELOPE_CHECK_REPLY,
      self->me.id);

  reply->ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < env->ids->len; i++) {
    const char *id = g_ptr_array_index (env->ids, i);
    if (!g_hash_table_contains (self->relay->calls, id))
      g_ptr_array_add (reply->ids, g_strdup (id));
  }
  send_envelope (self, env->from, reply);
}

/* The home of these routed calls does not have them: the call-ended that
 * said so was lost (or never sent: the home restarted). */
static void
handle_check_reply (RelayCluster * self, RelayEnvelope * env)
{
  GHashTableIter it;
  gpointer key, value;
  GPtrArray *ended = g_ptr_array_new_with_free_func (g_free);

  g_hash_table_iter_init (&it, self->routes);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    Routes *r = value;
    for (guint i = 0; i < env->ids->len; i++) {
      const char *id = g_ptr_array_index (env->ids, i);
      Route *route = g_hash_table_lookup (r->calls, id);
      if (route && route->node && strcmp (route->node, env->from) == 0) {
        g_ptr_array_add (ended, g_strdup (key));
        g_ptr_array_add (ended, g_strdup (id));
      }
    }
  }
  for (guint i = 0; i + 1 < ended->len; i += 2) {
    const char *fp = g_ptr_array_index (ended, i);
    const char *id = g_ptr_array_index (ended, i + 1);
    RelayClient *c = local_client (self, fp);

    WZP_INFO ("cluster: node %s no longer has call %s of %s: ending it",
        env->from, id, fp);
    remove_call_route (self, fp, id);
    if (c)
      send_local (c, wzp_message_new_call_ended (id, "peer-gone"));
  }
  g_ptr_array_unref (ended);
}

static void
handle_nat (RelayCluster * self, RelayEnvelope * env)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->relay->calls);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    RelayCall *call = value;
    for (guint i = 0; i < 2; i++)
      if (call->stubs[i] && strcmp (call->stubs[i]->fp, env->fp) == 0)
        call->stubs[i]->nat = nat_static (env->nat);
  }
}

/* The bus's own latency: an envelope to ourselves through Redis (XADD,
 * then our XREAD returns it), timed on one clock. */
static void
ping (RelayCluster * self)
{
  RelayEnvelope *env = relay_envelope_new (RELAY_ENVELOPE_PING, self->me.id);

  env->sent_us = wzp_clock_get_time (self->relay->clock) / WZP_NSEC_PER_USEC;
  send_envelope (self, self->me.id, env);
}

static void
handle_ping (RelayCluster * self, RelayEnvelope * env)
{
  guint64 now = wzp_clock_get_time (self->relay->clock) / WZP_NSEC_PER_USEC;
  guint64 took;

  if (!is_me (self, env->from) || env->sent_us > now)
    return;
  took = (now - env->sent_us) * WZP_NSEC_PER_USEC;
  /* An outage's queued ping says nothing about the bus. */
  if (took > WZP_NSEC_PER_SEC)
    return;
  self->bus_latency = self->bus_latency ?
      (3 * self->bus_latency + took) / 4 : took;
  WZP_LOG ("cluster: bus latency %" G_GUINT64_FORMAT " us (this ping %"
      G_GUINT64_FORMAT " us)", self->bus_latency / 1000, took / 1000);
}

static void
on_envelope (RelayEnvelope * env, gpointer data)
{
  RelayCluster *self = data;

  WZP_LOG ("cluster: %s from node %s (%s)", relay_envelope_kind_to_string
      (env->kind), env->from, env->fp ? env->fp : "");
  switch (env->kind) {
    case RELAY_ENVELOPE_CLIENT:
      handle_client (self, env);
      break;
    case RELAY_ENVELOPE_DELIVER:
      handle_deliver (self, env);
      break;
    case RELAY_ENVELOPE_GONE:
      /* It may have come here meanwhile: then it is not gone. */
      if (local_client (self, env->fp) == NULL)
        self->hooks.gone (self->relay, env->fp);
      break;
    case RELAY_ENVELOPE_SUPERSEDE:
      g_hash_table_remove (self->cache, env->fp);
      self->hooks.superseded (self->relay, env->fp);
      break;
    case RELAY_ENVELOPE_NAT:
      handle_nat (self, env);
      break;
    case RELAY_ENVELOPE_CHECK:
      handle_check (self, env);
      break;
    case RELAY_ENVELOPE_CHECK_REPLY:
      handle_check_reply (self, env);
      break;
    case RELAY_ENVELOPE_PING:
      handle_ping (self, env);
      break;
    default:
      break;
  }
}

/* --- presence --------------------------------------------------------- */

typedef struct
{
  RelayCluster *cluster;
  char *fp;
  WzpConnection *conn;          /* which registration of fp (not a ref) */
} Announce;

static void
announce_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  Announce *a = data;
  RelayCluster *self = a->cluster;
  RelayClient *c;
  g_autofree char *old = NULL;

  if (status == RELAY_REDIS_CANCELLED)
    goto out;
  c = local_client (self, a->fp);
  if (status != RELAY_REDIS_OK || reply->type == REDIS_REPLY_ERROR)
    goto out;
  if (c && c->conn == a->conn)
    c->announced = TRUE;
  if (reply->type == REDIS_REPLY_STRING)
    old = g_strndup (reply->str, reply->len);
  /* Registered at another node before: that registration is superseded,
   * as on one relay (a reconnect takes over quietly; a second client
   * with the same identity hears "superseded"). */
  if (old && !is_me (self, old) && node_alive (self, old)) {
    RelayEnvelope *env = relay_envelope_new (RELAY_ENVELOPE_SUPERSEDE,
        self->me.id);

    WZP_INFO ("cluster: %s was registered at node %s: superseding it",
        a->fp, old);
    env->fp = g_strdup (a->fp);
    send_envelope (self, old, env);
  }

out:
  g_free (a->fp);
  g_free (a);
}

static void
announce (RelayCluster * self, RelayClient * c)
{
  g_autofree char *key = key_of (PRESENCE_PREFIX, c->fp);
  Announce *a = g_new0 (Announce, 1);

  a->cluster = self;
  a->fp = g_strdup (c->fp);
  a->conn = c->conn;
  if (!relay_redis_commandv (self->store, announce_reply, a, "SET", key,
          self->me.id, "PX", TTL_TEXT, "GET", NULL)) {
    g_free (a->fp);
    g_free (a);
  }
}

void
relay_cluster_registered (RelayCluster * self, RelayClient * c)
{
  if (self == NULL)
    return;
  c->announced = FALSE;
  cache_put (self, c->fp, self->me.id);
  g_hash_table_remove (self->strikes, c->fp);
  /* Redis away: the sweep announces it once Redis is back. */
  if (relay_redis_is_up (self->store))
    announce (self, c);
}

void
relay_cluster_unregistered (RelayCluster * self, RelayClient * c)
{
  g_autofree char *key = NULL;
  Routes *r;

  if (self == NULL)
    return;
  key = key_of (PRESENCE_PREFIX, c->fp);
  r = routes_for (self, c->fp, FALSE);

  g_hash_table_remove (self->cache, c->fp);
  if (relay_redis_is_up (self->store))
    eval (self, DEL_IF_OURS, key, NULL, NULL, FALSE, FALSE);
  if (r == NULL)
    return;
  if (!c->moved) {
    /* Its calls and rooms elsewhere end, as on one relay. */
    g_autoptr (GHashTable) nodes = g_hash_table_new (g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init (&it, r->calls);
    while (g_hash_table_iter_next (&it, NULL, &value))
      if (((Route *) value)->node)
        g_hash_table_add (nodes, ((Route *) value)->node);
    g_hash_table_iter_init (&it, r->rooms);
    while (g_hash_table_iter_next (&it, NULL, &value))
      g_hash_table_add (nodes, value);
    g_hash_table_iter_init (&it, nodes);
    while (g_hash_table_iter_next (&it, &value, NULL)) {
      RelayEnvelope *env = relay_envelope_new (RELAY_ENVELOPE_GONE,
          self->me.id);
      env->fp = g_strdup (c->fp);
      send_envelope (self, value, env);
    }
  }
  g_hash_table_remove (self->routes, c->fp);
}

void
relay_cluster_nat_changed (RelayCluster * self, RelayClient * c)
{
  Routes *r = self ? routes_for (self, c->fp, FALSE) : NULL;
  GHashTableIter it;
  gpointer value;

  if (r == NULL)
    return;
  g_hash_table_iter_init (&it, r->calls);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Route *route = value;
    RelayEnvelope *env;

    if (route->node == NULL)
      continue;
    env = relay_envelope_new (RELAY_ENVELOPE_NAT, self->me.id);
    env->fp = g_strdup (c->fp);
    env->nat = c->nat;
    send_envelope (self, route->node, env);
  }
}

/* --- homes ------------------------------------------------------------ */

void
relay_cluster_call_hosted (RelayCluster * self, const char *call_id,
    gboolean hosted)
{
  g_autofree char *key = key_of (CALL_PREFIX, call_id);

  if (self == NULL || !relay_redis_is_up (self->store))
    return;
  if (hosted)
    eval (self, SET_IF_OURS, key, NULL, NULL, TRUE, FALSE);
  else
    eval (self, DEL_IF_OURS, key, NULL, NULL, FALSE, FALSE);
}

void
relay_cluster_room_hosted (RelayCluster * self, const char *room,
    gboolean hosted)
{
  g_autofree char *key = key_of (ROOM_PREFIX, room);

  if (self == NULL || !relay_redis_is_up (self->store))
    return;
  if (hosted)
    eval (self, SET_IF_OURS, key, NULL, NULL, TRUE, FALSE);
  else
    eval (self, DEL_IF_OURS, key, NULL, NULL, FALSE, FALSE);
}

/* Refreshes (or, after Redis came back, writes again) everything that
 * names us: presence of our clients, homes of our calls and rooms. */
static void
sweep (RelayCluster * self)
{
  GHashTableIter it;
  gpointer key, value;
  guint n = 0;

  if (!relay_redis_is_up (self->store))
    return;
  g_hash_table_iter_init (&it, self->relay->registrations);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    RelayClient *c = value;
    if (!c->announced) {
      announce (self, c);
    } else {
      g_autofree char *k = key_of (PRESENCE_PREFIX, c->fp);
      eval (self, SET_IF_OURS, k, NULL, NULL, TRUE, FALSE);
    }
    n++;
  }
  g_hash_table_iter_init (&it, self->relay->calls);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (((RelayCall *) value)->state != CALL_RINGING)
      relay_cluster_call_hosted (self, key, TRUE);
  /* A draining node gave its rooms up (relay_cluster_set_draining()). */
  g_hash_table_iter_init (&it, self->relay->rooms);
  while (!self->relay->draining && g_hash_table_iter_next (&it, &key, NULL))
    relay_cluster_room_hosted (self, key, TRUE);
  WZP_DEBUG ("cluster: refreshed %u presences, %u calls, %u rooms", n,
      g_hash_table_size (self->relay->calls),
      g_hash_table_size (self->relay->rooms));
}

static gboolean
sweep_cb (gpointer data)
{
  RelayCluster *self = data;

  wzp_timer_source_set_deadline (self->sweep,
      wzp_clock_get_time (self->relay->clock) + RELAY_CLUSTER_SWEEP);
  sweep (self);
  return G_SOURCE_CONTINUE;
}

/* --- the periodic check ----------------------------------------------- */

/* Routed calls: ask their homes whether they still have them; those of
 * a dead home end if they rang (nobody can resume a ringing call) and
 * are dropped if they were set up (their parties resume them). */
static void
check_routes (RelayCluster * self)
{
  g_autoptr (GHashTable) by_node = g_hash_table_new_full (g_str_hash,
      g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  GPtrArray *dead = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it, jt;
  gpointer key, value, id, rv;

  g_hash_table_iter_init (&it, self->routes);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    Routes *r = value;
    g_hash_table_iter_init (&jt, r->calls);
    while (g_hash_table_iter_next (&jt, &id, &rv)) {
      Route *route = rv;
      GPtrArray *ids;

      if (route->node == NULL)
        continue;
      if (!node_alive (self, route->node)) {
        g_ptr_array_add (dead, g_strdup (key));
        g_ptr_array_add (dead, g_strdup (id));
        continue;
      }
      ids = g_hash_table_lookup (by_node, route->node);
      if (ids == NULL) {
        ids = g_ptr_array_new_with_free_func (g_free);
        g_hash_table_insert (by_node, route->node, ids);
      }
      if (ids->len < RELAY_ENVELOPE_MAX_IDS)
        g_ptr_array_add (ids, g_strdup (id));
    }
  }
  for (guint i = 0; i + 1 < dead->len; i += 2) {
    const char *fp = g_ptr_array_index (dead, i);
    const char *call_id = g_ptr_array_index (dead, i + 1);
    Route *route = call_route (self, fp, call_id);
    RelayClient *c = local_client (self, fp);

    if (route && !route->active && c) {
      WZP_INFO ("cluster: the node hosting call %s of %s is gone while it "
          "rang", call_id, fp);
      send_local (c, wzp_message_new_call_ended (call_id, "peer-gone"));
    }
    remove_call_route (self, fp, call_id);
  }
  g_ptr_array_unref (dead);
  g_hash_table_iter_init (&it, by_node);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    RelayEnvelope *env = relay_envelope_new (RELAY_ENVELOPE_CHECK,
        self->me.id);
    env->ids = g_ptr_array_ref (value);
    send_envelope (self, key, env);
  }
}

typedef struct
{
  RelayCluster *cluster;
  char *fp;
} Strike;

static void
strike_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  Strike *s = data;
  RelayCluster *self = s->cluster;
  guint n;

  if (status != RELAY_REDIS_OK || reply->type == REDIS_REPLY_ERROR)
    goto out;
  if (reply->type == REDIS_REPLY_STRING || local_client (self, s->fp) ||
      leg_client (self, s->fp)) {
    g_hash_table_remove (self->strikes, s->fp);
    goto out;
  }
  n = GPOINTER_TO_UINT (g_hash_table_lookup (self->strikes, s->fp)) + 1;
  if (n < 2) {
    g_hash_table_replace (self->strikes, g_strdup (s->fp),
        GUINT_TO_POINTER (n));
    goto out;
  }
  g_hash_table_remove (self->strikes, s->fp);
  WZP_INFO ("cluster: %s is registered nowhere: ending its calls and rooms "
      "here", s->fp);
  self->hooks.gone (self->relay, s->fp);

out:
  g_free (s->fp);
  g_free (s);
}

static void
look_for (RelayCluster * self, GHashTable * seen, const char *fp)
{
  g_autofree char *key = NULL;
  Strike *s;

  if (local_client (self, fp) || leg_client (self, fp) ||
      !g_hash_table_add (seen, (gpointer) fp))
    return;
  key = key_of (PRESENCE_PREFIX, fp);
  s = g_new0 (Strike, 1);
  s->cluster = self;
  s->fp = g_strdup (fp);
  if (!relay_redis_commandv (self->store, strike_reply, s, "GET", key, NULL)) {
    g_free (s->fp);
    g_free (s);
  }
}

/* Parties of calls and members of rooms hosted here who are registered
 * nowhere and have no media leg here: their node died with them.  On
 * one relay their registration's end would have ended their calls; two
 * checks in a row (5-10 s) stand in for it. */
static void
check_remote_parties (RelayCluster * self)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter it, jt;
  gpointer value, key;

  if (!relay_redis_is_up (self->store))
    return;
  g_hash_table_iter_init (&it, self->relay->calls);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    RelayCall *call = value;
    if (call->state != CALL_ACTIVE)
      continue;
    look_for (self, seen, call->caller);
    look_for (self, seen, call->callee);
  }
  g_hash_table_iter_init (&it, self->relay->rooms);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    g_hash_table_iter_init (&jt, ((RelayRoom *) value)->members);
    while (g_hash_table_iter_next (&jt, &key, NULL))
      look_for (self, seen, key);
  }
}

static gboolean
check_cb (gpointer data)
{
  RelayCluster *self = data;
  guint64 now = wzp_clock_get_time (self->relay->clock);
  GHashTableIter it;
  gpointer value;

  wzp_timer_source_set_deadline (self->check, now + RELAY_CLUSTER_CHECK);
  if (relay_redis_is_up (self->store)) {
    check_routes (self);
    check_remote_parties (self);
    ping (self);
  }
  g_hash_table_iter_init (&it, self->cache);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Cached *) value)->expires < now)
      g_hash_table_iter_remove (&it);
  return G_SOURCE_CONTINUE;
}

/* --- Redis up and down ------------------------------------------------ */

static void
on_store_state (RelayRedis * r, gboolean up, gpointer data)
{
  RelayCluster *self = data;

  if (!up) {
    WZP_WARNING ("cluster: Redis is away: calls between clients of this "
        "node go on; calls to other nodes' clients fail "
        "(cluster-unavailable) until it is back");
    return;
  }
  WZP_INFO ("cluster: Redis is there (%s): announcing node %s, its %u "
      "clients, calls and rooms", self->where, self->me.id,
      g_hash_table_size (self->relay->registrations));
  relay_nodes_redis_back (self->nodes);
  sweep (self);
  relay_bus_flush (self->bus);
  ping (self);
}

static void
load_cb (RelayNode * me, gpointer data)
{
  RelayCluster *self = data;

  me->registrations = self->relay->stats.registrations;
  me->calls = self->relay->stats.calls_ringing +
      self->relay->stats.calls_active;
  me->rooms = self->relay->stats.rooms;
  me->connections = self->relay->stats.connections;
  me->draining = self->relay->draining;
}

/* --- object ----------------------------------------------------------- */

RelayCluster *
relay_cluster_new (WzpRelay * relay, const RelayClusterHooks * hooks,
    GSocketAddress * listen, GSocketAddress * probe, GError ** error)
{
  RelayCluster *self;
  RelayRedisTarget target = { 0 };
  g_autofree char *addr = NULL;
  g_autofree char *probe_text = NULL;
  guint8 id[RELAY_NODE_ID_LEN / 2];

  if (!relay_redis_target_parse (relay->redis_url, &target, error))
    return NULL;
  if (relay->redis_password && *relay->redis_password) {
    g_free (target.password);
    target.password = g_strdup (relay->redis_password);
  }
  /* Where clients and other nodes reach us. */
  if (relay->advertise_address && *relay->advertise_address) {
    addr = g_strdup (relay->advertise_address);
  } else {
    if (listen == NULL || g_inet_address_get_is_any
        (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (listen)))) {
      g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_ADDRESS,
          "a cluster node needs an address other nodes and clients reach "
          "it at: set advertise-address (the listen address is %s)",
          relay->listen_address);
      relay_redis_target_clear (&target);
      return NULL;
    }
    addr = wzp_socket_address_to_string (listen);
  }
  {
    WzpAddr a;
    if (!wzp_addr_parse (&a, addr, NULL)) {
      g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_ADDRESS,
          "advertise-address '%s' is not IP:PORT", addr);
      relay_redis_target_clear (&target);
      return NULL;
    }
  }
  if (probe) {
    GInetAddress *host = g_inet_socket_address_get_address
        (G_INET_SOCKET_ADDRESS (probe));
    /* A wildcard probe address means "the host you reached me at". */
    if (g_inet_address_get_is_any (host)) {
      WzpAddr a;
      wzp_addr_parse (&a, addr, NULL);
      wzp_addr_set_port (&a, g_inet_socket_address_get_port
          (G_INET_SOCKET_ADDRESS (probe)));
      probe_text = g_malloc (WZP_ADDR_STRLEN);
      wzp_addr_to_string (&a, probe_text);
    } else {
      probe_text = wzp_socket_address_to_string (probe);
    }
  }

  self = g_new0 (RelayCluster, 1);
  self->relay = relay;
  self->hooks = *hooks;
  self->target = target;
  self->where = relay_redis_target_describe (&target);
  wzp_random_bytes (id, sizeof id);
  self->me.id = g_malloc (RELAY_NODE_ID_LEN + 1);
  for (guint i = 0; i < sizeof id; i++)
    g_snprintf (self->me.id + 2 * i, 3, "%02x", id[i]);
  self->me.addr = g_steal_pointer (&addr);
  self->me.probe = g_steal_pointer (&probe_text);
  self->me.fingerprint = g_strdup (wzp_identity_get_fingerprint
      (relay->identity));
  self->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      routes_free);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      cached_free);
  self->lookups = g_hash_table_new (g_str_hash, g_str_equal);
  self->strikes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->store = relay_redis_new (&self->target, "store", relay->clock,
      relay->context, on_store_state, self);
  self->nodes = relay_nodes_new (self->store, &self->me, relay->clock,
      relay->context, load_cb, self);
  self->bus = relay_bus_new (&self->target, self->store, self->me.id,
      relay->clock, relay->context, on_envelope, self);
  WZP_INFO ("cluster: node %s (%s, %s) joins the cluster at %s", self->me.id,
      self->me.addr, self->me.fingerprint, self->where);
  return self;
}

void
relay_cluster_start (RelayCluster * self)
{
  GSource **timers[] = { &self->sweep, &self->check };
  GSourceFunc funcs[] = { sweep_cb, check_cb };
  guint64 periods[] = { RELAY_CLUSTER_SWEEP, RELAY_CLUSTER_CHECK };

  relay_redis_start (self->store);
  relay_bus_start (self->bus);
  relay_nodes_start (self->nodes);
  for (guint i = 0; i < G_N_ELEMENTS (timers); i++) {
    *timers[i] = wzp_timer_source_new (self->relay->clock);
    g_source_set_callback (*timers[i], funcs[i], self, NULL);
    g_source_attach (*timers[i], self->relay->context);
    wzp_timer_source_set_deadline (*timers[i],
        wzp_clock_get_time (self->relay->clock) + periods[i]);
  }
}

static void
stop_timer (GSource ** t)
{
  if (*t) {
    g_source_destroy (*t);
    g_clear_pointer (t, g_source_unref);
  }
}

void
relay_cluster_free (RelayCluster * self)
{
  GHashTableIter it;
  gpointer value;

  if (self == NULL)
    return;
  stop_timer (&self->sweep);
  stop_timer (&self->check);
  /* What names us goes now, so nobody waits for our TTLs. */
  if (relay_redis_is_up (self->store)) {
    g_hash_table_iter_init (&it, self->relay->registrations);
    while (g_hash_table_iter_next (&it, NULL, &value)) {
      g_autofree char *k = key_of (PRESENCE_PREFIX,
          ((RelayClient *) value)->fp);
      eval (self, DEL_IF_OURS, k, NULL, NULL, FALSE, FALSE);
    }
    relay_nodes_withdraw (self->nodes);
  }
  /* The connections first: pending replies run as cancelled while
   * everything they might look at still exists. */
  relay_bus_free (self->bus);
  relay_redis_free (self->store);
  relay_nodes_free (self->nodes);
  /* Each lookup was freed by its (cancelled) reply. */
  g_hash_table_unref (self->lookups);
  g_hash_table_unref (self->routes);
  g_hash_table_unref (self->cache);
  g_hash_table_unref (self->strikes);
  relay_redis_target_clear (&self->target);
  g_free (self->where);
  g_free (self->me.id);
  g_free (self->me.addr);
  g_free (self->me.probe);
  g_free (self->me.fingerprint);
  g_free (self);
}

gboolean
relay_cluster_is_available (RelayCluster * self)
{
  return self && relay_redis_is_up (self->store);
}

const char *
relay_cluster_node_id (RelayCluster * self)
{
  return self->me.id;
}

JsonObject *
relay_cluster_media_relay (RelayCluster * self)
{
  JsonObject *o;

  if (self == NULL)
    return NULL;
  o = json_object_new ();
  json_object_set_string_member (o, "addr", self->me.addr);
  json_object_set_string_member (o, "fingerprint", self->me.fingerprint);
  return o;
}

JsonArray *
relay_cluster_other_relays (RelayCluster * self)
{
  g_autoptr (GPtrArray) open = NULL;
  JsonArray *a = json_array_new ();

  if (self == NULL)
    return a;
  open = relay_nodes_list_open (self->nodes);
  for (guint i = 0; i < open->len; i++) {
    const RelayNode *n = g_ptr_array_index (open, i);
    JsonObject *o = json_object_new ();

    json_object_set_string_member (o, "addr", n->addr);
    json_object_set_string_member (o, "fingerprint", n->fingerprint);
    json_array_add_object_element (a, o);
  }
  return a;
}

void
relay_cluster_set_draining (RelayCluster * self, gboolean draining)
{
  GHashTableIter it;
  gpointer key;

  if (self == NULL)
    return;
  relay_nodes_beat (self->nodes);
  if (!draining || !relay_redis_is_up (self->store))
    return;
  /* Rooms re-joined elsewhere must not be sent back here. */
  g_hash_table_iter_init (&it, self->relay->rooms);
  while (g_hash_table_iter_next (&it, &key, NULL))
    relay_cluster_room_hosted (self, key, FALSE);
}

void
relay_cluster_get_stats (RelayCluster * self, RelayClusterStats * stats)
{
  *stats = self->stats;
}

guint64
relay_cluster_bus_latency (RelayCluster * self)
{
  return self ? self->bus_latency : 0;
}

guint
relay_cluster_node_count (RelayCluster * self)
{
  return relay_nodes_count (self->nodes);
}

void
relay_cluster_metrics (RelayCluster * self, GString * out)
{
  RelayRedisStats rs;
  RelayBusStats bs;

  relay_redis_get_stats (self->store, &rs);
  relay_bus_get_stats (self->bus, &bs);
#define GAUGE(name, help, fmt, value) \
  g_string_append_printf (out, "# HELP " name " " help "\n# TYPE " name \
      " gauge\n" name " " fmt "\n", value)
#define COUNTER(name, help, value) \
  g_string_append_printf (out, "# HELP " name " " help "\n# TYPE " name \
      " counter\n" name " %" G_GUINT64_FORMAT "\n", (guint64) (value))
  GAUGE ("wzp_relay_cluster_nodes", "Nodes of the cluster seen alive "
      "(this one included)", "%u", relay_nodes_count (self->nodes));
  GAUGE ("wzp_relay_cluster_redis_up", "1 while Redis answers", "%d",
      relay_redis_is_up (self->store) ? 1 : 0);
  GAUGE ("wzp_relay_cluster_redis_rtt_seconds", "Smoothed round trip of "
      "Redis commands", "%.6f", rs.rtt_ns / 1e9);
  GAUGE ("wzp_relay_cluster_bus_latency_seconds", "Smoothed time an "
      "envelope takes through the bus (to ourselves)", "%.6f",
      self->bus_latency / 1e9);
  COUNTER ("wzp_relay_cluster_redis_commands_total", "Redis commands sent",
      rs.commands);
  COUNTER ("wzp_relay_cluster_redis_errors_total", "Redis commands that "
      "failed or got an error reply", rs.errors);
  COUNTER ("wzp_relay_cluster_redis_disconnects_total", "Times the Redis "
      "connection went away", rs.disconnects);
  g_string_append (out, "# HELP wzp_relay_cluster_calls_total Cross-node "
      "calls: out = placed here and sent to another node, in = call "
      "requests of another node's clients handled here\n"
      "# TYPE wzp_relay_cluster_calls_total counter\n");
  g_string_append_printf (out, "wzp_relay_cluster_calls_total{direction="
      "\"out\"} %" G_GUINT64_FORMAT "\n", self->stats.calls_out);
  g_string_append_printf (out, "wzp_relay_cluster_calls_total{direction="
      "\"in\"} %" G_GUINT64_FORMAT "\n", self->stats.calls_in);
  COUNTER ("wzp_relay_cluster_unavailable_total", "Requests refused with "
      "cluster-unavailable (Redis away)", self->stats.unavailable);
  COUNTER ("wzp_relay_cluster_presence_lookups_total", "Presence lookups in "
      "Redis", self->stats.lookups);
  COUNTER ("wzp_relay_cluster_undeliverable_total", "Messages for clients "
      "registered nowhere", self->stats.undeliverable);
  g_string_append (out, "# HELP wzp_relay_cluster_bus_envelopes_total "
      "Envelopes on the cross-node bus\n"
      "# TYPE wzp_relay_cluster_bus_envelopes_total counter\n");
  g_string_append_printf (out, "wzp_relay_cluster_bus_envelopes_total{"
      "direction=\"sent\"} %" G_GUINT64_FORMAT "\n", bs.sent);
  g_string_append_printf (out, "wzp_relay_cluster_bus_envelopes_total{"
      "direction=\"received\"} %" G_GUINT64_FORMAT "\n", bs.received);
  g_string_append_printf (out, "wzp_relay_cluster_bus_envelopes_total{"
      "direction=\"queued\"} %" G_GUINT64_FORMAT "\n", bs.queued);
  g_string_append (out, "# HELP wzp_relay_cluster_bus_dropped_total "
      "Envelopes lost: outbox (too many or too old while Redis was away), "
      "failed (connection broke under the XADD), bad (not an envelope)\n"
      "# TYPE wzp_relay_cluster_bus_dropped_total counter\n");
  g_string_append_printf (out, "wzp_relay_cluster_bus_dropped_total{reason="
      "\"outbox\"} %" G_GUINT64_FORMAT "\n", bs.dropped_outbox);
  g_string_append_printf (out, "wzp_relay_cluster_bus_dropped_total{reason="
      "\"failed\"} %" G_GUINT64_FORMAT "\n", bs.dropped_failed);
  g_string_append_printf (out, "wzp_relay_cluster_bus_dropped_total{reason="
      "\"bad\"} %" G_GUINT64_FORMAT "\n", bs.bad);
#undef GAUGE
#undef COUNTER
}
