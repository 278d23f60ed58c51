#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a lower layer of the runtime includes a higher one.

The runtime's folders, lowest first (runtime/README.md): the top-level
headers (troupe/error.hpp, log.hpp, endpoint.hpp) and log/; wire/ and
transport/; actor/; supervision/ and persistence/; cluster/; node/,
introspection/ (which walks the node's trees) and dashboard/ (the node's
web server, over introspection); testkit/ (the installed
test kit, over whole nodes). A file may include its own
layer and lower ones. Public headers count for their folder
(include/troupe/cluster/x.hpp is cluster), generated ones too
(troupe/wire/x.pb.h is wire).

Usage: check_layers.py [RUNTIME_DIR]   (default: runtime/ beside tools/)
Prints one line per upward include and exits 1 if there is any.
"""

import os
import re
import sys

LAYERS = {
    "top": 0, "log": 0,
    "wire": 1, "transport": 1,
    "actor": 2,
    "supervision": 3, "persistence": 3,
    "cluster": 4,
    "node": 5, "introspection": 5, "dashboard": 5,
    "testkit": 6,
}

INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"')


def layer_of_path(rel):
    """The folder a file under the runtime belongs to, or None."""
    parts = rel.split("/")
    if parts[0] == "include" and len(parts) >= 3 and parts[1] == "troupe":
        return parts[2] if len(parts) > 3 else "top"
    return parts[0] if parts[0] in LAYERS else None


def layer_of_include(inc):
    """The folder an include names ("cluster/link.hpp",
    "troupe/cluster/cluster.hpp", "troupe/error.hpp"), or None (not the
    runtime's: tests, generated files of other targets, ...)."""
    parts = inc.split("/")
    if parts[0] == "troupe":
        if len(parts) == 2:
            return "top"
        return parts[1] if parts[1] in LAYERS else None
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else None


def violations(root):
    out = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if not f.endswith((".cpp", ".hpp", ".h")):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            src = layer_of_path(rel)
            if src is None:
                continue
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    dst = layer_of_include(m.group(1))
                    if dst is not None and LAYERS[dst] > LAYERS[src]:
                        out.append(f"{rel}:{n}: includes \"{m.group(1)}\": "
                                   f"{src} (layer {LAYERS[src]}) may not "
                                   f"include {dst} (layer {LAYERS[dst]})")
    return sorted(out)


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..",
                                                      "runtime")
    found = violations(root)
    for v in found:
        print(v)
    if found:
        print(f"check_layers: {len(found)} upward include(s); see "
              "runtime/README.md for the layer order")
        return 1
    print("check_layers: no upward include")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
