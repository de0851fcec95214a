/* Simulating a crash of an endpoint (see wzp-test-crash.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-test-crash.h"
#include "wzp-endpoint-private.h"

#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

/* Puts an unbound AF_UNIX datagram socket in the place of each of the
 * endpoint's sockets: the original closes (its port is free again), and
 * every send to an IP address fails, so nothing leaves and nothing comes
 * in.  The endpoint still owns a valid descriptor and closes it when
 * disposed. */
void
wzp_test_endpoint_mute (WzpEndpoint * ep)
{
  for (guint i = 0; i < G_N_ELEMENTS (ep->socks); i++) {
    Sock *s = &ep->socks[i];
    int dummy;

    if (s->socket == NULL || s->fd < 0)
      continue;
    dummy = socket (AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    g_assert_cmpint (dummy, >=, 0);
    g_assert_cmpint (dup2 (dummy, s->fd), ==, s->fd);
    close (dummy);
  }
}
