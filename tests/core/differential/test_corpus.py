"""Every corpus program, run every way vipexec runs programs, ends as plain ``exec`` ends.

The corpus (``programs/*.corpus``: Python sources, several programs per file, each under a
``# === name`` line) is written in the styles of the public ViperGPT, PropTest, VisProg and
HYDRA prompts. A
header flag ``raises=Type`` says the program is about a runtime error (plain Python raises
``Type`` on the fake scene); ``refused=text`` says the sandbox refuses it with a policy error
containing ``text`` (plain runs must still agree with ``exec``); ``xfail=reason`` names an
engine bug, not fixed yet, that makes the case fail (a strict xfail: it must fail).

In process the programs see vipexec's fake API and a hand-written scene; in the ``Sandbox``
pool they see the synthetic backend (the worker cannot receive the caller's objects), and the
oracle then runs in this process against the same API over the pool's own dispatcher.
"""

from vipexec import Program


def test_corpus_is_large_and_names_are_unique(differential):
    cases = differential.load_corpus()
    assert len(cases) >= 150
    assert len({case.name for case in cases}) == len(cases)


def test_in_process_runs_agree_with_exec(case, fake_world, differential):
    namespace, scene = fake_world
    program = Program.from_source(case.source, name="prog.py")
    expected = differential.oracle_of(program, namespace, scene)
    if case.raises:
        assert expected.status == "error" and expected.detail[0] == case.raises, expected
    else:
        assert expected.status == "ok", expected
    trusted = differential.in_process_outcome(program, namespace, scene, sandbox=False)
    assert trusted == expected, differential.explain("sandbox=False", trusted, expected)
    sandboxed = differential.in_process_outcome(program, namespace, scene, sandbox=True)
    if case.refused:
        assert sandboxed.refused and case.refused in sandboxed.detail, sandboxed
    else:
        assert sandboxed == expected, differential.explain("sandbox=True", sandboxed, expected)


def test_pool_runs_agree_with_exec(case, pool_world, differential):
    sandbox, api, image = pool_world
    program = Program.from_source(case.source, name="prog.py")
    expected = differential.oracle_of(program, api, image, convert=differential.as_pool_result)
    run = sandbox.run(program, differential.inputs_for(program, image))
    pooled = differential.run_outcome(run, pool=True)
    if case.refused:
        assert pooled.refused and case.refused in pooled.detail, pooled
    else:
        assert pooled == expected, differential.explain("Sandbox pool", pooled, expected)
