/* The book's MNIST network (784-50-100-10: sigmoid, sigmoid, softmax; mnist.h, written by
   host-tools/examples/mnist_peer.rs) run by one peer, chosen at compile time like
   fc_f32.c: -DPEER_CMSIS_NN (arm_fully_connected_f32), -DPEER_CMSIS_DSP
   (arm_mat_vec_mult_f32 + arm_add_f32), -DPEER_EMLEARN (eml_net). Sigmoid and softmax use
   newlib's expf. Reads the 10 000 test images, labels and numpy's predictions over
   semihosting from DATA_DIR; counts the instructions of each inference from u8 pixels to
   class as scratchnet's firmware does (SysTick ticks x 40 under -icount shift=0); prints
   accuracy and agreement with numpy. */
#include <math.h>

#include "mnist.h"
#include "f32_peer.h"
#include "mnist_run.h"

static float x[784], ping[100], pong[100];

#if defined(PEER_EMLEARN)
/* eml_net needs both buffers as large as the largest layer, its input included. */
static float eml1[784], eml2[784];
static EmlNetLayer eml_layers[LAYERS];
static EmlNet net = {LAYERS, eml_layers, eml1, eml2, 784};
static float probs[10];
#endif

static void sigmoid(float *v, int n)
{
    for (int j = 0; j < n; j++) {
        v[j] = 1.0f / (1.0f + expf(-v[j]));
    }
}

static void softmax(float *v, int n)
{
    float c = v[0], sum = 0.0f;
    for (int j = 1; j < n; j++) {
        c = v[j] > c ? v[j] : c;
    }
    for (int j = 0; j < n; j++) {
        v[j] = expf(v[j] - c);
        sum += v[j];
    }
    for (int j = 0; j < n; j++) {
        v[j] /= sum;
    }
}

/* The class of one image, or -1 if the peer returns an error. */
static int classify(const uint8_t *pixels)
{
    for (int i = 0; i < 784; i++) {
        x[i] = pixels[i] / 255.0f;
    }
    const float *y;
#if defined(PEER_EMLEARN)
    if (eml_net_regress(&net, x, 784, probs, 10) != EmlOk) {
        return -1;
    }
    y = probs;
#else
    const float *in = x;
    float *out = ping;
    for (int k = 0; k < LAYERS; k++) {
        const struct layer *l = &layers[k];
        if (peer_layer(l, in, out, 0) != 0) {
            return -1;
        }
        if (k < LAYERS - 1) {
            sigmoid(out, l->out);
        } else {
            softmax(out, l->out);
        }
        in = out;
        out = (out == ping) ? pong : ping;
    }
    y = in;
#endif
    int best = 0;
    for (int j = 1; j < 10; j++) {
        if (y[j] > y[best]) {
            best = j;
        }
    }
    return best;
}

int main(void)
{
#if defined(PEER_EMLEARN)
    for (int k = 0; k < LAYERS; k++) {
        eml_layers[k] = (EmlNetLayer){layers[k].out, layers[k].in, layers[k].w, layers[k].b,
                                      k == LAYERS - 1 ? EmlNetActivationSoftmax : EmlNetActivationLogistic};
    }
#endif
    return mnist_run(classify);
}
