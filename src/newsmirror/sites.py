"""Per-site quirks, each in one alphabetised table: adding an outlet is one row and one fixture.

EXTRACTION: where an outlet's article page keeps its body, lead image and caption, and what
inside the body is furniture (related-article boxes, share bars, ads). A feed's own
`[feeds.rules]` in the configuration overrides the bundled row for its pages.
REFERERS: image hosts that refuse hot-linked requests without a Referer from their own site.
"""

from __future__ import annotations

from .config import SiteRule
from .urls import host

# Removed from every extracted body, whatever the site.
FURNITURE = (
    "script", "style", "iframe", "form", "button", "nav", "aside", "footer", "template", "svg",
    "[class*=share]", "[class*=social]", "[class*=related]", "[class*=advert]", "[class*=newsletter]",
    "[id*=share]", "[id*=related]", "[aria-hidden=true]",
)

EXTRACTION: dict[str, SiteRule] = {
    # BBC News 中文: hashed class names; the article is the <main> with figures and <p>s.
    "bbc.com": SiteRule(
        body="main[role=main] article, main[role=main]",
        lead_image="main figure img",
        caption="main figure figcaption",
        remove=("header", "h1", "section[aria-labelledby]", "[data-e2e]", "ul", "time", "figure"),
    ),
    # China Digital Times (WordPress).
    "chinadigitaltimes.net": SiteRule(
        body="div.post-content",
        lead_image="div.post-content img",
        caption="div.post-content .wp-caption-text",
        remove=(".sharedaddy", ".jp-relatedposts", ".wp-caption", ".post-tags", ".yarpp-related"),
    ),
    # Deutsche Welle: rich-text body; older pages use div.longText.
    "dw.com": SiteRule(
        body="div.rich-text, div.longText",
        lead_image="figure.teaser-image img, div.picBox img, article figure img",
        caption="figure.teaser-image figcaption, div.picBox p, article figure figcaption",
        remove=(".embed", "figure.placeholder-image", ".info-box", ".author-details"),
    ),
    # FT中文网.
    "ftchinese.com": SiteRule(
        body="div.story-body",
        lead_image="div.story-image img, figure.story-image img",
        caption="div.story-image figcaption, figure.story-image figcaption",
        remove=(".story-theme", ".story-byline", ".story-lead", ".o-ads", ".subscription-promo"),
    ),
    # NYT 中文网: each paragraph in div.article-paragraph.
    "nytimes.com": SiteRule(
        body="section.article-body, div.article-body",
        lead_image="figure.article-span-photo img, figure.article-photo img",
        caption="figure.article-span-photo figcaption, figure.article-photo figcaption",
        remove=(".article-dual-info", ".big_ad", ".setting-bar", "figure.article-span-photo", "figure.article-photo"),
    ),
    # RFA: Plone story pages (#storytext) and the newer Arc layout.
    "rfa.org": SiteRule(
        body="#storytext, div.c-article-body, div.article-body",
        lead_image="#headerimg img, figure.c-media img, div.article-header figure img",
        caption="#headerimg .mediaimage-caption, #headerimg p, figure.c-media figcaption",
        remove=(".c-related", ".c-ad", ".storytext-embed", "#dont-miss"),
    ),
    # RFI 中文.
    "rfi.fr": SiteRule(
        body="div.t-content__body",
        lead_image="div.t-content__main-media img, figure.m-figure img",
        caption="div.t-content__main-media figcaption, figure.m-figure figcaption",
        remove=(".m-interstitial", ".m-em-quote-related", ".m-item-list-article", ".o-self-promo"),
    ),
    # VOA (and every Pangea CMS site: RFE/RL, Current Time...): cover figure, body in div.wsw.
    "voachinese.com": SiteRule(
        body="div.wsw",
        lead_image="div.cover-media img",
        caption="div.cover-media figcaption, div.cover-media .caption",
        remove=(".wsw__embed", ".media-block-wrap", ".clear", "div.ad"),
    ),
}

REFERERS: dict[str, str] = {
    "img.ftchinese.com": "https://www.ftchinese.com/",
    "i.ftimg.net": "https://www.ftchinese.com/",
    "static01.nyt.com": "https://cn.nytimes.com/",
}


def rule_for(url: str, override: SiteRule | None = None) -> SiteRule | None:
    """The extraction rule for a page: the feed's own, else the bundled row for its site."""
    if override is not None and override.body:
        return override
    name = host(url)
    while name:
        if name in EXTRACTION:
            return EXTRACTION[name]
        name = name.partition(".")[2]
    return None


def referer_for(image_url: str, overrides: dict[str, str]) -> str | None:
    name = host(image_url)
    while name:
        if name in overrides:
            return overrides[name]
        if name in REFERERS:
            return REFERERS[name]
        name = name.partition(".")[2]
    return None
