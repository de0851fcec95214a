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
    "[1.2.3.4]:5", "1.2.3.4:5x", "1.2.3.4:http", "1.2.3.4:+5", ":5",
    "[::1]x:5", "[fe80::1%eth0]:5", NULL
  };

  for (guint i = 0; bad[i]; i++) {
    WzpAddr a;
    g_autoptr (GError) error = NULL;

    g_assert_false (wzp_addr_parse (&a, bad[i], &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  }
}

/* The one HOST:PORT parser (names too), on which wzp_addr_parse() and
 * WzpCall:relay build. */
static void
test_host_port (void)
{
  const struct
  {
    const char *text, *host;
    guint16 port;
  } good[] = {
    {"relay.example.org:4433", "relay.example.org", 4433},
    {"1.2.3.4:5", "1.2.3.4", 5},
    {"[2001:db8::1]:65535", "2001:db8::1", 65535},
    {"localhost:0", "localhost", 0},
  };
  const char *bad[] = { NULL, "", "host", "::1", "[::1]", ":5", "a b:5",
    "host:http", "host:", "host:65536", "host:-1", "[::1]x:5", "ho:st:5",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autofree char *host = NULL;
    guint16 port = 1;
    g_autoptr (GError) error = NULL;

    g_assert_true (wzp_host_port_parse (good[i].text, &host, &port, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (host, ==, good[i].host);
    g_assert_cmpuint (port, ==, good[i].port);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_false (wzp_host_port_parse (bad[i], NULL, NULL, &error));
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
  g_test_add_func ("/address/host-port", test_host_port);
  g_test_add_func ("/address/equal-and-port", test_equal_and_port);
  return g_test_run ();
}
