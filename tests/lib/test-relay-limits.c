/* Tests for the relay's own limits (wzp-relay-limits.c and their use in
 * the core): the registration deadline, registrations per source and
 * overall, the pending NAT-probe quota, the per-connection message rate,
 * and their metrics.  An in-process WzpRelay and bare clients
 * (wzp-test-relay-client.h) on loopback; 127.0.0.2 is a second source.
 * The fault suite (tests/fault) checks the same against a wzp-relay
 * process under attack.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "wzp-relay.h"
#include "wzp-test-relay-client.h"
#include "wzp-test-util.h"

#define WAIT_MS 10000

typedef struct
{
  GMainContext *ctx;
  WzpClock *clock;              /* NULL: system */
  WzpRelay *relay;
  GSocketAddress *relay_addr;
  WzpEndpoint *ep;              /* 127.0.0.1 */
  WzpEndpoint *ep2;             /* 127.0.0.2 */
  GPtrArray *clients;
} Fixture;

static WzpEndpoint *
endpoint_on (Fixture * f, const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) ip = g_inet_address_new_from_string (host);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (ip, 0);
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, f->clock, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  return ep;
}

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  f->clock = data ? g_object_ref ((WzpClock *) data) : NULL;
  f->relay = g_object_new (WZP_TYPE_RELAY, "context", f->ctx, "identity", id,
      "clock", f->clock, "listen-address", "127.0.0.1:0", "probe-address",
      "127.0.0.1:0", NULL);
  f->ep = endpoint_on (f, "127.0.0.1");
  f->ep2 = endpoint_on (f, "127.0.0.2");
  f->clients = g_ptr_array_new_with_free_func ((GDestroyNotify)
      wzp_test_relay_client_free);
}

static void
start (Fixture * f)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (wzp_relay_start (f->relay, &error));
  f->relay_addr = wzp_relay_get_listen_address (f->relay);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  g_ptr_array_unref (f->clients);
  g_clear_object (&f->relay_addr);
  wzp_relay_stop (f->relay);
  g_clear_object (&f->relay);
  g_clear_object (&f->ep);
  g_clear_object (&f->ep2);
  wzp_test_drain (f->ctx);
  g_clear_object (&f->clock);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

static WzpTestRelayClient *
client (Fixture * f, WzpEndpoint * ep, WzpIdentity * id)
{
  WzpTestRelayClient *c = wzp_test_relay_client_new (ep, f->relay_addr, id);

  g_ptr_array_add (f->clients, c);
  return c;
}

/* With a test clock time moves only when we move it, and QUIC needs it
 * to move a little for a handshake: 1 ms per round. */
#define tick_until(f, cond) G_STMT_START {                                \
  guint _rounds = 0;                                                    \
  while (!(cond)) {                                                     \
    if (++_rounds > 5000)                                               \
      g_error ("%s:%d: no progress waiting for: %s", __FILE__,          \
          __LINE__, #cond);                                             \
    if ((f)->clock)                                                     \
      wzp_test_clock_advance (WZP_TEST_CLOCK ((f)->clock),              \
          WZP_NSEC_PER_MSEC);                                           \
    wzp_test_iterate ((f)->ctx, 2);                                     \
  }                                                                     \
} G_STMT_END

static void
advance (Fixture * f, guint64 ns)
{
  for (guint64 t = 0; t < ns; t += 50 * WZP_NSEC_PER_MSEC) {
    wzp_test_clock_advance (WZP_TEST_CLOCK (f->clock), 50 * WZP_NSEC_PER_MSEC);
    for (guint i = 0; i < 3; i++)
      wzp_test_iterate (f->ctx, 1);
  }
}

static WzpTestRelayClient *
registered_client (Fixture * f, WzpEndpoint * ep, WzpIdentity * id)
{
  WzpTestRelayClient *c = client (f, ep, id);

  tick_until (f, c->hello);
  wzp_test_relay_client_register (c);
  tick_until (f, c->registered || c->closed);
  return c;
}

/* --- registration deadline -------------------------------------------- */

/* A connection that finished its handshake but does not register is
 * closed at the deadline (0x105, "registration-timeout"); one that
 * registered in time stays. */
static void
test_registration_deadline (Fixture * f, gconstpointer data)
{
  WzpTestRelayClient *idle, *late;
  WzpRelayStats s;

  g_object_set (f->relay, "registration-timeout",
      (guint64) 2 * WZP_NSEC_PER_SEC, NULL);
  start (f);
  idle = client (f, f->ep, NULL);
  late = client (f, f->ep, NULL);
  tick_until (f, idle->hello && late->hello);

  advance (f, 1500 * WZP_NSEC_PER_MSEC);
  g_assert_false (idle->closed);
  wzp_test_relay_client_register (late);
  tick_until (f, late->registered);

  advance (f, 1000 * WZP_NSEC_PER_MSEC);
  tick_until (f, idle->closed);
  g_assert_true (idle->have_close_code);
  g_assert_cmphex (idle->close_code, ==, WZP_CLOSE_LIMIT);
  g_assert_cmpuint (wzp_test_relay_client_count (idle, "error",
          "registration-timeout"), ==, 1);
  g_assert_false (late->closed);
  g_assert_cmpuint (wzp_relay_get_refusal_count (f->relay,
          "registration-timeout"), ==, 1);
  wzp_relay_get_stats (f->relay, &s);
  tick_until (f, (wzp_relay_get_stats (f->relay, &s), s.connections == 1));
  g_assert_cmpuint (s.registrations, ==, 1);
}

/* --- registrations per source ----------------------------------------- */

static void
test_registrations_per_source (Fixture * f, gconstpointer data)
{
  WzpTestRelayClient *c[5];
  WzpTestRelayClient *other, *again, *takeover;
  guint ok = 0, refused = 0;

  g_object_set (f->relay, "max-registrations-per-source", 3, NULL);
  start (f);
  /* Five identities from one source (one socket): three get in. */
  for (guint i = 0; i < G_N_ELEMENTS (c); i++)
    c[i] = registered_client (f, f->ep, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (c); i++) {
    if (c[i]->registered) {
      ok++;
    } else {
      refused++;
      g_assert_cmpuint (wzp_test_relay_client_count (c[i], "error",
              "too-many"), ==, 1);
      tick_until (f, c[i]->closed);
      g_assert_cmphex (c[i]->close_code, ==, WZP_CLOSE_LIMIT);
    }
  }
  g_assert_cmpuint (ok, ==, 3);
  g_assert_cmpuint (refused, ==, 2);
  g_assert_cmpuint (wzp_relay_get_refusal_count (f->relay,
          "max-registrations-per-source"), ==, 2);

  /* Another source is not affected. */
  other = registered_client (f, f->ep2, NULL);
  g_assert_true (other->registered);

  /* An identity registered again from the same source takes over its own
   * registration: no new slot needed. */
  takeover = registered_client (f, f->ep, c[0]->identity);
  g_assert_true (takeover->registered);
  tick_until (f, c[0]->closed);
  g_assert_cmphex (c[0]->close_code, ==, WZP_CLOSE_SUPERSEDED);

  /* A registration that ends gives its slot back. */
  wzp_connection_close (c[1]->conn, 0, "bye");
  tick_until (f, wzp_relay_get_refusal_count (f->relay,
          "max-registrations-per-source") == 2 && c[1]->closed);
  wzp_test_run_for (f->ctx, 100);
  again = registered_client (f, f->ep, NULL);
  g_assert_true (again->registered);
}

static void
test_max_registrations (Fixture * f, gconstpointer data)
{
  WzpTestRelayClient *a, *b, *c;

  g_object_set (f->relay, "max-registrations", 2, NULL);
  start (f);
  a = registered_client (f, f->ep, NULL);
  b = registered_client (f, f->ep2, NULL);
  c = registered_client (f, f->ep2, NULL);
  g_assert_true (a->registered && b->registered);
  g_assert_false (c->registered);
  g_assert_cmpuint (wzp_test_relay_client_count (c, "error", "too-many"), ==,
      1);
  g_assert_cmpuint (wzp_relay_get_refusal_count (f->relay,
          "max-registrations"), ==, 1);
}

/* --- NAT probes ------------------------------------------------------- */

static JsonObject *
probe_request (guint8 token[WZP_PROBE_TOKEN_LEN])
{
  for (guint i = 0; i < WZP_PROBE_TOKEN_LEN; i++)
    token[i] = (guint8) g_random_int ();
  return wzp_message_new_probe_request (token);
}

/* One client filling its quota of pending probes does not affect
 * another client's probe; the table as a whole has its own bound. */
static void
test_probe_quota (Fixture * f, gconstpointer data)
{
  WzpTestRelayClient *greedy, *b, *c;
  guint8 token[WZP_PROBE_TOKEN_LEN];
  guint8 packet[WZP_PROBE_PACKET_LEN];
  g_autoptr (GSocketAddress) probe_addr = NULL;
  WzpAddr to;

  g_object_set (f->relay, "max-pending-probes-per-client", 2,
      "max-pending-probes", 3, NULL);
  start (f);
  probe_addr = wzp_relay_get_probe_address (f->relay);
  g_assert_true (wzp_addr_from_gsocketaddress (&to, probe_addr));
  greedy = registered_client (f, f->ep, NULL);
  b = registered_client (f, f->ep2, NULL);
  c = registered_client (f, f->ep2, NULL);

  /* Ten requests, no raw packets: two pending, eight refused. */
  for (guint i = 0; i < 10; i++)
    wzp_test_relay_client_send (greedy, probe_request (token));
  tick_until (f, wzp_test_relay_client_count (greedy, "error",
          "too-many") == 8);
  g_assert_cmpuint (wzp_relay_get_refusal_count (f->relay,
          "max-pending-probes-per-client"), ==, 8);

  /* Another client's probe works: request, then its raw packet. */
  wzp_test_relay_client_send (b, probe_request (token));
  wzp_test_run_for (f->ctx, 50);
  packet[0] = WZP_PROBE_PACKET_TYPE;
  memcpy (packet + 1, token, WZP_PROBE_TOKEN_LEN);
  g_assert_true (wzp_endpoint_send_raw (f->ep2, &to, packet, sizeof packet));
  tick_until (f, wzp_test_relay_client_count (b, "probe-result", NULL) == 1);
  g_assert_cmpuint (wzp_test_relay_client_count (b, "error", NULL), ==, 0);

  /* The table's own bound (3): greedy's 2 + c's first fill it. */
  wzp_test_relay_client_send (c, probe_request (token));
  wzp_test_relay_client_send (c, probe_request (token));
  tick_until (f, wzp_test_relay_client_count (c, "error", "too-many") == 1);
  g_assert_cmpuint (wzp_relay_get_refusal_count (f->relay,
          "max-pending-probes"), ==, 1);
}

/* --- message rate ----------------------------------------------------- */

static void
test_message_rate (Fixture * f, gconstpointer data)
{
  WzpTestRelayClient *a, *b;

  g_object_set (f->relay, "message-rate", 10, "message-burst", 20, NULL);
  start (f);
  a = registered_client (f, f->ep, NULL);
  b = registered_client (f, f->ep2, NULL);

  /* 100 at once: the burst is answered (minus the register message it
   * already used), the rest dropped with one "rate-limited". */
  for (guint i = 0; i < 100; i++)
    wzp_test_relay_client_send (a, wzp_message_new_reflect ());
  tick_until (f, wzp_test_relay_client_count (a, "reflected", NULL) == 19 &&
      wzp_test_relay_client_count (a, "error", "rate-limited") == 1);
  wzp_test_run_for (f->ctx, 50);
  g_assert_cmpuint (wzp_test_relay_client_count (a, "reflected", NULL), ==, 19);
  g_assert_cmpuint (wzp_relay_get_refusal_count (f->relay, "message-rate"),
      ==, 81);

  /* Others are not affected. */
  wzp_test_relay_client_send (b, wzp_message_new_reflect ());
  tick_until (f, wzp_test_relay_client_count (b, "reflected", NULL) == 1);

  /* One second later, ten more (the sustained rate). */
  advance (f, WZP_NSEC_PER_SEC);
  for (guint i = 0; i < 100; i++)
    wzp_test_relay_client_send (a, wzp_message_new_reflect ());
  tick_until (f, wzp_test_relay_client_count (a, "error", "rate-limited") == 2);
  wzp_test_run_for (f->ctx, 50);
  g_assert_cmpuint (wzp_test_relay_client_count (a, "reflected", NULL), >=,
      19 + 10);
  g_assert_cmpuint (wzp_test_relay_client_count (a, "reflected", NULL), <=,
      19 + 12);
}

/* --- configuration and metrics ---------------------------------------- */

/* Endpoint limits set on the relay reach its endpoint, before and after
 * start. */
static void
test_endpoint_limits_passed_on (Fixture * f, gconstpointer data)
{
  guint v;
  WzpRetryMode mode;
  WzpEndpoint *ep;

  g_object_set (f->relay, "max-half-open", 77, "retry", WZP_RETRY_ALWAYS, NULL);
  start (f);
  ep = wzp_relay_get_endpoint (f->relay);
  g_object_get (ep, "max-half-open", &v, "retry", &mode, NULL);
  g_assert_cmpuint (v, ==, 77);
  g_assert_cmpint (mode, ==, WZP_RETRY_ALWAYS);
  g_object_set (f->relay, "max-connections-per-source", 5, NULL);
  g_object_get (ep, "max-connections-per-source", &v, NULL);
  g_assert_cmpuint (v, ==, 5);
  g_object_get (f->relay, "max-half-open", &v, NULL);
  g_assert_cmpuint (v, ==, 77);
}

static void
test_metrics (Fixture * f, gconstpointer data)
{
  g_autofree char *text = NULL;
  static const char *const want[] = {
    "# TYPE wzp_relay_refusals_total counter\n",
    "wzp_relay_refusals_total{reason=\"max-registrations-per-source\"} 1\n",
    "wzp_relay_refusals_total{reason=\"max-half-open\"} 0\n",
    "wzp_relay_refusals_total{reason=\"invalid-token\"} 0\n",
    "wzp_relay_refusals_total{reason=\"registration-timeout\"} 0\n",
    "wzp_relay_limit{name=\"max-registrations-per-source\"} 1\n",
    "wzp_relay_limit{name=\"max-connections\"} 20000\n",
    "wzp_relay_limit{name=\"registration-timeout\"} 5\n",
    "wzp_relay_limit{name=\"retry\"} 1\n",
    "# TYPE wzp_relay_forwarded_bytes_total counter\n",
    "# TYPE wzp_relay_handshakes_in_progress gauge\n",
    "# TYPE wzp_relay_retries_sent_total counter\n",
    "# TYPE wzp_relay_udp_receive_bytes_total counter\n",
    "wzp_relay_udp_dropped_packets_total{reason=\"not-quic\"} ",
    "# TYPE process_cpu_seconds_total counter\n",
    "# TYPE process_resident_memory_bytes gauge\n",
    "# TYPE process_open_fds gauge\n",
    "# TYPE process_max_fds gauge\n",
    "# TYPE process_start_time_seconds gauge\n",
    "wzp_relay_build_info{version=\"" WZP_VERSION "\",ngtcp2=\"",
  };
  const char *p;
  double start_s, rss;

  g_object_set (f->relay, "max-registrations-per-source", 1, NULL);
  start (f);
  registered_client (f, f->ep, NULL);
  registered_client (f, f->ep, NULL);
  text = wzp_relay_metrics_text (f->relay);
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    if (strstr (text, want[i]) == NULL)
      g_error ("%s not in:\n%s", want[i], text);
  /* Plausible values: started in the last hour, some memory. */
  p = strstr (text, "\nprocess_start_time_seconds ");
  g_assert_nonnull (p);
  start_s = g_ascii_strtod (p + strlen ("\nprocess_start_time_seconds "), NULL);
  g_assert_cmpfloat (start_s, >, g_get_real_time () / 1e6 - 3600);
  g_assert_cmpfloat (start_s, <=, g_get_real_time () / 1e6 + 1);
  p = strstr (text, "\nprocess_resident_memory_bytes ");
  rss = g_ascii_strtod (p + strlen ("\nprocess_resident_memory_bytes "), NULL);
  g_assert_cmpfloat (rss, >, 1e6);
}

int
main (int argc, char **argv)
{
  g_autoptr (WzpClock) test_clock = wzp_test_clock_new (1000 *
      WZP_NSEC_PER_SEC);

  g_test_init (&argc, &argv, NULL);
#define ADD(name, func, clock) \
  g_test_add ("/relay-limits/" name, Fixture, clock, fixture_setup, func, \
      fixture_teardown)
  ADD ("registration-deadline", test_registration_deadline, test_clock);
  ADD ("registrations-per-source", test_registrations_per_source, NULL);
  ADD ("max-registrations", test_max_registrations, NULL);
  ADD ("probe-quota", test_probe_quota, NULL);
  ADD ("message-rate", test_message_rate, test_clock);
  ADD ("endpoint-limits-passed-on", test_endpoint_limits_passed_on, NULL);
  ADD ("metrics", test_metrics, NULL);
  return g_test_run ();
}
