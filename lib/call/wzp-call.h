/* wzp-call.h — one voice call (or room membership), end to end
 *
 * A WzpCall owns everything one party of a call needs: the UDP endpoint
 * (one socket), the signaling client registered with the relay, the path
 * manager that races to a direct path, and the end-to-end media keys.
 *
 * Lifecycle: set the properties, wzp_call_start().  With #WzpCall:peer
 * set it dials that fingerprint; with #WzpCall:room set it joins the
 * room; with neither it waits for an incoming call, which
 * #WzpCall:answer-policy decides; with the policy "ask" the
 * #WzpCall::incoming-call signal tells the application, which answers
 * with wzp_call_answer() or wzp_call_reject() whenever it likes, from any
 * thread, while the call keeps running.  Media starts on the relay path
 * the moment the relay sets the call up; the path moves to direct when
 * both peers agree, and back when the direct path goes quiet.
 *
 * The relay may be a list, the relays of a cluster (docs/CLUSTER.md):
 * the call registers at one (#WzpCall:relay-selection) and moves on to
 * the next when it is lost; when the cluster hosts the call or room on
 * another relay node the call opens a media leg there.
 *
 * The relay: its connection is watched (keep-alives, and a relay that
 * restarted resets the old connection at once); #WzpCall:relay-state
 * says whether it is there.  After a loss the call reconnects and
 * re-registers; an active call asks the relay to carry its relay leg
 * again (resume-call, proven by the call id and both parties' signed
 * offer and answer), a direct path is not disturbed meanwhile, and a call
 * that has neither media nor a relay for #WzpCall:media-timeout fails.  A
 * call that rings when the relay goes away fails (caller) or goes back to
 * waiting (callee).
 *
 * Threading: the call lives on the GMainContext given at construction,
 * and its signals are emitted there, outside any lock.  The functions
 * marked "any thread" may be called from other threads (GStreamer
 * streaming threads): they take a lock, queue, and wake the context.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"
#include "wzp-identity.h"
#include "wzp-path-types.h"
#include "wzp-relay-channel-state.h"

G_BEGIN_DECLS

/**
 * WZP_CALL_ERROR:
 *
 * The error domain of calls (#WzpCallError).
 */
#define WZP_CALL_ERROR (wzp_call_error_quark ())
WZP_API GQuark wzp_call_error_quark (void);

/**
 * WzpCallError:
 * @WZP_CALL_ERROR_RELAY_UNREACHABLE: no QUIC connection to the relay
 * @WZP_CALL_ERROR_RELAY_REFUSED: the relay refused our registration
 * @WZP_CALL_ERROR_PEER_OFFLINE: the callee is not registered
 * @WZP_CALL_ERROR_BUSY: the callee is in another call
 * @WZP_CALL_ERROR_REJECTED: the callee rejected the call
 * @WZP_CALL_ERROR_NO_ANSWER: the callee did not answer in time
 * @WZP_CALL_ERROR_BAD_PEER: the peer's offer or answer failed verification
 * @WZP_CALL_ERROR_NO_PATH: the path policy cannot be met (direct-only and
 *   no direct path)
 * @WZP_CALL_ERROR_FAILED: anything else
 * @WZP_CALL_ERROR_NOT_ADMITTED: the room's owner did not admit us (no,
 *   a bad or an expired invitation), or the relay refused us for that
 * @WZP_CALL_ERROR_RELAY_IDENTITY: the relay's identity is not the pinned
 *   #WzpCall:relay-fingerprint (the message names both)
 * @WZP_CALL_ERROR_SUPERSEDED: this identity registered with the relay from
 *   somewhere else, which took over
 * @WZP_CALL_ERROR_RELAY_LOST: the relay went away while the call rang, or
 *   an active call had neither media nor the relay for
 *   #WzpCall:media-timeout
 * @WZP_CALL_ERROR_INVALID_SETTINGS: wzp_call_start() refused the settings
 * @WZP_CALL_ERROR_PEER_GONE: the reason of an ended call: the peer's
 *   connection to the relay died and no direct path carries the call
 * @WZP_CALL_ERROR_HUNG_UP: the reason of an ended call: either side hung
 *   up
 * @WZP_CALL_ERROR_CLUSTER_UNAVAILABLE: the peer is not registered at our
 *   relay, and our relay cannot ask the other relays of its cluster now
 *   (their Redis is away): try again in a few seconds
 *
 * The errors of a failed call (the reason of #WzpCall::state-changed to
 * %WZP_CALL_STATE_FAILED), of wzp_call_start(), and the reasons of an
 * ended one.  wzp_call_error_describe() turns them into a text a user can
 * act on.
 */
typedef enum
{
  WZP_CALL_ERROR_RELAY_UNREACHABLE,
  WZP_CALL_ERROR_RELAY_REFUSED,
  WZP_CALL_ERROR_PEER_OFFLINE,
  WZP_CALL_ERROR_BUSY,
  WZP_CALL_ERROR_REJECTED,
  WZP_CALL_ERROR_NO_ANSWER,
  WZP_CALL_ERROR_BAD_PEER,
  WZP_CALL_ERROR_NO_PATH,
  WZP_CALL_ERROR_FAILED,
  WZP_CALL_ERROR_NOT_ADMITTED,
  WZP_CALL_ERROR_RELAY_IDENTITY,
  WZP_CALL_ERROR_SUPERSEDED,
  WZP_CALL_ERROR_RELAY_LOST,
  WZP_CALL_ERROR_INVALID_SETTINGS,
  WZP_CALL_ERROR_PEER_GONE,
  WZP_CALL_ERROR_HUNG_UP,
  WZP_CALL_ERROR_CLUSTER_UNAVAILABLE,
} WzpCallError;

#define WZP_TYPE_CALL_ERROR (wzp_call_error_get_type ())
WZP_API GType wzp_call_error_get_type (void);

/**
 * WzpCallState:
 * @WZP_CALL_STATE_IDLE: not started
 * @WZP_CALL_STATE_CONNECTING: reaching and registering with the relay
 * @WZP_CALL_STATE_WAITING: registered, waiting for an incoming call
 * @WZP_CALL_STATE_RINGING: outgoing: the callee rings; incoming: deciding
 *   (answer policy "ask"); a room: joining
 * @WZP_CALL_STATE_ACTIVE: set up: media flows
 * @WZP_CALL_STATE_ENDED: hung up by either side (the reason says who)
 * @WZP_CALL_STATE_FAILED: ended by an error (#WzpCallError, in
 *   #WzpCall::state-changed)
 */
typedef enum
{
  WZP_CALL_STATE_IDLE,
  WZP_CALL_STATE_CONNECTING,
  WZP_CALL_STATE_WAITING,
  WZP_CALL_STATE_RINGING,
  WZP_CALL_STATE_ACTIVE,
  WZP_CALL_STATE_ENDED,
  WZP_CALL_STATE_FAILED,
} WzpCallState;

/* WzpPathKind and WzpPathPolicy (with their GTypes and to_string) are in
 * wzp-path-types.h. */

/**
 * WzpAnswerPolicy:
 * @WZP_ANSWER_POLICY_AUTO: accept every incoming call
 * @WZP_ANSWER_POLICY_REJECT: reject every incoming call
 * @WZP_ANSWER_POLICY_ASK: tell #WzpCall::incoming-call, then let the call
 *   ring until wzp_call_answer() or wzp_call_reject()
 */
typedef enum
{
  WZP_ANSWER_POLICY_AUTO,
  WZP_ANSWER_POLICY_REJECT,
  WZP_ANSWER_POLICY_ASK,
} WzpAnswerPolicy;

/**
 * WzpRelayState:
 * @WZP_RELAY_STATE_NONE: not started
 * @WZP_RELAY_STATE_CONNECTING: reaching the relay the first time
 * @WZP_RELAY_STATE_REGISTERED: registered (again, after a loss)
 * @WZP_RELAY_STATE_LOST: the connection to the relay is gone (idle, reset
 *   by a restarted relay, ...); reconnecting with backoff
 * @WZP_RELAY_STATE_RESUMED: registered again, and the relay carries the
 *   active call's relay leg again
 * @WZP_RELAY_STATE_FAILED: given up: the relay refused us, is not the
 *   pinned identity, or this identity registered elsewhere
 */
typedef enum
{
  WZP_RELAY_STATE_NONE,
  WZP_RELAY_STATE_CONNECTING,
  WZP_RELAY_STATE_REGISTERED,
  WZP_RELAY_STATE_LOST,
  WZP_RELAY_STATE_RESUMED,
  WZP_RELAY_STATE_FAILED,
} WzpRelayState;

/**
 * WzpRelaySelection:
 * @WZP_RELAY_SELECTION_HASH: order the relays by a hash of our identity
 *   and each relay (rendezvous hashing): the clients of one list spread
 *   evenly, each always starts at the same relay, and the clients of a
 *   relay that dies spread over the others
 * @WZP_RELAY_SELECTION_LISTED: try them in the order given (a primary,
 *   then backups)
 *
 * Which relay of a list (#WzpCall:relay) a call registers at first; when
 * it is lost the call moves on to the next one.
 */
typedef enum
{
  WZP_RELAY_SELECTION_HASH,
  WZP_RELAY_SELECTION_LISTED,
} WzpRelaySelection;

#define WZP_TYPE_CALL_STATE (wzp_call_state_get_type ())
WZP_API GType wzp_call_state_get_type (void);
#define WZP_TYPE_ANSWER_POLICY (wzp_answer_policy_get_type ())
WZP_API GType wzp_answer_policy_get_type (void);
#define WZP_TYPE_RELAY_STATE (wzp_relay_state_get_type ())
WZP_API GType wzp_relay_state_get_type (void);
#define WZP_TYPE_RELAY_SELECTION (wzp_relay_selection_get_type ())
WZP_API GType wzp_relay_selection_get_type (void);

WZP_API const char *wzp_call_state_to_string (WzpCallState state);
WZP_API const char *wzp_relay_state_to_string (WzpRelayState state);

/**
 * WzpCallFrame:
 * @sender: fingerprint of the party that sent it (rooms have several)
 * @seq: the sender's packet sequence number (consecutive per sender)
 * @timestamp: sender's media timestamp, 48 kHz units
 * @marker: first frame of a talkspurt
 * @data: (array length=len): the Opus frame, valid only during the
 *   callback
 * @len: its length in bytes
 * @arrival_ns: when it arrived, in nanoseconds of the monotonic clock
 * @path: the path it arrived on
 *
 * A media frame, as #WzpCallFrameFunc gets it.
 */
typedef struct
{
  const char *sender;
  guint32 seq;
  guint32 timestamp;
  gboolean marker;
  const guint8 *data;
  gsize len;
  guint64 arrival_ns;
  WzpPathKind path;
} WzpCallFrame;

/**
 * WzpCallFrameFunc:
 * @frame: the frame, valid during the call only
 * @user_data: (closure): what wzp_call_set_frame_handler() was given
 *
 * Receives each authenticated, de-duplicated media frame, on the call's
 * context.  Frames come in arrival order; reordering is the jitter
 * buffer's job (#WzpJitter).
 */
typedef void (*WzpCallFrameFunc) (const WzpCallFrame * frame,
    gpointer user_data);

/**
 * WzpCallStats:
 * @state: the call's state
 * @path: the path media takes now
 * @rtt_ns: smoothed round-trip time of the connection that carries media
 *   now (to the relay, or to the peer on the direct path)
 * @frames_sent: media frames sent
 * @bytes_sent: bytes of those frames
 * @frames_received: frames received (authenticated, de-duplicated)
 * @bytes_received: bytes of those frames
 * @frames_dropped_send: frames dropped: the transport could not queue
 *   them (congestion), they could not be sealed, they were larger than
 *   a packet carries (%WZP_CALL_MAX_FRAME bytes), or no path could take
 *   them (after an early start on a LAN, the direct path down before the
 *   relay's call-setup came)
 * @duplicates: packets dropped by the replay window: copies from the
 *   other path during a switch, or replays
 * @forged: packets that failed authentication (or were malformed)
 * @replayed: the replay window's own count (the same events as
 *   @duplicates)
 * @path_changes: how often the path changed
 * @setup_ns: from setup to the first frame received, or 0
 * @relay_state: whether the relay is there
 * @relay_losses: how often the connection to the relay was lost
 * @relay_channel_sent: frames sent on the relay's media channel (the rest
 *   of the relayed media rode the signaling connection's QUIC datagrams;
 *   docs/PROTOCOL.md, Part A §7)
 * @relay_channel_received: frames received on it
 * @relay_channel_downs: how often the channel stopped working
 * @relay_channel_state: where relayed media goes now
 *
 * Counters since the call started (wzp_call_get_stats()); see
 * docs/ELEMENTS.md for how wzpsrc and wzpsink publish them.
 */
typedef struct
{
  WzpCallState state;
  WzpPathKind path;
  guint64 rtt_ns;
  guint64 frames_sent;
  guint64 bytes_sent;
  guint64 frames_received;
  guint64 bytes_received;
  guint64 frames_dropped_send;
  guint64 duplicates;
  guint64 forged;
  guint64 replayed;
  guint64 path_changes;
  guint64 setup_ns;
  WzpRelayState relay_state;
  guint64 relay_losses;
  guint64 relay_channel_sent;
  guint64 relay_channel_received;
  guint64 relay_channel_downs;
  WzpRelayChannelState relay_channel_state;
  /*< private > */
  guint32 padding32;
  guint64 padding[2];
} WzpCallStats;

/**
 * WZP_CALL_MAX_FRAME:
 *
 * The largest media frame a call carries, in bytes (what one QUIC
 * datagram holds after the media header and the AEAD tag).  Opus frames
 * of voice are far smaller: 20 ms at 64 kbit/s is 160 bytes.
 */
#define WZP_CALL_MAX_FRAME 1200

#define WZP_TYPE_CALL (wzp_call_get_type ())
WZP_API
G_DECLARE_FINAL_TYPE (WzpCall, wzp_call, WZP, CALL, GObject)

WZP_API WzpCall *wzp_call_new (GMainContext * context, WzpIdentity * identity,
    const char *relay);

WZP_API gboolean wzp_call_start (WzpCall * self, GError ** error);

/* Any thread. */
WZP_API void wzp_call_hangup (WzpCall * self);
WZP_API gboolean wzp_call_answer (WzpCall * self, const char *call_id);
WZP_API gboolean wzp_call_reject (WzpCall * self, const char *call_id);
WZP_API gboolean wzp_call_send_frame (WzpCall * self, guint32 timestamp,
    gboolean marker, const guint8 * data, gsize len);
WZP_API void wzp_call_get_stats (WzpCall * self, WzpCallStats * stats);
WZP_API WzpCallState wzp_call_get_state (WzpCall * self);
WZP_API WzpPathKind wzp_call_get_path (WzpCall * self);
WZP_API WzpRelayState wzp_call_get_relay_state (WzpCall * self);

/* The call's context only. */
WZP_API void wzp_call_set_frame_handler (WzpCall * self,
    WzpCallFrameFunc func, gpointer user_data, GDestroyNotify notify);
WZP_API const char *wzp_call_get_peer_fingerprint (WzpCall * self);
WZP_API const char *wzp_call_get_call_id (WzpCall * self);
WZP_API gboolean wzp_call_get_failure_origin (WzpCall * self,
    const char **file, const char **function, int *line);

WZP_API char *wzp_call_error_describe (const GError * error,
    const char *relay, const char *peer);

WZP_API gboolean wzp_relay_list_check (const char *relay, GError ** error);

G_END_DECLS
