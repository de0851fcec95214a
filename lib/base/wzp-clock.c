/* wzp — the one place the library reads time
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-clock.h"

typedef struct
{
  GSource source;
  WzpClock *clock;
  guint64 deadline;
} WzpTimerSource;

G_DEFINE_TYPE (WzpClock, wzp_clock, G_TYPE_OBJECT);

static guint64
wzp_clock_system_get_time (WzpClock * clock)
{
  return (guint64) g_get_monotonic_time () * WZP_NSEC_PER_USEC;
}

static void
wzp_clock_class_init (WzpClockClass * klass)
{
  klass->get_time = wzp_clock_system_get_time;
}

static void
wzp_clock_init (WzpClock * self)
{
}

/**
 * wzp_clock_get_system:
 *
 * Returns: (transfer none): the process-wide monotonic clock.
 */
WzpClock *
wzp_clock_get_system (void)
{
  static WzpClock *system_clock;

  if (g_once_init_enter (&system_clock)) {
    WzpClock *c = g_object_new (WZP_TYPE_CLOCK, NULL);
    g_once_init_leave (&system_clock, c);
  }
  return system_clock;
}

gboolean
wzp_clock_is_system (WzpClock * clock)
{
  return G_OBJECT_TYPE (clock) == WZP_TYPE_CLOCK;
}

/**
 * wzp_clock_get_time:
 *
 * Returns: monotonic time in nanoseconds.
 */
guint64
wzp_clock_get_time (WzpClock * clock)
{
  g_return_val_if_fail (WZP_IS_CLOCK (clock), 0);
  return WZP_CLOCK_GET_CLASS (clock)->get_time (clock);
}

/* --- the test clock --------------------------------------------------- */

struct _WzpTestClock
{
  WzpClock parent;
  GMutex lock;
  guint64 now;
  GList *timers;                /* armed WzpTimerSource, not owned */
};

G_DEFINE_FINAL_TYPE (WzpTestClock, wzp_test_clock, WZP_TYPE_CLOCK);

static guint64
wzp_test_clock_get_time_impl (WzpClock * clock)
{
  WzpTestClock *self = WZP_TEST_CLOCK (clock);
  guint64 now;

  g_mutex_lock (&self->lock);
  now = self->now;
  g_mutex_unlock (&self->lock);
  return now;
}

static void
wzp_test_clock_finalize (GObject * object)
{
  WzpTestClock *self = WZP_TEST_CLOCK (object);

  g_list_free (self->timers);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (wzp_test_clock_parent_class)->finalize (object);
}

static void
wzp_test_clock_class_init (WzpTestClockClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = wzp_test_clock_finalize;
  WZP_CLOCK_CLASS (klass)->get_time = wzp_test_clock_get_time_impl;
}

static void
wzp_test_clock_init (WzpTestClock * self)
{
  g_mutex_init (&self->lock);
}

/**
 * wzp_test_clock_new:
 * @start_ns: the initial time; use something far from zero so code that
 *   subtracts intervals from "now" never wraps
 */
WzpClock *
wzp_test_clock_new (guint64 start_ns)
{
  WzpTestClock *self = g_object_new (WZP_TYPE_TEST_CLOCK, NULL);

  self->now = start_ns;
  return WZP_CLOCK (self);
}

static void
wake_timers (WzpTestClock * self)
{
  GList *contexts = NULL;

  g_mutex_lock (&self->lock);
  for (GList * l = self->timers; l; l = l->next) {
    GMainContext *ctx = g_source_get_context (l->data);
    if (ctx && !g_list_find (contexts, ctx))
      contexts = g_list_prepend (contexts, g_main_context_ref (ctx));
  }
  g_mutex_unlock (&self->lock);
  for (GList * l = contexts; l; l = l->next)
    g_main_context_wakeup (l->data);
  g_list_free_full (contexts, (GDestroyNotify) g_main_context_unref);
}

void
wzp_test_clock_set_time (WzpTestClock * self, guint64 now_ns)
{
  g_return_if_fail (WZP_IS_TEST_CLOCK (self));
  g_mutex_lock (&self->lock);
  g_warn_if_fail (now_ns >= self->now);
  self->now = MAX (self->now, now_ns);
  g_mutex_unlock (&self->lock);
  wake_timers (self);
}

void
wzp_test_clock_advance (WzpTestClock * self, guint64 delta_ns)
{
  g_return_if_fail (WZP_IS_TEST_CLOCK (self));
  g_mutex_lock (&self->lock);
  self->now += delta_ns;
  g_mutex_unlock (&self->lock);
  wake_timers (self);
}

/**
 * wzp_test_clock_get_next_deadline:
 *
 * Returns: the earliest deadline of any armed timer on this clock, or
 * %WZP_TIME_NONE.  Tests use it to jump straight to the next event.
 */
guint64
wzp_test_clock_get_next_deadline (WzpTestClock * self)
{
  guint64 next = WZP_TIME_NONE;

  g_mutex_lock (&self->lock);
  for (GList * l = self->timers; l; l = l->next) {
    WzpTimerSource *t = l->data;
    next = MIN (next, t->deadline);
  }
  g_mutex_unlock (&self->lock);
  return next;
}

/* --- timer sources ---------------------------------------------------- */

static gboolean
timer_source_due (WzpTimerSource * t)
{
  return t->deadline != WZP_TIME_NONE
      && wzp_clock_get_time (t->clock) >= t->deadline;
}

/* On the system clock the GLib ready-time does the work; prepare/check
 * only matter for the test clock, whose time GLib cannot see. */
static gboolean
timer_source_prepare (GSource * source, gint * timeout)
{
  WzpTimerSource *t = (WzpTimerSource *) source;

  *timeout = -1;
  if (wzp_clock_is_system (t->clock))
    return FALSE;
  return timer_source_due (t);
}

static gboolean
timer_source_check (GSource * source)
{
  WzpTimerSource *t = (WzpTimerSource *) source;

  if (wzp_clock_is_system (t->clock))
    return FALSE;
  return timer_source_due (t);
}

static gboolean
timer_source_dispatch (GSource * source, GSourceFunc callback, gpointer data)
{
  /* Disarm first: the callback re-arms if it wants another shot. */
  wzp_timer_source_set_deadline (source, WZP_TIME_NONE);
  if (callback == NULL)
    return G_SOURCE_CONTINUE;
  return callback (data);
}

static void
timer_source_finalize (GSource * source)
{
  WzpTimerSource *t = (WzpTimerSource *) source;

  if (WZP_IS_TEST_CLOCK (t->clock)) {
    WzpTestClock *tc = WZP_TEST_CLOCK (t->clock);
    g_mutex_lock (&tc->lock);
    tc->timers = g_list_remove (tc->timers, t);
    g_mutex_unlock (&tc->lock);
  }
  g_clear_object (&t->clock);
}

static GSourceFuncs timer_source_funcs = {
  timer_source_prepare,
  timer_source_check,
  timer_source_dispatch,
  timer_source_finalize,
};

GSource *
wzp_timer_source_new (WzpClock * clock)
{
  GSource *source;
  WzpTimerSource *t;

  g_return_val_if_fail (WZP_IS_CLOCK (clock), NULL);
  source = g_source_new (&timer_source_funcs, sizeof (WzpTimerSource));
  t = (WzpTimerSource *) source;
  t->clock = g_object_ref (clock);
  t->deadline = WZP_TIME_NONE;
  g_source_set_name (source, "WzpTimerSource");
  return source;
}

void
wzp_timer_source_set_deadline (GSource * source, guint64 deadline_ns)
{
  WzpTimerSource *t = (WzpTimerSource *) source;
  gboolean was_armed = t->deadline != WZP_TIME_NONE;

  t->deadline = deadline_ns;
  if (wzp_clock_is_system (t->clock)) {
    /* GLib's ready time is in microseconds; round up so we never fire
     * before the deadline (ngtcp2 would then find nothing expired). */
    g_source_set_ready_time (source, deadline_ns == WZP_TIME_NONE ? -1 :
        (gint64) ((deadline_ns + WZP_NSEC_PER_USEC - 1) / WZP_NSEC_PER_USEC));
    return;
  }

  {
    WzpTestClock *tc = WZP_TEST_CLOCK (t->clock);
    gboolean armed = deadline_ns != WZP_TIME_NONE;
    GMainContext *ctx;

    g_mutex_lock (&tc->lock);
    if (armed && !was_armed)
      tc->timers = g_list_prepend (tc->timers, t);
    else if (!armed && was_armed)
      tc->timers = g_list_remove (tc->timers, t);
    g_mutex_unlock (&tc->lock);
    /* A deadline already in the past must fire without waiting for the
     * next advance(). */
    ctx = g_source_get_context (source);
    if (armed && ctx && timer_source_due (t))
      g_main_context_wakeup (ctx);
  }
}

guint64
wzp_timer_source_get_deadline (GSource * source)
{
  return ((WzpTimerSource *) source)->deadline;
}

typedef struct
{
  GSourceFunc func;
  gpointer data;
  GDestroyNotify notify;
} OneShot;

static gboolean
one_shot_dispatch (gpointer user_data)
{
  OneShot *o = user_data;

  o->func (o->data);
  return G_SOURCE_REMOVE;
}

static void
one_shot_free (gpointer user_data)
{
  OneShot *o = user_data;

  if (o->notify)
    o->notify (o->data);
  g_free (o);
}

/**
 * wzp_clock_timeout_add:
 *
 * The return value of @func is ignored: the timer fires once.  @notify is
 * called on @data when the source is destroyed, fired or not.
 *
 * Returns: (transfer full): the attached source; destroy it to cancel the
 * timer, and unref it when done (unref alone does not cancel).
 */
GSource *
wzp_clock_timeout_add (WzpClock * clock, GMainContext * context,
    guint64 delay_ns, GSourceFunc func, gpointer data, GDestroyNotify notify)
{
  GSource *source = wzp_timer_source_new (clock);
  OneShot *o = g_new0 (OneShot, 1);

  o->func = func;
  o->data = data;
  o->notify = notify;
  g_source_set_callback (source, one_shot_dispatch, o, one_shot_free);
  g_source_attach (source, context);
  wzp_timer_source_set_deadline (source, wzp_clock_get_time (clock) + delay_ns);
  return source;
}

void
wzp_clock_source_destroy_and_unref (GSource * source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

static gboolean
ready_source_dispatch (GSource * source, GSourceFunc callback,
    gpointer user_data)
{
  return callback ? callback (user_data) : G_SOURCE_REMOVE;
}

GSourceFuncs wzp_ready_source_funcs = {
  NULL, NULL, ready_source_dispatch, NULL, NULL, NULL,
};
