/* wzp — internals of the media crypto for tests; not installed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-media-crypto.h"

G_BEGIN_DECLS

/* Moves the sealer's counter, to test the end of the sequence space.
 * Never use outside tests: going backwards reuses nonces. */
void wzp_media_sealer_set_next_seq_for_test (WzpMediaSealer * sealer,
    guint64 next_seq);

G_END_DECLS
