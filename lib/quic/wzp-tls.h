/* wzp — the TLS backend for QUIC (internal)
 *
 * The only file that knows GnuTLS.  Debian 12's OpenSSL 3.0 has no QUIC TLS
 * API, so ngtcp2's GnuTLS helper runs the handshake; when an ngtcp2 with
 * OpenSSL 3.5 is available, this file is what gets replaced.
 *
 * Trust model: no CAs.  Every endpoint's certificate is made from its
 * Ed25519 identity key; both sides always present one (mutual TLS) and the
 * verify callback turns the peer's key into a fingerprint that the
 * connection checks against what it expects (a pinned fingerprint, or an
 * accept filter for servers).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wzp-identity-private.h"

G_BEGIN_DECLS

typedef struct _WzpTlsContext WzpTlsContext;
typedef struct _WzpTlsSession WzpTlsSession;

/* Called during the handshake with the peer's identity key, already checked
 * to be an Ed25519 key that signed its own certificate.  Must only decide:
 * return FALSE with @error set to refuse the peer.  @user_data is what was
 * given to wzp_tls_session_new().  Also called with @fingerprint NULL and
 * @error already set when the certificate itself was unacceptable, so the
 * connection can record why. */
typedef gboolean (*WzpTlsVerifyFunc) (gpointer user_data,
    const char *fingerprint, const guint8 public_key[WZP_PUBLIC_KEY_LEN],
    GError ** error);

WzpTlsContext *wzp_tls_context_new (WzpIdentity * identity,
    WzpTlsVerifyFunc verify, GError ** error);

void wzp_tls_context_free (WzpTlsContext * ctx);

/* Creates a TLS session for @conn and installs it as ngtcp2's native
 * handle.  @get_conn and @user_data form the ngtcp2_crypto_conn_ref that
 * ngtcp2's GnuTLS helper uses; @user_data also goes to the verify func.
 * @alpn is normally WZP_ALPN (tests pass others). */
WzpTlsSession *wzp_tls_session_new (WzpTlsContext * ctx, ngtcp2_conn * conn,
    ngtcp2_crypto_get_conn get_conn, gpointer user_data, gboolean is_server,
    const char *alpn, GError ** error);

void wzp_tls_session_free (WzpTlsSession * session);

/* The ALPN both sides agreed on, or NULL before the handshake. */
char *wzp_tls_session_get_alpn (WzpTlsSession * session);

/* RFC 8446 §7.5 / RFC 5705 keying material exporter (empty context):
 * @len bytes both ends of the handshake derive alike and nobody else
 * can.  Valid once the handshake is complete. */
gboolean wzp_tls_session_export (WzpTlsSession * session, const char *label,
    guint8 * out, gsize len, GError ** error);

/* A short human description of a TLS alert number. */
const char *wzp_tls_alert_to_string (guint8 alert);

G_END_DECLS
