/* Fuzz target: the signaling codec, the first thing the relay and every
 * client run on bytes from the network (wzp_message_parse() and the
 * typed field getters).
 *
 * Input: one signaling message, raw (what a framed message on the
 * stream carries).  A message that parses then goes through every typed
 * getter on every field it has (plus the fields its type defines, which
 * may be missing), with required on and off, the way the relay and the
 * client read them.  Checks beyond "does not crash":
 * - a parsed message has v = 1, a known type, and req/re (if any) in
 *   0..2^32-1, and it survives a round trip through wzp_message_to_bytes()
 *   with the same type and the same bytes the second time;
 * - a getter that succeeds returns what it promised: a canonical
 *   fingerprint, exactly/at most the byte count asked for, an address that
 *   prints and parses back, a valid call id, a room name of 1..64 bytes
 *   without control characters, an opaque object within its size, a
 *   string within its length; a getter that fails sets an error naming the
 *   field, and with required off a missing field is not an error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-log-private.h"
#include "wzp-message.h"
#include "wzp-address.h"

/* The fields each type defines (PROTOCOL.md Part A). */
static const char *const defined_fields[] = {
  "relay_fp", "challenge", "observed_addr", "probe_addr", "fingerprint",
  "code", "message", "token", "call_id", "from", "from_public_key", "offer",
  "peer", "peer_public_key", "peer_offer_or_answer", "peer_reflexive",
  "channel", "role", "peer_nat", "reason", "room", "members", "event",
  "public_key", "key_blob", "signature", "to", "answer", "body",
  "caller_eph", "callee_eph", "offer_sig", "answer_sig", "invite",
};

static void
check_error (gboolean ok, GError * error, const char *field)
{
  if (ok) {
    FUZZ_CHECK (error == NULL);
    return;
  }
  FUZZ_CHECK (error != NULL);
  FUZZ_CHECK (error->domain == WZP_MESSAGE_ERROR);
  FUZZ_CHECK (strstr (error->message, field) != NULL);
}

static void
getters (JsonObject * msg, const char *field)
{
  for (int required = 0; required < 2; required++) {
    GError *error = NULL;
    gboolean present = json_object_has_member (msg, field) &&
        !JSON_NODE_HOLDS_NULL (json_object_get_member (msg, field));
    gboolean ok;

    {
      const char *s = NULL;
      ok = wzp_message_get_string (msg, field, required, 64, &s, &error);
      check_error (ok, error, field);
      FUZZ_CHECK (!ok || s == NULL || strlen (s) <= 64);
      FUZZ_CHECK (!ok || s != NULL || !present);
      FUZZ_CHECK (!(ok && required) || s != NULL);
      FUZZ_CHECK (present || required || ok);
      g_clear_error (&error);
    }
    {
      guint64 v = 7;
      ok = wzp_message_get_uint (msg, field, required, G_MAXUINT32, &v, &error);
      check_error (ok, error, field);
      FUZZ_CHECK (!ok || v <= G_MAXUINT32);
      g_clear_error (&error);
    }
    {
      char *fp = NULL;
      ok = wzp_message_get_fingerprint (msg, field, required, &fp, &error);
      check_error (ok, error, field);
      if (ok && fp) {
        char *again = wzp_fingerprint_normalize (fp, NULL);
        FUZZ_CHECK (strlen (fp) == WZP_FINGERPRINT_LEN);
        FUZZ_CHECK (again && strcmp (again, fp) == 0);
        g_free (again);
      }
      FUZZ_CHECK (!(ok && required) || fp != NULL);
      g_free (fp);
      g_clear_error (&error);
    }
    {
      static const gsize exact[] = { 0, 16, 32, 64 };
      for (guint i = 0; i < G_N_ELEMENTS (exact); i++) {
        GBytes *b = NULL;
        ok = wzp_message_get_bytes (msg, field, required, exact[i], 1500, &b,
            &error);
        check_error (ok, error, field);
        if (ok && b) {
          FUZZ_CHECK (exact[i] == 0 || g_bytes_get_size (b) == exact[i]);
          FUZZ_CHECK (g_bytes_get_size (b) <= 1500);
        }
        g_clear_pointer (&b, g_bytes_unref);
        g_clear_error (&error);
      }
    }
    {
      JsonObject *o = NULL;
      ok = wzp_message_get_opaque (msg, field, required,
          WZP_MESSAGE_MAX_OPAQUE, &o, &error);
      check_error (ok, error, field);
      FUZZ_CHECK (!ok || o == NULL ||
          wzp_json_object_serialized_size (o) <= WZP_MESSAGE_MAX_OPAQUE);
      g_clear_pointer (&o, json_object_unref);
      g_clear_error (&error);
    }
    {
      GSocketAddress *a = NULL;
      ok = wzp_message_get_address (msg, field, required, &a, &error);
      check_error (ok, error, field);
      if (ok && a) {
        char *text = wzp_socket_address_to_string (a);
        WzpAddr back;
        FUZZ_CHECK (wzp_addr_parse (&back, text, NULL));
        g_free (text);
      }
      g_clear_object (&a);
      g_clear_error (&error);
    }
    {
      JsonArray *arr = NULL;
      ok = wzp_message_get_array (msg, field, 8, &arr, &error);
      check_error (ok, error, field);
      FUZZ_CHECK (!ok || arr == NULL || json_array_get_length (arr) <= 8);
      g_clear_error (&error);
    }
  }
  /* The getters without a "required" switch: always required. */
  {
    GError *error = NULL;
    char *id = NULL;
    const char *room = NULL;
    gboolean ok;

    ok = wzp_message_get_call_id (msg, field, &id, &error);
    check_error (ok, error, field);
    FUZZ_CHECK (!ok || (id && wzp_call_id_is_valid (id)));
    g_free (id);
    g_clear_error (&error);

    ok = wzp_message_get_room (msg, field, &room, &error);
    check_error (ok, error, field);
    if (ok) {
      gsize len = strlen (room);
      FUZZ_CHECK (len >= 1 && len <= WZP_MESSAGE_MAX_ROOM_LEN);
      for (gsize i = 0; i < len; i++)
        FUZZ_CHECK ((guint8) room[i] >= 0x20 && room[i] != 0x7f);
    }
    g_clear_error (&error);
  }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  /* Bad input is logged as such; the fuzzer does not need to read it. */
  wzp_log_parse_spec ("0");
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  WzpMessageType type = WZP_MSG_INVALID;
  GError *error = NULL;
  JsonObject *msg = wzp_message_parse (data, size, &type, &error);
  GList *members;
  guint32 id;

  if (msg == NULL) {
    FUZZ_CHECK (error != NULL && error->domain == WZP_MESSAGE_ERROR);
    FUZZ_CHECK (type == WZP_MSG_INVALID);
    g_error_free (error);
    return 0;
  }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (size <= WZP_MESSAGE_MAX_SIZE);
  FUZZ_CHECK (type > WZP_MSG_INVALID && type < WZP_MSG_N_TYPES);
  FUZZ_CHECK (wzp_message_get_msg_type (msg) == type);
  FUZZ_CHECK (json_object_get_int_member (msg, "v") == 1);
  if (json_object_has_member (msg, "req"))
    FUZZ_CHECK (wzp_message_get_req (msg, &id));
  if (json_object_has_member (msg, "re"))
    FUZZ_CHECK (wzp_message_get_re (msg, &id));

  /* Round trip: what we parse we can write, and it reads back alike. */
  {
    GBytes *once = wzp_message_to_bytes (msg);
    WzpMessageType again_type = WZP_MSG_INVALID;
    JsonObject *again = NULL;

    /* Re-serialising may grow the text (escapes): only check what fits. */
    if (g_bytes_get_size (once) <= WZP_MESSAGE_MAX_SIZE) {
      GBytes *twice;

      again = wzp_message_parse (g_bytes_get_data (once, NULL),
          g_bytes_get_size (once), &again_type, NULL);
      FUZZ_CHECK (again != NULL && again_type == type);
      twice = wzp_message_to_bytes (again);
      FUZZ_CHECK (g_bytes_equal (once, twice));
      g_bytes_unref (twice);
      json_object_unref (again);
    }
    g_bytes_unref (once);
  }

  members = json_object_get_members (msg);
  for (GList * l = members; l; l = l->next)
    getters (msg, l->data);
  g_list_free (members);
  for (guint i = 0; i < G_N_ELEMENTS (defined_fields); i++)
    getters (msg, defined_fields[i]);
  json_object_unref (msg);
  return 0;
}
