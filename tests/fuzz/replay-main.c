/* Runs a fuzz target over files, without libFuzzer: every regular file in
 * the directories (or the files) given as arguments goes once through
 * LLVMFuzzerTestOneInput().  This is how the seed corpus runs in the
 * ordinary test suite.  Prints TAP, one test per file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>

#include "fuzz-common.h"

static int
name_cmp (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static void
collect (const char *path, GPtrArray * files)
{
  GDir *dir;
  const char *name;
  GError *error = NULL;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_ptr_array_add (files, g_strdup (path));
    return;
  }
  dir = g_dir_open (path, 0, &error);
  if (dir == NULL) {
    g_printerr ("%s\n", error->message);
    exit (1);
  }
  while ((name = g_dir_read_name (dir)) != NULL) {
    char *p = g_build_filename (path, name, NULL);

    if (name[0] != '.' && g_file_test (p, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (files, p);
    else
      g_free (p);
  }
  g_dir_close (dir);
}

int
main (int argc, char **argv)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);

  if (argc < 2) {
    g_printerr ("usage: %s DIR-OR-FILE...\n", argv[0]);
    return 2;
  }
  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    collect (argv[i], files);
  g_ptr_array_sort (files, name_cmp);
  if (files->len == 0) {
    g_printerr ("no input files\n");
    return 1;
  }

  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++) {
    const char *path = g_ptr_array_index (files, i);
    char *data;
    gsize len;
    GError *error = NULL;

    if (!g_file_get_contents (path, &data, &len, &error)) {
      printf ("not ok %u %s # %s\n", i + 1, path, error->message);
      g_clear_error (&error);
      continue;
    }
    /* A crash or abort ends the run here, and the test fails. */
    fflush (stdout);
    LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
    printf ("ok %u %s (%" G_GSIZE_FORMAT " bytes)\n", i + 1, path, len);
    g_free (data);
  }
  g_ptr_array_unref (files);
  return 0;
}
