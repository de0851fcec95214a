/* Helpers shared by the GLib tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-test-util.h"

static gboolean
nothing (gpointer data)
{
  return G_SOURCE_REMOVE;
}

void
wzp_test_iterate (GMainContext * ctx, guint max_ms)
{
  GSource *wake = g_timeout_source_new (max_ms);

  g_source_set_callback (wake, nothing, NULL, NULL);
  g_source_attach (wake, ctx);
  g_main_context_iteration (ctx, TRUE);
  g_source_destroy (wake);
  g_source_unref (wake);
}

void
wzp_test_run_for (GMainContext * ctx, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    wzp_test_iterate (ctx, 10);
}

void
wzp_test_drain (GMainContext * ctx)
{
  while (g_main_context_iteration (ctx, FALSE));
}
