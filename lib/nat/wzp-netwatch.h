/* wzp — noticing that the host's addresses or routes changed
 *
 * A phone moving from Wi-Fi to cellular, a laptop changing address, a
 * default route that moves to another interface: the candidates a call
 * advertised are stale, and its direct path is probably dead.  A
 * WzpNetWatch listens to the kernel (rtnetlink on Linux: address, link
 * and route events) and emits "changed" once things have settled (a
 * move is several events within a few milliseconds).  Elsewhere it never
 * fires; the call then still notices a move through its direct path's
 * failover (docs/PATH.md, "Network changes").
 *
 * Runs on the GMainContext given at construction, with timers on the
 * given clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"
#include "wzp-clock.h"

G_BEGIN_DECLS

/* Events closer together than this are one change. */
#define WZP_NETWATCH_SETTLE (50 * WZP_NSEC_PER_MSEC)

#define WZP_TYPE_NETWATCH (wzp_netwatch_get_type ())
G_DECLARE_FINAL_TYPE (WzpNetWatch, wzp_netwatch, WZP, NETWATCH, GObject)

WzpNetWatch *wzp_netwatch_new (GMainContext * context, WzpClock * clock,
    GError ** error);

guint64 wzp_netwatch_get_changes (WzpNetWatch * self);

/* Signal "changed" (void): addresses, links or routes changed and have
 * been quiet for WZP_NETWATCH_SETTLE. */

G_END_DECLS
