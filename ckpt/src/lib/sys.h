// Raw Linux system calls for the signal path: no libc wrapper, no errno.
// Every call returns the kernel's value: >= 0 on success, -errno on failure.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

namespace ckptlib::sys {

constexpr long AT_FDCWD_ = -100;  // AT_FDCWD, without <fcntl.h>

inline long call6(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                  long a6 = 0) {
  long ret;
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

template <typename A>
inline long L(A a) {
  return (long)(a);
}

inline long read(int fd, void* buf, size_t n) { return call6(SYS_read, fd, L(buf), L(n)); }
inline long write(int fd, const void* buf, size_t n) { return call6(SYS_write, fd, L(buf), L(n)); }
inline long pread(int fd, void* buf, size_t n, long off) {
  return call6(SYS_pread64, fd, L(buf), L(n), off);
}
inline long pwrite(int fd, const void* buf, size_t n, long off) {
  return call6(SYS_pwrite64, fd, L(buf), L(n), off);
}
inline long openat(int dirfd, const char* path, int flags, int mode = 0) {
  return call6(SYS_openat, dirfd, L(path), flags, mode);
}
inline long close(int fd) { return call6(SYS_close, fd); }
// The kernel's record for getdents64 (glibc only declares it for readdir's use).
struct LinuxDirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

inline long getdents64(int fd, void* buf, size_t n) {
  return call6(SYS_getdents64, fd, L(buf), L(n));
}
inline long readlinkat(int dirfd, const char* path, char* buf, size_t n) {
  return call6(SYS_readlinkat, dirfd, L(path), L(buf), L(n));
}
inline long fstat(int fd, void* st) { return call6(SYS_fstat, fd, L(st)); }
inline long fstatat(int dirfd, const char* path, void* st, int flags) {
  return call6(SYS_newfstatat, dirfd, L(path), L(st), flags);
}
inline long faccessat(int dirfd, const char* path, int mode) { return call6(SYS_faccessat, dirfd, L(path), mode); }
inline long fcntl(int fd, int cmd, long arg = 0) { return call6(SYS_fcntl, fd, cmd, arg); }
inline long lseek(int fd, long off, int whence) { return call6(SYS_lseek, fd, off, whence); }
inline long mkdirat(int dirfd, const char* path, int mode) {
  return call6(SYS_mkdirat, dirfd, L(path), mode);
}
inline long unlinkat(int dirfd, const char* path, int flags) {
  return call6(SYS_unlinkat, dirfd, L(path), flags);
}
inline long linkat(int olddir, const char* oldp, int newdir, const char* newp, int flags) {
  return call6(SYS_linkat, olddir, L(oldp), newdir, L(newp), flags);
}
inline long renameat(int olddir, const char* oldp, int newdir, const char* newp) {
  return call6(SYS_renameat, olddir, L(oldp), newdir, L(newp));
}
inline long symlinkat(const char* target, int dirfd, const char* path) {
  return call6(SYS_symlinkat, L(target), dirfd, L(path));
}
inline long fsync(int fd) { return call6(SYS_fsync, fd); }
inline long fchmod(int fd, int mode) { return call6(SYS_fchmod, fd, mode); }
inline long ftruncate(int fd, long len) { return call6(SYS_ftruncate, fd, len); }
inline long mmap(void* addr, size_t len, int prot, int flags, int fd, long off) {
  return call6(SYS_mmap, L(addr), L(len), prot, flags, fd, off);
}
inline long munmap(void* addr, size_t len) { return call6(SYS_munmap, L(addr), L(len)); }
inline long madvise(void* addr, size_t len, int advice) {
  return call6(SYS_madvise, L(addr), L(len), advice);
}
inline long pipe2(int* fds, int flags) { return call6(SYS_pipe2, L(fds), flags); }
inline long tee(int in, int out, size_t len, unsigned flags) { return call6(SYS_tee, in, out, L(len), flags); }
inline long ioctl(int fd, unsigned long req, void* arg) { return call6(SYS_ioctl, fd, L(req), L(arg)); }
inline long kcmp(long pid1, long pid2, int type, long a, long b) { return call6(SYS_kcmp, pid1, pid2, type, a, b); }
inline long socket(int domain, int type, int proto) { return call6(SYS_socket, domain, type, proto); }
inline long sendto(int fd, const void* buf, size_t n, int flags) {
  return call6(SYS_sendto, fd, L(buf), L(n), flags, 0, 0);
}
inline long recvfrom(int fd, void* buf, size_t n, int flags) {
  return call6(SYS_recvfrom, fd, L(buf), L(n), flags, 0, 0);
}
inline long getsockopt(int fd, int level, int name, void* val, uint32_t* len) {
  return call6(SYS_getsockopt, fd, level, name, L(val), L(len));
}
inline long setsockopt(int fd, int level, int name, const void* val, uint32_t len) {
  return call6(SYS_setsockopt, fd, level, name, L(val), len);
}
inline long bind(int fd, const void* addr, uint32_t len) { return call6(SYS_bind, fd, L(addr), len); }
inline long listen(int fd, int backlog) { return call6(SYS_listen, fd, backlog); }
inline long accept4(int fd, int flags) { return call6(SYS_accept4, fd, 0, 0, flags); }
inline long connect(int fd, const void* addr, uint32_t len) { return call6(SYS_connect, fd, L(addr), len); }
inline long sendmsg(int fd, const void* msg, int flags) { return call6(SYS_sendmsg, fd, L(msg), flags); }
inline long recvmsg(int fd, void* msg, int flags) { return call6(SYS_recvmsg, fd, L(msg), flags); }
// poll(2) with a timeout in ms (-1: none), through ppoll.
inline long poll(void* fds, unsigned long n, long timeout_ms) {
  struct {
    long sec, nsec;
  } ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
  return call6(SYS_ppoll, L(fds), L(n), timeout_ms < 0 ? 0 : L(&ts), 0, 8);
}
inline long rt_sigqueueinfo(int pid, int sig, void* info) { return call6(SYS_rt_sigqueueinfo, pid, sig, L(info)); }
inline long stat_path(const char* path, void* st) { return call6(SYS_newfstatat, AT_FDCWD_, L(path), L(st), 0); }
inline long getrandom(void* buf, size_t n, unsigned flags) { return call6(SYS_getrandom, L(buf), L(n), flags); }
inline long nanosleep_ns(long ns) {
  struct {
    long sec, nsec;
  } ts{ns / 1000000000, ns % 1000000000};
  return call6(SYS_nanosleep, L(&ts), 0);
}
inline long getpid() { return call6(SYS_getpid); }
inline long getppid() { return call6(SYS_getppid); }
inline long getpgid(int pid) { return call6(SYS_getpgid, pid); }
inline long getsid(int pid) { return call6(SYS_getsid, pid); }
inline long getuid() { return call6(SYS_getuid); }
inline long getgid() { return call6(SYS_getgid); }
inline long geteuid() { return call6(SYS_geteuid); }
inline long getegid() { return call6(SYS_getegid); }
inline long kill(int pid, int sig) { return call6(SYS_kill, pid, sig); }
inline long rt_sigaction(int sig, const void* act, void* old) {
  return call6(SYS_rt_sigaction, sig, L(act), L(old), 8);
}
inline long rt_sigtimedwait(const uint64_t* set, void* info, const void* ts) {
  return call6(SYS_rt_sigtimedwait, L(set), L(info), L(ts), 8);
}
inline long sigaltstack(const void* ss, void* old) { return call6(SYS_sigaltstack, L(ss), L(old)); }
inline long arch_prctl(int code, void* addr) { return call6(SYS_arch_prctl, code, L(addr)); }
inline long brk(void* addr) { return call6(SYS_brk, L(addr)); }
inline long uname(void* buf) { return call6(SYS_uname, L(buf)); }
inline long clock_gettime(int clk, void* ts) { return call6(SYS_clock_gettime, clk, L(ts)); }
inline long rt_sigprocmask(int how, const uint64_t* set, uint64_t* old) {
  return call6(SYS_rt_sigprocmask, how, L(set), L(old), 8);
}
inline long futex_wait(const uint32_t* word, uint32_t expected, const void* timeout = nullptr) {
  return call6(SYS_futex, L(word), 0 /* FUTEX_WAIT */, long(expected), L(timeout));
}
inline long futex_wake(const uint32_t* word) {
  return call6(SYS_futex, L(word), 1 /* FUTEX_WAKE */, 0x7fffffff);
}
inline long sync_file_range(int fd, long off, long len, unsigned flags) {
  return call6(SYS_sync_file_range, fd, off, len, flags);
}
inline long wait4(int pid, int* status, int options) { return call6(SYS_wait4, pid, L(status), options, 0); }
inline long prctl(int option, long arg2) { return call6(SYS_prctl, option, arg2); }
[[noreturn]] inline void exit_thread(int code) {
  for (;;) call6(SYS_exit, code);
}

// clone(2) that runs fn(arg) on stack_top in the new task, which then exits
// with fn's value. The child never returns into the caller's frames (it has
// its own stack), so this is the one call that needs its own assembly.
inline long clone_run(unsigned long flags, void* stack_top, int (*fn)(void*), void* arg, uint32_t* child_tid) {
  auto** sp = reinterpret_cast<void**>((reinterpret_cast<uintptr_t>(stack_top) & ~uintptr_t(15)) - 16);
  sp[0] = arg;
  sp[1] = reinterpret_cast<void*>(fn);
  long ret;
  register long r10 __asm__("r10") = L(child_tid);
  register long r8 __asm__("r8") = 0;    // tls
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "pop %%rdi\n\t"
      "pop %%rax\n\t"
      "call *%%rax\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"  // SYS_exit
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "a"(long(SYS_clone)), "D"(flags), "S"(sp), "d"(0L), "r"(r10), "r"(r8)
      : "rcx", "r11", "memory");
  return ret;
}

// The kernel's struct sigaction layout for rt_sigaction (not glibc's).
struct KernelSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

}  // namespace ckptlib::sys
