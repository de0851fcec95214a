/* gstwzplog.h — libwzp's log in GStreamer's debug system
 *
 * Each libwzp log category (wzpquic, wzpsignal, wzpcall, ...) gets a
 * GStreamer debug category of the same name, and libwzp's messages go
 * there, so GST_DEBUG=wzp*:6 shows the elements and the library
 * together.  Also sets up "wzpcall", the category of the shared call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Once per process; every element's registration calls it. */
void gst_wzp_log_init (void);

GST_DEBUG_CATEGORY_EXTERN (gst_wzp_call_debug);

G_END_DECLS
