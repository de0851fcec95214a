/* Tests for identities: key files, fingerprints, signatures and the
 * self-signed certificates that carry the key into TLS.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "wzp-identity-private.h"

typedef struct
{
  char *dir;
} TmpDir;

/* Key files as a careful user keeps them: readable by the owner only. */
static gboolean
write_private (const char *path, const char *data, gssize len, GError ** error)
{
  return g_file_set_contents_full (path, data, len,
      G_FILE_SET_CONTENTS_NONE, 0600, error);
}

static void
tmpdir_setup (TmpDir * t, gconstpointer data)
{
  GError *error = NULL;

  t->dir = g_dir_make_tmp ("wzp-test-identity-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
tmpdir_teardown (TmpDir * t, gconstpointer data)
{
  GDir *d = g_dir_open (t->dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *p = g_build_filename (t->dir, name, NULL);
    g_unlink (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (t->dir);
  g_free (t->dir);
}

static void
assert_same_identity (WzpIdentity * a, WzpIdentity * b)
{
  guint8 ka[WZP_PUBLIC_KEY_LEN], kb[WZP_PUBLIC_KEY_LEN];

  g_assert_cmpstr (wzp_identity_get_fingerprint (a), ==,
      wzp_identity_get_fingerprint (b));
  wzp_identity_get_public_key (a, ka);
  wzp_identity_get_public_key (b, kb);
  g_assert_cmpmem (ka, sizeof ka, kb, sizeof kb);
}

/* A fresh key of another type, made with OpenSSL directly. */
static EVP_PKEY *
make_foreign_key (const char *type)
{
  EVP_PKEY *pkey;

  if (g_str_equal (type, "RSA"))
    pkey = EVP_RSA_gen (2048);
  else
    pkey = EVP_EC_gen ("P-256");
  g_assert_nonnull (pkey);
  return pkey;
}

/* --- key files -------------------------------------------------------- */

static void
test_save_load_roundtrip (TmpDir * t, gconstpointer data)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (WzpIdentity) loaded = NULL;
  g_autofree char *path = g_build_filename (t->dir, "id.pem", NULL);
  g_autofree char *contents = NULL;
  GError *error = NULL;
  GStatBuf st;

  g_assert_true (wzp_identity_save (id, path, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  /* PKCS#8, the form `openssl pkey -in FILE` reads. */
  g_assert_true (g_str_has_prefix (contents, "-----BEGIN PRIVATE KEY-----\n"));
  g_assert_nonnull (strstr (contents, "-----END PRIVATE KEY-----"));

  loaded = wzp_identity_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  assert_same_identity (id, loaded);
}

static void
test_save_overwrites (TmpDir * t, gconstpointer data)
{
  g_autoptr (WzpIdentity) a = wzp_identity_generate ();
  g_autoptr (WzpIdentity) b = wzp_identity_generate ();
  g_autoptr (WzpIdentity) loaded = NULL;
  g_autofree char *path = g_build_filename (t->dir, "id.pem", NULL);
  GError *error = NULL;
  GStatBuf st;

  g_assert_true (g_file_set_contents (path, "old", -1, &error));
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_true (wzp_identity_save (a, path, &error));
  g_assert_true (wzp_identity_save (b, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  loaded = wzp_identity_load (path, &error);
  g_assert_no_error (error);
  assert_same_identity (b, loaded);
}

static void
test_save_error (TmpDir * t, gconstpointer data)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autofree char *path = g_build_filename (t->dir, "no-such-dir", "id.pem",
      NULL);
  GError *error = NULL;

  g_assert_false (wzp_identity_save (id, path, &error));
  g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
}

static void
test_load_or_create (TmpDir * t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "id.pem", NULL);
  g_autoptr (WzpIdentity) first = NULL;
  g_autoptr (WzpIdentity) second = NULL;
  GError *error = NULL;
  gboolean created = FALSE;
  GStatBuf st;

  first = wzp_identity_load_or_create (path, &created, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_assert_true (created);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  created = TRUE;
  second = wzp_identity_load_or_create (path, &created, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);
  g_assert_false (created);
  assert_same_identity (first, second);

  /* @created is optional. */
  g_clear_object (&second);
  second = wzp_identity_load_or_create (path, NULL, &error);
  g_assert_no_error (error);
  assert_same_identity (first, second);
}

/* A file that exists but is not a key is an error, and is left alone. */
static void
test_load_or_create_keeps_bad_file (TmpDir * t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "id.pem", NULL);
  g_autofree char *contents = NULL;
  WzpIdentity *id;
  GError *error = NULL;
  gboolean created = TRUE;

  g_assert_true (write_private (path, "not a key\n", -1, &error));
  id = wzp_identity_load_or_create (path, &created, &error);
  g_assert_null (id);
  g_assert_false (created);
  g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_cmpstr (contents, ==, "not a key\n");
}

/* Like ssh with private keys: a key file that group or others may access
 * is refused with an error that says how to fix it, unless the caller
 * (flag) or the user (environment) explicitly accepts it. */
static void
test_load_permissions (TmpDir * t, gconstpointer data)
{
  static const guint refused[] = { 0644, 0640, 0604, 0620, 0660, 0700 | 04,
    0610
  };
  static const guint accepted[] = { 0600, 0400, 0700 };
  g_autofree char *path = g_build_filename (t->dir, "id.pem", NULL);
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  GError *error = NULL;

  g_assert_true (wzp_identity_save (id, path, &error));
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    g_autoptr (WzpIdentity) loaded = NULL;
    g_autofree char *mode = g_strdup_printf ("mode %04o", refused[i]);

    g_assert_cmpint (g_chmod (path, refused[i]), ==, 0);
    g_assert_null (wzp_identity_load (path, &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_PERMISSIONS);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, mode));
    g_assert_nonnull (strstr (error->message, "chmod 600"));
    g_clear_error (&error);
    g_assert_null (wzp_identity_load_or_create (path, NULL, &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_PERMISSIONS);
    g_clear_error (&error);

    /* The explicit override. */
    loaded = wzp_identity_load_full (path, WZP_IDENTITY_LOAD_ALLOW_INSECURE,
        &error);
    g_assert_no_error (error);
    g_assert_cmpstr (wzp_identity_get_fingerprint (loaded), ==,
        wzp_identity_get_fingerprint (id));
  }
  /* The override from the environment, for programs without a flag. */
  g_assert_true (g_setenv ("WZP_ALLOW_INSECURE_IDENTITY", "1", TRUE));
  {
    g_autoptr (WzpIdentity) loaded = wzp_identity_load (path, &error);
    g_assert_no_error (error);
    g_assert_nonnull (loaded);
  }
  g_unsetenv ("WZP_ALLOW_INSECURE_IDENTITY");

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++) {
    g_autoptr (WzpIdentity) loaded = NULL;

    g_assert_cmpint (g_chmod (path, accepted[i]), ==, 0);
    loaded = wzp_identity_load (path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (wzp_identity_get_fingerprint (loaded), ==,
        wzp_identity_get_fingerprint (id));
  }
}

static void
test_load_missing (TmpDir * t, gconstpointer data)
{
  g_autofree char *path = g_build_filename (t->dir, "missing.pem", NULL);
  GError *error = NULL;

  g_assert_null (wzp_identity_load (path, &error));
  g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
}

static void
test_load_garbage (TmpDir * t, gconstpointer data)
{
  static const char *const garbage[] = {
    "",
    "hello world\n",
    "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n"
        "-----END PRIVATE KEY-----\n",
    /* Valid base64, but not DER. */
    "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n"
        "-----END PRIVATE KEY-----\n",
  };
  g_autofree char *path = g_build_filename (t->dir, "garbage.pem", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (garbage); i++) {
    GError *error = NULL;

    g_assert_true (write_private (path, garbage[i], -1, &error));
    g_assert_null (wzp_identity_load (path, &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY);
    g_assert_nonnull (strstr (error->message, path));
    g_clear_error (&error);
  }

  /* Binary bytes, NULs included. */
  {
    guint8 bytes[256];
    GError *error = NULL;

    for (guint i = 0; i < sizeof bytes; i++)
      bytes[i] = (guint8) (i * 7);
    g_assert_true (write_private (path, (const char *) bytes,
            sizeof bytes, &error));
    g_assert_null (wzp_identity_load (path, &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY);
    g_clear_error (&error);
  }
}

static void
test_load_foreign_key (TmpDir * t, gconstpointer data)
{
  static const char *const types[] = { "RSA", "EC" };
  g_autofree char *path = g_build_filename (t->dir, "foreign.pem", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    EVP_PKEY *pkey = make_foreign_key (types[i]);
    BIO *bio = BIO_new (BIO_s_mem ());
    char *pem;
    long len;
    GError *error = NULL;

    g_assert_cmpint (PEM_write_bio_PrivateKey (bio, pkey, NULL, NULL, 0,
            NULL, NULL), ==, 1);
    len = BIO_get_mem_data (bio, &pem);
    g_assert_true (write_private (path, pem, len, &error));
    g_assert_no_error (error);
    BIO_free (bio);
    EVP_PKEY_free (pkey);

    g_assert_null (wzp_identity_load (path, &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_INVALID_KEY);
    g_assert_nonnull (strstr (error->message, path));
    g_test_message ("%s key: %s", types[i], error->message);
    g_clear_error (&error);
  }
}

/* --- seeds and keys --------------------------------------------------- */

static void
test_new_from_seed (void)
{
  guint8 seed[WZP_PRIVATE_KEY_LEN], other[WZP_PRIVATE_KEY_LEN];
  guint8 priv[WZP_PRIVATE_KEY_LEN];
  g_autoptr (WzpIdentity) a = NULL;
  g_autoptr (WzpIdentity) b = NULL;
  g_autoptr (WzpIdentity) c = NULL;
  GError *error = NULL;

  for (guint i = 0; i < sizeof seed; i++) {
    seed[i] = (guint8) i;
    other[i] = (guint8) (i + 1);
  }
  a = wzp_identity_new_from_seed (seed, &error);
  g_assert_no_error (error);
  b = wzp_identity_new_from_seed (seed, &error);
  g_assert_no_error (error);
  c = wzp_identity_new_from_seed (other, &error);
  g_assert_no_error (error);

  assert_same_identity (a, b);
  g_assert_cmpstr (wzp_identity_get_fingerprint (a), !=,
      wzp_identity_get_fingerprint (c));

  /* The private key is the seed. */
  wzp_identity_get_private_key (a, priv);
  g_assert_cmpmem (priv, sizeof priv, seed, sizeof seed);
}

static void
hex_decode (const char *hex, guint8 * out, gsize len)
{
  g_assert_cmpuint (strlen (hex), ==, 2 * len);
  for (gsize i = 0; i < len; i++)
    out[i] = (g_ascii_xdigit_value (hex[2 * i]) << 4) |
        g_ascii_xdigit_value (hex[2 * i + 1]);
}

/* RFC 8032 section 7.1, test 1: seed, public key, and signature of the
 * empty message. */
static void
test_rfc8032_vector (void)
{
  guint8 seed[32], pub[32], sig[64];
  g_autoptr (WzpIdentity) id = NULL;
  guint8 got_pub[32], got_sig[64];
  GError *error = NULL;

  hex_decode ("9d61b19deffd5a60ba844af492ec2cc4"
      "4449c5697b326919703bac031cae7f60", seed, sizeof seed);
  hex_decode ("d75a980182b10ab7d54bfed3c964073a"
      "0ee172f3daa62325af021a68f707511a", pub, sizeof pub);
  hex_decode ("e5564300c360ac729086e2cc806e828a"
      "84877f1eb8e5d974d873e06522490155"
      "5fb8821590a33bacc61e39701cf9b46b"
      "d25bf5f0595bbe24655141438e7a100b", sig, sizeof sig);

  id = wzp_identity_new_from_seed (seed, &error);
  g_assert_no_error (error);
  wzp_identity_get_public_key (id, got_pub);
  g_assert_cmpmem (got_pub, sizeof got_pub, pub, sizeof pub);
  wzp_identity_sign (id, (const guint8 *) "", 0, got_sig);
  g_assert_cmpmem (got_sig, sizeof got_sig, sig, sizeof sig);
  g_assert_true (wzp_identity_verify (pub, (const guint8 *) "", 0, sig,
          sizeof sig, &error));
  g_assert_no_error (error);
}

/* --- fingerprints ----------------------------------------------------- */

static void
assert_fingerprint_format (const char *fp)
{
  g_assert_nonnull (fp);
  g_assert_cmpuint (strlen (fp), ==, WZP_FINGERPRINT_LEN);
  g_assert_cmpuint (WZP_FINGERPRINT_LEN, ==, 39);
  for (guint i = 0; i < WZP_FINGERPRINT_LEN; i++) {
    if (i % 5 == 4)
      g_assert_cmpint (fp[i], ==, ':');
    else
      g_assert_true (g_ascii_isdigit (fp[i]) || (fp[i] >= 'a' && fp[i] <= 'f'));
  }
}

static void
test_fingerprint_format (void)
{
  for (guint n = 0; n < 8; n++) {
    g_autoptr (WzpIdentity) id = wzp_identity_generate ();
    const char *fp = wzp_identity_get_fingerprint (id);
    g_auto (GStrv) groups = g_strsplit (fp, ":", -1);
    guint8 pub[WZP_PUBLIC_KEY_LEN];
    g_autofree char *from_key = NULL;
    g_autofree char *normal = NULL;

    assert_fingerprint_format (fp);
    g_assert_cmpuint (g_strv_length (groups), ==, 8);
    for (guint i = 0; i < 8; i++)
      g_assert_cmpuint (strlen (groups[i]), ==, 4);

    /* The fingerprint is a function of the public key alone. */
    wzp_identity_get_public_key (id, pub);
    from_key = wzp_fingerprint_from_public_key (pub);
    g_assert_cmpstr (from_key, ==, fp);

    /* And already canonical. */
    normal = wzp_fingerprint_normalize (fp, NULL);
    g_assert_cmpstr (normal, ==, fp);
  }
}

/* First 16 bytes of SHA-256 over the raw key (computed independently). */
static void
test_fingerprint_is_sha256_prefix (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  guint8 pub[WZP_PUBLIC_KEY_LEN];
  guint8 digest[32];
  unsigned int digest_len = sizeof digest;
  GString *want = g_string_new (NULL);

  wzp_identity_get_public_key (id, pub);
  g_assert_cmpint (EVP_Digest (pub, sizeof pub, digest, &digest_len,
          EVP_sha256 (), NULL), ==, 1);
  for (guint i = 0; i < 16; i += 2)
    g_string_append_printf (want, "%s%02x%02x", i ? ":" : "", digest[i],
        digest[i + 1]);
  g_assert_cmpstr (wzp_identity_get_fingerprint (id), ==, want->str);
  g_string_free (want, TRUE);
}

#define CANON "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d"

static void
test_fingerprint_normalize (void)
{
  static const char *const good[] = {
    CANON,
    "1A2B:3C4D:5E6F:7A8B:9C0D:1E2F:3A4B:5C6D",
    "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
    "1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D",
    "1a2b-3c4d-5e6f-7a8b-9c0d-1e2f-3a4b-5c6d",
    "1a2b 3c4d 5e6f 7a8b 9c0d 1e2f 3a4b 5c6d",
    " 1a2b:3C4d-5e6f 7a8b9c0d::1e2f--3a4b  5c6d ",
    "1a:2b:3c:4d:5e:6f:7a:8b:9c:0d:1e:2f:3a:4b:5c:6d",
  };
  static const char *const bad[] = {
    "",
    ":::",
    "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6",   /* 31 digits */
    "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d0", /* 33 digits */
    "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6d:1a2b",
    "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6g",  /* g */
    "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6z",
    "1a2b_3c4d_5e6f_7a8b_9c0d_1e2f_3a4b_5c6d",  /* wrong separator */
    "0x1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
    "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6\xc3\xa9",
    "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    GError *error = NULL;
    g_autofree char *n = wzp_fingerprint_normalize (good[i], &error);

    g_assert_no_error (error);
    g_assert_cmpstr (n, ==, CANON);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GError *error = NULL;
    char *n = wzp_fingerprint_normalize (bad[i], &error);

    g_assert_null (n);
    g_assert_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_FINGERPRINT);
    g_clear_error (&error);
  }
  {
    GError *error = NULL;

    g_assert_null (wzp_fingerprint_normalize (NULL, &error));
    g_assert_error (error, WZP_IDENTITY_ERROR,
        WZP_IDENTITY_ERROR_INVALID_FINGERPRINT);
    g_clear_error (&error);
    /* The error is optional. */
    g_assert_null (wzp_fingerprint_normalize ("nope", NULL));
  }
}

static void
test_fingerprint_equal (void)
{
  g_assert_true (wzp_fingerprint_equal (CANON, CANON));
  g_assert_true (wzp_fingerprint_equal (CANON,
          "1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D"));
  g_assert_true (wzp_fingerprint_equal ("1a2b-3c4d-5e6f-7a8b-9c0d-1e2f-3a4b-"
          "5c6d", "1a2b 3c4d 5e6f 7a8b 9c0d 1e2f 3a4b 5c6d"));
  g_assert_false (wzp_fingerprint_equal (CANON,
          "1a2b:3c4d:5e6f:7a8b:9c0d:1e2f:3a4b:5c6e"));
  /* Invalid text equals nothing, not even itself. */
  g_assert_false (wzp_fingerprint_equal ("xyz", "xyz"));
  g_assert_false (wzp_fingerprint_equal (CANON, "xyz"));
  g_assert_false (wzp_fingerprint_equal (NULL, CANON));
  g_assert_false (wzp_fingerprint_equal (NULL, NULL));
}

/* --- signatures ------------------------------------------------------- */

static void
test_sign_verify (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (WzpIdentity) other = wzp_identity_generate ();
  const char *text = "offer: call me maybe";
  guint8 msg[64], sig[WZP_SIGNATURE_LEN], sig2[WZP_SIGNATURE_LEN];
  guint8 pub[WZP_PUBLIC_KEY_LEN], other_pub[WZP_PUBLIC_KEY_LEN];
  gsize len = strlen (text);
  GError *error = NULL;

  memcpy (msg, text, len);
  wzp_identity_get_public_key (id, pub);
  wzp_identity_get_public_key (other, other_pub);
  wzp_identity_sign (id, msg, len, sig);

  g_assert_true (wzp_identity_verify (pub, msg, len, sig, sizeof sig, &error));
  g_assert_no_error (error);

  /* Ed25519 is deterministic. */
  wzp_identity_sign (id, msg, len, sig2);
  g_assert_cmpmem (sig, sizeof sig, sig2, sizeof sig2);

  /* Every single-bit change of the message is caught. */
  for (gsize bit = 0; bit < len * 8; bit++) {
    msg[bit / 8] ^= 1 << (bit % 8);
    g_assert_false (wzp_identity_verify (pub, msg, len, sig, sizeof sig,
            &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED);
    g_clear_error (&error);
    msg[bit / 8] ^= 1 << (bit % 8);
  }
  /* And of the signature. */
  for (gsize bit = 0; bit < sizeof sig * 8; bit++) {
    sig[bit / 8] ^= 1 << (bit % 8);
    g_assert_false (wzp_identity_verify (pub, msg, len, sig, sizeof sig,
            &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED);
    g_clear_error (&error);
    sig[bit / 8] ^= 1 << (bit % 8);
  }
  /* A shorter or longer message. */
  g_assert_false (wzp_identity_verify (pub, msg, len - 1, sig, sizeof sig,
          NULL));
  msg[len] = 0;
  g_assert_false (wzp_identity_verify (pub, msg, len + 1, sig, sizeof sig,
          NULL));

  /* Wrong key. */
  g_assert_false (wzp_identity_verify (other_pub, msg, len, sig, sizeof sig,
          &error));
  g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED);
  g_clear_error (&error);

  /* Still good after all that. */
  g_assert_true (wzp_identity_verify (pub, msg, len, sig, sizeof sig, NULL));
}

static void
test_verify_signature_length (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  guint8 pub[WZP_PUBLIC_KEY_LEN];
  guint8 sig[WZP_SIGNATURE_LEN + 1];
  const guint8 msg[] = "hello";
  static const gsize lens[] = { 0, 1, 32, WZP_SIGNATURE_LEN - 1,
    WZP_SIGNATURE_LEN + 1
  };

  wzp_identity_get_public_key (id, pub);
  wzp_identity_sign (id, msg, sizeof msg, sig);
  sig[WZP_SIGNATURE_LEN] = 0;
  for (guint i = 0; i < G_N_ELEMENTS (lens); i++) {
    GError *error = NULL;

    g_assert_false (wzp_identity_verify (pub, msg, sizeof msg, sig, lens[i],
            &error));
    g_assert_error (error, WZP_IDENTITY_ERROR, WZP_IDENTITY_ERROR_FAILED);
    g_clear_error (&error);
  }
  g_assert_true (wzp_identity_verify (pub, msg, sizeof msg, sig,
          WZP_SIGNATURE_LEN, NULL));
}

/* --- certificates ----------------------------------------------------- */

static void
test_certificate_roundtrip (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (GBytes) der = wzp_identity_get_certificate_der (id);
  g_autoptr (GBytes) again = wzp_identity_get_certificate_der (id);
  g_autofree char *fp = NULL;
  guint8 pub[WZP_PUBLIC_KEY_LEN], want[WZP_PUBLIC_KEY_LEN];
  GError *error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (der, &len);

  g_assert_nonnull (der);
  g_assert_cmpuint (len, >, 0);
  /* Made once, so every connection presents the same bytes. */
  g_assert_true (g_bytes_equal (der, again));

  g_assert_true (wzp_fingerprint_from_certificate_der (data, len, &fp, pub,
          &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fp, ==, wzp_identity_get_fingerprint (id));
  wzp_identity_get_public_key (id, want);
  g_assert_cmpmem (pub, sizeof pub, want, sizeof want);
}

static void
assert_cert_refused (const guint8 * der, gsize len)
{
  char *fp = NULL;
  guint8 pub[WZP_PUBLIC_KEY_LEN];
  GError *error = NULL;

  g_assert_false (wzp_fingerprint_from_certificate_der (der, len, &fp, pub,
          &error));
  g_assert_null (fp);
  g_assert_error (error, WZP_IDENTITY_ERROR,
      WZP_IDENTITY_ERROR_INVALID_CERTIFICATE);
  g_test_message ("refused: %s", error->message);
  g_clear_error (&error);
}

static void
test_certificate_garbage (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (GBytes) der = wzp_identity_get_certificate_der (id);
  gsize len;
  const guint8 *data = g_bytes_get_data (der, &len);
  static const guint8 junk[] = "this is not DER";
  guint8 zeros[64] = { 0 };

  assert_cert_refused (junk, 0);
  assert_cert_refused (junk, sizeof junk);
  assert_cert_refused (zeros, sizeof zeros);
  /* Every truncation of a good certificate. */
  for (gsize n = 0; n < len; n++) {
    g_autofree guint8 *copy = g_memdup2 (data, n);

    assert_cert_refused (copy, n);
  }
}

static void
test_certificate_bad_signature (void)
{
  g_autoptr (WzpIdentity) id = wzp_identity_generate ();
  g_autoptr (GBytes) der = wzp_identity_get_certificate_der (id);
  gsize len;
  g_autofree guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (der), &len);

  /* The signature BIT STRING is the last field: its last bytes are the
   * signature's S half.  Any change there must break it. */
  for (gsize i = 1; i <= 8; i++) {
    copy[len - i] ^= 0x01;
    assert_cert_refused (copy, len);
    copy[len - i] ^= 0x01;
  }
  /* A change in the signed part too (the subject CN is near the key). */
  copy[len / 2] ^= 0x01;
  assert_cert_refused (copy, len);
}

/* A valid self-signed certificate, but of an EC or RSA key. */
static void
test_certificate_foreign_key (void)
{
  static const char *const types[] = { "EC", "RSA" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    EVP_PKEY *pkey = make_foreign_key (types[i]);
    X509 *x = X509_new ();
    X509_NAME *name = X509_get_subject_name (x);
    guint8 *der = NULL;
    int der_len;

    g_assert_cmpint (X509_set_version (x, 2), ==, 1);
    g_assert_cmpint (ASN1_INTEGER_set (X509_get_serialNumber (x), 1), ==, 1);
    g_assert_nonnull (X509_gmtime_adj (X509_getm_notBefore (x), 0));
    g_assert_nonnull (X509_gmtime_adj (X509_getm_notAfter (x), 3600));
    g_assert_cmpint (X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
            (const guint8 *) "foreign", -1, -1, 0), ==, 1);
    g_assert_cmpint (X509_set_issuer_name (x, name), ==, 1);
    g_assert_cmpint (X509_set_pubkey (x, pkey), ==, 1);
    g_assert_cmpint (X509_sign (x, pkey, EVP_sha256 ()), >, 0);
    der_len = i2d_X509 (x, &der);
    g_assert_cmpint (der_len, >, 0);

    assert_cert_refused (der, der_len);

    OPENSSL_free (der);
    X509_free (x);
    EVP_PKEY_free (pkey);
  }
}

/* A certificate of one identity with the key of another pasted in: the
 * signature no longer matches the key it carries. */
static void
test_certificate_swapped_key (void)
{
  g_autoptr (WzpIdentity) a = wzp_identity_generate ();
  g_autoptr (WzpIdentity) b = wzp_identity_generate ();
  g_autoptr (GBytes) der = wzp_identity_get_certificate_der (a);
  guint8 pa[WZP_PUBLIC_KEY_LEN], pb[WZP_PUBLIC_KEY_LEN];
  gsize len;
  g_autofree guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (der), &len);
  guint8 *at = NULL;

  wzp_identity_get_public_key (a, pa);
  wzp_identity_get_public_key (b, pb);
  for (gsize i = 0; i + sizeof pa <= len; i++) {
    if (memcmp (copy + i, pa, sizeof pa) == 0) {
      at = copy + i;
      break;
    }
  }
  g_assert_nonnull (at);
  memcpy (at, pb, sizeof pb);
  assert_cert_refused (copy, len);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/identity/file/roundtrip", TmpDir, NULL, tmpdir_setup,
      test_save_load_roundtrip, tmpdir_teardown);
  g_test_add ("/identity/file/overwrite", TmpDir, NULL, tmpdir_setup,
      test_save_overwrites, tmpdir_teardown);
  g_test_add ("/identity/file/save-error", TmpDir, NULL, tmpdir_setup,
      test_save_error, tmpdir_teardown);
  g_test_add ("/identity/file/load-or-create", TmpDir, NULL, tmpdir_setup,
      test_load_or_create, tmpdir_teardown);
  g_test_add ("/identity/file/load-or-create-bad-file", TmpDir, NULL,
      tmpdir_setup, test_load_or_create_keeps_bad_file, tmpdir_teardown);
  g_test_add ("/identity/file/permissions", TmpDir, NULL, tmpdir_setup,
      test_load_permissions, tmpdir_teardown);
  g_test_add ("/identity/file/missing", TmpDir, NULL, tmpdir_setup,
      test_load_missing, tmpdir_teardown);
  g_test_add ("/identity/file/garbage", TmpDir, NULL, tmpdir_setup,
      test_load_garbage, tmpdir_teardown);
  g_test_add ("/identity/file/foreign-key", TmpDir, NULL, tmpdir_setup,
      test_load_foreign_key, tmpdir_teardown);
  g_test_add_func ("/identity/seed", test_new_from_seed);
  g_test_add_func ("/identity/rfc8032", test_rfc8032_vector);
  g_test_add_func ("/identity/fingerprint/format", test_fingerprint_format);
  g_test_add_func ("/identity/fingerprint/sha256",
      test_fingerprint_is_sha256_prefix);
  g_test_add_func ("/identity/fingerprint/normalize",
      test_fingerprint_normalize);
  g_test_add_func ("/identity/fingerprint/equal", test_fingerprint_equal);
  g_test_add_func ("/identity/sign/verify", test_sign_verify);
  g_test_add_func ("/identity/sign/signature-length",
      test_verify_signature_length);
  g_test_add_func ("/identity/certificate/roundtrip",
      test_certificate_roundtrip);
  g_test_add_func ("/identity/certificate/garbage", test_certificate_garbage);
  g_test_add_func ("/identity/certificate/bad-signature",
      test_certificate_bad_signature);
  g_test_add_func ("/identity/certificate/foreign-key",
      test_certificate_foreign_key);
  g_test_add_func ("/identity/certificate/swapped-key",
      test_certificate_swapped_key);

  return g_test_run ();
}
