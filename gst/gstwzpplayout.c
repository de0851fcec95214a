/* gstwzpplayout.c — buffers and GAP events from a jitter buffer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzpplayout.h"

void
gst_wzp_playout_init (GstWzpPlayout * playout, gint64 position)
{
  playout->position = MAX (position, 0);
  playout->granule = 0;
  playout->concealed = 0;
  playout->discont = TRUE;
}

GstMiniObject *
gst_wzp_playout_output (GstWzpPlayout * p, WzpJitterItem * item,
    gint64 latency_ns)
{
  GstClockTime pts = item->deadline_ns > latency_ns
      ? (GstClockTime) (item->deadline_ns - latency_ns) : 0;
  GstBuffer *buf;

  /* Never back in time (the buffer's target latency may shrink). */
  if ((gint64) pts < p->position)
    pts = p->position;
  p->position = pts + item->duration_ns;
  if (item->kind == WZP_JITTER_ITEM_LOST) {
    p->concealed += item->n_packets;
    p->granule += item->duration_samples;
    p->discont = TRUE;
    return GST_MINI_OBJECT_CAST (gst_event_new_gap (pts, item->duration_ns));
  }
  buf = gst_buffer_new_wrapped_bytes (item->payload);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = item->duration_ns;
  GST_BUFFER_OFFSET (buf) = p->granule;
  p->granule += item->duration_samples;
  GST_BUFFER_OFFSET_END (buf) = p->granule;
  if (p->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    p->discont = FALSE;
  }
  return GST_MINI_OBJECT_CAST (buf);
}

GstClock *
gst_wzp_element_get_clock (GstElement * element, GstClockTime * base_time)
{
  GstClock *clock;

  GST_OBJECT_LOCK (element);
  clock = GST_ELEMENT_CLOCK (element) ?
      gst_object_ref (GST_ELEMENT_CLOCK (element)) : NULL;
  *base_time = element->base_time;
  GST_OBJECT_UNLOCK (element);
  return clock;
}

gint64
gst_wzp_running_time_now (GstClock * clock, GstClockTime base_time)
{
  GstClockTime now;

  if (clock == NULL)
    return -1;
  now = gst_clock_get_time (clock);
  return now < base_time ? 0 : (gint64) (now - base_time);
}
