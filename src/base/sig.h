/* sig.h - SIGTERM and SIGINT: the first asks a run to stop, a second ends it */
#ifndef CS_BASE_SIG_H
#define CS_BASE_SIG_H

/*
 * Usage (a command that can stop cleanly):
 *
 *     cs_sig_catch();
 *     while (more work && !cs_sig_received())
 *         ...;                    // finish the item in hand, then stop
 *     if (cs_sig_received())
 *         ...                     // store what is done, say so, and exit
 *                                 // with CS_EXIT_INTERRUPTED
 *
 * After cs_sig_catch, the first SIGTERM or SIGINT only sets a flag that
 * the run polls (cs_sig_received) and prints one line on stderr saying
 * the run is stopping; the handlers then go back to the default, so a
 * second signal ends the process at once, as it would have without them
 * (what is committed stays committed; the server drops the claims and
 * rolls back what a killed connection left open). System calls are
 * restarted (SA_RESTART), so a signal is never an I/O error. Commands
 * that do not call cs_sig_catch keep the default: they end at once.
 */

/* Installs the handlers (again: a no-op). */
void cs_sig_catch(void);

/* 0, or the first signal caught (SIGTERM or SIGINT). */
int cs_sig_received(void);

/* "SIGTERM", "SIGINT", or "a signal". */
const char *cs_sig_name(int sig);

#endif
