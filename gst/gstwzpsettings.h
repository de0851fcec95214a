/* gstwzpsettings.h — the connection settings of a wzp element
 *
 * What names a call: relay, identity, peer or room, and how to run it.
 * Plain data: GstWzpObject holds one per element (and sets it from the
 * properties), GstWzpCallObject keeps a copy per shared call.  Here are
 * the checks start() makes and the key under which elements share a
 * call.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include <wzp/wzp.h>
#include "gstwzperror.h"

G_BEGIN_DECLS

#define GST_WZP_DEFAULT_PORT 4433
/* An active call with neither media nor the relay for this long fails
 * (libwzp's WzpCall:media-timeout). */
#define GST_WZP_DEFAULT_MEDIA_TIMEOUT 10000

typedef struct
{
  gchar *relay;                 /* HOST:PORT */
  gchar *relay_fingerprint;     /* optional pin */
  gchar *identity;              /* path of the identity file */
  gchar *peer;                  /* fingerprint to call, NULL: wait */
  gchar *session;               /* sharing key, NULL: derived */
  gchar *room;                  /* room to join */
  WzpAnswerPolicy answer;
  WzpPathPolicy path_policy;
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

/* TRUE when a call started with @a would be started the same with @b. */
gboolean gst_wzp_settings_same_call (const GstWzpSettings * a,
    const GstWzpSettings * b);

G_END_DECLS
