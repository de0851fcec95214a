/* wzp — one QUIC connection (ngtcp2) on a WzpEndpoint
 *
 * ngtcp2 does not allow calling into a connection from its own callbacks,
 * and a signal handler may well want to send or close.  So callbacks only
 * record what happened (the event queue) and every entry point runs
 * ngtcp2 first, then flushes, then emits the recorded events.  Datagrams
 * are the one exception: they go straight to a plain callback, which is
 * allowed to queue sends but not to close.
 *
 *
 * This file: the object, its state and event queue, the public API and
 * GObject.  The rest of the connection is in wzp-connection-ngtcp2.c,
 * wzp-connection-io.c and wzp-connection-close.c; what they share is in
 * wzp-connection-private.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-connection-private.h"

#include <string.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* Media is real-time: if congestion control holds datagrams back for long
 * enough that more than this many pile up, the oldest are worthless. */
#define DATAGRAM_QUEUE_MAX 64
/* DATAGRAM frame type (1 byte) + length (2 bytes) + short header
 * (1 + DCID 20 + packet number 4) + AEAD tag 16, rounded up. */
#define DATAGRAM_OVERHEAD 48

GQuark
wzp_connection_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-connection-error-quark");
  return q;
}

enum
{
  SIGNAL_CONNECTED,
  SIGNAL_MESSAGE,
  SIGNAL_MESSAGE_TOO_LARGE,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_STATE,
  PROP_PEER_FINGERPRINT,
  PROP_REMOTE_ADDRESS,
  PROP_IS_SERVER,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (WzpConnection, wzp_connection, G_TYPE_OBJECT);

guint64
_wzp_connection_now (WzpConnection * self)
{
  return wzp_clock_get_time (self->clock);
}

void
_wzp_connection_queue_event (WzpConnection * self, EventType type,
    GBytes * bytes, guint64 size)
{
  Event *e = g_new0 (Event, 1);

  e->type = type;
  e->bytes = bytes;
  e->size = size;
  g_queue_push_tail (&self->events, e);
}

void
_wzp_connection_set_state (WzpConnection * self, WzpConnectionState state)
{
  if (self->state == state)
    return;
  WZP_DEBUG_OBJECT (self, "state %s -> %s",
      wzp_connection_state_to_string (self->state),
      wzp_connection_state_to_string (state));
  self->state = state;
}

const char *
wzp_connection_state_to_string (WzpConnectionState state)
{
  switch (state) {
    case WZP_CONNECTION_STATE_HANDSHAKING:
      return "handshaking";
    case WZP_CONNECTION_STATE_CONNECTED:
      return "connected";
    case WZP_CONNECTION_STATE_CLOSED:
      return "closed";
  }
  return "?";
}

void
_wzp_connection_dispatch_events (WzpConnection * self)
{
  Event *e;

  g_object_ref (self);
  while ((e = g_queue_pop_head (&self->events))) {
    switch (e->type) {
      case EVENT_CONNECTED:
        g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
        if (self->is_server)
          _wzp_endpoint_incoming_connected (self->endpoint, self);
        g_signal_emit (self, signals[SIGNAL_CONNECTED], 0);
        break;
      case EVENT_MESSAGE:
        g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, e->bytes);
        break;
      case EVENT_MESSAGE_TOO_LARGE:
        g_signal_emit (self, signals[SIGNAL_MESSAGE_TOO_LARGE], 0, e->size);
        break;
      case EVENT_CLOSED:
        g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
        g_signal_emit (self, signals[SIGNAL_CLOSED], 0, self->close_error);
        break;
    }
    g_clear_pointer (&e->bytes, g_bytes_unref);
    g_free (e);
  }
  g_object_unref (self);
}

/* --- public API ------------------------------------------------------- */

/**
 * wzp_connection_send_message:
 * @data: the message; at most the peer's message size limit (64 KiB by
 *   default)
 *
 * Queues a reliable, ordered message.  Messages sent before the handshake
 * completes go out as soon as it does.
 *
 * Returns: %FALSE if the connection is closed.
 */
gboolean
wzp_connection_send_message (WzpConnection * self, const guint8 * data,
    gsize len, GError ** error)
{
  guint8 header[WZP_FRAME_HEADER_LEN];

  g_return_val_if_fail (WZP_IS_CONNECTION (self), FALSE);
  if (self->state == WZP_CONNECTION_STATE_CLOSED || self->conn == NULL) {
    g_set_error (error, WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_NOT_CONNECTED,
        "cannot send: the connection is closed");
    return FALSE;
  }
  if (len > G_MAXUINT32) {
    g_set_error (error, WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_TOO_LARGE,
        "message of %" G_GSIZE_FORMAT " bytes is too large", len);
    return FALSE;
  }
  wzp_frame_write_header (header, (guint32) len);
  wzp_send_buffer_append (&self->tx, header, sizeof header);
  wzp_send_buffer_append (&self->tx, data, len);
  self->stats.messages_sent++;
  _wzp_endpoint_mark_dirty (self->endpoint, self);
  return TRUE;
}

/**
 * wzp_connection_send_datagram:
 *
 * Queues an unreliable datagram.  A datagram that cannot be sent (closed,
 * too large for the path, queue full under congestion) is dropped and
 * counted; that is never an error that ends anything.
 *
 * Returns: %TRUE if queued.
 */
gboolean
wzp_connection_send_datagram (WzpConnection * self, const guint8 * data,
    gsize len)
{
  QueuedDatagram *dg;

  if (self->state != WZP_CONNECTION_STATE_CONNECTED || self->conn == NULL ||
      len > wzp_connection_get_max_datagram_size (self)) {
    self->stats.datagrams_dropped++;
    return FALSE;
  }
  if (self->datagrams.length >= DATAGRAM_QUEUE_MAX) {
    self->stats.datagrams_dropped++;
    _wzp_connection_drop_front_datagram (self);
  }
  dg = g_malloc (sizeof (QueuedDatagram) + len);
  dg->len = len;
  memcpy (dg->data, data, len);
  g_queue_push_tail (&self->datagrams, dg);
  _wzp_endpoint_mark_dirty (self->endpoint, self);
  return TRUE;
}

/**
 * wzp_connection_get_last_datagram_ack_time:
 *
 * When (on the endpoint's clock) the peer last acknowledged a QUIC packet
 * that carried one of our datagrams; 0 if it never did.  A recent time
 * proves that datagrams reach the peer, even when none of the peer's own
 * answers got back.
 */
guint64
wzp_connection_get_last_datagram_ack_time (WzpConnection * self)
{
  g_return_val_if_fail (WZP_IS_CONNECTION (self), 0);
  return self->last_datagram_ack;
}

void
wzp_connection_set_datagram_handler (WzpConnection * self,
    WzpDatagramFunc func, gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail (WZP_IS_CONNECTION (self));
  if (self->datagram_notify)
    self->datagram_notify (self->datagram_data);
  self->datagram_func = func;
  self->datagram_data = user_data;
  self->datagram_notify = notify;
  /* Not inside ngtcp2 here, so delivering now is safe. */
  while (func && self->early_datagrams.length > 0) {
    g_autoptr (GBytes) b = g_queue_pop_head (&self->early_datagrams);
    gsize len;
    const guint8 *data = g_bytes_get_data (b, &len);
    func (self, data, len, user_data);
  }
}

/**
 * wzp_connection_close:
 * @app_error_code: what the peer sees as the application error code
 * @reason: (nullable): a short human-readable reason sent to the peer
 *
 * Sends CONNECTION_CLOSE.  #WzpConnection::closed is emitted (once) with
 * %WZP_CONNECTION_ERROR_CLOSED.  Safe to call from any handler.
 */
void
wzp_connection_close (WzpConnection * self, guint64 app_error_code,
    const char *reason)
{
  g_return_if_fail (WZP_IS_CONNECTION (self));
  if (self->state == WZP_CONNECTION_STATE_CLOSED || self->conn == NULL)
    return;
  self->close_requested = TRUE;
  self->close_code = app_error_code;
  g_free (self->close_reason);
  self->close_reason = g_strdup (reason);
  if (self->in_ngtcp2 == 0)
    _wzp_connection_after_ngtcp2 (self);
}

WzpConnectionState
wzp_connection_get_state (WzpConnection * self)
{
  g_return_val_if_fail (WZP_IS_CONNECTION (self), WZP_CONNECTION_STATE_CLOSED);
  return self->state;
}

gboolean
wzp_connection_is_server (WzpConnection * self)
{
  return self->is_server;
}

/**
 * wzp_connection_get_peer_fingerprint:
 *
 * Returns: (nullable): the fingerprint of the identity the peer proved in
 * the handshake; %NULL before its certificate arrived.
 */
const char *
wzp_connection_get_peer_fingerprint (WzpConnection * self)
{
  return self->peer_fingerprint;
}

gboolean
wzp_connection_get_peer_public_key (WzpConnection * self, guint8 out[32])
{
  if (!self->have_peer_key)
    return FALSE;
  memcpy (out, self->peer_public_key, 32);
  return TRUE;
}

gboolean
_wzp_connection_remote_equal (WzpConnection * self, const WzpAddr * addr)
{
  return wzp_addr_equal (&self->remote, addr);
}

/**
 * wzp_connection_export_keying_material:
 * @label: an exporter label ("EXPORTER-..." by convention)
 * @out: (out caller-allocates) (array length=len): the material
 *
 * The TLS 1.3 keying material exporter (RFC 8446 §7.5, empty context):
 * bytes both ends of this connection derive alike and nobody else can, so
 * a signature over them is bound to this connection (a channel binding).
 *
 * Returns: %FALSE with @error set before the handshake is complete
 */
gboolean
wzp_connection_export_keying_material (WzpConnection * self,
    const char *label, guint8 * out, gsize len, GError ** error)
{
  g_return_val_if_fail (WZP_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (label != NULL && out != NULL, FALSE);
  if (self->tls == NULL || self->conn == NULL ||
      !ngtcp2_conn_get_handshake_completed (self->conn)) {
    g_set_error (error, WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_NOT_CONNECTED,
        "no keying material before the handshake is complete");
    return FALSE;
  }
  return wzp_tls_session_export (self->tls, label, out, len, error);
}

/**
 * wzp_connection_get_remote_address:
 *
 * Returns: (transfer full): where the peer's packets come from now.
 */
GSocketAddress *
wzp_connection_get_remote_address (WzpConnection * self)
{
  return wzp_addr_to_gsocketaddress (&self->remote);
}

/**
 * wzp_connection_get_endpoint:
 *
 * Returns: (transfer none) (nullable): %NULL once the connection is gone.
 */
WzpEndpoint *
wzp_connection_get_endpoint (WzpConnection * self)
{
  return self->endpoint;
}

/**
 * wzp_connection_get_max_datagram_size:
 *
 * Returns: the largest datagram that fits a packet on the current path.
 */
gsize
wzp_connection_get_max_datagram_size (WzpConnection * self)
{
  gsize payload;

  if (self->conn == NULL)
    return 0;
  payload = ngtcp2_conn_get_path_max_tx_udp_payload_size (self->conn);
  return payload > DATAGRAM_OVERHEAD ? payload - DATAGRAM_OVERHEAD : 0;
}

void
wzp_connection_get_stats (WzpConnection * self, WzpConnectionStats * stats)
{
  g_return_if_fail (WZP_IS_CONNECTION (self));
  *stats = self->stats;
  if (self->conn) {
    ngtcp2_conn_stat cstat;
    ngtcp2_conn_get_conn_stat (self->conn, &cstat);
    if (cstat.first_rtt_sample_ts != UINT64_MAX) {
      stats->rtt_ns = cstat.smoothed_rtt;
      stats->min_rtt_ns = cstat.min_rtt;
      stats->latest_rtt_ns = cstat.latest_rtt;
      stats->rtt_var_ns = cstat.rttvar;
    }
    stats->cwnd = cstat.cwnd;
    stats->bytes_in_flight = cstat.bytes_in_flight;
    stats->pto_count = cstat.pto_count;
  }
}

/**
 * wzp_connection_get_close_error:
 *
 * Returns: (nullable): why the connection closed; %NULL while open.
 */
const GError *
wzp_connection_get_close_error (WzpConnection * self)
{
  return self->close_error;
}

/**
 * wzp_connection_get_peer_close_code:
 *
 * Returns: %TRUE, with @code set, if the peer closed the connection with an
 * application error code.
 */
gboolean
wzp_connection_get_peer_close_code (WzpConnection * self, guint64 * code)
{
  if (code && self->have_peer_close_code)
    *code = self->peer_close_code;
  return self->have_peer_close_code;
}

/**
 * wzp_connection_set_keep_alive:
 * @interval_ns: send a PING after this long without sending; %WZP_TIME_NONE
 *   or 0 to stop
 */
void
wzp_connection_set_keep_alive (WzpConnection * self, guint64 interval_ns)
{
  if (interval_ns == WZP_TIME_NONE)
    interval_ns = 0;
  self->keep_alive_ns = interval_ns;
  if (self->conn) {
    ngtcp2_conn_set_keep_alive_timeout (self->conn, interval_ns);
    _wzp_endpoint_update_timer (self->endpoint, self);
  }
}

/* --- GObject ---------------------------------------------------------- */

static void
wzp_connection_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WzpConnection *self = WZP_CONNECTION (object);

  switch (prop_id) {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_PEER_FINGERPRINT:
      g_value_set_string (value, self->peer_fingerprint);
      break;
    case PROP_REMOTE_ADDRESS:
      g_value_take_object (value, wzp_connection_get_remote_address (self));
      break;
    case PROP_IS_SERVER:
      g_value_set_boolean (value, self->is_server);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_connection_finalize (GObject * object)
{
  WzpConnection *self = WZP_CONNECTION (object);
  Event *e;

  g_clear_pointer (&self->tls, wzp_tls_session_free);
  g_clear_pointer (&self->own_tls, wzp_tls_context_free);
  g_clear_pointer (&self->conn, ngtcp2_conn_del);
  /* Only now: ngtcp2 may point into it until the connection is gone. */
  wzp_send_buffer_clear (&self->tx);
  if (self->datagram_notify)
    self->datagram_notify (self->datagram_data);
  g_queue_clear_full (&self->datagrams, g_free);
  g_queue_clear_full (&self->early_datagrams, (GDestroyNotify) g_bytes_unref);
  while ((e = g_queue_pop_head (&self->events))) {
    g_clear_pointer (&e->bytes, g_bytes_unref);
    g_free (e);
  }
  wzp_framer_free (self->framer);
  g_free (self->expected_fingerprint);
  g_free (self->peer_fingerprint);
  g_free (self->close_reason);
  g_free (self->close_packet);
  g_clear_error (&self->verify_error);
  g_clear_error (&self->close_error);
  g_clear_object (&self->clock);
  G_OBJECT_CLASS (wzp_connection_parent_class)->finalize (object);
}

static void
wzp_connection_class_init (WzpConnectionClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->get_property = wzp_connection_get_property;
  gobject_class->finalize = wzp_connection_finalize;

  /**
   * WzpConnection:state:
   *
   * A #WzpConnectionState.
   */
  props[PROP_STATE] = g_param_spec_int ("state", "State",
      "Connection state (WzpConnectionState)", 0, WZP_CONNECTION_STATE_CLOSED,
      0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpConnection:peer-fingerprint:
   *
   * The identity the peer proved during the handshake.
   */
  props[PROP_PEER_FINGERPRINT] = g_param_spec_string ("peer-fingerprint",
      "Peer fingerprint", "Identity fingerprint the peer proved", NULL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpConnection:remote-address:
   *
   * Where the peer's packets come from (may change if its NAT rebinds).
   */
  props[PROP_REMOTE_ADDRESS] = g_param_spec_object ("remote-address",
      "Remote address", "The peer's address", G_TYPE_SOCKET_ADDRESS,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_IS_SERVER] = g_param_spec_boolean ("is-server", "Is server",
      "Whether the peer dialed us", FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  /**
   * WzpConnection::connected:
   *
   * The handshake completed and the peer's identity was accepted.
   */
  signals[SIGNAL_CONNECTED] = g_signal_new ("connected",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 0);
  /**
   * WzpConnection::message:
   * @message: the message bytes
   *
   * A complete message arrived on the peer's message stream.
   */
  signals[SIGNAL_MESSAGE] = g_signal_new ("message",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_BYTES);
  /**
   * WzpConnection::message-too-large:
   * @size: the size the peer declared
   *
   * The peer sent a message above the limit; it was skipped, the
   * connection goes on.  The application may tell the peer.
   */
  signals[SIGNAL_MESSAGE_TOO_LARGE] = g_signal_new ("message-too-large",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_UINT64);
  /**
   * WzpConnection::closed:
   * @reason: a #GError in %WZP_CONNECTION_ERROR saying why
   *
   * Emitted once.  The connection cannot be used afterwards.
   */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
wzp_connection_init (WzpConnection * self)
{
  self->tx_stream = -1;
  self->rx_stream = -1;
  wzp_send_buffer_init (&self->tx);
  self->state = WZP_CONNECTION_STATE_HANDSHAKING;
  g_queue_init (&self->datagrams);
  g_queue_init (&self->events);
}
