/* WzpSendBuffer: bytes handed to ngtcp2 stay where they are, unchanged,
 * until acknowledged, whatever is appended or acknowledged meanwhile.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "wzp-send-buffer.h"

/* The byte at stream offset o: a pattern that shifts would show. */
static guint8
byte_at (guint64 o)
{
  return (guint8) (o * 131 + (o >> 8) * 7 + 3);
}

static void
append_range (WzpSendBuffer * buf, guint64 len)
{
  g_autofree guint8 *data = g_malloc (len + 1);

  for (guint64 i = 0; i < len; i++)
    data[i] = byte_at (buf->end + i);
  wzp_send_buffer_append (buf, data, len);
}

typedef struct
{
  const guint8 *base;
  gsize len;
  guint64 offset;
} Handed;

/* Everything handed out and not yet acknowledged still reads right. */
static void
check_handed (GArray * handed, guint64 acked)
{
  for (guint i = 0; i < handed->len; i++) {
    Handed *h = &g_array_index (handed, Handed, i);
    for (gsize k = 0; k < h->len; k++) {
      if (h->offset + k < acked)
        continue;
      g_assert_cmpuint (h->base[k], ==, byte_at (h->offset + k));
    }
  }
}

static void
forget_acked (GArray * handed, guint64 acked)
{
  for (guint i = 0; i < handed->len;) {
    Handed *h = &g_array_index (handed, Handed, i);
    if (h->offset + h->len <= acked)
      g_array_remove_index_fast (handed, i);
    else
      i++;
  }
}

static void
test_stable_until_acked (void)
{
  WzpSendBuffer buf;
  g_autoptr (GArray) handed = g_array_new (FALSE, FALSE, sizeof (Handed));
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);

  wzp_send_buffer_init (&buf);
  for (guint round = 0; round < 20000; round++) {
    guint op = g_rand_int_range (rand, 0, 3);

    if (op == 0) {
      /* Mostly small messages, now and then a big one. */
      guint64 len = g_rand_int_range (rand, 0, 10) == 0 ?
          g_rand_int_range (rand, 1, 70000) : g_rand_int_range (rand, 1, 300);
      append_range (&buf, len);
    } else if (op == 1 && wzp_send_buffer_unsent (&buf) > 0) {
      /* ngtcp2 takes up to a packet's worth, from up to two vectors. */
      ngtcp2_vec vecs[2];
      gsize n = wzp_send_buffer_peek_unsent (&buf, vecs, 2);
      guint64 want = g_rand_int_range (rand, 1, 1453), took = 0;
      guint64 at = buf.sent;

      g_assert_cmpuint (n, >, 0);
      for (gsize i = 0; i < n && took < want; i++) {
        Handed h = { vecs[i].base, MIN (vecs[i].len, want - took), at };
        g_assert_cmpuint (vecs[i].len, >, 0);
        g_array_append_val (handed, h);
        at += h.len;
        took += h.len;
      }
      wzp_send_buffer_mark_sent (&buf, took);
      check_handed (handed, buf.acked);
    } else if (op == 2 && buf.sent > buf.acked) {
      guint64 to = buf.acked + g_rand_int_range (rand, 1,
          (gint32) MIN (buf.sent - buf.acked, 5000) + 1);
      wzp_send_buffer_ack_to (&buf, to);
      g_assert_cmpuint (buf.acked, ==, to);
      forget_acked (handed, buf.acked);
      check_handed (handed, buf.acked);
    }
    g_assert_cmpuint (buf.acked, <=, buf.sent);
    g_assert_cmpuint (buf.sent, <=, buf.end);
    /* Memory follows what is unacknowledged: the blocks it fills, plus
     * at most a partly acknowledged one and a partly filled one. */
    g_assert_cmpuint (wzp_send_buffer_get_allocated (&buf), <=,
        (wzp_send_buffer_unacked (&buf) / WZP_SEND_BLOCK_SIZE + 3) *
        (WZP_SEND_BLOCK_SIZE + 16));
  }

  /* Send and acknowledge everything: nothing is held any more. */
  while (wzp_send_buffer_unsent (&buf) > 0) {
    ngtcp2_vec v;
    g_assert_cmpuint (wzp_send_buffer_peek_unsent (&buf, &v, 1), ==, 1);
    wzp_send_buffer_mark_sent (&buf, v.len);
  }
  wzp_send_buffer_ack_to (&buf, buf.sent);
  g_assert_cmpuint (wzp_send_buffer_get_allocated (&buf), ==, 0);
  g_assert_cmpuint (wzp_send_buffer_unacked (&buf), ==, 0);
  wzp_send_buffer_clear (&buf);
}

/* Unsent data comes out in order, split only at block boundaries, and a
 * packet's worth never needs more than two vectors. */
static void
test_peek_is_contiguous (void)
{
  WzpSendBuffer buf;
  ngtcp2_vec vecs[8];
  gsize n;

  wzp_send_buffer_init (&buf);
  g_assert_cmpuint (wzp_send_buffer_peek_unsent (&buf, vecs, 8), ==, 0);
  append_range (&buf, 10);
  append_range (&buf, 3 * WZP_SEND_BLOCK_SIZE);
  n = wzp_send_buffer_peek_unsent (&buf, vecs, 8);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (vecs[0].len, ==, WZP_SEND_BLOCK_SIZE);
  g_assert_cmpuint (vecs[3].len, ==, 10);
  for (gsize i = 0, o = 0; i < n; o += vecs[i].len, i++)
    for (gsize k = 0; k < vecs[i].len; k++)
      g_assert_cmpuint (vecs[i].base[k], ==, byte_at (o + k));

  /* From any position, 1452 bytes lie in at most two vectors. */
  for (guint64 at = 1; at < buf.end; at += 997) {
    gsize len = 0, used = 0;
    wzp_send_buffer_mark_sent (&buf, MIN (997, wzp_send_buffer_unsent (&buf)));
    n = wzp_send_buffer_peek_unsent (&buf, vecs, 8);
    while (used < n && len < 1452)
      len += vecs[used++].len;
    g_assert_cmpuint (used, <=, 2);
  }
  wzp_send_buffer_clear (&buf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/send-buffer/stable-until-acked", test_stable_until_acked);
  g_test_add_func ("/send-buffer/peek-is-contiguous", test_peek_is_contiguous);
  return g_test_run ();
}
