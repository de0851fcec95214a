/* wzp-call-offer.h — the signed halves of a call's key exchange (private)
 *
 * The caller's offer and the callee's answer are JSON objects the relay
 * forwards without reading.  Each carries an ephemeral X25519 public key
 * signed by the sender's identity over both fingerprints and the call id
 * (and, in the answer, the caller's ephemeral key too), so a relay that
 * swaps keys is caught: it cannot sign for either identity.
 *
 *   offer  = { "eph": b64(32), "sig": b64(64), "candidates": ["ip:port"...],
 *              "nat": "eim" | "edm" | "unknown" }
 *   signed = "wzp-offer-v1\0"  || call_id[16] || caller_fp || callee_fp
 *            || caller_eph[32]
 *   answer = same fields; signed = "wzp-answer-v1\0" || call_id[16] ||
 *            caller_fp || callee_fp || caller_eph[32] || callee_eph[32]
 *
 * Fingerprints enter the signed bytes in their canonical 39-character form.
 * The signed bytes come from wzp-call-proof.h, which the relay uses to
 * check a resumed call.
 */
#pragma once

#include <json-glib/json-glib.h>
#include "wzp-identity-private.h"
#include "wzp-message.h"            /* WZP_CALL_ID_BYTES */

G_BEGIN_DECLS

#define WZP_EPH_KEY_LEN 32

typedef struct
{
  guint8 eph[WZP_EPH_KEY_LEN];
  guint8 sig[WZP_SIGNATURE_LEN];        /* verified; kept for resume-call */
  GPtrArray *candidates;        /* of char* "ip:port" */
  char *nat;
} WzpOfferInfo;

void _wzp_offer_info_clear (WzpOfferInfo * info);

/* Reads a base64 field of exactly @len bytes (keys, signatures). */
gboolean _wzp_offer_get_key (JsonObject * o, const char *name, guint8 *out,
    gsize len, GError ** error);

/* @caller_eph: NULL for an offer (then @my_eph is the caller's key). */
JsonObject *_wzp_offer_build (WzpIdentity * me, const guint8 *call_id,
    const char *caller_fp, const char *callee_fp, const guint8 *my_eph,
    const guint8 *caller_eph, GPtrArray * candidates, const char *nat);

/* Verifies @o was signed by @signer_public_key.  For an answer pass the
 * caller's ephemeral key as @caller_eph. */
gboolean _wzp_offer_parse (JsonObject * o, const guint8 *call_id,
    const char *caller_fp, const char *callee_fp,
    const guint8 *signer_public_key, const guint8 *caller_eph,
    WzpOfferInfo * out, GError ** error);

G_END_DECLS
