/* pidfd_shim: a stand-in for pidfd_open(2) for flintd under valgrind 3.19 (Debian 12), which
 * does not know the call; used by tools/bench/profile.py's callgrind mode only. Preloaded into
 * flintd (LD_PRELOAD), it answers syscall(SYS_pidfd_open, pid, 0) with the read end of a pipe
 * that a watcher thread makes readable once `pid` has exited (a zombie, or gone), as a pidfd
 * becomes readable; every other call goes to the C library's syscall().
 * Build: cc -O2 -shared -fPIC -o pidfd_shim.so pidfd_shim.c -ldl -lpthread */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct watch {
  pid_t pid;
  int fd;
};

static int exited(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 1;
  buf[n] = '\0';
  char* close_paren = strrchr(buf, ')');
  return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static void* watcher(void* arg) {
  struct watch* w = arg;
  while (!exited(w->pid)) usleep(5000);
  char byte = 1;
  (void)!write(w->fd, &byte, 1);
  close(w->fd);
  free(w);
  return NULL;
}

long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_pidfd_open) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    struct watch* w = malloc(sizeof *w);
    w->pid = (pid_t)a[0];
    w->fd = fds[1];
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, watcher, w) != 0) {
      close(fds[0]);
      close(fds[1]);
      free(w);
      errno = EAGAIN;
      return -1;
    }
    return fds[0];
  }
  static long (*real)(long, ...) = NULL;
  if (real == NULL) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
