/* wzp — one connection to Redis on the relay's main context (hiredis)
 *
 * hiredis does the protocol; this file does the life around it: the
 * address, AUTH and SELECT, a GSource for the socket, a deadline for the
 * connect and for every reply, and reconnecting with backoff.
 *
 * Why not hiredis's own adapters/glib.h: its dispatch calls
 * redisAsyncHandleWrite() and then redisAsyncHandleRead() on the same
 * context, and the first may have freed it (a failed connect or write
 * disconnects at once), and its cleanup leaves the GSource attached with
 * a pointer to the freed context.  The source below stops touching the
 * context the moment hiredis cleans it up, and owns itself from then on.
 *
 * hiredis 0.14 writes with write(2), so a Redis that closed its end
 * raises SIGPIPE: relay_redis_new() ignores SIGPIPE for the process (GIO
 * sends with MSG_NOSIGNAL, so nothing else here relies on it).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-redis.h"
#include "wzp-log-private.h"

#include <gio/gio.h>
#include <hiredis/async.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

/* How often the deadlines (connect, overdue reply) are looked at. */
#define TICK (250 * WZP_NSEC_PER_MSEC)

typedef enum
{
  STATE_DOWN,
  STATE_RESOLVING,
  STATE_CONNECTING,
  STATE_HANDSHAKE,              /* AUTH / SELECT sent */
  STATE_UP,
} State;

struct _RelayRedis
{
  RelayRedisTarget target;
  char *name;
  char *where;
  WzpClock *clock;
  GMainContext *context;
  RelayRedisStateFunc state_func;
  gpointer user_data;

  State state;
  redisAsyncContext *ac;
  GCancellable *resolving;
  guint handshake_pending;
  guint64 connect_deadline;
  guint64 backoff;
  GSource *retry;
  GSource *tick;
  GQueue pending;               /* of Cmd, oldest first */
  gboolean started;
  gboolean freeing;
  guint in_callback;
  gboolean free_later;
  guint64 warned_at;
  RelayRedisStats stats;
};

typedef struct
{
  RelayRedis *redis;
  RelayRedisReplyFunc func;
  gpointer data;
  guint64 sent;
  gboolean internal;            /* AUTH / SELECT of the handshake */
  GList link;
} Cmd;

/* --- the target ------------------------------------------------------- */

void
relay_redis_target_clear (RelayRedisTarget * t)
{
  g_clear_pointer (&t->host, g_free);
  g_clear_pointer (&t->path, g_free);
  if (t->password)
    memset (t->password, 0, strlen (t->password));
  g_clear_pointer (&t->password, g_free);
  t->port = 0;
  t->db = 0;
}

static gboolean
parse_db (const char *text, guint * db, const char *url, GError ** error)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (text, 10, 0, 15, &v, NULL)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s': the database must be a number from 0 to 15", url);
    return FALSE;
  }
  *db = (guint) v;
  return TRUE;
}

/**
 * relay_redis_target_parse:
 * @url: "redis://[:PASSWORD@]HOST[:PORT][/DB]" (an IPv6 host in
 *   brackets) or "unix:/PATH[?db=N]"
 */
gboolean
relay_redis_target_parse (const char *url, RelayRedisTarget * out,
    GError ** error)
{
  RelayRedisTarget t = { 0 };
  const char *rest, *slash, *at, *hostport;
  g_autofree char *authority = NULL;

  if (url == NULL || *url == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "no Redis URL");
    return FALSE;
  }
  if (g_str_has_prefix (url, "unix:")) {
    const char *q;

    rest = url + strlen ("unix:");
    q = strchr (rest, '?');
    t.path = q ? g_strndup (rest, q - rest) : g_strdup (rest);
    if (t.path[0] != '/') {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "'%s': a unix socket must be an absolute path (unix:/run/redis.sock)",
          url);
      relay_redis_target_clear (&t);
      return FALSE;
    }
    if (q && (!g_str_has_prefix (q, "?db=") ||
            !parse_db (q + strlen ("?db="), &t.db, url, error))) {
      if (error && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
            "'%s': the only option of a unix URL is ?db=N", url);
      relay_redis_target_clear (&t);
      return FALSE;
    }
    *out = t;
    return TRUE;
  }
  if (!g_str_has_prefix (url, "redis://")) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not a Redis URL: redis://HOST:PORT[/DB] or unix:/PATH", url);
    return FALSE;
  }
  rest = url + strlen ("redis://");
  slash = strchr (rest, '/');
  authority = slash ? g_strndup (rest, slash - rest) : g_strdup (rest);
  if (slash && slash[1] != '\0' && !parse_db (slash + 1, &t.db, url, error))
    return FALSE;
  at = strrchr (authority, '@');
  hostport = authority;
  if (at) {
    const char *colon = memchr (authority, ':', at - authority);
    /* "user:password@" or ":password@"; Redis 6 users are not used. */
    t.password = colon ? g_strndup (colon + 1, at - colon - 1) :
        g_strndup (authority, at - authority);
    hostport = at + 1;
  }
  {
    g_autoptr (GSocketConnectable) c = NULL;
    g_autoptr (GError) local = NULL;
    char *host = NULL;
    guint16 port = 0;

    c = g_network_address_parse (hostport, 6379, &local);
    if (c == NULL || *hostport == '\0') {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "'%s': bad host or port%s%s", url, local ? ": " : "",
          local ? local->message : "");
      relay_redis_target_clear (&t);
      return FALSE;
    }
    host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (c)));
    port = g_network_address_get_port (G_NETWORK_ADDRESS (c));
    t.host = host;
    t.port = port ? port : 6379;
  }
  *out = t;
  return TRUE;
}

char *
relay_redis_target_describe (const RelayRedisTarget * t)
{
  if (t->path)
    return t->db ? g_strdup_printf ("unix:%s?db=%u", t->path, t->db) :
        g_strdup_printf ("unix:%s", t->path);
  if (strchr (t->host, ':'))
    return g_strdup_printf ("redis://[%s]:%u/%u", t->host, t->port, t->db);
  return g_strdup_printf ("redis://%s:%u/%u", t->host, t->port, t->db);
}

/* --- the socket as a GSource ------------------------------------------ */

typedef struct
{
  GSource source;
  redisAsyncContext *ac;        /* NULL once hiredis cleaned up */
  GPollFD pfd;
} Watch;

static gboolean
watch_prepare (GSource * s, gint * timeout)
{
  *timeout = -1;
  return FALSE;
}

static gboolean
watch_check (GSource * s)
{
  Watch *w = (Watch *) s;

  return w->ac && (w->pfd.revents & (w->pfd.events | G_IO_ERR | G_IO_HUP));
}

static gboolean
watch_dispatch (GSource * s, GSourceFunc cb, gpointer data)
{
  Watch *w = (Watch *) s;
  gushort rev = w->pfd.revents;

  w->pfd.revents = 0;
  /* Each call may free the context (hiredis then runs our cleanup, which
   * clears w->ac): look again before the next one. */
  if (w->ac && (rev & G_IO_OUT))
    redisAsyncHandleWrite (w->ac);
  if (w->ac && (rev & (G_IO_IN | G_IO_ERR | G_IO_HUP)))
    redisAsyncHandleRead (w->ac);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = {
  .prepare = watch_prepare,
  .check = watch_check,
  .dispatch = watch_dispatch,
};

static void
watch_set (Watch * w, gushort flag, gboolean on)
{
  if (on)
    w->pfd.events |= flag;
  else
    w->pfd.events &= ~flag;
  /* Poll again with the new events (we may be in another source's
   * dispatch, the poll set is rebuilt next iteration). */
  g_main_context_wakeup (g_source_get_context ((GSource *) w));
}

static void
watch_add_read (void *p)
{
  watch_set (p, G_IO_IN, TRUE);
}

static void
watch_del_read (void *p)
{
  watch_set (p, G_IO_IN, FALSE);
}

static void
watch_add_write (void *p)
{
  watch_set (p, G_IO_OUT, TRUE);
}

static void
watch_del_write (void *p)
{
  watch_set (p, G_IO_OUT, FALSE);
}

/* hiredis is freeing the context: let go of it, and of ourselves. */
static void
watch_cleanup (void *p)
{
  Watch *w = p;

  w->ac = NULL;
  g_source_remove_poll ((GSource *) w, &w->pfd);
  g_source_destroy ((GSource *) w);
  g_source_unref ((GSource *) w);
}

static void
watch_attach (redisAsyncContext * ac, GMainContext * context)
{
  Watch *w = (Watch *) g_source_new (&watch_funcs, sizeof (Watch));

  w->ac = ac;
  w->pfd.fd = ac->c.fd;
  g_source_add_poll ((GSource *) w, &w->pfd);
  g_source_set_name ((GSource *) w, "wzp redis");
  ac->ev.addRead = watch_add_read;
  ac->ev.delRead = watch_del_read;
  ac->ev.addWrite = watch_add_write;
  ac->ev.delWrite = watch_del_write;
  ac->ev.cleanup = watch_cleanup;
  ac->ev.data = w;
  g_source_attach ((GSource *) w, context);
  /* The connect completes when the socket becomes writable. */
  w->pfd.events = G_IO_OUT;
}

/* --- connection life -------------------------------------------------- */

static void connect_now (RelayRedis * self);

static void
set_state (RelayRedis * self, State state)
{
  gboolean was_up = self->state == STATE_UP;

  self->state = state;
  if (was_up == (state == STATE_UP))
    return;
  if (state == STATE_UP) {
    self->backoff = RELAY_REDIS_BACKOFF_INITIAL;
    WZP_INFO ("redis %s: connected to %s", self->name, self->where);
  } else {
    self->stats.disconnects++;
    WZP_WARNING ("redis %s: lost %s", self->name, self->where);
  }
  if (self->state_func)
    self->state_func (self, state == STATE_UP, self->user_data);
}

static gboolean
retry_cb (gpointer data)
{
  RelayRedis *self = data;

  g_clear_pointer (&self->retry, g_source_unref);
  if (self->started && self->state == STATE_DOWN)
    connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (RelayRedis * self)
{
  if (!self->started || self->freeing || self->retry)
    return;
  self->retry = wzp_clock_timeout_add (self->clock, self->context,
      self->backoff, retry_cb, self, NULL);
  self->backoff = MIN (self->backoff * 2, RELAY_REDIS_BACKOFF_MAX);
}

/* Warnings about a Redis that stays away: one per 10 s. */
static void
warn_down (RelayRedis * self, const char *what, const char *why)
{
  guint64 now = wzp_clock_get_time (self->clock);

  if (self->warned_at && now - self->warned_at < 10 * WZP_NSEC_PER_SEC) {
    WZP_DEBUG ("redis %s: %s %s: %s", self->name, what, self->where, why);
    return;
  }
  self->warned_at = now;
  WZP_WARNING ("redis %s: %s %s: %s (retrying)", self->name, what,
      self->where, why);
}

/* Drops the context (hiredis runs every pending callback with a NULL
 * reply, then our cleanup) and goes down. */
static void
drop_context (RelayRedis * self, const char *why)
{
  redisAsyncContext *ac = self->ac;

  if (self->resolving) {
    g_cancellable_cancel (self->resolving);
    g_clear_object (&self->resolving);
  }
  self->ac = NULL;
  if (ac) {
    ac->data = NULL;
    redisAsyncFree (ac);
  }
  if (why && self->state != STATE_DOWN)
    warn_down (self, "closing the connection to", why);
  set_state (self, STATE_DOWN);
  schedule_retry (self);
}

void
relay_redis_reset (RelayRedis * self, const char *why)
{
  if (self->ac || self->state != STATE_DOWN)
    drop_context (self, why);
}

static void
on_disconnect (const redisAsyncContext * ac, int status)
{
  RelayRedis *self = ac->data;

  /* Our own redisAsyncFree() cleared data: nothing to do. */
  if (self == NULL || self->ac != ac)
    return;
  self->ac = NULL;
  warn_down (self, "disconnected from", ac->errstr[0] ? ac->errstr :
      "connection closed");
  set_state (self, STATE_DOWN);
  schedule_retry (self);
}

static void cmd_reply (redisAsyncContext * ac, void *r, void *privdata);

static void
handshake_reply (RelayRedis * self, RelayRedisStatus status,
    redisReply * reply, gpointer data)
{
  const char *why = NULL;

  if (status == RELAY_REDIS_CANCELLED || self->state != STATE_HANDSHAKE)
    return;
  if (relay_redis_reply_is_error (status, reply, &why)) {
    /* A wrong password or database does not fix itself, but Redis may be
     * reconfigured: keep trying, slowly, and say why. */
    self->backoff = RELAY_REDIS_BACKOFF_MAX;
    WZP_WARNING ("redis %s: %s refused %s: %s", self->name, self->where,
        (const char *) data, why ? why : "no reply");
    drop_context (self, NULL);
    return;
  }
  if (--self->handshake_pending == 0)
    set_state (self, STATE_UP);
}

static gboolean
send_internal (RelayRedis * self, const char *what, int argc, const char **argv)
{
  Cmd *cmd = g_new0 (Cmd, 1);

  cmd->redis = self;
  cmd->func = handshake_reply;
  cmd->data = (gpointer) what;
  cmd->internal = TRUE;
  cmd->sent = wzp_clock_get_time (self->clock);
  cmd->link.data = cmd;
  if (redisAsyncCommandArgv (self->ac, cmd_reply, cmd, argc, argv,
          NULL) != REDIS_OK) {
    g_free (cmd);
    return FALSE;
  }
  g_queue_push_tail_link (&self->pending, &cmd->link);
  self->stats.commands++;
  return TRUE;
}

static void
on_connect (const redisAsyncContext * ac, int status)
{
  RelayRedis *self = ac->data;
  g_autofree char *db = NULL;

  if (self == NULL || self->ac != ac)
    return;
  if (status != REDIS_OK) {
    /* hiredis frees the context after this returns. */
    self->ac = NULL;
    warn_down (self, "cannot connect to", ac->errstr);
    set_state (self, STATE_DOWN);
    schedule_retry (self);
    return;
  }
  set_state (self, STATE_HANDSHAKE);
  self->handshake_pending = 0;
  self->connect_deadline = wzp_clock_get_time (self->clock) +
      RELAY_REDIS_CONNECT_TIMEOUT;
  if (self->target.password) {
    const char *argv[] = { "AUTH", self->target.password };
    if (send_internal (self, "our password (AUTH)", 2, argv))
      self->handshake_pending++;
  }
  if (self->target.db) {
    const char *argv[] = { "SELECT", NULL };
    argv[1] = db = g_strdup_printf ("%u", self->target.db);
    if (send_internal (self, "the database (SELECT)", 2, argv))
      self->handshake_pending++;
  }
  if (self->handshake_pending == 0) {
    /* Nothing to set up; a PING proves it answers. */
    const char *argv[] = { "PING" };
    if (send_internal (self, "a PING", 1, argv))
      self->handshake_pending++;
  }
}

static void
attach_context (RelayRedis * self, redisAsyncContext * ac)
{
  if (ac == NULL || ac->err) {
    warn_down (self, "cannot connect to", ac ? ac->errstr : "out of memory");
    if (ac)
      redisAsyncFree (ac);
    set_state (self, STATE_DOWN);
    schedule_retry (self);
    return;
  }
  self->ac = ac;
  ac->data = self;
  redisAsyncSetConnectCallback (ac, on_connect);
  redisAsyncSetDisconnectCallback (ac, on_disconnect);
  watch_attach (ac, self->context);
  set_state (self, STATE_CONNECTING);
  self->connect_deadline = wzp_clock_get_time (self->clock) +
      RELAY_REDIS_CONNECT_TIMEOUT;
}

static void
on_resolved (GObject * source, GAsyncResult * result, gpointer data)
{
  RelayRedis *self = data;
  g_autoptr (GError) error = NULL;
  GList *addrs = g_resolver_lookup_by_name_finish (G_RESOLVER (source),
      result, &error);
  g_autofree char *ip = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->resolving);
  if (addrs)
    ip = g_inet_address_to_string (addrs->data);
  g_resolver_free_addresses (addrs);
  if (ip == NULL) {
    warn_down (self, "cannot resolve", error ? error->message : "no address");
    set_state (self, STATE_DOWN);
    schedule_retry (self);
    return;
  }
  attach_context (self, redisAsyncConnect (ip, self->target.port));
}

static void
connect_now (RelayRedis * self)
{
  g_autoptr (GInetAddress) numeric = NULL;

  if (self->target.path) {
    attach_context (self, redisAsyncConnectUnix (self->target.path));
    return;
  }
  numeric = g_inet_address_new_from_string (self->target.host);
  if (numeric) {
    attach_context (self, redisAsyncConnect (self->target.host,
            self->target.port));
    return;
  }
  /* hiredis would resolve with a blocking getaddrinfo() on our loop. */
  {
    g_autoptr (GResolver) resolver = g_resolver_get_default ();

    set_state (self, STATE_RESOLVING);
    self->connect_deadline = wzp_clock_get_time (self->clock) +
        RELAY_REDIS_CONNECT_TIMEOUT;
    self->resolving = g_cancellable_new ();
    g_main_context_push_thread_default (self->context);
    g_resolver_lookup_by_name_async (resolver, self->target.host,
        self->resolving, on_resolved, self);
    g_main_context_pop_thread_default (self->context);
  }
}

static gboolean
tick_cb (gpointer data)
{
  RelayRedis *self = data;
  guint64 now = wzp_clock_get_time (self->clock);
  Cmd *oldest = self->pending.head ? self->pending.head->data : NULL;

  wzp_timer_source_set_deadline (self->tick, now + TICK);
  if ((self->state == STATE_CONNECTING || self->state == STATE_RESOLVING ||
          self->state == STATE_HANDSHAKE) && now > self->connect_deadline) {
    drop_context (self, "no connection within the connect timeout");
    return G_SOURCE_CONTINUE;
  }
  if (oldest && now - oldest->sent > RELAY_REDIS_REPLY_TIMEOUT)
    drop_context (self, "a reply is overdue (Redis does not answer)");
  return G_SOURCE_CONTINUE;
}

/* --- commands --------------------------------------------------------- */

static void
cmd_reply (redisAsyncContext * ac, void *r, void *privdata)
{
  Cmd *cmd = privdata;
  RelayRedis *self = cmd->redis;
  redisReply *reply = r;
  RelayRedisStatus status;

  if (self->freeing) {
    if (!cmd->internal)
      cmd->func (self, RELAY_REDIS_CANCELLED, NULL, cmd->data);
    g_free (cmd);
    return;
  }
  g_queue_unlink (&self->pending, &cmd->link);
  if (reply) {
    guint64 rtt = wzp_clock_get_time (self->clock) - cmd->sent;

    status = RELAY_REDIS_OK;
    self->stats.rtt_last_ns = rtt;
    self->stats.rtt_ns = self->stats.rtt_ns ?
        (7 * self->stats.rtt_ns + rtt) / 8 : rtt;
    if (reply->type == REDIS_REPLY_ERROR)
      self->stats.errors++;
  } else {
    status = RELAY_REDIS_FAILED;
    self->stats.errors++;
  }
  self->in_callback++;
  cmd->func (self, status, reply, cmd->data);
  self->in_callback--;
  g_free (cmd);
}

gboolean
relay_redis_command (RelayRedis * self, RelayRedisReplyFunc func,
    gpointer user_data, int argc, const char **argv, const size_t *argvlen)
{
  Cmd *cmd;

  if (self->state != STATE_UP || self->ac == NULL || self->freeing)
    return FALSE;
  cmd = g_new0 (Cmd, 1);
  cmd->redis = self;
  cmd->func = func;
  cmd->data = user_data;
  cmd->sent = wzp_clock_get_time (self->clock);
  cmd->link.data = cmd;
  if (redisAsyncCommandArgv (self->ac, cmd_reply, cmd, argc, argv,
          argvlen) != REDIS_OK) {
    g_free (cmd);
    self->stats.errors++;
    return FALSE;
  }
  g_queue_push_tail_link (&self->pending, &cmd->link);
  self->stats.commands++;
  return TRUE;
}

gboolean
relay_redis_commandv (RelayRedis * self, RelayRedisReplyFunc func,
    gpointer user_data, ...)
{
  const char *argv[32];
  int argc = 0;
  const char *a;
  va_list ap;

  va_start (ap, user_data);
  while ((a = va_arg (ap, const char *)) && argc < (int) G_N_ELEMENTS (argv))
      argv[argc++] = a;
  va_end (ap);
  g_return_val_if_fail (a == NULL, FALSE);
  return relay_redis_command (self, func, user_data, argc, argv, NULL);
}

gboolean
relay_redis_reply_is_error (RelayRedisStatus status, redisReply * reply,
    const char **why)
{
  if (status != RELAY_REDIS_OK || reply == NULL) {
    if (why)
      *why = status == RELAY_REDIS_CANCELLED ? "cancelled" :
          "the connection to Redis went away";
    return TRUE;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    if (why)
      *why = reply->str;
    return TRUE;
  }
  return FALSE;
}

/* --- object ----------------------------------------------------------- */

RelayRedis *
relay_redis_new (const RelayRedisTarget * target, const char *name,
    WzpClock * clock, GMainContext * context, RelayRedisStateFunc state_func,
    gpointer user_data)
{
  RelayRedis *self = g_new0 (RelayRedis, 1);

  signal (SIGPIPE, SIG_IGN);
  self->target.host = g_strdup (target->host);
  self->target.port = target->port;
  self->target.path = g_strdup (target->path);
  self->target.db = target->db;
  self->target.password = g_strdup (target->password);
  self->where = relay_redis_target_describe (target);
  self->name = g_strdup (name);
  self->clock = g_object_ref (clock);
  self->context = g_main_context_ref (context);
  self->state_func = state_func;
  self->user_data = user_data;
  self->backoff = RELAY_REDIS_BACKOFF_INITIAL;
  g_queue_init (&self->pending);
  return self;
}

void
relay_redis_start (RelayRedis * self)
{
  if (self->started)
    return;
  self->started = TRUE;
  self->tick = wzp_timer_source_new (self->clock);
  g_source_set_callback (self->tick, tick_cb, self, NULL);
  g_source_set_name (self->tick, "wzp redis deadlines");
  g_source_attach (self->tick, self->context);
  wzp_timer_source_set_deadline (self->tick, wzp_clock_get_time (self->clock)
      + TICK);
  connect_now (self);
}

gboolean
relay_redis_is_up (RelayRedis * self)
{
  return self && self->state == STATE_UP;
}

void
relay_redis_get_stats (RelayRedis * self, RelayRedisStats * stats)
{
  *stats = self->stats;
}

static gboolean
free_later_cb (gpointer data)
{
  relay_redis_free (data);
  return G_SOURCE_REMOVE;
}

void
relay_redis_free (RelayRedis * self)
{
  if (self == NULL)
    return;
  self->started = FALSE;
  self->state_func = NULL;
  if (self->in_callback) {
    /* hiredis defers freeing a context to after the callback, and would
     * then call into this struct: free it when the stack is ours again. */
    if (!self->free_later) {
      GSource *s = g_idle_source_new ();

      self->free_later = TRUE;
      g_source_set_callback (s, free_later_cb, self, NULL);
      g_source_attach (s, self->context);
      g_source_unref (s);
    }
    return;
  }
  self->freeing = TRUE;
  if (self->resolving) {
    g_cancellable_cancel (self->resolving);
    g_clear_object (&self->resolving);
  }
  if (self->ac) {
    redisAsyncContext *ac = self->ac;
    int done = 0;

    self->ac = NULL;
    /* Commands of our last moments (a node leaving deletes its keys)
     * leave now: hiredis frees its output buffer unsent. */
    for (guint i = 0; i < 16 && !done && (ac->c.flags & REDIS_CONNECTED); i++)
      if (redisBufferWrite (&ac->c, &done) == REDIS_ERR)
        break;
    /* Pending callbacks run now, as CANCELLED. */
    redisAsyncFree (ac);
  }
  g_clear_pointer (&self->retry, wzp_clock_source_destroy_and_unref);
  if (self->tick) {
    g_source_destroy (self->tick);
    g_source_unref (self->tick);
  }
  relay_redis_target_clear (&self->target);
  g_object_unref (self->clock);
  g_main_context_unref (self->context);
  g_free (self->where);
  g_free (self->name);
  g_free (self);
}
