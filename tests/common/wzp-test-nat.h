/* A NAT in front of a relay, for tests: clients on loopback dial the
 * NAT's front address (another loopback IP, e.g. 127.0.0.2) as if it
 * were the relay; the relay sees each client from a socket of its own on
 * 127.0.0.1, one per client and front port (endpoint-dependent mapping,
 * like a symmetric NAT).  Two fronts: one for the relay's QUIC port, one
 * on the relay's media port number (the relay advertises the front's
 * host with media-advertise).
 *
 * wzp_test_nat_rebind() gives one client new outside ports (a NAT that
 * forgot its mappings); wzp_test_nat_set_block_media() drops everything
 * through the media front (a network that filters the relay's media
 * port).  Runs on the given context.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-address.h"

G_BEGIN_DECLS

typedef struct _WzpTestNat WzpTestNat;

typedef struct
{
  guint64 forwarded;
  guint64 blocked;
  guint64 rebinds;
} WzpTestNatStats;

WzpTestNat *wzp_test_nat_new (GMainContext * context, const char *front_host,
    GSocketAddress * relay_quic, GSocketAddress * relay_media);
void wzp_test_nat_free (WzpTestNat * nat);
/* What clients dial instead of the relay. */
GSocketAddress *wzp_test_nat_get_quic_address (WzpTestNat * nat);
/* New outside ports for the client at @inside (its socket's address). */
void wzp_test_nat_rebind (WzpTestNat * nat, const WzpAddr * inside);
void wzp_test_nat_set_block_media (WzpTestNat * nat, gboolean block);
void wzp_test_nat_get_stats (WzpTestNat * nat, WzpTestNatStats * stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpTestNat, wzp_test_nat_free)

G_END_DECLS
