/* wzp — the client side of signaling: registration with the relay,
 * reflexive address and NAT type, calls, rooms, relayed media
 *
 * A WzpSignalClient uses a WzpEndpoint the application owns: its one
 * socket carries the signaling connection, the NAT probes and, later, the
 * direct connection to a peer, so the address the relay observes is the
 * one a peer can reach.  It runs on the endpoint's GMainContext and clock
 * and emits its signals there.
 *
 * The signaling connection sends a keep-alive every second and counts as
 * lost after 3 s without a word from the relay (both settable), so a dead
 * relay is noticed within seconds; a relay that restarted answers the old
 * connection's next packet with a Stateless Reset, which is noticed at
 * once.  After the connection drops the client tells
 * #WzpSignalClient::connection-lost, reconnects with exponential backoff
 * and registers again.  A "superseded" error (the same identity
 * registered from somewhere else) stops it instead: two clients with one
 * identity must not take the registration from each other forever.  So
 * does a relay whose identity is not the pinned fingerprint, or a relay
 * that refuses our certificate: redialing cannot change either.
 *
 * Relays of a cluster (docs/CLUSTER.md): the client may know several
 * (wzp_signal_client_add_relay()), tried in the order given.  A lost
 * connection (or a dial that fails) moves on to the next one; a relay
 * that restarted (it reset the connection) is dialed again; a relay that
 * drains ("move", close code 0x103) names others and is left at once.  A
 * client with #WzpSignalClient:media-leg set is a media leg instead: a
 * second connection, to the relay node that hosts a call or room, that
 * carries only its media and is no registration.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include "wzp-version.h"
#include "wzp-endpoint.h"
#include "wzp-candidates.h"
#include "wzp-call-proof.h"
#include "wzp-channel.h"

G_BEGIN_DECLS

#define WZP_SIGNAL_DEFAULT_RECONNECT_INITIAL (100 * WZP_NSEC_PER_MSEC)
#define WZP_SIGNAL_DEFAULT_RECONNECT_MAX (5 * WZP_NSEC_PER_SEC)
/* A PING after a second of silence, and the connection is lost after 3 s
 * without hearing from the relay.  QUIC uses the smaller idle timeout of
 * both ends, so the relay also gives up on us after 3 s: that is how it
 * learns that a party died and tells the other one ("peer-gone").  On a
 * direct call the relay's timer starts when it first forwards the
 * survivor's media to the dead party (after the survivor's ~1 s
 * failover), so the survivor learns it within about 4 s. */
#define WZP_SIGNAL_DEFAULT_KEEP_ALIVE (1 * WZP_NSEC_PER_SEC)
#define WZP_SIGNAL_DEFAULT_IDLE_TIMEOUT (3 * WZP_NSEC_PER_SEC)
/* One dial gives up after this; the next one follows the backoff, so a
 * relay that comes back is found within about this long. */
#define WZP_SIGNAL_HANDSHAKE_TIMEOUT (3 * WZP_NSEC_PER_SEC)
/* Relays a client keeps (given, and learnt from draining relays). */
#define WZP_SIGNAL_MAX_RELAYS 32

#define WZP_SIGNAL_ERROR (wzp_signal_error_quark ())
GQuark wzp_signal_error_quark (void);

/**
 * WzpSignalError:
 * @WZP_SIGNAL_ERROR_NOT_REGISTERED: the operation needs a registration
 * @WZP_SIGNAL_ERROR_SUPERSEDED: our identity registered from another
 *   connection; the client stopped
 * @WZP_SIGNAL_ERROR_REFUSED: the relay refused our registration
 *   ("bad-signature", "identity-mismatch"); the client stopped
 * @WZP_SIGNAL_ERROR_RELAY: the relay answered a request with an error;
 *   the message starts with the relay's code ("unknown-call: ...")
 * @WZP_SIGNAL_ERROR_PROTOCOL: the relay sent something invalid
 * @WZP_SIGNAL_ERROR_INVALID_ARGUMENT: bad argument (not a fingerprint,
 *   object too large...)
 * @WZP_SIGNAL_ERROR_NO_PROBE: the relay has no probe address
 * @WZP_SIGNAL_ERROR_TIMEOUT: no probe result in time
 * @WZP_SIGNAL_ERROR_RELAY_IDENTITY: the relay's identity is not the
 *   pinned relay fingerprint (the message names both), or its
 *   certificate is unacceptable; the client stopped
 * @WZP_SIGNAL_ERROR_CONNECTION_LOST: the connection to the relay was lost
 *   (in #WzpSignalClient::connection-lost only); the client reconnects
 */
typedef enum
{
  WZP_SIGNAL_ERROR_NOT_REGISTERED,
  WZP_SIGNAL_ERROR_SUPERSEDED,
  WZP_SIGNAL_ERROR_REFUSED,
  WZP_SIGNAL_ERROR_RELAY,
  WZP_SIGNAL_ERROR_PROTOCOL,
  WZP_SIGNAL_ERROR_INVALID_ARGUMENT,
  WZP_SIGNAL_ERROR_NO_PROBE,
  WZP_SIGNAL_ERROR_TIMEOUT,
  WZP_SIGNAL_ERROR_RELAY_IDENTITY,
  WZP_SIGNAL_ERROR_CONNECTION_LOST,
} WzpSignalError;

typedef enum
{
  WZP_SIGNAL_STATE_DISCONNECTED,
  WZP_SIGNAL_STATE_CONNECTING,
  WZP_SIGNAL_STATE_REGISTERED,
} WzpSignalState;

/* WzpNatType lives in wzp-candidates.h. */

GType wzp_signal_state_get_type (void);
#define WZP_TYPE_SIGNAL_STATE (wzp_signal_state_get_type ())

const char *wzp_signal_state_to_string (WzpSignalState state);

/**
 * WzpCallSetup:
 * @call_id: the call
 * @peer_fingerprint: the other party
 * @peer_public_key: its Ed25519 public key (32 bytes)
 * @peer_blob: its opaque object: the callee gets the caller's offer, the
 *   caller gets the callee's answer
 * @peer_reflexive: (nullable): the address the relay sees for the peer
 * @channel: the relay media channel of this call
 * @role: "caller" or "callee" (our role)
 * @peer_nat: the peer's NAT mapping as the relay learnt it from the peer's
 *   NAT probe; %WZP_NAT_TYPE_UNKNOWN before that probe arrived or from a
 *   relay that does not say
 *
 * What #WzpSignalClient::call-setup carries.
 */
typedef struct
{
  char *call_id;
  char *peer_fingerprint;
  GBytes *peer_public_key;
  JsonObject *peer_blob;
  GSocketAddress *peer_reflexive;
  guint32 channel;
  char *role;
  WzpNatType peer_nat;
} WzpCallSetup;

GType wzp_call_setup_get_type (void);
#define WZP_TYPE_CALL_SETUP (wzp_call_setup_get_type ())
WzpCallSetup *wzp_call_setup_copy (const WzpCallSetup * setup);
void wzp_call_setup_free (WzpCallSetup * setup);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpCallSetup, wzp_call_setup_free)

#define WZP_TYPE_SIGNAL_CLIENT (wzp_signal_client_get_type ())
G_DECLARE_FINAL_TYPE (WzpSignalClient, wzp_signal_client, WZP, SIGNAL_CLIENT,
    GObject)

/**
 * WzpSignalMediaFunc:
 * @channel: the relay channel it arrived on
 * @data: the payload after the 5-byte relay header, valid only during
 *   the call
 *
 * Receives relayed media.  Runs inside packet processing: it may send,
 * but must not stop or unref the client.
 */
typedef void (*WzpSignalMediaFunc) (WzpSignalClient * client,
    guint32 channel, const guint8 * data, gsize len, gpointer user_data);

WzpSignalClient *wzp_signal_client_new (WzpEndpoint * endpoint,
    GSocketAddress * relay, const char *relay_fingerprint);

void wzp_signal_client_add_relay (WzpSignalClient * self,
    GSocketAddress * relay);

guint wzp_signal_client_get_n_relays (WzpSignalClient * self);

gboolean wzp_signal_client_start (WzpSignalClient * self, GError ** error);

void wzp_signal_client_stop (WzpSignalClient * self);

WzpSignalState wzp_signal_client_get_state (WzpSignalClient * self);

GSocketAddress *wzp_signal_client_get_observed_address (WzpSignalClient *
    self);

WzpNatType wzp_signal_client_get_nat_type (WzpSignalClient * self);

WzpConnection *wzp_signal_client_get_connection (WzpSignalClient * self);

const char *wzp_signal_client_get_relay_fingerprint (WzpSignalClient * self);

gboolean wzp_signal_client_reflect (WzpSignalClient * self, GError ** error);

gboolean wzp_signal_client_probe_nat (WzpSignalClient * self,
    GError ** error);

char *wzp_signal_client_place_call (WzpSignalClient * self,
    const char *callee_fingerprint, const char *call_id, JsonObject * offer,
    GError ** error);

gboolean wzp_signal_client_answer (WzpSignalClient * self,
    const char *call_id, JsonObject * answer, GError ** error);

gboolean wzp_signal_client_reject (WzpSignalClient * self,
    const char *call_id, GError ** error);

gboolean wzp_signal_client_hangup (WzpSignalClient * self,
    const char *call_id, GError ** error);

gboolean wzp_signal_client_update_candidates (WzpSignalClient * self,
    const char *call_id, const char *const *candidates, WzpNatType nat,
    GError ** error);

gboolean wzp_signal_client_resume_call (WzpSignalClient * self,
    const char *peer, const guint8 * peer_public_key, gboolean we_called,
    const WzpCallProof * proof, GError ** error);

gboolean wzp_signal_client_join_room (WzpSignalClient * self,
    const char *room, JsonObject * key_blob, GError ** error);

gboolean wzp_signal_client_leave_room (WzpSignalClient * self,
    const char *room, GError ** error);

gboolean wzp_signal_client_send_room_message (WzpSignalClient * self,
    const char *room, const char *to, JsonObject * body, GError ** error);

gboolean wzp_signal_client_send_media (WzpSignalClient * self,
    guint32 channel, const guint8 * data, gsize len);

gboolean wzp_signal_client_get_channel (WzpSignalClient * self,
    guint32 call_channel, WzpChannelInfo * info);

void wzp_signal_client_get_channel_stats (WzpSignalClient * self,
    guint32 call_channel, WzpRelayChannelStats * stats);

void wzp_signal_client_take_channel (WzpSignalClient * self,
    const char *call_id, guint32 call_channel, const WzpChannelInfo * info);

void wzp_signal_client_set_media_handler (WzpSignalClient * self,
    WzpSignalMediaFunc func, gpointer user_data, GDestroyNotify notify);

G_END_DECLS
