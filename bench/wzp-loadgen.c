/* wzp-loadgen — relay capacity load generator (bench/bench-relay.py)
 *
 *   wzp-loadgen --relay 127.0.0.1:4433 --fingerprint FP --calls N
 *               [--warmup S] [--duration S] [--payload BYTES] [--rate PPS]
 *               [--wait-go] [--id-offset K] [--clients-per-socket K]
 *   wzp-loadgen --udp --relay 127.0.0.1:5000 --calls N ...
 *   wzp-loadgen --turn --relay 127.0.0.1:3478 --calls N ...
 *
 * Opens N calls (2N clients) through one of three servers and sends media
 * through it, measuring what arrives.  Every mode sends the same payload
 * (default 110 bytes: an 80-byte Opus frame plus 30 bytes of sealing) at
 * the same rate (default 50 packets/s, one per 20 ms) on the same
 * schedule, so the servers are compared on the same traffic:
 *
 *   wzp   a wzp-relay.  Each client is a real libwzp client for signaling
 *         (its own identity, a WzpSignalClient that registers; the first
 *         of each pair calls the second, which answers), sharing a
 *         WzpEndpoint with --clients-per-socket others.  Its media rides
 *         the relay's media channel: channel packets (13-byte header,
 *         docs/PROTOCOL.md) from a plain UDP socket of the same group,
 *         after a BIND that the relay answers.
 *   udp   bench/udp-forwarder, the physical floor: the same channel
 *         packets; a BIND registers a channel's address, channel c is
 *         paired with c ^ 1.
 *   turn  coturn (turnserver with no auth): each client has its own
 *         socket (a TURN allocation is a 5-tuple) and allocation; each
 *         binds a channel to its peer's relayed address and sends
 *         ChannelData (RFC 8656 §12.4), so every packet crosses the
 *         server twice (client -> its allocation -> the peer's allocation
 *         -> peer), as client-to-client TURN does.
 *
 * The generator is built to be cheap, so that the server, not it,
 * saturates: all media sockets sit in one epoll set watched by one GLib
 * source; a socket's clients send in the same 1 ms slot of the 20 ms
 * period, with one sendmmsg; reads are recvmmsg until the socket is
 * empty.  Callers and callees are in different groups (sockets), so a
 * burst from one group arrives at another as one burst.  Sources are
 * 127.1.x.y, one per group: many sources, like real clients, which also
 * spreads them over a wzp-relay's workers (SO_REUSEPORT hashes addresses)
 * and keeps each source under the relay's per-source limits.
 *
 * Each payload carries the pair id, a sequence number, a "measured" flag
 * and the CLOCK_MONOTONIC send time; sender and receiver are in this
 * process, so receive time - send time is the latency the server (and
 * both kernels' loopback paths) added.
 *
 * Phases: setup, READY (with --wait-go: wait for a line on stdin), warmup
 * (sending, not counted), measurement, a 1 s drain (receiving only), then
 * one JSON line with the counters and a latency histogram (10 us buckets)
 * so a driver can merge several processes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "wzp-signal-client.h"
#include "wzp-channel.h"
#include "wzp-identity.h"
#include "wzp-log-private.h"

#define MAGIC 0x775a5042u       /* "wZPB" */
#define HIST_BUCKET_NS 10000    /* 10 us */
#define HIST_BUCKETS 20000      /* up to 200 ms; beyond goes to the last */
#define SLOT_NS 1000000         /* send slots: 1 ms */
#define SETUP_CONCURRENCY 64
#define BATCH 64
#define RX_BUF 2048
/* TURN (RFC 8489/8656) */
#define STUN_COOKIE 0x2112A442u
#define STUN_ALLOCATE 0x0003
#define STUN_ALLOCATE_OK 0x0103
#define STUN_CHANNEL_BIND 0x0009
#define STUN_CHANNEL_BIND_OK 0x0109
#define ATTR_CHANNEL_NUMBER 0x000C
#define ATTR_LIFETIME 0x000D
#define ATTR_XOR_PEER_ADDRESS 0x0012
#define ATTR_XOR_RELAYED_ADDRESS 0x0016
#define ATTR_REQUESTED_TRANSPORT 0x0019
#define TURN_CHANNEL 0x4000

typedef struct
{
  guint32 magic;
  guint32 pair;
  guint32 seq;
  guint32 flags;
  guint64 send_ns;
} __attribute__((packed)) Stamp;

#define FLAG_MEASURED 1u

typedef enum
{
  MODE_WZP,
  MODE_UDP,
  MODE_TURN,
} Mode;

typedef enum
{
  TURN_NONE,
  TURN_ALLOCATING,
  TURN_ALLOCATED,
  TURN_BINDING,
  TURN_BOUND,
} TurnState;

typedef struct _Group Group;

typedef struct
{
  guint index;                  /* in g.clients */
  guint32 pair;                 /* pair id (with --id-offset) */
  gboolean caller;
  Group *group;
  /* wzp signaling */
  WzpIdentity *id;
  WzpSignalClient *sc;
  gboolean registered;
  /* the channel (wzp, udp) */
  gboolean have_channel;
  guint32 channel;
  guint8 token[WZP_CHANNEL_TOKEN_LEN];
  /* turn */
  TurnState turn;
  guint8 tid[12];
  struct sockaddr_in relayed;
  int fd;                       /* turn: its own socket */
  /* media */
  gboolean ready;
  guint32 seq;
} Client;

struct _Group
{
  guint index;
  struct sockaddr_in source;    /* 127.1.x.y:port */
  int fd;                       /* wzp, udp: the group's media socket */
  WzpEndpoint *ep;              /* wzp: the group's signaling endpoint */
  guint first, n;               /* clients [first, first + n) */
  guint slot;
};

typedef enum
{
  PHASE_SETUP,
  PHASE_READY,
  PHASE_WARMUP,
  PHASE_MEASURE,
  PHASE_DRAIN,
  PHASE_DONE,
} Phase;

static struct
{
  /* options */
  char *relay;
  char *fingerprint;
  gboolean udp;
  gboolean turn;
  gint calls;
  gdouble warmup;
  gdouble duration;
  gint payload;
  gint rate;
  gboolean wait_go;
  gint id_offset;
  gdouble setup_timeout;
  gint per_socket;
  gint ack_hold_ms;
  gint ack_threshold;

  Mode mode;
  GMainLoop *loop;
  GSocketAddress *relay_addr;
  struct sockaddr_in server;    /* where media goes (relay media, forwarder, coturn) */
  gboolean have_server;
  Client *clients;
  guint n_clients;
  Group *groups;
  guint n_groups;
  GHashTable *by_channel;       /* wzp, udp: channel -> Client */
  GHashTable *by_fd;            /* turn: fd -> Client */
  int epfd;
  guint started;
  guint registered;
  guint ready;
  guint errors;
  guint calls_ended;
  Phase phase;

  guint64 period_ns;
  guint n_slots;
  guint64 t0;
  guint64 next_slot;
  guint64 warmup_end;
  guint64 measure_end;
  guint64 drain_end;

  guint64 sent_measured;
  guint64 sent_total;
  guint64 send_refused;
  guint64 recv_measured;
  guint64 recv_total;
  guint64 recv_bad;
  guint64 recv_late;
  guint64 syscalls_send;
  guint64 syscalls_recv;
  guint64 *hist;
  guint64 lat_max;
  struct rusage ru_start;
  guint64 measure_start_ns;
  guint64 measure_stop_ns;
} g;

static guint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/* A macro, so the format is checked where it is written. */
#define die(...) G_STMT_START {                                         \
    fprintf (stderr, "wzp-loadgen: ");                                  \
    fprintf (stderr, __VA_ARGS__);                                      \
    fprintf (stderr, "\n");                                             \
    exit (1);                                                           \
  } G_STMT_END

static Client *
caller_of (guint pair_index)
{
  return &g.clients[pair_index];
}

static Client *
callee_of (guint pair_index)
{
  return &g.clients[g.calls + pair_index];
}

static Client *
peer_of (Client * c)
{
  guint i = c->index % g.calls;

  return c->caller ? callee_of (i) : caller_of (i);
}

static void client_ready (Client * c);

/* --- sockets ------------------------------------------------------------ */

static int
bound_socket (struct sockaddr_in *addr)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  socklen_t len = sizeof *addr;
  int size = 1 << 20;
  struct epoll_event ev = { 0 };

  if (fd < 0)
    die ("socket: %s", g_strerror (errno));
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind (fd, (struct sockaddr *) addr, sizeof *addr) < 0)
    die ("bind: %s", g_strerror (errno));
  getsockname (fd, (struct sockaddr *) addr, &len);
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl (g.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    die ("epoll_ctl: %s", g_strerror (errno));
  return fd;
}

static void
send_to_server (int fd, const guint8 * data, gsize len)
{
  if (sendto (fd, data, len, MSG_DONTWAIT, (struct sockaddr *) &g.server,
          sizeof g.server) != (gssize) len)
    g.errors++;
}

/* --- receiving ------------------------------------------------------------ */

static void
on_stamp (const guint8 * data, gsize len)
{
  Stamp st;
  guint64 t = now_ns ();
  guint64 lat;

  if (len < sizeof st) {
    g.recv_bad++;
    return;
  }
  memcpy (&st, data, sizeof st);
  if (st.magic != MAGIC || st.pair < (guint32) g.id_offset ||
      st.pair >= (guint32) (g.id_offset + g.calls)) {
    g.recv_bad++;
    return;
  }
  g.recv_total++;
  if (!(st.flags & FLAG_MEASURED))
    return;
  g.recv_measured++;
  if (g.phase == PHASE_DRAIN)
    g.recv_late++;
  lat = t > st.send_ns ? t - st.send_ns : 0;
  if (lat > g.lat_max)
    g.lat_max = lat;
  g.hist[MIN (lat / HIST_BUCKET_NS, HIST_BUCKETS - 1)]++;
}

static void turn_on_response (Client * c, const guint8 * data, gsize len);

static void
on_packet (int fd, const guint8 * data, gsize len)
{
  if (g.mode == MODE_TURN) {
    if (len >= 4 && (data[0] & 0xC0) == 0x40) {
      /* ChannelData: [channel u16][length u16][data] */
      guint16 dlen = (data[2] << 8) | data[3];
      if (dlen > len - 4) {
        g.recv_bad++;
        return;
      }
      on_stamp (data + 4, dlen);
      return;
    }
    if (len >= 20 && (data[0] & 0xC0) == 0) {
      Client *c = g_hash_table_lookup (g.by_fd, GINT_TO_POINTER (fd));
      if (c)
        turn_on_response (c, data, len);
      return;
    }
    g.recv_bad++;
    return;
  }
  if (len > WZP_CHANNEL_HEADER_LEN && data[0] == WZP_CHANNEL_MEDIA) {
    on_stamp (data + WZP_CHANNEL_HEADER_LEN, len - WZP_CHANNEL_HEADER_LEN);
    return;
  }
  if (len == WZP_CHANNEL_BIND_LEN && data[0] == WZP_CHANNEL_BIND_ACK) {
    WzpChannelPacket p;
    Client *c;
    if (wzp_channel_packet_parse (data, len, &p) &&
        (c = g_hash_table_lookup (g.by_channel,
                GUINT_TO_POINTER (p.channel))) != NULL)
      client_ready (c);
    return;
  }
  g.recv_bad++;
}

static void
drain_socket (int fd)
{
  static guint8 bufs[BATCH][RX_BUF];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];

  for (;;) {
    int n;

    for (guint i = 0; i < BATCH; i++) {
      iovs[i].iov_base = bufs[i];
      iovs[i].iov_len = RX_BUF;
      memset (&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg (fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    g.syscalls_recv++;
    if (n <= 0)
      return;
    for (int i = 0; i < n; i++)
      on_packet (fd, bufs[i], msgs[i].msg_len);
    if (n < BATCH)
      return;
  }
}

static gboolean
on_epoll (gint epfd, GIOCondition cond, gpointer data)
{
  struct epoll_event evs[256];
  int n = epoll_wait (epfd, evs, G_N_ELEMENTS (evs), 0);

  for (int i = 0; i < n; i++)
    drain_socket (evs[i].data.fd);
  return G_SOURCE_CONTINUE;
}

/* --- sending ------------------------------------------------------------ */

/* Fills @buf with a media packet of @c; returns its length. */
static gsize
media_packet (Client * c, guint8 * buf, gboolean measured)
{
  Stamp st;
  gsize off;

  st.magic = MAGIC;
  st.pair = c->pair;
  st.seq = c->seq++;
  st.flags = measured ? FLAG_MEASURED : 0;
  st.send_ns = now_ns ();
  if (g.mode == MODE_TURN) {
    buf[0] = TURN_CHANNEL >> 8;
    buf[1] = TURN_CHANNEL & 0xff;
    buf[2] = g.payload >> 8;
    buf[3] = g.payload & 0xff;
    off = 4;
  } else {
    wzp_channel_write_header (buf, WZP_CHANNEL_MEDIA, c->channel, c->token);
    off = WZP_CHANNEL_HEADER_LEN;
  }
  memset (buf + off, 0xa5, g.payload);
  memcpy (buf + off, &st, sizeof st);
  return off + g.payload;
}

/* One sendmmsg for the ready clients of @grp. */
static void
send_group (Group * grp, gboolean measured)
{
  static guint8 bufs[BATCH][RX_BUF];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  guint n = 0;
  int fd = -1;

  for (guint k = 0; k < grp->n; k++) {
    Client *c = &g.clients[grp->first + k];
    gsize len;

    if (!c->ready)
      continue;
    len = media_packet (c, bufs[n], measured);
    g.sent_total++;
    if (measured)
      g.sent_measured++;
    if (g.mode == MODE_TURN) {
      /* One allocation per socket: one packet per call. */
      g.syscalls_send++;
      if (sendto (c->fd, bufs[n], len, MSG_DONTWAIT,
              (struct sockaddr *) &g.server, sizeof g.server) != (gssize) len)
        g.send_refused++;
      continue;
    }
    fd = grp->fd;
    iovs[n].iov_base = bufs[n];
    iovs[n].iov_len = len;
    memset (&msgs[n], 0, sizeof msgs[n]);
    msgs[n].msg_hdr.msg_name = &g.server;
    msgs[n].msg_hdr.msg_namelen = sizeof g.server;
    msgs[n].msg_hdr.msg_iov = &iovs[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    n++;
  }
  for (guint done = 0; done < n;) {
    int rv = sendmmsg (fd, msgs + done, n - done, MSG_DONTWAIT);
    g.syscalls_send++;
    if (rv > 0) {
      done += rv;
      continue;
    }
    if (rv < 0 && errno == EINTR)
      continue;
    g.send_refused += n - done;
    break;
  }
}

static void
print_results (void)
{
  struct rusage ru;
  double cpu, wall;
  GString *s = g_string_new (NULL);
  gboolean first = TRUE;

  getrusage (RUSAGE_SELF, &ru);
  cpu = (ru.ru_utime.tv_sec - g.ru_start.ru_utime.tv_sec) +
      (ru.ru_stime.tv_sec - g.ru_start.ru_stime.tv_sec) +
      ((ru.ru_utime.tv_usec - g.ru_start.ru_utime.tv_usec) +
      (ru.ru_stime.tv_usec - g.ru_start.ru_stime.tv_usec)) / 1e6;
  wall = (g.measure_stop_ns - g.measure_start_ns) / 1e9;
  g_printerr ("wzp-loadgen: %" G_GUINT64_FORMAT " send and %" G_GUINT64_FORMAT
      " receive system calls for %" G_GUINT64_FORMAT " packets sent\n",
      g.syscalls_send, g.syscalls_recv, g.sent_total);
  g_string_append_printf (s, "{\"calls\": %d, \"ready\": %u, "
      "\"duration\": %.3f, \"sent\": %" G_GUINT64_FORMAT ", \"received\": %"
      G_GUINT64_FORMAT ", \"received_late\": %" G_GUINT64_FORMAT
      ", \"sent_total\": %" G_GUINT64_FORMAT ", \"received_total\": %"
      G_GUINT64_FORMAT ", \"send_refused\": %" G_GUINT64_FORMAT
      ", \"bad\": %" G_GUINT64_FORMAT ", \"errors\": %u, \"calls_ended\": %u"
      ", \"loadgen_cpu\": %.3f, \"lat_max_ns\": %" G_GUINT64_FORMAT
      ", \"hist_bucket_ns\": %d, \"hist\": [",
      g.calls, g.ready, wall, g.sent_measured, g.recv_measured, g.recv_late,
      g.sent_total, g.recv_total, g.send_refused, g.recv_bad, g.errors,
      g.calls_ended, wall > 0 ? cpu / wall : 0, g.lat_max, HIST_BUCKET_NS);
  for (guint i = 0; i < HIST_BUCKETS; i++) {
    if (g.hist[i] == 0)
      continue;
    g_string_append_printf (s, "%s[%u, %" G_GUINT64_FORMAT "]",
        first ? "" : ", ", i, g.hist[i]);
    first = FALSE;
  }
  g_string_append (s, "]}");
  printf ("RESULT %s\n", s->str);
  fflush (stdout);
  g_string_free (s, TRUE);
}

/* The send schedule: group k sends in slot k % n_slots of every period,
 * slots SLOT_NS apart.  Late ticks catch up. */
static gboolean
on_tick (gpointer data)
{
  guint64 t = now_ns ();

  if (g.phase == PHASE_WARMUP && t >= g.warmup_end) {
    g.phase = PHASE_MEASURE;
    getrusage (RUSAGE_SELF, &g.ru_start);
    g.measure_start_ns = t;
    printf ("MEASURE\n");
    fflush (stdout);
  }
  if (g.phase == PHASE_MEASURE && t >= g.measure_end) {
    g.phase = PHASE_DRAIN;
    g.measure_stop_ns = t;
    printf ("DRAIN\n");
    fflush (stdout);
  }
  if (g.phase == PHASE_DRAIN && t >= g.drain_end) {
    g.phase = PHASE_DONE;
    print_results ();
    g_main_loop_quit (g.loop);
    return G_SOURCE_REMOVE;
  }
  if (g.phase != PHASE_WARMUP && g.phase != PHASE_MEASURE)
    return G_SOURCE_CONTINUE;

  while (g.t0 + g.next_slot * SLOT_NS <= t) {
    guint slot = g.next_slot % g.n_slots;
    for (guint k = slot; k < g.n_groups; k += g.n_slots)
      send_group (&g.groups[k], g.phase == PHASE_MEASURE);
    g.next_slot++;
  }
  return G_SOURCE_CONTINUE;
}

static void
start_sending (void)
{
  GSource *s;

  g.phase = PHASE_WARMUP;
  g.t0 = now_ns ();
  g.next_slot = 0;
  g.warmup_end = g.t0 + (guint64) (g.warmup * 1e9);
  g.measure_end = g.warmup_end + (guint64) (g.duration * 1e9);
  g.drain_end = g.measure_end + G_GUINT64_CONSTANT (1000000000);
  s = g_timeout_source_new (1);
  g_source_set_priority (s, G_PRIORITY_HIGH);
  g_source_set_callback (s, on_tick, NULL, NULL);
  g_source_attach (s, NULL);
  g_source_unref (s);
}

static gboolean
on_stdin (gint fd, GIOCondition cond, gpointer data)
{
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);

  if (n <= 0 || g.phase == PHASE_READY) {
    if (g.phase == PHASE_READY)
      start_sending ();
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static void
all_ready (void)
{
  g.phase = PHASE_READY;
  printf ("READY %u\n", g.ready);
  fflush (stdout);
  if (!g.wait_go)
    start_sending ();
  else
    g_unix_fd_add (0, G_IO_IN | G_IO_HUP, on_stdin, NULL);
}

static void
client_ready (Client * c)
{
  if (c->ready)
    return;
  c->ready = TRUE;
  g.ready++;
  if (g.ready == g.n_clients && g.phase == PHASE_SETUP)
    all_ready ();
}

/* --- channels (wzp, udp): BIND until the server answers ---------------- */

static void
send_bind (Client * c)
{
  guint8 packet[WZP_CHANNEL_BIND_LEN];

  /* This socket is where we receive: the relay may send us media on the
   * channel at once. */
  wzp_channel_write_bind (packet, WZP_CHANNEL_BIND, c->channel, c->token,
      WZP_CHANNEL_FLAG_RECEIVING, c->index);
  send_to_server (c->group->fd, packet, sizeof packet);
}

/* --- TURN ---------------------------------------------------------------- */

static gsize
stun_header (guint8 * buf, guint16 type, const guint8 tid[12])
{
  guint32 cookie = GUINT32_TO_BE (STUN_COOKIE);

  buf[0] = type >> 8;
  buf[1] = type & 0xff;
  buf[2] = buf[3] = 0;          /* length, set by stun_finish */
  memcpy (buf + 4, &cookie, 4);
  memcpy (buf + 8, tid, 12);
  return 20;
}

static gsize
stun_attr (guint8 * buf, gsize off, guint16 type, const guint8 * value,
    guint16 len)
{
  buf[off] = type >> 8;
  buf[off + 1] = type & 0xff;
  buf[off + 2] = len >> 8;
  buf[off + 3] = len & 0xff;
  memcpy (buf + off + 4, value, len);
  off += 4 + len;
  while (off % 4)
    buf[off++] = 0;
  return off;
}

static void
stun_finish (guint8 * buf, gsize len)
{
  buf[2] = (len - 20) >> 8;
  buf[3] = (len - 20) & 0xff;
}

static void
turn_allocate (Client * c)
{
  guint8 buf[64];
  guint8 transport[4] = { 17, 0, 0, 0 };        /* UDP */
  gsize len;

  for (guint i = 0; i < 12; i++)
    c->tid[i] = g_random_int () & 0xff;
  len = stun_header (buf, STUN_ALLOCATE, c->tid);
  len = stun_attr (buf, len, ATTR_REQUESTED_TRANSPORT, transport, 4);
  stun_finish (buf, len);
  c->turn = TURN_ALLOCATING;
  send_to_server (c->fd, buf, len);
}

static void
turn_bind (Client * c)
{
  Client *peer = peer_of (c);
  guint8 buf[64];
  guint8 channel[4] = { TURN_CHANNEL >> 8, TURN_CHANNEL & 0xff, 0, 0 };
  guint8 xaddr[8];
  guint16 xport = ntohs (peer->relayed.sin_port) ^ (STUN_COOKIE >> 16);
  guint32 xip = ntohl (peer->relayed.sin_addr.s_addr) ^ STUN_COOKIE;
  gsize len;

  xaddr[0] = 0;
  xaddr[1] = 0x01;              /* IPv4 */
  xaddr[2] = xport >> 8;
  xaddr[3] = xport & 0xff;
  xip = GUINT32_TO_BE (xip);
  memcpy (xaddr + 4, &xip, 4);
  for (guint i = 0; i < 12; i++)
    c->tid[i] = g_random_int () & 0xff;
  len = stun_header (buf, STUN_CHANNEL_BIND, c->tid);
  len = stun_attr (buf, len, ATTR_CHANNEL_NUMBER, channel, 4);
  len = stun_attr (buf, len, ATTR_XOR_PEER_ADDRESS, xaddr, 8);
  stun_finish (buf, len);
  c->turn = TURN_BINDING;
  send_to_server (c->fd, buf, len);
}

static void
turn_on_response (Client * c, const guint8 * data, gsize len)
{
  guint16 type = (data[0] << 8) | data[1];
  gsize off = 20;

  if (memcmp (data + 8, c->tid, 12) != 0)
    return;
  if (type == STUN_ALLOCATE_OK && c->turn == TURN_ALLOCATING) {
    while (off + 4 <= len) {
      guint16 at = (data[off] << 8) | data[off + 1];
      guint16 alen = (data[off + 2] << 8) | data[off + 3];
      if (off + 4 + alen > len)
        break;
      if (at == ATTR_XOR_RELAYED_ADDRESS && alen == 8 && data[off + 5] == 1) {
        guint16 xport = (data[off + 6] << 8) | data[off + 7];
        guint32 xip;
        memcpy (&xip, data + off + 8, 4);
        c->relayed.sin_family = AF_INET;
        c->relayed.sin_port = htons (xport ^ (STUN_COOKIE >> 16));
        c->relayed.sin_addr.s_addr = htonl (ntohl (xip) ^ STUN_COOKIE);
        c->turn = TURN_ALLOCATED;
        g.registered++;
      }
      off += 4 + ((alen + 3) & ~3u);
    }
    /* Both of the pair allocated: each binds a channel to the other. */
    if (c->turn == TURN_ALLOCATED && peer_of (c)->turn >= TURN_ALLOCATED) {
      turn_bind (c);
      if (peer_of (c)->turn == TURN_ALLOCATED)
        turn_bind (peer_of (c));
    }
    return;
  }
  if (type == STUN_CHANNEL_BIND_OK && c->turn == TURN_BINDING) {
    c->turn = TURN_BOUND;
    client_ready (c);
    return;
  }
  if ((type & 0x0110) == 0x0110) {
    g.errors++;
    if (g.errors < 10)
      g_printerr ("wzp-loadgen: TURN error response 0x%04x\n", type);
  }
}

/* --- setup: what has not answered yet is asked again ------------------- */

static gboolean
on_setup_tick (gpointer data)
{
  guint sent = 0;

  if (g.phase != PHASE_SETUP)
    return G_SOURCE_REMOVE;
  for (guint k = 0; k < g.n_clients && sent < 1024; k++) {
    Client *c = &g.clients[k];

    if (c->ready)
      continue;
    if (g.mode == MODE_TURN) {
      if (c->turn == TURN_NONE || c->turn == TURN_ALLOCATING)
        turn_allocate (c);
      else if (c->turn == TURN_BINDING)
        turn_bind (c);
      else
        continue;
    } else if (c->have_channel) {
      send_bind (c);
    } else {
      continue;
    }
    sent++;
  }
  return G_SOURCE_CONTINUE;
}

/* --- wzp signaling ------------------------------------------------------ */

static void start_more (void);

static void
place_calls (void)
{
  for (gint i = 0; i < g.calls; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) offer = json_object_new ();
    g_autofree char *id = NULL;

    json_object_set_string_member (offer, "bench", "offer");
    id = wzp_signal_client_place_call (caller_of (i)->sc,
        wzp_identity_get_fingerprint (callee_of (i)->id), NULL, offer, &error);
    if (id == NULL)
      die ("place_call: %s", error->message);
  }
}

static void
on_registered (WzpSignalClient * sc, GSocketAddress * observed, Client * c)
{
  if (c->registered)
    return;
  c->registered = TRUE;
  g.registered++;
  if (g.registered == g.n_clients)
    place_calls ();
  else
    start_more ();
}

static void
on_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, Client * c)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = json_object_new ();

  json_object_set_string_member (answer, "bench", "answer");
  if (!wzp_signal_client_answer (sc, call_id, answer, &error))
    die ("answer: %s", error->message);
}

static void
on_setup (WzpSignalClient * sc, WzpCallSetup * setup, Client * c)
{
  WzpChannelInfo info;
  struct sockaddr_in *sin = (struct sockaddr_in *) &info.address.storage;

  if (!wzp_signal_client_get_channel (sc, setup->channel, &info))
    die ("the relay gave the call no media channel (is its media port "
        "off?)");
  if (info.address.storage.ss_family != AF_INET)
    die ("the relay's media address is not IPv4");
  if (!g.have_server) {
    g.server = *sin;
    /* 0.0.0.0: the relay's own host. */
    if (g.server.sin_addr.s_addr == htonl (INADDR_ANY)) {
      struct sockaddr_in relay;
      g_socket_address_to_native (g.relay_addr, &relay, sizeof relay, NULL);
      g.server.sin_addr = relay.sin_addr;
    }
    g.have_server = TRUE;
  }
  c->channel = info.channel;
  memcpy (c->token, info.token, sizeof c->token);
  c->have_channel = TRUE;
  g_hash_table_insert (g.by_channel, GUINT_TO_POINTER (c->channel), c);
  send_bind (c);
}

static void
on_ended (WzpSignalClient * sc, const char *call_id, const char *reason,
    Client * c)
{
  g.calls_ended++;
  g_printerr ("wzp-loadgen: call %s ended: %s\n", call_id, reason);
}

static void
on_error (WzpSignalClient * sc, const GError * error, Client * c)
{
  g.errors++;
  if (g.errors < 10)
    g_printerr ("wzp-loadgen: client error: %s\n", error->message);
}

static void
wzp_client_init (Client * c)
{
  Group *grp = c->group;

  if (grp->ep == NULL) {
    g_autoptr (GError) error = NULL;
    g_autoptr (WzpIdentity) epid = wzp_identity_generate ();
    g_autoptr (GSocketAddress) src = g_socket_address_new_from_native
        (&grp->source, sizeof grp->source);
    g_autoptr (GInetAddress) ip = g_object_ref
        (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (src)));
    g_autoptr (GSocketAddress) any = g_inet_socket_address_new (ip, 0);

    grp->ep = wzp_endpoint_new (NULL, epid, NULL, &error);
    if (grp->ep == NULL)
      die ("endpoint: %s", error->message);
    g_object_set (grp->ep, "ack-hold", (guint64) g.ack_hold_ms * 1000000,
        "ack-threshold", (guint) g.ack_threshold, NULL);
    if (!wzp_endpoint_bind (grp->ep, any, &error))
      die ("endpoint: %s", error->message);
  }
  c->id = wzp_identity_generate ();
  c->sc = g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint", grp->ep,
      "relay-address", g.relay_addr, "relay-fingerprint", g.fingerprint,
      "identity", c->id, "relay-channels", FALSE, NULL);
  g_signal_connect (c->sc, "registered", G_CALLBACK (on_registered), c);
  g_signal_connect (c->sc, "incoming-call", G_CALLBACK (on_incoming), c);
  g_signal_connect (c->sc, "call-setup", G_CALLBACK (on_setup), c);
  g_signal_connect (c->sc, "call-ended", G_CALLBACK (on_ended), c);
  g_signal_connect (c->sc, "error", G_CALLBACK (on_error), c);
}

/* Keeps at most SETUP_CONCURRENCY handshakes in flight. */
static void
start_more (void)
{
  while (g.started < g.n_clients &&
      g.started - g.registered < SETUP_CONCURRENCY) {
    Client *c = &g.clients[g.started];
    g_autoptr (GError) error = NULL;

    g.started++;
    if (!wzp_signal_client_start (c->sc, &error))
      die ("start: %s", error->message);
  }
}

/* --- main ------------------------------------------------------------- */

static gboolean
on_setup_timeout (gpointer data)
{
  if (g.phase == PHASE_SETUP)
    die ("setup timed out: %u/%u registered (allocated), %u/%u ready",
        g.registered, g.n_clients, g.ready, g.n_clients);
  return G_SOURCE_REMOVE;
}

static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit (RLIMIT_NOFILE, &rl);
  }
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    {"relay", 'r', 0, G_OPTION_ARG_STRING, &g.relay,
          "Server: the relay's QUIC address, the forwarder's, or coturn's",
        "IP:PORT"},
    {"fingerprint", 'f', 0, G_OPTION_ARG_STRING, &g.fingerprint,
        "Relay fingerprint (wzp mode)", "FP"},
    {"udp", 'u', 0, G_OPTION_ARG_NONE, &g.udp,
        "Channel packets to bench/udp-forwarder instead of wzp", NULL},
    {"turn", 't', 0, G_OPTION_ARG_NONE, &g.turn,
        "TURN (Allocate, ChannelBind, ChannelData) to coturn", NULL},
    {"calls", 'n', 0, G_OPTION_ARG_INT, &g.calls, "Calls (client pairs)",
        "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_DOUBLE, &g.warmup,
        "Seconds of sending before measuring (default 2)", "S"},
    {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &g.duration,
        "Seconds measured (default 10)", "S"},
    {"payload", 0, 0, G_OPTION_ARG_INT, &g.payload,
        "Media payload bytes (default 110)", "BYTES"},
    {"rate", 0, 0, G_OPTION_ARG_INT, &g.rate,
        "Packets/s per client (default 50)", "PPS"},
    {"wait-go", 0, 0, G_OPTION_ARG_NONE, &g.wait_go,
        "After READY, wait for a line on stdin", NULL},
    {"id-offset", 0, 0, G_OPTION_ARG_INT, &g.id_offset,
        "First pair id (unique across processes)", "K"},
    {"setup-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &g.setup_timeout,
        "Seconds allowed for setup (default 180)", "S"},
    {"clients-per-socket", 0, 0, G_OPTION_ARG_INT, &g.per_socket,
        "Clients sharing one media socket, one source address and (wzp) "
          "one QUIC endpoint (default 32; TURN: always 1)", "K"},
    {"ack-hold-ms", 0, 0, G_OPTION_ARG_INT, &g.ack_hold_ms,
        "Clients' WzpEndpoint:ack-hold in ms (default 20; 0 = off)", "MS"},
    {"ack-threshold", 0, 0, G_OPTION_ARG_INT, &g.ack_threshold,
          "Clients' WzpEndpoint:ack-threshold (default 8; libwzp's is 2)",
        "N"},
    {NULL}
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- relay load");
  GError *error = NULL;
  guint n_groups;

  g.warmup = 2;
  g.duration = 10;
  g.payload = 110;
  g.rate = 50;
  g.setup_timeout = 180;
  g.per_socket = 32;
  g.ack_hold_ms = 20;
  g.ack_threshold = 8;
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    die ("%s", error->message);
  g.mode = g.turn ? MODE_TURN : g.udp ? MODE_UDP : MODE_WZP;
  if (g.relay == NULL || g.calls <= 0 ||
      (g.mode == MODE_WZP && g.fingerprint == NULL))
    die ("need --relay, --calls and (wzp mode) --fingerprint");
  if (g.payload < (gint) sizeof (Stamp) || g.payload > 1200)
    die ("--payload must be %zu..1200", sizeof (Stamp));
  if (g.rate <= 0 || 1000000000 / g.rate < SLOT_NS)
    die ("bad --rate");
  if (g.per_socket < 1 || g.per_socket > BATCH)
    die ("--clients-per-socket must be 1..%d", BATCH);
  if (g.mode == MODE_TURN)
    g.per_socket = 1;

  wzp_log_set_threshold ("*", WZP_LOG_WARNING);
  raise_fd_limit ();
  g.period_ns = 1000000000 / g.rate;
  g.n_slots = g.period_ns / SLOT_NS;
  g.hist = g_new0 (guint64, HIST_BUCKETS);
  g.loop = g_main_loop_new (NULL, FALSE);
  g.relay_addr = wzp_socket_address_parse (g.relay, &error);
  if (g.relay_addr == NULL)
    die ("--relay: %s", error->message);
  if (g.mode != MODE_WZP) {
    if (!g_socket_address_to_native (g.relay_addr, &g.server,
            sizeof g.server, &error))
      die ("--relay: %s (IPv4 only)", error->message);
    g.have_server = TRUE;
  }
  g.epfd = epoll_create1 (EPOLL_CLOEXEC);
  g.by_channel = g_hash_table_new (NULL, NULL);
  g.by_fd = g_hash_table_new (NULL, NULL);

  /* Callers are clients [0, N), callees [N, 2N); groups never mix them
   * (a group of callers sends to a group of callees). */
  g.n_clients = 2 * g.calls;
  g.clients = g_new0 (Client, g.n_clients);
  n_groups = 2 * ((g.calls + g.per_socket - 1) / g.per_socket);
  g.groups = g_new0 (Group, n_groups);
  for (guint half = 0; half < 2; half++) {
    for (guint i = 0; i < (guint) g.calls; i += g.per_socket) {
      Group *grp = &g.groups[g.n_groups];
      guint src = g.n_groups + 1 + (guint) g.id_offset;

      grp->index = g.n_groups++;
      grp->first = half * g.calls + i;
      grp->n = MIN ((guint) g.per_socket, (guint) g.calls - i);
      grp->slot = grp->index % g.n_slots;
      grp->source.sin_family = AF_INET;
      /* 127.1.x.y: a source address of its own for each group. */
      grp->source.sin_addr.s_addr = htonl (0x7f010000u | ((src / 250) << 8) |
          (src % 250 + 1));
      grp->fd = -1;
      if (g.mode != MODE_TURN)
        grp->fd = bound_socket (&grp->source);
    }
  }
  for (guint k = 0; k < g.n_clients; k++) {
    Client *c = &g.clients[k];
    guint i = k % g.calls;

    c->index = k;
    c->caller = k < (guint) g.calls;
    c->pair = g.id_offset + i;
    c->group = &g.groups[(c->caller ? 0 : g.n_groups / 2) + i / g.per_socket];
    c->fd = -1;
    switch (g.mode) {
      case MODE_WZP:
        wzp_client_init (c);
        break;
      case MODE_UDP:
        /* The forwarder pairs channel c with c ^ 1. */
        c->channel = 2 * c->pair + (c->caller ? 0 : 1);
        c->have_channel = TRUE;
        g_hash_table_insert (g.by_channel, GUINT_TO_POINTER (c->channel), c);
        break;
      case MODE_TURN:{
        struct sockaddr_in src = c->group->source;
        c->fd = bound_socket (&src);
        g_hash_table_insert (g.by_fd, GINT_TO_POINTER (c->fd), c);
        break;
      }
    }
  }
  g_unix_fd_add (g.epfd, G_IO_IN, on_epoll, NULL);
  g_timeout_add_seconds ((guint) g.setup_timeout, on_setup_timeout, NULL);
  g_timeout_add (100, on_setup_tick, NULL);
  if (g.mode == MODE_WZP)
    start_more ();
  else
    on_setup_tick (NULL);

  g_main_loop_run (g.loop);
  return g.ready == g.n_clients ? 0 : 1;
}
