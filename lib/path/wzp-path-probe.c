/* wzp — the direct connection: agreement, probes, liveness, failover
 *
 * Agreement: the dialer sends path-ok on the connection it won; the
 * acceptor takes that connection as the direct one and answers
 * path-ok-ack.  Each side switches media to direct once it has both sent
 * and received its half.  After a failover, whichever side first gets a
 * PROBE answered sends path-ok again, and the other side answers.
 *
 * Liveness: both sides send a PROBE datagram every probe interval and
 * answer the peer's.  The path is silent when nothing at all came from
 * the peer (probes, answers, media, messages) for the failover threshold,
 * or nothing showed for that long that our datagrams still reach the
 * peer (the way there is broken even if the peer's packets still reach
 * us): neither a PROBE answered nor a QUIC ACK for a packet carrying one
 * of our datagrams (media or probes).  PROBEs alone are too sparse: with
 * 10 % loss each way a probe round trip fails 19 % of the time, so the
 * four or five probes of a 1 s threshold all fail every few minutes of
 * call; the peer acknowledges our 50 media packets a second about 25
 * times a second.  Either way media
 * goes back to the relay, probing goes on, and the QUIC connection stays
 * until its own idle timeout says the path is gone for good.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-bytes.h"
#include "wzp-path-private.h"

#include <string.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path





/* --- agreement -------------------------------------------------------- */

static void
send_msg (WzpPathManager * self, WzpConnection * conn, guint8 type,
    guint32 epoch)
{
  guint8 msg[WZP_PATH_MSG_LEN];
  g_autoptr (GError) error = NULL;

  msg[0] = type;
  wzp_put_u32 (msg + 1, epoch);
  memcpy (msg + 5, self->token, WZP_PATH_TOKEN_LEN);
  if (!wzp_connection_send_message (conn, msg, sizeof msg, &error))
    WZP_DEBUG_OBJECT (self, "cannot send %s: %s", type == WZP_PATH_MSG_OK ?
        "path-ok" : "path-ok-ack", error->message);
}

void
_wzp_path_send_ok (WzpPathManager * self)
{
  if (self->direct == NULL)
    return;
  self->epoch++;
  self->ok_pending = TRUE;
  WZP_DEBUG_OBJECT (self, "sending path-ok %u", self->epoch);
  send_msg (self, self->direct->conn, WZP_PATH_MSG_OK, self->epoch);
}

/* The peer's QUIC ACKs of our datagrams count as answers too. */
static void
refresh_last_ack (WzpPathManager * self)
{
  guint64 acked;

  if (self->direct == NULL)
    return;
  acked = wzp_connection_get_last_datagram_ack_time (self->direct->conn);
  if (acked > self->last_ack)
    self->last_ack = acked;
}

static void
arm_liveness (WzpPathManager * self)
{
  guint64 now = _wzp_path_now (self);
  guint64 oldest = MIN (self->last_rx, self->last_ack);
  guint64 deadline = oldest + self->t.failover_threshold_ns;

  if (!self->agreed || deadline <= now)
    deadline = now + self->t.failover_threshold_ns;
  wzp_timer_source_set_deadline (self->liveness_timer, deadline);
}

/* Both halves of an agreement are done: media goes direct. */
static void
agreed (WzpPathManager * self)
{
  gboolean first = !self->ever_agreed;
  guint64 now = _wzp_path_now (self);

  self->last_rx = self->last_ack = now;
  if (self->agreed)
    return;
  self->agreed = TRUE;
  self->ever_agreed = TRUE;
  self->rerace_wait = self->t.rerace_interval_ns;
  if (first)
    self->stats.agree_time_ns = now - self->start_time;
  else
    self->stats.restores++;
  arm_liveness (self);
  _wzp_path_update (self, first ? "direct path agreed" :
      "direct path restored");
}

static void
on_message (WzpConnection * conn, GBytes * bytes, gpointer data)
{
  WzpPathAttempt *a = data;
  WzpPathManager *self = a->self;
  gsize len;
  const guint8 *msg = g_bytes_get_data (bytes, &len);
  guint32 epoch;

  if (len != WZP_PATH_MSG_LEN || !_wzp_path_token_equal (msg + 5, self->token)) {
    WZP_WARNING_OBJECT (self, "ignoring a %" G_GSIZE_FORMAT "-byte message "
        "on the direct connection: not a path message of this call", len);
    return;
  }
  epoch = wzp_get_u32 (msg + 1);
  switch (msg[0]) {
    case WZP_PATH_MSG_OK:
      WZP_DEBUG_OBJECT (self, "path-ok %u received", epoch);
      g_object_ref (self);
      if (a != self->direct) {
        if (self->role != WZP_PATH_ROLE_ACCEPTOR
            || !g_ptr_array_find (self->held, a, NULL)) {
          g_object_unref (self);
          return;
        }
        /* The dialer chose this connection. */
        _wzp_path_race_won (self, a);
      }
      if (!self->stopped && a == self->direct) {
        send_msg (self, conn, WZP_PATH_MSG_OK_ACK, epoch);
        agreed (self);
      }
      g_object_unref (self);
      break;
    case WZP_PATH_MSG_OK_ACK:
      if (a != self->direct || !self->ok_pending || epoch != self->epoch) {
        WZP_DEBUG_OBJECT (self, "ignoring stale path-ok-ack %u", epoch);
        return;
      }
      WZP_DEBUG_OBJECT (self, "path-ok-ack %u received", epoch);
      self->ok_pending = FALSE;
      agreed (self);
      break;
    default:
      WZP_WARNING_OBJECT (self, "ignoring path message of unknown type %u",
          msg[0]);
      break;
  }
}

/* --- datagrams -------------------------------------------------------- */

/* Runs inside packet processing: counts, answers, and queues sends; no
 * state change that emits a signal. */
static void
on_datagram (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  WzpPathAttempt *a = user_data;
  WzpPathManager *self = a->self;
  gboolean is_direct = a == self->direct;
  guint64 now = _wzp_path_now (self);

  if (len == 0)
    return;
  if (is_direct)
    self->last_rx = now;
  switch (data[0]) {
    case WZP_PATH_DGRAM_MEDIA:
      self->stats.media_received++;
      if (self->media_func)
        self->media_func (data + 1, len - 1, self->media_data);
      break;
    case WZP_PATH_DGRAM_PROBE:
      if (len != WZP_PATH_PROBE_LEN)
        break;
      self->stats.probes_received++;
      if (!self->blackhole) {
        guint8 ack[WZP_PATH_PROBE_LEN];
        memcpy (ack, data, len);
        ack[0] = WZP_PATH_DGRAM_PROBE_ACK;
        wzp_connection_send_datagram (conn, ack, sizeof ack);
      }
      break;
    case WZP_PATH_DGRAM_PROBE_ACK:{
      guint64 sent;

      if (len != WZP_PATH_PROBE_LEN || !is_direct)
        break;
      sent = wzp_get_u64 (data + 5);
      if (sent > now || now - sent > 60 * WZP_NSEC_PER_SEC)
        break;                  /* not an echo of ours */
      self->stats.probes_answered++;
      self->srtt = self->srtt ? (7 * self->srtt + (now - sent)) / 8 :
          now - sent;
      self->last_ack = now;
      /* The path answers again: ask the peer to agree on it. */
      if (!self->agreed && !self->ok_pending)
        _wzp_path_send_ok (self);
      break;
    }
    default:
      WZP_LOG_OBJECT (self, "ignoring a datagram of type 0x%02x", data[0]);
      break;
  }
}

void
_wzp_path_watch (WzpPathAttempt * a)
{
  wzp_connection_set_datagram_handler (a->conn, on_datagram, a, NULL);
  if (a->message_id == 0)
    a->message_id = g_signal_connect (a->conn, "message",
        G_CALLBACK (on_message), a);
}

/* --- timers ----------------------------------------------------------- */

static gboolean
on_probe_timer (gpointer data)
{
  WzpPathManager *self = data;
  guint8 probe[WZP_PATH_PROBE_LEN];

  if (self->direct == NULL)
    return G_SOURCE_CONTINUE;
  probe[0] = WZP_PATH_DGRAM_PROBE;
  wzp_put_u32 (probe + 1, ++self->probe_seq);
  wzp_put_u64 (probe + 5, _wzp_path_now (self));
  self->stats.probes_sent++;
  if (!self->blackhole)
    wzp_connection_send_datagram (self->direct->conn, probe, sizeof probe);
  _wzp_path_timer_arm (self, self->probe_timer, self->t.probe_interval_ns);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_liveness_timer (gpointer data)
{
  WzpPathManager *self = data;
  guint64 now = _wzp_path_now (self);
  guint64 thr = self->t.failover_threshold_ns;
  guint64 rx_silence, ack_silence;
  g_autofree char *reason = NULL;

  if (self->direct == NULL)
    return G_SOURCE_CONTINUE;
  refresh_last_ack (self);
  rx_silence = now - MIN (self->last_rx, now);
  ack_silence = now - MIN (self->last_ack, now);
  if (!self->agreed || (rx_silence < thr && ack_silence < thr)) {
    arm_liveness (self);
    return G_SOURCE_CONTINUE;
  }
  self->agreed = FALSE;
  self->ok_pending = FALSE;
  self->stats.failovers++;
  if (rx_silence >= thr)
    reason = g_strdup_printf ("direct path silent for %" G_GUINT64_FORMAT
        " ms", rx_silence / WZP_NSEC_PER_MSEC);
  else
    reason = g_strdup_printf ("direct path silent for %" G_GUINT64_FORMAT
        " ms (nothing we sent was answered or acknowledged)",
        ack_silence / WZP_NSEC_PER_MSEC);
  arm_liveness (self);
  _wzp_path_update (self, reason);
  return G_SOURCE_CONTINUE;
}

/* --- the direct connection -------------------------------------------- */

static void
on_direct_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  WzpPathAttempt *a = data;
  WzpPathManager *self = a->self;
  g_autofree char *reason = NULL;
  gboolean rerace;

  /* A peer that closes on purpose (it stopped, the call ended) is not a
   * path that broke. */
  rerace = !g_error_matches (error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_PEER_CLOSED);
  reason = g_strdup_printf ("direct connection closed: %s", error->message);
  _wzp_path_direct_end (self, reason, rerace);
}

/* @a (connected, ours) becomes the direct connection; any previous one
 * is closed.  The dialer starts the agreement at once. */
void
_wzp_path_direct_begin (WzpPathManager * self, WzpPathAttempt * a)
{
  if (self->direct && self->direct != a) {
    WZP_INFO_OBJECT (self, "a new direct connection replaces the old one");
    _wzp_path_attempt_free (self->direct, "replaced by a new connection");
  }
  self->direct = a;
  g_clear_signal_handler (&a->connected_id, a->conn);
  g_clear_signal_handler (&a->closed_id, a->conn);
  a->closed_id = g_signal_connect (a->conn, "closed",
      G_CALLBACK (on_direct_closed), a);
  _wzp_path_watch (a);
  self->agreed = FALSE;
  self->ok_pending = FALSE;
  self->last_rx = self->last_ack = _wzp_path_now (self);
  if (self->probe_timer == NULL)
    self->probe_timer = _wzp_path_timer_new (self, on_probe_timer);
  if (self->liveness_timer == NULL)
    self->liveness_timer = _wzp_path_timer_new (self, on_liveness_timer);
  _wzp_path_timer_arm (self, self->probe_timer, 0);
  arm_liveness (self);
  if (self->role == WZP_PATH_ROLE_DIALER)
    _wzp_path_send_ok (self);
}

/* The direct connection is gone (closed, or given up). */
void
_wzp_path_direct_end (WzpPathManager * self, const char *reason,
    gboolean rerace)
{
  gboolean was_agreed = self->agreed;

  WZP_INFO_OBJECT (self, "%s", reason);
  _wzp_path_attempt_free (self->direct, NULL);
  self->direct = NULL;
  self->agreed = FALSE;
  self->ok_pending = FALSE;
  _wzp_path_timer_disarm (self->probe_timer);
  _wzp_path_timer_disarm (self->liveness_timer);
  /* A peer that ended it on purpose is no failure of the path. */
  if (was_agreed && rerace)
    self->stats.failovers++;
  if (rerace && !self->racing && self->policy != WZP_PATH_POLICY_RELAY_ONLY)
    _wzp_path_schedule_rerace (self);
  _wzp_path_update (self, reason);
}
