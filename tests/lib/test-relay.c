/* Tests for the relay and the signal client: an in-process WzpRelay and
 * real WzpSignalClients over loopback QUIC, one GMainContext.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "wzp-relay-private.h"
#include "wzp-signal-client.h"
#include "wzp-random.h"
#include "wzp-test-util.h"
#include "wzp-test-crash.h"

#define WAIT_MS 10000

typedef struct
{
  WzpIdentity *id;
  WzpEndpoint *ep;
  WzpSignalClient *sc;
  guint registered;
  GPtrArray *ringing;           /* call ids */
  GPtrArray *incoming;          /* call ids */
  GPtrArray *incoming_from;     /* fingerprints */
  GPtrArray *offers;            /* JsonObject */
  GPtrArray *setups;            /* WzpCallSetup */
  GPtrArray *ended;             /* "call_id reason" */
  GPtrArray *errors;            /* GError */
  GPtrArray *room_events;       /* strings */
  GPtrArray *room_messages;     /* "from: text" */
  GPtrArray *peer_candidates;   /* "call_id cands... reflexive nat" */
  GPtrArray *resumed;           /* "call_id channel" */
  guint lost;
  guint room_channel;
  guint media;
  guint media_bad;
  guint32 media_channel;
  guint8 last_media[64];
  gsize last_media_len;
} Peer;

typedef struct
{
  GMainContext *ctx;
  WzpClock *clock;              /* NULL: system */
  WzpIdentity *relay_id;
  WzpRelay *relay;
  GSocketAddress *relay_addr;
  GPtrArray *peers;
} Fixture;

/* --- peers ------------------------------------------------------------ */

static char *addr_string (GSocketAddress * a);

static void
on_registered (WzpSignalClient * sc, GSocketAddress * observed, Peer * p)
{
  p->registered++;
}

static void
on_ringing (WzpSignalClient * sc, const char *call_id, Peer * p)
{
  g_ptr_array_add (p->ringing, g_strdup (call_id));
}

static void
on_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, Peer * p)
{
  g_assert_cmpuint (g_bytes_get_size (key), ==, 32);
  g_ptr_array_add (p->incoming, g_strdup (call_id));
  g_ptr_array_add (p->incoming_from, g_strdup (from));
  g_ptr_array_add (p->offers, json_object_ref (offer));
}

static void
on_setup (WzpSignalClient * sc, WzpCallSetup * setup, Peer * p)
{
  g_ptr_array_add (p->setups, wzp_call_setup_copy (setup));
}

static void
on_ended (WzpSignalClient * sc, const char *call_id, const char *reason,
    Peer * p)
{
  g_ptr_array_add (p->ended, g_strdup_printf ("%s %s", call_id, reason));
}

static void
on_error (WzpSignalClient * sc, const GError * error, Peer * p)
{
  g_ptr_array_add (p->errors, g_error_copy (error));
}

static void
on_connection_lost (WzpSignalClient * sc, const GError * error, Peer * p)
{
  g_assert_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_CONNECTION_LOST);
  p->lost++;
}

static void
on_resumed (WzpSignalClient * sc, const char *call_id, guint channel, Peer * p)
{
  g_ptr_array_add (p->resumed, g_strdup_printf ("%s %u", call_id, channel));
}

static void
on_room_joined (WzpSignalClient * sc, const char *room, guint channel,
    JsonArray * members, Peer * p)
{
  p->room_channel = channel;
  g_ptr_array_add (p->room_events, g_strdup_printf ("joined %s %u", room,
          json_array_get_length (members)));
}

static void
on_room_update (WzpSignalClient * sc, const char *room, const char *event,
    const char *fp, GBytes * key, JsonObject * blob, Peer * p)
{
  g_ptr_array_add (p->room_events, g_strdup_printf ("%s %s %s%s", event, room,
          fp, blob ? " +blob" : ""));
}

static void
on_room_message (WzpSignalClient * sc, const char *room, const char *from,
    JsonObject * body, Peer * p)
{
  g_ptr_array_add (p->room_messages, g_strdup_printf ("%s: %s", from,
          json_object_get_string_member (body, "text")));
}

static void
on_peer_candidates (WzpSignalClient * sc, const char *call_id,
    char **candidates, GSocketAddress * reflexive, WzpNatType nat, Peer * p)
{
  g_autofree char *c = g_strjoinv (",", candidates);
  g_autofree char *r = reflexive ? addr_string (reflexive) : g_strdup ("-");

  g_ptr_array_add (p->peer_candidates, g_strdup_printf ("%s %s %s %s",
          call_id, c, r, wzp_nat_type_to_string (nat)));
}

static void
on_media (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  Peer *p = user_data;

  p->media++;
  p->media_channel = channel;
  p->last_media_len = MIN (len, sizeof p->last_media);
  memcpy (p->last_media, data, p->last_media_len);
}

static void
peer_free (Peer * p)
{
  wzp_signal_client_stop (p->sc);
  g_object_unref (p->sc);
  g_object_unref (p->ep);
  g_object_unref (p->id);
  g_ptr_array_unref (p->ringing);
  g_ptr_array_unref (p->incoming);
  g_ptr_array_unref (p->incoming_from);
  g_ptr_array_unref (p->offers);
  g_ptr_array_unref (p->setups);
  g_ptr_array_unref (p->ended);
  g_ptr_array_unref (p->errors);
  g_ptr_array_unref (p->room_events);
  g_ptr_array_unref (p->room_messages);
  g_ptr_array_unref (p->peer_candidates);
  g_ptr_array_unref (p->resumed);
  g_free (p);
}

static WzpEndpoint *
loopback_endpoint (Fixture * f, WzpIdentity * id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback
      (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, f->clock, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  return ep;
}

/* A client; @id NULL for a new identity. */
static Peer *
peer_new (Fixture * f, WzpIdentity * id)
{
  Peer *p = g_new0 (Peer, 1);

  p->id = id ? g_object_ref (id) : wzp_identity_generate ();
  p->ep = loopback_endpoint (f, p->id);
  p->sc = wzp_signal_client_new (p->ep, f->relay_addr,
      wzp_relay_get_fingerprint (f->relay));
  /* These tests are about signaling and the QUIC-datagram media path,
   * whose counts they check exactly; media channels, which would take
   * over a call's media one round trip after setup, have
   * test-relay-media.c. */
  g_object_set (p->sc, "relay-channels", FALSE, NULL);
  p->ringing = g_ptr_array_new_with_free_func (g_free);
  p->incoming = g_ptr_array_new_with_free_func (g_free);
  p->incoming_from = g_ptr_array_new_with_free_func (g_free);
  p->offers = g_ptr_array_new_with_free_func ((GDestroyNotify)
      json_object_unref);
  p->setups = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wzp_call_setup_free);
  p->ended = g_ptr_array_new_with_free_func (g_free);
  p->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  p->room_events = g_ptr_array_new_with_free_func (g_free);
  p->room_messages = g_ptr_array_new_with_free_func (g_free);
  p->peer_candidates = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (p->sc, "peer-candidates",
      G_CALLBACK (on_peer_candidates), p);
  p->resumed = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (p->sc, "registered", G_CALLBACK (on_registered), p);
  g_signal_connect (p->sc, "connection-lost", G_CALLBACK (on_connection_lost),
      p);
  g_signal_connect (p->sc, "call-resumed", G_CALLBACK (on_resumed), p);
  g_signal_connect (p->sc, "call-ringing", G_CALLBACK (on_ringing), p);
  g_signal_connect (p->sc, "incoming-call", G_CALLBACK (on_incoming), p);
  g_signal_connect (p->sc, "call-setup", G_CALLBACK (on_setup), p);
  g_signal_connect (p->sc, "call-ended", G_CALLBACK (on_ended), p);
  g_signal_connect (p->sc, "error", G_CALLBACK (on_error), p);
  g_signal_connect (p->sc, "room-joined", G_CALLBACK (on_room_joined), p);
  g_signal_connect (p->sc, "room-update", G_CALLBACK (on_room_update), p);
  g_signal_connect (p->sc, "room-message", G_CALLBACK (on_room_message), p);
  wzp_signal_client_set_media_handler (p->sc, on_media, p, NULL);
  g_ptr_array_add (f->peers, p);
  return p;
}

static gboolean
is_registered (Peer * p)
{
  return wzp_signal_client_get_state (p->sc) == WZP_SIGNAL_STATE_REGISTERED;
}

static Peer *
peer_registered (Fixture * f)
{
  Peer *p = peer_new (f, NULL);

  g_assert_true (wzp_signal_client_start (p->sc, NULL));
  wzp_test_wait_until (f->ctx, is_registered (p), WAIT_MS);
  return p;
}

static const char *
fp_of (Peer * p)
{
  return wzp_identity_get_fingerprint (p->id);
}

/* --- fixture ---------------------------------------------------------- */

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->clock = data ? g_object_ref ((WzpClock *) data) : NULL;
  f->relay_id = wzp_identity_generate ();
  f->relay = g_object_new (WZP_TYPE_RELAY, "context", f->ctx, "identity",
      f->relay_id, "clock", f->clock, "listen-address", "127.0.0.1:0",
      "probe-address", "127.0.0.1:0", NULL);
  g_assert_true (wzp_relay_start (f->relay, &error));
  g_assert_no_error (error);
  f->relay_addr = wzp_relay_get_listen_address (f->relay);
  f->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  g_ptr_array_unref (f->peers);
  g_clear_object (&f->relay_addr);
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  wzp_test_drain (f->ctx);
  g_clear_object (&f->relay_id);
  g_clear_object (&f->clock);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

static WzpRelayStats
stats (Fixture * f)
{
  WzpRelayStats s;

  wzp_relay_get_stats (f->relay, &s);
  return s;
}

static gboolean
has_string (GPtrArray * a, const char *s)
{
  for (guint i = 0; i < a->len; i++) {
    if (g_strcmp0 (g_ptr_array_index (a, i), s) == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
has_ended (Peer * p, const char *call_id, const char *reason)
{
  g_autofree char *want = g_strdup_printf ("%s %s", call_id, reason);

  return has_string (p->ended, want);
}

static gboolean
has_error_code (Peer * p, const char *code)
{
  for (guint i = 0; i < p->errors->len; i++) {
    GError *e = g_ptr_array_index (p->errors, i);
    if (g_str_has_prefix (e->message, code))
      return TRUE;
  }
  return FALSE;
}

static char *
addr_string (GSocketAddress * a)
{
  return wzp_socket_address_to_string (a);
}

/* Places a call from @a to @b, answers it, waits for both setups. */
static char *
setup_call (Fixture * f, Peer * a, Peer * b)
{
  g_autoptr (JsonObject) offer = json_object_new ();
  g_autoptr (JsonObject) answer = json_object_new ();
  g_autoptr (GError) error = NULL;
  guint sa = a->setups->len, sb = b->setups->len, ib = b->incoming->len;
  char *call_id;

  json_object_set_string_member (offer, "who", "offer");
  json_object_set_string_member (answer, "who", "answer");
  call_id = wzp_signal_client_place_call (a->sc, fp_of (b), NULL, offer,
      &error);
  g_assert_no_error (error);
  wzp_test_wait_until (f->ctx, b->incoming->len == ib + 1, WAIT_MS);
  g_assert_cmpstr (g_ptr_array_index (b->incoming, ib), ==, call_id);
  g_assert_true (wzp_signal_client_answer (b->sc, call_id, answer, &error));
  wzp_test_wait_until (f->ctx, a->setups->len == sa + 1 &&
      b->setups->len == sb + 1, WAIT_MS);
  return call_id;
}

static WzpCallSetup *
last_setup (Peer * p)
{
  return g_ptr_array_index (p->setups, p->setups->len - 1);
}

static void
send_media (Peer * p, guint32 channel, guint n)
{
  for (guint i = 0; i < n; i++) {
    guint8 buf[40];
    memset (buf, i, sizeof buf);
    memcpy (buf, fp_of (p), 4);
    g_assert_true (wzp_signal_client_send_media (p->sc, channel, buf,
            sizeof buf));
  }
}

/* --- tests ------------------------------------------------------------ */

static void
test_register (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  g_autoptr (GSocketAddress) observed =
      wzp_signal_client_get_observed_address (a->sc);
  g_autoptr (GSocketAddress) local =
      wzp_endpoint_get_local_address (a->ep, G_SOCKET_FAMILY_IPV4);
  g_autofree char *so = addr_string (observed);
  g_autofree char *sl = addr_string (local);

  /* The relay sees our one socket. */
  g_assert_cmpstr (so, ==, sl);
  g_assert_cmpuint (a->registered, ==, 1);
  g_assert_cmpuint (stats (f).registrations, ==, 1);
  g_assert_cmpstr (wzp_signal_client_get_relay_fingerprint (a->sc), ==,
      wzp_relay_get_fingerprint (f->relay));

  /* reflect answers the same address. */
  g_clear_object (&observed);
  g_assert_true (wzp_signal_client_reflect (a->sc, NULL));
  wzp_test_run_for (f->ctx, 100);
  observed = wzp_signal_client_get_observed_address (a->sc);
  {
    g_autofree char *again = addr_string (observed);
    g_assert_cmpstr (again, ==, sl);
  }
}

/* A raw QUIC client that speaks the protocol by hand. */
typedef struct
{
  WzpConnection *conn;
  GPtrArray *msgs;              /* JsonObject */
  gboolean closed;
  guint64 close_code;
} Raw;

static void
raw_message (WzpConnection * conn, GBytes * bytes, Raw * r)
{
  g_autoptr (GError) error = NULL;
  JsonObject *m = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), NULL, &error);

  g_assert_no_error (error);
  g_ptr_array_add (r->msgs, m);
}

static void
raw_closed (WzpConnection * conn, const GError * error, Raw * r)
{
  r->closed = TRUE;
  wzp_connection_get_peer_close_code (conn, &r->close_code);
}

static void
raw_connect (Fixture * f, WzpEndpoint * ep, Raw * r)
{
  g_autoptr (GError) error = NULL;

  r->msgs = g_ptr_array_new_with_free_func ((GDestroyNotify)
      json_object_unref);
  r->conn = wzp_endpoint_connect (ep, f->relay_addr, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (r->conn, "message", G_CALLBACK (raw_message), r);
  g_signal_connect (r->conn, "closed", G_CALLBACK (raw_closed), r);
  wzp_test_wait_until (f->ctx, r->msgs->len == 1, WAIT_MS);
  g_assert_cmpint (wzp_message_get_msg_type (g_ptr_array_index (r->msgs, 0)),
      ==, WZP_MSG_HELLO);
}

static void
raw_send (Raw * r, JsonObject * msg)
{
  g_autoptr (GBytes) b = wzp_message_to_bytes (msg);

  json_object_unref (msg);
  g_assert_true (wzp_connection_send_message (r->conn, g_bytes_get_data (b,
              NULL), g_bytes_get_size (b), NULL));
}

static const char *
raw_error_code (Raw * r, guint i)
{
  JsonObject *m = g_ptr_array_index (r->msgs, i);

  g_assert_cmpint (wzp_message_get_msg_type (m), ==, WZP_MSG_ERROR);
  return json_object_get_string_member (m, "code");
}

static void
raw_clear (Raw * r)
{
  g_signal_handlers_disconnect_by_data (r->conn, r);
  wzp_connection_close (r->conn, 0, "done");
  g_clear_object (&r->conn);
  g_ptr_array_unref (r->msgs);
}

static void
challenge_of (Raw * r, guint8 out[WZP_CHALLENGE_LEN])
{
  g_autoptr (GBytes) c = NULL;

  g_assert_true (wzp_message_get_bytes (g_ptr_array_index (r->msgs, 0),
          "challenge", TRUE, 32, 32, &c, NULL));
  memcpy (out, g_bytes_get_data (c, NULL), WZP_CHALLENGE_LEN);
}

static void
test_impersonation_refused (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) mallory = wzp_identity_generate ();
  g_autoptr (WzpIdentity) alice = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) ep = loopback_endpoint (f, mallory);
  guint8 challenge[WZP_CHALLENGE_LEN];
  Raw r = { 0 };

  /* 1. Mallory's TLS identity, Alice's key (validly signed by Alice, who
   * Mallory fooled into signing this challenge). */
  raw_connect (f, ep, &r);
  raw_send (&r, wzp_message_new_reflect ());
  wzp_test_wait_until (f->ctx, r.msgs->len == 2, WAIT_MS);
  g_assert_cmpstr (raw_error_code (&r, 1), ==, "not-registered");
  challenge_of (&r, challenge);
  raw_send (&r, wzp_message_new_register (alice, challenge));
  wzp_test_wait_until (f->ctx, r.msgs->len == 3 && r.closed, WAIT_MS);
  g_assert_cmpstr (raw_error_code (&r, 2), ==, "identity-mismatch");
  g_assert_cmpuint (r.close_code, ==, WZP_CLOSE_REFUSED);
  g_assert_cmpuint (stats (f).registrations, ==, 0);
  raw_clear (&r);

  /* 2. Mallory's own key, but a signature over another challenge (a
   * replay of an old registration). */
  memset (&r, 0, sizeof r);
  raw_connect (f, ep, &r);
  challenge_of (&r, challenge);
  challenge[0] ^= 1;
  raw_send (&r, wzp_message_new_register (mallory, challenge));
  wzp_test_wait_until (f->ctx, r.msgs->len == 2 && r.closed, WAIT_MS);
  g_assert_cmpstr (raw_error_code (&r, 1), ==, "bad-signature");
  raw_clear (&r);

  g_assert_cmpuint (stats (f).registrations, ==, 0);
  g_assert_cmpuint (stats (f).registrations_refused, ==, 2);
  g_assert_cmpuint (wzp_relay_get_error_count (f->relay, "bad-signature"), ==,
      1);

  /* 3. Alice herself is still free to register. */
  {
    Peer *a = peer_new (f, alice);
    g_assert_true (wzp_signal_client_start (a->sc, NULL));
    wzp_test_wait_until (f->ctx, is_registered (a), WAIT_MS);
  }
}

/* Registration bound to the TLS exporter (PROTOCOL.md §3): accepted
 * without the challenge; a bound registration from another connection (a
 * replay) or with an unknown binding is refused; the challenge still
 * works. */
static void
test_register_bound (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) alice = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) ep = loopback_endpoint (f, alice);
  guint8 binding[WZP_REGISTER_BINDING_LEN], other[WZP_REGISTER_BINDING_LEN];
  guint8 challenge[WZP_CHALLENGE_LEN];
  Raw r = { 0 };

  /* 1. Bound to this connection: registered. */
  raw_connect (f, ep, &r);
  g_assert_true (wzp_connection_export_keying_material (r.conn,
          WZP_REGISTER_EXPORTER_LABEL, binding, sizeof binding, NULL));
  raw_send (&r, wzp_message_new_register_bound (alice, binding));
  wzp_test_wait_until (f->ctx, r.msgs->len == 2, WAIT_MS);
  g_assert_cmpint (wzp_message_get_msg_type (g_ptr_array_index (r.msgs, 1)),
      ==, WZP_MSG_REGISTERED);
  g_assert_cmpuint (stats (f).registrations, ==, 1);
  raw_clear (&r);
  wzp_test_run_for (f->ctx, 50);

  /* 2. The same registration replayed on another connection: that
   * connection's exporter differs. */
  memset (&r, 0, sizeof r);
  raw_connect (f, ep, &r);
  g_assert_true (wzp_connection_export_keying_material (r.conn,
          WZP_REGISTER_EXPORTER_LABEL, other, sizeof other, NULL));
  g_assert_true (memcmp (binding, other, sizeof binding) != 0);
  raw_send (&r, wzp_message_new_register_bound (alice, binding));
  wzp_test_wait_until (f->ctx, r.msgs->len == 2 && r.closed, WAIT_MS);
  g_assert_cmpstr (raw_error_code (&r, 1), ==, "bad-signature");
  raw_clear (&r);

  /* 3. An unknown binding. */
  memset (&r, 0, sizeof r);
  raw_connect (f, ep, &r);
  {
    JsonObject *m = wzp_message_new_register_bound (alice, other);
    json_object_set_string_member (m, "binding", "carrier-pigeon");
    raw_send (&r, m);
  }
  wzp_test_wait_until (f->ctx, r.msgs->len == 2, WAIT_MS);
  g_assert_cmpstr (raw_error_code (&r, 1), ==, "bad-message");

  /* 4. On the same connection, the challenge still registers. */
  challenge_of (&r, challenge);
  raw_send (&r, wzp_message_new_register (alice, challenge));
  wzp_test_wait_until (f->ctx, r.msgs->len == 3, WAIT_MS);
  g_assert_cmpint (wzp_message_get_msg_type (g_ptr_array_index (r.msgs, 2)),
      ==, WZP_MSG_REGISTERED);
  raw_clear (&r);
}

static void
notify_count (GObject * obj, GParamSpec * pspec, guint * n)
{
  (*n)++;
}

static void
test_nat_probe (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  guint notified = 0;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (wzp_signal_client_get_nat_type (a->sc), ==,
      WZP_NAT_TYPE_UNKNOWN);
  g_signal_connect (a->sc, "notify::nat-type", G_CALLBACK (notify_count),
      &notified);
  g_assert_true (wzp_signal_client_probe_nat (a->sc, &error));
  g_assert_no_error (error);
  wzp_test_wait_until (f->ctx, notified > 0, WAIT_MS);
  /* Loopback has no NAT: both relay ports see the same address. */
  g_assert_cmpint (wzp_signal_client_get_nat_type (a->sc), ==,
      WZP_NAT_TYPE_EIM);
  g_assert_cmpuint (stats (f).probes_answered, ==, 1);
  g_assert_cmpuint (a->errors->len, ==, 0);
}

/* The relay records what each connection's NAT probe showed and tells the
 * other party in call-setup (peer_nat). */
static void
test_call_setup_nat (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *c = peer_registered (f);
  Peer *d = peer_registered (f);
  guint notified = 0;
  g_autofree char *ab = NULL;
  g_autofree char *cd = NULL;
  g_autoptr (GError) error = NULL;

  g_signal_connect (a->sc, "notify::nat-type", G_CALLBACK (notify_count),
      &notified);
  g_signal_connect (b->sc, "notify::nat-type", G_CALLBACK (notify_count),
      &notified);
  g_signal_connect (c->sc, "notify::nat-type", G_CALLBACK (notify_count),
      &notified);
  g_assert_true (wzp_signal_client_probe_nat (a->sc, &error));
  g_assert_true (wzp_signal_client_probe_nat (b->sc, &error));
  g_assert_true (wzp_signal_client_probe_nat (c->sc, &error));
  g_assert_no_error (error);
  wzp_test_wait_until (f->ctx, notified >= 3, WAIT_MS);
  g_assert_cmpuint (stats (f).probes_answered, ==, 3);

  /* Both probed: each learns the other's type (loopback: no NAT, "eim"). */
  ab = setup_call (f, a, b);
  g_assert_cmpstr (last_setup (a)->call_id, ==, ab);
  g_assert_cmpint (last_setup (a)->peer_nat, ==, WZP_NAT_TYPE_EIM);
  g_assert_cmpint (last_setup (b)->peer_nat, ==, WZP_NAT_TYPE_EIM);

  /* Only the caller probed: the callee learns it, the caller gets
   * "unknown". */
  cd = setup_call (f, c, d);
  g_assert_cmpstr (last_setup (c)->call_id, ==, cd);
  g_assert_cmpint (last_setup (c)->peer_nat, ==, WZP_NAT_TYPE_UNKNOWN);
  g_assert_cmpint (last_setup (d)->peer_nat, ==, WZP_NAT_TYPE_EIM);
  g_assert_cmpuint (a->errors->len + b->errors->len + c->errors->len +
      d->errors->len, ==, 0);
}

static void
test_call_setup_and_media (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  g_autofree char *call_id = NULL;
  WzpCallSetup *sa, *sb;
  WzpRelayStats s;

  call_id = setup_call (f, a, b);
  g_assert_cmpuint (a->ringing->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (a->ringing, 0), ==, call_id);
  g_assert_cmpstr (g_ptr_array_index (b->incoming_from, 0), ==, fp_of (a));
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index
          (b->offers, 0), "who"), ==, "offer");

  sa = last_setup (a);
  sb = last_setup (b);
  g_assert_cmpstr (sa->call_id, ==, call_id);
  g_assert_cmpstr (sb->call_id, ==, call_id);
  g_assert_cmpstr (sa->peer_fingerprint, ==, fp_of (b));
  g_assert_cmpstr (sb->peer_fingerprint, ==, fp_of (a));
  g_assert_cmpstr (sa->role, ==, "caller");
  g_assert_cmpstr (sb->role, ==, "callee");
  /* Each gets the other's object: the caller the answer, the callee the
   * offer. */
  g_assert_cmpstr (json_object_get_string_member (sa->peer_blob, "who"), ==,
      "answer");
  g_assert_cmpstr (json_object_get_string_member (sb->peer_blob, "who"), ==,
      "offer");
  {
    guint8 pk[32];
    wzp_identity_get_public_key (b->id, pk);
    g_assert_cmpmem (g_bytes_get_data (sa->peer_public_key, NULL), 32, pk, 32);
    wzp_identity_get_public_key (a->id, pk);
    g_assert_cmpmem (g_bytes_get_data (sb->peer_public_key, NULL), 32, pk, 32);
  }
  {
    g_autoptr (GSocketAddress) la = wzp_endpoint_get_local_address (a->ep,
        G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) lb = wzp_endpoint_get_local_address (b->ep,
        G_SOCKET_FAMILY_IPV4);
    g_autofree char *sla = addr_string (la);
    g_autofree char *slb = addr_string (lb);
    g_autofree char *ra = addr_string (sa->peer_reflexive);
    g_autofree char *rb = addr_string (sb->peer_reflexive);
    g_assert_cmpstr (ra, ==, slb);
    g_assert_cmpstr (rb, ==, sla);
  }
  g_assert_cmpuint (sa->channel, ==, sb->channel);
  g_assert_cmpuint (sa->channel, !=, 0);
  /* Neither probed its NAT: the relay cannot tell. */
  g_assert_cmpint (sa->peer_nat, ==, WZP_NAT_TYPE_UNKNOWN);
  g_assert_cmpint (sb->peer_nat, ==, WZP_NAT_TYPE_UNKNOWN);
  g_assert_cmpuint (stats (f).calls_active, ==, 1);

  send_media (a, sa->channel, 10);
  send_media (b, sb->channel, 10);
  wzp_test_wait_until (f->ctx, a->media == 10 && b->media == 10, WAIT_MS);
  g_assert_cmpuint (a->media_channel, ==, sa->channel);
  /* The payload arrives untouched: b got a's bytes. */
  g_assert_cmpmem (b->last_media, 4, fp_of (a), 4);
  g_assert_cmpmem (a->last_media, 4, fp_of (b), 4);
  s = stats (f);
  g_assert_cmpuint (s.datagrams_forwarded, ==, 20);
  g_assert_cmpuint (s.bytes_forwarded, ==, 20 * (40 + 5));
  g_assert_cmpuint (s.datagrams_dropped, ==, 0);
}

static void
test_hangup_ends_only_that_call (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *c = peer_registered (f);
  Peer *d = peer_registered (f);
  g_autofree char *ab = setup_call (f, a, b);
  g_autofree char *cd = setup_call (f, c, d);
  guint32 cd_channel = last_setup (c)->channel;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (ab);

  g_assert_cmpuint (stats (f).calls_active, ==, 2);
  /* Hanging up a call one is not part of does nothing to it. */
  g_assert_true (wzp_signal_client_hangup (a->sc, cd, &error));
  wzp_test_wait_until (f->ctx, has_error_code (a, "unknown-call"), WAIT_MS);

  g_assert_true (wzp_signal_client_hangup (a->sc, ab, &error));
  wzp_test_wait_until (f->ctx, has_ended (a, ab, "hangup") &&
      has_ended (b, ab, "hangup"), WAIT_MS);
  g_assert_cmpuint (stats (f).calls_active, ==, 1);

  /* c-d goes on: no call-ended, and media still flows. */
  send_media (c, cd_channel, 5);
  send_media (d, cd_channel, 5);
  wzp_test_wait_until (f->ctx, c->media == 5 && d->media == 5, WAIT_MS);
  g_assert_cmpuint (c->ended->len, ==, 0);
  g_assert_cmpuint (d->ended->len, ==, 0);

  /* a and b are free again. */
  {
    g_autofree char *again = setup_call (f, b, a);
    g_assert_nonnull (again);
  }
}

static void
test_reject (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = wzp_signal_client_place_call (a->sc, fp_of (b), NULL,
      NULL, &error);

  wzp_test_wait_until (f->ctx, b->incoming->len == 1 && a->ringing->len == 1,
      WAIT_MS);
  g_assert_true (wzp_signal_client_reject (b->sc, id, &error));
  wzp_test_wait_until (f->ctx, has_ended (a, id, "rejected"), WAIT_MS);
  g_assert_cmpuint (a->setups->len, ==, 0);
  g_assert_cmpuint (stats (f).calls_active + stats (f).calls_ringing, ==, 0);
}

static void
test_busy_and_offline (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *c = peer_registered (f);
  g_autoptr (WzpIdentity) nobody = wzp_identity_generate ();
  g_autoptr (GError) error = NULL;
  g_autofree char *ab = wzp_signal_client_place_call (a->sc, fp_of (b), NULL,
      NULL, &error);
  g_autofree char *cb = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *off = NULL;

  wzp_test_wait_until (f->ctx, b->incoming->len == 1, WAIT_MS);
  /* b rings: calling b, or a (the caller), is busy. */
  cb = wzp_signal_client_place_call (c->sc, fp_of (b), NULL, NULL, &error);
  ca = wzp_signal_client_place_call (c->sc, fp_of (a), NULL, NULL, &error);
  wzp_test_wait_until (f->ctx, has_ended (c, cb, "busy") &&
      has_ended (c, ca, "busy"), WAIT_MS);
  g_assert_cmpuint (b->incoming->len, ==, 1);

  off = wzp_signal_client_place_call (c->sc, wzp_identity_get_fingerprint
      (nobody), NULL, NULL, &error);
  wzp_test_wait_until (f->ctx, has_ended (c, off, "peer-offline"), WAIT_MS);

  /* A caller-chosen id that is in use is refused. */
  {
    g_autofree char *dup = wzp_signal_client_place_call (c->sc, fp_of (a), ab,
        NULL, &error);
    g_assert_cmpstr (dup, ==, ab);
    wzp_test_wait_until (f->ctx, has_error_code (c, "call-id-in-use"), WAIT_MS);
  }
  /* a's call to b was not disturbed. */
  g_assert_cmpuint (a->ended->len, ==, 0);
  g_assert_cmpuint (stats (f).calls_ringing, ==, 1);
}

/* With a test clock, time moves only when the test moves it. */
static void
tick_until (Fixture * f, gboolean (*cond) (gpointer), gpointer data)
{
  WzpTestClock *clock = WZP_TEST_CLOCK (f->clock);

  for (guint i = 0; !cond (data); i++) {
    if (i > 20000)
      g_error ("no progress on the test clock");
    wzp_test_clock_advance (clock, WZP_NSEC_PER_MSEC);
    wzp_test_iterate (f->ctx, 1);
  }
}

static gboolean
peer_is_registered (gpointer p)
{
  return is_registered (p);
}

typedef struct
{
  Peer *a, *b;
  const char *id;
} Pair;

static gboolean
both_rang (gpointer data)
{
  Pair *p = data;

  return p->b->incoming->len == 1 && p->a->ringing->len == 1;
}

static void
test_ring_timeout (Fixture * f, gconstpointer data)
{
  WzpTestClock *clock = WZP_TEST_CLOCK (f->clock);
  Peer *a = peer_new (f, NULL);
  Peer *b = peer_new (f, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  Pair pair = { a, b, NULL };

  g_object_set (f->relay, "ring-timeout", 5 * WZP_NSEC_PER_SEC, NULL);
  wzp_signal_client_start (a->sc, NULL);
  wzp_signal_client_start (b->sc, NULL);
  tick_until (f, peer_is_registered, a);
  tick_until (f, peer_is_registered, b);
  id = wzp_signal_client_place_call (a->sc, fp_of (b), NULL, NULL, &error);
  g_assert_no_error (error);
  tick_until (f, both_rang, &pair);

  /* 4.5 s of ringing: nothing yet (keep-alives keep QUIC up). */
  for (guint i = 0; i < 18; i++) {
    wzp_test_clock_advance (clock, 250 * WZP_NSEC_PER_MSEC);
    for (guint k = 0; k < 5; k++)
      wzp_test_iterate (f->ctx, 2);
  }
  g_assert_cmpuint (a->ended->len, ==, 0);
  for (guint i = 0; i < 4 && !(has_ended (a, id, "no-answer") &&
          has_ended (b, id, "no-answer")); i++) {
    wzp_test_clock_advance (clock, 250 * WZP_NSEC_PER_MSEC);
    for (guint k = 0; k < 20; k++)
      wzp_test_iterate (f->ctx, 2);
  }
  g_assert_true (has_ended (a, id, "no-answer"));
  g_assert_true (has_ended (b, id, "no-answer"));
  g_assert_cmpuint (stats (f).calls_ringing, ==, 0);
  g_assert_true (is_registered (a) && is_registered (b));
}

static RelayClient *
relay_side (Fixture * f, Peer * p)
{
  return g_hash_table_lookup (f->relay->registrations, fp_of (p));
}

static void
kill_first_connection (WzpEndpoint * ep, WzpConnection * conn, guint * n)
{
  /* The relay already queued its hello; the client sees the connection
   * die before it could register. */
  if ((*n)++ == 0)
    wzp_connection_close (conn, 0, "killed by the test");
}

static void
test_reconnect (Fixture * f, gconstpointer data)
{
  guint accepted = 0;
  gulong id = g_signal_connect (wzp_relay_get_endpoint (f->relay),
      "incoming-connection", G_CALLBACK (kill_first_connection), &accepted);
  Peer *a = peer_new (f, NULL);
  Peer *b = peer_registered (f);
  g_autofree char *call_id = NULL;
  RelayClient *before;

  /* 1. Killed mid-registration: the client retries and registers. */
  g_assert_true (wzp_signal_client_start (a->sc, NULL));
  wzp_test_wait_until (f->ctx, is_registered (a), WAIT_MS);
  g_assert_cmpuint (accepted, >=, 2);
  g_assert_cmpuint (a->registered, ==, 1);
  g_signal_handler_disconnect (wzp_relay_get_endpoint (f->relay), id);

  /* 2. Killed while in a call: the call ends for the peer ("peer-gone"),
   * the client comes back on its own. */
  call_id = setup_call (f, a, b);
  before = relay_side (f, a);
  wzp_connection_close (before->conn, 0, "network went away");
  wzp_test_wait_until (f->ctx, has_ended (b, call_id, "peer-gone"), WAIT_MS);
  wzp_test_wait_until (f->ctx, a->registered == 2, WAIT_MS);
  g_assert_cmpuint (stats (f).registrations, ==, 2);
  g_assert_cmpuint (stats (f).calls_active, ==, 0);
}

static void
test_superseded_keeps_new_registration (Fixture * f, gconstpointer data)
{
  Peer *a1 = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *a2;
  g_autofree char *call_id = setup_call (f, a1, b);
  guint32 channel = last_setup (b)->channel;

  /* The same identity registers from a new socket (a reconnect whose old
   * connection the relay has not noticed dying). */
  a2 = peer_new (f, a1->id);
  g_assert_true (wzp_signal_client_start (a2->sc, NULL));
  wzp_test_wait_until (f->ctx, is_registered (a2), WAIT_MS);

  /* The old one is told, stops, and does not fight back. */
  wzp_test_wait_until (f->ctx, has_error_code (a1, "superseded"), WAIT_MS);
  g_assert_error ((GError *) g_ptr_array_index (a1->errors, 0),
      WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_SUPERSEDED);
  wzp_test_run_for (f->ctx, 500);
  g_assert_cmpint (wzp_signal_client_get_state (a1->sc), ==,
      WZP_SIGNAL_STATE_DISCONNECTED);
  g_assert_cmpuint (a2->registered, ==, 1);
  g_assert_cmpuint (a2->errors->len, ==, 0);

  /* The old connection is gone and its cleanup removed nothing: the
   * registration is a2's and the call goes on. */
  g_assert_cmpuint (stats (f).connections, ==, 2);
  g_assert_cmpuint (stats (f).registrations, ==, 2);
  g_assert_cmpuint (stats (f).registrations_superseded, ==, 1);
  g_assert_cmpuint (stats (f).calls_active, ==, 1);
  g_assert_cmpuint (b->ended->len, ==, 0);
  send_media (b, channel, 3);
  wzp_test_wait_until (f->ctx, a2->media == 3, WAIT_MS);
  /* The new connection can hang up the call by id. */
  g_assert_true (wzp_signal_client_hangup (a2->sc, call_id, NULL));
  wzp_test_wait_until (f->ctx, has_ended (b, call_id, "hangup"), WAIT_MS);
}

static void
test_third_party_cannot_inject (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *eve = peer_registered (f);
  g_autofree char *call_id = setup_call (f, a, b);
  guint32 channel = last_setup (a)->channel;
  WzpRelayStats s;

  g_assert_nonnull (call_id);
  /* Eve knows the channel and sends on it: dropped, counted. */
  send_media (eve, channel, 10);
  send_media (eve, channel + 1, 3);     /* no such channel */
  send_media (a, channel, 5);
  wzp_test_wait_until (f->ctx, b->media == 5, WAIT_MS);
  wzp_test_run_for (f->ctx, 100);
  g_assert_cmpuint (b->media, ==, 5);
  g_assert_cmpuint (a->media, ==, 0);
  g_assert_cmpuint (eve->media, ==, 0);
  s = stats (f);
  g_assert_cmpuint (s.datagrams_dropped, ==, 13);
  g_assert_cmpuint (s.datagrams_forwarded, ==, 5);

  /* Media on a ringing call is dropped too. */
  {
    Peer *c = peer_registered (f);
    Peer *d = peer_registered (f);
    g_autofree char *cd = wzp_signal_client_place_call (c->sc, fp_of (d),
        NULL, NULL, NULL);
    RelayCall *call;
    wzp_test_wait_until (f->ctx, d->incoming->len == 1, WAIT_MS);
    call = g_hash_table_lookup (f->relay->calls, cd);
    send_media (c, call->channel.id, 2);
    wzp_test_wait_until (f->ctx, stats (f).datagrams_dropped == 15, WAIT_MS);
    g_assert_cmpuint (d->media, ==, 0);
  }
}

static gboolean
has_room_event (Peer * p, const char *prefix)
{
  for (guint i = 0; i < p->room_events->len; i++) {
    if (g_str_has_prefix (g_ptr_array_index (p->room_events, i), prefix))
      return TRUE;
  }
  return FALSE;
}

static void
test_room_three_members (Fixture * f, gconstpointer data)
{
  Peer *p[3];
  g_autoptr (JsonObject) blob = json_object_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *joined_c = NULL;

  json_object_set_string_member (blob, "sender_key", "k");
  for (guint i = 0; i < 3; i++)
    p[i] = peer_registered (f);
  for (guint i = 0; i < 3; i++) {
    g_assert_true (wzp_signal_client_join_room (p[i]->sc, "lobby", blob,
            &error));
    wzp_test_wait_until (f->ctx, p[i]->room_channel != 0, WAIT_MS);
  }
  g_assert_true (has_room_event (p[0], "joined lobby 0"));
  g_assert_true (has_room_event (p[2], "joined lobby 2"));
  joined_c = g_strdup_printf ("joined lobby %s +blob", fp_of (p[2]));
  wzp_test_wait_until (f->ctx, has_room_event (p[0], joined_c) &&
      has_room_event (p[1], joined_c), WAIT_MS);
  g_assert_cmpuint (p[0]->room_channel, ==, p[2]->room_channel);
  g_assert_cmpuint (stats (f).rooms, ==, 1);
  g_assert_cmpuint (stats (f).room_members, ==, 3);

  for (guint i = 0; i < 3; i++)
    send_media (p[i], p[i]->room_channel, 4);
  wzp_test_wait_until (f->ctx, p[0]->media == 8 && p[1]->media == 8 &&
      p[2]->media == 8, WAIT_MS);
  wzp_test_run_for (f->ctx, 100);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (p[i]->media, ==, 8);      /* never its own */
  g_assert_cmpuint (stats (f).datagrams_forwarded, ==, 24);

  /* Room messages: to everyone, and to one member. */
  {
    g_autoptr (JsonObject) body = json_object_new ();
    g_autofree char *want = g_strdup_printf ("%s: hi", fp_of (p[0]));
    json_object_set_string_member (body, "text", "hi");
    g_assert_true (wzp_signal_client_send_room_message (p[0]->sc, "lobby",
            NULL, body, &error));
    json_object_set_string_member (body, "text", "psst");
    g_assert_true (wzp_signal_client_send_room_message (p[1]->sc, "lobby",
            fp_of (p[2]), body, &error));
    wzp_test_wait_until (f->ctx, p[1]->room_messages->len == 1 &&
        p[2]->room_messages->len == 2, WAIT_MS);
    g_assert_true (has_string (p[1]->room_messages, want));
    g_assert_cmpuint (p[0]->room_messages->len, ==, 0);
  }

  /* Leaving: the others hear it and stop getting its media. */
  g_assert_true (wzp_signal_client_leave_room (p[2]->sc, "lobby", &error));
  {
    g_autofree char *left = g_strdup_printf ("left lobby %s", fp_of (p[2]));
    wzp_test_wait_until (f->ctx, has_room_event (p[0], left), WAIT_MS);
  }
  send_media (p[0], p[0]->room_channel, 2);
  wzp_test_wait_until (f->ctx, p[1]->media == 10, WAIT_MS);
  wzp_test_run_for (f->ctx, 100);
  g_assert_cmpuint (p[2]->media, ==, 8);
  g_assert_cmpuint (stats (f).room_members, ==, 2);
}

static void
test_malformed_input (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *c = peer_registered (f);
  Peer *d = peer_registered (f);
  g_autofree char *cd = setup_call (f, c, d);
  guint32 channel = last_setup (c)->channel;
  WzpConnection *conn = wzp_signal_client_get_connection (a->sc);
  g_autofree char *big = g_strnfill (20000, 'x');
  const char *bad[] = {
    "{this is not json",
    "[]",
    "{\"v\":1,\"type\":\"teleport\"}",
    "{\"v\":9,\"type\":\"call\"}",
    "{\"v\":1,\"type\":\"call\",\"call_id\":\"00\"}",
    "{\"v\":1,\"type\":\"hangup\",\"req\":5}",
    "{\"v\":1,\"type\":\"call-setup\",\"call_id\":\"x\"}",
    "{\"v\":1,\"type\":\"join-room\",\"room\":7}",
  };

  g_assert_nonnull (cd);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_true (wzp_connection_send_message (conn, (guint8 *) bad[i],
            strlen (bad[i]), NULL));
  g_assert_true (wzp_connection_send_message (conn, (guint8 *) big,
          strlen (big), NULL));
  /* Meanwhile c and d talk. */
  send_media (c, channel, 10);
  wzp_test_wait_until (f->ctx, a->errors->len == G_N_ELEMENTS (bad) + 1 &&
      d->media == 10, WAIT_MS);

  g_assert_true (has_error_code (a, "bad-message"));
  g_assert_true (has_error_code (a, "unknown-type"));
  g_assert_true (has_error_code (a, "bad-version"));
  g_assert_true (has_error_code (a, "unexpected-type"));
  g_assert_true (has_error_code (a, "too-large"));
  {
    /* The errors say what was wrong. */
    gboolean saw = FALSE;
    for (guint i = 0; i < a->errors->len; i++) {
      GError *e = g_ptr_array_index (a->errors, i);
      g_assert_error (e, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_RELAY);
      saw |= strstr (e->message, "hangup: field 'call_id' missing") != NULL;
    }
    g_assert_true (saw);
  }
  g_assert_true (is_registered (a));
  g_assert_cmpuint (c->ended->len + d->ended->len, ==, 0);
  g_assert_cmpuint (wzp_relay_get_error_count (f->relay, "too-large"), ==, 1);

  /* Garbage datagrams are dropped and counted. */
  {
    guint8 junk[3] = { 0x10, 1, 2 };
    guint64 before = stats (f).datagrams_dropped;
    wzp_connection_send_datagram (conn, junk, sizeof junk);
    junk[0] = 0x99;
    wzp_connection_send_datagram (conn, junk, sizeof junk);
    wzp_test_wait_until (f->ctx, stats (f).datagrams_dropped == before + 2,
        WAIT_MS);
  }
  /* And the relay still serves a. */
  {
    Peer *e = peer_registered (f);
    g_autofree char *again = setup_call (f, a, e);
    g_assert_nonnull (again);
  }
}

/* A party's network changed mid-call: the other party gets its new host
 * candidates, the address the relay sees it at, and its NAT type.  Only
 * a party of a call that is set up may say so, with valid addresses. */
static void
test_update_candidates (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *c = peer_registered (f);
  Peer *d = peer_registered (f);
  g_autofree char *ab = setup_call (f, a, b);
  g_autofree char *cd = NULL;
  g_autoptr (GSocketAddress) la = wzp_endpoint_get_local_address (a->ep,
      G_SOCKET_FAMILY_IPV4);
  g_autofree char *sla = addr_string (la);
  g_autofree char *want = NULL;
  const char *cands[] = { "10.9.9.9:1234", "[2001:db8::1]:5", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) offer = json_object_new ();
  WzpConnection *conn = wzp_signal_client_get_connection (a->sc);
  g_autofree char *bad_addr = g_strdup_printf ("{\"v\":1,\"type\":"
      "\"update-candidates\",\"call_id\":\"%s\",\"candidates\":"
      "[\"not-an-address\"]}", ab);
  g_autofree char *too_many = NULL;

  g_assert_true (wzp_signal_client_update_candidates (a->sc, ab, cands,
          WZP_NAT_TYPE_EIM, &error));
  g_assert_no_error (error);
  wzp_test_wait_until (f->ctx, b->peer_candidates->len == 1, WAIT_MS);
  /* a never probed its NAT: the relay passes on what a said. */
  want = g_strdup_printf ("%s 10.9.9.9:1234,[2001:db8::1]:5 %s eim", ab, sla);
  g_assert_cmpstr (g_ptr_array_index (b->peer_candidates, 0), ==, want);
  g_assert_cmpuint (a->peer_candidates->len, ==, 0);

  /* Someone else's call, a call that only rings, bad addresses, too
   * many: refused, nobody told. */
  g_assert_true (wzp_signal_client_update_candidates (c->sc, ab, cands,
          WZP_NAT_TYPE_EIM, NULL));
  wzp_test_wait_until (f->ctx, has_error_code (c, "unknown-call"), WAIT_MS);
  cd = wzp_signal_client_place_call (c->sc, fp_of (d), NULL, offer, &error);
  g_assert_nonnull (cd);
  wzp_test_wait_until (f->ctx, d->incoming->len == 1, WAIT_MS);
  g_assert_true (wzp_signal_client_update_candidates (c->sc, cd, cands,
          WZP_NAT_TYPE_EIM, NULL));
  wzp_test_wait_until (f->ctx, has_error_code (c, "bad-state"), WAIT_MS);
  g_assert_true (wzp_connection_send_message (conn, (guint8 *) bad_addr,
          strlen (bad_addr), NULL));
  wzp_test_wait_until (f->ctx, has_error_code (a, "bad-message"), WAIT_MS);
  {
    GString *t = g_string_new (NULL);
    g_string_append_printf (t, "{\"v\":1,\"type\":\"update-candidates\","
        "\"call_id\":\"%s\",\"candidates\":[", ab);
    for (guint i = 0; i < WZP_MESSAGE_MAX_CANDIDATES + 1; i++)
      g_string_append_printf (t, "%s\"10.0.0.%u:9\"", i ? "," : "", i + 1);
    g_string_append (t, "]}");
    too_many = g_string_free (t, FALSE);
  }
  g_assert_true (wzp_connection_send_message (conn, (guint8 *) too_many,
          strlen (too_many), NULL));
  wzp_test_wait_until (f->ctx, a->errors->len == 2, WAIT_MS);
  g_assert_nonnull (strstr (((GError *) g_ptr_array_index (a->errors,
                  1))->message, "too many"));
  /* The client side refuses too many before sending. */
  {
    const char *many[WZP_MESSAGE_MAX_CANDIDATES + 2];
    for (guint i = 0; i <= WZP_MESSAGE_MAX_CANDIDATES; i++)
      many[i] = "10.0.0.1:9";
    many[WZP_MESSAGE_MAX_CANDIDATES + 1] = NULL;
    g_assert_false (wzp_signal_client_update_candidates (a->sc, ab, many,
            WZP_NAT_TYPE_EIM, &error));
    g_assert_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_INVALID_ARGUMENT);
  }
  wzp_test_run_for (f->ctx, 100);
  g_assert_cmpuint (b->peer_candidates->len, ==, 1);
  g_assert_cmpuint (d->peer_candidates->len, ==, 0);
}

/* --- relay restart: resuming calls ------------------------------------ */

/* What the call layer does: the caller signs its offer, the callee its
 * answer; together they prove the call. */
static void
make_proof (const char *call_id, Peer * caller, Peer * callee,
    WzpCallProof * proof)
{
  g_autoptr (GBytes) offer = NULL;
  g_autoptr (GBytes) answer = NULL;

  g_assert_true (wzp_call_id_to_bytes (call_id, proof->call_id));
  wzp_random_bytes (proof->caller_eph, sizeof proof->caller_eph);
  wzp_random_bytes (proof->callee_eph, sizeof proof->callee_eph);
  offer = wzp_call_signed_data (proof->call_id, fp_of (caller),
      fp_of (callee), proof->caller_eph, NULL);
  answer = wzp_call_signed_data (proof->call_id, fp_of (caller),
      fp_of (callee), proof->caller_eph, proof->callee_eph);
  wzp_identity_sign (caller->id, g_bytes_get_data (offer, NULL),
      g_bytes_get_size (offer), proof->offer_sig);
  wzp_identity_sign (callee->id, g_bytes_get_data (answer, NULL),
      g_bytes_get_size (answer), proof->answer_sig);
}

static void
resume (Peer * p, Peer * peer, gboolean we_called, const WzpCallProof * proof)
{
  guint8 pk[WZP_PUBLIC_KEY_LEN];
  g_autoptr (GError) error = NULL;

  wzp_identity_get_public_key (peer->id, pk);
  g_assert_true (wzp_signal_client_resume_call (p->sc, fp_of (peer), pk,
          we_called, proof, &error));
  g_assert_no_error (error);
}

/* kill -9 of the relay and a start of the same identity on the same
 * port, in process: the old relay says nothing more. */
static void
restart_relay (Fixture * f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *listen = addr_string (f->relay_addr);

  wzp_test_endpoint_mute (wzp_relay_get_endpoint (f->relay));
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  f->relay = g_object_new (WZP_TYPE_RELAY, "context", f->ctx, "identity",
      f->relay_id, "clock", f->clock, "listen-address", listen,
      "probe-address", "127.0.0.1:0", NULL);
  g_assert_true (wzp_relay_start (f->relay, &error));
  g_assert_no_error (error);
}

static gboolean
has_prefix (GPtrArray * a, const char *prefix)
{
  for (guint i = 0; i < a->len; i++) {
    if (g_str_has_prefix (g_ptr_array_index (a, i), prefix))
      return TRUE;
  }
  return FALSE;
}

/* The relay restarts mid-call: each party's next packet gets a stateless
 * reset, both reconnect at once, ask to resume with the proof, and the
 * new relay carries the call again on a new channel. */
static void
test_resume_after_restart (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  g_autofree char *call_id = setup_call (f, a, b);
  g_autofree char *want = NULL;
  WzpCallProof proof;
  guint32 channel;
  gint64 t0;

  make_proof (call_id, a, b, &proof);
  restart_relay (f);
  t0 = g_get_monotonic_time ();
  /* Media (or a keep-alive) meets the new relay: reset, reconnect. */
  send_media (a, last_setup (a)->channel, 1);
  send_media (b, last_setup (b)->channel, 1);
  wzp_test_wait_until (f->ctx, a->registered == 2 && b->registered == 2,
      WAIT_MS);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (a->lost, ==, 1);
  g_assert_cmpuint (b->lost, ==, 1);
  g_assert_cmpuint (stats (f).calls_active, ==, 0);

  /* One party alone does not make a call... */
  resume (a, b, TRUE, &proof);
  wzp_test_run_for (f->ctx, 200);
  g_assert_cmpuint (a->resumed->len, ==, 0);
  /* ...both do, and both learn the new channel. */
  resume (b, a, FALSE, &proof);
  wzp_test_wait_until (f->ctx, a->resumed->len == 1 && b->resumed->len == 1,
      WAIT_MS);
  g_assert_cmpstr (g_ptr_array_index (a->resumed, 0), ==,
      g_ptr_array_index (b->resumed, 0));
  want = g_strdup_printf ("%s ", call_id);
  g_assert_true (has_prefix (a->resumed, want));
  channel = (guint32) g_ascii_strtoull (strchr (g_ptr_array_index (a->resumed,
              0), ' ') + 1, NULL, 10);
  g_assert_cmpuint (channel, !=, 0);
  g_assert_cmpuint (stats (f).calls_active, ==, 1);
  send_media (a, channel, 5);
  send_media (b, channel, 5);
  wzp_test_wait_until (f->ctx, a->media == 5 && b->media == 5, WAIT_MS);

  /* It is a call like any other: hang-up ends it for both. */
  g_assert_true (wzp_signal_client_hangup (b->sc, call_id, NULL));
  wzp_test_wait_until (f->ctx, has_ended (a, call_id, "hangup"), WAIT_MS);
}

/* Only the two parties' own signatures make a resumed call: a stranger,
 * a forged signature or a proof that differs from the peer's is refused,
 * and nothing is bridged. */
static void
test_resume_refuses_strangers (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  Peer *eve = peer_registered (f);
  g_autofree char *call_id = wzp_random_hex (WZP_CALL_ID_BYTES);
  g_autofree char *id2 = wzp_random_hex (WZP_CALL_ID_BYTES);
  WzpCallProof proof, forged, other;

  /* Eve claims a call with a that a never agreed to: she can sign the
   * offer, not a's answer. */
  make_proof (call_id, eve, a, &forged);
  make_proof (call_id, eve, eve, &other);
  memcpy (forged.answer_sig, other.answer_sig, sizeof forged.answer_sig);
  resume (eve, a, TRUE, &forged);
  wzp_test_wait_until (f->ctx, has_ended (eve, call_id, "bad-proof"), WAIT_MS);
  g_assert_cmpuint (stats (f).calls_active, ==, 0);

  /* a and b really had a call (id2); a asks first. */
  make_proof (id2, a, b, &proof);
  resume (a, b, TRUE, &proof);
  wzp_test_run_for (f->ctx, 100);
  /* Eve asks for it, as if she were b: not her call. */
  resume (eve, a, FALSE, &proof);
  wzp_test_wait_until (f->ctx, has_error_code (eve, "unknown-call"), WAIT_MS);
  /* b asks with other keys than a did: refused, a keeps waiting. */
  other = proof;
  make_proof (id2, a, b, &other);
  resume (b, a, FALSE, &other);
  wzp_test_wait_until (f->ctx, has_ended (b, id2, "bad-proof"), WAIT_MS);
  g_assert_cmpuint (a->resumed->len, ==, 0);
  /* The real one goes through. */
  resume (b, a, FALSE, &proof);
  wzp_test_wait_until (f->ctx, a->resumed->len == 1 && b->resumed->len == 1,
      WAIT_MS);
  g_assert_cmpuint (eve->resumed->len, ==, 0);
}

/* A party whose peer never comes back is told so ("peer-gone"), after
 * the resume window (10 s on the test clock). */
static void
test_resume_peer_never_comes (Fixture * f, gconstpointer data)
{
  WzpTestClock *clock = WZP_TEST_CLOCK (f->clock);
  Peer *a = peer_new (f, NULL);
  Peer *b = peer_new (f, NULL);
  g_autofree char *call_id = wzp_random_hex (WZP_CALL_ID_BYTES);
  WzpCallProof proof;

  wzp_signal_client_start (a->sc, NULL);
  wzp_signal_client_start (b->sc, NULL);
  tick_until (f, peer_is_registered, a);
  tick_until (f, peer_is_registered, b);
  make_proof (call_id, b, a, &proof);
  resume (a, b, FALSE, &proof);
  wzp_test_wait_until (f->ctx, stats (f).calls_active == 1, WAIT_MS);
  /* 9.5 s (keep-alives keep QUIC up meanwhile): still waiting. */
  for (guint i = 0; i < 38; i++) {
    wzp_test_clock_advance (clock, 250 * WZP_NSEC_PER_MSEC);
    for (guint k = 0; k < 5; k++)
      wzp_test_iterate (f->ctx, 2);
  }
  g_assert_cmpuint (a->ended->len, ==, 0);
  for (guint i = 0; i < 4 && !has_ended (a, call_id, "peer-gone"); i++) {
    wzp_test_clock_advance (clock, 250 * WZP_NSEC_PER_MSEC);
    for (guint k = 0; k < 20; k++)
      wzp_test_iterate (f->ctx, 2);
  }
  g_assert_true (has_ended (a, call_id, "peer-gone"));
  g_assert_cmpuint (stats (f).calls_active, ==, 0);
  g_assert_true (is_registered (a) && is_registered (b));
}

/* Resuming a call the relay still has (the party's connection dropped,
 * not the relay) just confirms its channel. */
static void
test_resume_known_call (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  g_autofree char *call_id = setup_call (f, a, b);
  g_autofree char *want = g_strdup_printf ("%s %u", call_id,
      last_setup (a)->channel);
  WzpCallProof proof;

  make_proof (call_id, a, b, &proof);
  resume (a, b, TRUE, &proof);
  wzp_test_wait_until (f->ctx, a->resumed->len == 1, WAIT_MS);
  g_assert_cmpstr (g_ptr_array_index (a->resumed, 0), ==, want);
  g_assert_cmpuint (b->resumed->len, ==, 0);
}

/* A relay with another identity than the pinned one: the client stops at
 * once with an error naming both, instead of redialing. */
static void
test_wrong_relay_identity (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) other = wzp_identity_generate ();
  Peer *p = peer_new (f, NULL);
  WzpEndpointStats st;
  GError *e;

  g_object_unref (p->sc);
  p->sc = wzp_signal_client_new (p->ep, f->relay_addr,
      wzp_identity_get_fingerprint (other));
  g_signal_connect (p->sc, "error", G_CALLBACK (on_error), p);
  g_assert_true (wzp_signal_client_start (p->sc, NULL));
  wzp_test_wait_until (f->ctx, p->errors->len == 1, WAIT_MS);
  e = g_ptr_array_index (p->errors, 0);
  g_assert_error (e, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_RELAY_IDENTITY);
  g_assert_nonnull (strstr (e->message, wzp_relay_get_fingerprint (f->relay)));
  g_assert_nonnull (strstr (e->message, wzp_identity_get_fingerprint (other)));
  /* No redial loop. */
  wzp_test_run_for (f->ctx, 1000);
  g_assert_cmpuint (p->errors->len, ==, 1);
  g_assert_cmpint (wzp_signal_client_get_state (p->sc), ==,
      WZP_SIGNAL_STATE_DISCONNECTED);
  wzp_endpoint_get_stats (wzp_relay_get_endpoint (f->relay), &st);
  g_assert_cmpuint (st.connections_accepted, <=, 1);
}

static void
test_metrics_text (Fixture * f, gconstpointer data)
{
  Peer *a = peer_registered (f);
  Peer *b = peer_registered (f);
  g_autofree char *id = setup_call (f, a, b);
  g_autofree char *text = NULL;

  g_assert_nonnull (id);

  send_media (a, last_setup (a)->channel, 3);
  wzp_test_wait_until (f->ctx, b->media == 3, WAIT_MS);
  wzp_signal_client_hangup (a->sc, "00000000000000000000000000000000", NULL);
  wzp_test_wait_until (f->ctx, has_error_code (a, "unknown-call"), WAIT_MS);
  text = wzp_relay_metrics_text (f->relay);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "# TYPE wzp_relay_registrations gauge\n"
          "wzp_relay_registrations 2\n"));
  g_assert_nonnull (strstr (text, "wzp_relay_calls_active 1\n"));
  g_assert_nonnull (strstr (text, "# TYPE wzp_relay_calls_total counter\n"));
  g_assert_nonnull (strstr (text, "wzp_relay_calls_total 1\n"));
  g_assert_nonnull (strstr (text, "wzp_relay_rooms 0\n"));
  g_assert_nonnull (strstr (text, "wzp_relay_datagrams_forwarded_total 3\n"));
  g_assert_nonnull (strstr (text, "wzp_relay_forwarded_bytes_total 135\n"));
  g_assert_nonnull (strstr (text, "wzp_relay_datagrams_dropped_total 0\n"));
  g_assert_nonnull (strstr (text,
          "wzp_relay_errors_total{code=\"unknown-call\"} 1\n"));
  g_assert_nonnull (strstr (text, "# HELP wzp_relay_errors_total"));
}

int
main (int argc, char **argv)
{
  g_autoptr (WzpClock) test_clock = wzp_test_clock_new (1000 *
      WZP_NSEC_PER_SEC);

  g_test_init (&argc, &argv, NULL);
#define ADD(name, func, clock) \
  g_test_add ("/relay/" name, Fixture, clock, fixture_setup, func, \
      fixture_teardown)
  ADD ("register", test_register, NULL);
  ADD ("impersonation-refused", test_impersonation_refused, NULL);
  ADD ("nat-probe", test_nat_probe, NULL);
  ADD ("call-setup-nat", test_call_setup_nat, NULL);
  ADD ("call-setup-and-media", test_call_setup_and_media, NULL);
  ADD ("hangup-ends-only-that-call", test_hangup_ends_only_that_call, NULL);
  ADD ("reject", test_reject, NULL);
  ADD ("busy-and-offline", test_busy_and_offline, NULL);
  ADD ("ring-timeout", test_ring_timeout, test_clock);
  ADD ("reconnect", test_reconnect, NULL);
  ADD ("superseded-keeps-new-registration",
      test_superseded_keeps_new_registration, NULL);
  ADD ("third-party-cannot-inject", test_third_party_cannot_inject, NULL);
  ADD ("room-three-members", test_room_three_members, NULL);
  ADD ("malformed-input", test_malformed_input, NULL);
  ADD ("update-candidates", test_update_candidates, NULL);
  ADD ("register-bound", test_register_bound, NULL);
  ADD ("metrics-text", test_metrics_text, NULL);
  ADD ("resume-after-restart", test_resume_after_restart, NULL);
  ADD ("resume-refuses-strangers", test_resume_refuses_strangers, NULL);
  ADD ("resume-peer-never-comes", test_resume_peer_never_comes, test_clock);
  ADD ("resume-known-call", test_resume_known_call, NULL);
  ADD ("wrong-relay-identity", test_wrong_relay_identity, NULL);
  return g_test_run ();
}
