/* gstwzpuri.c — the wzp:// URI scheme of wzpsrc and wzpsink
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstwzpuri.h"
#include "gstwzpsettings.h"

GST_DEBUG_CATEGORY_EXTERN (gst_wzp_call_debug);
#define GST_CAT_DEFAULT gst_wzp_call_debug

/* The query keys, in the order get_uri writes them. */
static const gchar *const uri_keys[] = {
  "identity", "peer", "room", "room-owner", "room-invite", "room-open",
  "session", "relay-fingerprint", "answer", "path-policy", "media-timeout",
  "latency", "max-latency", "wait-for-call", "mix", NULL,
};

static gboolean
is_uri_key (const gchar * key)
{
  return g_strv_contains (uri_keys, key);
}

static gboolean
parse_value (GParamSpec * pspec, const gchar * text, GValue * value,
    GError ** error)
{
  g_value_init (value, pspec->value_type);
  if (G_IS_PARAM_SPEC_STRING (pspec)) {
    g_value_set_string (value, text);
    return TRUE;
  }
  if (!gst_value_deserialize (value, text)
      || g_param_value_validate (pspec, value)) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "Invalid value \"%s\" for \"%s\"", text, pspec->name);
    g_value_unset (value);
    return FALSE;
  }
  return TRUE;
}

gboolean
gst_wzp_uri_to_properties (GObject * element, const gchar * uri,
    GError ** error)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (element);
  GstUri *parsed = NULL;
  GHashTable *query = NULL;
  GHashTableIter iter;
  gpointer key, val;
  GPtrArray *names = g_ptr_array_new ();
  GArray *values = g_array_new (FALSE, TRUE, sizeof (GValue));
  const gchar *host;
  guint port;
  gchar *relay = NULL;
  gchar *path = NULL;
  gboolean ok = FALSE;
  guint i;

  g_array_set_clear_func (values, (GDestroyNotify) g_value_unset);

  if (!uri || !gst_uri_has_protocol (uri, GST_WZP_URI_SCHEME)) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL,
        "Not a wzp:// URI: %s", uri ? uri : "(null)");
    goto out;
  }
  parsed = gst_uri_from_string (uri);
  host = parsed ? gst_uri_get_host (parsed) : NULL;
  if (!host || !*host) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "No relay host in URI %s: expected wzp://HOST:PORT?...", uri);
    goto out;
  }
  /* gst_uri_get_path() returns a new string each time. */
  path = gst_uri_get_path (parsed);
  if (path && strcmp (path, "") && strcmp (path, "/")) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "Unexpected path \"%s\" in URI %s: settings go in the query "
        "(wzp://HOST:PORT?peer=...)", path, uri);
    goto out;
  }
  port = gst_uri_get_port (parsed);
  if (port == GST_URI_NO_PORT)
    port = GST_WZP_DEFAULT_PORT;
  if (port == 0 || port > 65535) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        "Invalid relay port in URI %s", uri);
    goto out;
  }
  relay = strchr (host, ':') ? g_strdup_printf ("[%s]:%u", host, port)
      : g_strdup_printf ("%s:%u", host, port);

  /* Check every key and value before changing anything. */
  query = gst_uri_get_query_table (parsed);
  if (query) {
    g_hash_table_iter_init (&iter, query);
    while (g_hash_table_iter_next (&iter, &key, &val)) {
      GParamSpec *pspec;
      GValue v = G_VALUE_INIT;

      if (!is_uri_key (key)) {
        g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
            "Unknown parameter \"%s\" in URI %s", (gchar *) key, uri);
        goto out;
      }
      pspec = g_object_class_find_property (klass, key);
      if (!pspec) {
        GST_WARNING_OBJECT (element, "ignoring URI parameter %s: %s has no "
            "such property", (gchar *) key, G_OBJECT_TYPE_NAME (element));
        continue;
      }
      if (!val) {
        g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
            "Parameter \"%s\" has no value in URI %s", (gchar *) key, uri);
        goto out;
      }
      if (!parse_value (pspec, val, &v, error))
        goto out;
      g_ptr_array_add (names, key);
      g_array_append_val (values, v);
    }
  }

  /* Apply: defaults first, so the element matches the URI exactly. */
  for (i = 0; uri_keys[i]; i++) {
    GParamSpec *pspec = g_object_class_find_property (klass, uri_keys[i]);
    GValue v = G_VALUE_INIT;

    if (!pspec)
      continue;
    g_value_init (&v, pspec->value_type);
    g_param_value_set_default (pspec, &v);
    g_object_set_property (element, uri_keys[i], &v);
    g_value_unset (&v);
  }
  g_object_set (element, "relay", relay, NULL);
  for (i = 0; i < names->len; i++)
    g_object_set_property (element, g_ptr_array_index (names, i),
        &g_array_index (values, GValue, i));
  ok = TRUE;

out:
  g_free (path);
  g_free (relay);
  g_ptr_array_unref (names);
  g_array_unref (values);
  if (query)
    g_hash_table_unref (query);
  if (parsed)
    gst_uri_unref (parsed);
  return ok;
}

static gchar *
value_to_string (const GValue * value)
{
  if (G_VALUE_HOLDS_STRING (value))
    return g_value_dup_string (value);
  if (G_VALUE_HOLDS_ENUM (value)) {
    GEnumClass *klass = g_type_class_ref (G_VALUE_TYPE (value));
    GEnumValue *v = g_enum_get_value (klass, g_value_get_enum (value));
    gchar *nick = g_strdup (v ? v->value_nick : NULL);

    g_type_class_unref (klass);
    return nick;
  }
  if (G_VALUE_HOLDS_BOOLEAN (value))
    return g_strdup (g_value_get_boolean (value) ? "true" : "false");
  return gst_value_serialize (value);
}

gchar *
gst_wzp_uri_from_properties (GObject * element)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (element);
  gchar *relay = NULL;
  GString *uri;
  gchar sep = '?';
  guint i;

  g_object_get (element, "relay", &relay, NULL);
  if (!relay)
    return NULL;

  /* The relay is HOST:PORT already ([v6]:PORT for IPv6).  Values are
   * percent-encoded; '/' and ':' are fine in a query and stay readable. */
  uri = g_string_new (GST_WZP_URI_SCHEME "://");
  g_string_append (uri, relay);
  for (i = 0; uri_keys[i]; i++) {
    GParamSpec *pspec = g_object_class_find_property (klass, uri_keys[i]);
    GValue v = G_VALUE_INIT;

    if (!pspec)
      continue;
    g_value_init (&v, pspec->value_type);
    g_object_get_property (element, uri_keys[i], &v);
    if (!g_param_value_defaults (pspec, &v)) {
      gchar *text = value_to_string (&v);

      if (text) {
        g_string_append_printf (uri, "%c%s=", sep, uri_keys[i]);
        g_string_append_uri_escaped (uri, text, "/:", FALSE);
        sep = '&';
      }
      g_free (text);
    }
    g_value_unset (&v);
  }
  g_free (relay);
  return g_string_free (uri, FALSE);
}
