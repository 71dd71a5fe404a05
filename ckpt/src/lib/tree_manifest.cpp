// tree.json (docs/image-format.md "Process trees"; names from
// ckpt/image_format.h): the tree's processes in tree order, each live one's
// image directory, the zombies' wait statuses, and the open files several
// processes share. Written by hand into the scratch buffer like manifest.json,
// and ended the same way: the XXH3 of every byte before "manifest_xxh3".
#include <fcntl.h>

#include "hash.h"
#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

void write_process(Text& t, const Member& m) {
  const ProcInfo& p = m.info;
  t.str("{\"pid\":").dec(uint64_t(p.pid)).str(",\"ppid\":").dec(uint64_t(p.ppid));
  t.str(",\"pgid\":").dec(uint64_t(p.pgrp)).str(",\"sid\":").dec(uint64_t(p.sid));
  t.str(",\"comm\":").json_str(p.comm);
  if (m.zombie) {
    t.str(",\"state\":\"zombie\",\"exit_status\":").dec(unsigned(m.exit_status)).ch('}');
    return;
  }
  t.str(",\"state\":\"live\",\"image\":\"").str(fmt::kProcDirPrefix).dec(uint64_t(p.pid)).str("\"}");
}

void write_groups(Text& t, const Tree& tr) {
  t.str("\"shared_files\":[");
  for (uint32_t g = 0; g < tr.ngroups; ++g) {
    t.str(g ? ",\n[" : "\n[");
    bool first = true;
    for (size_t i = 0; i < tr.nrefs; ++i) {
      const FdRef& f = tr.refs[i];
      if (f.group != int32_t(g) || !f.listed) continue;
      if (!first) t.ch(',');
      first = false;
      t.str("{\"pid\":").dec(uint64_t(f.pid)).str(",\"fd\":").dec(unsigned(f.fd)).ch('}');
    }
    t.ch(']');
  }
  t.ch(']');
}

}  // namespace

// Root first, then breadth-first, siblings by ascending pid: a parent always
// comes before its children (restart creates them in this order).
void tree_order(Tree& t) {
  bool placed[kMaxMembers] = {};
  size_t n = 0;
  t.order[n++] = 0;
  placed[0] = true;
  for (size_t head = 0; head < n; ++head) {
    const int32_t parent = t.m[t.order[head]].info.pid;
    for (;;) {  // the next child by pid
      int best = -1;
      for (size_t i = 1; i < t.n; ++i)
        if (!placed[i] && t.m[i].info.ppid == parent && (best < 0 || t.m[i].info.pid < t.m[best].info.pid))
          best = int(i);
      if (best < 0) break;
      placed[best] = true;
      t.order[n++] = uint32_t(best);
    }
  }
  for (size_t i = 1; i < t.n; ++i)  // reparented away meanwhile (cannot happen while all are stopped)
    if (!placed[i]) t.order[n++] = uint32_t(i);
}

bool write_tree_manifest(Dump& d, const Tree& tr) {
  Text t;
  t.reset(d.manifest, kManifestSize);
  t.ch('{').key(fmt::key::kFormat).json_str(fmt::kTreeFormatName).ch(',').key(fmt::key::kFormatVersion);
  t.dec(unsigned(fmt::kTreeVersion)).ch(',').key(fmt::key::kSeq).dec(d.seq);
  t.str(",\"root\":").dec(uint64_t(d.pid)).ch(',').key(fmt::key::kCreatedNs).dec(d.created_ns);
  t.str(",\n\"processes\":[");
  for (size_t k = 0; k < tr.n; ++k) {
    t.str(k ? ",\n" : "\n");
    write_process(t, tr.m[tr.order[k]]);
  }
  t.str("],\n");
  write_groups(t, tr);
  if (!t.overflow) {
    const uint64_t own = hash_ops().once(t.data, t.len);
    t.ch(',').key(fmt::key::kOwnChecksum).json_hash(own).str("}\n");  // as manifest.json's: restart's check
  }
  if (t.overflow) return d.fail("writing the tree's manifest", -E2BIG);
  const long fd = sys::openat(d.treefd, fmt::kTreeManifest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return d.fail("creating the tree's manifest", fd);
  long r = sys::fchmod(int(fd), 0600);
  if (r == 0) r = write_all(int(fd), t.data, t.len);
  if (r == 0 && d.cfg->fsync) r = sys::fsync(int(fd));
  sys::close(int(fd));
  return r == 0 ? true : d.fail("writing the tree's manifest", r);
}

}  // namespace ckptlib
