"""Build the Chinese extraction benchmark from the fictional articles and the page layouts here.

    .venv/bin/python bench/data/extraction-zh/source/generate.py

Writes ``../pages/<id>.html`` (the page's bytes, in the encoding the manifest
names), ``../pages/<id>.txt`` (the main text a reader would call the article:
its paragraphs and sub-headings, without headline, byline, editor line,
comments, menus or lists of other stories) and ``../manifest.tsv``. The
layouts follow kinds of Chinese sites (portal article pages, government CMS
tables, blogs showing several posts, forum threads, pages with comment or
guest-book blocks, navigation-heavy pages, e-paper pages, mobile/WeChat-style
pages, Big5 pages, old ``<br>``-separated CMS pages, pages with wrong charset
declarations); every layout varies at random (seeded) in tags, class names,
nesting and furniture. The split is fixed by hash of the page id and never
depends on any extractor (see ``split_of``).
"""

from __future__ import annotations

import hashlib
import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import opencc
import pools

HERE = Path(__file__).resolve().parent
PAGES = HERE.parent / "pages"
MANIFEST = HERE.parent / "manifest.tsv"
SPLIT_SALT = "mediawatch extraction-zh split v1"


@dataclass
class Article:
    id: str
    kind: str
    title: str
    source: str
    date: str
    author: str
    paragraphs: list[str]

    @property
    def expected(self) -> str:
        return "\n".join(p.removeprefix("## ") for p in self.paragraphs) + "\n"


def load_articles() -> list[Article]:
    articles = []
    for file in sorted(HERE.glob("articles-*.txt")):
        blocks = re.split(r"^=== ", file.read_text(encoding="utf-8"), flags=re.M)[1:]
        for block in blocks:
            head, body = block.split("\n--\n", 1)
            lines = head.splitlines()
            ident, kind = lines[0].split()
            fields = dict(line.split(":", 1) for line in lines[1:])
            paragraphs = [line.strip() for line in body.strip().splitlines() if line.strip()]
            articles.append(
                Article(
                    ident,
                    kind,
                    fields["title"].strip(),
                    fields["source"].strip(),
                    fields["date"].strip(),
                    fields.get("author", "").strip(),
                    paragraphs,
                )
            )
    return articles


def split_of(ident: str) -> str:
    """dev when the salted SHA-256 of the page id is even, else test: fixed per page, whatever is added."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{ident}".encode()).hexdigest()
    return "dev" if int(digest[:8], 16) % 2 == 0 else "test"


# --- how each page is encoded ----------------------------------------------------------------------
# id: (declared label in <meta> or None, codec of the bytes, HTTP Content-Type or "", note)
ENCODINGS: dict[str, tuple[str | None, str, str, str]] = {
    "p01": ("gb2312", "gbk", "", ""), "p02": ("utf-8", "utf-8", "", ""), "p03": ("gbk", "gbk", "", ""),
    "p04": ("gb2312", "gbk", "", ""), "p05": ("utf-8", "utf-8", "", ""), "p06": ("gb2312", "gbk", "", ""),
    "p07": ("GBK", "gbk", "", ""), "p08": ("utf-8", "utf-8-sig", "", "UTF-8 with BOM"),
    "g01": ("gb2312", "gbk", "", ""), "g02": ("gb2312", "gbk", "", ""), "g03": ("utf-8", "utf-8", "", ""),
    "g04": ("gb2312", "gbk", "", ""), "g05": ("GBK", "gbk", "", ""), "g06": ("utf-8", "utf-8", "", ""),
    "g07": ("GB2312", "gbk", "text/html; charset=GB2312", ""),
    "b01": ("utf-8", "utf-8", "", ""), "b02": ("gbk", "gbk", "", ""), "b03": ("utf-8", "utf-8", "", ""),
    "b04": ("gb2312", "gbk", "", ""), "b05": ("utf-8", "utf-8", "", ""), "b06": ("gbk", "gbk", "", ""),
    "b07": ("utf-8", "utf-8", "", ""),
    "f01": ("gbk", "gbk", "", ""), "f02": ("gbk", "gbk", "", ""), "f03": ("utf-8", "utf-8", "", ""),
    "f04": ("gb2312", "gbk", "", ""), "f05": ("utf-8", "utf-8", "", ""),
    "c01": ("gb2312", "gbk", "", ""), "c02": ("utf-8", "utf-8", "", ""), "c03": ("gbk", "gbk", "", ""),
    "c04": ("utf-8", "utf-8", "", ""), "c05": ("gb2312", "gbk", "", ""), "c06": ("utf-8", "utf-8", "", ""),
    "c07": ("gbk", "gbk", "", ""),
    "n01": ("gb2312", "gbk", "", ""), "n02": ("utf-8", "utf-8", "", ""), "n03": ("gbk", "gbk", "", ""),
    "n04": ("utf-8", "utf-8", "", ""), "n05": ("gb2312", "gbk", "", ""), "n06": ("utf-8", "utf-8", "", ""),
    "n07": ("gbk", "gbk", "", ""), "n08": ("gb2312", "gbk", "", ""),
    "e01": ("utf-8", "utf-8", "", ""), "e02": ("gb2312", "gbk", "", ""),
    "e03": ("gb2312", "gbk", "", "declares gb2312, holds 镕 (GBK only)"), "e04": ("utf-8", "utf-8", "", ""),
    "m01": ("utf-8", "utf-8", "", ""), "m02": ("utf-8", "utf-8", "", ""), "m03": ("utf-8", "utf-8", "", ""),
    "m04": ("utf-8", "utf-8", "", ""), "m05": ("utf-8", "utf-8", "", ""),
    "t01": ("big5", "big5", "", ""), "t02": ("big5", "big5", "", ""),
    "t03": ("big5", "big5", "text/html; charset=ISO-8859-1", "server-default Latin-1 header"),
    "t04": ("utf-8", "utf-8", "", "traditional, UTF-8"),
    "r01": ("gb2312", "gbk", "", ""), "r02": (None, "gbk", "", "no declaration at all"),
    "r03": ("GB2312", "gbk", "", ""), "r04": (None, "gbk", "", "no declaration at all"),
    "w01": ("utf-8", "gbk", "text/html; charset=utf-8", "GBK bytes declared utf-8 (header and meta); holds 喆"),
    "w02": ("gb2312", "gbk", "", "declares gb2312, holds 镕 and 堃 (GBK only)"),
    "w03": ("gb2312", "gb18030", "", "declares gb2312, holds 𠀀 (GB18030 four-byte only)"),
    "w04": ("gb2312", "gbk", "", "declares gb2312; a UTF-8 menu and footer included into the GBK page"),
    "w05": ("gb2312", "utf-8", "", "UTF-8 bytes under a gb2312 meta (page re-saved)"),
    # Added after a decoding check (before any extraction was scored) showed that no page above
    # reached the decoder's fallback: short pages whose GB bytes carry a few foreign bytes.
    "w06": ("gb2312", "gb2312+utf-8", "", "short GB2312 page; 镕 (not in GB2312) written as UTF-8 bytes"),
    "w07": ("gb2312", "cp936", "", "short page; the euro sign as Windows cp936's single byte 0x80"),
}

# Layout used for each page kind; the "wrongdecl" pages borrow other kinds' layouts.
WRONGDECL_LAYOUT = {
    "w01": "portal", "w02": "gov", "w03": "portal", "w04": "nav", "w05": "comments", "w06": "brief", "w07": "brief",
}

_S2T = opencc.OpenCC("s2twp")


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


class Ctx:
    """What a layout needs besides the article: randomness, the charset to declare, the script."""

    def __init__(self, rng: random.Random, meta_label: str | None, traditional: bool) -> None:
        self.rng = rng
        self.meta_label = meta_label
        self.traditional = traditional

    def t(self, text: str) -> str:
        """Furniture text in the page's script."""
        return _S2T.convert(text) if self.traditional else text

    def pick(self, items: list[str], n: int) -> list[str]:
        return self.rng.sample(items, min(n, len(items)))

    def cls(self, *names: str) -> str:
        return self.rng.choice(names)

    def head(self, title: str, extra: str = "") -> str:
        if self.meta_label is None:
            meta = ""
        elif self.rng.random() < 0.5:
            meta = f'<meta http-equiv="Content-Type" content="text/html; charset={self.meta_label}" />'
        else:
            meta = f'<meta charset="{self.meta_label}">'
        scripts = self.rng.choice(
            [
                "<script>var _hmt = _hmt || [];(function(){var hm=document.createElement('script');})();</script>",
                '<script type="text/javascript" src="/js/jquery.min.js"></script>',
                "<script>window.pageConfig={channel:'news',id:'" + str(self.rng.randint(10**5, 10**6)) + "'};</script>",
            ]
        )
        return (
            f"<!DOCTYPE html>\n<html>\n<head>\n{meta}\n<title>{esc(title)}</title>\n"
            f'<meta name="keywords" content="{attr(self.t("新闻,资讯,本地"))}">\n'
            f'<link rel="stylesheet" href="/css/style{self.rng.randint(1, 9)}.css">\n{scripts}\n{extra}</head>\n'
        )


def paragraphs_html(a: Article, ctx: Ctx, style: str | None = None) -> str:
    """The article's paragraphs in one of the markups Chinese CMSs produce."""
    rng = ctx.rng
    style = style or rng.choice(["p", "p-indent", "p-fullwidth", "div", "span"])
    out = []
    for para in a.paragraphs:
        if para.startswith("## "):
            head = esc(para[3:])
            out.append(
                rng.choice(
                    [f"<h2>{head}</h2>", f"<h3>{head}</h3>", f"<p><strong>{head}</strong></p>", f"<p><b>{head}</b></p>"]
                )
            )
            continue
        text = esc(para)
        if style == "p":
            out.append(f"<p>{text}</p>")
        elif style == "p-indent":
            out.append(f'<p style="text-indent: 2em;">{text}</p>')
        elif style == "p-fullwidth":
            out.append(f"<p>\u3000\u3000{text}</p>")
        elif style == "div":
            out.append(f"<div>\u3000\u3000{text}</div>")
        elif style == "span":
            out.append(f'<p><span style="font-size: 16px; font-family: 宋体;">{text}</span></p>')
        elif style == "br":
            out.append(f"&nbsp;&nbsp;&nbsp;&nbsp;{text}<br />\n<br />")
        elif style == "font":
            out.append(f'<font size="3">\u3000\u3000{text}</font><br><br>')
        elif style == "section":
            out.append(
                f'<section style="margin-bottom: 16px;"><p style="line-height: 1.75em;">'
                f'<span style="font-size: 15px; color: rgb(62, 62, 62);">{text}</span></p></section>'
            )
    if rng.random() < 0.3 and style not in ("br", "font"):
        # A picture inside the text, without a caption (captions are left out: readers disagree on them).
        position = rng.randint(1, max(1, len(out) - 1))
        out.insert(position, f'<p style="text-align:center"><img src="/uploads/{rng.randint(1000, 9999)}.jpg" border="0"></p>')
    return "\n".join(out)


def link_list(ctx: Ctx, items: list[str], *, dates: bool = False, tag: str = "ul") -> str:
    rows = []
    for item in items:
        href = f"/news/{ctx.rng.randint(2020, 2025)}{ctx.rng.randint(1, 12):02d}/{ctx.rng.randint(10000, 99999)}.html"
        date = f"<span>{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d}</span>" if dates else ""
        rows.append(f'<li><a href="{href}" target="_blank">{esc(ctx.t(item))}</a>{date}</li>')
    return f"<{tag}>\n" + "\n".join(rows) + f"\n</{tag}>"


def menu(ctx: Ctx, items: list[str], cls: str) -> str:
    links = "".join(f'<li><a href="/{i}/">{esc(ctx.t(x))}</a></li>' for i, x in enumerate(items))
    return f'<div class="{cls}"><ul>{links}</ul></div>'


def footer(ctx: Ctx, site: str) -> str:
    links = " | ".join(f'<a href="/about/{i}.html">{ctx.t(x)}</a>' for i, x in enumerate(pools.FOOTER_LINKS))
    return (
        f'<div class="{ctx.cls("footer", "foot", "bottom", "copyright")}"><p>{links}</p>'
        f"<p>Copyright &copy; 2008-2025 {esc(ctx.t(site))} {ctx.t('版权所有')} "
        f"{ctx.t('云ICP备')}{ctx.rng.randint(10**7, 10**8)}{ctx.t('号')}</p>"
        f"<p>{ctx.t('违法和不良信息举报电话')}：0871-{ctx.rng.randint(1000000, 9999999)}</p></div>"
    )


def byline(a: Article, ctx: Ctx) -> str:
    parts = [f"<span class=\"{ctx.cls('time', 'date', 'pubtime')}\">{esc(a.date)}</span>"]
    parts.append(f"<span>{ctx.t('来源')}：{esc(a.source)}</span>")
    if a.author:
        parts.append(f"<span>{ctx.t('作者')}：{esc(a.author)}</span>" if ctx.rng.random() < 0.5 else f"<span>{esc(a.author)}</span>")
    return f'<div class="{ctx.cls("info", "article-info", "source", "meta")}">' + " ".join(parts) + "</div>"


def comment_items(ctx: Ctx, n: int, *, guestbook: bool = False) -> str:
    out = []
    for i, text in enumerate(ctx.pick(pools.COMMENTS, n)):
        user = ctx.t(ctx.rng.choice(["网友", "青川网友", "手机用户", "匿名用户", "游客"])) + str(ctx.rng.randint(1000, 99999))
        when = f"2025-{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d} {ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(0, 59):02d}"
        if guestbook:
            reply = ""
            if ctx.rng.random() < 0.4:
                reply = f'<div class="reply">{ctx.t("管理员回复")}：{esc(ctx.t(ctx.rng.choice(pools.GUESTBOOK_REPLIES)))}</div>'
            out.append(
                f'<table class="gb" width="100%"><tr><td>{ctx.t("留言人")}：{user}</td><td>{ctx.t("留言时间")}：{when}</td></tr>'
                f'<tr><td colspan="2" class="gbcontent">{esc(ctx.t(text))}{reply}</td></tr></table>'
            )
        else:
            out.append(
                f'<div class="{ctx.cls("comment-item", "cmt", "reply-item")}" id="c{i}"><div class="user">'
                f'<a href="/u/{ctx.rng.randint(1, 10**6)}">{user}</a> <span class="time">{when}</span></div>'
                f'<p class="{ctx.cls("content", "txt", "comment-text")}">{esc(ctx.t(text))}</p>'
                f'<div class="op"><a href="#">{ctx.t("回复")}</a> <a href="#">{ctx.t("顶")}({ctx.rng.randint(0, 300)})</a></div></div>'
            )
    return "\n".join(out)


# --- layouts -----------------------------------------------------------------------------------------


def portal(a: Article, ctx: Ctx, *, comments: int | None = None) -> str:
    rng = ctx.rng
    site = a.source if rng.random() < 0.5 else a.source + ctx.t("网")
    channel = ctx.t(rng.choice(["新闻中心", "本地新闻", "社会", "财经", "民生"]))
    title = f"{a.title}_{channel}_{site}" if rng.random() < 0.6 else f"{a.title} - {site}"
    desc = f'<meta name="description" content="{attr(a.paragraphs[0][:80])}">\n'
    body_cls = ctx.cls("article-content", "content", "artibody", "TRS_Editor", "main-text", "text")
    related = ctx.pick(pools.HEADLINES, rng.randint(5, 10))
    hot = ctx.pick(pools.HEADLINES, rng.randint(8, 12))
    n_comments = comments if comments is not None else rng.choice([0, 0, 3, 5])
    comment_block = ""
    if n_comments:
        comment_block = (
            f'<div class="comments"><h3>{ctx.t("网友评论")}</h3>'
            f"<p>{ctx.t('已有')}{n_comments}{ctx.t('条评论')}</p>{comment_items(ctx, n_comments)}</div>"
        )
    editor = f'<div class="editor">{ctx.t("责任编辑")}：{ctx.t(rng.choice(["王芳", "李强", "张敏", "刘洋"]))}</div>'
    share = f'<div class="share">{ctx.t("分享到")}：<a>{ctx.t("微信")}</a> <a>{ctx.t("微博")}</a> <a>QQ{ctx.t("空间")}</a></div>'
    article = (
        f"<h1>{esc(a.title)}</h1>\n{byline(a, ctx)}\n"
        f'<div class="{body_cls}" id="{ctx.cls("artibody", "content", "zoom", "article")}">\n{paragraphs_html(a, ctx)}\n</div>\n'
        f"{editor}\n{share}\n"
    )
    return (
        ctx.head(title, desc)
        + f'<body>\n<div class="topbar"><a href="/login">{ctx.t("登录")}</a> <a href="/reg">{ctx.t("注册")}</a> '
        + f'<a href="/m/">{ctx.t("手机版")}</a> <a href="/app">{ctx.t("客户端")}</a></div>\n'
        + menu(ctx, ctx.pick(pools.CHANNELS, rng.randint(10, 18)), ctx.cls("nav", "menu", "navbar"))
        + f'\n<div class="{ctx.cls("crumb", "position", "breadcrumb")}"><a href="/">{ctx.t("首页")}</a> &gt; '
        + f'<a href="/news/">{channel}</a> &gt; {ctx.t("正文")}</div>\n'
        + f'<div class="{ctx.cls("main", "wrap", "container")}"><div class="{ctx.cls("left", "main-left", "col-8")}">\n'
        + article
        + f'<div class="{ctx.cls("related", "xgxw", "relnews")}"><h3>{ctx.t("相关新闻")}</h3>{link_list(ctx, related, dates=True)}</div>\n'
        + comment_block
        + f'</div>\n<div class="{ctx.cls("right", "sidebar", "col-4")}"><div class="hot"><h3>{ctx.t("热点排行")}</h3>'
        + link_list(ctx, hot, tag="ol")
        + '</div><div class="ad"><a href="/ad/1"><img src="/ad/banner.gif"></a></div></div></div>\n'
        + footer(ctx, site)
        + "\n</body>\n</html>\n"
    )


def gov(a: Article, ctx: Ctx) -> str:
    rng = ctx.rng
    site = rng.choice(["临湾县人民政府", "青川市人民政府门户网站", "南屿区人民政府", "云岭省人民政府"])
    style = rng.choice(["p", "p-indent", "br", "p-fullwidth"])
    menu_cells = "".join(f'<td class="menu"><a href="/col/{i}/">{x}</a></td>' for i, x in enumerate(ctx.pick(pools.GOV_MENU, 10)))
    side = "".join(f'<tr><td class="sidelink">&middot; <a href="/side/{i}/">{x}</a></td></tr>' for i, x in enumerate(ctx.pick(pools.GOV_SIDE, 10)))
    related = "".join(
        f'<tr><td><a href="/art/{rng.randint(10**5, 10**6)}.html">{esc(h)}</a></td><td>2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}</td></tr>'
        for h in ctx.pick(pools.HEADLINES, rng.randint(4, 8))
    )
    meta_row = f"{ctx.t('发布时间')}：{a.date}&nbsp;&nbsp;{ctx.t('来源')}：{esc(a.source)}&nbsp;&nbsp;"
    if a.author:
        meta_row += f"{ctx.t('作者')}：{esc(a.author)}&nbsp;&nbsp;"
    meta_row += f"{ctx.t('浏览次数')}：<script>document.write('{rng.randint(100, 5000)}')</script>&nbsp;&nbsp;【{ctx.t('字体')}：<a href=\"#\">大</a> <a href=\"#\">中</a> <a href=\"#\">小</a>】"
    index_row = ""
    if rng.random() < 0.5:
        index_row = (
            f'<tr><td><table class="xxgk" width="100%" border="1"><tr><td>{ctx.t("索引号")}：</td><td>11530{rng.randint(10**8, 10**9)}/2025-{rng.randint(10, 99)}</td>'
            f'<td>{ctx.t("发布机构")}：</td><td>{esc(a.source)}</td></tr><tr><td>{ctx.t("主题分类")}：</td><td>{ctx.t("综合政务")}</td>'
            f'<td>{ctx.t("文号")}：</td><td>{ctx.t("无")}</td></tr></table></td></tr>'
        )
    content_id = ctx.cls("zoom", "content", "UCAP-CONTENT", "fontzoom")
    return (
        ctx.head(f"{a.title}-{site}")
        + '<body leftmargin="0" topmargin="0">\n'
        + f'<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td><img src="/images/banner.jpg" width="1000" height="160" alt="{site}"></td></tr></table>\n'
        + f'<table width="1000" align="center" class="navtable"><tr>{menu_cells}</tr></table>\n'
        + '<table width="1000" align="center" border="0" cellspacing="0" cellpadding="0"><tr>\n'
        + f'<td width="240" valign="top"><table width="100%"><tr><td class="sidetitle">{ctx.t("政务公开")}</td></tr>{side}</table></td>\n'
        + '<td valign="top" width="760">\n'
        + f'<table width="100%"><tr><td class="position">{ctx.t("当前位置")}：<a href="/">{ctx.t("首页")}</a> &gt; <a href="/zwgk/">{ctx.t("政务公开")}</a> &gt; <a href="/tzgg/">{ctx.t("通知公告")}</a></td></tr></table>\n'
        + '<table width="96%" align="center" border="0">\n'
        + index_row
        + f'<tr><td align="center" class="{ctx.cls("title", "biaoti", "arttitle")}">{esc(a.title)}</td></tr>\n'
        + f'<tr><td align="center" class="info">{meta_row}</td></tr>\n'
        + f'<tr><td class="{ctx.cls("content", "bt_content", "TRS_Editor")}" id="{content_id}">\n{paragraphs_html(a, ctx, style)}\n</td></tr>\n'
        + f'<tr><td align="right">【<a href="javascript:window.print()">{ctx.t("打印本页")}</a>】【<a href="javascript:window.close()">{ctx.t("关闭窗口")}</a>】</td></tr>\n'
        + "</table>\n"
        + f'<table width="96%" align="center"><tr><td colspan="2" class="xgwz">{ctx.t("相关文章")}</td></tr>{related}</table>\n'
        + "</td></tr></table>\n"
        + f'<table width="1000" align="center" class="footer"><tr><td align="center">{ctx.t("主办")}：{site}{ctx.t("办公室")}&nbsp;&nbsp;{ctx.t("承办")}：{ctx.t("县大数据中心")}<br>'
        + f'{ctx.t("网站标识码")}：53{rng.randint(10**7, 10**8)}&nbsp;&nbsp;{ctx.t("云ICP备")}{rng.randint(10**6, 10**7)}{ctx.t("号")}&nbsp;&nbsp;{ctx.t("公网安备")} {rng.randint(10**13, 10**14)}{ctx.t("号")}</td></tr></table>\n'
        + "</body>\n</html>\n"
    )


def blog(a: Article, ctx: Ctx, others: list[Article]) -> str:
    """A blog page showing several posts; the page (its <title>) is about ``a``."""
    rng = ctx.rng
    blog_name = a.source
    posts = [a, *ctx.rng.sample(others, rng.randint(2, 3))]
    rng.shuffle(posts)
    excerpt_others = rng.random() < 0.4
    style = rng.choice(["p", "div", "p-fullwidth", "br"])
    title_tag = rng.choice(["h2", "h3"])
    rendered = []
    for post in posts:
        shown = post
        more = ""
        if post is not a and excerpt_others:
            shown = Article(post.id, post.kind, post.title, post.source, post.date, post.author, post.paragraphs[:2])
            more = f'<p class="more"><a href="/post/{post.id}.html">{ctx.t("阅读全文")}&gt;&gt;</a></p>'
        footer_bits = (
            f'<div class="{ctx.cls("post-footer", "articalTag", "entry-meta")}">{ctx.t("分类")}：{ctx.t(rng.choice(pools.TOPIC_TAGS))} | '
            f'{ctx.t("阅读")}({rng.randint(20, 3000)}) | {ctx.t("评论")}({rng.randint(0, 40)}) | <a href="#">{ctx.t("收藏")}</a></div>'
        )
        rendered.append(
            f'<div class="{ctx.cls("post", "articleCell", "entry", "blog-item")}">'
            f'<{title_tag} class="{ctx.cls("post-title", "atc_title", "entry-title")}"><a href="/post/{post.id}.html">{esc(post.title)}</a></{title_tag}>'
            f'<div class="{ctx.cls("post-date", "atc_tm", "time")}">{esc(post.date)}</div>'
            f'<div class="{ctx.cls("post-body", "articalContent", "entry-content")}">\n{paragraphs_html(shown, ctx, style)}\n{more}</div>'
            f"{footer_bits}</div>"
        )
    archive = "".join(f'<li><a href="/archive/2025{m:02d}.html">2025{ctx.t("年")}{m}{ctx.t("月")}</a>({rng.randint(1, 9)})</li>' for m in range(1, rng.randint(5, 12)))
    recent = link_list(ctx, [p.title for p in others][:6])
    sidebar_comments = "".join(f"<li>{esc(c)}</li>" for c in ctx.pick(pools.BLOG_SIDEBAR_COMMENTS, 4))
    page_title = rng.choice([f"{a.title}_{blog_name}_博客", f"{a.title} | {blog_name}", f"{blog_name}：{a.title}"])
    return (
        ctx.head(page_title)
        + f'<body>\n<div id="header"><h1 class="blog-title"><a href="/">{esc(blog_name)}</a></h1>'
        + f'<p class="description">{ctx.t("记录生活，分享点滴")}</p>'
        + menu(ctx, ["首页", "博文目录", "图片", "关于我"], "blognav")
        + "</div>\n"
        + f'<div id="{ctx.cls("main", "content", "column_2")}">\n'
        + "\n".join(rendered)
        + f'\n<div class="pager"><a href="?page=1">{ctx.t("上一页")}</a> <a href="?page=3">{ctx.t("下一页")}</a></div>\n</div>\n'
        + f'<div id="{ctx.cls("sidebar", "column_1", "aside")}">'
        + f'<div class="profile"><img src="/avatar.jpg"><p>{esc(a.author)}</p><p>{ctx.t("访问")}：{rng.randint(10**4, 10**6)}</p></div>'
        + f'<div class="widget"><h3>{ctx.t("最新文章")}</h3>{recent}</div>'
        + f'<div class="widget"><h3>{ctx.t("文章存档")}</h3><ul>{archive}</ul></div>'
        + f'<div class="widget"><h3>{ctx.t("最新评论")}</h3><ul>{sidebar_comments}</ul></div></div>\n'
        + f'<div id="footer">Powered by {rng.choice(["WordPress", "Typecho", "Z-Blog"])} &copy; {esc(blog_name)}</div>\n'
        + "</body>\n</html>\n"
    )


def forum(a: Article, ctx: Ctx) -> str:
    """A forum thread: the first post is the article, the replies are not."""
    rng = ctx.rng
    site = a.source
    n_replies = rng.randint(7, 14)
    replies = ctx.pick(pools.FORUM_REPLIES, n_replies)
    floor_names = ["沙发", "板凳", "地板"]
    discuz = rng.random() < 0.6

    def user_cell(name: str) -> str:
        return (
            f'<td class="pls" width="160"><div class="pi"><a href="/space/{rng.randint(1, 10**6)}" class="xw1">{esc(name)}</a></div>'
            f'<dl><dt>{ctx.t("帖子")}</dt><dd>{rng.randint(1, 5000)}</dd><dt>{ctx.t("积分")}</dt><dd>{rng.randint(1, 20000)}</dd></dl></td>'
        )

    def post(name: str, floor: str, when: str, body: str, pid: int) -> str:
        if discuz:
            return (
                f'<div id="post_{pid}"><table id="pid{pid}" class="plhin" cellspacing="0" cellpadding="0"><tr>{user_cell(name)}'
                f'<td class="plc"><div class="pi"><strong><a href="#pid{pid}">{floor}</a></strong><em>{ctx.t("发表于")} {when}</em></div>'
                f'<div class="pct"><div class="pcb"><div class="t_fsz"><table cellspacing="0" cellpadding="0"><tr>'
                f'<td class="t_f" id="postmessage_{pid}">\n{body}\n</td></tr></table></div></div></div>'
                f'<div class="po"><a href="#">{ctx.t("回复")}</a> <a href="#">{ctx.t("支持")}</a> <a href="#">{ctx.t("举报")}</a></div></td></tr></table></div>'
            )
        return (
            f'<div class="{ctx.cls("floor", "read_t", "post-row")}" id="read_{pid}"><div class="author">{esc(name)}</div>'
            f'<div class="floor-no">{floor} {when}</div><div class="{ctx.cls("tpc_content", "f14", "message")}">{body}</div></div>'
        )

    first_body = paragraphs_html(a, ctx, rng.choice(["br", "br", "p", "font"]))
    posts = [post(a.author, ctx.t("楼主"), a.date, first_body, 1)]
    for i, reply in enumerate(replies, start=2):
        floor = ctx.t(floor_names[i - 2]) if i - 2 < len(floor_names) else f"{i}#"
        quote = ""
        if rng.random() < 0.2:
            quote = f'<div class="quote"><blockquote>{ctx.t("引用")} {esc(a.author)}：{esc(a.paragraphs[0][:30])}...</blockquote></div>'
        name = ctx.t(rng.choice(["老王", "风中的鱼", "青川老张", "一路向北", "小米粥", "钓鱼翁", "晴天", "骑车的猫"])) + str(rng.randint(1, 999))
        posts.append(post(name, floor, f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", quote + esc(ctx.t(reply)), i))
    section = ctx.t(rng.choice(["家装交流", "钓鱼技巧", "车友会", "园艺花卉", "教育交流"]))
    return (
        ctx.head(f"{a.title} - {section} - {site}" + (" - Powered by Discuz!" if discuz else ""))
        + f'<body id="nv_forum">\n<div id="hd"><div class="hdc"><h2><a href="/">{esc(site)}</a></h2></div>'
        + menu(ctx, ["首页", "论坛", "群组", "排行榜", "帮助", "搜索"], "nv")
        + "</div>\n"
        + f'<div id="pt"><a href="/">{esc(site)}</a> &rsaquo; <a href="/forum/">{ctx.t("论坛")}</a> &rsaquo; <a href="/f/1">{section}</a> &rsaquo; {esc(a.title)}</div>\n'
        + f'<div id="postlist"><div id="thread_head"><h1 class="ts"><span id="thread_subject">{esc(a.title)}</span></h1>'
        + f'<span class="xg1">{ctx.t("查看")}: {rng.randint(100, 9999)} | {ctx.t("回复")}: {n_replies}</span></div>\n'
        + "\n".join(posts)
        + f'\n</div>\n<div class="pg"><a href="?page=1">1</a> <a href="?page=2">2</a> <a href="?page=2">{ctx.t("下一页")}</a></div>\n'
        + f'<div id="f_pst"><textarea name="message"></textarea><button>{ctx.t("发表回复")}</button></div>\n'
        + f'<div id="ft">Powered by Discuz! &copy; 2001-2025 {esc(site)} {ctx.t("版权所有")}</div>\n</body>\n</html>\n'
    )


def comments_page(a: Article, ctx: Ctx) -> str:
    """A news page whose comment or guest-book block is about as long as the article, or longer."""
    rng = ctx.rng
    article_chars = sum(len(p) for p in a.paragraphs)
    n = max(12, min(len(pools.COMMENTS), int(article_chars * rng.uniform(0.9, 1.8) / 28)))
    guestbook = rng.random() < 0.4
    label = ctx.t("留言板") if guestbook else ctx.t(rng.choice(["网友评论", "最新评论", "热门评论"]))
    block = (
        f'<div class="{ctx.cls("comment-list", "guestbook", "pl-box", "comments")}" id="{ctx.cls("comments", "gbook", "pl")}">'
        f"<h3>{label}（{n}）</h3>\n{comment_items(ctx, n, guestbook=guestbook)}\n"
        f'<form><textarea name="c"></textarea><button>{ctx.t("提交")}</button></form></div>'
    )
    if rng.random() < 0.5:
        return portal(a, ctx, comments=0).replace('<div class="ad">', block + '<div class="ad">', 1)
    body_cls = ctx.cls("news-text", "content", "detail")
    site = a.source
    return (
        ctx.head(f"{a.title}_{site}")
        + "<body>\n"
        + menu(ctx, ctx.pick(pools.CHANNELS, 12), "nav")
        + f'\n<div class="{ctx.cls("article", "detail-box", "news")}"><h1>{esc(a.title)}</h1>\n{byline(a, ctx)}\n'
        + f'<div class="{body_cls}">\n{paragraphs_html(a, ctx)}\n</div>\n'
        + f'<p class="editor">（{ctx.t("编辑")}：{ctx.t(rng.choice(["王芳", "李强", "张敏"]))}）</p></div>\n'
        + block
        + "\n"
        + footer(ctx, site)
        + "\n</body>\n</html>\n"
    )


def nav_heavy(a: Article, ctx: Ctx) -> str:
    """A short or mid-length article drowned in menus and lists of other stories."""
    rng = ctx.rng
    site = a.source
    mega = "".join(
        f'<dl><dt><a href="/c{i}/">{ctx.t(ch)}</a></dt>'
        + "".join(f'<dd><a href="/c{i}/{j}/">{ctx.t(sub)}</a></dd>' for j, sub in enumerate(ctx.pick(pools.CHANNELS, 5)))
        + "</dl>"
        for i, ch in enumerate(ctx.pick(pools.CHANNELS, 8))
    )
    lists = []
    for label in ctx.pick(["相关阅读", "热点推荐", "24小时排行", "编辑推荐", "专题报道", "猜你喜欢", "本地要闻"], rng.randint(3, 5)):
        lists.append(
            f'<div class="{ctx.cls("box", "mod", "list-box", "panel")}"><div class="hd"><h3>{ctx.t(label)}</h3><a href="/more/">{ctx.t("更多")}&gt;&gt;</a></div>'
            + link_list(ctx, ctx.pick(pools.HEADLINES, rng.randint(6, 10)), dates=rng.random() < 0.5)
            + "</div>"
        )
    pics = "".join(
        f'<li><a href="/pic/{rng.randint(1, 999)}"><img src="/p/{rng.randint(1, 999)}.jpg"><span>{ctx.t(c)}</span></a></li>'
        for c in ctx.pick(pools.IMAGE_CAPTIONS, 4)
    )
    prev_next = (
        f'<div class="{ctx.cls("prevnext", "page-turn", "sxp")}"><p>{ctx.t("上一篇")}：<a href="/p/1.html">{esc(ctx.t(rng.choice(pools.HEADLINES)))}</a></p>'
        f'<p>{ctx.t("下一篇")}：<a href="/p/2.html">{esc(ctx.t(rng.choice(pools.HEADLINES)))}</a></p></div>'
    )
    tags = "".join(f'<a href="/tag/{t}">{ctx.t(t)}</a> ' for t in ctx.pick(pools.TOPIC_TAGS, 3))
    body = (
        f'<div class="{ctx.cls("article", "main-article", "con")}"><h1 class="{ctx.cls("title", "tit", "headline")}">{esc(a.title)}</h1>\n{byline(a, ctx)}\n'
        f'<div class="{ctx.cls("article-body", "TRS_Editor", "content", "txt")}">\n{paragraphs_html(a, ctx)}\n</div>\n'
        f'<div class="tags">{ctx.t("标签")}：{tags}</div>{prev_next}</div>'
    )
    left, right = lists[: len(lists) // 2], lists[len(lists) // 2 :]
    return (
        ctx.head(f"{a.title}-{site}")
        + f'<body>\n<div class="header"><div class="logo"><a href="/"><img src="/logo.png" alt="{attr(site)}"></a></div>'
        + f'<div class="search"><input type="text" placeholder="{ctx.t("请输入关键词")}"><button>{ctx.t("搜索")}</button></div></div>\n'
        + f'<div class="{ctx.cls("mega-menu", "allnav", "sitenav")}">{mega}</div>\n'
        + f'<div class="wrap"><div class="crumb"><a href="/">{ctx.t("首页")}</a> &gt; <a href="/n/">{ctx.t("新闻")}</a></div>\n'
        + f'<div class="{ctx.cls("left", "l", "col-main")}">{body}\n'
        + "\n".join(left)
        + f'</div>\n<div class="{ctx.cls("right", "r", "col-side")}">'
        + "\n".join(right)
        + f'<div class="pics"><h3>{ctx.t("图片新闻")}</h3><ul>{pics}</ul></div></div></div>\n'
        + f'<div class="links"><h3>{ctx.t("友情链接")}</h3>'
        + " ".join(f'<a href="http://link{i}.example.cn/">{ctx.t(h[:8])}</a>' for i, h in enumerate(ctx.pick(pools.HEADLINES, 10)))
        + "</div>\n"
        + footer(ctx, site)
        + "\n</body>\n</html>\n"
    )


def epaper(a: Article, ctx: Ctx) -> str:
    """A newspaper's digital edition: page navigation, the page's other stories, one article."""
    rng = ctx.rng
    paper, _, page = a.source.partition(" ")
    pages_nav = "".join(
        f'<li><a href="node_{i}.htm">{i:02d}{ctx.t("版")}：{ctx.t(name)}</a></li>'
        for i, name in enumerate(["要闻", "要闻", "经济", "综合", "人物", "城事", "文化", "体育"], start=1)
    )
    same_page = link_list(ctx, [a.title, *ctx.pick(pools.HEADLINES, rng.randint(4, 7))])
    content = f"<founder-content>\n{paragraphs_html(a, ctx, 'p-fullwidth')}\n</founder-content>" if rng.random() < 0.5 else paragraphs_html(a, ctx, "p")
    return (
        ctx.head(f"{paper}-{a.date}-{a.title}" if rng.random() < 0.5 else f"{a.title}--{paper}")
        + f'<body>\n<div class="top"><img src="/images/masthead.gif" alt="{attr(paper)}"><span>{a.date}</span>'
        + f' <a href="/html/{a.date}/node_1.htm">{ctx.t("往期回顾")}</a> <a href="/pdf/{a.date}.pdf">PDF{ctx.t("下载")}</a></div>\n'
        + '<table width="100%"><tr><td width="300" valign="top">'
        + f'<div class="paper-page"><img src="/images/page{rng.randint(1, 8)}.jpg" usemap="#pagemap"></div>'
        + f'<div class="pagelist"><h4>{ctx.t("版面导航")}</h4><ul>{pages_nav}</ul></div></td>\n<td valign="top">'
        + f'<div class="{ctx.cls("article", "detail", "text_c")}">'
        + f"<h1>{esc(a.title)}</h1>"
        + (f'<div class="author">{esc(a.author)}</div>' if a.author else "")
        + f'<div id="ozoom">\n{content}\n</div></div>'
        + f'<div class="prevnext"><a href="content_1.htm">{ctx.t("上一篇")}</a> <a href="content_3.htm">{ctx.t("下一篇")}</a></div>'
        + f"</td>\n<td width=\"260\" valign=\"top\"><div class=\"thispage\"><h4>{ctx.t('本版新闻')}（{esc(page)}）</h4>{same_page}</div></td></tr></table>\n"
        + f'<div class="footer">{ctx.t("本网站所刊登的各种新闻")}、{ctx.t("信息和各种专题专栏资料")}，{ctx.t("均为")}{esc(paper)}{ctx.t("版权所有")}，{ctx.t("未经协议授权")}，{ctx.t("禁止下载使用")}。</div>\n'
        + "</body>\n</html>\n"
    )


def mobile(a: Article, ctx: Ctx) -> str:
    """A mobile page or a WeChat-style public account article."""
    rng = ctx.rng
    wechat = rng.random() < 0.6
    picks = link_list(ctx, ctx.pick(pools.HEADLINES, 5))
    if wechat:
        messages = "".join(
            f'<li class="discuss_item"><div class="nickname">{ctx.t(rng.choice(["小雨", "青川人", "Momo", "大熊", "木木"]))}</div>'
            f'<div class="discuss_message">{esc(c)}</div><div class="praise">{rng.randint(1, 500)}</div></li>'
            for c in ctx.pick(pools.COMMENTS, rng.randint(4, 8))
        )
        return (
            ctx.head(a.title, '<meta name="viewport" content="width=device-width,initial-scale=1.0">\n'
                     f'<meta property="og:title" content="{attr(a.title)}">\n')
            + '<body id="activity-detail" class="zh_CN">\n<div class="rich_media"><div class="rich_media_inner">'
            + f'<h1 class="rich_media_title" id="activity-name">{esc(a.title)}</h1>'
            + f'<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta rich_media_meta_text">{esc(a.author)}</span> '
            + f'<span class="rich_media_meta rich_media_meta_nickname"><a href="javascript:void(0);" id="js_name">{esc(a.source)}</a></span> '
            + f'<em id="publish_time" class="rich_media_meta rich_media_meta_text">{esc(a.date[:10])}</em></div>'
            + f'<div class="rich_media_content" id="js_content" style="visibility: visible;">\n{paragraphs_html(a, ctx, "section")}\n'
            + f'<p style="text-align:center"><span style="color:#888">{ctx.t("- END -")}</span></p>'
            + f'<p><span style="font-size:12px;color:#888">{ctx.t("欢迎关注")}{esc(a.source)}，{ctx.t("点击右下角“在看”支持我们")}</span></p></div>'
            + f'<div class="rich_media_tool"><a id="js_view_source" href="#">{ctx.t("阅读原文")}</a> <span>{ctx.t("阅读")} {rng.randint(1000, 99999)}</span></div>'
            + f'<div class="related"><h3>{ctx.t("喜欢此内容的人还喜欢")}</h3>{picks}</div>'
            + f'<div class="discuss_container"><div class="discuss_title">{ctx.t("精选留言")}</div><ul class="discuss_list">{messages}</ul></div>'
            + "</div></div>\n</body>\n</html>\n"
        )
    return (
        ctx.head(f"{a.title}_{a.source}", '<meta name="viewport" content="width=device-width,initial-scale=1">\n')
        + f'<body>\n<header class="m-header"><a class="logo" href="/">{esc(a.source)}</a><a class="open-app" href="/app">{ctx.t("打开APP")}</a></header>\n'
        + f'<main><article class="{ctx.cls("m-article", "article", "detail")}"><h1>{esc(a.title)}</h1>'
        + f'<div class="m-meta"><span>{esc(a.author)}</span><time datetime="{a.date[:10]}">{esc(a.date)}</time></div>'
        + f'<div class="m-content">\n{paragraphs_html(a, ctx, rng.choice(["p", "span"]))}\n</div>'
        + f'<div class="expand"><a href="/app">{ctx.t("打开APP阅读更多精彩内容")}</a></div></article>'
        + f'<section class="recommend"><h2>{ctx.t("为你推荐")}</h2>{picks}</section></main>\n'
        + f'<footer class="m-footer">&copy; {esc(a.source)} <a href="/pc">{ctx.t("电脑版")}</a></footer>\n</body>\n</html>\n'
    )


def oldcms(a: Article, ctx: Ctx) -> str:
    """An old (2000s) CMS page: tables, font tags, paragraphs separated by <br>."""
    rng = ctx.rng
    site = a.source
    links = "".join(f'<a href="/Article/{rng.randint(100, 9999)}.html"><font color="#000000">{esc(h)}</font></a><br>' for h in ctx.pick(pools.HEADLINES, 8))
    return (
        ctx.head(f"{site}--{a.title}").replace("<!DOCTYPE html>\n", '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n')
        + '<body bgcolor="#FFFFFF" leftmargin="0" topmargin="0">\n'
        + f'<table width="778" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td height="80" background="/images/top.gif"><font size="5" color="#FFFFFF"><b>{esc(site)}</b></font></td></tr>'
        + "<tr><td>" + " | ".join(f'<a href="/Class/{i}.asp">{x}</a>' for i, x in enumerate(pools.GOV_MENU[:9])) + "</td></tr></table>\n"
        + '<table width="778" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td width="180" valign="top" bgcolor="#F0F0F0">'
        + f'<font color="#CC0000"><b>{ctx.t("最新文章")}</b></font><br>{links}</td>\n<td width="598" valign="top">\n'
        + '<table width="95%" border="0" align="center" cellpadding="4" cellspacing="0">'
        + f'<tr><td align="center"><font size="4" color="#FF0000"><b>{esc(a.title)}</b></font></td></tr>'
        + f'<tr><td align="center"><font color="#999999">{ctx.t("作者")}：{esc(a.author or ctx.t("佚名"))}&nbsp;&nbsp;{ctx.t("文章来源")}：{esc(site)}&nbsp;&nbsp;'
        + f'{ctx.t("点击数")}：{rng.randint(50, 3000)}&nbsp;&nbsp;{ctx.t("更新时间")}：{a.date}</font></td></tr>'
        + '<tr><td height="1" bgcolor="#CCCCCC"></td></tr>'
        + f'<tr><td class="{ctx.cls("content", "txt", "ArticleContent")}" style="font-size:14px;line-height:180%">\n{paragraphs_html(a, ctx, rng.choice(["br", "font"]))}\n</td></tr>'
        + f'<tr><td>{ctx.t("上一篇文章")}：<a href="/Article/1.html">{esc(rng.choice(pools.HEADLINES))}</a><br>'
        + f'{ctx.t("下一篇文章")}：<a href="/Article/2.html">{esc(rng.choice(pools.HEADLINES))}</a></td></tr>'
        + f'<tr><td align="right">【<a href="#">{ctx.t("发表评论")}</a>】【<a href="#">{ctx.t("告诉好友")}</a>】【<a href="javascript:window.print()">{ctx.t("打印此文")}</a>】【<a href="javascript:window.close()">{ctx.t("关闭窗口")}</a>】</td></tr>'
        + "</table></td></tr></table>\n"
        + f'<table width="778" align="center"><tr><td align="center">{ctx.t("版权所有")}：{esc(site)} {ctx.t("技术支持")}：{ctx.t("动易网络")}<br>{ctx.t("建议使用")}IE6.0{ctx.t("以上版本浏览")}</td></tr></table>\n'
        + "</body>\n</html>\n"
    )


def traditional(a: Article, ctx: Ctx) -> str:
    """A Taiwan/Hong Kong news page: furniture in traditional script."""
    return nav_heavy(a, ctx) if ctx.rng.random() < 0.5 else portal(a, ctx)


def brief(a: Article, ctx: Ctx) -> str:
    """A short news brief on a small site: little furniture, so a few bad bytes weigh a lot."""
    site = a.source
    return (
        ctx.head(f"{a.title}--{site}")
        + f'<body>\n<div class="top"><b>{esc(site)}</b> <a href="/">{ctx.t("首页")}</a> <a href="/news/">{ctx.t("新闻")}</a></div>\n'
        + f'<div class="news"><h2>{esc(a.title)}</h2><p class="date">{a.date}</p>\n{paragraphs_html(a, ctx, "p")}\n</div>\n'
        + f'<div class="foot">{esc(site)} {ctx.t("版权所有")}</div>\n</body>\n</html>\n'
    )


LAYOUTS: dict[str, Callable[..., str]] = {
    "brief": brief,
    "portal": portal,
    "gov": gov,
    "forum": forum,
    "comments": comments_page,
    "nav": nav_heavy,
    "epaper": epaper,
    "mobile": mobile,
    "big5": traditional,
    "oldcms": oldcms,
}


def encode(text: str, codec: str) -> bytes:
    if codec == "gb2312+utf-8":
        # A GB2312-only CMS that writes what GB2312 lacks as the UTF-8 bytes it was given.
        return b"".join(_gb2312_or_utf8(char) for char in text)
    if codec == "cp936":
        # Windows' code page 936 is GBK plus the euro sign as the single byte 0x80.
        return b"\x80".join(part.encode("gbk", errors="xmlcharrefreplace") for part in text.split("\u20ac"))
    return text.encode(codec, errors="xmlcharrefreplace")


def _gb2312_or_utf8(char: str) -> bytes:
    try:
        return char.encode("gb2312")
    except UnicodeEncodeError:
        return char.encode("utf-8")


def build() -> None:
    articles = load_articles()
    ids = [a.id for a in articles]
    assert len(ids) == len(set(ids)) == len(ENCODINGS), "every article needs one encoding row"
    blogs = [a for a in articles if a.kind == "blog"]
    PAGES.mkdir(parents=True, exist_ok=True)
    rows = ["file\tencoding\tdeclared\tcontent_type\tkind\tlayout\tsplit\tnote"]
    for a in articles:
        meta_label, codec, content_type, note = ENCODINGS[a.id]
        rng = random.Random(f"page:{a.id}")
        ctx = Ctx(rng, meta_label, traditional=a.kind == "big5")
        layout = WRONGDECL_LAYOUT.get(a.id, a.kind)
        page = blog(a, ctx, [b for b in blogs if b is not a]) if layout == "blog" else LAYOUTS[layout](a, ctx)
        data = _mixed_utf8_include(page) if a.id == "w04" else encode(page, codec)
        (PAGES / f"{a.id}.html").write_bytes(data)
        (PAGES / f"{a.id}.txt").write_text(a.expected, encoding="utf-8")
        rows.append(
            f"{a.id}.html\t{codec}\t{meta_label or '-'}\t{content_type or '-'}\t{a.kind}\t{layout}\t{split_of(a.id)}\t{note or '-'}"
        )
    rows.extend(build_batch_b({a.id: a for a in articles}))
    MANIFEST.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(rows) - 1} pages to {PAGES}")


def build_batch_b(articles: dict[str, Article]) -> list[str]:
    """Batch b (``layouts_b``): real CMS templates, written after the extractor changes, measured once."""
    import layouts_b

    rows = []
    for ident, (layout, article_id, codec, label) in layouts_b.PAGES_B.items():
        a = articles[article_id]
        ctx = Ctx(random.Random(f"page:{ident}"), label, traditional=False)
        page = layouts_b.LAYOUTS_B[layout](a, ctx)
        (PAGES / f"{ident}.html").write_bytes(encode(page, codec))
        (PAGES / f"{ident}.txt").write_text(layouts_b.expected_b(layout, a), encoding="utf-8")
        rows.append(f"{ident}.html\t{codec}\t{label}\t-\tcms-b\t{layout}\t{split_of(ident)}\tbatch b, text of {article_id}")
    return rows


def _mixed_utf8_include(page: str) -> bytes:
    """GBK page bytes with its menu and footer spliced in as UTF-8, as a server-side include would."""
    start = min(page.index(f'<div class="{name}"') for name in ("mega-menu", "allnav", "sitenav") if f'<div class="{name}"' in page)
    end = page.index("</div>\n", start) + 7
    foot = page.rindex('<div class="links">')
    return (
        encode(page[:start], "gbk")
        + encode(page[start:end], "utf-8")
        + encode(page[end:foot], "gbk")
        + encode(page[foot:], "utf-8")
    )


if __name__ == "__main__":
    build()
