/* Fuzz target: the stream framer.
 *
 * Input: one byte picks the frame limit, then chunks, each a length byte
 * followed by that many stream bytes.  The chunks go to one framer as
 * they come and, concatenated, to a second framer in one push; both must
 * report the same frames and oversize events, and neither may buffer more
 * than a header plus the limit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "wzp-framer.h"

typedef struct
{
  GByteArray *log;              /* events, serialised */
  gsize max_frame_len;
  guint frames;
} Events;

static void
on_frame (const guint8 * frame, gsize len, gpointer user_data)
{
  Events *ev = user_data;
  guint8 tag = 'F';
  guint32 l = (guint32) len;

  FUZZ_CHECK (len <= ev->max_frame_len);
  FUZZ_CHECK (frame != NULL);
  g_byte_array_append (ev->log, &tag, 1);
  g_byte_array_append (ev->log, (const guint8 *) &l, sizeof l);
  g_byte_array_append (ev->log, frame, len);
  ev->frames++;
}

static void
on_oversize (guint64 declared_len, gpointer user_data)
{
  Events *ev = user_data;
  guint8 tag = 'O';

  FUZZ_CHECK (declared_len > ev->max_frame_len);
  FUZZ_CHECK (declared_len <= G_MAXUINT32);
  g_byte_array_append (ev->log, &tag, 1);
  g_byte_array_append (ev->log, (const guint8 *) &declared_len,
      sizeof declared_len);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_glib_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static const gsize limits[] = { 0, 1, 4, 16, 100, 1000, 65536, G_MAXSIZE };
  FuzzInput in;
  gsize max_frame_len;
  WzpFramer *chunked, *whole;
  GByteArray *stream = g_byte_array_new ();
  Events a = { 0 }, b = { 0 };

  fuzz_input_init (&in, data, size);
  max_frame_len = limits[fuzz_u8 (&in) % G_N_ELEMENTS (limits)];
  a.log = g_byte_array_new ();
  b.log = g_byte_array_new ();
  a.max_frame_len = b.max_frame_len = max_frame_len;
  chunked = wzp_framer_new (max_frame_len);
  whole = wzp_framer_new (max_frame_len);

  while (in.left > 0) {
    const guint8 *chunk;
    gsize n = fuzz_bytes (&in, fuzz_u8 (&in), &chunk);

    /* Empty pushes are allowed, and a NULL pointer with them. */
    wzp_framer_push (chunked, n ? chunk : NULL, n, on_frame, on_oversize, &a);
    FUZZ_CHECK (wzp_framer_get_buffered (chunked) <=
        WZP_FRAME_HEADER_LEN + MIN (max_frame_len, G_MAXUINT32));
    g_byte_array_append (stream, chunk, n);
  }
  wzp_framer_push (whole, stream->data, stream->len, on_frame, on_oversize, &b);

  FUZZ_CHECK (a.frames == b.frames);
  FUZZ_CHECK (a.log->len == b.log->len);
  /* An empty GByteArray's data may be NULL, which memcmp must not get. */
  FUZZ_CHECK (a.log->len == 0 ||
      memcmp (a.log->data, b.log->data, a.log->len) == 0);
  FUZZ_CHECK (wzp_framer_get_buffered (chunked) ==
      wzp_framer_get_buffered (whole));

  wzp_framer_free (chunked);
  wzp_framer_free (whole);
  g_byte_array_unref (a.log);
  g_byte_array_unref (b.log);
  g_byte_array_unref (stream);
  return 0;
}
