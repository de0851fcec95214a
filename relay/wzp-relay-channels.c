/* wzp — the relay's media channels, seen from the control thread
 *
 * A set-up call gets two legs on the media plane (wzp-relay-legs.h), one
 * per party: a channel number and a fresh random token each, told to the
 * party (and only to it) in the "media" object of its call-setup or
 * call-resumed over its authenticated signaling connection.  A leg may
 * latch only to a source with the IP of its party's signaling
 * connection, and is unlatched again only through signaling: when the
 * party asks (channel-rebind, after its NAT mapping changed or its
 * channel stopped working) or resumes the call from a new connection.
 *
 * The QUIC-datagram path stays: a party whose channel does not work sends
 * and receives its media on the signaling connection, and the other party
 * may still use its channel.  This file moves media between the two: a
 * packet a worker could not deliver on a channel arrives here and leaves
 * as a QUIC datagram, and a QUIC datagram for a party whose channel works
 * leaves on the channel.
 *
 * In a cluster (docs/CLUSTER.md) a party registered at another node has
 * no signaling connection here: its media leg to this node (the home of
 * the call) stands in for it.  Its leg latches from the IP of that leg,
 * its QUIC fallback is that leg, and it asks to re-bind over that leg.
 * A party of another node without a leg here yet gets no channel: the
 * call's channels open once the leg is there (the setup waits for it;
 * a call carried again before the leg came gets them when it comes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-random.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

static gboolean
client_address (RelayClient * c, WzpAddr * addr)
{
  g_autoptr (GSocketAddress) remote = c && c->conn ?
      wzp_connection_get_remote_address (c->conn) : NULL;

  return remote && wzp_addr_from_gsocketaddress (addr, remote);
}

/* The address a party's channel may latch from: its signaling
 * connection's here, else its media leg's. */
static gboolean
party_address (WzpRelay * self, const char *fp, WzpAddr * addr)
{
  return client_address (_wzp_relay_media_target (self, fp), addr);
}

/* Opens the two legs of @call (caller's, callee's), closing any it had:
 * a call carried again gets new tokens.  FALSE when it has none (no media
 * port, or a party has no connection here yet). */
gboolean
_wzp_relay_channels_open (WzpRelay * self, RelayCall * call)
{
  const char *parties[2] = { call->caller, call->callee };

  _wzp_relay_channels_close (self, call);
  if (self->media == NULL)
    return FALSE;
  for (guint i = 0; i < 2; i++) {
    guint8 token[WZP_CHANNEL_TOKEN_LEN];
    WzpAddr addr;

    if (!party_address (self, parties[i], &addr))
      goto fail;
    wzp_random_bytes (token, sizeof token);
    call->legs[i] = relay_legs_open (self->legs, token, &addr);
    memset (token, 0, sizeof token);
    if (call->legs[i] == 0)
      goto fail;
    g_hash_table_insert (self->leg_calls, GUINT_TO_POINTER (call->legs[i]),
        call);
  }
  relay_legs_pair (self->legs, call->legs[0], call->legs[1]);
  WZP_DEBUG_OBJECT (self, "call %s: media channels %u (caller) and %u "
      "(callee)", call->id, call->legs[0], call->legs[1]);
  return TRUE;

fail:
  WZP_INFO_OBJECT (self, "call %s: no media channels (the table is full, "
      "or a party has no connection here yet): QUIC datagrams for now",
      call->id);
  _wzp_relay_channels_close (self, call);
  return FALSE;
}

void
_wzp_relay_channels_close (WzpRelay * self, RelayCall * call)
{
  for (guint i = 0; i < 2; i++) {
    if (call->legs[i] == 0)
      continue;
    g_hash_table_remove (self->leg_calls, GUINT_TO_POINTER (call->legs[i]));
    relay_legs_close (self->legs, call->legs[i]);
    call->legs[i] = 0;
  }
}

/* Adds @party's "media" object (0 caller, 1 callee) to @msg, a call-setup
 * or call-resumed for it. */
void
_wzp_relay_channels_describe (WzpRelay * self, RelayCall * call,
    guint party, JsonObject * msg)
{
  RelayLegSnapshot leg;

  if (self->media == NULL || call->legs[party] == 0 ||
      !relay_legs_read (self->legs, call->legs[party], &leg))
    return;
  wzp_message_set_channel (msg, self->media_advertised, call->legs[party],
      leg.token);
  memset (&leg, 0, sizeof leg);
}

/* @party of @call (0 caller, 1 callee) comes from another connection now
 * (its registration here, or its media leg): its leg latches again, from
 * that connection's IP. */
void
_wzp_relay_channels_rebind (WzpRelay * self, RelayCall * call, guint party)
{
  WzpAddr addr;

  if (call->legs[party] == 0 || !party_address (self, party ? call->callee :
          call->caller, &addr))
    return;
  relay_legs_rebind (self->legs, call->legs[party], &addr);
}

/* channel-rebind {channel}: the party's channel stopped working (its NAT
 * mapping may have changed); its next valid packet from the IP of this
 * (authenticated) connection binds it again.  Only the leg's own party
 * may ask (on its registration, or on its media leg to this node); any
 * other channel looks like no channel. */
void
_wzp_relay_handle_channel_rebind (WzpRelay * self, RelayClient * c,
    JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  guint64 channel;
  RelayCall *call;
  guint party;
  char text[WZP_ADDR_STRLEN];
  WzpAddr addr;

  if (!wzp_message_get_uint (msg, "channel", TRUE, G_MAXUINT32, &channel,
          &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  call = g_hash_table_lookup (self->leg_calls, GUINT_TO_POINTER (channel));
  party = call && call->legs[1] == channel ? 1 : 0;
  if (call == NULL || call->legs[party] != channel ||
      !wzp_fingerprint_equal (party ? call->callee : call->caller, c->fp) ||
      !client_address (c, &addr)) {
    _wzp_relay_send_error (self, c, "unknown-channel", "no such channel", msg);
    return;
  }
  relay_legs_rebind (self->legs, (guint32) channel, &addr);
  self->media_rebinds++;
  WZP_INFO_OBJECT (self, "call %s: %s re-binds its media channel %u (from "
      "%s)", call->id, c->fp, (guint) channel, wzp_addr_to_string (&addr,
          text));
}

/* The party of leg @to receives on its signaling connection
 * (RelayMediaFallbackFunc; the control thread). */
void
_wzp_relay_channels_fallback (guint32 to, guint32 gen, const guint8 * payload,
    gsize len, gpointer user_data)
{
  WzpRelay *self = user_data;
  RelayCall *call = g_hash_table_lookup (self->leg_calls,
      GUINT_TO_POINTER (to));
  guint8 datagram[WZP_RELAY_MEDIA_HEADER_LEN + WZP_CHANNEL_MAX_PAYLOAD];
  RelayClient *c;
  guint32 be;

  if (call == NULL || relay_legs_gen (self->legs, to) != gen ||
      call->state != CALL_ACTIVE || len > WZP_CHANNEL_MAX_PAYLOAD) {
    self->stats.datagrams_dropped++;
    return;
  }
  c = _wzp_relay_media_target (self, call->legs[0] == to ? call->caller :
      call->callee);
  if (c == NULL) {
    self->stats.datagrams_dropped++;
    return;
  }
  datagram[0] = WZP_RELAY_MEDIA_TYPE;
  be = GUINT32_TO_BE (call->channel.id);
  memcpy (datagram + 1, &be, sizeof be);
  memcpy (datagram + WZP_RELAY_MEDIA_HEADER_LEN, payload, len);
  if (wzp_connection_send_datagram (c->conn, datagram,
          WZP_RELAY_MEDIA_HEADER_LEN + len)) {
    self->stats.datagrams_forwarded++;
    self->stats.bytes_forwarded += WZP_RELAY_MEDIA_HEADER_LEN + len;
  } else {
    self->stats.datagrams_dropped++;
  }
}

/* A QUIC media datagram ([0x10][channel][payload]) for @party of @call:
 * TRUE when it went out on the party's channel instead. */
gboolean
_wzp_relay_channels_deliver (WzpRelay * self, RelayCall * call, guint party,
    const guint8 * data, gsize len)
{
  if (self->media == NULL || call->legs[party] == 0 ||
      len <= WZP_RELAY_MEDIA_HEADER_LEN)
    return FALSE;
  return relay_media_deliver (self->media, call->legs[party],
      data + WZP_RELAY_MEDIA_HEADER_LEN, len - WZP_RELAY_MEDIA_HEADER_LEN);
}
