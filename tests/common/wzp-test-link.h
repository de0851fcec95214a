/* A lossy, reordering, duplicating UDP link for tests, on a WzpClock.
 *
 * One socket on 127.0.0.1 stands between a client and a server: the
 * client sends to wzp_test_link_get_address(), packets from the server go
 * back to whoever sent last from elsewhere.  Each packet is dropped with
 * probability @loss, else held for @delay plus a uniform share of
 * @jitter (so later packets overtake earlier ones), and sent once more
 * with probability @duplicate (with its own delay).  Decisions come from a
 * GRand seeded with @seed, so a failure can be replayed.
 *
 * Held packets are released by a timer on the clock, so a test on a
 * WzpTestClock that jumps to wzp_test_clock_get_next_deadline() moves the
 * link along with everything else.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-clock.h"

G_BEGIN_DECLS

typedef struct
{
  double loss;
  double duplicate;
  guint64 delay_ns;
  guint64 jitter_ns;
  guint32 seed;
} WzpTestLinkParams;

typedef struct
{
  guint64 received;
  guint64 dropped;
  guint64 duplicated;
  guint64 reordered;            /* sent before a packet that came earlier */
  guint64 sent;
} WzpTestLinkStats;

typedef struct _WzpTestLink WzpTestLink;

WzpTestLink *wzp_test_link_new (GMainContext * context, WzpClock * clock,
    GSocketAddress * server, const WzpTestLinkParams * params);
void wzp_test_link_free (WzpTestLink * link);
GSocketAddress *wzp_test_link_get_address (WzpTestLink * link);
void wzp_test_link_get_stats (WzpTestLink * link, WzpTestLinkStats * stats);
/* Changes the loss from now on (1.0 cuts the link, 0 restores it);
 * packets already held are still delivered. */
void wzp_test_link_set_loss (WzpTestLink * link, double loss);
/* A NAT rebinding: from now on the link talks to the server from a new
 * socket (a new port); the client's address for it stays the same. */
void wzp_test_link_rebind (WzpTestLink * link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpTestLink, wzp_test_link_free)

G_END_DECLS
