"""A local fake Torznab/Newznab indexer serving feeds shaped like the specification's examples
(torznab.github.io: the caps example of "Capabilities" and the Newznab API's search response),
with placeholder titles. Downloads are synthetic .torrent files."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from ig_helpers import make_torrent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UPSTREAM_KEY = "upstreamsecretkey0123456789"
WEEKDAYS = ("Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Mon")  # 1 June 2010 was a Tuesday

CAPS = """<?xml version="1.0" encoding="UTF-8"?>
<caps>
   <server version="1.1" title="fake" strapline="local test indexer" email="nobody@example.invalid"
         url="http://indexer.local/" image="http://indexer.local/content/banner.jpg" />
   <limits max="100" default="50" />
   <registration available="no" open="no" />
   <searching>
      <search available="yes" supportedParams="q" />
      <tv-search available="yes" supportedParams="q,rid,tvdbid,season,ep" />
      <movie-search available="no" supportedParams="q,imdbid,genre" />
      <audio-search available="no" supportedParams="q" />
      <book-search available="no" supportedParams="q" />
   </searching>
   <categories>
      <category id="2000" name="Movies"><subcat id="2010" name="Foreign" /></category>
      <category id="5000" name="TV"><subcat id="5040" name="HD" /><subcat id="5070" name="Anime" /></category>
   </categories>
   <tags>
      <tag name="trusted" description="Uploader has high reputation" />
   </tags>
</caps>
"""


@dataclass
class FakeItem:
    title: str
    description: str = "A public domain release"
    attrs: dict[str, str] = field(default_factory=dict)
    torrent_name: str | None = None  # what the downloaded .torrent calls itself
    download: str | None = None  # the item's download URL, when not the indexer's own /get/<n>


def default_items() -> list[FakeItem]:
    """Ten items; five must vanish behind the proxy (see the test module), one downloads blocked."""
    return [
        FakeItem("Public.Domain.Show.S01E01"),
        FakeItem("zorblat collection"),
        FakeItem("Public.Domain.Show.S01E02", description="contains quemfix inside"),
        FakeItem("Public.Domain.Show.S01E03", attrs={"team": "vantu drelo"}),
        FakeItem("Public.Domain.Show.S01E04", attrs={"infohash": "ab" * 20}),
        FakeItem("Public.Domain.Show.S01E05", attrs={"magneturl": "magnet:?xt=urn:btih:" + "cd" * 20 + "&dn=zorblat"}),
        FakeItem("Public.Domain.Show.S01E06"),
        FakeItem("Public.Domain.Show.S01E07", torrent_name="quemfix pack"),
        FakeItem("Public.Domain.Show.S01E08"),
        FakeItem("Public.Domain.Show.S01E09"),
    ]


class FakeIndexer:
    def __init__(self, items: list[FakeItem] | None = None, flavor: str = "torznab", name: str = "fake",
                 disposition: bool = True, day: int = 6) -> None:
        self.items = items if items is not None else default_items()
        self.flavor = flavor
        self.name = name
        self.disposition = disposition  # send Content-Disposition with downloads
        self.day = day  # pubDate day of month of the first item; later items are an hour older each
        self.base = ""  # set once the server runs
        self.requests: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.broken = False

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api", self.api), Route("/get/{n:int}", self.get),
                                 Route("/redirect", self.redirect)])

    async def redirect(self, request: Request) -> Response:
        """A download that redirects wherever `to` says (the tests point it at loopback services)."""
        return Response(status_code=302, headers={"location": request.query_params.get("to", "/")})

    def torrent(self, n: int) -> bytes:
        item = self.items[n]
        return make_torrent(item.torrent_name or item.title)

    async def api(self, request: Request) -> Response:
        params = {k.lower(): v for k, v in request.query_params.items()}
        self.requests.append(params)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        if params.get("apikey") != UPSTREAM_KEY:
            return _xml('<error code="100" description="Incorrect user credentials"/>')
        t = params.get("t")
        if t == "caps":
            return Response(CAPS, media_type="application/xml")
        if t != "search" and t != "tvsearch":
            return _xml('<error code="202" description="No such function"/>')
        if "cat" in params and not params["cat"].replace(",", "").isdigit():
            return _xml('<error code="201" description="Incorrect parameter"/>')
        if self.broken:
            return Response(b"<rss><channel><item>", media_type="application/xml")
        offset, limit = int(params.get("offset", 0)), min(int(params.get("limit", 50)), 100)
        return Response(self.feed(offset, limit), media_type="application/rss+xml")

    async def get(self, request: Request) -> Response:
        if request.query_params.get("apikey") != UPSTREAM_KEY:
            return Response(status_code=403)
        n = request.path_params["n"]
        headers = {"content-disposition": f'attachment; filename="item{n}.torrent"'} if self.disposition else {}
        return Response(self.torrent(n), media_type="application/x-bittorrent", headers=headers)

    def feed(self, offset: int, limit: int) -> str:
        prefix = "newznab" if self.flavor == "newznab" else "torznab"
        ns = ("http://www.newznab.com/DTD/2010/feeds/attributes/" if prefix == "newznab"
              else "http://torznab.com/schemas/2015/feed")
        body = "".join(self._item(n, it, prefix) for n, it in enumerate(self.items) if offset <= n < offset + limit)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:{prefix}="{ns}">\n<channel>\n'
            f"<title>{self.name}</title><description>{self.name} API results</description>\n"
            f'<{prefix}:response offset="{offset}" total="{len(self.items)}"/>\n{body}</channel>\n</rss>\n'
        )

    def _item(self, n: int, it: FakeItem, prefix: str) -> str:
        url = it.download or f"{self.base}/get/{n}?apikey={UPSTREAM_KEY}"
        hour = 23 - n % 24
        kind = "application/x-nzb" if prefix == "newznab" else "application/x-bittorrent"
        attrs = "".join(f"<{prefix}:attr name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in it.attrs.items())
        return (
            f"<item><title>{escape(it.title)}</title>"
            f'<guid isPermaLink="true">{self.base}/details/{n}</guid>'
            f"<link>{escape(url)}</link>"
            f"<comments>{self.base}/details/{n}#comments</comments>"
            f"<pubDate>{WEEKDAYS[(self.day - 1) % 7]}, {self.day:02d} Jun 2010 {hour:02d}:29:23 +0000</pubDate>"
            "<category>TV &gt; HD</category>"
            f"<description>{escape(it.description)}</description>"
            f'<enclosure url={quoteattr(url)} length="154653309" type="{kind}"/>'
            f'<{prefix}:attr name="category" value="5000"/><{prefix}:attr name="category" value="5040"/>'
            f'<{prefix}:attr name="size" value="154653309"/><{prefix}:attr name="seeders" value="{n}"/>'
            f"{attrs}</item>\n"
        )


def _xml(fragment: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + fragment, media_type="application/xml")
