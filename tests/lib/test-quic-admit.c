/* Tests for the admission of new QUIC connections (wzp-endpoint-admit.c):
 * stateless Retry, tokens bound to the client's address, half-open and
 * per-source limits.  Real ngtcp2 + GnuTLS over loopback; "hostile"
 * clients replay real client Initials from plain UDP sockets, the way an
 * attacker would, and 127.0.0.2 plays a second source.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "wzp-endpoint.h"
#include "wzp-source.h"
#include "wzp-test-util.h"

#define WAIT_MS 10000

typedef struct
{
  GMainContext *ctx;
  WzpIdentity *server_id;
  WzpIdentity *client_id;
  WzpEndpoint *server;
  WzpEndpoint *client;
  GPtrArray *incoming;
  GPtrArray *fds;
} Fixture;

static WzpEndpoint *
make_endpoint (Fixture * f, WzpIdentity * id, WzpClock * clock,
    const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (ip, 0);
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, clock, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  return ep;
}

static void
on_incoming (WzpEndpoint * ep, WzpConnection * conn, gpointer user_data)
{
  g_ptr_array_add (user_data, g_object_ref (conn));
}

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->server_id = wzp_identity_generate ();
  f->client_id = wzp_identity_generate ();
  f->incoming = g_ptr_array_new_with_free_func (g_object_unref);
  f->fds = g_ptr_array_new ();
  f->server = make_endpoint (f, f->server_id, (WzpClock *) data, "127.0.0.1");
  g_object_set (f->server, "accept-incoming", TRUE, NULL);
  f->client = make_endpoint (f, f->client_id, NULL, "127.0.0.1");
  g_signal_connect (f->server, "incoming-connection",
      G_CALLBACK (on_incoming), f->incoming);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  for (guint i = 0; i < f->fds->len; i++)
    close (GPOINTER_TO_INT (g_ptr_array_index (f->fds, i)));
  g_ptr_array_unref (f->fds);
  g_ptr_array_unref (f->incoming);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  wzp_test_drain (f->ctx);
  g_clear_object (&f->client_id);
  g_clear_object (&f->server_id);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

/* A plain UDP socket on @host (an attacker's, or a capture point). */
static int
udp_socket (Fixture * f, const char *host, struct sockaddr_in *bound)
{
  struct sockaddr_in sin = { 0 };
  socklen_t len = sizeof sin;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

  g_assert_cmpint (fd, >=, 0);
  sin.sin_family = AF_INET;
  g_assert_cmpint (inet_pton (AF_INET, host, &sin.sin_addr), ==, 1);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  if (bound)
    *bound = sin;
  g_ptr_array_add (f->fds, GINT_TO_POINTER (fd));
  return fd;
}

static void
server_sockaddr (Fixture * f, struct sockaddr_in *sin)
{
  g_autoptr (GSocketAddress) a =
      wzp_endpoint_get_local_address (f->server, G_SOCKET_FAMILY_IPV4);

  g_assert_true (g_socket_address_to_native (a, sin, sizeof *sin, NULL));
}

/* The first Initial of a real client (a fresh connection ID each time),
 * caught on a plain socket. */
static GBytes *
capture_initial (Fixture * f)
{
  struct sockaddr_in cap;
  int fd = udp_socket (f, "127.0.0.1", &cap);
  g_autoptr (GSocketAddress) to = g_socket_address_new_from_native (&cap,
      sizeof cap);
  g_autoptr (WzpConnection) conn = NULL;
  guint8 buf[2048];
  gssize n = -1;

  conn = wzp_endpoint_connect (f->client, to, NULL, NULL);
  wzp_test_wait_until (f->ctx, (n = recv (fd, buf, sizeof buf, 0)) > 0,
      WAIT_MS);
  wzp_connection_close (conn, 0, "captured");
  g_assert_cmpint (n, >=, 1200);
  return g_bytes_new (buf, n);
}

static void
send_bytes (int fd, const struct sockaddr_in *to, GBytes * b)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (b, &len);

  g_assert_cmpint (sendto (fd, data, len, 0, (const struct sockaddr *) to,
          sizeof *to), ==, (gssize) len);
}

static WzpEndpointStats
stats (WzpEndpoint * ep)
{
  WzpEndpointStats s;

  wzp_endpoint_get_stats (ep, &s);
  return s;
}

static gboolean
is_connected (WzpConnection * c)
{
  return wzp_connection_get_state (c) == WZP_CONNECTION_STATE_CONNECTED;
}

static WzpConnection *
dial (Fixture * f, WzpEndpoint * from)
{
  g_autoptr (GSocketAddress) to =
      wzp_endpoint_get_local_address (f->server, G_SOCKET_FAMILY_IPV4);
  g_autoptr (GError) error = NULL;
  WzpConnection *c = wzp_endpoint_connect (from, to,
      wzp_identity_get_fingerprint (f->server_id), &error);

  g_assert_no_error (error);
  return c;
}

static void
count_message (WzpConnection * conn, GBytes * msg, gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* Everything the server sent to @fd within @ms: packet count and sizes. */
static guint
drain_replies (Fixture * f, int fd, guint ms, gsize * total, gsize * largest,
    guint8 * first_byte)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint packets = 0;

  *total = *largest = 0;
  while (g_get_monotonic_time () < end) {
    guint8 buf[2048];
    gssize n;

    wzp_test_iterate (f->ctx, 5);
    while ((n = recv (fd, buf, sizeof buf, 0)) > 0) {
      if (packets == 0 && first_byte)
        *first_byte = buf[0];
      packets++;
      *total += n;
      *largest = MAX (*largest, (gsize) n);
    }
  }
  return packets;
}

/* --- WzpSource -------------------------------------------------------- */

static void
source_of (WzpSource * s, const char *text)
{
  WzpAddr a;

  g_assert_true (wzp_addr_parse (&a, text, NULL));
  wzp_source_from_addr (s, &a);
}

static void
test_source_keys (void)
{
  WzpSource a, b;
  char buf[WZP_SOURCE_STRLEN];
  g_autoptr (WzpSourceCounter) c = wzp_source_counter_new ();

  /* IPv4: the address, whatever the port. */
  source_of (&a, "192.0.2.7:1000");
  source_of (&b, "192.0.2.7:2000");
  g_assert_true (wzp_source_equal (&a, &b));
  g_assert_cmpstr (wzp_source_to_string (&a, buf), ==, "192.0.2.7");
  source_of (&b, "192.0.2.8:1000");
  g_assert_false (wzp_source_equal (&a, &b));

  /* IPv6: the /64. */
  source_of (&a, "[2001:db8:1:2::1]:5");
  source_of (&b, "[2001:db8:1:2:ffff:eeee:dddd:cccc]:6");
  g_assert_true (wzp_source_equal (&a, &b));
  g_assert_cmpstr (wzp_source_to_string (&a, buf), ==, "2001:db8:1:2::/64");
  source_of (&b, "[2001:db8:1:3::1]:5");
  g_assert_false (wzp_source_equal (&a, &b));

  /* A v4-mapped address is its IPv4 address. */
  source_of (&a, "[::ffff:192.0.2.7]:9");
  source_of (&b, "192.0.2.7:1");
  g_assert_true (wzp_source_equal (&a, &b));

  /* Counting: only sources above zero take room. */
  g_assert_cmpuint (wzp_source_counter_add (c, &a), ==, 1);
  g_assert_cmpuint (wzp_source_counter_add (c, &b), ==, 2);
  source_of (&b, "[2001:db8::1]:1");
  g_assert_cmpuint (wzp_source_counter_add (c, &b), ==, 1);
  g_assert_cmpuint (wzp_source_counter_get_n_sources (c), ==, 2);
  wzp_source_counter_remove (c, &a);
  g_assert_cmpuint (wzp_source_counter_get (c, &a), ==, 1);
  wzp_source_counter_remove (c, &a);
  g_assert_cmpuint (wzp_source_counter_get (c, &a), ==, 0);
  g_assert_cmpuint (wzp_source_counter_get_n_sources (c), ==, 1);
}

/* --- Retry ------------------------------------------------------------ */

/* retry=always: every client proves its address first; a real client
 * does so on its own and the connection works. */
static void
test_retry_always (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpConnection) c = NULL;
  g_autoptr (GError) error = NULL;
  WzpEndpointStats s;

  g_object_set (f->server, "retry", WZP_RETRY_ALWAYS, NULL);
  c = dial (f, f->client);
  wzp_test_wait_until (f->ctx, is_connected (c) && f->incoming->len == 1,
      WAIT_MS);
  s = stats (f->server);
  g_assert_cmpuint (s.retries_sent, ==, 1);
  g_assert_cmpuint (s.connections_accepted, ==, 1);
  g_assert_cmpuint (s.handshakes_in_progress, ==, 0);
  g_assert_cmpuint (s.invalid_tokens, ==, 0);
  /* The validated connection carries messages. */
  {
    guint got = 0;

    g_signal_connect (g_ptr_array_index (f->incoming, 0), "message",
        G_CALLBACK (count_message), &got);
    g_assert_true (wzp_connection_send_message (c, (const guint8 *) "hi", 2,
            &error));
    g_assert_no_error (error);
    wzp_test_wait_until (f->ctx, got == 1, WAIT_MS);
  }
}

/* A spoofed Initial gets one small Retry and no state: the relay is no
 * reflector. */
static void
test_retry_is_small_and_stateless (Fixture * f, gconstpointer data)
{
  struct sockaddr_in srv;
  int fd = udp_socket (f, "127.0.0.2", NULL);
  gsize total, largest;
  guint8 first = 0;
  guint packets;
  g_autoptr (GBytes) initial = capture_initial (f);
  WzpEndpointStats s;

  g_object_set (f->server, "retry", WZP_RETRY_ALWAYS, NULL);
  server_sockaddr (f, &srv);
  send_bytes (fd, &srv, initial);
  packets = drain_replies (f, fd, 300, &total, &largest, &first);
  g_assert_cmpuint (packets, ==, 1);
  /* Long header, QUIC v1 Retry: 0b1111xxxx. */
  g_assert_cmphex (first & 0xf0, ==, 0xf0);
  g_assert_cmpuint (largest, <=, 200);
  g_assert_cmpuint (total * 5, <, g_bytes_get_size (initial));
  s = stats (f->server);
  g_assert_cmpuint (s.connections_open, ==, 0);
  g_assert_cmpuint (s.handshakes_in_progress, ==, 0);
  g_assert_cmpuint (s.retries_sent, ==, 1);
}

/* Without Retry an unvalidated Initial gets a whole server flight, but
 * never more than 3x its size (ngtcp2's anti-amplification limit). */
static void
test_no_retry_amplification_bounded (Fixture * f, gconstpointer data)
{
  struct sockaddr_in srv;
  int fd = udp_socket (f, "127.0.0.2", NULL);
  gsize total, largest;
  g_autoptr (GBytes) initial = capture_initial (f);

  g_object_set (f->server, "retry", WZP_RETRY_NEVER, NULL);
  server_sockaddr (f, &srv);
  send_bytes (fd, &srv, initial);
  drain_replies (f, fd, 1500, &total, &largest, NULL);
  g_assert_cmpuint (total, >, 0);
  g_assert_cmpuint (total, <=, 3 * g_bytes_get_size (initial));
  g_assert_cmpuint (stats (f->server).handshakes_in_progress, ==, 1);
}

/* retry=auto: no Retry while handshakes in progress are below the
 * threshold, Retry for everyone once they reach it. */
static void
test_retry_auto_threshold (Fixture * f, gconstpointer data)
{
  struct sockaddr_in srv;
  int fd = udp_socket (f, "127.0.0.3", NULL);
  int fd2 = udp_socket (f, "127.0.0.4", NULL);
  g_autoptr (GBytes) i1 = capture_initial (f);
  g_autoptr (GBytes) i2 = capture_initial (f);
  g_autoptr (GBytes) i3 = capture_initial (f);
  g_autoptr (WzpConnection) c = NULL;
  gsize total, largest;
  guint8 first = 0;

  g_object_set (f->server, "retry", WZP_RETRY_AUTO, "retry-threshold", 2,
      "retry-threshold-per-source", 100, NULL);
  server_sockaddr (f, &srv);
  /* Two sources, one half-open handshake each: under the threshold. */
  send_bytes (fd, &srv, i1);
  send_bytes (fd2, &srv, i2);
  wzp_test_wait_until (f->ctx, stats (f->server).handshakes_in_progress == 2,
      WAIT_MS);
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 0);

  /* At the threshold: a third Initial gets a Retry, not state... */
  send_bytes (fd, &srv, i3);
  drain_replies (f, fd, 200, &total, &largest, &first);
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 1);
  g_assert_cmpuint (stats (f->server).handshakes_in_progress, ==, 2);

  /* ...and a real client passes the Retry and connects. */
  c = dial (f, f->client);
  wzp_test_wait_until (f->ctx, is_connected (c), WAIT_MS);
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 2);
}

/* retry=auto per source: handshakes piling up from one source make that
 * source prove its address; another source is not affected. */
static void
test_retry_auto_per_source (Fixture * f, gconstpointer data)
{
  struct sockaddr_in srv;
  int fd = udp_socket (f, "127.0.0.1", NULL);
  g_autoptr (GBytes) i1 = capture_initial (f);
  g_autoptr (WzpIdentity) id2 = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) other = make_endpoint (f, id2, NULL, "127.0.0.2");
  g_autoptr (WzpConnection) c1 = NULL;
  g_autoptr (WzpConnection) c2 = NULL;

  g_object_set (f->server, "retry", WZP_RETRY_AUTO, "retry-threshold", 100,
      "retry-threshold-per-source", 1, NULL);
  server_sockaddr (f, &srv);
  send_bytes (fd, &srv, i1);
  wzp_test_wait_until (f->ctx, stats (f->server).handshakes_in_progress == 1,
      WAIT_MS);

  /* Another source: no Retry. */
  c2 = dial (f, other);
  wzp_test_wait_until (f->ctx, is_connected (c2), WAIT_MS);
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 0);

  /* The busy source: Retry, then in. */
  c1 = dial (f, f->client);
  wzp_test_wait_until (f->ctx, is_connected (c1), WAIT_MS);
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 1);
}

/* --- tokens ----------------------------------------------------------- */

/* A UDP relay between client and server we control: it records what the
 * client sends and can hold it back. */
typedef struct
{
  int fd;
  struct sockaddr_in addr;
  struct sockaddr_in server;
  struct sockaddr_in client;
  gboolean have_client;
  gboolean hold;
  GPtrArray *from_client;       /* GBytes, every packet */
} Proxy;

static void
proxy_pump (Proxy * p)
{
  guint8 buf[2048];
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  gssize n;

  while ((n = recvfrom (p->fd, buf, sizeof buf, 0, (struct sockaddr *) &from,
              &len)) > 0) {
    if (from.sin_port == p->server.sin_port &&
        from.sin_addr.s_addr == p->server.sin_addr.s_addr) {
      if (p->have_client)
        sendto (p->fd, buf, n, 0, (struct sockaddr *) &p->client,
            sizeof p->client);
    } else {
      p->client = from;
      p->have_client = TRUE;
      g_ptr_array_add (p->from_client, g_bytes_new (buf, n));
      if (!p->hold)
        sendto (p->fd, buf, n, 0, (struct sockaddr *) &p->server,
            sizeof p->server);
    }
    len = sizeof from;
  }
}

/* The client's Initial with a token (after a Retry) is bound to the
 * address the Retry went to: replayed from another address it is
 * refused with a small CONNECTION_CLOSE and no connection is made; from
 * the right address it is accepted. */
static void
test_token_bound_to_address (Fixture * f, gconstpointer data)
{
  Proxy p = { 0 };
  g_autoptr (GSocketAddress) via = NULL;
  g_autoptr (WzpConnection) c = NULL;
  int attacker = udp_socket (f, "127.0.0.2", NULL);
  GBytes *with_token;
  gsize total, largest;
  guint packets;

  g_object_set (f->server, "retry", WZP_RETRY_ALWAYS, NULL);
  p.fd = udp_socket (f, "127.0.0.1", &p.addr);
  server_sockaddr (f, &p.server);
  p.from_client = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  via = g_socket_address_new_from_native (&p.addr, sizeof p.addr);
  c = wzp_endpoint_connect (f->client, via, NULL, NULL);
  /* The first Initial goes through and earns a Retry; the client's
   * answer (its Initial with the token) is held. */
  while (p.from_client->len < 1) {
    wzp_test_iterate (f->ctx, 2);
    proxy_pump (&p);
  }
  p.hold = TRUE;
  while (p.from_client->len < 2) {
    wzp_test_iterate (f->ctx, 2);
    proxy_pump (&p);
  }
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 1);
  with_token = g_bytes_ref (g_ptr_array_index (p.from_client, 1));
  g_assert_cmpuint (g_bytes_get_size (with_token), >=, 1200);

  /* The same packet from another address: the token does not verify. */
  send_bytes (attacker, &p.server, with_token);
  packets = drain_replies (f, attacker, 300, &total, &largest, NULL);
  g_assert_cmpuint (stats (f->server).invalid_tokens, ==, 1);
  g_assert_cmpuint (packets, ==, 1);    /* the stateless CONNECTION_CLOSE */
  g_assert_cmpuint (largest, <, 200);
  g_assert_cmpuint (stats (f->server).connections_open, ==, 0);

  /* From the address it was issued to, it is accepted. */
  send_bytes (p.fd, &p.server, with_token);
  p.hold = FALSE;
  while (!is_connected (c) || f->incoming->len < 1) {
    wzp_test_iterate (f->ctx, 2);
    proxy_pump (&p);
  }
  g_assert_cmpuint (stats (f->server).invalid_tokens, ==, 1);
  g_bytes_unref (with_token);
  g_ptr_array_unref (p.from_client);
}

/* A token is valid for WZP_RETRY_TOKEN_LIFETIME only. */
static void
test_token_expires (Fixture * f, gconstpointer data)
{
  WzpTestClock *clock = (WzpTestClock *) data;
  Proxy p = { 0 };
  g_autoptr (GSocketAddress) via = NULL;
  g_autoptr (WzpConnection) c = NULL;

  g_object_set (f->server, "retry", WZP_RETRY_ALWAYS, NULL);
  p.fd = udp_socket (f, "127.0.0.1", &p.addr);
  server_sockaddr (f, &p.server);
  p.from_client = g_ptr_array_new_with_free_func ((GDestroyNotify)
      g_bytes_unref);
  via = g_socket_address_new_from_native (&p.addr, sizeof p.addr);
  c = wzp_endpoint_connect (f->client, via, NULL, NULL);
  /* Let the first Initial through, hold what follows (the answer to the
   * Retry). */
  while (p.from_client->len < 1) {
    wzp_test_iterate (f->ctx, 2);
    proxy_pump (&p);
  }
  p.hold = TRUE;
  while (p.from_client->len < 2) {
    wzp_test_iterate (f->ctx, 2);
    proxy_pump (&p);
  }
  g_assert_cmpuint (stats (f->server).retries_sent, ==, 1);
  /* The server's clock passes the token's lifetime; then the held
   * Initial arrives from the right address. */
  wzp_test_clock_advance (clock, WZP_RETRY_TOKEN_LIFETIME + WZP_NSEC_PER_SEC);
  sendto (p.fd, g_bytes_get_data (g_ptr_array_index (p.from_client, 1),
          NULL), g_bytes_get_size (g_ptr_array_index (p.from_client, 1)), 0,
      (struct sockaddr *) &p.server, sizeof p.server);
  wzp_test_wait_until (f->ctx, stats (f->server).invalid_tokens == 1, WAIT_MS);
  g_assert_cmpuint (stats (f->server).connections_open, ==, 0);
  g_ptr_array_unref (p.from_client);
}

/* --- limits ----------------------------------------------------------- */

static void
test_max_half_open_per_source (Fixture * f, gconstpointer data)
{
  struct sockaddr_in srv;
  int a = udp_socket (f, "127.0.0.1", NULL);
  int b = udp_socket (f, "127.0.0.2", NULL);
  GBytes *initials[4];
  WzpEndpointStats s;

  for (guint i = 0; i < G_N_ELEMENTS (initials); i++)
    initials[i] = capture_initial (f);
  g_object_set (f->server, "retry", WZP_RETRY_NEVER,
      "max-half-open-per-source", 2, NULL);
  server_sockaddr (f, &srv);
  for (guint i = 0; i < 3; i++)
    send_bytes (a, &srv, initials[i]);
  wzp_test_wait_until (f->ctx, (s = stats (f->server),
          s.refused_half_open_per_source == 1), WAIT_MS);
  g_assert_cmpuint (s.handshakes_in_progress, ==, 2);
  g_assert_cmpuint (s.sources, ==, 1);
  /* Another source still gets in. */
  send_bytes (b, &srv, initials[3]);
  wzp_test_wait_until (f->ctx, stats (f->server).handshakes_in_progress == 3,
      WAIT_MS);
  g_assert_cmpuint (stats (f->server).sources, ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (initials); i++)
    g_bytes_unref (initials[i]);
}

static void
test_max_half_open (Fixture * f, gconstpointer data)
{
  struct sockaddr_in srv;
  int a = udp_socket (f, "127.0.0.1", NULL);
  int b = udp_socket (f, "127.0.0.2", NULL);
  g_autoptr (GBytes) i1 = capture_initial (f);
  g_autoptr (GBytes) i2 = capture_initial (f);
  WzpEndpointStats s;

  g_object_set (f->server, "retry", WZP_RETRY_NEVER, "max-half-open", 1, NULL);
  server_sockaddr (f, &srv);
  send_bytes (a, &srv, i1);
  wzp_test_wait_until (f->ctx, stats (f->server).handshakes_in_progress == 1,
      WAIT_MS);
  send_bytes (b, &srv, i2);
  wzp_test_wait_until (f->ctx, (s = stats (f->server),
          s.refused_max_half_open == 1), WAIT_MS);
  g_assert_cmpuint (s.handshakes_in_progress, ==, 1);
  g_assert_cmpuint (s.connections_refused, ==, 1);
}

/* Half-open handshakes end with the handshake timeout and give their
 * slots back. */
static void
test_half_open_expire (Fixture * f, gconstpointer data)
{
  WzpTestClock *clock = (WzpTestClock *) data;
  struct sockaddr_in srv;
  int a = udp_socket (f, "127.0.0.1", NULL);
  g_autoptr (GBytes) i1 = capture_initial (f);
  g_autoptr (GBytes) i2 = capture_initial (f);
  WzpEndpointStats s;

  g_object_set (f->server, "retry", WZP_RETRY_NEVER, "handshake-timeout",
      (guint64) 2 * WZP_NSEC_PER_SEC, NULL);
  server_sockaddr (f, &srv);
  send_bytes (a, &srv, i1);
  send_bytes (a, &srv, i2);
  wzp_test_wait_until (f->ctx, stats (f->server).handshakes_in_progress == 2,
      WAIT_MS);
  /* Nobody finishes them: after the timeout (and the closing period) the
   * server forgets them. */
  for (guint i = 0; i < 600 && stats (f->server).connections_open > 0; i++) {
    wzp_test_clock_advance (clock, 100 * WZP_NSEC_PER_MSEC);
    wzp_test_iterate (f->ctx, 2);
  }
  s = stats (f->server);
  g_assert_cmpuint (s.connections_open, ==, 0);
  g_assert_cmpuint (s.handshakes_in_progress, ==, 0);
  g_assert_cmpuint (s.sources, ==, 0);
}

static void
test_max_connections_per_source (Fixture * f, gconstpointer data)
{
  GPtrArray *conns = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (WzpIdentity) id2 = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) other = make_endpoint (f, id2, NULL, "127.0.0.2");
  g_autoptr (WzpConnection) extra = NULL;
  g_autoptr (WzpConnection) elsewhere = NULL;
  g_autoptr (WzpConnection) again = NULL;

  g_object_set (f->server, "max-connections-per-source", 3, NULL);
  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (conns, dial (f, f->client));
  wzp_test_wait_until (f->ctx, f->incoming->len == 3, WAIT_MS);

  /* A fourth from the same source is ignored... */
  extra = dial (f, f->client);
  wzp_test_run_for (f->ctx, 500);
  g_assert_false (is_connected (extra));
  g_assert_cmpuint (stats (f->server).refused_connections_per_source, >=, 1);
  /* ...one from another source is not. */
  elsewhere = dial (f, other);
  wzp_test_wait_until (f->ctx, is_connected (elsewhere), WAIT_MS);

  /* When one closes, the source has room again. */
  wzp_connection_close (g_ptr_array_index (conns, 0), 0, "bye");
  wzp_test_wait_until (f->ctx, stats (f->server).connections_open == 3,
      WAIT_MS);
  again = dial (f, f->client);
  wzp_test_wait_until (f->ctx, is_connected (again), WAIT_MS);
  g_ptr_array_unref (conns);
}

int
main (int argc, char **argv)
{
  g_autoptr (WzpClock) test_clock = wzp_test_clock_new (1000 *
      WZP_NSEC_PER_SEC);

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quic-admit/source-keys", test_source_keys);
#define ADD(name, func, clock) \
  g_test_add ("/quic-admit/" name, Fixture, clock, fixture_setup, func, \
      fixture_teardown)
  ADD ("retry-always", test_retry_always, NULL);
  ADD ("retry-is-small-and-stateless", test_retry_is_small_and_stateless, NULL);
  ADD ("no-retry-amplification-bounded", test_no_retry_amplification_bounded,
      NULL);
  ADD ("retry-auto-threshold", test_retry_auto_threshold, NULL);
  ADD ("retry-auto-per-source", test_retry_auto_per_source, NULL);
  ADD ("token-bound-to-address", test_token_bound_to_address, NULL);
  ADD ("token-expires", test_token_expires, test_clock);
  ADD ("max-half-open-per-source", test_max_half_open_per_source, NULL);
  ADD ("max-half-open", test_max_half_open, NULL);
  ADD ("half-open-expire", test_half_open_expire, test_clock);
  ADD ("max-connections-per-source", test_max_connections_per_source, NULL);
  return g_test_run ();
}
