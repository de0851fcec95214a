/* gstwzpproperties.c — the properties of the wzp elements: their specs
 * and their documentation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzpproperties.h"
#include "gstwzpobject.h"

#define MAX_LATENCY_MS 10000

#define CONN_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_READY)
#define RO_FLAGS (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)
#define PLAYING_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_PLAYING)

static void
install_connection_properties (GObjectClass * klass)
{
  /**
   * GstWzpSrc:uri:
   *
   * All connection settings as one URI:
   * `wzp://HOST:PORT?peer=FP&identity=PATH&room=R&answer=auto&latency=60`.
   * Query keys are property names.  Reading it gives a URI that sets the
   * same properties.  wzpsink and wzproomsrc have the same property.
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
   * when relay, identity, peer, room and room owner are equal.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_SESSION,
      g_param_spec_string ("session", "Session",
          "Name under which wzp elements of this process share one call",
          NULL, CONN_FLAGS));

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
          "How to answer incoming calls", WZP_TYPE_ANSWER_POLICY,
          WZP_ANSWER_POLICY_AUTO, CONN_FLAGS));

  /**
   * GstWzpSrc:path-policy:
   *
   * Which media paths the call may use.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_PATH_POLICY,
      g_param_spec_enum ("path-policy", "Path policy",
          "Which media paths the call may use", WZP_TYPE_PATH_POLICY,
          WZP_PATH_POLICY_AUTO, CONN_FLAGS));

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

  gst_type_mark_as_plugin_api (WZP_TYPE_ANSWER_POLICY, 0);
  gst_type_mark_as_plugin_api (WZP_TYPE_PATH_POLICY, 0);
}

static void
install_call_properties (GObjectClass * klass)
{
  /**
   * GstWzpSrc:path:
   *
   * The path media takes now.  Every change is also a `wzp-path-changed`
   * element message.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_PATH,
      g_param_spec_enum ("path", "Path",
          "Current media path (none, relay, direct)", WZP_TYPE_PATH_KIND,
          WZP_PATH_NONE, RO_FLAGS));

  /**
   * GstWzpSrc:stats:
   *
   * An `application/x-wzp-stats` structure: state, path, rtt-ms,
   * packets-sent, bytes-sent, packets-received, bytes-received,
   * dropped-send, lost, late, duplicates, concealed, jitter-ms,
   * latency-ms, forged, replayed, path-changes, setup-ms, relay-state,
   * relay-losses, relay-channel, relay-channel-sent,
   * relay-channel-received (wzproomsrc adds members).  docs/ELEMENTS.md describes
   * every field.
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

  gst_type_mark_as_plugin_api (WZP_TYPE_PATH_KIND, 0);
}

static void
install_receiver_properties (GObjectClass * klass)
{
  /**
   * GstWzpSrc:latency:
   *
   * The jitter buffer's minimum (and starting) latency in milliseconds,
   * and the latency the element reports (wzproomsrc: of each member).
   * The buffer adapts upwards to #GstWzpSrc:max-latency when the network
   * jitters; the extra delay then shows as a later PTS.  May be changed
   * while playing.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_LATENCY,
      g_param_spec_uint ("latency", "Latency",
          "Jitter buffer minimum latency in ms (the latency reported)", 0,
          MAX_LATENCY_MS, GST_WZP_DEFAULT_LATENCY, PLAYING_FLAGS));

  /**
   * GstWzpSrc:max-latency:
   *
   * The most the adaptive jitter buffer may delay playout, in ms.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_MAX_LATENCY,
      g_param_spec_uint ("max-latency", "Maximum latency",
          "Jitter buffer maximum latency in ms", 0, MAX_LATENCY_MS,
          GST_WZP_DEFAULT_MAX_LATENCY, PLAYING_FLAGS));
}

static void
install_sender_properties (GObjectClass * klass)
{
  /**
   * GstWzpSink:wait-for-call:
   *
   * When upstream is not live (a file), wait until the call is active
   * instead of dropping frames, so nothing of the file is lost; paced
   * playout then resumes from that moment.  Live upstreams never wait:
   * frames before the call is active are dropped, as a phone does.
   */
  g_object_class_install_property (klass, GST_WZP_PROP_WAIT_FOR_CALL,
      g_param_spec_boolean ("wait-for-call", "Wait for call",
          "With a non-live upstream, wait until the call is active instead "
          "of dropping frames", GST_WZP_DEFAULT_WAIT_FOR_CALL, CONN_FLAGS));
}

void
gst_wzp_properties_install (GObjectClass * klass, gboolean receives,
    gboolean sends)
{
  install_connection_properties (klass);
  install_call_properties (klass);
  if (receives)
    install_receiver_properties (klass);
  if (sends)
    install_sender_properties (klass);
}
