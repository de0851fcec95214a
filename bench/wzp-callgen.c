/* wzp-callgen — how many calls per second relays can set up
 *
 *   wzp-callgen --relay ADDR [--callee-relay ADDR] --pairs P
 *               [--warmup S] [--duration S]
 *
 * P callers register at --relay and P callees at --callee-relay (the same
 * relay by default): real libwzp signaling clients (their own socket and
 * identity each; this bypasses WzpCall, and the offers and answers are
 * empty objects, which the relay does not read).  Each caller calls its
 * callee, which answers at once; when the caller's call-setup arrives the
 * call counts as set up, the caller hangs up, and once call-ended came
 * back it calls again.  Across two nodes of a cluster the call lives at
 * the callee's node and the caller opens a media leg there when it rings,
 * and drops it when the call ends, as WzpCall does: every call pays for a
 * leg handshake.
 *
 * After --warmup it counts for --duration and prints one JSON line:
 * {"pairs", "calls", "duration", "calls_per_s", "setup_ms": {p50, p90,
 * p99, max}, "errors"} where setup is the caller's call -> call-setup.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "wzp-signal-client.h"
#include "wzp-identity.h"
#include "wzp-random.h"
#include "wzp-log.h"

typedef struct
{
  WzpIdentity *id;
  WzpEndpoint *ep;
  WzpSignalClient *sc;
  WzpSignalClient *leg;         /* caller: to the node hosting the call */
  gboolean registered;
  char *call_id;
  gint64 placed;
  gboolean is_caller;
  char *peer_fp;
} Party;

static struct
{
  char *relay;
  char *callee_relay;
  gint pairs;
  gdouble warmup;
  gdouble duration;
  GMainLoop *loop;
  Party *callers;
  Party *callees;
  gint registered;
  gboolean running;
  gint64 measure_from;
  gint64 measure_to;
  GArray *setup_us;
  guint errors;
} g;

#define die(...) G_STMT_START {                                         \
    fprintf (stderr, "wzp-callgen: ");                                  \
    fprintf (stderr, __VA_ARGS__);                                      \
    fprintf (stderr, "\n");                                             \
    exit (1);                                                           \
  } G_STMT_END

static void place (Party * p);

static void
drop_leg (Party * p)
{
  if (p->leg) {
    wzp_signal_client_stop (p->leg);
    g_clear_object (&p->leg);
  }
}

static void
on_media_relay (WzpSignalClient * sc, const char *scope, GSocketAddress * addr,
    const char *fp, gpointer user_data)
{
  Party *p = user_data;

  if (addr == NULL || p->leg)
    return;
  p->leg = g_object_new (WZP_TYPE_SIGNAL_CLIENT, "endpoint", p->ep,
      "relay-address", addr, "relay-fingerprint", fp, "media-leg", TRUE, NULL);
  wzp_signal_client_start (p->leg, NULL);
}

static void
on_setup (WzpSignalClient * sc, WzpCallSetup * setup, gpointer user_data)
{
  Party *p = user_data;
  gint64 now = g_get_monotonic_time ();

  if (!p->is_caller || g_strcmp0 (setup->call_id, p->call_id) != 0)
    return;
  if (now >= g.measure_from && now < g.measure_to) {
    gint64 took = now - p->placed;
    g_array_append_val (g.setup_us, took);
  }
  wzp_signal_client_hangup (sc, p->call_id, NULL);
}

static void
on_ended (WzpSignalClient * sc, const char *call_id, const char *reason,
    gpointer user_data)
{
  Party *p = user_data;

  if (!p->is_caller || g_strcmp0 (call_id, p->call_id) != 0)
    return;
  if (!g_str_equal (reason, "hangup")) {
    g.errors++;
    if (g.errors < 10)
      fprintf (stderr, "wzp-callgen: call ended: %s\n", reason);
  }
  drop_leg (p);
  g_clear_pointer (&p->call_id, g_free);
  if (g.running)
    place (p);
}

static void
on_incoming (WzpSignalClient * sc, const char *call_id, const char *from,
    GBytes * key, JsonObject * offer, gpointer user_data)
{
  g_autoptr (JsonObject) answer = json_object_new ();

  wzp_signal_client_answer (sc, call_id, answer, NULL);
}

static void
place (Party * p)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) offer = json_object_new ();

  p->placed = g_get_monotonic_time ();
  p->call_id = wzp_signal_client_place_call (p->sc, p->peer_fp, NULL, offer,
      &error);
  if (p->call_id == NULL) {
    g.errors++;
    fprintf (stderr, "wzp-callgen: cannot call: %s\n", error->message);
  }
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (g.loop);
  return G_SOURCE_REMOVE;
}

static gboolean
start_calls (gpointer data)
{
  g.running = TRUE;
  for (gint i = 0; i < g.pairs; i++)
    place (&g.callers[i]);
  return G_SOURCE_REMOVE;
}

static void
on_registered (WzpSignalClient * sc, GSocketAddress * observed,
    gpointer user_data)
{
  Party *p = user_data;

  if (p->registered)
    return;
  p->registered = TRUE;
  if (++g.registered == 2 * g.pairs) {
    gint64 now = g_get_monotonic_time ();

    g.measure_from = now + (gint64) (g.warmup * G_USEC_PER_SEC);
    g.measure_to = g.measure_from + (gint64) (g.duration * G_USEC_PER_SEC);
    g_idle_add (start_calls, NULL);
    g_timeout_add ((guint) ((g.warmup + g.duration) * 1000) + 10, quit_cb,
        NULL);
  }
}

static void
party_init (Party * p, const char *relay, gboolean caller)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketAddress) addr = wzp_socket_address_parse (relay, &error);

  if (addr == NULL)
    die ("bad relay address %s: %s", relay, error->message);
  p->is_caller = caller;
  p->id = wzp_identity_generate ();
  p->ep = wzp_endpoint_new (NULL, p->id, NULL, &error);
  if (p->ep == NULL || !wzp_endpoint_bind_any (p->ep, 0, FALSE, &error))
    die ("endpoint: %s", error->message);
  p->sc = wzp_signal_client_new (p->ep, addr, NULL);
  g_signal_connect (p->sc, "registered", G_CALLBACK (on_registered), p);
  g_signal_connect (p->sc, "call-setup", G_CALLBACK (on_setup), p);
  g_signal_connect (p->sc, "call-ended", G_CALLBACK (on_ended), p);
  g_signal_connect (p->sc, "incoming-call", G_CALLBACK (on_incoming), p);
  g_signal_connect (p->sc, "media-relay", G_CALLBACK (on_media_relay), p);
}

static gint
cmp_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static double
pct (GArray * a, double q)
{
  if (a->len == 0)
    return 0;
  return g_array_index (a, gint64, MIN (a->len - 1,
          (guint) (q * a->len))) / 1000.0;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    {"relay", 0, 0, G_OPTION_ARG_STRING, &g.relay, "Callers' relay", "ADDR"},
    {"callee-relay", 0, 0, G_OPTION_ARG_STRING, &g.callee_relay,
        "Callees' relay (default: the same)", "ADDR"},
    {"pairs", 0, 0, G_OPTION_ARG_INT, &g.pairs, "Caller/callee pairs", "P"},
    {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &g.warmup, "Seconds not counted",
        "S"},
    {"duration", 0, 0, G_OPTION_ARG_DOUBLE, &g.duration, "Seconds counted",
        "S"},
    {NULL}
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("- call rate");
  g_autoptr (GError) error = NULL;
  double wall;

  g.pairs = 16;
  g.warmup = 2;
  g.duration = 10;
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    die ("%s", error->message);
  if (g.relay == NULL)
    die ("--relay is needed");
  if (g.callee_relay == NULL)
    g.callee_relay = g_strdup (g.relay);
  wzp_log_parse_spec ("wzp*:2");
  g.loop = g_main_loop_new (NULL, FALSE);
  g.setup_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  g.callers = g_new0 (Party, g.pairs);
  g.callees = g_new0 (Party, g.pairs);
  for (gint i = 0; i < g.pairs; i++) {
    party_init (&g.callers[i], g.relay, TRUE);
    party_init (&g.callees[i], g.callee_relay, FALSE);
    g.callers[i].peer_fp = g_strdup (wzp_identity_get_fingerprint
        (g.callees[i].id));
  }
  for (gint i = 0; i < g.pairs; i++) {
    if (!wzp_signal_client_start (g.callees[i].sc, &error) ||
        !wzp_signal_client_start (g.callers[i].sc, &error))
      die ("%s", error->message);
  }
  g_main_loop_run (g.loop);
  g.running = FALSE;
  wall = (g.measure_to - g.measure_from) / 1e6;
  g_array_sort (g.setup_us, cmp_i64);
  printf ("{\"pairs\": %d, \"calls\": %u, \"duration\": %.3f, "
      "\"calls_per_s\": %.1f, \"setup_ms\": {\"p50\": %.3f, \"p90\": %.3f, "
      "\"p99\": %.3f, \"max\": %.3f}, \"errors\": %u}\n", g.pairs,
      g.setup_us->len, wall, g.setup_us->len / wall, pct (g.setup_us, 0.5),
      pct (g.setup_us, 0.9), pct (g.setup_us, 0.99),
      pct (g.setup_us, 1.0), g.errors);
  fflush (stdout);
  /* The process ends here; the kernel closes the sockets. */
  return g.registered == 2 * g.pairs ? 0 : 1;
}
