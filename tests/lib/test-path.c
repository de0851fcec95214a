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
#include <stdlib.h>
#include <string.h>

#include "wzp-path-private.h"
#include "wzp-test-link.h"
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
  WzpTestLink *link;            /* between the dialer and the acceptor */
  GSocket *silent;
  guint64 next_media;           /* clocked tests: media every 20 ms */
  guint64 first_dup[2];         /* when each side first sent on both */
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
  g_clear_pointer (&f->link, wzp_test_link_free);
  g_clear_object (&f->silent);
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
  WzpPathListener *listener[2];
  /* The dialer reaches the acceptor through a WzpTestLink (f->link) with
   * these parameters, and nothing else crosses: the acceptor answers
   * through the link, and its punches go to a socket that never answers
   * (a punch straight to the dialer would reveal the acceptor's own
   * address, which the dialer would dial past the link). */
  gboolean via_link;
  WzpTestLinkParams link;
  guint spray;
} PairOptions;

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

/* Index of the side that will dial, as the managers will decide it. */
static guint
future_dialer (Fixture * f, const PairOptions * o)
{
  return wzp_path_decide_role (o->nat[0], o->nat[1],
      wzp_identity_get_fingerprint (f->id[0]),
      wzp_identity_get_fingerprint (f->id[1]), NULL) ==
      WZP_PATH_ROLE_DIALER ? 0 : 1;
}

static void
make_pair (Fixture * f, const PairOptions * o)
{
  g_autoptr (WzpCandidates) via = NULL;
  g_autoptr (WzpCandidates) nowhere = NULL;
  g_autofree char *silent_addr = NULL;
  guint d = future_dialer (f, o);

  current = f;
  if (o->via_link) {
    g_autoptr (GSocketAddress) server =
        wzp_endpoint_get_local_address (f->ep[1 - d], G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) link_addr = NULL;

    f->link = wzp_test_link_new (f->ctx, f->clock, server, &o->link);
    link_addr = wzp_test_link_get_address (f->link);
    via = wzp_candidates_new ();
    g_assert_true (wzp_candidates_add_reflexive (via, link_addr));
    f->silent = silent_socket (&silent_addr);
    nowhere = wzp_candidates_new ();
    g_assert_true (wzp_candidates_add_string (nowhere, WZP_CANDIDATE_HOST,
            silent_addr, NULL));
  }
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
    if (via)
      config.peer_candidates = i == d ? via : nowhere;
    config.listener = o->listener[i];
    config.spray_ports = o->spray;
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

/* --- the listener: who may connect, and early connections ------------- */

static void
on_closed_store (WzpConnection * conn, const GError * error, gpointer data)
{
  GError **out = data;

  g_clear_error (out);
  *out = g_error_copy (error);
}

/* Dials @to from @from's endpoint and waits for @state (a refused client
 * is connected for a moment: the server checks its certificate after the
 * client's half of the handshake); returns the connection. */
static WzpConnection *
dial_and_wait (Fixture * f, WzpEndpoint * from, WzpEndpoint * to,
    const char *expected, WzpConnectionState state)
{
  g_autoptr (GSocketAddress) target =
      wzp_endpoint_get_local_address (to, G_SOCKET_FAMILY_IPV4);
  WzpConnection *conn = wzp_endpoint_connect (from, target, expected, NULL);

  g_assert_nonnull (conn);
  wzp_test_wait_until (f->ctx, wzp_connection_get_state (conn) == state,
      WAIT_MS);
  return conn;
}

/* Nobody gets in while no peer is expected; then only the peer, whose
 * connection is held with a bounded number of its first messages; a
 * change of peer closes what was held for the old one. */
static void
test_listener_gate (Fixture * f, gconstpointer data)
{
  g_autoptr (WzpIdentity) mallory_id = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) mallory = make_endpoint (f, mallory_id);
  g_autoptr (WzpPathListener) l = wzp_path_listener_new (f->ep[0]);
  const char *fp0 = wzp_identity_get_fingerprint (f->id[0]);
  const char *fp1 = wzp_identity_get_fingerprint (f->id[1]);
  g_autoptr (GPtrArray) held = NULL;
  g_autoptr (GPtrArray) messages = NULL;
  g_autoptr (GError) closed = NULL;
  WzpConnection *c;
  guint8 big[WZP_PATH_LISTENER_MAX_MESSAGE_SIZE + 1];
  gboolean accept = FALSE;

  g_object_get (f->ep[0], "accept-incoming", &accept, NULL);
  g_assert_true (accept);
  g_assert_null (wzp_path_listener_get_peer (l));

  /* No call yet: even the future peer is refused. */
  c = dial_and_wait (f, f->ep[1], f->ep[0], fp0, WZP_CONNECTION_STATE_CLOSED);
  g_assert_error (wzp_connection_get_close_error (c), WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_REJECTED_BY_PEER);
  g_object_unref (c);
  g_assert_cmpuint (wzp_path_listener_get_refused (l), ==, 1);

  /* A peer is expected: a stranger is still refused... */
  wzp_path_listener_set_peer (l, fp1);
  g_assert_cmpstr (wzp_path_listener_get_peer (l), ==, fp1);
  c = dial_and_wait (f, mallory, f->ep[0], fp0, WZP_CONNECTION_STATE_CLOSED);
  g_assert_error (wzp_connection_get_close_error (c), WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_REJECTED_BY_PEER);
  g_object_unref (c);
  g_assert_cmpuint (wzp_path_listener_get_refused (l), ==, 2);

  /* ...the peer gets in and is held, with its first messages (at most
   * WZP_PATH_LISTENER_MAX_MESSAGES, none larger than the limit). */
  c = dial_and_wait (f, f->ep[1], f->ep[0], fp0,
      WZP_CONNECTION_STATE_CONNECTED);
  g_signal_connect (c, "closed", G_CALLBACK (on_closed_store), &closed);
  memset (big, 'x', sizeof big);
  g_assert_true (wzp_connection_send_message (c, big, sizeof big, NULL));
  for (guint i = 0; i < 12; i++) {
    guint8 m[WZP_PATH_MSG_LEN];
    _wzp_path_wire_msg (m, WZP_PATH_MSG_OK, i, f->token);
    g_assert_true (wzp_connection_send_message (c, m, sizeof m, NULL));
  }
  wzp_test_run_for (f->ctx, 200);
  held = wzp_path_listener_get_held (l);
  g_assert_cmpuint (held->len, ==, 1);
  g_assert_cmpstr (wzp_connection_get_peer_fingerprint (held->pdata[0]), ==,
      fp1);

  /* The peer changes: what was held for the old one is closed. */
  wzp_path_listener_set_peer (l, wzp_identity_get_fingerprint (mallory_id));
  wzp_test_wait_until (f->ctx, closed != NULL, WAIT_MS);
  g_assert_error (closed, WZP_CONNECTION_ERROR,
      WZP_CONNECTION_ERROR_PEER_CLOSED);
  g_assert_false (wzp_path_listener_take (l, held->pdata[0], &messages));
  g_assert_null (messages);
  g_object_unref (c);

  /* Held again, and taken: the messages come with it. */
  wzp_path_listener_set_peer (l, fp1);
  c = dial_and_wait (f, f->ep[1], f->ep[0], fp0,
      WZP_CONNECTION_STATE_CONNECTED);
  for (guint i = 0; i < 12; i++) {
    guint8 m[WZP_PATH_MSG_LEN];
    _wzp_path_wire_msg (m, WZP_PATH_MSG_OK, i, f->token);
    g_assert_true (wzp_connection_send_message (c, m, sizeof m, NULL));
  }
  g_assert_true (wzp_connection_send_message (c, big, sizeof big, NULL));
  wzp_test_run_for (f->ctx, 200);
  g_clear_pointer (&held, g_ptr_array_unref);
  held = wzp_path_listener_get_held (l);
  g_assert_cmpuint (held->len, ==, 1);
  g_assert_true (wzp_path_listener_take (l, held->pdata[0], &messages));
  g_assert_cmpuint (messages->len, ==, WZP_PATH_LISTENER_MAX_MESSAGES);
  for (guint i = 0; i < messages->len; i++) {
    guint8 type;
    guint32 epoch;
    gsize len;
    const guint8 *m = g_bytes_get_data (messages->pdata[i], &len);
    g_assert_true (_wzp_path_wire_parse_msg (m, len, f->token, &type, &epoch));
    g_assert_cmpuint (epoch, ==, i);
  }
  g_assert_false (wzp_path_listener_take (l, held->pdata[0], &messages));
  g_clear_pointer (&held, g_ptr_array_unref);
  held = wzp_path_listener_get_held (l);
  g_assert_cmpuint (held->len, ==, 0);
  wzp_connection_close (c, 0, "done");
  g_object_unref (c);

  /* When the listener goes, the endpoint's own policy is back. */
  g_clear_object (&l);
  g_object_get (f->ep[0], "accept-incoming", &accept, NULL);
  g_assert_false (accept);
}

/* The dialer's call-setup came first: its connection completes, and its
 * path-ok arrives, before the acceptor's manager exists.  The listener
 * holds both; the acceptor adopts them when it starts, and both agree at
 * once, on that one connection. */
static void
test_early_connection_adopted (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  guint d = future_dialer (f, &o), a = 1 - d;
  g_autoptr (WzpPathListener) l = wzp_path_listener_new (f->ep[a]);
  g_autoptr (GPtrArray) held = NULL;
  WzpEndpointStats es;
  WzpPathStats st;

  wzp_path_listener_set_peer (l, wzp_identity_get_fingerprint (f->id[d]));
  o.listener[a] = l;
  make_pair (f, &o);
  g_assert_cmpint (wzp_path_manager_get_role (f->pm[d]), ==,
      WZP_PATH_ROLE_DIALER);
  g_assert_true (wzp_path_manager_start (f->pm[d], NULL));
  wzp_test_wait_until (f->ctx, wzp_path_manager_get_direct_connection
      (f->pm[d]) != NULL, WAIT_MS);
  /* Its path-ok crosses and is kept. */
  wzp_test_run_for (f->ctx, 50);
  held = wzp_path_listener_get_held (l);
  g_assert_cmpuint (held->len, ==, 1);
  g_assert_cmpint (last_path (f, d), ==, WZP_PATH_RELAY);
  g_assert_cmpint (last_path (f, a), ==, WZP_PATH_NONE);

  g_assert_true (wzp_path_manager_start (f->pm[a], NULL));
  /* The path-ok was already there: the acceptor agrees in start(). */
  g_assert_cmpint (last_path (f, a), ==, WZP_PATH_DIRECT);
  wzp_test_wait_until (f->ctx, both_direct (f), WAIT_MS);
  g_assert_true (wzp_path_manager_get_direct_connection (f->pm[a]) ==
      held->pdata[0]);
  g_clear_pointer (&held, g_ptr_array_unref);
  held = wzp_path_listener_get_held (l);
  g_assert_cmpuint (held->len, ==, 0);
  wzp_endpoint_get_stats (f->ep[a], &es);
  g_assert_cmpuint (es.connections_accepted, ==, 1);
  wzp_path_manager_get_stats (f->pm[a], &st);
  g_assert_cmpuint (st.punches_received, ==, 0);
  g_assert_cmpuint (f->log[a].race_ok, ==, 1);

  /* Media both ways on it. */
  wzp_path_manager_send (f->pm[0], (guint8 *) "early", 5);
  wzp_path_manager_send (f->pm[1], (guint8 *) "early", 5);
  wzp_test_wait_until (f->ctx, f->log[0].media->len == 1
      && f->log[1].media->len == 1, WAIT_MS);
}

/* --- on the test clock ------------------------------------------------ */

/* With a test clock, time moves only when we move it: @step per round,
 * letting loopback packets cross in between.  With @media, both sides
 * send a media packet every 20 ms of test time, and the moment each one
 * first sends on both paths is noted. */
static void
tick (Fixture * f, guint64 step, gboolean media)
{
  guint64 t;

  wzp_test_clock_advance (WZP_TEST_CLOCK (f->clock), step);
  t = wzp_clock_get_time (f->clock);
  if (media && t >= f->next_media) {
    guint8 pkt[100];
    memset (pkt, 0x5a, sizeof pkt);
    for (guint i = 0; i < 2; i++) {
      if (f->pm[i] == NULL)
        continue;
      wzp_path_manager_send (f->pm[i], pkt, sizeof pkt);
      if (f->first_dup[i] == 0 && wzp_path_manager_get_path (f->pm[i]) ==
          WZP_PATH_DIRECT && wzp_path_manager_should_duplicate (f->pm[i]))
        f->first_dup[i] = t;
    }
    f->next_media = t + 20 * MS;
  }
  for (guint i = 0; i < 3; i++)
    wzp_test_iterate (f->ctx, 1);
}

#define tick_until(f, step, media, cond, max_ns) G_STMT_START {           \
  guint64 _end = wzp_clock_get_time ((f)->clock) + (max_ns);              \
  while (!(cond)) {                                                     \
    if (wzp_clock_get_time ((f)->clock) > _end)                         \
      g_error ("%s:%d: not within %" G_GUINT64_FORMAT " ms of test "    \
          "time: %s", __FILE__, __LINE__, (guint64) (max_ns) / MS,      \
          #cond);                                                       \
    tick ((f), (step), (media));                                        \
  }                                                                     \
} G_STMT_END

static void
tick_for (Fixture * f, guint64 step, guint64 total, gboolean media)
{
  for (guint64 t = 0; t < total; t += step)
    tick (f, step, media);
}

static const Change *
last_change (Fixture * f, guint i)
{
  GArray *c = f->log[i].changes;

  return &g_array_index (c, Change, c->len - 1);
}

/* The dialer's first Initial is lost (the acceptor's endpoint does not
 * accept yet, as a NAT that the acceptor's punch has not opened drops
 * it).  The acceptor's first punch makes the dialer dial again at once:
 * direct long before QUIC would have resent the Initial (~300 ms). */
static void
test_redial_on_punch_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = { 0 };
  guint d = future_dialer (f, &o);
  guint64 t0, t1;
  WzpPathStats st;
  WzpEndpointStats es;

  make_pair (f, &o);
  g_assert_true (wzp_path_manager_start (f->pm[d], NULL));
  t0 = wzp_clock_get_time (f->clock);
  tick_for (f, 1 * MS, 100 * MS, FALSE);
  wzp_endpoint_get_stats (f->ep[1 - d], &es);
  g_assert_cmpuint (es.dropped_unknown, >=, 1);
  g_assert_cmpuint (es.connections_accepted, ==, 0);

  t1 = wzp_clock_get_time (f->clock);
  g_assert_true (wzp_path_manager_start (f->pm[1 - d], NULL));
  tick_until (f, 1 * MS, FALSE, both_direct (f), 3 * WZP_NSEC_PER_SEC);
  g_test_message ("direct %" G_GUINT64_FORMAT " ms after the acceptor "
      "started (%" G_GUINT64_FORMAT " ms after the dialer)",
      (wzp_clock_get_time (f->clock) - t1) / MS,
      (wzp_clock_get_time (f->clock) - t0) / MS);
  g_assert_cmpuint (wzp_clock_get_time (f->clock) - t1, <=, 50 * MS);
  wzp_path_manager_get_stats (f->pm[d], &st);
  g_assert_cmpuint (st.redials, ==, 1);
  g_assert_cmpuint (st.races, ==, 1);
}

/* Cut the link under media: within the doubt time (~100 ms of
 * unacknowledged datagrams) both sides send on both paths; at the
 * failover threshold (300 ms) both are on the relay; restored, both come
 * back within a probe interval and a round trip. */
static void
test_failover_and_return_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = {.via_link = TRUE };
  WzpPathStats st;
  guint64 t0;
  guint d;

  make_pair (f, &o);
  d = dialer_index (f);
  start_pair (f);
  tick_until (f, 1 * MS, TRUE, both_direct (f), 3 * WZP_NSEC_PER_SEC);
  tick_for (f, 5 * MS, 600 * MS, TRUE);
  g_assert_true (both_direct (f));
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st);
    g_assert_cmpuint (st.doubts, ==, 0);
    f->first_dup[i] = 0;
  }

  t0 = wzp_clock_get_time (f->clock);
  wzp_test_link_set_loss (f->link, 1.0);
  tick_until (f, 5 * MS, TRUE, last_path (f, 0) == WZP_PATH_RELAY
      && last_path (f, 1) == WZP_PATH_RELAY, 3 * WZP_NSEC_PER_SEC);
  for (guint i = 0; i < 2; i++) {
    const Change *last = last_change (f, i);
    guint64 after = last->at - t0;
    guint64 dup = f->first_dup[i] - t0;

    g_test_message ("side %u: both paths %" G_GUINT64_FORMAT " ms after "
        "the cut, relay after %" G_GUINT64_FORMAT " ms: %s", i, dup / MS,
        after / MS, last->reason);
    /* doubt: 100 ms after the first unacknowledged datagram (media every
     * 20 ms), one 5 ms tick late at most */
    g_assert_cmpuint (f->first_dup[i], >, t0);
    g_assert_cmpuint (dup, >=, 100 * MS);
    g_assert_cmpuint (dup, <=, 130 * MS);
    /* failover: 300 ms after it */
    g_assert_cmpuint (after, >=, 300 * MS);
    g_assert_cmpuint (after, <=, 330 * MS);
    g_assert_true (g_str_has_prefix (last->reason, "direct path silent for"));
  }
  /* Media now goes by the relay; the QUIC connection lives on. */
  tick_for (f, 10 * MS, 300 * MS, TRUE);
  g_assert_false (wzp_path_manager_send (f->pm[d], (guint8 *) "x", 1));
  for (guint i = 0; i < 2; i++) {
    WzpConnection *c = wzp_path_manager_get_direct_connection (f->pm[i]);
    g_assert_nonnull (c);
    g_assert_cmpint (wzp_connection_get_state (c), ==,
        WZP_CONNECTION_STATE_CONNECTED);
  }

  /* The path answers again: both agree and switch back. */
  t0 = wzp_clock_get_time (f->clock);
  wzp_test_link_set_loss (f->link, 0);
  tick_until (f, 5 * MS, TRUE, both_direct (f), 2 * WZP_NSEC_PER_SEC);
  g_assert_cmpstr (last_reason (f, 0), ==, "direct path restored");
  g_assert_cmpstr (last_reason (f, 1), ==, "direct path restored");
  /* within a probe interval and a round trip */
  g_assert_cmpuint (wzp_clock_get_time (f->clock) - t0, <=, 300 * MS);
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st);
    g_assert_cmpuint (st.failovers, ==, 1);
    g_assert_cmpuint (st.restores, ==, 1);
    g_assert_cmpuint (st.races, ==, 1);
    g_assert_cmpuint (st.doubts, ==, 1);
    g_assert_cmpuint (f->log[i].changes->len, ==, 4);
  }

  /* And media flows direct again. */
  tick_for (f, 10 * MS, 400 * MS, FALSE);
  g_ptr_array_set_size (f->log[1 - d].media, 0);
  g_assert_true (wzp_path_manager_send (f->pm[d], (guint8 *) "back", 4));
  tick_until (f, 1 * MS, FALSE, f->log[1 - d].media->len == 1,
      WZP_NSEC_PER_SEC);
}

/* A minute of media over a direct path that loses 10 % of packets each
 * way and delays them by 10-50 ms (reordering too): it may be in doubt
 * now and then (media on both paths for a moment), but it never fails
 * over. */
static void
test_loss_no_failover_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = {.via_link = TRUE,
    .link = {.loss = 0.10,.delay_ns = 10 * MS,.jitter_ns = 40 * MS,
        .seed = 1414}
  };
  WzpPathStats st[2];
  WzpTestLinkStats ls;

  if (g_getenv ("WZP_TEST_SEED"))
    o.link.seed = atoi (g_getenv ("WZP_TEST_SEED"));
  make_pair (f, &o);
  start_pair (f);
  tick_until (f, 1 * MS, TRUE, both_direct (f), 5 * WZP_NSEC_PER_SEC);
  tick_for (f, 5 * MS, 60 * WZP_NSEC_PER_SEC, TRUE);
  wzp_test_link_get_stats (f->link, &ls);
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st[i]);
    g_test_message ("side %u: %" G_GUINT64_FORMAT " media sent, %"
        G_GUINT64_FORMAT " received, %" G_GUINT64_FORMAT " doubts, %"
        G_GUINT64_FORMAT " failovers, srtt %" G_GUINT64_FORMAT " ms", i,
        st[i].media_sent, st[i].media_received, st[i].doubts,
        st[i].failovers, st[i].direct.rtt_ns / MS);
  }
  g_test_message ("link: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT
      " dropped, %" G_GUINT64_FORMAT " reordered", ls.received, ls.dropped,
      ls.reordered);
  g_assert_cmpuint (ls.dropped, >, ls.received / 20);
  for (guint i = 0; i < 2; i++) {
    g_assert_cmpuint (st[i].failovers, ==, 0);
    g_assert_cmpint (st[i].path, ==, WZP_PATH_DIRECT);
    g_assert_cmpuint (st[i].media_sent, >=, 2900);
    g_assert_cmpuint (st[1 - i].media_received, >=, st[i].media_sent * 8 / 10);
  }
}

/* The direct connection dies (idle timeout: the path is gone for good):
 * both sides fall back, wait the re-race interval, and race again. */
static void
test_rerace_after_death_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = {.via_link = TRUE };
  WzpPathStats st;

  make_pair (f, &o);
  start_pair (f);
  tick_until (f, 1 * MS, FALSE, both_direct (f), 3 * WZP_NSEC_PER_SEC);

  /* The path goes away: both connections idle out (10 s). */
  wzp_test_link_set_loss (f->link, 1.0);
  tick_until (f, 50 * MS, FALSE,
      wzp_path_manager_get_direct_connection (f->pm[0]) == NULL &&
      wzp_path_manager_get_direct_connection (f->pm[1]) == NULL,
      15 * WZP_NSEC_PER_SEC);
  /* Already on the relay since the silence: no new change. */
  g_assert_cmpint (last_path (f, 0), ==, WZP_PATH_RELAY);
  g_assert_cmpint (last_path (f, 1), ==, WZP_PATH_RELAY);

  /* The network comes back; the re-race 5 s after the close finds the
   * peer again. */
  wzp_test_link_set_loss (f->link, 0);
  tick_until (f, 5 * MS, FALSE, both_direct (f), 8 * WZP_NSEC_PER_SEC);
  for (guint i = 0; i < 2; i++) {
    wzp_path_manager_get_stats (f->pm[i], &st);
    g_assert_cmpuint (st.races, ==, 2);
    g_assert_cmpuint (st.restores, ==, 1);
  }
}

/* The peer's NAT gives it a new mapping mid-call (the link talks to the
 * acceptor from a new port; nothing on either host changes): the
 * acceptor's QUIC follows the dialer to its new address (path
 * validation), and the call stays on the same connection. */
static void
test_rebind_migrates_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = {.via_link = TRUE };
  WzpPathStats st[2];
  WzpEndpointStats es;
  guint d, a;

  make_pair (f, &o);
  d = dialer_index (f);
  a = 1 - d;
  start_pair (f);
  tick_until (f, 1 * MS, TRUE, both_direct (f), 3 * WZP_NSEC_PER_SEC);
  tick_for (f, 5 * MS, 300 * MS, TRUE);

  wzp_test_link_rebind (f->link);
  tick_until (f, 5 * MS, TRUE, (wzp_path_manager_get_stats (f->pm[a], &st[a]),
          st[a].migrations == 1), 2 * WZP_NSEC_PER_SEC);
  tick_for (f, 5 * MS, 500 * MS, TRUE);
  g_assert_true (both_direct (f));
  for (guint i = 0; i < 2; i++)
    wzp_path_manager_get_stats (f->pm[i], &st[i]);
  g_test_message ("acceptor: %" G_GUINT64_FORMAT " doubts, %" G_GUINT64_FORMAT
      " failovers; dialer: %" G_GUINT64_FORMAT " doubts", st[a].doubts,
      st[a].failovers, st[d].doubts);
  /* No failover, no new connection. */
  for (guint i = 0; i < 2; i++) {
    g_assert_cmpuint (st[i].failovers, ==, 0);
    g_assert_cmpuint (st[i].races, ==, 1);
  }
  g_assert_cmpuint (st[d].migrations, ==, 0);
  wzp_endpoint_get_stats (f->ep[a], &es);
  g_assert_cmpuint (es.connections_accepted, ==, 1);
}

/* The acceptor moves (it is now behind another link) and tells the
 * dialer through signaling: the dialer races to the new address while
 * media is on the relay, replaces the old connection and agrees again.
 * The old address is not dialed again (it is where the old connection
 * went). */
static void
test_peer_moves_clocked (Fixture * f, gconstpointer data)
{
  PairOptions o = {.via_link = TRUE };
  g_autoptr (GSocketAddress) server = NULL;
  g_autoptr (GSocketAddress) link2_addr = NULL;
  g_autoptr (WzpCandidates) moved = wzp_candidates_new ();
  WzpTestLink *link2;
  WzpTestLinkParams lp = { 0 };
  WzpPathStats st;
  guint64 t0;
  guint d, a;
  gboolean saw_relay = FALSE;

  make_pair (f, &o);
  d = dialer_index (f);
  a = 1 - d;
  start_pair (f);
  tick_until (f, 1 * MS, TRUE, both_direct (f), 3 * WZP_NSEC_PER_SEC);
  tick_for (f, 5 * MS, 300 * MS, TRUE);

  server = wzp_endpoint_get_local_address (f->ep[a], G_SOCKET_FAMILY_IPV4);
  link2 = wzp_test_link_new (f->ctx, f->clock, server, &lp);
  link2_addr = wzp_test_link_get_address (link2);
  g_assert_true (wzp_candidates_add_reflexive (moved, link2_addr));
  /* The old way is gone; the signaling tells the dialer the new one. */
  wzp_test_link_set_loss (f->link, 1.0);
  t0 = wzp_clock_get_time (f->clock);
  wzp_path_manager_update_peer (f->pm[d], moved, WZP_NAT_TYPE_EIM);
  tick_until (f, 5 * MS, TRUE, (saw_relay |= last_path (f, d) ==
          WZP_PATH_RELAY, saw_relay && both_direct (f)), 3 * WZP_NSEC_PER_SEC);
  g_test_message ("direct again %" G_GUINT64_FORMAT " ms after the update",
      (wzp_clock_get_time (f->clock) - t0) / MS);
  g_assert_cmpuint (wzp_clock_get_time (f->clock) - t0, <=, 500 * MS);
  g_assert_cmpstr (last_reason (f, d), ==, "direct path restored");
  {
    g_autoptr (GSocketAddress) r = wzp_connection_get_remote_address
        (wzp_path_manager_get_direct_connection (f->pm[d]));
    g_autofree char *rs = wzp_socket_address_to_string (r);
    g_autofree char *ls = wzp_socket_address_to_string (link2_addr);
    g_assert_cmpstr (rs, ==, ls);
  }
  wzp_path_manager_get_stats (f->pm[d], &st);
  g_assert_cmpuint (st.network_changes, ==, 1);
  g_assert_cmpuint (st.races, ==, 2);
  /* Media flows on the new connection. */
  tick_for (f, 5 * MS, 300 * MS, FALSE);
  g_ptr_array_set_size (f->log[a].media, 0);
  g_assert_true (wzp_path_manager_send (f->pm[d], (guint8 *) "moved", 5));
  tick_until (f, 1 * MS, FALSE, f->log[a].media->len == 1, WZP_NSEC_PER_SEC);
  wzp_test_link_free (link2);
}

/* The symmetric-NAT moonshot sprays only as the acceptor of a peer whose
 * NAT is endpoint-dependent, only at its reflexive address, each port
 * once per race.  (Nobody can connect here: the dialer's candidate leads
 * nowhere, so the race runs its whole window.) */
static void
spray_case (Fixture * f, WzpNatType dialer_nat, guint64 want_acceptor)
{
  PairOptions o = {.nat = {WZP_NAT_TYPE_EIM, dialer_nat},.spray = 8,
  .race_timeout_ns = 400 * MS
  };
  g_autofree char *silent_addr = NULL;
  g_autoptr (GSocket) silent = silent_socket (&silent_addr);
  const char *nowhere[] = { silent_addr, NULL };
  WzpPathStats st[2];
  guint a, d;

  /* Both sides' candidates lead to a socket that never answers: the
   * acceptor's as a reflexive one (what it sprays), the dialer's as a
   * host one. */
  o.peer_cands[0] = wzp_candidates_new_from_strv (WZP_CANDIDATE_REFLEXIVE,
      nowhere, NULL);
  o.peer_cands[1] = wzp_candidates_new_from_strv (WZP_CANDIDATE_HOST,
      nowhere, NULL);
  make_pair (f, &o);
  d = dialer_index (f);
  a = 1 - d;
  /* With a symmetric dialer, index 0 accepts whatever the fingerprints. */
  if (dialer_nat == WZP_NAT_TYPE_EDM)
    g_assert_cmpuint (a, ==, 0);
  start_pair (f);
  wzp_test_wait_until (f->ctx, f->log[0].race_failed == 1 &&
      f->log[1].race_failed == 1, WAIT_MS);
  for (guint i = 0; i < 2; i++)
    wzp_path_manager_get_stats (f->pm[i], &st[i]);
  g_assert_cmpuint (st[a].sprayed, ==, want_acceptor);
  g_assert_cmpuint (st[d].sprayed, ==, 0);
  for (guint i = 0; i < 2; i++)
    wzp_candidates_unref (o.peer_cands[i]);
}

static void
test_spray_only_for_symmetric_peer (Fixture * f, gconstpointer data)
{
  spray_case (f, WZP_NAT_TYPE_EDM, 8);
}

/* Without a symmetric peer, the flag changes nothing. */
static void
test_spray_not_for_cone_peer (Fixture * f, gconstpointer data)
{
  spray_case (f, WZP_NAT_TYPE_EIM, 0);
}

/* --- liveness verdicts (pure) ----------------------------------------- */

static void
test_liveness_verdicts (void)
{
  WzpPathLiveness l;
  guint64 next;

  _wzp_path_liveness_init (&l, 100 * MS, 300 * MS);
  _wzp_path_liveness_reset (&l, 1000 * MS);
  /* Nothing sent: nothing to wait for. */
  g_assert_cmpint (_wzp_path_liveness_check (&l, 5000 * MS, &next), ==,
      WZP_PATH_LIVE);
  g_assert_cmpuint (next, ==, G_MAXUINT64);

  /* A short path: the doubt and failover thresholds rule. */
  _wzp_path_liveness_set_rtt (&l, 2 * MS, 1 * MS);
  _wzp_path_liveness_sent (&l, 1000 * MS, 0);
  _wzp_path_liveness_sent (&l, 1020 * MS, 0);
  g_assert_cmpuint (l.unacked_since, ==, 1000 * MS);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1099 * MS, &next), ==,
      WZP_PATH_LIVE);
  g_assert_cmpuint (next, ==, 1100 * MS);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1100 * MS, &next), ==,
      WZP_PATH_DOUBT);
  g_assert_cmpuint (next, ==, 1300 * MS);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1300 * MS, &next), ==,
      WZP_PATH_SILENT);
  /* An ACK (of anything) clears it; the next datagram starts a new wait. */
  _wzp_path_liveness_acked (&l, 1310 * MS);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1320 * MS, &next), ==,
      WZP_PATH_LIVE);
  _wzp_path_liveness_sent (&l, 1320 * MS, 1310 * MS);
  g_assert_cmpuint (l.unacked_since, ==, 1320 * MS);
  /* An ACK time we already saw changes nothing. */
  _wzp_path_liveness_acked (&l, 1310 * MS);
  g_assert_cmpuint (l.unacked_since, ==, 1320 * MS);

  /* A long, jittery path: srtt + 4 rttvar + the peer's ACK delay, and
   * two RTTs more before failover. */
  _wzp_path_liveness_set_rtt (&l, 160 * MS, 20 * MS);
  g_assert_cmpuint (_wzp_path_liveness_doubt_after (&l), ==,
      (160 + 80 + 25) * MS);
  g_assert_cmpuint (_wzp_path_liveness_silent_after (&l), ==, (265 + 320) * MS);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1320 * MS + 264 * MS,
          &next), ==, WZP_PATH_LIVE);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1320 * MS + 265 * MS,
          &next), ==, WZP_PATH_DOUBT);
  g_assert_cmpint (_wzp_path_liveness_check (&l, 1320 * MS + 585 * MS,
          &next), ==, WZP_PATH_SILENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/path/roles", test_roles);
  g_test_add_func ("/path/liveness-verdicts", test_liveness_verdicts);
#define ADD(name, func, clocked) \
  g_test_add ("/path/" name, Fixture, GINT_TO_POINTER (clocked), \
      fixture_setup, func, fixture_teardown)
  ADD ("roles-opposite", test_roles_opposite, FALSE);
  ADD ("bad-config", test_bad_config, FALSE);
  ADD ("race-and-media", test_race_and_media, FALSE);
  ADD ("stranger-refused", test_stranger_refused, FALSE);
  ADD ("listener-gate", test_listener_gate, FALSE);
  ADD ("early-connection-adopted", test_early_connection_adopted, FALSE);
  ADD ("bad-candidates-first", test_bad_candidates_first, FALSE);
  ADD ("relay-only", test_relay_only, FALSE);
  ADD ("both-symmetric", test_both_symmetric, FALSE);
  ADD ("symmetric-side-dials", test_symmetric_side_dials, FALSE);
  ADD ("direct-only-no-path", test_direct_only_no_path, FALSE);
  ADD ("punch-token", test_punch_token, FALSE);
  ADD ("token-mismatch-never-agrees", test_token_mismatch_never_agrees, FALSE);
  ADD ("redial-on-punch-clocked", test_redial_on_punch_clocked, TRUE);
  ADD ("failover-and-return-clocked", test_failover_and_return_clocked, TRUE);
  ADD ("loss-no-failover-clocked", test_loss_no_failover_clocked, TRUE);
  ADD ("rerace-after-death-clocked", test_rerace_after_death_clocked, TRUE);
  ADD ("rebind-migrates-clocked", test_rebind_migrates_clocked, TRUE);
  ADD ("peer-moves-clocked", test_peer_moves_clocked, TRUE);
  ADD ("spray-only-for-symmetric-peer", test_spray_only_for_symmetric_peer,
      FALSE);
  ADD ("spray-not-for-cone-peer", test_spray_not_for_cone_peer, FALSE);
  return g_test_run ();
}
