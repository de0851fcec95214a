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

#include "wzp-call.h"
#include "wzp-signal-client.h"
#include "wzp-media-crypto.h"
#include "wzp-room-invite.h"

G_BEGIN_DECLS

typedef struct _WzpCallRoom WzpCallRoom;

/* Checks the room settings before a call starts: a valid name; an owner
 * fingerprint or @open; an invitation for us unless we own the room or it
 * is open.  Sets a WZP_CALL_ERROR. */
gboolean _wzp_call_room_check_settings (const char *name, const char *owner,
    const char *invite, gboolean open, WzpIdentity * identity,
    GError ** error);

WzpCallRoom *_wzp_call_room_new (WzpCall * call, WzpSignalClient * signal,
    WzpIdentity * identity, WzpClock * clock, GMainContext * context,
    const char *name, const char *owner, const char *invite, gboolean open);
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

/* The room signals of WzpCall (see wzp-call.h), installed by its
 * class_init. */
void _wzp_call_room_install_signals (GObjectClass * klass);

/* Implemented by wzp-call.c. */
void _wzp_call_room_joined (WzpCall * call);

G_END_DECLS
