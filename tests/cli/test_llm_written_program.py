"""The shape every ViperGPT prompt asks for runs through ``vipexec run`` as Python runs it."""

import json

from vipexec.cli import main
from vipexec.labelers.execution import Executor

PROGRAM = (
    "import math\n"
    "def execute_command(image) -> str:\n"
    '    return "What is {}?".format(math.sqrt(len(ImagePatch(image).find("object")) ** 2))\n'
)


def test_annotated_entry_with_str_format_and_import_gives_plain_pythons_answer(tmp_path, capsys):
    scenes = tmp_path / "s"
    assert main(["scene", str(scenes), "--seed", "1"]) == 0
    image = scenes / "scene_0000.png"
    program = tmp_path / "question.py"
    program.write_text(PROGRAM)
    capsys.readouterr()

    code = main(["run", str(program), str(image), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    answer = json.loads(out.out)["result"]["value"]

    # plain Python: the same source, exec-ed against the same API in this process
    executor = Executor()
    namespace = dict(executor.namespace())
    exec(compile(PROGRAM, "plain", "exec"), namespace)
    expected = namespace["execute_command"](executor.store.load(image))
    assert answer == expected
    assert expected.startswith("What is ") and expected.endswith(".0?")
