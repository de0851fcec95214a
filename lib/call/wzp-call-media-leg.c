/* wzp-call-media-leg.c — the media leg of a call in a cluster */
#include "config.h"

#include "wzp-call-media-leg.h"
#include "wzp-address.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

static void
on_leg_up (WzpSignalClient * leg, GSocketAddress * observed, gpointer user_data)
{
  g_autoptr (GSocketAddress) relay = NULL;
  g_autofree char *where = NULL;

  g_object_get (leg, "relay-address", &relay, NULL);
  where = wzp_socket_address_to_string (relay);
  WZP_INFO_OBJECT (user_data, "media leg to %s is up", where);
}

WzpSignalClient *
_wzp_call_media_leg_open (WzpEndpoint * endpoint, GSocketAddress * addr,
    const char *fingerprint, guint64 reconnect_max, WzpSignalMediaFunc media,
    WzpCallMediaLegLost lost, gpointer user_data, GError ** error)
{
  WzpSignalClient *leg = g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint",
      endpoint, "relay-address", addr, "relay-fingerprint", fingerprint,
      "media-leg", TRUE, "reconnect-max", reconnect_max, NULL);

  wzp_signal_client_set_media_handler (leg, media, user_data, NULL);
  g_signal_connect (leg, "connection-lost", G_CALLBACK (lost), user_data);
  g_signal_connect (leg, "registered", G_CALLBACK (on_leg_up), user_data);
  if (!wzp_signal_client_start (leg, error)) {
    _wzp_call_media_leg_close (&leg, user_data);
    return NULL;
  }
  return leg;
}

void
_wzp_call_media_leg_close (WzpSignalClient ** leg, gpointer user_data)
{
  if (*leg == NULL)
    return;
  g_signal_handlers_disconnect_by_data (*leg, user_data);
  wzp_signal_client_set_media_handler (*leg, NULL, NULL, NULL);
  wzp_signal_client_stop (*leg);
  g_clear_object (leg);
}

gboolean
_wzp_call_media_leg_goes_to (WzpSignalClient * leg, GSocketAddress * addr,
    const char *fingerprint)
{
  g_autoptr (GSocketAddress) relay = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_object_get (leg, "relay-address", &relay, NULL);
  a = wzp_socket_address_to_string (relay);
  b = wzp_socket_address_to_string (addr);
  return g_strcmp0 (a, b) == 0 &&
      g_strcmp0 (wzp_signal_client_get_relay_fingerprint (leg),
      fingerprint) == 0;
}

WzpSignalClient *
_wzp_call_media_leg_carrier (WzpSignalClient * leg, WzpSignalClient * signal)
{
  if (leg && wzp_signal_client_get_state (leg) == WZP_SIGNAL_STATE_REGISTERED)
    return leg;
  return signal;
}

void
_wzp_call_media_leg_take_channel (WzpSignalClient * leg,
    WzpSignalClient * signal, const char *call_id, guint32 call_channel)
{
  WzpChannelInfo info;

  if (leg == NULL || signal == NULL || call_id == NULL ||
      !wzp_signal_client_get_channel (signal, call_channel, &info))
    return;
  wzp_signal_client_take_channel (leg, call_id, call_channel, &info);
  memset (&info, 0, sizeof info);
}

WzpSignalClient *
_wzp_call_media_leg_channel_owner (WzpSignalClient * leg,
    WzpSignalClient * signal)
{
  return leg ? leg : signal;
}
