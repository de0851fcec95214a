/* wzp-call-internal.h — what the files of WzpCall share (private)
 *
 *   wzp-call.c            the object: properties, state, start and stop,
 *                         the thread-safe entry points' queue
 *   wzp-call-signaling.c  registration, offer/answer, setup, end of call,
 *                         losing and regaining the relay
 *   wzp-call-media.c      sealing, sending, opening; keys; the path manager;
 *                         the watchdog (RTT, media timeout)
 *   wzp-call-room.c       rooms: admission, members (wzp-call-room-keys.c:
 *                         their sender keys)
 * and helpers that call nobody back:
 *   wzp-call-offer.c      the signed offer and answer
 *   wzp-call-incoming.c   a verified incoming call until it is answered
 *   wzp-call-relay-leg.c  the relay leg of an active call: channel, proof
 *                         for resume-call, silence
 *   wzp-call-relays.c     the relay list: parse, resolve, order
 *   wzp-call-error.c      error domain and texts for users
 */
#pragma once

#include "wzp-call.h"
#include "wzp-call-offer.h"
#include "wzp-call-incoming.h"
#include "wzp-call-relay-leg.h"
#include "wzp-call-relays.h"
#include "wzp-call-room.h"
#include "wzp-call-private.h"
#include "wzp-signal-client.h"
#include "wzp-path.h"
#include "wzp-candidates.h"
#include "wzp-endpoint.h"
#include "wzp-media-crypto.h"
#include "wzp-random.h"

G_BEGIN_DECLS

/* Default of WzpCall:relay-timeout: how long a call waits for the relay
 * before it fails (the signaling client retries with backoff meanwhile). */
#define DEFAULT_RELAY_TIMEOUT_MS 10000
/* Default of WzpCall:media-timeout: an active call with neither media nor
 * a relay for this long has failed.  Longer than a relay restart takes
 * (a few seconds, then the relay leg resumes), short enough that a user
 * learns it in seconds. */
#define DEFAULT_MEDIA_TIMEOUT_MS 10000
/* While a call is active, reconnect to a lost relay at least this often
 * (the signal client's backoff otherwise grows to 5 s). */
#define ACTIVE_RECONNECT_MAX (1 * WZP_NSEC_PER_SEC)
/* How often an active call refreshes its RTT and checks for silence. */
#define WATCHDOG_INTERVAL (250 * WZP_NSEC_PER_MSEC)
/* Frames queued by other threads before the context sends them. */
#define SEND_QUEUE_MAX 64
/* A resume-call not answered within this is asked again (in a cluster
 * the node it went to may have died since). */
#define RESUME_RETRY (1 * WZP_NSEC_PER_SEC)
/* How long the signaling connection stays open after we hung up, so the
 * hang-up message is delivered (and retransmitted if lost). */
#define HANGUP_LINGER (500 * WZP_NSEC_PER_MSEC)

typedef enum
{
  ANSWER_NONE,
  ANSWER_ACCEPT,
  ANSWER_REJECT,
} AnswerRequest;

struct _WzpCall
{
  GObject parent;

  /* settings */
  GMainContext *context;
  WzpClock *clock;
  WzpIdentity *identity;
  char *relay;
  char *relay_fingerprint;
  char *peer;
  char *room;
  char *room_owner;
  char *room_invite;
  gboolean room_open;
  char *bind_address;
  WzpAnswerPolicy answer_policy;
  WzpPathPolicy path_policy;
  gboolean gather_loopback;
  guint relay_timeout_ms;
  guint media_timeout_ms;
  WzpRelaySelection relay_selection;
  WzpPathTimings *timings;

  /* context-thread state */
  WzpEndpoint *endpoint;
  WzpSignalClient *signal;
  /* The media leg to the relay node hosting our call or room, when it is
   * not the one we are registered at (docs/CLUSTER.md). */
  WzpSignalClient *media_leg;
  GSource *resume_timer;
  /* Relayed media that came before our call-setup (in a cluster the
   * peer's setup may take a shorter way than ours): opened once the keys
   * are there. */
  GQueue early_media;           /* of EarlyPacket */
  WzpPathManager *path;
  WzpCandidates *local_candidates;
  GSource *register_timeout;
  GSource *linger;
  GSource *watchdog;
  gboolean hangup_sent;
  gboolean call_placed;
  char *call_id;
  guint8 call_id_bin[WZP_CALL_ID_BYTES];
  gboolean is_caller;
  char *active_peer;
  guint32 channel;
  WzpX25519Key *eph;
  guint8 caller_eph[WZP_EPH_KEY_LEN];
  guint8 punch_token[WZP_PATH_TOKEN_LEN];
  WzpMediaSealer *sealer;
  WzpMediaOpener *opener;
  WzpCallRoom *room_state;
  WzpCallIncoming *incoming;    /* ringing here, not answered yet */
  WzpRelayLeg leg;
  WzpConnection *direct;        /* watched for the peer's hang-up */
  gulong direct_closed_id;
  guint64 setup_at;
  const char *fail_file;
  const char *fail_function;
  int fail_line;
  WzpCallFrameFunc frame_func;
  gpointer frame_data;
  GDestroyNotify frame_notify;

  /* shared with other threads, under lock */
  GMutex lock;
  WzpCallState state;
  WzpPathKind current_path;
  WzpRelayState relay_state;
  WzpCallStats stats;
  GQueue send_queue;            /* of Frame */
  gboolean hangup_requested;
  char *ringing_call_id;        /* the incoming call an answer may name */
  AnswerRequest answer;
  GSource *wake;
};

typedef struct
{
  guint32 timestamp;
  gboolean marker;
  gsize len;
  guint8 data[];
} Frame;

/* wzp-call.c */
gboolean _wzp_call_is_over (WzpCallState s);
/* Takes @reason. */
void _wzp_call_set_state (WzpCall * self, WzpCallState state,
    GError * reason);
/* Takes @reason; records where (for wzp_call_get_failure_origin()). */
void _wzp_call_fail_at (WzpCall * self, const char *file,
    const char *function, int line, GError * reason);
void _wzp_call_set_path (WzpCall * self, WzpPathKind path,
    const char *reason);
/* Takes @reason. */
void _wzp_call_set_relay_state (WzpCall * self, WzpRelayState state,
    GError * reason);
void _wzp_call_set_ringing_id (WzpCall * self, const char *call_id);
void _wzp_call_stop_everything (WzpCall * self);
void _wzp_call_emit_incoming (WzpCall * self, const char *caller,
    const char *call_id);
/* Ends the call with an error.  A macro, so g_error_new() checks the
 * format where it is written, and the failure's origin is that line. */
#define _wzp_call_fail(self, code, ...) \
  _wzp_call_fail_at ((self), __FILE__, G_STRFUNC, __LINE__, \
      g_error_new (WZP_CALL_ERROR, (code), __VA_ARGS__))

/* wzp-call-signaling.c */
void _wzp_call_connect_signaling (WzpCall * self);
void _wzp_call_gather_candidates (WzpCall * self);
gboolean _wzp_call_register_timed_out (gpointer user_data);
/* The application's answer to the ringing incoming call (context). */
void _wzp_call_decide_incoming (WzpCall * self, gboolean accept);
/* The peer hung up (relay or direct connection). */
void _wzp_call_peer_hung_up (WzpCall * self, const char *how);

/* Drops the media leg, if any. */
void _wzp_call_drop_media_leg (WzpCall * self);

/* wzp-call-media.c */
void _wzp_call_on_relay_media (WzpSignalClient * client, guint32 channel,
    const guint8 * data, gsize len, gpointer user_data);
/* Relayed media: on the media leg when there is one up, else on the
 * signaling connection. */
gboolean _wzp_call_send_relay_media (WzpCall * self, guint32 channel,
    const guint8 * data, gsize len);
/* After the setup derived the keys: opens what came early, on the
 * call's channel; forgets the rest. */
void _wzp_call_replay_early_media (WzpCall * self);
gboolean _wzp_call_on_wake (gpointer user_data);
gboolean _wzp_call_derive_keys (WzpCall * self, const guint8 * peer_eph,
    GError ** error);
void _wzp_call_start_path (WzpCall * self, const WzpOfferInfo * peer,
    GSocketAddress * peer_reflexive, WzpNatType peer_nat);
void _wzp_call_start_watchdog (WzpCall * self);
/* Closes the direct connection with "hangup", so a peer the relay cannot
 * tell learns it there. */
void _wzp_call_hang_up_direct (WzpCall * self);

G_END_DECLS
