/* wzp-call-error.c — a call's errors, and what to tell a user about them
 *
 * The GStreamer elements and `wzp call` print the same texts, so a user
 * who meets an error in one finds the same words in the other (and in
 * docs/ELEMENTS.md).  The GError's own message stays the detail (the
 * debug string of a GStreamer error).
 */
#include "config.h"

#include "wzp-call.h"

GQuark
wzp_call_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-call-error-quark");
  return q;
}

GType
wzp_call_error_get_type (void)
{
  static gsize type;
  static const GEnumValue values[] = {
    {WZP_CALL_ERROR_RELAY_UNREACHABLE, "WZP_CALL_ERROR_RELAY_UNREACHABLE",
        "relay-unreachable"},
    {WZP_CALL_ERROR_RELAY_REFUSED, "WZP_CALL_ERROR_RELAY_REFUSED",
        "relay-refused"},
    {WZP_CALL_ERROR_PEER_OFFLINE, "WZP_CALL_ERROR_PEER_OFFLINE",
        "peer-offline"},
    {WZP_CALL_ERROR_BUSY, "WZP_CALL_ERROR_BUSY", "busy"},
    {WZP_CALL_ERROR_REJECTED, "WZP_CALL_ERROR_REJECTED", "rejected"},
    {WZP_CALL_ERROR_NO_ANSWER, "WZP_CALL_ERROR_NO_ANSWER", "no-answer"},
    {WZP_CALL_ERROR_BAD_PEER, "WZP_CALL_ERROR_BAD_PEER", "bad-peer"},
    {WZP_CALL_ERROR_NO_PATH, "WZP_CALL_ERROR_NO_PATH", "no-path"},
    {WZP_CALL_ERROR_FAILED, "WZP_CALL_ERROR_FAILED", "failed"},
    {WZP_CALL_ERROR_NOT_ADMITTED, "WZP_CALL_ERROR_NOT_ADMITTED",
        "not-admitted"},
    {WZP_CALL_ERROR_RELAY_IDENTITY, "WZP_CALL_ERROR_RELAY_IDENTITY",
        "relay-identity"},
    {WZP_CALL_ERROR_SUPERSEDED, "WZP_CALL_ERROR_SUPERSEDED", "superseded"},
    {WZP_CALL_ERROR_RELAY_LOST, "WZP_CALL_ERROR_RELAY_LOST", "relay-lost"},
    {WZP_CALL_ERROR_INVALID_SETTINGS, "WZP_CALL_ERROR_INVALID_SETTINGS",
        "invalid-settings"},
    {WZP_CALL_ERROR_PEER_GONE, "WZP_CALL_ERROR_PEER_GONE", "peer-gone"},
    {WZP_CALL_ERROR_HUNG_UP, "WZP_CALL_ERROR_HUNG_UP", "hung-up"},
    {WZP_CALL_ERROR_CLUSTER_UNAVAILABLE, "WZP_CALL_ERROR_CLUSTER_UNAVAILABLE",
        "cluster-unavailable"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpCallError", values));
  return type;
}

/**
 * wzp_call_error_describe:
 * @error: a failed or ended call's reason
 * @relay: (nullable): the relay setting, as the user gave it
 * @peer: (nullable): the peer we called, or who called us
 *
 * Returns: (transfer full): one sentence (or two) a user can act on
 */
char *
wzp_call_error_describe (const GError * error, const char *relay,
    const char *peer)
{
  const char *r = relay ? relay : "(no relay set)";
  const char *who = peer ? peer : "the peer";

  if (error->domain != WZP_CALL_ERROR)
    return g_strdup_printf ("The call failed: %s", error->message);

  switch ((WzpCallError) error->code) {
    case WZP_CALL_ERROR_RELAY_UNREACHABLE:
      return g_strdup_printf ("Could not reach the relay at %s: check the "
          "relay address and that wzp-relay runs and UDP gets through", r);
    case WZP_CALL_ERROR_RELAY_REFUSED:
      return g_strdup_printf ("The relay at %s refused our registration "
          "(this identity is not allowed there): %s", r, error->message);
    case WZP_CALL_ERROR_RELAY_IDENTITY:
      /* The detail names both fingerprints: that is the whole point. */
      return g_strdup_printf ("Wrong relay identity: %s. Check "
          "relay-fingerprint, or that %s is the relay you meant",
          error->message, r);
    case WZP_CALL_ERROR_SUPERSEDED:
      return g_strdup_printf ("This identity registered elsewhere: another "
          "wzp client with the same identity took over at the relay at %s", r);
    case WZP_CALL_ERROR_RELAY_LOST:
      return g_strdup_printf ("Lost the relay at %s: %s", r, error->message);
    case WZP_CALL_ERROR_PEER_OFFLINE:
      return g_strdup_printf ("Peer %s is offline: it is not registered "
          "with the relay at %s", who, r);
    case WZP_CALL_ERROR_BUSY:
      return g_strdup_printf ("Peer %s is busy in another call", who);
    case WZP_CALL_ERROR_REJECTED:
      return g_strdup_printf ("Peer %s rejected the call", who);
    case WZP_CALL_ERROR_NO_ANSWER:
      return g_strdup_printf ("Peer %s did not answer", who);
    case WZP_CALL_ERROR_BAD_PEER:
      return g_strdup_printf ("Peer %s failed verification: its signed call "
          "keys do not match its fingerprint", who);
    case WZP_CALL_ERROR_NOT_ADMITTED:
      return g_strdup_printf ("Not admitted to the room: %s. The owner's "
          "invitation (room-invite) is missing, not for this identity or "
          "this room, or expired; ask the owner for a new one (wzp invite)",
          error->message);
    case WZP_CALL_ERROR_NO_PATH:
      return g_strdup ("No direct path to the peer, and "
          "path-policy=direct-only forbids the relay: use path-policy=auto");
    case WZP_CALL_ERROR_INVALID_SETTINGS:
      return g_strdup_printf ("Invalid settings: %s", error->message);
    case WZP_CALL_ERROR_PEER_GONE:
      return g_strdup_printf ("Peer %s is gone: its connection died", who);
    case WZP_CALL_ERROR_HUNG_UP:
      return g_strdup_printf ("The call with %s was hung up", who);
    case WZP_CALL_ERROR_CLUSTER_UNAVAILABLE:
      return g_strdup_printf ("Cannot reach %s now: it is not registered "
          "at our relay (%s), and the relay cannot ask the other relays of "
          "its cluster (their Redis is away). Try again in a few seconds",
          who, r);
    case WZP_CALL_ERROR_FAILED:
      break;
  }
  return g_strdup_printf ("The call failed: %s", error->message);
}
