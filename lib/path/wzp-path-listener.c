/* wzp — the gate of an endpoint's accept path for direct connections
 * (see wzp-path-listener.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-listener.h"

#include "wzp-identity.h"
#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

typedef struct
{
  WzpPathListener *self;        /* no reference: it owns us */
  WzpConnection *conn;
  GPtrArray *messages;          /* GBytes */
  gulong message_id;
  gulong closed_id;
} Held;

struct _WzpPathListener
{
  GObject parent;

  WzpEndpoint *endpoint;
  char *peer_fp;                /* normalised; NULL: nobody may connect */
  GPtrArray *held;              /* Held, oldest first */
  gulong accept_peer_id;
  gulong incoming_id;
  gboolean old_accept;
  guint64 refused;
};

enum
{
  SIGNAL_CONNECTION,
  SIGNAL_MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WzpPathListener, wzp_path_listener, G_TYPE_OBJECT);

/* --- held connections ------------------------------------------------- */

/* Forgets @h; closes its connection when @close_reason is set. */
static void
held_free (Held * h, const char *close_reason)
{
  g_clear_signal_handler (&h->message_id, h->conn);
  g_clear_signal_handler (&h->closed_id, h->conn);
  if (close_reason)
    wzp_connection_close (h->conn, 0, close_reason);
  g_clear_pointer (&h->messages, g_ptr_array_unref);
  g_object_unref (h->conn);
  g_free (h);
}

static Held *
find_held (WzpPathListener * self, WzpConnection * conn, guint * index)
{
  for (guint i = 0; i < self->held->len; i++) {
    Held *h = g_ptr_array_index (self->held, i);
    if (h->conn == conn) {
      if (index)
        *index = i;
      return h;
    }
  }
  return NULL;
}

static void
drop_all (WzpPathListener * self, const char *close_reason)
{
  while (self->held->len > 0)
    held_free (g_ptr_array_steal_index (self->held, 0), close_reason);
}

/* Keeps what the peer says before anyone listens: the dialer's path-ok
 * arrives right after its handshake, possibly long before our path
 * manager exists. */
static void
on_held_message (WzpConnection * conn, GBytes * bytes, gpointer data)
{
  Held *h = data;

  if (h->messages->len >= WZP_PATH_LISTENER_MAX_MESSAGES ||
      g_bytes_get_size (bytes) > WZP_PATH_LISTENER_MAX_MESSAGE_SIZE) {
    WZP_DEBUG_OBJECT (h->self, "dropping a %" G_GSIZE_FORMAT "-byte message "
        "on a held connection (%u kept, at most %u of %u bytes)",
        g_bytes_get_size (bytes), h->messages->len,
        WZP_PATH_LISTENER_MAX_MESSAGES, WZP_PATH_LISTENER_MAX_MESSAGE_SIZE);
    return;
  }
  g_ptr_array_add (h->messages, g_bytes_ref (bytes));
  g_signal_emit (h->self, signals[SIGNAL_MESSAGE], 0, conn, bytes);
}

static void
on_held_closed (WzpConnection * conn, const GError * error, gpointer data)
{
  Held *h = data;
  WzpPathListener *self = h->self;
  guint i;

  WZP_DEBUG_OBJECT (self, "a held connection closed: %s", error->message);
  if (find_held (self, conn, &i))
    held_free (g_ptr_array_steal_index (self->held, i), NULL);
}

/* --- the endpoint's accept path --------------------------------------- */

static gboolean
on_accept_peer (WzpEndpoint * endpoint, const char *fingerprint,
    GSocketAddress * remote, gpointer user_data)
{
  WzpPathListener *self = user_data;
  g_autofree char *text = NULL;

  if (self->peer_fp && wzp_fingerprint_equal (fingerprint, self->peer_fp))
    return TRUE;
  self->refused++;
  text = wzp_socket_address_to_string (remote);
  if (self->peer_fp)
    WZP_INFO_OBJECT (self, "refusing %s from %s: only the peer %s may "
        "connect directly", fingerprint, text, self->peer_fp);
  else
    WZP_INFO_OBJECT (self, "refusing %s from %s: no call expects a direct "
        "connection", fingerprint, text);
  return FALSE;
}

static void
on_incoming (WzpEndpoint * endpoint, WzpConnection * conn, gpointer data)
{
  WzpPathListener *self = data;
  g_autoptr (GSocketAddress) remote = NULL;
  g_autofree char *text = NULL;
  Held *h;

  /* accept-peer let only the peer in, but the peer may have changed
   * since its handshake started. */
  if (self->peer_fp == NULL || !wzp_fingerprint_equal
      (wzp_connection_get_peer_fingerprint (conn), self->peer_fp)) {
    wzp_connection_close (conn, 0, "not expected any more");
    return;
  }
  if (self->held->len >= WZP_PATH_LISTENER_MAX_HELD) {
    WZP_DEBUG_OBJECT (self, "%u connections held: closing the oldest",
        self->held->len);
    held_free (g_ptr_array_steal_index (self->held, 0), "too many "
        "connections");
  }
  remote = wzp_connection_get_remote_address (conn);
  text = remote ? wzp_socket_address_to_string (remote) : g_strdup ("?");
  WZP_DEBUG_OBJECT (self, "holding a direct connection from the peer at %s",
      text);
  h = g_new0 (Held, 1);
  h->self = self;
  h->conn = g_object_ref (conn);
  h->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  h->message_id = g_signal_connect (conn, "message",
      G_CALLBACK (on_held_message), h);
  h->closed_id = g_signal_connect (conn, "closed",
      G_CALLBACK (on_held_closed), h);
  g_ptr_array_add (self->held, h);
  g_signal_emit (self, signals[SIGNAL_CONNECTION], 0, conn);
}

/* --- public API ------------------------------------------------------- */

/**
 * wzp_path_listener_new:
 * @endpoint: the call's endpoint
 *
 * Makes @endpoint accept incoming connections (restored when the
 * listener goes) and puts each peer to the listener: nobody gets in until
 * wzp_path_listener_set_peer() names who may.
 *
 * Returns: (transfer full): the listener
 */
WzpPathListener *
wzp_path_listener_new (WzpEndpoint * endpoint)
{
  WzpPathListener *self;

  g_return_val_if_fail (WZP_IS_ENDPOINT (endpoint), NULL);
  self = g_object_new (WZP_TYPE_PATH_LISTENER, NULL);
  self->endpoint = g_object_ref (endpoint);
  self->accept_peer_id = g_signal_connect (endpoint, "accept-peer",
      G_CALLBACK (on_accept_peer), self);
  self->incoming_id = g_signal_connect (endpoint, "incoming-connection",
      G_CALLBACK (on_incoming), self);
  g_object_get (endpoint, "accept-incoming", &self->old_accept, NULL);
  g_object_set (endpoint, "accept-incoming", TRUE, NULL);
  return self;
}

/**
 * wzp_path_listener_set_peer:
 * @fingerprint: (nullable): the only identity that may connect from now
 *   on; %NULL for nobody
 *
 * Names the peer whose direct connections are accepted and held.  The
 * caller sets it as soon as it knows the peer (the callee: when it
 * answers, before call setup) and clears it when the call is over.
 * Connections held for another peer are closed.
 */
void
wzp_path_listener_set_peer (WzpPathListener * self, const char *fingerprint)
{
  g_autofree char *fp = NULL;

  g_return_if_fail (WZP_IS_PATH_LISTENER (self));
  if (fingerprint) {
    fp = wzp_fingerprint_normalize (fingerprint, NULL);
    g_return_if_fail (fp != NULL);
  }
  if (g_strcmp0 (fp, self->peer_fp) == 0)
    return;
  WZP_DEBUG_OBJECT (self, "direct connections accepted from: %s",
      fp ? fp : "nobody");
  drop_all (self, "not expected any more");
  g_free (self->peer_fp);
  self->peer_fp = g_steal_pointer (&fp);
}

/**
 * wzp_path_listener_get_peer:
 *
 * Returns: (nullable): the expected peer's fingerprint (normalised)
 */
const char *
wzp_path_listener_get_peer (WzpPathListener * self)
{
  g_return_val_if_fail (WZP_IS_PATH_LISTENER (self), NULL);
  return self->peer_fp;
}

/**
 * wzp_path_listener_get_held:
 *
 * Returns: (transfer container) (element-type WzpConnection): the held
 * connections, oldest first (references owned by the array)
 */
GPtrArray *
wzp_path_listener_get_held (WzpPathListener * self)
{
  GPtrArray *out;

  g_return_val_if_fail (WZP_IS_PATH_LISTENER (self), NULL);
  out = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->held->len; i++)
    g_ptr_array_add (out, g_object_ref (((Held *)
                g_ptr_array_index (self->held, i))->conn));
  return out;
}

/**
 * wzp_path_listener_take:
 * @conn: a held connection
 * @messages: (out) (transfer full) (element-type GBytes): what arrived on
 *   it while held, in order
 *
 * Hands @conn over: the listener stops watching it and forgets it.
 *
 * Returns: %FALSE if @conn is not held (closed meanwhile, or never)
 */
gboolean
wzp_path_listener_take (WzpPathListener * self, WzpConnection * conn,
    GPtrArray ** messages)
{
  Held *h;
  guint i;

  g_return_val_if_fail (WZP_IS_PATH_LISTENER (self), FALSE);
  g_return_val_if_fail (messages != NULL, FALSE);
  if ((h = find_held (self, conn, &i)) == NULL)
    return FALSE;
  g_ptr_array_steal_index (self->held, i);
  *messages = g_steal_pointer (&h->messages);
  held_free (h, NULL);
  return TRUE;
}

/**
 * wzp_path_listener_get_refused:
 *
 * Returns: how many handshakes the listener refused (a stranger, or
 * anyone while no peer was expected)
 */
guint64
wzp_path_listener_get_refused (WzpPathListener * self)
{
  g_return_val_if_fail (WZP_IS_PATH_LISTENER (self), 0);
  return self->refused;
}

/* --- GObject ---------------------------------------------------------- */

static void
wzp_path_listener_dispose (GObject * object)
{
  WzpPathListener *self = WZP_PATH_LISTENER (object);

  if (self->endpoint) {
    drop_all (self, "call over");
    g_clear_signal_handler (&self->accept_peer_id, self->endpoint);
    g_clear_signal_handler (&self->incoming_id, self->endpoint);
    g_object_set (self->endpoint, "accept-incoming", self->old_accept, NULL);
    g_clear_object (&self->endpoint);
  }
  G_OBJECT_CLASS (wzp_path_listener_parent_class)->dispose (object);
}

static void
wzp_path_listener_finalize (GObject * object)
{
  WzpPathListener *self = WZP_PATH_LISTENER (object);

  g_ptr_array_unref (self->held);
  g_free (self->peer_fp);
  G_OBJECT_CLASS (wzp_path_listener_parent_class)->finalize (object);
}

static void
wzp_path_listener_class_init (WzpPathListenerClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->dispose = wzp_path_listener_dispose;
  gobject_class->finalize = wzp_path_listener_finalize;

  /**
   * WzpPathListener::connection:
   * @conn: the connection, held until taken
   *
   * A direct connection from the expected peer completed its handshake.
   */
  signals[SIGNAL_CONNECTION] = g_signal_new ("connection",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 1, WZP_TYPE_CONNECTION);
  /**
   * WzpPathListener::message:
   * @conn: a held connection
   * @message: what it carried (also kept, for whoever takes @conn)
   *
   * The peer said something before anyone took its connection: the
   * layer above may be waiting for it (an early answer).  A handler may
   * take @conn.
   */
  signals[SIGNAL_MESSAGE] = g_signal_new ("message",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, WZP_TYPE_CONNECTION, G_TYPE_BYTES);
}

static void
wzp_path_listener_init (WzpPathListener * self)
{
  self->held = g_ptr_array_new ();
}
