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

/* --- warnings that survive a flood ------------------------------------ */

/**
 * WzpLogLimit:
 *
 * Rate limit for one repeated message (a refusal logged per packet would
 * otherwise write gigabytes during an attack).  The first occurrence is
 * written; the others within @interval_ns of the last written one are
 * only counted, and the next one written after that carries the count:
 * "... (52341 more in the last 10 s)".  Counters in metrics keep the
 * exact totals; a count still pending when the flood stops is not
 * written.  Initialise with WZP_LOG_LIMIT_INIT(); not thread-safe (one per
 * object, used from its context).
 */
typedef struct
{
  guint64 interval_ns;
  guint64 last_written;
  guint64 suppressed;
  gboolean written;
} WzpLogLimit;

#define WZP_LOG_LIMIT_INIT(interval_ns) { (interval_ns), 0, 0, FALSE }
/* What the library's own rate-limited warnings use. */
#define WZP_LOG_LIMIT_INTERVAL (10 * G_GUINT64_CONSTANT (1000000000))

gboolean wzp_log_limit_pass (WzpLogLimit * limit, guint64 now_ns,
    guint64 * suppressed, guint64 * since_ns);

void wzp_log_write_limited (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, gpointer object,
    WzpLogLimit * limit, guint64 now_ns, const char *format, ...)
    G_GNUC_PRINTF (9, 10);

#define WZP_CAT_LEVEL_LOG_LIMITED(cat, level, object, limit, now, ...)     \
G_STMT_START {                                                            \
  if (WZP_LOG_ENABLED (cat, level))                                       \
    wzp_log_write_limited (&(cat), (level), __FILE__, G_STRFUNC, __LINE__,\
        (gpointer) (object), (limit), (now), __VA_ARGS__);                \
} G_STMT_END

/* WZP_WARNING_LIMITED (self, &self->full_limit, now, "table full: %u", n) */
#define WZP_WARNING_LIMITED(obj, limit, now, ...) \
  WZP_CAT_LEVEL_LOG_LIMITED (WZP_CAT_DEFAULT, WZP_LOG_WARNING, obj, limit, now, __VA_ARGS__)
#define WZP_INFO_LIMITED(obj, limit, now, ...) \
  WZP_CAT_LEVEL_LOG_LIMITED (WZP_CAT_DEFAULT, WZP_LOG_INFO, obj, limit, now, __VA_ARGS__)

G_END_DECLS
