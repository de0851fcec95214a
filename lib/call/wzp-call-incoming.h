/* wzp-call-incoming.h — an incoming call, verified, until it is answered
 * (private)
 *
 * The relay vouches for the caller's key (it checked a signature over its
 * challenge); the key must still hash to the caller's fingerprint, and
 * the offer must be signed by it for this call id and these two parties.
 * What passes is kept here until the application (or the answer policy)
 * decides, for as long as that takes: the call keeps running meanwhile.
 * Plain data; it calls nobody.
 */
#pragma once

#include <json-glib/json-glib.h>
#include "wzp-call-offer.h"

G_BEGIN_DECLS

typedef struct
{
  char *call_id;
  guint8 call_id_bin[WZP_CALL_ID_BYTES];
  char *caller;                 /* canonical fingerprint */
  guint8 caller_key[WZP_PUBLIC_KEY_LEN];
  guint8 caller_eph[WZP_EPH_KEY_LEN];
  guint8 offer_sig[WZP_SIGNATURE_LEN];
  JsonObject *offer;            /* its host candidates, for an early start */
} WzpCallIncoming;

/* NULL (and @error) when the call must be rejected unseen. */
WzpCallIncoming *_wzp_call_incoming_verify (const char *call_id,
    const char *from, GBytes * from_public_key, JsonObject * offer,
    const char *me, GError ** error);
void _wzp_call_incoming_free (WzpCallIncoming * incoming);

G_END_DECLS
