"""Tests of scripts/new-operation on a copy of the files it edits (run by scripts/test)."""
import os, re, shutil, subprocess, sys, tempfile, unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDITED = ["template.yaml", "local-api/Cargo.toml", "local-api/src/router.rs", "scripts/events.py",
          "shared/src/rate_limits.rs", "local-api/src/openapi.rs"]
SCHEMA_DERIVE = '#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]'
MARKER = "new-operation: fill in"


def scaffold(root, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "new-operation"), *args, "--root", root],
                          capture_output=True, text=True)


class NewOperation(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        for rel in EDITED:
            os.makedirs(os.path.join(self.root, os.path.dirname(rel)), exist_ok=True)
            shutil.copy(os.path.join(ROOT, rel), os.path.join(self.root, rel))
        os.makedirs(os.path.join(self.root, "functions"))

    def tearDown(self):
        shutil.rmtree(self.root)

    def read(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return f.read()

    def test_a_signed_operation_is_wired_everywhere(self):
        done = scaffold(self.root, "get-user-note", "/v4/ext/user/note/get", "--read-only")
        self.assertEqual(done.returncode, 0, done.stderr)
        lib = self.read("functions/get-user-note/src/lib.rs")
        self.assertIn("impl Operation for GetUserNote", lib)
        self.assertIn("const READ_ONLY: bool = true;", lib)
        self.assertIn("serve::<get_user_note::GetUserNote>", self.read("functions/get-user-note/src/main.rs"))
        self.assertIn('name = "get-user-note"', self.read("functions/get-user-note/Cargo.toml"))
        self.assertIn('get-user-note = { path = "../functions/get-user-note", features = ["openapi"] }',
                      self.read("local-api/Cargo.toml"))
        self.assertIn(".operation::<get_user_note::GetUserNote>()", self.read("local-api/src/router.rs"))
        # A route of ours: in our OpenAPI document, with its request's schema derived.
        self.assertIn(SCHEMA_DERIVE, lib)
        self.assertIn('openapi = ["dep:utoipa", "shared/openapi"]', self.read("functions/get-user-note/Cargo.toml"))
        routes = self.read("local-api/src/openapi.rs")
        routes = routes[routes.index("fn routes() -> Vec<Route> {"):]
        routes = routes[: routes.index("\n}\n")]
        self.assertIn('        signed::<get_user_note::GetUserNote>("/v4/ext/user/note/get"),\n    ]', routes)
        template = self.read("template.yaml")
        function = template[template.index("  GetUserNoteFunction:"):]
        function = function[: function.index("\n\n")]
        self.assertIn("Path: /v4/ext/user/note/get", function)
        self.assertNotIn("AWS_IAM", function)
        self.assertIn('dynamodb:LeadingKeys: ["RATE#*"]', function)
        limits = self.read("shared/src/rate_limits.rs")
        self.assertIn('    "/v4/ext/user/note/get",\n', limits)
        listed = re.findall(r'^    "(/v4/.*)",$', limits, re.M)
        self.assertEqual(listed, sorted(listed))
        self.assertIn('"/aws/lambda/${AWS::StackName}/get-user-note"', template)
        # The log group sits with the others, the function before them.
        self.assertLess(template.index("  GetUserNoteFunction:"), template.index("  # One log group per function"))
        self.assertGreater(template.index("  GetUserNoteFunctionLogGroup:"), template.index("  IssueAccessTokenFunctionLogGroup:"))
        self.assertRegex(self.read("scripts/events.py"), r'"get-user-note": \("/v4/ext/user/note/get", .*, False\)')

    def test_a_console_operation_is_behind_the_console_authorizer(self):
        done = scaffold(self.root, "get-app-note", "/console/v1/apps/note/get", "--console")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("impl ConsoleOperation for GetAppNote", self.read("functions/get-app-note/src/lib.rs"))
        self.assertIn("serve_console::<get_app_note::GetAppNote>", self.read("functions/get-app-note/src/main.rs"))
        self.assertIn(".console::<get_app_note::GetAppNote>()", self.read("local-api/src/router.rs"))
        self.assertIn('        console::<get_app_note::GetAppNote>("/console/v1/apps/note/get"),\n    ]',
                      self.read("local-api/src/openapi.rs"))
        template = self.read("template.yaml")
        function = template[template.index("  GetAppNoteFunction:"):]
        self.assertIn("Authorizer: ConsoleAuthorizer", function[: function.index("\n\n")])
        self.assertIn("AuthorizationScopes: [console/admin]", function[: function.index("\n\n")])
        self.assertNotIn("LeadingKeys", function[: function.index("\n\n")])
        self.assertNotIn("/console/v1/apps/note/get", self.read("shared/src/rate_limits.rs"))

    def test_an_official_route_stays_out_of_our_openapi_document(self):
        before = self.read("local-api/src/openapi.rs")
        done = scaffold(self.root, "get-user-note", "/v4/user/note/get", "--read-only")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.read("local-api/src/openapi.rs"), before)
        self.assertNotIn("utoipa", self.read("functions/get-user-note/Cargo.toml"))
        self.assertNotIn("ToSchema", self.read("functions/get-user-note/src/lib.rs"))
        self.assertIn('get-user-note = { path = "../functions/get-user-note" }', self.read("local-api/Cargo.toml"))

    def test_nothing_is_overwritten_and_bad_names_are_refused(self):
        before = {rel: self.read(rel) for rel in EDITED}
        for args in [("get-user", "/v4/ext/other"),          # the path is free, the name is taken below
                     ("Get_User", "/v4/ext/x"),
                     ("get-x", "/console/v1/x"),              # a console path for a signed operation
                     ("get-y", "/v4/user/get")]:              # routed already
            if args[0] == "get-user":
                os.makedirs(os.path.join(self.root, "functions", "get-user"))
            done = scaffold(self.root, *args)
            self.assertNotEqual(done.returncode, 0, args)
        self.assertEqual({rel: self.read(rel) for rel in EDITED}, before)

    def test_no_scaffold_is_left_unfinished_in_the_repository(self):
        left = subprocess.run(["grep", "-rln", MARKER, "functions", "template.yaml", "scripts/events.py",
                               "local-api", "shared"], cwd=ROOT, capture_output=True, text=True).stdout
        self.assertEqual(left, "")


if __name__ == "__main__":
    unittest.main()
