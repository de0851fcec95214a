/* gstwzpenums.c — enum types of the wzp elements' properties
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzpenums.h"

GType
gst_wzp_answer_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_WZP_ANSWER_AUTO, "Accept every incoming call", "auto"},
    {GST_WZP_ANSWER_REJECT, "Reject every incoming call", "reject"},
    {GST_WZP_ANSWER_ASK,
          "Ask the application (incoming-call, then the answer or reject action signal)",
        "ask"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstWzpAnswer", values));
  return type;
}

GType
gst_wzp_path_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_WZP_PATH_POLICY_AUTO,
          "Relay first, direct when both peers agree, relay again on failure",
        "auto"},
    {GST_WZP_PATH_POLICY_DIRECT_ONLY, "Only a direct path", "direct-only"},
    {GST_WZP_PATH_POLICY_RELAY_ONLY, "Only the relay", "relay-only"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstWzpPathPolicy",
            values));
  return type;
}

GType
gst_wzp_path_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_WZP_PATH_NONE, "No media path", "none"},
    {GST_WZP_PATH_RELAY, "Through the relay", "relay"},
    {GST_WZP_PATH_DIRECT, "Direct to the peer", "direct"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstWzpPath", values));
  return type;
}

/* Returns: (transfer none): the nick of @value, or "unknown". */
const gchar *
gst_wzp_enum_to_nick (GType type, gint value)
{
  GEnumClass *klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);
  const gchar *nick = v ? v->value_nick : "unknown";

  g_type_class_unref (klass);
  return nick;
}
