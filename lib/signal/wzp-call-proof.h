/* wzp — the proof that two parties agreed on a call
 *
 * The caller's offer and the callee's answer each carry an Ed25519
 * signature (Part B of docs/PROTOCOL.md):
 *
 *   offer  signs "wzp-offer-v1\0"  || call_id[16] || caller_fp || callee_fp
 *                || caller_eph[32]
 *   answer signs "wzp-answer-v1\0" || call_id[16] || caller_fp || callee_fp
 *                || caller_eph[32] || callee_eph[32]
 *
 * Together with the call id they prove that both identities agreed to
 * this call: nobody else can produce them.  The call layer builds and
 * checks offers and answers with them; a relay that lost its state (it
 * restarted) checks them before it bridges the two parties again
 * (`resume-call`), so it cannot be made to bridge strangers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include "wzp-version.h"
#include "wzp-identity-private.h"
#include "wzp-message.h"

G_BEGIN_DECLS

#define WZP_CALL_EPH_LEN 32

/**
 * WzpCallProof:
 * @call_id: the call id, 16 bytes
 * @caller_eph: the caller's ephemeral X25519 public key (from the offer)
 * @callee_eph: the callee's (from the answer)
 * @offer_sig: the caller's signature over the offer's signed bytes
 * @answer_sig: the callee's signature over the answer's signed bytes
 */
typedef struct
{
  guint8 call_id[WZP_CALL_ID_BYTES];
  guint8 caller_eph[WZP_CALL_EPH_LEN];
  guint8 callee_eph[WZP_CALL_EPH_LEN];
  guint8 offer_sig[WZP_SIGNATURE_LEN];
  guint8 answer_sig[WZP_SIGNATURE_LEN];
} WzpCallProof;

/* The bytes an offer (@callee_eph NULL) or an answer signs; fingerprints
 * in canonical text form. */
GBytes *wzp_call_signed_data (const guint8 call_id[WZP_CALL_ID_BYTES],
    const char *caller_fp, const char *callee_fp,
    const guint8 caller_eph[WZP_CALL_EPH_LEN], const guint8 * callee_eph);

/* 32 hex digits to 16 bytes. */
gboolean wzp_call_id_to_bytes (const char *call_id,
    guint8 out[WZP_CALL_ID_BYTES]);

/* Checks both signatures of @proof under the two parties' keys. */
gboolean wzp_call_proof_verify (const WzpCallProof * proof,
    const char *caller_fp, const guint8 caller_key[WZP_PUBLIC_KEY_LEN],
    const char *callee_fp, const guint8 callee_key[WZP_PUBLIC_KEY_LEN],
    GError ** error);

gboolean wzp_call_proof_equal (const WzpCallProof * a,
    const WzpCallProof * b);

/* resume-call {call_id, peer, peer_public_key, role, caller_eph,
 * callee_eph, offer_sig, answer_sig} */
JsonObject *wzp_message_new_resume_call (const char *peer,
    const guint8 peer_public_key[WZP_PUBLIC_KEY_LEN], gboolean we_called,
    const WzpCallProof * proof);
/* Reads the proof fields of a resume-call (the call id from "call_id"). */
gboolean wzp_message_get_call_proof (JsonObject * msg,
    WzpCallProof * out, GError ** error);
/* call-resumed {call_id, channel} */
JsonObject *wzp_message_new_call_resumed (const char *call_id,
    guint32 channel);

G_END_DECLS
