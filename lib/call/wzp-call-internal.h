/* wzp-call-internal.h — what the files of WzpCall share (private)
 *
 *   wzp-call.c            the object: properties, state, start and stop
 *   wzp-call-signaling.c  registration, offer/answer, setup, end of call
 *   wzp-call-media.c      sealing, sending, opening; keys; the path manager
 *   wzp-call-room.c       rooms: admission, members (wzp-call-room-keys.c:
 *                         their sender keys)
 */
#pragma once

#include "wzp-call.h"
#include "wzp-call-offer.h"
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
/* Frames queued by other threads before the context sends them. */
#define SEND_QUEUE_MAX 64
/* How long the signaling connection stays open after we hung up, so the
 * hang-up message is delivered (and retransmitted if lost). */
#define HANGUP_LINGER (500 * WZP_NSEC_PER_MSEC)

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
  WzpPathTimings *timings;

  /* context-thread state */
  WzpEndpoint *endpoint;
  WzpSignalClient *signal;
  WzpPathManager *path;
  WzpCandidates *local_candidates;
  GSource *register_timeout;
  GSource *linger;
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
  guint64 setup_at;
  WzpCallFrameFunc frame_func;
  gpointer frame_data;
  GDestroyNotify frame_notify;

  /* shared with other threads, under lock */
  GMutex lock;
  WzpCallState state;
  WzpPathKind current_path;
  WzpCallStats stats;
  GQueue send_queue;            /* of Frame */
  gboolean hangup_requested;
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
void _wzp_call_set_path (WzpCall * self, WzpPathKind path,
    const char *reason);
void _wzp_call_stop_everything (WzpCall * self);
gboolean _wzp_call_ask (WzpCall * self, const char *caller);
/* Ends the call with an error.  A macro, so g_error_new() checks the
 * format where it is written. */
#define _wzp_call_fail(self, code, ...) \
  _wzp_call_set_state ((self), WZP_CALL_STATE_FAILED, \
      g_error_new (WZP_CALL_ERROR, (code), __VA_ARGS__))

/* wzp-call-signaling.c */
void _wzp_call_connect_signaling (WzpCall * self);
void _wzp_call_gather_candidates (WzpCall * self);
gboolean _wzp_call_register_timed_out (gpointer user_data);

/* wzp-call-media.c */
void _wzp_call_on_relay_media (WzpSignalClient * client, guint32 channel,
    const guint8 * data, gsize len, gpointer user_data);
gboolean _wzp_call_on_wake (gpointer user_data);
gboolean _wzp_call_derive_keys (WzpCall * self, const guint8 * peer_eph,
    GError ** error);
void _wzp_call_start_path (WzpCall * self, const WzpOfferInfo * peer,
    GSocketAddress * peer_reflexive, WzpNatType peer_nat);

G_END_DECLS
