/*
 * The resident-verifier study's client (bench/README.md, docs/benchmarks.md):
 * what sshd would run as the AuthorizedKeysCommand instead of `leash verify`,
 * in the shape of sssd's sss_ssh_authorizedkeys. A prototype for measuring,
 * not part of leash.
 *
 *   client SOCKET LEASH CONFIG_DIR USER KEY_BASE64 KEY_TYPE     (sshd: %u %k %t)
 *
 * Sends the request (its parent's pid, which keys the memo of sshd's second
 * call, then the arguments, NUL-terminated) to the resident verifier on
 * SOCKET and prints its answer. Fail closed: the daemon's refusal is final
 * (exit 1, nothing printed); a daemon that cannot be reached, does not answer
 * within 5 s or answers nothing means the full `LEASH --config-dir CONFIG_DIR
 * verify USER KEY TYPE` runs instead (exec), never an acceptance.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REPLY (256 * 1024)

static char reply[MAX_REPLY + 1];

static void full_verify(char **argv) {
  char *args[] = {argv[2], "--config-dir", argv[3], "verify", argv[4], argv[5], argv[6], NULL};
  execv(argv[2], args);
  _exit(1);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 7) return 1;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(argv[1]) >= sizeof addr.sun_path) full_verify(argv);
  strcpy(addr.sun_path, argv[1]);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) full_verify(argv);
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) full_verify(argv);
  char ppid[32];
  snprintf(ppid, sizeof ppid, "%ld", (long)getppid());
  const char *fields[] = {ppid, argv[3], argv[4], argv[5], argv[6]};
  for (int i = 0; i < 5; i++)
    if (write_all(s, fields[i], strlen(fields[i]) + 1) != 0) full_verify(argv);
  shutdown(s, SHUT_WR);
  size_t got = 0;
  for (;;) {
    ssize_t r = read(s, reply + got, MAX_REPLY - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) full_verify(argv); /* timeout or error: no verdict */
    if (r == 0) break;
    got += (size_t)r;
    if (got == MAX_REPLY) return 1;
  }
  if (got == 0) full_verify(argv); /* the daemon died before answering */
  if (reply[0] != '0') return 1;   /* its refusal is final */
  return write_all(1, reply + 1, got - 1) == 0 ? 0 : 1;
}
