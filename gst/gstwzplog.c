/* gstwzplog.c — libwzp's log in GStreamer's debug system
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <wzp/wzp.h>

#include "gstwzplog.h"

GST_DEBUG_CATEGORY (gst_wzp_call_debug);

static GstDebugCategory **gst_categories;
static WzpLogCategory **wzp_categories;
static guint n_log_categories;

static void
forward_log (WzpLogCategory * category, WzpLogLevel level, const char *file,
    const char *function, int line, GObject * object, const char *message,
    gpointer user_data)
{
  guint i;

  for (i = 0; i < n_log_categories; i++) {
    if (wzp_categories[i] == category) {
      gst_debug_log (gst_categories[i], (GstDebugLevel) level, file,
          function, line, object, "%s", message);
      return;
    }
  }
}

static void
setup_log_forwarding (void)
{
  guint i;

  wzp_categories = wzp_log_get_categories (&n_log_categories);
  gst_categories = g_new0 (GstDebugCategory *, n_log_categories);
  for (i = 0; i < n_log_categories; i++) {
    WzpLogCategory *wc = wzp_categories[i];
    GstDebugCategory *gc = _gst_debug_category_new (wc->name, 0,
        wc->description);

    gst_categories[i] = gc;
    /* libwzp filters before the handler: give it GStreamer's threshold. */
    wzp_log_set_threshold (wc->name,
        (WzpLogLevel) gst_debug_category_get_threshold (gc));
  }
  wzp_log_set_handler (forward_log, NULL);
}

void
gst_wzp_log_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_wzp_call_debug, "wzpcall", 0,
        "wzp shared call object");
    setup_log_forwarding ();
    g_once_init_leave (&done, 1);
  }
}
