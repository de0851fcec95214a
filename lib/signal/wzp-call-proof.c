/* wzp — the proof that two parties agreed on a call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-call-proof.h"

#include <string.h>

GBytes *
wzp_call_signed_data (const guint8 call_id[WZP_CALL_ID_BYTES],
    const char *caller_fp, const char *callee_fp,
    const guint8 caller_eph[WZP_CALL_EPH_LEN], const guint8 * callee_eph)
{
  GByteArray *b = g_byte_array_new ();
  static const char offer_tag[] = "wzp-offer-v1";
  static const char answer_tag[] = "wzp-answer-v1";

  /* The tags include their NUL, so one can never be a prefix of the other. */
  if (callee_eph == NULL)
    g_byte_array_append (b, (const guint8 *) offer_tag, sizeof offer_tag);
  else
    g_byte_array_append (b, (const guint8 *) answer_tag, sizeof answer_tag);
  g_byte_array_append (b, call_id, WZP_CALL_ID_BYTES);
  g_byte_array_append (b, (const guint8 *) caller_fp, strlen (caller_fp));
  g_byte_array_append (b, (const guint8 *) callee_fp, strlen (callee_fp));
  g_byte_array_append (b, caller_eph, WZP_CALL_EPH_LEN);
  if (callee_eph)
    g_byte_array_append (b, callee_eph, WZP_CALL_EPH_LEN);
  return g_byte_array_free_to_bytes (b);
}

gboolean
wzp_call_id_to_bytes (const char *call_id, guint8 out[WZP_CALL_ID_BYTES])
{
  if (!wzp_call_id_is_valid (call_id))
    return FALSE;
  for (guint i = 0; i < WZP_CALL_ID_BYTES; i++)
    out[i] = (g_ascii_xdigit_value (call_id[2 * i]) << 4) |
        g_ascii_xdigit_value (call_id[2 * i + 1]);
  return TRUE;
}

static gboolean
verify_one (const guint8 * key, GBytes * data, const guint8 * sig,
    const char *what, const char *who, GError ** error)
{
  g_autoptr (GError) local = NULL;

  if (wzp_identity_verify (key, g_bytes_get_data (data, NULL),
          g_bytes_get_size (data), sig, WZP_SIGNATURE_LEN, &local))
    return TRUE;
  g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED,
      "the %s is not signed by %s: %s", what, who, local->message);
  return FALSE;
}

gboolean
wzp_call_proof_verify (const WzpCallProof * p, const char *caller_fp,
    const guint8 caller_key[WZP_PUBLIC_KEY_LEN], const char *callee_fp,
    const guint8 callee_key[WZP_PUBLIC_KEY_LEN], GError ** error)
{
  g_autoptr (GBytes) offer = wzp_call_signed_data (p->call_id, caller_fp,
      callee_fp, p->caller_eph, NULL);
  g_autoptr (GBytes) answer = wzp_call_signed_data (p->call_id, caller_fp,
      callee_fp, p->caller_eph, p->callee_eph);

  return verify_one (caller_key, offer, p->offer_sig, "offer", caller_fp,
      error) && verify_one (callee_key, answer, p->answer_sig, "answer",
      callee_fp, error);
}

gboolean
wzp_call_proof_equal (const WzpCallProof * a, const WzpCallProof * b)
{
  return memcmp (a, b, sizeof *a) == 0;
}

JsonObject *
wzp_message_new_resume_call (const char *peer,
    const guint8 peer_public_key[WZP_PUBLIC_KEY_LEN], gboolean we_called,
    const WzpCallProof * proof)
{
  JsonObject *m = wzp_message_new (WZP_MSG_RESUME_CALL);
  char id[WZP_CALL_ID_LEN + 1];

  for (guint i = 0; i < WZP_CALL_ID_BYTES; i++)
    g_snprintf (id + 2 * i, 3, "%02x", proof->call_id[i]);
  json_object_set_string_member (m, "call_id", id);
  json_object_set_string_member (m, "peer", peer);
  wzp_message_set_bytes (m, "peer_public_key", peer_public_key,
      WZP_PUBLIC_KEY_LEN);
  json_object_set_string_member (m, "role", we_called ? "caller" : "callee");
  wzp_message_set_bytes (m, "caller_eph", proof->caller_eph, WZP_CALL_EPH_LEN);
  wzp_message_set_bytes (m, "callee_eph", proof->callee_eph, WZP_CALL_EPH_LEN);
  wzp_message_set_bytes (m, "offer_sig", proof->offer_sig, WZP_SIGNATURE_LEN);
  wzp_message_set_bytes (m, "answer_sig", proof->answer_sig, WZP_SIGNATURE_LEN);
  return m;
}

static gboolean
get_fixed (JsonObject * msg, const char *field, guint8 * out, gsize len,
    GError ** error)
{
  g_autoptr (GBytes) b = NULL;

  if (!wzp_message_get_bytes (msg, field, TRUE, len, len, &b, error))
    return FALSE;
  memcpy (out, g_bytes_get_data (b, NULL), len);
  return TRUE;
}

gboolean
wzp_message_get_call_proof (JsonObject * msg, WzpCallProof * out,
    GError ** error)
{
  g_autofree char *id = NULL;

  memset (out, 0, sizeof *out);
  return wzp_message_get_call_id (msg, "call_id", &id, error) &&
      wzp_call_id_to_bytes (id, out->call_id) &&
      get_fixed (msg, "caller_eph", out->caller_eph, WZP_CALL_EPH_LEN, error)
      && get_fixed (msg, "callee_eph", out->callee_eph, WZP_CALL_EPH_LEN,
      error) && get_fixed (msg, "offer_sig", out->offer_sig,
      WZP_SIGNATURE_LEN, error) && get_fixed (msg, "answer_sig",
      out->answer_sig, WZP_SIGNATURE_LEN, error);
}

JsonObject *
wzp_message_new_call_resumed (const char *call_id, guint32 channel)
{
  JsonObject *m = wzp_message_new (WZP_MSG_CALL_RESUMED);

  json_object_set_string_member (m, "call_id", call_id);
  json_object_set_int_member (m, "channel", channel);
  return m;
}
