/* gstwzproomsrc.h — wzproomsrc: every member of a wzp room
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_WZP_ROOM_SRC (gst_wzp_room_src_get_type ())
G_DECLARE_FINAL_TYPE (GstWzpRoomSrc, gst_wzp_room_src, GST, WZP_ROOM_SRC,
    GstBin)

GST_ELEMENT_REGISTER_DECLARE (wzproomsrc);

G_END_DECLS
