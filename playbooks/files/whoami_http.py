# A web server for the default lab: answers every GET with where it runs (hostname, PID and user ID inside),
# on port 80 of every address (IPv4 and IPv6). INT or TERM stops it, also when it is PID 1 of its namespace.
import http.server
import os
import signal
import socket
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('%s pid=%d uid=%d\n' % (socket.gethostname(), os.getpid(), os.getuid())).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write('%s %s\n' % (self.address_string(), fmt % args))


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
Server(('::', int(sys.argv[1]) if len(sys.argv) > 1 else 80), Handler).serve_forever()
