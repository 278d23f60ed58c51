# SPDX-License-Identifier: Apache-2.0
"""check_layers.py on made-up trees: it must fail on an upward include."""

import os
import tempfile
import unittest

import check_layers


def tree(files):
    d = tempfile.mkdtemp(prefix="layers-")
    for rel, text in files.items():
        path = os.path.join(d, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return d


class CheckLayers(unittest.TestCase):
    def test_downward_and_sideways_includes_pass(self):
        d = tree({
            "cluster/link.cpp": '#include "actor/cork.hpp"\n'
                                '#include "troupe/wire/proto.hpp"\n'
                                '#include "troupe/error.hpp"\n',
            "node/node.cpp": '#include "introspection/metrics.hpp"\n',
            "introspection/snapshot.cpp": '#include "troupe/node/node.hpp"\n',
        })
        self.assertEqual(check_layers.violations(d), [])

    def test_a_private_upward_include_fails(self):
        d = tree({"actor/actor_base.cpp": '#include "cluster/link.hpp"\n'})
        found = check_layers.violations(d)
        self.assertEqual(len(found), 1)
        self.assertIn("actor (layer 2) may not include cluster (layer 4)",
                      found[0])

    def test_a_public_upward_include_fails(self):
        d = tree({"include/troupe/wire/proto.hpp":
                  '#include "troupe/node/node.hpp"\n'})
        found = check_layers.violations(d)
        self.assertEqual(len(found), 1)
        self.assertIn("wire (layer 1) may not include node (layer 5)",
                      found[0])

    def test_the_exit_code_says_so(self):
        d = tree({"log/log.cpp": '#include "troupe/wire/x.pb.h"\n'})
        self.assertEqual(check_layers.main(["check_layers", d]), 1)
        ok = tree({"wire/x.cpp": '#include "troupe/log.hpp"\n'})
        self.assertEqual(check_layers.main(["check_layers", ok]), 0)


if __name__ == "__main__":
    unittest.main()
