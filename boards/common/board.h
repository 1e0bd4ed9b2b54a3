/*
 * What every board provides to the applications (app_*.c): a console, an exit,
 * a cycle/tick counter and (for QEMU boards) semihosting file I/O.
 * Each board folder's board.toml lists which implementation files it uses.
 */
#ifndef TINYML_BOARD_H
#define TINYML_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Clocks, caches, console peripheral. Called by the reset handler before main(). */
void board_init(void);

/* Write a NUL-terminated string to the console (semihosting or UART). */
void board_puts(const char *s);

/* Print an unsigned decimal number to the console. */
void board_put_u32(uint32_t value);

/* End the program with a status: QEMU exits with it; a real board prints it and halts. */
void board_exit(int status) __attribute__((noreturn));

/* Free-running counter: SysTick ticks (QEMU, where -icount makes them instruction
 * counts) or DWT cycles (real boards). board_counter_start() must run first. */
void board_counter_start(void);
uint64_t board_counter_read(void);

#endif /* TINYML_BOARD_H */
