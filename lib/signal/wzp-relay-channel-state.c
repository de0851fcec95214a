/* wzp-relay-channel-state.c — where a call's relayed media goes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-relay-channel-state.h"

static const GEnumValue relay_channel_state_values[] = {
  {WZP_RELAY_CHANNEL_OFF, "WZP_RELAY_CHANNEL_OFF", "off"},
  {WZP_RELAY_CHANNEL_PROBING, "WZP_RELAY_CHANNEL_PROBING", "probing"},
  {WZP_RELAY_CHANNEL_UP, "WZP_RELAY_CHANNEL_UP", "up"},
  {WZP_RELAY_CHANNEL_SUSPECT, "WZP_RELAY_CHANNEL_SUSPECT", "suspect"},
  {WZP_RELAY_CHANNEL_DOWN, "WZP_RELAY_CHANNEL_DOWN", "down"},
  {0, NULL, NULL},
};

GType
wzp_relay_channel_state_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("WzpRelayChannelState",
        relay_channel_state_values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/**
 * wzp_relay_channel_state_to_string:
 * @state: a state
 *
 * Returns: its nick ("off", "probing", "up", "suspect", "down"), or
 *   "invalid"
 */
const char *
wzp_relay_channel_state_to_string (WzpRelayChannelState state)
{
  if ((guint) state <= WZP_RELAY_CHANNEL_DOWN)
    return relay_channel_state_values[state].value_nick;
  return "invalid";
}
