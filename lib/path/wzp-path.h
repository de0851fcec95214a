/* wzp — the path manager: race to a direct path, agree, fail over, return
 *
 * A call's media starts on the relay.  A WzpPathManager, given the
 * endpoint (one UDP socket per family) and what call setup told both
 * peers (fingerprints, NAT types, candidates, a shared call token), races
 * to a direct QUIC connection with the peer, switches media to it once
 * both peers agree over that connection, watches it with probes, falls
 * on both paths when its ACKs are late, back to the relay when they stay
 * away (~300 ms), and comes back when it answers again.  It knows nothing of the relay: when
 * wzp_path_manager_send() returns %FALSE, the caller sends via the relay.
 * docs/PATH.md describes the state machine and every timer.
 *
 * It runs on the endpoint's GMainContext and clock and must be used from
 * the thread that runs that context; its signals are emitted there,
 * outside any lock.
 *
 * While it runs, it owns the endpoint's raw-packet handler (punch
 * packets): one running path manager per endpoint.  Who may connect to
 * the endpoint is the #WzpPathListener's business (given in the config,
 * or made by the manager when it accepts).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-path-types.h"
#include "wzp-endpoint.h"
#include "wzp-candidates.h"
#include "wzp-path-listener.h"

G_BEGIN_DECLS


/**
 * WzpPathRole:
 * @WZP_PATH_ROLE_NONE: no direct attempt (policy, or hopeless NATs)
 * @WZP_PATH_ROLE_DIALER: dials every peer candidate (QUIC client)
 * @WZP_PATH_ROLE_ACCEPTOR: punches towards the peer and accepts its
 *   dial (QUIC server)
 */
typedef enum
{
  WZP_PATH_ROLE_NONE,
  WZP_PATH_ROLE_DIALER,
  WZP_PATH_ROLE_ACCEPTOR,
} WzpPathRole;

const char *wzp_path_role_to_string (WzpPathRole role);

WzpPathRole wzp_path_decide_role (WzpNatType local_nat, WzpNatType peer_nat,
    const char *local_fingerprint, const char *peer_fingerprint,
    const char **reason);

/* Length of the call token in punch packets and agreement messages. */
#define WZP_PATH_TOKEN_LEN 16

/* First byte of the greeting message on a direct connection (see
 * #WzpPathConfig.greeting); the path manager itself ignores it. */
#define WZP_PATH_MSG_GREETING 0x03

/**
 * WzpPathTimings:
 * @punch_interval_ns: how often punch packets go to every peer candidate
 *   while the race runs (25 ms)
 * @race_timeout_ns: how long a race may take, from start() to a direct
 *   connection (3 s)
 * @initial_rtt_ns: RTT the direct handshake assumes before measuring one;
 *   its Initial is resent after about 3x this (100 ms)
 * @probe_interval_ns: how often a PROBE goes on the direct connection
 *   (200 ms)
 * @failover_threshold_ns: how long a datagram we sent on the direct path
 *   may go unacknowledged before media goes back to the relay (300 ms;
 *   longer on a path whose RTT asks for it, see docs/PATH.md)
 * @direct_idle_timeout_ns: QUIC idle timeout of the direct connection:
 *   how long a silent direct connection is kept, waiting for the path to
 *   return, before it is given up (10 s)
 * @rerace_interval_ns: wait after a direct connection died before racing
 *   again; doubles after each failed re-race (5 s)
 * @rerace_max_interval_ns: the most that wait grows to (60 s)
 * @switch_overlap_ns: after a switch, frames also go on the other path
 *   for this long, or two direct RTTs if longer (200 ms)
 * @doubt_threshold_ns: the least time a datagram waits for its ACK before
 *   the direct path is in doubt and media goes on both paths (100 ms;
 *   longer when the RTT asks for it)
 *
 * Initialise with wzp_path_timings_init(); docs/PATH.md says why each
 * default is what it is.
 */
typedef struct
{
  guint64 punch_interval_ns;
  guint64 race_timeout_ns;
  guint64 initial_rtt_ns;
  guint64 probe_interval_ns;
  guint64 failover_threshold_ns;
  guint64 direct_idle_timeout_ns;
  guint64 rerace_interval_ns;
  guint64 rerace_max_interval_ns;
  guint64 switch_overlap_ns;
  guint64 doubt_threshold_ns;
  /*< private > */
  guint64 padding[6];
} WzpPathTimings;

#define WZP_PATH_DEFAULT_PUNCH_INTERVAL (25 * WZP_NSEC_PER_MSEC)
#define WZP_PATH_DEFAULT_RACE_TIMEOUT (3 * WZP_NSEC_PER_SEC)
#define WZP_PATH_DEFAULT_INITIAL_RTT (100 * WZP_NSEC_PER_MSEC)
#define WZP_PATH_DEFAULT_PROBE_INTERVAL (200 * WZP_NSEC_PER_MSEC)
#define WZP_PATH_DEFAULT_FAILOVER_THRESHOLD (300 * WZP_NSEC_PER_MSEC)
#define WZP_PATH_DEFAULT_DIRECT_IDLE_TIMEOUT (10 * WZP_NSEC_PER_SEC)
#define WZP_PATH_DEFAULT_RERACE_INTERVAL (5 * WZP_NSEC_PER_SEC)
#define WZP_PATH_DEFAULT_RERACE_MAX_INTERVAL (60 * WZP_NSEC_PER_SEC)
#define WZP_PATH_DEFAULT_SWITCH_OVERLAP (200 * WZP_NSEC_PER_MSEC)
#define WZP_PATH_DEFAULT_DOUBT_THRESHOLD (100 * WZP_NSEC_PER_MSEC)

void wzp_path_timings_init (WzpPathTimings * timings);

/**
 * WzpPathConfig:
 * @local_fingerprint: (nullable): ours; %NULL for the endpoint identity's
 * @peer_fingerprint: the peer's; the direct connection is pinned to it in
 *   both directions (mutual TLS)
 * @local_nat: our NAT's mapping behaviour, as measured at registration
 * @peer_nat: the peer's, as call setup reported it
 * @local_candidates: (nullable): what we advertised (host + reflexive);
 *   used to recognise ourselves in the peer's list
 * @peer_candidates: (nullable): the peer's host and reflexive candidates:
 *   where the dialer dials and the acceptor punches
 * @call_token: a secret both peers got from call setup; punch packets
 *   and agreement messages carry it
 * @policy: auto, direct-only or relay-only
 * @timings: see #WzpPathTimings
 * @listener: (nullable): the endpoint's #WzpPathListener, which has been
 *   accepting (and holding) the peer's connections since before the
 *   manager existed; %NULL: the manager makes its own when it accepts
 * @role: %WZP_PATH_ROLE_NONE to decide roles as both peers do
 *   (wzp_path_decide_role()); or the role to take, when the two peers
 *   agreed on it another way (an early start, where only one side knows
 *   the other's candidates yet: it dials).  A later
 *   wzp_path_manager_update_peer() decides again
 * @spray_ports: the symmetric-NAT moonshot (docs/PATH.md, "Symmetric
 *   NATs"), off by default (0): when we accept and the peer's NAT is
 *   endpoint-dependent, this many punches per race also go to random
 *   ports of the peer's reflexive address, hoping to hit the port its NAT
 *   gave the flow to us
 * @greeting: (nullable): sent as the first message on every connection we
 *   dial, before path-ok (`[0x03][greeting]`, at most
 *   %WZP_PATH_LISTENER_MAX_MESSAGE_SIZE - 1 bytes): what the layer above
 *   needs the peer to have before it can agree (a call's signed answer)
 *
 * Initialise with wzp_path_config_init(), then fill it in.  The manager
 * copies everything it needs.
 */
typedef struct
{
  const char *local_fingerprint;
  const char *peer_fingerprint;
  WzpNatType local_nat;
  WzpNatType peer_nat;
  WzpCandidates *local_candidates;
  WzpCandidates *peer_candidates;
  guint8 call_token[WZP_PATH_TOKEN_LEN];
  WzpPathPolicy policy;
  WzpPathTimings timings;
  WzpPathListener *listener;
  WzpPathRole role;
  GBytes *greeting;
  guint spray_ports;
  /*< private > */
  gpointer padding[4];
} WzpPathConfig;

void wzp_path_config_init (WzpPathConfig * config);

/**
 * WzpPathStats:
 * @path: the current path
 * @role: ours in the race
 * @direct_rtt_ns: smoothed RTT of PROBE round trips (0 until one)
 * @probes_sent: PROBEs we sent
 * @probes_answered: PROBE_ACKs we got for them
 * @probes_received: the peer's PROBEs (each answered)
 * @punches_sent: punch packets sent (both roles punch)
 * @punches_received: punch packets with the right token
 * @punches_bad: punch-sized packets with a wrong token or form (dropped)
 * @races: races started (the first, and re-races)
 * @race_time_ns: start of the last successful race to its direct
 *   connection (0 if none)
 * @agree_time_ns: start() to the first agreement on direct (0 if none)
 * @failovers: switches from direct back to relay (or none)
 * @restores: switches back to direct after a failover
 * @media_sent: media datagrams sent on the direct connection
 * @media_received: media datagrams received on it
 * @doubts: times the direct path was in doubt (media sent on both paths
 *   until an ACK showed it alive, or until it failed over)
 * @redials: dials sent again at once because a punch showed the peer's
 *   NAT had opened after our first Initial
 * @network_changes: candidate updates (ours or the peer's) that started
 *   a race while the call ran
 * @migrations: times the direct connection's far end moved and QUIC
 *   followed it (path validation), with no new handshake
 * @sprayed: punches sent to guessed ports (#WzpPathConfig.spray_ports)
 * @has_direct: whether @direct holds the direct connection's stats
 * @direct: the direct connection's QUIC statistics
 */
typedef struct
{
  WzpPathKind path;
  WzpPathRole role;
  guint64 direct_rtt_ns;
  guint64 probes_sent;
  guint64 probes_answered;
  guint64 probes_received;
  guint64 punches_sent;
  guint64 punches_received;
  guint64 punches_bad;
  guint64 races;
  guint64 race_time_ns;
  guint64 agree_time_ns;
  guint64 failovers;
  guint64 restores;
  guint64 media_sent;
  guint64 media_received;
  gboolean has_direct;
  WzpConnectionStats direct;
  guint64 doubts;
  guint64 redials;
  guint64 network_changes;
  guint64 migrations;
  guint64 sprayed;
  /*< private > */
  guint64 padding[3];
} WzpPathStats;

/**
 * WzpPathMediaFunc:
 * @data: the media payload (without the path manager's type byte), valid
 *   only during the call
 *
 * Receives media datagrams that arrived on the direct connection, in any
 * state (the peer may still send direct while we are on the relay).  It
 * runs inside packet processing: do not stop or unref the manager here.
 */
typedef void (*WzpPathMediaFunc) (const guint8 * data, gsize len,
    gpointer user_data);

#define WZP_PATH_ERROR (wzp_path_error_quark ())
GQuark wzp_path_error_quark (void);

typedef enum
{
  WZP_PATH_ERROR_INVALID_CONFIG,
  WZP_PATH_ERROR_STATE,
} WzpPathError;

#define WZP_TYPE_PATH_MANAGER (wzp_path_manager_get_type ())
G_DECLARE_FINAL_TYPE (WzpPathManager, wzp_path_manager, WZP, PATH_MANAGER,
    GObject)

WzpPathManager *wzp_path_manager_new (WzpEndpoint * endpoint,
    const WzpPathConfig * config, GError ** error);

gboolean wzp_path_manager_start (WzpPathManager * self, GError ** error);

void wzp_path_manager_stop (WzpPathManager * self);

gboolean wzp_path_manager_send (WzpPathManager * self, const guint8 * data,
    gsize len);

gboolean wzp_path_manager_should_duplicate (WzpPathManager * self);

void wzp_path_manager_set_media_handler (WzpPathManager * self,
    WzpPathMediaFunc func, gpointer user_data, GDestroyNotify notify);

WzpPathKind wzp_path_manager_get_path (WzpPathManager * self);

WzpPathRole wzp_path_manager_get_role (WzpPathManager * self);

void wzp_path_manager_get_stats (WzpPathManager * self, WzpPathStats * stats);

WzpConnection *wzp_path_manager_get_direct_connection (WzpPathManager * self);

void wzp_path_manager_update_local (WzpPathManager * self,
    WzpCandidates * candidates, WzpNatType nat);

void wzp_path_manager_update_peer (WzpPathManager * self,
    WzpCandidates * candidates, WzpNatType nat);

void wzp_path_manager_learn_peer (WzpPathManager * self,
    WzpCandidates * candidates, WzpNatType nat);

/* Signals (emitted on the endpoint's context):
 *   "path-changed" (WzpPathKind path, const char *reason)
 *   "race-finished" (gboolean direct, const char *reason): a race ended,
 *       with a direct connection or without one.  With the direct-only
 *       policy, %FALSE means the call has no path.
 * Property "path" (WzpPathKind, read-only) notifies on change.
 */

G_END_DECLS
