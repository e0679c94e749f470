"""File formats: bencode, torrents, magnets, NZB, images."""
