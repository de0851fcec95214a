/* wzp-bytes.h — big-endian integers in wire buffers (private)
 *
 * Every wzp wire format is big-endian (network byte order).
 */
#pragma once

#include <glib.h>

static inline void
wzp_put_u32 (guint8 * p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static inline guint32
wzp_get_u32 (const guint8 * p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) |
      ((guint32) p[2] << 8) | (guint32) p[3];
}

static inline void
wzp_put_u64 (guint8 * p, guint64 v)
{
  wzp_put_u32 (p, v >> 32);
  wzp_put_u32 (p + 4, (guint32) v);
}

static inline guint64
wzp_get_u64 (const guint8 * p)
{
  return ((guint64) wzp_get_u32 (p) << 32) | wzp_get_u32 (p + 4);
}
