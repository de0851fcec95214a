/* test-room.c — rooms: invitations, admission by the owner, sender keys
 * that rotate on every join and leave.
 *
 * Real calls on loopback through an in-process relay, all on one main
 * context.  A "tap" is a raw signaling client the relay lets into the
 * room (it holds an invitation) but that the members never admit (its key
 * blob has no key): it receives every media datagram of the room, as the
 * relay does, and the tests try to open them with the keys a departed
 * member or a newcomer held.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "wzp-call.h"
#include "wzp-call-private.h"
#include "wzp-room-invite.h"
#include "wzp-media-packet.h"
#include "wzp-message.h"
#include "wzp-relay-private.h"
#include "wzp-signal-client.h"
#include "wzp-test-util.h"

#define WAIT_MS 15000
#define ROOM "standup"

typedef struct
{
  GMainContext *ctx;
  WzpRelay *relay;
  char *relay_addr;
  GSocketAddress *relay_sockaddr;
} Fixture;

/* --- parties (WzpCall) ------------------------------------------------ */

typedef struct
{
  gint64 at;
  char *reason;
} Rekey;

typedef struct
{
  WzpIdentity *id;
  WzpCall *call;
  GHashTable *senders;          /* fingerprint -> frames received */
  GHashTable *last_seq;         /* fingerprint -> last seq + 1 */
  guint max_seq_jump;           /* over all senders */
  GHashTable *frames_after;     /* fingerprint -> frames after mark */
  gint64 mark;
  GPtrArray *keys;              /* WzpMediaKey *: every key it held */
  GPtrArray *rekeys;            /* Rekey * */
  GPtrArray *joined;            /* fingerprints */
  GPtrArray *left;              /* fingerprints */
  GError *error;
  guint32 send_seq;
} Party;

static void
rekey_free (Rekey * r)
{
  g_free (r->reason);
  g_free (r);
}

static void
on_frame (const WzpCallFrame * frame, gpointer user_data)
{
  Party *p = user_data;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (p->senders,
          frame->sender));
  gpointer last;

  g_hash_table_insert (p->senders, g_strdup (frame->sender),
      GUINT_TO_POINTER (n + 1));
  if (g_hash_table_lookup_extended (p->last_seq, frame->sender, NULL, &last)) {
    guint32 expect = GPOINTER_TO_UINT (last);
    guint jump = frame->seq > expect ? frame->seq - expect : expect -
        frame->seq;
    p->max_seq_jump = MAX (p->max_seq_jump, jump);
  }
  g_hash_table_insert (p->last_seq, g_strdup (frame->sender),
      GUINT_TO_POINTER (frame->seq + 1));
  if (p->mark && g_get_monotonic_time () >= p->mark) {
    n = GPOINTER_TO_UINT (g_hash_table_lookup (p->frames_after, frame->sender));
    g_hash_table_insert (p->frames_after, g_strdup (frame->sender),
        GUINT_TO_POINTER (n + 1));
  }
}

static void
on_state (WzpCall * call, WzpCallState state, GError * reason,
    gpointer user_data)
{
  Party *p = user_data;

  if (state == WZP_CALL_STATE_FAILED || state == WZP_CALL_STATE_ENDED) {
    g_clear_error (&p->error);
    p->error = reason ? g_error_copy (reason) : NULL;
  }
}

static void
on_key (const char *owner, const WzpMediaKey * key, gpointer user_data)
{
  Party *p = user_data;

  g_ptr_array_add (p->keys, g_memdup2 (key, sizeof *key));
}

static void
on_rekeyed (WzpCall * call, const char *reason, guint stream, guint64 took,
    guint acked, guint members, gpointer user_data)
{
  Party *p = user_data;
  Rekey *r = g_new0 (Rekey, 1);

  r->at = g_get_monotonic_time ();
  r->reason = g_strdup (reason);
  g_ptr_array_add (p->rekeys, r);
}

static void
on_member_joined (WzpCall * call, const char *fp, gpointer user_data)
{
  g_ptr_array_add (((Party *) user_data)->joined, g_strdup (fp));
}

static void
on_member_left (WzpCall * call, const char *fp, gpointer user_data)
{
  g_ptr_array_add (((Party *) user_data)->left, g_strdup (fp));
}

static void
key_free (gpointer k)
{
  wzp_media_key_clear (k);
  g_free (k);
}

static Party *
party_new (Fixture * f, WzpIdentity * owner, const char *room)
{
  Party *p = g_new0 (Party, 1);

  p->id = wzp_identity_generate ();
  p->call = wzp_call_new (f->ctx, p->id, f->relay_addr);
  g_object_set (p->call, "room", room, "room-owner",
      owner ? wzp_identity_get_fingerprint (owner) : NULL,
      "room-open", owner == NULL, "path-policy", WZP_PATH_POLICY_RELAY_ONLY,
      NULL);
  p->senders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  p->last_seq = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  p->frames_after = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  p->keys = g_ptr_array_new_with_free_func (key_free);
  p->rekeys = g_ptr_array_new_with_free_func ((GDestroyNotify) rekey_free);
  p->joined = g_ptr_array_new_with_free_func (g_free);
  p->left = g_ptr_array_new_with_free_func (g_free);
  wzp_call_set_frame_handler (p->call, on_frame, p, NULL);
  g_signal_connect (p->call, "state-changed", G_CALLBACK (on_state), p);
  g_signal_connect (p->call, "room-rekeyed", G_CALLBACK (on_rekeyed), p);
  g_signal_connect (p->call, "room-member-joined",
      G_CALLBACK (on_member_joined), p);
  g_signal_connect (p->call, "room-member-left", G_CALLBACK (on_member_left),
      p);
  return p;
}

static char *
make_invite (WzpIdentity * owner, const char *room, WzpIdentity * member,
    gint64 valid_s)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpRoomInvite) inv = wzp_room_invite_new (owner, room,
      wzp_identity_get_fingerprint (member),
      g_get_real_time () / G_USEC_PER_SEC + valid_s, &error);

  g_assert_no_error (error);
  return wzp_room_invite_to_token (inv);
}

/* A member of @owner's room ROOM with an invitation valid @valid_s. */
static Party *
guest_new (Fixture * f, Party * owner, gint64 valid_s)
{
  Party *p = party_new (f, owner->id, ROOM);
  g_autofree char *token = make_invite (owner->id, ROOM, p->id, valid_s);

  g_object_set (p->call, "room-invite", token, NULL);
  return p;
}

static void
party_free (Party * p)
{
  g_signal_handlers_disconnect_by_data (p->call, p);
  wzp_call_set_frame_handler (p->call, NULL, NULL, NULL);
  g_object_unref (p->call);
  g_object_unref (p->id);
  g_hash_table_unref (p->senders);
  g_hash_table_unref (p->last_seq);
  g_hash_table_unref (p->frames_after);
  g_ptr_array_unref (p->keys);
  g_ptr_array_unref (p->rekeys);
  g_ptr_array_unref (p->joined);
  g_ptr_array_unref (p->left);
  g_clear_error (&p->error);
  g_free (p);
}

static const char *
fp (Party * p)
{
  return wzp_identity_get_fingerprint (p->id);
}

static gboolean
is (Party * p, WzpCallState s)
{
  return wzp_call_get_state (p->call) == s;
}

static void
start (Fixture * f, Party * p)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (wzp_call_start (p->call, &error));
  g_assert_no_error (error);
  _wzp_call_set_room_key_func (p->call, on_key, p);
  wzp_test_wait_until (f->ctx, is (p, WZP_CALL_STATE_ACTIVE), WAIT_MS);
}

static guint
frames_from (Party * p, Party * from)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (p->senders, fp (from)));
}

static guint
frames_after_from (Party * p, Party * from)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (p->frames_after, fp (from)));
}

static gboolean
has_string (GPtrArray * a, const char *s)
{
  for (guint i = 0; i < a->len; i++)
    if (g_strcmp0 (g_ptr_array_index (a, i), s) == 0)
      return TRUE;
  return FALSE;
}

/* The last rekey of @p for @reason, or NULL. */
static Rekey *
rekey_for (Party * p, const char *reason)
{
  for (guint i = p->rekeys->len; i > 0; i--) {
    Rekey *r = g_ptr_array_index (p->rekeys, i - 1);
    if (g_strcmp0 (r->reason, reason) == 0)
      return r;
  }
  return NULL;
}

/* Every party sends one frame per 20 ms for @ms. */
static void
talk (Fixture * f, Party ** parties, guint n, guint ms)
{
  for (guint t = 0; t < ms; t += 20) {
    for (guint k = 0; k < n; k++) {
      Party *p = parties[k];
      char payload[80];

      memset (payload, 0xa5, sizeof payload);
      wzp_call_send_frame (p->call, p->send_seq * 960, p->send_seq == 0,
          (const guint8 *) payload, sizeof payload);
      p->send_seq++;
    }
    wzp_test_run_for (f->ctx, 20);
  }
}

/* --- raw clients: the tap, strangers, a fake member ------------------- */

typedef struct
{
  gint64 at;
  GBytes *packet;
} Tapped;

typedef struct
{
  WzpIdentity *id;
  WzpEndpoint *ep;
  WzpSignalClient *sc;
  GPtrArray *errors;            /* messages */
  guint messages;               /* room-messages received */
  guint key_messages;           /* of them, with a sender key */
  guint joined;
  GPtrArray *tapped;            /* Tapped * */
  WzpX25519Key *eph;
} Raw;

static void
tapped_free (Tapped * t)
{
  g_bytes_unref (t->packet);
  g_free (t);
}

static void
raw_on_error (WzpSignalClient * sc, const GError * error, Raw * r)
{
  g_ptr_array_add (r->errors, g_strdup (error->message));
}

static void
raw_on_joined (WzpSignalClient * sc, const char *room, guint channel,
    JsonArray * members, Raw * r)
{
  r->joined++;
}

static void
raw_on_message (WzpSignalClient * sc, const char *room, const char *from,
    JsonObject * body, Raw * r)
{
  r->messages++;
  if (json_object_has_member (body, "sender-key"))
    r->key_messages++;
}

static void
raw_on_media (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  Raw *r = user_data;
  Tapped *t = g_new0 (Tapped, 1);

  t->at = g_get_monotonic_time ();
  t->packet = g_bytes_new (data, len);
  g_ptr_array_add (r->tapped, t);
}

static gboolean
raw_registered (Raw * r)
{
  return wzp_signal_client_get_state (r->sc) == WZP_SIGNAL_STATE_REGISTERED;
}

static Raw *
raw_new (Fixture * f, WzpIdentity * id)
{
  Raw *r = g_new0 (Raw, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback
      (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);

  r->id = id ? g_object_ref (id) : wzp_identity_generate ();
  r->ep = wzp_endpoint_new (f->ctx, r->id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (r->ep, addr, &error));
  r->sc = wzp_signal_client_new (r->ep, f->relay_sockaddr,
      wzp_relay_get_fingerprint (f->relay));
  r->errors = g_ptr_array_new_with_free_func (g_free);
  r->tapped = g_ptr_array_new_with_free_func ((GDestroyNotify) tapped_free);
  r->eph = wzp_x25519_generate (NULL);
  g_signal_connect (r->sc, "error", G_CALLBACK (raw_on_error), r);
  g_signal_connect (r->sc, "room-joined", G_CALLBACK (raw_on_joined), r);
  g_signal_connect (r->sc, "room-message", G_CALLBACK (raw_on_message), r);
  wzp_signal_client_set_media_handler (r->sc, raw_on_media, r, NULL);
  g_assert_true (wzp_signal_client_start (r->sc, NULL));
  wzp_test_wait_until (f->ctx, raw_registered (r), WAIT_MS);
  return r;
}

static void
raw_free (Raw * r)
{
  wzp_signal_client_stop (r->sc);
  g_object_unref (r->sc);
  g_object_unref (r->ep);
  g_object_unref (r->id);
  g_ptr_array_unref (r->errors);
  g_ptr_array_unref (r->tapped);
  wzp_x25519_key_free (r->eph);
  g_free (r);
}

/* A key blob as a member makes it: our eph, signed by @signer for the
 * room, and @invite_token's invitation (if any). */
static JsonObject *
raw_blob (Raw * r, WzpIdentity * signer, const char *room_id,
    const char *invite_token)
{
  JsonObject *blob = json_object_new ();
  GByteArray *b = g_byte_array_new ();
  static const char tag[] = "wzp-room-v1";
  guint8 sig[WZP_SIGNATURE_LEN];

  g_byte_array_append (b, (const guint8 *) tag, sizeof tag);
  g_byte_array_append (b, (const guint8 *) room_id, strlen (room_id));
  g_byte_array_append (b, r->eph->pub, WZP_X25519_KEY_LEN);
  wzp_identity_sign (signer, b->data, b->len, sig);
  g_byte_array_unref (b);
  wzp_message_set_bytes (blob, "eph", r->eph->pub, WZP_X25519_KEY_LEN);
  wzp_message_set_bytes (blob, "sig", sig, sizeof sig);
  if (invite_token) {
    g_autoptr (WzpRoomInvite) inv = wzp_room_invite_from_token (invite_token,
        NULL);
    g_assert_nonnull (inv);
    json_object_set_object_member (blob, "invite",
        wzp_room_invite_to_json (inv));
  }
  return blob;
}

static char *
room_id_of (Party * owner)
{
  return wzp_room_id_new (fp (owner), ROOM, NULL);
}

/* A tap: in the room as far as the relay is concerned (its invitation is
 * real), but with no key for the members to seal to. */
static Raw *
tap_new (Fixture * f, Party * owner)
{
  Raw *tap = raw_new (f, NULL);
  g_autofree char *token = make_invite (owner->id, ROOM, tap->id, 3600);
  g_autofree char *id = room_id_of (owner);
  g_autoptr (JsonObject) blob = json_object_new ();
  g_autoptr (WzpRoomInvite) inv = wzp_room_invite_from_token (token, NULL);

  json_object_set_object_member (blob, "invite", wzp_room_invite_to_json (inv));
  g_assert_true (wzp_signal_client_join_room (tap->sc, id, blob, NULL));
  wzp_test_wait_until (f->ctx, tap->joined == 1, WAIT_MS);
  return tap;
}

/* How many tapped packets between @from and @until (monotonic µs) open
 * with one of @keys, and how many there were. */
static guint
count_openable (Raw * tap, GPtrArray * keys, gint64 from, gint64 until,
    guint * total)
{
  guint opened = 0;
  GPtrArray *openers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wzp_media_opener_free);

  for (guint k = 0; k < keys->len; k++)
    g_ptr_array_add (openers, wzp_media_opener_new (g_ptr_array_index (keys,
                k), NULL));
  *total = 0;
  for (guint i = 0; i < tap->tapped->len; i++) {
    Tapped *t = g_ptr_array_index (tap->tapped, i);
    gsize len;
    const guint8 *data = g_bytes_get_data (t->packet, &len);
    guint8 out[WZP_MEDIA_MAX_PAYLOAD];
    WzpMediaHeader hdr;

    if (t->at < from || t->at >= until)
      continue;
    (*total)++;
    for (guint k = 0; k < openers->len; k++) {
      if (wzp_media_opener_open (g_ptr_array_index (openers, k), data, len,
              &hdr, out, sizeof out, NULL) >= 0) {
        opened++;
        break;
      }
    }
  }
  g_ptr_array_unref (openers);
  return opened;
}

/* --- fixture ---------------------------------------------------------- */

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) rid = wzp_identity_generate ();
  g_autoptr (GError) error = NULL;

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->relay = wzp_relay_new (f->ctx, rid);
  g_object_set (f->relay, "listen-address", "127.0.0.1:0", "probe-address",
      "127.0.0.1:0", NULL);
  g_assert_true (wzp_relay_start (f->relay, &error));
  g_assert_no_error (error);
  f->relay_sockaddr = wzp_relay_get_listen_address (f->relay);
  f->relay_addr = wzp_socket_address_to_string (f->relay_sockaddr);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  g_clear_object (&f->relay_sockaddr);
  wzp_test_drain (f->ctx);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
  g_free (f->relay_addr);
}

/* --- invitations, without a network ----------------------------------- */

static void
test_invite_codec (void)
{
  g_autoptr (WzpIdentity) owner = wzp_identity_generate ();
  g_autoptr (WzpIdentity) bob = wzp_identity_generate ();
  g_autoptr (WzpIdentity) eve = wzp_identity_generate ();
  const char *bob_fp = wzp_identity_get_fingerprint (bob);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *id = wzp_room_id_new (wzp_identity_get_fingerprint (owner),
      ROOM, NULL);
  g_autoptr (WzpRoomInvite) inv = wzp_room_invite_new (owner, ROOM, bob_fp,
      now + 60, NULL);
  g_autofree char *token = wzp_room_invite_to_token (inv);
  g_autoptr (WzpRoomInvite) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *owner_fp = NULL;
  g_autofree char *name = NULL;

  /* Room ids. */
  g_assert_true (wzp_room_id_parse (id, &owner_fp, &name, &error));
  g_assert_cmpstr (owner_fp, ==, wzp_identity_get_fingerprint (owner));
  g_assert_cmpstr (name, ==, ROOM);
  g_clear_pointer (&owner_fp, g_free);
  g_clear_pointer (&name, g_free);
  g_assert_true (wzp_room_id_parse ("lobby", &owner_fp, &name, &error));
  g_assert_null (owner_fp);
  g_assert_cmpstr (name, ==, "lobby");
  g_clear_pointer (&name, g_free);
  for (guint i = 0; i < 5; i++) {
    const char *bad[] = { "", "a/b", "/x", "1234/x", "x\n" };
    g_assert_false (wzp_room_id_parse (bad[i], &owner_fp, &name, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_BAD_ROOM);
    g_clear_error (&error);
  }
  {
    /* A name of 65 bytes is too long; 64 is fine. */
    g_autofree char *n64 = g_strnfill (64, 'n');
    g_autofree char *n65 = g_strnfill (65, 'n');
    g_autofree char *ok = wzp_room_id_new (bob_fp, n64, NULL);
    g_assert_nonnull (ok);
    g_assert_cmpuint (strlen (ok), ==, WZP_ROOM_ID_MAX_LEN);
    g_assert_cmpuint (strlen (ok), <=, WZP_MESSAGE_MAX_ROOM_LEN);
    g_assert_null (wzp_room_id_new (bob_fp, n65, NULL));
  }

  /* Round trip through a token. */
  g_assert_true (g_str_has_prefix (token, WZP_ROOM_INVITE_TOKEN_PREFIX));
  back = wzp_room_invite_from_token (token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->member, ==, bob_fp);
  g_assert_cmpstr (back->owner, ==, wzp_identity_get_fingerprint (owner));
  g_assert_cmpint (back->expires, ==, now + 60);
  g_assert_true (wzp_room_invite_check (back, id, bob_fp, now, &error));

  /* It admits Bob, to this room, until it expires; nobody else. */
  g_assert_false (wzp_room_invite_check (back, id,
          wzp_identity_get_fingerprint (eve), now, &error));
  g_assert_error (error, WZP_ROOM_INVITE_ERROR,
      WZP_ROOM_INVITE_ERROR_WRONG_MEMBER);
  g_clear_error (&error);
  {
    g_autofree char *other = wzp_room_id_new (wzp_identity_get_fingerprint
        (owner), "other", NULL);
    g_autofree char *eves = wzp_room_id_new (wzp_identity_get_fingerprint
        (eve), ROOM, NULL);
    g_assert_false (wzp_room_invite_check (back, other, bob_fp, now, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_WRONG_ROOM);
    g_clear_error (&error);
    g_assert_false (wzp_room_invite_check (back, eves, bob_fp, now, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_WRONG_ROOM);
    g_clear_error (&error);
    g_assert_false (wzp_room_invite_check (back, ROOM, bob_fp, now, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_WRONG_ROOM);
    g_clear_error (&error);
  }
  g_assert_false (wzp_room_invite_check (back, id, bob_fp, now + 60, &error));
  g_assert_error (error, WZP_ROOM_INVITE_ERROR, WZP_ROOM_INVITE_ERROR_EXPIRED);
  g_clear_error (&error);

  /* Any change to a signed field breaks the signature. */
  {
    JsonObject *o = wzp_room_invite_to_json (inv);
    WzpRoomInvite *x;
    json_object_set_int_member (o, "expires", now + 3600);
    x = wzp_room_invite_from_json (o, &error);
    g_assert_null (x);
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_BAD_SIGNATURE);
    g_clear_error (&error);
    json_object_set_int_member (o, "expires", now + 60);
    json_object_set_string_member (o, "member",
        wzp_identity_get_fingerprint (eve));
    g_assert_null (wzp_room_invite_from_json (o, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_BAD_SIGNATURE);
    g_clear_error (&error);
    json_object_unref (o);
  }
  /* Eve signing "as the owner" makes an invitation to Eve's room only. */
  {
    g_autoptr (WzpRoomInvite) forged = wzp_room_invite_new (eve, ROOM,
        wzp_identity_get_fingerprint (eve), now + 60, NULL);
    g_assert_false (wzp_room_invite_check (forged, id,
            wzp_identity_get_fingerprint (eve), now, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_WRONG_ROOM);
    g_clear_error (&error);
  }

  /* Malformed tokens and objects: a clear error, nothing else. */
  {
    const char *bad[] = { "", "wzpinv1.", "wzpinv1.!!!!", "wzpinv1.e30",
      "wzpinv1.WzFd", "nope", "wzpinv1.a",
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
      g_assert_null (wzp_room_invite_from_token (bad[i], &error));
      g_assert_error (error, WZP_ROOM_INVITE_ERROR,
          WZP_ROOM_INVITE_ERROR_MALFORMED);
      g_clear_error (&error);
    }
  }
  {
    const char *fields[] = { "room", "owner_key", "member", "expires", "sig" };
    for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
      JsonObject *o = wzp_room_invite_to_json (inv);
      json_object_remove_member (o, fields[i]);
      g_assert_null (wzp_room_invite_from_json (o, &error));
      g_assert_error (error, WZP_ROOM_INVITE_ERROR,
          WZP_ROOM_INVITE_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, fields[i]));
      g_clear_error (&error);
      /* Wrong types too. */
      json_object_set_boolean_member (o, fields[i], TRUE);
      g_assert_null (wzp_room_invite_from_json (o, &error));
      g_assert_error (error, WZP_ROOM_INVITE_ERROR,
          WZP_ROOM_INVITE_ERROR_MALFORMED);
      g_clear_error (&error);
      json_object_unref (o);
    }
  }
  {
    /* A key of the wrong size, and non-canonical base64. */
    JsonObject *o = wzp_room_invite_to_json (inv);
    json_object_set_string_member (o, "owner_key", "AAAA");
    g_assert_null (wzp_room_invite_from_json (o, &error));
    g_assert_error (error, WZP_ROOM_INVITE_ERROR,
        WZP_ROOM_INVITE_ERROR_MALFORMED);
    g_clear_error (&error);
    json_object_set_string_member (o, "member", "1234");
    g_assert_null (wzp_room_invite_from_json (o, &error));
    g_clear_error (&error);
    json_object_unref (o);
  }
}

/* --- settings --------------------------------------------------------- */

static void
test_settings (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) owner = wzp_identity_generate ();
  g_autoptr (WzpIdentity) me = wzp_identity_generate ();
  const char *owner_fp = wzp_identity_get_fingerprint (owner);
  g_autofree char *for_other = make_invite (owner, ROOM, owner, 60);
  g_autofree char *expired = make_invite (owner, ROOM, me, -1);
  g_autofree char *other_room = make_invite (owner, "other", me, 60);
  g_autofree char *good = make_invite (owner, ROOM, me, 60);
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  struct
  {
    const char *owner, *invite;
    gboolean open;
    gint code;
    const char *says;
  } cases[] = {
    {NULL, NULL, FALSE, WZP_CALL_ERROR_FAILED, "no owner"},
    {owner_fp, NULL, TRUE, WZP_CALL_ERROR_FAILED, "not both"},
    {owner_fp, NULL, FALSE, WZP_CALL_ERROR_NOT_ADMITTED, "invitation"},
    {owner_fp, "garbage", FALSE, WZP_CALL_ERROR_NOT_ADMITTED, "invitation"},
    {owner_fp, for_other, FALSE, WZP_CALL_ERROR_NOT_ADMITTED, "is for"},
    {owner_fp, expired, FALSE, WZP_CALL_ERROR_NOT_ADMITTED, "expired"},
    {owner_fp, other_room, FALSE, WZP_CALL_ERROR_NOT_ADMITTED, "other"},
    {"1234", NULL, FALSE, WZP_CALL_ERROR_FAILED, "owner"},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (WzpCall) c = wzp_call_new (f->ctx, me, f->relay_addr);
    g_object_set (c, "room", ROOM, "room-owner", cases[i].owner,
        "room-invite", cases[i].invite, "room-open", cases[i].open, NULL);
    g_assert_false (wzp_call_start (c, &error));
    g_assert_error (error, WZP_CALL_ERROR, cases[i].code);
    if (!strstr (error->message, cases[i].says))
      g_error ("case %u: \"%s\" does not say \"%s\"", i, error->message,
          cases[i].says);
    g_clear_error (&error);
  }
  /* A bad room name. */
  {
    g_autoptr (WzpCall) c = wzp_call_new (f->ctx, me, f->relay_addr);
    g_object_set (c, "room", "a/b", "room-open", TRUE, NULL);
    g_assert_false (wzp_call_start (c, &error));
    g_assert_nonnull (strstr (error->message, "not a room name"));
    g_clear_error (&error);
  }
  /* The invitation may come from a file ("@FILE"). */
  {
    g_autoptr (WzpCall) c = wzp_call_new (f->ctx, me, f->relay_addr);
    g_autofree char *at = NULL;
    int fd = g_file_open_tmp ("wzp-invite-XXXXXX", &path, &error);
    g_assert_no_error (error);
    close (fd);
    g_assert_true (g_file_set_contents (path, good, -1, NULL));
    at = g_strconcat ("@", path, NULL);
    g_object_set (c, "room", ROOM, "room-owner", owner_fp, "room-invite", at,
        NULL);
    g_assert_true (wzp_call_start (c, &error));
    g_assert_no_error (error);
    wzp_call_hangup (c);
    wzp_test_run_for (f->ctx, 50);
    g_unlink (path);
  }
}

/* --- owned rooms ------------------------------------------------------ */

static void
test_owned_room (Fixture * f, gconstpointer data)
{
  Party *a = party_new (f, NULL, ROOM);
  Party *b, *c;
  Party *all[3];

  g_object_set (a->call, "room-owner", fp (a), "room-open", FALSE, NULL);
  b = guest_new (f, a, 3600);
  c = guest_new (f, a, 3600);
  all[0] = a;
  all[1] = b;
  all[2] = c;
  for (guint i = 0; i < 3; i++)
    start (f, all[i]);
  wzp_test_wait_until (f->ctx, a->joined->len == 2 && b->joined->len == 2 &&
      c->joined->len == 2, WAIT_MS);
  talk (f, all, 3, 1000);
  for (guint i = 0; i < 3; i++)
    for (guint k = 0; k < 3; k++)
      if (i != k && frames_from (all[i], all[k]) < 30)
        g_error ("%u heard %u frames from %u", i, frames_from (all[i],
                all[k]), k);
  /* Every admission rotated the keys of those already in. */
  g_assert_nonnull (rekey_for (a, "a member joined"));
  g_assert_nonnull (rekey_for (b, "a member joined"));
  /* Sequence numbers continue across keys: one stream per sender. */
  g_assert_cmpuint (a->max_seq_jump, <=, 3);

  /* One leaves; the others hear each other, and know. */
  wzp_call_hangup (c->call);
  wzp_test_wait_until (f->ctx, has_string (a->left, fp (c)) &&
      has_string (b->left, fp (c)), WAIT_MS);
  a->mark = b->mark = g_get_monotonic_time ();
  talk (f, all, 2, 600);
  g_assert_cmpuint (frames_after_from (a, b), >=, 20);
  g_assert_cmpuint (frames_after_from (b, a), >=, 20);
  for (guint i = 0; i < 3; i++)
    party_free (all[i]);
}

static void
test_open_room (Fixture * f, gconstpointer data)
{
  Party *a = party_new (f, NULL, "lobby");
  Party *b = party_new (f, NULL, "lobby");
  Party *both[] = { a, b };

  start (f, a);
  start (f, b);
  wzp_test_wait_until (f->ctx, a->joined->len == 1 && b->joined->len == 1,
      WAIT_MS);
  talk (f, both, 2, 600);
  g_assert_cmpuint (frames_from (a, b), >=, 15);
  g_assert_cmpuint (frames_from (b, a), >=, 15);
  party_free (a);
  party_free (b);
}

/* After a leave, what the others send opens with none of the keys the
 * departed member held. */
static void
test_rotation_on_leave (Fixture * f, gconstpointer data)
{
  Party *a = party_new (f, NULL, ROOM);
  Party *b, *d;
  Party *all[3];
  Raw *tap;
  Rekey *ra, *rb;
  gint64 t0, t_leave, t_switch, t_end;
  guint total = 0, before, after, window;

  g_object_set (a->call, "room-owner", fp (a), "room-open", FALSE, NULL);
  b = guest_new (f, a, 3600);
  d = guest_new (f, a, 3600);
  all[0] = a;
  all[1] = b;
  all[2] = d;
  for (guint i = 0; i < 3; i++)
    start (f, all[i]);
  tap = tap_new (f, a);
  wzp_test_wait_until (f->ctx, a->joined->len == 2 && b->joined->len == 2 &&
      d->joined->len == 2, WAIT_MS);
  /* Let the joins' rotations finish. */
  talk (f, all, 3, 1500);
  g_assert_cmpuint (frames_from (d, a), >=, 20);
  g_assert_cmpuint (frames_from (d, b), >=, 20);
  t0 = g_get_monotonic_time ();
  talk (f, all, 3, 600);

  /* D leaves; A and B make new keys. */
  t_leave = g_get_monotonic_time ();
  wzp_call_hangup (d->call);
  wzp_test_wait_until (f->ctx, rekey_for (a, "a member left") &&
      rekey_for (b, "a member left"), WAIT_MS);
  ra = rekey_for (a, "a member left");
  rb = rekey_for (b, "a member left");
  t_switch = MAX (ra->at, rb->at);
  g_test_message ("switched %.1f and %.1f ms after the leave",
      (ra->at - t_leave) / 1e3, (rb->at - t_leave) / 1e3);
  a->mark = b->mark = t_switch;
  talk (f, all, 2, 1500);
  t_end = g_get_monotonic_time ();

  /* D held keys of A and B (the test would fail if it held none). */
  g_assert_cmpuint (d->keys->len, >=, 3);
  before = count_openable (tap, d->keys, t0, t_leave, &total);
  g_test_message ("before the leave: D's keys open %u of %u packets",
      before, total);
  g_assert_cmpuint (before, >=, 40);
  /* Packets sealed before the switch may still be in flight for a few
   * milliseconds; everything the tap saw 100 ms after it is new. */
  after = count_openable (tap, d->keys, t_switch + 100 * 1000, t_end, &total);
  g_test_message ("after the switch: D's keys open %u of %u packets", after,
      total);
  g_assert_cmpuint (total, >=, 80);
  g_assert_cmpuint (after, ==, 0);
  /* The window: between the leave and the switch D could still read. */
  window = count_openable (tap, d->keys, t_leave, t_end, &total);
  g_test_message ("window: %u packets after the leave opened with D's keys",
      window);
  g_assert_cmpuint (window, <=, 2 * 50 * 1.5);
  /* A and B never noticed: they keep hearing each other, and the
   * sequence numbers ran on through the key change. */
  g_assert_cmpuint (frames_after_from (a, b), >=, 50);
  g_assert_cmpuint (frames_after_from (b, a), >=, 50);
  g_assert_cmpuint (a->max_seq_jump, <=, 3);
  g_assert_cmpuint (b->max_seq_jump, <=, 3);
  raw_free (tap);
  for (guint i = 0; i < 3; i++)
    party_free (all[i]);
}

/* A newcomer's keys open nothing sent before it joined. */
static void
test_rotation_on_join (Fixture * f, gconstpointer data)
{
  Party *a = party_new (f, NULL, ROOM);
  Party *b, *n;
  Party *all[3];
  Raw *tap;
  gint64 t0, t_join, t_end;
  guint total = 0, before, after;

  g_object_set (a->call, "room-owner", fp (a), "room-open", FALSE, NULL);
  b = guest_new (f, a, 3600);
  n = guest_new (f, a, 3600);
  all[0] = a;
  all[1] = b;
  all[2] = n;
  start (f, a);
  start (f, b);
  tap = tap_new (f, a);
  wzp_test_wait_until (f->ctx, a->joined->len == 1 && b->joined->len == 1,
      WAIT_MS);
  t0 = g_get_monotonic_time ();
  talk (f, all, 2, 1500);

  t_join = g_get_monotonic_time ();
  start (f, n);
  wzp_test_wait_until (f->ctx, rekey_for (a, "a member joined") &&
      rekey_for (b, "a member joined"), WAIT_MS);
  n->mark = g_get_monotonic_time ();
  talk (f, all, 3, 1500);
  t_end = g_get_monotonic_time ();

  g_assert_cmpuint (frames_after_from (n, a), >=, 40);
  g_assert_cmpuint (frames_after_from (n, b), >=, 40);
  before = count_openable (tap, n->keys, t0, t_join, &total);
  g_test_message ("before the join: N's keys open %u of %u packets", before,
      total);
  g_assert_cmpuint (total, >=, 80);
  g_assert_cmpuint (before, ==, 0);
  after = count_openable (tap, n->keys, n->mark, t_end, &total);
  g_test_message ("after: N's keys open %u of %u packets", after, total);
  g_assert_cmpuint (after, >=, 80);
  raw_free (tap);
  for (guint i = 0; i < 3; i++)
    party_free (all[i]);
}

/* Nobody the owner did not admit gets a key: not a stranger with the
 * name, not a member the relay makes up. */
static void
test_admission (Fixture * f, gconstpointer data)
{
  Party *a = party_new (f, NULL, ROOM);
  Party *b;
  Party *both[2];
  g_autofree char *id = NULL;
  Raw *eve, *eve2, *eve3, *mallory;
  g_autofree char *eve_self_signed = NULL;
  g_autofree char *bobs_invite = NULL;
  g_autofree char *eve_expired = NULL;
  guint rekeys_a, rekeys_b;

  g_object_set (a->call, "room-owner", fp (a), "room-open", FALSE, NULL);
  b = guest_new (f, a, 3600);
  both[0] = a;
  both[1] = b;
  start (f, a);
  start (f, b);
  wzp_test_wait_until (f->ctx, a->joined->len == 1 && b->joined->len == 1,
      WAIT_MS);
  talk (f, both, 2, 1200);
  id = room_id_of (a);

  /* A stranger with the name: the relay refuses it. */
  eve = raw_new (f, NULL);
  {
    g_autoptr (JsonObject) blob = raw_blob (eve, eve->id, id, NULL);
    g_assert_true (wzp_signal_client_join_room (eve->sc, id, blob, NULL));
    wzp_test_wait_until (f->ctx, eve->errors->len == 1, WAIT_MS);
    g_assert_true (g_str_has_prefix (g_ptr_array_index (eve->errors, 0),
            "not-invited"));
    g_assert_cmpuint (eve->joined, ==, 0);
  }

  /* A relay that lets anyone in: the members still refuse them. */
  _wzp_relay_set_rooms_admit_anyone (f->relay, TRUE);
  rekeys_a = a->rekeys->len;
  rekeys_b = b->rekeys->len;
  eve_self_signed = make_invite (eve->id, ROOM, eve->id, 3600);
  {
    g_autoptr (JsonObject) blob = raw_blob (eve, eve->id, id, eve_self_signed);
    g_assert_true (wzp_signal_client_join_room (eve->sc, id, blob, NULL));
  }
  eve2 = raw_new (f, NULL);
  bobs_invite = make_invite (a->id, ROOM, b->id, 3600);
  {
    g_autoptr (JsonObject) blob = raw_blob (eve2, eve2->id, id, bobs_invite);
    g_assert_true (wzp_signal_client_join_room (eve2->sc, id, blob, NULL));
  }
  eve3 = raw_new (f, NULL);
  eve_expired = make_invite (a->id, ROOM, eve3->id, -10);
  {
    g_autoptr (JsonObject) blob = raw_blob (eve3, eve3->id, id, eve_expired);
    g_assert_true (wzp_signal_client_join_room (eve3->sc, id, blob, NULL));
  }
  wzp_test_wait_until (f->ctx, eve->joined == 1 && eve2->joined == 1 &&
      eve3->joined == 1, WAIT_MS);

  /* A relay that makes a member up: Mallory (registered, never joined)
   * is listed with a blob it signed and Bob's invitation. */
  mallory = raw_new (f, NULL);
  {
    g_autoptr (JsonObject) blob = raw_blob (mallory, mallory->id, id,
        bobs_invite);
    guint8 key[WZP_PUBLIC_KEY_LEN];
    wzp_identity_get_public_key (mallory->id, key);
    g_assert_true (_wzp_relay_inject_room_member (f->relay, id,
            wzp_identity_get_fingerprint (mallory->id), key, blob));
  }
  /* Strangers try to talk too: a made-up key message, media. */
  {
    g_autoptr (JsonObject) body = json_object_new ();
    guint8 junk[80];
    memset (junk, 0x5a, sizeof junk);
    wzp_message_set_bytes (body, "sender-key", junk, sizeof junk);
    g_assert_true (wzp_signal_client_send_room_message (eve->sc, id, fp (a),
            body, NULL));
  }
  a->mark = b->mark = g_get_monotonic_time ();
  for (guint i = 0; i < 50; i++) {
    guint8 junk[60];
    memset (junk, i, sizeof junk);
    junk[0] = 0x10;
    wzp_signal_client_send_media (eve->sc, 1, junk, sizeof junk);
  }
  talk (f, both, 2, 1500);

  g_assert_cmpuint (eve->key_messages, ==, 0);
  g_assert_cmpuint (eve2->key_messages, ==, 0);
  g_assert_cmpuint (eve3->key_messages, ==, 0);
  g_assert_cmpuint (mallory->key_messages, ==, 0);
  g_assert_cmpuint (mallory->messages + eve->messages + eve2->messages +
      eve3->messages, ==, 0);
  /* They never counted as members: no rotation, no member events. */
  g_assert_cmpuint (a->rekeys->len, ==, rekeys_a);
  g_assert_cmpuint (b->rekeys->len, ==, rekeys_b);
  g_assert_cmpuint (a->joined->len, ==, 1);
  g_assert_cmpuint (g_hash_table_size (a->senders), ==, 1);
  /* The members never stopped hearing each other. */
  g_assert_cmpuint (frames_after_from (a, b), >=, 50);
  g_assert_cmpuint (frames_after_from (b, a), >=, 50);

  raw_free (eve);
  raw_free (eve2);
  raw_free (eve3);
  raw_free (mallory);
  party_free (a);
  party_free (b);
}

/* An invitation that runs out is a leave. */
static void
test_invite_expires (Fixture * f, gconstpointer data)
{
  Party *a = party_new (f, NULL, ROOM);
  Party *b;

  g_object_set (a->call, "room-owner", fp (a), "room-open", FALSE, NULL);
  b = guest_new (f, a, 2);
  start (f, a);
  start (f, b);
  wzp_test_wait_until (f->ctx, a->joined->len == 1, WAIT_MS);
  wzp_test_wait_until (f->ctx, has_string (a->left, fp (b)) &&
      is (b, WZP_CALL_STATE_FAILED), 8000);
  g_assert_error (b->error, WZP_CALL_ERROR, WZP_CALL_ERROR_NOT_ADMITTED);
  g_assert_nonnull (rekey_for (a, "an invitation expired"));
  party_free (a);
  party_free (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/room/invite-codec", test_invite_codec);
#define ADD(name, func) \
  g_test_add ("/room/" name, Fixture, NULL, fixture_setup, func, \
      fixture_teardown)
  ADD ("settings", test_settings);
  ADD ("owned", test_owned_room);
  ADD ("open", test_open_room);
  ADD ("rotation-on-leave", test_rotation_on_leave);
  ADD ("rotation-on-join", test_rotation_on_join);
  ADD ("admission", test_admission);
  ADD ("invite-expires", test_invite_expires);
  return g_test_run ();
}
