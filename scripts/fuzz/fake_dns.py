"""A fake DNS-over-HTTPS resolver on one loopback port, for `make fuzz`: the
hooks publish the TXT records of the seeded org's domains here, so
`POST /v1/orgs/{org_id}/domains/{id}/verify` verifies them and a verified
`suggest` domain lets a person ask to join
(`POST /v1/orgs/{org_id}/membership-requests`).

The JSON dialect Cloudflare serves at `/dns-query`, as the runtime tests'
fake (tests/support/fake_dns.rs) speaks it and src/domain/org_domain.rs
(`parse_txt_answer`) reads it: `GET /dns-query?name=…&type=TXT` with
`accept: application/dns-json` answers `{"Status": 0, "Question": […],
"Answer": [{"name", "type": 16, "TTL", "data": "\"<value>\""}]}` for a name
with records, `{"Status": 3, …}` (NXDOMAIN) for one without; anything else
is a 400.

    python3 fake_dns.py --vars PORT

prints the Worker's `DNS_OVER_HTTPS_URL` (a development-only override) for
a fake on 127.0.0.1:PORT, as `NAME=value`, for a .dev.vars;
`python3 fake_dns.py --free-port` prints a port for it. `serve(port)`
starts the fake in a daemon thread; `publish(name, value)` on what it
returns adds a TXT record. Standard library only.
"""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_oauth import free_port


def worker_vars(port):
    """The Worker's variable for a fake on 127.0.0.1:port (honoured with
    ENVIRONMENT=development only)."""
    return {"DNS_OVER_HTTPS_URL": f"http://127.0.0.1:{port}/dns-query"}


def quoted(value):
    """A TXT value as resolvers quote it in `data`: quoted character strings
    of at most 255 bytes (a longer value split, as DNS does)."""
    raw = value.encode()
    chunks = [raw[i:i + 255].decode(errors="replace") for i in range(0, len(raw), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


class Fake:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = {}  # lower-case name without the trailing dot -> [value]

    def publish(self, name, value):
        """Adds `value` to the TXT records of `name`."""
        with self.lock:
            self.records.setdefault(name.rstrip(".").lower(), []).append(value)

    def route(self, path, q, accept):
        """(status, JSON body)."""
        # Cloudflare answers the JSON dialect only when asked for it.
        if accept != "application/dns-json":
            return 400, {"error": "accept application/dns-json"}
        if path != "/dns-query" or q.get("type") != "TXT" or not q.get("name"):
            return 400, {"error": "bad request"}
        name = q["name"].rstrip(".").lower()
        question = [{"name": name + ".", "type": 16}]
        with self.lock:
            values = list(self.records.get(name, ()))
        if not values:
            return 200, {"Status": 3, "Question": question}
        answer = [{"name": name + ".", "type": 16, "TTL": 60, "data": quoted(v)} for v in values]
        return 200, {"Status": 0, "Question": question, "Answer": answer}


def serve(port):
    """Starts the fake on 127.0.0.1:port in a daemon thread; returns it."""
    fake = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            status, body = fake.route(url.path, dict(urllib.parse.parse_qsl(url.query)),
                                      self.headers.get("accept", ""))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/dns-json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-dns", daemon=True).start()
    return fake


if __name__ == "__main__":
    if sys.argv[1:2] == ["--free-port"] and len(sys.argv) == 2:
        print(free_port())
    elif sys.argv[1:2] == ["--vars"] and len(sys.argv) == 3:
        for name, value in worker_vars(int(sys.argv[2])).items():
            print(f"{name}={value}")
    else:
        sys.exit("usage: fake_dns.py --vars PORT | --free-port")
