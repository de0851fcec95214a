/* wzp — stateless reset tokens that survive a restart (internal)
 *
 * A QUIC peer that lost a connection's state (a relay killed and started
 * again) can tell the other side at once with a Stateless Reset (RFC 9000
 * §10.3), but only if it can compute the token it promised for that
 * connection ID before it lost everything.  Our tokens are therefore not
 * random: token = HMAC-SHA256(reset key, connection ID)[0..16], where the
 * reset key comes from the endpoint's identity (SHA-256 over a
 * deterministic Ed25519 signature of a fixed label).  A restarted process
 * with the same identity file computes the same tokens; nobody without
 * the private key can.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-identity-private.h"

G_BEGIN_DECLS

#define WZP_RESET_KEY_LEN 32
#define WZP_RESET_TOKEN_LEN 16
/* A reset is never longer than this (RFC 9000 §10.3 suggests the size of
 * a small packet), and always shorter than what provoked it. */
#define WZP_RESET_MAX_LEN 42

void _wzp_reset_key_derive (WzpIdentity * identity,
    guint8 key[WZP_RESET_KEY_LEN]);

void _wzp_reset_token (const guint8 key[WZP_RESET_KEY_LEN],
    const guint8 * cid, gsize cid_len, guint8 token[WZP_RESET_TOKEN_LEN]);

G_END_DECLS
