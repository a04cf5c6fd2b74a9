/* A ready list: the elements (connections, relays, sockets) whose events
 * came in since the loop's last step, each listed once, handled in the
 * next step.  The owner holds `ready` and `ready_tail`, an element `rnext`
 * and `queued`; macros, because each loop's element type is its own. */
#ifndef TAPIR_TOOLS_READYQ_H
#define TAPIR_TOOLS_READYQ_H

#include <stdbool.h>
#include <stddef.h>

#define READYQ_INIT(o) ((o)->ready = NULL, (o)->ready_tail = &(o)->ready)

/* E onto O's list, unless it is there already */
#define READYQ_PUSH(o, e)                                  \
	do {                                               \
		if (!(e)->queued) {                        \
			(e)->queued = true;                \
			(e)->rnext = NULL;                 \
			*(o)->ready_tail = (e);            \
			(o)->ready_tail = &(e)->rnext;     \
		}                                          \
	} while (0)

/* The list as it stands into LIST, O's left empty: what the steps make
 * ready waits for the next step, so one busy element cannot hold the
 * thread. */
#define READYQ_TAKE(o, list) ((list) = (o)->ready, READYQ_INIT(o))

/* The next element of a taken LIST into E, no longer queued; false at the
 * end:  while (READYQ_POP(list, e)) ... */
#define READYQ_POP(list, e) (((e) = (list)) != NULL && ((list) = (e)->rnext, (e)->queued = false, true))

#endif
