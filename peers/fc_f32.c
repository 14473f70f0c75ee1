/* An f32 MLP (ReLU hidden layers, identity last: dense.h, written by
   host-tools/examples/dense_bench.rs) run by one peer, chosen at compile time:
     -DPEER_CMSIS_NN   CMSIS-NN arm_fully_connected_f32 (weights transposed, out x in)
     -DPEER_CMSIS_DSP  CMSIS-DSP arm_mat_vec_mult_f32 (out x in), then the bias and ReLU
     -DPEER_EMLEARN    emlearn eml_net_regress (weights in x out, as the book's)
   Counts instructions per inference as scratchnet's firmware does (SysTick ticks x 40
   under QEMU's -icount shift=0), takes each row's class (argmax) and prints how many equal
   the float64 forward pass's; exits 0 only if all do. */
#include <stdio.h>

#include "dense.h"
#include "f32_peer.h"

#define MAXW 1024
static float ping[MAXW], pong[MAXW];

#if defined(PEER_EMLEARN)
static EmlNetLayer eml_layers[LAYERS];
static EmlNet net = {LAYERS, eml_layers, ping, pong, MAXW};
static float out_buf[OUT];
#endif

/* One inference of row x; returns the outputs, or NULL if the peer returns an error. */
static const float *infer(const float *x)
{
#if defined(PEER_EMLEARN)
    if (eml_net_regress(&net, x, IN, out_buf, OUT) != EmlOk) {
        return NULL;
    }
    return out_buf;
#else
    float *y = ping;
    for (int k = 0; k < LAYERS; k++) {
        const struct layer *l = &layers[k];
        int last = k == LAYERS - 1;
        if (peer_layer(l, x, y, !last) != 0) {
            return NULL;
        }
        x = y;
        y = (y == ping) ? pong : ping;
    }
    return x;
#endif
}

int main(void)
{
#if defined(PEER_EMLEARN)
    for (int k = 0; k < LAYERS; k++) {
        eml_layers[k] = (EmlNetLayer){layers[k].out, layers[k].in, layers[k].w, layers[k].b,
                                      k == LAYERS - 1 ? EmlNetActivationIdentity : EmlNetActivationRelu};
    }
#endif
    systick_start();
    uint32_t ticks = 0, equal = 0;
    for (int r = 0; r < ROWS; r++) {
        uint32_t before = SYST_CVR;
        const float *y = infer(&inputs[r * IN]);
        uint32_t after = SYST_CVR;
        ticks += (before - after) & 0xFFFFFF;
        if (!y) {
            printf("the peer refused row %d\n", r);
            return 1;
        }
        int best = 0;
        for (int j = 1; j < OUT; j++) {
            if (y[j] > y[best]) {
                best = j;
            }
        }
        equal += best == classes[r];
    }
    printf("classes equal to the reference: %lu/%d\n", (unsigned long)equal, ROWS);
    printf("instructions_per_inference=%lu\n", (unsigned long)(ticks / ROWS * 40 + ticks % ROWS * 40 / ROWS));
    return equal == ROWS ? 0 : 1;
}
