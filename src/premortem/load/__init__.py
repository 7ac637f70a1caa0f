"""Load: files, directories and stdin -> Kubernetes objects that remember their file and line."""

from premortem.load.document import Document, LoadProblem, LoadResult
from premortem.load.reader import load_paths, load_text

__all__ = ["Document", "LoadProblem", "LoadResult", "load_paths", "load_text"]
