/* wzp — the signaling codec: versioned JSON messages, strictly validated
 *
 * Every signaling message is one JSON object in one framed message of the
 * connection:
 *
 *   {"v": 1, "type": "call", "req": 7, ...fields}
 *
 * "req" (optional) is a client request id; a reply or error about it
 * carries "re".  wzp_message_parse() checks the envelope (size, JSON
 * object, version, known type); the typed getters check one field each
 * and produce errors that name the message and the field.  The builders
 * make one message of each type.  See docs/PROTOCOL.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "wzp-version.h"
#include "wzp-identity-private.h"

G_BEGIN_DECLS

/* Largest message we parse or build.  The QUIC layer limits frames too,
 * but signaling never needs more than this. */
#define WZP_MESSAGE_MAX_SIZE (16 * 1024)
/* Opaque objects the relay forwards: offers, answers, room messages. */
#define WZP_MESSAGE_MAX_OPAQUE (4 * 1024)
/* A room member's key blob. */
#define WZP_MESSAGE_MAX_KEY_BLOB 1024
/* A room id: NAME (open room) or OWNER-FINGERPRINT/NAME, see
 * wzp-room-invite.h (39 + 1 + 64 bytes). */
#define WZP_MESSAGE_MAX_ROOM_LEN 104
#define WZP_MESSAGE_MAX_TEXT_LEN 512
#define WZP_CHALLENGE_LEN 32
#define WZP_PROBE_TOKEN_LEN 16
#define WZP_CALL_ID_BYTES 16
/* 32 hex digits */
#define WZP_CALL_ID_LEN (2 * WZP_CALL_ID_BYTES)
/* Candidate addresses in one message (as WZP_CANDIDATES_MAX). */
#define WZP_MESSAGE_MAX_CANDIDATES 16

/* What a registration signs: this prefix (with its NUL), the relay's
 * challenge, then the public key. */
#define WZP_REGISTER_CONTEXT "wzp-register-v1"
/* Or, without waiting for a challenge (PROTOCOL.md §3): this prefix, the
 * TLS exporter value of the signaling connection under this label, then
 * the public key. */
#define WZP_REGISTER_CONTEXT_V2 "wzp-register-v2"
#define WZP_REGISTER_EXPORTER_LABEL "EXPORTER-wzp-register"
#define WZP_REGISTER_BINDING_LEN 32
#define WZP_REGISTER_BINDING_EXPORTER "tls-exporter"

/* Raw UDP probe: [0x02][16-byte token] */
#define WZP_PROBE_PACKET_TYPE 0x02
#define WZP_PROBE_PACKET_LEN (1 + WZP_PROBE_TOKEN_LEN)

/* Media through the relay: QUIC datagram [0x10][channel u32 BE][payload] */
#define WZP_RELAY_MEDIA_TYPE 0x10
#define WZP_RELAY_MEDIA_HEADER_LEN 5

/* Application close codes on the signaling connection. */
#define WZP_CLOSE_NORMAL 0
#define WZP_CLOSE_SUPERSEDED 0x101
#define WZP_CLOSE_REFUSED 0x102
#define WZP_CLOSE_SHUTDOWN 0x103
/* On the direct connection between two peers: the call was hung up (so
 * the far end learns it even when the relay cannot tell it). */
#define WZP_CLOSE_HANGUP 0x104
/* A relay limit refused or ended the connection (the reason says which:
 * "registration-timeout", "max-registrations-per-source", ...); the
 * client may try again later. */
#define WZP_CLOSE_LIMIT 0x105

#define WZP_MESSAGE_ERROR (wzp_message_error_quark ())
GQuark wzp_message_error_quark (void);

/**
 * WzpMessageError:
 * @WZP_MESSAGE_ERROR_TOO_LARGE: above %WZP_MESSAGE_MAX_SIZE
 * @WZP_MESSAGE_ERROR_MALFORMED: not JSON, or not an object
 * @WZP_MESSAGE_ERROR_VERSION: "v" missing or not 1
 * @WZP_MESSAGE_ERROR_UNKNOWN_TYPE: "type" missing or not a known type
 * @WZP_MESSAGE_ERROR_MISSING_FIELD: a required field is absent (or null)
 * @WZP_MESSAGE_ERROR_WRONG_TYPE: a field has the wrong JSON type
 * @WZP_MESSAGE_ERROR_INVALID_VALUE: right type, bad value (not a
 *   fingerprint, wrong length, out of range...)
 */
typedef enum
{
  WZP_MESSAGE_ERROR_TOO_LARGE,
  WZP_MESSAGE_ERROR_MALFORMED,
  WZP_MESSAGE_ERROR_VERSION,
  WZP_MESSAGE_ERROR_UNKNOWN_TYPE,
  WZP_MESSAGE_ERROR_MISSING_FIELD,
  WZP_MESSAGE_ERROR_WRONG_TYPE,
  WZP_MESSAGE_ERROR_INVALID_VALUE,
} WzpMessageError;

typedef enum
{
  WZP_MSG_INVALID = 0,
  /* relay -> client */
  WZP_MSG_HELLO,
  WZP_MSG_REGISTERED,
  WZP_MSG_ERROR,
  WZP_MSG_REFLECTED,
  WZP_MSG_PROBE_RESULT,
  WZP_MSG_CALL_RINGING,
  WZP_MSG_INCOMING_CALL,
  WZP_MSG_CALL_SETUP,
  WZP_MSG_CALL_ENDED,
  WZP_MSG_ROOM_JOINED,
  WZP_MSG_ROOM_LEFT,
  WZP_MSG_ROOM_UPDATE,
  WZP_MSG_PEER_CANDIDATES,
  WZP_MSG_CALL_RESUMED,
  /* client -> relay */
  WZP_MSG_REGISTER,
  WZP_MSG_REFLECT,
  WZP_MSG_PROBE_REQUEST,
  WZP_MSG_CALL,
  WZP_MSG_ANSWER,
  WZP_MSG_REJECT,
  WZP_MSG_HANGUP,
  WZP_MSG_JOIN_ROOM,
  WZP_MSG_LEAVE_ROOM,
  WZP_MSG_UPDATE_CANDIDATES,
  WZP_MSG_RESUME_CALL,
  WZP_MSG_CHANNEL_REBIND,
  /* both directions */
  WZP_MSG_ROOM_MESSAGE,
  /* cluster (docs/CLUSTER.md): client -> relay, relay -> client */
  WZP_MSG_LEG,
  WZP_MSG_MOVE,
  WZP_MSG_N_TYPES
} WzpMessageType;

const char *wzp_message_type_to_string (WzpMessageType type);
WzpMessageType wzp_message_type_from_string (const char *name);

/* --- parsing ---------------------------------------------------------- */

JsonObject *wzp_message_parse (const guint8 * data, gsize len,
    WzpMessageType * type, GError ** error);

WzpMessageType wzp_message_get_msg_type (JsonObject * msg);
gboolean wzp_message_get_req (JsonObject * msg, guint32 * req);
gboolean wzp_message_get_re (JsonObject * msg, guint32 * re);

/* Typed getters.  With @required FALSE a missing or null field is not an
 * error: the output is set to NULL / 0 and TRUE returned.  Errors read
 * "call: field 'to' missing", "call: field 'to' is not a fingerprint". */
gboolean wzp_message_get_string (JsonObject * msg, const char *field,
    gboolean required, gsize max_len, const char **out, GError ** error);
gboolean wzp_message_get_uint (JsonObject * msg, const char *field,
    gboolean required, guint64 max, guint64 * out, GError ** error);
gboolean wzp_message_get_fingerprint (JsonObject * msg,
    const char *field, gboolean required, char **out, GError ** error);
gboolean wzp_message_get_bytes (JsonObject * msg, const char *field,
    gboolean required, gsize exact_len, gsize max_len, GBytes ** out,
    GError ** error);
gboolean wzp_message_get_opaque (JsonObject * msg, const char *field,
    gboolean required, gsize max_size, JsonObject ** out, GError ** error);
gboolean wzp_message_get_address (JsonObject * msg, const char *field,
    gboolean required, GSocketAddress ** out, GError ** error);
gboolean wzp_message_get_call_id (JsonObject * msg, const char *field,
    char **out, GError ** error);
gboolean wzp_message_get_room (JsonObject * msg, const char *field,
    const char **out, GError ** error);
gboolean wzp_message_get_array (JsonObject * msg, const char *field,
    guint max_len, JsonArray ** out, GError ** error);
gboolean wzp_message_get_address_list (JsonObject * msg,
    const char *field, guint max_len, char ***out, GError ** error);

gboolean wzp_call_id_is_valid (const char *call_id);
gsize wzp_json_object_serialized_size (JsonObject * object);

/* --- building --------------------------------------------------------- */

JsonObject *wzp_message_new (WzpMessageType type);
void wzp_message_set_req (JsonObject * msg, guint32 req);
void wzp_message_set_re (JsonObject * msg, guint32 re);
void wzp_message_set_bytes (JsonObject * msg, const char *field,
    const guint8 * data, gsize len);
GBytes *wzp_message_to_bytes (JsonObject * msg);

GBytes *wzp_register_signed_data (const guint8
    challenge[WZP_CHALLENGE_LEN], const guint8 public_key[WZP_PUBLIC_KEY_LEN]);

JsonObject *wzp_message_new_hello (const char *relay_fp,
    const guint8 challenge[WZP_CHALLENGE_LEN], const char *observed_addr,
    const char *probe_addr);
JsonObject *wzp_message_new_register (WzpIdentity * identity,
    const guint8 challenge[WZP_CHALLENGE_LEN]);
GBytes *wzp_register_bound_signed_data (const guint8
    binding[WZP_REGISTER_BINDING_LEN],
    const guint8 public_key[WZP_PUBLIC_KEY_LEN]);
JsonObject *wzp_message_new_register_bound (WzpIdentity * identity,
    const guint8 binding[WZP_REGISTER_BINDING_LEN]);
JsonObject *wzp_message_new_registered (const char *fingerprint,
    const char *observed_addr);
JsonObject *wzp_message_new_error (const char *code,
    const char *message, gint64 re);
JsonObject *wzp_message_new_reflect (void);
JsonObject *wzp_message_new_reflected (const char *observed_addr);
JsonObject *wzp_message_new_probe_request (const guint8
    token[WZP_PROBE_TOKEN_LEN]);
JsonObject *wzp_message_new_probe_result (const guint8
    token[WZP_PROBE_TOKEN_LEN], const char *observed_addr);
JsonObject *wzp_message_new_update_candidates (const char *call_id,
    const char *const *candidates, const char *nat);
JsonObject *wzp_message_new_peer_candidates (const char *call_id,
    const char *const *candidates, const char *peer_reflexive,
    const char *peer_nat);
JsonObject *wzp_message_new_call (const char *to,
    const char *call_id, JsonObject * offer);
JsonObject *wzp_message_new_call_ringing (const char *call_id);
JsonObject *wzp_message_new_incoming_call (const char *call_id,
    const char *from, const guint8 from_public_key[WZP_PUBLIC_KEY_LEN],
    JsonObject * offer);
JsonObject *wzp_message_new_answer (const char *call_id,
    JsonObject * answer);
JsonObject *wzp_message_new_reject (const char *call_id);
JsonObject *wzp_message_new_hangup (const char *call_id);
JsonObject *wzp_message_new_call_setup (const char *call_id,
    const char *peer, const guint8 peer_public_key[WZP_PUBLIC_KEY_LEN],
    JsonObject * peer_offer_or_answer, const char *peer_reflexive,
    guint32 channel, const char *role);
JsonObject *wzp_message_new_call_ended (const char *call_id,
    const char *reason);
JsonObject *wzp_message_new_join_room (const char *room,
    JsonObject * key_blob);
JsonObject *wzp_message_new_leave_room (const char *room);
JsonObject *wzp_message_new_room_joined (const char *room,
    guint32 channel, JsonArray * members);
JsonObject *wzp_message_new_room_left (const char *room);
JsonObject *wzp_message_new_room_update (const char *room,
    const char *event, const char *fingerprint,
    const guint8 public_key[WZP_PUBLIC_KEY_LEN], JsonObject * key_blob);
JsonObject *wzp_message_new_room_message (const char *room,
    const char *to, const char *from, JsonObject * body);
JsonObject *wzp_message_new_leg (void);
JsonObject *wzp_message_new_move (JsonArray * relays);
JsonObject *wzp_room_member_new (const char *fingerprint,
    const guint8 public_key[WZP_PUBLIC_KEY_LEN], JsonObject * key_blob);

G_END_DECLS
