/* wzp — the relay: object, connections, registration, message dispatch
 *
 * The core.  Its helpers: the registration table as calls, rooms and
 * probes see it (wzp-relay-registry.c), calls (wzp-relay-calls.c), rooms
 * (wzp-relay-rooms.c), NAT probes (wzp-relay-probes.c), the relay's own
 * limits (wzp-relay-limits.c), the registration deadline queue
 * (wzp-relay-deadlines.c) and metrics (wzp-relay-metrics.c,
 * wzp-relay-process.c).
 *
 * Ownership rules that fix the original's bugs:
 * - a connection may register only the identity its TLS client
 *   certificate proves, and must sign the relay's fresh challenge with it;
 * - registrations map a fingerprint to ONE connection; a newer one
 *   supersedes the older, and a closing connection removes the
 *   registration only if it is still that connection's;
 * - calls and room memberships belong to fingerprints, so they survive a
 *   reconnect and end only when the current registration goes away.
 *
 * In a cluster (WzpRelay:redis-url, wzp-relay-cluster.c) a client's
 * requests about a call or room hosted at another node go there; what
 * other nodes route here runs through the same handlers, with a stub for
 * the client.  A media leg (a client's second connection, for the media
 * of its calls hosted here) is not a registration.  Draining
 * (wzp-relay-drain.c) refuses registrations and moves idle clients.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-private.h"
#include "wzp-relay-cluster.h"
#include "wzp-relay-drain.h"
#include "wzp-log-private.h"
#include "wzp-random.h"

#include <sched.h>
#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

/* See wzp_relay_start(). */
#define WZP_RELAY_ACK_THRESHOLD 8
/* Let client ACKs ride on the datagrams the relay forwards to them
 * (WzpEndpoint:ack-hold). */
#define WZP_RELAY_ACK_HOLD (20 * WZP_NSEC_PER_MSEC)

enum
{
  PROP_0,
  PROP_CONTEXT,
  PROP_IDENTITY,
  PROP_CLOCK,
  PROP_LISTEN_ADDRESS,
  PROP_PROBE_ADDRESS,
  PROP_METRICS_ADDRESS,
  PROP_MEDIA_ADDRESS,
  PROP_MEDIA_ADVERTISE,
  PROP_WORKERS,
  PROP_RING_TIMEOUT,
  PROP_MAX_REGISTRATIONS,
  PROP_MAX_ROOM_MEMBERS,
  PROP_MAX_REGISTRATIONS_PER_SOURCE,
  PROP_REGISTRATION_TIMEOUT,
  PROP_MAX_PENDING_PROBES,
  PROP_MAX_PENDING_PROBES_PER_CLIENT,
  PROP_MESSAGE_RATE,
  PROP_MESSAGE_BURST,
  PROP_REDIS_URL,
  PROP_REDIS_PASSWORD,
  PROP_ADVERTISE_ADDRESS,
  PROP_DRAIN_TIMEOUT,
  PROP_DRAINING,
  /* passed on to the endpoint (endpoint_props) */
  PROP_MAX_CONNECTIONS,
  PROP_MAX_CONNECTIONS_PER_SOURCE,
  PROP_MAX_HALF_OPEN,
  PROP_MAX_HALF_OPEN_PER_SOURCE,
  PROP_RETRY,
  PROP_RETRY_THRESHOLD,
  PROP_RETRY_THRESHOLD_PER_SOURCE,
  PROP_HANDSHAKE_TIMEOUT,
  N_PROPS
};

/* Relay properties that are WzpEndpoint properties of the same name: the
 * relay keeps their values until it makes its endpoint, then sets them
 * there (and passes later changes on). */
#define FIRST_ENDPOINT_PROP PROP_MAX_CONNECTIONS
static const char *const endpoint_props[] = {
  "max-connections", "max-connections-per-source", "max-half-open",
  "max-half-open-per-source", "retry", "retry-threshold",
  "retry-threshold-per-source", "handshake-timeout",
};

G_STATIC_ASSERT (G_N_ELEMENTS (endpoint_props) == N_PROPS -
    FIRST_ENDPOINT_PROP);

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_DRAINED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (WzpRelay, wzp_relay, G_TYPE_OBJECT);

/* --- closing a connection after its last message went out ------------- */

typedef struct
{
  WzpConnection *conn;
  guint64 code;
  const char *reason;
} LaterClose;

static gboolean
close_later_cb (gpointer data)
{
  LaterClose *l = data;

  wzp_connection_close (l->conn, l->code, l->reason);
  return G_SOURCE_REMOVE;
}

static void
later_close_free (gpointer data)
{
  LaterClose *l = data;

  g_object_unref (l->conn);
  g_free (l);
}

/* Messages are flushed by the endpoint at default priority; close at a
 * lower one so the error message leaves before CONNECTION_CLOSE. */
static void
close_later (WzpRelay * self, WzpConnection * conn, guint64 code,
    const char *reason)
{
  LaterClose *l = g_new0 (LaterClose, 1);
  GSource *s = g_idle_source_new ();

  l->conn = g_object_ref (conn);
  l->code = code;
  l->reason = reason;
  g_source_set_priority (s, G_PRIORITY_LOW);
  g_source_set_callback (s, close_later_cb, l, later_close_free);
  g_source_attach (s, self->context);
  g_source_unref (s);
}

/* --- registration ----------------------------------------------------- */

/* The registration of @c no longer counts against its source. */
static void
uncount (WzpRelay * self, RelayClient * c)
{
  if (c->counted) {
    c->counted = FALSE;
    relay_limits_registration_removed (&self->limits, &c->source);
  }
}

static void
unregister (WzpRelay * self, RelayClient * c)
{
  uncount (self, c);
  if (!c->registered)
    return;
  c->registered = FALSE;
  if (g_hash_table_lookup (self->registrations, c->fp) != c)
    return;
  g_hash_table_remove (self->registrations, c->fp);
  self->registrations_gen++;
  self->stats.registrations = g_hash_table_size (self->registrations);
  WZP_INFO_OBJECT (self, "%s unregistered (%s)%s", c->fp, c->observed,
      c->moved ? ": moved to another node" : "");
  relay_cluster_unregistered (self->cluster, c);
  /* A client that moved to another node takes its calls and rooms along
   * (it resumes them from there). */
  if (c->moved)
    return;
  /* Only the current registration's end ends the fingerprint's calls. */
  _wzp_relay_calls_peer_gone (self, c->fp);
  _wzp_relay_rooms_peer_gone (self, c->fp);
}

/* A media leg closed, or a newer one took over. */
static void
drop_leg (WzpRelay * self, RelayClient * c)
{
  uncount (self, c);
  if (!c->registered)
    return;
  c->registered = FALSE;
  if (g_hash_table_lookup (self->media_legs, c->fp) != c)
    return;
  g_hash_table_remove (self->media_legs, c->fp);
  self->registrations_gen++;
  self->stats.media_legs = g_hash_table_size (self->media_legs);
  WZP_INFO_OBJECT (self, "%s: media leg from %s closed", c->fp, c->observed);
}

/* The relay's registration limits: a new identity needs room overall and
 * in its source; taking over an identity (@old, another connection of the
 * same fingerprint) adds none overall, and none to a source it already
 * counted in.  A refused client gets "too-many" and its connection is
 * closed with WZP_CLOSE_LIMIT, so it retries later with backoff. */
static gboolean
registration_allowed (WzpRelay * self, RelayClient * c, RelayClient * old,
    JsonObject * msg)
{
  RelayRefusal why;
  guint overall = g_hash_table_size (self->registrations);
  char src[WZP_SOURCE_STRLEN];

  if (old && old->counted && wzp_source_equal (&old->source, &c->source))
    return TRUE;
  /* Taking over an identity does not add a registration overall. */
  if (old)
    overall = 0;
  if (relay_limits_registration_allowed (&self->limits, &c->source, overall,
          &why))
    return TRUE;
  RELAY_REFUSE (self, why, "%s: refused the registration of %s from %s "
      "(source %s)", relay_refusal_name (why), c->fp, c->observed,
      wzp_source_to_string (&c->source, src));
  _wzp_relay_send_error (self, c, "too-many",
      why == RELAY_REFUSED_MAX_REGISTRATIONS ?
      "the relay has too many registrations" :
      "too many registrations from your network", msg);
  c->refused = TRUE;
  close_later (self, c->conn, WZP_CLOSE_LIMIT, relay_refusal_name (why));
  return FALSE;
}

/* Tells @c to register at another node (with the ones we know) and
 * closes its connection with 0x103: draining. */
static void
move_client (WzpRelay * self, RelayClient * c, const char *why)
{
  JsonArray *relays = self->cluster ?
      relay_cluster_other_relays (self->cluster) : json_array_new ();

  WZP_INFO_OBJECT (self, "moving %s (%s) to another node: %s", c->fp,
      c->observed, why);
  c->moved = TRUE;
  _wzp_relay_send (self, c, wzp_message_new_move (relays));
  close_later (self, c->conn, WZP_CLOSE_SHUTDOWN, "draining");
}

/* A media leg: the client's second connection, to this node, for the
 * media of its calls and rooms hosted here (docs/CLUSTER.md).  The TLS
 * handshake proved its identity (a client certificate made from the
 * identity key, verified against it); it needs no challenge, so its
 * media may follow its first flight.  A leg counts against the
 * registration limits like a registration. */
static void
handle_leg (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  RelayClient *old = g_hash_table_lookup (self->media_legs, c->fp);
  JsonObject *reply;
  guint32 req;

  if (!registration_allowed (self, c, old, msg))
    return;
  if (old && old != c) {
    WZP_DEBUG_OBJECT (self, "%s: a new media leg from %s replaces %s", c->fp,
        c->observed, old->observed);
    old->registered = FALSE;
    uncount (self, old);
    close_later (self, old->conn, WZP_CLOSE_NORMAL, "a newer media leg");
  }
  g_hash_table_replace (self->media_legs, c->fp, c);
  self->registrations_gen++;
  c->media_leg = TRUE;
  c->registered = TRUE;
  if (!c->counted) {
    c->counted = TRUE;
    relay_limits_registration_added (&self->limits, &c->source);
  }
  if (c->deadline) {
    relay_deadlines_remove (self->deadlines, c->deadline);
    c->deadline = NULL;
  }
  self->stats.media_legs = g_hash_table_size (self->media_legs);
  WZP_INFO_OBJECT (self, "%s: media leg from %s", c->fp, c->observed);
  reply = wzp_message_new_registered (c->fp, c->observed);
  if (wzp_message_get_req (msg, &req))
    wzp_message_set_re (reply, req);
  _wzp_relay_send (self, c, reply);
  _wzp_relay_calls_leg_ready (self, c->fp);
}

static void
handle_register (WzpRelay * self, RelayClient * c, JsonObject * msg)
{
  g_autoptr (GBytes) pk = NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) signed_data = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key_fp = NULL;
  const char *binding = NULL;
  RelayClient *old;
  guint32 req;

  if (!wzp_message_get_bytes (msg, "public_key", TRUE, WZP_PUBLIC_KEY_LEN,
          WZP_PUBLIC_KEY_LEN, &pk, &error) ||
      !wzp_message_get_bytes (msg, "signature", TRUE, WZP_SIGNATURE_LEN,
          WZP_SIGNATURE_LEN, &sig, &error) ||
      !wzp_message_get_string (msg, "binding", FALSE, 32, &binding, &error)) {
    _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
    return;
  }
  if (binding && strcmp (binding, WZP_REGISTER_BINDING_EXPORTER) != 0) {
    _wzp_relay_send_error (self, c, "bad-message",
        "register: unknown binding", msg);
    return;
  }
  key_fp = wzp_fingerprint_from_public_key (g_bytes_get_data (pk, NULL));
  if (!wzp_fingerprint_equal (key_fp, c->fp)) {
    g_autofree char *text = g_strdup_printf ("key %s is not the identity "
        "%s this connection proved in TLS", key_fp, c->fp);
    self->stats.registrations_refused++;
    _wzp_relay_send_error (self, c, "identity-mismatch", text, msg);
    c->refused = TRUE;
    close_later (self, c->conn, WZP_CLOSE_REFUSED, "identity-mismatch");
    return;
  }
  if (binding) {
    /* Bound to this connection's TLS keys (PROTOCOL.md §3): no challenge
     * round trip, and just as unreplayable. */
    guint8 exporter[WZP_REGISTER_BINDING_LEN];
    if (!wzp_connection_export_keying_material (c->conn,
            WZP_REGISTER_EXPORTER_LABEL, exporter, sizeof exporter, &error)) {
      _wzp_relay_send_error (self, c, "bad-message", error->message, msg);
      return;
    }
    signed_data = wzp_register_bound_signed_data (exporter,
        g_bytes_get_data (pk, NULL));
  } else {
    signed_data = wzp_register_signed_data (c->challenge,
        g_bytes_get_data (pk, NULL));
  }
  if (!wzp_identity_verify (g_bytes_get_data (pk, NULL),
          g_bytes_get_data (signed_data, NULL),
          g_bytes_get_size (signed_data), g_bytes_get_data (sig, NULL),
          g_bytes_get_size (sig), &error)) {
    self->stats.registrations_refused++;
    _wzp_relay_send_error (self, c, "bad-signature",
        "the signature over the challenge does not verify", msg);
    c->refused = TRUE;
    close_later (self, c->conn, WZP_CLOSE_REFUSED, "bad-signature");
    return;
  }

  old = g_hash_table_lookup (self->registrations, c->fp);
  if (old != c && self->draining) {
    move_client (self, c, "draining");
    return;
  }
  if (old != c && !registration_allowed (self, c, old, msg))
    return;
  if (old && old != c) {
    WZP_INFO_OBJECT (self, "%s: new connection from %s supersedes %s", c->fp,
        c->observed, old->observed);
    old->registered = FALSE;
    old->superseded = TRUE;
    uncount (self, old);
    self->stats.registrations_superseded++;
    _wzp_relay_send_error (self, old, "superseded",
        "this identity registered again from another connection", NULL);
    close_later (self, old->conn, WZP_CLOSE_SUPERSEDED, "superseded");
  }
  if (old != c) {
    g_hash_table_replace (self->registrations, c->fp, c);
    self->registrations_gen++;
    self->stats.registrations_total++;
    WZP_INFO_OBJECT (self, "%s registered from %s", c->fp, c->observed);
    relay_cluster_registered (self->cluster, c);
  }
  c->registered = TRUE;
  if (!c->counted) {
    c->counted = TRUE;
    relay_limits_registration_added (&self->limits, &c->source);
  }
  if (c->deadline) {
    relay_deadlines_remove (self->deadlines, c->deadline);
    c->deadline = NULL;
  }
  self->stats.registrations = g_hash_table_size (self->registrations);
  {
    JsonObject *reply = wzp_message_new_registered (c->fp, c->observed);
    if (wzp_message_get_req (msg, &req))
      wzp_message_set_re (reply, req);
    _wzp_relay_send (self, c, reply);
  }
}

/* --- dispatch --------------------------------------------------------- */

static const char *
parse_error_code (const GError * error)
{
  if (g_error_matches (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_TOO_LARGE))
    return "too-large";
  if (g_error_matches (error, WZP_MESSAGE_ERROR,
          WZP_MESSAGE_ERROR_UNKNOWN_TYPE))
    return "unknown-type";
  if (g_error_matches (error, WZP_MESSAGE_ERROR, WZP_MESSAGE_ERROR_VERSION))
    return "bad-version";
  return "bad-message";
}

/* The address we see @c at: its connection migrates when the client's
 * network changes (a new address, a NAT's new mapping), and what we tell
 * it (reflected) and its peers (call-setup, peer-candidates) must follow.
 * Every message from it is a moment to look. */
static void
refresh_observed (WzpRelay * self, RelayClient * c)
{
  g_autoptr (GSocketAddress) remote =
      wzp_connection_get_remote_address (c->conn);
  char now[WZP_ADDR_STRLEN];
  WzpAddr addr;

  if (remote == NULL || !wzp_addr_from_gsocketaddress (&addr, remote))
    return;
  wzp_addr_to_string (&addr, now);
  if (strcmp (now, c->observed) == 0)
    return;
  WZP_INFO_OBJECT (self, "%s moved: %s -> %s", c->fp, c->observed, now);
  memcpy (c->observed, now, sizeof now);
}

/* The per-connection message budget (message-rate, message-burst).
 * Over it, messages are dropped unread: parsing and answering them is
 * the cost being limited.  The client hears "rate-limited" at most once
 * per second, so the refusal itself stays cheap. */
static gboolean
message_allowed (WzpRelay * self, RelayClient * c)
{
  guint64 now = wzp_clock_get_time (self->clock);

  if (relay_rate_take (&c->rate, now, self->limits.message_rate,
          self->limits.message_burst))
    return TRUE;
  RELAY_REFUSE (self, RELAY_REFUSED_MESSAGE_RATE, "message-rate: dropping "
      "messages from %s (%s) over %u/s (burst %u)", c->fp, c->observed,
      self->limits.message_rate, self->limits.message_burst);
  if (c->rate_error_at == 0 || now >= c->rate_error_at + WZP_NSEC_PER_SEC) {
    c->rate_error_at = now;
    _wzp_relay_send_error (self, c, "rate-limited",
        "too many messages: some were dropped", NULL);
  }
  return FALSE;
}

/* A registered client's request (a local one, or a stub of a client of
 * another node whose request that node routed here). */
static void
dispatch (WzpRelay * self, RelayClient * c, WzpMessageType type,
    JsonObject * msg)
{
  switch (type) {
    case WZP_MSG_REFLECT:
      _wzp_relay_handle_reflect (self, c, msg);
      break;
    case WZP_MSG_PROBE_REQUEST:
      _wzp_relay_handle_probe_request (self, c, msg);
      break;
    case WZP_MSG_CALL:
      _wzp_relay_handle_call (self, c, msg);
      break;
    case WZP_MSG_ANSWER:
      _wzp_relay_handle_answer (self, c, msg);
      break;
    case WZP_MSG_REJECT:
      _wzp_relay_handle_reject (self, c, msg);
      break;
    case WZP_MSG_HANGUP:
      _wzp_relay_handle_hangup (self, c, msg);
      break;
    case WZP_MSG_UPDATE_CANDIDATES:
      _wzp_relay_handle_update_candidates (self, c, msg);
      break;
    case WZP_MSG_RESUME_CALL:
      _wzp_relay_handle_resume_call (self, c, msg);
      break;
    case WZP_MSG_JOIN_ROOM:
      _wzp_relay_handle_join_room (self, c, msg);
      break;
    case WZP_MSG_LEAVE_ROOM:
      _wzp_relay_handle_leave_room (self, c, msg);
      break;
    case WZP_MSG_ROOM_MESSAGE:
      _wzp_relay_handle_room_message (self, c, msg);
      break;
    case WZP_MSG_CHANNEL_REBIND:
      _wzp_relay_handle_channel_rebind (self, c, msg);
      break;
    default:{
      g_autofree char *text = g_strdup_printf ("'%s' is not a client request",
          wzp_message_type_to_string (type));
      _wzp_relay_send_error (self, c, "unexpected-type", text, msg);
      break;
    }
  }
}

static void
on_message (WzpConnection * conn, GBytes * bytes, gpointer user_data)
{
  RelayClient *c = user_data;
  WzpRelay *self = c->relay;
  g_autoptr (JsonObject) msg = NULL;
  g_autoptr (GError) error = NULL;
  WzpMessageType type;

  self->stats.messages_received++;
  if (c->superseded || c->refused)
    return;
  if (!message_allowed (self, c))
    return;
  msg = wzp_message_parse (g_bytes_get_data (bytes, NULL),
      g_bytes_get_size (bytes), &type, &error);
  if (msg == NULL) {
    _wzp_relay_send_error (self, c, parse_error_code (error), error->message,
        NULL);
    return;
  }
  WZP_LOG_OBJECT (self, "<- %s: %s", c->fp, wzp_message_type_to_string (type));
  refresh_observed (self, c);
  if (type != WZP_MSG_REGISTER && type != WZP_MSG_LEG && !c->registered) {
    _wzp_relay_send_error (self, c, "not-registered",
        "register first; only 'register' is allowed before", msg);
    return;
  }
  if (type == WZP_MSG_LEG && !c->registered) {
    handle_leg (self, c, msg);
    return;
  }
  if (type == WZP_MSG_REGISTER && !c->media_leg) {
    handle_register (self, c, msg);
    return;
  }
  /* A media leg carries its call's media channel here: when the channel
   * stops answering, the leg is where it asks to bind it again. */
  if (type == WZP_MSG_CHANNEL_REBIND && c->media_leg) {
    _wzp_relay_handle_channel_rebind (self, c, msg);
    return;
  }
  if (c->media_leg || type == WZP_MSG_REGISTER || type == WZP_MSG_LEG) {
    g_autofree char *text = g_strdup_printf ("'%s' is not for %s",
        wzp_message_type_to_string (type), c->media_leg ? "a media leg" :
        "a registered connection");
    _wzp_relay_send_error (self, c, "unexpected-type", text, msg);
    return;
  }
  /* About a call or room hosted at another node: it goes there. */
  if (relay_cluster_route (self->cluster, c, type, msg))
    return;
  dispatch (self, c, type, msg);
}

static void
on_message_too_large (WzpConnection * conn, guint64 size, gpointer user_data)
{
  RelayClient *c = user_data;
  g_autofree char *text = g_strdup_printf ("message of %" G_GUINT64_FORMAT
      " bytes exceeds the %d byte limit", size, WZP_MESSAGE_MAX_SIZE);

  /* Skipping costs little, answering does: the same budget applies. */
  if (!message_allowed (c->relay, c))
    return;
  _wzp_relay_send_error (c->relay, c, "too-large", text, NULL);
}

static void
on_datagram (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  RelayClient *c = user_data;

  _wzp_relay_forward_media (c->relay, c, data, len);
}

static void
client_free (gpointer p)
{
  RelayClient *c = p;

  if (c->deadline)
    relay_deadlines_remove (c->relay->deadlines, c->deadline);

  g_signal_handler_disconnect (c->conn, c->message_id);
  g_signal_handler_disconnect (c->conn, c->too_large_id);
  g_signal_handler_disconnect (c->conn, c->closed_id);
  wzp_connection_set_datagram_handler (c->conn, NULL, NULL, NULL);
  g_object_unref (c->conn);
  g_free (c->fp);
  g_free (c);
}

static void
on_closed (WzpConnection * conn, const GError * reason, gpointer user_data)
{
  RelayClient *c = user_data;
  WzpRelay *self = c->relay;

  WZP_INFO_OBJECT (self, "connection from %s (%s) closed: %s", c->observed,
      c->fp, reason->message);
  if (c->media_leg)
    drop_leg (self, c);
  else
    unregister (self, c);
  uncount (self, c);
  g_hash_table_remove (self->clients, conn);
  self->stats.connections = g_hash_table_size (self->clients);
}

/* The relay counts each client's silence itself (wzp-connection-silence.c
 * says why): a client whose media rides the media port is silent on QUIC
 * but for its keep-alives, and anything the relay sent it after it died
 * pushed its death from idle-timeout to up to twice that (its peer heard
 * "peer-gone" 2 or 5.5 s after the kill).  The idle timeout in force
 * without a packet from a client, and its connection is closed. */
#define SILENCE_CHECK (250 * WZP_NSEC_PER_MSEC)

static gboolean
watch_silence (gpointer data)
{
  WzpRelay *self = data;
  guint64 now = wzp_clock_get_time (self->clock);
  g_autoptr (GPtrArray) silent = g_ptr_array_new_with_free_func
      (g_object_unref);
  GHashTableIter it;
  RelayClient *c;

  wzp_timer_source_set_deadline (self->silence_timer, now + SILENCE_CHECK);
  g_hash_table_iter_init (&it, self->clients);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) & c)) {
    guint64 idle, silent_ns;

    if (c->conn == NULL ||
        wzp_connection_get_state (c->conn) != WZP_CONNECTION_STATE_CONNECTED)
      continue;
    silent_ns = wzp_connection_silence_update (&c->silence, c->conn, now);
    idle = wzp_connection_get_idle_timeout (c->conn);
    if (idle && silent_ns >= idle) {
      WZP_INFO_OBJECT (self, "nothing heard from %s (%s) for %"
          G_GUINT64_FORMAT " ms: closing its connection", c->fp, c->observed,
          silent_ns / WZP_NSEC_PER_MSEC);
      g_ptr_array_add (silent, g_object_ref (c->conn));
    }
  }
  /* Closing emits "closed", which removes the client from the table. */
  for (guint i = 0; i < silent->len; i++)
    wzp_connection_close (g_ptr_array_index (silent, i), WZP_CLOSE_NORMAL,
        "nothing heard from you");
  return G_SOURCE_CONTINUE;
}

static void
start_silence_watch (WzpRelay * self)
{
  self->silence_timer = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->silence_timer, watch_silence, self, NULL);
  g_source_set_name (self->silence_timer, "WzpRelay silence");
  g_source_attach (self->silence_timer, self->context);
  wzp_timer_source_set_deadline (self->silence_timer,
      wzp_clock_get_time (self->clock) + SILENCE_CHECK);
}

static void
stop_silence_watch (WzpRelay * self)
{
  if (self->silence_timer) {
    g_source_destroy (self->silence_timer);
    g_clear_pointer (&self->silence_timer, g_source_unref);
  }
}

/* A connection did not register in time (RelayDeadlineFunc).  Without
 * this, a connection that finished its handshake and never registered
 * stayed open for ever: the client's keep-alives beat the idle timeout. */
static void
on_registration_deadline (gpointer item, gpointer user_data)
{
  RelayClient *c = item;
  WzpRelay *self = user_data;

  c->deadline = NULL;
  if (c->registered || c->refused || c->superseded)
    return;
  RELAY_REFUSE (self, RELAY_REFUSED_REGISTRATION_TIMEOUT,
      "registration-timeout: closing the connection from %s (%s): no "
      "registration within %" G_GUINT64_FORMAT " ms", c->observed, c->fp,
      self->limits.registration_timeout_ns / WZP_NSEC_PER_MSEC);
  _wzp_relay_send_error (self, c, "registration-timeout",
      "no registration in time", NULL);
  c->refused = TRUE;
  close_later (self, c->conn, WZP_CLOSE_LIMIT, "registration-timeout");
}

static void
on_incoming (WzpEndpoint * ep, WzpConnection * conn, gpointer user_data)
{
  WzpRelay *self = user_data;
  RelayClient *c = g_new0 (RelayClient, 1);
  g_autoptr (GSocketAddress) remote = wzp_connection_get_remote_address (conn);
  g_autofree char *probe = NULL;
  WzpAddr addr;

  c->relay = self;
  c->conn = g_object_ref (conn);
  wzp_connection_silence_reset (&c->silence, wzp_clock_get_time (self->clock));
  c->fp = g_strdup (wzp_connection_get_peer_fingerprint (conn));
  wzp_connection_get_peer_public_key (conn, c->public_key);
  wzp_random_bytes (c->challenge, sizeof c->challenge);
  c->nat = "unknown";
  if (remote && wzp_addr_from_gsocketaddress (&addr, remote)) {
    wzp_addr_to_string (&addr, c->observed);
    wzp_source_from_addr (&c->source, &addr);
  } else {
    g_strlcpy (c->observed, "0.0.0.0:0", sizeof c->observed);
  }
  /* It must register within registration-timeout of this hello. */
  c->deadline = relay_deadlines_add (self->deadlines, c,
      wzp_clock_get_time (self->clock) + self->limits.registration_timeout_ns);
  c->message_id = g_signal_connect (conn, "message", G_CALLBACK (on_message),
      c);
  c->too_large_id = g_signal_connect (conn, "message-too-large",
      G_CALLBACK (on_message_too_large), c);
  c->closed_id = g_signal_connect (conn, "closed", G_CALLBACK (on_closed), c);
  wzp_connection_set_datagram_handler (conn, on_datagram, c, NULL);
  g_hash_table_insert (self->clients, conn, c);
  self->stats.connections = g_hash_table_size (self->clients);
  WZP_INFO_OBJECT (self, "connection from %s (%s)", c->observed, c->fp);

  if (self->probe_endpoint) {
    g_autoptr (GSocketAddress) pa = wzp_relay_get_probe_address (self);
    probe = wzp_socket_address_to_string (pa);
  }
  _wzp_relay_send (self, c, wzp_message_new_hello
      (wzp_identity_get_fingerprint (self->identity), c->challenge,
          c->observed, probe));
}

/* --- the cluster's and the drain's hooks ------------------------------ */

static void
cluster_dispatch (WzpRelay * self, RelayClient * c, WzpMessageType type,
    JsonObject * msg)
{
  dispatch (self, c, type, msg);
}

/* @fp registered at another node: as when a new connection supersedes an
 * old one here, its calls and rooms stay (they move with it). */
static void
cluster_superseded (WzpRelay * self, const char *fp)
{
  RelayClient *c = g_hash_table_lookup (self->registrations, fp);

  if (c == NULL)
    return;
  WZP_INFO_OBJECT (self, "%s registered at another node: superseding its "
      "registration here (%s)", fp, c->observed);
  self->stats.registrations_superseded++;
  c->moved = TRUE;
  c->superseded = TRUE;
  unregister (self, c);
  _wzp_relay_send_error (self, c, "superseded",
      "this identity registered again at another relay node", NULL);
  close_later (self, c->conn, WZP_CLOSE_SUPERSEDED, "superseded");
}

static void
cluster_gone (WzpRelay * self, const char *fp)
{
  if (g_hash_table_contains (self->registrations, fp))
    return;
  _wzp_relay_calls_peer_gone (self, fp);
  _wzp_relay_rooms_peer_gone (self, fp);
}

static const RelayClusterHooks cluster_hooks = {
  cluster_dispatch,
  cluster_superseded,
  cluster_gone,
};

static void
drain_move (WzpRelay * self, RelayClient * c, const char *why)
{
  if (c->media_leg) {
    c->moved = TRUE;
    close_later (self, c->conn, WZP_CLOSE_SHUTDOWN, "draining");
    return;
  }
  move_client (self, c, why);
}

static gboolean
emit_drained (gpointer data)
{
  WzpRelay *self = data;

  g_signal_emit (self, signals[SIGNAL_DRAINED], 0);
  return G_SOURCE_REMOVE;
}

static void
drain_done (WzpRelay * self, gboolean forced)
{
  GSource *s;

  /* Calls still here were moved: their parties resume them at another
   * node, which must be able to claim them. */
  if (forced) {
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init (&it, self->calls);
    while (g_hash_table_iter_next (&it, &key, NULL))
      relay_cluster_call_hosted (self->cluster, key, FALSE);
  }
  /* After the moves' CONNECTION_CLOSEs (they wait for an idle). */
  s = g_idle_source_new ();
  g_source_set_priority (s, G_PRIORITY_LOW);
  g_source_set_callback (s, emit_drained, g_object_ref (self), g_object_unref);
  g_source_attach (s, self->context);
  g_source_unref (s);
}

static const RelayDrainHooks drain_hooks = {
  drain_move,
  drain_done,
};

/**
 * wzp_relay_drain:
 * @timeout_ns: after this, the clients still in calls are moved too
 *
 * Starts draining a node of a cluster: new registrations are refused
 * (told to move), idle clients are told to move at once (with the other
 * nodes' addresses) and the others when their calls and rooms here end.
 * #WzpRelay::drained is emitted when nothing is left, at the latest at
 * @timeout_ns.  A relay without a cluster has nowhere to send its
 * clients: it returns %FALSE and does nothing (stop it).
 *
 * Returns: %TRUE if draining (or drained already)
 */
gboolean
wzp_relay_drain (WzpRelay * self, guint64 timeout_ns)
{
  g_return_val_if_fail (WZP_IS_RELAY (self), FALSE);

  if (self->cluster == NULL || !self->started)
    return FALSE;
  if (self->draining)
    return TRUE;
  self->draining = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DRAINING]);
  relay_cluster_set_draining (self->cluster, TRUE);
  self->drain = relay_drain_new (self, timeout_ns, &drain_hooks);
  return TRUE;
}

/**
 * wzp_relay_is_clustered:
 *
 * Returns: whether this relay is a node of a cluster (#WzpRelay:redis-url)
 */
gboolean
wzp_relay_is_clustered (WzpRelay * self)
{
  return self->cluster != NULL;
}

/* --- start / stop ----------------------------------------------------- */

static void stop_media (WzpRelay * self);
static void free_media (WzpRelay * self);

static WzpEndpoint *
make_endpoint (WzpRelay * self, const char *address, GError ** error)
{
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (WzpEndpoint) ep = NULL;
  g_autoptr (GError) local = NULL;

  addr = wzp_socket_address_parse (address, &local);
  if (addr == NULL) {
    g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_ADDRESS,
        "bad address '%s': %s", address, local->message);
    return NULL;
  }
  ep = wzp_endpoint_new (self->context, self->identity, self->clock, error);
  if (ep == NULL || !wzp_endpoint_bind (ep, addr, error))
    return NULL;
  return g_steal_pointer (&ep);
}

/* The media port's address: media-address, or by default the listen
 * address's host with port + 2 (0 when the listen port is 0); FALSE with
 * nothing set for "none" or "". */
static gboolean
media_bind_address (WzpRelay * self, WzpAddr * addr, GError ** error)
{
  g_autoptr (GError) local = NULL;
  const char *text = self->media_address;

  if (text && (*text == '\0' || g_str_equal (text, "none")))
    return FALSE;
  if (text == NULL) {
    guint16 port;

    if (!wzp_addr_parse (addr, self->listen_address, NULL))
      return FALSE;
    port = wzp_addr_port (addr);
    wzp_addr_set_port (addr, port == 0 ? 0 : port + 2);
    return TRUE;
  }
  if (!wzp_addr_parse (addr, text, &local)) {
    g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_ADDRESS,
        "bad media address '%s': %s", text, local->message);
    return FALSE;
  }
  return TRUE;
}

/* The CPUs this process may run on: all online CPUs, unless taskset or a
 * cgroup cpuset says otherwise (g_get_num_processors() counts them all). */
static guint
usable_cpus (void)
{
  cpu_set_t set;

  if (sched_getaffinity (0, sizeof set, &set) == 0 && CPU_COUNT (&set) > 0)
    return CPU_COUNT (&set);
  return g_get_num_processors ();
}

/* Starts the media plane (its port and workers), unless there is none. */
static gboolean
start_media (WzpRelay * self, GError ** error)
{
  WzpAddr addr, bound;
  g_autoptr (GError) local = NULL;
  char text[WZP_ADDR_STRLEN];
  guint workers = self->workers ? self->workers : usable_cpus ();

  if (!media_bind_address (self, &addr, &local)) {
    if (local) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    return TRUE;
  }
  free_media (self);
  self->legs = relay_legs_new ();
  self->media = relay_media_new (self->context, self->legs,
      _wzp_relay_channels_fallback, self);
  if (!relay_media_start (self->media, &addr, MAX (workers, 1), error)) {
    stop_media (self);
    return FALSE;
  }
  relay_media_get_address (self->media, &bound);
  if (self->media_advertise && *self->media_advertise) {
    WzpAddr adv;
    if (!wzp_addr_parse (&adv, self->media_advertise, &local)) {
      g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_ADDRESS,
          "bad media advertise address '%s': %s", self->media_advertise,
          local->message);
      stop_media (self);
      return FALSE;
    }
    /* "HOST:0": the bound port on that host. */
    if (wzp_addr_port (&adv) == 0)
      wzp_addr_set_port (&adv, wzp_addr_port (&bound));
    self->media_advertised = g_strdup (wzp_addr_to_string (&adv, text));
  } else {
    /* A wildcard host tells clients "the host you reached me at". */
    self->media_advertised = g_strdup (wzp_addr_to_string (&bound, text));
  }
  WZP_INFO_OBJECT (self, "media port %s (advertised as %s), %u worker%s",
      wzp_addr_to_string (&bound, text), self->media_advertised,
      relay_media_get_workers (self->media),
      relay_media_get_workers (self->media) == 1 ? "" : "s");
  return TRUE;
}

/* Stops the workers; the counters stay for the metrics. */
static void
stop_media (WzpRelay * self)
{
  if (self->media)
    relay_media_stop (self->media);
  g_clear_pointer (&self->media_advertised, g_free);
}

static void
free_media (WzpRelay * self)
{
  g_clear_pointer (&self->media, relay_media_free);
  g_clear_pointer (&self->legs, relay_legs_free);
  g_clear_pointer (&self->media_advertised, g_free);
}

/**
 * wzp_relay_start:
 *
 * Binds the listen address (and the probe and metrics addresses when
 * set) and starts serving.
 */
gboolean
wzp_relay_start (WzpRelay * self, GError ** error)
{
  g_return_val_if_fail (WZP_IS_RELAY (self), FALSE);

  if (self->started) {
    g_set_error (error, WZP_RELAY_ERROR, WZP_RELAY_ERROR_STARTED,
        "the relay is already started");
    return FALSE;
  }
  self->endpoint = make_endpoint (self, self->listen_address, error);
  if (self->endpoint == NULL)
    return FALSE;
  /* Media both ways at 50 packets/s per client: with ngtcp2's default of
   * an ACK every second packet, a third of what the relay sent was
   * ACK-only packets.  ACKs now ride on the forwarded datagrams. */
  g_object_set (self->endpoint, "accept-incoming", TRUE,
      "max-message-size", (guint) WZP_MESSAGE_MAX_SIZE,
      "ack-threshold", (guint) WZP_RELAY_ACK_THRESHOLD,
      "ack-hold", (guint64) WZP_RELAY_ACK_HOLD, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (endpoint_props); i++)
    g_object_set_property (G_OBJECT (self->endpoint), endpoint_props[i],
        &self->endpoint_values[i]);
  g_signal_connect (self->endpoint, "incoming-connection",
      G_CALLBACK (on_incoming), self);

  if (self->probe_address && *self->probe_address) {
    self->probe_endpoint = make_endpoint (self, self->probe_address, error);
    if (self->probe_endpoint == NULL)
      goto fail;
    wzp_endpoint_set_raw_handler (self->probe_endpoint,
        _wzp_relay_on_probe_packet, self, NULL);
  }
  if (!start_media (self, error))
    goto fail;
  if (self->metrics_address && *self->metrics_address &&
      !_wzp_relay_metrics_start (self, error))
    goto fail;
  if (self->redis_url && *self->redis_url) {
    g_autoptr (GSocketAddress) listen = wzp_relay_get_listen_address (self);
    g_autoptr (GSocketAddress) probe = wzp_relay_get_probe_address (self);

    self->cluster = relay_cluster_new (self, &cluster_hooks, listen, probe,
        error);
    if (self->cluster == NULL) {
      if (error && *error && (*error)->domain != WZP_RELAY_ERROR) {
        GError *e = *error;
        *error = g_error_new (WZP_RELAY_ERROR, WZP_RELAY_ERROR_CLUSTER,
            "redis-url: %s", e->message);
        g_error_free (e);
      }
      _wzp_relay_metrics_stop (self);
      goto fail;
    }
    relay_cluster_start (self->cluster);
  }
  start_silence_watch (self);
  self->started = TRUE;
  return TRUE;

fail:
  stop_media (self);
  g_clear_object (&self->probe_endpoint);
  g_clear_object (&self->endpoint);
  return FALSE;
}

/**
 * wzp_relay_stop:
 *
 * Closes every connection and the sockets.  Calls and rooms end without
 * messages (the connections are gone).
 */
void
wzp_relay_stop (WzpRelay * self)
{
  g_return_if_fail (WZP_IS_RELAY (self));

  g_clear_pointer ((RelayDrain **) & self->drain, relay_drain_free);
  stop_silence_watch (self);
  /* Leaves the cluster first: our presence and node key go now. */
  g_clear_pointer ((RelayCluster **) & self->cluster, relay_cluster_free);
  _wzp_relay_metrics_stop (self);
  if (self->endpoint)
    wzp_endpoint_close_all (self->endpoint, WZP_CLOSE_SHUTDOWN,
        "relay shutting down");
  g_hash_table_remove_all (self->clients);
  relay_deadlines_clear (self->deadlines);
  wzp_source_counter_clear (self->limits.registrations_by_source);
  g_hash_table_remove_all (self->registrations);
  g_hash_table_remove_all (self->media_legs);
  g_hash_table_remove_all (self->fp_calls);
  g_hash_table_remove_all (self->calls);
  g_hash_table_remove_all (self->rooms);
  g_hash_table_remove_all (self->channels);
  /* The workers first: nothing may read the legs once they are freed. */
  stop_media (self);
  _wzp_relay_probes_clear (self);
  if (self->probe_endpoint)
    wzp_endpoint_set_raw_handler (self->probe_endpoint, NULL, NULL, NULL);
  g_clear_object (&self->probe_endpoint);
  g_clear_object (&self->endpoint);
  self->stats.connections = self->stats.registrations = 0;
  self->stats.calls_ringing = self->stats.calls_active = 0;
  self->stats.rooms = self->stats.room_members = 0;
  self->stats.media_legs = 0;
  self->draining = FALSE;
  self->started = FALSE;
}

const char *
wzp_relay_get_fingerprint (WzpRelay * self)
{
  return wzp_identity_get_fingerprint (self->identity);
}

/**
 * wzp_relay_get_listen_address:
 *
 * Returns: (transfer full) (nullable): the bound signaling address (with
 * the real port when 0 was asked for)
 */
GSocketAddress *
wzp_relay_get_listen_address (WzpRelay * self)
{
  g_autoptr (GSocketAddress) want = NULL;

  if (self->endpoint == NULL)
    return NULL;
  want = wzp_socket_address_parse (self->listen_address, NULL);
  return wzp_endpoint_get_local_address (self->endpoint,
      g_socket_address_get_family (want));
}

/**
 * wzp_relay_get_probe_address:
 *
 * Returns: (transfer full) (nullable): the bound probe address
 */
GSocketAddress *
wzp_relay_get_probe_address (WzpRelay * self)
{
  g_autoptr (GSocketAddress) want = NULL;

  if (self->probe_endpoint == NULL)
    return NULL;
  want = wzp_socket_address_parse (self->probe_address, NULL);
  return wzp_endpoint_get_local_address (self->probe_endpoint,
      g_socket_address_get_family (want));
}

/**
 * wzp_relay_get_endpoint:
 *
 * Returns: (transfer none) (nullable): the signaling endpoint
 */
WzpEndpoint *
wzp_relay_get_endpoint (WzpRelay * self)
{
  return self->endpoint;
}

/**
 * wzp_relay_get_media_address:
 *
 * Returns: (transfer full) (nullable): the bound media port (with the real
 * port when 0 was asked for), or %NULL without a media port
 */
GSocketAddress *
wzp_relay_get_media_address (WzpRelay * self)
{
  WzpAddr addr;

  if (self->media == NULL || !relay_media_get_address (self->media, &addr))
    return NULL;
  return wzp_addr_to_gsocketaddress (&addr);
}

/**
 * wzp_relay_get_media_workers:
 *
 * Returns: the media plane's running worker threads (0: none)
 */
guint
wzp_relay_get_media_workers (WzpRelay * self)
{
  return self->media ? relay_media_get_workers (self->media) : 0;
}

/* --- GObject ---------------------------------------------------------- */

/**
 * wzp_relay_new:
 * @context: (nullable): the context to run on; %NULL for the
 *   thread-default one
 */
WzpRelay *
wzp_relay_new (GMainContext * context, WzpIdentity * identity)
{
  return g_object_new (WZP_TYPE_RELAY, "context", context, "identity",
      identity, NULL);
}

static void
wzp_relay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  WzpRelay *self = WZP_RELAY (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      self->context = g_value_dup_boxed (value);
      break;
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;
    case PROP_CLOCK:
      self->clock = g_value_dup_object (value);
      break;
    case PROP_LISTEN_ADDRESS:
      g_free (self->listen_address);
      self->listen_address = g_value_dup_string (value);
      break;
    case PROP_PROBE_ADDRESS:
      g_free (self->probe_address);
      self->probe_address = g_value_dup_string (value);
      break;
    case PROP_METRICS_ADDRESS:
      g_free (self->metrics_address);
      self->metrics_address = g_value_dup_string (value);
      break;
    case PROP_MEDIA_ADDRESS:
      g_free (self->media_address);
      self->media_address = g_value_dup_string (value);
      break;
    case PROP_MEDIA_ADVERTISE:
      g_free (self->media_advertise);
      self->media_advertise = g_value_dup_string (value);
      break;
    case PROP_WORKERS:
      self->workers = g_value_get_uint (value);
      break;
    case PROP_RING_TIMEOUT:
      self->ring_timeout_ns = g_value_get_uint64 (value);
      break;
    case PROP_MAX_REGISTRATIONS:
      self->limits.max_registrations = g_value_get_uint (value);
      break;
    case PROP_MAX_ROOM_MEMBERS:
      self->max_room_members = g_value_get_uint (value);
      break;
    case PROP_MAX_REGISTRATIONS_PER_SOURCE:
      self->limits.max_registrations_per_source = g_value_get_uint (value);
      break;
    case PROP_REGISTRATION_TIMEOUT:
      self->limits.registration_timeout_ns = g_value_get_uint64 (value);
      break;
    case PROP_MAX_PENDING_PROBES:
      self->limits.max_pending_probes = g_value_get_uint (value);
      break;
    case PROP_MAX_PENDING_PROBES_PER_CLIENT:
      self->limits.max_pending_probes_per_client = g_value_get_uint (value);
      break;
    case PROP_MESSAGE_RATE:
      self->limits.message_rate = g_value_get_uint (value);
      break;
    case PROP_MESSAGE_BURST:
      self->limits.message_burst = g_value_get_uint (value);
      break;
    case PROP_REDIS_URL:
      g_free (self->redis_url);
      self->redis_url = g_value_dup_string (value);
      break;
    case PROP_REDIS_PASSWORD:
      g_free (self->redis_password);
      self->redis_password = g_value_dup_string (value);
      break;
    case PROP_ADVERTISE_ADDRESS:
      g_free (self->advertise_address);
      self->advertise_address = g_value_dup_string (value);
      break;
    case PROP_DRAIN_TIMEOUT:
      self->drain_timeout_ns = g_value_get_uint64 (value);
      break;
    default:
      if (prop_id >= FIRST_ENDPOINT_PROP && prop_id < N_PROPS) {
        guint i = prop_id - FIRST_ENDPOINT_PROP;
        g_value_copy (value, &self->endpoint_values[i]);
        if (self->endpoint)
          g_object_set_property (G_OBJECT (self->endpoint), endpoint_props[i],
              value);
        break;
      }
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_relay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WzpRelay *self = WZP_RELAY (object);

  switch (prop_id) {
    case PROP_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_CLOCK:
      g_value_set_object (value, self->clock);
      break;
    case PROP_LISTEN_ADDRESS:
      g_value_set_string (value, self->listen_address);
      break;
    case PROP_PROBE_ADDRESS:
      g_value_set_string (value, self->probe_address);
      break;
    case PROP_METRICS_ADDRESS:
      g_value_set_string (value, self->metrics_address);
      break;
    case PROP_MEDIA_ADDRESS:
      g_value_set_string (value, self->media_address);
      break;
    case PROP_MEDIA_ADVERTISE:
      g_value_set_string (value, self->media_advertise);
      break;
    case PROP_WORKERS:
      g_value_set_uint (value, self->workers);
      break;
    case PROP_RING_TIMEOUT:
      g_value_set_uint64 (value, self->ring_timeout_ns);
      break;
    case PROP_MAX_REGISTRATIONS:
      g_value_set_uint (value, self->limits.max_registrations);
      break;
    case PROP_MAX_ROOM_MEMBERS:
      g_value_set_uint (value, self->max_room_members);
      break;
    case PROP_MAX_REGISTRATIONS_PER_SOURCE:
      g_value_set_uint (value, self->limits.max_registrations_per_source);
      break;
    case PROP_REGISTRATION_TIMEOUT:
      g_value_set_uint64 (value, self->limits.registration_timeout_ns);
      break;
    case PROP_MAX_PENDING_PROBES:
      g_value_set_uint (value, self->limits.max_pending_probes);
      break;
    case PROP_MAX_PENDING_PROBES_PER_CLIENT:
      g_value_set_uint (value, self->limits.max_pending_probes_per_client);
      break;
    case PROP_MESSAGE_RATE:
      g_value_set_uint (value, self->limits.message_rate);
      break;
    case PROP_MESSAGE_BURST:
      g_value_set_uint (value, self->limits.message_burst);
      break;
    case PROP_REDIS_URL:
      g_value_set_string (value, self->redis_url);
      break;
    case PROP_REDIS_PASSWORD:
      g_value_set_string (value, self->redis_password);
      break;
    case PROP_ADVERTISE_ADDRESS:
      g_value_set_string (value, self->advertise_address);
      break;
    case PROP_DRAIN_TIMEOUT:
      g_value_set_uint64 (value, self->drain_timeout_ns);
      break;
    case PROP_DRAINING:
      g_value_set_boolean (value, self->draining);
      break;
    default:
      if (prop_id >= FIRST_ENDPOINT_PROP && prop_id < N_PROPS) {
        g_value_copy (&self->endpoint_values[prop_id - FIRST_ENDPOINT_PROP],
            value);
        break;
      }
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_relay_constructed (GObject * object)
{
  WzpRelay *self = WZP_RELAY (object);

  G_OBJECT_CLASS (wzp_relay_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  if (self->clock == NULL)
    self->clock = g_object_ref (wzp_clock_get_system ());
  if (self->identity == NULL) {
    WZP_WARNING_OBJECT (self, "no identity given: using a new one");
    self->identity = wzp_identity_generate ();
  }
  self->deadlines = relay_deadlines_new (self->clock, self->context,
      on_registration_deadline, self);
}

static void
wzp_relay_dispose (GObject * object)
{
  WzpRelay *self = WZP_RELAY (object);

  if (self->started || self->endpoint)
    wzp_relay_stop (self);
  G_OBJECT_CLASS (wzp_relay_parent_class)->dispose (object);
}

static void
wzp_relay_finalize (GObject * object)
{
  WzpRelay *self = WZP_RELAY (object);

  g_hash_table_unref (self->clients);
  g_hash_table_unref (self->registrations);
  g_hash_table_unref (self->media_legs);
  g_hash_table_unref (self->fp_calls);
  g_hash_table_unref (self->calls);
  g_hash_table_unref (self->rooms);
  g_hash_table_unref (self->channels);
  free_media (self);
  g_hash_table_unref (self->leg_calls);
  _wzp_relay_probes_free (self);
  g_hash_table_unref (self->error_counts);
  relay_deadlines_free (self->deadlines);
  relay_limits_clear (&self->limits);
  for (guint i = 0; i < G_N_ELEMENTS (self->endpoint_values); i++)
    if (G_IS_VALUE (&self->endpoint_values[i]))
      g_value_unset (&self->endpoint_values[i]);
  g_clear_object (&self->metrics_bound);
  g_free (self->listen_address);
  g_free (self->probe_address);
  g_free (self->metrics_address);
  g_free (self->redis_url);
  if (self->redis_password)
    memset (self->redis_password, 0, strlen (self->redis_password));
  g_free (self->redis_password);
  g_free (self->advertise_address);
  g_free (self->media_address);
  g_free (self->media_advertise);
  g_clear_object (&self->identity);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (wzp_relay_parent_class)->finalize (object);
}

static void
wzp_relay_class_init (WzpRelayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
      G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = wzp_relay_set_property;
  gobject_class->get_property = wzp_relay_get_property;
  gobject_class->constructed = wzp_relay_constructed;
  gobject_class->dispose = wzp_relay_dispose;
  gobject_class->finalize = wzp_relay_finalize;

  /**
   * WzpRelay:context:
   *
   * The GMainContext the relay runs on (default: the thread-default one).
   */
  props[PROP_CONTEXT] = g_param_spec_boxed ("context", "Context",
      "Main context to run on", G_TYPE_MAIN_CONTEXT, co);
  /**
   * WzpRelay:identity:
   *
   * The relay's persistent identity; clients pin its fingerprint.
   */
  props[PROP_IDENTITY] = g_param_spec_object ("identity", "Identity",
      "Relay identity", WZP_TYPE_IDENTITY, co);
  /**
   * WzpRelay:clock:
   *
   * Clock for every timer (ring timeout, setup timing, probes) and for the
   * relay's QUIC endpoints.  Default: the system clock.
   */
  props[PROP_CLOCK] = g_param_spec_object ("clock", "Clock",
      "Clock for timers", WZP_TYPE_CLOCK, co);
  /**
   * WzpRelay:listen-address:
   *
   * "IP:PORT" for signaling connections (and relayed media).
   */
  props[PROP_LISTEN_ADDRESS] = g_param_spec_string ("listen-address",
      "Listen address", "Signaling address IP:PORT", "0.0.0.0:4433", rw);
  /**
   * WzpRelay:probe-address:
   *
   * "IP:PORT" of the second socket for NAT-type probes; %NULL or empty
   * for none.  A host of 0.0.0.0 or :: is advertised as such: clients
   * then use the relay's host.
   */
  props[PROP_PROBE_ADDRESS] = g_param_spec_string ("probe-address",
      "Probe address", "NAT probe address IP:PORT", NULL, rw);
  /**
   * WzpRelay:metrics-address:
   *
   * "IP:PORT" for the Prometheus endpoint (GET /metrics); %NULL or empty
   * for none.  Needs libsoup 3 at build time.
   */
  props[PROP_METRICS_ADDRESS] = g_param_spec_string ("metrics-address",
      "Metrics address", "Prometheus endpoint IP:PORT", NULL, rw);
  /**
   * WzpRelay:media-address:
   *
   * "IP:PORT" of the media port: the UDP port where clients send and
   * receive their calls' media as channel packets (docs/PROTOCOL.md, Part
   * A §7); no QUIC arrives there.  %NULL: the listen address's host, port
   * + 2 (port 0 when the listen port is 0); "" or "none": no media port
   * (media rides QUIC datagrams on the signaling connections only).
   */
  props[PROP_MEDIA_ADDRESS] = g_param_spec_string ("media-address",
      "Media address", "Media port IP:PORT (NULL: listen port + 2; none)",
      NULL, rw);
  /**
   * WzpRelay:media-advertise:
   *
   * "IP:PORT" clients are told to send channel packets to, when it is not
   * the address the media port is bound to (a relay behind a 1:1 NAT or a
   * port forward); port 0 keeps the bound port.  %NULL: the bound
   * address (a wildcard host, 0.0.0.0 or ::, tells clients to use the
   * host they reached the relay at).
   */
  props[PROP_MEDIA_ADVERTISE] = g_param_spec_string ("media-advertise",
      "Media advertise", "Media address clients use, if not the bound one",
      NULL, rw);
  /**
   * WzpRelay:workers:
   *
   * Threads forwarding channel packets, each with its own socket on the
   * media port (SO_REUSEPORT).  0: one per CPU this process may run on.
   * Read at wzp_relay_start().
   */
  props[PROP_WORKERS] = g_param_spec_uint ("workers", "Workers",
      "Media forwarding threads (0: one per CPU)", 0, 1024, 0, rw);
  /**
   * WzpRelay:ring-timeout:
   *
   * Nanoseconds a call may ring before both sides get "no-answer".
   */
  props[PROP_RING_TIMEOUT] = g_param_spec_uint64 ("ring-timeout",
      "Ring timeout", "Unanswered calls end after this (ns)",
      WZP_NSEC_PER_MSEC, G_MAXUINT64, WZP_RELAY_DEFAULT_RING_TIMEOUT, rw);
  /**
   * WzpRelay:max-registrations:
   *
   * Identities registered at once.
   */
  props[PROP_MAX_REGISTRATIONS] = g_param_spec_uint ("max-registrations",
      "Max registrations", "Identities registered at once", 1, G_MAXUINT,
      WZP_RELAY_DEFAULT_MAX_REGISTRATIONS, rw);
  /**
   * WzpRelay:max-room-members:
   *
   * Members one room may have.
   */
  props[PROP_MAX_ROOM_MEMBERS] = g_param_spec_uint ("max-room-members",
      "Max room members", "Members per room", 2, 4096,
      WZP_RELAY_DEFAULT_MAX_ROOM_MEMBERS, rw);
  /**
   * WzpRelay:max-registrations-per-source:
   *
   * Identities registered at once from one source (IPv4 address, IPv6
   * /64).
   */
  props[PROP_MAX_REGISTRATIONS_PER_SOURCE] = g_param_spec_uint
      ("max-registrations-per-source", "Max registrations per source",
      "Identities registered at once from one source", 1, G_MAXUINT,
      WZP_RELAY_DEFAULT_MAX_REGISTRATIONS_PER_SOURCE, rw);
  /**
   * WzpRelay:registration-timeout:
   *
   * Nanoseconds a connection has, from the relay's hello, to register;
   * then it is closed (code 0x105, "registration-timeout").
   */
  props[PROP_REGISTRATION_TIMEOUT] = g_param_spec_uint64
      ("registration-timeout", "Registration timeout",
      "A connection must register within this (ns)", WZP_NSEC_PER_MSEC,
      G_MAXUINT64 / 2, WZP_RELAY_DEFAULT_REGISTRATION_TIMEOUT, rw);
  /**
   * WzpRelay:max-pending-probes:
   *
   * NAT probes waiting for their raw packet, from all clients (and, as
   * many again, raw packets waiting for their request).
   */
  props[PROP_MAX_PENDING_PROBES] = g_param_spec_uint ("max-pending-probes",
      "Max pending probes", "NAT probes pending at once", 1, G_MAXUINT,
      WZP_RELAY_DEFAULT_MAX_PENDING_PROBES, rw);
  /**
   * WzpRelay:max-pending-probes-per-client:
   *
   * NAT probes one client (one identity) may have pending, and unclaimed
   * raw probe packets one source may have waiting.
   */
  props[PROP_MAX_PENDING_PROBES_PER_CLIENT] = g_param_spec_uint
      ("max-pending-probes-per-client", "Max pending probes per client",
      "NAT probes one client may have pending", 1, G_MAXUINT,
      WZP_RELAY_DEFAULT_MAX_PENDING_PROBES_PER_CLIENT, rw);
  /**
   * WzpRelay:message-rate:
   *
   * Signaling messages per second one connection may send, sustained;
   * more are dropped (the client hears "rate-limited").
   */
  props[PROP_MESSAGE_RATE] = g_param_spec_uint ("message-rate",
      "Message rate", "Messages per second per connection", 1, G_MAXUINT,
      WZP_RELAY_DEFAULT_MESSAGE_RATE, rw);
  /**
   * WzpRelay:message-burst:
   *
   * Messages one connection may send at once after a quiet spell.
   */
  props[PROP_MESSAGE_BURST] = g_param_spec_uint ("message-burst",
      "Message burst", "Messages at once per connection", 1, G_MAXUINT,
      WZP_RELAY_DEFAULT_MESSAGE_BURST, rw);
  /**
   * WzpRelay:redis-url:
   *
   * Join a cluster through this Redis: "redis://HOST[:PORT][/DB]" or
   * "unix:/PATH" (docs/CLUSTER.md).  %NULL or empty: one relay.
   */
  props[PROP_REDIS_URL] = g_param_spec_string ("redis-url", "Redis URL",
      "Redis of the relay cluster (redis://HOST:PORT[/DB], unix:/PATH)",
      NULL, rw);
  /**
   * WzpRelay:redis-password:
   *
   * Redis's password (AUTH); overrides one in #WzpRelay:redis-url.
   */
  props[PROP_REDIS_PASSWORD] = g_param_spec_string ("redis-password",
      "Redis password", "Password for Redis (AUTH)", NULL, rw);
  /**
   * WzpRelay:advertise-address:
   *
   * "IP:PORT" where clients and the other nodes of a cluster reach this
   * relay's listen port; default: the listen address (which must then
   * not be 0.0.0.0 or ::).
   */
  props[PROP_ADVERTISE_ADDRESS] = g_param_spec_string ("advertise-address",
      "Advertise address", "Address clients and other nodes reach us at",
      NULL, rw);
  /**
   * WzpRelay:drain-timeout:
   *
   * Nanoseconds wzp_relay_drain() waits for calls to end before it moves
   * the clients still in them.
   */
  props[PROP_DRAIN_TIMEOUT] = g_param_spec_uint64 ("drain-timeout",
      "Drain timeout", "Draining moves what is left after this (ns)",
      0, G_MAXUINT64 / 2, WZP_RELAY_DEFAULT_DRAIN_TIMEOUT, rw);
  /**
   * WzpRelay:draining:
   *
   * Whether wzp_relay_drain() runs.
   */
  props[PROP_DRAINING] = g_param_spec_boolean ("draining", "Draining",
      "Draining: no new registrations", FALSE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpRelay:max-connections:
   *
   * Connections open at once (#WzpEndpoint:max-connections).
   */
  props[PROP_MAX_CONNECTIONS] = g_param_spec_uint ("max-connections",
      "Max connections", "Open connections at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_CONNECTIONS, rw);
  /**
   * WzpRelay:max-connections-per-source:
   *
   * Connections from one source (#WzpEndpoint:max-connections-per-source).
   */
  props[PROP_MAX_CONNECTIONS_PER_SOURCE] = g_param_spec_uint
      ("max-connections-per-source", "Max connections per source",
      "Connections from one source at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_CONNECTIONS_PER_SOURCE, rw);
  /**
   * WzpRelay:max-half-open:
   *
   * Handshakes in progress (#WzpEndpoint:max-half-open).
   */
  props[PROP_MAX_HALF_OPEN] = g_param_spec_uint ("max-half-open",
      "Max half-open", "Handshakes in progress at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_HALF_OPEN, rw);
  /**
   * WzpRelay:max-half-open-per-source:
   *
   * Handshakes in progress from one source
   * (#WzpEndpoint:max-half-open-per-source).
   */
  props[PROP_MAX_HALF_OPEN_PER_SOURCE] = g_param_spec_uint
      ("max-half-open-per-source", "Max half-open per source",
      "Handshakes in progress from one source at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_HALF_OPEN_PER_SOURCE, rw);
  /**
   * WzpRelay:retry:
   *
   * When new clients must first validate their address with a stateless
   * Retry (#WzpEndpoint:retry).
   */
  props[PROP_RETRY] = g_param_spec_enum ("retry", "Retry",
      "When new clients must validate their address with a Retry",
      WZP_TYPE_RETRY_MODE, WZP_RETRY_AUTO, rw);
  /**
   * WzpRelay:retry-threshold:
   *
   * #WzpEndpoint:retry-threshold.
   */
  props[PROP_RETRY_THRESHOLD] = g_param_spec_uint ("retry-threshold",
      "Retry threshold", "Handshakes in progress from which Retry is used",
      0, G_MAXUINT, WZP_DEFAULT_RETRY_THRESHOLD, rw);
  /**
   * WzpRelay:retry-threshold-per-source:
   *
   * #WzpEndpoint:retry-threshold-per-source.
   */
  props[PROP_RETRY_THRESHOLD_PER_SOURCE] = g_param_spec_uint
      ("retry-threshold-per-source", "Retry threshold per source",
      "Handshakes in progress from one source from which Retry is used", 0,
      G_MAXUINT, WZP_DEFAULT_RETRY_THRESHOLD_PER_SOURCE, rw);
  /**
   * WzpRelay:handshake-timeout:
   *
   * Nanoseconds a handshake may take (#WzpEndpoint:handshake-timeout): how
   * long a half-open connection holds its slot.
   */
  props[PROP_HANDSHAKE_TIMEOUT] = g_param_spec_uint64 ("handshake-timeout",
      "Handshake timeout", "Give up a handshake after this long (ns)",
      WZP_NSEC_PER_MSEC, G_MAXUINT64 / 2, WZP_DEFAULT_HANDSHAKE_TIMEOUT, rw);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  /**
   * WzpRelay::drained:
   *
   * wzp_relay_drain() finished: no client, call or room is left (or its
   * timeout moved them).  Stop the relay.
   */
  signals[SIGNAL_DRAINED] = g_signal_new ("drained", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
wzp_relay_init (WzpRelay * self)
{
  self->listen_address = g_strdup ("0.0.0.0:4433");
  self->ring_timeout_ns = WZP_RELAY_DEFAULT_RING_TIMEOUT;
  relay_limits_init (&self->limits);
  self->max_room_members = WZP_RELAY_DEFAULT_MAX_ROOM_MEMBERS;
  self->clients = g_hash_table_new_full (NULL, NULL, NULL, client_free);
  self->registrations = g_hash_table_new (g_str_hash, g_str_equal);
  self->media_legs = g_hash_table_new (g_str_hash, g_str_equal);
  self->drain_timeout_ns = WZP_RELAY_DEFAULT_DRAIN_TIMEOUT;
  self->registrations_gen = 1;
  self->calls = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) _wzp_relay_call_free);
  self->fp_calls = g_hash_table_new (g_str_hash, g_str_equal);
  self->channels = g_hash_table_new (NULL, NULL);
  self->leg_calls = g_hash_table_new (NULL, NULL);
  self->rooms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
      (GDestroyNotify) _wzp_relay_room_free);
  _wzp_relay_probes_init (self);
  for (guint i = 0; i < G_N_ELEMENTS (endpoint_props); i++) {
    GParamSpec *pspec = props[FIRST_ENDPOINT_PROP + i];

    g_value_init (&self->endpoint_values[i], pspec->value_type);
    g_param_value_set_default (pspec, &self->endpoint_values[i]);
  }
  self->error_counts = g_hash_table_new_full (g_str_hash, g_str_equal,
      g_free, g_free);
  self->error_log = (WzpLogLimit) WZP_LOG_LIMIT_INIT (WZP_NSEC_PER_SEC);
}
