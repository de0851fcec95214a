/* Fuzz target: opening media packets (header checks, replay window, AEAD).
 *
 * The opener has a fixed key.  Input is a list of records; each starts
 * with an op byte and a 16-bit length:
 *
 *   op & 1 == 0: the record's bytes are a packet, opened as they are;
 *   op & 1 == 1: the bytes are a payload that a sealer on the same key
 *                seals at the sequence number given by the next 4 bytes,
 *                then (op & 2) one bit of the result is flipped, chosen by
 *                the next 2 bytes; then it is opened.
 *
 * Bits 2..3 of op pick the room in the output buffer.  Random bytes alone
 * almost never carry a valid tag; the sealed records let the fuzzer reach
 * the replay window and the decryption with packets that verify.
 *
 * Checked: a genuine packet opens to its payload unless it is a replay or
 * does not fit; a packet with a flipped bit never opens; every result is
 * one of the documented errors and the stats add up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-media-crypto.h"
#include "wzp-media-crypto-private.h"

#define STREAM_ID 0x5157a11d

static WzpMediaKey fixed_key;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  for (guint i = 0; i < WZP_MEDIA_KEY_LEN; i++)
    fixed_key.key[i] = (guint8) (0xa0 + i);
  for (guint i = 0; i < WZP_MEDIA_IV_LEN; i++)
    fixed_key.iv[i] = (guint8) (0x10 + i);
  fixed_key.stream_id = STREAM_ID;
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static const gsize rooms[] = { WZP_MEDIA_MAX_PAYLOAD, 0, 1, 16 };
  FuzzInput in;
  WzpMediaOpener *opener;
  WzpMediaSealer *sealer;
  WzpMediaOpenerStats stats;
  guint64 calls = 0, other_errors = 0;
  GError *error = NULL;

  fuzz_input_init (&in, data, size);
  opener = wzp_media_opener_new (&fixed_key, &error);
  FUZZ_CHECK (opener != NULL);
  sealer = wzp_media_sealer_new (&fixed_key, &error);
  FUZZ_CHECK (sealer != NULL);

  while (in.left > 0) {
    guint8 op = fuzz_u8 (&in);
    gsize want = fuzz_u16 (&in);
    const guint8 *bytes;
    gsize n;
    guint8 packet[WZP_MEDIA_MAX_PACKET + 64];
    guint8 out[WZP_MEDIA_MAX_PAYLOAD + 64];
    gsize room = rooms[(op >> 2) & 3];
    gsize packet_len;
    gboolean genuine = FALSE, tampered = FALSE;
    WzpMediaHeader hdr = { 0 };
    gssize r;

    if (op & 1) {
      guint32 seq = fuzz_u32 (&in);
      guint16 flip = fuzz_u16 (&in);
      gssize sealed;

      n = fuzz_bytes (&in, MIN (want, WZP_MEDIA_MAX_PAYLOAD), &bytes);
      wzp_media_sealer_set_next_seq_for_test (sealer, seq);
      sealed = wzp_media_sealer_seal (sealer, WZP_MEDIA_CODEC_OPUS,
          op & 0x10 ? WZP_MEDIA_FLAG_MARKER : 0, seq * 960u, bytes, n,
          packet, sizeof packet, &error);
      FUZZ_CHECK (sealed == (gssize) (WZP_MEDIA_HEADER_LEN + n +
              WZP_MEDIA_TAG_LEN));
      packet_len = sealed;
      genuine = TRUE;
      if (op & 2) {
        gsize bit = flip % (packet_len * 8);

        packet[bit / 8] ^= 1 << (bit % 8);
        tampered = TRUE;
      }
    } else {
      n = fuzz_bytes (&in, MIN (want, sizeof packet), &bytes);
      memcpy (packet, bytes, n);
      packet_len = n;
      bytes = packet;
    }

    calls++;
    r = wzp_media_opener_open (opener, packet, packet_len, &hdr, out, room,
        &error);
    if (r >= 0) {
      FUZZ_CHECK (error == NULL);
      FUZZ_CHECK (!tampered);
      FUZZ_CHECK ((gsize) r == packet_len - WZP_MEDIA_HEADER_LEN -
          WZP_MEDIA_TAG_LEN);
      FUZZ_CHECK ((gsize) r <= room);
      FUZZ_CHECK (hdr.stream_id == STREAM_ID);
      if (genuine)
        FUZZ_CHECK (r == 0 || memcmp (out, bytes, r) == 0);
      /* The same packet again is a replay. */
      calls++;
      r = wzp_media_opener_open (opener, packet, packet_len, NULL, out,
          sizeof out, &error);
      FUZZ_CHECK (r == -1);
      FUZZ_CHECK (g_error_matches (error, WZP_MEDIA_ERROR,
              WZP_MEDIA_ERROR_REPLAYED));
      g_clear_error (&error);
      continue;
    }

    FUZZ_CHECK (error != NULL && error->domain == WZP_MEDIA_ERROR);
    switch (error->code) {
      case WZP_MEDIA_ERROR_MALFORMED:
      case WZP_MEDIA_ERROR_FORGED:
      case WZP_MEDIA_ERROR_REPLAYED:
      case WZP_MEDIA_ERROR_WRONG_STREAM:
        break;
      case WZP_MEDIA_ERROR_TOO_LARGE:
        FUZZ_CHECK (packet_len - WZP_MEDIA_HEADER_LEN - WZP_MEDIA_TAG_LEN >
            room);
        other_errors++;
        break;
      default:
        FUZZ_CHECK (!"unexpected error code");
    }
    /* An untouched packet that fits can only be refused as a replay. */
    if (genuine && !tampered && n <= room)
      FUZZ_CHECK (error->code == WZP_MEDIA_ERROR_REPLAYED);
    g_clear_error (&error);
  }

  wzp_media_opener_get_stats (opener, &stats);
  FUZZ_CHECK (stats.opened + stats.forged + stats.replayed + stats.malformed
      + stats.wrong_stream + other_errors == calls);

  wzp_media_sealer_free (sealer);
  wzp_media_opener_free (opener);
  return 0;
}
