/* wzp-call-offer.c — build and verify offers and answers */
#include "config.h"

#include "wzp-call-offer.h"
#include "wzp-call.h"
#include "wzp-message.h"
#include "wzp-call-proof.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call
#define MAX_CANDIDATES 16

JsonObject *
_wzp_offer_build (WzpIdentity * me, const guint8 * call_id,
    const char *caller_fp, const char *callee_fp, const guint8 * my_eph,
    const guint8 * caller_eph, GPtrArray * candidates, const char *nat)
{
  JsonObject *o = json_object_new ();
  JsonArray *cands = json_array_new ();
  guint8 sig[WZP_SIGNATURE_LEN];
  g_autoptr (GBytes) msg = NULL;
  gsize len;
  const guint8 *data;

  if (caller_eph == NULL)
    msg = wzp_call_signed_data (call_id, caller_fp, callee_fp, my_eph, NULL);
  else
    msg =
        wzp_call_signed_data (call_id, caller_fp, callee_fp, caller_eph,
        my_eph);
  data = g_bytes_get_data (msg, &len);
  wzp_identity_sign (me, data, len, sig);

  wzp_message_set_bytes (o, "eph", my_eph, WZP_EPH_KEY_LEN);
  wzp_message_set_bytes (o, "sig", sig, sizeof sig);
  for (guint i = 0; candidates && i < candidates->len && i < MAX_CANDIDATES;
      i++)
    json_array_add_string_element (cands, g_ptr_array_index (candidates, i));
  json_object_set_array_member (o, "candidates", cands);
  json_object_set_string_member (o, "nat", nat ? nat : "unknown");
  return o;
}

/* A fixed-size base64 field, through the signaling codec's strict
 * decoder; errors become WZP_CALL_ERROR_BAD_PEER. */
gboolean
_wzp_offer_get_key (JsonObject * o, const char *name, guint8 * out,
    gsize len, GError ** error)
{
  g_autoptr (GBytes) b = NULL;
  g_autoptr (GError) local = NULL;

  if (o == NULL || !wzp_message_get_bytes (o, name, TRUE, len, len, &b,
          &local) || b == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "peer's field '%s': %s", name, local ? local->message : "missing");
    return FALSE;
  }
  memcpy (out, g_bytes_get_data (b, NULL), len);
  return TRUE;
}

gboolean
_wzp_offer_parse (JsonObject * o, const guint8 * call_id,
    const char *caller_fp, const char *callee_fp,
    const guint8 * signer_public_key, const guint8 * caller_eph,
    WzpOfferInfo * out, GError ** error)
{
  guint8 sig[WZP_SIGNATURE_LEN];
  g_autoptr (GBytes) msg = NULL;
  g_autoptr (GError) local = NULL;
  const guint8 *data;
  gsize len;
  JsonNode *n;

  memset (out, 0, sizeof *out);
  if (o == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "peer sent no offer");
    return FALSE;
  }
  if (!_wzp_offer_get_key (o, "eph", out->eph, WZP_EPH_KEY_LEN, error) ||
      !_wzp_offer_get_key (o, "sig", sig, sizeof sig, error))
    return FALSE;
  memcpy (out->sig, sig, sizeof sig);
  if (caller_eph == NULL)
    msg = wzp_call_signed_data (call_id, caller_fp, callee_fp, out->eph, NULL);
  else
    msg =
        wzp_call_signed_data (call_id, caller_fp, callee_fp, caller_eph,
        out->eph);
  data = g_bytes_get_data (msg, &len);
  if (!wzp_identity_verify (signer_public_key, data, len, sig, sizeof sig,
          &local)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "peer's %s is not signed by its identity: %s",
        caller_eph ? "answer" : "offer", local->message);
    return FALSE;
  }

  out->candidates = g_ptr_array_new_with_free_func (g_free);
  n = json_object_get_member (o, "candidates");
  if (n && JSON_NODE_HOLDS_ARRAY (n)) {
    JsonArray *a = json_node_get_array (n);
    for (guint i = 0; i < json_array_get_length (a) && i < MAX_CANDIDATES; i++) {
      JsonNode *c = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (c) &&
          json_node_get_value_type (c) == G_TYPE_STRING &&
          strlen (json_node_get_string (c)) < 64)
        g_ptr_array_add (out->candidates, g_strdup (json_node_get_string (c)));
    }
  }
  n = json_object_get_member (o, "nat");
  if (n && JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_STRING &&
      (g_str_equal (json_node_get_string (n), "eim") ||
          g_str_equal (json_node_get_string (n), "edm")))
    out->nat = g_strdup (json_node_get_string (n));
  else
    out->nat = g_strdup ("unknown");
  return TRUE;
}

void
_wzp_offer_info_clear (WzpOfferInfo * info)
{
  g_clear_pointer (&info->candidates, g_ptr_array_unref);
  g_clear_pointer (&info->nat, g_free);
}
