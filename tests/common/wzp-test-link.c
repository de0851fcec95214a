/* A lossy, reordering, duplicating UDP link for tests, on a WzpClock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-test-link.h"

#include <string.h>
#include <sys/socket.h>

typedef struct
{
  guint64 due;
  guint64 serial;               /* arrival order, to count overtaking */
  gboolean to_server;
  gsize len;
  guint8 data[];
} Held;

struct _WzpTestLink
{
  WzpTestLinkParams params;
  WzpClock *clock;
  GMainContext *context;
  GSocket *socket;              /* the client talks to this one */
  GSocket *server_socket;       /* and the server to this one (rebind) */
  GSource *server_source;
  GSocketAddress *server;
  GSocketAddress *client;       /* the last sender that is not the server */
  GSource *read_source;
  GSource *timer;
  GRand *rand;
  GQueue held;                  /* Held, sorted by due time */
  guint64 serial;
  guint64 last_sent_serial;
  WzpTestLinkStats stats;
};

static gboolean
same_address (GSocketAddress * a, GSocketAddress * b)
{
  GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS (a);
  GInetSocketAddress *ib = G_INET_SOCKET_ADDRESS (b);

  return g_inet_socket_address_get_port (ia) ==
      g_inet_socket_address_get_port (ib) &&
      g_inet_address_equal (g_inet_socket_address_get_address (ia),
      g_inet_socket_address_get_address (ib));
}

static gint
by_due (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Held *x = a, *y = b;

  if (x->due != y->due)
    return x->due < y->due ? -1 : 1;
  return x->serial < y->serial ? -1 : 1;
}

static void
rearm (WzpTestLink * link)
{
  Held *h = g_queue_peek_head (&link->held);

  wzp_timer_source_set_deadline (link->timer, h ? h->due : WZP_TIME_NONE);
}

static void
hold (WzpTestLink * link, const guint8 * data, gsize len, gboolean to_server,
    guint64 serial)
{
  Held *h = g_malloc (sizeof (Held) + len);
  guint64 jitter = link->params.jitter_ns ?
      (guint64) (g_rand_double (link->rand) * link->params.jitter_ns) : 0;

  h->due = wzp_clock_get_time (link->clock) + link->params.delay_ns + jitter;
  h->serial = serial;
  h->to_server = to_server;
  h->len = len;
  memcpy (h->data, data, len);
  g_queue_insert_sorted (&link->held, h, by_due, NULL);
}

static gboolean
on_readable (GSocket * socket, GIOCondition cond, gpointer user_data)
{
  WzpTestLink *link = user_data;
  guint8 buf[65536];

  for (;;) {
    g_autoptr (GSocketAddress) from = NULL;
    gssize n = g_socket_receive_from (socket, &from, (gchar *) buf,
        sizeof buf, NULL, NULL);
    gboolean to_server;
    guint64 serial;

    if (n < 0)
      break;
    link->stats.received++;
    to_server = !same_address (from, link->server);
    if (to_server) {
      g_clear_object (&link->client);
      link->client = g_object_ref (from);
    }
    serial = ++link->serial;
    /* After a rebind, the server's packets to the old mapping are lost. */
    if (!to_server && link->server_socket && socket != link->server_socket) {
      link->stats.dropped++;
      continue;
    }
    if (g_rand_double (link->rand) < link->params.loss) {
      link->stats.dropped++;
      continue;
    }
    hold (link, buf, n, to_server, serial);
    if (g_rand_double (link->rand) < link->params.duplicate) {
      link->stats.duplicated++;
      hold (link, buf, n, to_server, serial);
    }
  }
  rearm (link);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timer (gpointer user_data)
{
  WzpTestLink *link = user_data;
  guint64 now = wzp_clock_get_time (link->clock);
  Held *h;

  while ((h = g_queue_peek_head (&link->held)) && h->due <= now) {
    GSocketAddress *to = h->to_server ? link->server : link->client;

    g_queue_pop_head (&link->held);
    if (h->serial < link->last_sent_serial)
      link->stats.reordered++;
    link->last_sent_serial = MAX (link->last_sent_serial, h->serial);
    if (to && g_socket_send_to (h->to_server && link->server_socket ?
            link->server_socket : link->socket, to, (gchar *) h->data,
            h->len, NULL, NULL) >= 0)
      link->stats.sent++;
    g_free (h);
  }
  rearm (link);
  return G_SOURCE_CONTINUE;
}

WzpTestLink *
wzp_test_link_new (GMainContext * context, WzpClock * clock,
    GSocketAddress * server, const WzpTestLinkParams * params)
{
  WzpTestLink *link = g_new0 (WzpTestLink, 1);
  g_autoptr (GInetAddress) lo =
      g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GError *error = NULL;

  link->params = *params;
  link->clock = g_object_ref (clock);
  link->context = g_main_context_ref (context);
  link->server = g_object_ref (server);
  link->rand = g_rand_new_with_seed (params->seed);
  g_queue_init (&link->held);
  link->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (link->socket, FALSE);
  /* Bursts of a fast sender must not be lost in the kernel, only here. */
  g_socket_set_option (link->socket, SOL_SOCKET, SO_RCVBUF, 4 << 20, NULL);
  g_socket_bind (link->socket, any, FALSE, &error);
  g_assert_no_error (error);

  link->read_source = g_socket_create_source (link->socket, G_IO_IN, NULL);
  g_source_set_callback (link->read_source, (GSourceFunc) (void (*)(void))
      on_readable, link, NULL);
  g_source_attach (link->read_source, context);
  link->timer = wzp_timer_source_new (clock);
  g_source_set_callback (link->timer, on_timer, link, NULL);
  g_source_attach (link->timer, context);
  return link;
}

void
wzp_test_link_free (WzpTestLink * link)
{
  if (link == NULL)
    return;
  g_source_destroy (link->read_source);
  g_source_unref (link->read_source);
  if (link->server_source) {
    g_source_destroy (link->server_source);
    g_source_unref (link->server_source);
  }
  g_clear_object (&link->server_socket);
  g_main_context_unref (link->context);
  g_source_destroy (link->timer);
  g_source_unref (link->timer);
  g_queue_clear_full (&link->held, g_free);
  g_clear_object (&link->socket);
  g_clear_object (&link->server);
  g_clear_object (&link->client);
  g_clear_object (&link->clock);
  g_rand_free (link->rand);
  g_free (link);
}

GSocketAddress *
wzp_test_link_get_address (WzpTestLink * link)
{
  return g_socket_get_local_address (link->socket, NULL);
}

void
wzp_test_link_get_stats (WzpTestLink * link, WzpTestLinkStats * stats)
{
  *stats = link->stats;
}

void
wzp_test_link_set_loss (WzpTestLink * link, double loss)
{
  link->params.loss = loss;
}

void
wzp_test_link_rebind (WzpTestLink * link)
{
  g_autoptr (GInetAddress) lo =
      g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GError *error = NULL;

  if (link->server_source) {
    g_source_destroy (link->server_source);
    g_clear_pointer (&link->server_source, g_source_unref);
  }
  g_clear_object (&link->server_socket);
  link->server_socket = g_socket_new (G_SOCKET_FAMILY_IPV4,
      G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (link->server_socket, FALSE);
  g_socket_bind (link->server_socket, any, FALSE, &error);
  g_assert_no_error (error);
  /* What the server sends to the new socket comes back the same way. */
  link->server_source = g_socket_create_source (link->server_socket, G_IO_IN,
      NULL);
  g_source_set_callback (link->server_source, (GSourceFunc) (void (*)(void))
      on_readable, link, NULL);
  g_source_attach (link->server_source, link->context);
}
