"""The fake registry of tests/registry/fake.py, taught the OCI 1.1 referrers API: manifest
PUTs with a `subject` answer `OCI-Subject`, and `GET /v2/<name>/referrers/<digest>` lists
them. Stands in for the registries (zot, ACR, Harbor) this machine does not have."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx

from tests.registry.fake import Fake, sha256

_REFERRERS = re.compile(r"^/v2/(?P<repo>.+)/referrers/(?P<digest>sha256:[a-f0-9]{64})$")
_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass
class ReferrersFake(Fake):
    referrers: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def _kind(self, request: httpx.Request) -> str:
        if request.url.host == self.host and _REFERRERS.match(request.url.path):
            return "referrers"
        return super()._kind(request)

    def put_manifest(self, request: httpx.Request) -> httpx.Response:
        response = super().put_manifest(request)
        document = json.loads(request.content)
        subject = (document.get("subject") or {}).get("digest")
        if not subject:
            return response
        entry = {
            "mediaType": document["mediaType"],
            "digest": sha256(request.content),
            "size": len(request.content),
            "artifactType": document.get("artifactType") or document["config"]["mediaType"],
        }
        if document.get("annotations"):
            entry["annotations"] = document["annotations"]
        listed = self.referrers.setdefault(subject, [])
        if entry not in listed:
            listed.append(entry)
        response.headers["OCI-Subject"] = subject
        return response

    def get_referrers(self, request: httpx.Request) -> httpx.Response:
        digest = _REFERRERS.match(request.url.path)["digest"]  # type: ignore[index]
        index = {"schemaVersion": 2, "mediaType": _INDEX,
                 "manifests": self.referrers.get(digest, [])}
        return httpx.Response(200, content=json.dumps(index).encode(),
                              headers={"Content-Type": _INDEX})
