/* gstwzpobject.c — the part of a wzp element that deals with its call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/base/gstbasesink.h>
#include <gst/base/gstbasesrc.h>

#include "gstwzpobject.h"
#include "gstwzplog.h"
#include "gstwzpproperties.h"
#include "gstwzpuri.h"

#define GST_CAT_DEFAULT gst_wzp_call_debug


struct _GstWzpObject
{
  GstElement *element;          /* not owned: it owns us */

  /* settings lock */
  GMutex lock;
  GstWzpSettings settings;
  guint latency_ms;
  guint max_latency_ms;
  gboolean wait_for_call;

  /* the call pointer, for application threads; the streaming thread
   * uses it between start and stop without the lock */
  GMutex call_lock;
  GstWzpCallObject *call;
  GstElement *user;             /* the element that uses the call */
  GstWzpObjectFuncs funcs;
  gpointer user_data;
  gint error_posted;            /* atomic */

  /* streaming lock */
  GMutex stream_lock;
  GCond cond;
  gboolean flushing;
};

static GQuark object_quark;

static GstWzpObject *
object_of (GObject * element)
{
  return g_object_get_qdata (element, object_quark);
}

/* -------------------------------------------------------------------------
 * Signals (class setup; the properties are gstwzpproperties.c's)
 */

static gboolean
decide (GstElement * element, const gchar * call_id, gboolean accept)
{
  GstWzpObject *self = object_of (G_OBJECT (element));
  gboolean ok = FALSE;

  g_mutex_lock (&self->call_lock);
  if (self->call)
    ok = gst_wzp_call_object_decide (self->call, call_id, accept);
  g_mutex_unlock (&self->call_lock);
  GST_INFO_OBJECT (element, "%s call %s: %s", accept ? "answer" : "reject",
      call_id, ok ? "done" : "no such call ringing here");
  return ok;
}

static gboolean
answer_call (GstElement * element, const gchar * call_id)
{
  return decide (element, call_id, TRUE);
}

static gboolean
reject_call (GstElement * element, const gchar * call_id)
{
  return decide (element, call_id, FALSE);
}

static void
install_answer_signals (GType type)
{
  /**
   * GstWzpSrc::incoming-call:
   * @src: the wzpsrc
   * @caller: fingerprint of the caller
   * @call_id: the call's id, to give to #GstWzpSrc::answer or
   *   #GstWzpSrc::reject
   *
   * With #GstWzpSrc:answer set to `ask`: a call rings.  A notification:
   * it is emitted on a thread of its own (not the call's, not the
   * streaming thread), and the call keeps running (and ringing) until the
   * application answers or rejects it, now or later, or the caller gives
   * up.  Every element that shares the call emits it (wzpsink has the
   * same signals).  The same news comes as a `wzp-incoming-call` element
   * message, for applications that ask their user from their main loop.
   */
  g_signal_new ("incoming-call", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
      NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * GstWzpSrc::answer:
   * @src: the wzpsrc
   * @call_id: the ringing call (from #GstWzpSrc::incoming-call)
   *
   * Action signal: accept the ringing call.  Any thread, any time while
   * it rings.
   *
   * Returns: %TRUE if that call was ringing here
   */
  g_signal_new_class_handler ("answer", type,
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (answer_call), NULL,
      NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);

  /**
   * GstWzpSrc::reject:
   * @src: the wzpsrc
   * @call_id: the ringing call
   *
   * Action signal: reject the ringing call; the element goes on waiting
   * for the next one.
   *
   * Returns: %TRUE if that call was ringing here
   */
  g_signal_new_class_handler ("reject", type,
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (reject_call), NULL,
      NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
}

static void
class_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  if (!gst_wzp_object_set_property (object_of (object), prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
class_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  if (!gst_wzp_object_get_property (object_of (object), prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

/* unlock() and unlock_stop(): a wait for the call, or for the next frame,
 * stops and does not start again until unlock_stop(). */
static gboolean
base_src_unlock (GstBaseSrc * element)
{
  gst_wzp_object_set_flushing (object_of (G_OBJECT (element)), TRUE);
  return TRUE;
}

static gboolean
base_src_unlock_stop (GstBaseSrc * element)
{
  gst_wzp_object_set_flushing (object_of (G_OBJECT (element)), FALSE);
  return TRUE;
}

static gboolean
base_sink_unlock (GstBaseSink * element)
{
  return base_src_unlock ((GstBaseSrc *) element);
}

static gboolean
base_sink_unlock_stop (GstBaseSink * element)
{
  return base_src_unlock_stop ((GstBaseSrc *) element);
}

void
gst_wzp_object_class_init (gpointer g_class, GstWzpObjectRole roles)
{
  GObjectClass *klass = G_OBJECT_CLASS (g_class);

  if (!object_quark)
    object_quark = g_quark_from_static_string ("gst-wzp-object");
  klass->set_property = class_set_property;
  klass->get_property = class_get_property;
  if (GST_IS_BASE_SRC_CLASS (g_class)) {
    GST_BASE_SRC_CLASS (g_class)->unlock = base_src_unlock;
    GST_BASE_SRC_CLASS (g_class)->unlock_stop = base_src_unlock_stop;
  } else if (GST_IS_BASE_SINK_CLASS (g_class)) {
    GST_BASE_SINK_CLASS (g_class)->unlock = base_sink_unlock;
    GST_BASE_SINK_CLASS (g_class)->unlock_stop = base_sink_unlock_stop;
  }
  gst_wzp_properties_install (klass, roles & GST_WZP_OBJECT_RECEIVES,
      roles & GST_WZP_OBJECT_SENDS);
  if (roles & GST_WZP_OBJECT_ANSWERS)
    install_answer_signals (G_TYPE_FROM_CLASS (klass));
}

/* -------------------------------------------------------------------------
 * The URI handler
 */

static const gchar *const *
uri_get_protocols (GType type)
{
  static const gchar *protocols[] = { GST_WZP_URI_SCHEME, NULL };

  return protocols;
}

static GstURIType
uri_get_type (GType type)
{
  return g_type_is_a (type, GST_TYPE_BASE_SINK) ? GST_URI_SINK : GST_URI_SRC;
}

static gchar *
uri_get_uri (GstURIHandler * handler)
{
  return gst_wzp_uri_from_properties (G_OBJECT (handler));
}

static gboolean
uri_set_uri (GstURIHandler * handler, const gchar * uri, GError ** error)
{
  GstState state;

  GST_OBJECT_LOCK (handler);
  state = GST_STATE (handler);
  GST_OBJECT_UNLOCK (handler);
  if (state > GST_STATE_READY) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "Changing the URI of %s is only possible in the NULL or READY state",
        GST_OBJECT_NAME (handler));
    return FALSE;
  }
  return gst_wzp_uri_to_properties (G_OBJECT (handler), uri, error);
}

void
gst_wzp_object_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  iface->get_type = uri_get_type;
  iface->get_protocols = uri_get_protocols;
  iface->get_uri = uri_get_uri;
  iface->set_uri = uri_set_uri;
}

/* -------------------------------------------------------------------------
 * Setting and getting
 */

static void object_free (GstWzpObject * self);

GstWzpObject *
gst_wzp_object_new (GstElement * element)
{
  GstWzpObject *self = g_new0 (GstWzpObject, 1);

  self->element = element;
  g_mutex_init (&self->lock);
  g_mutex_init (&self->call_lock);
  g_mutex_init (&self->stream_lock);
  g_cond_init (&self->cond);
  gst_wzp_settings_init (&self->settings);
  self->latency_ms = GST_WZP_DEFAULT_LATENCY;
  self->max_latency_ms = GST_WZP_DEFAULT_MAX_LATENCY;
  self->wait_for_call = GST_WZP_DEFAULT_WAIT_FOR_CALL;
  /* Freed with the element. */
  g_object_set_qdata_full (G_OBJECT (element), object_quark, self,
      (GDestroyNotify) object_free);
  return self;
}

static void
object_free (GstWzpObject * self)
{
  g_warn_if_fail (self->call == NULL);
  gst_wzp_settings_clear (&self->settings);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->call_lock);
  g_mutex_clear (&self->stream_lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

static void
set_string (gchar ** field, const GValue * value)
{
  const gchar *s = g_value_get_string (value);

  g_free (*field);
  *field = (s && *s) ? g_strdup (s) : NULL;
}

/* set_property cannot fail: an invalid URI is remembered and reported
 * when the element starts (a settings error). */
static void
set_uri (GstWzpObject * self, const gchar * uri)
{
  GError *error = NULL;

  if (!gst_wzp_uri_to_properties (G_OBJECT (self->element), uri, &error))
    GST_WARNING_OBJECT (self->element, "invalid uri: %s", error->message);
  g_mutex_lock (&self->lock);
  gst_wzp_settings_set_uri_error (&self->settings, uri, error);
  g_mutex_unlock (&self->lock);
  g_clear_error (&error);
}

static gboolean
set_setting (GstWzpSettings * s, guint prop_id, const GValue * value)
{
  switch (prop_id) {
    case GST_WZP_PROP_RELAY:
      set_string (&s->relay, value);
      return TRUE;
    case GST_WZP_PROP_RELAY_FINGERPRINT:
      set_string (&s->relay_fingerprint, value);
      return TRUE;
    case GST_WZP_PROP_IDENTITY:
      set_string (&s->identity, value);
      return TRUE;
    case GST_WZP_PROP_PEER:
      set_string (&s->peer, value);
      return TRUE;
    case GST_WZP_PROP_SESSION:
      set_string (&s->session, value);
      return TRUE;
    case GST_WZP_PROP_ROOM:
      set_string (&s->room, value);
      return TRUE;
    case GST_WZP_PROP_ROOM_OWNER:
      set_string (&s->room_owner, value);
      return TRUE;
    case GST_WZP_PROP_ROOM_INVITE:
      set_string (&s->room_invite, value);
      return TRUE;
    case GST_WZP_PROP_ROOM_OPEN:
      s->room_open = g_value_get_boolean (value);
      return TRUE;
    case GST_WZP_PROP_ANSWER:
      s->answer = g_value_get_enum (value);
      return TRUE;
    case GST_WZP_PROP_PATH_POLICY:
      s->path_policy = g_value_get_enum (value);
      return TRUE;
    case GST_WZP_PROP_MEDIA_TIMEOUT:
      s->media_timeout_ms = g_value_get_uint (value);
      return TRUE;
    default:
      return FALSE;
  }
}

static void
set_latency (GstWzpObject * self, guint prop_id, guint ms)
{
  void (*changed) (guint, guint, gpointer) = NULL;
  gpointer user_data = NULL;
  guint latency, max_latency;

  g_mutex_lock (&self->lock);
  if (prop_id == GST_WZP_PROP_LATENCY)
    self->latency_ms = ms;
  else
    self->max_latency_ms = ms;
  latency = self->latency_ms;
  max_latency = self->max_latency_ms;
  g_mutex_unlock (&self->lock);

  g_mutex_lock (&self->call_lock);
  if (self->call) {
    changed = self->funcs.latency_changed;
    user_data = self->user_data;
    if (changed)
      changed (latency, max_latency, user_data);
  }
  g_mutex_unlock (&self->call_lock);
  if (user_data)
    gst_element_post_message (self->element,
        gst_message_new_latency (GST_OBJECT (self->element)));
}

gboolean
gst_wzp_object_set_property (GstWzpObject * self, guint prop_id,
    const GValue * value)
{
  gboolean handled;

  switch (prop_id) {
    case GST_WZP_PROP_URI:
      set_uri (self, g_value_get_string (value));
      return TRUE;
    case GST_WZP_PROP_LATENCY:
    case GST_WZP_PROP_MAX_LATENCY:
      set_latency (self, prop_id, g_value_get_uint (value));
      return TRUE;
    case GST_WZP_PROP_WAIT_FOR_CALL:
      g_mutex_lock (&self->lock);
      self->wait_for_call = g_value_get_boolean (value);
      g_mutex_unlock (&self->lock);
      return TRUE;
    default:
      g_mutex_lock (&self->lock);
      handled = set_setting (&self->settings, prop_id, value);
      g_mutex_unlock (&self->lock);
      return handled;
  }
}

static gboolean
get_setting (const GstWzpSettings * s, guint prop_id, GValue * value)
{
  switch (prop_id) {
    case GST_WZP_PROP_RELAY:
      g_value_set_string (value, s->relay);
      return TRUE;
    case GST_WZP_PROP_RELAY_FINGERPRINT:
      g_value_set_string (value, s->relay_fingerprint);
      return TRUE;
    case GST_WZP_PROP_IDENTITY:
      g_value_set_string (value, s->identity);
      return TRUE;
    case GST_WZP_PROP_SESSION:
      g_value_set_string (value, s->session);
      return TRUE;
    case GST_WZP_PROP_ROOM:
      g_value_set_string (value, s->room);
      return TRUE;
    case GST_WZP_PROP_ROOM_OWNER:
      g_value_set_string (value, s->room_owner);
      return TRUE;
    case GST_WZP_PROP_ROOM_INVITE:
      g_value_set_string (value, s->room_invite);
      return TRUE;
    case GST_WZP_PROP_ROOM_OPEN:
      g_value_set_boolean (value, s->room_open);
      return TRUE;
    case GST_WZP_PROP_ANSWER:
      g_value_set_enum (value, s->answer);
      return TRUE;
    case GST_WZP_PROP_PATH_POLICY:
      g_value_set_enum (value, s->path_policy);
      return TRUE;
    case GST_WZP_PROP_MEDIA_TIMEOUT:
      g_value_set_uint (value, s->media_timeout_ms);
      return TRUE;
    default:
      return FALSE;
  }
}

/* Properties that come from the call; the call lock is held.  Without a
 * call: defaults. */
static gboolean
get_from_call (GstWzpCallObject * call, guint prop_id, GValue * value)
{
  switch (prop_id) {
    case GST_WZP_PROP_PATH:
      g_value_set_enum (value, call ? gst_wzp_call_object_get_path (call)
          : WZP_PATH_NONE);
      return TRUE;
    case GST_WZP_PROP_STATS:
      g_value_take_boxed (value, call ? gst_wzp_call_object_get_stats (call)
          : gst_wzp_stats_new_empty ());
      return TRUE;
    case GST_WZP_PROP_CALL_ID:
      g_value_take_string (value,
          call ? gst_wzp_call_object_dup_call_id (call) : NULL);
      return TRUE;
    case GST_WZP_PROP_FINGERPRINT:
      g_value_take_string (value,
          call ? gst_wzp_call_object_dup_fingerprint (call) : NULL);
      return TRUE;
    case GST_WZP_PROP_RELAY_STATE:
      g_value_set_string (value, wzp_relay_state_to_string (call ?
              gst_wzp_call_object_get_relay_state (call) :
              WZP_RELAY_STATE_NONE));
      return TRUE;
    case GST_WZP_PROP_PEER:
      /* Answering a call: the caller, so the URI names them. */
      g_value_take_string (value,
          call ? gst_wzp_call_object_dup_peer (call) : NULL);
      return TRUE;
    default:
      return FALSE;
  }
}

gboolean
gst_wzp_object_get_property (GstWzpObject * self, guint prop_id, GValue * value)
{
  gboolean handled = TRUE;

  if (prop_id == GST_WZP_PROP_URI) {
    g_value_take_string (value,
        gst_wzp_uri_from_properties (G_OBJECT (self->element)));
    return TRUE;
  }
  g_mutex_lock (&self->lock);
  if (prop_id == GST_WZP_PROP_LATENCY)
    g_value_set_uint (value, self->latency_ms);
  else if (prop_id == GST_WZP_PROP_MAX_LATENCY)
    g_value_set_uint (value, self->max_latency_ms);
  else if (prop_id == GST_WZP_PROP_WAIT_FOR_CALL)
    g_value_set_boolean (value, self->wait_for_call);
  else if (prop_id == GST_WZP_PROP_PEER && self->settings.peer)
    g_value_set_string (value, self->settings.peer);
  else
    handled = get_setting (&self->settings, prop_id, value);
  g_mutex_unlock (&self->lock);
  if (handled)
    return TRUE;

  g_mutex_lock (&self->call_lock);
  handled = get_from_call (self->call, prop_id, value);
  g_mutex_unlock (&self->call_lock);
  return handled;
}

void
gst_wzp_object_get_settings (GstWzpObject * self, GstWzpSettings * settings)
{
  g_mutex_lock (&self->lock);
  gst_wzp_settings_copy (settings, &self->settings);
  g_mutex_unlock (&self->lock);
}

void
gst_wzp_object_get_latency (GstWzpObject * self, guint * latency_ms,
    guint * max_latency_ms)
{
  g_mutex_lock (&self->lock);
  *latency_ms = self->latency_ms;
  *max_latency_ms = MAX (self->latency_ms, self->max_latency_ms);
  g_mutex_unlock (&self->lock);
}

gboolean
gst_wzp_object_get_wait_for_call (GstWzpObject * self)
{
  gboolean wait;

  g_mutex_lock (&self->lock);
  wait = self->wait_for_call;
  g_mutex_unlock (&self->lock);
  return wait;
}

void
gst_wzp_object_answer_latency_query (GstWzpObject * self, GstQuery * query)
{
  guint min, max;

  gst_wzp_object_get_latency (self, &min, &max);
  GST_DEBUG_OBJECT (self->element, "latency min %u ms max %u ms", min, max);
  gst_query_set_latency (query, TRUE, min * GST_MSECOND, max * GST_MSECOND);
}

/* -------------------------------------------------------------------------
 * The call (its thread, the call object's lock held): forwarded
 */

static void
on_frame (const WzpCallFrame * frame, gpointer user_data)
{
  GstWzpObject *self = user_data;

  if (self->funcs.call.frame)
    self->funcs.call.frame (frame, self->user_data);
}

static void
on_wake (gpointer user_data)
{
  GstWzpObject *self = user_data;

  g_mutex_lock (&self->stream_lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->stream_lock);
  if (self->funcs.call.wake)
    self->funcs.call.wake (self->user_data);
}

static void
on_add_stats (GstStructure * stats, gpointer user_data)
{
  GstWzpObject *self = user_data;

  self->funcs.call.add_stats (stats, self->user_data);
}

static void
on_member (const gchar * fingerprint, gboolean joined, gpointer user_data)
{
  GstWzpObject *self = user_data;

  self->funcs.call.member (fingerprint, joined, self->user_data);
}

/* -------------------------------------------------------------------------
 * Starting and stopping
 */

gboolean
gst_wzp_object_start (GstWzpObject * self, GstElement * user,
    const GstWzpObjectFuncs * funcs, gpointer user_data)
{
  GstWzpCallUserFuncs forward = {
    .frame = on_frame,
    .wake = on_wake,
    .add_stats = funcs->call.add_stats ? on_add_stats : NULL,
    .member = funcs->call.member ? on_member : NULL,
  };
  GstWzpSettings settings;
  GstWzpCallObject *call;
  GstWzpError *error = NULL;

  gst_wzp_object_get_settings (self, &settings);
  /* The funcs are in place before the call can use them. */
  self->funcs = *funcs;
  self->user_data = user_data;
  self->user = user;
  g_atomic_int_set (&self->error_posted, FALSE);
  call = gst_wzp_call_object_acquire (&settings, user, &forward, self, &error);
  gst_wzp_settings_clear (&settings);
  if (call == NULL) {
    gst_wzp_error_post (user, error);
    gst_wzp_error_free (error);
    return FALSE;
  }
  g_mutex_lock (&self->call_lock);
  self->call = call;
  g_mutex_unlock (&self->call_lock);
  return TRUE;
}

void
gst_wzp_object_stop (GstWzpObject * self)
{
  GstWzpCallObject *call;

  g_mutex_lock (&self->call_lock);
  call = g_steal_pointer (&self->call);
  g_mutex_unlock (&self->call_lock);
  /* After release no function of the user's runs any more. */
  if (call)
    gst_wzp_call_object_release (call, self->user);
}

GstWzpCallObject *
gst_wzp_object_get_call (GstWzpObject * self)
{
  return self->call;
}

WzpCallState
gst_wzp_object_get_call_state (GstWzpObject * self)
{
  WzpCallState state = WZP_CALL_STATE_IDLE;

  g_mutex_lock (&self->call_lock);
  if (self->call)
    state = gst_wzp_call_object_get_state (self->call);
  g_mutex_unlock (&self->call_lock);
  return state;
}

GstFlowReturn
gst_wzp_object_post_failure (GstWzpObject * self)
{
  GstWzpError *error = NULL;

  if (!g_atomic_int_compare_and_exchange (&self->error_posted, FALSE, TRUE))
    return GST_FLOW_ERROR;
  g_mutex_lock (&self->call_lock);
  if (self->call)
    error = gst_wzp_call_object_dup_error (self->call);
  g_mutex_unlock (&self->call_lock);
  if (error) {
    gst_wzp_error_post (self->user, error);
    gst_wzp_error_free (error);
  }
  return GST_FLOW_ERROR;
}

/* -------------------------------------------------------------------------
 * The streaming lock
 */

void
gst_wzp_object_lock (GstWzpObject * self)
{
  g_mutex_lock (&self->stream_lock);
}

void
gst_wzp_object_unlock (GstWzpObject * self)
{
  g_mutex_unlock (&self->stream_lock);
}

void
gst_wzp_object_broadcast (GstWzpObject * self)
{
  g_cond_broadcast (&self->cond);
}

gboolean
gst_wzp_object_wait (GstWzpObject * self, gint64 end_time)
{
  if (!self->flushing)
    g_cond_wait_until (&self->cond, &self->stream_lock, end_time);
  return !self->flushing;
}

gboolean
gst_wzp_object_is_flushing (GstWzpObject * self)
{
  return self->flushing;
}

void
gst_wzp_object_set_flushing (GstWzpObject * self, gboolean flushing)
{
  g_mutex_lock (&self->stream_lock);
  self->flushing = flushing;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->stream_lock);
}
