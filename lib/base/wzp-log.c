/* wzp — debug logging with one category per layer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-log-private.h"

#include <stdio.h>
#include <string.h>

/* Thresholds start at WARNING: a daemon or an app that embeds the library
 * sees what went wrong without asking, and nothing else. */
#define DEFINE_CATEGORY(var, cname, desc) \
  WzpLogCategory var = { cname, desc, WZP_LOG_WARNING }

DEFINE_CATEGORY (wzp_cat_quic, "wzpquic", "QUIC endpoint and connections");
DEFINE_CATEGORY (wzp_cat_tls, "wzptls", "TLS handshake and peer pinning");
DEFINE_CATEGORY (wzp_cat_identity, "wzpidentity", "identity keys");
DEFINE_CATEGORY (wzp_cat_signal, "wzpsignal", "signaling client and codec");
DEFINE_CATEGORY (wzp_cat_relay, "wzprelay", "relay");
DEFINE_CATEGORY (wzp_cat_call, "wzpcall", "call object");
DEFINE_CATEGORY (wzp_cat_path, "wzppath", "candidates, race and failover");
DEFINE_CATEGORY (wzp_cat_media, "wzpmedia", "media packets and E2E crypto");
DEFINE_CATEGORY (wzp_cat_jitter, "wzpjitter", "jitter buffer");

static WzpLogCategory *categories[] = {
  &wzp_cat_quic, &wzp_cat_tls, &wzp_cat_identity, &wzp_cat_signal,
  &wzp_cat_relay, &wzp_cat_call, &wzp_cat_path, &wzp_cat_media,
  &wzp_cat_jitter,
};

static GMutex handler_lock;
static WzpLogHandler log_handler;
static gpointer log_handler_data;
static gint64 start_time;

static const char *level_names[] = {
  "NONE", "ERROR", "WARN", "FIXME", "INFO", "DEBUG", "LOG", "TRACE",
};

/**
 * wzp_log_level_name:
 * @level: a level
 *
 * Returns: "ERROR", "WARN", "FIXME", "INFO", "DEBUG", "LOG" or "TRACE"
 *   (as GStreamer writes them), "NONE", or "?"
 */
const char *
wzp_log_level_name (WzpLogLevel level)
{
  if (level < 0 || level >= (gint) G_N_ELEMENTS (level_names))
    return "?";
  return level_names[level];
}

/**
 * wzp_log_get_categories: (skip)
 * @n_categories: (out): how many
 *
 * The library's categories, one per layer, to map them to a logging
 * system's own (the GStreamer plugin makes a GstDebugCategory of each).
 *
 * Returns: (array length=n_categories) (transfer none): the categories
 */
WzpLogCategory **
wzp_log_get_categories (guint * n_categories)
{
  if (n_categories)
    *n_categories = G_N_ELEMENTS (categories);
  return categories;
}

/**
 * wzp_log_set_threshold:
 * @pattern: a glob matched against category names ("wzp*", "wzpquic")
 * @level: the new threshold
 */
void
wzp_log_set_threshold (const char *pattern, WzpLogLevel level)
{
  for (guint i = 0; i < G_N_ELEMENTS (categories); i++) {
    if (g_pattern_match_simple (pattern, categories[i]->name))
      g_atomic_int_set (&categories[i]->threshold, level);
  }
}

static gboolean
parse_level (const char *s, WzpLogLevel * out)
{
  char *end = NULL;
  gint64 n;

  if (*s == '\0')
    return FALSE;
  n = g_ascii_strtoll (s, &end, 10);
  if (end && *end == '\0') {
    *out = (WzpLogLevel) CLAMP (n, WZP_LOG_NONE, WZP_LOG_TRACE);
    return TRUE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (level_names); i++) {
    if (g_ascii_strcasecmp (s, level_names[i]) == 0) {
      *out = (WzpLogLevel) i;
      return TRUE;
    }
  }
  if (g_ascii_strcasecmp (s, "WARNING") == 0) {
    *out = WZP_LOG_WARNING;
    return TRUE;
  }
  return FALSE;
}

/**
 * wzp_log_parse_spec:
 * @spec: (nullable): "LEVEL" or "PATTERN:LEVEL[,PATTERN:LEVEL…]", as in
 *   GST_DEBUG (WZP_DEBUG is read at start with this)
 *
 * Entries apply in order, so later ones override earlier ones.
 */
void
wzp_log_parse_spec (const char *spec)
{
  g_auto (GStrv) entries = NULL;

  if (spec == NULL)
    return;
  entries = g_strsplit (spec, ",", -1);
  for (guint i = 0; entries[i]; i++) {
    char *entry = g_strstrip (entries[i]);
    char *colon = strrchr (entry, ':');
    WzpLogLevel level;

    if (colon == NULL) {
      if (parse_level (entry, &level))
        wzp_log_set_threshold ("*", level);
      continue;
    }
    *colon = '\0';
    if (parse_level (colon + 1, &level))
      wzp_log_set_threshold (g_strstrip (entry), level);
  }
}

/* Reads WZP_DEBUG once, before main() runs, so the very first message of
 * any layer already honours it. */
static void wzp_log_init_from_env (void) __attribute__((constructor));

static void
wzp_log_init_from_env (void)
{
  start_time = g_get_monotonic_time ();
  wzp_log_parse_spec (g_getenv ("WZP_DEBUG"));
}

/**
 * wzp_log_set_handler:
 * @handler: (nullable) (scope forever): where messages go; %NULL restores
 *   stderr
 * @user_data: (closure handler): for @handler
 *
 * Routes every message that passes its category's threshold to
 * @handler, for the rest of the process (one handler at a time).  The
 * GStreamer plugin uses this to route library messages into
 * GstDebugCategories of the same names.
 */
void
wzp_log_set_handler (WzpLogHandler handler, gpointer user_data)
{
  g_mutex_lock (&handler_lock);
  log_handler = handler;
  log_handler_data = user_data;
  g_mutex_unlock (&handler_lock);
}

static void
default_handler (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, GObject * object,
    const char *message)
{
  gint64 t = g_get_monotonic_time () - start_time;
  const char *base = strrchr (file, '/');
  char objname[64] = "";

  if (object)
    g_snprintf (objname, sizeof objname, "<%s@%p>",
        G_OBJECT_TYPE_NAME (object), (void *) object);
  /* One fprintf per line keeps lines whole across threads. */
  fprintf (stderr, "%u:%02u:%02u.%06u %5s %-11s %s:%d:%s:%s %s\n",
      (guint) (t / G_USEC_PER_SEC / 3600),
      (guint) (t / G_USEC_PER_SEC / 60 % 60),
      (guint) (t / G_USEC_PER_SEC % 60), (guint) (t % G_USEC_PER_SEC),
      wzp_log_level_name (level), category->name, base ? base + 1 : file,
      line, function, objname, message);
}

void
wzp_log_write (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, gpointer object,
    const char *format, ...)
{
  g_autofree char *message = NULL;
  WzpLogHandler handler;
  gpointer data;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_mutex_lock (&handler_lock);
  handler = log_handler;
  data = log_handler_data;
  g_mutex_unlock (&handler_lock);

  if (object && !G_IS_OBJECT (object))
    object = NULL;
  if (handler)
    handler (category, level, file, function, line, object, message, data);
  else
    default_handler (category, level, file, function, line, object, message);
}

/* --- rate-limited messages ------------------------------------------- */

/**
 * wzp_log_limit_pass:
 * @suppressed: (out): messages swallowed since the last one written
 * @since_ns: (out): how long ago that was
 *
 * Returns: %TRUE when a message may be written now
 */
gboolean
wzp_log_limit_pass (WzpLogLimit * limit, guint64 now_ns, guint64 * suppressed,
    guint64 * since_ns)
{
  if (limit->written && now_ns < limit->last_written + limit->interval_ns) {
    limit->suppressed++;
    return FALSE;
  }
  *suppressed = limit->suppressed;
  *since_ns = limit->written ? now_ns - limit->last_written : 0;
  limit->suppressed = 0;
  limit->last_written = now_ns;
  limit->written = TRUE;
  return TRUE;
}

/* 52341 -> "52,341": counts in a flood are large. */
static void
format_count (char buf[32], guint64 n)
{
  char digits[24];
  guint len = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, n);
  guint o = 0;

  for (guint i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

void
wzp_log_write_limited (WzpLogCategory * category, WzpLogLevel level,
    const char *file, const char *function, int line, gpointer object,
    WzpLogLimit * limit, guint64 now_ns, const char *format, ...)
{
  g_autofree char *message = NULL;
  guint64 suppressed, since;
  va_list args;

  if (!wzp_log_limit_pass (limit, now_ns, &suppressed, &since))
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (suppressed == 0)
    wzp_log_write (category, level, file, function, line, object, "%s",
        message);
  else {
    char count[32];

    format_count (count, suppressed);
    wzp_log_write (category, level, file, function, line, object,
        "%s (\u2026 %s more in the last %" G_GUINT64_FORMAT " s)", message,
        count, (since + G_GUINT64_CONSTANT (500000000)) / 1000000000);
  }
}
