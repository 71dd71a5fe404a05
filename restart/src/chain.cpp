// Incremental images: an image whose manifest names a parent holds only the
// pages that changed since it; the rest of its memory is in the parent, or the
// parent's parent, down to a full image. Every link is opened through its own
// ImageFiles (once, no links followed, one owner with the image), its manifest
// must be the very one the child was written on (checksum of every byte), and
// its core must be well formed. Then each mapping of the image is cut into
// pieces, each read from the newest link that holds it. A tree's process has
// its chain of the same process: its parent is proc-PID of the parent tree image.
#include <algorithm>
#include <climits>
#include <cstdio>

#include "image_files.h"
#include "phases.h"

namespace ckptsim::restart {
namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kMaxLinks = 4096;

std::filesystem::path parent_dir(const Image& img, const ParentRef& ref) {
  const std::filesystem::path top = img.dir.parent_path();
  if (img.files->tree_member())
    return top.parent_path() / ref.image / img.name();
  return top / ref.image;
}

Image read_parent(const Image& img, const Image& child, const ParentRef& ref) {
  auto files = std::make_shared<ImageFiles>(parent_dir(img, ref));
  Image parent = read_manifest(*files);
  parent.files = files;
  if (files->owner() != img.files->owner())
    throw ImageError("it belongs to uid " + std::to_string(files->owner()) + ", the image to uid " +
                     std::to_string(img.files->owner()) + ": every link of a chain must have one owner");
  if (parent.manifest_text_xxh3 != ref.manifest_xxh3)
    throw ImageError("its manifest.json is not the one " + child.name() + " was written on (replaced or changed)");
  if (parent.seq >= child.seq) throw ImageError("it is not older than " + child.name());
  const int chain = parent.parent ? parent.parent->chain : 0;
  if (chain + 1 != ref.chain)
    throw ImageError("it is link " + std::to_string(chain) + " of its chain, " + child.name() + " says " +
                     std::to_string(ref.chain - 1));
  if (parent.kernel_release != img.kernel_release) throw ImageError("it was taken on another kernel");
  read_core(parent);
  check_core_header(parent);
  return parent;
}

// Pages of [m.start, m.end) that `link`'s mapping `am` holds, given to `take`.
template <class Take>
void pages_held(const Mapping& m, const Mapping& am, Take take) {
  const uint64_t lo = std::max(m.start, am.start), hi = std::min(m.end, am.end);
  if (lo >= hi || !am.dumped) return;
  auto span = [&](uint64_t first, uint64_t count) {  // pages of am
    const uint64_t s = std::max(lo, am.start + first * kPage), e = std::min(hi, am.start + (first + count) * kPage);
    for (uint64_t a = s; a < e; a += kPage) take((a - m.start) / kPage, am.core_offset + (a - am.start));
  };
  if (!am.delta) return span(0, (am.end - am.start) / kPage);
  for (const auto& [first, count] : am.runs) span(first, count);
}

void cut_into_pieces(Image& img, Mapping& m) {
  m.pieces.clear();
  if (!img.parent) {
    m.pieces.push_back(Piece{0, m.size(), 0, m.core_offset});
    return;
  }
  const uint64_t npages = m.size() / kPage;
  std::vector<uint32_t> link(npages, UINT32_MAX);
  std::vector<uint64_t> offset(npages, 0);
  uint64_t missing = npages;
  auto assign_from = [&](uint32_t l) {
    return [&, l](uint64_t page, uint64_t core_offset) {
      if (link[page] != UINT32_MAX) return;
      link[page] = l;
      offset[page] = core_offset;
      --missing;
    };
  };
  pages_held(m, m, assign_from(0));
  for (size_t l = 1; l <= img.ancestors.size() && missing; ++l)
    for (const Mapping& am : img.link(l).mappings) pages_held(m, am, assign_from(uint32_t(l)));
  if (missing)
    throw ImageError("core: segment " + hex_range(m.start, m.end) + " has " + std::to_string(missing) +
                     " pages that no image of its chain holds");
  for (uint64_t p = 0; p < npages; ++p) {
    Piece* last = m.pieces.empty() ? nullptr : &m.pieces.back();
    if (last && last->link == link[p] && last->core_offset + last->len == offset[p]) {
      last->len += kPage;
    } else {
      m.pieces.push_back(Piece{p * kPage, kPage, link[p], offset[p]});
    }
  }
}

}  // namespace

int Image::core_fd(size_t l) const { return link(l).files->get(fmt::kCore); }

void read_chain(Image& img) {
  for (size_t i = 0; i < kMaxLinks; ++i) {
    const Image& child = i == 0 ? img : img.ancestors.back();
    if (!child.parent) break;
    const ParentRef ref = *child.parent;
    try {
      Image parent = read_parent(img, child, ref);
      img.ancestors.push_back(std::move(parent));
    } catch (const ImageError& e) {
      throw ImageError("parent image " + ref.image + " of " + child.name() + ": " + e.what());
    }
  }
  if (!img.ancestors.empty() && img.ancestors.back().parent)
    throw ImageError("the chain of " + img.name() + " is longer than " + std::to_string(kMaxLinks) + " images");
  for (auto& m : img.mappings)
    if (m.dumped) cut_into_pieces(img, m);
}

}  // namespace ckptsim::restart
