/* udp-forwarder — the physical floor for bench/bench-relay.py
 *
 *   udp-forwarder [--listen IP:PORT]
 *
 * A bare UDP forwarder with the relay's traffic pattern and none of its
 * work: no QUIC, no crypto, no GLib main loop.  A client says
 * "HELLO <pair>\n"; the first two addresses that say it for one pair are
 * that pair's two ends, each answered "OK <pair>\n".  Every other packet
 * from a known address goes, unchanged, to the other end of its pair.
 * One socket, blocking recvmmsg (batch 64, MSG_WAITFORONE) and one
 * sendmmsg per batch.  Prints "udp-forwarder listening on IP:PORT".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BATCH 64
#define BUF 2048
#define TABLE_BITS 18           /* 256 Ki addresses */
#define TABLE_SIZE (1u << TABLE_BITS)
#define MAX_PAIRS (1u << 20)

typedef struct
{
  uint64_t key;                 /* ip << 16 | port, 0 = empty */
  uint32_t peer;                /* index in table + 1, 0 = none yet */
} Entry;

typedef struct
{
  uint32_t end[2];              /* table index + 1 */
} PairSlot;

static Entry *table;
static PairSlot *pairs;
static struct sockaddr_in *addrs;       /* by table index */

static uint64_t
key_of (const struct sockaddr_in *sin)
{
  return ((uint64_t) ntohl (sin->sin_addr.s_addr) << 16) |
      ntohs (sin->sin_port) | ((uint64_t) 1 << 48);
}

static uint32_t
slot_of (uint64_t key)
{
  uint64_t h = key * 0x9E3779B97F4A7C15ull;

  return (uint32_t) (h >> (64 - TABLE_BITS));
}

/* Returns the table index for @key, inserting it when @insert. */
static int64_t
lookup (uint64_t key, int insert)
{
  uint32_t i = slot_of (key);

  for (uint32_t n = 0; n < TABLE_SIZE; n++, i = (i + 1) & (TABLE_SIZE - 1)) {
    if (table[i].key == key)
      return i;
    if (table[i].key == 0) {
      if (!insert)
        return -1;
      table[i].key = key;
      return i;
    }
  }
  return -1;
}

static void
hello (const struct sockaddr_in *from, const char *data, size_t len,
    struct mmsghdr *reply, struct iovec *iov, char *buf)
{
  char line[64];
  unsigned long id;
  int64_t idx;
  PairSlot *p;
  uint32_t me;

  reply->msg_len = 0;
  if (len >= sizeof line)
    return;
  memcpy (line, data, len);
  line[len] = '\0';
  id = strtoul (line + 6, NULL, 10);
  if (id >= MAX_PAIRS)
    return;
  idx = lookup (key_of (from), 1);
  if (idx < 0)
    return;
  addrs[idx] = *from;
  me = (uint32_t) idx + 1;
  p = &pairs[id];
  if (p->end[0] != me && p->end[1] != me) {
    if (p->end[0] == 0)
      p->end[0] = me;
    else if (p->end[1] == 0)
      p->end[1] = me;
    else
      return;                   /* a third party: ignore */
  }
  if (p->end[0] && p->end[1]) {
    table[p->end[0] - 1].peer = p->end[1];
    table[p->end[1] - 1].peer = p->end[0];
  }
  iov->iov_base = buf;
  iov->iov_len = snprintf (buf, 64, "OK %lu\n", id);
  reply->msg_len = 1;
}

int
main (int argc, char **argv)
{
  const char *listen = "127.0.0.1:0";
  struct sockaddr_in sin = { 0 };
  socklen_t slen = sizeof sin;
  char host[64];
  char *colon;
  int fd, size = 4 * 1024 * 1024;
  static char rx[BATCH][BUF];
  static char replies[BATCH][64];
  struct mmsghdr rmsg[BATCH], tmsg[BATCH];
  struct iovec riov[BATCH], tiov[BATCH];
  struct sockaddr_in from[BATCH];

  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--listen") == 0 && i + 1 < argc)
      listen = argv[++i];
    else {
      fprintf (stderr, "usage: udp-forwarder [--listen IP:PORT]\n");
      return 2;
    }
  }
  snprintf (host, sizeof host, "%s", listen);
  colon = strrchr (host, ':');
  if (colon == NULL)
    return 2;
  *colon = '\0';
  sin.sin_family = AF_INET;
  sin.sin_port = htons (atoi (colon + 1));
  if (inet_pton (AF_INET, host, &sin.sin_addr) != 1) {
    fprintf (stderr, "udp-forwarder: bad address %s\n", listen);
    return 2;
  }
  table = calloc (TABLE_SIZE, sizeof *table);
  addrs = calloc (TABLE_SIZE, sizeof *addrs);
  pairs = calloc (MAX_PAIRS, sizeof *pairs);
  fd = socket (AF_INET, SOCK_DGRAM, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
    perror ("udp-forwarder: bind");
    return 1;
  }
  getsockname (fd, (struct sockaddr *) &sin, &slen);
  inet_ntop (AF_INET, &sin.sin_addr, host, sizeof host);
  printf ("udp-forwarder listening on %s:%u\n", host, ntohs (sin.sin_port));
  fflush (stdout);

  for (;;) {
    int n, nt = 0;

    for (int i = 0; i < BATCH; i++) {
      riov[i].iov_base = rx[i];
      riov[i].iov_len = BUF;
      memset (&rmsg[i], 0, sizeof rmsg[i]);
      rmsg[i].msg_hdr.msg_name = &from[i];
      rmsg[i].msg_hdr.msg_namelen = sizeof from[i];
      rmsg[i].msg_hdr.msg_iov = &riov[i];
      rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg (fd, rmsg, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror ("udp-forwarder: recvmmsg");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      size_t len = rmsg[i].msg_len;
      struct mmsghdr *t = &tmsg[nt];

      memset (t, 0, sizeof *t);
      t->msg_hdr.msg_iov = &tiov[nt];
      t->msg_hdr.msg_iovlen = 1;
      if (len >= 6 && memcmp (rx[i], "HELLO ", 6) == 0) {
        hello (&from[i], rx[i], len, t, &tiov[nt], replies[nt]);
        if (t->msg_len == 0)
          continue;
        t->msg_len = 0;
        t->msg_hdr.msg_name = &from[i];
        t->msg_hdr.msg_namelen = sizeof from[i];
        nt++;
      } else {
        int64_t idx = lookup (key_of (&from[i]), 0);
        if (idx < 0 || table[idx].peer == 0)
          continue;
        tiov[nt].iov_base = rx[i];
        tiov[nt].iov_len = len;
        t->msg_hdr.msg_name = &addrs[table[idx].peer - 1];
        t->msg_hdr.msg_namelen = sizeof (struct sockaddr_in);
        nt++;
      }
    }
    for (int done = 0; done < nt;) {
      int rv = sendmmsg (fd, tmsg + done, nt - done, 0);
      if (rv < 0) {
        if (errno == EINTR)
          continue;
        done++;                 /* drop the one that failed */
        continue;
      }
      done += rv;
    }
  }
  return 0;
}
