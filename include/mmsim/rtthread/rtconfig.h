/* rtconfig.h — the RT-Thread Smart configuration mmsim simulates
 * (qemu-virt64-aarch64 Smart BSP values). */
#ifndef MMSIM_RTCONFIG_H
#define MMSIM_RTCONFIG_H

#define RT_USING_SMART
#define ARCH_MM_MMU
#define ARCH_ARMV8
#define ARCH_USING_ASID
#define RT_USING_HEAP
#define RT_PAGE_MAX_ORDER 11
#define RT_NAME_MAX 16
#define RT_CPUS_NR 8 /* simulated CPUs a machine may have */
#define KERNEL_VADDR_START 0xffff000000000000UL

#endif
