/* STM32 (F4/F7/H7 GPIO register layout): put a pin in alternate function 7 (the USARTs), high speed. */
#ifndef TINYML_STM32_GPIO_H
#define TINYML_STM32_GPIO_H

#include <stdint.h>

static inline void stm32_gpio_af7(uint32_t port, uint32_t pin)
{
    volatile uint32_t *moder = (volatile uint32_t *)(port + 0x00u);
    volatile uint32_t *ospeedr = (volatile uint32_t *)(port + 0x08u);
    volatile uint32_t *afr = (volatile uint32_t *)(port + (pin < 8u ? 0x20u : 0x24u));
    uint32_t shift = (pin % 8u) * 4u;
    *moder = (*moder & ~(3u << (2u * pin))) | (2u << (2u * pin));
    *ospeedr |= 2u << (2u * pin);
    *afr = (*afr & ~(0xFu << shift)) | (7u << shift);
}

#endif /* TINYML_STM32_GPIO_H */
