#!/usr/bin/env python3
"""Bytes on disk of each image of a chain (bench-incremental.sh, issue 23).

Usage: image_disk_usage.py IMG COUNT TARGET [--files]
Allocated bytes (st_blocks * 512) of every file of IMG/ckpt-0001..COUNT, a
file hard-linked from an earlier image counted only there (a link costs no
space). Per image: its bytes against the first image's, and its file copies'
bytes (files/, block checksums included) against the content a whole copy of
those files takes (the sizes its manifest records). The target is checked on
the second and later images: their whole bytes, or with --files the copies'."""
import json
import os
import sys


def main():
    img, count, target = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    files_only = "--files" in sys.argv[4:]
    seen = set()
    first = None
    worst = 0.0
    print(f"{'image':10} {'on disk MB':>10} {'vs first':>8} {'copies MB':>9} {'content MB':>10} {'copies/content':>14}")
    for i in range(1, count + 1):
        image = os.path.join(img, f"ckpt-{i:04d}")
        total = copies = 0
        for root, _, names in os.walk(image):
            for name in names:
                st = os.lstat(os.path.join(root, name))
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
                if os.path.basename(root) == "files":
                    copies += st.st_blocks * 512
        m = json.load(open(os.path.join(image, "manifest.json")))
        content = sum(f["size"] for f in m.get("fds", []) if f.get("kind") == "regular")
        content += sum(f["size"] for f in m.get("shared_files", []) + m.get("written_files", []))
        if first is None:
            first = total
        vs_first = total / first
        per_content = copies / content if content else 0.0
        if i >= 2:
            worst = max(worst, per_content if files_only else vs_first)
        print(f"ckpt-{i:04d} {total / 1e6:10.2f} {vs_first:7.3f}x {copies / 1e6:9.3f} {content / 1e6:10.2f} {per_content:13.4f}x")
    what = "file copies against their content" if files_only else "bytes on disk against the first image"
    verdict = "ok" if worst <= target else "ABOVE"
    print(f"second and later images, {what}: max {worst:.4f}x ({verdict} target <= {target})")


if __name__ == "__main__":
    main()
