"""A models profile as an ordinary :class:`~vipexec.modules.backend.Backend`.

``create_backend("profile", config="models.toml", profile="standard")`` gives a backend whose
methods route to the profile's models through a private :class:`ModelHost` (cache on, one
request per invocation: a Backend is called synchronously). Use it where a ``Backend`` is
expected (``LocalDispatcher``, labelers' cross-checks); use :class:`ModelHost` directly as the
call server of concurrent programs to get batching.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from vipexec.modules.backend import Backend, Box
from vipexec.modules.models.profile import ModelsConfig, load_config

if TYPE_CHECKING:
    import numpy as np

    from vipexec.modules.models.host import ModelHost

__all__ = ["ProfileBackend"]


class ProfileBackend(Backend):
    """Answers every API method with the model the profile names for it."""

    name = "profile"
    version = 1

    def __init__(
        self,
        *,
        config: str | os.PathLike[str] | ModelsConfig | None = None,
        profile: str | None = None,
        exists_vqa: bool = False,
        cache: bool = True,
    ) -> None:
        super().__init__(exists_vqa=exists_vqa)
        from vipexec.modules.models.host import ModelHost

        loaded = config if isinstance(config, ModelsConfig) else load_config(config)
        chosen = loaded.profile(profile)
        if exists_vqa and not chosen.exists_vqa:
            chosen = replace(chosen, exists_vqa=True)
            loaded = replace(loaded, profiles={**loaded.profiles, chosen.name: chosen})
        self._host: ModelHost = ModelHost(loaded, chosen.name, cache=cache, batching=False)
        self._add_options(config=loaded.source, profile=chosen.name)

    @property
    def host(self) -> ModelHost:
        return self._host

    def close(self) -> None:
        self._host.close()

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        return self._host.answer("find", image, box, {"object_name": object_name})

    def exists(self, image: np.ndarray, box: Box, object_name: str) -> bool:
        return self._host.answer("exists", image, box, {"object_name": object_name})

    def verify_property(
        self, image: np.ndarray, box: Box, object_name: str, attribute: str
    ) -> bool:
        args = {"object_name": object_name, "attribute": attribute}
        return self._host.answer("verify_property", image, box, args)

    def best_text_match(
        self, image: np.ndarray, box: Box, options: list[str], prefix: str | None
    ) -> str:
        args = {"options": list(options), "prefix": prefix}
        return self._host.answer("best_text_match", image, box, args)

    def simple_query(self, image: np.ndarray, box: Box, question: str) -> str:
        return self._host.answer("simple_query", image, box, {"question": question})

    def compute_depth(self, image: np.ndarray, box: Box) -> float:
        return self._host.answer("compute_depth", image, box, {})

    def best_image_match(self, crops: list[tuple[np.ndarray, Box]], content: list[str]) -> int:
        args: dict[str, Any] = {"crops": list(crops), "content": list(content)}
        return self._host.answer("best_image_match", None, None, args)

    def llm_query(self, question: str, long_answer: bool) -> str:
        args = {"question": question, "long_answer": bool(long_answer)}
        return self._host.answer("llm_query", None, None, args)

    def select_answer(self, info: dict[str, Any], question: str, options: list[str]) -> str:
        args = {"info": info, "question": question, "options": list(options)}
        return self._host.answer("select_answer", None, None, args)
