/* wzp — the path manager's insides (internal)
 *
 * wzp-path.c           the core: the object, its state machine (race
 *                      results, agreement, liveness, failover, re-races),
 *                      the media API; the only file that changes the path
 * wzp-path-config.c    enums, roles, default timings (no state)
 * wzp-path-race.c      punching, dialing, accepting; reports to the core
 *                      through WzpPathRaceEvents
 * wzp-path-liveness.c  doubt and failover verdicts (pure logic)
 * wzp-path-wire.c      punch, message and probe formats (pure)
 * wzp-path-listener.c  who may connect, and holding early connections
 *
 * The helpers never call into the core.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-path.h"
#include "wzp-path-liveness.h"
#include "wzp-path-race.h"
#include "wzp-path-wire.h"

G_BEGIN_DECLS

struct _WzpPathManager
{
  GObject parent;

  WzpEndpoint *endpoint;
  GMainContext *context;
  WzpClock *clock;

  /* configuration (copied) */
  char *local_fp;
  char *peer_fp;
  WzpNatType local_nat;
  WzpNatType peer_nat;
  WzpCandidates *local_cands;
  WzpCandidates *peer_cands;
  guint8 token[WZP_PATH_TOKEN_LEN];
  WzpPathPolicy policy;
  WzpPathTimings t;
  WzpPathListener *listener;    /* given, or our own while we accept */
  GBytes *greeting;
  guint spray_ports;

  WzpPathRole role;
  char *role_reason;
  gboolean started;
  gboolean stopped;
  guint64 start_time;
  WzpPathKind path;
  guint64 switch_time;          /* when the path last changed */

  WzpPathRace *race;
  GSource *rerace_timer;
  guint64 rerace_wait;
  gboolean change_window;       /* the racing window follows a move */
  guint64 answered_at_change;   /* probes answered when it started */

  /* the direct connection */
  WzpConnection *direct;
  WzpAddr direct_remote;
  gulong direct_closed_id;
  gulong direct_message_id;
  gboolean agreed;
  gboolean ever_agreed;
  guint32 epoch;                /* of our last path-ok */
  gboolean ok_pending;
  WzpPathLiveness live;
  gboolean doubt;
  guint32 probe_seq;
  guint64 probe_srtt;           /* of PROBE round trips, for stats */
  GSource *probe_timer;
  GSource *liveness_timer;

  WzpPathMediaFunc media_func;
  gpointer media_data;
  GDestroyNotify media_notify;

  WzpPathStats stats;
};

/* wzp-path-config.c */
gboolean _wzp_path_check_timings (const WzpPathTimings * t, GError ** error);

G_END_DECLS
