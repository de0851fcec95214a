/* wzp-call.c — one party of a call: the object, its state, and what moves
 * it (the relay's events, the application's requests, the paths)
 *
 * Order of events for the caller:
 *   start → endpoint bound → signaling registered → NAT probe answered
 *   (or timed out) → `call` with a signed offer → ringing → call-setup with
 *   the callee's signed answer → keys derived → ACTIVE: media flows on
 *   the relay at once, and the path manager races to a direct path.
 * The callee registers, waits, verifies the offer of an incoming call,
 * answers per its policy with a signed answer, and gets the same setup.
 *
 * On one LAN the callee does not wait for call-setup: it dials the
 * caller's host candidates as it answers, and both may be ACTIVE on the
 * LAN before the relay's setup arrives (the early start, wzp-call-early.h).
 * Once the path manager runs, a network change (wzp-call-roam.h) makes it
 * race again with new candidates.
 *
 * This is the core of WzpCall; its helpers (wzp-call-internal.h lists
 * them) do the key exchange, the media, the early start's checks, the
 * network watch, the room, the relay list and the media leg, and call
 * nothing back: what they find out comes back as return values or, for
 * the room, through WzpCallRoomEvents.
 *
 * In a cluster (docs/CLUSTER.md) the relay node hosting a call or room
 * may not be the one we are registered at: then the relay says where it
 * is ("media-relay") and the call opens a media leg there, a second
 * connection from the same socket that carries only the media.  When
 * that node dies the leg is lost, and the call asks its own relay to
 * carry it again (resume-call, asked again every second until answered):
 * the cluster finds, or makes, the call's new home.
 *
 * Media frames cross threads: wzp_call_send_frame() queues under a lock
 * and wakes the context through a ready-time source; sealing and sending
 * happen on the context.  wzp_call_hangup(), wzp_call_answer() and
 * wzp_call_reject() work the same way, so an application may decide
 * about an incoming call on its own thread, as late as it likes.
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-address.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

/**
 * WzpCall:
 *
 * One party of a voice call, or of a room: everything it needs, from the
 * UDP socket to the end-to-end media keys.
 *
 * Set the properties (#WzpCall:identity and #WzpCall:relay at least),
 * then wzp_call_start().  With #WzpCall:peer it calls that fingerprint;
 * with #WzpCall:room it joins the room; with neither it waits for a call,
 * which #WzpCall:answer-policy decides.  Follow #WzpCall::state-changed;
 * frames arrive through wzp_call_set_frame_handler(), and go out with
 * wzp_call_send_frame().
 *
 * The call lives on the #GMainContext given at construction and emits
 * its signals there.  wzp_call_hangup(), wzp_call_answer(),
 * wzp_call_reject(), wzp_call_send_frame() and the getters of state,
 * path and statistics may be called from any thread.
 */
G_DEFINE_FINAL_TYPE (WzpCall, wzp_call, G_TYPE_OBJECT);

static void start_path (WzpCall * self, WzpCandidates * theirs,
    WzpNatType peer_nat);
static void start_watchdog (WzpCall * self);
static void hang_up_direct (WzpCall * self);
static void early_listen (WzpCall * self);
static void early_dial (WzpCall * self, JsonObject * offer,
    JsonObject * answer);
static gboolean early_set_up (WzpCall * self, WzpCallSetup * setup);
static void early_abandon (WzpCall * self);
static void early_stop (WzpCall * self);

/* --- state ------------------------------------------------------------ */

static gboolean
is_over (WzpCallState s)
{
  return s == WZP_CALL_STATE_ENDED || s == WZP_CALL_STATE_FAILED;
}

static gboolean
linger_done (gpointer user_data)
{
  WzpCall *self = user_data;

  WZP_DEBUG_OBJECT (self, "closing the signaling connection");
  if (self->signal)
    wzp_signal_client_stop (self->signal);
  g_clear_pointer (&self->linger, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
set_ringing_id (WzpCall * self, const char *call_id)
{
  g_mutex_lock (&self->lock);
  g_free (self->ringing_call_id);
  self->ringing_call_id = g_strdup (call_id);
  self->answer = ANSWER_NONE;
  g_mutex_unlock (&self->lock);
}

/* Everything a call holds on the network, stopped: its end.  The
 * hang-up just sent lingers on the signaling connection. */
static void
stop_everything (WzpCall * self)
{
  g_clear_pointer (&self->register_timeout, wzp_clock_source_destroy_and_unref);
  g_clear_pointer (&self->roam, _wzp_call_roam_free);
  early_stop (self);
  g_clear_pointer (&self->watchdog, wzp_clock_source_destroy_and_unref);
  g_clear_pointer (&self->resume_timer, wzp_clock_source_destroy_and_unref);
  _wzp_call_media_leg_close (&self->media_leg, self);
  g_clear_pointer (&self->incoming, _wzp_call_incoming_free);
  set_ringing_id (self, NULL);
  if (self->direct) {
    g_clear_signal_handler (&self->direct_closed_id, self->direct);
    g_clear_object (&self->direct);
  }
  if (self->path) {
    g_signal_handlers_disconnect_by_data (self->path, self);
    wzp_path_manager_set_media_handler (self->path, NULL, NULL, NULL);
    wzp_path_manager_stop (self->path);
    g_clear_object (&self->path);
  }
  g_clear_pointer (&self->room_state, _wzp_call_room_free);
  if (self->listener)
    wzp_path_listener_set_peer (self->listener, NULL);
  if (self->signal) {
    g_signal_handlers_disconnect_by_data (self->signal, self);
    wzp_signal_client_set_media_handler (self->signal, NULL, NULL, NULL);
    /* A hang-up we just sent must reach the relay before the connection
     * closes (a QUIC close discards unsent stream data).  The timer holds
     * no reference: the context holds the source, and the call holds the
     * context, so a reference would be a cycle that leaks the call and its
     * sockets.  If the call goes away first, dispose closes at once. */
    if (self->hangup_sent && self->linger == NULL)
      self->linger = wzp_clock_timeout_add (self->clock, self->context,
          HANGUP_LINGER, linger_done, self, NULL);
    else if (!self->hangup_sent)
      wzp_signal_client_stop (self->signal);
  }
}

/* Takes @reason. */
static void
set_state (WzpCall * self, WzpCallState state, GError * reason)
{
  WzpCallState old;

  g_mutex_lock (&self->lock);
  old = self->state;
  if (old == state || is_over (old)) {
    g_mutex_unlock (&self->lock);
    g_clear_error (&reason);
    return;
  }
  self->state = state;
  g_mutex_unlock (&self->lock);

  if (reason)
    WZP_INFO_OBJECT (self, "%s -> %s: %s", wzp_call_state_to_string (old),
        wzp_call_state_to_string (state), reason->message);
  else
    WZP_INFO_OBJECT (self, "%s -> %s", wzp_call_state_to_string (old),
        wzp_call_state_to_string (state));
  if (is_over (state))
    stop_everything (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, state, reason);
  g_clear_error (&reason);
}

/* Takes @reason; records where (for wzp_call_get_failure_origin()). */
static void
fail_at (WzpCall * self, const char *file, const char *function, int line,
    GError * reason)
{
  if (!is_over (self->state) && self->fail_file == NULL) {
    self->fail_file = file;
    self->fail_function = function;
    self->fail_line = line;
  }
  set_state (self, WZP_CALL_STATE_FAILED, reason);
}

/* Ends the call with an error.  A macro, so g_error_new() checks the
 * format where it is written, and the failure's origin is that line. */
#define fail(self, code, ...) \
  fail_at ((self), __FILE__, G_STRFUNC, __LINE__, \
      g_error_new (WZP_CALL_ERROR, (code), __VA_ARGS__))

/* Takes @reason. */
static void
set_relay_state (WzpCall * self, WzpRelayState state, GError * reason)
{
  WzpRelayState old;

  g_mutex_lock (&self->lock);
  old = self->relay_state;
  if (old == state) {
    g_mutex_unlock (&self->lock);
    g_clear_error (&reason);
    return;
  }
  self->relay_state = state;
  if (state == WZP_RELAY_STATE_LOST)
    self->relay_losses++;
  g_mutex_unlock (&self->lock);

  WZP_INFO_OBJECT (self, "relay %s: %s -> %s%s%s", self->relay,
      wzp_relay_state_to_string (old), wzp_relay_state_to_string (state),
      reason ? ": " : "", reason ? reason->message : "");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RELAY_STATE]);
  g_signal_emit (self, signals[SIGNAL_RELAY_STATE_CHANGED], 0, state, reason);
  g_clear_error (&reason);
}

static void
set_path (WzpCall * self, WzpPathKind path, const char *reason)
{
  g_mutex_lock (&self->lock);
  if (self->current_path == path) {
    g_mutex_unlock (&self->lock);
    return;
  }
  self->current_path = path;
  self->path_changes++;
  g_mutex_unlock (&self->lock);
  WZP_INFO_OBJECT (self, "media path: %s (%s)", wzp_path_kind_to_string (path),
      reason);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PATH]);
  g_signal_emit (self, signals[SIGNAL_PATH_CHANGED], 0, path, reason);
}

static void
peer_hung_up (WzpCall * self, const char *how)
{
  set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
          WZP_CALL_ERROR_HUNG_UP, "%s ended the call (hangup)%s%s",
          self->active_peer, how ? " " : "", how ? how : ""));
}

/* --- media ------------------------------------------------------------ */

/* Opens what arrived on either path and hands the frame on. */
static void
deliver (WzpCall * self, const char *sender, WzpMediaOpener * opener,
    const guint8 * data, gsize len, WzpPathKind path)
{
  guint8 plain[WZP_MEDIA_MAX_PAYLOAD];
  WzpMediaHeader hdr;
  WzpCallFrame frame;
  guint64 now;
  gssize n;

  n = _wzp_call_media_open (&self->media, opener, data, len, &hdr, plain,
      sizeof plain, path);
  if (n < 0)
    return;
  now = wzp_clock_get_time (self->clock);
  g_mutex_lock (&self->lock);
  _wzp_relay_leg_media (&self->leg, now);
  if (self->setup_ns == 0 && self->setup_at)
    self->setup_ns = now - self->setup_at;
  g_mutex_unlock (&self->lock);

  if (self->frame_func == NULL)
    return;
  frame.sender = sender;
  frame.seq = hdr.seq;
  frame.timestamp = hdr.timestamp;
  frame.marker = (hdr.flags & WZP_MEDIA_FLAG_MARKER) != 0;
  frame.data = plain;
  frame.len = n;
  frame.arrival_ns = now;
  frame.path = path;
  self->frame_func (&frame, self->frame_data);
}

static void
on_relay_media (WzpSignalClient * client, guint32 channel,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->room_state) {
    WzpMediaOpener *opener;
    const char *sender;

    opener = _wzp_call_room_opener_for (self->room_state, channel, data, len,
        &sender);
    if (opener)
      deliver (self, sender, opener, data, len, WZP_PATH_RELAY);
    return;
  }
  /* Media of our call before its setup: kept until the setup says which
   * channel is ours and the keys are there (after an early start on a
   * LAN the keys came first, and the call may be active already). */
  if (self->channel == 0 && self->call_id &&
      (self->state == WZP_CALL_STATE_RINGING ||
          self->state == WZP_CALL_STATE_ACTIVE) &&
      _wzp_call_media_keep_early (&self->media, channel, data, len))
    return;
  if (self->media.opener == NULL || channel != self->channel)
    return;
  deliver (self, self->active_peer, self->media.opener, data, len,
      WZP_PATH_RELAY);
}

/* After the setup derived the keys: opens what came early, on the
 * call's channel; forgets the rest. */
static void
replay_early_media (WzpCall * self)
{
  WzpCallEarlyPacket *p;

  while ((p = _wzp_call_media_take_early (&self->media))) {
    if (p->channel == self->channel && self->media.opener)
      deliver (self, self->active_peer, self->media.opener, p->data, p->len,
          WZP_PATH_RELAY);
    g_free (p);
  }
}

/* Relayed media goes on the media leg once it is up, else on the
 * signaling connection. */
static WzpSignalClient *
relay_carrier (WzpCall * self)
{
  return _wzp_call_media_leg_carrier (self->media_leg, self->signal);
}

static void
on_direct_media (const guint8 * data, gsize len, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->media.opener)
    deliver (self, self->active_peer, self->media.opener, data, len,
        WZP_PATH_DIRECT);
}

static void
send_queued (WzpCall * self, Frame * f)
{
  if (self->room_state) {
    WzpMediaSealer *sealer = _wzp_call_room_get_sealer (self->room_state);

    if (sealer)
      _wzp_call_media_send (&self->media, sealer, relay_carrier (self),
          _wzp_call_room_get_channel (self->room_state), NULL, f->timestamp,
          f->marker, f->data, f->len);
  } else if (self->media.sealer) {
    _wzp_call_media_send (&self->media, self->media.sealer,
        relay_carrier (self), self->channel, self->path, f->timestamp,
        f->marker, f->data, f->len);
  }
}

/* --- the room's events ------------------------------------------------ */

static void
room_joined (gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->state == WZP_CALL_STATE_RINGING) {
    self->setup_at = wzp_clock_get_time (self->clock);
    set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
    set_path (self, WZP_PATH_RELAY, "room joined: media goes through the "
        "relay");
  }
}

static void
room_failed (gpointer user_data, const char *file, const char *function,
    int line, GError * reason)
{
  fail_at (user_data, file, function, line, reason);
}

static void
room_member_joined (gpointer user_data, const char *fingerprint)
{
  g_signal_emit (user_data, signals[SIGNAL_ROOM_MEMBER_JOINED], 0, fingerprint);
}

static void
room_member_left (gpointer user_data, const char *fingerprint)
{
  g_signal_emit (user_data, signals[SIGNAL_ROOM_MEMBER_LEFT], 0, fingerprint);
}

static void
room_rekeyed (gpointer user_data, const char *reason, guint stream_id,
    guint64 duration_ns, guint acked, guint members)
{
  g_signal_emit (user_data, signals[SIGNAL_ROOM_REKEYED], 0, reason,
      stream_id, duration_ns, acked, members);
}

static const WzpCallRoomEvents room_events = {
  .joined = room_joined,
  .failed = room_failed,
  .member_joined = room_member_joined,
  .member_left = room_member_left,
  .rekeyed = room_rekeyed,
};

/* --- signaling -------------------------------------------------------- */

/* Our host candidates, gathered (after a network change mid-call, the
 * roam's own set follows the host: wzp-call-roam.h). */
static void
gather_candidates (WzpCall * self)
{
  g_clear_pointer (&self->local_candidates, wzp_candidates_unref);
  self->local_candidates = _wzp_call_candidates_gather (self->endpoint,
      self->gather_loopback);
}

static const char *
my_nat (WzpCall * self)
{
  return wzp_nat_type_to_string (wzp_signal_client_get_nat_type (self->signal));
}

static void
place_call (WzpCall * self)
{
  g_autoptr (JsonObject) offer = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;

  if (self->call_placed || is_over (self->state))
    return;
  self->call_placed = TRUE;
  g_free (self->active_peer);
  self->active_peer = wzp_fingerprint_normalize (self->peer, NULL);
  g_clear_pointer (&self->call_id, g_free);
  offer = _wzp_call_handshake_offer (&self->handshake, self->identity,
      self->active_peer, self->local_candidates, my_nat (self), &self->leg,
      &self->call_id, &error);
  if (offer == NULL) {
    fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  /* Ringing, with the call's id and peer known to whoever listens. */
  set_state (self, WZP_CALL_STATE_RINGING, NULL);
  id = wzp_signal_client_place_call (self->signal, self->active_peer,
      self->call_id, offer, &error);
  if (id == NULL) {
    fail (self, WZP_CALL_ERROR_FAILED, "cannot place the call: %s",
        error->message);
    return;
  }
  WZP_INFO_OBJECT (self, "calling %s (call %s)", self->active_peer,
      self->call_id);
  early_listen (self);
}

static void
on_nat_type (GObject * obj, GParamSpec * pspec, gpointer user_data)
{
  WzpCall *self = user_data;

  WZP_DEBUG_OBJECT (self, "our NAT mapping: %s", my_nat (self));
}

static void resume_relay_leg (WzpCall * self);

static gboolean
resume_retry_cb (gpointer data)
{
  WzpCall *self = data;

  g_clear_pointer (&self->resume_timer, g_source_unref);
  if (self->state == WZP_CALL_STATE_ACTIVE && !self->room_state &&
      (self->leg.state == WZP_RELAY_LEG_RESUMING ||
          self->leg.state == WZP_RELAY_LEG_DOWN) &&
      wzp_signal_client_get_state (self->signal) == WZP_SIGNAL_STATE_REGISTERED)
    resume_relay_leg (self);
  return G_SOURCE_REMOVE;
}

/* Asks the relay to carry the active call's relay leg again (it may have
 * restarted, or ended the call when our connection died, or the cluster
 * node hosting it died).  Asked again every RESUME_RETRY until the relay
 * answers: in a cluster the request may go to a node that died since. */
static void
resume_relay_leg (WzpCall * self)
{
  g_autoptr (GError) error = NULL;

  if (!_wzp_relay_leg_can_resume (&self->leg) || self->active_peer == NULL)
    return;
  g_clear_pointer (&self->resume_timer, wzp_clock_source_destroy_and_unref);
  self->resume_timer = wzp_clock_timeout_add (self->clock, self->context,
      RESUME_RETRY, resume_retry_cb, self, NULL);
  if (!wzp_signal_client_resume_call (self->signal, self->active_peer,
          self->leg.peer_key, self->handshake.is_caller, &self->leg.proof,
          &error)) {
    WZP_WARNING_OBJECT (self, "cannot ask the relay to resume call %s: %s",
        self->call_id, error->message);
    return;
  }
  _wzp_relay_leg_resuming (&self->leg);
  WZP_INFO_OBJECT (self, "asked the relay to carry call %s again",
      self->call_id);
}

/* --- the media leg (a cluster node hosting our call or room) ---------- */

static void
on_leg_lost (WzpSignalClient * leg, GError * reason, gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;

  WZP_WARNING_OBJECT (self, "media leg lost: %s", reason->message);
  if (self->state != WZP_CALL_STATE_ACTIVE)
    return;
  /* The leg redials by itself; if the node died, our own relay finds the
   * call's new home. */
  if (self->room_state) {
    if (!_wzp_call_room_join (self->room_state, &error))
      WZP_WARNING_OBJECT (self, "cannot join room %s again: %s", self->room,
          error->message);
    return;
  }
  _wzp_relay_leg_down (&self->leg, wzp_clock_get_time (self->clock));
  if (wzp_signal_client_get_state (self->signal) == WZP_SIGNAL_STATE_REGISTERED)
    resume_relay_leg (self);
}

/* Where the media of our call or room meets: @addr (a leg there), or our
 * own relay (@addr NULL: no leg). */
static void
on_media_relay (WzpSignalClient * client, const char *scope,
    GSocketAddress * addr, const char *fp, gpointer user_data)
{
  WzpCall *self = user_data;
  g_autofree char *where = NULL;
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (scope, self->call_id) != 0 && (self->room_state == NULL ||
          g_strcmp0 (scope, _wzp_call_room_get_id (self->room_state)) != 0))
    return;
  if (addr == NULL) {
    if (self->media_leg)
      WZP_INFO_OBJECT (self, "%s: media through our relay again", scope);
    _wzp_call_media_leg_close (&self->media_leg, self);
    return;
  }
  if (self->media_leg && _wzp_call_media_leg_goes_to (self->media_leg, addr,
          fp))
    return;
  _wzp_call_media_leg_close (&self->media_leg, self);
  where = wzp_socket_address_to_string (addr);
  WZP_INFO_OBJECT (self, "%s is hosted by the relay node at %s (%s): "
      "opening a media leg", scope, where, fp);
  self->media_leg = _wzp_call_media_leg_open (self->endpoint, addr, fp,
      ACTIVE_RECONNECT_MAX, on_relay_media, on_leg_lost, self, &error);
  if (self->media_leg == NULL)
    WZP_WARNING_OBJECT (self, "no media leg to %s: %s", where, error->message);
}

static void
on_registered (WzpSignalClient * client, GSocketAddress * observed,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autofree char *addr = wzp_socket_address_to_string (observed);
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->register_timeout, wzp_clock_source_destroy_and_unref);
  WZP_INFO_OBJECT (self, "registered as %s; the relay sees us at %s",
      wzp_identity_get_fingerprint (self->identity), addr);
  if (is_over (self->state))
    return;
  set_relay_state (self, WZP_RELAY_STATE_REGISTERED, NULL);
  if (self->was_registered && self->state == WZP_CALL_STATE_ACTIVE) {
    /* A re-registration after the relay was lost: the call goes on; its
     * relay leg must be asked for again (a restarted relay forgot it). */
    if (self->room_state) {
      if (!_wzp_call_room_join (self->room_state, &error))
        WZP_WARNING_OBJECT (self, "cannot join room %s again: %s",
            self->room, error->message);
    } else {
      resume_relay_leg (self);
    }
    return;
  }
  if (self->was_registered && self->state == WZP_CALL_STATE_RINGING)
    return;
  self->was_registered = TRUE;
  if (!wzp_signal_client_probe_nat (client, &error))
    WZP_DEBUG_OBJECT (self, "no NAT probe: %s", error->message);
  g_clear_error (&error);
  /* The call left right behind the registration (on_registration_sent),
   * and may even be on a LAN path already (the early start). */
  if (self->call_placed || self->state == WZP_CALL_STATE_ACTIVE ||
      self->state == WZP_CALL_STATE_RINGING)
    return;

  if (self->room) {
    set_state (self, WZP_CALL_STATE_RINGING, NULL);
    if (!_wzp_call_room_join (self->room_state, &error))
      fail (self, WZP_CALL_ERROR_FAILED, "cannot join room %s: %s",
          self->room, error->message);
  } else if (self->peer) {
    /* No waiting for our probe (one more round trip): the offer carries
     * our NAT type when we already know it, and otherwise the relay, which
     * sees the probe started above well before the callee answers, puts
     * it into the peer's call-setup (peer_nat). */
    place_call (self);
  } else {
    set_state (self, WZP_CALL_STATE_WAITING, NULL);
  }
}

/* The registration left with the handshake's end: the call can follow it
 * at once instead of a round trip later (PROTOCOL.md §3). */
static void
on_registration_sent (WzpSignalClient * client, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->peer == NULL || self->room || self->call_placed ||
      self->state != WZP_CALL_STATE_CONNECTING)
    return;
  place_call (self);
}

/* An incoming call we did not answer yet, or answered without a setup
 * yet, is gone: wait for the next one.  Takes @why. */
static void
forget_incoming (WzpCall * self, GError * why)
{
  g_clear_pointer (&self->incoming, _wzp_call_incoming_free);
  set_ringing_id (self, NULL);
  if (!self->handshake.is_caller) {
    /* What an early start made goes too. */
    early_abandon (self);
    if (self->listener)
      wzp_path_listener_set_peer (self->listener, NULL);
  }
  if (!self->handshake.is_caller && self->media.sealer == NULL) {
    g_clear_pointer (&self->call_id, g_free);
    g_clear_pointer (&self->active_peer, g_free);
    _wzp_call_handshake_reset (&self->handshake);
    _wzp_relay_leg_reset (&self->leg);
  }
  set_state (self, WZP_CALL_STATE_WAITING, why);
}

static void
on_connection_lost (WzpSignalClient * client, GError * reason,
    gpointer user_data)
{
  WzpCall *self = user_data;

  if (is_over (self->state))
    return;
  set_relay_state (self, WZP_RELAY_STATE_LOST, g_error_copy (reason));
  switch (self->state) {
    case WZP_CALL_STATE_RINGING:
      /* The relay held the ringing call; a relay that comes back knows
       * nothing of it, so nothing will ever answer or end it. */
      if (self->handshake.is_caller && self->call_placed)
        fail (self, WZP_CALL_ERROR_RELAY_LOST,
            "it went away while %s's phone rang (%s)", self->active_peer,
            reason->message);
      else if (!self->room)
        forget_incoming (self, g_error_new (WZP_CALL_ERROR,
                WZP_CALL_ERROR_RELAY_LOST, "the relay went away while the "
                "call rang (%s)", reason->message));
      break;
    case WZP_CALL_STATE_ACTIVE:
      if (!self->room_state)
        _wzp_relay_leg_down (&self->leg, wzp_clock_get_time (self->clock));
      break;
    default:
      break;
  }
}

static void
on_call_resumed (WzpSignalClient * client, const char *call_id,
    guint channel, gpointer user_data)
{
  WzpCall *self = user_data;

  if (g_strcmp0 (call_id, self->call_id) != 0 ||
      self->state != WZP_CALL_STATE_ACTIVE || self->room_state)
    return;
  if (channel != self->channel)
    WZP_INFO_OBJECT (self, "call %s: relay channel %u -> %u", call_id,
        self->channel, channel);
  self->channel = channel;
  g_clear_pointer (&self->resume_timer, wzp_clock_source_destroy_and_unref);
  _wzp_call_media_leg_take_channel (self->media_leg, self->signal, call_id,
      channel);
  _wzp_relay_leg_up (&self->leg, channel, wzp_clock_get_time (self->clock));
  set_relay_state (self, WZP_RELAY_STATE_RESUMED, NULL);
}

static void
reject_incoming (WzpCall * self, const char *why)
{
  WzpCallIncoming *in = self->incoming;

  WZP_INFO_OBJECT (self, "rejecting call %s from %s%s%s", in->call_id,
      in->caller, why ? ": " : "", why ? why : "");
  wzp_signal_client_reject (self->signal, in->call_id, NULL);
  forget_incoming (self, NULL);
}

static void
answer_incoming (WzpCall * self)
{
  WzpCallIncoming *in = g_steal_pointer (&self->incoming);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (JsonObject) offer = json_object_ref (in->offer);

  g_free (self->call_id);
  self->call_id = g_strdup (in->call_id);
  g_free (self->active_peer);
  self->active_peer = g_strdup (in->caller);
  set_ringing_id (self, NULL);
  /* The caller may dial us as soon as its call-setup arrives, which may
   * be before ours: its connection is held for the path manager. */
  if (self->listener)
    wzp_path_listener_set_peer (self->listener, self->active_peer);
  answer = _wzp_call_handshake_answer (&self->handshake, self->identity, in,
      self->local_candidates, my_nat (self), &self->leg, &error);
  _wzp_call_incoming_free (in);
  if (answer == NULL) {
    fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  if (!wzp_signal_client_answer (self->signal, self->call_id, answer, &error)) {
    fail (self, WZP_CALL_ERROR_FAILED, "cannot answer: %s", error->message);
    return;
  }
  set_state (self, WZP_CALL_STATE_RINGING, NULL);
  WZP_INFO_OBJECT (self, "answered call %s from %s", self->call_id,
      self->active_peer);
  early_dial (self, offer, answer);
}

/* The application decided about the ringing incoming call. */
static void
decide_incoming (WzpCall * self, gboolean accept)
{
  if (self->incoming == NULL || is_over (self->state))
    return;
  if (accept)
    answer_incoming (self);
  else
    reject_incoming (self, "the application said no");
}

static void
on_incoming_call (WzpSignalClient * client, const char *call_id,
    const char *from, GBytes * from_public_key, JsonObject * offer,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;
  WzpCallIncoming *in;

  if (self->state != WZP_CALL_STATE_WAITING || self->call_id || self->incoming) {
    WZP_INFO_OBJECT (self, "busy: rejecting call %s from %s", call_id, from);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  in = _wzp_call_incoming_verify (call_id, from, from_public_key, offer,
      wzp_identity_get_fingerprint (self->identity), &error);
  if (in == NULL) {
    WZP_WARNING_OBJECT (self, "rejecting call %s from %s: %s", call_id, from,
        error->message);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  self->incoming = in;
  switch (self->answer_policy) {
    case WZP_ANSWER_POLICY_AUTO:
      answer_incoming (self);
      break;
    case WZP_ANSWER_POLICY_REJECT:
      reject_incoming (self, "answer policy");
      break;
    case WZP_ANSWER_POLICY_ASK:{
      g_autofree char *caller = g_strdup (in->caller);
      g_autofree char *id = g_strdup (in->call_id);
      /* The application answers whenever it likes (wzp_call_answer());
       * the call goes on meanwhile.  The relay's ring timeout or the
       * caller hanging up ends the wait. */
      set_ringing_id (self, id);
      set_state (self, WZP_CALL_STATE_RINGING, NULL);
      WZP_INFO_OBJECT (self, "call %s from %s rings: asking the application",
          id, caller);
      g_signal_emit (self, signals[SIGNAL_INCOMING_CALL], 0, caller, id);
      break;
    }
  }
}

static void
on_call_setup (WzpSignalClient * client, WzpCallSetup * setup,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;
  WzpOfferInfo info;
  WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;
  g_autoptr (WzpCandidates) theirs = NULL;

  if (early_set_up (self, setup))
    return;
  if (self->call_id == NULL || g_strcmp0 (setup->call_id, self->call_id) != 0
      || self->media.sealer != NULL) {
    WZP_DEBUG_OBJECT (self, "ignoring setup for call %s", setup->call_id);
    return;
  }
  if (!_wzp_call_handshake_check_setup (&self->handshake, self->identity,
          self->active_peer, setup, &self->leg, &info, &error)) {
    fail (self, WZP_CALL_ERROR_BAD_PEER, "%s", error->message);
    return;
  }
  if (!_wzp_call_media_derive_keys (&self->media, self->handshake.eph,
          info.eph, self->handshake.call_id_bin, self->handshake.is_caller,
          &error)) {
    _wzp_offer_info_clear (&info);
    fail (self, WZP_CALL_ERROR_BAD_PEER, "no media keys: %s", error->message);
    return;
  }
  g_clear_pointer (&self->handshake.eph, wzp_x25519_key_free);
  /* The peer's offer or answer says what its own probe found when it was
   * made; the relay's word (from the same probe, seen by the relay) fills
   * in an "unknown" there, e.g. a caller that called before its probe
   * finished. */
  if (!info.nat || !wzp_nat_type_from_string (info.nat, &peer_nat))
    peer_nat = WZP_NAT_TYPE_UNKNOWN;
  if (peer_nat == WZP_NAT_TYPE_UNKNOWN)
    peer_nat = setup->peer_nat;
  self->channel = setup->channel;
  self->setup_at = wzp_clock_get_time (self->clock);
  _wzp_relay_leg_up (&self->leg, self->channel, self->setup_at);
  WZP_INFO_OBJECT (self, "call %s set up with %s (relay channel %u, peer "
      "NAT %s in its %s, %s from the relay: %s)", self->call_id,
      self->active_peer, self->channel, info.nat ? info.nat : "(none)",
      self->handshake.is_caller ? "answer" : "offer",
      wzp_nat_type_to_string (setup->peer_nat),
      wzp_nat_type_to_string (peer_nat));
  /* A lost relay is looked for again every second at most while the
   * call lasts, so its relay leg resumes soon after the relay is back. */
  g_object_set (self->signal, "reconnect-max", ACTIVE_RECONNECT_MAX, NULL);
  set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
  set_path (self, WZP_PATH_RELAY, "call set up: media starts on the relay");
  theirs = _wzp_call_peer_candidates (info.candidates, setup->peer_reflexive);
  _wzp_offer_info_clear (&info);
  start_path (self, theirs, peer_nat);
  start_watchdog (self);
  _wzp_call_media_leg_take_channel (self->media_leg, self->signal,
      self->call_id, self->channel);
  replay_early_media (self);
}

/* The relay ended an active call because it lost the peer (or would not
 * carry it again).  A direct path that still carries media outweighs
 * the relay's word: the peer may only have lost its relay connection. */
static gboolean
relay_leg_ended (WzpCall * self, const char *reason)
{
  if (wzp_call_get_path (self) != WZP_PATH_DIRECT)
    return FALSE;
  WZP_INFO_OBJECT (self, "the relay ended call %s (%s), but the direct path "
      "carries it: going on", self->call_id, reason);
  _wzp_relay_leg_down (&self->leg, wzp_clock_get_time (self->clock));
  /* So that the relay bridges us again when the peer is back. */
  if (g_str_equal (reason, "peer-gone"))
    resume_relay_leg (self);
  return TRUE;
}

static void
on_call_ended (WzpSignalClient * client, const char *call_id,
    const char *reason, gpointer user_data)
{
  WzpCall *self = user_data;
  WzpCallError code = WZP_CALL_ERROR_FAILED;
  const char *what = NULL;

  if (self->incoming && g_strcmp0 (call_id, self->incoming->call_id) == 0) {
    /* Rang, and nobody decided in time (or the caller gave up). */
    WZP_INFO_OBJECT (self, "call %s from %s: %s", call_id,
        self->incoming->caller, reason);
    forget_incoming (self, g_error_new (WZP_CALL_ERROR,
            g_str_equal (reason, "no-answer") ? WZP_CALL_ERROR_NO_ANSWER :
            WZP_CALL_ERROR_HUNG_UP, "the caller's call ended before it was "
            "answered (%s)", reason));
    return;
  }
  if (g_strcmp0 (call_id, self->call_id) != 0)
    return;
  /* (RINGING, not "no keys yet": an early start makes them on answering.) */
  if (!self->handshake.is_caller && self->state == WZP_CALL_STATE_RINGING &&
      (g_str_equal (reason, "no-answer") || g_str_equal (reason, "hangup"))) {
    /* An incoming call that never got set up: wait for the next one. */
    forget_incoming (self, NULL);
    return;
  }
  if (self->state == WZP_CALL_STATE_ACTIVE && (g_str_equal (reason,
              "peer-gone") || g_str_equal (reason, "bad-proof") ||
          g_str_equal (reason, "busy"))) {
    if (relay_leg_ended (self, reason))
      return;
    if (g_str_equal (reason, "peer-gone"))
      set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
              WZP_CALL_ERROR_PEER_GONE, "%s is gone: its connection to the "
              "relay died (peer-gone)", self->active_peer));
    else
      fail (self, WZP_CALL_ERROR_RELAY_LOST, "the relay will not carry call "
          "%s again (%s)", self->call_id, reason);
    return;
  }
  if (g_str_equal (reason, "peer-offline")) {
    code = WZP_CALL_ERROR_PEER_OFFLINE;
    what = "is not connected to the relay";
  } else if (g_str_equal (reason, "busy")) {
    code = WZP_CALL_ERROR_BUSY;
    what = "is busy in another call";
  } else if (g_str_equal (reason, "rejected")) {
    code = WZP_CALL_ERROR_REJECTED;
    what = "rejected the call";
  } else if (g_str_equal (reason, "no-answer")) {
    code = WZP_CALL_ERROR_NO_ANSWER;
    what = "did not answer";
  } else if (g_str_equal (reason, "cluster-unavailable")) {
    code = WZP_CALL_ERROR_CLUSTER_UNAVAILABLE;
    what = "cannot be looked for: it is not at our relay, and our relay "
        "cannot reach its cluster (cluster-unavailable)";
  }
  if (what) {
    fail (self, code, "%s %s", self->active_peer, what);
    return;
  }
  if (g_str_equal (reason, "hangup")) {
    peer_hung_up (self, NULL);
    return;
  }
  set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
          g_str_equal (reason, "peer-gone") ? WZP_CALL_ERROR_PEER_GONE :
          WZP_CALL_ERROR_FAILED, "%s ended the call (%s)", self->active_peer,
          reason));
}

static void
on_signal_error (WzpSignalClient * client, GError * error, gpointer user_data)
{
  WzpCall *self = user_data;
  WzpCallError code;

  if (error->domain != WZP_SIGNAL_ERROR)
    return;
  switch (error->code) {
    case WZP_SIGNAL_ERROR_REFUSED:
      code = WZP_CALL_ERROR_RELAY_REFUSED;
      break;
    case WZP_SIGNAL_ERROR_SUPERSEDED:
      code = WZP_CALL_ERROR_SUPERSEDED;
      break;
    case WZP_SIGNAL_ERROR_RELAY_IDENTITY:
      code = WZP_CALL_ERROR_RELAY_IDENTITY;
      break;
    default:
      WZP_DEBUG_OBJECT (self, "signaling: %s", error->message);
      return;
  }
  /* The signal client stopped for good: no redial can change this. */
  set_relay_state (self, WZP_RELAY_STATE_FAILED, g_error_copy (error));
  fail (self, code, "%s", error->message);
}

static gboolean
register_timed_out (gpointer user_data)
{
  WzpCall *self = user_data;

  g_clear_pointer (&self->register_timeout, g_source_unref);
  fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE,
      "cannot reach the relay at %s (no registration within %u ms)",
      self->relay, self->relay_timeout_ms);
  return G_SOURCE_REMOVE;
}

static void
connect_signaling (WzpCall * self)
{
  g_signal_connect (self->signal, "registered", G_CALLBACK (on_registered),
      self);
  g_signal_connect (self->signal, "registration-sent",
      G_CALLBACK (on_registration_sent), self);
  g_signal_connect (self->signal, "notify::nat-type",
      G_CALLBACK (on_nat_type), self);
  g_signal_connect (self->signal, "incoming-call",
      G_CALLBACK (on_incoming_call), self);
  g_signal_connect (self->signal, "call-setup", G_CALLBACK (on_call_setup),
      self);
  g_signal_connect (self->signal, "call-ended", G_CALLBACK (on_call_ended),
      self);
  g_signal_connect (self->signal, "call-resumed",
      G_CALLBACK (on_call_resumed), self);
  g_signal_connect (self->signal, "media-relay", G_CALLBACK (on_media_relay),
      self);
  g_signal_connect (self->signal, "connection-lost",
      G_CALLBACK (on_connection_lost), self);
  g_signal_connect (self->signal, "error", G_CALLBACK (on_signal_error), self);
  wzp_signal_client_set_media_handler (self->signal, on_relay_media, self,
      NULL);
}

/* --- the direct path -------------------------------------------------- */

/* Closes the direct connection with "hangup", so a peer the relay cannot
 * tell learns it there. */
static void
hang_up_direct (WzpCall * self)
{
  WzpConnection *direct = self->path ?
      wzp_path_manager_get_direct_connection (self->path) : NULL;

  if (direct && wzp_connection_get_state (direct) !=
      WZP_CONNECTION_STATE_CLOSED)
    wzp_connection_close (direct, WZP_CLOSE_HANGUP, "hangup");
}

static void
on_direct_closed (WzpConnection * conn, const GError * reason,
    gpointer user_data)
{
  WzpCall *self = user_data;
  guint64 code;

  if (g_error_matches (reason, WZP_CONNECTION_ERROR,
          WZP_CONNECTION_ERROR_PEER_CLOSED) &&
      wzp_connection_get_peer_close_code (conn, &code) &&
      code == WZP_CLOSE_HANGUP && self->state == WZP_CALL_STATE_ACTIVE)
    peer_hung_up (self, "over the direct path");
}

/* Watches the current direct connection, so a hang-up reaches us there
 * even when the relay cannot tell us (it is gone, or restarting). */
static void
watch_direct (WzpCall * self)
{
  WzpConnection *direct = self->path ?
      wzp_path_manager_get_direct_connection (self->path) : NULL;

  /* A connection that just closed is still watched: the path manager
   * forgets it in the same "closed" emission that would tell us. */
  if (direct == NULL || direct == self->direct)
    return;
  if (self->direct) {
    g_clear_signal_handler (&self->direct_closed_id, self->direct);
    g_clear_object (&self->direct);
  }
  self->direct = g_object_ref (direct);
  self->direct_closed_id = g_signal_connect (direct, "closed",
      G_CALLBACK (on_direct_closed), self);
}

static void
on_path_changed (WzpPathManager * pm, WzpPathKind path, const char *reason,
    gpointer user_data)
{
  WzpCall *self = user_data;

  /* An early start agreed on the LAN before the relay's call-setup: the
   * call is on from now. */
  if (path == WZP_PATH_DIRECT && self->state == WZP_CALL_STATE_RINGING &&
      self->early.keys_made) {
    self->setup_at = wzp_clock_get_time (self->clock);
    set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
    start_watchdog (self);
  }
  watch_direct (self);
  set_path (self, path == WZP_PATH_NONE ? WZP_PATH_RELAY : path, reason);
}

static void
on_race_finished (WzpPathManager * pm, gboolean direct, const char *reason,
    gpointer user_data)
{
  WzpCall *self = user_data;

  if (!direct && self->path_policy == WZP_PATH_POLICY_DIRECT_ONLY)
    fail (self, WZP_CALL_ERROR_NO_PATH, "no direct path to %s: %s",
        self->active_peer, reason);
}

/* What every path manager of this call is given. */
static void
path_config (WzpCall * self, WzpPathConfig * cfg, WzpCandidates * theirs,
    WzpNatType peer_nat)
{
  wzp_path_config_init (cfg);
  cfg->local_fingerprint = wzp_identity_get_fingerprint (self->identity);
  cfg->peer_fingerprint = self->active_peer;
  cfg->local_nat = wzp_signal_client_get_nat_type (self->signal);
  cfg->peer_nat = peer_nat;
  cfg->local_candidates = self->local_candidates;
  cfg->peer_candidates = theirs;
  cfg->policy = self->path_policy;
  cfg->listener = self->listener;
  cfg->spray_ports = self->nat_spray;
  if (self->timings)
    cfg->timings = *self->timings;
  memcpy (cfg->call_token, self->media.punch_token, WZP_PATH_TOKEN_LEN);
}

/* Makes the call's path manager from @cfg and starts it; once it runs, a
 * network change makes it race again. */
static void
run_path (WzpCall * self, const WzpPathConfig * cfg)
{
  g_autoptr (GError) error = NULL;

  self->path = wzp_path_manager_new (self->endpoint, cfg, &error);
  if (self->path == NULL) {
    WZP_WARNING_OBJECT (self, "no direct path: %s", error->message);
    return;
  }
  wzp_path_manager_set_media_handler (self->path, on_direct_media, self, NULL);
  g_signal_connect (self->path, "path-changed", G_CALLBACK (on_path_changed),
      self);
  g_signal_connect (self->path, "race-finished",
      G_CALLBACK (on_race_finished), self);
  if (!wzp_path_manager_start (self->path, &error)) {
    WZP_WARNING_OBJECT (self, "no direct path: %s", error->message);
    return;
  }
  /* (Starting may have ended the call: a direct-only call without a
   * candidate to try.) */
  if (self->path && self->roam == NULL)
    self->roam = _wzp_call_roam_new (self->signal, self->path,
        self->endpoint, self->local_candidates, self->gather_loopback,
        self->clock, self->context, self->call_id, self->active_peer);
}

static void
start_path (WzpCall * self, WzpCandidates * theirs, WzpNatType peer_nat)
{
  WzpPathConfig cfg;

  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY)
    return;
  path_config (self, &cfg, theirs, peer_nat);
  run_path (self, &cfg);
}

/* --- the early start on a LAN (wzp-call-early.h) ---------------------- */

/* The callee, having answered: dial the caller's host candidates with the
 * answer as the greeting.  Only we know the other's candidates yet: we
 * dial. */
static void
early_dial (WzpCall * self, JsonObject * offer, JsonObject * answer)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  g_autoptr (GBytes) greeting = NULL;
  WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;
  WzpPathConfig cfg;

  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY || self->path ||
      self->no_early_start || self->media.sealer)
    return;
  greeting = _wzp_call_early_greeting (self->handshake.call_id_bin, offer,
      answer, &theirs, &peer_nat);
  if (greeting == NULL)
    return;
  /* Both ephemeral keys are known: the media keys too. */
  if (!_wzp_call_media_derive_keys (&self->media, self->handshake.eph,
          self->handshake.caller_eph, self->handshake.call_id_bin, FALSE,
          &error)) {
    WZP_WARNING_OBJECT (self, "no early keys: %s", error->message);
    _wzp_call_media_reset (&self->media);
    return;
  }
  g_clear_pointer (&self->handshake.eph, wzp_x25519_key_free);
  self->early.keys_made = TRUE;
  path_config (self, &cfg, theirs, peer_nat);
  cfg.role = WZP_PATH_ROLE_DIALER;
  cfg.greeting = greeting;
  WZP_INFO_OBJECT (self, "dialing the caller's host candidates before the "
      "relay's call-setup");
  run_path (self, &cfg);
}

/* The caller: a held connection from the callee carried a message,
 * perhaps its answer. */
static void
on_listener_message (WzpPathListener * listener, WzpConnection * conn,
    GBytes * bytes, gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  WzpOfferInfo info = { 0 };
  WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;
  WzpPathConfig cfg;

  if (self->media.sealer || self->path || self->state != WZP_CALL_STATE_RINGING)
    return;
  if (!_wzp_call_early_read_answer (&self->early, bytes, conn,
          &self->handshake, self->identity, self->active_peer, &self->leg,
          &info))
    return;
  if (!_wzp_call_media_derive_keys (&self->media, self->handshake.eph,
          info.eph, self->handshake.call_id_bin, TRUE, &error)) {
    _wzp_offer_info_clear (&info);
    fail (self, WZP_CALL_ERROR_BAD_PEER, "no media keys: %s", error->message);
    return;
  }
  g_clear_pointer (&self->handshake.eph, wzp_x25519_key_free);
  self->early.keys_made = TRUE;
  WZP_INFO_OBJECT (self, "%s answered on the LAN, before the relay's "
      "call-setup", self->active_peer);
  if (info.nat)
    wzp_nat_type_from_string (info.nat, &peer_nat);
  theirs = _wzp_call_peer_candidates (info.candidates, NULL);
  _wzp_offer_info_clear (&info);
  path_config (self, &cfg, theirs, peer_nat);
  cfg.role = WZP_PATH_ROLE_ACCEPTOR;
  /* It takes this connection from the listener (its path-ok follows). */
  run_path (self, &cfg);
}

/* The caller, having placed the call: the callee's answer may come on
 * the LAN. */
static void
early_listen (WzpCall * self)
{
  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY ||
      self->listener == NULL || self->no_early_start ||
      self->early.listener_message_id)
    return;
  self->early.listener_message_id = g_signal_connect (self->listener,
      "message", G_CALLBACK (on_listener_message), self);
}

/* The relay's call-setup: TRUE when it belonged to an early start (keys
 * made before it) and is done with. */
static gboolean
early_set_up (WzpCall * self, WzpCallSetup * setup)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  WzpOfferInfo info = { 0 };
  WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;

  if (self->listener)
    g_clear_signal_handler (&self->early.listener_message_id, self->listener);
  if (!self->early.keys_made || self->call_id == NULL ||
      g_strcmp0 (setup->call_id, self->call_id) != 0)
    return FALSE;
  /* Once: a second setup is ignored as usual (the keys exist). */
  self->early.keys_made = FALSE;
  if (!_wzp_call_early_check_setup (&self->early, &self->handshake,
          self->identity, self->active_peer, setup, &self->leg, &info,
          &error)) {
    fail (self, WZP_CALL_ERROR_BAD_PEER, "%s", error->message);
    return TRUE;
  }
  if (!info.nat || !wzp_nat_type_from_string (info.nat, &peer_nat))
    peer_nat = WZP_NAT_TYPE_UNKNOWN;
  if (peer_nat == WZP_NAT_TYPE_UNKNOWN)
    peer_nat = setup->peer_nat;
  self->channel = setup->channel;
  if (self->setup_at == 0)
    self->setup_at = wzp_clock_get_time (self->clock);
  _wzp_relay_leg_up (&self->leg, self->channel,
      wzp_clock_get_time (self->clock));
  g_object_set (self->signal, "reconnect-max", ACTIVE_RECONNECT_MAX, NULL);
  theirs = _wzp_call_peer_candidates (info.candidates, setup->peer_reflexive);
  _wzp_offer_info_clear (&info);
  WZP_INFO_OBJECT (self, "call %s set up with %s (relay channel %u) after an "
      "early start: path %s", self->call_id, self->active_peer,
      self->channel, self->path ?
      wzp_path_kind_to_string (wzp_path_manager_get_path (self->path)) :
      "none");
  if (self->state != WZP_CALL_STATE_ACTIVE) {
    set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
    set_path (self, WZP_PATH_RELAY, "call set up: media starts on the relay");
  }
  start_watchdog (self);
  _wzp_call_media_leg_take_channel (self->media_leg, self->signal,
      self->call_id, self->channel);
  replay_early_media (self);
  if (self->path == NULL) {
    start_path (self, theirs, peer_nat);
    return TRUE;
  }
  /* On the LAN already: keep it, and know the rest for later races.  The
   * same when the early race chose a connection that is being agreed on
   * (our setup came before the peer read our greeting: on one host, or
   * a loaded one) and the roles given are those both sides decide: the
   * peer takes that connection, early or with its own setup, and racing
   * again would replace it under the caller, which may have no relay
   * channel yet.  Otherwise race the usual way, roles decided as both
   * sides do. */
  if (wzp_path_manager_get_path (self->path) == WZP_PATH_DIRECT ||
      (wzp_path_manager_get_direct_connection (self->path) &&
          wzp_path_manager_get_role (self->path) ==
          wzp_path_decide_role (wzp_signal_client_get_nat_type
              (self->signal), peer_nat,
              wzp_identity_get_fingerprint (self->identity),
              self->active_peer, NULL)))
    wzp_path_manager_learn_peer (self->path, theirs, peer_nat);
  else
    wzp_path_manager_update_peer (self->path, theirs, peer_nat);
  return TRUE;
}

/* A call that ended before it was set up (the caller gave up while we
 * rang): what the early start made goes, and the callee waits again. */
static void
early_abandon (WzpCall * self)
{
  if (!self->early.keys_made && self->path == NULL)
    return;
  g_clear_pointer (&self->roam, _wzp_call_roam_free);
  if (self->path) {
    g_signal_handlers_disconnect_by_data (self->path, self);
    wzp_path_manager_set_media_handler (self->path, NULL, NULL, NULL);
    wzp_path_manager_stop (self->path);
    g_clear_object (&self->path);
  }
  _wzp_call_media_reset (&self->media);
  early_stop (self);
}

static void
early_stop (WzpCall * self)
{
  if (self->listener)
    g_clear_signal_handler (&self->early.listener_message_id, self->listener);
  memset (&self->early, 0, sizeof self->early);
}

/* --- the watchdog of an active call ----------------------------------- */

static guint64
current_rtt (WzpCall * self, const WzpRelayChannelStats * ch)
{
  WzpConnectionStats cs;
  WzpConnection *conn = NULL;

  if (wzp_call_get_path (self) == WZP_PATH_DIRECT && self->path) {
    conn = wzp_path_manager_get_direct_connection (self->path);
  } else if (self->signal) {
    /* Relayed media on the relay's media channel: its own round trip
     * (BIND to BIND-ACK), not the mostly idle signaling connection's,
     * whose ACKs the relay delays. */
    if (ch->state == WZP_RELAY_CHANNEL_UP && ch->rtt_ns)
      return ch->rtt_ns;
    conn = wzp_signal_client_get_connection (relay_carrier (self));
  }
  if (conn == NULL)
    return 0;
  wzp_connection_get_stats (conn, &cs);
  return cs.rtt_ns;
}

static void
watchdog_tick (WzpCall * self)
{
  guint64 now = wzp_clock_get_time (self->clock);
  guint64 rtt, silence;
  WzpRelayChannelStats ch;

  if (self->state != WZP_CALL_STATE_ACTIVE)
    return;
  watch_direct (self);
  memset (&ch, 0, sizeof ch);
  if (!self->room_state && self->signal)
    wzp_signal_client_get_channel_stats (_wzp_call_media_leg_channel_owner
        (self->media_leg, self->signal), self->channel, &ch);
  rtt = current_rtt (self, &ch);
  g_mutex_lock (&self->lock);
  /* Keep the last value while the relay is away. */
  if (rtt)
    self->rtt_ns = rtt;
  /* A call that ends takes its channel along: keep its last counts. */
  if (ch.state != WZP_RELAY_CHANNEL_OFF || ch.sent || ch.received)
    self->relay_channel = ch;
  self->relay_channel.state = ch.state;
  g_mutex_unlock (&self->lock);

  silence = self->room_state ? 0 : _wzp_relay_leg_silence (&self->leg, now);
  if (self->media_timeout_ms > 0 &&
      silence >= (guint64) self->media_timeout_ms * WZP_NSEC_PER_MSEC)
    fail (self, WZP_CALL_ERROR_RELAY_LOST,
        "no media from %s for %u ms, and the relay is %s", self->active_peer,
        self->media_timeout_ms, wzp_signal_client_get_state (self->signal)
        == WZP_SIGNAL_STATE_REGISTERED ? "not carrying the call" :
        "unreachable");
}

static gboolean
watchdog_dispatch (gpointer user_data)
{
  WzpCall *self = user_data;

  wzp_timer_source_set_deadline (self->watchdog,
      wzp_clock_get_time (self->clock) + WATCHDOG_INTERVAL);
  /* May end the call, which destroys this source: fine while it runs. */
  watchdog_tick (self);
  return G_SOURCE_CONTINUE;
}

static void
start_watchdog (WzpCall * self)
{
  if (self->watchdog)
    return;
  self->watchdog = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->watchdog, watchdog_dispatch, self, NULL);
  g_source_set_name (self->watchdog, "WzpCall watchdog");
  g_source_attach (self->watchdog, self->context);
  wzp_timer_source_set_deadline (self->watchdog,
      wzp_clock_get_time (self->clock) + WATCHDOG_INTERVAL);
}

/* --- requests from other threads -------------------------------------- */

static void
hang_up_now (WzpCall * self)
{
  if (self->incoming && self->signal)
    self->hangup_sent = wzp_signal_client_reject (self->signal,
        self->incoming->call_id, NULL);
  if (self->call_id && self->signal)
    self->hangup_sent = wzp_signal_client_hangup (self->signal,
        self->call_id, NULL);
  if (self->room_state)
    self->hangup_sent = _wzp_call_room_leave (self->room_state, NULL);
  hang_up_direct (self);
  set_state (self, WZP_CALL_STATE_ENDED, g_error_new_literal (WZP_CALL_ERROR,
          WZP_CALL_ERROR_HUNG_UP, "hung up locally"));
}

/* The context wakes up: frames to send, an answer, a hang-up. */
static gboolean
on_wake (gpointer user_data)
{
  WzpCall *self = user_data;
  GQueue frames = G_QUEUE_INIT;
  gboolean hangup;
  AnswerRequest answer;
  Frame *f;

  g_source_set_ready_time (self->wake, -1);
  g_mutex_lock (&self->lock);
  frames = self->send_queue;
  g_queue_init (&self->send_queue);
  hangup = self->hangup_requested;
  self->hangup_requested = FALSE;
  answer = self->answer;
  self->answer = ANSWER_NONE;
  g_mutex_unlock (&self->lock);

  while ((f = g_queue_pop_head (&frames))) {
    send_queued (self, f);
    g_free (f);
  }
  if (answer != ANSWER_NONE && !hangup)
    decide_incoming (self, answer == ANSWER_ACCEPT);
  if (hangup && !is_over (self->state))
    hang_up_now (self);
  return G_SOURCE_CONTINUE;
}


/* --- starting --------------------------------------------------------- */

/* Registers through the first of @relays (ordered), the others in
 * reserve. */
static gboolean
connect_relay (WzpCall * self, GPtrArray * relays, GError ** error)
{
  g_autofree char *addr = wzp_socket_address_to_string
      (g_ptr_array_index (relays, 0));

  WZP_DEBUG_OBJECT (self, "relay %s at %s (%u addresses)", self->relay, addr,
      relays->len);
  self->signal = wzp_signal_client_new (self->endpoint,
      g_ptr_array_index (relays, 0), self->relay_fingerprint);
  for (guint i = 1; i < relays->len; i++)
    wzp_signal_client_add_relay (self->signal, g_ptr_array_index (relays, i));
  connect_signaling (self);
  if (self->room)
    self->room_state = _wzp_call_room_new (&room_events, self, self->signal,
        self->identity, self->clock, self->context, self->room,
        self->room_owner, self->room_invite, self->room_open);

  if (!wzp_signal_client_start (self->signal, error)) {
    stop_everything (self);
    return FALSE;
  }
  return TRUE;
}

static void
on_relays_ready (GPtrArray * relays, const GError * error, gpointer data)
{
  WzpCall *self = data;
  g_autoptr (GError) local = NULL;

  if (!is_over (self->state)) {
    if (relays == NULL) {
      fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE, "%s",
          error ? error->message : "no relay address");
    } else {
      _wzp_relay_list_order (relays,
          wzp_identity_get_fingerprint (self->identity), self->relay_selection);
      if (!connect_relay (self, relays, &local))
        fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE, "%s", local->message);
    }
  }
  g_object_unref (self);
}

/**
 * wzp_call_start:
 * @self: a call, not started yet
 * @error: %WZP_CALL_ERROR_INVALID_SETTINGS, %WZP_CALL_ERROR_NOT_ADMITTED
 *   (a room's invitation), or why the socket could not be bound
 *
 * Binds the socket, gathers candidates and starts registering with the
 * relay (host names are resolved without blocking; of a list of relays,
 * one is picked by #WzpCall:relay-selection).  Everything after
 * that comes as #WzpCall::state-changed: a failure to reach the relay,
 * too.
 *
 * Returns: %TRUE when the call started
 */
gboolean
wzp_call_start (WzpCall * self, GError ** error)
{
  g_autoptr (GPtrArray) relays = NULL;
  g_autoptr (GPtrArray) numeric = NULL;
  g_autoptr (GSocketAddress) bind = NULL;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  g_return_val_if_fail (self->state == WZP_CALL_STATE_IDLE, FALSE);

  if (!_wzp_call_check_settings (self, &relays, error))
    return FALSE;

  self->endpoint = wzp_endpoint_new (self->context, self->identity,
      self->clock, error);
  if (self->endpoint == NULL)
    return FALSE;
  /* Our peer may dial us directly as soon as its call-setup arrives,
   * which may be before ours: accept it from now on (its connection is
   * held until our path manager takes it), and nobody else. */
  self->listener = wzp_path_listener_new (self->endpoint);
  if (self->peer)
    wzp_path_listener_set_peer (self->listener, self->peer);
  if (self->bind_address) {
    bind = wzp_socket_address_parse (self->bind_address, error);
    if (bind == NULL || !wzp_endpoint_bind (self->endpoint, bind, error))
      return FALSE;
  } else {
    g_autoptr (GError) v6_error = NULL;
    /* Both families, so IPv6 host candidates exist where IPv6 does;
     * a host without IPv6 still gets its IPv4 socket. */
    if (!wzp_endpoint_bind_any (self->endpoint, 0, TRUE, &v6_error)) {
      WZP_DEBUG_OBJECT (self, "no IPv6 socket: %s", v6_error->message);
      if (!wzp_endpoint_bind_any (self->endpoint, 0, FALSE, error))
        return FALSE;
    }
  }
  gather_candidates (self);

  self->wake = g_source_new (&wzp_ready_source_funcs, sizeof (GSource));
  g_source_set_callback (self->wake, on_wake, self, NULL);
  g_source_set_name (self->wake, "WzpCall wake");
  g_source_attach (self->wake, self->context);

  set_state (self, WZP_CALL_STATE_CONNECTING, NULL);
  set_relay_state (self, WZP_RELAY_STATE_CONNECTING, NULL);
  self->register_timeout = wzp_clock_timeout_add (self->clock, self->context,
      self->relay_timeout_ms * WZP_NSEC_PER_MSEC, register_timed_out, self,
      NULL);
  /* Numeric addresses need no resolver. */
  numeric = _wzp_relay_list_numeric (relays);
  if (numeric) {
    _wzp_relay_list_order (numeric,
        wzp_identity_get_fingerprint (self->identity), self->relay_selection);
    return connect_relay (self, numeric, error);
  }
  /* Host names resolve without blocking the context; the relays are
   * dialed once every name has answered. */
  _wzp_relay_list_resolve (relays, self->context, NULL, on_relays_ready,
      g_object_ref (self));
  return TRUE;
}

WzpEndpoint *
_wzp_call_get_endpoint (WzpCall * self)
{
  return self->endpoint;
}

void
_wzp_call_set_clock (WzpCall * self, WzpClock * clock)
{
  g_return_if_fail (self->state == WZP_CALL_STATE_IDLE);
  g_set_object (&self->clock, clock);
}

void
_wzp_call_set_path_timings (WzpCall * self, const WzpPathTimings * timings)
{
  g_free (self->timings);
  self->timings = g_memdup2 (timings, sizeof *timings);
}

void
_wzp_call_set_early_start (WzpCall * self, gboolean early)
{
  g_return_if_fail (self->state == WZP_CALL_STATE_IDLE);
  self->no_early_start = !early;
}

void
_wzp_call_set_room_key_func (WzpCall * self, WzpCallRoomKeyFunc func,
    gpointer user_data)
{
  if (self->room_state)
    _wzp_call_room_set_key_func (self->room_state, func, user_data);
}

gboolean
_wzp_call_inject_test_frame (WzpCall * self, const char *text, gboolean tamper)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  gssize n;

  if (self->media.sealer == NULL || self->signal == NULL)
    return FALSE;
  n = wzp_media_sealer_seal (self->media.sealer, WZP_MEDIA_CODEC_OPUS, 0, 0,
      (const guint8 *) text, strlen (text), packet, sizeof packet, NULL);
  if (n <= WZP_MEDIA_HEADER_LEN)
    return FALSE;
  if (tamper) {
    packet[WZP_MEDIA_HEADER_LEN] ^= 0x01;
    return wzp_signal_client_send_media (relay_carrier (self), self->channel,
        packet, n);
  }
  return wzp_signal_client_send_media (relay_carrier (self), self->channel,
      packet, n) && wzp_signal_client_send_media (relay_carrier (self),
      self->channel, packet, n);
}

/**
 * wzp_call_new:
 * @context: (nullable): the context the call runs on and emits its
 *   signals on; %NULL: the thread-default one
 * @identity: who we are
 * @relay: the relay, HOST:PORT (an IPv6 address in brackets)
 *
 * Returns: (transfer full): a new call, not started
 */
WzpCall *
wzp_call_new (GMainContext * context, WzpIdentity * identity, const char *relay)
{
  return g_object_new (WZP_TYPE_CALL, "context", context, "identity",
      identity, "relay", relay, NULL);
}

/* --- GObject ---------------------------------------------------------- */

static void
wzp_call_constructed (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  G_OBJECT_CLASS (wzp_call_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  if (self->clock == NULL)
    self->clock = g_object_ref (wzp_clock_get_system ());
}

static void
wzp_call_dispose (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  self->hangup_sent = FALSE;
  stop_everything (self);
  if (self->linger) {
    g_source_destroy (self->linger);
    g_clear_pointer (&self->linger, g_source_unref);
  }
  if (self->endpoint)
    wzp_endpoint_close_all (self->endpoint, 0, "call over");
  if (self->wake) {
    g_source_destroy (self->wake);
    g_clear_pointer (&self->wake, g_source_unref);
  }
  g_clear_object (&self->signal);
  g_clear_object (&self->listener);
  g_clear_object (&self->endpoint);
  if (self->frame_notify)
    self->frame_notify (self->frame_data);
  self->frame_notify = NULL;
  self->frame_func = NULL;
  G_OBJECT_CLASS (wzp_call_parent_class)->dispose (object);
}

static void
wzp_call_finalize (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  g_queue_clear_full (&self->send_queue, g_free);
  g_clear_pointer (&self->local_candidates, wzp_candidates_unref);
  _wzp_call_media_clear (&self->media);
  _wzp_call_handshake_reset (&self->handshake);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->clock);
  g_clear_object (&self->identity);
  g_free (self->relay);
  g_free (self->relay_fingerprint);
  g_free (self->peer);
  g_free (self->room);
  g_free (self->room_owner);
  g_free (self->room_invite);
  g_free (self->bind_address);
  g_free (self->call_id);
  g_free (self->active_peer);
  g_free (self->timings);
  g_free (self->ringing_call_id);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (wzp_call_parent_class)->finalize (object);
}

static void
wzp_call_class_init (WzpCallClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->set_property = _wzp_call_set_property;
  gobject_class->get_property = _wzp_call_get_property;
  gobject_class->constructed = wzp_call_constructed;
  gobject_class->dispose = wzp_call_dispose;
  gobject_class->finalize = wzp_call_finalize;

  _wzp_call_install_properties (gobject_class, props);
  _wzp_call_install_signals (gobject_class, signals);
}

static void
wzp_call_init (WzpCall * self)
{
  g_mutex_init (&self->lock);
  _wzp_call_media_init (&self->media);
  g_queue_init (&self->send_queue);
  self->answer_policy = WZP_ANSWER_POLICY_AUTO;
  self->path_policy = WZP_PATH_POLICY_AUTO;
  self->relay_timeout_ms = DEFAULT_RELAY_TIMEOUT_MS;
  self->media_timeout_ms = DEFAULT_MEDIA_TIMEOUT_MS;
}
