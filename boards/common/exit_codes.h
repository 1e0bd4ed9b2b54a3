/* Exit statuses of the QEMU firmware (QEMU's own exit code); tinyengine/qemu.py maps them to messages. */
#ifndef TINYML_EXIT_CODES_H
#define TINYML_EXIT_CODES_H

#define TINYML_EXIT_OK 0
#define TINYML_EXIT_IO 3      /* input.bin missing or of the wrong size, or an output file not writable */
#define TINYML_EXIT_MODEL 4   /* tinyml_run() returned an error */
#define TINYML_EXIT_FAULT 86  /* a HardFault, MemManage, BusFault or UsageFault */

#endif /* TINYML_EXIT_CODES_H */
