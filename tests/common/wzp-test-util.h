/* Helpers shared by the GLib tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Iterates @ctx once, blocking at most @max_ms. */
void wzp_test_iterate (GMainContext * ctx, guint max_ms);

/* Iterates @ctx until @cond holds.  The bound only catches hangs; it is
 * generous on purpose (CI machines are slow and shared). */
#define wzp_test_wait_until(ctx, cond, timeout_ms) G_STMT_START {          \
  gint64 _wzp_end = g_get_monotonic_time () + (gint64) (timeout_ms) * 1000;\
  while (!(cond)) {                                                       \
    if (g_get_monotonic_time () > _wzp_end)                               \
      g_error ("%s:%d: timed out after %d ms waiting for: %s",            \
          __FILE__, __LINE__, (int) (timeout_ms), #cond);                 \
    wzp_test_iterate ((ctx), 20);                                         \
  }                                                                       \
} G_STMT_END

/* Iterates @ctx for @ms of wall time, whatever happens. */
void wzp_test_run_for (GMainContext * ctx, guint ms);

/* Iterates without blocking until nothing is pending. */
void wzp_test_drain (GMainContext * ctx);

G_END_DECLS
