/* gstwzpsink.c — wzpsink: send Opus frames into a wzp call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-wzpsink
 * @title: wzpsink
 * @see_also: wzpsrc, opusenc
 *
 * wzpsink places (with #GstWzpSink:peer), answers (without it) or joins
 * (with #GstWzpSink:room) an end-to-end encrypted wzp call through a relay
 * and sends every Opus frame it gets into the call.  A wzpsrc of the same
 * process naming the same call (same #GstWzpSink:session, or same relay,
 * identity, peer and room) shares it and plays what the far end says.
 *
 * Each buffer's running time becomes the frame's 48 kHz media timestamp;
 * DISCONT and RESYNC buffers start a talkspurt (marker).  Sending never
 * blocks on the network: a frame that cannot be queued is dropped and
 * counted (stats field dropped-send).
 *
 * Before the call is active, frames are dropped (live sources: what was
 * said before the peer picked up is not sent later), unless
 * #GstWzpSink:wait-for-call is TRUE and upstream is not live: then the
 * sink waits for the call, and paced playout (sync=TRUE) resumes from
 * the moment it is active (the wait is added to ts-offset), so a
 * recording played into a call is sent whole.
 *
 * The sink does not take part in asynchronous state changes
 * (async=FALSE): in a two-way pipeline the sink after wzpsrc can only
 * preroll once the far end hears this sink, so this one must play
 * without prerolling.
 *
 * On EOS, a sink that is the only element using its call hangs up; when
 * a wzpsrc shares the call, the call lasts until both leave (or the far
 * end hangs up, which ends the wzpsrc's stream with EOS).
 *
 * ## Example
 * |[
 * gst-launch-1.0 audiotestsrc is-live=true ! opusenc ! \
 *     wzpsink relay=relay.example.org:4433 identity=alice.key peer=FINGERPRINT
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzpsink.h"
#include "gstwzpelement.h"
#include "gstwzpuri.h"

GST_DEBUG_CATEGORY_STATIC (gst_wzp_sink_debug);
#define GST_CAT_DEFAULT gst_wzp_sink_debug

#define DEFAULT_WAIT_FOR_CALL TRUE
#define DEFAULT_SYNC TRUE
#define DEFAULT_ASYNC FALSE
#define OPUS_RATE 48000
#define DEFAULT_FRAME_SAMPLES 960

enum
{
  PROP_WAIT_FOR_CALL = GST_WZP_PROP_LAST_COMMON,
};

struct _GstWzpSink
{
  GstBaseSink parent;

  /* object lock */
  GstWzpSettings settings;
  gboolean wait_for_call;

  /* protects the pointer for application threads; the streaming thread
   * uses it between start and stop without the lock */
  GMutex call_lock;
  GstWzpCallObject *call;

  /* leaf lock: the wait for an active call */
  GMutex lock;
  GCond cond;
  gboolean flushing;

  /* streaming thread */
  gboolean error_posted;
  gboolean need_marker;
  gboolean have_next_ts;
  guint32 next_ts;
  gint upstream_live;           /* -1 unknown */
  guint64 dropped_inactive;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-opus, rate = (int) 48000, "
        "channels = (int) [ 1, 2 ], channel-mapping-family = (int) 0"));

static void gst_wzp_sink_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

#define gst_wzp_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstWzpSink, gst_wzp_sink, GST_TYPE_BASE_SINK,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_wzp_sink_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (wzpsink, "wzpsink", GST_RANK_NONE,
    GST_TYPE_WZP_SINK, gst_wzp_element_init (plugin));

/* -------------------------------------------------------------------------
 * Call user functions (the call's thread, call object's lock held)
 */

static void
sink_wake (gpointer user_data)
{
  GstWzpSink *self = user_data;

  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static const GstWzpCallUserFuncs sink_funcs = {
  .wake = sink_wake,
};

/* -------------------------------------------------------------------------
 * GstBaseSink
 */

static gboolean
gst_wzp_sink_start (GstBaseSink * bsink)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);
  GstWzpSettings settings;
  GstWzpCallObject *call;
  GstWzpError *error = NULL;

  GST_OBJECT_LOCK (self);
  gst_wzp_settings_copy (&settings, &self->settings);
  GST_OBJECT_UNLOCK (self);

  self->error_posted = FALSE;
  self->need_marker = TRUE;
  self->have_next_ts = FALSE;
  self->upstream_live = -1;
  self->dropped_inactive = 0;

  call = gst_wzp_call_object_acquire (&settings, GST_ELEMENT (self),
      &sink_funcs, self, &error);
  if (!call) {
    gst_wzp_error_post (GST_ELEMENT (self), error);
    gst_wzp_error_free (error);
    gst_wzp_settings_clear (&settings);
    return FALSE;
  }
  gst_wzp_settings_clear (&settings);

  g_mutex_lock (&self->call_lock);
  self->call = call;
  g_mutex_unlock (&self->call_lock);
  return TRUE;
}

static gboolean
gst_wzp_sink_stop (GstBaseSink * bsink)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);
  GstWzpCallObject *call;

  g_mutex_lock (&self->call_lock);
  call = g_steal_pointer (&self->call);
  g_mutex_unlock (&self->call_lock);

  if (call)
    gst_wzp_call_object_release (call, GST_ELEMENT (self));
  if (self->dropped_inactive)
    GST_INFO_OBJECT (self, "dropped %" G_GUINT64_FORMAT " frames while the "
        "call was not active", self->dropped_inactive);
  return TRUE;
}

static gboolean
gst_wzp_sink_unlock (GstBaseSink * bsink)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_wzp_sink_unlock_stop (GstBaseSink * bsink)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
upstream_is_live (GstWzpSink * self)
{
  if (self->upstream_live < 0) {
    /* gst_base_sink_query_latency() only asks upstream once the latency
     * is configured, which is in PLAYING: ask directly. */
    GstQuery *query = gst_query_new_latency ();
    gboolean upstream_live = FALSE;

    if (gst_pad_peer_query (GST_BASE_SINK_PAD (self), query))
      gst_query_parse_latency (query, &upstream_live, NULL, NULL);
    gst_query_unref (query);
    self->upstream_live = upstream_live;
    GST_DEBUG_OBJECT (self, "upstream is %slive", upstream_live ? "" : "not ");
  }
  return self->upstream_live;
}


/* Returns GST_FLOW_OK when the call is active, GST_FLOW_CUSTOM_SUCCESS when
 * the frame should be dropped, or the flow return that ends streaming. */
static GstFlowReturn
gst_wzp_sink_check_call (GstWzpSink * self)
{
  gboolean wait;
  WzpCallState state;
  gint64 waited_from;

  GST_OBJECT_LOCK (self);
  wait = self->wait_for_call;
  GST_OBJECT_UNLOCK (self);
  wait = wait && !upstream_is_live (self);

  waited_from = g_get_monotonic_time ();
  g_mutex_lock (&self->lock);
  for (;;) {
    state = gst_wzp_call_object_get_state (self->call);
    if (state == WZP_CALL_STATE_ACTIVE || state == WZP_CALL_STATE_ENDED
        || state == WZP_CALL_STATE_FAILED || self->flushing || !wait)
      break;
    GST_DEBUG_OBJECT (self, "waiting for the call (%s)",
        wzp_call_state_to_string (state));
    g_cond_wait (&self->cond, &self->lock);
  }
  if (self->flushing && state != WZP_CALL_STATE_ACTIVE) {
    g_mutex_unlock (&self->lock);
    return GST_FLOW_FLUSHING;
  }
  g_mutex_unlock (&self->lock);

  if (wait && state == WZP_CALL_STATE_ACTIVE) {
    GstClockTimeDiff waited = (g_get_monotonic_time () - waited_from) *
        GST_USECOND;

    /* Paced playout (sync=TRUE) resumes from now, instead of sending
     * everything that came due during the wait in one burst. */
    if (waited > 10 * GST_MSECOND) {
      GstBaseSink *bsink = GST_BASE_SINK (self);

      GST_INFO_OBJECT (self, "the call is active after waiting %"
          GST_STIME_FORMAT, GST_STIME_ARGS (waited));
      gst_base_sink_set_ts_offset (bsink,
          gst_base_sink_get_ts_offset (bsink) + waited);
    }
  }

  switch (state) {
    case WZP_CALL_STATE_ACTIVE:
      return GST_FLOW_OK;
    case WZP_CALL_STATE_ENDED:
      GST_INFO_OBJECT (self, "the call has ended");
      return GST_FLOW_EOS;
    case WZP_CALL_STATE_FAILED:
      return gst_wzp_post_call_failure (GST_ELEMENT (self), self->call,
          &self->error_posted);
    default:
      return GST_FLOW_CUSTOM_SUCCESS;
  }
}

static guint32
buffer_timestamp (GstWzpSink * self, GstBuffer * buffer)
{
  GstSegment *segment = &GST_BASE_SINK (self)->segment;
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstClockTime running = GST_CLOCK_TIME_NONE;
  guint32 ts, samples = DEFAULT_FRAME_SAMPLES;

  if (GST_CLOCK_TIME_IS_VALID (pts) && segment->format == GST_FORMAT_TIME)
    running = gst_segment_to_running_time (segment, GST_FORMAT_TIME, pts);
  if (GST_CLOCK_TIME_IS_VALID (running))
    ts = (guint32) gst_util_uint64_scale_round (running, OPUS_RATE, GST_SECOND);
  else
    ts = self->have_next_ts ? self->next_ts : 0;
  if (GST_BUFFER_DURATION_IS_VALID (buffer))
    samples = (guint32) gst_util_uint64_scale_round (GST_BUFFER_DURATION
        (buffer), OPUS_RATE, GST_SECOND);
  self->next_ts = ts + samples;
  self->have_next_ts = TRUE;
  return ts;
}

static GstFlowReturn
gst_wzp_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);
  GstFlowReturn ret;
  GstMapInfo map;
  gboolean marker;
  guint32 ts;

  ts = buffer_timestamp (self, buffer);
  marker = self->need_marker
      || GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT)
      || GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_RESYNC);

  ret = gst_wzp_sink_check_call (self);
  if (ret == GST_FLOW_CUSTOM_SUCCESS) {
    self->dropped_inactive++;
    self->need_marker = TRUE;
    GST_LOG_OBJECT (self, "call not active: dropping frame ts %u", ts);
    return GST_FLOW_OK;
  }
  if (ret != GST_FLOW_OK)
    return ret;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL),
        ("Could not map the buffer"));
    return GST_FLOW_ERROR;
  }
  GST_LOG_OBJECT (self, "sending %" G_GSIZE_FORMAT " bytes ts %u%s",
      map.size, ts, marker ? " marker" : "");
  if (gst_wzp_call_object_send (self->call, ts, marker, map.data, map.size))
    self->need_marker = FALSE;
  gst_buffer_unmap (buffer, &map);
  return GST_FLOW_OK;
}

static gboolean
gst_wzp_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->call) {
    if (gst_wzp_call_object_is_sole_user (self->call, GST_ELEMENT (self))) {
      GST_INFO_OBJECT (self, "EOS: hanging up");
      gst_wzp_call_object_hangup (self->call);
    } else {
      GST_INFO_OBJECT (self, "EOS: the call is shared, not hanging up");
    }
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* -------------------------------------------------------------------------
 * GObject
 */

static void
gst_wzp_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstWzpSink *self = GST_WZP_SINK (object);
  gboolean handled;

  if (prop_id == GST_WZP_PROP_URI) {
    GError *error = NULL;

    /* set_property cannot fail: an invalid URI is remembered and
     * reported when the element starts (a settings error). */
    gboolean ok = gst_uri_handler_set_uri (GST_URI_HANDLER (self),
        g_value_get_string (value), &error);

    if (!ok)
      GST_WARNING_OBJECT (self, "invalid uri: %s", error->message);
    GST_OBJECT_LOCK (self);
    gst_wzp_settings_set_uri_error (&self->settings,
        g_value_get_string (value), error);
    GST_OBJECT_UNLOCK (self);
    g_clear_error (&error);
    return;
  }

  GST_OBJECT_LOCK (self);
  handled = gst_wzp_settings_set_property (&self->settings, prop_id, value);
  if (!handled && prop_id == PROP_WAIT_FOR_CALL) {
    self->wait_for_call = g_value_get_boolean (value);
    handled = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (!handled)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_wzp_sink_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstWzpSink *self = GST_WZP_SINK (object);
  GstWzpSettings settings;
  gboolean handled;

  if (prop_id == GST_WZP_PROP_URI) {
    g_value_take_string (value,
        gst_uri_handler_get_uri (GST_URI_HANDLER (self)));
    return;
  }

  GST_OBJECT_LOCK (self);
  handled = gst_wzp_settings_get_property (&self->settings, prop_id, value);
  if (!handled && prop_id == PROP_WAIT_FOR_CALL) {
    g_value_set_boolean (value, self->wait_for_call);
    handled = TRUE;
  }
  gst_wzp_settings_copy (&settings, &self->settings);
  GST_OBJECT_UNLOCK (self);

  if (!handled || prop_id == GST_WZP_PROP_PEER) {
    g_mutex_lock (&self->call_lock);
    handled = gst_wzp_element_get_call_property (self->call, &settings,
        prop_id, value);
    g_mutex_unlock (&self->call_lock);
  }
  gst_wzp_settings_clear (&settings);
  if (!handled)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_wzp_sink_finalize (GObject * object)
{
  GstWzpSink *self = GST_WZP_SINK (object);

  gst_wzp_settings_clear (&self->settings);
  g_mutex_clear (&self->call_lock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_wzp_sink_class_init (GstWzpSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *bsink_class = GST_BASE_SINK_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_wzp_sink_debug, "wzpsink", 0, "wzp call sink");

  gobject_class->set_property = gst_wzp_sink_set_property;
  gobject_class->get_property = gst_wzp_sink_get_property;
  gobject_class->finalize = gst_wzp_sink_finalize;

  gst_wzp_settings_install_properties (gobject_class);

  /**
   * GstWzpSink:wait-for-call:
   *
   * When upstream is not live (a file), wait until the call is active
   * instead of dropping frames, so nothing of the file is lost; paced
   * playout then resumes from that moment.  Live upstreams never wait: frames before the call
   * is active are dropped, as a phone does.
   */
  g_object_class_install_property (gobject_class, PROP_WAIT_FOR_CALL,
      g_param_spec_boolean ("wait-for-call", "Wait for call",
          "With a non-live upstream, wait until the call is active instead "
          "of dropping frames", DEFAULT_WAIT_FOR_CALL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstWzpSink::incoming-call:
   * @sink: the wzpsink
   * @caller: fingerprint of the caller
   * @call_id: the call's id, to give to #GstWzpSink::answer or
   *   #GstWzpSink::reject
   *
   * With #GstWzpSink:answer set to `ask`: a call rings.  A notification:
   * it is emitted on a thread of its own (not the call's, not the
   * streaming thread), and the call keeps running (and ringing) until the
   * application answers or rejects it, now or later, or the caller gives
   * up.  A wzpsrc that shares the call emits it too.  The same news
   * comes as a `wzp-incoming-call` element message, for applications
   * that ask their user from their main loop.
   */
  /**
   * GstWzpSink::answer:
   * @sink: the wzpsink
   * @call_id: the ringing call (from #GstWzpSink::incoming-call)
   *
   * Action signal: accept the ringing call.  Any thread, any time while
   * it rings.
   *
   * Returns: %TRUE if that call was ringing here
   */
  /**
   * GstWzpSink::reject:
   * @sink: the wzpsink
   * @call_id: the ringing call
   *
   * Action signal: reject the ringing call; the element goes on waiting
   * for the next one.
   *
   * Returns: %TRUE if that call was ringing here
   */
  gst_wzp_element_install_signals (G_TYPE_FROM_CLASS (klass));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "wzp call sink",
      "Sink/Network/Audio",
      "Sends Opus audio into an end-to-end encrypted wzp call",
      "wzp developers <wzp@example.invalid>");

  bsink_class->start = GST_DEBUG_FUNCPTR (gst_wzp_sink_start);
  bsink_class->stop = GST_DEBUG_FUNCPTR (gst_wzp_sink_stop);
  bsink_class->unlock = GST_DEBUG_FUNCPTR (gst_wzp_sink_unlock);
  bsink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_wzp_sink_unlock_stop);
  bsink_class->render = GST_DEBUG_FUNCPTR (gst_wzp_sink_render);
  bsink_class->event = GST_DEBUG_FUNCPTR (gst_wzp_sink_event);
}

static void
gst_wzp_sink_init (GstWzpSink * self)
{
  gst_wzp_settings_init (&self->settings);
  self->wait_for_call = DEFAULT_WAIT_FOR_CALL;
  g_mutex_init (&self->call_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  gst_base_sink_set_sync (GST_BASE_SINK (self), DEFAULT_SYNC);
  /* In a two-way call the sink after wzpsrc prerolls only once the far
   * end hears us: this sink must not hold the pipeline in preroll. */
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), DEFAULT_ASYNC);
}

static GstURIType
gst_wzp_sink_uri_get_type (GType type)
{
  return GST_URI_SINK;
}

static void
gst_wzp_sink_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  gst_wzp_element_uri_handler_init (iface);
  iface->get_type = gst_wzp_sink_uri_get_type;
}
