/* wzp-relay-channel-state.h — where a call's relayed media goes
 *
 * Public (in <wzp/wzp.h>): #WzpCallStats reports it.  The channel itself
 * is internal (wzp-channel.h, wzp-relay-channel.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

/**
 * WzpRelayChannelState:
 * @WZP_RELAY_CHANNEL_OFF: no channel (the relay offered none, or the
 *   client does not use them): media on the signaling connection
 * @WZP_RELAY_CHANNEL_PROBING: waiting for the first BIND-ACK; media on
 *   the signaling connection meanwhile
 * @WZP_RELAY_CHANNEL_UP: media on the channel
 * @WZP_RELAY_CHANNEL_SUSPECT: the channel stopped answering; media on the
 *   signaling connection while it is probed (and re-bound)
 * @WZP_RELAY_CHANNEL_DOWN: the channel does not work: media on the
 *   signaling connection; probed every second
 *
 * Where a call's relayed media goes: on the relay's media channel (sealed
 * frames in channel packets, docs/PROTOCOL.md, Part A §7) or inside the
 * QUIC signaling connection.
 */
typedef enum
{
  WZP_RELAY_CHANNEL_OFF,
  WZP_RELAY_CHANNEL_PROBING,
  WZP_RELAY_CHANNEL_UP,
  WZP_RELAY_CHANNEL_SUSPECT,
  WZP_RELAY_CHANNEL_DOWN,
} WzpRelayChannelState;

#define WZP_TYPE_RELAY_CHANNEL_STATE (wzp_relay_channel_state_get_type ())
WZP_API GType wzp_relay_channel_state_get_type (void);

WZP_API const char *wzp_relay_channel_state_to_string (WzpRelayChannelState
    state);

G_END_DECLS
