/* wzp — the TLS backend for QUIC (GnuTLS)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-tls.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "wzp-log-private.h"
#include "wzp-version.h"

#define WZP_CAT_DEFAULT wzp_cat_tls

/* TLS 1.3 only, as QUIC requires.  Compat mode off: QUIC has no
 * ChangeCipherSpec.  NORMAL keeps Ed25519 signatures and X25519 groups. */
#define WZP_TLS_PRIORITY \
  "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
  "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"

/* Peers do not check names (they pin keys), but a fixed SNI keeps the
 * ClientHello unremarkable and says nothing about who is calling whom. */
#define WZP_TLS_SNI "wzp"

struct _WzpTlsContext
{
  gnutls_certificate_credentials_t cred;
  /* Parsed once and shared by every session (GnuTLS counts references):
   * parsing it per session cost 8 KB of every connection's memory. */
  gnutls_priority_t priority;
  WzpTlsVerifyFunc verify;
};

/* ngtcp2's GnuTLS helper finds the connection through the session's ptr,
 * which must be an ngtcp2_crypto_conn_ref.  Making that the first member
 * lets our verify callback find the session (and so the context and the
 * connection) through the same pointer. */
struct _WzpTlsSession
{
  ngtcp2_crypto_conn_ref conn_ref;
  gnutls_session_t session;
  WzpTlsContext *ctx;
};

/* --- key log ---------------------------------------------------------- */

/* WZP_KEYLOG=path appends NSS key log lines so Wireshark and tshark can
 * decrypt our QUIC.  One file for the process, opened on first use. */
static GMutex keylog_lock;
static FILE *keylog_file;
static gboolean keylog_checked;

/* The file holds every session's secrets: created 0600, and an existing
 * one that others could read is narrowed to 0600 before we write. */
static FILE *
keylog_open (const char *path)
{
  struct stat st;
  FILE *f;
  int fd;

  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    WZP_WARNING ("WZP_KEYLOG=%s: cannot open: %s", path, g_strerror (errno));
    return NULL;
  }
  if (fstat (fd, &st) == 0 && (st.st_mode & 0077) != 0) {
    WZP_WARNING ("WZP_KEYLOG=%s had mode %04o; setting it to 0600", path,
        (guint) (st.st_mode & 07777));
    if (fchmod (fd, 0600) != 0) {
      WZP_WARNING ("WZP_KEYLOG=%s: cannot chmod: %s; not writing secrets",
          path, g_strerror (errno));
      close (fd);
      return NULL;
    }
  }
  f = fdopen (fd, "a");
  if (f == NULL)
    close (fd);
  return f;
}

static FILE *
keylog_get_file (void)
{
  FILE *f;

  g_mutex_lock (&keylog_lock);
  if (!keylog_checked) {
    const char *path = g_getenv ("WZP_KEYLOG");
    keylog_checked = TRUE;
    if (path && *path) {
      keylog_file = keylog_open (path);
      if (keylog_file)
        WZP_INFO ("writing TLS secrets to %s (WZP_KEYLOG)", path);
    }
  }
  f = keylog_file;
  g_mutex_unlock (&keylog_lock);
  return f;
}

static int
keylog_func (gnutls_session_t session, const char *label,
    const gnutls_datum_t * secret)
{
  FILE *f = keylog_get_file ();
  gnutls_datum_t client_random, server_random;
  GString *line;

  if (f == NULL)
    return 0;
  gnutls_session_get_random (session, &client_random, &server_random);
  line = g_string_new (label);
  g_string_append_c (line, ' ');
  for (guint i = 0; i < client_random.size; i++)
    g_string_append_printf (line, "%02x", client_random.data[i]);
  g_string_append_c (line, ' ');
  for (guint i = 0; i < secret->size; i++)
    g_string_append_printf (line, "%02x", secret->data[i]);
  g_string_append_c (line, '\n');

  g_mutex_lock (&keylog_lock);
  fputs (line->str, f);
  fflush (f);
  g_mutex_unlock (&keylog_lock);
  g_string_free (line, TRUE);
  return 0;
}

/* --- peer verification ------------------------------------------------ */

static int
verify_peer_cb (gnutls_session_t session)
{
  WzpTlsSession *s = gnutls_session_get_ptr (session);
  const gnutls_datum_t *certs;
  unsigned int n_certs = 0;
  g_autofree char *fingerprint = NULL;
  guint8 public_key[WZP_PUBLIC_KEY_LEN];
  g_autoptr (GError) error = NULL;

  certs = gnutls_certificate_get_peers (session, &n_certs);
  if (certs == NULL || n_certs == 0) {
    WZP_DEBUG ("peer sent no certificate");
    return GNUTLS_E_NO_CERTIFICATE_FOUND;
  }
  /* Only the leaf matters: it must be a self-signed Ed25519 certificate
   * whose key is the peer's identity.  There is no chain to build. */
  if (!wzp_fingerprint_from_certificate_der (certs[0].data, certs[0].size,
          &fingerprint, public_key, &error)) {
    WZP_INFO ("peer certificate refused: %s", error->message);
    if (s->ctx->verify)
      s->ctx->verify (s->conn_ref.user_data, NULL, NULL, &error);
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (s->ctx->verify && !s->ctx->verify (s->conn_ref.user_data, fingerprint,
          public_key, &error)) {
    WZP_INFO ("peer %s refused: %s", fingerprint,
        error ? error->message : "no reason given");
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  WZP_DEBUG ("peer certificate accepted: %s", fingerprint);
  return 0;
}

/* --- context ---------------------------------------------------------- */

static void
set_gnutls_error (GError ** error, const char *what, int rv)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what,
      gnutls_strerror (rv));
}

WzpTlsContext *
wzp_tls_context_new (WzpIdentity * identity, WzpTlsVerifyFunc verify,
    GError ** error)
{
  WzpTlsContext *ctx = g_new0 (WzpTlsContext, 1);
  gnutls_privkey_t key = NULL;
  gnutls_pcert_st *pcert = g_new0 (gnutls_pcert_st, 1);
  guint8 pub[WZP_PUBLIC_KEY_LEN], priv[32];
  gnutls_datum_t x = { pub, sizeof pub }, k = { priv, sizeof priv };
  g_autoptr (GBytes) der = NULL;
  gnutls_datum_t der_datum;
  gsize der_len;
  int rv;

  ctx->verify = verify;
  rv = gnutls_priority_init (&ctx->priority, WZP_TLS_PRIORITY, NULL);
  if (rv < 0) {
    ctx->priority = NULL;
    set_gnutls_error (error, "parsing the TLS priorities", rv);
    goto fail;
  }
  rv = gnutls_certificate_allocate_credentials (&ctx->cred);
  if (rv < 0) {
    set_gnutls_error (error, "allocating TLS credentials", rv);
    goto fail;
  }

  /* The certificate and key both come from the identity, so the key the
   * peer pins is the key that signs the handshake. */
  wzp_identity_get_public_key (identity, pub);
  wzp_identity_get_private_key (identity, priv);
  rv = gnutls_privkey_init (&key);
  if (rv >= 0)
    rv = gnutls_privkey_import_ecc_raw (key, GNUTLS_ECC_CURVE_ED25519, &x,
        NULL, &k);
  gnutls_memset (priv, 0, sizeof priv);
  if (rv < 0) {
    set_gnutls_error (error, "importing the identity key into GnuTLS", rv);
    goto fail;
  }

  der = wzp_identity_get_certificate_der (identity);
  der_datum.data = (unsigned char *) g_bytes_get_data (der, &der_len);
  der_datum.size = der_len;
  rv = gnutls_pcert_import_x509_raw (pcert, &der_datum, GNUTLS_X509_FMT_DER, 0);
  if (rv < 0) {
    set_gnutls_error (error, "importing the identity certificate", rv);
    g_clear_pointer (&pcert, g_free);
    goto fail;
  }

  /* The credentials own pcert's contents and the key from here on. */
  rv = gnutls_certificate_set_key (ctx->cred, NULL, 0, pcert, 1, key);
  g_free (pcert);
  pcert = NULL;
  if (rv < 0) {
    set_gnutls_error (error, "installing the identity certificate", rv);
    goto fail;
  }
  key = NULL;

  gnutls_certificate_set_verify_function (ctx->cred, verify_peer_cb);
  return ctx;

fail:
  if (pcert)
    g_free (pcert);
  if (key)
    gnutls_privkey_deinit (key);
  wzp_tls_context_free (ctx);
  return NULL;
}

void
wzp_tls_context_free (WzpTlsContext * ctx)
{
  if (ctx == NULL)
    return;
  if (ctx->cred)
    gnutls_certificate_free_credentials (ctx->cred);
  if (ctx->priority)
    gnutls_priority_deinit (ctx->priority);
  g_free (ctx);
}

/* --- sessions --------------------------------------------------------- */

WzpTlsSession *
wzp_tls_session_new (WzpTlsContext * ctx, ngtcp2_conn * conn,
    ngtcp2_crypto_get_conn get_conn, gpointer user_data, gboolean is_server,
    const char *alpn, GError ** error)
{
  WzpTlsSession *s = g_new0 (WzpTlsSession, 1);
  gnutls_datum_t proto = { (unsigned char *) alpn, strlen (alpn) };
  int rv;

  s->ctx = ctx;
  s->conn_ref.get_conn = get_conn;
  s->conn_ref.user_data = user_data;
  rv = gnutls_init (&s->session,
      (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
      GNUTLS_NO_END_OF_EARLY_DATA);
  if (rv < 0) {
    set_gnutls_error (error, "creating a TLS session", rv);
    g_free (s);
    return NULL;
  }

  rv = gnutls_priority_set (s->session, ctx->priority);
  if (rv >= 0)
    rv = is_server ?
        ngtcp2_crypto_gnutls_configure_server_session (s->session) :
        ngtcp2_crypto_gnutls_configure_client_session (s->session);
  if (rv >= 0)
    rv = gnutls_credentials_set (s->session, GNUTLS_CRD_CERTIFICATE, ctx->cred);
  /* Mandatory: a peer that does not speak "wzp" fails the handshake with
   * no_application_protocol instead of getting a half-working session. */
  if (rv >= 0)
    rv = gnutls_alpn_set_protocols (s->session, &proto, 1,
        GNUTLS_ALPN_MANDATORY);
  if (rv >= 0 && !is_server)
    rv = gnutls_server_name_set (s->session, GNUTLS_NAME_DNS, WZP_TLS_SNI,
        strlen (WZP_TLS_SNI));
  if (rv < 0) {
    set_gnutls_error (error, "configuring the TLS session", rv);
    wzp_tls_session_free (s);
    return NULL;
  }

  /* Mutual TLS always: the relay learns who registers, and on the direct
   * path each peer checks the other. */
  if (is_server)
    gnutls_certificate_server_set_request (s->session, GNUTLS_CERT_REQUIRE);

  gnutls_session_set_keylog_function (s->session, keylog_func);
  gnutls_session_set_ptr (s->session, &s->conn_ref);
  ngtcp2_conn_set_tls_native_handle (conn, s->session);
  return s;
}

void
wzp_tls_session_free (WzpTlsSession * s)
{
  if (s == NULL)
    return;
  if (s->session)
    gnutls_deinit (s->session);
  g_free (s);
}

char *
wzp_tls_session_get_alpn (WzpTlsSession * s)
{
  gnutls_datum_t proto;

  if (gnutls_alpn_get_selected_protocol (s->session, &proto) < 0)
    return NULL;
  return g_strndup ((const char *) proto.data, proto.size);
}

gboolean
wzp_tls_session_export (WzpTlsSession * s, const char *label, guint8 * out,
    gsize len, GError ** error)
{
  int rv = gnutls_prf_rfc5705 (s->session, strlen (label), label, 0, NULL,
      len, (char *) out);

  if (rv < 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "TLS exporter: %s", gnutls_strerror (rv));
    return FALSE;
  }
  return TRUE;
}

const char *
wzp_tls_alert_to_string (guint8 alert)
{
  const char *name = gnutls_alert_get_strname ((gnutls_alert_description_t)
      alert);
  return name ? name : "unknown TLS alert";
}
