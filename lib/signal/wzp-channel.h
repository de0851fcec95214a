/* wzp — relay media channels: the channel packet and the "media" object
 *
 * Media that the relay forwards is already sealed end to end, so between
 * a client and the relay it travels outside QUIC, in the spirit of TURN's
 * ChannelData (RFC 8656 §12.4): a 13-byte header that names the client's
 * channel (its half of a call at the relay) and carries the channel's
 * secret token, then the sealed media packet.  The relay forwards it with
 * one table lookup and no cryptography, to a dedicated UDP port of its
 * own ("media port"; QUIC never arrives there).  A client tells channel
 * packets from everything else on its one socket by their source: they
 * come from the relay's media address, which no QUIC peer and no punching
 * peer can have (docs/PROTOCOL.md, Part A §7).
 *
 * call-setup and call-resumed carry the channel in a "media" object:
 * {"addr": "ip:port", "channel": u32, "token": b64(8 bytes)}.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "wzp-version.h"
#include "wzp-address.h"
#include "wzp-relay-channel-state.h"

G_BEGIN_DECLS

/* First byte: in 0x40..0x4F, where RFC 9443 puts TURN channels. */
#define WZP_CHANNEL_MEDIA 0x40
#define WZP_CHANNEL_BIND 0x41
#define WZP_CHANNEL_BIND_ACK 0x42

#define WZP_CHANNEL_TOKEN_LEN 8
/* type (1) + channel (u32) + token (8) */
#define WZP_CHANNEL_HEADER_LEN 13
/* header + flags (1) + nonce (u32) */
#define WZP_CHANNEL_BIND_LEN 18
/* The largest sealed media packet (Part C §2: 14 + 1200 + 16) with room
 * to spare; anything longer is not ours. */
#define WZP_CHANNEL_MAX_PAYLOAD 1240
#define WZP_CHANNEL_MAX_LEN (WZP_CHANNEL_HEADER_LEN + WZP_CHANNEL_MAX_PAYLOAD)

/* BIND flag: the sender receives channel packets (it has seen a
 * BIND-ACK), so the relay may deliver media to it on the channel. */
#define WZP_CHANNEL_FLAG_RECEIVING 0x01

/**
 * WzpChannelPacket:
 * @type: %WZP_CHANNEL_MEDIA, %WZP_CHANNEL_BIND or %WZP_CHANNEL_BIND_ACK
 * @channel: the channel it names
 * @token: the channel's secret
 * @payload: MEDIA: the sealed media packet (points into the parsed data)
 * @flags: BIND, BIND-ACK: %WZP_CHANNEL_FLAG_RECEIVING
 * @nonce: BIND: chosen by the sender; BIND-ACK: echoed
 */
typedef struct
{
  guint8 type;
  guint32 channel;
  guint8 token[WZP_CHANNEL_TOKEN_LEN];
  const guint8 *payload;
  gsize payload_len;
  guint8 flags;
  guint32 nonce;
} WzpChannelPacket;

gboolean wzp_channel_packet_parse (const guint8 * data, gsize len,
    WzpChannelPacket * packet);

void wzp_channel_write_header (guint8 out[WZP_CHANNEL_HEADER_LEN],
    guint8 type, guint32 channel, const guint8 token[WZP_CHANNEL_TOKEN_LEN]);

gsize wzp_channel_write_bind (guint8 out[WZP_CHANNEL_BIND_LEN], guint8 type,
    guint32 channel, const guint8 token[WZP_CHANNEL_TOKEN_LEN], guint8 flags,
    guint32 nonce);

/**
 * WzpChannelInfo:
 * @address: where the client sends channel packets (the relay's media
 *   address; a host of 0.0.0.0 or :: means the relay's own host)
 * @channel: the client's channel
 * @token: its secret
 *
 * The "media" object of call-setup and call-resumed.
 */
typedef struct
{
  WzpAddr address;
  guint32 channel;
  guint8 token[WZP_CHANNEL_TOKEN_LEN];
} WzpChannelInfo;

/**
 * WzpRelayChannelStats:
 * @state: where media goes now
 * @sent: media packets sent on the channel
 * @received: media packets received on it
 * @binds: BINDs sent
 * @acks: BIND-ACKs received
 * @rejected: packets for our channel with a wrong token
 * @rebinds: channel-rebind requests sent
 * @downs: times the channel stopped working
 * @rtt_ns: round-trip time to the relay's media port (smoothed)
 */
typedef struct
{
  WzpRelayChannelState state;
  guint64 sent;
  guint64 received;
  guint64 binds;
  guint64 acks;
  guint64 rejected;
  guint64 rebinds;
  guint64 downs;
  guint64 rtt_ns;
  /*< private > */
  guint64 padding[4];
} WzpRelayChannelStats;

void wzp_message_set_channel (JsonObject * msg, const char *address,
    guint32 channel, const guint8 token[WZP_CHANNEL_TOKEN_LEN]);

JsonObject *wzp_message_new_channel_rebind (guint32 channel);

gboolean wzp_message_get_channel (JsonObject * msg, WzpChannelInfo * info,
    gboolean * present, GError ** error);

G_END_DECLS
