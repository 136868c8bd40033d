/* exit.h - the exit codes of every callscope command */
#ifndef CS_CLI_EXIT_H
#define CS_CLI_EXIT_H

enum cs_exit {
    CS_EXIT_OK = 0,         /* everything done */
    CS_EXIT_ERROR = 1,      /* runtime error: database, I/O, network */
    CS_EXIT_USAGE = 2,      /* bad command line */
    CS_EXIT_INVALID = 3,    /* invalid config or rubric set */
    CS_EXIT_PARTIAL = 4,    /* finished, but some input was rejected or
                               some items failed: a tenant's report, a
                               delivery (see the summary) */
    CS_EXIT_LOCKED = 5,     /* not started: another run of the same job
                               holds its lock (nightly, monthly) */
    CS_EXIT_INTERRUPTED = 6 /* stopped by SIGTERM or SIGINT: what was done
                               is stored, the summary says how far it got
                               (base/sig.h); a second signal ends the
                               process at once, killed by that signal */
};

/*
 * One more way to end, not a code of ours: when the reader of stdout goes
 * away (`callscope kpis | head -1`), callscope stops without a message
 * and ends as a filter killed by SIGPIPE does (a shell shows status 141),
 * as git does. SIGPIPE itself is ignored, so a server hanging up is an
 * error return, never the end of the job; see main.c.
 */

#endif
