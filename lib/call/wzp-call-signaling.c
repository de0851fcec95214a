/* wzp-call-signaling.c — a call's side of the signaling: registration,
 * the NAT probe, the signed offer and answer, incoming calls (answered
 * now or later), setup and the end of a call, and what happens when the
 * relay goes away and comes back.
 *
 * In a cluster (docs/CLUSTER.md) the relay node hosting a call or room
 * may not be the one we are registered at: then the relay says where it
 * is ("media-relay") and the call opens a media leg there, a second
 * connection from the same socket that carries only the media.  When
 * that node dies the leg is lost, and the call asks its own relay to
 * carry it again (resume-call, asked again every second until answered):
 * the cluster finds, or makes, the call's new home.
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* --- signaling -------------------------------------------------------- */

void
_wzp_call_gather_candidates (WzpCall * self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  g_clear_pointer (&self->local_candidates, wzp_candidates_unref);
  self->local_candidates = wzp_candidates_gather (self->endpoint,
      self->gather_loopback ? WZP_GATHER_LOOPBACK : WZP_GATHER_NONE, &error);
  if (self->local_candidates == NULL) {
    WZP_WARNING_OBJECT (self, "no host candidates: %s", error->message);
    self->local_candidates = wzp_candidates_new ();
  }
  text = wzp_candidates_to_string (self->local_candidates);
  WZP_DEBUG_OBJECT (self, "host candidates: %s", text);
}

static GPtrArray *
candidate_strings (WzpCall * self)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) v = wzp_candidates_to_strv (self->local_candidates);

  for (guint i = 0; v && v[i]; i++)
    g_ptr_array_add (a, g_strdup (v[i]));
  return a;
}

static const char *
my_nat (WzpCall * self)
{
  return wzp_nat_type_to_string (wzp_signal_client_get_nat_type (self->signal));
}

/* The "sig" of an offer or answer we built, for the relay leg's proof. */
static void
own_signature (JsonObject * blob, guint8 sig[WZP_SIGNATURE_LEN])
{
  if (!_wzp_offer_get_key (blob, "sig", sig, WZP_SIGNATURE_LEN, NULL))
    g_assert_not_reached ();
}

static void
place_call (WzpCall * self)
{
  g_autoptr (JsonObject) offer = NULL;
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  guint8 sig[WZP_SIGNATURE_LEN];

  if (self->call_placed || _wzp_call_is_over (self->state))
    return;
  self->call_placed = TRUE;
  self->is_caller = TRUE;
  g_free (self->active_peer);
  self->active_peer = wzp_fingerprint_normalize (self->peer, NULL);
  wzp_random_bytes (self->call_id_bin, WZP_CALL_ID_BYTES);
  g_free (self->call_id);
  self->call_id = g_malloc (2 * WZP_CALL_ID_BYTES + 1);
  for (guint i = 0; i < WZP_CALL_ID_BYTES; i++)
    g_snprintf (self->call_id + 2 * i, 3, "%02x", self->call_id_bin[i]);
  self->eph = wzp_x25519_generate (&error);
  if (self->eph == NULL) {
    _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  memcpy (self->caller_eph, wzp_x25519_key_get_public (self->eph),
      WZP_EPH_KEY_LEN);
  cands = candidate_strings (self);
  offer = _wzp_offer_build (self->identity, self->call_id_bin, me,
      self->active_peer, self->caller_eph, NULL, cands, my_nat (self));
  own_signature (offer, sig);
  _wzp_relay_leg_set_offer (&self->leg, self->call_id_bin, self->caller_eph,
      sig);
  id = wzp_signal_client_place_call (self->signal, self->active_peer,
      self->call_id, offer, &error);
  if (id == NULL) {
    _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "cannot place the call: %s",
        error->message);
    return;
  }
  WZP_INFO_OBJECT (self, "calling %s (call %s)", self->active_peer,
      self->call_id);
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
          self->leg.peer_key, self->is_caller, &self->leg.proof, &error)) {
    WZP_WARNING_OBJECT (self, "cannot ask the relay to resume call %s: %s",
        self->call_id, error->message);
    return;
  }
  _wzp_relay_leg_resuming (&self->leg);
  WZP_INFO_OBJECT (self, "asked the relay to carry call %s again",
      self->call_id);
}

/* --- the media leg (a cluster node hosting our call or room) ---------- */

void
_wzp_call_drop_media_leg (WzpCall * self)
{
  if (self->media_leg == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->media_leg, self);
  wzp_signal_client_set_media_handler (self->media_leg, NULL, NULL, NULL);
  wzp_signal_client_stop (self->media_leg);
  g_clear_object (&self->media_leg);
}

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

static void
on_leg_up (WzpSignalClient * leg, GSocketAddress * observed, gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GSocketAddress) relay = NULL;
  g_autofree char *where = NULL;

  g_object_get (leg, "relay-address", &relay, NULL);
  where = wzp_socket_address_to_string (relay);
  WZP_INFO_OBJECT (self, "media leg to %s is up", where);
}

static gboolean
leg_goes_to (WzpSignalClient * leg, GSocketAddress * addr, const char *fp)
{
  g_autoptr (GSocketAddress) relay = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_object_get (leg, "relay-address", &relay, NULL);
  a = wzp_socket_address_to_string (relay);
  b = wzp_socket_address_to_string (addr);
  return g_strcmp0 (a, b) == 0 &&
      g_strcmp0 (wzp_signal_client_get_relay_fingerprint (leg), fp) == 0;
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
    _wzp_call_drop_media_leg (self);
    return;
  }
  if (self->media_leg && leg_goes_to (self->media_leg, addr, fp))
    return;
  _wzp_call_drop_media_leg (self);
  where = wzp_socket_address_to_string (addr);
  WZP_INFO_OBJECT (self, "%s is hosted by the relay node at %s (%s): "
      "opening a media leg", scope, where, fp);
  self->media_leg = g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint",
      self->endpoint, "relay-address", addr, "relay-fingerprint", fp,
      "media-leg", TRUE, "reconnect-max", ACTIVE_RECONNECT_MAX, NULL);
  wzp_signal_client_set_media_handler (self->media_leg,
      _wzp_call_on_relay_media, self, NULL);
  g_signal_connect (self->media_leg, "connection-lost",
      G_CALLBACK (on_leg_lost), self);
  g_signal_connect (self->media_leg, "registered", G_CALLBACK (on_leg_up),
      self);
  if (!wzp_signal_client_start (self->media_leg, &error)) {
    WZP_WARNING_OBJECT (self, "no media leg to %s: %s", where, error->message);
    _wzp_call_drop_media_leg (self);
  }
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
  if (_wzp_call_is_over (self->state))
    return;
  _wzp_call_set_relay_state (self, WZP_RELAY_STATE_REGISTERED, NULL);
  if (self->state == WZP_CALL_STATE_ACTIVE) {
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
  if (self->state == WZP_CALL_STATE_RINGING)
    return;
  if (!wzp_signal_client_probe_nat (client, &error))
    WZP_DEBUG_OBJECT (self, "no NAT probe: %s", error->message);
  g_clear_error (&error);

  if (self->room) {
    _wzp_call_set_state (self, WZP_CALL_STATE_RINGING, NULL);
    if (!_wzp_call_room_join (self->room_state, &error))
      _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "cannot join room %s: %s",
          self->room, error->message);
  } else if (self->peer) {
    _wzp_call_set_state (self, WZP_CALL_STATE_RINGING, NULL);
    /* No waiting for our probe (one more round trip): the offer carries
     * our NAT type when we already know it, and otherwise the relay, which
     * sees the probe started above well before the callee answers, puts
     * it into the peer's call-setup (peer_nat). */
    place_call (self);
  } else {
    _wzp_call_set_state (self, WZP_CALL_STATE_WAITING, NULL);
  }
}

/* An incoming call we did not answer yet, or answered without a setup
 * yet, is gone: wait for the next one. */
static void
forget_incoming (WzpCall * self, GError * why)
{
  g_clear_pointer (&self->incoming, _wzp_call_incoming_free);
  _wzp_call_set_ringing_id (self, NULL);
  if (!self->is_caller && self->sealer == NULL) {
    g_clear_pointer (&self->call_id, g_free);
    g_clear_pointer (&self->active_peer, g_free);
    g_clear_pointer (&self->eph, wzp_x25519_key_free);
    _wzp_relay_leg_reset (&self->leg);
  }
  _wzp_call_set_state (self, WZP_CALL_STATE_WAITING, why);
}

static void
on_connection_lost (WzpSignalClient * client, GError * reason,
    gpointer user_data)
{
  WzpCall *self = user_data;

  if (_wzp_call_is_over (self->state))
    return;
  _wzp_call_set_relay_state (self, WZP_RELAY_STATE_LOST, g_error_copy (reason));
  switch (self->state) {
    case WZP_CALL_STATE_RINGING:
      /* The relay held the ringing call; a relay that comes back knows
       * nothing of it, so nothing will ever answer or end it. */
      if (self->is_caller && self->call_placed)
        _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_LOST,
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
  _wzp_relay_leg_up (&self->leg, channel, wzp_clock_get_time (self->clock));
  _wzp_call_set_relay_state (self, WZP_RELAY_STATE_RESUMED, NULL);
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
  WzpCallIncoming *in = self->incoming;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (GPtrArray) cands = NULL;
  guint8 sig[WZP_SIGNATURE_LEN];

  self->is_caller = FALSE;
  g_free (self->call_id);
  self->call_id = g_strdup (in->call_id);
  memcpy (self->call_id_bin, in->call_id_bin, WZP_CALL_ID_BYTES);
  memcpy (self->caller_eph, in->caller_eph, WZP_EPH_KEY_LEN);
  g_free (self->active_peer);
  self->active_peer = g_strdup (in->caller);
  _wzp_relay_leg_set_offer (&self->leg, in->call_id_bin, in->caller_eph,
      in->offer_sig);
  memcpy (self->leg.peer_key, in->caller_key, WZP_PUBLIC_KEY_LEN);
  g_clear_pointer (&self->incoming, _wzp_call_incoming_free);
  _wzp_call_set_ringing_id (self, NULL);

  self->eph = wzp_x25519_generate (&error);
  if (self->eph == NULL) {
    _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  cands = candidate_strings (self);
  answer = _wzp_offer_build (self->identity, self->call_id_bin,
      self->active_peer, me, wzp_x25519_key_get_public (self->eph),
      self->caller_eph, cands, my_nat (self));
  own_signature (answer, sig);
  _wzp_relay_leg_set_answer (&self->leg, wzp_x25519_key_get_public
      (self->eph), sig);
  if (!wzp_signal_client_answer (self->signal, self->call_id, answer, &error)) {
    _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "cannot answer: %s",
        error->message);
    return;
  }
  _wzp_call_set_state (self, WZP_CALL_STATE_RINGING, NULL);
  WZP_INFO_OBJECT (self, "answered call %s from %s", self->call_id,
      self->active_peer);
}

/* The application decided about the ringing incoming call. */
void
_wzp_call_decide_incoming (WzpCall * self, gboolean accept)
{
  if (self->incoming == NULL || _wzp_call_is_over (self->state))
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
      _wzp_call_set_ringing_id (self, id);
      _wzp_call_set_state (self, WZP_CALL_STATE_RINGING, NULL);
      WZP_INFO_OBJECT (self, "call %s from %s rings: asking the application",
          id, caller);
      _wzp_call_emit_incoming (self, caller, id);
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
  gsize key_len = 0;
  const guint8 *key;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;

  if (self->call_id == NULL || g_strcmp0 (setup->call_id, self->call_id) != 0
      || self->sealer != NULL) {
    WZP_DEBUG_OBJECT (self, "ignoring setup for call %s", setup->call_id);
    return;
  }
  key = setup->peer_public_key ?
      g_bytes_get_data (setup->peer_public_key, &key_len) : NULL;
  if (key_len != WZP_PUBLIC_KEY_LEN ||
      !wzp_fingerprint_equal (setup->peer_fingerprint, self->active_peer)) {
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER,
        "the relay set the call up with %s, " "not %s", setup->peer_fingerprint,
        self->active_peer);
    return;
  }
  {
    g_autofree char *fp = wzp_fingerprint_from_public_key (key);
    if (!wzp_fingerprint_equal (fp, self->active_peer)) {
      _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER,
          "peer key does not match %s", self->active_peer);
      return;
    }
  }
  if (!_wzp_offer_parse (setup->peer_blob, self->call_id_bin,
          self->is_caller ? me : self->active_peer,
          self->is_caller ? self->active_peer : me, key,
          self->is_caller ? self->caller_eph : NULL, &info, &error)) {
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER, "%s", error->message);
    return;
  }
  if (!self->is_caller && memcmp (info.eph, self->caller_eph,
          WZP_EPH_KEY_LEN) != 0) {
    _wzp_offer_info_clear (&info);
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER,
        "setup carries another offer");
    return;
  }
  if (self->is_caller)
    _wzp_relay_leg_set_answer (&self->leg, info.eph, info.sig);
  memcpy (self->leg.peer_key, key, WZP_PUBLIC_KEY_LEN);
  if (!_wzp_call_derive_keys (self, info.eph, &error)) {
    _wzp_offer_info_clear (&info);
    _wzp_call_fail (self, WZP_CALL_ERROR_BAD_PEER, "no media keys: %s",
        error->message);
    return;
  }
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
      self->is_caller ? "answer" : "offer",
      wzp_nat_type_to_string (setup->peer_nat),
      wzp_nat_type_to_string (peer_nat));
  /* A lost relay is looked for again every second at most while the
   * call lasts, so its relay leg resumes soon after the relay is back. */
  g_object_set (self->signal, "reconnect-max", ACTIVE_RECONNECT_MAX, NULL);
  _wzp_call_set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
  _wzp_call_set_path (self, WZP_PATH_RELAY,
      "call set up: media starts on the relay");
  _wzp_call_start_path (self, &info, setup->peer_reflexive, peer_nat);
  _wzp_call_start_watchdog (self);
  _wzp_offer_info_clear (&info);
  _wzp_call_replay_early_media (self);
}

void
_wzp_call_peer_hung_up (WzpCall * self, const char *how)
{
  _wzp_call_set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
          WZP_CALL_ERROR_HUNG_UP, "%s ended the call (hangup)%s%s",
          self->active_peer, how ? " " : "", how ? how : ""));
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
  if (!self->is_caller && self->sealer == NULL &&
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
      _wzp_call_set_state (self, WZP_CALL_STATE_ENDED, g_error_new
          (WZP_CALL_ERROR, WZP_CALL_ERROR_PEER_GONE, "%s is gone: its "
              "connection to the relay died (peer-gone)", self->active_peer));
    else
      _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_LOST, "the relay will not "
          "carry call %s again (%s)", self->call_id, reason);
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
    _wzp_call_fail (self, code, "%s %s", self->active_peer, what);
    return;
  }
  if (g_str_equal (reason, "hangup")) {
    _wzp_call_peer_hung_up (self, NULL);
    return;
  }
  _wzp_call_set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
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
  _wzp_call_set_relay_state (self, WZP_RELAY_STATE_FAILED,
      g_error_copy (error));
  _wzp_call_fail (self, code, "%s", error->message);
}

gboolean
_wzp_call_register_timed_out (gpointer user_data)
{
  WzpCall *self = user_data;

  g_clear_pointer (&self->register_timeout, g_source_unref);
  _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE,
      "cannot reach the relay at %s (no registration within %u ms)",
      self->relay, self->relay_timeout_ms);
  return G_SOURCE_REMOVE;
}

/* Connects our handlers to the signal client's signals. */
void
_wzp_call_connect_signaling (WzpCall * self)
{
  g_signal_connect (self->signal, "registered", G_CALLBACK (on_registered),
      self);
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
}
