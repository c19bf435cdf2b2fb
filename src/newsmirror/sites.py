"""Per-site quirks, each in one alphabetised table: adding an outlet is one row and one gold page.

EXTRACTION: where an outlet's article page keeps its body, lead image and caption, and what
inside the body is furniture (related-article boxes, share bars, ads, players). Selectors in
one field are tried in order (the first that matches wins), so a row can cover an outlet's
current and former page layouts. A feed's own `[feeds.rules]` refines the bundled row.
REFERERS: image hosts that refuse hot-linked requests without a Referer from their own site.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TypeVar

from .config import SiteRule
from .urls import host

# Removed from every extracted body, whatever the site. The headline (`h1`) is already the
# article's title line; an `h1` inside the body would repeat it as loose text.
FURNITURE = (
    "script", "style", "form", "button", "nav", "aside", "footer", "template", "svg", "h1",  # players: clean() links them
    "[class*=share]", "[class*=social]", "[class*=related]", "[class*=advert]", "[class*=newsletter]",
    "[id*=share]", "[id*=related]", "[aria-hidden=true]",
)

EXTRACTION: dict[str, SiteRule] = {
    # BBC News 中文 (Simorgh): hashed class names, so the rule keys on roles and test ids. Inside
    # <main>: byline, recommendations and ads are all `section[role=region]`. In a figure, the
    # screen-reader labels ("图像来源，", "图像加注文字，") open each `span[role=text]`, before the
    # credit and the `caption-paragraph`; shown as text they would read as part of the caption.
    "bbc.com": SiteRule(
        body="main[role=main]",
        lead_image="main figure img",
        caption="main figure figcaption [data-testid=caption-paragraph]",
        remove=("section[role=region]", "time", "figure span[role=text] > span:first-child:not([data-testid])"),
    ),
    # China Digital Times (WordPress): Jetpack appends its share bar and related posts to the
    # post content itself.
    "chinadigitaltimes.net": SiteRule(
        body="div.post-content",
        lead_image="div.post-content img",
        caption="div.post-content figcaption",
        remove=(".sharedaddy", "#jp-relatedposts"),
    ),
    # Deutsche Welle: the current layout (hero figure, div.rich-text) and the one before 2022
    # (div.picBox above div.longText).
    "dw.com": SiteRule(
        body="div.rich-text, div.longText",
        lead_image="article figure img, div.picBox img",
        caption="article figure figcaption, div.picBox p",
        remove=(".embed", ".vjs-wrapper", ".advertisement"),
    ),
    # FT中文网: the lead picture is an empty <figure data-url=...> that a script fills in.
    "ftchinese.com": SiteRule(
        body="div.story-body",
        lead_image="div.story-image figure[data-url]",
        remove=(".mpu-container-instory",),
    ),
    # NYT 中文网: each paragraph is a div.article-paragraph; related boxes sit between them.
    "nytimes.com": SiteRule(
        body="section.article-body",
        lead_image="figure.article-span-photo img",
        caption="figure.article-span-photo figcaption",
        remove=(".big_ad", ".article-body-aside"),
    ),
    # RFA: Plone story pages (#headerimg, #storytext) and the Arc XP layout that replaced them.
    "rfa.org": SiteRule(
        body="#storytext, article.b-article-body",
        lead_image="#headerimg img, div.b-lead-art img",
        caption="#headerimg p, div.b-lead-art figcaption",
        remove=(".storytext-embed", ".wrapper-audio-player", ".b-ad-block", ".b-related-content"),
    ),
    # RFI 中文: "阅读更多" interstitials and the sources line (p.t-copyright) inside the body.
    "rfi.fr": SiteRule(
        body="div.t-content__body",
        lead_image="div.t-content__main-media img",
        caption="div.t-content__main-media figcaption",
        remove=(".m-interstitial", ".o-ad-container", "p.t-copyright", ".m-em-video"),
    ),
    # VOA (Pangea CMS): cover figure, body in div.wsw. Every box inside the body is a
    # .wsw__embed: related articles, video players, and also the article's own photos, which
    # are the only embeds with a figure.media-image and are kept.
    "voachinese.com": SiteRule(
        body="div.wsw",
        lead_image="div.cover-media img",
        caption="div.cover-media figcaption",
        remove=(".wsw__embed:not(:has(figure.media-image))",),
    ),
}

REFERERS: dict[str, str] = {
    "i.ftimg.net": "https://www.ftchinese.com/",
    "img.ftchinese.com": "https://www.ftchinese.com/",
    "static01.nyt.com": "https://cn.nytimes.com/",
}


def rule_for(url: str, override: SiteRule | None = None) -> SiteRule | None:
    """The extraction rule for a page of `url`: the bundled row for its site, refined by the
    feed's own rule (the fields it sets replace the row's, its `remove` adds to the row's).
    A feed rule with a body is used even for a site without a row."""
    bundled = _lookup(EXTRACTION, url)
    if bundled is None:
        return override if override is not None and override.body else None
    if override is None:
        return bundled
    changed = {f.name: getattr(override, f.name) for f in fields(override) if f.name != "remove" and getattr(override, f.name)}
    return replace(bundled, **changed, remove=bundled.remove + tuple(override.remove))


def referer_for(image_url: str, overrides: dict[str, str]) -> str | None:
    """The Referer an image host wants: the configured one, else the bundled one."""
    return _lookup(overrides, image_url) or _lookup(REFERERS, image_url)


_Row = TypeVar("_Row")


def _lookup(table: dict[str, _Row], url: str) -> _Row | None:
    """The row for the URL's host or its nearest listed parent domain (www.bbc.com -> bbc.com)."""
    name = host(url)
    while name:
        if name in table:
            return table[name]
        name = name.partition(".")[2]
    return None
