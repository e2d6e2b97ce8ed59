"""The API summary in the generation prompt: every method and function a program can call."""

from vipexec.generate.prompting import api_summary
from vipexec.modules.methods import API_FUNCTIONS, METHODS


def test_every_api_function_is_described_with_its_signature():
    lines = api_summary().splitlines()
    for name in API_FUNCTIONS:
        line = next((x for x in lines if x.startswith(f"{name}(")), None)
        assert line is not None, f"{name} is missing from the prompt"
        described = line.split(": ", 1)[1]
        assert described.strip(), f"{name} has no description"


def test_a_function_bound_to_a_dispatcher_is_shown_as_programs_call_it():
    # best_image_match exists only inside build_api; the prompt shows the table's signature
    line = next(x for x in api_summary().splitlines() if x.startswith("best_image_match("))
    assert line.startswith(METHODS["best_image_match"].signature + ": The patch most likely")
