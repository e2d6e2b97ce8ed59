"""Config files: TOML/YAML/JSON parse to the same thing; every mistake is one line naming the
file and the key; nothing is silently ignored; paths are relative to the file, never the cwd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vipexec.modules.models.errors import ConfigError
from vipexec.modules.models.profile import (
    CONFIG_ENV,
    default_config_path,
    load_config,
    parse_config,
)

TOML = """
default_profile = "main"
model_dirs = ["weights"]

[host]
max_batch = 8
max_wait_ms = 2
cache = "sqlite"
cache_path = "calls.sqlite"

[models.det]
kind = "yolo"
checkpoint = "det.pt"
conf = 0.3
memory_gb = 2

[models.clip]
kind = "open_clip"
arch = "ViT-B-32"
checkpoint = "openai"

[models.syn]
kind = "backend"

[profiles.main]
find = "det"
exists = "det"
verify_property = "clip"
simple_query = "syn"
exists_vqa = true

[profiles.other]
find = "syn"
"""

YAML = """
default_profile: main
model_dirs: [weights]
host: {max_batch: 8, max_wait_ms: 2, cache: sqlite, cache_path: calls.sqlite}
models:
  det: {kind: yolo, checkpoint: det.pt, conf: 0.3, memory_gb: 2}
  clip: {kind: open_clip, arch: ViT-B-32, checkpoint: openai}
  syn: {kind: backend}
profiles:
  main: {find: det, exists: det, verify_property: clip, simple_query: syn, exists_vqa: true}
  other: {find: syn}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_yaml_and_json_give_the_same_config(tmp_path):
    from_toml = load_config(write(tmp_path, "a.toml", TOML))
    from_yaml = load_config(write(tmp_path, "b.yaml", YAML))
    import yaml

    from_json = load_config(write(tmp_path, "c.json", json.dumps(yaml.safe_load(YAML))))
    for config in (from_toml, from_yaml, from_json):
        assert config.default_profile == "main"
        assert config.model_dirs == (tmp_path / "weights",)
        assert config.host.max_batch == 8 and config.host.max_wait_ms == 2.0
        assert config.host.cache_path == tmp_path / "calls.sqlite"
        det = config.models["det"]
        assert det.kind == "yolo" and det.checkpoint == "det.pt" and det.memory_gb == 2.0
        assert det.options["conf"] == 0.3 and det.options["imgsz"] == 640  # defaults filled
        profile = config.profile()
        assert profile.name == "main" and profile.exists_vqa
        assert profile.routes == {
            "find": "det",
            "exists": "det",
            "verify_property": "clip",
            "simple_query": "syn",
        }
        assert config.profile("other").routes == {"find": "syn"}
        assert config.base_dir == tmp_path


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"modles": {}}, "modles: unknown key"),
        ({"host": {"max_bach": 2}}, "host.max_bach: unknown key"),
        ({"host": {"cache": "disk"}}, "host.cache: 'disk' is not one of"),
        ({"host": {"cache": "sqlite"}}, "host.cache: 'sqlite' needs cache_path"),
        ({"host": {"max_batch": 0}}, "host.max_batch: must be at least 1"),
        ({"host": {"devices": ["gpu0"]}}, "host.devices: 'gpu0' is not a device name"),
        ({"models": {"m": {"checkpoint": "x"}}}, "models.m: missing 'kind'"),
        ({"models": {"m": {"kind": "nope"}}}, "models.m.kind: unknown model kind 'nope'"),
        ({"models": {"m": {"kind": "yolo"}}}, "models.m: kind 'yolo' needs a 'checkpoint'"),
        (
            {"models": {"m": {"kind": "yolo", "checkpoint": "a.pt", "confidence": 0.2}}},
            "models.m.confidence: unknown key for kind 'yolo'",
        ),
        (
            {"models": {"m": {"kind": "yolo", "checkpoint": "a.pt", "conf": "high"}}},
            "models.m.conf: expected float, got str 'high'",
        ),
        (
            {"models": {"m": {"kind": "yolo", "checkpoint": "a.pt", "device": "gpu"}}},
            "models.m.device: 'gpu' is not",
        ),
        (
            {"models": {"m": {"kind": "yolo", "checkpoint": "a.pt", "fuse": 1}}},
            "models.m.fuse: expected bool",
        ),
        (
            {"models": {"m": {"kind": "yolo", "checkpoint": "a.pt", "text_encoder": "x"}}},
            "models.m.text_encoder: no model 'x' in this config",
        ),
        (
            {
                "models": {
                    "m": {"kind": "yolo", "checkpoint": "a.pt", "text_encoder": "s"},
                    "s": {"kind": "backend"},
                }
            },
            "models.m.text_encoder: model 's' (backend) has no encode_texts()",
        ),
        ({"profiles": {"p": {"find": "ghost"}}}, "profiles.p.find: no model 'ghost'"),
        (
            {"models": {"s": {"kind": "backend"}}, "profiles": {"p": {"fnd": "s"}}},
            "profiles.p.fnd: unknown key",
        ),
        (
            {
                "models": {"d": {"kind": "depth", "checkpoint": "x"}},
                "profiles": {"p": {"find": "d"}},
            },
            "profiles.p.find: model 'd' (kind 'depth') cannot answer find()",
        ),
        (
            {
                "models": {"s": {"kind": "yolo", "checkpoint": "x.pt"}},
                "profiles": {"p": {"find": "s", "exists_vqa": True}},
            },
            "profiles.p.exists_vqa: needs a model for simple_query",
        ),
        ({"default_profile": "zzz"}, "default_profile: no profile 'zzz'"),
        ({"offline": "yes"}, "offline: expected true or false"),
        ({"model_dirs": ["rel"]}, "model_dirs: relative folder 'rel' needs a config file"),
    ],
)
def test_every_mistake_names_the_source_and_the_key(data, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.toml")
    message = str(caught.value)
    assert message.startswith("cfg.toml: ")
    assert fragment in message
    assert "\n" not in message


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.toml: no such models config file"):
        load_config(tmp_path / "missing.toml")
    bad = write(tmp_path, "bad.toml", "[models\nkind=")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        load_config(bad)
    bad_yaml = write(tmp_path, "bad.yaml", "models: [unclosed")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid YAML"):
        load_config(bad_yaml)
    with pytest.raises(ConfigError, match=r"x\.ini: unknown config format"):
        load_config(write(tmp_path, "x.ini", "a=1"))
    with pytest.raises(ConfigError, match=r"the config must be a table"):
        load_config(write(tmp_path, "list.yaml", "- 1\n- 2\n"))


def test_profile_selection():
    data = {"models": {"s": {"kind": "backend"}}, "profiles": {"a": {"find": "s"}}}
    assert parse_config(data).profile().name == "a"  # the only one
    data["profiles"]["b"] = {"find": "s"}
    with pytest.raises(ConfigError, match=r"several profiles and no default_profile.*a, b"):
        parse_config(data).profile()
    with pytest.raises(ConfigError, match="no profile 'c' \\(profiles: a, b\\)"):
        parse_config(data).profile("c")


def test_with_host_overrides_only_given_values(tmp_path):
    config = load_config(write(tmp_path, "a.toml", TOML))
    changed = config.with_host(max_batch=1, devices="cpu", max_wait_ms=None)
    assert changed.host.max_batch == 1 and changed.host.devices == "cpu"
    assert changed.host.max_wait_ms == config.host.max_wait_ms
    assert config.with_host() is config
    with pytest.raises(ConfigError, match=r"host\.max_batch"):
        config.with_host(max_batch=0)


def test_default_config_path_order(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    packaged = default_config_path()
    assert packaged.name == "standard.yaml" and packaged.is_file()
    user = tmp_path / "xdg" / "vipexec" / "models.toml"
    user.parent.mkdir(parents=True)
    user.write_text(TOML)
    assert default_config_path() == user
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "elsewhere.yaml"))
    assert default_config_path() == tmp_path / "elsewhere.yaml"


def test_packaged_standard_config_is_valid():
    config = load_config(
        Path(default_config_path.__globals__["__file__"]).with_name("standard.yaml")
    )
    profile = config.profile()
    assert profile.name == "standard"
    from vipexec.modules.backend import METHODS

    assert set(profile.routes) == set(METHODS)
    assert config.models["yolo-world"].options["text_encoder"] == "clip-b32"
