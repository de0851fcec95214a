/* wzp — a QUIC endpoint: one UDP socket per address family, client and
 * server at once
 *
 * Packet path: read a batch with recvmmsg, route each packet by its
 * destination connection ID, let ngtcp2 process it, then write what the
 * touched connections have to say and send it all with sendmmsg.  One
 * timer for the whole endpoint, armed at the earliest connection deadline
 * (a GSource per connection would make every main-loop iteration walk
 * thousands of sources on a busy relay).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-endpoint.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "wzp-log.h"
#include "wzp-quic-private.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* Packets read per recvmmsg, and the most we read before giving the main
 * loop back to other sources. */
#define RX_BATCH 32
#define RX_BUDGET 512
#define TX_BATCH 64
/* Kernel socket buffers: a relay forwarding thousands of calls sees
 * bursts; the kernel caps this at net.core.rmem_max/wmem_max. */
#define SOCKET_BUFFER (4 * 1024 * 1024)

typedef struct
{
  guint8 len;
  guint8 data[NGTCP2_MAX_CIDLEN];
} CidKey;

typedef struct
{
  GSocket *socket;
  int fd;
  WzpAddr local;
  GSource *source;
} Sock;

typedef struct
{
  WzpAddr to;
  gsize len;
  guint8 data[WZP_MAX_UDP_PAYLOAD];
} TxSlot;

struct _WzpEndpoint
{
  GObject parent;

  GMainContext *context;
  WzpIdentity *identity;
  WzpClock *clock;
  WzpTlsContext *tls;

  Sock socks[2];                /* [0] IPv4, [1] IPv6 */

  GHashTable *cids;             /* CidKey* -> WzpConnection* (no ref) */
  GHashTable *conns;            /* WzpConnection* -> same (owns a ref) */
  GPtrArray *timers;            /* WzpConnection*, binary min-heap by
                                 * deadline; each knows its slot */
  GSource *timer_source;
  GSource *flush_source;
  GPtrArray *dirty;
  gboolean processing;

  TxSlot *tx;
  guint n_tx;

  guint8 *rx_buffers;

  WzpRawPacketFunc raw_func;
  gpointer raw_data;
  GDestroyNotify raw_notify;

  gboolean accept_incoming;
  guint64 idle_timeout;
  guint64 keep_alive;
  guint64 handshake_timeout;
  guint max_message_size;
  guint max_connections;
  guint ack_threshold;
  guint64 ack_hold;

  WzpEndpointStats stats;
};

enum
{
  SIGNAL_ACCEPT_PEER,
  SIGNAL_INCOMING_CONNECTION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_CONTEXT,
  PROP_IDENTITY,
  PROP_CLOCK,
  PROP_ACCEPT_INCOMING,
  PROP_IDLE_TIMEOUT,
  PROP_KEEP_ALIVE_INTERVAL,
  PROP_HANDSHAKE_TIMEOUT,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_CONNECTIONS,
  PROP_ACK_THRESHOLD,
  PROP_ACK_HOLD,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void wzp_endpoint_initable_init (GInitableIface * iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WzpEndpoint, wzp_endpoint, G_TYPE_OBJECT,
    G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, wzp_endpoint_initable_init));

static void flush_all (WzpEndpoint * self);

/* --- CID table -------------------------------------------------------- */

static guint
cid_hash (gconstpointer key)
{
  const CidKey *k = key;
  guint h = 2166136261u;

  /* FNV-1a; CIDs are random, so anything cheap spreads them well. */
  for (guint i = 0; i < k->len; i++)
    h = (h ^ k->data[i]) * 16777619u;
  return h;
}

static gboolean
cid_equal (gconstpointer a, gconstpointer b)
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

/* --- sending ---------------------------------------------------------- */

static Sock *
sock_for (WzpEndpoint * self, int family)
{
  Sock *s = &self->socks[family == AF_INET6 ? 1 : 0];

  return s->socket ? s : NULL;
}

static void
send_batch (WzpEndpoint * self, Sock * sock, int family)
{
  struct mmsghdr msgs[TX_BATCH];
  struct iovec iovs[TX_BATCH];
  TxSlot *slots[TX_BATCH];
  guint n = 0, done = 0;

  for (guint i = 0; i < self->n_tx; i++) {
    TxSlot *t = &self->tx[i];
    if (t->to.storage.ss_family != family)
      continue;
    slots[n] = t;
    iovs[n].iov_base = t->data;
    iovs[n].iov_len = t->len;
    memset (&msgs[n], 0, sizeof msgs[n]);
    msgs[n].msg_hdr.msg_name = &t->to.storage;
    msgs[n].msg_hdr.msg_namelen = t->to.len;
    msgs[n].msg_hdr.msg_iov = &iovs[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    n++;
  }

  while (done < n) {
    int rv;

    if (sock == NULL) {
      self->stats.send_failures += n - done;
      return;
    }
    rv = sendmmsg (sock->fd, msgs + done, n - done, MSG_DONTWAIT);
    if (rv > 0) {
      for (int i = 0; i < rv; i++) {
        self->stats.packets_sent++;
        self->stats.bytes_sent += slots[done + i]->len;
      }
      done += rv;
      continue;
    }
    if (rv < 0 && errno == EINTR)
      continue;
    /* A full socket buffer or an unreachable destination costs this one
     * packet, never the batch: QUIC retransmits what matters. */
    {
      char addr[WZP_ADDR_STRLEN];
      WZP_LOG_OBJECT (self, "send to %s failed: %s",
          wzp_addr_to_string (&slots[done]->to, addr), g_strerror (errno));
    }
    self->stats.send_failures++;
    done++;
  }
}

static void
tx_flush (WzpEndpoint * self)
{
  if (self->n_tx == 0)
    return;
  send_batch (self, sock_for (self, AF_INET), AF_INET);
  send_batch (self, sock_for (self, AF_INET6), AF_INET6);
  self->n_tx = 0;
}

static void
schedule_flush (WzpEndpoint * self)
{
  if (!self->processing && self->flush_source)
    g_source_set_ready_time (self->flush_source, 0);
}

guint8 *
_wzp_endpoint_tx_slot (WzpEndpoint * self)
{
  if (self->n_tx == TX_BATCH)
    tx_flush (self);
  return self->tx[self->n_tx].data;
}

void
_wzp_endpoint_tx_commit (WzpEndpoint * self, const WzpAddr * to, gsize len)
{
  TxSlot *t = &self->tx[self->n_tx];

  g_assert (self->n_tx < TX_BATCH && len <= WZP_MAX_UDP_PAYLOAD);
  t->to = *to;
  t->len = len;
  self->n_tx++;
  schedule_flush (self);
}

/**
 * wzp_endpoint_send_raw:
 * @to: destination
 *
 * Sends one UDP payload that is not QUIC (hole-punch packets).  It must
 * be at most %WZP_RAW_PACKET_MAX_LEN bytes, so the receiving endpoint can
 * tell it from QUIC.
 *
 * Returns: %FALSE if there is no socket for that address family or the
 * payload is malformed.
 */
gboolean
wzp_endpoint_send_raw (WzpEndpoint * self, const WzpAddr * to,
    const guint8 * data, gsize len)
{
  guint8 *slot;

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), FALSE);
  if (len == 0 || len > WZP_RAW_PACKET_MAX_LEN)
    return FALSE;
  if (sock_for (self, wzp_addr_family (to)) == NULL)
    return FALSE;
  slot = _wzp_endpoint_tx_slot (self);
  memcpy (slot, data, len);
  _wzp_endpoint_tx_commit (self, to, len);
  return TRUE;
}

/* --- connections: dirty set, timers, lifetime ------------------------- */

void
_wzp_endpoint_mark_dirty (WzpEndpoint * self, WzpConnection * conn)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);

  if (ed->dirty || ed->finished)
    return;
  ed->dirty = TRUE;
  g_ptr_array_add (self->dirty, g_object_ref (conn));
  schedule_flush (self);
}

/* The timer heap.  Every packet read or written moves a connection's
 * ngtcp2 expiry, so this is on the per-packet path: an array heap with
 * each connection's slot stored in the connection makes a move one
 * O(log n) sift without allocating (a GSequence re-insert allocated and
 * walked a balanced tree, 12% of a busy relay's time). */

static inline guint64
heap_key (WzpEndpoint * self, guint i)
{
  return _wzp_connection_endpoint_data (g_ptr_array_index (self->timers,
          i))->timer_deadline;
}

static inline void
heap_set (WzpEndpoint * self, guint i, WzpConnection * conn)
{
  self->timers->pdata[i] = conn;
  _wzp_connection_endpoint_data (conn)->timer_index = i + 1;
}

static void
heap_sift_up (WzpEndpoint * self, guint i)
{
  WzpConnection *conn = g_ptr_array_index (self->timers, i);
  guint64 key = _wzp_connection_endpoint_data (conn)->timer_deadline;

  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (heap_key (self, parent) <= key)
      break;
    heap_set (self, i, g_ptr_array_index (self->timers, parent));
    i = parent;
  }
  heap_set (self, i, conn);
}

static void
heap_sift_down (WzpEndpoint * self, guint i)
{
  guint n = self->timers->len;
  WzpConnection *conn = g_ptr_array_index (self->timers, i);
  guint64 key = _wzp_connection_endpoint_data (conn)->timer_deadline;

  for (;;) {
    guint child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && heap_key (self, child + 1) < heap_key (self, child))
      child++;
    if (key <= heap_key (self, child))
      break;
    heap_set (self, i, g_ptr_array_index (self->timers, child));
    i = child;
  }
  heap_set (self, i, conn);
}

static void
rearm_timer (WzpEndpoint * self)
{
  guint64 deadline = self->timers->len > 0 ? heap_key (self, 0) : WZP_TIME_NONE;

  if (wzp_timer_source_get_deadline (self->timer_source) != deadline)
    wzp_timer_source_set_deadline (self->timer_source, deadline);
}

static void
timer_remove (WzpEndpoint * self, WzpConnectionEndpointData * ed)
{
  guint i, last;

  if (ed->timer_index == 0)
    return;
  i = ed->timer_index - 1;
  ed->timer_index = 0;
  last = self->timers->len - 1;
  if (i != last) {
    WzpConnection *moved = g_ptr_array_index (self->timers, last);
    guint64 key = _wzp_connection_endpoint_data (moved)->timer_deadline;
    guint64 old = ed->timer_deadline;
    g_ptr_array_set_size (self->timers, last);
    heap_set (self, i, moved);
    if (key < old)
      heap_sift_up (self, i);
    else
      heap_sift_down (self, i);
  } else {
    g_ptr_array_set_size (self->timers, last);
  }
}

void
_wzp_endpoint_update_timer (WzpEndpoint * self, WzpConnection * conn)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);
  guint64 deadline, old;

  if (ed->finished)
    return;
  deadline = _wzp_connection_get_deadline (conn);
  old = ed->timer_deadline;
  if (ed->timer_index && deadline == old)
    return;
  if (deadline == WZP_TIME_NONE) {
    timer_remove (self, ed);
    ed->timer_deadline = deadline;
  } else if (ed->timer_index == 0) {
    ed->timer_deadline = deadline;
    g_ptr_array_add (self->timers, conn);
    heap_sift_up (self, self->timers->len - 1);
  } else {
    ed->timer_deadline = deadline;
    if (deadline < old)
      heap_sift_up (self, ed->timer_index - 1);
    else
      heap_sift_down (self, ed->timer_index - 1);
  }
  if (!self->processing)
    rearm_timer (self);
}

void
_wzp_endpoint_connection_finished (WzpEndpoint * self, WzpConnection * conn)
{
  WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);

  if (ed->finished)
    return;
  ed->finished = TRUE;
  timer_remove (self, ed);
  if (ed->cid_keys) {
    for (guint i = 0; i < ed->cid_keys->len; i++) {
      CidKey *key = g_ptr_array_index (ed->cid_keys, i);
      g_hash_table_steal (self->cids, key);
      g_free (key);
    }
    g_clear_pointer (&ed->cid_keys, g_ptr_array_unref);
  }
  _wzp_connection_detach (conn);
  self->stats.connections_open--;
  WZP_DEBUG_OBJECT (self, "forgot connection %p (%u open)", conn,
      (guint) self->stats.connections_open);
  g_hash_table_remove (self->conns, conn);
}

static void
add_connection (WzpEndpoint * self, WzpConnection * conn)
{
  g_hash_table_add (self->conns, g_object_ref (conn));
  self->stats.connections_open++;
  _wzp_endpoint_update_timer (self, conn);
}

static void
flush_all (WzpEndpoint * self)
{
  /* Flushing may close a connection, whose events may send on others:
   * loop until nothing is dirty.  Each connection is flushed once per
   * round, so this ends. */
  while (self->dirty->len > 0) {
    GPtrArray *batch = self->dirty;
    self->dirty = g_ptr_array_new_with_free_func (g_object_unref);
    for (guint i = 0; i < batch->len; i++) {
      WzpConnection *conn = g_ptr_array_index (batch, i);
      WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);
      ed->dirty = FALSE;
      if (!ed->finished) {
        _wzp_connection_flush (conn);
        _wzp_endpoint_update_timer (self, conn);
      }
    }
    g_ptr_array_unref (batch);
  }
  tx_flush (self);
  rearm_timer (self);
}

/* A source with no prepare/check: it is ready exactly when its ready time
 * says so, which schedule_flush() sets to "now". */
static gboolean
ready_time_source_dispatch (GSource * source, GSourceFunc callback,
    gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs ready_time_source_funcs = {
  NULL, NULL, ready_time_source_dispatch, NULL,
};

static gboolean
flush_source_dispatch (gpointer user_data)
{
  WzpEndpoint *self = user_data;

  g_source_set_ready_time (self->flush_source, -1);
  self->processing = TRUE;
  flush_all (self);
  self->processing = FALSE;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timer (gpointer user_data)
{
  WzpEndpoint *self = user_data;
  guint64 now = wzp_clock_get_time (self->clock);
  GPtrArray *due = g_ptr_array_new_with_free_func (g_object_unref);

  /* Collect first: handling a connection re-inserts it in the heap.
   * Due entries are popped in deadline order. */
  while (self->timers->len > 0 && heap_key (self, 0) <= now) {
    WzpConnection *conn = g_ptr_array_index (self->timers, 0);
    g_ptr_array_add (due, g_object_ref (conn));
    timer_remove (self, _wzp_connection_endpoint_data (conn));
  }

  self->processing = TRUE;
  for (guint i = 0; i < due->len; i++) {
    WzpConnection *conn = g_ptr_array_index (due, i);
    WzpConnectionEndpointData *ed = _wzp_connection_endpoint_data (conn);
    if (ed->finished)
      continue;
    /* Already out of the heap, so an unchanged deadline is re-inserted,
     * not skipped. */
    _wzp_connection_handle_timer (conn);
    if (!ed->finished)
      _wzp_endpoint_update_timer (self, conn);
  }
  flush_all (self);
  self->processing = FALSE;
  g_ptr_array_unref (due);
  return G_SOURCE_CONTINUE;
}

gboolean
_wzp_endpoint_accept_peer (WzpEndpoint * self, const char *fingerprint,
    const WzpAddr * remote)
{
  g_autoptr (GSocketAddress) addr = wzp_addr_to_gsocketaddress (remote);
  gboolean accept = TRUE;

  g_signal_emit (self, signals[SIGNAL_ACCEPT_PEER], 0, fingerprint, addr,
      &accept);
  if (!accept)
    self->stats.connections_refused++;
  return accept;
}

void
_wzp_endpoint_incoming_connected (WzpEndpoint * self, WzpConnection * conn)
{
  self->stats.connections_accepted++;
  g_signal_emit (self, signals[SIGNAL_INCOMING_CONNECTION], 0, conn);
}

GMainContext *
_wzp_endpoint_context (WzpEndpoint * self)
{
  return self->context;
}

WzpTlsContext *
_wzp_endpoint_tls (WzpEndpoint * self)
{
  return self->tls;
}

gsize
_wzp_endpoint_max_message_size (WzpEndpoint * self)
{
  return self->max_message_size;
}

guint
_wzp_endpoint_ack_threshold (WzpEndpoint * self)
{
  return self->ack_threshold;
}

guint64
_wzp_endpoint_ack_hold (WzpEndpoint * self)
{
  return self->ack_hold;
}

/* --- receiving -------------------------------------------------------- */

static void
fill_default_params (WzpEndpoint * self, WzpConnectParams * p,
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
  WzpConnectParams params;
  g_autoptr (WzpConnection) conn = NULL;
  g_autoptr (GError) error = NULL;

  if (ngtcp2_accept (&hd, data, len) != 0) {
    WZP_LOG_OBJECT (self, "dropping a packet that starts no connection");
    self->stats.dropped_unknown++;
    return;
  }
  if (self->stats.connections_open >= self->max_connections) {
    WZP_WARNING_OBJECT (self, "connection limit (%u) reached: ignoring a new"
        " client", self->max_connections);
    self->stats.connections_refused++;
    return;
  }
  fill_default_params (self, &params, NULL);
  conn = _wzp_connection_new_server (self, &sock->local, from, &hd, &params,
      &error);
  if (conn == NULL) {
    WZP_WARNING_OBJECT (self, "%s", error->message);
    return;
  }
  add_connection (self, conn);
  if (!_wzp_connection_read_packet (conn, &sock->local, from, data, len))
    _wzp_endpoint_connection_finished (self, conn);
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
  WZP_LOG_OBJECT (self, "dropping a packet for an unknown connection "
      "(dcid length %zu, %u known ids)", vc.dcidlen,
      g_hash_table_size (self->cids));
  self->stats.dropped_unknown++;
}

static gboolean
on_readable (gint fd, GIOCondition condition, gpointer user_data)
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
  flush_all (self);
  self->processing = FALSE;
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/* --- binding ---------------------------------------------------------- */

/**
 * wzp_endpoint_bind:
 * @address: a #GInetSocketAddress; port 0 picks a free port
 *
 * Opens the socket for @address's family (one per family).  An IPv6
 * socket is IPv6-only, so an IPv4 socket can sit beside it.
 */
gboolean
wzp_endpoint_bind (WzpEndpoint * self, GSocketAddress * address,
    GError ** error)
{
  GSocketFamily family = g_socket_address_get_family (address);
  Sock *sock;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  int size = SOCKET_BUFFER;

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), FALSE);
  if (family != G_SOCKET_FAMILY_IPV4 && family != G_SOCKET_FAMILY_IPV6) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "only IPv4 and IPv6 addresses can be bound");
    return FALSE;
  }
  sock = &self->socks[family == G_SOCKET_FAMILY_IPV6 ? 1 : 0];
  if (sock->socket) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
        "the endpoint already has an %s socket",
        family == G_SOCKET_FAMILY_IPV6 ? "IPv6" : "IPv4");
    return FALSE;
  }

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  if (family == G_SOCKET_FAMILY_IPV6 &&
      !g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
    return FALSE;
  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_RCVBUF, &size,
      sizeof size);
  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_SNDBUF, &size,
      sizeof size);
  if (!g_socket_bind (socket, address, FALSE, error)) {
    g_autofree char *text = wzp_socket_address_to_string (address);
    g_prefix_error (error, "cannot bind %s: ", text);
    return FALSE;
  }
  local = g_socket_get_local_address (socket, error);
  if (local == NULL)
    return FALSE;

  sock->socket = g_steal_pointer (&socket);
  sock->fd = g_socket_get_fd (sock->socket);
  wzp_addr_from_gsocketaddress (&sock->local, local);
  sock->source = g_unix_fd_source_new (sock->fd, G_IO_IN);
  g_source_set_callback (sock->source, (GSourceFunc) (void (*)(void))
      on_readable, self, NULL);
  g_source_set_name (sock->source, "WzpEndpoint socket");
  g_source_attach (sock->source, self->context);
  {
    char text[WZP_ADDR_STRLEN];
    WZP_INFO_OBJECT (self, "bound %s", wzp_addr_to_string (&sock->local, text));
  }
  return TRUE;
}

/**
 * wzp_endpoint_bind_any:
 * @port: 0 for any free port
 * @ipv6: also open an IPv6 socket, on the same port number when free
 */
gboolean
wzp_endpoint_bind_any (WzpEndpoint * self, guint16 port, gboolean ipv6,
    GError ** error)
{
  g_autoptr (GInetAddress) any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr4 = g_inet_socket_address_new (any4, port);
  guint16 bound;

  if (!wzp_endpoint_bind (self, addr4, error))
    return FALSE;
  if (!ipv6)
    return TRUE;

  bound = wzp_addr_port (&self->socks[0].local);
  {
    g_autoptr (GInetAddress) any6 =
        g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
    g_autoptr (GSocketAddress) addr6 = g_inet_socket_address_new (any6, bound);
    g_autoptr (GError) local_error = NULL;

    if (wzp_endpoint_bind (self, addr6, &local_error))
      return TRUE;
    /* The same port number is a nicety, not a requirement; a host
     * without IPv6 at all is fine too. */
    g_clear_object (&addr6);
    addr6 = g_inet_socket_address_new (any6, 0);
    g_clear_error (&local_error);
    if (!wzp_endpoint_bind (self, addr6, &local_error))
      WZP_INFO_OBJECT (self, "no IPv6 socket: %s", local_error->message);
  }
  return TRUE;
}

/**
 * wzp_endpoint_get_local_address:
 *
 * Returns: (transfer full) (nullable): the bound address of the socket of
 * @family, or %NULL if there is none.
 */
GSocketAddress *
wzp_endpoint_get_local_address (WzpEndpoint * self, GSocketFamily family)
{
  Sock *sock = sock_for (self, family == G_SOCKET_FAMILY_IPV6 ?
      AF_INET6 : AF_INET);

  return sock ? wzp_addr_to_gsocketaddress (&sock->local) : NULL;
}

/* --- dialing ---------------------------------------------------------- */

void
wzp_connect_params_init (WzpConnectParams * params)
{
  memset (params, 0, sizeof *params);
}

WzpConnection *
wzp_endpoint_connect (WzpEndpoint * self, GSocketAddress * remote,
    const char *expected_fingerprint, GError ** error)
{
  WzpConnectParams params;

  wzp_connect_params_init (&params);
  params.expected_fingerprint = expected_fingerprint;
  return wzp_endpoint_connect_full (self, remote, &params, error);
}

/**
 * wzp_endpoint_connect_full:
 *
 * Starts a handshake with @remote from this endpoint's socket of the same
 * family.  Watch #WzpConnection::connected and #WzpConnection::closed.
 *
 * Returns: (transfer full): the new connection, or %NULL with @error set.
 */
WzpConnection *
wzp_endpoint_connect_full (WzpEndpoint * self, GSocketAddress * remote,
    const WzpConnectParams * given, GError ** error)
{
  WzpConnectParams params;
  WzpAddr to;
  Sock *sock;
  WzpConnection *conn;
  g_autofree char *expected = NULL;

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), NULL);
  if (!wzp_addr_from_gsocketaddress (&to, remote)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "not an IP socket address");
    return NULL;
  }
  sock = sock_for (self, wzp_addr_family (&to));
  if (sock == NULL) {
    g_autofree char *text = wzp_socket_address_to_string (remote);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "cannot reach %s: the endpoint has no socket of that family", text);
    return NULL;
  }
  fill_default_params (self, &params, given);
  if (params.expected_fingerprint) {
    expected = wzp_fingerprint_normalize (params.expected_fingerprint, error);
    if (expected == NULL)
      return NULL;
    params.expected_fingerprint = expected;
  }

  conn = _wzp_connection_new_client (self, &sock->local, &to, &params, error);
  if (conn == NULL)
    return NULL;
  add_connection (self, conn);
  _wzp_endpoint_mark_dirty (self, conn);
  {
    char text[WZP_ADDR_STRLEN];
    WZP_DEBUG_OBJECT (self, "dialing %s (expecting %s)",
        wzp_addr_to_string (&to, text), expected ? expected : "any identity");
  }
  return conn;
}

/* --- misc API --------------------------------------------------------- */

void
wzp_endpoint_set_raw_handler (WzpEndpoint * self, WzpRawPacketFunc func,
    gpointer user_data, GDestroyNotify notify)
{
  if (self->raw_notify)
    self->raw_notify (self->raw_data);
  self->raw_func = func;
  self->raw_data = user_data;
  self->raw_notify = notify;
}

/**
 * wzp_endpoint_close_all:
 *
 * Closes every connection with the given code and reason (each emits
 * #WzpConnection::closed).
 */
void
wzp_endpoint_close_all (WzpEndpoint * self, guint64 app_error_code,
    const char *reason)
{
  GList *conns = g_hash_table_get_keys (self->conns);

  for (GList * l = conns; l; l = l->next)
    wzp_connection_close (l->data, app_error_code, reason);
  g_list_free (conns);
  tx_flush (self);
}

void
wzp_endpoint_get_stats (WzpEndpoint * self, WzpEndpointStats * stats)
{
  *stats = self->stats;
}

WzpIdentity *
wzp_endpoint_get_identity (WzpEndpoint * self)
{
  return self->identity;
}

WzpClock *
wzp_endpoint_get_clock (WzpEndpoint * self)
{
  return self->clock;
}

GMainContext *
wzp_endpoint_get_context (WzpEndpoint * self)
{
  return self->context;
}

/**
 * wzp_endpoint_new:
 * @context: (nullable): where the endpoint runs; %NULL for the thread
 *   default context of the caller
 * @identity: whose certificate this endpoint presents
 * @clock: (nullable): %NULL for the system clock
 */
WzpEndpoint *
wzp_endpoint_new (GMainContext * context, WzpIdentity * identity,
    WzpClock * clock, GError ** error)
{
  return g_initable_new (WZP_TYPE_ENDPOINT, NULL, error, "context", context,
      "identity", identity, "clock", clock, NULL);
}

/* --- GObject ---------------------------------------------------------- */

static gboolean
wzp_endpoint_initable_init_impl (GInitable * initable,
    GCancellable * cancellable, GError ** error)
{
  WzpEndpoint *self = WZP_ENDPOINT (initable);

  if (self->identity == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "an endpoint needs an identity");
    return FALSE;
  }
  self->tls = wzp_tls_context_new (self->identity,
      _wzp_connection_verify_func (), error);
  return self->tls != NULL;
}

static void
wzp_endpoint_initable_init (GInitableIface * iface)
{
  iface->init = wzp_endpoint_initable_init_impl;
}

static void
wzp_endpoint_constructed (GObject * object)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  G_OBJECT_CLASS (wzp_endpoint_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  if (self->clock == NULL)
    self->clock = g_object_ref (wzp_clock_get_system ());

  self->timer_source = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->timer_source, on_timer, self, NULL);
  g_source_attach (self->timer_source, self->context);

  self->flush_source = g_source_new (&ready_time_source_funcs,
      sizeof (GSource));
  g_source_set_callback (self->flush_source, flush_source_dispatch, self, NULL);
  g_source_set_name (self->flush_source, "WzpEndpoint flush");
  g_source_attach (self->flush_source, self->context);
}

static void
wzp_endpoint_dispose (GObject * object)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  if (self->conns) {
    GList *conns;

    wzp_endpoint_close_all (self, 0, "endpoint closed");
    conns = g_hash_table_get_keys (self->conns);
    for (GList * l = conns; l; l = l->next)
      _wzp_endpoint_connection_finished (self, l->data);
    g_list_free (conns);
  }
  if (self->dirty) {
    g_ptr_array_set_size (self->dirty, 0);
  }
  for (guint i = 0; i < G_N_ELEMENTS (self->socks); i++) {
    Sock *s = &self->socks[i];
    if (s->source) {
      g_source_destroy (s->source);
      g_clear_pointer (&s->source, g_source_unref);
    }
    if (s->socket) {
      g_socket_close (s->socket, NULL);
      g_clear_object (&s->socket);
    }
  }
  if (self->timer_source) {
    g_source_destroy (self->timer_source);
    g_clear_pointer (&self->timer_source, g_source_unref);
  }
  if (self->flush_source) {
    g_source_destroy (self->flush_source);
    g_clear_pointer (&self->flush_source, g_source_unref);
  }
  if (self->raw_notify)
    self->raw_notify (self->raw_data);
  self->raw_notify = NULL;
  self->raw_func = NULL;
  G_OBJECT_CLASS (wzp_endpoint_parent_class)->dispose (object);
}

static void
wzp_endpoint_finalize (GObject * object)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  g_clear_pointer (&self->conns, g_hash_table_unref);
  g_clear_pointer (&self->cids, g_hash_table_unref);
  g_clear_pointer (&self->timers, g_ptr_array_unref);
  g_clear_pointer (&self->dirty, g_ptr_array_unref);
  g_clear_pointer (&self->tls, wzp_tls_context_free);
  g_free (self->tx);
  g_free (self->rx_buffers);
  g_clear_object (&self->identity);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (wzp_endpoint_parent_class)->finalize (object);
}

static void
wzp_endpoint_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;
    case PROP_CLOCK:
      self->clock = g_value_dup_object (value);
      break;
    case PROP_ACCEPT_INCOMING:
      self->accept_incoming = g_value_get_boolean (value);
      break;
    case PROP_IDLE_TIMEOUT:
      self->idle_timeout = g_value_get_uint64 (value);
      break;
    case PROP_KEEP_ALIVE_INTERVAL:
      self->keep_alive = g_value_get_uint64 (value);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      self->handshake_timeout = g_value_get_uint64 (value);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint (value);
      break;
    case PROP_MAX_CONNECTIONS:
      self->max_connections = g_value_get_uint (value);
      break;
    case PROP_ACK_THRESHOLD:
      self->ack_threshold = g_value_get_uint (value);
      break;
    case PROP_ACK_HOLD:
      self->ack_hold = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_endpoint_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_CLOCK:
      g_value_set_object (value, self->clock);
      break;
    case PROP_ACCEPT_INCOMING:
      g_value_set_boolean (value, self->accept_incoming);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint64 (value, self->idle_timeout);
      break;
    case PROP_KEEP_ALIVE_INTERVAL:
      g_value_set_uint64 (value, self->keep_alive);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      g_value_set_uint64 (value, self->handshake_timeout);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, self->max_connections);
      break;
    case PROP_ACK_THRESHOLD:
      g_value_set_uint (value, self->ack_threshold);
      break;
    case PROP_ACK_HOLD:
      g_value_set_uint64 (value, self->ack_hold);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static gboolean
accept_peer_default (WzpEndpoint * self, const char *fingerprint,
    GSocketAddress * remote)
{
  return TRUE;
}

static void
wzp_endpoint_class_init (WzpEndpointClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->constructed = wzp_endpoint_constructed;
  gobject_class->dispose = wzp_endpoint_dispose;
  gobject_class->finalize = wzp_endpoint_finalize;
  gobject_class->set_property = wzp_endpoint_set_property;
  gobject_class->get_property = wzp_endpoint_get_property;

  /**
   * WzpEndpoint:context:
   *
   * The #GMainContext the endpoint runs on.  The caller iterates it.
   */
  props[PROP_CONTEXT] = g_param_spec_boxed ("context", "Context",
      "GMainContext the endpoint runs on", G_TYPE_MAIN_CONTEXT,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:identity:
   *
   * The identity whose certificate this endpoint presents.
   */
  props[PROP_IDENTITY] = g_param_spec_object ("identity", "Identity",
      "Identity presented in every handshake", WZP_TYPE_IDENTITY,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:clock:
   *
   * Where time comes from; tests pass a #WzpTestClock.
   */
  props[PROP_CLOCK] = g_param_spec_object ("clock", "Clock",
      "Time source for every timer", WZP_TYPE_CLOCK,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:accept-incoming:
   *
   * Whether to accept connections dialed to this endpoint.  Each peer is
   * then put to #WzpEndpoint::accept-peer.
   */
  props[PROP_ACCEPT_INCOMING] = g_param_spec_boolean ("accept-incoming",
      "Accept incoming", "Accept QUIC connections dialed to us", FALSE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:idle-timeout:
   *
   * Nanoseconds without a packet from the peer before a connection
   * closes.
   */
  props[PROP_IDLE_TIMEOUT] = g_param_spec_uint64 ("idle-timeout",
      "Idle timeout", "Close a connection after this long without packets "
      "(ns)", WZP_NSEC_PER_MSEC, G_MAXUINT64 / 2, WZP_DEFAULT_IDLE_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:keep-alive-interval:
   *
   * Nanoseconds of silence after which a connection sends a PING, keeping
   * NAT bindings open.
   */
  props[PROP_KEEP_ALIVE_INTERVAL] = g_param_spec_uint64
      ("keep-alive-interval", "Keep-alive interval",
      "Send a PING after this long without sending (ns)", 0,
      G_MAXUINT64, WZP_DEFAULT_KEEP_ALIVE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:handshake-timeout:
   *
   * Nanoseconds a handshake may take before the connection gives up.
   */
  props[PROP_HANDSHAKE_TIMEOUT] = g_param_spec_uint64 ("handshake-timeout",
      "Handshake timeout", "Give up a handshake after this long (ns)",
      WZP_NSEC_PER_MSEC, G_MAXUINT64 / 2, WZP_DEFAULT_HANDSHAKE_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-message-size:
   *
   * Largest message accepted from a peer; larger ones are skipped and
   * reported with #WzpConnection::message-too-large.
   */
  props[PROP_MAX_MESSAGE_SIZE] = g_param_spec_uint ("max-message-size",
      "Max message size", "Largest message accepted from a peer (bytes)",
      64, 16 * 1024 * 1024, WZP_DEFAULT_MAX_MESSAGE_SIZE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-connections:
   *
   * New clients are ignored while this many connections are open.
   */
  props[PROP_MAX_CONNECTIONS] = g_param_spec_uint ("max-connections",
      "Max connections", "Open connections at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_CONNECTIONS, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:ack-threshold:
   *
   * Ack-eliciting packets received before a connection acknowledges at
   * once (ngtcp2's ack_thresh); below it, the ACK rides on the next
   * packet we send or leaves after the ACK delay (25 ms).  Applies to
   * connections made after it is set.  A relay, which sends every client
   * a datagram whenever its peer speaks, sets it higher to spare an
   * ACK-only packet per two received.
   */
  props[PROP_ACK_THRESHOLD] = g_param_spec_uint ("ack-threshold",
      "ACK threshold", "Packets received before an immediate ACK", 1, 64,
      WZP_DEFAULT_ACK_THRESHOLD, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:ack-hold:
   *
   * Nanoseconds (0 = off, the default) by which a connection that is
   * streaming datagrams postpones its timers so that a pending ACK rides
   * on the next datagram instead of leaving alone.  ngtcp2 0.12 never
   * bundles an ACK before its delay expires, and that delay is
   * min(max_ack_delay, smoothed RTT / 8): on any RTT below ~200 ms and
   * media 20 ms apart, nearly every received packet got an ACK-only
   * packet of its own, doubling the packet count.  Applies only while
   * the connection sent a datagram in the last 100 ms and has nothing
   * queued (so pacing never holds media back); must stay below the
   * advertised max_ack_delay (25 ms) so the peer's RTT and PTO remain
   * right.  Loss detection, PTO and idle timers fire up to this late.
   */
  props[PROP_ACK_HOLD] = g_param_spec_uint64 ("ack-hold", "ACK hold",
      "Delay timers of datagram-streaming connections so ACKs piggyback "
      "(ns, 0 = off)", 0, 20 * WZP_NSEC_PER_MSEC, 0,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  /**
   * WzpEndpoint::accept-peer:
   * @fingerprint: the identity the peer proved
   * @remote: where it connects from
   *
   * Asked during each incoming handshake, once the peer's identity is
   * known.  Return %FALSE to refuse it: the handshake then fails and the
   * peer is told.  The first handler's answer counts; with no handler,
   * every peer is accepted.  Runs inside packet processing: decide, do
   * not call into the endpoint.
   *
   * Returns: %TRUE to accept
   */
  signals[SIGNAL_ACCEPT_PEER] = g_signal_new_class_handler ("accept-peer",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      G_CALLBACK (accept_peer_default), g_signal_accumulator_first_wins,
      NULL, NULL, G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_SOCKET_ADDRESS);
  /**
   * WzpEndpoint::incoming-connection:
   * @connection: the new connection (take a reference to keep it)
   *
   * An accepted peer completed its handshake.
   */
  signals[SIGNAL_INCOMING_CONNECTION] =
      g_signal_new ("incoming-connection", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      WZP_TYPE_CONNECTION);
}

static void
wzp_endpoint_init (WzpEndpoint * self)
{
  self->cids = g_hash_table_new (cid_hash, cid_equal);
  self->conns = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->timers = g_ptr_array_new ();
  self->dirty = g_ptr_array_new_with_free_func (g_object_unref);
  self->tx = g_new (TxSlot, TX_BATCH);
  self->rx_buffers = g_malloc (RX_BATCH * WZP_RX_BUFFER);
  self->idle_timeout = WZP_DEFAULT_IDLE_TIMEOUT;
  self->keep_alive = WZP_DEFAULT_KEEP_ALIVE;
  self->handshake_timeout = WZP_DEFAULT_HANDSHAKE_TIMEOUT;
  self->max_message_size = WZP_DEFAULT_MAX_MESSAGE_SIZE;
  self->max_connections = WZP_DEFAULT_MAX_CONNECTIONS;
  self->ack_threshold = WZP_DEFAULT_ACK_THRESHOLD;
}
