// The libc function an interposed one stands in front of, looked up once
// (dlsym(RTLD_NEXT)) and cached; the guards call this at start-up so that a
// signal handler or a vfork child never runs dlsym itself.
#pragma once
#include <dlfcn.h>

namespace ckptlib {

template <class Fn>
Fn libc_next(Fn* cache, const char* name) {
  Fn f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (!f) {
    f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
    __atomic_store_n(cache, f, __ATOMIC_RELEASE);
  }
  return f;
}

}  // namespace ckptlib
