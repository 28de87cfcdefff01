#!/usr/bin/env python3
"""Check one HTTP request (and optionally its response) against a provider's published OpenAPI description.

usage: check_request.py SPEC METHOD URL [BODY_FILE] [options]

  SPEC       one of the JSON files in this folder (OpenAPI 3.0/3.1, or Swagger 2.0 such as slack.json)
  METHOD     GET, POST, PUT, PATCH, DELETE
  URL        full URL incl. query string. The scheme/host are ignored (so a loopback test receiver works);
             the path must include the server's base path (e.g. /v1 for OpenAI, /api for Slack).
  BODY_FILE  request body; content type is guessed (JSON if it parses as JSON, else form-encoded)

options:
  -H/--header "Name: value"   request header (repeatable), e.g. -H "Authorization: Bearer x"
  --content-type TYPE         override the request content type
  --no-security               do not check security requirements (auth headers)
  --response-status N         also validate a response with this status code ...
  --response-body FILE        ... and this body (JSON); content type application/json unless --response-content-type

Exit 0: the request (and response, if given) matches an operation of SPEC. Exit 1: it does not (reason on stderr).
Exit 2: bad usage or unreadable spec.

Workaround: readOnly is ignored on parameter schemas (GitHub's alert_number reuses a readOnly schema).
Swagger 2.0 specs (slack.json) are converted in memory to OpenAPI 3.0 (formData -> form-urlencoded requestBody,
definitions -> components/schemas); their oauth2 security is not checked.
Needs: pip install openapi-core  (tested with openapi-core 0.23.1, Python 3.11).

Copied from the reference set /work/shared/reference/openapi (see README.md here); respond added `check()`,
the same checks as a function with the prepared description cached, for Tests/Support/receiver.py.
"""
import argparse
import copy
import json
import sys
from urllib.parse import parse_qs, urlsplit

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

HTTP = ("get", "put", "post", "delete", "patch", "head", "options")


def swagger2_to_oas3(s):
    """Minimal Swagger 2.0 -> OpenAPI 3.0.3 conversion (enough for the trimmed Slack description)."""
    def fix_refs(node):
        if isinstance(node, dict):
            return {k: (v.replace("#/definitions/", "#/components/schemas/") if k == "$ref" and isinstance(v, str)
                        else fix_refs(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [fix_refs(v) for v in node]
        return node

    s = fix_refs(copy.deepcopy(s))
    base = "https://" + s.get("host", "localhost") + s.get("basePath", "")
    out = {"openapi": "3.0.3", "info": s["info"], "servers": [{"url": base}], "paths": {},
           "components": {"schemas": s.get("definitions", {})}}
    for path, item in s.get("paths", {}).items():
        new_item = {}
        for m, op in item.items():
            if m not in HTTP:
                continue
            consumes = op.get("consumes") or s.get("consumes") or ["application/json"]
            produces = op.get("produces") or s.get("produces") or ["application/json"]
            nop = {k: v for k, v in op.items() if k not in ("parameters", "responses", "consumes", "produces", "security")}
            params, form, req_form = [], {}, []
            for p in op.get("parameters", []):
                if p["in"] in ("query", "header", "path"):
                    schema = {k: p[k] for k in ("type", "format", "enum", "items", "default", "pattern") if k in p}
                    params.append({"name": p["name"], "in": p["in"], "required": p.get("required", p["in"] == "path"),
                                   "description": p.get("description", ""), "schema": schema})
                elif p["in"] == "formData":
                    form[p["name"]] = {k: p[k] for k in ("type", "format", "enum", "items", "default") if k in p}
                    if p.get("required"):
                        req_form.append(p["name"])
                elif p["in"] == "body":
                    nop["requestBody"] = {"required": p.get("required", False),
                                          "content": {"application/json": {"schema": p.get("schema", {})}}}
            if params:
                nop["parameters"] = params
            if form:
                schema = {"type": "object", "properties": form}
                if req_form:
                    schema["required"] = req_form
                nop["requestBody"] = {"required": bool(req_form),
                                      "content": {ct: {"schema": schema} for ct in consumes
                                                  if ct in ("application/x-www-form-urlencoded", "multipart/form-data")}}
            responses = {}
            for code, r in op.get("responses", {}).items():
                nr = {"description": r.get("description", "")}
                if "schema" in r:
                    nr["content"] = {produces[0]: {"schema": r["schema"]}}
                responses[str(code)] = nr
            nop["responses"] = responses
            new_item[m] = nop
        out["paths"][path] = new_item
    return out


def relax_readonly_parameters(spec):
    """GitHub reuses readOnly response schemas (e.g. alert-number) as path-parameter schemas; openapi-core then
    rejects every request ('Tried to write read-only property'). readOnly is meaningless for parameters, so inline
    such parameter schemas without readOnly. Request/response bodies keep readOnly semantics."""
    schemas = spec.get("components", {}).get("schemas", {})

    def fix(param):
        sch = param.get("schema")
        if isinstance(sch, dict) and "$ref" in sch and sch["$ref"].startswith("#/components/schemas/"):
            target = schemas.get(sch["$ref"].rsplit("/", 1)[1], {})
            if target.get("readOnly"):
                param["schema"] = {k: v for k, v in target.items() if k != "readOnly"}
        elif isinstance(sch, dict):
            sch.pop("readOnly", None)

    for param in spec.get("components", {}).get("parameters", {}).values():
        fix(param)
    for item in spec["paths"].values():
        for param in item.get("parameters", []):
            if "$ref" not in param:
                fix(param)
        for m in HTTP:
            for param in (item.get(m) or {}).get("parameters", []) if isinstance(item.get(m), dict) else []:
                if "$ref" not in param:
                    fix(param)


def expand_server(server):
    url = server["url"]
    for name, var in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(var.get("default", "")))
    return url


_APIS = {}  # (spec path, server) -> (OpenAPI, host URL): building one from a large description is slow


def _prepare(spec_path, req_path, no_security):
    """The OpenAPI object for SPEC with its server pinned to the one whose base path prefixes req_path,
    or (None, message) when none does. Raises ValueError/OSError for an unreadable spec."""
    spec = json.load(open(spec_path))
    if str(spec.get("swagger", "")).startswith("2"):
        spec = swagger2_to_oas3(spec)
    spec = copy.deepcopy(spec)

    # Ignore the request's host: pick the server whose base path prefixes the request path.
    servers = list(spec.get("servers") or [{"url": "/"}])
    for item in spec["paths"].values():  # path/operation-level servers (Twilio) are folded into the global list
        for s in item.get("servers", []):
            servers.append(s)
        item.pop("servers", None)
        for m in HTTP:
            if isinstance(item.get(m), dict):
                servers.extend(item[m].pop("servers", []))
    chosen = None
    for s in servers:
        u = urlsplit(expand_server(s))
        base = u.path.rstrip("/")
        if req_path == base or req_path.startswith(base + "/") or base == "":
            chosen = (f"{u.scheme or 'https'}://{u.netloc or 'localhost'}", base)
            break
    if chosen is None:
        return None, (f"NO MATCH: path {req_path} is not under any server base path "
                      f"({', '.join(expand_server(s) for s in servers)})")
    key = (spec_path, chosen, no_security)
    if key in _APIS:
        return _APIS[key], None
    spec["servers"] = [{"url": chosen[0] + chosen[1]}]
    relax_readonly_parameters(spec)
    if no_security:
        spec.pop("security", None)
        for item in spec["paths"].values():
            for m in HTTP:
                if isinstance(item.get(m), dict):
                    item[m].pop("security", None)
    _APIS[key] = (OpenAPI.from_dict(spec), chosen[0])
    return _APIS[key], None


def check(spec_path, method, url, headers=None, body=None, content_type=None, no_security=False,
          response_status=None, response_body=None, response_content_type="application/json",
          skip_undescribed_response=False):
    """None when the request (and the response, if a status is given) matches SPEC, else the reason.
    skip_undescribed_response: a status the description does not list is not checked (a test
    receiver's 404 for a key that no longer exists, which some descriptions leave out).
    (Added for respond's test receiver; main() below is the original command line.)"""
    parts = urlsplit(url)
    req_path = parts.path or "/"
    prepared, problem = _prepare(spec_path, req_path, no_security)
    if problem:
        return problem
    api, host = prepared
    headers = dict(headers or {})
    if body and content_type is None:
        try:
            json.loads(body)
            content_type = "application/json"
        except ValueError:
            content_type = "application/x-www-form-urlencoded"
    if content_type:
        headers.setdefault("Content-Type", content_type)
    args = {k: (v if len(v) > 1 else v[0]) for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    request = MockRequest(host, method.lower(), req_path, args=args, headers=headers, data=body or None,
                          content_type=content_type or "application/json")
    try:
        api.validate_request(request)
    except Exception as e:  # openapi-core raises a family of ValidationError subclasses
        detail = "; ".join(str(x) for x in getattr(e, "schema_errors", []) or [])
        cause = e.__cause__
        return (f"NO MATCH: {method.upper()} {req_path}: {type(e).__name__}: {e}"
                + (f" ({cause})" if cause else "") + (f" [{detail}]" if detail else ""))
    if response_status is not None:
        response = MockResponse(response_body or b"", status_code=response_status,
                                content_type=response_content_type)
        try:
            api.validate_response(request, response)
        except Exception as e:
            if skip_undescribed_response and type(e).__name__ == "ResponseNotFound":
                return None
            detail = "; ".join(str(x) for x in getattr(e, "schema_errors", []) or [])
            cause = e.__cause__
            return (f"RESPONSE MISMATCH: {response_status} for {method.upper()} {req_path}: {type(e).__name__}: {e}"
                    + (f" ({cause})" if cause else "") + (f" [{detail}]" if detail else ""))
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("spec")
    ap.add_argument("method")
    ap.add_argument("url")
    ap.add_argument("body_file", nargs="?")
    ap.add_argument("-H", "--header", action="append", default=[])
    ap.add_argument("--content-type")
    ap.add_argument("--no-security", action="store_true")
    ap.add_argument("--response-status", type=int)
    ap.add_argument("--response-body")
    ap.add_argument("--response-content-type", default="application/json")
    a = ap.parse_args(argv)

    headers = {}
    for h in a.header:
        name, _, value = h.partition(":")
        headers[name.strip()] = value.strip()
    try:
        body = open(a.body_file, "rb").read() if a.body_file else None
        response_body = open(a.response_body, "rb").read() if a.response_body else b""
        problem = check(a.spec, a.method, a.url, headers, body, a.content_type, a.no_security,
                        a.response_status, response_body, a.response_content_type)
    except (OSError, ValueError) as e:
        print(f"error: cannot read spec {a.spec}: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - report any spec problem as usage error
        print(f"error: spec not usable by openapi-core: {e}", file=sys.stderr)
        return 2
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"OK: {a.method.upper()} {urlsplit(a.url).path or '/'} matches {a.spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
