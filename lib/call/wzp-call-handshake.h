/* wzp-call-handshake.h — a 1:1 call's key exchange through the relay
 * (private)
 *
 * The caller makes a call id and an ephemeral X25519 key and signs an
 * offer; the callee verifies it (wzp-call-incoming.h) and signs an answer
 * with its own key; the relay's call-setup brings each side the other's
 * half, which is checked against what was sent.  This is that exchange,
 * and the candidates each side offers: data in, data out.  It records
 * both signed halves in the relay leg (the proof for resume-call) and
 * calls nothing back: WzpCall drives it and turns its results into
 * states.
 */
#pragma once

#include "wzp-call-offer.h"
#include "wzp-call-incoming.h"
#include "wzp-call-relay-leg.h"
#include "wzp-candidates.h"
#include "wzp-media-crypto.h"
#include "wzp-signal-client.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean is_caller;
  guint8 call_id_bin[WZP_CALL_ID_BYTES];
  WzpX25519Key *eph;            /* ours, until the media keys exist */
  guint8 caller_eph[WZP_EPH_KEY_LEN];
} WzpCallHandshake;

/* Forgets everything (frees our ephemeral key). */
void _wzp_call_handshake_reset (WzpCallHandshake * hs);

/* Caller: a new call id (hex in @call_id, caller frees) and ephemeral key,
 * and the offer to @peer signed by @me, carrying @candidates and our
 * @nat.  Records the offer in @leg. */
JsonObject *_wzp_call_handshake_offer (WzpCallHandshake * hs,
    WzpIdentity * me, const char *peer, WzpCandidates * candidates,
    const char *nat, WzpRelayLeg * leg, char **call_id, GError ** error);

/* Callee: takes up the verified incoming call @in and makes the signed
 * answer.  Records the offer, the answer and the caller's key in @leg. */
JsonObject *_wzp_call_handshake_answer (WzpCallHandshake * hs,
    WzpIdentity * me, const WzpCallIncoming * in, WzpCandidates * candidates,
    const char *nat, WzpRelayLeg * leg, GError ** error);

/* The relay set up the call with @peer: checks the peer's key is its
 * fingerprint's and its offer (or answer) is signed for this call and
 * these keys.  Fills @info (clear with _wzp_offer_info_clear()) and
 * records the peer's half and key in @leg.  A WZP_CALL_ERROR_BAD_PEER
 * when the peer fails. */
gboolean _wzp_call_handshake_check_setup (WzpCallHandshake * hs,
    WzpIdentity * me, const char *peer, const WzpCallSetup * setup,
    WzpRelayLeg * leg, WzpOfferInfo * info, GError ** error);

/* Our host candidates on @endpoint (with loopback ones when asked); an
 * empty set, logged, when there are none. */
WzpCandidates *_wzp_call_candidates_gather (WzpEndpoint * endpoint,
    gboolean loopback);

/* The peer's candidates as the call knows them: host ones from its offer
 * or answer (@hosts, of "ip:port"; may be NULL), the reflexive one from
 * call-setup (@peer_reflexive, may be NULL). */
WzpCandidates *_wzp_call_peer_candidates (GPtrArray * hosts,
    GSocketAddress * peer_reflexive);

G_END_DECLS
