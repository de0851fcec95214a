/* gstwzpsrc.h — wzpsrc: Opus frames received in a wzp call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_WZP_SRC (gst_wzp_src_get_type ())
G_DECLARE_FINAL_TYPE (GstWzpSrc, gst_wzp_src, GST, WZP_SRC, GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE (wzpsrc);

G_END_DECLS
