"""scripts/module-cycles.py on small planted houses: a circle counts wherever it sits in a file,
test code (by its braces, or its own file) never does."""
import importlib.util
import io
import os
import tempfile
import unittest
from contextlib import redirect_stdout

SPEC = importlib.util.spec_from_file_location(
    "module_cycles", os.path.join(os.path.dirname(os.path.abspath(__file__)), "module-cycles.py")
)
module_cycles = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(module_cycles)


def check(files):
    """Runs the check with --check on a house of `files` (path -> text): (exit code, output)."""
    with tempfile.TemporaryDirectory() as root:
        for path, text in files.items():
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        out = io.StringIO()
        with redirect_stdout(out):
            code = module_cycles.main(["--check", root])
        return code, out.getvalue()


TEST_MODULE = '''
#[cfg(test)]
mod tests {
    use crate::a::f;
    const BRACE: &str = "}";
    const CHAR: char = '{';
    // a comment's } is not code
    #[test]
    fn t() { assert_eq!(BRACE.len(), CHAR.len_utf8()); let _ = f; }
}
'''


class ModuleCycles(unittest.TestCase):
    def test_a_circle_planted_after_a_test_module_fails_the_check(self):
        code, out = check({
            "shared/src/lib.rs": "pub mod a;\npub mod b;\n",
            "shared/src/a.rs": "pub fn f() { crate::b::g() }\n",
            "shared/src/b.rs": "pub fn g() {}\n" + TEST_MODULE + "\npub fn h() { crate::a::f() }\n",
        })
        self.assertEqual(code, 1, out)
        self.assertIn("circle in shared/src: a <-> b", out)

    def test_a_circle_only_through_test_code_passes(self):
        code, out = check({
            "shared/src/lib.rs": "pub mod a;\npub mod b;\n",
            "shared/src/a.rs": "pub fn f() { crate::b::g() }\n",
            "shared/src/b.rs": "pub fn g() {}\n" + TEST_MODULE,
        })
        self.assertEqual(code, 0, out)

    def test_a_test_module_in_a_file_of_its_own_is_left_out(self):
        code, out = check({
            "local-api/src/lib.rs": "pub mod a;\npub mod b;\n",
            "local-api/src/a.rs": "use crate::b::g;\npub fn f() { g() }\n",
            "local-api/src/b/mod.rs": "pub fn g() {}\n#[cfg(test)]\nmod tests;\n",
            "local-api/src/b/tests.rs": "use crate::a::f;\n",
        })
        self.assertEqual(code, 0, out)

    def test_grouped_imports_and_super_in_any_crate_count(self):
        code, out = check({
            "functions/get-user/src/lib.rs": "mod a;\nmod b;\n",
            "functions/get-user/src/a.rs": "use crate::{b::g, c};\n",
            "functions/get-user/src/b.rs": "use super::a;\n",
        })
        self.assertEqual(code, 1, out)
        self.assertIn("circle in functions/get-user/src: a <-> b", out)


if __name__ == "__main__":
    unittest.main()
