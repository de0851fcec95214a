/* wzp — the path manager: the object, its configuration and state, the
 * media API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-private.h"

#include <string.h>

#include "wzp-identity.h"
#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

/* --- enums ------------------------------------------------------------ */

const char *
wzp_path_role_to_string (WzpPathRole role)
{
  switch (role) {
    case WZP_PATH_ROLE_DIALER:
      return "dialer";
    case WZP_PATH_ROLE_ACCEPTOR:
      return "acceptor";
    case WZP_PATH_ROLE_NONE:
    default:
      return "none";
  }
}

GQuark
wzp_path_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-path-error-quark");
  return q;
}

/* --- roles ------------------------------------------------------------ */

/**
 * wzp_path_decide_role:
 * @reason: (out) (optional): why, for logs and path-changed reasons
 *
 * Who dials and who accepts, decided the same way on both sides from what
 * both know, so exactly one direct connection is made:
 * - both mappings endpoint-dependent: no direct attempt (%NONE): neither
 *   can be reached at an address the other knows;
 * - one side endpoint-dependent: that side dials.  Its NAT picks a new
 *   port for the acceptor, which the acceptor answers where the packet
 *   came from; the reverse cannot work;
 * - otherwise (both EIM, both unknown, or EIM and unknown) the
 *   lexicographically smaller fingerprint (normalised text form) dials.
 *   Fingerprints are what both sides already agree on; the original
 *   compared reflexive addresses, which a peer may not have.
 * Equal fingerprints (calling oneself) give %NONE.
 *
 * Returns: our role
 */
WzpPathRole
wzp_path_decide_role (WzpNatType local_nat, WzpNatType peer_nat,
    const char *local_fingerprint, const char *peer_fingerprint,
    const char **reason)
{
  const char *dummy;
  g_autofree char *mine = NULL;
  g_autofree char *theirs = NULL;
  int cmp;

  if (reason == NULL)
    reason = &dummy;
  if (local_nat == WZP_NAT_TYPE_EDM && peer_nat == WZP_NAT_TYPE_EDM) {
    *reason = "peer NAT is symmetric and ours too: relay only";
    return WZP_PATH_ROLE_NONE;
  }
  if (local_nat == WZP_NAT_TYPE_EDM) {
    *reason = "our NAT is symmetric: we dial";
    return WZP_PATH_ROLE_DIALER;
  }
  if (peer_nat == WZP_NAT_TYPE_EDM) {
    *reason = "peer NAT is symmetric: it dials, we accept";
    return WZP_PATH_ROLE_ACCEPTOR;
  }
  mine = wzp_fingerprint_normalize (local_fingerprint, NULL);
  theirs = wzp_fingerprint_normalize (peer_fingerprint, NULL);
  if (mine == NULL || theirs == NULL) {
    *reason = "invalid fingerprint: relay only";
    return WZP_PATH_ROLE_NONE;
  }
  cmp = strcmp (mine, theirs);
  if (cmp == 0) {
    *reason = "the peer has our own fingerprint: relay only";
    return WZP_PATH_ROLE_NONE;
  }
  *reason = cmp < 0 ? "smaller fingerprint dials: we dial" :
      "smaller fingerprint dials: we accept";
  return cmp < 0 ? WZP_PATH_ROLE_DIALER : WZP_PATH_ROLE_ACCEPTOR;
}

/* --- configuration ---------------------------------------------------- */

void
wzp_path_timings_init (WzpPathTimings * t)
{
  memset (t, 0, sizeof *t);
  t->punch_interval_ns = WZP_PATH_DEFAULT_PUNCH_INTERVAL;
  t->race_timeout_ns = WZP_PATH_DEFAULT_RACE_TIMEOUT;
  t->initial_rtt_ns = WZP_PATH_DEFAULT_INITIAL_RTT;
  t->probe_interval_ns = WZP_PATH_DEFAULT_PROBE_INTERVAL;
  t->failover_threshold_ns = WZP_PATH_DEFAULT_FAILOVER_THRESHOLD;
  t->direct_idle_timeout_ns = WZP_PATH_DEFAULT_DIRECT_IDLE_TIMEOUT;
  t->rerace_interval_ns = WZP_PATH_DEFAULT_RERACE_INTERVAL;
  t->rerace_max_interval_ns = WZP_PATH_DEFAULT_RERACE_MAX_INTERVAL;
  t->switch_overlap_ns = WZP_PATH_DEFAULT_SWITCH_OVERLAP;
}

void
wzp_path_config_init (WzpPathConfig * config)
{
  memset (config, 0, sizeof *config);
  config->local_nat = WZP_NAT_TYPE_UNKNOWN;
  config->peer_nat = WZP_NAT_TYPE_UNKNOWN;
  config->policy = WZP_PATH_POLICY_AUTO;
  wzp_path_timings_init (&config->timings);
}

static gboolean
check_timings (const WzpPathTimings * t, GError ** error)
{
  const char *bad = NULL;

  if (t->punch_interval_ns == 0)
    bad = "punch interval";
  else if (t->race_timeout_ns == 0)
    bad = "race timeout";
  else if (t->probe_interval_ns == 0)
    bad = "probe interval";
  else if (t->failover_threshold_ns < t->probe_interval_ns)
    bad = "failover threshold (shorter than the probe interval)";
  else if (t->direct_idle_timeout_ns < t->failover_threshold_ns)
    bad = "direct idle timeout (shorter than the failover threshold)";
  else if (t->rerace_interval_ns == 0)
    bad = "re-race interval";
  if (bad) {
    g_set_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_INVALID_CONFIG,
        "invalid path timings: %s", bad);
    return FALSE;
  }
  return TRUE;
}

/* --- GObject ---------------------------------------------------------- */

enum
{
  SIGNAL_PATH_CHANGED,
  SIGNAL_RACE_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (WzpPathManager, wzp_path_manager, G_TYPE_OBJECT);

static void
wzp_path_manager_dispose (GObject * object)
{
  WzpPathManager *self = WZP_PATH_MANAGER (object);

  wzp_path_manager_stop (self);
  if (self->media_notify)
    self->media_notify (self->media_data);
  self->media_notify = NULL;
  self->media_func = NULL;
  G_OBJECT_CLASS (wzp_path_manager_parent_class)->dispose (object);
}

static void
wzp_path_manager_finalize (GObject * object)
{
  WzpPathManager *self = WZP_PATH_MANAGER (object);

  g_clear_pointer (&self->dials, g_ptr_array_unref);
  g_clear_pointer (&self->held, g_ptr_array_unref);
  g_clear_pointer (&self->local_cands, wzp_candidates_unref);
  g_clear_pointer (&self->peer_cands, wzp_candidates_unref);
  g_free (self->local_fp);
  g_free (self->peer_fp);
  g_free (self->role_reason);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->endpoint);
  G_OBJECT_CLASS (wzp_path_manager_parent_class)->finalize (object);
}

static void
wzp_path_manager_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  WzpPathManager *self = WZP_PATH_MANAGER (object);

  switch (prop_id) {
    case PROP_PATH:
      g_value_set_enum (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
wzp_path_manager_class_init (WzpPathManagerClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->dispose = wzp_path_manager_dispose;
  gobject_class->finalize = wzp_path_manager_finalize;
  gobject_class->get_property = wzp_path_manager_get_property;

  /**
   * WzpPathManager:path:
   *
   * Where media goes now.
   */
  props[PROP_PATH] = g_param_spec_enum ("path", "Path",
      "Where media goes now", WZP_TYPE_PATH_KIND, WZP_PATH_NONE,
      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  /**
   * WzpPathManager::path-changed:
   * @path: the new #WzpPathKind
   * @reason: why, for humans ("direct path agreed", "direct path silent
   *   for 1000 ms", ...)
   *
   * The path media should take changed.
   */
  signals[SIGNAL_PATH_CHANGED] = g_signal_new ("path-changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_PATH_KIND, G_TYPE_STRING);
  /**
   * WzpPathManager::race-finished:
   * @direct: whether the race produced a direct connection
   * @reason: what happened
   *
   * A race ended.  With the direct-only policy, %FALSE means the call has
   * no path.
   */
  signals[SIGNAL_RACE_FINISHED] = g_signal_new ("race-finished",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
wzp_path_manager_init (WzpPathManager * self)
{
  self->path = WZP_PATH_NONE;
  self->dials = g_ptr_array_new ();
  self->held = g_ptr_array_new ();
}

/* --- timers ----------------------------------------------------------- */

guint64
_wzp_path_now (WzpPathManager * self)
{
  return wzp_clock_get_time (self->clock);
}

/* A re-armable timer on the endpoint's clock and context; it fires once
 * per arming.  @func returns G_SOURCE_CONTINUE (it re-arms if it wants). */
GSource *
_wzp_path_timer_new (WzpPathManager * self, GSourceFunc func)
{
  GSource *timer = wzp_timer_source_new (self->clock);

  g_source_set_callback (timer, func, self, NULL);
  g_source_attach (timer, self->context);
  return timer;
}

void
_wzp_path_timer_arm (WzpPathManager * self, GSource * timer, guint64 delay_ns)
{
  wzp_timer_source_set_deadline (timer, _wzp_path_now (self) + delay_ns);
}

void
_wzp_path_timer_disarm (GSource * timer)
{
  if (timer)
    wzp_timer_source_set_deadline (timer, WZP_TIME_NONE);
}

void
_wzp_path_timer_destroy (GSource ** timer)
{
  if (*timer) {
    g_source_destroy (*timer);
    g_clear_pointer (timer, g_source_unref);
  }
}

/* --- attempts --------------------------------------------------------- */

WzpPathAttempt *
_wzp_path_attempt_new (WzpPathManager * self, WzpConnection * conn,
    const WzpAddr * remote)
{
  WzpPathAttempt *a = g_new0 (WzpPathAttempt, 1);

  a->self = self;
  a->conn = g_object_ref (conn);
  a->remote = *remote;
  return a;
}

/* Forgets @a; closes its connection first when @close_reason is set. */
void
_wzp_path_attempt_free (WzpPathAttempt * a, const char *close_reason)
{
  if (a == NULL)
    return;
  g_clear_signal_handler (&a->connected_id, a->conn);
  g_clear_signal_handler (&a->closed_id, a->conn);
  g_clear_signal_handler (&a->message_id, a->conn);
  wzp_connection_set_datagram_handler (a->conn, NULL, NULL, NULL);
  if (close_reason)
    wzp_connection_close (a->conn, WZP_PATH_CLOSE_CODE, close_reason);
  g_object_unref (a->conn);
  g_free (a);
}

gboolean
_wzp_path_token_equal (const guint8 * a, const guint8 * b)
{
  guint8 diff = 0;

  /* Constant time: the token is a shared secret. */
  for (guint i = 0; i < WZP_PATH_TOKEN_LEN; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

/* --- the path --------------------------------------------------------- */

/* Recomputes the path from the state and tells everyone if it changed.
 * Emits signals: call it last, from a context that may (not inside packet
 * processing), and check self->stopped afterwards. */
void
_wzp_path_update (WzpPathManager * self, const char *reason)
{
  WzpPathKind path;

  if (self->stopped || !self->started)
    path = WZP_PATH_NONE;
  else if (self->agreed)
    path = WZP_PATH_DIRECT;
  else if (self->policy == WZP_PATH_POLICY_DIRECT_ONLY)
    path = WZP_PATH_NONE;
  else
    path = WZP_PATH_RELAY;

  if (path == self->path)
    return;
  WZP_INFO_OBJECT (self, "path %s -> %s: %s",
      wzp_path_kind_to_string (self->path), wzp_path_kind_to_string (path),
      reason);
  self->path = path;
  self->switch_time = _wzp_path_now (self);
  g_object_ref (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PATH]);
  g_signal_emit (self, signals[SIGNAL_PATH_CHANGED], 0, path, reason);
  g_object_unref (self);
}

void
_wzp_path_emit_race_finished (WzpPathManager * self, gboolean direct,
    const char *reason)
{
  g_signal_emit (self, signals[SIGNAL_RACE_FINISHED], 0, direct, reason);
}

/* --- public API ------------------------------------------------------- */

/**
 * wzp_path_manager_new:
 * @endpoint: the endpoint whose socket(s) the call uses
 * @config: what call setup told us; copied
 *
 * Returns: (transfer full): a path manager, not started; %NULL with
 * @error set when @config is unusable
 */
WzpPathManager *
wzp_path_manager_new (WzpEndpoint * endpoint, const WzpPathConfig * config,
    GError ** error)
{
  WzpPathManager *self;
  const char *local_fp;
  g_autofree char *peer_fp = NULL;
  g_autofree char *mine = NULL;
  const char *reason = NULL;

  g_return_val_if_fail (WZP_IS_ENDPOINT (endpoint), NULL);
  g_return_val_if_fail (config != NULL, NULL);

  local_fp = config->local_fingerprint;
  if (local_fp == NULL)
    local_fp = wzp_identity_get_fingerprint (wzp_endpoint_get_identity
        (endpoint));
  mine = wzp_fingerprint_normalize (local_fp, error);
  if (mine == NULL) {
    g_prefix_error (error, "local fingerprint: ");
    return NULL;
  }
  peer_fp = wzp_fingerprint_normalize (config->peer_fingerprint, error);
  if (peer_fp == NULL) {
    g_prefix_error (error, "peer fingerprint: ");
    return NULL;
  }
  if (config->policy > WZP_PATH_POLICY_RELAY_ONLY) {
    g_set_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_INVALID_CONFIG,
        "unknown path policy %d", config->policy);
    return NULL;
  }
  if (!check_timings (&config->timings, error))
    return NULL;

  self = g_object_new (WZP_TYPE_PATH_MANAGER, NULL);
  self->endpoint = g_object_ref (endpoint);
  self->context = g_main_context_ref (wzp_endpoint_get_context (endpoint));
  self->clock = g_object_ref (wzp_endpoint_get_clock (endpoint));
  self->local_fp = g_steal_pointer (&mine);
  self->peer_fp = g_steal_pointer (&peer_fp);
  self->local_nat = config->local_nat;
  self->peer_nat = config->peer_nat;
  self->local_cands = wzp_candidates_copy (config->local_candidates);
  self->peer_cands = wzp_candidates_copy (config->peer_candidates);
  memcpy (self->token, config->call_token, WZP_PATH_TOKEN_LEN);
  self->policy = config->policy;
  self->t = config->timings;

  if (self->policy == WZP_PATH_POLICY_RELAY_ONLY) {
    self->role = WZP_PATH_ROLE_NONE;
    reason = "policy is relay-only";
  } else {
    self->role = wzp_path_decide_role (self->local_nat, self->peer_nat,
        self->local_fp, self->peer_fp, &reason);
  }
  self->role_reason = g_strdup (reason);
  self->stats.role = self->role;
  {
    g_autofree char *lc = wzp_candidates_to_string (self->local_cands);
    g_autofree char *pc = wzp_candidates_to_string (self->peer_cands);
    WZP_INFO_OBJECT (self, "peer %s, policy %s, NAT ours %s peer %s: %s (%s);"
        " our candidates: %s; peer's: %s", self->peer_fp,
        wzp_path_policy_to_string (self->policy),
        wzp_nat_type_to_string (self->local_nat),
        wzp_nat_type_to_string (self->peer_nat),
        wzp_path_role_to_string (self->role), reason, lc, pc);
  }
  return self;
}

/**
 * wzp_path_manager_start:
 *
 * Starts the path work: media is on the relay from now on (path-changed
 * RELAY, or NONE with the direct-only policy), and the race to a direct
 * path starts at once, unless the policy or the NAT types rule it out.
 * Call it when call setup reaches both peers (the relay times its setup
 * message so both start together, which some NATs need).
 *
 * Returns: %FALSE if already started
 */
gboolean
wzp_path_manager_start (WzpPathManager * self, GError ** error)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), FALSE);

  if (self->started) {
    g_set_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_STATE,
        "the path manager was already started");
    return FALSE;
  }
  self->started = TRUE;
  self->start_time = _wzp_path_now (self);
  self->rerace_wait = self->t.rerace_interval_ns;

  g_object_ref (self);
  if (self->role != WZP_PATH_ROLE_NONE) {
    _wzp_path_race_setup (self);
    _wzp_path_race_start (self);
    _wzp_path_update (self, "call set up: relay until both agree on direct");
  } else {
    _wzp_path_update (self, self->role_reason);
    if (!self->stopped && self->policy == WZP_PATH_POLICY_DIRECT_ONLY)
      _wzp_path_emit_race_finished (self, FALSE, self->role_reason);
  }
  g_object_unref (self);
  return TRUE;
}

/**
 * wzp_path_manager_stop:
 *
 * Ends everything: the race, the direct connection (closed), the timers,
 * and our hold on the endpoint.  The path becomes NONE, without a
 * signal.  Idempotent; also done on dispose.
 */
void
wzp_path_manager_stop (WzpPathManager * self)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));

  if (self->stopped)
    return;
  self->stopped = TRUE;
  if (!self->started)
    return;
  WZP_DEBUG_OBJECT (self, "stopping");
  _wzp_path_race_teardown (self);
  _wzp_path_attempt_free (self->direct, "path manager stopped");
  self->direct = NULL;
  self->agreed = FALSE;
  _wzp_path_timer_destroy (&self->probe_timer);
  _wzp_path_timer_destroy (&self->liveness_timer);
  self->path = WZP_PATH_NONE;
}

static gboolean
in_switch_overlap (WzpPathManager * self)
{
  guint64 overlap = MAX (self->t.switch_overlap_ns, 2 * self->srtt);

  return self->switch_time != 0 && self->direct != NULL
      && _wzp_path_now (self) < self->switch_time + overlap;
}

/**
 * wzp_path_manager_should_duplicate:
 *
 * Whether a switch happened less than an overlap ago (the larger of
 * #WzpPathTimings.switch_overlap_ns and two direct RTTs): frames should
 * then go on both paths, and the receiver drops duplicates by sequence.
 * wzp_path_manager_send() applies this rule itself; this is for callers
 * that want to know.
 */
gboolean
wzp_path_manager_should_duplicate (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), FALSE);
  return self->policy != WZP_PATH_POLICY_DIRECT_ONLY
      && in_switch_overlap (self);
}

static gboolean
send_media (WzpPathManager * self, const guint8 * data, gsize len)
{
  WzpConnection *conn;
  guint8 stack[1500];
  g_autofree guint8 *heap = NULL;
  guint8 *buf = stack;
  gboolean ok;

  if (self->direct == NULL)
    return FALSE;
  conn = self->direct->conn;
  if (wzp_connection_get_state (conn) != WZP_CONNECTION_STATE_CONNECTED)
    return FALSE;
  if (self->blackhole)
    return TRUE;
  if (len + 1 > sizeof stack)
    buf = heap = g_malloc (len + 1);
  buf[0] = WZP_PATH_DGRAM_MEDIA;
  memcpy (buf + 1, data, len);
  ok = wzp_connection_send_datagram (conn, buf, len + 1);
  if (ok)
    self->stats.media_sent++;
  return ok;
}

/**
 * wzp_path_manager_send:
 * @data: one media packet (the manager prefixes its own type byte)
 *
 * Sends @data on the direct connection when that is where media goes.
 * The rule for the caller is one line: when this returns %FALSE, send
 * @data through the relay as well.
 *
 * - path DIRECT: sent direct; returns %TRUE, except during the overlap
 *   just after switching to direct, when it returns %FALSE so the relay
 *   carries a copy too;
 * - path RELAY: returns %FALSE; during the overlap just after leaving
 *   direct, a copy still goes direct (best effort);
 * - path NONE with the direct-only policy: sent direct if a direct
 *   connection exists (%TRUE), else dropped (%FALSE: there is no relay to
 *   fall back to, the caller drops it).
 *
 * A datagram that cannot be queued (congestion) is dropped, never an
 * error.
 *
 * Returns: %TRUE when the caller need not send @data via the relay
 */
gboolean
wzp_path_manager_send (WzpPathManager * self, const guint8 * data, gsize len)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), FALSE);

  if (self->stopped || !self->started)
    return FALSE;
  if (self->policy == WZP_PATH_POLICY_DIRECT_ONLY)
    return send_media (self, data, len);
  if (self->path == WZP_PATH_DIRECT) {
    gboolean sent = send_media (self, data, len);
    return sent && !in_switch_overlap (self);
  }
  if (in_switch_overlap (self))
    send_media (self, data, len);
  return FALSE;
}

/**
 * wzp_path_manager_set_media_handler:
 *
 * Where media datagrams that arrive on the direct connection go; see
 * #WzpPathMediaFunc.
 */
void
wzp_path_manager_set_media_handler (WzpPathManager * self,
    WzpPathMediaFunc func, gpointer user_data, GDestroyNotify notify)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  if (self->media_notify)
    self->media_notify (self->media_data);
  self->media_func = func;
  self->media_data = user_data;
  self->media_notify = notify;
}

WzpPathKind
wzp_path_manager_get_path (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), WZP_PATH_NONE);
  return self->path;
}

WzpPathRole
wzp_path_manager_get_role (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), WZP_PATH_ROLE_NONE);
  return self->role;
}

/**
 * wzp_path_manager_get_direct_connection:
 *
 * Returns: (transfer none) (nullable): the direct connection, once one is
 * chosen (agreed or not)
 */
WzpConnection *
wzp_path_manager_get_direct_connection (WzpPathManager * self)
{
  g_return_val_if_fail (WZP_IS_PATH_MANAGER (self), NULL);
  return self->direct ? self->direct->conn : NULL;
}

void
wzp_path_manager_get_stats (WzpPathManager * self, WzpPathStats * stats)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  *stats = self->stats;
  stats->path = self->path;
  stats->role = self->role;
  stats->direct_rtt_ns = self->srtt;
  stats->has_direct = self->direct != NULL;
  if (self->direct)
    wzp_connection_get_stats (self->direct->conn, &stats->direct);
  else
    memset (&stats->direct, 0, sizeof stats->direct);
}

void
_wzp_path_manager_set_blackhole (WzpPathManager * self, gboolean blackhole)
{
  g_return_if_fail (WZP_IS_PATH_MANAGER (self));
  WZP_INFO_OBJECT (self, "test hook: direct datagrams %s",
      blackhole ? "dropped" : "flow again");
  self->blackhole = blackhole;
}
