/* wzp — the client end of one relay media channel (see wzp-relay-channel.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-channel.h"
#include "wzp-log-private.h"
#include "wzp-random.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_signal

#define MSEC WZP_NSEC_PER_MSEC
/* BINDs while we wait for the first answer, and how long we wait. */
#define PROBE_INTERVAL (200 * MSEC)
#define PROBE_TIME (1000 * MSEC)
/* A BIND a second keeps the NAT binding and the relay's view of us
 * fresh (the relay stops using a channel silent for 3 s). */
#define KEEPALIVE (1000 * MSEC)
/* The channel's media stopped after it flowed (at 50 packets/s, ten
 * missing packets): look at once rather than at the next keep-alive. */
#define QUIET (200 * MSEC)
#define FLOWING 5
#define ACK_WAIT_MIN (100 * MSEC)
#define ACK_WAIT_MAX (1000 * MSEC)
#define SUSPECT_MISSES 3

struct _WzpRelayChannel
{
  WzpEndpoint *endpoint;
  WzpClock *clock;
  GSource *timer;
  WzpChannelInfo info;
  guint32 call_channel;
  WzpRelayChannelRebindFunc rebind;
  gpointer rebind_data;

  WzpRelayChannelState state;
  guint64 state_since;
  guint64 next_bind;
  gboolean outstanding;         /* a BIND waits for its ACK */
  guint32 nonce;
  guint64 bind_sent_at;
  guint misses;
  gboolean rebind_asked;        /* in this SUSPECT/DOWN episode */
  guint64 srtt;
  guint64 last_media;
  guint streak;                 /* media packets in a row, no QUIET gap */

  WzpRelayChannelStats stats;
};

#define state_names(s) wzp_relay_channel_state_to_string (s)

static guint64
ack_wait (WzpRelayChannel * ch)
{
  return CLAMP (3 * ch->srtt, ACK_WAIT_MIN, ACK_WAIT_MAX);
}

static void
set_state (WzpRelayChannel * ch, WzpRelayChannelState state, guint64 now,
    const char *why)
{
  char addr[WZP_ADDR_STRLEN];

  if (ch->state == state)
    return;
  WZP_DEBUG ("relay channel %u (%s): %s -> %s: %s", ch->info.channel,
      wzp_addr_to_string (&ch->info.address, addr), state_names (ch->state),
      state_names (state), why);
  if (state == WZP_RELAY_CHANNEL_DOWN)
    ch->stats.downs++;
  if (state == WZP_RELAY_CHANNEL_UP)
    ch->rebind_asked = FALSE;
  ch->state = state;
  ch->state_since = now;
  ch->misses = 0;
}

static void
send_bind (WzpRelayChannel * ch, guint64 now)
{
  guint8 packet[WZP_CHANNEL_BIND_LEN];

  ch->nonce = wzp_random_u32 ();
  wzp_channel_write_bind (packet, WZP_CHANNEL_BIND, ch->info.channel,
      ch->info.token, ch->state == WZP_RELAY_CHANNEL_UP ?
      WZP_CHANNEL_FLAG_RECEIVING : 0, ch->nonce);
  if (wzp_endpoint_send_udp (ch->endpoint, &ch->info.address, packet,
          sizeof packet))
    ch->stats.binds++;
  ch->outstanding = TRUE;
  ch->bind_sent_at = now;
}

/* The next moment something may have to happen. */
static void
schedule (WzpRelayChannel * ch)
{
  guint64 next = ch->next_bind;

  if (ch->outstanding && (ch->state == WZP_RELAY_CHANNEL_UP ||
          ch->state == WZP_RELAY_CHANNEL_SUSPECT))
    next = MIN (next, ch->bind_sent_at + ack_wait (ch));
  if (ch->state == WZP_RELAY_CHANNEL_PROBING)
    next = MIN (next, ch->state_since + PROBE_TIME);
  if (ch->state == WZP_RELAY_CHANNEL_UP && ch->streak >= FLOWING)
    next = MIN (next, ch->last_media + QUIET);
  wzp_timer_source_set_deadline (ch->timer, next);
}

static void
suspect (WzpRelayChannel * ch, guint64 now, const char *why)
{
  set_state (ch, WZP_RELAY_CHANNEL_SUSPECT, now, why);
  send_bind (ch, now);
}

static void
tick (WzpRelayChannel * ch, guint64 now)
{
  switch (ch->state) {
    case WZP_RELAY_CHANNEL_PROBING:
      if (now >= ch->state_since + PROBE_TIME) {
        set_state (ch, WZP_RELAY_CHANNEL_DOWN, now, "no answer to BINDs: "
            "media stays on the signaling connection");
        ch->next_bind = now + PROBE_INTERVAL;
        break;
      }
      if (now >= ch->next_bind) {
        send_bind (ch, now);
        ch->next_bind = now + PROBE_INTERVAL;
      }
      break;
    case WZP_RELAY_CHANNEL_UP:
      if (ch->outstanding && now >= ch->bind_sent_at + ack_wait (ch)) {
        suspect (ch, now, "a keep-alive BIND was not answered");
      } else if (ch->streak >= FLOWING && now >= ch->last_media + QUIET) {
        ch->streak = 0;
        suspect (ch, now, "the channel's media stopped");
      } else if (now >= ch->next_bind) {
        send_bind (ch, now);
        ch->next_bind = now + KEEPALIVE;
      }
      break;
    case WZP_RELAY_CHANNEL_SUSPECT:
      if (!ch->outstanding || now < ch->bind_sent_at + ack_wait (ch))
        break;
      ch->misses++;
      if (!ch->rebind_asked) {
        /* The relay binds a channel again only when asked over
         * signaling; until then it also sends us media there. */
        ch->rebind_asked = TRUE;
        ch->stats.rebinds++;
        ch->rebind (ch, ch->info.channel, ch->rebind_data);
      }
      if (ch->misses >= SUSPECT_MISSES) {
        set_state (ch, WZP_RELAY_CHANNEL_DOWN, now, "BINDs not answered: "
            "media on the signaling connection");
        ch->next_bind = now + PROBE_INTERVAL;
      } else {
        send_bind (ch, now);
      }
      break;
    case WZP_RELAY_CHANNEL_OFF:
    case WZP_RELAY_CHANNEL_DOWN:
      if (now >= ch->next_bind) {
        send_bind (ch, now);
        ch->next_bind = now + (now < ch->state_since + PROBE_TIME ?
            PROBE_INTERVAL : KEEPALIVE);
      }
      break;
  }
  if (ch->next_bind <= now)
    ch->next_bind = now + PROBE_INTERVAL;
  schedule (ch);
}

static gboolean
on_timer (gpointer user_data)
{
  WzpRelayChannel *ch = user_data;

  tick (ch, wzp_clock_get_time (ch->clock));
  return G_SOURCE_CONTINUE;
}

/**
 * _wzp_relay_channel_new:
 * @call_channel: the call's channel on the signaling connection (what
 *   media handlers are told)
 * @rtt_ns: the signaling connection's RTT, until the channel has its own
 */
WzpRelayChannel *
_wzp_relay_channel_new (WzpEndpoint * endpoint, const WzpChannelInfo * info,
    guint32 call_channel, guint64 rtt_ns, WzpRelayChannelRebindFunc rebind,
    gpointer user_data)
{
  WzpRelayChannel *ch = g_new0 (WzpRelayChannel, 1);
  guint64 now;

  ch->endpoint = g_object_ref (endpoint);
  ch->clock = g_object_ref (wzp_endpoint_get_clock (endpoint));
  ch->info = *info;
  ch->call_channel = call_channel;
  ch->rebind = rebind;
  ch->rebind_data = user_data;
  ch->srtt = rtt_ns ? rtt_ns : 100 * MSEC;
  now = wzp_clock_get_time (ch->clock);
  ch->state = WZP_RELAY_CHANNEL_PROBING;
  ch->state_since = now;
  ch->timer = wzp_timer_source_new (ch->clock);
  g_source_set_callback (ch->timer, on_timer, ch, NULL);
  g_source_set_name (ch->timer, "WzpRelayChannel");
  g_source_attach (ch->timer, wzp_endpoint_get_context (endpoint));
  send_bind (ch, now);
  ch->next_bind = now + PROBE_INTERVAL;
  schedule (ch);
  return ch;
}

void
_wzp_relay_channel_free (WzpRelayChannel * ch)
{
  if (ch == NULL)
    return;
  g_source_destroy (ch->timer);
  g_source_unref (ch->timer);
  g_object_unref (ch->clock);
  g_object_unref (ch->endpoint);
  memset (ch->info.token, 0, sizeof ch->info.token);
  g_free (ch);
}

guint32
_wzp_relay_channel_get_call_channel (WzpRelayChannel * ch)
{
  return ch->call_channel;
}

guint32
_wzp_relay_channel_get_channel (WzpRelayChannel * ch)
{
  return ch->info.channel;
}

const WzpAddr *
_wzp_relay_channel_get_address (WzpRelayChannel * ch)
{
  return &ch->info.address;
}

WzpRelayChannelState
_wzp_relay_channel_get_state (WzpRelayChannel * ch)
{
  return ch->state;
}

gboolean
_wzp_relay_channel_send (WzpRelayChannel * ch, const guint8 * payload,
    gsize len, gboolean * also_quic)
{
  guint8 packet[WZP_CHANNEL_MAX_LEN];

  *also_quic = TRUE;
  if (ch->state != WZP_RELAY_CHANNEL_UP || len == 0 ||
      len > WZP_CHANNEL_MAX_PAYLOAD)
    return FALSE;
  wzp_channel_write_header (packet, WZP_CHANNEL_MEDIA, ch->info.channel,
      ch->info.token);
  memcpy (packet + WZP_CHANNEL_HEADER_LEN, payload, len);
  if (!wzp_endpoint_send_udp (ch->endpoint, &ch->info.address, packet,
          WZP_CHANNEL_HEADER_LEN + len))
    return FALSE;
  ch->stats.sent++;
  *also_quic = FALSE;
  return TRUE;
}

static gboolean
token_ok (WzpRelayChannel * ch, const WzpChannelPacket * p)
{
  guint8 diff = 0;

  for (guint i = 0; i < WZP_CHANNEL_TOKEN_LEN; i++)
    diff |= ch->info.token[i] ^ p->token[i];
  return diff == 0;
}

const guint8 *
_wzp_relay_channel_receive (WzpRelayChannel * ch, const WzpChannelPacket * p,
    gsize * payload_len)
{
  guint64 now = wzp_clock_get_time (ch->clock);

  if (!token_ok (ch, p)) {
    ch->stats.rejected++;
    return NULL;
  }
  if (p->type == WZP_CHANNEL_MEDIA) {
    ch->stats.received++;
    ch->streak = ch->last_media && now - ch->last_media < QUIET ?
        ch->streak + 1 : 1;
    ch->last_media = now;
    if (ch->state == WZP_RELAY_CHANNEL_UP && ch->streak == FLOWING)
      schedule (ch);
    *payload_len = p->payload_len;
    return p->payload;
  }
  if (p->type != WZP_CHANNEL_BIND_ACK) {
    ch->stats.rejected++;
    return NULL;
  }
  ch->stats.acks++;
  if (ch->outstanding && p->nonce == ch->nonce) {
    guint64 sample = now - ch->bind_sent_at;
    ch->srtt = ch->stats.acks == 1 ? sample : (7 * ch->srtt + sample) / 8;
    ch->stats.rtt_ns = ch->srtt;
  }
  ch->outstanding = FALSE;
  ch->misses = 0;
  if (ch->state != WZP_RELAY_CHANNEL_UP) {
    set_state (ch, WZP_RELAY_CHANNEL_UP, now, "BIND answered: media on the "
        "channel");
    /* Tell the relay at once that we receive here. */
    send_bind (ch, now);
    ch->outstanding = FALSE;
  }
  ch->next_bind = now + KEEPALIVE;
  schedule (ch);
  return NULL;
}

void
_wzp_relay_channel_get_stats (WzpRelayChannel * ch,
    WzpRelayChannelStats * stats)
{
  *stats = ch->stats;
  stats->state = ch->state;
}
