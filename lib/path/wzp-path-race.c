/* wzp — the race to a direct path: punching, dialing, accepting
 *
 * The dialer dials every peer candidate at once, pinned to the peer's
 * fingerprint, and keeps the first connection that completes.  Both sides
 * send punch packets to every candidate of the other while the race runs:
 * the acceptor's open its NAT for the dialer's Initials (address- and
 * port-dependent filtering), the dialer's tell the acceptor where the
 * dialer really is.  The acceptor takes incoming connections only from
 * the expected fingerprint and chooses the one the dialer sends path-ok
 * on (wzp-path-probe.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-private.h"

#include <string.h>

#include "wzp-identity.h"
#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

/* --- punching --------------------------------------------------------- */

static void
send_punches (WzpPathManager * self)
{
  guint8 punch[WZP_PATH_PUNCH_LEN];

  punch[0] = WZP_PATH_PUNCH;
  memcpy (punch + 1, self->token, WZP_PATH_TOKEN_LEN);
  for (guint i = 0; i < wzp_candidates_get_count (self->peer_cands); i++) {
    const WzpCandidate *c = wzp_candidates_get (self->peer_cands, i);
    if (wzp_candidates_contains (self->local_cands, &c->addr))
      continue;
    if (wzp_endpoint_send_raw (self->endpoint, &c->addr, punch, sizeof punch))
      self->stats.punches_sent++;
  }
}

static gboolean
on_punch_timer (gpointer data)
{
  WzpPathManager *self = data;

  if (self->racing) {
    send_punches (self);
    _wzp_path_timer_arm (self, self->punch_timer, self->t.punch_interval_ns);
  }
  return G_SOURCE_CONTINUE;
}

/* --- dialing ---------------------------------------------------------- */

static void
on_dial_connected (WzpConnection * conn, gpointer data)
{
  WzpPathAttempt *a = data;
  WzpPathManager *self = a->self;

  if (!self->racing)
    return;
  _wzp_path_race_won (self, a);
}

static void
on_dial_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  WzpPathAttempt *a = data;
  WzpPathManager *self = a->self;
  char text[WZP_ADDR_STRLEN];

  WZP_DEBUG_OBJECT (self, "dial to %s failed: %s",
      wzp_addr_to_string (&a->remote, text), error->message);
  g_ptr_array_remove (self->dials, a);
  _wzp_path_attempt_free (a, NULL);
  if (self->racing && self->dials->len == 0)
    WZP_DEBUG_OBJECT (self, "every dial failed; punching on until the race "
        "times out (a punch may reveal another address)");
}

static void
dial (WzpPathManager * self, const WzpAddr * to)
{
  g_autoptr (GSocketAddress) remote = wzp_addr_to_gsocketaddress (to);
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpConnection) conn = NULL;
  WzpConnectParams params;
  WzpPathAttempt *a;
  char text[WZP_ADDR_STRLEN];

  wzp_addr_to_string (to, text);
  if (wzp_candidates_contains (self->local_cands, to)) {
    WZP_DEBUG_OBJECT (self, "not dialing %s: that is one of ours", text);
    return;
  }
  for (guint i = 0; i < self->dials->len; i++) {
    WzpPathAttempt *d = g_ptr_array_index (self->dials, i);
    if (wzp_addr_equal (&d->remote, to))
      return;
  }
  wzp_connect_params_init (&params);
  params.expected_fingerprint = self->peer_fp;
  params.handshake_timeout_ns = self->t.race_timeout_ns;
  params.initial_rtt_ns = self->t.initial_rtt_ns;
  params.idle_timeout_ns = self->t.direct_idle_timeout_ns;
  conn = wzp_endpoint_connect_full (self->endpoint, remote, &params, &error);
  if (conn == NULL) {
    WZP_DEBUG_OBJECT (self, "cannot dial %s: %s", text, error->message);
    return;
  }
  WZP_DEBUG_OBJECT (self, "dialing %s", text);
  a = _wzp_path_attempt_new (self, conn, to);
  a->connected_id = g_signal_connect (conn, "connected",
      G_CALLBACK (on_dial_connected), a);
  a->closed_id = g_signal_connect (conn, "closed",
      G_CALLBACK (on_dial_closed), a);
  g_ptr_array_add (self->dials, a);
}

/* --- punch packets in ------------------------------------------------- */

static void
on_raw_packet (WzpEndpoint * endpoint, const WzpAddr * from,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpPathManager *self = user_data;
  char text[WZP_ADDR_STRLEN];

  wzp_addr_to_string (from, text);
  if (len != WZP_PATH_PUNCH_LEN || data[0] != WZP_PATH_PUNCH
      || !_wzp_path_token_equal (data + 1, self->token)) {
    self->stats.punches_bad++;
    WZP_LOG_OBJECT (self, "dropping a %" G_GSIZE_FORMAT "-byte raw packet "
        "from %s: not a punch for this call", len, text);
    return;
  }
  self->stats.punches_received++;
  if (wzp_candidates_contains (self->peer_cands, from))
    return;
  /* The peer's packet came from an address it did not list: its NAT's
   * mapping towards us.  Punch there too; the dialer dials it. */
  if (!wzp_candidates_add (self->peer_cands, WZP_CANDIDATE_PEER_REFLEXIVE,
          from))
    return;
  WZP_INFO_OBJECT (self, "peer-reflexive candidate %s (a punch came from "
      "there)%s", text, self->role == WZP_PATH_ROLE_DIALER && self->racing ?
      ": dialing it" : "");
  if (self->role == WZP_PATH_ROLE_DIALER && self->racing)
    dial (self, from);
}

/* --- accepting -------------------------------------------------------- */

static gboolean
on_accept_peer (WzpEndpoint * endpoint, const char *fingerprint,
    GSocketAddress * remote, gpointer user_data)
{
  WzpPathManager *self = user_data;

  if (wzp_fingerprint_equal (fingerprint, self->peer_fp))
    return TRUE;
  {
    g_autofree char *text = wzp_socket_address_to_string (remote);
    WZP_INFO_OBJECT (self, "refusing %s from %s: only the peer %s may "
        "connect during this call", fingerprint, text, self->peer_fp);
  }
  return FALSE;
}

static void
on_held_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  WzpPathAttempt *a = data;
  WzpPathManager *self = a->self;

  WZP_DEBUG_OBJECT (self, "unchosen incoming connection closed: %s",
      error->message);
  g_ptr_array_remove (self->held, a);
  _wzp_path_attempt_free (a, NULL);
}

static void
on_incoming (WzpEndpoint * endpoint, WzpConnection * conn, gpointer data)
{
  WzpPathManager *self = data;
  g_autoptr (GSocketAddress) remote = NULL;
  WzpPathAttempt *a;
  WzpAddr addr;
  char text[WZP_ADDR_STRLEN];

  if (!wzp_fingerprint_equal (wzp_connection_get_peer_fingerprint (conn),
          self->peer_fp))
    return;                     /* someone else's business */
  remote = wzp_connection_get_remote_address (conn);
  if (remote == NULL || !wzp_addr_from_gsocketaddress (&addr, remote))
    return;
  WZP_DEBUG_OBJECT (self, "incoming connection from the peer at %s; waiting "
      "for its path-ok", wzp_addr_to_string (&addr, text));
  a = _wzp_path_attempt_new (self, conn, &addr);
  a->closed_id = g_signal_connect (conn, "closed",
      G_CALLBACK (on_held_closed), a);
  _wzp_path_watch (a);
  g_ptr_array_add (self->held, a);
}

/* --- the race --------------------------------------------------------- */

static void
free_all (GPtrArray * attempts, const char *close_reason)
{
  while (attempts->len > 0) {
    WzpPathAttempt *a = g_ptr_array_steal_index (attempts,
        attempts->len - 1);
    _wzp_path_attempt_free (a, close_reason);
  }
}

static void
race_over (WzpPathManager * self)
{
  self->racing = FALSE;
  _wzp_path_timer_disarm (self->punch_timer);
  _wzp_path_timer_disarm (self->race_timer);
}

static gboolean
on_race_timeout (gpointer data)
{
  WzpPathManager *self = data;
  g_autofree char *reason = NULL;

  if (!self->racing)
    return G_SOURCE_CONTINUE;
  race_over (self);
  free_all (self->dials, "race timed out");
  reason = g_strdup_printf ("no direct path within %" G_GUINT64_FORMAT
      " ms (%" G_GUINT64_FORMAT " punches sent, %" G_GUINT64_FORMAT
      " received)", self->t.race_timeout_ns / WZP_NSEC_PER_MSEC,
      self->stats.punches_sent, self->stats.punches_received);
  WZP_INFO_OBJECT (self, "race failed: %s", reason);
  g_object_ref (self);
  if (self->ever_agreed)
    _wzp_path_schedule_rerace (self);
  _wzp_path_emit_race_finished (self, FALSE, reason);
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_rerace (gpointer data)
{
  WzpPathManager *self = data;

  if (!self->stopped && !self->racing && self->direct == NULL)
    _wzp_path_race_start (self);
  return G_SOURCE_CONTINUE;
}

void
_wzp_path_schedule_rerace (WzpPathManager * self)
{
  WZP_INFO_OBJECT (self, "racing again in %" G_GUINT64_FORMAT " ms",
      self->rerace_wait / WZP_NSEC_PER_MSEC);
  _wzp_path_timer_arm (self, self->rerace_timer, self->rerace_wait);
  self->rerace_wait = MIN (self->rerace_wait * 2,
      MAX (self->t.rerace_max_interval_ns, self->t.rerace_interval_ns));
}

/* Takes what the race needs from the endpoint, for as long as we run. */
void
_wzp_path_race_setup (WzpPathManager * self)
{
  wzp_endpoint_set_raw_handler (self->endpoint, on_raw_packet, self, NULL);
  self->raw_installed = TRUE;
  self->punch_timer = _wzp_path_timer_new (self, on_punch_timer);
  self->race_timer = _wzp_path_timer_new (self, on_race_timeout);
  self->rerace_timer = _wzp_path_timer_new (self, on_rerace);
  if (self->role == WZP_PATH_ROLE_ACCEPTOR) {
    gboolean accept;

    self->accept_peer_id = g_signal_connect (self->endpoint, "accept-peer",
        G_CALLBACK (on_accept_peer), self);
    self->incoming_id = g_signal_connect (self->endpoint,
        "incoming-connection", G_CALLBACK (on_incoming), self);
    g_object_get (self->endpoint, "accept-incoming", &accept, NULL);
    if (!accept) {
      self->changed_accept = TRUE;
      g_object_set (self->endpoint, "accept-incoming", TRUE, NULL);
    }
  }
}

void
_wzp_path_race_teardown (WzpPathManager * self)
{
  self->racing = FALSE;
  free_all (self->dials, "path manager stopped");
  free_all (self->held, "path manager stopped");
  _wzp_path_timer_destroy (&self->punch_timer);
  _wzp_path_timer_destroy (&self->race_timer);
  _wzp_path_timer_destroy (&self->rerace_timer);
  g_clear_signal_handler (&self->accept_peer_id, self->endpoint);
  g_clear_signal_handler (&self->incoming_id, self->endpoint);
  if (self->changed_accept) {
    g_object_set (self->endpoint, "accept-incoming", FALSE, NULL);
    self->changed_accept = FALSE;
  }
  if (self->raw_installed) {
    wzp_endpoint_set_raw_handler (self->endpoint, NULL, NULL, NULL);
    self->raw_installed = FALSE;
  }
}

void
_wzp_path_race_start (WzpPathManager * self)
{
  self->racing = TRUE;
  self->race_start = _wzp_path_now (self);
  self->stats.races++;
  {
    g_autofree char *pc = wzp_candidates_to_string (self->peer_cands);
    WZP_INFO_OBJECT (self, "race %" G_GUINT64_FORMAT " as %s, peer "
        "candidates: %s", self->stats.races,
        wzp_path_role_to_string (self->role), pc);
  }
  if (self->role == WZP_PATH_ROLE_DIALER) {
    for (guint i = 0; i < wzp_candidates_get_count (self->peer_cands); i++)
      dial (self, &wzp_candidates_get (self->peer_cands, i)->addr);
  }
  send_punches (self);
  _wzp_path_timer_arm (self, self->punch_timer, self->t.punch_interval_ns);
  _wzp_path_timer_arm (self, self->race_timer, self->t.race_timeout_ns);
}

/* @winner completed (dialer: handshake done; acceptor: path-ok arrived on
 * it): it becomes the direct connection, every other attempt goes. */
void
_wzp_path_race_won (WzpPathManager * self, WzpPathAttempt * winner)
{
  gboolean was_racing = self->racing;
  g_autofree char *reason = NULL;
  char text[WZP_ADDR_STRLEN];

  g_ptr_array_remove (self->dials, winner);
  g_ptr_array_remove (self->held, winner);
  race_over (self);
  free_all (self->dials, "not selected");
  free_all (self->held, "not selected");
  _wzp_path_timer_disarm (self->rerace_timer);
  if (was_racing)
    self->stats.race_time_ns = _wzp_path_now (self) - self->race_start;
  reason = g_strdup_printf ("direct connection to %s in %" G_GUINT64_FORMAT
      " ms", wzp_addr_to_string (&winner->remote, text),
      self->stats.race_time_ns / WZP_NSEC_PER_MSEC);
  WZP_INFO_OBJECT (self, "race won: %s", reason);
  _wzp_path_direct_begin (self, winner);
  if (was_racing)
    _wzp_path_emit_race_finished (self, TRUE, reason);
}
