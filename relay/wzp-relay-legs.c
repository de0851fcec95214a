/* wzp — the relay's channel legs (see wzp-relay-legs.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-legs.h"

#include <netinet/in.h>
#include <stdatomic.h>

/* 256 legs per page, up to 4096 pages: a million legs (half a million
 * calls) without ever moving one. */
#define PAGE_BITS 8
#define PAGE_LEGS (1u << PAGE_BITS)
#define MAX_PAGES 4096
#define MAX_LEGS (PAGE_LEGS * MAX_PAGES)

typedef struct
{
  /* Odd while a writer changes the fields below it. */
  atomic_uint seq;
  atomic_flag lock;
  /* Under the seqlock. */
  gboolean open;
  gboolean latched;
  guint32 gen;
  guint32 peer;
  guint8 token[WZP_CHANNEL_TOKEN_LEN];
  RelayLegAddr allowed;
  RelayLegAddr addr;
  /* Single-field updates, outside the seqlock: the time of the last
   * accepted packet (written by the worker that receives the leg, read by
   * the one that forwards to it), whether the client receives channel
   * packets, and which worker saw it last. */
  _Atomic guint64 last_rx;
  atomic_uchar receiving;
  atomic_uchar worker;
} __attribute__((aligned (64))) Leg;

struct _RelayLegs
{
  Leg *_Atomic pages[MAX_PAGES];
  /* Control thread only. */
  guint32 next_id;              /* never handed out yet; ids start at 1 */
  GArray *free_ids;
  guint n_open;
  guint n_pages;
};

RelayLegs *
relay_legs_new (void)
{
  RelayLegs *t = g_new0 (RelayLegs, 1);

  t->next_id = 1;
  t->free_ids = g_array_new (FALSE, FALSE, sizeof (guint32));
  return t;
}

void
relay_legs_free (RelayLegs * t)
{
  if (t == NULL)
    return;
  for (guint i = 0; i < MAX_PAGES; i++)
    g_aligned_free (atomic_load_explicit (&t->pages[i], memory_order_relaxed));
  g_array_unref (t->free_ids);
  g_free (t);
}

static inline Leg *
get (RelayLegs * t, guint32 id)
{
  guint32 page = id >> PAGE_BITS;
  Leg *p;

  if (G_UNLIKELY (page >= MAX_PAGES))
    return NULL;
  p = atomic_load_explicit (&t->pages[page], memory_order_acquire);
  return p ? &p[id & (PAGE_LEGS - 1)] : NULL;
}

/* --- the seqlock ------------------------------------------------------- */

static void
write_begin (Leg * leg)
{
  while (atomic_flag_test_and_set_explicit (&leg->lock, memory_order_acquire));
  atomic_store_explicit (&leg->seq, atomic_load_explicit (&leg->seq,
          memory_order_relaxed) + 1, memory_order_relaxed);
  atomic_thread_fence (memory_order_release);
}

static void
write_end (Leg * leg)
{
  atomic_store_explicit (&leg->seq, atomic_load_explicit (&leg->seq,
          memory_order_relaxed) + 1, memory_order_release);
  atomic_flag_clear_explicit (&leg->lock, memory_order_release);
}

/* The classic seqlock read: the copy is good when the sequence number was
 * even and unchanged around it. */
static void
read_fields (Leg * leg, RelayLegSnapshot * s)
{
  for (;;) {
    guint seq = atomic_load_explicit (&leg->seq, memory_order_acquire);

    if (G_UNLIKELY (seq & 1))
      continue;
    s->open = leg->open;
    s->latched = leg->latched;
    s->gen = leg->gen;
    s->peer = leg->peer;
    memcpy (s->token, leg->token, sizeof s->token);
    s->allowed = leg->allowed;
    s->addr = leg->addr;
    atomic_thread_fence (memory_order_acquire);
    if (G_LIKELY (atomic_load_explicit (&leg->seq, memory_order_relaxed) ==
            seq))
      break;
  }
  s->last_rx = atomic_load_explicit (&leg->last_rx, memory_order_relaxed);
  s->receiving = atomic_load_explicit (&leg->receiving, memory_order_relaxed);
}

/* --- addresses --------------------------------------------------------- */

void
relay_leg_addr_from_sockaddr (RelayLegAddr * a, const struct sockaddr *sa,
    socklen_t len)
{
  memset (a, 0, sizeof *a);
  if (sa->sa_family == AF_INET && len >= sizeof (struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
    a->family = AF_INET;
    a->port = in->sin_port;
    memcpy (a->ip, &in->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6 && len >= sizeof (struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
    a->port = in6->sin6_port;
    /* An IPv4 client of a dual-stack socket is the same client as on an
     * IPv4 socket. */
    if (IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr)) {
      a->family = AF_INET;
      memcpy (a->ip, in6->sin6_addr.s6_addr + 12, 4);
    } else {
      a->family = AF_INET6;
      memcpy (a->ip, &in6->sin6_addr, 16);
    }
  }
}

gboolean
relay_leg_addr_to_sockaddr (const RelayLegAddr * a,
    struct sockaddr_storage *ss, socklen_t * len)
{
  /* Per forwarded packet: clear only what the family uses. */
  if (a->family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *) ss;
    memset (in, 0, sizeof *in);
    in->sin_family = AF_INET;
    in->sin_port = a->port;
    memcpy (&in->sin_addr, a->ip, 4);
    *len = sizeof *in;
    return TRUE;
  }
  if (a->family == AF_INET6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;
    memset (in6, 0, sizeof *in6);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = a->port;
    memcpy (&in6->sin6_addr, a->ip, 16);
    *len = sizeof *in6;
    return TRUE;
  }
  return FALSE;
}

/* --- control thread ---------------------------------------------------- */

/**
 * relay_legs_open:
 * @allowed: the address of the party's signaling connection: the leg
 *   latches only to a source with its IP
 *
 * Returns: the new leg's channel number (0 when the table is full)
 */
guint32
relay_legs_open (RelayLegs * t, const guint8 token[WZP_CHANNEL_TOKEN_LEN],
    const WzpAddr * allowed)
{
  guint32 id;
  Leg *leg;

  if (t->free_ids->len > 0) {
    id = g_array_index (t->free_ids, guint32, t->free_ids->len - 1);
    g_array_set_size (t->free_ids, t->free_ids->len - 1);
  } else {
    if (t->next_id >= MAX_LEGS)
      return 0;
    id = t->next_id++;
    if ((id >> PAGE_BITS) >= t->n_pages) {
      Leg *page = g_aligned_alloc0 (PAGE_LEGS, sizeof (Leg), 64);
      atomic_store_explicit (&t->pages[id >> PAGE_BITS], page,
          memory_order_release);
      t->n_pages++;
    }
  }
  leg = get (t, id);
  write_begin (leg);
  leg->open = TRUE;
  leg->latched = FALSE;
  leg->gen++;
  leg->peer = 0;
  memcpy (leg->token, token, WZP_CHANNEL_TOKEN_LEN);
  relay_leg_addr_from_sockaddr (&leg->allowed,
      (const struct sockaddr *) &allowed->storage, allowed->len);
  leg->allowed.port = 0;
  memset (&leg->addr, 0, sizeof leg->addr);
  write_end (leg);
  atomic_store_explicit (&leg->last_rx, 0, memory_order_relaxed);
  atomic_store_explicit (&leg->receiving, 0, memory_order_relaxed);
  atomic_store_explicit (&leg->worker, 0, memory_order_relaxed);
  t->n_open++;
  return id;
}

void
relay_legs_pair (RelayLegs * t, guint32 a, guint32 b)
{
  Leg *la = get (t, a), *lb = get (t, b);

  g_return_if_fail (la && lb);
  write_begin (la);
  la->peer = b;
  write_end (la);
  write_begin (lb);
  lb->peer = a;
  write_end (lb);
}

void
relay_legs_close (RelayLegs * t, guint32 id)
{
  Leg *leg = get (t, id);

  if (leg == NULL || !leg->open)
    return;
  write_begin (leg);
  leg->open = FALSE;
  leg->latched = FALSE;
  leg->gen++;
  leg->peer = 0;
  /* A stale copy of the token must not match a later use of the slot. */
  memset (leg->token, 0, sizeof leg->token);
  write_end (leg);
  g_array_append_val (t->free_ids, id);
  t->n_open--;
}

/* Unlatches @id: its next valid packet from @allowed's IP binds it. */
void
relay_legs_rebind (RelayLegs * t, guint32 id, const WzpAddr * allowed)
{
  Leg *leg = get (t, id);

  if (leg == NULL || !leg->open)
    return;
  write_begin (leg);
  leg->latched = FALSE;
  memset (&leg->addr, 0, sizeof leg->addr);
  relay_leg_addr_from_sockaddr (&leg->allowed,
      (const struct sockaddr *) &allowed->storage, allowed->len);
  leg->allowed.port = 0;
  write_end (leg);
  /* Deliver on the signaling connection until the client says again
   * that it receives on the channel. */
  atomic_store_explicit (&leg->receiving, 0, memory_order_relaxed);
}

guint32
relay_legs_gen (RelayLegs * t, guint32 id)
{
  Leg *leg = get (t, id);

  return leg && leg->open ? leg->gen : 0;
}

guint
relay_legs_count (RelayLegs * t)
{
  return t->n_open;
}

gsize
relay_legs_memory (RelayLegs * t)
{
  return sizeof *t + (gsize) t->n_pages * PAGE_LEGS * sizeof (Leg) +
      t->free_ids->len * sizeof (guint32);
}

/* --- any thread -------------------------------------------------------- */

gboolean
relay_legs_read (RelayLegs * t, guint32 id, RelayLegSnapshot * snap)
{
  Leg *leg = get (t, id);

  if (leg == NULL) {
    memset (snap, 0, sizeof *snap);
    return FALSE;
  }
  read_fields (leg, snap);
  return snap->open;
}

static gboolean
token_equal (const guint8 * a, const guint8 * b)
{
  guint64 x, y;

  memcpy (&x, a, sizeof x);
  memcpy (&y, b, sizeof y);
  return x == y;
}

RelayLegVerdict
relay_legs_accept (RelayLegs * t, guint32 id,
    const guint8 token[WZP_CHANNEL_TOKEN_LEN], const RelayLegAddr * from,
    guint64 now, gboolean receiving, guint worker, RelayLegSnapshot * snap)
{
  Leg *leg = get (t, id);

  if (leg == NULL)
    return RELAY_LEG_UNKNOWN;
  read_fields (leg, snap);
  if (!snap->open)
    return RELAY_LEG_UNKNOWN;
  if (!token_equal (snap->token, token))
    return RELAY_LEG_BAD_TOKEN;
  if (G_UNLIKELY (!snap->latched)) {
    /* The first valid packet binds the leg to its source, if it comes
     * from where the party's signaling connection comes from. */
    if (!relay_leg_addr_same_ip (&snap->allowed, from))
      return RELAY_LEG_WRONG_SOURCE;
    write_begin (leg);
    if (leg->open && !leg->latched && leg->gen == snap->gen) {
      leg->addr = *from;
      leg->latched = TRUE;
    }
    write_end (leg);
    read_fields (leg, snap);
    if (!snap->open)
      return RELAY_LEG_UNKNOWN;
    if (!token_equal (snap->token, token))
      return RELAY_LEG_BAD_TOKEN;
  }
  if (!relay_leg_addr_equal (&snap->addr, from)) {
    /* Its own token from another source: the client's NAT mapping has
     * most likely changed, so what we send to the bound address is lost.
     * Send it media on its signaling connection until it re-binds (only
     * the token's holders can cause this, and it only moves the leg's
     * media to its authenticated connection). */
    if (snap->receiving)
      atomic_store_explicit (&leg->receiving, 0, memory_order_relaxed);
    return RELAY_LEG_WRONG_SOURCE;
  }
  /* Stores only when something changed: the leg's line is read by the
   * worker that forwards to it. */
  if (snap->last_rx != now)
    atomic_store_explicit (&leg->last_rx, now, memory_order_relaxed);
  if (snap->receiving != receiving)
    atomic_store_explicit (&leg->receiving, receiving, memory_order_relaxed);
  if (atomic_load_explicit (&leg->worker, memory_order_relaxed) != worker + 1)
    atomic_store_explicit (&leg->worker, worker + 1, memory_order_relaxed);
  snap->last_rx = now;
  snap->receiving = receiving;
  return RELAY_LEG_ACCEPTED;
}

guint
relay_legs_worker (RelayLegs * t, guint32 id)
{
  Leg *leg = get (t, id);

  return leg ? atomic_load_explicit (&leg->worker, memory_order_relaxed) : 0;
}
