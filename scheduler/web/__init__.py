"""The web console: browse and search the coverage, storylines, sources and digests; crawl now.

`scheduler.web.app.create_app` builds the Starlette application; `scheduler.web.server`
serves it with uvicorn, alone (`mediawatch web`) or on the daemon's event loop
(`[web] enabled = true`). Imported lazily: only `scheduler.web.config` is needed to
load a configuration.
"""
