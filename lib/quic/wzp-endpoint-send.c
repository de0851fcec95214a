/* wzp — a QUIC endpoint's sending side: packets collected into batches and
 * sent with sendmmsg, raw packets, the set of connections with something
 * to write, the one timer (a heap of connection deadlines) and the
 * lifetime of connections.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-endpoint-private.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* --- sending ---------------------------------------------------------- */

Sock *
_wzp_endpoint_sock_for (WzpEndpoint * self, int family)
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

void
_wzp_endpoint_tx_flush (WzpEndpoint * self)
{
  if (self->n_tx == 0)
    return;
  send_batch (self, _wzp_endpoint_sock_for (self, AF_INET), AF_INET);
  send_batch (self, _wzp_endpoint_sock_for (self, AF_INET6), AF_INET6);
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
    _wzp_endpoint_tx_flush (self);
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
  if (_wzp_endpoint_sock_for (self, wzp_addr_family (to)) == NULL)
    return FALSE;
  slot = _wzp_endpoint_tx_slot (self);
  memcpy (slot, data, len);
  _wzp_endpoint_tx_commit (self, to, len);
  return TRUE;
}

/**
 * wzp_endpoint_send_udp:
 * @to: destination
 *
 * Sends one UDP payload that is not QUIC, of any length up to the
 * largest datagram we send, in the endpoint's next batch.  The receiver
 * must know it is not QUIC by other means than its length (channel
 * packets to a relay's media port, which carries nothing else).
 *
 * Returns: %FALSE if there is no socket for that address family or the
 * payload is empty or too long
 */
gboolean
wzp_endpoint_send_udp (WzpEndpoint * self, const WzpAddr * to,
    const guint8 * data, gsize len)
{
  guint8 *slot;

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), FALSE);
  if (len == 0 || len > WZP_MAX_UDP_PAYLOAD)
    return FALSE;
  if (_wzp_endpoint_sock_for (self, wzp_addr_family (to)) == NULL)
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
  _wzp_endpoint_release_admission (self, conn);
  _wzp_connection_detach (conn);
  g_ptr_array_remove_fast (self->dialed, conn);
  self->stats.connections_open--;
  WZP_DEBUG_OBJECT (self, "forgot connection %p (%u open)", conn,
      (guint) self->stats.connections_open);
  g_hash_table_remove (self->conns, conn);
}

void
_wzp_endpoint_add_connection (WzpEndpoint * self, WzpConnection * conn)
{
  g_hash_table_add (self->conns, g_object_ref (conn));
  if (!wzp_connection_is_server (conn))
    g_ptr_array_add (self->dialed, conn);
  self->stats.connections_open++;
  _wzp_endpoint_update_timer (self, conn);
}

void
_wzp_endpoint_flush_all (WzpEndpoint * self)
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
  _wzp_endpoint_tx_flush (self);
  rearm_timer (self);
}

gboolean
_wzp_endpoint_flush_source_dispatch (gpointer user_data)
{
  WzpEndpoint *self = user_data;

  g_source_set_ready_time (self->flush_source, -1);
  self->processing = TRUE;
  _wzp_endpoint_flush_all (self);
  self->processing = FALSE;
  return G_SOURCE_CONTINUE;
}

gboolean
_wzp_endpoint_on_timer (gpointer user_data)
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
  _wzp_endpoint_flush_all (self);
  self->processing = FALSE;
  g_ptr_array_unref (due);
  return G_SOURCE_CONTINUE;
}
