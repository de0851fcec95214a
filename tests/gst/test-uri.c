/* test-uri.c — the wzp:// URI handler of wzpsrc and wzpsink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>
#include <gst/check/gstcheck.h>

static const gchar *elements[] = { "wzpsrc", "wzpsink" };

#define FP "0123:4567:89ab:cdef:0123:4567:89ab:cdef"

static gchar *
get_string (GstElement * e, const gchar * prop)
{
  gchar *v = NULL;

  g_object_get (e, prop, &v, NULL);
  return v;
}

static void
assert_string (GstElement * e, const gchar * prop, const gchar * expected)
{
  gchar *v = get_string (e, prop);

  fail_unless (g_strcmp0 (v, expected) == 0, "%s: \"%s\" != \"%s\"", prop,
      v, expected);
  g_free (v);
}

static void
assert_same_properties (GstElement * a, GstElement * b)
{
  static const gchar *props[] = { "relay", "relay-fingerprint", "identity",
    "peer", "session", "room", NULL
  };
  guint i;
  gint ea, eb;

  for (i = 0; props[i]; i++) {
    gchar *va = get_string (a, props[i]);

    assert_string (b, props[i], va);
    g_free (va);
  }
  g_object_get (a, "answer", &ea, NULL);
  g_object_get (b, "answer", &eb, NULL);
  fail_unless_equals_int (ea, eb);
  g_object_get (a, "path-policy", &ea, NULL);
  g_object_get (b, "path-policy", &eb, NULL);
  fail_unless_equals_int (ea, eb);
}

GST_START_TEST (test_uri_to_properties)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GError *error = NULL;
  gint answer, policy;

  fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://relay.example.org:5000?peer=" FP
          "&identity=/tmp/my%20id.key&answer=ask&path-policy=relay-only"
          "&session=s1&relay-fingerprint=abcd&latency=80", &error));
  g_assert_no_error (error);
  assert_string (e, "relay", "relay.example.org:5000");
  assert_string (e, "peer", FP);
  assert_string (e, "identity", "/tmp/my id.key");
  assert_string (e, "session", "s1");
  assert_string (e, "relay-fingerprint", "abcd");
  assert_string (e, "room", NULL);
  g_object_get (e, "answer", &answer, "path-policy", &policy, NULL);
  fail_unless_equals_int (answer, 2);
  fail_unless_equals_int (policy, 2);
  if (g_str_equal (elements[__i__], "wzpsrc")) {
    guint latency;

    g_object_get (e, "latency", &latency, NULL);
    fail_unless_equals_int (latency, 80);
  }
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_uri_round_trip)
{
  static const gchar *uris[] = {
    "wzp://relay.example.org:5000?peer=" FP "&identity=/tmp/my%20id.key"
        "&answer=ask&path-policy=direct-only&latency=80&max-latency=900",
    "wzp://127.0.0.1:4433?identity=bob.key&room=lobby&session=x",
    "wzp://[::1]:4433?identity=a.key",
    "wzp://h:1?identity=a%26b%3Dc.key&wait-for-call=false",
  };
  guint u;

  for (u = 0; u < G_N_ELEMENTS (uris); u++) {
    GstElement *a = gst_element_factory_make (elements[__i__], NULL);
    GstElement *b = gst_element_factory_make (elements[__i__], NULL);
    gchar *uri_a, *uri_b;

    fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (a), uris[u],
            NULL), "could not set %s", uris[u]);
    uri_a = gst_uri_handler_get_uri (GST_URI_HANDLER (a));
    fail_unless (uri_a != NULL);
    fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (b), uri_a, NULL),
        "could not set back %s", uri_a);
    assert_same_properties (a, b);
    uri_b = gst_uri_handler_get_uri (GST_URI_HANDLER (b));
    fail_unless_equals_string (uri_a, uri_b);
    GST_INFO ("%s -> %s", uris[u], uri_a);
    g_free (uri_a);
    g_free (uri_b);
    gst_object_unref (a);
    gst_object_unref (b);
  }
}

GST_END_TEST;

GST_START_TEST (test_uri_details)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  gchar *uri;

  /* IPv6 and the default port */
  fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://[2001:db8::1]:7000?identity=a.key", NULL));
  assert_string (e, "relay", "[2001:db8::1]:7000");
  fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://relay.example.org?identity=a.key", NULL));
  assert_string (e, "relay", "relay.example.org:4433");

  /* Setting a URI resets what it does not mention. */
  g_object_set (e, "peer", FP, NULL);
  fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://h:1?identity=a.key", NULL));
  assert_string (e, "peer", NULL);

  /* the uri property is the same thing */
  g_object_set (e, "uri", "wzp://h:2?identity=b.key&room=r", NULL);
  assert_string (e, "relay", "h:2");
  assert_string (e, "room", "r");
  uri = get_string (e, "uri");
  fail_unless (g_str_has_prefix (uri, "wzp://h:2"), "%s", uri);
  g_free (uri);

  /* no relay, no URI */
  g_object_set (e, "relay", NULL, NULL);
  assert_string (e, "uri", NULL);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_uri_sink_ignores_src_keys)
{
  GstElement *e = gst_element_factory_make ("wzpsink", NULL);
  gchar *uri;

  fail_unless (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://h:1?identity=a.key&latency=100&max-latency=300", NULL));
  uri = gst_uri_handler_get_uri (GST_URI_HANDLER (e));
  fail_unless (strstr (uri, "latency") == NULL, "%s", uri);
  g_free (uri);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_bad_uris)
{
  static const struct
  {
    const gchar *uri;
    gint code;
  } bad[] = {
    {"http://h:1?identity=a", GST_URI_ERROR_UNSUPPORTED_PROTOCOL},
    {"wzp://", GST_URI_ERROR_BAD_URI},
    {"wzp://?peer=x", GST_URI_ERROR_BAD_URI},
    {"wzp://h:1?bogus=1", GST_URI_ERROR_BAD_URI},
    {"wzp://h:1?answer=maybe", GST_URI_ERROR_BAD_URI},
    {"wzp://h:1?path-policy=teleport", GST_URI_ERROR_BAD_URI},
    {"wzp://h:1/some/path?identity=a", GST_URI_ERROR_BAD_URI},
    {"wzp://h:1?peer", GST_URI_ERROR_BAD_URI},
  };
  guint u;

  for (u = 0; u < G_N_ELEMENTS (bad); u++) {
    GstElement *e = gst_element_factory_make (elements[__i__], NULL);
    GError *error = NULL;

    g_object_set (e, "relay", "keep:1", NULL);
    fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (e), bad[u].uri,
            &error), "accepted %s", bad[u].uri);
    fail_unless (error != NULL);
    fail_unless (error->domain == GST_URI_ERROR);
    fail_unless_equals_int (error->code, bad[u].code);
    GST_INFO ("%s: %s", bad[u].uri, error->message);
    /* nothing changed */
    assert_string (e, "relay", "keep:1");
    g_error_free (error);
    gst_object_unref (e);
  }
}

GST_END_TEST;

GST_START_TEST (test_bad_latency_uri)
{
  GstElement *e = gst_element_factory_make ("wzpsrc", NULL);
  GError *error = NULL;

  fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://h:1?latency=99999", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI);
  g_clear_error (&error);
  fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (e),
          "wzp://h:1?latency=soon", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI);
  g_clear_error (&error);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_make_from_uri)
{
  GstElement *src, *sink;

  src = gst_element_make_from_uri (GST_URI_SRC, "wzp://h:1?identity=a.key",
      NULL, NULL);
  sink = gst_element_make_from_uri (GST_URI_SINK,
      "wzp://h:1?identity=a.key", NULL, NULL);
  fail_unless (src && sink);
  fail_unless_equals_string (G_OBJECT_TYPE_NAME (src), "GstWzpSrc");
  fail_unless_equals_string (G_OBJECT_TYPE_NAME (sink), "GstWzpSink");
  assert_string (src, "relay", "h:1");
  gst_object_unref (src);
  gst_object_unref (sink);
}

GST_END_TEST;

static Suite *
wzp_uri_suite (void)
{
  Suite *s = suite_create ("wzp-uri");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_uri_to_properties, 0, 2);
  tcase_add_loop_test (tc, test_uri_round_trip, 0, 2);
  tcase_add_loop_test (tc, test_uri_details, 0, 2);
  tcase_add_test (tc, test_uri_sink_ignores_src_keys);
  tcase_add_loop_test (tc, test_bad_uris, 0, 2);
  tcase_add_test (tc, test_bad_latency_uri);
  tcase_add_test (tc, test_make_from_uri);
  return s;
}

GST_CHECK_MAIN (wzp_uri);
