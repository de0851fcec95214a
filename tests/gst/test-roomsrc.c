/* test-roomsrc.c — wzproomsrc and the room settings of every element:
 * properties, pads, errors before a room exists
 *
 * Needs no relay (tests/gst/test-room-mix.py runs real rooms).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#define FP "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d"

GST_START_TEST (test_defaults_and_templates)
{
  GstElement *e = gst_element_factory_make ("wzproomsrc", NULL);
  GstPadTemplate *t;
  gchar *owner, *invite, *room;
  gboolean open, mix;
  guint latency, max_latency;

  fail_unless (e != NULL);
  fail_unless (GST_IS_BIN (e));
  g_object_get (e, "room", &room, "room-owner", &owner, "room-invite",
      &invite, "room-open", &open, "mix", &mix, "latency", &latency,
      "max-latency", &max_latency, NULL);
  fail_unless (!room && !owner && !invite && !open && !mix);
  fail_unless_equals_int (latency, 60);
  fail_unless_equals_int (max_latency, 500);

  t = gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (e), "src_%s");
  fail_unless (t != NULL);
  fail_unless_equals_int (GST_PAD_TEMPLATE_PRESENCE (t), GST_PAD_SOMETIMES);
  t = gst_element_class_get_pad_template (GST_ELEMENT_GET_CLASS (e), "src");
  fail_unless (t != NULL);
  fail_unless_equals_int (GST_PAD_TEMPLATE_PRESENCE (t), GST_PAD_SOMETIMES);

  /* No member, no pad; mix=true gives the one src pad, and takes it back. */
  fail_unless_equals_int (GST_ELEMENT (e)->numsrcpads, 0);
  g_object_set (e, "mix", TRUE, NULL);
  fail_unless_equals_int (GST_ELEMENT (e)->numsrcpads, 1);
  fail_unless (gst_element_get_static_pad (e, "src") != NULL);
  gst_object_unref (gst_element_get_static_pad (e, "src"));
  g_object_set (e, "mix", FALSE, NULL);
  fail_unless_equals_int (GST_ELEMENT (e)->numsrcpads, 0);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_room_properties_everywhere)
{
  const gchar *names[] = { "wzpsrc", "wzpsink", "wzproomsrc" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElement *e = gst_element_factory_make (names[i], NULL);
    const gchar *props[] = { "room-owner", "room-invite", "room-open" };
    gchar *owner, *invite;
    gboolean open;

    for (guint k = 0; k < G_N_ELEMENTS (props); k++) {
      GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
          props[k]);
      fail_unless (p != NULL, "%s has no %s", names[i], props[k]);
      fail_unless (p->flags & GST_PARAM_MUTABLE_READY);
      fail_unless (g_param_spec_get_blurb (p) != NULL);
    }
    g_object_set (e, "room-owner", FP, "room-invite", "@x.invite",
        "room-open", TRUE, NULL);
    g_object_get (e, "room-owner", &owner, "room-invite", &invite,
        "room-open", &open, NULL);
    fail_unless_equals_string (owner, FP);
    fail_unless_equals_string (invite, "@x.invite");
    fail_unless (open);
    g_free (owner);
    g_free (invite);
    gst_object_unref (e);
  }
}

GST_END_TEST;

GST_START_TEST (test_uri)
{
  GstElement *e = gst_element_factory_make ("wzproomsrc", NULL);
  gchar *owner, *room, *relay, *uri;
  gboolean mix;

  g_object_set (e, "uri", "wzp://127.0.0.1:4433?identity=me.key&room=standup"
      "&room-owner=" FP "&mix=true", NULL);
  g_object_get (e, "room", &room, "room-owner", &owner, "relay", &relay,
      "mix", &mix, NULL);
  fail_unless_equals_string (room, "standup");
  fail_unless_equals_string (owner, FP);
  fail_unless_equals_string (relay, "127.0.0.1:4433");
  fail_unless (mix);
  g_object_get (e, "uri", &uri, NULL);
  fail_unless (strstr (uri, "room-owner=") != NULL, "%s", uri);
  fail_unless (strstr (uri, "mix=true") != NULL, "%s", uri);
  g_free (room);
  g_free (owner);
  g_free (relay);
  g_free (uri);
  gst_object_unref (e);
}

GST_END_TEST;

/* Goes to PAUSED, which must fail, and returns the error. */
static GError *
start_error (const gchar * desc)
{
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstBus *bus;
  GstStateChangeReturn ret;
  GstMessage *msg;
  GError *error = NULL;

  fail_unless (pipeline != NULL, "could not parse %s", desc);
  bus = gst_element_get_bus (pipeline);
  ret = gst_element_set_state (pipeline, GST_STATE_PAUSED);
  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
  fail_unless_equals_int (ret, GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message for %s", desc);
  gst_message_parse_error (msg, &error, NULL);
  GST_INFO ("%s: %s", desc, error->message);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return error;
}

static void
assert_error (const gchar * desc, gint code, const gchar * needle)
{
  GError *error = start_error (desc);

  fail_unless (error->domain == GST_RESOURCE_ERROR, "domain %s",
      g_quark_to_string (error->domain));
  fail_unless_equals_int (error->code, code);
  fail_unless (strstr (error->message, needle), "\"%s\" not in \"%s\"",
      needle, error->message);
  g_error_free (error);
}

GST_START_TEST (test_errors)
{
  gchar *dir = g_dir_make_tmp ("wzp-roomsrc-XXXXXX", NULL);
  gchar *key = g_build_filename (dir, "me.key", NULL);
  gchar *desc;

  desc = g_strdup_printf ("wzproomsrc relay=127.0.0.1:4433 identity=%s ! "
      "fakesink", key);
  assert_error (desc, GST_RESOURCE_ERROR_SETTINGS, "No room set");
  g_free (desc);

  /* A room needs an owner, or to be asked for open. */
  desc = g_strdup_printf ("wzproomsrc relay=127.0.0.1:4433 identity=%s "
      "room=standup ! fakesink", key);
  assert_error (desc, GST_RESOURCE_ERROR_SETTINGS, "has no owner");
  g_free (desc);
  desc = g_strdup_printf ("fakesrc ! wzpsink relay=127.0.0.1:4433 "
      "identity=%s room=standup", key);
  assert_error (desc, GST_RESOURCE_ERROR_SETTINGS, "room-open=true");
  g_free (desc);

  /* wzproomsrc is for rooms. */
  desc = g_strdup_printf ("wzproomsrc relay=127.0.0.1:4433 identity=%s "
      "peer=" FP " ! fakesink", key);
  assert_error (desc, GST_RESOURCE_ERROR_SETTINGS, "use wzpsrc");
  g_free (desc);

  /* Room settings without a room. */
  desc = g_strdup_printf ("wzpsrc relay=127.0.0.1:4433 identity=%s "
      "room-owner=" FP " ! fakesink", key);
  assert_error (desc, GST_RESOURCE_ERROR_SETTINGS, "need room=NAME");
  g_free (desc);

  /* Someone else's room without (or with a bad) invitation: refused
   * before anything goes on the network. */
  desc = g_strdup_printf ("wzproomsrc relay=127.0.0.1:4433 identity=%s "
      "room=standup room-owner=" FP " ! fakesink", key);
  assert_error (desc, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "invitation");
  g_free (desc);
  desc = g_strdup_printf ("fakesrc ! wzpsink relay=127.0.0.1:4433 "
      "identity=%s room=standup room-owner=" FP " room-invite=wzpinv1.AAAA",
      key);
  assert_error (desc, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "invitation");
  g_free (desc);
  desc = g_strdup_printf ("wzproomsrc relay=127.0.0.1:4433 identity=%s "
      "room=standup room-owner=" FP " room-invite=@%s/missing ! fakesink",
      key, dir);
  assert_error (desc, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "cannot read");
  g_free (desc);

  g_unlink (key);
  g_rmdir (dir);
  g_free (key);
  g_free (dir);
}

GST_END_TEST;

static Suite *
wzp_roomsrc_suite (void)
{
  Suite *s = suite_create ("wzp-roomsrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_defaults_and_templates);
  tcase_add_test (tc, test_room_properties_everywhere);
  tcase_add_test (tc, test_uri);
  tcase_add_test (tc, test_errors);
  return s;
}

GST_CHECK_MAIN (wzp_roomsrc);
