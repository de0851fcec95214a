/* wzp — the one place the library reads time
 *
 * Every timer that decides behaviour (ngtcp2's expiry, keep-alives, ring
 * timeouts, the path race and failover) asks a WzpClock, never the system
 * directly.  Tests pass a WzpTestClock and move time by hand, so timer
 * logic is tested without sleeping.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

/* Time in the library is nanoseconds on a monotonic clock, as in ngtcp2. */
#define WZP_NSEC_PER_USEC G_GUINT64_CONSTANT (1000)
#define WZP_NSEC_PER_MSEC G_GUINT64_CONSTANT (1000000)
#define WZP_NSEC_PER_SEC G_GUINT64_CONSTANT (1000000000)
#define WZP_TIME_NONE G_MAXUINT64

#define WZP_TYPE_CLOCK (wzp_clock_get_type ())
G_DECLARE_DERIVABLE_TYPE (WzpClock, wzp_clock, WZP, CLOCK, GObject)

struct _WzpClockClass
{
  GObjectClass parent_class;

  guint64 (*get_time) (WzpClock * clock);

  gpointer padding[4];
};

WzpClock *wzp_clock_get_system (void);

guint64 wzp_clock_get_time (WzpClock * clock);

gboolean wzp_clock_is_system (WzpClock * clock);

/* A GSource that fires once at a deadline on the given clock; re-arm it
 * with wzp_timer_source_set_deadline().  It never fires while disarmed
 * (deadline WZP_TIME_NONE) and it disarms itself before dispatching. */
GSource *wzp_timer_source_new (WzpClock * clock);

void wzp_timer_source_set_deadline (GSource * source, guint64 deadline_ns);

guint64 wzp_timer_source_get_deadline (GSource * source);

/* One-shot convenience: attaches a timer to @context that calls @func once
 * @delay_ns from now.  Returns a new reference to the source: destroy it to
 * cancel the timer, unref it when done. */
GSource *wzp_clock_timeout_add (WzpClock * clock, GMainContext * context,
    guint64 delay_ns, GSourceFunc func, gpointer data, GDestroyNotify notify);

/* Destroys and unrefs a source from wzp_clock_timeout_add(): for
 * g_clear_pointer(). */
void wzp_clock_source_destroy_and_unref (GSource * source);

/* Funcs for a source that is dispatched whenever its ready time says so
 * (g_source_set_ready_time (s, 0) from any thread wakes the context):
 * cross-thread wake-ups and deferred flushes. */
extern GSourceFuncs wzp_ready_source_funcs;

#define WZP_TYPE_TEST_CLOCK (wzp_test_clock_get_type ())
G_DECLARE_FINAL_TYPE (WzpTestClock, wzp_test_clock, WZP, TEST_CLOCK, WzpClock)

WzpClock *wzp_test_clock_new (guint64 start_ns);

void wzp_test_clock_set_time (WzpTestClock * clock, guint64 now_ns);

void wzp_test_clock_advance (WzpTestClock * clock, guint64 delta_ns);

guint64 wzp_test_clock_get_next_deadline (WzpTestClock * clock);

G_END_DECLS
