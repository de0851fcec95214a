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
#include "gstwzpobject.h"

G_BEGIN_DECLS

#define GST_TYPE_WZP_ROOM_DEMUX (gst_wzp_room_demux_get_type ())
G_DECLARE_FINAL_TYPE (GstWzpRoomDemux, gst_wzp_room_demux, GST,
    WZP_ROOM_DEMUX, GstElement)

/* For the next READY->PAUSED: @wzp (wzproomsrc's, not owned) has the
 * settings and acquires the call for us; @anchor adds the anchor pad. */
void gst_wzp_room_demux_configure (GstWzpRoomDemux * self,
    GstWzpObject * wzp, gboolean anchor);

/* The fingerprint a member pad carries, or NULL for the anchor. */
const gchar *gst_wzp_room_demux_pad_get_member (GstPad * pad);
/* TRUE when the pad goes because its member left (not because we stop). */
gboolean gst_wzp_room_demux_pad_member_left (GstPad * pad);

guint gst_wzp_room_demux_get_n_members (GstWzpRoomDemux * self);

G_END_DECLS
