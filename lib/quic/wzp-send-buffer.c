/* wzp — a stream's outgoing bytes, kept in place until acknowledged
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-send-buffer.h"

#include <string.h>

typedef struct
{
  guint64 offset;               /* stream offset of data[0] */
  guint8 data[WZP_SEND_BLOCK_SIZE];
} Block;

static inline guint64
block_end (const Block * b)
{
  return b->offset + WZP_SEND_BLOCK_SIZE;
}

void
wzp_send_buffer_init (WzpSendBuffer * buf)
{
  memset (buf, 0, sizeof *buf);
  g_queue_init (&buf->blocks);
}

void
wzp_send_buffer_clear (WzpSendBuffer * buf)
{
  g_queue_clear_full (&buf->blocks, g_free);
  buf->send_link = NULL;
  buf->acked = buf->sent = buf->end;
}

void
wzp_send_buffer_append (WzpSendBuffer * buf, const guint8 * data, gsize len)
{
  while (len > 0) {
    Block *tail = g_queue_peek_tail (&buf->blocks);
    gsize room, n;

    if (tail == NULL || block_end (tail) == buf->end) {
      tail = g_new (Block, 1);
      tail->offset = buf->end;
      g_queue_push_tail (&buf->blocks, tail);
      if (buf->send_link == NULL)
        buf->send_link = buf->blocks.tail;
    }
    room = block_end (tail) - buf->end;
    n = MIN (room, len);
    memcpy (tail->data + (buf->end - tail->offset), data, n);
    buf->end += n;
    data += n;
    len -= n;
  }
}

gsize
wzp_send_buffer_peek_unsent (const WzpSendBuffer * buf, ngtcp2_vec * vecs,
    gsize max_vecs)
{
  gsize n = 0;
  guint64 from = buf->sent;

  for (GList * l = buf->send_link; l && n < max_vecs; l = l->next) {
    Block *b = l->data;
    guint64 to = MIN (block_end (b), buf->end);

    if (to <= from)
      break;
    vecs[n].base = b->data + (from - b->offset);
    vecs[n].len = to - from;
    n++;
    from = to;
  }
  return n;
}

void
wzp_send_buffer_mark_sent (WzpSendBuffer * buf, guint64 n)
{
  g_return_if_fail (n <= wzp_send_buffer_unsent (buf));
  buf->sent += n;
  while (buf->send_link &&
      block_end ((Block *) buf->send_link->data) <= buf->sent)
    buf->send_link = buf->send_link->next;
}

void
wzp_send_buffer_ack_to (WzpSendBuffer * buf, guint64 offset)
{
  Block *b;

  if (offset <= buf->acked)
    return;
  /* ngtcp2 acknowledges only what it was given. */
  g_return_if_fail (offset <= buf->sent);
  buf->acked = offset;
  /* Everything acknowledged was sent, so send_link is past these. */
  while ((b = g_queue_peek_head (&buf->blocks)) && block_end (b) <= offset)
    g_free (g_queue_pop_head (&buf->blocks));
  /* All caught up: a partly filled last block goes too, so an idle
   * connection holds nothing.  The next append starts a new one. */
  if (buf->acked == buf->end && buf->blocks.length > 0) {
    g_queue_clear_full (&buf->blocks, g_free);
    buf->send_link = NULL;
  }
}

gsize
wzp_send_buffer_get_allocated (const WzpSendBuffer * buf)
{
  return buf->blocks.length * sizeof (Block);
}
