/* Tests for candidate gathering, the candidate text form and NAT types.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <netinet/in.h>

#include "wzp-candidates.h"
#include "wzp-test-util.h"

static WzpEndpoint *
endpoint_on (GMainContext * ctx, WzpIdentity * id, const char *bind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) addr = wzp_socket_address_parse (bind, &error);
  WzpEndpoint *ep = wzp_endpoint_new (ctx, id, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (wzp_endpoint_bind (ep, addr, &error));
  g_assert_no_error (error);
  return ep;
}

static guint16
bound_port (WzpEndpoint * ep)
{
  g_autoptr (GSocketAddress) local = wzp_endpoint_get_local_address (ep,
      G_SOCKET_FAMILY_IPV4);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

static void
test_nat_type_strings (void)
{
  WzpNatType t = WZP_NAT_TYPE_UNKNOWN;

  for (WzpNatType i = WZP_NAT_TYPE_UNKNOWN; i <= WZP_NAT_TYPE_EDM; i++) {
    g_assert_true (wzp_nat_type_from_string (wzp_nat_type_to_string (i), &t));
    g_assert_cmpint (t, ==, i);
  }
  g_assert_cmpstr (wzp_nat_type_to_string (WZP_NAT_TYPE_EDM), ==, "edm");
  g_assert_true (wzp_nat_type_from_string ("Symmetric", &t));
  g_assert_cmpint (t, ==, WZP_NAT_TYPE_EDM);
  g_assert_true (wzp_nat_type_from_string ("cone", &t));
  g_assert_cmpint (t, ==, WZP_NAT_TYPE_EIM);
  t = WZP_NAT_TYPE_EDM;
  g_assert_false (wzp_nat_type_from_string ("full-ish", &t));
  g_assert_false (wzp_nat_type_from_string (NULL, &t));
  g_assert_cmpint (t, ==, WZP_NAT_TYPE_EDM);
  g_assert_true (G_TYPE_IS_ENUM (WZP_TYPE_NAT_TYPE));
}

static void
test_strv_round_trip (void)
{
  const char *in[] = { "10.0.0.2:4433", "[2001:db8::7]:4433",
    "192.0.2.7:61000", "10.0.0.2:4433", NULL
  };
  const char *bad[] = { "10.0.0.3:1", "example.org:4433", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) c = NULL;
  g_auto (GStrv) out = NULL;
  g_autofree char *text = NULL;

  c = wzp_candidates_new_from_strv (WZP_CANDIDATE_HOST, in, &error);
  g_assert_no_error (error);
  /* The duplicate is dropped. */
  g_assert_cmpuint (wzp_candidates_get_count (c), ==, 3);
  out = wzp_candidates_to_strv (c);
  g_assert_cmpuint (g_strv_length (out), ==, 3);
  g_assert_cmpstr (out[0], ==, "10.0.0.2:4433");
  g_assert_cmpstr (out[1], ==, "[2001:db8::7]:4433");
  g_assert_cmpstr (out[2], ==, "192.0.2.7:61000");

  /* A reflexive address, then the log form. */
  {
    g_autoptr (GSocketAddress) refl =
        wzp_socket_address_parse ("198.51.100.9:5000", NULL);
    g_assert_true (wzp_candidates_add_reflexive (c, refl));
    g_assert_false (wzp_candidates_add_reflexive (c, refl));
    g_assert_cmpint (wzp_candidates_get (c, 3)->kind, ==,
        WZP_CANDIDATE_REFLEXIVE);
  }
  text = wzp_candidates_to_string (c);
  g_assert_nonnull (strstr (text, "reflexive 198.51.100.9:5000"));
  g_assert_nonnull (strstr (text, "host 10.0.0.2:4433"));

  /* All or nothing: one bad entry adds none. */
  g_assert_false (wzp_candidates_add_strv (c, WZP_CANDIDATE_HOST, bad, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "candidate 1"));
  g_assert_cmpuint (wzp_candidates_get_count (c), ==, 4);

  /* Port 0 is no candidate. */
  g_assert_true (wzp_candidates_add_string (c, WZP_CANDIDATE_HOST,
          "10.9.9.9:0", NULL));
  g_assert_cmpuint (wzp_candidates_get_count (c), ==, 4);
}

static void
test_list_is_bounded (void)
{
  g_autoptr (WzpCandidates) c = wzp_candidates_new ();

  for (guint i = 0; i < 100; i++) {
    g_autofree char *a = g_strdup_printf ("10.1.%u.%u:4433", i / 250,
        i % 250 + 1);
    wzp_candidates_add_string (c, WZP_CANDIDATE_HOST, a, NULL);
  }
  g_assert_cmpuint (wzp_candidates_get_count (c), ==, WZP_CANDIDATES_MAX);
}

static void
test_gather_loopback_bound (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) ep = endpoint_on (ctx, id, "127.0.0.1:0");
  g_autoptr (WzpCandidates) none = NULL;
  g_autoptr (WzpCandidates) lo = NULL;
  g_autofree char *want = g_strdup_printf ("127.0.0.1:%u", bound_port (ep));
  g_auto (GStrv) strv = NULL;

  /* Bound to loopback: nothing unless loopback is allowed. */
  none = wzp_candidates_gather (ep, WZP_GATHER_NONE, NULL);
  g_assert_cmpuint (wzp_candidates_get_count (none), ==, 0);
  lo = wzp_candidates_gather (ep, WZP_GATHER_LOOPBACK, NULL);
  g_assert_cmpuint (wzp_candidates_get_count (lo), ==, 1);
  strv = wzp_candidates_to_strv (lo);
  g_assert_cmpstr (strv[0], ==, want);
  g_assert_cmpint (wzp_candidates_get (lo, 0)->kind, ==, WZP_CANDIDATE_HOST);
}

static void
test_gather_any (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (WzpEndpoint) ep = wzp_endpoint_new (ctx, id, NULL, NULL);
  g_autoptr (WzpCandidates) plain = NULL;
  g_autoptr (WzpCandidates) with_lo = NULL;
  g_autoptr (GError) error = NULL;
  guint16 port4;
  gboolean saw_lo = FALSE;

  g_assert_true (wzp_endpoint_bind_any (ep, 0, TRUE, &error));
  g_assert_no_error (error);
  port4 = bound_port (ep);
  plain = wzp_candidates_gather (ep, WZP_GATHER_NONE, &error);
  g_assert_no_error (error);
  with_lo = wzp_candidates_gather (ep, WZP_GATHER_LOOPBACK, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < wzp_candidates_get_count (plain); i++) {
    const WzpCandidate *c = wzp_candidates_get (plain, i);
    char text[WZP_ADDR_STRLEN];
    wzp_addr_to_string (&c->addr, text);
    g_test_message ("host candidate %s", text);
    /* Never loopback, link-local or unspecified; the socket's port. */
    g_assert_false (g_str_has_prefix (text, "127."));
    g_assert_false (g_str_has_prefix (text, "169.254."));
    g_assert_false (g_str_has_prefix (text, "[fe80:"));
    g_assert_false (g_str_has_prefix (text, "[::1]"));
    g_assert_false (g_str_has_prefix (text, "0.0.0.0"));
    if (wzp_addr_family (&c->addr) == AF_INET)
      g_assert_cmpuint (wzp_addr_port (&c->addr), ==, port4);
    g_assert_true (wzp_candidates_contains (with_lo, &c->addr));
  }
  for (guint i = 0; i < wzp_candidates_get_count (with_lo); i++) {
    char text[WZP_ADDR_STRLEN];
    wzp_addr_to_string (&wzp_candidates_get (with_lo, i)->addr, text);
    if (g_str_has_prefix (text, "127.0.0.1:"))
      saw_lo = TRUE;
  }
  g_assert_true (saw_lo);
  g_assert_cmpuint (wzp_candidates_get_count (with_lo), >,
      wzp_candidates_get_count (plain));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/candidates/nat-type-strings", test_nat_type_strings);
  g_test_add_func ("/candidates/strv-round-trip", test_strv_round_trip);
  g_test_add_func ("/candidates/list-is-bounded", test_list_is_bounded);
  g_test_add_func ("/candidates/gather-loopback-bound",
      test_gather_loopback_bound);
  g_test_add_func ("/candidates/gather-any", test_gather_any);
  return g_test_run ();
}
