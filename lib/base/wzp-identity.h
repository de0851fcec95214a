/* wzp-identity.h — Ed25519 identities, their fingerprints and certificates
 *
 * An identity is what users dial: its fingerprint is the first 16 bytes
 * of SHA-256 over the raw 32-byte Ed25519 public key, written as eight
 * groups of four lowercase hex digits joined by ':'.  The QUIC
 * certificate of every endpoint is a self-signed X.509 certificate made
 * from the same key, so pinning a fingerprint pins the TLS peer.
 *
 * What an application needs: make, load and save an identity, and read
 * and compare fingerprints.  Keys, signatures and certificates are
 * wzp-identity-private.h (the library's own business).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

#define WZP_PUBLIC_KEY_LEN 32
#define WZP_PRIVATE_KEY_LEN 32
#define WZP_SIGNATURE_LEN 64
/**
 * WZP_FINGERPRINT_LEN:
 *
 * Length of a fingerprint's text: "xxxx:" × 7 + "xxxx".
 */
#define WZP_FINGERPRINT_LEN 39

/**
 * WZP_IDENTITY_ERROR:
 *
 * The error domain of identities and fingerprints (#WzpIdentityError).
 */
#define WZP_IDENTITY_ERROR (wzp_identity_error_quark ())
WZP_API GQuark wzp_identity_error_quark (void);

/**
 * WzpIdentityError:
 * @WZP_IDENTITY_ERROR_IO: the file could not be read or written
 * @WZP_IDENTITY_ERROR_INVALID_KEY: the file holds no Ed25519 private key
 * @WZP_IDENTITY_ERROR_INVALID_FINGERPRINT: not 32 hex digits
 * @WZP_IDENTITY_ERROR_INVALID_CERTIFICATE: a peer's certificate is not a
 *   self-signed Ed25519 one
 * @WZP_IDENTITY_ERROR_FAILED: anything else
 * @WZP_IDENTITY_ERROR_PERMISSIONS: the key file is accessible by group or
 *   others, so its key may be known to them (like ssh, it is refused
 *   unless `WZP_ALLOW_INSECURE_IDENTITY=1`; fix: chmod 600)
 */
typedef enum
{
  WZP_IDENTITY_ERROR_IO,
  WZP_IDENTITY_ERROR_INVALID_KEY,
  WZP_IDENTITY_ERROR_INVALID_FINGERPRINT,
  WZP_IDENTITY_ERROR_INVALID_CERTIFICATE,
  WZP_IDENTITY_ERROR_FAILED,
  WZP_IDENTITY_ERROR_PERMISSIONS,
} WzpIdentityError;

#define WZP_TYPE_IDENTITY_ERROR (wzp_identity_error_get_type ())
WZP_API GType wzp_identity_error_get_type (void);

#define WZP_TYPE_IDENTITY (wzp_identity_get_type ())
WZP_API
G_DECLARE_FINAL_TYPE (WzpIdentity, wzp_identity, WZP, IDENTITY, GObject);

WZP_API WzpIdentity *wzp_identity_generate (void);
WZP_API WzpIdentity *wzp_identity_load (const char *path, GError ** error);
WZP_API gboolean wzp_identity_save (WzpIdentity * self, const char *path,
    GError ** error);
WZP_API WzpIdentity *wzp_identity_load_or_create (const char *path,
    gboolean * created, GError ** error);

WZP_API const char *wzp_identity_get_fingerprint (WzpIdentity * self);

WZP_API char *wzp_fingerprint_normalize (const char *text, GError ** error);
WZP_API gboolean wzp_fingerprint_equal (const char *a, const char *b);

G_END_DECLS
