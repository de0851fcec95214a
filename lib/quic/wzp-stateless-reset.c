/* wzp — stateless reset tokens that survive a restart
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-stateless-reset.h"

#include <string.h>

void
_wzp_reset_key_derive (WzpIdentity * identity, guint8 key[WZP_RESET_KEY_LEN])
{
  static const char label[] = "wzp-stateless-reset-key-v1";
  guint8 sig[WZP_SIGNATURE_LEN];
  GChecksum *c = g_checksum_new (G_CHECKSUM_SHA256);
  gsize len = WZP_RESET_KEY_LEN;

  /* Ed25519 (RFC 8032) signatures are deterministic: the same identity
   * always gives the same key. */
  wzp_identity_sign (identity, (const guint8 *) label, sizeof label, sig);
  g_checksum_update (c, (const guint8 *) label, sizeof label);
  g_checksum_update (c, sig, sizeof sig);
  g_checksum_get_digest (c, key, &len);
  g_checksum_free (c);
  memset (sig, 0, sizeof sig);
}

void
_wzp_reset_token (const guint8 key[WZP_RESET_KEY_LEN], const guint8 * cid,
    gsize cid_len, guint8 token[WZP_RESET_TOKEN_LEN])
{
  GHmac *h = g_hmac_new (G_CHECKSUM_SHA256, key, WZP_RESET_KEY_LEN);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_hmac_update (h, cid, cid_len);
  g_hmac_get_digest (h, digest, &len);
  g_hmac_unref (h);
  memcpy (token, digest, WZP_RESET_TOKEN_LEN);
}
