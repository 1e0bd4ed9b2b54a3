/*
 * ARM semihosting (the host-debugger ABI QEMU implements with
 * -semihosting-config enable=on): file I/O against the host's current
 * directory, console output and exit with a status code.
 * Calls are "bkpt 0xAB" with the operation in r0 and a parameter block in r1.
 */
#ifndef TINYML_SEMIHOSTING_H
#define TINYML_SEMIHOSTING_H

#include <stddef.h>
#include <stdint.h>

enum {
    SH_MODE_RB = 1, /* open modes, as in fopen(): "rb" */
    SH_MODE_WB = 5  /* "wb" */
};

/* Returns a handle >= 0, or -1. */
int sh_open(const char *path, int mode);
int sh_close(int handle);
/* Returns the file's length in bytes, or -1. */
long sh_flen(int handle);
/* Both return 0 when all `len` bytes were transferred, else the number left over. */
size_t sh_read(int handle, void *buf, size_t len);
size_t sh_write(int handle, const void *buf, size_t len);
void sh_write0(const char *s);
/* Copies the command line QEMU was given (-semihosting-config arg=...) into buf; 0 on success. */
int sh_cmdline(char *buf, size_t len);
void sh_exit(int status) __attribute__((noreturn));

#endif /* TINYML_SEMIHOSTING_H */
