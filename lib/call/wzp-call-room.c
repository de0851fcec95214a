/* wzp-call-room.c — sender keys for multi-party rooms */
#include "config.h"

#include "wzp-call-room.h"
#include "wzp-call-offer.h"
#include "wzp-message.h"
#include "wzp-media-packet.h"
#include "wzp-random.h"
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

typedef struct
{
  char *fingerprint;
  guint8 eph[WZP_X25519_KEY_LEN];
  gboolean sent_key;            /* our sender key went to them */
  WzpMediaOpener *opener;       /* theirs, once they sent it */
  guint32 stream_id;
} Member;

struct _WzpCallRoom
{
  WzpCall *call;                /* not owned */
  WzpSignalClient *signal;      /* not owned */
  WzpIdentity *identity;
  char *name;
  guint8 room_id[WZP_MEDIA_CALL_ID_LEN];
  WzpX25519Key *eph;
  WzpMediaKey sender_key;
  WzpMediaSealer *sealer;
  guint32 channel;
  gboolean joined;
  GHashTable *members;          /* fingerprint -> Member */
  GHashTable *by_stream;        /* stream id -> Member (not owned) */
};

static void
member_free (Member * m)
{
  g_free (m->fingerprint);
  g_clear_pointer (&m->opener, wzp_media_opener_free);
  g_free (m);
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

/* Seals our sender key for @m under our pairwise key. */
static void
send_key_to (WzpCallRoom * self, Member * m)
{
  WzpMediaKey pair_tx, pair_rx;
  WzpMediaSealer *s;
  guint8 key_bytes[WZP_MEDIA_KEY_BYTES];
  guint8 sealed[WZP_MEDIA_MAX_PACKET];
  gssize n;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;

  if (m->sent_key || !self->joined)
    return;
  if (!wzp_media_keys_derive_pair (self->eph->priv, m->eph, self->room_id,
          self->eph->pub, m->eph, TRUE, &pair_tx, &pair_rx, &error)) {
    WZP_WARNING ("room %s: no pairwise key with %s: %s", self->name,
        m->fingerprint, error->message);
    return;
  }
  /* A fresh sealer per pairwise key: each key seals exactly one packet. */
  s = wzp_media_sealer_new (&pair_tx, &error);
  wzp_media_key_to_bytes (&self->sender_key, key_bytes);
  n = s ? wzp_media_sealer_seal (s, WZP_MEDIA_CODEC_OPUS, 0, 0, key_bytes,
      sizeof key_bytes, sealed, sizeof sealed, &error) : -1;
  memset (key_bytes, 0, sizeof key_bytes);
  wzp_media_key_clear (&pair_tx);
  wzp_media_key_clear (&pair_rx);
  g_clear_pointer (&s, wzp_media_sealer_free);
  if (n < 0) {
    WZP_WARNING ("room %s: cannot seal our key for %s: %s", self->name,
        m->fingerprint, error->message);
    return;
  }
  body = json_object_new ();
  wzp_message_set_bytes (body, "sender-key", sealed, n);
  if (wzp_signal_client_send_room_message (self->signal, self->name,
          m->fingerprint, body, &error))
    m->sent_key = TRUE;
  else
    WZP_WARNING ("room %s: cannot send our key to %s: %s", self->name,
        m->fingerprint, error->message);
}

static void
add_member (WzpCallRoom * self, const char *fp, GBytes * public_key,
    JsonObject * key_blob)
{
  guint8 eph[WZP_X25519_KEY_LEN], sig[WZP_SIGNATURE_LEN];
  gsize key_len = 0;
  const guint8 *key = public_key ? g_bytes_get_data (public_key, &key_len) :
      NULL;
  g_autofree char *key_fp = NULL;
  g_autoptr (GBytes) msg = NULL;
  g_autoptr (GError) error = NULL;
  Member *m;
  gsize len;
  const guint8 *data;

  if (key_len != WZP_PUBLIC_KEY_LEN ||
      !wzp_fingerprint_equal (fp, key_fp =
          wzp_fingerprint_from_public_key (key)) ||
      !_wzp_offer_get_key (key_blob, "eph", eph, sizeof eph, NULL) ||
      !_wzp_offer_get_key (key_blob, "sig", sig, sizeof sig, NULL)) {
    WZP_WARNING ("room %s: ignoring member %s: bad key blob", self->name, fp);
    return;
  }
  msg = blob_signed_bytes (self->name, eph);
  data = g_bytes_get_data (msg, &len);
  if (!wzp_identity_verify (key, data, len, sig, sizeof sig, &error)) {
    WZP_WARNING ("room %s: ignoring member %s: %s", self->name, fp,
        error->message);
    return;
  }
  m = g_new0 (Member, 1);
  m->fingerprint = g_steal_pointer (&key_fp);
  memcpy (m->eph, eph, sizeof eph);
  /* A member that re-joins brings a new key: forget the old one. */
  if (g_hash_table_lookup (self->members, m->fingerprint)) {
    Member *old = g_hash_table_lookup (self->members, m->fingerprint);
    if (old->opener)
      g_hash_table_remove (self->by_stream, GUINT_TO_POINTER (old->stream_id));
  }
  g_hash_table_replace (self->members, m->fingerprint, m);
  WZP_INFO ("room %s: member %s", self->name, m->fingerprint);
  send_key_to (self, m);
}

static void
on_room_joined (WzpSignalClient * client, const char *room, guint channel,
    JsonArray * members, gpointer user_data)
{
  WzpCallRoom *self = user_data;

  if (g_strcmp0 (room, self->name) != 0)
    return;
  self->channel = channel;
  self->joined = TRUE;
  WZP_INFO ("room %s joined (channel %u, %u others)", room, channel,
      members ? json_array_get_length (members) : 0);
  for (guint i = 0; members && i < json_array_get_length (members); i++) {
    JsonNode *node = json_array_get_element (members, i);
    /* Any JSON value may be in the list: get_object_element() on a
     * number is a critical (found by fuzz-room). */
    JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ?
        json_node_get_object (node) : NULL;
    const char *fp = NULL;
    g_autoptr (GBytes) pub = NULL;
    g_autoptr (JsonObject) blob = NULL;

    /* The signal client checked the list's size, not each member. */
    if (o == NULL ||
        !wzp_message_get_string (o, "fingerprint", TRUE, 64, &fp, NULL) ||
        !wzp_message_get_bytes (o, "public_key", TRUE, WZP_PUBLIC_KEY_LEN,
            WZP_PUBLIC_KEY_LEN, &pub, NULL) ||
        !wzp_message_get_opaque (o, "key_blob", TRUE,
            WZP_MESSAGE_MAX_KEY_BLOB, &blob, NULL))
      continue;
    add_member (self, fp, pub, blob);
  }
  _wzp_call_room_joined (self->call);
}

static void
on_room_update (WzpSignalClient * client, const char *room,
    const char *event, const char *fingerprint, GBytes * public_key,
    JsonObject * key_blob, gpointer user_data)
{
  WzpCallRoom *self = user_data;

  if (g_strcmp0 (room, self->name) != 0)
    return;
  if (g_strcmp0 (event, "joined") == 0) {
    add_member (self, fingerprint, public_key, key_blob);
  } else if (g_strcmp0 (event, "left") == 0) {
    Member *m = g_hash_table_lookup (self->members, fingerprint);
    if (m && m->opener)
      g_hash_table_remove (self->by_stream, GUINT_TO_POINTER (m->stream_id));
    g_hash_table_remove (self->members, fingerprint);
    WZP_INFO ("room %s: %s left", room, fingerprint);
  }
}

static void
on_room_message (WzpSignalClient * client, const char *room,
    const char *from, JsonObject * body, gpointer user_data)
{
  WzpCallRoom *self = user_data;
  Member *m = g_hash_table_lookup (self->members, from);
  g_autoptr (GBytes) sealed_bytes = NULL;
  const guint8 *sealed;
  gsize sealed_len = 0;
  guint8 key_bytes[WZP_MEDIA_MAX_PAYLOAD];
  WzpMediaKey pair_tx, pair_rx, theirs;
  WzpMediaOpener *o;
  WzpMediaHeader hdr;
  gssize n;
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (room, self->name) != 0 || m == NULL || body == NULL)
    return;
  if (!wzp_message_get_bytes (body, "sender-key", TRUE, 0,
          WZP_MEDIA_MAX_PACKET, &sealed_bytes, &error))
    goto bad;
  sealed = g_bytes_get_data (sealed_bytes, &sealed_len);
  /* They sealed as "caller": caller_eph is theirs. */
  if (!wzp_media_keys_derive_pair (self->eph->priv, m->eph, self->room_id,
          m->eph, self->eph->pub, FALSE, &pair_tx, &pair_rx, &error))
    goto bad;
  o = wzp_media_opener_new (&pair_rx, &error);
  wzp_media_key_clear (&pair_tx);
  wzp_media_key_clear (&pair_rx);
  if (o == NULL)
    goto bad;
  n = wzp_media_opener_open (o, sealed, sealed_len, &hdr, key_bytes,
      sizeof key_bytes, &error);
  wzp_media_opener_free (o);
  if (n != WZP_MEDIA_KEY_BYTES) {
    if (n >= 0)
      g_set_error (&error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED,
          "sender key is %" G_GSSIZE_FORMAT " bytes", n);
    goto bad;
  }
  wzp_media_key_from_bytes (key_bytes, &theirs);
  memset (key_bytes, 0, sizeof key_bytes);
  if (m->opener)
    g_hash_table_remove (self->by_stream, GUINT_TO_POINTER (m->stream_id));
  g_clear_pointer (&m->opener, wzp_media_opener_free);
  m->opener = wzp_media_opener_new (&theirs, &error);
  m->stream_id = theirs.stream_id;
  wzp_media_key_clear (&theirs);
  if (m->opener == NULL)
    goto bad;
  g_hash_table_replace (self->by_stream, GUINT_TO_POINTER (m->stream_id), m);
  WZP_INFO ("room %s: got %s's sender key (stream %08x)", room, from,
      m->stream_id);
  return;

bad:
  WZP_WARNING ("room %s: bad sender key from %s: %s", room, from,
      error ? error->message : "?");
}

WzpCallRoom *
_wzp_call_room_new (WzpCall * call, WzpSignalClient * signal,
    WzpIdentity * identity, const char *room)
{
  WzpCallRoom *self = g_new0 (WzpCallRoom, 1);
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;

  self->call = call;
  self->signal = signal;
  self->identity = g_object_ref (identity);
  self->name = g_strdup (room);
  g_checksum_update (c, (const guint8 *) room, strlen (room));
  g_checksum_get_digest (c, digest, &len);
  g_checksum_free (c);
  memcpy (self->room_id, digest, sizeof self->room_id);
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) member_free);
  self->by_stream = g_hash_table_new (NULL, NULL);
  g_signal_connect (signal, "room-joined", G_CALLBACK (on_room_joined), self);
  g_signal_connect (signal, "room-update", G_CALLBACK (on_room_update), self);
  g_signal_connect (signal, "room-message", G_CALLBACK (on_room_message), self);
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

  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  g_clear_pointer (&self->sealer, wzp_media_sealer_free);
  g_hash_table_remove_all (self->by_stream);
  g_hash_table_remove_all (self->members);
  self->eph = wzp_x25519_generate (error);
  if (self->eph == NULL ||
      !wzp_media_key_generate (wzp_random_u32 (), &self->sender_key, error))
    return FALSE;
  self->sealer = wzp_media_sealer_new (&self->sender_key, error);
  if (self->sealer == NULL)
    return FALSE;
  msg = blob_signed_bytes (self->name, self->eph->pub);
  data = g_bytes_get_data (msg, &len);
  wzp_identity_sign (self->identity, data, len, sig);
  blob = json_object_new ();
  wzp_message_set_bytes (blob, "eph", self->eph->pub, WZP_X25519_KEY_LEN);
  wzp_message_set_bytes (blob, "sig", sig, sizeof sig);
  return wzp_signal_client_join_room (self->signal, self->name, blob, error);
}

WzpMediaSealer *
_wzp_call_room_get_sealer (WzpCallRoom * self)
{
  return self->joined ? self->sealer : NULL;
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
  Member *m;

  if (!self->joined || channel != self->channel ||
      !wzp_media_header_parse (data, len, &hdr, NULL))
    return NULL;
  m = g_hash_table_lookup (self->by_stream, GUINT_TO_POINTER (hdr.stream_id));
  if (m == NULL)
    return NULL;
  *sender = m->fingerprint;
  return m->opener;
}

void
_wzp_call_room_free (WzpCallRoom * self)
{
  g_signal_handlers_disconnect_by_data (self->signal, self);
  g_hash_table_unref (self->by_stream);
  g_hash_table_unref (self->members);
  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  g_clear_pointer (&self->sealer, wzp_media_sealer_free);
  wzp_media_key_clear (&self->sender_key);
  g_object_unref (self->identity);
  g_free (self->name);
  g_free (self);
}
