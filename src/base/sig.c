/* sig.c - SIGTERM and SIGINT: the first asks a run to stop, a second ends it */
#include "base/sig.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received;
static int caught;

/* Async-signal-safe: a flag, write(2) and sigaction(2) only. */
static void on_signal(int sig)
{
    static const char term[] = "callscope: SIGTERM received: finishing what "
                               "is in hand and stopping (send it again to "
                               "stop at once)\n";
    static const char intr[] = "callscope: SIGINT received: finishing what "
                               "is in hand and stopping (press Ctrl-C again "
                               "to stop at once)\n";
    struct sigaction dfl;
    int saved = errno;
    ssize_t n;

    received = sig;
    /* The next one takes the default action: the end, at once. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    if (sig == SIGINT)
        n = write(2, intr, sizeof(intr) - 1);
    else
        n = write(2, term, sizeof(term) - 1);
    (void)n;
    errno = saved;
}

void cs_sig_catch(void)
{
    struct sigaction sa;

    if (caught)
        return;
    caught = 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int cs_sig_received(void)
{
    return received;
}

const char *cs_sig_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT"
                                                      : "a signal";
}
