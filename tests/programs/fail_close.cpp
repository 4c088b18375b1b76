// LD_PRELOAD shim for acp's fault tests: close() of a regular file whose
// path holds "FAILCLOSE" closes it, then fails with EIO, as NFS and FUSE
// report a write error that shows only when the file is flushed at close.
// Only a program's own close() calls are seen: the readiness backend makes
// them for the ring's IORING_OP_CLOSE, io_uring makes them in the kernel.
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

extern "C" int close(int fd) {
  using CloseFn = int (*)(int);
  static auto real = reinterpret_cast<CloseFn>(dlsym(RTLD_NEXT, "close"));
  char link[64];
  char path[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  struct stat st {};
  bool hit = n > 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (hit) {
    path[n] = '\0';
    hit = std::strstr(path, "FAILCLOSE") != nullptr;
  }
  int r = real(fd);
  if (r == 0 && hit) {
    errno = EIO;
    return -1;
  }
  return r;
}
