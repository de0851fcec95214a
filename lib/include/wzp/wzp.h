/* wzp.h — libwzp, end-to-end encrypted voice calls through a relay
 *
 * The one header an application includes:
 *
 *   #include <wzp/wzp.h>      (pkg-config wzp-1.0)
 *
 *  - WzpCall (wzp-call.h): place, answer or join a call; its states,
 *    errors, statistics and frames;
 *  - WzpIdentity (wzp-identity.h): the Ed25519 identity a party is known
 *    by, and fingerprints;
 *  - WzpPathKind, WzpPathPolicy (wzp-path-types.h): the media path;
 *  - WzpJitter (wzp-jitter.h): the adaptive jitter buffer, to play the
 *    frames a call delivers (the GStreamer plugin's wzpsrc uses it);
 *  - logging hooks (wzp-log.h).
 *
 * Everything else in libwzp (QUIC, signaling, NAT traversal, the path
 * race, media crypto) is internal: not installed, not exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <wzp/wzp-version.h>
#include <wzp/wzp-log.h>
#include <wzp/wzp-identity.h>
#include <wzp/wzp-path-types.h>
#include <wzp/wzp-relay-channel-state.h>
#include <wzp/wzp-call.h>
#include <wzp/wzp-jitter.h>
