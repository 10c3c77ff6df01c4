"""A stand-in service for the runbook demo: /health answers 503 until POST /restart."""
import http.server
import sys

healthy = False


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if healthy or self.path != "/health" else 503)
        self.end_headers()

    def do_POST(self):
        global healthy
        if self.path == "/restart":
            healthy = True
            self.send_response(202)
        else:
            self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
