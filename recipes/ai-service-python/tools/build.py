"""The Devfile's build step: compiles every file under app/ (a syntax error fails the build, so
the last good revision keeps serving) and writes the sources' digest to .devloop/app.sha256.
Nothing is bundled; the digest is what makes an edit under app/ a new Cloud Run revision (the
simulator starts one when the build's output changes)."""
import hashlib
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
digest = hashlib.sha256()
for path in sorted((root / "app").rglob("*.py")):
    source = path.read_bytes()
    try:
        compile(source, str(path.relative_to(root)), "exec")
    except SyntaxError as err:
        sys.exit(f"{err.filename}:{err.lineno}:{err.offset}: {err.msg} (fix it and save again; the last good revision keeps serving)")
    digest.update(path.relative_to(root).as_posix().encode() + b"\0" + source + b"\0")
out = root / ".devloop" / "app.sha256"
out.parent.mkdir(exist_ok=True)
out.write_text(digest.hexdigest() + "\n")
