/* wzp-call-props.c — what WzpCall shows: its properties and signals
 * (specs and documentation), reading and writing the properties, the
 * getters, and the check of the settings before a start
 *
 * A helper of wzp-call.c: it reads and writes the call's fields (under
 * the call's lock where other threads see them) and calls nothing of the
 * core's.
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-address.h"

#include <string.h>

void
_wzp_call_install_properties (GObjectClass * klass, GParamSpec ** props)
{
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  /**
   * WzpCall:context:
   *
   * The #GMainContext the call runs on and emits its signals on (the
   * thread-default context when not set).
   */
  props[PROP_CONTEXT] = g_param_spec_boxed ("context", "Context",
      "The GMainContext the call runs on", G_TYPE_MAIN_CONTEXT,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpCall:identity:
   *
   * Who we are.  Required.
   */
  props[PROP_IDENTITY] = g_param_spec_object ("identity", "Identity",
      "Our identity", WZP_TYPE_IDENTITY, rw);
  /**
   * WzpCall:relay:
   *
   * The relay, as HOST:PORT (an IPv6 address in brackets:
   * `[2001:db8::1]:4433`).  Required.  The relays of a cluster are a
   * list, `relay1:4433,relay2:4433` (at most 16), and a host name stands
   * for every address it has: the call registers at one
   * (#WzpCall:relay-selection) and moves on to the next when it is lost
   * (docs/CLUSTER.md).  wzp_relay_list_check() checks one.
   */
  props[PROP_RELAY] = g_param_spec_string ("relay", "Relay",
      "The relay's address, HOST:PORT; or several (the relays of a "
      "cluster), separated by commas", NULL, rw);
  /**
   * WzpCall:relay-selection:
   *
   * Which relay of a #WzpCall:relay list the call registers at first:
   * by a hash of our identity and each relay (the default: the clients of
   * a list spread evenly, and the clients of a relay that dies spread over
   * the others), or in the order given.
   */
  props[PROP_RELAY_SELECTION] = g_param_spec_enum ("relay-selection",
      "Relay selection", "Which relay of the list to register at first",
      WZP_TYPE_RELAY_SELECTION, WZP_RELAY_SELECTION_HASH, rw);
  /**
   * WzpCall:relay-fingerprint:
   *
   * Refuse a relay that does not prove this identity
   * (%WZP_CALL_ERROR_RELAY_IDENTITY).  Without it the relay is not
   * checked.
   */
  props[PROP_RELAY_FINGERPRINT] = g_param_spec_string ("relay-fingerprint",
      "Relay fingerprint", "Refuse a relay with another identity (optional)",
      NULL, rw);
  /**
   * WzpCall:peer:
   *
   * The fingerprint to call.  Unset (or empty): wait for calls.
   */
  props[PROP_PEER] = g_param_spec_string ("peer", "Peer",
      "Fingerprint to call; unset to wait for calls", NULL, rw);
  /**
   * WzpCall:room:
   *
   * The name of a multi-party room to join instead of a call.  A room
   * needs #WzpCall:room-owner or #WzpCall:room-open.
   */
  props[PROP_ROOM] = g_param_spec_string ("room", "Room",
      "Multi-party room to join instead of a call", NULL, rw);
  /**
   * WzpCall:room-owner:
   *
   * The fingerprint of the room's owner, who admits its members.
   */
  props[PROP_ROOM_OWNER] = g_param_spec_string ("room-owner", "Room owner",
      "Fingerprint of the room's owner (who admits its members)", NULL, rw);
  /**
   * WzpCall:room-invite:
   *
   * The owner's invitation for us: the token `wzp invite` prints, or
   * "@FILE" holding one.  Not needed by the owner.
   */
  props[PROP_ROOM_INVITE] = g_param_spec_string ("room-invite",
      "Room invitation", "The owner's invitation for us: a token from "
      "`wzp invite`, or @FILE holding one", NULL, rw);
  /**
   * WzpCall:room-open:
   *
   * A room without owner that anyone who knows the name may join; its
   * members hand their keys to whoever the relay lists, so it is not
   * confidential from the relay.
   */
  props[PROP_ROOM_OPEN] = g_param_spec_boolean ("room-open", "Open room",
      "A room without owner that anyone with the name may join (not "
      "confidential from the relay)", FALSE, rw);
  /**
   * WzpCall:answer-policy:
   *
   * What to do with incoming calls.
   */
  props[PROP_ANSWER_POLICY] = g_param_spec_enum ("answer-policy",
      "Answer policy", "What to do with incoming calls",
      WZP_TYPE_ANSWER_POLICY, WZP_ANSWER_POLICY_AUTO, rw);
  /**
   * WzpCall:path-policy:
   *
   * Which paths media may take.
   */
  props[PROP_PATH_POLICY] = g_param_spec_enum ("path-policy", "Path policy",
      "Which media paths to use", WZP_TYPE_PATH_POLICY,
      WZP_PATH_POLICY_AUTO, rw);
  /**
   * WzpCall:bind-address:
   *
   * The local IP:PORT of the call's one socket.  Unset: any address, a
   * port the system picks, IPv4 and IPv6.
   */
  props[PROP_BIND_ADDRESS] = g_param_spec_string ("bind-address",
      "Bind address", "Local IP:PORT of our one socket (default: any, "
      "port 0)", NULL, rw);
  /**
   * WzpCall:gather-loopback:
   *
   * Offer loopback addresses as direct-path candidates: for two parties
   * on one host (tests).
   */
  props[PROP_GATHER_LOOPBACK] = g_param_spec_boolean ("gather-loopback",
      "Gather loopback", "Offer loopback addresses as candidates (tests)",
      FALSE, rw);
  /**
   * WzpCall:relay-timeout:
   *
   * Milliseconds to wait for the first registration with the relay
   * before the call fails (%WZP_CALL_ERROR_RELAY_UNREACHABLE).
   */
  props[PROP_RELAY_TIMEOUT] = g_param_spec_uint ("relay-timeout",
      "Relay timeout", "Milliseconds to wait for the relay before failing",
      100, G_MAXUINT, DEFAULT_RELAY_TIMEOUT_MS, rw);
  /**
   * WzpCall:nat-spray:
   *
   * The symmetric-NAT moonshot, off (0) by default: when our side
   * accepts the direct path and the peer is behind an endpoint-dependent
   * (symmetric) NAT, punch this many ports of the peer's public address
   * during each race, hoping to hit the port its NAT gave the flow to us
   * (docs/PATH.md, "Symmetric NATs").  65536 tries every port in ~3 s
   * (about 3 MB up, and as many entries in our own NAT's connection
   * table, which a small home router may not hold).
   */
  props[PROP_NAT_SPRAY] = g_param_spec_uint ("nat-spray", "NAT spray",
      "Ports of a symmetric-NAT peer to punch per race (0: off)", 0, 65536,
      0, rw);
  /**
   * WzpCall:media-timeout:
   *
   * Milliseconds an active call may have neither media nor the relay
   * before it fails (%WZP_CALL_ERROR_RELAY_LOST); 0: never.
   */
  props[PROP_MEDIA_TIMEOUT] = g_param_spec_uint ("media-timeout",
      "Media timeout", "Milliseconds an active call may have neither media "
      "nor the relay before it fails (0: never)", 0, G_MAXUINT,
      DEFAULT_MEDIA_TIMEOUT_MS, rw);
  /**
   * WzpCall:relay-state:
   *
   * Whether the relay is there; see #WzpCall::relay-state-changed.
   */
  props[PROP_RELAY_STATE] = g_param_spec_enum ("relay-state", "Relay state",
      "Whether the relay is there", WZP_TYPE_RELAY_STATE,
      WZP_RELAY_STATE_NONE, ro);
  /**
   * WzpCall:state:
   *
   * The call's state; see #WzpCall::state-changed.
   */
  props[PROP_STATE] = g_param_spec_enum ("state", "State", "Call state",
      WZP_TYPE_CALL_STATE, WZP_CALL_STATE_IDLE, ro);
  /**
   * WzpCall:path:
   *
   * The path media takes now; see #WzpCall::path-changed.
   */
  props[PROP_PATH] = g_param_spec_enum ("path", "Path", "Current media path",
      WZP_TYPE_PATH_KIND, WZP_PATH_NONE, ro);
  g_object_class_install_properties (klass, N_PROPS, props);
}

void
_wzp_call_install_signals (GObjectClass * klass, guint * signals)
{
  GType type = G_TYPE_FROM_CLASS (klass);

  /**
   * WzpCall::state-changed:
   * @call: the call
   * @state: the new state
   * @reason: (nullable): why, for %WZP_CALL_STATE_FAILED (a
   *   #WzpCallError) and %WZP_CALL_STATE_ENDED (who hung up)
   *
   * The call changed state.
   */
  signals[SIGNAL_STATE_CHANGED] = g_signal_new ("state-changed",
      type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_CALL_STATE, G_TYPE_ERROR);
  /**
   * WzpCall::incoming-call:
   * @call: the call
   * @caller: the caller's fingerprint (verified)
   * @call_id: the call's id, for wzp_call_answer() or wzp_call_reject()
   *
   * With #WzpCall:answer-policy %WZP_ANSWER_POLICY_ASK, a call rings.  A
   * notification: answer later (or from the handler) with
   * wzp_call_answer() or wzp_call_reject(), from any thread; the call
   * rings until then, or until the caller gives up.
   */
  signals[SIGNAL_INCOMING_CALL] = g_signal_new ("incoming-call",
      type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * WzpCall::relay-state-changed:
   * @call: the call
   * @state: the new state
   * @reason: (nullable): why the relay was lost or refused us
   *
   * The relay went away, came back, or carries the active call again.
   */
  signals[SIGNAL_RELAY_STATE_CHANGED] = g_signal_new ("relay-state-changed",
      type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_RELAY_STATE, G_TYPE_ERROR);
  /**
   * WzpCall::path-changed:
   * @call: the call
   * @path: the path media takes now
   * @reason: why, in words
   *
   * Media moved to the relay or to the direct path.
   */
  signals[SIGNAL_PATH_CHANGED] = g_signal_new ("path-changed",
      type, G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_PATH_KIND, G_TYPE_STRING);
  /**
   * WzpCall::room-member-joined:
   * @call: the call
   * @fingerprint: the member
   *
   * A member of our room was admitted: the owner (or, in an open room,
   * anyone) let it in, and it gets our sender key.
   */
  signals[SIGNAL_ROOM_MEMBER_JOINED] = g_signal_new ("room-member-joined",
      type,
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * WzpCall::room-member-left:
   * @call: the call
   * @fingerprint: the member
   *
   * An admitted member left, its invitation expired, or we left.
   */
  signals[SIGNAL_ROOM_MEMBER_LEFT] = g_signal_new ("room-member-left", type,
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * WzpCall::room-rekeyed:
   * @call: the call
   * @reason: what changed ("a member joined", "a member left", ...)
   * @stream_id: our new stream
   * @duration_ns: from the change to the switch
   * @acked: members that had acknowledged the key at the switch
   * @members: admitted members at the switch
   *
   * We switched sealing to a new sender key.
   */
  signals[SIGNAL_ROOM_REKEYED] = g_signal_new ("room-rekeyed", type,
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 5, G_TYPE_STRING,
      G_TYPE_UINT, G_TYPE_UINT64, G_TYPE_UINT, G_TYPE_UINT);
}

/* --- getters ---------------------------------------------------------- */

/**
 * wzp_call_set_frame_handler:
 * @self: a call
 * @func: (nullable) (scope notified) (closure user_data) (destroy notify):
 *   gets every frame received, on the call's context
 * @user_data: for @func
 * @notify: (nullable): frees @user_data when @func is replaced or the
 *   call goes away
 *
 * Where received frames go.  Set it on the call's context, before
 * wzp_call_start().
 */
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

/**
 * wzp_call_get_stats:
 * @self: a call
 * @stats: (out caller-allocates): the counters now
 *
 * Any thread.
 */
void
wzp_call_get_stats (WzpCall * self, WzpCallStats * stats)
{
  g_return_if_fail (WZP_IS_CALL (self));
  memset (stats, 0, sizeof *stats);
  g_mutex_lock (&self->lock);
  stats->state = self->state;
  stats->path = self->current_path;
  stats->rtt_ns = self->rtt_ns;
  stats->path_changes = self->path_changes;
  stats->setup_ns = self->setup_ns;
  stats->relay_state = self->relay_state;
  stats->relay_losses = self->relay_losses;
  stats->relay_channel_sent = self->relay_channel.sent;
  stats->relay_channel_received = self->relay_channel.received;
  stats->relay_channel_downs = self->relay_channel.downs;
  stats->relay_channel_state = self->relay_channel.state;
  g_mutex_unlock (&self->lock);
  _wzp_call_media_get_counters (&self->media, stats);
}

/**
 * wzp_call_get_state:
 * @self: a call
 *
 * Any thread.
 *
 * Returns: the call's state
 */
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

/**
 * wzp_call_get_path:
 * @self: a call
 *
 * Any thread.
 *
 * Returns: the path media takes now
 */
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

/**
 * wzp_call_get_relay_state:
 * @self: a call
 *
 * Any thread.
 *
 * Returns: whether the relay is there
 */
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

/**
 * wzp_call_get_failure_origin:
 * @self: a failed call
 * @file: (out) (optional) (transfer none): the source file in libwzp
 *   that failed the call
 * @function: (out) (optional) (transfer none): the function
 * @line: (out) (optional): the line
 *
 * Where in libwzp the call was failed: the GStreamer elements make it
 * the debug location of their error message.  The call's context only.
 *
 * Returns: %FALSE if the call did not fail
 */
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

/**
 * wzp_call_get_peer_fingerprint:
 * @self: a call
 *
 * The call's context only.
 *
 * Returns: (nullable): the party on the other end (the callee we called,
 *   the caller whose call rings here, or the caller we answered), or
 *   %NULL before there is one
 */
const char *
wzp_call_get_peer_fingerprint (WzpCall * self)
{
  g_return_val_if_fail (WZP_IS_CALL (self), NULL);
  if (self->active_peer == NULL && self->incoming)
    return self->incoming->caller;
  return self->active_peer;
}

/**
 * wzp_call_get_call_id:
 * @self: a call
 *
 * The call's context only.
 *
 * Returns: (nullable): the current call's id (32 hex digits, chosen by
 *   the caller; while an incoming call rings, its id), or %NULL
 */
const char *
wzp_call_get_call_id (WzpCall * self)
{
  g_return_val_if_fail (WZP_IS_CALL (self), NULL);
  if (self->call_id == NULL && self->incoming)
    return self->incoming->call_id;
  return self->call_id;
}

/* --- reading and writing the properties ------------------------------ */

void
_wzp_call_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  WzpCall *self = WZP_CALL (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
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
    case PROP_NAT_SPRAY:
      self->nat_spray = g_value_get_uint (value);
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

void
_wzp_call_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WzpCall *self = WZP_CALL (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
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
    case PROP_NAT_SPRAY:
      g_value_set_uint (value, self->nat_spray);
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

/* --- the settings, before a start ------------------------------------ */

static gboolean
fingerprint_is_valid (const char *text)
{
  g_autofree char *canonical = wzp_fingerprint_normalize (text, NULL);

  return canonical != NULL;
}

gboolean
_wzp_call_check_settings (WzpCall * self, GPtrArray ** relays, GError ** error)
{
  g_autoptr (GPtrArray) list = NULL;

  if (self->identity == NULL) {
    g_set_error (error, WZP_CALL_ERROR, WZP_CALL_ERROR_INVALID_SETTINGS,
        "no identity set");
    return FALSE;
  }
  list = _wzp_relay_list_parse (self->relay, error);
  if (list == NULL)
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
  *relays = g_steal_pointer (&list);
  return TRUE;
}
