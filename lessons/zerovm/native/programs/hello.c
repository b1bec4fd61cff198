/* hello.nexe: the smallest ZeroVM program — one TrapWrite to /dev/stdout, then TrapExit. */
#include "../zvm.h"

int main(void) {
  int out = zvm_channel("/dev/stdout", NULL);
  zvm_say(out, "Hello from a ZeroVM-style sandbox!\n");
  zvm_exit(0);
}
