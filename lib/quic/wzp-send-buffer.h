/* wzp — a stream's outgoing bytes, kept in place until acknowledged
 * (internal)
 *
 * ngtcp2 does not copy stream data: a STREAM frame it retransmits after a
 * loss is rebuilt from the very pointers it was first given, so every
 * byte must stay at its address, unchanged, until ngtcp2 reports it
 * acknowledged.  A growable array breaks that twice over: appending may
 * reallocate it and dropping the acknowledged front moves the rest.
 *
 * So the bytes live in a chain of fixed-size blocks, each filled to the
 * end before the next is started (a message may span blocks), and a
 * block is freed only once every byte in it is acknowledged.  Blocks
 * never move or shrink while they live.
 *
 * Why full blocks rather than one allocation per message: ngtcp2 merges
 * adjacent retransmitted data into one frame and keeps a frame of more
 * than three pieces in memory of its own; ngtcp2 0.12.1 leaks such a
 * frame when it later trims it.  With blocks larger than a packet, data
 * that fits a packet is at most two pieces.
 *
 * Three offsets in stream order: acked <= sent <= end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <ngtcp2/ngtcp2.h>

G_BEGIN_DECLS

/* Larger than two full packets (see above). */
#define WZP_SEND_BLOCK_SIZE 4096

typedef struct
{
  GQueue blocks;                /* in stream order; all full but the last */
  GList *send_link;             /* block holding offset `sent`, or NULL */
  guint64 acked;                /* everything below is acknowledged */
  guint64 sent;                 /* everything below was given to ngtcp2 */
  guint64 end;                  /* stream offset after the last byte */
} WzpSendBuffer;

void wzp_send_buffer_init (WzpSendBuffer * buf);
void wzp_send_buffer_clear (WzpSendBuffer * buf);

/* Copies @len bytes to the end of the stream. */
void wzp_send_buffer_append (WzpSendBuffer * buf, const guint8 * data,
    gsize len);

/* Bytes not yet given to ngtcp2. */
static inline guint64
wzp_send_buffer_unsent (const WzpSendBuffer * buf)
{
  return buf->end - buf->sent;
}

/* Bytes given to ngtcp2 or queued, not yet acknowledged. */
static inline guint64
wzp_send_buffer_unacked (const WzpSendBuffer * buf)
{
  return buf->end - buf->acked;
}

/* Fills up to @max_vecs vectors with the unsent bytes, in order, pointing
 * into the blocks (valid and unchanged until those bytes are
 * acknowledged).  Returns the number of vectors. */
gsize wzp_send_buffer_peek_unsent (const WzpSendBuffer * buf,
    ngtcp2_vec * vecs, gsize max_vecs);

/* ngtcp2 took the next @n unsent bytes. */
void wzp_send_buffer_mark_sent (WzpSendBuffer * buf, guint64 n);

/* Everything below stream offset @offset is acknowledged: blocks wholly
 * below it are freed.  Offsets at or below the current one are ignored. */
void wzp_send_buffer_ack_to (WzpSendBuffer * buf, guint64 offset);

/* Memory held, in bytes (for stats and tests). */
gsize wzp_send_buffer_get_allocated (const WzpSendBuffer * buf);

G_END_DECLS
