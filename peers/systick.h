/* SysTick for the harnesses' instruction counts: QEMU runs with -icount shift=0 and the
   mps2-an386 SysTick counts 25 MHz, so ticks x 40 = instructions (as scratchnet's
   firmware counts them). */
#ifndef SCRATCHNET_PEERS_SYSTICK_H
#define SCRATCHNET_PEERS_SYSTICK_H
#include <stdint.h>

#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)

/* SysTick counting down from 2^24 - 1 at the processor clock. */
static void systick_start(void)
{
    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 5; /* enabled, processor clock */
}
#endif
