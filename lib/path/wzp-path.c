/* wzp — the path manager's core: the object, its state machine and the
 * media API
 *
 * The race (wzp-path-race.c) reports a winning connection; from then on
 * this file owns it as the direct connection.  Agreement: the dialer sends
 * path-ok on the connection it won; the acceptor takes that connection
 * (the race reports it as "chosen") and answers path-ok-ack.  Each side
 * switches media to direct once it has both sent and received its half.
 * After a failover, whichever side first gets a PROBE answered sends
 * path-ok again, and the other side answers.
 *
 * Liveness (wzp-path-liveness.c): the peer's QUIC ACKs of our datagrams.
 * In doubt (an ACK late by more than QUIC itself would wait) media goes on
 * both paths and probes go faster; silent (late by the failover
 * threshold) media goes back to the relay, probing goes on, and the QUIC
 * connection stays until its own idle timeout says the path is gone for
 * good, which starts a re-race.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-private.h"

#include <string.h>

#include "wzp-identity.h"
#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

enum
{
  SIGNAL_PATH_CHANGED,
  SIGNAL_RACE_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (WzpPathManager, wzp_path_manager, G_TYPE_OBJECT);

/* --- timers ----------------------------------------------------------- */

static guint64
now (WzpPathManager * self)
{
  return wzp_clock_get_time (self->clock);
}

/* A re-armable timer on the endpoint's clock and context; it fires once
 * per arming.  @func returns G_SOURCE_CONTINUE (it re-arms if it wants). */
static GSource *
timer_new (WzpPathManager * self, GSourceFunc func)
{
  GSource *timer = wzp_timer_source_new (self->clock);

  g_source_set_callback (timer, func, self, NULL);
  g_source_attach (timer, self->context);
  return timer;
}

static void
timer_arm (WzpPathManager * self, GSource * timer, guint64 delay_ns)
{
  wzp_timer_source_set_deadline (timer, now (self) + delay_ns);
}

static void
timer_disarm (GSource * timer)
{
  if (timer)
    wzp_timer_source_set_deadline (timer, WZP_TIME_NONE);
}

static void
timer_destroy (GSource ** timer)
{
  if (*timer) {
    g_source_destroy (*timer);
    g_clear_pointer (timer, g_source_unref);
  }
}

/* --- the path --------------------------------------------------------- */

/* Recomputes the path from the state and tells everyone if it changed.
 * Emits signals: call it last, from a context that may (not inside packet
 * processing), and check self->stopped afterwards. */
static void
update (WzpPathManager * self, const char *reason)
{
  WzpPathKind path;

  if (self->stopped || !self->started)
    path = WZP_PATH_NONE;
  else if (self->agreed)
    path = WZP_PATH_DIRECT;
  else if (self->policy == WZP_PATH_POLICY_DIRECT_ONLY)
    path = WZP_PATH_NONE;
  else
    path = WZP_PATH_RELAY;

  if (path == self->path)
    return;
  WZP_INFO_OBJECT (self, "path %s -> %s: %s",
      wzp_path_kind_to_string (self->path), wzp_path_kind_to_string (path),
      reason);
  self->path = path;
  self->switch_time = now (self);
  g_object_ref (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PATH]);
  g_signal_emit (self, signals[SIGNAL_PATH_CHANGED], 0, path, reason);
  g_object_unref (self);
}

/* --- sending on the direct connection --------------------------------- */

static void
arm_liveness (WzpPathManager * self)
{
  guint64 next;

  _wzp_path_liveness_check (&self->live, now (self), &next);
  wzp_timer_source_set_deadline (self->liveness_timer, next == G_MAXUINT64 ?
      WZP_TIME_NONE : next);
}

/* Every datagram we put on the direct connection goes through here: it
 * starts the wait for its ACK. */
static gboolean
direct_send (WzpPathManager * self, const guint8 * data, gsize len)
{
  gboolean was_waiting = self->live.unacked_since != 0;

  if (!wzp_connection_send_datagram (self->direct, data, len))
    return FALSE;
  _wzp_path_liveness_sent (&self->live, now (self),
      wzp_connection_get_last_datagram_ack_time (self->direct));
  if (!was_waiting && self->live.unacked_since != 0)
    arm_liveness (self);
  return TRUE;
}

static void
send_msg (WzpPathManager * self, WzpConnection * conn, guint8 type,
    guint32 epoch)
{
  guint8 msg[WZP_PATH_MSG_LEN];
  g_autoptr (GError) error = NULL;

  _wzp_path_wire_msg (msg, type, epoch, self->token);
  if (!wzp_connection_send_message (conn, msg, sizeof msg, &error))
    WZP_DEBUG_OBJECT (self, "cannot send %s: %s", type == WZP_PATH_MSG_OK ?
        "path-ok" : "path-ok-ack", error->message);
}

static void
send_greeting (WzpPathManager * self)
{
  gsize len;
  const guint8 *g = g_bytes_get_data (self->greeting, &len);
  g_autofree guint8 *msg = g_malloc (len + 1);
  g_autoptr (GError) error = NULL;

  msg[0] = WZP_PATH_MSG_GREETING;
  memcpy (msg + 1, g, len);
  if (!wzp_connection_send_message (self->direct, msg, len + 1, &error))
    WZP_DEBUG_OBJECT (self, "cannot send the greeting: %s", error->message);
}

static void
send_ok (WzpPathManager * self)
{
  if (self->direct == NULL)
    return;
  self->epoch++;
  self->ok_pending = TRUE;
  WZP_DEBUG_OBJECT (self, "sending path-ok %u", self->epoch);
  send_msg (self, self->direct, WZP_PATH_MSG_OK, self->epoch);
}

static void
send_probe (WzpPathManager * self)
{
  guint8 probe[WZP_PATH_PROBE_LEN];

  _wzp_path_wire_probe (probe, WZP_PATH_DGRAM_PROBE, ++self->probe_seq,
      now (self));
  self->stats.probes_sent++;
  direct_send (self, probe, sizeof probe);
}

/* --- agreement and liveness ------------------------------------------- */

static guint64
probe_interval (WzpPathManager * self)
{
  /* In doubt, a few probes per failover window, so that a path that is
   * alive answers one before we give up on it even if media stopped. */
  return self->doubt ? MAX (self->t.probe_interval_ns / 4,
      10 * WZP_NSEC_PER_MSEC) : self->t.probe_interval_ns;
}

/* Both halves of an agreement are done: media goes direct. */
static void
agreed (WzpPathManager * self)
{
  gboolean first = !self->ever_agreed;
  guint64 t = now (self);

  _wzp_path_liveness_reset (&self->live, t);
  arm_liveness (self);
  /* Back after a move by QUIC migration: the race needs not go on. */
  if (self->change_window && self->race) {
    self->change_window = FALSE;
    _wzp_path_race_stop (self->race);
  }
  if (self->agreed)
    return;
  self->agreed = TRUE;
  self->doubt = FALSE;
  self->ever_agreed = TRUE;
  self->rerace_wait = self->t.rerace_interval_ns;
  if (first)
    self->stats.agree_time_ns = t - self->start_time;
  else
    self->stats.restores++;
  update (self, first ? "direct path agreed" : "direct path restored");
}

/* The direct connection's far end as QUIC sees it now: after a move of
 * the dialer, the acceptor's QUIC follows it (path validation).  Only a
 * server follows its peer (a QUIC client never migrates towards a server
 * that moved; that takes a new connection). */
static void
check_migration (WzpPathManager * self)
{
  g_autoptr (GSocketAddress) remote = NULL;
  WzpAddr now_at;
  char a[WZP_ADDR_STRLEN], b[WZP_ADDR_STRLEN];

  if (!wzp_connection_is_server (self->direct))
    return;
  remote = wzp_connection_get_remote_address (self->direct);
  if (remote == NULL || !wzp_addr_from_gsocketaddress (&now_at, remote) ||
      wzp_addr_equal (&now_at, &self->direct_remote))
    return;
  WZP_INFO_OBJECT (self, "the direct connection followed the peer: %s -> %s "
      "(QUIC migration)", wzp_addr_to_string (&self->direct_remote, a),
      wzp_addr_to_string (&now_at, b));
  self->direct_remote = now_at;
  self->stats.migrations++;
}

static gboolean
on_probe_timer (gpointer data)
{
  WzpPathManager *self = data;

  if (self->direct == NULL)
    return G_SOURCE_CONTINUE;
  check_migration (self);
  /* After a move, the direct path answers again on the connection we had
   * (migrated, or never broken): no need to race on. */
  if (self->change_window && self->agreed && !self->doubt &&
      self->stats.probes_answered > self->answered_at_change) {
    WZP_INFO_OBJECT (self, "the direct path works after the change: racing "
        "stops");
    self->change_window = FALSE;
    _wzp_path_race_stop (self->race);
  }
  send_probe (self);
  timer_arm (self, self->probe_timer, probe_interval (self));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_liveness_timer (gpointer data)
{
  WzpPathManager *self = data;
  WzpConnectionStats st;
  WzpPathVerdict verdict;
  guint64 t = now (self), next, stall;
  g_autofree char *reason = NULL;

  if (self->direct == NULL)
    return G_SOURCE_CONTINUE;
  wzp_connection_get_stats (self->direct, &st);
  _wzp_path_liveness_set_rtt (&self->live, st.rtt_ns, st.rtt_var_ns);
  _wzp_path_liveness_acked (&self->live,
      wzp_connection_get_last_datagram_ack_time (self->direct));
  verdict = _wzp_path_liveness_check (&self->live, t, &next);
  stall = _wzp_path_liveness_stall (&self->live, t);
  wzp_timer_source_set_deadline (self->liveness_timer, next == G_MAXUINT64 ?
      WZP_TIME_NONE : next);

  if (verdict == WZP_PATH_LIVE && self->doubt) {
    WZP_DEBUG_OBJECT (self, "direct path answers again: media on it alone");
    self->doubt = FALSE;
  } else if (verdict == WZP_PATH_DOUBT && self->agreed && !self->doubt) {
    /* Ask at once, and keep asking, while the relay carries a copy. */
    WZP_DEBUG_OBJECT (self, "direct path in doubt (nothing acknowledged for "
        "%" G_GUINT64_FORMAT " ms, srtt %" G_GUINT64_FORMAT " ms): media on "
        "both paths", stall / WZP_NSEC_PER_MSEC, st.rtt_ns / WZP_NSEC_PER_MSEC);
    self->doubt = TRUE;
    self->stats.doubts++;
    wzp_timer_source_set_deadline (self->probe_timer, t);
  } else if (verdict == WZP_PATH_SILENT && self->agreed) {
    self->agreed = FALSE;
    self->ok_pending = FALSE;
    self->doubt = FALSE;
    self->stats.failovers++;
    reason = g_strdup_printf ("direct path silent for %" G_GUINT64_FORMAT
        " ms (nothing we sent was acknowledged)", stall / WZP_NSEC_PER_MSEC);
    update (self, reason);
  }
  return G_SOURCE_CONTINUE;
}

/* --- the direct connection -------------------------------------------- */

/* Runs inside packet processing: counts, answers, and queues sends; no
 * state change that emits a signal. */
static void
on_direct_datagram (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  WzpPathManager *self = user_data;
  guint64 t = now (self);
  guint32 seq;
  guint64 sent;

  if (len == 0)
    return;
  _wzp_path_liveness_received (&self->live, t);
  switch (data[0]) {
    case WZP_PATH_DGRAM_MEDIA:
      self->stats.media_received++;
      if (self->media_func)
        self->media_func (data + 1, len - 1, self->media_data);
      break;
    case WZP_PATH_DGRAM_PROBE:{
      guint8 ack[WZP_PATH_PROBE_LEN];

      if (!_wzp_path_wire_parse_probe (data, len, &seq, &sent))
        break;
      self->stats.probes_received++;
      _wzp_path_wire_probe (ack, WZP_PATH_DGRAM_PROBE_ACK, seq, sent);
      direct_send (self, ack, sizeof ack);
      break;
    }
    case WZP_PATH_DGRAM_PROBE_ACK:
      if (!_wzp_path_wire_parse_probe (data, len, &seq, &sent) ||
          sent > t || t - sent > 60 * WZP_NSEC_PER_SEC)
        break;                  /* not an echo of ours */
      self->stats.probes_answered++;
      self->probe_srtt = self->probe_srtt ?
          (7 * self->probe_srtt + (t - sent)) / 8 : t - sent;
      /* The path answers again: ask the peer to agree on it. */
      if (!self->agreed && !self->ok_pending)
        send_ok (self);
      break;
    default:
      WZP_LOG_OBJECT (self, "ignoring a datagram of type 0x%02x", data[0]);
      break;
  }
}

static void
on_direct_message (WzpConnection * conn, GBytes * bytes, gpointer data)
{
  WzpPathManager *self = data;
  gsize len;
  const guint8 *msg = g_bytes_get_data (bytes, &len);
  guint8 type;
  guint32 epoch;

  if (len > 0 && msg[0] == WZP_PATH_MSG_GREETING)
    return;                     /* for the layer above; seen already */
  if (!_wzp_path_wire_parse_msg (msg, len, self->token, &type, &epoch)) {
    WZP_WARNING_OBJECT (self, "ignoring a %" G_GSIZE_FORMAT "-byte message "
        "on the direct connection: not a path message of this call", len);
    return;
  }
  _wzp_path_liveness_received (&self->live, now (self));
  switch (type) {
    case WZP_PATH_MSG_OK:
      WZP_DEBUG_OBJECT (self, "path-ok %u received", epoch);
      send_msg (self, conn, WZP_PATH_MSG_OK_ACK, epoch);
      agreed (self);
      break;
    case WZP_PATH_MSG_OK_ACK:
      if (!self->ok_pending || epoch != self->epoch) {
        WZP_DEBUG_OBJECT (self, "ignoring stale path-ok-ack %u", epoch);
        return;
      }
      WZP_DEBUG_OBJECT (self, "path-ok-ack %u received", epoch);
      self->ok_pending = FALSE;
      agreed (self);
      break;
    default:
      WZP_WARNING_OBJECT (self, "ignoring path message of unknown type %u",
          type);
      break;
  }
}

static void direct_end (WzpPathManager * self, const char *reason,
    gboolean rerace);

static void
on_direct_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  WzpPathManager *self = data;
  g_autofree char *reason = NULL;

  reason = g_strdup_printf ("direct connection closed: %s", error->message);
  /* A peer that closes on purpose (it stopped, the call ended) is not a
   * path that broke. */
  direct_end (self, reason, !g_error_matches (error, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_CLOSED));
}

/* Drops the direct connection (closed with @close_reason if set). */
static void
direct_free (WzpPathManager * self, const char *close_reason)
{
  WzpConnection *conn = g_steal_pointer (&self->direct);

  if (conn == NULL)
    return;
  g_clear_signal_handler (&self->direct_closed_id, conn);
  g_clear_signal_handler (&self->direct_message_id, conn);
  wzp_connection_set_datagram_handler (conn, NULL, NULL, NULL);
  if (close_reason)
    wzp_connection_close (conn, WZP_PATH_CLOSE_CODE, close_reason);
  g_object_unref (conn);
  self->agreed = FALSE;
  self->ok_pending = FALSE;
  self->doubt = FALSE;
  timer_disarm (self->probe_timer);
  timer_disarm (self->liveness_timer);
}

/* @win's connection (connected, the peer's) becomes the direct one; any
 * previous one is closed. */
static void
direct_begin (WzpPathManager * self, const WzpPathWin * win)
{
  char text[WZP_ADDR_STRLEN];

  if (self->direct) {
    WZP_INFO_OBJECT (self, "a new direct connection (with %s) replaces the "
        "old one", wzp_addr_to_string (&win->remote, text));
    direct_free (self, "replaced by a new connection");
  }
  self->direct = g_object_ref (win->conn);
  self->direct_remote = win->remote;
  self->direct_closed_id = g_signal_connect (self->direct, "closed",
      G_CALLBACK (on_direct_closed), self);
  self->direct_message_id = g_signal_connect (self->direct, "message",
      G_CALLBACK (on_direct_message), self);
  _wzp_path_liveness_reset (&self->live, now (self));
  if (self->probe_timer == NULL)
    self->probe_timer = timer_new (self, on_probe_timer);
  if (self->liveness_timer == NULL)
    self->liveness_timer = timer_new (self, on_liveness_timer);
  wzp_timer_source_set_deadline (self->probe_timer, now (self));
  /* Last: datagrams that came early are handed over at once. */
  wzp_connection_set_datagram_handler (self->direct, on_direct_datagram,
      self, NULL);
}

static void schedule_rerace (WzpPathManager * self);

/* The direct connection is gone (closed, or given up). */
static void
direct_end (WzpPathManager * self, const char *reason, gboolean rerace)
{
  gboolean was_agreed = self->agreed;

  WZP_INFO_OBJECT (self, "%s", reason);
  direct_free (self, NULL);
  /* A peer that ended it on purpose is no failure of the path. */
  if (was_agreed && rerace)
    self->stats.failovers++;
  if (rerace && self->race && !_wzp_path_race_is_racing (self->race))
    schedule_rerace (self);
  update (self, reason);
}

/* --- race results ----------------------------------------------------- */

static void
on_race_won (gpointer owner, const WzpPathWin * win)
{
  WzpPathManager *self = owner;
  g_autofree char *reason = NULL;
  char text[WZP_ADDR_STRLEN];

  gboolean was_agreed = self->agreed;

  g_object_ref (self);
  timer_disarm (self->rerace_timer);
  self->change_window = FALSE;
  if (win->ended_window)
    self->stats.race_time_ns = win->race_time_ns;
  reason = g_strdup_printf ("direct connection with %s in %" G_GUINT64_FORMAT
      " ms", wzp_addr_to_string (&win->remote, text), win->race_time_ns /
      WZP_NSEC_PER_MSEC);
  direct_begin (self, win);
  /* The new connection is not agreed on yet: the relay until it is. */
  if (was_agreed)
    update (self, "a new direct connection replaces the old one: relay "
        "until both agree on it");
  if (self->stopped) {
    g_object_unref (self);
    return;
  }
  if (win->chosen) {
    /* The dialer chose this connection: we have received its half. */
    send_msg (self, self->direct, WZP_PATH_MSG_OK_ACK, win->epoch);
    agreed (self);
  } else {
    if (self->greeting)
      send_greeting (self);
    send_ok (self);
  }
  if (!self->stopped && win->ended_window)
    g_signal_emit (self, signals[SIGNAL_RACE_FINISHED], 0, TRUE, reason);
  g_object_unref (self);
}

static void
on_race_failed (gpointer owner, const char *reason)
{
  WzpPathManager *self = owner;

  g_object_ref (self);
  /* After a move we let the old connection migrate rather than dial past
   * it; it did not come back: dial everything now. */
  if (self->change_window && self->direct && !self->agreed) {
    WZP_INFO_OBJECT (self, "the direct connection did not follow the move: "
        "dialing anew");
    self->change_window = FALSE;
    _wzp_path_race_start (self->race, NULL);
    g_object_unref (self);
    return;
  }
  self->change_window = FALSE;
  /* A first race that failed stays on the relay: the candidates will not
   * change by waiting.  One after a direct connection died repeats. */
  if (self->ever_agreed && self->direct == NULL)
    schedule_rerace (self);
  g_signal_emit (self, signals[SIGNAL_RACE_FINISHED], 0, FALSE, reason);
  g_object_unref (self);
}

static gboolean
on_rerace (gpointer data)
{
  WzpPathManager *self = data;

  if (!self->stopped && self->race && self->direct == NULL &&
      !_wzp_path_race_is_racing (self->race))
    _wzp_path_race_start (self->race, NULL);
  return G_SOURCE_CONTINUE;
}

static void
schedule_rerace (WzpPathManager * self)
{
  WZP_INFO_OBJECT (self, "racing again in %" G_GUINT64_FORMAT " ms",
      self->rerace_wait / WZP_NSEC_PER_MSEC);
  timer_arm (self, self->rerace_timer, self->rerace_wait);
  self->rerace_wait = MIN (self->rerace_wait * 2,
      MAX (self->t.rerace_max_interval_ns, self->t.rerace_interval_ns));
}

static void
copy_race_stats (WzpPathRace * race, WzpPathStats * stats)
{
  WzpPathRaceStats rs;

  _wzp_path_race_get_stats (race, &rs);
  stats->punches_sent = rs.punches_sent;
  stats->punches_received = rs.punches_received;
  stats->punches_bad = rs.punches_bad;
  stats->races = rs.races;
  stats->redials = rs.redials;
  stats->sprayed = rs.sprayed;
}

static const WzpPathRaceEvents race_events = {
  on_race_won,
  on_race_failed,
};

static void
make_race (WzpPathManager * self)
{
  if (self->role == WZP_PATH_ROLE_ACCEPTOR) {
    if (self->listener == NULL)
      self->listener = wzp_path_listener_new (self->endpoint);
    wzp_path_listener_set_peer (self->listener, self->peer_fp);
  }
  self->race = _wzp_path_race_new (self->endpoint, self->listener,
      self->role, self->peer_fp, self->token, &self->t, self->local_cands,
      self->peer_cands, &race_events, self);
  /* Guessing ports only helps the acceptor of a peer behind a symmetric
   * NAT (the dialer; which port its NAT gave the flow to us is unknown). */
  if (self->spray_ports && self->role == WZP_PATH_ROLE_ACCEPTOR &&
      self->peer_nat == WZP_NAT_TYPE_EDM)
    _wzp_path_race_set_spray (self->race, self->spray_ports);
}

/* --- network changes -------------------------------------------------- */

/* Our candidates or the peer's changed mid-call (a move, a new NAT
 * mapping): race again with them, roles decided again (a NAT type may
 * have changed too).  The direct connection stays meanwhile: if it is
 * ours to follow (we dialed it, and the peer is still where it was), QUIC
 * migration may bring it back without a new handshake, so its address is
 * not dialed again unless that fails. */
static void
network_changed (WzpPathManager * self, const char *what)
{
  const char *reason = NULL;
  WzpPathRole role = WZP_PATH_ROLE_NONE;
  g_autofree char *lc = NULL;
  g_autofree char *pc = NULL;

  if (!self->started || self->stopped)
    return;
  if (self->policy != WZP_PATH_POLICY_RELAY_ONLY)
    role = wzp_path_decide_role (self->local_nat, self->peer_nat,
        self->local_fp, self->peer_fp, &reason);
  lc = wzp_candidates_to_string (self->local_cands);
  pc = wzp_candidates_to_string (self->peer_cands);
  WZP_INFO_OBJECT (self, "%s: our candidates %s, NAT %s; the peer's %s, NAT "
      "%s", what, lc, wzp_nat_type_to_string (self->local_nat), pc,
      wzp_nat_type_to_string (self->peer_nat));
  self->stats.network_changes++;
  if (role != self->role) {
    WZP_INFO_OBJECT (self, "role %s -> %s (%s)", wzp_path_role_to_string
        (self->role), wzp_path_role_to_string (role), reason ? reason : "");
    if (self->race) {
      copy_race_stats (self->race, &self->stats);
      g_clear_pointer (&self->race, _wzp_path_race_free);
    }
    self->role = role;
    g_free (self->role_reason);
    self->role_reason = g_strdup (reason);
    if (role == WZP_PATH_ROLE_NONE)
      return;
    if (self->rerace_timer == NULL)
      self->rerace_timer = timer_new (self, on_rerace);
    make_race (self);
  } else if (self->race) {
    _wzp_path_race_set_candidates (self->race, self->local_cands,
        self->peer_cands);
  } else {
    return;
  }
  self->rerace_wait = self->t.rerace_interval_ns;
  timer_disarm (self->rerace_timer);
  self->change_window = self->direct != NULL;
  self->answered_at_change = self->stats.probes_answered;
  _wzp_path_race_start (self->race, self->direct ? &self->direct_remote : NULL);
}

/**
 * wzp_path_manager_update_local:
 * @candidates: our candidates now (host and reflexive)
 * @nat: our NAT's mapping behaviour now
 *
 * Our network changed mid-call (an address, a route, our NAT's mapping):
 * the manager races again with what we are now; see docs/PATH.md,
 * "Network changes".  Tell the peer as well (that is the caller's job:
 * signaling).
 */
void
wzp_path_manager_update_local (WzpPathManager * self,
    WzpCandidates * candidates, WzpNatType nat)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  g_return_if_fail (candidates != NULL);
  g_clear_pointer (&self->local_cands, wzp_candidates_unref);
  self->local_cands = wzp_candidates_copy (candidates);
  self->local_nat = nat;
  network_changed (self, "our network changed");
}

/**
 * wzp_path_manager_learn_peer:
 * @candidates: the peer's candidates (host and reflexive)
 * @nat: the peer's NAT's mapping behaviour
 *
 * More about the peer, to use in later races (an early start knew only
 * its host candidates; call setup brings the rest): nothing races now,
 * and the roles stay.
 */
void
wzp_path_manager_learn_peer (WzpPathManager * self,
    WzpCandidates * candidates, WzpNatType nat)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  g_return_if_fail (candidates != NULL);
  g_clear_pointer (&self->peer_cands, wzp_candidates_unref);
  self->peer_cands = wzp_candidates_copy (candidates);
  self->peer_nat = nat;
  if (self->race)
    _wzp_path_race_set_candidates (self->race, NULL, self->peer_cands);
}

/**
 * wzp_path_manager_update_peer:
 * @candidates: the peer's candidates now (host and reflexive), as its
 *   signaling told us
 * @nat: the peer's NAT's mapping behaviour now
 *
 * The peer's network changed mid-call: the manager races again towards
 * where it is now.
 */
void
wzp_path_manager_update_peer (WzpPathManager * self,
    WzpCandidates * candidates, WzpNatType nat)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  g_return_if_fail (candidates != NULL);
  g_clear_pointer (&self->peer_cands, wzp_candidates_unref);
  self->peer_cands = wzp_candidates_copy (candidates);
  self->peer_nat = nat;
  network_changed (self, "the peer's network changed");
}

/* --- GObject ---------------------------------------------------------- */

static void
wzp_path_manager_dispose (GObject * object)
{
  WzpPathManager *self = WZP_PATH_MANAGER (object);

  wzp_path_manager_stop (self);
  if (self->media_notify)
    self->media_notify (self->media_data);
  self->media_notify = NULL;
  self->media_func = NULL;
  G_OBJECT_CLASS (wzp_path_manager_parent_class)->dispose (object);
}

static void
wzp_path_manager_finalize (GObject * object)
{
  WzpPathManager *self = WZP_PATH_MANAGER (object);

  g_clear_pointer (&self->local_cands, wzp_candidates_unref);
  g_clear_pointer (&self->peer_cands, wzp_candidates_unref);
  g_clear_object (&self->listener);
  g_clear_pointer (&self->greeting, g_bytes_unref);
  g_free (self->local_fp);
  g_free (self->peer_fp);
  g_free (self->role_reason);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->endpoint);
  G_OBJECT_CLASS (wzp_path_manager_parent_class)->finalize (object);
}

static void
wzp_path_manager_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  WzpPathManager *self = WZP_PATH_MANAGER (object);

  switch (prop_id) {
    case PROP_PATH:
      g_value_set_enum (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
wzp_path_manager_class_init (WzpPathManagerClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->dispose = wzp_path_manager_dispose;
  gobject_class->finalize = wzp_path_manager_finalize;
  gobject_class->get_property = wzp_path_manager_get_property;

  /**
   * WzpPathManager:path:
   *
   * Where media goes now.
   */
  props[PROP_PATH] = g_param_spec_enum ("path", "Path",
      "Where media goes now", WZP_TYPE_PATH_KIND, WZP_PATH_NONE,
      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  /**
   * WzpPathManager::path-changed:
   * @path: the new #WzpPathKind
   * @reason: why, for humans ("direct path agreed", "direct path silent
   *   for 1000 ms", ...)
   *
   * The path media should take changed.
   */
  signals[SIGNAL_PATH_CHANGED] = g_signal_new ("path-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_PATH_KIND, G_TYPE_STRING);
  /**
   * WzpPathManager::race-finished:
   * @direct: whether the race produced a direct connection
   * @reason: what happened
   *
   * A race ended.  With the direct-only policy, %FALSE means the call has
   * no path.
   */
  signals[SIGNAL_RACE_FINISHED] = g_signal_new ("race-finished",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
wzp_path_manager_init (WzpPathManager * self)
{
  self->path = WZP_PATH_NONE;
}

/* --- public API ------------------------------------------------------- */

/**
 * wzp_path_manager_new:
 * @endpoint: the endpoint whose socket(s) the call uses
 * @config: what call setup told us; copied
 *
 * Returns: (transfer full): a path manager, not started; %NULL with
 * @error set when @config is unusable
 */
WzpPathManager *
wzp_path_manager_new (WzpEndpoint * endpoint, const WzpPathConfig * config,
    GError ** error)
{
  WzpPathManager *self;
  const char *local_fp;
  g_autofree char *peer_fp = NULL;
  g_autofree char *mine = NULL;
  const char *reason = NULL;

  g_return_val_if_fail (WZP_IS_ENDPOINT (endpoint), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  local_fp = config->local_fingerprint;
  if (local_fp == NULL)
    local_fp = wzp_identity_get_fingerprint (wzp_endpoint_get_identity
        (endpoint));
  mine = wzp_fingerprint_normalize (local_fp, error);
  if (mine == NULL) {
    g_prefix_error (error, "local fingerprint: ");
    return NULL;
  }
  peer_fp = wzp_fingerprint_normalize (config->peer_fingerprint, error);
  if (peer_fp == NULL) {
    g_prefix_error (error, "peer fingerprint: ");
    return NULL;
  }
  if (config->policy > WZP_PATH_POLICY_RELAY_ONLY) {
    g_set_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_INVALID_CONFIG,
        "unknown path policy %d", config->policy);
    return NULL;
  }
  if (!_wzp_path_check_timings (&config->timings, error))
    return NULL;

  self = g_object_new (WZP_TYPE_PATH_MANAGER, NULL);
  self->endpoint = g_object_ref (endpoint);
  self->context = g_main_context_ref (wzp_endpoint_get_context (endpoint));
  self->clock = g_object_ref (wzp_endpoint_get_clock (endpoint));
  self->local_fp = g_steal_pointer (&mine);
  self->peer_fp = g_steal_pointer (&peer_fp);
  self->local_nat = config->local_nat;
  self->peer_nat = config->peer_nat;
  self->local_cands = wzp_candidates_copy (config->local_candidates);
  self->peer_cands = wzp_candidates_copy (config->peer_candidates);
  memcpy (self->token, config->call_token, WZP_PATH_TOKEN_LEN);
  self->policy = config->policy;
  self->t = config->timings;
  _wzp_path_liveness_init (&self->live, self->t.doubt_threshold_ns,
      self->t.failover_threshold_ns);
  if (config->listener)
    self->listener = g_object_ref (config->listener);
  if (config->greeting)
    self->greeting = g_bytes_ref (config->greeting);
  self->spray_ports = MIN (config->spray_ports, 65536);

  if (self->policy == WZP_PATH_POLICY_RELAY_ONLY) {
    self->role = WZP_PATH_ROLE_NONE;
    reason = "policy is relay-only";
  } else if (config->role != WZP_PATH_ROLE_NONE) {
    self->role = config->role;
    reason = "role given by the caller";
  } else {
    self->role = wzp_path_decide_role (self->local_nat, self->peer_nat,
        self->local_fp, self->peer_fp, &reason);
  }
  self->role_reason = g_strdup (reason);
  self->stats.role = self->role;
  {
    g_autofree char *lc = wzp_candidates_to_string (self->local_cands);
    g_autofree char *pc = wzp_candidates_to_string (self->peer_cands);
    WZP_INFO_OBJECT (self, "peer %s, policy %s, NAT ours %s peer %s: %s (%s);"
        " our candidates: %s; peer's: %s", self->peer_fp,
        wzp_path_policy_to_string (self->policy),
        wzp_nat_type_to_string (self->local_nat),
        wzp_nat_type_to_string (self->peer_nat),
        wzp_path_role_to_string (self->role), reason, lc, pc);
  }
  return self;
}

/**
 * wzp_path_manager_start:
 *
 * Starts the path work: media is on the relay from now on (path-changed
 * RELAY, or NONE with the direct-only policy), and the race to a direct
 * path starts at once, unless the policy or the NAT types rule it out.
 * Call it when call setup reaches both peers (the relay times its setup
 * message so both start together, which some NATs need).
 *
 * Returns: %FALSE if already started
 */
gboolean
wzp_path_manager_start (WzpPathManager * self, GError ** error)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), FALSE);

  if (self->started) {
    g_set_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_STATE,
        "the path manager was already started");
    return FALSE;
  }
  self->started = TRUE;
  self->start_time = now (self);
  self->rerace_wait = self->t.rerace_interval_ns;

  g_object_ref (self);
  if (self->role != WZP_PATH_ROLE_NONE) {
    self->rerace_timer = timer_new (self, on_rerace);
    make_race (self);
    _wzp_path_race_start (self->race, NULL);
    update (self, "call set up: relay until both agree on direct");
    if (!self->stopped && self->race)
      _wzp_path_race_adopt_held (self->race);
  } else {
    update (self, self->role_reason);
    if (!self->stopped && self->policy == WZP_PATH_POLICY_DIRECT_ONLY)
      g_signal_emit (self, signals[SIGNAL_RACE_FINISHED], 0, FALSE,
          self->role_reason);
  }
  g_object_unref (self);
  return TRUE;
}

/**
 * wzp_path_manager_stop:
 *
 * Ends everything: the race, the direct connection (closed), the timers,
 * and our hold on the endpoint.  The path becomes NONE, without a
 * signal.  Idempotent; also done on dispose.
 */
void
wzp_path_manager_stop (WzpPathManager * self)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  if (!self->started)
    return;
  WZP_DEBUG_OBJECT (self, "stopping");
  if (self->race)
    copy_race_stats (self->race, &self->stats);
  g_clear_pointer (&self->race, _wzp_path_race_free);
  direct_free (self, "path manager stopped");
  timer_destroy (&self->probe_timer);
  timer_destroy (&self->liveness_timer);
  timer_destroy (&self->rerace_timer);
  self->path = WZP_PATH_NONE;
}

static gboolean
in_switch_overlap (WzpPathManager * self)
{
  guint64 overlap = MAX (self->t.switch_overlap_ns, 2 * self->probe_srtt);

  return self->switch_time != 0 && self->direct != NULL
      && now (self) < self->switch_time + overlap;
}

/**
 * wzp_path_manager_should_duplicate:
 *
 * Whether frames should go on both paths now (the receiver drops
 * duplicates by sequence): less than an overlap after a switch (the
 * larger of #WzpPathTimings.switch_overlap_ns and two direct RTTs), or
 * while the direct path is in doubt (an ACK is late; see docs/PATH.md).
 * wzp_path_manager_send() applies this rule itself; this is for callers
 * that want to know.
 */
gboolean
wzp_path_manager_should_duplicate (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), FALSE);
  return self->policy != WZP_PATH_POLICY_DIRECT_ONLY
      && (self->doubt || in_switch_overlap (self));
}

static gboolean
send_media (WzpPathManager * self, const guint8 * data, gsize len)
{
  guint8 stack[1500];
  g_autofree guint8 *heap = NULL;
  guint8 *buf = stack;

  if (self->direct == NULL ||
      wzp_connection_get_state (self->direct) != WZP_CONNECTION_STATE_CONNECTED)
    return FALSE;
  if (len + 1 > sizeof stack)
    buf = heap = g_malloc (len + 1);
  buf[0] = WZP_PATH_DGRAM_MEDIA;
  memcpy (buf + 1, data, len);
  if (!direct_send (self, buf, len + 1))
    return FALSE;
  self->stats.media_sent++;
  return TRUE;
}

/**
 * wzp_path_manager_send:
 * @data: one media packet (the manager prefixes its own type byte)
 *
 * Sends @data on the direct connection when that is where media goes.
 * The rule for the caller is one line: when this returns %FALSE, send
 * @data through the relay as well.
 *
 * - path DIRECT: sent direct; returns %TRUE, except during the overlap
 *   just after switching to direct and while the direct path is in doubt,
 *   when it returns %FALSE so the relay carries a copy too;
 * - path RELAY: returns %FALSE; during the overlap just after leaving
 *   direct, a copy still goes direct (best effort);
 * - path NONE with the direct-only policy: sent direct if a direct
 *   connection exists (%TRUE), else dropped (%FALSE: there is no relay to
 *   fall back to, the caller drops it).
 *
 * A datagram that cannot be queued (congestion) is dropped, never an
 * error.
 *
 * Returns: %TRUE when the caller need not send @data via the relay
 */
gboolean
wzp_path_manager_send (WzpPathManager * self, const guint8 * data, gsize len)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), FALSE);

  if (self->stopped || !self->started)
    return FALSE;
  if (self->policy == WZP_PATH_POLICY_DIRECT_ONLY)
    return send_media (self, data, len);
  if (self->path == WZP_PATH_DIRECT) {
    gboolean sent = send_media (self, data, len);
    return sent && !self->doubt && !in_switch_overlap (self);
  }
  if (in_switch_overlap (self))
    send_media (self, data, len);
  return FALSE;
}

/**
 * wzp_path_manager_set_media_handler:
 *
 * Where media datagrams that arrive on the direct connection go; see
 * #WzpPathMediaFunc.
 */
void
wzp_path_manager_set_media_handler (WzpPathManager * self,
    WzpPathMediaFunc func, gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  if (self->media_notify)
    self->media_notify (self->media_data);
  self->media_func = func;
  self->media_data = user_data;
  self->media_notify = notify;
}

WzpPathKind
wzp_path_manager_get_path (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), WZP_PATH_NONE);
  return self->path;
}

WzpPathRole
wzp_path_manager_get_role (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), WZP_PATH_ROLE_NONE);
  return self->role;
}

/**
 * wzp_path_manager_get_direct_connection:
 *
 * Returns: (transfer none) (nullable): the direct connection, once one is
 * chosen (agreed or not)
 */
WzpConnection *
wzp_path_manager_get_direct_connection (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), NULL);
  return self->direct;
}

void
wzp_path_manager_get_stats (WzpPathManager * self, WzpPathStats * stats)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  *stats = self->stats;
  stats->path = self->path;
  stats->role = self->role;
  stats->direct_rtt_ns = self->probe_srtt;
  if (self->race)
    copy_race_stats (self->race, stats);
  stats->has_direct = self->direct != NULL;
  if (self->direct)
    wzp_connection_get_stats (self->direct, &stats->direct);
  else
    memset (&stats->direct, 0, sizeof stats->direct);
}
