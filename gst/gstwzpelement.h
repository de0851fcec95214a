/* gstwzpelement.h — glue both wzp elements share
 *
 * One-time plugin setup (debug categories, libwzp log forwarding), the
 * properties read from the call (path, stats, call-id, peer, fingerprint)
 * and the incoming-call signal.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstwzpcallobject.h"

G_BEGIN_DECLS

void gst_wzp_element_init (GstPlugin * plugin);

/* Installs "incoming-call" (gchararray caller) -> gboolean accept on
 * @type; the first handler's answer wins. */
guint gst_wzp_element_install_incoming_call (GType type);

/* Read-only properties that come from the call.  @call may be NULL (no
 * call: defaults).  Returns TRUE when @prop_id is one of them. */
gboolean gst_wzp_element_get_call_property (GstWzpCallObject * call,
    const GstWzpSettings * settings, guint prop_id, GValue * value);

/* The wzp:// URI handler functions both elements plug in. */
void gst_wzp_element_uri_handler_init (GstURIHandlerInterface * iface);

G_END_DECLS
