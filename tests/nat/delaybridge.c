/* wzp-delaybridge: a user-space Ethernet bridge that delays frames.
 *
 * The NAT lab (tests/nat/natlab.py) runs it inside its "internet" network
 * namespace because this kernel has no `tc netem`.  It opens one AF_PACKET
 * socket per port, reads every frame a port receives and sends it out of the
 * other ports of the same group after a configured one-way delay (plus
 * optional jitter), dropping a configurable random share per port pair.
 *
 *   wzp-delaybridge [-d MS] [-j MS] [-l PCT] [-s SEED] [-c CTLSOCK]
 *                   [-p PIDFILE] [-v] GROUP...
 *
 *   GROUP   comma-separated interface names, e.g. "wa,xa".  Frames are
 *           bridged only among the ports of one group (a two-port group is a
 *           delayed wire).  The bridge learns source MAC addresses per group
 *           and floods frames to unknown/broadcast destinations.
 *   -d MS   one-way delay added to every frame (default 0)
 *   -j MS   jitter: each frame gets delay + uniform(-MS, +MS), never less
 *           than 0; frames between one port pair are never reordered
 *   -l PCT  random loss for every port pair (default 0)
 *   -c PATH control socket (UNIX stream; one command line per connection):
 *             ping                     -> "ok"
 *             delay MS | jitter MS     -> "ok"
 *             loss PCT                 -> set loss for every port pair
 *             loss IN OUT PCT          -> loss for frames from port IN to OUT
 *             portdelay DPORT MS [SPORT] -> MS more for IPv4 UDP frames to
 *                                         destination port DPORT (and from
 *                                         source port SPORT if given; 0 ms:
 *                                         none again): what one host gets
 *                                         from the relay, where a wire
 *                                         carries more than that
 *             stats                    -> one line per port: rx tx lost
 *   -p PATH write the pid there once every port is open (readiness signal)
 *
 * Interfaces that feed the bridge must have TX checksum offload switched off
 * (`ethtool -K IF tx off`): a frame read from a veth with a partial checksum
 * is sent on unfinished, and the receiver drops the UDP datagram.
 *
 * Frames the kernel reports as PACKET_OUTGOING (our own transmissions, seen
 * again by the socket) are ignored, otherwise the bridge would loop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 32
#define MAX_FRAME 65536
#define MAX_QUEUED 200000
#define MAX_MACS 1024

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

typedef struct
{
  char name[IF_NAMESIZE];
  int ifindex;
  int fd;
  int group;
  uint64_t rx, tx, lost, tx_err;
} Port;

typedef struct
{
  uint64_t due_ns;
  uint64_t seq;
  int out;
  uint32_t len;
  uint8_t *data;
} Frame;

typedef struct
{
  uint8_t mac[6];
  int group;
  int port;
} MacEntry;

static Port ports[MAX_PORTS];
static int n_ports;
static double loss_pct[MAX_PORTS][MAX_PORTS];
static uint64_t last_due[MAX_PORTS][MAX_PORTS];
static uint64_t delay_ns;
static uint64_t jitter_ns;
/* Extra delay by UDP destination port; frames so delayed keep their own
 * order per port pair (last_due_extra) and hold nothing else back. */
#define MAX_PORT_DELAYS 8
static struct
{
  uint16_t udp_port;
  uint16_t src_port;            /* 0: any */
  uint64_t extra_ns;
} port_delays[MAX_PORT_DELAYS];
static uint64_t last_due_extra[MAX_PORTS][MAX_PORTS];
static bool verbose;

static Frame *heap;
static size_t heap_len, heap_cap;
static uint64_t next_seq;
static uint64_t queue_drops;

static MacEntry macs[MAX_MACS];
static int n_macs;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("wzp-delaybridge: ", stderr);
  /* clang wants a format attribute for this; callers pass literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  vfprintf (stderr, fmt, ap);
#pragma GCC diagnostic pop
  fputc ('\n', stderr);
  va_end (ap);
  exit (1);
}

static uint64_t
rng_next (void)
{
  /* xorshift64* */
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static double
rng_unit (void)
{
  return (double) (rng_next () >> 11) / 9007199254740992.0;     /* [0,1) */
}

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* ---- time-ordered queue: binary min-heap on (due_ns, seq) ---- */

static bool
frame_before (const Frame * a, const Frame * b)
{
  if (a->due_ns != b->due_ns)
    return a->due_ns < b->due_ns;
  return a->seq < b->seq;
}

static void
heap_push (Frame f)
{
  if (heap_len == heap_cap) {
    size_t cap = heap_cap ? heap_cap * 2 : 1024;
    Frame *h = realloc (heap, cap * sizeof (Frame));
    if (!h)
      die ("out of memory");
    heap = h;
    heap_cap = cap;
  }
  size_t i = heap_len++;
  heap[i] = f;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!frame_before (&heap[i], &heap[p]))
      break;
    Frame t = heap[p];
    heap[p] = heap[i];
    heap[i] = t;
    i = p;
  }
}

static Frame
heap_pop (void)
{
  Frame top = heap[0];
  heap[0] = heap[--heap_len];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_len && frame_before (&heap[l], &heap[m]))
      m = l;
    if (r < heap_len && frame_before (&heap[r], &heap[m]))
      m = r;
    if (m == i)
      break;
    Frame t = heap[m];
    heap[m] = heap[i];
    heap[i] = t;
    i = m;
  }
  return top;
}

/* ---- ports ---- */

static int
port_by_name (const char *name)
{
  for (int i = 0; i < n_ports; i++)
    if (strcmp (ports[i].name, name) == 0)
      return i;
  return -1;
}

static void
open_port (const char *name, int group)
{
  if (n_ports == MAX_PORTS)
    die ("too many ports (max %d)", MAX_PORTS);
  if (strlen (name) >= IF_NAMESIZE)
    die ("interface name too long: %s", name);
  if (port_by_name (name) >= 0)
    die ("interface %s given twice", name);

  Port *p = &ports[n_ports];
  snprintf (p->name, sizeof p->name, "%s", name);
  p->group = group;
  p->ifindex = (int) if_nametoindex (name);
  if (p->ifindex == 0)
    die ("no interface %s: %s", name, strerror (errno));

  p->fd = socket (AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
      htons (ETH_P_ALL));
  if (p->fd < 0)
    die ("socket(AF_PACKET): %s", strerror (errno));

  int one = 1;
  /* Not fatal on old kernels: PACKET_OUTGOING frames are skipped below too. */
  (void) setsockopt (p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
      sizeof one);
  int buf = 4 * 1024 * 1024;
  (void) setsockopt (p->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  (void) setsockopt (p->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);

  struct sockaddr_ll sll = { 0 };
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons (ETH_P_ALL);
  sll.sll_ifindex = p->ifindex;
  if (bind (p->fd, (struct sockaddr *) &sll, sizeof sll) < 0)
    die ("bind(%s): %s", name, strerror (errno));

  /* Promiscuous: frames addressed to the far side's MAC must reach us. */
  struct packet_mreq mr = { 0 };
  mr.mr_ifindex = p->ifindex;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt (p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
    die ("promisc(%s): %s", name, strerror (errno));
  n_ports++;
}

/* Learning: returns the port a MAC was last seen on in a group, or -1. */
static int
mac_lookup (const uint8_t * mac, int group)
{
  for (int i = 0; i < n_macs; i++)
    if (macs[i].group == group && memcmp (macs[i].mac, mac, 6) == 0)
      return macs[i].port;
  return -1;
}

static void
mac_learn (const uint8_t * mac, int group, int port)
{
  if (mac[0] & 1)
    return;                     /* multicast/broadcast source: ignore */
  for (int i = 0; i < n_macs; i++)
    if (macs[i].group == group && memcmp (macs[i].mac, mac, 6) == 0) {
      macs[i].port = port;
      return;
    }
  if (n_macs < MAX_MACS) {
    memcpy (macs[n_macs].mac, mac, 6);
    macs[n_macs].group = group;
    macs[n_macs].port = port;
    n_macs++;
  }
}

/* The extra delay for an IPv4 UDP frame's destination port (0: none). */
static uint64_t
extra_delay (const uint8_t * data, size_t len)
{
  if (len < 14 + 20 + 8 || data[12] != 0x08 || data[13] != 0x00)
    return 0;
  const uint8_t *ip = data + 14;
  size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ip[9] != 17 || ihl < 20 || len < 14 + ihl + 8)
    return 0;
  uint16_t sport = (uint16_t) (ip[ihl] << 8 | ip[ihl + 1]);
  uint16_t dport = (uint16_t) (ip[ihl + 2] << 8 | ip[ihl + 3]);
  for (int i = 0; i < MAX_PORT_DELAYS; i++)
    if (port_delays[i].extra_ns && port_delays[i].udp_port == dport &&
        (port_delays[i].src_port == 0 || port_delays[i].src_port == sport))
      return port_delays[i].extra_ns;
  return 0;
}

static bool
set_port_delay (unsigned long udp_port, unsigned long src_port,
    uint64_t extra_ns)
{
  int free_slot = -1;
  for (int i = 0; i < MAX_PORT_DELAYS; i++) {
    if (port_delays[i].extra_ns && port_delays[i].udp_port == udp_port &&
        port_delays[i].src_port == src_port) {
      port_delays[i].extra_ns = extra_ns;
      return true;
    }
    if (!port_delays[i].extra_ns && free_slot < 0)
      free_slot = i;
  }
  if (extra_ns == 0)
    return true;
  if (free_slot < 0)
    return false;
  port_delays[free_slot].udp_port = (uint16_t) udp_port;
  port_delays[free_slot].src_port = (uint16_t) src_port;
  port_delays[free_slot].extra_ns = extra_ns;
  return true;
}

static void
enqueue (int in, int out, const uint8_t * data, size_t len, uint64_t now)
{
  if (loss_pct[in][out] > 0 && rng_unit () * 100.0 < loss_pct[in][out]) {
    ports[in].lost++;
    return;
  }
  if (heap_len >= MAX_QUEUED) {
    queue_drops++;
    return;
  }
  int64_t d = (int64_t) delay_ns;
  if (jitter_ns > 0) {
    int64_t j = (int64_t) (rng_unit () * (double) (2 * jitter_ns)) -
        (int64_t) jitter_ns;
    d += j;
    if (d < 0)
      d = 0;
  }
  uint64_t extra = extra_delay (data, len);
  uint64_t due = now + (uint64_t) d + extra;
  /* Never reorder frames between one pair of ports (frames with an extra
   * delay among themselves). */
  uint64_t *last = extra ? &last_due_extra[in][out] : &last_due[in][out];
  if (due < *last)
    due = *last;
  *last = due;

  Frame f;
  f.due_ns = due;
  f.seq = next_seq++;
  f.out = out;
  f.len = (uint32_t) len;
  f.data = malloc (len);
  if (!f.data)
    die ("out of memory");
  memcpy (f.data, data, len);
  heap_push (f);
}

static void
receive_port (int in)
{
  static uint8_t buf[MAX_FRAME];
  for (int n = 0; n < 256; n++) {
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t len = recvfrom (ports[in].fd, buf, sizeof buf, 0,
        (struct sockaddr *) &from, &fl);
    if (len < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        fprintf (stderr, "wzp-delaybridge: recv(%s): %s\n", ports[in].name,
            strerror (errno));
      return;
    }
    if (from.sll_pkttype == PACKET_OUTGOING)
      continue;
    if (len < 14)
      continue;
    ports[in].rx++;
    uint64_t now = now_ns ();
    int group = ports[in].group;
    mac_learn (buf + 6, group, in);
    int dst = (buf[0] & 1) ? -1 : mac_lookup (buf, group);
    if (dst == in)
      continue;                 /* destination is on the port it came from */
    for (int out = 0; out < n_ports; out++) {
      if (out == in || ports[out].group != group)
        continue;
      if (dst >= 0 && out != dst)
        continue;
      enqueue (in, out, buf, (size_t) len, now);
    }
  }
}

static void
transmit_due (uint64_t now)
{
  while (heap_len > 0 && heap[0].due_ns <= now) {
    Frame f = heap_pop ();
    Port *p = &ports[f.out];
    if (send (p->fd, f.data, f.len, MSG_DONTWAIT) < 0)
      p->tx_err++;
    else
      p->tx++;
    free (f.data);
  }
}

static void
arm_timer (int tfd)
{
  struct itimerspec its = { 0 };
  if (heap_len > 0) {
    uint64_t due = heap[0].due_ns;
    if (due == 0)
      due = 1;
    its.it_value.tv_sec = (time_t) (due / 1000000000ULL);
    its.it_value.tv_nsec = (long) (due % 1000000000ULL);
  }
  if (timerfd_settime (tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
    die ("timerfd_settime: %s", strerror (errno));
}

/* ---- control socket ---- */

static void
set_all_loss (double pct)
{
  for (int i = 0; i < MAX_PORTS; i++)
    for (int j = 0; j < MAX_PORTS; j++)
      loss_pct[i][j] = pct;
}

static bool
parse_pct (const char *s, double *out)
{
  char *end;
  double v = strtod (s, &end);
  if (end == s || *end || v < 0 || v > 100)
    return false;
  *out = v;
  return true;
}

static bool
parse_ms (const char *s, uint64_t * out_ns)
{
  char *end;
  double v = strtod (s, &end);
  if (end == s || *end || v < 0 || v > 60000)
    return false;
  *out_ns = (uint64_t) (v * 1e6);
  return true;
}

static void
handle_command (char *line, FILE * out)
{
  char *argv[8];
  int argc = 0;
  for (char *tok = strtok (line, " \t\r\n"); tok && argc < 8;
      tok = strtok (NULL, " \t\r\n"))
    argv[argc++] = tok;
  if (argc == 0) {
    fputs ("error empty command\n", out);
    return;
  }
  if (strcmp (argv[0], "ping") == 0) {
    fputs ("ok\n", out);
  } else if (strcmp (argv[0], "delay") == 0 && argc == 2) {
    if (!parse_ms (argv[1], &delay_ns))
      fputs ("error bad delay\n", out);
    else
      fputs ("ok\n", out);
  } else if (strcmp (argv[0], "jitter") == 0 && argc == 2) {
    if (!parse_ms (argv[1], &jitter_ns))
      fputs ("error bad jitter\n", out);
    else
      fputs ("ok\n", out);
  } else if (strcmp (argv[0], "loss") == 0 && argc == 2) {
    double v;
    if (!parse_pct (argv[1], &v)) {
      fputs ("error bad percentage\n", out);
      return;
    }
    set_all_loss (v);
    fputs ("ok\n", out);
  } else if (strcmp (argv[0], "loss") == 0 && argc == 4) {
    int a = port_by_name (argv[1]), b = port_by_name (argv[2]);
    double v;
    if (a < 0 || b < 0) {
      fputs ("error unknown port\n", out);
      return;
    }
    if (!parse_pct (argv[3], &v)) {
      fputs ("error bad percentage\n", out);
      return;
    }
    loss_pct[a][b] = v;
    fputs ("ok\n", out);
  } else if (strcmp (argv[0], "portdelay") == 0 && (argc == 3 || argc == 4)) {
    char *end, *send = NULL;
    unsigned long port = strtoul (argv[1], &end, 10);
    unsigned long sport = argc == 4 ? strtoul (argv[3], &send, 10) : 0;
    uint64_t ns;
    if (end == argv[1] || *end || port == 0 || port > 65535 ||
        (send && (send == argv[3] || *send || sport == 0 || sport > 65535))
        || !parse_ms (argv[2], &ns)) {
      fputs ("error bad port or delay\n", out);
      return;
    }
    if (!set_port_delay (port, sport, ns))
      fputs ("error too many port delays\n", out);
    else
      fputs ("ok\n", out);
  } else if (strcmp (argv[0], "stats") == 0) {
    for (int i = 0; i < n_ports; i++)
      fprintf (out, "port %s group %d rx %" PRIu64 " tx %" PRIu64
          " lost %" PRIu64 " txerr %" PRIu64 "\n", ports[i].name,
          ports[i].group, ports[i].rx, ports[i].tx, ports[i].lost,
          ports[i].tx_err);
    fprintf (out, "queued %zu queuedrops %" PRIu64 " delay_ms %.3f"
        " jitter_ms %.3f\n", heap_len, queue_drops, delay_ns / 1e6,
        jitter_ns / 1e6);
  } else {
    fputs ("error unknown command\n", out);
  }
}

static void
serve_control (int lfd)
{
  int c = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    return;
  struct timeval tv = {.tv_sec = 0,.tv_usec = 500000 };
  setsockopt (c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char line[512];
  size_t used = 0;
  while (used < sizeof line - 1) {
    ssize_t n = recv (c, line + used, sizeof line - 1 - used, 0);
    if (n <= 0)
      break;
    used += (size_t) n;
    if (memchr (line, '\n', used))
      break;
  }
  line[used] = 0;
  FILE *out = fdopen (c, "w");
  if (!out) {
    close (c);
    return;
  }
  handle_command (line, out);
  fclose (out);
}

static int
open_control (const char *path)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    die ("socket(AF_UNIX): %s", strerror (errno));
  struct sockaddr_un sun = { 0 };
  sun.sun_family = AF_UNIX;
  if (strlen (path) >= sizeof sun.sun_path)
    die ("control socket path too long");
  strcpy (sun.sun_path, path);
  unlink (path);
  if (bind (fd, (struct sockaddr *) &sun, sizeof sun) < 0)
    die ("bind(%s): %s", path, strerror (errno));
  if (listen (fd, 8) < 0)
    die ("listen: %s", strerror (errno));
  return fd;
}

static void
usage (void)
{
  fputs ("usage: wzp-delaybridge [-d MS] [-j MS] [-l PCT] [-s SEED]"
      " [-c CTLSOCK] [-p PIDFILE] [-v] IF,IF[,IF...]...\n", stderr);
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *ctl_path = NULL, *pid_path = NULL;
  double loss = 0;
  uint64_t seed = (uint64_t) time (NULL) ^ ((uint64_t) getpid () << 32);
  int opt;

  while ((opt = getopt (argc, argv, "d:j:l:s:c:p:vh")) != -1) {
    switch (opt) {
      case 'd':
        if (!parse_ms (optarg, &delay_ns))
          die ("bad delay %s", optarg);
        break;
      case 'j':
        if (!parse_ms (optarg, &jitter_ns))
          die ("bad jitter %s", optarg);
        break;
      case 'l':
        if (!parse_pct (optarg, &loss))
          die ("bad loss %s", optarg);
        break;
      case 's':
        seed = strtoull (optarg, NULL, 0);
        break;
      case 'c':
        ctl_path = optarg;
        break;
      case 'p':
        pid_path = optarg;
        break;
      case 'v':
        verbose = true;
        break;
      default:
        usage ();
    }
  }
  if (optind >= argc)
    usage ();
  rng_state = seed ? seed : 1;
  set_all_loss (loss);

  for (int g = 0; optind < argc; optind++, g++) {
    char *spec = strdup (argv[optind]);
    int members = 0;
    for (char *tok = strtok (spec, ","); tok; tok = strtok (NULL, ",")) {
      open_port (tok, g);
      members++;
    }
    if (members < 2)
      die ("group %s needs at least two ports", argv[optind]);
    free (spec);
  }

  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGHUP);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  int sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    die ("signalfd: %s", strerror (errno));
  int tfd = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd < 0)
    die ("timerfd_create: %s", strerror (errno));
  int cfd = ctl_path ? open_control (ctl_path) : -1;

  if (pid_path) {
    char tmp[4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", pid_path);
    FILE *f = fopen (tmp, "w");
    if (!f)
      die ("pidfile %s: %s", tmp, strerror (errno));
    fprintf (f, "%d\n", (int) getpid ());
    fclose (f);
    if (rename (tmp, pid_path) < 0)
      die ("rename pidfile: %s", strerror (errno));
  }
  if (verbose)
    fprintf (stderr, "wzp-delaybridge: %d ports, delay %.1f ms\n", n_ports,
        delay_ns / 1e6);

  struct pollfd pfd[MAX_PORTS + 3];
  for (;;) {
    int n = 0;
    for (int i = 0; i < n_ports; i++) {
      pfd[n].fd = ports[i].fd;
      pfd[n].events = POLLIN;
      n++;
    }
    pfd[n].fd = tfd;
    pfd[n++].events = POLLIN;
    pfd[n].fd = sfd;
    pfd[n++].events = POLLIN;
    if (cfd >= 0) {
      pfd[n].fd = cfd;
      pfd[n++].events = POLLIN;
    }
    arm_timer (tfd);
    if (poll (pfd, (nfds_t) n, -1) < 0) {
      if (errno == EINTR)
        continue;
      die ("poll: %s", strerror (errno));
    }
    for (int i = 0; i < n_ports; i++)
      if (pfd[i].revents & POLLIN)
        receive_port (i);
    if (pfd[n_ports].revents & POLLIN) {
      uint64_t ticks;
      while (read (tfd, &ticks, sizeof ticks) > 0);
    }
    transmit_due (now_ns ());
    if (pfd[n_ports + 1].revents & POLLIN)
      break;
    if (cfd >= 0 && (pfd[n_ports + 2].revents & POLLIN))
      serve_control (cfd);
  }

  if (ctl_path)
    unlink (ctl_path);
  if (pid_path)
    unlink (pid_path);
  if (verbose)
    for (int i = 0; i < n_ports; i++)
      fprintf (stderr, "wzp-delaybridge: %s rx %" PRIu64 " tx %" PRIu64
          " lost %" PRIu64 "\n", ports[i].name, ports[i].rx, ports[i].tx,
          ports[i].lost);
  return 0;
}
