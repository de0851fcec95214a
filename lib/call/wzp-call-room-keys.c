/* wzp-call-room-keys.c — sender keys in a room: the pairwise channel to
 * each admitted member, our key and its rotation, the keys of the others
 *
 * Pairwise channel.  For each admitted member both sides derive, from
 * X25519(our room eph, their room eph), one key per direction
 * (wzp_media_keys_derive_pair with call id = SHA-256(room id)[:16], the
 * member whose eph sorts first as "caller").  Every message on it is one
 * sealed media packet under a sealer that lives as long as the pair, so
 * nonces never repeat and the receiver's replay window refuses a message
 * the relay replays.
 *
 * Rotation.  Membership changed: we make a new sender key (random stream
 * id), send it sealed to every admitted member ("sender-key"), and switch
 * sealing to it when each has acknowledged it ("key-ack", sealed too) or
 * WZP_ROOM_ROTATE_MAX_WAIT after we started, whichever comes first.  The
 * new key continues our sequence numbers.  A change that only adds members
 * reuses a key being distributed (it has sealed nothing yet); a change
 * that removes someone always starts over with a fresh key.
 *
 * Receiving.  A member's keys are kept oldest first; when a newer one
 * arrives the older ones retire WZP_ROOM_ROTATE_MAX_WAIT +
 * WZP_ROOM_KEY_OVERLAP later (the sender has switched by then, and what
 * it sealed before has arrived).
 */
#include "config.h"

#include "wzp-call-room-private.h"
#include "wzp-message.h"
#include "wzp-media-packet.h"
#include "wzp-random.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* --- the pairwise channel --------------------------------------------- */

void
_wzp_room_keys_member_init (WzpCallRoom * room, WzpRoomMember * m)
{
  const guint8 *ours = wzp_x25519_key_get_public (room->eph);
  gboolean we_first = memcmp (ours, m->eph, WZP_X25519_KEY_LEN) < 0;
  WzpMediaKey tx, rx;
  g_autoptr (GError) error = NULL;

  m->keys = g_ptr_array_new ();
  if (!wzp_media_keys_derive_pair (room->eph->priv, m->eph, room->room_key_id,
          we_first ? ours : m->eph, we_first ? m->eph : ours, we_first, &tx,
          &rx, &error)) {
    /* A small-order eph: the member stays, but gets and gives no key. */
    WZP_WARNING ("room %s: no pairwise key with %s: %s", room->id,
        m->fingerprint, error->message);
    return;
  }
  m->pair_tx = wzp_media_sealer_new (&tx, NULL);
  m->pair_rx = wzp_media_opener_new (&rx, NULL);
  wzp_media_key_clear (&tx);
  wzp_media_key_clear (&rx);
}

static void
member_key_free (WzpCallRoom * room, WzpRoomMemberKey * k)
{
  g_hash_table_remove (room->by_stream, GUINT_TO_POINTER (k->stream_id));
  wzp_media_opener_free (k->opener);
  g_free (k);
}

void
_wzp_room_keys_member_clear (WzpCallRoom * room, WzpRoomMember * m)
{
  for (guint i = 0; m->keys && i < m->keys->len; i++)
    member_key_free (room, g_ptr_array_index (m->keys, i));
  g_clear_pointer (&m->keys, g_ptr_array_unref);
  g_clear_pointer (&m->pair_tx, wzp_media_sealer_free);
  g_clear_pointer (&m->pair_rx, wzp_media_opener_free);
}

/* Seals @data for @m and sends it as body {field: b64(packet)}. */
static gboolean
pair_send (WzpCallRoom * room, WzpRoomMember * m, const char *field,
    const guint8 * data, gsize len)
{
  guint8 sealed[WZP_MEDIA_MAX_PACKET];
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GError) error = NULL;
  gssize n;

  if (m->pair_tx == NULL)
    return FALSE;
  n = wzp_media_sealer_seal (m->pair_tx, WZP_MEDIA_CODEC_OPUS, 0, 0, data,
      len, sealed, sizeof sealed, &error);
  if (n >= 0) {
    body = json_object_new ();
    wzp_message_set_bytes (body, field, sealed, n);
    if (wzp_signal_client_send_room_message (room->signal, room->id,
            m->fingerprint, body, &error))
      return TRUE;
  }
  WZP_WARNING ("room %s: cannot send %s to %s: %s", room->id, field,
      m->fingerprint, error->message);
  return FALSE;
}

/* Opens a pairwise message from @m; the plaintext's length, or -1. */
static gssize
pair_open (WzpCallRoom * room, WzpRoomMember * m, GBytes * sealed,
    guint8 * out, gsize out_size, GError ** error)
{
  WzpMediaHeader hdr;
  gsize len;
  const guint8 *data = g_bytes_get_data (sealed, &len);

  if (m->pair_rx == NULL) {
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_BAD_KEY,
        "no pairwise key");
    return -1;
  }
  return wzp_media_opener_open (m->pair_rx, data, len, &hdr, out, out_size,
      error);
}

/* --- our key ---------------------------------------------------------- */

static guint32
fresh_stream_id (WzpCallRoom * room)
{
  guint32 id;

  do
    id = wzp_random_u32 ();
  while (id == 0 || id == room->stream_id ||
      g_hash_table_contains (room->by_stream, GUINT_TO_POINTER (id)));
  return id;
}

static void
send_pending_key (WzpCallRoom * room, WzpRoomMember * m)
{
  guint8 bytes[WZP_MEDIA_KEY_BYTES];

  if (m->sent && m->sent_stream == room->next_key.stream_id)
    return;
  wzp_media_key_to_bytes (&room->next_key, bytes);
  if (pair_send (room, m, "sender-key", bytes, sizeof bytes)) {
    m->sent = TRUE;
    m->sent_stream = room->next_key.stream_id;
  }
  memset (bytes, 0, sizeof bytes);
}

static void
switch_key (WzpCallRoom * room)
{
  guint64 next = room->sealer ? wzp_media_sealer_get_next_seq (room->sealer) :
      0;
  guint64 took = wzp_clock_get_time (room->clock) - room->rotate_started;
  guint acked = 0, members = g_hash_table_size (room->members);
  g_autoptr (GError) error = NULL;
  WzpMediaSealer *sealer;
  GHashTableIter it;
  gpointer value;

  if (next > (guint64) G_MAXUINT32 - WZP_ROOM_SEQ_HEADROOM)
    next = 0;
  sealer = wzp_media_sealer_new_at (&room->next_key, (guint32) next, &error);
  if (sealer == NULL) {
    WZP_WARNING ("room %s: cannot seal with the new key: %s", room->id,
        error->message);
    return;
  }
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    WzpRoomMember *m = value;
    acked += m->acked && m->acked_stream == room->next_key.stream_id;
  }
  g_clear_pointer (&room->sealer, wzp_media_sealer_free);
  room->sealer = sealer;
  room->stream_id = room->next_key.stream_id;
  wzp_media_key_clear (&room->next_key);
  room->rotating = FALSE;
  g_clear_pointer (&room->rotate_timer, wzp_clock_source_destroy_and_unref);
  WZP_INFO ("room %s: sealing with stream %08x from seq %" G_GUINT64_FORMAT
      " (%s; %u of %u members acknowledged, after %.1f ms)", room->id,
      room->stream_id, next, room->rotate_reason, acked, members, took / 1e6);
  room->events->rekeyed (room->user_data, room->rotate_reason,
      room->stream_id, took, acked, members);
}

static void
maybe_switch (WzpCallRoom * room)
{
  GHashTableIter it;
  gpointer value;

  if (!room->rotating)
    return;
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    WzpRoomMember *m = value;
    if (m->pair_tx && !(m->acked && m->acked_stream ==
            room->next_key.stream_id))
      return;
  }
  switch_key (room);
}

static gboolean
rotate_timed_out (gpointer user_data)
{
  WzpCallRoom *room = user_data;

  g_clear_pointer (&room->rotate_timer, g_source_unref);
  if (room->rotating) {
    WZP_INFO ("room %s: not every member acknowledged stream %08x within "
        "%u ms: switching anyway", room->id, room->next_key.stream_id,
        (guint) (WZP_ROOM_ROTATE_MAX_WAIT / WZP_NSEC_PER_MSEC));
    switch_key (room);
  }
  return G_SOURCE_REMOVE;
}

void
_wzp_room_keys_rotate (WzpCallRoom * room, const char *reason,
    gboolean forget_pending)
{
  GHashTableIter it;
  gpointer value;

  if (!room->joined)
    return;
  if (!room->rotating || forget_pending) {
    g_autoptr (GError) error = NULL;

    wzp_media_key_clear (&room->next_key);
    if (!wzp_media_key_generate (fresh_stream_id (room), &room->next_key,
            &error)) {
      WZP_WARNING ("room %s: no new sender key: %s", room->id, error->message);
      return;
    }
    room->rotating = TRUE;
    room->rotate_started = wzp_clock_get_time (room->clock);
    room->rotate_reason = reason;
    g_clear_pointer (&room->rotate_timer, wzp_clock_source_destroy_and_unref);
    room->rotate_timer = wzp_clock_timeout_add (room->clock, room->context,
        WZP_ROOM_ROTATE_MAX_WAIT, rotate_timed_out, room, NULL);
    WZP_DEBUG ("room %s: new sender key, stream %08x (%s)", room->id,
        room->next_key.stream_id, reason);
    if (room->key_func)
      room->key_func (wzp_identity_get_fingerprint (room->identity),
          &room->next_key, room->key_data);
  }
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &value))
    send_pending_key (room, value);
  maybe_switch (room);
}

gboolean
_wzp_room_keys_start (WzpCallRoom * room, GError ** error)
{
  _wzp_room_keys_stop (room);
  room->stream_id = 0;
  /* The first key is a rotation from no key: it goes to the members the
   * relay lists, and we seal once they have it (nobody could open what
   * we sealed before). */
  room->rotating = FALSE;
  return TRUE;
}

void
_wzp_room_keys_stop (WzpCallRoom * room)
{
  g_clear_pointer (&room->sealer, wzp_media_sealer_free);
  g_clear_pointer (&room->rotate_timer, wzp_clock_source_destroy_and_unref);
  wzp_media_key_clear (&room->next_key);
  room->rotating = FALSE;
}

/* --- their keys ------------------------------------------------------- */

static void
add_their_key (WzpCallRoom * room, WzpRoomMember * m, const WzpMediaKey * key)
{
  WzpRoomMember *owner = g_hash_table_lookup (room->by_stream,
      GUINT_TO_POINTER (key->stream_id));
  guint64 now = wzp_clock_get_time (room->clock);
  WzpRoomMemberKey *k;
  g_autoptr (GError) error = NULL;

  if (owner == m)
    return;                     /* a copy of one we hold */
  if (owner || key->stream_id == room->stream_id ||
      key->stream_id == room->next_key.stream_id) {
    WZP_WARNING ("room %s: %s sent a key for stream %08x, which is taken: "
        "ignored", room->id, m->fingerprint, key->stream_id);
    return;
  }
  k = g_new0 (WzpRoomMemberKey, 1);
  k->stream_id = key->stream_id;
  k->opener = wzp_media_opener_new (key, &error);
  if (k->opener == NULL) {
    WZP_WARNING ("room %s: bad key from %s: %s", room->id, m->fingerprint,
        error->message);
    g_free (k);
    return;
  }
  /* The older keys retire once the sender has surely switched and what it
   * sealed before has arrived. */
  for (guint i = 0; i < m->keys->len; i++) {
    WzpRoomMemberKey *old = g_ptr_array_index (m->keys, i);
    old->retire_at = now + WZP_ROOM_ROTATE_MAX_WAIT + WZP_ROOM_KEY_OVERLAP;
  }
  while (m->keys->len >= WZP_ROOM_MAX_KEYS_PER_MEMBER)
    member_key_free (room, g_ptr_array_steal_index (m->keys, 0));
  g_ptr_array_add (m->keys, k);
  g_hash_table_insert (room->by_stream, GUINT_TO_POINTER (k->stream_id), m);
  WZP_INFO ("room %s: got %s's sender key (stream %08x)", room->id,
      m->fingerprint, k->stream_id);
  if (room->key_func)
    room->key_func (m->fingerprint, key, room->key_data);
}

void
_wzp_room_keys_on_message (WzpCallRoom * room, WzpRoomMember * m,
    JsonObject * body)
{
  g_autoptr (GBytes) key_msg = NULL;
  g_autoptr (GBytes) ack_msg = NULL;
  g_autoptr (GError) error = NULL;
  guint8 plain[WZP_MEDIA_MAX_PAYLOAD];
  gssize n;

  if (!wzp_message_get_bytes (body, "sender-key", FALSE, 0,
          WZP_MEDIA_MAX_PACKET, &key_msg, &error) ||
      !wzp_message_get_bytes (body, "key-ack", FALSE, 0,
          WZP_MEDIA_MAX_PACKET, &ack_msg, &error))
    goto bad;
  if (key_msg) {
    WzpMediaKey key;
    guint8 ack[4];

    n = pair_open (room, m, key_msg, plain, sizeof plain, &error);
    if (n < 0)
      goto bad;
    if (n != WZP_MEDIA_KEY_BYTES) {
      g_set_error (&error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED,
          "a sender key of %" G_GSSIZE_FORMAT " bytes", n);
      goto bad;
    }
    wzp_media_key_from_bytes (plain, &key);
    memset (plain, 0, sizeof plain);
    add_their_key (room, m, &key);
    /* Acknowledged even when we held it already: the ack may be lost
     * with a connection. */
    ack[0] = key.stream_id >> 24;
    ack[1] = key.stream_id >> 16;
    ack[2] = key.stream_id >> 8;
    ack[3] = key.stream_id;
    wzp_media_key_clear (&key);
    pair_send (room, m, "key-ack", ack, sizeof ack);
  } else if (ack_msg) {
    n = pair_open (room, m, ack_msg, plain, sizeof plain, &error);
    if (n < 0)
      goto bad;
    if (n != 4) {
      g_set_error (&error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED,
          "a key-ack of %" G_GSSIZE_FORMAT " bytes", n);
      goto bad;
    }
    m->acked_stream = (guint32) plain[0] << 24 | plain[1] << 16 |
        plain[2] << 8 | plain[3];
    m->acked = TRUE;
    WZP_DEBUG ("room %s: %s has our stream %08x", room->id, m->fingerprint,
        m->acked_stream);
    maybe_switch (room);
  } else {
    g_set_error (&error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED,
        "neither a sender key nor an acknowledgement");
    goto bad;
  }
  return;

bad:
  WZP_WARNING ("room %s: dropped a key message from %s: %s", room->id,
      m->fingerprint, error->message);
}

WzpMediaOpener *
_wzp_room_keys_opener (WzpCallRoom * room, WzpRoomMember * m, guint32 stream_id)
{
  guint64 now = wzp_clock_get_time (room->clock);
  WzpMediaOpener *found = NULL;

  for (guint i = 0; i < m->keys->len;) {
    WzpRoomMemberKey *k = g_ptr_array_index (m->keys, i);

    if (k->retire_at && k->retire_at <= now) {
      WZP_DEBUG ("room %s: retired %s's stream %08x", room->id,
          m->fingerprint, k->stream_id);
      member_key_free (room, g_ptr_array_steal_index (m->keys, i));
      continue;
    }
    if (k->stream_id == stream_id)
      found = k->opener;
    i++;
  }
  return found;
}
