# Fetch a URL without any proxy and print the body; exit 1 when it fails.
# Used through nsenter/ip netns exec, to fetch from inside a namespace.
import sys
import urllib.request

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(sys.argv[1], timeout=float(sys.argv[2]) if len(sys.argv) > 2 else 5) as response:
        sys.stdout.write(response.read().decode('utf-8', 'replace'))
except Exception as exc:  # any failure is the answer "does not answer"
    sys.stderr.write('%s: %s\n' % (sys.argv[1], exc))
    sys.exit(1)
