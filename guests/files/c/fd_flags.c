/* Descriptor calls: fcntl F_GETFL/F_SETFL (fd_fdstat_get/set_flags), fsync, fdatasync,
 * posix_fadvise, posix_fallocate, isatty on a file, lseek on a directory. */
#include "ft.h"

int
main(int argc, char **argv)
{
    int fd, fl, dfd;

    ft_init(argc, argv);
    fd = open(P("f.txt"), O_RDWR | O_CREAT, 0644);
    EXPECT(fd >= 0);
    fl = fcntl(fd, F_GETFL);
    printf("F_GETFL accmode O_RDWR %d, append %d\n", (fl & O_ACCMODE) == O_RDWR,
           (fl & O_APPEND) != 0);
    SHOW(write(fd, "one\n", 4));
    SHOW(fcntl(fd, F_SETFL, O_APPEND));
    fl = fcntl(fd, F_GETFL);
    printf("after F_SETFL append %d\n", (fl & O_APPEND) != 0);
    SHOW(lseek(fd, 0, SEEK_SET));
    SHOW(write(fd, "two\n", 4));
    SHOW(fsync(fd));
    SHOW(fdatasync(fd));
    printf("posix_fadvise -> %d\n", posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    printf("posix_fallocate -> %d\n", posix_fallocate(fd, 0, 100));
    printf("isatty -> %d\n", isatty(fd));
    close(fd);
    cat(P("f.txt"));
    SHOW(fsync(fd));
    dfd = open(P("sub"), O_RDONLY | O_DIRECTORY);
    EXPECT(dfd >= 0);
    SHOW(lseek(dfd, 0, SEEK_CUR));
    SHOW(read(dfd, &fl, 1));
    SHOW(fsync(dfd));
    close(dfd);
    return ft_exit();
}
