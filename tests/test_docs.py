"""The README and docs/ match the code: every Python block, make target, link and path in them.

The first half runs the checks on the real docs (one test per Python block, so a failure names the
file and line). The second half shows the checker fails where it should, on blocks broken on purpose,
and stays quiet on the idioms the docs use (placeholders, lambdas, ``with DAG(...)``, ``await``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.docs_check import (
    check_python,
    code_blocks,
    link_problems,
    make_problems,
    make_targets_in,
    reference_problems,
    slug,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
PYTHON_BLOCKS = [b for path in DOCS for b in code_blocks(path) if b.lang in ("python", "py")]


def test_the_docs_have_python_blocks_to_check() -> None:
    assert len(PYTHON_BLOCKS) >= 10, "the block finder found almost nothing: is the fence syntax still ```python?"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.label(ROOT) for b in PYTHON_BLOCKS])
def test_python_block_matches_the_code(block) -> None:  # type: ignore[no-untyped-def]
    problems = check_python(block.text)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_make_targets_links_and_paths_exist(path: Path) -> None:
    problems = make_problems(path, ROOT / "Makefile") + link_problems(path) + reference_problems(path, ROOT)
    assert not problems, "\n".join(problems)


def test_readme_is_a_short_front_page_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert "make demo" in readme and "make test" in readme
    linked = {p.name for p in (ROOT / "docs").glob("*.md") if f"docs/{p.name}" in readme}
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")}, "every docs page is linked from the README"


# ---------------------------------------------------------------------------------- the checker


def problems(source: str) -> list[str]:
    return check_python(textwrap.dedent(source))


def test_a_correct_block_has_no_problem() -> None:
    assert problems(
        """
        from airflow.sdk import DAG, Asset, task
        from airflow_provider_pagemeta.hooks.buildin import BuildinHook
        from airflow_provider_pagemeta.hooks.webflow import WebflowHook
        from airflow_provider_pagemeta.operators.webflow import (
            WebflowBulkUpdatePagesOperator,
            WebflowUpdatePageOperator,
        )
        from airflow_provider_pagemeta.payloads.buildin import changes_to_apply
        from airflow_provider_pagemeta.sensors.buttercms import ButterCMSPageUpdateSensor

        hook = WebflowHook(webflow_conn_id="webflow_default")
        hook.update_page_settings(page_id, seo={"title": "New"})
        for page in hook.list_pages(site_id):
            print(page["id"], hook.conn_id)
        BuildinHook().modify_page(page_id, lambda p: changes_to_apply(p, in_trash=False))
        with DAG(dag_id="d", schedule=[Asset(name="a")]) as dag:
            WebflowBulkUpdatePagesOperator(task_id="t", updates=rows, pool="webflow", retries=2)
            ButterCMSPageUpdateSensor(task_id="s", page_type="faq", page_slug="faq",
                                      expected_fields={"x": 1}, poke_interval=5, mode="reschedule")

            @task
            def rebuild(triggering_asset_events=None):
                return [e.extra for e in triggering_asset_events or []]
        page = await hook.get_page(...)
        ok, message = hook.test_connection()
        WebflowUpdatePageOperator.partial(task_id="m", pool="webflow").expand(page_id=ids)
        """
    ) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("hook = WebflowHook(\n", "does not compile"),
        ("f(a=1, ...)", "does not compile"),
        ("import airflow_provider_pagemeta.nowhere", "import airflow_provider_pagemeta.nowhere"),
        (
            "from airflow_provider_pagemeta.hooks.webflow import WebflowHooks",
            "airflow_provider_pagemeta.hooks.webflow has no name 'WebflowHooks'",
        ),
        (
            "from airflow_provider_pagemeta.hooks import webflow\nwebflow.WebflowHok()",
            "has no attribute 'WebflowHok'",
        ),
        (
            "from airflow_provider_pagemeta.hooks.webflow import WebflowHook\n"
            "hook = WebflowHook()\nhook.update_page_setting('p', seo={})",
            "WebflowHook instance has no attribute 'update_page_setting'",
        ),
        (
            "from airflow_provider_pagemeta.hooks.webflow import WebflowHook\n"
            "WebflowHook().update_page_settings('p', seo_title='x')",
            "update_page_settings() has no argument 'seo_title'",
        ),
        (
            "from airflow_provider_pagemeta.hooks.webflow import WebflowHook\n"
            "WebflowHook().get_page('p', 'locale')",
            "takes 1 positional arguments, the block gives 2",
        ),
        (
            "from airflow_provider_pagemeta.hooks.hamgam import HamgamHook\n"
            "HamgamHook().create_page_meta(38, value_text='x')",
            "missing required argument(s) key",
        ),
        (
            "from airflow_provider_pagemeta.hooks.webflow import WebflowHook\n"
            "WebflowHook(conn_id='x')",
            "WebflowHook() has no argument 'conn_id'",
        ),
        (
            "from airflow_provider_pagemeta.operators.webflow import WebflowUpdatePageOperator\n"
            "WebflowUpdatePageOperator(task_id='t', page_id='p', pool='p', seo_title='x')",
            "WebflowUpdatePageOperator() has no argument 'seo_title'",
        ),
        (
            "from airflow_provider_pagemeta.sensors.buttercms import ButterCMSPageUpdateSensor\n"
            "ButterCMSPageUpdateSensor(task_id='s', page_type='t', page_slug='s', poke_intervall=5)",
            "has no argument 'poke_intervall'",
        ),
        (
            "from airflow_provider_pagemeta.operators.hamgam import HamgamUpdatePageMetaOperator\n"
            "HamgamUpdatePageMetaOperator(task_id='t', text={'k': 'v'})",
            "missing required argument(s) page_id",
        ),
        (
            "from airflow_provider_pagemeta.operators.buttercms import ButterCMSUpdatePageOperator\n"
            "ButterCMSUpdatePageOperator.editor_urls = 'x'",
            "has no attribute 'editor_urls'",
        ),
        (
            "from airflow_provider_pagemeta.hooks.hamgam import HamgamHook\n"
            "plan = HamgamHook().plan_page_meta(38, text={'k': 'v'})\nplan.diff()",
            "MetaPlan instance has no attribute 'diff'",
        ),
        ("hook = ButterCMSHook()", "ButterCMSHook is the provider's, import it in the block"),
        ("page_spec('faq', 'faq', expected_fields={})", "page_spec is the provider's, import it"),
        ("Asset(name='x')", "Asset is neither imported nor defined in the block"),
    ],
)
def test_a_broken_block_is_reported(source: str, expected: str) -> None:
    found = problems(source)
    assert any(expected in problem for problem in found), found


def test_an_unknown_make_target_is_reported(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(".PHONY: test demo\ntest: bootstrap\n\t$(PY) -m pytest\ndemo:\n\ttrue\nX := 1\n")
    page = tmp_path / "page.md"
    page.write_text("Run `make test`, then:\n\n```bash\nmake demo   # make nothing\nmake lint typecheck\n```\n")
    assert make_problems(page, makefile) == [
        "make lint: no such target in the Makefile",
        "make typecheck: no such target in the Makefile",
    ]


def test_make_commands_are_read_like_a_shell_would() -> None:
    assert list(make_targets_in("make sandbox PORT=9000 && make -j2 test e2e")) == ["sandbox", "test", "e2e"]


def test_a_broken_link_or_path_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# The `make e2e`: proof\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/b.md#the-make-e2e-proof) [bad anchor](docs/b.md#nope) [gone](docs/c.md) "
        "[web](https://example.com/x) `tests/missing.py` `docs/b.md` `airflow_provider_pagemeta.hooks.Nope`\n"
    )
    assert link_problems(page) == [
        "link to docs/b.md#nope: no heading #nope in b.md",
        "link to docs/c.md: docs/c.md does not exist",
    ]
    assert reference_problems(page, tmp_path) == [
        "`tests/missing.py`: tests/missing.py does not exist",
        "`airflow_provider_pagemeta.hooks.Nope` does not exist",
    ]


def test_a_missing_test_name_is_reported() -> None:
    page_text = "`tests/test_docs.py::test_a_broken_block_is_reported` `tests/test_docs.py::test_nope_*`"
    from tests import docs_check

    found = [docs_check._path_problem(ROOT, code) for code in page_text.replace("`", " ").split()]
    assert found == [[], ["`tests/test_docs.py::test_nope_*`: no test named test_nope_* in tests/test_docs.py"]]


def test_anchor_slugs_follow_github() -> None:
    assert slug("Bulk updates: thousands of pages in one task") == "bulk-updates-thousands-of-pages-in-one-task"
    assert slug("`make e2e`: the proof") == "make-e2e-the-proof"
    assert slug("Hook — `airflow_provider_pagemeta.hooks.buttercms.ButterCMSHook`") == (
        "hook--airflow_provider_pagemetahooksbuttercmsbuttercmshook"
    )
