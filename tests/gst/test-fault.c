/* test-fault.c — calls that never fail silently, as a GStreamer user
 * meets them: a wzp-relay process killed (kill -9) and restarted
 * mid-call, a far end killed, a relay that dies while the call rings, a
 * wrong relay fingerprint, the same identity twice, and an application
 * that answers later from its own main loop (and a pipeline stopped
 * while a handler still thinks about the call).
 *
 * Bounds catch hangs with room for a loaded machine; the behaviours are
 * what is asserted: media resumes after the relay is back, the state
 * messages show the outage, EOS comes after the peer died, errors have
 * the right domain, code and text.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include <wzp/wzp.h>

#define SEC G_USEC_PER_SEC

/* ------------------------------------------------------------------------
 * A wzp-relay process that can be killed and started again on the same
 * address with the same identity.
 */

typedef struct
{
  GSubprocess *process;
  gchar *dir;
  gchar *key;
  gchar *address;
  gchar *fingerprint;
} TestRelay;

static gchar *
tool_path (const gchar * name)
{
  const gchar *build = g_getenv ("WZP_BUILD_ROOT");

  fail_unless (build != NULL, "WZP_BUILD_ROOT is not set");
  return g_build_filename (build, "tools", name, NULL);
}

static void
relay_spawn (TestRelay * r, const gchar * listen)
{
  g_autofree gchar *bin = tool_path ("wzp-relay");
  g_autofree gchar *line = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  GError *error = NULL;
  const gchar *at;

  r->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
      bin, "--listen", listen, "--probe-listen", "none", "--identity",
      r->key, NULL);
  fail_unless (r->process != NULL, "%s: %s", bin, error ? error->message : "?");
  /* "wzp-relay VERSION fingerprint FP listening on ADDR (probe ...)" */
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (r->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  fail_unless (line != NULL && (at = strstr (line, " listening on ")) != NULL,
      "wzp-relay did not start: %s", line ? line : "(no output)");
  at += strlen (" listening on ");
  g_free (r->address);
  r->address = g_strndup (at, strcspn (at, " "));
  at = strstr (line, "fingerprint ");
  fail_unless (at != NULL);
  at += strlen ("fingerprint ");
  g_free (r->fingerprint);
  r->fingerprint = g_strndup (at, strcspn (at, " "));
}

static TestRelay *
test_relay_start (void)
{
  TestRelay *r = g_new0 (TestRelay, 1);

  r->dir = g_dir_make_tmp ("wzp-gst-fault-XXXXXX", NULL);
  r->key = g_build_filename (r->dir, "relay.key", NULL);
  relay_spawn (r, "127.0.0.1:0");
  return r;
}

/* kill -9: the relay says nothing more to anyone. */
static void
test_relay_kill (TestRelay * r)
{
  g_subprocess_send_signal (r->process, SIGKILL);
  g_subprocess_wait (r->process, NULL, NULL);
  g_clear_object (&r->process);
}

static void
test_relay_restart (TestRelay * r)
{
  g_autofree gchar *listen = g_strdup (r->address);

  relay_spawn (r, listen);
  fail_unless_equals_string (r->address, listen);
}

static void
test_relay_free (TestRelay * r)
{
  if (r->process)
    test_relay_kill (r);
  g_unlink (r->key);
  g_rmdir (r->dir);
  g_free (r->key);
  g_free (r->dir);
  g_free (r->address);
  g_free (r->fingerprint);
  g_free (r);
}

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

/* ------------------------------------------------------------------------
 * A party: one pipeline with a live tone into wzpsink and wzpsrc into a
 * fakesink, sharing one call; what wzpsrc outputs and what the bus says
 * is recorded.
 */

typedef struct
{
  GstElement *pipeline;
  GstElement *src;
  GMutex lock;
  guint buffers;
  gint64 last_buffer;           /* monotonic us */
  guint gaps;
  GstClockTime gap_time;        /* total duration of GAP events */
  gboolean eos;
  gint64 eos_at;
  GPtrArray *relay_states;      /* "state" of wzp-relay-state messages */
  GPtrArray *call_states;       /* "state reason" of wzp-call-state */
  GError *error;
  gchar *error_debug;
  gint64 error_at;
  gchar *incoming_id;           /* from wzp-incoming-call */
} Party;

static GstPadProbeReturn
party_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  Party *p = data;

  g_mutex_lock (&p->lock);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    p->buffers++;
    p->last_buffer = g_get_monotonic_time ();
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP) {
      GstClockTime ts, dur;

      gst_event_parse_gap (ev, &ts, &dur);
      p->gaps++;
      if (GST_CLOCK_TIME_IS_VALID (dur))
        p->gap_time += dur;
    } else if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS) {
      p->eos = TRUE;
      p->eos_at = g_get_monotonic_time ();
    }
  }
  g_mutex_unlock (&p->lock);
  return GST_PAD_PROBE_OK;
}

/* Sync handler: the bus is read as messages come, on any thread. */
static GstBusSyncReply
party_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  Party *p = data;
  const GstStructure *s = gst_message_get_structure (msg);

  g_mutex_lock (&p->lock);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && p->error == NULL) {
    gst_message_parse_error (msg, &p->error, &p->error_debug);
    p->error_at = g_get_monotonic_time ();
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s &&
      GST_MESSAGE_SRC (msg) == GST_OBJECT (p->src)) {
    if (gst_structure_has_name (s, "wzp-relay-state"))
      g_ptr_array_add (p->relay_states,
          g_strdup (gst_structure_get_string (s, "state")));
    else if (gst_structure_has_name (s, "wzp-call-state"))
      g_ptr_array_add (p->call_states, g_strdup_printf ("%s %s",
              gst_structure_get_string (s, "state"),
              gst_structure_get_string (s, "reason")));
    else if (gst_structure_has_name (s, "wzp-incoming-call")) {
      g_free (p->incoming_id);
      p->incoming_id = g_strdup (gst_structure_get_string (s, "call-id"));
    }
  }
  g_mutex_unlock (&p->lock);
  return GST_BUS_PASS;
}

/* @props go to both wzp elements (relay, identity, peer, ...). */
static Party *
party_new (const gchar * name, const gchar * props)
{
  Party *p = g_new0 (Party, 1);
  g_autofree gchar *desc = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=960 ! opusenc ! wzpsink session=%s %s  "
      "wzpsrc name=src session=%s latency=40 %s ! fakesink sync=false "
      "async=false", name, props, name, props);
  GError *error = NULL;
  GstBus *bus;
  GstPad *pad;

  g_mutex_init (&p->lock);
  p->relay_states = g_ptr_array_new_with_free_func (g_free);
  p->call_states = g_ptr_array_new_with_free_func (g_free);
  p->pipeline = gst_parse_launch (desc, &error);
  fail_unless (p->pipeline != NULL, "%s: %s", desc,
      error ? error->message : "?");
  p->src = gst_bin_get_by_name (GST_BIN (p->pipeline), "src");
  pad = gst_element_get_static_pad (p->src, "src");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, party_probe, p, NULL);
  gst_object_unref (pad);
  bus = gst_element_get_bus (p->pipeline);
  gst_bus_set_sync_handler (bus, party_bus, p, NULL);
  gst_object_unref (bus);
  return p;
}

static void
party_play (Party * p)
{
  fail_if (gst_element_set_state (p->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
}

static void
party_free (Party * p)
{
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  gst_object_unref (p->src);
  gst_object_unref (p->pipeline);
  g_ptr_array_unref (p->relay_states);
  g_ptr_array_unref (p->call_states);
  g_clear_error (&p->error);
  g_free (p->error_debug);
  g_free (p->incoming_id);
  g_mutex_clear (&p->lock);
  g_free (p);
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

static gboolean
is_state (Party * p, const gchar * state)
{
  g_autofree gchar *s = stats_string (p->src, "state");

  return g_strcmp0 (s, state) == 0;
}

static guint
n_buffers (Party * p)
{
  guint n;

  g_mutex_lock (&p->lock);
  n = p->buffers;
  g_mutex_unlock (&p->lock);
  return n;
}

static gboolean
saw (Party * p, GPtrArray * list, const gchar * prefix)
{
  gboolean found = FALSE;

  g_mutex_lock (&p->lock);
  for (guint i = 0; i < list->len && !found; i++)
    found = g_str_has_prefix (g_ptr_array_index (list, i), prefix);
  g_mutex_unlock (&p->lock);
  return found;
}

/* Polls @cond every 10 ms for at most @timeout_ms; TRUE when it held. */
#define wait_for(cond, timeout_ms) ({                                     \
  gint64 _end = g_get_monotonic_time () + (gint64) (timeout_ms) * 1000;  \
  gboolean _ok;                                                         \
  while (!(_ok = (cond)) && g_get_monotonic_time () < _end)             \
    g_usleep (10 * 1000);                                               \
  _ok; })

typedef struct
{
  gchar *dir;
  gchar *a_key, *a_fp, *b_key, *b_fp;
} Keys;

static void
keys_init (Keys * k)
{
  k->dir = g_dir_make_tmp ("wzp-gst-fault-keys-XXXXXX", NULL);
  k->a_key = make_identity (k->dir, "a.key", &k->a_fp);
  k->b_key = make_identity (k->dir, "b.key", &k->b_fp);
}

static void
keys_clear (Keys * k)
{
  g_unlink (k->a_key);
  g_unlink (k->b_key);
  g_rmdir (k->dir);
  g_free (k->dir);
  g_free (k->a_key);
  g_free (k->a_fp);
  g_free (k->b_key);
  g_free (k->b_fp);
}

/* A calls B (B answers automatically, or asks with @b_answer "ask";
 * @b_incoming, if any, is connected to B's incoming-call first). */
static void
two_parties_full (TestRelay * relay, Keys * k, const gchar * extra,
    const gchar * b_answer, GCallback b_incoming, Party ** a, Party ** b)
{
  g_autofree gchar *bp = g_strdup_printf ("relay=%s identity=%s "
      "relay-fingerprint=%s answer=%s %s", relay->address, k->b_key,
      relay->fingerprint, b_answer, extra);
  g_autofree gchar *ap = g_strdup_printf ("relay=%s identity=%s "
      "relay-fingerprint=%s peer=%s %s", relay->address, k->a_key,
      relay->fingerprint, k->b_fp, extra);

  *b = party_new ("b", bp);
  if (b_incoming)
    g_signal_connect ((*b)->src, "incoming-call", b_incoming, NULL);
  party_play (*b);
  fail_unless (wait_for (is_state (*b, "waiting"), 10000));
  *a = party_new ("a", ap);
  party_play (*a);
}

static void
two_parties (TestRelay * relay, Keys * k, const gchar * extra,
    const gchar * b_answer, Party ** a, Party ** b)
{
  two_parties_full (relay, k, extra, b_answer, NULL, a, b);
}

/* ------------------------------------------------------------------------
 * The tests
 */

/* kill -9 of the relay mid-call on the relay path, restarted 2 s later:
 * both sides' media resumes within 5 s of the restart; the wzp-relay-state
 * messages show the outage; during it wzpsrc emits GAP events in real
 * time. */
GST_START_TEST (test_relay_restart_mid_call)
{
  TestRelay *relay = test_relay_start ();
  Keys k;
  Party *a, *b;
  guint a0, b0, gaps0;
  GstClockTime gap0;
  gint64 restarted;

  keys_init (&k);
  two_parties (relay, &k, "path-policy=relay-only", "auto", &a, &b);
  fail_unless (wait_for (is_state (a, "active") && is_state (b, "active"),
          10000));
  fail_unless (wait_for (n_buffers (a) > 25 && n_buffers (b) > 25, 5000));
  /* rtt-ms is the relay connection's RTT (the NAT lab checks its value). */
  {
    GstStructure *st = NULL;
    gdouble rtt = 0;

    g_object_get (a->src, "stats", &st, NULL);
    fail_unless (gst_structure_get_double (st, "rtt-ms", &rtt));
    fail_unless (rtt > 0 && rtt < 100, "rtt-ms %f", rtt);
    gst_structure_free (st);
  }

  test_relay_kill (relay);
  g_mutex_lock (&b->lock);
  gaps0 = b->gaps;
  gap0 = b->gap_time;
  g_mutex_unlock (&b->lock);
  g_usleep (2 * SEC);
  /* The outage is visible: real-time GAP events, no buffers. */
  g_mutex_lock (&b->lock);
  GST_INFO ("outage: %u GAP events, %" GST_TIME_FORMAT, b->gaps - gaps0,
      GST_TIME_ARGS (b->gap_time - gap0));
  fail_unless (b->gaps - gaps0 >= 50, "%u GAP events", b->gaps - gaps0);
  fail_unless (b->gap_time - gap0 >= 1500 * GST_MSECOND);
  fail_unless (g_get_monotonic_time () - b->last_buffer > SEC);
  g_mutex_unlock (&b->lock);

  test_relay_restart (relay);
  restarted = g_get_monotonic_time ();
  a0 = n_buffers (a);
  b0 = n_buffers (b);
  fail_unless (wait_for (n_buffers (a) > a0 + 10 && n_buffers (b) > b0 + 10,
          5000), "media did not resume within 5 s of the restart "
      "(a %u -> %u, b %u -> %u)", a0, n_buffers (a), b0, n_buffers (b));
  GST_INFO ("media back %" G_GINT64_FORMAT " ms after the restart",
      (g_get_monotonic_time () - restarted) / 1000);
  fail_unless (saw (a, a->relay_states, "lost"));
  fail_unless (saw (b, b->relay_states, "lost"));
  fail_unless (wait_for (saw (a, a->relay_states, "resumed") &&
          saw (b, b->relay_states, "resumed"), 2000));
  /* The call itself never failed. */
  fail_unless (is_state (a, "active") && is_state (b, "active"));
  fail_if (a->error || b->error);

  party_free (a);
  party_free (b);
  test_relay_free (relay);
  keys_clear (&k);
}

GST_END_TEST;

/* The far end dies (SIGKILL of a `wzp call` process): the survivor gets
 * peer-gone and wzpsrc pushes EOS within 5 s. */
GST_START_TEST (test_peer_killed)
{
  TestRelay *relay = test_relay_start ();
  Keys k;
  g_autofree gchar *wzp = tool_path ("wzp");
  g_autofree gchar *props = NULL;
  GSubprocess *peer;
  GError *error = NULL;
  Party *a;
  gint64 killed;

  keys_init (&k);
  peer = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
      G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, wzp, "call", "-r",
      relay->address, "-i", k.b_key, "--relay-fingerprint",
      relay->fingerprint, NULL);
  fail_unless (peer != NULL, "%s", error ? error->message : "?");
  /* The callee registers first ("wzp call: waiting"); calling earlier
   * would find it offline. */
  {
    g_autoptr (GDataInputStream) err =
        g_data_input_stream_new (g_subprocess_get_stderr_pipe (peer));
    gchar *line;
    gboolean waiting = FALSE;

    while (!waiting && (line = g_data_input_stream_read_line (err, NULL,
                NULL, NULL))) {
      waiting = g_str_has_prefix (line, "wzp call: waiting");
      g_free (line);
    }
    fail_unless (waiting, "wzp call did not get to wait for the call");
  }
  props = g_strdup_printf ("relay=%s identity=%s peer=%s", relay->address,
      k.a_key, k.b_fp);
  a = party_new ("a", props);
  party_play (a);
  fail_unless (wait_for (is_state (a, "active"), 10000));
  fail_unless (wait_for (n_buffers (a) > 25, 5000));

  g_subprocess_send_signal (peer, SIGKILL);
  killed = g_get_monotonic_time ();
  fail_unless (wait_for (a->eos, 10000), "no EOS after the peer died");
  GST_INFO ("EOS %" G_GINT64_FORMAT " ms after the kill",
      (a->eos_at - killed) / 1000);
  fail_unless (a->eos_at - killed < 5 * SEC, "EOS only after %"
      G_GINT64_FORMAT " ms", (a->eos_at - killed) / 1000);
  fail_unless (saw (a, a->call_states, "ended"));
  fail_if (a->error);

  g_subprocess_wait (peer, NULL, NULL);
  g_object_unref (peer);
  party_free (a);
  test_relay_free (relay);
  keys_clear (&k);
}

GST_END_TEST;

/* The relay dies (kill -9, no restart) while the call rings: the caller
 * gets an error within 10 s, saying it lost the relay. */
GST_START_TEST (test_relay_dies_while_ringing)
{
  TestRelay *relay = test_relay_start ();
  Keys k;
  Party *a, *b;
  gint64 killed;

  keys_init (&k);
  two_parties (relay, &k, "", "ask", &a, &b);
  fail_unless (wait_for (is_state (b, "ringing"), 10000));
  fail_unless (is_state (a, "ringing"));

  test_relay_kill (relay);
  killed = g_get_monotonic_time ();
  fail_unless (wait_for (a->error != NULL, 15000), "no error");
  fail_unless (a->error_at - killed < 10 * SEC);
  fail_unless (a->error->domain == GST_RESOURCE_ERROR);
  fail_unless_equals_int (a->error->code, GST_RESOURCE_ERROR_READ);
  fail_unless (strstr (a->error->message, "Lost the relay"), "%s",
      a->error->message);
  /* The callee waits for the next call instead. */
  fail_unless (wait_for (is_state (b, "waiting"), 2000));
  fail_if (b->error);

  party_free (a);
  party_free (b);
  test_relay_free (relay);
  keys_clear (&k);
}

GST_END_TEST;

/* A wrong relay-fingerprint: RESOURCE NOT_AUTHORIZED within 1 s, both
 * fingerprints in the text, the debug location in libwzp (where the
 * call failed), and no redial loop. */
GST_START_TEST (test_wrong_relay_fingerprint)
{
  TestRelay *relay = test_relay_start ();
  gchar *dir = g_dir_make_tmp ("wzp-gst-fault-XXXXXX", NULL);
  gchar *fp, *key = make_identity (dir, "a.key", &fp);
  gchar *other_fp, *other = make_identity (dir, "other.key", &other_fp);
  g_autofree gchar *props = g_strdup_printf ("relay=%s identity=%s "
      "relay-fingerprint=%s", relay->address, key, other_fp);
  Party *a = party_new ("a", props);
  gint64 t0 = g_get_monotonic_time ();

  party_play (a);
  fail_unless (wait_for (a->error != NULL, 5000), "no error");
  GST_INFO ("%s (%s) after %" G_GINT64_FORMAT " ms", a->error->message,
      a->error_debug, (a->error_at - t0) / 1000);
  fail_unless (a->error_at - t0 < SEC);
  fail_unless (a->error->domain == GST_RESOURCE_ERROR);
  fail_unless_equals_int (a->error->code, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  fail_unless (strstr (a->error->message, relay->fingerprint));
  fail_unless (strstr (a->error->message, other_fp));
  fail_unless (strstr (a->error_debug, "wzp-call.c"), "%s", a->error_debug);
  fail_unless (saw (a, a->relay_states, "failed"));

  party_free (a);
  test_relay_free (relay);
  g_unlink (key);
  g_unlink (other);
  g_rmdir (dir);
  g_free (key);
  g_free (other);
  g_free (fp);
  g_free (other_fp);
  g_free (dir);
}

GST_END_TEST;

/* The same identity started twice: the first one is told that its
 * identity registered elsewhere (not "wrong relay"). */
GST_START_TEST (test_superseded)
{
  TestRelay *relay = test_relay_start ();
  Keys k;
  g_autofree gchar *props = NULL;
  Party *one, *two;

  keys_init (&k);
  props = g_strdup_printf ("relay=%s identity=%s relay-fingerprint=%s",
      relay->address, k.a_key, relay->fingerprint);
  one = party_new ("one", props);
  party_play (one);
  fail_unless (wait_for (is_state (one, "waiting"), 10000));
  two = party_new ("two", props);
  party_play (two);
  fail_unless (wait_for (one->error != NULL, 10000));
  fail_unless_equals_int (one->error->code, GST_RESOURCE_ERROR_BUSY);
  fail_unless (strstr (one->error->message, "registered elsewhere"), "%s",
      one->error->message);
  fail_unless (wait_for (is_state (two, "waiting"), 5000));

  party_free (one);
  party_free (two);
  test_relay_free (relay);
  keys_clear (&k);
}

GST_END_TEST;

/* An application that asks its user through its own main loop and
 * answers 3 s later: the call rings meanwhile (both stay registered), then
 * goes active and carries media. */
typedef struct
{
  GMainLoop *loop;
  Party *b;
  gchar *call_id;
  gint64 asked_at, answered_at;
  gboolean answered;
  gchar *relay_state_when_answered;
  gchar *a_state_when_answered;
  Party *a;
} App;

static gboolean
app_answer (gpointer data)
{
  App *app = data;

  app->relay_state_when_answered = NULL;
  g_object_get (app->b->src, "relay-state",
      &app->relay_state_when_answered, NULL);
  app->a_state_when_answered = stats_string (app->a->src, "state");
  g_signal_emit_by_name (app->b->src, "answer", app->call_id, &app->answered);
  app->answered_at = g_get_monotonic_time ();
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
app_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  App *app = data;
  const GstStructure *s = gst_message_get_structure (msg);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && s &&
      gst_structure_has_name (s, "wzp-incoming-call") && !app->call_id) {
    app->call_id = g_strdup (gst_structure_get_string (s, "call-id"));
    app->asked_at = g_get_monotonic_time ();
    /* "Ask the user": they answer in 3 s. */
    g_timeout_add (3000, app_answer, app);
  }
  return G_SOURCE_CONTINUE;
}

GST_START_TEST (test_answer_later_from_main_loop)
{
  TestRelay *relay = test_relay_start ();
  Keys k;
  Party *a, *b;
  App app = { 0 };
  GstBus *bus;
  guint watch;

  keys_init (&k);
  app.loop = g_main_loop_new (NULL, FALSE);
  two_parties (relay, &k, "", "ask", &a, &b);
  app.a = a;
  app.b = b;
  bus = gst_element_get_bus (b->pipeline);
  watch = gst_bus_add_watch (bus, app_bus, &app);
  g_main_loop_run (app.loop);

  fail_unless (app.answered, "answer refused");
  fail_unless (app.answered_at - app.asked_at >= 3 * SEC - SEC / 10);
  fail_unless_equals_string (app.relay_state_when_answered, "registered");
  fail_unless_equals_string (app.a_state_when_answered, "ringing");
  fail_unless (wait_for (is_state (a, "active") && is_state (b, "active"),
          5000));
  fail_unless (wait_for (n_buffers (a) > 10 && n_buffers (b) > 10, 5000));
  fail_if (a->error || b->error);

  g_source_remove (watch);
  gst_object_unref (bus);
  party_free (a);
  party_free (b);
  g_main_loop_unref (app.loop);
  g_free (app.call_id);
  g_free (app.relay_state_when_answered);
  g_free (app.a_state_when_answered);
  test_relay_free (relay);
  keys_clear (&k);
}

GST_END_TEST;

/* A handler that takes its time (an old-style app that blocks to ask the
 * user) stops neither the call nor the pipeline: set_state(NULL) during
 * the unanswered ring returns within 1 s. */
static gint handler_running;

static void
slow_handler (GstElement * e, const gchar * caller, const gchar * call_id,
    gpointer data)
{
  g_atomic_int_set (&handler_running, 1);
  g_usleep (4 * SEC);
  g_atomic_int_set (&handler_running, 2);
}

GST_START_TEST (test_stop_during_ring)
{
  TestRelay *relay = test_relay_start ();
  Keys k;
  Party *a, *b;
  gint64 t0, took;

  keys_init (&k);
  two_parties_full (relay, &k, "", "ask", G_CALLBACK (slow_handler), &a, &b);
  fail_unless (wait_for (g_atomic_int_get (&handler_running) == 1, 10000));
  fail_unless (is_state (b, "ringing"));

  t0 = g_get_monotonic_time ();
  gst_element_set_state (b->pipeline, GST_STATE_NULL);
  took = g_get_monotonic_time () - t0;
  GST_INFO ("set_state(NULL) took %" G_GINT64_FORMAT " ms", took / 1000);
  fail_unless (took < SEC, "set_state(NULL) took %" G_GINT64_FORMAT " ms",
      took / 1000);
  fail_unless_equals_int (g_atomic_int_get (&handler_running), 1);
  /* Stopping rejected the call. */
  fail_unless (wait_for (a->error != NULL, 5000));
  fail_unless (strstr (a->error->message, "rejected"), "%s", a->error->message);

  party_free (a);
  party_free (b);
  fail_unless (wait_for (g_atomic_int_get (&handler_running) == 2, 10000));
  test_relay_free (relay);
  keys_clear (&k);
}

GST_END_TEST;

static Suite *
wzp_fault_suite (void)
{
  Suite *s = suite_create ("wzp-fault");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 60);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_relay_restart_mid_call);
  tcase_add_test (tc, test_peer_killed);
  tcase_add_test (tc, test_relay_dies_while_ringing);
  tcase_add_test (tc, test_wrong_relay_fingerprint);
  tcase_add_test (tc, test_superseded);
  tcase_add_test (tc, test_answer_later_from_main_loop);
  tcase_add_test (tc, test_stop_during_ring);
  return s;
}

GST_CHECK_MAIN (wzp_fault);
