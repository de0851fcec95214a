/* gstwzpplayout.h — buffers and GAP events from a jitter buffer
 *
 * wzpsrc and every member pad of wzproomsrc play a WzpJitter the same
 * way: each frame becomes a buffer whose PTS is its playout deadline
 * minus the latency (the running time at which it would have arrived
 * without jitter), never earlier than what was already output; OFFSET /
 * OFFSET_END carry the Ogg granule position (48 kHz samples since the
 * stream started); frames that never came become a GAP event, and the
 * next buffer is DISCONT.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <wzp/wzp.h>

G_BEGIN_DECLS

typedef struct
{
  gint64 position;              /* running time the output covers */
  guint64 granule;              /* 48 kHz samples output */
  guint64 concealed;            /* frames reported as GAPs */
  gboolean discont;             /* the next buffer follows a gap */
} GstWzpPlayout;

/* A new stream from running time @position. */
void gst_wzp_playout_init (GstWzpPlayout * playout, gint64 position);

/* A buffer for a PACKET item, a GAP event for a LOST one. */
GstMiniObject *gst_wzp_playout_output (GstWzpPlayout * playout,
    WzpJitterItem * item, gint64 latency_ns);

/* The clock @element runs on (a reference, or NULL) and its base time. */
GstClock *gst_wzp_element_get_clock (GstElement * element,
    GstClockTime * base_time);

/* The running time of @clock now; -1 without a clock. */
gint64 gst_wzp_running_time_now (GstClock * clock, GstClockTime base_time);

G_END_DECLS
