/* wzp — noticing that the host's addresses or routes changed
 * (see wzp-netwatch.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-netwatch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#ifdef __linux__
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#endif

#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_path

struct _WzpNetWatch
{
  GObject parent;

  GMainContext *context;
  WzpClock *clock;
  int fd;
  GSource *fd_source;
  GSource *settle_timer;
  guint64 events;
  guint64 changes;
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (WzpNetWatch, wzp_netwatch, G_TYPE_OBJECT);

static gboolean
on_settled (gpointer data)
{
  WzpNetWatch *self = data;

  self->changes++;
  WZP_INFO_OBJECT (self, "the host's addresses or routes changed (%"
      G_GUINT64_FORMAT " kernel events)", self->events);
  self->events = 0;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return G_SOURCE_CONTINUE;
}

#ifdef __linux__
/* Counts the address, link and route events in one datagram from the
 * kernel; anything else (or garbage) counts for nothing. */
static guint
count_events (const guint8 * buf, gsize len)
{
  guint n = 0;

  for (const struct nlmsghdr * h = (const struct nlmsghdr *)buf;
      NLMSG_OK (h, len); h = NLMSG_NEXT (h, len)) {
    switch (h->nlmsg_type) {
      case RTM_NEWADDR:
      case RTM_DELADDR:
      case RTM_NEWROUTE:
      case RTM_DELROUTE:
      case RTM_NEWLINK:
      case RTM_DELLINK:
        n++;
        break;
      default:
        break;
    }
  }
  return n;
}

static gboolean
on_readable (gint fd, GIOCondition condition, gpointer data)
{
  WzpNetWatch *self = data;
  guint8 buf[8192] __attribute__((aligned (4)));
  guint n = 0;

  for (;;) {
    ssize_t len = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
    if (len < 0) {
      /* The kernel had more for us than the socket held: something
       * changed, we do not know what. */
      if (errno == ENOBUFS) {
        n++;
        continue;
      }
      break;
    }
    if (len == 0)
      break;
    n += count_events (buf, (gsize) len);
  }
  if (n > 0) {
    self->events += n;
    wzp_timer_source_set_deadline (self->settle_timer,
        wzp_clock_get_time (self->clock) + WZP_NETWATCH_SETTLE);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
open_netlink (WzpNetWatch * self, GError ** error)
{
  struct sockaddr_nl sa = { 0 };

  self->fd = socket (AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
      NETLINK_ROUTE);
  if (self->fd < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
        "netlink socket: %s", g_strerror (errno));
    return FALSE;
  }
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
      RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (bind (self->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
        "netlink bind: %s", g_strerror (errno));
    close (self->fd);
    self->fd = -1;
    return FALSE;
  }
  self->fd_source = g_unix_fd_source_new (self->fd, G_IO_IN);
  g_source_set_callback (self->fd_source, (GSourceFunc) (void (*)(void))
      on_readable, self, NULL);
  g_source_attach (self->fd_source, self->context);
  return TRUE;
}
#endif

/**
 * wzp_netwatch_new:
 * @context: (nullable): where "changed" is emitted; %NULL for the
 *   thread-default context
 * @clock: (nullable): timers' clock; %NULL for the system clock
 *
 * Returns: (transfer full): a watcher; %NULL with @error set if the
 * kernel cannot be asked (on systems without rtnetlink it never fires)
 */
WzpNetWatch *
wzp_netwatch_new (GMainContext * context, WzpClock * clock, GError ** error)
{
  g_autoptr (WzpNetWatch) self = g_object_new (WZP_TYPE_NETWATCH, NULL);

  self->context = context ? g_main_context_ref (context) :
      g_main_context_ref_thread_default ();
  self->clock = g_object_ref (clock ? clock : wzp_clock_get_system ());
  self->settle_timer = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->settle_timer, on_settled, self, NULL);
  g_source_attach (self->settle_timer, self->context);
#ifdef __linux__
  if (!open_netlink (self, error))
    return NULL;
#endif
  return g_steal_pointer (&self);
}

/**
 * wzp_netwatch_get_changes:
 *
 * Returns: how many times "changed" was emitted
 */
guint64
wzp_netwatch_get_changes (WzpNetWatch * self)
{
  g_return_val_if_fail (WZP_IS_NETWATCH (self), 0);
  return self->changes;
}

static void
wzp_netwatch_dispose (GObject * object)
{
  WzpNetWatch *self = WZP_NETWATCH (object);

  if (self->fd_source) {
    g_source_destroy (self->fd_source);
    g_clear_pointer (&self->fd_source, g_source_unref);
  }
  if (self->settle_timer) {
    g_source_destroy (self->settle_timer);
    g_clear_pointer (&self->settle_timer, g_source_unref);
  }
  if (self->fd >= 0) {
    close (self->fd);
    self->fd = -1;
  }
  G_OBJECT_CLASS (wzp_netwatch_parent_class)->dispose (object);
}

static void
wzp_netwatch_finalize (GObject * object)
{
  WzpNetWatch *self = WZP_NETWATCH (object);

  g_clear_object (&self->clock);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (wzp_netwatch_parent_class)->finalize (object);
}

static void
wzp_netwatch_class_init (WzpNetWatchClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);

  gobject_class->dispose = wzp_netwatch_dispose;
  gobject_class->finalize = wzp_netwatch_finalize;

  /**
   * WzpNetWatch::changed:
   *
   * The host's addresses, links or routes changed, and nothing more has
   * happened for %WZP_NETWATCH_SETTLE.
   */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 0);
}

static void
wzp_netwatch_init (WzpNetWatch * self)
{
  self->fd = -1;
}
