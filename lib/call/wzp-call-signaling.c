/* wzp-call-signaling.c — a call's side of the signaling: registration,
 * the NAT probe, the signed offer and answer, incoming calls, setup and
 * the end of a call.
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

static void
place_call (WzpCall * self)
{
  g_autoptr (JsonObject) offer = NULL;
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  const char *me = wzp_identity_get_fingerprint (self->identity);

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
  if (self->state == WZP_CALL_STATE_ACTIVE ||
      self->state == WZP_CALL_STATE_RINGING) {
    /* A re-registration after a dropped signaling connection: the call
     * goes on (the relay keeps calls by fingerprint). */
    return;
  }
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

static void
on_incoming_call (WzpSignalClient * client, const char *call_id,
    const char *from, GBytes * from_public_key, JsonObject * offer,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (GPtrArray) cands = NULL;
  WzpOfferInfo info;
  gboolean accept = FALSE;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  g_autofree guint8 *id_bin = NULL;
  gsize key_len = 0;
  const guint8 *key = from_public_key ?
      g_bytes_get_data (from_public_key, &key_len) : NULL;
  g_autofree char *key_fp = NULL;

  if (self->state != WZP_CALL_STATE_WAITING || self->call_id) {
    WZP_INFO_OBJECT (self, "busy: rejecting call %s from %s", call_id, from);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  /* The relay vouches for the caller's key (it checked a signature over
   * its challenge); the key must still match the fingerprint. */
  if (key_len != WZP_PUBLIC_KEY_LEN || strlen (call_id) !=
      2 * WZP_CALL_ID_BYTES ||
      !wzp_fingerprint_equal (from, key_fp =
          wzp_fingerprint_from_public_key (key))) {
    WZP_WARNING_OBJECT (self, "rejecting call %s: caller key does not match "
        "%s", call_id, from);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  for (guint i = 0; i < WZP_CALL_ID_BYTES; i++) {
    char hex[3] = { call_id[2 * i], call_id[2 * i + 1], 0 };
    if (!g_ascii_isxdigit (hex[0]) || !g_ascii_isxdigit (hex[1])) {
      wzp_signal_client_reject (client, call_id, NULL);
      return;
    }
    self->call_id_bin[i] = (guint8) g_ascii_strtoull (hex, NULL, 16);
  }
  if (!_wzp_offer_parse (offer, self->call_id_bin, key_fp, me, key, NULL,
          &info, &error)) {
    WZP_WARNING_OBJECT (self, "rejecting call %s from %s: %s", call_id, from,
        error->message);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  memcpy (self->caller_eph, info.eph, WZP_EPH_KEY_LEN);
  _wzp_offer_info_clear (&info);

  switch (self->answer_policy) {
    case WZP_ANSWER_POLICY_AUTO:
      accept = TRUE;
      break;
    case WZP_ANSWER_POLICY_REJECT:
      accept = FALSE;
      break;
    case WZP_ANSWER_POLICY_ASK:
      _wzp_call_set_state (self, WZP_CALL_STATE_RINGING, NULL);
      accept = _wzp_call_ask (self, key_fp);
      break;
  }
  if (_wzp_call_is_over (self->state))
    return;
  if (!accept) {
    WZP_INFO_OBJECT (self, "rejecting call %s from %s", call_id, key_fp);
    wzp_signal_client_reject (client, call_id, NULL);
    _wzp_call_set_state (self, WZP_CALL_STATE_WAITING, NULL);
    return;
  }

  self->is_caller = FALSE;
  self->call_id = g_strdup (call_id);
  self->active_peer = g_strdup (key_fp);
  self->eph = wzp_x25519_generate (&error);
  if (self->eph == NULL) {
    _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  cands = candidate_strings (self);
  answer = _wzp_offer_build (self->identity, self->call_id_bin, key_fp, me,
      wzp_x25519_key_get_public (self->eph), self->caller_eph, cands,
      my_nat (self));
  if (!wzp_signal_client_answer (client, call_id, answer, &error)) {
    _wzp_call_fail (self, WZP_CALL_ERROR_FAILED, "cannot answer: %s",
        error->message);
    return;
  }
  _wzp_call_set_state (self, WZP_CALL_STATE_RINGING, NULL);
  WZP_INFO_OBJECT (self, "answered call %s from %s", call_id, key_fp);
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
  WZP_INFO_OBJECT (self, "call %s set up with %s (relay channel %u, peer "
      "NAT %s in its %s, %s from the relay: %s)", self->call_id,
      self->active_peer, self->channel, info.nat ? info.nat : "(none)",
      self->is_caller ? "answer" : "offer",
      wzp_nat_type_to_string (setup->peer_nat),
      wzp_nat_type_to_string (peer_nat));
  _wzp_call_set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
  _wzp_call_set_path (self, WZP_PATH_RELAY,
      "call set up: media starts on the relay");
  _wzp_call_start_path (self, &info, setup->peer_reflexive, peer_nat);
  _wzp_offer_info_clear (&info);
}

static void
on_call_ended (WzpSignalClient * client, const char *call_id,
    const char *reason, gpointer user_data)
{
  WzpCall *self = user_data;
  WzpCallError code = WZP_CALL_ERROR_FAILED;
  const char *what = NULL;

  if (g_strcmp0 (call_id, self->call_id) != 0)
    return;
  if (!self->is_caller && self->sealer == NULL &&
      (g_str_equal (reason, "no-answer") || g_str_equal (reason, "hangup"))) {
    /* An incoming call that never got set up: wait for the next one. */
    g_clear_pointer (&self->call_id, g_free);
    g_clear_pointer (&self->eph, wzp_x25519_key_free);
    _wzp_call_set_state (self, WZP_CALL_STATE_WAITING, NULL);
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
  }
  if (what) {
    _wzp_call_set_state (self, WZP_CALL_STATE_FAILED,
        g_error_new (WZP_CALL_ERROR, code, "%s %s", self->active_peer, what));
    return;
  }
  _wzp_call_set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
          WZP_CALL_ERROR_FAILED, "%s ended the call (%s)", self->active_peer,
          reason));
}

static void
on_signal_error (WzpSignalClient * client, GError * error, gpointer user_data)
{
  WzpCall *self = user_data;

  if (g_error_matches (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_REFUSED) ||
      g_error_matches (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_SUPERSEDED))
    _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_REFUSED,
        "the relay refused us: %s", error->message);
  else
    WZP_DEBUG_OBJECT (self, "signaling: %s", error->message);
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
  g_signal_connect (self->signal, "error", G_CALLBACK (on_signal_error), self);
}
