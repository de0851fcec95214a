/* wzp — room names and the invitations a room's owner signs
 *
 * A room is named by its owner's fingerprint and a name:
 *
 *   "OWNER-FINGERPRINT/NAME"   an owned room: only the owner and the
 *                              holders of an invitation signed by the
 *                              owner are members
 *   "NAME"                     an open room: anyone who knows the name
 *                              (not confidential from the relay)
 *
 * NAME is 1..64 bytes of UTF-8 without control characters and without
 * '/'.  The relay keys rooms by this id, and a client that joins an owned
 * room presents an invitation the relay checks; the members check it too
 * and hand their sender keys only to admitted members, so neither a
 * stranger with the name nor the relay itself learns a key.
 *
 * An invitation admits one member fingerprint to one room until a time:
 *
 *   { "room": NAME, "owner_key": b64(owner's Ed25519 public key, 32),
 *     "member": FINGERPRINT, "expires": unix seconds,
 *     "sig": b64(64) }
 *
 * sig is the owner's signature over
 *
 *   "wzp-invite-v1\0" || owner_key (32) || u8 len(NAME) || NAME ||
 *   member fingerprint (39 ASCII bytes) || expires (u64 big-endian)
 *
 * As text (properties, command lines, files) an invitation is a token:
 * "wzpinv1." followed by the unpadded base64url of its compact JSON.
 *
 * A WzpRoomInvite in memory always carries a valid owner signature: the
 * parsers verify it; wzp_room_invite_check() then says whether it admits
 * a given member to a given room at a given time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "wzp-version.h"
#include "wzp-identity-private.h"

G_BEGIN_DECLS

/* Bytes of a room name (the part after the owner). */
#define WZP_ROOM_NAME_MAX_LEN 64
/* Bytes of a room id: owner fingerprint, '/', name. */
#define WZP_ROOM_ID_MAX_LEN (WZP_FINGERPRINT_LEN + 1 + WZP_ROOM_NAME_MAX_LEN)
#define WZP_ROOM_INVITE_CONTEXT "wzp-invite-v1"
#define WZP_ROOM_INVITE_TOKEN_PREFIX "wzpinv1."
/* An invitation as compact JSON is well below this. */
#define WZP_ROOM_INVITE_MAX_SIZE 512

#define WZP_ROOM_INVITE_ERROR (wzp_room_invite_error_quark ())
GQuark wzp_room_invite_error_quark (void);

/**
 * WzpRoomInviteError:
 * @WZP_ROOM_INVITE_ERROR_MALFORMED: not an invitation (a field is
 *   missing, of the wrong type or size, or the token is not base64url)
 * @WZP_ROOM_INVITE_ERROR_BAD_SIGNATURE: the owner's signature does not
 *   verify
 * @WZP_ROOM_INVITE_ERROR_WRONG_ROOM: signed for another room or by
 *   another owner
 * @WZP_ROOM_INVITE_ERROR_WRONG_MEMBER: signed for another member
 * @WZP_ROOM_INVITE_ERROR_EXPIRED: past its expiry time
 * @WZP_ROOM_INVITE_ERROR_BAD_ROOM: not a room id or room name
 */
typedef enum
{
  WZP_ROOM_INVITE_ERROR_MALFORMED,
  WZP_ROOM_INVITE_ERROR_BAD_SIGNATURE,
  WZP_ROOM_INVITE_ERROR_WRONG_ROOM,
  WZP_ROOM_INVITE_ERROR_WRONG_MEMBER,
  WZP_ROOM_INVITE_ERROR_EXPIRED,
  WZP_ROOM_INVITE_ERROR_BAD_ROOM,
} WzpRoomInviteError;

/* --- room ids --------------------------------------------------------- */

gboolean wzp_room_name_is_valid (const char *name);

/* "OWNER/NAME" for an owned room (@owner_fp canonical), "NAME" for an
 * open one (@owner_fp NULL).  NULL when the name or owner is invalid. */
char *wzp_room_id_new (const char *owner_fp, const char *name,
    GError ** error);

/* Splits a room id; *@owner_fp is NULL for an open room. */
gboolean wzp_room_id_parse (const char *room_id, char **owner_fp,
    char **name, GError ** error);

/* --- invitations ------------------------------------------------------ */

/**
 * WzpRoomInvite:
 * @room: the room name (without the owner)
 * @owner_key: the owner's Ed25519 public key
 * @owner: the owner's fingerprint (of @owner_key)
 * @member: the admitted member's fingerprint
 * @expires: end of validity, seconds since the Unix epoch
 * @sig: the owner's signature
 */
typedef struct
{
  char *room;
  guint8 owner_key[WZP_PUBLIC_KEY_LEN];
  char *owner;
  char *member;
  gint64 expires;
  guint8 sig[WZP_SIGNATURE_LEN];
} WzpRoomInvite;

WzpRoomInvite *wzp_room_invite_new (WzpIdentity * owner,
    const char *room_name, const char *member_fp, gint64 expires,
    GError ** error);
WzpRoomInvite *wzp_room_invite_copy (const WzpRoomInvite * invite);
void wzp_room_invite_free (WzpRoomInvite * invite);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpRoomInvite, wzp_room_invite_free)

/* Strict parse of the JSON object, signature verified. */
WzpRoomInvite *wzp_room_invite_from_json (JsonObject * object,
    GError ** error);
JsonObject *wzp_room_invite_to_json (const WzpRoomInvite * invite);

WzpRoomInvite *wzp_room_invite_from_token (const char *token,
    GError ** error);
char *wzp_room_invite_to_token (const WzpRoomInvite * invite);

/* TRUE when @invite admits @member_fp to the room @room_id at
 * @now_unix (seconds). */
gboolean wzp_room_invite_check (const WzpRoomInvite * invite,
    const char *room_id, const char *member_fp, gint64 now_unix,
    GError ** error);

G_END_DECLS
