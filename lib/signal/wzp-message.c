/* wzp — the signaling codec
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-message.h"
#include "wzp-address.h"
#include "wzp-log-private.h"

#include <math.h>
#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_signal

GQuark
wzp_message_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-message-error-quark");
  return q;
}

static const char *type_names[WZP_MSG_N_TYPES] = {
  [WZP_MSG_INVALID] = NULL,
  [WZP_MSG_HELLO] = "hello",
  [WZP_MSG_REGISTERED] = "registered",
  [WZP_MSG_ERROR] = "error",
  [WZP_MSG_REFLECTED] = "reflected",
  [WZP_MSG_PROBE_RESULT] = "probe-result",
  [WZP_MSG_CALL_RINGING] = "call-ringing",
  [WZP_MSG_INCOMING_CALL] = "incoming-call",
  [WZP_MSG_CALL_SETUP] = "call-setup",
  [WZP_MSG_CALL_ENDED] = "call-ended",
  [WZP_MSG_ROOM_JOINED] = "room-joined",
  [WZP_MSG_ROOM_LEFT] = "room-left",
  [WZP_MSG_ROOM_UPDATE] = "room-update",
  [WZP_MSG_PEER_CANDIDATES] = "peer-candidates",
  [WZP_MSG_CALL_RESUMED] = "call-resumed",
  [WZP_MSG_REGISTER] = "register",
  [WZP_MSG_REFLECT] = "reflect",
  [WZP_MSG_PROBE_REQUEST] = "probe-request",
  [WZP_MSG_CALL] = "call",
  [WZP_MSG_ANSWER] = "answer",
  [WZP_MSG_REJECT] = "reject",
  [WZP_MSG_HANGUP] = "hangup",
  [WZP_MSG_JOIN_ROOM] = "join-room",
  [WZP_MSG_LEAVE_ROOM] = "leave-room",
  [WZP_MSG_UPDATE_CANDIDATES] = "update-candidates",
  [WZP_MSG_RESUME_CALL] = "resume-call",
  [WZP_MSG_CHANNEL_REBIND] = "channel-rebind",
  [WZP_MSG_ROOM_MESSAGE] = "room-message",
  [WZP_MSG_LEG] = "leg",
  [WZP_MSG_MOVE] = "move",
};

const char *
wzp_message_type_to_string (WzpMessageType type)
{
  if (type <= WZP_MSG_INVALID || type >= WZP_MSG_N_TYPES)
    return "invalid";
  return type_names[type];
}

WzpMessageType
wzp_message_type_from_string (const char *name)
{
  if (name == NULL)
    return WZP_MSG_INVALID;
  for (guint i = 1; i < WZP_MSG_N_TYPES; i++) {
    if (strcmp (type_names[i], name) == 0)
      return (WzpMessageType) i;
  }
  return WZP_MSG_INVALID;
}

/* --- parsing ---------------------------------------------------------- */

static gboolean
node_is_integer (JsonNode * node)
{
  return JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_INT64;
}

/* json-glib's parser recurses once per nesting level; refuse deep input
 * before it does (16 KiB of "[" would be 16384 frames). */
#define MAX_DEPTH 16

static gboolean
nesting_ok (const guint8 * data, gsize len)
{
  gboolean in_string = FALSE, escaped = FALSE;
  guint depth = 0;

  for (gsize i = 0; i < len; i++) {
    guint8 c = data[i];
    if (in_string) {
      if (escaped)
        escaped = FALSE;
      else if (c == '\\')
        escaped = TRUE;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_DEPTH)
        return FALSE;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

/* What json-glib accepts but cannot write back as JSON, found by
 * fuzz-message: a number too large for a double (1e400) becomes infinity
 * and is written as "inf.0"; an octal escape ("\233", which JSON does
 * not have) becomes a byte that is not UTF-8.  A message carrying either
 * would be forwarded (offers, room bodies) as bytes no peer can parse.
 * Depth is bounded by nesting_ok(). */
static gboolean
tree_ok (JsonNode * node)
{
  if (JSON_NODE_HOLDS_VALUE (node)) {
    GType t = json_node_get_value_type (node);

    if (t == G_TYPE_DOUBLE)
      return isfinite (json_node_get_double (node));
    if (t == G_TYPE_STRING)
      return g_utf8_validate (json_node_get_string (node), -1, NULL);
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *a = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (a); i++)
      if (!tree_ok (json_array_get_element (a, i)))
        return FALSE;
  } else if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObjectIter it;
    const char *name;
    JsonNode *member;

    json_object_iter_init (&it, json_node_get_object (node));
    while (json_object_iter_next (&it, &name, &member))
      if (!g_utf8_validate (name, -1, NULL) || !tree_ok (member))
        return FALSE;
  }
  return TRUE;
}

/**
 * wzp_message_parse:
 * @type: (out) (optional): the message type
 *
 * Parses one signaling message and checks its envelope: at most
 * %WZP_MESSAGE_MAX_SIZE bytes, a JSON object, "v" = 1, "type" a known
 * type, and "req"/"re" (when present) integers in 0..2^32-1.
 *
 * Returns: (transfer full): the message object, or %NULL with @error set
 * (domain %WZP_MESSAGE_ERROR).
 */
JsonObject *
wzp_message_parse (const guint8 * data, gsize len, WzpMessageType * type,
    GError ** error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local = NULL;
  JsonNode *root, *node;
  JsonObject *obj;
  WzpMessageType t;
  const char *fields[] = { "req", "re" };

  if (len > WZP_MESSAGE_MAX_SIZE) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_TOO_LARGE,
        "message of %" G_GSIZE_FORMAT " bytes exceeds the %d byte limit",
        len, WZP_MESSAGE_MAX_SIZE);
    return NULL;
  }
  if (len == 0 || memchr (data, '\0', len) != NULL ||
      !g_utf8_validate ((const char *) data, len, NULL)) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED,
        "message is not UTF-8 JSON text");
    return NULL;
  }
  if (!nesting_ok (data, len)) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED,
        "message nests deeper than %d levels", MAX_DEPTH);
    return NULL;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const char *) data, len, &local)) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED,
        "message is not valid JSON: %s", local->message);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED,
        "message is not a JSON object");
    return NULL;
  }
  if (!tree_ok (root)) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MALFORMED,
        "message has a number out of range or a string that is not UTF-8");
    return NULL;
  }
  obj = json_node_get_object (root);

  node = json_object_get_member (obj, "v");
  if (node == NULL || !node_is_integer (node) || json_node_get_int (node) != 1) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_VERSION,
        "message version missing or not %d", WZP_PROTOCOL_VERSION);
    return NULL;
  }
  node = json_object_get_member (obj, "type");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_UNKNOWN_TYPE,
        "message has no type");
    return NULL;
  }
  t = wzp_message_type_from_string (json_node_get_string (node));
  if (t == WZP_MSG_INVALID) {
    g_autofree char *shown = g_strndup (json_node_get_string (node), 32);
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_UNKNOWN_TYPE,
        "unknown message type '%s'", shown);
    return NULL;
  }
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
    node = json_object_get_member (obj, fields[i]);
    if (node && (!node_is_integer (node) || json_node_get_int (node) < 0 ||
            json_node_get_int (node) > G_MAXUINT32)) {
      g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_WRONG_TYPE,
          "%s: field '%s' is not a request id", type_names[t], fields[i]);
      return NULL;
    }
  }
  if (type)
    *type = t;
  return json_object_ref (obj);
}

WzpMessageType
wzp_message_get_msg_type (JsonObject * msg)
{
  return
      wzp_message_type_from_string (json_object_get_string_member_with_default
      (msg, "type", NULL));
}

static gboolean
get_u32 (JsonObject * msg, const char *field, guint32 * out)
{
  JsonNode *node = json_object_get_member (msg, field);

  if (node == NULL || !node_is_integer (node))
    return FALSE;
  if (out)
    *out = (guint32) json_node_get_int (node);
  return TRUE;
}

gboolean
wzp_message_get_req (JsonObject * msg, guint32 * req)
{
  return get_u32 (msg, "req", req);
}

gboolean
wzp_message_get_re (JsonObject * msg, guint32 * re)
{
  return get_u32 (msg, "re", re);
}

static const char *
msg_name (JsonObject * msg)
{
  return wzp_message_type_to_string (wzp_message_get_msg_type (msg));
}

/* Looks the field up; FALSE (with error when required) when absent. */
static JsonNode *
lookup (JsonObject * msg, const char *field, gboolean required,
    gboolean * ok, GError ** error)
{
  JsonNode *node = json_object_get_member (msg, field);

  *ok = TRUE;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node)) {
    if (required) {
      g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_MISSING_FIELD,
          "%s: field '%s' missing", msg_name (msg), field);
      *ok = FALSE;
    }
    return NULL;
  }
  return node;
}

static gboolean
wrong_type (JsonObject * msg, const char *field, const char *want,
    GError ** error)
{
  g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_WRONG_TYPE,
      "%s: field '%s' is not %s", msg_name (msg), field, want);
  return FALSE;
}

static gboolean
invalid (JsonObject * msg, const char *field, const char *what, GError ** error)
{
  g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE,
      "%s: field '%s' %s", msg_name (msg), field, what);
  return FALSE;
}

gboolean
wzp_message_get_string (JsonObject * msg, const char *field,
    gboolean required, gsize max_len, const char **out, GError ** error)
{
  gboolean ok;
  JsonNode *node = lookup (msg, field, required, &ok, error);
  const char *s;

  *out = NULL;
  if (node == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (msg, field, "a string", error);
  s = json_node_get_string (node);
  if (max_len > 0 && strlen (s) > max_len) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE,
        "%s: field '%s' is longer than %" G_GSIZE_FORMAT " bytes",
        msg_name (msg), field, max_len);
    return FALSE;
  }
  *out = s;
  return TRUE;
}

gboolean
wzp_message_get_uint (JsonObject * msg, const char *field, gboolean required,
    guint64 max, guint64 * out, GError ** error)
{
  gboolean ok;
  JsonNode *node = lookup (msg, field, required, &ok, error);
  gint64 v;

  *out = 0;
  if (node == NULL)
    return ok;
  if (!node_is_integer (node))
    return wrong_type (msg, field, "an integer", error);
  v = json_node_get_int (node);
  if (v < 0 || (guint64) v > max)
    return invalid (msg, field, "is out of range", error);
  *out = (guint64) v;
  return TRUE;
}

gboolean
wzp_message_get_fingerprint (JsonObject * msg, const char *field,
    gboolean required, char **out, GError ** error)
{
  const char *s;

  *out = NULL;
  if (!wzp_message_get_string (msg, field, required, 64, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  *out = wzp_fingerprint_normalize (s, NULL);
  if (*out == NULL)
    return invalid (msg, field, "is not a fingerprint", error);
  return TRUE;
}

static gboolean
base64_is_canonical (const char *s)
{
  gsize len = strlen (s), pad = 0;

  if (len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = s[i];
    if (c == '=') {
      if (i < len - 2)
        return FALSE;
      pad++;
    } else if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/')) {
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
wzp_message_get_bytes (JsonObject * msg, const char *field,
    gboolean required, gsize exact_len, gsize max_len, GBytes ** out,
    GError ** error)
{
  const char *s;
  guchar *raw;
  gsize len;

  *out = NULL;
  if (!wzp_message_get_string (msg, field, required,
          max_len ? (max_len + 2) / 3 * 4 : 0, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  if (!base64_is_canonical (s))
    return invalid (msg, field, "is not base64", error);
  raw = g_base64_decode (s, &len);
  if (exact_len > 0 && len != exact_len) {
    g_free (raw);
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE,
        "%s: field '%s' must be %" G_GSIZE_FORMAT " bytes, not %"
        G_GSIZE_FORMAT, msg_name (msg), field, exact_len, len);
    return FALSE;
  }
  *out = g_bytes_new_take (raw, len);
  return TRUE;
}

gsize
wzp_json_object_serialized_size (JsonObject * object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  gsize len = 0;

  json_node_set_object (node, object);
  text = json_to_string (node, FALSE);
  len = strlen (text);
  return len;
}

gboolean
wzp_message_get_opaque (JsonObject * msg, const char *field,
    gboolean required, gsize max_size, JsonObject ** out, GError ** error)
{
  gboolean ok;
  JsonNode *node = lookup (msg, field, required, &ok, error);

  *out = NULL;
  if (node == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (msg, field, "an object", error);
  if (wzp_json_object_serialized_size (json_node_get_object (node)) > max_size) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE,
        "%s: field '%s' is larger than %" G_GSIZE_FORMAT " bytes",
        msg_name (msg), field, max_size);
    return FALSE;
  }
  *out = json_object_ref (json_node_get_object (node));
  return TRUE;
}

gboolean
wzp_message_get_address (JsonObject * msg, const char *field,
    gboolean required, GSocketAddress ** out, GError ** error)
{
  const char *s;

  *out = NULL;
  if (!wzp_message_get_string (msg, field, required, WZP_ADDR_STRLEN, &s,
          error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  *out = wzp_socket_address_parse (s, NULL);
  if (*out == NULL)
    return invalid (msg, field, "is not an address (ip:port)", error);
  return TRUE;
}

gboolean
wzp_call_id_is_valid (const char *call_id)
{
  if (call_id == NULL || strlen (call_id) != WZP_CALL_ID_LEN)
    return FALSE;
  for (const char *p = call_id; *p; p++) {
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  }
  return TRUE;
}

gboolean
wzp_message_get_call_id (JsonObject * msg, const char *field, char **out,
    GError ** error)
{
  const char *s;

  *out = NULL;
  if (!wzp_message_get_string (msg, field, TRUE, 64, &s, error))
    return FALSE;
  if (!wzp_call_id_is_valid (s))
    return invalid (msg, field, "is not a call id (32 hex digits)", error);
  *out = g_ascii_strdown (s, -1);
  return TRUE;
}

gboolean
wzp_message_get_room (JsonObject * msg, const char *field, const char **out,
    GError ** error)
{
  const char *s;

  *out = NULL;
  if (!wzp_message_get_string (msg, field, TRUE, WZP_MESSAGE_MAX_ROOM_LEN,
          &s, error))
    return FALSE;
  if (*s == '\0')
    return invalid (msg, field, "is empty", error);
  for (const char *p = s; *p; p++) {
    if ((guchar) * p < 0x20 || *p == 0x7f)
      return invalid (msg, field, "contains control characters", error);
  }
  *out = s;
  return TRUE;
}

gboolean
wzp_message_get_array (JsonObject * msg, const char *field, guint max_len,
    JsonArray ** out, GError ** error)
{
  gboolean ok;
  JsonNode *node = lookup (msg, field, TRUE, &ok, error);

  *out = NULL;
  if (node == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (msg, field, "an array", error);
  if (json_array_get_length (json_node_get_array (node)) > max_len)
    return invalid (msg, field, "has too many entries", error);
  *out = json_node_get_array (node);
  return TRUE;
}

/* A required array of at most @max_len address strings ("ip:port"),
 * each valid; @out gets them in order. */
gboolean
wzp_message_get_address_list (JsonObject * msg, const char *field,
    guint max_len, char ***out, GError ** error)
{
  JsonArray *a;
  GPtrArray *list;

  *out = NULL;
  if (!wzp_message_get_array (msg, field, max_len, &a, error))
    return FALSE;
  list = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *n = json_array_get_element (a, i);
    const char *s;
    g_autoptr (GSocketAddress) addr = NULL;

    if (!JSON_NODE_HOLDS_VALUE (n) ||
        json_node_get_value_type (n) != G_TYPE_STRING ||
        strlen (s = json_node_get_string (n)) >= WZP_ADDR_STRLEN ||
        (addr = wzp_socket_address_parse (s, NULL)) == NULL) {
      g_ptr_array_unref (list);
      return invalid (msg, field, "holds something that is not an address "
          "(ip:port)", error);
    }
    g_ptr_array_add (list, g_strdup (s));
  }
  g_ptr_array_add (list, NULL);
  *out = (char **) g_ptr_array_free (list, FALSE);
  return TRUE;
}

/* --- building --------------------------------------------------------- */

JsonObject *
wzp_message_new (WzpMessageType type)
{
  JsonObject *msg = json_object_new ();

  g_return_val_if_fail (type > WZP_MSG_INVALID && type < WZP_MSG_N_TYPES, msg);
  json_object_set_int_member (msg, "v", WZP_PROTOCOL_VERSION);
  json_object_set_string_member (msg, "type", type_names[type]);
  return msg;
}

void
wzp_message_set_req (JsonObject * msg, guint32 req)
{
  json_object_set_int_member (msg, "req", req);
}

void
wzp_message_set_re (JsonObject * msg, guint32 re)
{
  json_object_set_int_member (msg, "re", re);
}

void
wzp_message_set_bytes (JsonObject * msg, const char *field,
    const guint8 * data, gsize len)
{
  g_autofree char *b64 = g_base64_encode (data, len);

  json_object_set_string_member (msg, field, b64);
}

static void
set_opaque (JsonObject * msg, const char *field, JsonObject * value)
{
  if (value)
    json_object_set_object_member (msg, field, json_object_ref (value));
  else
    json_object_set_null_member (msg, field);
}

/**
 * wzp_message_to_bytes:
 *
 * Returns: (transfer full): the message as compact JSON text
 */
GBytes *
wzp_message_to_bytes (JsonObject * msg)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  char *text;

  json_node_set_object (node, msg);
  text = json_to_string (node, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

/**
 * wzp_register_signed_data:
 *
 * Returns: (transfer full): "wzp-register-v1\0" || challenge || public_key
 */
GBytes *
wzp_register_signed_data (const guint8 challenge[WZP_CHALLENGE_LEN],
    const guint8 public_key[WZP_PUBLIC_KEY_LEN])
{
  GByteArray *a = g_byte_array_new ();

  g_byte_array_append (a, (const guint8 *) WZP_REGISTER_CONTEXT,
      sizeof WZP_REGISTER_CONTEXT);
  g_byte_array_append (a, challenge, WZP_CHALLENGE_LEN);
  g_byte_array_append (a, public_key, WZP_PUBLIC_KEY_LEN);
  return g_byte_array_free_to_bytes (a);
}

JsonObject *
wzp_message_new_hello (const char *relay_fp,
    const guint8 challenge[WZP_CHALLENGE_LEN], const char *observed_addr,
    const char *probe_addr)
{
  JsonObject *m = wzp_message_new (WZP_MSG_HELLO);

  json_object_set_string_member (m, "relay_fp", relay_fp);
  wzp_message_set_bytes (m, "challenge", challenge, WZP_CHALLENGE_LEN);
  json_object_set_string_member (m, "observed_addr", observed_addr);
  if (probe_addr)
    json_object_set_string_member (m, "probe_addr", probe_addr);
  else
    json_object_set_null_member (m, "probe_addr");
  return m;
}

JsonObject *
wzp_message_new_register (WzpIdentity * identity,
    const guint8 challenge[WZP_CHALLENGE_LEN])
{
  JsonObject *m = wzp_message_new (WZP_MSG_REGISTER);
  guint8 pk[WZP_PUBLIC_KEY_LEN], sig[WZP_SIGNATURE_LEN];
  g_autoptr (GBytes) data = NULL;

  wzp_identity_get_public_key (identity, pk);
  data = wzp_register_signed_data (challenge, pk);
  wzp_identity_sign (identity, g_bytes_get_data (data, NULL),
      g_bytes_get_size (data), sig);
  wzp_message_set_bytes (m, "public_key", pk, sizeof pk);
  wzp_message_set_bytes (m, "signature", sig, sizeof sig);
  return m;
}

/**
 * wzp_register_bound_signed_data:
 *
 * Returns: (transfer full): "wzp-register-v2\0" || binding || public_key
 */
GBytes *
wzp_register_bound_signed_data (const guint8 binding[WZP_REGISTER_BINDING_LEN],
    const guint8 public_key[WZP_PUBLIC_KEY_LEN])
{
  GByteArray *a = g_byte_array_new ();

  g_byte_array_append (a, (const guint8 *) WZP_REGISTER_CONTEXT_V2,
      sizeof WZP_REGISTER_CONTEXT_V2);
  g_byte_array_append (a, binding, WZP_REGISTER_BINDING_LEN);
  g_byte_array_append (a, public_key, WZP_PUBLIC_KEY_LEN);
  return g_byte_array_free_to_bytes (a);
}

/* A registration bound to the connection's TLS exporter value rather than
 * to a challenge: it can leave with the client's first flight. */
JsonObject *
wzp_message_new_register_bound (WzpIdentity * identity,
    const guint8 binding[WZP_REGISTER_BINDING_LEN])
{
  JsonObject *m = wzp_message_new (WZP_MSG_REGISTER);
  guint8 pk[WZP_PUBLIC_KEY_LEN], sig[WZP_SIGNATURE_LEN];
  g_autoptr (GBytes) data = NULL;

  wzp_identity_get_public_key (identity, pk);
  data = wzp_register_bound_signed_data (binding, pk);
  wzp_identity_sign (identity, g_bytes_get_data (data, NULL),
      g_bytes_get_size (data), sig);
  wzp_message_set_bytes (m, "public_key", pk, sizeof pk);
  wzp_message_set_bytes (m, "signature", sig, sizeof sig);
  json_object_set_string_member (m, "binding", WZP_REGISTER_BINDING_EXPORTER);
  return m;
}

JsonObject *
wzp_message_new_registered (const char *fingerprint, const char *observed_addr)
{
  JsonObject *m = wzp_message_new (WZP_MSG_REGISTERED);

  json_object_set_string_member (m, "fingerprint", fingerprint);
  json_object_set_string_member (m, "observed_addr", observed_addr);
  return m;
}

/**
 * wzp_message_new_error:
 * @re: the request id this answers, or -1
 */
JsonObject *
wzp_message_new_error (const char *code, const char *message, gint64 re)
{
  JsonObject *m = wzp_message_new (WZP_MSG_ERROR);

  json_object_set_string_member (m, "code", code);
  json_object_set_string_member (m, "message", message ? message : code);
  if (re >= 0 && re <= G_MAXUINT32)
    wzp_message_set_re (m, (guint32) re);
  return m;
}

JsonObject *
wzp_message_new_reflect (void)
{
  return wzp_message_new (WZP_MSG_REFLECT);
}

JsonObject *
wzp_message_new_reflected (const char *observed_addr)
{
  JsonObject *m = wzp_message_new (WZP_MSG_REFLECTED);

  json_object_set_string_member (m, "observed_addr", observed_addr);
  return m;
}

JsonObject *
wzp_message_new_probe_request (const guint8 token[WZP_PROBE_TOKEN_LEN])
{
  JsonObject *m = wzp_message_new (WZP_MSG_PROBE_REQUEST);

  wzp_message_set_bytes (m, "token", token, WZP_PROBE_TOKEN_LEN);
  return m;
}

JsonObject *
wzp_message_new_probe_result (const guint8 token[WZP_PROBE_TOKEN_LEN],
    const char *observed_addr)
{
  JsonObject *m = wzp_message_new (WZP_MSG_PROBE_RESULT);

  wzp_message_set_bytes (m, "token", token, WZP_PROBE_TOKEN_LEN);
  json_object_set_string_member (m, "observed_addr", observed_addr);
  return m;
}

JsonObject *
wzp_message_new_call (const char *to, const char *call_id, JsonObject * offer)
{
  JsonObject *m = wzp_message_new (WZP_MSG_CALL);

  json_object_set_string_member (m, "to", to);
  json_object_set_string_member (m, "call_id", call_id);
  set_opaque (m, "offer", offer);
  return m;
}

static JsonObject *
call_id_message (WzpMessageType type, const char *call_id)
{
  JsonObject *m = wzp_message_new (type);

  json_object_set_string_member (m, "call_id", call_id);
  return m;
}

JsonObject *
wzp_message_new_call_ringing (const char *call_id)
{
  return call_id_message (WZP_MSG_CALL_RINGING, call_id);
}

JsonObject *
wzp_message_new_incoming_call (const char *call_id, const char *from,
    const guint8 from_public_key[WZP_PUBLIC_KEY_LEN], JsonObject * offer)
{
  JsonObject *m = call_id_message (WZP_MSG_INCOMING_CALL, call_id);

  json_object_set_string_member (m, "from", from);
  wzp_message_set_bytes (m, "from_public_key", from_public_key,
      WZP_PUBLIC_KEY_LEN);
  set_opaque (m, "offer", offer);
  return m;
}

JsonObject *
wzp_message_new_answer (const char *call_id, JsonObject * answer)
{
  JsonObject *m = call_id_message (WZP_MSG_ANSWER, call_id);

  set_opaque (m, "answer", answer);
  return m;
}

JsonObject *
wzp_message_new_reject (const char *call_id)
{
  return call_id_message (WZP_MSG_REJECT, call_id);
}

JsonObject *
wzp_message_new_hangup (const char *call_id)
{
  return call_id_message (WZP_MSG_HANGUP, call_id);
}

static void
set_address_list (JsonObject * m, const char *field,
    const char *const *candidates)
{
  JsonArray *a = json_array_new ();

  for (guint i = 0; candidates && candidates[i]; i++)
    json_array_add_string_element (a, candidates[i]);
  json_object_set_array_member (m, field, a);
}

/* Our candidates changed mid-call (PROTOCOL.md §5): our host candidates
 * and NAT type; the relay adds the address it sees. */
JsonObject *
wzp_message_new_update_candidates (const char *call_id,
    const char *const *candidates, const char *nat)
{
  JsonObject *m = call_id_message (WZP_MSG_UPDATE_CANDIDATES, call_id);

  set_address_list (m, "candidates", candidates);
  json_object_set_string_member (m, "nat", nat);
  return m;
}

JsonObject *
wzp_message_new_peer_candidates (const char *call_id,
    const char *const *candidates, const char *peer_reflexive,
    const char *peer_nat)
{
  JsonObject *m = call_id_message (WZP_MSG_PEER_CANDIDATES, call_id);

  set_address_list (m, "candidates", candidates);
  if (peer_reflexive)
    json_object_set_string_member (m, "peer_reflexive", peer_reflexive);
  else
    json_object_set_null_member (m, "peer_reflexive");
  json_object_set_string_member (m, "peer_nat", peer_nat);
  return m;
}

JsonObject *
wzp_message_new_call_setup (const char *call_id, const char *peer,
    const guint8 peer_public_key[WZP_PUBLIC_KEY_LEN],
    JsonObject * peer_offer_or_answer, const char *peer_reflexive,
    guint32 channel, const char *role)
{
  JsonObject *m = call_id_message (WZP_MSG_CALL_SETUP, call_id);

  json_object_set_string_member (m, "peer", peer);
  wzp_message_set_bytes (m, "peer_public_key", peer_public_key,
      WZP_PUBLIC_KEY_LEN);
  set_opaque (m, "peer_offer_or_answer", peer_offer_or_answer);
  if (peer_reflexive)
    json_object_set_string_member (m, "peer_reflexive", peer_reflexive);
  else
    json_object_set_null_member (m, "peer_reflexive");
  json_object_set_int_member (m, "channel", channel);
  json_object_set_string_member (m, "role", role);
  return m;
}

JsonObject *
wzp_message_new_call_ended (const char *call_id, const char *reason)
{
  JsonObject *m = call_id_message (WZP_MSG_CALL_ENDED, call_id);

  json_object_set_string_member (m, "reason", reason);
  return m;
}

JsonObject *
wzp_message_new_join_room (const char *room, JsonObject * key_blob)
{
  JsonObject *m = wzp_message_new (WZP_MSG_JOIN_ROOM);

  json_object_set_string_member (m, "room", room);
  if (key_blob)
    set_opaque (m, "key_blob", key_blob);
  return m;
}

JsonObject *
wzp_message_new_leave_room (const char *room)
{
  JsonObject *m = wzp_message_new (WZP_MSG_LEAVE_ROOM);

  json_object_set_string_member (m, "room", room);
  return m;
}

/**
 * wzp_room_member_new:
 *
 * Returns: (transfer full): {fingerprint, public_key, key_blob}
 */
JsonObject *
wzp_room_member_new (const char *fingerprint,
    const guint8 public_key[WZP_PUBLIC_KEY_LEN], JsonObject * key_blob)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "fingerprint", fingerprint);
  wzp_message_set_bytes (o, "public_key", public_key, WZP_PUBLIC_KEY_LEN);
  set_opaque (o, "key_blob", key_blob);
  return o;
}

JsonObject *
wzp_message_new_room_joined (const char *room, guint32 channel,
    JsonArray * members)
{
  JsonObject *m = wzp_message_new (WZP_MSG_ROOM_JOINED);

  json_object_set_string_member (m, "room", room);
  json_object_set_int_member (m, "channel", channel);
  json_object_set_array_member (m, "members", json_array_ref (members));
  return m;
}

JsonObject *
wzp_message_new_room_left (const char *room)
{
  JsonObject *m = wzp_message_new (WZP_MSG_ROOM_LEFT);

  json_object_set_string_member (m, "room", room);
  return m;
}

/**
 * wzp_message_new_room_update:
 * @event: "joined" or "left"
 * @public_key: (nullable): the member's key ("joined" only)
 */
JsonObject *
wzp_message_new_room_update (const char *room, const char *event,
    const char *fingerprint, const guint8 public_key[WZP_PUBLIC_KEY_LEN],
    JsonObject * key_blob)
{
  JsonObject *m = wzp_message_new (WZP_MSG_ROOM_UPDATE);

  json_object_set_string_member (m, "room", room);
  json_object_set_string_member (m, "event", event);
  json_object_set_string_member (m, "fingerprint", fingerprint);
  if (public_key)
    wzp_message_set_bytes (m, "public_key", public_key, WZP_PUBLIC_KEY_LEN);
  set_opaque (m, "key_blob", key_blob);
  return m;
}

/**
 * wzp_message_new_room_message:
 * @to: (nullable): one member, or %NULL for all
 * @from: (nullable): set by the relay when it forwards
 */
JsonObject *
wzp_message_new_room_message (const char *room, const char *to,
    const char *from, JsonObject * body)
{
  JsonObject *m = wzp_message_new (WZP_MSG_ROOM_MESSAGE);

  json_object_set_string_member (m, "room", room);
  if (to)
    json_object_set_string_member (m, "to", to);
  else
    json_object_set_null_member (m, "to");
  if (from)
    json_object_set_string_member (m, "from", from);
  set_opaque (m, "body", body);
  return m;
}

/**
 * wzp_message_new_leg:
 *
 * A media leg's first message: this connection carries the media of our
 * calls and rooms hosted at this relay node, and is not our registration
 * (docs/CLUSTER.md).
 */
JsonObject *
wzp_message_new_leg (void)
{
  return wzp_message_new (WZP_MSG_LEG);
}

/**
 * wzp_message_new_move:
 * @relays: (transfer full): [{"addr", "fingerprint"}] of other relay nodes
 *
 * The relay drains: register at another node (the connection closes with
 * 0x103 right after).
 */
JsonObject *
wzp_message_new_move (JsonArray * relays)
{
  JsonObject *m = wzp_message_new (WZP_MSG_MOVE);

  json_object_set_array_member (m, "relays", relays ? relays :
      json_array_new ());
  return m;
}
