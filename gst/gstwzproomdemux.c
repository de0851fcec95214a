/* gstwzproomdemux.c — the member streams of a wzp room, one pad each
 *
 * Threads:
 *  - the call's thread delivers frames and membership changes (with the
 *    call object's lock held): they only touch our leaf lock, feed the
 *    member's jitter buffer and ask for pads to be added or removed;
 *  - a thread of GStreamer's pool (gst_element_call_async) adds and
 *    removes pads (reconcile), never the call's thread: pad-added
 *    handlers may do anything;
 *  - one streaming thread (pad task) per member pad, and one for the
 *    anchor, waits for playout deadlines and pushes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/audio/audio.h>

#include "gstwzproomdemux.h"
#include "gstwzpcaps.h"
#include "gstwzpplayout.h"

GST_DEBUG_CATEGORY_STATIC (gst_wzp_room_demux_debug);
#define GST_CAT_DEFAULT gst_wzp_room_demux_debug

/* While a member is silent its pad says so with a GAP event at least this
 * often, so a mixer downstream never waits for it. */
#define SILENCE_GAP_NS (20 * GST_MSECOND)
/* Re-check the call state at least this often before PLAYING. */
#define IDLE_WAIT_US (200 * G_TIME_SPAN_MILLISECOND)

#define ANCHOR_CAPS "audio/x-raw, format = (string) " GST_AUDIO_NE (S16) \
    ", layout = (string) interleaved, rate = (int) 48000, channels = (int) 1"

typedef struct
{
  GstWzpRoomDemux *demux;
  gchar *fp;                    /* NULL for the anchor */
  GstPad *pad;                  /* NULL until reconcile adds it */
  WzpJitter *jitter;            /* NULL for the anchor */
  gboolean gone;                /* left the room: drain, EOS, remove */
  gboolean rejoined;            /* came back after its pad ended */
  gboolean stop;                /* the task must return */
  gboolean started;             /* sticky events pushed */
  gboolean eos_pushed;
  GstWzpPlayout playout;
  guint64 silence_gaps;
} Member;

struct _GstWzpRoomDemux
{
  GstElement parent;

  /* wzproomsrc's: its settings, and the call we acquire through it */
  GstWzpObject *wzp;

  /* object lock */
  gboolean anchor_wanted;

  /* pads are added and removed under this */
  GMutex reconcile_lock;
  gboolean running;             /* between READY->PAUSED and back */

  /* leaf lock: everything below */
  GMutex lock;
  GCond cond;
  GHashTable *members;          /* fingerprint -> Member */
  Member *anchor;
  GstClock *clock;
  GstClockTime base_time;
  gboolean playing;
  gboolean eos;                 /* EOS sent to us (gst-launch -e) */
  gboolean ended;               /* the call ended or failed */
  gboolean reconcile_pending;
  guint latency_ms;
  guint max_latency_ms;
  guint64 not_playing;
};

static GstStaticPadTemplate anchor_template =
GST_STATIC_PAD_TEMPLATE ("anchor", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (ANCHOR_CAPS));

#define gst_wzp_room_demux_parent_class parent_class
G_DEFINE_TYPE (GstWzpRoomDemux, gst_wzp_room_demux, GST_TYPE_ELEMENT);

static void reconcile (GstElement * element, gpointer user_data);
static void check_call_state (GstElement * element, gpointer user_data);

/* -------------------------------------------------------------------------
 * Members (leaf lock held)
 */

static Member *
member_new (GstWzpRoomDemux * self, const gchar * fp)
{
  Member *m = g_new0 (Member, 1);

  m->demux = self;
  m->fp = g_strdup (fp);
  if (fp)
    m->jitter = wzp_jitter_new (self->latency_ms, self->max_latency_ms);
  gst_wzp_playout_init (&m->playout, 0);
  return m;
}

static void
member_free (Member * m)
{
  g_clear_pointer (&m->jitter, wzp_jitter_unref);
  if (m->pad)
    gst_object_unref (m->pad);
  g_free (m->fp);
  g_free (m);
}

static void
request_reconcile (GstWzpRoomDemux * self)
{
  if (self->reconcile_pending || !self->running)
    return;
  self->reconcile_pending = TRUE;
  gst_element_call_async (GST_ELEMENT (self), reconcile, NULL, NULL);
}

static gint64
running_time_now (GstWzpRoomDemux * self)
{
  return self->playing ? gst_wzp_running_time_now (self->clock,
      self->base_time) : -1;
}

/* -------------------------------------------------------------------------
 * From the call (its thread, the call object's lock held)
 */

static void
demux_frame (const WzpCallFrame * frame, gpointer user_data)
{
  GstWzpRoomDemux *self = user_data;
  Member *m;
  GBytes *payload;
  gint64 now;

  if (frame->sender == NULL)
    return;
  g_mutex_lock (&self->lock);
  now = running_time_now (self);
  m = g_hash_table_lookup (self->members, frame->sender);
  if (now < 0 || m == NULL || m->gone) {
    self->not_playing += now < 0;
    g_mutex_unlock (&self->lock);
    return;
  }
  payload = g_bytes_new (frame->data, frame->len);
  if (wzp_jitter_push (m->jitter, frame->seq, frame->timestamp, payload,
          now) == WZP_JITTER_RESET)
    m->playout.discont = TRUE;
  g_bytes_unref (payload);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
demux_member (const gchar * fp, gboolean joined, gpointer user_data)
{
  GstWzpRoomDemux *self = user_data;
  Member *m;

  g_mutex_lock (&self->lock);
  m = g_hash_table_lookup (self->members, fp);
  if (joined) {
    if (m == NULL) {
      m = member_new (self, fp);
      g_hash_table_insert (self->members, m->fp, m);
    } else if (m->gone && !m->eos_pushed) {
      m->gone = FALSE;
    } else if (m->gone) {
      m->rejoined = TRUE;
    }
  } else if (m) {
    m->gone = TRUE;
    m->rejoined = FALSE;
  }
  request_reconcile (self);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
demux_wake (gpointer user_data)
{
  GstWzpRoomDemux *self = user_data;

  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  /* Not here: the call object's lock is held. */
  gst_element_call_async (GST_ELEMENT (self), check_call_state, NULL, NULL);
}

/* The call's state changed (a thread of GStreamer's pool): when it ended,
 * every pad drains and ends; when it failed, the error is posted even if
 * no pad exists yet. */
static void
check_call_state (GstElement * element, gpointer user_data)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (element);
  WzpCallState state = gst_wzp_object_get_call_state (self->wzp);
  gboolean post = FALSE;

  if (state == WZP_CALL_STATE_FAILED)
    gst_wzp_object_post_failure (self->wzp);
  if (state == WZP_CALL_STATE_ENDED || state == WZP_CALL_STATE_FAILED) {
    g_mutex_lock (&self->lock);
    post = !self->ended;
    self->ended = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
  }
  if (post)
    GST_INFO_OBJECT (self, "the room call is %s: ending every stream",
        wzp_call_state_to_string (state));
}

static void
demux_add_stats (GstStructure * s, gpointer user_data)
{
  GstWzpRoomDemux *self = user_data;
  GValue list = G_VALUE_INIT;
  GHashTableIter it;
  gpointer value;
  guint64 lost = 0, late = 0, concealed = 0, dups = 0;

  g_value_init (&list, GST_TYPE_LIST);
  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Member *m = value;
    WzpJitterStats js;
    GValue v = G_VALUE_INIT;

    wzp_jitter_get_stats (m->jitter, &js);
    lost += js.lost;
    late += js.late;
    dups += js.duplicates;
    concealed += m->playout.concealed;
    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&v, gst_structure_new ("application/x-wzp-member",
            "fingerprint", G_TYPE_STRING, m->fp,
            "pad", G_TYPE_STRING, m->pad ? GST_PAD_NAME (m->pad) : NULL,
            "packets-received", G_TYPE_UINT64, js.pushed,
            "lost", G_TYPE_UINT64, js.lost,
            "late", G_TYPE_UINT64, js.late,
            "concealed", G_TYPE_UINT64, m->playout.concealed,
            "jitter-ms", G_TYPE_DOUBLE, js.jitter_ns / 1e6,
            "latency-ms", G_TYPE_DOUBLE, js.latency_ns / 1e6, NULL));
    gst_value_list_append_and_take_value (&list, &v);
  }
  g_mutex_unlock (&self->lock);
  gst_structure_set (s, "lost", G_TYPE_UINT64, lost, "late", G_TYPE_UINT64,
      late, "concealed", G_TYPE_UINT64, concealed, NULL);
  gst_structure_take_value (s, "members", &list);
}

/* "latency" or "max-latency" of wzproomsrc changed (any thread). */
static void
demux_latency_changed (guint latency_ms, guint max_latency_ms,
    gpointer user_data)
{
  GstWzpRoomDemux *self = user_data;
  GHashTableIter it;
  gpointer value;

  g_mutex_lock (&self->lock);
  self->latency_ms = latency_ms;
  self->max_latency_ms = max_latency_ms;
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value))
    wzp_jitter_set_latency (((Member *) value)->jitter, latency_ms,
        max_latency_ms);
  g_mutex_unlock (&self->lock);
}

static const GstWzpObjectFuncs demux_funcs = {
  .call.frame = demux_frame,
  .call.wake = demux_wake,
  .call.add_stats = demux_add_stats,
  .call.member = demux_member,
  .latency_changed = demux_latency_changed,
};

/* -------------------------------------------------------------------------
 * Streaming: one task per pad
 */

static gboolean
push_sticky (GstWzpRoomDemux * self, Member * m, GstPad * pad)
{
  GstSegment segment;
  gchar *stream_id;
  GstCaps *caps;

  stream_id = gst_pad_create_stream_id (pad, GST_ELEMENT (self),
      m->fp ? m->fp : "anchor");
  gst_pad_push_event (pad, gst_event_new_stream_start (stream_id));
  g_free (stream_id);
  /* A member's channel count is unknown until it speaks, and its pad
   * reports silence before that: mono unless downstream wants stereo
   * (libopus decodes a stereo member into mono and back). */
  caps = m->fp ? gst_wzp_opus_caps_negotiate (pad, 1)
      : gst_caps_from_string (ANCHOR_CAPS);
  if (caps == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("%s: downstream accepts none of %s", GST_PAD_NAME (pad),
            GST_WZP_OPUS_CAPS));
    return FALSE;
  }
  gst_pad_push_event (pad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  return gst_pad_push_event (pad, gst_event_new_segment (&segment));
}

static void
member_loop (gpointer user_data)
{
  Member *m = user_data;
  GstWzpRoomDemux *self = m->demux;
  GstMiniObject *out = NULL;
  gboolean eos = FALSE;
  gint64 now, deadline, wait_until;
  GstPad *pad;

  g_mutex_lock (&self->lock);
  /* Being removed: remove_pad() stops the task. */
  if (m->stop || m->pad == NULL) {
    g_mutex_unlock (&self->lock);
    return;
  }
  pad = m->pad;
  if (!m->started) {
    m->started = TRUE;
    g_mutex_unlock (&self->lock);
    push_sticky (self, m, pad);
    g_mutex_lock (&self->lock);
    now = running_time_now (self);
    m->playout.position = MAX (now - (gint64) self->latency_ms * GST_MSECOND,
        0);
  }

  now = running_time_now (self);
  if (now >= 0 && m->jitter) {
    WzpJitterItem item;

    if (wzp_jitter_pop (m->jitter, now, &item)) {
      out = gst_wzp_playout_output (&m->playout, &item,
          (gint64) self->latency_ms * GST_MSECOND);
      wzp_jitter_item_clear (&item);
    }
  }
  if (out == NULL && (self->eos || self->ended ||
          (m->gone && (m->jitter == NULL ||
                  wzp_jitter_next_deadline (m->jitter) < 0)))) {
    eos = TRUE;
  } else if (out == NULL && now >= 0) {
    /* Nothing due: say so, so a mixer need not wait for this member. */
    gint64 covered = now - (gint64) self->latency_ms * GST_MSECOND;
    if (covered - m->playout.position >= SILENCE_GAP_NS) {
      out = GST_MINI_OBJECT_CAST (gst_event_new_gap (m->playout.position,
              covered - m->playout.position));
      m->playout.position = covered;
      m->silence_gaps++;
    }
  }

  if (out == NULL && !eos) {
    /* Wait for a frame, the next deadline or the next silence GAP. */
    deadline = m->jitter ? wzp_jitter_next_deadline (m->jitter) : -1;
    if (now < 0) {
      wait_until = g_get_monotonic_time () + IDLE_WAIT_US;
    } else {
      gint64 next = m->playout.position +
          (gint64) self->latency_ms * GST_MSECOND + SILENCE_GAP_NS;
      if (deadline >= 0)
        next = MIN (next, deadline);
      wait_until = g_get_monotonic_time () + MAX (next - now, 0) / 1000 + 1;
    }
    g_cond_wait_until (&self->cond, &self->lock, wait_until);
    g_mutex_unlock (&self->lock);
    return;
  }
  g_mutex_unlock (&self->lock);

  if (eos) {
    GST_INFO_OBJECT (pad, "end of stream (%s)", m->gone ? "member left" :
        "room ended");
    gst_pad_push_event (pad, gst_event_new_eos ());
    g_mutex_lock (&self->lock);
    m->eos_pushed = TRUE;
    if (m->gone)
      request_reconcile (self);
    goto pause;
  }
  if (GST_IS_BUFFER (out)) {
    GstFlowReturn ret = gst_pad_push (pad, GST_BUFFER_CAST (out));

    /* A member pad nobody linked is not an error: the others play on. */
    if (ret == GST_FLOW_FLUSHING || ret == GST_FLOW_EOS) {
      GST_DEBUG_OBJECT (pad, "pausing: %s", gst_flow_get_name (ret));
      g_mutex_lock (&self->lock);
      if (ret == GST_FLOW_EOS) {
        m->eos_pushed = TRUE;
        if (m->gone)
          request_reconcile (self);
      }
      goto pause;
    } else if (ret < GST_FLOW_EOS) {
      GST_ELEMENT_FLOW_ERROR (self, ret);
      g_mutex_lock (&self->lock);
      goto pause;
    }
  } else {
    gst_pad_push_event (pad, GST_EVENT_CAST (out));
  }
  return;

pause:
  g_mutex_unlock (&self->lock);
  gst_pad_pause_task (pad);
}

static gboolean
member_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (parent);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY && self->wzp) {
    gst_wzp_object_answer_latency_query (self->wzp, query);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

static gboolean
member_activate_mode (GstPad * pad, GstObject * parent, GstPadMode mode,
    gboolean active)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (parent);
  Member *m = gst_pad_get_element_private (pad);

  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (!active && m) {
    g_mutex_lock (&self->lock);
    m->stop = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    gst_pad_stop_task (pad);
  }
  /* Activation does not start the task: reconcile does, once the pad is
   * added and linked by pad-added handlers. */
  return TRUE;
}

/* -------------------------------------------------------------------------
 * Adding and removing pads (a thread of GStreamer's pool)
 */

static gboolean
add_pad (GstWzpRoomDemux * self, Member * m)
{
  GstPadTemplate *templ = gst_element_get_pad_template (GST_ELEMENT (self),
      m->fp ? "src_%s" : "anchor");
  gchar *name = m->fp ? g_strdup_printf ("src_%s", m->fp) : g_strdup ("anchor");
  GstPad *pad = gst_pad_new_from_template (templ, name);

  g_free (name);
  gst_pad_set_element_private (pad, m);
  gst_pad_set_query_function (pad, member_query);
  gst_pad_set_activatemode_function (pad, member_activate_mode);
  gst_pad_use_fixed_caps (pad);
  g_mutex_lock (&self->lock);
  m->pad = gst_object_ref (pad);
  m->stop = FALSE;
  m->started = FALSE;
  m->eos_pushed = FALSE;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "adding %" GST_PTR_FORMAT, pad);
  if (!gst_element_add_pad (GST_ELEMENT (self), pad)) {
    g_mutex_lock (&self->lock);
    g_clear_object (&m->pad);
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  return gst_pad_start_task (pad, member_loop, m, NULL);
}

static void
remove_pad (GstWzpRoomDemux * self, Member * m)
{
  GstPad *pad;

  g_mutex_lock (&self->lock);
  pad = g_steal_pointer (&m->pad);
  if (pad)
    m->stop = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (pad == NULL)
    return;
  GST_INFO_OBJECT (self, "removing %" GST_PTR_FORMAT, pad);
  gst_pad_stop_task (pad);
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (GST_ELEMENT (self), pad);
  gst_object_unref (pad);
}

/* Makes the pads match the members: pads for new members, none for those
 * that left once their pad has ended. */
static void
reconcile (GstElement * element, gpointer user_data)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (element);
  GPtrArray *add = g_ptr_array_new ();
  GPtrArray *remove = g_ptr_array_new ();
  GPtrArray *forget = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_mutex_lock (&self->reconcile_lock);
  g_mutex_lock (&self->lock);
  self->reconcile_pending = FALSE;
  if (!self->running) {
    g_mutex_unlock (&self->lock);
    goto out;
  }
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    Member *m = value;

    if (m->pad && m->eos_pushed && (m->gone || m->rejoined))
      g_ptr_array_add (remove, m);
    else if (!m->pad && !m->gone)
      g_ptr_array_add (add, m);
    else if (!m->pad && m->gone)
      g_ptr_array_add (forget, m);
  }
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < remove->len; i++) {
    Member *m = g_ptr_array_index (remove, i);

    remove_pad (self, m);
    g_mutex_lock (&self->lock);
    if (m->rejoined) {
      /* Back in the room after its pad ended: a new pad, a new stream. */
      m->rejoined = m->gone = FALSE;
      wzp_jitter_flush (m->jitter);
      m->playout.discont = TRUE;
      g_ptr_array_add (add, m);
    } else {
      g_ptr_array_add (forget, m);
    }
    g_mutex_unlock (&self->lock);
  }
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < forget->len; i++) {
    Member *m = g_ptr_array_index (forget, i);
    g_hash_table_remove (self->members, m->fp);
  }
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < add->len; i++)
    add_pad (self, g_ptr_array_index (add, i));

out:
  g_mutex_unlock (&self->reconcile_lock);
  g_ptr_array_unref (add);
  g_ptr_array_unref (remove);
  g_ptr_array_unref (forget);
}

/* -------------------------------------------------------------------------
 * States
 */

static gboolean
start (GstWzpRoomDemux * self)
{
  guint latency, max_latency;
  gboolean anchor;

  GST_OBJECT_LOCK (self);
  anchor = self->anchor_wanted;
  GST_OBJECT_UNLOCK (self);
  if (self->wzp == NULL) {
    GST_ELEMENT_ERROR (self, CORE, STATE_CHANGE, (NULL),
        ("not configured: wzproomsrc makes and configures this element"));
    return FALSE;
  }
  gst_wzp_object_get_latency (self->wzp, &latency, &max_latency);
  g_mutex_lock (&self->lock);
  self->eos = self->ended = FALSE;
  self->not_playing = 0;
  self->latency_ms = latency;
  self->max_latency_ms = max_latency;
  g_mutex_unlock (&self->lock);

  g_mutex_lock (&self->reconcile_lock);
  self->running = TRUE;
  g_mutex_unlock (&self->reconcile_lock);

  if (!gst_wzp_object_start (self->wzp, GST_ELEMENT (self), &demux_funcs, self)) {
    g_mutex_lock (&self->reconcile_lock);
    self->running = FALSE;
    g_mutex_unlock (&self->reconcile_lock);
    return FALSE;
  }
  if (anchor) {
    Member *m;

    g_mutex_lock (&self->lock);
    m = self->anchor = member_new (self, NULL);
    g_mutex_unlock (&self->lock);
    g_mutex_lock (&self->reconcile_lock);
    add_pad (self, m);
    g_mutex_unlock (&self->reconcile_lock);
  }
  return TRUE;
}

static void
stop (GstWzpRoomDemux * self)
{
  GPtrArray *all = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  /* After this no callback from the call runs. */
  if (self->wzp)
    gst_wzp_object_stop (self->wzp);

  g_mutex_lock (&self->reconcile_lock);
  self->running = FALSE;
  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (all, value);
  if (self->anchor)
    g_ptr_array_add (all, self->anchor);
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < all->len; i++)
    remove_pad (self, g_ptr_array_index (all, i));
  g_mutex_lock (&self->lock);
  g_hash_table_remove_all (self->members);
  g_clear_pointer (&self->anchor, member_free);
  g_clear_object (&self->clock);
  self->playing = FALSE;
  if (self->not_playing)
    GST_DEBUG_OBJECT (self, "%" G_GUINT64_FORMAT " frames arrived before "
        "PLAYING", self->not_playing);
  g_mutex_unlock (&self->lock);
  g_mutex_unlock (&self->reconcile_lock);
  g_ptr_array_unref (all);
}

static void
set_playing (GstWzpRoomDemux * self, gboolean playing)
{
  GstClockTime base_time;
  GstClock *clock = gst_wzp_element_get_clock (GST_ELEMENT (self),
      &base_time);

  g_mutex_lock (&self->lock);
  gst_object_replace ((GstObject **) & self->clock, (GstObject *) clock);
  self->base_time = base_time;
  self->playing = playing && clock != NULL;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (clock)
    gst_object_unref (clock);
}

static GstStateChangeReturn
gst_wzp_room_demux_change_state (GstElement * element,
    GstStateChange transition)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!start (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      set_playing (self, TRUE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop (self);
      break;
    default:
      break;
  }
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      set_playing (self, FALSE);
      ret = GST_STATE_CHANGE_NO_PREROLL;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      ret = GST_STATE_CHANGE_NO_PREROLL;
      break;
    default:
      break;
  }
  return ret;
}

static gboolean
gst_wzp_room_demux_send_event (GstElement * element, GstEvent * event)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (element);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    GST_INFO_OBJECT (self, "EOS requested: ending every stream");
    g_mutex_lock (&self->lock);
    self->eos = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    gst_event_unref (event);
    return TRUE;
  }
  return GST_ELEMENT_CLASS (parent_class)->send_event (element, event);
}

/* -------------------------------------------------------------------------
 * API for wzproomsrc
 */

void
gst_wzp_room_demux_configure (GstWzpRoomDemux * self, GstWzpObject * wzp,
    gboolean anchor)
{
  GST_OBJECT_LOCK (self);
  self->wzp = wzp;
  self->anchor_wanted = anchor;
  GST_OBJECT_UNLOCK (self);
}

const gchar *
gst_wzp_room_demux_pad_get_member (GstPad * pad)
{
  Member *m = gst_pad_get_element_private (pad);

  return m ? m->fp : NULL;
}

gboolean
gst_wzp_room_demux_pad_member_left (GstPad * pad)
{
  Member *m = gst_pad_get_element_private (pad);
  gboolean gone;

  if (m == NULL)
    return FALSE;
  g_mutex_lock (&m->demux->lock);
  gone = m->gone;
  g_mutex_unlock (&m->demux->lock);
  return gone;
}

guint
gst_wzp_room_demux_get_n_members (GstWzpRoomDemux * self)
{
  guint n = 0;
  GHashTableIter it;
  gpointer value;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&it, self->members);
  while (g_hash_table_iter_next (&it, NULL, &value))
    n += !((Member *) value)->gone;
  g_mutex_unlock (&self->lock);
  return n;
}

/* -------------------------------------------------------------------------
 * GObject
 */

static void
gst_wzp_room_demux_finalize (GObject * object)
{
  GstWzpRoomDemux *self = GST_WZP_ROOM_DEMUX (object);

  g_hash_table_unref (self->members);
  g_mutex_clear (&self->reconcile_lock);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_wzp_room_demux_class_init (GstWzpRoomDemuxClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_wzp_room_demux_debug, "wzproomdemux", 0,
      "wzp room: one stream per member");
  gobject_class->finalize = gst_wzp_room_demux_finalize;
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_wzp_room_demux_change_state);
  element_class->send_event = GST_DEBUG_FUNCPTR (gst_wzp_room_demux_send_event);
  gst_element_class_add_pad_template (element_class,
      gst_wzp_opus_pad_template_new ("src_%s", GST_PAD_SRC, GST_PAD_SOMETIMES));
  gst_element_class_add_static_pad_template (element_class, &anchor_template);
  gst_element_class_set_static_metadata (element_class,
      "wzp room member streams", "Source/Network/Audio",
      "One Opus stream per member of a wzp room (inside wzproomsrc)",
      "wzp developers <wzp@example.invalid>");
}

static void
gst_wzp_room_demux_init (GstWzpRoomDemux * self)
{
  g_mutex_init (&self->reconcile_lock);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  self->members = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) member_free);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}
