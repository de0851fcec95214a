/* wzp — the path manager's insides, shared by wzp-path*.c (internal)
 *
 * wzp-path.c        the object, configuration, state, media API, stats
 * wzp-path-race.c   roles, punching, dialing and accepting, re-races
 * wzp-path-probe.c  the direct connection: agreement, probes, liveness
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-path.h"

G_BEGIN_DECLS

/* Datagrams on the direct connection: the first byte says what it is. */
#define WZP_PATH_DGRAM_MEDIA 0x10
#define WZP_PATH_DGRAM_PROBE 0x20
#define WZP_PATH_DGRAM_PROBE_ACK 0x21
/* [type][u32 seq][u64 send time], big-endian */
#define WZP_PATH_PROBE_LEN 13

/* Messages on the direct connection: [type][u32 epoch][16-byte token]. */
#define WZP_PATH_MSG_OK 0x01
#define WZP_PATH_MSG_OK_ACK 0x02
#define WZP_PATH_MSG_LEN (1 + 4 + WZP_PATH_TOKEN_LEN)

/* Raw punch packet: [0x01][16-byte token]. */
#define WZP_PATH_PUNCH 0x01
#define WZP_PATH_PUNCH_LEN (1 + WZP_PATH_TOKEN_LEN)

/* Application error code on direct connections we close. */
#define WZP_PATH_CLOSE_CODE 0

typedef struct _WzpPathAttempt WzpPathAttempt;

/* One QUIC connection to the peer: a dial in the race, an incoming one
 * not chosen yet, or the direct connection itself. */
struct _WzpPathAttempt
{
  WzpPathManager *self;         /* no reference: the manager owns us */
  WzpConnection *conn;
  WzpAddr remote;
  gulong connected_id;
  gulong closed_id;
  gulong message_id;
};

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
  WzpCandidates *peer_cands;    /* peer-reflexive ones are added */
  guint8 token[WZP_PATH_TOKEN_LEN];
  WzpPathPolicy policy;
  WzpPathTimings t;

  WzpPathRole role;
  char *role_reason;
  gboolean started;
  gboolean stopped;
  guint64 start_time;
  WzpPathKind path;
  guint64 switch_time;          /* when the path last changed */

  /* race */
  gboolean racing;
  guint64 race_start;
  GPtrArray *dials;             /* WzpPathAttempt, dialer */
  GPtrArray *held;              /* WzpPathAttempt, acceptor: not chosen */
  GSource *punch_timer;
  GSource *race_timer;
  GSource *rerace_timer;
  guint64 rerace_wait;
  gulong accept_peer_id;
  gulong incoming_id;
  gboolean changed_accept;
  gboolean old_accept;
  gboolean raw_installed;

  /* the direct connection */
  WzpPathAttempt *direct;
  gboolean agreed;
  gboolean ever_agreed;
  guint32 epoch;                /* of our last path-ok */
  gboolean ok_pending;
  guint64 last_rx;
  guint64 last_ack;
  guint32 probe_seq;
  guint64 srtt;
  GSource *probe_timer;
  GSource *liveness_timer;

  WzpPathMediaFunc media_func;
  gpointer media_data;
  GDestroyNotify media_notify;

  gboolean blackhole;
  WzpPathStats stats;
};

/* wzp-path.c */
GSource *_wzp_path_timer_new (WzpPathManager * self, GSourceFunc func);
void _wzp_path_timer_arm (WzpPathManager * self, GSource * timer,
    guint64 delay_ns);
void _wzp_path_timer_disarm (GSource * timer);
void _wzp_path_timer_destroy (GSource ** timer);
void _wzp_path_update (WzpPathManager * self, const char *reason);
void _wzp_path_emit_race_finished (WzpPathManager * self, gboolean direct,
    const char *reason);
guint64 _wzp_path_now (WzpPathManager * self);
WzpPathAttempt *_wzp_path_attempt_new (WzpPathManager * self,
    WzpConnection * conn, const WzpAddr * remote);
void _wzp_path_attempt_free (WzpPathAttempt * a, const char *close_reason);
gboolean _wzp_path_token_equal (const guint8 * a, const guint8 * b);

/* wzp-path-race.c */
void _wzp_path_race_setup (WzpPathManager * self);
void _wzp_path_race_teardown (WzpPathManager * self);
void _wzp_path_race_start (WzpPathManager * self);
void _wzp_path_race_won (WzpPathManager * self, WzpPathAttempt * winner);
void _wzp_path_schedule_rerace (WzpPathManager * self);

/* wzp-path-probe.c */
void _wzp_path_watch (WzpPathAttempt * a);
void _wzp_path_direct_begin (WzpPathManager * self, WzpPathAttempt * a);
void _wzp_path_direct_end (WzpPathManager * self, const char *reason,
    gboolean rerace);
void _wzp_path_send_ok (WzpPathManager * self);

/* For tests: while TRUE, every datagram the manager would send on the
 * direct connection (probes, acks, media) is dropped, so the peer hears
 * nothing while QUIC itself (ACKs, keep-alives) keeps the connection up:
 * a direct path gone quiet. */
void _wzp_path_manager_set_blackhole (WzpPathManager * self,
    gboolean blackhole);

G_END_DECLS
