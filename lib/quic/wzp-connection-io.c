/* wzp — a QUIC connection's packets: writing (stream data, then the
 * datagram queue, then the rest), the step after each entry into ngtcp2,
 * and the entry points the endpoint calls (read, timer, flush, deadline,
 * detach).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-connection-private.h"

#include <string.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* WzpEndpoint:ack-hold applies while the last datagram left this
 * recently. */
#define ACK_HOLD_MEDIA_WINDOW (100 * WZP_NSEC_PER_MSEC)
/* A packet's worth of stream data spans at most two send-buffer blocks. */
#define TX_VECS 2

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

void
_wzp_connection_drop_front_datagram (WzpConnection * self)
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
  guint64 ts = _wzp_connection_now (self);
  gboolean datagrams_blocked = FALSE;
  guint n_packets = 0;

  ngtcp2_path_storage_zero (&ps);
  if (wzp_send_buffer_unsent (&self->tx) > 0 &&
      self->state == WZP_CONNECTION_STATE_CONNECTED)
    open_tx_stream (self);

  for (;;) {
    guint8 *buf = _wzp_endpoint_tx_slot (self->endpoint);
    ngtcp2_ssize n;
    gboolean have_stream_data = self->tx_stream >= 0 && !self->tx_blocked &&
        wzp_send_buffer_unsent (&self->tx) > 0;
    QueuedDatagram *dg = datagrams_blocked ? NULL :
        g_queue_peek_head (&self->datagrams);

    if (have_stream_data) {
      ngtcp2_vec vecs[TX_VECS];
      gsize n_vecs = wzp_send_buffer_peek_unsent (&self->tx, vecs, TX_VECS);
      ngtcp2_ssize ndatalen = -1;

      n = ngtcp2_conn_writev_stream (self->conn, &ps.path, &pi, buf,
          WZP_MAX_UDP_PAYLOAD, &ndatalen, NGTCP2_WRITE_STREAM_FLAG_MORE,
          self->tx_stream, vecs, n_vecs, ts);
      if (ndatalen > 0)
        wzp_send_buffer_mark_sent (&self->tx, ndatalen);
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
        _wzp_connection_drop_front_datagram (self);
      }
      if (n == NGTCP2_ERR_WRITE_MORE)
        continue;
      if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
        /* Too large for the peer, or the peer takes no datagrams: this
         * one can never be sent. */
        self->stats.datagrams_dropped++;
        _wzp_connection_drop_front_datagram (self);
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
   * A handshake is a few packets each way; pacing them buys nothing.
   * Nor are they counted afterwards: ngtcp2 adds up every byte since its
   * last pacing update, so the flight that completes the handshake would
   * otherwise pay for the whole handshake (~2.4 kB on a client) and hold
   * the first message after it (a registration, a path-ok) back by
   * 2.4 kB / (1.25 cwnd / srtt): 6 ms at a 40 ms RTT, 25 ms at 160 ms.
   * An update at time 0 drops the count and leaves the next send time in
   * the past. */
  if (n_packets > 0 && ngtcp2_conn_get_handshake_completed (self->conn)) {
    ngtcp2_conn_update_pkt_tx_time (self->conn, self->pacing ? ts : 0);
    self->pacing = TRUE;
  }
  return 0;
}

/* --- after each entry into ngtcp2 ------------------------------------- */

void
_wzp_connection_after_ngtcp2 (WzpConnection * self)
{
  if (self->close_requested && self->state != WZP_CONNECTION_STATE_CLOSED) {
    ngtcp2_connection_close_error ccerr;
    self->close_requested = FALSE;
    ngtcp2_connection_close_error_set_application_error (&ccerr,
        self->close_code, (const uint8_t *) self->close_reason,
        self->close_reason ? strlen (self->close_reason) : 0);
    _wzp_connection_close_internal (self, &ccerr,
        g_error_new (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_CLOSED,
            "closed: %s", self->close_reason ? self->close_reason : ""));
  }
  if (self->state != WZP_CONNECTION_STATE_CLOSED)
    _wzp_connection_flush (self);
  _wzp_endpoint_update_timer (self->endpoint, self);
  _wzp_connection_dispatch_events (self);
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
  rv = ngtcp2_conn_read_pkt (self->conn, &path, &pi, data, len,
      _wzp_connection_now (self));
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
    _wzp_connection_handle_ngtcp2_error (self, rv);
  }
  _wzp_connection_after_ngtcp2 (self);
  return TRUE;
}

void
_wzp_connection_handle_timer (WzpConnection * self)
{
  int rv;

  if (self->state == WZP_CONNECTION_STATE_CLOSED) {
    if (_wzp_connection_now (self) >= self->close_until)
      _wzp_endpoint_connection_finished (self->endpoint, self);
    return;
  }
  self->in_ngtcp2++;
  rv = ngtcp2_conn_handle_expiry (self->conn, _wzp_connection_now (self));
  self->in_ngtcp2--;
  if (rv != 0)
    _wzp_connection_handle_ngtcp2_error (self, rv);
  _wzp_connection_after_ngtcp2 (self);
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
    _wzp_connection_handle_ngtcp2_error (self, rv);
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
      wzp_send_buffer_unsent (&self->tx) == 0 &&
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
    _wzp_connection_record_close (self, g_error_new (WZP_CONNECTION_ERROR,
            WZP_CONNECTION_ERROR_CLOSED, "the endpoint was closed"));
  }
  _wzp_connection_dispatch_events (self);
  g_clear_pointer (&self->tls, wzp_tls_session_free);
  g_clear_pointer (&self->own_tls, wzp_tls_context_free);
  g_clear_pointer (&self->conn, ngtcp2_conn_del);
  self->endpoint = NULL;
}
