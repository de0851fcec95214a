/* wzp-path-probe — run one side of the direct-path race without a relay
 *
 * For NAT labs: start one on each host at about the same moment, each
 * told the other's fingerprint and candidates and the same token.  It
 * prints every path change, sends a 20-byte media packet every
 * --media-interval ms while the path is direct, and ends with one line of
 * key=value stats.  Exit status: 0 when the path was direct at some point
 * (with --expect relay: never), 1 otherwise.
 *
 *   wzp-path-probe --bind 0.0.0.0:4500 --identity a.key \
 *       --peer FINGERPRINT --candidates 10.0.1.2:4500,198.51.100.7:4500 \
 *       --token 00112233445566778899aabbccddeeff --duration 10
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib-unix.h>

#include "wzp-path.h"
#include "wzp-log-private.h"

static GMainLoop *loop;
static guint64 t0;
static guint64 media_received;
static gboolean was_direct;

static gboolean
quit (gpointer data)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
on_path_changed (WzpPathManager * pm, WzpPathKind path, const char *reason,
    gpointer data)
{
  g_print ("t=%" G_GINT64_FORMAT "ms path=%s reason=\"%s\"\n",
      (g_get_monotonic_time () - (gint64) t0) / 1000,
      wzp_path_kind_to_string (path), reason);
  if (path == WZP_PATH_DIRECT)
    was_direct = TRUE;
}

static void
on_race_finished (WzpPathManager * pm, gboolean direct, const char *reason,
    gpointer data)
{
  g_print ("t=%" G_GINT64_FORMAT "ms race=%s reason=\"%s\"\n",
      (g_get_monotonic_time () - (gint64) t0) / 1000,
      direct ? "direct" : "failed", reason);
}

static void
on_media (const guint8 * data, gsize len, gpointer user_data)
{
  media_received++;
}

static gboolean
send_media (gpointer data)
{
  static const guint8 pkt[20] = "wzp-path-probe media";

  wzp_path_manager_send (data, pkt, sizeof pkt);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_token (const char *hex, guint8 out[WZP_PATH_TOKEN_LEN])
{
  if (hex == NULL || strlen (hex) != 2 * WZP_PATH_TOKEN_LEN)
    return FALSE;
  for (guint i = 0; i < WZP_PATH_TOKEN_LEN; i++) {
    int hi = g_ascii_xdigit_value (hex[2 * i]);
    int lo = g_ascii_xdigit_value (hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return FALSE;
    out[i] = (guint8) (hi << 4 | lo);
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *bind = NULL;
  g_autofree char *identity_path = NULL;
  g_autofree char *peer = NULL;
  g_autofree char *candidates = NULL;
  g_autofree char *token = NULL;
  g_autofree char *local_nat = NULL;
  g_autofree char *peer_nat = NULL;
  g_autofree char *policy = NULL;
  g_autofree char *expect = NULL;
  g_autofree char *peer_reflexive = NULL;
  int duration = 10, media_interval = 20, spray = 0;
  gboolean loopback = FALSE;
  GOptionEntry entries[] = {
    {"bind", 'b', 0, G_OPTION_ARG_STRING, &bind,
        "Address to bind (default 0.0.0.0:4500)", "ADDR"},
    {"identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity_path,
        "Identity file (created if missing; default: a new identity)", "FILE"},
    {"peer", 'p', 0, G_OPTION_ARG_STRING, &peer, "Peer fingerprint", "FP"},
    {"candidates", 'c', 0, G_OPTION_ARG_STRING, &candidates,
        "Peer candidates, comma-separated ip:port", "LIST"},
    {"token", 't', 0, G_OPTION_ARG_STRING, &token,
        "Call token, 32 hex digits, the same on both sides", "HEX"},
    {"peer-reflexive", 0, 0, G_OPTION_ARG_STRING, &peer_reflexive,
        "The peer's address as a relay would see it (its NAT's)", "ADDR"},
    {"spray", 0, 0, G_OPTION_ARG_INT, &spray,
        "Symmetric-NAT moonshot: when accepting a peer behind an EDM NAT, "
          "punch this many random ports of its reflexive address per race "
          "(default 0: off)", "N"},
    {"local-nat", 0, 0, G_OPTION_ARG_STRING, &local_nat,
        "Our NAT: unknown, eim, edm", "TYPE"},
    {"peer-nat", 0, 0, G_OPTION_ARG_STRING, &peer_nat,
        "Peer's NAT: unknown, eim, edm", "TYPE"},
    {"policy", 0, 0, G_OPTION_ARG_STRING, &policy,
        "auto, direct-only or relay-only", "POLICY"},
    {"duration", 'd', 0, G_OPTION_ARG_INT, &duration,
        "Seconds to run (default 10)", "S"},
    {"media-interval", 0, 0, G_OPTION_ARG_INT, &media_interval,
        "Milliseconds between media packets (default 20; 0 for none)", "MS"},
    {"loopback", 0, 0, G_OPTION_ARG_NONE, &loopback,
        "Also list loopback host candidates", NULL},
    {"expect", 0, 0, G_OPTION_ARG_STRING, &expect,
        "Path to expect: direct (reached at some point) or relay (never "
          "left it); sets the exit status", "PATH"},
    {NULL}
  };
  g_autoptr (GOptionContext) octx = g_option_context_new
      ("- race to a direct path with a peer, without a relay");
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpIdentity) id = NULL;
  g_autoptr (WzpEndpoint) ep = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (WzpCandidates) mine = NULL;
  g_autoptr (WzpCandidates) theirs = NULL;
  g_autoptr (WzpPathManager) pm = NULL;
  g_auto (GStrv) cand_list = NULL;
  g_auto (GStrv) mine_strv = NULL;
  g_autofree char *mine_text = NULL;
  WzpPathConfig config;
  WzpPathStats st;
  gboolean ok;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error)) {
    g_printerr ("wzp-path-probe: %s\n", error->message);
    return 2;
  }
  /* Defaults after parsing: GOption overwrites a preset string without
   * freeing it. */
  if (expect == NULL)
    expect = g_strdup ("direct");
  if (bind == NULL)
    bind = g_strdup ("0.0.0.0:4500");
  wzp_path_config_init (&config);
  if ((local_nat && !wzp_nat_type_from_string (local_nat, &config.local_nat))
      || (peer_nat && !wzp_nat_type_from_string (peer_nat, &config.peer_nat))
      || (policy && !wzp_path_policy_from_string (policy, &config.policy))
      || !parse_token (token, config.call_token) || peer == NULL) {
    g_printerr ("wzp-path-probe: need --peer, --token (32 hex digits), and "
        "valid --local-nat/--peer-nat/--policy; see --help\n");
    return 2;
  }
  id = identity_path ? wzp_identity_load_or_create (identity_path, NULL,
      &error) : wzp_identity_generate ();
  if (id == NULL || !(addr = wzp_socket_address_parse (bind, &error))
      || !(ep = wzp_endpoint_new (NULL, id, NULL, &error))
      || !wzp_endpoint_bind (ep, addr, &error)
      || !(mine = wzp_candidates_gather (ep, loopback ? WZP_GATHER_LOOPBACK :
              WZP_GATHER_NONE, &error)))
    goto failed;
  cand_list = g_strsplit (candidates ? candidates : "", ",", -1);
  theirs = wzp_candidates_new_from_strv (WZP_CANDIDATE_HOST,
      (const char *const *) (candidates && *candidates ? cand_list : NULL),
      &error);
  if (theirs == NULL)
    goto failed;
  if (peer_reflexive && !wzp_candidates_add_string (theirs,
          WZP_CANDIDATE_REFLEXIVE, peer_reflexive, &error))
    goto failed;
  mine_strv = wzp_candidates_to_strv (mine);
  mine_text = g_strjoinv (",", mine_strv);
  g_print ("fingerprint=%s candidates=%s\n",
      wzp_identity_get_fingerprint (id), mine_text);

  config.peer_fingerprint = peer;
  config.local_candidates = mine;
  config.peer_candidates = theirs;
  config.spray_ports = MAX (spray, 0);
  if (!(pm = wzp_path_manager_new (ep, &config, &error)))
    goto failed;
  g_print ("role=%s\n", wzp_path_role_to_string (wzp_path_manager_get_role
          (pm)));
  g_signal_connect (pm, "path-changed", G_CALLBACK (on_path_changed), NULL);
  g_signal_connect (pm, "race-finished", G_CALLBACK (on_race_finished), NULL);
  wzp_path_manager_set_media_handler (pm, on_media, NULL, NULL);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit, NULL);
  g_unix_signal_add (SIGTERM, quit, NULL);
  g_timeout_add_seconds (MAX (duration, 1), quit, NULL);
  if (media_interval > 0)
    g_timeout_add (media_interval, send_media, pm);
  t0 = g_get_monotonic_time ();
  if (!wzp_path_manager_start (pm, &error))
    goto failed;
  g_main_loop_run (loop);
  g_main_loop_unref (loop);

  wzp_path_manager_get_stats (pm, &st);
  g_print ("path=%s role=%s race_ms=%" G_GUINT64_FORMAT " agree_ms=%"
      G_GUINT64_FORMAT " rtt_us=%" G_GUINT64_FORMAT " punches_sent=%"
      G_GUINT64_FORMAT " punches_received=%" G_GUINT64_FORMAT " punches_bad=%"
      G_GUINT64_FORMAT " probes_sent=%" G_GUINT64_FORMAT " probes_answered=%"
      G_GUINT64_FORMAT " failovers=%" G_GUINT64_FORMAT " restores=%"
      G_GUINT64_FORMAT " media_sent=%" G_GUINT64_FORMAT " media_received=%"
      G_GUINT64_FORMAT " sprayed=%" G_GUINT64_FORMAT "\n",
      wzp_path_kind_to_string (st.path),
      wzp_path_role_to_string (st.role), st.race_time_ns / WZP_NSEC_PER_MSEC,
      st.agree_time_ns / WZP_NSEC_PER_MSEC, st.direct_rtt_ns / 1000,
      st.punches_sent, st.punches_received, st.punches_bad, st.probes_sent,
      st.probes_answered, st.failovers, st.restores, st.media_sent,
      media_received, st.sprayed);
  ok = g_str_equal (expect, "relay") ? !was_direct : was_direct;
  wzp_path_manager_stop (pm);
  return ok ? 0 : 1;

failed:
  g_printerr ("wzp-path-probe: %s\n", error->message);
  return 1;
}
