// An image's files, each opened once and checked on the descriptor that is
// then used for everything: hashing, parsing, copying back, mapping. Nothing
// in an image is ever reopened by path, so a file swapped for a link, a FIFO
// or another file after the check is never what gets restored.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "ckpt/image_format.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

namespace fmt = image_format;

class ImageFiles {
 public:
  // `image` is an image directory or DIR/latest (a link to a plain name
  // `ckpt-NNNN` in DIR). Checks the image directory and the one holding it.
  // Throws ImageError.
  explicit ImageFiles(const std::filesystem::path& image);
  // A process's image inside a tree image (proc-PID): opened through the
  // tree's directory, never following a link; one owner with the tree.
  ImageFiles(const ImageFiles& tree, const std::string& name);
  ImageFiles(const ImageFiles&) = delete;
  ImageFiles& operator=(const ImageFiles&) = delete;

  const std::filesystem::path& dir() const { return dir_; }  // for messages
  uid_t owner() const { return owner_; }
  int dir_fd() const { return dirfd_.get(); }  // to list the directory (read_tree)
  bool tree_member() const { return tree_member_; }
  gid_t group() const { return group_; }

  // "manifest.json", "core", "exe", "tree.json" or "files/NAME": opened the first time
  // (no links followed, a regular file, owned like the image, writable by
  // its owner only), the same descriptor every time after. Throws ImageError.
  int get(const std::string& rel);
  // From now on `rel` is `fd`: a copy rebuilt from an incremental chain
  // (file_chain.cpp), checked like the others before anything uses it.
  void replace(const std::string& rel, util::OwnedFd fd) {
    open_[rel] = std::move(fd);
    replaced_.insert(rel);
  }
  bool replaced(const std::string& rel) const { return replaced_.count(rel) != 0; }
  // The whole content of `rel` (for the manifest).
  std::string read_all(const std::string& rel);

 private:
  void check_one_owner(uid_t uid, const std::filesystem::path& p) const;  // ImageError unless uid is the owner's

  std::filesystem::path dir_;
  uid_t owner_ = 0;
  gid_t group_ = 0;
  bool tree_member_ = false;
  util::OwnedFd dirfd_, filesfd_;
  std::map<std::string, util::OwnedFd> open_;
  std::set<std::string> replaced_;
};

// `image` as typed (an image directory, DIR/latest, "img/") split into the
// directory holding it and its name in there ("." when there is none).
struct ImagePath {
  std::filesystem::path dir, given;
};
ImagePath split_image_path(const std::filesystem::path& image);

// Whether `name` is a plain file name: not empty, no '/', not "." or "..".
bool is_plain_name(const std::string& name);

}  // namespace ckptsim::restart
