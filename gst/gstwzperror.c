/* gstwzperror.c — an element error with the place it comes from
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwzperror.h"

GstWzpError *
gst_wzp_error_new_full (GQuark domain, gint code, const gchar * file,
    const gchar * function, gint line, gchar * debug, const gchar * format, ...)
{
  GstWzpError *e = g_new0 (GstWzpError, 1);
  va_list args;

  e->domain = domain;
  e->code = code;
  e->file = file;
  e->function = function;
  e->line = line;
  e->debug = debug;
  va_start (args, format);
  e->text = g_strdup_vprintf (format, args);
  va_end (args);
  return e;
}

void
gst_wzp_error_free (GstWzpError * e)
{
  if (e == NULL)
    return;
  g_free (e->text);
  g_free (e->debug);
  g_free (e);
}

GstWzpError *
gst_wzp_error_copy (const GstWzpError * e)
{
  GstWzpError *c = g_memdup2 (e, sizeof *e);

  c->text = g_strdup (e->text);
  c->debug = g_strdup (e->debug);
  return c;
}

void
gst_wzp_error_post (GstElement * element, const GstWzpError * e)
{
  gst_element_message_full (element, GST_MESSAGE_ERROR, e->domain, e->code,
      g_strdup (e->text), g_strdup (e->debug), e->file, e->function, e->line);
}
