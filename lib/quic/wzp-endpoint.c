/* wzp — a QUIC endpoint: one UDP socket per address family, client and
 * server at once
 *
 * Packet path: read a batch with recvmmsg, route each packet by its
 * destination connection ID, let ngtcp2 process it, then write what the
 * touched connections have to say and send it all with sendmmsg.  One
 * timer for the whole endpoint, armed at the earliest connection deadline
 * (a GSource per connection would make every main-loop iteration walk
 * thousands of sources on a busy relay).
 *
 *
 * This file: the object, the services connections use, binding, dialing
 * and the public API.  Sending and timers are in wzp-endpoint-send.c,
 * routing and receiving in wzp-endpoint-recv.c; what they share is in
 * wzp-endpoint-private.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-endpoint-private.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "wzp-log-private.h"
#include "wzp-random.h"

#define WZP_CAT_DEFAULT wzp_cat_quic

/* Kernel socket buffers: a relay forwarding thousands of calls sees
 * bursts; the kernel caps this at net.core.rmem_max/wmem_max. */
#define SOCKET_BUFFER (4 * 1024 * 1024)

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_CONTEXT,
  PROP_IDENTITY,
  PROP_CLOCK,
  PROP_ACCEPT_INCOMING,
  PROP_IDLE_TIMEOUT,
  PROP_KEEP_ALIVE_INTERVAL,
  PROP_HANDSHAKE_TIMEOUT,
  PROP_INITIAL_RTT,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_CONNECTIONS,
  PROP_ACK_THRESHOLD,
  PROP_ACK_HOLD,
  PROP_RETRY,
  PROP_RETRY_THRESHOLD,
  PROP_RETRY_THRESHOLD_PER_SOURCE,
  PROP_MAX_HALF_OPEN,
  PROP_MAX_HALF_OPEN_PER_SOURCE,
  PROP_MAX_CONNECTIONS_PER_SOURCE,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void wzp_endpoint_initable_init (GInitableIface * iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (WzpEndpoint, wzp_endpoint, G_TYPE_OBJECT,
    G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, wzp_endpoint_initable_init));

/* A source with no prepare/check: it is ready exactly when its ready time
 * says so, which schedule_flush() sets to "now". */
static gboolean
ready_time_source_dispatch (GSource * source, GSourceFunc callback,
    gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs ready_time_source_funcs = {
  NULL, NULL, ready_time_source_dispatch, NULL,
};

gboolean
_wzp_endpoint_accept_peer (WzpEndpoint * self, const char *fingerprint,
    const WzpAddr * remote)
{
  g_autoptr (GSocketAddress) addr = wzp_addr_to_gsocketaddress (remote);
  gboolean accept = TRUE;

  g_signal_emit (self, signals[SIGNAL_ACCEPT_PEER], 0, fingerprint, addr,
      &accept);
  if (!accept)
    self->stats.connections_refused++;
  return accept;
}

void
_wzp_endpoint_incoming_connected (WzpEndpoint * self, WzpConnection * conn)
{
  _wzp_endpoint_handshake_done (self, conn);
  self->stats.connections_accepted++;
  g_signal_emit (self, signals[SIGNAL_INCOMING_CONNECTION], 0, conn);
}

GMainContext *
_wzp_endpoint_context (WzpEndpoint * self)
{
  return self->context;
}

WzpTlsContext *
_wzp_endpoint_tls (WzpEndpoint * self)
{
  return self->tls;
}

gsize
_wzp_endpoint_max_message_size (WzpEndpoint * self)
{
  return self->max_message_size;
}

guint
_wzp_endpoint_ack_threshold (WzpEndpoint * self)
{
  return self->ack_threshold;
}

guint64
_wzp_endpoint_ack_hold (WzpEndpoint * self)
{
  return self->ack_hold;
}

void
_wzp_endpoint_reset_token (WzpEndpoint * self, const guint8 * cid,
    gsize cid_len, guint8 token[16])
{
  _wzp_reset_token (self->reset_key, cid, cid_len, token);
}

/* --- binding ---------------------------------------------------------- */

/**
 * wzp_endpoint_bind:
 * @address: a #GInetSocketAddress; port 0 picks a free port
 *
 * Opens the socket for @address's family (one per family).  An IPv6
 * socket is IPv6-only, so an IPv4 socket can sit beside it.
 */
gboolean
wzp_endpoint_bind (WzpEndpoint * self, GSocketAddress * address,
    GError ** error)
{
  GSocketFamily family = g_socket_address_get_family (address);
  Sock *sock;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  int size = SOCKET_BUFFER;

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), FALSE);
  if (family != G_SOCKET_FAMILY_IPV4 && family != G_SOCKET_FAMILY_IPV6) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "only IPv4 and IPv6 addresses can be bound");
    return FALSE;
  }
  sock = &self->socks[family == G_SOCKET_FAMILY_IPV6 ? 1 : 0];
  if (sock->socket) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
        "the endpoint already has an %s socket",
        family == G_SOCKET_FAMILY_IPV6 ? "IPv6" : "IPv4");
    return FALSE;
  }

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  if (family == G_SOCKET_FAMILY_IPV6 &&
      !g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
    return FALSE;
  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_RCVBUF, &size,
      sizeof size);
  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_SNDBUF, &size,
      sizeof size);
  if (!g_socket_bind (socket, address, FALSE, error)) {
    g_autofree char *text = wzp_socket_address_to_string (address);
    g_prefix_error (error, "cannot bind %s: ", text);
    return FALSE;
  }
  local = g_socket_get_local_address (socket, error);
  if (local == NULL)
    return FALSE;

  sock->socket = g_steal_pointer (&socket);
  sock->fd = g_socket_get_fd (sock->socket);
  wzp_addr_from_gsocketaddress (&sock->local, local);
  sock->source = g_unix_fd_source_new (sock->fd, G_IO_IN);
  g_source_set_callback (sock->source, (GSourceFunc) (void (*)(void))
      _wzp_endpoint_on_readable, self, NULL);
  g_source_set_name (sock->source, "WzpEndpoint socket");
  g_source_attach (sock->source, self->context);
  {
    char text[WZP_ADDR_STRLEN];
    WZP_INFO_OBJECT (self, "bound %s", wzp_addr_to_string (&sock->local, text));
  }
  return TRUE;
}

/**
 * wzp_endpoint_bind_any:
 * @port: 0 for any free port
 * @ipv6: also open an IPv6 socket, on the same port number when free
 */
gboolean
wzp_endpoint_bind_any (WzpEndpoint * self, guint16 port, gboolean ipv6,
    GError ** error)
{
  g_autoptr (GInetAddress) any4 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr4 = g_inet_socket_address_new (any4, port);
  guint16 bound;

  if (!wzp_endpoint_bind (self, addr4, error))
    return FALSE;
  if (!ipv6)
    return TRUE;

  bound = wzp_addr_port (&self->socks[0].local);
  {
    g_autoptr (GInetAddress) any6 =
        g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
    g_autoptr (GSocketAddress) addr6 = g_inet_socket_address_new (any6, bound);
    g_autoptr (GError) local_error = NULL;

    if (wzp_endpoint_bind (self, addr6, &local_error))
      return TRUE;
    /* The same port number is a nicety, not a requirement; a host
     * without IPv6 at all is fine too. */
    g_clear_object (&addr6);
    addr6 = g_inet_socket_address_new (any6, 0);
    g_clear_error (&local_error);
    if (!wzp_endpoint_bind (self, addr6, &local_error))
      WZP_INFO_OBJECT (self, "no IPv6 socket: %s", local_error->message);
  }
  return TRUE;
}

/**
 * wzp_endpoint_get_local_address:
 *
 * Returns: (transfer full) (nullable): the bound address of the socket of
 * @family, or %NULL if there is none.
 */
GSocketAddress *
wzp_endpoint_get_local_address (WzpEndpoint * self, GSocketFamily family)
{
  Sock *sock = _wzp_endpoint_sock_for (self, family == G_SOCKET_FAMILY_IPV6 ?
      AF_INET6 : AF_INET);

  return sock ? wzp_addr_to_gsocketaddress (&sock->local) : NULL;
}

/* --- dialing ---------------------------------------------------------- */

void
wzp_connect_params_init (WzpConnectParams * params)
{
  memset (params, 0, sizeof *params);
}

WzpConnection *
wzp_endpoint_connect (WzpEndpoint * self, GSocketAddress * remote,
    const char *expected_fingerprint, GError ** error)
{
  WzpConnectParams params;

  wzp_connect_params_init (&params);
  params.expected_fingerprint = expected_fingerprint;
  return wzp_endpoint_connect_full (self, remote, &params, error);
}

/**
 * wzp_endpoint_connect_full:
 *
 * Starts a handshake with @remote from this endpoint's socket of the same
 * family.  Watch #WzpConnection::connected and #WzpConnection::closed.
 *
 * Returns: (transfer full): the new connection, or %NULL with @error set.
 */
WzpConnection *
wzp_endpoint_connect_full (WzpEndpoint * self, GSocketAddress * remote,
    const WzpConnectParams * given, GError ** error)
{
  WzpConnectParams params;
  WzpAddr to;
  Sock *sock;
  WzpConnection *conn;
  g_autofree char *expected = NULL;

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), NULL);
  if (!wzp_addr_from_gsocketaddress (&to, remote)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "not an IP socket address");
    return NULL;
  }
  sock = _wzp_endpoint_sock_for (self, wzp_addr_family (&to));
  if (sock == NULL) {
    g_autofree char *text = wzp_socket_address_to_string (remote);
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "cannot reach %s: the endpoint has no socket of that family", text);
    return NULL;
  }
  _wzp_endpoint_fill_default_params (self, &params, given);
  if (params.expected_fingerprint) {
    expected = wzp_fingerprint_normalize (params.expected_fingerprint, error);
    if (expected == NULL)
      return NULL;
    params.expected_fingerprint = expected;
  }

  conn = _wzp_connection_new_client (self, &sock->local, &to, &params, error);
  if (conn == NULL)
    return NULL;
  _wzp_endpoint_add_connection (self, conn);
  _wzp_endpoint_mark_dirty (self, conn);
  {
    char text[WZP_ADDR_STRLEN];
    WZP_DEBUG_OBJECT (self, "dialing %s (expecting %s)",
        wzp_addr_to_string (&to, text), expected ? expected : "any identity");
  }
  return conn;
}

/* --- misc API --------------------------------------------------------- */

void
wzp_endpoint_set_raw_handler (WzpEndpoint * self, WzpRawPacketFunc func,
    gpointer user_data, GDestroyNotify notify)
{
  if (self->raw_notify)
    self->raw_notify (self->raw_data);
  self->raw_func = func;
  self->raw_data = user_data;
  self->raw_notify = notify;
}

/**
 * wzp_endpoint_add_source_handler:
 * @source: the exact address (IP and port) whose packets @func takes
 *
 * Every UDP payload from @source goes to @func, before anything treats it
 * as QUIC or as a raw packet.  A client adds its relay's media address so
 * that channel packets, which are not QUIC, never reach the QUIC path
 * (the relay's QUIC comes from another port; no peer has that address).
 *
 * Returns: an id for wzp_endpoint_remove_source_handler()
 */
guint
wzp_endpoint_add_source_handler (WzpEndpoint * self, const WzpAddr * source,
    WzpSourcePacketFunc func, gpointer user_data, GDestroyNotify notify)
{
  SourceHandler h = { 0 };

  g_return_val_if_fail (WZP_IS_ENDPOINT (self), 0);
  g_return_val_if_fail (func != NULL, 0);
  h.id = ++self->next_source_handler;
  h.source = *source;
  h.func = func;
  h.data = user_data;
  h.notify = notify;
  g_array_append_val (self->source_handlers, h);
  return h.id;
}

void
wzp_endpoint_remove_source_handler (WzpEndpoint * self, guint id)
{
  g_return_if_fail (WZP_IS_ENDPOINT (self));
  for (guint i = 0; i < self->source_handlers->len; i++) {
    SourceHandler h = g_array_index (self->source_handlers, SourceHandler, i);
    if (h.id != id)
      continue;
    g_array_remove_index (self->source_handlers, i);
    if (h.notify)
      h.notify (h.data);
    return;
  }
}

static void
clear_source_handlers (WzpEndpoint * self)
{
  while (self->source_handlers->len > 0) {
    SourceHandler h = g_array_index (self->source_handlers, SourceHandler, 0);
    g_array_remove_index (self->source_handlers, 0);
    if (h.notify)
      h.notify (h.data);
  }
}

/**
 * wzp_endpoint_close_all:
 *
 * Closes every connection with the given code and reason (each emits
 * #WzpConnection::closed).
 */
void
wzp_endpoint_close_all (WzpEndpoint * self, guint64 app_error_code,
    const char *reason)
{
  GList *conns = g_hash_table_get_keys (self->conns);

  for (GList * l = conns; l; l = l->next)
    wzp_connection_close (l->data, app_error_code, reason);
  g_list_free (conns);
  _wzp_endpoint_tx_flush (self);
}

void
wzp_endpoint_get_stats (WzpEndpoint * self, WzpEndpointStats * stats)
{
  *stats = self->stats;
}

WzpIdentity *
wzp_endpoint_get_identity (WzpEndpoint * self)
{
  return self->identity;
}

WzpClock *
wzp_endpoint_get_clock (WzpEndpoint * self)
{
  return self->clock;
}

GMainContext *
wzp_endpoint_get_context (WzpEndpoint * self)
{
  return self->context;
}

/**
 * wzp_endpoint_new:
 * @context: (nullable): where the endpoint runs; %NULL for the thread
 *   default context of the caller
 * @identity: whose certificate this endpoint presents
 * @clock: (nullable): %NULL for the system clock
 */
WzpEndpoint *
wzp_endpoint_new (GMainContext * context, WzpIdentity * identity,
    WzpClock * clock, GError ** error)
{
  return g_initable_new (WZP_TYPE_ENDPOINT, NULL, error, "context", context,
      "identity", identity, "clock", clock, NULL);
}

/* --- GObject ---------------------------------------------------------- */

static gboolean
wzp_endpoint_initable_init_impl (GInitable * initable,
    GCancellable * cancellable, GError ** error)
{
  WzpEndpoint *self = WZP_ENDPOINT (initable);

  if (self->identity == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "an endpoint needs an identity");
    return FALSE;
  }
  self->tls = wzp_tls_context_new (self->identity,
      _wzp_connection_verify_func (), error);
  _wzp_reset_key_derive (self->identity, self->reset_key);
  return self->tls != NULL;
}

static void
wzp_endpoint_initable_init (GInitableIface * iface)
{
  iface->init = wzp_endpoint_initable_init_impl;
}

static void
wzp_endpoint_constructed (GObject * object)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  G_OBJECT_CLASS (wzp_endpoint_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref_thread_default ();
  if (self->clock == NULL)
    self->clock = g_object_ref (wzp_clock_get_system ());

  self->timer_source = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->timer_source, _wzp_endpoint_on_timer, self,
      NULL);
  g_source_attach (self->timer_source, self->context);

  self->flush_source = g_source_new (&ready_time_source_funcs,
      sizeof (GSource));
  g_source_set_callback (self->flush_source,
      _wzp_endpoint_flush_source_dispatch, self, NULL);
  g_source_set_name (self->flush_source, "WzpEndpoint flush");
  g_source_attach (self->flush_source, self->context);
}

static void
wzp_endpoint_dispose (GObject * object)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  if (self->conns) {
    GList *conns;

    wzp_endpoint_close_all (self, 0, "endpoint closed");
    conns = g_hash_table_get_keys (self->conns);
    for (GList * l = conns; l; l = l->next)
      _wzp_endpoint_connection_finished (self, l->data);
    g_list_free (conns);
  }
  if (self->dirty) {
    g_ptr_array_set_size (self->dirty, 0);
  }
  for (guint i = 0; i < G_N_ELEMENTS (self->socks); i++) {
    Sock *s = &self->socks[i];
    if (s->source) {
      g_source_destroy (s->source);
      g_clear_pointer (&s->source, g_source_unref);
    }
    if (s->socket) {
      g_socket_close (s->socket, NULL);
      g_clear_object (&s->socket);
    }
  }
  if (self->timer_source) {
    g_source_destroy (self->timer_source);
    g_clear_pointer (&self->timer_source, g_source_unref);
  }
  if (self->flush_source) {
    g_source_destroy (self->flush_source);
    g_clear_pointer (&self->flush_source, g_source_unref);
  }
  if (self->raw_notify)
    self->raw_notify (self->raw_data);
  self->raw_notify = NULL;
  self->raw_func = NULL;
  clear_source_handlers (self);
  G_OBJECT_CLASS (wzp_endpoint_parent_class)->dispose (object);
}

static void
wzp_endpoint_finalize (GObject * object)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

  g_clear_pointer (&self->conns, g_hash_table_unref);
  g_clear_pointer (&self->cids, g_hash_table_unref);
  g_clear_pointer (&self->timers, g_ptr_array_unref);
  g_clear_pointer (&self->dirty, g_ptr_array_unref);
  g_clear_pointer (&self->dialed, g_ptr_array_unref);
  g_clear_pointer (&self->source_handlers, g_array_unref);
  g_clear_pointer (&self->tls, wzp_tls_context_free);
  g_clear_pointer (&self->half_open_by_source, wzp_source_counter_free);
  g_clear_pointer (&self->conns_by_source, wzp_source_counter_free);
  memset (self->token_secret, 0, sizeof self->token_secret);
  memset (self->reset_key, 0, sizeof self->reset_key);
  g_free (self->tx);
  g_free (self->rx_buffers);
  g_clear_object (&self->identity);
  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (wzp_endpoint_parent_class)->finalize (object);
}

static void
wzp_endpoint_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

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
    case PROP_ACCEPT_INCOMING:
      self->accept_incoming = g_value_get_boolean (value);
      break;
    case PROP_IDLE_TIMEOUT:
      self->idle_timeout = g_value_get_uint64 (value);
      break;
    case PROP_KEEP_ALIVE_INTERVAL:
      self->keep_alive = g_value_get_uint64 (value);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      self->handshake_timeout = g_value_get_uint64 (value);
      break;
    case PROP_INITIAL_RTT:
      self->initial_rtt = g_value_get_uint64 (value);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint (value);
      break;
    case PROP_MAX_CONNECTIONS:
      self->max_connections = g_value_get_uint (value);
      break;
    case PROP_ACK_THRESHOLD:
      self->ack_threshold = g_value_get_uint (value);
      break;
    case PROP_ACK_HOLD:
      self->ack_hold = g_value_get_uint64 (value);
      break;
    case PROP_RETRY:
      self->retry_mode = g_value_get_enum (value);
      break;
    case PROP_RETRY_THRESHOLD:
      self->retry_threshold = g_value_get_uint (value);
      break;
    case PROP_RETRY_THRESHOLD_PER_SOURCE:
      self->retry_threshold_per_source = g_value_get_uint (value);
      break;
    case PROP_MAX_HALF_OPEN:
      self->max_half_open = g_value_get_uint (value);
      break;
    case PROP_MAX_HALF_OPEN_PER_SOURCE:
      self->max_half_open_per_source = g_value_get_uint (value);
      break;
    case PROP_MAX_CONNECTIONS_PER_SOURCE:
      self->max_connections_per_source = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
wzp_endpoint_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  WzpEndpoint *self = WZP_ENDPOINT (object);

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
    case PROP_ACCEPT_INCOMING:
      g_value_set_boolean (value, self->accept_incoming);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint64 (value, self->idle_timeout);
      break;
    case PROP_KEEP_ALIVE_INTERVAL:
      g_value_set_uint64 (value, self->keep_alive);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      g_value_set_uint64 (value, self->handshake_timeout);
      break;
    case PROP_INITIAL_RTT:
      g_value_set_uint64 (value, self->initial_rtt);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, self->max_message_size);
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, self->max_connections);
      break;
    case PROP_ACK_THRESHOLD:
      g_value_set_uint (value, self->ack_threshold);
      break;
    case PROP_ACK_HOLD:
      g_value_set_uint64 (value, self->ack_hold);
      break;
    case PROP_RETRY:
      g_value_set_enum (value, self->retry_mode);
      break;
    case PROP_RETRY_THRESHOLD:
      g_value_set_uint (value, self->retry_threshold);
      break;
    case PROP_RETRY_THRESHOLD_PER_SOURCE:
      g_value_set_uint (value, self->retry_threshold_per_source);
      break;
    case PROP_MAX_HALF_OPEN:
      g_value_set_uint (value, self->max_half_open);
      break;
    case PROP_MAX_HALF_OPEN_PER_SOURCE:
      g_value_set_uint (value, self->max_half_open_per_source);
      break;
    case PROP_MAX_CONNECTIONS_PER_SOURCE:
      g_value_set_uint (value, self->max_connections_per_source);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static gboolean
accept_peer_default (WzpEndpoint * self, const char *fingerprint,
    GSocketAddress * remote)
{
  return TRUE;
}

static void
wzp_endpoint_class_init (WzpEndpointClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->constructed = wzp_endpoint_constructed;
  gobject_class->dispose = wzp_endpoint_dispose;
  gobject_class->finalize = wzp_endpoint_finalize;
  gobject_class->set_property = wzp_endpoint_set_property;
  gobject_class->get_property = wzp_endpoint_get_property;

  /**
   * WzpEndpoint:context:
   *
   * The #GMainContext the endpoint runs on.  The caller iterates it.
   */
  props[PROP_CONTEXT] = g_param_spec_boxed ("context", "Context",
      "GMainContext the endpoint runs on", G_TYPE_MAIN_CONTEXT,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:identity:
   *
   * The identity whose certificate this endpoint presents.
   */
  props[PROP_IDENTITY] = g_param_spec_object ("identity", "Identity",
      "Identity presented in every handshake", WZP_TYPE_IDENTITY,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:clock:
   *
   * Where time comes from; tests pass a #WzpTestClock.
   */
  props[PROP_CLOCK] = g_param_spec_object ("clock", "Clock",
      "Time source for every timer", WZP_TYPE_CLOCK,
      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:accept-incoming:
   *
   * Whether to accept connections dialed to this endpoint.  Each peer is
   * then put to #WzpEndpoint::accept-peer.
   */
  props[PROP_ACCEPT_INCOMING] = g_param_spec_boolean ("accept-incoming",
      "Accept incoming", "Accept QUIC connections dialed to us", FALSE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:idle-timeout:
   *
   * Nanoseconds without a packet from the peer before a connection
   * closes.
   */
  props[PROP_IDLE_TIMEOUT] = g_param_spec_uint64 ("idle-timeout",
      "Idle timeout", "Close a connection after this long without packets "
      "(ns)", WZP_NSEC_PER_MSEC, G_MAXUINT64 / 2, WZP_DEFAULT_IDLE_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:keep-alive-interval:
   *
   * Nanoseconds of silence after which a connection sends a PING, keeping
   * NAT bindings open.
   */
  props[PROP_KEEP_ALIVE_INTERVAL] = g_param_spec_uint64
      ("keep-alive-interval", "Keep-alive interval",
      "Send a PING after this long without sending (ns)", 0,
      G_MAXUINT64, WZP_DEFAULT_KEEP_ALIVE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:handshake-timeout:
   *
   * Nanoseconds a handshake may take before the connection gives up.
   */
  props[PROP_HANDSHAKE_TIMEOUT] = g_param_spec_uint64 ("handshake-timeout",
      "Handshake timeout", "Give up a handshake after this long (ns)",
      WZP_NSEC_PER_MSEC, G_MAXUINT64 / 2, WZP_DEFAULT_HANDSHAKE_TIMEOUT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:initial-rtt:
   *
   * Nanoseconds of RTT a connection assumes until it measures one, for
   * both the connections it dials and those it accepts; it sets how soon
   * a lost handshake packet is sent again (see %WZP_DEFAULT_INITIAL_RTT).
   * #WzpConnectParams can override it per connection.  Applies to
   * connections made after it is set.
   */
  props[PROP_INITIAL_RTT] = g_param_spec_uint64 ("initial-rtt",
      "Initial RTT", "RTT assumed before the first sample (ns)",
      WZP_NSEC_PER_MSEC, 10 * WZP_NSEC_PER_SEC, WZP_DEFAULT_INITIAL_RTT,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-message-size:
   *
   * Largest message accepted from a peer; larger ones are skipped and
   * reported with #WzpConnection::message-too-large.
   */
  props[PROP_MAX_MESSAGE_SIZE] = g_param_spec_uint ("max-message-size",
      "Max message size", "Largest message accepted from a peer (bytes)",
      64, 16 * 1024 * 1024, WZP_DEFAULT_MAX_MESSAGE_SIZE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-connections:
   *
   * New clients are ignored while this many connections are open.
   */
  props[PROP_MAX_CONNECTIONS] = g_param_spec_uint ("max-connections",
      "Max connections", "Open connections at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_CONNECTIONS, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:ack-threshold:
   *
   * Ack-eliciting packets received before a connection acknowledges at
   * once (ngtcp2's ack_thresh); below it, the ACK rides on the next
   * packet we send or leaves after the ACK delay (25 ms).  Applies to
   * connections made after it is set.  A relay, which sends every client
   * a datagram whenever its peer speaks, sets it higher to spare an
   * ACK-only packet per two received.
   */
  props[PROP_ACK_THRESHOLD] = g_param_spec_uint ("ack-threshold",
      "ACK threshold", "Packets received before an immediate ACK", 1, 64,
      WZP_DEFAULT_ACK_THRESHOLD, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:ack-hold:
   *
   * Nanoseconds (0 = off, the default) by which a connection that is
   * streaming datagrams postpones its timers so that a pending ACK rides
   * on the next datagram instead of leaving alone.  ngtcp2 0.12 never
   * bundles an ACK before its delay expires, and that delay is
   * min(max_ack_delay, smoothed RTT / 8): on any RTT below ~200 ms and
   * media 20 ms apart, nearly every received packet got an ACK-only
   * packet of its own, doubling the packet count.  Applies only while
   * the connection sent a datagram in the last 100 ms and has nothing
   * queued (so pacing never holds media back); must stay below the
   * advertised max_ack_delay (25 ms) so the peer's RTT and PTO remain
   * right.  Loss detection, PTO and idle timers fire up to this late.
   */
  props[PROP_ACK_HOLD] = g_param_spec_uint64 ("ack-hold", "ACK hold",
      "Delay timers of datagram-streaming connections so ACKs piggyback "
      "(ns, 0 = off)", 0, 20 * WZP_NSEC_PER_MSEC, 0,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:retry:
   *
   * When a new client must first prove its address with a stateless
   * Retry (see #WzpRetryMode).  Default: auto.
   */
  props[PROP_RETRY] = g_param_spec_enum ("retry", "Retry",
      "When new clients must validate their address with a Retry",
      WZP_TYPE_RETRY_MODE, WZP_RETRY_AUTO,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:retry-threshold:
   *
   * With retry=auto: handshakes in progress (all sources) from which new
   * clients without a token get a Retry.
   */
  props[PROP_RETRY_THRESHOLD] = g_param_spec_uint ("retry-threshold",
      "Retry threshold", "Handshakes in progress from which Retry is used",
      0, G_MAXUINT, WZP_DEFAULT_RETRY_THRESHOLD,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:retry-threshold-per-source:
   *
   * With retry=auto: handshakes in progress from one source (IPv4
   * address, IPv6 /64) from which new clients there get a Retry.
   */
  props[PROP_RETRY_THRESHOLD_PER_SOURCE] = g_param_spec_uint
      ("retry-threshold-per-source", "Retry threshold per source",
      "Handshakes in progress from one source from which Retry is used",
      0, G_MAXUINT, WZP_DEFAULT_RETRY_THRESHOLD_PER_SOURCE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-half-open:
   *
   * Handshakes in progress (accepted connections that have not finished
   * their handshake) at most; Initials beyond it are dropped.
   */
  props[PROP_MAX_HALF_OPEN] = g_param_spec_uint ("max-half-open",
      "Max half-open", "Handshakes in progress at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_HALF_OPEN, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-half-open-per-source:
   *
   * Handshakes in progress from one source (IPv4 address, IPv6 /64) at
   * most.
   */
  props[PROP_MAX_HALF_OPEN_PER_SOURCE] = g_param_spec_uint
      ("max-half-open-per-source", "Max half-open per source",
      "Handshakes in progress from one source at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_HALF_OPEN_PER_SOURCE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  /**
   * WzpEndpoint:max-connections-per-source:
   *
   * Accepted connections (in handshake or open) from one source (IPv4
   * address, IPv6 /64) at most.
   */
  props[PROP_MAX_CONNECTIONS_PER_SOURCE] = g_param_spec_uint
      ("max-connections-per-source", "Max connections per source",
      "Accepted connections from one source at most", 1, G_MAXUINT,
      WZP_DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (gobject_class, N_PROPS, props);

  /**
   * WzpEndpoint::accept-peer:
   * @fingerprint: the identity the peer proved
   * @remote: where it connects from
   *
   * Asked during each incoming handshake, once the peer's identity is
   * known.  Return %FALSE to refuse it: the handshake then fails and the
   * peer is told.  The first handler's answer counts; with no handler,
   * every peer is accepted.  Runs inside packet processing: decide, do
   * not call into the endpoint.
   *
   * Returns: %TRUE to accept
   */
  signals[SIGNAL_ACCEPT_PEER] = g_signal_new_class_handler ("accept-peer",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
      G_CALLBACK (accept_peer_default), g_signal_accumulator_first_wins,
      NULL, NULL, G_TYPE_BOOLEAN, 2, G_TYPE_STRING, G_TYPE_SOCKET_ADDRESS);
  /**
   * WzpEndpoint::incoming-connection:
   * @connection: the new connection (take a reference to keep it)
   *
   * An accepted peer completed its handshake.
   */
  signals[SIGNAL_INCOMING_CONNECTION] =
      g_signal_new ("incoming-connection", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
      WZP_TYPE_CONNECTION);
}

static void
wzp_endpoint_init (WzpEndpoint * self)
{
  self->cids =
      g_hash_table_new (_wzp_endpoint_cid_hash, _wzp_endpoint_cid_equal);
  self->conns = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->timers = g_ptr_array_new ();
  self->dirty = g_ptr_array_new_with_free_func (g_object_unref);
  self->dialed = g_ptr_array_new ();
  self->source_handlers = g_array_new (FALSE, FALSE, sizeof (SourceHandler));
  self->tx = g_new (TxSlot, TX_BATCH);
  self->rx_buffers = g_malloc (RX_BATCH * WZP_RX_BUFFER);
  self->idle_timeout = WZP_DEFAULT_IDLE_TIMEOUT;
  self->keep_alive = WZP_DEFAULT_KEEP_ALIVE;
  self->handshake_timeout = WZP_DEFAULT_HANDSHAKE_TIMEOUT;
  self->initial_rtt = WZP_DEFAULT_INITIAL_RTT;
  self->max_message_size = WZP_DEFAULT_MAX_MESSAGE_SIZE;
  self->max_connections = WZP_DEFAULT_MAX_CONNECTIONS;
  self->ack_threshold = WZP_DEFAULT_ACK_THRESHOLD;
  self->retry_mode = WZP_RETRY_AUTO;
  self->retry_threshold = WZP_DEFAULT_RETRY_THRESHOLD;
  self->retry_threshold_per_source = WZP_DEFAULT_RETRY_THRESHOLD_PER_SOURCE;
  self->max_half_open = WZP_DEFAULT_MAX_HALF_OPEN;
  self->max_half_open_per_source = WZP_DEFAULT_MAX_HALF_OPEN_PER_SOURCE;
  self->max_connections_per_source = WZP_DEFAULT_MAX_CONNECTIONS_PER_SOURCE;
  wzp_random_bytes (self->token_secret, sizeof self->token_secret);
  self->half_open_by_source = wzp_source_counter_new ();
  self->conns_by_source = wzp_source_counter_new ();
  for (guint i = 0; i < G_N_ELEMENTS (self->refuse_logs); i++)
    self->refuse_logs[i] = (WzpLogLimit)
        WZP_LOG_LIMIT_INIT (WZP_LOG_LIMIT_INTERVAL);
  self->token_log = (WzpLogLimit) WZP_LOG_LIMIT_INIT (WZP_LOG_LIMIT_INTERVAL);
}
