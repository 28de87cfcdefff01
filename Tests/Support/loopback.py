"""One relay for the test servers that stand in front of another (moto, a provider stand-in).

iam_simulator.py and cloudtrail_emulator.py answer the calls moto lacks and forward the rest;
recordingproxy.py forwards everything it records. All three copy a request to the upstream and
its answer back the same way; this is that copy, so a fix to it (a header, a length) is made once.
"""
import http.client


def relay(handler, upstream, path, body, drop=("connection",)):
    """Sends `handler`'s request (its method and headers, `body`, to `path`) to `upstream` (a
    parsed URL) and writes the upstream's answer back, with its own Content-Length. Headers named
    in `drop` (lower case) are not forwarded."""
    conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
    conn.putrequest(handler.command, path, skip_host=True, skip_accept_encoding=True)
    for k, v in handler.headers.items():
        if k.lower() not in drop:
            conn.putheader(k, v)
    conn.endheaders(body if body else None)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    handler.send_response(resp.status)
    for k, v in resp.getheaders():
        if k.lower() not in ("transfer-encoding", "connection", "content-length"):
            handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
