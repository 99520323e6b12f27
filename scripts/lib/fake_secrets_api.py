"""The slice of the Kubernetes API that the function's API-key watch uses, for benchmarks on a machine without a
cluster: a list of one Secret, then a watch that stays open and sends nothing (as the API server does while the
Secret is unchanged). Plain HTTP, no authentication.

    python3 fake_secrets_api.py PORT NAMESPACE NAME KEY
"""
import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, namespace, name, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
          "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
          "data": {"KNLLAMA_API_KEY": base64.b64encode(key.encode()).decode()}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if "watch=true" in self.path:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                while True:
                    time.sleep(3600)
            except (BrokenPipeError, ConnectionResetError):
                return
        body = json.dumps({"apiVersion": "v1", "kind": "SecretList", "metadata": {"resourceVersion": "1"},
                           "items": [SECRET]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
