/* gstwzpuri.h — the wzp:// URI scheme of wzpsrc and wzpsink
 *
 *   wzp://RELAYHOST:PORT?peer=FP&identity=PATH&room=R&answer=auto&latency=60
 *
 * The authority is the relay; every query key is the name of a property
 * (relay-fingerprint, identity, peer, session, room, answer, path-policy,
 * media-timeout, latency, max-latency, wait-for-call).  Keys of properties the element
 * does not have (latency on wzpsink) are ignored with a warning, so one
 * URI serves both elements; unknown keys are an error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_WZP_URI_SCHEME "wzp"

/* Sets @element's properties from @uri; properties the URI may carry but
 * does not are reset to their defaults.  Sets a GST_URI_ERROR. */
gboolean gst_wzp_uri_to_properties (GObject * element, const gchar * uri,
    GError ** error);

/* Returns: (transfer full) (nullable): the URI of @element's settings, or
 * NULL when no relay is set. */
gchar *gst_wzp_uri_from_properties (GObject * element);

G_END_DECLS
