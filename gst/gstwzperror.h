/* gstwzperror.h — an element error with the place it comes from
 *
 * GST_ELEMENT_ERROR records the file, function and line it is written
 * at.  The wzp elements decide what to post in one place (a settings
 * check, a failed call), so they carry the error from where its cause is
 * known to where it is posted: a settings check records its own line, a
 * failed call the line in libwzp that failed it (what gst-launch prints
 * as the debug location).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct
{
  GQuark domain;
  gint code;
  gchar *text;                  /* for the user */
  gchar *debug;                 /* the detail (nullable) */
  const gchar *file;
  const gchar *function;
  gint line;
} GstWzpError;

GstWzpError *gst_wzp_error_new_full (GQuark domain, gint code,
    const gchar * file, const gchar * function, gint line, gchar * debug,
    const gchar * format, ...) G_GNUC_PRINTF (7, 8);

/* A GST_RESOURCE_ERROR at this line; @debug (nullable) is taken. */
#define gst_wzp_error_new(code, debug, ...) \
  gst_wzp_error_new_full (GST_RESOURCE_ERROR, (code), __FILE__, \
      GST_FUNCTION, __LINE__, (debug), __VA_ARGS__)

void gst_wzp_error_free (GstWzpError * error);
GstWzpError *gst_wzp_error_copy (const GstWzpError * error);

/* Posts it on @element as an ERROR message with its own location. */
void gst_wzp_error_post (GstElement * element, const GstWzpError * error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstWzpError, gst_wzp_error_free)

G_END_DECLS
