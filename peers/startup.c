/* The vector table the peers' harnesses start from: the stack top and a reset handler that
   turns the FPU on (code built for the hard-float ABI uses it) and jumps to newlib's
   `_start` (rdimon's crt0: zeroes .bss, sets up semihosting, calls main, exits with its
   status). */
#include <stdint.h>

extern void _start(void);
extern uint32_t __stack_top;

#define CPACR (*(volatile uint32_t *)0xE000ED88)

static void reset(void)
{
    CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
    __asm volatile("dsb\n isb");
    _start();
}

static void hang(void)
{
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &__stack_top, (const void *)reset, (const void *)hang, (const void *)hang,
    (const void *)hang, (const void *)hang, (const void *)hang, 0, 0, 0, 0,
    (const void *)hang, (const void *)hang, 0, (const void *)hang, (const void *)hang,
};
