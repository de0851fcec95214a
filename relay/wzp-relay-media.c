/* wzp — the relay's media plane: the media port and its workers (see
 * wzp-relay-media.h)
 *
 * Per packet a worker does: read the 13-byte header, look the channel up
 * (relay_legs_accept: token, source, latching), look the other leg up,
 * rewrite the header to the receiver's channel and token, and queue the
 * packet for the batch's sendmmsg.  No allocation, no lock (a leg's
 * spinlock only when it latches), no cryptography: the payload is sealed
 * end to end and the relay never looks at it.
 *
 * Why no UDP GSO: GSO sends one buffer as several datagrams to ONE
 * destination.  A relay's consecutive packets go to different clients
 * (50 packets/s each), so there is nothing to coalesce; sendmmsg already
 * makes one system call per batch.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-media.h"
#include "wzp-log-private.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <glib-unix.h>

#define WZP_CAT_DEFAULT wzp_cat_relay

#define BATCH 64
#define RX_BUFFER 2048
#define SOCKET_BUFFER (4 * 1024 * 1024)
/* How long a blocked read waits before it looks at the stop flag again
 * (stopping also shuts the socket down, which wakes it at once). */
#define READ_TIMEOUT_MS 250

typedef struct
{
  RelayMedia *media;
  guint index;
  int fd;
  GThread *thread;
  /* Written by the worker only, read by anyone (relaxed atomics). */
  RelayMediaCounters counters;
  WzpLogLimit drop_log;
} Worker;

typedef struct
{
  guint32 to;
  guint32 gen;
  gsize len;
  guint8 data[];
} QueuedPacket;

struct _RelayMedia
{
  GMainContext *context;
  RelayLegs *legs;
  RelayMediaFallbackFunc fallback;
  gpointer fallback_data;

  WzpAddr address;
  Worker *workers;
  guint n_workers;
  atomic_bool stop;

  /* Worker -> control thread: packets for the fallback. */
  GMutex lock;
  GQueue queue;
  int wake_fd;
  GSource *wake_source;

  /* The control thread's own sends (relay_media_deliver). */
  RelayMediaCounters control;
};

static const char *const drop_names[RELAY_MEDIA_DROP_N] = {
  [RELAY_MEDIA_DROP_MALFORMED] = "malformed",
  [RELAY_MEDIA_DROP_UNKNOWN_CHANNEL] = "unknown-channel",
  [RELAY_MEDIA_DROP_BAD_TOKEN] = "bad-token",
  [RELAY_MEDIA_DROP_WRONG_SOURCE] = "wrong-source",
  [RELAY_MEDIA_DROP_NO_PEER] = "no-peer",
  [RELAY_MEDIA_DROP_QUEUE_FULL] = "queue-full",
  [RELAY_MEDIA_DROP_SEND_FAILURE] = "send-failure",
};

const char *
relay_media_drop_name (RelayMediaDrop drop)
{
  return drop < RELAY_MEDIA_DROP_N ? drop_names[drop] : "unknown";
}

guint64
relay_media_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC_COARSE, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* Counters: each is written by one thread; others read them. */
#define COUNT(c, field, n) \
  __atomic_store_n (&(c)->field, (c)->field + (n), __ATOMIC_RELAXED)

/* --- workers ----------------------------------------------------------- */

typedef struct
{
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_storage addrs[BATCH];
  guint n;
} TxBatch;

/* The next message of the batch; the caller fills in its address. */
static struct sockaddr_storage *
tx_add (TxBatch * tx, guint8 * data, gsize len)
{
  guint i = tx->n++;

  tx->iovs[i].iov_base = data;
  tx->iovs[i].iov_len = len;
  tx->msgs[i].msg_hdr.msg_name = &tx->addrs[i];
  tx->msgs[i].msg_hdr.msg_iov = &tx->iovs[i];
  tx->msgs[i].msg_hdr.msg_iovlen = 1;
  return &tx->addrs[i];
}

static void
tx_add_to (TxBatch * tx, guint8 * data, gsize len,
    const struct sockaddr_storage *to, socklen_t to_len)
{
  memcpy (tx_add (tx, data, len), to, to_len);
  tx->msgs[tx->n - 1].msg_hdr.msg_namelen = to_len;
}

static void
tx_flush (Worker * w, TxBatch * tx)
{
  guint done = 0;

  while (done < tx->n) {
    int rv = sendmmsg (w->fd, tx->msgs + done, tx->n - done, 0);

    if (rv > 0) {
      for (int i = 0; i < rv; i++) {
        if (((guint8 *) tx->iovs[done + i].iov_base)[0] == WZP_CHANNEL_MEDIA) {
          COUNT (&w->counters, forwarded, 1);
          COUNT (&w->counters, forwarded_bytes, tx->iovs[done + i].iov_len);
        }
      }
      done += rv;
      continue;
    }
    if (rv < 0 && errno == EINTR)
      continue;
    /* A full buffer or an unreachable client costs this packet only. */
    COUNT (&w->counters, dropped[RELAY_MEDIA_DROP_SEND_FAILURE], 1);
    done++;
  }
  tx->n = 0;
}

static void
drop (Worker * w, RelayMediaDrop why, guint32 channel, guint64 now)
{
  COUNT (&w->counters, dropped[why], 1);
  WZP_CAT_LEVEL_LOG_LIMITED (wzp_cat_relay, WZP_LOG_DEBUG, NULL,
      &w->drop_log, now, "media worker %u: dropped a packet for channel %u: "
      "%s", w->index, channel, drop_names[why]);
}

static gboolean
deliverable (const RelayLegSnapshot * to, guint64 now)
{
  return to->open && to->latched && to->receiving &&
      now - to->last_rx < RELAY_MEDIA_STALE;
}

static void
hand_over (Worker * w, const RelayLegSnapshot * to, guint32 to_id,
    const guint8 * payload, gsize len, guint64 now)
{
  RelayMedia *m = w->media;
  QueuedPacket *q;
  gboolean wake;

  g_mutex_lock (&m->lock);
  if (m->queue.length >= RELAY_MEDIA_QUEUE_MAX) {
    g_mutex_unlock (&m->lock);
    drop (w, RELAY_MEDIA_DROP_QUEUE_FULL, to_id, now);
    return;
  }
  q = g_malloc (sizeof *q + len);
  q->to = to_id;
  q->gen = to->gen;
  q->len = len;
  memcpy (q->data, payload, len);
  wake = m->queue.length == 0;
  g_queue_push_tail (&m->queue, q);
  g_mutex_unlock (&m->lock);
  COUNT (&w->counters, to_quic, 1);
  if (wake) {
    guint64 one = 1;
    if (write (m->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
      WZP_DEBUG ("media: cannot wake the control thread: %s",
          g_strerror (errno));
  }
}

static void
handle (Worker * w, guint8 * data, gsize len,
    const struct sockaddr_storage *from, socklen_t from_len, guint64 now,
    TxBatch * tx)
{
  RelayMedia *m = w->media;
  RelayLegSnapshot me, peer;
  RelayLegAddr src;
  RelayLegVerdict v;
  guint32 be, channel;
  guint8 type;
  struct sockaddr_storage *to;

  if (G_UNLIKELY (len < WZP_CHANNEL_HEADER_LEN)) {
    drop (w, RELAY_MEDIA_DROP_MALFORMED, 0, now);
    return;
  }
  type = data[0];
  memcpy (&be, data + 1, sizeof be);
  channel = GUINT32_FROM_BE (be);
  relay_leg_addr_from_sockaddr (&src, (const struct sockaddr *) from, from_len);

  if (G_LIKELY (type == WZP_CHANNEL_MEDIA)) {
    if (G_UNLIKELY (len == WZP_CHANNEL_HEADER_LEN || len > WZP_CHANNEL_MAX_LEN)) {
      drop (w, RELAY_MEDIA_DROP_MALFORMED, channel, now);
      return;
    }
    /* A client sends media on the channel only once it has seen the
     * channel work both ways: it receives there. */
    v = relay_legs_accept (m->legs, channel, data + 5, &src, now, TRUE,
        w->index, &me);
  } else if (type == WZP_CHANNEL_BIND && len == WZP_CHANNEL_BIND_LEN) {
    v = relay_legs_accept (m->legs, channel, data + 5, &src, now,
        (data[WZP_CHANNEL_HEADER_LEN] & WZP_CHANNEL_FLAG_RECEIVING) != 0,
        w->index, &me);
  } else {
    drop (w, RELAY_MEDIA_DROP_MALFORMED, channel, now);
    return;
  }
  switch (v) {
    case RELAY_LEG_ACCEPTED:
      break;
    case RELAY_LEG_UNKNOWN:
      drop (w, RELAY_MEDIA_DROP_UNKNOWN_CHANNEL, channel, now);
      return;
    case RELAY_LEG_BAD_TOKEN:
      drop (w, RELAY_MEDIA_DROP_BAD_TOKEN, channel, now);
      return;
    case RELAY_LEG_WRONG_SOURCE:
      drop (w, RELAY_MEDIA_DROP_WRONG_SOURCE, channel, now);
      return;
  }

  if (type == WZP_CHANNEL_BIND) {
    /* Answer from the media port, to where it came from: the client
     * learns that the channel works both ways (and its RTT). */
    data[0] = WZP_CHANNEL_BIND_ACK;
    COUNT (&w->counters, binds, 1);
    tx_add_to (tx, data, len, from, from_len);
    return;
  }

  if (G_UNLIKELY (me.peer == 0 || !relay_legs_read (m->legs, me.peer, &peer))) {
    drop (w, RELAY_MEDIA_DROP_NO_PEER, channel, now);
    return;
  }
  if (G_UNLIKELY (!deliverable (&peer, now))) {
    hand_over (w, &peer, me.peer, data + WZP_CHANNEL_HEADER_LEN,
        len - WZP_CHANNEL_HEADER_LEN, now);
    return;
  }
  /* The receiver sees its own channel and token. */
  wzp_channel_write_header (data, WZP_CHANNEL_MEDIA, me.peer, peer.token);
  to = tx_add (tx, data, len);
  relay_leg_addr_to_sockaddr (&peer.addr, to,
      &tx->msgs[tx->n - 1].msg_hdr.msg_namelen);
}

static gpointer
worker_main (gpointer user_data)
{
  Worker *w = user_data;
  RelayMedia *m = w->media;
  guint8 *buffers = g_malloc (BATCH * RX_BUFFER);
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_storage from[BATCH];
  TxBatch *tx = g_new0 (TxBatch, 1);
  guint used = BATCH;

  memset (msgs, 0, sizeof msgs);
  for (guint i = 0; i < BATCH; i++) {
    iovs[i].iov_base = buffers + i * RX_BUFFER;
    iovs[i].iov_len = RX_BUFFER;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  while (!atomic_load_explicit (&m->stop, memory_order_relaxed)) {
    guint64 now, bytes = 0;
    int n;

    /* recvmmsg wrote these: the entries the last batch used. */
    for (guint i = 0; i < used; i++) {
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_flags = 0;
    }
    used = 0;
    /* Blocks for the first packet, then takes whatever else is queued. */
    n = recvmmsg (w->fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n <= 0) {
      if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK
          && !atomic_load_explicit (&m->stop, memory_order_relaxed)) {
        WZP_WARNING ("media worker %u: recvmmsg: %s", w->index,
            g_strerror (errno));
        g_usleep (10000);
      }
      continue;
    }
    used = n;
    now = relay_media_now ();
    for (int i = 0; i < n; i++) {
      bytes += msgs[i].msg_len;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        drop (w, RELAY_MEDIA_DROP_MALFORMED, 0, now);
        continue;
      }
      handle (w, iovs[i].iov_base, msgs[i].msg_len, &from[i],
          msgs[i].msg_hdr.msg_namelen, now, tx);
    }
    COUNT (&w->counters, received, n);
    COUNT (&w->counters, received_bytes, bytes);
    tx_flush (w, tx);
  }
  g_free (tx);
  g_free (buffers);
  return NULL;
}

/* --- the control thread's side ---------------------------------------- */

static gboolean
on_wake (gint fd, GIOCondition condition, gpointer user_data)
{
  RelayMedia *m = user_data;
  GQueue items = G_QUEUE_INIT;
  QueuedPacket *q;
  guint64 value;

  if (read (fd, &value, sizeof value) < 0 && errno != EAGAIN)
    WZP_DEBUG ("media: reading the wake-up: %s", g_strerror (errno));
  g_mutex_lock (&m->lock);
  items = m->queue;
  g_queue_init (&m->queue);
  g_mutex_unlock (&m->lock);
  while ((q = g_queue_pop_head (&items))) {
    m->fallback (q->to, q->gen, q->data, q->len, m->fallback_data);
    g_free (q);
  }
  return G_SOURCE_CONTINUE;
}

gboolean
relay_media_deliver (RelayMedia * m, guint32 to, const guint8 * payload,
    gsize len)
{
  guint8 packet[WZP_CHANNEL_MAX_LEN];
  RelayLegSnapshot peer;
  struct sockaddr_storage addr;
  socklen_t addr_len;

  if (m->n_workers == 0 || len == 0 || len > WZP_CHANNEL_MAX_PAYLOAD ||
      !relay_legs_read (m->legs, to, &peer) ||
      !deliverable (&peer, relay_media_now ()) ||
      !relay_leg_addr_to_sockaddr (&peer.addr, &addr, &addr_len))
    return FALSE;
  wzp_channel_write_header (packet, WZP_CHANNEL_MEDIA, to, peer.token);
  memcpy (packet + WZP_CHANNEL_HEADER_LEN, payload, len);
  /* Any socket of the group sends from the media port. */
  if (sendto (m->workers[0].fd, packet, WZP_CHANNEL_HEADER_LEN + len,
          MSG_DONTWAIT, (struct sockaddr *) &addr, addr_len) < 0) {
    COUNT (&m->control, dropped[RELAY_MEDIA_DROP_SEND_FAILURE], 1);
    return TRUE;
  }
  COUNT (&m->control, forwarded, 1);
  COUNT (&m->control, forwarded_bytes, WZP_CHANNEL_HEADER_LEN + len);
  return TRUE;
}

/* --- life -------------------------------------------------------------- */

RelayMedia *
relay_media_new (GMainContext * context, RelayLegs * legs,
    RelayMediaFallbackFunc fallback, gpointer user_data)
{
  RelayMedia *m = g_new0 (RelayMedia, 1);

  m->context = context;
  m->legs = legs;
  m->fallback = fallback;
  m->fallback_data = user_data;
  m->wake_fd = -1;
  g_mutex_init (&m->lock);
  g_queue_init (&m->queue);
  return m;
}

void
relay_media_free (RelayMedia * m)
{
  if (m == NULL)
    return;
  relay_media_stop (m);
  g_mutex_clear (&m->lock);
  g_free (m);
}

static void
set_buffer (int fd, int force, int plain)
{
  int size = SOCKET_BUFFER;

  /* The FORCE variants pass net.core.[rw]mem_max (root only). */
  if (setsockopt (fd, SOL_SOCKET, force, &size, sizeof size) < 0)
    setsockopt (fd, SOL_SOCKET, plain, &size, sizeof size);
}

static int
open_socket (const WzpAddr * address, GError ** error)
{
  int one = 1;
  struct timeval tv = { 0, READ_TIMEOUT_MS * 1000 };
  int fd = socket (address->storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  if (fd < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
        "media socket: %s", g_strerror (errno));
    return -1;
  }
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
      setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
      bind (fd, (const struct sockaddr *) &address->storage,
          address->len) < 0) {
    char text[WZP_ADDR_STRLEN];
    int e = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
        "cannot bind the media port %s: %s", wzp_addr_to_string (address,
            text), g_strerror (e));
    close (fd);
    return -1;
  }
  set_buffer (fd, SO_RCVBUFFORCE, SO_RCVBUF);
  set_buffer (fd, SO_SNDBUFFORCE, SO_SNDBUF);
  return fd;
}

/**
 * relay_media_start:
 * @workers: threads (and sockets), at least 1
 *
 * Binds @workers sockets to @address (port 0: one the kernel picks, the
 * same for all) and starts a thread for each.
 */
gboolean
relay_media_start (RelayMedia * m, const WzpAddr * address, guint workers,
    GError ** error)
{
  WzpAddr bound = *address;

  g_return_val_if_fail (m->n_workers == 0, FALSE);
  g_return_val_if_fail (workers >= 1, FALSE);

  m->workers = g_new0 (Worker, workers);
  for (guint i = 0; i < workers; i++) {
    Worker *w = &m->workers[i];

    w->media = m;
    w->index = i;
    w->drop_log = (WzpLogLimit) WZP_LOG_LIMIT_INIT (WZP_LOG_LIMIT_INTERVAL);
    w->fd = open_socket (&bound, error);
    if (w->fd < 0) {
      for (guint j = 0; j < i; j++)
        close (m->workers[j].fd);
      g_clear_pointer (&m->workers, g_free);
      return FALSE;
    }
    if (i == 0) {
      /* The others join the port the first one got. */
      bound.len = sizeof bound.storage;
      getsockname (w->fd, (struct sockaddr *) &bound.storage, &bound.len);
    }
  }
  m->address = bound;
  m->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  m->wake_source = g_unix_fd_source_new (m->wake_fd, G_IO_IN);
  g_source_set_callback (m->wake_source, G_SOURCE_FUNC (on_wake), m, NULL);
  g_source_set_name (m->wake_source, "wzp relay media fallback");
  g_source_attach (m->wake_source, m->context);
  atomic_store (&m->stop, FALSE);
  m->n_workers = workers;
  for (guint i = 0; i < workers; i++) {
    char name[16];

    g_snprintf (name, sizeof name, "wzp-media-%u", i);
    m->workers[i].thread = g_thread_new (name, worker_main, &m->workers[i]);
  }
  return TRUE;
}

void
relay_media_stop (RelayMedia * m)
{
  QueuedPacket *q;

  if (m->n_workers == 0)
    return;
  atomic_store (&m->stop, TRUE);
  for (guint i = 0; i < m->n_workers; i++)
    shutdown (m->workers[i].fd, SHUT_RDWR);     /* wakes a blocked read */
  for (guint i = 0; i < m->n_workers; i++) {
    g_thread_join (m->workers[i].thread);
    close (m->workers[i].fd);
  }
  g_source_destroy (m->wake_source);
  g_clear_pointer (&m->wake_source, g_source_unref);
  close (m->wake_fd);
  m->wake_fd = -1;
  while ((q = g_queue_pop_head (&m->queue)))
    g_free (q);
  /* Keep the counters for the metrics of a stopped relay. */
  for (guint i = 0; i < m->n_workers; i++)
    for (guint f = 0; f < sizeof (RelayMediaCounters) / sizeof (guint64); f++)
      ((guint64 *) & m->control)[f] +=
          ((guint64 *) & m->workers[i].counters)[f];
  g_clear_pointer (&m->workers, g_free);
  m->n_workers = 0;
}

gboolean
relay_media_get_address (RelayMedia * m, WzpAddr * address)
{
  if (m->n_workers == 0)
    return FALSE;
  *address = m->address;
  return TRUE;
}

guint
relay_media_get_workers (RelayMedia * m)
{
  return m->n_workers;
}

void
relay_media_get_counters (RelayMedia * m, guint worker,
    RelayMediaCounters * out)
{
  const guint n = sizeof (RelayMediaCounters) / sizeof (guint64);
  guint64 *o = (guint64 *) out;

  memset (out, 0, sizeof *out);
  if (worker != G_MAXUINT) {
    if (worker < m->n_workers)
      for (guint f = 0; f < n; f++)
        o[f] = __atomic_load_n (&((guint64 *) & m->workers[worker].counters)
            [f], __ATOMIC_RELAXED);
    return;
  }
  for (guint f = 0; f < n; f++)
    o[f] = __atomic_load_n (&((guint64 *) & m->control)[f], __ATOMIC_RELAXED);
  for (guint i = 0; i < m->n_workers; i++)
    for (guint f = 0; f < n; f++)
      o[f] += __atomic_load_n (&((guint64 *) & m->workers[i].counters)[f],
          __ATOMIC_RELAXED);
}
