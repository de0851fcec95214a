/* wzp — the media packet header
 *
 * Every media packet starts with a 14-byte header in network byte order,
 * followed by the sealed payload (ChaCha20-Poly1305 ciphertext and its
 * 16-byte tag).  The header travels in clear, is authenticated as AAD and
 * is what the receiver needs to pick the key, build the nonce and place
 * the frame in time.  See docs/PROTOCOL-media.md.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-------+-------+---------------+-------------------------------+
 *  |version| flags |     codec     |      stream_id (high 16)      |
 *  +-------+-------+---------------+-------------------------------+
 *  |      stream_id (low 16)       |          seq (high 16)        |
 *  +-------------------------------+-------------------------------+
 *  |          seq (low 16)         |       timestamp (high 16)     |
 *  +-------------------------------+-------------------------------+
 *  |       timestamp (low 16)      |  sealed payload ...
 *  +-------------------------------+
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-version.h"

G_BEGIN_DECLS

#define WZP_MEDIA_HEADER_LEN 14
#define WZP_MEDIA_TAG_LEN 16
/* Largest plaintext payload a packet may carry (one Opus frame is far
 * smaller); keeps a sealed packet well inside a QUIC datagram. */
#define WZP_MEDIA_MAX_PAYLOAD 1200
/* Largest sealed packet: header + payload + tag. */
#define WZP_MEDIA_MAX_PACKET \
  (WZP_MEDIA_HEADER_LEN + WZP_MEDIA_MAX_PAYLOAD + WZP_MEDIA_TAG_LEN)

#define WZP_MEDIA_VERSION 1

/* Flags, low 4 bits of byte 0.  Bits not named here are reserved and must
 * be 0; a packet with a reserved bit set is rejected. */
#define WZP_MEDIA_FLAG_MARKER 0x1       /* first packet of a talkspurt */
#define WZP_MEDIA_FLAGS_KNOWN (WZP_MEDIA_FLAG_MARKER)

/* Codecs, byte 1. */
#define WZP_MEDIA_CODEC_OPUS 1

/* Sample clock of the timestamp field. */
#define WZP_MEDIA_CLOCK_RATE 48000

/**
 * WzpMediaHeader:
 * @version: WZP_MEDIA_VERSION (4 bits on the wire)
 * @flags: WZP_MEDIA_FLAG_* (4 bits on the wire)
 * @codec: WZP_MEDIA_CODEC_*
 * @stream_id: names the sender's stream, and so the key
 * @seq: packet counter, starts at 0, one more per packet; also the nonce
 * @timestamp: media time of the first sample, 48 kHz units, wraps
 */
typedef struct
{
  guint8 version;
  guint8 flags;
  guint8 codec;
  guint32 stream_id;
  guint32 seq;
  guint32 timestamp;
} WzpMediaHeader;

#define WZP_MEDIA_PACKET_ERROR (wzp_media_packet_error_quark ())

/**
 * WzpMediaPacketError:
 * @WZP_MEDIA_PACKET_ERROR_SHORT: fewer bytes than a header
 * @WZP_MEDIA_PACKET_ERROR_VERSION: version is not WZP_MEDIA_VERSION
 * @WZP_MEDIA_PACKET_ERROR_CODEC: codec unknown
 * @WZP_MEDIA_PACKET_ERROR_FLAGS: a reserved flag is set
 */
typedef enum
{
  WZP_MEDIA_PACKET_ERROR_SHORT,
  WZP_MEDIA_PACKET_ERROR_VERSION,
  WZP_MEDIA_PACKET_ERROR_CODEC,
  WZP_MEDIA_PACKET_ERROR_FLAGS,
} WzpMediaPacketError;

GQuark wzp_media_packet_error_quark (void);

void wzp_media_header_write (const WzpMediaHeader * hdr,
    guint8 out[WZP_MEDIA_HEADER_LEN]);

gboolean wzp_media_header_parse (const guint8 * data, gsize len,
    WzpMediaHeader * out, GError ** error);

gboolean wzp_media_codec_is_known (guint8 codec);

G_END_DECLS
