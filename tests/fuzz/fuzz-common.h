/* Shared by the fuzz targets: the libFuzzer entry points and a reader that
 * turns the fuzzer's bytes into decisions.
 *
 * Every target is built twice: against libFuzzer (meson -Dfuzz=enabled,
 * clang), and as a plain program with replay-main.c that runs the target
 * over its seed corpus, so the ordinary test suite exercises it too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

/* A target found a bug that is not a crash: make it one, so libFuzzer
 * saves the input. */
#define FUZZ_CHECK(cond) G_STMT_START {                                    \
  if (G_UNLIKELY (!(cond))) {                                             \
    g_printerr ("%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__,     \
        #cond);                                                           \
    abort ();                                                             \
  }                                                                       \
} G_STMT_END

/* GLib criticals (g_return_if_fail) and warnings mean the library or the
 * target misused an API: abort on them, as G_DEBUG=fatal-criticals does
 * in the tests. */
static inline void
fuzz_glib_setup (void)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL |
      G_LOG_LEVEL_WARNING);
}

typedef struct
{
  const guint8 *data;
  gsize left;
} FuzzInput;

static inline void
fuzz_input_init (FuzzInput * in, const guint8 * data, gsize size)
{
  in->data = data;
  in->left = size;
}

/* Past the end every read gives zeros, so targets need no length checks. */
static inline guint8
fuzz_u8 (FuzzInput * in)
{
  guint8 v = 0;

  if (in->left) {
    v = in->data[0];
    in->data++;
    in->left--;
  }
  return v;
}

static inline guint16
fuzz_u16 (FuzzInput * in)
{
  guint16 hi = fuzz_u8 (in);

  return (guint16) (hi << 8 | fuzz_u8 (in));
}

static inline guint32
fuzz_u32 (FuzzInput * in)
{
  guint32 hi = fuzz_u16 (in);

  return hi << 16 | fuzz_u16 (in);
}

/* Up to @max bytes, fewer at the end of the input; returns how many. */
static inline gsize
fuzz_bytes (FuzzInput * in, gsize max, const guint8 ** out)
{
  gsize n = MIN (max, in->left);

  *out = in->data;
  in->data += n;
  in->left -= n;
  return n;
}
