/* wzp-call-roam.h — an active call that survives a network change
 * (private)
 *
 * Noticing (lib/nat's WzpNetWatch for our own addresses and routes; the
 * relay's reflected address after our direct path failed over, for a NAT
 * that gave us a new mapping), telling the peer through the relay
 * (update-candidates; it hears peer-candidates), and handing both sides'
 * new candidates to the path manager, which races again while media stays
 * on the relay (lib/path, docs/PATH.md "Network changes").
 *
 * Wiring between the signal client and the path manager it is given: it
 * calls nothing of the call's back.  WzpCall makes one once its path
 * manager runs and frees it when the path manager goes.
 */
#pragma once

#include "wzp-candidates.h"
#include "wzp-clock.h"
#include "wzp-endpoint.h"
#include "wzp-path.h"
#include "wzp-signal-client.h"

G_BEGIN_DECLS

typedef struct _WzpCallRoam WzpCallRoam;

/* Watches the host's network for call @call_id with @peer: @local are
 * the host candidates the call advertised (copied; re-gathered on
 * @endpoint, with loopback ones when @loopback, after a change).  Holds
 * references to @signal and @path. */
WzpCallRoam *_wzp_call_roam_new (WzpSignalClient * signal,
    WzpPathManager * path, WzpEndpoint * endpoint, WzpCandidates * local,
    gboolean loopback, WzpClock * clock, GMainContext * context,
    const char *call_id, const char *peer);
void _wzp_call_roam_free (WzpCallRoam * roam);

G_END_DECLS
