// The "object" member of a manifest fd entry (docs/image-format.md, "fds[].object"):
// what save_kernel_objects found, as JSON written into the scratch buffer.
#include "dump.h"

namespace ckptlib {

namespace {

const char* object_type(ObjKind k) {
  switch (k) {
    case ObjKind::pipe: return "pipe";
    case ObjKind::eventfd: return "eventfd";
    case ObjKind::epoll: return "epoll";
    case ObjKind::timerfd: return "timerfd";
    case ObjKind::signalfd: return "signalfd";
    case ObjKind::unix_socket: return "unix_socket";
    case ObjKind::memfd: return "memfd";
    case ObjKind::unlinked: return "unlinked";
    default: return nullptr;
  }
}

void write_state(Text& t, const FdEntry& e) {
  const KernelObject& o = e.obj;
  switch (o.kind) {
    case ObjKind::pipe: t.str(",\"id\":").dec(o.id).str(",\"pipe_size\":").dec(o.a); break;
    case ObjKind::eventfd: t.str(",\"count\":").dec(o.a).str(",\"semaphore\":").json_bool(o.b != 0); break;
    case ObjKind::signalfd: t.str(",\"mask\":").dec(o.a); break;
    case ObjKind::timerfd:
      t.str(",\"clockid\":").dec(o.d & 0xffffffffu).str(",\"settime_flags\":").dec(o.d >> 32);
      t.str(",\"value_ns\":").dec(o.a).str(",\"interval_ns\":").dec(o.b).str(",\"ticks\":").dec(o.c);
      break;
    case ObjKind::epoll:
      t.str(",\"items\":[");
      for (uint32_t i = 0; i < o.nitems; ++i) {
        if (i) t.ch(',');
        t.str("{\"fd\":").dec(unsigned(o.items[i].tfd)).str(",\"events\":").dec(o.items[i].events);
        t.str(",\"data\":").dec(o.items[i].data).ch('}');
      }
      t.ch(']');
      break;
    case ObjKind::unix_socket:
      t.str(",\"id\":").dec(o.id).str(",\"peer\":").dec(o.peer).str(",\"sock_type\":").dec(o.a);
      break;
    case ObjKind::memfd: t.str(",\"id\":").dec(o.id).str(",\"seals\":").dec(o.a); break;
    case ObjKind::unlinked: t.str(",\"id\":").dec(o.id); break;
    default: break;
  }
}

}  // namespace

void write_fd_object(Text& t, const FdEntry& e) {
  const char* type = object_type(e.obj.kind);
  if (!type) return;
  t.str(",\"object\":{\"type\":").json_str(type);
  if (e.obj.dup_of >= 0) {
    t.str(",\"dup_of\":").dec(unsigned(e.obj.dup_of)).ch('}');
    return;
  }
  write_state(t, e);
  if (e.obj.has_data) {
    t.str(",\"data\":{\"file\":\"").str(fmt::kObjCopyPrefix).dec(unsigned(e.fd)).str("\",\"size\":").dec(e.obj.data_size);
    t.str(",\"xxh3\":").json_hash(e.obj.data_xxh3).ch('}');
  }
  if (e.obj.unrestorable) t.str(",\"unrestorable\":").json_str(e.obj.unrestorable);
  t.ch('}');
}

}  // namespace ckptlib
