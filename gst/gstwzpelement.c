/* gstwzpelement.c — glue both wzp elements share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzpelement.h"
#include "gstwzpuri.h"
#include "wzp-log.h"

GST_DEBUG_CATEGORY (gst_wzp_call_debug);

/* -------------------------------------------------------------------------
 * libwzp log forwarding: each WzpLogCategory goes to a GstDebugCategory of
 * the same name, so GST_DEBUG=wzp*:6 shows the library too.
 */

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
gst_wzp_element_init (GstPlugin * plugin)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_wzp_call_debug, "wzpcall", 0,
        "wzp shared call object");
    setup_log_forwarding ();
    g_once_init_leave (&done, 1);
  }
}

/* -------------------------------------------------------------------------
 * Signals and properties
 */

static gboolean
answer_call (GstElement * element, const gchar * call_id)
{
  return gst_wzp_call_object_decide (element, call_id, TRUE);
}

static gboolean
reject_call (GstElement * element, const gchar * call_id)
{
  return gst_wzp_call_object_decide (element, call_id, FALSE);
}

void
gst_wzp_element_install_signals (GType type)
{
  g_signal_new ("incoming-call", type, G_SIGNAL_RUN_LAST, 0, NULL, NULL,
      NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  g_signal_new_class_handler ("answer", type,
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (answer_call), NULL,
      NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
  g_signal_new_class_handler ("reject", type,
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION, G_CALLBACK (reject_call), NULL,
      NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
}

gboolean
gst_wzp_element_get_call_property (GstWzpCallObject * call,
    const GstWzpSettings * settings, guint prop_id, GValue * value)
{
  switch (prop_id) {
    case GST_WZP_PROP_PATH:
      g_value_set_enum (value, call ? gst_wzp_call_object_get_path (call)
          : GST_WZP_PATH_NONE);
      return TRUE;
    case GST_WZP_PROP_STATS:
      g_value_take_boxed (value, call ? gst_wzp_call_object_get_stats (call)
          : gst_wzp_stats_new_empty ());
      return TRUE;
    case GST_WZP_PROP_CALL_ID:
      g_value_take_string (value,
          call ? gst_wzp_call_object_dup_call_id (call) : NULL);
      return TRUE;
    case GST_WZP_PROP_FINGERPRINT:
      g_value_take_string (value,
          call ? gst_wzp_call_object_dup_fingerprint (call) : NULL);
      return TRUE;
    case GST_WZP_PROP_RELAY_STATE:
      g_value_set_string (value, wzp_relay_state_to_string (call ?
              gst_wzp_call_object_get_relay_state (call) :
              WZP_RELAY_STATE_NONE));
      return TRUE;
    case GST_WZP_PROP_PEER:
      if (settings->peer || !call)
        g_value_set_string (value, settings->peer);
      else
        g_value_take_string (value, gst_wzp_call_object_dup_peer (call));
      return TRUE;
    default:
      return FALSE;
  }
}

/* -------------------------------------------------------------------------
 * URI handler
 */

static const gchar *const *
uri_get_protocols (GType type)
{
  static const gchar *protocols[] = { GST_WZP_URI_SCHEME, NULL };

  return protocols;
}

static gchar *
uri_get_uri (GstURIHandler * handler)
{
  return gst_wzp_uri_from_properties (G_OBJECT (handler));
}

static gboolean
uri_set_uri (GstURIHandler * handler, const gchar * uri, GError ** error)
{
  GstState state;

  GST_OBJECT_LOCK (handler);
  state = GST_STATE (handler);
  GST_OBJECT_UNLOCK (handler);
  if (state > GST_STATE_READY) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "Changing the URI of %s is only possible in the NULL or READY state",
        GST_OBJECT_NAME (handler));
    return FALSE;
  }
  return gst_wzp_uri_to_properties (G_OBJECT (handler), uri, error);
}

void
gst_wzp_element_uri_handler_init (GstURIHandlerInterface * iface)
{
  iface->get_protocols = uri_get_protocols;
  iface->get_uri = uri_get_uri;
  iface->set_uri = uri_set_uri;
}
