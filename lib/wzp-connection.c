/* wzp — one QUIC connection (ngtcp2) on a WzpEndpoint
 *
 * ngtcp2 does not allow calling into a connection from its own callbacks,
 * and a signal handler may well want to send or close.  So callbacks only
 * record what happened (the event queue) and every entry point runs
 * ngtcp2 first, then flushes, then emits the recorded events.  Datagrams
 * are the one exception: they go straight to a plain callback, which is
 * allowed to queue sends but not to close.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-connection.h"

#include <string.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wzp-framer.h"
#include "wzp-log.h"
#include "wzp-quic-private.h"
#include "wzp-random.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* Media is real-time: if congestion control holds datagrams back for long
 * enough that more than this many pile up, the oldest are worthless. */
#define DATAGRAM_QUEUE_MAX 64
/* Received datagrams held until a handler is set. */
#define EARLY_DATAGRAMS 64
/* We accept DATAGRAM frames up to the largest UDP payload; what we send is
 * limited by the path (wzp_connection_get_max_datagram_size). */
#define MAX_DATAGRAM_FRAME_SIZE 65535
/* DATAGRAM frame type (1 byte) + length (2 bytes) + short header
 * (1 + DCID 20 + packet number 4) + AEAD tag 16, rounded up. */
#define DATAGRAM_OVERHEAD 48
/* A closed connection answers stray packets with its CONNECTION_CLOSE at
 * most this many times, so a flood cannot make us a reflector. */
#define CLOSE_RESEND_BUDGET 8
/* Flow-control windows for the message stream: signaling is small; this
 * bounds what a peer can make us buffer. */
#define STREAM_WINDOW (256 * 1024)
/* WzpEndpoint:ack-hold applies while the last datagram left this
 * recently. */
#define ACK_HOLD_MEDIA_WINDOW (100 * WZP_NSEC_PER_MSEC)
#define CONNECTION_WINDOW (1024 * 1024)

GQuark
wzp_connection_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-connection-error-quark");
  return q;
}

typedef enum
{
  EVENT_CONNECTED,
  EVENT_MESSAGE,
  EVENT_MESSAGE_TOO_LARGE,
  EVENT_CLOSED,
} EventType;

typedef struct
{
  EventType type;
  GBytes *bytes;
  guint64 size;
} Event;

typedef struct
{
  gsize len;
  guint8 data[];
} QueuedDatagram;

struct _WzpConnection
{
  GObject parent;

  WzpConnectionEndpointData epdata;
  WzpEndpoint *endpoint;        /* not a ref: the endpoint owns us */
  WzpClock *clock;
  ngtcp2_conn *conn;
  WzpTlsSession *tls;
  WzpTlsContext *own_tls;       /* with WzpConnectParams.identity */
  gboolean is_server;
  gboolean got_valid_packet;
  WzpConnectionState state;
  WzpAddr local;
  WzpAddr remote;

  char *expected_fingerprint;
  char *peer_fingerprint;
  guint8 peer_public_key[32];
  gboolean have_peer_key;
  GError *verify_error;
  GError *close_error;
  gboolean have_peer_close_code;
  guint64 peer_close_code;

  /* Outgoing messages: bytes not yet acknowledged; tx_buf[0] is at stream
   * offset tx_acked.  ngtcp2 needs them until acknowledged. */
  gint64 tx_stream;
  GByteArray *tx_buf;
  guint64 tx_acked;
  guint64 tx_sent;
  gboolean tx_blocked;

  /* Incoming messages: the peer's one message stream. */
  gint64 rx_stream;
  WzpFramer *framer;

  GQueue datagrams;
  guint64 next_datagram_id;
  guint64 last_datagram_ack;    /* when the peer last ACKed a datagram */
  WzpDatagramFunc datagram_func;
  /* Datagrams that arrive before anyone set a handler: a client's first
   * datagrams share a packet with its Finished, before the server side
   * has even announced the connection.  Bounded; see EARLY_DATAGRAMS. */
  GQueue early_datagrams;
  gpointer datagram_data;
  GDestroyNotify datagram_notify;

  GQueue events;
  guint in_ngtcp2;
  gboolean close_requested;
  guint64 close_code;
  char *close_reason;

  /* Closing (we sent CONNECTION_CLOSE) or draining (peer did): the
   * connection stays routed until close_until to absorb stragglers. */
  guint8 *close_packet;
  gsize close_packet_len;
  guint close_budget;
  guint64 close_until;

  guint64 keep_alive_ns;
  guint64 ack_hold_ns;          /* WzpEndpoint:ack-hold */
  guint64 last_datagram_tx;     /* when write_packets last sent one */
  WzpConnectionStats stats;
};

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

static void connection_close_internal (WzpConnection * self,
    ngtcp2_connection_close_error * ccerr, GError * reason);
static void connection_finish (WzpConnection * self, GError * reason);

static guint64
now (WzpConnection * self)
{
  return wzp_clock_get_time (self->clock);
}

static void
queue_event (WzpConnection * self, EventType type, GBytes * bytes, guint64 size)
{
  Event *e = g_new0 (Event, 1);

  e->type = type;
  e->bytes = bytes;
  e->size = size;
  g_queue_push_tail (&self->events, e);
}

static void
set_state (WzpConnection * self, WzpConnectionState state)
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

/* --- ngtcp2 callbacks ------------------------------------------------- */

static ngtcp2_conn *
get_conn_cb (ngtcp2_crypto_conn_ref * ref)
{
  return ((WzpConnection *) ref->user_data)->conn;
}

static void
rand_cb (uint8_t * dest, size_t destlen, const ngtcp2_rand_ctx * rand_ctx)
{
  wzp_random_bytes (dest, destlen);
}

static int
get_new_connection_id_cb (ngtcp2_conn * conn, ngtcp2_cid * cid,
    uint8_t * token, size_t cidlen, void *user_data)
{
  WzpConnection *self = user_data;

  wzp_random_bytes (cid->data, cidlen);
  cid->datalen = cidlen;
  wzp_random_bytes (token, NGTCP2_STATELESS_RESET_TOKENLEN);
  _wzp_endpoint_register_cid (self->endpoint, cid, self);
  return 0;
}

static int
remove_connection_id_cb (ngtcp2_conn * conn, const ngtcp2_cid * cid,
    void *user_data)
{
  WzpConnection *self = user_data;

  _wzp_endpoint_unregister_cid (self->endpoint, cid);
  return 0;
}

static int
handshake_completed_cb (ngtcp2_conn * conn, void *user_data)
{
  WzpConnection *self = user_data;
  g_autofree char *alpn = wzp_tls_session_get_alpn (self->tls);

  WZP_INFO_OBJECT (self, "handshake complete with %s (alpn %s)",
      self->peer_fingerprint ? self->peer_fingerprint : "?",
      alpn ? alpn : "none");
  set_state (self, WZP_CONNECTION_STATE_CONNECTED);
  queue_event (self, EVENT_CONNECTED, NULL, 0);
  return 0;
}

static void
on_frame (const guint8 * frame, gsize len, gpointer user_data)
{
  WzpConnection *self = user_data;

  self->stats.messages_received++;
  queue_event (self, EVENT_MESSAGE, g_bytes_new (frame, len), len);
}

static void
on_oversize (guint64 declared_len, gpointer user_data)
{
  WzpConnection *self = user_data;

  WZP_WARNING_OBJECT (self, "peer %s sent a %" G_GUINT64_FORMAT
      "-byte message; the limit is %" G_GSIZE_FORMAT ": skipped",
      self->peer_fingerprint, declared_len,
      _wzp_endpoint_max_message_size (self->endpoint));
  queue_event (self, EVENT_MESSAGE_TOO_LARGE, NULL, declared_len);
}

static int
recv_stream_data_cb (ngtcp2_conn * conn, uint32_t flags, int64_t stream_id,
    uint64_t offset, const uint8_t * data, size_t datalen, void *user_data,
    void *stream_user_data)
{
  WzpConnection *self = user_data;

  /* Exactly one unidirectional stream per direction carries messages.  A
   * second one would interleave frames, so it is refused. */
  if (self->rx_stream < 0)
    self->rx_stream = stream_id;
  if (stream_id != self->rx_stream) {
    WZP_WARNING_OBJECT (self, "peer opened a second message stream %"
        G_GINT64_FORMAT "; ignoring it", stream_id);
    ngtcp2_conn_shutdown_stream_read (conn, stream_id, 1);
  } else {
    wzp_framer_push (self->framer, data, datalen, on_frame, on_oversize, self);
  }
  /* The framer has consumed the bytes (it keeps at most one message), so
   * give the credit back at once. */
  ngtcp2_conn_extend_max_stream_offset (conn, stream_id, datalen);
  ngtcp2_conn_extend_max_offset (conn, datalen);
  return 0;
}

static int
acked_stream_data_offset_cb (ngtcp2_conn * conn, int64_t stream_id,
    uint64_t offset, uint64_t datalen, void *user_data, void *stream_user_data)
{
  WzpConnection *self = user_data;
  guint64 end = offset + datalen;

  if (stream_id != self->tx_stream || end <= self->tx_acked)
    return 0;
  g_byte_array_remove_range (self->tx_buf, 0, end - self->tx_acked);
  self->tx_acked = end;
  return 0;
}

static int
extend_max_local_streams_uni_cb (ngtcp2_conn * conn, uint64_t max_streams,
    void *user_data)
{
  WzpConnection *self = user_data;

  if (self->tx_stream < 0 && self->tx_buf->len > 0)
    _wzp_endpoint_mark_dirty (self->endpoint, self);
  return 0;
}

static int
extend_max_stream_data_cb (ngtcp2_conn * conn, int64_t stream_id,
    uint64_t max_data, void *user_data, void *stream_user_data)
{
  WzpConnection *self = user_data;

  self->tx_blocked = FALSE;
  _wzp_endpoint_mark_dirty (self->endpoint, self);
  return 0;
}

static int
recv_datagram_cb (ngtcp2_conn * conn, uint32_t flags, const uint8_t * data,
    size_t datalen, void *user_data)
{
  WzpConnection *self = user_data;

  self->stats.datagrams_received++;
  if (self->datagram_func)
    self->datagram_func (self, data, datalen, self->datagram_data);
  else if (self->early_datagrams.length < EARLY_DATAGRAMS)
    g_queue_push_tail (&self->early_datagrams, g_bytes_new (data, datalen));
  else
    self->stats.datagrams_dropped++;
  return 0;
}

static int
lost_datagram_cb (ngtcp2_conn * conn, uint64_t dgram_id, void *user_data)
{
  WzpConnection *self = user_data;

  self->stats.datagrams_lost++;
  return 0;
}

/* The peer's QUIC stack acknowledged a packet carrying one of our
 * datagrams: proof that the way to the peer works, at no cost. */
static int
ack_datagram_cb (ngtcp2_conn * conn, uint64_t dgram_id, void *user_data)
{
  WzpConnection *self = user_data;

  self->stats.datagrams_acked++;
  self->last_datagram_ack = now (self);
  return 0;
}

static int
recv_stateless_reset_cb (ngtcp2_conn * conn, const ngtcp2_pkt_stateless_reset
    * sr, void *user_data)
{
  WzpConnection *self = user_data;

  WZP_INFO_OBJECT (self, "peer reset the connection (stateless reset)");
  return 0;
}

static void
log_printf_cb (void *user_data, const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  /* ngtcp2's callback type has no format attribute to check against. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  msg = g_strdup_vprintf (format, args);
#pragma GCC diagnostic pop
  va_end (args);
  WZP_TRACE_OBJECT (user_data, "ngtcp2: %s", msg);
}

static void
fill_callbacks (ngtcp2_callbacks * cb, gboolean is_server)
{
  memset (cb, 0, sizeof *cb);
  if (is_server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = rand_cb;
  cb->get_new_connection_id = get_new_connection_id_cb;
  cb->remove_connection_id = remove_connection_id_cb;
  cb->handshake_completed = handshake_completed_cb;
  cb->recv_stream_data = recv_stream_data_cb;
  cb->acked_stream_data_offset = acked_stream_data_offset_cb;
  cb->extend_max_local_streams_uni = extend_max_local_streams_uni_cb;
  cb->extend_max_stream_data = extend_max_stream_data_cb;
  cb->recv_datagram = recv_datagram_cb;
  cb->lost_datagram = lost_datagram_cb;
  cb->ack_datagram = ack_datagram_cb;
  cb->recv_stateless_reset = recv_stateless_reset_cb;
}

/* --- peer verification (called by the TLS layer in the handshake) ----- */

static gboolean
verify_peer (gpointer user_data, const char *fingerprint,
    const guint8 public_key[32], GError ** error)
{
  WzpConnection *self = user_data;

  if (fingerprint == NULL) {
    /* The certificate itself was unacceptable; remember why. */
    g_clear_error (&self->verify_error);
    self->verify_error = g_error_new (WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_PEER_REJECTED, "peer certificate refused: %s",
        error && *error ? (*error)->message : "invalid");
    return FALSE;
  }

  g_free (self->peer_fingerprint);
  self->peer_fingerprint = g_strdup (fingerprint);
  memcpy (self->peer_public_key, public_key, 32);
  self->have_peer_key = TRUE;

  if (self->is_server) {
    if (!_wzp_endpoint_accept_peer (self->endpoint, fingerprint, &self->remote)) {
      char addr[WZP_ADDR_STRLEN];
      g_set_error (error, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_REJECTED,
          "peer %s from %s is not accepted here", fingerprint,
          wzp_addr_to_string (&self->remote, addr));
      goto refused;
    }
  } else if (self->expected_fingerprint &&
      !wzp_fingerprint_equal (self->expected_fingerprint, fingerprint)) {
    g_set_error (error, WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_PEER_REJECTED,
        "peer identity is %s, but %s was expected", fingerprint,
        self->expected_fingerprint);
    goto refused;
  }
  return TRUE;

refused:
  g_clear_error (&self->verify_error);
  self->verify_error = g_error_copy (*error);
  return FALSE;
}

/* --- construction ----------------------------------------------------- */

static void
fill_path (WzpConnection * self, ngtcp2_path * path)
{
  path->local.addr = (ngtcp2_sockaddr *) & self->local.storage;
  path->local.addrlen = self->local.len;
  path->remote.addr = (ngtcp2_sockaddr *) & self->remote.storage;
  path->remote.addrlen = self->remote.len;
  path->user_data = NULL;
}

static void
fill_settings (WzpConnection * self, ngtcp2_settings * settings,
    const WzpConnectParams * params)
{
  ngtcp2_settings_default (settings);
  settings->initial_ts = now (self);
  settings->max_tx_udp_payload_size = WZP_MAX_UDP_PAYLOAD;
  settings->handshake_timeout = params->handshake_timeout_ns;
  settings->ack_thresh = _wzp_endpoint_ack_threshold (self->endpoint);
  if (params->initial_rtt_ns)
    settings->initial_rtt = params->initial_rtt_ns;
  if (WZP_LOG_ENABLED (wzp_cat_quic, WZP_LOG_TRACE))
    settings->log_printf = log_printf_cb;
}

static void
fill_transport_params (ngtcp2_transport_params * tp,
    const WzpConnectParams * params)
{
  ngtcp2_transport_params_default (tp);
  /* The peer may open only unidirectional streams: one for its messages
   * (a few spare so a restart of the stream is possible). */
  tp->initial_max_streams_bidi = 0;
  tp->initial_max_streams_uni = 4;
  tp->initial_max_stream_data_uni = STREAM_WINDOW;
  tp->initial_max_data = CONNECTION_WINDOW;
  tp->max_idle_timeout = params->idle_timeout_ns;
  tp->max_datagram_frame_size = MAX_DATAGRAM_FRAME_SIZE;
  tp->active_connection_id_limit = 4;
}

static WzpConnection *
connection_new (WzpEndpoint * ep, const WzpAddr * local,
    const WzpAddr * remote, const WzpConnectParams * params, gboolean is_server)
{
  WzpConnection *self = g_object_new (WZP_TYPE_CONNECTION, NULL);

  self->endpoint = ep;
  self->clock = g_object_ref (wzp_endpoint_get_clock (ep));
  self->is_server = is_server;
  self->local = *local;
  self->remote = *remote;
  self->expected_fingerprint = g_strdup (params->expected_fingerprint);
  self->framer = wzp_framer_new (_wzp_endpoint_max_message_size (ep));
  self->keep_alive_ns = params->keep_alive_ns;
  self->ack_hold_ns = _wzp_endpoint_ack_hold (ep);
  return self;
}

static gboolean
connection_start_tls (WzpConnection * self, const WzpConnectParams * params,
    GError ** error)
{
  WzpTlsContext *ctx = _wzp_endpoint_tls (self->endpoint);

  if (params->identity) {
    self->own_tls = wzp_tls_context_new (params->identity,
        _wzp_connection_verify_func (), error);
    if (self->own_tls == NULL)
      return FALSE;
    ctx = self->own_tls;
  }
  self->tls = wzp_tls_session_new (ctx,
      self->conn, get_conn_cb, self, self->is_server,
      params->alpn ? params->alpn : WZP_ALPN, error);
  if (self->tls == NULL)
    return FALSE;
  if (self->keep_alive_ns != WZP_TIME_NONE)
    ngtcp2_conn_set_keep_alive_timeout (self->conn, self->keep_alive_ns);
  return TRUE;
}

static void
register_scids (WzpConnection * self)
{
  gsize n = ngtcp2_conn_get_num_scid (self->conn);
  g_autofree ngtcp2_cid *cids = g_new (ngtcp2_cid, n);

  n = ngtcp2_conn_get_scid (self->conn, cids);
  for (gsize i = 0; i < n; i++)
    _wzp_endpoint_register_cid (self->endpoint, &cids[i], self);
}

WzpConnection *
_wzp_connection_new_client (WzpEndpoint * ep, const WzpAddr * local,
    const WzpAddr * remote, const WzpConnectParams * params, GError ** error)
{
  g_autoptr (WzpConnection) self =
      connection_new (ep, local, remote, params, FALSE);
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params tp;
  ngtcp2_path path;
  ngtcp2_cid dcid, scid;
  int rv;

  fill_callbacks (&callbacks, FALSE);
  fill_settings (self, &settings, params);
  fill_transport_params (&tp, params);
  fill_path (self, &path);
  /* The client's first DCID only has to be unpredictable; 18 bytes is
   * within every limit and above the 8-byte minimum. */
  dcid.datalen = 18;
  wzp_random_bytes (dcid.data, dcid.datalen);
  scid.datalen = WZP_SCID_LEN;
  wzp_random_bytes (scid.data, scid.datalen);

  rv = ngtcp2_conn_client_new (&self->conn, &dcid, &scid, &path,
      NGTCP2_PROTO_VER_V1, &callbacks, &settings, &tp, NULL, self);
  if (rv != 0) {
    g_set_error (error, WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_PROTOCOL,
        "cannot create a QUIC connection: %s", ngtcp2_strerror (rv));
    return NULL;
  }
  if (!connection_start_tls (self, params, error))
    return NULL;
  register_scids (self);
  return g_steal_pointer (&self);
}

WzpConnection *
_wzp_connection_new_server (WzpEndpoint * ep, const WzpAddr * local,
    const WzpAddr * remote, const ngtcp2_pkt_hd * hd,
    const WzpConnectParams * params, GError ** error)
{
  g_autoptr (WzpConnection) self =
      connection_new (ep, local, remote, params, TRUE);
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params tp;
  ngtcp2_path path;
  ngtcp2_cid scid;
  int rv;

  fill_callbacks (&callbacks, TRUE);
  fill_settings (self, &settings, params);
  fill_transport_params (&tp, params);
  tp.original_dcid = hd->dcid;
  fill_path (self, &path);
  scid.datalen = WZP_SCID_LEN;
  wzp_random_bytes (scid.data, scid.datalen);

  rv = ngtcp2_conn_server_new (&self->conn, &hd->scid, &scid, &path,
      hd->version, &callbacks, &settings, &tp, NULL, self);
  if (rv != 0) {
    g_set_error (error, WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_PROTOCOL,
        "cannot accept a QUIC connection: %s", ngtcp2_strerror (rv));
    return NULL;
  }
  if (!connection_start_tls (self, params, error))
    return NULL;
  register_scids (self);
  /* The client keeps using the DCID it picked until it hears from us. */
  _wzp_endpoint_register_cid (ep, &hd->dcid, self);
  return g_steal_pointer (&self);
}

/* --- writing ---------------------------------------------------------- */

static gboolean
open_tx_stream (WzpConnection * self)
{
  int rv;

  if (self->tx_stream >= 0)
    return TRUE;
  rv = ngtcp2_conn_open_uni_stream (self->conn, &self->tx_stream, NULL);
  if (rv != 0) {
    /* NGTCP2_ERR_STREAM_ID_BLOCKED: the peer has not granted a stream
     * yet; extend_max_local_streams_uni tells us when it does. */
    self->tx_stream = -1;
    return FALSE;
  }
  return TRUE;
}

static void
drop_front_datagram (WzpConnection * self)
{
  g_free (g_queue_pop_head (&self->datagrams));
}

/* Writes every packet ngtcp2 has for us now: stream data first (signaling
 * is small and must not starve), then datagrams, then whatever else
 * (ACKs, PINGs, retransmissions).  Returns an ngtcp2 error or 0. */
static int
write_packets (WzpConnection * self)
{
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  guint64 ts = now (self);
  gboolean datagrams_blocked = FALSE;
  guint n_packets = 0;

  ngtcp2_path_storage_zero (&ps);
  if (self->tx_buf->len > self->tx_sent - self->tx_acked &&
      self->state == WZP_CONNECTION_STATE_CONNECTED)
    open_tx_stream (self);

  for (;;) {
    guint8 *buf = _wzp_endpoint_tx_slot (self->endpoint);
    ngtcp2_ssize n;
    gboolean have_stream_data = self->tx_stream >= 0 && !self->tx_blocked &&
        self->tx_sent < self->tx_acked + self->tx_buf->len;
    QueuedDatagram *dg = datagrams_blocked ? NULL :
        g_queue_peek_head (&self->datagrams);

    if (have_stream_data) {
      ngtcp2_vec vec;
      ngtcp2_ssize ndatalen = -1;

      vec.base = self->tx_buf->data + (self->tx_sent - self->tx_acked);
      vec.len = self->tx_acked + self->tx_buf->len - self->tx_sent;
      n = ngtcp2_conn_writev_stream (self->conn, &ps.path, &pi, buf,
          WZP_MAX_UDP_PAYLOAD, &ndatalen, NGTCP2_WRITE_STREAM_FLAG_MORE,
          self->tx_stream, &vec, 1, ts);
      if (ndatalen > 0)
        self->tx_sent += ndatalen;
      if (n == NGTCP2_ERR_WRITE_MORE)
        continue;
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
          n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
        self->tx_blocked = TRUE;
        continue;
      }
    } else if (dg != NULL) {
      ngtcp2_vec vec = { dg->data, dg->len };
      int accepted = 0;

      n = ngtcp2_conn_writev_datagram (self->conn, &ps.path, &pi, buf,
          WZP_MAX_UDP_PAYLOAD, &accepted, NGTCP2_WRITE_DATAGRAM_FLAG_MORE,
          self->next_datagram_id, &vec, 1, ts);
      if (accepted) {
        self->last_datagram_tx = ts;
        self->next_datagram_id++;
        self->stats.datagrams_sent++;
        drop_front_datagram (self);
      }
      if (n == NGTCP2_ERR_WRITE_MORE)
        continue;
      if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
        /* Too large for the peer, or the peer takes no datagrams: this
         * one can never be sent. */
        self->stats.datagrams_dropped++;
        drop_front_datagram (self);
        continue;
      }
      if (n == 0 && !accepted)
        datagrams_blocked = TRUE;
      if (n == 0)
        continue;
    } else {
      n = ngtcp2_conn_write_pkt (self->conn, &ps.path, &pi, buf,
          WZP_MAX_UDP_PAYLOAD, ts);
    }

    if (n < 0)
      return (int) n;
    if (n == 0)
      break;
    {
      WzpAddr to;
      memcpy (&to.storage, ps.path.remote.addr, ps.path.remote.addrlen);
      to.len = ps.path.remote.addrlen;
      _wzp_endpoint_tx_commit (self->endpoint, &to, n);
    }
    self->stats.packets_sent++;
    self->stats.bytes_sent += n;
    n_packets++;
  }
  /* Pace only once the handshake is done.  Before that there is no RTT
   * sample, so ngtcp2 paces with its 333 ms default: after a client's
   * Initial the next packet may leave only ~27 ms later, which held the
   * client's certificate flight back on fast paths until the timer fired.
   * A handshake is a few packets each way; pacing them buys nothing. */
  if (n_packets > 0 && ngtcp2_conn_get_handshake_completed (self->conn))
    ngtcp2_conn_update_pkt_tx_time (self->conn, ts);
  return 0;
}

/* --- closing ---------------------------------------------------------- */

static guint64
close_period (WzpConnection * self)
{
  ngtcp2_conn_stat cstat;
  guint64 pto;

  /* RFC 9000 §10.2: stay around for three PTOs. */
  ngtcp2_conn_get_conn_stat (self->conn, &cstat);
  pto = cstat.smoothed_rtt + MAX (4 * cstat.rttvar, WZP_NSEC_PER_MSEC) +
      25 * WZP_NSEC_PER_MSEC;
  return 3 * pto;
}

static void
record_close (WzpConnection * self, GError * reason)
{
  if (self->close_error == NULL)
    self->close_error = reason;
  else
    g_error_free (reason);
  if (self->state != WZP_CONNECTION_STATE_CLOSED) {
    set_state (self, WZP_CONNECTION_STATE_CLOSED);
    queue_event (self, EVENT_CLOSED, NULL, 0);
  }
}

/* Sends CONNECTION_CLOSE and enters the closing period. */
static void
connection_close_internal (WzpConnection * self,
    ngtcp2_connection_close_error * ccerr, GError * reason)
{
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  guint8 *buf;
  ngtcp2_ssize n;

  if (self->state == WZP_CONNECTION_STATE_CLOSED || self->conn == NULL) {
    g_error_free (reason);
    return;
  }
  WZP_INFO_OBJECT (self, "closing: %s", reason->message);

  ngtcp2_path_storage_zero (&ps);
  buf = _wzp_endpoint_tx_slot (self->endpoint);
  n = ngtcp2_conn_write_connection_close (self->conn, &ps.path, &pi, buf,
      WZP_MAX_UDP_PAYLOAD, ccerr, now (self));
  if (n > 0) {
    WzpAddr to;
    memcpy (&to.storage, ps.path.remote.addr, ps.path.remote.addrlen);
    to.len = ps.path.remote.addrlen;
    g_free (self->close_packet);
    self->close_packet = g_memdup2 (buf, n);
    self->close_packet_len = n;
    self->close_budget = CLOSE_RESEND_BUDGET;
    _wzp_endpoint_tx_commit (self->endpoint, &to, n);
    self->stats.packets_sent++;
    self->stats.bytes_sent += n;
  }
  self->close_until = now (self) + close_period (self);
  record_close (self, reason);
  _wzp_endpoint_update_timer (self->endpoint, self);
}

/* Ends the connection without sending anything (idle timeout, draining,
 * a dropped handshake). */
static void
connection_finish (WzpConnection * self, GError * reason)
{
  WZP_INFO_OBJECT (self, "closed: %s", reason->message);
  self->close_until = 0;
  record_close (self, reason);
  _wzp_endpoint_update_timer (self->endpoint, self);
}

static GError *
peer_close_to_error (WzpConnection * self)
{
  ngtcp2_connection_close_error ccerr;
  g_autofree char *reason = NULL;

  ngtcp2_conn_get_connection_close_error (self->conn, &ccerr);
  if (ccerr.reasonlen > 0)
    reason = g_utf8_make_valid ((const char *) ccerr.reason, ccerr.reasonlen);

  if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
    self->have_peer_close_code = TRUE;
    self->peer_close_code = ccerr.error_code;
    return g_error_new (WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_PEER_CLOSED,
        "peer closed the connection: %s (code %" G_GUINT64_FORMAT ")",
        reason ? reason : "no reason given", ccerr.error_code);
  }
  if (ccerr.error_code >= NGTCP2_CRYPTO_ERROR &&
      ccerr.error_code < NGTCP2_CRYPTO_ERROR + 256) {
    guint8 alert = ccerr.error_code - NGTCP2_CRYPTO_ERROR;
    const char *why = alert == 120 ?
        "the peer does not speak the wzp protocol (no common ALPN)" :
        "the peer refused the TLS handshake";
    return g_error_new (WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_REJECTED_BY_PEER, "%s: TLS alert %s", why,
        wzp_tls_alert_to_string (alert));
  }
  if (ccerr.error_code == NGTCP2_NO_ERROR)
    return g_error_new (WZP_CONNECTION_ERROR,
        WZP_CONNECTION_ERROR_PEER_CLOSED, "peer closed the connection%s%s",
        reason ? ": " : "", reason ? reason : "");
  return g_error_new (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_PROTOCOL,
      "peer closed the connection with QUIC error 0x%" G_GINT64_MODIFIER
      "x%s%s", ccerr.error_code, reason ? ": " : "", reason ? reason : "");
}

/* What to do when ngtcp2 reports @rv from reading, a timer or writing. */
static void
handle_ngtcp2_error (WzpConnection * self, int rv)
{
  ngtcp2_connection_close_error ccerr;

  switch (rv) {
    case NGTCP2_ERR_DRAINING:
      self->close_until = now (self) + close_period (self);
      record_close (self, peer_close_to_error (self));
      WZP_INFO_OBJECT (self, "%s", self->close_error->message);
      _wzp_endpoint_update_timer (self->endpoint, self);
      return;
    case NGTCP2_ERR_IDLE_CLOSE:
      connection_finish (self, g_error_new (WZP_CONNECTION_ERROR,
              WZP_CONNECTION_ERROR_IDLE_TIMEOUT,
              "nothing heard from the peer for %" G_GUINT64_FORMAT " ms",
              ngtcp2_conn_get_local_transport_params (self->conn)->
              max_idle_timeout / WZP_NSEC_PER_MSEC));
      return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:{
      char addr[WZP_ADDR_STRLEN];
      connection_finish (self, g_error_new (WZP_CONNECTION_ERROR,
              WZP_CONNECTION_ERROR_HANDSHAKE_TIMEOUT,
              "no QUIC handshake with %s: the peer is unreachable or its "
              "packets are filtered", wzp_addr_to_string (&self->remote,
                  addr)));
      return;
    }
    case NGTCP2_ERR_DROP_CONN:
      connection_finish (self, g_error_new (WZP_CONNECTION_ERROR,
              WZP_CONNECTION_ERROR_PROTOCOL, "connection dropped"));
      return;
    case NGTCP2_ERR_CRYPTO:{
      guint8 alert = ngtcp2_conn_get_tls_alert (self->conn);
      GError *reason = self->verify_error ? g_error_copy (self->verify_error)
          : g_error_new (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_PROTOCOL,
          "TLS handshake failed: %s", wzp_tls_alert_to_string (alert));
      ngtcp2_connection_close_error_set_transport_error_tls_alert (&ccerr,
          alert, NULL, 0);
      connection_close_internal (self, &ccerr, reason);
      return;
    }
    default:
      ngtcp2_connection_close_error_set_transport_error_liberr (&ccerr, rv,
          NULL, 0);
      connection_close_internal (self, &ccerr,
          g_error_new (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_PROTOCOL,
              "QUIC error: %s", ngtcp2_strerror (rv)));
      return;
  }
}

/* --- after each entry into ngtcp2 ------------------------------------- */

static void
dispatch_events (WzpConnection * self)
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

static void
after_ngtcp2 (WzpConnection * self)
{
  if (self->close_requested && self->state != WZP_CONNECTION_STATE_CLOSED) {
    ngtcp2_connection_close_error ccerr;
    self->close_requested = FALSE;
    ngtcp2_connection_close_error_set_application_error (&ccerr,
        self->close_code, (const uint8_t *) self->close_reason,
        self->close_reason ? strlen (self->close_reason) : 0);
    connection_close_internal (self, &ccerr,
        g_error_new (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_CLOSED,
            "closed: %s", self->close_reason ? self->close_reason : ""));
  }
  if (self->state != WZP_CONNECTION_STATE_CLOSED)
    _wzp_connection_flush (self);
  _wzp_endpoint_update_timer (self->endpoint, self);
  dispatch_events (self);
}

/* --- endpoint entry points -------------------------------------------- */

gboolean
_wzp_connection_read_packet (WzpConnection * self, const WzpAddr * local,
    const WzpAddr * remote, const guint8 * data, gsize len)
{
  ngtcp2_path path;
  ngtcp2_pkt_info pi = { 0 };
  int rv;

  self->stats.packets_received++;
  self->stats.bytes_received += len;

  if (self->state == WZP_CONNECTION_STATE_CLOSED) {
    /* Closing period: the peer missed our CONNECTION_CLOSE. */
    if (self->close_packet && self->close_budget > 0) {
      guint8 *buf = _wzp_endpoint_tx_slot (self->endpoint);
      self->close_budget--;
      memcpy (buf, self->close_packet, self->close_packet_len);
      _wzp_endpoint_tx_commit (self->endpoint, remote, self->close_packet_len);
    }
    return TRUE;
  }

  path.local.addr = (ngtcp2_sockaddr *) & local->storage;
  path.local.addrlen = local->len;
  path.remote.addr = (ngtcp2_sockaddr *) & remote->storage;
  path.remote.addrlen = remote->len;
  path.user_data = NULL;

  self->in_ngtcp2++;
  rv = ngtcp2_conn_read_pkt (self->conn, &path, &pi, data, len, now (self));
  self->in_ngtcp2--;

  if (rv == 0) {
    self->got_valid_packet = TRUE;
    if (!wzp_addr_equal (remote, &self->remote)) {
      char a[WZP_ADDR_STRLEN], b[WZP_ADDR_STRLEN];
      WZP_DEBUG_OBJECT (self, "peer address %s -> %s",
          wzp_addr_to_string (&self->remote, a),
          wzp_addr_to_string (remote, b));
      self->remote = *remote;
    }
  } else if (self->is_server && !self->got_valid_packet &&
      rv != NGTCP2_ERR_CRYPTO) {
    /* The very first packet did not start a handshake: discard quietly,
     * nobody to tell. */
    WZP_DEBUG_OBJECT (self, "discarding a new connection: %s",
        ngtcp2_strerror (rv));
    return FALSE;
  } else {
    WZP_DEBUG_OBJECT (self, "read: %s", ngtcp2_strerror (rv));
    handle_ngtcp2_error (self, rv);
  }
  after_ngtcp2 (self);
  return TRUE;
}

void
_wzp_connection_handle_timer (WzpConnection * self)
{
  int rv;

  if (self->state == WZP_CONNECTION_STATE_CLOSED) {
    if (now (self) >= self->close_until)
      _wzp_endpoint_connection_finished (self->endpoint, self);
    return;
  }
  self->in_ngtcp2++;
  rv = ngtcp2_conn_handle_expiry (self->conn, now (self));
  self->in_ngtcp2--;
  if (rv != 0)
    handle_ngtcp2_error (self, rv);
  after_ngtcp2 (self);
}

void
_wzp_connection_flush (WzpConnection * self)
{
  int rv;

  if (self->conn == NULL || self->state == WZP_CONNECTION_STATE_CLOSED)
    return;
  self->in_ngtcp2++;
  rv = write_packets (self);
  self->in_ngtcp2--;
  if (rv != 0) {
    handle_ngtcp2_error (self, rv);
    /* Errors found while writing are rare; make sure their events go out
     * even though no read or timer is in progress. */
    _wzp_endpoint_mark_dirty (self->endpoint, self);
  }
}

guint64
_wzp_connection_get_deadline (WzpConnection * self)
{
  if (self->conn == NULL)
    return WZP_TIME_NONE;
  guint64 expiry;

  if (self->state == WZP_CONNECTION_STATE_CLOSED)
    return self->close_until;
  expiry = ngtcp2_conn_get_expiry (self->conn);
  /* WzpEndpoint:ack-hold: the expiry is usually the ACK delay, anchored
   * at the first unacknowledged packet, so this stays bounded; the next
   * datagram written carries the (by then due) ACK and moves it. */
  if (self->ack_hold_ns && expiry != UINT64_MAX &&
      self->last_datagram_tx != 0 &&
      expiry < self->last_datagram_tx + ACK_HOLD_MEDIA_WINDOW &&
      self->datagrams.length == 0 &&
      self->tx_sent == self->tx_acked + self->tx_buf->len &&
      self->state == WZP_CONNECTION_STATE_CONNECTED)
    expiry += self->ack_hold_ns;
  return expiry;
}

WzpConnectionEndpointData *
_wzp_connection_endpoint_data (WzpConnection * self)
{
  return &self->epdata;
}

/* Called by the endpoint when it forgets the connection: free the QUIC
 * state now; the GObject may live on in the application's hands. */
void
_wzp_connection_detach (WzpConnection * self)
{
  if (self->state != WZP_CONNECTION_STATE_CLOSED) {
    record_close (self, g_error_new (WZP_CONNECTION_ERROR,
            WZP_CONNECTION_ERROR_CLOSED, "the endpoint was closed"));
  }
  dispatch_events (self);
  g_clear_pointer (&self->tls, wzp_tls_session_free);
  g_clear_pointer (&self->own_tls, wzp_tls_context_free);
  g_clear_pointer (&self->conn, ngtcp2_conn_del);
  self->endpoint = NULL;
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
  g_byte_array_append (self->tx_buf, header, sizeof header);
  g_byte_array_append (self->tx_buf, data, len);
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
    drop_front_datagram (self);
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
    after_ngtcp2 (self);
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
  if (self->datagram_notify)
    self->datagram_notify (self->datagram_data);
  g_queue_clear_full (&self->datagrams, g_free);
  g_queue_clear_full (&self->early_datagrams, (GDestroyNotify) g_bytes_unref);
  while ((e = g_queue_pop_head (&self->events))) {
    g_clear_pointer (&e->bytes, g_bytes_unref);
    g_free (e);
  }
  g_byte_array_unref (self->tx_buf);
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
  self->tx_buf = g_byte_array_new ();
  self->state = WZP_CONNECTION_STATE_HANDSHAKING;
  g_queue_init (&self->datagrams);
  g_queue_init (&self->events);
}

WzpTlsVerifyFunc
_wzp_connection_verify_func (void)
{
  return verify_peer;
}
