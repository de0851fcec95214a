/* wzp-call-media-leg.h — the media leg of a call in a cluster (private)
 *
 * In a cluster (docs/CLUSTER.md) the relay node hosting a call or room
 * may not be the one we are registered at: then the relay says where it
 * is ("media-relay") and the call opens a media leg there, a second
 * connection from the same socket (a WzpSignalClient with "media-leg"
 * set) that carries only the media, and runs the call's relay media
 * channel at that node (docs/PROTOCOL.md, Part A §7).  This helper opens,
 * compares and closes such a leg, hands it the channel, and says which
 * connection carries relayed media; it calls nothing of WzpCall's but the
 * handlers it is given.
 */
#pragma once

#include "wzp-signal-client.h"
#include "wzp-endpoint.h"

G_BEGIN_DECLS

/* Called when the leg's connection is lost (it redials by itself). */
typedef void (*WzpCallMediaLegLost) (WzpSignalClient * leg, GError * reason,
    gpointer user_data);

/* A media leg to the relay node at @addr whose identity is @fingerprint,
 * started; its media go to @media, a lost connection to @lost (both with
 * @user_data, on the endpoint's context).  NULL with @error when it
 * cannot start. */
WzpSignalClient *_wzp_call_media_leg_open (WzpEndpoint * endpoint,
    GSocketAddress * addr, const char *fingerprint, guint64 reconnect_max,
    WzpSignalMediaFunc media, WzpCallMediaLegLost lost, gpointer user_data,
    GError ** error);

/* Stops the leg in *@leg, if any, and clears it; nothing of it calls
 * @user_data's handlers after this. */
void _wzp_call_media_leg_close (WzpSignalClient ** leg, gpointer user_data);

/* Whether @leg goes to the node at @addr with identity @fingerprint. */
gboolean _wzp_call_media_leg_goes_to (WzpSignalClient * leg,
    GSocketAddress * addr, const char *fingerprint);

/* The relay media channel @signal (our registration) got for call
 * @call_id on @call_channel is the hosting node's: @leg runs it (its
 * channel packets, its QUIC fallback, its re-binding all go to that
 * node).  Nothing without a leg or a channel. */
void _wzp_call_media_leg_take_channel (WzpSignalClient * leg,
    WzpSignalClient * signal, const char *call_id, guint32 call_channel);

/* Whose relay media channel the call's is: the leg's when there is one. */
WzpSignalClient *_wzp_call_media_leg_channel_owner (WzpSignalClient * leg,
    WzpSignalClient * signal);

/* The connection that carries relayed media now: the leg once it is up,
 * else @signal (until the leg is up, the relay we are registered at drops
 * what it does not host: nothing is lost that the leg would carry). */
WzpSignalClient *_wzp_call_media_leg_carrier (WzpSignalClient * leg,
    WzpSignalClient * signal);

G_END_DECLS
