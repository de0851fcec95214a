/* wzp — deadlines for many items on one timer (the relay's registration
 * deadline)
 *
 * Every connection that has not registered must do so within the same
 * timeout, so deadlines arrive in the order the items were added: a FIFO
 * with one timer armed at its head.  A GSource per connection would make
 * every main-loop iteration walk thousands of sources on a busy relay.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include "wzp-clock.h"

G_BEGIN_DECLS

typedef struct _RelayDeadlines RelayDeadlines;

/* @item's deadline passed; it is no longer in the queue (forget its
 * handle). */
typedef void (*RelayDeadlineFunc) (gpointer item, gpointer user_data);

RelayDeadlines *relay_deadlines_new (WzpClock * clock, GMainContext * context,
    RelayDeadlineFunc func, gpointer user_data);
void relay_deadlines_free (RelayDeadlines * self);

/* Returns a handle for relay_deadlines_remove(). */
gpointer relay_deadlines_add (RelayDeadlines * self, gpointer item,
    guint64 deadline);
void relay_deadlines_remove (RelayDeadlines * self, gpointer handle);
guint relay_deadlines_length (RelayDeadlines * self);
void relay_deadlines_clear (RelayDeadlines * self);

G_END_DECLS
