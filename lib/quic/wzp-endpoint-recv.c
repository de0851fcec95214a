/* wzp — a QUIC endpoint's receiving side: the connection-ID table that
 * routes packets, reading batches with recvmmsg, accepting new
 * connections and version negotiation.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-endpoint-private.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "wzp-log-private.h"
#include "wzp-random.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* --- CID table -------------------------------------------------------- */

guint
_wzp_endpoint_cid_hash (gconstpointer key)
{
  const CidKey *k = key;
  guint h = 2166136261u;

  /* FNV-1a; CIDs are random, so anything cheap spreads them well. */
  for (guint i = 0; i < k->len; i++)
    h = (h ^ k->data[i]) * 16777619u;
  return h;
}

gboolean
_wzp_endpoint_cid_equal (gconstpointer a, gconstpointer b)
{
  const CidKey *x = a, *y = b;

  return x->len == y->len && memcmp (x->data, y->data, x->len) == 0;
}

static void
cid_key_set (CidKey * key, const guint8 * data, gsize len)
{
  key->len = MIN (len, NGTCP2_MAX_CIDLEN);
  memcpy (key->data, data, key->len);
}

void
_wzp_endpoint_register_cid (WzpEndpoint * self, const ngtcp2_cid * cid,
    WzpConnection * conn)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);
  CidKey *key = g_new0 (CidKey, 1);

  cid_key_set (key, cid->data, cid->datalen);
  if (g_hash_table_contains (self->cids, key)) {
    g_free (key);
    return;
  }
  if (ed->cid_keys == NULL)
    ed->cid_keys = g_ptr_array_new ();
  g_ptr_array_add (ed->cid_keys, key);
  g_hash_table_insert (self->cids, key, conn);
}

void
_wzp_endpoint_unregister_cid (WzpEndpoint * self, const ngtcp2_cid * cid)
{
  CidKey lookup;
  gpointer key, value;

  cid_key_set (&lookup, cid->data, cid->datalen);
  if (!g_hash_table_lookup_extended (self->cids, &lookup, &key, &value))
    return;
  g_hash_table_steal (self->cids, &lookup);
  g_ptr_array_remove_fast (_wzp_connection_endpoint_data (value)->cid_keys,
      key);
  g_free (key);
}

/* --- receiving -------------------------------------------------------- */

void
_wzp_endpoint_fill_default_params (WzpEndpoint * self, WzpConnectParams * p,
    const WzpConnectParams * given)
{
  if (given)
    *p = *given;
  else
    wzp_connect_params_init (p);
  if (p->idle_timeout_ns == 0)
    p->idle_timeout_ns = self->idle_timeout;
  if (p->keep_alive_ns == 0)
    p->keep_alive_ns = self->keep_alive;
  if (p->handshake_timeout_ns == 0)
    p->handshake_timeout_ns = self->handshake_timeout;
  if (p->initial_rtt_ns == 0)
    p->initial_rtt_ns = self->initial_rtt;
}

static void
send_version_negotiation (WzpEndpoint * self, const WzpAddr * from,
    const ngtcp2_version_cid * vc)
{
  static const guint32 supported[] = { NGTCP2_PROTO_VER_V1 };
  guint8 *slot = _wzp_endpoint_tx_slot (self);
  ngtcp2_ssize n;

  n = ngtcp2_pkt_write_version_negotiation (slot, WZP_MAX_UDP_PAYLOAD,
      (guint8) g_random_int (), vc->scid, vc->scidlen, vc->dcid, vc->dcidlen,
      supported, G_N_ELEMENTS (supported));
  if (n > 0) {
    self->stats.version_negotiations++;
    _wzp_endpoint_tx_commit (self, from, n);
  }
}

static void
accept_new (WzpEndpoint * self, Sock * sock, const WzpAddr * from,
    const guint8 * data, gsize len)
{
  ngtcp2_pkt_hd hd;
  ngtcp2_cid odcid;
  gboolean validated;
  WzpConnectParams params;
  g_autoptr (WzpConnection) conn = NULL;
  g_autoptr (GError) error = NULL;

  if (ngtcp2_accept (&hd, data, len) != 0) {
    WZP_LOG_OBJECT (self, "dropping a packet that starts no connection");
    self->stats.dropped_unknown++;
    return;
  }
  if (!_wzp_endpoint_admit (self, from, &hd, &odcid, &validated))
    return;
  _wzp_endpoint_fill_default_params (self, &params, NULL);
  conn = _wzp_connection_new_server (self, &sock->local, from, &hd,
      validated ? &odcid : NULL, &params, &error);
  if (conn == NULL) {
    WZP_DEBUG_OBJECT (self, "%s", error->message);
    return;
  }
  _wzp_endpoint_add_connection (self, conn);
  _wzp_endpoint_admitted (self, conn, from);
  if (!_wzp_connection_read_packet (conn, &sock->local, from, data, len))
    _wzp_endpoint_connection_finished (self, conn);
}

/* --- stateless reset --------------------------------------------------- */

/* A Stateless Reset looks like a short-header packet whose "connection
 * ID" is random, so it cannot be routed like other packets.  Give a
 * short-header packet nobody claims to each connection we dialed to its
 * sender: ngtcp2 checks it against the tokens the peer gave us and drains
 * the connection when it matches (anything else it discards).  Returns
 * TRUE when a connection took it as a reset, or when it came from a peer
 * we dialed (which must not get a reset from us). */
static gboolean
deliver_possible_reset (WzpEndpoint * self, Sock * sock, const WzpAddr * from,
    const guint8 * data, gsize len)
{
  gboolean ours = FALSE;

  for (guint i = 0; i < self->dialed->len; i++) {
    WzpConnection *conn = g_ptr_array_index (self->dialed, i);
    gboolean reset;

    if (!_wzp_connection_remote_equal (conn, from))
      continue;
    /* A server we dial never gets a reset from us: it would answer one
     * with its own, and so on. */
    ours = TRUE;
    if (wzp_connection_get_state (conn) == WZP_CONNECTION_STATE_CLOSED ||
        len < NGTCP2_MIN_STATELESS_RESET_RANDLEN + WZP_RESET_TOKEN_LEN + 1)
      continue;
    g_object_ref (conn);
    _wzp_connection_read_packet (conn, &sock->local, from, data, len);
    reset = wzp_connection_get_state (conn) == WZP_CONNECTION_STATE_CLOSED;
    g_object_unref (conn);
    if (reset)
      return TRUE;
  }
  return ours;
}

/* Budget of resets per window: enough for a restarted relay to tell every
 * client at once within a few seconds, too little to reflect a flood. */
#define RESET_WINDOW (100 * WZP_NSEC_PER_MSEC)
#define RESETS_PER_WINDOW 100

/* A short-header packet for a connection we do not know (e.g. one from
 * before we restarted): tell its sender with a Stateless Reset, so it
 * stops waiting for us at once.  The reset is shorter than the packet
 * (so two endpoints cannot keep resetting each other) and longer than a
 * raw packet (WZP_RAW_PACKET_MAX_LEN), so it reaches the QUIC path. */
static void
send_stateless_reset (WzpEndpoint * self, const WzpAddr * to,
    const guint8 * dcid, gsize dcid_len, gsize received)
{
  guint8 token[WZP_RESET_TOKEN_LEN];
  guint8 rand[WZP_RESET_MAX_LEN];
  gsize total = MIN (received - 1, WZP_RESET_MAX_LEN);
  guint64 now = wzp_clock_get_time (self->clock);
  guint8 *slot;
  ngtcp2_ssize n;

  if (dcid_len != WZP_SCID_LEN || total <= WZP_RAW_PACKET_MAX_LEN ||
      total < 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + WZP_RESET_TOKEN_LEN)
    return;
  if (now - self->reset_window_start >= RESET_WINDOW) {
    self->reset_window_start = now;
    self->resets_in_window = 0;
  }
  if (self->resets_in_window >= RESETS_PER_WINDOW)
    return;
  self->resets_in_window++;
  _wzp_reset_token (self->reset_key, dcid, dcid_len, token);
  wzp_random_bytes (rand, sizeof rand);
  slot = _wzp_endpoint_tx_slot (self);
  /* ngtcp2 writes the first byte from rand too: total = randlen + token */
  n = ngtcp2_pkt_write_stateless_reset (slot, total, token, rand,
      total - WZP_RESET_TOKEN_LEN);
  if (n > 0) {
    char addr[WZP_ADDR_STRLEN];
    WZP_DEBUG_OBJECT (self, "stateless reset to %s (a connection we do not "
        "know)", wzp_addr_to_string (to, addr));
    _wzp_endpoint_tx_commit (self, to, n);
  }
}

static void
handle_packet (WzpEndpoint * self, Sock * sock, const WzpAddr * from,
    const guint8 * data, gsize len)
{
  ngtcp2_version_cid vc;
  CidKey key;
  WzpConnection *conn;
  int rv;

  self->stats.packets_received++;
  self->stats.bytes_received += len;

  if (len == 0) {
    self->stats.dropped_invalid++;
    return;
  }
  /* Sources that are not QUIC peers (a relay's media port): their
   * handler takes everything they send.  A handful at most. */
  for (guint i = 0; i < self->source_handlers->len; i++) {
    SourceHandler *h = &g_array_index (self->source_handlers, SourceHandler,
        i);
    if (wzp_addr_equal (&h->source, from)) {
      h->func (self, from, data, len, h->data);
      return;
    }
  }
  /* Too short to be QUIC: hole-punch packets (see WZP_RAW_PACKET_MAX_LEN). */
  if (len <= WZP_RAW_PACKET_MAX_LEN) {
    if (self->raw_func)
      self->raw_func (self, from, data, len, self->raw_data);
    else
      self->stats.dropped_not_quic++;
    return;
  }

  rv = ngtcp2_pkt_decode_version_cid (&vc, data, len, WZP_SCID_LEN);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    /* Only answer datagrams as large as a client Initial, so we never
     * send more than we received. */
    if (self->accept_incoming && len >= NGTCP2_MAX_UDP_PAYLOAD_SIZE)
      send_version_negotiation (self, from, &vc);
    return;
  }
  if (rv != 0) {
    self->stats.dropped_invalid++;
    return;
  }

  cid_key_set (&key, vc.dcid, vc.dcidlen);
  conn = g_hash_table_lookup (self->cids, &key);
  if (conn) {
    g_object_ref (conn);
    _wzp_connection_read_packet (conn, &sock->local, from, data, len);
    g_object_unref (conn);
    return;
  }
  if ((data[0] & 0x80) && self->accept_incoming) {
    accept_new (self, sock, from, data, len);
    return;
  }
  if (!(data[0] & 0x80) && !deliver_possible_reset (self, sock, from, data,
          len))
    send_stateless_reset (self, from, vc.dcid, vc.dcidlen, len);
  WZP_LOG_OBJECT (self, "dropping a packet for an unknown connection "
      "(dcid length %zu, %u known ids)", vc.dcidlen,
      g_hash_table_size (self->cids));
  self->stats.dropped_unknown++;
}

gboolean
_wzp_endpoint_on_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  WzpEndpoint *self = user_data;
  Sock *sock = self->socks[0].fd == fd ? &self->socks[0] : &self->socks[1];
  struct mmsghdr msgs[RX_BATCH];
  struct iovec iovs[RX_BATCH];
  WzpAddr from[RX_BATCH];
  guint total = 0;

  g_object_ref (self);
  self->processing = TRUE;
  while (total < RX_BUDGET) {
    int n;

    for (guint i = 0; i < RX_BATCH; i++) {
      iovs[i].iov_base = self->rx_buffers + i * WZP_RX_BUFFER;
      iovs[i].iov_len = WZP_RX_BUFFER;
      memset (&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &from[i].storage;
      msgs[i].msg_hdr.msg_namelen = sizeof from[i].storage;
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg (fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        WZP_DEBUG_OBJECT (self, "recvmmsg: %s", g_strerror (errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      from[i].len = msgs[i].msg_hdr.msg_namelen;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        self->stats.dropped_invalid++;
        continue;
      }
      handle_packet (self, sock, &from[i], iovs[i].iov_base, msgs[i].msg_len);
    }
    total += n;
    if (n < RX_BATCH)
      break;
  }
  _wzp_endpoint_flush_all (self);
  self->processing = FALSE;
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}
