/* wzp-path-types.c — which path a call's media takes, and may take
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-types.h"

static const GEnumValue path_kind_values[] = {
  {WZP_PATH_NONE, "WZP_PATH_NONE", "none"},
  {WZP_PATH_RELAY, "WZP_PATH_RELAY", "relay"},
  {WZP_PATH_DIRECT, "WZP_PATH_DIRECT", "direct"},
  {0, NULL, NULL},
};

static const GEnumValue path_policy_values[] = {
  {WZP_PATH_POLICY_AUTO, "WZP_PATH_POLICY_AUTO", "auto"},
  {WZP_PATH_POLICY_DIRECT_ONLY, "WZP_PATH_POLICY_DIRECT_ONLY", "direct-only"},
  {WZP_PATH_POLICY_RELAY_ONLY, "WZP_PATH_POLICY_RELAY_ONLY", "relay-only"},
  {0, NULL, NULL},
};

GType
wzp_path_kind_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("WzpPathKind", path_kind_values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
wzp_path_policy_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("WzpPathPolicy", path_policy_values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/**
 * wzp_path_kind_to_string:
 * @path: a path
 *
 * Returns: "none", "relay" or "direct"
 */
const char *
wzp_path_kind_to_string (WzpPathKind path)
{
  switch (path) {
    case WZP_PATH_RELAY:
      return "relay";
    case WZP_PATH_DIRECT:
      return "direct";
    case WZP_PATH_NONE:
    default:
      return "none";
  }
}

/**
 * wzp_path_policy_to_string:
 * @policy: a policy
 *
 * Returns: "auto", "direct-only" or "relay-only"
 */
const char *
wzp_path_policy_to_string (WzpPathPolicy policy)
{
  switch (policy) {
    case WZP_PATH_POLICY_DIRECT_ONLY:
      return "direct-only";
    case WZP_PATH_POLICY_RELAY_ONLY:
      return "relay-only";
    case WZP_PATH_POLICY_AUTO:
    default:
      return "auto";
  }
}

/**
 * wzp_path_policy_from_string:
 * @text: "auto", "direct-only" or "relay-only"
 * @policy: (out): the policy
 *
 * Returns: %TRUE if @text names a policy
 */
gboolean
wzp_path_policy_from_string (const char *text, WzpPathPolicy * policy)
{
  for (guint i = 0; path_policy_values[i].value_nick; i++) {
    if (g_strcmp0 (text, path_policy_values[i].value_nick) == 0) {
      *policy = path_policy_values[i].value;
      return TRUE;
    }
  }
  return FALSE;
}
