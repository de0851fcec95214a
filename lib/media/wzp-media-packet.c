/* wzp — the media packet header
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-bytes.h"
#include "wzp-media-packet.h"
#include "wzp-log-private.h"

#define WZP_CAT_DEFAULT wzp_cat_media

GQuark
wzp_media_packet_error_quark (void)
{
  return g_quark_from_static_string ("wzp-media-packet-error-quark");
}



gboolean
wzp_media_codec_is_known (guint8 codec)
{
  return codec == WZP_MEDIA_CODEC_OPUS;
}

/**
 * wzp_media_header_write:
 * @hdr: the header; version and flags must fit in 4 bits each
 * @out: receives exactly WZP_MEDIA_HEADER_LEN bytes
 *
 * Serialises @hdr.  It writes what it is given: callers (the sealer) are
 * the ones that fill in a valid version, codec and flags.
 */
void
wzp_media_header_write (const WzpMediaHeader * hdr,
    guint8 out[WZP_MEDIA_HEADER_LEN])
{
  g_return_if_fail (hdr != NULL);
  g_return_if_fail (out != NULL);
  g_return_if_fail (hdr->version <= 0xf && hdr->flags <= 0xf);

  out[0] = (hdr->version << 4) | (hdr->flags & 0xf);
  out[1] = hdr->codec;
  wzp_put_u32 (out + 2, hdr->stream_id);
  wzp_put_u32 (out + 6, hdr->seq);
  wzp_put_u32 (out + 10, hdr->timestamp);
}

/**
 * wzp_media_header_parse:
 * @data: the packet
 * @len: its length; anything after the header is the sealed payload
 * @out: (out): the header, valid only when %TRUE is returned
 * @error: a WZP_MEDIA_PACKET_ERROR
 *
 * Returns: %TRUE if @data starts with a well-formed header.
 */
gboolean
wzp_media_header_parse (const guint8 * data, gsize len,
    WzpMediaHeader * out, GError ** error)
{
  guint8 version, flags, codec;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len < WZP_MEDIA_HEADER_LEN) {
    g_set_error (error, WZP_MEDIA_PACKET_ERROR, WZP_MEDIA_PACKET_ERROR_SHORT,
        "media packet of %" G_GSIZE_FORMAT " bytes is shorter than its "
        "%d-byte header", len, WZP_MEDIA_HEADER_LEN);
    return FALSE;
  }

  version = data[0] >> 4;
  flags = data[0] & 0xf;
  codec = data[1];

  if (version != WZP_MEDIA_VERSION) {
    g_set_error (error, WZP_MEDIA_PACKET_ERROR,
        WZP_MEDIA_PACKET_ERROR_VERSION,
        "media packet version %u, expected %u", version, WZP_MEDIA_VERSION);
    return FALSE;
  }
  if (flags & ~WZP_MEDIA_FLAGS_KNOWN) {
    g_set_error (error, WZP_MEDIA_PACKET_ERROR, WZP_MEDIA_PACKET_ERROR_FLAGS,
        "media packet has reserved flags set (0x%x)",
        flags & ~WZP_MEDIA_FLAGS_KNOWN);
    return FALSE;
  }
  if (!wzp_media_codec_is_known (codec)) {
    g_set_error (error, WZP_MEDIA_PACKET_ERROR, WZP_MEDIA_PACKET_ERROR_CODEC,
        "media packet has unknown codec %u", codec);
    return FALSE;
  }

  out->version = version;
  out->flags = flags;
  out->codec = codec;
  out->stream_id = wzp_get_u32 (data + 2);
  out->seq = wzp_get_u32 (data + 6);
  out->timestamp = wzp_get_u32 (data + 10);
  WZP_TRACE ("parsed media header stream %08x seq %u ts %u flags 0x%x",
      out->stream_id, out->seq, out->timestamp, out->flags);
  return TRUE;
}
