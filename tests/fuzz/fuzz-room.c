/* Fuzz target: room messages on the client, from the relay's bytes to
 * the members we admit: the signal client's message handler
 * (_wzp_signal_client_on_message: codec, room-joined / room-update /
 * room-message getters) and the call's room (lib/call/wzp-call-room.c and
 * -room-keys.c: each listed member's signed key blob and, in an owned
 * room, its invitation; the sealed sender keys and key acks).
 *
 * Input: a mode byte (bit 0: an owned room, owner = member 0, and we are
 * invited; else an open room), then operations, each an op byte and its
 * arguments:
 *   0: raw      u16 length, message bytes (room types only reach the
 *               client; parsing any message is fuzz-message's job)
 *   1: joined   member index (4 fixed identities), 32 bytes of ephemeral
 *               key, flags (bit 0: break the blob's signature, bit 1: the
 *               wrong public key, bit 2: a blob for another room, bit 3:
 *               carry an invitation from the owner, bit 4: ... made out to
 *               another member): a room-update "joined"
 *   2: list     channel u32, member count (0..4): room-joined listing
 *               members with valid blobs (and invitations)
 *   3: message  member index, flags (bit 0: key-ack, else sender-key),
 *               u16 length, bytes: a room-message body
 *   4: left     member index
 * Messages are built with the codec's builders, serialised, and fed as
 * bytes, the way they come off the connection.
 *
 * Checks beyond "does not crash": a listed member is admitted only with a
 * blob its own key signed for this room and, in an owned room, as the
 * owner or with the owner's invitation made out to it (a join with a
 * broken signature, a foreign key, another room's blob or a missing or
 * foreign invitation never adds one); "left" never adds a member; no
 * media opener appears for any stream, because no sender key can open
 * (our room eph is random, so the fuzzer cannot seal one for us: every
 * sender key it sends must be refused).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-log-private.h"
#include "wzp-call.h"
#include "wzp-call-room.h"
#include "wzp-message.h"
#include "wzp-room-invite.h"
#include "wzp-signal-client-private.h"

#define ROOM "fuzz-room"
#define N_MEMBERS 4
/* Far enough for every run: invitations must not expire mid-input. */
#define EXPIRES (G_GINT64_CONSTANT (4102444800))        /* 2100-01-01 */

static WzpIdentity *me;
static WzpIdentity *members[N_MEMBERS];
static WzpEndpoint *endpoint;
static WzpSignalClient *signal_client;
static char *owned_id;          /* "OWNER/fuzz-room" */
static char *my_invite;         /* token */

/* The room's events: what a call would do with them is not under test
 * here; the room's own state is. */
static void
ev_joined (gpointer user_data)
{
}

static void
ev_failed (gpointer user_data, const char *file, const char *function,
    int line, GError * reason)
{
  g_error_free (reason);
}

static void
ev_member (gpointer user_data, const char *fingerprint)
{
}

static void
ev_rekeyed (gpointer user_data, const char *reason, guint stream_id,
    guint64 duration_ns, guint acked, guint members)
{
}

static const WzpCallRoomEvents events = {
  ev_joined, ev_failed, ev_member, ev_member, ev_rekeyed,
};

static WzpIdentity *
fixed_identity (guint8 seed_byte)
{
  guint8 seed[WZP_PRIVATE_KEY_LEN];

  memset (seed, seed_byte, sizeof seed);
  return wzp_identity_new_from_seed (seed, NULL);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr (GSocketAddress) relay = NULL;
  g_autoptr (WzpRoomInvite) inv = NULL;

  fuzz_glib_setup ();
  /* Bad input is logged as such; the fuzzer does not need to read it. */
  wzp_log_parse_spec ("0");
  me = fixed_identity (0x40);
  for (guint i = 0; i < N_MEMBERS; i++)
    members[i] = fixed_identity (0x41 + i);
  /* Never bound or started: messages are fed by hand. */
  endpoint = wzp_endpoint_new (NULL, me, NULL, NULL);
  relay = wzp_socket_address_parse ("127.0.0.1:9", NULL);
  signal_client = wzp_signal_client_new (endpoint, relay, NULL);
  owned_id = wzp_room_id_new (wzp_identity_get_fingerprint (members[0]), ROOM,
      NULL);
  inv = wzp_room_invite_new (members[0], ROOM,
      wzp_identity_get_fingerprint (me), EXPIRES, NULL);
  my_invite = wzp_room_invite_to_token (inv);
  return 0;
}

static void
feed (JsonObject * msg)
{
  GBytes *b = wzp_message_to_bytes (msg);

  _wzp_signal_client_on_message (NULL, b, signal_client);
  g_bytes_unref (b);
  json_object_unref (msg);
}

/* {eph, sig[, invite]} as a member signs it (PROTOCOL.md, "Rooms:
 * owners, invitations and sender keys"). */
static JsonObject *
key_blob (guint idx, const guint8 * eph, const char *room_id,
    gboolean break_sig, gboolean owned, gint invite_for)
{
  JsonObject *blob = json_object_new ();
  GByteArray *b = g_byte_array_new ();
  guint8 sig[WZP_SIGNATURE_LEN];

  g_byte_array_append (b, (const guint8 *) "wzp-room-v1", 12);
  g_byte_array_append (b, (const guint8 *) room_id, strlen (room_id));
  g_byte_array_append (b, eph, 32);
  wzp_identity_sign (members[idx], b->data, b->len, sig);
  g_byte_array_unref (b);
  if (break_sig)
    sig[5] ^= 0x20;
  wzp_message_set_bytes (blob, "eph", eph, 32);
  wzp_message_set_bytes (blob, "sig", sig, sizeof sig);
  if (owned && invite_for >= 0) {
    WzpRoomInvite *inv = wzp_room_invite_new (members[0], ROOM,
        wzp_identity_get_fingerprint (members[invite_for]), EXPIRES, NULL);
    json_object_set_object_member (blob, "invite",
        wzp_room_invite_to_json (inv));
    wzp_room_invite_free (inv);
  }
  return blob;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  FuzzInput in;
  gboolean owned;
  const char *room_id;
  WzpCallRoom *room;

  fuzz_input_init (&in, data, size);
  owned = fuzz_u8 (&in) & 1;
  room_id = owned ? owned_id : ROOM;
  room = _wzp_call_room_new (&events, NULL, signal_client, me,
      wzp_clock_get_system (), g_main_context_default (), ROOM,
      owned ? wzp_identity_get_fingerprint (members[0]) : NULL,
      owned ? my_invite : NULL, !owned);
  /* Makes the room's keys; sending join-room fails (not connected), and
   * that is fine: the relay's answers are what we feed. */
  _wzp_call_room_join (room, NULL);
  while (in.left > 0) {
    guint8 op = fuzz_u8 (&in) % 5;
    guint idx;

    switch (op) {
      case 0:{
        const guint8 *bytes;
        gsize len = fuzz_bytes (&in, fuzz_u16 (&in), &bytes);
        WzpMessageType type;
        JsonObject *msg = wzp_message_parse (bytes, len, &type, NULL);

        if (msg == NULL)
          break;
        json_object_unref (msg);
        if (type == WZP_MSG_ROOM_JOINED || type == WZP_MSG_ROOM_UPDATE ||
            type == WZP_MSG_ROOM_MESSAGE || type == WZP_MSG_ROOM_LEFT) {
          GBytes *b = g_bytes_new (bytes, len);
          _wzp_signal_client_on_message (NULL, b, signal_client);
          g_bytes_unref (b);
        }
        break;
      }
      case 1:{
        const guint8 *eph;
        guint8 eph32[32] = { 0 }, flags, pk[WZP_PUBLIC_KEY_LEN];
        JsonObject *blob;
        guint before = _wzp_call_room_get_n_members (room), after;
        gboolean admissible;
        gint invite_for;
        gsize n;

        idx = fuzz_u8 (&in) % N_MEMBERS;
        n = fuzz_bytes (&in, 32, &eph);
        memcpy (eph32, eph, n);
        flags = fuzz_u8 (&in);
        invite_for = !(flags & 8) ? -1 :
            flags & 16 ? (gint) ((idx + 1) % N_MEMBERS) : (gint) idx;
        blob = key_blob (idx, eph32, flags & 4 ? "other" : room_id, flags & 1,
            owned, invite_for);
        wzp_identity_get_public_key (members[flags & 2 ?
                (idx + 1) % N_MEMBERS : idx], pk);
        feed (wzp_message_new_room_update (room_id, "joined",
                wzp_identity_get_fingerprint (members[idx]), pk, blob));
        json_object_unref (blob);
        after = _wzp_call_room_get_n_members (room);
        admissible = !(flags & 7) &&
            (!owned || idx == 0 || invite_for == (gint) idx);
        /* A good join adds the member (or replaces it: a new eph).  A bad
         * one never adds; it drops a member already there (it lost its
         * admission, PROTOCOL.md "Rooms"). */
        if (admissible)
          FUZZ_CHECK (after == before || after == before + 1);
        else
          FUZZ_CHECK (after <= before);
        break;
      }
      case 2:{
        guint32 channel = fuzz_u32 (&in);
        guint n = fuzz_u8 (&in) % (N_MEMBERS + 1);
        JsonArray *list = json_array_new ();

        for (guint i = 0; i < n; i++) {
          guint8 eph32[32], pk[WZP_PUBLIC_KEY_LEN];
          JsonObject *blob;

          memset (eph32, 0x60 + i, sizeof eph32);
          blob = key_blob (i, eph32, room_id, FALSE, owned, i ? (gint) i : -1);
          wzp_identity_get_public_key (members[i], pk);
          json_array_add_object_element (list, wzp_room_member_new
              (wzp_identity_get_fingerprint (members[i]), pk, blob));
          json_object_unref (blob);
        }
        feed (wzp_message_new_room_joined (room_id, channel, list));
        json_array_unref (list);
        FUZZ_CHECK (_wzp_call_room_get_n_members (room) == n);
        break;
      }
      case 3:{
        const guint8 *sealed;
        gsize len;
        guint8 flags;
        JsonObject *body = json_object_new ();

        idx = fuzz_u8 (&in) % N_MEMBERS;
        flags = fuzz_u8 (&in);
        len = fuzz_bytes (&in, fuzz_u16 (&in) % 1400, &sealed);
        wzp_message_set_bytes (body, flags & 1 ? "key-ack" : "sender-key",
            sealed, len);
        feed (wzp_message_new_room_message (room_id, NULL,
                wzp_identity_get_fingerprint (members[idx]), body));
        json_object_unref (body);
        break;
      }
      case 4:{
        guint before = _wzp_call_room_get_n_members (room);

        idx = fuzz_u8 (&in) % N_MEMBERS;
        feed (wzp_message_new_room_update (room_id, "left",
                wzp_identity_get_fingerprint (members[idx]), NULL, NULL));
        FUZZ_CHECK (_wzp_call_room_get_n_members (room) <= before);
        break;
      }
    }
    FUZZ_CHECK (_wzp_call_room_get_n_members (room) <= N_MEMBERS);
  }

  /* No sender key opened, so no media opener for any stream. */
  {
    guint8 pkt[64] = { 0x10, 1 };
    const char *sender = NULL;

    for (guint32 s = 0; s < 4; s++) {
      pkt[2] = (guint8) s;
      FUZZ_CHECK (_wzp_call_room_opener_for (room,
              _wzp_call_room_get_channel (room), pkt, sizeof pkt,
              &sender) == NULL);
    }
  }
  _wzp_call_room_free (room);
  return 0;
}
