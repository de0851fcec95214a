/* Tests for the path manager: roles, the race, agreement, media on the
 * direct path, refusing strangers, failover and return.
 *
 * Two endpoints with their own identities on 127.0.0.1, one
 * GMainContext, real QUIC.  The relay is not needed: the path manager
 * only says when media should go through it.  Tests named "*-clocked"
 * run on a WzpTestClock, so their timing assertions are exact rather
 * than wall-clock bounds.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "wzp-path-private.h"
#include "wzp-test-util.h"

#define WAIT_MS 10000
#define MS WZP_NSEC_PER_MSEC

typedef struct
{
  WzpPathKind path;
  char *reason;
  guint64 at;                   /* on the fixture's clock */
} Change;

typedef struct
{
  GArray *changes;              /* Change */
  guint race_ok;
  guint race_failed;
  char *race_reason;
  GPtrArray *media;             /* GBytes */
} Log;

typedef struct
{
  GMainContext *ctx;
  WzpClock *clock;
  WzpIdentity *id[2];
  WzpEndpoint *ep[2];
  WzpCandidates *cands[2];
  WzpPathManager *pm[2];
  Log log[2];
  guint8 token[WZP_PATH_TOKEN_LEN];
} Fixture;

static void
change_clear (gpointer p)
{
  g_free (((Change *) p)->reason);
}

static WzpEndpoint *
make_endpoint (Fixture * f, WzpIdentity * id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) addr = wzp_socket_address_parse ("127.0.0.1:0",
      NULL);
  WzpEndpoint *ep = wzp_endpoint_new (f->ctx, id, f->clock, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  g_assert_no_error (error);
  return ep;
}

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  gboolean clocked = GPOINTER_TO_INT (data);

  f->ctx = g_main_context_new ();
  g_main_context_push_thread_default (f->ctx);
  if (clocked)
    f->clock = wzp_test_clock_new (1000 * WZP_NSEC_PER_SEC);
  else
    f->clock = g_object_ref (wzp_clock_get_system ());
  for (guint i = 0; i < 2; i++) {
    f->id[i] = wzp_identity_generate ();
    f->ep[i] = make_endpoint (f, f->id[i]);
    f->cands[i] = wzp_candidates_gather (f->ep[i], WZP_GATHER_LOOPBACK, NULL);
    g_assert_cmpuint (wzp_candidates_get_count (f->cands[i]), ==, 1);
    f->log[i].changes = g_array_new (FALSE, TRUE, sizeof (Change));
    g_array_set_clear_func (f->log[i].changes, change_clear);
    f->log[i].media =
        g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  }
  for (guint i = 0; i < WZP_PATH_TOKEN_LEN; i++)
    f->token[i] = g_random_int ();
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  for (guint i = 0; i < 2; i++)
    g_clear_object (&f->pm[i]);
  for (guint i = 0; i < 2; i++)
    g_clear_object (&f->ep[i]);
  wzp_test_drain (f->ctx);
  for (guint i = 0; i < 2; i++) {
    g_clear_object (&f->id[i]);
    g_clear_pointer (&f->cands[i], wzp_candidates_unref);
    g_array_unref (f->log[i].changes);
    g_ptr_array_unref (f->log[i].media);
    g_free (f->log[i].race_reason);
  }
  g_clear_object (&f->clock);
  g_main_context_pop_thread_default (f->ctx);
  g_main_context_unref (f->ctx);
}

/* --- recording -------------------------------------------------------- */

static Fixture *current;

static void
on_path_changed (WzpPathManager * pm, WzpPathKind path, const char *reason,
    gpointer data)
{
  Log *log = data;
  Change c = { path, g_strdup (reason), wzp_clock_get_time (current->clock) };

  g_test_message ("%s: path %s (%s)", log == &current->log[0] ? "A" : "B",
      wzp_path_kind_to_string (path), reason);
  g_assert_cmpint (path, ==, wzp_path_manager_get_path (pm));
  g_array_append_val (log->changes, c);
}

static void
on_race_finished (WzpPathManager * pm, gboolean direct, const char *reason,
    gpointer data)
{
  Log *log = data;

  if (direct)
    log->race_ok++;
  else
    log->race_failed++;
  g_free (log->race_reason);
  log->race_reason = g_strdup (reason);
}

static void
on_media (const guint8 * data, gsize len, gpointer user_data)
{
  Log *log = user_data;

  g_ptr_array_add (log->media, g_bytes_new (data, len));
}

static WzpPathKind
last_path (Fixture * f, guint i)
{
  GArray *c = f->log[i].changes;

  return c->len ? g_array_index (c, Change, c->len - 1).path : WZP_PATH_NONE;
}

static const char *
last_reason (Fixture * f, guint i)
{
  GArray *c = f->log[i].changes;

  return c->len ? g_array_index (c, Change, c->len - 1).reason : "";
}

/* --- building the pair ------------------------------------------------ */

typedef struct
{
  WzpPathPolicy policy;
  WzpNatType nat[2];
  WzpCandidates *peer_cands[2]; /* NULL: the other side's real one */
  guint8 token_b[WZP_PATH_TOKEN_LEN];
  gboolean other_token_b;
  guint64 race_timeout_ns;
} PairOptions;

static void
make_pair (Fixture * f, const PairOptions * o)
{
  current = f;
  for (guint i = 0; i < 2; i++) {
    WzpPathConfig config;
    g_autoptr (GError) error = NULL;

    wzp_path_config_init (&config);
    config.peer_fingerprint = wzp_identity_get_fingerprint (f->id[1 - i]);
    config.local_nat = o->nat[i];
    config.peer_nat = o->nat[1 - i];
    config.local_candidates = f->cands[i];
    config.peer_candidates = o->peer_cands[i] ? o->peer_cands[i] :
        f->cands[1 - i];
    memcpy (config.call_token, i == 1 && o->other_token_b ? o->token_b :
        f->token, WZP_PATH_TOKEN_LEN);
    config.policy = o->policy;
    if (o->race_timeout_ns)
      config.timings.race_timeout_ns = o->race_timeout_ns;
    f->pm[i] = wzp_path_manager_new (f->ep[i], &config, &error);
    g_assert_no_error (error);
    g_signal_connect (f->pm[i], "path-changed", G_CALLBACK (on_path_changed),
        &f->log[i]);
    g_signal_connect (f->pm[i], "race-finished",
        G_CALLBACK (on_race_finished), &f->log[i]);
    wzp_path_manager_set_media_handler (f->pm[i], on_media, &f->log[i], NULL);
  }
}

static void
start_pair (Fixture * f)
{
  for (guint i = 0; i < 2; i++) {
    g_autoptr (GError) error = NULL;
    g_assert_true (wzp_path_manager_start (f->pm[i], &error));
    g_assert_no_error (error);
  }
}

static guint
dialer_index (Fixture * f)
{
  return wzp_path_manager_get_role (f->pm[0]) == WZP_PATH_ROLE_DIALER ? 0 : 1;
}

/* A UDP socket on loopback that never answers: a candidate that leads
 * nowhere. */
static GSocket *
silent_socket (char **address)
{
  g_autoptr (GSocketAddress) any = wzp_socket_address_parse ("127.0.0.1:0",
      NULL);
  g_autoptr (GSocketAddress) local = NULL;
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, NULL);

  g_assert_true (g_socket_bind (s, any, FALSE, NULL));
  local = g_socket_get_local_address (s, NULL);
  *address = wzp_socket_address_to_string (local);
  return s;
}

/* With a test clock, time moves only when we move it: @step per round,
 * letting loopback packets cross in between. */
#define wait_ticking(f, step, cond, max_ns) G_STMT_START {                 \
  guint64 _end = wzp_clock_get_time ((f)->clock) + (max_ns);              \
  while (!(cond)) {                                                     \
    if (wzp_clock_get_time ((f)->clock) > _end)                         \
      g_error ("%s:%d: not within %" G_GUINT64_FORMAT " ms of test "    \
          "time: %s", __FILE__, __LINE__, (guint64) (max_ns) / MS,      \
          #cond);                                                       \
    wzp_test_clock_advance (WZP_TEST_CLOCK ((f)->clock), (step));       \
    for (guint _i = 0; _i < 3; _i++)                                    \
      wzp_test_iterate ((f)->ctx, 1);                                   \
  }                                                                     \
} G_STMT_END

static void
tick_for (Fixture * f, guint64 step, guint64 total)
{
  for (guint64 t = 0; t < total; t += step) {
    wzp_test_clock_advance (WZP_TEST_CLOCK (f->clock), step);
    for (guint i = 0; i < 3; i++)
      wzp_test_iterate (f->ctx, 1);
  }
}

static gboolean
both_direct (Fixture * f)
{
  return last_path (f, 0) == WZP_PATH_DIRECT
      && last_path (f, 1) == WZP_PATH_DIRECT;
}

/* --- roles ------------------------------------------------------------ */

static void
test_roles (void)
{
  const char *small = "0000:0000:0000:0000:0000:0000:0000:0001";
  const char *big = "ffff:0000:0000:0000:0000:0000:0000:0001";
  const char *r = NULL;
  struct
  {
    WzpNatType a, b;
    WzpPathRole small_role;
  } cases[] = {
    {WZP_NAT_TYPE_EIM, WZP_NAT_TYPE_EIM, WZP_PATH_ROLE_DIALER},
    {WZP_NAT_TYPE_UNKNOWN, WZP_NAT_TYPE_UNKNOWN, WZP_PATH_ROLE_DIALER},
    {WZP_NAT_TYPE_UNKNOWN, WZP_NAT_TYPE_EIM, WZP_PATH_ROLE_DIALER},
    /* The symmetric side dials, whatever the fingerprints say. */
    {WZP_NAT_TYPE_EIM, WZP_NAT_TYPE_EDM, WZP_PATH_ROLE_ACCEPTOR},
    {WZP_NAT_TYPE_UNKNOWN, WZP_NAT_TYPE_EDM, WZP_PATH_ROLE_ACCEPTOR},
    {WZP_NAT_TYPE_EDM, WZP_NAT_TYPE_EIM, WZP_PATH_ROLE_DIALER},
    {WZP_NAT_TYPE_EDM, WZP_NAT_TYPE_EDM, WZP_PATH_ROLE_NONE},
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    /* small side's view (nat a), then big side's view (nat b) */
    WzpPathRole s = wzp_path_decide_role (cases[i].a, cases[i].b, small, big,
        &r);
    WzpPathRole b = wzp_path_decide_role (cases[i].b, cases[i].a, big, small,
        NULL);
    g_test_message ("%s/%s: %s", wzp_nat_type_to_string (cases[i].a),
        wzp_nat_type_to_string (cases[i].b), r);
    g_assert_cmpint (s, ==, cases[i].small_role);
    if (s == WZP_PATH_ROLE_NONE)
      g_assert_cmpint (b, ==, WZP_PATH_ROLE_NONE);
    else
      g_assert_cmpint (b, ==, s == WZP_PATH_ROLE_DIALER ?
          WZP_PATH_ROLE_ACCEPTOR : WZP_PATH_ROLE_DIALER);
  }
  /* Case and form of the fingerprint do not matter. */
  g_assert_cmpint (wzp_path_decide_role (WZP_NAT_TYPE_EIM, WZP_NAT_TYPE_EIM,
          "FFFF:0000:0000:0000:0000:0000:0000:0001", small, NULL), ==,
      WZP_PATH_ROLE_ACCEPTOR);
  g_assert_cmpint (wzp_path_decide_role (WZP_NAT_TYPE_EIM, WZP_NAT_TYPE_EIM,
          small, small, &r), ==, WZP_PATH_ROLE_NONE);
  g_assert_cmpint (wzp_path_decide_role (WZP_NAT_TYPE_EDM, WZP_NAT_TYPE_EDM,
          small, big, &r), ==, WZP_PATH_ROLE_NONE);
  g_assert_cmpstr (r, ==, "peer NAT is symmetric and ours too: relay only");
}

static void
test_roles_opposite (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };

  make_pair (f, &o);
  g_assert_cmpint (wzp_path_manager_get_role (f->pm[0]), !=,
      WZP_PATH_ROLE_NONE);
  g_assert_cmpint (wzp_path_manager_get_role (f->pm[0]) +
      wzp_path_manager_get_role (f->pm[1]), ==,
      WZP_PATH_ROLE_DIALER + WZP_PATH_ROLE_ACCEPTOR);
  /* Not started: no path yet, sending goes nowhere. */
  g_assert_cmpint (wzp_path_manager_get_path (f->pm[0]), ==, WZP_PATH_NONE);
  g_assert_false (wzp_path_manager_send (f->pm[0], (guint8 *) "x", 1));
}

static void
test_bad_config (Fixture * f, gconstpointer data)
{
  WzpPathConfig config;
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpPathManager) pm = NULL;

  wzp_path_config_init (&config);
  pm = wzp_path_manager_new (f->ep[0], &config, &error);
  g_assert_null (pm);
  g_assert_error (error, WZP_IDENTITY_ERROR,
      WZP_IDENTITY_ERROR_INVALID_FINGERPRINT);
  g_clear_error (&error);

  config.peer_fingerprint = wzp_identity_get_fingerprint (f->id[1]);
  config.timings.failover_threshold_ns = 10 * MS;
  pm = wzp_path_manager_new (f->ep[0], &config, &error);
  g_assert_null (pm);
  g_assert_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_INVALID_CONFIG);
  g_clear_error (&error);

  wzp_path_timings_init (&config.timings);
  pm = wzp_path_manager_new (f->ep[0], &config, &error);
  g_assert_no_error (error);
  g_assert_true (wzp_path_manager_start (pm, NULL));
  g_assert_false (wzp_path_manager_start (pm, &error));
  g_assert_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_STATE);
}

/* --- the race and media ----------------------------------------------- */

static void
test_race_and_media (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  WzpPathStats st[2];
  guint d;

  make_pair (f, &o);
  d = dialer_index (f);
  start_pair (f);
  /* Media starts on the relay at once. */
  g_assert_cmpint (last_path (f, 0), ==, WZP_PATH_RELAY);
  g_assert_cmpint (last_path (f, 1), ==, WZP_PATH_RELAY);
  g_assert_false (wzp_path_manager_send (f->pm[0], (guint8 *) "x", 1));

  wzp_test_wait_until (f->ctx, both_direct (f), WAIT_MS);
  g_assert_cmpstr (last_reason (f, 0), ==, "direct path agreed");
  g_assert_cmpstr (last_reason (f, 1), ==, "direct path agreed");
  g_assert_cmpuint (f->log[0].race_ok, ==, 1);
  g_assert_cmpuint (f->log[1].race_ok, ==, 1);

  /* Exactly one direct connection, and it is the same one. */
  {
    WzpConnection *cd = wzp_path_manager_get_direct_connection (f->pm[d]);
    WzpConnection *ca = wzp_path_manager_get_direct_connection (f->pm[1 - d]);
    WzpEndpointStats es;
    g_assert_false (wzp_connection_is_server (cd));
    g_assert_true (wzp_connection_is_server (ca));
    g_assert_cmpstr (wzp_connection_get_peer_fingerprint (cd), ==,
        wzp_identity_get_fingerprint (f->id[1 - d]));
    g_assert_cmpstr (wzp_connection_get_peer_fingerprint (ca), ==,
        wzp_identity_get_fingerprint (f->id[d]));
    wzp_endpoint_get_stats (f->ep[1 - d], &es);
    g_assert_cmpuint (es.connections_accepted, ==, 1);
    g_assert_cmpuint (es.connections_open, ==, 1);
  }

  /* Media both ways on the direct connection.  Just after the switch the
   * relay carries a copy too (send returns FALSE, but sends direct). */
  g_assert_true (wzp_path_manager_should_duplicate (f->pm[0]));
  wzp_path_manager_send (f->pm[0], (guint8 *) "from A", 6);
  wzp_path_manager_send (f->pm[1], (guint8 *) "from B", 6);
  wzp_test_wait_until (f->ctx, f->log[0].media->len == 1
      && f->log[1].media->len == 1, WAIT_MS);
  g_assert_cmpmem (g_bytes_get_data (f->log[1].media->pdata[0], NULL), 6,
      "from A", 6);
  g_assert_cmpmem (g_bytes_get_data (f->log[0].media->pdata[0], NULL), 6,
      "from B", 6);
  /* After the overlap, direct alone. */
  wzp_test_run_for (f->ctx, 300);
  g_assert_false (wzp_path_manager_should_duplicate (f->pm[0]));
  for (guint i = 0; i < 50; i++) {
    guint8 pkt[160];
    memset (pkt, i, sizeof pkt);
    g_assert_true (wzp_path_manager_send (f->pm[0], pkt, sizeof pkt));
    g_assert_true (wzp_path_manager_send (f->pm[1], pkt, sizeof pkt));
  }
  wzp_test_wait_until (f->ctx, f->log[0].media->len == 51
      && f->log[1].media->len == 51, WAIT_MS);

  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st[i]);
    g_assert_cmpint (st[i].path, ==, WZP_PATH_DIRECT);
    g_assert_true (st[i].has_direct);
    g_assert_cmpuint (st[i].races, ==, 1);
    g_assert_cmpuint (st[i].race_time_ns, >, 0);
    g_assert_cmpuint (st[i].race_time_ns, <, 2 * WZP_NSEC_PER_SEC);
    g_assert_cmpuint (st[i].agree_time_ns, >=, st[i].race_time_ns);
    g_assert_cmpuint (st[i].punches_sent, >, 0);
    g_assert_cmpuint (st[i].media_sent, ==, 51);
    g_assert_cmpuint (st[i].media_received, ==, 51);
    g_assert_cmpuint (st[i].probes_sent, >, 0);
    g_assert_cmpuint (st[i].probes_answered, >, 0);
    g_assert_cmpuint (st[i].direct_rtt_ns, >, 0);
    g_assert_cmpuint (st[i].failovers, ==, 0);
    g_assert_cmpuint (st[i].direct.datagrams_received, >=, 51);
  }
  g_test_message ("race %" G_GUINT64_FORMAT " us, agreed after %"
      G_GUINT64_FORMAT " us, rtt %" G_GUINT64_FORMAT " us",
      st[d].race_time_ns / 1000, st[d].agree_time_ns / 1000,
      st[d].direct_rtt_ns / 1000);

  /* stop() closes the direct connection; the peer falls back to the relay
   * and does not race again (the peer ended it on purpose). */
  wzp_path_manager_stop (f->pm[0]);
  g_assert_cmpint (wzp_path_manager_get_path (f->pm[0]), ==, WZP_PATH_NONE);
  g_assert_false (wzp_path_manager_send (f->pm[0], (guint8 *) "x", 1));
  wzp_test_wait_until (f->ctx, last_path (f, 1) == WZP_PATH_RELAY, WAIT_MS);
  g_assert_nonnull (strstr (last_reason (f, 1), "direct connection closed"));
  g_assert_null (wzp_path_manager_get_direct_connection (f->pm[1]));
  g_assert_false (wzp_path_manager_send (f->pm[1], (guint8 *) "x", 1));
}

/* A stranger dials the acceptor during the race: refused by the TLS
 * handshake's accept-peer check; the race goes on and succeeds. */
static void
test_stranger_refused (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  g_autoptr (WzpIdentity) mallory_id = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) mallory = NULL;
  g_autoptr (WzpConnection) attack = NULL;
  g_autoptr (GSocketAddress) target = NULL;
  WzpEndpointStats es;
  guint a;

  make_pair (f, &o);
  a = 1 - dialer_index (f);
  mallory = make_endpoint (f, mallory_id);
  start_pair (f);
  target = wzp_endpoint_get_local_address (f->ep[a], G_SOCKET_FAMILY_IPV4);
  attack = wzp_endpoint_connect (mallory, target, NULL, NULL);
  g_assert_nonnull (attack);

  wzp_test_wait_until (f->ctx, both_direct (f)
      && wzp_connection_get_state (attack) == WZP_CONNECTION_STATE_CLOSED,
      WAIT_MS);
  g_assert_error (wzp_connection_get_close_error (attack),
      WZP_CONNECTION_ERROR, WZP_CONNECTION_ERROR_REJECTED_BY_PEER);
  wzp_endpoint_get_stats (f->ep[a], &es);
  g_assert_cmpuint (es.connections_refused, ==, 1);
  g_assert_cmpuint (es.connections_accepted, ==, 1);
  g_assert_cmpstr (wzp_connection_get_peer_fingerprint
      (wzp_path_manager_get_direct_connection (f->pm[a])), ==,
      wzp_identity_get_fingerprint (f->id[1 - a]));

  /* Once the manager is gone, the endpoint's own policy is back. */
  g_clear_object (&f->pm[a]);
  {
    gboolean accept = TRUE;
    g_object_get (f->ep[a], "accept-incoming", &accept, NULL);
    g_assert_false (accept);
  }
}

/* Candidates that lead nowhere, listed first, do not stop the race. */
static void
test_bad_candidates_first (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  g_autofree char *silent_addr = NULL;
  g_autoptr (GSocket) silent = silent_socket (&silent_addr);
  WzpPathStats st;

  for (guint i = 0; i < 2; i++) {
    g_auto (GStrv) real = wzp_candidates_to_strv (f->cands[1 - i]);
    const char *bad[] = { silent_addr, "192.0.2.1:9", "[2001:db8::1]:9",
      "10.255.255.1:4433", NULL
    };
    g_autoptr (GError) error = NULL;
    o.peer_cands[i] = wzp_candidates_new_from_strv (WZP_CANDIDATE_HOST, bad,
        &error);
    g_assert_no_error (error);
    g_assert_true (wzp_candidates_add_strv (o.peer_cands[i],
            WZP_CANDIDATE_REFLEXIVE, (const char *const *) real, &error));
  }
  make_pair (f, &o);
  start_pair (f);
  wzp_test_wait_until (f->ctx, both_direct (f), WAIT_MS);
  wzp_path_manager_get_stats (f->pm[dialer_index (f)], &st);
  g_assert_cmpuint (st.race_time_ns, <, 2 * WZP_NSEC_PER_SEC);
  /* The silent socket got the punches; the losing dials were closed. */
  {
    guint8 buf[2048];
    gssize n = g_socket_receive (silent, (char *) buf, sizeof buf, NULL,
        NULL);
    g_assert_cmpint (n, >, 0);
  }
  for (guint i = 0; i < 2; i++)
    wzp_candidates_unref (o.peer_cands[i]);
}

static void
test_relay_only (Fixture * f, gconstpointer data)
{
  PairOptions o = {.policy = WZP_PATH_POLICY_RELAY_ONLY };
  WzpPathStats st;
  WzpEndpointStats es;

  make_pair (f, &o);
  g_assert_cmpint (wzp_path_manager_get_role (f->pm[0]), ==,
      WZP_PATH_ROLE_NONE);
  start_pair (f);
  g_assert_cmpint (last_path (f, 0), ==, WZP_PATH_RELAY);
  g_assert_cmpstr (last_reason (f, 0), ==, "policy is relay-only");
  wzp_test_run_for (f->ctx, 300);
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st);
    g_assert_cmpuint (st.races, ==, 0);
    g_assert_cmpuint (st.punches_sent, ==, 0);
    g_assert_cmpuint (st.punches_received, ==, 0);
    wzp_endpoint_get_stats (f->ep[i], &es);
    g_assert_cmpuint (es.packets_sent, ==, 0);
    g_assert_cmpuint (f->log[i].changes->len, ==, 1);
  }
  g_assert_false (wzp_path_manager_send (f->pm[0], (guint8 *) "x", 1));
}

static void
test_both_symmetric (Fixture * f, gconstpointer data)
{
  PairOptions o = {.nat = {WZP_NAT_TYPE_EDM, WZP_NAT_TYPE_EDM} };
  WzpPathStats st;

  make_pair (f, &o);
  start_pair (f);
  for (guint i = 0; i < 2; i++) {
    g_assert_cmpint (last_path (f, i), ==, WZP_PATH_RELAY);
    g_assert_cmpstr (last_reason (f, i), ==,
        "peer NAT is symmetric and ours too: relay only");
  }
  wzp_test_run_for (f->ctx, 200);
  wzp_path_manager_get_stats (f->pm[0], &st);
  g_assert_cmpuint (st.races, ==, 0);
  g_assert_cmpuint (st.punches_sent, ==, 0);
}

/* One symmetric side: it dials whatever the fingerprints say, and the
 * race works. */
static void
test_symmetric_side_dials (Fixture * f, gconstpointer data)
{
  PairOptions o = {.nat = {WZP_NAT_TYPE_EIM, WZP_NAT_TYPE_EDM} };

  make_pair (f, &o);
  g_assert_cmpint (wzp_path_manager_get_role (f->pm[1]), ==,
      WZP_PATH_ROLE_DIALER);
  g_assert_cmpint (wzp_path_manager_get_role (f->pm[0]), ==,
      WZP_PATH_ROLE_ACCEPTOR);
  start_pair (f);
  wzp_test_wait_until (f->ctx, both_direct (f), WAIT_MS);
}

static void
test_direct_only_no_path (Fixture * f, gconstpointer data)
{
  PairOptions o = {.policy = WZP_PATH_POLICY_DIRECT_ONLY,
    .race_timeout_ns = 300 * MS
  };
  g_autofree char *silent_addr = NULL;
  g_autoptr (GSocket) silent = silent_socket (&silent_addr);
  const char *nowhere[] = { silent_addr, NULL };

  /* The peer is unreachable: its candidates lead to a silent socket. */
  for (guint i = 0; i < 2; i++)
    o.peer_cands[i] = wzp_candidates_new_from_strv (WZP_CANDIDATE_HOST,
        nowhere, NULL);
  make_pair (f, &o);
  start_pair (f);
  g_assert_cmpint (wzp_path_manager_get_path (f->pm[0]), ==, WZP_PATH_NONE);
  wzp_test_wait_until (f->ctx, f->log[0].race_failed == 1
      && f->log[1].race_failed == 1, WAIT_MS);
  g_assert_nonnull (strstr (f->log[0].race_reason,
          "no direct path within 300 ms"));
  g_assert_cmpint (wzp_path_manager_get_path (f->pm[0]), ==, WZP_PATH_NONE);
  g_assert_cmpuint (f->log[0].changes->len, ==, 0);
  g_assert_false (wzp_path_manager_send (f->pm[0], (guint8 *) "x", 1));
  for (guint i = 0; i < 2; i++)
    wzp_candidates_unref (o.peer_cands[i]);
}

/* Punch-sized packets with a wrong token are dropped and counted; the
 * peer's real punches are counted as received. */
static void
test_punch_token (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4,
      G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GSocketAddress) target = NULL;
  guint8 bad[WZP_PATH_PUNCH_LEN];
  WzpPathStats st;

  make_pair (f, &o);
  start_pair (f);
  target = wzp_endpoint_get_local_address (f->ep[0], G_SOCKET_FAMILY_IPV4);
  bad[0] = WZP_PATH_PUNCH;
  memcpy (bad + 1, f->token, WZP_PATH_TOKEN_LEN);
  bad[WZP_PATH_TOKEN_LEN] ^= 1;
  for (guint i = 0; i < 5; i++)
    g_socket_send_to (s, target, (char *) bad, sizeof bad, NULL, NULL);
  g_socket_send_to (s, target, "hello", 5, NULL, NULL);
  wzp_test_wait_until (f->ctx, both_direct (f), WAIT_MS);
  wzp_test_wait_until (f->ctx, (wzp_path_manager_get_stats (f->pm[0], &st),
          st.punches_bad == 6), WAIT_MS);
  g_assert_cmpuint (st.punches_received, >, 0);
  wzp_path_manager_get_stats (f->pm[1], &st);
  g_assert_cmpuint (st.punches_bad, ==, 0);
}

/* Peers whose call tokens differ never agree, even though TLS pins let
 * the QUIC connection up. */
static void
test_token_mismatch_never_agrees (Fixture * f, gconstpointer data)
{
  PairOptions o = {.other_token_b = TRUE };
  WzpPathStats st;

  memset (o.token_b, 0x5a, sizeof o.token_b);
  make_pair (f, &o);
  start_pair (f);
  wzp_test_run_for (f->ctx, 500);
  g_assert_cmpint (last_path (f, 0), ==, WZP_PATH_RELAY);
  g_assert_cmpint (last_path (f, 1), ==, WZP_PATH_RELAY);
  wzp_path_manager_get_stats (f->pm[0], &st);
  g_assert_cmpuint (st.punches_received, ==, 0);
  g_assert_cmpuint (st.punches_bad, >, 0);
}

/* --- failover, on the test clock -------------------------------------- */

static void
test_failover_and_return_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  WzpPathStats st;
  guint64 t0;
  guint d;

  make_pair (f, &o);
  d = dialer_index (f);
  start_pair (f);
  wait_ticking (f, 1 * MS, both_direct (f), 3 * WZP_NSEC_PER_SEC);
  /* Settle: a few probe rounds. */
  tick_for (f, 10 * MS, 600 * MS);
  g_assert_true (both_direct (f));

  /* The acceptor's direct datagrams vanish (probes, answers, media). */
  t0 = wzp_clock_get_time (f->clock);
  _wzp_path_manager_set_blackhole (f->pm[1 - d], TRUE);
  wait_ticking (f, 10 * MS, last_path (f, 0) == WZP_PATH_RELAY
      && last_path (f, 1) == WZP_PATH_RELAY, 3 * WZP_NSEC_PER_SEC);
  for (guint i = 0; i < 2; i++) {
    GArray *c = f->log[i].changes;
    Change *last = &g_array_index (c, Change, c->len - 1);
    guint64 after = last->at - t0;
    g_test_message ("side %u on the relay %" G_GUINT64_FORMAT " ms after "
        "the path went quiet: %s", i, after / MS, last->reason);
    /* threshold 1000 ms, minus at most one probe interval of evidence
     * from before the silence, plus one 10 ms tick */
    g_assert_cmpuint (after, >=, 780 * MS);
    g_assert_cmpuint (after, <=, 1020 * MS);
    g_assert_true (g_str_has_prefix (last->reason, "direct path silent for"));
  }
  /* Media now goes by the relay; the QUIC connection lives on. */
  tick_for (f, 10 * MS, 300 * MS);
  g_assert_false (wzp_path_manager_send (f->pm[d], (guint8 *) "x", 1));
  for (guint i = 0; i < 2; i++) {
    WzpConnection *c = wzp_path_manager_get_direct_connection (f->pm[i]);
    g_assert_nonnull (c);
    g_assert_cmpint (wzp_connection_get_state (c), ==,
        WZP_CONNECTION_STATE_CONNECTED);
  }

  /* The path answers again: both agree and switch back. */
  t0 = wzp_clock_get_time (f->clock);
  _wzp_path_manager_set_blackhole (f->pm[1 - d], FALSE);
  wait_ticking (f, 10 * MS, both_direct (f), 2 * WZP_NSEC_PER_SEC);
  g_assert_cmpstr (last_reason (f, 0), ==, "direct path restored");
  g_assert_cmpstr (last_reason (f, 1), ==, "direct path restored");
  /* within a probe interval and a round trip */
  g_assert_cmpuint (wzp_clock_get_time (f->clock) - t0, <=, 300 * MS);
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st);
    g_assert_cmpuint (st.failovers, ==, 1);
    g_assert_cmpuint (st.restores, ==, 1);
    g_assert_cmpuint (st.races, ==, 1);
    g_assert_cmpuint (f->log[i].changes->len, ==, 4);
  }

  /* And media flows direct again. */
  tick_for (f, 10 * MS, 400 * MS);
  g_assert_true (wzp_path_manager_send (f->pm[d], (guint8 *) "back", 4));
  wait_ticking (f, 1 * MS, f->log[1 - d].media->len == 1, WZP_NSEC_PER_SEC);
}

/* The direct connection dies (idle timeout: the path is gone for good):
 * both sides fall back, wait the re-race interval, and race again. */
static void
test_rerace_after_death_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  WzpPathStats st;
  guint d;

  make_pair (f, &o);
  d = dialer_index (f);
  start_pair (f);
  wait_ticking (f, 1 * MS, both_direct (f), 3 * WZP_NSEC_PER_SEC);

  /* The dialer's endpoint vanishes from the network: the acceptor's
   * connection idles out.  (Stopping it would close the connection on
   * purpose, which is no reason to race again.) */
  _wzp_path_manager_set_blackhole (f->pm[d], TRUE);
  _wzp_path_manager_set_blackhole (f->pm[1 - d], TRUE);
  g_object_set (f->ep[d], "keep-alive-interval", (guint64) 0, NULL);
  g_object_set (f->ep[1 - d], "keep-alive-interval", (guint64) 0, NULL);
  wzp_connection_set_keep_alive (wzp_path_manager_get_direct_connection
      (f->pm[d]), 0);
  wzp_connection_set_keep_alive (wzp_path_manager_get_direct_connection
      (f->pm[1 - d]), 0);
  wait_ticking (f, 50 * MS, wzp_path_manager_get_direct_connection (f->pm[0])
      == NULL && wzp_path_manager_get_direct_connection (f->pm[1]) == NULL,
      15 * WZP_NSEC_PER_SEC);
  /* Already on the relay since the silence: no new change. */
  g_assert_cmpint (last_path (f, 0), ==, WZP_PATH_RELAY);
  g_assert_cmpint (last_path (f, 1), ==, WZP_PATH_RELAY);

  /* The network comes back; the re-race 5 s after the close finds the
   * peer again. */
  _wzp_path_manager_set_blackhole (f->pm[0], FALSE);
  _wzp_path_manager_set_blackhole (f->pm[1], FALSE);
  wait_ticking (f, 5 * MS, both_direct (f), 8 * WZP_NSEC_PER_SEC);
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st);
    g_assert_cmpuint (st.races, ==, 2);
    g_assert_cmpuint (st.restores, ==, 1);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/path/roles", test_roles);
#define ADD(name, func, clocked) \
  g_test_add ("/path/" name, Fixture, GINT_TO_POINTER (clocked), \
      fixture_setup, func, fixture_teardown)
  ADD ("roles-opposite", test_roles_opposite, FALSE);
  ADD ("bad-config", test_bad_config, FALSE);
  ADD ("race-and-media", test_race_and_media, FALSE);
  ADD ("stranger-refused", test_stranger_refused, FALSE);
  ADD ("bad-candidates-first", test_bad_candidates_first, FALSE);
  ADD ("relay-only", test_relay_only, FALSE);
  ADD ("both-symmetric", test_both_symmetric, FALSE);
  ADD ("symmetric-side-dials", test_symmetric_side_dials, FALSE);
  ADD ("direct-only-no-path", test_direct_only_no_path, FALSE);
  ADD ("punch-token", test_punch_token, FALSE);
  ADD ("token-mismatch-never-agrees", test_token_mismatch_never_agrees, FALSE);
  ADD ("failover-and-return-clocked", test_failover_and_return_clocked, TRUE);
  ADD ("rerace-after-death-clocked", test_rerace_after_death_clocked, TRUE);
  return g_test_run ();
}
