/* gstwzproomdemux.h — the member streams of a wzp room, one pad each
 *
 * The element inside wzproomsrc that joins the room (through the shared
 * call object) and gives each admitted member a `src_FINGERPRINT`
 * sometimes pad: the member's Opus frames through its own jitter buffer,
 * timestamped on the pipeline clock, with GAP events for lost frames and
 * for silence, and EOS when the member leaves (then the pad goes).  Each
 * pad runs its own streaming thread, so a member that stalls stalls
 * nobody else.  With an anchor (mix mode) it also has an "anchor" pad of
 * raw-audio GAPs from the moment it plays, which gives a mixer a timeline
 * before anyone speaks and EOS when the room ends.
 *
 * Not registered as a plugin feature: wzproomsrc makes it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstwzpsettings.h"

G_BEGIN_DECLS

#define GST_TYPE_WZP_ROOM_DEMUX (gst_wzp_room_demux_get_type ())
G_DECLARE_FINAL_TYPE (GstWzpRoomDemux, gst_wzp_room_demux, GST,
    WZP_ROOM_DEMUX, GstElement)

/* Settings for the next READY->PAUSED; @anchor adds the anchor pad. */
void gst_wzp_room_demux_configure (GstWzpRoomDemux * self,
    const GstWzpSettings * settings, guint latency_ms, guint max_latency_ms,
    gboolean anchor);
void gst_wzp_room_demux_set_latency (GstWzpRoomDemux * self,
    guint latency_ms, guint max_latency_ms);

/* The common read-only properties (path, stats, call-id, fingerprint,
 * peer) from the call; TRUE when @prop_id is one of them. */
gboolean gst_wzp_room_demux_get_call_property (GstWzpRoomDemux * self,
    const GstWzpSettings * settings, guint prop_id, GValue * value);

/* The fingerprint a member pad carries, or NULL for the anchor. */
const gchar *gst_wzp_room_demux_pad_get_member (GstPad * pad);
/* TRUE when the pad goes because its member left (not because we stop). */
gboolean gst_wzp_room_demux_pad_member_left (GstPad * pad);

guint gst_wzp_room_demux_get_n_members (GstWzpRoomDemux * self);

G_END_DECLS
