/* wzp-call-room.h — a call's membership of a multi-party room (private)
 *
 * The relay forwards a room's media datagrams to every other member and
 * cannot read them.  Each member seals its media with its own random
 * sender key and hands that key to each other member end to end:
 *
 *   join-room key_blob = { "eph": b64(X25519 pub), "sig": b64(Ed25519 over
 *                          "wzp-room-v1\0" || room || eph) }
 *   room-message body  = { "sender-key": b64(sealed 48-byte key) }
 *
 * The 48-byte sender key (key || iv || stream id) is sealed under a
 * pairwise key from X25519(our room eph, their room eph), derived like a
 * call's keys with call id = SHA-256(room)[:16], the sender as "caller".
 * Frames from a member are opened with the opener of the stream id in the
 * media header.
 */
#pragma once

#include "wzp-call.h"
#include "wzp-signal-client.h"
#include "wzp-media-crypto.h"

G_BEGIN_DECLS

typedef struct _WzpCallRoom WzpCallRoom;

WzpCallRoom *_wzp_call_room_new (WzpCall * call, WzpSignalClient * signal,
    WzpIdentity * identity, const char *room);
void _wzp_call_room_free (WzpCallRoom * room);
gboolean _wzp_call_room_join (WzpCallRoom * room, GError ** error);
WzpMediaSealer *_wzp_call_room_get_sealer (WzpCallRoom * room);
guint32 _wzp_call_room_get_channel (WzpCallRoom * room);
guint _wzp_call_room_get_n_members (WzpCallRoom * room);
WzpMediaOpener *_wzp_call_room_opener_for (WzpCallRoom * room,
    guint32 channel, const guint8 *data, gsize len, const char **sender);

/* Implemented by wzp-call.c. */
void _wzp_call_room_joined (WzpCall * call);

G_END_DECLS
