/* wzp-relay — the relay daemon
 *
 *   wzp-relay [--listen ADDR:PORT] [--probe-listen ADDR:PORT|none]
 *             [--identity FILE] [--metrics ADDR:PORT] [--config FILE]
 *             [--ring-timeout SECONDS] [--debug SPEC]
 *
 * The config file is a GKeyFile with a [relay] section and the same keys
 * (listen, probe-listen, identity, metrics, ring-timeout, debug);
 * command-line options win.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "wzp-relay.h"
#include "wzp-log-private.h"

static GMainLoop *loop;

static gboolean
on_signal (gpointer data)
{
  g_printerr ("wzp-relay: %s received, shutting down\n", (char *) data);
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static int
fail (const char *what, GError * error)
{
  g_printerr ("wzp-relay: %s: %s\n", what, error->message);
  g_error_free (error);
  return 1;
}

/* Takes @key from the config unless the command line set it. */
static void
from_config (GKeyFile * kf, const char *key, char **value)
{
  if (*value == NULL && kf)
    *value = g_key_file_get_string (kf, "relay", key, NULL);
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
  g_autofree char *listen = NULL;
  g_autofree char *probe = NULL;
  g_autofree char *identity_path = NULL;
  g_autofree char *metrics = NULL;
  g_autofree char *config = NULL;
  g_autofree char *ring = NULL;
  g_autofree char *debug = NULL;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
        "Signaling address (default 0.0.0.0:4433)", "ADDR:PORT"},
    {"probe-listen", 'p', 0, G_OPTION_ARG_STRING, &probe,
          "NAT probe address (default: listen port + 1; 'none' for none)",
        "ADDR:PORT"},
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity_path,
        "Identity file, created if missing (default: "
          "$STATE_DIRECTORY/relay.key or ./relay.key)", "FILE"},
    {"metrics", 'm', 0, G_OPTION_ARG_STRING, &metrics,
        "Serve Prometheus metrics on http://ADDR:PORT/metrics", "ADDR:PORT"},
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
        "Key file with a [relay] section", "FILE"},
    {"ring-timeout", 0, 0, G_OPTION_ARG_STRING, &ring,
        "Seconds a call may ring (default 30)", "SECONDS"},
    {"debug", 'd', 0, G_OPTION_ARG_STRING, &debug,
        "Log levels, e.g. 'wzprelay:5,wzpquic:4'", "SPEC"},
    {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL},
    {NULL}
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- wzp relay");
  g_autoptr (GKeyFile) kf = NULL;
  g_autoptr (WzpIdentity) id = NULL;
  g_autoptr (WzpRelay) relay = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocketAddress) probe_bound = NULL;
  g_autoptr (GSocketAddress) metrics_bound = NULL;
  g_autofree char *bound_s = NULL;
  GError *error = NULL;
  gboolean created = FALSE;
  guint64 ring_ns = WZP_RELAY_DEFAULT_RING_TIMEOUT;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    return fail ("options", error);
  if (version) {
    g_print ("wzp-relay %s\n", WZP_VERSION);
    return 0;
  }
  if (config) {
    kf = g_key_file_new ();
    if (!g_key_file_load_from_file (kf, config, G_KEY_FILE_NONE, &error))
      return fail (config, error);
  }
  from_config (kf, "listen", &listen);
  from_config (kf, "probe-listen", &probe);
  from_config (kf, "identity", &identity_path);
  from_config (kf, "metrics", &metrics);
  from_config (kf, "ring-timeout", &ring);
  from_config (kf, "debug", &debug);
  if (listen == NULL)
    listen = g_strdup ("0.0.0.0:4433");
  if (probe == NULL && !(probe = default_probe (listen, &error)))
    return fail ("--listen", error);
  if (g_strcmp0 (probe, "none") == 0)
    g_clear_pointer (&probe, g_free);
  if (identity_path == NULL)
    identity_path = default_identity_path ();
  if (ring) {
    char *end = NULL;
    double s = g_ascii_strtod (ring, &end);
    if (end == ring || *end != '\0' || s <= 0 || s > 3600) {
      g_printerr ("wzp-relay: --ring-timeout: '%s' is not 0 < seconds <= "
          "3600\n", ring);
      return 2;
    }
    ring_ns = (guint64) (s * WZP_NSEC_PER_SEC);
  }

  /* Readable by default: what the relay does, not every packet. */
  wzp_log_set_threshold ("wzprelay", WZP_LOG_INFO);
  if (debug)
    wzp_log_parse_spec (debug);

  id = wzp_identity_load_or_create (identity_path, &created, &error);
  if (id == NULL)
    return fail (identity_path, error);
  if (created)
    g_printerr ("wzp-relay: created a new identity in %s\n", identity_path);

  relay = g_object_new (WZP_TYPE_RELAY, "identity", id,
      "listen-address", listen, "probe-address", probe,
      "metrics-address", metrics, "ring-timeout", ring_ns, NULL);
  if (!wzp_relay_start (relay, &error))
    return fail ("start", error);

  /* Before the banner: whoever reads it may signal us at once. */
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, "SIGINT");
  g_unix_signal_add (SIGTERM, on_signal, "SIGTERM");

  bound = wzp_relay_get_listen_address (relay);
  bound_s = wzp_socket_address_to_string (bound);
  probe_bound = wzp_relay_get_probe_address (relay);
  metrics_bound = wzp_relay_get_metrics_address (relay);
  {
    g_autofree char *p = probe_bound ?
        wzp_socket_address_to_string (probe_bound) : g_strdup ("none");
    g_autofree char *m = metrics_bound ?
        wzp_socket_address_to_string (metrics_bound) : NULL;
    g_print ("wzp-relay %s fingerprint %s listening on %s (probe %s%s%s%s)\n",
        WZP_VERSION, wzp_relay_get_fingerprint (relay), bound_s, p,
        m ? ", metrics http://" : "", m ? m : "", m ? "/metrics" : "");
    fflush (stdout);
  }

  g_main_loop_run (loop);
  g_main_loop_unref (loop);

  wzp_relay_stop (relay);
  /* Let the CONNECTION_CLOSEs leave and libsoup free the HTTP clients it
   * disconnected (it does so from idle callbacks). */
  for (guint i = 0; i < 1000 && g_main_context_iteration (NULL, FALSE); i++);
  g_print ("wzp-relay stopped\n");
  return 0;
}
