/* wzp-call-room.h — a call's membership of a multi-party room (private)
 *
 * The relay forwards a room's media datagrams to every other member and
 * cannot read them.  Each member seals its media with its own random
 * sender key and hands that key, end to end, only to the members the
 * room's owner admitted (wzp-room-invite.h); it makes a new key on every
 * join and leave.  docs/PROTOCOL.md ("Rooms: owners, invitations and
 * sender keys") has the messages, the timings and why.
 *
 *   wzp-call-room.c       joining, admission, members coming and going
 *   wzp-call-room-keys.c  the pairwise channel to each member, sender
 *                         keys, their rotation and the openers
 */
#pragma once

#include "wzp-call-private.h"
#include "wzp-signal-client.h"
#include "wzp-media-crypto.h"
#include "wzp-room-invite.h"

G_BEGIN_DECLS

typedef struct _WzpCallRoom WzpCallRoom;

/**
 * WzpCallRoomEvents:
 * @joined: the relay let us in (the first time, and after a rejoin)
 * @failed: the room cannot go on (not admitted, our invitation expired);
 *   @file, @function and @line say where; takes @reason
 * @member_joined: a member was admitted
 * @member_left: an admitted member left (or its invitation expired)
 * @rekeyed: we switched to a new sender key
 *
 * How a room tells its call what happened (the room calls nothing of the
 * call's directly).  All on the call's context.
 */
typedef struct
{
  void (*joined) (gpointer user_data);
  void (*failed) (gpointer user_data, const char *file, const char *function,
      int line, GError * reason);
  void (*member_joined) (gpointer user_data, const char *fingerprint);
  void (*member_left) (gpointer user_data, const char *fingerprint);
  void (*rekeyed) (gpointer user_data, const char *reason, guint stream_id,
      guint64 duration_ns, guint acked, guint members);
} WzpCallRoomEvents;

/* Checks the room settings before a call starts: a valid name; an owner
 * fingerprint or @open; an invitation for us unless we own the room or it
 * is open.  Sets a WZP_CALL_ERROR. */
gboolean _wzp_call_room_check_settings (const char *name, const char *owner,
    const char *invite, gboolean open, WzpIdentity * identity,
    GError ** error);

/* @events and @user_data must outlive the room. */
WzpCallRoom *_wzp_call_room_new (const WzpCallRoomEvents * events,
    gpointer user_data, WzpSignalClient * signal, WzpIdentity * identity,
    WzpClock * clock, GMainContext * context, const char *name,
    const char *owner, const char *invite, gboolean open);
void _wzp_call_room_free (WzpCallRoom * room);
gboolean _wzp_call_room_join (WzpCallRoom * room, GError ** error);
gboolean _wzp_call_room_leave (WzpCallRoom * room, GError ** error);
WzpMediaSealer *_wzp_call_room_get_sealer (WzpCallRoom * room);
guint32 _wzp_call_room_get_channel (WzpCallRoom * room);
/* The room id the relay knows it by (OWNER/NAME, or NAME). */
const char *_wzp_call_room_get_id (WzpCallRoom * room);
guint _wzp_call_room_get_n_members (WzpCallRoom * room);
WzpMediaOpener *_wzp_call_room_opener_for (WzpCallRoom * room,
    guint32 channel, const guint8 *data, gsize len, const char **sender);

/* Test hook: @func sees every sender key made or received. */
void _wzp_call_room_set_key_func (WzpCallRoom * room, WzpCallRoomKeyFunc func,
    gpointer user_data);

G_END_DECLS
