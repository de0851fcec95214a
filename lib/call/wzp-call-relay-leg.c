/* wzp-call-relay-leg.c — the relay leg of an active 1:1 call */
#include "config.h"

#include "wzp-call-relay-leg.h"

#include <string.h>

void
_wzp_relay_leg_reset (WzpRelayLeg * leg)
{
  memset (leg, 0, sizeof *leg);
}

void
_wzp_relay_leg_set_offer (WzpRelayLeg * leg, const guint8 * call_id,
    const guint8 * caller_eph, const guint8 * offer_sig)
{
  memcpy (leg->proof.call_id, call_id, WZP_CALL_ID_BYTES);
  memcpy (leg->proof.caller_eph, caller_eph, WZP_CALL_EPH_LEN);
  memcpy (leg->proof.offer_sig, offer_sig, WZP_SIGNATURE_LEN);
  leg->have_offer = TRUE;
}

void
_wzp_relay_leg_set_answer (WzpRelayLeg * leg, const guint8 * callee_eph,
    const guint8 * answer_sig)
{
  memcpy (leg->proof.callee_eph, callee_eph, WZP_CALL_EPH_LEN);
  memcpy (leg->proof.answer_sig, answer_sig, WZP_SIGNATURE_LEN);
  leg->have_answer = TRUE;
}

gboolean
_wzp_relay_leg_can_resume (const WzpRelayLeg * leg)
{
  return leg->have_offer && leg->have_answer
      && leg->state != WZP_RELAY_LEG_NONE;
}

void
_wzp_relay_leg_up (WzpRelayLeg * leg, guint32 channel, guint64 now)
{
  leg->state = WZP_RELAY_LEG_UP;
  leg->channel = channel;
  leg->down_since = 0;
  /* Silence is measured from here on, not from before the call. */
  if (leg->last_media == 0)
    leg->last_media = now;
}

void
_wzp_relay_leg_down (WzpRelayLeg * leg, guint64 now)
{
  if (leg->state == WZP_RELAY_LEG_UP)
    leg->down_since = now;
  if (leg->state != WZP_RELAY_LEG_NONE)
    leg->state = WZP_RELAY_LEG_DOWN;
}

void
_wzp_relay_leg_resuming (WzpRelayLeg * leg)
{
  if (leg->state == WZP_RELAY_LEG_DOWN)
    leg->state = WZP_RELAY_LEG_RESUMING;
}

void
_wzp_relay_leg_media (WzpRelayLeg * leg, guint64 now)
{
  leg->last_media = now;
}

guint64
_wzp_relay_leg_silence (const WzpRelayLeg * leg, guint64 now)
{
  guint64 since;

  if (leg->state == WZP_RELAY_LEG_UP || leg->state == WZP_RELAY_LEG_NONE)
    return 0;
  since = MAX (leg->down_since, leg->last_media);
  return now > since ? now - since : 0;
}
