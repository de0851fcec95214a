/* Fuzz target: the signed offer/answer of a call and its candidate list
 * (lib/call/wzp-call-offer.c), as the callee reads an offer from
 * incoming-call and the caller reads the answer from call-setup.
 *
 * Input: one mode byte, then the text of the offer/answer object.
 *   bit 0: 0 = read it as the caller's offer, 1 = as the callee's answer
 *   bit 1: sign it: if "eph" holds 32 bytes, the target puts a valid
 *          signature of the signer's identity in "sig" (so the fuzzer gets
 *          past the signature to the candidates and the NAT type, like a
 *          peer that signs whatever it sends)
 * The object arrives as a relay would deliver it: inside a signaling
 * message, through wzp_message_parse() and wzp_message_get_opaque().
 *
 * Checks beyond "does not crash":
 * - an offer that _wzp_offer_parse() accepts carries a signature that
 *   verifies, under the signer's key, over exactly the bytes PROTOCOL.md
 *   (Part B) defines; a forged or missing signature is never accepted;
 * - at most 16 candidates, each a string under 64 bytes; NAT type eim, edm
 *   or unknown;
 * - the candidates go to the candidate list as the call layer adds them
 *   (wzp_candidates_add_string): one that is accepted parses as an
 *   address and prints back the same;
 * - building an offer from what was read and reading it back gives the
 *   same key, candidates and NAT type.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-log-private.h"
#include "wzp-call-offer.h"
#include "wzp-candidates.h"
#include "wzp-message.h"

static WzpIdentity *caller, *callee;
static char *caller_fp, *callee_fp;
static guint8 caller_pk[WZP_PUBLIC_KEY_LEN], callee_pk[WZP_PUBLIC_KEY_LEN];
static const guint8 call_id[WZP_CALL_ID_BYTES] = {
  0xca, 0x11, 0x1d, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
};

/* The caller's ephemeral key an answer commits to. */
static const guint8 caller_eph[WZP_EPH_KEY_LEN] = {
  0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
};

static WzpIdentity *
fixed_identity (guint8 seed_byte)
{
  guint8 seed[WZP_PRIVATE_KEY_LEN];

  memset (seed, seed_byte, sizeof seed);
  return wzp_identity_new_from_seed (seed, NULL);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  /* Bad input is logged as such; the fuzzer does not need to read it. */
  wzp_log_parse_spec ("0");
  caller = fixed_identity (0x11);
  callee = fixed_identity (0x22);
  caller_fp = g_strdup (wzp_identity_get_fingerprint (caller));
  callee_fp = g_strdup (wzp_identity_get_fingerprint (callee));
  wzp_identity_get_public_key (caller, caller_pk);
  wzp_identity_get_public_key (callee, callee_pk);
  return 0;
}

/* PROTOCOL.md Part B, written out independently of wzp-call-offer.c. */
static GBytes *
documented_signed_bytes (gboolean answer, const guint8 * eph)
{
  GByteArray *b = g_byte_array_new ();
  const char *tag = answer ? "wzp-answer-v1" : "wzp-offer-v1";

  g_byte_array_append (b, (const guint8 *) tag, strlen (tag) + 1);
  g_byte_array_append (b, call_id, sizeof call_id);
  g_byte_array_append (b, (const guint8 *) caller_fp, strlen (caller_fp));
  g_byte_array_append (b, (const guint8 *) callee_fp, strlen (callee_fp));
  if (answer) {
    g_byte_array_append (b, caller_eph, WZP_EPH_KEY_LEN);
    g_byte_array_append (b, eph, WZP_EPH_KEY_LEN);
  } else {
    g_byte_array_append (b, eph, WZP_EPH_KEY_LEN);
  }
  return g_byte_array_free_to_bytes (b);
}

/* The fuzzed object inside an incoming-call / call-setup message, as the
 * relay delivers it; NULL when the codec refuses it. */
static JsonObject *
delivered (const guint8 * text, gsize len)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GBytes) bytes = NULL;
  JsonObject *out = NULL;
  JsonNode *root;

  if (len == 0 || memchr (text, 0, len) ||
      !g_utf8_validate ((const char *) text, len, NULL) ||
      !json_parser_load_from_data (p, (const char *) text, len, NULL))
    return NULL;
  root = json_parser_get_root (p);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  msg = wzp_message_new (WZP_MSG_INCOMING_CALL);
  json_object_set_object_member (msg, "offer",
      json_object_ref (json_node_get_object (root)));
  bytes = wzp_message_to_bytes (msg);
  g_clear_pointer (&msg, json_object_unref);
  msg = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), NULL, NULL);
  if (msg == NULL || !wzp_message_get_opaque (msg, "offer", TRUE,
          WZP_MESSAGE_MAX_OPAQUE, &out, NULL))
    return NULL;
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  FuzzInput in;
  guint8 mode;
  gboolean answer, sign;
  const guint8 *text;
  gsize len;
  JsonObject *o;
  WzpIdentity *signer;
  const guint8 *signer_pk;
  WzpOfferInfo info;
  GError *error = NULL;
  gboolean ok;

  fuzz_input_init (&in, data, size);
  mode = fuzz_u8 (&in);
  answer = mode & 1;
  sign = mode & 2;
  len = fuzz_bytes (&in, in.left, &text);
  o = delivered (text, len);
  if (o == NULL)
    return 0;
  signer = answer ? callee : caller;
  signer_pk = answer ? callee_pk : caller_pk;

  if (sign) {
    guint8 eph[WZP_EPH_KEY_LEN], sig[WZP_SIGNATURE_LEN];
    GBytes *msg;

    if (_wzp_offer_get_key (o, "eph", eph, sizeof eph, NULL)) {
      msg = documented_signed_bytes (answer, eph);
      wzp_identity_sign (signer, g_bytes_get_data (msg, NULL),
          g_bytes_get_size (msg), sig);
      wzp_message_set_bytes (o, "sig", sig, sizeof sig);
      g_bytes_unref (msg);
    }
  }

  ok = _wzp_offer_parse (o, call_id, caller_fp, callee_fp, signer_pk,
      answer ? caller_eph : NULL, &info, &error);
  if (!ok) {
    FUZZ_CHECK (error != NULL);
    g_clear_error (&error);
    _wzp_offer_info_clear (&info);
    json_object_unref (o);
    return 0;
  }
  FUZZ_CHECK (error == NULL);

  /* Accepted only with a signature that verifies over the documented
   * bytes. */
  {
    guint8 sig[WZP_SIGNATURE_LEN];
    GBytes *msg = documented_signed_bytes (answer, info.eph);

    FUZZ_CHECK (_wzp_offer_get_key (o, "sig", sig, sizeof sig, NULL));
    FUZZ_CHECK (wzp_identity_verify (signer_pk, g_bytes_get_data (msg, NULL),
            g_bytes_get_size (msg), sig, sizeof sig, NULL));
    g_bytes_unref (msg);
  }
  FUZZ_CHECK (info.candidates != NULL && info.candidates->len <= 16);
  FUZZ_CHECK (info.nat && (g_str_equal (info.nat, "eim") ||
          g_str_equal (info.nat, "edm") || g_str_equal (info.nat, "unknown")));

  /* The candidate list, as the call layer builds it. */
  {
    WzpCandidates *theirs = wzp_candidates_new ();

    for (guint i = 0; i < info.candidates->len; i++) {
      const char *c = g_ptr_array_index (info.candidates, i);
      WzpAddr a;
      char back[WZP_ADDR_STRLEN];

      FUZZ_CHECK (strlen (c) < 64);
      if (wzp_candidates_add_string (theirs, WZP_CANDIDATE_HOST, c, NULL)) {
        FUZZ_CHECK (wzp_addr_parse (&a, c, NULL));
        wzp_addr_to_string (&a, back);
        FUZZ_CHECK (wzp_addr_parse (&a, back, NULL));
      }
    }
    FUZZ_CHECK (wzp_candidates_get_count (theirs) <= info.candidates->len);
    wzp_candidates_unref (theirs);
  }

  /* Round trip: our builder, then our parser, keep what was read. */
  {
    WzpOfferInfo again;
    JsonObject *rebuilt = _wzp_offer_build (signer, call_id, caller_fp,
        callee_fp, info.eph, answer ? caller_eph : NULL, info.candidates,
        info.nat);

    FUZZ_CHECK (_wzp_offer_parse (rebuilt, call_id, caller_fp, callee_fp,
            signer_pk, answer ? caller_eph : NULL, &again, NULL));
    FUZZ_CHECK (memcmp (again.eph, info.eph, WZP_EPH_KEY_LEN) == 0);
    FUZZ_CHECK (again.candidates->len == info.candidates->len);
    for (guint i = 0; i < info.candidates->len; i++)
      FUZZ_CHECK (g_str_equal (g_ptr_array_index (again.candidates, i),
              g_ptr_array_index (info.candidates, i)));
    FUZZ_CHECK (g_str_equal (again.nat, info.nat));
    _wzp_offer_info_clear (&again);
    json_object_unref (rebuilt);
  }
  _wzp_offer_info_clear (&info);
  json_object_unref (o);
  return 0;
}
