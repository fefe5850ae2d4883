/* pollin: asks poll_oneoff whether stdin is ready, with a 50 ms clock beside it, before and
 * after reading: prints "ready N" (bytes available, as WASI reports them), "timeout" (the
 * clock fired first) or "hangup" (end of file), one line per round, for argv[1] rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    for (int r = 0; r < rounds; r++) {
        __wasi_subscription_t subs[2];
        memset(subs, 0, sizeof subs);
        subs[0].userdata = 1;
        subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
        subs[0].u.u.fd_read.file_descriptor = 0;
        subs[1].userdata = 2;
        subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
        subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        subs[1].u.u.clock.timeout = 50 * 1000 * 1000;
        __wasi_event_t ev[2];
        __wasi_size_t n = 0;
        if (__wasi_poll_oneoff(subs, ev, 2, &n) != 0) {
            puts("poll failed");
            return 1;
        }
        int ready = 0;
        for (__wasi_size_t i = 0; i < n; i++) {
            if (ev[i].userdata == 1 && (ev[i].fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP)) {
                puts("hangup");
                return 0;
            }
            if (ev[i].userdata == 1) {
                printf("ready %llu\n", (unsigned long long)ev[i].fd_readwrite.nbytes);
                ready = 1;
            }
        }
        if (!ready) {
            puts("timeout");
            continue;
        }
        char buf[256];
        ssize_t got = read(0, buf, sizeof buf);
        printf("read %zd\n", got);
        fflush(stdout);
    }
    return 0;
}
