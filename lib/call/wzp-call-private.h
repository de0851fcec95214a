/* wzp-call-private.h — test hooks of WzpCall (not installed) */
#pragma once

#include "wzp-call.h"
#include "wzp-clock.h"
#include "wzp-endpoint.h"
#include "wzp-path.h"
#include "wzp-media-crypto.h"

G_BEGIN_DECLS

WzpEndpoint *_wzp_call_get_endpoint (WzpCall * self);
/* Before wzp_call_start(): where time comes from (tests: a WzpTestClock);
 * the system clock otherwise. */
void _wzp_call_set_clock (WzpCall * self, WzpClock * clock);
/* Before wzp_call_start(): path timings for tests (shorter races). */
void _wzp_call_set_path_timings (WzpCall * self,
    const WzpPathTimings * timings);

/* Before wzp_call_start(): no early start on a LAN (wzp-call-early.c);
 * the direct path is raced only once the relay's call-setup arrives, as
 * across NATs.  For tests of that race on one LAN. */
void _wzp_call_set_early_start (WzpCall * self, gboolean early);

/* Test hook: seals one frame carrying @text and sends it on the relay
 * path; with @tamper one ciphertext bit is flipped first (the peer must
 * count it as forged), otherwise the same packet is sent twice (the peer
 * must deliver it once and count one replay). */
gboolean _wzp_call_inject_test_frame (WzpCall * self, const char *text,
    gboolean tamper);

/* Test hook: @func sees every room sender key this call makes (@owner is
 * our fingerprint) or receives, as it is made or installed.  Call after
 * wzp_call_start(). */
typedef void (*WzpCallRoomKeyFunc) (const char *owner,
    const WzpMediaKey * key, gpointer user_data);
void _wzp_call_set_room_key_func (WzpCall * self, WzpCallRoomKeyFunc func,
    gpointer user_data);

G_END_DECLS
