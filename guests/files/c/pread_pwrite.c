/* pread/pwrite at explicit offsets; the file offset does not move. */
#include "ft.h"

int
main(int argc, char **argv)
{
    int fd;
    char buf[32];
    unsigned char b[4];

    ft_init(argc, argv);
    fd = open(P("p.txt"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT(fd >= 0);
    SHOW(write(fd, "0123456789", 10));
    SHOW(lseek(fd, 2, SEEK_SET));
    EXPECT(SHOW(pwrite(fd, "AB", 2, 5)) == 2);
    EXPECT(SHOW(pwrite(fd, "XY", 2, 14)) == 2);
    EXPECT(SHOW(lseek(fd, 0, SEEK_CUR)) == 2);
    memset(buf, 0, sizeof(buf));
    EXPECT(SHOW(pread(fd, buf, 4, 4)) == 4);
    printf("pread 4@4: [%s]\n", buf);
    memset(buf, 0, sizeof(buf));
    SHOW(pread(fd, buf, 31, 12));
    printf("pread @12: %02x %02x %c %c\n", buf[0], buf[1], buf[2], buf[3]);
    SHOW(pread(fd, buf, 4, 100));
    SHOW(pread(fd, buf, 4, -1));
    EXPECT(SHOW(lseek(fd, 0, SEEK_CUR)) == 2);
    SHOW(read(fd, buf, 3));
    printf("read at 2: %.3s\n", buf);
    close(fd);
    cat(P("p.txt"));
    fd = open(P("data.bin"), O_RDONLY);
    EXPECT(fd >= 0);
    EXPECT(SHOW(pread(fd, b, 4, 252)) == 4);
    printf("data.bin@252: %u %u %u %u\n", b[0], b[1], b[2], b[3]);
    SHOW(pwrite(fd, "x", 1, 0));
    close(fd);
    return ft_exit();
}
