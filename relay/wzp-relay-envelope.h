/* wzp — what relay nodes say to each other: the cross-node bus envelope
 * and the node record, as JSON, strictly parsed
 *
 * A node's bus (wzp-relay-bus.h) carries one envelope per stream entry.
 * Every field is checked like a client message is (types, sizes,
 * fingerprints, addresses); a client message inside an envelope is
 * carried as its original text ("raw") and goes through
 * wzp_message_parse() again where it is used, so a node trusts another
 * node's framing, never its JSON.  docs/CLUSTER.md lists every kind.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-identity.h"
#include "wzp-relay-nodes.h"

G_BEGIN_DECLS

/* An envelope, raw message included, is at most this large. */
#define RELAY_ENVELOPE_MAX_SIZE (64 * 1024)
/* Call ids in one check / check-reply. */
#define RELAY_ENVELOPE_MAX_IDS 1024

typedef enum
{
  /* A client's request, for the node that hosts its call or room. */
  RELAY_ENVELOPE_CLIENT,
  /* A relay message for a client registered at the receiving node. */
  RELAY_ENVELOPE_DELIVER,
  /* @fp's registration at the sender went away (not moved). */
  RELAY_ENVELOPE_GONE,
  /* @fp registered at the sender: drop yours, as superseded. */
  RELAY_ENVELOPE_SUPERSEDE,
  /* @fp's NAT mapping as the sender's probe found it. */
  RELAY_ENVELOPE_NAT,
  /* Do you still host these calls (@ids)? */
  RELAY_ENVELOPE_CHECK,
  /* These of the calls you asked about (@ids) are not here. */
  RELAY_ENVELOPE_CHECK_REPLY,
  /* To ourselves, sent at @sent_us: how long the bus takes. */
  RELAY_ENVELOPE_PING,
  RELAY_ENVELOPE_N_KINDS
} RelayEnvelopeKind;

typedef struct
{
  RelayEnvelopeKind kind;
  char *from;                   /* sending node id */
  char *fp;                     /* client, deliver (recipient), gone,
                                 * supersede, nat */
  guint8 public_key[WZP_PUBLIC_KEY_LEN];        /* client */
  char *observed;               /* client: its address as its node sees it */
  const char *nat;              /* client, nat: "eim", "edm", "unknown" */
  guint64 rtt_us;               /* client: its RTT to its node */
  GBytes *raw;                  /* client, deliver: one signaling message */
  guint hops;                   /* deliver: forwarded once already */
  GPtrArray *ids;               /* check, check-reply: call ids (char *) */
  guint64 sent_us;              /* ping: the sender's monotonic clock */
} RelayEnvelope;

const char *relay_envelope_kind_to_string (RelayEnvelopeKind kind);

RelayEnvelope *relay_envelope_new (RelayEnvelopeKind kind, const char *from);
void relay_envelope_free (RelayEnvelope * env);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RelayEnvelope, relay_envelope_free)

/* Strict: every field of its kind present, of its type and size. */
RelayEnvelope *relay_envelope_parse (const char *data, gsize len,
    GError ** error);
char *relay_envelope_to_json (const RelayEnvelope * env, gsize * len);

/* The node record (the value of wzp:node:ID) and back. */
char *relay_node_to_json (const RelayNode * node);
RelayNode *relay_node_from_json (const char *json, gsize len,
    GError ** error);

/* A node id: RELAY_NODE_ID_LEN lowercase hex digits. */
gboolean relay_node_id_is_valid (const char *id);

G_END_DECLS
