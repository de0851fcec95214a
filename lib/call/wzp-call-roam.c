/* wzp-call-roam.c — a call that survives a network change: wiring only
 *
 * Noticing (lib/nat's WzpNetWatch for our own addresses and routes; the
 * relay's reflected address after our direct path failed over, for a NAT
 * that gave us a new mapping), telling the peer through the relay
 * (update-candidates; it hears peer-candidates), and handing both sides'
 * new candidates to the path manager, which races again while media stays
 * on the relay (lib/path, docs/PATH.md "Network changes").
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-netwatch.h"
#include "wzp-log.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

/* If the relay does not answer our reflect (its connection may be
 * reconnecting), tell the peer our new host candidates anyway. */
#define UPDATE_FALLBACK (500 * WZP_NSEC_PER_MSEC)

struct _WzpCallRoam
{
  WzpCall *call;                /* no reference: it owns us */
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
observed_text (WzpCall * self)
{
  g_autoptr (GSocketAddress) a =
      wzp_signal_client_get_observed_address (self->signal);

  return a ? wzp_socket_address_to_string (a) : NULL;
}

/* Our candidates for the path manager: host ones and the reflexive. */
static WzpCandidates *
local_candidates (WzpCall * self)
{
  WzpCandidates *c = wzp_candidates_copy (self->local_candidates);
  g_autoptr (GSocketAddress) a =
      wzp_signal_client_get_observed_address (self->signal);

  if (a)
    wzp_candidates_add_reflexive (c, a);
  return c;
}

/* Tells the peer and our path manager where we are now. */
static void
flush_update (WzpCallRoam * roam)
{
  WzpCall *self = roam->call;
  g_autoptr (GError) error = NULL;
  g_autoptr (WzpCandidates) mine = NULL;
  g_auto (GStrv) hosts = wzp_candidates_to_strv (self->local_candidates);
  WzpNatType nat = wzp_signal_client_get_nat_type (self->signal);

  if (roam->fallback)
    wzp_timer_source_set_deadline (roam->fallback, WZP_TIME_NONE);
  roam->pending = FALSE;
  g_free (roam->advertised);
  roam->advertised = observed_text (self);
  roam->advertised_nat = nat;
  WZP_INFO_OBJECT (self, "our network changed: now at %s, NAT %s; telling %s",
      roam->advertised ? roam->advertised : "(unknown)",
      wzp_nat_type_to_string (nat), self->active_peer);
  if (!wzp_signal_client_update_candidates (self->signal, self->call_id,
          (const char *const *) hosts, nat, &error))
    WZP_DEBUG_OBJECT (self, "cannot tell the peer yet: %s", error->message);
  mine = local_candidates (self);
  wzp_path_manager_update_local (self->path, mine, nat);
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
  WzpCall *self = roam->call;
  g_autofree char *before = wzp_candidates_to_string (self->local_candidates);
  g_autofree char *after = NULL;
  g_autoptr (GError) error = NULL;

  _wzp_call_gather_candidates (self);
  after = wzp_candidates_to_string (self->local_candidates);
  if (g_strcmp0 (before, after) != 0) {
    WZP_INFO_OBJECT (self, "host candidates %s -> %s", before, after);
    roam->pending = TRUE;
    wzp_timer_source_set_deadline (roam->fallback,
        wzp_clock_get_time (self->clock) + UPDATE_FALLBACK);
  }
  /* Where the relay sees us now (an answer comes as notify::observed-
   * address), and our NAT's kind there. */
  if (!wzp_signal_client_reflect (self->signal, &error))
    WZP_DEBUG_OBJECT (self, "no reflect: %s", error->message);
  else if (!wzp_signal_client_probe_nat (self->signal, NULL))
    WZP_DEBUG_OBJECT (self, "no NAT probe after the change");
}

static void
on_observed (GObject * obj, GParamSpec * pspec, gpointer data)
{
  WzpCallRoam *roam = data;
  g_autofree char *now = observed_text (roam->call);

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
  WzpCall *self = roam->call;
  g_autoptr (WzpCandidates) theirs = wzp_candidates_new ();
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (call_id, self->call_id) != 0)
    return;
  if (!wzp_candidates_add_strv (theirs, WZP_CANDIDATE_HOST,
          (const char *const *) candidates, &error)) {
    WZP_WARNING_OBJECT (self, "the peer's new candidates: %s", error->message);
    return;
  }
  if (reflexive)
    wzp_candidates_add_reflexive (theirs, reflexive);
  wzp_path_manager_update_peer (self->path, theirs, nat);
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
    wzp_signal_client_reflect (roam->call->signal, NULL);
}

/* With the path manager, once the call is set up. */
void
_wzp_call_roam_start (WzpCall * self)
{
  WzpCallRoam *roam;
  g_autoptr (GError) error = NULL;

  if (self->roam || self->path == NULL)
    return;
  roam = g_new0 (WzpCallRoam, 1);
  roam->call = self;
  roam->advertised = observed_text (self);
  roam->advertised_nat = wzp_signal_client_get_nat_type (self->signal);
  roam->fallback = wzp_timer_source_new (self->clock);
  g_source_set_callback (roam->fallback, on_fallback, roam, NULL);
  g_source_attach (roam->fallback, self->context);
  roam->netwatch = wzp_netwatch_new (self->context, self->clock, &error);
  if (roam->netwatch)
    roam->netwatch_id = g_signal_connect (roam->netwatch, "changed",
        G_CALLBACK (on_net_changed), roam);
  else
    WZP_DEBUG_OBJECT (self, "no watch on the host's network: %s",
        error->message);
  roam->observed_id = g_signal_connect (self->signal,
      "notify::observed-address", G_CALLBACK (on_observed), roam);
  roam->peer_candidates_id = g_signal_connect (self->signal,
      "peer-candidates", G_CALLBACK (on_peer_candidates), roam);
  roam->path_changed_id = g_signal_connect (self->path, "path-changed",
      G_CALLBACK (on_path_changed), roam);
  self->roam = roam;
}

void
_wzp_call_roam_stop (WzpCall * self)
{
  WzpCallRoam *roam = g_steal_pointer (&self->roam);

  if (roam == NULL)
    return;
  if (roam->netwatch) {
    g_clear_signal_handler (&roam->netwatch_id, roam->netwatch);
    g_object_unref (roam->netwatch);
  }
  if (self->signal) {
    g_clear_signal_handler (&roam->observed_id, self->signal);
    g_clear_signal_handler (&roam->peer_candidates_id, self->signal);
  }
  if (self->path)
    g_clear_signal_handler (&roam->path_changed_id, self->path);
  g_source_destroy (roam->fallback);
  g_source_unref (roam->fallback);
  g_free (roam->advertised);
  g_free (roam);
}
