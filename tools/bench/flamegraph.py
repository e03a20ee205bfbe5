#!/usr/bin/env python3
"""Renders folded stacks ("root;child;leaf COUNT" per line, as tools/bench/profile.py writes
them from `perf script`) as a flame graph: an SVG of nested boxes, one per frame, as wide as
the share of samples it was on the stack for; hovering a box shows its name and share.

  python3 tools/bench/flamegraph.py flintd.folded --title flintd > flintd.svg
"""
import argparse
import html
import sys

WIDTH = 1200
ROW = 16
MIN_PX = 0.3  # narrower frames are left out


def parse(lines):
    root = {"name": "all", "count": 0, "children": {}}
    for line in lines:
        line = line.rstrip("\n")
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        node = root
        node["count"] += n
        for frame in stack.split(";"):
            node = node["children"].setdefault(frame, {"name": frame, "count": 0, "children": {}})
            node["count"] += n
    return root


def colour(name):
    h = 0
    for c in name:
        h = (h * 31 + ord(c)) & 0xFFFFFF
    if "[k]" in name or name.startswith(("__x64_sys", "entry_SYSCALL", "do_syscall")):
        return "rgb(%d,%d,%d)" % (230, 120 + h % 60, 40 + h % 40)  # kernel: orange
    return "rgb(%d,%d,%d)" % (200 + h % 55, 60 + h % 100, 40 + (h >> 8) % 50)


def render(root, title):
    total = max(1, root["count"])
    scale = WIDTH / total
    boxes = []
    depth_max = 0

    def walk(node, x, depth):
        nonlocal depth_max
        w = node["count"] * scale
        if w < MIN_PX:
            return
        depth_max = max(depth_max, depth)
        boxes.append((x, depth, w, node))
        cx = x
        for child in sorted(node["children"].values(), key=lambda c: c["name"]):
            walk(child, cx, depth + 1)
            cx += child["count"] * scale

    walk(root, 0.0, 0)
    height = (depth_max + 3) * ROW
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="monospace" font-size="11">' % (WIDTH, height),
           '<text x="4" y="13">%s (%d samples)</text>' % (html.escape(title), total)]
    for x, depth, w, node in boxes:
        y = height - (depth + 1) * ROW
        share = 100.0 * node["count"] / total
        label = html.escape(node["name"])
        out.append('<g><title>%s: %d samples, %.2f%%</title>'
                   '<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s" stroke="white" '
                   'stroke-width="0.3"/>' % (label, node["count"], share, x, y, w, ROW - 1,
                                             colour(node["name"])))
        chars = int(w / 7)
        if chars >= 3:
            text = node["name"] if len(node["name"]) <= chars else node["name"][:chars - 2] + ".."
            out.append('<text x="%.2f" y="%d">%s</text>' % (x + 2, y + ROW - 4,
                                                            html.escape(text)))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folded", nargs="?", help="folded stacks (default: stdin)")
    ap.add_argument("--title", default="flame graph")
    args = ap.parse_args()
    lines = open(args.folded) if args.folded else sys.stdin
    sys.stdout.write(render(parse(lines), args.title))


if __name__ == "__main__":
    main()
