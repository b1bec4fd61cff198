/* misbehave.nexe: reads one word from /dev/stdin and tries what a ZeroVM program cannot do:
 *   file    open /etc/passwd          socket  connect to 127.0.0.1:80
 *   exec    run /bin/sh               fork    start a second process
 * Under zerovm it is killed at that call, and the runtime says which call it was. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include "../zvm.h"

int main(void) {
  int in = zvm_channel("/dev/stdin", NULL), out = zvm_channel("/dev/stdout", NULL);
  char what[32] = "file";
  int64_t n = in >= 0 ? zvm_pread(in, what, sizeof what - 1, -1) : -1;
  if (n > 0) what[n] = '\0', what[strcspn(what, " \r\n")] = '\0';
  zvm_say(out, "misbehave: trying to ");
  zvm_say(out, what);
  zvm_say(out, "\n");
  if (strcmp(what, "socket") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s >= 0 && connect(s, (struct sockaddr *)&to, sizeof to) == 0) zvm_say(out, "misbehave: connected!\n");
  } else if (strcmp(what, "exec") == 0) {
    char *argv[] = {"/bin/sh", NULL};
    execve("/bin/sh", argv, NULL);
  } else if (strcmp(what, "fork") == 0) {
    if (fork() >= 0) zvm_say(out, "misbehave: forked!\n");
  } else {
    char buffer[256];
    int fd = open("/etc/passwd", O_RDONLY);
    if (fd >= 0 && read(fd, buffer, sizeof buffer) > 0) zvm_say(out, "misbehave: read /etc/passwd!\n");
  }
  zvm_say(out, "misbehave: it worked, which it must not\n");
  return 3;
}
