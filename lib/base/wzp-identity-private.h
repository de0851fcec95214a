/* wzp-identity-private.h — keys, signatures and certificates of an
 * identity (not installed)
 *
 * What the library does with an identity besides naming it: the raw
 * keys, Ed25519 signatures (registration challenges, offers and answers,
 * room invitations) and the self-signed certificate of every QUIC
 * endpoint.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-identity.h"

G_BEGIN_DECLS

/**
 * WzpIdentityLoadFlags:
 * @WZP_IDENTITY_LOAD_NONE: refuse a key file that group or others can
 *   access (%WZP_IDENTITY_ERROR_PERMISSIONS)
 * @WZP_IDENTITY_LOAD_ALLOW_INSECURE: accept it anyway (the user said so,
 *   e.g. wzp-relay --allow-insecure-identity)
 *
 * wzp_identity_load() refuses such a file unless the environment says
 * `WZP_ALLOW_INSECURE_IDENTITY=1`; the tools pass their flag here.
 */
typedef enum
{
  WZP_IDENTITY_LOAD_NONE = 0,
  WZP_IDENTITY_LOAD_ALLOW_INSECURE = 1 << 0,
} WzpIdentityLoadFlags;

WzpIdentity *wzp_identity_load_full (const char *path,
    WzpIdentityLoadFlags flags, GError ** error);
WzpIdentity *wzp_identity_load_or_create_full (const char *path,
    WzpIdentityLoadFlags flags, gboolean * created, GError ** error);

WzpIdentity *wzp_identity_new_from_seed (const guint8
    seed[WZP_PRIVATE_KEY_LEN], GError ** error);

void wzp_identity_get_public_key (WzpIdentity * self,
    guint8 out[WZP_PUBLIC_KEY_LEN]);
void wzp_identity_get_private_key (WzpIdentity * self,
    guint8 out[WZP_PRIVATE_KEY_LEN]);
GBytes *wzp_identity_get_certificate_der (WzpIdentity * self);

void wzp_identity_sign (WzpIdentity * self, const guint8 * data,
    gsize len, guint8 signature[WZP_SIGNATURE_LEN]);
gboolean wzp_identity_verify (const guint8 public_key[WZP_PUBLIC_KEY_LEN],
    const guint8 * data, gsize len, const guint8 * signature,
    gsize signature_len, GError ** error);

char *wzp_fingerprint_from_public_key (const guint8
    public_key[WZP_PUBLIC_KEY_LEN]);
gboolean wzp_fingerprint_from_certificate_der (const guint8 * der,
    gsize len, char **fingerprint, guint8 public_key[WZP_PUBLIC_KEY_LEN],
    GError ** error);

G_END_DECLS
