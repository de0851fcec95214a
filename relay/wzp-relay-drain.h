/* wzp — draining a relay node: no new registrations, idle clients told
 * to move, done when the calls and rooms here have ended (or at a
 * deadline, when the rest is moved)
 *
 * The core refuses registrations while WzpRelay.draining; this helper
 * watches the clients and says when the node may stop.  It moves a
 * client through the hook (the core sends "move" with the other nodes
 * and closes the connection with 0x103); the client registers at another
 * node at once, and a client moved in a call resumes it there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-relay-private.h"

G_BEGIN_DECLS

/* How often the drain looks at the clients. */
#define RELAY_DRAIN_TICK (200 * WZP_NSEC_PER_MSEC)

typedef struct _RelayDrain RelayDrain;

typedef struct
{
  /* Tell @c to move to another node and close it. */
  void (*move) (WzpRelay * relay, RelayClient * c, const char *why);
  /* Nothing is left: the node may stop. */
  void (*done) (WzpRelay * relay, gboolean forced);
} RelayDrainHooks;

RelayDrain *relay_drain_new (WzpRelay * relay, guint64 timeout_ns,
    const RelayDrainHooks * hooks);
void relay_drain_free (RelayDrain * drain);

/* Is @fp idle here (no call, routed call or room)? */
gboolean relay_drain_client_is_idle (WzpRelay * relay, const char *fp);

G_END_DECLS
