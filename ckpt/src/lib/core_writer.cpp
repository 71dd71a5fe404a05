// The ELF core: header, one PT_NOTE, one PT_LOAD per mapping (page-aligned
// offsets so a restorer can mmap them), notes in the order docs/image-format.md fixes,
// then the memory, one segment per mapping (segment_writer.cpp).
#include <elf.h>
#include <fcntl.h>
#include <sys/procfs.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "hash.h"

#include "dump.h"
#include "segment_writer.h"
#include "sys.h"
#include "write_pipeline.h"

namespace ckptlib {

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kSwBytesOffset = 464;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

void copy_bytes(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
}

// Appends one note (4-byte aligned name and descriptor, as Linux cores use).
struct NoteWriter {
  char* base;
  size_t len;
  size_t cap;
  bool overflow = false;

  void* add(const char* name, uint32_t type, size_t desc_size) {
    const size_t name_size = cstr_len(name) + 1;
    const size_t need = sizeof(Elf64_Nhdr) + align_up(name_size, 4) + align_up(desc_size, 4);
    if (len + need > cap) {
      overflow = true;
      return nullptr;
    }
    Elf64_Nhdr* nh = reinterpret_cast<Elf64_Nhdr*>(base + len);
    nh->n_namesz = uint32_t(name_size);
    nh->n_descsz = uint32_t(desc_size);
    nh->n_type = type;
    copy_bytes(nh + 1, name, name_size);
    void* desc = base + len + sizeof(Elf64_Nhdr) + align_up(name_size, 4);
    len += need;
    return desc;
  }
};

uint16_t selector(int which) {
  uint16_t v = 0;
  switch (which) {
    case 0: __asm__("mov %%ds, %0" : "=r"(v)); break;
    case 1: __asm__("mov %%es, %0" : "=r"(v)); break;
    case 2: __asm__("mov %%fs, %0" : "=r"(v)); break;
    case 3: __asm__("mov %%gs, %0" : "=r"(v)); break;
    default: __asm__("mov %%ss, %0" : "=r"(v)); break;
  }
  return v;
}

// The registers of the interrupted instruction, in ptrace's user_regs_struct order.
void fill_regs(const ThreadState& th, struct user_regs_struct& r) {
  const greg_t* g = th.uc->uc_mcontext.gregs;
  r.r15 = g[REG_R15];
  r.r14 = g[REG_R14];
  r.r13 = g[REG_R13];
  r.r12 = g[REG_R12];
  r.rbp = g[REG_RBP];
  r.rbx = g[REG_RBX];
  r.r11 = g[REG_R11];
  r.r10 = g[REG_R10];
  r.r9 = g[REG_R9];
  r.r8 = g[REG_R8];
  r.rax = g[REG_RAX];
  r.rcx = g[REG_RCX];
  r.rdx = g[REG_RDX];
  r.rsi = g[REG_RSI];
  r.rdi = g[REG_RDI];
  r.orig_rax = ~0ULL;  // -1: no system call to restart (the kernel already rewound it)
  r.rip = g[REG_RIP];
  const uint64_t csgsfs = uint64_t(g[REG_CSGSFS]);
  r.cs = csgsfs & 0xffff;
  r.eflags = g[REG_EFL];
  r.rsp = g[REG_RSP];
  constexpr unsigned long kUcSigcontextSs = 0x2;
  r.ss = (th.uc->uc_flags & kUcSigcontextSs) ? (csgsfs >> 48) & 0xffff : selector(4);
  r.fs_base = th.fs_base;
  r.gs_base = th.gs_base;
  r.ds = selector(0);
  r.es = selector(1);
  r.fs = selector(2);
  r.gs = selector(3);
}

// NT_PRSTATUS, then NT_FPREGSET and NT_X86_XSTATE: one group per thread, as
// the kernel writes them, so gdb and readelf see every thread (BFD files the
// FPU notes under the thread of the last NT_PRSTATUS before them).
bool add_prstatus(const Dump& d, const ThreadState& th, NoteWriter& nw) {
  auto* st = static_cast<prstatus_t*>(nw.add("CORE", NT_PRSTATUS, sizeof(prstatus_t)));
  if (!st) return false;
  st->pr_info.si_signo = d.sig;
  st->pr_cursig = short(d.sig);
  st->pr_sighold = th.uc->uc_sigmask.__val[0];
  st->pr_pid = th.tid;
  st->pr_ppid = int(d.ppid);
  st->pr_pgrp = int(sys::getpgid(0));
  st->pr_sid = int(sys::getsid(0));
  struct user_regs_struct regs {};
  fill_regs(th, regs);
  static_assert(sizeof(regs) == sizeof(st->pr_reg), "pr_reg is user_regs_struct");
  copy_bytes(&st->pr_reg, &regs, sizeof regs);
  st->pr_fpvalid = th.xstate ? 1 : 0;
  return true;
}

bool add_fpu_notes(const ThreadState& th, NoteWriter& nw) {
  if (!th.xstate) return true;
  void* fp = nw.add("CORE", NT_FPREGSET, 512);
  if (!fp) return false;
  copy_bytes(fp, th.xstate, 512);
  auto* xs = static_cast<unsigned char*>(nw.add("LINUX", NT_X86_XSTATE, th.xstate_size));
  if (!xs) return false;
  copy_bytes(xs, th.xstate, th.xstate_size);
  // In a signal frame the fxsave "sw_reserved" bytes hold the _fpx_sw_bytes
  // (magic, sizes); ptrace and core dumps put XCR0 there instead.
  if (th.xstate_size > 512) {
    uint64_t xcr0 = *reinterpret_cast<const uint64_t*>(th.xstate + kSwBytesOffset + 8);
    for (size_t i = kSwBytesOffset; i < 512; ++i) xs[i] = 0;
    copy_bytes(xs + kSwBytesOffset, &xcr0, sizeof xcr0);
  }
  return true;
}

bool build_notes(Dump& d, NoteWriter& nw) {
  if (!add_prstatus(d, d.roster.threads[0], nw)) return false;

  // NT_PRPSINFO
  auto* ps = static_cast<prpsinfo_t*>(nw.add("CORE", NT_PRPSINFO, sizeof(prpsinfo_t)));
  if (!ps) return false;
  ps->pr_state = 0;
  ps->pr_sname = 'R';
  ps->pr_uid = unsigned(sys::getuid());
  ps->pr_gid = unsigned(sys::getgid());
  ps->pr_pid = int(d.pid);
  ps->pr_ppid = int(d.ppid);
  ps->pr_pgrp = int(sys::getpgid(0));
  ps->pr_sid = int(sys::getsid(0));
  for (size_t i = 0; i < sizeof ps->pr_fname - 1 && d.comm[i]; ++i) ps->pr_fname[i] = d.comm[i];
  size_t args = d.cmdline_len < sizeof ps->pr_psargs - 1 ? d.cmdline_len : sizeof ps->pr_psargs - 1;
  for (size_t i = 0; i < args; ++i) ps->pr_psargs[i] = d.cmdline[i] ? d.cmdline[i] : ' ';
  while (args > 0 && ps->pr_psargs[args - 1] == ' ') ps->pr_psargs[--args] = 0;
  if (!add_fpu_notes(d.roster.threads[0], nw)) return false;

  // NT_AUXV
  void* av = nw.add("CORE", NT_AUXV, d.auxv_len);
  if (!av) return false;
  copy_bytes(av, d.auxv, d.auxv_len);

  // NT_FILE: count, page size, {start, end, offset in pages}..., names.
  size_t nfiles = 0, names_len = 0;
  for (size_t i = 0; i < d.nmaps; ++i)
    if (d.maps[i].kind == MapKind::file) ++nfiles, names_len += d.maps[i].path_len + 1;
  const size_t desc = 16 + nfiles * 24 + names_len;
  auto* nf = static_cast<unsigned char*>(nw.add("CORE", NT_FILE, desc));
  if (!nf) return false;
  uint64_t* words = reinterpret_cast<uint64_t*>(nf);
  words[0] = nfiles;
  words[1] = d.cfg->page_size;
  size_t w = 2;
  char* names = reinterpret_cast<char*>(nf + 16 + nfiles * 24);
  for (size_t i = 0; i < d.nmaps; ++i) {
    const Mapping& m = d.maps[i];
    if (m.kind != MapKind::file) continue;
    words[w++] = m.start;
    words[w++] = m.end;
    words[w++] = m.file_offset / d.cfg->page_size;
    copy_bytes(names, m.path, m.path_len + 1);
    names += m.path_len + 1;
  }
  for (size_t i = 1; i < d.roster.count; ++i)
    if (!add_prstatus(d, d.roster.threads[i], nw) || !add_fpu_notes(d.roster.threads[i], nw)) return false;
  return true;
}

}  // namespace

// The memory the handler itself is using: the alternate stack it runs on
// (or, without one, a generous window around the current stack pointer).
static void find_live_stack(Dump& d) {
  stack_t ss{};
  const uint64_t here = uint64_t(&ss);
  if (sys::sigaltstack(nullptr, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) && here >= uint64_t(ss.ss_sp) &&
      here < uint64_t(ss.ss_sp) + ss.ss_size) {
    d.live_lo = uint64_t(ss.ss_sp);
    d.live_hi = d.live_lo + ss.ss_size;
  } else {
    d.live_lo = here > (512u << 10) ? here - (512u << 10) : 0;
    d.live_hi = here + (256u << 10);
  }
}

namespace {

// The ELF header and program headers in d.header (the notes are already
// there, at notes_at); each mapping gets its segment's offset in the core.
void lay_out_core(Dump& d, size_t notes_at, uint64_t notes_len, uint64_t data_start) {
  const size_t phnum = d.nmaps + 1;
  auto* eh = reinterpret_cast<Elf64_Ehdr*>(d.header);
  eh->e_ident[EI_MAG0] = ELFMAG0;
  eh->e_ident[EI_MAG1] = ELFMAG1;
  eh->e_ident[EI_MAG2] = ELFMAG2;
  eh->e_ident[EI_MAG3] = ELFMAG3;
  eh->e_ident[EI_CLASS] = ELFCLASS64;
  eh->e_ident[EI_DATA] = ELFDATA2LSB;
  eh->e_ident[EI_VERSION] = EV_CURRENT;
  eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh->e_type = ET_CORE;
  eh->e_machine = EM_X86_64;
  eh->e_version = EV_CURRENT;
  eh->e_phoff = sizeof(Elf64_Ehdr);
  eh->e_ehsize = sizeof(Elf64_Ehdr);
  eh->e_phentsize = sizeof(Elf64_Phdr);
  eh->e_phnum = uint16_t(phnum);

  auto* ph = reinterpret_cast<Elf64_Phdr*>(d.header + sizeof(Elf64_Ehdr));
  ph[0].p_type = PT_NOTE;
  ph[0].p_offset = notes_at;
  ph[0].p_filesz = notes_len;
  ph[0].p_align = 4;
  uint64_t cur = data_start;
  for (size_t i = 0; i < d.nmaps; ++i) {
    Mapping& m = d.maps[i];
    Elf64_Phdr& p = ph[i + 1];
    m.phdr = uint32_t(i + 1);
    m.core_offset = cur;
    p.p_type = PT_LOAD;
    p.p_flags = (m.perms[0] == 'r' ? PF_R : 0) | (m.perms[1] == 'w' ? PF_W : 0) |
                (m.perms[2] == 'x' ? PF_X : 0);
    p.p_offset = cur;
    p.p_vaddr = m.start;
    p.p_memsz = m.end - m.start;
    p.p_filesz = m.dumped ? p.p_memsz : 0;
    p.p_align = kPage;
    cur += p.p_filesz;
  }
  d.core_size = cur;
}

// Every dumped mapping's bytes into the core at its offset, through one
// write pipeline; the others get the empty segment's checksum.
bool write_segments(Dump& d, int fd) {
  const long pagemap = sys::openat(AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  WritePipeline pipe(d, fd);
  d.pages_ok = true;
  d.nranges = d.npages = d.nruns = 0;
  // Without process_vm_readv (seccomp...) file mappings are written whole.
  char probe;
  d.can_read_self = read_self(&probe, uint64_t(d.zero_page), 1) == 1;
  d.zero_page_xxh3 = hash_ops().once(d.zero_page, kPage);
  d.memory_bytes = d.full_memory_bytes = 0;
  bool ok = true;
  for (size_t i = 0; ok && i < d.nmaps; ++i) {
    if (d.maps[i].dumped) {
      ok = write_segment(d, fd, d.maps[i], pipe, int(pagemap));
    } else {
      d.maps[i].xxh3 = hash_ops().once(d.zero_page, 0);
    }
  }
  if (ok) ok = pipe.finish();
  if (pagemap >= 0) sys::close(int(pagemap));
  return ok;
}

}  // namespace

bool write_core(Dump& d) {
  fault_in_io_buf(d);
  find_live_stack(d);
  const size_t phnum = d.nmaps + 1;
  const size_t notes_at = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
  if (notes_at >= kHeaderSize) return d.fail("too many mappings", -E2BIG);
  NoteWriter nw{d.header + notes_at, 0, kHeaderSize - notes_at};
  if (!build_notes(d, nw)) return d.fail("building core notes", -E2BIG);
  const uint64_t header_len = notes_at + nw.len;
  const uint64_t data_start = align_up(header_len, kPage);
  if (data_start > kHeaderSize) return d.fail("building core notes", -E2BIG);
  lay_out_core(d, notes_at, nw.len, data_start);
  d.core_header_xxh3 = hash_ops().once(d.header, data_start);

  long fd = sys::openat(d.tmpfd, fmt::kCore, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return d.fail("creating core", fd);
  bool ok = true;
  long r = sys::fchmod(int(fd), 0600);
  if (r < 0) ok = d.fail("creating core", r);
  if (ok && (r = write_all(int(fd), d.header, data_start)) < 0) ok = d.fail("writing core", r);
  if (ok) ok = write_segments(d, int(fd));
  SyncAfter after;  // `pages` and `parent`, synced after the core
  if (ok) ok = write_page_hashes(d, &after);
  if (ok && (r = sys::ftruncate(int(fd), long(d.core_size))) < 0) ok = d.fail("writing core", r);
  if (ok && d.cfg->fsync && (r = sys::fsync(int(fd))) < 0) ok = d.fail("syncing core", r);
  if (ok && (r = after.sync_all()) < 0) ok = d.fail("syncing pages", r);
  r = sys::close(int(fd));
  if (ok && r < 0 && r != -EINTR) ok = d.fail("closing core", r);
  return ok;
}

}  // namespace ckptlib
