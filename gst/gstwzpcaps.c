/* gstwzpcaps.c — the caps wzpsrc outputs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/pbutils/pbutils.h>
#include <gst/tag/tag.h>

#include "gstwzpcaps.h"

GstCaps *
gst_wzp_opus_caps_new (void)
{
  GstBuffer *head, *tags;
  GstTagList *taglist;
  GstCaps *caps;

  /* 48 kHz, mono, family 0, one stream, no coupled streams, no pre-skip
   * (the sender's encoder delay is unknown here), 0 dB gain. */
  head = gst_codec_utils_opus_create_header (48000, 1, 0, 1, 0, NULL, 0, 0);
  taglist = gst_tag_list_new_empty ();
  tags = gst_tag_list_to_vorbiscomment_buffer (taglist,
      (const guint8 *) "OpusTags", 8, "wzpsrc");
  caps = gst_codec_utils_opus_create_caps_from_header (head, tags);
  gst_tag_list_unref (taglist);
  gst_buffer_unref (head);
  gst_buffer_unref (tags);
  return caps;
}
