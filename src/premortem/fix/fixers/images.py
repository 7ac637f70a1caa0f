"""Fixers for the image rules (IMG001, IMG002): pin tags to digests, asking the registry."""

from __future__ import annotations

from collections.abc import Iterator

from premortem.findings import Finding
from premortem.fix.paths import get, pointer_path
from premortem.fix.registry import Fix, FixContext, Note, fixer
from premortem.fix.yamltext import Set
from premortem.load.document import Document
from premortem.model.image import parse_image


@fixer("IMG001", "IMG002")
def pin_digest(finding: Finding, doc: Document, ctx: FixContext) -> Iterator[Fix | Note]:
    """
    Answers IMG001 (mutable-image-tag) and IMG002 (image-tag-not-pinned), only with
    `--resolve-digests`: premortem asks the image's registry (OCI distribution API) which digest the
    tag names now and rewrites `repo:tag` to `repo:tag@sha256:...` (an untagged `repo` becomes
    `repo@sha256:...`, the digest of what `:latest` names today). The tag stays for humans; the
    runtime pulls by digest, so every node runs the same bytes and a re-push changes nothing until
    the manifest does. For a multi-arch tag the digest is that of the image index, so every
    architecture keeps working. Without `--resolve-digests` this is a note: digests cannot be
    invented, and the best source is CI, which knows what it pushed.
    """
    path = pointer_path(finding)
    raw = get(doc.obj, path)
    if not isinstance(raw, str):
        return
    ref = parse_image(raw)
    if ref.is_pinned or not ref.valid or ref.is_placeholder:
        return
    if not ctx.resolve_digests or ctx.resolver is None:
        yield Note(
            "pinning needs the digest the registry serves: run `premortem fix --resolve-digests` (network), "
            "or better, have CI write repo:tag@sha256:... when it pushes."
        )
        return
    from premortem.fix.oci import RegistryError

    try:
        digest = ctx.resolver.resolve(ref)
    except RegistryError as exc:
        yield Note(f"not pinned: {exc}.")
        return
    pinned = f"{raw}@{digest}"
    tag = ref.tag or "latest (the runtime's default)"
    yield Fix(
        [Set(path, pinned)],
        f"image pinned: tag {tag} names {digest} at {ref.registry_host} now; every node pulls exactly these "
        "bytes until you change the digest.",
    )
