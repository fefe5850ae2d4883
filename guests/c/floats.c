/* floats: libm and IEEE corner cases, printed exactly (%a and %.17g). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static volatile double vz = 0.0, vone = 1.0, vthird = 1.0 / 3.0;
static volatile float fz = 0.0f;

int main(void)
{
    double xs[] = { 0.5, 1.0, 2.0, 3.14159265358979, -7.25, 1e-300, 1e300 };
    for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x = xs[i];
        printf("x=%a sqrt=%a exp=%a log=%a sin=%a cos=%a atan2=%a pow=%a\n", x, sqrt(fabs(x)),
               exp(x), log(fabs(x)), sin(x), cos(x), atan2(x, 0.75), pow(fabs(x), 0.37));
    }
    printf("floor=%g ceil=%g trunc=%g rint(2.5)=%g rint(3.5)=%g nearbyint(-0.5)=%g\n",
           floor(-2.5), ceil(-2.5), trunc(-2.7), rint(2.5), rint(3.5), nearbyint(-0.5));
    printf("fmin(nan,1)=%g fmax(-0,0)=%g copysign=%g fma=%.17g\n", fmin(NAN, 1.0),
           fmax(-0.0, 0.0), copysign(3.0, -0.0), fma(vthird, 3.0, -1.0));
    printf("1/0=%g -1/0=%g 0/0 is nan=%d\n", vone / vz, -vone / vz, isnan(vz / vz));
    printf("f32: %a %a %a\n", (double)(1.0f / 3.0f), (double)sqrtf(2.0f), (double)(FLT_MAX * 2.0f + fz));
    printf("conv: %d %lld %u %d\n", (int)-3.99, (long long)1e18, (unsigned)4e9, (int)(float)16777217);
    printf("denormal: %a %a\n", DBL_MIN / 4.0, (double)(FLT_MIN / 8.0f));
    double acc = 0;
    for (int i = 1; i <= 100000; i++)
        acc += 1.0 / ((double)i * i);
    printf("basel(1e5)=%.17g\n", acc);
    float facc = 0;
    for (int i = 1; i <= 1000; i++)
        facc += sinf((float)i) * 0.001f;
    printf("sinf sum=%.9g\n", (double)facc);
    return 0;
}
