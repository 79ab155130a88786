"""A stand-in for Secrets Manager's GetSecretValue (JSON 1.1 over plain HTTP on 127.0.0.1), for
the cold-start figures of BENCHMARKS.md: python3 bench/secret-stub.py PORT [SECRET]."""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = sys.argv[2] if len(sys.argv) > 2 else "bench-token-signing-secret-0123456789abcdef"

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else a keep-alive answer waits for a delayed ACK (40 ms)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        target = self.headers.get("X-Amz-Target", "")
        if target != "secretsmanager.GetSecretValue":
            self.send_response(400); self.send_header("Content-Length", "0"); self.end_headers(); return
        arn = json.loads(body or b"{}").get("SecretId", "")
        out = json.dumps({"ARN": arn, "Name": "bench", "SecretString": SECRET, "VersionId": "v1",
                          "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7e9}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
