/* wzp — the relay's own limits and refusal counters
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-relay-limits.h"
#include "wzp-relay.h"

#include <string.h>

/* Indexed by RelayRefusal: the limit's name, as flag, config key and
 * metrics label. */
static const char *const refusal_names[RELAY_REFUSED_N] = {
  "max-registrations",
  "max-registrations-per-source",
  "registration-timeout",
  "max-pending-probes",
  "max-pending-probes-per-client",
  "message-rate",
};

void
relay_limits_init (RelayLimits * limits)
{
  memset (limits, 0, sizeof *limits);
  limits->max_registrations = WZP_RELAY_DEFAULT_MAX_REGISTRATIONS;
  limits->max_registrations_per_source =
      WZP_RELAY_DEFAULT_MAX_REGISTRATIONS_PER_SOURCE;
  limits->registration_timeout_ns = WZP_RELAY_DEFAULT_REGISTRATION_TIMEOUT;
  limits->max_pending_probes = WZP_RELAY_DEFAULT_MAX_PENDING_PROBES;
  limits->max_pending_probes_per_client =
      WZP_RELAY_DEFAULT_MAX_PENDING_PROBES_PER_CLIENT;
  limits->message_rate = WZP_RELAY_DEFAULT_MESSAGE_RATE;
  limits->message_burst = WZP_RELAY_DEFAULT_MESSAGE_BURST;
  limits->registrations_by_source = wzp_source_counter_new ();
  for (guint i = 0; i < RELAY_REFUSED_N; i++)
    limits->logs[i] = (WzpLogLimit) WZP_LOG_LIMIT_INIT (WZP_LOG_LIMIT_INTERVAL);
}

void
relay_limits_clear (RelayLimits * limits)
{
  g_clear_pointer (&limits->registrations_by_source, wzp_source_counter_free);
}

const char *
relay_refusal_name (RelayRefusal reason)
{
  g_return_val_if_fail (reason < RELAY_REFUSED_N, "?");
  return refusal_names[reason];
}

/* May a client from @source register a new identity, with
 * @registered_now identities registered overall? */
gboolean
relay_limits_registration_allowed (RelayLimits * limits,
    const WzpSource * source, guint registered_now, RelayRefusal * why)
{
  if (registered_now >= limits->max_registrations) {
    *why = RELAY_REFUSED_MAX_REGISTRATIONS;
    return FALSE;
  }
  if (wzp_source_counter_get (limits->registrations_by_source, source) >=
      limits->max_registrations_per_source) {
    *why = RELAY_REFUSED_REGISTRATIONS_PER_SOURCE;
    return FALSE;
  }
  return TRUE;
}

void
relay_limits_registration_added (RelayLimits * limits, const WzpSource * source)
{
  wzp_source_counter_add (limits->registrations_by_source, source);
}

void
relay_limits_registration_removed (RelayLimits * limits,
    const WzpSource * source)
{
  wzp_source_counter_remove (limits->registrations_by_source, source);
}

/**
 * relay_rate_take:
 * @per_second: sustained rate
 * @burst: how many may arrive at once after a quiet spell
 *
 * GCRA: each message moves the theoretical arrival time on by one
 * interval (1/@per_second); a message is allowed while that time is no
 * more than (@burst - 1) intervals ahead of now.  Refused messages do not
 * move it, so a client that pauses gets its burst back.
 *
 * Returns: %TRUE if one more message fits now
 */
gboolean
relay_rate_take (RelayRate * rate, guint64 now, guint per_second, guint burst)
{
  guint64 interval = WZP_NSEC_PER_SEC / MAX (per_second, 1);
  guint64 tolerance = interval * (MAX (burst, 1) - 1);
  guint64 tat = MAX (rate->tat, now);

  if (tat - now > tolerance)
    return FALSE;
  rate->tat = tat + interval;
  return TRUE;
}
