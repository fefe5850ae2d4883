/* fseek/ftell (SEEK_SET, SEEK_CUR, SEEK_END), lseek past the end and a write there (a hole). */
#include "ft.h"

int
main(int argc, char **argv)
{
    FILE *f;
    int fd, c;
    struct stat st;
    unsigned char buf[16];

    ft_init(argc, argv);
    f = fopen(P("data.bin"), "rb");
    EXPECT(f != NULL);
    if (!f)
        return ft_exit();
    EXPECT(fseek(f, 100, SEEK_SET) == 0);
    printf("ftell after SEEK_SET 100: %ld, byte %d\n", ftell(f), (c = fgetc(f)));
    EXPECT(c == 100);
    EXPECT(fseek(f, 10, SEEK_CUR) == 0);
    printf("ftell after SEEK_CUR +10: %ld, byte %d\n", ftell(f), (c = fgetc(f)));
    EXPECT(c == 111);
    EXPECT(fseek(f, -3, SEEK_END) == 0);
    printf("ftell after SEEK_END -3: %ld, byte %d\n", ftell(f), (c = fgetc(f)));
    EXPECT(c == 253);
    EXPECT(fseek(f, 0, SEEK_END) == 0);
    printf("ftell at end: %ld, fgetc %d\n", ftell(f), fgetc(f));
    SHOW(fseek(f, -1000, SEEK_SET));
    fclose(f);

    fd = open(P("holes.bin"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT(fd >= 0);
    SHOW(write(fd, "AB", 2));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(lseek(fd, 10, SEEK_SET));
    SHOW(write(fd, "CD", 2));
    SHOW(lseek(fd, 0, SEEK_END));
    SHOW(lseek(fd, -5, SEEK_CUR));
    SHOW(lseek(fd, -100, SEEK_CUR));
    EXPECT(fstat(fd, &st) == 0 && st.st_size == 12);
    printf("holes.bin size %lld\n", (long long)st.st_size);
    SHOW(lseek(fd, 0, SEEK_SET));
    memset(buf, 0xee, sizeof(buf));
    SHOW(read(fd, buf, sizeof(buf)));
    for (c = 0; c < 12; c++)
        printf("%02x", buf[c]);
    printf("\n");
    close(fd);
    SHOW(lseek(1, 0, SEEK_CUR) >= 0 ? 0 : -1);
    return ft_exit();
}
