/* wzp — the client side of signaling: what its files share (internal)
 *
 * WzpSignalClient is split over wzp-signal-client.c (the object,
 * connection lifecycle and reconnect, public API) and
 * wzp-signal-client-handlers.c (the NAT probe and incoming messages).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-signal-client.h"
#include "wzp-message.h"
#include "wzp-channel.h"

G_BEGIN_DECLS

/* What the channels do when one stops answering: ask the relay, over the
 * signaling connection, to bind it again.  Given by the core, so that the
 * channels never call back into it. */
typedef void (*WzpChannelRebindFunc) (WzpSignalClient * self,
    guint32 channel);

struct _WzpSignalClient
{
  GObject parent;

  WzpEndpoint *endpoint;
  GSocketAddress *relay;        /* the one we dial: relays[relay_index] */
  GPtrArray *relays;            /* of GSocketAddress, in the order to try */
  guint relay_index;
  char *relay_fingerprint;
  gboolean media_leg;
  WzpIdentity *identity;        /* NULL: the endpoint's */
  guint64 reconnect_initial;
  guint64 reconnect_max;
  guint64 keep_alive;
  guint64 idle_timeout;

  gboolean started;
  WzpSignalState state;
  WzpConnection *conn;
  gulong message_id;
  gulong closed_id;
  gulong connected_id;
  gboolean register_sent;       /* on this connection */
  guint32 next_req;
  GSource *reconnect_timer;
  /* How long the relay has been silent (see watch_silence()). */
  GSource *silence_timer;
  WzpConnectionSilence silence;
  guint64 backoff;
  /* The last signaling connection's smoothed RTT (0: none yet): the next
   * handshake assumes it, so its lost packets are resent in time. */
  guint64 relay_rtt;

  GSocketAddress *observed;
  GSocketAddress *probe_address;
  WzpNatType nat_type;
  guint8 probe_token[WZP_PROBE_TOKEN_LEN];
  gboolean probing;
  guint probe_attempts;
  guint64 probe_started;
  GSource *probe_timer;

  WzpSignalMediaFunc media_func;
  gpointer media_data;
  GDestroyNotify media_notify;

  /* Relay media channels (wzp-signal-client-channels.c). */
  gboolean use_channels;
  GPtrArray *channels;
  WzpChannelRebindFunc rebind_func;  /* asks the relay to bind again */
  GArray *media_sources;
};

enum
{
  PROP_0,
  PROP_ENDPOINT,
  PROP_RELAY_ADDRESS,
  PROP_RELAY_FINGERPRINT,
  PROP_STATE,
  PROP_NAT_TYPE,
  PROP_OBSERVED_ADDRESS,
  PROP_RECONNECT_INITIAL,
  PROP_RECONNECT_MAX,
  PROP_IDENTITY,
  PROP_KEEP_ALIVE,
  PROP_IDLE_TIMEOUT,
  PROP_MEDIA_LEG,
  PROP_RELAY_CHANNELS,
  N_PROPS
};

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_REGISTERED,
  SIGNAL_REGISTRATION_SENT,
  SIGNAL_CALL_RINGING,
  SIGNAL_INCOMING_CALL,
  SIGNAL_CALL_SETUP,
  SIGNAL_CALL_ENDED,
  SIGNAL_ROOM_JOINED,
  SIGNAL_ROOM_LEFT,
  SIGNAL_ROOM_UPDATE,
  SIGNAL_ROOM_MESSAGE,
  SIGNAL_PEER_CANDIDATES,
  SIGNAL_ERROR,
  SIGNAL_CONNECTION_LOST,
  SIGNAL_CALL_RESUMED,
  SIGNAL_MEDIA_RELAY,
  N_SIGNALS
};

extern GParamSpec *_wzp_signal_client_props[N_PROPS];
extern guint _wzp_signal_client_signals[N_SIGNALS];

/* wzp-signal-client.c */
WzpClock *_wzp_signal_client_get_clock (WzpSignalClient * self);
void _wzp_signal_client_set_state (WzpSignalClient * self,
    WzpSignalState state);
void _wzp_signal_client_emit_error (WzpSignalClient * self, GError * error);
gboolean _wzp_signal_client_send_msg (WzpSignalClient * self,
    JsonObject * msg, gboolean need_registered, GError ** error);
void _wzp_signal_client_cancel_timer (GSource ** timer);
void _wzp_signal_client_give_up (WzpSignalClient * self,
    WzpSignalError code, const char *message);
/* A draining relay named other relays: try them next. */
void _wzp_signal_client_insert_relays (WzpSignalClient * self,
    GPtrArray * addresses);

/* wzp-signal-client-channels.c */

void _wzp_signal_client_channels_init (WzpSignalClient * self,
    WzpChannelRebindFunc rebind);
void _wzp_signal_client_channels_clear (WzpSignalClient * self);
void _wzp_signal_client_channels_free (WzpSignalClient * self);
void _wzp_signal_client_channel_set (WzpSignalClient * self,
    const char *call_id, guint32 call_channel, JsonObject * msg);
void _wzp_signal_client_channel_end (WzpSignalClient * self,
    const char *call_id);
gboolean _wzp_signal_client_channel_send (WzpSignalClient * self,
    guint32 call_channel, const guint8 * data, gsize len, gboolean * sent);

/* wzp-signal-client-handlers.c */
void _wzp_signal_client_on_message (WzpConnection * conn, GBytes * bytes,
    gpointer user_data);
void _wzp_signal_client_on_datagram (WzpConnection * conn,
    const guint8 * data, gsize len, gpointer user_data);

G_END_DECLS
