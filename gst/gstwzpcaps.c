/* gstwzpcaps.c — the Opus caps of the wzp elements
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/pbutils/pbutils.h>
#include <gst/tag/tag.h>

#include "gstwzpcaps.h"

GstPadTemplate *
gst_wzp_opus_pad_template_new (const gchar * name, GstPadDirection direction,
    GstPadPresence presence)
{
  GstCaps *caps = gst_caps_from_string (GST_WZP_OPUS_CAPS);
  GstPadTemplate *templ = gst_pad_template_new (name, direction, presence,
      caps);

  gst_caps_unref (caps);
  return templ;
}

GstCaps *
gst_wzp_opus_caps_new (gint rate, gint channels)
{
  GstBuffer *head, *tags;
  GstTagList *taglist;
  GstCaps *caps;

  /* Family 0: one stream, coupled when stereo; no pre-skip (the
   * sender's encoder delay is unknown here), 0 dB gain.  The rate is
   * the "input sample rate" of OpusHead: what opusdec decodes to. */
  head = gst_codec_utils_opus_create_header (rate, channels, 0, 1,
      channels == 2 ? 1 : 0, NULL, 0, 0);
  taglist = gst_tag_list_new_empty ();
  tags = gst_tag_list_to_vorbiscomment_buffer (taglist,
      (const guint8 *) "OpusTags", 8, "wzpsrc");
  caps = gst_codec_utils_opus_create_caps_from_header (head, tags);
  gst_tag_list_unref (taglist);
  gst_buffer_unref (head);
  gst_buffer_unref (tags);
  return caps;
}

gint
gst_wzp_opus_packet_channels (const guint8 * data, gsize len)
{
  if (len == 0)
    return 0;
  return (data[0] & 0x04) ? 2 : 1;
}

GstCaps *
gst_wzp_opus_caps_negotiate (GstPad * pad, gint channels)
{
  GstCaps *tmpl = gst_caps_from_string (GST_WZP_OPUS_CAPS);
  GstCaps *peer = gst_pad_peer_query_caps (pad, tmpl);
  GstStructure *s;
  gint rate = 48000;

  gst_caps_unref (tmpl);
  if (gst_caps_is_empty (peer)) {
    gst_caps_unref (peer);
    return NULL;
  }
  peer = gst_caps_truncate (peer);
  peer = gst_caps_make_writable (peer);
  s = gst_caps_get_structure (peer, 0);
  gst_structure_fixate_field_nearest_int (s, "rate", 48000);
  gst_structure_fixate_field_nearest_int (s, "channels", channels);
  gst_structure_get_int (s, "rate", &rate);
  gst_structure_get_int (s, "channels", &channels);
  gst_caps_unref (peer);
  return gst_wzp_opus_caps_new (rate, CLAMP (channels, 1, 2));
}
