/* wzp — the client side of signaling
 *
 * This file: the object, the connection to the relay and reconnecting,
 * and the public API.  The NAT probe and the handling of incoming
 * messages are in wzp-signal-client-handlers.c; what both share is in
 * wzp-signal-client-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-signal-client-private.h"
#include "wzp-message.h"
#include "wzp-channel.h"
#include "wzp-address.h"
#include "wzp-random.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_signal

GParamSpec *_wzp_signal_client_props[N_PROPS];
guint _wzp_signal_client_signals[N_SIGNALS];

G_DEFINE_TYPE (WzpSignalClient, wzp_signal_client, G_TYPE_OBJECT);

GQuark
wzp_signal_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-signal-error-quark");
  return q;
}

GType
wzp_signal_state_get_type (void)
{
  static gsize type;
  static const GEnumValue values[] = {
    {WZP_SIGNAL_STATE_DISCONNECTED, "WZP_SIGNAL_STATE_DISCONNECTED",
        "disconnected"},
    {WZP_SIGNAL_STATE_CONNECTING, "WZP_SIGNAL_STATE_CONNECTING",
        "connecting"},
    {WZP_SIGNAL_STATE_REGISTERED, "WZP_SIGNAL_STATE_REGISTERED",
        "registered"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpSignalState",
            values));
  return type;
}

const char *
wzp_signal_state_to_string (WzpSignalState state)
{
  switch (state) {
    case WZP_SIGNAL_STATE_DISCONNECTED:
      return "disconnected";
    case WZP_SIGNAL_STATE_CONNECTING:
      return "connecting";
    case WZP_SIGNAL_STATE_REGISTERED:
      return "registered";
  }
  return "?";
}

/* --- WzpCallSetup ----------------------------------------------------- */

WzpCallSetup *
wzp_call_setup_copy (const WzpCallSetup * s)
{
  WzpCallSetup *c = g_new0 (WzpCallSetup, 1);

  c->call_id = g_strdup (s->call_id);
  c->peer_fingerprint = g_strdup (s->peer_fingerprint);
  c->peer_public_key = s->peer_public_key ?
      g_bytes_ref (s->peer_public_key) : NULL;
  c->peer_blob = s->peer_blob ? json_object_ref (s->peer_blob) : NULL;
  c->peer_reflexive = s->peer_reflexive ?
      g_object_ref (s->peer_reflexive) : NULL;
  c->channel = s->channel;
  c->role = g_strdup (s->role);
  c->peer_nat = s->peer_nat;
  return c;
}

void
wzp_call_setup_free (WzpCallSetup * s)
{
  if (s == NULL)
    return;
  g_free (s->call_id);
  g_free (s->peer_fingerprint);
  g_clear_pointer (&s->peer_public_key, g_bytes_unref);
  g_clear_pointer (&s->peer_blob, json_object_unref);
  g_clear_object (&s->peer_reflexive);
  g_free (s->role);
  g_free (s);
}

G_DEFINE_BOXED_TYPE (WzpCallSetup, wzp_call_setup, wzp_call_setup_copy,
    wzp_call_setup_free);

/* --- helpers ---------------------------------------------------------- */

WzpClock *
_wzp_signal_client_get_clock (WzpSignalClient * self)
{
  return wzp_endpoint_get_clock (self->endpoint);
}

void
_wzp_signal_client_set_state (WzpSignalClient * self, WzpSignalState state)
{
  if (self->state == state)
    return;
  WZP_INFO_OBJECT (self, "%s -> %s", wzp_signal_state_to_string
      (self->state), wzp_signal_state_to_string (state));
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self),
      _wzp_signal_client_props[PROP_STATE]);
  g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_STATE_CHANGED], 0,
      state);
}

void
_wzp_signal_client_emit_error (WzpSignalClient * self, GError * error)
{
  WZP_WARNING_OBJECT (self, "%s", error->message);
  g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_ERROR], 0, error);
  g_error_free (error);
}

gboolean
_wzp_signal_client_send_msg (WzpSignalClient * self, JsonObject * msg,
    gboolean need_registered, GError ** error)
{
  g_autoptr (GBytes) bytes = NULL;
  gboolean ok;

  if (self->conn == NULL || (need_registered &&
          self->state != WZP_SIGNAL_STATE_REGISTERED)) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_NOT_REGISTERED,
        "not registered with the relay");
    json_object_unref (msg);
    return FALSE;
  }
  wzp_message_set_req (msg, ++self->next_req);
  bytes = wzp_message_to_bytes (msg);
  json_object_unref (msg);
  if (g_bytes_get_size (bytes) > WZP_MESSAGE_MAX_SIZE) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "message of %" G_GSIZE_FORMAT " bytes is too large",
        g_bytes_get_size (bytes));
    return FALSE;
  }
  WZP_LOG_OBJECT (self, "-> %.*s", (int) MIN (g_bytes_get_size (bytes), 200),
      (const char *) g_bytes_get_data (bytes, NULL));
  ok = wzp_connection_send_message (self->conn, g_bytes_get_data (bytes,
          NULL), g_bytes_get_size (bytes), error);
  return ok;
}

static gboolean
check_opaque (JsonObject * obj, gsize max, const char *what, GError ** error)
{
  if (obj && wzp_json_object_serialized_size (obj) > max) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "%s is larger than %" G_GSIZE_FORMAT " bytes", what, max);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_call_id (const char *call_id, GError ** error)
{
  if (!wzp_call_id_is_valid (call_id)) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "'%s' is not a call id (32 hex digits)", call_id ? call_id : "(null)");
    return FALSE;
  }
  return TRUE;
}

/* --- connection lifecycle --------------------------------------------- */

static void connect_now (WzpSignalClient * self);

void
_wzp_signal_client_cancel_timer (GSource ** timer)
{
  if (*timer) {
    g_source_destroy (*timer);
    g_source_unref (*timer);
    *timer = NULL;
  }
}

/* Bounds on the RTT a redial assumes: below 10 ms the relay's own work on
 * a handshake (a signature, a certificate) looks like loss. */
#define REDIAL_RTT_MIN (10 * WZP_NSEC_PER_MSEC)
#define REDIAL_RTT_MAX (1 * WZP_NSEC_PER_SEC)

static void
remember_rtt (WzpSignalClient * self, WzpConnection * conn)
{
  WzpConnectionStats st;

  wzp_connection_get_stats (conn, &st);
  if (st.rtt_ns > 0)
    self->relay_rtt = CLAMP (st.rtt_ns, REDIAL_RTT_MIN, REDIAL_RTT_MAX);
}

static void
drop_connection (WzpSignalClient * self, const char *reason)
{
  WzpConnection *conn = self->conn;

  _wzp_signal_client_cancel_timer (&self->silence_timer);
  if (conn == NULL)
    return;
  self->conn = NULL;
  remember_rtt (self, conn);
  g_signal_handler_disconnect (conn, self->message_id);
  g_signal_handler_disconnect (conn, self->closed_id);
  g_clear_signal_handler (&self->connected_id, conn);
  wzp_connection_set_datagram_handler (conn, NULL, NULL, NULL);
  if (reason)
    wzp_connection_close (conn, WZP_CLOSE_NORMAL, reason);
  g_object_unref (conn);
}

static gboolean
reconnect_cb (gpointer data)
{
  WzpSignalClient *self = data;

  g_clear_pointer (&self->reconnect_timer, g_source_unref);
  if (self->started && self->conn == NULL)
    connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (WzpSignalClient * self)
{
  if (!self->started || self->reconnect_timer)
    return;
  WZP_INFO_OBJECT (self, "reconnecting in %" G_GUINT64_FORMAT " ms",
      self->backoff / WZP_NSEC_PER_MSEC);
  self->reconnect_timer =
      wzp_clock_timeout_add (_wzp_signal_client_get_clock (self),
      wzp_endpoint_get_context (self->endpoint), self->backoff, reconnect_cb,
      self, NULL);
  self->backoff = MIN (self->backoff * 2, self->reconnect_max);
}

/* Ends for good: superseded or refused.  No reconnect. */
void
_wzp_signal_client_give_up (WzpSignalClient * self, WzpSignalError code,
    const char *message)
{
  g_object_ref (self);
  self->started = FALSE;
  _wzp_signal_client_cancel_timer (&self->reconnect_timer);
  _wzp_signal_client_cancel_timer (&self->probe_timer);
  drop_connection (self, NULL);
  _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_DISCONNECTED);
  _wzp_signal_client_emit_error (self, g_error_new (WZP_SIGNAL_ERROR, code,
          "%s", message));
  g_object_unref (self);
}

static char *
relay_text (WzpSignalClient * self)
{
  return wzp_socket_address_to_string (self->relay);
}

static gboolean
same_address (GSocketAddress * a, GSocketAddress * b)
{
  WzpAddr x, y;

  return wzp_addr_from_gsocketaddress (&x, a) &&
      wzp_addr_from_gsocketaddress (&y, b) && wzp_addr_equal (&x, &y);
}

static gint
find_relay (WzpSignalClient * self, GSocketAddress * relay)
{
  for (guint i = 0; i < self->relays->len; i++)
    if (same_address (g_ptr_array_index (self->relays, i), relay))
      return i;
  return -1;
}

/* The next dial goes to the next relay of the list (the same one when
 * there is only one). */
static void
next_relay (WzpSignalClient * self, const char *why)
{
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;

  if (self->relays->len < 2)
    return;
  from = relay_text (self);
  self->relay_index = (self->relay_index + 1) % self->relays->len;
  g_set_object (&self->relay, g_ptr_array_index (self->relays,
          self->relay_index));
  to = relay_text (self);
  WZP_INFO_OBJECT (self, "%s: leaving the relay at %s for %s", why, from, to);
  g_object_notify_by_pspec (G_OBJECT (self),
      _wzp_signal_client_props[PROP_RELAY_ADDRESS]);
}

/**
 * wzp_signal_client_add_relay:
 * @relay: another relay (node of the same cluster) to try when the ones
 *   before it fail
 *
 * Appends @relay to the relays this client tries in turn; an address it
 * knows already is ignored, as is any beyond %WZP_SIGNAL_MAX_RELAYS.
 */
void
wzp_signal_client_add_relay (WzpSignalClient * self, GSocketAddress * relay)
{
  g_return_if_fail (WZP_IS_SIGNAL_CLIENT (self));
  g_return_if_fail (G_IS_INET_SOCKET_ADDRESS (relay));

  if (self->relays->len >= WZP_SIGNAL_MAX_RELAYS || find_relay (self,
          relay) >= 0)
    return;
  g_ptr_array_add (self->relays, g_object_ref (relay));
  if (self->relay == NULL)
    self->relay = g_object_ref (relay);
}

guint
wzp_signal_client_get_n_relays (WzpSignalClient * self)
{
  return self->relays->len;
}

/* Relays a draining relay named ("move"): tried right after the current
 * one, in their order, then the others as before.  The list becomes
 * [current, named..., the rest from after current on]. */
void
_wzp_signal_client_insert_relays (WzpSignalClient * self, GPtrArray * addresses)
{
  GPtrArray *order = g_ptr_array_new_with_free_func (g_object_unref);
  guint n = self->relays->len;

  g_ptr_array_add (order, g_object_ref (self->relay));
  for (guint i = 0; i < addresses->len; i++) {
    GSocketAddress *a = g_ptr_array_index (addresses, i);
    gboolean known = FALSE;

    for (guint j = 0; j < order->len && !known; j++)
      known = same_address (g_ptr_array_index (order, j), a);
    if (!known && order->len < WZP_SIGNAL_MAX_RELAYS)
      g_ptr_array_add (order, g_object_ref (a));
  }
  for (guint k = 1; k < n; k++) {
    GSocketAddress *a = g_ptr_array_index (self->relays,
        (self->relay_index + k) % n);
    gboolean known = FALSE;

    for (guint j = 0; j < order->len && !known; j++)
      known = same_address (g_ptr_array_index (order, j), a);
    if (!known && order->len < WZP_SIGNAL_MAX_RELAYS)
      g_ptr_array_add (order, g_object_ref (a));
  }
  g_ptr_array_unref (self->relays);
  self->relays = order;
  self->relay_index = 0;
}

/* The handshake failed in a way no redial can change: the relay is not
 * who we pinned, or it refused our certificate.  Message for the user. */
static char *
refusal_text (WzpSignalClient * self, WzpConnection * conn,
    const GError * reason, WzpSignalError * code)
{
  g_autofree char *where = relay_text (self);
  const char *actual = wzp_connection_get_peer_fingerprint (conn);

  if (g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_REJECTED_BY_PEER)) {
    *code = WZP_SIGNAL_ERROR_REFUSED;
    return g_strdup_printf ("the relay at %s refused our TLS handshake: %s",
        where, reason->message);
  }
  *code = WZP_SIGNAL_ERROR_RELAY_IDENTITY;
  if (actual && self->relay_fingerprint)
    return g_strdup_printf ("the relay at %s has the identity %s, but "
        "relay-fingerprint expects %s", where, actual, self->relay_fingerprint);
  return g_strdup_printf ("the relay at %s presented an unacceptable "
      "certificate: %s", where, reason->message);
}

static void
on_closed (WzpConnection * conn, const GError * reason, gpointer user_data)
{
  WzpSignalClient *self = user_data;
  guint64 code = 0;
  gboolean was_registered = self->state == WZP_SIGNAL_STATE_REGISTERED;

  g_object_ref (self);
  WZP_INFO_OBJECT (self, "signaling connection closed: %s", reason->message);
  if (g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_CLOSED))
    wzp_connection_get_peer_close_code (conn, &code);
  if (g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_CLOSED) &&
      (code == WZP_CLOSE_SUPERSEDED || code == WZP_CLOSE_REFUSED)) {
    _wzp_signal_client_give_up (self, code == WZP_CLOSE_SUPERSEDED ?
        WZP_SIGNAL_ERROR_SUPERSEDED : WZP_SIGNAL_ERROR_REFUSED,
        reason->message);
  } else if (g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_REJECTED) ||
      g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_REJECTED_BY_PEER)) {
    WzpSignalError why;
    g_autofree char *text = refusal_text (self, conn, reason, &why);
    _wzp_signal_client_give_up (self, why, text);
  } else {
    gboolean reset = g_error_matches (reason, WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_RESET);
    gboolean draining = g_error_matches (reason, WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_PEER_CLOSED) && code == WZP_CLOSE_SHUTDOWN;

    drop_connection (self, NULL);
    _wzp_signal_client_cancel_timer (&self->probe_timer);
    self->probing = FALSE;
    _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_DISCONNECTED);
    if (was_registered) {
      g_autofree char *where = relay_text (self);
      g_autoptr (GError) lost = g_error_new (WZP_SIGNAL_ERROR,
          WZP_SIGNAL_ERROR_CONNECTION_LOST, "lost the relay at %s: %s",
          where, reason->message);
      WZP_WARNING_OBJECT (self, "%s", lost->message);
      g_signal_emit (self,
          _wzp_signal_client_signals[SIGNAL_CONNECTION_LOST], 0, lost);
    }
    /* A relay that reset our connection restarted and is there now; one
     * that went silent, or that we could not reach, may be gone: try the
     * next one.  One that drains sent us away: the next one, at once. */
    if (reset || draining)
      self->backoff = self->reconnect_initial;
    if (!reset)
      next_relay (self, draining ? "the relay drains" : was_registered ?
          "lost the relay" : "cannot reach the relay");
    schedule_reconnect (self);
  }
  g_object_unref (self);
}

/* Registers the moment the handshake is done, bound to this connection's
 * TLS exporter value: the message leaves with our last handshake flight,
 * a round trip before the relay's hello (and its challenge) could arrive
 * (PROTOCOL.md §3). */
static void
on_connected (WzpConnection * conn, gpointer user_data)
{
  WzpSignalClient *self = user_data;
  WzpIdentity *id = self->identity ? self->identity :
      wzp_endpoint_get_identity (self->endpoint);
  guint8 binding[WZP_REGISTER_BINDING_LEN];
  g_autoptr (GError) error = NULL;

  if (!wzp_connection_export_keying_material (conn,
          WZP_REGISTER_EXPORTER_LABEL, binding, sizeof binding, &error)) {
    WZP_DEBUG_OBJECT (self, "no exporter (%s): registering on the relay's "
        "challenge", error->message);
    return;
  }
  if (_wzp_signal_client_send_msg (self, wzp_message_new_register_bound (id,
              binding), FALSE, NULL)) {
    self->register_sent = TRUE;
    g_signal_emit (self,
        _wzp_signal_client_signals[SIGNAL_REGISTRATION_SENT], 0);
  }
}

/* How often the silence of the relay is looked at. */
#define SILENCE_CHECK (250 * WZP_NSEC_PER_MSEC)

/* The client counts the relay's silence itself (wzp-connection-silence.c
 * says why): a cluster client must be registered somewhere else within
 * 5 s of a node's death, and QUIC alone would tell it up to 4 s after.
 * idle-timeout without a packet from the relay (which answers every
 * keep-alive) and the connection is lost. */
static gboolean
watch_silence (gpointer data)
{
  WzpSignalClient *self = data;
  guint64 now = wzp_clock_get_time (_wzp_signal_client_get_clock (self));

  wzp_timer_source_set_deadline (self->silence_timer, now + SILENCE_CHECK);
  if (self->conn == NULL ||
      wzp_connection_get_state (self->conn) != WZP_CONNECTION_STATE_CONNECTED)
    return G_SOURCE_CONTINUE;
  if (wzp_connection_silence_update (&self->silence, self->conn, now) <
      self->idle_timeout)
    return G_SOURCE_CONTINUE;
  WZP_INFO_OBJECT (self, "nothing heard from the relay for %" G_GUINT64_FORMAT
      " ms: closing the connection", self->idle_timeout / WZP_NSEC_PER_MSEC);
  /* Emits "closed" (on_closed) before it returns. */
  wzp_connection_close (self->conn, WZP_CLOSE_NORMAL,
      "nothing heard from the relay");
  return G_SOURCE_CONTINUE;
}

static void
start_silence_watch (WzpSignalClient * self)
{
  WzpClock *clock = _wzp_signal_client_get_clock (self);

  _wzp_signal_client_cancel_timer (&self->silence_timer);
  wzp_connection_silence_reset (&self->silence, wzp_clock_get_time (clock));
  self->silence_timer = wzp_timer_source_new (clock);
  g_source_set_callback (self->silence_timer, watch_silence, self, NULL);
  g_source_set_name (self->silence_timer, "WzpSignalClient silence");
  g_source_attach (self->silence_timer,
      wzp_endpoint_get_context (self->endpoint));
  wzp_timer_source_set_deadline (self->silence_timer, self->silence.since +
      SILENCE_CHECK);
}

/* A media leg is ready when its handshake is done. */
static void
on_leg_connected (WzpConnection * conn, gpointer user_data)
{
  WzpSignalClient *self = user_data;

  g_object_ref (self);
  remember_rtt (self, conn);
  self->backoff = self->reconnect_initial;
  _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_REGISTERED);
  g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_REGISTERED], 0, NULL);
  g_object_unref (self);
}

static void
connect_now (WzpSignalClient * self)
{
  g_autoptr (GError) error = NULL;
  WzpConnectParams params;

  wzp_connect_params_init (&params);
  params.expected_fingerprint = self->relay_fingerprint;
  params.identity = self->identity;
  params.initial_rtt_ns = self->relay_rtt;
  params.keep_alive_ns = self->keep_alive ? self->keep_alive : WZP_TIME_NONE;
  params.idle_timeout_ns = self->idle_timeout;
  params.handshake_timeout_ns = WZP_SIGNAL_HANDSHAKE_TIMEOUT;
  self->conn = wzp_endpoint_connect_full (self->endpoint, self->relay,
      &params, &error);
  if (self->conn == NULL) {
    WZP_WARNING_OBJECT (self, "cannot dial the relay: %s", error->message);
    _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_DISCONNECTED);
    next_relay (self, "cannot dial the relay");
    schedule_reconnect (self);
    return;
  }
  self->message_id = g_signal_connect (self->conn, "message",
      G_CALLBACK (_wzp_signal_client_on_message), self);
  self->closed_id = g_signal_connect (self->conn, "closed",
      G_CALLBACK (on_closed), self);
  self->register_sent = FALSE;
  wzp_connection_set_datagram_handler (self->conn,
      _wzp_signal_client_on_datagram, self, NULL);
  _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_CONNECTING);
  if (self->keep_alive && self->keep_alive < self->idle_timeout)
    start_silence_watch (self);
  if (self->media_leg) {
    /* No challenge to wait for: the handshake proves who we are, and the
     * message rides with our last handshake flight, before our media. */
    self->connected_id = g_signal_connect (self->conn, "connected",
        G_CALLBACK (on_leg_connected), self);
    _wzp_signal_client_send_msg (self, wzp_message_new_leg (), FALSE, NULL);
  } else {
    /* Registers as the handshake ends (bound to its TLS exporter). */
    self->connected_id = g_signal_connect (self->conn, "connected",
        G_CALLBACK (on_connected), self);
  }
}

/* --- public API ------------------------------------------------------- */

/**
 * wzp_signal_client_new:
 * @endpoint: the endpoint (socket) to use; bound by the caller
 * @relay: the relay's signaling address
 * @relay_fingerprint: (nullable): pin the relay's identity
 */
WzpSignalClient *
wzp_signal_client_new (WzpEndpoint * endpoint, GSocketAddress * relay,
    const char *relay_fingerprint)
{
  return g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint", endpoint,
      "relay-address", relay, "relay-fingerprint", relay_fingerprint, NULL);
}

gboolean
wzp_signal_client_start (WzpSignalClient * self, GError ** error)
{
  g_return_val_if_fail (WZP_IS_SIGNAL_CLIENT (self), FALSE);

  if (self->relay == NULL || !G_IS_INET_SOCKET_ADDRESS (self->relay)) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "no relay address");
    return FALSE;
  }
  if (self->started)
    return TRUE;
  self->started = TRUE;
  self->backoff = self->reconnect_initial;
  connect_now (self);
  return TRUE;
}

void
wzp_signal_client_stop (WzpSignalClient * self)
{
  g_return_if_fail (WZP_IS_SIGNAL_CLIENT (self));

  self->started = FALSE;
  self->probing = FALSE;
  _wzp_signal_client_cancel_timer (&self->reconnect_timer);
  _wzp_signal_client_cancel_timer (&self->probe_timer);
  _wzp_signal_client_channels_clear (self);
  drop_connection (self, "bye");
  _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_DISCONNECTED);
}

WzpSignalState
wzp_signal_client_get_state (WzpSignalClient * self)
{
  return self->state;
}

/**
 * wzp_signal_client_get_observed_address:
 *
 * Returns: (transfer full) (nullable): our address as the relay sees it
 */
GSocketAddress *
wzp_signal_client_get_observed_address (WzpSignalClient * self)
{
  return self->observed ? g_object_ref (self->observed) : NULL;
}

WzpNatType
wzp_signal_client_get_nat_type (WzpSignalClient * self)
{
  return self->nat_type;
}

/**
 * wzp_signal_client_get_connection:
 *
 * Returns: (transfer none) (nullable): the current signaling connection
 */
WzpConnection *
wzp_signal_client_get_connection (WzpSignalClient * self)
{
  return self->conn;
}

const char *
wzp_signal_client_get_relay_fingerprint (WzpSignalClient * self)
{
  if (self->conn && wzp_connection_get_peer_fingerprint (self->conn))
    return wzp_connection_get_peer_fingerprint (self->conn);
  return self->relay_fingerprint;
}

/**
 * wzp_signal_client_reflect:
 *
 * Asks the relay for our observed address again;
 * #WzpSignalClient:observed-address is notified with the answer.
 */
gboolean
wzp_signal_client_reflect (WzpSignalClient * self, GError ** error)
{
  return _wzp_signal_client_send_msg (self, wzp_message_new_reflect (), TRUE,
      error);
}

/* A relay media channel stopped answering (wzp-signal-client-channels.c):
 * ask the relay, over this connection, to bind it again. */
static void
ask_rebind (WzpSignalClient * self, guint32 channel)
{
  g_autoptr (GError) error = NULL;

  if (!_wzp_signal_client_send_msg (self,
          wzp_message_new_channel_rebind (channel), TRUE, &error))
    WZP_DEBUG_OBJECT (self, "cannot ask to re-bind channel %u: %s", channel,
        error->message);
  else
    WZP_INFO_OBJECT (self, "relay channel %u stopped answering: asked the "
        "relay to bind it again", channel);
}

/**
 * wzp_signal_client_place_call:
 * @call_id: (nullable): 32 hex digits, or %NULL to make a random one
 * @offer: the call layer's offer (opaque to the relay, at most
 *   %WZP_MESSAGE_MAX_OPAQUE bytes as JSON)
 *
 * Returns: (transfer full) (nullable): the call id
 */
char *
wzp_signal_client_place_call (WzpSignalClient * self,
    const char *callee_fingerprint, const char *call_id, JsonObject * offer,
    GError ** error)
{
  g_autofree char *fp = NULL;
  g_autofree char *id = NULL;
  g_autoptr (JsonObject) empty = NULL;

  g_return_val_if_fail (WZP_IS_SIGNAL_CLIENT (self), NULL);
  fp = wzp_fingerprint_normalize (callee_fingerprint, NULL);
  if (fp == NULL) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "'%s' is not a fingerprint",
        callee_fingerprint ? callee_fingerprint : "(null)");
    return NULL;
  }
  if (call_id && !check_call_id (call_id, error))
    return NULL;
  if (offer == NULL)
    offer = empty = json_object_new ();
  if (!check_opaque (offer, WZP_MESSAGE_MAX_OPAQUE, "the offer", error))
    return NULL;
  id = call_id ? g_ascii_strdown (call_id, -1) :
      wzp_random_hex (WZP_CALL_ID_BYTES);
  /* Right behind a bound registration (the relay reads in order), or
   * once registered. */
  if (!_wzp_signal_client_send_msg (self, wzp_message_new_call (fp, id, offer),
          !self->register_sent, error))
    return NULL;
  return g_steal_pointer (&id);
}

gboolean
wzp_signal_client_answer (WzpSignalClient * self, const char *call_id,
    JsonObject * answer, GError ** error)
{
  g_autoptr (JsonObject) empty = NULL;

  if (!check_call_id (call_id, error))
    return FALSE;
  if (answer == NULL)
    answer = empty = json_object_new ();
  if (!check_opaque (answer, WZP_MESSAGE_MAX_OPAQUE, "the answer", error))
    return FALSE;
  return _wzp_signal_client_send_msg (self, wzp_message_new_answer (call_id,
          answer), TRUE, error);
}

gboolean
wzp_signal_client_reject (WzpSignalClient * self, const char *call_id,
    GError ** error)
{
  if (!check_call_id (call_id, error))
    return FALSE;
  return _wzp_signal_client_send_msg (self, wzp_message_new_reject (call_id),
      TRUE, error);
}

gboolean
wzp_signal_client_hangup (WzpSignalClient * self, const char *call_id,
    GError ** error)
{
  if (!check_call_id (call_id, error))
    return FALSE;
  return _wzp_signal_client_send_msg (self, wzp_message_new_hangup (call_id),
      TRUE, error);
}

/**
 * wzp_signal_client_update_candidates:
 * @call_id: a call that is set up
 * @candidates: (array zero-terminated=1): our host candidates now
 *   ("ip:port", at most %WZP_MESSAGE_MAX_CANDIDATES)
 * @nat: our NAT's mapping behaviour now
 *
 * Tells the peer, through the relay, that our network changed mid-call;
 * the relay adds the address it sees us at now (PROTOCOL.md §5).
 */
gboolean
wzp_signal_client_update_candidates (WzpSignalClient * self,
    const char *call_id, const char *const *candidates, WzpNatType nat,
    GError ** error)
{
  if (!check_call_id (call_id, error))
    return FALSE;
  if (candidates && g_strv_length ((char **) candidates) >
      WZP_MESSAGE_MAX_CANDIDATES) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "more than %d candidates", WZP_MESSAGE_MAX_CANDIDATES);
    return FALSE;
  }
  return _wzp_signal_client_send_msg (self,
      wzp_message_new_update_candidates (call_id, candidates,
          wzp_nat_type_to_string (nat)), TRUE, error);
}

/**
 * wzp_signal_client_resume_call:
 * @peer: the other party
 * @peer_public_key: its Ed25519 key (32 bytes)
 * @we_called: whether we are the caller
 * @proof: the call id and both signatures of the offer and answer
 *
 * Asks the relay to carry the relay leg of an active call again, after we
 * reconnected (the relay may have restarted and forgotten it).  The relay
 * answers call-resumed (#WzpSignalClient::call-resumed) with the media
 * channel once both parties asked, or call-ended.
 */
gboolean
wzp_signal_client_resume_call (WzpSignalClient * self, const char *peer,
    const guint8 * peer_public_key, gboolean we_called,
    const WzpCallProof * proof, GError ** error)
{
  g_autofree char *fp = NULL;

  g_return_val_if_fail (WZP_IS_SIGNAL_CLIENT (self), FALSE);
  g_return_val_if_fail (proof != NULL && peer_public_key != NULL, FALSE);

  fp = wzp_fingerprint_normalize (peer, NULL);
  if (fp == NULL) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "'%s' is not a fingerprint", peer ? peer : "(null)");
    return FALSE;
  }
  return _wzp_signal_client_send_msg (self, wzp_message_new_resume_call
      (fp, peer_public_key, we_called, proof), TRUE, error);
}

/**
 * wzp_signal_client_join_room:
 * @key_blob: (nullable): given to the other members (at most
 *   %WZP_MESSAGE_MAX_KEY_BLOB bytes as JSON)
 */
gboolean
wzp_signal_client_join_room (WzpSignalClient * self, const char *room,
    JsonObject * key_blob, GError ** error)
{
  if (room == NULL || *room == '\0' || strlen (room) > WZP_MESSAGE_MAX_ROOM_LEN) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
        "bad room name");
    return FALSE;
  }
  if (!check_opaque (key_blob, WZP_MESSAGE_MAX_KEY_BLOB, "the key blob", error))
    return FALSE;
  return _wzp_signal_client_send_msg (self, wzp_message_new_join_room (room,
          key_blob), TRUE, error);
}

gboolean
wzp_signal_client_leave_room (WzpSignalClient * self, const char *room,
    GError ** error)
{
  return _wzp_signal_client_send_msg (self, wzp_message_new_leave_room (room),
      TRUE, error);
}

/**
 * wzp_signal_client_send_room_message:
 * @to: (nullable): one member's fingerprint, or %NULL for every member
 */
gboolean
wzp_signal_client_send_room_message (WzpSignalClient * self,
    const char *room, const char *to, JsonObject * body, GError ** error)
{
  if (body == NULL || !check_opaque (body, WZP_MESSAGE_MAX_OPAQUE,
          "the body", error)) {
    if (body == NULL)
      g_set_error (error, WZP_SIGNAL_ERROR,
          WZP_SIGNAL_ERROR_INVALID_ARGUMENT, "no body");
    return FALSE;
  }
  return _wzp_signal_client_send_msg (self, wzp_message_new_room_message (room,
          to, NULL, body), TRUE, error);
}

/**
 * wzp_signal_client_send_media:
 *
 * Sends media for a call or room @channel through the relay: on the
 * call's relay media channel when it works (a channel packet to the
 * relay's media port), otherwise as a QUIC datagram [0x10][channel][data]
 * on the signaling connection.  A packet that cannot be sent is dropped,
 * never an error.
 *
 * Returns: %TRUE if queued
 */
gboolean
wzp_signal_client_send_media (WzpSignalClient * self, guint32 channel,
    const guint8 * data, gsize len)
{
  guint8 stack[1500];
  guint8 *buf = stack;
  guint32 be = GUINT32_TO_BE (channel);
  gboolean ok, on_channel;

  if (_wzp_signal_client_channel_send (self, channel, data, len, &on_channel))
    return on_channel;
  if (self->conn == NULL || self->state != WZP_SIGNAL_STATE_REGISTERED)
    return on_channel;
  if (len + WZP_RELAY_MEDIA_HEADER_LEN > sizeof stack)
    buf = g_malloc (len + WZP_RELAY_MEDIA_HEADER_LEN);
  buf[0] = WZP_RELAY_MEDIA_TYPE;
  memcpy (buf + 1, &be, sizeof be);
  if (len)
    memcpy (buf + WZP_RELAY_MEDIA_HEADER_LEN, data, len);
  ok = wzp_connection_send_datagram (self->conn, buf,
      len + WZP_RELAY_MEDIA_HEADER_LEN);
  if (buf != stack)
    g_free (buf);
  return ok || on_channel;
}

void
wzp_signal_client_set_media_handler (WzpSignalClient * self,
    WzpSignalMediaFunc func, gpointer user_data, GDestroyNotify notify)
{
  if (self->media_notify)
    self->media_notify (self->media_data);
  self->media_func = func;
  self->media_data = user_data;
  self->media_notify = notify;
}

/* --- GObject ---------------------------------------------------------- */

static void
wzp_signal_client_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  WzpSignalClient *self = WZP_SIGNAL_CLIENT (object);

  switch (prop_id) {
    case PROP_ENDPOINT:
      self->endpoint = g_value_dup_object (value);
      break;
    case PROP_RELAY_ADDRESS:
      if (g_value_get_object (value))
        wzp_signal_client_add_relay (self, g_value_get_object (value));
      break;
    case PROP_RELAY_FINGERPRINT:
      self->relay_fingerprint = g_value_dup_string (value);
      break;
    case PROP_MEDIA_LEG:
      self->media_leg = g_value_get_boolean (value);
      break;
    case PROP_RECONNECT_INITIAL:
      self->reconnect_initial = g_value_get_uint64 (value);
      break;
    case PROP_RECONNECT_MAX:
      self->reconnect_max = g_value_get_uint64 (value);
      break;
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;
    case PROP_KEEP_ALIVE:
      self->keep_alive = g_value_get_uint64 (value);
      break;
    case PROP_IDLE_TIMEOUT:
      self->idle_timeout = g_value_get_uint64 (value);
      break;
    case PROP_RELAY_CHANNELS:
      self->use_channels = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_signal_client_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  WzpSignalClient *self = WZP_SIGNAL_CLIENT (object);

  switch (prop_id) {
    case PROP_ENDPOINT:
      g_value_set_object (value, self->endpoint);
      break;
    case PROP_RELAY_ADDRESS:
      g_value_set_object (value, self->relay);
      break;
    case PROP_RELAY_FINGERPRINT:
      g_value_set_string (value, self->relay_fingerprint);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_NAT_TYPE:
      g_value_set_enum (value, self->nat_type);
      break;
    case PROP_OBSERVED_ADDRESS:
      g_value_set_object (value, self->observed);
      break;
    case PROP_RECONNECT_INITIAL:
      g_value_set_uint64 (value, self->reconnect_initial);
      break;
    case PROP_RECONNECT_MAX:
      g_value_set_uint64 (value, self->reconnect_max);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_KEEP_ALIVE:
      g_value_set_uint64 (value, self->keep_alive);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint64 (value, self->idle_timeout);
      break;
    case PROP_MEDIA_LEG:
      g_value_set_boolean (value, self->media_leg);
      break;
    case PROP_RELAY_CHANNELS:
      g_value_set_boolean (value, self->use_channels);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_signal_client_dispose (GObject * object)
{
  WzpSignalClient *self = WZP_SIGNAL_CLIENT (object);

  _wzp_signal_client_cancel_timer (&self->reconnect_timer);
  _wzp_signal_client_cancel_timer (&self->probe_timer);
  _wzp_signal_client_cancel_timer (&self->silence_timer);
  _wzp_signal_client_channels_clear (self);
  drop_connection (self, "bye");
  wzp_signal_client_set_media_handler (self, NULL, NULL, NULL);
  G_OBJECT_CLASS (wzp_signal_client_parent_class)->dispose (object);
}

static void
wzp_signal_client_finalize (GObject * object)
{
  WzpSignalClient *self = WZP_SIGNAL_CLIENT (object);

  g_clear_object (&self->endpoint);
  g_clear_object (&self->relay);
  g_ptr_array_unref (self->relays);
  g_clear_object (&self->observed);
  g_clear_object (&self->probe_address);
  g_free (self->relay_fingerprint);
  g_clear_object (&self->identity);
  _wzp_signal_client_channels_free (self);
  G_OBJECT_CLASS (wzp_signal_client_parent_class)->finalize (object);
}

static void
wzp_signal_client_class_init (WzpSignalClientClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
      G_PARAM_STATIC_STRINGS;
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  GType t_str = G_TYPE_STRING;

  gobject_class->set_property = wzp_signal_client_set_property;
  gobject_class->get_property = wzp_signal_client_get_property;
  gobject_class->dispose = wzp_signal_client_dispose;
  gobject_class->finalize = wzp_signal_client_finalize;

  /**
   * WzpSignalClient:endpoint:
   *
   * The endpoint whose socket carries signaling (and the later call).
   */
  _wzp_signal_client_props[PROP_ENDPOINT] =
      g_param_spec_object ("endpoint", "Endpoint", "QUIC endpoint (one socket)",
      WZP_TYPE_ENDPOINT, co);
  /**
   * WzpSignalClient:relay-address:
   *
   * The relay's signaling address: the first one to try; read, the one
   * dialed now (notified when the client moves on to another relay, see
   * wzp_signal_client_add_relay()).
   */
  _wzp_signal_client_props[PROP_RELAY_ADDRESS] =
      g_param_spec_object ("relay-address", "Relay address",
      "Relay signaling address", G_TYPE_SOCKET_ADDRESS, co);
  /**
   * WzpSignalClient:media-leg:
   *
   * A media leg (docs/CLUSTER.md): the connection only carries the media
   * of our calls and rooms hosted at this relay node.  It registers
   * nothing; it is "registered" as soon as its handshake completes.
   */
  _wzp_signal_client_props[PROP_MEDIA_LEG] =
      g_param_spec_boolean ("media-leg", "Media leg",
      "Only carry media to the relay node hosting a call", FALSE, co);
  /**
   * WzpSignalClient:relay-fingerprint:
   *
   * When set, the relay must prove this identity.
   */
  _wzp_signal_client_props[PROP_RELAY_FINGERPRINT] =
      g_param_spec_string ("relay-fingerprint", "Relay fingerprint",
      "Pinned relay identity", NULL, co);
  /**
   * WzpSignalClient:identity:
   *
   * The identity to register as; %NULL (the default) for the endpoint's.
   * Lets many clients share one endpoint (one socket), as a load
   * generator does.
   */
  _wzp_signal_client_props[PROP_IDENTITY] =
      g_param_spec_object ("identity", "Identity",
      "Identity to register as (NULL: the endpoint's)", WZP_TYPE_IDENTITY, co);
  /**
   * WzpSignalClient:state:
   *
   * Disconnected, connecting, or registered.
   */
  _wzp_signal_client_props[PROP_STATE] = g_param_spec_enum ("state", "State",
      "Registration state", WZP_TYPE_SIGNAL_STATE,
      WZP_SIGNAL_STATE_DISCONNECTED, ro);
  /**
   * WzpSignalClient:nat-type:
   *
   * The result of the last wzp_signal_client_probe_nat(); notified when a
   * probe finishes.
   */
  _wzp_signal_client_props[PROP_NAT_TYPE] =
      g_param_spec_enum ("nat-type", "NAT type", "NAT mapping behaviour",
      WZP_TYPE_NAT_TYPE, WZP_NAT_TYPE_UNKNOWN, ro);
  /**
   * WzpSignalClient:observed-address:
   *
   * Our reflexive address: where the relay sees our signaling come from.
   */
  _wzp_signal_client_props[PROP_OBSERVED_ADDRESS] =
      g_param_spec_object ("observed-address", "Observed address",
      "Reflexive address", G_TYPE_SOCKET_ADDRESS, ro);
  /**
   * WzpSignalClient:reconnect-initial:
   *
   * First reconnect delay (ns); it doubles up to
   * #WzpSignalClient:reconnect-max and resets on registration.
   */
  _wzp_signal_client_props[PROP_RECONNECT_INITIAL] =
      g_param_spec_uint64 ("reconnect-initial", "Reconnect initial",
      "First reconnect delay (ns)", WZP_NSEC_PER_MSEC, G_MAXUINT64,
      WZP_SIGNAL_DEFAULT_RECONNECT_INITIAL, rw);
  /**
   * WzpSignalClient:reconnect-max:
   *
   * Longest reconnect delay (ns).
   */
  _wzp_signal_client_props[PROP_RECONNECT_MAX] =
      g_param_spec_uint64 ("reconnect-max", "Reconnect max",
      "Longest reconnect delay (ns)", WZP_NSEC_PER_MSEC, G_MAXUINT64,
      WZP_SIGNAL_DEFAULT_RECONNECT_MAX, rw);
  /**
   * WzpSignalClient:keep-alive-interval:
   *
   * Nanoseconds of silence after which the signaling connection sends a
   * PING (0: none).  Used from the next dial on.
   */
  _wzp_signal_client_props[PROP_KEEP_ALIVE] =
      g_param_spec_uint64 ("keep-alive-interval", "Keep-alive interval",
      "PING the relay after this much silence (ns, 0: never)", 0,
      G_MAXUINT64, WZP_SIGNAL_DEFAULT_KEEP_ALIVE, rw);
  /**
   * WzpSignalClient:idle-timeout:
   *
   * Nanoseconds without a packet from the relay after which the
   * connection counts as lost.  QUIC uses the smaller of ours and the
   * relay's, so this is also how soon the relay gives up on us (and tells
   * our peer "peer-gone").  Used from the next dial on.
   */
  _wzp_signal_client_props[PROP_IDLE_TIMEOUT] =
      g_param_spec_uint64 ("idle-timeout", "Idle timeout",
      "Connection lost after this much silence from the relay (ns)",
      100 * WZP_NSEC_PER_MSEC, G_MAXUINT64, WZP_SIGNAL_DEFAULT_IDLE_TIMEOUT,
      rw);
  /**
   * WzpSignalClient:relay-channels:
   *
   * Use the relay media channels the relay offers for calls (media as
   * channel packets to its media port, falling back to QUIC datagrams on
   * the signaling connection when they do not get through).  %FALSE:
   * QUIC datagrams only; wzp_signal_client_get_channel() still tells the
   * channel.  Read when a call is set up.
   */
  _wzp_signal_client_props[PROP_RELAY_CHANNELS] =
      g_param_spec_boolean ("relay-channels", "Relay channels",
      "Use the relay's media channels for calls", TRUE, rw);
  g_object_class_install_properties (gobject_class, N_PROPS,
      _wzp_signal_client_props);

  /**
   * WzpSignalClient::state-changed:
   * @state: the new #WzpSignalState
   */
  _wzp_signal_client_signals[SIGNAL_STATE_CHANGED] =
      g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      WZP_TYPE_SIGNAL_STATE);
  /**
   * WzpSignalClient::registered:
   * @observed: our address as the relay sees it
   *
   * Registered (again, after a reconnect).
   */
  _wzp_signal_client_signals[SIGNAL_REGISTERED] = g_signal_new ("registered",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_SOCKET_ADDRESS);
  /**
   * WzpSignalClient::registration-sent:
   *
   * A registration bound to this connection left with the handshake's end
   * (PROTOCOL.md §3).  wzp_signal_client_place_call() may follow it at
   * once, before #WzpSignalClient::registered: the relay reads messages in
   * order.
   */
  _wzp_signal_client_signals[SIGNAL_REGISTRATION_SENT] =
      g_signal_new ("registration-sent", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * WzpSignalClient::call-ringing:
   * @call_id: our outgoing call, now ringing at the callee
   */
  _wzp_signal_client_signals[SIGNAL_CALL_RINGING] =
      g_signal_new ("call-ringing", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, t_str);
  /**
   * WzpSignalClient::incoming-call:
   * @call_id: the call
   * @from: the caller's fingerprint (proven to the relay)
   * @from_public_key: the caller's Ed25519 public key
   * @offer: the caller's offer
   *
   * Answer with wzp_signal_client_answer() or _reject().
   */
  _wzp_signal_client_signals[SIGNAL_INCOMING_CALL] =
      g_signal_new ("incoming-call", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 4, t_str, t_str,
      G_TYPE_BYTES, JSON_TYPE_OBJECT);
  /**
   * WzpSignalClient::call-setup:
   * @setup: the peer's details and the relay channel
   */
  _wzp_signal_client_signals[SIGNAL_CALL_SETUP] = g_signal_new ("call-setup",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, WZP_TYPE_CALL_SETUP);
  /**
   * WzpSignalClient::call-ended:
   * @call_id: the call
   * @reason: "hangup", "rejected", "busy", "no-answer", "peer-offline",
   *   "peer-gone"
   */
  _wzp_signal_client_signals[SIGNAL_CALL_ENDED] = g_signal_new ("call-ended",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, t_str, t_str);
  /**
   * WzpSignalClient::room-joined:
   * @room: the room
   * @channel: its relay media channel
   * @members: the other members: objects {fingerprint, public_key,
   *   key_blob}
   */
  _wzp_signal_client_signals[SIGNAL_ROOM_JOINED] = g_signal_new ("room-joined",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 3, t_str, G_TYPE_UINT, JSON_TYPE_ARRAY);
  /**
   * WzpSignalClient::room-left:
   * @room: the room we left
   */
  _wzp_signal_client_signals[SIGNAL_ROOM_LEFT] = g_signal_new ("room-left",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, t_str);
  /**
   * WzpSignalClient::room-update:
   * @room: the room
   * @event: "joined" or "left"
   * @fingerprint: the member
   * @public_key: (nullable): its key ("joined")
   * @key_blob: (nullable): its key blob ("joined")
   */
  _wzp_signal_client_signals[SIGNAL_ROOM_UPDATE] = g_signal_new ("room-update",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 5, t_str, t_str, t_str, G_TYPE_BYTES, JSON_TYPE_OBJECT);
  /**
   * WzpSignalClient::room-message:
   * @room: the room
   * @from: the sending member
   * @body: its opaque body
   */
  _wzp_signal_client_signals[SIGNAL_ROOM_MESSAGE] =
      g_signal_new ("room-message", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3, t_str, t_str,
      JSON_TYPE_OBJECT);
  /**
   * WzpSignalClient::peer-candidates:
   * @call_id: the call
   * @candidates: the peer's host candidates now ("ip:port")
   * @peer_reflexive: (nullable): where the relay sees the peer now
   * @peer_nat: the peer's NAT mapping (a #WzpNatType)
   *
   * The peer's network changed mid-call.
   */
  _wzp_signal_client_signals[SIGNAL_PEER_CANDIDATES] =
      g_signal_new ("peer-candidates", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 4, t_str,
      G_TYPE_STRV, G_TYPE_SOCKET_ADDRESS, WZP_TYPE_NAT_TYPE);
  /**
   * WzpSignalClient::error:
   * @error: in %WZP_SIGNAL_ERROR
   *
   * The relay refused a request, superseded or refused our registration,
   * or is not the pinned relay identity (the client then stops), or a
   * probe failed.
   */
  _wzp_signal_client_signals[SIGNAL_ERROR] = g_signal_new ("error",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_ERROR);
  /**
   * WzpSignalClient::connection-lost:
   * @reason: %WZP_SIGNAL_ERROR_CONNECTION_LOST, saying why (idle timeout:
   *   the relay went silent; stateless reset: it restarted; ...)
   *
   * The registered connection to the relay is gone; the client is
   * reconnecting (#WzpSignalClient::registered tells when it is back).
   */
  _wzp_signal_client_signals[SIGNAL_CONNECTION_LOST] =
      g_signal_new ("connection-lost", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /**
   * WzpSignalClient::call-resumed:
   * @call_id: the call
   * @channel: its relay media channel from now on
   *
   * The relay carries the call again (see
   * wzp_signal_client_resume_call()).
   */
  _wzp_signal_client_signals[SIGNAL_CALL_RESUMED] =
      g_signal_new ("call-resumed", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, t_str,
      G_TYPE_UINT);
  /**
   * WzpSignalClient::media-relay:
   * @scope: the call id or room it is about
   * @address: (nullable): the relay node that hosts the call or room, to
   *   open a media leg to; %NULL: its media goes through this relay
   * @fingerprint: (nullable): that node's identity (pin the leg to it)
   *
   * Emitted right before #WzpSignalClient::call-ringing (only with an
   * address), #WzpSignalClient::call-setup, #WzpSignalClient::call-resumed
   * and #WzpSignalClient::room-joined: where the media of that call or
   * room meets (docs/CLUSTER.md).
   */
  _wzp_signal_client_signals[SIGNAL_MEDIA_RELAY] =
      g_signal_new ("media-relay", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 3, t_str,
      G_TYPE_SOCKET_ADDRESS, t_str);
}

static void
wzp_signal_client_init (WzpSignalClient * self)
{
  self->relays = g_ptr_array_new_with_free_func (g_object_unref);
  self->reconnect_initial = WZP_SIGNAL_DEFAULT_RECONNECT_INITIAL;
  self->reconnect_max = WZP_SIGNAL_DEFAULT_RECONNECT_MAX;
  self->keep_alive = WZP_SIGNAL_DEFAULT_KEEP_ALIVE;
  self->idle_timeout = WZP_SIGNAL_DEFAULT_IDLE_TIMEOUT;
  _wzp_signal_client_channels_init (self, ask_rebind);
}
