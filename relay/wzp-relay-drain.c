/* wzp — draining a relay node (see wzp-relay-drain.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-drain.h"
#include "wzp-log-private.h"
#ifdef WZP_HAVE_HIREDIS
#include "wzp-relay-cluster.h"
#endif

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

struct _RelayDrain
{
  WzpRelay *relay;
  RelayDrainHooks hooks;
  guint64 started;
  guint64 deadline;
  GSource *timer;
  gboolean finished;
};

static gboolean
in_a_room (WzpRelay * relay, const char *fp)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, relay->rooms);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (g_hash_table_contains (((RelayRoom *) value)->members, fp))
      return TRUE;
  return FALSE;
}

gboolean
relay_drain_client_is_idle (WzpRelay * relay, const char *fp)
{
  if (g_hash_table_contains (relay->fp_calls, fp) || in_a_room (relay, fp))
    return FALSE;
#ifdef WZP_HAVE_HIREDIS
  if (relay->cluster && relay_cluster_has_routes (relay->cluster, fp))
    return FALSE;
#endif
  return TRUE;
}

/* The clients to move now: the idle ones, or everyone at the deadline. */
static GPtrArray *
to_move (RelayDrain * self, gboolean all)
{
  GPtrArray *a = g_ptr_array_new ();
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->relay->clients);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    RelayClient *c = value;

    if (c->moved || c->superseded || c->refused || !c->registered)
      continue;
    if (all || (!c->media_leg && relay_drain_client_is_idle (self->relay, c->fp)))
      g_ptr_array_add (a, c);
  }
  return a;
}

static void
finish (RelayDrain * self, gboolean forced)
{
  guint64 took = wzp_clock_get_time (self->relay->clock) - self->started;

  self->finished = TRUE;
  WZP_INFO ("drained in %" G_GUINT64_FORMAT " ms%s", took / WZP_NSEC_PER_MSEC,
      forced ? " (the deadline moved the clients that were still in calls)"
      : "");
  self->hooks.done (self->relay, forced);
}

static gboolean
tick_cb (gpointer data)
{
  RelayDrain *self = data;
  WzpRelay *relay = self->relay;
  guint64 now = wzp_clock_get_time (relay->clock);
  gboolean all = now >= self->deadline;
  g_autoptr (GPtrArray) moving = NULL;

  if (self->finished)
    return G_SOURCE_CONTINUE;
  wzp_timer_source_set_deadline (self->timer, now + RELAY_DRAIN_TICK);
  moving = to_move (self, all);
  for (guint i = 0; i < moving->len; i++) {
    RelayClient *c = g_ptr_array_index (moving, i);
    self->hooks.move (relay, c, all ? "drain deadline" : "idle");
  }
  if (all) {
    finish (self, TRUE);
    return G_SOURCE_CONTINUE;
  }
  /* Done when nothing is hosted here and every client is gone (media
   * legs go with the calls they carried). */
  if (g_hash_table_size (relay->calls) == 0 &&
      g_hash_table_size (relay->rooms) == 0 &&
      g_hash_table_size (relay->registrations) == 0)
    finish (self, FALSE);
  return G_SOURCE_CONTINUE;
}

RelayDrain *
relay_drain_new (WzpRelay * relay, guint64 timeout_ns,
    const RelayDrainHooks * hooks)
{
  RelayDrain *self = g_new0 (RelayDrain, 1);

  self->relay = relay;
  self->hooks = *hooks;
  self->started = wzp_clock_get_time (relay->clock);
  self->deadline = self->started + timeout_ns;
  self->timer = wzp_timer_source_new (relay->clock);
  g_source_set_callback (self->timer, tick_cb, self, NULL);
  g_source_set_name (self->timer, "wzp relay drain");
  g_source_attach (self->timer, relay->context);
  /* The first look at once: idle clients move without delay. */
  wzp_timer_source_set_deadline (self->timer, self->started);
  WZP_INFO ("draining: no new registrations; %u clients, %" G_GUINT64_FORMAT
      " calls, %u rooms; at most %" G_GUINT64_FORMAT " s",
      g_hash_table_size (relay->registrations),
      relay->stats.calls_active + relay->stats.calls_ringing,
      g_hash_table_size (relay->rooms), timeout_ns / WZP_NSEC_PER_SEC);
  return self;
}

void
relay_drain_free (RelayDrain * self)
{
  if (self == NULL)
    return;
  g_source_destroy (self->timer);
  g_source_unref (self->timer);
  g_free (self);
}
