/* Tests for the signaling codec (wzp-message).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "wzp-message.h"
#include "wzp-random.h"
#include "wzp-test-util.h"

static JsonObject *
parse_text (const char *text, WzpMessageType * type, GError ** error)
{
  return wzp_message_parse ((const guint8 *) text, strlen (text), type, error);
}

static JsonObject *
roundtrip (JsonObject * built, WzpMessageType want)
{
  g_autoptr (GBytes) bytes = wzp_message_to_bytes (built);
  g_autoptr (GError) error = NULL;
  WzpMessageType type = WZP_MSG_INVALID;
  JsonObject *parsed = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), &type, &error);

  g_assert_no_error (error);
  g_assert_nonnull (parsed);
  g_assert_cmpint (type, ==, want);
  json_object_unref (built);
  return parsed;
}

static void
test_type_names (void)
{
  for (guint t = 1; t < WZP_MSG_N_TYPES; t++) {
    const char *name = wzp_message_type_to_string (t);
    g_assert_nonnull (name);
    g_assert_cmpint (wzp_message_type_from_string (name), ==, t);
  }
  g_assert_cmpint (wzp_message_type_from_string ("nope"), ==, WZP_MSG_INVALID);
}

static void
test_register_roundtrip (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  guint8 challenge[WZP_CHALLENGE_LEN];
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GBytes) pk = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) data = NULL;
  g_autoptr (GError) error = NULL;
  guint32 req = 0;
  JsonObject *built;

  for (guint i = 0; i < sizeof challenge; i++)
    challenge[i] = i;
  built = wzp_message_new_register (id, challenge);
  wzp_message_set_req (built, 77);
  msg = roundtrip (built, WZP_MSG_REGISTER);
  g_assert_true (wzp_message_get_req (msg, &req));
  g_assert_cmpuint (req, ==, 77);
  g_assert_false (wzp_message_get_re (msg, NULL));
  g_assert_true (wzp_message_get_bytes (msg, "public_key", TRUE, 32, 32, &pk,
          &error));
  g_assert_true (wzp_message_get_bytes (msg, "signature", TRUE, 64, 64, &sig,
          &error));
  data = wzp_register_signed_data (challenge, g_bytes_get_data (pk, NULL));
  g_assert_cmpuint (g_bytes_get_size (data), ==, 16 + 32 + 32);
  g_assert_true (wzp_identity_verify (g_bytes_get_data (pk, NULL),
          g_bytes_get_data (data, NULL), g_bytes_get_size (data),
          g_bytes_get_data (sig, NULL), 64, &error));
  g_assert_no_error (error);
}

static void
test_call_setup_roundtrip (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (JsonObject) offer = json_object_new ();
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (JsonObject) blob = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *call_id = wzp_random_hex (16);
  g_autofree char *got_id = NULL;
  g_autofree char *peer = NULL;
  guint8 pk[32];
  guint64 channel;
  const char *role;

  json_object_set_string_member (offer, "eph", "abc");
  wzp_identity_get_public_key (id, pk);
  msg = roundtrip (wzp_message_new_call_setup (call_id,
          wzp_identity_get_fingerprint (id), pk, offer, "192.0.2.1:4000",
          0xfffffffe, "callee"), WZP_MSG_CALL_SETUP);
  g_assert_true (wzp_message_get_call_id (msg, "call_id", &got_id, &error));
  g_assert_cmpstr (got_id, ==, call_id);
  g_assert_true (wzp_message_get_fingerprint (msg, "peer", TRUE, &peer,
          &error));
  g_assert_cmpstr (peer, ==, wzp_identity_get_fingerprint (id));
  g_assert_true (wzp_message_get_opaque (msg, "peer_offer_or_answer", TRUE,
          WZP_MESSAGE_MAX_OPAQUE, &blob, &error));
  g_assert_cmpstr (json_object_get_string_member (blob, "eph"), ==, "abc");
  g_assert_true (wzp_message_get_address (msg, "peer_reflexive", TRUE, &addr,
          &error));
  g_assert_true (wzp_message_get_uint (msg, "channel", TRUE, G_MAXUINT32,
          &channel, &error));
  g_assert_cmpuint (channel, ==, 0xfffffffe);
  g_assert_true (wzp_message_get_string (msg, "role", TRUE, 16, &role, &error));
  g_assert_cmpstr (role, ==, "callee");
  g_assert_no_error (error);
}

/* Mid-call candidate updates: both directions round-trip; a list holds
 * only valid addresses, and not too many. */
static void
test_candidates_roundtrip (void)
{
  g_autofree char *call_id = wzp_random_hex (16);
  const char *cands[] = { "192.0.2.7:4433", "[2001:db8::7]:4433", NULL };
  g_autoptr (JsonObject) up = NULL;
  g_autoptr (JsonObject) peer = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) got = NULL;
  g_autoptr (GSocketAddress) refl = NULL;
  const char *nat;

  up = roundtrip (wzp_message_new_update_candidates (call_id, cands, "edm"),
      WZP_MSG_UPDATE_CANDIDATES);
  g_assert_true (wzp_message_get_address_list (up, "candidates",
          WZP_MESSAGE_MAX_CANDIDATES, &got, &error));
  g_assert_no_error (error);
  g_assert_cmpstrv (got, cands);
  g_assert_true (wzp_message_get_string (up, "nat", TRUE, 16, &nat, &error));
  g_assert_cmpstr (nat, ==, "edm");
  g_clear_pointer (&got, g_strfreev);

  peer = roundtrip (wzp_message_new_peer_candidates (call_id, cands,
          "198.51.100.9:5000", "eim"), WZP_MSG_PEER_CANDIDATES);
  g_assert_true (wzp_message_get_address_list (peer, "candidates",
          WZP_MESSAGE_MAX_CANDIDATES, &got, &error));
  g_assert_cmpstrv (got, cands);
  g_assert_true (wzp_message_get_address (peer, "peer_reflexive", TRUE,
          &refl, &error));
  g_assert_nonnull (refl);
  g_clear_pointer (&got, g_strfreev);

  /* An empty list is a list (a host with no address but its NAT's). */
  {
    g_autoptr (JsonObject) none = roundtrip
        (wzp_message_new_update_candidates (call_id, NULL, "unknown"),
        WZP_MSG_UPDATE_CANDIDATES);
    g_assert_true (wzp_message_get_address_list (none, "candidates",
            WZP_MESSAGE_MAX_CANDIDATES, &got, &error));
    g_assert_cmpuint (g_strv_length (got), ==, 0);
    g_clear_pointer (&got, g_strfreev);
  }
  {
    const char *bad[] = {
      "{\"v\":1,\"type\":\"update-candidates\",\"candidates\":\"1.2.3.4:5\"}",
      "{\"v\":1,\"type\":\"update-candidates\",\"candidates\":[7]}",
      "{\"v\":1,\"type\":\"update-candidates\",\"candidates\":[\"x:y\"]}",
      "{\"v\":1,\"type\":\"update-candidates\",\"candidates\":[null]}",
      "{\"v\":1,\"type\":\"update-candidates\",\"candidates\":[[\"1.2.3.4:5\"]]}",
      "{\"v\":1,\"type\":\"update-candidates\",\"candidates\":[\"1.2.3.4:5\","
          "\"1.2.3.4:6\",\"1.2.3.4:7\"]}",
      "{\"v\":1,\"type\":\"update-candidates\"}",
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
      g_autoptr (JsonObject) m = parse_text (bad[i], NULL, &error);
      g_assert_no_error (error);
      g_assert_false (wzp_message_get_address_list (m, "candidates", 2, &got,
              &error));
      g_assert_null (got);
      gint want = i == 0 ? WZP_MESSAGE_ERROR_WRONG_TYPE : i == 6 ?
          WZP_MESSAGE_ERROR_MISSING_FIELD : WZP_MESSAGE_ERROR_INVALID_VALUE;
      g_assert_error (error, WZP_MESSAGE_ERROR, want);
      g_test_message ("%s -> %s", bad[i], error->message);
      g_clear_error (&error);
    }
  }
}

static void
expect_envelope_error (const char *text, gint code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  JsonObject *msg = parse_text (text, NULL, &error);

  g_assert_null (msg);
  g_assert_error (error, WZP_MESSAGE_ERROR, code);
  if (fragment && !strstr (error->message, fragment))
    g_error ("'%s' not in '%s'", fragment, error->message);
}

static void
test_envelope_errors (void)
{
  g_autofree char *big = g_strnfill (WZP_MESSAGE_MAX_SIZE + 1, ' ');
  g_autofree char *deep = NULL;
  GString *d = g_string_new ("{\"v\":1,\"type\":\"reflect\",\"x\":");

  expect_envelope_error ("", WZP_MESSAGE_ERROR_MALFORMED, NULL);
  expect_envelope_error ("{not json", WZP_MESSAGE_ERROR_MALFORMED, "JSON");
  expect_envelope_error ("[1,2]", WZP_MESSAGE_ERROR_MALFORMED, "object");
  expect_envelope_error ("{\"type\":\"reflect\"}", WZP_MESSAGE_ERROR_VERSION,
      NULL);
  expect_envelope_error ("{\"v\":2,\"type\":\"reflect\"}",
      WZP_MESSAGE_ERROR_VERSION, NULL);
  expect_envelope_error ("{\"v\":\"1\",\"type\":\"reflect\"}",
      WZP_MESSAGE_ERROR_VERSION, NULL);
  expect_envelope_error ("{\"v\":1}", WZP_MESSAGE_ERROR_UNKNOWN_TYPE, NULL);
  expect_envelope_error ("{\"v\":1,\"type\":\"launch-missiles\"}",
      WZP_MESSAGE_ERROR_UNKNOWN_TYPE, "launch-missiles");
  expect_envelope_error ("{\"v\":1,\"type\":7}",
      WZP_MESSAGE_ERROR_UNKNOWN_TYPE, NULL);
  expect_envelope_error ("{\"v\":1,\"type\":\"reflect\",\"req\":-1}",
      WZP_MESSAGE_ERROR_WRONG_TYPE, "req");
  expect_envelope_error ("{\"v\":1,\"type\":\"reflect\",\"req\":1.5}",
      WZP_MESSAGE_ERROR_WRONG_TYPE, "req");
  expect_envelope_error (big, WZP_MESSAGE_ERROR_TOO_LARGE, "limit");
  for (guint i = 0; i < 5000; i++)
    g_string_append_c (d, '[');
  deep = g_string_free (d, FALSE);
  expect_envelope_error (deep, WZP_MESSAGE_ERROR_MALFORMED, "deeper");
  {
    /* Embedded NUL and invalid UTF-8. */
    const guint8 nul[] = "{\"v\":1,\"type\":\"reflect\"}\0x";
    const guint8 bad[] = "{\"v\":1,\"type\":\"\xff\"}";
    g_autoptr (GError) e1 = NULL;
    g_autoptr (GError) e2 = NULL;
    g_assert_null (wzp_message_parse (nul, sizeof nul - 1, NULL, &e1));
    g_assert_error (e1, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED);
    g_assert_null (wzp_message_parse (bad, sizeof bad - 1, NULL, &e2));
    g_assert_error (e2, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED);
  }
  /* Unknown extra fields are fine (forward compatibility). */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) ok = parse_text ("{\"v\":1,\"type\":\"reflect\","
        "\"future\":[1,{\"a\":2}]}", NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (ok);
  }
}

static void
test_field_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) msg = NULL;
  g_autofree char *fp = NULL;
  g_autofree char *call_id = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonObject) obj = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  guint64 n;

  msg = parse_text ("{\"v\":1,\"type\":\"call\",\"call_id\":\"xyz\","
      "\"from\":\"not-a-fp\",\"offer\":\"str\",\"n\":\"1\",\"k\":\"@@@@\","
      "\"short\":\"AAAA\",\"addr\":\"nowhere\"}", NULL, &error);
  g_assert_no_error (error);

  g_assert_false (wzp_message_get_fingerprint (msg, "to", TRUE, &fp, &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MISSING_FIELD);
  g_assert_cmpstr (error->message, ==, "call: field 'to' missing");
  g_clear_error (&error);

  /* Optional and missing: fine. */
  g_assert_true (wzp_message_get_fingerprint (msg, "to", FALSE, &fp, &error));
  g_assert_null (fp);

  g_assert_false (wzp_message_get_fingerprint (msg, "from", TRUE, &fp, &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
  g_assert_cmpstr (error->message, ==,
      "call: field 'from' is not a fingerprint");
  g_clear_error (&error);

  g_assert_false (wzp_message_get_call_id (msg, "call_id", &call_id, &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
  g_clear_error (&error);

  g_assert_false (wzp_message_get_opaque (msg, "offer", TRUE, 100, &obj,
          &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_WRONG_TYPE);
  g_assert_cmpstr (error->message, ==, "call: field 'offer' is not an object");
  g_clear_error (&error);

  g_assert_false (wzp_message_get_uint (msg, "n", TRUE, 10, &n, &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_WRONG_TYPE);
  g_clear_error (&error);

  g_assert_false (wzp_message_get_bytes (msg, "k", TRUE, 0, 100, &bytes,
          &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
  g_clear_error (&error);

  g_assert_false (wzp_message_get_bytes (msg, "short", TRUE, 32, 32, &bytes,
          &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "must be 32 bytes"));
  g_clear_error (&error);

  g_assert_false (wzp_message_get_address (msg, "addr", TRUE, &addr, &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
  g_clear_error (&error);
}

static void
test_opaque_limit (void)
{
  g_autoptr (JsonObject) offer = json_object_new ();
  g_autofree char *pad = g_strnfill (WZP_MESSAGE_MAX_OPAQUE, 'x');
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (JsonObject) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *call_id = wzp_random_hex (16);

  json_object_set_string_member (offer, "pad", pad);
  msg = roundtrip (wzp_message_new_call ("0000:0000:0000:0000:0000:0000:"
          "0000:0000", call_id, offer), WZP_MSG_CALL);
  g_assert_false (wzp_message_get_opaque (msg, "offer", TRUE,
          WZP_MESSAGE_MAX_OPAQUE, &out, &error));
  g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "larger than"));
}

static void
test_rooms_roundtrip (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (JsonArray) members = json_array_new ();
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *got;
  const char *room;
  guint8 pk[32];

  wzp_identity_get_public_key (id, pk);
  json_array_add_object_element (members, wzp_room_member_new
      (wzp_identity_get_fingerprint (id), pk, NULL));
  msg = roundtrip (wzp_message_new_room_joined ("lobby", 42, members),
      WZP_MSG_ROOM_JOINED);
  g_assert_true (wzp_message_get_room (msg, "room", &room, &error));
  g_assert_cmpstr (room, ==, "lobby");
  g_assert_true (wzp_message_get_array (msg, "members", 10, &got, &error));
  g_assert_cmpuint (json_array_get_length (got), ==, 1);
  g_assert_no_error (error);
}

/* What json-glib reads but cannot write back as JSON is refused on the
 * way in (found by fuzz-message): a number beyond a double ("inf.0"), an
 * octal escape that makes a byte that is not UTF-8. */
static void
test_not_json_back (void)
{
  static const char *const bad[] = {
    "{\"v\":1,\"type\":\"reflect\",\"x\":1e400}",
    "{\"v\":1,\"type\":\"answer\",\"answer\":{\"a\":[-1e999]}}",
    "{\"v\":1,\"type\":\"leave-room\",\"room\":\"a\\233b\"}",
    "{\"v\":1,\"type\":\"reflect\",\"k\\377\":1}",
  };
  GError *error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_null (wzp_message_parse ((const guint8 *) bad[i],
            strlen (bad[i]), NULL, &error));
    g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED);
    g_clear_error (&error);
  }
  {
    const char *ok = "{\"v\":1,\"type\":\"reflect\",\"x\":1.5e300}";
    JsonObject *m = wzp_message_parse ((const guint8 *) ok, strlen (ok),
        NULL, &error);
    g_assert_no_error (error);
    json_object_unref (m);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/message/type-names", test_type_names);
  g_test_add_func ("/message/register-roundtrip", test_register_roundtrip);
  g_test_add_func ("/message/call-setup-roundtrip", test_call_setup_roundtrip);
  g_test_add_func ("/message/envelope-errors", test_envelope_errors);
  g_test_add_func ("/message/field-errors", test_field_errors);
  g_test_add_func ("/message/opaque-limit", test_opaque_limit);
  g_test_add_func ("/message/rooms-roundtrip", test_rooms_roundtrip);
  g_test_add_func ("/message/candidates-roundtrip", test_candidates_roundtrip);
  g_test_add_func ("/message/not-json-back", test_not_json_back);
  return g_test_run ();
}
