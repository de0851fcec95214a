/* Tests for WzpClock and its timer source: the test clock must fire timers
 * exactly when its time passes their deadline, and never before.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-clock.h"

static gboolean
count_fire (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

static void
iterate_all (GMainContext * ctx)
{
  while (g_main_context_iteration (ctx, FALSE));
}

static void
test_test_clock_fires_at_deadline (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WzpClock) clock = wzp_test_clock_new (1000 * WZP_NSEC_PER_SEC);
  WzpTestClock *tc = WZP_TEST_CLOCK (clock);
  GSource *timer = wzp_timer_source_new (clock);
  guint fired = 0;

  g_source_set_callback (timer, count_fire, &fired, NULL);
  g_source_attach (timer, ctx);
  wzp_timer_source_set_deadline (timer,
      wzp_clock_get_time (clock) + 50 * WZP_NSEC_PER_MSEC);
  g_assert_cmpuint (wzp_test_clock_get_next_deadline (tc), ==,
      1000 * WZP_NSEC_PER_SEC + 50 * WZP_NSEC_PER_MSEC);

  iterate_all (ctx);
  g_assert_cmpuint (fired, ==, 0);

  wzp_test_clock_advance (tc, 49 * WZP_NSEC_PER_MSEC);
  iterate_all (ctx);
  g_assert_cmpuint (fired, ==, 0);

  wzp_test_clock_advance (tc, 1 * WZP_NSEC_PER_MSEC);
  iterate_all (ctx);
  g_assert_cmpuint (fired, ==, 1);

  /* Disarmed after firing: more time does nothing. */
  g_assert_cmpuint (wzp_timer_source_get_deadline (timer), ==, WZP_TIME_NONE);
  g_assert_cmpuint (wzp_test_clock_get_next_deadline (tc), ==, WZP_TIME_NONE);
  wzp_test_clock_advance (tc, 10 * WZP_NSEC_PER_SEC);
  iterate_all (ctx);
  g_assert_cmpuint (fired, ==, 1);

  /* A deadline in the past fires at the next iteration. */
  wzp_timer_source_set_deadline (timer, 1);
  iterate_all (ctx);
  g_assert_cmpuint (fired, ==, 2);

  g_source_destroy (timer);
  g_source_unref (timer);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
test_system_clock_timer (void)
{
  WzpClock *clock = wzp_clock_get_system ();
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (ctx, FALSE);
  guint64 start = wzp_clock_get_time (clock);
  GSource *src;

  g_assert_true (wzp_clock_is_system (clock));
  src = wzp_clock_timeout_add (clock, ctx, 20 * WZP_NSEC_PER_MSEC,
      quit_loop, loop, NULL);
  g_main_loop_run (loop);
  /* Never early; lateness is the scheduler's business, not asserted. */
  g_assert_cmpuint (wzp_clock_get_time (clock) - start, >=,
      20 * WZP_NSEC_PER_MSEC);
  g_source_unref (src);
}

static void
count_notify (gpointer data)
{
  (*(guint *) data) += 100;
}

static gboolean
count_once (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

static void
test_timeout_add_cancel (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WzpClock) clock = wzp_test_clock_new (WZP_NSEC_PER_SEC);
  guint a = 0, b = 0;
  GSource *sa, *sb;

  sa = wzp_clock_timeout_add (clock, ctx, 10, count_once, &a, count_notify);
  sb = wzp_clock_timeout_add (clock, ctx, 10, count_once, &b, count_notify);
  g_source_destroy (sb);
  g_assert_cmpuint (b, ==, 100);        /* notified, never fired */
  wzp_test_clock_advance (WZP_TEST_CLOCK (clock), 10);
  iterate_all (ctx);
  g_assert_cmpuint (a, ==, 101);        /* fired once, then notified */
  wzp_test_clock_advance (WZP_TEST_CLOCK (clock), 1000);
  iterate_all (ctx);
  g_assert_cmpuint (a, ==, 101);
  g_assert_cmpuint (b, ==, 100);
  g_source_unref (sa);
  g_source_unref (sb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clock/test-clock-fires-at-deadline",
      test_test_clock_fires_at_deadline);
  g_test_add_func ("/clock/system-clock-timer", test_system_clock_timer);
  g_test_add_func ("/clock/timeout-add-cancel", test_timeout_add_cancel);
  return g_test_run ();
}
