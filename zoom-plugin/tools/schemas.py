#!/usr/bin/env python3
"""Derives the JSON Schemas (2020-12) of Zoom's request bodies from Zoom's own
OpenAPI specs, so the plugin's params schemas follow the spec instead of a
hand-copied guess. Run from the repository root:

    python3 zoom-plugin/tools/schemas.py [/work/shared/zoom-api]

It writes zoom-plugin/schemas/*.json, which the plugin includes at build
time. Kept: types, enums, bounds, nesting, the email format, and the first
sentence of each top-level field's description (for `soar-host actions` and
playbook editors). Dropped: deeper descriptions, examples and defaults (a default inside a PATCH body would change what the
caller did not ask to change) and read-only fields. Zoom's nested objects
stay open (`additionalProperties: true`): the specs lag behind the API.
Create (POST) and PUT bodies also keep `required` (a PATCH needs no field in particular).
"""

import json
import os
import re
import sys

import yaml

SPECS = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/zoom-api"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas")
KEEP = ("type", "enum", "minimum", "maximum", "minLength", "maxLength", "format", "minItems", "maxItems")


def load(name):
    with open(os.path.join(SPECS, name)) as f:
        return yaml.safe_load(f) if name.endswith(".yaml") else json.load(f)


def resolver(spec):
    def res(node):
        while isinstance(node, dict) and "$ref" in node:
            target = spec
            for key in node["$ref"].split("/")[1:]:
                target = target[key]
            node = target
        return node
    return res


def convert(node, res, required=False):
    node = res(node)
    if "allOf" in node:
        merged = {}
        for part in node["allOf"]:
            part = convert(part, res, required)
            props = {**merged.get("properties", {}), **part.get("properties", {})}
            merged.update(part)
            if props:
                merged["properties"] = props
        return merged
    if "oneOf" in node or "anyOf" in node:
        # Alternatives of objects: accept the union of their fields.
        alts = [convert(a, res, required) for a in node.get("oneOf", node.get("anyOf"))]
        if all(a.get("type") == "object" for a in alts):
            props = {}
            for a in alts:
                props.update(a.get("properties", {}))
            return {"type": "object", "properties": props, "additionalProperties": True}
        return {}
    out = {k: node[k] for k in KEEP if k in node}
    # Not date-time: Zoom takes local times without an offset
    # (`2024-05-01T09:00:00` with `timezone`), which RFC 3339 refuses.
    if out.get("format") not in (None, "email", "uri"):
        del out["format"]
    if node.get("type") == "object" or "properties" in node:
        out["type"] = "object"
        props = {}
        for name, prop in node.get("properties", {}).items():
            prop = res(prop)
            if prop.get("readOnly"):
                continue
            props[name] = convert(prop, res, required)
        if props:
            out["properties"] = props
        if required and node.get("required"):
            out["required"] = [n for n in node["required"] if n in props]
        out["additionalProperties"] = True
    if node.get("type") == "array" and "items" in node:
        out["items"] = convert(node["items"], res, required)
    if out.get("type") == "array" and "maximum" in out:
        # The spec writes an array's bound as `maximum`, which JSON Schema
        # does not apply to arrays.
        out.setdefault("maxItems", out.pop("maximum"))
    if out.get("type") == "integer" and "maxLength" in out:
        # The 2024 spec writes digit counts of numbers as maxLength.
        del out["maxLength"]
    return out


def add_enums(into, other):
    """Enums the 2025 user spec lost in copying, taken from the 2024 spec."""
    if not isinstance(into, dict) or not isinstance(other, dict):
        return
    if "enum" in other and "enum" not in into and into.get("type") == other.get("type"):
        into["enum"] = other["enum"]
    for name, prop in into.get("properties", {}).items():
        add_enums(prop, other.get("properties", {}).get(name))
    if "items" in into:
        add_enums(into["items"], other.get("items"))


def first_sentence(text):
    # Markdown links keep their text.
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = " ".join(text.replace("**", "").replace("`", "").split())
    end = text.find(". ")
    text = text if end < 0 else text[: end + 1]
    return text if len(text) <= 160 else text[:157].rstrip() + "..."


def body(spec, path, method="patch"):
    res = resolver(spec)
    schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    out = convert(schema, res, required=method in ("post", "put"))
    raw = res(schema)
    for name, prop in out.get("properties", {}).items():
        text = first_sentence(res(raw.get("properties", {}).get(name, {})).get("description", ""))
        if text:
            prop["description"] = text
    return out


def write(name, schema):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(schema, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    user_2025 = load("zoom-user-api.openapi.json")
    combined = load("zoom-meeting-api-combined-2024-01.openapi.json")

    settings = body(user_2025, "/users/{userId}/settings")
    add_enums(settings, body(combined, "/users/{userId}/settings"))
    settings["minProperties"] = 1
    write("user-settings.json", settings)

    user = body(user_2025, "/users/{userId}")
    add_enums(user, body(combined, "/users/{userId}"))
    # Deprecated in favour of phone_numbers; the plugin never passed them on.
    for deprecated in ("phone_country", "phone_number"):
        user["properties"].pop(deprecated)
    write("user-update.json", user)

    # The 2024-03 Meeting spec knows more settings; the 2024-01 one kept more enums.
    meeting = body(load("zoom-meeting-api.openapi.yaml"), "/meetings/{meetingId}")
    add_enums(meeting, body(combined, "/meetings/{meetingId}"))
    # Not an enum: several days are written "1,3" (the field's own description says so).
    meeting["properties"]["recurrence"]["properties"]["weekly_days"].pop("enum", None)
    # The specs give no bound; a negative duration is never meant.
    meeting["properties"]["duration"]["minimum"] = 0
    write("meeting-update.json", meeting)

    created = body(load("zoom-meeting-api.openapi.yaml"), "/users/{userId}/meetings", "post")
    add_enums(created, body(combined, "/users/{userId}/meetings", "post"))
    created["properties"]["recurrence"]["properties"]["weekly_days"].pop("enum", None)
    created["properties"]["duration"]["minimum"] = 0
    write("meeting-create.json", created)

    new_user = body(user_2025, "/users", "post")
    add_enums(new_user, body(combined, "/users", "post"))
    info = new_user["properties"]["user_info"]["properties"]
    # The 2025 spec documents type 4 (unassigned without Meetings Basic),
    # which the 2024-01 enum predates.
    if 4 not in info["type"]["enum"]:
        info["type"]["enum"].insert(2, 4)
    info["email"]["format"] = "email"
    write("user-create.json", new_user)

    registrant = body(load("zoom-meeting-api.openapi.yaml"), "/meetings/{meetingId}/registrants", "post")
    add_enums(registrant, body(combined, "/meetings/{meetingId}/registrants", "post"))
    write("meeting-registrant.json", registrant)

    statuses = body(load("zoom-meeting-api.openapi.yaml"), "/meetings/{meetingId}/registrants/status", "put")
    add_enums(statuses, body(combined, "/meetings/{meetingId}/registrants/status", "put"))
    write("registrant-status.json", statuses)

    # Webinars: the same derivation as their meeting equivalents.
    webinar = body(load("zoom-meeting-api.openapi.yaml"), "/users/{userId}/webinars", "post")
    add_enums(webinar, body(combined, "/users/{userId}/webinars", "post"))
    webinar["properties"]["recurrence"]["properties"]["weekly_days"].pop("enum", None)
    webinar["properties"]["duration"]["minimum"] = 0
    write("webinar-create.json", webinar)

    webinar_update = body(load("zoom-meeting-api.openapi.yaml"), "/webinars/{webinarId}")
    add_enums(webinar_update, body(combined, "/webinars/{webinarId}"))
    webinar_update["properties"]["recurrence"]["properties"]["weekly_days"].pop("enum", None)
    webinar_update["properties"]["duration"]["minimum"] = 0
    write("webinar-update.json", webinar_update)

    webinar_registrant = body(load("zoom-meeting-api.openapi.yaml"), "/webinars/{webinarId}/registrants", "post")
    add_enums(webinar_registrant, body(combined, "/webinars/{webinarId}/registrants", "post"))
    write("webinar-registrant.json", webinar_registrant)

    webinar_statuses = body(load("zoom-meeting-api.openapi.yaml"), "/webinars/{webinarId}/registrants/status", "put")
    add_enums(webinar_statuses, body(combined, "/webinars/{webinarId}/registrants/status", "put"))
    write("webinar-registrant-status.json", webinar_statuses)

    panelists = body(load("zoom-meeting-api.openapi.yaml"), "/webinars/{webinarId}/panelists", "post")
    add_enums(panelists, body(combined, "/webinars/{webinarId}/panelists", "post"))
    write("panelists.json", panelists)

    recording = body(load("zoom-meeting-api.openapi.yaml"), "/meetings/{meetingId}/recordings/settings")
    add_enums(recording, body(combined, "/meetings/{meetingId}/recordings/settings"))
    write("recording-settings.json", recording)


if __name__ == "__main__":
    main()
