/* wzp-identity.c — Ed25519 identities (OpenSSL libcrypto)
 *
 * Files hold the private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"),
 * so `openssl pkey -in FILE -text` can read them; they are written
 * atomically with mode 0600.  The certificate is made once per identity
 * object and kept, so every connection presents the same bytes.
 */
#include "config.h"

#include "wzp-identity-private.h"
#include "wzp-log-private.h"

#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/err.h>

#define WZP_CAT_DEFAULT wzp_cat_identity

struct _WzpIdentity
{
  GObject parent;
  EVP_PKEY *pkey;
  guint8 public_key[WZP_PUBLIC_KEY_LEN];
  char fingerprint[WZP_FINGERPRINT_LEN + 1];
  GBytes *certificate;          /* lazily made */
};

/**
 * WzpIdentity:
 *
 * An Ed25519 identity: what a party is known by.  Others dial its
 * fingerprint (wzp_identity_get_fingerprint()).  Keep the file private:
 * whoever has it can take the identity.
 */
G_DEFINE_TYPE (WzpIdentity, wzp_identity, G_TYPE_OBJECT);

GQuark
wzp_identity_error_quark (void)
{
  static GQuark q;

  if (G_UNLIKELY (q == 0))
    q = g_quark_from_static_string ("wzp-identity-error-quark");
  return q;
}

GType
wzp_identity_error_get_type (void)
{
  static gsize type;
  static const GEnumValue values[] = {
    {WZP_IDENTITY_ERROR_IO, "WZP_IDENTITY_ERROR_IO", "io"},
    {WZP_IDENTITY_ERROR_INVALID_KEY, "WZP_IDENTITY_ERROR_INVALID_KEY",
        "invalid-key"},
    {WZP_IDENTITY_ERROR_INVALID_FINGERPRINT,
        "WZP_IDENTITY_ERROR_INVALID_FINGERPRINT", "invalid-fingerprint"},
    {WZP_IDENTITY_ERROR_INVALID_CERTIFICATE,
        "WZP_IDENTITY_ERROR_INVALID_CERTIFICATE", "invalid-certificate"},
    {WZP_IDENTITY_ERROR_FAILED, "WZP_IDENTITY_ERROR_FAILED", "failed"},
    {WZP_IDENTITY_ERROR_PERMISSIONS, "WZP_IDENTITY_ERROR_PERMISSIONS",
        "permissions"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("WzpIdentityError",
            values));
  return type;
}

static void
set_openssl_error (GError ** error, gint code, const char *what)
{
  char buf[256] = "";
  unsigned long e = ERR_get_error ();

  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  g_set_error (error, WZP_IDENTITY_ERROR, code, "%s%s%s", what,
      buf[0] ? ": " : "", buf);
}

static void
wzp_identity_finalize (GObject * object)
{
  WzpIdentity *self = WZP_IDENTITY (object);

  EVP_PKEY_free (self->pkey);
  g_clear_pointer (&self->certificate, g_bytes_unref);
  G_OBJECT_CLASS (wzp_identity_parent_class)->finalize (object);
}

static void
wzp_identity_class_init (WzpIdentityClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = wzp_identity_finalize;
}

static void
wzp_identity_init (WzpIdentity * self)
{
}

/* Takes ownership of @pkey. */
static WzpIdentity *
identity_from_pkey (EVP_PKEY * pkey, GError ** error)
{
  WzpIdentity *self;
  size_t len = WZP_PUBLIC_KEY_LEN;
  guint8 pub[WZP_PUBLIC_KEY_LEN];
  g_autofree char *fp = NULL;

  if (EVP_PKEY_get_id (pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free (pkey);
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY,
        "not an Ed25519 key");
    return NULL;
  }
  if (EVP_PKEY_get_raw_public_key (pkey, pub, &len) != 1
      || len != WZP_PUBLIC_KEY_LEN) {
    EVP_PKEY_free (pkey);
    set_openssl_error (error, WZP_IDENTITY_ERROR_INVALID_KEY,
        "reading the public key");
    return NULL;
  }
  self = g_object_new (WZP_TYPE_IDENTITY, NULL);
  self->pkey = pkey;
  memcpy (self->public_key, pub, sizeof pub);
  fp = wzp_fingerprint_from_public_key (pub);
  g_strlcpy (self->fingerprint, fp, sizeof self->fingerprint);
  return self;
}

WzpIdentity *
wzp_identity_new_from_seed (const guint8 seed[WZP_PRIVATE_KEY_LEN],
    GError ** error)
{
  EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key (EVP_PKEY_ED25519, NULL,
      seed, WZP_PRIVATE_KEY_LEN);

  if (pkey == NULL) {
    set_openssl_error (error, WZP_IDENTITY_ERROR_INVALID_KEY,
        "importing the Ed25519 seed");
    return NULL;
  }
  return identity_from_pkey (pkey, error);
}

/**
 * wzp_identity_generate:
 *
 * Makes a new random identity (not saved: see wzp_identity_save()).
 * Aborts if the system random generator fails, as nothing sensible can
 * continue without it.
 *
 * Returns: (transfer full): a new identity
 */
WzpIdentity *
wzp_identity_generate (void)
{
  guint8 seed[WZP_PRIVATE_KEY_LEN];
  g_autoptr (GError) error = NULL;
  WzpIdentity *self;

  if (RAND_bytes (seed, sizeof seed) != 1)
    g_error ("wzp: the system random generator failed");
  self = wzp_identity_new_from_seed (seed, &error);
  OPENSSL_cleanse (seed, sizeof seed);
  if (self == NULL)
    g_error ("wzp: generating an identity failed: %s", error->message);
  WZP_DEBUG ("generated identity %s", self->fingerprint);
  return self;
}

/* Reads the file and checks its mode on the same open file (no window
 * between check and read).  Like ssh with private keys: a key that group
 * or others can access may have been read by them, so it is refused
 * unless the caller explicitly accepts that. */
static gboolean
read_key_file (const char *path, WzpIdentityLoadFlags flags, char **contents,
    gsize * len, GError ** error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  GError *local = NULL;
  struct stat st;
  int fd;

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_IO,
        "cannot read identity file %s: %s", path, g_strerror (saved));
    return FALSE;
  }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_IO,
        "cannot read identity file %s: not a regular file", path);
    close (fd);
    return FALSE;
  }
  if ((st.st_mode & 0077) != 0 &&
      !(flags & WZP_IDENTITY_LOAD_ALLOW_INSECURE) &&
      g_strcmp0 (g_getenv ("WZP_ALLOW_INSECURE_IDENTITY"), "1") != 0) {
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_PERMISSIONS,
        "identity file %s has mode %04o: its private key is accessible by "
        "group or others, so it is refused (fix: chmod 600 %s; to use it "
        "anyway, set WZP_ALLOW_INSECURE_IDENTITY=1)", path,
        (guint) (st.st_mode & 07777), path);
    close (fd);
    return FALSE;
  }
  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local);
  close (fd);
  if (mapped == NULL) {
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_IO,
        "cannot read identity file %s: %s", path, local->message);
    g_error_free (local);
    return FALSE;
  }
  *len = g_mapped_file_get_length (mapped);
  *contents = g_malloc (*len + 1);
  if (*len)
    memcpy (*contents, g_mapped_file_get_contents (mapped), *len);
  (*contents)[*len] = '\0';
  return TRUE;
}

/* wzp_identity_load_full: (private: wzp-identity-private.h)
 *
 * Loads the identity in @path.  A file whose mode gives group or others
 * any access is refused with WZP_IDENTITY_ERROR_PERMISSIONS unless @flags
 * (WZP_IDENTITY_LOAD_ALLOW_INSECURE) or the environment
 * (`WZP_ALLOW_INSECURE_IDENTITY=1`) allows it. */
WzpIdentity *
wzp_identity_load_full (const char *path, WzpIdentityLoadFlags flags,
    GError ** error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  BIO *bio;
  EVP_PKEY *pkey;
  WzpIdentity *self;
  GError *local = NULL;

  if (!read_key_file (path, flags, &contents, &len, error))
    return NULL;
  bio = BIO_new_mem_buf (contents, (int) len);
  pkey = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
  BIO_free (bio);
  OPENSSL_cleanse (contents, len);
  if (pkey == NULL) {
    ERR_clear_error ();
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY,
        "identity file %s does not hold a PEM private key", path);
    return NULL;
  }
  self = identity_from_pkey (pkey, &local);
  if (self == NULL) {
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY,
        "identity file %s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  WZP_DEBUG ("loaded identity %s from %s", self->fingerprint, path);
  return self;
}

/**
 * wzp_identity_load:
 * @path: (type filename): an identity file (PEM, as wzp_identity_save()
 *   writes it)
 * @error: %WZP_IDENTITY_ERROR_IO, %WZP_IDENTITY_ERROR_PERMISSIONS (the
 *   file is accessible by group or others; `WZP_ALLOW_INSECURE_IDENTITY=1`
 *   accepts it anyway) or %WZP_IDENTITY_ERROR_INVALID_KEY
 *
 * Returns: (transfer full): the identity in @path, or %NULL
 */
WzpIdentity *
wzp_identity_load (const char *path, GError ** error)
{
  return wzp_identity_load_full (path, WZP_IDENTITY_LOAD_NONE, error);
}

/**
 * wzp_identity_save:
 * @self: an identity
 * @path: (type filename): where to write it
 * @error: %WZP_IDENTITY_ERROR_IO
 *
 * Writes the identity's private key as PEM, readable by its owner only
 * (0600), atomically (a crash leaves the old file or the new one).
 *
 * Returns: %TRUE on success
 */
gboolean
wzp_identity_save (WzpIdentity * self, const char *path, GError ** error)
{
  BIO *bio;
  char *data = NULL;
  long len;
  gboolean ok;
  GError *local = NULL;

  g_return_val_if_fail (WZP_IS_IDENTITY (self), FALSE);

  bio = BIO_new (BIO_s_mem ());
  if (PEM_write_bio_PrivateKey (bio, self->pkey, NULL, NULL, 0, NULL,
          NULL) != 1) {
    BIO_free (bio);
    set_openssl_error (error, WZP_IDENTITY_ERROR_FAILED,
        "encoding the private key");
    return FALSE;
  }
  len = BIO_get_mem_data (bio, &data);
  /* Written to a temporary file and renamed, with 0600 from the start. */
  ok = g_file_set_contents_full (path, data, len,
      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
      &local);
  BIO_free (bio);
  if (!ok) {
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_IO,
        "cannot write identity file %s: %s", path, local->message);
    g_error_free (local);
  }
  return ok;
}

/**
 * wzp_identity_load_or_create:
 * @path: (type filename): an identity file
 * @created: (out) (optional): set to whether a new file was written
 * @error: as wzp_identity_load() and wzp_identity_save()
 *
 * Loads @path, or creates a new identity there when the file does not
 * exist.  A file that exists but cannot be read is an error: silently
 * replacing it would change the user's fingerprint.
 *
 * Returns: (transfer full): the identity, or %NULL
 */
WzpIdentity *
wzp_identity_load_or_create (const char *path, gboolean * created,
    GError ** error)
{
  return wzp_identity_load_or_create_full (path, WZP_IDENTITY_LOAD_NONE,
      created, error);
}

/* wzp_identity_load_or_create_full: (private) @flags as for
 * wzp_identity_load_full(); @created (optional) says whether a new file
 * was written. */
WzpIdentity *
wzp_identity_load_or_create_full (const char *path,
    WzpIdentityLoadFlags flags, gboolean * created, GError ** error)
{
  WzpIdentity *self;

  if (created)
    *created = FALSE;
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return wzp_identity_load_full (path, flags, error);
  self = wzp_identity_generate ();
  if (!wzp_identity_save (self, path, error)) {
    g_object_unref (self);
    return NULL;
  }
  if (created)
    *created = TRUE;
  WZP_INFO ("created identity %s in %s", self->fingerprint, path);
  return self;
}

/**
 * wzp_identity_get_fingerprint:
 * @self: an identity
 *
 * Returns: the fingerprint others dial: eight groups of four lowercase
 *   hex digits joined by ':' (SHA-256 of the public key, first 16 bytes)
 */
const char *
wzp_identity_get_fingerprint (WzpIdentity * self)
{
  g_return_val_if_fail (WZP_IS_IDENTITY (self), NULL);
  return self->fingerprint;
}

void
wzp_identity_get_public_key (WzpIdentity * self, guint8 out[WZP_PUBLIC_KEY_LEN])
{
  g_return_if_fail (WZP_IS_IDENTITY (self));
  memcpy (out, self->public_key, WZP_PUBLIC_KEY_LEN);
}

void
wzp_identity_get_private_key (WzpIdentity * self,
    guint8 out[WZP_PRIVATE_KEY_LEN])
{
  size_t len = WZP_PRIVATE_KEY_LEN;

  g_return_if_fail (WZP_IS_IDENTITY (self));
  if (EVP_PKEY_get_raw_private_key (self->pkey, out, &len) != 1)
    g_error ("wzp: cannot export an Ed25519 private key");
}

void
wzp_identity_sign (WzpIdentity * self, const guint8 * data, gsize len,
    guint8 signature[WZP_SIGNATURE_LEN])
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  size_t sig_len = WZP_SIGNATURE_LEN;

  g_return_if_fail (WZP_IS_IDENTITY (self));
  if (EVP_DigestSignInit (md, NULL, NULL, NULL, self->pkey) != 1 ||
      EVP_DigestSign (md, signature, &sig_len, data, len) != 1)
    g_error ("wzp: Ed25519 signing failed");
  EVP_MD_CTX_free (md);
}

gboolean
wzp_identity_verify (const guint8 public_key[WZP_PUBLIC_KEY_LEN],
    const guint8 * data, gsize len, const guint8 * signature,
    gsize signature_len, GError ** error)
{
  EVP_PKEY *pkey;
  EVP_MD_CTX *md;
  int rv;

  if (signature_len != WZP_SIGNATURE_LEN) {
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED,
        "signature is %" G_GSIZE_FORMAT " bytes, not %d", signature_len,
        WZP_SIGNATURE_LEN);
    return FALSE;
  }
  pkey = EVP_PKEY_new_raw_public_key (EVP_PKEY_ED25519, NULL, public_key,
      WZP_PUBLIC_KEY_LEN);
  if (pkey == NULL) {
    set_openssl_error (error, WZP_IDENTITY_ERROR_INVALID_KEY,
        "invalid Ed25519 public key");
    return FALSE;
  }
  md = EVP_MD_CTX_new ();
  rv = EVP_DigestVerifyInit (md, NULL, NULL, NULL, pkey);
  if (rv == 1)
    rv = EVP_DigestVerify (md, signature, signature_len, data, len);
  EVP_MD_CTX_free (md);
  EVP_PKEY_free (pkey);
  if (rv != 1) {
    ERR_clear_error ();
    g_set_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED,
        "signature does not verify");
    return FALSE;
  }
  return TRUE;
}

/* --- certificates ----------------------------------------------------- */

static GBytes *
make_certificate (WzpIdentity * self, GError ** error)
{
  X509 *x = X509_new ();
  X509_NAME *name;
  guint8 serial[16];
  BIGNUM *bn = NULL;
  guint8 *der = NULL;
  int der_len;
  GBytes *out = NULL;

  if (RAND_bytes (serial, sizeof serial) != 1)
    goto fail;
  serial[0] &= 0x7f;            /* positive */
  bn = BN_bin2bn (serial, sizeof serial, NULL);
  if (bn == NULL || BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (x)) == NULL)
    goto fail;
  if (X509_set_version (x, 2) != 1)
    goto fail;
  /* Validity is meaningless here (the key is pinned, not the certificate
   * chain), so it spans everything a clock could plausibly say. */
  if (ASN1_TIME_set_string (X509_getm_notBefore (x), "20000101000000Z") != 1
      || ASN1_TIME_set_string (X509_getm_notAfter (x), "99991231235959Z") != 1)
    goto fail;
  name = X509_get_subject_name (x);
  if (X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
          (const guint8 *) self->fingerprint, -1, -1, 0) != 1)
    goto fail;
  if (X509_set_issuer_name (x, name) != 1 || X509_set_pubkey (x,
          self->pkey) != 1)
    goto fail;
  if (X509_sign (x, self->pkey, NULL) <= 0)
    goto fail;
  der_len = i2d_X509 (x, &der);
  if (der_len <= 0)
    goto fail;
  out = g_bytes_new (der, der_len);
  OPENSSL_free (der);
  BN_free (bn);
  X509_free (x);
  return out;

fail:
  BN_free (bn);
  X509_free (x);
  set_openssl_error (error, WZP_IDENTITY_ERROR_FAILED,
      "making the identity certificate");
  return NULL;
}

/**
 * wzp_identity_get_certificate_der:
 *
 * Returns: (transfer full): the self-signed X.509 certificate (DER) whose
 * key is this identity's key.
 */
GBytes *
wzp_identity_get_certificate_der (WzpIdentity * self)
{
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (WZP_IS_IDENTITY (self), NULL);
  if (self->certificate == NULL) {
    self->certificate = make_certificate (self, &error);
    if (self->certificate == NULL)
      g_error ("wzp: %s", error->message);
  }
  return g_bytes_ref (self->certificate);
}

/**
 * wzp_fingerprint_from_certificate_der:
 * @fingerprint: (out) (transfer full)
 * @public_key: (out caller-allocates): the certificate's Ed25519 key
 *
 * Accepts only a self-signed Ed25519 certificate: the identity is the
 * key, and the signature shows the certificate was made by its holder.
 */
gboolean
wzp_fingerprint_from_certificate_der (const guint8 * der, gsize len,
    char **fingerprint, guint8 public_key[WZP_PUBLIC_KEY_LEN], GError ** error)
{
  const guint8 *p = der;
  X509 *x;
  EVP_PKEY *pkey;
  size_t key_len = WZP_PUBLIC_KEY_LEN;
  gboolean ok = FALSE;

  if (len > G_MAXINT32 || (x = d2i_X509 (NULL, &p, (long) len)) == NULL) {
    ERR_clear_error ();
    g_set_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_CERTIFICATE, "certificate does not parse");
    return FALSE;
  }
  pkey = X509_get0_pubkey (x);
  if (pkey == NULL || EVP_PKEY_get_id (pkey) != EVP_PKEY_ED25519) {
    g_set_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_CERTIFICATE,
        "certificate key is not Ed25519");
  } else if (X509_verify (x, pkey) != 1) {
    g_set_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_CERTIFICATE,
        "certificate is not signed by its own key");
  } else if (EVP_PKEY_get_raw_public_key (pkey, public_key, &key_len) != 1
      || key_len != WZP_PUBLIC_KEY_LEN) {
    g_set_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_CERTIFICATE,
        "certificate key cannot be read");
  } else {
    *fingerprint = wzp_fingerprint_from_public_key (public_key);
    ok = TRUE;
  }
  ERR_clear_error ();
  X509_free (x);
  return ok;
}

/* --- fingerprints ----------------------------------------------------- */

char *
wzp_fingerprint_from_public_key (const guint8 public_key[WZP_PUBLIC_KEY_LEN])
{
  guint8 digest[32];
  unsigned int digest_len = sizeof digest;
  GString *s = g_string_sized_new (WZP_FINGERPRINT_LEN + 1);

  EVP_Digest (public_key, WZP_PUBLIC_KEY_LEN, digest, &digest_len,
      EVP_sha256 (), NULL);
  for (guint i = 0; i < 16; i++) {
    if (i > 0 && i % 2 == 0)
      g_string_append_c (s, ':');
    g_string_append_printf (s, "%02x", digest[i]);
  }
  return g_string_free (s, FALSE);
}

/**
 * wzp_fingerprint_normalize:
 * @text: a fingerprint as a user typed it
 * @error: %WZP_IDENTITY_ERROR_INVALID_FINGERPRINT
 *
 * Accepts what users type: 32 hex digits, any case, optionally grouped
 * with ':', '-' or spaces.
 *
 * Returns: (transfer full): the canonical form, or %NULL
 */
char *
wzp_fingerprint_normalize (const char *text, GError ** error)
{
  char hex[33];
  guint n = 0;
  GString *s;

  if (text == NULL)
    goto bad;
  for (const char *p = text; *p; p++) {
    if (*p == ':' || *p == '-' || *p == ' ')
      continue;
    if (!g_ascii_isxdigit (*p) || n >= 32)
      goto bad;
    hex[n++] = g_ascii_tolower (*p);
  }
  if (n != 32)
    goto bad;
  s = g_string_sized_new (WZP_FINGERPRINT_LEN + 1);
  for (guint i = 0; i < 32; i += 4) {
    if (i)
      g_string_append_c (s, ':');
    g_string_append_len (s, hex + i, 4);
  }
  return g_string_free (s, FALSE);

bad:
  g_set_error (error, WZP_IDENTITY_ERROR,
      WZP_IDENTITY_ERROR_INVALID_FINGERPRINT,
      "\"%s\" is not a fingerprint (expected 32 hex digits such as "
      "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d)", text ? text : "(null)");
  return NULL;
}

/**
 * wzp_fingerprint_equal:
 * @a: (nullable): a fingerprint in any form wzp_fingerprint_normalize()
 *   accepts
 * @b: (nullable): another
 *
 * Returns: %TRUE when both are valid and name the same identity
 */
gboolean
wzp_fingerprint_equal (const char *a, const char *b)
{
  g_autofree char *na = wzp_fingerprint_normalize (a, NULL);
  g_autofree char *nb = wzp_fingerprint_normalize (b, NULL);

  return na != NULL && nb != NULL && strcmp (na, nb) == 0;
}
