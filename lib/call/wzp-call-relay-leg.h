/* wzp-call-relay-leg.h — the relay leg of an active 1:1 call (private)
 *
 * What a call needs to outlive its relay: whether the relay carries the
 * call now and on which channel, the proof (the call id and both signed
 * halves of the key exchange) that lets a relay that forgot the call
 * carry it again (resume-call), the peer's key to name it by, and the
 * times that decide when a call with neither media nor relay has failed.
 * Plain data with small functions; it calls nobody: the call drives it.
 */
#pragma once

#include "wzp-call-proof.h"

G_BEGIN_DECLS

typedef enum
{
  WZP_RELAY_LEG_NONE,           /* no call set up */
  WZP_RELAY_LEG_UP,             /* the relay carries the call */
  WZP_RELAY_LEG_DOWN,           /* relay lost, or the relay dropped the call */
  WZP_RELAY_LEG_RESUMING,       /* resume-call sent, waiting for call-resumed */
} WzpRelayLegState;

typedef struct
{
  WzpRelayLegState state;
  guint32 channel;
  WzpCallProof proof;
  gboolean have_offer;
  gboolean have_answer;
  guint8 peer_key[WZP_PUBLIC_KEY_LEN];
  guint64 down_since;           /* when it stopped carrying the call */
  guint64 last_media;           /* last frame received on either path */
} WzpRelayLeg;

void _wzp_relay_leg_reset (WzpRelayLeg * leg);
void _wzp_relay_leg_set_offer (WzpRelayLeg * leg, const guint8 * call_id,
    const guint8 * caller_eph, const guint8 * offer_sig);
void _wzp_relay_leg_set_answer (WzpRelayLeg * leg, const guint8 * callee_eph,
    const guint8 * answer_sig);
gboolean _wzp_relay_leg_can_resume (const WzpRelayLeg * leg);

/* The relay set the call up (or carries it again) on @channel. */
void _wzp_relay_leg_up (WzpRelayLeg * leg, guint32 channel, guint64 now);
void _wzp_relay_leg_down (WzpRelayLeg * leg, guint64 now);
void _wzp_relay_leg_resuming (WzpRelayLeg * leg);
void _wzp_relay_leg_media (WzpRelayLeg * leg, guint64 now);
/* How long the call has had neither the relay nor media; 0 while the
 * relay carries it. */
guint64 _wzp_relay_leg_silence (const WzpRelayLeg * leg, guint64 now);

G_END_DECLS
