/* wzp-call-handshake.c — a 1:1 call's key exchange through the relay */
#include "config.h"

#include "wzp-call-handshake.h"
#include "wzp-call.h"
#include "wzp-random.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

void
_wzp_call_handshake_reset (WzpCallHandshake * hs)
{
  g_clear_pointer (&hs->eph, wzp_x25519_key_free);
  memset (hs, 0, sizeof *hs);
}

static GPtrArray *
candidate_strings (WzpCandidates * candidates)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) v = wzp_candidates_to_strv (candidates);

  for (guint i = 0; v && v[i]; i++)
    g_ptr_array_add (a, g_strdup (v[i]));
  return a;
}

/* The "sig" of an offer or answer we built, for the relay leg's proof. */
static void
own_signature (JsonObject * blob, guint8 sig[WZP_SIGNATURE_LEN])
{
  if (!_wzp_offer_get_key (blob, "sig", sig, WZP_SIGNATURE_LEN, NULL))
    g_assert_not_reached ();
}

JsonObject *
_wzp_call_handshake_offer (WzpCallHandshake * hs, WzpIdentity * me,
    const char *peer, WzpCandidates * candidates, const char *nat,
    WzpRelayLeg * leg, char **call_id, GError ** error)
{
  g_autoptr (GPtrArray) cands = candidate_strings (candidates);
  JsonObject *offer;
  guint8 sig[WZP_SIGNATURE_LEN];

  _wzp_call_handshake_reset (hs);
  hs->is_caller = TRUE;
  wzp_random_bytes (hs->call_id_bin, WZP_CALL_ID_BYTES);
  *call_id = g_malloc (2 * WZP_CALL_ID_BYTES + 1);
  for (guint i = 0; i < WZP_CALL_ID_BYTES; i++)
    g_snprintf (*call_id + 2 * i, 3, "%02x", hs->call_id_bin[i]);
  hs->eph = wzp_x25519_generate (error);
  if (hs->eph == NULL) {
    g_clear_pointer (call_id, g_free);
    return NULL;
  }
  memcpy (hs->caller_eph, wzp_x25519_key_get_public (hs->eph), WZP_EPH_KEY_LEN);
  offer = _wzp_offer_build (me, hs->call_id_bin,
      wzp_identity_get_fingerprint (me), peer, hs->caller_eph, NULL, cands,
      nat);
  own_signature (offer, sig);
  _wzp_relay_leg_set_offer (leg, hs->call_id_bin, hs->caller_eph, sig);
  return offer;
}

JsonObject *
_wzp_call_handshake_answer (WzpCallHandshake * hs, WzpIdentity * me,
    const WzpCallIncoming * in, WzpCandidates * candidates, const char *nat,
    WzpRelayLeg * leg, GError ** error)
{
  g_autoptr (GPtrArray) cands = candidate_strings (candidates);
  JsonObject *answer;
  guint8 sig[WZP_SIGNATURE_LEN];

  _wzp_call_handshake_reset (hs);
  hs->is_caller = FALSE;
  memcpy (hs->call_id_bin, in->call_id_bin, WZP_CALL_ID_BYTES);
  memcpy (hs->caller_eph, in->caller_eph, WZP_EPH_KEY_LEN);
  _wzp_relay_leg_set_offer (leg, in->call_id_bin, in->caller_eph,
      in->offer_sig);
  memcpy (leg->peer_key, in->caller_key, WZP_PUBLIC_KEY_LEN);
  hs->eph = wzp_x25519_generate (error);
  if (hs->eph == NULL)
    return NULL;
  answer = _wzp_offer_build (me, hs->call_id_bin, in->caller,
      wzp_identity_get_fingerprint (me), wzp_x25519_key_get_public (hs->eph),
      hs->caller_eph, cands, nat);
  own_signature (answer, sig);
  _wzp_relay_leg_set_answer (leg, wzp_x25519_key_get_public (hs->eph), sig);
  return answer;
}

gboolean
_wzp_call_handshake_check_setup (WzpCallHandshake * hs, WzpIdentity * me,
    const char *peer, const WzpCallSetup * setup, WzpRelayLeg * leg,
    WzpOfferInfo * info, GError ** error)
{
  const char *my_fp = wzp_identity_get_fingerprint (me);
  g_autofree char *key_fp = NULL;
  gsize key_len = 0;
  const guint8 *key = setup->peer_public_key ?
      g_bytes_get_data (setup->peer_public_key, &key_len) : NULL;

  if (key_len != WZP_PUBLIC_KEY_LEN ||
      !wzp_fingerprint_equal (setup->peer_fingerprint, peer)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "the relay set the call up with %s, not %s", setup->peer_fingerprint,
        peer);
    return FALSE;
  }
  key_fp = wzp_fingerprint_from_public_key (key);
  if (!wzp_fingerprint_equal (key_fp, peer)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "peer key does not match %s", peer);
    return FALSE;
  }
  if (!_wzp_offer_parse (setup->peer_blob, hs->call_id_bin,
          hs->is_caller ? my_fp : peer, hs->is_caller ? peer : my_fp, key,
          hs->is_caller ? hs->caller_eph : NULL, info, error))
    return FALSE;
  if (!hs->is_caller && memcmp (info->eph, hs->caller_eph,
          WZP_EPH_KEY_LEN) != 0) {
    _wzp_offer_info_clear (info);
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "setup carries another offer");
    return FALSE;
  }
  if (hs->is_caller)
    _wzp_relay_leg_set_answer (leg, info->eph, info->sig);
  memcpy (leg->peer_key, key, WZP_PUBLIC_KEY_LEN);
  return TRUE;
}

WzpCandidates *
_wzp_call_candidates_gather (WzpEndpoint * endpoint, gboolean loopback)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  WzpCandidates *c = wzp_candidates_gather (endpoint,
      loopback ? WZP_GATHER_LOOPBACK : WZP_GATHER_NONE, &error);

  if (c == NULL) {
    WZP_WARNING ("no host candidates: %s", error->message);
    c = wzp_candidates_new ();
  }
  text = wzp_candidates_to_string (c);
  WZP_DEBUG ("host candidates: %s", text);
  return c;
}

WzpCandidates *
_wzp_call_peer_candidates (GPtrArray * hosts, GSocketAddress * peer_reflexive)
{
  WzpCandidates *theirs = wzp_candidates_new ();

  for (guint i = 0; hosts && i < hosts->len; i++)
    wzp_candidates_add_string (theirs, WZP_CANDIDATE_HOST,
        g_ptr_array_index (hosts, i), NULL);
  if (peer_reflexive)
    wzp_candidates_add_reflexive (theirs, peer_reflexive);
  return theirs;
}
