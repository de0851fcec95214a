/* A NAT in front of a relay, for tests (see wzp-test-nat.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-test-nat.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <glib-unix.h>

typedef struct _Front Front;

/* One client's mapping through one front: its outside socket. */
typedef struct
{
  Front *front;
  WzpAddr inside;
  int fd;
  GSource *source;
} Mapping;

struct _Front
{
  WzpTestNat *nat;
  gboolean media;
  int fd;
  GSource *source;
  WzpAddr target;               /* the relay's port behind this front */
  GPtrArray *mappings;          /* Mapping */
};

struct _WzpTestNat
{
  GMainContext *context;
  Front fronts[2];              /* [0] QUIC, [1] media */
  gboolean block_media;
  WzpTestNatStats stats;
};

static int
udp_socket (const char *host, guint16 port)
{
  struct sockaddr_in sin = { 0 };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  sin.sin_family = AF_INET;
  sin.sin_port = htons (port);
  g_assert_cmpint (inet_pton (AF_INET, host, &sin.sin_addr), ==, 1);
  if (bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0)
    g_error ("test NAT: bind %s:%u: %s", host, port, g_strerror (errno));
  return fd;
}

static GSource *
watch (WzpTestNat * nat, int fd, GUnixFDSourceFunc func, gpointer data)
{
  GSource *s = g_unix_fd_source_new (fd, G_IO_IN);

  g_source_set_callback (s, G_SOURCE_FUNC (func), data, NULL);
  g_source_attach (s, nat->context);
  return s;
}

static gboolean
dropped (Front * f)
{
  if (f->media && f->nat->block_media) {
    f->nat->stats.blocked++;
    return TRUE;
  }
  return FALSE;
}

/* Relay -> client: back out through the front, to the inside address. */
static gboolean
on_outside (gint fd, GIOCondition cond, gpointer user_data)
{
  Mapping *m = user_data;
  guint8 buf[2048];
  ssize_t n;

  while ((n = recv (fd, buf, sizeof buf, 0)) >= 0) {
    if (dropped (m->front))
      continue;
    if (sendto (m->front->fd, buf, n, 0,
            (struct sockaddr *) &m->inside.storage, m->inside.len) == n)
      m->front->nat->stats.forwarded++;
  }
  return G_SOURCE_CONTINUE;
}

static void
mapping_free (gpointer p)
{
  Mapping *m = p;

  g_source_destroy (m->source);
  g_source_unref (m->source);
  close (m->fd);
  g_free (m);
}

static Mapping *
mapping_for (Front * f, const WzpAddr * inside)
{
  Mapping *m;

  for (guint i = 0; i < f->mappings->len; i++) {
    m = g_ptr_array_index (f->mappings, i);
    if (wzp_addr_equal (&m->inside, inside))
      return m;
  }
  m = g_new0 (Mapping, 1);
  m->front = f;
  m->inside = *inside;
  m->fd = udp_socket ("127.0.0.1", 0);
  m->source = watch (f->nat, m->fd, on_outside, m);
  g_ptr_array_add (f->mappings, m);
  return m;
}

/* Client -> relay: out through the client's own mapping. */
static gboolean
on_front (gint fd, GIOCondition cond, gpointer user_data)
{
  Front *f = user_data;
  guint8 buf[2048];
  WzpAddr from;
  ssize_t n;

  for (;;) {
    from.len = sizeof from.storage;
    n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &from.storage,
        &from.len);
    if (n < 0)
      break;
    if (dropped (f))
      continue;
    if (sendto (mapping_for (f, &from)->fd, buf, n, 0,
            (struct sockaddr *) &f->target.storage, f->target.len) == n)
      f->nat->stats.forwarded++;
  }
  return G_SOURCE_CONTINUE;
}

static void
front_init (WzpTestNat * nat, Front * f, const char *host, guint16 port,
    GSocketAddress * target, gboolean media)
{
  f->nat = nat;
  f->media = media;
  g_assert_true (wzp_addr_from_gsocketaddress (&f->target, target));
  f->fd = udp_socket (host, port);
  f->source = watch (nat, f->fd, on_front, f);
  f->mappings = g_ptr_array_new_with_free_func (mapping_free);
}

/**
 * wzp_test_nat_new:
 * @front_host: a loopback IP other than the relay's (127.0.0.2)
 * @relay_media: the relay's media port; the media front listens on
 *   @front_host with the same port number
 */
WzpTestNat *
wzp_test_nat_new (GMainContext * context, const char *front_host,
    GSocketAddress * relay_quic, GSocketAddress * relay_media)
{
  WzpTestNat *nat = g_new0 (WzpTestNat, 1);

  nat->context = g_main_context_ref (context);
  front_init (nat, &nat->fronts[0], front_host, 0, relay_quic, FALSE);
  front_init (nat, &nat->fronts[1], front_host,
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (relay_media)),
      relay_media, TRUE);
  return nat;
}

void
wzp_test_nat_free (WzpTestNat * nat)
{
  for (guint i = 0; i < 2; i++) {
    Front *f = &nat->fronts[i];
    g_ptr_array_unref (f->mappings);
    g_source_destroy (f->source);
    g_source_unref (f->source);
    close (f->fd);
  }
  g_main_context_unref (nat->context);
  g_free (nat);
}

GSocketAddress *
wzp_test_nat_get_quic_address (WzpTestNat * nat)
{
  WzpAddr a;

  a.len = sizeof a.storage;
  getsockname (nat->fronts[0].fd, (struct sockaddr *) &a.storage, &a.len);
  return wzp_addr_to_gsocketaddress (&a);
}

void
wzp_test_nat_rebind (WzpTestNat * nat, const WzpAddr * inside)
{
  for (guint i = 0; i < 2; i++) {
    Front *f = &nat->fronts[i];
    for (guint j = 0; j < f->mappings->len; j++) {
      Mapping *m = g_ptr_array_index (f->mappings, j);
      if (wzp_addr_equal (&m->inside, inside)) {
        g_ptr_array_remove_index (f->mappings, j);
        nat->stats.rebinds++;
        break;
      }
    }
  }
}

void
wzp_test_nat_set_block_media (WzpTestNat * nat, gboolean block)
{
  nat->block_media = block;
}

void
wzp_test_nat_get_stats (WzpTestNat * nat, WzpTestNatStats * stats)
{
  *stats = nat->stats;
}
