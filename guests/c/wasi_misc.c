/* wasi_misc: the less common WASI calls a command uses, with deterministic output: stdin at EOF
 * (fd_read), fd_fdstat_get, fd_seek on stdout, fd_prestat_get (no preopens), random_get,
 * clock_time_get / clock_res_get, poll_oneoff via nanosleep, sched_yield, fd_close, and a
 * write to a closed descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

int main(void)
{
    char buf[64];
    ssize_t n = read(0, buf, sizeof buf);
    printf("read(stdin) = %zd\n", n);

    __wasi_fdstat_t st;
    for (int fd = 0; fd < 3; fd++) {
        __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
        printf("fd_fdstat_get(%d) = %u\n", fd, e);
    }
    printf("fd_fdstat_get(9) = %u\n", __wasi_fd_fdstat_get(9, &st));

    __wasi_prestat_t pre;
    printf("fd_prestat_get(3) = %u (EBADF=%u)\n", __wasi_fd_prestat_get(3, &pre), __WASI_ERRNO_BADF);

    unsigned char rnd[32] = { 0 };
    __wasi_errno_t re = __wasi_random_get(rnd, sizeof rnd);
    int nonzero = 0;
    for (unsigned i = 0; i < sizeof rnd; i++)
        nonzero |= rnd[i];
    printf("random_get = %u, some bits set = %d\n", re, nonzero != 0);

    __wasi_timestamp_t res = 0, t0 = 0, t1 = 0;
    printf("clock_res_get(MONOTONIC) = %u, res>0 = %d\n",
           __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res), res > 0);
    __wasi_errno_t e0 = __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0);
    struct timespec ts = { 0, 2 * 1000 * 1000 };
    int sl = nanosleep(&ts, NULL);
    __wasi_errno_t e1 = __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1);
    printf("clock_time_get = %u %u, nanosleep(2 ms) = %d, elapsed >= 1 ms = %d\n", e0, e1, sl,
           t1 - t0 >= 1000000);
    __wasi_timestamp_t rt = 0;
    __wasi_errno_t e2 = __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &rt);
    printf("clock_time_get(REALTIME) = %u, after 2020 = %d\n", e2, rt > 1577836800ull * 1000000000ull);
    printf("sched_yield = %d\n", sched_yield());

    fflush(stdout);
    errno = 0;
    off_t off = lseek(1, 0, SEEK_CUR);
    printf("lseek(stdout) = %s\n", off < 0 ? strerror(errno) : "ok");
    printf("open(\"x\") = %d (%s)\n", open("x", O_RDONLY), strerror(errno));
    fflush(stdout);
    printf("close(2) = %d\n", close(2));
    fflush(stdout);
    errno = 0;
    ssize_t w = write(2, "lost\n", 5);
    printf("write(closed stderr) = %zd (%s)\n", w, strerror(errno));
    return 0;
}
