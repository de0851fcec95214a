/* gstwzpsettings.c — the connection settings wzpsrc and wzpsink share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "gstwzpsettings.h"
#include "wzp-identity.h"
#include "wzp-call.h"

#define DEFAULT_ANSWER GST_WZP_ANSWER_AUTO
#define DEFAULT_PATH_POLICY GST_WZP_PATH_POLICY_AUTO

#define CONN_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_READY)
#define RO_FLAGS (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)

void
gst_wzp_settings_init (GstWzpSettings * settings)
{
  memset (settings, 0, sizeof (*settings));
  settings->answer = DEFAULT_ANSWER;
  settings->path_policy = DEFAULT_PATH_POLICY;
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
gst_wzp_settings_install_properties (GObjectClass * klass)
{
  /**
   * GstWzpSrc:uri:
   *
   * All connection settings as one URI:
   * `wzp://HOST:PORT?peer=FP&identity=PATH&room=R&answer=auto&latency=60`.
   * Query keys are property names.  Reading it gives a URI that sets the
   * same properties.  The same property exists on #GstWzpSink.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_URI,
      g_param_spec_string ("uri", "URI",
          "Connection settings as a wzp://HOST:PORT?key=value URI "
          "(keys are property names)", NULL, CONN_FLAGS));

  /**
   * GstWzpSrc:relay:
   *
   * The relay to register with, as HOST:PORT (an IPv6 address in
   * brackets: `[2001:db8::1]:4433`).  Required.  The relays of a cluster
   * are a list, `relay1:4433,relay2:4433`, and a host name may have
   * several addresses: the call registers at one (picked by a hash of its
   * identity, so clients spread) and moves to the next when it is lost
   * (docs/CLUSTER.md).
   */
  g_object_class_install_property (klass, GST_WZP_PROP_RELAY,
      g_param_spec_string ("relay", "Relay",
          "Relay address as HOST:PORT, or several separated by commas "
          "(required)", NULL, CONN_FLAGS));

  /**
   * GstWzpSrc:relay-fingerprint:
   *
   * The relay's identity fingerprint; when set, the TLS connection to the
   * relay is refused unless the relay proves that identity.  Without it
   * the relay is trusted on first use of this process.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_RELAY_FINGERPRINT,
      g_param_spec_string ("relay-fingerprint", "Relay fingerprint",
          "Pin the relay's identity to this fingerprint (optional)", NULL,
          CONN_FLAGS));

  /**
   * GstWzpSrc:identity:
   *
   * Path of this party's identity file (an Ed25519 key).  Created, and its
   * fingerprint announced in an INFO message, if it does not exist; an
   * existing file that cannot be read is an error.  Required.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_IDENTITY,
      g_param_spec_string ("identity", "Identity file",
          "Path of the identity key file (created if missing)", NULL,
          CONN_FLAGS));

  /**
   * GstWzpSrc:peer:
   *
   * Fingerprint of the party to call.  Empty: wait for incoming calls
   * (see #GstWzpSrc:answer); while such a call is up, reading the property
   * gives the caller's fingerprint.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_PEER,
      g_param_spec_string ("peer", "Peer",
          "Fingerprint to call; empty waits for calls (reads back the "
          "caller's fingerprint while answering one)", NULL, CONN_FLAGS));

  /**
   * GstWzpSrc:session:
   *
   * Elements of one process with the same session name share one call
   * (one registration, one socket).  Without it, elements share a call
   * when relay, identity, peer and room are equal.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_SESSION,
      g_param_spec_string ("session", "Session",
          "Name under which wzpsrc and wzpsink elements share one call", NULL,
          CONN_FLAGS));

  /**
   * GstWzpSrc:room:
   *
   * Join this multi-party room instead of calling a peer.  The relay
   * forwards every member's media to every other member.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_ROOM,
      g_param_spec_string ("room", "Room",
          "Multi-party room to join instead of calling a peer", NULL,
          CONN_FLAGS));

  /**
   * GstWzpSrc:room-owner:
   *
   * Fingerprint of the room's owner.  A room is the owner's: only the
   * owner and the members it invited (#GstWzpSrc:room-invite) get the
   * members' keys, and the relay cannot read it.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_ROOM_OWNER,
      g_param_spec_string ("room-owner", "Room owner",
          "Fingerprint of the room's owner (who admits its members)", NULL,
          CONN_FLAGS));

  /**
   * GstWzpSrc:room-invite:
   *
   * The owner's invitation for this identity: the token `wzp invite`
   * prints, or `@FILE` to read it from a file.  Not needed by the owner.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_ROOM_INVITE,
      g_param_spec_string ("room-invite", "Room invitation",
          "The owner's invitation for us: a token from `wzp invite`, or "
          "@FILE holding one", NULL, CONN_FLAGS));

  /**
   * GstWzpSrc:room-open:
   *
   * Join a room without owner, which anyone who knows its name may join.
   * Its members hand their keys to whoever the relay lists, so such a
   * room is not confidential from the relay.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_ROOM_OPEN,
      g_param_spec_boolean ("room-open", "Open room",
          "A room without owner that anyone with its name may join (not "
          "confidential from the relay)", FALSE, CONN_FLAGS));

  /**
   * GstWzpSrc:answer:
   *
   * What to do with incoming calls when #GstWzpSrc:peer is empty.  With
   * `ask`, the application is told (#GstWzpSrc::incoming-call and the
   * `wzp-incoming-call` message) and answers or rejects later with the
   * #GstWzpSrc::answer / #GstWzpSrc::reject action signals.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_ANSWER,
      g_param_spec_enum ("answer", "Answer",
          "How to answer incoming calls", GST_TYPE_WZP_ANSWER,
          DEFAULT_ANSWER, CONN_FLAGS));

  /**
   * GstWzpSrc:path-policy:
   *
   * Which media paths the call may use.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_PATH_POLICY,
      g_param_spec_enum ("path-policy", "Path policy",
          "Which media paths the call may use", GST_TYPE_WZP_PATH_POLICY,
          DEFAULT_PATH_POLICY, CONN_FLAGS));

  /**
   * GstWzpSrc:path:
   *
   * The path media takes now.  Every change is also a `wzp-path-changed`
   * element message.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_PATH,
      g_param_spec_enum ("path", "Path",
          "Current media path (none, relay, direct)", GST_TYPE_WZP_PATH,
          GST_WZP_PATH_NONE, RO_FLAGS));

  /**
   * GstWzpSrc:stats:
   *
   * A `application/x-wzp-stats` structure: state, path, rtt-ms,
   * packets-sent, bytes-sent, packets-received, bytes-received,
   * dropped-send, lost, late, duplicates, concealed, jitter-ms,
   * latency-ms, forged, replayed, path-changes.  docs/ELEMENTS.md
   * describes every field.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Call statistics (application/x-wzp-stats, see docs/ELEMENTS.md)",
          GST_TYPE_STRUCTURE, RO_FLAGS));

  /**
   * GstWzpSrc:call-id:
   *
   * The id of the current call (the caller picks it; both peers and the
   * relay use it), or %NULL.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_CALL_ID,
      g_param_spec_string ("call-id", "Call id",
          "Id of the current call (chosen by the caller, 32 hex digits)", NULL,
          RO_FLAGS));

  /**
   * GstWzpSrc:fingerprint:
   *
   * This party's own fingerprint (what others dial), known once the
   * identity file is loaded.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_FINGERPRINT,
      g_param_spec_string ("fingerprint", "Fingerprint",
          "Our own identity fingerprint (what others dial)", NULL, RO_FLAGS));

  /**
   * GstWzpSrc:media-timeout:
   *
   * Milliseconds an active call may go without media and without the
   * relay (lost, or not carrying the call yet) before it fails with an
   * error.  0: never.  While the relay is back within this time the
   * call's relay leg resumes; a direct path keeps media flowing anyway.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_MEDIA_TIMEOUT,
      g_param_spec_uint ("media-timeout", "Media timeout",
          "Fail an active call after this many ms without media and "
          "without the relay (0: never)", 0, G_MAXUINT,
          GST_WZP_DEFAULT_MEDIA_TIMEOUT, CONN_FLAGS));

  /**
   * GstWzpSrc:relay-state:
   *
   * Whether the relay is there: `none`, `connecting`, `registered`,
   * `lost` (reconnecting), `resumed` (back, and carrying the active call
   * again) or `failed`.  Every change is also a `wzp-relay-state` element
   * message.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_RELAY_STATE,
      g_param_spec_string ("relay-state", "Relay state",
          "none, connecting, registered, lost, resumed or failed", "none",
          RO_FLAGS));

  gst_type_mark_as_plugin_api (GST_TYPE_WZP_ANSWER, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_WZP_PATH_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_WZP_PATH, 0);
}

static void
set_string (gchar ** field, const GValue * value)
{
  const gchar *s = g_value_get_string (value);

  g_free (*field);
  *field = (s && *s) ? g_strdup (s) : NULL;
}

gboolean
gst_wzp_settings_set_property (GstWzpSettings * settings, guint prop_id,
    const GValue * value)
{
  switch (prop_id) {
    case GST_WZP_PROP_RELAY:
      set_string (&settings->relay, value);
      return TRUE;
    case GST_WZP_PROP_RELAY_FINGERPRINT:
      set_string (&settings->relay_fingerprint, value);
      return TRUE;
    case GST_WZP_PROP_IDENTITY:
      set_string (&settings->identity, value);
      return TRUE;
    case GST_WZP_PROP_PEER:
      set_string (&settings->peer, value);
      return TRUE;
    case GST_WZP_PROP_SESSION:
      set_string (&settings->session, value);
      return TRUE;
    case GST_WZP_PROP_ROOM:
      set_string (&settings->room, value);
      return TRUE;
    case GST_WZP_PROP_ROOM_OWNER:
      set_string (&settings->room_owner, value);
      return TRUE;
    case GST_WZP_PROP_ROOM_INVITE:
      set_string (&settings->room_invite, value);
      return TRUE;
    case GST_WZP_PROP_ROOM_OPEN:
      settings->room_open = g_value_get_boolean (value);
      return TRUE;
    case GST_WZP_PROP_ANSWER:
      settings->answer = g_value_get_enum (value);
      return TRUE;
    case GST_WZP_PROP_PATH_POLICY:
      settings->path_policy = g_value_get_enum (value);
      return TRUE;
    case GST_WZP_PROP_MEDIA_TIMEOUT:
      settings->media_timeout_ms = g_value_get_uint (value);
      return TRUE;
    default:
      return FALSE;
  }
}

gboolean
gst_wzp_settings_get_property (const GstWzpSettings * settings,
    guint prop_id, GValue * value)
{
  switch (prop_id) {
    case GST_WZP_PROP_RELAY:
      g_value_set_string (value, settings->relay);
      return TRUE;
    case GST_WZP_PROP_RELAY_FINGERPRINT:
      g_value_set_string (value, settings->relay_fingerprint);
      return TRUE;
    case GST_WZP_PROP_IDENTITY:
      g_value_set_string (value, settings->identity);
      return TRUE;
    case GST_WZP_PROP_PEER:
      g_value_set_string (value, settings->peer);
      return TRUE;
    case GST_WZP_PROP_SESSION:
      g_value_set_string (value, settings->session);
      return TRUE;
    case GST_WZP_PROP_ROOM:
      g_value_set_string (value, settings->room);
      return TRUE;
    case GST_WZP_PROP_ROOM_OWNER:
      g_value_set_string (value, settings->room_owner);
      return TRUE;
    case GST_WZP_PROP_ROOM_INVITE:
      g_value_set_string (value, settings->room_invite);
      return TRUE;
    case GST_WZP_PROP_ROOM_OPEN:
      g_value_set_boolean (value, settings->room_open);
      return TRUE;
    case GST_WZP_PROP_ANSWER:
      g_value_set_enum (value, settings->answer);
      return TRUE;
    case GST_WZP_PROP_PATH_POLICY:
      g_value_set_enum (value, settings->path_policy);
      return TRUE;
    case GST_WZP_PROP_MEDIA_TIMEOUT:
      g_value_set_uint (value, settings->media_timeout_ms);
      return TRUE;
    default:
      return FALSE;
  }
}

/* HOST:PORT, or the relays of a cluster separated by commas. */
static gboolean
relay_is_valid (const gchar * relay)
{
  return wzp_relay_list_check (relay, NULL);
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

GstWzpError *
gst_wzp_settings_validate (const GstWzpSettings * settings)
{
  if (settings->uri_error)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL, "%s",
        settings->uri_error);
  if (!settings->relay)
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
        "No relay set: set relay=HOST:PORT (for example "
        "relay=relay.example.org:%d)", GST_WZP_DEFAULT_PORT);
  if (!relay_is_valid (settings->relay))
    return gst_wzp_error_new (GST_RESOURCE_ERROR_SETTINGS, NULL,
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
