"""Demo data of the ButterCMS sandbox: page types, their field schemas, six demo pages, and a
generated page type for listings and benchmarks.

Deterministic on purpose: tests and the example DAG address these slugs directly, and
``reset()`` rebuilds exactly this state. The demo pages cover the three publishing states ButterCMS
documents (published, draft only, published with draft), a slug shared by two page types (so
``*`` finds several pages and answers 403) and a Single Page (no page type).

The ``product`` page type holds ``buttercms_product_pages`` generated pages (250 by default: three
List Pages calls at ``page_size=100``): every tenth is published with a pending draft, every
fiftieth is a draft that was never published, the rest are published; every fifth is
``featured``, for ``fields.featured=true`` filters. Page ``i`` is the same whatever the count.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

LOCALES = ("en", "es")
DEFAULT_LOCALE = "en"

#: Field schema per page type (``None``: Single Pages). A field is ``"text"`` (any scalar),
#: ``"repeater"`` (a list of objects, replaced whole) or a dict of sub-field -> ``"text"``
#: (a component, updated key by key).
SEO = {"title": "text", "description": "text"}
PAGE_TYPES: dict[str | None, dict[str, Any]] = {
    "landing-page": {"seo": SEO, "headline": "text", "hero_image": "text", "features": "repeater"},
    "faq": {"seo": SEO, "headline": "text", "questions": "repeater"},
    None: {"seo": SEO, "headline": "text", "body": "text"},
    "product": {"seo": SEO, "headline": "text", "price": "text", "featured": "text"},
}
PRODUCT_TYPE = "product"

PUBLISHED_AT = "2026-01-05T09:00:00.000000Z"
UPDATED_AT = "2026-01-06T10:30:00.000000Z"


def _seo(title: str, description: str) -> dict[str, str]:
    return {"title": title, "description": description}


def demo_pages() -> list[dict[str, Any]]:
    """Fresh demo pages. ``live``/``draft`` are locale -> fields; ``None`` means "no such version"."""
    return [
        {  # published, no pending draft
            "page_type": "landing-page", "slug": "home", "name": "Home",
            "published": PUBLISHED_AT, "updated": UPDATED_AT,
            "live": {
                "en": {"seo": _seo("Home | Acme", "Acme makes things."), "headline": "Welcome to Acme",
                       "hero_image": "https://cdn.buttercms.com/demo-hero.jpg",
                       "features": [{"title": "Fast", "body": "Very fast."}]},
                "es": {"seo": _seo("Inicio | Acme", "Acme fabrica cosas."), "headline": "Bienvenido a Acme",
                       "hero_image": "https://cdn.buttercms.com/demo-hero.jpg",
                       "features": [{"title": "Rápido", "body": "Muy rápido."}]},
            },
            "draft": None,
        },
        {  # draft only: invisible without preview=1
            "page_type": "landing-page", "slug": "spring-sale", "name": "Spring Sale",
            "published": None, "updated": UPDATED_AT,
            "live": None,
            "draft": {
                "en": {"seo": _seo("Spring Sale", "Save 20%."), "headline": "Spring Sale",
                       "hero_image": "", "features": []},
                "es": {"seo": _seo("Rebajas de primavera", "Ahorra 20%."), "headline": "Rebajas de primavera",
                       "hero_image": "", "features": []},
            },
        },
        {  # published with draft: preview=1 shows the draft, without it the published version
            "page_type": "faq", "slug": "faq", "name": "FAQ",
            "published": PUBLISHED_AT, "updated": UPDATED_AT,
            "live": {
                "en": {"seo": _seo("FAQ | Acme", "Answers."), "headline": "Frequently Asked Questions",
                       "questions": [{"question": "Are dogs allowed?", "answer": "No."}]},
                "es": {"seo": _seo("Preguntas | Acme", "Respuestas."), "headline": "Preguntas frecuentes",
                       "questions": [{"question": "¿Se admiten perros?", "answer": "No."}]},
            },
            "draft": {
                "en": {"seo": _seo("FAQ | Acme", "Answers."), "headline": "FAQ (draft)",
                       "questions": [{"question": "Are dogs allowed?", "answer": "Leashed dogs are allowed."}]},
                "es": {"seo": _seo("Preguntas | Acme", "Respuestas."), "headline": "Preguntas (borrador)",
                       "questions": [{"question": "¿Se admiten perros?", "answer": "Con correa."}]},
            },
        },
        {  # "contact" exists under two page types: page_type "*" finds both -> 403
            "page_type": "landing-page", "slug": "contact", "name": "Contact (landing)",
            "published": PUBLISHED_AT, "updated": UPDATED_AT,
            "live": {loc: {"seo": _seo("Contact", ""), "headline": "Contact us", "hero_image": "", "features": []}
                     for loc in LOCALES},
            "draft": None,
        },
        {
            "page_type": "faq", "slug": "contact", "name": "Contact (FAQ)",
            "published": PUBLISHED_AT, "updated": UPDATED_AT,
            "live": {loc: {"seo": _seo("Contact FAQ", ""), "headline": "Contact questions", "questions": []}
                     for loc in LOCALES},
            "draft": None,
        },
        {  # a Single Page (no page type), listed by GET /v2/pages/*/
            "page_type": None, "slug": "about", "name": "About",
            "published": PUBLISHED_AT, "updated": UPDATED_AT,
            "live": {"en": {"seo": _seo("About | Acme", "Who we are."), "headline": "About us", "body": "Acme."},
                     "es": {"seo": _seo("Sobre | Acme", "Quiénes somos."), "headline": "Sobre nosotros",
                            "body": "Acme."}},
            "draft": None,
        },
    ]


_PRODUCT_EPOCH = datetime(2026, 1, 10, 8, 0, tzinfo=timezone.utc)
_KINDS = ["Trail", "Summit", "Harbor", "Canyon", "Prairie", "Glacier", "Meadow", "Delta", "Ridge", "Lagoon"]
_ITEMS = [("Backpack", "Mochila"), ("Lantern", "Linterna"), ("Tent", "Tienda"), ("Kettle", "Tetera"),
          ("Jacket", "Chaqueta"), ("Compass", "Brújula"), ("Bottle", "Botella"), ("Hammock", "Hamaca"),
          ("Stove", "Hornillo"), ("Boots", "Botas")]


def product_slug(index: int) -> str:
    return f"product-{index:04d}"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def product_state(index: int) -> str:
    """``published``, ``published_with_draft`` or ``draft_only``: the mix the listing tests rely on."""
    if index % 50 == 49:
        return "draft_only"
    if index % 10 == 3:
        return "published_with_draft"
    return "published"


def product_pages(count: int) -> list[dict[str, Any]]:
    """``count`` generated pages of the ``product`` type, in creation order."""
    pages = []
    for i in range(count):
        kind, (item_en, item_es) = _KINDS[i % 10], _ITEMS[(i // 10) % 10]
        name = f"{kind} {item_en} {i:04d}"
        versions: dict[str, dict[str, Any]] = {
            "en": {"seo": _seo(f"{name} | Acme", f"The {name}, made by Acme."), "headline": name,
                   "price": f"{19 + i % 80}.00", "featured": i % 5 == 0},
            "es": {"seo": _seo(f"{item_es} {kind} {i:04d} | Acme", f"{item_es} {kind} de Acme."),
                   "headline": f"{item_es} {kind} {i:04d}", "price": f"{19 + i % 80}.00", "featured": i % 5 == 0},
        }
        state = product_state(i)
        created = _PRODUCT_EPOCH + timedelta(minutes=7 * i)
        draft = None
        if state != "published":
            draft = {loc: {**fields, "seo": dict(fields["seo"]), "headline": f"{fields['headline']} (draft)"}
                     for loc, fields in versions.items()}
        pages.append({
            "page_type": PRODUCT_TYPE, "slug": product_slug(i), "name": name,
            "published": None if state == "draft_only" else _stamp(created),
            "updated": _stamp(created + timedelta(hours=3)),
            "live": None if state == "draft_only" else versions,
            "draft": draft,
        })
    return pages
