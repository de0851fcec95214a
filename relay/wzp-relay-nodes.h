/* wzp — the cluster's node registry: this node's announcement, and the
 * nodes it knows to be alive
 *
 * Every node keeps "wzp:node:ID" (its addresses, identity fingerprint,
 * load, whether it drains) alive in Redis with a short TTL, one
 * heartbeat a second, and lists "wzp:nodes" on the same beat: a node
 * whose key expired is dead to everyone within RELAY_NODE_TTL of its
 * last beat, without anyone having to say so.  Lookups are answered from
 * the last listing, so asking "is node X alive?" costs nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-clock.h"

G_BEGIN_DECLS

#define RELAY_NODE_HEARTBEAT (1 * WZP_NSEC_PER_SEC)
/* A node that missed this many heartbeats' worth of time is dead. */
#define RELAY_NODE_TTL_MS 3000
#define RELAY_NODE_ID_LEN 16

typedef struct
{
  char *id;
  char *addr;                   /* "ip:port" clients and media legs dial */
  char *probe;                  /* "ip:port" or NULL */
  char *fingerprint;            /* its relay identity */
  guint64 registrations;
  guint64 calls;
  guint64 rooms;
  guint64 connections;
  gboolean draining;
} RelayNode;

typedef struct _RelayNodes RelayNodes;
/* wzp-relay-redis.h (the node record's codec needs no Redis). */
typedef struct _RelayRedis RelayRedis;

/* Fills @self's load (registrations, calls, rooms, connections, draining)
 * right before each heartbeat. */
typedef void (*RelayNodesLoadFunc) (RelayNode * self, gpointer user_data);

RelayNodes *relay_nodes_new (RelayRedis * store, const RelayNode * self,
    WzpClock * clock, GMainContext * context, RelayNodesLoadFunc load_func,
    gpointer user_data);
void relay_nodes_free (RelayNodes * self);
void relay_nodes_start (RelayNodes * self);
/* Announces now (we start draining). */
void relay_nodes_beat (RelayNodes * self);
/* Redis is (back) there: announces now, and keeps the nodes we knew for
 * RELAY_NODE_TTL_MS even if a listing misses them (a restarted Redis is
 * empty until each node's next beat; one that died meanwhile is dropped
 * after that, as its key never comes back). */
void relay_nodes_redis_back (RelayNodes * self);
/* Removes our key: we are leaving (the others see it at their next beat). */
void relay_nodes_withdraw (RelayNodes * self);

const RelayNode *relay_nodes_self (RelayNodes * self);
/* An alive node by id (ourselves included); NULL if dead or unknown. */
const RelayNode *relay_nodes_lookup (RelayNodes * self, const char *id);
/* Alive nodes, ourselves included. */
guint relay_nodes_count (RelayNodes * self);
/* The alive nodes other than us that take new clients. */
GPtrArray *relay_nodes_list_open (RelayNodes * self);

/* Its JSON form (the Redis value) is in wzp-relay-envelope.h. */
RelayNode *relay_node_copy (const RelayNode * node);
void relay_node_free (RelayNode * node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RelayNode, relay_node_free)

G_END_DECLS
