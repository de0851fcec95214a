/* wzp — what relay nodes say to each other: the bus envelope and the
 * node record, as JSON, strictly parsed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-envelope.h"
#include "wzp-address.h"
#include "wzp-message.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *kind_names[RELAY_ENVELOPE_N_KINDS] = {
  [RELAY_ENVELOPE_CLIENT] = "client",
  [RELAY_ENVELOPE_DELIVER] = "deliver",
  [RELAY_ENVELOPE_GONE] = "gone",
  [RELAY_ENVELOPE_SUPERSEDE] = "supersede",
  [RELAY_ENVELOPE_NAT] = "nat",
  [RELAY_ENVELOPE_CHECK] = "check",
  [RELAY_ENVELOPE_CHECK_REPLY] = "check-reply",
  [RELAY_ENVELOPE_PING] = "ping",
};

const char *
relay_envelope_kind_to_string (RelayEnvelopeKind kind)
{
  return kind < RELAY_ENVELOPE_N_KINDS ? kind_names[kind] : "?";
}

gboolean
relay_node_id_is_valid (const char *id)
{
  if (id == NULL || strlen (id) != RELAY_NODE_ID_LEN)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

RelayEnvelope *
relay_envelope_new (RelayEnvelopeKind kind, const char *from)
{
  RelayEnvelope *env = g_new0 (RelayEnvelope, 1);

  env->kind = kind;
  env->from = g_strdup (from);
  env->nat = "unknown";
  return env;
}

void
relay_envelope_free (RelayEnvelope * env)
{
  if (env == NULL)
    return;
  g_free (env->from);
  g_free (env->fp);
  g_free (env->observed);
  g_clear_pointer (&env->raw, g_bytes_unref);
  g_clear_pointer (&env->ids, g_ptr_array_unref);
  g_free (env);
}

/* --- strict field readers --------------------------------------------- */

#define FAIL(...) G_STMT_START {                                          \
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, __VA_ARGS__);\
    return FALSE;                                                        \
  } G_STMT_END

static gboolean
get_string (JsonObject * o, const char *what, const char *field,
    gboolean required, gsize max_len, const char **out, GError ** error)
{
  JsonNode *n = json_object_get_member (o, field);

  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n)) {
    if (required)
      FAIL ("%s: field '%s' missing", what, field);
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING)
    FAIL ("%s: field '%s' is not a string", what, field);
  *out = json_node_get_string (n);
  if (strlen (*out) > max_len)
    FAIL ("%s: field '%s' is longer than %" G_GSIZE_FORMAT " bytes", what,
        field, max_len);
  return TRUE;
}

static gboolean
get_uint (JsonObject * o, const char *what, const char *field,
    gboolean required, guint64 max, guint64 * out, GError ** error)
{
  JsonNode *n = json_object_get_member (o, field);

  *out = 0;
  if (n == NULL) {
    if (required)
      FAIL ("%s: field '%s' missing", what, field);
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_INT64 ||
      json_node_get_int (n) < 0 || (guint64) json_node_get_int (n) > max)
    FAIL ("%s: field '%s' is not a whole number from 0 to %" G_GUINT64_FORMAT,
        what, field, max);
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_fingerprint (JsonObject * o, const char *what, const char *field,
    char **out, GError ** error)
{
  const char *s;
  g_autofree char *canonical = NULL;

  if (!get_string (o, what, field, TRUE, 64, &s, error))
    return FALSE;
  canonical = wzp_fingerprint_normalize (s, NULL);
  if (canonical == NULL || strcmp (canonical, s) != 0)
    FAIL ("%s: field '%s' is not a fingerprint", what, field);
  *out = g_steal_pointer (&canonical);
  return TRUE;
}

static gboolean
get_address (JsonObject * o, const char *what, const char *field,
    gboolean required, char **out, GError ** error)
{
  const char *s;
  WzpAddr a;

  *out = NULL;
  if (!get_string (o, what, field, required, WZP_ADDR_STRLEN, &s, error))
    return FALSE;
  if (s == NULL)
    return TRUE;
  if (!wzp_addr_parse (&a, s, NULL))
    FAIL ("%s: field '%s' is not an address (ip:port)", what, field);
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
get_node_id (JsonObject * o, const char *what, const char *field,
    char **out, GError ** error)
{
  const char *s;

  if (!get_string (o, what, field, TRUE, RELAY_NODE_ID_LEN, &s, error))
    return FALSE;
  if (!relay_node_id_is_valid (s))
    FAIL ("%s: field '%s' is not a node id (%d hex digits)", what, field,
        RELAY_NODE_ID_LEN);
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
get_nat (JsonObject * o, const char *what, const char **out, GError ** error)
{
  static const char *const nats[] = { "eim", "edm", "unknown" };
  const char *s;

  if (!get_string (o, what, "nat", TRUE, 16, &s, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (nats); i++)
    if (strcmp (s, nats[i]) == 0) {
      *out = nats[i];
      return TRUE;
    }
  FAIL ("%s: field 'nat' is not eim, edm or unknown", what);
}

static gboolean
get_key (JsonObject * o, const char *what, guint8 key[WZP_PUBLIC_KEY_LEN],
    GError ** error)
{
  const char *s;
  g_autofree guint8 *bytes = NULL;
  g_autofree char *again = NULL;
  gsize len = 0;

  if (!get_string (o, what, "key", TRUE, 64, &s, error))
    return FALSE;
  bytes = g_base64_decode (s, &len);
  again = bytes && len == WZP_PUBLIC_KEY_LEN ?
      g_base64_encode (bytes, len) : NULL;
  if (again == NULL || strcmp (again, s) != 0)
    FAIL ("%s: field 'key' is not %d bytes in canonical base64", what,
        WZP_PUBLIC_KEY_LEN);
  memcpy (key, bytes, WZP_PUBLIC_KEY_LEN);
  return TRUE;
}

static gboolean
get_ids (JsonObject * o, const char *what, GPtrArray ** out, GError ** error)
{
  JsonNode *n = json_object_get_member (o, "ids");
  JsonArray *a;

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    FAIL ("%s: field 'ids' missing or not an array", what);
  a = json_node_get_array (n);
  if (json_array_get_length (a) > RELAY_ENVELOPE_MAX_IDS)
    FAIL ("%s: more than %d ids", what, RELAY_ENVELOPE_MAX_IDS);
  *out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *e = json_array_get_element (a, i);
    const char *id;

    if (!JSON_NODE_HOLDS_VALUE (e) ||
        json_node_get_value_type (e) != G_TYPE_STRING ||
        !wzp_call_id_is_valid (id = json_node_get_string (e))) {
      g_clear_pointer (out, g_ptr_array_unref);
      FAIL ("%s: 'ids' holds something that is not a call id", what);
    }
    g_ptr_array_add (*out, g_strdup (id));
  }
  return TRUE;
}

static JsonObject *
parse_object (const char *data, gsize len, const char *what, GError ** error)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonNode *root;

  if (len > RELAY_ENVELOPE_MAX_SIZE) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "%s of %" G_GSIZE_FORMAT " bytes is larger than %d", what, len,
        RELAY_ENVELOPE_MAX_SIZE);
    return NULL;
  }
  if (!g_utf8_validate_len (data, len, NULL) || memchr (data, '\0', len)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "%s is not UTF-8 text", what);
    return NULL;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "%s is not a JSON object", what);
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}

/* --- the envelope ----------------------------------------------------- */

RelayEnvelope *
relay_envelope_parse (const char *data, gsize len, GError ** error)
{
  g_autoptr (JsonObject) o = parse_object (data, len, "envelope", error);
  g_autoptr (RelayEnvelope) env = NULL;
  const char *kind, *raw;
  guint64 v;

  if (o == NULL)
    return NULL;
  if (!get_uint (o, "envelope", "v", TRUE, G_MAXUINT32, &v, error))
    return NULL;
  if (v != 1) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "envelope: version %" G_GUINT64_FORMAT " is not 1", v);
    return NULL;
  }
  if (!get_string (o, "envelope", "kind", TRUE, 32, &kind, error))
    return NULL;
  env = g_new0 (RelayEnvelope, 1);
  env->kind = RELAY_ENVELOPE_N_KINDS;
  for (guint i = 0; i < RELAY_ENVELOPE_N_KINDS; i++)
    if (strcmp (kind, kind_names[i]) == 0)
      env->kind = i;
  if (env->kind == RELAY_ENVELOPE_N_KINDS) {
    g_autofree char *shown = g_strndup (kind, 32);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "envelope: unknown kind '%s'", shown);
    return NULL;
  }
  kind = kind_names[env->kind];
  env->nat = "unknown";
  if (!get_node_id (o, kind, "from", &env->from, error))
    return NULL;
  switch (env->kind) {
    case RELAY_ENVELOPE_CLIENT:
      if (!get_fingerprint (o, kind, "fp", &env->fp, error) ||
          !get_key (o, kind, env->public_key, error) ||
          !get_address (o, kind, "observed", TRUE, &env->observed, error) ||
          !get_nat (o, kind, &env->nat, error) ||
          !get_uint (o, kind, "rtt_us", TRUE, 60 * G_USEC_PER_SEC,
              &env->rtt_us, error))
        return NULL;
      break;
    case RELAY_ENVELOPE_DELIVER:
      if (!get_fingerprint (o, kind, "to", &env->fp, error) ||
          !get_uint (o, kind, "hops", FALSE, 1, &v, error))
        return NULL;
      env->hops = v;
      break;
    case RELAY_ENVELOPE_GONE:
    case RELAY_ENVELOPE_SUPERSEDE:
      if (!get_fingerprint (o, kind, "fp", &env->fp, error))
        return NULL;
      break;
    case RELAY_ENVELOPE_NAT:
      if (!get_fingerprint (o, kind, "fp", &env->fp, error) ||
          !get_nat (o, kind, &env->nat, error))
        return NULL;
      break;
    case RELAY_ENVELOPE_CHECK:
    case RELAY_ENVELOPE_CHECK_REPLY:
      if (!get_ids (o, kind, &env->ids, error))
        return NULL;
      break;
    case RELAY_ENVELOPE_PING:
      if (!get_uint (o, kind, "sent_us", TRUE, G_MAXINT64, &env->sent_us,
              error))
        return NULL;
      break;
    default:
      g_assert_not_reached ();
  }
  if (env->kind == RELAY_ENVELOPE_CLIENT || env->kind == RELAY_ENVELOPE_DELIVER) {
    /* Checked where it is used, as a client's message is. */
    if (!get_string (o, kind, "raw", TRUE, WZP_MESSAGE_MAX_SIZE, &raw, error))
      return NULL;
    env->raw = g_bytes_new (raw, strlen (raw));
  }
  return g_steal_pointer (&env);
}

char *
relay_envelope_to_json (const RelayEnvelope * env, gsize * len)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind_names[env->kind]);
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, env->from);
  if (env->fp) {
    json_builder_set_member_name (b, env->kind == RELAY_ENVELOPE_DELIVER ?
        "to" : "fp");
    json_builder_add_string_value (b, env->fp);
  }
  if (env->kind == RELAY_ENVELOPE_CLIENT) {
    g_autofree char *key = g_base64_encode (env->public_key,
        WZP_PUBLIC_KEY_LEN);
    json_builder_set_member_name (b, "key");
    json_builder_add_string_value (b, key);
    json_builder_set_member_name (b, "observed");
    json_builder_add_string_value (b, env->observed);
    json_builder_set_member_name (b, "rtt_us");
    json_builder_add_int_value (b, env->rtt_us);
  }
  if (env->kind == RELAY_ENVELOPE_CLIENT || env->kind == RELAY_ENVELOPE_NAT) {
    json_builder_set_member_name (b, "nat");
    json_builder_add_string_value (b, env->nat);
  }
  if (env->kind == RELAY_ENVELOPE_DELIVER) {
    json_builder_set_member_name (b, "hops");
    json_builder_add_int_value (b, env->hops);
  }
  if (env->raw) {
    g_autofree char *text = g_strndup (g_bytes_get_data (env->raw, NULL),
        g_bytes_get_size (env->raw));
    json_builder_set_member_name (b, "raw");
    json_builder_add_string_value (b, text);
  }
  if (env->kind == RELAY_ENVELOPE_PING) {
    json_builder_set_member_name (b, "sent_us");
    json_builder_add_int_value (b, env->sent_us);
  }
  if (env->ids) {
    json_builder_set_member_name (b, "ids");
    json_builder_begin_array (b);
    for (guint i = 0; i < env->ids->len; i++)
      json_builder_add_string_value (b, g_ptr_array_index (env->ids, i));
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, len);
}

/* --- the node record -------------------------------------------------- */

RelayNode *
relay_node_copy (const RelayNode * n)
{
  RelayNode *c = g_new0 (RelayNode, 1);

  *c = *n;
  c->id = g_strdup (n->id);
  c->addr = g_strdup (n->addr);
  c->probe = g_strdup (n->probe);
  c->fingerprint = g_strdup (n->fingerprint);
  return c;
}

void
relay_node_free (RelayNode * n)
{
  if (n == NULL)
    return;
  g_free (n->id);
  g_free (n->addr);
  g_free (n->probe);
  g_free (n->fingerprint);
  g_free (n);
}

char *
relay_node_to_json (const RelayNode * n)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "v");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, n->id);
  json_builder_set_member_name (b, "addr");
  json_builder_add_string_value (b, n->addr);
  json_builder_set_member_name (b, "probe");
  if (n->probe)
    json_builder_add_string_value (b, n->probe);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "fp");
  json_builder_add_string_value (b, n->fingerprint);
  json_builder_set_member_name (b, "registrations");
  json_builder_add_int_value (b, n->registrations);
  json_builder_set_member_name (b, "calls");
  json_builder_add_int_value (b, n->calls);
  json_builder_set_member_name (b, "rooms");
  json_builder_add_int_value (b, n->rooms);
  json_builder_set_member_name (b, "connections");
  json_builder_add_int_value (b, n->connections);
  json_builder_set_member_name (b, "draining");
  json_builder_add_boolean_value (b, n->draining);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

RelayNode *
relay_node_from_json (const char *json, gsize len, GError ** error)
{
  g_autoptr (JsonObject) o = parse_object (json, len, "node record", error);
  g_autoptr (RelayNode) n = NULL;
  JsonNode *d;
  guint64 v;

  if (o == NULL)
    return NULL;
  n = g_new0 (RelayNode, 1);
  if (!get_uint (o, "node", "v", TRUE, G_MAXUINT32, &v, error) ||
      !get_node_id (o, "node", "id", &n->id, error) ||
      !get_address (o, "node", "addr", TRUE, &n->addr, error) ||
      !get_address (o, "node", "probe", FALSE, &n->probe, error) ||
      !get_fingerprint (o, "node", "fp", &n->fingerprint, error) ||
      !get_uint (o, "node", "registrations", TRUE, G_MAXUINT32,
          &n->registrations, error) ||
      !get_uint (o, "node", "calls", TRUE, G_MAXUINT32, &n->calls, error) ||
      !get_uint (o, "node", "rooms", TRUE, G_MAXUINT32, &n->rooms, error) ||
      !get_uint (o, "node", "connections", TRUE, G_MAXUINT32,
          &n->connections, error))
    return NULL;
  if (v != 1) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "node: version %" G_GUINT64_FORMAT " is not 1", v);
    return NULL;
  }
  d = json_object_get_member (o, "draining");
  if (d == NULL || !JSON_NODE_HOLDS_VALUE (d) ||
      json_node_get_value_type (d) != G_TYPE_BOOLEAN) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "node: field 'draining' is not a boolean");
    return NULL;
  }
  n->draining = json_node_get_boolean (d);
  return g_steal_pointer (&n);
}
