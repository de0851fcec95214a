/* gstwzpsrc.c — wzpsrc: Opus frames received in a wzp call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * SECTION:element-wzpsrc
 * @title: wzpsrc
 * @see_also: wzpsink, opusdec, oggmux
 *
 * wzpsrc places (with #GstWzpSrc:peer), answers (without it) or joins
 * (with #GstWzpSrc:room) an end-to-end encrypted wzp call through a relay
 * and outputs the far end's Opus frames.  A wzpsink of the same process
 * naming the same call shares it.
 *
 * wzpsrc is live.  Frames go through an adaptive jitter buffer
 * (#GstWzpSrc:latency .. #GstWzpSrc:max-latency); each buffer's PTS is the
 * running time at which the frame (ideally) arrived, on the pipeline
 * clock, and it is pushed #GstWzpSrc:latency later, which is the latency
 * it reports.  Frames that never came become GAP events (with DISCONT on
 * the next buffer), so `opusdec plc=true` conceals them; while nothing
 * arrives at all (an outage), GAP events go on in real time.  Output caps
 * carry OpusHead/OpusTags stream headers, so oggmux can record directly.
 *
 * When the call ends (either side hangs up, or the far end's connection
 * died) wzpsrc sends EOS, so a recording is finalized; a failed call is
 * an element error saying why.
 *
 * In a room, wzpsrc plays one member at a time: the one that spoke
 * last after the current one has been silent for a second.
 *
 * ## Example
 * |[
 * gst-launch-1.0 -e wzpsrc relay=relay.example.org:4433 identity=bob.key \
 *     answer=auto ! oggmux ! filesink location=call.ogg
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include "gstwzpsrc.h"
#include "gstwzpcaps.h"
#include "gstwzpelement.h"
#include "wzp-jitter.h"

GST_DEBUG_CATEGORY_STATIC (gst_wzp_src_debug);
#define GST_CAT_DEFAULT gst_wzp_src_debug

#define DEFAULT_LATENCY 60
#define DEFAULT_MAX_LATENCY 500
#define MAX_LATENCY_MS 10000
/* A room member silent this long gives the floor to another one. */
#define SPEAKER_SWITCH_NS (GST_SECOND)
/* Re-check the call state at least this often while nothing arrives. */
#define IDLE_WAIT_US (200 * G_TIME_SPAN_MILLISECOND)

enum
{
  PROP_LATENCY = GST_WZP_PROP_LAST_COMMON,
  PROP_MAX_LATENCY,
};

struct _GstWzpSrc
{
  GstPushSrc parent;

  /* object lock */
  GstWzpSettings settings;
  guint latency_ms;
  guint max_latency_ms;

  /* protects the pointer for application threads */
  GMutex call_lock;
  GstWzpCallObject *call;

  /* leaf lock: everything below */
  GMutex lock;
  GCond cond;
  gboolean flushing;
  WzpJitter *jitter;
  GstClock *clock;
  GstClockTime base_time;
  gchar *speaker;
  gint64 speaker_last_ns;
  gboolean discont;
  guint64 granule;
  guint64 concealed;
  guint64 not_playing;

  /* streaming thread */
  GstCaps *caps;
  gboolean error_posted;
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-opus, rate = (int) 48000, channels = (int) 1, "
        "channel-mapping-family = (int) 0"));

static void gst_wzp_src_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

#define gst_wzp_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstWzpSrc, gst_wzp_src, GST_TYPE_PUSH_SRC,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER, gst_wzp_src_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (wzpsrc, "wzpsrc", GST_RANK_NONE,
    GST_TYPE_WZP_SRC, gst_wzp_element_init (plugin));

/* Running time now on the pipeline clock; lock held.  -1 without clock. */
static gint64
running_time_now (GstWzpSrc * self)
{
  GstClockTime now;

  if (!self->clock)
    return -1;
  now = gst_clock_get_time (self->clock);
  if (now < self->base_time)
    return 0;
  return (gint64) (now - self->base_time);
}

/* -------------------------------------------------------------------------
 * Call user functions (the call's thread, call object's lock held)
 */

static void
src_frame (const WzpCallFrame * frame, gpointer user_data)
{
  GstWzpSrc *self = user_data;
  WzpJitterPushResult result;
  GBytes *payload;
  gint64 now;

  g_mutex_lock (&self->lock);
  now = running_time_now (self);
  if (now < 0) {
    /* Live source: what arrives before PLAYING is not played. */
    self->not_playing++;
    g_mutex_unlock (&self->lock);
    return;
  }

  if (frame->sender && g_strcmp0 (frame->sender, self->speaker)) {
    if (self->speaker && now - self->speaker_last_ns < SPEAKER_SWITCH_NS) {
      g_mutex_unlock (&self->lock);
      return;
    }
    GST_INFO_OBJECT (self, "playing %s", frame->sender);
    if (self->speaker)
      wzp_jitter_flush (self->jitter);
    g_free (self->speaker);
    self->speaker = g_strdup (frame->sender);
    self->discont = TRUE;
  }
  self->speaker_last_ns = now;

  payload = g_bytes_new (frame->data, frame->len);
  result = wzp_jitter_push (self->jitter, frame->seq, frame->timestamp,
      payload, now);
  g_bytes_unref (payload);
  GST_LOG_OBJECT (self, "frame seq %u ts %u len %" G_GSIZE_FORMAT " at %"
      GST_STIME_FORMAT ": %d", frame->seq, frame->timestamp, frame->len,
      GST_STIME_ARGS (now), result);
  if (result == WZP_JITTER_RESET)
    self->discont = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
src_wake (gpointer user_data)
{
  GstWzpSrc *self = user_data;

  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
src_add_stats (GstStructure * s, gpointer user_data)
{
  GstWzpSrc *self = user_data;
  WzpJitterStats js;
  guint64 duplicates = 0, concealed;

  g_mutex_lock (&self->lock);
  wzp_jitter_get_stats (self->jitter, &js);
  concealed = self->concealed;
  g_mutex_unlock (&self->lock);

  gst_structure_get_uint64 (s, "duplicates", &duplicates);
  gst_structure_set (s,
      "lost", G_TYPE_UINT64, js.lost,
      "late", G_TYPE_UINT64, js.late,
      "duplicates", G_TYPE_UINT64, duplicates + js.duplicates,
      "concealed", G_TYPE_UINT64, concealed,
      "jitter-ms", G_TYPE_DOUBLE, js.jitter_ns / 1e6,
      "latency-ms", G_TYPE_DOUBLE, js.latency_ns / 1e6, NULL);
}

static const GstWzpCallUserFuncs src_funcs = {
  .frame = src_frame,
  .wake = src_wake,
  .add_stats = src_add_stats,
};

/* -------------------------------------------------------------------------
 * GstBaseSrc
 */

static gboolean
gst_wzp_src_start (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);
  GstWzpSettings settings;
  GstWzpCallObject *call;
  GstWzpError *error = NULL;
  guint latency, max_latency;

  GST_OBJECT_LOCK (self);
  gst_wzp_settings_copy (&settings, &self->settings);
  latency = self->latency_ms;
  max_latency = self->max_latency_ms;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  self->jitter = wzp_jitter_new (latency, max_latency);
  /* While nothing arrives (the relay restarts, the far end went quiet)
   * GAP events go on in real time, so downstream and recordings keep in
   * step with the call. */
  wzp_jitter_set_conceal_silence (self->jitter, TRUE);
  self->discont = TRUE;
  self->granule = 0;
  self->concealed = 0;
  self->not_playing = 0;
  g_clear_pointer (&self->speaker, g_free);
  g_mutex_unlock (&self->lock);
  self->error_posted = FALSE;
  if (!self->caps)
    self->caps = gst_wzp_opus_caps_new ();

  call = gst_wzp_call_object_acquire (&settings, GST_ELEMENT (self),
      &src_funcs, self, &error);
  if (!call) {
    gst_wzp_error_post (GST_ELEMENT (self), error);
    gst_wzp_error_free (error);
    gst_wzp_settings_clear (&settings);
    g_mutex_lock (&self->lock);
    g_clear_pointer (&self->jitter, wzp_jitter_free);
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  gst_wzp_settings_clear (&settings);

  g_mutex_lock (&self->call_lock);
  self->call = call;
  g_mutex_unlock (&self->call_lock);
  return TRUE;
}

static gboolean
gst_wzp_src_stop (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);
  GstWzpCallObject *call;

  g_mutex_lock (&self->call_lock);
  call = g_steal_pointer (&self->call);
  g_mutex_unlock (&self->call_lock);

  /* After release no frame callback runs any more. */
  if (call)
    gst_wzp_call_object_release (call, GST_ELEMENT (self));

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->jitter, wzp_jitter_free);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->speaker, g_free);
  if (self->not_playing)
    GST_DEBUG_OBJECT (self, "%" G_GUINT64_FORMAT " frames arrived before "
        "PLAYING", self->not_playing);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_wzp_src_unlock (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_wzp_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_wzp_src_negotiate (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);

  return gst_base_src_set_caps (bsrc, self->caps);
}

static gboolean
gst_wzp_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime min, max;

    GST_OBJECT_LOCK (self);
    min = self->latency_ms * GST_MSECOND;
    max = MAX (self->latency_ms, self->max_latency_ms) * GST_MSECOND;
    GST_OBJECT_UNLOCK (self);
    GST_DEBUG_OBJECT (self, "latency min %" GST_TIME_FORMAT " max %"
        GST_TIME_FORMAT, GST_TIME_ARGS (min), GST_TIME_ARGS (max));
    gst_query_set_latency (query, TRUE, min, max);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}


static void
refresh_clock (GstWzpSrc * self)
{
  GstClock *clock;
  GstClockTime base_time;

  GST_OBJECT_LOCK (self);
  clock = GST_ELEMENT_CLOCK (self) ? gst_object_ref (GST_ELEMENT_CLOCK (self))
      : NULL;
  base_time = GST_ELEMENT_CAST (self)->base_time;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  gst_object_replace ((GstObject **) & self->clock, (GstObject *) clock);
  self->base_time = base_time;
  g_mutex_unlock (&self->lock);
  if (clock)
    gst_object_unref (clock);
}

/* Turns a jitter item into a buffer or a GAP event; lock held. */
static GstBuffer *
item_to_output (GstWzpSrc * self, WzpJitterItem * item, GstEvent ** gap)
{
  gint64 latency_ns = (gint64) self->latency_ms * GST_MSECOND;
  GstClockTime pts = item->deadline_ns > latency_ns
      ? (GstClockTime) (item->deadline_ns - latency_ns) : 0;
  GstBuffer *buf;

  if (item->kind == WZP_JITTER_ITEM_LOST) {
    GST_DEBUG_OBJECT (self, "lost %u frames from seq %u at %" GST_TIME_FORMAT,
        item->n_packets, item->seq, GST_TIME_ARGS (pts));
    self->concealed += item->n_packets;
    self->granule += item->duration_samples;
    self->discont = TRUE;
    *gap = gst_event_new_gap (pts, item->duration_ns);
    return NULL;
  }

  buf = gst_buffer_new_wrapped_bytes (item->payload);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = item->duration_ns;
  GST_BUFFER_OFFSET (buf) = self->granule;
  self->granule += item->duration_samples;
  GST_BUFFER_OFFSET_END (buf) = self->granule;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  return buf;
}

static GstFlowReturn
gst_wzp_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstWzpSrc *self = GST_WZP_SRC (psrc);
  GstFlowReturn ret = GST_FLOW_OK;
  WzpCallState state;

  refresh_clock (self);

  g_mutex_lock (&self->lock);
  for (;;) {
    WzpJitterItem item;
    gint64 now, deadline;
    GstEvent *gap = NULL;

    if (self->flushing) {
      ret = GST_FLOW_FLUSHING;
      break;
    }
    state = gst_wzp_call_object_get_state (self->call);
    if (state == WZP_CALL_STATE_FAILED) {
      ret = GST_FLOW_ERROR;
      break;
    }

    now = running_time_now (self);
    if (now >= 0 && wzp_jitter_pop (self->jitter, now, &item)) {
      *outbuf = item_to_output (self, &item, &gap);
      wzp_jitter_item_clear (&item);
      if (*outbuf) {
        GST_LOG_OBJECT (self, "output %" GST_PTR_FORMAT, *outbuf);
        break;
      }
      /* Never push downstream with our lock held. */
      g_mutex_unlock (&self->lock);
      gst_pad_push_event (GST_BASE_SRC_PAD (self), gap);
      g_mutex_lock (&self->lock);
      continue;
    }

    if (state == WZP_CALL_STATE_ENDED) {
      GST_INFO_OBJECT (self, "the call has ended: EOS");
      ret = GST_FLOW_EOS;
      break;
    }

    deadline = wzp_jitter_next_deadline (self->jitter);
    if (deadline < 0 || now < 0) {
      g_cond_wait_until (&self->cond, &self->lock,
          g_get_monotonic_time () + IDLE_WAIT_US);
    } else if (deadline > now) {
      g_cond_wait_until (&self->cond, &self->lock,
          g_get_monotonic_time () + (deadline - now) / 1000 + 1);
    }
  }
  g_mutex_unlock (&self->lock);

  if (ret == GST_FLOW_ERROR)
    return gst_wzp_post_call_failure (GST_ELEMENT (self), self->call,
        &self->error_posted);
  return ret;
}

/* -------------------------------------------------------------------------
 * GObject
 */

static void
gst_wzp_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstWzpSrc *self = GST_WZP_SRC (object);
  gboolean handled, latency_changed = FALSE;
  guint latency = 0, max_latency = 0;

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
  if (!handled && (prop_id == PROP_LATENCY || prop_id == PROP_MAX_LATENCY)) {
    if (prop_id == PROP_LATENCY)
      self->latency_ms = g_value_get_uint (value);
    else
      self->max_latency_ms = g_value_get_uint (value);
    latency = self->latency_ms;
    max_latency = self->max_latency_ms;
    latency_changed = handled = TRUE;
  }
  GST_OBJECT_UNLOCK (self);

  if (latency_changed) {
    gboolean running;

    g_mutex_lock (&self->lock);
    running = self->jitter != NULL;
    if (running)
      wzp_jitter_set_latency (self->jitter, latency, max_latency);
    g_mutex_unlock (&self->lock);
    if (running)
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_latency (GST_OBJECT (self)));
  }
  if (!handled)
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gst_wzp_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstWzpSrc *self = GST_WZP_SRC (object);
  GstWzpSettings settings;
  gboolean handled;

  if (prop_id == GST_WZP_PROP_URI) {
    g_value_take_string (value,
        gst_uri_handler_get_uri (GST_URI_HANDLER (self)));
    return;
  }

  GST_OBJECT_LOCK (self);
  handled = gst_wzp_settings_get_property (&self->settings, prop_id, value);
  if (!handled && prop_id == PROP_LATENCY) {
    g_value_set_uint (value, self->latency_ms);
    handled = TRUE;
  } else if (!handled && prop_id == PROP_MAX_LATENCY) {
    g_value_set_uint (value, self->max_latency_ms);
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
gst_wzp_src_finalize (GObject * object)
{
  GstWzpSrc *self = GST_WZP_SRC (object);

  gst_wzp_settings_clear (&self->settings);
  g_clear_pointer (&self->caps, gst_caps_unref);
  g_mutex_clear (&self->call_lock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_wzp_src_class_init (GstWzpSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *bsrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *psrc_class = GST_PUSH_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_wzp_src_debug, "wzpsrc", 0, "wzp call source");

  gobject_class->set_property = gst_wzp_src_set_property;
  gobject_class->get_property = gst_wzp_src_get_property;
  gobject_class->finalize = gst_wzp_src_finalize;

  gst_wzp_settings_install_properties (gobject_class);

  /**
   * GstWzpSrc:latency:
   *
   * The jitter buffer's minimum (and starting) latency in milliseconds,
   * and the latency wzpsrc reports.  The buffer adapts upwards to
   * #GstWzpSrc:max-latency when the network jitters; the extra delay then
   * shows as a later PTS.  May be changed while playing.
   */
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "Jitter buffer minimum latency in ms (the latency reported)", 0,
          MAX_LATENCY_MS, DEFAULT_LATENCY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstWzpSrc:max-latency:
   *
   * The most the adaptive jitter buffer may delay playout, in ms.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_LATENCY,
      g_param_spec_uint ("max-latency", "Maximum latency",
          "Jitter buffer maximum latency in ms", 0, MAX_LATENCY_MS,
          DEFAULT_MAX_LATENCY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

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
   * up.  A wzpsink that shares the call emits it too.  The same news
   * comes as a `wzp-incoming-call` element message, for applications
   * that ask their user from their main loop.
   */
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
  gst_wzp_element_install_signals (G_TYPE_FROM_CLASS (klass));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "wzp call source",
      "Source/Network/Audio",
      "Receives Opus audio from an end-to-end encrypted wzp call",
      "wzp developers <wzp@example.invalid>");

  bsrc_class->start = GST_DEBUG_FUNCPTR (gst_wzp_src_start);
  bsrc_class->stop = GST_DEBUG_FUNCPTR (gst_wzp_src_stop);
  bsrc_class->unlock = GST_DEBUG_FUNCPTR (gst_wzp_src_unlock);
  bsrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_wzp_src_unlock_stop);
  bsrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_wzp_src_negotiate);
  bsrc_class->query = GST_DEBUG_FUNCPTR (gst_wzp_src_query);
  psrc_class->create = GST_DEBUG_FUNCPTR (gst_wzp_src_create);
}

static void
gst_wzp_src_init (GstWzpSrc * self)
{
  gst_wzp_settings_init (&self->settings);
  self->latency_ms = DEFAULT_LATENCY;
  self->max_latency_ms = DEFAULT_MAX_LATENCY;
  g_mutex_init (&self->call_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_do_timestamp (GST_BASE_SRC (self), FALSE);
}

static GstURIType
gst_wzp_src_uri_get_type (GType type)
{
  return GST_URI_SRC;
}

static void
gst_wzp_src_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  gst_wzp_element_uri_handler_init (iface);
  iface->get_type = gst_wzp_src_uri_get_type;
}
