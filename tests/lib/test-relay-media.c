/* Tests for the relay's media plane: channel packets between real
 * WzpSignalClients and an in-process WzpRelay over loopback (one
 * GMainContext; the relay's media workers are threads of their own), the
 * leg table alone, and the channel packet format.
 *
 * The media plane stamps legs with the monotonic clock, not a WzpClock:
 * these tests wait in real time (bounded generously).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "wzp-relay-private.h"
#include "wzp-signal-client.h"
#include "wzp-channel.h"
#include "wzp-random.h"
#include "wzp-test-util.h"
#include "wzp-test-nat.h"

#define WAIT_MS 10000
#define PAYLOAD_LEN 110

typedef struct
{
  WzpIdentity *id;
  WzpEndpoint *ep;
  WzpSignalClient *sc;
  GPtrArray *setups;            /* WzpCallSetup */
  guint ended;
  guint32 channel;              /* the call's */
  guint received;
  guint received_bad;
  guint32 next_seq;             /* ours */
  guint32 last_seq_seen;        /* the peer's */
  gint64 last_rx_us;
  gint64 max_gap_us;
} Peer;

typedef struct
{
  GMainContext *ctx;
  WzpIdentity *relay_id;
  WzpRelay *relay;
  GSocketAddress *relay_addr;
  WzpTestNat *nat;
  GPtrArray *peers;
} Fixture;

/* --- peers ------------------------------------------------------------ */

static void
on_setup (WzpSignalClient * sc, WzpCallSetup * setup, Peer * p)
{
  p->channel = setup->channel;
  g_ptr_array_add (p->setups, wzp_call_setup_copy (setup));
}

static void
on_ended (WzpSignalClient * sc, const char *call_id, const char *reason,
    Peer * p)
{
  p->ended++;
}

static void
on_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, Peer * p)
{
  g_autoptr (JsonObject) answer = json_object_new ();

  json_object_set_string_member (answer, "who", "answer");
  g_assert_true (wzp_signal_client_answer (sc, call_id, answer, NULL));
}

/* Payloads carry "wzpT" and a sequence number. */
static void
on_media (WzpSignalClient * sc, guint32 channel, const guint8 * data,
    gsize len, gpointer user_data)
{
  Peer *p = user_data;
  gint64 now = g_get_monotonic_time ();
  guint32 seq;

  if (channel != p->channel || len != PAYLOAD_LEN ||
      memcmp (data, "wzpT", 4) != 0) {
    p->received_bad++;
    return;
  }
  memcpy (&seq, data + 4, sizeof seq);
  if (p->last_rx_us && now - p->last_rx_us > p->max_gap_us)
    p->max_gap_us = now - p->last_rx_us;
  p->last_rx_us = now;
  p->last_seq_seen = seq;
  p->received++;
}

static gboolean
send_one (Peer * p)
{
  guint8 payload[PAYLOAD_LEN];

  memset (payload, 0xa5, sizeof payload);
  memcpy (payload, "wzpT", 4);
  memcpy (payload + 4, &p->next_seq, sizeof p->next_seq);
  p->next_seq++;
  return wzp_signal_client_send_media (p->sc, p->channel, payload,
      sizeof payload);
}

static void
peer_free (Peer * p)
{
  wzp_signal_client_stop (p->sc);
  g_object_unref (p->sc);
  g_object_unref (p->ep);
  g_object_unref (p->id);
  g_ptr_array_unref (p->setups);
  g_free (p);
}

/* A registered client; through the fixture's NAT when @via_nat. */
static Peer *
peer_new (Fixture * f, gboolean via_nat)
{
  Peer *p = g_new0 (Peer, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback
      (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) relay = via_nat ?
      wzp_test_nat_get_quic_address (f->nat) : g_object_ref (f->relay_addr);

  p->id = wzp_identity_generate ();
  p->ep = wzp_endpoint_new (f->ctx, p->id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (p->ep, any, &error));
  p->sc = wzp_signal_client_new (p->ep, relay,
      wzp_relay_get_fingerprint (f->relay));
  p->setups = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wzp_call_setup_free);
  g_signal_connect (p->sc, "call-setup", G_CALLBACK (on_setup), p);
  g_signal_connect (p->sc, "call-ended", G_CALLBACK (on_ended), p);
  g_signal_connect (p->sc, "incoming-call", G_CALLBACK (on_incoming), p);
  wzp_signal_client_set_media_handler (p->sc, on_media, p, NULL);
  g_ptr_array_add (f->peers, p);
  g_assert_true (wzp_signal_client_start (p->sc, NULL));
  wzp_test_wait_until (f->ctx, wzp_signal_client_get_state (p->sc) ==
      WZP_SIGNAL_STATE_REGISTERED, WAIT_MS);
  return p;
}

static void
call (Fixture * f, Peer * a, Peer * b)
{
  g_autoptr (JsonObject) offer = json_object_new ();
  g_autofree char *id = NULL;

  json_object_set_string_member (offer, "who", "offer");
  id = wzp_signal_client_place_call (a->sc,
      wzp_identity_get_fingerprint (b->id), NULL, offer, NULL);
  g_assert_nonnull (id);
  wzp_test_wait_until (f->ctx, a->setups->len > 0 && b->setups->len > 0,
      WAIT_MS);
}

static WzpRelayChannelState
channel_state (Peer * p)
{
  WzpRelayChannelStats s;

  wzp_signal_client_get_channel_stats (p->sc, p->channel, &s);
  return s.state;
}

static WzpRelayChannelStats
channel_stats (Peer * p)
{
  WzpRelayChannelStats s;

  wzp_signal_client_get_channel_stats (p->sc, p->channel, &s);
  return s;
}

static WzpRelayMediaStats
media_stats (Fixture * f)
{
  WzpRelayMediaStats s;

  wzp_relay_get_media_stats (f->relay, G_MAXUINT, &s);
  return s;
}

/* Both send a packet every 20 ms for @ms. */
static void
talk (Fixture * f, Peer * a, Peer * b, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end) {
    send_one (a);
    send_one (b);
    wzp_test_run_for (f->ctx, 20);
  }
  /* What is still in flight. */
  wzp_test_run_for (f->ctx, 100);
}

/* --- fixture ---------------------------------------------------------- */

static void
fixture_start (Fixture * f, guint workers, gboolean nat)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) media = NULL;

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->relay_id = wzp_identity_generate ();
  f->relay = g_object_new (WZP_TYPE_RELAY, "context", f->ctx, "identity",
      f->relay_id, "listen-address", "127.0.0.1:0", "media-address",
      "127.0.0.1:0", "workers", workers, NULL);
  /* Behind the NAT, clients must send media to its front. */
  if (nat)
    g_object_set (f->relay, "media-advertise", "127.0.0.2:0", NULL);
  g_assert_true (wzp_relay_start (f->relay, &error));
  g_assert_no_error (error);
  f->relay_addr = wzp_relay_get_listen_address (f->relay);
  media = wzp_relay_get_media_address (f->relay);
  g_assert_nonnull (media);
  g_assert_cmpuint (wzp_relay_get_media_workers (f->relay), ==, workers);
  if (nat)
    f->nat = wzp_test_nat_new (f->ctx, "127.0.0.2", f->relay_addr, media);
  f->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
}

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  fixture_start (f, 1, FALSE);
}

static void
fixture_setup_nat (Fixture * f, gconstpointer data)
{
  fixture_start (f, 1, TRUE);
}

static void
fixture_setup_two (Fixture * f, gconstpointer data)
{
  fixture_start (f, 2, FALSE);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  g_ptr_array_unref (f->peers);
  g_clear_pointer (&f->nat, wzp_test_nat_free);
  g_clear_object (&f->relay_addr);
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  wzp_test_drain (f->ctx);
  g_clear_object (&f->relay_id);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

/* --- media over channels ----------------------------------------------- */

static void
test_both_ways (Fixture * f, gconstpointer data)
{
  Peer *a = peer_new (f, FALSE), *b = peer_new (f, FALSE);
  WzpRelayMediaStats m0, m1;
  WzpRelayStats quic;
  WzpChannelInfo ia, ib;

  call (f, a, b);
  /* Each got its own channel and token. */
  g_assert_true (wzp_signal_client_get_channel (a->sc, a->channel, &ia));
  g_assert_true (wzp_signal_client_get_channel (b->sc, b->channel, &ib));
  g_assert_cmpuint (ia.channel, !=, ib.channel);
  g_assert_true (memcmp (ia.token, ib.token, sizeof ia.token) != 0);
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP &&
      channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);

  m0 = media_stats (f);
  talk (f, a, b, 1000);
  m1 = media_stats (f);
  g_assert_cmpuint (a->received_bad + b->received_bad, ==, 0);
  /* Loopback loses nothing; allow a packet or two at the edges. */
  g_assert_cmpuint (a->received, >=, b->next_seq - 2);
  g_assert_cmpuint (b->received, >=, a->next_seq - 2);
  g_assert_cmpuint (channel_stats (a).sent, >=, a->next_seq - 2);
  g_assert_cmpuint (channel_stats (b).received, >=, a->next_seq - 2);
  /* All of it crossed the media port, none the QUIC connections. */
  g_assert_cmpuint (m1.forwarded - m0.forwarded, >=,
      a->next_seq + b->next_seq - 4);
  g_assert_cmpuint (m1.to_quic, ==, 0);
  wzp_relay_get_stats (f->relay, &quic);
  g_assert_cmpuint (quic.datagrams_forwarded, ==, 0);
  g_assert_cmpuint (m1.channels, ==, 2);
  g_assert_cmpuint (m1.dropped_bad_token + m1.dropped_wrong_source +
      m1.dropped_unknown_channel + m1.dropped_malformed, ==, 0);

  /* Hanging up closes both channels. */
  g_assert_true (wzp_signal_client_hangup (a->sc,
          ((WzpCallSetup *) g_ptr_array_index (a->setups, 0))->call_id, NULL));
  wzp_test_wait_until (f->ctx, a->ended && b->ended, WAIT_MS);
  g_assert_cmpuint (media_stats (f).channels, ==, 0);
  g_assert_cmpint (channel_state (a), ==, WZP_RELAY_CHANNEL_OFF);
}

/* A client that does not use channels gets QUIC datagrams, and its peer
 * (which does) still gets its media on its channel. */
static void
test_mixed (Fixture * f, gconstpointer data)
{
  Peer *a = peer_new (f, FALSE), *b = peer_new (f, FALSE);
  WzpRelayMediaStats m;

  g_object_set (a->sc, "relay-channels", FALSE, NULL);
  call (f, a, b);
  wzp_test_wait_until (f->ctx, channel_state (b) == WZP_RELAY_CHANNEL_UP,
      WAIT_MS);
  g_assert_cmpint (channel_state (a), ==, WZP_RELAY_CHANNEL_OFF);
  talk (f, a, b, 600);
  g_assert_cmpuint (a->received, >=, b->next_seq - 2);
  g_assert_cmpuint (b->received, >=, a->next_seq - 2);
  m = media_stats (f);
  /* b -> a: the relay hands b's channel packets to a's connection. */
  g_assert_cmpuint (m.to_quic, >=, b->next_seq - 2);
  /* a -> b: a's QUIC datagrams leave on b's channel. */
  g_assert_cmpuint (m.forwarded, >=, a->next_seq - 2);
  g_assert_cmpuint (channel_stats (b).received, >=, a->next_seq - 2);
}

/* --- what the relay refuses -------------------------------------------- */

static int
raw_socket (const char *host)
{
  struct sockaddr_in sin = { 0 };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  sin.sin_family = AF_INET;
  g_assert_cmpint (inet_pton (AF_INET, host, &sin.sin_addr), ==, 1);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  return fd;
}

static void
raw_send (int fd, GSocketAddress * to, const guint8 * data, gsize len)
{
  struct sockaddr_storage ss;

  g_assert_true (g_socket_address_to_native (to, &ss, sizeof ss, NULL));
  g_assert_cmpint (sendto (fd, data, len, 0, (struct sockaddr *) &ss,
          g_socket_address_get_native_size (to)), ==, (gssize) len);
}

/* A channel packet with a wrong token, or from another source than the
 * channel is bound to, or for no channel, or not a channel packet at all:
 * dropped, counted, and never delivered. */
static void
test_forged (Fixture * f, gconstpointer data)
{
  Peer *a = peer_new (f, FALSE), *b = peer_new (f, FALSE);
  g_autoptr (GSocketAddress) media = wzp_relay_get_media_address (f->relay);
  guint8 packet[WZP_CHANNEL_HEADER_LEN + PAYLOAD_LEN];
  WzpChannelInfo ia;
  WzpRelayMediaStats m0, m1;
  int fd = raw_socket ("127.0.0.1");
  guint got;

  call (f, a, b);
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP &&
      channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);
  g_assert_true (wzp_signal_client_get_channel (a->sc, a->channel, &ia));
  memset (packet, 0, sizeof packet);
  memcpy (packet + WZP_CHANNEL_HEADER_LEN, "wzpT", 4);
  m0 = media_stats (f);
  got = b->received;

  /* a's channel and token, from another port of a's IP: a is bound. */
  wzp_channel_write_header (packet, WZP_CHANNEL_MEDIA, ia.channel, ia.token);
  for (guint i = 0; i < 10; i++)
    raw_send (fd, media, packet, sizeof packet);
  /* a's channel, a wrong token (from a's real socket it would not matter). */
  packet[5] ^= 0x01;
  for (guint i = 0; i < 20; i++)
    raw_send (fd, media, packet, sizeof packet);
  /* No such channel. */
  wzp_channel_write_header (packet, WZP_CHANNEL_MEDIA, 999999, ia.token);
  for (guint i = 0; i < 30; i++)
    raw_send (fd, media, packet, sizeof packet);
  /* Not a channel packet: short, unknown type, a BIND of the wrong size. */
  raw_send (fd, media, (const guint8 *) "hello", 5);
  packet[0] = 0x17;
  raw_send (fd, media, packet, sizeof packet);
  packet[0] = WZP_CHANNEL_BIND;
  raw_send (fd, media, packet, WZP_CHANNEL_BIND_LEN + 1);

  wzp_test_wait_until (f->ctx, (m1 = media_stats (f), m1.dropped_malformed -
          m0.dropped_malformed >= 3 && m1.dropped_unknown_channel -
          m0.dropped_unknown_channel >= 30), WAIT_MS);
  g_assert_cmpuint (m1.dropped_wrong_source - m0.dropped_wrong_source, ==, 10);
  g_assert_cmpuint (m1.dropped_bad_token - m0.dropped_bad_token, ==, 20);
  g_assert_cmpuint (m1.dropped_unknown_channel - m0.dropped_unknown_channel,
      ==, 30);
  g_assert_cmpuint (m1.dropped_malformed - m0.dropped_malformed, ==, 3);
  g_assert_cmpuint (m1.forwarded, ==, m0.forwarded);
  g_assert_cmpuint (b->received, ==, got);
  g_assert_cmpuint (b->received_bad, ==, 0);
  close (fd);

  /* The wrong-source packets made the relay stop sending a's media to a's
   * channel (a's NAT might have moved); a's next packets there bring it
   * back.  Media keeps flowing both ways. */
  talk (f, a, b, 600);
  g_assert_cmpuint (a->received, >=, b->next_seq - 3);
  g_assert_cmpuint (b->received, >=, a->next_seq - 3);
}

/* A flood of garbage and forged channel packets while a call runs: all
 * dropped and counted, the call's media unaffected. */
static void
test_flood (Fixture * f, gconstpointer data)
{
  Peer *a = peer_new (f, FALSE), *b = peer_new (f, FALSE);
  g_autoptr (GSocketAddress) media = wzp_relay_get_media_address (f->relay);
  guint8 packet[200];
  WzpChannelInfo ia;
  WzpRelayMediaStats m0, m1;
  int fds[4];
  guint sent = 0;
  guint64 dropped;

  call (f, a, b);
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP &&
      channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);
  g_assert_true (wzp_signal_client_get_channel (a->sc, a->channel, &ia));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = raw_socket (i % 2 ? "127.0.0.1" : "127.0.0.3");
  m0 = media_stats (f);
  for (guint round = 0; round < 50; round++) {
    for (guint i = 0; i < 200; i++) {
      gsize len = 1 + wzp_random_u32 () % sizeof packet;
      wzp_random_bytes (packet, len);
      switch (i % 4) {
        case 0:                /* garbage */
          break;
        case 1:                /* forged: right channel, random token */
          if (len < WZP_CHANNEL_HEADER_LEN + 1)
            len = WZP_CHANNEL_HEADER_LEN + 1;
          packet[0] = WZP_CHANNEL_MEDIA;
          wzp_channel_write_header (packet, WZP_CHANNEL_MEDIA, ia.channel,
              packet + 5);
          break;
        case 2:                /* random channels */
          if (len < WZP_CHANNEL_HEADER_LEN + 1)
            len = WZP_CHANNEL_HEADER_LEN + 1;
          packet[0] = WZP_CHANNEL_MEDIA;
          break;
        case 3:                /* forged BINDs */
          len = WZP_CHANNEL_BIND_LEN;
          packet[0] = WZP_CHANNEL_BIND;
          break;
      }
      raw_send (fds[i % G_N_ELEMENTS (fds)], media, packet, len);
      sent++;
    }
    send_one (a);
    send_one (b);
    wzp_test_run_for (f->ctx, 20);
  }
  wzp_test_run_for (f->ctx, 200);
  m1 = media_stats (f);
  dropped = (m1.dropped_malformed + m1.dropped_unknown_channel +
      m1.dropped_bad_token + m1.dropped_wrong_source) -
      (m0.dropped_malformed + m0.dropped_unknown_channel +
      m0.dropped_bad_token + m0.dropped_wrong_source);
  g_test_message ("flood: %u sent, %" G_GUINT64_FORMAT " dropped (malformed %"
      G_GUINT64_FORMAT ", unknown %" G_GUINT64_FORMAT ", token %"
      G_GUINT64_FORMAT ", source %" G_GUINT64_FORMAT ")", sent, dropped,
      m1.dropped_malformed - m0.dropped_malformed,
      m1.dropped_unknown_channel - m0.dropped_unknown_channel,
      m1.dropped_bad_token - m0.dropped_bad_token,
      m1.dropped_wrong_source - m0.dropped_wrong_source);
  /* Loopback may drop some of the flood itself (socket buffers); every
   * one that arrived was dropped and counted, none forwarded or answered. */
  g_assert_cmpuint (dropped, >=, sent / 2);
  g_assert_cmpuint (m1.received - m0.received, >=, dropped);
  g_assert_cmpuint (m1.binds - m0.binds, <=, 60);
  g_assert_cmpuint (a->received_bad + b->received_bad, ==, 0);
  g_assert_cmpuint (a->received, >=, 45);
  g_assert_cmpuint (b->received, >=, 45);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
}

/* --- NAT rebinding and fallback ---------------------------------------- */

static WzpAddr
local_addr (Peer * p)
{
  g_autoptr (GSocketAddress) a = wzp_endpoint_get_local_address (p->ep,
      G_SOCKET_FAMILY_IPV4);
  WzpAddr addr;

  g_assert_true (wzp_addr_from_gsocketaddress (&addr, a));
  return addr;
}

/* a's NAT gives it new outside ports mid-call (both for its QUIC flow and
 * its media flow, different from each other): the channel is re-bound
 * through signaling and media keeps flowing; the call never ends. */
static void
test_nat_rebind (Fixture * f, gconstpointer data)
{
  Peer *a = peer_new (f, TRUE), *b = peer_new (f, TRUE);
  WzpAddr inside = local_addr (a);
  WzpRelayMediaStats m0, m1;
  guint got_a, got_b, sent_a, sent_b;

  call (f, a, b);
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP &&
      channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);
  talk (f, a, b, 400);
  m0 = media_stats (f);
  g_assert_cmpuint (m0.forwarded, >, 30);

  wzp_test_nat_rebind (f->nat, &inside);
  a->max_gap_us = b->max_gap_us = 0;
  got_a = a->received;
  got_b = b->received;
  sent_a = a->next_seq;
  sent_b = b->next_seq;
  talk (f, a, b, 3000);
  m1 = media_stats (f);
  g_test_message ("after the rebinding: a got %u of %u, b got %u of %u; "
      "gaps a %" G_GINT64_FORMAT " ms, b %" G_GINT64_FORMAT " ms; relay: "
      "wrong-source %" G_GUINT64_FORMAT ", rebinds %" G_GUINT64_FORMAT
      ", to QUIC %" G_GUINT64_FORMAT, a->received - got_a,
      b->next_seq - sent_b, b->received - got_b, a->next_seq - sent_a,
      a->max_gap_us / 1000, b->max_gap_us / 1000, m1.dropped_wrong_source,
      m1.rebinds, m1.to_quic);
  g_assert_cmpuint (a->ended + b->ended, ==, 0);
  g_assert_cmpuint (m1.dropped_wrong_source, >, 0);
  g_assert_cmpuint (m1.rebinds, >=, 1);
  g_assert_cmpuint (channel_stats (a).rebinds, >=, 1);
  /* Back on the channel, and forwarding there again. */
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP,
      WAIT_MS);
  m1 = media_stats (f);
  talk (f, a, b, 400);
  g_assert_cmpuint (media_stats (f).forwarded - m1.forwarded, >=, 30);
  /* Media flowed all along: at most a short gap (the bound is for hangs;
   * the gap is ~QUIET + a few ack-waits, a few hundred ms). */
  g_assert_cmpuint (a->received - got_a, >=, (b->next_seq - sent_b) * 7 / 10);
  g_assert_cmpuint (b->received - got_b, >=, (a->next_seq - sent_a) * 7 / 10);
  g_assert_cmpint (a->max_gap_us, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (b->max_gap_us, <, 2 * G_USEC_PER_SEC);
}

/* A network that drops the media port from the start: media on QUIC
 * datagrams, and the channel is never used. */
static void
test_fallback_blocked (Fixture * f, gconstpointer data)
{
  Peer *a, *b;
  WzpRelayStats quic;

  wzp_test_nat_set_block_media (f->nat, TRUE);
  a = peer_new (f, TRUE);
  b = peer_new (f, TRUE);
  call (f, a, b);
  talk (f, a, b, 1500);
  g_assert_cmpint (channel_state (a), ==, WZP_RELAY_CHANNEL_DOWN);
  g_assert_cmpint (channel_state (b), ==, WZP_RELAY_CHANNEL_DOWN);
  g_assert_cmpuint (a->received, >=, b->next_seq - 2);
  g_assert_cmpuint (b->received, >=, a->next_seq - 2);
  g_assert_cmpuint (media_stats (f).received, ==, 0);
  wzp_relay_get_stats (f->relay, &quic);
  g_assert_cmpuint (quic.datagrams_forwarded, >=, a->next_seq + b->next_seq
      - 4);
  /* It comes back when the network lets it through again. */
  wzp_test_nat_set_block_media (f->nat, FALSE);
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP &&
      channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);
}

/* The media port stops getting through mid-call: media moves to QUIC
 * datagrams within a second and keeps flowing both ways. */
static void
test_fallback_midcall (Fixture * f, gconstpointer data)
{
  Peer *a = peer_new (f, TRUE), *b = peer_new (f, TRUE);
  guint got_a, got_b, sent_a, sent_b;

  call (f, a, b);
  wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP &&
      channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);
  talk (f, a, b, 400);
  wzp_test_nat_set_block_media (f->nat, TRUE);
  a->max_gap_us = b->max_gap_us = 0;
  got_a = a->received;
  got_b = b->received;
  sent_a = a->next_seq;
  sent_b = b->next_seq;
  talk (f, a, b, 3000);
  g_test_message ("blocked mid-call: a got %u of %u, b got %u of %u; gaps a "
      "%" G_GINT64_FORMAT " ms, b %" G_GINT64_FORMAT " ms", a->received -
      got_a, b->next_seq - sent_b, b->received - got_b, a->next_seq - sent_a,
      a->max_gap_us / 1000, b->max_gap_us / 1000);
  g_assert_cmpint (channel_state (a), ==, WZP_RELAY_CHANNEL_DOWN);
  g_assert_cmpint (channel_state (b), ==, WZP_RELAY_CHANNEL_DOWN);
  g_assert_cmpuint (a->ended + b->ended, ==, 0);
  g_assert_cmpuint (a->received - got_a, >=, (b->next_seq - sent_b) * 7 / 10);
  g_assert_cmpuint (b->received - got_b, >=, (a->next_seq - sent_a) * 7 / 10);
  g_assert_cmpint (a->max_gap_us, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (b->max_gap_us, <, 2 * G_USEC_PER_SEC);
}

/* --- workers ----------------------------------------------------------- */

static RelayCall *
only_call (Fixture * f)
{
  GHashTableIter it;
  gpointer value = NULL;

  g_assert_cmpuint (g_hash_table_size (f->relay->calls), ==, 1);
  g_hash_table_iter_init (&it, f->relay->calls);
  g_assert_true (g_hash_table_iter_next (&it, NULL, &value));
  return value;
}

/* Two workers, a call whose parties the kernel gave to different workers
 * (SO_REUSEPORT hashes each client's address): it forwards both ways,
 * each worker sending the other's party its packets. */
static void
test_two_workers (Fixture * f, gconstpointer data)
{
  Peer *a = NULL, *b = NULL;
  RelayCall *c = NULL;
  WzpRelayMediaStats w0, w1;
  guint tries;

  /* Each try has even odds; 16 tries fail together once in 65536. */
  for (tries = 1; tries <= 16; tries++) {
    guint wa, wb;
    a = peer_new (f, FALSE);
    b = peer_new (f, FALSE);
    call (f, a, b);
    wzp_test_wait_until (f->ctx, channel_state (a) == WZP_RELAY_CHANNEL_UP
        && channel_state (b) == WZP_RELAY_CHANNEL_UP, WAIT_MS);
    c = only_call (f);
    wa = relay_legs_worker (f->relay->legs, c->legs[0]);
    wb = relay_legs_worker (f->relay->legs, c->legs[1]);
    g_assert_cmpuint (wa, >=, 1);
    g_assert_cmpuint (wb, >=, 1);
    if (wa != wb)
      break;
    /* Same worker: hang up and try two new clients. */
    g_assert_true (wzp_signal_client_hangup (a->sc,
            ((WzpCallSetup *) g_ptr_array_index (a->setups, 0))->call_id,
            NULL));
    wzp_test_wait_until (f->ctx, a->ended && b->ended, WAIT_MS);
  }
  g_assert_cmpuint (tries, <=, 16);
  g_test_message ("parties on different workers after %u call(s)", tries);
  wzp_relay_get_media_stats (f->relay, 0, &w0);
  wzp_relay_get_media_stats (f->relay, 1, &w1);
  talk (f, a, b, 1000);
  g_assert_cmpuint (a->received, >=, b->next_seq - 2);
  g_assert_cmpuint (b->received, >=, a->next_seq - 2);
  {
    WzpRelayMediaStats x0, x1;
    wzp_relay_get_media_stats (f->relay, 0, &x0);
    wzp_relay_get_media_stats (f->relay, 1, &x1);
    /* Each worker forwarded one party's packets. */
    g_assert_cmpuint (x0.forwarded - w0.forwarded, >=, 40);
    g_assert_cmpuint (x1.forwarded - w1.forwarded, >=, 40);
  }
  g_assert_cmpuint (media_stats (f).to_quic, ==, 0);
}

/* --- the leg table alone ------------------------------------------------ */

static WzpAddr
addr (const char *text)
{
  WzpAddr a;

  g_assert_true (wzp_addr_parse (&a, text, NULL));
  return a;
}

static RelayLegAddr
leg_addr (const char *text)
{
  WzpAddr a = addr (text);
  RelayLegAddr l;

  relay_leg_addr_from_sockaddr (&l, (struct sockaddr *) &a.storage, a.len);
  return l;
}

static void
test_legs (void)
{
  RelayLegs *t = relay_legs_new ();
  guint8 token[WZP_CHANNEL_TOKEN_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  guint8 other[WZP_CHANNEL_TOKEN_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9 };
  WzpAddr signaling = addr ("192.0.2.1:4000");
  RelayLegAddr a1 = leg_addr ("192.0.2.1:5000");
  RelayLegAddr a2 = leg_addr ("192.0.2.1:5001");
  RelayLegAddr stranger = leg_addr ("198.51.100.9:5000");
  RelayLegSnapshot s;
  guint32 x, y, z;

  x = relay_legs_open (t, token, &signaling);
  y = relay_legs_open (t, other, &signaling);
  g_assert_cmpuint (x, >=, 1);
  g_assert_cmpuint (y, !=, x);
  relay_legs_pair (t, x, y);
  g_assert_cmpuint (relay_legs_count (t), ==, 2);

  /* Not latched yet: only from the signaling connection's IP. */
  g_assert_cmpint (relay_legs_accept (t, x, token, &stranger, 1, TRUE, 0, &s),
      ==, RELAY_LEG_WRONG_SOURCE);
  g_assert_cmpint (relay_legs_accept (t, x, other, &a1, 1, TRUE, 0, &s), ==,
      RELAY_LEG_BAD_TOKEN);
  g_assert_cmpint (relay_legs_accept (t, 77777, token, &a1, 1, TRUE, 0, &s),
      ==, RELAY_LEG_UNKNOWN);
  g_assert_cmpint (relay_legs_accept (t, x, token, &a1, 1, TRUE, 0, &s), ==,
      RELAY_LEG_ACCEPTED);
  g_assert_true (s.latched);
  g_assert_cmpuint (s.peer, ==, y);
  /* Latched: another port of the same IP is refused, and takes the leg
   * off its channel (the relay sends it media on QUIC). */
  g_assert_true (relay_legs_read (t, x, &s) && s.receiving);
  g_assert_cmpint (relay_legs_accept (t, x, token, &a2, 2, TRUE, 0, &s), ==,
      RELAY_LEG_WRONG_SOURCE);
  g_assert_true (relay_legs_read (t, x, &s) && !s.receiving);
  g_assert_cmpuint (relay_legs_worker (t, x), ==, 1);
  /* Re-bound through signaling: the next valid packet binds it anew. */
  relay_legs_rebind (t, x, &signaling);
  g_assert_true (relay_legs_read (t, x, &s) && !s.latched);
  g_assert_cmpint (relay_legs_accept (t, x, token, &a2, 3, FALSE, 1, &s), ==,
      RELAY_LEG_ACCEPTED);
  g_assert_true (s.latched && !s.receiving);
  g_assert_cmpuint (s.last_rx, ==, 3);
  g_assert_cmpuint (relay_legs_worker (t, x), ==, 2);

  /* Closed: unknown; its slot is reused with a new token. */
  relay_legs_close (t, x);
  g_assert_false (relay_legs_read (t, x, &s));
  g_assert_cmpint (relay_legs_accept (t, x, token, &a2, 4, TRUE, 0, &s), ==,
      RELAY_LEG_UNKNOWN);
  z = relay_legs_open (t, other, &signaling);
  g_assert_cmpuint (z, ==, x);
  g_assert_cmpint (relay_legs_accept (t, z, token, &a2, 5, TRUE, 0, &s), ==,
      RELAY_LEG_BAD_TOKEN);
  g_assert_true (relay_legs_read (t, z, &s) && s.peer == 0 && !s.latched);

  /* Many legs: pages are added, never moved. */
  for (guint i = 0; i < 2000; i++)
    g_assert_cmpuint (relay_legs_open (t, token, &signaling), !=, 0);
  g_assert_cmpuint (relay_legs_count (t), ==, 2002);
  g_assert_true (relay_legs_read (t, y, &s) && s.peer == x);
  relay_legs_free (t);
}

/* --- the format ---------------------------------------------------------- */

static void
test_packet_format (void)
{
  guint8 token[WZP_CHANNEL_TOKEN_LEN] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 };
  guint8 buf[WZP_CHANNEL_MAX_LEN + 1];
  WzpChannelPacket p;

  wzp_channel_write_header (buf, WZP_CHANNEL_MEDIA, 0x01020304, token);
  memcpy (buf + WZP_CHANNEL_HEADER_LEN, "media", 5);
  g_assert_true (wzp_channel_packet_parse (buf, WZP_CHANNEL_HEADER_LEN + 5,
          &p));
  g_assert_cmpuint (p.type, ==, WZP_CHANNEL_MEDIA);
  g_assert_cmpuint (p.channel, ==, 0x01020304);
  g_assert_cmpuint (buf[1], ==, 1);     /* big-endian on the wire */
  g_assert_cmpmem (p.token, 8, token, 8);
  g_assert_cmpmem (p.payload, p.payload_len, "media", 5);
  /* No payload, too long, too short. */
  g_assert_false (wzp_channel_packet_parse (buf, WZP_CHANNEL_HEADER_LEN, &p));
  g_assert_false (wzp_channel_packet_parse (buf, sizeof buf, &p));
  g_assert_false (wzp_channel_packet_parse (buf, 12, &p));

  g_assert_cmpuint (wzp_channel_write_bind (buf, WZP_CHANNEL_BIND, 7, token,
          WZP_CHANNEL_FLAG_RECEIVING, 0xcafef00d), ==, WZP_CHANNEL_BIND_LEN);
  g_assert_true (wzp_channel_packet_parse (buf, WZP_CHANNEL_BIND_LEN, &p));
  g_assert_cmpuint (p.type, ==, WZP_CHANNEL_BIND);
  g_assert_cmpuint (p.flags, ==, WZP_CHANNEL_FLAG_RECEIVING);
  g_assert_cmpuint (p.nonce, ==, 0xcafef00d);
  g_assert_false (wzp_channel_packet_parse (buf, WZP_CHANNEL_BIND_LEN + 1, &p));
  buf[0] = 0x43;
  g_assert_false (wzp_channel_packet_parse (buf, WZP_CHANNEL_BIND_LEN, &p));
}

static void
check_media (const char *json, gboolean ok, gboolean present)
{
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  WzpChannelInfo info;
  gboolean has;

  msg = wzp_message_parse ((const guint8 *) json, strlen (json), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (wzp_message_get_channel (msg, &info, &has, &error), ==, ok);
  if (ok) {
    g_assert_cmpint (has, ==, present);
  } else {
    g_assert_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE);
    g_assert_true (g_str_has_prefix (error->message,
            "call-resumed: field 'media'"));
  }
}

static void
test_media_object (void)
{
  g_autoptr (JsonObject) m = wzp_message_new (WZP_MSG_CALL_RESUMED);
  guint8 token[WZP_CHANNEL_TOKEN_LEN] = { 1, 2, 3, 4, 5, 6, 7, 0xff };
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonObject) back = NULL;
  WzpChannelInfo info;
  gboolean present;
  char text[WZP_ADDR_STRLEN];

  json_object_set_string_member (m, "call_id",
      "0123456789abcdef0123456789abcdef");
  json_object_set_int_member (m, "channel", 5);
  wzp_message_set_channel (m, "203.0.113.10:4435", 42, token);
  bytes = wzp_message_to_bytes (m);
  back = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), NULL, NULL);
  g_assert_nonnull (back);
  g_assert_true (wzp_message_get_channel (back, &info, &present, NULL));
  g_assert_true (present);
  g_assert_cmpuint (info.channel, ==, 42);
  g_assert_cmpmem (info.token, 8, token, 8);
  g_assert_cmpstr (wzp_addr_to_string (&info.address, text), ==,
      "203.0.113.10:4435");

#define PRE "{\"v\":1,\"type\":\"call-resumed\",\"call_id\":" \
    "\"0123456789abcdef0123456789abcdef\",\"channel\":5"
  check_media (PRE "}", TRUE, FALSE);
  check_media (PRE ",\"media\":null}", TRUE, FALSE);
  check_media (PRE ",\"media\":{\"addr\":\"1.2.3.4:5\",\"channel\":1,"
      "\"token\":\"AQIDBAUGBwg=\"}}", TRUE, TRUE);
  check_media (PRE ",\"media\":7}", FALSE, FALSE);
  check_media (PRE ",\"media\":{\"channel\":1,\"token\":\"AQIDBAUGBwg=\"}}",
      FALSE, FALSE);
  check_media (PRE ",\"media\":{\"addr\":\"nowhere\",\"channel\":1,"
      "\"token\":\"AQIDBAUGBwg=\"}}", FALSE, FALSE);
  check_media (PRE ",\"media\":{\"addr\":\"1.2.3.4:5\",\"channel\":0,"
      "\"token\":\"AQIDBAUGBwg=\"}}", FALSE, FALSE);
  check_media (PRE ",\"media\":{\"addr\":\"1.2.3.4:5\",\"channel\":4294967296,"
      "\"token\":\"AQIDBAUGBwg=\"}}", FALSE, FALSE);
  check_media (PRE ",\"media\":{\"addr\":\"1.2.3.4:5\",\"channel\":1,"
      "\"token\":\"AQIDBAUGBw==\"}}", FALSE, FALSE);
  /* Not canonical: the last character carries bits that decode drops. */
  check_media (PRE ",\"media\":{\"addr\":\"1.2.3.4:5\",\"channel\":1,"
      "\"token\":\"AQIDBAUGBwh=\"}}", FALSE, FALSE);
#undef PRE
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/relay-media/packet-format", test_packet_format);
  g_test_add_func ("/relay-media/media-object", test_media_object);
  g_test_add_func ("/relay-media/legs", test_legs);
#define ADD(name, setup, fn) \
  g_test_add ("/relay-media/" name, Fixture, NULL, setup, fn, fixture_teardown)
  ADD ("both-ways", fixture_setup, test_both_ways);
  ADD ("mixed", fixture_setup, test_mixed);
  ADD ("forged", fixture_setup, test_forged);
  ADD ("flood", fixture_setup, test_flood);
  ADD ("nat-rebind", fixture_setup_nat, test_nat_rebind);
  ADD ("fallback-blocked", fixture_setup_nat, test_fallback_blocked);
  ADD ("fallback-midcall", fixture_setup_nat, test_fallback_midcall);
  ADD ("two-workers", fixture_setup_two, test_two_workers);
#undef ADD
  return g_test_run ();
}
