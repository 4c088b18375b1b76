// deny_uring [--register] PROGRAM [ARGS...]: runs PROGRAM with io_uring_setup
// denied (EPERM), as Docker's and containerd's default seccomp profiles deny
// it; with --register, io_uring_register instead, as a profile that lets a
// ring be made but not probed.
// A classic BPF filter; no_new_privs lets an unprivileged user install it.
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "deny_uring: unknown architecture"
#endif

int main(int argc, char** argv) {
  int first = 1;
  long denied = __NR_io_uring_setup;
  if (argc > 1 && strcmp(argv[1], "--register") == 0) {
    denied = __NR_io_uring_register;
    first = 2;
  }
  if (argc <= first) {
    fputs("usage: deny_uring [--register] PROGRAM [ARGS...]\n", stderr);
    return 2;
  }
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<__u32>(denied), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    fprintf(stderr, "deny_uring: cannot install the seccomp filter: %s\n", strerror(errno));
    return 125;
  }
  execvp(argv[first], argv + first);
  fprintf(stderr, "deny_uring: cannot run '%s': %s\n", argv[first], strerror(errno));
  return 127;
}
