/* wzp — how long a connection has heard nothing from its peer
 *
 * QUIC restarts its idle timer when it sends an ack-eliciting packet after
 * the last one it received, so an end that keeps sending (keep-alives,
 * forwarded messages) learns of a dead peer up to twice the idle timeout
 * late.  Both ends of a signaling connection (the client, the relay) count
 * the silence themselves with this, from the received-packets counter
 * they sample on a timer: no clock read on the receive path.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-connection.h"

/**
 * wzp_connection_silence_reset:
 * @s: a silence counter
 * @now: the time it starts counting from
 */
void
wzp_connection_silence_reset (WzpConnectionSilence * s, guint64 now)
{
  s->packets = 0;
  s->since = now;
}

/**
 * wzp_connection_silence_update:
 * @s: a silence counter, reset when counting started
 * @conn: the connection it watches
 * @now: the time now
 *
 * Returns: for how long (ns) no packet has arrived on @conn, as far as
 *   the samples tell (0 when one arrived since the last sample)
 */
guint64
wzp_connection_silence_update (WzpConnectionSilence * s,
    WzpConnection * conn, guint64 now)
{
  WzpConnectionStats st;

  wzp_connection_get_stats (conn, &st);
  if (st.packets_received != s->packets) {
    s->packets = st.packets_received;
    s->since = now;
  }
  return now - s->since;
}
