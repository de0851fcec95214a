/* wzp — debug logging with one category per layer
 *
 * libwzp knows nothing of GStreamer, yet `GST_DEBUG=wzp*:6` must show what
 * the library does.  So the library logs through categories of its own that
 * mirror GStreamer's levels one to one; the GStreamer plugin installs a
 * handler that forwards every message to a GstDebugCategory of the same
 * name.  Without GStreamer, the environment variable WZP_DEBUG takes the
 * same syntax as GST_DEBUG ("wzp*:6,wzpquic:4") and messages go to stderr.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib-object.h>
#include "wzp-version.h"

G_BEGIN_DECLS

/**
 * WzpLogLevel:
 *
 * The same numbers as #GstDebugLevel, so a threshold means the same thing
 * in WZP_DEBUG and in GST_DEBUG.
 */
typedef enum
{
  WZP_LOG_NONE = 0,
  WZP_LOG_ERROR = 1,
  WZP_LOG_WARNING = 2,
  WZP_LOG_FIXME = 3,
  WZP_LOG_INFO = 4,
  WZP_LOG_DEBUG = 5,
  WZP_LOG_LOG = 6,
  WZP_LOG_TRACE = 7,
} WzpLogLevel;

/**
 * WzpLogCategory:
 * @name: the category name, e.g. "wzpquic"
 * @description: one line for humans
 * @threshold: messages at or below this level are written
 *
 * A category per layer of the library.  The set is fixed: see
 * wzp_log_get_categories().
 */
typedef struct
{
  const char *name;
  const char *description;
  gint threshold;
} WzpLogCategory;

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

/**
 * WzpLogHandler:
 *
 * Receives every message that passed its category's threshold.  @object
 * may be %NULL.  Called from whatever thread logged; must be thread-safe.
 */
typedef void (*WzpLogHandler) (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, GObject * object,
    const char *message, gpointer user_data);

WZP_API
void wzp_log_set_handler (WzpLogHandler handler, gpointer user_data);

WZP_API
void wzp_log_set_threshold (const char *pattern, WzpLogLevel level);

WZP_API
void wzp_log_parse_spec (const char *spec);

WZP_API
WzpLogCategory **wzp_log_get_categories (guint * n_categories);

WZP_API
const char *wzp_log_level_name (WzpLogLevel level);

WZP_API
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

WZP_API
gboolean wzp_log_limit_pass (WzpLogLimit * limit, guint64 now_ns,
    guint64 * suppressed, guint64 * since_ns);

WZP_API
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
