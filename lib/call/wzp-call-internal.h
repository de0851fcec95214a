/* wzp-call-internal.h — WzpCall's instance struct and what its core file
 * shares with the file that installs its properties (private)
 *
 * WzpCall is a core file and helpers that call nothing back into it
 * (tests/check-cycles.py checks that from the object files):
 *
 *   wzp-call.c            the core: the object, its state, starting and
 *                         stopping, the relay's events (registration,
 *                         incoming calls, setup, end, losing and regaining
 *                         the relay), the media, the path manager, the
 *                         watchdog, and acting on the queued requests
 * helpers, each driven by the core:
 *   wzp-call-props.c      the properties (specs, docs, reading and
 *                         writing), the signals, the getters, the
 *                         settings check
 *   wzp-call-requests.c   what other threads ask: frames to send, hang-up,
 *                         answer, reject (queued; the core acts on them)
 *   wzp-call-enums.c      the enum GTypes and their names
 *   wzp-call-handshake.c  the key exchange: offer, answer, setup check
 *   wzp-call-media.c      keys, sealing and sending, opening, counters
 *   wzp-call-early.c      media on a LAN before the relay's call-setup:
 *                         the callee's greeting and the caller's checks
 *   wzp-call-roam.c       network changes mid-call: notice, tell the
 *                         peer, hand the path manager new candidates
 *   wzp-call-room.c       a room (its keys: wzp-call-room-keys.c); it
 *                         reports back through WzpCallRoomEvents
 *   wzp-call-incoming.c   a verified incoming call until it is answered
 *   wzp-call-relay-leg.c  the relay leg of an active call
 *   wzp-call-relays.c     the relay list: parse, resolve, order
 *   wzp-call-media-leg.c  the media leg to the cluster node hosting the
 *                         call or room, when it is not ours
 *   wzp-call-offer.c      the signed offer and answer
 *   wzp-call-error.c      the error domain and the texts users see
 */
#pragma once

#include "wzp-call.h"
#include "wzp-call-handshake.h"
#include "wzp-call-early.h"
#include "wzp-call-incoming.h"
#include "wzp-call-media.h"
#include "wzp-call-relay-leg.h"
#include "wzp-call-relays.h"
#include "wzp-call-media-leg.h"
#include "wzp-call-room.h"
#include "wzp-call-roam.h"
#include "wzp-call-private.h"
#include "wzp-signal-client.h"
#include "wzp-path.h"
#include "wzp-candidates.h"
#include "wzp-endpoint.h"

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

enum
{
  PROP_0,
  PROP_CONTEXT,
  PROP_IDENTITY,
  PROP_RELAY,
  PROP_RELAY_FINGERPRINT,
  PROP_PEER,
  PROP_ROOM,
  PROP_ROOM_OWNER,
  PROP_ROOM_INVITE,
  PROP_ROOM_OPEN,
  PROP_ANSWER_POLICY,
  PROP_PATH_POLICY,
  PROP_BIND_ADDRESS,
  PROP_GATHER_LOOPBACK,
  PROP_RELAY_TIMEOUT,
  PROP_NAT_SPRAY,
  PROP_MEDIA_TIMEOUT,
  PROP_RELAY_SELECTION,
  PROP_STATE,
  PROP_PATH,
  PROP_RELAY_STATE,
  N_PROPS
};

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_INCOMING_CALL,
  SIGNAL_PATH_CHANGED,
  SIGNAL_RELAY_STATE_CHANGED,
  SIGNAL_ROOM_MEMBER_JOINED,
  SIGNAL_ROOM_MEMBER_LEFT,
  SIGNAL_ROOM_REKEYED,
  N_SIGNALS
};

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
  gboolean no_early_start;      /* test hook: race only after setup */
  guint relay_timeout_ms;
  guint nat_spray;
  guint media_timeout_ms;
  WzpRelaySelection relay_selection;
  WzpPathTimings *timings;

  /* the context's thread */
  WzpEndpoint *endpoint;
  WzpSignalClient *signal;
  WzpPathListener *listener;    /* who may connect directly, from start */
  /* The media leg to the relay node hosting our call or room, when it is
   * not the one we are registered at (docs/CLUSTER.md). */
  WzpSignalClient *media_leg;
  GSource *resume_timer;
  WzpPathManager *path;
  WzpCallRoam *roam;            /* network changes, while the path runs */
  WzpCandidates *local_candidates;
  GSource *register_timeout;
  GSource *linger;
  GSource *watchdog;
  gboolean hangup_sent;
  gboolean call_placed;
  gboolean was_registered;
  char *call_id;
  char *active_peer;
  guint32 channel;
  WzpCallHandshake handshake;
  WzpCallMedia media;
  WzpCallEarly early;
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

  /* shared with other threads, under the lock (the media counters have
   * their own) */
  GMutex lock;
  WzpCallState state;
  WzpPathKind current_path;
  WzpRelayState relay_state;
  guint64 rtt_ns;
  guint64 path_changes;
  guint64 setup_ns;
  guint64 relay_losses;
  WzpRelayChannelStats relay_channel;  /* the relay media channel, last seen */
  GQueue send_queue;            /* of Frame */
  gboolean hangup_requested;
  gboolean warned_too_long;     /* a frame over WZP_CALL_MAX_FRAME came */
  char *ringing_call_id;        /* the incoming call an answer may name */
  AnswerRequest answer;
  GSource *wake;
};

/* A frame queued by wzp_call_send_frame(). */
typedef struct
{
  guint32 timestamp;
  gboolean marker;
  gsize len;
  guint8 data[];
} Frame;

/* wzp-call-props.c */
void _wzp_call_install_properties (GObjectClass * klass, GParamSpec ** props);
void _wzp_call_install_signals (GObjectClass * klass, guint * signals);
void _wzp_call_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
void _wzp_call_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
/* Checks the settings wzp_call_start() needs; @relays gets the entries
 * of the relay list (WzpRelayEntry).  A WZP_CALL_ERROR_INVALID_SETTINGS
 * (or _NOT_ADMITTED: a room's invitation). */
gboolean _wzp_call_check_settings (WzpCall * self, GPtrArray ** relays,
    GError ** error);

G_END_DECLS
