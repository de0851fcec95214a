/* gstwzp.c — the "wzp" plugin: wzpsrc, wzpsink and wzproomsrc
 *
 * plugin_init forwards libwzp's own log categories (wzpquic, wzpsignal,
 * wzpcall, ...) into GStreamer, so GST_DEBUG=wzp*:6 shows the elements
 * and the library together (gstwzplog.c), then registers the elements.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstwzplog.h"
#include "gstwzpsrc.h"
#include "gstwzpsink.h"
#include "gstwzproomsrc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  gst_wzp_log_init ();
  ret |= GST_ELEMENT_REGISTER (wzpsrc, plugin);
  ret |= GST_ELEMENT_REGISTER (wzpsink, plugin);
  ret |= GST_ELEMENT_REGISTER (wzproomsrc, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, wzp,
    "wzp: end-to-end encrypted voice calls through a relay, with NAT "
    "traversal", plugin_init, WZP_VERSION, GST_LICENSE, GST_PACKAGE_NAME,
    GST_PACKAGE_ORIGIN)
