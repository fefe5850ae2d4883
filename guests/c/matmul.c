/* matmul: 96x96 integer and double matrix multiplies; prints checksums. */
#include <stdint.h>
#include <stdio.h>

#define N 96
static int32_t ia[N][N], ib[N][N], ic[N][N];
static double da[N][N], db[N][N], dc[N][N];

int main(void)
{
    uint32_t x = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            x = x * 1664525u + 1013904223u;
            ia[i][j] = (int32_t)(x >> 20) - 2048;
            ib[j][i] = (int32_t)(x >> 12 & 0xfff) - 2048;
            da[i][j] = (double)ia[i][j] / 7.0;
            db[j][i] = (double)ib[j][i] / 3.0;
        }
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int32_t s = 0;
                double d = 0;
                for (int k = 0; k < N; k++) {
                    s += ia[i][k] * ib[k][j];
                    d += da[i][k] * db[k][j];
                }
                ic[i][j] = s + r;
                dc[i][j] = d + r;
            }
    uint64_t isum = 0;
    double dsum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            isum = isum * 31 + (uint32_t)ic[i][j];
            dsum += dc[i][j] * (double)((i ^ j) & 7);
        }
    printf("int checksum=%016llx\n", (unsigned long long)isum);
    printf("double checksum=%.10e\n", dsum);
    return 0;
}
