/* Tests for the media key schedule, the sealer and the opener: keys agree
 * on both sides, packets roundtrip, and forgeries, replays, wrong keys and
 * wrong streams are refused and counted.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-media-crypto.h"
#include "wzp-media-crypto-private.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static void
hex_decode (const char *hex, guint8 * out, gsize len)
{
  gsize i;

  g_assert_cmpuint (strlen (hex), ==, 2 * len);
  for (i = 0; i < len; i++)
    out[i] = (g_ascii_xdigit_value (hex[2 * i]) << 4) |
        g_ascii_xdigit_value (hex[2 * i + 1]);
}

static const guint8 call_id_a[WZP_MEDIA_CALL_ID_LEN] = {
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
};

static const guint8 call_id_b[WZP_MEDIA_CALL_ID_LEN] = {
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17
};

static void
assert_keys_equal (const WzpMediaKey * a, const WzpMediaKey * b)
{
  g_assert_cmpmem (a->key, sizeof a->key, b->key, sizeof b->key);
  g_assert_cmpmem (a->iv, sizeof a->iv, b->iv, sizeof b->iv);
  g_assert_cmpuint (a->stream_id, ==, b->stream_id);
}

static gboolean
keys_equal (const WzpMediaKey * a, const WzpMediaKey * b)
{
  return memcmp (a->key, b->key, sizeof a->key) == 0;
}

/* RFC 7748 section 6.1: public keys from the given private keys. */
static void
test_x25519_rfc7748 (void)
{
  guint8 priv[32], pub[32];
  g_autoptr (WzpX25519Key) alice = NULL;
  g_autoptr (WzpX25519Key) bob = NULL;
  GError *error = NULL;

  hex_decode
      ("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv,
      32);
  alice = wzp_x25519_key_new_from_private (priv, &error);
  g_assert_no_error (error);
  hex_decode
      ("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", pub,
      32);
  g_assert_cmpmem (wzp_x25519_key_get_public (alice), 32, pub, 32);

  hex_decode
      ("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", priv,
      32);
  bob = wzp_x25519_key_new_from_private (priv, &error);
  g_assert_no_error (error);
  hex_decode
      ("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", pub,
      32);
  g_assert_cmpmem (wzp_x25519_key_get_public (bob), 32, pub, 32);
}

static void
test_x25519_generate (void)
{
  g_autoptr (WzpX25519Key) a = NULL;
  g_autoptr (WzpX25519Key) b = NULL;
  g_autoptr (WzpX25519Key) again = NULL;
  GError *error = NULL;

  a = wzp_x25519_generate (&error);
  g_assert_no_error (error);
  b = wzp_x25519_generate (&error);
  g_assert_no_error (error);
  g_assert_true (memcmp (a->priv, b->priv, 32) != 0);
  g_assert_true (memcmp (a->pub, b->pub, 32) != 0);
  again = wzp_x25519_key_new_from_private (a->priv, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (again->pub, 32, a->pub, 32);
}

static void
derive_both (const guint8 * call_id, WzpX25519Key * caller,
    WzpX25519Key * callee, WzpMediaKey * caller_tx, WzpMediaKey * caller_rx,
    WzpMediaKey * callee_tx, WzpMediaKey * callee_rx)
{
  GError *error = NULL;

  g_assert_true (wzp_media_keys_derive_pair (caller->priv, callee->pub,
          call_id, caller->pub, callee->pub, TRUE, caller_tx, caller_rx,
          &error));
  g_assert_no_error (error);
  g_assert_true (wzp_media_keys_derive_pair (callee->priv, caller->pub,
          call_id, caller->pub, callee->pub, FALSE, callee_tx, callee_rx,
          &error));
  g_assert_no_error (error);
}

static void
test_derive_pair_matches (void)
{
  g_autoptr (WzpX25519Key) caller = wzp_x25519_generate (NULL);
  g_autoptr (WzpX25519Key) callee = wzp_x25519_generate (NULL);
  WzpMediaKey ctx_, crx, etx, erx;
  WzpMediaKey ctx2, crx2, etx2, erx2;

  derive_both (call_id_a, caller, callee, &ctx_, &crx, &etx, &erx);
  assert_keys_equal (&ctx_, &erx);
  assert_keys_equal (&etx, &crx);
  g_assert_false (keys_equal (&ctx_, &crx));
  g_assert_true (memcmp (ctx_.iv, crx.iv, WZP_MEDIA_IV_LEN) != 0);

  /* Another call id, same ephemeral keys: other keys entirely. */
  derive_both (call_id_b, caller, callee, &ctx2, &crx2, &etx2, &erx2);
  assert_keys_equal (&ctx2, &erx2);
  g_assert_false (keys_equal (&ctx_, &ctx2));
  g_assert_false (keys_equal (&crx, &crx2));
  g_assert_true (memcmp (ctx_.iv, ctx2.iv, WZP_MEDIA_IV_LEN) != 0);

  wzp_media_key_clear (&ctx_);
  g_assert_cmpuint (ctx_.stream_id, ==, 0);
}

/* The schedule as docs/PROTOCOL-media.md states it, computed here from
 * HMAC-SHA256 by hand (RFC 5869), must give the same bytes. */
static void
test_derive_pair_matches_spec (void)
{
  g_autoptr (WzpX25519Key) caller = wzp_x25519_generate (NULL);
  g_autoptr (WzpX25519Key) callee = wzp_x25519_generate (NULL);
  WzpMediaKey tx, rx;
  EVP_PKEY *mine, *peer;
  EVP_PKEY_CTX *pctx;
  guint8 shared[32], prk[32], t[32 * 3], okm[96];
  gsize slen = 32;
  guint mdlen, i;
  gsize tlen = 0;

  g_assert_true (wzp_media_keys_derive_pair (caller->priv, callee->pub,
          call_id_a, caller->pub, callee->pub, TRUE, &tx, &rx, NULL));

  mine = EVP_PKEY_new_raw_private_key (EVP_PKEY_X25519, NULL, caller->priv, 32);
  peer = EVP_PKEY_new_raw_public_key (EVP_PKEY_X25519, NULL, callee->pub, 32);
  pctx = EVP_PKEY_CTX_new (mine, NULL);
  g_assert_cmpint (EVP_PKEY_derive_init (pctx), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive_set_peer (pctx, peer), ==, 1);
  g_assert_cmpint (EVP_PKEY_derive (pctx, shared, &slen), ==, 1);
  EVP_PKEY_CTX_free (pctx);
  EVP_PKEY_free (peer);
  EVP_PKEY_free (mine);

  /* extract */
  HMAC (EVP_sha256 (), "wzp-media-v1", 12, shared, 32, prk, &mdlen);
  g_assert_cmpuint (mdlen, ==, 32);
  /* expand: T(i) = HMAC (prk, T(i-1) || info || i) */
  for (i = 1; i <= 3; i++) {
    guint8 msg[32 + 80 + 1];
    gsize mlen = 0;

    if (i > 1) {
      memcpy (msg, t + 32 * (i - 2), 32);
      mlen = 32;
    }
    memcpy (msg + mlen, call_id_a, 16);
    memcpy (msg + mlen + 16, caller->pub, 32);
    memcpy (msg + mlen + 48, callee->pub, 32);
    msg[mlen + 80] = i;
    HMAC (EVP_sha256 (), prk, 32, msg, mlen + 81, t + tlen, &mdlen);
    tlen += 32;
  }
  memcpy (okm, t, 96);

  g_assert_cmpmem (tx.key, 32, okm, 32);
  g_assert_cmpmem (tx.iv, 12, okm + 32, 12);
  g_assert_cmpuint (tx.stream_id, ==, ((guint32) okm[44] << 24) |
      ((guint32) okm[45] << 16) | ((guint32) okm[46] << 8) | okm[47]);
  g_assert_cmpmem (rx.key, 32, okm + 48, 32);
  g_assert_cmpmem (rx.iv, 12, okm + 80, 12);
  g_assert_cmpuint (rx.stream_id, ==, ((guint32) okm[92] << 24) |
      ((guint32) okm[93] << 16) | ((guint32) okm[94] << 8) | okm[95]);
}

static void
test_derive_pair_wrong_role (void)
{
  g_autoptr (WzpX25519Key) caller = wzp_x25519_generate (NULL);
  g_autoptr (WzpX25519Key) callee = wzp_x25519_generate (NULL);
  WzpMediaKey tx, rx;
  GError *error = NULL;

  /* The caller's private key, but told it is the callee. */
  g_assert_false (wzp_media_keys_derive_pair (caller->priv, callee->pub,
          call_id_a, caller->pub, callee->pub, FALSE, &tx, &rx, &error));
  g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_BAD_KEY);
  g_clear_error (&error);
}

/* Points of small order (the list libsodium refuses): X25519 with any of
 * them gives all zeros. */
static void
test_small_order_refused (void)
{
  static const char *points[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  g_autoptr (WzpX25519Key) me = wzp_x25519_generate (NULL);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (points); i++) {
    guint8 bad[32];
    WzpMediaKey tx, rx;
    GError *error = NULL;

    hex_decode (points[i], bad, 32);
    g_assert_false (wzp_media_keys_derive_pair (me->priv, bad, call_id_a,
            me->pub, bad, TRUE, &tx, &rx, &error));
    g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_BAD_KEY);
    g_clear_error (&error);
    /* Nothing usable is left behind. */
    g_assert_cmpuint (tx.stream_id, ==, 0);
    g_assert_cmpuint (rx.stream_id, ==, 0);
  }
}

static void
test_key_bytes (void)
{
  WzpMediaKey a, b, c;
  guint8 bytes[WZP_MEDIA_KEY_BYTES];

  g_assert_true (wzp_media_key_generate (0xabcdef01, &a, NULL));
  g_assert_true (wzp_media_key_generate (0xabcdef01, &b, NULL));
  g_assert_cmpuint (a.stream_id, ==, 0xabcdef01);
  g_assert_false (keys_equal (&a, &b));
  wzp_media_key_to_bytes (&a, bytes);
  g_assert_cmpuint (bytes[44], ==, 0xab);
  g_assert_cmpuint (bytes[47], ==, 0x01);
  wzp_media_key_from_bytes (bytes, &c);
  assert_keys_equal (&a, &c);
}

/* Fixture: a random key, a sealer and an opener on it. */
typedef struct
{
  WzpMediaKey key;
  WzpMediaSealer *sealer;
  WzpMediaOpener *opener;
} Fixture;

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  GError *error = NULL;

  g_assert_true (wzp_media_key_generate (0x5eed, &f->key, &error));
  g_assert_no_error (error);
  f->sealer = wzp_media_sealer_new (&f->key, &error);
  g_assert_no_error (error);
  f->opener = wzp_media_opener_new (&f->key, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  wzp_media_sealer_free (f->sealer);
  wzp_media_opener_free (f->opener);
  wzp_media_key_clear (&f->key);
}

typedef struct
{
  guint8 data[WZP_MEDIA_MAX_PACKET];
  gsize len;
} Packet;

static void
seal_one (WzpMediaSealer * sealer, guint32 ts, gsize payload_len, Packet * p)
{
  guint8 payload[WZP_MEDIA_MAX_PAYLOAD];
  GError *error = NULL;
  gssize n;
  gsize i;

  for (i = 0; i < payload_len; i++)
    payload[i] = (guint8) (ts + i);
  n = wzp_media_sealer_seal (sealer, WZP_MEDIA_CODEC_OPUS, 0, ts, payload,
      payload_len, p->data, sizeof p->data, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, WZP_MEDIA_HEADER_LEN + payload_len +
      WZP_MEDIA_TAG_LEN);
  p->len = n;
}

static gssize
open_one (WzpMediaOpener * opener, const Packet * p, GError ** error)
{
  guint8 out[WZP_MEDIA_MAX_PAYLOAD];

  return wzp_media_opener_open (opener, p->data, p->len, NULL, out,
      sizeof out, error);
}

static void
expect_open_error (WzpMediaOpener * opener, const Packet * p, gint code)
{
  GError *error = NULL;

  g_assert_cmpint (open_one (opener, p, &error), ==, -1);
  g_assert_error (error, WZP_MEDIA_ERROR, code);
  g_clear_error (&error);
}

static void
expect_open_ok (WzpMediaOpener * opener, const Packet * p)
{
  GError *error = NULL;
  gssize n = open_one (opener, p, &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, ==, p->len - WZP_MEDIA_HEADER_LEN - WZP_MEDIA_TAG_LEN);
}

static void
test_roundtrip (Fixture * f, gconstpointer data)
{
  static const gsize lens[] = { 0, 1, 15, 16, 17, 80, 160, 1199, 1200 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (lens); i++) {
    guint8 payload[WZP_MEDIA_MAX_PAYLOAD], out[WZP_MEDIA_MAX_PAYLOAD];
    guint8 packet[WZP_MEDIA_MAX_PACKET];
    guint8 flags = (i & 1) ? WZP_MEDIA_FLAG_MARKER : 0;
    WzpMediaHeader hdr;
    GError *error = NULL;
    gssize n, m;

    g_assert_cmpuint (wzp_media_sealer_get_next_seq (f->sealer), ==, i);
    memset (payload, 0x40 + i, lens[i]);
    n = wzp_media_sealer_seal (f->sealer, WZP_MEDIA_CODEC_OPUS, flags,
        960 * i, payload, lens[i], packet, sizeof packet, &error);
    g_assert_no_error (error);
    g_assert_cmpint (n, ==, WZP_MEDIA_HEADER_LEN + lens[i] + WZP_MEDIA_TAG_LEN);
    if (lens[i] >= 16)          /* not sent in clear */
      g_assert_true (memcmp (packet + WZP_MEDIA_HEADER_LEN, payload, 16));

    m = wzp_media_opener_open (f->opener, packet, n, &hdr, lens[i] ? out :
        NULL, lens[i], &error);
    g_assert_no_error (error);
    g_assert_cmpint (m, ==, lens[i]);
    g_assert_cmpmem (out, m, payload, lens[i]);
    g_assert_cmpuint (hdr.version, ==, WZP_MEDIA_VERSION);
    g_assert_cmpuint (hdr.flags, ==, flags);
    g_assert_cmpuint (hdr.codec, ==, WZP_MEDIA_CODEC_OPUS);
    g_assert_cmpuint (hdr.stream_id, ==, 0x5eed);
    g_assert_cmpuint (hdr.seq, ==, i);
    g_assert_cmpuint (hdr.timestamp, ==, 960 * i);
  }
}

/* The reused-context sealer gives exactly what a fresh one-shot
 * ChaCha20-Poly1305 gives with the documented nonce and AAD. */
static void
test_matches_reference (Fixture * f, gconstpointer data)
{
  guint s;

  for (s = 0; s < 4; s++) {
    Packet p;
    guint8 nonce[12], payload[100], ct[100], tag[16];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
    gsize i;
    int n;

    seal_one (f->sealer, 1000 + s, 100, &p);
    memcpy (nonce, f->key.iv, 12);
    nonce[11] ^= s;
    for (i = 0; i < 100; i++)
      payload[i] = (guint8) (1000 + s + i);
    g_assert_cmpint (EVP_EncryptInit_ex (ctx, EVP_chacha20_poly1305 (), NULL,
            f->key.key, nonce), ==, 1);
    g_assert_cmpint (EVP_EncryptUpdate (ctx, NULL, &n, p.data, 14), ==, 1);
    g_assert_cmpint (EVP_EncryptUpdate (ctx, ct, &n, payload, 100), ==, 1);
    g_assert_cmpint (EVP_EncryptFinal_ex (ctx, ct + n, &n), ==, 1);
    g_assert_cmpint (EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, 16,
            tag), ==, 1);
    EVP_CIPHER_CTX_free (ctx);
    g_assert_cmpmem (p.data + 14, 100, ct, 100);
    g_assert_cmpmem (p.data + 114, 16, tag, 16);
  }
}

static void
test_bit_flips (Fixture * f, gconstpointer data)
{
  Packet p;
  WzpMediaOpenerStats st;
  guint64 forged = 0, malformed = 0, wrong = 0;
  gsize byte;
  guint bit;

  seal_one (f->sealer, 4242, 40, &p);
  for (byte = 0; byte < p.len; byte++) {
    for (bit = 0; bit < 8; bit++) {
      Packet q = p;
      gint code;

      q.data[byte] ^= 1 << bit;
      if (byte == 0 && bit >= 1)        /* reserved flags, version */
        code = WZP_MEDIA_ERROR_MALFORMED;
      else if (byte == 1)       /* codec */
        code = WZP_MEDIA_ERROR_MALFORMED;
      else if (byte >= 2 && byte < 6)   /* stream id */
        code = WZP_MEDIA_ERROR_WRONG_STREAM;
      else                      /* marker, seq, timestamp, ct, tag */
        code = WZP_MEDIA_ERROR_FORGED;
      expect_open_error (f->opener, &q, code);
      if (code == WZP_MEDIA_ERROR_FORGED)
        forged++;
      else if (code == WZP_MEDIA_ERROR_MALFORMED)
        malformed++;
      else
        wrong++;
    }
  }
  wzp_media_opener_get_stats (f->opener, &st);
  g_assert_cmpuint (st.forged, ==, forged);
  g_assert_cmpuint (st.forged, ==, 1 + 8 * 8 + (40 + 16) * 8);
  g_assert_cmpuint (st.malformed, ==, malformed);
  g_assert_cmpuint (st.wrong_stream, ==, wrong);
  g_assert_cmpuint (st.opened, ==, 0);
  g_assert_cmpuint (st.replayed, ==, 0);

  /* Forgeries did not move the replay window: the real packet opens. */
  expect_open_ok (f->opener, &p);
  wzp_media_opener_get_stats (f->opener, &st);
  g_assert_cmpuint (st.opened, ==, 1);
}

static void
test_truncated (Fixture * f, gconstpointer data)
{
  Packet p;
  WzpMediaOpenerStats st;
  gsize len;

  seal_one (f->sealer, 1, 10, &p);
  for (len = 0; len < p.len; len++) {
    Packet q = p;
    gint code;

    q.len = len;
    code = len < WZP_MEDIA_HEADER_LEN + WZP_MEDIA_TAG_LEN ?
        WZP_MEDIA_ERROR_MALFORMED : WZP_MEDIA_ERROR_FORGED;
    expect_open_error (f->opener, &q, code);
  }
  wzp_media_opener_get_stats (f->opener, &st);
  g_assert_cmpuint (st.malformed, ==, WZP_MEDIA_HEADER_LEN + WZP_MEDIA_TAG_LEN);
  g_assert_cmpuint (st.forged, ==, 10);
}

static void
test_replay (Fixture * f, gconstpointer data)
{
  Packet p[3];
  WzpMediaOpenerStats st;
  guint i;

  for (i = 0; i < 3; i++)
    seal_one (f->sealer, i, 20, &p[i]);
  expect_open_ok (f->opener, &p[0]);
  expect_open_error (f->opener, &p[0], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_ok (f->opener, &p[2]);
  expect_open_error (f->opener, &p[2], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_error (f->opener, &p[0], WZP_MEDIA_ERROR_REPLAYED);
  /* Late but never seen: accepted, once. */
  expect_open_ok (f->opener, &p[1]);
  expect_open_error (f->opener, &p[1], WZP_MEDIA_ERROR_REPLAYED);
  wzp_media_opener_get_stats (f->opener, &st);
  g_assert_cmpuint (st.opened, ==, 3);
  g_assert_cmpuint (st.replayed, ==, 4);
}

static void
test_reorder_window (Fixture * f, gconstpointer data)
{
  Packet *p = g_new (Packet, 2700);
  WzpMediaOpenerStats st;
  guint i;

  for (i = 0; i < 2700; i++)
    seal_one (f->sealer, i * 960, 8, &p[i]);

  expect_open_ok (f->opener, &p[1100]);
  /* Out of order, inside the window: each accepted once. */
  expect_open_ok (f->opener, &p[100]);
  expect_open_ok (f->opener, &p[1099]);
  expect_open_ok (f->opener, &p[500]);
  expect_open_ok (f->opener, &p[77]);   /* exactly 1023 below 1100 */
  expect_open_error (f->opener, &p[76], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_error (f->opener, &p[100], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_error (f->opener, &p[1099], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_error (f->opener, &p[1100], WZP_MEDIA_ERROR_REPLAYED);

  /* Slide by 500: slots reused for 1101..1600 must read as unseen, and
   * what was seen and is still inside must stay seen. */
  expect_open_ok (f->opener, &p[1600]);
  expect_open_ok (f->opener, &p[1101]);
  expect_open_ok (f->opener, &p[1599]);
  expect_open_ok (f->opener, &p[577]);  /* 1600 - 1023 */
  expect_open_error (f->opener, &p[576], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_error (f->opener, &p[1099], WZP_MEDIA_ERROR_REPLAYED);
  /* Far too old. */
  expect_open_error (f->opener, &p[1], WZP_MEDIA_ERROR_REPLAYED);

  /* Jump past a whole window: everything before is forgotten or old. */
  expect_open_ok (f->opener, &p[2699]);
  expect_open_error (f->opener, &p[1675], WZP_MEDIA_ERROR_REPLAYED);
  expect_open_ok (f->opener, &p[1676]);
  expect_open_ok (f->opener, &p[2698]);
  expect_open_ok (f->opener, &p[1700]);

  wzp_media_opener_get_stats (f->opener, &st);
  g_assert_cmpuint (st.opened, ==, 13);
  g_assert_cmpuint (st.replayed, ==, 8);
  g_assert_cmpuint (st.forged, ==, 0);
  g_free (p);
}

static void
test_wrong_key (Fixture * f, gconstpointer data)
{
  WzpMediaKey other;
  g_autoptr (WzpMediaOpener) opener = NULL;
  WzpMediaOpenerStats st;
  Packet p;

  /* Same stream id, different secret. */
  g_assert_true (wzp_media_key_generate (f->key.stream_id, &other, NULL));
  opener = wzp_media_opener_new (&other, NULL);
  seal_one (f->sealer, 0, 50, &p);
  expect_open_error (opener, &p, WZP_MEDIA_ERROR_FORGED);
  wzp_media_opener_get_stats (opener, &st);
  g_assert_cmpuint (st.forged, ==, 1);
  g_assert_cmpuint (st.opened, ==, 0);

  /* Same secret, other IV: also forged (nonce differs). */
  other = f->key;
  other.iv[0] ^= 1;
  wzp_media_opener_free (g_steal_pointer (&opener));
  opener = wzp_media_opener_new (&other, NULL);
  expect_open_error (opener, &p, WZP_MEDIA_ERROR_FORGED);
}

static void
test_wrong_stream (Fixture * f, gconstpointer data)
{
  WzpMediaKey other = f->key;
  g_autoptr (WzpMediaOpener) opener = NULL;
  WzpMediaOpenerStats st;
  Packet p;

  other.stream_id++;
  opener = wzp_media_opener_new (&other, NULL);
  g_assert_cmpuint (wzp_media_opener_get_stream_id (opener), ==,
      f->key.stream_id + 1);
  seal_one (f->sealer, 0, 50, &p);
  expect_open_error (opener, &p, WZP_MEDIA_ERROR_WRONG_STREAM);
  wzp_media_opener_get_stats (opener, &st);
  g_assert_cmpuint (st.wrong_stream, ==, 1);
  g_assert_cmpuint (st.forged, ==, 0);
}

static void
test_too_large (Fixture * f, gconstpointer data)
{
  guint8 payload[WZP_MEDIA_MAX_PAYLOAD + 1] = { 0 };
  guint8 packet[WZP_MEDIA_MAX_PACKET + 1];
  guint8 small[10];
  GError *error = NULL;
  Packet p;

  g_assert_cmpint (wzp_media_sealer_seal (f->sealer, WZP_MEDIA_CODEC_OPUS, 0,
          0, payload, sizeof payload, packet, sizeof packet, &error), ==, -1);
  g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* Output too small for header + payload + tag. */
  g_assert_cmpint (wzp_media_sealer_seal (f->sealer, WZP_MEDIA_CODEC_OPUS, 0,
          0, payload, 100, packet, WZP_MEDIA_HEADER_LEN + 100 +
          WZP_MEDIA_TAG_LEN - 1, &error), ==, -1);
  g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* Refusals use up no sequence number. */
  g_assert_cmpuint (wzp_media_sealer_get_next_seq (f->sealer), ==, 0);

  /* Opener output too small: refused, not counted as an attack, and the
   * packet still opens afterwards. */
  seal_one (f->sealer, 0, 50, &p);
  g_assert_cmpint (wzp_media_opener_open (f->opener, p.data, p.len, NULL,
          small, sizeof small, &error), ==, -1);
  g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_TOO_LARGE);
  g_clear_error (&error);
  expect_open_ok (f->opener, &p);

  /* A packet longer than any sealer makes is malformed. */
  memset (packet, 0, sizeof packet);
  memcpy (packet, p.data, WZP_MEDIA_HEADER_LEN);
  g_assert_cmpint (wzp_media_opener_open (f->opener, packet, sizeof packet,
          NULL, payload, sizeof payload, &error), ==, -1);
  g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_MALFORMED);
  g_clear_error (&error);
}

static void
test_seq_exhausted (Fixture * f, gconstpointer data)
{
  guint8 packet[WZP_MEDIA_MAX_PACKET];
  GError *error = NULL;
  Packet p;

  wzp_media_sealer_set_next_seq_for_test (f->sealer, G_MAXUINT32);
  seal_one (f->sealer, 0, 10, &p);
  g_assert_cmpuint (wzp_media_sealer_get_next_seq (f->sealer), ==,
      (guint64) G_MAXUINT32 + 1);
  g_assert_cmpint (wzp_media_sealer_seal (f->sealer, WZP_MEDIA_CODEC_OPUS, 0,
          0, (const guint8 *) "x", 1, packet, sizeof packet, &error), ==, -1);
  g_assert_error (error, WZP_MEDIA_ERROR, WZP_MEDIA_ERROR_FAILED);
  g_clear_error (&error);

  /* The last sequence number opens, and sits at the top of the window. */
  expect_open_ok (f->opener, &p);
  expect_open_error (f->opener, &p, WZP_MEDIA_ERROR_REPLAYED);
}

/* Caller and callee each seal with tx and open the other's packets with
 * rx, through derived keys. */
static void
test_call_end_to_end (void)
{
  g_autoptr (WzpX25519Key) caller = wzp_x25519_generate (NULL);
  g_autoptr (WzpX25519Key) callee = wzp_x25519_generate (NULL);
  WzpMediaKey ctx_, crx, etx, erx;
  g_autoptr (WzpMediaSealer) cs = NULL;
  g_autoptr (WzpMediaSealer) es = NULL;
  g_autoptr (WzpMediaOpener) co = NULL;
  g_autoptr (WzpMediaOpener) eo = NULL;
  Packet p;

  derive_both (call_id_a, caller, callee, &ctx_, &crx, &etx, &erx);
  cs = wzp_media_sealer_new (&ctx_, NULL);
  es = wzp_media_sealer_new (&etx, NULL);
  co = wzp_media_opener_new (&crx, NULL);
  eo = wzp_media_opener_new (&erx, NULL);

  seal_one (cs, 0, 60, &p);
  expect_open_ok (eo, &p);
  /* Reflected back at its sender: refused. */
  expect_open_error (co, &p, ctx_.stream_id == crx.stream_id ?
      WZP_MEDIA_ERROR_FORGED : WZP_MEDIA_ERROR_WRONG_STREAM);

  seal_one (es, 0, 60, &p);
  expect_open_ok (co, &p);
}

#define ADD(name, func) \
  g_test_add ("/media-crypto/" name, Fixture, NULL, fixture_setup, func, \
      fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/media-crypto/x25519-rfc7748", test_x25519_rfc7748);
  g_test_add_func ("/media-crypto/x25519-generate", test_x25519_generate);
  g_test_add_func ("/media-crypto/derive-pair-matches",
      test_derive_pair_matches);
  g_test_add_func ("/media-crypto/derive-pair-matches-spec",
      test_derive_pair_matches_spec);
  g_test_add_func ("/media-crypto/derive-pair-wrong-role",
      test_derive_pair_wrong_role);
  g_test_add_func ("/media-crypto/small-order-refused",
      test_small_order_refused);
  g_test_add_func ("/media-crypto/key-bytes", test_key_bytes);
  g_test_add_func ("/media-crypto/call-end-to-end", test_call_end_to_end);
  ADD ("roundtrip", test_roundtrip);
  ADD ("matches-reference", test_matches_reference);
  ADD ("bit-flips", test_bit_flips);
  ADD ("truncated", test_truncated);
  ADD ("replay", test_replay);
  ADD ("reorder-window", test_reorder_window);
  ADD ("wrong-key", test_wrong_key);
  ADD ("wrong-stream", test_wrong_stream);
  ADD ("too-large", test_too_large);
  ADD ("seq-exhausted", test_seq_exhausted);
  return g_test_run ();
}
