/* test-call.c — two wzp parties in one process, through an in-process
 * relay: A (wzpsink + wzpsrc sharing session "a") calls B (session "b",
 * answer=ask, accepted by an incoming-call handler).  Frames pushed into
 * one side's wzpsink come out of the other side's wzpsrc; stats move;
 * A leaving hangs up and B's wzpsrc ends with EOS.
 *
 * Built only once lib/wzp-call.c exists (tests/gst/meson.build).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "wzp-identity.h"
#include "wzp-relay.h"

#define FRAME_NS (20 * GST_MSECOND)
#define OPUS_CAPS "audio/x-opus, rate=(int)48000, channels=(int)1, " \
    "channel-mapping-family=(int)0"

/* ------------------------------------------------------------------------
 * An in-process relay on its own thread
 */

typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  WzpRelay *relay;
  gchar *address;
  GMutex lock;
  GCond cond;
  gboolean ready;
} TestRelay;

static gpointer
relay_thread (gpointer data)
{
  TestRelay *r = data;
  WzpIdentity *id = wzp_identity_generate ();
  GError *error = NULL;
  GInetSocketAddress *addr;
  gchar *host;

  g_main_context_push_thread_default (r->context);
  r->relay = wzp_relay_new (r->context, id);
  g_object_set (r->relay, "listen-address", "127.0.0.1:0", NULL);
  fail_unless (wzp_relay_start (r->relay, &error), "relay: %s",
      error ? error->message : "?");
  addr = G_INET_SOCKET_ADDRESS (wzp_relay_get_listen_address (r->relay));
  host = g_inet_address_to_string (g_inet_socket_address_get_address (addr));
  r->address = g_strdup_printf ("%s:%u", host,
      g_inet_socket_address_get_port (addr));
  g_free (host);
  g_object_unref (addr);
  g_object_unref (id);

  g_mutex_lock (&r->lock);
  r->ready = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);

  g_main_loop_run (r->loop);
  wzp_relay_stop (r->relay);
  g_clear_object (&r->relay);
  g_main_context_pop_thread_default (r->context);
  return NULL;
}

static TestRelay *
test_relay_start (void)
{
  TestRelay *r = g_new0 (TestRelay, 1);

  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->context = g_main_context_new ();
  r->loop = g_main_loop_new (r->context, FALSE);
  r->thread = g_thread_new ("relay", relay_thread, r);
  g_mutex_lock (&r->lock);
  while (!r->ready)
    g_cond_wait (&r->cond, &r->lock);
  g_mutex_unlock (&r->lock);
  return r;
}

static gboolean
quit_idle (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
test_relay_stop (TestRelay * r)
{
  g_main_context_invoke (r->context, quit_idle, r->loop);
  g_thread_join (r->thread);
  g_main_loop_unref (r->loop);
  g_main_context_unref (r->context);
  g_free (r->address);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r);
}

/* ------------------------------------------------------------------------
 * Helpers
 */

static gchar *
make_identity (const gchar * dir, const gchar * name, gchar ** fingerprint)
{
  gchar *path = g_build_filename (dir, name, NULL);
  WzpIdentity *id = wzp_identity_load_or_create (path, NULL, NULL);

  fail_unless (id != NULL);
  *fingerprint = g_strdup (wzp_identity_get_fingerprint (id));
  g_object_unref (id);
  return path;
}

static GstHarness *
party_src (const gchar * props)
{
  GstHarness *h = gst_harness_new ("wzpsrc");

  gst_util_set_object_arg (G_OBJECT (h->element), "latency", "40");
  gst_harness_use_systemclock (h);
  return h;
}

static void
set_props (GstElement * e, const gchar * relay, const gchar * identity,
    const gchar * session, const gchar * peer, const gchar * answer)
{
  g_object_set (e, "relay", relay, "identity", identity, "session", session,
      "peer", peer, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "answer", answer);
}

static gchar *
stats_string (GstElement * e, const gchar * field)
{
  GstStructure *s = NULL;
  gchar *v;

  g_object_get (e, "stats", &s, NULL);
  v = g_strdup (gst_structure_get_string (s, field));
  gst_structure_free (s);
  return v;
}

static guint64
stats_u64 (GstElement * e, const gchar * field)
{
  GstStructure *s = NULL;
  guint64 v = 0;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  gst_structure_free (s);
  return v;
}

static gboolean
wait_for_state (GstElement * e, const gchar * state, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (g_get_monotonic_time () < end) {
    gchar *s = stats_string (e, "state");
    gboolean ok = !g_strcmp0 (s, state);

    g_free (s);
    if (ok)
      return TRUE;
    g_usleep (20 * 1000);
  }
  return FALSE;
}

static GList *
encode_tone (guint n)
{
  GstHarness *h = gst_harness_new_parse ("audiotestsrc freq=440 "
      "samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! opusenc");
  GList *frames = NULL;
  guint i;

  gst_harness_set_sink_caps_str (h, "audio/x-opus");
  gst_harness_play (h);
  for (i = 0; i < n; i++)
    frames = g_list_append (frames, gst_harness_pull (h));
  gst_harness_teardown (h);
  return frames;
}

/* Pushes @frames into @sink at real-time pace, PTS from 0. */
static void
send_frames (GstHarness * sink, GList * frames)
{
  GList *l;
  guint i = 0;

  for (l = frames; l; l = l->next, i++) {
    GstBuffer *b = gst_buffer_copy (l->data);

    GST_BUFFER_PTS (b) = i * FRAME_NS;
    GST_BUFFER_DURATION (b) = FRAME_NS;
    fail_unless_equals_int (gst_harness_push (sink, b), GST_FLOW_OK);
    g_usleep (20 * 1000);
  }
}

/* Pulls what arrives within @timeout_ms; checks timestamps. */
static guint
receive_frames (GstHarness * src, guint want, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
  guint got = 0;

  while (got < want && g_get_monotonic_time () < end) {
    GstBuffer *b = gst_harness_try_pull (src);

    if (!b) {
      g_usleep (10 * 1000);
      continue;
    }
    fail_unless (GST_BUFFER_PTS_IS_VALID (b));
    fail_unless (GST_BUFFER_DURATION_IS_VALID (b));
    fail_unless (GST_BUFFER_DURATION (b) >= 10 * GST_MSECOND
        && GST_BUFFER_DURATION (b) <= 60 * GST_MSECOND);
    if (GST_CLOCK_TIME_IS_VALID (last_pts))
      fail_unless (GST_BUFFER_PTS (b) > last_pts);
    last_pts = GST_BUFFER_PTS (b);
    fail_unless (gst_buffer_get_size (b) > 0);
    gst_buffer_unref (b);
    got++;
  }
  return got;
}

static gchar *incoming_caller;

static gboolean
on_incoming_call (GstElement * e, const gchar * caller, gpointer data)
{
  g_free (incoming_caller);
  incoming_caller = g_strdup (caller);
  return TRUE;
}

static gboolean
bus_has_state (GstBus * bus, const gchar * state)
{
  GstMessage *m;
  gboolean found = FALSE;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);

    if (gst_structure_has_name (s, "wzp-call-state")
        && !g_strcmp0 (gst_structure_get_string (s, "state"), state))
      found = TRUE;
    gst_message_unref (m);
  }
  return found;
}

/* ------------------------------------------------------------------------
 * The test
 */

GST_START_TEST (test_call_between_two_pairs)
{
  TestRelay *relay = test_relay_start ();
  gchar *dir = g_dir_make_tmp ("wzp-call-XXXXXX", NULL);
  gchar *a_fp, *b_fp, *a_key, *b_key;
  GstHarness *a_sink, *a_src, *b_sink, *b_src;
  GstBus *b_bus = gst_bus_new ();
  GList *frames = encode_tone (50);
  GstEvent *ev;
  gboolean eos = FALSE;
  gint64 end;
  gchar *fp;

  a_key = make_identity (dir, "a.key", &a_fp);
  b_key = make_identity (dir, "b.key", &b_fp);

  /* B: waits, asks the application */
  b_src = party_src (NULL);
  set_props (b_src->element, relay->address, b_key, "b", NULL, "ask");
  g_signal_connect (b_src->element, "incoming-call",
      G_CALLBACK (on_incoming_call), NULL);
  gst_element_set_bus (b_src->element, b_bus);
  b_sink = gst_harness_new ("wzpsink");
  set_props (b_sink->element, relay->address, b_key, "b", NULL, "ask");
  g_object_set (b_sink->element, "sync", FALSE, NULL);
  gst_harness_set_src_caps_str (b_sink, OPUS_CAPS);
  gst_harness_play (b_src);
  gst_harness_play (b_sink);
  fail_unless (wait_for_state (b_src->element, "waiting", 10000));

  /* src and sink of one party share one call */
  g_object_get (b_sink->element, "fingerprint", &fp, NULL);
  fail_unless_equals_string (fp, b_fp);
  g_free (fp);

  /* A: calls B */
  a_src = party_src (NULL);
  set_props (a_src->element, relay->address, a_key, "a", b_fp, "auto");
  a_sink = gst_harness_new ("wzpsink");
  set_props (a_sink->element, relay->address, a_key, "a", b_fp, "auto");
  g_object_set (a_sink->element, "sync", FALSE, NULL);
  gst_harness_set_src_caps_str (a_sink, OPUS_CAPS);
  gst_harness_play (a_sink);
  gst_harness_play (a_src);

  fail_unless (wait_for_state (a_sink->element, "active", 10000));
  fail_unless (wait_for_state (b_src->element, "active", 10000));
  fail_unless_equals_string (incoming_caller, a_fp);
  fail_unless (bus_has_state (b_bus, "active"));
  g_object_get (b_src->element, "peer", &fp, NULL);
  fail_unless_equals_string (fp, a_fp);
  g_free (fp);

  /* A -> B and B -> A */
  send_frames (a_sink, frames);
  fail_unless (receive_frames (b_src, 40, 5000) >= 40);
  send_frames (b_sink, frames);
  fail_unless (receive_frames (a_src, 40, 5000) >= 40);

  /* stats moved */
  fail_unless (stats_u64 (a_sink->element, "packets-sent") >= 50);
  fail_unless (stats_u64 (a_sink->element, "bytes-sent") > 0);
  fail_unless (stats_u64 (b_src->element, "packets-received") >= 40);
  fail_unless (stats_u64 (b_src->element, "bytes-received") > 0);
  stats_u64 (b_src->element, "lost");
  stats_u64 (b_src->element, "forged");
  fail_unless_equals_int (stats_u64 (b_src->element, "forged"), 0);

  /* A leaves: hang-up; B's wzpsrc ends with EOS */
  gst_harness_teardown (a_sink);
  gst_harness_teardown (a_src);
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!eos && g_get_monotonic_time () < end) {
    GstBuffer *b;

    while ((ev = gst_harness_try_pull_event (b_src))) {
      eos = eos || GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
      gst_event_unref (ev);
    }
    while ((b = gst_harness_try_pull (b_src)))
      gst_buffer_unref (b);
    g_usleep (20 * 1000);
  }
  fail_unless (eos, "no EOS after the peer hung up");
  fail_unless (bus_has_state (b_bus, "ended"));

  gst_harness_teardown (b_sink);
  gst_harness_teardown (b_src);
  gst_object_unref (b_bus);
  g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
  test_relay_stop (relay);
  g_unlink (a_key);
  g_unlink (b_key);
  g_rmdir (dir);
  g_free (a_key);
  g_free (b_key);
  g_free (a_fp);
  g_free (b_fp);
  g_free (dir);
  g_clear_pointer (&incoming_caller, g_free);
}

GST_END_TEST;

GST_START_TEST (test_peer_offline)
{
  TestRelay *relay = test_relay_start ();
  gchar *dir = g_dir_make_tmp ("wzp-call-XXXXXX", NULL);
  gchar *a_fp, *a_key;
  gchar *desc;
  GstElement *pipeline;
  GstMessage *msg;
  GError *error = NULL;

  a_key = make_identity (dir, "a.key", &a_fp);
  desc = g_strdup_printf ("wzpsrc relay=%s identity=%s peer=%s ! fakesink",
      relay->address, a_key, "0000:0000:0000:0000:0000:0000:0000:0000");
  pipeline = gst_parse_launch (desc, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      20 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error for an offline peer");
  gst_message_parse_error (msg, &error, NULL);
  GST_INFO ("%s", error->message);
  fail_unless (error->domain == GST_RESOURCE_ERROR);
  gst_message_unref (msg);
  g_error_free (error);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  test_relay_stop (relay);
  g_unlink (a_key);
  g_rmdir (dir);
  g_free (a_key);
  g_free (a_fp);
  g_free (dir);
  g_free (desc);
}

GST_END_TEST;

static Suite *
wzp_call_suite (void)
{
  Suite *s = suite_create ("wzp-call");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_call_between_two_pairs);
  tcase_add_test (tc, test_peer_offline);
  return s;
}

GST_CHECK_MAIN (wzp_call);
