/* wzp — length-prefixed message framing on a QUIC stream
 *
 * A frame is a 4-byte big-endian length followed by that many bytes.  The
 * reader reassembles frames from arbitrary stream chunks.  A frame longer
 * than the limit is skipped, not buffered, and reported, so one bad
 * message costs the sender an error reply instead of the connection.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-version.h"

G_BEGIN_DECLS

#define WZP_FRAME_HEADER_LEN 4

typedef struct _WzpFramer WzpFramer;

/* @frame is valid only during the call. */
typedef void (*WzpFrameFunc) (const guint8 * frame, gsize len,
    gpointer user_data);
/* A frame of @declared_len bytes exceeded the limit and is being skipped. */
typedef void (*WzpFrameOversizeFunc) (guint64 declared_len,
    gpointer user_data);

WzpFramer *wzp_framer_new (gsize max_frame_len);

void wzp_framer_free (WzpFramer * framer);

void wzp_framer_push (WzpFramer * framer, const guint8 * data, gsize len,
    WzpFrameFunc on_frame, WzpFrameOversizeFunc on_oversize,
    gpointer user_data);

gsize wzp_framer_get_buffered (WzpFramer * framer);

void wzp_frame_write_header (guint8 out[WZP_FRAME_HEADER_LEN], guint32 len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WzpFramer, wzp_framer_free)

G_END_DECLS
