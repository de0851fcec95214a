/* wzp — the memory ngtcp2 allocates (see wzp-quic-mem.h)
 *
 * Blocks of N pages (N = 2..MAX_PAGES) come from arenas of ARENA bytes,
 * each arena holding blocks of one size; an arena is aligned to its size,
 * so the arena (and the block size) of a pointer is found by masking it.
 * A freed block goes on its size's free list (the link lives in its first
 * page, which stays resident); the rest of its pages are dropped with
 * MADV_DONTNEED and read back as zeros when touched again, which also
 * makes calloc cheap: only the first page needs clearing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "wzp-quic-mem.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_PAGES 8u
#define ARENA (2u * 1024 * 1024)

typedef struct FreeBlock
{
  struct FreeBlock *next;
} FreeBlock;

typedef struct
{
  guint8 *bump;                 /* next never-used block of the newest arena */
  guint8 *bump_end;
  FreeBlock *free;
} SizeClass;

static GMutex lock;
static SizeClass classes[MAX_PAGES + 1];        /* by pages */
static GHashTable *arenas;      /* arena base -> pages */
static WzpQuicMemStats stats;

static guint
pages_for (gsize size)
{
  return (size + PAGE - 1) / PAGE;
}

static gboolean
large (gsize size)
{
#ifdef __SANITIZE_ADDRESS__
  /* Sanitizer builds check ngtcp2's memory like any other (and
   * LeakSanitizer does not look for pointers in these mappings). */
  return FALSE;
#else
  return size > PAGE && pages_for (size) <= MAX_PAGES;
#endif
}

/* The pages of the arena @p is in (0: not ours).  Under the lock. */
static guint
arena_pages (void *p)
{
  gpointer base = (gpointer) ((guintptr) p & ~(guintptr) (ARENA - 1));

  return arenas ? GPOINTER_TO_UINT (g_hash_table_lookup (arenas, base)) : 0;
}

static gboolean
new_arena (SizeClass * c, guint pages)
{
  /* Twice the size, then the aligned half: masking finds the base. */
  guint8 *raw = mmap (NULL, 2 * ARENA, PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  guint8 *base;
  gsize head;

  if (raw == MAP_FAILED)
    return FALSE;
  base = (guint8 *) (((guintptr) raw + ARENA - 1) & ~(guintptr) (ARENA - 1));
  head = base - raw;
  if (head)
    munmap (raw, head);
  munmap (base + ARENA, ARENA - head);
  /* Transparent huge pages would make a touched arena resident whole. */
  madvise (base, ARENA, MADV_NOHUGEPAGE);
  if (arenas == NULL)
    arenas = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (arenas, base, GUINT_TO_POINTER (pages));
  c->bump = base;
  c->bump_end = base + ARENA - ARENA % (pages * PAGE);
  stats.mapped += ARENA;
  return TRUE;
}

/* A block of @pages; *@fresh when its memory was never used (zeros). */
static void *
block_get (guint pages, gboolean * fresh)
{
  SizeClass *c = &classes[pages];
  void *p = NULL;

  g_mutex_lock (&lock);
  if (c->free) {
    p = c->free;
    c->free = c->free->next;
    *fresh = FALSE;
  } else if ((c->bump && c->bump < c->bump_end) || new_arena (c, pages)) {
    p = c->bump;
    c->bump += pages * PAGE;
    *fresh = TRUE;
  }
  if (p) {
    stats.blocks++;
    stats.bytes += pages * PAGE;
  }
  g_mutex_unlock (&lock);
  return p;
}

static void
block_put (void *p, guint pages)
{
  SizeClass *c = &classes[pages];
  FreeBlock *b = p;

  /* All but the first page (which holds the link) back to the kernel. */
  madvise ((guint8 *) p + PAGE, (pages - 1) * PAGE, MADV_DONTNEED);
  g_mutex_lock (&lock);
  b->next = c->free;
  c->free = b;
  stats.blocks--;
  stats.bytes -= pages * PAGE;
  g_mutex_unlock (&lock);
}

static void *
mem_malloc (size_t size, void *user_data)
{
  gboolean fresh;
  void *p;

  if (large (size) && (p = block_get (pages_for (size), &fresh)))
    return p;
  return malloc (size);
}

static void *
mem_calloc (size_t nmemb, size_t size, void *user_data)
{
  gboolean fresh;
  void *p;

  if (size && nmemb > G_MAXSIZE / size)
    return NULL;
  if (large (nmemb * size) &&
      (p = block_get (pages_for (nmemb * size), &fresh))) {
    /* The other pages read as zeros (never used, or dropped). */
    if (!fresh)
      memset (p, 0, PAGE);
    return p;
  }
  return calloc (nmemb, size);
}

static void
mem_free (void *p, void *user_data)
{
  guint pages;

  if (p == NULL)
    return;
  g_mutex_lock (&lock);
  pages = arena_pages (p);
  g_mutex_unlock (&lock);
  if (pages)
    block_put (p, pages);
  else
    free (p);
}

static void *
mem_realloc (void *p, size_t size, void *user_data)
{
  guint pages;
  gsize old;
  void *q;

  if (p == NULL)
    return mem_malloc (size, user_data);
  g_mutex_lock (&lock);
  pages = arena_pages (p);
  g_mutex_unlock (&lock);
  if (pages == 0 && !large (size))
    return realloc (p, size);
  if (pages && pages_for (size) == pages)
    return p;
  old = pages ? pages * PAGE : malloc_usable_size (p);
  q = mem_malloc (size, user_data);
  if (q == NULL)
    return NULL;
  memcpy (q, p, MIN (old, size));
  mem_free (p, user_data);
  return q;
}

static const ngtcp2_mem mem = {
  NULL, mem_malloc, mem_free, mem_calloc, mem_realloc,
};

const ngtcp2_mem *
_wzp_quic_mem (void)
{
  return &mem;
}

void
_wzp_quic_mem_get_stats (WzpQuicMemStats * out)
{
  g_mutex_lock (&lock);
  *out = stats;
  g_mutex_unlock (&lock);
}
