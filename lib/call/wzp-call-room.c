/* wzp-call-room.c — a call's membership of a room: joining, admitting the
 * members the relay lists, members coming and going
 *
 * The relay lists members (room-joined, room-update) but does not decide
 * who gets our key: we admit a listed member only if
 *   - its public key hashes to its fingerprint, and its key blob (our
 *     room eph for the pairwise channel) is signed by that identity for
 *     this room, and
 *   - in an owned room, it is the owner, or its key blob carries an
 *     invitation that the owner (whose fingerprint the room id pins)
 *     signed for this fingerprint and this room and that has not expired.
 * In an open room every listed member with a valid blob is admitted.
 * Only admitted members get our sender keys, and we accept keys (and so
 * media) only from admitted members.  Every admission and departure
 * rotates our key (wzp-call-room-keys.c).
 *
 *   join-room key_blob = { "eph": b64(X25519 pub),
 *                          "sig": b64(Ed25519 over "wzp-room-v1\0" ||
 *                                     room id || eph),
 *                          "invite": {...} (owned rooms, not the owner) }
 */
#include "config.h"

#include "wzp-call-room-private.h"
#include "wzp-call-offer.h"
#include "wzp-message.h"
#include "wzp-media-packet.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

static gint64
now_unix (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* --- settings --------------------------------------------------------- */

/* An invitation given as a token, or as "@FILE" holding one. */
static WzpRoomInvite *
load_invite (const char *value, GError ** error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local = NULL;
  WzpRoomInvite *inv;

  if (value[0] == '@') {
    if (!g_file_get_contents (value + 1, &contents, NULL, &local)) {
      g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_NOT_ADMITTED,
          "cannot read the room invitation: %s", local->message);
      return NULL;
    }
    value = g_strstrip (contents);
  }
  inv = wzp_room_invite_from_token (value, &local);
  if (inv == NULL)
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_NOT_ADMITTED,
        "bad room invitation: %s", local->message);
  return inv;
}

gboolean
_wzp_call_room_check_settings (const char *name, const char *owner,
    const char *invite, gboolean open, WzpIdentity * identity, GError ** error)
{
  const char *me = wzp_identity_get_fingerprint (identity);
  g_autofree char *id = NULL;
  g_autoptr (WzpRoomInvite) inv = NULL;
  g_autoptr (GError) local = NULL;

  if (!wzp_room_name_is_valid (name)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "\"%s\" is not a room name (1 to %d bytes, no control characters, "
        "no '/')", name, WZP_ROOM_NAME_MAX_LEN);
    return FALSE;
  }
  if (owner && open) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "a room has an owner or is open, not both");
    return FALSE;
  }
  if (!owner && !open) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "room %s has no owner: name its owner (and give an invitation "
        "unless you are the owner), or ask for an open room, which the "
        "relay can read", name);
    return FALSE;
  }
  if (open)
    return TRUE;
  if ((id = wzp_room_id_new (owner, name, &local)) == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "bad room owner: %s", local->message);
    return FALSE;
  }
  if (wzp_fingerprint_equal (owner, me))
    return TRUE;
  if (invite == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_NOT_ADMITTED,
        "room %s is owned by %s: an invitation from the owner is needed",
        name, owner);
    return FALSE;
  }
  if ((inv = load_invite (invite, error)) == NULL)
    return FALSE;
  if (!wzp_room_invite_check (inv, id, me, now_unix (), &local)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_NOT_ADMITTED,
        "the room invitation does not admit us: %s", local->message);
    return FALSE;
  }
  return TRUE;
}

/* --- members ---------------------------------------------------------- */

static void
member_free (gpointer p)
{
  WzpRoomMember *m = p;

  g_free (m->fingerprint);
  g_free (m);
}

static void
remove_member (WzpCallRoom * self, WzpRoomMember * m)
{
  g_autofree char *fp = g_strdup (m->fingerprint);

  _wzp_room_keys_member_clear (self, m);
  g_hash_table_remove (self->members, fp);
  self->events->member_left (self->user_data, fp);
}

static GBytes *
blob_signed_bytes (const char *room, const guint8 * eph)
{
  GByteArray *b = g_byte_array_new ();
  static const char tag[] = "wzp-room-v1";

  g_byte_array_append (b, (const guint8 *) tag, sizeof tag);
  g_byte_array_append (b, (const guint8 *) room, strlen (room));
  g_byte_array_append (b, eph, WZP_X25519_KEY_LEN);
  return g_byte_array_free_to_bytes (b);
}

static void schedule_expiry (WzpCallRoom * self);

/* Checks a listed member; the member, not yet in the table, or NULL. */
static WzpRoomMember *
admit (WzpCallRoom * self, const char *fp, GBytes * public_key,
    JsonObject * key_blob, GError ** error)
{
  guint8 eph[WZP_X25519_KEY_LEN], sig[WZP_SIGNATURE_LEN];
  gsize key_len = 0;
  const guint8 *key = public_key ? g_bytes_get_data (public_key, &key_len) :
      NULL;
  g_autofree char *key_fp = NULL;
  g_autoptr (GBytes) msg = NULL;
  g_autoptr (WzpRoomInvite) inv = NULL;
  WzpRoomMember *m;
  guint64 expires_at = 0;
  gsize len;
  const guint8 *data;

  if (key_len != WZP_PUBLIC_KEY_LEN ||
      !wzp_fingerprint_equal (fp, key_fp =
          wzp_fingerprint_from_public_key (key))) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_BAD_PEER,
        "its public key is not its fingerprint's");
    return NULL;
  }
  if (!_wzp_offer_get_key (key_blob, "eph", eph, sizeof eph, error) ||
      !_wzp_offer_get_key (key_blob, "sig", sig, sizeof sig, error))
    return NULL;
  msg = blob_signed_bytes (self->id, eph);
  data = g_bytes_get_data (msg, &len);
  if (!wzp_identity_verify (key, data, len, sig, sizeof sig, error))
    return NULL;
  if (self->owner && !wzp_fingerprint_equal (fp, self->owner)) {
    JsonNode *node = json_object_get_member (key_blob, "invite");
    gint64 now = now_unix ();

    if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
      g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_NOT_ADMITTED,
          "no invitation from the owner");
      return NULL;
    }
    inv = wzp_room_invite_from_json (json_node_get_object (node), error);
    if (inv == NULL ||
        !wzp_room_invite_check (inv, self->id, key_fp, now, error))
      return NULL;
    expires_at = wzp_clock_get_time (self->clock) +
        (guint64) (inv->expires - now) * WZP_NSEC_PER_SEC;
  }
  m = g_new0 (WzpRoomMember, 1);
  m->fingerprint = g_steal_pointer (&key_fp);
  memcpy (m->public_key, key, WZP_PUBLIC_KEY_LEN);
  memcpy (m->eph, eph, sizeof eph);
  m->expires_at = expires_at;
  _wzp_room_keys_member_init (self, m);
  return m;
}

/* A listed member: admitted and added (TRUE), or refused. */
static gboolean
add_member (WzpCallRoom * self, const char *fp, GBytes * public_key,
    JsonObject * key_blob)
{
  g_autoptr (GError) error = NULL;
  WzpRoomMember *m;

  if (wzp_fingerprint_equal (fp, wzp_identity_get_fingerprint (self->identity)))
    return FALSE;
  m = key_blob ? admit (self, fp, public_key, key_blob, &error) : NULL;
  if (m == NULL) {
    WZP_WARNING ("room %s: %s gets no key from us: %s", self->id, fp,
        error ? error->message : "no key blob");
    return FALSE;
  }
  g_hash_table_replace (self->members, m->fingerprint, m);
  WZP_INFO ("room %s: admitted %s", self->id, m->fingerprint);
  self->events->member_joined (self->user_data, m->fingerprint);
  return TRUE;
}

static void
clear_members (WzpCallRoom * self)
{
  GList *fps = g_hash_table_get_keys (self->members);

  for (GList * l = fps; l; l = l->next)
    remove_member (self, g_hash_table_lookup (self->members, l->data));
  g_list_free (fps);
}

/* --- invitations that expire ------------------------------------------ */

static gboolean
expiry_due (gpointer user_data)
{
  WzpCallRoom *self = user_data;
  guint64 now = wzp_clock_get_time (self->clock);
  GPtrArray *expired = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_clear_pointer (&self->expiry_timer, g_source_unref);
  if (self->invite && now_unix () >= self->invite->expires) {
    g_ptr_array_unref (expired);
    _wzp_call_room_fail (self, WZP_CALL_ERROR_NOT_ADMITTED,
        "our invitation to room %s expired", self->id);
    return G_SOURCE_REMOVE;
  }
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    WzpRoomMember *m = value;
    if (m->expires_at && m->expires_at <= now)
      g_ptr_array_add (expired, m);
  }
  for (guint i = 0; i < expired->len; i++) {
    WzpRoomMember *m = g_ptr_array_index (expired, i);
    WZP_INFO ("room %s: %s's invitation expired", self->id, m->fingerprint);
    remove_member (self, m);
  }
  if (expired->len)
    _wzp_room_keys_rotate (self, "an invitation expired", TRUE);
  g_ptr_array_unref (expired);
  schedule_expiry (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (WzpCallRoom * self)
{
  guint64 now = wzp_clock_get_time (self->clock), first = G_MAXUINT64;
  GHashTableIter it;
  gpointer value;

  g_clear_pointer (&self->expiry_timer, wzp_clock_source_destroy_and_unref);
  if (self->invite) {
    gint64 left = MAX (self->invite->expires - now_unix (), 0);
    first = now + (guint64) left *WZP_NSEC_PER_SEC;
  }
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    WzpRoomMember *m = value;
    if (m->expires_at)
      first = MIN (first, m->expires_at);
  }
  if (first != G_MAXUINT64)
    self->expiry_timer = wzp_clock_timeout_add (self->clock, self->context,
        first > now ? first - now : 0, expiry_due, self, NULL);
}

/* --- relay events ----------------------------------------------------- */

static void
on_room_joined (WzpSignalClient * client, const char *room, guint channel,
    JsonArray * members, gpointer user_data)
{
  WzpCallRoom *self = user_data;
  guint n = members ? json_array_get_length (members) : 0;
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (room, self->id) != 0)
    return;
  self->channel = channel;
  self->joined = TRUE;
  WZP_INFO ("room %s joined (channel %u, %u others listed)", room, channel, n);
  clear_members (self);
  _wzp_room_keys_start (self, &error);
  for (guint i = 0; i < n; i++) {
    JsonNode *node = json_array_get_element (members, i);
    /* Any JSON value may be in the list: get_object_element() on a
     * number is a critical (found by fuzz-room). */
    JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ?
        json_node_get_object (node) : NULL;
    g_autofree char *fp = NULL;
    g_autoptr (GBytes) pub = NULL;
    g_autoptr (JsonObject) blob = NULL;

    /* The signal client checked the list's size, not each member. */
    if (o == NULL ||
        !wzp_message_get_fingerprint (o, "fingerprint", TRUE, &fp, NULL) ||
        !wzp_message_get_bytes (o, "public_key", TRUE, WZP_PUBLIC_KEY_LEN,
            WZP_PUBLIC_KEY_LEN, &pub, NULL) ||
        !wzp_message_get_opaque (o, "key_blob", FALSE,
            WZP_MESSAGE_MAX_KEY_BLOB, &blob, NULL)) {
      WZP_WARNING ("room %s: ignoring an invalid member entry", room);
      continue;
    }
    add_member (self, fp, pub, blob);
  }
  _wzp_room_keys_rotate (self, "we joined", FALSE);
  schedule_expiry (self);
  self->events->joined (self->user_data);
}

static void
on_room_update (WzpSignalClient * client, const char *room,
    const char *event, const char *fingerprint, GBytes * public_key,
    JsonObject * key_blob, gpointer user_data)
{
  WzpCallRoom *self = user_data;
  WzpRoomMember *old;

  if (g_strcmp0 (room, self->id) != 0 || !self->joined)
    return;
  old = g_hash_table_lookup (self->members, fingerprint);
  if (g_strcmp0 (event, "joined") == 0) {
    /* A member joining again brings a new eph: forget the old pair. */
    if (old)
      remove_member (self, old);
    if (add_member (self, fingerprint, public_key, key_blob))
      _wzp_room_keys_rotate (self, old ? "a member joined again" :
          "a member joined", FALSE);
    else if (old)
      _wzp_room_keys_rotate (self, "a member lost its admission", TRUE);
    schedule_expiry (self);
  } else if (g_strcmp0 (event, "left") == 0 && old) {
    WZP_INFO ("room %s: %s left", room, fingerprint);
    remove_member (self, old);
    _wzp_room_keys_rotate (self, "a member left", TRUE);
    schedule_expiry (self);
  }
}

static void
on_room_message (WzpSignalClient * client, const char *room,
    const char *from, JsonObject * body, gpointer user_data)
{
  WzpCallRoom *self = user_data;
  WzpRoomMember *m;

  if (g_strcmp0 (room, self->id) != 0 || body == NULL)
    return;
  m = g_hash_table_lookup (self->members, from);
  if (m == NULL) {
    WZP_DEBUG ("room %s: ignoring a message from %s, not admitted", room, from);
    return;
  }
  _wzp_room_keys_on_message (self, m, body);
}

static void
on_signal_error (WzpSignalClient * client, GError * error, gpointer user_data)
{
  WzpCallRoom *self = user_data;

  if (!self->join_sent || self->joined ||
      !g_error_matches (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_RELAY))
    return;
  if (g_str_has_prefix (error->message, "not-invited"))
    _wzp_call_room_fail (self, WZP_CALL_ERROR_NOT_ADMITTED,
        "the relay refused to let us into room %s: %s", self->id,
        error->message);
  else if (g_str_has_prefix (error->message, "room-full") ||
      g_str_has_prefix (error->message, "bad-message"))
    _wzp_call_room_fail (self, WZP_CALL_ERROR_FAILED,
        "cannot join room %s: %s", self->id, error->message);
}

static void
on_registered (WzpSignalClient * client, GSocketAddress * observed,
    gpointer user_data)
{
  WzpCallRoom *self = user_data;
  g_autoptr (GError) error = NULL;

  /* A new signaling connection: the relay may have dropped our
   * membership with the old one.  Join again, as a new member.  (The
   * first registration is the call's to act on.) */
  if (self->registrations++ == 0 || !self->join_sent)
    return;
  WZP_INFO ("room %s: registered again: joining again", self->id);
  if (!_wzp_call_room_join (self, &error))
    WZP_WARNING ("room %s: cannot join again: %s", self->id, error->message);
}

/* --- the object ------------------------------------------------------- */

WzpCallRoom *
_wzp_call_room_new (const WzpCallRoomEvents * events, gpointer user_data,
    WzpSignalClient * signal, WzpIdentity * identity, WzpClock * clock,
    GMainContext * context, const char *name, const char *owner,
    const char *invite, gboolean open)
{
  WzpCallRoom *self = g_new0 (WzpCallRoom, 1);
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  g_autofree char *canonical_owner = NULL;

  self->events = events;
  self->user_data = user_data;
  self->signal = signal;
  self->identity = g_object_ref (identity);
  self->clock = g_object_ref (clock);
  self->context = g_main_context_ref (context);
  if (!open && owner) {
    canonical_owner = wzp_fingerprint_normalize (owner, NULL);
    self->owner = g_strdup (canonical_owner);
    if (!wzp_fingerprint_equal (owner, wzp_identity_get_fingerprint
            (identity)) && invite)
      self->invite = load_invite (invite, NULL);
  }
  self->id = wzp_room_id_new (self->owner, name, NULL);
  g_checksum_update (c, (const guint8 *) self->id, strlen (self->id));
  g_checksum_get_digest (c, digest, &len);
  g_checksum_free (c);
  memcpy (self->room_key_id, digest, sizeof self->room_key_id);
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      member_free);
  self->by_stream = g_hash_table_new (NULL, NULL);
  g_signal_connect (signal, "room-joined", G_CALLBACK (on_room_joined), self);
  g_signal_connect (signal, "room-update", G_CALLBACK (on_room_update), self);
  g_signal_connect (signal, "room-message", G_CALLBACK (on_room_message), self);
  g_signal_connect (signal, "error", G_CALLBACK (on_signal_error), self);
  g_signal_connect (signal, "registered", G_CALLBACK (on_registered), self);
  return self;
}

gboolean
_wzp_call_room_join (WzpCallRoom * self, GError ** error)
{
  g_autoptr (JsonObject) blob = NULL;
  g_autoptr (GBytes) msg = NULL;
  guint8 sig[WZP_SIGNATURE_LEN];
  const guint8 *data;
  gsize len;

  self->joined = FALSE;
  clear_members (self);
  _wzp_room_keys_stop (self);
  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  self->eph = wzp_x25519_generate (error);
  if (self->eph == NULL)
    return FALSE;
  msg = blob_signed_bytes (self->id, self->eph->pub);
  data = g_bytes_get_data (msg, &len);
  wzp_identity_sign (self->identity, data, len, sig);
  blob = json_object_new ();
  wzp_message_set_bytes (blob, "eph", self->eph->pub, WZP_X25519_KEY_LEN);
  wzp_message_set_bytes (blob, "sig", sig, sizeof sig);
  if (self->invite)
    json_object_set_object_member (blob, "invite",
        wzp_room_invite_to_json (self->invite));
  self->join_sent = TRUE;
  return wzp_signal_client_join_room (self->signal, self->id, blob, error);
}

gboolean
_wzp_call_room_leave (WzpCallRoom * self, GError ** error)
{
  if (!self->join_sent)
    return FALSE;
  return wzp_signal_client_leave_room (self->signal, self->id, error);
}

WzpMediaSealer *
_wzp_call_room_get_sealer (WzpCallRoom * self)
{
  return self->joined ? self->sealer : NULL;
}

const char *
_wzp_call_room_get_id (WzpCallRoom * self)
{
  return self->id;
}

guint32
_wzp_call_room_get_channel (WzpCallRoom * self)
{
  return self->channel;
}

guint
_wzp_call_room_get_n_members (WzpCallRoom * self)
{
  return g_hash_table_size (self->members);
}

WzpMediaOpener *
_wzp_call_room_opener_for (WzpCallRoom * self, guint32 channel,
    const guint8 * data, gsize len, const char **sender)
{
  WzpMediaHeader hdr;
  WzpRoomMember *m;

  if (!self->joined || channel != self->channel ||
      !wzp_media_header_parse (data, len, &hdr, NULL))
    return NULL;
  m = g_hash_table_lookup (self->by_stream, GUINT_TO_POINTER (hdr.stream_id));
  if (m == NULL)
    return NULL;
  *sender = m->fingerprint;
  return _wzp_room_keys_opener (self, m, hdr.stream_id);
}

void
_wzp_call_room_free (WzpCallRoom * self)
{
  g_signal_handlers_disconnect_by_data (self->signal, self);
  g_clear_pointer (&self->expiry_timer, wzp_clock_source_destroy_and_unref);
  /* No member-left signals from a room that is going away. */
  {
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init (&it, self->members);
    while (g_hash_table_iter_next (&it, NULL, &value))
      _wzp_room_keys_member_clear (self, value);
  }
  _wzp_room_keys_stop (self);
  g_hash_table_unref (self->members);
  g_hash_table_unref (self->by_stream);
  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  g_clear_pointer (&self->invite, wzp_room_invite_free);
  g_object_unref (self->identity);
  g_object_unref (self->clock);
  g_main_context_unref (self->context);
  g_free (self->owner);
  g_free (self->id);
  g_free (self);
}

void
_wzp_call_room_set_key_func (WzpCallRoom * self, WzpCallRoomKeyFunc func,
    gpointer user_data)
{
  self->key_func = func;
  self->key_data = user_data;
}
