/* wzp — the memory ngtcp2 allocates, in pages it touches only where it
 * writes (internal)
 *
 * ngtcp2 0.12 keeps its sorted lists (packets in flight, ACK ranges,
 * stream gaps and reassembly, connection IDs: about ten per connection)
 * in blocks it allocates 8 to 12 KiB at a time, of which an idle
 * connection's list uses a few hundred bytes.  From malloc's heap such a
 * block is resident whole as soon as its memory was used before (and
 * handshakes free and reuse a lot of it): ~70 KiB of every connection.
 * This allocator serves requests of one to eight pages from mappings of
 * its own, page-aligned, and gives the pages of a freed block back to the
 * kernel (MADV_DONTNEED), so only the pages ngtcp2 actually writes are
 * resident.  Smaller and larger requests go to malloc.  Thread-safe: the
 * large requests are rare (a few per connection's life).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <glib.h>

G_BEGIN_DECLS

const ngtcp2_mem *_wzp_quic_mem (void);

typedef struct
{
  gsize blocks;                 /* large blocks in use */
  gsize bytes;                  /* their size (address space, not RSS) */
  gsize mapped;                 /* address space mapped for them */
} WzpQuicMemStats;

void _wzp_quic_mem_get_stats (WzpQuicMemStats * stats);

G_END_DECLS
