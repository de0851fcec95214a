/* wzp — deadlines for many items on one timer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-deadlines.h"

typedef struct
{
  gpointer item;
  guint64 deadline;
} Entry;

struct _RelayDeadlines
{
  WzpClock *clock;
  GSource *timer;
  GQueue queue;                 /* of Entry, by deadline */
  RelayDeadlineFunc func;
  gpointer user_data;
};

static void
rearm (RelayDeadlines * self)
{
  Entry *head = g_queue_peek_head (&self->queue);

  wzp_timer_source_set_deadline (self->timer, head ? head->deadline :
      WZP_TIME_NONE);
}

static gboolean
on_timer (gpointer user_data)
{
  RelayDeadlines *self = user_data;
  guint64 now = wzp_clock_get_time (self->clock);
  Entry *head;

  while ((head = g_queue_peek_head (&self->queue)) && head->deadline <= now) {
    gpointer item = head->item;

    g_free (g_queue_pop_head (&self->queue));
    self->func (item, self->user_data);
  }
  rearm (self);
  return G_SOURCE_CONTINUE;
}

RelayDeadlines *
relay_deadlines_new (WzpClock * clock, GMainContext * context,
    RelayDeadlineFunc func, gpointer user_data)
{
  RelayDeadlines *self = g_new0 (RelayDeadlines, 1);

  self->clock = g_object_ref (clock);
  self->func = func;
  self->user_data = user_data;
  g_queue_init (&self->queue);
  self->timer = wzp_timer_source_new (clock);
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_set_name (self->timer, "WzpRelay deadlines");
  g_source_attach (self->timer, context);
  return self;
}

void
relay_deadlines_clear (RelayDeadlines * self)
{
  g_queue_clear_full (&self->queue, g_free);
  rearm (self);
}

void
relay_deadlines_free (RelayDeadlines * self)
{
  if (self == NULL)
    return;
  g_queue_clear_full (&self->queue, g_free);
  g_source_destroy (self->timer);
  g_source_unref (self->timer);
  g_object_unref (self->clock);
  g_free (self);
}

gpointer
relay_deadlines_add (RelayDeadlines * self, gpointer item, guint64 deadline)
{
  Entry *e = g_new (Entry, 1);
  GList *after;

  e->item = item;
  e->deadline = deadline;
  /* Almost always the last (one timeout for all); a shortened timeout
   * puts a new entry before older ones. */
  for (after = self->queue.tail; after &&
      ((Entry *) after->data)->deadline > deadline; after = after->prev);
  if (after)
    g_queue_insert_after (&self->queue, after, e);
  else
    g_queue_push_head (&self->queue, e);
  if (self->queue.head->data == e)
    rearm (self);
  return after ? after->next : self->queue.head;
}

void
relay_deadlines_remove (RelayDeadlines * self, gpointer handle)
{
  GList *link = handle;
  gboolean was_head = link == self->queue.head;

  g_free (link->data);
  g_queue_delete_link (&self->queue, link);
  if (was_head)
    rearm (self);
}

guint
relay_deadlines_length (RelayDeadlines * self)
{
  return self->queue.length;
}
