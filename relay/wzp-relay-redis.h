/* wzp — one connection to Redis on the relay's main context (hiredis)
 *
 * The transport under the cluster (docs/CLUSTER.md): it connects (TCP or
 * a unix socket), authenticates and selects the database, reports
 * whether Redis is there, reconnects with backoff when it is not, and
 * runs commands with a callback per reply.  It knows nothing of wzp.
 *
 * A command never blocks and never waits: when Redis is not up,
 * relay_redis_command() returns FALSE at once and the caller decides
 * (the cluster degrades: local calls go on, cross-node ones fail with a
 * clear error).  A connection on which a reply is overdue for
 * RELAY_REDIS_REPLY_TIMEOUT counts as dead (a Redis host that vanished
 * without a TCP reset) and is closed; every pending callback then runs
 * with RELAY_REDIS_FAILED.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <hiredis/hiredis.h>
#include "wzp-clock.h"

G_BEGIN_DECLS

#define RELAY_REDIS_REPLY_TIMEOUT (3 * WZP_NSEC_PER_SEC)
#define RELAY_REDIS_CONNECT_TIMEOUT (2 * WZP_NSEC_PER_SEC)
#define RELAY_REDIS_BACKOFF_INITIAL (100 * WZP_NSEC_PER_MSEC)
#define RELAY_REDIS_BACKOFF_MAX (1 * WZP_NSEC_PER_SEC)

/* Where Redis is: "redis://[:PASSWORD@]HOST[:PORT][/DB]" or
 * "unix:/PATH[?db=N]". */
typedef struct
{
  char *host;                   /* NULL for a unix socket */
  guint16 port;
  char *path;                   /* unix socket */
  guint db;
  char *password;               /* NULL: no AUTH */
} RelayRedisTarget;

gboolean relay_redis_target_parse (const char *url, RelayRedisTarget * out,
    GError ** error);
void relay_redis_target_clear (RelayRedisTarget * target);
/* "redis://HOST:PORT/DB" or "unix:/PATH", without the password. */
char *relay_redis_target_describe (const RelayRedisTarget * target);

typedef enum
{
  RELAY_REDIS_OK,               /* @reply is Redis's answer (may be an error reply) */
  RELAY_REDIS_FAILED,           /* the connection went away first; @reply is NULL */
  RELAY_REDIS_CANCELLED,        /* relay_redis_free(): free your data, do nothing else */
} RelayRedisStatus;

typedef struct _RelayRedis RelayRedis;

typedef void (*RelayRedisReplyFunc) (RelayRedis * redis,
    RelayRedisStatus status, redisReply * reply, gpointer user_data);
/* Redis came up (again: @up TRUE, after AUTH and SELECT) or went away. */
typedef void (*RelayRedisStateFunc) (RelayRedis * redis, gboolean up,
    gpointer user_data);

typedef struct
{
  guint64 commands;             /* sent */
  guint64 errors;               /* error replies and failed commands */
  guint64 disconnects;          /* times an up connection went away */
  guint64 rtt_ns;               /* smoothed command round trip */
  guint64 rtt_last_ns;
} RelayRedisStats;

/* @name names the connection in logs ("store", "bus"). */
RelayRedis *relay_redis_new (const RelayRedisTarget * target,
    const char *name, WzpClock * clock, GMainContext * context,
    RelayRedisStateFunc state_func, gpointer user_data);
void relay_redis_free (RelayRedis * self);
void relay_redis_start (RelayRedis * self);
gboolean relay_redis_is_up (RelayRedis * self);
/* Closes the connection as if Redis had gone (it reconnects). */
void relay_redis_reset (RelayRedis * self, const char *why);
void relay_redis_get_stats (RelayRedis * self, RelayRedisStats * stats);

/* Sends one command (arguments are binary-safe; @argvlen NULL for C
 * strings).  FALSE when Redis is not up: @func is then never called. */
gboolean relay_redis_command (RelayRedis * self, RelayRedisReplyFunc func,
    gpointer user_data, int argc, const char **argv, const size_t * argvlen);
/* The same for a NULL-terminated list of C strings. */
gboolean relay_redis_commandv (RelayRedis * self, RelayRedisReplyFunc func,
    gpointer user_data, ...) G_GNUC_NULL_TERMINATED;

/* Reply helpers: TRUE for an error reply (or none), with the error text
 * in @why when asked. */
gboolean relay_redis_reply_is_error (RelayRedisStatus status,
    redisReply * reply, const char **why);

G_END_DECLS
