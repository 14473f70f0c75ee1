/* A TFLite int8 MLP (FULLY_CONNECTED layers, from model.h) run with CMSIS-NN's kernels,
   the ones TensorFlow Lite Micro calls on a Cortex-M: arm_fully_connected_s8 (per-tensor
   weights) or arm_fully_connected_per_channel_s8. Counts instructions per inference as
   scratchnet's firmware does (SysTick ticks x 40 under QEMU's -icount shift=0), checks
   every output byte against the reference (TFLite Micro's), prints one line and exits 0
   only if all are equal. */
#include <stdio.h>
#include <stdlib.h>

#include "arm_nnfunctions.h"
#include "model.h"

#include "systick.h"

static int8_t ping[1024] __attribute__((aligned(4)));
static int8_t pong[1024] __attribute__((aligned(4)));

static void layer(const struct layer *l, const int8_t *x, int8_t *y)
{
    cmsis_nn_context ctx = {NULL, 0};
    cmsis_nn_fc_params fc = {
        .input_offset = l->input_offset,
        .filter_offset = 0,
        .output_offset = l->output_offset,
        .activation = {l->act_min, l->act_max},
    };
    cmsis_nn_dims in = {1, 1, 1, l->in};
    cmsis_nn_dims filter = {l->in, 1, 1, l->out};
    cmsis_nn_dims bias = {1, 1, 1, l->out};
    cmsis_nn_dims out = {1, 1, 1, l->out};
    if (l->per_channel) {
        cmsis_nn_per_channel_quant_params q = {(int32_t *)l->mult, (int32_t *)l->shift};
        arm_fully_connected_per_channel_s8(&ctx, &fc, &q, &in, x, &filter, l->w, &bias, l->b, &out, y);
    } else {
        cmsis_nn_per_tensor_quant_params q = {l->mult[0], l->shift[0]};
        arm_fully_connected_s8(&ctx, &fc, &q, &in, x, &filter, l->w, &bias, l->b, &out, y);
    }
}

int main(void)
{
    systick_start();
    uint32_t ticks = 0, equal = 0;
    for (int r = 0; r < ROWS; r++) {
        const int8_t *x = &inputs[r * IN];
        int8_t *y = ping;
        uint32_t before = SYST_CVR;
        for (int k = 0; k < LAYERS; k++) {
            layer(&layers[k], x, y);
            x = y;
            y = (y == ping) ? pong : ping;
        }
        uint32_t after = SYST_CVR;
        ticks += (before - after) & 0xFFFFFF;
        for (int j = 0; j < OUT; j++) {
            equal += (x[j] == expected[r * OUT + j]);
        }
    }
    printf("outputs equal to the reference: %lu/%d\n", (unsigned long)equal, ROWS * OUT);
    printf("instructions_per_inference=%lu\n", (unsigned long)(ticks / ROWS * 40 + ticks % ROWS * 40 / ROWS));
    return equal == ROWS * OUT ? 0 : 1;
}
