/* The message stream under loss, reordering and duplication.
 *
 * Two real QUIC connections (ngtcp2 + GnuTLS) talk through a
 * WzpTestLink that drops, delays, reorders and duplicates packets, on a
 * test clock (time jumps from one deadline to the next, so seconds of
 * retransmission cost no wall time).  Each side sends thousands of
 * messages of random sizes, 1 byte to 60 KiB, while the other's are in
 * flight; every message must arrive exactly once, byte-exact, in order.
 *
 * ngtcp2 retransmits lost STREAM data from the memory it was first given,
 * so this is what catches stream bytes moved or freed before they were
 * acknowledged.  The link's decisions come from a seed (WZP_TEST_SEED
 * overrides it); a failure prints it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <string.h>

#include "wzp-endpoint.h"
#include "wzp-test-link.h"
#include "wzp-test-util.h"

#define MAX_MESSAGE (60 * 1024)
/* How far a sender runs ahead of what the other side has received, so
 * appends happen while earlier bytes are still unacknowledged. */
#define IN_FLIGHT_MESSAGES 64

typedef struct
{
  WzpConnection *conn;
  guint dir;                    /* 0: client -> server, 1: the reverse */
  guint sent;
  guint received;               /* by the other side, of ours */
} Sender;

typedef struct
{
  guint32 seed;
  guint n_messages;
  GMainContext *ctx;
  WzpClock *clock;
  WzpIdentity *server_id, *client_id;
  WzpEndpoint *server, *client;
  WzpTestLink *link;
  WzpConnection *server_conn;
  Sender senders[2];
  guint64 bytes[2];
} Fixture;

/* --- the messages: sizes and bytes both sides can compute ------------- */

static guint64
mix (guint64 x)
{
  /* splitmix64: a different, well-spread stream per (seed, dir, k). */
  x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return x ^ (x >> 31);
}

static gsize
message_size (guint32 seed, guint dir, guint k)
{
  guint64 r = mix (((guint64) seed << 32) ^ ((guint64) dir << 31) ^ k);
  double u = (double) (r >> 11) / (double) (G_GUINT64_CONSTANT (1) << 53);

  /* Log-uniform: most are signaling-sized, some fill many packets. */
  return CLAMP ((gsize) exp (u * log (MAX_MESSAGE)), 1, MAX_MESSAGE);
}

static void
message_fill (guint32 seed, guint dir, guint k, guint8 * out, gsize len)
{
  guint64 s = mix (((guint64) seed << 32) ^ ((guint64) dir << 31) ^ k ^
      G_GUINT64_CONSTANT (0x5555555555555555));

  for (gsize i = 0; i < len; i++) {
    if (i % 8 == 0)
      s = mix (s);
    out[i] = (guint8) (s >> (8 * (i % 8)));
  }
}

/* --- the two sides ---------------------------------------------------- */

static void
on_message (WzpConnection * conn, GBytes * msg, gpointer user_data)
{
  Sender *from = user_data;
  Fixture *f = (Fixture *) ((guint8 *) from -
      G_STRUCT_OFFSET (Fixture, senders) - from->dir * sizeof (Sender));
  gsize len, want_len;
  const guint8 *got = g_bytes_get_data (msg, &len);
  guint k = from->received;
  g_autofree guint8 *want = NULL;

  if (k >= from->sent)
    g_error ("seed %u: direction %u: message %u arrived, only %u were sent "
        "(a duplicate?)", f->seed, from->dir, k, from->sent);
  want_len = message_size (f->seed, from->dir, k);
  want = g_malloc (want_len);
  message_fill (f->seed, from->dir, k, want, want_len);
  if (len != want_len || memcmp (got, want, len) != 0) {
    gsize at = 0;
    while (at < MIN (len, want_len) && got[at] == want[at])
      at++;
    g_error ("seed %u: direction %u: message %u is %" G_GSIZE_FORMAT
        " bytes, want %" G_GSIZE_FORMAT "; first difference at byte %"
        G_GSIZE_FORMAT, f->seed, from->dir, k, len, want_len, at);
  }
  from->received++;
  f->bytes[from->dir] += len;
}

static void
top_up (Fixture * f, Sender * s)
{
  while (s->sent < f->n_messages && s->sent - s->received < IN_FLIGHT_MESSAGES) {
    gsize len = message_size (f->seed, s->dir, s->sent);
    g_autofree guint8 *buf = g_malloc (len);
    g_autoptr (GError) error = NULL;

    message_fill (f->seed, s->dir, s->sent, buf, len);
    g_assert_true (wzp_connection_send_message (s->conn, buf, len, &error));
    g_assert_no_error (error);
    s->sent++;
  }
}

static void
on_incoming (WzpEndpoint * ep, WzpConnection * conn, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_null (f->server_conn);
  f->server_conn = g_object_ref (conn);
  f->senders[1].conn = conn;
  g_signal_connect (conn, "message", G_CALLBACK (on_message), &f->senders[0]);
}

static WzpEndpoint *
make_endpoint (Fixture * f, WzpIdentity * id, gboolean accept)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo =
      g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, f->clock, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  g_object_set (ep, "accept-incoming", accept, NULL);
  return ep;
}

/* Runs everything due now, then jumps the clock to the next deadline
 * (the link's held packets are deadlines too).  Returns FALSE when
 * nothing at all is left to happen. */
static gboolean
step (Fixture * f)
{
  guint64 next;

  while (g_main_context_iteration (f->ctx, FALSE));
  next = wzp_test_clock_get_next_deadline (WZP_TEST_CLOCK (f->clock));
  if (next == WZP_TIME_NONE) {
    /* Maybe a packet is still inside the kernel's loopback. */
    wzp_test_iterate (f->ctx, 10);
    return wzp_test_clock_get_next_deadline (WZP_TEST_CLOCK (f->clock)) !=
        WZP_TIME_NONE;
  }
  if (next > wzp_clock_get_time (f->clock))
    wzp_test_clock_set_time (WZP_TEST_CLOCK (f->clock), next);
  return TRUE;
}

static void
run_exchange (const WzpTestLinkParams * link_params, guint n_messages)
{
  Fixture fx = { 0 }, *f = &fx;
  g_autoptr (GSocketAddress) server_addr = NULL;
  g_autoptr (GSocketAddress) link_addr = NULL;
  g_autoptr (GError) error = NULL;
  WzpConnectParams params;
  WzpTestLinkStats ls;
  WzpConnectionStats cs;
  const char *env_seed = g_getenv ("WZP_TEST_SEED");
  WzpTestLinkParams lp = *link_params;
  guint64 started, settle_until;
  guint steps = 0;

  if (env_seed)
    lp.seed = (guint32) g_ascii_strtoull (env_seed, NULL, 10);
  f->seed = lp.seed;
  f->n_messages = n_messages;
  g_test_message ("seed %u (set WZP_TEST_SEED to replay)", f->seed);

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->clock = wzp_test_clock_new (1000 * WZP_NSEC_PER_SEC);
  f->server_id = wzp_identity_generate ();
  f->client_id = wzp_identity_generate ();
  f->server = make_endpoint (f, f->server_id, TRUE);
  f->client = make_endpoint (f, f->client_id, FALSE);
  /* A retransmission storm must not look like a dead peer. */
  g_object_set (f->server, "idle-timeout", 120 * WZP_NSEC_PER_SEC, NULL);
  g_object_set (f->client, "idle-timeout", 120 * WZP_NSEC_PER_SEC, NULL);
  g_signal_connect (f->server, "incoming-connection",
      G_CALLBACK (on_incoming), f);
  server_addr = wzp_endpoint_get_local_address (f->server,
      G_SOCKET_FAMILY_IPV4);
  f->link = wzp_test_link_new (f->ctx, f->clock, server_addr, &lp);
  link_addr = wzp_test_link_get_address (f->link);

  wzp_connect_params_init (&params);
  params.expected_fingerprint = wzp_identity_get_fingerprint (f->server_id);
  params.handshake_timeout_ns = 60 * WZP_NSEC_PER_SEC;
  f->senders[0].conn = wzp_endpoint_connect_full (f->client, link_addr,
      &params, &error);
  g_assert_no_error (error);
  f->senders[0].dir = 0;
  f->senders[1].dir = 1;
  g_signal_connect (f->senders[0].conn, "message", G_CALLBACK (on_message),
      &f->senders[1]);

  started = wzp_clock_get_time (f->clock);
  while (f->senders[0].received < n_messages ||
      f->senders[1].received < n_messages) {
    if (wzp_connection_get_state (f->senders[0].conn) ==
        WZP_CONNECTION_STATE_CLOSED)
      g_error ("seed %u: the client connection closed: %s", f->seed,
          wzp_connection_get_close_error (f->senders[0].conn)->message);
    /* Messages may be queued before the handshake completes. */
    top_up (f, &f->senders[0]);
    if (f->server_conn)
      top_up (f, &f->senders[1]);
    if (!step (f))
      g_error ("seed %u: stalled with %u and %u of %u messages delivered",
          f->seed, f->senders[0].received, f->senders[1].received, n_messages);
    if (++steps > 4000000)
      g_error ("seed %u: no end in sight", f->seed);
  }

  /* Let every retransmission and duplicate that is still on its way land:
   * nothing more may arrive. */
  settle_until = wzp_clock_get_time (f->clock) + 5 * WZP_NSEC_PER_SEC;
  while (wzp_clock_get_time (f->clock) < settle_until && step (f));
  g_assert_cmpuint (f->senders[0].received, ==, n_messages);
  g_assert_cmpuint (f->senders[1].received, ==, n_messages);
  g_assert_cmpuint (wzp_connection_get_state (f->senders[0].conn), ==,
      WZP_CONNECTION_STATE_CONNECTED);

  /* The link really did its worst, and QUIC really retransmitted. */
  wzp_test_link_get_stats (f->link, &ls);
  wzp_connection_get_stats (f->senders[0].conn, &cs);
  g_test_message ("%" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT
      " bytes in %u + %u messages over %.1f s of test time; link: %"
      G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " dropped, %"
      G_GUINT64_FORMAT " duplicated, %" G_GUINT64_FORMAT " reordered",
      f->bytes[0], f->bytes[1], n_messages, n_messages,
      (wzp_clock_get_time (f->clock) - started) / 1e9, ls.received,
      ls.dropped, ls.duplicated, ls.reordered);
  if (lp.loss > 0)
    g_assert_cmpuint (ls.dropped, >, ls.received * lp.loss / 2);
  if (lp.duplicate > 0)
    g_assert_cmpuint (ls.duplicated, >, 0);
  if (lp.jitter_ns > 0)
    g_assert_cmpuint (ls.reordered, >, 0);

  wzp_connection_close (f->senders[0].conn, 0, "done");
  while (step (f) && wzp_clock_get_time (f->clock) < settle_until +
      10 * WZP_NSEC_PER_SEC);
  g_clear_object (&f->senders[0].conn);
  g_clear_object (&f->server_conn);
  g_clear_pointer (&f->link, wzp_test_link_free);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  wzp_test_drain (f->ctx);
  g_clear_object (&f->client_id);
  g_clear_object (&f->server_id);
  g_clear_object (&f->clock);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

/* Loss, duplication and reordering together, both directions busy. */
static void
test_lossy_link (void)
{
  WzpTestLinkParams lp = {
    .loss = 0.10,.duplicate = 0.05,
    .delay_ns = 10 * WZP_NSEC_PER_MSEC,.jitter_ns = 10 * WZP_NSEC_PER_MSEC,
    .seed = 17,
  };

  run_exchange (&lp, 2000);
}

/* Heavy loss: most STREAM data goes out more than once. */
static void
test_heavy_loss (void)
{
  WzpTestLinkParams lp = {
    .loss = 0.30,.duplicate = 0.0,
    .delay_ns = 20 * WZP_NSEC_PER_MSEC,.jitter_ns = 2 * WZP_NSEC_PER_MSEC,
    .seed = 4242,
  };

  run_exchange (&lp, 300);
}

/* Reordering and duplicates without loss: spurious retransmissions. */
static void
test_reorder_only (void)
{
  WzpTestLinkParams lp = {
    .loss = 0.0,.duplicate = 0.2,
    .delay_ns = 5 * WZP_NSEC_PER_MSEC,.jitter_ns = 40 * WZP_NSEC_PER_MSEC,
    .seed = 99,
  };

  run_exchange (&lp, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quic-loss/lossy-link", test_lossy_link);
  g_test_add_func ("/quic-loss/heavy-loss", test_heavy_loss);
  g_test_add_func ("/quic-loss/reorder-only", test_reorder_only);
  return g_test_run ();
}
