/* wzp-call-early.c — media on a LAN before the relay's call-setup: the
 * greeting and its checks (wzp-call-early.h)
 */
#include "config.h"

#include "wzp-call-early.h"
#include "wzp-call.h"
#include "wzp-path.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* The greeting: [16-byte call id][the signed answer, JSON]; the path
 * manager puts its own first byte (WZP_PATH_MSG_GREETING) in front. */
#define GREETING_MAX (WZP_PATH_LISTENER_MAX_MESSAGE_SIZE - 1)

GBytes *
_wzp_call_early_greeting (const guint8 call_id[WZP_CALL_ID_BYTES],
    JsonObject * offer, JsonObject * answer, WzpCandidates ** hosts,
    WzpNatType * nat)
{
  g_autoptr (WzpCandidates) theirs = wzp_candidates_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *json = NULL;
  const char *nat_text = NULL;
  JsonArray *a = NULL;
  GByteArray *g;

  if (wzp_message_get_array (offer, "candidates", WZP_CANDIDATES_MAX, &a,
          NULL) && a) {
    for (guint i = 0; i < json_array_get_length (a); i++) {
      JsonNode *n = json_array_get_element (a, i);

      if (JSON_NODE_HOLDS_VALUE (n) &&
          json_node_get_value_type (n) == G_TYPE_STRING)
        wzp_candidates_add_string (theirs, WZP_CANDIDATE_HOST,
            json_node_get_string (n), NULL);
    }
  }
  if (wzp_candidates_get_count (theirs) == 0)
    return NULL;
  node = json_node_init_object (json_node_alloc (), answer);
  json = json_to_string (node, FALSE);
  if (strlen (json) + WZP_CALL_ID_BYTES > GREETING_MAX)
    return NULL;
  *nat = WZP_NAT_TYPE_UNKNOWN;
  if (wzp_message_get_string (offer, "nat", FALSE, 16, &nat_text, NULL) &&
      nat_text)
    wzp_nat_type_from_string (nat_text, nat);
  *hosts = g_steal_pointer (&theirs);
  g = g_byte_array_new ();
  g_byte_array_append (g, call_id, WZP_CALL_ID_BYTES);
  g_byte_array_append (g, (const guint8 *) json, strlen (json));
  return g_byte_array_free_to_bytes (g);
}

gboolean
_wzp_call_early_read_answer (WzpCallEarly * early, GBytes * message,
    WzpConnection * conn, const WzpCallHandshake * hs, WzpIdentity * me,
    const char *peer, WzpRelayLeg * leg, WzpOfferInfo * info)
{
  gsize len;
  const guint8 *m = g_bytes_get_data (message, &len);
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) error = NULL;
  JsonNode *root;
  guint8 key[WZP_PUBLIC_KEY_LEN];

  if (len < 1 + WZP_CALL_ID_BYTES || m[0] != WZP_PATH_MSG_GREETING)
    return FALSE;
  if (memcmp (m + 1, hs->call_id_bin, WZP_CALL_ID_BYTES) != 0) {
    WZP_DEBUG ("an early answer for another call");
    return FALSE;
  }
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser,
          (const char *) m + 1 + WZP_CALL_ID_BYTES,
          len - 1 - WZP_CALL_ID_BYTES, &error) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root) ||
      !wzp_connection_get_peer_public_key (conn, key)) {
    WZP_WARNING ("an unreadable early answer from %s: %s", peer,
        error ? error->message : "not an object");
    return FALSE;
  }
  /* As call-setup checks it: signed by the peer (whose key TLS proved),
   * over this call and our offer's key.  (The listener let in nobody
   * but @peer; the signature's check says so again.) */
  if (!_wzp_offer_parse (json_node_get_object (root), hs->call_id_bin,
          wzp_identity_get_fingerprint (me), peer, key, hs->caller_eph, info,
          &error)) {
    WZP_WARNING ("refusing an early answer from %s: %s", peer, error->message);
    return FALSE;
  }
  memcpy (early->peer_eph, info->eph, WZP_EPH_KEY_LEN);
  early->have_peer_eph = TRUE;
  /* Both signed halves: a relay that comes back may carry it (resume). */
  _wzp_relay_leg_set_answer (leg, info->eph, info->sig);
  memcpy (leg->peer_key, key, WZP_PUBLIC_KEY_LEN);
  return TRUE;
}

gboolean
_wzp_call_early_check_setup (const WzpCallEarly * early,
    WzpCallHandshake * hs, WzpIdentity * me, const char *peer,
    const WzpCallSetup * setup, WzpRelayLeg * leg, WzpOfferInfo * info,
    GError ** error)
{
  if (!_wzp_call_handshake_check_setup (hs, me, peer, setup, leg, info, error))
    return FALSE;
  /* The callee's check above compared the offer's key with the one it
   * answered; the caller compares the answer's with the one on the LAN. */
  if (hs->is_caller && (!early->have_peer_eph ||
          memcmp (info->eph, early->peer_eph, WZP_EPH_KEY_LEN) != 0)) {
    _wzp_offer_info_clear (info);
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "call-setup does not match what %s said on the LAN", peer);
    return FALSE;
  }
  return TRUE;
}
