/* wzp — the client side of signaling: the NAT probe (raw probe packets
 * and their result) and everything that arrives from the relay (hello and
 * registration, errors, calls, rooms, relayed media).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-signal-client-private.h"
#include "wzp-message.h"
#include "wzp-address.h"
#include "wzp-random.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_signal
/* Raw probe packets: the first at once, then retries (UDP may drop). */
#define PROBE_RETRY_INTERVAL (200 * WZP_NSEC_PER_MSEC)
#define PROBE_ATTEMPTS 5
#define PROBE_TIMEOUT (2 * WZP_NSEC_PER_SEC)

/* --- NAT probe -------------------------------------------------------- */

static void
send_probe_packet (WzpSignalClient * self)
{
  guint8 pkt[WZP_PROBE_PACKET_LEN];
  WzpAddr to;

  pkt[0] = WZP_PROBE_PACKET_TYPE;
  memcpy (pkt + 1, self->probe_token, WZP_PROBE_TOKEN_LEN);
  if (wzp_addr_from_gsocketaddress (&to, self->probe_address))
    wzp_endpoint_send_raw (self->endpoint, &to, pkt, sizeof pkt);
  self->probe_attempts++;
}

static gboolean
probe_timer_cb (gpointer data)
{
  WzpSignalClient *self = data;
  guint64 now = wzp_clock_get_time (_wzp_signal_client_get_clock (self));

  g_clear_pointer (&self->probe_timer, g_source_unref);
  if (!self->probing)
    return G_SOURCE_REMOVE;
  if (now - self->probe_started >= PROBE_TIMEOUT) {
    self->probing = FALSE;
    _wzp_signal_client_emit_error (self, g_error_new (WZP_SIGNAL_ERROR,
            WZP_SIGNAL_ERROR_TIMEOUT, "no NAT probe result from the relay"));
    return G_SOURCE_REMOVE;
  }
  if (self->probe_attempts < PROBE_ATTEMPTS)
    send_probe_packet (self);
  self->probe_timer =
      wzp_clock_timeout_add (_wzp_signal_client_get_clock (self),
      wzp_endpoint_get_context (self->endpoint), PROBE_RETRY_INTERVAL,
      probe_timer_cb, self, NULL);
  return G_SOURCE_REMOVE;
}

/**
 * wzp_signal_client_probe_nat:
 *
 * Asks the relay to observe a raw UDP packet sent from our socket to its
 * probe address, and compares that with the address it observes for the
 * signaling connection.  The result lands in #WzpSignalClient:nat-type
 * (notify); a failure is reported through #WzpSignalClient::error.
 */
gboolean
wzp_signal_client_probe_nat (WzpSignalClient * self, GError ** error)
{
  g_return_val_if_fail (WZP_IS_SIGNAL_CLIENT (self), FALSE);

  if (self->state != WZP_SIGNAL_STATE_REGISTERED) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_NOT_REGISTERED,
        "not registered with the relay");
    return FALSE;
  }
  if (self->probe_address == NULL) {
    g_set_error (error, WZP_SIGNAL_ERROR, WZP_SIGNAL_ERROR_NO_PROBE,
        "the relay has no probe address");
    return FALSE;
  }
  wzp_random_bytes (self->probe_token, sizeof self->probe_token);
  if (!_wzp_signal_client_send_msg (self,
          wzp_message_new_probe_request (self->probe_token), TRUE, error))
    return FALSE;
  self->probing = TRUE;
  self->probe_attempts = 0;
  self->probe_started =
      wzp_clock_get_time (_wzp_signal_client_get_clock (self));
  send_probe_packet (self);
  _wzp_signal_client_cancel_timer (&self->probe_timer);
  self->probe_timer =
      wzp_clock_timeout_add (_wzp_signal_client_get_clock (self),
      wzp_endpoint_get_context (self->endpoint), PROBE_RETRY_INTERVAL,
      probe_timer_cb, self, NULL);
  return TRUE;
}

static void
handle_probe_result (WzpSignalClient * self, JsonObject * msg)
{
  g_autoptr (GBytes) token = NULL;
  g_autoptr (GSocketAddress) seen = NULL;
  g_autoptr (GError) error = NULL;
  WzpAddr a, b;
  WzpNatType type;

  if (!wzp_message_get_bytes (msg, "token", TRUE, WZP_PROBE_TOKEN_LEN,
          WZP_PROBE_TOKEN_LEN, &token, &error) ||
      !wzp_message_get_address (msg, "observed_addr", TRUE, &seen, &error)) {
    WZP_WARNING_OBJECT (self, "bad probe-result: %s", error->message);
    return;
  }
  if (!self->probing || memcmp (g_bytes_get_data (token, NULL),
          self->probe_token, WZP_PROBE_TOKEN_LEN) != 0 ||
      self->observed == NULL)
    return;
  self->probing = FALSE;
  _wzp_signal_client_cancel_timer (&self->probe_timer);
  wzp_addr_from_gsocketaddress (&a, seen);
  wzp_addr_from_gsocketaddress (&b, self->observed);
  type = wzp_addr_equal (&a, &b) ? WZP_NAT_TYPE_EIM : WZP_NAT_TYPE_EDM;
  {
    char sa[WZP_ADDR_STRLEN], sb[WZP_ADDR_STRLEN];
    WZP_INFO_OBJECT (self, "NAT probe: relay saw %s on its probe port and %s "
        "on signaling: %s", wzp_addr_to_string (&a, sa),
        wzp_addr_to_string (&b, sb), wzp_nat_type_to_string (type));
  }
  if (type != self->nat_type) {
    self->nat_type = type;
    g_object_notify_by_pspec (G_OBJECT (self),
        _wzp_signal_client_props[PROP_NAT_TYPE]);
  } else {
    /* Tell waiters the probe finished even if nothing changed. */
    g_object_notify_by_pspec (G_OBJECT (self),
        _wzp_signal_client_props[PROP_NAT_TYPE]);
  }
}

/* --- incoming messages ------------------------------------------------ */

static void
set_observed (WzpSignalClient * self, GSocketAddress * addr)
{
  g_set_object (&self->observed, addr);
  g_object_notify_by_pspec (G_OBJECT (self),
      _wzp_signal_client_props[PROP_OBSERVED_ADDRESS]);
}

static void
handle_hello (WzpSignalClient * self, JsonObject * msg)
{
  g_autoptr (GBytes) challenge = NULL;
  g_autoptr (GSocketAddress) observed = NULL;
  g_autoptr (GSocketAddress) probe = NULL;
  g_autoptr (GError) error = NULL;
  WzpIdentity *id = self->identity ? self->identity :
      wzp_endpoint_get_identity (self->endpoint);

  /* A media leg does not register. */
  if (self->media_leg)
    return;
  if (!wzp_message_get_bytes (msg, "challenge", TRUE, WZP_CHALLENGE_LEN,
          WZP_CHALLENGE_LEN, &challenge, &error) ||
      !wzp_message_get_address (msg, "observed_addr", TRUE, &observed,
          &error) ||
      !wzp_message_get_address (msg, "probe_addr", FALSE, &probe, &error)) {
    _wzp_signal_client_emit_error (self, g_error_new (WZP_SIGNAL_ERROR,
            WZP_SIGNAL_ERROR_PROTOCOL, "bad hello from the relay: %s",
            error->message));
    return;
  }
  set_observed (self, observed);
  g_clear_object (&self->probe_address);
  if (probe) {
    GInetAddress *host =
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (probe));
    /* An unspecified host means "the host you reached me at". */
    if (g_inet_address_get_is_any (host))
      self->probe_address = g_inet_socket_address_new
          (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS
              (self->relay)),
          g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (probe)));
    else
      self->probe_address = g_object_ref (probe);
  }
  /* Registered already, bound to the TLS exporter; the challenge is for
   * clients that could not. */
  if (!self->register_sent)
    _wzp_signal_client_send_msg (self, wzp_message_new_register (id,
            g_bytes_get_data (challenge, NULL)), FALSE, NULL);
}

static void
handle_registered (WzpSignalClient * self, JsonObject * msg)
{
  g_autoptr (GSocketAddress) observed = NULL;
  g_autoptr (GError) error = NULL;

  /* A media leg was ready when its handshake completed. */
  if (self->media_leg)
    return;
  if (!wzp_message_get_address (msg, "observed_addr", TRUE, &observed, &error)) {
    WZP_WARNING_OBJECT (self, "bad registered message: %s", error->message);
    return;
  }
  set_observed (self, observed);
  self->backoff = self->reconnect_initial;
  _wzp_signal_client_set_state (self, WZP_SIGNAL_STATE_REGISTERED);
  g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_REGISTERED], 0,
      self->observed);
}

static void
handle_error (WzpSignalClient * self, JsonObject * msg)
{
  const char *code = NULL, *text = NULL;

  wzp_message_get_string (msg, "code", TRUE, 64, &code, NULL);
  wzp_message_get_string (msg, "message", FALSE, WZP_MESSAGE_MAX_TEXT_LEN,
      &text, NULL);
  if (code == NULL)
    code = "unknown";
  if (strcmp (code, "superseded") == 0) {
    _wzp_signal_client_give_up (self, WZP_SIGNAL_ERROR_SUPERSEDED,
        "superseded: this identity "
        "registered again from another connection");
  } else if (strcmp (code, "bad-signature") == 0
      || strcmp (code, "identity-mismatch") == 0) {
    g_autofree char *m = g_strdup_printf ("%s: %s", code, text ? text : "");
    _wzp_signal_client_give_up (self, WZP_SIGNAL_ERROR_REFUSED, m);
  } else {
    _wzp_signal_client_emit_error (self, g_error_new (WZP_SIGNAL_ERROR,
            WZP_SIGNAL_ERROR_RELAY, "%s: %s", code, text ? text : ""));
  }
}

/* "media_relay": {"addr", "fingerprint"}, the node hosting a call or
 * room (docs/CLUSTER.md).  FALSE when present but invalid. */
static gboolean
get_media_relay (JsonObject * msg, GSocketAddress ** addr, char **fp,
    GError ** error)
{
  JsonNode *node = json_object_get_member (msg, "media_relay");
  JsonObject *o;
  const char *a, *f;
  g_autofree char *canonical = NULL;

  *addr = NULL;
  *fp = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_WRONG_TYPE,
        "field 'media_relay' is not an object");
    return FALSE;
  }
  o = json_node_get_object (node);
  a = json_object_get_string_member_with_default (o, "addr", NULL);
  f = json_object_get_string_member_with_default (o, "fingerprint", NULL);
  canonical = f ? wzp_fingerprint_normalize (f, NULL) : NULL;
  if (a == NULL || canonical == NULL || strcmp (canonical, f) != 0 ||
      (*addr = wzp_socket_address_parse (a, NULL)) == NULL) {
    g_set_error (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_INVALID_VALUE,
        "field 'media_relay' is not {\"addr\": IP:PORT, \"fingerprint\": "
        "FP}");
    return FALSE;
  }
  *fp = g_steal_pointer (&canonical);
  return TRUE;
}

/* Tells where the media of @scope meets; @always: also when it meets
 * here (a message that sets the media up says so by its silence). */
static gboolean
emit_media_relay (WzpSignalClient * self, const char *scope,
    JsonObject * msg, gboolean always, GError ** error)
{
  g_autoptr (GSocketAddress) addr = NULL;
  g_autofree char *fp = NULL;

  if (!get_media_relay (msg, &addr, &fp, error))
    return FALSE;
  if (addr || always)
    g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_MEDIA_RELAY], 0,
        scope, addr, fp);
  return TRUE;
}

/* The relay drains: it names other relays before it closes (0x103). */
static void
handle_move (WzpSignalClient * self, JsonObject * msg)
{
  g_autoptr (GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  JsonArray *relays = NULL;

  if (!wzp_message_get_array (msg, "relays", WZP_SIGNAL_MAX_RELAYS, &relays,
          NULL)) {
    WZP_WARNING_OBJECT (self, "dropped a bad 'move' from the relay");
    return;
  }
  for (guint i = 0; relays && i < json_array_get_length (relays); i++) {
    JsonNode *e = json_array_get_element (relays, i);
    const char *a = JSON_NODE_HOLDS_OBJECT (e) ?
        json_object_get_string_member_with_default (json_node_get_object (e),
        "addr", NULL) : NULL;
    GSocketAddress *sa = a ? wzp_socket_address_parse (a, NULL) : NULL;

    if (sa)
      g_ptr_array_add (addrs, sa);
  }
  WZP_INFO_OBJECT (self, "the relay drains and names %u others", addrs->len);
  _wzp_signal_client_insert_relays (self, addrs);
}

static void
handle_call_message (WzpSignalClient * self, WzpMessageType type,
    JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *call_id = NULL;

  if (!wzp_message_get_call_id (msg, "call_id", &call_id, &error))
    goto bad;
  switch (type) {
    case WZP_MSG_CALL_RINGING:
      if (!emit_media_relay (self, call_id, msg, FALSE, &error))
        goto bad;
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_CALL_RINGING], 0,
          call_id);
      break;
    case WZP_MSG_CALL_RESUMED:{
      guint64 channel;
      if (!wzp_message_get_uint (msg, "channel", TRUE, G_MAXUINT32, &channel,
              &error) || !emit_media_relay (self, call_id, msg, TRUE, &error))
        goto bad;
      _wzp_signal_client_channel_set (self, call_id, channel, msg);
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_CALL_RESUMED], 0,
          call_id, (guint) channel);
      break;
    }
    case WZP_MSG_CALL_ENDED:{
      const char *reason;
      if (!wzp_message_get_string (msg, "reason", TRUE, 64, &reason, &error))
        goto bad;
      _wzp_signal_client_channel_end (self, call_id);
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_CALL_ENDED], 0,
          call_id, reason);
      break;
    }
    case WZP_MSG_INCOMING_CALL:{
      g_autofree char *from = NULL;
      g_autoptr (GBytes) key = NULL;
      g_autoptr (JsonObject) offer = NULL;
      if (!wzp_message_get_fingerprint (msg, "from", TRUE, &from, &error) ||
          !wzp_message_get_bytes (msg, "from_public_key", TRUE,
              WZP_PUBLIC_KEY_LEN, WZP_PUBLIC_KEY_LEN, &key, &error) ||
          !wzp_message_get_opaque (msg, "offer", TRUE,
              WZP_MESSAGE_MAX_OPAQUE, &offer, &error))
        goto bad;
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_INCOMING_CALL], 0,
          call_id, from, key, offer);
      break;
    }
    case WZP_MSG_CALL_SETUP:{
      WzpCallSetup s = { 0 };
      g_autofree char *peer = NULL;
      g_autoptr (GBytes) key = NULL;
      g_autoptr (JsonObject) blob = NULL;
      g_autoptr (GSocketAddress) reflexive = NULL;
      const char *role;
      const char *peer_nat = NULL;
      guint64 channel;
      if (!wzp_message_get_fingerprint (msg, "peer", TRUE, &peer, &error) ||
          !wzp_message_get_bytes (msg, "peer_public_key", TRUE,
              WZP_PUBLIC_KEY_LEN, WZP_PUBLIC_KEY_LEN, &key, &error) ||
          !wzp_message_get_opaque (msg, "peer_offer_or_answer", TRUE,
              WZP_MESSAGE_MAX_OPAQUE, &blob, &error) ||
          !wzp_message_get_address (msg, "peer_reflexive", FALSE, &reflexive,
              &error) ||
          !wzp_message_get_uint (msg, "channel", TRUE, G_MAXUINT32, &channel,
              &error) ||
          !wzp_message_get_string (msg, "role", TRUE, 16, &role, &error) ||
          !emit_media_relay (self, call_id, msg, TRUE, &error))
        goto bad;
      /* Optional, and only a hint: a missing, malformed or unknown value
       * counts as "unknown" and does not spoil the setup. */
      s.peer_nat = WZP_NAT_TYPE_UNKNOWN;
      if (wzp_message_get_string (msg, "peer_nat", FALSE, 16, &peer_nat,
              NULL) && peer_nat)
        wzp_nat_type_from_string (peer_nat, &s.peer_nat);
      s.call_id = call_id;
      s.peer_fingerprint = peer;
      s.peer_public_key = key;
      s.peer_blob = blob;
      s.peer_reflexive = reflexive;
      s.channel = (guint32) channel;
      s.role = (char *) role;
      _wzp_signal_client_channel_set (self, call_id, s.channel, msg);
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_CALL_SETUP], 0,
          &s);
      break;
    }
    case WZP_MSG_PEER_CANDIDATES:{
      g_auto (GStrv) candidates = NULL;
      g_autoptr (GSocketAddress) reflexive = NULL;
      const char *nat = NULL;
      WzpNatType peer_nat = WZP_NAT_TYPE_UNKNOWN;
      if (!wzp_message_get_address_list (msg, "candidates",
              WZP_MESSAGE_MAX_CANDIDATES, &candidates, &error) ||
          !wzp_message_get_address (msg, "peer_reflexive", FALSE, &reflexive,
              &error))
        goto bad;
      /* A hint, as in call-setup. */
      if (wzp_message_get_string (msg, "peer_nat", FALSE, 16, &nat, NULL) &&
          nat)
        wzp_nat_type_from_string (nat, &peer_nat);
      g_signal_emit (self,
          _wzp_signal_client_signals[SIGNAL_PEER_CANDIDATES], 0, call_id,
          candidates, reflexive, peer_nat);
      break;
    }
    default:
      break;
  }
  return;

bad:
  WZP_WARNING_OBJECT (self, "dropped an invalid message from the relay: %s",
      error->message);
}

static void
handle_room_message (WzpSignalClient * self, WzpMessageType type,
    JsonObject * msg)
{
  g_autoptr (GError) error = NULL;
  const char *room;

  if (!wzp_message_get_room (msg, "room", &room, &error))
    goto bad;
  switch (type) {
    case WZP_MSG_ROOM_JOINED:{
      guint64 channel;
      JsonArray *members;
      if (!wzp_message_get_uint (msg, "channel", TRUE, G_MAXUINT32, &channel,
              &error) ||
          !wzp_message_get_array (msg, "members", 4096, &members, &error) ||
          !emit_media_relay (self, room, msg, TRUE, &error))
        goto bad;
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_ROOM_JOINED], 0,
          room, (guint) channel, members);
      break;
    }
    case WZP_MSG_ROOM_LEFT:
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_ROOM_LEFT], 0,
          room);
      break;
    case WZP_MSG_ROOM_UPDATE:{
      const char *event;
      g_autofree char *fp = NULL;
      g_autoptr (GBytes) key = NULL;
      g_autoptr (JsonObject) blob = NULL;
      if (!wzp_message_get_string (msg, "event", TRUE, 16, &event, &error) ||
          !wzp_message_get_fingerprint (msg, "fingerprint", TRUE, &fp,
              &error) ||
          !wzp_message_get_bytes (msg, "public_key", FALSE,
              WZP_PUBLIC_KEY_LEN, WZP_PUBLIC_KEY_LEN, &key, &error) ||
          !wzp_message_get_opaque (msg, "key_blob", FALSE,
              WZP_MESSAGE_MAX_KEY_BLOB, &blob, &error))
        goto bad;
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_ROOM_UPDATE], 0,
          room, event, fp, key, blob);
      break;
    }
    case WZP_MSG_ROOM_MESSAGE:{
      g_autofree char *from = NULL;
      g_autoptr (JsonObject) body = NULL;
      if (!wzp_message_get_fingerprint (msg, "from", TRUE, &from, &error) ||
          !wzp_message_get_opaque (msg, "body", TRUE, WZP_MESSAGE_MAX_OPAQUE,
              &body, &error))
        goto bad;
      g_signal_emit (self, _wzp_signal_client_signals[SIGNAL_ROOM_MESSAGE], 0,
          room, from, body);
      break;
    }
    default:
      break;
  }
  return;

bad:
  WZP_WARNING_OBJECT (self, "dropped an invalid message from the relay: %s",
      error->message);
}

void
_wzp_signal_client_on_message (WzpConnection * conn, GBytes * bytes,
    gpointer user_data)
{
  WzpSignalClient *self = user_data;
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  WzpMessageType type;

  msg = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), &type, &error);
  if (msg == NULL) {
    WZP_WARNING_OBJECT (self, "dropped a message from the relay: %s",
        error->message);
    return;
  }
  WZP_LOG_OBJECT (self, "<- %s", wzp_message_type_to_string (type));
  g_object_ref (self);
  switch (type) {
    case WZP_MSG_HELLO:
      handle_hello (self, msg);
      break;
    case WZP_MSG_REGISTERED:
      handle_registered (self, msg);
      break;
    case WZP_MSG_ERROR:
      handle_error (self, msg);
      break;
    case WZP_MSG_REFLECTED:{
      g_autoptr (GSocketAddress) observed = NULL;
      if (wzp_message_get_address (msg, "observed_addr", TRUE, &observed, NULL))
        set_observed (self, observed);
      break;
    }
    case WZP_MSG_PROBE_RESULT:
      handle_probe_result (self, msg);
      break;
    case WZP_MSG_CALL_RINGING:
    case WZP_MSG_CALL_RESUMED:
    case WZP_MSG_INCOMING_CALL:
    case WZP_MSG_CALL_SETUP:
    case WZP_MSG_CALL_ENDED:
    case WZP_MSG_PEER_CANDIDATES:
      handle_call_message (self, type, msg);
      break;
    case WZP_MSG_ROOM_JOINED:
    case WZP_MSG_ROOM_LEFT:
    case WZP_MSG_ROOM_UPDATE:
    case WZP_MSG_ROOM_MESSAGE:
      handle_room_message (self, type, msg);
      break;
    case WZP_MSG_MOVE:
      handle_move (self, msg);
      break;
    default:
      WZP_WARNING_OBJECT (self, "unexpected '%s' from the relay",
          wzp_message_type_to_string (type));
      break;
  }
  g_object_unref (self);
}

void
_wzp_signal_client_on_datagram (WzpConnection * conn, const guint8 * data,
    gsize len, gpointer user_data)
{
  WzpSignalClient *self = user_data;
  guint32 channel;

  if (len < WZP_RELAY_MEDIA_HEADER_LEN || data[0] != WZP_RELAY_MEDIA_TYPE ||
      self->media_func == NULL)
    return;
  memcpy (&channel, data + 1, sizeof channel);
  self->media_func (self, GUINT32_FROM_BE (channel),
      data + WZP_RELAY_MEDIA_HEADER_LEN, len - WZP_RELAY_MEDIA_HEADER_LEN,
      self->media_data);
}
