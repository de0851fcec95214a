/* wzp — the client end of one relay media channel (private to lib/signal)
 *
 * A relayed call's media goes to the relay's media port as channel
 * packets (wzp-channel.h) when that works, and on the signaling
 * connection as QUIC datagrams when it does not.  This decides which,
 * from BINDs it sends to the relay and the BIND-ACKs that come back:
 *
 *   PROBING  BINDs every 200 ms; media on QUIC.  An ACK: UP.  None
 *            within a second: DOWN.
 *   UP       media on the channel; a BIND every second.  A BIND not
 *            answered in time, or the channel's media stopping after it
 *            flowed: SUSPECT.
 *   SUSPECT  media on both (the receiver's replay window drops the
 *            copy); BINDs every ack-wait.  The first unanswered one asks
 *            the relay, over signaling, to bind the channel again
 *            (channel-rebind: our NAT mapping may have changed, and the
 *            relay binds a channel only through signaling).  An ACK: UP.
 *            Three unanswered: DOWN.
 *   DOWN     media on QUIC; BINDs go on (every 200 ms, then every
 *            second), so a channel that works again is used again.
 *
 * ack-wait is three RTTs (from the ACKs; at first the signaling
 * connection's), at least 100 ms.  A plain struct with small functions,
 * driven by the signal client; it sends its own BINDs and calls nothing
 * back but @rebind.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-endpoint.h"
#include "wzp-channel.h"

G_BEGIN_DECLS

typedef struct _WzpRelayChannel WzpRelayChannel;

/* The channel wants the relay to bind it again (send channel-rebind). */
typedef void (*WzpRelayChannelRebindFunc) (WzpRelayChannel * ch,
    guint32 channel, gpointer user_data);

WzpRelayChannel *_wzp_relay_channel_new (WzpEndpoint * endpoint,
    const WzpChannelInfo * info, guint32 call_channel, guint64 rtt_ns,
    WzpRelayChannelRebindFunc rebind, gpointer user_data);
void _wzp_relay_channel_free (WzpRelayChannel * ch);

guint32 _wzp_relay_channel_get_call_channel (WzpRelayChannel * ch);
guint32 _wzp_relay_channel_get_channel (WzpRelayChannel * ch);
const WzpAddr *_wzp_relay_channel_get_address (WzpRelayChannel * ch);
WzpRelayChannelState _wzp_relay_channel_get_state (WzpRelayChannel * ch);

/* Media out: TRUE when sent on the channel; @also_quic is set when it
 * should go on the signaling connection too (or instead, if FALSE was
 * returned). */
gboolean _wzp_relay_channel_send (WzpRelayChannel * ch,
    const guint8 * payload, gsize len, gboolean * also_quic);

/* A channel packet from the relay's media address for this channel.
 * Returns the payload to deliver (MEDIA) or NULL (BIND-ACK, bad token). */
const guint8 *_wzp_relay_channel_receive (WzpRelayChannel * ch,
    const WzpChannelPacket * packet, gsize * payload_len);

void _wzp_relay_channel_get_stats (WzpRelayChannel * ch,
    WzpRelayChannelStats * stats);

G_END_DECLS
