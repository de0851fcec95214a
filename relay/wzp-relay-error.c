/* wzp — the relay's error domain, in a file of its own: the core and its
 * helpers (the metrics, the cluster) all raise it, and none of them must
 * call the core for it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay.h"

GQuark
wzp_relay_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-relay-error-quark");
  return q;
}
