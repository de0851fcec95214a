/* wzp — closing a QUIC connection: CONNECTION_CLOSE and the closing
 * period, draining, and mapping ngtcp2 errors and the peer's close to
 * WzpConnectionError.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-connection-private.h"

#include <string.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* A closed connection answers stray packets with its CONNECTION_CLOSE at
 * most this many times, so a flood cannot make us a reflector. */
#define CLOSE_RESEND_BUDGET 8

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

void
_wzp_connection_record_close (WzpConnection * self, GError * reason)
{
  if (self->close_error == NULL)
    self->close_error = reason;
  else
    g_error_free (reason);
  if (self->state != WZP_CONNECTION_STATE_CLOSED) {
    _wzp_connection_set_state (self, WZP_CONNECTION_STATE_CLOSED);
    _wzp_connection_queue_event (self, EVENT_CLOSED, NULL, 0);
  }
}

/* Sends CONNECTION_CLOSE and enters the closing period. */
void
_wzp_connection_close_internal (WzpConnection * self,
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
      WZP_MAX_UDP_PAYLOAD, ccerr, _wzp_connection_now (self));
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
  self->close_until = _wzp_connection_now (self) + close_period (self);
  _wzp_connection_record_close (self, reason);
  _wzp_endpoint_update_timer (self->endpoint, self);
}

/* Ends the connection without sending anything (idle timeout, draining,
 * a dropped handshake). */
static void
connection_finish (WzpConnection * self, GError * reason)
{
  WZP_INFO_OBJECT (self, "closed: %s", reason->message);
  self->close_until = 0;
  _wzp_connection_record_close (self, reason);
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

/**
 * wzp_connection_get_idle_timeout:
 *
 * Returns: the idle timeout in force (ns): the smaller of ours and the
 *   peer's; 0 for none
 */
guint64
wzp_connection_get_idle_timeout (WzpConnection * self)
{
  guint64 idle =
      ngtcp2_conn_get_local_transport_params (self->conn)->max_idle_timeout;
  const ngtcp2_transport_params *remote =
      ngtcp2_conn_get_remote_transport_params (self->conn);

  if (remote && remote->max_idle_timeout &&
      (idle == 0 || remote->max_idle_timeout < idle))
    idle = remote->max_idle_timeout;
  return idle;
}

/* What to do when ngtcp2 reports @rv from reading, a timer or writing. */
void
_wzp_connection_handle_ngtcp2_error (WzpConnection * self, int rv)
{
  ngtcp2_connection_close_error ccerr;

  switch (rv) {
    case NGTCP2_ERR_DRAINING:
      self->close_until = _wzp_connection_now (self) + close_period (self);
      if (self->got_stateless_reset)
        _wzp_connection_record_close (self, g_error_new_literal
            (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_RESET,
                "the peer reset the connection (stateless reset): it no "
                "longer knows it, e.g. it restarted"));
      else
        _wzp_connection_record_close (self, peer_close_to_error (self));
      WZP_INFO_OBJECT (self, "%s", self->close_error->message);
      _wzp_endpoint_update_timer (self->endpoint, self);
      return;
    case NGTCP2_ERR_IDLE_CLOSE:
      connection_finish (self, g_error_new (WZP_CONNECTION_ERROR,
              WZP_CONNECTION_ERROR_IDLE_TIMEOUT,
              "nothing heard from the peer for %" G_GUINT64_FORMAT " ms",
              wzp_connection_get_idle_timeout (self) / WZP_NSEC_PER_MSEC));
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
      _wzp_connection_close_internal (self, &ccerr, reason);
      return;
    }
    default:
      ngtcp2_connection_close_error_set_transport_error_liberr (&ccerr, rv,
          NULL, 0);
      _wzp_connection_close_internal (self, &ccerr,
          g_error_new (WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_PROTOCOL,
              "QUIC error: %s", ngtcp2_strerror (rv)));
      return;
  }
}
