/* wzp — length-prefixed message framing on a QUIC stream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-framer.h"

#include <string.h>

struct _WzpFramer
{
  gsize max_frame_len;
  guint8 header[WZP_FRAME_HEADER_LEN];
  guint header_have;            /* bytes of the current header received */
  guint64 body_len;             /* length of the current frame body */
  GByteArray *body;             /* body bytes so far (not when skipping) */
  guint64 skip_left;            /* bytes of an oversize body still to skip */
  gboolean in_body;
};

WzpFramer *
wzp_framer_new (gsize max_frame_len)
{
  WzpFramer *f = g_new0 (WzpFramer, 1);

  f->max_frame_len = max_frame_len;
  f->body = g_byte_array_new ();
  return f;
}

void
wzp_framer_free (WzpFramer * f)
{
  if (f == NULL)
    return;
  g_byte_array_unref (f->body);
  g_free (f);
}

gsize
wzp_framer_get_buffered (WzpFramer * f)
{
  return f->header_have + f->body->len;
}

void
wzp_frame_write_header (guint8 out[WZP_FRAME_HEADER_LEN], guint32 len)
{
  out[0] = len >> 24;
  out[1] = len >> 16;
  out[2] = len >> 8;
  out[3] = len;
}

void
wzp_framer_push (WzpFramer * f, const guint8 * data, gsize len,
    WzpFrameFunc on_frame, WzpFrameOversizeFunc on_oversize, gpointer user_data)
{
  while (len > 0) {
    if (f->skip_left > 0) {
      gsize n = MIN (len, f->skip_left);
      f->skip_left -= n;
      data += n;
      len -= n;
      continue;
    }

    if (!f->in_body) {
      gsize n = MIN (len, WZP_FRAME_HEADER_LEN - f->header_have);
      memcpy (f->header + f->header_have, data, n);
      f->header_have += n;
      data += n;
      len -= n;
      if (f->header_have < WZP_FRAME_HEADER_LEN)
        break;
      f->header_have = 0;
      f->body_len = ((guint64) f->header[0] << 24) | (f->header[1] << 16) |
          (f->header[2] << 8) | f->header[3];
      if (f->body_len > f->max_frame_len) {
        f->skip_left = f->body_len;
        if (on_oversize)
          on_oversize (f->body_len, user_data);
        continue;
      }
      if (f->body_len == 0) {
        /* An empty frame carries nothing; deliver it so the layer above
         * can reject it as an empty message. */
        on_frame ((const guint8 *) "", 0, user_data);
        continue;
      }
      f->in_body = TRUE;
      g_byte_array_set_size (f->body, 0);
    }

    /* Deliver straight from the input when the whole body is there, which
     * is the common case; copy only frames split across chunks. */
    if (f->body->len == 0 && len >= f->body_len) {
      gsize n = f->body_len;
      f->in_body = FALSE;
      on_frame (data, n, user_data);
      data += n;
      len -= n;
      continue;
    }
    {
      gsize n = MIN (len, f->body_len - f->body->len);
      g_byte_array_append (f->body, data, n);
      data += n;
      len -= n;
      if (f->body->len == f->body_len) {
        f->in_body = FALSE;
        on_frame (f->body->data, f->body->len, user_data);
        g_byte_array_set_size (f->body, 0);
      }
    }
  }
}
