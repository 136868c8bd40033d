/* exit.h - the exit codes of every callscope command */
#ifndef CS_CLI_EXIT_H
#define CS_CLI_EXIT_H

enum cs_exit {
    CS_EXIT_OK = 0,         /* everything done */
    CS_EXIT_ERROR = 1,      /* runtime error: database, I/O, network */
    CS_EXIT_USAGE = 2,      /* bad command line */
    CS_EXIT_INVALID = 3,    /* invalid config or rubric set */
    CS_EXIT_PARTIAL = 4     /* finished, but some input was rejected or
                               some items failed (see the summary) */
};

#endif
