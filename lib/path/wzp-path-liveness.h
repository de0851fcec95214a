/* wzp — is the direct path alive? (internal; pure logic, no I/O)
 *
 * Evidence that the way to the peer works is the peer's QUIC ACK of a
 * packet that carried one of our datagrams (media or probes): it needs
 * both directions, so a break either way shows up on both sides, and it
 * comes with every other media packet, not once per probe.  The path is
 *
 *   LIVE    while the datagrams we sent are acknowledged in time;
 *   DOUBT   when the first datagram sent after the newest ACK has waited
 *           longer than an ACK takes: srtt + 4 rttvar + the peer's ACK
 *           delay, at least the doubt threshold.  Media then goes on both
 *           paths (the receiver drops duplicates) and probes go faster;
 *   SILENT  when that wait reaches the failover threshold (at least the
 *           doubt time plus two RTTs, for the fast probes to come back):
 *           media goes back to the relay.
 *
 * Times are nanoseconds on the path manager's clock; 0 means "never".
 * docs/PATH.md explains the numbers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  WZP_PATH_LIVE,
  WZP_PATH_DOUBT,
  WZP_PATH_SILENT,
} WzpPathVerdict;

/* The longest a peer holds back an ACK: QUIC's default max_ack_delay,
 * which our connections advertise. */
#define WZP_PATH_PEER_ACK_DELAY (25 * G_GUINT64_CONSTANT (1000000))

typedef struct
{
  /* settings */
  guint64 doubt_min;
  guint64 failover_min;
  /* evidence */
  guint64 last_rx;              /* anything from the peer */
  guint64 seen_ack;             /* newest ACK of a datagram seen */
  guint64 unacked_since;        /* first datagram sent after seen_ack */
  /* the path's RTT (QUIC's estimate) */
  guint64 srtt;
  guint64 rttvar;
} WzpPathLiveness;

void _wzp_path_liveness_init (WzpPathLiveness * l, guint64 doubt_min,
    guint64 failover_min);
void _wzp_path_liveness_reset (WzpPathLiveness * l, guint64 now);
void _wzp_path_liveness_received (WzpPathLiveness * l, guint64 now);
void _wzp_path_liveness_acked (WzpPathLiveness * l, guint64 ack_time);
void _wzp_path_liveness_sent (WzpPathLiveness * l, guint64 now,
    guint64 ack_time);
void _wzp_path_liveness_set_rtt (WzpPathLiveness * l, guint64 srtt,
    guint64 rttvar);
guint64 _wzp_path_liveness_doubt_after (const WzpPathLiveness * l);
guint64 _wzp_path_liveness_silent_after (const WzpPathLiveness * l);
guint64 _wzp_path_liveness_stall (const WzpPathLiveness * l, guint64 now);
WzpPathVerdict _wzp_path_liveness_check (const WzpPathLiveness * l,
    guint64 now, guint64 * next_check);

G_END_DECLS
