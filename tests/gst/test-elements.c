/* test-elements.c — wzpsrc/wzpsink: creation, properties, errors
 *
 * Needs no relay: covers what works before a call exists.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/base/gstbasesrc.h>
#include <gst/base/gstbasesink.h>

static const gchar *elements[] = { "wzpsrc", "wzpsink" };

/* Connection settings: writable only in NULL/READY. */
static const gchar *conn_props[] = { "uri", "relay", "relay-fingerprint",
  "identity", "peer", "session", "room", "answer", "path-policy",
  "media-timeout", NULL
};

static const gchar *ro_props[] = { "path", "stats", "call-id",
  "fingerprint", "relay-state", NULL
};

static const gchar *stats_fields[] = { "state", "path", "rtt-ms",
  "packets-sent", "bytes-sent", "packets-received", "bytes-received",
  "dropped-send", "lost", "late", "duplicates", "concealed", "jitter-ms",
  "latency-ms", "forged", "replayed", "path-changes", "setup-ms",
  "relay-state", "relay-losses", NULL
};

GST_START_TEST (test_create_and_unref)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);

  fail_unless (e != NULL);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_defaults)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  gchar *relay, *identity, *peer, *session, *room, *uri, *call_id, *fp;
  gint answer, policy, path;

  g_object_get (e, "relay", &relay, "identity", &identity, "peer", &peer,
      "session", &session, "room", &room, "uri", &uri, "answer", &answer,
      "path-policy", &policy, "path", &path, "call-id", &call_id,
      "fingerprint", &fp, NULL);
  fail_unless (!relay && !identity && !peer && !session && !room && !uri);
  fail_unless (!call_id && !fp);
  fail_unless_equals_int (answer, 0);   /* auto */
  fail_unless_equals_int (policy, 0);   /* auto */
  fail_unless_equals_int (path, 0);     /* none */

  if (GST_IS_BASE_SRC (e)) {
    guint latency, max_latency;
    gboolean do_ts;

    g_object_get (e, "latency", &latency, "max-latency", &max_latency,
        "do-timestamp", &do_ts, NULL);
    fail_unless_equals_int (latency, 60);
    fail_unless_equals_int (max_latency, 500);
    fail_unless (!do_ts);
    fail_unless (gst_base_src_is_live (GST_BASE_SRC (e)));
  } else {
    gboolean wait, sync, async;

    g_object_get (e, "wait-for-call", &wait, "sync", &sync, "async", &async,
        NULL);
    fail_unless (wait);
    fail_unless (sync);
    fail_unless (!async);
  }
  g_free (relay);
  g_free (identity);
  g_free (peer);
  g_free (session);
  g_free (room);
  g_free (uri);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_set_get)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  gchar *relay, *peer;

  gst_util_set_object_arg (G_OBJECT (e), "answer", "ask");
  gst_util_set_object_arg (G_OBJECT (e), "path-policy", "relay-only");
  g_object_set (e, "relay", "127.0.0.1:4433", "peer", "", NULL);
  g_object_get (e, "relay", &relay, "peer", &peer, NULL);
  fail_unless_equals_string (relay, "127.0.0.1:4433");
  /* empty means unset */
  fail_unless (peer == NULL);
  g_free (relay);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_property_flags_and_blurbs)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GParamSpec **specs;
  guint n, i;

  specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (e), &n);
  for (i = 0; i < n; i++) {
    const gchar *blurb = g_param_spec_get_blurb (specs[i]);

    fail_unless (blurb && *blurb, "%s has no blurb", specs[i]->name);
  }
  g_free (specs);

  for (i = 0; conn_props[i]; i++) {
    GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
        conn_props[i]);

    fail_unless (p != NULL, "no property %s", conn_props[i]);
    fail_unless (p->flags & GST_PARAM_MUTABLE_READY, "%s not MUTABLE_READY",
        conn_props[i]);
    fail_unless (p->flags & G_PARAM_WRITABLE);
  }
  for (i = 0; ro_props[i]; i++) {
    GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
        ro_props[i]);

    fail_unless (p != NULL, "no property %s", ro_props[i]);
    fail_if (p->flags & G_PARAM_WRITABLE, "%s is writable", ro_props[i]);
  }
  gst_object_unref (e);
}

GST_END_TEST;

/* The enum properties are libwzp's own types, marked as plugin API so the
 * documentation tools document them. */
GST_START_TEST (test_enums_are_libwzps)
{
  const gchar *names[] = { "wzpsrc", "wzpsink", "wzproomsrc" };
  const gchar *props[] = { "answer", "path-policy", "path" };
  const gchar *types[] = { "WzpAnswerPolicy", "WzpPathPolicy",
    "WzpPathKind"
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElement *e = gst_element_factory_make (names[i], NULL);

    for (guint k = 0; k < G_N_ELEMENTS (props); k++) {
      GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
          props[k]);
      GstPluginAPIFlags flags;

      fail_unless (p != NULL);
      fail_unless_equals_string (g_type_name (p->value_type), types[k]);
      fail_unless (gst_type_is_plugin_api (p->value_type, &flags));
    }
    gst_object_unref (e);
  }
  fail_unless (g_type_from_name ("GstWzpAnswer") == 0);
  fail_unless (g_type_from_name ("GstWzpPath") == 0);
}

GST_END_TEST;

GST_START_TEST (test_latency_range)
{
  GstElement *e = gst_element_factory_make ("wzpsrc", NULL);
  GParamSpecUInt *p = G_PARAM_SPEC_UINT (g_object_class_find_property
      (G_OBJECT_GET_CLASS (e), "latency"));

  fail_unless_equals_int (p->minimum, 0);
  fail_unless_equals_int (p->maximum, 10000);
  fail_unless (G_PARAM_SPEC (p)->flags & GST_PARAM_MUTABLE_PLAYING);
  g_object_set (e, "latency", 120, "max-latency", 800, NULL);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_stats_without_call)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GstStructure *s = NULL;
  guint i;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (s != NULL);
  fail_unless (gst_structure_has_name (s, "application/x-wzp-stats"));
  for (i = 0; stats_fields[i]; i++)
    fail_unless (gst_structure_has_field (s, stats_fields[i]), "no %s",
        stats_fields[i]);
  gst_structure_free (s);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_signal)
{
  GstElement *e = gst_element_factory_make (elements[__i__], NULL);
  GSignalQuery q;

  gboolean ok = TRUE;
  const gchar *actions[] = { "answer", "reject" };

  /* A notification: caller and call id, nothing to return. */
  g_signal_query (g_signal_lookup ("incoming-call", G_OBJECT_TYPE (e)), &q);
  fail_unless (q.signal_id != 0);
  fail_unless_equals_int (q.return_type, G_TYPE_NONE);
  fail_unless_equals_int (q.n_params, 2);
  fail_unless_equals_int (q.param_types[0], G_TYPE_STRING);
  fail_unless_equals_int (q.param_types[1], G_TYPE_STRING);
  /* The answer comes later, through action signals. */
  for (guint i = 0; i < G_N_ELEMENTS (actions); i++) {
    g_signal_query (g_signal_lookup (actions[i], G_OBJECT_TYPE (e)), &q);
    fail_unless (q.signal_id != 0, "no %s", actions[i]);
    fail_unless (q.signal_flags & G_SIGNAL_ACTION);
    fail_unless_equals_int (q.return_type, G_TYPE_BOOLEAN);
    fail_unless_equals_int (q.n_params, 1);
    fail_unless_equals_int (q.param_types[0], G_TYPE_STRING);
    /* No call: nothing to answer. */
    g_signal_emit_by_name (e, actions[i], "0123456789abcdef0123456789abcdef",
        &ok);
    fail_if (ok);
  }
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_log_categories_forwarded)
{
  GstElement *e = gst_element_factory_make ("wzpsrc", NULL);
  GstElement *e2 = gst_element_factory_make ("wzpsink", NULL);

  /* libwzp's categories exist as GStreamer categories of the same name. */
  fail_unless (_gst_debug_get_category ("wzpquic") != NULL);
  fail_unless (_gst_debug_get_category ("wzpjitter") != NULL);
  fail_unless (_gst_debug_get_category ("wzpcall") != NULL);
  fail_unless (_gst_debug_get_category ("wzpsrc") != NULL);
  fail_unless (_gst_debug_get_category ("wzpsink") != NULL);
  gst_object_unref (e);
  gst_object_unref (e2);
}

GST_END_TEST;

/* Builds a pipeline around the element, sets @props, goes to PAUSED and
 * returns the error message's GError (state change must fail). */
static GError *
start_error (const gchar * element, const gchar * props, gchar ** debug)
{
  gchar *desc = g_str_equal (element, "wzpsrc")
      ? g_strdup_printf ("wzpsrc %s ! fakesink", props)
      : g_strdup_printf ("fakesrc ! wzpsink %s", props);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstStateChangeReturn ret;
  GstMessage *msg;
  GError *error = NULL;

  fail_unless (pipeline != NULL, "could not parse %s", desc);
  ret = gst_element_set_state (pipeline, GST_STATE_PAUSED);
  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
  fail_unless_equals_int (ret, GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message for %s", desc);
  gst_message_parse_error (msg, &error, debug);
  GST_INFO ("%s: %s (%s)", desc, error->message, debug ? *debug : "");
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
  return error;
}

static void
assert_error_at (const gchar * element, const gchar * props, gint code,
    const gchar * needle, const gchar * where)
{
  gchar *debug = NULL;
  GError *error = start_error (element, props, &debug);

  fail_unless (error->domain == GST_RESOURCE_ERROR, "domain %s",
      g_quark_to_string (error->domain));
  fail_unless_equals_int (error->code, code);
  fail_unless (strstr (error->message, needle), "\"%s\" not in \"%s\"",
      needle, error->message);
  /* The debug location names the check that failed. */
  if (where)
    fail_unless (debug && strstr (debug, where), "\"%s\" not in \"%s\"",
        where, debug);
  g_error_free (error);
  g_free (debug);
}

static void
assert_error (const gchar * element, const gchar * props, gint code,
    const gchar * needle)
{
  assert_error_at (element, props, code, needle, NULL);
}

GST_START_TEST (test_error_no_relay)
{
  assert_error (elements[__i__], "identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "No relay set");
}

GST_END_TEST;

GST_START_TEST (test_error_bad_relay)
{
  assert_error (elements[__i__], "relay=nohost identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
  assert_error (elements[__i__], "relay=host:99999 identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
  /* GLib's parser, plus a host and a port */
  assert_error (elements[__i__], "relay=:4433 identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
  assert_error (elements[__i__], "relay=[::1] identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
  assert_error (elements[__i__], "relay=host:0 identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
  /* a valid relay gets past the check to the next one */
  assert_error (elements[__i__], "relay=[::1]:4433",
      GST_RESOURCE_ERROR_SETTINGS, "No identity file set");
  assert_error (elements[__i__], "relay=relay.example.org:4433",
      GST_RESOURCE_ERROR_SETTINGS, "No identity file set");
  /* the relays of a cluster: a list, each entry checked as one relay */
  assert_error (elements[__i__],
      "relay=\"10.0.0.1:4433,relay.example.org:4433,[::1]:4433\"",
      GST_RESOURCE_ERROR_SETTINGS, "No identity file set");
  assert_error (elements[__i__],
      "relay=\"10.0.0.1:4433,nohost\" identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
  assert_error (elements[__i__],
      "relay=\"10.0.0.1:4433,,10.0.0.2:4433\" identity=/tmp/x.key",
      GST_RESOURCE_ERROR_SETTINGS, "expected HOST:PORT");
}

GST_END_TEST;

GST_START_TEST (test_error_no_identity)
{
  assert_error (elements[__i__], "relay=127.0.0.1:4433",
      GST_RESOURCE_ERROR_SETTINGS, "No identity file set");
}

GST_END_TEST;

GST_START_TEST (test_error_peer_and_room)
{
  assert_error (elements[__i__], "relay=127.0.0.1:4433 identity=/tmp/x.key "
      "peer=abcd room=lobby", GST_RESOURCE_ERROR_SETTINGS, "not both");
}

GST_END_TEST;

/* Settings that cannot work are settings errors at READY->PAUSED, with
 * the value named and the location of the check. */
GST_START_TEST (test_error_bad_peer)
{
  assert_error_at (elements[__i__], "relay=127.0.0.1:4433 "
      "identity=/tmp/x.key peer=abc", GST_RESOURCE_ERROR_SETTINGS,
      "Invalid peer \"abc\"", "gstwzpsettings.c");
}

GST_END_TEST;

GST_START_TEST (test_error_bad_relay_fingerprint)
{
  assert_error_at (elements[__i__], "relay=127.0.0.1:4433 "
      "identity=/tmp/x.key relay-fingerprint=xyz",
      GST_RESOURCE_ERROR_SETTINGS, "Invalid relay-fingerprint \"xyz\"",
      "gstwzpsettings.c");
}

GST_END_TEST;

GST_START_TEST (test_error_bad_uri)
{
  /* Not "No relay set": the URI itself is the problem. */
  assert_error_at (elements[__i__], "uri=wzp://relay.example:4433?bogus=1",
      GST_RESOURCE_ERROR_SETTINGS, "Invalid uri", "gstwzpsettings.c");
  assert_error (elements[__i__], "uri=http://relay.example:4433",
      GST_RESOURCE_ERROR_SETTINGS, "Invalid uri \"http://relay.example");
}

GST_END_TEST;

GST_START_TEST (test_error_unreadable_identity)
{
  gchar *dir = g_dir_make_tmp ("wzp-gst-XXXXXX", NULL);
  gchar *garbage = g_build_filename (dir, "garbage.key", NULL);
  gchar *props;

  /* a directory where the file should be */
  props = g_strdup_printf ("relay=127.0.0.1:4433 identity=%s", dir);
  assert_error (elements[__i__], props, GST_RESOURCE_ERROR_OPEN_READ,
      "Could not read the identity file");
  g_free (props);

  /* a file that is not an identity */
  fail_unless (g_file_set_contents (garbage, "not a key\n", -1, NULL));
  props = g_strdup_printf ("relay=127.0.0.1:4433 identity=%s", garbage);
  assert_error (elements[__i__], props, GST_RESOURCE_ERROR_OPEN_READ,
      "Could not read the identity file");
  g_free (props);

  /* a directory that does not exist: cannot be created either */
  assert_error (elements[__i__], "relay=127.0.0.1:4433 "
      "identity=/nonexistent/wzp/id.key", GST_RESOURCE_ERROR_OPEN_READ,
      "/nonexistent/wzp/id.key");

  g_unlink (garbage);
  g_rmdir (dir);
  g_free (garbage);
  g_free (dir);
}

GST_END_TEST;

static Suite *
wzp_elements_suite (void)
{
  Suite *s = suite_create ("wzp-elements");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_create_and_unref, 0, 2);
  tcase_add_loop_test (tc, test_defaults, 0, 2);
  tcase_add_loop_test (tc, test_set_get, 0, 2);
  tcase_add_loop_test (tc, test_property_flags_and_blurbs, 0, 2);
  tcase_add_test (tc, test_enums_are_libwzps);
  tcase_add_test (tc, test_latency_range);
  tcase_add_loop_test (tc, test_stats_without_call, 0, 2);
  tcase_add_loop_test (tc, test_signal, 0, 2);
  tcase_add_test (tc, test_log_categories_forwarded);
  tcase_add_loop_test (tc, test_error_no_relay, 0, 2);
  tcase_add_loop_test (tc, test_error_bad_relay, 0, 2);
  tcase_add_loop_test (tc, test_error_no_identity, 0, 2);
  tcase_add_loop_test (tc, test_error_peer_and_room, 0, 2);
  tcase_add_loop_test (tc, test_error_bad_peer, 0, 2);
  tcase_add_loop_test (tc, test_error_bad_relay_fingerprint, 0, 2);
  tcase_add_loop_test (tc, test_error_bad_uri, 0, 2);
  tcase_add_loop_test (tc, test_error_unreadable_identity, 0, 2);
  return s;
}

GST_CHECK_MAIN (wzp_elements);
