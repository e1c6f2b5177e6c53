"""Line-level cleaning of extracted text: what a page wraps around its article.

Chinese articles end with ``责任编辑：…``, share buttons and ICP licence lines,
after which come comments and "related news" however article-like they look;
they open with a dateline (``2025-02-10 10:32 来源：江南日报``) that is
metadata, not text. The rules work on a simplified-Chinese copy so that
Traditional pages (責任編輯, 版權所有) are cleaned alike.
"""

from __future__ import annotations

import re

from crawler.extract.dates import find_dates, strip_dates
from crawler.extract.metadata import byline_author
from crawler.extract.page import HAN, is_substantial, squash
from crawler.normalize import to_simplified

_BOILERPLATE = re.compile(
    r"^[\s(（\[【]*(?:责任编辑|责编|编辑|来源|本文来源|文章来源|稿件来源|校对|审核|审校|监制|终审)\s*[:：]"
    # "编辑 刘晓阳 校对 李铭": staff credits without a colon.
    r"|^[\s(（\[【]*(?:责任编辑|责编|编辑|校对|审核|审校|监制|终审)\s+[\u4e00-\u9fff]{2,4}(?:\s|$|[)）\]】])"
    r"|版权所有|版权声明|免责声明|本文转载自|转载请注明|(?:未经|未获)\S{0,4}(?:许可|允许|授权)|禁止转载|不得转载"
    # "举报电话：0871-…" is a footer; "可拨打投诉举报电话反映" ends a consumer notice.
    r"|ICP\s*[备证]?\s*\d|ICP备|公网安备|分享到|分享至|不良信息举报|举报(?:电话|邮箱)\s*[:：]?\s*[\d(（+]"
    r"|二维码|扫一扫|公众号|点击(?:菜单栏|阅读原文|下方)|点【?在看】?|[“\"]在看[”\"]|^欢迎关注"
    # WeChat articles close with an "- END -" rule.
    r"|^[-—_=\s]*END[-—_=\s]*$"
    r"|^[\s(（\[【]*(?:©|copyright\b)",
    re.IGNORECASE,
)
# Headers of the lists that follow an article ("related news", "recommended").
_LIST_HEADER = (
    r"(?:热门推荐|为您推荐|相关推荐|猜你喜欢|热点新闻|相关新闻|相关阅读|延伸阅读|推荐阅读|推荐新闻|更多新闻"
    r"|精彩推荐|热文推荐|热门文章|相关文章|相关报道)"
)
_END_OF_ARTICLE = re.compile(
    r"^[-\s(（\[【]*(?:责任编辑|责编)\s*[:：]|^[-\s]*分享[到至]\s*[:：]?\s*$|^网友评论仅供"
    rf"|^[-\s]*{_LIST_HEADER}\s*[:：]?\s*$"
)
# Page chrome that trafilatura sometimes keeps above the article: breadcrumbs, font-size and print tools.
_ZH_HEAD = re.compile(
    r"^[|\s]*(?:当前位置|您的位置|您现在的位置|位置)\s*[:：]|首页\s*[>»›/]"
    r"|^[【\[]?\s*字号|^(?:[【\[]?(?:打印|打印本页|关闭|关闭窗口|收藏|纠错|大|中|小)[】\]]?\s*)+$"
    rf"|^[-\s]*{_LIST_HEADER}\s*[:：]?\s*$"
)
# Keyword and tag lists close an article; they are not part of it.
_ZH_TAIL = re.compile(
    r"^[【\[]?(?:关键词|关键字|标签|tags?)[】\]]?\s*[:：>]|^相关(?:资讯|新闻|阅读|报道|链接|专题)"
    r"|下载.{0,20}(?:APP|客户端)|^\S{2,12}(?:APP|客户端)$",
    re.IGNORECASE,
)
_BOILERPLATE_MAX_LEN = 120
_DATELINE_WORDS = re.compile(r"来源|记者|作者|编辑|\bBy\s+[A-Z]|\bUpdated\b|发布|更新", re.I)
SENTENCE_PUNCTUATION = re.compile(r"[，。；！？、,.;!?]")
# English pages wrap the article in tool links above and sharing, newsletter
# and contact prompts below; these lines are cut only at the text's edges.
_EN_HEAD = re.compile(
    r"^(?:[-•]\s*)?(?:order reprints|print(?: article| this page)?|share(?: this article)?|tweet|e-?mail"
    r"|advertisement|skip to (?:main )?content|listen to (?:this )?(?:article|story)\b.*"
    r"|this copy is for your personal, non-commercial use only\b.*)$"
    r"|^https?://\S+$",
    re.IGNORECASE,
)
_EN_TAIL = re.compile(
    r"^(?:like this story\?|share (?:this|it)\b|sign up\b|subscribe\b|get the latest\b.*\binbox"
    r"|follow (?:us|me|him|her|them)\b|have a (?:news )?tip\?|write to .{2,60}\bat\s+\S+@|contact (?:the )?(?:writer|author|reporter)\b"
    r"|also on \S+\.\w+|related(?: articles?| stories| coverage)?:|read more\b|more from\b|recommended for you"
    r"|an error has occurred|thank you[.!]?$|this article has been sent to|this copy is for your personal"
    r"|all rights reserved|https?://\S+$)",
    re.IGNORECASE,
)
_EN_EDGE_MAX_LEN = 300
# Link teasers that newsrooms drop into the middle of a text ("Read more: …",
# "相关阅读：《…》"), and the "[VIDEO]"-tagged headlines listed under "DON'T MISS".
_INLINE_PROMO = re.compile(
    r"^(?:related(?: articles?| stories| coverage)?|read more|see more|also read|more on this|more:"
    r"|also on \S+\.\w+|相关阅读|延伸阅读|推荐阅读|相关链接|点击阅读|阅读原文)\s*[:：]"
    r"|^(?:also on \S+\.(?:com|net|org|co\.uk)\b)",
    re.IGNORECASE,
)
_PROMO_HEADER = re.compile(r"^(?:don'?t miss|must read|recommended|most read|trending)\s*:?$", re.IGNORECASE)
_TAGGED_TEASER = re.compile(r"\[[A-Z][A-Z ]{1,15}\]\s*\|?$")
_PROMO_MAX_LEN = 200
# Where a headline repeated in the text may sit, and how words of headlines are compared.
HEADLINE_SEARCH_LINES = 8
_HEADLINE_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W_]+")


def clean_text(text: str) -> str:
    """One paragraph per line, without boilerplate lines at the head or tail."""
    lines = [squash(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    # Match the (simplified-Chinese) patterns on a simplified copy, so that
    # 責任編輯 and 版權所有 on Traditional pages are caught too.
    simple = _simplified_lines(lines)
    # Chinese articles end with the editor's name or the share buttons; what
    # follows is comments and related news, however article-like it looks.
    for index, line in enumerate(simple):
        if _END_OF_ARTICLE.search(line) and is_substantial("\n".join(lines[:index])):
            del lines[index:], simple[index:]
            break
    keep = _not_promos(simple)
    lines = [line for line, kept in zip(lines, keep, strict=True) if kept]
    simple = [line for line, kept in zip(simple, keep, strict=True) if kept]
    start, end = 0, len(lines)
    while start < end and (
        is_boilerplate(simple[start]) or is_byline_line(simple[start]) or _is_head_tool(simple[start])
    ):
        start += 1
    while end > start and (is_boilerplate(simple[end - 1]) or _is_tail_prompt(simple[end - 1])):
        end -= 1
    return "\n".join(lines[start:end])


def _not_promos(lines: list[str]) -> list[bool]:
    """Which lines to keep once inline link teasers are dropped."""
    keep = []
    in_promo_list = False
    for line in lines:
        short = len(line) <= _PROMO_MAX_LEN
        if short and _PROMO_HEADER.match(line):
            in_promo_list = True
            keep.append(False)
            continue
        if in_promo_list and short and _TAGGED_TEASER.search(line):
            keep.append(False)
            continue
        in_promo_list = False
        keep.append(not (short and _INLINE_PROMO.match(line)))
    return keep


def _simplified_lines(lines: list[str]) -> list[str]:
    joined = "\n".join(lines)
    if not HAN.search(joined):
        return lines
    converted = to_simplified(joined).split("\n")
    return converted if len(converted) == len(lines) else lines


def is_boilerplate(line: str) -> bool:
    return len(line) <= _BOILERPLATE_MAX_LEN and _BOILERPLATE.search(line) is not None


def _is_head_tool(line: str) -> bool:
    if len(line) > _EN_EDGE_MAX_LEN:
        return False
    return _EN_HEAD.search(line) is not None or _ZH_HEAD.search(line) is not None


def _is_tail_prompt(line: str) -> bool:
    if len(line) > _EN_EDGE_MAX_LEN:
        return False
    return _EN_TAIL.search(line) is not None or _ZH_TAIL.search(line) is not None


def is_byline_line(line: str) -> bool:
    """A short line at the head of the text holding a date, a byline, or both."""
    if len(line) > 80 or re.search(r"[，。！？]", line):
        return False
    if len(line) <= 40 and byline_author(line) is not None:
        return True
    if not find_dates(line):
        return False
    rest = strip_dates(line)
    return len(rest.strip()) <= 12 or _DATELINE_WORDS.search(rest) is not None


def drop_leading_title(text: str, title: str) -> str:
    """The text from just after its headline line, when the headline opens it (or nearly).

    The headline is stored apart; repeating it as the first paragraph makes
    digests and near-duplicate detection worse. Whatever an extractor picked
    up *before* the headline (a teaser of the previous story, a kicker) is
    not the article either, as long as it is short next to what follows.
    """
    if not title:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines[:HEADLINE_SEARCH_LINES]):
        if not same_headline(line, title):
            continue
        before = sum(len(line) for line in lines[:index])
        after = sum(len(line) for line in lines[index + 1 :])
        if after and before * 3 <= after:
            return "\n".join(lines[index + 1 :])
        break
    return text


def same_headline(line: str, title: str) -> bool:
    """The line is the headline, give or take a word or typographic quotes (og:title vs <h1>)."""
    a, b = squash(line).casefold(), squash(title).casefold()
    if a.startswith("原标题"):  # the Chinese "original headline" note belongs to the text
        return False
    if a == b:
        return True
    if not a or not b or len(a) > len(b) * 1.5 or len(b) > len(a) * 1.5:
        return False
    ta, tb = set(_HEADLINE_TOKEN.findall(a)), set(_HEADLINE_TOKEN.findall(b))
    return bool(ta and tb) and len(ta & tb) >= 0.8 * len(ta | tb)


def prose_chars(text: str) -> int:
    """Characters in lines that read like sentences rather than lists of headlines."""
    total = 0
    for line in text.splitlines():
        if len(line) < 20 or line.startswith("- "):
            continue
        # Running text has a comma or full stop every few dozen characters;
        # headlines glued together have almost none.
        if len(SENTENCE_PUNCTUATION.findall(line)) * 60 >= len(line):
            total += len(line)
    return total
