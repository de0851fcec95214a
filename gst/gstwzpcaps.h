/* gstwzpcaps.h — the Opus caps of the wzp elements
 *
 * A wzp call carries Opus packets and nothing about how they were made:
 * the packet itself says whether it is stereo (the TOC byte), and Opus
 * decodes any packet at any of its rates and into mono or stereo.  So:
 *
 *  - wzpsink takes what opusenc produces: every rate it encodes from
 *    (8, 12, 16, 24, 48 kHz), mono or stereo (channel mapping family 0).
 *  - wzpsrc and the member pads of wzproomsrc output audio/x-opus with
 *    OpusHead/OpusTags stream headers (oggmux records them, opusdec
 *    configures itself from them), at the rate and channel count
 *    downstream asks for; left free, 48 kHz and the channel count of the
 *    first frame heard (the sender's), so a stereo call stays stereo.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* The rates opusenc encodes from; Opus decodes to each of them. */
#define GST_WZP_OPUS_RATES "{ (int) 48000, (int) 24000, (int) 16000, " \
    "(int) 12000, (int) 8000 }"

#define GST_WZP_OPUS_CAPS "audio/x-opus, rate = (int) " GST_WZP_OPUS_RATES \
    ", channels = (int) [ 1, 2 ], channel-mapping-family = (int) 0"

/* A pad template of GST_WZP_OPUS_CAPS (wzpsrc, wzpsink, the member pads
 * of wzproomsrc). */
GstPadTemplate *gst_wzp_opus_pad_template_new (const gchar * name,
    GstPadDirection direction, GstPadPresence presence);

/* Fixed caps with OpusHead/OpusTags stream headers for @rate (one of
 * GST_WZP_OPUS_RATES) and @channels (1 or 2). */
GstCaps *gst_wzp_opus_caps_new (gint rate, gint channels);

/* 2 for a stereo Opus packet, 1 for mono, 0 for an empty one (RFC 6716,
 * 3.1: the TOC byte's "s" bit). */
gint gst_wzp_opus_packet_channels (const guint8 * data, gsize len);

/* The caps @pad should output: what its peer accepts of
 * GST_WZP_OPUS_CAPS, fixated to 48 kHz (or the nearest rate) and to
 * @channels (or the nearest count), with stream headers.  NULL when the
 * peer accepts none of them. */
GstCaps *gst_wzp_opus_caps_negotiate (GstPad * pad, gint channels);

G_END_DECLS
