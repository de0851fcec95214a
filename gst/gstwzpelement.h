/* gstwzpelement.h — glue both wzp elements share
 *
 * One-time plugin setup (debug categories, libwzp log forwarding), the
 * properties read from the call (path, stats, call-id, peer, fingerprint,
 * relay-state) and the signals for incoming calls.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#include "gstwzpcallobject.h"

G_BEGIN_DECLS

void gst_wzp_element_init (GstPlugin * plugin);

/* Installs on @type: "incoming-call" (gchararray caller, gchararray
 * call_id), a notification emitted off the call's thread; and the action
 * signals "answer" and "reject" (gchararray call_id) -> gboolean, usable
 * from any thread at any time. */
void gst_wzp_element_install_signals (GType type);

/* Read-only properties that come from the call.  @call may be NULL (no
 * call: defaults).  Returns TRUE when @prop_id is one of them. */
gboolean gst_wzp_element_get_call_property (GstWzpCallObject * call,
    const GstWzpSettings * settings, guint prop_id, GValue * value);

/* The wzp:// URI handler functions both elements plug in. */
void gst_wzp_element_uri_handler_init (GstURIHandlerInterface * iface);

G_END_DECLS
