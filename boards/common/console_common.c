/* Console helpers shared by every board. */
#include "board.h"

void board_put_u32(uint32_t value)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u && i > 0);
    board_puts(&buf[i]);
}
