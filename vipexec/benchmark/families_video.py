"""Query families over several images or a clip, for the grammar generator.

A multi-image program reads ``images`` (the query's images, in order); a clip program wraps its
one input, ``image`` (a video), in a ``VideoSegment``. Answers come from the scene files.
"""

from __future__ import annotations

import random

from vipexec.benchmark.family_parts import other, pick_combo, with_article, yes_no
from vipexec.benchmark.plan import Also, Fault, Names, Plan, report, step
from vipexec.benchmark.scene_facts import Scene
from vipexec.modules.synthetic.world import COLORS, SHAPES


def compare_images(rng: random.Random, scenes: list[Scene], names: Names) -> Plan | None:
    """ "Which image has more circles, the first or the second?" (never asked on a tie)."""
    first, second = scenes
    shape = rng.choice(SHAPES)
    n1, n2 = first.count(shape=shape), second.count(shape=shape)
    if n1 == n2:
        return None
    a, b = names.boxes(f"first_{shape}s"), names.boxes(f"second_{shape}s")
    answer = names.value("answer")
    steps = (
        step(
            f"find the {shape}s in the first image",
            f'{a} = ImagePatch(images[0]).find("{shape}")',
            Fault("generic_noun", f'find("{shape}")', 'find("object")'),
        ),
        step(
            f"find the {shape}s in the second image",
            f'{b} = ImagePatch(images[1]).find("{shape}")',
            Fault("off_by_one", "images[1]", "images[0]"),
            Fault("attribute_word", f'find("{shape}")', f'find("{other(rng, SHAPES, shape)}")'),
        ),
        step(
            "compare the counts and name the image",
            f'{answer} = "first" if len({a}) > len({b}) else "second"\n{report(answer)}',
            Also(f'{answer} = "second" if len({b}) > len({a}) else "first"\n{report(answer)}'),
            Fault("wrong_operator", f"len({a}) > len({b})", f"len({a}) < len({b})"),
            Fault("wrong_variable", f"len({a}) > len({b})", f"len({a}) > len({a})"),
        ),
    )
    query = f"Which image has more {shape}s, the first or the second?"
    return Plan("compare_images", names.style, query, "first" if n1 > n2 else "second", steps)


def both_images(rng: random.Random, scenes: list[Scene], names: Names) -> Plan:
    """ "Do both images contain a red circle?" (``all`` over the images)."""
    color, shape = pick_combo(rng, scenes[rng.randrange(2)])
    patches, flags = names.boxes("patches"), names.value("contains")
    holds, answer = names.value("holds"), names.value("answer")
    steps = (
        step(
            "open every image",
            f"{patches} = [ImagePatch(img) for img in images]",
            Also(f"{patches} = []\nfor img in images:\n    {patches}.append(ImagePatch(img))"),
        ),
        step(
            f"check each image for {with_article(color)} {shape}",
            f'{flags} = [p.exists("{color} {shape}") for p in {patches}]',
            Fault("attribute_word", f'"{color} {shape}"', f'"{other(rng, COLORS, color)} {shape}"'),
            Fault("generic_noun", f'"{color} {shape}"', '"object"'),
        ),
        step(
            "combine the checks",
            f"{holds} = all({flags})",
            Fault("any_all_swap", f"all({flags})", f"any({flags})"),
        ),
        step(
            "answer yes or no",
            f"{answer} = bool_to_yesno({holds})\n{report(answer)}",
            Fault("negation", f"bool_to_yesno({holds})", f"bool_to_yesno(not {holds})"),
        ),
    )
    value = all(s.count(color, shape) > 0 for s in scenes)
    query = f"Do both images contain {with_article(color)} {shape}?"
    return Plan("both_images", names.style, query, yes_no(value), steps)


def _clip_target(rng: random.Random, clip: Scene):
    seen = {}
    for frame in clip.frames:
        for obj in frame:
            seen.setdefault(obj.id, obj)
    return rng.choice(sorted(seen.values(), key=lambda o: o.id)) if seen else None


def first_frame(rng: random.Random, scenes: list[Scene], names: Names) -> Plan | None:
    """ "In which frame does the red circle first appear?" (frames counted from 0)."""
    clip = scenes[0]
    target = _clip_target(rng, clip)
    if target is None:
        return None
    video, frames = names.value("video"), names.boxes("frames_with_it")
    answer = names.value("answer")
    look = f'{video}.frame_from_index(i).exists("{target.phrase}")'
    steps = (
        step("open the video", f"{video} = VideoSegment(image)"),
        step(
            f"find the frames that show the {target.phrase}",
            f"{frames} = [i for i in range({video}.num_frames) if {look}]",
            Also(
                f"{frames} = []\nfor i in range({video}.num_frames):\n"
                f"    if {look}:\n        {frames}.append(i)"
            ),
            Fault("generic_noun", f'exists("{target.phrase}")', f'exists("{target.shape}")'),
        ),
        step(
            "take the first of them",
            f"if len({frames}) > 0:\n    {answer} = {frames}[0]\nelse:\n    {answer} = -1",
            Fault("wrong_sort_order", f"{answer} = {frames}[0]", f"{answer} = {frames}[-1]"),
            Fault("off_by_one", f"{answer} = {frames}[0]", f"{answer} = {frames}[0] + 1"),
        ),
        step("report the frame", report(answer)),
    )
    shown = [i for i, frame in enumerate(clip.frames) if any(o.id == target.id for o in frame)]
    query = f"In which frame does the {target.phrase} first appear?"
    return Plan("video_first_frame", names.style, query, shown[0], steps)


def frames_visible(rng: random.Random, scenes: list[Scene], names: Names) -> Plan | None:
    """ "In how many frames is the red circle visible?"."""
    clip = scenes[0]
    target = _clip_target(rng, clip)
    if target is None:
        return None
    video, count = names.value("video"), names.value("count")
    check = f'frame.exists("{target.phrase}")'
    steps = (
        step("open the video", f"{video} = VideoSegment(image)"),
        step(
            f"count the frames that show the {target.phrase}",
            f"{count} = 0\nfor frame in {video}.frame_iterator():\n    if {check}:\n"
            f"        {count} += 1",
            Also(f"{count} = sum(1 for frame in {video}.frame_iterator() if {check})"),
            Fault("negation", f"if {check}", f"if not {check}"),
            Fault("off_by_one", f"{count} = 0\n", f"{count} = 1\n"),
        ),
        step("report the count", report(count)),
    )
    shown = sum(1 for frame in clip.frames if any(o.id == target.id for o in frame))
    query = f"In how many frames is the {target.phrase} visible?"
    return Plan("video_count_frames", names.style, query, shown, steps)
