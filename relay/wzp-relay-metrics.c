/* wzp — the relay's statistics and Prometheus endpoint
 *
 * Names follow Prometheus' conventions: counters end in _total, units are
 * spelled out before it (forwarded_bytes_total), and refusals and limits
 * are labelled by the limit's name, which is also its flag and config key
 * (docs/RELAY.md lists them all).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-relay-cluster.h"
#include "wzp-log-private.h"

#include <string.h>

#ifdef WZP_HAVE_SOUP
#include <libsoup/soup.h>
#endif

#define WZP_CAT_DEFAULT wzp_cat_relay

void
wzp_relay_get_stats (WzpRelay * self, WzpRelayStats * stats)
{
  RelayClusterStats cs;

  g_return_if_fail (WZP_IS_RELAY (self));
  *stats = self->stats;
  if (self->cluster) {
    relay_cluster_get_stats (self->cluster, &cs);
    stats->cluster_nodes = relay_cluster_node_count (self->cluster);
    stats->cluster_calls_out = cs.calls_out;
    stats->cluster_calls_in = cs.calls_in;
  }
}

static void
metric (GString * out, const char *name, const char *type, const char *help,
    guint64 value)
{
  g_string_append_printf (out, "# HELP wzp_relay_%s %s\n"
      "# TYPE wzp_relay_%s %s\nwzp_relay_%s %" G_GUINT64_FORMAT "\n",
      name, help, name, type, name, value);
}

/* The signaling socket's traffic and the admission of new connections
 * (wzp-endpoint-admit.c). */
static void
endpoint_metrics (WzpRelay * self, GString * out)
{
  WzpEndpointStats e = { 0 };

  if (self->endpoint)
    wzp_endpoint_get_stats (self->endpoint, &e);
  metric (out, "udp_receive_packets_total", "counter",
      "UDP packets received on the signaling socket.", e.packets_received);
  metric (out, "udp_receive_bytes_total", "counter",
      "UDP payload bytes received on the signaling socket.", e.bytes_received);
  metric (out, "udp_transmit_packets_total", "counter",
      "UDP packets sent from the signaling socket.", e.packets_sent);
  metric (out, "udp_transmit_bytes_total", "counter",
      "UDP payload bytes sent from the signaling socket.", e.bytes_sent);
  g_string_append_printf (out, "# HELP wzp_relay_udp_dropped_packets_total "
      "UDP packets dropped before any connection saw them, by reason.\n"
      "# TYPE wzp_relay_udp_dropped_packets_total counter\n"
      "wzp_relay_udp_dropped_packets_total{reason=\"not-quic\"} %"
      G_GUINT64_FORMAT "\n"
      "wzp_relay_udp_dropped_packets_total{reason=\"unknown-connection\"} %"
      G_GUINT64_FORMAT "\n"
      "wzp_relay_udp_dropped_packets_total{reason=\"invalid\"} %"
      G_GUINT64_FORMAT "\n"
      "wzp_relay_udp_dropped_packets_total{reason=\"send-failure\"} %"
      G_GUINT64_FORMAT "\n", e.dropped_not_quic, e.dropped_unknown,
      e.dropped_invalid, e.send_failures);
  metric (out, "handshakes_in_progress", "gauge",
      "Accepted QUIC connections that have not finished their handshake.",
      e.handshakes_in_progress);
  metric (out, "connection_sources", "gauge",
      "Sources (IPv4 addresses, IPv6 /64s) with a connection.", e.sources);
  metric (out, "retries_sent_total", "counter",
      "Stateless Retry packets sent (address validation).", e.retries_sent);
  metric (out, "connections_accepted_total", "counter",
      "QUIC connections that finished their handshake.",
      e.connections_accepted);
}

/**
 * wzp_relay_get_media_stats:
 * @worker: a worker's index for its packet counters alone, or G_MAXUINT
 *   for the whole media plane
 */
void
wzp_relay_get_media_stats (WzpRelay * self, guint worker,
    WzpRelayMediaStats * stats)
{
  RelayMediaCounters c = { 0 };

  g_return_if_fail (WZP_IS_RELAY (self));
  memset (stats, 0, sizeof *stats);
  if (self->media)
    relay_media_get_counters (self->media, worker, &c);
  stats->received = c.received;
  stats->received_bytes = c.received_bytes;
  stats->forwarded = c.forwarded;
  stats->forwarded_bytes = c.forwarded_bytes;
  stats->to_quic = c.to_quic;
  stats->binds = c.binds;
  stats->dropped_malformed = c.dropped[RELAY_MEDIA_DROP_MALFORMED];
  stats->dropped_unknown_channel = c.dropped[RELAY_MEDIA_DROP_UNKNOWN_CHANNEL];
  stats->dropped_bad_token = c.dropped[RELAY_MEDIA_DROP_BAD_TOKEN];
  stats->dropped_wrong_source = c.dropped[RELAY_MEDIA_DROP_WRONG_SOURCE];
  stats->dropped_no_peer = c.dropped[RELAY_MEDIA_DROP_NO_PEER];
  stats->dropped_queue_full = c.dropped[RELAY_MEDIA_DROP_QUEUE_FULL];
  stats->dropped_send_failure = c.dropped[RELAY_MEDIA_DROP_SEND_FAILURE];
  stats->channels = self->legs ? relay_legs_count (self->legs) : 0;
  stats->rebinds = self->media_rebinds;
}

/* The media port (wzp-relay-media.c): per worker, so an operator sees how
 * the kernel spreads clients over them. */
static void
media_metrics (WzpRelay * self, GString * out)
{
  guint workers = self->media ? relay_media_get_workers (self->media) : 0;
  RelayMediaCounters all = { 0 };

  if (self->media)
    relay_media_get_counters (self->media, G_MAXUINT, &all);
  metric (out, "media_workers", "gauge",
      "Threads forwarding on the media port.", workers);
  metric (out, "media_channels", "gauge",
      "Media channels open (two per relayed call).",
      self->legs ? relay_legs_count (self->legs) : 0);
  g_string_append (out, "# HELP wzp_relay_media_receive_packets_total UDP "
      "packets read on the media port, by worker.\n"
      "# TYPE wzp_relay_media_receive_packets_total counter\n");
  for (guint i = 0; i < workers; i++) {
    RelayMediaCounters c;
    relay_media_get_counters (self->media, i, &c);
    g_string_append_printf (out, "wzp_relay_media_receive_packets_total"
        "{worker=\"%u\"} %" G_GUINT64_FORMAT "\n", i, c.received);
  }
  metric (out, "media_receive_bytes_total", "counter",
      "UDP payload bytes read on the media port.", all.received_bytes);
  g_string_append_printf (out, "# HELP wzp_relay_media_forwarded_packets_total"
      " Media packets forwarded from the media port: on the receiver's "
      "channel, or on its signaling connection (quic, the fallback).\n"
      "# TYPE wzp_relay_media_forwarded_packets_total counter\n"
      "wzp_relay_media_forwarded_packets_total{via=\"channel\"} %"
      G_GUINT64_FORMAT "\nwzp_relay_media_forwarded_packets_total"
      "{via=\"quic\"} %" G_GUINT64_FORMAT "\n", all.forwarded, all.to_quic);
  metric (out, "media_forwarded_bytes_total", "counter",
      "Bytes of media packets sent on channels.", all.forwarded_bytes);
  metric (out, "media_binds_total", "counter", "Channel BINDs answered.",
      all.binds);
  metric (out, "media_rebinds_total", "counter",
      "Channels unbound by a channel-rebind request.", self->media_rebinds);
  g_string_append (out, "# HELP wzp_relay_media_dropped_packets_total "
      "Packets on the media port not forwarded, by reason.\n"
      "# TYPE wzp_relay_media_dropped_packets_total counter\n");
  for (guint i = 0; i < RELAY_MEDIA_DROP_N; i++)
    g_string_append_printf (out, "wzp_relay_media_dropped_packets_total"
        "{reason=\"%s\"} %" G_GUINT64_FORMAT "\n", relay_media_drop_name (i),
        all.dropped[i]);
}

static void
refusal (GString * out, const char *reason, guint64 n)
{
  g_string_append_printf (out, "wzp_relay_refusals_total{reason=\"%s\"} %"
      G_GUINT64_FORMAT "\n", reason, n);
}

static void
limit (GString * out, const char *name, guint64 value)
{
  g_string_append_printf (out, "wzp_relay_limit{name=\"%s\"} %"
      G_GUINT64_FORMAT "\n", name, value);
}

static guint
get_uint (WzpRelay * self, const char *name)
{
  guint v;

  g_object_get (self, name, &v, NULL);
  return v;
}

/* Every refusal by reason (the endpoint's and the relay's own), and the
 * configured value of every limit, under the limit's name. */
static void
limit_metrics (WzpRelay * self, GString * out)
{
  static const char *const uint_limits[] = {
    "max-connections", "max-connections-per-source", "max-half-open",
    "max-half-open-per-source", "retry-threshold",
    "retry-threshold-per-source", "max-registrations",
    "max-registrations-per-source", "max-pending-probes",
    "max-pending-probes-per-client", "message-rate", "message-burst",
    "max-room-members",
  };
  WzpEndpointStats e = { 0 };
  guint64 timeout_ns, handshake_ns;
  WzpRetryMode retry;

  if (self->endpoint)
    wzp_endpoint_get_stats (self->endpoint, &e);
  g_string_append (out, "# HELP wzp_relay_refusals_total Connections, "
      "registrations, probes and messages refused, by the limit that "
      "refused them.\n# TYPE wzp_relay_refusals_total counter\n");
  refusal (out, "max-connections", e.refused_max_connections);
  refusal (out, "max-connections-per-source", e.refused_connections_per_source);
  refusal (out, "max-half-open", e.refused_max_half_open);
  refusal (out, "max-half-open-per-source", e.refused_half_open_per_source);
  refusal (out, "invalid-token", e.invalid_tokens);
  for (guint i = 0; i < RELAY_REFUSED_N; i++)
    refusal (out, relay_refusal_name (i), self->limits.refusals[i]);

  g_object_get (self, "registration-timeout", &timeout_ns,
      "handshake-timeout", &handshake_ns, "retry", &retry, NULL);
  g_string_append (out, "# HELP wzp_relay_limit The configured limits "
      "(durations in seconds; retry: 0 never, 1 auto, 2 always).\n"
      "# TYPE wzp_relay_limit gauge\n");
  for (guint i = 0; i < G_N_ELEMENTS (uint_limits); i++)
    limit (out, uint_limits[i], get_uint (self, uint_limits[i]));
  g_string_append_printf (out, "wzp_relay_limit{name=\"registration-timeout\"}"
      " %g\nwzp_relay_limit{name=\"handshake-timeout\"} %g\n",
      timeout_ns / 1e9, handshake_ns / 1e9);
  limit (out, "retry", retry);
}

/**
 * wzp_relay_get_refusal_count:
 * @reason: a limit's name ("max-registrations-per-source",
 *   "registration-timeout", ...) or "invalid-token"
 *
 * Returns: how often @reason refused something since the relay was made
 */
guint64
wzp_relay_get_refusal_count (WzpRelay * self, const char *reason)
{
  WzpEndpointStats e = { 0 };

  g_return_val_if_fail (WZP_IS_RELAY (self), 0);
  for (guint i = 0; i < RELAY_REFUSED_N; i++)
    if (g_strcmp0 (reason, relay_refusal_name (i)) == 0)
      return self->limits.refusals[i];
  if (self->endpoint)
    wzp_endpoint_get_stats (self->endpoint, &e);
  if (g_strcmp0 (reason, "max-connections") == 0)
    return e.refused_max_connections;
  if (g_strcmp0 (reason, "max-connections-per-source") == 0)
    return e.refused_connections_per_source;
  if (g_strcmp0 (reason, "max-half-open") == 0)
    return e.refused_max_half_open;
  if (g_strcmp0 (reason, "max-half-open-per-source") == 0)
    return e.refused_half_open_per_source;
  if (g_strcmp0 (reason, "invalid-token") == 0)
    return e.invalid_tokens;
  return 0;
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
  metric (out, "forwarded_bytes_total", "counter",
      "Media bytes forwarded (each delivered copy).", s->bytes_forwarded);
  metric (out, "datagrams_dropped_total", "counter",
      "Media datagrams not forwarded (bad header, unknown channel, sender "
      "not a party, not set up, refused by QUIC).", s->datagrams_dropped);

  metric (out, "probes_pending", "gauge",
      "NAT probes waiting for their raw packet.",
      _wzp_relay_probes_pending (self));
  metric (out, "legs", "gauge", "Media legs: connections of clients "
      "registered at other nodes, for their calls and rooms hosted here.",
      s->media_legs);
  metric (out, "draining", "gauge", "1 while the node drains.",
      self->draining ? 1 : 0);
  if (self->cluster)
    relay_cluster_metrics (self->cluster, out);
  endpoint_metrics (self, out);
  media_metrics (self, out);
  limit_metrics (self, out);
  _wzp_relay_process_metrics (out);

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
