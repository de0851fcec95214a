/* Simulating a crash (kill -9) of an endpoint inside a test process.
 *
 * A killed process sends nothing more: no CONNECTION_CLOSE, no reply to
 * anything.  wzp_test_endpoint_mute() makes an endpoint's sockets unable
 * to send and frees its ports, so disposing it afterwards (or letting it
 * time out) is invisible to its peers, and a new endpoint can bind the
 * same port at once, as a restarted process would.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "wzp-endpoint.h"

G_BEGIN_DECLS

void wzp_test_endpoint_mute (WzpEndpoint * endpoint);

G_END_DECLS
