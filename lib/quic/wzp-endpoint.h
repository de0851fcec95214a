/* wzp — a QUIC endpoint: one UDP socket per address family, client and
 * server at once
 *
 * One socket carries everything a client does: its signaling connection
 * to the relay, reflexive-address probes, and the direct connection to a
 * peer, whether it dials or accepts.  That is what makes the address the
 * relay observes the address a peer can reach.  Incoming packets go to
 * their connection by destination connection ID; unknown Initials go to
 * the accept path; packets too short to be QUIC (hole-punch packets, at
 * most %WZP_RAW_PACKET_MAX_LEN bytes) go to the raw handler.
 *
 * The endpoint runs on the GMainContext given at construction, which the
 * caller iterates (libnice's rule); every method must be called from the
 * thread that owns it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"
#include "wzp-address.h"
#include "wzp-clock.h"
#include "wzp-connection.h"
#include "wzp-identity-private.h"

G_BEGIN_DECLS

/* Defaults, chosen for voice calls through consumer NATs. */
#define WZP_DEFAULT_IDLE_TIMEOUT (30 * WZP_NSEC_PER_SEC)
/* Linux conntrack forgets an unanswered UDP flow after 30 s; many home
 * routers after 30-60 s.  A PING every 5 s keeps every binding warm. */
#define WZP_DEFAULT_KEEP_ALIVE (5 * WZP_NSEC_PER_SEC)
#define WZP_DEFAULT_HANDSHAKE_TIMEOUT (10 * WZP_NSEC_PER_SEC)
#define WZP_DEFAULT_MAX_MESSAGE_SIZE (64 * 1024)
#define WZP_DEFAULT_MAX_CONNECTIONS 20000
/* Admission limits for incoming connections; docs/RELAY.md gives the
 * reasoning behind each default. */
#define WZP_DEFAULT_MAX_CONNECTIONS_PER_SOURCE 256
#define WZP_DEFAULT_MAX_HALF_OPEN 1000
#define WZP_DEFAULT_MAX_HALF_OPEN_PER_SOURCE 32
#define WZP_DEFAULT_RETRY_THRESHOLD 64
#define WZP_DEFAULT_RETRY_THRESHOLD_PER_SOURCE 8
/* How long a Retry token stays valid: as long as the client may keep
 * resending the Initial that carries it (the default handshake
 * timeout). */
#define WZP_RETRY_TOKEN_LIFETIME (10 * WZP_NSEC_PER_SEC)
/* The RTT a handshake assumes before its first sample.  A lost
 * handshake packet is resent after a probe timeout of 3x this (then 2x,
 * 4x ... longer): with QUIC's suggested 333 ms, one lost packet cost a
 * registration a second, two lost cost three.  100 ms (Chromium's choice)
 * resends after 300 ms; a path slower than that resends a packet it did
 * not need to, once, which costs 1200 bytes. */
#define WZP_DEFAULT_INITIAL_RTT (100 * WZP_NSEC_PER_MSEC)
/* ngtcp2's own default: acknowledge every second ack-eliciting packet. */
#define WZP_DEFAULT_ACK_THRESHOLD 2

/**
 * WzpConnectParams:
 * @expected_fingerprint: (nullable): the peer must present this identity,
 *   or the handshake fails; %NULL accepts any peer and reports its
 *   fingerprint (trust on first use)
 * @idle_timeout_ns: 0 for the endpoint's default
 * @keep_alive_ns: 0 for the endpoint's default, %WZP_TIME_NONE for none
 * @handshake_timeout_ns: 0 for the endpoint's default
 * @initial_rtt_ns: the RTT to assume before the first sample; 0 for the
 *   endpoint's #WzpEndpoint:initial-rtt.  A good guess (say, the RTT
 *   measured the last time) shortens retransmission of lost handshake
 *   packets.
 * @alpn: (nullable): %NULL for "wzp"; only tests use another
 * @identity: (nullable): present this identity instead of the endpoint's
 *   (one socket carrying many identities, e.g. a load generator); %NULL
 *   for the endpoint's.  Costs a TLS credential set per connection.
 *
 * Use wzp_connect_params_init() and then set what you need.
 */
typedef struct
{
  const char *expected_fingerprint;
  guint64 idle_timeout_ns;
  guint64 keep_alive_ns;
  guint64 handshake_timeout_ns;
  guint64 initial_rtt_ns;
  const char *alpn;
  WzpIdentity *identity;
  /*< private > */
  gpointer padding[3];
} WzpConnectParams;

/**
 * WzpRetryMode:
 * @WZP_RETRY_NEVER: never send Retry; every new client Initial gets
 *   connection state (within the limits)
 * @WZP_RETRY_AUTO: send a stateless Retry to a client without a token
 *   while the half-open handshakes, from all sources
 *   (#WzpEndpoint:retry-threshold) or from the client's source
 *   (#WzpEndpoint:retry-threshold-per-source), are at their threshold
 * @WZP_RETRY_ALWAYS: validate every client's address with a Retry first
 *
 * Address validation for incoming connections (RFC 9000 §8.1.2).  A
 * client must echo the Retry's token from the address it was sent to, so
 * a spoofed source never gets connection state, and the relay answers it
 * with one small packet instead of up to three times its Initial.  It
 * costs a legitimate client one round trip, so by default it is only used
 * under load.
 */
typedef enum
{
  WZP_RETRY_NEVER,
  WZP_RETRY_AUTO,
  WZP_RETRY_ALWAYS,
} WzpRetryMode;

#define WZP_TYPE_RETRY_MODE (wzp_retry_mode_get_type ())
GType wzp_retry_mode_get_type (void);

const char *wzp_retry_mode_to_string (WzpRetryMode mode);

gboolean wzp_retry_mode_from_string (const char *text, WzpRetryMode * mode);

/**
 * WZP_RAW_PACKET_MAX_LEN:
 *
 * UDP payloads up to this length are not QUIC.  Every QUIC packet sent to
 * one of our endpoints carries a 16-byte destination connection ID and
 * header protection samples 16 bytes starting 4 bytes after the packet
 * number offset, so it is at least 37 bytes long (a client Initial is at
 * least 1200).  The QUIC fixed bit cannot tell them apart: ngtcp2 0.12
 * always advertises grease_quic_bit, so peers clear it at random.
 */
#define WZP_RAW_PACKET_MAX_LEN 24

/**
 * WzpRawPacketFunc:
 *
 * Receives UDP payloads that are not QUIC (at most
 * %WZP_RAW_PACKET_MAX_LEN bytes).  @data is valid only during the call.
 */
typedef void (*WzpRawPacketFunc) (WzpEndpoint * endpoint,
    const WzpAddr * from, const guint8 * data, gsize len, gpointer user_data);

/**
 * WzpSourcePacketFunc:
 *
 * Receives every UDP payload from the one source address it was added
 * for (wzp_endpoint_add_source_handler()), before anything looks at it as
 * QUIC or raw: a relay's media port, whose channel packets are neither.
 * @data is valid only during the call.
 */
typedef void (*WzpSourcePacketFunc) (WzpEndpoint * endpoint,
    const WzpAddr * from, const guint8 * data, gsize len, gpointer user_data);

typedef struct
{
  guint64 packets_received;
  guint64 packets_sent;
  guint64 bytes_received;
  guint64 bytes_sent;
  guint64 dropped_not_quic;     /* not QUIC and no raw handler */
  guint64 dropped_unknown;      /* QUIC for no connection we know */
  guint64 dropped_invalid;      /* could not parse */
  guint64 send_failures;        /* socket would block or failed: dropped */
  guint64 connections_accepted;
  guint64 connections_refused;
  guint64 version_negotiations;
  guint64 connections_open;
  /* Admission of new connections (see WzpRetryMode and the max-*
   * properties).  Each refusal also counts in connections_refused. */
  guint64 handshakes_in_progress;       /* gauge: accepted, not done */
  guint64 retries_sent;         /* stateless Retry packets */
  guint64 invalid_tokens;       /* Initials with a bad or expired token */
  guint64 refused_max_connections;
  guint64 refused_connections_per_source;
  guint64 refused_max_half_open;
  guint64 refused_half_open_per_source;
  guint64 sources;              /* gauge: sources with a connection */
} WzpEndpointStats;

#define WZP_TYPE_ENDPOINT (wzp_endpoint_get_type ())
G_DECLARE_FINAL_TYPE (WzpEndpoint, wzp_endpoint, WZP, ENDPOINT, GObject)

WzpEndpoint *wzp_endpoint_new (GMainContext * context,
    WzpIdentity * identity, WzpClock * clock, GError ** error);

gboolean wzp_endpoint_bind (WzpEndpoint * self, GSocketAddress * address,
    GError ** error);

gboolean wzp_endpoint_bind_any (WzpEndpoint * self, guint16 port,
    gboolean ipv6, GError ** error);

GSocketAddress *wzp_endpoint_get_local_address (WzpEndpoint * self,
    GSocketFamily family);

void wzp_connect_params_init (WzpConnectParams * params);

WzpConnection *wzp_endpoint_connect (WzpEndpoint * self,
    GSocketAddress * remote, const char *expected_fingerprint,
    GError ** error);

WzpConnection *wzp_endpoint_connect_full (WzpEndpoint * self,
    GSocketAddress * remote, const WzpConnectParams * params,
    GError ** error);

void wzp_endpoint_set_raw_handler (WzpEndpoint * self, WzpRawPacketFunc func,
    gpointer user_data, GDestroyNotify notify);

gboolean wzp_endpoint_send_raw (WzpEndpoint * self, const WzpAddr * to,
    const guint8 * data, gsize len);

guint wzp_endpoint_add_source_handler (WzpEndpoint * self,
    const WzpAddr * source, WzpSourcePacketFunc func, gpointer user_data,
    GDestroyNotify notify);

void wzp_endpoint_remove_source_handler (WzpEndpoint * self, guint id);

gboolean wzp_endpoint_send_udp (WzpEndpoint * self, const WzpAddr * to,
    const guint8 * data, gsize len);

void wzp_endpoint_close_all (WzpEndpoint * self, guint64 app_error_code,
    const char *reason);

void wzp_endpoint_get_stats (WzpEndpoint * self, WzpEndpointStats * stats);

WzpIdentity *wzp_endpoint_get_identity (WzpEndpoint * self);

WzpClock *wzp_endpoint_get_clock (WzpEndpoint * self);

GMainContext *wzp_endpoint_get_context (WzpEndpoint * self);

G_END_DECLS
