// fds[].object: parsing, consistency across the fd table, and whether each
// object can be recreated on this side. Malformed or inconsistent objects are
// image errors (exit 2, nothing started); unrestorable ones are refused like
// any other descriptor (fd_plan.cpp).
#include <fcntl.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "phases.h"

namespace ckptsim::restart {
namespace {

using nlohmann::json;

const std::set<std::string> kTypes = {"pipe",     "eventfd",     "epoll", "timerfd",
                                      "signalfd", "unix_socket", "memfd", "unlinked"};
const std::set<int> kClocks = {0 /* REALTIME */, 1 /* MONOTONIC */, 7 /* BOOTTIME */, 8 /* REALTIME_ALARM */,
                               9 /* BOOTTIME_ALARM */};

struct Reader {
  const json& j;
  std::string where;
  [[noreturn]] void bad(const std::string& what) const {
    throw ImageError("manifest.json: " + where + ": " + what);
  }
  uint64_t num(const char* key, bool required = true) const {
    auto it = j.find(key);
    if (it == j.end()) {
      if (required) bad(std::string("missing ") + key);
      return 0;
    }
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
      bad(std::string(key) + " is not an unsigned integer");
    return it->get<uint64_t>();
  }
  std::string text(const char* key) const {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) bad(std::string("missing or non-string ") + key);
    return it->get<std::string>();
  }
};

const FdEntry* find_fd(const Image& img, int number) {
  for (const auto& f : img.fds)
    if (f.fd == number) return &f;
  return nullptr;
}

std::string where(const FdEntry& fd) { return "fd " + std::to_string(fd.fd) + " object"; }

void check_one(const Image& img, const FdEntry& fd) {
  const KernelObject& o = *fd.object;
  auto bad = [&](const std::string& what) { throw ImageError("manifest.json: " + where(fd) + ": " + what); };
  if (o.dup_of >= 0) {
    const FdEntry* t = find_fd(img, o.dup_of);
    if (!t || t >= &fd || !t->object || t->object->type != o.type || t->object->dup_of >= 0)
      bad("dup_of " + std::to_string(o.dup_of) + " is not a " + o.type + " descriptor listed before it");
    return;
  }
  const bool deleted_file = fd.kind == "regular" && is_deleted_path(fd.path);
  if ((o.type == "memfd" || o.type == "unlinked") != deleted_file)
    bad("a " + o.type + " object on a " + fd.kind + " descriptor (" + fd.path + ")");
  if (o.type == "pipe" && fd.kind != "pipe") bad("a pipe object on a " + fd.kind + " descriptor");
  if (o.type == "unix_socket" && fd.kind != "socket") bad("a socket object on a " + fd.kind + " descriptor");
  if (o.data && o.type != "pipe" && o.type != "unix_socket") bad("a " + o.type + " cannot hold queued bytes");
  if (o.data && o.type == "pipe" && (fd.flags & O_ACCMODE) == O_WRONLY) bad("queued bytes on a pipe's write end");
  if (o.type == "timerfd" && !kClocks.count(o.clockid)) bad("unknown clock " + std::to_string(o.clockid));
  if (o.type == "eventfd" && o.count == UINT64_MAX) bad("eventfd count out of range");
  for (const auto& item : o.items)
    if (!find_fd(img, item.fd)) bad("epoll watches fd " + std::to_string(item.fd) + ", which is not open");
  if (o.type == "unix_socket" && o.peer)
    for (const auto& other : img.fds)
      if (other.object && other.object->type == "unix_socket" && other.object->dup_of < 0 &&
          other.object->id == o.peer && other.object->peer != o.id)
        bad("its peer " + std::to_string(o.peer) + " names another peer");
}

}  // namespace

bool is_deleted_path(const std::string& path) {
  static const std::string suffix = " (deleted)";
  return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void read_fd_object(const json& j, FdEntry& fd) {
  Reader r{j, "fd " + std::to_string(fd.fd) + " object"};
  if (!j.is_object()) r.bad("not a JSON object");
  KernelObject o;
  o.type = r.text("type");
  if (!kTypes.count(o.type)) r.bad("unknown object type \"" + o.type + "\"");
  if (j.contains("dup_of")) {
    o.dup_of = static_cast<int>(r.num("dup_of"));
    fd.object = std::move(o);
    return;
  }
  if (o.type == "pipe") o.pipe_size = r.num("pipe_size");
  if (o.type == "pipe" || o.type == "unix_socket" || o.type == "memfd" || o.type == "unlinked") o.id = r.num("id");
  if (o.type == "eventfd") {
    o.count = r.num("count");
    auto s = j.find("semaphore");
    if (s == j.end() || !s->is_boolean()) r.bad("missing or non-boolean semaphore");
    o.semaphore = s->get<bool>();
  }
  if (o.type == "signalfd") o.mask = r.num("mask");
  if (o.type == "timerfd") {
    o.clockid = static_cast<int>(r.num("clockid"));
    o.settime_flags = static_cast<int>(r.num("settime_flags"));
    o.value_ns = r.num("value_ns");
    o.interval_ns = r.num("interval_ns");
    o.ticks = r.num("ticks", false);
  }
  if (o.type == "epoll") {
    auto items = j.find("items");
    if (items == j.end() || !items->is_array()) r.bad("missing items array");
    for (const json& i : *items) {
      Reader ir{i, r.where + " item"};
      if (!i.is_object()) ir.bad("not a JSON object");
      const uint64_t events = ir.num("events");
      if (events > UINT32_MAX) ir.bad("events out of range");
      o.items.push_back({static_cast<int>(ir.num("fd")), static_cast<uint32_t>(events), ir.num("data")});
    }
  }
  if (o.type == "unix_socket") {
    o.peer = r.num("peer");
    o.sock_type = static_cast<int>(r.num("sock_type"));
  }
  if (o.type == "memfd") o.seals = r.num("seals");
  if (auto d = j.find("data"); d != j.end()) {
    Reader dr{*d, r.where + " data"};
    if (!d->is_object()) dr.bad("not a JSON object");
    o.data = ObjectData{dr.text("file"), dr.text("xxh3"), dr.num("size")};
  }
  if (auto u = j.find("unrestorable"); u != j.end() && u->is_string()) o.unrestorable = u->get<std::string>();
  fd.object = std::move(o);
}

void check_objects(const Image& img) {
  std::set<int> numbers;
  for (const auto& fd : img.fds)
    if (!numbers.insert(fd.fd).second)
      throw ImageError("manifest.json: fd " + std::to_string(fd.fd) + " appears twice");
  for (const auto& fd : img.fds)
    if (fd.object) check_one(img, fd);
}

namespace {

// The object behind `other` when it is a `type` (its dup_of's, for a dup).
const KernelObject* object_of(const Image& img, const FdEntry& other, const char* type) {
  if (!other.object || other.object->type != type) return nullptr;
  const FdEntry* b = other.object->dup_of >= 0 ? find_fd(img, other.object->dup_of) : &other;
  return b && b->object ? &*b->object : nullptr;
}

}  // namespace

bool pipe_has_both_ends(uint64_t id, const std::vector<const Image*>& images) {
  bool reader = false, writer = false;
  for (const Image* img : images)
    for (const auto& other : img->fds) {
      const KernelObject* o = object_of(*img, other, "pipe");
      if (!o || o->id != id) continue;
      reader |= (other.flags & O_ACCMODE) != O_WRONLY;
      writer |= (other.flags & O_ACCMODE) != O_RDONLY;
    }
  return reader && writer;
}

bool socket_has_peer(uint64_t peer, const std::vector<const Image*>& images) {
  for (const Image* img : images)
    for (const auto& other : img->fds)
      if (peer && other.object && other.object->type == "unix_socket" && other.object->dup_of < 0 &&
          other.object->id == peer)
        return true;
  return false;
}

std::string object_unrestorable_reason(const Image& img, const FdEntry& fd, const std::vector<const Image*>& images,
                                       bool tree) {
  const FdEntry* base = &fd;
  if (fd.object->dup_of >= 0) base = find_fd(img, fd.object->dup_of);
  const KernelObject& o = *base->object;
  const std::string what = "a " + fd.kind + " (" + fd.path + ")";
  if (!o.unrestorable.empty()) return what + " that " + o.unrestorable;
  const char* where = images.size() > 1 ? "this process tree" : "this process";
  if (o.type == "pipe" && !tree && !pipe_has_both_ends(o.id, images)) return what + " whose other end is not in " + where;
  if (o.type == "unix_socket" && !socket_has_peer(o.peer, images)) return what + " whose peer is not in " + where;
  return "";
}

std::string object_unrestorable_reason(const Image& img, const FdEntry& fd) {
  return object_unrestorable_reason(img, fd, {&img});
}

}  // namespace ckptsim::restart
