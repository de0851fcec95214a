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
 * It takes what opusenc produces from any rate it encodes (8, 12, 16, 24
 * or 48 kHz), mono or stereo.  Each buffer's running time becomes the
 * frame's 48 kHz media timestamp;
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
#include "gstwzpcaps.h"
#include "gstwzplog.h"
#include "gstwzpobject.h"

GST_DEBUG_CATEGORY_STATIC (gst_wzp_sink_debug);
#define GST_CAT_DEFAULT gst_wzp_sink_debug

#define DEFAULT_SYNC TRUE
#define DEFAULT_ASYNC FALSE
/* The media clock of the frames' timestamps, whatever rate the encoder
 * was fed (Opus timestamps are 48 kHz, RFC 7587). */
#define MEDIA_CLOCK_RATE 48000
#define DEFAULT_FRAME_SAMPLES 960

struct _GstWzpSink
{
  GstBaseSink parent;

  GstWzpObject *wzp;

  /* streaming thread */
  gboolean need_marker;
  gboolean have_next_ts;
  guint32 next_ts;
  gint upstream_live;           /* -1 unknown */
  guint64 dropped_inactive;
};

/* Nothing comes from the call to a sink but wake-ups, which the object
 * turns into a broadcast of the streaming condition. */
static const GstWzpObjectFuncs sink_funcs = { {NULL} };

GST_WZP_DEFINE_URI_ELEMENT (GstWzpSink, gst_wzp_sink, GST_TYPE_BASE_SINK,
    wzpsink, GST_TYPE_WZP_SINK);

/* -------------------------------------------------------------------------
 * GstBaseSink
 */

static gboolean
gst_wzp_sink_start (GstBaseSink * bsink)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);

  self->need_marker = TRUE;
  self->have_next_ts = FALSE;
  self->upstream_live = -1;
  self->dropped_inactive = 0;
  return gst_wzp_object_start (self->wzp, GST_ELEMENT (self), &sink_funcs,
      self);
}

static gboolean
gst_wzp_sink_stop (GstBaseSink * bsink)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);

  gst_wzp_object_stop (self->wzp);
  if (self->dropped_inactive)
    GST_INFO_OBJECT (self, "dropped %" G_GUINT64_FORMAT " frames while the "
        "call was not active", self->dropped_inactive);
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

/* Paced playout (sync=TRUE) resumes from now, instead of sending
 * everything that came due during a wait for the call in one burst. */
static void
resume_playout_after (GstWzpSink * self, gint64 waited_from)
{
  GstClockTimeDiff waited = (g_get_monotonic_time () - waited_from) *
      GST_USECOND;
  GstBaseSink *bsink = GST_BASE_SINK (self);

  if (waited <= 10 * GST_MSECOND)
    return;
  GST_INFO_OBJECT (self, "the call is active after waiting %"
      GST_STIME_FORMAT, GST_STIME_ARGS (waited));
  gst_base_sink_set_ts_offset (bsink, gst_base_sink_get_ts_offset (bsink) +
      waited);
}

/* Returns GST_FLOW_OK when the call is active, GST_FLOW_CUSTOM_SUCCESS when
 * the frame should be dropped, or the flow return that ends streaming. */
static GstFlowReturn
gst_wzp_sink_check_call (GstWzpSink * self)
{
  gboolean wait = gst_wzp_object_get_wait_for_call (self->wzp)
      && !upstream_is_live (self);
  GstWzpCallObject *call = gst_wzp_object_get_call (self->wzp);
  gint64 waited_from = g_get_monotonic_time ();
  gboolean flushing = FALSE;
  WzpCallState state;

  gst_wzp_object_lock (self->wzp);
  for (;;) {
    state = gst_wzp_call_object_get_state (call);
    if (state == WZP_CALL_STATE_ACTIVE || state == WZP_CALL_STATE_ENDED
        || state == WZP_CALL_STATE_FAILED || !wait)
      break;
    GST_DEBUG_OBJECT (self, "waiting for the call (%s)",
        wzp_call_state_to_string (state));
    if (!gst_wzp_object_wait (self->wzp, G_MAXINT64)) {
      flushing = TRUE;
      break;
    }
  }
  gst_wzp_object_unlock (self->wzp);
  if (flushing)
    return GST_FLOW_FLUSHING;

  switch (state) {
    case WZP_CALL_STATE_ACTIVE:
      if (wait)
        resume_playout_after (self, waited_from);
      return GST_FLOW_OK;
    case WZP_CALL_STATE_ENDED:
      GST_INFO_OBJECT (self, "the call has ended");
      return GST_FLOW_EOS;
    case WZP_CALL_STATE_FAILED:
      return gst_wzp_object_post_failure (self->wzp);
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
    ts = (guint32) gst_util_uint64_scale_round (running, MEDIA_CLOCK_RATE,
        GST_SECOND);
  else
    ts = self->have_next_ts ? self->next_ts : 0;
  if (GST_BUFFER_DURATION_IS_VALID (buffer))
    samples = (guint32) gst_util_uint64_scale_round (GST_BUFFER_DURATION
        (buffer), MEDIA_CLOCK_RATE, GST_SECOND);
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
  if (gst_wzp_call_object_send (gst_wzp_object_get_call (self->wzp), ts,
          marker, map.data, map.size))
    self->need_marker = FALSE;
  gst_buffer_unmap (buffer, &map);
  return GST_FLOW_OK;
}

static gboolean
gst_wzp_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstWzpSink *self = GST_WZP_SINK (bsink);
  GstWzpCallObject *call = gst_wzp_object_get_call (self->wzp);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && call) {
    if (gst_wzp_call_object_is_sole_user (call, GST_ELEMENT (self))) {
      GST_INFO_OBJECT (self, "EOS: hanging up");
      gst_wzp_call_object_hangup (call);
    } else {
      GST_INFO_OBJECT (self, "EOS: the call is shared, not hanging up");
    }
  }
  return GST_BASE_SINK_CLASS (gst_wzp_sink_parent_class)->event (bsink, event);
}

/* -------------------------------------------------------------------------
 * GObject
 */

static void
gst_wzp_sink_class_init (GstWzpSinkClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *bsink_class = GST_BASE_SINK_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_wzp_sink_debug, "wzpsink", 0, "wzp call sink");

  gst_element_class_add_pad_template (element_class,
      gst_wzp_opus_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS));
  gst_element_class_set_static_metadata (element_class, "wzp call sink",
      "Sink/Network/Audio",
      "Sends Opus audio into an end-to-end encrypted wzp call",
      "wzp developers <wzp@example.invalid>");

  /* The connection settings, the call's properties, wait-for-call, the
   * incoming-call / answer / reject signals (documented in
   * gstwzpobject.c), unlock and unlock_stop. */
  gst_wzp_object_class_init (klass, GST_WZP_OBJECT_ANSWERS |
      GST_WZP_OBJECT_SENDS);

  bsink_class->start = GST_DEBUG_FUNCPTR (gst_wzp_sink_start);
  bsink_class->stop = GST_DEBUG_FUNCPTR (gst_wzp_sink_stop);
  bsink_class->render = GST_DEBUG_FUNCPTR (gst_wzp_sink_render);
  bsink_class->event = GST_DEBUG_FUNCPTR (gst_wzp_sink_event);
}

static void
gst_wzp_sink_init (GstWzpSink * self)
{
  self->wzp = gst_wzp_object_new (GST_ELEMENT (self));
  gst_base_sink_set_sync (GST_BASE_SINK (self), DEFAULT_SYNC);
  /* In a two-way call the sink after wzpsrc prerolls only once the far
   * end hears us: this sink must not hold the pipeline in preroll. */
  gst_base_sink_set_async_enabled (GST_BASE_SINK (self), DEFAULT_ASYNC);
}
