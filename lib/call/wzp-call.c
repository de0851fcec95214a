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
 * happen on the context.  wzp_call_hangup(), wzp_call_answer() and
 * wzp_call_reject() work the same way, so an application may decide
 * about an incoming call on its own thread, as late as it likes.
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

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
  PROP_ROOM_OWNER,
  PROP_ROOM_INVITE,
  PROP_ROOM_OPEN,
  PROP_ANSWER_POLICY,
  PROP_PATH_POLICY,
  PROP_BIND_ADDRESS,
  PROP_GATHER_LOOPBACK,
  PROP_RELAY_TIMEOUT,
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
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WzpCall, wzp_call, G_TYPE_OBJECT);

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

GType
wzp_relay_selection_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_RELAY_SELECTION_HASH, "Spread clients by a hash of identity and "
          "relay", "hash"},
    {WZP_RELAY_SELECTION_LISTED, "In the order given", "listed"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpRelaySelection",
            values));
  return type;
}

GType
wzp_relay_state_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_RELAY_STATE_NONE, "WZP_RELAY_STATE_NONE", "none"},
    {WZP_RELAY_STATE_CONNECTING, "WZP_RELAY_STATE_CONNECTING", "connecting"},
    {WZP_RELAY_STATE_REGISTERED, "WZP_RELAY_STATE_REGISTERED", "registered"},
    {WZP_RELAY_STATE_LOST, "WZP_RELAY_STATE_LOST", "lost"},
    {WZP_RELAY_STATE_RESUMED, "WZP_RELAY_STATE_RESUMED", "resumed"},
    {WZP_RELAY_STATE_FAILED, "WZP_RELAY_STATE_FAILED", "failed"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpRelayState", values));
  return type;
}

const char *
wzp_relay_state_to_string (WzpRelayState state)
{
  switch (state) {
    case WZP_RELAY_STATE_NONE:
      return "none";
    case WZP_RELAY_STATE_CONNECTING:
      return "connecting";
    case WZP_RELAY_STATE_REGISTERED:
      return "registered";
    case WZP_RELAY_STATE_LOST:
      return "lost";
    case WZP_RELAY_STATE_RESUMED:
      return "resumed";
    case WZP_RELAY_STATE_FAILED:
      return "failed";
  }
  return "invalid";
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

gboolean
_wzp_call_is_over (WzpCallState s)
{
  return s == WZP_CALL_STATE_ENDED || s == WZP_CALL_STATE_FAILED;
}


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
void
_wzp_call_set_state (WzpCall * self, WzpCallState state, GError * reason)
{
  WzpCallState old;

  g_mutex_lock (&self->lock);
  old = self->state;
  if (old == state || _wzp_call_is_over (old)) {
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
  if (_wzp_call_is_over (state))
    _wzp_call_stop_everything (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, state, reason);
  g_clear_error (&reason);
}


void
_wzp_call_fail_at (WzpCall * self, const char *file, const char *function,
    int line, GError * reason)
{
  if (!_wzp_call_is_over (self->state) && self->fail_file == NULL) {
    self->fail_file = file;
    self->fail_function = function;
    self->fail_line = line;
  }
  _wzp_call_set_state (self, WZP_CALL_STATE_FAILED, reason);
}

/* Takes @reason. */
void
_wzp_call_set_relay_state (WzpCall * self, WzpRelayState state, GError * reason)
{
  WzpRelayState old;

  g_mutex_lock (&self->lock);
  old = self->relay_state;
  if (old == state) {
    g_mutex_unlock (&self->lock);
    g_clear_error (&reason);
    return;
  }
  self->relay_state = state;
  self->stats.relay_state = state;
  if (state == WZP_RELAY_STATE_LOST)
    self->stats.relay_losses++;
  g_mutex_unlock (&self->lock);

  WZP_INFO_OBJECT (self, "relay %s: %s -> %s%s%s", self->relay,
      wzp_relay_state_to_string (old), wzp_relay_state_to_string (state),
      reason ? ": " : "", reason ? reason->message : "");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RELAY_STATE]);
  g_signal_emit (self, signals[SIGNAL_RELAY_STATE_CHANGED], 0, state, reason);
  g_clear_error (&reason);
}

void
_wzp_call_set_ringing_id (WzpCall * self, const char *call_id)
{
  g_mutex_lock (&self->lock);
  g_free (self->ringing_call_id);
  self->ringing_call_id = g_strdup (call_id);
  self->answer = ANSWER_NONE;
  g_mutex_unlock (&self->lock);
}

void
_wzp_call_set_path (WzpCall * self, WzpPathKind path, const char *reason)
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

/* --- lifecycle -------------------------------------------------------- */

void
_wzp_call_stop_everything (WzpCall * self)
{
  g_clear_pointer (&self->register_timeout, wzp_clock_source_destroy_and_unref);
  g_clear_pointer (&self->watchdog, wzp_clock_source_destroy_and_unref);
  g_clear_pointer (&self->resume_timer, wzp_clock_source_destroy_and_unref);
  _wzp_call_drop_media_leg (self);
  g_clear_pointer (&self->incoming, _wzp_call_incoming_free);
  _wzp_call_set_ringing_id (self, NULL);
  if (self->direct) {
    g_clear_signal_handler (&self->direct_closed_id, self->direct);
    g_clear_object (&self->direct);
  }
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
     * closes (a QUIC close discards unsent stream data).  The timer holds
     * no reference: the context holds the source, and the call holds the
     * context, so a reference would be a cycle that leaks the call and its
     * sockets.  If the call goes away first, dispose closes at once. */
    if (self->hangup_sent && self->linger == NULL)
      self->linger = wzp_clock_timeout_add (self->clock, self->context,
          HANGUP_LINGER, linger_done, self, NULL);
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

/* Registers through the first of @relays (ordered), the others in
 * reserve. */
static gboolean
connect_relay (WzpCall * self, GPtrArray * relays, GError ** error)
{
  g_autofree char *addr = wzp_socket_address_to_string
      (g_ptr_array_index (relays, 0));

  WZP_DEBUG_OBJECT (self, "relay %s at %s (%u addresses)", self->relay, addr,
      relays->len);
  self->signal = wzp_signal_client_new (self->endpoint,
      g_ptr_array_index (relays, 0), self->relay_fingerprint);
  for (guint i = 1; i < relays->len; i++)
    wzp_signal_client_add_relay (self->signal, g_ptr_array_index (relays, i));
  _wzp_call_connect_signaling (self);
  wzp_signal_client_set_media_handler (self->signal, _wzp_call_on_relay_media,
      self, NULL);
  if (self->room)
    self->room_state = _wzp_call_room_new (self, self->signal, self->identity,
        self->clock, self->context, self->room, self->room_owner,
        self->room_invite, self->room_open);

  if (!wzp_signal_client_start (self->signal, error)) {
    _wzp_call_stop_everything (self);
    return FALSE;
  }
  return TRUE;
}

static void
on_relays_ready (GPtrArray * relays, const GError * error, gpointer data)
{
  WzpCall *self = data;
  g_autoptr (GError) local = NULL;

  if (!_wzp_call_is_over (self->state)) {
    if (relays == NULL) {
      _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE, "%s",
          error ? error->message : "no relay address");
    } else {
      _wzp_relay_list_order (relays,
          wzp_identity_get_fingerprint (self->identity), self->relay_selection);
      if (!connect_relay (self, relays, &local))
        _wzp_call_fail (self, WZP_CALL_ERROR_RELAY_UNREACHABLE, "%s",
            local->message);
    }
  }
  g_object_unref (self);
}

gboolean
wzp_call_start (WzpCall * self, GError ** error)
{
  g_autoptr (GPtrArray) relays = NULL;
  g_autoptr (GSocketAddress) bind = NULL;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  g_return_val_if_fail (self->state == WZP_CALL_STATE_IDLE, FALSE);

  if (self->identity == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "no identity set");
    return FALSE;
  }
  relays = _wzp_relay_list_parse (self->relay, error);
  if (relays == NULL)
    return FALSE;
  if (self->relay_fingerprint && !fingerprint_is_valid
      (self->relay_fingerprint)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "relay-fingerprint \"%s\" is not a fingerprint (8 groups of 4 "
        "hex digits, xxxx:xxxx:...)", self->relay_fingerprint);
    return FALSE;
  }
  if (self->peer && !fingerprint_is_valid (self->peer)) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "peer \"%s\" is not a fingerprint (8 groups of 4 hex digits, "
        "xxxx:xxxx:...)", self->peer);
    return FALSE;
  }
  if (self->peer && wzp_fingerprint_equal (self->peer,
          wzp_identity_get_fingerprint (self->identity))) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "cannot call yourself (%s)", self->peer);
    return FALSE;
  }
  if (self->peer && self->room) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "set either a peer or a room, not both");
    return FALSE;
  }
  if (self->room && !_wzp_call_room_check_settings (self->room,
          self->room_owner, self->room_invite, self->room_open,
          self->identity, error))
    return FALSE;

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
  _wzp_call_gather_candidates (self);

  self->wake = g_source_new (&wzp_ready_source_funcs, sizeof (GSource));
  g_source_set_callback (self->wake, _wzp_call_on_wake, self, NULL);
  g_source_set_name (self->wake, "WzpCall wake");
  g_source_attach (self->wake, self->context);

  _wzp_call_set_state (self, WZP_CALL_STATE_CONNECTING, NULL);
  _wzp_call_set_relay_state (self, WZP_RELAY_STATE_CONNECTING, NULL);
  self->register_timeout = wzp_clock_timeout_add (self->clock, self->context,
      self->relay_timeout_ms * WZP_NSEC_PER_MSEC, _wzp_call_register_timed_out,
      self, NULL);
  {
    g_autoptr (GPtrArray) numeric = _wzp_relay_list_numeric (relays);

    if (numeric) {
      _wzp_relay_list_order (numeric,
          wzp_identity_get_fingerprint (self->identity), self->relay_selection);
      return connect_relay (self, numeric, error);
    }
  }
  /* Host names resolve without blocking the context; the relays are
   * dialed once every name has answered. */
  _wzp_relay_list_resolve (relays, self->context, NULL, on_relays_ready,
      g_object_ref (self));
  return TRUE;
}

void
_wzp_call_emit_incoming (WzpCall * self, const char *caller,
    const char *call_id)
{
  g_signal_emit (self, signals[SIGNAL_INCOMING_CALL], 0, caller, call_id);
}

static gboolean
request_answer (WzpCall * self, const char *call_id, AnswerRequest answer)
{
  gboolean ok;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  g_mutex_lock (&self->lock);
  ok = call_id && self->ringing_call_id &&
      g_ascii_strcasecmp (call_id, self->ringing_call_id) == 0 &&
      !_wzp_call_is_over (self->state);
  if (ok && self->answer == ANSWER_NONE)
    self->answer = answer;
  g_mutex_unlock (&self->lock);
  if (ok && self->wake)
    g_source_set_ready_time (self->wake, 0);
  return ok;
}

/**
 * wzp_call_answer:
 * @call_id: the incoming call (from #WzpCall::incoming-call)
 *
 * Any thread.  Accepts the ringing incoming call; the call then goes on
 * as with the "auto" policy.  The first of wzp_call_answer() and
 * wzp_call_reject() decides.
 *
 * Returns: %TRUE if @call_id is ringing here (the answer is on its way)
 */
gboolean
wzp_call_answer (WzpCall * self, const char *call_id)
{
  return request_answer (self, call_id, ANSWER_ACCEPT);
}

/**
 * wzp_call_reject:
 * @call_id: the incoming call
 *
 * Any thread.  Rejects the ringing incoming call; the call goes back to
 * waiting for the next one.
 *
 * Returns: %TRUE if @call_id is ringing here
 */
gboolean
wzp_call_reject (WzpCall * self, const char *call_id)
{
  return request_answer (self, call_id, ANSWER_REJECT);
}

/* --- the room module calls back into us ------------------------------- */

void
_wzp_call_room_joined (WzpCall * self)
{
  if (self->state == WZP_CALL_STATE_RINGING) {
    self->setup_at = wzp_clock_get_time (self->clock);
    _wzp_call_set_state (self, WZP_CALL_STATE_ACTIVE, NULL);
    _wzp_call_set_path (self, WZP_PATH_RELAY,
        "room joined: media goes through the " "relay");
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
  g_return_if_fail (WZP_IS_CALL (self));
  g_mutex_lock (&self->lock);
  *stats = self->stats;
  g_mutex_unlock (&self->lock);
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

WzpRelayState
wzp_call_get_relay_state (WzpCall * self)
{
  WzpRelayState s;

  g_return_val_if_fail (WZP_IS_CALL (self), WZP_RELAY_STATE_NONE);
  g_mutex_lock (&self->lock);
  s = self->relay_state;
  g_mutex_unlock (&self->lock);
  return s;
}

gboolean
wzp_call_get_failure_origin (WzpCall * self, const char **file,
    const char **function, int *line)
{
  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  if (self->fail_file == NULL)
    return FALSE;
  if (file)
    *file = self->fail_file;
  if (function)
    *function = self->fail_function;
  if (line)
    *line = self->fail_line;
  return TRUE;
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
    case PROP_ROOM_OWNER:
      g_free (self->room_owner);
      self->room_owner = g_value_dup_string (value);
      if (self->room_owner && self->room_owner[0] == '\0')
        g_clear_pointer (&self->room_owner, g_free);
      break;
    case PROP_ROOM_INVITE:
      g_free (self->room_invite);
      self->room_invite = g_value_dup_string (value);
      if (self->room_invite && self->room_invite[0] == '\0')
        g_clear_pointer (&self->room_invite, g_free);
      break;
    case PROP_ROOM_OPEN:
      self->room_open = g_value_get_boolean (value);
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
    case PROP_MEDIA_TIMEOUT:
      self->media_timeout_ms = g_value_get_uint (value);
      break;
    case PROP_RELAY_SELECTION:
      self->relay_selection = g_value_get_enum (value);
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
    case PROP_ROOM_OWNER:
      g_value_set_string (value, self->room_owner);
      break;
    case PROP_ROOM_INVITE:
      g_value_set_string (value, self->room_invite);
      break;
    case PROP_ROOM_OPEN:
      g_value_set_boolean (value, self->room_open);
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
    case PROP_MEDIA_TIMEOUT:
      g_value_set_uint (value, self->media_timeout_ms);
      break;
    case PROP_RELAY_SELECTION:
      g_value_set_enum (value, self->relay_selection);
      break;
    case PROP_RELAY_STATE:
      g_value_set_enum (value, wzp_call_get_relay_state (self));
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
  _wzp_call_stop_everything (self);
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
  g_queue_clear_full (&self->early_media, g_free);
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
  g_free (self->room_owner);
  g_free (self->room_invite);
  g_free (self->bind_address);
  g_free (self->call_id);
  g_free (self->active_peer);
  g_free (self->timings);
  g_free (self->ringing_call_id);
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
      "The relay's address, HOST:PORT; or several (the relays of a "
      "cluster), separated by commas", NULL, rw);
  props[PROP_RELAY_SELECTION] = g_param_spec_enum ("relay-selection",
      "Relay selection", "Which relay of the list to register at first",
      WZP_TYPE_RELAY_SELECTION, WZP_RELAY_SELECTION_HASH, rw);
  props[PROP_RELAY_FINGERPRINT] = g_param_spec_string ("relay-fingerprint",
      "Relay fingerprint", "Refuse a relay with another identity (optional)",
      NULL, rw);
  props[PROP_PEER] = g_param_spec_string ("peer", "Peer",
      "Fingerprint to call; unset to wait for calls", NULL, rw);
  props[PROP_ROOM] = g_param_spec_string ("room", "Room",
      "Multi-party room to join instead of a call", NULL, rw);
  props[PROP_ROOM_OWNER] = g_param_spec_string ("room-owner", "Room owner",
      "Fingerprint of the room's owner (who admits its members)", NULL, rw);
  props[PROP_ROOM_INVITE] = g_param_spec_string ("room-invite",
      "Room invitation", "The owner's invitation for us: a token from "
      "`wzp invite`, or @FILE holding one", NULL, rw);
  props[PROP_ROOM_OPEN] = g_param_spec_boolean ("room-open", "Open room",
      "A room without owner that anyone with the name may join (not "
      "confidential from the relay)", FALSE, rw);
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
  props[PROP_MEDIA_TIMEOUT] = g_param_spec_uint ("media-timeout",
      "Media timeout", "Milliseconds an active call may have neither media "
      "nor the relay before it fails (0: never)", 0, G_MAXUINT,
      DEFAULT_MEDIA_TIMEOUT_MS, rw);
  props[PROP_RELAY_STATE] = g_param_spec_enum ("relay-state", "Relay state",
      "Whether the relay is there", WZP_TYPE_RELAY_STATE,
      WZP_RELAY_STATE_NONE, ro);
  props[PROP_STATE] = g_param_spec_enum ("state", "State", "Call state",
      WZP_TYPE_CALL_STATE, WZP_CALL_STATE_IDLE, ro);
  props[PROP_PATH] = g_param_spec_enum ("path", "Path", "Current media path",
      WZP_TYPE_PATH_KIND, WZP_PATH_NONE, ro);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  signals[SIGNAL_STATE_CHANGED] = g_signal_new ("state-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_CALL_STATE, G_TYPE_ERROR);
  signals[SIGNAL_INCOMING_CALL] = g_signal_new ("incoming-call",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_RELAY_STATE_CHANGED] = g_signal_new ("relay-state-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_RELAY_STATE, G_TYPE_ERROR);
  signals[SIGNAL_PATH_CHANGED] = g_signal_new ("path-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_PATH_KIND, G_TYPE_STRING);
  _wzp_call_room_install_signals (gobject_class);
}

static void
wzp_call_init (WzpCall * self)
{
  g_mutex_init (&self->lock);
  g_queue_init (&self->send_queue);
  g_queue_init (&self->early_media);
  self->answer_policy = WZP_ANSWER_POLICY_AUTO;
  self->path_policy = WZP_PATH_POLICY_AUTO;
  self->relay_timeout_ms = DEFAULT_RELAY_TIMEOUT_MS;
  self->media_timeout_ms = DEFAULT_MEDIA_TIMEOUT_MS;
}
