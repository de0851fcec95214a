/* wzp — the relay's own limits: what one client may take of what all
 * clients share (registrations, pending NAT probes, the relay's time),
 * and the count of every refusal by reason
 *
 * The QUIC endpoint enforces the limits on connections and handshakes
 * (wzp-endpoint-admit.c); these are the ones above it.  Each limit has a
 * name, which is also its command-line flag, its config key and the
 * "reason" label of wzp_relay_refusals_total.  docs/RELAY.md gives every
 * default and why.
 *
 * This is a helper of the relay core: it knows nothing of connections or
 * messages and never calls back into the core.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-clock.h"
#include "wzp-log-private.h"
#include "wzp-source.h"

G_BEGIN_DECLS

#define WZP_RELAY_DEFAULT_MAX_REGISTRATIONS_PER_SOURCE 128
#define WZP_RELAY_DEFAULT_REGISTRATION_TIMEOUT (5 * WZP_NSEC_PER_SEC)
#define WZP_RELAY_DEFAULT_MAX_PENDING_PROBES 4096
#define WZP_RELAY_DEFAULT_MAX_PENDING_PROBES_PER_CLIENT 4
#define WZP_RELAY_DEFAULT_MESSAGE_RATE 50
#define WZP_RELAY_DEFAULT_MESSAGE_BURST 500

/* Why the relay (not its QUIC endpoint) refused something. */
typedef enum
{
  RELAY_REFUSED_MAX_REGISTRATIONS,
  RELAY_REFUSED_REGISTRATIONS_PER_SOURCE,
  RELAY_REFUSED_REGISTRATION_TIMEOUT,
  RELAY_REFUSED_MAX_PENDING_PROBES,
  RELAY_REFUSED_PENDING_PROBES_PER_CLIENT,
  RELAY_REFUSED_MESSAGE_RATE,
  RELAY_REFUSED_N
} RelayRefusal;

typedef struct
{
  /* configuration (WzpRelay properties) */
  guint max_registrations;
  guint max_registrations_per_source;
  guint64 registration_timeout_ns;
  guint max_pending_probes;
  guint max_pending_probes_per_client;
  guint message_rate;           /* messages per second, sustained */
  guint message_burst;          /* messages at once */

  /* state */
  WzpSourceCounter *registrations_by_source;
  guint64 refusals[RELAY_REFUSED_N];
  WzpLogLimit logs[RELAY_REFUSED_N];
} RelayLimits;

/* A per-connection message budget: GCRA (the "virtual scheduling" form of
 * a token bucket), one timestamp, no timer.  @tat is the theoretical
 * arrival time of the next message. */
typedef struct
{
  guint64 tat;
} RelayRate;

void relay_limits_init (RelayLimits * limits);
void relay_limits_clear (RelayLimits * limits);

const char *relay_refusal_name (RelayRefusal reason);

gboolean relay_limits_registration_allowed (RelayLimits * limits,
    const WzpSource * source, guint registered_now, RelayRefusal * why);
void relay_limits_registration_added (RelayLimits * limits,
    const WzpSource * source);
void relay_limits_registration_removed (RelayLimits * limits,
    const WzpSource * source);

gboolean relay_rate_take (RelayRate * rate, guint64 now, guint per_second,
    guint burst);

G_END_DECLS
