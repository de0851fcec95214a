/* wzp — the race to a direct path: punching, dialing, accepting
 *
 * The dialer dials every peer candidate at once, pinned to the peer's
 * fingerprint, and keeps the first connection that completes.  Both sides
 * send punch packets to every candidate of the other while the race runs:
 * the acceptor's open its NAT for the dialer's Initials (address- and
 * port-dependent filtering), the dialer's tell the acceptor where the
 * dialer really is.
 *
 * A dialer's first Initial is dropped by the acceptor's NAT when it gets
 * there before the acceptor's first punch has left (the acceptor got its
 * call-setup a little later); QUIC would resend it only after a probe
 * timeout (~300 ms).  A punch from the acceptor proves its NAT is open for
 * us now: if our dial there has still heard nothing half a punch
 * interval after that punch, the dialer dials that address once more.
 * The direct path is then up about two RTTs and half a punch interval
 * after the later side started.  (The wait spares the redundant dial
 * when both started together on a short path, where the answer to the
 * first Initial is already on its way; with more than ~12 ms one way it
 * may still be sent for nothing, which costs one Initial and one
 * handshake, not time.)
 *
 * The acceptor takes the peer's connections from the listener (which
 * holds those that arrived before the race existed, with their path-ok)
 * and chooses the one the dialer sends path-ok on.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-race.h"
#include "wzp-path-wire.h"

#include <string.h>

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

/* One QUIC connection to the peer: a dial, or an incoming connection
 * that the dialer has not chosen yet. */
typedef struct
{
  WzpPathRace *race;            /* no reference: the race owns us */
  WzpConnection *conn;
  WzpAddr remote;
  guint64 started;
  guint64 redial_at;            /* check for an answer then (0: no) */
  gboolean redialed;            /* this address was dialed once more */
  gulong connected_id;
  gulong closed_id;
  gulong message_id;
} Attempt;

struct _WzpPathRace
{
  WzpEndpoint *endpoint;
  WzpPathListener *listener;
  WzpClock *clock;
  GMainContext *context;
  WzpPathRole role;
  char *peer_fp;
  guint8 token[WZP_PATH_TOKEN_LEN];
  WzpPathTimings t;
  WzpCandidates *local_cands;
  WzpCandidates *peer_cands;    /* peer-reflexive ones are added */
  WzpPathRaceEvents events;
  gpointer owner;

  gboolean racing;
  guint64 race_start;
  gboolean has_skip;            /* this window does not dial skip */
  WzpAddr skip;
  guint spray_ports;            /* per window; 0: off */
  guint sprayed_in_window;
  guint spray_offset;           /* the window's walk over the ports */
  guint spray_stride;
  GPtrArray *dials;             /* Attempt, dialer */
  GPtrArray *held;              /* Attempt, acceptor: not chosen */
  GSource *punch_timer;
  GSource *race_timer;
  GSource *redial_timer;
  gulong connection_id;
  WzpPathRaceStats stats;
};

static guint64
now (WzpPathRace * race)
{
  return wzp_clock_get_time (race->clock);
}

static GSource *
timer_new (WzpPathRace * race, GSourceFunc func)
{
  GSource *timer = wzp_timer_source_new (race->clock);

  g_source_set_callback (timer, func, race, NULL);
  g_source_attach (timer, race->context);
  return timer;
}

static void
timer_destroy (GSource ** timer)
{
  if (*timer) {
    g_source_destroy (*timer);
    g_clear_pointer (timer, g_source_unref);
  }
}

/* --- attempts --------------------------------------------------------- */

static Attempt *
attempt_new (WzpPathRace * race, WzpConnection * conn, const WzpAddr * remote)
{
  Attempt *a = g_new0 (Attempt, 1);

  a->race = race;
  a->conn = g_object_ref (conn);
  a->remote = *remote;
  a->started = now (race);
  return a;
}

/* Forgets @a (its handlers go); closes its connection when @close_reason
 * is set.  Returns the connection's reference, or NULL when closed. */
static WzpConnection *
attempt_free (Attempt * a, const char *close_reason)
{
  WzpConnection *conn = a->conn;

  g_clear_signal_handler (&a->connected_id, conn);
  g_clear_signal_handler (&a->closed_id, conn);
  g_clear_signal_handler (&a->message_id, conn);
  g_free (a);
  if (close_reason) {
    wzp_connection_close (conn, WZP_PATH_CLOSE_CODE, close_reason);
    g_object_unref (conn);
    return NULL;
  }
  return conn;
}

static void
free_all (GPtrArray * attempts, const char *close_reason)
{
  while (attempts->len > 0) {
    Attempt *a = g_ptr_array_steal_index (attempts, attempts->len - 1);
    WzpConnection *conn = attempt_free (a, close_reason);
    if (conn)
      g_object_unref (conn);
  }
}

static void
racing_over (WzpPathRace * race)
{
  race->racing = FALSE;
  wzp_timer_source_set_deadline (race->punch_timer, WZP_TIME_NONE);
  wzp_timer_source_set_deadline (race->race_timer, WZP_TIME_NONE);
  wzp_timer_source_set_deadline (race->redial_timer, WZP_TIME_NONE);
}

/* @a completed: it leaves the race for the owner; every dial goes (the
 * acceptor keeps its other incoming connections until the dialer has
 * closed them: the dialer decides). */
static void
won (WzpPathRace * race, Attempt * a, gboolean chosen, guint32 epoch)
{
  WzpPathWin win = { 0 };
  char text[WZP_ADDR_STRLEN];

  win.remote = a->remote;
  win.chosen = chosen;
  win.epoch = epoch;
  g_ptr_array_remove (race->dials, a);
  g_ptr_array_remove (race->held, a);
  win.conn = attempt_free (a, NULL);
  if (race->racing) {
    win.ended_window = TRUE;
    win.race_time_ns = race->stats.race_time_ns = now (race) - race->race_start;
    racing_over (race);
  }
  free_all (race->dials, "not selected");
  WZP_INFO_OBJECT (race->owner, "race won: %s connection with %s%s",
      chosen ? "the dialer's" : "our", wzp_addr_to_string (&win.remote,
          text), win.ended_window ? "" : " (after the race)");
  race->events.won (race->owner, &win);
  g_object_unref (win.conn);
}

/* --- punching --------------------------------------------------------- */

static void
send_punches (WzpPathRace * race)
{
  guint8 punch[WZP_PATH_PUNCH_LEN];

  _wzp_path_wire_punch (punch, race->token);
  for (guint i = 0; i < wzp_candidates_get_count (race->peer_cands); i++) {
    const WzpCandidate *c = wzp_candidates_get (race->peer_cands, i);
    if (wzp_candidates_contains (race->local_cands, &c->addr))
      continue;
    if (wzp_endpoint_send_raw (race->endpoint, &c->addr, punch, sizeof punch))
      race->stats.punches_sent++;
  }
}

/* Ports a NAT hands out: 1024-65535 (64512 = 2^10 * 3^2 * 7). */
#define SPRAY_PORT_MIN 1024
#define SPRAY_PORTS 64512

/* The symmetric-NAT moonshot: the peer's NAT gave its flow to us a port
 * we cannot know; punches to ports of its address open our NAT for
 * whichever of them is that port (docs/PATH.md, "Symmetric NATs").  The
 * window walks the ports from a random one with a random stride prime to
 * their number, so no port is tried twice; spread evenly over the
 * window. */
static void
spray (WzpPathRace * race)
{
  guint8 punch[WZP_PATH_PUNCH_LEN];
  guint64 t = now (race), end = wzp_timer_source_get_deadline
      (race->race_timer);
  guint ticks, per_tick, left = race->spray_ports - race->sprayed_in_window;

  /* The peer's first packets make the mapping we look for: give them a
   * head start of two punch intervals. */
  if (left == 0 || t < race->race_start + 2 * race->t.punch_interval_ns)
    return;
  /* What is left over the ticks that are left (timers run late under
   * load), all of it before the window closes. */
  ticks = end > t + race->t.punch_interval_ns ?
      (end - t) / race->t.punch_interval_ns : 1;
  per_tick = (left + ticks - 1) / ticks;

  _wzp_path_wire_punch (punch, race->token);
  for (guint i = 0; i < wzp_candidates_get_count (race->peer_cands); i++) {
    const WzpCandidate *c = wzp_candidates_get (race->peer_cands, i);
    if (c->kind != WZP_CANDIDATE_REFLEXIVE)
      continue;
    for (guint n = 0; n < per_tick &&
        race->sprayed_in_window < race->spray_ports; n++) {
      WzpAddr to = c->addr;
      guint k = (race->spray_offset + (guint64) race->sprayed_in_window *
          race->spray_stride) % SPRAY_PORTS;
      wzp_addr_set_port (&to, SPRAY_PORT_MIN + k);
      if (wzp_endpoint_send_raw (race->endpoint, &to, punch, sizeof punch))
        race->stats.sprayed++;
      race->sprayed_in_window++;
    }
    break;                      /* one address: the NAT's */
  }
}

static gboolean
on_punch_timer (gpointer data)
{
  WzpPathRace *race = data;

  if (race->racing) {
    send_punches (race);
    if (race->spray_ports)
      spray (race);
    wzp_timer_source_set_deadline (race->punch_timer, now (race) +
        race->t.punch_interval_ns);
  }
  return G_SOURCE_CONTINUE;
}

/* --- dialing ---------------------------------------------------------- */

static void
on_dial_connected (WzpConnection * conn, gpointer data)
{
  Attempt *a = data;

  if (a->race->racing)
    won (a->race, a, FALSE, 0);
}

static void
on_dial_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  Attempt *a = data;
  WzpPathRace *race = a->race;
  char text[WZP_ADDR_STRLEN];

  WZP_DEBUG_OBJECT (race->owner, "dial to %s failed: %s",
      wzp_addr_to_string (&a->remote, text), error->message);
  g_ptr_array_remove (race->dials, a);
  g_object_unref (attempt_free (a, NULL));
  if (race->racing && race->dials->len == 0)
    WZP_DEBUG_OBJECT (race->owner, "every dial failed; punching on until "
        "the race times out (a punch may reveal another address)");
}

/* The newest dial to @to, or NULL. */
static Attempt *
find_dial (WzpPathRace * race, const WzpAddr * to)
{
  for (guint i = race->dials->len; i > 0; i--) {
    Attempt *d = g_ptr_array_index (race->dials, i - 1);
    if (wzp_addr_equal (&d->remote, to))
      return d;
  }
  return NULL;
}

static Attempt *
dial (WzpPathRace * race, const WzpAddr * to, gboolean again)
{
  g_autoptr (GSocketAddress) remote = wzp_addr_to_gsocketaddress (to);
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpConnection) conn = NULL;
  WzpConnectParams params;
  Attempt *a;
  char text[WZP_ADDR_STRLEN];

  wzp_addr_to_string (to, text);
  if (wzp_candidates_contains (race->local_cands, to)) {
    WZP_DEBUG_OBJECT (race->owner, "not dialing %s: that is one of ours", text);
    return NULL;
  }
  if (!again && find_dial (race, to))
    return NULL;
  wzp_connect_params_init (&params);
  params.expected_fingerprint = race->peer_fp;
  params.handshake_timeout_ns = race->t.race_timeout_ns;
  params.initial_rtt_ns = race->t.initial_rtt_ns;
  params.idle_timeout_ns = race->t.direct_idle_timeout_ns;
  conn = wzp_endpoint_connect_full (race->endpoint, remote, &params, &error);
  if (conn == NULL) {
    WZP_DEBUG_OBJECT (race->owner, "cannot dial %s: %s", text, error->message);
    return NULL;
  }
  WZP_DEBUG_OBJECT (race->owner, "dialing %s%s", text, again ? " again" : "");
  a = attempt_new (race, conn, to);
  a->connected_id = g_signal_connect (conn, "connected",
      G_CALLBACK (on_dial_connected), a);
  a->closed_id = g_signal_connect (conn, "closed",
      G_CALLBACK (on_dial_closed), a);
  g_ptr_array_add (race->dials, a);
  return a;
}

/* Whether @d has heard nothing back: its Initial may have been lost. */
static gboolean
unanswered (Attempt * d)
{
  WzpConnectionStats st;

  if (wzp_connection_get_state (d->conn) != WZP_CONNECTION_STATE_HANDSHAKING)
    return FALSE;
  wzp_connection_get_stats (d->conn, &st);
  return st.packets_received == 0;
}

static void
arm_redial (WzpPathRace * race)
{
  guint64 next = WZP_TIME_NONE;

  for (guint i = 0; i < race->dials->len; i++) {
    Attempt *d = g_ptr_array_index (race->dials, i);
    if (d->redial_at && !d->redialed)
      next = MIN (next, d->redial_at);
  }
  wzp_timer_source_set_deadline (race->redial_timer, next);
}

static gboolean
on_redial_timer (gpointer data)
{
  WzpPathRace *race = data;
  guint64 t = now (race);
  g_autoptr (GPtrArray) due = g_ptr_array_new ();

  if (!race->racing)
    return G_SOURCE_CONTINUE;
  for (guint i = 0; i < race->dials->len; i++) {
    Attempt *d = g_ptr_array_index (race->dials, i);
    if (d->redial_at && !d->redialed && d->redial_at <= t) {
      d->redialed = TRUE;
      if (unanswered (d))
        g_ptr_array_add (due, d);
    }
  }
  for (guint i = 0; i < due->len; i++) {
    Attempt *d = g_ptr_array_index (due, i);
    WzpAddr to = d->remote;
    Attempt *again = dial (race, &to, TRUE);

    if (again) {
      again->redialed = TRUE;
      race->stats.redials++;
    }
  }
  arm_redial (race);
  return G_SOURCE_CONTINUE;
}

/* A punch from @from arrived while we dial: the peer's NAT lets us in
 * from there now.  Dial an address we did not know; check a dial we
 * made there half a punch interval from now (see the top of the file). */
static void
dial_after_punch (WzpPathRace * race, const WzpAddr * from)
{
  Attempt *d = find_dial (race, from);

  if (d == NULL) {
    if (!race->has_skip || !wzp_addr_equal (from, &race->skip))
      dial (race, from, FALSE);
    return;
  }
  if (d->redial_at || d->redialed || !unanswered (d))
    return;
  d->redial_at = now (race) + race->t.punch_interval_ns / 2;
  arm_redial (race);
}

/* --- punch packets in ------------------------------------------------- */

static void
on_raw_packet (WzpEndpoint * endpoint, const WzpAddr * from,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpPathRace *race = user_data;
  char text[WZP_ADDR_STRLEN];
  gboolean known;

  wzp_addr_to_string (from, text);
  if (!_wzp_path_wire_is_punch (data, len, race->token)) {
    race->stats.punches_bad++;
    WZP_LOG_OBJECT (race->owner, "dropping a %" G_GSIZE_FORMAT "-byte raw "
        "packet from %s: not a punch for this call", len, text);
    return;
  }
  race->stats.punches_received++;
  known = wzp_candidates_contains (race->peer_cands, from);
  /* A punch from an address the peer did not list is its NAT's mapping
   * towards us (a peer-reflexive candidate): punch there too. */
  if (!known) {
    if (!wzp_candidates_add (race->peer_cands, WZP_CANDIDATE_PEER_REFLEXIVE,
            from))
      return;
    WZP_INFO_OBJECT (race->owner, "peer-reflexive candidate %s (a punch "
        "came from there)", text);
  }
  if (race->role == WZP_PATH_ROLE_DIALER && race->racing)
    dial_after_punch (race, from);
}

/* --- accepting -------------------------------------------------------- */

static void
on_held_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  Attempt *a = data;
  WzpPathRace *race = a->race;

  WZP_DEBUG_OBJECT (race->owner, "unchosen incoming connection closed: "
      "%s", error->message);
  g_ptr_array_remove (race->held, a);
  g_object_unref (attempt_free (a, NULL));
}

/* TRUE when @bytes chose @a (it is gone then). */
static gboolean
held_message (Attempt * a, GBytes * bytes)
{
  gsize len;
  const guint8 *msg = g_bytes_get_data (bytes, &len);
  guint8 type;
  guint32 epoch;

  if (len > 0 && msg[0] == WZP_PATH_MSG_GREETING)
    return FALSE;               /* the layer above's; it has seen it */
  if (!_wzp_path_wire_parse_msg (msg, len, a->race->token, &type, &epoch)) {
    WZP_WARNING_OBJECT (a->race->owner, "ignoring a %" G_GSIZE_FORMAT
        "-byte message on a direct connection: not a path message of this "
        "call", len);
    return FALSE;
  }
  if (type != WZP_PATH_MSG_OK) {
    WZP_DEBUG_OBJECT (a->race->owner, "ignoring path message 0x%02x on "
        "an unchosen connection", type);
    return FALSE;
  }
  WZP_DEBUG_OBJECT (a->race->owner, "path-ok %u received: the dialer "
      "chose this connection", epoch);
  won (a->race, a, TRUE, epoch);
  return TRUE;
}

static void
on_held_message (WzpConnection * conn, GBytes * bytes, gpointer data)
{
  held_message (data, bytes);
}

/* The listener holds @conn: take it, with what it already said.  TRUE
 * when it won at once (the race may be gone then). */
static gboolean
take (WzpPathRace * race, WzpConnection * conn)
{
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GSocketAddress) remote = NULL;
  WzpAddr addr;
  Attempt *a;
  char text[WZP_ADDR_STRLEN];

  if (!wzp_path_listener_take (race->listener, conn, &messages))
    return FALSE;
  remote = wzp_connection_get_remote_address (conn);
  if (remote == NULL || !wzp_addr_from_gsocketaddress (&addr, remote)) {
    wzp_connection_close (conn, WZP_PATH_CLOSE_CODE, "no address");
    return FALSE;
  }
  WZP_DEBUG_OBJECT (race->owner, "incoming connection from the peer at %s "
      "(%u messages already); waiting for its path-ok",
      wzp_addr_to_string (&addr, text), messages->len);
  a = attempt_new (race, conn, &addr);
  a->closed_id = g_signal_connect (conn, "closed",
      G_CALLBACK (on_held_closed), a);
  a->message_id = g_signal_connect (conn, "message",
      G_CALLBACK (on_held_message), a);
  g_ptr_array_add (race->held, a);
  for (guint i = 0; i < messages->len; i++)
    if (held_message (a, g_ptr_array_index (messages, i)))
      return TRUE;
  return FALSE;
}

static void
on_listener_connection (WzpPathListener * listener, WzpConnection * conn,
    gpointer data)
{
  take (data, conn);
}

/* --- the race --------------------------------------------------------- */

static gboolean
on_race_timeout (gpointer data)
{
  WzpPathRace *race = data;
  g_autofree char *reason = NULL;

  if (!race->racing)
    return G_SOURCE_CONTINUE;
  racing_over (race);
  free_all (race->dials, "race timed out");
  reason = g_strdup_printf ("no direct path within %" G_GUINT64_FORMAT
      " ms (%" G_GUINT64_FORMAT " punches sent, %" G_GUINT64_FORMAT
      " received)", race->t.race_timeout_ns / WZP_NSEC_PER_MSEC,
      race->stats.punches_sent, race->stats.punches_received);
  WZP_INFO_OBJECT (race->owner, "race failed: %s", reason);
  race->events.failed (race->owner, reason);
  return G_SOURCE_CONTINUE;
}

/* Takes what the race needs from the endpoint (its raw handler) and the
 * listener, for as long as the race exists.  Nothing is sent before
 * _wzp_path_race_start(). */
WzpPathRace *
_wzp_path_race_new (WzpEndpoint * endpoint, WzpPathListener * listener,
    WzpPathRole role, const char *peer_fp, const guint8 * token,
    const WzpPathTimings * timings, WzpCandidates * local_cands,
    WzpCandidates * peer_cands, const WzpPathRaceEvents * events,
    gpointer owner)
{
  WzpPathRace *race = g_new0 (WzpPathRace, 1);

  race->endpoint = g_object_ref (endpoint);
  race->clock = g_object_ref (wzp_endpoint_get_clock (endpoint));
  race->context = g_main_context_ref (wzp_endpoint_get_context (endpoint));
  race->role = role;
  race->peer_fp = g_strdup (peer_fp);
  memcpy (race->token, token, WZP_PATH_TOKEN_LEN);
  race->t = *timings;
  race->local_cands = wzp_candidates_copy (local_cands);
  race->peer_cands = wzp_candidates_copy (peer_cands);
  race->events = *events;
  race->owner = owner;
  race->dials = g_ptr_array_new ();
  race->held = g_ptr_array_new ();
  race->punch_timer = timer_new (race, on_punch_timer);
  race->race_timer = timer_new (race, on_race_timeout);
  race->redial_timer = timer_new (race, on_redial_timer);
  wzp_endpoint_set_raw_handler (endpoint, on_raw_packet, race, NULL);
  if (role == WZP_PATH_ROLE_ACCEPTOR && listener) {
    race->listener = g_object_ref (listener);
    race->connection_id = g_signal_connect (listener, "connection",
        G_CALLBACK (on_listener_connection), race);
  }
  return race;
}

/* Takes the connections the listener held before the race existed: the
 * dialer may have been quicker than our call-setup, and its path-ok may
 * already be there, which wins at once.  Call it last: the owner may
 * free the race from the won event. */
void
_wzp_path_race_adopt_held (WzpPathRace * race)
{
  g_autoptr (GPtrArray) early = NULL;

  if (race->listener == NULL)
    return;
  early = wzp_path_listener_get_held (race->listener);
  for (guint i = 0; i < early->len; i++)
    if (take (race, g_ptr_array_index (early, i)))
      return;
}

void
_wzp_path_race_free (WzpPathRace * race)
{
  if (race == NULL)
    return;
  race->racing = FALSE;
  free_all (race->dials, "path manager stopped");
  free_all (race->held, "path manager stopped");
  timer_destroy (&race->punch_timer);
  timer_destroy (&race->race_timer);
  timer_destroy (&race->redial_timer);
  if (race->listener) {
    g_clear_signal_handler (&race->connection_id, race->listener);
    g_clear_object (&race->listener);
  }
  wzp_endpoint_set_raw_handler (race->endpoint, NULL, NULL, NULL);
  g_clear_pointer (&race->local_cands, wzp_candidates_unref);
  g_clear_pointer (&race->peer_cands, wzp_candidates_unref);
  g_free (race->peer_fp);
  g_ptr_array_unref (race->dials);
  g_ptr_array_unref (race->held);
  g_main_context_unref (race->context);
  g_object_unref (race->clock);
  g_object_unref (race->endpoint);
  g_free (race);
}

/* A racing window: dial (dialer), punch (both) until a connection wins
 * or the race timeout.  A window in progress goes on (with the current
 * candidates: new ones are dialed and punched at once).  @skip, if set,
 * is not dialed: a connection there exists already and may come back by
 * itself (QUIC migration after our own move). */
void
_wzp_path_race_start (WzpPathRace * race, const WzpAddr * skip)
{
  g_autofree char *pc = wzp_candidates_to_string (race->peer_cands);

  if (!race->racing) {
    race->racing = TRUE;
    race->race_start = now (race);
    race->stats.races++;
    race->sprayed_in_window = 0;
    race->spray_offset = g_random_int_range (0, SPRAY_PORTS);
    /* Odd, and neither 3 nor 7 divides it: prime to 64512. */
    do
      race->spray_stride = g_random_int_range (1, SPRAY_PORTS) | 1;
    while (race->spray_stride % 3 == 0 || race->spray_stride % 7 == 0);
  }
  /* A window in progress gets the full time from now: new candidates. */
  wzp_timer_source_set_deadline (race->race_timer, now (race) +
      race->t.race_timeout_ns);
  WZP_INFO_OBJECT (race->owner, "race %" G_GUINT64_FORMAT " as %s, peer "
      "candidates: %s", race->stats.races, wzp_path_role_to_string
      (race->role), pc);
  race->has_skip = skip != NULL;
  if (skip)
    race->skip = *skip;
  if (race->role == WZP_PATH_ROLE_DIALER) {
    for (guint i = 0; i < wzp_candidates_get_count (race->peer_cands); i++) {
      const WzpAddr *to = &wzp_candidates_get (race->peer_cands, i)->addr;
      if (skip == NULL || !wzp_addr_equal (to, skip))
        dial (race, to, FALSE);
    }
  }
  send_punches (race);
  wzp_timer_source_set_deadline (race->punch_timer, now (race) +
      race->t.punch_interval_ns);
}

/* Ends a racing window without a winner and without a word (the owner
 * has its direct connection back some other way). */
void
_wzp_path_race_stop (WzpPathRace * race)
{
  if (!race->racing)
    return;
  racing_over (race);
  free_all (race->dials, "not needed any more");
}

void
_wzp_path_race_set_spray (WzpPathRace * race, guint ports)
{
  race->spray_ports = ports;
}

gboolean
_wzp_path_race_is_racing (WzpPathRace * race)
{
  return race->racing;
}

/* New candidates (a network change on either side): later windows, and
 * one in progress, use them.  Learned peer-reflexive candidates are
 * dropped with the old list: they belonged to the old mappings. */
void
_wzp_path_race_set_candidates (WzpPathRace * race,
    WzpCandidates * local_cands, WzpCandidates * peer_cands)
{
  if (local_cands) {
    g_clear_pointer (&race->local_cands, wzp_candidates_unref);
    race->local_cands = wzp_candidates_copy (local_cands);
  }
  if (peer_cands) {
    g_clear_pointer (&race->peer_cands, wzp_candidates_unref);
    race->peer_cands = wzp_candidates_copy (peer_cands);
  }
}

void
_wzp_path_race_get_stats (WzpPathRace * race, WzpPathRaceStats * stats)
{
  *stats = race->stats;
}
