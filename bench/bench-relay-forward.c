/* bench-relay-forward — does relay media belong on the signaling
 * connection?
 *
 * One process, one GMainContext, loopback: an in-process WzpRelay and two
 * registered WzpSignalClients in a call.  Measures
 *   1. what a separate media connection would cost before the first
 *      packet: a QUIC handshake to the relay (plus, on a real network, a
 *      NAT binding and its keep-alives);
 *   2. relayed media round trip (A -> relay -> B -> relay -> A) on the
 *      signaling connection with idle signaling and with the signaling
 *      stream kept busy (4 KiB messages before every ping);
 *   3. forwarding throughput (datagrams per second, one core).
 *
 * Usage: bench-relay-forward [N_PINGS]
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wzp-relay.h"
#include "wzp-signal-client.h"

typedef struct
{
  GMainContext *ctx;
  WzpSignalClient *a, *b;
  guint32 channel;
  gboolean setup_a, setup_b;
  char *call_id;
  guint64 last_rtt;
  gboolean got;
  guint received;
} Bench;

static void
iterate (GMainContext * ctx)
{
  g_main_context_iteration (ctx, FALSE);
}

static WzpEndpoint *
endpoint (GMainContext * ctx, WzpIdentity * id)
{
  g_autoptr (GInetAddress) lo =
      g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  WzpEndpoint *ep = wzp_endpoint_new (ctx, id, NULL, NULL);

  wzp_endpoint_bind (ep, addr, NULL);
  return ep;
}

static void
on_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, Bench * b)
{
  wzp_signal_client_answer (sc, call_id, NULL, NULL);
}

static void
on_setup (WzpSignalClient * sc, WzpCallSetup * s, Bench * b)
{
  b->channel = s->channel;
  if (sc == b->a)
    b->setup_a = TRUE;
  else
    b->setup_b = TRUE;
}

/* B echoes; A measures. */
static void
media_b (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  Bench *b = user_data;

  b->received++;
  wzp_signal_client_send_media (sc, channel, data, len);
}

static void
media_a (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  Bench *b = user_data;
  gint64 sent;

  memcpy (&sent, data, sizeof sent);
  b->last_rtt = g_get_monotonic_time () * 1000 - sent;
  b->got = TRUE;
}

static int
cmp_u64 (const void *x, const void *y)
{
  guint64 a = *(const guint64 *) x, b = *(const guint64 *) y;
  return a < b ? -1 : a > b;
}

static void
report (const char *what, guint64 * s, guint n)
{
  qsort (s, n, sizeof *s, cmp_u64);
  printf ("%-44s n=%u  p50 %6.1f us  p90 %6.1f us  p99 %6.1f us\n", what, n,
      s[n / 2] / 1e3, s[n * 9 / 10] / 1e3, s[n * 99 / 100] / 1e3);
}

static void
pings (Bench * b, guint n, gboolean busy, guint64 * samples)
{
  g_autoptr (JsonObject) body = json_object_new ();
  g_autofree char *pad = g_strnfill (4000, 'p');

  json_object_set_string_member (body, "text", pad);
  for (guint i = 0; i < n; i++) {
    guint8 buf[160] = { 0 };
    gint64 now;
    if (busy)
      wzp_signal_client_send_room_message (b->a, "bench", NULL, body, NULL);
    now = g_get_monotonic_time () * 1000;
    memcpy (buf, &now, sizeof now);
    b->got = FALSE;
    wzp_signal_client_send_media (b->a, b->channel, buf, sizeof buf);
    while (!b->got)
      iterate (b->ctx);
    samples[i] = b->last_rtt;
  }
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? (guint) atoi (argv[1]) : 2000;
  GMainContext *ctx = g_main_context_new ();
  g_autoptr (WzpIdentity) rid = wzp_identity_generate ();
  g_autoptr (WzpIdentity) ida = wzp_identity_generate ();
  g_autoptr (WzpIdentity) idb = wzp_identity_generate ();
  g_autoptr (WzpRelay) relay = NULL;
  g_autoptr (GSocketAddress) raddr = NULL;
  g_autoptr (WzpEndpoint) epa = NULL;
  g_autoptr (WzpEndpoint) epb = NULL;
  guint64 *samples = g_new (guint64, MAX (n, 50));
  Bench b = { 0 };

  g_main_context_push_thread_default (ctx);
  b.ctx = ctx;
  relay = g_object_new (WZP_TYPE_RELAY, "context", ctx, "identity", rid,
      "listen-address", "127.0.0.1:0", NULL);
  if (!wzp_relay_start (relay, NULL))
    return 1;
  raddr = wzp_relay_get_listen_address (relay);
  epa = endpoint (ctx, ida);
  epb = endpoint (ctx, idb);
  b.a = wzp_signal_client_new (epa, raddr, NULL);
  b.b = wzp_signal_client_new (epb, raddr, NULL);
  g_signal_connect (b.b, "incoming-call", G_CALLBACK (on_incoming), &b);
  g_signal_connect (b.a, "call-setup", G_CALLBACK (on_setup), &b);
  g_signal_connect (b.b, "call-setup", G_CALLBACK (on_setup), &b);
  wzp_signal_client_set_media_handler (b.a, media_a, &b, NULL);
  wzp_signal_client_set_media_handler (b.b, media_b, &b, NULL);
  wzp_signal_client_start (b.a, NULL);
  wzp_signal_client_start (b.b, NULL);
  while (wzp_signal_client_get_state (b.a) != WZP_SIGNAL_STATE_REGISTERED ||
      wzp_signal_client_get_state (b.b) != WZP_SIGNAL_STATE_REGISTERED)
    iterate (ctx);
  wzp_signal_client_join_room (b.a, "bench", NULL, NULL);
  b.call_id = wzp_signal_client_place_call (b.a,
      wzp_identity_get_fingerprint (idb), NULL, NULL, NULL);
  while (!b.setup_a || !b.setup_b)
    iterate (ctx);

  printf ("relay forwarding on loopback, one thread (%u pings)\n", n);

  /* 1. The price of a separate media connection: one more handshake. */
  for (guint i = 0; i < 50; i++) {
    g_autoptr (WzpConnection) c = NULL;
    gint64 t0 = g_get_monotonic_time ();
    c = wzp_endpoint_connect (epa, raddr, NULL, NULL);
    while (wzp_connection_get_state (c) == WZP_CONNECTION_STATE_HANDSHAKING)
      iterate (ctx);
    samples[i] = (g_get_monotonic_time () - t0) * 1000;
    wzp_connection_close (c, 0, "bench");
  }
  report ("extra QUIC handshake to the relay", samples, 50);

  /* 2. Round trips. */
  pings (&b, 200, FALSE, samples);      /* warm up */
  pings (&b, n, FALSE, samples);
  report ("media RTT via relay, signaling idle", samples, n);
  pings (&b, n, TRUE, samples);
  report ("media RTT via relay, 4 KiB message each", samples, n);

  /* 3. Throughput with a window of 64 in flight. */
  {
    guint sent = 0;
    gint64 t0 = g_get_monotonic_time (), t1;
    guint start = b.received;
    WzpRelayStats st;
    wzp_signal_client_set_media_handler (b.b, media_b, &b, NULL);
    while (g_get_monotonic_time () - t0 < 2 * G_USEC_PER_SEC) {
      guint8 buf[160] = { 0 };
      while (sent - (b.received - start) < 64) {
        wzp_signal_client_send_media (b.a, b.channel, buf, sizeof buf);
        sent++;
      }
      iterate (ctx);
    }
    t1 = g_get_monotonic_time ();
    wzp_relay_get_stats (relay, &st);
    printf ("%-44s %.0f datagrams/s forwarded (160 B payload; each also "
        "echoed back)\n", "throughput A->B", (b.received - start) * 1e6 /
        (double) (t1 - t0));
    printf ("relay totals: forwarded %" G_GUINT64_FORMAT " dropped %"
        G_GUINT64_FORMAT "\n", st.datagrams_forwarded, st.datagrams_dropped);
  }

  g_free (b.call_id);
  g_free (samples);
  wzp_signal_client_stop (b.a);
  wzp_signal_client_stop (b.b);
  g_object_unref (b.a);
  g_object_unref (b.b);
  wzp_relay_stop (relay);
  g_main_context_pop_thread_default (ctx);
  return 0;
}
