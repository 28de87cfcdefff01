#!/usr/bin/env python3
"""Questions to botocore's service models (botocore/data/<service>/<version>/service-2.json), so
tests check AWS names and shapes against AWS's own description, never against shapes we wrote.

    botocore_model.py operations SERVICE
        the service's operation names, one JSON list
    botocore_model.py check-request SERVICE OPERATION PARAMS_JSON
        PARAMS_JSON: a query-protocol request's parameters ({"Action": ..., "ActionNames.member.1": ...});
        every parameter must be a member of the operation's input shape (lists flattened as
        Name.member.N), every required member present, enums within their values
    botocore_model.py check-response SERVICE OPERATION XML_FILE
        the XML answer must be <OperationResponse> holding <OperationResult> whose elements are
        members of the output shape (recursively: structures, lists of <member>, enums, booleans)
    botocore_model.py check-json-request SERVICE OPERATION BODY_JSON
    botocore_model.py check-json-response SERVICE OPERATION BODY_JSON
        a JSON-protocol body (CloudTrail, Logs, ...) against the operation's input or output shape,
        recursively: no member the shape lacks, every required member, enums, string lengths,
        integer ranges, lists, maps, timestamps (epoch seconds or ISO-8601 text), booleans

Exit 0 and "ok" when it conforms; exit 1 with every problem on stderr otherwise.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

import functools

import botocore.loaders


@functools.lru_cache(maxsize=None)
def model(service):
    return botocore.loaders.create_loader().load_service_model(service, "service-2")


def check_value(m, shape_name, value, where, problems):
    """A query-protocol scalar against its shape."""
    shape = m["shapes"][shape_name]
    if "enum" in shape and value not in shape["enum"]:
        problems.append(f"{where}: {value!r} is not one of {shape['enum']}")
    if shape["type"] == "boolean" and value not in ("true", "false"):
        problems.append(f"{where}: {value!r} is not a boolean")
    if shape["type"] in ("integer", "long") and not value.lstrip("-").isdigit():
        problems.append(f"{where}: {value!r} is not an integer")
    if shape["type"] == "string":
        if "min" in shape and len(value) < shape["min"]:
            problems.append(f"{where}: shorter than {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            problems.append(f"{where}: longer than {shape['max']}")


def check_request(service, operation, params):
    m = model(service)
    problems = []
    if operation not in m["operations"]:
        return [f"{service} has no operation {operation}"]
    if params.get("Action") != operation:
        problems.append(f"Action is {params.get('Action')!r}, not {operation}")
    if params.get("Version") not in (None, m["metadata"]["apiVersion"]):
        problems.append(f"Version {params.get('Version')!r} is not {m['metadata']['apiVersion']}")
    shape = m["shapes"][m["operations"][operation]["input"]["shape"]]
    members = shape["members"]
    seen = set()
    for key, value in params.items():
        if key in ("Action", "Version"):
            continue
        parts = key.split(".")
        name = parts[0]
        if name not in members:
            problems.append(f"{key}: not a member of {operation}'s input ({sorted(members)})")
            continue
        seen.add(name)
        target = m["shapes"][members[name]["shape"]]
        if target["type"] == "list":
            if len(parts) != 3 or parts[1] != "member" or not parts[2].isdigit() or int(parts[2]) < 1:
                problems.append(f"{key}: a list member must be sent as {name}.member.N")
                continue
            check_value(m, target["member"]["shape"], value, key, problems)
        elif len(parts) == 1:
            check_value(m, members[name]["shape"], value, key, problems)
        else:
            problems.append(f"{key}: {name} is a {target['type']}, not a list")
    for required in shape.get("required", []):
        if required not in seen:
            problems.append(f"required member {required} is missing")
    return problems


def local(tag):
    return tag.split("}", 1)[-1]


def check_element(m, shape_name, element, where, problems):
    shape = m["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        for child in element:
            name = local(child.tag)
            if name not in shape["members"]:
                problems.append(f"{where}/{name}: not a member of {shape_name} ({sorted(shape['members'])})")
                continue
            check_element(m, shape["members"][name]["shape"], child, f"{where}/{name}", problems)
    elif kind == "list":
        for child in element:
            if local(child.tag) != "member":
                problems.append(f"{where}/{local(child.tag)}: a list holds <member> elements")
                continue
            check_element(m, shape["member"]["shape"], child, f"{where}/member", problems)
    elif kind == "map":
        problems.append(f"{where}: maps are not checked here")
    else:
        if len(element):
            problems.append(f"{where}: a {kind} has no child elements")
        check_value(m, shape_name, element.text or "", where, problems)


def check_response(service, operation, text):
    m = model(service)
    op = m["operations"].get(operation)
    if op is None:
        return [f"{service} has no operation {operation}"]
    problems = []
    root = ET.fromstring(text)
    if local(root.tag) != f"{operation}Response":
        problems.append(f"root is <{local(root.tag)}>, not <{operation}Response>")
    result_name = op["output"].get("resultWrapper", f"{operation}Result")
    results = [c for c in root if local(c.tag) == result_name]
    if len(results) != 1:
        return problems + [f"expected one <{result_name}>"]
    output = m["shapes"][op["output"]["shape"]]
    check_element(m, op["output"]["shape"], results[0], result_name, problems)
    present = {local(c.tag) for c in results[0]}
    for required in output.get("required", []):
        if required not in present:
            problems.append(f"{result_name}: required member {required} is missing")
    for c in root:
        if local(c.tag) not in (result_name, "ResponseMetadata"):
            problems.append(f"<{local(c.tag)}> is not part of the answer")
    return problems


def check_json(m, shape_name, value, where, problems):
    """A JSON-protocol value against its shape (botocore's own rules for the json protocol)."""
    shape = m["shapes"][shape_name]
    kind = shape["type"]
    if kind == "structure":
        if not isinstance(value, dict):
            return problems.append(f"{where}: a {shape_name} is an object, not {type(value).__name__}")
        for name, member in value.items():
            if name not in shape["members"]:
                problems.append(f"{where}.{name}: not a member of {shape_name} ({sorted(shape['members'])})")
                continue
            check_json(m, shape["members"][name]["shape"], member, f"{where}.{name}", problems)
        for required in shape.get("required", []):
            if required not in value:
                problems.append(f"{where}: required member {required} of {shape_name} is missing")
    elif kind == "list":
        if not isinstance(value, list):
            return problems.append(f"{where}: {shape_name} is a list, not {type(value).__name__}")
        if "min" in shape and len(value) < shape["min"] or "max" in shape and len(value) > shape["max"]:
            problems.append(f"{where}: {len(value)} items, outside {shape.get('min')}..{shape.get('max')}")
        for i, item in enumerate(value):
            check_json(m, shape["member"]["shape"], item, f"{where}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            return problems.append(f"{where}: {shape_name} is a map, not {type(value).__name__}")
        for k, v in value.items():
            check_json(m, shape["key"]["shape"], k, f"{where} key", problems)
            check_json(m, shape["value"]["shape"], v, f"{where}[{k!r}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            return problems.append(f"{where}: {shape_name} is a string, not {type(value).__name__}")
        if "enum" in shape and value not in shape["enum"]:
            problems.append(f"{where}: {value!r} is not one of {shape['enum']}")
        if "min" in shape and len(value) < shape["min"]:
            problems.append(f"{where}: shorter than {shape['min']}")
        if "max" in shape and len(value) > shape["max"]:
            problems.append(f"{where}: longer than {shape['max']}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return problems.append(f"{where}: {shape_name} is an integer, not {value!r}")
        if "min" in shape and value < shape["min"] or "max" in shape and value > shape["max"]:
            problems.append(f"{where}: {value} outside {shape.get('min')}..{shape.get('max')}")
    elif kind in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{where}: {shape_name} is a number, not {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: {shape_name} is a boolean, not {value!r}")
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            problems.append(f"{where}: {shape_name} is a timestamp, not {value!r}")
    elif kind == "blob":
        if not isinstance(value, str):
            problems.append(f"{where}: {shape_name} is base64 text, not {value!r}")
    else:
        problems.append(f"{where}: shape type {kind} is not checked here")


def check_json_body(service, operation, body, direction):
    """A JSON-protocol request (direction "input") or answer ("output") body."""
    m = model(service)
    op = m["operations"].get(operation)
    if op is None:
        return [f"{service} has no operation {operation}"]
    if m["metadata"]["protocol"] != "json":
        return [f"{service} does not speak the json protocol"]
    if direction not in op:
        return [] if body in ({}, None) else [f"{operation} has no {direction}"]
    problems = []
    check_json(m, op[direction]["shape"], body, op[direction]["shape"], problems)
    return problems


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "operations":
        print(json.dumps(sorted(model(sys.argv[2])["operations"])))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "check-request":
        problems = check_request(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] in ("check-json-request", "check-json-response"):
        direction = "input" if sys.argv[1] == "check-json-request" else "output"
        problems = check_json_body(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), direction)
    elif len(sys.argv) == 5 and sys.argv[1] == "check-response":
        with open(sys.argv[4]) as f:
            problems = check_response(sys.argv[2], sys.argv[3], f.read())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        print("ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
