/* wzp-call-private.h — test hooks of WzpCall (not installed) */
#pragma once

#include "wzp-call.h"
#include "wzp-endpoint.h"
#include "wzp-path.h"

G_BEGIN_DECLS

WzpEndpoint *_wzp_call_get_endpoint (WzpCall * self);
/* Before wzp_call_start(): path timings for tests (shorter races). */
void _wzp_call_set_path_timings (WzpCall * self,
    const WzpPathTimings * timings);

G_END_DECLS
