/* wzp — the relay's multi-party rooms
 *
 * A room is an id, a media channel and its members (fingerprints, with
 * their public keys and an opaque key blob so members can exchange
 * sender keys end to end through room-message).  Membership belongs to
 * the fingerprint, like calls; it ends on leave-room or when the current
 * registration goes away.  The relay forwards a member's datagrams on the
 * room's channel to every other member and never reads them.
 *
 * An owned room ("OWNER-FINGERPRINT/NAME", wzp-room-invite.h) admits the
 * owner and holders of an invitation the owner signed, which the joiner
 * puts in its key blob.  The relay checks it so strangers cannot even
 * see who is in the room; the members check it again and do not rely on
 * the relay for the secrecy of their keys.
 *
 * In a cluster a room lives on one node (its home key in Redis); members
 * registered at other nodes reach it as stubs and send and receive its
 * media through a media leg to this node.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-relay-cluster.h"
#include "wzp-room-invite.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

static void
member_free (gpointer p)
{
  RoomMember *m = p;

  g_clear_pointer (&m->key_blob, json_object_unref);
  g_free (m->fp);
  g_free (m);
}

void
_wzp_relay_room_free (RelayRoom * room)
{
  g_hash_table_unref (room->members);
  g_free (room->name);
  g_free (room);
}

static void
update_room_stats (WzpRelay * self)
{
  GHashTableIter it;
  gpointer value;

  self->stats.rooms = g_hash_table_size (self->rooms);
  self->stats.room_members = 0;
  g_hash_table_iter_init (&it, self->rooms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    self->stats.room_members += g_hash_table_size (((RelayRoom *)
            value)->members);
}

static void
broadcast (WzpRelay * self, RelayRoom * room, const char *except,
    JsonObject * msg)
{
  GHashTableIter it;
  gpointer key;

  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    if (except && strcmp (key, except) == 0)
      continue;
    _wzp_relay_send_to (self, key, json_object_ref (msg));
  }
  json_object_unref (msg);
}

static void
remove_member (WzpRelay * self, RelayRoom * room, const char *fp)
{
  g_autofree char *who = g_strdup (fp);

  g_hash_table_remove (room->members, fp);
  WZP_INFO_OBJECT (self, "%s left room '%s' (%u left)", who, room->name,
      g_hash_table_size (room->members));
  if (g_hash_table_size (room->members) == 0) {
    relay_cluster_room_hosted (self->cluster, room->name, FALSE);
    g_hash_table_remove (self->channels, GUINT_TO_POINTER (room->channel.id));
    g_hash_table_remove (self->rooms, room->name);
  } else {
    broadcast (self, room, NULL, wzp_message_new_room_update (room->name,
            "left", who, NULL, NULL));
  }
  update_room_stats (self);
}

static gboolean
get_room (WzpRelay * self, RelayClient * c, JsonObject * msg, const char **name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *room_name = NULL;

  if (!wzp_message_get_room (msg, "room", name, &error) ||
      !wzp_room_id_parse (*name, &owner, &room_name, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return FALSE;
  }
  return TRUE;
}

/* May @c join the room @name?  Open rooms: anyone.  Owned rooms: the owner
 * and the holders of the owner's invitation, in @key_blob. */
static gboolean
admitted (WzpRelay * self, RelayClient * c, const char *name,
    JsonObject * key_blob, GError ** error)
{
  g_autofree char *owner = NULL;
  g_autofree char *room_name = NULL;
  g_autoptr (WzpRoomInvite) invite = NULL;
  JsonNode *node;

  if (!wzp_room_id_parse (name, &owner, &room_name, error))
    return FALSE;
  if (owner == NULL || wzp_fingerprint_equal (owner, c->fp) ||
      self->rooms_admit_anyone)
    return TRUE;
  node = key_blob ? json_object_get_member (key_blob, "invite") : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_WRONG_MEMBER, "room %s is owned by %s: "
        "joining it needs the owner's invitation", name, owner);
    return FALSE;
  }
  invite = wzp_room_invite_from_json (json_node_get_object (node), error);
  return invite && wzp_room_invite_check (invite, name, c->fp,
      g_get_real_time () / G_USEC_PER_SEC, error);
}

void
_wzp_relay_handle_join_room (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) key_blob = NULL;
  g_autoptr (JsonArray) members = NULL;
  const char *name;
  RelayRoom *room;
  RoomMember *m;
  JsonObject *reply;
  GHashTableIter it;
  gpointer value;
  guint32 req;

  if (!get_room (self, c, msg, &name))
    return;
  if (!wzp_message_get_opaque (msg, "key_blob", FALSE,
          WZP_MESSAGE_MAX_KEY_BLOB, &key_blob, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (!admitted (self, c, name, key_blob, &error)) {
    WZP_INFO_OBJECT (self, "%s may not join room '%s': %s", c->fp, name,
        error->message);
    _wzp_relay_send_error (self, c, "not-invited", error->message, msg);
    return;
  }
  room = g_hash_table_lookup (self->rooms, name);
  if (room && !g_hash_table_contains (room->members, c->fp) &&
      g_hash_table_size (room->members) >= self->max_room_members) {
    _wzp_relay_send_error (self, c, "room-full", "the room is full", msg);
    return;
  }
  if (room == NULL) {
    room = g_new0 (RelayRoom, 1);
    room->channel.kind = CHANNEL_ROOM;
    room->name = g_strdup (name);
    room->members = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
        member_free);
    _wzp_relay_allocate_channel (self, &room->channel);
    g_hash_table_insert (self->rooms, room->name, room);
    WZP_INFO_OBJECT (self, "room '%s' created (channel %u)", room->name,
        room->channel.id);
    if (!self->draining)
      relay_cluster_room_hosted (self->cluster, room->name, TRUE);
  }
  /* Joining again refreshes the key blob. */
  m = g_new0 (RoomMember, 1);
  m->fp = g_strdup (c->fp);
  memcpy (m->public_key, c->public_key, WZP_PUBLIC_KEY_LEN);
  m->key_blob = key_blob ? json_object_ref (key_blob) : NULL;
  g_hash_table_replace (room->members, m->fp, m);
  update_room_stats (self);
  WZP_INFO_OBJECT (self, "%s joined room '%s' (%u members)", c->fp,
      room->name, g_hash_table_size (room->members));

  members = json_array_new ();
  g_hash_table_iter_init (&it, room->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    RoomMember *other = value;
    if (other == m)
      continue;
    json_array_add_object_element (members, wzp_room_member_new (other->fp,
            other->public_key, other->key_blob));
  }
  reply = wzp_message_new_room_joined (room->name, room->channel.id, members);
  if (wzp_message_get_req (msg, &req))
    wzp_message_set_re (reply, req);
  _wzp_relay_add_media_relay (self, reply, c->fp);
  _wzp_relay_send (self, c, reply);
  broadcast (self, room, c->fp, wzp_message_new_room_update (room->name,
          "joined", c->fp, c->public_key, key_blob));
}

static RelayRoom *
own_room (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  const char *name;
  RelayRoom *room;

  if (!get_room (self, c, msg, &name))
    return NULL;
  room = g_hash_table_lookup (self->rooms, name);
  if (room == NULL || !g_hash_table_contains (room->members, c->fp)) {
    _wzp_relay_send_error (self, c, "not-in-room",
        "you are not a member of this room", msg);
    return NULL;
  }
  return room;
}

void
_wzp_relay_handle_leave_room (WzpRelay * self, RelayClient * c,
    JsonObject * msg)
{
  RelayRoom *room = own_room (self, c, msg);
  JsonObject *reply;
  guint32 req;

  if (room == NULL)
    return;
  reply = wzp_message_new_room_left (room->name);
  if (wzp_message_get_req (msg, &req))
    wzp_message_set_re (reply, req);
  remove_member (self, room, c->fp);
  _wzp_relay_send (self, c, reply);
}

void
_wzp_relay_handle_room_message (WzpRelay * self, RelayClient * c,
    JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = NULL;
  g_autofree char *to = NULL;
  RelayRoom *room = own_room (self, c, msg);

  if (room == NULL)
    return;
  if (!wzp_message_get_fingerprint (msg, "to", FALSE, &to, &error) ||
      !wzp_message_get_opaque (msg, "body", TRUE, WZP_MESSAGE_MAX_OPAQUE,
          &body, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (to) {
    if (!g_hash_table_contains (room->members, to)) {
      _wzp_relay_send_error (self, c, "not-in-room",
          "the recipient is not a member of this room", msg);
      return;
    }
    _wzp_relay_send_to (self, to, wzp_message_new_room_message (room->name,
            to, c->fp, body));
    return;
  }
  broadcast (self, room, c->fp, wzp_message_new_room_message (room->name,
          NULL, c->fp, body));
}

/* The current registration of @fp went away: leave every room. */
void
_wzp_relay_rooms_peer_gone (WzpRelay * self, const char *fp)
{
  GPtrArray *rooms = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->rooms);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    if (g_hash_table_contains (((RelayRoom *) value)->members, fp))
      g_ptr_array_add (rooms, value);
  }
  for (guint i = 0; i < rooms->len; i++)
    remove_member (self, g_ptr_array_index (rooms, i), fp);
  g_ptr_array_unref (rooms);
}

void
_wzp_relay_set_rooms_admit_anyone (WzpRelay * self, gboolean anyone)
{
  self->rooms_admit_anyone = anyone;
}

gboolean
_wzp_relay_inject_room_member (WzpRelay * self, const char *room_id,
    const char *fp, const guint8 public_key[WZP_PUBLIC_KEY_LEN],
    JsonObject * key_blob)
{
  RelayRoom *room = g_hash_table_lookup (self->rooms, room_id);
  RoomMember *m;

  if (room == NULL)
    return FALSE;
  m = g_new0 (RoomMember, 1);
  m->fp = g_strdup (fp);
  memcpy (m->public_key, public_key, WZP_PUBLIC_KEY_LEN);
  m->key_blob = key_blob ? json_object_ref (key_blob) : NULL;
  g_hash_table_replace (room->members, m->fp, m);
  update_room_stats (self);
  broadcast (self, room, fp, wzp_message_new_room_update (room->name,
          "joined", fp, public_key, key_blob));
  return TRUE;
}
