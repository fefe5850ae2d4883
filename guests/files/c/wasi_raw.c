/* Raw WASI calls through wasi/api.h, where libc hides the errno: fd_prestat_get/dir_name of
 * the preopens, path_open with O_DIRECTORY on a file, fd_readdir with a tiny buffer,
 * path_filestat_get of a file, fd_filestat_set_size, fd_tell, fd_advise, fd_allocate. */
#include "ft.h"
#include <wasi/api.h>

int
main(int argc, char **argv)
{
    __wasi_prestat_t ps;
    __wasi_fd_t fd, dirfd = 3, file;
    __wasi_errno_t e;
    __wasi_filestat_t st;
    __wasi_filesize_t off;
    __wasi_size_t used;
    uint8_t buf[256];
    char name[128];

    (void)argc;
    (void)argv;
    for (fd = 3; fd < 8; fd++) {
        e = __wasi_fd_prestat_get(fd, &ps);
        if (e) {
            printf("fd_prestat_get(%u) -> %u\n", fd, e);
            break;
        }
        memset(name, 0, sizeof(name));
        e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len);
        printf("preopen fd %u: tag %u name_len %zu name \"%s\" (e %u)\n", fd, ps.tag,
               (size_t)ps.u.dir.pr_name_len, name, e);
    }
    e = __wasi_path_filestat_get(dirfd, 0, "a.txt", &st);
    printf("path_filestat_get a.txt -> %u filetype %u size %llu\n", e, st.filetype,
           (unsigned long long)st.size);
    e = __wasi_path_filestat_get(dirfd, 0, "link_in", &st);
    printf("path_filestat_get link_in nofollow -> %u filetype %u\n", e, st.filetype);
    e = __wasi_path_filestat_get(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_in", &st);
    printf("path_filestat_get link_in follow -> %u filetype %u\n", e, st.filetype);
    e = __wasi_path_open(dirfd, 0, "a.txt", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ, 0, 0,
                         &file);
    printf("path_open a.txt O_DIRECTORY -> %u\n", e);
    e = __wasi_path_open(dirfd, 0, "../outside.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &file);
    printf("path_open ../outside.txt -> %u\n", e);
    e = __wasi_path_open(dirfd, 0, "/etc/passwd", 0, __WASI_RIGHTS_FD_READ, 0, 0, &file);
    printf("path_open /etc/passwd (absolute at the WASI level) -> %u\n", e);
    e = __wasi_path_open(dirfd, 0, "link_out", 0, __WASI_RIGHTS_FD_READ, 0, 0, &file);
    printf("path_open link_out nofollow -> %u\n", e);
    e = __wasi_path_open(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_out", 0,
                         __WASI_RIGHTS_FD_READ, 0, 0, &file);
    printf("path_open link_out follow -> %u\n", e);
    e = __wasi_path_open(dirfd, 0, "sz.bin", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                         __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE
                             | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_TELL
                             | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_ADVISE
                             | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_GET,
                         0, 0, &file);
    printf("path_open sz.bin create -> %u\n", e);
    if (!e) {
        e = __wasi_fd_filestat_set_size(file, 4096);
        printf("fd_filestat_set_size 4096 -> %u\n", e);
        e = __wasi_fd_seek(file, 100, __WASI_WHENCE_SET, &off);
        printf("fd_seek 100 -> %u %llu\n", e, (unsigned long long)off);
        e = __wasi_fd_tell(file, &off);
        printf("fd_tell -> %u %llu\n", e, (unsigned long long)off);
        e = __wasi_fd_advise(file, 0, 10, __WASI_ADVICE_WILLNEED);
        printf("fd_advise -> %u\n", e);
        e = __wasi_fd_allocate(file, 0, 8192);
        printf("fd_allocate 8192 -> %u\n", e);
        e = __wasi_fd_filestat_get(file, &st);
        printf("fd_filestat_get -> %u filetype %u size %llu\n", e, st.filetype,
               (unsigned long long)st.size);
        e = __wasi_fd_seek(file, -1, __WASI_WHENCE_SET, &off);
        printf("fd_seek -1 -> %u\n", e);
        (void)__wasi_fd_close(file);
    }
    e = __wasi_path_open(dirfd, 0, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, 0, 0,
                         &file);
    printf("path_open sub dir -> %u\n", e);
    if (!e) {
        /* A 30-byte buffer holds one 24-byte dirent header and part of a name: fd_readdir
         * fills it completely (truncated entry), the caller sees used == 30. */
        e = __wasi_fd_readdir(file, buf, 30, 0, &used);
        printf("fd_readdir 30-byte buffer -> %u used %zu\n", e, (size_t)used);
        e = __wasi_fd_readdir(file, buf, 0, 0, &used);
        printf("fd_readdir 0-byte buffer -> %u used %zu\n", e, (size_t)used);
        e = __wasi_fd_read(file, &(__wasi_iovec_t){ buf, 4 }, 1, &used);
        printf("fd_read on a directory -> %u\n", e);
        (void)__wasi_fd_close(file);
    }
    e = __wasi_fd_close(99);
    printf("fd_close(99) -> %u\n", e);
    e = __wasi_fd_renumber(dirfd, 50);
    printf("fd_renumber(3, 50) -> %u\n", e);
    return ft_exit();
}
