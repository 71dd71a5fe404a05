#!/bin/bash
# Source rules that a compiler does not check (issue 22), run by ctest:
#  1. The image format is spelled in one place: a file or directory name of an
#     image, a CKPT_* variable or a manifest key named in
#     ckpt/include/ckpt/image_format.h appears as a string literal only there,
#     in the manifest's writer and in its readers. A line that uses such a word
#     for something else says so with "// not an image name".
#  2. No shell between us and a program: no system() or popen() in the sources
#     or the tests (a test that needs a shell runs /bin/sh -c by its argv). The
#     library's own system and popen (extern "C" definitions in ckpt/src/lib,
#     which keep it in the shell a job starts) are not calls.
# Prints each offending line and exits 1; exits 0 when the tree is clean.
set -u
if [ "${1:-}" = --self-test ]; then  # a tree with one of each fault: both must be found
  t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/slurm" "$t/sim"
  echo 'auto m = "manifest.json";  // a comment does not excuse it' > "$t/slurm/a.cpp"
  echo 'FILE* p = popen("ls", "r");' > "$t/sim/b.cpp"
  echo '// "core" and system() in a comment are fine' > "$t/sim/c.cpp"
  out=$(bash "$0" "$t")
  rc=$?
  echo "$out"
  [ $rc -eq 1 ] && grep -q 'slurm/a.cpp:1:' <<<"$out" && grep -q 'sim/b.cpp:1:' <<<"$out" &&
    ! grep -q 'sim/c.cpp' <<<"$out" && echo "self-test: both planted faults found, the comment passed" && exit 0
  echo "self-test FAILED"
  exit 1
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

homes='^(ckpt/include/ckpt/image_format\.h|ckpt/src/lib/manifest\.cpp|ckpt/src/lib/object_manifest\.cpp|ckpt/src/control/image_summary\.cpp|restart/src/read_manifest\.cpp|restart/src/read_objects\.cpp):'
# Exact literals, and literals that begin with an image prefix or variable name.
words='"(ckpt-|\.tmp-|latest|\.ckpt-status|\.ckpt-restore-lock|ckpt-images|core|manifest\.json|exe|files|files/|parent|ckptsim-image|format_version|manifest_xxh3|written|stopped_ns|tree\.json|ckptsim-tree|proc-)"|"(files/|CKPT_)[^"]*"'
modules=(util ckpt restart calib slurm experiment apps)

fail=0
# Comments are not code: what follows // is left out of the match.
literals=$(find "${modules[@]}" 2>/dev/null \( -name '*.cpp' -o -name '*.h' \) -print0 | sort -z |
  xargs -0 perl -ne '(my $c = $_) =~ s{//.*}{}; print "$ARGV:$.:$_" if !m{// not an image name} && $c =~ m{'"$words"'}; close ARGV if eof' |
  grep -vE "$homes")
if [ -n "$literals" ]; then
  echo "image format names spelled outside ckpt/include/ckpt/image_format.h (use its constants):"
  echo "$literals"
  fail=1
fi

shells=$(find util ckpt restart calib models sim slurm experiment apps bench tests \( -name '*.cpp' -o -name '*.h' \) -print0 2>/dev/null |
  xargs -0 perl -ne '(my $c = $_) =~ s{//.*}{}; print "$ARGV:$.:$_" if $c =~ m{(^|[^_\w])(std::)?(system|popen)\(} && !($ARGV =~ m{^ckpt/src/lib/} && $c =~ m{^extern "C" }); close ARGV if eof')
if [ -n "$shells" ]; then
  echo "system()/popen() in the sources (run the program by its argv: util::run_command, util::spawn):"
  echo "$shells"
  fail=1
fi
# The format's page says every name the header gives (it is checked against the header).
if [ -f ckpt/include/ckpt/image_format.h ]; then
  undocumented=""
  for name in $(perl -ne 'print "$1\n" if /constexpr char \w+\[\] = "([^"]+)"/' ckpt/include/ckpt/image_format.h); do
    grep -qF -- "$name" docs/image-format.md 2>/dev/null || undocumented+=" $name"
  done
  if [ -n "$undocumented" ]; then
    echo "named in ckpt/include/ckpt/image_format.h but not in docs/image-format.md:$undocumented"
    fail=1
  fi
fi
[ $fail -eq 0 ] && echo "sources: image names in their home, no system()/popen()"
exit $fail
