/* behave: misbehaves on request, for the sandbox tests (depfree verify). Built static so it runs in any root.
 *   behave crash          dies of SIGSEGV
 *   behave exit N         exits with status N
 *   behave tree MARKER    forks a child that leaves the session (setsid) and a plain child; all three sleep forever
 *   behave spam N         writes N bytes to stdout and N to stderr
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sleep_forever(void) {
    for (;;)
        pause();
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "crash") == 0) {
        volatile int *p = NULL;
        *p = 1;
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "tree") == 0) {
        pid_t escaped = fork();
        if (escaped == 0) {
            setsid();
            sleep_forever();
        }
        pid_t plain = fork();
        if (plain == 0)
            sleep_forever();
        puts("tree started");
        fflush(stdout);
        sleep_forever();
    }
    if (argc >= 3 && strcmp(argv[1], "spam") == 0) {
        long n = atol(argv[2]);
        char buf[4096];
        memset(buf, 'x', sizeof buf);
        for (long done = 0; done < n; done += (long)sizeof buf) {
            size_t k = (size_t)(n - done < (long)sizeof buf ? n - done : (long)sizeof buf);
            if (fwrite(buf, 1, k, stdout) != k || fwrite(buf, 1, k, stderr) != k)
                return 3;
        }
        return 0;
    }
    fprintf(stderr, "usage: behave crash | exit N | tree MARKER | spam N\n");
    return 2;
}
