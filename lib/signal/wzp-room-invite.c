/* wzp-room-invite.c — room ids and owner-signed invitations
 *
 * See wzp-room-invite.h and docs/PROTOCOL.md ("Rooms: owners,
 * invitations and sender keys").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-room-invite.h"

#include <string.h>

G_DEFINE_QUARK (wzp - room - invite - error - quark, wzp_room_invite_error);

static gboolean
malformed (GError ** error, const char *format, ...)
G_GNUC_PRINTF (2, 3);

/* Sets a MALFORMED error; returns FALSE. */
     static gboolean malformed (GError ** error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_propagate_error (error, g_error_new_valist (WZP_ROOM_INVITE_ERROR,
          WZP_ROOM_INVITE_ERROR_MALFORMED, format, ap));
  va_end (ap);
  return FALSE;
}

/* --- room ids --------------------------------------------------------- */

gboolean
wzp_room_name_is_valid (const char *name)
{
  gsize len;

  if (name == NULL || (len = strlen (name)) == 0 ||
      len > WZP_ROOM_NAME_MAX_LEN || !g_utf8_validate (name, len, NULL))
    return FALSE;
  for (const char *p = name; *p; p++) {
    if ((guchar) * p < 0x20 || *p == 0x7f || *p == '/')
      return FALSE;
  }
  return TRUE;
}

static gboolean
fingerprint_is_canonical (const char *fp)
{
  g_autofree char *canonical = wzp_fingerprint_normalize (fp, NULL);

  return canonical && strcmp (canonical, fp) == 0;
}

char *
wzp_room_id_new (const char *owner_fp, const char *name, GError ** error)
{
  if (!wzp_room_name_is_valid (name)) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_BAD_ROOM,
        "\"%s\" is not a room name (1 to %d bytes of UTF-8, no control "
        "characters, no '/')", name ? name : "", WZP_ROOM_NAME_MAX_LEN);
    return NULL;
  }
  if (owner_fp == NULL)
    return g_strdup (name);
  if (!fingerprint_is_canonical (owner_fp)) {
    g_autofree char *canonical = wzp_fingerprint_normalize (owner_fp, error);
    if (canonical == NULL)
      return NULL;
    return g_strconcat (canonical, "/", name, NULL);
  }
  return g_strconcat (owner_fp, "/", name, NULL);
}

gboolean
wzp_room_id_parse (const char *room_id, char **owner_fp, char **name,
    GError ** error)
{
  const char *slash = room_id ? strchr (room_id, '/') : NULL;
  g_autofree char *owner = NULL;

  *owner_fp = NULL;
  *name = NULL;
  if (room_id == NULL || strlen (room_id) > WZP_ROOM_ID_MAX_LEN)
    goto bad;
  if (slash) {
    owner = g_strndup (room_id, slash - room_id);
    if (!fingerprint_is_canonical (owner) || !wzp_room_name_is_valid (slash +
            1))
      goto bad;
    *name = g_strdup (slash + 1);
    *owner_fp = g_steal_pointer (&owner);
    return TRUE;
  }
  if (!wzp_room_name_is_valid (room_id))
    goto bad;
  *name = g_strdup (room_id);
  return TRUE;

bad:
  g_set_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_BAD_ROOM,
      "\"%s\" is not a room id (NAME, or OWNER-FINGERPRINT/NAME; a name is "
      "1 to %d bytes without control characters or '/')",
      room_id ? room_id : "", WZP_ROOM_NAME_MAX_LEN);
  return FALSE;
}

/* --- signing ---------------------------------------------------------- */

static GBytes *
signed_bytes (const guint8 * owner_key, const char *room, const char *member,
    gint64 expires)
{
  GByteArray *b = g_byte_array_new ();
  static const char tag[] = WZP_ROOM_INVITE_CONTEXT;
  guint8 len = (guint8) strlen (room);
  guint64 be = GUINT64_TO_BE ((guint64) expires);

  g_byte_array_append (b, (const guint8 *) tag, sizeof tag);
  g_byte_array_append (b, owner_key, WZP_PUBLIC_KEY_LEN);
  g_byte_array_append (b, &len, 1);
  g_byte_array_append (b, (const guint8 *) room, len);
  g_byte_array_append (b, (const guint8 *) member, WZP_FINGERPRINT_LEN);
  g_byte_array_append (b, (const guint8 *) &be, sizeof be);
  return g_byte_array_free_to_bytes (b);
}

WzpRoomInvite *
wzp_room_invite_new (WzpIdentity * owner, const char *room_name,
    const char *member_fp, gint64 expires, GError ** error)
{
  g_autoptr (WzpRoomInvite) inv = NULL;
  g_autoptr (GBytes) msg = NULL;
  g_autofree char *member = NULL;
  gsize len;
  const guint8 *data;

  g_return_val_if_fail (WZP_IS_IDENTITY (owner), NULL);
  if (!wzp_room_name_is_valid (room_name)) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_BAD_ROOM,
        "\"%s\" is not a room name", room_name ? room_name : "");
    return NULL;
  }
  if ((member = wzp_fingerprint_normalize (member_fp, error)) == NULL)
    return NULL;
  if (expires <= 0) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_EXPIRED,
        "an invitation needs an expiry time");
    return NULL;
  }
  inv = g_new0 (WzpRoomInvite, 1);
  inv->room = g_strdup (room_name);
  wzp_identity_get_public_key (owner, inv->owner_key);
  inv->owner = g_strdup (wzp_identity_get_fingerprint (owner));
  inv->member = g_steal_pointer (&member);
  inv->expires = expires;
  msg = signed_bytes (inv->owner_key, inv->room, inv->member, expires);
  data = g_bytes_get_data (msg, &len);
  wzp_identity_sign (owner, data, len, inv->sig);
  return g_steal_pointer (&inv);
}

WzpRoomInvite *
wzp_room_invite_copy (const WzpRoomInvite * invite)
{
  WzpRoomInvite *c;

  if (invite == NULL)
    return NULL;
  c = g_memdup2 (invite, sizeof *invite);
  c->room = g_strdup (invite->room);
  c->owner = g_strdup (invite->owner);
  c->member = g_strdup (invite->member);
  return c;
}

void
wzp_room_invite_free (WzpRoomInvite * invite)
{
  if (invite == NULL)
    return;
  g_free (invite->room);
  g_free (invite->owner);
  g_free (invite->member);
  g_free (invite);
}

/* --- JSON ------------------------------------------------------------- */

static const char *
get_string (JsonObject * o, const char *field, GError ** error)
{
  JsonNode *n = json_object_get_member (o, field);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_STRING) {
    malformed (error, "invitation: field '%s' missing or not a string", field);
    return NULL;
  }
  return json_node_get_string (n);
}

/* Canonical base64 of exactly @len bytes. */
static gboolean
get_b64 (JsonObject * o, const char *field, guint8 * out, gsize len,
    GError ** error)
{
  const char *s = get_string (o, field, error);
  g_autofree guchar *raw = NULL;
  g_autofree char *again = NULL;
  gsize n = 0;

  if (s == NULL)
    return FALSE;
  if (strlen (s) != (len + 2) / 3 * 4)
    return malformed (error, "invitation: field '%s' is not %" G_GSIZE_FORMAT
        " bytes of base64", field, len);
  for (const char *p = s; *p; p++) {
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
      return malformed (error, "invitation: field '%s' is not base64", field);
  }
  raw = g_base64_decode (s, &n);
  again = n == len ? g_base64_encode (raw, n) : NULL;
  if (again == NULL || strcmp (again, s) != 0)
    return malformed (error, "invitation: field '%s' is not %" G_GSIZE_FORMAT
        " bytes of canonical base64", field, len);
  memcpy (out, raw, len);
  return TRUE;
}

WzpRoomInvite *
wzp_room_invite_from_json (JsonObject * o, GError ** error)
{
  g_autoptr (WzpRoomInvite) inv = g_new0 (WzpRoomInvite, 1);
  g_autoptr (GBytes) msg = NULL;
  g_autoptr (GError) local = NULL;
  const char *room, *member;
  JsonNode *expires;
  const guint8 *data;
  gsize len;

  if (o == NULL) {
    malformed (error, "invitation: not a JSON object");
    return NULL;
  }
  if ((room = get_string (o, "room", error)) == NULL ||
      (member = get_string (o, "member", error)) == NULL ||
      !get_b64 (o, "owner_key", inv->owner_key, WZP_PUBLIC_KEY_LEN, error) ||
      !get_b64 (o, "sig", inv->sig, WZP_SIGNATURE_LEN, error))
    return NULL;
  if (!wzp_room_name_is_valid (room)) {
    malformed (error, "invitation: field 'room' is not a room name");
    return NULL;
  }
  if (!fingerprint_is_canonical (member)) {
    malformed (error, "invitation: field 'member' is not a fingerprint");
    return NULL;
  }
  expires = json_object_get_member (o, "expires");
  if (expires == NULL || !JSON_NODE_HOLDS_VALUE (expires) ||
      json_node_get_value_type (expires) != G_TYPE_INT64 ||
      json_node_get_int (expires) <= 0) {
    malformed (error, "invitation: field 'expires' missing or not a "
        "positive integer");
    return NULL;
  }
  inv->room = g_strdup (room);
  inv->member = g_strdup (member);
  inv->expires = json_node_get_int (expires);
  inv->owner = wzp_fingerprint_from_public_key (inv->owner_key);
  msg = signed_bytes (inv->owner_key, inv->room, inv->member, inv->expires);
  data = g_bytes_get_data (msg, &len);
  if (!wzp_identity_verify (inv->owner_key, data, len, inv->sig,
          WZP_SIGNATURE_LEN, &local)) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_BAD_SIGNATURE, "invitation to %s for %s: the "
        "owner's signature does not verify", inv->room, inv->member);
    return NULL;
  }
  return g_steal_pointer (&inv);
}

JsonObject *
wzp_room_invite_to_json (const WzpRoomInvite * inv)
{
  JsonObject *o = json_object_new ();
  g_autofree char *key = g_base64_encode (inv->owner_key, WZP_PUBLIC_KEY_LEN);
  g_autofree char *sig = g_base64_encode (inv->sig, WZP_SIGNATURE_LEN);

  json_object_set_string_member (o, "room", inv->room);
  json_object_set_string_member (o, "owner_key", key);
  json_object_set_string_member (o, "member", inv->member);
  json_object_set_int_member (o, "expires", inv->expires);
  json_object_set_string_member (o, "sig", sig);
  return o;
}

/* --- tokens ----------------------------------------------------------- */

char *
wzp_room_invite_to_token (const WzpRoomInvite * inv)
{
  g_autoptr (JsonObject) o = wzp_room_invite_to_json (inv);
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), o);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autofree char *b64 = g_base64_encode ((const guchar *) text,
      strlen (text));
  GString *s = g_string_new (WZP_ROOM_INVITE_TOKEN_PREFIX);

  for (const char *p = b64; *p && *p != '='; p++)
    g_string_append_c (s, *p == '+' ? '-' : *p == '/' ? '_' : *p);
  return g_string_free (s, FALSE);
}

WzpRoomInvite *
wzp_room_invite_from_token (const char *token, GError ** error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GString) b64 = NULL;
  g_autofree guchar *raw = NULL;
  g_autoptr (GError) local = NULL;
  const char *body;
  gsize len = 0, blen;
  JsonNode *root;

  if (token == NULL || !g_str_has_prefix (token, WZP_ROOM_INVITE_TOKEN_PREFIX)) {
    malformed (error, "not an invitation token (it starts with \"%s\")",
        WZP_ROOM_INVITE_TOKEN_PREFIX);
    return NULL;
  }
  body = token + strlen (WZP_ROOM_INVITE_TOKEN_PREFIX);
  blen = strlen (body);
  /* 4/3 of the JSON; a length of 1 mod 4 cannot be base64. */
  if (blen == 0 || blen > WZP_ROOM_INVITE_MAX_SIZE * 4 / 3 + 4 || blen % 4 == 1) {
    malformed (error, "invitation token: wrong length");
    return NULL;
  }
  b64 = g_string_sized_new (blen + 3);
  for (const char *p = body; *p; p++) {
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_') {
      malformed (error, "invitation token: not base64url");
      return NULL;
    }
    g_string_append_c (b64, *p == '-' ? '+' : *p == '_' ? '/' : *p);
  }
  while (b64->len % 4)
    g_string_append_c (b64, '=');
  raw = g_base64_decode (b64->str, &len);
  if (len == 0 || memchr (raw, '\0', len)) {
    malformed (error, "invitation token: not JSON");
    return NULL;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const char *) raw, len, &local) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root)) {
    malformed (error, "invitation token: not a JSON object%s%s",
        local ? ": " : "", local ? local->message : "");
    return NULL;
  }
  return wzp_room_invite_from_json (json_node_get_object (root), error);
}

/* --- admission -------------------------------------------------------- */

gboolean
wzp_room_invite_check (const WzpRoomInvite * inv, const char *room_id,
    const char *member_fp, gint64 now_unix, GError ** error)
{
  g_autofree char *owner = NULL;
  g_autofree char *name = NULL;

  if (!wzp_room_id_parse (room_id, &owner, &name, error))
    return FALSE;
  if (owner == NULL || !wzp_fingerprint_equal (owner, inv->owner) ||
      strcmp (name, inv->room) != 0) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_WRONG_ROOM,
        "the invitation is to room %s/%s, not %s", inv->owner, inv->room,
        room_id);
    return FALSE;
  }
  if (!wzp_fingerprint_equal (member_fp, inv->member)) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_WRONG_MEMBER,
        "the invitation is for %s, not %s", inv->member, member_fp);
    return FALSE;
  }
  if (now_unix >= inv->expires) {
    g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (inv->expires);
    g_autofree char *when = t ? g_date_time_format_iso8601 (t) : NULL;
    g_set_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_EXPIRED,
        "the invitation for %s expired at %s", inv->member, when ? when : "?");
    return FALSE;
  }
  return TRUE;
}
