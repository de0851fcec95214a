/* wzp-relay — the relay daemon
 *
 *   wzp-relay [--listen ADDR:PORT] [--probe-listen ADDR:PORT|none]
 *             [--media-listen ADDR:PORT|none] [--workers N]
 *             [--identity FILE] [--metrics ADDR:PORT] [--config FILE]
 *             [--ring-timeout SECONDS] [--debug SPEC] [--LIMIT VALUE...]
 *             [--redis URL [--advertise IP:PORT] [--drain-timeout S]]
 *             [--check-config] [--version]
 *
 * With --redis it is one node of a cluster (docs/CLUSTER.md): SIGTERM
 * then drains it (no new registrations, idle clients move to other
 * nodes, it exits when its calls have ended or at --drain-timeout); a
 * second SIGTERM, or SIGINT, stops it at once.
 *
 * Every option is also a key of the config file (tools/wzp-relay-config.c
 * has the table; docs/RELAY.md documents each one, its default and why).
 * Exit status: 0 ok, 1 could not start or run, 2 bad command line or
 * config file.  Under systemd (Type=notify) it reports READY=1 once it
 * listens and STOPPING=1 when asked to stop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib-unix.h>

#include "wzp-relay.h"
#include "wzp-relay-config.h"
#include "wzp-log-private.h"

static GMainLoop *loop;
static WzpRelay *the_relay;

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (a
 * path, or an abstract socket when it starts with '@'). */
static void
notify_systemd (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un sa = { 0 };
  socklen_t len;
  int fd;

  if (path == NULL || (path[0] != '/' && path[0] != '@') ||
      strlen (path) >= sizeof sa.sun_path)
    return;
  sa.sun_family = AF_UNIX;
  strcpy (sa.sun_path, path);
  if (path[0] == '@')
    sa.sun_path[0] = '\0';
  len = offsetof (struct sockaddr_un, sun_path) + strlen (path);
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  if (sendto (fd, state, strlen (state), MSG_NOSIGNAL,
          (struct sockaddr *) &sa, len) < 0)
    g_printerr ("wzp-relay: cannot notify systemd: %s\n", g_strerror (errno));
  close (fd);
}

static void
on_drained (WzpRelay * relay, gpointer data)
{
  g_printerr ("wzp-relay: drained, shutting down\n");
  g_main_loop_quit (loop);
}

static gboolean
on_signal (gpointer data)
{
  static gboolean draining;
  guint64 timeout = 0;

  /* A cluster node drains first: its clients move, its calls end. */
  if (!draining && g_str_equal (data, "SIGTERM") &&
      wzp_relay_is_clustered (the_relay)) {
    draining = TRUE;
    g_object_get (the_relay, "drain-timeout", &timeout, NULL);
    if (wzp_relay_drain (the_relay, timeout)) {
      g_printerr ("wzp-relay: SIGTERM received, draining (at most %"
          G_GUINT64_FORMAT " s; SIGTERM again stops now)\n",
          timeout / WZP_NSEC_PER_SEC);
      notify_systemd ("STOPPING=1\nSTATUS=draining");
      return G_SOURCE_CONTINUE;
    }
  }
  g_printerr ("wzp-relay: %s received, shutting down\n", (char *) data);
  notify_systemd ("STOPPING=1");
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static int
fail (int status, const char *what, GError * error)
{
  if (what)
    g_printerr ("wzp-relay: %s: %s\n", what, error->message);
  else
    g_printerr ("wzp-relay: %s\n", error->message);
  g_error_free (error);
  return status;
}

/* The probe port defaults to the listen port + 1 on the same host. */
static char *
default_probe (const char *listen, GError ** error)
{
  g_autoptr (GSocketAddress) addr = wzp_socket_address_parse (listen, error);
  g_autoptr (GSocketAddress) probe = NULL;
  GInetSocketAddress *in;
  guint16 port;

  if (addr == NULL)
    return NULL;
  in = G_INET_SOCKET_ADDRESS (addr);
  port = g_inet_socket_address_get_port (in);
  probe = g_inet_socket_address_new (g_inet_socket_address_get_address (in),
      port == 0 ? 0 : port + 1);
  return wzp_socket_address_to_string (probe);
}

static char *
default_identity_path (void)
{
  const char *state = g_getenv ("STATE_DIRECTORY");

  /* systemd may pass several, colon-separated: take the first. */
  if (state && *state) {
    g_auto (GStrv) dirs = g_strsplit (state, ":", 2);
    return g_build_filename (dirs[0], "relay.key", NULL);
  }
  return g_strdup ("relay.key");
}

int
main (int argc, char **argv)
{
  g_autoptr (WzpRelayConfig) config = wzp_relay_config_new ();
  g_autofree char *listen = NULL;
  g_autofree char *probe = NULL;
  g_autofree char *identity_path = NULL;
  g_autoptr (WzpIdentity) id = NULL;
  g_autoptr (WzpRelay) relay = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocketAddress) probe_bound = NULL;
  g_autoptr (GSocketAddress) metrics_bound = NULL;
  g_autoptr (GSocketAddress) media_bound = NULL;
  g_autofree char *bound_s = NULL;
  GError *error = NULL;
  gboolean created = FALSE;
  const char *debug;

  if (!wzp_relay_config_load (config, &argc, &argv, &error))
    return fail (WZP_RELAY_EXIT_USAGE, NULL, error);
  if (wzp_relay_config_get_flag (config, "version")) {
    g_print ("wzp-relay %s\n", WZP_VERSION);
    return WZP_RELAY_EXIT_OK;
  }
  listen = g_strdup (wzp_relay_config_get (config, "listen"));
  if (listen == NULL)
    listen = g_strdup ("0.0.0.0:4433");
  probe = g_strdup (wzp_relay_config_get (config, "probe-listen"));
  if (probe == NULL && !(probe = default_probe (listen, &error)))
    return fail (WZP_RELAY_EXIT_USAGE, "listen", error);
  if (g_strcmp0 (probe, "none") == 0)
    g_clear_pointer (&probe, g_free);
  identity_path = g_strdup (wzp_relay_config_get (config, "identity"));
  if (identity_path == NULL)
    identity_path = default_identity_path ();

  /* Readable by default: what the relay does, not every packet. */
  wzp_log_set_threshold ("wzprelay", WZP_LOG_INFO);
  debug = wzp_relay_config_get (config, "debug");
  if (debug)
    wzp_log_parse_spec (debug);

  if (wzp_relay_config_get_flag (config, "check-config")) {
    g_autoptr (WzpIdentity) any = wzp_identity_generate ();
    g_autofree char *text = NULL;

    relay = g_object_new (WZP_TYPE_RELAY, "identity", any, NULL);
    wzp_relay_config_apply (config, relay);
    text = wzp_relay_config_dump (config, relay);
    g_print ("%s", text);
    return WZP_RELAY_EXIT_OK;
  }

  id = wzp_identity_load_or_create_full (identity_path,
      wzp_relay_config_get_flag (config, "allow-insecure-identity") ?
      WZP_IDENTITY_LOAD_ALLOW_INSECURE : WZP_IDENTITY_LOAD_NONE, &created,
      &error);
  if (id == NULL) {
    gboolean perms = g_error_matches (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_PERMISSIONS);
    int status = fail (WZP_RELAY_EXIT_FAILED, NULL, error);

    if (perms)
      g_printerr ("wzp-relay: --allow-insecure-identity (or "
          "allow-insecure-identity = true in [relay]) overrides this\n");
    return status;
  }
  if (created)
    g_printerr ("wzp-relay: created a new identity in %s\n", identity_path);
  relay = g_object_new (WZP_TYPE_RELAY, "identity", id, "listen-address",
      listen, "probe-address", probe, "metrics-address",
      wzp_relay_config_get (config, "metrics"), "media-address",
      wzp_relay_config_get (config, "media-listen"), "media-advertise",
      wzp_relay_config_get (config, "media-advertise"), "redis-url",
      wzp_relay_config_get (config, "redis"), "redis-password",
      wzp_relay_config_get (config, "redis-password"), "advertise-address",
      wzp_relay_config_get (config, "advertise"), NULL);
  wzp_relay_config_apply (config, relay);
  if (!wzp_relay_start (relay, &error))
    return fail (WZP_RELAY_EXIT_FAILED, "start", error);
  the_relay = relay;
  g_signal_connect (relay, "drained", G_CALLBACK (on_drained), NULL);

  /* Before the banner: whoever reads it may signal us at once. */
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, "SIGINT");
  g_unix_signal_add (SIGTERM, on_signal, "SIGTERM");

  bound = wzp_relay_get_listen_address (relay);
  bound_s = wzp_socket_address_to_string (bound);
  probe_bound = wzp_relay_get_probe_address (relay);
  metrics_bound = wzp_relay_get_metrics_address (relay);
  media_bound = wzp_relay_get_media_address (relay);
  {
    g_autofree char *p = probe_bound ?
        wzp_socket_address_to_string (probe_bound) : g_strdup ("none");
    g_autofree char *media = media_bound ?
        wzp_socket_address_to_string (media_bound) : g_strdup ("none");
    guint workers = wzp_relay_get_media_workers (relay);
    g_autofree char *m = metrics_bound ?
        wzp_socket_address_to_string (metrics_bound) : NULL;
    g_autofree char *status = NULL;

    g_print ("wzp-relay %s fingerprint %s listening on %s (probe %s, media "
        "%s, %u worker%s%s%s%s)\n", WZP_VERSION,
        wzp_relay_get_fingerprint (relay), bound_s, p, media, workers,
        workers == 1 ? "" : "s", m ? ", metrics http://" : "", m ? m : "",
        m ? "/metrics" : "");
    if (wzp_relay_is_clustered (relay))
      g_print ("wzp-relay: a node of a cluster on Redis (docs/CLUSTER.md)\n");
    fflush (stdout);
    status = g_strdup_printf ("READY=1\nSTATUS=listening on %s, "
        "fingerprint %s", bound_s, wzp_relay_get_fingerprint (relay));
    notify_systemd (status);
  }

  g_main_loop_run (loop);
  g_main_loop_unref (loop);

  wzp_relay_stop (relay);
  /* Let the CONNECTION_CLOSEs leave and libsoup free the HTTP clients it
   * disconnected (it does so from idle callbacks). */
  for (guint i = 0; i < 1000 && g_main_context_iteration (NULL, FALSE); i++);
  g_print ("wzp-relay stopped\n");
  return WZP_RELAY_EXIT_OK;
}
