/* wzp — the cross-node bus (see wzp-relay-bus.h)
 *
 * Why streams and not PUBLISH/SUBSCRIBE: a subscriber that loses its
 * connection for a moment misses everything published meanwhile, with
 * no way to know.  A stream keeps entries; the reader asks for those
 * after the last id it saw.  The cost is the same one round trip per
 * message, plus trimming (MAXLEN on every XADD, and the reader trims
 * what it has read).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-bus.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

#define STREAM_PREFIX "wzp:bus:"
#define READ_COUNT "256"
/* XREAD blocks this long at most, so a silent reader connection is
 * noticed by RELAY_REDIS_REPLY_TIMEOUT. */
#define READ_BLOCK_MS "1000"

typedef struct
{
  char *to;
  char *json;
  gsize len;
  guint64 queued_at;
} Queued;

struct _RelayBus
{
  RelayRedis *store;
  RelayRedis *reader;
  char *self_id;
  char *stream;
  WzpClock *clock;
  GMainContext *context;
  RelayBusFunc func;
  gpointer user_data;
  char *last_id;                /* the last entry read */
  gboolean reading;             /* an XREAD is in flight */
  GQueue outbox;                /* of Queued */
  RelayBusStats stats;
};

static void
queued_free (gpointer p)
{
  Queued *q = p;

  g_free (q->to);
  g_free (q->json);
  g_free (q);
}

static void read_more (RelayBus * self);

/* --- reading ---------------------------------------------------------- */

static void
trim_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
}

static void
handle_entry (RelayBus * self, redisReply * entry)
{
  redisReply *fields;
  g_autoptr (GError) error = NULL;
  RelayEnvelope *env = NULL;

  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
      entry->element[0]->type != REDIS_REPLY_STRING)
    goto bad;
  g_free (self->last_id);
  self->last_id = g_strndup (entry->element[0]->str, entry->element[0]->len);
  fields = entry->element[1];
  if (fields->type != REDIS_REPLY_ARRAY || fields->elements != 2 ||
      fields->element[0]->type != REDIS_REPLY_STRING ||
      fields->element[1]->type != REDIS_REPLY_STRING ||
      strcmp (fields->element[0]->str, "m") != 0)
    goto bad;
  env = relay_envelope_parse (fields->element[1]->str,
      fields->element[1]->len, &error);
  if (env == NULL)
    goto bad;
  self->stats.received++;
  self->func (env, self->user_data);
  relay_envelope_free (env);
  return;

bad:
  self->stats.bad++;
  WZP_WARNING ("cluster bus: dropped an entry of %s: %s", self->stream,
      error ? error->message : "not one field 'm'");
}

static void
read_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  RelayBus *self = data;
  guint n = 0;

  if (status == RELAY_REDIS_CANCELLED)
    return;
  self->reading = FALSE;
  if (status != RELAY_REDIS_OK)
    return;                     /* read_more() again when it is back */
  if (reply->type == REDIS_REPLY_ARRAY) {
    for (gsize s = 0; s < reply->elements; s++) {
      redisReply *stream = reply->element[s];

      if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
          stream->element[1]->type != REDIS_REPLY_ARRAY)
        continue;
      for (gsize i = 0; i < stream->element[1]->elements; i++, n++)
        handle_entry (self, stream->element[1]->element[i]);
    }
  } else if (reply->type == REDIS_REPLY_ERROR) {
    WZP_WARNING ("cluster bus: XREAD %s: %s", self->stream, reply->str);
  }
  /* What is read is done with: keep the stream short. */
  if (n && self->last_id)
    relay_redis_commandv (self->store, trim_reply, NULL, "XTRIM",
        self->stream, "MINID", self->last_id, NULL);
  read_more (self);
}

static void
read_more (RelayBus * self)
{
  if (self->reading || !relay_redis_is_up (self->reader))
    return;
  self->reading = relay_redis_commandv (self->reader, read_reply, self,
      "XREAD", "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS, "STREAMS",
      self->stream, self->last_id, NULL);
}

static void
reader_state (RelayRedis * r, gboolean up, gpointer data)
{
  RelayBus *self = data;

  if (up)
    read_more (self);
}

/* --- sending ---------------------------------------------------------- */

static void
add_reply (RelayRedis * r, RelayRedisStatus status, redisReply * reply,
    gpointer data)
{
  RelayBus *self = data;
  const char *why;

  if (status == RELAY_REDIS_CANCELLED)
    return;
  if (relay_redis_reply_is_error (status, reply, &why)) {
    self->stats.dropped_failed++;
    WZP_WARNING ("cluster bus: an envelope may be lost: %s", why);
  }
}

static gboolean
send_now (RelayBus * self, const char *to, const char *json, gsize len)
{
  g_autofree char *stream = g_strconcat (STREAM_PREFIX, to, NULL);
  const char *argv[] = { "XADD", stream, "MAXLEN", "~",
    RELAY_BUS_STREAM_MAXLEN, "*", "m", json
  };
  size_t lens[G_N_ELEMENTS (argv)];

  for (guint i = 0; i < G_N_ELEMENTS (argv); i++)
    lens[i] = strlen (argv[i]);
  lens[G_N_ELEMENTS (argv) - 1] = len;
  if (!relay_redis_command (self->store, add_reply, self, G_N_ELEMENTS (argv),
          argv, lens))
    return FALSE;
  relay_redis_commandv (self->store, trim_reply, NULL, "PEXPIRE", stream,
      RELAY_BUS_STREAM_TTL_MS, NULL);
  self->stats.sent++;
  return TRUE;
}

static void
drop_old (RelayBus * self, guint64 now)
{
  Queued *q;

  while ((q = g_queue_peek_head (&self->outbox)) &&
      now - q->queued_at > RELAY_BUS_OUTBOX_MAX_AGE) {
    g_queue_pop_head (&self->outbox);
    self->stats.dropped_outbox++;
    queued_free (q);
  }
}

void
relay_bus_flush (RelayBus * self)
{
  guint64 now = wzp_clock_get_time (self->clock);
  Queued *q;
  guint n = 0;

  drop_old (self, now);
  while ((q = g_queue_peek_head (&self->outbox))) {
    if (!send_now (self, q->to, q->json, q->len))
      break;
    g_queue_pop_head (&self->outbox);
    queued_free (q);
    n++;
  }
  if (n)
    WZP_INFO ("cluster bus: sent %u envelopes that waited for Redis", n);
}

void
relay_bus_send (RelayBus * self, const char *to, RelayEnvelope * env)
{
  gsize len = 0;
  char *json = relay_envelope_to_json (env, &len);
  Queued *q;

  WZP_LOG ("cluster bus: %s -> %s: %s", relay_envelope_kind_to_string
      (env->kind), to, env->fp ? env->fp : "");
  relay_envelope_free (env);
  if (g_queue_is_empty (&self->outbox) && send_now (self, to, json, len)) {
    g_free (json);
    return;
  }
  /* Redis is away (or others wait before us: keep the order). */
  drop_old (self, wzp_clock_get_time (self->clock));
  if (g_queue_get_length (&self->outbox) >= RELAY_BUS_OUTBOX_MAX) {
    self->stats.dropped_outbox++;
    g_free (json);
    return;
  }
  q = g_new0 (Queued, 1);
  q->to = g_strdup (to);
  q->json = json;
  q->len = len;
  q->queued_at = wzp_clock_get_time (self->clock);
  g_queue_push_tail (&self->outbox, q);
  self->stats.queued++;
}

/* --- object ----------------------------------------------------------- */

RelayBus *
relay_bus_new (const RelayRedisTarget * target, RelayRedis * store,
    const char *self_id, WzpClock * clock, GMainContext * context,
    RelayBusFunc func, gpointer user_data)
{
  RelayBus *self = g_new0 (RelayBus, 1);

  self->store = store;
  self->self_id = g_strdup (self_id);
  self->stream = g_strconcat (STREAM_PREFIX, self_id, NULL);
  self->clock = g_object_ref (clock);
  self->context = g_main_context_ref (context);
  self->func = func;
  self->user_data = user_data;
  /* Our id is new on every start: everything in our stream is for us. */
  self->last_id = g_strdup ("0-0");
  g_queue_init (&self->outbox);
  self->reader = relay_redis_new (target, "bus", clock, context,
      reader_state, self);
  return self;
}

void
relay_bus_start (RelayBus * self)
{
  relay_redis_start (self->reader);
}

gboolean
relay_bus_is_reading (RelayBus * self)
{
  return relay_redis_is_up (self->reader);
}

void
relay_bus_get_stats (RelayBus * self, RelayBusStats * stats)
{
  *stats = self->stats;
}

void
relay_bus_free (RelayBus * self)
{
  if (self == NULL)
    return;
  relay_redis_free (self->reader);
  g_queue_clear_full (&self->outbox, queued_free);
  g_object_unref (self->clock);
  g_main_context_unref (self->context);
  g_free (self->last_id);
  g_free (self->stream);
  g_free (self->self_id);
  g_free (self);
}
