/* wzp — is the direct path alive? (see wzp-path-liveness.h)
 *
 * Why the ACK clock and not "nothing received for a while": what arrives
 * depends on what the peer sends (50 media packets a second, or one probe
 * every 200 ms while it is muted), so a silence threshold is either slow
 * or wrong.  An ACK is due a known time after each datagram we send:
 * about an RTT plus the peer's ACK delay, whatever the rate.  A datagram
 * lost on the way (10 % loss) does not stall anything: the next one's ACK
 * moves the clock on, and ACK ranges repeat what a lost ACK carried.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-liveness.h"

void
_wzp_path_liveness_init (WzpPathLiveness * l, guint64 doubt_min,
    guint64 failover_min)
{
  *l = (WzpPathLiveness) {
  0};
  l->doubt_min = doubt_min;
  l->failover_min = MAX (failover_min, doubt_min);
}

/* A fresh start (a new or newly agreed connection): no stall, and what
 * we knew of the RTT stays. */
void
_wzp_path_liveness_reset (WzpPathLiveness * l, guint64 now)
{
  l->last_rx = now;
  l->unacked_since = 0;
}

void
_wzp_path_liveness_received (WzpPathLiveness * l, guint64 now)
{
  if (now > l->last_rx)
    l->last_rx = now;
}

/* The connection's newest datagram ACK time: when it moved, what we sent
 * before it is answered (or lost, which the next ACK will show). */
void
_wzp_path_liveness_acked (WzpPathLiveness * l, guint64 ack_time)
{
  if (ack_time > l->seen_ack) {
    l->seen_ack = ack_time;
    l->unacked_since = 0;
  }
}

/* We sent a datagram at @now; @ack_time as for _acked(). */
void
_wzp_path_liveness_sent (WzpPathLiveness * l, guint64 now, guint64 ack_time)
{
  _wzp_path_liveness_acked (l, ack_time);
  if (l->unacked_since == 0)
    l->unacked_since = now;
}

void
_wzp_path_liveness_set_rtt (WzpPathLiveness * l, guint64 srtt, guint64 rttvar)
{
  l->srtt = srtt;
  l->rttvar = rttvar;
}

/* How long a datagram may wait for its ACK before we doubt the path:
 * what QUIC's own loss detection would allow an ACK (RFC 9002's PTO
 * without its backoff), never less than the doubt threshold (ACKs of
 * media come every other packet, 40 ms apart at 50 packets/s; jitter
 * stretches that). */
guint64
_wzp_path_liveness_doubt_after (const WzpPathLiveness * l)
{
  guint64 pto = l->srtt + MAX (4 * l->rttvar, G_GUINT64_CONSTANT (1000000)) +
      WZP_PATH_PEER_ACK_DELAY;

  return MAX (pto, l->doubt_min);
}

/* How long before we give the path up: the failover threshold, or, on a
 * long path, the doubt time plus two RTTs (the fast probes sent when
 * doubt began must have had the time to come back). */
guint64
_wzp_path_liveness_silent_after (const WzpPathLiveness * l)
{
  return MAX (l->failover_min, _wzp_path_liveness_doubt_after (l) +
      2 * l->srtt);
}

/* How long the oldest unanswered datagram has waited (0: none). */
guint64
_wzp_path_liveness_stall (const WzpPathLiveness * l, guint64 now)
{
  if (l->unacked_since == 0 || now <= l->unacked_since)
    return 0;
  return now - l->unacked_since;
}

/* The verdict at @now, and when it may next change without new evidence
 * (G_MAXUINT64: only new evidence changes it). */
WzpPathVerdict
_wzp_path_liveness_check (const WzpPathLiveness * l, guint64 now,
    guint64 * next_check)
{
  guint64 doubt = _wzp_path_liveness_doubt_after (l);
  guint64 silent = _wzp_path_liveness_silent_after (l);
  guint64 stall = _wzp_path_liveness_stall (l, now);

  if (l->unacked_since == 0) {
    *next_check = G_MAXUINT64;
    return WZP_PATH_LIVE;
  }
  if (stall >= silent) {
    *next_check = G_MAXUINT64;
    return WZP_PATH_SILENT;
  }
  if (stall >= doubt) {
    *next_check = l->unacked_since + silent;
    return WZP_PATH_DOUBT;
  }
  *next_check = l->unacked_since + doubt;
  return WZP_PATH_LIVE;
}
