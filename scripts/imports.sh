#!/usr/bin/env bash
# The module import graph of src/: one line per module, the crate modules it names (`use` and
# paths), comments and unit tests left out.
#
#   scripts/imports.sh           print the graph
#   scripts/imports.sh --check   fail if the core (`check`) names a front door, if a front door
#                                names another (but `tonic`, the tower layer with gRPC's
#                                answer), or if the graph has a circle (CI runs this)
cd "$(dirname "$0")/.."
graph() {
for f in $(find src -name '*.rs' | sort); do
  m=$(echo "$f" | sed 's#^src/##; s#/mod\.rs$##; s#\.rs$##; s#/#::#g')
  # Code only: stop at the unit tests, drop comment lines.
  deps=$(sed '/^#\[cfg(test)\]/,$d' "$f" | grep -v '^\s*//' \
    | grep -ohE 'crate::[a-z_]+(::[a-z_]+)?' | sed 's/crate:://' \
    | sed -E 's/^(check::[a-z_]+)::[a-z_]+$/\1/' | grep -v "^$m\$" | sort -u | tr '\n' ' ')
  echo "$m -> $deps"
done
}
if [ "${1:-}" != "--check" ]; then
  graph
  exit 0
fi
graph | python3 -c '
import sys
edges = {}
for line in sys.stdin:
    module, _, deps = line.partition(" -> ")
    edges[module.strip()] = deps.split()
bad = [f"{m} -> {d}" for m, ds in edges.items() if m.startswith("check")
       for d in ds if d.split("::")[0] in ("tower", "axum", "tonic", "actix", "test_util")]
for b in bad:
    print("the core names a front door:", b)
doors = ("tower", "axum", "tonic", "actix")
crossed = [f"{m} -> {d}" for m, ds in edges.items() if m.split("::")[0] in doors
           for d in ds if d.split("::")[0] in doors and d.split("::")[0] != m.split("::")[0]
           and not (m.split("::")[0] == "tonic" and d.split("::")[0] == "tower")]
for c in crossed:
    print("a front door names another:", c)
bad += crossed
# A circle: a path from a module back to itself (parents count as their submodules).
def norm(d):
    return d if d in edges else d.rsplit("::", 1)[0]
seen, stack, circles = set(), [], []
def visit(m):
    if m in stack:
        circles.append(stack[stack.index(m):] + [m]); return
    if m in seen or m not in edges: return
    seen.add(m); stack.append(m)
    for d in edges[m]:
        n = norm(d)
        if n != m and not n.startswith(m + "::") and not m.startswith(n + "::"):
            visit(n)
    stack.pop()
for m in list(edges):
    visit(m)
for c in circles:
    print("import circle:", " -> ".join(c))
sys.exit(1 if bad or circles else 0)
'
