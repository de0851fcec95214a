/* wzp-call-incoming.c — an incoming call, verified, until it is answered */
#include "config.h"

#include "wzp-call-incoming.h"
#include "wzp-call-proof.h"
#include "wzp-call.h"

#include <string.h>

WzpCallIncoming *
_wzp_call_incoming_verify (const char *call_id, const char *from,
    GBytes * from_public_key, JsonObject * offer, const char *me,
    GError ** error)
{
  gsize key_len = 0;
  const guint8 *key = from_public_key ?
      g_bytes_get_data (from_public_key, &key_len) : NULL;
  g_autofree char *key_fp = NULL;
  WzpCallIncoming *in;
  WzpOfferInfo info;

  if (key_len != WZP_PUBLIC_KEY_LEN) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "the caller's key is not an Ed25519 key");
    return NULL;
  }
  key_fp = wzp_fingerprint_from_public_key (key);
  if (!wzp_fingerprint_equal (from, key_fp)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "the caller's key does not match %s", from);
    return NULL;
  }
  in = g_new0 (WzpCallIncoming, 1);
  if (!wzp_call_id_to_bytes (call_id, in->call_id_bin)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "'%s' is not a call id", call_id);
    _wzp_call_incoming_free (in);
    return NULL;
  }
  if (!_wzp_offer_parse (offer, in->call_id_bin, key_fp, me, key, NULL,
          &info, error)) {
    _wzp_call_incoming_free (in);
    return NULL;
  }
  in->call_id = g_ascii_strdown (call_id, -1);
  in->caller = g_steal_pointer (&key_fp);
  memcpy (in->caller_key, key, WZP_PUBLIC_KEY_LEN);
  memcpy (in->caller_eph, info.eph, WZP_EPH_KEY_LEN);
  memcpy (in->offer_sig, info.sig, WZP_SIGNATURE_LEN);
  in->offer = json_object_ref (offer);
  _wzp_offer_info_clear (&info);
  return in;
}

void
_wzp_call_incoming_free (WzpCallIncoming * in)
{
  if (in == NULL)
    return;
  g_free (in->call_id);
  g_free (in->caller);
  if (in->offer)
    json_object_unref (in->offer);
  g_free (in);
}
