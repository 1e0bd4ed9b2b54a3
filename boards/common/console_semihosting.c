/* Console and exit through semihosting (QEMU boards). */
#include "board.h"
#include "semihosting.h"

void board_puts(const char *s)
{
    sh_write0(s);
}

void board_exit(int status)
{
    sh_exit(status);
}
