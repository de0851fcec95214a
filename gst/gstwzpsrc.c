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
 * carry OpusHead/OpusTags stream headers, so oggmux can record directly;
 * their rate (8 to 48 kHz: what opusdec decodes to) and channel count are
 * what downstream asks for, else 48 kHz and the sender's channel count
 * (negotiated before the first frame goes out).
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

#include "gstwzpsrc.h"
#include "gstwzpcaps.h"
#include "gstwzplog.h"
#include "gstwzpobject.h"
#include "gstwzpplayout.h"

GST_DEBUG_CATEGORY_STATIC (gst_wzp_src_debug);
#define GST_CAT_DEFAULT gst_wzp_src_debug

/* A room member silent this long gives the floor to another one. */
#define SPEAKER_SWITCH_NS (GST_SECOND)
/* Re-check the call state at least this often while nothing arrives. */
#define IDLE_WAIT_US (200 * G_TIME_SPAN_MILLISECOND)

struct _GstWzpSrc
{
  GstPushSrc parent;

  GstWzpObject *wzp;

  /* the streaming lock (gst_wzp_object_lock): everything below */
  WzpJitter *jitter;
  gint64 latency_ns;
  GstClock *clock;
  GstClockTime base_time;
  gchar *speaker;
  gint64 speaker_last_ns;
  GstWzpPlayout playout;
  gint channels;                /* of the first frame played; 0 before */
  guint64 not_playing;
};

GST_WZP_DEFINE_URI_ELEMENT (GstWzpSrc, gst_wzp_src, GST_TYPE_PUSH_SRC,
    wzpsrc, GST_TYPE_WZP_SRC);

/* -------------------------------------------------------------------------
 * From the call (its thread, the call object's lock held)
 */

static void
src_frame (const WzpCallFrame * frame, gpointer user_data)
{
  GstWzpSrc *self = user_data;
  WzpJitterPushResult result;
  GBytes *payload;
  gint64 now;

  gst_wzp_object_lock (self->wzp);
  now = gst_wzp_running_time_now (self->clock, self->base_time);
  if (now < 0) {
    /* Live source: what arrives before PLAYING is not played. */
    self->not_playing++;
    gst_wzp_object_unlock (self->wzp);
    return;
  }

  if (frame->sender && g_strcmp0 (frame->sender, self->speaker)) {
    if (self->speaker && now - self->speaker_last_ns < SPEAKER_SWITCH_NS) {
      gst_wzp_object_unlock (self->wzp);
      return;
    }
    GST_INFO_OBJECT (self, "playing %s", frame->sender);
    if (self->speaker)
      wzp_jitter_flush (self->jitter);
    g_free (self->speaker);
    self->speaker = g_strdup (frame->sender);
    self->playout.discont = TRUE;
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
    self->playout.discont = TRUE;
  gst_wzp_object_broadcast (self->wzp);
  gst_wzp_object_unlock (self->wzp);
}

static void
src_add_stats (GstStructure * s, gpointer user_data)
{
  GstWzpSrc *self = user_data;
  WzpJitterStats js;
  guint64 duplicates = 0, concealed;

  gst_wzp_object_lock (self->wzp);
  wzp_jitter_get_stats (self->jitter, &js);
  concealed = self->playout.concealed;
  gst_wzp_object_unlock (self->wzp);

  gst_structure_get_uint64 (s, "duplicates", &duplicates);
  gst_structure_set (s,
      "lost", G_TYPE_UINT64, js.lost,
      "late", G_TYPE_UINT64, js.late,
      "duplicates", G_TYPE_UINT64, duplicates + js.duplicates,
      "concealed", G_TYPE_UINT64, concealed,
      "jitter-ms", G_TYPE_DOUBLE, js.jitter_ns / 1e6,
      "latency-ms", G_TYPE_DOUBLE, js.latency_ns / 1e6, NULL);
}

/* "latency" or "max-latency" changed while started (any thread). */
static void
src_latency_changed (guint latency_ms, guint max_latency_ms, gpointer user_data)
{
  GstWzpSrc *self = user_data;

  gst_wzp_object_lock (self->wzp);
  wzp_jitter_set_latency (self->jitter, latency_ms, max_latency_ms);
  self->latency_ns = (gint64) latency_ms *GST_MSECOND;
  gst_wzp_object_unlock (self->wzp);
}

static const GstWzpObjectFuncs src_funcs = {
  .call.frame = src_frame,
  .call.add_stats = src_add_stats,
  .latency_changed = src_latency_changed,
};

/* -------------------------------------------------------------------------
 * GstBaseSrc
 */

static gboolean
gst_wzp_src_start (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);
  guint latency, max_latency;

  gst_wzp_object_get_latency (self->wzp, &latency, &max_latency);
  gst_wzp_object_lock (self->wzp);
  self->jitter = wzp_jitter_new (latency, max_latency);
  self->latency_ns = (gint64) latency *GST_MSECOND;
  /* While nothing arrives (the relay restarts, the far end went quiet)
   * GAP events go on in real time, so downstream and recordings keep in
   * step with the call. */
  wzp_jitter_set_conceal_silence (self->jitter, TRUE);
  gst_wzp_playout_init (&self->playout, 0);
  self->channels = 0;
  self->not_playing = 0;
  g_clear_pointer (&self->speaker, g_free);
  gst_wzp_object_unlock (self->wzp);

  if (gst_wzp_object_start (self->wzp, GST_ELEMENT (self), &src_funcs, self))
    return TRUE;
  gst_wzp_object_lock (self->wzp);
  g_clear_pointer (&self->jitter, wzp_jitter_unref);
  gst_wzp_object_unlock (self->wzp);
  return FALSE;
}

static gboolean
gst_wzp_src_stop (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);

  /* After this no frame arrives any more. */
  gst_wzp_object_stop (self->wzp);

  gst_wzp_object_lock (self->wzp);
  g_clear_pointer (&self->jitter, wzp_jitter_unref);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->speaker, g_free);
  if (self->not_playing)
    GST_DEBUG_OBJECT (self, "%" G_GUINT64_FORMAT " frames arrived before "
        "PLAYING", self->not_playing);
  gst_wzp_object_unlock (self->wzp);
  return TRUE;
}

/* Output caps: what downstream takes, at 48 kHz unless it asks for
 * another rate, with the sender's channel count unless it asks for
 * another one (libopus decodes either into either). */
static gboolean
negotiate_channels (GstWzpSrc * self, gint channels)
{
  GstCaps *caps;
  gboolean ok;

  caps = gst_wzp_opus_caps_negotiate (GST_BASE_SRC_PAD (self), channels);
  if (caps == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("downstream accepts none of %s", GST_WZP_OPUS_CAPS));
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, caps);
  ok = gst_base_src_set_caps (GST_BASE_SRC (self), caps);
  gst_caps_unref (caps);
  return ok;
}

static gboolean
gst_wzp_src_negotiate (GstBaseSrc * bsrc)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);
  gint channels;

  gst_wzp_object_lock (self->wzp);
  channels = self->channels;
  gst_wzp_object_unlock (self->wzp);
  /* Until the first frame, the sender's channel count is unknown:
   * create() negotiates before it outputs that frame (no GAP comes
   * before the first frame). */
  if (channels == 0)
    return TRUE;
  return negotiate_channels (self, channels);
}

static gboolean
gst_wzp_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstWzpSrc *self = GST_WZP_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gst_wzp_object_answer_latency_query (self->wzp, query);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (gst_wzp_src_parent_class)->query (bsrc, query);
}

static void
refresh_clock (GstWzpSrc * self)
{
  GstClockTime base_time;
  GstClock *clock = gst_wzp_element_get_clock (GST_ELEMENT (self),
      &base_time);

  gst_wzp_object_lock (self->wzp);
  gst_object_replace ((GstObject **) & self->clock, (GstObject *) clock);
  self->base_time = base_time;
  gst_wzp_object_unlock (self->wzp);
  if (clock)
    gst_object_unref (clock);
}

/* The first frame says how many channels the sender encodes. */
static gint
first_frame_channels (GstWzpSrc * self, GstBuffer * buf)
{
  guint8 toc = 0;

  if (self->channels == 0 && gst_buffer_extract (buf, 0, &toc, 1) == 1)
    self->channels = gst_wzp_opus_packet_channels (&toc, 1);
  return self->channels;
}

/* Waits for the next thing to output; the streaming lock is held.  FALSE
 * when flushing. */
static gboolean
wait_for_output (GstWzpSrc * self, gint64 now)
{
  gint64 deadline = wzp_jitter_next_deadline (self->jitter);

  if (deadline < 0 || now < 0)
    return gst_wzp_object_wait (self->wzp,
        g_get_monotonic_time () + IDLE_WAIT_US);
  if (deadline > now)
    return gst_wzp_object_wait (self->wzp,
        g_get_monotonic_time () + (deadline - now) / 1000 + 1);
  return !gst_wzp_object_is_flushing (self->wzp);
}

static GstFlowReturn
gst_wzp_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstWzpSrc *self = GST_WZP_SRC (psrc);
  GstFlowReturn ret = GST_FLOW_OK;
  GstMiniObject *out = NULL;
  WzpCallState state;

  refresh_clock (self);

  gst_wzp_object_lock (self->wzp);
  for (;;) {
    WzpJitterItem item;
    gint64 now = gst_wzp_running_time_now (self->clock, self->base_time);

    state = gst_wzp_call_object_get_state (gst_wzp_object_get_call (self->wzp));
    if (gst_wzp_object_is_flushing (self->wzp)) {
      ret = GST_FLOW_FLUSHING;
      break;
    }
    if (state == WZP_CALL_STATE_FAILED) {
      ret = GST_FLOW_ERROR;
      break;
    }
    if (now >= 0 && wzp_jitter_pop (self->jitter, now, &item)) {
      out = gst_wzp_playout_output (&self->playout, &item, self->latency_ns);
      wzp_jitter_item_clear (&item);
      if (GST_IS_BUFFER (out))
        break;
      /* A GAP: never push downstream with our lock held. */
      gst_wzp_object_unlock (self->wzp);
      gst_pad_push_event (GST_BASE_SRC_PAD (self), GST_EVENT_CAST (out));
      gst_wzp_object_lock (self->wzp);
      continue;
    }
    if (state == WZP_CALL_STATE_ENDED) {
      GST_INFO_OBJECT (self, "the call has ended: EOS");
      ret = GST_FLOW_EOS;
      break;
    }
    if (!wait_for_output (self, now)) {
      ret = GST_FLOW_FLUSHING;
      break;
    }
  }
  if (ret == GST_FLOW_OK && !gst_pad_has_current_caps (GST_BASE_SRC_PAD (self))) {
    gint channels = first_frame_channels (self, GST_BUFFER_CAST (out));

    gst_wzp_object_unlock (self->wzp);
    if (!negotiate_channels (self, channels)) {
      gst_buffer_unref (GST_BUFFER_CAST (out));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    gst_wzp_object_lock (self->wzp);
  }
  gst_wzp_object_unlock (self->wzp);

  if (ret == GST_FLOW_ERROR)
    return gst_wzp_object_post_failure (self->wzp);
  if (ret == GST_FLOW_OK) {
    *outbuf = GST_BUFFER_CAST (out);
    GST_LOG_OBJECT (self, "output %" GST_PTR_FORMAT, *outbuf);
  }
  return ret;
}

/* -------------------------------------------------------------------------
 * GObject
 */

static void
gst_wzp_src_class_init (GstWzpSrcClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *bsrc_class = GST_BASE_SRC_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_wzp_src_debug, "wzpsrc", 0, "wzp call source");

  bsrc_class->start = GST_DEBUG_FUNCPTR (gst_wzp_src_start);
  bsrc_class->stop = GST_DEBUG_FUNCPTR (gst_wzp_src_stop);
  bsrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_wzp_src_negotiate);
  bsrc_class->query = GST_DEBUG_FUNCPTR (gst_wzp_src_query);
  GST_PUSH_SRC_CLASS (klass)->create = GST_DEBUG_FUNCPTR (gst_wzp_src_create);

  /* The connection settings, the call's properties, latency and
   * max-latency, the incoming-call / answer / reject signals
   * (gstwzpobject.c has their documentation), unlock and unlock_stop. */
  gst_wzp_object_class_init (klass, GST_WZP_OBJECT_ANSWERS |
      GST_WZP_OBJECT_RECEIVES);

  gst_element_class_add_pad_template (element_class,
      gst_wzp_opus_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS));
  gst_element_class_set_static_metadata (element_class, "wzp call source",
      "Source/Network/Audio",
      "Receives Opus audio from an end-to-end encrypted wzp call",
      "wzp developers <wzp@example.invalid>");
}

static void
gst_wzp_src_init (GstWzpSrc * self)
{
  self->wzp = gst_wzp_object_new (GST_ELEMENT (self));
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_do_timestamp (GST_BASE_SRC (self), FALSE);
}
