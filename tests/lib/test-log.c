/* Tests for the logging categories: WZP_DEBUG-style specs set thresholds
 * by glob, and a handler receives exactly the messages that pass.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_quic
#define WZP_NSEC_PER_SEC_TEST G_GUINT64_CONSTANT (1000000000)

typedef struct
{
  guint count;
  WzpLogLevel last_level;
  char *last_message;
  const char *last_category;
} Captured;

static void
capture (WzpLogCategory * category, WzpLogLevel level, const char *file,
    const char *function, int line, GObject * object, const char *message,
    gpointer user_data)
{
  Captured *c = user_data;

  c->count++;
  c->last_level = level;
  c->last_category = category->name;
  g_free (c->last_message);
  c->last_message = g_strdup (message);
}

static void
test_spec_and_handler (void)
{
  Captured c = { 0 };

  wzp_log_set_handler (capture, &c);

  wzp_log_parse_spec ("wzp*:2");
  WZP_DEBUG ("hidden %d", 1);
  g_assert_cmpuint (c.count, ==, 0);
  WZP_WARNING ("shown %d", 2);
  g_assert_cmpuint (c.count, ==, 1);
  g_assert_cmpstr (c.last_message, ==, "shown 2");
  g_assert_cmpstr (c.last_category, ==, "wzpquic");
  g_assert_cmpint (c.last_level, ==, WZP_LOG_WARNING);

  /* Later entries override earlier ones; names work as levels. */
  wzp_log_parse_spec ("wzp*:1,wzpquic:DEBUG");
  g_assert_cmpint (wzp_cat_signal.threshold, ==, WZP_LOG_ERROR);
  g_assert_cmpint (wzp_cat_quic.threshold, ==, WZP_LOG_DEBUG);
  WZP_DEBUG ("now shown");
  g_assert_cmpuint (c.count, ==, 2);
  WZP_LOG ("still hidden");
  g_assert_cmpuint (c.count, ==, 2);

  /* A bare level applies to every category; junk is ignored. */
  wzp_log_parse_spec ("6,nonsense:xyz,:");
  g_assert_cmpint (wzp_cat_jitter.threshold, ==, WZP_LOG_LOG);

  wzp_log_set_handler (NULL, NULL);
  g_free (c.last_message);
  wzp_log_parse_spec ("2");
}

static void
test_categories_listed (void)
{
  guint n = 0;
  WzpLogCategory **cats = wzp_log_get_categories (&n);

  g_assert_cmpuint (n, >=, 9);
  for (guint i = 0; i < n; i++)
    g_assert_true (g_str_has_prefix (cats[i]->name, "wzp"));
}

/* A warning repeated per packet during a flood is written once per
 * interval, and the next one written says how many were swallowed. */
static void
test_rate_limited (void)
{
  Captured c = { 0 };
  WzpLogLimit limit = WZP_LOG_LIMIT_INIT (10 * WZP_NSEC_PER_SEC_TEST);
  guint64 t = 1000 * WZP_NSEC_PER_SEC_TEST;

  wzp_log_set_handler (capture, &c);
  wzp_log_parse_spec ("wzp*:2");
  WZP_WARNING_LIMITED (NULL, &limit, t, "table full (%u)", 7u);
  g_assert_cmpuint (c.count, ==, 1);
  g_assert_cmpstr (c.last_message, ==, "table full (7)");

  /* 52341 more within the interval: nothing written. */
  for (guint i = 0; i < 52341; i++)
    WZP_WARNING_LIMITED (NULL, &limit, t + i * 1000, "table full (%u)", 7u);
  g_assert_cmpuint (c.count, ==, 1);
  g_assert_cmpuint (limit.suppressed, ==, 52341);

  /* The first after the interval carries the count. */
  WZP_WARNING_LIMITED (NULL, &limit, t + 10 * WZP_NSEC_PER_SEC_TEST,
      "table full (%u)", 8u);
  g_assert_cmpuint (c.count, ==, 2);
  g_assert_cmpstr (c.last_message, ==,
      "table full (8) (\u2026 52,341 more in the last 10 s)");

  /* Quiet for a while, then one: written, with no count. */
  WZP_WARNING_LIMITED (NULL, &limit, t + 100 * WZP_NSEC_PER_SEC_TEST,
      "table full (%u)", 9u);
  g_assert_cmpuint (c.count, ==, 3);
  g_assert_cmpstr (c.last_message, ==, "table full (9)");

  /* Below the category's threshold nothing is counted either. */
  wzp_log_parse_spec ("wzp*:1");
  WZP_WARNING_LIMITED (NULL, &limit, t + 101 * WZP_NSEC_PER_SEC_TEST, "x");
  g_assert_cmpuint (limit.suppressed, ==, 0);
  g_assert_cmpuint (c.count, ==, 3);

  wzp_log_set_handler (NULL, NULL);
  g_free (c.last_message);
  wzp_log_parse_spec ("2");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log/spec-and-handler", test_spec_and_handler);
  g_test_add_func ("/log/categories-listed", test_categories_listed);
  g_test_add_func ("/log/rate-limited", test_rate_limited);
  return g_test_run ();
}
