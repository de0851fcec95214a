/* wzp — end-to-end media keys and packet protection
 *
 * Each call side makes an ephemeral X25519 key pair; the public halves are
 * signed by the identities in the offer and answer (not here).  Both sides
 * then derive, with HKDF-SHA256, one key per direction; each key carries
 * its ChaCha20-Poly1305 key, a 12-byte IV and the stream_id that names it.
 * A WzpMediaSealer turns Opus frames into sealed media packets, a
 * WzpMediaOpener checks and opens them and drops forgeries and replays.
 * The relay in between sees only ciphertext.
 *
 * Group rooms use sender keys: each member makes a random WzpMediaKey with
 * wzp_media_key_generate(), sends its bytes to the others over the
 * (already encrypted) signaling channel, and seals with it; the others
 * open with it.
 *
 * The exact key schedule, nonce construction and replay window are in
 * docs/PROTOCOL-media.md.
 *
 * None of these objects is thread-safe: use each from one thread at a time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-version.h"
#include "wzp-media-packet.h"

G_BEGIN_DECLS

#define WZP_X25519_KEY_LEN 32
#define WZP_MEDIA_CALL_ID_LEN 16
#define WZP_MEDIA_KEY_LEN 32
#define WZP_MEDIA_IV_LEN 12
/* A WzpMediaKey as bytes: key || iv || stream_id (big-endian). */
#define WZP_MEDIA_KEY_BYTES (WZP_MEDIA_KEY_LEN + WZP_MEDIA_IV_LEN + 4)
/* Replay window, in sequence numbers. */
#define WZP_MEDIA_REPLAY_WINDOW 1024

#define WZP_MEDIA_ERROR (wzp_media_error_quark ())

/**
 * WzpMediaError:
 * @WZP_MEDIA_ERROR_MALFORMED: not a media packet (short, bad header)
 * @WZP_MEDIA_ERROR_FORGED: the tag did not verify: wrong key or altered
 * @WZP_MEDIA_ERROR_REPLAYED: sequence number already seen or too old
 * @WZP_MEDIA_ERROR_WRONG_STREAM: stream_id is not the opener's
 * @WZP_MEDIA_ERROR_TOO_LARGE: payload over WZP_MEDIA_MAX_PAYLOAD, or the
 *   output buffer is too small for the result
 * @WZP_MEDIA_ERROR_FAILED: the crypto library failed, or the sealer used
 *   up its sequence space (make a new key)
 * @WZP_MEDIA_ERROR_BAD_KEY: a peer public key that gives no shared secret
 *   (small order), or a private key that does not match its role
 */
typedef enum
{
  WZP_MEDIA_ERROR_MALFORMED,
  WZP_MEDIA_ERROR_FORGED,
  WZP_MEDIA_ERROR_REPLAYED,
  WZP_MEDIA_ERROR_WRONG_STREAM,
  WZP_MEDIA_ERROR_TOO_LARGE,
  WZP_MEDIA_ERROR_FAILED,
  WZP_MEDIA_ERROR_BAD_KEY,
} WzpMediaError;

GQuark wzp_media_error_quark (void);

/**
 * WzpX25519Key:
 * @priv: the private scalar
 * @pub: the public point
 *
 * An ephemeral X25519 key pair.  Free it with wzp_x25519_key_free(), which
 * wipes the private half.
 */
typedef struct
{
  guint8 priv[WZP_X25519_KEY_LEN];
  guint8 pub[WZP_X25519_KEY_LEN];
} WzpX25519Key;

WzpX25519Key *wzp_x25519_generate (GError ** error);

WzpX25519Key *wzp_x25519_key_new_from_private (const guint8
    priv[WZP_X25519_KEY_LEN], GError ** error);

const guint8 *wzp_x25519_key_get_public (const WzpX25519Key * key);

void wzp_x25519_key_free (WzpX25519Key * key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpX25519Key, wzp_x25519_key_free)

/**
 * WzpMediaKey:
 * @key: the ChaCha20-Poly1305 key
 * @iv: XORed with the sequence number to make each nonce
 * @stream_id: the stream this key seals; goes in every packet header
 *
 * The secret for one direction of one stream.  A key must seal with ONE
 * WzpMediaSealer only, ever: two sealers on the same key would both start
 * at sequence 0 and reuse nonces, which breaks ChaCha20-Poly1305 outright.
 * Any number of openers may use it.  Wipe it with wzp_media_key_clear().
 */
typedef struct
{
  guint8 key[WZP_MEDIA_KEY_LEN];
  guint8 iv[WZP_MEDIA_IV_LEN];
  guint32 stream_id;
} WzpMediaKey;

gboolean wzp_media_keys_derive_pair (const guint8 my_priv[WZP_X25519_KEY_LEN],
    const guint8 peer_pub[WZP_X25519_KEY_LEN],
    const guint8 call_id[WZP_MEDIA_CALL_ID_LEN],
    const guint8 caller_eph_pub[WZP_X25519_KEY_LEN],
    const guint8 callee_eph_pub[WZP_X25519_KEY_LEN],
    gboolean i_am_caller, WzpMediaKey * tx, WzpMediaKey * rx,
    GError ** error);

gboolean wzp_media_key_generate (guint32 stream_id, WzpMediaKey * out,
    GError ** error);

void wzp_media_key_from_bytes (const guint8 bytes[WZP_MEDIA_KEY_BYTES],
    WzpMediaKey * out);

void wzp_media_key_to_bytes (const WzpMediaKey * key,
    guint8 out[WZP_MEDIA_KEY_BYTES]);

void wzp_media_key_clear (WzpMediaKey * key);

/* Sealing */

typedef struct _WzpMediaSealer WzpMediaSealer;

WzpMediaSealer *wzp_media_sealer_new (const WzpMediaKey * key,
    GError ** error);

/* Like wzp_media_sealer_new(), but the first packet carries @first_seq.
 * A room member's new sender key continues the sequence numbers of its
 * previous key, so receivers' jitter buffers see one stream across key
 * changes; nonces stay unique because they only need to be unique per
 * key. */
WzpMediaSealer *wzp_media_sealer_new_at (const WzpMediaKey * key,
    guint32 first_seq, GError ** error);
void wzp_media_sealer_free (WzpMediaSealer * sealer);

gssize wzp_media_sealer_seal (WzpMediaSealer * sealer, guint8 codec,
    guint8 flags, guint32 timestamp, const guint8 * payload, gsize len,
    guint8 * out, gsize out_size, GError ** error);

guint32 wzp_media_sealer_get_stream_id (WzpMediaSealer * sealer);

guint64 wzp_media_sealer_get_next_seq (WzpMediaSealer * sealer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpMediaSealer, wzp_media_sealer_free)

/* Opening */

/**
 * WzpMediaOpenerStats:
 * @opened: packets that verified and were accepted
 * @forged: packets whose tag did not verify
 * @replayed: packets refused by the replay window
 * @malformed: packets that were not media packets
 * @wrong_stream: packets for another stream_id
 */
typedef struct
{
  guint64 opened;
  guint64 forged;
  guint64 replayed;
  guint64 malformed;
  guint64 wrong_stream;
} WzpMediaOpenerStats;

typedef struct _WzpMediaOpener WzpMediaOpener;

WzpMediaOpener *wzp_media_opener_new (const WzpMediaKey * key,
    GError ** error);

void wzp_media_opener_free (WzpMediaOpener * opener);

gssize wzp_media_opener_open (WzpMediaOpener * opener, const guint8 * packet,
    gsize len, WzpMediaHeader * hdr_out, guint8 * out, gsize out_size,
    GError ** error);

void wzp_media_opener_get_stats (WzpMediaOpener * opener,
    WzpMediaOpenerStats * stats);

guint32 wzp_media_opener_get_stream_id (WzpMediaOpener * opener);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpMediaOpener, wzp_media_opener_free)

G_END_DECLS
