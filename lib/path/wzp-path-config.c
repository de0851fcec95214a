/* wzp — the path manager's vocabulary: roles, default timings (the
 * public enums are in wzp-path-types.c)
 *
 * What both peers compute the same way from what both know; no state.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-path-private.h"

#include <string.h>

#include "wzp-identity.h"

/* --- enums ------------------------------------------------------------ */

const char *
wzp_path_role_to_string (WzpPathRole role)
{
  switch (role) {
    case WZP_PATH_ROLE_DIALER:
      return "dialer";
    case WZP_PATH_ROLE_ACCEPTOR:
      return "acceptor";
    case WZP_PATH_ROLE_NONE:
    default:
      return "none";
  }
}

GQuark
wzp_path_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-path-error-quark");
  return q;
}

/* --- roles ------------------------------------------------------------ */

/**
 * wzp_path_decide_role:
 * @reason: (out) (optional): why, for logs and path-changed reasons
 *
 * Who dials and who accepts, decided the same way on both sides from what
 * both know, so exactly one direct connection is made:
 * - both mappings endpoint-dependent: no direct attempt (%NONE): neither
 *   can be reached at an address the other knows;
 * - one side endpoint-dependent: that side dials.  Its NAT picks a new
 *   port for the acceptor, which the acceptor answers where the packet
 *   came from; the reverse cannot work;
 * - otherwise (both EIM, both unknown, or EIM and unknown) the
 *   lexicographically smaller fingerprint (normalised text form) dials.
 *   Fingerprints are what both sides already agree on; the original
 *   compared reflexive addresses, which a peer may not have.
 * Equal fingerprints (calling oneself) give %NONE.
 *
 * Returns: our role
 */
WzpPathRole
wzp_path_decide_role (WzpNatType local_nat, WzpNatType peer_nat,
    const char *local_fingerprint, const char *peer_fingerprint,
    const char **reason)
{
  const char *dummy;
  g_autofree char *mine = NULL;
  g_autofree char *theirs = NULL;
  int cmp;

  if (reason == NULL)
    reason = &dummy;
  if (local_nat == WZP_NAT_TYPE_EDM && peer_nat == WZP_NAT_TYPE_EDM) {
    *reason = "peer NAT is symmetric and ours too: relay only";
    return WZP_PATH_ROLE_NONE;
  }
  if (local_nat == WZP_NAT_TYPE_EDM) {
    *reason = "our NAT is symmetric: we dial";
    return WZP_PATH_ROLE_DIALER;
  }
  if (peer_nat == WZP_NAT_TYPE_EDM) {
    *reason = "peer NAT is symmetric: it dials, we accept";
    return WZP_PATH_ROLE_ACCEPTOR;
  }
  mine = wzp_fingerprint_normalize (local_fingerprint, NULL);
  theirs = wzp_fingerprint_normalize (peer_fingerprint, NULL);
  if (mine == NULL || theirs == NULL) {
    *reason = "invalid fingerprint: relay only";
    return WZP_PATH_ROLE_NONE;
  }
  cmp = strcmp (mine, theirs);
  if (cmp == 0) {
    *reason = "the peer has our own fingerprint: relay only";
    return WZP_PATH_ROLE_NONE;
  }
  *reason = cmp < 0 ? "smaller fingerprint dials: we dial" :
      "smaller fingerprint dials: we accept";
  return cmp < 0 ? WZP_PATH_ROLE_DIALER : WZP_PATH_ROLE_ACCEPTOR;
}

/* --- configuration ---------------------------------------------------- */

void
wzp_path_timings_init (WzpPathTimings * t)
{
  memset (t, 0, sizeof *t);
  t->punch_interval_ns = WZP_PATH_DEFAULT_PUNCH_INTERVAL;
  t->race_timeout_ns = WZP_PATH_DEFAULT_RACE_TIMEOUT;
  t->initial_rtt_ns = WZP_PATH_DEFAULT_INITIAL_RTT;
  t->probe_interval_ns = WZP_PATH_DEFAULT_PROBE_INTERVAL;
  t->failover_threshold_ns = WZP_PATH_DEFAULT_FAILOVER_THRESHOLD;
  t->direct_idle_timeout_ns = WZP_PATH_DEFAULT_DIRECT_IDLE_TIMEOUT;
  t->rerace_interval_ns = WZP_PATH_DEFAULT_RERACE_INTERVAL;
  t->rerace_max_interval_ns = WZP_PATH_DEFAULT_RERACE_MAX_INTERVAL;
  t->switch_overlap_ns = WZP_PATH_DEFAULT_SWITCH_OVERLAP;
  t->doubt_threshold_ns = WZP_PATH_DEFAULT_DOUBT_THRESHOLD;
}

void
wzp_path_config_init (WzpPathConfig * config)
{
  memset (config, 0, sizeof *config);
  config->local_nat = WZP_NAT_TYPE_UNKNOWN;
  config->peer_nat = WZP_NAT_TYPE_UNKNOWN;
  config->policy = WZP_PATH_POLICY_AUTO;
  wzp_path_timings_init (&config->timings);
}

gboolean
_wzp_path_check_timings (const WzpPathTimings * t, GError ** error)
{
  const char *bad = NULL;

  if (t->punch_interval_ns == 0)
    bad = "punch interval";
  else if (t->race_timeout_ns == 0)
    bad = "race timeout";
  else if (t->probe_interval_ns == 0)
    bad = "probe interval";
  else if (t->doubt_threshold_ns == 0)
    bad = "doubt threshold";
  else if (t->failover_threshold_ns < t->doubt_threshold_ns)
    bad = "failover threshold (shorter than the doubt threshold)";
  else if (t->direct_idle_timeout_ns < t->failover_threshold_ns)
    bad = "direct idle timeout (shorter than the failover threshold)";
  else if (t->rerace_interval_ns == 0)
    bad = "re-race interval";
  if (bad) {
    g_set_error (error, WZP_PATH_ERROR, WZP_PATH_ERROR_INVALID_CONFIG,
        "invalid path timings: %s", bad);
    return FALSE;
  }
  return TRUE;
}
