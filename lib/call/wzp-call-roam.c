/* wzp-call-roam.c — an active call that survives a network change:
 * wiring only (wzp-call-roam.h)
 */
#include "config.h"

#include "wzp-call-roam.h"
#include "wzp-call-handshake.h"
#include "wzp-netwatch.h"
#include "wzp-address.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* If the relay does not answer our reflect (its connection may be
 * reconnecting), tell the peer our new host candidates anyway. */
#define UPDATE_FALLBACK (500 * WZP_NSEC_PER_MSEC)

struct _WzpCallRoam
{
  WzpSignalClient *signal;
  WzpPathManager *path;
  WzpEndpoint *endpoint;
  WzpClock *clock;
  gboolean loopback;
  char *call_id;
  char *peer;
  WzpCandidates *hosts;         /* our host candidates, as last gathered */
  WzpNetWatch *netwatch;
  char *advertised;             /* our reflexive address as the peer knows it */
  WzpNatType advertised_nat;
  gboolean pending;             /* our host candidates changed, not told */
  GSource *fallback;
  gulong netwatch_id;
  gulong observed_id;
  gulong peer_candidates_id;
  gulong path_changed_id;
};

static char *
observed_text (WzpCallRoam * roam)
{
  g_autoptr (GSocketAddress) a =
      wzp_signal_client_get_observed_address (roam->signal);

  return a ? wzp_socket_address_to_string (a) : NULL;
}

/* Our candidates for the path manager: host ones and the reflexive. */
static WzpCandidates *
local_candidates (WzpCallRoam * roam)
{
  WzpCandidates *c = wzp_candidates_copy (roam->hosts);
  g_autoptr (GSocketAddress) a =
      wzp_signal_client_get_observed_address (roam->signal);

  if (a)
    wzp_candidates_add_reflexive (c, a);
  return c;
}

/* Tells the peer and our path manager where we are now. */
static void
flush_update (WzpCallRoam * roam)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) mine = NULL;
  g_auto (GStrv) hosts = wzp_candidates_to_strv (roam->hosts);
  WzpNatType nat = wzp_signal_client_get_nat_type (roam->signal);

  wzp_timer_source_set_deadline (roam->fallback, WZP_TIME_NONE);
  roam->pending = FALSE;
  g_free (roam->advertised);
  roam->advertised = observed_text (roam);
  roam->advertised_nat = nat;
  WZP_INFO ("call %s: our network changed: now at %s, NAT %s; telling %s",
      roam->call_id, roam->advertised ? roam->advertised : "(unknown)",
      wzp_nat_type_to_string (nat), roam->peer);
  if (!wzp_signal_client_update_candidates (roam->signal, roam->call_id,
          (const char *const *) hosts, nat, &error))
    WZP_DEBUG ("call %s: cannot tell the peer yet: %s", roam->call_id,
        error->message);
  mine = local_candidates (roam);
  wzp_path_manager_update_local (roam->path, mine, nat);
}

static gboolean
on_fallback (gpointer data)
{
  WzpCallRoam *roam = data;

  if (roam->pending)
    flush_update (roam);
  return G_SOURCE_CONTINUE;
}

static void
on_net_changed (WzpNetWatch * watch, gpointer data)
{
  WzpCallRoam *roam = data;
  g_autoptr (WzpCandidates) now =
      _wzp_call_candidates_gather (roam->endpoint, roam->loopback);
  g_autofree char *before = wzp_candidates_to_string (roam->hosts);
  g_autofree char *after = wzp_candidates_to_string (now);
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (before, after) != 0) {
    WZP_INFO ("call %s: host candidates %s -> %s", roam->call_id, before,
        after);
    wzp_candidates_unref (roam->hosts);
    roam->hosts = g_steal_pointer (&now);
    roam->pending = TRUE;
    wzp_timer_source_set_deadline (roam->fallback,
        wzp_clock_get_time (roam->clock) + UPDATE_FALLBACK);
  }
  /* Where the relay sees us now (an answer comes as notify::observed-
   * address), and our NAT's kind there. */
  if (!wzp_signal_client_reflect (roam->signal, &error))
    WZP_DEBUG ("call %s: no reflect: %s", roam->call_id, error->message);
  else if (!wzp_signal_client_probe_nat (roam->signal, NULL))
    WZP_DEBUG ("call %s: no NAT probe after the change", roam->call_id);
}

static void
on_observed (GObject * obj, GParamSpec * pspec, gpointer data)
{
  WzpCallRoam *roam = data;
  g_autofree char *now = observed_text (roam);

  if (now == NULL)
    return;
  if (roam->pending || g_strcmp0 (now, roam->advertised) != 0)
    flush_update (roam);
}

static void
on_peer_candidates (WzpSignalClient * client, const char *call_id,
    char **candidates, GSocketAddress * reflexive, WzpNatType nat,
    gpointer data)
{
  WzpCallRoam *roam = data;
  g_autoptr (WzpCandidates) theirs = wzp_candidates_new ();
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (call_id, roam->call_id) != 0)
    return;
  if (!wzp_candidates_add_strv (theirs, WZP_CANDIDATE_HOST,
          (const char *const *) candidates, &error)) {
    WZP_WARNING ("call %s: the peer's new candidates: %s", roam->call_id,
        error->message);
    return;
  }
  if (reflexive)
    wzp_candidates_add_reflexive (theirs, reflexive);
  wzp_path_manager_update_peer (roam->path, theirs, nat);
}

/* Our direct path failed over: perhaps our NAT gave us a new mapping
 * (which nothing on this host can see).  Ask the relay where it sees us;
 * on_observed() takes it from there. */
static void
on_path_changed (WzpPathManager * pm, WzpPathKind path, const char *reason,
    gpointer data)
{
  WzpCallRoam *roam = data;

  if (path == WZP_PATH_RELAY && g_str_has_prefix (reason, "direct path silent"))
    wzp_signal_client_reflect (roam->signal, NULL);
}

WzpCallRoam *
_wzp_call_roam_new (WzpSignalClient * signal, WzpPathManager * path,
    WzpEndpoint * endpoint, WzpCandidates * local, gboolean loopback,
    WzpClock * clock, GMainContext * context, const char *call_id,
    const char *peer)
{
  WzpCallRoam *roam = g_new0 (WzpCallRoam, 1);
  g_autoptr (GError) error = NULL;

  roam->signal = g_object_ref (signal);
  roam->path = g_object_ref (path);
  roam->endpoint = g_object_ref (endpoint);
  roam->clock = g_object_ref (clock);
  roam->loopback = loopback;
  roam->call_id = g_strdup (call_id);
  roam->peer = g_strdup (peer);
  roam->hosts = local ? wzp_candidates_copy (local) : wzp_candidates_new ();
  roam->advertised = observed_text (roam);
  roam->advertised_nat = wzp_signal_client_get_nat_type (signal);
  roam->fallback = wzp_timer_source_new (clock);
  g_source_set_callback (roam->fallback, on_fallback, roam, NULL);
  g_source_set_name (roam->fallback, "WzpCall roam fallback");
  g_source_attach (roam->fallback, context);
  roam->netwatch = wzp_netwatch_new (context, clock, &error);
  if (roam->netwatch)
    roam->netwatch_id = g_signal_connect (roam->netwatch, "changed",
        G_CALLBACK (on_net_changed), roam);
  else
    WZP_DEBUG ("call %s: no watch on the host's network: %s", call_id,
        error->message);
  roam->observed_id = g_signal_connect (signal, "notify::observed-address",
      G_CALLBACK (on_observed), roam);
  roam->peer_candidates_id = g_signal_connect (signal, "peer-candidates",
      G_CALLBACK (on_peer_candidates), roam);
  roam->path_changed_id = g_signal_connect (path, "path-changed",
      G_CALLBACK (on_path_changed), roam);
  return roam;
}

void
_wzp_call_roam_free (WzpCallRoam * roam)
{
  if (roam == NULL)
    return;
  if (roam->netwatch) {
    g_clear_signal_handler (&roam->netwatch_id, roam->netwatch);
    g_object_unref (roam->netwatch);
  }
  g_clear_signal_handler (&roam->observed_id, roam->signal);
  g_clear_signal_handler (&roam->peer_candidates_id, roam->signal);
  g_clear_signal_handler (&roam->path_changed_id, roam->path);
  g_source_destroy (roam->fallback);
  g_source_unref (roam->fallback);
  g_object_unref (roam->signal);
  g_object_unref (roam->path);
  g_object_unref (roam->endpoint);
  g_object_unref (roam->clock);
  wzp_candidates_unref (roam->hosts);
  g_free (roam->advertised);
  g_free (roam->call_id);
  g_free (roam->peer);
  g_free (roam);
}
