/* wzp — the relay's media plane: the media port and its workers
 *
 * The media port is a UDP port of its own (no QUIC arrives there) that
 * carries channel packets (wzp-channel.h).  N worker threads each own a
 * socket bound to it with SO_REUSEPORT, so the kernel spreads clients
 * over them by address; each reads a batch with recvmmsg, checks every
 * packet against the leg table (wzp-relay-legs.h: one lookup, no
 * cryptography) and sends what it forwards with one sendmmsg.  The legs
 * are shared, so a call whose two parties land on different workers
 * forwards like any other: the worker that receives a packet sends it,
 * from the same port, to wherever the other leg is latched.
 *
 * A packet whose receiver does not take channel packets (its leg never
 * latched, it said it does not receive them, or it went quiet) is handed
 * to the control thread, which sends it on the receiver's signaling
 * connection as a QUIC datagram: the fallback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-address.h"
#include "wzp-relay-legs.h"

G_BEGIN_DECLS

/* A leg that sent nothing for this long is not sent channel packets any
 * more (it may have moved, or lost the path): its media goes on its
 * signaling connection.  Clients send a BIND every second. */
#define RELAY_MEDIA_STALE (3 * G_GUINT64_CONSTANT (1000000000))
/* Packets waiting for the control thread (fallback to QUIC). */
#define RELAY_MEDIA_QUEUE_MAX 4096

typedef enum
{
  RELAY_MEDIA_DROP_MALFORMED,
  RELAY_MEDIA_DROP_UNKNOWN_CHANNEL,
  RELAY_MEDIA_DROP_BAD_TOKEN,
  RELAY_MEDIA_DROP_WRONG_SOURCE,
  RELAY_MEDIA_DROP_NO_PEER,
  RELAY_MEDIA_DROP_QUEUE_FULL,
  RELAY_MEDIA_DROP_SEND_FAILURE,
  RELAY_MEDIA_DROP_N
} RelayMediaDrop;

/* Counters of one worker (or their sum). */
typedef struct
{
  guint64 received;             /* UDP packets read */
  guint64 received_bytes;
  guint64 forwarded;            /* media sent on a channel */
  guint64 forwarded_bytes;
  guint64 to_quic;              /* media handed over for the fallback */
  guint64 binds;                /* BINDs answered */
  guint64 dropped[RELAY_MEDIA_DROP_N];
} RelayMediaCounters;

/* Runs on the control thread for each packet a worker handed over:
 * deliver @payload to the party of leg @to (if it is still generation
 * @gen) on its signaling connection. */
typedef void (*RelayMediaFallbackFunc) (guint32 to, guint32 gen,
    const guint8 * payload, gsize len, gpointer user_data);

typedef struct _RelayMedia RelayMedia;

RelayMedia *relay_media_new (GMainContext * context, RelayLegs * legs,
    RelayMediaFallbackFunc fallback, gpointer user_data);
void relay_media_free (RelayMedia * media);

gboolean relay_media_start (RelayMedia * media, const WzpAddr * address,
    guint workers, GError ** error);
void relay_media_stop (RelayMedia * media);
gboolean relay_media_get_address (RelayMedia * media, WzpAddr * address);
guint relay_media_get_workers (RelayMedia * media);

/* Control thread: sends @payload to leg @to as a channel packet, if its
 * client takes them now.  FALSE: use the fallback. */
gboolean relay_media_deliver (RelayMedia * media, guint32 to,
    const guint8 * payload, gsize len);

/* @worker: one worker's, or G_MAXUINT for the sum of all. */
void relay_media_get_counters (RelayMedia * media, guint worker,
    RelayMediaCounters * counters);
const char *relay_media_drop_name (RelayMediaDrop drop);

/* The clock the workers stamp legs with (CLOCK_MONOTONIC_COARSE, ns). */
guint64 relay_media_now (void);

G_END_DECLS
