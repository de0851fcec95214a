/* Tests for the QUIC layer: WzpEndpoint and WzpConnection over loopback.
 *
 * Every test runs real QUIC (ngtcp2 + GnuTLS) between endpoints on
 * 127.0.0.1 in one process and one GMainContext.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "wzp-endpoint.h"
#include "wzp-test-util.h"
#include "wzp-test-crash.h"
#include <glib/gstdio.h>

#define WAIT_MS 10000

typedef struct
{
  GMainContext *ctx;
  WzpIdentity *server_id;
  WzpIdentity *client_id;
  WzpEndpoint *server;
  WzpEndpoint *client;
  GPtrArray *incoming;          /* server-side connections */
} Fixture;

static WzpEndpoint *
make_endpoint (Fixture * f, WzpIdentity * id, WzpClock * clock, gboolean accept)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback
      (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, clock, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  g_assert_no_error (error);
  g_object_set (ep, "accept-incoming", accept, NULL);
  return ep;
}

static void
on_incoming (WzpEndpoint * ep, WzpConnection * conn, gpointer user_data)
{
  GPtrArray *incoming = user_data;

  g_ptr_array_add (incoming, g_object_ref (conn));
}

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  WzpClock *clock = (WzpClock *) data;

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->server_id = wzp_identity_generate ();
  f->client_id = wzp_identity_generate ();
  f->incoming = g_ptr_array_new_with_free_func (g_object_unref);
  f->server = make_endpoint (f, f->server_id, clock, TRUE);
  f->client = make_endpoint (f, f->client_id, clock, FALSE);
  g_signal_connect (f->server, "incoming-connection",
      G_CALLBACK (on_incoming), f->incoming);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  g_ptr_array_unref (f->incoming);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  wzp_test_drain (f->ctx);
  g_clear_object (&f->client_id);
  g_clear_object (&f->server_id);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

static GSocketAddress *
server_address (WzpEndpoint * server)
{
  return wzp_endpoint_get_local_address (server, G_SOCKET_FAMILY_IPV4);
}

static WzpConnection *
dial (Fixture * f, WzpEndpoint * from, WzpEndpoint * to, const char *pin)
{
  g_autoptr (GSocketAddress) addr = server_address (to);
  g_autoptr (GError) error = NULL;
  WzpConnection *conn = wzp_endpoint_connect (from, addr, pin, &error);

  g_assert_no_error (error);
  g_assert_nonnull (conn);
  return conn;
}

static gboolean
is_state (WzpConnection * c, WzpConnectionState s)
{
  return wzp_connection_get_state (c) == s;
}

/* --- messages --------------------------------------------------------- */

static void
collect_message (WzpConnection * conn, GBytes * msg, gpointer user_data)
{
  g_ptr_array_add (user_data, g_bytes_ref (msg));
}

static void
test_handshake_and_messages (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) client = NULL;
  WzpConnection *server;
  g_autoptr (GPtrArray) at_server =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (GPtrArray) at_client =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree guint8 *big = g_malloc (60000);
  g_autoptr (GError) error = NULL;

  client = dial (f, f->client, f->server,
      wzp_identity_get_fingerprint (f->server_id));
  g_signal_connect (client, "message", G_CALLBACK (collect_message), at_client);

  /* Sent before the handshake completes: must arrive after it does. */
  g_assert_true (wzp_connection_send_message (client, (guint8 *) "early", 5,
          &error));

  wzp_test_wait_until (f->ctx, f->incoming->len == 1 &&
      is_state (client, WZP_CONNECTION_STATE_CONNECTED), WAIT_MS);
  server = g_ptr_array_index (f->incoming, 0);
  g_signal_connect (server, "message", G_CALLBACK (collect_message), at_server);

  /* Both sides know who the other proved to be. */
  g_assert_cmpstr (wzp_connection_get_peer_fingerprint (client), ==,
      wzp_identity_get_fingerprint (f->server_id));
  g_assert_cmpstr (wzp_connection_get_peer_fingerprint (server), ==,
      wzp_identity_get_fingerprint (f->client_id));
  g_assert_true (wzp_connection_is_server (server));
  g_assert_false (wzp_connection_is_server (client));

  for (guint i = 0; i < 60000; i++)
    big[i] = i * 7;
  for (guint i = 0; i < 100; i++) {
    g_autofree char *m = g_strdup_printf ("client %u", i);
    g_assert_true (wzp_connection_send_message (client, (guint8 *) m,
            strlen (m), NULL));
  }
  g_assert_true (wzp_connection_send_message (client, big, 60000, NULL));
  g_assert_true (wzp_connection_send_message (client, NULL, 0, NULL));
  g_assert_true (wzp_connection_send_message (server, (guint8 *) "reply", 5,
          NULL));

  wzp_test_wait_until (f->ctx, at_server->len == 102 && at_client->len == 1,
      WAIT_MS);
  /* "early" arrived on the server before its handler was connected; the
   * 100 numbered messages come in order after it. */
  for (guint i = 0; i < 100; i++) {
    g_autofree char *want = g_strdup_printf ("client %u", i);
    gsize len;
    const char *got = g_bytes_get_data (g_ptr_array_index (at_server, i),
        &len);
    g_assert_cmpmem (got, len, want, strlen (want));
  }
  {
    gsize len;
    const guint8 *got = g_bytes_get_data (g_ptr_array_index (at_server, 100),
        &len);
    g_assert_cmpmem (got, len, big, 60000);
    g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (at_server, 101)),
        ==, 0);
    got = g_bytes_get_data (g_ptr_array_index (at_client, 0), &len);
    g_assert_cmpmem (got, len, "reply", 5);
  }
  {
    WzpConnectionStats cs;
    wzp_connection_get_stats (client, &cs);
    g_assert_cmpuint (cs.messages_sent, ==, 103);
    g_assert_cmpuint (cs.messages_received, ==, 1);
    g_assert_cmpuint (cs.packets_sent, >, 0);
    g_assert_cmpuint (cs.bytes_received, >, 0);
    g_assert_cmpuint (cs.rtt_ns, >, 0);
    g_assert_cmpuint (cs.cwnd, >, 0);
  }
}

/* --- datagrams -------------------------------------------------------- */

static void
echo_datagram (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  wzp_connection_send_datagram (conn, data, len);
}

static void
on_server_incoming_echo (WzpEndpoint * ep, WzpConnection * conn,
    gpointer user_data)
{
  wzp_connection_set_datagram_handler (conn, echo_datagram, NULL, NULL);
}

typedef struct
{
  guint received;
  guint8 *seen;
  guint duplicates;
} EchoState;

static void
count_echo (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  EchoState *s = user_data;
  guint32 seq;

  g_assert_cmpuint (len, ==, 100);
  memcpy (&seq, data, 4);
  g_assert_cmpuint (seq, <, 10000);
  /* The payload must come back intact, not just its length. */
  for (guint i = 4; i < len; i++)
    g_assert_cmpuint (data[i], ==, (guint8) (seq + i));
  if (s->seen[seq])
    s->duplicates++;
  s->seen[seq] = 1;
  s->received++;
}

static void
test_datagrams_echo (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) client = NULL;
  EchoState s = { 0 };
  guint sent = 0;
  WzpConnectionStats cs, ss;

  s.seen = g_malloc0 (10000);
  g_signal_connect (f->server, "incoming-connection",
      G_CALLBACK (on_server_incoming_echo), NULL);
  client = dial (f, f->client, f->server, NULL);
  wzp_connection_set_datagram_handler (client, count_echo, &s, NULL);
  wzp_test_wait_until (f->ctx, is_state (client,
          WZP_CONNECTION_STATE_CONNECTED) && f->incoming->len == 1, WAIT_MS);
  g_assert_cmpuint (wzp_connection_get_max_datagram_size (client), >=, 1000);

  /* Keep a bounded number in flight, as a real-time sender would. */
  while (sent < 10000) {
    while (sent < 10000 && sent - s.received < 32) {
      guint8 buf[100];
      guint32 seq = sent;
      memcpy (buf, &seq, 4);
      for (guint i = 4; i < sizeof buf; i++)
        buf[i] = (guint8) (seq + i);
      g_assert_true (wzp_connection_send_datagram (client, buf, sizeof buf));
      sent++;
    }
    wzp_test_iterate (f->ctx, 50);
  }
  wzp_test_wait_until (f->ctx, s.received == 10000, WAIT_MS);
  g_assert_cmpuint (s.duplicates, ==, 0);

  wzp_connection_get_stats (client, &cs);
  wzp_connection_get_stats (g_ptr_array_index (f->incoming, 0), &ss);
  g_assert_cmpuint (cs.datagrams_sent, ==, 10000);
  g_assert_cmpuint (ss.datagrams_received, ==, 10000);
  g_assert_cmpuint (ss.datagrams_sent, ==, 10000);
  g_assert_cmpuint (cs.datagrams_received, ==, 10000);
  g_assert_cmpuint (cs.datagrams_dropped, ==, 0);

  /* Too large for a packet: dropped and counted, never an error. */
  {
    g_autofree guint8 *huge = g_malloc0 (5000);
    g_assert_false (wzp_connection_send_datagram (client, huge, 5000));
    wzp_connection_get_stats (client, &cs);
    g_assert_cmpuint (cs.datagrams_dropped, ==, 1);
    g_assert_true (is_state (client, WZP_CONNECTION_STATE_CONNECTED));
  }
  g_free (s.seen);
}

static void
send_twenty (WzpConnection * client, gpointer user_data)
{
  for (guint32 seq = 0; seq < 20; seq++) {
    guint8 buf[100] = { 0 };
    memcpy (buf, &seq, 4);
    for (guint i = 4; i < sizeof buf; i++)
      buf[i] = (guint8) (seq + i);
    g_assert_true (wzp_connection_send_datagram (client, buf, sizeof buf));
  }
}

/* Datagrams sent the moment the client is connected leave with its
 * Finished, before the server has announced the connection: none may be
 * lost. */
static void
test_early_datagrams (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) client = NULL;
  EchoState s = { 0 };

  s.seen = g_malloc0 (10000);
  g_signal_connect (f->server, "incoming-connection",
      G_CALLBACK (on_server_incoming_echo), NULL);
  client = dial (f, f->client, f->server, NULL);
  wzp_connection_set_datagram_handler (client, count_echo, &s, NULL);
  g_signal_connect (client, "connected", G_CALLBACK (send_twenty), NULL);
  wzp_test_wait_until (f->ctx, s.received == 20, WAIT_MS);
  g_assert_cmpuint (s.duplicates, ==, 0);
  g_free (s.seen);
}

/* --- one endpoint dials and accepts ----------------------------------- */

static void
test_dial_and_accept_same_socket (Fixture * f, gconstpointer data)
{
  g_autoptr (GPtrArray) incoming_a =
      g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) incoming_b =
      g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) msgs =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr (WzpConnection) a_to_b = NULL;
  g_autoptr (WzpConnection) b_to_a = NULL;
  WzpEndpoint *a = f->server, *b = f->client;

  /* Both endpoints accept and both dial, at the same time, on the one
   * socket each has. */
  g_object_set (b, "accept-incoming", TRUE, NULL);
  g_signal_connect (a, "incoming-connection", G_CALLBACK (on_incoming),
      incoming_a);
  g_signal_connect (b, "incoming-connection", G_CALLBACK (on_incoming),
      incoming_b);
  a_to_b = dial (f, a, b, wzp_identity_get_fingerprint (f->client_id));
  b_to_a = dial (f, b, a, wzp_identity_get_fingerprint (f->server_id));

  wzp_test_wait_until (f->ctx, incoming_a->len == 1 && incoming_b->len == 1
      && is_state (a_to_b, WZP_CONNECTION_STATE_CONNECTED)
      && is_state (b_to_a, WZP_CONNECTION_STATE_CONNECTED), WAIT_MS);

  /* Four distinct connections, each working. */
  g_signal_connect (g_ptr_array_index (incoming_b, 0), "message",
      G_CALLBACK (collect_message), msgs);
  g_signal_connect (g_ptr_array_index (incoming_a, 0), "message",
      G_CALLBACK (collect_message), msgs);
  wzp_connection_send_message (a_to_b, (guint8 *) "a->b", 4, NULL);
  wzp_connection_send_message (b_to_a, (guint8 *) "b->a", 4, NULL);
  wzp_test_wait_until (f->ctx, msgs->len == 2, WAIT_MS);
  {
    g_autoptr (GSocketAddress) la = server_address (a);
    g_autoptr (GSocketAddress) lb = server_address (b);
    g_autoptr (GSocketAddress) ra =
        wzp_connection_get_remote_address (g_ptr_array_index (incoming_b, 0));
    g_autofree char *sa = wzp_socket_address_to_string (la);
    g_autofree char *sra = wzp_socket_address_to_string (ra);
    /* B sees A's incoming dial coming from A's one and only socket. */
    g_assert_cmpstr (sa, ==, sra);
    (void) lb;
  }
}

/* --- many connections ------------------------------------------------- */

static void
test_hundred_connections (Fixture * f, gconstpointer data)
{
  g_autoptr (GPtrArray) clients =
      g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) endpoints =
      g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_object_unref);
  WzpEndpointStats st;
  guint connected;

  /* Ten client endpoints, ten connections each, all to one server. */
  for (guint e = 0; e < 10; e++) {
    WzpIdentity *id = wzp_identity_generate ();
    WzpEndpoint *ep = make_endpoint (f, id, NULL, FALSE);
    g_ptr_array_add (ids, id);
    g_ptr_array_add (endpoints, ep);
    for (guint c = 0; c < 10; c++)
      g_ptr_array_add (clients, dial (f, ep, f->server, NULL));
  }
  do {
    connected = 0;
    for (guint i = 0; i < clients->len; i++)
      connected += is_state (g_ptr_array_index (clients, i),
          WZP_CONNECTION_STATE_CONNECTED);
    if (connected < 100 || f->incoming->len < 100)
      wzp_test_iterate (f->ctx, 20);
  } while (connected < 100 || f->incoming->len < 100);

  wzp_endpoint_get_stats (f->server, &st);
  g_assert_cmpuint (st.connections_open, ==, 100);
  g_assert_cmpuint (st.connections_accepted, ==, 100);

  /* Every one of them carries traffic both ways. */
  g_signal_connect (f->server, "incoming-connection",
      G_CALLBACK (on_server_incoming_echo), NULL);
  for (guint i = 0; i < f->incoming->len; i++)
    wzp_connection_set_datagram_handler (g_ptr_array_index (f->incoming, i),
        echo_datagram, NULL, NULL);
  {
    guint echoed[100] = { 0 };
    guint total = 0;
    for (guint i = 0; i < 100; i++) {
      EchoState *s = g_new0 (EchoState, 1);
      s->seen = g_malloc0 (10000);
      wzp_connection_set_datagram_handler (g_ptr_array_index (clients, i),
          count_echo, s, NULL);
      g_object_set_data_full (g_ptr_array_index (clients, i), "s", s, g_free);
      g_object_set_data_full (g_ptr_array_index (clients, i), "seen",
          s->seen, g_free);
    }
    for (guint i = 0; i < 100; i++) {
      guint8 buf[100];
      guint32 seq = i;
      memcpy (buf, &seq, 4);
      for (guint j = 4; j < sizeof buf; j++)
        buf[j] = (guint8) (seq + j);
      wzp_connection_send_datagram (g_ptr_array_index (clients, i), buf,
          sizeof buf);
    }
    do {
      total = 0;
      for (guint i = 0; i < 100; i++) {
        EchoState *s = g_object_get_data (g_ptr_array_index (clients, i),
            "s");
        echoed[i] = s->received;
        total += s->received;
      }
      if (total < 100)
        wzp_test_iterate (f->ctx, 20);
    } while (total < 100);
    for (guint i = 0; i < 100; i++)
      g_assert_cmpuint (echoed[i], ==, 1);
  }

  /* Closing them all leaves the server with none. */
  for (guint i = 0; i < clients->len; i++)
    wzp_connection_close (g_ptr_array_index (clients, i), 0, "done");
  wzp_test_wait_until (f->ctx, (wzp_endpoint_get_stats (f->server, &st),
          st.connections_open == 0), WAIT_MS);
}

/* --- idle timeout and keep-alive, on the test clock ------------------- */

typedef struct
{
  GError *error;
  guint count;
} Closed;

static void
on_closed (WzpConnection * conn, const GError * error, gpointer user_data)
{
  Closed *c = user_data;

  c->count++;
  g_clear_error (&c->error);
  c->error = g_error_copy (error);
}

static void
advance_and_run (Fixture * f, WzpTestClock * clock, guint64 step, guint64 total)
{
  for (guint64 t = 0; t < total; t += step) {
    wzp_test_clock_advance (clock, step);
    /* Let packets cross loopback at this instant. */
    for (guint i = 0; i < 5; i++)
      wzp_test_iterate (f->ctx, 2);
  }
}

/* With a test clock, time only moves when the test moves it; ngtcp2 paces
 * packets, so a handshake needs the clock to tick.  1 ms per round. */
#define wait_until_ticking(f, clock, cond) G_STMT_START {                 \
  guint _rounds = 0;                                                    \
  while (!(cond)) {                                                     \
    if (++_rounds > 5000)                                               \
      g_error ("%s:%d: no progress waiting for: %s", __FILE__,          \
          __LINE__, #cond);                                             \
    wzp_test_clock_advance (clock, WZP_NSEC_PER_MSEC);                  \
    wzp_test_iterate ((f)->ctx, 2);                                     \
  }                                                                     \
} G_STMT_END

static void
test_idle_timeout (Fixture * f, gconstpointer data)
{
  WzpTestClock *clock = (WzpTestClock *) data;
  g_autoptr (WzpConnection) client = NULL;
  Closed cc = { 0 }, sc = { 0 };

  /* No keep-alive: silence must end the connection on both sides. */
  g_object_set (f->client, "keep-alive-interval", (guint64) 0,
      "idle-timeout", 3 * WZP_NSEC_PER_SEC, NULL);
  g_object_set (f->server, "keep-alive-interval", (guint64) 0,
      "idle-timeout", 3 * WZP_NSEC_PER_SEC, NULL);
  client = dial (f, f->client, f->server, NULL);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wait_until_ticking (f, clock, f->incoming->len == 1 &&
      is_state (client, WZP_CONNECTION_STATE_CONNECTED));
  g_signal_connect (g_ptr_array_index (f->incoming, 0), "closed",
      G_CALLBACK (on_closed), &sc);

  advance_and_run (f, clock, 500 * WZP_NSEC_PER_MSEC, 2 * WZP_NSEC_PER_SEC);
  g_assert_cmpuint (cc.count, ==, 0);
  advance_and_run (f, clock, 500 * WZP_NSEC_PER_MSEC, 3 * WZP_NSEC_PER_SEC);

  g_assert_cmpuint (cc.count, ==, 1);
  g_assert_cmpuint (sc.count, ==, 1);
  g_assert_error (cc.error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_IDLE_TIMEOUT);
  g_assert_error (sc.error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_IDLE_TIMEOUT);
  g_assert_nonnull (strstr (cc.error->message, "3000 ms"));
  g_assert_true (is_state (client, WZP_CONNECTION_STATE_CLOSED));
  g_clear_error (&cc.error);
  g_clear_error (&sc.error);
}

static void
test_keep_alive (Fixture * f, gconstpointer data)
{
  WzpTestClock *clock = (WzpTestClock *) data;
  g_autoptr (WzpConnection) client = NULL;
  Closed cc = { 0 };
  WzpConnectionStats before, after;

  g_object_set (f->client, "keep-alive-interval", 1 * WZP_NSEC_PER_SEC,
      "idle-timeout", 3 * WZP_NSEC_PER_SEC, NULL);
  g_object_set (f->server, "keep-alive-interval", (guint64) 0,
      "idle-timeout", 3 * WZP_NSEC_PER_SEC, NULL);
  client = dial (f, f->client, f->server, NULL);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wait_until_ticking (f, clock, is_state (client,
          WZP_CONNECTION_STATE_CONNECTED));
  wzp_connection_get_stats (client, &before);

  /* Twenty idle-timeouts' worth of silence from the application: the
   * PINGs keep both sides alive. */
  advance_and_run (f, clock, 250 * WZP_NSEC_PER_MSEC, 60 * WZP_NSEC_PER_SEC);
  g_assert_cmpuint (cc.count, ==, 0);
  g_assert_true (is_state (client, WZP_CONNECTION_STATE_CONNECTED));
  wzp_connection_get_stats (client, &after);
  g_assert_cmpuint (after.packets_sent - before.packets_sent, >=, 30);
  /* cc lives on this stack; the endpoint closes the connection later. */
  g_signal_handlers_disconnect_by_data (client, &cc);
  g_clear_error (&cc.error);
}

/* --- identity pinning and accept policy ------------------------------- */

static void
test_pinned_fingerprint_mismatch (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) someone_else = wzp_identity_generate ();
  g_autoptr (WzpConnection) client = NULL;
  Closed cc = { 0 };

  client = dial (f, f->client, f->server,
      wzp_identity_get_fingerprint (someone_else));
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wzp_test_wait_until (f->ctx, cc.count == 1, WAIT_MS);

  g_assert_error (cc.error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_PEER_REJECTED);
  /* The message names both identities, so a user can act on it. */
  g_assert_nonnull (strstr (cc.error->message,
          wzp_identity_get_fingerprint (f->server_id)));
  g_assert_nonnull (strstr (cc.error->message,
          wzp_identity_get_fingerprint (someone_else)));
  wzp_test_run_for (f->ctx, 100);
  g_assert_cmpuint (f->incoming->len, ==, 0);
  g_clear_error (&cc.error);

  /* A malformed pin is refused before any packet is sent. */
  {
    g_autoptr (GSocketAddress) addr = server_address (f->server);
    g_autoptr (GError) error = NULL;
    g_autoptr (WzpConnection) c = wzp_endpoint_connect (f->client, addr,
        "not-a-fingerprint", &error);
    g_assert_null (c);
    g_assert_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_FINGERPRINT);
  }
}

static gboolean
refuse_client (WzpEndpoint * ep, const char *fingerprint,
    GSocketAddress * remote, gpointer user_data)
{
  const char *banned = user_data;

  return g_strcmp0 (fingerprint, banned) != 0;
}

static void
test_server_refuses_peer (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) client = NULL;
  Closed cc = { 0 };
  WzpEndpointStats st;

  g_signal_connect (f->server, "accept-peer", G_CALLBACK (refuse_client),
      (gpointer) wzp_identity_get_fingerprint (f->client_id));
  client = dial (f, f->client, f->server, NULL);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wzp_test_wait_until (f->ctx, cc.count == 1, WAIT_MS);
  g_assert_error (cc.error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_REJECTED_BY_PEER);
  g_assert_cmpuint (f->incoming->len, ==, 0);
  wzp_endpoint_get_stats (f->server, &st);
  g_assert_cmpuint (st.connections_refused, ==, 1);
  g_clear_error (&cc.error);
}

static void
test_wrong_alpn (Fixture * f, gconstpointer data)
{
  g_autoptr (GSocketAddress) addr = server_address (f->server);
  g_autoptr (WzpConnection) client = NULL;
  WzpConnectParams params;
  Closed cc = { 0 };

  wzp_connect_params_init (&params);
  params.alpn = "h3";
  client = wzp_endpoint_connect_full (f->client, addr, &params, NULL);
  g_assert_nonnull (client);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wzp_test_wait_until (f->ctx, cc.count == 1, WAIT_MS);
  g_assert_error (cc.error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_REJECTED_BY_PEER);
  g_assert_nonnull (strstr (cc.error->message, "ALPN"));
  wzp_test_run_for (f->ctx, 100);
  g_assert_cmpuint (f->incoming->len, ==, 0);
  g_clear_error (&cc.error);
}

/* --- closing ---------------------------------------------------------- */

static void
test_close_with_code (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) client = NULL;
  WzpConnection *server;
  Closed cc = { 0 }, sc = { 0 };
  guint64 code = 0;

  client = dial (f, f->client, f->server, NULL);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wzp_test_wait_until (f->ctx, f->incoming->len == 1, WAIT_MS);
  server = g_ptr_array_index (f->incoming, 0);
  g_signal_connect (server, "closed", G_CALLBACK (on_closed), &sc);

  wzp_connection_close (client, 42, "bye now");
  /* Closed locally at once, and exactly once. */
  g_assert_cmpuint (cc.count, ==, 1);
  g_assert_error (cc.error, WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_CLOSED);
  wzp_connection_close (client, 43, "again");
  g_assert_cmpuint (cc.count, ==, 1);

  wzp_test_wait_until (f->ctx, sc.count == 1, WAIT_MS);
  g_assert_error (sc.error, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_PEER_CLOSED);
  g_assert_nonnull (strstr (sc.error->message, "bye now"));
  g_assert_true (wzp_connection_get_peer_close_code (server, &code));
  g_assert_cmpuint (code, ==, 42);
  g_assert_false (wzp_connection_send_message (server, (guint8 *) "x", 1,
          NULL));
  g_clear_error (&cc.error);
  g_clear_error (&sc.error);
}

static void
count_too_large (WzpConnection * conn, guint64 size, gpointer user_data)
{
  *(guint64 *) user_data = size;
}

static void
test_oversize_message (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) client = NULL;
  g_autoptr (GPtrArray) msgs =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autofree guint8 *big = g_malloc0 (5000);
  WzpConnection *server;
  guint64 too_large = 0;

  g_object_set (f->server, "max-message-size", 1024, NULL);
  client = dial (f, f->client, f->server, NULL);
  wzp_test_wait_until (f->ctx, f->incoming->len == 1, WAIT_MS);
  server = g_ptr_array_index (f->incoming, 0);
  g_signal_connect (server, "message", G_CALLBACK (collect_message), msgs);
  g_signal_connect (server, "message-too-large",
      G_CALLBACK (count_too_large), &too_large);

  wzp_connection_send_message (client, big, 5000, NULL);
  wzp_connection_send_message (client, (guint8 *) "after", 5, NULL);
  wzp_test_wait_until (f->ctx, msgs->len == 1, WAIT_MS);
  g_assert_cmpuint (too_large, ==, 5000);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (msgs, 0), NULL), 5,
      "after", 5);
  g_assert_true (is_state (server, WZP_CONNECTION_STATE_CONNECTED));
}

/* --- hostile input ---------------------------------------------------- */

static int
udp_socket_to (GSocketAddress * to, struct sockaddr_in *sin)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);

  g_assert_cmpint (fd, >=, 0);
  g_socket_address_to_native (to, sin, sizeof *sin, NULL);
  return fd;
}

static void
test_garbage_is_ignored (Fixture * f, gconstpointer data)
{
  g_autoptr (GSocketAddress) addr = server_address (f->server);
  struct sockaddr_in sin, capture_sin;
  socklen_t slen = sizeof capture_sin;
  int fd = udp_socket_to (addr, &sin);
  int capture = socket (AF_INET, SOCK_DGRAM, 0);
  guint8 initial[2048];
  gssize initial_len;
  WzpEndpointStats st;
  guint64 vn_before;
  GRand *rand = g_rand_new_with_seed (1234);

  /* 1. Random junk of every size, with and without the QUIC bits. */
  for (guint i = 0; i < 2000; i++) {
    guint8 buf[1500];
    gsize len = g_rand_int_range (rand, 1, sizeof buf);
    for (gsize j = 0; j < len; j++)
      buf[j] = g_rand_int (rand);
    if (i % 3 == 0)
      buf[0] |= 0xc0;           /* long header */
    else if (i % 3 == 1)
      buf[0] = (buf[0] & 0x3f) | 0x40;  /* short header */
    sendto (fd, buf, len, 0, (struct sockaddr *) &sin, sizeof sin);
    if (i % 100 == 0)
      wzp_test_drain (f->ctx);
  }

  /* 2. A real client Initial, captured, then replayed truncated and
   * corrupted. */
  {
    struct sockaddr_in any = { 0 };
    g_autoptr (GSocketAddress) cap_addr = NULL;
    g_autoptr (WzpConnection) probe = NULL;

    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    g_assert_cmpint (bind (capture, (struct sockaddr *) &any, sizeof any), ==,
        0);
    getsockname (capture, (struct sockaddr *) &capture_sin, &slen);
    cap_addr = g_socket_address_new_from_native (&capture_sin, slen);
    probe = wzp_endpoint_connect (f->client, cap_addr, NULL, NULL);
    wzp_test_wait_until (f->ctx, (initial_len = recv (capture, initial,
                sizeof initial, MSG_DONTWAIT)) > 0, WAIT_MS);
    wzp_connection_close (probe, 0, "probe done");
  }
  for (gssize cut = 1; cut < initial_len; cut += 37)
    sendto (fd, initial, cut, 0, (struct sockaddr *) &sin, sizeof sin);
  for (guint i = 0; i < 50; i++) {
    guint8 bad[2048];
    memcpy (bad, initial, initial_len);
    /* Keep the header (so it is routed as a new Initial) and corrupt the
     * protected part. */
    for (guint k = 0; k < 8; k++)
      bad[g_rand_int_range (rand, 40, initial_len)] ^= 0xff;
    sendto (fd, bad, initial_len, 0, (struct sockaddr *) &sin, sizeof sin);
  }
  /* An unsupported QUIC version gets a Version Negotiation, not a crash
   * (random long-header junk of Initial size may have earned some too). */
  wzp_test_run_for (f->ctx, 300);
  wzp_endpoint_get_stats (f->server, &st);
  vn_before = st.version_negotiations;
  {
    guint8 vn[1200] = { 0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8 };
    sendto (fd, vn, sizeof vn, 0, (struct sockaddr *) &sin, sizeof sin);
  }
  wzp_test_run_for (f->ctx, 100);

  wzp_endpoint_get_stats (f->server, &st);
  g_assert_cmpuint (st.packets_received, >=, 2000);
  g_assert_cmpuint (st.dropped_not_quic + st.dropped_invalid +
      st.dropped_unknown, >, 500);
  g_assert_cmpuint (st.version_negotiations, ==, vn_before + 1);
  g_assert_cmpuint (f->incoming->len, ==, 0);
  /* Half-open handshakes from the replays may linger; none completed.
   * The server still serves a real client. */
  {
    g_autoptr (WzpConnection) client = dial (f, f->client, f->server, NULL);
    wzp_test_wait_until (f->ctx, f->incoming->len == 1 &&
        is_state (client, WZP_CONNECTION_STATE_CONNECTED), WAIT_MS);
  }
  close (fd);
  close (capture);
  g_rand_free (rand);
}

static void
test_ipv6 (Fixture * f, gconstpointer data)
{
  g_autoptr (GInetAddress) lo6 =
      g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr (GSocketAddress) any6 = g_inet_socket_address_new (lo6, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpConnection) client = NULL;
  g_autoptr (GSocketAddress) server6 = NULL;

  if (!wzp_endpoint_bind (f->server, any6, &error)) {
    g_test_skip_printf ("no IPv6 loopback here: %s", error->message);
    return;
  }
  g_assert_true (wzp_endpoint_bind (f->client, any6, &error));
  server6 = wzp_endpoint_get_local_address (f->server, G_SOCKET_FAMILY_IPV6);
  client = wzp_endpoint_connect (f->client, server6, NULL, &error);
  g_assert_no_error (error);
  wzp_test_wait_until (f->ctx, f->incoming->len == 1 &&
      is_state (client, WZP_CONNECTION_STATE_CONNECTED), WAIT_MS);
  {
    g_autoptr (GSocketAddress) r = wzp_connection_get_remote_address
        (g_ptr_array_index (f->incoming, 0));
    g_assert_cmpint (g_socket_address_get_family (r), ==, G_SOCKET_FAMILY_IPV6);
  }
}

static void
test_keylog (Fixture * f, gconstpointer data)
{
  const char *path = g_getenv ("WZP_KEYLOG");
  g_autoptr (WzpConnection) client = NULL;
  g_autofree char *contents = NULL;

  client = dial (f, f->client, f->server, NULL);
  wzp_test_wait_until (f->ctx, is_state (client,
          WZP_CONNECTION_STATE_CONNECTED), WAIT_MS);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  /* It holds every session's secrets: only its owner may read it. */
  {
    GStatBuf st;
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  }
  /* NSS key log lines for both directions of both phases. */
  g_assert_nonnull (strstr (contents, "CLIENT_HANDSHAKE_TRAFFIC_SECRET "));
  g_assert_nonnull (strstr (contents, "SERVER_HANDSHAKE_TRAFFIC_SECRET "));
  g_assert_nonnull (strstr (contents, "CLIENT_TRAFFIC_SECRET_0 "));
  g_assert_nonnull (strstr (contents, "SERVER_TRAFFIC_SECRET_0 "));
}

/* --- stateless reset after a restart ---------------------------------- */

static WzpEndpoint *
restart_server (Fixture * f, WzpIdentity * id, GSocketAddress * addr)
{
  g_autoptr (GError) error = NULL;
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  g_assert_no_error (error);
  g_object_set (ep, "accept-incoming", TRUE, NULL);
  return ep;
}

/* The server dies without a word (kill -9) and comes back on its port
 * with the same identity: the client's next packet gets a Stateless Reset
 * and the connection ends at once, instead of after the idle timeout.  A
 * different identity on that port cannot reset it. */
static void
test_stateless_reset_after_restart (Fixture * f, gconstpointer data)
{
  g_autoptr (GSocketAddress) addr = server_address (f->server);
  g_autoptr (WzpConnection) client = NULL;
  g_autoptr (WzpEndpoint) impostor = NULL;
  g_autoptr (WzpEndpoint) restarted = NULL;
  g_autoptr (WzpIdentity) other_id = wzp_identity_generate ();
  Closed cc = { 0 };
  gint64 t0;
  const guint8 ping[] = "are you there?";

  client = dial (f, f->client, f->server, NULL);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), &cc);
  wzp_test_wait_until (f->ctx, f->incoming->len == 1 &&
      is_state (client, WZP_CONNECTION_STATE_CONNECTED), WAIT_MS);
  /* Let the handshake's last acknowledgements settle. */
  wzp_test_run_for (f->ctx, 50);

  wzp_test_endpoint_mute (f->server);
  g_ptr_array_set_size (f->incoming, 0);
  g_clear_object (&f->server);
  wzp_test_drain (f->ctx);

  /* Someone else on the port: it cannot forge our tokens. */
  impostor = restart_server (f, other_id, addr);
  for (guint i = 0; i < 5; i++) {
    wzp_connection_send_datagram (client, ping, sizeof ping);
    wzp_test_run_for (f->ctx, 20);
  }
  g_assert_cmpuint (cc.count, ==, 0);
  g_assert_true (is_state (client, WZP_CONNECTION_STATE_CONNECTED));
  g_clear_object (&impostor);
  wzp_test_drain (f->ctx);

  /* The same identity again: one packet and the client knows. */
  restarted = restart_server (f, f->server_id, addr);
  t0 = g_get_monotonic_time ();
  wzp_connection_send_datagram (client, ping, sizeof ping);
  wzp_test_wait_until (f->ctx, cc.count == 1, WAIT_MS);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 1000 * 1000);
  g_assert_error (cc.error, WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_RESET);
  g_assert_true (is_state (client, WZP_CONNECTION_STATE_CLOSED));
  g_clear_error (&cc.error);
}

int
main (int argc, char **argv)
{
  g_autofree char *keylog = NULL;
  g_autofree char *keylog_dir = NULL;
  g_autoptr (WzpClock) test_clock = wzp_test_clock_new (1000 *
      WZP_NSEC_PER_SEC);
  int rv;

  /* The key log file is chosen once per process, before any handshake.
   * It does not exist yet: the library creates it (0600). */
  keylog_dir = g_dir_make_tmp ("wzp-keylog-XXXXXX", NULL);
  keylog = g_build_filename (keylog_dir, "keys.log", NULL);
  g_setenv ("WZP_KEYLOG", keylog, TRUE);

  g_test_init (&argc, &argv, NULL);
#define ADD(name, func, clock) \
  g_test_add ("/quic/" name, Fixture, clock, fixture_setup, func, \
      fixture_teardown)
  ADD ("handshake-and-messages", test_handshake_and_messages, NULL);
  ADD ("datagrams-echo-10000", test_datagrams_echo, NULL);
  ADD ("early-datagrams", test_early_datagrams, NULL);
  ADD ("dial-and-accept-same-socket", test_dial_and_accept_same_socket, NULL);
  ADD ("hundred-connections", test_hundred_connections, NULL);
  ADD ("idle-timeout", test_idle_timeout, test_clock);
  ADD ("keep-alive", test_keep_alive, test_clock);
  ADD ("pinned-fingerprint-mismatch", test_pinned_fingerprint_mismatch, NULL);
  ADD ("server-refuses-peer", test_server_refuses_peer, NULL);
  ADD ("wrong-alpn", test_wrong_alpn, NULL);
  ADD ("close-with-code", test_close_with_code, NULL);
  ADD ("oversize-message", test_oversize_message, NULL);
  ADD ("garbage-is-ignored", test_garbage_is_ignored, NULL);
  ADD ("ipv6", test_ipv6, NULL);
  ADD ("keylog", test_keylog, NULL);
  ADD ("stateless-reset-after-restart", test_stateless_reset_after_restart,
      NULL);
  rv = g_test_run ();
  g_unlink (keylog);
  g_rmdir (keylog_dir);
  return rv;
}
