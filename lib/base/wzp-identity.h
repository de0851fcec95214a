/* wzp-identity.h — Ed25519 identities, their fingerprints and certificates
 *
 * An identity is what users dial: its fingerprint is the first 16 bytes
 * of SHA-256 over the raw 32-byte Ed25519 public key, written as eight
 * groups of four lowercase hex digits joined by ':'.  The QUIC
 * certificate of every endpoint is a self-signed X.509 certificate made
 * from the same key, so pinning a fingerprint pins the TLS peer.
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

#define WZP_PUBLIC_KEY_LEN 32
#define WZP_PRIVATE_KEY_LEN 32
#define WZP_SIGNATURE_LEN 64
/* "xxxx:" × 7 + "xxxx" */
#define WZP_FINGERPRINT_LEN 39

#define WZP_IDENTITY_ERROR (wzp_identity_error_quark ())
WZP_API GQuark wzp_identity_error_quark (void);

typedef enum
{
  WZP_IDENTITY_ERROR_IO,
  WZP_IDENTITY_ERROR_INVALID_KEY,
  WZP_IDENTITY_ERROR_INVALID_FINGERPRINT,
  WZP_IDENTITY_ERROR_INVALID_CERTIFICATE,
  WZP_IDENTITY_ERROR_FAILED,
  WZP_IDENTITY_ERROR_PERMISSIONS,
} WzpIdentityError;

/**
 * WzpIdentityLoadFlags:
 * @WZP_IDENTITY_LOAD_NONE: refuse a key file that group or others can
 *   access (%WZP_IDENTITY_ERROR_PERMISSIONS)
 * @WZP_IDENTITY_LOAD_ALLOW_INSECURE: accept it anyway (the user said so)
 */
typedef enum
{
  WZP_IDENTITY_LOAD_NONE = 0,
  WZP_IDENTITY_LOAD_ALLOW_INSECURE = 1 << 0,
} WzpIdentityLoadFlags;

#define WZP_TYPE_IDENTITY (wzp_identity_get_type ())
WZP_API
G_DECLARE_FINAL_TYPE (WzpIdentity, wzp_identity, WZP, IDENTITY, GObject);

WZP_API WzpIdentity *wzp_identity_generate (void);
WZP_API WzpIdentity *wzp_identity_new_from_seed (const guint8
    seed[WZP_PRIVATE_KEY_LEN], GError ** error);
WZP_API WzpIdentity *wzp_identity_load (const char *path, GError ** error);
WZP_API WzpIdentity *wzp_identity_load_full (const char *path,
    WzpIdentityLoadFlags flags, GError ** error);
WZP_API gboolean wzp_identity_save (WzpIdentity * self, const char *path,
    GError ** error);
WZP_API WzpIdentity *wzp_identity_load_or_create (const char *path,
    gboolean * created, GError ** error);
WZP_API WzpIdentity *wzp_identity_load_or_create_full (const char *path,
    WzpIdentityLoadFlags flags, gboolean * created, GError ** error);

WZP_API const char *wzp_identity_get_fingerprint (WzpIdentity * self);
WZP_API void wzp_identity_get_public_key (WzpIdentity * self,
    guint8 out[WZP_PUBLIC_KEY_LEN]);
WZP_API void wzp_identity_get_private_key (WzpIdentity * self,
    guint8 out[WZP_PRIVATE_KEY_LEN]);
WZP_API GBytes *wzp_identity_get_certificate_der (WzpIdentity * self);

WZP_API void wzp_identity_sign (WzpIdentity * self, const guint8 * data,
    gsize len, guint8 signature[WZP_SIGNATURE_LEN]);
WZP_API gboolean wzp_identity_verify (const guint8
    public_key[WZP_PUBLIC_KEY_LEN], const guint8 * data, gsize len,
    const guint8 * signature, gsize signature_len, GError ** error);

WZP_API char *wzp_fingerprint_from_public_key (const guint8
    public_key[WZP_PUBLIC_KEY_LEN]);
WZP_API char *wzp_fingerprint_normalize (const char *text, GError ** error);
WZP_API gboolean wzp_fingerprint_equal (const char *a, const char *b);
WZP_API gboolean wzp_fingerprint_from_certificate_der (const guint8 * der,
    gsize len, char **fingerprint, guint8 public_key[WZP_PUBLIC_KEY_LEN],
    GError ** error);

G_END_DECLS
