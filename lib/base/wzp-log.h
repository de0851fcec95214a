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
 * @WZP_LOG_NONE: nothing
 * @WZP_LOG_ERROR: errors
 * @WZP_LOG_WARNING: warnings
 * @WZP_LOG_FIXME: known shortcomings
 * @WZP_LOG_INFO: what happens, once per event
 * @WZP_LOG_DEBUG: details
 * @WZP_LOG_LOG: per packet or frame
 * @WZP_LOG_TRACE: more
 *
 * The same numbers as GStreamer's GstDebugLevel, so a threshold means the
 * same thing in WZP_DEBUG and in GST_DEBUG.
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

/**
 * WzpLogHandler:
 * @category: the message's category
 * @level: its level
 * @file: the source file that logged it
 * @function: the function
 * @line: the line
 * @object: (nullable): the object it is about
 * @message: the text
 * @user_data: (closure): what wzp_log_set_handler() was given
 *
 * Receives every message that passed its category's threshold.  Called
 * from whatever thread logged; must be thread-safe.
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

G_END_DECLS
