/* gstwzpcaps.h — the caps wzpsrc outputs
 *
 * audio/x-opus, rate 48000, 1 channel, channel-mapping-family 0, with
 * OpusHead/OpusTags stream headers so oggmux can write a valid Ogg Opus
 * file and opusdec configures itself.  Mono: libopus decodes a stereo
 * packet into mono, so any sender's frames fit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GstCaps *gst_wzp_opus_caps_new (void);

G_END_DECLS
