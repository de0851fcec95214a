/* wzp-log-private.h — how libwzp itself logs (not installed)
 *
 * The categories, one per layer, and the macros every .c file logs with
 * (defining WZP_CAT_DEFAULT first, as GStreamer code defines
 * GST_CAT_DEFAULT).  wzp-log.h is what an application sees: the levels,
 * the categories' names and thresholds, and the handler hook.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-log.h"

G_BEGIN_DECLS

/* The library's categories, one per layer. */
extern WzpLogCategory wzp_cat_quic;     /* endpoint, connections, ngtcp2 */
extern WzpLogCategory wzp_cat_tls;      /* GnuTLS, certificates, pinning */
extern WzpLogCategory wzp_cat_identity; /* keys and fingerprints */
extern WzpLogCategory wzp_cat_signal;   /* signaling client and codec */
extern WzpLogCategory wzp_cat_relay;    /* relay daemon object */
extern WzpLogCategory wzp_cat_call;     /* the call object */
extern WzpLogCategory wzp_cat_path;     /* candidates, race, failover */
extern WzpLogCategory wzp_cat_media;    /* media packets, E2E crypto */
extern WzpLogCategory wzp_cat_jitter;   /* jitter buffer */

void wzp_log_write (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, gpointer object,
    const char *format, ...) G_GNUC_PRINTF (7, 8);

#define WZP_LOG_ENABLED(cat, level) \
  G_UNLIKELY ((gint) (level) <= g_atomic_int_get (&(cat).threshold))

#define WZP_CAT_LEVEL_LOG(cat, level, object, ...) G_STMT_START {         \
  if (WZP_LOG_ENABLED (cat, level))                                       \
    wzp_log_write (&(cat), (level), __FILE__, G_STRFUNC, __LINE__,        \
        (gpointer) (object), __VA_ARGS__);                                \
} G_STMT_END

/* Each .c file defines WZP_CAT_DEFAULT to its category, as GStreamer code
 * defines GST_CAT_DEFAULT. */
#define WZP_ERROR_OBJECT(obj, ...)   WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_ERROR, obj, __VA_ARGS__)
#define WZP_WARNING_OBJECT(obj, ...) WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_WARNING, obj, __VA_ARGS__)
#define WZP_FIXME_OBJECT(obj, ...)   WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_FIXME, obj, __VA_ARGS__)
#define WZP_INFO_OBJECT(obj, ...)    WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_INFO, obj, __VA_ARGS__)
#define WZP_DEBUG_OBJECT(obj, ...)   WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_DEBUG, obj, __VA_ARGS__)
#define WZP_LOG_OBJECT(obj, ...)     WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_LOG, obj, __VA_ARGS__)
#define WZP_TRACE_OBJECT(obj, ...)   WZP_CAT_LEVEL_LOG (WZP_CAT_DEFAULT, WZP_LOG_TRACE, obj, __VA_ARGS__)

#define WZP_ERROR(...)   WZP_ERROR_OBJECT (NULL, __VA_ARGS__)
#define WZP_WARNING(...) WZP_WARNING_OBJECT (NULL, __VA_ARGS__)
#define WZP_FIXME(...)   WZP_FIXME_OBJECT (NULL, __VA_ARGS__)
#define WZP_INFO(...)    WZP_INFO_OBJECT (NULL, __VA_ARGS__)
#define WZP_DEBUG(...)   WZP_DEBUG_OBJECT (NULL, __VA_ARGS__)
#define WZP_LOG(...)     WZP_LOG_OBJECT (NULL, __VA_ARGS__)
#define WZP_TRACE(...)   WZP_TRACE_OBJECT (NULL, __VA_ARGS__)

G_END_DECLS
