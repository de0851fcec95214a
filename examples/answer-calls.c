/* answer-calls.c — answer wzp calls on the sound card, asking first
 *
 *   answer-calls --relay HOST:4433 --identity me.key [--accept-from FP]
 *       [--source PIPELINE] [--sink PIPELINE]
 *
 * Registers with the relay and waits (answer=ask).  When a call rings,
 * the application asks its user on the terminal, from its own main loop,
 * and answers whenever the user has decided (the call keeps ringing
 * meanwhile): the `wzp-incoming-call` bus message says who calls, and the
 * "answer" / "reject" action signals take the call id.  With
 * --accept-from, calls from that fingerprint are answered at once and
 * others rejected.  The microphone goes autoaudiosrc ! opusenc ! wzpsink,
 * the far end wzpsrc ! opusdec ! autoaudiosink; both elements share one
 * call through session=answer-calls (--source and --sink replace the
 * sound card, e.g. "audiotestsrc is-live=true" and "fakesink").  When the
 * call ends, the pipeline is restarted to wait for the next one.  An
 * error (the relay refused us, this identity registered elsewhere, no
 * microphone...) ends the program with exit status 1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gst/gst.h>

static gchar *accept_from;
static GstElement *pipeline;
static GstElement *src;
static GMainLoop *loop;
static gchar *ringing;          /* the call id we are asking about */
static gboolean failed;         /* an error ended us */

static void
decide (gboolean accept)
{
  gboolean ok = FALSE;

  g_signal_emit_by_name (src, accept ? "answer" : "reject", ringing, &ok);
  g_print ("%s: %s\n", accept ? "answering" : "rejecting",
      ok ? "done" : "too late, the caller gave up");
  g_clear_pointer (&ringing, g_free);
}

/* The user typed a line (the main loop watches stdin). */
static gboolean
on_stdin (GIOChannel * in, GIOCondition cond, gpointer data)
{
  gchar *line = NULL;

  if (g_io_channel_read_line (in, &line, NULL, NULL, NULL) !=
      G_IO_STATUS_NORMAL)
    return G_SOURCE_CONTINUE;
  if (ringing)
    decide (line[0] == 'y' || line[0] == 'Y');
  g_free (line);
  return G_SOURCE_CONTINUE;
}

static void
on_incoming (const gchar * caller, const gchar * call_id)
{
  g_free (ringing);
  ringing = g_strdup (call_id);
  if (accept_from) {
    decide (g_str_equal (accept_from, caller));
    return;
  }
  g_print ("incoming call from %s: answer? [y/n] ", caller);
}

static gboolean
restart (gpointer data)
{
  g_print ("waiting for the next call\n");
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  return G_SOURCE_REMOVE;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer data)
{
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);

      /* src and sink both post: print the src's */
      if (g_strcmp0 (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "src"))
        break;
      if (gst_structure_has_name (s, "wzp-incoming-call"))
        on_incoming (gst_structure_get_string (s, "caller"),
            gst_structure_get_string (s, "call-id"));
      else if (gst_structure_has_name (s, "wzp-call-state"))
        g_print ("call %s%s%s\n", gst_structure_get_string (s, "state"),
            gst_structure_get_string (s, "reason") ? ": " : "",
            gst_structure_get_string (s, "reason") ?
            gst_structure_get_string (s, "reason") : "");
      else if (gst_structure_has_name (s, "wzp-path-changed"))
        g_print ("media path: %s\n", gst_structure_get_string (s, "path"));
      else if (gst_structure_has_name (s, "wzp-relay-state"))
        g_print ("relay: %s\n", gst_structure_get_string (s, "state"));
      break;
    }
    case GST_MESSAGE_INFO:{
      GError *info = NULL;

      gst_message_parse_info (msg, &info, NULL);
      g_print ("%s\n", info->message);
      g_error_free (info);
      break;
    }
    case GST_MESSAGE_EOS:
      /* wzpsrc ends its stream when the call ends */
      g_idle_add (restart, NULL);
      break;
    case GST_MESSAGE_ERROR:{
      GError *error = NULL;

      gst_message_parse_error (msg, &error, NULL);
      g_printerr ("error: %s\n", error->message);
      g_error_free (error);
      failed = TRUE;
      g_main_loop_quit (loop);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  gchar *relay = NULL, *identity = NULL, *desc, *fp = NULL;
  gchar *source = NULL, *sink = NULL;
  GError *error = NULL;
  GIOChannel *in;
  GOptionContext *ctx;
  GOptionEntry entries[] = {
    {"relay", 'r', 0, G_OPTION_ARG_STRING, &relay, "Relay HOST:PORT", NULL},
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity,
        "Identity file (created if missing)", NULL},
    {"accept-from", 'a', 0, G_OPTION_ARG_STRING, &accept_from,
        "Only accept calls from this fingerprint", NULL},
    {"source", 0, 0, G_OPTION_ARG_STRING, &source,
        "What we say (default autoaudiosrc)", "PIPELINE"},
    {"sink", 0, 0, G_OPTION_ARG_STRING, &sink,
        "Where what we hear goes (default autoaudiosink)", "PIPELINE"},
    {NULL}
  };

  ctx = g_option_context_new ("- answer wzp calls");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !relay
      || !identity) {
    g_printerr ("%s\nusage: answer-calls --relay HOST:PORT --identity FILE\n",
        error ? error->message : "");
    return 1;
  }
  g_option_context_free (ctx);

  desc = g_strdup_printf ("%s ! audioconvert ! audioresample ! "
      "opusenc ! wzpsink name=sink session=answer-calls relay=%s "
      "identity=\"%s\" answer=ask "
      "wzpsrc name=src session=answer-calls relay=%s identity=\"%s\" "
      "answer=ask ! opusdec plc=true ! audioconvert ! audioresample ! %s",
      source ? source : "autoaudiosrc", relay, identity, relay, identity,
      sink ? sink : "autoaudiosink");
  pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  if (!pipeline) {
    g_printerr ("could not build the pipeline: %s\n", error->message);
    return 1;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");

  loop = g_main_loop_new (NULL, FALSE);
  gst_bus_add_watch (GST_ELEMENT_BUS (pipeline), on_message, NULL);
  in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN, on_stdin, NULL);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    /* the error message is on the bus */
    g_main_context_iteration (NULL, FALSE);
    return 1;
  }
  g_object_get (src, "fingerprint", &fp, NULL);
  g_print ("waiting for calls to %s\n", fp);
  g_free (fp);
  g_main_loop_run (loop);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_io_channel_unref (in);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_main_loop_unref (loop);
  g_free (ringing);
  g_free (relay);
  g_free (identity);
  g_free (accept_from);
  g_free (source);
  g_free (sink);
  return failed ? 1 : 0;
}
