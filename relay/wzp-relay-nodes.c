/* wzp — the cluster's node registry (see wzp-relay-nodes.h)
 *
 * One beat a second: SET wzp:node:ID (PX RELAY_NODE_TTL_MS), ZADD
 * wzp:nodes, ZRANGE wzp:nodes, then MGET of the listed keys.  The
 * listing replaces the cache; ids whose key is gone are removed from the
 * set.  Nothing here decides anything: the cluster asks.
 *
 * Reply callbacks get the registry itself; the cluster frees the Redis
 * connection before the registry, so a callback that runs as
 * RELAY_REDIS_CANCELLED touches nothing but its own data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-nodes.h"
#include "wzp-relay-redis.h"
#include "wzp-relay-envelope.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

#define NODES_KEY "wzp:nodes"
#define NODE_KEY_PREFIX "wzp:node:"

struct _RelayNodes
{
  RelayRedis *store;
  WzpClock *clock;
  GMainContext *context;
  RelayNodesLoadFunc load_func;
  gpointer user_data;
  RelayNode *self;
  GHashTable *alive;            /* id -> RelayNode (owned), us included */
  GSource *timer;
  gboolean listing;             /* a listing is in flight */
  gboolean withdrawn;
  /* Until then a node missing from a listing is kept: Redis just came
   * back (empty, after a restart) and the others announce themselves
   * again on their next beat, not before our first listing. */
  guint64 keep_until;
  guint64 bad_records;
};

static char *
node_key (const char *id)
{
  return g_strconcat (NODE_KEY_PREFIX, id, NULL);
}

static void
warn_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  const char *why;

  if (status == RELAY_REDIS_OK && relay_redis_reply_is_error (status, reply,
          &why))
    WZP_WARNING ("redis: %s: %s", (const char *) data, why);
}

typedef struct
{
  RelayNodes *nodes;
  GPtrArray *ids;
} Listing;

static void
listing_free (Listing * l)
{
  g_ptr_array_unref (l->ids);
  g_free (l);
}

static void
set_alive_self (RelayNodes * self)
{
  g_hash_table_replace (self->alive, self->self->id,
      relay_node_copy (self->self));
}

static void
mget_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  Listing *l = data;
  RelayNodes *self = l->nodes;
  GHashTable *alive;
  GPtrArray *gone;

  if (status == RELAY_REDIS_CANCELLED) {
    listing_free (l);
    return;
  }
  self->listing = FALSE;
  if (status != RELAY_REDIS_OK || reply->type != REDIS_REPLY_ARRAY ||
      reply->elements != l->ids->len) {
    listing_free (l);
    return;
  }
  alive = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) relay_node_free);
  gone = g_ptr_array_new ();
  for (gsize i = 0; i < reply->elements; i++) {
    redisReply *e = reply->element[i];
    const char *id = g_ptr_array_index (l->ids, i);
    g_autoptr (GError) error = NULL;
    RelayNode *n;

    if (e->type != REDIS_REPLY_STRING) {
      g_ptr_array_add (gone, (gpointer) id);
      continue;
    }
    n = relay_node_from_json (e->str, e->len, &error);
    if (n == NULL || strcmp (n->id, id) != 0) {
      self->bad_records++;
      WZP_WARNING ("cluster: ignoring the record of node %s: %s", id,
          error ? error->message : "it names another id");
      relay_node_free (n);
      continue;
    }
    if (g_hash_table_lookup (self->alive, id) == NULL &&
        strcmp (id, self->self->id) != 0)
      WZP_INFO ("cluster: node %s at %s (%s) joined", id, n->addr,
          n->fingerprint);
    g_hash_table_replace (alive, n->id, n);
  }
  {
    GHashTableIter it;
    gpointer key, value;
    gboolean keep = wzp_clock_get_time (self->clock) < self->keep_until;

    g_hash_table_iter_init (&it, self->alive);
    while (g_hash_table_iter_next (&it, &key, &value)) {
      RelayNode *n;

      if (g_hash_table_contains (alive, key) ||
          strcmp (key, self->self->id) == 0)
        continue;
      if (!keep) {
        WZP_INFO ("cluster: node %s is gone", (const char *) key);
        continue;
      }
      WZP_DEBUG ("cluster: node %s did not announce itself again yet since "
          "Redis came back: kept", (const char *) key);
      n = relay_node_copy (value);
      g_hash_table_replace (alive, n->id, n);
    }
  }
  g_hash_table_unref (self->alive);
  self->alive = alive;
  set_alive_self (self);
  /* Ids without a key: a node that died (its TTL ran out) or left. */
  if (gone->len) {
    const char **argv = g_new0 (const char *, gone->len + 2);

    argv[0] = "ZREM";
    argv[1] = NODES_KEY;
    for (guint i = 0; i < gone->len; i++)
      argv[i + 2] = g_ptr_array_index (gone, i);
    relay_redis_command (self->store, warn_reply, "ZREM wzp:nodes",
        gone->len + 2, argv, NULL);
    g_free (argv);
  }
  g_ptr_array_unref (gone);
  listing_free (l);
}

static void
list_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  RelayNodes *self = data;
  Listing *l;
  const char **argv;

  if (status == RELAY_REDIS_CANCELLED)
    return;
  if (status != RELAY_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
    self->listing = FALSE;
    return;
  }
  if (reply->elements == 0) {
    self->listing = FALSE;
    return;
  }
  l = g_new0 (Listing, 1);
  l->nodes = self;
  l->ids = g_ptr_array_new_with_free_func (g_free);
  argv = g_new0 (const char *, reply->elements + 1);
  argv[0] = "MGET";
  for (gsize i = 0; i < reply->elements; i++) {
    redisReply *e = reply->element[i];
    char *id = e->type == REDIS_REPLY_STRING ?
        g_strndup (e->str, e->len) : NULL;

    if (id && !relay_node_id_is_valid (id)) {
      self->bad_records++;
      g_clear_pointer (&id, g_free);
    }
    if (id == NULL)
      continue;
    g_ptr_array_add (l->ids, id);
    argv[l->ids->len] = g_strconcat (NODE_KEY_PREFIX, id, NULL);
  }
  if (l->ids->len == 0 || !relay_redis_command (self->store, mget_reply, l,
          l->ids->len + 1, argv, NULL)) {
    self->listing = FALSE;
    listing_free (l);
  }
  for (guint i = 1; i <= reply->elements && argv[i]; i++)
    g_free ((char *) argv[i]);
  g_free (argv);
}

void
relay_nodes_beat (RelayNodes * self)
{
  g_autofree char *key = node_key (self->self->id);
  g_autofree char *json = NULL;
  g_autofree char *ttl = g_strdup_printf ("%d", RELAY_NODE_TTL_MS);
  g_autofree char *score = NULL;

  if (self->load_func)
    self->load_func (self->self, self->user_data);
  set_alive_self (self);
  if (self->withdrawn || !relay_redis_is_up (self->store))
    return;
  json = relay_node_to_json (self->self);
  score = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / 1000);
  relay_redis_commandv (self->store, warn_reply, "SET wzp:node:ID", "SET",
      key, json, "PX", ttl, NULL);
  relay_redis_commandv (self->store, warn_reply, "ZADD wzp:nodes", "ZADD",
      NODES_KEY, score, self->self->id, NULL);
  if (!self->listing && relay_redis_commandv (self->store, list_reply, self,
          "ZRANGE", NODES_KEY, "0", "-1", NULL))
    self->listing = TRUE;
}

void
relay_nodes_redis_back (RelayNodes * self)
{
  self->keep_until = wzp_clock_get_time (self->clock) +
      RELAY_NODE_TTL_MS * WZP_NSEC_PER_MSEC;
  relay_nodes_beat (self);
}

static gboolean
beat_cb (gpointer data)
{
  RelayNodes *self = data;

  wzp_timer_source_set_deadline (self->timer,
      wzp_clock_get_time (self->clock) + RELAY_NODE_HEARTBEAT);
  relay_nodes_beat (self);
  return G_SOURCE_CONTINUE;
}

RelayNodes *
relay_nodes_new (RelayRedis * store, const RelayNode * me, WzpClock * clock,
    GMainContext * context, RelayNodesLoadFunc load_func, gpointer user_data)
{
  RelayNodes *self = g_new0 (RelayNodes, 1);

  self->store = store;
  self->clock = g_object_ref (clock);
  self->context = g_main_context_ref (context);
  self->load_func = load_func;
  self->user_data = user_data;
  self->self = relay_node_copy (me);
  self->alive = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) relay_node_free);
  set_alive_self (self);
  return self;
}

void
relay_nodes_start (RelayNodes * self)
{
  if (self->timer)
    return;
  self->timer = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->timer, beat_cb, self, NULL);
  g_source_set_name (self->timer, "wzp cluster heartbeat");
  g_source_attach (self->timer, self->context);
  wzp_timer_source_set_deadline (self->timer, wzp_clock_get_time (self->clock));
}

void
relay_nodes_withdraw (RelayNodes * self)
{
  g_autofree char *key = node_key (self->self->id);

  self->withdrawn = TRUE;
  relay_redis_commandv (self->store, warn_reply, "DEL wzp:node:ID", "DEL",
      key, NULL);
  relay_redis_commandv (self->store, warn_reply, "ZREM wzp:nodes", "ZREM",
      NODES_KEY, self->self->id, NULL);
}

void
relay_nodes_free (RelayNodes * self)
{
  if (self == NULL)
    return;
  if (self->timer) {
    g_source_destroy (self->timer);
    g_source_unref (self->timer);
  }
  g_hash_table_unref (self->alive);
  relay_node_free (self->self);
  g_object_unref (self->clock);
  g_main_context_unref (self->context);
  g_free (self);
}

const RelayNode *
relay_nodes_self (RelayNodes * self)
{
  return self->self;
}

const RelayNode *
relay_nodes_lookup (RelayNodes * self, const char *id)
{
  return id ? g_hash_table_lookup (self->alive, id) : NULL;
}

guint
relay_nodes_count (RelayNodes * self)
{
  return g_hash_table_size (self->alive);
}

GPtrArray *
relay_nodes_list_open (RelayNodes * self)
{
  GPtrArray *a = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->alive);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    RelayNode *n = value;
    if (!n->draining && strcmp (n->id, self->self->id) != 0)
      g_ptr_array_add (a, n);
  }
  return a;
}
