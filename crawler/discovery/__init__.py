"""Discovery: finding coverage nobody listed.

`search` builds news-search queries and turns engine links into publisher URLs,
`outlinks` picks the reports an on-topic article cites, `render` fetches pages that
need a browser through headless Chromium under the fetch policy, and `outlets`
decides whether a publisher is one mediawatch has not seen before.
"""
