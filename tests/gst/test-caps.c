/* test-caps.c — what wzpsink accepts and what wzpsrc outputs
 *
 * wzpsink must take opusenc's output at every rate opusenc encodes from
 * (8, 12, 16, 24, 48 kHz), mono and stereo; wzpsrc's caps (with their
 * stream headers) must be accepted by opusdec and by oggmux at each of
 * those rates and channel counts, negotiation must follow what
 * downstream asks for, and an Ogg file written from them must decode
 * again.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "gstwzpcaps.h"

#define FRAME_NS (20 * GST_MSECOND)
#define FRAME_SAMPLES 960

static GstCaps *
named_template_caps (const gchar * factory, GstPadDirection dir,
    const gchar * name)
{
  GstElementFactory *f = gst_element_factory_find (factory);
  const GList *l;
  GstCaps *caps = NULL;

  fail_unless (f != NULL, "no %s", factory);
  for (l = gst_element_factory_get_static_pad_templates (f); l; l = l->next) {
    GstStaticPadTemplate *t = l->data;

    if (t->direction == dir && (!name || !strcmp (t->name_template, name)))
      caps = gst_static_caps_get (&t->static_caps);
  }
  gst_object_unref (f);
  return caps;
}

static GstCaps *
template_caps (const gchar * factory, GstPadDirection dir)
{
  return named_template_caps (factory, dir, NULL);
}

static const gint rates[] = { 8000, 12000, 16000, 24000, 48000 };

/* Encodes @n 20 ms frames of a tone at @rate with opusenc; returns the
 * buffers and the caps opusenc chose. */
static GList *
encode_frames_at (gint rate, gint channels, guint n, GstCaps ** caps_out)
{
  GstHarness *h = gst_harness_new ("opusenc");
  GList *frames = NULL;
  gchar *caps;
  guint i, got = 0;

  caps = g_strdup_printf ("audio/x-raw, format=S16LE, rate=%d, "
      "channels=%d, layout=interleaved", rate, channels);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);

  for (i = 0; i < n + 2; i++) {
    guint samples = rate / 50;
    gsize size = samples * channels * 2;
    GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);
    GstMapInfo map;
    guint s;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (s = 0; s < samples * (guint) channels; s++)
      ((gint16 *) map.data)[s] = (gint16) (8000 * sin (2 * G_PI * 440 *
              (i * samples + s / channels) / (gdouble) rate));
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = i * FRAME_NS;
    GST_BUFFER_DURATION (buf) = FRAME_NS;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  while (got < n) {
    GstBuffer *out = gst_harness_try_pull (h);

    if (!out)
      break;
    frames = g_list_append (frames, out);
    got++;
  }
  fail_unless_equals_int (got, n);
  *caps_out = gst_pad_get_current_caps (h->sinkpad);
  gst_harness_teardown (h);
  return frames;
}

static GList *
encode_frames (gint channels, guint n, GstCaps ** caps_out)
{
  return encode_frames_at (48000, channels, n, caps_out);
}

GST_START_TEST (test_sink_accepts_opusenc)
{
  GstCaps *tmpl = template_caps ("wzpsink", GST_PAD_SINK);

  /* Every rate opusenc encodes from, mono and stereo: opusenc's output
   * caps say the input rate. */
  for (guint r = 0; r < G_N_ELEMENTS (rates); r++) {
    for (gint channels = 1; channels <= 2; channels++) {
      GstCaps *caps = NULL;
      GList *frames = encode_frames_at (rates[r], channels, 3, &caps);

      GST_INFO ("opusenc caps %" GST_PTR_FORMAT, caps);
      fail_unless (gst_caps_can_intersect (caps, tmpl),
          "wzpsink refuses %" GST_PTR_FORMAT, caps);
      gst_caps_unref (caps);
      g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
    }
  }
  gst_caps_unref (tmpl);
}

GST_END_TEST;

GST_START_TEST (test_src_caps)
{
  GstCaps *tmpl = template_caps ("wzpsrc", GST_PAD_SRC);
  GstCaps *room_tmpl = named_template_caps ("wzproomsrc", GST_PAD_SRC,
      "src_%s");
  GstCaps *dec = template_caps ("opusdec", GST_PAD_SINK);

  for (guint r = 0; r < G_N_ELEMENTS (rates); r++) {
    for (gint channels = 1; channels <= 2; channels++) {
      GstCaps *caps = gst_wzp_opus_caps_new (rates[r], channels);
      GstStructure *s = gst_caps_get_structure (caps, 0);
      gint v = 0;

      GST_INFO ("wzpsrc caps %" GST_PTR_FORMAT, caps);
      fail_unless (gst_caps_is_fixed (caps));
      fail_unless (gst_caps_is_subset (caps, tmpl));
      fail_unless (gst_caps_can_intersect (caps, room_tmpl));
      fail_unless (gst_caps_can_intersect (caps, dec));
      fail_unless (gst_structure_has_field (s, "streamheader"));
      fail_unless (gst_structure_get_int (s, "rate", &v));
      fail_unless_equals_int (v, rates[r]);
      fail_unless (gst_structure_get_int (s, "channels", &v));
      fail_unless_equals_int (v, channels);
      gst_caps_unref (caps);
    }
  }
  gst_caps_unref (tmpl);
  gst_caps_unref (room_tmpl);
  gst_caps_unref (dec);
}

GST_END_TEST;

/* The TOC byte says whether the sender encodes stereo. */
GST_START_TEST (test_packet_channels)
{
  for (gint channels = 1; channels <= 2; channels++) {
    GstCaps *caps = NULL;
    GList *frames = encode_frames_at (16000, channels, 3, &caps);

    for (GList * l = frames; l; l = l->next) {
      GstMapInfo map;

      gst_buffer_map (l->data, &map, GST_MAP_READ);
      fail_unless_equals_int (gst_wzp_opus_packet_channels (map.data,
              map.size), channels);
      gst_buffer_unmap (l->data, &map);
    }
    gst_caps_unref (caps);
    g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
  }
  fail_unless_equals_int (gst_wzp_opus_packet_channels (NULL, 0), 0);
}

GST_END_TEST;

/* Negotiates a pad of ours against a peer that accepts @peer_caps. */
static GstCaps *
negotiate_against (const gchar * peer_caps, gint channels)
{
  GstPadTemplate *src_t = gst_pad_template_new ("src", GST_PAD_SRC,
      GST_PAD_ALWAYS, gst_caps_from_string (GST_WZP_OPUS_CAPS));
  GstPadTemplate *sink_t = gst_pad_template_new ("sink", GST_PAD_SINK,
      GST_PAD_ALWAYS, gst_caps_from_string (peer_caps));
  GstPad *src = gst_pad_new_from_template (src_t, "src");
  GstPad *sink = gst_pad_new_from_template (sink_t, "sink");
  GstCaps *caps;

  fail_unless_equals_int (gst_pad_link_full (src, sink,
          GST_PAD_LINK_CHECK_NOTHING), GST_PAD_LINK_OK);
  caps = gst_wzp_opus_caps_negotiate (src, channels);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (src_t);
  gst_object_unref (sink_t);
  return caps;
}

static void
assert_caps (GstCaps * caps, gint rate, gint channels)
{
  GstStructure *s;
  gint v = 0;

  fail_unless (caps != NULL);
  GST_INFO ("negotiated %" GST_PTR_FORMAT, caps);
  s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_has_field (s, "streamheader"));
  fail_unless (gst_structure_get_int (s, "rate", &v));
  fail_unless_equals_int (v, rate);
  fail_unless (gst_structure_get_int (s, "channels", &v));
  fail_unless_equals_int (v, channels);
  gst_caps_unref (caps);
}

GST_START_TEST (test_negotiation)
{
  /* Left free: 48 kHz, the sender's channels. */
  assert_caps (negotiate_against ("audio/x-opus", 1), 48000, 1);
  assert_caps (negotiate_against ("audio/x-opus", 2), 48000, 2);
  /* Downstream decides when it cares. */
  assert_caps (negotiate_against ("audio/x-opus, rate=16000", 2), 16000, 2);
  assert_caps (negotiate_against ("audio/x-opus, rate=8000, channels=2", 1),
      8000, 2);
  assert_caps (negotiate_against ("audio/x-opus, rate=[ 20000, 30000 ], "
          "channels=1", 2), 24000, 1);
  /* Nothing we can output: NULL, and the element says so. */
  fail_unless (negotiate_against ("audio/x-opus, rate=44100", 1) == NULL);
  fail_unless (negotiate_against ("audio/x-raw", 1) == NULL);
}

GST_END_TEST;

/* Decodes @frames with wzpsrc's caps for @rate and @channels; returns the
 * number of buffers out and checks opusdec decodes to those caps. */
static guint
decode_with_src_caps (GList * frames, gint rate, gint channels)
{
  GstHarness *h = gst_harness_new ("opusdec");
  GstCaps *caps = gst_wzp_opus_caps_new (rate, channels);
  GstStructure *s;
  GList *l;
  guint i = 0, decoded = 0;
  gint v = 0;
  GstBuffer *out;

  gst_harness_set_src_caps (h, caps);
  for (l = frames; l; l = l->next, i++) {
    GstBuffer *b = gst_buffer_copy (l->data);

    GST_BUFFER_PTS (b) = i * FRAME_NS;
    GST_BUFFER_DURATION (b) = FRAME_NS;
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  }
  while ((out = gst_harness_try_pull (h))) {
    decoded++;
    gst_buffer_unref (out);
  }
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL);
  GST_INFO ("decoded to %" GST_PTR_FORMAT, caps);
  s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_get_int (s, "rate", &v));
  fail_unless_equals_int (v, rate);
  fail_unless (gst_structure_get_int (s, "channels", &v));
  fail_unless_equals_int (v, channels);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  return decoded;
}

GST_START_TEST (test_opusdec_decodes_mono_and_stereo)
{
  /* Any sender's frames decode with any of wzpsrc's caps: a stereo
   * sender into mono, a mono one into stereo, at every rate. */
  for (gint sent = 1; sent <= 2; sent++) {
    GstCaps *caps = NULL;
    GList *frames = encode_frames (sent, 5, &caps);

    for (guint r = 0; r < G_N_ELEMENTS (rates); r++)
      for (gint out = 1; out <= 2; out++)
        fail_unless (decode_with_src_caps (frames, rates[r], out) >= 4);
    gst_caps_unref (caps);
    g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
  }
}

GST_END_TEST;

GST_START_TEST (test_oggmux_records)
{
  GstCaps *enc_caps = NULL;
  GList *frames = encode_frames (1, 50, &enc_caps), *l;
  GstHarness *h = gst_harness_new_with_padnames ("oggmux", "audio_%u", "src");
  gchar *dir = g_dir_make_tmp ("wzp-ogg-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "rec.ogg", NULL);
  GString *file = g_string_new (NULL);
  GstElement *pipeline;
  GstMessage *msg;
  GstBuffer *out;
  gchar *desc;
  guint i = 0;
  gint64 duration = 0;

  gst_harness_set_src_caps (h, gst_wzp_opus_caps_new (48000, 1));
  /* as wzpsrc stamps them: PTS, duration, granule in OFFSET_END, and a gap
   * (frame 10 lost) */
  for (l = frames; l; l = l->next, i++) {
    GstBuffer *b;

    if (i == 10) {
      gst_harness_push_event (h, gst_event_new_gap (i * FRAME_NS, FRAME_NS));
      continue;
    }
    b = gst_buffer_copy (l->data);
    GST_BUFFER_PTS (b) = i * FRAME_NS;
    GST_BUFFER_DURATION (b) = FRAME_NS;
    GST_BUFFER_OFFSET (b) = i * FRAME_SAMPLES;
    GST_BUFFER_OFFSET_END (b) = (i + 1) * FRAME_SAMPLES;
    if (i == 0 || i == 11)
      GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((out = gst_harness_try_pull (h))) {
    GstMapInfo map;

    gst_buffer_map (out, &map, GST_MAP_READ);
    g_string_append_len (file, (const gchar *) map.data, map.size);
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
  fail_unless (file->len > 1000);
  fail_unless (memcmp (file->str, "OggS", 4) == 0);
  fail_unless (memmem (file->str, file->len, "OpusHead", 8) != NULL);
  fail_unless (g_file_set_contents (path, file->str, file->len, NULL));

  /* and it decodes again, to about a second of audio */
  desc = g_strdup_printf ("filesrc location=%s ! oggdemux ! opusdec ! "
      "audioconvert ! fakesink name=sink sync=false", path);
  pipeline = gst_parse_launch (desc, NULL);
  fail_unless (pipeline != NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  fail_unless_equals_int (GST_MESSAGE_TYPE (msg), GST_MESSAGE_EOS);
  gst_message_unref (msg);
  fail_unless (gst_element_query_position (pipeline, GST_FORMAT_TIME,
          &duration));
  GST_INFO ("decoded %" GST_TIME_FORMAT, GST_TIME_ARGS (duration));
  fail_unless (duration >= 900 * GST_MSECOND, "only %" GST_TIME_FORMAT,
      GST_TIME_ARGS (duration));
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  g_unlink (path);
  g_rmdir (dir);
  g_free (desc);
  g_free (path);
  g_free (dir);
  g_string_free (file, TRUE);
  gst_caps_unref (enc_caps);
  g_list_free_full (frames, (GDestroyNotify) gst_buffer_unref);
}

GST_END_TEST;

static Suite *
wzp_caps_suite (void)
{
  Suite *s = suite_create ("wzp-caps");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_sink_accepts_opusenc);
  tcase_add_test (tc, test_src_caps);
  tcase_add_test (tc, test_packet_channels);
  tcase_add_test (tc, test_negotiation);
  tcase_add_test (tc, test_opusdec_decodes_mono_and_stereo);
  tcase_add_test (tc, test_oggmux_records);
  return s;
}

GST_CHECK_MAIN (wzp_caps);
