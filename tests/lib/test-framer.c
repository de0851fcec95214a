/* Tests for the message framer: frames survive any chunking, oversize
 * frames are skipped without losing the frames around them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include "wzp-framer.h"

typedef struct
{
  GPtrArray *frames;
  GArray *oversize;
} Sink;

static void
on_frame (const guint8 * data, gsize len, gpointer user_data)
{
  Sink *s = user_data;

  g_ptr_array_add (s->frames, g_bytes_new (data, len));
}

static void
on_oversize (guint64 len, gpointer user_data)
{
  Sink *s = user_data;

  g_array_append_val (s->oversize, len);
}

static void
sink_init (Sink * s)
{
  s->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  s->oversize = g_array_new (FALSE, FALSE, sizeof (guint64));
}

static void
sink_clear (Sink * s)
{
  g_ptr_array_unref (s->frames);
  g_array_unref (s->oversize);
}

static void
append_frame (GByteArray * stream, const char *text, gsize len)
{
  guint8 hdr[WZP_FRAME_HEADER_LEN];

  wzp_frame_write_header (hdr, len);
  g_byte_array_append (stream, hdr, sizeof hdr);
  if (len)
    g_byte_array_append (stream, (const guint8 *) text, len);
}

static void
test_any_chunking (void)
{
  g_autoptr (GByteArray) stream = g_byte_array_new ();
  g_autofree char *big = g_strnfill (3000, 'x');
  const char *texts[] = { "hello", "", "world!", NULL };

  for (guint i = 0; texts[i]; i++)
    append_frame (stream, texts[i], strlen (texts[i]));
  append_frame (stream, big, 3000);

  /* Every chunk size from 1 byte to the whole stream gives the same
   * frames. */
  for (gsize chunk = 1; chunk <= stream->len; chunk += (chunk < 16 ? 1 : 97)) {
    Sink s;
    g_autoptr (WzpFramer) f = wzp_framer_new (4096);

    sink_init (&s);
    for (gsize off = 0; off < stream->len; off += chunk)
      wzp_framer_push (f, stream->data + off, MIN (chunk, stream->len - off),
          on_frame, on_oversize, &s);
    g_assert_cmpuint (s.frames->len, ==, 4);
    g_assert_cmpuint (s.oversize->len, ==, 0);
    for (guint i = 0; texts[i]; i++)
      g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (s.frames, i),
              NULL), g_bytes_get_size (g_ptr_array_index (s.frames, i)),
          texts[i], strlen (texts[i]));
    g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (s.frames, 3), NULL),
        3000, big, 3000);
    g_assert_cmpuint (wzp_framer_get_buffered (f), ==, 0);
    sink_clear (&s);
  }
}

static void
test_oversize_skipped (void)
{
  g_autoptr (GByteArray) stream = g_byte_array_new ();
  g_autofree char *big = g_strnfill (10000, 'y');
  g_autoptr (WzpFramer) f = wzp_framer_new (100);
  Sink s;

  sink_init (&s);
  append_frame (stream, "before", 6);
  append_frame (stream, big, 10000);
  append_frame (stream, "after", 5);
  for (gsize off = 0; off < stream->len; off += 333)
    wzp_framer_push (f, stream->data + off, MIN (333, stream->len - off),
        on_frame, on_oversize, &s);

  g_assert_cmpuint (s.oversize->len, ==, 1);
  g_assert_cmpuint (g_array_index (s.oversize, guint64, 0), ==, 10000);
  g_assert_cmpuint (s.frames->len, ==, 2);
  g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (s.frames, 1), NULL),
      5, "after", 5);
  /* Skipping buffers nothing: memory stays bounded by the limit. */
  g_assert_cmpuint (wzp_framer_get_buffered (f), ==, 0);
  sink_clear (&s);
}

static void
test_huge_declared_length (void)
{
  guint8 hdr[4] = { 0xff, 0xff, 0xff, 0xff };
  guint8 junk[1000] = { 0 };
  g_autoptr (WzpFramer) f = wzp_framer_new (65536);
  Sink s;

  sink_init (&s);
  wzp_framer_push (f, hdr, 4, on_frame, on_oversize, &s);
  for (guint i = 0; i < 100; i++)
    wzp_framer_push (f, junk, sizeof junk, on_frame, on_oversize, &s);
  g_assert_cmpuint (s.oversize->len, ==, 1);
  g_assert_cmpuint (s.frames->len, ==, 0);
  g_assert_cmpuint (wzp_framer_get_buffered (f), ==, 0);
  sink_clear (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/framer/any-chunking", test_any_chunking);
  g_test_add_func ("/framer/oversize-skipped", test_oversize_skipped);
  g_test_add_func ("/framer/huge-declared-length", test_huge_declared_length);
  return g_test_run ();
}
