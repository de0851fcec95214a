/* test-call.c — two wzp parties in one process, through a wzp-relay
 * process: A (wzpsink + wzpsrc sharing session "a") calls B (session "b",
 * answer=ask, accepted by an incoming-call handler).  Frames pushed into
 * one side's wzpsink come out of the other side's wzpsrc; stats move;
 * A leaving hangs up and B's wzpsrc ends with EOS.  Opus at every rate
 * opusenc encodes from, mono and stereo, goes through and decodes.
 * Failures, outages and answering later are in test-fault.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/base/gstbasesrc.h>

#include <wzp/wzp.h>

#define FRAME_NS (20 * GST_MSECOND)
#define OPUS_CAPS "audio/x-opus, rate=(int)48000, channels=(int)1, " \
    "channel-mapping-family=(int)0"

/* ------------------------------------------------------------------------
 * A wzp-relay process from the build tree.  (The relay is not part of the
 * libwzp the plugin links, so it cannot run inside this process.)
 */

typedef struct
{
  GSubprocess *process;
  gchar *dir;
  gchar *address;
} TestRelay;

static TestRelay *
test_relay_start (void)
{
  TestRelay *r = g_new0 (TestRelay, 1);
  const gchar *build = g_getenv ("WZP_BUILD_ROOT");
  g_autofree gchar *bin = NULL;
  g_autofree gchar *key = NULL;
  g_autofree gchar *line = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  GError *error = NULL;
  const gchar *at;

  fail_unless (build != NULL, "WZP_BUILD_ROOT is not set");
  bin = g_build_filename (build, "tools", "wzp-relay", NULL);
  r->dir = g_dir_make_tmp ("wzp-gst-relay-XXXXXX", &error);
  fail_unless (r->dir != NULL, "tmp dir: %s", error ? error->message : "?");
  key = g_build_filename (r->dir, "relay.key", NULL);
  r->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
      bin, "--listen", "127.0.0.1:0", "--probe-listen", "none",
      "--identity", key, NULL);
  fail_unless (r->process != NULL, "%s: %s", bin, error ? error->message : "?");
  /* "wzp-relay VERSION fingerprint FP listening on ADDR (probe ...)" */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (r->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  fail_unless (line != NULL && (at = strstr (line, " listening on ")) != NULL,
      "wzp-relay did not start: %s", line ? line : "(no output)");
  at += strlen (" listening on ");
  r->address = g_strndup (at, strcspn (at, " "));
  return r;
}

static void
test_relay_stop (TestRelay * r)
{
  g_autofree gchar *key = g_build_filename (r->dir, "relay.key", NULL);

  g_subprocess_force_exit (r->process);
  g_subprocess_wait (r->process, NULL, NULL);
  g_object_unref (r->process);
  g_free (r->address);
  g_unlink (key);
  g_rmdir (r->dir);
  g_free (r->dir);
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

/* A wzpsrc in a pipeline (a live source cannot sit in a GstHarness, which
 * insists on a SUCCESS state change), with a probe that checks and counts
 * what it outputs. */
typedef struct
{
  GstElement *pipeline;
  GstElement *src;
  GMutex lock;
  guint buffers;
  guint gaps;
  gboolean eos;
  gboolean pts_ok;
  GstClockTime last_pts;
} Receiver;

static GstPadProbeReturn
receiver_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Receiver *r = data;

  g_mutex_lock (&r->lock);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);

    if (!GST_BUFFER_PTS_IS_VALID (b) || !GST_BUFFER_DURATION_IS_VALID (b)
        || GST_BUFFER_DURATION (b) < 10 * GST_MSECOND
        || GST_BUFFER_DURATION (b) > 60 * GST_MSECOND
        || (GST_CLOCK_TIME_IS_VALID (r->last_pts)
            && GST_BUFFER_PTS (b) <= r->last_pts)
        || gst_buffer_get_size (b) == 0)
      r->pts_ok = FALSE;
    r->last_pts = GST_BUFFER_PTS (b);
    r->buffers++;
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS)
      r->eos = TRUE;
    else if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP)
      r->gaps++;
  }
  g_mutex_unlock (&r->lock);
  return GST_PAD_PROBE_OK;
}

static Receiver *
receiver_new (void)
{
  Receiver *r = g_new0 (Receiver, 1);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  GstPad *pad;

  g_mutex_init (&r->lock);
  r->pts_ok = TRUE;
  r->last_pts = GST_CLOCK_TIME_NONE;
  r->pipeline = gst_pipeline_new (NULL);
  r->src = gst_element_factory_make ("wzpsrc", NULL);
  g_object_set (r->src, "latency", 40, NULL);
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (r->pipeline), r->src, sink, NULL);
  fail_unless (gst_element_link (r->src, sink));
  pad = gst_element_get_static_pad (r->src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, receiver_probe, r, NULL);
  gst_object_unref (pad);
  return r;
}

static void
receiver_play (Receiver * r)
{
  fail_if (gst_element_set_state (r->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
}

static void
receiver_free (Receiver * r)
{
  gst_element_set_state (r->pipeline, GST_STATE_NULL);
  gst_object_unref (r->pipeline);
  g_mutex_clear (&r->lock);
  g_free (r);
}

/* Waits until @want buffers have come out (or @timeout_ms). */
static guint
receiver_wait (Receiver * r, guint want, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  guint got;

  for (;;) {
    g_mutex_lock (&r->lock);
    got = r->buffers;
    g_mutex_unlock (&r->lock);
    if (got >= want || g_get_monotonic_time () > end)
      return got;
    g_usleep (10 * 1000);
  }
}

static gboolean
receiver_wait_eos (Receiver * r, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;
  gboolean eos;

  for (;;) {
    g_mutex_lock (&r->lock);
    eos = r->eos;
    g_mutex_unlock (&r->lock);
    if (eos || g_get_monotonic_time () > end)
      return eos;
    g_usleep (10 * 1000);
  }
}

/* gst_harness_new() starts the element at once: configure it first. */
static GstHarness *
sink_harness (const gchar * relay, const gchar * identity,
    const gchar * session, const gchar * peer, const gchar * answer)
{
  GstElement *e = gst_element_factory_make ("wzpsink", NULL);
  GstHarness *h;

  g_object_set (e, "relay", relay, "identity", identity, "session", session,
      "peer", peer, "sync", FALSE, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "answer", answer);
  h = gst_harness_new_with_element (e, "sink", NULL);
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, OPUS_CAPS);
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

/* @n 20 ms frames of a tone, encoded by opusenc from @rate and
 * @channels; @caps_out (optional) gets opusenc's output caps. */
static GList *
encode_tone_at (gint rate, gint channels, guint n, GstCaps ** caps_out)
{
  GstHarness *h = gst_harness_new ("opusenc");
  GList *frames = NULL;
  GstBuffer *out;
  guint samples = rate / 50, i, s;
  gchar *caps = g_strdup_printf ("audio/x-raw, format=S16LE, rate=%d, "
      "channels=%d, layout=interleaved", rate, channels);

  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
  for (i = 0; i < n + 2; i++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, samples * channels * 2,
        NULL);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (s = 0; s < samples * channels; s++)
      ((gint16 *) map.data)[s] = (gint16) (8000 * sin (2 * G_PI * 440 *
              (i * samples + s / channels) / (gdouble) rate));
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = i * FRAME_NS;
    GST_BUFFER_DURATION (buf) = FRAME_NS;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  while (g_list_length (frames) < n && (out = gst_harness_try_pull (h)))
    frames = g_list_append (frames, out);
  fail_unless_equals_int (g_list_length (frames), n);
  if (caps_out)
    *caps_out = gst_pad_get_current_caps (h->sinkpad);
  gst_harness_teardown (h);
  return frames;
}

static GList *
encode_tone (guint n)
{
  return encode_tone_at (48000, 1, n, NULL);
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

static gchar *incoming_caller;

/* A notification, on a thread of its own: answer through the action
 * signal (right away here; test-fault.c answers later). */
static void
on_incoming_call (GstElement * e, const gchar * caller, const gchar * call_id,
    gpointer data)
{
  gboolean ok = FALSE;

  g_free (incoming_caller);
  incoming_caller = g_strdup (caller);
  g_signal_emit_by_name (e, "answer", call_id, &ok);
  fail_unless (ok, "could not answer %s", call_id);
}

/* The element posts the message from the call's thread, which may come
 * just after the property reads "active" (under ASan it often does):
 * wait for it, up to a bound that only catches hangs. */
static gboolean
bus_has_state (GstBus * bus, const gchar * state)
{
  GstMessage *m;
  gboolean found = FALSE;

  while (!found && (m = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
              GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);

    if (gst_structure_has_name (s, "wzp-call-state")
        && !g_strcmp0 (gst_structure_get_string (s, "state"), state))
      found = TRUE;
    gst_message_unref (m);
  }
  return found;
}

/* The peer and call-id of the first "wzp-call-state" message with
 * @state on @bus (messages before it are dropped). */
static gboolean
bus_state_fields (GstBus * bus, const gchar * state, gchar ** peer,
    gchar ** call_id)
{
  GstMessage *m;
  gboolean found = FALSE;

  while (!found && (m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (m);

    if (gst_structure_has_name (s, "wzp-call-state")
        && !g_strcmp0 (gst_structure_get_string (s, "state"), state)) {
      *peer = g_strdup (gst_structure_get_string (s, "peer"));
      *call_id = g_strdup (gst_structure_get_string (s, "call-id"));
      found = TRUE;
    }
    gst_message_unref (m);
  }
  return found;
}

/* ------------------------------------------------------------------------
 * The test
 */

/* Sockets this process has open: a finished call must close its own. */
static guint
count_sockets (void)
{
  GDir *d = g_dir_open ("/proc/self/fd", 0, NULL);
  const gchar *name;
  guint n = 0;

  while (d && (name = g_dir_read_name (d))) {
    gchar *path = g_build_filename ("/proc/self/fd", name, NULL);
    gchar *target = g_file_read_link (path, NULL);
    if (target && g_str_has_prefix (target, "socket:"))
      n++;
    g_free (target);
    g_free (path);
  }
  if (d)
    g_dir_close (d);
  return n;
}

GST_START_TEST (test_call_between_two_pairs)
{
  TestRelay *relay = test_relay_start ();
  gchar *dir = g_dir_make_tmp ("wzp-call-XXXXXX", NULL);
  gchar *a_fp, *b_fp, *a_key, *b_key;
  GstHarness *a_sink, *b_sink;
  Receiver *a_src, *b_src;
  GstBus *b_bus;
  GList *frames = encode_tone (50);
  gchar *fp;
  guint sockets_before = count_sockets ();

  a_key = make_identity (dir, "a.key", &a_fp);
  b_key = make_identity (dir, "b.key", &b_fp);

  /* B: waits, asks the application */
  b_src = receiver_new ();
  b_bus = gst_element_get_bus (b_src->pipeline);
  set_props (b_src->src, relay->address, b_key, "b", NULL, "ask");
  g_signal_connect (b_src->src, "incoming-call",
      G_CALLBACK (on_incoming_call), NULL);
  receiver_play (b_src);
  b_sink = sink_harness (relay->address, b_key, "b", NULL, "ask");
  fail_unless (wait_for_state (b_src->src, "waiting", 10000));

  /* src and sink of one party share one call */
  g_object_get (b_sink->element, "fingerprint", &fp, NULL);
  fail_unless_equals_string (fp, b_fp);
  g_free (fp);

  /* A: calls B */
  a_src = receiver_new ();
  set_props (a_src->src, relay->address, a_key, "a", b_fp, "auto");
  a_sink = sink_harness (relay->address, a_key, "a", b_fp, "auto");
  receiver_play (a_src);

  fail_unless (wait_for_state (a_sink->element, "active", 10000));
  fail_unless (wait_for_state (b_src->src, "active", 10000));
  fail_unless_equals_string (incoming_caller, a_fp);
  /* "ringing" names the other party and the call, on both sides. */
  {
    GstBus *a_bus = gst_element_get_bus (a_src->pipeline);
    gchar *a_peer = NULL, *a_id = NULL, *b_peer = NULL, *b_id = NULL;

    fail_unless (bus_state_fields (a_bus, "ringing", &a_peer, &a_id));
    fail_unless (bus_state_fields (b_bus, "ringing", &b_peer, &b_id));
    fail_unless_equals_string (a_peer, b_fp);
    fail_unless_equals_string (b_peer, a_fp);
    fail_unless (a_id != NULL && strlen (a_id) == 32, "call-id %s", a_id);
    fail_unless_equals_string (b_id, a_id);
    g_free (a_peer);
    g_free (a_id);
    g_free (b_peer);
    g_free (b_id);
    gst_object_unref (a_bus);
  }
  fail_unless (bus_has_state (b_bus, "active"));
  g_object_get (b_src->src, "peer", &fp, NULL);
  fail_unless_equals_string (fp, a_fp);
  g_free (fp);

  /* A -> B and B -> A */
  send_frames (a_sink, frames);
  fail_unless (receiver_wait (b_src, 40, 5000) >= 40, "B got %u",
      b_src->buffers);
  send_frames (b_sink, frames);
  fail_unless (receiver_wait (a_src, 40, 5000) >= 40, "A got %u",
      a_src->buffers);
  fail_unless (a_src->pts_ok && b_src->pts_ok);

  /* stats moved */
  fail_unless (stats_u64 (a_sink->element, "packets-sent") >= 50);
  fail_unless (stats_u64 (a_sink->element, "bytes-sent") > 0);
  fail_unless (stats_u64 (b_src->src, "packets-received") >= 40);
  fail_unless (stats_u64 (b_src->src, "bytes-received") > 0);
  stats_u64 (b_src->src, "lost");
  stats_u64 (b_src->src, "concealed");
  stats_u64 (b_src->src, "late");
  fail_unless_equals_int (stats_u64 (b_src->src, "forged"), 0);

  /* A leaves: hang-up; B's wzpsrc ends with EOS */
  gst_harness_teardown (a_sink);
  receiver_free (a_src);
  fail_unless (receiver_wait_eos (b_src, 10000),
      "no EOS after the peer hung up");
  fail_unless (bus_has_state (b_bus, "ended"));

  gst_harness_teardown (b_sink);
  receiver_free (b_src);
  gst_object_unref (b_bus);
  g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
  /* Both calls are gone, and with them their sockets. */
  fail_unless_equals_int (count_sockets (), sockets_before);
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

/* What a decoder after wzpsrc outputs. */
typedef struct
{
  GMutex lock;
  gint src_rate, src_channels;  /* wzpsrc's caps */
  gint rate, channels;          /* opusdec's output caps */
  guint buffers;                /* decoded */
} Decoded;

static GstPadProbeReturn
caps_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Decoded *d = data;
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
  gboolean src = GST_IS_BASE_SRC (GST_PAD_PARENT (pad));
  GstCaps *caps;

  if (GST_EVENT_TYPE (ev) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_event_parse_caps (ev, &caps);
  g_mutex_lock (&d->lock);
  gst_structure_get_int (gst_caps_get_structure (caps, 0), "rate",
      src ? &d->src_rate : &d->rate);
  gst_structure_get_int (gst_caps_get_structure (caps, 0), "channels",
      src ? &d->src_channels : &d->channels);
  g_mutex_unlock (&d->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
decoded_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Decoded *d = data;

  g_mutex_lock (&d->lock);
  d->buffers++;
  g_mutex_unlock (&d->lock);
  return GST_PAD_PROBE_OK;
}

/* A sender at @rate with @channels calls B, whose wzpsrc feeds opusdec
 * and then a sink that wants @rate: wzpsrc outputs the sender's channel
 * count, and the audio comes out at @rate with @channels. */
static void
call_at_rate (const gchar * relay, const gchar * a_key, const gchar * b_key,
    const gchar * b_fp, gint rate, gint channels)
{
  GstCaps *enc_caps = NULL;
  GList *frames = encode_tone_at (rate, channels, 25, &enc_caps);
  GstElement *a = gst_element_factory_make ("wzpsink", NULL);
  GstHarness *a_sink;
  gchar *desc = g_strdup_printf ("wzpsrc name=src relay=%s identity=%s "
      "latency=40 ! opusdec ! audio/x-raw, rate=%d ! fakesink name=out "
      "sync=false async=false", relay, b_key, rate);
  GstElement *b = gst_parse_launch (desc, NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (b), "src");
  GstElement *out = gst_bin_get_by_name (GST_BIN (b), "out");
  GstPad *src_pad = gst_element_get_static_pad (src, "src");
  GstPad *out_pad = gst_element_get_static_pad (out, "sink");
  Decoded d = { 0 };
  gint64 end;

  g_mutex_init (&d.lock);
  gst_pad_add_probe (src_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      caps_probe, &d, NULL);
  gst_pad_add_probe (out_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      caps_probe, &d, NULL);
  gst_pad_add_probe (out_pad, GST_PAD_PROBE_TYPE_BUFFER, decoded_probe, &d,
      NULL);
  fail_if (gst_element_set_state (b, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless (wait_for_state (src, "waiting", 10000));

  g_object_set (a, "relay", relay, "identity", a_key, "peer", b_fp, "sync",
      FALSE, NULL);
  a_sink = gst_harness_new_with_element (a, "sink", NULL);
  gst_harness_set_src_caps (a_sink, enc_caps);
  fail_unless (wait_for_state (a, "active", 10000));
  /* Both ends: frames that reach B before it has the call's keys are
   * dropped (a loaded machine can let A run ahead of B). */
  fail_unless (wait_for_state (src, "active", 10000));
  /* wzpsink takes opusenc's caps at this rate (not-negotiated before) */
  send_frames (a_sink, frames);

  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  for (;;) {
    guint got;

    g_mutex_lock (&d.lock);
    got = d.buffers;
    g_mutex_unlock (&d.lock);
    if (got >= 15 || g_get_monotonic_time () > end)
      break;
    g_usleep (10 * 1000);
  }
  GST_INFO ("%d Hz x %d: wzpsrc %d Hz x %d, decoded %d Hz x %d, %u buffers",
      rate, channels, d.src_rate, d.src_channels, d.rate, d.channels,
      d.buffers);
  fail_unless (d.buffers >= 15, "%d Hz x %d: %u decoded", rate, channels,
      d.buffers);
  fail_unless_equals_int (d.src_channels, channels);
  fail_unless_equals_int (d.rate, rate);
  fail_unless_equals_int (d.channels, channels);

  gst_harness_teardown (a_sink);
  gst_object_unref (a);
  gst_element_set_state (b, GST_STATE_NULL);
  gst_object_unref (src_pad);
  gst_object_unref (out_pad);
  gst_object_unref (src);
  gst_object_unref (out);
  gst_object_unref (b);
  g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
  g_mutex_clear (&d.lock);
  g_free (desc);
}

GST_START_TEST (test_every_rate_mono_and_stereo)
{
  TestRelay *relay = test_relay_start ();
  gchar *dir = g_dir_make_tmp ("wzp-call-XXXXXX", NULL);
  gchar *a_fp, *b_fp, *a_key, *b_key;
  const gint rates[] = { 8000, 12000, 16000, 24000, 48000 };

  a_key = make_identity (dir, "a.key", &a_fp);
  b_key = make_identity (dir, "b.key", &b_fp);
  for (guint r = 0; r < G_N_ELEMENTS (rates); r++)
    for (gint channels = 1; channels <= 2; channels++)
      call_at_rate (relay->address, a_key, b_key, b_fp, rates[r], channels);
  test_relay_stop (relay);
  g_unlink (a_key);
  g_unlink (b_key);
  g_rmdir (dir);
  g_free (a_key);
  g_free (b_key);
  g_free (a_fp);
  g_free (b_fp);
  g_free (dir);
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
  tcase_add_test (tc, test_every_rate_mono_and_stereo);
  return s;
}

GST_CHECK_MAIN (wzp_call);
