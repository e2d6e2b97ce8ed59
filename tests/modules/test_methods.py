"""The method table: every API method has every facet, the facets agree with the code that
implements them, and no other module names a method as a string."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vipexec.cot.form import quotes
from vipexec.modules import api
from vipexec.modules.backend import IMAGE_METHODS, Backend
from vipexec.modules.backend import METHODS as SERVED_METHODS
from vipexec.modules.errors import ArgumentTooLarge, BackendError
from vipexec.modules.methods import (
    API_FUNCTIONS,
    API_METHODS,
    CROSS_CHECKS,
    MEASURES,
    METHODS,
    RESULT_KINDS,
    SERVED,
    VERDICTS,
    ApiMethod,
    ContractBroken,
    CotPhrase,
    check_arguments,
    lookup,
    method_named,
)

ROOT = Path(__file__).resolve().parents[2]
AGREEMENTS = {"boxes", "bool", "text", "number"}
ROLES = {"patches", "bool", "str", "number", "yesno"}
ENTRIES = list(METHODS.values())


def _public_callables(cls: type) -> set[str]:
    return {
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def test_every_public_api_method_and_function_is_in_the_table():
    declared = {
        owner: {e.name for e in ENTRIES if owner in e.owners}
        for owner in ("ImagePatch", "VideoSegment")
    }
    assert _public_callables(api.ImagePatch) == declared["ImagePatch"]
    assert _public_callables(api.VideoSegment) == declared["VideoSegment"]
    namespace = api.build_api(type("D", (), {"call": lambda *a: None})())
    functions = {name for name in namespace if name not in ("ImagePatch", "VideoSegment")}
    assert functions == API_FUNCTIONS
    assert declared["ImagePatch"] | declared["VideoSegment"] == API_METHODS


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_method_has_every_facet(entry: ApiMethod):
    # signature: the public one, as a program writes it
    assert entry.signature.startswith(f"{entry.name}(")
    assert entry.owners and set(entry.owners) <= {"ImagePatch", "VideoSegment", "function"}
    # result kind, and a normaliser for it
    assert entry.result in RESULT_KINDS
    # how it reads in a CoT step: a tool and a purpose, never the method's own name
    assert isinstance(entry.cot, CotPhrase) and entry.cot.tool and entry.cot.purpose
    for rendered in (entry.cot.render({}), entry.cot.render({"object_name": "dog"})):
        assert not quotes(rendered, entry.name), rendered
        assert "{" not in rendered
    # how it reaches a backend, with which arguments, bounded how
    assert entry.served is None or entry.served in SERVED
    bounded = set(entry.text_bounds) | set(entry.count_bounds) | set(entry.nested_bounds)
    assert bounded <= set(entry.backend_args)
    # how a checker cross-examines it: every visual call is checked, text calls are not
    if entry.served in ("patch", "crops"):
        assert entry.cross_check is not None and entry.cross_check.kind in CROSS_CHECKS
    else:
        assert entry.cross_check is None
    # how the truth oracle compares it, and what a variable bound to it holds
    assert entry.agreement is None or entry.agreement in AGREEMENTS
    assert entry.binds is None or entry.binds in ROLES
    assert isinstance(entry.glue, bool)
    # how the logic labeler reads a call in a program: a verdict on objects, the argument
    # naming the objects it asks about, an axis its number orders patches along
    assert entry.verdict is None or (entry.verdict in VERDICTS and entry.result == "bool")
    assert entry.asks_about is None or (
        entry.served == "patch" and entry.asks_about in entry.backend_args
    )
    assert entry.measures is None or (
        entry.measures in MEASURES and entry.result == "number" and "ImagePatch" in entry.owners
    )


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.served], ids=lambda e: e.name)
def test_served_methods_match_the_backend_contract(entry: ApiMethod):
    parameters = list(inspect.signature(getattr(Backend, entry.name)).parameters)[1:]
    if entry.served == "patch":
        assert parameters[:2] == ["image", "box"]
        parameters = parameters[2:]
    assert tuple(parameters) == entry.backend_args
    assert (entry.served == "patch") == (entry.name in IMAGE_METHODS)
    assert entry.name in SERVED_METHODS


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.agreement], ids=lambda e: e.name)
def test_judged_methods_are_answered_by_the_truth_oracle(entry: ApiMethod):
    from vipexec.benchmark.oracle import TruthBackend, same_result

    assert entry.served == "patch"
    assert callable(getattr(TruthBackend(), entry.name))
    truth = {"boxes": [(0, 0, 4, 4)], "bool": True, "text": "red", "number": 2.0}
    value = truth[entry.agreement]
    assert same_result(entry.name, value, value) is True


def test_the_quality_benchmark_judges_exactly_the_methods_with_an_agreement():
    judged = {e.name for e in ENTRIES if e.agreement}
    assert judged == IMAGE_METHODS


def test_lookup_and_method_named():
    assert lookup("crop") is METHODS["crop"]
    assert lookup("nope") is None and lookup(3) is None
    with pytest.raises(KeyError, match="'nope' is not an API method"):
        method_named("nope")


def test_normalize_by_result_kind():
    boxes = method_named("find").normalize([[1.0, 2, 3, 4]], {})
    assert boxes == [(1, 2, 3, 4)]
    with pytest.raises(ContractBroken, match="not 4 numbers"):
        method_named("find").normalize([[1, 2, 3]], {})
    assert method_named("exists").normalize(1, {}) is True
    with pytest.raises(ContractBroken, match="expected a bool"):
        method_named("exists").normalize("yes", {})
    with pytest.raises(ContractBroken, match="not one of the options"):
        method_named("select_answer").normalize("c", {"options": ["a", "b"]})
    with pytest.raises(ContractBroken, match="index below 2"):
        method_named("best_image_match").normalize(2, {"crops": [0, 1]})
    with pytest.raises(ContractBroken, match="program's process"):
        method_named("crop").normalize(None, {})


def _boxes_by_the_generic_rule(result):
    """The box rule stated once more, plainly: four finite real numbers each, truncated."""
    import math
    import numbers

    out = []
    for item in result:
        values = list(item) if hasattr(item, "__iter__") and not isinstance(item, str) else []
        if len(values) != 4 or not all(
            isinstance(v, numbers.Real) and math.isfinite(v) for v in values
        ):
            return ContractBroken
        out.append(tuple(int(v) for v in values))
    return out


_BOX_PART = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.just("7"),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(_BOX_PART, _BOX_PART, _BOX_PART, _BOX_PART),
            st.lists(_BOX_PART, min_size=3, max_size=5),
            st.text(max_size=4),
        ),
        max_size=5,
    )
)
def test_find_normalizes_every_box_as_the_generic_rule_does(result):
    # The fast path for plain int boxes must answer exactly as the generic checks would.
    expected = _boxes_by_the_generic_rule(result)
    if expected is ContractBroken:
        with pytest.raises(ContractBroken):
            method_named("find").normalize(result, {})
    else:
        assert method_named("find").normalize(result, {}) == expected


def test_normalize_result_names_the_backend_that_broke_the_contract():
    from vipexec.modules.backend import normalize_result

    with pytest.raises(BackendError, match=r"backend 'b' broke the contract: compute_depth\(\)"):
        normalize_result("compute_depth", "far", {}, "b")


def test_check_arguments_uses_the_entry_bounds():
    limit = METHODS["llm_query"].text_bounds["question"]
    check_arguments("llm_query", {"question": "a" * limit})
    with pytest.raises(ArgumentTooLarge, match=r"^llm_query: question is longer"):
        check_arguments("llm_query", {"question": "a" * (limit + 1)})
    check_arguments("crop", {"question": "a" * (limit + 1)})  # no bounds: nothing to check


# --- each method name appears as a string only where it may -----------------------------------

SOURCE_ROOTS = ("vipexec", "sandbox", "modules", "labelers", "reward", "bench", "scripts")
IMPLEMENTATIONS = (
    "modules/methods.py",  # the table
    "modules/api.py",  # the methods themselves
    "modules/backend.py",  # the backend contract's base class
    "modules/models/",  # model backends (their profiles are keyed by method)
    "modules/synthetic/",  # the synthetic backend
    "labelers/pixel_checker.py",  # the independent checker: a second backend over the pixels
    "vipexec/testing/fake_api.py",  # the test double of modules/api.py
)
OTHER_MEANINGS = {
    # the word, not the method: a parsed question kind, a query quantifier, a program family
    ("vipexec/benchmark/oracle.py", "exists"),  # a parsed question kind
    ("vipexec/benchmark/families_count.py", "exists"),  # a program family
    ("vipexec/benchmark/synthetic_queries.py", "exists"),  # a program family
    ("labelers/logic/query.py", "exists"),
    ("labelers/logic/glue.py", "exists"),
    ("scripts/make_step_fixture.py", "exists"),
    # benchmarks that drive a backend: a profile keyed by method, a wire message, a timer name
    ("bench/model_host.py", "find"),
    ("bench/model_host.py", "verify_property"),
    ("bench/model_host.py", "simple_query"),
    ("bench/sandbox_dispatch.py", "llm_query"),
    ("bench/synthetic_agreement.py", "simple_query"),
}


def _method_strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in METHODS
    }


def test_method_names_are_strings_only_in_the_table_and_the_implementations():
    found = []
    for root in SOURCE_ROOTS:
        for path in sorted((ROOT / root).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(IMPLEMENTATIONS):
                continue
            found += [
                f"{relative}: {name!r}"
                for name in sorted(_method_strings(path))
                if (relative, name) not in OTHER_MEANINGS
            ]
    assert not found, "look the method up in vipexec.modules.methods instead:\n" + "\n".join(found)


def test_the_scan_sees_a_method_name(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('if method == "compute_depth":\n    pass\n')
    assert _method_strings(probe) == {"compute_depth"}


def test_number_words_have_one_table():
    """Spelled-out numbers are read from vipexec.modules.number_words, never listed again."""
    copies = []
    for root in SOURCE_ROOTS:
        for path in sorted((ROOT / root).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            words = {
                node.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and node.value in ("seven", "twelve")
            }
            if words and relative != "modules/number_words.py":
                copies.append(relative)
    assert not copies
