/* Tests for the media packet header: exact wire layout, roundtrip, and
 * every reason a header is refused.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-media-packet.h"

#include <string.h>

static void
test_layout (void)
{
  WzpMediaHeader h = {
    .version = WZP_MEDIA_VERSION,
    .flags = WZP_MEDIA_FLAG_MARKER,
    .codec = WZP_MEDIA_CODEC_OPUS,
    .stream_id = 0x01020304,
    .seq = 0xa0b0c0d0,
    .timestamp = 0xdeadbeef,
  };
  static const guint8 expected[WZP_MEDIA_HEADER_LEN] = {
    0x11, 0x01,
    0x01, 0x02, 0x03, 0x04,
    0xa0, 0xb0, 0xc0, 0xd0,
    0xde, 0xad, 0xbe, 0xef,
  };
  guint8 buf[WZP_MEDIA_HEADER_LEN];

  wzp_media_header_write (&h, buf);
  g_assert_cmpmem (buf, sizeof buf, expected, sizeof expected);
}

static void
test_roundtrip (void)
{
  static const guint32 values[] = { 0, 1, 0x7fffffff, 0x80000000,
    G_MAXUINT32
  };
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (values); i++) {
    for (j = 0; j < 2; j++) {
      WzpMediaHeader h = {
        .version = WZP_MEDIA_VERSION,
        .flags = j ? WZP_MEDIA_FLAG_MARKER : 0,
        .codec = WZP_MEDIA_CODEC_OPUS,
        .stream_id = values[i],
        .seq = values[(i + 1) % G_N_ELEMENTS (values)],
        .timestamp = values[(i + 2) % G_N_ELEMENTS (values)],
      };
      WzpMediaHeader out;
      guint8 buf[WZP_MEDIA_HEADER_LEN + 20] = { 0 };
      GError *error = NULL;

      memset (&out, 0xaa, sizeof out);
      wzp_media_header_write (&h, buf);
      /* Trailing payload bytes are not the header's business. */
      g_assert_true (wzp_media_header_parse (buf, sizeof buf, &out, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (out.version, ==, h.version);
      g_assert_cmpuint (out.flags, ==, h.flags);
      g_assert_cmpuint (out.codec, ==, h.codec);
      g_assert_cmpuint (out.stream_id, ==, h.stream_id);
      g_assert_cmpuint (out.seq, ==, h.seq);
      g_assert_cmpuint (out.timestamp, ==, h.timestamp);

      /* Exactly a header and nothing else is also well-formed. */
      g_assert_true (wzp_media_header_parse (buf, WZP_MEDIA_HEADER_LEN, &out,
              &error));
      g_assert_no_error (error);
    }
  }
}

static void
make_valid (guint8 buf[WZP_MEDIA_HEADER_LEN])
{
  WzpMediaHeader h = {
    .version = WZP_MEDIA_VERSION,
    .codec = WZP_MEDIA_CODEC_OPUS,
    .stream_id = 7,
    .seq = 8,
    .timestamp = 9,
  };
  wzp_media_header_write (&h, buf);
}

static void
expect_reject (const guint8 * buf, gsize len, gint code)
{
  WzpMediaHeader out;
  GError *error = NULL;

  g_assert_false (wzp_media_header_parse (buf, len, &out, &error));
  g_assert_error (error, WZP_MEDIA_PACKET_ERROR, code);
  g_clear_error (&error);
}

static void
test_reject_short (void)
{
  guint8 buf[WZP_MEDIA_HEADER_LEN];
  gsize len;

  make_valid (buf);
  for (len = 0; len < WZP_MEDIA_HEADER_LEN; len++)
    expect_reject (buf, len, WZP_MEDIA_PACKET_ERROR_SHORT);
  expect_reject (NULL, 0, WZP_MEDIA_PACKET_ERROR_SHORT);
}

static void
test_reject_version (void)
{
  guint8 buf[WZP_MEDIA_HEADER_LEN];
  guint v;

  for (v = 0; v < 16; v++) {
    if (v == WZP_MEDIA_VERSION)
      continue;
    make_valid (buf);
    buf[0] = (v << 4) | (buf[0] & 0xf);
    expect_reject (buf, sizeof buf, WZP_MEDIA_PACKET_ERROR_VERSION);
  }
}

static void
test_reject_codec (void)
{
  guint8 buf[WZP_MEDIA_HEADER_LEN];
  guint c;

  for (c = 0; c < 256; c++) {
    if (c == WZP_MEDIA_CODEC_OPUS)
      continue;
    make_valid (buf);
    buf[1] = c;
    expect_reject (buf, sizeof buf, WZP_MEDIA_PACKET_ERROR_CODEC);
  }
}

static void
test_reject_flags (void)
{
  guint8 buf[WZP_MEDIA_HEADER_LEN];
  guint f;

  for (f = 0; f < 16; f++) {
    WzpMediaHeader out;

    make_valid (buf);
    buf[0] = (WZP_MEDIA_VERSION << 4) | f;
    if (f & ~WZP_MEDIA_FLAGS_KNOWN)
      expect_reject (buf, sizeof buf, WZP_MEDIA_PACKET_ERROR_FLAGS);
    else
      g_assert_true (wzp_media_header_parse (buf, sizeof buf, &out, NULL));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/media-packet/layout", test_layout);
  g_test_add_func ("/media-packet/roundtrip", test_roundtrip);
  g_test_add_func ("/media-packet/reject-short", test_reject_short);
  g_test_add_func ("/media-packet/reject-version", test_reject_version);
  g_test_add_func ("/media-packet/reject-codec", test_reject_codec);
  g_test_add_func ("/media-packet/reject-flags", test_reject_flags);
  return g_test_run ();
}
