/* gstwzpproperties.h — the properties of the wzp elements: their specs
 * and their documentation
 *
 * gst_wzp_object_class_init() installs them (gstwzpobject.h, which has
 * their ids and handles them).  The docs name GstWzpSrc; wzpsink and
 * wzproomsrc have the same properties.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* The connection settings and the call's read-only properties; with
 * @receives latency and max-latency, with @sends wait-for-call. */
void gst_wzp_properties_install (GObjectClass * klass, gboolean receives,
    gboolean sends);

G_END_DECLS
