/* wzp — the relay's registration table seen from its helpers: who is
 * registered, how to reach them, error replies (counted by code) and
 * media channel ids
 *
 * The core (wzp-relay.c) changes the table; calls, rooms and probes only
 * read it and send through it.  Nothing here calls into the core or the
 * other helpers, except the cluster for a client registered at another
 * node (its messages go through the cross-node bus).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-relay-cluster.h"
#include "wzp-log-private.h"
#include "wzp-random.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

void
_wzp_relay_send (WzpRelay * self, RelayClient * client, JsonObject * msg)
{
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) error = NULL;

  if (client->remote_node) {
    /* A stub: its node delivers it. */
    relay_cluster_deliver (self->cluster, client->remote_node, client->fp, msg);
    return;
  }
  bytes = wzp_message_to_bytes (msg);
  WZP_LOG_OBJECT (self, "-> %s: %.*s", client->fp,
      (int) MIN (g_bytes_get_size (bytes), 200),
      (const char *) g_bytes_get_data (bytes, NULL));
  if (!wzp_connection_send_message (client->conn, g_bytes_get_data (bytes,
              NULL), g_bytes_get_size (bytes), &error))
    WZP_DEBUG_OBJECT (self, "cannot send to %s: %s", client->fp,
        error->message);
  json_object_unref (msg);
}

RelayClient *
_wzp_relay_lookup (WzpRelay * self, const char *fp)
{
  return g_hash_table_lookup (self->registrations, fp);
}

/* Sends to the current registration of @fp; consumes @msg. */
gboolean
_wzp_relay_send_to (WzpRelay * self, const char *fp, JsonObject * msg)
{
  RelayClient *c = _wzp_relay_lookup (self, fp);

  if (c == NULL && self->cluster) {
    /* Registered at another node, maybe. */
    relay_cluster_deliver (self->cluster, NULL, fp, msg);
    return TRUE;
  }
  if (c == NULL) {
    json_object_unref (msg);
    return FALSE;
  }
  _wzp_relay_send (self, c, msg);
  return TRUE;
}

RelayClient *
_wzp_relay_lookup_media_leg (WzpRelay * self, const char *fp)
{
  return g_hash_table_lookup (self->media_legs, fp);
}

RelayClient *
_wzp_relay_media_target (WzpRelay * self, const char *fp)
{
  RelayClient *c = g_hash_table_lookup (self->registrations, fp);

  return c ? c : g_hash_table_lookup (self->media_legs, fp);
}

guint64
_wzp_relay_client_rtt (RelayClient * c)
{
  WzpConnectionStats st;

  /* A client of another node: its RTT there, plus the bus both ways. */
  if (c->conn == NULL)
    return c->remote_rtt + (c->relay->cluster ?
        2 * relay_cluster_bus_latency (c->relay->cluster) : 0);
  wzp_connection_get_stats (c->conn, &st);
  return st.rtt_ns;
}

RelayClient *
_wzp_relay_stub_dup (RelayClient * c)
{
  RelayClient *stub = g_new0 (RelayClient, 1);

  stub->relay = c->relay;
  stub->fp = g_strdup (c->fp);
  memcpy (stub->public_key, c->public_key, WZP_PUBLIC_KEY_LEN);
  g_strlcpy (stub->observed, c->observed, sizeof stub->observed);
  stub->nat = c->nat;
  stub->registered = TRUE;
  stub->remote_node = g_strdup (c->remote_node);
  stub->remote_rtt = c->conn ? _wzp_relay_client_rtt (c) : c->remote_rtt;
  return stub;
}

void
_wzp_relay_stub_free (RelayClient * stub)
{
  if (stub == NULL)
    return;
  g_free (stub->fp);
  g_free (stub->remote_node);
  g_free (stub);
}

void
_wzp_relay_add_media_relay (WzpRelay * self, JsonObject * msg, const char *fp)
{
  JsonObject *mr;

  if (self->cluster == NULL || _wzp_relay_lookup (self, fp))
    return;
  mr = relay_cluster_media_relay (self->cluster);
  if (mr)
    json_object_set_object_member (msg, "media_relay", mr);
}

static void
count_error (WzpRelay * self, const char *code)
{
  guint64 *n = g_hash_table_lookup (self->error_counts, code);

  if (n == NULL) {
    n = g_new0 (guint64, 1);
    g_hash_table_insert (self->error_counts, g_strdup (code), n);
  }
  (*n)++;
  self->stats.errors_total++;
}

/**
 * _wzp_relay_send_error:
 * @request: (nullable): the message this answers (for its "req")
 */
void
_wzp_relay_send_error (WzpRelay * self, RelayClient * client,
    const char *code, const char *message, JsonObject * request)
{
  guint32 req;
  gint64 re = -1;

  if (request && wzp_message_get_req (request, &req))
    re = req;
  count_error (self, code);
  /* A client sending junk earns one error per message (within its
   * message budget): at most a line per second here, the exact counts are
   * in wzp_relay_errors_total. */
  WZP_INFO_LIMITED (self, &self->error_log, wzp_clock_get_time (self->clock),
      "error to %s (%s): %s: %s", client->fp, client->observed, code, message);
  _wzp_relay_send (self, client, wzp_message_new_error (code, message, re));
}

guint64
wzp_relay_get_error_count (WzpRelay * self, const char *code)
{
  guint64 *n = g_hash_table_lookup (self->error_counts, code);

  return n ? *n : 0;
}

guint32
_wzp_relay_allocate_channel (WzpRelay * self, RelayChannel * owner)
{
  guint32 id;

  do {
    id = wzp_random_u32 ();
  } while (id == 0
      || g_hash_table_contains (self->channels, GUINT_TO_POINTER (id)));
  owner->id = id;
  g_hash_table_insert (self->channels, GUINT_TO_POINTER (id), owner);
  return id;
}
