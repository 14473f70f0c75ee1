/* What the f32 harnesses (fc_f32.c, mnist_f32.c) share: the peer chosen at compile time
   (-DPEER_CMSIS_NN, -DPEER_CMSIS_DSP or -DPEER_EMLEARN), SysTick, and one dense layer
   `y = x·W + b` by CMSIS-NN or CMSIS-DSP. Include it after the model header, which defines
   `struct layer { int in, out; const float *w, *wt, *b; }` (wt: W transposed, out x in). */
#include <float.h>
#include <stdint.h>

#if defined(PEER_CMSIS_NN)
#include "arm_nnfunctions.h"
#elif defined(PEER_CMSIS_DSP)
#include "arm_math.h"
#elif defined(PEER_EMLEARN)
#include "eml_net.h"
#else
#error "define PEER_CMSIS_NN, PEER_CMSIS_DSP or PEER_EMLEARN"
#endif

#include "systick.h"

#if !defined(PEER_EMLEARN)
/* y = x·W + b for layer l, then ReLU if `relu`; 0, or -1 if the peer returns an error. */
static int peer_layer(const struct layer *l, const float *x, float *y, int relu)
{
#if defined(PEER_CMSIS_NN)
    cmsis_nn_context ctx = {NULL, 0};
    cmsis_nn_fc_params_f32 fc = {
        .activation = {relu ? 0.0f : -FLT_MAX, FLT_MAX},
        .weight_format = ARM_NN_WEIGHT_FORMAT_STANDARD,
    };
    cmsis_nn_dims in = {1, 1, 1, l->in};
    cmsis_nn_dims filter = {l->in, 1, 1, l->out};
    cmsis_nn_dims bias = {1, 1, 1, l->out};
    cmsis_nn_dims out = {1, 1, 1, l->out};
    return arm_fully_connected_f32(&ctx, &fc, &in, x, &filter, l->wt, &bias, l->b, &out, y, ARM_NN_LAYOUT_NHWC) ==
                   ARM_CMSIS_NN_SUCCESS
               ? 0
               : -1;
#else
    arm_matrix_instance_f32 m = {(uint16_t)l->out, (uint16_t)l->in, (float32_t *)l->wt};
    arm_mat_vec_mult_f32(&m, x, y);
    arm_add_f32(y, l->b, y, (uint32_t)l->out);
    if (relu) {
        for (int j = 0; j < l->out; j++) {
            y[j] = y[j] > 0.0f ? y[j] : 0.0f;
        }
    }
    return 0;
#endif
}
#endif
