/* Micro benchmark: seal + open of media packets, per second.
 * Usage: bench-media-crypto [PAYLOAD_BYTES [SECONDS]]   (default 160, 2)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "wzp-media-crypto.h"

#include <stdlib.h>

int
main (int argc, char **argv)
{
  gsize payload_len = argc > 1 ? (gsize) atoi (argv[1]) : 160;
  gdouble seconds = argc > 2 ? atof (argv[2]) : 2.0;
  guint8 payload[WZP_MEDIA_MAX_PAYLOAD] = { 0 };
  guint8 packet[WZP_MEDIA_MAX_PACKET], out[WZP_MEDIA_MAX_PAYLOAD];
  WzpMediaKey key;
  WzpMediaSealer *sealer;
  WzpMediaOpener *opener;
  GError *error = NULL;
  gint64 start, elapsed;
  guint64 n = 0;

  if (payload_len > WZP_MEDIA_MAX_PAYLOAD) {
    g_printerr ("payload at most %d bytes\n", WZP_MEDIA_MAX_PAYLOAD);
    return 1;
  }
  if (!wzp_media_key_generate (1, &key, &error)
      || !(sealer = wzp_media_sealer_new (&key, &error))
      || !(opener = wzp_media_opener_new (&key, &error))) {
    g_printerr ("setup: %s\n", error->message);
    return 1;
  }

  start = g_get_monotonic_time ();
  do {
    guint i;

    for (i = 0; i < 1000; i++, n++) {
      gssize len = wzp_media_sealer_seal (sealer, WZP_MEDIA_CODEC_OPUS, 0,
          (guint32) n * 960, payload, payload_len, packet, sizeof packet,
          NULL);

      if (len < 0 || wzp_media_opener_open (opener, packet, len, NULL, out,
              sizeof out, NULL) != (gssize) payload_len) {
        g_printerr ("seal/open failed at packet %" G_GUINT64_FORMAT "\n", n);
        return 1;
      }
    }
    elapsed = g_get_monotonic_time () - start;
  } while (elapsed < seconds * G_USEC_PER_SEC);

  g_print ("%" G_GSIZE_FORMAT "-byte payload: %.0f seal+open per second "
      "(%.2f us each, %.1f MB/s of payload)\n", payload_len,
      n / (elapsed / (gdouble) G_USEC_PER_SEC), elapsed / (gdouble) n,
      n * payload_len / (gdouble) elapsed);

  wzp_media_sealer_free (sealer);
  wzp_media_opener_free (opener);
  wzp_media_key_clear (&key);
  return 0;
}
