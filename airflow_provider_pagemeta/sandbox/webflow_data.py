"""Deterministic demo data for the Webflow sandbox.

Four sites, identical after every reset so tests and demos always start from the same state:

* the **demo site**: a realistic small site (home page, static pages, a folder, a collection
  template page, the three utility pages) in two locales, English (primary) and French
  (secondary), so locale handling and the silently-ignored slug rules can be tried by hand; it has
  two custom domains (``www.`` and the apex) besides its ``webflow.io`` subdomain;
* the **large site**: generated static pages, 1000 by default (``webflow_large_site_pages``), for
  pagination, bulk runs and benchmarks of 10,000 pages and more;
* the **paging site**: exactly 250 generated static pages, a size that ends mid-page (100+100+50);
* the **soak site**: exactly 2000 generated static pages, for the reliability soak (2,000 bulk updates
  under random faults).

Every site starts fully published: each page's live copy (what visitors see) equals its staged
copy (what the API reads and writes). :class:`Page` keeps the live copy lazily: ``live is None``
means "the same as the staged content", and the first write after a publish freezes a copy, so
building 10,000 pages costs no second copy of each.

The generated sites are built by their own functions, so the emulator can keep them across
resets until something writes to them (resets stay cheap).

Ids are 24 lowercase hex digits, like Webflow's object ids, derived from a label with SHA-256 so
they never change between runs or machines.
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

#: Page kinds. Webflow silently ignores slug changes on every kind but ``static``.
STATIC, HOME, TEMPLATE, UTILITY = "static", "home", "template", "utility"

BASE_TIME = datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)


def oid(label: str) -> str:
    """A stable 24-hex-digit id for a label."""
    return hashlib.sha256(label.encode()).hexdigest()[:24]


def iso(moment: datetime) -> str:
    """Webflow's timestamp format: ISO 8601 with milliseconds and ``Z``."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass
class Locale:
    id: str
    tag: str  # e.g. "en", used as the published path prefix of secondary locales
    display_name: str = "English"


@dataclass
class Domain:
    """A custom domain of a site; ``last_published`` is None until something is published to it."""

    id: str
    url: str
    last_published: str | None = None


@dataclass
class Page:
    """One page; ``content`` maps a locale id to that locale's title/slug/seo/openGraph.

    A secondary locale without an entry shows the primary content, as an untranslated page does
    in Webflow; the first write to that locale gives it its own copy.
    """

    id: str
    site_id: str
    kind: str
    created_on: str
    last_updated: str
    content: dict[str, dict[str, Any]]
    parent_id: str | None = None
    parent_path: str = ""
    collection_id: str | None = None
    archived: bool = False
    draft: bool = False
    #: What visitors see, per locale; None while it equals ``content`` (published, no staged change).
    live: dict[str, dict[str, Any]] | None = None


@dataclass
class Site:
    id: str
    name: str
    primary: Locale
    secondary: list[Locale] = field(default_factory=list)
    page_ids: list[str] = field(default_factory=list)
    created_on: str = ""
    last_updated: str = ""
    #: None when the site was never published (the API's ``lastPublished: null``).
    last_published: str | None = None
    time_zone: str = "Europe/London"
    custom_domains: list[Domain] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        """The slugified name, also the ``<short_name>.webflow.io`` subdomain."""
        return "-".join("".join(c if c.isalnum() else " " for c in self.name.lower()).split())

    def domain(self, domain_id: str) -> Domain | None:
        return next((d for d in self.custom_domains if d.id == domain_id), None)

    def locale(self, locale_id: str) -> Locale | None:
        for loc in [self.primary, *self.secondary]:
            if loc.id == locale_id:
                return loc
        return None

    def is_secondary(self, locale_id: str) -> bool:
        return any(loc.id == locale_id for loc in self.secondary)


def _content(title: str, slug: str, seo_title: str, seo_desc: str, og: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "slug": slug, "seo": {"title": seo_title, "description": seo_desc}, "openGraph": og}


def _og(title: str, desc: str, *, copied: bool) -> dict[str, Any]:
    return {"title": title, "titleCopied": copied, "description": desc, "descriptionCopied": copied}


WORKSPACE_ID = oid("webflow-workspace")
DEMO_SITE_ID = oid("webflow-demo-site")
DEMO_EN = Locale(oid("webflow-demo-locale-en"), "en", "English")
DEMO_FR = Locale(oid("webflow-demo-locale-fr"), "fr", "French")
#: The demo site's custom domains: (id, host name).
DEMO_DOMAINS = [
    (oid("webflow-demo-domain-www"), "www.orbit-outfitters.com"),
    (oid("webflow-demo-domain-apex"), "orbit-outfitters.com"),
]
LEGAL_FOLDER_ID = oid("webflow-demo-folder-legal")
BLOG_COLLECTION_ID = oid("webflow-demo-collection-blog-posts")

#: (slug, English title, French title, kind, in the legal folder)
DEMO_PAGES: list[tuple[str, str, str, str, bool]] = [
    ("index", "Home", "Accueil", HOME, False),
    ("about", "About Us", "À propos", STATIC, False),
    ("contact", "Contact", "Contact", STATIC, False),
    ("pricing", "Pricing", "Tarifs", STATIC, False),
    ("features", "Features", "Fonctionnalités", STATIC, False),
    ("blog", "Blog", "Blog", STATIC, False),
    ("careers", "Careers", "Carrières", STATIC, False),
    ("team", "Our Team", "Notre équipe", STATIC, False),
    ("press", "Press", "Presse", STATIC, False),
    ("faq", "FAQ", "FAQ", STATIC, False),
    ("support", "Support", "Assistance", STATIC, False),
    ("docs", "Documentation", "Documentation", STATIC, False),
    ("changelog", "Changelog", "Journal des modifications", STATIC, False),
    ("partners", "Partners", "Partenaires", STATIC, False),
    ("customers", "Customers", "Clients", STATIC, False),
    ("case-studies", "Case Studies", "Études de cas", STATIC, False),
    ("integrations", "Integrations", "Intégrations", STATIC, False),
    ("security", "Security", "Sécurité", STATIC, False),
    ("status", "System Status", "État du système", STATIC, False),
    ("webinars", "Webinars", "Webinaires", STATIC, False),
    ("events", "Events", "Événements", STATIC, False),
    ("newsletter", "Newsletter", "Lettre d'information", STATIC, False),
    ("brand", "Brand Assets", "Ressources de marque", STATIC, False),
    ("privacy-policy", "Privacy Policy", "Politique de confidentialité", STATIC, True),
    ("terms-of-service", "Terms of Service", "Conditions d'utilisation", STATIC, True),
    ("cookie-policy", "Cookie Policy", "Politique relative aux cookies", STATIC, True),
    ("post", "Blog Posts Template", "Modèle d'article", TEMPLATE, False),
    ("404", "Page Not Found", "Page introuvable", UTILITY, False),
    ("401", "Password Protected", "Protégé par mot de passe", UTILITY, False),
    ("search", "Search Results", "Résultats de recherche", UTILITY, False),
]

#: Pages of the demo site that are drafts (a realistic mix for listing).
DEMO_DRAFTS = frozenset({"brand"})

LARGE_SITE_ID = oid("webflow-large-site")
LARGE_EN = Locale(oid("webflow-large-locale-en"), "en")
LARGE_PAGE_COUNT = 1000

PAGING_SITE_ID = oid("webflow-paging-site")
PAGING_EN = Locale(oid("webflow-paging-locale-en"), "en")
PAGING_PAGE_COUNT = 250

SOAK_SITE_ID = oid("webflow-soak-site")
SOAK_EN = Locale(oid("webflow-soak-locale-en"), "en")
SOAK_PAGE_COUNT = 2000

_ADJECTIVES = ["Alpine", "Coastal", "Urban", "Classic", "Modern", "Rugged", "Compact", "Deluxe", "Solar", "Nordic"]
_NOUNS = ["Backpack", "Lantern", "Tent", "Kettle", "Jacket", "Compass", "Bottle", "Hammock", "Stove", "Boots"]


def demo_page_id(slug: str) -> str:
    return oid(f"webflow-demo-page-{slug}")


def large_page_id(index: int) -> str:
    return oid(f"webflow-large-page-{index:04d}")


def paging_page_id(index: int) -> str:
    return oid(f"webflow-paging-page-{index:03d}")


def soak_page_id(index: int) -> str:
    return oid(f"webflow-soak-page-{index:04d}")


def demo_site() -> tuple[Site, list[Page]]:
    """The demo site, published a day after its last page was edited."""
    published = iso(BASE_TIME + timedelta(days=len(DEMO_PAGES)))
    site = Site(
        DEMO_SITE_ID, "Orbit Outfitters", DEMO_EN, [DEMO_FR], created_on=iso(BASE_TIME - timedelta(days=30)),
        last_updated=published, last_published=published, time_zone="Europe/Paris",
        custom_domains=[Domain(domain_id, url, published) for domain_id, url in DEMO_DOMAINS],
    )
    pages = []
    for n, (slug, title_en, title_fr, kind, legal) in enumerate(DEMO_PAGES):
        created = BASE_TIME + timedelta(days=n)
        en = _content(
            title_en, slug, f"{title_en} | Orbit Outfitters",
            f"{title_en} at Orbit Outfitters, gear for every expedition.",
            _og(f"{title_en} | Orbit Outfitters", f"{title_en} at Orbit Outfitters.", copied=n % 3 != 0),
        )
        fr = _content(
            title_fr, slug, f"{title_fr} | Orbit Outfitters",
            f"{title_fr} chez Orbit Outfitters, l'équipement pour chaque expédition.",
            _og(f"{title_fr} | Orbit Outfitters", f"{title_fr} chez Orbit Outfitters.", copied=n % 3 != 0),
        )
        page = Page(
            id=demo_page_id(slug), site_id=site.id, kind=kind, created_on=iso(created),
            last_updated=iso(created + timedelta(hours=6)), content={DEMO_EN.id: en, DEMO_FR.id: fr},
            parent_id=LEGAL_FOLDER_ID if legal else None, parent_path="legal" if legal else "",
            collection_id=BLOG_COLLECTION_ID if kind == TEMPLATE else None, draft=slug in DEMO_DRAFTS,
        )
        pages.append(page)
    site.page_ids = [page.id for page in pages]
    return site, pages


def _generated_site(
    site_id: str, name: str, locale: Locale, count: int, id_for: Callable[[int], str], seed: int
) -> tuple[Site, list[Page]]:
    """A site of ``count`` static product pages; page ``i`` is the same whatever ``count`` is.

    Kept lean (one random generator, timestamps from precomputed strings) because benchmarks
    build 10,000 pages and more.
    """
    rng = random.Random(seed)
    last = BASE_TIME + timedelta(minutes=17 * max(count - 1, 0), days=1)
    published = iso(last + timedelta(hours=1))
    site = Site(site_id, name, locale, created_on=iso(BASE_TIME - timedelta(days=30)),
                last_updated=published, last_published=published)
    adjectives, nouns = _ADJECTIVES, _NOUNS
    pages = []
    for i in range(count):
        product = f"{adjectives[rng.randrange(10)]} {nouns[rng.randrange(10)]} {i:04d}"
        created = BASE_TIME + timedelta(minutes=17 * i)
        content = {
            "title": product,
            "slug": product.lower().replace(" ", "-"),
            "seo": {"title": f"{product} | {name}",
                    "description": f"Buy the {product} from {name}: rated {rng.randint(30, 50) / 10:.1f} "
                                   f"by {rng.randint(5, 900)} hikers."},
            "openGraph": _og(f"{product} | {name}", f"The {product}, in stock at {name}.", copied=i % 2 == 0),
        }
        pages.append(Page(
            id=id_for(i), site_id=site_id, kind=STATIC, created_on=iso(created),
            last_updated=iso(created + timedelta(days=1)), content={locale.id: content},
        ))
    site.page_ids = [page.id for page in pages]
    return site, pages


def large_site(count: int = LARGE_PAGE_COUNT) -> tuple[Site, list[Page]]:
    """The large site with ``count`` pages (``webflow_large_site_pages``)."""
    return _generated_site(LARGE_SITE_ID, "Northwind Catalog", LARGE_EN, count, large_page_id, 1000)


def paging_site() -> tuple[Site, list[Page]]:
    """The 250-page site whose listing ends mid-page."""
    return _generated_site(PAGING_SITE_ID, "Paging Test Shop", PAGING_EN, PAGING_PAGE_COUNT, paging_page_id, 250)


def soak_site() -> tuple[Site, list[Page]]:
    """The 2000-page soak site."""
    return _generated_site(SOAK_SITE_ID, "Soak Supply Co", SOAK_EN, SOAK_PAGE_COUNT, soak_page_id, 2000)


def fixtures(sites: dict[str, Site]) -> dict[str, Any]:
    """The ids users and tests address; the first three keys are the contract's."""
    demo = sites[DEMO_SITE_ID]
    return {
        "site_id": DEMO_SITE_ID,
        "page_ids": [demo_page_id(slug) for slug, _en, _fr, kind, _legal in DEMO_PAGES if kind == STATIC],
        "locales": {"primary": DEMO_EN.id, "secondary": DEMO_FR.id},
        "custom_domains": [{"id": d.id, "url": d.url} for d in demo.custom_domains],
        "home_page_id": demo_page_id("index"),
        "template_page_id": demo_page_id("post"),
        "utility_page_ids": [demo_page_id(s) for s, _en, _fr, kind, _legal in DEMO_PAGES if kind == UTILITY],
        "large_site_id": LARGE_SITE_ID,
        "large_page_ids": list(sites[LARGE_SITE_ID].page_ids),
        "paging_site_id": PAGING_SITE_ID,
        "paging_page_ids": list(sites[PAGING_SITE_ID].page_ids),
        "soak_site_id": SOAK_SITE_ID,
        "soak_page_ids": list(sites[SOAK_SITE_ID].page_ids),
    }


def locale_content(page: Page, site: Site, locale_id: str) -> dict[str, Any]:
    """The content a locale shows: its own copy, else the primary one (untranslated)."""
    return page.content.get(locale_id) or page.content[site.primary.id]


def live_content(page: Page, site: Site, locale_id: str) -> dict[str, Any]:
    """What visitors see in a locale: the live copy, or the staged one while they are the same."""
    source = page.live if page.live is not None else page.content
    return source.get(locale_id) or source[site.primary.id]


def writable_content(page: Page, site: Site, locale_id: str) -> dict[str, Any]:
    """The locale's staged copy, ready to be changed.

    The live copy is frozen first (when it was still shared with the staged one), so a write never
    shows to visitors before a publish. A locale without its own copy gets one from the primary
    content.
    """
    if page.live is None:
        page.live = copy.deepcopy(page.content)
    if locale_id not in page.content:
        page.content[locale_id] = copy.deepcopy(page.content[site.primary.id])
    return page.content[locale_id]
