/* test-call.c — WzpCall end to end: a real in-process relay, real QUIC on
 * loopback, two or three calls on one main context. */
#include "config.h"

#include <string.h>

#include "wzp-call.h"
#include "wzp-call-private.h"
#include "wzp-relay.h"
#include "wzp-room-invite.h"
#include "wzp-test-util.h"
#include "wzp-test-crash.h"

#define WAIT_MS 15000

typedef struct
{
  GMainContext *ctx;
  WzpIdentity *relay_id;
  WzpRelay *relay;
  char *relay_addr;
} Fixture;

/* One party: its call and what it saw. */
typedef struct
{
  WzpIdentity *id;
  WzpCall *call;
  GPtrArray *frames;            /* of GBytes: "sender|payload" */
  GHashTable *senders;          /* fingerprint -> count */
  GError *error;
  guint path_changes;
  gboolean accept;              /* for answer-policy ask */
  gboolean answer_later;        /* ask: leave the call ringing */
  guint asked;
  char *asked_call_id;
  char *ringing_peer;           /* when "ringing" was emitted */
  char *ringing_call_id;
  GArray *relay_states;         /* of WzpRelayState */
  GArray *states;               /* of WzpCallState */
} Party;

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) listen = NULL;

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->relay_id = wzp_identity_generate ();
  f->relay = wzp_relay_new (f->ctx, f->relay_id);
  g_object_set (f->relay, "listen-address", "127.0.0.1:0", "probe-address",
      "127.0.0.1:0", "ring-timeout", 3 * WZP_NSEC_PER_SEC, NULL);
  g_assert_true (wzp_relay_start (f->relay, &error));
  g_assert_no_error (error);
  listen = wzp_relay_get_listen_address (f->relay);
  f->relay_addr = wzp_socket_address_to_string (listen);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  if (f->relay)
    wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  g_clear_object (&f->relay_id);
  wzp_test_drain (f->ctx);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
  g_free (f->relay_addr);
}

/* kill -9 of the relay, in process: it says nothing more. */
static void
kill_relay (Fixture * f)
{
  wzp_test_endpoint_mute (wzp_relay_get_endpoint (f->relay));
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
}

/* ...and the same identity on the same address again. */
static void
start_relay_again (Fixture * f)
{
  g_autoptr (GError) error = NULL;

  f->relay = wzp_relay_new (f->ctx, f->relay_id);
  g_object_set (f->relay, "listen-address", f->relay_addr, "probe-address",
      "127.0.0.1:0", "ring-timeout", 3 * WZP_NSEC_PER_SEC, NULL);
  g_assert_true (wzp_relay_start (f->relay, &error));
  g_assert_no_error (error);
}

static void
on_frame (const WzpCallFrame * frame, gpointer user_data)
{
  Party *p = user_data;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (p->senders,
          frame->sender));

  g_hash_table_insert (p->senders, g_strdup (frame->sender),
      GUINT_TO_POINTER (n + 1));
  g_ptr_array_add (p->frames, g_bytes_new (frame->data, frame->len));
}

static void
on_state (WzpCall * call, WzpCallState state, GError * reason,
    gpointer user_data)
{
  Party *p = user_data;

  g_array_append_val (p->states, state);
  if (state == WZP_CALL_STATE_RINGING) {
    g_free (p->ringing_peer);
    g_free (p->ringing_call_id);
    p->ringing_peer = g_strdup (wzp_call_get_peer_fingerprint (call));
    p->ringing_call_id = g_strdup (wzp_call_get_call_id (call));
  }
  if (state == WZP_CALL_STATE_FAILED || state == WZP_CALL_STATE_ENDED) {
    g_clear_error (&p->error);
    p->error = reason ? g_error_copy (reason) : NULL;
  }
}

static void
on_path (WzpCall * call, WzpPathKind path, const char *reason,
    gpointer user_data)
{
  Party *p = user_data;

  p->path_changes++;
}

static void
on_relay_state (WzpCall * call, WzpRelayState state, GError * reason,
    gpointer user_data)
{
  Party *p = user_data;

  g_array_append_val (p->relay_states, state);
}

/* A notification; the handler may answer at once (as here) or later. */
static void
on_incoming (WzpCall * call, const char *from, const char *call_id,
    gpointer user_data)
{
  Party *p = user_data;

  p->asked++;
  g_free (p->asked_call_id);
  p->asked_call_id = g_strdup (call_id);
  if (p->answer_later)
    return;
  if (p->accept)
    g_assert_true (wzp_call_answer (call, call_id));
  else
    g_assert_true (wzp_call_reject (call, call_id));
}

static gboolean
saw_relay_state (Party * p, WzpRelayState s)
{
  for (guint i = 0; i < p->relay_states->len; i++)
    if (g_array_index (p->relay_states, WzpRelayState, i) == s)
      return TRUE;
  return FALSE;
}

static Party *
party_new (Fixture * f, const char *peer, const char *room)
{
  Party *p = g_new0 (Party, 1);

  p->id = wzp_identity_generate ();
  p->call = wzp_call_new (f->ctx, p->id, f->relay_addr);
  g_object_set (p->call, "gather-loopback", TRUE, "peer", peer, "room", room,
      NULL);
  p->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  p->senders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  wzp_call_set_frame_handler (p->call, on_frame, p, NULL);
  g_signal_connect (p->call, "state-changed", G_CALLBACK (on_state), p);
  g_signal_connect (p->call, "path-changed", G_CALLBACK (on_path), p);
  g_signal_connect (p->call, "incoming-call", G_CALLBACK (on_incoming), p);
  g_signal_connect (p->call, "relay-state-changed",
      G_CALLBACK (on_relay_state), p);
  p->relay_states = g_array_new (FALSE, FALSE, sizeof (WzpRelayState));
  p->states = g_array_new (FALSE, FALSE, sizeof (WzpCallState));
  return p;
}

static void
party_free (Party * p)
{
  g_signal_handlers_disconnect_by_data (p->call, p);
  wzp_call_set_frame_handler (p->call, NULL, NULL, NULL);
  g_object_unref (p->call);
  g_object_unref (p->id);
  g_ptr_array_unref (p->frames);
  g_hash_table_unref (p->senders);
  g_clear_error (&p->error);
  g_array_unref (p->relay_states);
  g_array_unref (p->states);
  g_free (p->asked_call_id);
  g_free (p->ringing_peer);
  g_free (p->ringing_call_id);
  g_free (p);
}

static void
start (Party * p)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (wzp_call_start (p->call, &error));
  g_assert_no_error (error);
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

/* Sends @n frames from each party, 20 ms apart, while the loop runs. */
static void
exchange (Fixture * f, Party ** parties, guint n_parties, guint n)
{
  for (guint i = 0; i < n; i++) {
    for (guint k = 0; k < n_parties; k++) {
      char payload[64];
      g_snprintf (payload, sizeof payload, "%s frame %u", fp (parties[k]), i);
      wzp_call_send_frame (parties[k]->call, i * 960, i == 0,
          (const guint8 *) payload, strlen (payload));
    }
    wzp_test_run_for (f->ctx, 20);
  }
  wzp_test_run_for (f->ctx, 200);
}

/* Media packets the relay forwarded, on channels and as QUIC datagrams. */
static guint64
relay_forwarded (Fixture * f)
{
  WzpRelayStats rs;
  WzpRelayMediaStats ms;

  wzp_relay_get_stats (f->relay, &rs);
  wzp_relay_get_media_stats (f->relay, G_MAXUINT, &ms);
  return rs.datagrams_forwarded + ms.forwarded;
}

static void
assert_got_frames_from (Party * p, Party * from, guint at_least)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (p->senders, fp (from)));

  if (n < at_least)
    g_error ("%s got %u frames from %s, expected at least %u", fp (p), n,
        fp (from), at_least);
}

/* --- tests ------------------------------------------------------------ */

static void
test_call_relay_then_direct (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  Party *both[] = { alice, bob };
  WzpCallStats as, bs;
  guint64 before;

  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ACTIVE) &&
      is (bob, WZP_CALL_STATE_ACTIVE), WAIT_MS);
  g_assert_cmpstr (wzp_call_get_peer_fingerprint (alice->call), ==, fp (bob));
  g_assert_cmpstr (wzp_call_get_peer_fingerprint (bob->call), ==, fp (alice));
  g_assert_cmpstr (wzp_call_get_call_id (alice->call), ==,
      wzp_call_get_call_id (bob->call));

  /* Media first flows as soon as the call is set up. */
  exchange (f, both, 2, 10);
  assert_got_frames_from (alice, bob, 8);
  assert_got_frames_from (bob, alice, 8);

  /* On loopback the race succeeds: both agree on the direct path. */
  wzp_test_wait_until (f->ctx, wzp_call_get_path (alice->call) ==
      WZP_PATH_DIRECT && wzp_call_get_path (bob->call) == WZP_PATH_DIRECT,
      WAIT_MS);
  before = relay_forwarded (f);
  exchange (f, both, 2, 25);
  /* Direct media does not go through the relay (a few overlap frames
   * from the switch may). */
  g_assert_cmpuint (relay_forwarded (f) - before, <, 10);
  assert_got_frames_from (alice, bob, 30);
  assert_got_frames_from (bob, alice, 30);

  wzp_call_get_stats (alice->call, &as);
  wzp_call_get_stats (bob->call, &bs);
  /* Every frame is counted once.  (On one host the callee dials the
   * caller as it answers; when the relay's setup reaches the callee
   * first, it races again and a new connection replaces the one the
   * caller just adopted: for a moment the caller, whose own setup has
   * not come, has no path, and a frame may be dropped.) */
  g_assert_cmpuint (as.frames_sent + as.frames_dropped_send, ==, 35);
  g_assert_cmpuint (as.frames_sent, >=, 33);
  g_assert_cmpuint (bs.frames_received, <=, 35);
  g_assert_cmpuint (bs.frames_received, >=, 33);
  g_assert_cmpuint (as.forged, ==, 0);
  g_assert_cmpint (as.path, ==, WZP_PATH_DIRECT);
  g_assert_cmpuint (as.setup_ns, >, 0);

  /* The payload arrives intact. */
  {
    GBytes *b = g_ptr_array_index (bob->frames, 0);
    g_autofree char *want = g_strdup_printf ("%s frame 0", fp (alice));
    gsize len;
    const char *got = g_bytes_get_data (b, &len);
    g_assert_cmpmem (got, len, want, strlen (want));
  }

  /* A frame no packet carries is dropped and counted, not sent, and the
   * call goes on. */
  {
    guint8 big[WZP_CALL_MAX_FRAME + 1] = { 0 };
    WzpCallStats before, after;

    wzp_call_get_stats (alice->call, &before);
    g_assert_true (wzp_call_send_frame (alice->call, 0, FALSE, big,
            sizeof big));
    g_assert_true (wzp_call_send_frame (alice->call, 960, FALSE, big,
            WZP_CALL_MAX_FRAME));
    wzp_test_run_for (f->ctx, 200);
    wzp_call_get_stats (alice->call, &after);
    g_assert_cmpuint (after.frames_dropped_send, ==,
        before.frames_dropped_send + 1);
    g_assert_cmpuint (after.frames_sent, ==, before.frames_sent + 1);
    g_assert_true (is (alice, WZP_CALL_STATE_ACTIVE));
  }

  /* Hang-up ends the call on both sides. */
  wzp_call_hangup (alice->call);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ENDED) &&
      is (bob, WZP_CALL_STATE_ENDED), WAIT_MS);
  /* Bob learns it was a hang-up, not a lost peer. */
  g_assert_nonnull (strstr (bob->error->message, "(hangup)"));
  g_assert_false (wzp_call_send_frame (alice->call, 0, FALSE,
          (const guint8 *) "x", 1));
  party_free (alice);
  party_free (bob);
}

/* Whatever the relay (or anyone on the path) does to a packet, the peer
 * only accepts what the sender sealed, once. */
static void
test_tampered_and_replayed (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  WzpCallStats bs;
  guint before;

  g_object_set (alice->call, "path-policy", WZP_PATH_POLICY_RELAY_ONLY, NULL);
  g_object_set (bob->call, "path-policy", WZP_PATH_POLICY_RELAY_ONLY, NULL);
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ACTIVE) &&
      is (bob, WZP_CALL_STATE_ACTIVE), WAIT_MS);

  before = bob->frames->len;
  g_assert_true (_wzp_call_inject_test_frame (alice->call, "tampered", TRUE));
  wzp_test_run_for (f->ctx, 200);
  wzp_call_get_stats (bob->call, &bs);
  g_assert_cmpuint (bs.forged, ==, 1);
  g_assert_cmpuint (bob->frames->len, ==, before);

  g_assert_true (_wzp_call_inject_test_frame (alice->call, "twice", FALSE));
  wzp_test_wait_until (f->ctx, bob->frames->len == before + 1, WAIT_MS);
  wzp_test_run_for (f->ctx, 200);
  wzp_call_get_stats (bob->call, &bs);
  g_assert_cmpuint (bob->frames->len, ==, before + 1);
  g_assert_cmpuint (bs.replayed, ==, 1);
  g_assert_cmpuint (bs.forged, ==, 1);
  party_free (alice);
  party_free (bob);
}

static void
test_relay_only (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  Party *both[] = { alice, bob };

  g_object_set (alice->call, "path-policy", WZP_PATH_POLICY_RELAY_ONLY, NULL);
  g_object_set (bob->call, "path-policy", WZP_PATH_POLICY_RELAY_ONLY, NULL);
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ACTIVE) &&
      is (bob, WZP_CALL_STATE_ACTIVE), WAIT_MS);
  exchange (f, both, 2, 30);
  wzp_test_run_for (f->ctx, 500);
  g_assert_cmpint (wzp_call_get_path (alice->call), ==, WZP_PATH_RELAY);
  g_assert_cmpint (wzp_call_get_path (bob->call), ==, WZP_PATH_RELAY);
  assert_got_frames_from (alice, bob, 28);
  assert_got_frames_from (bob, alice, 28);
  /* On its media channels or on QUIC datagrams, as the relay saw fit. */
  g_assert_cmpuint (relay_forwarded (f), >=, 56);
  party_free (alice);
  party_free (bob);
}

static void
test_rejected_and_asked (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  Party *carol = NULL;

  g_object_set (bob->call, "answer-policy", WZP_ANSWER_POLICY_ASK, NULL);
  bob->accept = FALSE;
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_error (alice->error, WZP_CALL_ERROR, WZP_CALL_ERROR_REJECTED);
  g_assert_cmpuint (bob->asked, ==, 1);
  /* Bob keeps waiting for calls; the next one he takes. */
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  bob->accept = TRUE;
  carol = party_new (f, fp (bob), NULL);
  start (carol);
  wzp_test_wait_until (f->ctx, is (carol, WZP_CALL_STATE_ACTIVE) &&
      is (bob, WZP_CALL_STATE_ACTIVE), WAIT_MS);
  g_assert_cmpuint (bob->asked, ==, 2);
  g_assert_cmpstr (wzp_call_get_peer_fingerprint (bob->call), ==, fp (carol));
  party_free (alice);
  party_free (bob);
  party_free (carol);
}

static void
test_peer_offline (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) nobody = wzp_identity_generate ();
  Party *alice = party_new (f, wzp_identity_get_fingerprint (nobody), NULL);

  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_error (alice->error, WZP_CALL_ERROR, WZP_CALL_ERROR_PEER_OFFLINE);
  party_free (alice);
}

static void
test_relay_unreachable (Fixture * f, gconstpointer data)
{
  Party *alice = party_new (f, NULL, NULL);

  /* Nobody listens on port 9 of loopback. */
  g_object_set (alice->call, "relay", "127.0.0.1:9", "relay-timeout", 1500,
      NULL);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_error (alice->error, WZP_CALL_ERROR,
      WZP_CALL_ERROR_RELAY_UNREACHABLE);
  g_assert_nonnull (strstr (alice->error->message, "127.0.0.1:9"));
  party_free (alice);
}

/* A relay given by host name is resolved; an unknown host fails clearly. */
static void
test_relay_by_name (Fixture * f, gconstpointer data)
{
  g_autoptr (GSocketAddress) listen = wzp_relay_get_listen_address (f->relay);
  g_autofree char *by_name = g_strdup_printf ("localhost:%u",
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (listen)));
  Party *bob = party_new (f, NULL, NULL);
  Party *nowhere = party_new (f, NULL, NULL);

  g_object_set (bob->call, "relay", by_name, NULL);
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);

  g_object_set (nowhere->call, "relay", "no-such-host.invalid:4433", NULL);
  start (nowhere);
  wzp_test_wait_until (f->ctx, is (nowhere, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_error (nowhere->error, WZP_CALL_ERROR,
      WZP_CALL_ERROR_RELAY_UNREACHABLE);
  g_assert_nonnull (strstr (nowhere->error->message, "no-such-host.invalid"));
  party_free (bob);
  party_free (nowhere);
}

static void
test_bad_settings (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCall) c1 = wzp_call_new (f->ctx, id, "not an address");
  g_autoptr (WzpCall) c2 = wzp_call_new (f->ctx, id, f->relay_addr);
  g_autoptr (WzpCall) c3 = wzp_call_new (f->ctx, id, f->relay_addr);

  g_assert_false (wzp_call_start (c1, &error));
  g_assert_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS);
  g_assert_nonnull (strstr (error->message, "not an address"));
  g_clear_error (&error);

  g_object_set (c2, "peer", "12345", NULL);
  g_assert_false (wzp_call_start (c2, &error));
  g_assert_nonnull (strstr (error->message, "not a fingerprint"));
  g_clear_error (&error);

  g_object_set (c3, "peer", wzp_identity_get_fingerprint (id), NULL);
  g_assert_false (wzp_call_start (c3, &error));
  g_assert_nonnull (strstr (error->message, "yourself"));
  g_clear_error (&error);

  /* A malformed pin is a settings error, not a network one. */
  {
    g_autoptr (WzpCall) c4 = wzp_call_new (f->ctx, id, f->relay_addr);
    g_object_set (c4, "relay-fingerprint", "xyz", NULL);
    g_assert_false (wzp_call_start (c4, &error));
    g_assert_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS);
    g_assert_nonnull (strstr (error->message, "xyz"));
  }
}

static void
test_room_of_three (Fixture * f, gconstpointer data)
{
  Party *p[3];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  /* p[0] owns the room and invites the others (test-room.c tests
   * invitations and keys in depth). */
  for (guint i = 0; i < 3; i++)
    p[i] = party_new (f, NULL, "standup");
  for (guint i = 0; i < 3; i++) {
    g_object_set (p[i]->call, "room-owner", fp (p[0]), NULL);
    if (i > 0) {
      g_autoptr (WzpRoomInvite) inv = wzp_room_invite_new (p[0]->id,
          "standup", fp (p[i]), now + 3600, NULL);
      g_autofree char *token = wzp_room_invite_to_token (inv);
      g_object_set (p[i]->call, "room-invite", token, NULL);
    }
  }
  for (guint i = 0; i < 3; i++) {
    start (p[i]);
    wzp_test_wait_until (f->ctx, is (p[i], WZP_CALL_STATE_ACTIVE), WAIT_MS);
  }
  /* Sender keys travel through the relay, sealed to each member. */
  wzp_test_run_for (f->ctx, 300);
  exchange (f, p, 3, 20);
  for (guint i = 0; i < 3; i++) {
    for (guint k = 0; k < 3; k++) {
      if (i == k)
        g_assert_null (g_hash_table_lookup (p[i]->senders, fp (p[k])));
      else
        assert_got_frames_from (p[i], p[k], 18);
    }
  }
  /* One leaves: the others still hear each other. */
  wzp_call_hangup (p[2]->call);
  wzp_test_wait_until (f->ctx, is (p[2], WZP_CALL_STATE_ENDED), WAIT_MS);
  g_hash_table_remove_all (p[0]->senders);
  exchange (f, p, 2, 10);
  assert_got_frames_from (p[0], p[1], 8);
  for (guint i = 0; i < 3; i++)
    party_free (p[i]);
}

/* --- the relay goes away ---------------------------------------------- */

static Party *
relay_only (Party * p)
{
  g_object_set (p->call, "path-policy", WZP_PATH_POLICY_RELAY_ONLY, NULL);
  return p;
}

static void
active_pair (Fixture * f, Party * alice, Party * bob)
{
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ACTIVE) &&
      is (bob, WZP_CALL_STATE_ACTIVE), WAIT_MS);
}

static guint
from (Party * p, Party * sender)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (p->senders, fp (sender)));
}

/* kill -9 of the relay mid-call on the relay path, and a restart: both
 * notice at once (the restarted relay resets their connections), say so,
 * re-register, resume the relay leg and media flows again. */
static void
test_relay_restart_relay_path (Fixture * f, gconstpointer data)
{
  Party *bob = relay_only (party_new (f, NULL, NULL));
  Party *alice = relay_only (party_new (f, fp (bob), NULL));
  Party *both[] = { alice, bob };
  guint a0, b0;
  gint64 t0;
  WzpCallStats st;

  active_pair (f, alice, bob);
  exchange (f, both, 2, 10);
  assert_got_frames_from (bob, alice, 8);

  kill_relay (f);
  exchange (f, both, 2, 20);
  start_relay_again (f);
  t0 = g_get_monotonic_time ();
  a0 = from (alice, bob);
  b0 = from (bob, alice);
  /* Media goes on being sent: it meets the new relay, which resets the
   * old connections; both reconnect and resume. */
  for (guint i = 0; i < 250 && (from (alice, bob) < a0 + 5 ||
          from (bob, alice) < b0 + 5); i++)
    exchange (f, both, 2, 1);
  g_assert_cmpuint (from (alice, bob), >=, a0 + 5);
  g_assert_cmpuint (from (bob, alice), >=, b0 + 5);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  for (guint i = 0; i < 2; i++) {
    g_assert_true (saw_relay_state (both[i], WZP_RELAY_STATE_LOST));
    g_assert_true (saw_relay_state (both[i], WZP_RELAY_STATE_RESUMED));
    g_assert_true (is (both[i], WZP_CALL_STATE_ACTIVE));
    g_assert_cmpint (wzp_call_get_relay_state (both[i]->call), ==,
        WZP_RELAY_STATE_RESUMED);
    wzp_call_get_stats (both[i]->call, &st);
    g_assert_cmpuint (st.relay_losses, ==, 1);
  }
  /* The call never left "active". */
  for (guint i = 0; i < alice->states->len; i++)
    g_assert_cmpint (g_array_index (alice->states, WzpCallState, i), !=,
        WZP_CALL_STATE_FAILED);
  wzp_call_hangup (alice->call);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_ENDED), WAIT_MS);
  g_assert_error (bob->error, WZP_CALL_ERROR, WZP_CALL_ERROR_HUNG_UP);
  party_free (alice);
  party_free (bob);
}

/* The same on a direct path: media does not miss a beat, and with the
 * relay still dead a hang-up reaches the peer over the direct path. */
static void
test_relay_dies_direct_path (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  Party *both[] = { alice, bob };
  guint a0, b0;

  active_pair (f, alice, bob);
  wzp_test_wait_until (f->ctx, wzp_call_get_path (alice->call) ==
      WZP_PATH_DIRECT && wzp_call_get_path (bob->call) == WZP_PATH_DIRECT,
      WAIT_MS);
  exchange (f, both, 2, 10);
  a0 = from (alice, bob);
  b0 = from (bob, alice);
  kill_relay (f);
  /* 5 s: past the signaling idle timeout, so both know the relay is gone. */
  exchange (f, both, 2, 250);
  g_assert_cmpuint (from (alice, bob) - a0, >=, 245);
  g_assert_cmpuint (from (bob, alice) - b0, >=, 245);
  g_assert_true (saw_relay_state (alice, WZP_RELAY_STATE_LOST));
  g_assert_true (saw_relay_state (bob, WZP_RELAY_STATE_LOST));
  g_assert_true (is (alice, WZP_CALL_STATE_ACTIVE));
  g_assert_cmpint (wzp_call_get_path (alice->call), ==, WZP_PATH_DIRECT);

  wzp_call_hangup (alice->call);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_ENDED), WAIT_MS);
  g_assert_error (bob->error, WZP_CALL_ERROR, WZP_CALL_ERROR_HUNG_UP);
  g_assert_nonnull (strstr (bob->error->message, "direct path"));
  party_free (alice);
  party_free (bob);
}

/* A relay that restarts while the call rings knows nothing of it: the
 * caller fails with a clear error, the callee goes back to waiting. */
static void
test_relay_dies_while_ringing (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  gint64 t0;

  g_object_set (bob->call, "answer-policy", WZP_ANSWER_POLICY_ASK, NULL);
  bob->answer_later = TRUE;
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, bob->asked == 1, WAIT_MS);
  g_assert_true (is (alice, WZP_CALL_STATE_RINGING));

  kill_relay (f);
  start_relay_again (f);
  t0 = g_get_monotonic_time ();
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 10 * G_USEC_PER_SEC);
  g_assert_error (alice->error, WZP_CALL_ERROR, WZP_CALL_ERROR_RELAY_LOST);
  g_assert_nonnull (strstr (alice->error->message, "rang"));
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING) &&
      wzp_call_get_relay_state (bob->call) == WZP_RELAY_STATE_REGISTERED,
      WAIT_MS);
  /* The ring is gone: answering it now is refused. */
  g_assert_false (wzp_call_answer (bob->call, bob->asked_call_id));
  party_free (alice);
  party_free (bob);
}

/* No relay and no media for media-timeout: the call fails, saying so. */
static void
test_no_media_no_relay (Fixture * f, gconstpointer data)
{
  Party *bob = relay_only (party_new (f, NULL, NULL));
  Party *alice = relay_only (party_new (f, fp (bob), NULL));
  Party *both[] = { alice, bob };
  gint64 t0;

  g_object_set (alice->call, "media-timeout", 1500, NULL);
  g_object_set (bob->call, "media-timeout", 0, NULL);
  active_pair (f, alice, bob);
  exchange (f, both, 2, 5);
  /* A relay that shuts down says so: both know at once. */
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  t0 = g_get_monotonic_time ();
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 1400 * 1000);
  g_assert_error (alice->error, WZP_CALL_ERROR, WZP_CALL_ERROR_RELAY_LOST);
  g_assert_nonnull (strstr (alice->error->message, "1500 ms"));
  /* media-timeout 0: bob waits for ever (the application decides). */
  wzp_test_run_for (f->ctx, 300);
  g_assert_true (is (bob, WZP_CALL_STATE_ACTIVE));
  party_free (alice);
  party_free (bob);
}

/* A party dies without a word (kill -9) during a direct call: its direct
 * path goes silent (the survivor falls back to the relay) and the relay,
 * after 3 s without the dead party, says peer-gone: the call ends. */
static void
test_peer_killed (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  Party *both[] = { alice, bob };
  gint64 t0;

  active_pair (f, alice, bob);
  wzp_test_wait_until (f->ctx, wzp_call_get_path (alice->call) ==
      WZP_PATH_DIRECT, WAIT_MS);
  exchange (f, both, 2, 5);
  wzp_test_endpoint_mute (_wzp_call_get_endpoint (bob->call));
  t0 = g_get_monotonic_time ();
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ENDED), WAIT_MS);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  g_assert_error (alice->error, WZP_CALL_ERROR, WZP_CALL_ERROR_PEER_GONE);
  party_free (alice);
  party_free (bob);
}

/* A relay that is not the pinned one: an error naming both fingerprints
 * within a second, and no redial loop. */
static void
test_wrong_relay_fingerprint (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) other = wzp_identity_generate ();
  Party *alice = party_new (f, NULL, NULL);
  gint64 t0 = g_get_monotonic_time ();

  g_object_set (alice->call, "relay-fingerprint",
      wzp_identity_get_fingerprint (other), NULL);
  start (alice);
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
  g_assert_error (alice->error, WZP_CALL_ERROR, WZP_CALL_ERROR_RELAY_IDENTITY);
  g_assert_nonnull (strstr (alice->error->message,
          wzp_identity_get_fingerprint (other)));
  g_assert_nonnull (strstr (alice->error->message,
          wzp_identity_get_fingerprint (f->relay_id)));
  g_assert_true (saw_relay_state (alice, WZP_RELAY_STATE_FAILED));
  party_free (alice);
}

/* The same identity started twice: the first learns it was superseded,
 * which is not a wrong relay. */
static void
test_superseded (Fixture * f, gconstpointer data)
{
  Party *first = party_new (f, NULL, NULL);
  g_autoptr (WzpCall) second = wzp_call_new (f->ctx, first->id, f->relay_addr);
  g_autoptr (GError) error = NULL;

  start (first);
  wzp_test_wait_until (f->ctx, is (first, WZP_CALL_STATE_WAITING), WAIT_MS);
  g_assert_true (wzp_call_start (second, &error));
  wzp_test_wait_until (f->ctx, is (first, WZP_CALL_STATE_FAILED), WAIT_MS);
  g_assert_error (first->error, WZP_CALL_ERROR, WZP_CALL_ERROR_SUPERSEDED);
  {
    g_autofree char *text = wzp_call_error_describe (first->error,
        f->relay_addr, NULL);
    g_assert_nonnull (strstr (text, "registered elsewhere"));
  }
  wzp_test_wait_until (f->ctx, wzp_call_get_state (second) ==
      WZP_CALL_STATE_WAITING, WAIT_MS);
  party_free (first);
}

typedef struct
{
  Party *p;
  gboolean accept;
} Decision;

static gboolean
decide_later (gpointer data)
{
  Decision *d = data;

  if (d->accept)
    g_assert_true (wzp_call_answer (d->p->call, d->p->asked_call_id));
  else
    g_assert_true (wzp_call_reject (d->p->call, d->p->asked_call_id));
  return G_SOURCE_REMOVE;
}

static gpointer
answer_from_thread (gpointer data)
{
  Party *p = data;

  g_usleep (200 * 1000);
  return GINT_TO_POINTER (wzp_call_answer (p->call, p->asked_call_id));
}

/* The application asks its user and answers later, from its own main
 * loop or another thread; the call keeps running meanwhile. */
static void
test_answer_later (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  Party *carol;
  Decision d = { bob, TRUE };
  GThread *t;

  g_object_set (f->relay, "ring-timeout", 30 * WZP_NSEC_PER_SEC, NULL);
  g_object_set (bob->call, "answer-policy", WZP_ANSWER_POLICY_ASK, NULL);
  bob->answer_later = TRUE;
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  start (alice);
  wzp_test_wait_until (f->ctx, bob->asked == 1, WAIT_MS);
  g_assert_true (is (bob, WZP_CALL_STATE_RINGING));
  g_assert_cmpstr (bob->asked_call_id, ==, wzp_call_get_call_id (alice->call));
  /* "ringing" says who and which call, on both sides (it used to come
   * with neither). */
  g_assert_cmpstr (alice->ringing_peer, ==, fp (bob));
  g_assert_cmpstr (alice->ringing_call_id, ==, bob->asked_call_id);
  g_assert_cmpstr (bob->ringing_peer, ==, fp (alice));
  g_assert_cmpstr (bob->ringing_call_id, ==, bob->asked_call_id);
  g_assert_cmpstr (wzp_call_get_peer_fingerprint (bob->call), ==, fp (alice));
  g_assert_false (wzp_call_answer (bob->call,
          "0123456789abcdef0123456789abcdef"));
  /* Two seconds of ringing: both stay registered, nothing times out. */
  wzp_test_run_for (f->ctx, 2000);
  g_assert_true (is (alice, WZP_CALL_STATE_RINGING));
  g_assert_true (is (bob, WZP_CALL_STATE_RINGING));
  g_assert_cmpint (wzp_call_get_relay_state (bob->call), ==,
      WZP_RELAY_STATE_REGISTERED);
  {
    /* The application's own main loop decides a second later. */
    GSource *later = g_timeout_source_new (1000);
    g_source_set_callback (later, decide_later, &d, NULL);
    g_source_attach (later, f->ctx);
    g_source_unref (later);
  }
  wzp_test_wait_until (f->ctx, is (alice, WZP_CALL_STATE_ACTIVE) &&
      is (bob, WZP_CALL_STATE_ACTIVE), WAIT_MS);
  wzp_call_hangup (alice->call);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING) ||
      is (bob, WZP_CALL_STATE_ENDED), WAIT_MS);
  party_free (alice);
  party_free (bob);

  /* From another thread. */
  bob = party_new (f, NULL, NULL);
  g_object_set (bob->call, "answer-policy", WZP_ANSWER_POLICY_ASK, NULL);
  bob->answer_later = TRUE;
  start (bob);
  wzp_test_wait_until (f->ctx, is (bob, WZP_CALL_STATE_WAITING), WAIT_MS);
  carol = party_new (f, fp (bob), NULL);
  start (carol);
  wzp_test_wait_until (f->ctx, bob->asked == 1, WAIT_MS);
  t = g_thread_new ("app", answer_from_thread, bob);
  wzp_test_wait_until (f->ctx, is (carol, WZP_CALL_STATE_ACTIVE), WAIT_MS);
  g_assert_true (GPOINTER_TO_INT (g_thread_join (t)));
  party_free (carol);
  party_free (bob);
}

/* rtt is the current path's: the relay connection's, then the direct
 * connection's. */
static void
test_rtt (Fixture * f, gconstpointer data)
{
  Party *bob = party_new (f, NULL, NULL);
  Party *alice = party_new (f, fp (bob), NULL);
  WzpCallStats st;

  active_pair (f, alice, bob);
  wzp_test_run_for (f->ctx, 300);
  wzp_call_get_stats (alice->call, &st);
  g_assert_cmpuint (st.rtt_ns, >, 0);
  g_assert_cmpuint (st.rtt_ns, <, 200 * WZP_NSEC_PER_MSEC);
  wzp_test_wait_until (f->ctx, wzp_call_get_path (alice->call) ==
      WZP_PATH_DIRECT, WAIT_MS);
  wzp_test_run_for (f->ctx, 300);
  wzp_call_get_stats (alice->call, &st);
  g_assert_cmpint (st.path, ==, WZP_PATH_DIRECT);
  g_assert_cmpuint (st.rtt_ns, >, 0);
  g_assert_cmpuint (st.rtt_ns, <, 200 * WZP_NSEC_PER_MSEC);
  party_free (alice);
  party_free (bob);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, func) \
  g_test_add ("/call/" name, Fixture, NULL, fixture_setup, func, \
      fixture_teardown)
  ADD ("relay-then-direct", test_call_relay_then_direct);
  ADD ("relay-only", test_relay_only);
  ADD ("tampered-and-replayed", test_tampered_and_replayed);
  ADD ("rejected-and-asked", test_rejected_and_asked);
  ADD ("peer-offline", test_peer_offline);
  ADD ("relay-unreachable", test_relay_unreachable);
  ADD ("relay-by-name", test_relay_by_name);
  ADD ("bad-settings", test_bad_settings);
  ADD ("room-of-three", test_room_of_three);
  ADD ("relay-restart-relay-path", test_relay_restart_relay_path);
  ADD ("relay-dies-direct-path", test_relay_dies_direct_path);
  ADD ("relay-dies-while-ringing", test_relay_dies_while_ringing);
  ADD ("no-media-no-relay", test_no_media_no_relay);
  ADD ("peer-killed", test_peer_killed);
  ADD ("wrong-relay-fingerprint", test_wrong_relay_fingerprint);
  ADD ("superseded", test_superseded);
  ADD ("answer-later", test_answer_later);
  ADD ("rtt", test_rtt);
  return g_test_run ();
}
