/* wzp-call-enums.c — a call's states, answer policy, relay state and
 * relay selection as GTypes, and their names
 */
#include "config.h"

#include "wzp-call.h"


GType
wzp_call_state_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_CALL_STATE_IDLE, "WZP_CALL_STATE_IDLE", "idle"},
    {WZP_CALL_STATE_CONNECTING, "WZP_CALL_STATE_CONNECTING", "connecting"},
    {WZP_CALL_STATE_WAITING, "WZP_CALL_STATE_WAITING", "waiting"},
    {WZP_CALL_STATE_RINGING, "WZP_CALL_STATE_RINGING", "ringing"},
    {WZP_CALL_STATE_ACTIVE, "WZP_CALL_STATE_ACTIVE", "active"},
    {WZP_CALL_STATE_ENDED, "WZP_CALL_STATE_ENDED", "ended"},
    {WZP_CALL_STATE_FAILED, "WZP_CALL_STATE_FAILED", "failed"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpCallState", values));
  return type;
}

GType
wzp_answer_policy_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_ANSWER_POLICY_AUTO, "WZP_ANSWER_POLICY_AUTO", "auto"},
    {WZP_ANSWER_POLICY_REJECT, "WZP_ANSWER_POLICY_REJECT", "reject"},
    {WZP_ANSWER_POLICY_ASK, "WZP_ANSWER_POLICY_ASK", "ask"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpAnswerPolicy",
            values));
  return type;
}

GType
wzp_relay_state_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_RELAY_STATE_NONE, "WZP_RELAY_STATE_NONE", "none"},
    {WZP_RELAY_STATE_CONNECTING, "WZP_RELAY_STATE_CONNECTING", "connecting"},
    {WZP_RELAY_STATE_REGISTERED, "WZP_RELAY_STATE_REGISTERED", "registered"},
    {WZP_RELAY_STATE_LOST, "WZP_RELAY_STATE_LOST", "lost"},
    {WZP_RELAY_STATE_RESUMED, "WZP_RELAY_STATE_RESUMED", "resumed"},
    {WZP_RELAY_STATE_FAILED, "WZP_RELAY_STATE_FAILED", "failed"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpRelayState", values));
  return type;
}

GType
wzp_relay_selection_get_type (void)
{
  static GType type;
  static const GEnumValue values[] = {
    {WZP_RELAY_SELECTION_HASH, "WZP_RELAY_SELECTION_HASH", "hash"},
    {WZP_RELAY_SELECTION_LISTED, "WZP_RELAY_SELECTION_LISTED", "listed"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpRelaySelection",
            values));
  return type;
}

/**
 * wzp_relay_state_to_string:
 * @state: a relay state
 *
 * Returns: its nick: "none", "connecting", "registered", "lost",
 *   "resumed" or "failed"
 */
const char *
wzp_relay_state_to_string (WzpRelayState state)
{
  switch (state) {
    case WZP_RELAY_STATE_NONE:
      return "none";
    case WZP_RELAY_STATE_CONNECTING:
      return "connecting";
    case WZP_RELAY_STATE_REGISTERED:
      return "registered";
    case WZP_RELAY_STATE_LOST:
      return "lost";
    case WZP_RELAY_STATE_RESUMED:
      return "resumed";
    case WZP_RELAY_STATE_FAILED:
      return "failed";
  }
  return "invalid";
}

/**
 * wzp_call_state_to_string:
 * @state: a call state
 *
 * Returns: its nick: "idle", "connecting", "waiting", "ringing",
 *   "active", "ended" or "failed"
 */
const char *
wzp_call_state_to_string (WzpCallState state)
{
  GEnumValue *v = g_enum_get_value (g_type_class_peek_static
      (wzp_call_state_get_type ()), state);

  if (v == NULL) {
    g_type_class_unref (g_type_class_ref (wzp_call_state_get_type ()));
    v = g_enum_get_value (g_type_class_peek_static
        (wzp_call_state_get_type ()), state);
  }
  return v ? v->value_nick : "invalid";
}
