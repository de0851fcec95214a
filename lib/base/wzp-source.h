/* wzp — where traffic comes from, for per-source limits
 *
 * A relay must not let one client take all of a shared resource
 * (handshake slots, connections, registrations), so it counts them per
 * source.  A source is one IPv4 address, or one IPv6 /64: a home or a
 * mobile subscriber usually gets a whole /64 and can pick any address in
 * it, so counting single IPv6 addresses would limit nothing.  IPv4-mapped
 * IPv6 addresses (::ffff:a.b.c.d, from a dual-stack socket) count as the
 * IPv4 address they carry.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-address.h"

G_BEGIN_DECLS

/**
 * WzpSource:
 *
 * A source network: @family is AF_INET (the 4 bytes of the address in
 * @prefix) or AF_INET6 (its first 8 bytes, the /64).  Unused bytes are 0,
 * so two sources are equal exactly when their bytes are.
 */
typedef struct
{
  guint8 family;
  guint8 prefix[8];
} WzpSource;

/* "192.0.2.1" or "2001:db8:1:2::/64" */
#define WZP_SOURCE_STRLEN 48

void wzp_source_from_addr (WzpSource * source, const WzpAddr * addr);

char *wzp_source_to_string (const WzpSource * source,
    char buf[WZP_SOURCE_STRLEN]);

gboolean wzp_source_equal (const WzpSource * a, const WzpSource * b);

/**
 * WzpSourceCounter:
 *
 * A count per source (handshakes, connections, registrations...).  Only
 * sources with a count above zero take memory.
 */
typedef struct _WzpSourceCounter WzpSourceCounter;

WzpSourceCounter *wzp_source_counter_new (void);

void wzp_source_counter_free (WzpSourceCounter * counter);

guint wzp_source_counter_get (WzpSourceCounter * counter,
    const WzpSource * source);

guint wzp_source_counter_add (WzpSourceCounter * counter,
    const WzpSource * source);

void wzp_source_counter_remove (WzpSourceCounter * counter,
    const WzpSource * source);

guint wzp_source_counter_get_n_sources (WzpSourceCounter * counter);

void wzp_source_counter_clear (WzpSourceCounter * counter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpSourceCounter, wzp_source_counter_free);

G_END_DECLS
