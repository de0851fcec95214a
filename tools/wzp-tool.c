/* wzp — command-line tool: identities and a QUIC echo demo
 *
 *   wzp keygen FILE                 create an identity, print its fingerprint
 *   wzp fingerprint FILE            print an identity's fingerprint
 *   wzp echo-server [options]       echo messages and datagrams back
 *   wzp echo-client [options]       send, check the echoes, print stats
 *   wzp call [options]              a headless call party (JSON report)
 *   wzp invite [options]            admit a member to a room you own
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "wzp-endpoint.h"
#include "wzp-identity.h"
#include "wzp-log-private.h"
#include "wzp-tool.h"

typedef int (*CommandFunc) (int argc, char **argv);

static GMainLoop *loop;

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
wzp_tool_fail (GError * error)
{
  g_printerr ("wzp: %s\n", error->message);
  g_error_free (error);
  return 1;
}

gboolean
wzp_tool_parse (GOptionEntry * entries, const char *usage, int *argc,
    char ***argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (usage);
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error)) {
    g_printerr ("wzp: %s\n", error->message);
    return FALSE;
  }
  return TRUE;
}

/* --- keygen / fingerprint --------------------------------------------- */

static int
cmd_keygen (int argc, char **argv)
{
  gboolean force = FALSE;
  GOptionEntry entries[] = {
    {"force", 'f', 0, G_OPTION_ARG_NONE, &force,
        "Overwrite an existing file", NULL},
    {NULL}
  };
  g_autoptr (WzpIdentity) id = NULL;
  GError *error = NULL;

  if (!wzp_tool_parse (entries, "FILE - create a new identity", &argc, &argv))
    return 2;
  if (argc != 2) {
    g_printerr ("usage: wzp keygen [--force] FILE\n");
    return 2;
  }
  if (!force && g_file_test (argv[1], G_FILE_TEST_EXISTS)) {
    g_printerr ("wzp: %s exists; use --force to replace it (the old "
        "identity is then lost)\n", argv[1]);
    return 1;
  }
  id = wzp_identity_generate ();
  if (!wzp_identity_save (id, argv[1], &error))
    return wzp_tool_fail (error);
  g_print ("%s\n", wzp_identity_get_fingerprint (id));
  return 0;
}

static int
cmd_fingerprint (int argc, char **argv)
{
  g_autoptr (WzpIdentity) id = NULL;
  GError *error = NULL;

  if (argc != 2) {
    g_printerr ("usage: wzp fingerprint FILE\n");
    return 2;
  }
  id = wzp_identity_load (argv[1], &error);
  if (id == NULL)
    return wzp_tool_fail (error);
  g_print ("%s\n", wzp_identity_get_fingerprint (id));
  return 0;
}

/* --- echo ------------------------------------------------------------- */

WzpIdentity *
wzp_tool_load_identity (const char *path, GError ** error)
{
  if (path == NULL)
    return wzp_identity_generate ();
  return wzp_identity_load_or_create (path, NULL, error);
}

static void
echo_message (WzpConnection * conn, GBytes * msg, gpointer data)
{
  gsize len;
  const guint8 *bytes = g_bytes_get_data (msg, &len);

  wzp_connection_send_message (conn, bytes, len, NULL);
}

static void
echo_datagram (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  wzp_connection_send_datagram (conn, data, len);
}

static void
on_server_closed (WzpConnection * conn, const GError * reason, gpointer data)
{
  g_print ("closed %s: %s\n", wzp_connection_get_peer_fingerprint (conn),
      reason->message);
}

static void
on_incoming (WzpEndpoint * ep, WzpConnection * conn, gpointer data)
{
  g_autoptr (GSocketAddress) from = wzp_connection_get_remote_address (conn);
  g_autofree char *text = wzp_socket_address_to_string (from);

  g_print ("connection from %s (%s)\n", text,
      wzp_connection_get_peer_fingerprint (conn));
  g_signal_connect (conn, "message", G_CALLBACK (echo_message), NULL);
  g_signal_connect (conn, "closed", G_CALLBACK (on_server_closed), NULL);
  wzp_connection_set_datagram_handler (conn, echo_datagram, NULL, NULL);
}

static int
cmd_echo_server (int argc, char **argv)
{
  g_autofree char *listen = NULL;
  g_autofree char *identity_path = NULL;
  GOptionEntry entries[] = {
    {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
        "Address to listen on (default 127.0.0.1:4433)", "ADDR"},
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity_path,
        "Identity file (created if missing; default: a new one)", "FILE"},
    {NULL}
  };
  g_autoptr (WzpIdentity) id = NULL;
  g_autoptr (WzpEndpoint) ep = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  GError *error = NULL;

  if (!wzp_tool_parse (entries, "- echo QUIC messages and datagrams", &argc,
          &argv))
    return 2;
  /* Defaults after parsing: GOption overwrites a preset string without
   * freeing it. */
  if (listen == NULL)
    listen = g_strdup ("127.0.0.1:4433");
  if (!(id = wzp_tool_load_identity (identity_path, &error)) ||
      !(addr = wzp_socket_address_parse (listen, &error)) ||
      !(ep = wzp_endpoint_new (NULL, id, NULL, &error)) ||
      !wzp_endpoint_bind (ep, addr, &error))
    return wzp_tool_fail (error);
  g_object_set (ep, "accept-incoming", TRUE, NULL);
  g_signal_connect (ep, "incoming-connection", G_CALLBACK (on_incoming), NULL);
  g_print ("echo server on %s, fingerprint %s\n", listen,
      wzp_identity_get_fingerprint (id));
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, NULL);
  g_unix_signal_add (SIGTERM, on_signal, NULL);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  wzp_endpoint_close_all (ep, 0, "server shutting down");
  return 0;
}

typedef struct
{
  WzpConnection *conn;
  guint n_messages;
  guint n_datagrams;
  guint sent_messages;
  guint sent_datagrams;
  guint echoed_messages;
  guint echoed_datagrams;
  gboolean failed;
  GError *error;
  guint64 first_send_ns;
} EchoClient;

static void
client_got_message (WzpConnection * conn, GBytes * msg, gpointer data)
{
  EchoClient *c = data;
  g_autofree char *want = g_strdup_printf ("message %u", c->echoed_messages);

  if (g_bytes_get_size (msg) != strlen (want) ||
      memcmp (g_bytes_get_data (msg, NULL), want, strlen (want)) != 0)
    c->failed = TRUE;
  c->echoed_messages++;
}

static void
client_got_datagram (WzpConnection * conn, const guint8 * data, gsize len,
    gpointer user_data)
{
  EchoClient *c = user_data;

  c->echoed_datagrams++;
}

static void
client_closed (WzpConnection * conn, const GError * reason, gpointer data)
{
  EchoClient *c = data;

  c->error = g_error_copy (reason);
  g_main_loop_quit (loop);
}

static gboolean
client_tick (gpointer data)
{
  EchoClient *c = data;
  guint burst = 0;

  if (wzp_connection_get_state (c->conn) != WZP_CONNECTION_STATE_CONNECTED)
    return G_SOURCE_CONTINUE;
  while (c->sent_messages < c->n_messages) {
    g_autofree char *m = g_strdup_printf ("message %u", c->sent_messages++);
    wzp_connection_send_message (c->conn, (guint8 *) m, strlen (m), NULL);
  }
  /* A bounded window, like a real-time sender. */
  while (c->sent_datagrams < c->n_datagrams &&
      c->sent_datagrams - c->echoed_datagrams < 32 && burst++ < 32) {
    guint8 buf[160] = { 0 };
    memcpy (buf, &c->sent_datagrams, sizeof c->sent_datagrams);
    wzp_connection_send_datagram (c->conn, buf, sizeof buf);
    c->sent_datagrams++;
  }
  if (c->echoed_messages == c->n_messages &&
      c->echoed_datagrams == c->n_datagrams)
    g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
client_timeout (gpointer data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static int
cmd_echo_client (int argc, char **argv)
{
  g_autofree char *server = NULL;
  g_autofree char *identity_path = NULL;
  g_autofree char *pin = NULL;
  gint n_messages = 10, n_datagrams = 1000, timeout_s = 20;
  GOptionEntry entries[] = {
    {"server", 's', 0, G_OPTION_ARG_STRING, &server,
        "Echo server address (default 127.0.0.1:4433)", "ADDR"},
    {"server-fingerprint", 'p', 0, G_OPTION_ARG_STRING, &pin,
        "Refuse a server with another identity", "FP"},
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity_path,
        "Identity file (default: a new one)", "FILE"},
    {"messages", 'm', 0, G_OPTION_ARG_INT, &n_messages,
        "Messages to send (default 10)", "N"},
    {"datagrams", 'd', 0, G_OPTION_ARG_INT, &n_datagrams,
        "Datagrams to send (default 1000)", "N"},
    {"timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
        "Give up after this many seconds (default 20)", "S"},
    {NULL}
  };
  g_autoptr (WzpIdentity) id = NULL;
  g_autoptr (WzpEndpoint) ep = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  EchoClient c = { 0 };
  WzpConnectionStats st;
  GError *error = NULL;
  gboolean ok;

  if (!wzp_tool_parse (entries, "- send to an echo server and check the echoes",
          &argc, &argv))
    return 2;
  /* Defaults after parsing: GOption overwrites a preset string without
   * freeing it. */
  if (server == NULL)
    server = g_strdup ("127.0.0.1:4433");
  if (!(id = wzp_tool_load_identity (identity_path, &error)) ||
      !(addr = wzp_socket_address_parse (server, &error)) ||
      !(ep = wzp_endpoint_new (NULL, id, NULL, &error)) ||
      !wzp_endpoint_bind_any (ep, 0, FALSE, &error) ||
      !(c.conn = wzp_endpoint_connect (ep, addr, pin, &error)))
    return wzp_tool_fail (error);
  c.n_messages = MAX (n_messages, 0);
  c.n_datagrams = MAX (n_datagrams, 0);
  g_signal_connect (c.conn, "message", G_CALLBACK (client_got_message), &c);
  g_signal_connect (c.conn, "closed", G_CALLBACK (client_closed), &c);
  wzp_connection_set_datagram_handler (c.conn, client_got_datagram, &c, NULL);
  loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (5, client_tick, &c);
  g_timeout_add_seconds (timeout_s, client_timeout, &c);
  g_main_loop_run (loop);
  g_clear_pointer (&loop, g_main_loop_unref);
  /* c lives on this stack; the connection outlives it while closing. */
  g_signal_handlers_disconnect_by_data (c.conn, &c);
  wzp_connection_set_datagram_handler (c.conn, NULL, NULL, NULL);

  wzp_connection_get_stats (c.conn, &st);
  ok = !c.failed && c.error == NULL && c.echoed_messages == c.n_messages &&
      c.echoed_datagrams == c.n_datagrams;
  g_print ("server %s\n", wzp_connection_get_peer_fingerprint (c.conn) ?
      wzp_connection_get_peer_fingerprint (c.conn) : "(none)");
  g_print ("messages  %u/%u echoed\n", c.echoed_messages, c.n_messages);
  g_print ("datagrams %u/%u echoed, %" G_GUINT64_FORMAT " lost, %"
      G_GUINT64_FORMAT " dropped\n", c.echoed_datagrams, c.n_datagrams,
      st.datagrams_lost, st.datagrams_dropped);
  g_print ("rtt %.3f ms (min %.3f ms), %" G_GUINT64_FORMAT " packets sent, %"
      G_GUINT64_FORMAT " received\n", st.rtt_ns / 1e6, st.min_rtt_ns / 1e6,
      st.packets_sent, st.packets_received);
  if (c.error)
    g_printerr ("wzp: %s\n", c.error->message);
  else
    wzp_connection_close (c.conn, 0, "done");
  g_clear_error (&c.error);
  g_object_unref (c.conn);
  g_print ("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

static const struct
{
  const char *name;
  CommandFunc func;
  const char *help;
} commands[] = {
  {"keygen", cmd_keygen, "create an identity file and print its fingerprint"},
  {"fingerprint", cmd_fingerprint, "print the fingerprint of an identity"},
  {"echo-server", cmd_echo_server, "echo QUIC messages and datagrams"},
  {"echo-client", cmd_echo_client, "test an echo server"},
  {"call", wzp_tool_cmd_call, "place, answer or join a call; report as JSON"},
  {"invite", wzp_tool_cmd_invite, "admit a member to a room you own"},
};

static void
usage (void)
{
  g_printerr ("usage: wzp COMMAND [OPTIONS]\n\ncommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_printerr ("  %-12s %s\n", commands[i].name, commands[i].help);
  g_printerr ("\n'wzp COMMAND --help' describes a command's options.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2 || g_str_equal (argv[1], "--help") ||
      g_str_equal (argv[1], "-h")) {
    usage ();
    return argc < 2 ? 2 : 0;
  }
  if (g_str_equal (argv[1], "--version")) {
    g_print ("wzp %s\n", WZP_VERSION);
    return 0;
  }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].func (argc - 1, argv + 1);
  }
  g_printerr ("wzp: unknown command '%s'\n\n", argv[1]);
  usage ();
  return 2;
}
