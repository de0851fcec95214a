/* Tests for address parsing and formatting.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-address.h"

static void
test_round_trip (void)
{
  const char *good[] = { "1.2.3.4:5", "0.0.0.0:0", "255.255.255.255:65535",
    "[::1]:4433", "[2001:db8::42]:1", NULL
  };

  for (guint i = 0; good[i]; i++) {
    WzpAddr a;
    char buf[WZP_ADDR_STRLEN];
    g_autoptr (GError) error = NULL;

    g_assert_true (wzp_addr_parse (&a, good[i], &error));
    g_assert_no_error (error);
    g_assert_cmpstr (wzp_addr_to_string (&a, buf), ==, good[i]);
  }
}

static void
test_rejects (void)
{
  const char *bad[] = { "", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536",
    "1.2.3.4:-1", "1.2.3:5", "::1:5", "[::1]5", "[::1]:", "host:80",
    "[1.2.3.4]:5", "1.2.3.4:5x", NULL
  };

  for (guint i = 0; bad[i]; i++) {
    WzpAddr a;
    g_autoptr (GError) error = NULL;

    g_assert_false (wzp_addr_parse (&a, bad[i], &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_equal_and_port (void)
{
  WzpAddr a, b, c;

  g_assert_true (wzp_addr_parse (&a, "10.0.0.1:100", NULL));
  g_assert_true (wzp_addr_parse (&b, "10.0.0.1:100", NULL));
  g_assert_true (wzp_addr_parse (&c, "[::1]:100", NULL));
  g_assert_true (wzp_addr_equal (&a, &b));
  g_assert_false (wzp_addr_equal (&a, &c));
  wzp_addr_set_port (&b, 101);
  g_assert_cmpuint (wzp_addr_port (&b), ==, 101);
  g_assert_false (wzp_addr_equal (&a, &b));
  {
    g_autoptr (GSocketAddress) g = wzp_addr_to_gsocketaddress (&c);
    g_autofree char *s = wzp_socket_address_to_string (g);
    g_assert_cmpstr (s, ==, "[::1]:100");
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/address/round-trip", test_round_trip);
  g_test_add_func ("/address/rejects", test_rejects);
  g_test_add_func ("/address/equal-and-port", test_equal_and_port);
  return g_test_run ();
}
