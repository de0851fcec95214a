/* wzp — the relay's channel legs: who may send on a media channel, and
 * where its packets go
 *
 * A leg is one party's half of a relayed call on the media port: its
 * channel number (the leg's index here), its secret token, the other leg,
 * the IP its signaling connection comes from, and the source address it
 * is latched to.  The control thread (the relay's GMainContext) opens,
 * pairs, re-binds and closes legs; the media workers read them for every
 * packet and latch a leg to the source of its first valid packet.
 *
 * Reading takes no lock: each leg is a seqlock (an even sequence number
 * while nobody writes), so a worker copies the fields and retries in the
 * rare case a write overlapped.  Writers (the control thread, a worker
 * latching) take the leg's spinlock.  Legs live in pages that are never
 * moved or freed before the table is, so a channel number stays a valid
 * index for the table's whole life: lookup is two array reads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include "wzp-address.h"
#include "wzp-channel.h"

G_BEGIN_DECLS

/* A source address, compact: what a leg is latched to (or, with port 0,
 * the IP it may latch from). */
typedef struct
{
  guint16 family;               /* AF_INET, AF_INET6; 0: none */
  guint16 port;                 /* network byte order */
  guint8 ip[16];
} RelayLegAddr;

/* What a worker copies out of a leg. */
typedef struct
{
  gboolean open;
  gboolean latched;
  guint32 gen;
  guint32 peer;
  guint8 token[WZP_CHANNEL_TOKEN_LEN];
  RelayLegAddr allowed;
  RelayLegAddr addr;
  guint64 last_rx;
  gboolean receiving;
} RelayLegSnapshot;

typedef enum
{
  RELAY_LEG_ACCEPTED,
  RELAY_LEG_UNKNOWN,            /* no such open channel */
  RELAY_LEG_BAD_TOKEN,
  RELAY_LEG_WRONG_SOURCE,       /* latched elsewhere, or not the IP of its
                                 * signaling connection */
} RelayLegVerdict;

typedef struct _RelayLegs RelayLegs;

RelayLegs *relay_legs_new (void);
void relay_legs_free (RelayLegs * legs);

/* Control thread. */
guint32 relay_legs_open (RelayLegs * legs,
    const guint8 token[WZP_CHANNEL_TOKEN_LEN], const WzpAddr * allowed);
void relay_legs_pair (RelayLegs * legs, guint32 a, guint32 b);
void relay_legs_close (RelayLegs * legs, guint32 id);
void relay_legs_rebind (RelayLegs * legs, guint32 id,
    const WzpAddr * allowed);
guint32 relay_legs_gen (RelayLegs * legs, guint32 id);
guint relay_legs_count (RelayLegs * legs);
/* Bytes the table holds (its pages and bookkeeping). */
gsize relay_legs_memory (RelayLegs * legs);

/* Any thread. */
gboolean relay_legs_read (RelayLegs * legs, guint32 id,
    RelayLegSnapshot * snap);
/* A packet on channel @id with @token from @from: checks it, latches an
 * unlatched leg, records the time and whether the client receives, and
 * fills @snap with the leg as it is now. */
RelayLegVerdict relay_legs_accept (RelayLegs * legs, guint32 id,
    const guint8 token[WZP_CHANNEL_TOKEN_LEN], const RelayLegAddr * from,
    guint64 now, gboolean receiving, guint worker, RelayLegSnapshot * snap);
/* The worker that last took a packet of leg @id (+1; 0 none): tests. */
guint relay_legs_worker (RelayLegs * legs, guint32 id);

void relay_leg_addr_from_sockaddr (RelayLegAddr * a,
    const struct sockaddr *sa, socklen_t len);
gboolean relay_leg_addr_to_sockaddr (const RelayLegAddr * a,
    struct sockaddr_storage *ss, socklen_t * len);

static inline gboolean
relay_leg_addr_equal (const RelayLegAddr * a, const RelayLegAddr * b)
{
  guint32 x, y;

  if (a->family != b->family || a->port != b->port)
    return FALSE;
  if (a->family != AF_INET)
    return memcmp (a->ip, b->ip, 16) == 0;
  memcpy (&x, a->ip, 4);
  memcpy (&y, b->ip, 4);
  return x == y;
}

static inline gboolean
relay_leg_addr_same_ip (const RelayLegAddr * a, const RelayLegAddr * b)
{
  return a->family == b->family &&
      memcmp (a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0;
}

G_END_DECLS
