/* wzp — cryptographically secure random bytes
 *
 * Connection IDs, tokens, call IDs and challenges must be unguessable;
 * GLib's g_random_* is not meant for that.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-version.h"

G_BEGIN_DECLS

void wzp_random_bytes (guint8 * buf, gsize len);

guint32 wzp_random_u32 (void);

char *wzp_random_hex (gsize n_bytes);

G_END_DECLS
