/* Tests for the allocator ngtcp2 gets (lib/quic/wzp-quic-mem.c): blocks
 * of 2..8 pages come from page-aligned arenas and give their pages back
 * when freed; everything else is malloc's.  ngtcp2 trusts it with all of
 * its connection state, so: contents survive realloc across the two,
 * calloc is zero even in a reused block, and a freed block's pages leave
 * the resident set.  In sanitizer builds every request goes to malloc
 * (so ASan checks ngtcp2's memory); the pool-specific checks skip there.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "wzp-quic-mem.h"

#define PAGE 4096

static gboolean
pooled (void)
{
#ifdef __SANITIZE_ADDRESS__
  return FALSE;
#else
  return TRUE;
#endif
}

static guint
resident_pages (void *p, gsize len)
{
  guint8 vec[16];
  guint n = 0;

  g_assert_cmpuint (len / PAGE, <=, sizeof vec);
  g_assert_cmpint (mincore (p, len, vec), ==, 0);
  for (guint i = 0; i < len / PAGE; i++)
    n += vec[i] & 1;
  return n;
}

static void
test_sizes (void)
{
  const ngtcp2_mem *mem = _wzp_quic_mem ();
  gsize sizes[] = { 1, 100, PAGE, PAGE + 1, 8320, 12 * 1024, 8 * PAGE,
    8 * PAGE + 1, 100000
  };
  WzpQuicMemStats s0, s1;
  void *p[G_N_ELEMENTS (sizes)];

  _wzp_quic_mem_get_stats (&s0);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    p[i] = mem->malloc (sizes[i], mem->user_data);
    g_assert_nonnull (p[i]);
    memset (p[i], 0x40 + i, sizes[i]);
  }
  _wzp_quic_mem_get_stats (&s1);
  /* PAGE + 1 .. 8 pages: four of them from the pool. */
  if (pooled ()) {
    g_assert_cmpuint (s1.blocks - s0.blocks, ==, 4);
    for (guint i = 3; i < 7; i++)
      g_assert_cmpuint ((guintptr) p[i] % PAGE, ==, 0);
  }
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    const guint8 *b = p[i];
    g_assert_cmpuint (b[0], ==, 0x40 + i);
    g_assert_cmpuint (b[sizes[i] - 1], ==, 0x40 + i);
    mem->free (p[i], mem->user_data);
  }
  _wzp_quic_mem_get_stats (&s1);
  g_assert_cmpuint (s1.blocks, ==, s0.blocks);
  mem->free (NULL, mem->user_data);
}

static void
test_calloc_reused (void)
{
  const ngtcp2_mem *mem = _wzp_quic_mem ();
  guint8 *a, *b;
  gsize len = 3 * PAGE - 100;

  a = mem->malloc (len, mem->user_data);
  memset (a, 0xff, len);
  mem->free (a, mem->user_data);
  /* Most likely the same block again: every byte must read zero. */
  b = mem->calloc (1, len, mem->user_data);
  for (gsize i = 0; i < len; i++)
    g_assert_cmpuint (b[i], ==, 0);
  mem->free (b, mem->user_data);
  g_assert_null (mem->calloc (G_MAXSIZE / 2, 4, mem->user_data));
}

static void
test_realloc (void)
{
  const ngtcp2_mem *mem = _wzp_quic_mem ();
  guint8 *p = mem->malloc (100, mem->user_data);

  for (guint i = 0; i < 100; i++)
    p[i] = i;
  /* malloc -> pool -> bigger pool -> malloc, contents kept throughout. */
  p = mem->realloc (p, 2 * PAGE, mem->user_data);
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (p[i], ==, i);
  memset (p + 100, 0x77, 2 * PAGE - 100);
  p = mem->realloc (p, 5 * PAGE, mem->user_data);
  g_assert_cmpuint (p[99], ==, 99);
  g_assert_cmpuint (p[2 * PAGE - 1], ==, 0x77);
  p = mem->realloc (p, 5 * PAGE - 10, mem->user_data);
  g_assert_cmpuint (p[2 * PAGE - 1], ==, 0x77);
  p = mem->realloc (p, 50, mem->user_data);
  for (guint i = 0; i < 50; i++)
    g_assert_cmpuint (p[i], ==, i);
  mem->free (p, mem->user_data);
  p = mem->realloc (NULL, 6 * PAGE, mem->user_data);
  g_assert_nonnull (p);
  mem->free (p, mem->user_data);
}

/* The point of it: only the pages written are resident, and a freed
 * block keeps only its first page. */
static void
test_residency (void)
{
  const ngtcp2_mem *mem = _wzp_quic_mem ();
  guint8 *p;

  if (!pooled ()) {
    g_test_skip ("sanitizer build: ngtcp2's memory comes from malloc");
    return;
  }
  p = mem->calloc (1, 8 * PAGE, mem->user_data);
  p[0] = 1;
  p[3 * PAGE + 5] = 1;
  g_assert_cmpuint (resident_pages (p, 8 * PAGE), <=, 2);
  memset (p, 0x11, 8 * PAGE);
  g_assert_cmpuint (resident_pages (p, 8 * PAGE), ==, 8);
  mem->free (p, mem->user_data);
  g_assert_cmpuint (resident_pages (p, 8 * PAGE), <=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/quic-mem/sizes", test_sizes);
  g_test_add_func ("/quic-mem/calloc-reused", test_calloc_reused);
  g_test_add_func ("/quic-mem/realloc", test_realloc);
  g_test_add_func ("/quic-mem/residency", test_residency);
  return g_test_run ();
}
