/* Fuzz target: reading a peer's certificate (DER) into a fingerprint.
 *
 * This is what every TLS handshake runs on bytes the peer chose.  Checked:
 * a certificate is accepted only with a fingerprint of the right form that
 * is the fingerprint of the key returned with it; a refusal is always
 * INVALID_CERTIFICATE and returns no fingerprint.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-identity-private.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  char *fp = NULL;
  guint8 pub[WZP_PUBLIC_KEY_LEN];
  GError *error = NULL;
  /* A copy of exactly @size bytes, so ASan sees any read past the end. */
  guint8 *der = g_memdup2 (data, size);

  if (wzp_fingerprint_from_certificate_der (der, size, &fp, pub, &error)) {
    char *again = wzp_fingerprint_from_public_key (pub);
    char *norm = wzp_fingerprint_normalize (fp, NULL);

    FUZZ_CHECK (error == NULL);
    FUZZ_CHECK (fp != NULL && strlen (fp) == WZP_FINGERPRINT_LEN);
    FUZZ_CHECK (g_strcmp0 (fp, again) == 0);
    FUZZ_CHECK (g_strcmp0 (fp, norm) == 0);
    g_free (again);
    g_free (norm);
    g_free (fp);
  } else {
    FUZZ_CHECK (fp == NULL);
    FUZZ_CHECK (g_error_matches (error, WZP_IDENTITY_ERROR,
            WZP_IDENTITY_ERROR_INVALID_CERTIFICATE));
    g_clear_error (&error);
  }
  g_free (der);
  return 0;
}
