/* wzp — a QUIC connection's ngtcp2 side: the callbacks (which only record
 * events; see wzp-connection.c), peer verification during the handshake,
 * and construction of client and server connections.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-connection-private.h"
#include "wzp-quic-mem.h"

#include <string.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wzp-log-private.h"
#include "wzp-random.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* We accept DATAGRAM frames up to the largest UDP payload; what we send is
 * limited by the path (wzp_connection_get_max_datagram_size). */
#define MAX_DATAGRAM_FRAME_SIZE 65535
/* Flow-control windows for the message stream: signaling is small; this
 * bounds what a peer can make us buffer. */
#define STREAM_WINDOW (256 * 1024)
#define CONNECTION_WINDOW (1024 * 1024)

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
  /* Not random: a restart of this identity must know it (see
   * wzp-stateless-reset.h). */
  _wzp_endpoint_reset_token (self->endpoint, cid->data, cid->datalen, token);
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
  _wzp_connection_set_state (self, WZP_CONNECTION_STATE_CONNECTED);
  _wzp_connection_queue_event (self, EVENT_CONNECTED, NULL, 0);
  return 0;
}

static void
on_frame (const guint8 * frame, gsize len, gpointer user_data)
{
  WzpConnection *self = user_data;

  self->stats.messages_received++;
  _wzp_connection_queue_event (self, EVENT_MESSAGE, g_bytes_new (frame, len),
      len);
}

static void
on_oversize (guint64 declared_len, gpointer user_data)
{
  WzpConnection *self = user_data;

  /* A peer can repeat this as fast as it can send: rate-limited. */
  WZP_WARNING_LIMITED (self, &self->oversize_log, _wzp_connection_now (self),
      "peer %s sent a %" G_GUINT64_FORMAT "-byte message; the limit is %"
      G_GSIZE_FORMAT ": skipped", self->peer_fingerprint, declared_len,
      _wzp_endpoint_max_message_size (self->endpoint));
  _wzp_connection_queue_event (self, EVENT_MESSAGE_TOO_LARGE, NULL,
      declared_len);
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

  /* Called in increasing order of offset, without overlap. */
  if (stream_id == self->tx_stream)
    wzp_send_buffer_ack_to (&self->tx, offset + datalen);
  return 0;
}

static int
extend_max_local_streams_uni_cb (ngtcp2_conn * conn, uint64_t max_streams,
    void *user_data)
{
  WzpConnection *self = user_data;

  if (self->tx_stream < 0 && wzp_send_buffer_unsent (&self->tx) > 0)
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
  self->last_datagram_ack = _wzp_connection_now (self);
  return 0;
}

static int
recv_stateless_reset_cb (ngtcp2_conn * conn, const ngtcp2_pkt_stateless_reset
    * sr, void *user_data)
{
  WzpConnection *self = user_data;

  WZP_INFO_OBJECT (self, "peer reset the connection (stateless reset)");
  self->got_stateless_reset = TRUE;
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
  settings->initial_ts = _wzp_connection_now (self);
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
  self->oversize_log = (WzpLogLimit) WZP_LOG_LIMIT_INIT
      (WZP_LOG_LIMIT_INTERVAL);
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
      NGTCP2_PROTO_VER_V1, &callbacks, &settings, &tp, _wzp_quic_mem (), self);
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
    const ngtcp2_cid * odcid, const WzpConnectParams * params, GError ** error)
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
  if (odcid) {
    /* The address was validated by a Retry (wzp-endpoint-admit.c): the
     * client checks that we name both its first DCID and the Retry's
     * SCID, and the token lifts the 3x anti-amplification limit. */
    tp.original_dcid = *odcid;
    tp.retry_scid = hd->dcid;
    tp.retry_scid_present = 1;
    settings.token.base = (uint8_t *) hd->token.base;
    settings.token.len = hd->token.len;
  } else {
    tp.original_dcid = hd->dcid;
  }
  fill_path (self, &path);
  scid.datalen = WZP_SCID_LEN;
  wzp_random_bytes (scid.data, scid.datalen);
  /* Only a server gives a token for its first connection ID. */
  tp.stateless_reset_token_present = 1;
  _wzp_endpoint_reset_token (ep, scid.data, scid.datalen,
      tp.stateless_reset_token);

  rv = ngtcp2_conn_server_new (&self->conn, &hd->scid, &scid, &path,
      hd->version, &callbacks, &settings, &tp, _wzp_quic_mem (), self);
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

WzpTlsVerifyFunc
_wzp_connection_verify_func (void)
{
  return verify_peer;
}
