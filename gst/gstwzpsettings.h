/* gstwzpsettings.h — the connection settings wzpsrc and wzpsink share
 *
 * Both elements have the same call properties (relay, identity, peer,
 * ...).  This module holds them in one struct and installs, sets and gets
 * them for either element class, as GstSRTObject's property helpers do.
 * The element's object lock protects the struct.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstwzpenums.h"
#include "gstwzperror.h"

G_BEGIN_DECLS

#define GST_WZP_DEFAULT_PORT 4433
/* An active call with neither media nor the relay for this long fails
 * (libwzp's WzpCall:media-timeout). */
#define GST_WZP_DEFAULT_MEDIA_TIMEOUT 10000

/* Property ids common to both elements; element-specific ones continue
 * from GST_WZP_PROP_LAST_COMMON. */
enum
{
  GST_WZP_PROP_0,
  GST_WZP_PROP_URI,
  GST_WZP_PROP_RELAY,
  GST_WZP_PROP_RELAY_FINGERPRINT,
  GST_WZP_PROP_IDENTITY,
  GST_WZP_PROP_PEER,
  GST_WZP_PROP_SESSION,
  GST_WZP_PROP_ROOM,
  GST_WZP_PROP_ANSWER,
  GST_WZP_PROP_PATH_POLICY,
  GST_WZP_PROP_PATH,
  GST_WZP_PROP_STATS,
  GST_WZP_PROP_CALL_ID,
  GST_WZP_PROP_FINGERPRINT,
  GST_WZP_PROP_ROOM_OWNER,
  GST_WZP_PROP_ROOM_INVITE,
  GST_WZP_PROP_ROOM_OPEN,
  GST_WZP_PROP_MEDIA_TIMEOUT,
  GST_WZP_PROP_RELAY_STATE,
  GST_WZP_PROP_LAST_COMMON,
};

typedef struct
{
  gchar *relay;                 /* HOST:PORT */
  gchar *relay_fingerprint;     /* optional pin */
  gchar *identity;              /* path of the identity file */
  gchar *peer;                  /* fingerprint to call, NULL: wait */
  gchar *session;               /* sharing key, NULL: derived */
  gchar *room;                  /* room to join */
  GstWzpAnswer answer;
  GstWzpPathPolicy path_policy;
  gchar *room_owner;            /* the room owner's fingerprint */
  gchar *room_invite;           /* the owner's invitation: token or @FILE */
  gboolean room_open;           /* a room without owner */
  guint media_timeout_ms;       /* 0: never */
  gchar *uri_error;             /* the last uri property was invalid */
} GstWzpSettings;

void gst_wzp_settings_init (GstWzpSettings * settings);
void gst_wzp_settings_clear (GstWzpSettings * settings);
void gst_wzp_settings_copy (GstWzpSettings * dest,
    const GstWzpSettings * src);

void gst_wzp_settings_install_properties (GObjectClass * klass);

/* Return TRUE when @prop_id is one of the stored settings. */
gboolean gst_wzp_settings_set_property (GstWzpSettings * settings,
    guint prop_id, const GValue * value);
gboolean gst_wzp_settings_get_property (const GstWzpSettings * settings,
    guint prop_id, GValue * value);

/* Remembers that the uri property was set to something invalid (@error
 * NULL: it was valid), so start() can say so instead of "no relay". */
void gst_wzp_settings_set_uri_error (GstWzpSettings * settings,
    const gchar * uri, const GError * error);

/* Checks what start() needs: NULL, or a GST_RESOURCE_ERROR_SETTINGS the
 * element posts, located at the check that failed. */
GstWzpError *gst_wzp_settings_validate (const GstWzpSettings * settings);

/* The registry key of the call these settings name: "session:NAME", or
 * relay, identity, peer, room and room owner joined. */
gchar *gst_wzp_settings_call_key (const GstWzpSettings * settings);

G_END_DECLS
