"""Batch b: page layouts written after the extractor changes, each after a real CMS's article template.

Each function follows the markup of one widely used Chinese CMS or theme as
public templates show it (Z-Blog, a Smarty news CMS, PHPCMS, DedeCMS, Sina's
blog, TRS WCM, a 163-style portal, a QQ-style portal, WordPress, Typecho, a
paginated article, Discuz with a short question). The article text is reused
from ``articles-*.txt`` (a page's difficulty is its structure; the extractor
keeps no memory between pages). Written in one go and measured once; nothing in
the extractor was changed after measuring them.
"""

from __future__ import annotations

import pools
from generate import Article, Ctx, esc, footer, link_list, menu


def paras(a: Article, tag: str = "p", attrs: str = "") -> str:
    out = []
    for p in a.paragraphs:
        if p.startswith("## "):
            out.append(f"<h3>{esc(p[3:])}</h3>")
        else:
            out.append(f"<{tag}{attrs}>{esc(p)}</{tag}>")
    return "\n".join(out)


def zblog(a: Article, ctx: Ctx) -> str:
    """Z-Blog theme: the post body inside <ul class="infos">, tags, then the comment template."""
    cmts = "".join(
        f'<li class="msgarticle"><div class="msgname"><img src="/avatar/{i}.png"><span>{esc(n)}</span>'
        f'<span class="dot">{2025}-{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d} {ctx.rng.randint(0, 23)}:{ctx.rng.randint(10, 59)}</span>'
        f'<a href="#">回复</a></div><div class="msgtxt">{esc(c)}</div></li>'
        for i, (n, c) in enumerate(zip(["小林", "老周", "路人甲", "山水", "阿布", "晴川"], ctx.pick(pools.COMMENTS, 6), strict=False))
    )
    return (
        ctx.head(f"{a.title}-{a.source}")
        + f'<body><header><div class="logo"><a href="/">{esc(a.source)}</a></div>{menu(ctx, ["首页", "随笔", "读书", "旅行", "关于"], "nav")}</header>\n'
        + '<div class="container"><div class="col-md-8"><div class="panel panel-default"><div class="panel-body">'
        + f'<h2 class="c_titile">{esc(a.title)}</h2><p class="box_c"><span class="d_time">发布时间：{a.date[:10]}</span>'
        + f'<span>编辑：{esc(a.author)}</span><span>阅读:{ctx.rng.randint(50, 900)}</span></p>\n'
        + f'<ul class="infos">\n{paras(a)}\n</ul>\n'
        + f'<div class="keybq"><p><span>关键字</span>：<a href="/tags/1">{ctx.t(ctx.rng.choice(pools.TOPIC_TAGS))}</a></p></div>'
        + '</div></div>\n<div class="panel panel-default"><div class="panel-body">'
        + f'<h3>发表评论</h3><textarea></textarea><h3>最新评论</h3><ul class="msg">{cmts}</ul></div></div></div>\n'
        + f'<div class="col-md-4"><div class="panel"><h3>热门文章</h3>{link_list(ctx, ctx.pick(pools.HEADLINES, 8))}</div></div></div>\n'
        + footer(ctx, a.source)
        + "</body></html>\n"
    )


def smarty_details(a: Article, ctx: Ctx) -> str:
    """A Smarty news CMS: #details with .d1 (byline), .d2 (summary), .d3 (text); 本类推荐/本类热点 sidebars."""
    side = "".join(
        f'<div class="right"><h2>{label}</h2><ul>'
        + "".join(f'<li><i></i><a href="/d/{ctx.rng.randint(1, 999)}.html">{esc(h[:14])}...</a><em>{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d}</em></li>' for h in ctx.pick(pools.HEADLINES, 7))
        + "</ul></div>"
        for label in ("本类推荐", "本类热点", "图文资讯")
    )
    return (
        ctx.head(f"{a.title}--{a.source}")
        + f'<body><div id="top">{menu(ctx, ctx.pick(pools.CHANNELS, 9), "nav")}</div>\n'
        + f'<div id="details"><h2>当前位置 &gt; <a href="/">首页</a> &gt; <a href="/list/">{ctx.t("本地新闻")}</a></h2>'
        + f"<h3>{esc(a.title)}</h3>"
        + f'<div class="d1">时间：{a.date} 来源：{esc(a.source)} 作者：{esc(a.author or "佚名")} 点击量：{ctx.rng.randint(10, 9999)}</div>'
        + f'<div class="d2">{esc(a.paragraphs[0][:40])}……</div>\n'
        + f'<div class="d3">\n{paras(a)}\n</div></div>\n'
        + f'<div id="sidebar">{side}</div>\n'
        + footer(ctx, a.source)
        + "</body></html>\n"
    )


def phpcms(a: Article, ctx: Ctx) -> str:
    """PHPCMS v9 show template: .article-title, .article-subhead, .article-content, previous/next as <p>s."""
    return (
        ctx.head(f"{a.title} - {a.source}")
        + f'<body><div class="header"><div class="logo">{esc(a.source)}</div>{menu(ctx, ctx.pick(pools.CHANNELS, 8), "menu")}</div>\n'
        + f'<div class="details"><div class="article"><div class="article-title">{esc(a.title)}</div>'
        + f'<div class="article-subhead"><span>来源：{esc(a.source)}&nbsp;&nbsp;&nbsp;</span><span>{a.date}</span></div>\n'
        + f'<div class="article-content">\n{paras(a)}\n</div>\n'
        + f'<div class="article-footer"><p>上一篇：<a href="/1.html" class="c-333">{esc(ctx.rng.choice(pools.HEADLINES))}</a></p>'
        + f'<p>下一篇：<a href="/2.html" class="c-333">{esc(ctx.rng.choice(pools.HEADLINES))}</a></p></div></div>\n'
        + f'<div class="hot-news"><div class="title">热门资讯</div>{link_list(ctx, ctx.pick(pools.HEADLINES, 10))}</div></div>\n'
        + footer(ctx, a.source)
        + "</body></html>\n"
    )


def dedecms(a: Article, ctx: Ctx) -> str:
    """DedeCMS article_article.htm: .viewbox, .title, .info, .content holding a table, .boxoff, 相关文章 .infolist."""
    pics = "".join(f'<li><a href="/p/{i}"><img src="/p/{i}.jpg"></a><span>{c}</span></li>' for i, c in enumerate(ctx.pick(pools.IMAGE_CAPTIONS, 3)))
    return (
        ctx.head(f"{a.title}_{a.source}")
        + f'<body class="articleview"><div class="header_top">{menu(ctx, ctx.pick(pools.CHANNELS, 10), "module")}</div>\n'
        + '<div class="position">当前位置: <a href="/">主页</a> &gt; <a href="/news/">新闻动态</a> &gt; </div>\n'
        + f'<div class="viewbox"><div class="title"><h2>{esc(a.title)}</h2></div>'
        + f'<div class="info"><small>时间:</small>{a.date}<small>来源:</small>{esc(a.source)} <small>作者:</small>{esc(a.author or "admin")} <small>点击:</small><script src="/plus/count.php?view=yes&aid=1"></script>次</div>\n'
        + '<div class="content"><table width="100%"><tr><td>\n'
        + paras(a, "p", ' style="text-indent:2em"')
        + '\n</td></tr></table></div>\n'
        + '<div class="dede_pages"><ul class="pagelist"></ul></div>'
        + '<div class="boxoff"><strong>------分隔线----------------------------</strong></div>'
        + f'<div class="handle"><div class="context"><ul><li>上一篇：<a href="/1.html">{esc(ctx.rng.choice(pools.HEADLINES))}</a></li><li>下一篇：没有了</li></ul></div></div></div>\n'
        + '<div class="xiangguan"><dl class="tbox"><dt><strong>相关文章</strong></dt><dd><ul class="d1 ico3">'
        + "".join(f'<li><a href="/r/{i}.html">{esc(h)}</a></li>' for i, h in enumerate(ctx.pick(pools.HEADLINES, 8)))
        + f"</ul></dd></dl></div><div class=\"picnews\"><ul>{pics}</ul></div>\n"
        + footer(ctx, a.source)
        + "</body></html>\n"
    )


def sina_blog(a: Article, ctx: Ctx) -> str:
    """Sina blog single post: .articalTitle, .articalTag, .articalContent, .articalInfo, comment list."""
    cmts = "".join(
        f'<li><div class="SG_revert_Cont"><p><span class="SG_revert_Tit"><a href="#">{esc(n)}</a></span>'
        f'<span class="SG_txtb">2025-{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d} {ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(10, 59)}:00</span></p>'
        f'<div class="SG_revert_Inner SG_txtb">{esc(c)}</div><p class="myReFrom"><a href="#">回复</a> <a href="#">举报</a></p></div></li>'
        for n, c in zip(["新浪网友", "小雨点", "山那边", "老读者", "云朵", "青川人", "小鹿"], ctx.pick(pools.COMMENTS + pools.BLOG_SIDEBAR_COMMENTS, 7), strict=False)
    )
    return (
        ctx.head(f"{a.title}_{a.author}_新浪博客")
        + '<body><div class="sinatopbar">新浪博客 <a href="#">登录</a> <a href="#">注册</a></div>'
        + f'<div id="blogTitle"><h1><span id="blognamespan">{esc(a.source)}</span></h1></div>\n'
        + '<div class="SG_colW21"><div class="SG_connHead"><span class="title">正文</span><span>字体大小：<a>大</a> <a>中</a> <a>小</a></span></div>'
        + f'<div class="articalTitle"><h2 class="titName SG_txta">{esc(a.title)}</h2><span class="time SG_txtc">({a.date})</span></div>'
        + f'<div class="articalTag"><table><tr><td class="blog_tag"><h3>标签：</h3><a href="#">{ctx.rng.choice(pools.TOPIC_TAGS)}</a></td><td class="blog_class">分类：<a href="#">随笔</a></td></tr></table></div>\n'
        + f'<div class="articalContent" id="sina_keyword_ad_area2">\n{paras(a, "div")}\n</div>\n'
        + f'<div class="articalInfo">阅读({ctx.rng.randint(10, 999)})┊ 评论 (7)┊ 收藏(0) ┊转载┊ 喜欢▼ ┊打印┊举报</div>'
        + f'<div class="articalfrontback"><div>前一篇：<a href="#">{esc(ctx.rng.choice(pools.HEADLINES))}</a></div><div>后一篇：<a href="#">{esc(ctx.rng.choice(pools.HEADLINES))}</a></div></div>\n'
        + f'<div class="allComm"><div class="allCommTit"><strong>评论</strong></div><ul class="SG_cmp_revert" id="article_comment_list">{cmts}</ul></div></div>\n'
        + f'<div class="SG_colW22"><div class="SG_conn"><span class="title">个人资料</span><p>{esc(a.author)}</p></div>'
        + f'<div class="SG_conn"><span class="title">博文目录</span>{link_list(ctx, ctx.pick(pools.HEADLINES, 6))}</div></div>\n'
        + '<div class="footer">新浪公司 版权所有</div></body></html>\n'
    )


def trs_gov(a: Article, ctx: Ctx) -> str:
    """TRS WCM government page: a style block inside .TRS_Editor, <p align="justify">, attachments, share and print."""
    return (
        ctx.head(f"{a.title}_{a.source}")
        + f'<body><div class="head"><img src="/images/logo.png"><div class="search"><input></div></div>{menu(ctx, pools.GOV_MENU[:10], "nav")}\n'
        + '<div class="main"><div class="location">您当前的位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/gzdt/">工作动态</a></div>\n'
        + f'<div class="article"><h1 class="title">{esc(a.title)}</h1><div class="property"><span>来源：{esc(a.source)}</span><span>发布日期：{a.date[:10]}</span>'
        + '<span>【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</span></div>\n'
        + '<div class="article-con" id="zoom"><div class="TRS_Editor"><style type="text/css">.TRS_Editor P{margin-top:0;margin-bottom:12px;line-height:2;font-family:宋体;font-size:12pt;}</style>\n'
        + paras(a, "p", ' align="justify"')
        + "\n</div></div>\n"
        + '<div class="fj">附件：<a href="/fj/1.docx">相关材料.docx</a></div>'
        + '<div class="share">分享到：<a>微信</a> <a>微博</a></div><div class="print"><a href="javascript:window.print()">【打印】</a> <a href="javascript:window.close()">【关闭】</a></div></div>\n'
        + f'<div class="xgxx"><h4>相关信息</h4>{link_list(ctx, ctx.pick(pools.HEADLINES, 5), dates=True)}</div></div>\n'
        + f'<div class="footer"><p>主办单位：{esc(a.source)} 网站标识码：53{ctx.rng.randint(10**7, 10**8)}</p><p>云ICP备{ctx.rng.randint(10**6, 10**7)}号</p></div></body></html>\n'
    )


def netease(a: Article, ctx: Ctx) -> str:
    """163-style portal: .post_main, .post_info, .post_body with centred image paragraphs, .post_next, 热门跟贴."""
    body = []
    for i, p in enumerate(a.paragraphs):
        if i == 1:
            body.append(f'<p class="f_center"><img src="http://img.example.cn/{ctx.rng.randint(1, 999)}.jpg"><br></p>')
        body.append(f"<p>{esc(p.removeprefix('## '))}</p>")
    ties = "".join(
        f'<div class="tie-item"><div class="tie-author">{esc(ctx.rng.choice(["网易网友", "火星网友", "有态度网友"]))}{ctx.rng.randint(10000, 99999)} [{ctx.t("青川市")}网友]</div>'
        f'<div class="tie-cnt">{esc(c)}</div><div class="tie-time">{ctx.rng.randint(1, 12)}小时前 <a>顶</a><a>回复</a></div></div>'
        for c in ctx.pick(pools.COMMENTS, 10)
    )
    return (
        ctx.head(f"{a.title}_网易新闻")
        + f'<body><div class="N-nav-channel">{menu(ctx, ctx.pick(pools.CHANNELS, 14), "ntes-nav")}</div>\n'
        + f'<div class="post_main"><h1 class="post_title">{esc(a.title)}</h1>'
        + f'<div class="post_info">{a.date}　来源: <a href="#">{esc(a.source)}</a></div>\n'
        + '<div class="post_content"><div class="post_body">\n' + "\n".join(body) + "\n</div>"
        + f'<div class="post_author">本文来源：{esc(a.source)} 责任编辑：{ctx.t("王晓")}_NN1234</div></div>\n'
        + f'<div class="post_next"><h3>相关推荐</h3>{link_list(ctx, ctx.pick(pools.HEADLINES, 6))}</div>'
        + f'<div class="post_comment"><div class="tie-titlebar">热门跟贴</div>{ties}</div></div>\n'
        + f'<div class="post_side"><div class="rank">{link_list(ctx, ctx.pick(pools.HEADLINES, 10), tag="ol")}</div></div>\n'
        + '<div class="N-nav-bottom">网易公司版权所有</div></body></html>\n'
    )


def qq_style(a: Article, ctx: Ctx) -> str:
    """QQ-style portal: .content-article with <p class="one-p">, a video placeholder, 相关搜索 and 推荐阅读 lists."""
    return (
        ctx.head(f"{a.title}_腾讯新闻")
        + f'<body><div id="TopNav">{menu(ctx, ctx.pick(pools.CHANNELS, 12), "nav-list")}</div>\n'
        + f'<div class="LEFT"><h1>{esc(a.title)}</h1><div class="content clearfix"><div class="content-article">'
        + '<div class="videoPlayerWrap"><p>视频加载中...</p></div>\n'
        + paras(a, "p", ' class="one-p"')
        + "\n</div></div>\n"
        + f'<div id="Status"><span class="source">{esc(a.source)}</span> <span class="time">{a.date}</span></div>'
        + '<div class="related-search"><span>相关搜索：</span>' + "".join(f'<a href="/s/{i}">{esc(h[:6])}</a>' for i, h in enumerate(ctx.pick(pools.HEADLINES, 4))) + "</div>\n"
        + '<div class="recommend"><h3>推荐阅读</h3><ul>'
        + "".join(f'<li><a href="/n/{i}"><img src="/i/{i}.jpg"><p class="title">{esc(h)}</p></a><span class="src">{esc(ctx.t(a.source))}</span></li>' for i, h in enumerate(ctx.pick(pools.HEADLINES, 8)))
        + "</ul></div></div>\n"
        + f'<div class="RIGHT"><h3>24小时热文</h3>{link_list(ctx, ctx.pick(pools.HEADLINES, 10), tag="ol")}</div>\n'
        + '<div class="foot">Copyright © 1998 - 2025 Tencent. All Rights Reserved</div></body></html>\n'
    )


def wordpress(a: Article, ctx: Ctx) -> str:
    """WordPress (twenty-something theme): article.post .entry-content, then ol.commentlist with threaded replies."""
    items = []
    for i, c in enumerate(ctx.pick(pools.COMMENTS, 9)):
        reply = ""
        if i % 3 == 0:
            reply = (
                f'<ul class="children"><li class="comment byuser bypostauthor"><article class="comment-body"><footer class="comment-meta"><div class="comment-author vcard"><b class="fn">{esc(a.author)}</b> <span class="says">说道：</span></div>'
                f'<div class="comment-metadata"><time>2025年{ctx.rng.randint(1, 12)}月{ctx.rng.randint(1, 28)}日 {ctx.rng.randint(0, 23)}:{ctx.rng.randint(10, 59)}</time></div></footer>'
                f'<div class="comment-content"><p>{esc(pools.BLOG_SIDEBAR_COMMENTS[i % 6])}</p></div><div class="reply"><a class="comment-reply-link">回复</a></div></article></li></ul>'
            )
        items.append(
            f'<li class="comment even thread-even depth-1" id="comment-{i}"><article class="comment-body"><footer class="comment-meta"><div class="comment-author vcard">'
            f'<img class="avatar"><b class="fn">{esc(ctx.rng.choice(["阿木", "Lily", "小周", "远方", "北北"]))}</b> <span class="says">说道：</span></div>'
            f'<div class="comment-metadata"><a href="#comment-{i}"><time>2025年{ctx.rng.randint(1, 12)}月{ctx.rng.randint(1, 28)}日 {ctx.rng.randint(0, 23)}:{ctx.rng.randint(10, 59)}</time></a></div></footer>'
            f'<div class="comment-content"><p>{esc(c)}</p></div><div class="reply"><a class="comment-reply-link">回复</a></div></article>{reply}</li>'
        )
    return (
        ctx.head(f"{a.title} &#8211; {a.source}")
        + f'<body class="post-template-default single"><header id="masthead"><p class="site-title"><a href="/">{esc(a.source)}</a></p><nav class="main-navigation">{menu(ctx, ["首页", "归档", "关于"], "menu")}</nav></header>\n'
        + f'<main id="main"><article class="post type-post status-publish"><header class="entry-header"><h1 class="entry-title">{esc(a.title)}</h1>'
        + f'<div class="entry-meta"><span class="posted-on">发布于 <time class="entry-date published">{a.date[:10]}</time></span><span class="byline"> 作者 {esc(a.author)}</span></div></header>\n'
        + f'<div class="entry-content">\n{paras(a)}\n</div>\n<footer class="entry-footer"><span class="cat-links">分类 <a href="#">生活</a></span></footer></article>\n'
        + f'<nav class="post-navigation"><div class="nav-previous"><a href="#">上一篇 {esc(ctx.rng.choice(pools.HEADLINES))}</a></div><div class="nav-next"><a href="#">下一篇 {esc(ctx.rng.choice(pools.HEADLINES))}</a></div></nav>\n'
        + f'<div id="comments" class="comments-area"><h2 class="comments-title">《{esc(a.title)}》上有{len(items) + 3}条评论</h2><ol class="comment-list">{"".join(items)}</ol>'
        + '<div id="respond"><h3>发表回复</h3><form><textarea></textarea></form></div></div></main>\n'
        + f'<aside id="secondary"><section class="widget"><h2 class="widget-title">近期文章</h2>{link_list(ctx, ctx.pick(pools.HEADLINES, 5))}</section></aside>\n'
        + '<footer id="colophon"><div class="site-info">自豪地采用WordPress</div></footer></body></html>\n'
    )


def typecho(a: Article, ctx: Ctx) -> str:
    """Typecho default theme: article.post .post-content, then a comment list whose items hold a time and 回复."""
    cmts = "".join(
        f'<li id="li-comment-{i}" class="comment-body comment-parent comment-odd"><div id="comment-{i}"><div class="comment-author"><span class="avatar"></span>'
        f'<cite class="fn">{esc(n)}</cite></div><div class="comment-meta"><a href="#comment-{i}">2025-{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d} {ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(10, 59)}</a>'
        f'<span class="comment-reply"><a href="#">回复</a></span></div><p>{esc(c)}</p></div></li>'
        for i, (n, c) in enumerate(zip(["小蓝", "tom", "望舒", "Echo", "北山", "一叶"], ctx.pick(pools.COMMENTS, 6), strict=False))
    )
    return (
        ctx.head(f"{a.title} - {a.source}")
        + f'<body><header id="header"><div class="site-name"><a id="logo" href="/">{esc(a.source)}</a><p class="description">Just So So ...</p></div></header>\n'
        + '<div id="body"><div class="col-mb-12 col-8" id="main"><article class="post" itemscope itemtype="http://schema.org/BlogPosting">'
        + f'<h1 class="post-title" itemprop="name headline"><a itemprop="url" href="#">{esc(a.title)}</a></h1>'
        + f'<ul class="post-meta"><li itemprop="author">作者: <a href="#">{esc(a.author)}</a></li><li>时间: <time>{a.date[:10]}</time></li><li>分类: <a href="#">默认分类</a></li></ul>\n'
        + f'<div class="post-content" itemprop="articleBody">\n{paras(a)}\n</div><p itemprop="keywords" class="tags">标签: 无</p></article>\n'
        + f'<div id="comments"><h3>{6} 条评论</h3><ol class="comment-list">{cmts}</ol></div>'
        + f'<ul class="post-near"><li>上一篇: <a href="#">{esc(ctx.rng.choice(pools.HEADLINES))}</a></li><li>下一篇: 没有了</li></ul></div>\n'
        + f'<div class="col-mb-12 col-offset-1 col-3" id="secondary"><section class="widget"><h3 class="widget-title">最新文章</h3>{link_list(ctx, ctx.pick(pools.HEADLINES, 6))}</section>'
        + '<section class="widget"><h3 class="widget-title">最近回复</h3><ul class="widget-list">'
        + "".join(f'<li><a href="#">{esc(n)}</a>: {esc(c[:12])}</li>' for n, c in zip(["小蓝", "tom", "望舒"], pools.COMMENTS, strict=False))
        + "</ul></section></div></div>\n"
        + f'<footer id="footer">&copy; 2025 <a href="/">{esc(a.source)}</a>. 由 <a href="http://www.typecho.org">Typecho</a> 强力驱动.</footer></body></html>\n'
    )


def paginated(a: Article, ctx: Ctx) -> str:
    """A news CMS article on page 1 of 3: the text, then 第1页 2 3 下一页 links, then lists of other stories."""
    return (
        ctx.head(f"{a.title}(1)_{a.source}")
        + f'<body>{menu(ctx, ctx.pick(pools.CHANNELS, 10), "navbar")}\n'
        + f'<div class="w1000"><div class="text_title"><h1>{esc(a.title)}</h1><div class="box01"><div class="fl">{a.date}&nbsp;&nbsp;来源：<a href="#">{esc(a.source)}</a></div></div></div>\n'
        + f'<div class="text_con"><div class="text_c">\n{paras(a)}\n'
        + '<div class="zdfy clearfix"><a href="#" class="on">1</a><a href="2.html">2</a><a href="3.html">3</a><a href="2.html">下一页</a></div>'
        + f'<div class="edit clearfix">(责编：{ctx.t("李明")}、{ctx.t("张华")})</div></div></div>\n'
        + f'<div class="box_news"><h2><span><a href="#">更多</a></span>图片新闻</h2>{link_list(ctx, ctx.pick(pools.HEADLINES, 6))}</div>'
        + f'<div class="box_news"><h2>热点推荐</h2>{link_list(ctx, ctx.pick(pools.HEADLINES, 8), dates=True)}</div></div>\n'
        + footer(ctx, a.source)
        + "</body></html>\n"
    )


def discuz_question(a: Article, ctx: Ctx) -> str:
    """Discuz X3 thread whose opening post is a short question and whose replies are long answers."""
    def post(pid: int, name: str, floor: str, text: str) -> str:
        return (
            f'<div id="post_{pid}"><table id="pid{pid}" class="plhin" summary="pid{pid}" cellspacing="0" cellpadding="0"><tr>'
            f'<td class="pls" rowspan="2"><div class="pi"><div class="authi"><a href="#" class="xw1">{esc(name)}</a></div></div></td>'
            f'<td class="plc"><div class="pi"><strong><a href="#" id="postnum{pid}">{floor}</a></strong><div class="pti"><div class="authi">'
            f'<em id="authorposton{pid}">发表于 2025-{ctx.rng.randint(1, 12):02d}-{ctx.rng.randint(1, 28):02d} {ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(10, 59)}</em>'
            f' | <a href="#">只看该作者</a></div></div></div><div class="pct"><div class="pcb"><div class="t_fsz"><table cellspacing="0" cellpadding="0"><tr>'
            f'<td class="t_f" id="postmessage_{pid}">{text}</td></tr></table></div></div></div></td></tr>'
            f'<tr><td class="plc plm"><div class="po hin"><div class="pob cl"><em><a class="fastre" href="#">回复</a></em><p><a href="#">举报</a></p></div></div></td></tr></table></div>'
        )

    question = "<br />\r\n".join(esc(p) for p in a.paragraphs[:1])
    answers = [
        "我家去年装修就遇到过一样的情况，当时找了三家公司比价，最后选的是口碑最好的那家。" * 3,
        "建议先把预算定下来，再根据预算挑选材料和施工队，不然很容易超支，中途改方案更麻烦。" * 3,
        "楼上说得对，另外一定要把合同写清楚，材料品牌型号都要写进去，验收的时候一项一项对。" * 3,
        "我们小区好几家都是同一个施工队做的，质量都还可以，需要的话可以私信我要电话。" * 2,
    ]
    posts = [post(1, a.author, "楼主", question)] + [post(i + 2, n, f"{i + 2}<sup>#</sup>", esc(t)) for i, (n, t) in enumerate(zip(["老王", "装修达人", "青川老张", "小米粥"], answers, strict=True))]
    return (
        ctx.head(f"{a.title} - 家装交流 - {a.source} - Powered by Discuz!")
        + f'<body id="nv_forum" class="pg_viewthread"><div id="hd"><div class="wp"><h2><a href="/">{esc(a.source)}</a></h2>{menu(ctx, ["门户", "论坛", "群组", "导读"], "nv")}</div></div>\n'
        + '<div id="pt" class="bm cl"><div class="z"><a href="/">首页</a> <em>&rsaquo;</em> <a href="/forum.php">论坛</a> <em>&rsaquo;</em> <a href="#">家装交流</a></div></div>\n'
        + f'<div id="ct" class="wp cl"><div id="postlist" class="pl bm"><table cellspacing="0" cellpadding="0"><tr><td class="pls ptn pbn"><div class="hm ptn"><span class="xg1">查看:</span> <span class="xi1">{ctx.rng.randint(100, 999)}</span></div></td>'
        + f'<td class="plc ptm pbn vwthd"><h1 class="ts"><span id="thread_subject">{esc(a.title)}</span></h1></td></tr></table>\n'
        + "\n".join(posts)
        + "</div></div>\n<div id=\"ft\" class=\"wp cl\">Powered by Discuz! X3.4</div></body></html>\n"
    )


LAYOUTS_B = {
    "zblog": zblog,
    "smarty": smarty_details,
    "phpcms": phpcms,
    "dedecms": dedecms,
    "sinablog": sina_blog,
    "trs": trs_gov,
    "netease": netease,
    "qqstyle": qq_style,
    "wordpress": wordpress,
    "typecho": typecho,
    "paginated": paginated,
    "discuzq": discuz_question,
}

# page id: (layout, article id, codec, declared label)
PAGES_B: dict[str, tuple[str, str, str, str]] = {
    "x01": ("zblog", "b02", "utf-8", "utf-8"),
    "x02": ("zblog", "m04", "utf-8", "utf-8"),
    "x03": ("smarty", "p04", "gbk", "gb2312"),
    "x04": ("smarty", "c06", "utf-8", "utf-8"),
    "x05": ("phpcms", "g05", "gbk", "gbk"),
    "x06": ("phpcms", "n05", "utf-8", "utf-8"),
    "x07": ("dedecms", "p06", "gbk", "gb2312"),
    "x08": ("dedecms", "r01", "gbk", "gb2312"),
    "x09": ("sinablog", "b04", "utf-8", "utf-8"),
    "x10": ("sinablog", "b07", "utf-8", "utf-8"),
    "x11": ("trs", "g01", "utf-8", "utf-8"),
    "x12": ("trs", "g03", "gbk", "gb2312"),
    "x13": ("netease", "p05", "gbk", "gbk"),
    "x14": ("netease", "c04", "gbk", "gbk"),
    "x15": ("qqstyle", "p08", "utf-8", "utf-8"),
    "x16": ("qqstyle", "n06", "utf-8", "utf-8"),
    "x17": ("wordpress", "b05", "utf-8", "utf-8"),
    "x18": ("wordpress", "m05", "utf-8", "utf-8"),
    "x19": ("typecho", "b03", "utf-8", "utf-8"),
    "x20": ("typecho", "f04", "utf-8", "utf-8"),
    "x21": ("paginated", "p02", "gbk", "gb2312"),
    "x22": ("paginated", "e02", "utf-8", "utf-8"),
    "x23": ("discuzq", "f01", "gbk", "gbk"),
    "x24": ("discuzq", "f05", "utf-8", "utf-8"),
}


def expected_b(layout: str, a: Article) -> str:
    """The article's text as the layout shows it (the question thread shows only the first paragraph)."""
    if layout == "discuzq":
        return a.paragraphs[0] + "\n"
    return a.expected
