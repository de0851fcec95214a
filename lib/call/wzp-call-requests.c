/* wzp-call-requests.c — what other threads ask of a call
 *
 * wzp_call_send_frame(), wzp_call_hangup(), wzp_call_answer() and
 * wzp_call_reject() may be called from any thread (GStreamer streaming
 * threads, an application's): they queue the request under the call's
 * lock and wake its context, where wzp-call.c acts on it.  A helper of
 * wzp-call.c: it calls nothing of the core's.
 */
#include "config.h"

#include "wzp-call-internal.h"
#include "wzp-log-private.h"

#include <string.h>

#define WZP_CAT_DEFAULT wzp_cat_call

static gboolean
is_over (WzpCallState s)
{
  return s == WZP_CALL_STATE_ENDED || s == WZP_CALL_STATE_FAILED;
}

static void
wake (WzpCall * self)
{
  /* Thread-safe: wakes the context if it is polling. */
  if (self->wake)
    g_source_set_ready_time (self->wake, 0);
}

/**
 * wzp_call_send_frame:
 * @self: a call
 * @timestamp: the frame's media timestamp, 48 kHz units (RFC 7587)
 * @marker: the first frame of a talkspurt
 * @data: (array length=len): an Opus frame
 * @len: its length, at most %WZP_CALL_MAX_FRAME
 *
 * Seals and sends one frame on the current path.  Any thread; never
 * blocks: the frame is queued and the call's context sends it.
 *
 * Returns: %FALSE when the call is not active (the frame is dropped, and
 *   not counted); otherwise %TRUE, and a frame that cannot go out
 *   (congestion, too long) is dropped and counted in
 *   #WzpCallStats.frames_dropped_send
 */
gboolean
wzp_call_send_frame (WzpCall * self, guint32 timestamp, gboolean marker,
    const guint8 * data, gsize len)
{
  gboolean warn = FALSE;
  Frame *f;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  g_mutex_lock (&self->lock);
  if (self->state != WZP_CALL_STATE_ACTIVE) {
    g_mutex_unlock (&self->lock);
    return FALSE;
  }
  if (len > WZP_CALL_MAX_FRAME) {
    /* No packet carries it: dropped, counted, and said once a call. */
    warn = !self->warned_too_long;
    self->warned_too_long = TRUE;
    g_mutex_unlock (&self->lock);
    if (warn)
      WZP_WARNING_OBJECT (self, "dropping frames of more than %d bytes "
          "(this one: %" G_GSIZE_FORMAT "): no packet carries them; "
          "counted in frames_dropped_send", WZP_CALL_MAX_FRAME, len);
    _wzp_call_media_count_dropped (&self->media);
    return TRUE;
  }
  if (self->send_queue.length >= SEND_QUEUE_MAX) {
    /* The context is not keeping up: a real-time sender drops. */
    g_mutex_unlock (&self->lock);
    _wzp_call_media_count_dropped (&self->media);
    return TRUE;
  }
  f = g_malloc (sizeof (Frame) + len);
  f->timestamp = timestamp;
  f->marker = marker;
  f->len = len;
  memcpy (f->data, data, len);
  g_queue_push_tail (&self->send_queue, f);
  g_mutex_unlock (&self->lock);
  wake (self);
  return TRUE;
}

/**
 * wzp_call_hangup:
 * @self: a call
 *
 * Hangs up (or rejects the incoming call that rings, or leaves the
 * room).  Any thread; the call ends (%WZP_CALL_STATE_ENDED) on its
 * context.
 */
void
wzp_call_hangup (WzpCall * self)
{
  g_return_if_fail (WZP_IS_CALL (self));
  g_mutex_lock (&self->lock);
  self->hangup_requested = TRUE;
  g_mutex_unlock (&self->lock);
  wake (self);
}

static gboolean
request_answer (WzpCall * self, const char *call_id, AnswerRequest answer)
{
  gboolean ok;

  g_return_val_if_fail (WZP_IS_CALL (self), FALSE);
  g_mutex_lock (&self->lock);
  ok = call_id && self->ringing_call_id &&
      g_ascii_strcasecmp (call_id, self->ringing_call_id) == 0 &&
      !is_over (self->state);
  if (ok && self->answer == ANSWER_NONE)
    self->answer = answer;
  g_mutex_unlock (&self->lock);
  if (ok)
    wake (self);
  return ok;
}

/**
 * wzp_call_answer:
 * @self: a call
 * @call_id: the incoming call (from #WzpCall::incoming-call)
 *
 * Any thread.  Accepts the ringing incoming call; the call then goes on
 * as with the "auto" policy.  The first of wzp_call_answer() and
 * wzp_call_reject() decides.
 *
 * Returns: %TRUE if @call_id is ringing here (the answer is on its way)
 */
gboolean
wzp_call_answer (WzpCall * self, const char *call_id)
{
  return request_answer (self, call_id, ANSWER_ACCEPT);
}

/**
 * wzp_call_reject:
 * @self: a call
 * @call_id: the incoming call
 *
 * Any thread.  Rejects the ringing incoming call; the call goes back to
 * waiting for the next one.
 *
 * Returns: %TRUE if @call_id is ringing here
 */
gboolean
wzp_call_reject (WzpCall * self, const char *call_id)
{
  return request_answer (self, call_id, ANSWER_REJECT);
}
