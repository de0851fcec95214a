/* wzp-call-stub.c — stand-in for lib/wzp-call.c until it lands
 *
 * Built into the plugin only while lib/wzp-call.c does not exist (see
 * gst/meson.build), so the elements, their properties, URI handling and
 * error paths build and can be tested before the call object exists.
 * wzp_call_start() always fails with a clear message.  Delete this file
 * once libwzp provides the call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "wzp-call.h"

struct _WzpCall
{
  GObject parent;
};

G_DEFINE_TYPE (WzpCall, wzp_call, G_TYPE_OBJECT);
G_DEFINE_QUARK (wzp - call - error - quark, wzp_call_error);

static void
stub_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
}

static void
stub_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
}

static void
wzp_call_class_init (WzpCallClass * klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  const GParamFlags f = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  oc->set_property = stub_set_property;
  oc->get_property = stub_get_property;
  g_object_class_install_property (oc, 1, g_param_spec_int ("answer-policy",
          "", "", 0, 2, 0, f));
  g_object_class_install_property (oc, 2, g_param_spec_int ("path-policy",
          "", "", 0, 2, 0, f));
  g_object_class_install_property (oc, 3,
      g_param_spec_string ("relay-fingerprint", "", "", NULL, f));
  g_object_class_install_property (oc, 4, g_param_spec_string ("peer", "", "",
          NULL, f));
  g_object_class_install_property (oc, 5, g_param_spec_string ("room", "", "",
          NULL, f));
  g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_ERROR);
  g_signal_new ("path-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_STRING);
  g_signal_new ("incoming-call", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      0, NULL, NULL, NULL, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
}

static void
wzp_call_init (WzpCall * self)
{
}

const char *
wzp_call_state_to_string (WzpCallState state)
{
  static const char *names[] = { "idle", "connecting", "waiting", "ringing",
    "active", "ended", "failed"
  };
  return (guint) state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

WzpCall *
wzp_call_new (GMainContext * context, WzpIdentity * identity, const char *relay)
{
  return g_object_new (WZP_TYPE_CALL, NULL);
}

gboolean
wzp_call_start (WzpCall * self, GError ** error)
{
  g_set_error_literal (error, WZP_CALL_ERROR, WZP_CALL_ERROR_FAILED,
      "this build of libwzp has no call support yet (lib/wzp-call.c is "
      "missing)");
  return FALSE;
}

void
wzp_call_hangup (WzpCall * self)
{
}

gboolean
wzp_call_send_frame (WzpCall * self, guint32 timestamp, gboolean marker,
    const guint8 * data, gsize len)
{
  return FALSE;
}

void
wzp_call_set_frame_handler (WzpCall * self, WzpCallFrameFunc func,
    gpointer user_data, GDestroyNotify notify)
{
  if (notify)
    notify (user_data);
}

void
wzp_call_get_stats (WzpCall * self, WzpCallStats * stats)
{
  memset (stats, 0, sizeof (*stats));
}

WzpCallState
wzp_call_get_state (WzpCall * self)
{
  return WZP_CALL_STATE_IDLE;
}

WzpPathKind
wzp_call_get_path (WzpCall * self)
{
  return WZP_PATH_NONE;
}

const char *
wzp_call_get_peer_fingerprint (WzpCall * self)
{
  return NULL;
}

const char *
wzp_call_get_call_id (WzpCall * self)
{
  return NULL;
}
