/* gstwzpsettings.c — the connection settings of a wzp element
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstwzpsettings.h"
#include <wzp/wzp.h>


void
gst_wzp_settings_init (GstWzpSettings * settings)
{
  memset (settings, 0, sizeof (*settings));
  settings->answer = WZP_ANSWER_POLICY_AUTO;
  settings->path_policy = WZP_PATH_POLICY_AUTO;
  settings->media_timeout_ms = GST_WZP_DEFAULT_MEDIA_TIMEOUT;
}

void
gst_wzp_settings_clear (GstWzpSettings * settings)
{
  g_clear_pointer (&settings->relay, g_free);
  g_clear_pointer (&settings->relay_fingerprint, g_free);
  g_clear_pointer (&settings->identity, g_free);
  g_clear_pointer (&settings->peer, g_free);
  g_clear_pointer (&settings->session, g_free);
  g_clear_pointer (&settings->room, g_free);
  g_clear_pointer (&settings->room_owner, g_free);
  g_clear_pointer (&settings->room_invite, g_free);
  g_clear_pointer (&settings->uri_error, g_free);
}

void
gst_wzp_settings_copy (GstWzpSettings * dest, const GstWzpSettings * src)
{
  gst_wzp_settings_init (dest);
  dest->relay = g_strdup (src->relay);
  dest->relay_fingerprint = g_strdup (src->relay_fingerprint);
  dest->identity = g_strdup (src->identity);
  dest->peer = g_strdup (src->peer);
  dest->session = g_strdup (src->session);
  dest->room = g_strdup (src->room);
  dest->answer = src->answer;
  dest->path_policy = src->path_policy;
  dest->room_owner = g_strdup (src->room_owner);
  dest->room_invite = g_strdup (src->room_invite);
  dest->room_open = src->room_open;
  dest->media_timeout_ms = src->media_timeout_ms;
  dest->uri_error = g_strdup (src->uri_error);
}

void
gst_wzp_settings_set_uri_error (GstWzpSettings * settings, const gchar * uri,
    const GError * error)
{
  g_clear_pointer (&settings->uri_error, g_free);
  if (error)
    settings->uri_error = g_strdup_printf ("Invalid uri \"%s\": %s",
        uri ? uri : "", error->message);
}

static gboolean
fingerprint_is_valid (const gchar * text)
{
  gchar *canonical = wzp_fingerprint_normalize (text, NULL);
  gboolean ok = canonical != NULL;

  g_free (canonical);
  return ok;
}

#define FINGERPRINT_FORM "8 groups of 4 hex digits, " \
    "xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:xxxx"

/* HOST:PORT, or the relays of a cluster separated by commas; libwzp's
 * own check (GLib's parser for each one), so the element refuses exactly
 * what the call would. */
static gboolean
relay_is_valid (const gchar * relay, gchar ** detail)
{
  GError *error = NULL;

  if (wzp_relay_list_check (relay, &error))
    return TRUE;
  *detail = g_strdup (error->message);
  g_error_free (error);
  return FALSE;
}

GstWzpError *
gst_wzp_settings_validate (const GstWzpSettings * settings)
{
  gchar *detail = NULL;

  if (settings->uri_error)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL, "%s",
        settings->uri_error);
  if (!settings->relay)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "No relay set: set relay=HOST:PORT (for example "
        "relay=relay.example.org:%d)", GST_WZP_DEFAULT_PORT);
  if (!relay_is_valid (settings->relay, &detail))
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, detail,
        "Invalid relay \"%s\": expected HOST:PORT (for example "
        "relay.example.org:%d, or [::1]:%d), or several separated by commas",
        settings->relay, GST_WZP_DEFAULT_PORT, GST_WZP_DEFAULT_PORT);
  if (settings->relay_fingerprint &&
      !fingerprint_is_valid (settings->relay_fingerprint))
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "Invalid relay-fingerprint \"%s\": expected " FINGERPRINT_FORM
        " (wzp-relay prints it at start)", settings->relay_fingerprint);
  if (!settings->identity)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "No identity file set: set identity=PATH (the file is created if "
        "it does not exist)");
  if (settings->peer && settings->room)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "Both peer and room are set: call a peer or join a room, not both");
  if (settings->room && !settings->room_owner && !settings->room_open)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "Room \"%s\" has no owner: set room-owner=FINGERPRINT (and "
        "room-invite=TOKEN unless you are the owner), or room-open=true for "
        "a room anyone with the name may join (the relay can read it)",
        settings->room);
  if ((settings->room_owner || settings->room_invite || settings->room_open)
      && !settings->room)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "room-owner, room-invite and room-open need room=NAME");
  if (settings->room_owner && !fingerprint_is_valid (settings->room_owner))
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "Invalid room-owner \"%s\": expected a fingerprint, "
        FINGERPRINT_FORM, settings->room_owner);
  if (settings->peer && !fingerprint_is_valid (settings->peer))
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "Invalid peer \"%s\": expected a fingerprint, " FINGERPRINT_FORM
        " (`wzp fingerprint KEYFILE` prints it)", settings->peer);
  return NULL;
}

gchar *
gst_wzp_settings_call_key (const GstWzpSettings * settings)
{
  if (settings->session)
    return g_strconcat ("session:", settings->session, NULL);
  return g_strdup_printf ("call:%s|%s|%s|%s|%s", settings->relay,
      settings->identity, settings->peer ? settings->peer : "",
      settings->room ? settings->room : "",
      settings->room_owner ? settings->room_owner : "");
}

gboolean
gst_wzp_settings_same_call (const GstWzpSettings * a, const GstWzpSettings * b)
{
  return !g_strcmp0 (a->relay, b->relay)
      && !g_strcmp0 (a->identity, b->identity)
      && !g_strcmp0 (a->peer, b->peer) && !g_strcmp0 (a->room, b->room)
      && a->answer == b->answer && a->path_policy == b->path_policy
      && a->media_timeout_ms == b->media_timeout_ms;
}
