/* wzp — end-to-end media keys and packet protection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-bytes.h"
#include "wzp-media-crypto.h"
#include "wzp-media-crypto-private.h"
#include "wzp-log-private.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define WZP_CAT_DEFAULT wzp_cat_media

/* HKDF salt of the media key schedule: the ASCII bytes, no terminator. */
#define MEDIA_HKDF_SALT "wzp-media-v1"
#define MEDIA_HKDF_INFO_LEN \
  (WZP_MEDIA_CALL_ID_LEN + 2 * WZP_X25519_KEY_LEN)

#define WINDOW_WORDS (WZP_MEDIA_REPLAY_WINDOW / 64)
G_STATIC_ASSERT (WZP_MEDIA_REPLAY_WINDOW % 64 == 0);

GQuark
wzp_media_error_quark (void)
{
  return g_quark_from_static_string ("wzp-media-error-quark");
}

/* Appends OpenSSL's queued error, if any, to a message, and empties the
 * queue so it does not leak into the next caller's report. */
static void
set_openssl_error (GError ** error, gint code, const char *what)
{
  unsigned long e = ERR_get_error ();
  char buf[256] = "no detail";

  if (e != 0)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  WZP_WARNING ("%s failed: %s", what, buf);
  g_set_error (error, WZP_MEDIA_ERROR, code, "%s failed: %s", what, buf);
}



/* X25519 */

static gboolean
x25519_public_from_private (const guint8 priv[WZP_X25519_KEY_LEN],
    guint8 pub[WZP_X25519_KEY_LEN], GError ** error)
{
  EVP_PKEY *pkey;
  size_t len = WZP_X25519_KEY_LEN;
  gboolean ok;

  pkey = EVP_PKEY_new_raw_private_key (EVP_PKEY_X25519, NULL, priv,
      WZP_X25519_KEY_LEN);
  if (!pkey) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "X25519 private key");
    return FALSE;
  }
  ok = EVP_PKEY_get_raw_public_key (pkey, pub, &len) == 1
      && len == WZP_X25519_KEY_LEN;
  EVP_PKEY_free (pkey);
  if (!ok)
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "X25519 public key");
  return ok;
}

/**
 * wzp_x25519_key_new_from_private:
 * @priv: a private scalar (any 32 bytes; clamping is X25519's)
 *
 * For tests and for keys kept elsewhere.  Returns: (transfer full): the
 * pair, or %NULL with @error set.
 */
WzpX25519Key *
wzp_x25519_key_new_from_private (const guint8 priv[WZP_X25519_KEY_LEN],
    GError ** error)
{
  WzpX25519Key *key;

  g_return_val_if_fail (priv != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  key = g_new0 (WzpX25519Key, 1);
  memcpy (key->priv, priv, WZP_X25519_KEY_LEN);
  if (!x25519_public_from_private (key->priv, key->pub, error)) {
    wzp_x25519_key_free (key);
    return NULL;
  }
  return key;
}

/**
 * wzp_x25519_generate:
 *
 * Makes a fresh ephemeral key pair from OpenSSL's CSPRNG.
 *
 * Returns: (transfer full): the pair, or %NULL with @error set.
 */
WzpX25519Key *
wzp_x25519_generate (GError ** error)
{
  guint8 priv[WZP_X25519_KEY_LEN];
  WzpX25519Key *key;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (RAND_bytes (priv, sizeof priv) != 1) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "random X25519 key");
    return NULL;
  }
  key = wzp_x25519_key_new_from_private (priv, error);
  OPENSSL_cleanse (priv, sizeof priv);
  return key;
}

const guint8 *
wzp_x25519_key_get_public (const WzpX25519Key * key)
{
  g_return_val_if_fail (key != NULL, NULL);
  return key->pub;
}

void
wzp_x25519_key_free (WzpX25519Key * key)
{
  if (!key)
    return;
  OPENSSL_cleanse (key, sizeof *key);
  g_free (key);
}

/* Keys */

static gboolean
x25519_shared (const guint8 my_priv[WZP_X25519_KEY_LEN],
    const guint8 peer_pub[WZP_X25519_KEY_LEN],
    guint8 shared[WZP_X25519_KEY_LEN], GError ** error)
{
  static const guint8 zeros[WZP_X25519_KEY_LEN] = { 0 };
  EVP_PKEY *mine = NULL, *peer = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  size_t len = WZP_X25519_KEY_LEN;
  gboolean ok = FALSE;

  mine = EVP_PKEY_new_raw_private_key (EVP_PKEY_X25519, NULL, my_priv,
      WZP_X25519_KEY_LEN);
  peer = EVP_PKEY_new_raw_public_key (EVP_PKEY_X25519, NULL, peer_pub,
      WZP_X25519_KEY_LEN);
  if (!mine || !peer) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "X25519 key import");
    goto out;
  }
  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, mine, NULL);
  if (!ctx || EVP_PKEY_derive_init (ctx) != 1
      || EVP_PKEY_derive_set_peer (ctx, peer) != 1) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "X25519 setup");
    goto out;
  }
  /* OpenSSL itself refuses an all-zero result (a small-order peer point);
   * we check again so the rule does not depend on the library version. */
  if (EVP_PKEY_derive (ctx, shared, &len) != 1 || len != WZP_X25519_KEY_LEN
      || CRYPTO_memcmp (shared, zeros, WZP_X25519_KEY_LEN) == 0) {
    ERR_clear_error ();
    OPENSSL_cleanse (shared, WZP_X25519_KEY_LEN);
    WZP_WARNING ("refusing X25519 peer key of small order");
    g_set_error_literal (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_BAD_KEY,
        "peer X25519 key gives no shared secret (small-order point)");
    goto out;
  }
  ok = TRUE;

out:
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (peer);
  EVP_PKEY_free (mine);
  return ok;
}

static gboolean
hkdf_sha256 (const guint8 * ikm, gsize ikm_len, const guint8 * salt,
    gsize salt_len, const guint8 * info, gsize info_len, guint8 * out,
    gsize out_len, GError ** error)
{
  EVP_KDF *kdf;
  EVP_KDF_CTX *kctx = NULL;
  OSSL_PARAM params[5];
  gboolean ok = FALSE;

  kdf = EVP_KDF_fetch (NULL, OSSL_KDF_NAME_HKDF, NULL);
  if (kdf)
    kctx = EVP_KDF_CTX_new (kdf);
  if (!kctx) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "HKDF fetch");
    goto out;
  }
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST,
      (char *) "SHA256", 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY,
      (void *) ikm, ikm_len);
  params[2] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT,
      (void *) salt, salt_len);
  params[3] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO,
      (void *) info, info_len);
  params[4] = OSSL_PARAM_construct_end ();
  if (EVP_KDF_derive (kctx, out, out_len, params) != 1) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "HKDF");
    goto out;
  }
  ok = TRUE;

out:
  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  return ok;
}

/**
 * wzp_media_keys_derive_pair:
 * @my_priv: this side's ephemeral private key
 * @peer_pub: the other side's ephemeral public key
 * @call_id: the call's 16-byte id from signaling
 * @caller_eph_pub: the caller's ephemeral public key (signed in the offer)
 * @callee_eph_pub: the callee's ephemeral public key (signed in the answer)
 * @i_am_caller: which of the two this side is
 * @tx: (out): the key this side seals with
 * @rx: (out): the key this side opens the peer's packets with
 *
 * shared = X25519 (my_priv, peer_pub); refused if all zero.
 * okm = HKDF-SHA256 (salt "wzp-media-v1", ikm shared,
 *                    info call_id || caller_eph_pub || callee_eph_pub, 96)
 * okm[0..47] is the caller-to-callee key (key || iv || stream_id), and
 * okm[48..95] the callee-to-caller one.  @my_priv must be the private half
 * of the public key given for this side's role, or BAD_KEY.
 *
 * Returns: %TRUE and both keys set, or %FALSE with @error set and both
 * keys wiped.
 */
gboolean
wzp_media_keys_derive_pair (const guint8 my_priv[WZP_X25519_KEY_LEN],
    const guint8 peer_pub[WZP_X25519_KEY_LEN],
    const guint8 call_id[WZP_MEDIA_CALL_ID_LEN],
    const guint8 caller_eph_pub[WZP_X25519_KEY_LEN],
    const guint8 callee_eph_pub[WZP_X25519_KEY_LEN],
    gboolean i_am_caller, WzpMediaKey * tx, WzpMediaKey * rx, GError ** error)
{
  guint8 shared[WZP_X25519_KEY_LEN];
  guint8 my_pub[WZP_X25519_KEY_LEN];
  guint8 info[MEDIA_HKDF_INFO_LEN];
  guint8 okm[2 * WZP_MEDIA_KEY_BYTES];
  const guint8 *expected_mine, *expected_peer;
  gboolean ok = FALSE;

  g_return_val_if_fail (my_priv && peer_pub && call_id, FALSE);
  g_return_val_if_fail (caller_eph_pub && callee_eph_pub, FALSE);
  g_return_val_if_fail (tx && rx && tx != rx, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (tx, 0, sizeof *tx);
  memset (rx, 0, sizeof *rx);

  /* The roles must match the keys: a side that thinks it is the caller but
   * holds the callee's key would derive the right keys the wrong way
   * round and fail every packet in silence. */
  expected_mine = i_am_caller ? caller_eph_pub : callee_eph_pub;
  expected_peer = i_am_caller ? callee_eph_pub : caller_eph_pub;
  if (!x25519_public_from_private (my_priv, my_pub, error))
    return FALSE;
  if (CRYPTO_memcmp (my_pub, expected_mine, WZP_X25519_KEY_LEN) != 0
      || CRYPTO_memcmp (peer_pub, expected_peer, WZP_X25519_KEY_LEN) != 0) {
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_BAD_KEY,
        "ephemeral keys do not match the %s role",
        i_am_caller ? "caller" : "callee");
    return FALSE;
  }

  if (!x25519_shared (my_priv, peer_pub, shared, error))
    return FALSE;

  memcpy (info, call_id, WZP_MEDIA_CALL_ID_LEN);
  memcpy (info + WZP_MEDIA_CALL_ID_LEN, caller_eph_pub, WZP_X25519_KEY_LEN);
  memcpy (info + WZP_MEDIA_CALL_ID_LEN + WZP_X25519_KEY_LEN, callee_eph_pub,
      WZP_X25519_KEY_LEN);

  if (!hkdf_sha256 (shared, sizeof shared, (const guint8 *) MEDIA_HKDF_SALT,
          strlen (MEDIA_HKDF_SALT), info, sizeof info, okm, sizeof okm, error))
    goto out;

  if (i_am_caller) {
    wzp_media_key_from_bytes (okm, tx);
    wzp_media_key_from_bytes (okm + WZP_MEDIA_KEY_BYTES, rx);
  } else {
    wzp_media_key_from_bytes (okm + WZP_MEDIA_KEY_BYTES, tx);
    wzp_media_key_from_bytes (okm, rx);
  }
  WZP_DEBUG ("derived media keys as %s: tx stream %08x, rx stream %08x",
      i_am_caller ? "caller" : "callee", tx->stream_id, rx->stream_id);
  ok = TRUE;

out:
  OPENSSL_cleanse (shared, sizeof shared);
  OPENSSL_cleanse (okm, sizeof okm);
  return ok;
}

/**
 * wzp_media_key_generate:
 * @stream_id: the stream the key will seal
 * @out: (out): a random key and IV
 *
 * For sender keys in group rooms.  Returns: %FALSE if the CSPRNG failed.
 */
gboolean
wzp_media_key_generate (guint32 stream_id, WzpMediaKey * out, GError ** error)
{
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (RAND_bytes (out->key, sizeof out->key) != 1
      || RAND_bytes (out->iv, sizeof out->iv) != 1) {
    wzp_media_key_clear (out);
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "random media key");
    return FALSE;
  }
  out->stream_id = stream_id;
  return TRUE;
}

/**
 * wzp_media_key_from_bytes:
 * @bytes: key (32) || iv (12) || stream_id (4, big-endian)
 * @out: (out): the key
 */
void
wzp_media_key_from_bytes (const guint8 bytes[WZP_MEDIA_KEY_BYTES],
    WzpMediaKey * out)
{
  g_return_if_fail (bytes != NULL && out != NULL);

  memcpy (out->key, bytes, WZP_MEDIA_KEY_LEN);
  memcpy (out->iv, bytes + WZP_MEDIA_KEY_LEN, WZP_MEDIA_IV_LEN);
  out->stream_id = wzp_get_u32 (bytes + WZP_MEDIA_KEY_LEN + WZP_MEDIA_IV_LEN);
}

/**
 * wzp_media_key_to_bytes:
 * @key: a key
 * @out: receives the layout wzp_media_key_from_bytes() reads
 */
void
wzp_media_key_to_bytes (const WzpMediaKey * key,
    guint8 out[WZP_MEDIA_KEY_BYTES])
{
  g_return_if_fail (key != NULL && out != NULL);

  memcpy (out, key->key, WZP_MEDIA_KEY_LEN);
  memcpy (out + WZP_MEDIA_KEY_LEN, key->iv, WZP_MEDIA_IV_LEN);
  wzp_put_u32 (out + WZP_MEDIA_KEY_LEN + WZP_MEDIA_IV_LEN, key->stream_id);
}

void
wzp_media_key_clear (WzpMediaKey * key)
{
  if (key)
    OPENSSL_cleanse (key, sizeof *key);
}

/* nonce = iv XOR (0^8 || seq), seq big-endian in the last 4 bytes, as the
 * per-record nonce of TLS 1.3. */
static inline void
make_nonce (const guint8 iv[WZP_MEDIA_IV_LEN], guint32 seq,
    guint8 nonce[WZP_MEDIA_IV_LEN])
{
  memcpy (nonce, iv, WZP_MEDIA_IV_LEN);
  nonce[8] ^= seq >> 24;
  nonce[9] ^= seq >> 16;
  nonce[10] ^= seq >> 8;
  nonce[11] ^= seq;
}

static EVP_CIPHER_CTX *
aead_ctx_new (const WzpMediaKey * key, gboolean encrypt, GError ** error)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();

  if (!ctx || EVP_CipherInit_ex (ctx, EVP_chacha20_poly1305 (), NULL,
          key->key, NULL, encrypt ? 1 : 0) != 1) {
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED,
        "ChaCha20-Poly1305 setup");
    EVP_CIPHER_CTX_free (ctx);
    return NULL;
  }
  return ctx;
}

/* Sealer */

struct _WzpMediaSealer
{
  WzpMediaKey key;
  EVP_CIPHER_CTX *ctx;
  /* 64 bits so "all 2^32 sequence numbers used" is representable. */
  guint64 next_seq;
};

/**
 * wzp_media_sealer_new:
 * @key: the key to seal with; copied
 *
 * Never make two sealers from one key (see #WzpMediaKey).
 *
 * Returns: (transfer full): a sealer whose first packet has seq 0.
 */
WzpMediaSealer *
wzp_media_sealer_new (const WzpMediaKey * key, GError ** error)
{
  WzpMediaSealer *sealer;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sealer = g_new0 (WzpMediaSealer, 1);
  sealer->key = *key;
  sealer->ctx = aead_ctx_new (key, TRUE, error);
  if (!sealer->ctx) {
    wzp_media_sealer_free (sealer);
    return NULL;
  }
  WZP_DEBUG ("new sealer for stream %08x", key->stream_id);
  return sealer;
}

/**
 * wzp_media_sealer_new_at:
 * @key: the key to seal with; copied
 * @first_seq: the sequence number of the first packet
 *
 * Returns: (transfer full): a sealer whose first packet has @first_seq.
 */
WzpMediaSealer *
wzp_media_sealer_new_at (const WzpMediaKey * key, guint32 first_seq,
    GError ** error)
{
  WzpMediaSealer *sealer = wzp_media_sealer_new (key, error);

  if (sealer)
    sealer->next_seq = first_seq;
  return sealer;
}

void
wzp_media_sealer_free (WzpMediaSealer * sealer)
{
  if (!sealer)
    return;
  EVP_CIPHER_CTX_free (sealer->ctx);
  OPENSSL_cleanse (sealer, sizeof *sealer);
  g_free (sealer);
}

guint32
wzp_media_sealer_get_stream_id (WzpMediaSealer * sealer)
{
  g_return_val_if_fail (sealer != NULL, 0);
  return sealer->key.stream_id;
}

/**
 * wzp_media_sealer_get_next_seq:
 *
 * Returns: the seq the next packet will carry; G_MAXUINT32 + 1 once the
 * sequence space is used up.
 */
guint64
wzp_media_sealer_get_next_seq (WzpMediaSealer * sealer)
{
  g_return_val_if_fail (sealer != NULL, 0);
  return sealer->next_seq;
}

void
wzp_media_sealer_set_next_seq_for_test (WzpMediaSealer * sealer,
    guint64 next_seq)
{
  g_return_if_fail (sealer != NULL);
  sealer->next_seq = next_seq;
}

/**
 * wzp_media_sealer_seal:
 * @sealer: the sealer
 * @codec: WZP_MEDIA_CODEC_*
 * @flags: WZP_MEDIA_FLAG_* (reserved bits must be 0)
 * @timestamp: media time of the frame, 48 kHz units
 * @payload: the encoded frame
 * @len: its size, at most WZP_MEDIA_MAX_PAYLOAD
 * @out: receives header || ciphertext || tag; must not overlap @payload
 * @out_size: room in @out: at least WZP_MEDIA_HEADER_LEN + @len +
 *   WZP_MEDIA_TAG_LEN
 *
 * Assigns the next sequence number (0, 1, 2, ...) and seals.  The header is
 * the AAD.  A failed call does not use up a sequence number, except when
 * the cipher itself fails (then the number is skipped, never reused).
 *
 * Returns: the packet length, or -1 with @error set (TOO_LARGE, or FAILED
 * when the sequence space is exhausted and a new key is needed).
 */
gssize
wzp_media_sealer_seal (WzpMediaSealer * sealer, guint8 codec, guint8 flags,
    guint32 timestamp, const guint8 * payload, gsize len, guint8 * out,
    gsize out_size, GError ** error)
{
  WzpMediaHeader hdr;
  guint8 nonce[WZP_MEDIA_IV_LEN];
  guint8 *ct;
  gsize total;
  int n;

  g_return_val_if_fail (sealer != NULL, -1);
  g_return_val_if_fail (payload != NULL || len == 0, -1);
  g_return_val_if_fail (out != NULL, -1);
  g_return_val_if_fail (wzp_media_codec_is_known (codec), -1);
  g_return_val_if_fail ((flags & ~WZP_MEDIA_FLAGS_KNOWN) == 0, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (len > WZP_MEDIA_MAX_PAYLOAD) {
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_TOO_LARGE,
        "media payload of %" G_GSIZE_FORMAT " bytes is over the %d-byte "
        "limit", len, WZP_MEDIA_MAX_PAYLOAD);
    return -1;
  }
  total = WZP_MEDIA_HEADER_LEN + len + WZP_MEDIA_TAG_LEN;
  if (out_size < total) {
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_TOO_LARGE,
        "output buffer of %" G_GSIZE_FORMAT " bytes cannot hold a "
        "%" G_GSIZE_FORMAT "-byte packet", out_size, total);
    return -1;
  }
  if (sealer->next_seq > G_MAXUINT32) {
    g_set_error_literal (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_FAILED,
        "media key has sealed 2^32 packets; a new key is needed");
    return -1;
  }

  hdr.version = WZP_MEDIA_VERSION;
  hdr.flags = flags;
  hdr.codec = codec;
  hdr.stream_id = sealer->key.stream_id;
  hdr.seq = (guint32) sealer->next_seq;
  hdr.timestamp = timestamp;
  /* Consume the number before touching the cipher: whatever happens next,
   * this nonce is never used for anything else. */
  sealer->next_seq++;

  wzp_media_header_write (&hdr, out);
  make_nonce (sealer->key.iv, hdr.seq, nonce);
  ct = out + WZP_MEDIA_HEADER_LEN;

  /* Re-keying with only an IV resets the AEAD state and keeps the key
   * schedule: no allocation per packet. */
  if (EVP_EncryptInit_ex (sealer->ctx, NULL, NULL, NULL, nonce) != 1
      || EVP_EncryptUpdate (sealer->ctx, NULL, &n, out,
          WZP_MEDIA_HEADER_LEN) != 1
      || EVP_EncryptUpdate (sealer->ctx, ct, &n, payload, (int) len) != 1
      || EVP_EncryptFinal_ex (sealer->ctx, ct + n, &n) != 1
      || EVP_CIPHER_CTX_ctrl (sealer->ctx, EVP_CTRL_AEAD_GET_TAG,
          WZP_MEDIA_TAG_LEN, ct + len) != 1) {
    OPENSSL_cleanse (out, total);
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "media seal");
    return -1;
  }

  WZP_TRACE ("sealed stream %08x seq %u ts %u, %" G_GSIZE_FORMAT " bytes",
      hdr.stream_id, hdr.seq, hdr.timestamp, len);
  return (gssize) total;
}

/* Opener */

struct _WzpMediaOpener
{
  WzpMediaKey key;
  EVP_CIPHER_CTX *ctx;
  WzpMediaOpenerStats stats;

  /* Replay window: bit (s % WINDOW) is set when seq s, within the window
   * below max_seq, has been accepted. */
  gboolean have_any;
  guint32 max_seq;
  guint64 window[WINDOW_WORDS];
};

/**
 * wzp_media_opener_new:
 * @key: the peer's key (its rx half); copied
 *
 * Returns: (transfer full): an opener with an empty replay window.
 */
WzpMediaOpener *
wzp_media_opener_new (const WzpMediaKey * key, GError ** error)
{
  WzpMediaOpener *opener;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  opener = g_new0 (WzpMediaOpener, 1);
  opener->key = *key;
  opener->ctx = aead_ctx_new (key, FALSE, error);
  if (!opener->ctx) {
    wzp_media_opener_free (opener);
    return NULL;
  }
  WZP_DEBUG ("new opener for stream %08x", key->stream_id);
  return opener;
}

void
wzp_media_opener_free (WzpMediaOpener * opener)
{
  if (!opener)
    return;
  EVP_CIPHER_CTX_free (opener->ctx);
  OPENSSL_cleanse (opener, sizeof *opener);
  g_free (opener);
}

guint32
wzp_media_opener_get_stream_id (WzpMediaOpener * opener)
{
  g_return_val_if_fail (opener != NULL, 0);
  return opener->key.stream_id;
}

void
wzp_media_opener_get_stats (WzpMediaOpener * opener,
    WzpMediaOpenerStats * stats)
{
  g_return_if_fail (opener != NULL && stats != NULL);
  *stats = opener->stats;
}

static inline gboolean
window_test (const WzpMediaOpener * o, guint32 seq)
{
  guint idx = seq % WZP_MEDIA_REPLAY_WINDOW;
  return (o->window[idx / 64] >> (idx % 64)) & 1;
}

static inline void
window_set (WzpMediaOpener * o, guint32 seq)
{
  guint idx = seq % WZP_MEDIA_REPLAY_WINDOW;
  o->window[idx / 64] |= G_GUINT64_CONSTANT (1) << (idx % 64);
}

static inline void
window_clear (WzpMediaOpener * o, guint32 seq)
{
  guint idx = seq % WZP_MEDIA_REPLAY_WINDOW;
  o->window[idx / 64] &= ~(G_GUINT64_CONSTANT (1) << (idx % 64));
}

/* Sequence numbers never wrap (the sealer stops at 2^32 - 1), so plain
 * comparison is right.  Accepts seq in (max_seq - WINDOW, max_seq] if not
 * seen yet, and anything above max_seq. */
static gboolean
replay_check (const WzpMediaOpener * o, guint32 seq)
{
  if (!o->have_any || seq > o->max_seq)
    return TRUE;
  if (o->max_seq - seq >= WZP_MEDIA_REPLAY_WINDOW)
    return FALSE;
  return !window_test (o, seq);
}

static void
replay_update (WzpMediaOpener * o, guint32 seq)
{
  if (!o->have_any) {
    o->have_any = TRUE;
    o->max_seq = seq;
  } else if (seq > o->max_seq) {
    guint32 shift = seq - o->max_seq;

    if (shift >= WZP_MEDIA_REPLAY_WINDOW) {
      memset (o->window, 0, sizeof o->window);
    } else {
      guint32 s;

      /* Slots max_seq+1..seq now stand for new numbers: forget them. */
      for (s = o->max_seq + 1; s != seq + 1; s++)
        window_clear (o, s);
    }
    o->max_seq = seq;
  }
  window_set (o, seq);
}

/**
 * wzp_media_opener_open:
 * @opener: the opener
 * @packet: a sealed media packet
 * @len: its length
 * @hdr_out: (out) (optional): the verified header
 * @out: receives the plaintext; must not overlap @packet
 * @out_size: room in @out; the plaintext is @len - WZP_MEDIA_HEADER_LEN -
 *   WZP_MEDIA_TAG_LEN bytes
 *
 * Checks the header, the stream, the replay window and the tag, in that
 * order; only a packet whose tag verifies moves the replay window.  Every
 * refusal is counted in the stats.  On FORGED, @out is wiped.
 *
 * Returns: the plaintext length, or -1 with @error set (MALFORMED,
 * WRONG_STREAM, REPLAYED, FORGED, TOO_LARGE when @out is too small, or
 * FAILED).
 */
gssize
wzp_media_opener_open (WzpMediaOpener * opener, const guint8 * packet,
    gsize len, WzpMediaHeader * hdr_out, guint8 * out, gsize out_size,
    GError ** error)
{
  WzpMediaHeader hdr;
  GError *perr = NULL;
  guint8 nonce[WZP_MEDIA_IV_LEN];
  const guint8 *ct;
  guint8 empty[1];
  gsize ct_len;
  int n;

  g_return_val_if_fail (opener != NULL, -1);
  g_return_val_if_fail (packet != NULL || len == 0, -1);
  g_return_val_if_fail (out != NULL || out_size == 0, -1);
  g_return_val_if_fail (error == NULL || *error == NULL, -1);

  if (!wzp_media_header_parse (packet, len, &hdr, &perr)) {
    opener->stats.malformed++;
    WZP_LOG ("dropping malformed media packet: %s", perr->message);
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED,
        "%s", perr->message);
    g_error_free (perr);
    return -1;
  }
  if (len < WZP_MEDIA_HEADER_LEN + WZP_MEDIA_TAG_LEN
      || len > WZP_MEDIA_MAX_PACKET) {
    opener->stats.malformed++;
    WZP_LOG ("dropping media packet of bad length %" G_GSIZE_FORMAT, len);
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED,
        "media packet of %" G_GSIZE_FORMAT " bytes: not a sealed packet", len);
    return -1;
  }
  if (hdr.stream_id != opener->key.stream_id) {
    opener->stats.wrong_stream++;
    WZP_LOG ("dropping media packet for stream %08x, expected %08x",
        hdr.stream_id, opener->key.stream_id);
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_WRONG_STREAM,
        "media packet for stream %08x, this opener is for %08x",
        hdr.stream_id, opener->key.stream_id);
    return -1;
  }
  if (!replay_check (opener, hdr.seq)) {
    opener->stats.replayed++;
    WZP_LOG ("dropping replayed media packet seq %u (max %u)", hdr.seq,
        opener->max_seq);
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_REPLAYED,
        "media packet seq %u replayed or older than the window (max %u)",
        hdr.seq, opener->max_seq);
    return -1;
  }

  ct = packet + WZP_MEDIA_HEADER_LEN;
  ct_len = len - WZP_MEDIA_HEADER_LEN - WZP_MEDIA_TAG_LEN;
  if (out_size < ct_len) {
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_TOO_LARGE,
        "output buffer of %" G_GSIZE_FORMAT " bytes cannot hold a "
        "%" G_GSIZE_FORMAT "-byte payload", out_size, ct_len);
    return -1;
  }
  /* An empty payload still needs a real output pointer: with NULL,
   * EVP_DecryptUpdate would take the input as AAD. */
  if (out == NULL)
    out = empty;

  make_nonce (opener->key.iv, hdr.seq, nonce);
  if (EVP_DecryptInit_ex (opener->ctx, NULL, NULL, NULL, nonce) != 1
      || EVP_CIPHER_CTX_ctrl (opener->ctx, EVP_CTRL_AEAD_SET_TAG,
          WZP_MEDIA_TAG_LEN, (void *) (ct + ct_len)) != 1
      || EVP_DecryptUpdate (opener->ctx, NULL, &n, packet,
          WZP_MEDIA_HEADER_LEN) != 1
      || EVP_DecryptUpdate (opener->ctx, out, &n, ct, (int) ct_len) != 1) {
    if (out_size)
      OPENSSL_cleanse (out, MIN (out_size, ct_len));
    set_openssl_error (error, WZP_MEDIA_ERROR_FAILED, "media open");
    return -1;
  }
  if (EVP_DecryptFinal_ex (opener->ctx, out + n, &n) != 1) {
    ERR_clear_error ();
    if (ct_len)
      OPENSSL_cleanse (out, ct_len);
    opener->stats.forged++;
    WZP_LOG ("dropping forged media packet seq %u", hdr.seq);
    g_set_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_FORGED,
        "media packet seq %u failed authentication", hdr.seq);
    return -1;
  }

  replay_update (opener, hdr.seq);
  opener->stats.opened++;
  if (hdr_out)
    *hdr_out = hdr;
  WZP_TRACE ("opened stream %08x seq %u ts %u, %" G_GSIZE_FORMAT " bytes",
      hdr.stream_id, hdr.seq, hdr.timestamp, ct_len);
  return (gssize) ct_len;
}
