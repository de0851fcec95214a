/* test-call.c — WzpCall end to end: a real in-process relay, real QUIC on
 * loopback, two or three calls on one main context. */
#include "config.h"

#include <string.h>

#include "wzp-call.h"
#include "wzp-call-private.h"
#include "wzp-relay.h"
#include "wzp-room-invite.h"
#include "wzp-test-util.h"

#define WAIT_MS 15000

typedef struct
{
  GMainContext *ctx;
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
  guint asked;
} Party;

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) rid = wzp_identity_generate ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) listen = NULL;

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->relay = wzp_relay_new (f->ctx, rid);
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
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  wzp_test_drain (f->ctx);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
  g_free (f->relay_addr);
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

static gboolean
on_incoming (WzpCall * call, const char *from, gpointer user_data)
{
  Party *p = user_data;

  p->asked++;
  return p->accept;
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
  WzpRelayStats rs;

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
  wzp_relay_get_stats (f->relay, &rs);
  exchange (f, both, 2, 25);
  {
    WzpRelayStats after;
    wzp_relay_get_stats (f->relay, &after);
    /* Direct media does not go through the relay (a few overlap frames
     * from the switch may). */
    g_assert_cmpuint (after.datagrams_forwarded - rs.datagrams_forwarded, <,
        10);
  }
  assert_got_frames_from (alice, bob, 30);
  assert_got_frames_from (bob, alice, 30);

  wzp_call_get_stats (alice->call, &as);
  wzp_call_get_stats (bob->call, &bs);
  g_assert_cmpuint (as.frames_sent, ==, 35);
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
  WzpRelayStats rs;

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
  wzp_relay_get_stats (f->relay, &rs);
  g_assert_cmpuint (rs.datagrams_forwarded, >=, 56);
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
  g_assert_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not an address"));
  g_clear_error (&error);

  g_object_set (c2, "peer", "12345", NULL);
  g_assert_false (wzp_call_start (c2, &error));
  g_assert_nonnull (strstr (error->message, "not a fingerprint"));
  g_clear_error (&error);

  g_object_set (c3, "peer", wzp_identity_get_fingerprint (id), NULL);
  g_assert_false (wzp_call_start (c3, &error));
  g_assert_nonnull (strstr (error->message, "yourself"));
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
  return g_test_run ();
}
