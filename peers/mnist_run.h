/* What the MNIST harnesses (mnist_f32.c, mnist_s8.c) share: the 10 000 test images, their
   labels and numpy's predictions read over semihosting from DATA_DIR (written by the
   mnist_peer example), each inference counted from u8 pixels to class as scratchnet's
   firmware counts it (SysTick ticks x 40 under -icount shift=0), and the lines
   `cargo xtask peers` reads. Include it after systick.h and the header that defines
   COUNT. */
#include <stdio.h>

static FILE *open(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("cannot open %s\n", path);
    }
    return f;
}

/* Classifies every test image with `classify` (a class, or -1 if the peer refused);
   prints accuracy, agreement with numpy and instructions per inference; the exit code. */
static int mnist_run(int (*classify)(const uint8_t *pixels))
{
    FILE *images = open("images.u8"), *labels = open("labels.u8"), *reference = open("reference.u8");
    if (!images || !labels || !reference) {
        return 1;
    }
    systick_start();
    static uint8_t pixels[784];
    uint32_t ticks = 0, correct = 0, agree = 0;
    for (int n = 0; n < COUNT; n++) {
        int label = fgetc(labels), want = fgetc(reference);
        if (fread(pixels, 1, sizeof pixels, images) != sizeof pixels || label < 0 || want < 0) {
            printf("the data ended at image %d\n", n);
            return 1;
        }
        uint32_t before = SYST_CVR;
        int c = classify(pixels);
        uint32_t after = SYST_CVR;
        ticks += (before - after) & 0xFFFFFF;
        if (c < 0) {
            printf("the peer refused image %d\n", n);
            return 1;
        }
        correct += c == label;
        agree += c == want;
    }
    printf("accuracy: %lu/%d\nagreement with numpy: %lu/%d\n", (unsigned long)correct, COUNT,
           (unsigned long)agree, COUNT);
    printf("instructions_per_inference=%lu\n", (unsigned long)(ticks / COUNT * 40 + ticks % COUNT * 40 / COUNT));
    return 0;
}
