/* wzp — the relay: registration, NAT probes, call and room signaling,
 * media forwarding, metrics
 *
 * A WzpRelay owns two endpoints with its identity: the main one, where
 * clients keep their signaling connection (and send relayed media as
 * QUIC datagrams on it), and an optional probe endpoint on a second port
 * that only listens for raw probe packets, so clients can tell
 * endpoint-independent from endpoint-dependent NAT mapping.  It runs on
 * the GMainContext given at construction; use it from that thread only.
 * Usable in-process (tests, apps) and by the wzp-relay daemon.
 *
 * The protocol is in docs/PROTOCOL.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"
#include "wzp-clock.h"
#include "wzp-identity-private.h"
#include "wzp-endpoint.h"

G_BEGIN_DECLS

#define WZP_RELAY_DEFAULT_PORT 4433
#define WZP_RELAY_DEFAULT_RING_TIMEOUT (30 * WZP_NSEC_PER_SEC)
#define WZP_RELAY_DEFAULT_MAX_REGISTRATIONS 10000
#define WZP_RELAY_DEFAULT_MAX_ROOM_MEMBERS 64
/* A draining node moves what is left after this (docs/CLUSTER.md). */
#define WZP_RELAY_DEFAULT_DRAIN_TIMEOUT (60 * WZP_NSEC_PER_SEC)

#define WZP_RELAY_ERROR (wzp_relay_error_quark ())
GQuark wzp_relay_error_quark (void);

/**
 * WzpRelayError:
 * @WZP_RELAY_ERROR_ADDRESS: an address property does not parse
 * @WZP_RELAY_ERROR_STARTED: wzp_relay_start() was already called
 * @WZP_RELAY_ERROR_METRICS: the metrics server could not start (or this
 *   build has no libsoup)
 * @WZP_RELAY_ERROR_CLUSTER: #WzpRelay:redis-url does not parse, or this
 *   build has no hiredis
 */
typedef enum
{
  WZP_RELAY_ERROR_ADDRESS,
  WZP_RELAY_ERROR_STARTED,
  WZP_RELAY_ERROR_METRICS,
  WZP_RELAY_ERROR_CLUSTER,
} WzpRelayError;

/**
 * WzpRelayStats:
 *
 * Gauges (connections .. room_members) and counters since start.
 * @datagrams_forwarded counts delivered copies (a room datagram to three
 * members counts three); @datagrams_dropped counts received relay
 * datagrams that were not forwarded (bad header, unknown channel, sender
 * not a party, call not set up) plus copies the QUIC layer refused.
 */
typedef struct
{
  guint64 connections;
  guint64 registrations;
  guint64 calls_ringing;
  guint64 calls_active;
  guint64 rooms;
  guint64 room_members;
  guint64 calls_total;
  guint64 registrations_total;
  guint64 registrations_superseded;
  guint64 registrations_refused;
  guint64 messages_received;
  guint64 errors_total;
  guint64 probes_answered;
  guint64 datagrams_forwarded;
  guint64 bytes_forwarded;
  guint64 datagrams_dropped;
  guint64 media_legs;           /* media legs of clients of other nodes */
  guint64 cluster_nodes;        /* nodes seen alive, this one included; 0 alone */
  guint64 cluster_calls_out;    /* calls placed here, hosted at another node */
  guint64 cluster_calls_in;     /* call requests of other nodes' clients */
  /*< private > */
  guint64 padding[4];
} WzpRelayStats;

#define WZP_TYPE_RELAY (wzp_relay_get_type ())
G_DECLARE_FINAL_TYPE (WzpRelay, wzp_relay, WZP, RELAY, GObject)

WzpRelay *wzp_relay_new (GMainContext * context, WzpIdentity * identity);

gboolean wzp_relay_start (WzpRelay * self, GError ** error);

void wzp_relay_stop (WzpRelay * self);

const char *wzp_relay_get_fingerprint (WzpRelay * self);

GSocketAddress *wzp_relay_get_listen_address (WzpRelay * self);

GSocketAddress *wzp_relay_get_probe_address (WzpRelay * self);

GSocketAddress *wzp_relay_get_metrics_address (WzpRelay * self);

GSocketAddress *wzp_relay_get_media_address (WzpRelay * self);

guint wzp_relay_get_media_workers (WzpRelay * self);

WzpEndpoint *wzp_relay_get_endpoint (WzpRelay * self);

void wzp_relay_get_stats (WzpRelay * self, WzpRelayStats * stats);

/**
 * WzpRelayMediaStats:
 *
 * The media port's counters since start (all workers).  @forwarded:
 * media packets sent on a channel; @to_quic: media packets whose receiver
 * does not take channel packets, sent on its signaling connection instead
 * (the fallback); @binds: BINDs answered; @dropped_*: packets not
 * forwarded, by reason: not a channel packet (@dropped_malformed), no
 * such channel, a wrong token, a source other than the one the channel
 * is bound to (or, before it binds, not the IP of its party's signaling
 * connection), no other party, the fallback queue full, the socket
 * refused it.  @channels: legs open now; @rebinds: channel-rebind
 * requests honoured.
 */
typedef struct
{
  guint64 received;
  guint64 received_bytes;
  guint64 forwarded;
  guint64 forwarded_bytes;
  guint64 to_quic;
  guint64 binds;
  guint64 dropped_malformed;
  guint64 dropped_unknown_channel;
  guint64 dropped_bad_token;
  guint64 dropped_wrong_source;
  guint64 dropped_no_peer;
  guint64 dropped_queue_full;
  guint64 dropped_send_failure;
  guint64 channels;
  guint64 rebinds;
  /*< private > */
  guint64 padding[8];
} WzpRelayMediaStats;

/* @worker: one worker's packet counters, or G_MAXUINT for all. */
void wzp_relay_get_media_stats (WzpRelay * self, guint worker,
    WzpRelayMediaStats * stats);

guint64 wzp_relay_get_error_count (WzpRelay * self, const char *code);

guint64 wzp_relay_get_refusal_count (WzpRelay * self, const char *reason);

char *wzp_relay_metrics_text (WzpRelay * self);

gboolean wzp_relay_drain (WzpRelay * self, guint64 timeout_ns);

gboolean wzp_relay_is_clustered (WzpRelay * self);

G_END_DECLS
