/* wzp — a QUIC endpoint's admission of new connections: which client
 * Initials get connection state.
 *
 * A server connection costs ~100 KB and a TLS handshake (key exchange,
 * a signature) from the first Initial on, and until the client finishes
 * the handshake nothing proves the client is even at the address it
 * claims.  Without limits, one socket sending Initials with fresh
 * connection IDs (from spoofed sources or not) fills memory and the
 * connection table, and makes the server send up to three times each
 * Initial's size to whichever address the packet named.  So, for an
 * Initial that starts no known connection, in this order:
 *
 * 1. the connection table (max-connections) and the client's source
 *    (max-connections-per-source; a source is an IPv4 address or an IPv6
 *    /64, see wzp-source.h) must have room, else the packet is dropped;
 * 2. a client without a valid token gets a stateless Retry (RFC 9000
 *    §8.1.2) when the endpoint is in retry=always, or in retry=auto while
 *    the handshakes in progress (half-open connections) reach
 *    retry-threshold overall or retry-threshold-per-source from its
 *    source.  The Retry carries a token (ngtcp2's retry-token helpers:
 *    AEAD-sealed with this endpoint's secret, bound to the client's
 *    address and port and the connection IDs, valid
 *    WZP_RETRY_TOKEN_LIFETIME), which only a client that receives packets
 *    at that address can echo.  A Retry is one ~140-byte packet and no
 *    state, whatever the Initial;
 * 3. an Initial with a Retry token that does not verify (forged, from
 *    another address, expired) is answered with a stateless
 *    CONNECTION_CLOSE (INVALID_TOKEN), as RFC 9000 §8.1.3 asks;
 * 4. the half-open connections must stay under max-half-open overall and
 *    max-half-open-per-source for the source, else the packet is
 *    dropped.
 *
 * With retry=auto a spoofed flood therefore gets at most retry-threshold
 * connections (which expire after the handshake timeout) and Retries for
 * the rest, while a real client pays one extra round trip only while the
 * threshold is reached.  Refusals are counted in WzpEndpointStats and
 * logged at most once per WZP_LOG_LIMIT_INTERVAL per kind.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-endpoint-private.h"

#include <string.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wzp-random.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

static gboolean
source_below (WzpSourceCounter * counter, const WzpSource * source, guint limit)
{
  return wzp_source_counter_get (counter, source) < limit;
}

/* @kind picks the log limiter, so one flood of refusals does not hide
 * another kind's warning. */
static void
refuse (WzpEndpoint * self, guint kind, guint64 * counter,
    const WzpAddr * from, const WzpSource * source, const char *what,
    guint limit)
{
  char addr[WZP_ADDR_STRLEN], src[WZP_SOURCE_STRLEN];

  (*counter)++;
  self->stats.connections_refused++;
  WZP_WARNING_LIMITED (self, &self->refuse_logs[kind],
      wzp_clock_get_time (self->clock),
      "%s limit (%u) reached: ignoring a new connection from %s (source %s)",
      what, limit, wzp_addr_to_string (from, addr),
      wzp_source_to_string (source, src));
}

static void
send_retry (WzpEndpoint * self, const WzpAddr * from, const ngtcp2_pkt_hd * hd)
{
  guint8 token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  ngtcp2_cid scid;
  ngtcp2_ssize tokenlen, n;
  guint8 *slot;

  scid.datalen = WZP_SCID_LEN;
  wzp_random_bytes (scid.data, scid.datalen);
  tokenlen = ngtcp2_crypto_generate_retry_token (token, self->token_secret,
      sizeof self->token_secret, hd->version,
      (const ngtcp2_sockaddr *) &from->storage, from->len, &scid, &hd->dcid,
      wzp_clock_get_time (self->clock));
  if (tokenlen < 0) {
    WZP_DEBUG_OBJECT (self, "cannot make a Retry token");
    return;
  }
  slot = _wzp_endpoint_tx_slot (self);
  n = ngtcp2_crypto_write_retry (slot, WZP_MAX_UDP_PAYLOAD, hd->version,
      &hd->scid, &scid, &hd->dcid, token, tokenlen);
  if (n < 0) {
    WZP_DEBUG_OBJECT (self, "cannot write a Retry packet");
    return;
  }
  self->stats.retries_sent++;
  _wzp_endpoint_tx_commit (self, from, n);
}

static void
send_invalid_token (WzpEndpoint * self, const WzpAddr * from,
    const ngtcp2_pkt_hd * hd)
{
  guint8 *slot = _wzp_endpoint_tx_slot (self);
  ngtcp2_ssize n;

  n = ngtcp2_crypto_write_connection_close (slot, WZP_MAX_UDP_PAYLOAD,
      hd->version, &hd->scid, &hd->dcid, NGTCP2_INVALID_TOKEN, NULL, 0);
  if (n > 0)
    _wzp_endpoint_tx_commit (self, from, n);
}

/**
 * _wzp_endpoint_admit:
 * @hd: the decoded header of a client Initial that matched no connection
 * @odcid: (out): with a valid Retry token, the client's original DCID
 * @validated: (out): whether the token proved the client's address
 *
 * Returns: %TRUE when the caller may make a connection for @hd; else the
 * packet was answered (Retry, CONNECTION_CLOSE) or dropped and counted.
 */
gboolean
_wzp_endpoint_admit (WzpEndpoint * self, const WzpAddr * from,
    const ngtcp2_pkt_hd * hd, ngtcp2_cid * odcid, gboolean * validated)
{
  WzpSource source;
  guint src_half_open;
  gboolean need_retry;

  *validated = FALSE;
  wzp_source_from_addr (&source, from);

  if (self->stats.connections_open >= self->max_connections) {
    refuse (self, 0, &self->stats.refused_max_connections, from, &source,
        "max-connections", self->max_connections);
    return FALSE;
  }
  if (!source_below (self->conns_by_source, &source,
          self->max_connections_per_source)) {
    refuse (self, 1, &self->stats.refused_connections_per_source, from,
        &source,
        "max-connections-per-source", self->max_connections_per_source);
    return FALSE;
  }

  /* Only tokens we issued in a Retry mean anything: we send no NEW_TOKEN
   * frames, so any other token is ignored (RFC 9000 §8.1.3 lets a server
   * treat it as absent). */
  if (hd->token.len > 0 && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token (odcid, hd->token.base,
            hd->token.len, self->token_secret, sizeof self->token_secret,
            hd->version, (const ngtcp2_sockaddr *) &from->storage, from->len,
            &hd->dcid, WZP_RETRY_TOKEN_LIFETIME,
            wzp_clock_get_time (self->clock)) != 0) {
      char addr[WZP_ADDR_STRLEN];

      self->stats.invalid_tokens++;
      self->stats.connections_refused++;
      WZP_INFO_LIMITED (self, &self->token_log,
          wzp_clock_get_time (self->clock),
          "invalid or expired Retry token from %s: closing",
          wzp_addr_to_string (from, addr));
      send_invalid_token (self, from, hd);
      return FALSE;
    }
    *validated = TRUE;
  }

  src_half_open = wzp_source_counter_get (self->half_open_by_source, &source);
  if (!*validated) {
    switch (self->retry_mode) {
      case WZP_RETRY_ALWAYS:
        need_retry = TRUE;
        break;
      case WZP_RETRY_AUTO:
        need_retry = self->stats.handshakes_in_progress >=
            self->retry_threshold ||
            src_half_open >= self->retry_threshold_per_source;
        break;
      case WZP_RETRY_NEVER:
      default:
        need_retry = FALSE;
        break;
    }
    if (need_retry) {
      send_retry (self, from, hd);
      return FALSE;
    }
  }

  if (self->stats.handshakes_in_progress >= self->max_half_open) {
    refuse (self, 2, &self->stats.refused_max_half_open, from, &source,
        "max-half-open", self->max_half_open);
    return FALSE;
  }
  if (src_half_open >= self->max_half_open_per_source) {
    refuse (self, 3, &self->stats.refused_half_open_per_source, from,
        &source, "max-half-open-per-source", self->max_half_open_per_source);
    return FALSE;
  }
  return TRUE;
}

/* @conn was made for an admitted Initial from @from: count it. */
void
_wzp_endpoint_admitted (WzpEndpoint * self, WzpConnection * conn,
    const WzpAddr * from)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);

  wzp_source_from_addr (&ed->source, from);
  ed->admitted = TRUE;
  ed->half_open = TRUE;
  wzp_source_counter_add (self->conns_by_source, &ed->source);
  wzp_source_counter_add (self->half_open_by_source, &ed->source);
  self->stats.handshakes_in_progress++;
  self->stats.sources =
      wzp_source_counter_get_n_sources (self->conns_by_source);
}

/* An accepted connection completed its handshake. */
void
_wzp_endpoint_handshake_done (WzpEndpoint * self, WzpConnection * conn)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);

  if (!ed->half_open)
    return;
  ed->half_open = FALSE;
  wzp_source_counter_remove (self->half_open_by_source, &ed->source);
  self->stats.handshakes_in_progress--;
}

/* The connection is gone: give its slots back. */
void
_wzp_endpoint_release_admission (WzpEndpoint * self, WzpConnection * conn)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);

  if (!ed->admitted)
    return;
  _wzp_endpoint_handshake_done (self, conn);
  ed->admitted = FALSE;
  wzp_source_counter_remove (self->conns_by_source, &ed->source);
  self->stats.sources =
      wzp_source_counter_get_n_sources (self->conns_by_source);
}

/* --- WzpRetryMode ----------------------------------------------------- */

static const GEnumValue retry_mode_values[] = {
  {WZP_RETRY_NEVER, "WZP_RETRY_NEVER", "never"},
  {WZP_RETRY_AUTO, "WZP_RETRY_AUTO", "auto"},
  {WZP_RETRY_ALWAYS, "WZP_RETRY_ALWAYS", "always"},
  {0, NULL, NULL}
};

GType
wzp_retry_mode_get_type (void)
{
  static gsize type;

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("WzpRetryMode", retry_mode_values);
    g_once_init_leave (&type, t);
  }
  return type;
}

const char *
wzp_retry_mode_to_string (WzpRetryMode mode)
{
  for (guint i = 0; retry_mode_values[i].value_nick; i++)
    if ((WzpRetryMode) retry_mode_values[i].value == mode)
      return retry_mode_values[i].value_nick;
  return "?";
}

/**
 * wzp_retry_mode_from_string:
 * @text: "never", "auto" or "always"
 */
gboolean
wzp_retry_mode_from_string (const char *text, WzpRetryMode * mode)
{
  for (guint i = 0; retry_mode_values[i].value_nick; i++) {
    if (g_strcmp0 (text, retry_mode_values[i].value_nick) == 0) {
      *mode = retry_mode_values[i].value;
      return TRUE;
    }
  }
  return FALSE;
}
