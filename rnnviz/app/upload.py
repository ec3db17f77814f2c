"""The sidebar upload of a user's own checkpoint: two files, bounded in size, validated by rnnviz.

Only the digest and the loaded model stay in the session; the uploaded bytes are dropped once read,
and a new or removed upload releases the old model and its traces.
"""

from __future__ import annotations

import hashlib

import streamlit as st

import rnnviz
from rnnviz.checkpoint import MAX_UPLOAD_BYTES, CheckpointError, load_upload

from .widgets import literal

MAX_FILES = 2
"""One checkpoint: NAME.safetensors and NAME.json."""


def _forget_upload() -> None:
    for key in ("upload_model", "upload_error", "upload_digest", "upload_traces", "upload_attributions"):
        st.session_state.pop(key, None)


def _problem(files: list) -> str | None:
    """Why a set of uploaded files is refused before any is read, or None."""
    if len(files) > MAX_FILES:
        return (f"{len(files)} files uploaded; upload exactly the two files of one checkpoint "
                "(NAME.safetensors and NAME.json). Remove the others.")
    if too_big := [f.name for f in files if f.size > MAX_UPLOAD_BYTES]:
        return f"{too_big[0]} is larger than the {MAX_UPLOAD_BYTES // 2**20} MiB upload limit"
    return None


def uploaded_model() -> rnnviz.SentimentModel | None:
    """The session's uploaded model, validated; None (with a notice) until two valid files are given."""
    # No type= filter: rnnviz checks the names itself, so a dropped .pt gets a reason, not a silent refusal.
    files = st.sidebar.file_uploader(
        "Model files: NAME.safetensors and NAME.json", accept_multiple_files=True, key="upload",
        max_upload_size=MAX_UPLOAD_BYTES // 2**20,
        help="Weights as safetensors plus the JSON config (see README). Pickles are never loaded.",
    )
    if not files:
        _forget_upload()
        st.sidebar.info("Upload both files of a checkpoint to inspect your own model.")
        return None
    if problem := _problem(files):
        _forget_upload()
        st.sidebar.error(f"Cannot load this model: {literal(problem)}")
        return None
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        digest.update(f.name.encode("utf-8", "replace") + f.size.to_bytes(8, "little") + f.getvalue())
    if st.session_state.get("upload_digest") != digest.hexdigest():
        _forget_upload()
        try:
            st.session_state["upload_model"] = load_upload({f.name: f.getvalue() for f in files})
        except CheckpointError as error:
            st.session_state["upload_error"] = str(error)
        st.session_state["upload_digest"] = digest.hexdigest()
    if error := st.session_state.get("upload_error"):
        st.sidebar.error(f"Cannot load this model: {literal(error)}")
    return st.session_state.get("upload_model")
