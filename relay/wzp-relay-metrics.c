/* wzp — the relay's statistics and Prometheus endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-log-private.h"

#include <string.h>

#ifdef WZP_HAVE_SOUP
#include <libsoup/soup.h>
#endif

#define WZP_CAT_DEFAULT wzp_cat_relay

void
wzp_relay_get_stats (WzpRelay * self, WzpRelayStats * stats)
{
  g_return_if_fail (WZP_IS_RELAY (self));
  *stats = self->stats;
}

static void
metric (GString * out, const char *name, const char *type, const char *help,
    guint64 value)
{
  g_string_append_printf (out, "# HELP wzp_relay_%s %s\n"
      "# TYPE wzp_relay_%s %s\nwzp_relay_%s %" G_GUINT64_FORMAT "\n",
      name, help, name, type, name, value);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/**
 * wzp_relay_metrics_text:
 *
 * Returns: (transfer full): the relay's metrics in the Prometheus text
 * exposition format (version 0.0.4)
 */
char *
wzp_relay_metrics_text (WzpRelay * self)
{
  GString *out = g_string_new (NULL);
  WzpRelayStats *s = &self->stats;
  g_autoptr (GPtrArray) codes = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;

  metric (out, "connections", "gauge", "Open signaling connections.",
      s->connections);
  metric (out, "registrations", "gauge", "Identities registered now.",
      s->registrations);
  metric (out, "registrations_total", "counter",
      "Successful registrations.", s->registrations_total);
  metric (out, "registrations_superseded_total", "counter",
      "Registrations replaced by a newer connection of the same identity.",
      s->registrations_superseded);
  metric (out, "registrations_refused_total", "counter",
      "Registrations refused (bad signature or identity mismatch).",
      s->registrations_refused);
  metric (out, "calls_ringing", "gauge", "Calls ringing now.",
      s->calls_ringing);
  metric (out, "calls_active", "gauge", "Calls set up now.", s->calls_active);
  metric (out, "calls_total", "counter", "Calls placed (that rang).",
      s->calls_total);
  metric (out, "rooms", "gauge", "Rooms now.", s->rooms);
  metric (out, "room_members", "gauge", "Members of all rooms now.",
      s->room_members);
  metric (out, "messages_received_total", "counter",
      "Signaling messages received.", s->messages_received);
  metric (out, "probes_answered_total", "counter",
      "NAT-type probes answered.", s->probes_answered);
  metric (out, "datagrams_forwarded_total", "counter",
      "Media datagrams forwarded (each delivered copy).",
      s->datagrams_forwarded);
  metric (out, "bytes_forwarded_total", "counter",
      "Media bytes forwarded (each delivered copy).", s->bytes_forwarded);
  metric (out, "datagrams_dropped_total", "counter",
      "Media datagrams not forwarded (bad header, unknown channel, sender "
      "not a party, not set up, refused by QUIC).", s->datagrams_dropped);

  g_string_append (out, "# HELP wzp_relay_errors_total Error replies sent, "
      "by code.\n# TYPE wzp_relay_errors_total counter\n");
  g_hash_table_iter_init (&it, self->error_counts);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (codes, key);
  g_ptr_array_sort (codes, compare_strings);
  for (guint i = 0; i < codes->len; i++) {
    const char *code = g_ptr_array_index (codes, i);
    g_string_append_printf (out, "wzp_relay_errors_total{code=\"%s\"} %"
        G_GUINT64_FORMAT "\n", code, wzp_relay_get_error_count (self, code));
  }
  return g_string_free (out, FALSE);
}

/**
 * wzp_relay_get_metrics_address:
 *
 * Returns: (transfer full) (nullable): where GET /metrics is served
 */
GSocketAddress *
wzp_relay_get_metrics_address (WzpRelay * self)
{
  return self->metrics_bound ? g_object_ref (self->metrics_bound) : NULL;
}

#ifdef WZP_HAVE_SOUP

static void
serve_metrics (SoupServer * server, SoupServerMessage * msg,
    const char *path, GHashTable * query, gpointer user_data)
{
  WzpRelay *self = user_data;
  char *text;

  if (strcmp (soup_server_message_get_method (msg), "GET") != 0 &&
      strcmp (soup_server_message_get_method (msg), "HEAD") != 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
    return;
  }
  if (strcmp (path, "/metrics") != 0) {
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    return;
  }
  text = wzp_relay_metrics_text (self);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4",
      SOUP_MEMORY_TAKE, text, strlen (text));
}

gboolean
_wzp_relay_metrics_start (WzpRelay * self, GError ** error)
{
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GError) local = NULL;
  SoupServer *server;
  GSList *listeners;
  gboolean ok;

  addr = wzp_socket_address_parse (self->metrics_address, &local);
  if (addr == NULL) {
    g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_ADDRESS,
        "bad metrics address '%s': %s", self->metrics_address, local->message);
    return FALSE;
  }
  server = soup_server_new ("server-header", "wzp-relay", NULL);
  soup_server_add_handler (server, NULL, serve_metrics, self, NULL);
  /* libsoup attaches its sources to the thread-default context. */
  g_main_context_push_thread_default (self->context);
  ok = soup_server_listen (server, addr, 0, &local);
  g_main_context_pop_thread_default (self->context);
  if (!ok) {
    g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_METRICS,
        "cannot serve metrics on %s: %s", self->metrics_address,
        local->message);
    g_object_unref (server);
    return FALSE;
  }
  listeners = soup_server_get_listeners (server);
  if (listeners)
    self->metrics_bound = g_socket_get_local_address (listeners->data, NULL);
  g_slist_free (listeners);
  self->metrics_server = server;
  {
    g_autofree char *where = wzp_socket_address_to_string (self->metrics_bound);
    WZP_INFO_OBJECT (self, "metrics on http://%s/metrics", where);
  }
  return TRUE;
}

void
_wzp_relay_metrics_stop (WzpRelay * self)
{
  if (self->metrics_server) {
    soup_server_disconnect (self->metrics_server);
    g_clear_object (&self->metrics_server);
  }
  g_clear_object (&self->metrics_bound);
}

#else

gboolean
_wzp_relay_metrics_start (WzpRelay * self, GError ** error)
{
  g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_METRICS,
      "this build has no metrics endpoint (libsoup 3 was not found)");
  return FALSE;
}

void
_wzp_relay_metrics_stop (WzpRelay * self)
{
}

#endif
