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
#include "wzp-clock.h"
#include "wzp-path.h"

G_BEGIN_DECLS

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
 * @WZP_CALL_ERROR_PEER_GONE: (the reason of an ended call) the peer's
 *   connection to the relay died and no direct path carries the call
 * @WZP_CALL_ERROR_HUNG_UP: (the reason of an ended call) either side hung
 *   up
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
} WzpCallError;

typedef enum
{
  WZP_CALL_STATE_IDLE,          /* not started */
  WZP_CALL_STATE_CONNECTING,    /* reaching and registering with the relay */
  WZP_CALL_STATE_WAITING,       /* registered, waiting for an incoming call */
  WZP_CALL_STATE_RINGING,       /* outgoing: callee rings; incoming: deciding */
  WZP_CALL_STATE_ACTIVE,        /* set up: media flows */
  WZP_CALL_STATE_ENDED,         /* hung up by either side */
  WZP_CALL_STATE_FAILED,        /* ended by an error (see the signal's GError) */
} WzpCallState;

/* WzpPathKind and WzpPathPolicy (with their GTypes and to_string) live in
 * wzp-path.h, with the path manager that decides them. */

typedef enum
{
  WZP_ANSWER_POLICY_AUTO,       /* accept every incoming call */
  WZP_ANSWER_POLICY_REJECT,     /* reject every incoming call */
  WZP_ANSWER_POLICY_ASK,        /* tell WzpCall::incoming-call, then wait
                                 * for wzp_call_answer() / _reject() */
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

WZP_API GType wzp_call_state_get_type (void);
WZP_API GType wzp_answer_policy_get_type (void);
WZP_API GType wzp_relay_state_get_type (void);
#define WZP_TYPE_CALL_STATE (wzp_call_state_get_type ())
#define WZP_TYPE_ANSWER_POLICY (wzp_answer_policy_get_type ())
#define WZP_TYPE_RELAY_STATE (wzp_relay_state_get_type ())

WZP_API const char *wzp_call_state_to_string (WzpCallState state);
WZP_API const char *wzp_relay_state_to_string (WzpRelayState state);

/**
 * WzpCallFrame:
 * @sender: fingerprint of the party that sent it (rooms have several)
 * @seq: the sender's packet sequence number (consecutive per sender)
 * @timestamp: sender's media timestamp, 48 kHz units
 * @marker: first frame of a talkspurt
 * @data: the Opus frame, valid only during the callback
 * @arrival_ns: when it arrived, on the call's #WzpClock
 * @path: the path it arrived on
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
 *
 * Receives each authenticated, de-duplicated media frame, on the call's
 * context.  Frames come in arrival order; reordering is the jitter
 * buffer's job.
 */
typedef void (*WzpCallFrameFunc) (const WzpCallFrame * frame,
    gpointer user_data);

/**
 * WzpCallStats:
 *
 * Counters since the call started; see docs/ELEMENTS.md for how wzpsrc
 * and wzpsink publish them.
 */
typedef struct
{
  WzpCallState state;
  WzpPathKind path;
  guint64 rtt_ns;               /* on the current path */
  guint64 frames_sent;
  guint64 bytes_sent;
  guint64 frames_received;
  guint64 bytes_received;
  guint64 frames_dropped_send;  /* could not be queued (congestion) */
  guint64 duplicates;           /* dropped by the replay window: copies from
                                 * the other path during a switch, or replays */
  guint64 forged;               /* failed authentication (or malformed) */
  guint64 replayed;             /* the replay window's own count (same events) */
  guint64 path_changes;
  guint64 setup_ns;             /* setup to first frame received, or 0 */
  WzpRelayState relay_state;
  guint64 relay_losses;         /* times the relay connection was lost */
  /* The relay's media channel (docs/PROTOCOL.md, Part A §7): frames sent
   * and received on it (the rest of the relayed media rode QUIC
   * datagrams), the times it stopped working, and where relayed media
   * goes now (a #WzpRelayChannelState). */
  guint64 relay_channel_sent;
  guint64 relay_channel_received;
  guint64 relay_channel_downs;
  guint32 relay_channel_state;
  /*< private > */
  guint32 padding32;
  guint64 padding[2];
} WzpCallStats;

#define WZP_TYPE_CALL (wzp_call_get_type ())
WZP_API
G_DECLARE_FINAL_TYPE (WzpCall, wzp_call, WZP, CALL, GObject)

/* Construction: properties "context" (GMainContext, construct-only,
 * default the thread-default context), "clock" (WzpClock), "identity"
 * (WzpIdentity, required), "relay" (string HOST:PORT, required),
 * "relay-fingerprint" (string, optional pin), "peer" (string
 * fingerprint), "room" (string), "answer-policy", "path-policy",
 * "bind-address" (string, default any address, port 0), "media-timeout"
 * (ms without media and without the relay before an active call fails;
 * 0: never; default 10000), "relay-state" (read-only).
 *
 * Rooms: "room" (string, the room's name), "room-owner" (string, the
 * owner's fingerprint), "room-invite" (string, the owner's invitation for
 * us as a token from `wzp invite`, or "@FILE"; not needed by the owner),
 * "room-open" (boolean: a room without owner that anyone with the name
 * may join, and that is therefore not confidential from the relay).  A
 * room needs an owner or room-open. */
WZP_API WzpCall *wzp_call_new (GMainContext * context, WzpIdentity * identity,
    const char *relay);

WZP_API gboolean wzp_call_start (WzpCall * self, GError ** error);

/* Any thread. */
WZP_API void wzp_call_hangup (WzpCall * self);

/* Any thread: answer or reject the incoming call @call_id (answer-policy
 * "ask"), now or whenever the user decides.  FALSE when that call is not
 * (or no longer) waiting for an answer. */
WZP_API gboolean wzp_call_answer (WzpCall * self, const char *call_id);
WZP_API gboolean wzp_call_reject (WzpCall * self, const char *call_id);

/* Any thread.  Seals and sends one Opus frame on the current path.
 * Returns FALSE only when the call is not active (the frame is dropped
 * and counted otherwise: congestion never blocks the caller). */
WZP_API gboolean wzp_call_send_frame (WzpCall * self, guint32 timestamp,
    gboolean marker, const guint8 * data, gsize len);

/* Context thread: set before start. */
WZP_API void wzp_call_set_frame_handler (WzpCall * self,
    WzpCallFrameFunc func, gpointer user_data, GDestroyNotify notify);

/* Any thread. */
WZP_API void wzp_call_get_stats (WzpCall * self, WzpCallStats * stats);
WZP_API WzpCallState wzp_call_get_state (WzpCall * self);
WZP_API WzpPathKind wzp_call_get_path (WzpCall * self);

WZP_API WzpRelayState wzp_call_get_relay_state (WzpCall * self);

/* Context thread. */
WZP_API const char *wzp_call_get_peer_fingerprint (WzpCall * self);
WZP_API const char *wzp_call_get_call_id (WzpCall * self);

/* Context thread: where in libwzp the call was failed (for the debug
 * location of a GStreamer error); FALSE if it did not fail. */
WZP_API gboolean wzp_call_get_failure_origin (WzpCall * self,
    const char **file, const char **function, int *line);

/* A text a user can act on for an error of this call (WZP_CALL_ERROR or
 * another domain), naming @relay and @peer where it helps; what the
 * GStreamer elements post and `wzp call` prints. */
WZP_API char *wzp_call_error_describe (const GError * error,
    const char *relay, const char *peer);

/* Signals (emitted on the context):
 *   "state-changed" (WzpCallState state, GError *reason_or_NULL)
 *   "incoming-call" (const char *caller_fingerprint, const char *call_id):
 *       only with answer-policy "ask"; a notification: answer later with
 *       wzp_call_answer() / wzp_call_reject() (also from the handler).
 *       The call rings until then, or until the caller gives up.
 *   "path-changed" (WzpPathKind path, const char *reason)
 *   "room-member-joined" (const char *fingerprint): a member was admitted
 *       (it gets our sender key; frames from it may follow)
 *   "room-member-left" (const char *fingerprint)
 *   "room-rekeyed" (const char *reason, guint stream_id, guint64
 *       duration_ns, guint acked, guint members): we switched to a new
 *       sender key after a membership change
 *   "relay-state-changed" (WzpRelayState state, GError *reason_or_NULL)
 */

G_END_DECLS
