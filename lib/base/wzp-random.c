/* wzp — cryptographically secure random bytes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-random.h"

#include <openssl/rand.h>

void
wzp_random_bytes (guint8 * buf, gsize len)
{
  /* RAND_bytes only fails when the system has no entropy source at all;
   * continuing with predictable IDs would be worse than stopping. */
  if (RAND_bytes (buf, (int) len) != 1)
    g_error ("wzp: the system random number generator failed");
}

guint32
wzp_random_u32 (void)
{
  guint32 v;

  wzp_random_bytes ((guint8 *) & v, sizeof v);
  return v;
}

char *
wzp_random_hex (gsize n_bytes)
{
  g_autofree guint8 *bytes = g_malloc (n_bytes);
  char *hex = g_malloc (2 * n_bytes + 1);

  wzp_random_bytes (bytes, n_bytes);
  for (gsize i = 0; i < n_bytes; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", bytes[i]);
  return hex;
}
