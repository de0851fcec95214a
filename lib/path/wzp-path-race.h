/* wzp — the race to a direct connection (internal)
 *
 * Punching, dialing, and taking the peer's connections from the
 * listener.  The race knows nothing of agreement or failover: it tells
 * its owner (the path manager) through WzpPathRaceEvents when a
 * connection won, and when a racing window ended without one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-path.h"
#include "wzp-path-listener.h"

G_BEGIN_DECLS

typedef struct _WzpPathRace WzpPathRace;

/**
 * WzpPathWin:
 * @conn: the winning connection (take a reference to keep it)
 * @remote: where it goes
 * @chosen: %FALSE: our dial's handshake completed (we are the dialer);
 *   %TRUE: the dialer sent path-ok @epoch on this incoming connection
 * @ended_window: a racing window was in progress (and is over now)
 * @race_time_ns: start of that window to now
 */
typedef struct
{
  WzpConnection *conn;
  WzpAddr remote;
  gboolean chosen;
  guint32 epoch;
  gboolean ended_window;
  guint64 race_time_ns;
} WzpPathWin;

/**
 * WzpPathRaceEvents:
 * @won: a connection won; the race forgets it and closes its other dials
 * @failed: a racing window ended without a connection (@reason says how)
 *
 * Called from the race's signal handlers and timers.  The owner may free
 * the race from them: the race touches nothing of its own afterwards.
 */
typedef struct
{
  void (*won) (gpointer owner, const WzpPathWin * win);
  void (*failed) (gpointer owner, const char *reason);
} WzpPathRaceEvents;

typedef struct
{
  guint64 punches_sent;
  guint64 punches_received;
  guint64 punches_bad;
  guint64 races;
  guint64 race_time_ns;
  guint64 redials;
  guint64 sprayed;
} WzpPathRaceStats;

WzpPathRace *_wzp_path_race_new (WzpEndpoint * endpoint,
    WzpPathListener * listener, WzpPathRole role, const char *peer_fp,
    const guint8 * token, const WzpPathTimings * timings,
    WzpCandidates * local_cands, WzpCandidates * peer_cands,
    const WzpPathRaceEvents * events, gpointer owner);
void _wzp_path_race_free (WzpPathRace * race);
void _wzp_path_race_start (WzpPathRace * race, const WzpAddr * skip);
void _wzp_path_race_stop (WzpPathRace * race);
void _wzp_path_race_set_spray (WzpPathRace * race, guint ports);
void _wzp_path_race_adopt_held (WzpPathRace * race);
gboolean _wzp_path_race_is_racing (WzpPathRace * race);
void _wzp_path_race_set_candidates (WzpPathRace * race,
    WzpCandidates * local_cands, WzpCandidates * peer_cands);
void _wzp_path_race_get_stats (WzpPathRace * race, WzpPathRaceStats * stats);

G_END_DECLS
