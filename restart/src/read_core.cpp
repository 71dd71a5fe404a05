// The core file, read with libelf: its PT_LOADs must match the manifest's
// mappings one for one; its notes give the registers, xstate and auxv.
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/procfs.h>
#include <sys/stat.h>

#include <cstring>
#include <memory>

#include "image_files.h"
#include "phases.h"

namespace ckptsim::restart {
namespace {

[[noreturn]] void bad(const std::string& what) { throw ImageError("core: " + what); }

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

// One NT_PRSTATUS group per thread (NT_PRSTATUS, then its NT_FPREGSET and
// NT_X86_XSTATE), in the manifest's thread order.
void read_notes(Elf* elf, const GElf_Phdr& ph, Image& img) {
  Elf_Data* data = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
  if (!data) bad(std::string("cannot read notes: ") + elf_errmsg(-1));
  struct Group {
    int tid = 0;
    user_regs_struct regs{};
    std::vector<uint8_t> fpregs, xstate;
  };
  std::vector<Group> groups;
  size_t off = 0;
  GElf_Nhdr nh;
  size_t name_off, desc_off;
  while (off < data->d_size) {
    size_t next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
    if (next == 0 || desc_off + nh.n_descsz > data->d_size) bad("malformed or truncated note at offset " + std::to_string(off));
    const auto* base = static_cast<const uint8_t*>(data->d_buf);
    const char* name = reinterpret_cast<const char*>(base + name_off);
    const uint8_t* desc = base + desc_off;
    const bool core_name = nh.n_namesz >= 4 && std::strncmp(name, "CORE", 4) == 0;
    const bool linux_name = nh.n_namesz >= 5 && std::strncmp(name, "LINUX", 5) == 0;
    if (core_name && nh.n_type == NT_PRSTATUS) {
      if (nh.n_descsz < sizeof(elf_prstatus)) bad("NT_PRSTATUS of thread " + std::to_string(groups.size()) + " is too small");
      elf_prstatus st;
      std::memcpy(&st, desc, sizeof st);
      static_assert(sizeof(st.pr_reg) == sizeof(user_regs_struct), "pr_reg is a user_regs_struct");
      Group g;
      g.tid = st.pr_pid;
      std::memcpy(&g.regs, &st.pr_reg, sizeof g.regs);
      groups.push_back(std::move(g));
    } else if (core_name && nh.n_type == NT_FPREGSET) {
      if (groups.empty()) bad("NT_FPREGSET before any NT_PRSTATUS");
      groups.back().fpregs.assign(desc, desc + nh.n_descsz);
    } else if (linux_name && nh.n_type == NT_X86_XSTATE) {
      if (groups.empty()) bad("NT_X86_XSTATE before any NT_PRSTATUS");
      groups.back().xstate.assign(desc, desc + nh.n_descsz);
    } else if (core_name && nh.n_type == NT_AUXV) {
      img.auxv.assign(desc, desc + nh.n_descsz);
    }
    off = next;
  }
  if (groups.empty()) bad("no NT_PRSTATUS note (registers)");
  if (groups.size() != img.threads.size())
    bad(std::to_string(groups.size()) + " threads (NT_PRSTATUS notes) but the manifest lists " +
        std::to_string(img.threads.size()));
  for (size_t i = 0; i < groups.size(); ++i) {
    Group& g = groups[i];
    ThreadImage& t = img.threads[i];
    if (g.tid != t.tid)
      bad("thread " + std::to_string(i) + " is tid " + std::to_string(g.tid) + " in the core but " +
          std::to_string(t.tid) + " in the manifest");
    t.regs = g.regs;
    t.xstate = g.xstate.empty() ? std::move(g.fpregs) : std::move(g.xstate);
    if (t.xstate.size() < 512) bad("thread " + std::to_string(g.tid) + " has no NT_X86_XSTATE or NT_FPREGSET note (FPU state)");
  }
}

}  // namespace

void read_core(Image& img) {
  elf_version(EV_CURRENT);
  const int fd = img.files->get(fmt::kCore);
  struct stat st {};
  ::fstat(fd, &st);
  if (static_cast<uint64_t>(st.st_size) != img.core_size)
    bad(img.core.string() + " is " + std::to_string(st.st_size) + " bytes, the manifest says " +
        std::to_string(img.core_size) + (static_cast<uint64_t>(st.st_size) < img.core_size ? " (truncated)" : ""));
  std::unique_ptr<Elf, ElfCloser> elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) bad("not an ELF file");
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf.get(), &eh) || gelf_getclass(elf.get()) != ELFCLASS64 || eh.e_type != ET_CORE ||
      eh.e_machine != EM_X86_64)
    bad("not an x86-64 ELF64 core file");
  size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) != 0 || phnum == 0) bad("no program headers");

  size_t load_index = 0;
  bool have_notes = false;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph)) bad("unreadable program header " + std::to_string(i));
    if (ph.p_offset + ph.p_filesz > img.core_size || ph.p_offset + ph.p_filesz < ph.p_offset)
      bad("program header " + std::to_string(i) + " points past the end of the file (truncated?)");
    if (ph.p_type == PT_NOTE) {
      read_notes(elf.get(), ph, img);
      have_notes = true;
    } else if (ph.p_type == PT_LOAD) {
      if (load_index >= img.mappings.size()) bad("more PT_LOAD segments than manifest mappings");
      Mapping& m = img.mappings[load_index++];
      if (ph.p_vaddr != m.start || ph.p_memsz != m.size())
        bad("PT_LOAD " + std::to_string(load_index - 1) + " (" + hex(ph.p_vaddr) + ") does not match mapping " +
            hex(m.start) + "-" + hex(m.end));
      if ((m.start | m.end) & 4095) bad("mapping " + hex(m.start) + "-" + hex(m.end) + " is not page-aligned");
      if (m.dumped && ph.p_filesz != ph.p_memsz)
        bad("segment " + hex(m.start) + " is dumped but p_filesz != p_memsz");
      if (!m.dumped && ph.p_filesz != 0) bad("segment " + hex(m.start) + " is not dumped but has file bytes");
      if (m.dumped && (ph.p_offset & 4095)) bad("segment " + hex(m.start) + " has an unaligned p_offset");
      m.core_offset = ph.p_offset;
    }
  }
  if (!have_notes) bad("no PT_NOTE segment");
  if (load_index != img.mappings.size())
    bad(std::to_string(load_index) + " PT_LOAD segments for " + std::to_string(img.mappings.size()) +
        " manifest mappings");
}

}  // namespace ckptsim::restart
