/* The book's MNIST network quantized as TensorFlow Lite's post-training int8 quantization
   would (mnist_s8.h, written by host-tools/examples/mnist_s8_peer.rs) run with CMSIS-NN's
   kernels, the ones TensorFlow Lite Micro calls on a Cortex-M: pixels - 128 (scale 1/255,
   zero point -128), arm_fully_connected_per_channel_s8, the hidden layers' LOGISTIC as a
   256-entry table of TFLite Micro's int8 logistic, arm_softmax_s8. The class is the first
   largest softmax output. Counts and prints as mnist_f32.c (mnist_run.h). */
#include <stdint.h>

#include "arm_nnfunctions.h"
#include "mnist_s8.h"
#include "systick.h"
#include "mnist_run.h"

static int8_t x[784] __attribute__((aligned(4)));
static int8_t ping[100] __attribute__((aligned(4)));
static int8_t pong[100] __attribute__((aligned(4)));

/* y = requantize(x·W + b) for layer l; 0, or -1 if CMSIS-NN returns an error. */
static int layer(const struct s8_layer *l, const int8_t *in, int8_t *y)
{
    cmsis_nn_context ctx = {NULL, 0};
    cmsis_nn_fc_params fc = {
        .input_offset = l->input_offset,
        .filter_offset = 0,
        .output_offset = l->output_offset,
        .activation = {-128, 127},
    };
    cmsis_nn_per_channel_quant_params q = {(int32_t *)l->mult, (int32_t *)l->shift};
    cmsis_nn_dims in_dims = {1, 1, 1, l->in};
    cmsis_nn_dims filter = {l->in, 1, 1, l->out};
    cmsis_nn_dims bias = {1, 1, 1, l->out};
    cmsis_nn_dims out = {1, 1, 1, l->out};
    return arm_fully_connected_per_channel_s8(&ctx, &fc, &q, &in_dims, in, &filter, l->w, &bias, l->b, &out, y) ==
                   ARM_CMSIS_NN_SUCCESS
               ? 0
               : -1;
}

static int classify(const uint8_t *pixels)
{
    for (int i = 0; i < 784; i++) {
        x[i] = (int8_t)(pixels[i] - 128);
    }
    const int8_t *in = x;
    for (int k = 0; k < 3; k++) {
        const struct s8_layer *l = &s8_layers[k];
        if (layer(l, in, ping) != 0) {
            return -1;
        }
        if (k < 2) {
            for (int j = 0; j < l->out; j++) {
                pong[j] = logistic[k][ping[j] + 128];
            }
        } else {
            arm_softmax_s8(ping, 1, l->out, SOFTMAX_MULT, SOFTMAX_SHIFT, SOFTMAX_DIFF_MIN, pong);
        }
        in = pong;
    }
    int best = 0;
    for (int j = 1; j < 10; j++) {
        if (in[j] > in[best]) {
            best = j;
        }
    }
    return best;
}

int main(void)
{
    return mnist_run(classify);
}
