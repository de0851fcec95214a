/* wzp-call.c — one party of a call: signaling, keys, media, paths
 *
 * Order of events for the caller:
 *   start → endpoint bound → signaling registered → NAT probe answered
 *   (or timed out) → `call` with a signed offer → ringing → call-setup with
 *   the callee's signed answer → keys derived → ACTIVE: media flows on
 *   the relay at once, and the path manager races to a direct path.
 * The callee registers, waits, verifies the offer of an incoming call,
 * answers per its policy with a signed answer, and gets the same setup.
 *
 * Media frames cross threads: wzp_call_send_frame() queues under a lock
 * and wakes the context through a ready-time source; sealing and sending
 * happen on the context.
 */
#include "config.h"

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
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* Default of WzpCall:relay-timeout: how long a call waits for the relay
 * before it fails (the signaling client retries with backoff meanwhile). */
#define DEFAULT_RELAY_TIMEOUT_MS 10000
/* How long the caller waits for the NAT probe before it places the call
 * anyway (the type is then "unknown"). */
#define NAT_PROBE_WAIT (500 * WZP_NSEC_PER_MSEC)
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
  GSource *nat_wait;
  GSource *linger;
  gboolean hangup_sent;
  gboolean call_placed;
  char *call_id;
  guint8 call_id_bin[WZP_CALL_ID_LEN];
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

enum
{
  PROP_0,
  PROP_CONTEXT,
  PROP_CLOCK,
  PROP_IDENTITY,
  PROP_RELAY,
  PROP_RELAY_FINGERPRINT,
  PROP_PEER,
  PROP_ROOM,
  PROP_ANSWER_POLICY,
  PROP_PATH_POLICY,
  PROP_BIND_ADDRESS,
  PROP_GATHER_LOOPBACK,
  PROP_RELAY_TIMEOUT,
  PROP_STATE,
  PROP_PATH,
  N_PROPS
};

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_INCOMING_CALL,
  SIGNAL_PATH_CHANGED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WzpCall, wzp_call, G_TYPE_OBJECT);

GQuark
wzp_call_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-call-error-quark");
  return q;
}

/* --- enums ------------------------------------------------------------ */

GType
wzp_call_state_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_CALL_STATE_IDLE, "WZP_CALL_STATE_IDLE", "idle"},
    {WZP_CALL_STATE_CONNECTING, "WZP_CALL_STATE_CONNECTING", "connecting"},
    {WZP_CALL_STATE_WAITING, "WZP_CALL_STATE_WAITING", "waiting"},
    {WZP_CALL_STATE_RINGING, "WZP_CALL_STATE_RINGING", "ringing"},
    {WZP_CALL_STATE_ACTIVE, "WZP_CALL_STATE_ACTIVE", "active"},
    {WZP_CALL_STATE_ENDED, "WZP_CALL_STATE_ENDED", "ended"},
    {WZP_CALL_STATE_FAILED, "WZP_CALL_STATE_FAILED", "failed"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpCallState", values));
  return type;
}

GType
wzp_answer_policy_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_ANSWER_POLICY_AUTO, "Accept every incoming call", "auto"},
    {WZP_ANSWER_POLICY_REJECT, "Reject every incoming call", "reject"},
    {WZP_ANSWER_POLICY_ASK, "Ask through the incoming-call signal", "ask"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpAnswerPolicy",
            values));
  return type;
}

const char *
wzp_call_state_to_string (WzpCallState state)
{
  GEnumValue *v = g_enum_get_value (g_type_class_peek_static
      (wzp_call_state_get_type ()), state);

  if (v == NULL) {
    g_type_class_unref (g_type_class_ref (wzp_call_state_get_type ()));
    v = g_enum_get_value (g_type_class_peek_static
        (wzp_call_state_get_type ()), state);
  }
  return v ? v->value_nick : "invalid";
}

/* --- state ------------------------------------------------------------ */

static gboolean
is_over (WzpCallState s)
{
  return s == WZP_CALL_STATE_ENDED || s == WZP_CALL_STATE_FAILED;
}

static void stop_everything (WzpCall * self);

static gboolean
linger_done (gpointer user_data)
{
  WzpCall *self = user_data;

  WZP_DEBUG_OBJECT (self, "closing the signaling connection");
  if (self->signal)
    wzp_signal_client_stop (self->signal);
  g_clear_pointer (&self->linger, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Takes @reason. */
static void
set_state (WzpCall * self, WzpCallState state, GError * reason)
{
  WzpCallState old;

  g_mutex_lock (&self->lock);
  old = self->state;
  if (old == state || is_over (old)) {
    g_mutex_unlock (&self->lock);
    g_clear_error (&reason);
    return;
  }
  self->state = state;
  self->stats.state = state;
  g_mutex_unlock (&self->lock);

  if (reason)
    WZP_INFO_OBJECT (self, "%s -> %s: %s", wzp_call_state_to_string (old),
        wzp_call_state_to_string (state), reason->message);
  else
    WZP_INFO_OBJECT (self, "%s -> %s", wzp_call_state_to_string (old),
        wzp_call_state_to_string (state));
  if (is_over (state))
    stop_everything (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, state, reason);
  g_clear_error (&reason);
}

/* Ends the call with an error.  A macro, so g_error_new() checks the
 * format where it is written. */
#define fail(self, code, ...) \
  set_state ((self), WZP_CALL_STATE_FAILED, \
      g_error_new (WZP_CALL_ERROR, (code), __VA_ARGS__))

static void
set_path (WzpCall * self, WzpPathKind path, const char *reason)
{
  g_mutex_lock (&self->lock);
  if (self->current_path == path) {
    g_mutex_unlock (&self->lock);
    return;
  }
  self->current_path = path;
  self->stats.path = path;
  self->stats.path_changes++;
  g_mutex_unlock (&self->lock);
  WZP_INFO_OBJECT (self, "media path: %s (%s)", wzp_path_kind_to_string (path),
      reason);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PATH]);
  g_signal_emit (self, signals[SIGNAL_PATH_CHANGED], 0, path, reason);
}

/* --- receiving media -------------------------------------------------- */

static void
deliver (WzpCall * self, const char *sender, WzpMediaOpener * opener,
    const guint8 * data, gsize len, WzpPathKind path)
{
  guint8 plain[WZP_MEDIA_MAX_PAYLOAD];
  WzpMediaHeader hdr;
  WzpMediaOpenerStats os;
  WzpCallFrame frame;
  gssize n;
  g_autoptr (GError) error = NULL;

  n = wzp_media_opener_open (opener, data, len, &hdr, plain, sizeof plain,
      &error);
  wzp_media_opener_get_stats (opener, &os);
  g_mutex_lock (&self->lock);
  self->stats.replayed = os.replayed;
  if (n < 0) {
    /* A copy from the other path during a switch and a replay look the
     * same to the receiver: both are dropped by the replay window. */
    if (g_error_matches (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_REPLAYED))
      self->stats.duplicates++;
    else
      self->stats.forged++;
    g_mutex_unlock (&self->lock);
    WZP_LOG_OBJECT (self, "dropped a media packet on the %s path: %s",
        wzp_path_kind_to_string (path), error->message);
    return;
  }
  self->stats.frames_received++;
  self->stats.bytes_received += n;
  if (self->stats.setup_ns == 0 && self->setup_at)
    self->stats.setup_ns = wzp_clock_get_time (self->clock) - self->setup_at;
  g_mutex_unlock (&self->lock);

  if (self->frame_func == NULL)
    return;
  frame.sender = sender;
  frame.seq = hdr.seq;
  frame.timestamp = hdr.timestamp;
  frame.marker = (hdr.flags & WZP_MEDIA_FLAG_MARKER) != 0;
  frame.data = plain;
  frame.len = n;
  frame.arrival_ns = wzp_clock_get_time (self->clock);
  frame.path = path;
  self->frame_func (&frame, self->frame_data);
}

static void
on_relay_media (WzpSignalClient * client, guint32 channel,
    const guint8 * data, gsize len, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->room_state) {
    WzpMediaOpener *opener;
    const char *sender;

    opener = _wzp_call_room_opener_for (self->room_state, channel, data, len,
        &sender);
    if (opener)
      deliver (self, sender, opener, data, len, WZP_PATH_RELAY);
    return;
  }
  if (self->opener == NULL || channel != self->channel)
    return;
  deliver (self, self->active_peer, self->opener, data, len, WZP_PATH_RELAY);
}

static void
on_direct_media (const guint8 * data, gsize len, gpointer user_data)
{
  WzpCall *self = user_data;

  if (self->opener)
    deliver (self, self->active_peer, self->opener, data, len, WZP_PATH_DIRECT);
}

/* --- sending media ---------------------------------------------------- */

static void
send_one (WzpCall * self, Frame * f)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  gssize n;
  gboolean sent = FALSE;
  WzpMediaSealer *sealer = self->room_state ?
      _wzp_call_room_get_sealer (self->room_state) : self->sealer;
  g_autoptr (GError) error = NULL;

  if (sealer == NULL)
    return;
  n = wzp_media_sealer_seal (sealer, WZP_MEDIA_CODEC_OPUS,
      f->marker ? WZP_MEDIA_FLAG_MARKER : 0, f->timestamp, f->data, f->len,
      packet, sizeof packet, &error);
  if (n < 0) {
    WZP_WARNING_OBJECT (self, "cannot seal a frame: %s", error->message);
    g_mutex_lock (&self->lock);
    self->stats.frames_dropped_send++;
    g_mutex_unlock (&self->lock);
    return;
  }
  if (self->room_state) {
    sent = wzp_signal_client_send_media (self->signal,
        _wzp_call_room_get_channel (self->room_state), packet, n);
  } else {
    gboolean direct = self->path && wzp_path_manager_send (self->path,
        packet, n);
    /* During a switch both paths carry the frame; the receiver's replay
     * window drops the second copy. */
    if (!direct || wzp_path_manager_should_duplicate (self->path))
      sent = wzp_signal_client_send_media (self->signal, self->channel,
          packet, n) || direct;
    else
      sent = TRUE;
  }
  g_mutex_lock (&self->lock);
  if (sent) {
    self->stats.frames_sent++;
    self->stats.bytes_sent += f->len;
  } else {
    self->stats.frames_dropped_send++;
  }
  g_mutex_unlock (&self->lock);
}

static gboolean
on_wake (gpointer user_data)
{
  WzpCall *self = user_data;
  GQueue frames = G_QUEUE_INIT;
  gboolean hangup;
  Frame *f;

  g_source_set_ready_time (self->wake, -1);
  g_mutex_lock (&self->lock);
  frames = self->send_queue;
  g_queue_init (&self->send_queue);
  hangup = self->hangup_requested;
  self->hangup_requested = FALSE;
  g_mutex_unlock (&self->lock);

  while ((f = g_queue_pop_head (&frames))) {
    send_one (self, f);
    g_free (f);
  }
  if (hangup && !is_over (self->state)) {
    if (self->call_id && self->signal)
      self->hangup_sent = wzp_signal_client_hangup (self->signal,
          self->call_id, NULL);
    if (self->room && self->signal)
      self->hangup_sent = wzp_signal_client_leave_room (self->signal,
          self->room, NULL);
    set_state (self, WZP_CALL_STATE_ENDED, g_error_new_literal
        (WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED, "hung up locally"));
  }
  return G_SOURCE_CONTINUE;
}

gboolean
wzp_call_send_frame (WzpCall * self, guint32 timestamp, gboolean marker,
    const guint8 * data, gsize len)
{
  Frame *f;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  if (len > WZP_MEDIA_MAX_PAYLOAD)
    return FALSE;
  g_mutex_lock (&self->lock);
  if (self->state != WZP_CALL_STATE_ACTIVE) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  if (self->send_queue.length >= SEND_QUEUE_MAX) {
    /* The context is not keeping up: a real-time sender drops. */
    self->stats.frames_dropped_send++;
    g_mutex_unlock (&self->lock);
    return TRUE;
  }
  f = g_malloc (sizeof (Frame) + len);
  f->timestamp = timestamp;
  f->marker = marker;
  f->len = len;
  memcpy (f->data, data, len);
  g_queue_push_tail (&self->send_queue, f);
  g_mutex_unlock (&self->lock);
  /* Thread-safe: wakes the context if it is polling. */
  g_source_set_ready_time (self->wake, 0);
  return TRUE;
}

void
wzp_call_hangup (WzpCall * self)
{
  g_return_if_fail (WZP_IS_CALL (self));
  g_mutex_lock (&self->lock);
  self->hangup_requested = TRUE;
  g_mutex_unlock (&self->lock);
  if (self->wake)
    g_source_set_ready_time (self->wake, 0);
}

/* --- keys and paths --------------------------------------------------- */

/* A token both peers can compute and the relay cannot: a hash of the
 * caller-to-callee media key, which only the two peers hold. */
static void
compute_punch_token (WzpCall * self, const WzpMediaKey * caller_to_callee)
{
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;
  guint8 key_bytes[WZP_MEDIA_KEY_BYTES];
  const char tag[] = "wzp-punch-v1";

  wzp_media_key_to_bytes (caller_to_callee, key_bytes);
  g_checksum_update (c, (const guint8 *) tag, sizeof tag);
  g_checksum_update (c, key_bytes, sizeof key_bytes);
  g_checksum_get_digest (c, digest, &len);
  g_checksum_free (c);
  memset (key_bytes, 0, sizeof key_bytes);
  memcpy (self->punch_token, digest, WZP_PATH_TOKEN_LEN);
}

static gboolean
derive_keys (WzpCall * self, const guint8 * peer_eph, GError ** error)
{
  WzpMediaKey tx, rx;
  const guint8 *caller_eph = self->is_caller ?
      wzp_x25519_key_get_public (self->eph) : peer_eph;
  const guint8 *callee_eph = self->is_caller ? peer_eph :
      wzp_x25519_key_get_public (self->eph);

  if (!wzp_media_keys_derive_pair (self->eph->priv, peer_eph,
          self->call_id_bin, caller_eph, callee_eph, self->is_caller, &tx, &rx,
          error))
    return FALSE;
  compute_punch_token (self, self->is_caller ? &tx : &rx);
  self->sealer = wzp_media_sealer_new (&tx, error);
  if (self->sealer)
    self->opener = wzp_media_opener_new (&rx, error);
  wzp_media_key_clear (&tx);
  wzp_media_key_clear (&rx);
  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  return self->opener != NULL;
}

static void
on_path_changed (WzpPathManager * pm, WzpPathKind path, const char *reason,
    gpointer user_data)
{
  set_path (user_data, path == WZP_PATH_NONE ? WZP_PATH_RELAY : path, reason);
}

static void
on_race_finished (WzpPathManager * pm, gboolean direct, const char *reason,
    gpointer user_data)
{
  WzpCall *self = user_data;

  if (!direct && self->path_policy == WZP_PATH_POLICY_DIRECT_ONLY)
    fail (self, WZP_CALL_ERROR_NO_PATH, "no direct path to %s: %s",
        self->active_peer, reason);
}

static void
start_path (WzpCall * self, const WzpOfferInfo * peer,
    GSocketAddress * peer_reflexive, WzpNatType peer_nat)
{
  WzpPathConfig cfg;
  g_autoptr (WzpCandidates) theirs = wzp_candidates_new ();
  g_autoptr (GError) error = NULL;

  if (self->path_policy == WZP_PATH_POLICY_RELAY_ONLY)
    return;
  for (guint i = 0; i < peer->candidates->len; i++)
    wzp_candidates_add_string (theirs, WZP_CANDIDATE_HOST,
        g_ptr_array_index (peer->candidates, i), NULL);
  if (peer_reflexive)
    wzp_candidates_add_reflexive (theirs, peer_reflexive);

  wzp_path_config_init (&cfg);
  cfg.local_fingerprint = wzp_identity_get_fingerprint (self->identity);
  cfg.peer_fingerprint = self->active_peer;
  cfg.local_nat = wzp_signal_client_get_nat_type (self->signal);
  cfg.peer_nat = peer_nat;
  cfg.local_candidates = self->local_candidates;
  cfg.peer_candidates = theirs;
  cfg.policy = self->path_policy;
  if (self->timings)
    cfg.timings = *self->timings;
  memcpy (cfg.call_token, self->punch_token, WZP_PATH_TOKEN_LEN);
  self->path = wzp_path_manager_new (self->endpoint, &cfg, &error);
  if (self->path == NULL) {
    WZP_WARNING_OBJECT (self, "no direct path: %s", error->message);
    return;
  }
  wzp_path_manager_set_media_handler (self->path, on_direct_media, self, NULL);
  g_signal_connect (self->path, "path-changed", G_CALLBACK (on_path_changed),
      self);
  g_signal_connect (self->path, "race-finished",
      G_CALLBACK (on_race_finished), self);
  if (!wzp_path_manager_start (self->path, &error))
    WZP_WARNING_OBJECT (self, "no direct path: %s", error->message);
}

/* --- signaling -------------------------------------------------------- */

static void
gather_candidates (WzpCall * self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  g_clear_pointer (&self->local_candidates, wzp_candidates_unref);
  self->local_candidates = wzp_candidates_gather (self->endpoint,
      self->gather_loopback ? WZP_GATHER_LOOPBACK : WZP_GATHER_NONE, &error);
  if (self->local_candidates == NULL) {
    WZP_WARNING_OBJECT (self, "no host candidates: %s", error->message);
    self->local_candidates = wzp_candidates_new ();
  }
  text = wzp_candidates_to_string (self->local_candidates);
  WZP_DEBUG_OBJECT (self, "host candidates: %s", text);
}

static GPtrArray *
candidate_strings (WzpCall * self)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) v = wzp_candidates_to_strv (self->local_candidates);

  for (guint i = 0; v && v[i]; i++)
    g_ptr_array_add (a, g_strdup (v[i]));
  return a;
}

static const char *
my_nat (WzpCall * self)
{
  return wzp_nat_type_to_string (wzp_signal_client_get_nat_type (self->signal));
}

static void
place_call (WzpCall * self)
{
  g_autoptr (JsonObject) offer = NULL;
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  const char *me = wzp_identity_get_fingerprint (self->identity);

  g_clear_pointer (&self->nat_wait, wzp_clock_source_destroy_and_unref);
  if (self->call_placed || is_over (self->state))
    return;
  self->call_placed = TRUE;
  self->is_caller = TRUE;
  g_free (self->active_peer);
  self->active_peer = wzp_fingerprint_normalize (self->peer, NULL);
  wzp_random_bytes (self->call_id_bin, WZP_CALL_ID_LEN);
  g_free (self->call_id);
  self->call_id = g_malloc (2 * WZP_CALL_ID_LEN + 1);
  for (guint i = 0; i < WZP_CALL_ID_LEN; i++)
    g_snprintf (self->call_id + 2 * i, 3, "%02x", self->call_id_bin[i]);
  self->eph = wzp_x25519_generate (&error);
  if (self->eph == NULL) {
    fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  memcpy (self->caller_eph, wzp_x25519_key_get_public (self->eph),
      WZP_EPH_KEY_LEN);
  cands = candidate_strings (self);
  offer = _wzp_offer_build (self->identity, self->call_id_bin, me,
      self->active_peer, self->caller_eph, NULL, cands, my_nat (self));
  id = wzp_signal_client_place_call (self->signal, self->active_peer,
      self->call_id, offer, &error);
  if (id == NULL) {
    fail (self, WZP_CALL_ERROR_FAILED, "cannot place the call: %s",
        error->message);
    return;
  }
  WZP_INFO_OBJECT (self, "calling %s (call %s)", self->active_peer,
      self->call_id);
}

static gboolean
nat_wait_expired (gpointer user_data)
{
  WzpCall *self = user_data;

  WZP_DEBUG_OBJECT (self, "no NAT type yet; calling anyway");
  place_call (self);
  return G_SOURCE_REMOVE;
}

static void
on_nat_type (GObject * obj, GParamSpec * pspec, gpointer user_data)
{
  WzpCall *self = user_data;

  WZP_DEBUG_OBJECT (self, "our NAT mapping: %s", my_nat (self));
  if (self->nat_wait)
    place_call (self);
}

static void
on_registered (WzpSignalClient * client, GSocketAddress * observed,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autofree char *addr = wzp_socket_address_to_string (observed);
  g_autoptr (GError) error = NULL;

  g_clear_pointer (&self->register_timeout, wzp_clock_source_destroy_and_unref);
  WZP_INFO_OBJECT (self, "registered as %s; the relay sees us at %s",
      wzp_identity_get_fingerprint (self->identity), addr);
  if (is_over (self->state))
    return;
  if (self->state == WZP_CALL_STATE_ACTIVE ||
      self->state == WZP_CALL_STATE_RINGING) {
    /* A re-registration after a dropped signaling connection: the call
     * goes on (the relay keeps calls by fingerprint). */
    return;
  }
  if (!wzp_signal_client_probe_nat (client, &error))
    WZP_DEBUG_OBJECT (self, "no NAT probe: %s", error->message);

  if (self->room) {
    set_state (self, WZP_CALL_STATE_RINGING, NULL);
    if (!_wzp_call_room_join (self->room_state, &error))
      fail (self, WZP_CALL_ERROR_FAILED, "cannot join room %s: %s",
          self->room, error->message);
  } else if (self->peer) {
    set_state (self, WZP_CALL_STATE_RINGING, NULL);
    /* The offer carries our NAT type; the probe takes one round trip. */
    if (wzp_signal_client_get_nat_type (client) != WZP_NAT_TYPE_UNKNOWN)
      place_call (self);
    else
      self->nat_wait = wzp_clock_timeout_add (self->clock, self->context,
          NAT_PROBE_WAIT, nat_wait_expired, self, NULL);
  } else {
    set_state (self, WZP_CALL_STATE_WAITING, NULL);
  }
}

static void
on_incoming_call (WzpSignalClient * client, const char *call_id,
    const char *from, GBytes * from_public_key, JsonObject * offer,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;
  g_autoptr (GPtrArray) cands = NULL;
  WzpOfferInfo info;
  gboolean accept = FALSE;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  g_autofree guint8 *id_bin = NULL;
  gsize key_len = 0;
  const guint8 *key = from_public_key ?
      g_bytes_get_data (from_public_key, &key_len) : NULL;
  g_autofree char *key_fp = NULL;

  if (self->state != WZP_CALL_STATE_WAITING || self->call_id) {
    WZP_INFO_OBJECT (self, "busy: rejecting call %s from %s", call_id, from);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  /* The relay vouches for the caller's key (it checked a signature over
   * its challenge); the key must still match the fingerprint. */
  if (key_len != WZP_PUBLIC_KEY_LEN || strlen (call_id) !=
      2 * WZP_CALL_ID_LEN ||
      !wzp_fingerprint_equal (from, key_fp =
          wzp_fingerprint_from_public_key (key))) {
    WZP_WARNING_OBJECT (self, "rejecting call %s: caller key does not match "
        "%s", call_id, from);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  for (guint i = 0; i < WZP_CALL_ID_LEN; i++) {
    char hex[3] = { call_id[2 * i], call_id[2 * i + 1], 0 };
    if (!g_ascii_isxdigit (hex[0]) || !g_ascii_isxdigit (hex[1])) {
      wzp_signal_client_reject (client, call_id, NULL);
      return;
    }
    self->call_id_bin[i] = (guint8) g_ascii_strtoull (hex, NULL, 16);
  }
  if (!_wzp_offer_parse (offer, self->call_id_bin, key_fp, me, key, NULL,
          &info, &error)) {
    WZP_WARNING_OBJECT (self, "rejecting call %s from %s: %s", call_id, from,
        error->message);
    wzp_signal_client_reject (client, call_id, NULL);
    return;
  }
  memcpy (self->caller_eph, info.eph, WZP_EPH_KEY_LEN);
  _wzp_offer_info_clear (&info);

  switch (self->answer_policy) {
    case WZP_ANSWER_POLICY_AUTO:
      accept = TRUE;
      break;
    case WZP_ANSWER_POLICY_REJECT:
      accept = FALSE;
      break;
    case WZP_ANSWER_POLICY_ASK:
      set_state (self, WZP_CALL_STATE_RINGING, NULL);
      g_signal_emit (self, signals[SIGNAL_INCOMING_CALL], 0, key_fp, &accept);
      break;
  }
  if (is_over (self->state))
    return;
  if (!accept) {
    WZP_INFO_OBJECT (self, "rejecting call %s from %s", call_id, key_fp);
    wzp_signal_client_reject (client, call_id, NULL);
    set_state (self, WZP_CALL_STATE_WAITING, NULL);
    return;
  }

  self->is_caller = FALSE;
  self->call_id = g_strdup (call_id);
  self->active_peer = g_strdup (key_fp);
  self->eph = wzp_x25519_generate (&error);
  if (self->eph == NULL) {
    fail (self, WZP_CALL_ERROR_FAILED, "%s", error->message);
    return;
  }
  cands = candidate_strings (self);
  answer = _wzp_offer_build (self->identity, self->call_id_bin, key_fp, me,
      wzp_x25519_key_get_public (self->eph), self->caller_eph, cands,
      my_nat (self));
  if (!wzp_signal_client_answer (client, call_id, answer, &error)) {
    fail (self, WZP_CALL_ERROR_FAILED, "cannot answer: %s", error->message);
    return;
  }
  set_state (self, WZP_CALL_STATE_RINGING, NULL);
  WZP_INFO_OBJECT (self, "answered call %s from %s", call_id, key_fp);
}

static void
on_call_setup (WzpSignalClient * client, WzpCallSetup * setup,
    gpointer user_data)
{
  WzpCall *self = user_data;
  g_autoptr (GError) error = NULL;
  WzpOfferInfo info;
  gsize key_len = 0;
  const guint8 *key;
  const char *me = wzp_identity_get_fingerprint (self->identity);
  WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;

  if (self->call_id == NULL || g_strcmp0 (setup->call_id, self->call_id) != 0
      || self->sealer != NULL) {
    WZP_DEBUG_OBJECT (self, "ignoring setup for call %s", setup->call_id);
    return;
  }
  key = setup->peer_public_key ?
      g_bytes_get_data (setup->peer_public_key, &key_len) : NULL;
  if (key_len != WZP_PUBLIC_KEY_LEN ||
      !wzp_fingerprint_equal (setup->peer_fingerprint, self->active_peer)) {
    fail (self, WZP_CALL_ERROR_BAD_PEER, "the relay set the call up with %s, "
        "not %s", setup->peer_fingerprint, self->active_peer);
    return;
  }
  {
    g_autofree char *fp = wzp_fingerprint_from_public_key (key);
    if (!wzp_fingerprint_equal (fp, self->active_peer)) {
      fail (self, WZP_CALL_ERROR_BAD_PEER, "peer key does not match %s",
          self->active_peer);
      return;
    }
  }
  if (!_wzp_offer_parse (setup->peer_blob, self->call_id_bin,
          self->is_caller ? me : self->active_peer,
          self->is_caller ? self->active_peer : me, key,
          self->is_caller ? self->caller_eph : NULL, &info, &error)) {
    fail (self, WZP_CALL_ERROR_BAD_PEER, "%s", error->message);
    return;
  }
  if (!self->is_caller && memcmp (info.eph, self->caller_eph,
          WZP_EPH_KEY_LEN) != 0) {
    _wzp_offer_info_clear (&info);
    fail (self, WZP_CALL_ERROR_BAD_PEER, "setup carries another offer");
    return;
  }
  if (!derive_keys (self, info.eph, &error)) {
    _wzp_offer_info_clear (&info);
    fail (self, WZP_CALL_ERROR_BAD_PEER, "no media keys: %s", error->message);
    return;
  }
  wzp_nat_type_from_string (info.nat, &peer_nat);
  self->channel = setup->channel;
  self->setup_at = wzp_clock_get_time (self->clock);
  WZP_INFO_OBJECT (self, "call %s set up with %s (relay channel %u, peer "
      "NAT %s)", self->call_id, self->active_peer, self->channel, info.nat);
  set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
  set_path (self, WZP_PATH_RELAY, "call set up: media starts on the relay");
  start_path (self, &info, setup->peer_reflexive, peer_nat);
  _wzp_offer_info_clear (&info);
}

static void
on_call_ended (WzpSignalClient * client, const char *call_id,
    const char *reason, gpointer user_data)
{
  WzpCall *self = user_data;
  WzpCallError code = WZP_CALL_ERROR_FAILED;
  const char *what = NULL;

  if (g_strcmp0 (call_id, self->call_id) != 0)
    return;
  if (!self->is_caller && self->sealer == NULL &&
      (g_str_equal (reason, "no-answer") || g_str_equal (reason, "hangup"))) {
    /* An incoming call that never got set up: wait for the next one. */
    g_clear_pointer (&self->call_id, g_free);
    g_clear_pointer (&self->eph, wzp_x25519_key_free);
    set_state (self, WZP_CALL_STATE_WAITING, NULL);
    return;
  }
  if (g_str_equal (reason, "peer-offline")) {
    code = WZP_CALL_ERROR_PEER_OFFLINE;
    what = "is not connected to the relay";
  } else if (g_str_equal (reason, "busy")) {
    code = WZP_CALL_ERROR_BUSY;
    what = "is busy in another call";
  } else if (g_str_equal (reason, "rejected")) {
    code = WZP_CALL_ERROR_REJECTED;
    what = "rejected the call";
  } else if (g_str_equal (reason, "no-answer")) {
    code = WZP_CALL_ERROR_NO_ANSWER;
    what = "did not answer";
  }
  if (what) {
    set_state (self, WZP_CALL_STATE_FAILED, g_error_new (WZP_CALL_ERROR,
            code, "%s %s", self->active_peer, what));
    return;
  }
  set_state (self, WZP_CALL_STATE_ENDED, g_error_new (WZP_CALL_ERROR,
          WZP_CALL_ERROR_FAILED, "%s ended the call (%s)", self->active_peer,
          reason));
}

static void
on_signal_error (WzpSignalClient * client, GError * error, gpointer user_data)
{
  WzpCall *self = user_data;

  if (g_error_matches (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_REFUSED) ||
      g_error_matches (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_SUPERSEDED))
    fail (self, WZP_CALL_ERROR_RELAY_REFUSED, "the relay refused us: %s",
        error->message);
  else
    WZP_DEBUG_OBJECT (self, "signaling: %s", error->message);
}

static gboolean
register_timed_out (gpointer user_data)
{
  WzpCall *self = user_data;

  g_clear_pointer (&self->register_timeout, g_source_unref);
  fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE,
      "cannot reach the relay at %s (no registration within %u ms)",
      self->relay, self->relay_timeout_ms);
  return G_SOURCE_REMOVE;
}

/* --- lifecycle -------------------------------------------------------- */

static void
stop_everything (WzpCall * self)
{
  g_clear_pointer (&self->register_timeout, wzp_clock_source_destroy_and_unref);
  g_clear_pointer (&self->nat_wait, wzp_clock_source_destroy_and_unref);
  if (self->path) {
    g_signal_handlers_disconnect_by_data (self->path, self);
    wzp_path_manager_set_media_handler (self->path, NULL, NULL, NULL);
    wzp_path_manager_stop (self->path);
    g_clear_object (&self->path);
  }
  g_clear_pointer (&self->room_state, _wzp_call_room_free);
  if (self->signal) {
    g_signal_handlers_disconnect_by_data (self->signal, self);
    wzp_signal_client_set_media_handler (self->signal, NULL, NULL, NULL);
    /* A hang-up we just sent must reach the relay before the connection
     * closes (a QUIC close discards unsent stream data). */
    if (self->hangup_sent && self->linger == NULL)
      self->linger = wzp_clock_timeout_add (self->clock, self->context,
          HANGUP_LINGER, linger_done, g_object_ref (self), g_object_unref);
    else if (!self->hangup_sent)
      wzp_signal_client_stop (self->signal);
  }
}

static gboolean
fingerprint_is_valid (const char *text)
{
  g_autofree char *canonical = wzp_fingerprint_normalize (text, NULL);

  return canonical != NULL;
}

static gboolean
split_host_port (const char *text, char **host, guint16 * port)
{
  const char *colon;
  guint64 p;
  char *end = NULL;

  if (text == NULL || (colon = strrchr (text, ':')) == NULL ||
      colon == text || strchr (text, ' '))
    return FALSE;
  p = g_ascii_strtoull (colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0' || p == 0 || p > 65535)
    return FALSE;
  *host = g_strndup (text, colon - text);
  *port = (guint16) p;
  return TRUE;
}

static gboolean
connect_relay (WzpCall * self, GSocketAddress * relay, GError ** error)
{
  g_autofree char *addr = wzp_socket_address_to_string (relay);

  WZP_DEBUG_OBJECT (self, "relay %s at %s", self->relay, addr);
  self->signal = wzp_signal_client_new (self->endpoint, relay,
      self->relay_fingerprint);
  g_signal_connect (self->signal, "registered", G_CALLBACK (on_registered),
      self);
  g_signal_connect (self->signal, "notify::nat-type",
      G_CALLBACK (on_nat_type), self);
  g_signal_connect (self->signal, "incoming-call",
      G_CALLBACK (on_incoming_call), self);
  g_signal_connect (self->signal, "call-setup", G_CALLBACK (on_call_setup),
      self);
  g_signal_connect (self->signal, "call-ended", G_CALLBACK (on_call_ended),
      self);
  g_signal_connect (self->signal, "error", G_CALLBACK (on_signal_error), self);
  wzp_signal_client_set_media_handler (self->signal, on_relay_media, self,
      NULL);
  if (self->room)
    self->room_state = _wzp_call_room_new (self, self->signal, self->identity,
        self->room);

  if (!wzp_signal_client_start (self->signal, error)) {
    stop_everything (self);
    return FALSE;
  }
  return TRUE;
}

typedef struct
{
  WzpCall *call;
  char *host;
  guint16 port;
} ResolveData;

static void
on_resolved (GObject * source, GAsyncResult * result, gpointer user_data)
{
  ResolveData *rd = user_data;
  WzpCall *self = rd->call;
  g_autoptr (GError) error = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (source),
      result, &error);
  g_autoptr (GSocketAddress) relay = NULL;

  if (!is_over (self->state)) {
    /* Prefer IPv4: every endpoint has an IPv4 socket. */
    for (GList * l = addrs; l && relay == NULL; l = l->next)
      if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
        relay = g_inet_socket_address_new (l->data, rd->port);
    if (relay == NULL && addrs)
      relay = g_inet_socket_address_new (addrs->data, rd->port);
    if (relay == NULL)
      fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE,
          "cannot resolve the relay host \"%s\": %s", rd->host,
          error ? error->message : "no address");
    else if (!connect_relay (self, relay, &error))
      fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE, "%s", error->message);
  }
  g_resolver_free_addresses (addrs);
  g_free (rd->host);
  g_object_unref (rd->call);
  g_free (rd);
}

gboolean
wzp_call_start (WzpCall * self, GError ** error)
{
  g_autoptr (GSocketAddress) relay = NULL;
  g_autoptr (GSocketAddress) bind = NULL;
  g_autofree char *relay_host = NULL;
  guint16 relay_port = 0;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  g_return_val_if_fail (self->state == WZP_CALL_STATE_IDLE, FALSE);

  if (self->identity == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "no identity set");
    return FALSE;
  }
  if (self->relay)
    relay = wzp_socket_address_parse (self->relay, NULL);
  if (relay == NULL && !split_host_port (self->relay, &relay_host, &relay_port)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "\"%s\" is not a relay address (expected HOST:PORT)",
        self->relay ? self->relay : "");
    return FALSE;
  }
  if (self->peer && !fingerprint_is_valid (self->peer)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "\"%s\" is not a fingerprint", self->peer);
    return FALSE;
  }
  if (self->peer && wzp_fingerprint_equal (self->peer,
          wzp_identity_get_fingerprint (self->identity))) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "cannot call yourself (%s)", self->peer);
    return FALSE;
  }
  if (self->peer && self->room) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
        "set either a peer or a room, not both");
    return FALSE;
  }

  self->endpoint = wzp_endpoint_new (self->context, self->identity,
      self->clock, error);
  if (self->endpoint == NULL)
    return FALSE;
  /* Only our peer may connect to us, and only while a call races. */
  g_object_set (self->endpoint, "accept-incoming", TRUE, NULL);
  if (self->bind_address) {
    bind = wzp_socket_address_parse (self->bind_address, error);
    if (bind == NULL || !wzp_endpoint_bind (self->endpoint, bind, error))
      return FALSE;
  } else {
    g_autoptr (GError) v6_error = NULL;
    /* Both families, so IPv6 host candidates exist where IPv6 does;
     * a host without IPv6 still gets its IPv4 socket. */
    if (!wzp_endpoint_bind_any (self->endpoint, 0, TRUE, &v6_error)) {
      WZP_DEBUG_OBJECT (self, "no IPv6 socket: %s", v6_error->message);
      if (!wzp_endpoint_bind_any (self->endpoint, 0, FALSE, error))
        return FALSE;
    }
  }
  gather_candidates (self);

  self->wake = g_source_new (&wzp_ready_source_funcs, sizeof (GSource));
  g_source_set_callback (self->wake, on_wake, self, NULL);
  g_source_set_name (self->wake, "WzpCall wake");
  g_source_attach (self->wake, self->context);

  set_state (self, WZP_CALL_STATE_CONNECTING, NULL);
  self->register_timeout = wzp_clock_timeout_add (self->clock, self->context,
      self->relay_timeout_ms * WZP_NSEC_PER_MSEC, register_timed_out, self,
      NULL);
  if (relay)
    return connect_relay (self, relay, error);

  /* A host name: resolve without blocking the context. */
  {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();
    ResolveData *rd = g_new0 (ResolveData, 1);

    rd->call = g_object_ref (self);
    rd->port = relay_port;
    rd->host = g_steal_pointer (&relay_host);
    g_main_context_push_thread_default (self->context);
    g_resolver_lookup_by_name_async (resolver, rd->host, NULL, on_resolved, rd);
    g_main_context_pop_thread_default (self->context);
  }
  return TRUE;
}

/* --- the room module calls back into us ------------------------------- */

void
_wzp_call_room_joined (WzpCall * self)
{
  if (self->state == WZP_CALL_STATE_RINGING) {
    self->setup_at = wzp_clock_get_time (self->clock);
    set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
    set_path (self, WZP_PATH_RELAY, "room joined: media goes through the "
        "relay");
  }
}

/* --- getters ---------------------------------------------------------- */

void
wzp_call_set_frame_handler (WzpCall * self, WzpCallFrameFunc func,
    gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail (WZP_IS_CALL (self));
  if (self->frame_notify)
    self->frame_notify (self->frame_data);
  self->frame_func = func;
  self->frame_data = user_data;
  self->frame_notify = notify;
}

void
wzp_call_get_stats (WzpCall * self, WzpCallStats * stats)
{
  WzpPathManager *path = NULL;

  g_return_if_fail (WZP_IS_CALL (self));
  g_mutex_lock (&self->lock);
  *stats = self->stats;
  g_mutex_unlock (&self->lock);
  (void) path;
}

WzpCallState
wzp_call_get_state (WzpCall * self)
{
  WzpCallState s;

  g_return_val_if_fail (WZP_IS_CALL (self), WZP_CALL_STATE_IDLE);
  g_mutex_lock (&self->lock);
  s = self->state;
  g_mutex_unlock (&self->lock);
  return s;
}

WzpPathKind
wzp_call_get_path (WzpCall * self)
{
  WzpPathKind p;

  g_return_val_if_fail (WZP_IS_CALL (self), WZP_PATH_NONE);
  g_mutex_lock (&self->lock);
  p = self->current_path;
  g_mutex_unlock (&self->lock);
  return p;
}

const char *
wzp_call_get_peer_fingerprint (WzpCall * self)
{
  g_return_val_if_fail (WZP_IS_CALL (self), NULL);
  return self->active_peer;
}

const char *
wzp_call_get_call_id (WzpCall * self)
{
  g_return_val_if_fail (WZP_IS_CALL (self), NULL);
  return self->call_id;
}

gboolean
_wzp_call_inject_test_frame (WzpCall * self, const char *text, gboolean tamper)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  gssize n;

  if (self->sealer == NULL || self->signal == NULL)
    return FALSE;
  n = wzp_media_sealer_seal (self->sealer, WZP_MEDIA_CODEC_OPUS, 0, 0,
      (const guint8 *) text, strlen (text), packet, sizeof packet, NULL);
  if (n <= WZP_MEDIA_HEADER_LEN)
    return FALSE;
  if (tamper) {
    packet[WZP_MEDIA_HEADER_LEN] ^= 0x01;
    return wzp_signal_client_send_media (self->signal, self->channel, packet,
        n);
  }
  return wzp_signal_client_send_media (self->signal, self->channel, packet,
      n) && wzp_signal_client_send_media (self->signal, self->channel,
      packet, n);
}

WzpEndpoint *
_wzp_call_get_endpoint (WzpCall * self)
{
  return self->endpoint;
}

void
_wzp_call_set_path_timings (WzpCall * self, const WzpPathTimings * timings)
{
  g_free (self->timings);
  self->timings = g_memdup2 (timings, sizeof *timings);
}

WzpCall *
wzp_call_new (GMainContext * context, WzpIdentity * identity, const char *relay)
{
  return g_object_new (WZP_TYPE_CALL, "context", context, "identity",
      identity, "relay", relay, NULL);
}

/* --- GObject ---------------------------------------------------------- */

static void
wzp_call_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  WzpCall *self = WZP_CALL (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;
    case PROP_CLOCK:
      g_set_object (&self->clock, g_value_get_object (value));
      break;
    case PROP_IDENTITY:
      g_set_object (&self->identity, g_value_get_object (value));
      break;
    case PROP_RELAY:
      g_free (self->relay);
      self->relay = g_value_dup_string (value);
      break;
    case PROP_RELAY_FINGERPRINT:
      g_free (self->relay_fingerprint);
      self->relay_fingerprint = g_value_dup_string (value);
      break;
    case PROP_PEER:
      g_free (self->peer);
      self->peer = g_value_dup_string (value);
      if (self->peer && self->peer[0] == '\0')
        g_clear_pointer (&self->peer, g_free);
      break;
    case PROP_ROOM:
      g_free (self->room);
      self->room = g_value_dup_string (value);
      if (self->room && self->room[0] == '\0')
        g_clear_pointer (&self->room, g_free);
      break;
    case PROP_ANSWER_POLICY:
      self->answer_policy = g_value_get_enum (value);
      break;
    case PROP_PATH_POLICY:
      self->path_policy = g_value_get_enum (value);
      break;
    case PROP_BIND_ADDRESS:
      g_free (self->bind_address);
      self->bind_address = g_value_dup_string (value);
      break;
    case PROP_GATHER_LOOPBACK:
      self->gather_loopback = g_value_get_boolean (value);
      break;
    case PROP_RELAY_TIMEOUT:
      self->relay_timeout_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_call_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WzpCall *self = WZP_CALL (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;
    case PROP_CLOCK:
      g_value_set_object (value, self->clock);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_RELAY:
      g_value_set_string (value, self->relay);
      break;
    case PROP_RELAY_FINGERPRINT:
      g_value_set_string (value, self->relay_fingerprint);
      break;
    case PROP_PEER:
      g_value_set_string (value, self->peer);
      break;
    case PROP_ROOM:
      g_value_set_string (value, self->room);
      break;
    case PROP_ANSWER_POLICY:
      g_value_set_enum (value, self->answer_policy);
      break;
    case PROP_PATH_POLICY:
      g_value_set_enum (value, self->path_policy);
      break;
    case PROP_BIND_ADDRESS:
      g_value_set_string (value, self->bind_address);
      break;
    case PROP_GATHER_LOOPBACK:
      g_value_set_boolean (value, self->gather_loopback);
      break;
    case PROP_RELAY_TIMEOUT:
      g_value_set_uint (value, self->relay_timeout_ms);
      break;
    case PROP_STATE:
      g_value_set_enum (value, wzp_call_get_state (self));
      break;
    case PROP_PATH:
      g_value_set_enum (value, wzp_call_get_path (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_call_constructed (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  G_OBJECT_CLASS (wzp_call_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  if (self->clock == NULL)
    self->clock = g_object_ref (wzp_clock_get_system ());
}

static void
wzp_call_dispose (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  self->hangup_sent = FALSE;
  stop_everything (self);
  if (self->linger) {
    g_source_destroy (self->linger);
    g_clear_pointer (&self->linger, g_source_unref);
  }
  if (self->endpoint)
    wzp_endpoint_close_all (self->endpoint, 0, "call over");
  if (self->wake) {
    g_source_destroy (self->wake);
    g_clear_pointer (&self->wake, g_source_unref);
  }
  g_clear_object (&self->signal);
  g_clear_object (&self->endpoint);
  if (self->frame_notify)
    self->frame_notify (self->frame_data);
  self->frame_notify = NULL;
  self->frame_func = NULL;
  G_OBJECT_CLASS (wzp_call_parent_class)->dispose (object);
}

static void
wzp_call_finalize (GObject * object)
{
  WzpCall *self = WZP_CALL (object);

  g_queue_clear_full (&self->send_queue, g_free);
  g_clear_pointer (&self->local_candidates, wzp_candidates_unref);
  g_clear_pointer (&self->sealer, wzp_media_sealer_free);
  g_clear_pointer (&self->opener, wzp_media_opener_free);
  g_clear_pointer (&self->eph, wzp_x25519_key_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->clock);
  g_clear_object (&self->identity);
  g_free (self->relay);
  g_free (self->relay_fingerprint);
  g_free (self->peer);
  g_free (self->room);
  g_free (self->bind_address);
  g_free (self->call_id);
  g_free (self->active_peer);
  g_free (self->timings);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (wzp_call_parent_class)->finalize (object);
}

static void
wzp_call_class_init (WzpCallClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = wzp_call_set_property;
  gobject_class->get_property = wzp_call_get_property;
  gobject_class->constructed = wzp_call_constructed;
  gobject_class->dispose = wzp_call_dispose;
  gobject_class->finalize = wzp_call_finalize;

  props[PROP_CONTEXT] = g_param_spec_boxed ("context", "Context",
      "The GMainContext the call runs on", G_TYPE_MAIN_CONTEXT,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_CLOCK] = g_param_spec_object ("clock", "Clock",
      "Where time comes from (tests use a WzpTestClock)", WZP_TYPE_CLOCK,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_IDENTITY] = g_param_spec_object ("identity", "Identity",
      "Our identity", WZP_TYPE_IDENTITY, rw);
  props[PROP_RELAY] = g_param_spec_string ("relay", "Relay",
      "The relay's address, IP:PORT", NULL, rw);
  props[PROP_RELAY_FINGERPRINT] = g_param_spec_string ("relay-fingerprint",
      "Relay fingerprint", "Refuse a relay with another identity (optional)",
      NULL, rw);
  props[PROP_PEER] = g_param_spec_string ("peer", "Peer",
      "Fingerprint to call; unset to wait for calls", NULL, rw);
  props[PROP_ROOM] = g_param_spec_string ("room", "Room",
      "Multi-party room to join instead of a call", NULL, rw);
  props[PROP_ANSWER_POLICY] = g_param_spec_enum ("answer-policy",
      "Answer policy", "What to do with incoming calls",
      WZP_TYPE_ANSWER_POLICY, WZP_ANSWER_POLICY_AUTO, rw);
  props[PROP_PATH_POLICY] = g_param_spec_enum ("path-policy", "Path policy",
      "Which media paths to use", WZP_TYPE_PATH_POLICY,
      WZP_PATH_POLICY_AUTO, rw);
  props[PROP_BIND_ADDRESS] = g_param_spec_string ("bind-address",
      "Bind address", "Local IP:PORT of our one socket (default: any, "
      "port 0)", NULL, rw);
  props[PROP_GATHER_LOOPBACK] = g_param_spec_boolean ("gather-loopback",
      "Gather loopback", "Offer loopback addresses as candidates (tests)",
      FALSE, rw);
  props[PROP_RELAY_TIMEOUT] = g_param_spec_uint ("relay-timeout",
      "Relay timeout", "Milliseconds to wait for the relay before failing",
      100, G_MAXUINT, DEFAULT_RELAY_TIMEOUT_MS, rw);
  props[PROP_STATE] = g_param_spec_enum ("state", "State", "Call state",
      WZP_TYPE_CALL_STATE, WZP_CALL_STATE_IDLE, ro);
  props[PROP_PATH] = g_param_spec_enum ("path", "Path", "Current media path",
      WZP_TYPE_PATH_KIND, WZP_PATH_NONE, ro);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  signals[SIGNAL_STATE_CHANGED] = g_signal_new ("state-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_CALL_STATE, G_TYPE_ERROR);
  signals[SIGNAL_INCOMING_CALL] = g_signal_new ("incoming-call",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
      g_signal_accumulator_first_wins, NULL, NULL, G_TYPE_BOOLEAN, 1,
      G_TYPE_STRING);
  signals[SIGNAL_PATH_CHANGED] = g_signal_new ("path-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_PATH_KIND, G_TYPE_STRING);
}

static void
wzp_call_init (WzpCall * self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->send_queue);
  self->answer_policy = WZP_ANSWER_POLICY_AUTO;
  self->path_policy = WZP_PATH_POLICY_AUTO;
  self->relay_timeout_ms = DEFAULT_RELAY_TIMEOUT_MS;
}
