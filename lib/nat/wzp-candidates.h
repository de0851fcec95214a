/* wzp — candidate addresses for a direct path, and what we know of NATs
 *
 * A candidate is an address where a peer may reach our endpoint's one
 * socket (per family): host candidates are the addresses of our own
 * interfaces with the socket's port; a reflexive candidate is the address
 * the relay observed (our NAT's public mapping); a peer-reflexive one is
 * learned during the race from where a peer's packet came from.
 *
 * On the wire (signaling) a candidate list is a JSON array of strings in
 * the address text form of wzp-address.h: "192.0.2.7:4433",
 * "[2001:db8::7]:4433".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "wzp-version.h"
#include "wzp-address.h"
#include "wzp-endpoint.h"

G_BEGIN_DECLS

/**
 * WzpNatType:
 * @WZP_NAT_TYPE_UNKNOWN: not measured (fewer than two reflexive
 *   observations), or no NAT we could see
 * @WZP_NAT_TYPE_EIM: endpoint-independent mapping: the same public
 *   address and port for every destination (RFC 4787 "cone"; no NAT at all
 *   counts too)
 * @WZP_NAT_TYPE_EDM: endpoint-dependent mapping: a new public port per
 *   destination ("symmetric"); a peer cannot reach the address the relay
 *   saw
 *
 * Told apart by two reflexive observations of the same socket from two
 * relay addresses: same address and port means EIM, a different port EDM.
 */
typedef enum
{
  WZP_NAT_TYPE_UNKNOWN,
  WZP_NAT_TYPE_EIM,
  WZP_NAT_TYPE_EDM,
} WzpNatType;

GType wzp_nat_type_get_type (void);
#define WZP_TYPE_NAT_TYPE (wzp_nat_type_get_type ())

const char *wzp_nat_type_to_string (WzpNatType type);

gboolean wzp_nat_type_from_string (const char *text, WzpNatType * type);

typedef enum
{
  WZP_CANDIDATE_HOST,
  WZP_CANDIDATE_REFLEXIVE,
  WZP_CANDIDATE_PEER_REFLEXIVE,
} WzpCandidateKind;

const char *wzp_candidate_kind_to_string (WzpCandidateKind kind);

typedef struct
{
  WzpCandidateKind kind;
  WzpAddr addr;
} WzpCandidate;

/**
 * WZP_CANDIDATES_MAX:
 *
 * Most candidates a list holds; more are dropped (and logged).  A peer's
 * list makes us send packets to every address on it, so an unbounded list
 * would let a caller aim our endpoint at anyone.
 */
#define WZP_CANDIDATES_MAX 16

/**
 * WzpGatherFlags:
 * @WZP_GATHER_NONE: the defaults
 * @WZP_GATHER_LOOPBACK: keep loopback addresses (tests, one-host setups)
 * @WZP_GATHER_LINK_LOCAL: keep link-local addresses (169.254/16 and
 *   IPv4 only: an IPv6 link-local address needs a scope the text form
 *   cannot carry across hosts)
 */
typedef enum
{
  WZP_GATHER_NONE = 0,
  WZP_GATHER_LOOPBACK = 1 << 0,
  WZP_GATHER_LINK_LOCAL = 1 << 1,
} WzpGatherFlags;

/**
 * WzpCandidates:
 *
 * An ordered list of distinct candidate addresses (a reference-counted
 * boxed type).  Order is insertion order; the race tries all at once, so
 * it only shapes logs.
 */
typedef struct _WzpCandidates WzpCandidates;

GType wzp_candidates_get_type (void);
#define WZP_TYPE_CANDIDATES (wzp_candidates_get_type ())

WzpCandidates *wzp_candidates_new (void);

WzpCandidates *wzp_candidates_ref (WzpCandidates * self);

void wzp_candidates_unref (WzpCandidates * self);

WzpCandidates *wzp_candidates_copy (const WzpCandidates * self);

gboolean wzp_candidates_add (WzpCandidates * self, WzpCandidateKind kind,
    const WzpAddr * addr);

gboolean wzp_candidates_add_reflexive (WzpCandidates * self,
    GSocketAddress * address);

gboolean wzp_candidates_add_string (WzpCandidates * self,
    WzpCandidateKind kind, const char *text, GError ** error);

gboolean wzp_candidates_contains (const WzpCandidates * self,
    const WzpAddr * addr);

guint wzp_candidates_get_count (const WzpCandidates * self);

const WzpCandidate *wzp_candidates_get (const WzpCandidates * self, guint i);

gboolean wzp_candidates_gather_host (WzpCandidates * self,
    WzpEndpoint * endpoint, WzpGatherFlags flags, GError ** error);

WzpCandidates *wzp_candidates_gather (WzpEndpoint * endpoint,
    WzpGatherFlags flags, GError ** error);

char **wzp_candidates_to_strv (const WzpCandidates * self);

gboolean wzp_candidates_add_strv (WzpCandidates * self,
    WzpCandidateKind kind, const char *const *strv, GError ** error);

WzpCandidates *wzp_candidates_new_from_strv (WzpCandidateKind kind,
    const char *const *strv, GError ** error);

char *wzp_candidates_to_string (const WzpCandidates * self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpCandidates, wzp_candidates_unref)

G_END_DECLS
