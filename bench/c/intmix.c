/* intmix: CoreMark-like integer mix. Per iteration: a linked list (build, find, reverse,
 * merge sort), a small integer matrix multiply with a bit-extract pass, a state machine over
 * a generated text, and a CRC-16 over all results. */
#include <string.h>
#include "bench.h"

#define LIST_N 256
#define MAT_N 24
#define TEXT_N 1024

struct node {
    struct node *next;
    int32_t key;
    int32_t val;
};

static struct node pool[LIST_N];
static int32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];
static char text[TEXT_N + 1];

static uint16_t crc16(uint16_t crc, uint32_t v)
{
    for (int i = 0; i < 32; i++) {
        int bit = ((crc ^ v) & 1) != 0;
        v >>= 1;
        crc >>= 1;
        if (bit)
            crc ^= 0xA001;
    }
    return crc;
}

static struct node *list_reverse(struct node *h)
{
    struct node *prev = NULL;
    while (h) {
        struct node *n = h->next;
        h->next = prev;
        prev = h;
        h = n;
    }
    return prev;
}

static struct node *list_sort(struct node *h, int by_key)
{
    /* bottom-up merge sort */
    int k = 1;
    for (;;) {
        struct node *p = h, *tail = NULL, *out = NULL;
        int merges = 0;
        while (p) {
            merges++;
            struct node *q = p;
            int psize = 0;
            for (int i = 0; i < k && q; i++) {
                psize++;
                q = q->next;
            }
            int qsize = k;
            while (psize > 0 || (qsize > 0 && q)) {
                struct node *e;
                if (psize == 0) {
                    e = q; q = q->next; qsize--;
                } else if (qsize == 0 || !q) {
                    e = p; p = p->next; psize--;
                } else if ((by_key ? p->key - q->key : p->val - q->val) <= 0) {
                    e = p; p = p->next; psize--;
                } else {
                    e = q; q = q->next; qsize--;
                }
                if (tail) tail->next = e; else out = e;
                tail = e;
            }
            p = q;
        }
        tail->next = NULL;
        h = out;
        if (merges <= 1)
            return h;
        k *= 2;
    }
}

static int state_machine(const char *s, int counts[4])
{
    /* states: 0 start, 1 integer, 2 float, 3 exponent, 4 invalid */
    int st = 0, transitions = 0;
    for (; *s; s++) {
        char c = *s;
        int prev = st;
        if (c == ',') {
            if (st >= 1 && st <= 3) counts[st - 1]++;
            else if (st == 4) counts[3]++;
            st = 0;
        } else if (st == 0) {
            st = (c >= '0' && c <= '9') || c == '+' || c == '-' ? 1 : c == '.' ? 2 : 4;
        } else if (st == 1) {
            st = c >= '0' && c <= '9' ? 1 : c == '.' ? 2 : c == 'e' ? 3 : 4;
        } else if (st == 2) {
            st = c >= '0' && c <= '9' ? 2 : c == 'e' ? 3 : 4;
        } else if (st == 3) {
            st = c >= '0' && c <= '9' ? 3 : 4;
        }
        transitions += prev != st;
    }
    return transitions;
}

int main(int argc, char **argv)
{
    long iters = bench_size(argc, argv, 8000);
    uint64_t seed = 0x1234567;
    uint16_t crc = 0;
    static const char alpha[] = "0123456789.e+-,x";
    for (long it = 0; it < iters; it++) {
        /* list */
        for (int i = 0; i < LIST_N; i++) {
            pool[i].next = i + 1 < LIST_N ? &pool[i + 1] : NULL;
            pool[i].key = (int32_t)(bench_rand(&seed) & 0xffff);
            pool[i].val = i ^ (int32_t)it;
        }
        struct node *h = &pool[0];
        h = list_reverse(h);
        h = list_sort(h, 1);
        int32_t want = pool[it % LIST_N].key, pos = 0;
        for (struct node *n = h; n; n = n->next, pos++)
            if (n->key == want) break;
        crc = crc16(crc, (uint32_t)pos);
        h = list_sort(h, 0);
        crc = crc16(crc, (uint32_t)(h->key ^ h->next->val));
        /* matrix */
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                ma[i][j] = (int32_t)(bench_rand(&seed) & 0xff) - 128;
                mb[i][j] = (i * 7 + j * 3 + (int)it) & 0x7f;
            }
        uint32_t macc = 0;
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                int32_t s = 0;
                for (int k = 0; k < MAT_N; k++)
                    s += ma[i][k] * mb[k][j];
                mc[i][j] = s;
                macc += ((uint32_t)s >> 3) & 0xf;
            }
        crc = crc16(crc, macc ^ (uint32_t)mc[it % MAT_N][(it / 3) % MAT_N]);
        /* state machine */
        if (it % 8 == 0) {
            for (int i = 0; i < TEXT_N; i++)
                text[i] = alpha[bench_rand(&seed) & 15];
            text[TEXT_N] = 0;
        }
        int counts[4] = {0, 0, 0, 0};
        int tr = state_machine(text, counts);
        crc = crc16(crc, (uint32_t)(tr ^ counts[0] << 8 ^ counts[1] << 16 ^ counts[3] << 24));
    }
    bench_report("intmix", crc);
    return 0;
}
