/* udp-forwarder — the physical floor for bench/bench-relay.py
 *
 *   udp-forwarder [--listen IP:PORT]
 *
 * A bare UDP forwarder with the relay's traffic and packet format and
 * none of its work: no QUIC, no checks, no GLib main loop.  It speaks the
 * relay's channel packets (docs/PROTOCOL.md, Part A §7) at their
 * simplest: a BIND ([0x41][channel u32][8 bytes][flags][nonce]) records
 * the sender's address for that channel and is answered with a BIND-ACK;
 * a MEDIA packet ([0x40][channel u32][8 bytes][payload]) on channel c goes
 * to the address of channel c ^ 1, with its channel rewritten to c ^ 1,
 * the header rewrite the relay does too.  Tokens and source addresses are
 * not checked: that, a sender's own channel lookup and a shared table are
 * what the relay adds to this floor.  One socket, blocking recvmmsg
 * (batch 64, MSG_WAITFORONE) and one sendmmsg per batch.  Prints
 * "udp-forwarder listening on IP:PORT".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
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
#define MAX_CHANNELS (1u << 22)
#define HEADER 13
#define BIND_LEN 18

static struct sockaddr_in *addrs;       /* by channel; port 0 = unknown */

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
  addrs = calloc (MAX_CHANNELS, sizeof *addrs);
  fd = socket (AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror ("udp-forwarder: socket");
    return 1;
  }
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0) {
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
      unsigned char *d = (unsigned char *) rx[i];
      struct mmsghdr *t = &tmsg[nt];
      uint32_t ch, peer;

      if (len < HEADER)
        continue;
      memcpy (&ch, d + 1, 4);
      ch = ntohl (ch);
      if (ch >= MAX_CHANNELS)
        continue;
      memset (t, 0, sizeof *t);
      t->msg_hdr.msg_iov = &tiov[nt];
      t->msg_hdr.msg_iovlen = 1;
      tiov[nt].iov_base = d;
      tiov[nt].iov_len = len;
      if (d[0] == 0x41 && len == BIND_LEN) {
        addrs[ch] = from[i];
        d[0] = 0x42;
        t->msg_hdr.msg_name = &from[i];
      } else if (d[0] == 0x40) {
        peer = ch ^ 1;
        if (addrs[peer].sin_port == 0)
          continue;
        peer = htonl (peer);
        memcpy (d + 1, &peer, 4);
        t->msg_hdr.msg_name = &addrs[ch ^ 1];
      } else {
        continue;
      }
      t->msg_hdr.msg_namelen = sizeof (struct sockaddr_in);
      nt++;
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
